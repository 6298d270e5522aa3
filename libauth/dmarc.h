/*
 * dmarc - DMARC evaluation: RFC 9989 by default, RFC 7489 on request.
 *
 * Given the Author Domain (msg.h's struct msg_from) and the SPF and DKIM
 * results other modules computed, dmarc_evaluate() discovers the DMARC
 * Policy Record through the resolver, checks identifier alignment and fills
 * a struct dmarc_outcome: the result, the policy the Domain Owner requested,
 * the disposition this receiver applies and why the two differ, and the
 * published record for aggregate reports.
 *
 * Modes:
 *   RFC 9989 (default): policy discovery and the Organizational Domain by
 *     the DNS Tree Walk (RFC 9989 §4.10: at most 8 queries per walk, psd=),
 *     np= for non-existent subdomains, t=y testing mode; pct, rf and ri are
 *     kept for reports but not acted on.
 *   RFC 7489: _dmarc.<author domain>, then _dmarc.<Organizational Domain>
 *     from the Public Suffix List (libpsl over Debian's publicsuffix data),
 *     sp=, pct= sampling.
 *
 * libopendmarc: the record parser, alignment and policy logic are our own,
 * and no libopendmarc function runs inside libauth (dmarc_record.c says why:
 * it mis-parses valid records).  Its thread safety decided the rest: a
 * policy context is per message, but opendmarc_policy_library_init() and
 * opendmarc_tld_read_file() fill process-wide state that every caller's
 * relaxed alignment (opendmarc_get_tld()) depends on, one list per process
 * whatever the context, and its rua/ruf fetch functions make DNS queries
 * past our resolver.  Using it would have meant serializing set-up and
 * reloads against every evaluation; not using it needs no lock at all.
 * tests/conformance/dmarc-opendmarc.c checks that our RFC 7489 mode agrees
 * with libopendmarc where libopendmarc follows the RFC; nothing else links
 * it.
 *
 * Ownership: a struct dmarc_ctx borrows the resolver (the caller frees it
 * after the context) and owns the loaded Public Suffix List.  Outcomes are
 * plain structs the caller owns.
 *
 * Thread safety: a context is read-only once made; dmarc_evaluate() may run
 * on many threads at once with one context.  The random source for pct
 * sampling must be thread-safe (the default, arc4random, is).
 */
#ifndef AUTH_DMARC_H
#define AUTH_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "error.h"
#include "msg.h"

enum dmarc_mode {
	DMARC_MODE_RFC9989 = 0,
	DMARC_MODE_RFC7489,
};

enum dmarc_result {
	DMARC_RESULT_NONE = 0,
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

/* A policy as published (p=, sp=, np=) or a disposition as applied. */
enum dmarc_disp {
	DMARC_DISP_NONE = 0,
	DMARC_DISP_QUARANTINE,
	DMARC_DISP_REJECT,
};

/* Why the applied disposition is weaker than the requested policy. */
enum dmarc_override {
	DMARC_OVERRIDE_NONE = 0,
	DMARC_OVERRIDE_LOCAL_POLICY,      /* the receiver's own cap, or a malformed From rule */
	DMARC_OVERRIDE_TESTING,           /* t=y (RFC 9989 §4.7) */
	DMARC_OVERRIDE_SAMPLED_OUT,       /* not selected by pct= (RFC 7489 §6.6.4) */
	DMARC_OVERRIDE_TRUSTED_FORWARDER, /* the caller trusts the forwarder */
};

/*
 * What to do when the From fields do not name exactly one Author Domain
 * (several From fields, several mailboxes with different domains, group
 * syntax, no From, no domain).  RFC 7489 §6.6.1 and RFC 9989 (the
 * receiver's "extract the Author Domain" step) leave such messages to local
 * policy, saying only that a single field whose addresses all share one
 * domain is evaluated for that domain.
 */
enum dmarc_from_rule {
	/* Default.  Evaluate every distinct domain and keep the strictest
	 * outcome; with no domain at all the result is permerror with no
	 * disposition.  Adding a second From or mailbox cannot then weaken
	 * what the real author's policy asks, which is the attack these
	 * forms are used for, and nothing is rejected only for its form. */
	DMARC_FROM_STRICTEST = 0,
	/* permerror and disposition reject, as many large receivers do. */
	DMARC_FROM_REJECT,
	/* result none: DMARC does not apply (the policy layer decides). */
	DMARC_FROM_IGNORE,
};

enum dmarc_psd {
	DMARC_PSD_U = 0, /* absent or psd=u */
	DMARC_PSD_Y,
	DMARC_PSD_N,
};

/* Which tag the requested policy came from. */
enum dmarc_policy_tag {
	DMARC_TAG_P = 0,
	DMARC_TAG_SP,
	DMARC_TAG_NP,
};

#define DMARC_MAX_URIS 8
#define DMARC_URI_MAX 256
/* DMARC records longer than this are not DMARC records we evaluate. */
#define DMARC_RECORD_MAX 4096
/* Queries per DNS Tree Walk (RFC 9989 §4.10). */
#define DMARC_TREE_WALK_MAX 8

/* A parsed DMARC record.  Absent tags hold their defaults and has_* says
 * whether they were published (reports show only what was published). */
struct dmarc_record {
	bool p_valid;  /* p= present with a valid value */
	bool sp_valid; /* sp= absent, or present with a valid value */
	bool np_valid; /* np= absent, or present with a valid value */
	enum dmarc_disp p;
	bool has_sp, has_np;
	enum dmarc_disp sp, np;
	char adkim, aspf; /* 'r' or 's' */
	int pct;          /* 0..100; -1 when absent or invalid */
	char fo[16];      /* as published when valid ("0:d"), else "" */
	enum dmarc_psd psd;
	bool testing; /* t=y */
	size_t nrua, nruf;
	char rua[DMARC_MAX_URIS][DMARC_URI_MAX];
	char ruf[DMARC_MAX_URIS][DMARC_URI_MAX];
};

/*
 * Parses one TXT record's text.  Returns 1 when it is a DMARC record
 * (starts with v=DMARC1, RFC 9989 §4.8) and fills *rec; 0 when it is not
 * a DMARC record.  Invalid values of known tags fall back to their
 * defaults and unknown tags are ignored (RFC 9989 §4.7, RFC 7489 §6.3).
 */
int dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec);

/* Whether a record with an invalid or missing p= is evaluated as p=none:
 * always in RFC 9989 mode (§4.7); in RFC 7489 mode only when rua= holds a
 * usable URI (RFC 7489 §6.6.3 step 6). */
bool dmarc_record_usable(const struct dmarc_record *rec, enum dmarc_mode mode);

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_mode mode;
	/* The Author Domain this outcome is for ("" when there was none). */
	char from_domain[DNS_NAME_MAX + 1];
	/* Where the policy record was found ("" when none was). */
	char policy_domain[DNS_NAME_MAX + 1];
	/* The Author Domain's Organizational Domain ("" when not known). */
	char org_domain[DNS_NAME_MAX + 1];
	bool have_record;
	struct dmarc_record record;
	enum dmarc_disp policy; /* requested, from policy_tag */
	enum dmarc_policy_tag policy_tag;
	/* The policy after the record's own options (sp=/np=, then pct=
	 * sampling or t=y for a failing message), before any local policy:
	 * what the registered A-R property policy.dmarc carries (RFC 7489
	 * §11.1: "Evaluated DMARC policy applied/to be applied after policy
	 * options including pct: and sp: have been processed"). */
	enum dmarc_disp evaluated;
	enum dmarc_disp disposition;
	enum dmarc_override override;
	bool spf_aligned, dkim_aligned;
	/* The d= of the first passing signature that aligned ("" when none). */
	char dkim_domain[DNS_NAME_MAX + 1];
	/* The From fields were rejected by DMARC_FROM_REJECT. */
	bool from_rejected;
	/* A short explanation for "none", "temperror" and "permerror"
	 * results (static text), or NULL. */
	const char *reason;
};

/*
 * The receiver's side of the disposition.  The policy layer fills it from
 * configuration and what it knows about the message; zeroed, it applies
 * what the Domain Owner asked for.
 */
struct dmarc_local_policy {
	/* Never apply more than this (DMARC_DISP_REJECT, or 0 with
	 * cap_set false, for no cap). */
	bool cap_set;
	enum dmarc_disp cap;
	/* The message came through a forwarder the receiver trusts: nothing
	 * is applied. */
	bool trusted_forwarder;
	/* pct= sampling in RFC 7489 mode: a uniform value in [0, 100).  NULL
	 * uses arc4random_uniform().  Tests make it deterministic. */
	unsigned (*random100)(void *ctx);
	void *random_ctx;
};

/*
 * Computes o->evaluated, o->disposition and o->override from o->result, o->policy and
 * the record's t=/pct= (by o->mode) and the local policy (NULL: none).
 * dmarc_evaluate() calls it; the policy layer may call it again on the
 * same outcome with other local settings.
 */
void dmarc_apply_policy(struct dmarc_outcome *o, const struct dmarc_local_policy *lp);

struct dmarc_opts {
	enum dmarc_mode mode;
	enum dmarc_from_rule from_rule;
	/* RFC 7489 mode: the Public Suffix List file; NULL for
	 * DMARC_PSL_FILE. */
	const char *psl_file;
};

#define DMARC_PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

struct dmarc_ctx;

struct dmarc_ctx *dmarc_ctx_new(struct dns_resolver *r, const struct dmarc_opts *opts,
                                struct auth_error *err);
void dmarc_ctx_free(struct dmarc_ctx *c);

/* What the SPF and DKIM modules found, as plain strings. */
struct dmarc_dkim_input {
	const char *d; /* the signature's d= domain */
	bool pass;
	bool temperror; /* a temporary DNS failure kept it from being checked */
};

struct dmarc_auth_input {
	const struct msg_from *from;
	bool spf_pass;
	bool spf_temperror;
	/* The MAIL FROM domain, or the HELO domain for the null sender;
	 * NULL when SPF was not evaluated. */
	const char *spf_domain;
	size_t ndkim;
	const struct dmarc_dkim_input *dkim;
};

/*
 * Evaluates DMARC for one message.  Returns 0 with *out filled (whatever
 * the result), or -1 with err set when out of memory.  lp may be NULL.
 *
 * A temporary failure counts only where it could change the answer for
 * the Author Domain.  An identifier that cannot share its Organizational
 * Domain (the Author Domain's, or when that is unknown, any common parent)
 * is judged not aligned without a look-up, so the DNS of an unrelated
 * domain can make the result neither temperror nor pass.  And an
 * identifier that could align but could not be checked (SPF or a DKIM
 * signature with a temporary error) makes a result that would be fail
 * temperror instead: a later attempt might pass.
 */
int dmarc_evaluate(struct dmarc_ctx *c, const struct dmarc_auth_input *in,
                   const struct dmarc_local_policy *lp, struct dmarc_outcome *out,
                   struct auth_error *err);

/*
 * Starts, in the background (dns_prefetch()), every look-up that finding
 * the policy of the Author Domain domain may need: the whole DNS Tree
 * Walk at once (RFC 9989), or the domain's and its Organizational
 * Domain's records (RFC 7489).  dmarc_evaluate() then finds them answered
 * or on their way.
 */
void dmarc_prefetch(struct dmarc_ctx *c, const char *domain);

/*
 * Whether ident (a DKIM d= when spf is false, an SPF domain when true)
 * aligns with the Author Domain of o under o's record (adkim=, aspf=), as
 * DMARC would judge it; false also when that cannot be known (a temporary
 * failure).  For identifiers DMARC itself did not see, such as those an
 * ARC sealer reports.
 */
bool dmarc_aligned(struct dmarc_ctx *c, const struct dmarc_outcome *o, const char *ident, bool spf);

/*
 * The Organizational Domain of domain by the context's mode, into out.
 * Returns 0, or -1 on a temporary DNS failure (RFC 9989 mode only).
 */
int dmarc_org_domain(struct dmarc_ctx *c, const char *domain, char out[DNS_NAME_MAX + 1]);

const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_disp_name(enum dmarc_disp d);
const char *dmarc_override_name(enum dmarc_override o);
const char *dmarc_mode_name(enum dmarc_mode m);

#endif
