/*
 * session - see session.h.
 *
 * Connection state (client, HELO, authentication) lives in the struct and
 * survives session_reset(); everything of one transaction lives in the
 * arena or in objects released by session_reset(), so an abort anywhere
 * leaves nothing behind.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "authres.h"
#include "config.h"
#include "dkim.h"
#include "dkim_keycache.h"
#include "dmarc.h"
#include "msg.h"
#include "session.h"
#include "spf.h"
#include "verdict.h"

/* Per-message memory for verdict texts and envelope copies. */
#define SESSION_ARENA_MAX (1024u * 1024)
/* Parsed DKIM keys kept: the selectors of the busiest signers fit. */
#define SESSION_KEY_CACHE_ENTRIES 256

struct session_engines {
	struct dns_resolver *resolver; /* the caller's */
	struct dmarc_ctx *dmarc;
	struct dkim_keycache *keys; /* parsed DKIM keys, shared by all sessions */
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
	char *mail_from;
	bool spf_done;
	struct spf_outcome spf;
	struct msg_headers *hdrs;
	struct dkim_verifier *dkim;
	struct msg_from from;
	bool dmarc_done;
	struct dmarc_outcome dmarc;
	unsigned ar_seen;
	size_t ndel;
	unsigned del[SESSION_MAX_DEL_HEADERS];
	bool del_overflow; /* more forged A-R fields than del[] holds */
	struct session_verdict verdict;
};

const char *
session_action_name(enum session_action action)
{
	switch (action) {
	case SESSION_REJECT:
		return "reject";
	case SESSION_TEMPFAIL:
		return "tempfail";
	case SESSION_QUARANTINE:
		return "quarantine";
	case SESSION_ACCEPT:
		break;
	}
	return "accept";
}

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
                    struct auth_error *err)
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
	if ((e->dmarc = dmarc_ctx_new(resolver, &dopts, err)) == NULL) {
		dkim_keycache_free(e->keys);
		free(e);
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
	free(e);
}

struct session *
session_new(const struct policy_config *cfg, struct session_engines *e, struct auth_error *err)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->arena = arena_new(SESSION_ARENA_MAX)) == NULL) {
		free(s);
		auth_error_set(err, AUTH_ENOMEM, "session: out of memory");
		return NULL;
	}
	s->cfg = cfg;
	s->e = e;
	return s;
}

void
session_reset(struct session *s)
{
	if (s->spf_done)
		spf_outcome_free(&s->spf);
	s->spf_done = false;
	msg_headers_free(s->hdrs);
	s->hdrs = NULL;
	dkim_verifier_free(s->dkim);
	s->dkim = NULL;
	s->dmarc_done = false;
	s->mail_from = NULL;
	s->ar_seen = 0;
	s->ndel = 0;
	s->del_overflow = false;
	memset(&s->verdict, 0, sizeof(s->verdict));
	arena_reset(s->arena);
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

static bool
session_exempt(const struct session *s)
{
	return s->trusted || (s->authenticated && s->cfg->skip_authenticated);
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
		return auth_error_set(err, AUTH_ENOMEM, "session: out of memory");
	free(s->helo);
	s->helo = copy;
	return 0;
}

void
session_set_authenticated(struct session *s, const char *authid)
{
	s->authenticated = authid != NULL && *authid != '\0';
}

/* The reverse-path without its angle brackets or a source route
 * (RFC 5321 §4.1.1.2 and appendix C: the route is ignored). */
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

int
session_mail_from(struct session *s, const char *addr, struct auth_error *err)
{
	struct spf_limits lim = {.timeout_ms = s->cfg->spf_timeout_ms};

	session_reset(s);
	if ((s->mail_from = session_path(s->arena, addr != NULL ? addr : "")) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "session: out of memory");
	if (session_exempt(s) || s->req.family == 0)
		return 0;
	s->req.helo = s->helo;
	s->req.mail_from = s->mail_from;
	s->req.receiver = s->cfg->authserv_id;
	if (spf_check_mailfrom(s->e->resolver, &lim, &s->req, &s->spf, err) < 0)
		return -1;
	s->spf_done = true;
	return 0;
}

int
session_rcpt(struct session *s, const char *addr, struct auth_error *err)
{
	/* Recipients do not change the evaluation; the call keeps the order
	 * of events explicit for the front ends. */
	(void)s;
	(void)addr;
	(void)err;
	return 0;
}

/* RFC 8601 §5: fields claiming our authserv-id are removed, except from
 * trusted hosts of our own ADMD, which may have added them.  A field the
 * deletion list has no room for would reach the mailbox as if we had
 * written it, so the message is then refused (verdict_build()). */
static void
session_note_authres(struct session *s, const char *value, size_t len)
{
	s->ar_seen++;
	if (s->trusted || s->del_overflow || !authres_claims(value, len, s->cfg->authserv_id))
		return;
	if (s->ndel < SESSION_MAX_DEL_HEADERS)
		s->del[s->ndel++] = s->ar_seen;
	else
		s->del_overflow = true;
}

/* The message's header fields, made with the configured limits on first use
 * (a message may have no field at all). */
static struct msg_headers *
session_headers(struct session *s, struct auth_error *err)
{
	struct msg_limits lim = {s->cfg->max_header_bytes, s->cfg->max_headers};

	if (s->hdrs == NULL && (s->hdrs = msg_headers_new(&lim)) == NULL)
		auth_error_set(err, AUTH_ENOMEM, "session: out of memory");
	return s->hdrs;
}

int
session_header(struct session *s, const char *name, size_t name_len, const char *value,
               size_t value_len, struct auth_error *err)
{
	if (session_headers(s, err) == NULL)
		return -1;
	if (name_len == sizeof(AUTHRES_FIELD) - 1 &&
	    strncasecmp(name, AUTHRES_FIELD, name_len) == 0)
		session_note_authres(s, value, value_len);
	return msg_headers_add(s->hdrs, name, name_len, value, value_len, err);
}

/* Starts the DMARC record look-up while the body is still on its way, so
 * that end of message finds it in the cache. */
static void
session_prefetch_dmarc(struct session *s)
{
	const struct dns_answer *a;
	char name[DNS_NAME_MAX + 8];

	if (s->from.status != MSG_FROM_OK)
		return;
	(void)snprintf(name, sizeof(name), "_dmarc.%s", s->from.domains[0]);
	if (dns_query(s->e->resolver, name, DNS_T_TXT, &a, NULL) == 0)
		dns_answer_release(a);
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
	};

	if (session_exempt(s))
		return 0;
	if (session_headers(s, err) == NULL)
		return -1;
	msg_from_extract(s->hdrs, &s->from);
	if ((s->dkim = dkim_verifier_new(s->e->resolver, &o, err)) == NULL)
		return -1;
	if (dkim_verifier_headers(s->dkim, s->hdrs, err) < 0)
		return -1;
	session_prefetch_dmarc(s);
	return 0;
}

int
session_body(struct session *s, const char *chunk, size_t len, struct auth_error *err)
{
	if (s->dkim == NULL)
		return 0;
	if (dkim_verifier_body(s->dkim, chunk, len) < 0)
		return auth_error_set(err, AUTH_EINVAL, "session: body before end of headers");
	return 0;
}

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

static int
session_dmarc(struct session *s, enum session_reason *cap_reason, struct auth_error *err)
{
	struct dmarc_dkim_input dk[64];
	struct dmarc_auth_input in = {.from = &s->from};
	struct dmarc_local_policy lp = {0};
	size_t i, n = dkim_verifier_count(s->dkim);

	for (i = 0; i < n && in.ndkim < sizeof(dk) / sizeof(dk[0]); i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(s->dkim, i);

		if (r->d[0] == '\0')
			continue;
		dk[in.ndkim].d = r->d;
		dk[in.ndkim].pass = r->result == DKIM_PASS;
		in.ndkim++;
	}
	in.dkim = dk;
	if (s->spf_done) {
		in.spf_pass = s->spf.result == SPF_PASS;
		in.spf_domain = s->spf.domain;
	}
	*cap_reason = SESSION_R_NONE;
	if (s->cfg->report_only || session_overridden(s)) {
		lp.cap_set = true;
		lp.cap = DMARC_DISP_NONE;
		*cap_reason = s->cfg->report_only ? SESSION_R_REPORT_ONLY : SESSION_R_OVERRIDE;
	}
	if (dmarc_evaluate(s->e->dmarc, &in, &lp, &s->dmarc, err) < 0)
		return -1;
	s->dmarc_done = true;
	return 0;
}

/* Deleting from the bottom keeps the indexes above valid. */
static void
session_order_deletions(struct session *s)
{
	size_t i;

	for (i = 0; i < s->ndel / 2; i++) {
		unsigned t = s->del[i];

		s->del[i] = s->del[s->ndel - 1 - i];
		s->del[s->ndel - 1 - i] = t;
	}
}

int
session_eom(struct session *s, const struct session_verdict **out, struct auth_error *err)
{
	struct verdict_input in = {0};

	*out = &s->verdict;
	session_order_deletions(s);
	if (session_exempt(s)) {
		verdict_exempt(&s->verdict, s->del, s->ndel, s->del_overflow);
		return 0;
	}
	if (s->dkim == NULL && session_eoh(s, err) < 0)
		return -1;
	if (dkim_verifier_finish(s->dkim, err) < 0 || session_dmarc(s, &in.cap_reason, err) < 0)
		return -1;
	in.cfg = s->cfg;
	in.client_ip = s->ip[0] ? s->ip : NULL;
	in.helo = s->helo;
	in.mail_from = s->mail_from;
	in.spf_req = s->spf_done ? &s->req : NULL;
	in.spf = s->spf_done ? &s->spf : NULL;
	in.dkim = s->dkim;
	in.dmarc = &s->dmarc;
	in.from = &s->from;
	in.del_index = s->del;
	in.ndel = s->ndel;
	in.del_overflow = s->del_overflow;
	return verdict_build(&in, s->arena, &s->verdict, err);
}

const struct session_verdict *
session_error_verdict(struct session *s)
{
	verdict_error(s->cfg, &s->verdict);
	return &s->verdict;
}
