/*
 * metrics_http - see metrics_http.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "preflight.h"

#define MH_METHOD_MAX 16
#define MH_TARGET_MAX 1024
#define MH_PATH "/metrics"
#define MH_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- the request ---- */

/* RFC 9110 §5.6.2 tchar. */
static bool
mh_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t
mh_token(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && mh_tchar((unsigned char)p[n]))
		n++;
	return n;
}

static bool
mh_is(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(p, word, len) == 0;
}

static bool
mh_iequal(const char *p, size_t len, const char *word)
{
	size_t i;

	if (len != strlen(word))
		return false;
	for (i = 0; i < len; i++)
		if ((p[i] | 0x20) != word[i])
			return false;
	return true;
}

/* What the request line asks, once the head is whole. */
struct mh_line {
	int status; /* 200 when good so far */
	bool head, get, metrics, v11, host;
};

/* "METHOD SP TARGET SP HTTP/1.x" (RFC 9112 §3). */
static void
mh_request_line(const char *p, size_t len, struct mh_line *l)
{
	size_t m = mh_token(p, len), t = 0;
	const char *target = p + m + 1, *version;

	l->status = 400;
	if (m == 0 || m > MH_METHOD_MAX || m >= len || p[m] != ' ')
		return;
	while (m + 1 + t < len && (unsigned char)target[t] > 0x20 &&
	       (unsigned char)target[t] < 0x7f)
		t++;
	if (t == 0 || t > MH_TARGET_MAX || m + 1 + t >= len || target[t] != ' ')
		return;
	version = target + t + 1;
	len -= m + t + 2;
	if (len != 8 || memcmp(version, "HTTP/", 5) != 0 || version[6] != '.' || version[5] < '0' ||
	    version[5] > '9' || version[7] < '0' || version[7] > '9')
		return;
	l->status = version[5] == '1' ? 200 : 505;
	l->v11 = version[5] == '1' && version[7] >= '1';
	l->get = mh_is(p, m, "GET");
	l->head = mh_is(p, m, "HEAD");
	l->metrics = mh_is(target, t, MH_PATH) ||
	             (t > strlen(MH_PATH) && memcmp(target, MH_PATH "?", strlen(MH_PATH) + 1) == 0);
}

/* "name: value" (RFC 9112 §5): no space before the colon, no folding. */
static bool
mh_field(const char *p, size_t len, struct mh_line *l)
{
	size_t n = mh_token(p, len), i;

	if (n == 0 || n >= len || p[n] != ':')
		return false;
	for (i = n + 1; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	if (mh_iequal(p, n, "host"))
		l->host = true;
	return true;
}

static int
mh_done(struct mh_line *l, struct metrics_http_request *out)
{
	if (l->status == 200 && l->v11 && !l->host)
		l->status = 400; /* RFC 9112 §3.2 */
	if (l->status == 200 && !l->metrics)
		l->status = 404;
	if (l->status == 200 && !l->get && !l->head)
		l->status = 405;
	out->status = l->status;
	out->head = l->head;
	return 1;
}

int
metrics_http_parse(const char *p, size_t len, struct metrics_http_request *out)
{
	struct mh_line l = {200, false, false, false, false, false};
	size_t pos = 0, n;
	bool first = true;
	const char *lf;

	memset(out, 0, sizeof(*out));
	while (pos < len && (lf = memchr(p + pos, '\n', len - pos)) != NULL) {
		n = (size_t)(lf - (p + pos));
		if (n > 0 && p[pos + n - 1] == '\r')
			n--;
		if (first) {
			mh_request_line(p + pos, n, &l);
			first = false;
		} else if (n == 0) {
			return mh_done(&l, out);
		} else if (!mh_field(p + pos, n, &l)) {
			l.status = 400;
		}
		if (l.status != 200)
			return mh_done(&l, out);
		pos = (size_t)(lf - p) + 1;
	}
	if (len >= METRICS_HTTP_REQUEST_MAX) {
		out->status = 431;
		return 1;
	}
	return 0;
}

/* ---- the answer ---- */

static const char *
mh_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

static int
mh_head(struct buf *out, int status, size_t length)
{
	return buf_printf(out,
	                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	                  "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
	                  status, mh_reason(status),
	                  status == 200 ? MH_CONTENT_TYPE : "text/plain; charset=utf-8", length,
	                  status == 405 ? "Allow: GET, HEAD\r\n" : "");
}

int
metrics_http_respond(const struct metrics_http_request *req, struct buf *out)
{
	struct buf body;
	int status = req->status, rc;

	buf_init(&body, METRICS_EXPOSITION_MAX);
	if (status == 200 && metrics_render(&body) < 0)
		status = 500;
	if (status != 200) {
		buf_reset(&body);
		rc = buf_printf(&body, "%d %s\n", status, mh_reason(status));
	} else {
		rc = 0;
	}
	if (rc == 0)
		rc = mh_head(out, status, body.len);
	if (rc == 0 && !req->head)
		rc = buf_append(out, body.data != NULL ? body.data : "", body.len);
	buf_free(&body);
	return rc;
}

/* ---- the addresses ---- */

/* "HOST:PORT" or "[V6]:PORT" (config_check_listen() made sure). */
static int
mh_split(const char *spec, char *host, size_t hostlen, const char **port)
{
	const char *colon = spec[0] == '[' ? strstr(spec, "]:") : strrchr(spec, ':');
	const char *h = spec[0] == '[' ? spec + 1 : spec;
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - h);
	*port = colon + (spec[0] == '[' ? 2 : 1);
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

int
metrics_http_preflight(const struct policy_config *cfg, struct auth_error *err)
{
	char host[NI_MAXHOST], what[300];
	const char *port;
	size_t i;

	if (cfg->metrics_listen.n > METRICS_HTTP_LISTEN_MAX)
		return auth_error_set(err, AUTH_EINVAL, "metrics_listen: more than %d addresses",
		                      METRICS_HTTP_LISTEN_MAX);
	for (i = 0; i < cfg->metrics_listen.n; i++) {
		snprintf(what, sizeof(what), "metrics_listen %s", cfg->metrics_listen.v[i]);
		if (mh_split(cfg->metrics_listen.v[i], host, sizeof(host), &port) < 0)
			return auth_error_set(err, AUTH_EINVAL, "%s: not HOST:PORT", what);
		if (preflight_host(what, host, err) < 0)
			return -1;
	}
	return 0;
}

static int mh_listen[METRICS_HTTP_LISTEN_MAX];
static size_t mh_nlisten;
static char mh_where[512];
static int mh_wake[2] = {-1, -1};
static pthread_t mh_thread;
static bool mh_running;

static int
mh_bind(const char *spec, const struct addrinfo *ai, struct auth_error *err)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return auth_error_set(err, AUTH_EIO, "metrics_listen %s: socket: %s", spec,
		                      strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
		auth_error_set(err, AUTH_EIO, "metrics_listen %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Every address spec names is bound. */
static int
mh_open_one(const char *spec, struct auth_error *err)
{
	struct addrinfo hints, *res, *ai;
	char host[NI_MAXHOST];
	const char *port;
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (mh_split(spec, host, sizeof(host), &port) < 0)
		return auth_error_set(err, AUTH_EINVAL, "metrics_listen %s: not HOST:PORT", spec);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return auth_error_set(err, AUTH_EIO, "metrics_listen %s: %s", spec,
		                      gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (mh_nlisten == METRICS_HTTP_LISTEN_MAX) {
			freeaddrinfo(res);
			return auth_error_set(err, AUTH_EINVAL,
			                      "metrics_listen: more than %d addresses",
			                      METRICS_HTTP_LISTEN_MAX);
		}
		if ((fd = mh_bind(spec, ai, err)) < 0) {
			freeaddrinfo(res);
			return -1;
		}
		mh_listen[mh_nlisten++] = fd;
	}
	freeaddrinfo(res);
	return 0;
}

int
metrics_http_open(const struct policy_config *cfg, struct auth_error *err)
{
	size_t i, n = 0;

	mh_where[0] = '\0';
	for (i = 0; i < cfg->metrics_listen.n; i++) {
		if (mh_open_one(cfg->metrics_listen.v[i], err) < 0) {
			metrics_http_stop();
			return -1;
		}
		n += (size_t)snprintf(mh_where + n, n < sizeof(mh_where) ? sizeof(mh_where) - n : 0,
		                      "%s%s", i ? " " : "", cfg->metrics_listen.v[i]);
		if (n >= sizeof(mh_where))
			n = sizeof(mh_where);
	}
	return 0;
}

void
metrics_http_describe(char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", mh_where);
}

/* ---- the thread ---- */

enum mh_state { MH_FREE, MH_READING, MH_WRITING, MH_DRAINING };

struct mh_conn {
	enum mh_state state;
	int fd;
	long long deadline; /* monotonic ms */
	char in[METRICS_HTTP_REQUEST_MAX];
	size_t inlen;
	struct buf out;
	size_t sent;
};

static long long
mh_now_ms(void)
{
	return (long long)(metrics_clock() / 1000u);
}

static void
mh_close(struct mh_conn *c)
{
	close(c->fd);
	buf_free(&c->out);
	c->state = MH_FREE;
	c->fd = -1;
}

static void
mh_accept(int lfd, struct mh_conn *conns)
{
	size_t i;
	int fd;

	for (i = 0; i < METRICS_HTTP_CONNS && conns[i].state != MH_FREE; i++)
		;
	if (i == METRICS_HTTP_CONNS)
		return;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	conns[i].state = MH_READING;
	conns[i].fd = fd;
	conns[i].inlen = 0;
	conns[i].sent = 0;
	conns[i].deadline = mh_now_ms() + METRICS_HTTP_TIMEOUT_MS;
	buf_init(&conns[i].out, METRICS_EXPOSITION_MAX + 1024);
}

static void
mh_answer(struct mh_conn *c, const struct metrics_http_request *req)
{
	if (metrics_http_respond(req, &c->out) < 0) {
		mh_close(c);
		return;
	}
	/* What the client sends from now on is not read as a request. */
	c->state = MH_WRITING;
}

static void
mh_read(struct mh_conn *c)
{
	struct metrics_http_request req;
	char discard[512];
	ssize_t n;

	if (c->state == MH_DRAINING) {
		/* After our answer: read to the client's close, so that our
		 * close does not reset the answer away. */
		if ((n = read(c->fd, discard, sizeof(discard))) == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EINTR))
			mh_close(c);
		return;
	}
	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		mh_close(c);
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	if (metrics_http_parse(c->in, c->inlen, &req) == 1)
		mh_answer(c, &req);
}

static void
mh_write(struct mh_conn *c)
{
	ssize_t n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		mh_close(c);
		return;
	}
	if (n > 0)
		c->sent += (size_t)n;
	if (c->sent == c->out.len) {
		shutdown(c->fd, SHUT_WR);
		c->state = MH_DRAINING;
	}
}

/* The poll set: the wake pipe, the listeners (while a slot is free), the
 * connections; returns its size and the time to the next deadline. */
static nfds_t
mh_poll_set(struct pollfd *pfd, struct mh_conn *conns, int *timeout)
{
	long long now = mh_now_ms(), soonest = -1;
	nfds_t n = 0;
	size_t i, busy = 0;

	pfd[n++] = (struct pollfd){mh_wake[0], POLLIN, 0};
	for (i = 0; i < METRICS_HTTP_CONNS; i++) {
		struct mh_conn *c = &conns[i];

		if (c->state == MH_FREE)
			continue;
		if (now >= c->deadline) {
			mh_close(c);
			continue;
		}
		busy++;
		if (soonest < 0 || c->deadline < soonest)
			soonest = c->deadline;
	}
	for (i = 0; busy < METRICS_HTTP_CONNS && i < mh_nlisten; i++)
		pfd[n++] = (struct pollfd){mh_listen[i], POLLIN, 0};
	for (i = 0; i < METRICS_HTTP_CONNS; i++)
		if (conns[i].state != MH_FREE)
			pfd[n++] = (struct pollfd){
			    conns[i].fd, conns[i].state == MH_WRITING ? POLLOUT : POLLIN, 0};
	*timeout = soonest < 0 ? -1 : (int)(soonest - now);
	return n;
}

static struct mh_conn *
mh_conn_of(struct mh_conn *conns, int fd)
{
	size_t i;

	for (i = 0; i < METRICS_HTTP_CONNS; i++)
		if (conns[i].state != MH_FREE && conns[i].fd == fd)
			return &conns[i];
	return NULL;
}

static void *
mh_main(void *arg)
{
	struct pollfd pfd[1 + METRICS_HTTP_LISTEN_MAX + METRICS_HTTP_CONNS];
	struct mh_conn *conns = arg, *c;
	nfds_t n, i;
	int timeout;

	for (;;) {
		n = mh_poll_set(pfd, conns, &timeout);
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		for (i = 1; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if ((c = mh_conn_of(conns, pfd[i].fd)) == NULL)
				mh_accept(pfd[i].fd, conns);
			else if (c->state == MH_WRITING)
				mh_write(c);
			else
				mh_read(c);
		}
	}
	for (i = 0; i < METRICS_HTTP_CONNS; i++)
		if (conns[i].state != MH_FREE)
			mh_close(&conns[i]);
	free(conns);
	return NULL;
}

int
metrics_http_start(struct auth_error *err)
{
	struct mh_conn *conns;
	int rc;

	if (mh_nlisten == 0)
		return 0;
	if ((conns = calloc(METRICS_HTTP_CONNS, sizeof(*conns))) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if (pipe2(mh_wake, O_CLOEXEC) != 0) {
		free(conns);
		return auth_error_set(err, AUTH_EIO, "metrics: pipe: %s", strerror(errno));
	}
	if ((rc = daemon_thread_create(&mh_thread, mh_main, conns)) != 0) {
		free(conns);
		return auth_error_set(err, AUTH_EIO, "cannot start the metrics thread: %s",
		                      strerror(rc));
	}
	mh_running = true;
	return 0;
}

void
metrics_http_stop(void)
{
	size_t i;

	if (mh_running) {
		if (write(mh_wake[1], "x", 1) != 1)
			log_msg(LOG_L_WARNING, "metrics: cannot wake the thread: %s",
			        strerror(errno));
		pthread_join(mh_thread, NULL);
		mh_running = false;
	}
	for (i = 0; i < 2; i++)
		if (mh_wake[i] >= 0) {
			close(mh_wake[i]);
			mh_wake[i] = -1;
		}
	for (i = 0; i < mh_nlisten; i++)
		close(mh_listen[i]);
	mh_nlisten = 0;
}
