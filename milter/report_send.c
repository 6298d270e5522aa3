/*
 * report_send - see report_send.h.
 */
#include "autoconf.h"

#include "report_send.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "dmarc.h"
#include "keyring.h"
#include "report_dest.h"
#include "report_mail.h"
#include "report_xml.h"
#include "signing.h"
#include "smtpc.h"

/* RFC 5321 §4.5.3.2 allows the server minutes per step; a report run has
 * time, but not forever. */
#define SEND_CONNECT_MS 30000
#define SEND_REPLY_MS 300000
#define SEND_DATA_MS 600000
#define SEND_MAX_PENDING 100000
#define SEND_SIGNERS_MAX 8

struct pending {
	char *unique_id, *policy_domain, *filename, *uri, *xml;
	int64_t begin, end, attempts;
};

struct pending_list {
	struct pending *v;
	size_t n, cap;
	bool oom;
};

struct sender {
	const struct policy_config *cfg;
	struct store *store;
	struct dns_resolver *resolver;
	struct dmarc_ctx *dmarc;
	struct signing_keys *keys;
	struct smtpc_target target;
	struct smtpc *conn;
	char from[REPORT_DEST_ADDR_MAX + 1];
	const char *from_domain;
	FILE *log;
	struct report_send_stats *st;
	size_t mails;
};

/* What became of one attempt. */
enum outcome { SENT, FAILED, DEFERRED };

static void
pending_free(struct pending_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].unique_id);
		free(l->v[i].policy_domain);
		free(l->v[i].filename);
		free(l->v[i].uri);
		free(l->v[i].xml);
	}
	free(l->v);
}

/* Copies each row: the sends that follow write to the store, which a
 * walk in progress must not see. */
static int
pending_cb(void *ctx, const struct store_pending *p)
{
	struct pending_list *l = ctx;
	struct pending *e;

	if (l->n == SEND_MAX_PENDING)
		return 1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pending *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return l->oom = true, -1;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n];
	*e = (struct pending){strdup(p->unique_id),
	                      strdup(p->policy_domain),
	                      strdup(p->filename),
	                      strdup(p->uri),
	                      strdup(p->xml),
	                      p->begin,
	                      p->end,
	                      p->attempts};
	l->n++;
	if (!e->unique_id || !e->policy_domain || !e->filename || !e->uri || !e->xml)
		return l->oom = true, -1;
	return 0;
}

static void note(struct sender *sd, const struct pending *p, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
note(struct sender *sd, const struct pending *p, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(sd->log, "%s %s %s: ", what, p->unique_id, p->uri);
	va_start(ap, fmt);
	vfprintf(sd->log, fmt, ap);
	va_end(ap);
	fputc('\n', sd->log);
	fflush(sd->log);
}

/* Records the attempt.  A destination deferred too often is given up. */
static int
finish(struct sender *sd, const struct pending *p, enum outcome o, const char *why,
       struct auth_error *err)
{
	static const char *const names[] = {"sent", "failed", "deferred"};
	enum store_dest_state state = o == SENT ? STORE_DEST_SENT : STORE_DEST_FAILED;
	char gaveup[600];

	if (o == DEFERRED && p->attempts + 1 < REPORT_SEND_ATTEMPTS) {
		state = STORE_DEST_PENDING;
	} else if (o == DEFERRED) {
		snprintf(gaveup, sizeof(gaveup), "given up after %d attempts: %s",
		         REPORT_SEND_ATTEMPTS, why);
		why = gaveup;
		o = FAILED;
	}
	note(sd, p, names[o], "%s", why != NULL ? why : "ok");
	if (o == SENT)
		sd->st->sent++;
	else if (o == FAILED)
		sd->st->failed++;
	else
		sd->st->deferred++;
	return store_destination_done(sd->store, p->unique_id, p->uri, state, why, time(NULL), err);
}

/* The report mail for one destination, signed, as it goes on the wire. */
static int
build_mail(struct sender *sd, const struct pending *p, const char *to, struct buf *wire,
           struct auth_error *err)
{
	struct verdict_header sigs[SEND_SIGNERS_MAX];
	struct msg_headers *h = msg_headers_new();
	struct arena *a = arena_new(1u << 20);
	struct signing *sg = NULL;
	struct buf gz, body;
	size_t i, nsig = 0;
	int rc = -1;

	buf_init(&gz, REPORT_XML_MAX);
	buf_init(&body, REPORT_XML_MAX);
	if (h == NULL || a == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		goto done;
	}
	struct report_mail m = {sd->from,
	                        to,
	                        p->policy_domain,
	                        config_report_domain(sd->cfg),
	                        sd->cfg->report_org_name != NULL ? sd->cfg->report_org_name
	                                                         : config_report_domain(sd->cfg),
	                        p->unique_id,
	                        p->filename,
	                        p->begin,
	                        p->end,
	                        time(NULL),
	                        NULL,
	                        0};
	if (report_gzip(p->xml, strlen(p->xml), &gz) < 0) {
		auth_error_set(err, AUTH_ENOMEM, "cannot compress the report");
		goto done;
	}
	m.gz = gz.data;
	m.gz_len = gz.len;
	if (report_mail_build(&m, h, &body, err) < 0 ||
	    (sg = signing_start(sd->keys, sd->from_domain, err)) == NULL)
		goto done;
	signing_body(sg, body.data, body.len);
	if (signing_count(sg) > SEND_SIGNERS_MAX) {
		auth_error_set(err, AUTH_ELIMIT, "more than %d dkim_sign entries for %s",
		               SEND_SIGNERS_MAX, sd->from_domain);
		goto done;
	}
	if (signing_finish(sg, h, a, sigs, &nsig, err) < 0)
		goto done;
	for (i = 0; i < nsig; i++)
		if (buf_printf(wire, "%s:%s\r\n", sigs[i].name, sigs[i].value) < 0)
			goto oom;
	for (i = 0; i < msg_headers_count(h); i++) {
		const struct msg_field *f = msg_headers_get(h, i);
		if (buf_append(wire, f->raw, f->raw_len) < 0 || buf_puts(wire, "\r\n") < 0)
			goto oom;
	}
	if (buf_puts(wire, "\r\n") < 0 || buf_append(wire, body.data, body.len) < 0)
		goto oom;
	rc = 0;
	goto done;
oom:
	auth_error_set(err, AUTH_ENOMEM, "the report mail is too large");
done:
	signing_free(sg);
	msg_headers_free(h);
	arena_free(a);
	buf_free(&gz);
	buf_free(&body);
	return rc;
}

static void
sender_drop(struct sender *sd)
{
	smtpc_drop(sd->conn);
	sd->conn = NULL;
}

/* Ends a refused transaction; a connection that cannot is dropped. */
static void
sender_reset(struct sender *sd)
{
	struct smtpc_reply r;
	struct auth_error err;

	if (smtpc_rset(sd->conn, &r, &err) < 0 || r.code != 250)
		sender_drop(sd);
}

/* A reply's outcome for the destination; why gets the reply. */
static enum outcome
reply_outcome(const char *step, const struct smtpc_reply *r, char *why, size_t len)
{
	snprintf(why, len, "%s: %d %s", step, r->code, r->text);
	return r->code >= 200 && r->code < 300 ? SENT : r->code >= 500 ? FAILED : DEFERRED;
}

/* One SMTP transaction.  Trouble with the server itself (unreachable, a
 * refused greeting or sender) defers: the destination is not to blame. */
static enum outcome
transact(struct sender *sd, const char *rcpt, const struct buf *wire, char *why, size_t len)
{
	struct smtpc_opts o = {config_report_domain(sd->cfg), SEND_CONNECT_MS, SEND_REPLY_MS,
	                       SEND_DATA_MS, sd->cfg->report_starttls};
	struct smtpc_piece piece = {wire->data, wire->len};
	struct smtpc_reply r = {0};
	struct auth_error err;
	enum outcome out;

	if (sd->conn == NULL && (sd->conn = smtpc_open(&sd->target, &o, &r, &err)) == NULL) {
		if (r.code != 0)
			snprintf(why, len, "the SMTP server refused us: %d %s", r.code, r.text);
		else
			snprintf(why, len, "the SMTP server cannot be reached: %s", err.msg);
		return DEFERRED;
	}
	if (smtpc_mail(sd->conn, sd->from, wire->len, false, &r, &err) < 0)
		goto broken;
	if (r.code < 200 || r.code >= 300) {
		reply_outcome("MAIL FROM", &r, why, len);
		sender_reset(sd);
		return DEFERRED;
	}
	if (smtpc_rcpt(sd->conn, rcpt, &r, &err) < 0)
		goto broken;
	if ((out = reply_outcome("RCPT TO", &r, why, len)) != SENT) {
		sender_reset(sd);
		return out;
	}
	if (smtpc_data(sd->conn, &piece, 1, &r, 1, &err) < 0)
		goto broken;
	return reply_outcome("DATA", &r, why, len);
broken:
	snprintf(why, len, "the SMTP connection failed: %s", err.msg);
	sender_drop(sd);
	return DEFERRED;
}

/* May this report go to d at all? DEFERRED/FAILED with why, or SENT. */
static enum outcome
destination_ok(struct sender *sd, const struct pending *p, const struct report_dest *d,
               const char **why, struct auth_error *err)
{
	enum report_dest_auth auth;

	if (config_report_suppressed(sd->cfg, p->policy_domain, d->addr, d->domain))
		return *why = "suppressed by report_suppress", FAILED;
	if (report_dest_authorized(sd->dmarc, sd->resolver, p->policy_domain, d->domain, &auth,
	                           why) < 0) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return *why = "out of memory", DEFERRED;
	}
	return auth == REPORT_DEST_ALLOWED ? SENT : auth == REPORT_DEST_REFUSED ? FAILED : DEFERRED;
}

static int
send_one(struct sender *sd, const struct pending *p, struct auth_error *err)
{
	struct report_dest d;
	const char *why = NULL;
	char text[SMTPC_TEXT_MAX + 64];
	enum outcome o;
	struct buf wire;
	int rc;

	if (report_dest_parse(p->uri, &d, &why) < 0)
		return finish(sd, p, FAILED, why, err);
	if ((o = destination_ok(sd, p, &d, &why, err)) != SENT)
		return finish(sd, p, o, why, err);
	buf_init(&wire, REPORT_XML_MAX);
	if (build_mail(sd, p, d.addr, &wire, err) < 0) {
		buf_free(&wire);
		return -1;
	}
	if (d.max_bytes != 0 && wire.len > d.max_bytes) {
		snprintf(text, sizeof(text), "the mail (%zu bytes) is over the destination's limit",
		         wire.len);
		o = FAILED;
	} else {
		o = transact(sd, d.addr, &wire, text, sizeof(text));
		sd->mails++;
	}
	buf_free(&wire);
	rc = finish(sd, p, o, o == SENT ? NULL : text, err);
	return rc;
}

/* smtpc's "smtp:HOST:PORT" from report_smtp's HOST[:PORT]. */
static int
sender_target(struct sender *sd, struct auth_error *err)
{
	const char *v = sd->cfg->report_smtp;
	const char *end = v[0] == '[' ? strchr(v, ']') : v;
	char spec[400], msg[256];

	snprintf(spec, sizeof(spec), "smtp:%s%s", v,
	         end != NULL && strchr(end, ':') != NULL ? "" : ":25");
	if (smtpc_target_parse(spec, &sd->target, msg, sizeof(msg)) < 0)
		return auth_error_set(err, AUTH_EINVAL, "report_smtp: %s", msg);
	return 0;
}

static int
sender_keys(struct sender *sd, struct auth_error *err)
{
	struct keyring *kr = keyring_new();
	int rc = -1;

	if (kr == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if (keyring_load_domain(kr, sd->cfg, sd->from_domain, err) == 0 &&
	    (sd->keys = signing_keys_domain(sd->cfg, kr, sd->from_domain, err)) != NULL)
		rc = 0;
	keyring_free(kr);
	return rc;
}

static int
sender_init(struct sender *sd, struct auth_error *err)
{
	struct dmarc_opts dopts = {0};
	struct signing *probe;
	const char *at;

	config_report_email(sd->cfg, sd->from, sizeof(sd->from));
	if ((at = strrchr(sd->from, '@')) == NULL || at[1] == '\0')
		return auth_error_set(err, AUTH_EINVAL, "report_email %s has no domain", sd->from);
	sd->from_domain = at + 1;
	if (sender_target(sd, err) < 0 || sender_keys(sd, err) < 0)
		return -1;
	/* RFC 9990: the report mail must itself pass DMARC. */
	if ((probe = signing_start(sd->keys, sd->from_domain, err)) == NULL)
		return err->code != 0 ? -1
		                      : auth_error_set(err, AUTH_EINVAL,
		                                       "no dkim_sign entry for %s (report_email): "
		                                       "report mail would not pass DMARC",
		                                       sd->from_domain);
	signing_free(probe);
	dopts.mode =
	    sd->cfg->dmarc_mode == CONFIG_DMARC_RFC7489 ? DMARC_MODE_RFC7489 : DMARC_MODE_RFC9989;
	if ((sd->dmarc = dmarc_ctx_new(sd->resolver, &dopts, err)) == NULL)
		return -1;
	return 0;
}

int
report_send(const struct policy_config *cfg, struct store *s, struct dns_resolver *r, FILE *log,
            struct report_send_stats *stats, struct auth_error *err)
{
	struct sender sd = {.cfg = cfg, .store = s, .resolver = r, .log = log, .st = stats};
	struct pending_list l = {0};
	size_t i;
	int rc = -1;

	memset(stats, 0, sizeof(*stats));
	auth_error_clear(err);
	if (sender_init(&sd, err) < 0) {
		if (err->code != AUTH_ENOMEM)
			err->code = AUTH_EINVAL;
		goto done;
	}
	if (store_each_pending(s, pending_cb, &l, err) < 0 || l.oom) {
		if (l.oom)
			auth_error_set(err, AUTH_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < l.n; i++) {
		if (sd.mails >= cfg->report_send_limit) {
			stats->left = l.n - i;
			break;
		}
		if (send_one(&sd, &l.v[i], err) < 0)
			goto done;
	}
	rc = 0;
done:
	smtpc_close(sd.conn);
	dmarc_ctx_free(sd.dmarc);
	signing_keys_free(sd.keys);
	pending_free(&l);
	return rc;
}
