/*
 * session - see session.h.
 *
 * Connection state (client, HELO, authentication) lives in the struct and
 * survives session_reset(); everything of one transaction lives in the
 * arena or in objects released by session_reset(), so an abort anywhere
 * leaves nothing behind.
 *
 * The header block is judged from three collections, each filled as the
 * fields arrive (session_field()): the fields kept for DKIM within the
 * configured limits, every From field (real, or hidden behind a bare line
 * end where a lenient reader would see one), and the positions of the
 * Authentication-Results fields claiming our authserv-id.  The last keeps
 * going even after one of our own faults, so that forged fields are
 * deleted whatever happens.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arc.h"
#include "arena.h"
#include "authres.h"
#include "config.h"
#include "dkim.h"
#include "dkim_keycache.h"
#include "dmarc.h"
#include "msg.h"
#include "report_mail.h"
#include "session.h"
#include "signing.h"
#include "spf.h"
#include "verdict.h"

/* Per-message memory for verdict texts and envelope copies. */
#define SESSION_ARENA_MAX (1024u * 1024)
/* Parsed DKIM keys kept: the selectors of the busiest signers fit. */
#define SESSION_KEY_CACHE_ENTRIES 256
/* From fields kept past max_headers and max_header_bytes: every one
 * matters to DMARC; past these the From counts as not kept whole. */
#define SESSION_FROM_RESERVE_FIELDS MSG_FROM_MAX_DOMAINS
#define SESSION_FROM_RESERVE_BYTES (64u * 1024)

struct session_engines {
	struct dns_resolver *resolver; /* the caller's */
	struct dmarc_ctx *dmarc;
	struct dkim_keycache *keys;   /* parsed DKIM keys, shared by all sessions */
	struct signing_keys *signing; /* our own signing and sealing keys */
};

struct session {
	const struct policy_config *cfg;
	struct session_engines *e;
	struct arena *arena;

	/* The connection. */
	char ip[INET6_ADDRSTRLEN];
	struct spf_request req; /* family 0 when the client address is unknown */
	char *helo;
	bool trusted, authenticated;

	/* The transaction. */
	bool failed; /* one of our own faults: only deletions are still noted */
	char *mail_from;
	char *rcpt_domain;
	bool spf_pending; /* MAIL FROM seen, SPF not evaluated yet */
	bool spf_done;
	struct spf_outcome spf;

	/* The header block. */
	struct msg_parser *parser; /* session_data()'s, made on first use */
	struct msg_headers *hdrs;  /* kept for DKIM */
	struct msg_headers *froms; /* every From field, hidden ones too */
	struct buf scratch;        /* session_header()'s field being built */
	unsigned nfields, nauthres, nsigs, narc;
	bool overflow;      /* some field was not kept in hdrs */
	bool from_overflow; /* some From field was not kept */
	bool report_mail;   /* its Subject reads as an aggregate report's */
	bool eoh_done;

	/* Authentication-Results fields to delete, in arrival order. */
	struct verdict_del *del;
	size_t ndel, del_cap;
	bool del_impossible; /* one cannot be deleted: refuse */
	bool del_lost;       /* one could not be noted (out of memory) */
	bool del_ordered;    /* del[] is bottom first */

	struct dkim_verifier *dkim;
	struct arc_verifier *arc; /* NULL when the chain was not checked */
	struct signing *sign;     /* mail we sign: NULL when we do not */
	struct msg_from from;
	bool dmarc_done;
	struct dmarc_outcome dmarc;
	enum verdict_reason cap_reason;
	bool decided;
	struct verdict verdict;
	struct report_record report;
};

static enum dmarc_from_rule
session_from_rule(enum config_from_policy p)
{
	switch (p) {
	case CONFIG_FROM_REJECT:
		return DMARC_FROM_REJECT;
	case CONFIG_FROM_NONE:
		return DMARC_FROM_IGNORE;
	case CONFIG_FROM_EVALUATE_ALL:
		break;
	}
	return DMARC_FROM_STRICTEST;
}

struct session_engines *
session_engines_new(const struct policy_config *cfg, struct dns_resolver *resolver,
                    const struct keyring *keyring, struct auth_error *err)
{
	struct dmarc_opts dopts = {0};
	struct session_engines *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "session: out of memory");
		return NULL;
	}
	dopts.mode =
	    cfg->dmarc_mode == CONFIG_DMARC_RFC7489 ? DMARC_MODE_RFC7489 : DMARC_MODE_RFC9989;
	dopts.from_rule = session_from_rule(cfg->from_policy);
	e->resolver = resolver;
	if ((e->keys = dkim_keycache_new(SESSION_KEY_CACHE_ENTRIES)) == NULL) {
		free(e);
		auth_error_set(err, AUTH_ENOMEM, "session: out of memory");
		return NULL;
	}
	if ((e->dmarc = dmarc_ctx_new(resolver, &dopts, err)) == NULL ||
	    (e->signing = signing_keys_new(cfg, keyring, err)) == NULL) {
		session_engines_free(e);
		return NULL;
	}
	return e;
}

void
session_engines_free(struct session_engines *e)
{
	if (e == NULL)
		return;
	dmarc_ctx_free(e->dmarc);
	dkim_keycache_free(e->keys);
	signing_keys_free(e->signing);
	free(e);
}

static int
session_oom(struct auth_error *err)
{
	return auth_error_set(err, AUTH_ENOMEM, "session: out of memory");
}

struct session *
session_new(const struct policy_config *cfg, struct session_engines *e, struct auth_error *err)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->arena = arena_new(SESSION_ARENA_MAX)) == NULL) {
		free(s);
		session_oom(err);
		return NULL;
	}
	s->cfg = cfg;
	s->e = e;
	buf_init(&s->scratch, SIZE_MAX / 4);
	return s;
}

void
session_reset(struct session *s)
{
	if (s->spf_done)
		spf_outcome_free(&s->spf);
	s->spf_done = s->spf_pending = false;
	msg_parser_free(s->parser);
	s->parser = NULL;
	msg_headers_free(s->hdrs);
	msg_headers_free(s->froms);
	s->hdrs = s->froms = NULL;
	buf_free(&s->scratch);
	s->nfields = s->nauthres = s->nsigs = s->narc = 0;
	s->overflow = s->from_overflow = s->eoh_done = s->report_mail = false;
	free(s->del);
	s->del = NULL;
	s->ndel = s->del_cap = 0;
	s->del_impossible = s->del_lost = s->del_ordered = false;
	dkim_verifier_free(s->dkim);
	s->dkim = NULL;
	arc_verifier_free(s->arc);
	s->arc = NULL;
	signing_free(s->sign);
	s->sign = NULL;
	s->dmarc_done = s->decided = s->failed = false;
	s->cap_reason = VERDICT_R_NONE;
	s->mail_from = s->rcpt_domain = NULL;
	memset(&s->verdict, 0, sizeof(s->verdict));
	memset(&s->report, 0, sizeof(s->report));
	arena_reset(s->arena);
}

void
session_restart(struct session *s)
{
	session_reset(s);
	free(s->helo);
	s->helo = NULL;
	s->ip[0] = '\0';
	memset(&s->req, 0, sizeof(s->req));
	s->trusted = s->authenticated = false;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	session_reset(s);
	arena_free(s->arena);
	free(s->helo);
	free(s);
}

/* Not checked at all: the message's own results are not ours to judge. */
static bool
session_exempt(const struct session *s)
{
	return s->trusted || (s->authenticated && s->cfg->skip_authenticated);
}

/* Mail of our own that may be signed: its header block is kept. */
static bool
session_may_sign(const struct session *s)
{
	return session_exempt(s) && signing_keys_sign(s->e->signing);
}

int
session_connect(struct session *s, const char *ip, const char *hostname, struct auth_error *err)
{
	(void)hostname;
	memset(&s->req, 0, sizeof(s->req));
	s->ip[0] = '\0';
	s->trusted = false;
	if (ip == NULL || *ip == '\0')
		return 0;
	if (inet_pton(AF_INET, ip, &s->req.ip.v4) == 1)
		s->req.family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &s->req.ip.v6) == 1)
		s->req.family = AF_INET6;
	else
		return auth_error_set(err, AUTH_EINVAL, "session: bad client address \"%.64s\"",
		                      ip);
	(void)snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->trusted = config_is_trusted(s->cfg, ip);
	return 0;
}

int
session_helo(struct session *s, const char *helo, struct auth_error *err)
{
	char *copy = strdup(helo != NULL ? helo : "");

	if (copy == NULL)
		return session_oom(err);
	free(s->helo);
	s->helo = copy;
	return 0;
}

void
session_set_authenticated(struct session *s, const char *authid)
{
	s->authenticated = authid != NULL && *authid != '\0';
}

/* The path without its angle brackets or a source route (RFC 5321
 * §4.1.1.2 and appendix C: the route is ignored). */
static char *
session_path(struct arena *a, const char *addr)
{
	size_t len = strlen(addr);
	const char *colon;

	while (len > 0 && (*addr == ' ' || *addr == '\t'))
		addr++, len--;
	while (len > 0 && (addr[len - 1] == ' ' || addr[len - 1] == '\t'))
		len--;
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	if (len > 0 && addr[0] == '@' && (colon = memchr(addr, ':', len)) != NULL) {
		len -= (size_t)(colon + 1 - addr);
		addr = colon + 1;
	}
	return arena_strndup(a, addr, len);
}

/*
 * SPF starts at MAIL FROM: the record of the MAIL FROM domain (or, for the
 * null sender, of the HELO domain: RFC 7208 §2.4) is asked for in the
 * background, and the evaluation runs at end of headers, after the DKIM
 * and DMARC look-ups have started too, so that a stalled server costs a
 * message one timeout rather than one per stage.
 */
int
session_mail_from(struct session *s, const char *addr, struct auth_error *err)
{
	const char *domain;

	session_reset(s);
	if ((s->mail_from = session_path(s->arena, addr != NULL ? addr : "")) == NULL)
		return session_oom(err);
	if (session_exempt(s) || s->req.family == 0)
		return 0;
	s->req.helo = s->helo;
	s->req.mail_from = s->mail_from;
	s->req.receiver = s->cfg->authserv_id;
	s->spf_pending = true;
	domain = strrchr(s->mail_from, '@');
	domain = domain != NULL ? domain + 1 : s->mail_from[0] ? s->mail_from : s->helo;
	if (domain != NULL)
		dns_prefetch(s->e->resolver, domain, DNS_T_TXT);
	return 0;
}

/* Evaluates SPF if MAIL FROM asked for it and it has not run yet. */
static int
session_run_spf(struct session *s, struct auth_error *err)
{
	struct spf_limits lim = {.timeout_ms = s->cfg->spf_timeout_ms};

	if (!s->spf_pending)
		return 0;
	s->spf_pending = false;
	if (spf_check_mailfrom(s->e->resolver, &lim, &s->req, &s->spf, err) < 0)
		return -1;
	s->spf_done = true;
	return 0;
}

/* The first recipient's domain, for the report (RFC 9990 envelope_to). */
int
session_rcpt(struct session *s, const char *addr, struct auth_error *err)
{
	const char *path, *at;

	if (s->rcpt_domain != NULL || addr == NULL)
		return 0;
	if ((path = session_path(s->arena, addr)) == NULL)
		return session_oom(err);
	at = strrchr(path, '@');
	if ((s->rcpt_domain = arena_strdup(s->arena, at != NULL ? at + 1 : "")) == NULL)
		return session_oom(err);
	return 0;
}

/* ---- the header block ---- */

/* Notes an Authentication-Results field to delete.  Past
 * VERDICT_MAX_DELETIONS the message is refused; without memory for the
 * note it is deferred (verdict_error()). */
static void
session_note_deletion(struct session *s, unsigned field)
{
	if (s->ndel >= VERDICT_MAX_DELETIONS) {
		s->del_impossible = true;
		return;
	}
	if (s->ndel == s->del_cap) {
		size_t cap = s->del_cap ? s->del_cap * 2 : 8;
		struct verdict_del *d = reallocarray(s->del, cap, sizeof(*d));

		if (d == NULL) {
			s->del_lost = true;
			return;
		}
		s->del = d;
		s->del_cap = cap;
	}
	s->del[s->ndel].field = field;
	s->del[s->ndel].nth = s->nauthres;
	s->ndel++;
}

/* RFC 8601 §5: fields claiming our authserv-id are removed, except from
 * trusted hosts of our own ADMD, which may have added them. */
static void
session_note_authres(struct session *s, const struct msg_field *f, unsigned field)
{
	size_t len;
	const char *v = msg_field_value(f, &len);

	s->nauthres++;
	if (!s->trusted && authres_claims(v, len, s->cfg->authserv_id))
		session_note_deletion(s, field);
}

/* Keeps one From field: past the reserve, the From is not kept whole. */
static int
session_keep_from(struct session *s, const struct msg_field *f, struct auth_error *err)
{
	if (s->froms == NULL && (s->froms = msg_headers_new()) == NULL)
		return session_oom(err);
	if (msg_headers_count(s->froms) >= SESSION_FROM_RESERVE_FIELDS ||
	    msg_headers_bytes(s->froms) + f->raw_len + 2 > SESSION_FROM_RESERVE_BYTES) {
		s->from_overflow = true;
		return 0;
	}
	return msg_headers_add_field(s->froms, f, err);
}

/*
 * What a lenient reader could take for a field of its own inside f: the
 * text after a bare CR, or after a line end not followed by WSP (which
 * only a milter value can hold).  A hidden From is one more From field; a
 * hidden Authentication-Results claiming our authserv-id cannot be
 * deleted, so the message is refused.
 */
static int
session_hidden_fields(struct session *s, const struct msg_field *f, struct auth_error *err)
{
	const char *p = f->raw, *end = f->raw + f->raw_len;

	while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		struct msg_field h = {0};

		p++;
		if (p < end && *p == '\n') {
			p++;
			if (p < end && (*p == ' ' || *p == '\t'))
				continue;
		}
		h.raw = p;
		h.raw_len = (size_t)(end - p);
		msg_field_scan(h.raw, h.raw_len, false, &h.name_len, &h.value_off);
		if (msg_field_is(&h, AUTHRES_FIELD)) {
			size_t len;
			const char *v = msg_field_value(&h, &len);

			if (authres_claims(v, len, s->cfg->authserv_id))
				s->del_impossible = true;
		} else if (msg_field_is(&h, "From") && session_keep_from(s, &h, err) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Whether one more field fits max_headers and max_header_bytes. */
static bool
session_fits(const struct session *s, const struct msg_field *f)
{
	size_t n = s->hdrs != NULL ? msg_headers_count(s->hdrs) : 0;
	size_t bytes = s->hdrs != NULL ? msg_headers_bytes(s->hdrs) : 0;

	return !f->truncated && n < s->cfg->max_headers &&
	       f->raw_len + 2 <= s->cfg->max_header_bytes - bytes;
}

/* Keeps f for DKIM when it fits; past the limits only the first
 * dkim_max_signatures DKIM-Signature fields, for the results to name them. */
static int
session_keep(struct session *s, const struct msg_field *f, struct auth_error *err)
{
	bool sig = msg_field_is(f, "DKIM-Signature");

	if (sig)
		s->nsigs++;
	if (msg_field_is(f, "ARC-Seal") || msg_field_is(f, "ARC-Message-Signature") ||
	    msg_field_is(f, "ARC-Authentication-Results"))
		s->narc++;
	if (!session_fits(s, f)) {
		s->overflow = true;
		if (!sig || s->nsigs > s->cfg->dkim_max_signatures)
			return 0;
	}
	if (s->hdrs == NULL && (s->hdrs = msg_headers_new()) == NULL)
		return session_oom(err);
	return msg_headers_add_field(s->hdrs, f, err);
}

/* One header field, from either front-end form. */
static int
session_field(struct session *s, const struct msg_field *f, struct auth_error *err)
{
	unsigned pos = s->nfields++;

	if (msg_field_is(f, AUTHRES_FIELD))
		session_note_authres(s, f, pos);
	if (s->failed || (s->trusted && !session_may_sign(s)))
		return 0;
	if (!s->trusted && session_hidden_fields(s, f, err) < 0)
		goto fail;
	if (session_exempt(s) && !session_may_sign(s))
		return 0;
	if (msg_field_is(f, "Subject")) {
		size_t len;
		const char *v = msg_field_value(f, &len);
		s->report_mail |= report_mail_is_report(v, len);
	}
	if (msg_field_is(f, "From")) {
		if (f->truncated)
			s->from_overflow = true;
		else if (session_keep_from(s, f, err) < 0)
			goto fail;
	}
	if (session_keep(s, f, err) < 0)
		goto fail;
	return 0;
fail:
	s->failed = true;
	return -1;
}

int
session_header(struct session *s, const char *name, size_t name_len, const char *value,
               size_t value_len, struct auth_error *err)
{
	struct msg_field f;
	size_t max = s->cfg->max_header_bytes;

	buf_reset(&s->scratch);
	if (buf_append(&s->scratch, name, name_len) < 0 || buf_putc(&s->scratch, ':') < 0 ||
	    msg_field_build_value(&s->scratch, value, value_len) < 0) {
		s->failed = true;
		return session_oom(err);
	}
	f.raw = s->scratch.data;
	f.raw_len = s->scratch.len;
	f.truncated = f.raw_len > max;
	if (f.truncated)
		f.raw_len = max;
	msg_field_name(name, name_len, &f.name_len, &f.value_off);
	return session_field(s, &f, err);
}

/* The parser's callbacks never stop it: after one of our faults the
 * fields must still be read for the deletions (session_data() reports the
 * fault). */
static int
session_cb_field(void *ctx, const struct msg_field *f, struct auth_error *err)
{
	(void)session_field(ctx, f, err);
	return 0;
}

static int
session_cb_eoh(void *ctx, struct auth_error *err)
{
	(void)session_eoh(ctx, err);
	return 0;
}

static int
session_cb_body(void *ctx, const char *p, size_t n, struct auth_error *err)
{
	(void)session_body(ctx, p, n, err);
	return 0;
}

static const struct msg_parser_ops session_parser_ops = {
    session_cb_field,
    session_cb_eoh,
    session_cb_body,
};

int
session_data(struct session *s, const char *chunk, size_t len, struct auth_error *err)
{
	bool failed = s->failed;

	if (s->parser == NULL && (s->parser = msg_parser_new(&session_parser_ops, s,
	                                                     s->cfg->max_header_bytes)) == NULL) {
		s->failed = true;
		return session_oom(err);
	}
	if (msg_parser_feed(s->parser, chunk, len, err) < 0)
		return -1;
	return s->failed && !failed ? -1 : 0;
}

/* Starts the DMARC look-ups of the Author Domain in the background, so
 * that they run while the DKIM keys are fetched and the body arrives.
 * Only for one domain: From fields naming several are mostly refused
 * without a look-up, and would multiply what a sender can make us ask. */
static void
session_prefetch_dmarc(struct session *s)
{
	if (s->from.ndomains == 1 && !s->from.truncated &&
	    (s->from.status == MSG_FROM_OK || s->from.status == MSG_FROM_MULTIPLE))
		dmarc_prefetch(s->e->dmarc, s->from.domains[0]);
}

/* The ARC chain, when the message has one (or we seal, which needs the
 * body hash it takes) and every field was kept: a chain checked over only
 * some of the fields could pass for a message its sealers never saw. */
static int
session_arc(struct session *s, struct auth_error *err)
{
	struct arc_verify_opts o = {
	    .min_rsa_bits = s->cfg->dkim_min_rsa_bits,
	    .key_cache = s->e->keys,
	    .seal_body_hash = signing_keys_seal(s->e->signing),
	};

	if ((s->narc == 0 && !o.seal_body_hash) || s->overflow)
		return 0;
	if ((s->arc = arc_verifier_new(s->e->resolver, &o, err)) == NULL)
		return -1;
	return arc_verifier_headers(s->arc, s->hdrs, err);
}

/*
 * Our own mail (trusted network, authenticated client) is signed rather
 * than checked, when a dkim_sign entry matches its one Author Domain and
 * every header field was kept (a signature over some of them would not
 * verify).
 */
static int
session_start_signing(struct session *s, struct auth_error *err)
{
	if (!session_may_sign(s) || s->overflow || s->froms == NULL)
		return 0;
	msg_from_extract(s->froms, &s->from);
	if (s->from.status != MSG_FROM_OK || s->from.truncated || s->from_overflow)
		return 0;
	s->sign = signing_start(s->e->signing, s->from.domains[0], err);
	if (s->sign == NULL && err->code != AUTH_OK) {
		s->failed = true;
		return -1;
	}
	return 0;
}

int
session_eoh(struct session *s, struct auth_error *err)
{
	struct dkim_verify_opts o = {
	    .max_signatures = s->cfg->dkim_max_signatures,
	    .allow_sha1 = s->cfg->dkim_allow_sha1,
	    .min_rsa_bits = s->cfg->dkim_min_rsa_bits,
	    .reject_partial_body = s->cfg->dkim_reject_partial_body,
	    .key_cache = s->e->keys,
	    .headers_incomplete = s->overflow,
	};
	if (s->eoh_done)
		return auth_error_set(err, AUTH_EINVAL, "session: end of headers twice");
	s->eoh_done = true;
	if (s->failed)
		return 0;
	if (session_exempt(s))
		return session_start_signing(s, err);
	if ((s->froms == NULL && (s->froms = msg_headers_new()) == NULL) ||
	    (s->hdrs == NULL && (s->hdrs = msg_headers_new()) == NULL))
		goto oom;
	msg_from_extract(s->froms, &s->from);
	if (s->from_overflow)
		s->from.truncated = true;
	/* DMARC's look-ups and DKIM's keys start before anything is waited
	 * for; SPF's record has been on its way since MAIL FROM. */
	session_prefetch_dmarc(s);
	if ((s->dkim = dkim_verifier_new(s->e->resolver, &o, err)) == NULL ||
	    dkim_verifier_headers(s->dkim, s->hdrs, err) < 0 || session_arc(s, err) < 0 ||
	    session_run_spf(s, err) < 0)
		goto fail;
	return 0;
oom:
	session_oom(err);
fail:
	s->failed = true;
	return -1;
}

int
session_body(struct session *s, const char *chunk, size_t len, struct auth_error *err)
{
	if (s->sign != NULL)
		signing_body(s->sign, chunk, len);
	if (s->failed || s->dkim == NULL)
		return 0;
	if (dkim_verifier_body(s->dkim, chunk, len) < 0 ||
	    (s->arc != NULL && arc_verifier_body(s->arc, chunk, len) < 0)) {
		s->failed = true;
		return auth_error_set(err, AUTH_EINVAL, "session: body before end of headers");
	}
	return 0;
}

/* ---- end of message ---- */

/* A never-reject override counts only when every Author Domain has one:
 * a second From address must not carry a forgery past the policy. */
static bool
session_overridden(const struct session *s)
{
	size_t i;

	if (s->from.ndomains == 0)
		return false;
	for (i = 0; i < s->from.ndomains; i++)
		if (!config_never_reject(s->cfg, s->from.domains[i]))
			return false;
	return true;
}

/* What a sealer's AAR says it saw, against our Author Domain. */
struct session_vouch {
	struct session *s;
	bool yes;
};

/* RFC 8617 §7.2 leaves trusting a sealer to local policy: a dmarc=pass
 * for our Author Domain, or a passing DKIM signature or SPF check that
 * aligns with it. */
static void
session_vouch_result(void *ctx, const struct authres_result_view *r)
{
	struct session_vouch *v = ctx;
	const struct dmarc_outcome *o = &v->s->dmarc;
	const char *p, *at;

	if (strcasecmp(r->result, "pass") != 0)
		return;
	if (strcasecmp(r->method, "dmarc") == 0)
		v->yes |= (p = authres_result_prop(r, "header", "from")) != NULL &&
		          strcasecmp(p, o->from_domain) == 0;
	else if (strcasecmp(r->method, "dkim") == 0)
		v->yes |= (p = authres_result_prop(r, "header", "d")) != NULL &&
		          dmarc_aligned(v->s->e->dmarc, o, p, false);
	else if (strcasecmp(r->method, "spf") == 0 &&
	         (p = authres_result_prop(r, "smtp", "mailfrom")) != NULL)
		v->yes |=
		    dmarc_aligned(v->s->e->dmarc, o, (at = strrchr(p, '@')) ? at + 1 : p, true);
}

/* A failing DMARC result lifted by a trusted forwarder: the chain passes,
 * its newest seal is from arc_trusted_sealers, and that sealer saw the
 * message authenticated for our Author Domain. */
static bool
session_trusted_forwarder(struct session *s)
{
	const struct arc_chain_result *r = s->arc != NULL ? arc_verifier_result(s->arc) : NULL;
	struct session_vouch v = {s, false};

	if (r == NULL || r->result != ARC_PASS || r->aar == NULL ||
	    !config_trusted_sealer(s->cfg, r->d))
		return false;
	(void)authres_parse(r->aar + r->aar_payload, r->aar_len - r->aar_payload,
	                    session_vouch_result, &v);
	return v.yes;
}

/* The DKIM results as DMARC takes them. */
static struct dmarc_dkim_input *
session_dkim_inputs(struct session *s, size_t *n)
{
	size_t i, count = dkim_verifier_count(s->dkim);
	struct dmarc_dkim_input *dk = arena_alloc(s->arena, (count + 1) * sizeof(*dk));

	*n = 0;
	if (dk == NULL)
		return NULL;
	for (i = 0; i < count; i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(s->dkim, i);

		if (r->d[0] == '\0')
			continue;
		dk[*n].d = r->d;
		dk[*n].pass = r->result == DKIM_PASS;
		dk[*n].temperror = r->result == DKIM_TEMPERROR;
		(*n)++;
	}
	return dk;
}

static int
session_dmarc(struct session *s, struct auth_error *err)
{
	struct dmarc_auth_input in = {.from = &s->from};
	struct dmarc_local_policy lp = {0};

	if ((in.dkim = session_dkim_inputs(s, &in.ndkim)) == NULL)
		return session_oom(err);
	if (s->spf_done) {
		in.spf_pass = s->spf.result == SPF_PASS;
		in.spf_temperror = s->spf.result == SPF_TEMPERROR;
		in.spf_domain = s->spf.domain;
	}
	if (s->cfg->report_only || session_overridden(s)) {
		lp.cap_set = true;
		lp.cap = DMARC_DISP_NONE;
		s->cap_reason = s->cfg->report_only ? VERDICT_R_REPORT_ONLY : VERDICT_R_OVERRIDE;
	}
	if (dmarc_evaluate(s->e->dmarc, &in, &lp, &s->dmarc, err) < 0)
		return -1;
	s->dmarc_done = true;
	if (s->dmarc.result == DMARC_RESULT_FAIL && session_trusted_forwarder(s)) {
		lp.trusted_forwarder = true;
		dmarc_apply_policy(&s->dmarc, &lp);
	}
	return 0;
}

/* Bottom first: deleting one then leaves the positions above it as they
 * were. */
static void
session_order_deletions(struct session *s)
{
	size_t i;

	if (s->del_ordered)
		return;
	s->del_ordered = true;
	for (i = 0; i < s->ndel / 2; i++) {
		struct verdict_del t = s->del[i];

		s->del[i] = s->del[s->ndel - 1 - i];
		s->del[s->ndel - 1 - i] = t;
	}
}

static void
session_input(const struct session *s, struct verdict_input *in)
{
	memset(in, 0, sizeof(*in));
	in->cfg = s->cfg;
	in->client_ip = s->ip[0] ? s->ip : NULL;
	in->helo = s->helo;
	in->mail_from = s->mail_from;
	in->rcpt_domain = s->rcpt_domain;
	in->spf_req = s->spf_done ? &s->req : NULL;
	in->spf = s->spf_done ? &s->spf : NULL;
	in->dkim = s->dmarc_done ? s->dkim : NULL;
	in->dmarc = s->dmarc_done ? &s->dmarc : NULL;
	in->arc = s->dmarc_done && s->arc != NULL ? arc_verifier_result(s->arc) : NULL;
	in->arc_over_limit = s->narc > 0 && s->overflow;
	in->cap_reason = s->cap_reason;
	in->del = s->del;
	in->ndel = s->ndel;
	in->del_impossible = s->del_impossible;
}

/* The header block has ended by now, whichever way it came. */
static int
session_finish_headers(struct session *s, struct auth_error *err)
{
	if (s->parser != NULL)
		return msg_parser_finish(s->parser, err);
	return s->eoh_done ? 0 : session_eoh(s, err);
}

/* Puts n fields above those the verdict adds already. */
static int
session_prepend(struct session *s, const struct verdict_header *h, size_t n)
{
	struct verdict *v = &s->verdict;
	struct verdict_header *list = arena_alloc(s->arena, (n + v->nadd) * sizeof(*list));

	if (list == NULL)
		return -1;
	memcpy(list, h, n * sizeof(*h));
	if (v->nadd > 0)
		memcpy(list + n, v->add, v->nadd * sizeof(*list));
	v->add = list;
	v->nadd += n;
	return 0;
}

static int
session_sign(struct session *s, struct auth_error *err)
{
	size_t n = 0, count = signing_count(s->sign);
	struct verdict_header *h;

	if (s->sign == NULL)
		return 0;
	if ((h = arena_alloc(s->arena, count * sizeof(*h))) == NULL ||
	    signing_finish(s->sign, s->hdrs, s->arena, h, &n, err) < 0 ||
	    session_prepend(s, h, n) < 0) {
		s->failed = true;
		return err->code != AUTH_OK ? -1 : session_oom(err);
	}
	s->verdict.dkim_summary = arena_printf(s->arena, "signed(%s)", s->from.domains[0]);
	if (s->verdict.dkim_summary == NULL)
		s->verdict.dkim_summary = "signed";
	/* The log line names the domain signed for, as it names the one
	 * checked for mail that is verified. */
	s->verdict.from_domain = s->from.domains[0];
	return 0;
}

/*
 * RFC 8617 §5.1: mail we pass on gets our ARC set over what we found,
 * ours the newest; rejected and deferred mail goes nowhere.  Sealing is
 * best effort: a seal we cannot add (our own already, the chain full, a
 * fault) leaves the message as the verdict has it, and says why.
 */
static void
session_seal(struct session *s)
{
	struct verdict *v = &s->verdict;
	struct verdict_header h[3];
	unsigned char bh[EVP_MAX_MD_SIZE];
	unsigned bhlen = 0;
	struct auth_error err;
	enum arc_seal_status st;

	if (s->arc == NULL || !signing_keys_seal(s->e->signing) ||
	    (v->action != VERDICT_ACCEPT && v->action != VERDICT_QUARANTINE) || v->nadd == 0 ||
	    arc_verifier_body_hash(s->arc, bh, &bhlen) < 0)
		return;
	st = signing_seal(s->e->signing, s->hdrs, bh, bhlen, v->add[0].value + 1,
	                  arc_verifier_result(s->arc), s->arena, h, &err);
	v->arc_seal = st == ARC_SEALED      ? "sealed"
	              : st == ARC_SEAL_OURS ? "ours"
	              : st == ARC_SEAL_FULL ? "full"
	                                    : "error";
	if (st == ARC_SEALED && session_prepend(s, h, 3) < 0)
		v->arc_seal = "error";
}

int
session_eom(struct session *s, const struct verdict **out, struct auth_error *err)
{
	struct verdict_input in;

	*out = &s->verdict;
	if (s->decided)
		return auth_error_set(err, AUTH_EINVAL, "session: end of message twice");
	if (s->failed)
		return auth_error_set(err, AUTH_EINVAL, "session: the message already failed");
	if (session_finish_headers(s, err) < 0)
		goto fail;
	session_order_deletions(s);
	if (!session_exempt(s) &&
	    (dkim_verifier_finish(s->dkim, err) < 0 ||
	     (s->arc != NULL && arc_verifier_finish(s->arc, err) < 0) || session_dmarc(s, err) < 0))
		goto fail;
	session_input(s, &in);
	s->decided = true;
	if (session_exempt(s)) {
		verdict_exempt(&in, &s->verdict);
		return session_sign(s, err);
	}
	verdict_decide(&in, &s->verdict);
	s->report.time = time(NULL);
	if (verdict_render(&in, &s->verdict, &s->report, s->arena) == 0)
		session_seal(s);
	/* RFC 9990: no reports about reports, or two reporters mail each
	 * other forever.  Only report mail that passed DMARC is left out, so
	 * a forger cannot hide from a domain's reports by the Subject alone. */
	if (s->report_mail && s->dmarc_done && s->dmarc.result == DMARC_RESULT_PASS)
		s->verdict.report = NULL;
	return 0;
fail:
	s->failed = true;
	return -1;
}

const struct spf_outcome *
session_spf(struct session *s, struct auth_error *err)
{
	if (session_run_spf(s, err) < 0)
		s->failed = true;
	return s->spf_done ? &s->spf : NULL;
}

int
session_json(struct session *s, struct buf *out)
{
	struct verdict_input in;

	session_input(s, &in);
	return verdict_json(&in, s->decided ? &s->verdict : NULL, out);
}

const struct verdict *
session_error_verdict(struct session *s)
{
	struct verdict_input in;

	session_order_deletions(s);
	session_input(s, &in);
	in.del_impossible = s->del_impossible || s->del_lost;
	verdict_error(&in, &s->verdict);
	s->decided = true;
	return &s->verdict;
}
