/*
 * smtpd_conn - one client connection of the listener (smtpd.h): reading,
 * one state per protocol phase (smtpd_int.h), one function per command,
 * and the replies.  Runs in the loop thread only.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "maildir.h"
#include "proxyhdr.h"
#include "smtpd_int.h"

static void smtpd_process(struct smtpd_conn *c);
static void smtpd_read_cb(struct bufferevent *bev, void *arg);
static void smtpd_write_cb(struct bufferevent *bev, void *arg);
static void smtpd_event_cb(struct bufferevent *bev, short what, void *arg);

const char *
smtpd_conn_hostname(const struct smtpd_conn *c)
{
	return c->sc->hostname != NULL ? c->sc->hostname : confref_config(c->ref)->authserv_id;
}

void
smtpd_conn_reply(struct smtpd_conn *c, const char *fmt, ...)
{
	char line[SMTPD_REPLY_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, SMTPD_REPLY_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= SMTPD_REPLY_MAX)
		n = SMTPD_REPLY_MAX - 1;
	memcpy(line + n, "\r\n", 2);
	bufferevent_write(c->bev, line, (size_t)n + 2);
}

static void
smtpd_timeouts(struct smtpd_conn *c, unsigned read_seconds)
{
	struct timeval rd = {(time_t)read_seconds, 0}, wr = {(time_t)c->sc->command_timeout, 0};

	bufferevent_set_timeouts(c->bev, &rd, &wr);
}

static void
smtpd_setup_bev(struct smtpd_conn *c)
{
	bufferevent_setcb(c->bev, smtpd_read_cb, smtpd_write_cb, smtpd_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SMTPD_READ_AHEAD);
	smtpd_timeouts(c, c->sc->command_timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
smtpd_greet(struct smtpd_conn *c)
{
	c->greeted = true;
	c->state = SC_COMMAND;
	smtpd_conn_reply(c, "220 %s ESMTP authmilter", smtpd_conn_hostname(c));
}

struct smtpd_conn *
smtpd_conn_new(struct smtpd_server *srv, int fd, const char *peer, bool from_proxy, bool counted_ip)
{
	struct smtpd_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->srv = srv;
	if ((c->bev = bufferevent_socket_new(smtpd_base(srv), fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		return NULL;
	}
	c->ref = confref_acquire();
	c->sc = smtpd_conf_get(confref_config(c->ref));
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	snprintf(c->client, sizeof(c->client), "%s", peer);
	c->from_proxy = from_proxy;
	c->counted_ip = counted_ip;
	smtpd_link(srv, c);
	smtpd_setup_bev(c);
	if (from_proxy && c->sc->proxy_protocol)
		c->state = SC_PROXY;
	else
		smtpd_greet(c);
	return c;
}

void
smtpd_conn_end_transaction(struct smtpd_conn *c)
{
	size_t i;

	if (c->in_mail)
		smtpd_transaction(c->srv, false);
	c->in_mail = false;
	for (i = 0; i < c->nrcpt; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	c->rcpts = NULL;
	c->nrcpt = 0;
	c->hop_ok = 0;
	smtpc_drop(c->hop);
	c->hop = NULL;
	buf_free(&c->data);
	if (c->session != NULL)
		session_reset(c->session);
	c->eval_failed = false;
	c->qid[0] = '\0';
}

void
smtpd_conn_free(struct smtpd_conn *c)
{
	/* A job still uses the connection: it is freed when the job ends. */
	if (c->state == SC_BUSY && !smtpd_stopped(c->srv)) {
		c->gone = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	smtpd_conn_end_transaction(c);
	session_free(c->session);
	if (c->linger != NULL)
		event_free(c->linger);
	bufferevent_free(c->bev);
	smtpd_conn_unlink(c);
	confref_release(c->ref);
	free(c);
}

/* Bytes not yet written: under TLS the filter hands them on at once, so
 * the socket's own buffer counts too. */
static size_t
smtpd_unsent(const struct smtpd_conn *c)
{
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

	return n + (under != NULL ? evbuffer_get_length(bufferevent_get_output(under)) : 0);
}

static void
smtpd_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_conn *c = arg;
	struct timeval again = {0, 20000};

	(void)fd;
	(void)what;
	if (smtpd_unsent(c) == 0 || ++c->linger_ticks > c->sc->command_timeout * 50)
		smtpd_conn_free(c);
	else
		evtimer_add(c->linger, &again);
}

/* The last reply is queued: free once it is written, looking every few
 * milliseconds (under TLS no write callback says when the socket's
 * buffer drained), for at most the write timeout. */
static void
smtpd_close(struct smtpd_conn *c)
{
	struct timeval now = {0, 0};

	c->state = SC_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	if (smtpd_unsent(c) == 0) {
		smtpd_conn_free(c);
		return;
	}
	if (c->linger == NULL &&
	    (c->linger = evtimer_new(smtpd_base(c->srv), smtpd_linger_cb, c)) != NULL)
		evtimer_add(c->linger, &now);
}

void
smtpd_conn_shutdown(struct smtpd_conn *c)
{
	if (c->state == SC_CLOSING)
		return;
	if (c->in_mail || c->state == SC_BUSY || c->state == SC_DATA) {
		c->drain = true;
		return;
	}
	smtpd_conn_reply(c, "421 4.3.2 %s Service shutting down", smtpd_conn_hostname(c));
	smtpd_close(c);
}

/* Counts a refused command; too many and the client is dropped. */
static void
smtpd_error(struct smtpd_conn *c, int code, const char *dsn, const char *text)
{
	smtpd_conn_reply(c, "%d %s %s", code, dsn, text);
	if (++c->errors >= SMTPD_MAX_ERRORS) {
		smtpd_conn_reply(c, "421 4.7.0 %s Too many errors, closing",
		                 smtpd_conn_hostname(c));
		log_msg(LOG_L_NOTICE, "client=%s dropped after %u errors", c->client, c->errors);
		smtpd_close(c);
	}
}

/* ---- commands ---- */

static void
cmd_helo(struct smtpd_conn *c, const struct smtpcmd *cmd, bool esmtp)
{
	if (cmd->arg_len == 0 || cmd->arg_len > SMTPCMD_DOMAIN_MAX ||
	    memchr(cmd->arg, ' ', cmd->arg_len) != NULL ||
	    memchr(cmd->arg, '\t', cmd->arg_len) != NULL) {
		smtpd_error(c, 501, "5.5.4",
		            esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
		return;
	}
	smtpd_conn_end_transaction(c);
	memcpy(c->helo, cmd->arg, cmd->arg_len);
	c->helo[cmd->arg_len] = '\0';
	c->esmtp = esmtp;
	if (c->session != NULL)
		(void)session_helo(c->session, c->helo, NULL);
	if (!esmtp) {
		smtpd_conn_reply(c, "250 %s", smtpd_conn_hostname(c));
		return;
	}
	smtpd_conn_reply(c, "250-%s", smtpd_conn_hostname(c));
	smtpd_conn_reply(c, "250-PIPELINING");
	smtpd_conn_reply(c, "250-SIZE %zu", c->sc->max_message_size);
	if (c->sc->tls != NULL && !c->tls)
		smtpd_conn_reply(c, "250-STARTTLS");
	if (c->from_proxy)
		smtpd_conn_reply(c,
		                 "250-XCLIENT ADDR HELO LOGIN NAME PORT PROTO DESTADDR DESTPORT");
	smtpd_conn_reply(c, "250-8BITMIME");
	smtpd_conn_reply(c, "250 ENHANCEDSTATUSCODES");
}

/* The session at the first MAIL: the client as the connection knows it. */
static int
smtpd_session(struct smtpd_conn *c)
{
	struct auth_error err;

	if (c->session == NULL) {
		c->session = session_new(confref_config(c->ref), confref_engines(c->ref), &err);
		if (c->session == NULL ||
		    session_connect(c->session, c->client[0] ? c->client : NULL, NULL, &err) < 0 ||
		    session_helo(c->session, c->helo, &err) < 0) {
			log_msg(LOG_L_ERROR, "client=%s: cannot start a session: %s", c->client,
			        err.msg);
			session_free(c->session);
			c->session = NULL;
			return -1;
		}
	}
	session_set_authenticated(c->session, c->login[0] ? c->login : NULL);
	return 0;
}

static void
cmd_mail(struct smtpd_conn *c, const struct smtpcmd *cmd)
{
	struct smtpcmd_error e;

	if (c->helo[0] == '\0')
		return smtpd_error(c, 503, "5.5.1", "Send HELO or EHLO first");
	if (c->in_mail)
		return smtpd_error(c, 503, "5.5.1", "Nested MAIL command");
	if (smtpcmd_mail(cmd, &c->mail, &e) < 0)
		return smtpd_error(c, e.code, e.dsn, e.text);
	if (c->mail.has_size && c->mail.size > c->sc->max_message_size)
		return smtpd_error(c, 552, "5.3.4",
		                   "Message size exceeds fixed maximum message size");
	if (smtpd_session(c) < 0) {
		smtpd_conn_reply(c, "451 4.3.0 Cannot check mail now, try again later");
		return;
	}
	smtpd_job_submit(c, SJ_MAIL);
}

int
smtpd_add_rcpt(struct smtpd_conn *c, const char *addr)
{
	char **grown = realloc(c->rcpts, (c->nrcpt + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	c->rcpts = grown;
	if ((grown[c->nrcpt] = strdup(addr)) == NULL)
		return -1;
	c->nrcpt++;
	(void)session_rcpt(c->session, addr, NULL);
	return 0;
}

static void
cmd_rcpt(struct smtpd_conn *c, const struct smtpcmd *cmd)
{
	struct smtpcmd_path rcpt;
	struct smtpcmd_error e;
	char dir[MAILDIR_PATH_MAX];
	struct auth_error err;

	if (!c->in_mail)
		return smtpd_error(c, 503, "5.5.1", "Need MAIL command");
	if (smtpcmd_rcpt(cmd, &rcpt, &e) < 0)
		return smtpd_error(c, e.code, e.dsn, e.text);
	if (c->nrcpt >= c->sc->max_recipients) {
		smtpd_conn_reply(c, "452 4.5.3 Too many recipients");
		return;
	}
	if (c->sc->maildir != NULL && maildir_per_recipient(c->sc->maildir) &&
	    maildir_expand(c->sc->maildir, rcpt.addr, dir, &err) < 0) {
		smtpd_conn_reply(c, "550 5.1.3 <%s>: %s", rcpt.addr, err.msg);
		return;
	}
	if (c->sc->next_hop != NULL) {
		/* The next hop decides, in this transaction. */
		if (c->hop == NULL) {
			smtpd_conn_reply(c, "451 4.4.1 Next hop not available, try again later");
			return;
		}
		memcpy(c->rcpt, rcpt.addr, sizeof(c->rcpt));
		smtpd_job_submit(c, SJ_RCPT);
		return;
	}
	if (smtpd_add_rcpt(c, rcpt.addr) < 0) {
		smtpd_conn_reply(c, "451 4.3.0 Out of memory, try again later");
		return;
	}
	smtpd_conn_reply(c, "250 2.1.5 Ok");
}

static void
cmd_data(struct smtpd_conn *c, const struct smtpcmd *cmd)
{
	const char *why = NULL;

	if (cmd->arg_len > 0)
		why = "501 5.5.4 Syntax: DATA";
	else if (!c->in_mail)
		why = "503 5.5.1 Need MAIL command";
	else if (c->nrcpt == 0)
		why = "554 5.5.1 No valid recipients";
	if (why != NULL) {
		smtpd_conn_reply(c, "%s", why);
		/* The message may follow, pipelined against RFC 2920: none of
		 * it may be read as commands. */
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
			smtpd_conn_reply(c,
			                 "421 4.5.0 %s Data pipelined after a refused DATA, "
			                 "closing",
			                 smtpd_conn_hostname(c));
			smtpd_close(c);
		}
		return;
	}
	buf_init(&c->data, c->sc->max_message_size + 16);
	smtpdata_init(&c->dec, &c->data, c->sc->max_line_length, c->sc->max_message_size,
	              c->sc->accept_bare_line_ends);
	c->state = SC_DATA;
	smtpd_timeouts(c, c->sc->data_timeout);
	smtpd_conn_reply(c, "354 End data with <CR><LF>.<CR><LF>");
}

static void
cmd_starttls(struct smtpd_conn *c, const struct smtpcmd *cmd)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct bufferevent *tls;
	SSL *ssl;

	if (c->sc->tls == NULL)
		return smtpd_error(c, 502, "5.5.1", "STARTTLS not available");
	if (c->tls)
		return smtpd_error(c, 503, "5.5.1", "TLS already active");
	if (cmd->arg_len > 0)
		return smtpd_error(c, 501, "5.5.4", "Syntax: STARTTLS");
	if ((ssl = SSL_new(c->sc->tls)) == NULL) {
		smtpd_conn_reply(c, "454 4.7.0 TLS not available now");
		return;
	}
	smtpd_conn_reply(c, "220 2.0.0 Ready to start TLS");
	/* Commands sent before the handshake are not protected by it: a
	 * man in the middle could have put them there.  Discarded. */
	evbuffer_drain(in, evbuffer_get_length(in));
	tls = bufferevent_openssl_filter_new(smtpd_base(c->srv), c->bev, ssl,
	                                     BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		smtpd_close(c);
		return;
	}
	c->bev = tls;
	c->tls = true;
	smtpd_conn_end_transaction(c);
	/* RFC 3207 §4.2: the client starts over with EHLO. */
	c->helo[0] = '\0';
	c->esmtp = false;
	smtpd_setup_bev(c);
}

static void
cmd_xclient(struct smtpd_conn *c, const struct smtpcmd *cmd)
{
	struct smtpcmd_xclient x;
	struct smtpcmd_error e;

	if (!c->from_proxy)
		return smtpd_error(c, 550, "5.7.0", "Insufficient authorization for XCLIENT");
	if (c->in_mail)
		return smtpd_error(c, 503, "5.5.1", "MAIL transaction in progress");
	if (smtpcmd_xclient(cmd, &x, &e) < 0)
		return smtpd_error(c, e.code, e.dsn, e.text);
	if (x.has_addr)
		snprintf(c->client, sizeof(c->client), "%s", x.addr);
	snprintf(c->helo, sizeof(c->helo), "%s", x.has_helo ? x.helo : "");
	snprintf(c->login, sizeof(c->login), "%s", x.has_login ? x.login : "");
	/* A new client: its session starts afresh. */
	session_free(c->session);
	c->session = NULL;
	c->esmtp = false;
	smtpd_greet(c);
}

static void
cmd_simple(struct smtpd_conn *c, const struct smtpcmd *cmd)
{
	switch (cmd->verb) {
	case SMTPCMD_RSET:
		smtpd_conn_end_transaction(c);
		smtpd_conn_reply(c, "250 2.0.0 Ok");
		break;
	case SMTPCMD_NOOP:
		smtpd_conn_reply(c, "250 2.0.0 Ok");
		break;
	case SMTPCMD_QUIT:
		smtpd_conn_reply(c, "221 2.0.0 Bye");
		smtpd_close(c);
		break;
	case SMTPCMD_VRFY:
		smtpd_conn_reply(c, "252 2.5.0 Cannot VRFY user, but will accept message and "
		                    "attempt delivery");
		break;
	case SMTPCMD_HELP:
		smtpd_conn_reply(c, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT "
		                    "VRFY HELP STARTTLS");
		break;
	case SMTPCMD_EXPN:
		smtpd_error(c, 502, "5.5.1", "EXPN not available");
		break;
	case SMTPCMD_AUTH:
		smtpd_error(c, 502, "5.5.1", "AUTH not available");
		break;
	case SMTPCMD_BDAT:
		smtpd_error(c, 502, "5.5.1", "BDAT not available (no CHUNKING)");
		break;
	case SMTPCMD_PROXY:
		smtpd_conn_reply(c, "554 5.7.0 PROXY protocol only from a trusted proxy");
		log_msg(LOG_L_NOTICE, "client=%s: PROXY header from an untrusted address", c->peer);
		smtpd_close(c);
		break;
	default:
		smtpd_error(c, 500, "5.5.2", "Command not recognized");
		break;
	}
}

static void
smtpd_command(struct smtpd_conn *c, const char *line, size_t len)
{
	struct smtpcmd cmd;
	struct smtpcmd_error e;

	if (smtpcmd_parse(line, len, &cmd, &e) < 0)
		return smtpd_error(c, e.code, e.dsn, e.text);
	if (smtpd_draining(c->srv) && cmd.verb == SMTPCMD_MAIL) {
		smtpd_conn_reply(c, "421 4.3.2 %s Service shutting down", smtpd_conn_hostname(c));
		return smtpd_close(c);
	}
	switch (cmd.verb) {
	case SMTPCMD_HELO:
	case SMTPCMD_EHLO:
		return cmd_helo(c, &cmd, cmd.verb == SMTPCMD_EHLO);
	case SMTPCMD_MAIL:
		return cmd_mail(c, &cmd);
	case SMTPCMD_RCPT:
		return cmd_rcpt(c, &cmd);
	case SMTPCMD_DATA:
		return cmd_data(c, &cmd);
	case SMTPCMD_STARTTLS:
		return cmd_starttls(c, &cmd);
	case SMTPCMD_XCLIENT:
		return cmd_xclient(c, &cmd);
	default:
		return cmd_simple(c, &cmd);
	}
}

/* ---- reading ---- */

/* Before any command: a PROXY header from an address that may not send
 * one is refused, whichever version. */
static int
smtpd_untrusted_proxy(struct smtpd_conn *c, struct evbuffer *in)
{
	size_t n = evbuffer_get_length(in) < 12 ? evbuffer_get_length(in) : 12;
	const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);

	if (n == 0 || !proxyhdr_looks_like(p, n))
		return 0;
	if (n < (p[0] == 'P' ? 6u : 12u))
		return 1; /* wait for enough bytes to tell */
	log_msg(LOG_L_NOTICE, "client=%s: PROXY header from an untrusted address", c->peer);
	smtpd_conn_reply(c, "554 5.7.0 PROXY protocol only from a trusted proxy");
	smtpd_close(c);
	return 1;
}

/* Returns 1 to go on, 0 to wait for more input. */
static int
smtpd_command_step(struct smtpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), eol, limit;
	char line[SMTPD_XCLIENT_MAX + 1];
	struct evbuffer_ptr pos;

	if (len == 0 || (!c->started && smtpd_untrusted_proxy(c, in)))
		return 0;
	limit = c->from_proxy ? SMTPD_XCLIENT_MAX : SMTPD_COMMAND_MAX;
	pos = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_LF);
	if (pos.pos < 0) {
		if (len > limit) {
			c->skip_line = true;
			evbuffer_drain(in, len);
		}
		return 0;
	}
	c->started = true;
	if (c->skip_line || (size_t)pos.pos + eol > limit) {
		evbuffer_drain(in, (size_t)pos.pos + eol);
		c->skip_line = false;
		smtpd_error(c, 500, "5.5.2", "Line too long (RFC 5321 section 4.5.3.1.4)");
		return 1;
	}
	evbuffer_remove(in, line, (size_t)pos.pos + eol);
	len = (size_t)pos.pos;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	smtpd_command(c, line, len);
	return 1;
}

static void
smtpd_data_refused(struct smtpd_conn *c)
{
	unsigned p = c->dec.problems;

	if (p & SMTPDATA_NO_MEMORY)
		smtpd_conn_reply(c, "451 4.3.0 Out of memory for the message, try again later");
	else if (p & SMTPDATA_TOO_BIG)
		smtpd_conn_reply(c,
		                 "552 5.3.4 Message size exceeds fixed maximum message size "
		                 "(%zu bytes)",
		                 c->sc->max_message_size);
	else if (p & SMTPDATA_LONG_LINE)
		smtpd_conn_reply(c,
		                 "550 5.5.2 Message has a line longer than %zu bytes (RFC 5321 "
		                 "section 4.5.3.1.6)",
		                 c->sc->max_line_length);
	else
		smtpd_conn_reply(c,
		                 "550 5.5.2 Message has a bare %s; line ends must be CRLF (RFC "
		                 "5321 section 2.3.8)",
		                 (p & SMTPDATA_BARE_LF) ? "LF" : "CR");
	log_msg(LOG_L_INFO, "%s: client=%s refused in DATA (problems %#x)", c->qid, c->client, p);
	smtpd_conn_end_transaction(c);
	c->state = SC_COMMAND;
}

static int
smtpd_data_step(struct smtpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec vec[8];
	int i, n = evbuffer_peek(in, -1, NULL, vec, 8);
	size_t used = 0, k;

	if (n <= 0)
		return 0;
	for (i = 0; i < n && i < 8 && !c->dec.done; i++) {
		k = smtpdata_feed(&c->dec, vec[i].iov_base, vec[i].iov_len);
		used += k;
	}
	evbuffer_drain(in, used);
	if (!c->dec.done)
		return used > 0;
	smtpd_timeouts(c, c->sc->command_timeout);
	if (smtpdata_refused(&c->dec)) {
		smtpd_data_refused(c);
		return 1;
	}
	smtpd_job_submit(c, SJ_EOM);
	return 0;
}

static int
smtpd_proxy_step(struct smtpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), used;
	struct proxyhdr h;
	int rc;

	if (len == 0)
		return 0;
	if (len > PROXYHDR_V2_MAX)
		len = PROXYHDR_V2_MAX;
	rc = proxyhdr_parse(evbuffer_pullup(in, (ev_ssize_t)len), len, &h, &used);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		log_msg(LOG_L_WARNING, "proxy %s: bad PROXY protocol header", c->peer);
		smtpd_conn_reply(c, "421 4.7.0 Bad PROXY protocol header");
		smtpd_close(c);
		return 0;
	}
	evbuffer_drain(in, used);
	if (h.family != 0)
		snprintf(c->client, sizeof(c->client), "%s", h.addr);
	smtpd_greet(c);
	return 1;
}

static void
smtpd_process(struct smtpd_conn *c)
{
	int more = 1;

	while (more) {
		switch (c->state) {
		case SC_PROXY:
			more = smtpd_proxy_step(c);
			break;
		case SC_COMMAND:
			more = smtpd_command_step(c);
			break;
		case SC_DATA:
			more = smtpd_data_step(c);
			break;
		default:
			more = 0;
			break;
		}
	}
}

void
smtpd_conn_job_done(struct smtpd_conn *c)
{
	if (c->gone || smtpd_stopped(c->srv)) {
		c->state = SC_COMMAND;
		smtpd_conn_free(c);
		return;
	}
	c->state = SC_COMMAND;
	smtpd_conn_reply(c, "%s", c->reply);
	if (c->drain && !c->in_mail) {
		smtpd_conn_reply(c, "421 4.3.2 %s Service shutting down", smtpd_conn_hostname(c));
		smtpd_close(c);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	smtpd_process(c);
}

static void
smtpd_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	smtpd_process(arg);
}

static void
smtpd_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpd_conn *c = arg;

	(void)bev;
	if (c->state == SC_CLOSING && smtpd_unsent(c) == 0)
		smtpd_conn_free(c);
}

static void
smtpd_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpd_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return; /* the TLS handshake is done */
	/* A client that does not read its replies gets no more. */
	if ((what & BEV_EVENT_TIMEOUT) && c->state != SC_CLOSING && !(what & BEV_EVENT_WRITING)) {
		log_msg(LOG_L_INFO, "client=%s: timeout in %s", c->client,
		        c->state == SC_DATA ? "DATA" : "a command");
		smtpd_conn_reply(c, "421 4.4.2 %s Timeout, closing", smtpd_conn_hostname(c));
		smtpd_close(c);
		return;
	}
	smtpd_conn_free(c);
}
