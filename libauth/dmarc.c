/*
 * dmarc - see dmarc.h.  Record parsing is in dmarc_record.c, record
 * discovery and Organizational Domains in dmarc_orgdomain.c.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "dmarc_int.h"

struct dmarc_ctx *
dmarc_ctx_new(struct dns_resolver *r, const struct dmarc_opts *opts, struct auth_error *err)
{
	struct dmarc_ctx *c;

	if (r == NULL || opts == NULL) {
		auth_error_set(err, AUTH_EINVAL, "dmarc: resolver and options are required");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "dmarc: out of memory");
		return NULL;
	}
	c->resolver = r;
	c->opts = *opts;
	c->opts.psl_file = NULL; /* not kept: the caller's string */
	if (opts->mode == DMARC_MODE_RFC7489) {
		const char *file = opts->psl_file != NULL ? opts->psl_file : DMARC_PSL_FILE;
		if ((c->psl = psl_load_file(file)) == NULL) {
			auth_error_set(err, AUTH_EIO,
			               "dmarc: cannot load the Public Suffix List %s", file);
			free(c);
			return NULL;
		}
	}
	return c;
}

void
dmarc_ctx_free(struct dmarc_ctx *c)
{
	if (c == NULL)
		return;
	psl_free(c->psl);
	free(c);
}

/* Organizational Domains already found during one evaluation, so that a
 * domain seen in several identifiers is walked once. */
#define ORG_MEMO_MAX 8

struct org_memo {
	size_t n;
	struct {
		char domain[DNS_NAME_MAX + 1];
		char org[DNS_NAME_MAX + 1];
		int status;
	} e[ORG_MEMO_MAX];
};

static int
org_lookup(struct dmarc_ctx *c, struct org_memo *m, const char *domain, char out[DNS_NAME_MAX + 1])
{
	size_t i;
	int st;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->e[i].domain, domain) == 0) {
			memcpy(out, m->e[i].org, DNS_NAME_MAX + 1);
			return m->e[i].status;
		}
	}
	st = dmarc_org_domain(c, domain, out);
	if (m->n < ORG_MEMO_MAX) {
		memcpy(m->e[m->n].domain, domain, strlen(domain) + 1);
		memcpy(m->e[m->n].org, out, DNS_NAME_MAX + 1);
		m->e[m->n].status = st;
		m->n++;
	}
	return st;
}

enum align {
	ALIGN_NO = 0,
	ALIGN_YES,
	ALIGN_TEMPFAIL,
};

/* Whether name is suffix itself or a name below it, label by label. */
static bool
below_or_at(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (k == 0 || k > n || strcmp(name + n - k, suffix) != 0)
		return false;
	return n == k || name[n - k - 1] == '.';
}

/* The last label of a normalized name. */
static const char *
last_label(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL ? dot + 1 : name;
}

/*
 * Whether the identifier name could have the Author Domain's
 * Organizational Domain at all.  An Organizational Domain is the name
 * itself or a parent of it (RFC 9989 §4.10.2), so name must be at or below
 * the Author Domain's; while that is unknown (its Tree Walk failed), the
 * two must at least share their top label.  Anything else is decided
 * without asking the DNS of a domain the sender may own: no answer there
 * could align it, so that look-up is not one "required to perform DMARC
 * validation" (§5.3.6), and its failure must not make the result
 * temperror.
 */
static bool
could_share_org(const struct dmarc_outcome *o, const char *name)
{
	if (o->org_domain[0] != '\0')
		return below_or_at(name, o->org_domain);
	return strcmp(last_label(name), last_label(o->from_domain)) == 0;
}

/*
 * Identifier alignment (RFC 9989 §4.4, RFC 7489 §3.1): strict needs the
 * same name; relaxed the same Organizational Domain.  o->org_domain is
 * the Author Domain's ("" when a temporary failure left it unknown).
 */
static enum align
aligned(struct dmarc_ctx *c, struct org_memo *m, const struct dmarc_outcome *o, const char *ident,
        char mode)
{
	char name[DNS_NAME_MAX + 1], org[DNS_NAME_MAX + 1];

	if (ident == NULL || dns_name_normalize(ident, name) < 0)
		return ALIGN_NO;
	if (strcmp(name, o->from_domain) == 0)
		return ALIGN_YES;
	if (mode == 's' || !could_share_org(o, name))
		return ALIGN_NO;
	if (o->org_domain[0] == '\0' || org_lookup(c, m, name, org) < 0)
		return ALIGN_TEMPFAIL;
	return strcmp(org, o->org_domain) == 0 ? ALIGN_YES : ALIGN_NO;
}

bool
dmarc_aligned(struct dmarc_ctx *c, const struct dmarc_outcome *o, const char *ident, bool spf)
{
	struct org_memo memo = {0};

	return aligned(c, &memo, o, ident, spf ? o->record.aspf : o->record.adkim) == ALIGN_YES;
}

/* Whether the identifier passed and aligned; *unknown is set when it
 * could align but that could not be known (a temporary failure in its
 * check or in finding its Organizational Domain). */
static bool
align_one(struct dmarc_ctx *c, struct org_memo *m, const struct dmarc_outcome *o, const char *ident,
          char mode, bool pass, bool temperror, bool *unknown)
{
	enum align a;

	if (!pass && !temperror)
		return false;
	a = aligned(c, m, o, ident, mode);
	if (pass && a == ALIGN_YES)
		return true;
	if (a != ALIGN_NO)
		*unknown = true;
	return false;
}

/*
 * RFC 9989 §4.4: DMARC passes when an aligned identifier passes.  §5.3.6:
 * "If one or more DNS queries required to perform DMARC validation on the
 * message do not complete due to temporary or permanent DNS errors, the
 * message cannot be considered to pass or fail the DMARC mechanism check."
 * So a result that a later attempt could turn into pass is temperror
 * ("A later attempt might produce a final result", §9.2), never fail, and
 * a failed look-up for an identifier that could align cannot get a
 * message rejected.
 */
static void
check_alignment(struct dmarc_ctx *c, const struct dmarc_auth_input *in, struct dmarc_outcome *o)
{
	struct org_memo memo = {0};
	bool unknown = false;
	size_t i;

	o->spf_aligned = align_one(c, &memo, o, in->spf_domain, o->record.aspf, in->spf_pass,
	                           in->spf_temperror, &unknown);
	for (i = 0; i < in->ndkim && !o->dkim_aligned; i++) {
		if (align_one(c, &memo, o, in->dkim[i].d, o->record.adkim, in->dkim[i].pass,
		              in->dkim[i].temperror, &unknown)) {
			o->dkim_aligned = true;
			dmarc_copy_name(o->dkim_domain, in->dkim[i].d);
		}
	}
	if (o->spf_aligned || o->dkim_aligned) {
		o->result = DMARC_RESULT_PASS;
	} else if (unknown) {
		o->result = DMARC_RESULT_TEMPERROR;
		o->reason = "temporary DNS failure checking an identifier that could align";
	} else {
		o->result = DMARC_RESULT_FAIL;
	}
}

/* RFC 9989: the first record the Tree Walk finds is the policy record;
 * the walk also gives the Author Domain's Organizational Domain. */
static void
discover_9989(struct dmarc_ctx *c, struct dmarc_outcome *o)
{
	struct dmarc_walk w;

	dmarc_tree_walk(c, o->from_domain, &w);
	if (w.policy_level < 0) {
		o->result = w.tempfail ? DMARC_RESULT_TEMPERROR : DMARC_RESULT_NONE;
		o->reason = w.tempfail ? "temporary DNS failure" : "no DMARC record";
		return;
	}
	o->have_record = true;
	o->record = w.policy;
	dmarc_copy_name(o->policy_domain, w.level[w.policy_level].domain);
	if (dmarc_walk_org_domain(&w, o->org_domain) < 0)
		o->org_domain[0] = '\0';
}

/* RFC 7489 §6.6.3: the Author Domain, then its Organizational Domain. */
static void
discover_7489(struct dmarc_ctx *c, struct dmarc_outcome *o)
{
	enum dmarc_fetch f;

	dmarc_psl_org_domain(c, o->from_domain, o->org_domain);
	f = dmarc_fetch_record(c, o->from_domain, &o->record);
	if (f == DMARC_FETCH_NONE && strcmp(o->org_domain, o->from_domain) != 0) {
		f = dmarc_fetch_record(c, o->org_domain, &o->record);
		if (f == DMARC_FETCH_ONE)
			dmarc_copy_name(o->policy_domain, o->org_domain);
	} else if (f == DMARC_FETCH_ONE) {
		dmarc_copy_name(o->policy_domain, o->from_domain);
	}
	switch (f) {
	case DMARC_FETCH_ONE:
		o->have_record = true;
		break;
	case DMARC_FETCH_MULTIPLE:
		o->reason = "multiple DMARC records";
		break;
	case DMARC_FETCH_TEMPFAIL:
		o->result = DMARC_RESULT_TEMPERROR;
		o->reason = "temporary DNS failure";
		break;
	case DMARC_FETCH_NONE:
		o->reason = "no DMARC record";
		break;
	}
}

/*
 * The requested policy: p= at the policy domain itself; below it np= for a
 * non-existent Author Domain (RFC 9989 only, asked only when it could
 * matter), else sp=, else p=.  A record RFC 7489 §6.6.3 step 6 lets through
 * without a valid p= or sp= counts as p=none, as does in RFC 9989 mode one
 * with an invalid sp= or np=.
 */
static void
requested_policy(struct dmarc_ctx *c, struct dmarc_outcome *o)
{
	const struct dmarc_record *r = &o->record;

	o->policy = r->p;
	o->policy_tag = DMARC_TAG_P;
	if (o->mode == DMARC_MODE_RFC7489 && !(r->p_valid && r->sp_valid)) {
		o->policy = DMARC_DISP_NONE;
		return;
	}
	/* RFC 9989 policy discovery: a record whose sp= or np= is not valid
	 * is acted on as if it said p=none, never by falling back to a
	 * stricter p= for the subdomains the broken tag meant to cover. */
	if (o->mode == DMARC_MODE_RFC9989 && !(r->sp_valid && r->np_valid)) {
		o->policy = DMARC_DISP_NONE;
		return;
	}
	if (strcmp(o->policy_domain, o->from_domain) == 0)
		return;
	if (o->mode == DMARC_MODE_RFC9989 && r->has_np && o->result == DMARC_RESULT_FAIL &&
	    dmarc_domain_nonexistent(c, o->from_domain)) {
		o->policy = r->np;
		o->policy_tag = DMARC_TAG_NP;
	} else if (r->has_sp) {
		o->policy = r->sp;
		o->policy_tag = DMARC_TAG_SP;
	}
}

static void
evaluate_domain(struct dmarc_ctx *c, const struct dmarc_auth_input *in, const char *domain,
                struct dmarc_outcome *o)
{
	if (dns_name_normalize(domain, o->from_domain) < 0) {
		dmarc_copy_name(o->from_domain, domain);
		o->result = DMARC_RESULT_PERMERROR;
		o->reason = "the Author Domain is not a domain name";
		return;
	}
	if (c->opts.mode == DMARC_MODE_RFC9989)
		discover_9989(c, o);
	else
		discover_7489(c, o);
	if (!o->have_record)
		return;
	if (!dmarc_record_usable(&o->record, o->mode)) {
		o->have_record = false;
		o->policy_domain[0] = '\0';
		o->reason = "DMARC record without a valid policy";
		return;
	}
	check_alignment(c, in, o);
	requested_policy(c, o);
}

static void
outcome_init(struct dmarc_outcome *o, enum dmarc_mode mode)
{
	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->result = DMARC_RESULT_NONE;
}

/* How severe a result is, to pick the strictest of several. */
static int
severity(const struct dmarc_outcome *o)
{
	static const int rank[] = {
	    [DMARC_RESULT_PASS] = 0,      [DMARC_RESULT_NONE] = 1, [DMARC_RESULT_PERMERROR] = 2,
	    [DMARC_RESULT_TEMPERROR] = 3, [DMARC_RESULT_FAIL] = 4,
	};

	return (int)o->disposition * 8 + rank[o->result];
}

/* Distinct domains of the From fields, in order. */
static size_t
distinct_domains(const struct msg_from *f, const char *out[MSG_FROM_MAX_DOMAINS])
{
	size_t i, j, n = 0;

	for (i = 0; i < f->ndomains && i < MSG_FROM_MAX_DOMAINS; i++) {
		for (j = 0; j < n && strcmp(out[j], f->domains[i]) != 0; j++)
			;
		if (j == n && f->domains[i][0] != '\0')
			out[n++] = f->domains[i];
	}
	return n;
}

/* Why the From fields name no single Author Domain, for A-R's reason. */
static const char *
irregular_reason(const struct msg_from *f, size_t n)
{
	switch (f != NULL ? f->status : MSG_FROM_NONE) {
	case MSG_FROM_NONE:
		return "no From field";
	case MSG_FROM_MULTIPLE_FIELDS:
		return "several From fields";
	case MSG_FROM_GROUP:
		return n == 0 ? "From is a group without mailboxes" : "From uses group syntax";
	case MSG_FROM_NO_DOMAIN:
		return "a From mailbox without a domain";
	case MSG_FROM_SYNTAX:
		return "From is not an address list";
	case MSG_FROM_OK:
	case MSG_FROM_MULTIPLE:
		break;
	}
	return n == 0 ? "no Author Domain" : "several Author Domains";
}

/* The From fields name no single Author Domain: apply the configured rule
 * (enum dmarc_from_rule in dmarc.h says why the default is what it is).
 * More domains than msg_from lists cannot all be evaluated, and the
 * strictest of those listed could be laxer than an unlisted one's, so
 * that message is refused as the reject rule would. */
static int
evaluate_irregular(struct dmarc_ctx *c, const struct dmarc_auth_input *in,
                   const struct dmarc_local_policy *lp, const char **domains, size_t n,
                   struct dmarc_outcome *out)
{
	bool unlisted = in->from != NULL && in->from->truncated;
	struct dmarc_outcome *one;
	size_t i;

	/* Not even the ignore rule lets through what could not be read
	 * whole: an unread part could name the very domain that rejects. */
	if (c->opts.from_rule == DMARC_FROM_IGNORE && !unlisted) {
		out->reason = "no single Author Domain";
		return 0;
	}
	if (c->opts.from_rule == DMARC_FROM_REJECT || n == 0 || unlisted) {
		out->result = DMARC_RESULT_PERMERROR;
		out->reason = unlisted ? "more Author Domains than can be evaluated"
		                       : irregular_reason(in->from, n);
		out->from_rejected = c->opts.from_rule == DMARC_FROM_REJECT || unlisted;
		if (n > 0)
			dmarc_copy_name(out->from_domain, domains[0]);
		dmarc_apply_policy(out, lp);
		return 0;
	}
	if ((one = malloc(sizeof(*one))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		outcome_init(one, c->opts.mode);
		evaluate_domain(c, in, domains[i], one);
		dmarc_apply_policy(one, lp);
		if (i == 0 || severity(one) > severity(out))
			*out = *one;
	}
	free(one);
	return 0;
}

int
dmarc_evaluate(struct dmarc_ctx *c, const struct dmarc_auth_input *in,
               const struct dmarc_local_policy *lp, struct dmarc_outcome *out,
               struct auth_error *err)
{
	const char *domains[MSG_FROM_MAX_DOMAINS];
	size_t n;

	outcome_init(out, c->opts.mode);
	n = in->from != NULL ? distinct_domains(in->from, domains) : 0;
	/* A single field whose mailboxes all share one domain is evaluated
	 * for that domain (RFC 7489 §6.6.1). */
	if (in->from != NULL && n == 1 && !in->from->truncated &&
	    (in->from->status == MSG_FROM_OK || in->from->status == MSG_FROM_MULTIPLE)) {
		evaluate_domain(c, in, domains[0], out);
		dmarc_apply_policy(out, lp);
		return 0;
	}
	if (evaluate_irregular(c, in, lp, domains, n, out) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "dmarc: out of memory");
	return 0;
}

static unsigned
default_random100(void *ctx)
{
	(void)ctx;
	return arc4random_uniform(100);
}

/* One step less: RFC 7489 §6.6.4's "next less intensive policy", which
 * RFC 9989 keeps for t=y (the successor of pct=0). */
static enum dmarc_disp
one_step_lower(enum dmarc_disp d)
{
	return d == DMARC_DISP_REJECT ? DMARC_DISP_QUARANTINE : DMARC_DISP_NONE;
}

void
dmarc_apply_policy(struct dmarc_outcome *o, const struct dmarc_local_policy *lp)
{
	enum dmarc_disp d = DMARC_DISP_NONE;
	enum dmarc_override why = DMARC_OVERRIDE_NONE;

	o->evaluated = o->policy;
	if (o->from_rejected) {
		/* The receiver's own rule, so its own cap still bounds it. */
		o->disposition = lp != NULL && lp->cap_set && lp->cap < DMARC_DISP_REJECT
		                     ? lp->cap
		                     : DMARC_DISP_REJECT;
		o->override = DMARC_OVERRIDE_LOCAL_POLICY;
		return;
	}
	if (o->result == DMARC_RESULT_FAIL)
		d = o->policy;
	if (d != DMARC_DISP_NONE && o->mode == DMARC_MODE_RFC9989 && o->record.testing) {
		d = one_step_lower(d);
		why = DMARC_OVERRIDE_TESTING;
	} else if (d != DMARC_DISP_NONE && o->mode == DMARC_MODE_RFC7489 && o->record.pct >= 0 &&
	           o->record.pct < 100) {
		unsigned r = lp != NULL && lp->random100 != NULL ? lp->random100(lp->random_ctx)
		                                                 : default_random100(NULL);
		if (r >= (unsigned)o->record.pct) {
			d = one_step_lower(d);
			why = DMARC_OVERRIDE_SAMPLED_OUT;
		}
	}
	if (why != DMARC_OVERRIDE_NONE)
		o->evaluated = d;
	if (lp != NULL && lp->trusted_forwarder && d != DMARC_DISP_NONE) {
		d = DMARC_DISP_NONE;
		why = DMARC_OVERRIDE_TRUSTED_FORWARDER;
	}
	if (lp != NULL && lp->cap_set && d > lp->cap) {
		d = lp->cap;
		why = DMARC_OVERRIDE_LOCAL_POLICY;
	}
	o->disposition = d;
	o->override = why;
}

const char *
dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RESULT_PASS:
		return "pass";
	case DMARC_RESULT_FAIL:
		return "fail";
	case DMARC_RESULT_TEMPERROR:
		return "temperror";
	case DMARC_RESULT_PERMERROR:
		return "permerror";
	case DMARC_RESULT_NONE:
		break;
	}
	return "none";
}

const char *
dmarc_disp_name(enum dmarc_disp d)
{
	switch (d) {
	case DMARC_DISP_QUARANTINE:
		return "quarantine";
	case DMARC_DISP_REJECT:
		return "reject";
	case DMARC_DISP_NONE:
		break;
	}
	return "none";
}

/* Words of RFC 7489 §7.2 / RFC 9990's PolicyOverrideType where they exist. */
const char *
dmarc_override_name(enum dmarc_override o)
{
	switch (o) {
	case DMARC_OVERRIDE_LOCAL_POLICY:
		return "local_policy";
	case DMARC_OVERRIDE_TESTING:
		return "policy_test_mode";
	case DMARC_OVERRIDE_SAMPLED_OUT:
		return "sampled_out";
	case DMARC_OVERRIDE_TRUSTED_FORWARDER:
		return "trusted_forwarder";
	case DMARC_OVERRIDE_NONE:
		break;
	}
	return "none";
}

const char *
dmarc_mode_name(enum dmarc_mode m)
{
	return m == DMARC_MODE_RFC7489 ? "rfc7489" : "rfc9989";
}
