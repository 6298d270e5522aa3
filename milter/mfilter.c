/*
 * mfilter - see mfilter.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "confref.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "mfilter.h"
#include "milterconn.h"
#include "milterproto.h"
#include "preflight.h"
#include "recorder.h"
#include "config.h"
#include "session.h"

/* Protocol steps we never need the MTA to send, and the replies it need
 * not wait for (we act at end of message only). */
#define MFILTER_NO_STEPS (SMFIP_NOUNKNOWN | SMFIP_NODATA)
#define MFILTER_NO_REPLY                                                                           \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |            \
	 SMFIP_NR_EOH | SMFIP_NR_BODY)
#define MFILTER_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

#define MFILTER_QUEUE_ID_MAX 64
#define MFILTER_REPLY_MAX 512
#define MFILTER_HEADER_VALUE_MAX 8192

_Static_assert(MFILTER_HEADER_VALUE_MAX > VERDICT_AUTHRES_MAX + 2,
               "our Authentication-Results always fits");

struct mconn {
	struct confref *ref;
	struct session *session; /* NULL when it could not be made */
	bool connected;          /* xxfi_connect was seen */
	bool in_mail;            /* MAIL was seen for the current message */
	bool failed;             /* an error in this message: answer with the error verdict */
	char client[INET6_ADDRSTRLEN];
	char queue_id[MFILTER_QUEUE_ID_MAX];
	uint64_t eom_started; /* metrics_clock() at the end of message */
};

/* Guards mfilter_in_flight (messages between MAIL and their end);
 * mfilter_quiet is signalled when it drops to 0. */
static pthread_mutex_t mfilter_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mfilter_quiet = PTHREAD_COND_INITIALIZER;
static unsigned long mfilter_in_flight;

static void
mfilter_count(bool up)
{
	pthread_mutex_lock(&mfilter_lock);
	if (up)
		mfilter_in_flight++;
	else if (--mfilter_in_flight == 0)
		pthread_cond_broadcast(&mfilter_quiet);
	pthread_mutex_unlock(&mfilter_lock);
}

unsigned long
mfilter_wait_quiet(unsigned seconds)
{
	struct timespec until;
	unsigned long left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&mfilter_lock);
	while (mfilter_in_flight > 0)
		if (pthread_cond_timedwait(&mfilter_quiet, &mfilter_lock, &until) != 0)
			break;
	left = mfilter_in_flight;
	pthread_mutex_unlock(&mfilter_lock);
	return left;
}

static void
mconn_free(struct mconn *c)
{
	session_free(c->session);
	confref_release(c->ref);
	free(c);
}

static void
mconn_discard(void *spare)
{
	mconn_free(spare);
}

/* The spare of the connection before, if it was made with the config that
 * is current: a connection costs no new session. */
static struct mconn *
mconn_reuse(struct milterproto *mp)
{
	struct mconn *c = milterproto_spare(mp);
	struct confref *ref;

	if (c == NULL)
		return NULL;
	milterproto_set_spare(mp, NULL);
	ref = confref_acquire();
	confref_release(ref);
	if (c->ref != ref) {
		mconn_free(c);
		return NULL;
	}
	c->connected = false;
	c->client[0] = '\0';
	milterproto_set_priv(mp, c);
	return c;
}

static struct mconn *
mconn_get(struct milterproto *mp)
{
	struct mconn *c = milterproto_priv(mp);
	struct auth_error err;

	if (c != NULL)
		return c;
	if ((c = mconn_reuse(mp)) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_msg(LOG_L_ERROR, "out of memory for a new connection");
			return NULL;
		}
		c->ref = confref_acquire();
		c->session = session_new(confref_config(c->ref), confref_engines(c->ref), &err);
		if (c->session == NULL)
			log_msg(LOG_L_ERROR, "cannot start a session: %s", err.msg);
		milterproto_set_priv(mp, c);
	}
	metrics_connection(METRICS_MILTER, true);
	return c;
}

/* Records a failed session call; the message is answered at its end. */
static void
mconn_fail(struct mconn *c, const char *step, const struct auth_error *err)
{
	if (!c->failed)
		log_msg(err->code == AUTH_ELIMIT ? LOG_L_WARNING : LOG_L_ERROR, "%s: %s: %s",
		        c->queue_id[0] ? c->queue_id : "NOQUEUE", step, err->msg);
	c->failed = true;
}

/* Whether this message still feeds the session. */
static bool
mconn_live(const struct mconn *c)
{
	return c != NULL && c->session != NULL && !c->failed;
}

static void
mconn_queue_id(struct milterproto *mp, struct mconn *c)
{
	const char *id;

	if (c->queue_id[0] != '\0' || (id = milterproto_macro(mp, "{i}")) == NULL)
		return;
	if (strlen(id) >= sizeof(c->queue_id))
		return;
	memcpy(c->queue_id, id, strlen(id) + 1);
}

static void
mconn_begin_message(struct mconn *c)
{
	c->in_mail = true;
	mfilter_count(true);
}

static void
mconn_end_message(struct mconn *c)
{
	if (c->session != NULL)
		session_reset(c->session);
	if (c->in_mail)
		mfilter_count(false);
	c->failed = false;
	c->in_mail = false;
	c->queue_id[0] = '\0';
}

static void
mf_negotiate(struct milterproto *mp, uint32_t *actions, uint32_t *proto)
{
	struct mconn *c = mconn_get(mp);

	if ((*actions & MFILTER_ACTIONS) != MFILTER_ACTIONS)
		log_msg(LOG_L_WARNING, "the MTA does not offer every action we use (offered 0x%lx)",
		        (unsigned long)*actions);
	*actions &= MFILTER_ACTIONS;
	/* Without connection state every step must answer for itself. */
	*proto &= MFILTER_NO_STEPS | SMFIP_HDR_LEADSPC | (c != NULL ? MFILTER_NO_REPLY : 0);
}

/* The client address in text, IPv4-mapped IPv6 as IPv4 (RFC 7208 §5 asks
 * for the IPv4 form); "" when the MTA does not know it. */
static void
mf_client_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		if (inet_ntop(AF_INET, &in->sin_addr, out, outlen) == NULL)
			out[0] = '\0';
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const void *a = &in6->sin6_addr;
		int fam = AF_INET6;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a = &in6->sin6_addr.s6_addr[12];
			fam = AF_INET;
		}
		if (inet_ntop(fam, a, out, outlen) == NULL)
			out[0] = '\0';
	}
}

static void
mf_connect(struct milterproto *mp, const char *hostname, const struct sockaddr *hostaddr)
{
	struct mconn *c = mconn_get(mp);
	struct auth_error err;
	const char *host = hostname;

	if (c == NULL)
		return;
	mf_client_text(hostaddr, c->client, sizeof(c->client));
	/* Postfix and Sendmail name a client without verified reverse DNS
	 * "unknown" or "[address]". */
	if (host != NULL && (host[0] == '[' || strcmp(host, "unknown") == 0))
		host = NULL;
	c->connected = true;
	if (mconn_live(c) &&
	    session_connect(c->session, c->client[0] ? c->client : NULL, host, &err) < 0)
		mconn_fail(c, "connect", &err);
}

static void
mf_helo(struct milterproto *mp, const char *helo)
{
	struct mconn *c = milterproto_priv(mp);
	struct auth_error err;

	if (mconn_live(c) && c->connected && session_helo(c->session, helo, &err) < 0)
		mconn_fail(c, "helo", &err);
}

static void
mf_envfrom(struct milterproto *mp, const char *sender)
{
	struct mconn *c = milterproto_priv(mp);
	struct auth_error err;
	const char *auth;

	if (c == NULL)
		return;
	if (c->in_mail)
		mconn_end_message(c);
	mconn_begin_message(c);
	mconn_queue_id(mp, c);
	if (!c->connected) {
		c->failed = true;
		log_msg(LOG_L_WARNING, "MAIL without a connection or a sender");
		return;
	}
	auth = milterproto_macro(mp, "{auth_authen}");
	if (mconn_live(c) && auth != NULL && auth[0] != '\0')
		session_set_authenticated(c->session, auth);
	if (mconn_live(c) && session_mail_from(c->session, sender, &err) < 0)
		mconn_fail(c, "mail from", &err);
}

static void
mf_envrcpt(struct milterproto *mp, const char *rcpt)
{
	struct mconn *c = milterproto_priv(mp);
	struct auth_error err;

	if (mconn_live(c) && c->in_mail && session_rcpt(c->session, rcpt, &err) < 0)
		mconn_fail(c, "rcpt to", &err);
}

/* Fields are handed on even after a failure in this message: the session
 * still notes the forged Authentication-Results fields to delete. */
static void
mf_header(struct milterproto *mp, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct mconn *c = milterproto_priv(mp);
	struct auth_error err;
	char *spaced = NULL;
	int rc;

	if (c == NULL || c->session == NULL || !c->in_mail)
		return;
	/* Without SMFIP_HDR_LEADSPC the MTA dropped the space after the colon.
	 * Without the space the field's bytes differ from what was signed, so
	 * a failed copy fails the message rather than judge altered bytes. */
	if (!(milterproto_protocol(mp) & SMFIP_HDR_LEADSPC)) {
		if ((spaced = malloc(vlen + 2)) == NULL) {
			auth_error_set(&err, AUTH_ENOMEM, "out of memory");
			mconn_fail(c, "header", &err);
			return;
		}
		spaced[0] = ' ';
		memcpy(spaced + 1, value, vlen + 1);
		value = spaced;
		vlen++;
	}
	rc = session_header(c->session, name, nlen, value, vlen, &err);
	free(spaced);
	if (rc < 0)
		mconn_fail(c, "header", &err);
}

static void
mf_eoh(struct milterproto *mp)
{
	struct mconn *c = milterproto_priv(mp);
	struct auth_error err;

	if (c != NULL)
		mconn_queue_id(mp, c);
	if (mconn_live(c) && c->in_mail && session_eoh(c->session, &err) < 0)
		mconn_fail(c, "end of headers", &err);
}

static void
mf_body(struct milterproto *mp, const unsigned char *chunk, size_t len)
{
	struct mconn *c = milterproto_priv(mp);
	struct auth_error err;

	if (mconn_live(c) && c->in_mail &&
	    session_body(c->session, (const char *)chunk, len, &err) < 0)
		mconn_fail(c, "body", &err);
}

/* Copies reply text: printable only, '%' doubled (the MTA may take the
 * text as a format). */
static void
mf_reply_text(const char *text, char *out, size_t outlen)
{
	size_t n = 0;

	for (; text != NULL && *text != '\0' && n + 3 < outlen; text++) {
		unsigned char ch = (unsigned char)*text;

		if (ch == '%')
			out[n++] = '%';
		out[n++] = ch < 0x20 || ch >= 0x7f ? ' ' : (char)ch;
	}
	out[n] = '\0';
}

static enum milterproto_final
mf_reply(struct milterproto *mp, const struct verdict *v, bool reject)
{
	char text[MFILTER_REPLY_MAX];
	struct server_reply r;

	server_reply(v, reject, &r);
	mf_reply_text(r.text, text, sizeof(text));
	if (milterproto_set_reply(mp, r.code, r.dsn, text) < 0)
		log_msg(LOG_L_WARNING, "the MTA refused the reply text; it answers with its own");
	return reject ? MILTERPROTO_REJECT : MILTERPROTO_TEMPFAIL;
}

/* A header value as the MTA wants it: line ends as LF (the MTA writes
 * them out as CRLF), and no leading space unless SMFIP_HDR_LEADSPC. */
static char *
mf_header_value(struct milterproto *mp, const char *v)
{
	size_t len = strlen(v), i, n = 0;
	char *out;

	if (!(milterproto_protocol(mp) & SMFIP_HDR_LEADSPC) && v[0] == ' ') {
		v++;
		len--;
	}
	if (len > MFILTER_HEADER_VALUE_MAX || (out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		if (!(v[i] == '\r' && v[i + 1] == '\n'))
			out[n++] = v[i];
	out[n] = '\0';
	return out;
}

/* The MTA counts fields of one name, so deletions go by nth. */
static void
mf_edit_headers(struct milterproto *mp, const struct mconn *c, const struct verdict *v)
{
	size_t i;

	for (i = 0; i < v->ndel; i++)
		if (milterproto_change_header(mp, v->del[i].nth, "Authentication-Results", "") < 0)
			log_msg(LOG_L_WARNING, "%s: could not delete Authentication-Results #%u",
			        c->queue_id, v->del[i].nth);
	/* Inserted at the top in reverse, so add[0] ends up first. */
	for (i = v->nadd; i-- > 0;) {
		char *value = mf_header_value(mp, v->add[i].value);

		if (value == NULL || milterproto_insert_header(mp, 0, v->add[i].name, value) < 0)
			log_msg(LOG_L_WARNING, "%s: could not add %s", c->queue_id, v->add[i].name);
		free(value);
	}
}

static enum milterproto_final
mf_act(struct milterproto *mp, struct mconn *c, const struct verdict *v)
{
	const struct policy_config *cfg = confref_config(c->ref);

	log_summary(c->queue_id, c->client[0] ? c->client : NULL, v);
	metrics_message(METRICS_MILTER, v, c->eom_started);
	/* A deferred message comes again: recorded once, when it is final. */
	if (v->action != VERDICT_TEMPFAIL)
		recorder_append(c->queue_id, v->report);
	switch (v->action) {
	case VERDICT_REJECT:
		return mf_reply(mp, v, true);
	case VERDICT_TEMPFAIL:
		return mf_reply(mp, v, false);
	case VERDICT_QUARANTINE:
		mf_edit_headers(mp, c, v);
		if (cfg->quarantine == CONFIG_QUARANTINE_HOLD &&
		    milterproto_quarantine(mp, v->text[0] != '\0' ? v->text : "DMARC quarantine") <
		        0)
			log_msg(LOG_L_WARNING, "%s: the MTA refused to quarantine", c->queue_id);
		return MILTERPROTO_CONTINUE;
	case VERDICT_ACCEPT:
		break;
	}
	mf_edit_headers(mp, c, v);
	return MILTERPROTO_CONTINUE;
}

/* With no session at all (out of memory), the config alone decides. */
static enum milterproto_final
mf_no_session(struct milterproto *mp, struct mconn *c, uint64_t started)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	v.reason = VERDICT_R_INTERNAL;
	v.action = c != NULL && confref_config(c->ref)->on_internal_error == CONFIG_TEMPFAIL
	               ? VERDICT_TEMPFAIL
	               : VERDICT_ACCEPT;
	v.spf_result = v.dkim_summary = v.dmarc_result = v.dmarc_disposition = "error";
	log_summary(c != NULL ? c->queue_id : NULL, c != NULL ? c->client : NULL, &v);
	metrics_message(METRICS_MILTER, &v, started);
	return v.action == VERDICT_TEMPFAIL ? mf_reply(mp, &v, false) : MILTERPROTO_CONTINUE;
}

static enum milterproto_final
mf_eom(struct milterproto *mp)
{
	struct mconn *c = milterproto_priv(mp);
	const struct verdict *v = NULL;
	struct auth_error err;
	enum milterproto_final rc;
	uint64_t started = metrics_clock();

	if (c == NULL || c->session == NULL) {
		rc = mf_no_session(mp, c, started);
		if (c != NULL)
			mconn_end_message(c);
		return rc;
	}
	c->eom_started = started;
	mconn_queue_id(mp, c);
	if (!c->in_mail)
		c->failed = true;
	if (!c->failed && session_eom(c->session, &v, &err) < 0)
		mconn_fail(c, "end of message", &err);
	if (c->failed || v == NULL)
		v = session_error_verdict(c->session);
	rc = mf_act(mp, c, v);
	mconn_end_message(c);
	return rc;
}

static void
mf_abort(struct milterproto *mp)
{
	struct mconn *c = milterproto_priv(mp);

	if (c != NULL)
		mconn_end_message(c);
}

static void
mf_close(struct milterproto *mp)
{
	struct mconn *c = milterproto_priv(mp);

	if (c == NULL)
		return;
	milterproto_set_priv(mp, NULL);
	metrics_connection(METRICS_MILTER, false);
	mconn_end_message(c);
	/* Kept for the next connection this thread serves. */
	if (c->session != NULL && milterproto_spare(mp) == NULL) {
		session_restart(c->session);
		milterproto_set_spare(mp, c);
		return;
	}
	mconn_free(c);
}

static const struct milterproto_ops mfilter_ops = {
    .negotiate = mf_negotiate,
    .connect = mf_connect,
    .helo = mf_helo,
    .mail = mf_envfrom,
    .rcpt = mf_envrcpt,
    .header = mf_header,
    .eoh = mf_eoh,
    .body = mf_body,
    .eom = mf_eom,
    .abort = mf_abort,
    .close = mf_close,
    .discard = mconn_discard,
};

/* ---- the front end ---- */

/* How long a stop waits for the messages in flight. */
#define MFILTER_DRAIN_SECONDS 60

/* Written by mfront_open() before any thread starts, then only by the
 * main thread. */
static char *mfilter_socket;
static struct milterconn *mfilter_conn;
static bool mfilter_started;

/* The socket's directory is there; an inet socket's host resolves. */
static int
mfront_preflight(const struct policy_config *cfg, struct auth_error *err)
{
	const char *path = daemon_unix_path(cfg->socket), *host = strchr(cfg->socket, '@');
	char what[160];

	snprintf(what, sizeof(what), "socket %s", cfg->socket);
	if (path != NULL)
		return preflight_parent_dir(what, path, err);
	return host != NULL ? preflight_host(what, host + 1, err) : 0;
}

static int
mfront_open(const struct policy_config *cfg, struct auth_error *err)
{
	if (daemon_check_socket(cfg->socket, err) < 0)
		return -1;
	if ((mfilter_socket = strdup(cfg->socket)) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if ((mfilter_conn = milterconn_open(cfg->socket, err)) == NULL)
		return -1;
	return daemon_socket_perms(cfg->socket, cfg->user, cfg->group, err);
}

static int
mfront_start(struct auth_error *err)
{
	if (milterconn_start(mfilter_conn, &mfilter_ops, err) < 0)
		return -1;
	mfilter_started = true;
	return 0;
}

static void
mfront_reloaded(const struct policy_config *old, const struct policy_config *cfg)
{
	if (strcmp(old->socket, cfg->socket) != 0)
		log_msg(LOG_L_NOTICE, "a socket change takes effect at the next start");
}

/* New connections are still served meanwhile, so the MTA's view stays
 * consistent; the connections are dropped once stopped. */
static unsigned long
mfront_drain(void)
{
	return mfilter_wait_quiet(MFILTER_DRAIN_SECONDS);
}

static int
mfront_finish(void)
{
	if (mfilter_started)
		milterconn_stop(mfilter_conn);
	mfilter_started = false;
	return 0;
}

static void
mfront_cleanup(void)
{
	milterconn_free(mfilter_conn);
	mfilter_conn = NULL;
	if (mfilter_socket != NULL)
		daemon_remove_socket(mfilter_socket);
	free(mfilter_socket);
	mfilter_socket = NULL;
}

static void
mfront_describe(const struct policy_config *cfg, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%s", cfg->socket);
}

const struct server_frontend mfilter_frontend = {
    .name = "milter",
    .open = mfront_open,
    .start = mfront_start,
    .reloaded = mfront_reloaded,
    .preflight = mfront_preflight,
    .drain = mfront_drain,
    .finish = mfront_finish,
    .cleanup = mfront_cleanup,
    .describe = mfront_describe,
};
