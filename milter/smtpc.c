/*
 * smtpc - see smtpc.h.
 *
 * The socket is non-blocking; every read and write waits in poll() until
 * the deadline of the step it belongs to, and TLS runs over the same fd
 * (SSL_read/SSL_write asking to wait for reading or writing).  Replies are
 * read into a fixed input buffer of SMTPC_IN_MAX bytes, which holds a
 * whole reply within the parser's limits.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "smtpc.h"

/* A whole reply fits: SMTPC_REPLY_LINES lines of SMTPC_LINE_MAX is more
 * than any server writes, so the buffer is bounded by bytes as well. */
#define SMTPC_IN_MAX (64u * 1024)
#define SMTPC_OUT_MAX (16u * 1024)

struct smtpc {
	int fd;
	SSL_CTX *tls_ctx;
	SSL *ssl;
	enum smtpc_proto proto;
	struct smtpc_opts opts;
	unsigned ext;
	bool broken; /* no more talking: QUIT is not sent */
	char in[SMTPC_IN_MAX];
	size_t inlen;
	char out[SMTPC_OUT_MAX];
	size_t outlen;
};

/* ---- targets ---- */

static int
smtpc_host_port(const char *s, struct smtpc_target *t, char *msg, size_t msglen)
{
	const char *colon, *host = s;
	size_t hlen;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(t->host) || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(t->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535)
		goto bad;
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';
	memcpy(t->port, colon + 1, strlen(colon + 1) + 1);
	return 0;
bad:
	snprintf(msg, msglen, "next hop \"%.64s\" is not HOST:PORT or [IPv6]:PORT", s);
	return -1;
}

int
smtpc_target_parse(const char *spec, struct smtpc_target *t, char *msg, size_t msglen)
{
	memset(t, 0, sizeof(*t));
	if (strncmp(spec, "lmtp:unix:", 10) == 0) {
		const char *path = spec + 10;

		t->proto = SMTPC_LMTP;
		if (path[0] != '/' || strlen(path) >= sizeof(t->path)) {
			snprintf(msg, msglen, "lmtp:unix: needs an absolute path under %zu bytes",
			         sizeof(t->path));
			return -1;
		}
		memcpy(t->path, path, strlen(path) + 1);
		return 0;
	}
	if (strncmp(spec, "smtp:", 5) == 0)
		t->proto = SMTPC_SMTP;
	else if (strncmp(spec, "lmtp:", 5) == 0)
		t->proto = SMTPC_LMTP;
	else {
		snprintf(msg, msglen,
		         "next hop is smtp:HOST:PORT, lmtp:HOST:PORT or lmtp:unix:/path");
		return -1;
	}
	return smtpc_host_port(spec + 5, t, msg, msglen);
}

/* ---- the reply parser ---- */

static bool
smtpc_code_ok(const char *p)
{
	return p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '5' && p[2] >= '0' &&
	       p[2] <= '9';
}

/* "X.Y.Z" at the start of text, with X the class of the code (RFC 3463). */
static void
smtpc_dsn(const char *text, size_t len, char cls, struct smtpc_reply *r)
{
	size_t i = 0, parts = 0, digits;

	if (len == 0 || text[0] != cls)
		return;
	while (parts < 3) {
		for (digits = 0; i < len && text[i] >= '0' && text[i] <= '9'; i++)
			digits++;
		if (digits == 0 || digits > 3)
			return;
		parts++;
		if (parts < 3 && (i >= len || text[i++] != '.'))
			return;
	}
	if ((i < len && text[i] != ' ') || i >= sizeof(r->dsn))
		return;
	memcpy(r->dsn, text, i);
	r->dsn[i] = '\0';
}

/* Appends one line's text (cut at SMTPC_TEXT_MAX). */
static void
smtpc_add_text(struct smtpc_reply *r, size_t *tlen, const char *p, size_t n)
{
	size_t room;

	if (*tlen > 0 && *tlen + 1 < sizeof(r->text))
		r->text[(*tlen)++] = '\n';
	room = sizeof(r->text) - 1 - *tlen;
	if (n > room)
		n = room;
	memcpy(r->text + *tlen, p, n);
	*tlen += n;
	r->text[*tlen] = '\0';
}

/* One line of (p, n) without its line end: checks it and adds its text.
 * Returns 1 when it was the last line, 0 when more follow, -1 when bad. */
static int
smtpc_reply_line(const char *p, size_t n, struct smtpc_reply *r, size_t *tlen, bool first)
{
	const char *text = p + 4;
	size_t tn = n > 4 ? n - 4 : 0;

	if (n < 3 || !smtpc_code_ok(p) || (n > 3 && p[3] != ' ' && p[3] != '-'))
		return -1;
	if (first) {
		r->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		smtpc_dsn(text, tn, p[0], r);
	} else if ((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0') != r->code) {
		return -1;
	}
	if (r->dsn[0] != '\0' && tn >= strlen(r->dsn) &&
	    memcmp(text, r->dsn, strlen(r->dsn)) == 0) {
		text += strlen(r->dsn);
		tn -= strlen(r->dsn);
		while (tn > 0 && *text == ' ')
			text++, tn--;
	}
	smtpc_add_text(r, tlen, text, tn);
	return n == 3 || p[3] == ' ';
}

int
smtpc_reply_parse(const char *p, size_t n, struct smtpc_reply *r, size_t *used)
{
	size_t pos = 0, lines = 0, tlen = 0;
	const char *nl;
	int last;

	memset(r, 0, sizeof(*r));
	while (pos < n) {
		size_t len;

		if ((nl = memchr(p + pos, '\n', n - pos)) == NULL)
			return n - pos > SMTPC_LINE_MAX ? -1 : 0;
		len = (size_t)(nl - (p + pos));
		if (len > SMTPC_LINE_MAX || ++lines > SMTPC_REPLY_LINES)
			return -1;
		if (len > 0 && p[pos + len - 1] == '\r')
			len--;
		if ((last = smtpc_reply_line(p + pos, len, r, &tlen, lines == 1)) < 0)
			return -1;
		pos = (size_t)(nl + 1 - p);
		if (last) {
			*used = pos;
			return 1;
		}
	}
	return 0;
}

/* ---- I/O with deadlines ---- */

static long long
smtpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passed. */
static int
smtpc_wait(int fd, short events, long long deadline, struct auth_error *err)
{
	struct pollfd pfd = {fd, events, 0};
	long long left;
	int rc;

	for (;;) {
		if ((left = deadline - smtpc_now_ms()) <= 0)
			return auth_error_set(err, AUTH_EIO, "next hop: timed out");
		rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return auth_error_set(err, AUTH_EIO, "next hop: poll: %s", strerror(errno));
	}
}

/* The wait an SSL call asked for, or -1 for a failure. */
static int
smtpc_tls_want(struct smtpc *c, int rc, short *events)
{
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return 0;
	default:
		return -1;
	}
}

static int
smtpc_write_raw(struct smtpc *c, const char *p, size_t n, long long deadline,
                struct auth_error *err)
{
	short events = POLLOUT;
	ssize_t w;
	int rc;

	while (n > 0) {
		if (c->ssl != NULL) {
			rc = SSL_write(c->ssl, p, n > 1u << 30 ? 1 << 30 : (int)n);
			w = rc > 0 ? rc : -1;
			if (w < 0 && smtpc_tls_want(c, rc, &events) < 0)
				return auth_error_set(err, AUTH_EIO, "next hop: TLS write failed");
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return auth_error_set(err, AUTH_EIO, "next hop: write: %s",
				                      strerror(errno));
			events = POLLOUT;
		}
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (smtpc_wait(c->fd, events, deadline, err) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
smtpc_flush(struct smtpc *c, long long deadline, struct auth_error *err)
{
	int rc = smtpc_write_raw(c, c->out, c->outlen, deadline, err);

	c->outlen = 0;
	return rc;
}

static int
smtpc_put(struct smtpc *c, const char *p, size_t n, long long deadline, struct auth_error *err)
{
	while (n > 0) {
		size_t room = sizeof(c->out) - c->outlen, k = n < room ? n : room;

		memcpy(c->out + c->outlen, p, k);
		c->outlen += k;
		p += k;
		n -= k;
		if (c->outlen == sizeof(c->out) && smtpc_flush(c, deadline, err) < 0)
			return -1;
	}
	return 0;
}

/* Reads more bytes into the input buffer. */
static int
smtpc_fill(struct smtpc *c, long long deadline, struct auth_error *err)
{
	size_t room = sizeof(c->in) - c->inlen;
	short events = POLLIN;
	ssize_t n;
	int rc;

	for (;;) {
		if (c->ssl != NULL) {
			rc = SSL_read(c->ssl, c->in + c->inlen, (int)room);
			n = rc > 0 ? rc : -1;
			if (rc == 0 || (n < 0 && smtpc_tls_want(c, rc, &events) < 0))
				return auth_error_set(err, AUTH_EIO,
				                      "next hop: TLS connection lost");
		} else {
			n = recv(c->fd, c->in + c->inlen, room, 0);
			if (n == 0)
				return auth_error_set(err, AUTH_EIO, "next hop: connection closed");
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return auth_error_set(err, AUTH_EIO, "next hop: read: %s",
				                      strerror(errno));
			events = POLLIN;
		}
		if (n > 0) {
			c->inlen += (size_t)n;
			return 0;
		}
		if (smtpc_wait(c->fd, events, deadline, err) < 0)
			return -1;
	}
}

static int
smtpc_read_reply(struct smtpc *c, unsigned timeout_ms, struct smtpc_reply *r,
                 struct auth_error *err)
{
	long long deadline = smtpc_now_ms() + timeout_ms;
	size_t used;
	int rc;

	while ((rc = smtpc_reply_parse(c->in, c->inlen, r, &used)) == 0) {
		if (c->inlen == sizeof(c->in)) {
			rc = -1;
			break;
		}
		if (smtpc_fill(c, deadline, err) < 0) {
			c->broken = true;
			r->code = 0;
			return -1;
		}
	}
	if (rc < 0) {
		c->broken = true;
		r->code = 0;
		return auth_error_set(err, AUTH_EIO, "next hop: malformed reply");
	}
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	return 0;
}

/* One command line, then its reply. */
static int
smtpc_command(struct smtpc *c, const char *line, struct smtpc_reply *r, struct auth_error *err)
{
	long long deadline = smtpc_now_ms() + c->opts.timeout_ms;

	if (c->broken)
		return auth_error_set(err, AUTH_EIO, "next hop: connection already failed");
	if (smtpc_put(c, line, strlen(line), deadline, err) < 0 ||
	    smtpc_put(c, "\r\n", 2, deadline, err) < 0 || smtpc_flush(c, deadline, err) < 0) {
		c->broken = true;
		r->code = 0;
		return -1;
	}
	return smtpc_read_reply(c, c->opts.timeout_ms, r, err);
}

/* ---- connecting ---- */

static int
smtpc_connect_fd(int fd, const struct sockaddr *sa, socklen_t len, unsigned timeout_ms,
                 struct auth_error *err)
{
	int soerr = 0;
	socklen_t elen = sizeof(soerr);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return auth_error_set(err, AUTH_EIO, "next hop: connect: %s", strerror(errno));
	if (smtpc_wait(fd, POLLOUT, smtpc_now_ms() + timeout_ms, err) < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) != 0 || soerr != 0)
		return auth_error_set(err, AUTH_EIO, "next hop: connect: %s",
		                      strerror(soerr ? soerr : errno));
	return 0;
}

static int
smtpc_connect_unix(const struct smtpc_target *t, unsigned timeout_ms, struct auth_error *err)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return auth_error_set(err, AUTH_EIO, "next hop: socket: %s", strerror(errno));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, t->path, strlen(t->path) + 1);
	if (smtpc_connect_fd(fd, (struct sockaddr *)&sun, sizeof(sun), timeout_ms, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Tries each address of the host in turn. */
static int
smtpc_connect_tcp(const struct smtpc_target *t, unsigned timeout_ms, struct auth_error *err)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(t->host, t->port, &hints, &res)) != 0)
		return auth_error_set(err, AUTH_EIO, "next hop %s: %s", t->host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (smtpc_connect_fd(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms, err) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && err->msg[0] == '\0')
		auth_error_set(err, AUTH_EIO, "next hop %s: no address", t->host);
	return fd;
}

static void
smtpc_parse_ext(struct smtpc *c, const char *text)
{
	static const struct {
		const char *word;
		unsigned bit;
	} words[] = {{"STARTTLS", SMTPC_EXT_STARTTLS},
	             {"SIZE", SMTPC_EXT_SIZE},
	             {"8BITMIME", SMTPC_EXT_8BITMIME},
	             {"PIPELINING", SMTPC_EXT_PIPELINING}};
	const char *line = strchr(text, '\n');
	size_t i, n;

	c->ext = 0;
	/* The first line is the greeting of EHLO, not a keyword. */
	while (line != NULL) {
		line++;
		n = strcspn(line, " \n");
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (n == strlen(words[i].word) && strncasecmp(line, words[i].word, n) == 0)
				c->ext |= words[i].bit;
		line = strchr(line, '\n');
	}
}

static int
smtpc_ehlo(struct smtpc *c, struct smtpc_reply *r, struct auth_error *err)
{
	char line[300];

	snprintf(line, sizeof(line), "%s %s", c->proto == SMTPC_LMTP ? "LHLO" : "EHLO",
	         c->opts.helo != NULL ? c->opts.helo : "localhost");
	if (smtpc_command(c, line, r, err) < 0)
		return -1;
	if (r->code / 100 == 2)
		smtpc_parse_ext(c, r->text);
	return 0;
}

static int
smtpc_tls_handshake(struct smtpc *c, struct auth_error *err)
{
	long long deadline = smtpc_now_ms() + c->opts.timeout_ms;
	short events;
	int rc;

	if ((c->tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(c->tls_ctx, TLS1_2_VERSION) != 1 ||
	    (c->ssl = SSL_new(c->tls_ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return auth_error_set(err, AUTH_ENOMEM, "next hop: cannot set up TLS");
	SSL_set_connect_state(c->ssl);
	while ((rc = SSL_do_handshake(c->ssl)) != 1) {
		if (smtpc_tls_want(c, rc, &events) < 0) {
			ERR_clear_error();
			return auth_error_set(err, AUTH_EIO, "next hop: TLS handshake failed");
		}
		if (smtpc_wait(c->fd, events, deadline, err) < 0)
			return -1;
	}
	return 0;
}

/* Returns 0 when the session can go on (in TLS, or in the clear when
 * the server refused STARTTLS, as opportunistic TLS does), -1 when not. */
static int
smtpc_starttls(struct smtpc *c, struct smtpc_reply *r, struct auth_error *err)
{
	if (smtpc_command(c, "STARTTLS", r, err) < 0)
		return -1;
	if (r->code != 220)
		return 0;
	/* Nothing may be buffered past the 220: it would not be protected. */
	if (c->inlen > 0 || smtpc_tls_handshake(c, err) < 0) {
		c->broken = true;
		return auth_error_set(err, AUTH_EIO, "next hop: STARTTLS failed");
	}
	if (smtpc_ehlo(c, r, err) < 0)
		return -1;
	return r->code / 100 == 2 ? 0 : -1;
}

static int
smtpc_greet(struct smtpc *c, struct smtpc_reply *r, struct auth_error *err)
{
	if (smtpc_read_reply(c, c->opts.timeout_ms, r, err) < 0 || r->code != 220)
		return -1;
	if (smtpc_ehlo(c, r, err) < 0 || r->code / 100 != 2)
		return -1;
	if (c->opts.starttls && (c->ext & SMTPC_EXT_STARTTLS) && smtpc_starttls(c, r, err) < 0)
		return -1;
	return 0;
}

struct smtpc *
smtpc_open(const struct smtpc_target *t, const struct smtpc_opts *o, struct smtpc_reply *r,
           struct auth_error *err)
{
	struct smtpc *c = calloc(1, sizeof(*c));

	memset(r, 0, sizeof(*r));
	auth_error_clear(err);
	if (c == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	c->proto = t->proto;
	c->opts = *o;
	c->fd = t->path[0] != '\0' ? smtpc_connect_unix(t, o->connect_timeout_ms, err)
	                           : smtpc_connect_tcp(t, o->connect_timeout_ms, err);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	if (smtpc_greet(c, r, err) < 0) {
		if (err->msg[0] == '\0')
			auth_error_set(err, AUTH_EIO, "next hop refused: %d %s", r->code, r->text);
		smtpc_close(c);
		return NULL;
	}
	return c;
}

unsigned
smtpc_extensions(const struct smtpc *c)
{
	return c->ext;
}

bool
smtpc_tls(const struct smtpc *c)
{
	return c->ssl != NULL;
}

/* ---- the transaction ---- */

int
smtpc_mail(struct smtpc *c, const char *from, size_t size, bool body_8bit, struct smtpc_reply *r,
           struct auth_error *err)
{
	char line[700], sz[40] = "";
	int n;

	if (size > 0 && (c->ext & SMTPC_EXT_SIZE))
		snprintf(sz, sizeof(sz), " SIZE=%zu", size);
	n = snprintf(line, sizeof(line), "MAIL FROM:<%s>%s%s", from, sz,
	             body_8bit && (c->ext & SMTPC_EXT_8BITMIME) ? " BODY=8BITMIME" : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return auth_error_set(err, AUTH_ELIMIT, "next hop: sender address too long");
	return smtpc_command(c, line, r, err);
}

int
smtpc_rcpt(struct smtpc *c, const char *to, struct smtpc_reply *r, struct auth_error *err)
{
	char line[700];
	int n = snprintf(line, sizeof(line), "RCPT TO:<%s>", to);

	if (n < 0 || (size_t)n >= sizeof(line))
		return auth_error_set(err, AUTH_ELIMIT, "next hop: recipient address too long");
	return smtpc_command(c, line, r, err);
}

/* Writes the pieces dot-stuffed; *bol tracks whether the next byte
 * starts a line, across pieces. */
static int
smtpc_put_stuffed(struct smtpc *c, const struct smtpc_piece *pc, bool *bol, long long deadline,
                  struct auth_error *err)
{
	const char *p = pc->p, *end = pc->p + pc->n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl + 1 : end;

		if (*bol && *p == '.' && smtpc_put(c, ".", 1, deadline, err) < 0)
			return -1;
		if (smtpc_put(c, p, (size_t)(stop - p), deadline, err) < 0)
			return -1;
		*bol = nl != NULL;
		p = stop;
	}
	return 0;
}

static int
smtpc_send_message(struct smtpc *c, const struct smtpc_piece *pieces, size_t npieces,
                   struct auth_error *err)
{
	long long deadline = smtpc_now_ms() + c->opts.data_timeout_ms;
	bool bol = true;
	size_t i;

	for (i = 0; i < npieces; i++)
		if (smtpc_put_stuffed(c, &pieces[i], &bol, deadline, err) < 0)
			return -1;
	if (!bol && smtpc_put(c, "\r\n", 2, deadline, err) < 0)
		return -1;
	if (smtpc_put(c, ".\r\n", 3, deadline, err) < 0)
		return -1;
	return smtpc_flush(c, deadline, err);
}

int
smtpc_data(struct smtpc *c, const struct smtpc_piece *pieces, size_t npieces,
           struct smtpc_reply *replies, size_t nreplies, struct auth_error *err)
{
	size_t i, want = c->proto == SMTPC_LMTP ? nreplies : 1;

	if (smtpc_command(c, "DATA", &replies[0], err) < 0 || replies[0].code != 354)
		return replies[0].code != 0 ? 0 : -1;
	if (smtpc_send_message(c, pieces, npieces, err) < 0) {
		c->broken = true;
		replies[0].code = 0;
		return -1;
	}
	for (i = 0; i < want; i++)
		if (smtpc_read_reply(c, c->opts.data_timeout_ms, &replies[i], err) < 0)
			return -1;
	return 0;
}

int
smtpc_rset(struct smtpc *c, struct smtpc_reply *r, struct auth_error *err)
{
	return smtpc_command(c, "RSET", r, err);
}

void
smtpc_close(struct smtpc *c)
{
	struct smtpc_reply r;
	struct auth_error err;

	if (c == NULL)
		return;
	if (!c->broken && c->fd >= 0) {
		c->opts.timeout_ms = c->opts.timeout_ms < 5000 ? c->opts.timeout_ms : 5000;
		(void)smtpc_command(c, "QUIT", &r, &err);
	}
	smtpc_drop(c);
}

void
smtpc_drop(struct smtpc *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* Non-blocking: sends close_notify if it can, never waits. */
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->tls_ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
