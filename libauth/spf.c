/*
 * spf - check_host() and the identities of RFC 7208 (see spf.h).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf_eval.h"

static int
spf_deadline_passed(const struct spf_eval *ev)
{
	struct timespec now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ev->deadline.tv_sec ||
	       (now.tv_sec == ev->deadline.tv_sec && now.tv_nsec >= ev->deadline.tv_nsec);
}

int
spf_eval_query(struct spf_eval *ev, const char *name, enum dns_type type,
               const struct dns_answer **a)
{
	/* §4.6.4: past the overall bound the evaluation is a temperror; an
	 * empty name (an expansion of nothing) cannot exist. */
	if (spf_deadline_passed(ev))
		*a = dns_answer_empty(DNS_TEMPFAIL, name, 0, "time limit exceeded");
	else if (name[0] == '\0')
		*a = dns_answer_empty(DNS_NXDOMAIN, name, 0, NULL);
	else if (dns_query(ev->r, name, type, a, ev->err) < 0)
		return -1;
	if (*a == NULL)
		return auth_error_set(ev->err, AUTH_ENOMEM, "out of memory");
	return 0;
}

enum spf_step
spf_eval_problem(struct spf_eval *ev, enum spf_step step, const char *fmt, ...)
{
	va_list ap;

	if (ev->out->problem[0] != '\0')
		return step;
	va_start(ap, fmt);
	/* The text is for people; truncating it is harmless. */
	(void)vsnprintf(ev->out->problem, sizeof(ev->out->problem), fmt, ap);
	va_end(ap);
	return step;
}

enum spf_step
spf_eval_count_term(struct spf_eval *ev)
{
	if (++ev->terms > ev->max_terms)
		return spf_eval_problem(ev, SPF_STEP_PERMERROR, "more than %u DNS-querying terms",
		                        ev->max_terms);
	return SPF_STEP_NOMATCH;
}

enum spf_step
spf_eval_count_void(struct spf_eval *ev)
{
	if (++ev->voids > ev->max_voids)
		return spf_eval_problem(ev, SPF_STEP_PERMERROR, "more than %u void look-ups",
		                        ev->max_voids);
	return SPF_STEP_NOMATCH;
}

/* §7.3: which validated name %{p} uses: <domain> itself, else a
 * subdomain of it, else the first; n when there is none. */
static size_t
spf_p_pick(char names[][DNS_NAME_MAX + 1], size_t n, const char *domain)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], domain) == 0)
			return i;
	for (size_t i = 0; i < n; i++)
		if (spf_name_within(names[i], domain))
			return i;
	return 0;
}

static int
spf_eval_p(void *arg, const char **name)
{
	struct spf_eval *ev = arg;
	char names[SPF_DEFAULT_MAX_NAMES][DNS_NAME_MAX + 1];
	const char *pick;
	size_t n;

	if (!ev->p_done) {
		/* §4.6.4: the %{p} look-up counts like a ptr mechanism. */
		if (!ev->in_exp && spf_eval_count_term(ev) != SPF_STEP_NOMATCH)
			return SPF_MACRO_LIMIT;
		if (spf_eval_ptr_names(ev, 0, names, SPF_DEFAULT_MAX_NAMES, &n) == SPF_STEP_NOMEM)
			return SPF_MACRO_NOMEM;
		/* Every name fits: spf_eval_ptr_names() keeps only valid ones. */
		pick = n > 0 ? names[spf_p_pick(names, n, ev->p_domain)] : "unknown";
		memcpy(ev->p_name, pick, strlen(pick) + 1);
		ev->p_done = 1;
	}
	*name = ev->p_name;
	return SPF_MACRO_OK;
}

void
spf_eval_macro_ctx(struct spf_eval *ev, const char *domain, struct spf_macro_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->sender = ev->sender;
	c->sender_len = ev->sender_len;
	c->local_len = ev->local_len;
	c->domain = domain;
	c->family = ev->family;
	memcpy(c->ip, ev->ip, sizeof(c->ip));
	c->helo = ev->helo;
	c->receiver = ev->receiver;
	c->now = time(NULL);
	c->ptr_name = spf_eval_p;
	c->ptr_arg = ev;
	ev->p_domain = domain;
}

/* §7.3: an expanded name longer than 253 loses labels on the left.  A
 * single label that long stays too long, and the resolver answers it as
 * the invalid name it is. */
static void
spf_truncate_name(const char *s, size_t len, char out[DNS_NAME_MAX + 1])
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	while (len > DNS_NAME_MAX) {
		const char *dot = memchr(s, '.', len);

		if (dot == NULL) {
			s += len - DNS_NAME_MAX;
			len = DNS_NAME_MAX;
			break;
		}
		len -= (size_t)(dot + 1 - s);
		s = dot + 1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
}

enum spf_step
spf_eval_target(struct spf_eval *ev, const char *domain, const char *spec, size_t len,
                char out[DNS_NAME_MAX + 1])
{
	struct spf_macro_ctx c;
	struct buf b;
	int rc;

	if (spec == NULL) {
		spf_truncate_name(domain, strlen(domain), out);
		return SPF_STEP_NOMATCH;
	}
	buf_init(&b, SPF_EXPAND_MAX);
	spf_eval_macro_ctx(ev, domain, &c);
	rc = spf_macro_expand(&c, spec, len, 0, &b);
	if (rc == SPF_MACRO_OK)
		spf_truncate_name(b.data ? b.data : "", b.len, out);
	buf_free(&b);
	switch (rc) {
	case SPF_MACRO_OK:
		return SPF_STEP_NOMATCH;
	case SPF_MACRO_NOMEM:
		auth_error_set(ev->err, AUTH_ENOMEM, "out of memory");
		return SPF_STEP_NOMEM;
	case SPF_MACRO_LIMIT:
		return SPF_STEP_PERMERROR;
	default:
		return spf_eval_problem(ev, SPF_STEP_PERMERROR, "bad macro expansion in %.*s",
		                        (int)(len > 64 ? 64 : len), spec);
	}
}

/* §6.2: the explanation of a "fail".  Any trouble (macros, DNS, no or
 * several records, bad syntax) means no explanation; only memory is an
 * error. */
static int
spf_explain_text(struct spf_eval *ev, const char *domain, const struct spf_record *rec)
{
	char name[DNS_NAME_MAX + 1];
	const struct dns_answer *a = NULL;
	struct spf_macro_ctx c;
	struct buf b;
	enum spf_step step;
	int rc = 0;

	step = spf_eval_target(ev, domain, rec->exp, rec->exp_len, name);
	if (step != SPF_STEP_NOMATCH || name[0] == '\0')
		return step == SPF_STEP_NOMEM ? -1 : 0;
	if (spf_eval_query(ev, name, DNS_T_TXT, &a) < 0)
		return -1;
	if (a->status == DNS_RECORDS && a->count == 1 && a->rrs[0].type == DNS_T_TXT) {
		buf_init(&b, SPF_EXPLANATION_MAX);
		spf_eval_macro_ctx(ev, domain, &c);
		rc = spf_macro_expand(&c, (const char *)a->rrs[0].u.txt.joined,
		                      a->rrs[0].u.txt.joined_len, 1, &b);
		if (rc == SPF_MACRO_OK && (ev->out->explanation = buf_steal(&b)) == NULL)
			rc = SPF_MACRO_NOMEM;
		buf_free(&b);
	}
	dns_answer_release(a);
	if (rc == SPF_MACRO_NOMEM)
		return auth_error_set(ev->err, AUTH_ENOMEM, "out of memory");
	return 0;
}

/* The explanation's look-ups count against no limit but the deadline (an
 * exp= that fails leaves the result as it is). */
static int
spf_explain(struct spf_eval *ev, const char *domain, const struct spf_record *rec)
{
	int rc;

	ev->in_exp = 1;
	rc = spf_explain_text(ev, domain, rec);
	ev->in_exp = 0;
	return rc;
}

/* §4.3: a domain check_host() can evaluate: at most 253 characters (a
 * final dot aside), labels of 1 to 63 visible characters, at least two
 * labels, not a domain literal. */
static int
spf_domain_valid(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 1;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX || d[0] == '[')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)d[i];

		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
			labels++;
		} else if (ch < 0x21 || ch > 0x7e || ++label > 63) {
			return 0;
		}
	}
	return label > 0 && labels >= 2;
}

static enum spf_result
spf_qualifier_result(char q)
{
	switch (q) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

/* §4.4, §4.5: fetches and selects the record; *res is set when there is
 * none to evaluate. */
static int
spf_fetch_record(struct spf_eval *ev, const char *domain, const struct dns_answer **a,
                 const char **rec, size_t *len, enum spf_result *res)
{
	*res = SPF_NONE;
	if (spf_eval_query(ev, domain, DNS_T_TXT, a) < 0)
		return -1;
	if ((*a)->status == DNS_TEMPFAIL) {
		spf_eval_problem(ev, SPF_STEP_TEMPERROR, "SPF record look-up of %s failed: %s",
		                 domain, (*a)->reason ? (*a)->reason : "temporary failure");
		*res = SPF_TEMPERROR;
	} else if ((*a)->status == DNS_RECORDS) {
		switch (spf_record_select(*a, rec, len)) {
		case SPF_SELECT_ONE:
			return 1;
		case SPF_SELECT_MANY:
			spf_eval_problem(ev, SPF_STEP_PERMERROR, "%s has several SPF records",
			                 domain);
			*res = SPF_PERMERROR;
			break;
		default:
			break;
		}
	}
	dns_answer_release(*a);
	return 0;
}

static void
spf_note_mechanism(struct spf_eval *ev, const struct spf_term *t)
{
	size_t n = t->text_len < SPF_MECHANISM_MAX ? t->text_len : SPF_MECHANISM_MAX;

	/* Cut to the field's size: the text is for reports only. */
	memcpy(ev->out->mechanism, t->text, n);
	ev->out->mechanism[n] = '\0';
}

/* The look-up a term's evaluation starts with, when it needs no macro. */
static void
spf_prefetch_term(struct spf_eval *ev, enum spf_mech mech, const char *domain, const char *spec,
                  size_t len)
{
	char name[DNS_NAME_MAX + 1];
	enum dns_type type;

	switch (mech) {
	case SPF_MECH_INCLUDE:
		type = DNS_T_TXT;
		break;
	case SPF_MECH_A:
	case SPF_MECH_EXISTS:
		type = ev->family == AF_INET6 && mech == SPF_MECH_A ? DNS_T_AAAA : DNS_T_A;
		break;
	case SPF_MECH_MX:
		type = DNS_T_MX;
		break;
	default:
		return;
	}
	if (spec != NULL && memchr(spec, '%', len) != NULL)
		return;
	if (spec != NULL)
		spf_truncate_name(spec, len, name);
	else
		spf_truncate_name(domain, strlen(domain), name);
	dns_prefetch(ev->r, name, type);
	ev->prefetched++;
}

/*
 * The first look-ups of a record's terms, started at once while the terms
 * are evaluated in order (§4.6.3 allows no other order of evaluation, but
 * says nothing of when an answer is asked for).  Terms with macros are
 * left alone, so that asking ahead has no effect on the result; at most
 * max_terms in a whole evaluation, so that a record cannot make us ask
 * more than §4.6.4 would let it.
 */
static void
spf_prefetch_record(struct spf_eval *ev, const char *domain, const struct spf_record *rec)
{
	size_t i;

	for (i = 0; i < rec->nterms && ev->prefetched < ev->max_terms; i++)
		spf_prefetch_term(ev, rec->terms[i].mech, domain, rec->terms[i].spec,
		                  rec->terms[i].spec_len);
	if (rec->redirect != NULL && !rec->has_all && ev->prefetched < ev->max_terms)
		spf_prefetch_term(ev, SPF_MECH_INCLUDE, domain, rec->redirect, rec->redirect_len);
}

/* §4.6.3, §6.1: the mechanisms in order, then redirect. */
static int
spf_eval_record(struct spf_eval *ev, const char *domain, const struct spf_record *rec, int want_exp,
                int depth, enum spf_result *res)
{
	char target[DNS_NAME_MAX + 1];
	enum spf_step step = SPF_STEP_NOMATCH;
	size_t i;

	spf_prefetch_record(ev, domain, rec);

	for (i = 0; i < rec->nterms && step == SPF_STEP_NOMATCH; i++)
		step = spf_mech_eval(ev, &rec->terms[i], domain, depth);
	if (step == SPF_STEP_MATCH) {
		*res = spf_qualifier_result(rec->terms[i - 1].qualifier);
		if (want_exp)
			spf_note_mechanism(ev, &rec->terms[i - 1]);
		if (*res == SPF_FAIL && want_exp && rec->exp != NULL)
			return spf_explain(ev, domain, rec);
		return 0;
	}
	if (step == SPF_STEP_NOMATCH && rec->redirect != NULL && !rec->has_all) {
		step = spf_eval_count_term(ev);
		if (step == SPF_STEP_NOMATCH)
			step =
			    spf_eval_target(ev, domain, rec->redirect, rec->redirect_len, target);
		if (step == SPF_STEP_NOMATCH) {
			if (spf_eval_host(ev, target, want_exp, depth + 1, res) < 0)
				return -1;
			/* §6.1: a redirect to no record is a permerror. */
			if (*res == SPF_NONE) {
				spf_eval_problem(ev, SPF_STEP_PERMERROR,
				                 "redirect=%s has no SPF record", target);
				*res = SPF_PERMERROR;
			}
			return 0;
		}
	}
	switch (step) {
	case SPF_STEP_NOMEM:
		return -1;
	case SPF_STEP_TEMPERROR:
		*res = SPF_TEMPERROR;
		break;
	case SPF_STEP_PERMERROR:
		*res = SPF_PERMERROR;
		break;
	default:
		*res = SPF_NEUTRAL;
		break; /* §4.7: no match, no redirect */
	}
	return 0;
}

int
spf_eval_host(struct spf_eval *ev, const char *domain, int want_exp, int depth,
              enum spf_result *res)
{
	const struct dns_answer *a;
	const char *text = NULL;
	size_t len = 0;
	struct spf_record rec;
	char why[128];
	int rc;

	if (depth > SPF_MAX_DEPTH) {
		spf_eval_problem(ev, SPF_STEP_PERMERROR, "include/redirect nested too deep");
		*res = SPF_PERMERROR;
		return 0;
	}
	if (!spf_domain_valid(domain)) {
		*res = SPF_NONE;
		return 0;
	}
	if ((rc = spf_fetch_record(ev, domain, &a, &text, &len, res)) <= 0)
		return rc;
	rc = spf_record_parse(text, len, &rec, why, sizeof(why));
	if (rc == -1) {
		spf_eval_problem(ev, SPF_STEP_PERMERROR, "SPF record of %s: %s", domain, why);
		*res = SPF_PERMERROR;
		rc = 0;
	} else if (rc == 0) {
		rc = spf_eval_record(ev, domain, &rec, want_exp, depth, res);
		spf_record_free(&rec);
	} else {
		rc = auth_error_set(ev->err, AUTH_ENOMEM, "out of memory");
	}
	dns_answer_release(a);
	return rc;
}

const char *
spf_result_name(enum spf_result res)
{
	static const char *const names[] = {
	    [SPF_NONE] = "none",           [SPF_NEUTRAL] = "neutral",
	    [SPF_PASS] = "pass",           [SPF_FAIL] = "fail",
	    [SPF_SOFTFAIL] = "softfail",   [SPF_TEMPERROR] = "temperror",
	    [SPF_PERMERROR] = "permerror",
	};

	if ((unsigned)res >= sizeof(names) / sizeof(names[0]))
		return "permerror";
	return names[res];
}

void
spf_outcome_free(struct spf_outcome *out)
{
	if (out == NULL)
		return;
	free(out->explanation);
	out->explanation = NULL;
}

static void
spf_eval_init(struct spf_eval *ev, struct dns_resolver *r, const struct spf_limits *lim,
              const struct spf_request *req, struct spf_outcome *out, struct auth_error *err)
{
	unsigned ms = lim && lim->timeout_ms ? lim->timeout_ms : SPF_DEFAULT_TIMEOUT_MS;

	memset(ev, 0, sizeof(*ev));
	ev->r = r;
	ev->max_terms = lim && lim->max_dns_terms ? lim->max_dns_terms : SPF_DEFAULT_MAX_DNS_TERMS;
	ev->max_voids =
	    lim && lim->max_void_lookups ? lim->max_void_lookups : SPF_DEFAULT_MAX_VOID_LOOKUPS;
	ev->max_names = lim && lim->max_names ? lim->max_names : SPF_DEFAULT_MAX_NAMES;
	/* The name buffers hold SPF_DEFAULT_MAX_NAMES; the RFC's 10 is a maximum. */
	if (ev->max_names > SPF_DEFAULT_MAX_NAMES)
		ev->max_names = SPF_DEFAULT_MAX_NAMES;
	(void)clock_gettime(CLOCK_MONOTONIC, &ev->deadline);
	ev->deadline.tv_sec += ms / 1000;
	ev->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ev->deadline.tv_nsec >= 1000000000L) {
		ev->deadline.tv_sec++;
		ev->deadline.tv_nsec -= 1000000000L;
	}
	/* §5: an IPv4-mapped IPv6 client is an IPv4 client. */
	if (req->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&req->ip.v6)) {
		ev->family = AF_INET;
		memcpy(ev->ip, req->ip.v6.s6_addr + 12, 4);
	} else if (req->family == AF_INET) {
		ev->family = AF_INET;
		memcpy(ev->ip, &req->ip.v4, 4);
	} else {
		ev->family = AF_INET6;
		memcpy(ev->ip, req->ip.v6.s6_addr, 16);
	}
	ev->helo = req->helo ? req->helo : "";
	ev->receiver = req->receiver ? req->receiver : "unknown";
	ev->out = out;
	ev->err = err;
}

/* Writes local@domain into out->sender; §4.3: an empty or missing local
 * part is "postmaster". */
static int
spf_make_sender(struct spf_outcome *out, const char *sender, size_t *local_len)
{
	const char *at = strrchr(sender, '@');
	const char *local = at && at > sender ? sender : "postmaster";
	size_t llen = at && at > sender ? (size_t)(at - sender) : strlen("postmaster");
	const char *dom = at ? at + 1 : sender;
	int n = snprintf(out->sender, sizeof(out->sender), "%.*s@%s", (int)llen, local, dom);

	*local_len = llen;
	return n < 0 || (size_t)n >= sizeof(out->sender) ? -1 : 0;
}

int
spf_check_host(struct dns_resolver *r, const struct spf_limits *lim, const struct spf_request *req,
               const char *domain, const char *sender, struct spf_outcome *out,
               struct auth_error *err)
{
	struct spf_eval ev;
	int rc;

	if (out == NULL)
		return auth_error_set(err, AUTH_EINVAL, "spf: no outcome");
	memset(out, 0, sizeof(*out));
	out->result = SPF_PERMERROR;
	if (r == NULL || req == NULL || domain == NULL || sender == NULL ||
	    (req->family != AF_INET && req->family != AF_INET6))
		return auth_error_set(err, AUTH_EINVAL, "spf: bad arguments");
	spf_eval_init(&ev, r, lim, req, out, err);
	/* A domain too long to report is also too long to be valid (§4.3). */
	(void)snprintf(out->domain, sizeof(out->domain), "%s", domain);
	/* The sender chose it: an identity no valid path can have (RFC 5321
	 * §4.5.3.1 allows 64 + 255 octets) is an outcome, as §4.3 makes a
	 * malformed domain one. */
	if (spf_make_sender(out, sender, &ev.local_len) < 0) {
		out->result = SPF_NONE;
		(void)snprintf(out->problem, sizeof(out->problem), "sender longer than %d",
		               SPF_SENDER_MAX);
		return 0;
	}
	ev.sender = out->sender;
	ev.sender_len = strlen(out->sender);
	rc = spf_eval_host(&ev, domain, 1, 0, &out->result);
	if (rc < 0) {
		spf_outcome_free(out);
		return -1;
	}
	if (out->result != SPF_TEMPERROR && out->result != SPF_PERMERROR)
		out->problem[0] = '\0';
	return 0;
}

int
spf_check_helo(struct dns_resolver *r, const struct spf_limits *lim, const struct spf_request *req,
               struct spf_outcome *out, struct auth_error *err)
{
	const char *helo = req && req->helo ? req->helo : "";
	int rc = spf_check_host(r, lim, req, helo, helo, out, err);

	if (out != NULL)
		out->scope = SPF_SCOPE_HELO;
	return rc;
}

int
spf_check_mailfrom(struct dns_resolver *r, const struct spf_limits *lim,
                   const struct spf_request *req, struct spf_outcome *out, struct auth_error *err)
{
	const char *from, *at;

	if (req == NULL || req->mail_from == NULL) {
		if (out != NULL)
			memset(out, 0, sizeof(*out));
		return auth_error_set(err, AUTH_EINVAL, "spf: no MAIL FROM");
	}
	from = req->mail_from;
	/* §2.4: the null sender is checked as postmaster@<HELO>. */
	if (from[0] == '\0')
		return spf_check_helo(r, lim, req, out, err);
	at = strrchr(from, '@');
	return spf_check_host(r, lim, req, at ? at + 1 : from, from, out, err);
}
