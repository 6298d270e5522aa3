/*
 * mfilter - see mfilter.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <stdatomic.h>
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
	unsigned long proto;     /* the protocol flags the MTA agreed to */
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

static struct mconn *
mconn_get(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct auth_error err;

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_msg(LOG_L_ERROR, "out of memory for a new connection");
		return NULL;
	}
	c->ref = confref_acquire();
	c->session = session_new(confref_config(c->ref), confref_engines(c->ref), &err);
	if (c->session == NULL)
		log_msg(LOG_L_ERROR, "cannot start a session: %s", err.msg);
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		log_msg(LOG_L_ERROR, "cannot attach connection state");
		session_free(c->session);
		confref_release(c->ref);
		free(c);
		return NULL;
	}
	metrics_connection(METRICS_MILTER, true);
	return c;
}

/* What a callback returns for a step whose reply the MTA may not expect. */
static sfsistat
mconn_reply(const struct mconn *c, unsigned long nr_flag)
{
	return c != NULL && (c->proto & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
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
mconn_queue_id(SMFICTX *ctx, struct mconn *c)
{
	const char *id;

	if (c->queue_id[0] != '\0' || (id = smfi_getsymval(ctx, "{i}")) == NULL)
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

static sfsistat
mf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct mconn *c = mconn_get(ctx);

	(void)f2;
	(void)f3;
	if ((f0 & MFILTER_ACTIONS) != MFILTER_ACTIONS)
		log_msg(LOG_L_WARNING, "the MTA does not offer every action we use (offered 0x%lx)",
		        f0);
	*pf0 = f0 & MFILTER_ACTIONS;
	/* Without connection state every step must answer for itself. */
	*pf1 = f1 & (MFILTER_NO_STEPS | SMFIP_HDR_LEADSPC | (c != NULL ? MFILTER_NO_REPLY : 0));
	*pf2 = 0;
	*pf3 = 0;
	if (c != NULL)
		c->proto = *pf1;
	return SMFIS_CONTINUE;
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

static sfsistat
mf_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct mconn *c = mconn_get(ctx);
	struct auth_error err;
	const char *host = hostname;

	if (c == NULL)
		return SMFIS_CONTINUE;
	mf_client_text(hostaddr, c->client, sizeof(c->client));
	/* Postfix and Sendmail name a client without verified reverse DNS
	 * "unknown" or "[address]". */
	if (host != NULL && (host[0] == '[' || strcmp(host, "unknown") == 0))
		host = NULL;
	c->connected = true;
	if (mconn_live(c) &&
	    session_connect(c->session, c->client[0] ? c->client : NULL, host, &err) < 0)
		mconn_fail(c, "connect", &err);
	return mconn_reply(c, SMFIP_NR_CONN);
}

static sfsistat
mf_helo(SMFICTX *ctx, char *helo)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct auth_error err;

	if (mconn_live(c) && c->connected && session_helo(c->session, helo, &err) < 0)
		mconn_fail(c, "helo", &err);
	return mconn_reply(c, SMFIP_NR_HELO);
}

static sfsistat
mf_envfrom(SMFICTX *ctx, char **argv)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct auth_error err;
	const char *auth;

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->in_mail)
		mconn_end_message(c);
	mconn_begin_message(c);
	mconn_queue_id(ctx, c);
	if (!c->connected || argv == NULL || argv[0] == NULL) {
		c->failed = true;
		log_msg(LOG_L_WARNING, "MAIL without a connection or a sender");
		return mconn_reply(c, SMFIP_NR_MAIL);
	}
	auth = smfi_getsymval(ctx, "{auth_authen}");
	if (mconn_live(c) && auth != NULL && auth[0] != '\0')
		session_set_authenticated(c->session, auth);
	if (mconn_live(c) && session_mail_from(c->session, argv[0], &err) < 0)
		mconn_fail(c, "mail from", &err);
	return mconn_reply(c, SMFIP_NR_MAIL);
}

static sfsistat
mf_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct auth_error err;

	if (mconn_live(c) && c->in_mail && argv != NULL && argv[0] != NULL &&
	    session_rcpt(c->session, argv[0], &err) < 0)
		mconn_fail(c, "rcpt to", &err);
	return mconn_reply(c, SMFIP_NR_RCPT);
}

/* Fields are handed on even after a failure in this message: the session
 * still notes the forged Authentication-Results fields to delete. */
static sfsistat
mf_header(SMFICTX *ctx, char *name, char *value)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct auth_error err;
	char *spaced = NULL;
	size_t vlen;
	int rc;

	if (c == NULL || c->session == NULL || !c->in_mail || name == NULL || value == NULL)
		return mconn_reply(c, SMFIP_NR_HDR);
	vlen = strlen(value);
	/* Without SMFIP_HDR_LEADSPC the MTA dropped the space after the colon.
	 * Without the space the field's bytes differ from what was signed, so
	 * a failed copy fails the message rather than judge altered bytes. */
	if (!(c->proto & SMFIP_HDR_LEADSPC)) {
		if ((spaced = malloc(vlen + 2)) == NULL) {
			auth_error_set(&err, AUTH_ENOMEM, "out of memory");
			mconn_fail(c, "header", &err);
			return mconn_reply(c, SMFIP_NR_HDR);
		}
		spaced[0] = ' ';
		memcpy(spaced + 1, value, vlen + 1);
		value = spaced;
		vlen++;
	}
	rc = session_header(c->session, name, strlen(name), value, vlen, &err);
	free(spaced);
	if (rc < 0)
		mconn_fail(c, "header", &err);
	return mconn_reply(c, SMFIP_NR_HDR);
}

static sfsistat
mf_eoh(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct auth_error err;

	if (c != NULL)
		mconn_queue_id(ctx, c);
	if (mconn_live(c) && c->in_mail && session_eoh(c->session, &err) < 0)
		mconn_fail(c, "end of headers", &err);
	return mconn_reply(c, SMFIP_NR_EOH);
}

static sfsistat
mf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct auth_error err;

	if (mconn_live(c) && c->in_mail &&
	    session_body(c->session, (const char *)chunk, len, &err) < 0)
		mconn_fail(c, "body", &err);
	return mconn_reply(c, SMFIP_NR_BODY);
}

/* Copies text for smfi_setreply(): printable only, '%' doubled. */
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

static sfsistat
mf_reply(SMFICTX *ctx, const struct verdict *v, bool reject)
{
	char text[MFILTER_REPLY_MAX];
	struct server_reply r;

	server_reply(v, reject, &r);
	mf_reply_text(r.text, text, sizeof(text));
	if (smfi_setreply(ctx, r.code, (char *)r.dsn, text) != MI_SUCCESS)
		log_msg(LOG_L_WARNING, "the MTA refused the reply text; it answers with its own");
	return reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* A header value as the MTA wants it: line ends as LF (the MTA writes
 * them out as CRLF), and no leading space unless SMFIP_HDR_LEADSPC. */
static char *
mf_header_value(const struct mconn *c, const char *v)
{
	size_t len = strlen(v), i, n = 0;
	char *out;

	if (!(c->proto & SMFIP_HDR_LEADSPC) && v[0] == ' ') {
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

/* smfi_chgheader() counts fields of one name, so deletions go by nth. */
static void
mf_edit_headers(SMFICTX *ctx, const struct mconn *c, const struct verdict *v)
{
	size_t i;

	for (i = 0; i < v->ndel; i++)
		if (smfi_chgheader(ctx, "Authentication-Results", (int)v->del[i].nth, NULL) !=
		    MI_SUCCESS)
			log_msg(LOG_L_WARNING, "%s: could not delete Authentication-Results #%u",
			        c->queue_id, v->del[i].nth);
	/* Inserted at the top in reverse, so add[0] ends up first. */
	for (i = v->nadd; i-- > 0;) {
		char *value = mf_header_value(c, v->add[i].value);

		if (value == NULL ||
		    smfi_insheader(ctx, 0, (char *)v->add[i].name, value) != MI_SUCCESS)
			log_msg(LOG_L_WARNING, "%s: could not add %s", c->queue_id, v->add[i].name);
		free(value);
	}
}

static sfsistat
mf_act(SMFICTX *ctx, struct mconn *c, const struct verdict *v)
{
	const struct policy_config *cfg = confref_config(c->ref);

	log_summary(c->queue_id, c->client[0] ? c->client : NULL, v);
	metrics_message(METRICS_MILTER, v, c->eom_started);
	/* A deferred message comes again: recorded once, when it is final. */
	if (v->action != VERDICT_TEMPFAIL)
		recorder_append(c->queue_id, v->report);
	switch (v->action) {
	case VERDICT_REJECT:
		return mf_reply(ctx, v, true);
	case VERDICT_TEMPFAIL:
		return mf_reply(ctx, v, false);
	case VERDICT_QUARANTINE:
		mf_edit_headers(ctx, c, v);
		if (cfg->quarantine == CONFIG_QUARANTINE_HOLD &&
		    smfi_quarantine(ctx,
		                    (char *)(v->text[0] != '\0' ? v->text : "DMARC quarantine")) !=
		        MI_SUCCESS)
			log_msg(LOG_L_WARNING, "%s: the MTA refused to quarantine", c->queue_id);
		return SMFIS_CONTINUE;
	case VERDICT_ACCEPT:
		break;
	}
	mf_edit_headers(ctx, c, v);
	return SMFIS_CONTINUE;
}

/* With no session at all (out of memory), the config alone decides. */
static sfsistat
mf_no_session(SMFICTX *ctx, struct mconn *c, uint64_t started)
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
	return v.action == VERDICT_TEMPFAIL ? mf_reply(ctx, &v, false) : SMFIS_CONTINUE;
}

static sfsistat
mf_eom(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);
	const struct verdict *v = NULL;
	struct auth_error err;
	uint64_t started = metrics_clock();
	sfsistat rc;

	if (c == NULL || c->session == NULL) {
		rc = mf_no_session(ctx, c, started);
		if (c != NULL)
			mconn_end_message(c);
		return rc;
	}
	c->eom_started = started;
	mconn_queue_id(ctx, c);
	if (!c->in_mail)
		c->failed = true;
	if (!c->failed && session_eom(c->session, &v, &err) < 0)
		mconn_fail(c, "end of message", &err);
	if (c->failed || v == NULL)
		v = session_error_verdict(c->session);
	rc = mf_act(ctx, c, v);
	mconn_end_message(c);
	return rc;
}

static sfsistat
mf_abort(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c != NULL)
		mconn_end_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat
mf_close(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	metrics_connection(METRICS_MILTER, false);
	mconn_end_message(c);
	session_free(c->session);
	confref_release(c->ref);
	free(c);
	return SMFIS_CONTINUE;
}

int
mfilter_register(const char *name)
{
	struct smfiDesc desc;

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = (char *)name;
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = MFILTER_ACTIONS;
	desc.xxfi_connect = mf_connect;
	desc.xxfi_helo = mf_helo;
	desc.xxfi_envfrom = mf_envfrom;
	desc.xxfi_envrcpt = mf_envrcpt;
	desc.xxfi_header = mf_header;
	desc.xxfi_eoh = mf_eoh;
	desc.xxfi_body = mf_body;
	desc.xxfi_eom = mf_eom;
	desc.xxfi_abort = mf_abort;
	desc.xxfi_close = mf_close;
	desc.xxfi_negotiate = mf_negotiate;
	return smfi_register(desc);
}

/* ---- the front end ---- */

/* How long a stop waits for the messages in flight. */
#define MFILTER_DRAIN_SECONDS 60

/* Written by mfront_open() before any thread starts, then only read. */
static char *mfilter_socket;
static bool mfilter_socket_ours;
static pthread_t mfilter_tid;
static int mfilter_status = MI_SUCCESS;
/* Set by the milter thread once smfi_main() returned; stopping by
 * mfront_finish() before it asks libmilter to stop. */
static atomic_bool mfilter_done, mfilter_stopping;

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
	if (mfilter_register("authmilter") != MI_SUCCESS)
		return auth_error_set(err, AUTH_EINVAL, "smfi_register failed");
	if (daemon_check_socket(cfg->socket, err) < 0)
		return -1;
	if ((mfilter_socket = strdup(cfg->socket)) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	errno = 0;
	if (smfi_setconn(cfg->socket) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS)
		return auth_error_set(err, AUTH_EIO, "cannot open the socket %s: %s", cfg->socket,
		                      errno != 0 ? strerror(errno) : "libmilter gave no reason");
	mfilter_socket_ours = true;
	return daemon_socket_perms(cfg->socket, cfg->user, cfg->group, err);
}

static void *
mfront_thread(void *arg)
{
	(void)arg;
	mfilter_status = smfi_main();
	/* A stop asked before libmilter's listener ran makes it fail
	 * ("listenfd corrupted": the socket was closed under it); only a
	 * failure of its own is one. */
	if (atomic_load(&mfilter_stopping))
		mfilter_status = MI_SUCCESS;
	atomic_store(&mfilter_done, true);
	/* libmilter may have stopped on its own (a fatal error, or a signal
	 * its thread caught): the main thread must learn of it. */
	server_stop();
	return NULL;
}

static int
mfront_start(struct auth_error *err)
{
	int rc;

	if (daemon_wake_init(err) < 0)
		return -1;
	if ((rc = daemon_thread_create(&mfilter_tid, mfront_thread, NULL)) != 0)
		return auth_error_set(err, AUTH_EIO, "cannot start the milter thread: %s",
		                      strerror(rc));
	return 0;
}

static void
mfront_reloaded(const struct policy_config *old, const struct policy_config *cfg)
{
	if (strcmp(old->socket, cfg->socket) != 0)
		log_msg(LOG_L_NOTICE, "a socket change takes effect at the next start");
}

/* New connections are still served meanwhile, so the MTA's view stays
 * consistent; libmilter drops its connections once stopped. */
static unsigned long
mfront_drain(void)
{
	return mfilter_wait_quiet(MFILTER_DRAIN_SECONDS);
}

/* Wakes the milter thread until smfi_main() returned. */
static void *
mfront_waker(void *arg)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};

	(void)arg;
	while (!atomic_load(&mfilter_done)) {
		daemon_wake(mfilter_tid);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

/* libmilter's listener holds a lock across polls of up to 5 seconds
 * (MI_CHK_TIME) and looks at its stop flag only between them, and
 * smfi_stop() waits for that lock: a second thread ends the poll with a
 * signal meanwhile, again until the milter thread is out, in case one came
 * just before a poll began. */
static int
mfront_finish(void)
{
	pthread_t waker;
	bool waking;

	atomic_store(&mfilter_stopping, true);
	waking = pthread_create(&waker, NULL, mfront_waker, NULL) == 0;
	smfi_stop();
	pthread_join(mfilter_tid, NULL);
	if (waking)
		pthread_join(waker, NULL);
	return mfilter_status == MI_SUCCESS ? 0 : 1;
}

static void
mfront_cleanup(void)
{
	if (mfilter_socket != NULL && mfilter_socket_ours)
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
