/*
 * test-spf - check_host() and the identities (RFC 7208) against an
 * in-memory resolver: results, include/redirect semantics, exp=, limits
 * exactly at and one past their bounds, hostile records, Received-SPF.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "dns_cache.h"
#include "spf.h"
#include "spf_eval.h"
#include "tap.h"

/* One record of the test zone.  type "FAIL" times out every question for
 * the name; TXT values hold strings separated by '|'; len, when given, is
 * the byte length of value (for NUL bytes). */
struct zrr {
	const char *name, *type, *value;
	size_t len;
};

struct tres {
	struct dns_resolver base;
	const struct zrr *zone;
	size_t n;
	atomic_ulong queries; /* prefetching backends ask from several threads */
	long delay_ns;
	const struct spf_limits *lim; /* NULL: the RFC's defaults */
};

static int
add_txt(struct dns_answer_builder *b, const struct zrr *z)
{
	struct dns_txt_string s[16];
	size_t n = 0, len = z->len ? z->len : strlen(z->value), start = 0;

	for (size_t i = 0; i <= len && n < 16; i++)
		if (i == len || (z->len == 0 && z->value[i] == '|')) {
			s[n].data = (const unsigned char *)z->value + start;
			s[n++].len = i - start;
			start = i + 1;
		}
	return dns_builder_add_txt(b, 300, n, s);
}

static int
add_rr(struct dns_answer_builder *b, const struct zrr *z, enum dns_type t)
{
	struct in_addr a;
	struct in6_addr a6;

	switch (t) {
	case DNS_T_A:
		inet_pton(AF_INET, z->value, &a);
		return dns_builder_add_a(b, 300, &a);
	case DNS_T_AAAA:
		inet_pton(AF_INET6, z->value, &a6);
		return dns_builder_add_aaaa(b, 300, &a6);
	case DNS_T_MX:
		return dns_builder_add_mx(b, 300, (uint16_t)atoi(z->value),
		                          strchr(z->value, ' ') + 1);
	case DNS_T_PTR:
		return dns_builder_add_ptr(b, 300, z->value);
	default:
		return add_txt(b, z);
	}
}

static int
tres_query(struct dns_resolver *r, const char *name, enum dns_type type,
           const struct dns_answer **out, struct auth_error *err)
{
	struct tres *t = (struct tres *)r;
	char n[DNS_NAME_MAX + 2];
	size_t len = strlen(name);
	int exists = 0;
	struct dns_answer_builder *b;

	(void)err;
	atomic_fetch_add(&t->queries, 1);
	if (t->delay_ns > 0)
		nanosleep(&(struct timespec){0, t->delay_ns}, NULL);
	if (len > DNS_NAME_MAX + 1)
		len = DNS_NAME_MAX + 1;
	memcpy(n, name, len);
	n[len] = '\0';
	if (len > 0 && n[len - 1] == '.')
		n[len - 1] = '\0';
	for (size_t i = 0; i < t->n; i++)
		if (strcasecmp(t->zone[i].name, n) == 0 && strcmp(t->zone[i].type, "FAIL") == 0) {
			*out = dns_answer_empty(DNS_TEMPFAIL, n, 0, "timeout");
			return 0;
		}
	b = dns_builder_new(DNS_RECORDS, n);
	for (size_t i = 0; i < t->n; i++) {
		if (strcasecmp(t->zone[i].name, n) != 0)
			continue;
		exists = 1;
		if (strcmp(t->zone[i].type, dns_type_name(type)) == 0)
			add_rr(b, &t->zone[i], type);
	}
	*out = dns_builder_finish(b);
	if ((*out)->count == 0) {
		dns_answer_release(*out);
		*out = dns_answer_empty(exists ? DNS_NODATA : DNS_NXDOMAIN, n, 300, NULL);
	}
	return 0;
}

static void
tres_free(struct dns_resolver *r)
{
	(void)r;
}

static const struct dns_resolver_ops tres_ops = {.query = tres_query, .free = tres_free};

#define TRES(z)                                                                                    \
	{                                                                                          \
		{&tres_ops}, (z), sizeof(z) / sizeof((z)[0]), 0, 0, NULL                           \
	}

static struct spf_request
req4(const char *ip, const char *helo, const char *from)
{
	struct spf_request q = {.helo = helo, .mail_from = from, .receiver = "mx.example.net"};

	if (inet_pton(AF_INET, ip, &q.ip.v4) == 1) {
		q.family = AF_INET;
	} else {
		q.family = AF_INET6;
		inet_pton(AF_INET6, ip, &q.ip.v6);
	}
	return q;
}

/* check_host() of from's domain; returns the result and keeps out. */
static enum spf_result
run(struct tres *t, const char *ip, const char *from, struct spf_outcome *out)
{
	struct spf_request q = req4(ip, "helo.example.org", from);
	struct auth_error err;

	if (spf_check_mailfrom(&t->base, t->lim, &q, out, &err) != 0) {
		diag("spf_check_mailfrom: %s", err.msg);
		return (enum spf_result) - 1;
	}
	return out->result;
}

/* The result alone. */
static enum spf_result
result(struct tres *t, const char *ip, const char *from)
{
	struct spf_outcome o;
	enum spf_result r = run(t, ip, from, &o);

	spf_outcome_free(&o);
	return r;
}

static const struct zrr basic_zone[] = {
    {"example.com", "TXT",
     "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a:a.example.com/28 "
     "mx//64 ~ip4:198.51.100.1 ?ip4:198.51.100.2 -all exp=why.%{d}",
     0},
    {"example.com", "MX", "10 mx.example.com", 0},
    {"example.com", "TXT", "not spf", 0},
    {"mx.example.com", "AAAA", "2001:db9::1", 0},
    {"a.example.com", "A", "203.0.113.17", 0},
    {"why.example.com", "TXT", "%{i} is not one of %{d}'s ", 0},
    {"split.example", "TXT", "v=spf1 ip4:|192.0.2.5 -all", 0},
    {"nul.example", "TXT", "v=spf1 a:x.example\0 -all", 24},
    {"two.example", "TXT", "v=spf1 -all", 0},
    {"two.example", "TXT", "V=SPF1 +all", 0},
    {"none.example", "A", "192.0.2.1", 0},
    {"fail.example", "FAIL", "", 0},
};

static void
test_results(void)
{
	struct tres t = TRES(basic_zone);
	struct spf_outcome o;

	is_int(run(&t, "192.0.2.77", "a@example.com", &o), SPF_PASS, "ip4 in /24 passes");
	is_str(o.mechanism, "ip4:192.0.2.0/24", "the matching mechanism");
	is_str(o.domain, "example.com", "the domain");
	is_str(o.sender, "a@example.com", "the sender");
	is_int(o.scope, SPF_SCOPE_MFROM, "mfrom scope");
	ok(o.explanation == NULL, "no explanation on pass");
	spf_outcome_free(&o);
	is_int(result(&t, "2001:db8:1::5", "a@example.com"), SPF_PASS, "ip6 in /32 passes");
	is_int(result(&t, "203.0.113.30", "a@example.com"), SPF_PASS, "a:/28 passes");
	is_int(result(&t, "203.0.113.33", "a@example.com"), SPF_FAIL, "outside a:/28 fails");
	is_int(result(&t, "2001:db9::ffff", "a@example.com"), SPF_PASS, "mx//64 passes");
	is_int(result(&t, "198.51.100.1", "a@example.com"), SPF_SOFTFAIL, "~ softfails");
	is_int(result(&t, "198.51.100.2", "a@example.com"), SPF_NEUTRAL, "? is neutral");
	is_int(result(&t, "::ffff:192.0.2.9", "a@example.com"), SPF_PASS, "IPv4-mapped is IPv4");
	is_int(run(&t, "198.51.100.3", "a@EXAMPLE.com", &o), SPF_FAIL, "-all fails");
	is_str(o.mechanism, "-all", "matched -all");
	is_str(o.explanation, "198.51.100.3 is not one of EXAMPLE.com's ", "explanation expanded");
	spf_outcome_free(&o);
	ok(o.explanation == NULL, "spf_outcome_free clears the explanation");
	is_int(result(&t, "192.0.2.5", "a@split.example"), SPF_PASS, "TXT strings joined");
	is_int(run(&t, "192.0.2.5", "a@nul.example", &o), SPF_PERMERROR, "NUL in record");
	ok(strstr(o.problem, "nul.example") != NULL, "problem names the domain: %s", o.problem);
	is_int(result(&t, "192.0.2.5", "a@two.example"), SPF_PERMERROR, "two records");
	is_int(result(&t, "192.0.2.5", "a@none.example"), SPF_NONE, "no TXT: none");
	is_int(result(&t, "192.0.2.5", "a@nx.example"), SPF_NONE, "NXDOMAIN: none");
	is_int(run(&t, "192.0.2.5", "a@fail.example", &o), SPF_TEMPERROR, "timeout: temperror");
	is_str(o.problem, "SPF record look-up of fail.example failed: timeout",
	       "temperror problem");
	is_int(result(&t, "192.0.2.5", "a@single"), SPF_NONE, "single label: none");
	is_int(result(&t, "192.0.2.5", "a@[192.0.2.5]"), SPF_NONE, "domain literal: none");
	is_int(result(&t, "192.0.2.5", "a@x..example.com"), SPF_NONE, "empty label: none");
}

static const struct zrr include_zone[] = {
    {"pass.example", "TXT", "v=spf1 +all", 0},
    {"fail.example", "TXT", "v=spf1 -all exp=e.example", 0},
    {"soft.example", "TXT", "v=spf1 ~all", 0},
    {"neutral.example", "TXT", "v=spf1 ?all", 0},
    {"temp.example", "FAIL", "", 0},
    {"perm.example", "TXT", "v=spf1 bogus", 0},
    {"empty.example", "A", "192.0.2.1", 0},
    {"e.example", "TXT", "included", 0},
    {"top.example", "TXT", "v=spf1 exp=top-e.example redirect=fail.example", 0},
    {"top-e.example", "TXT", "not this", 0},
    {"allredir.example", "TXT", "v=spf1 redirect=pass.example -all", 0},
    {"redirnone.example", "TXT", "v=spf1 redirect=empty.example", 0},
    {"redirnx.example", "TXT", "v=spf1 redirect=nx.example", 0},
    {"exp2.example", "TXT", "v=spf1 exp=multi.example -all", 0},
    {"multi.example", "TXT", "one", 0},
    {"multi.example", "TXT", "two", 0},
    {"exp3.example", "TXT", "v=spf1 exp=bad.example -all", 0},
    {"bad.example", "TXT", "%{x}", 0},
    {"exp4.example", "TXT", "v=spf1 exp=temp.example -all", 0},
    {"exp5.example", "TXT", "v=spf1 exp=%{l}.example -all", 0},
    {"x.example", "TXT", "multi|part %{o}", 0},
};

static enum spf_result
include_result(struct tres *t, const char *target)
{
	struct zrr z[sizeof(include_zone) / sizeof(include_zone[0]) + 1];
	struct tres t2;
	char rec[128];

	memcpy(z, include_zone, sizeof(include_zone));
	snprintf(rec, sizeof(rec), "v=spf1 include:%s -all", target);
	z[sizeof(z) / sizeof(z[0]) - 1] = (struct zrr){"inc.example", "TXT", rec, 0};
	t2 = *t;
	t2.zone = z;
	t2.n = sizeof(z) / sizeof(z[0]);
	return result(&t2, "192.0.2.1", "u@inc.example");
}

static void
test_include_redirect(void)
{
	struct tres t = TRES(include_zone);
	struct spf_outcome o;

	/* §5.2: the include table. */
	is_int(include_result(&t, "pass.example"), SPF_PASS, "include pass matches");
	is_int(include_result(&t, "fail.example"), SPF_FAIL, "include fail does not match");
	is_int(include_result(&t, "soft.example"), SPF_FAIL, "include softfail does not match");
	is_int(include_result(&t, "neutral.example"), SPF_FAIL, "include neutral does not match");
	is_int(include_result(&t, "temp.example"), SPF_TEMPERROR, "include temperror");
	is_int(include_result(&t, "perm.example"), SPF_PERMERROR, "include permerror");
	is_int(include_result(&t, "empty.example"), SPF_PERMERROR, "include none is permerror");
	is_int(include_result(&t, "nx.example"), SPF_PERMERROR, "include NXDOMAIN is permerror");
	is_int(include_result(&t, "single"), SPF_PERMERROR, "include of an invalid name");
	is_int(run(&t, "192.0.2.1", "u@top.example", &o), SPF_FAIL, "redirect result");
	is_str(o.explanation, "included", "redirect uses the target's exp, not the original's");
	is_str(o.mechanism, "-all", "the mechanism of the redirect target");
	spf_outcome_free(&o);
	is_int(result(&t, "192.0.2.1", "u@allredir.example"), SPF_FAIL,
	       "redirect ignored with all");
	is_int(result(&t, "192.0.2.1", "u@redirnone.example"), SPF_PERMERROR, "redirect to none");
	is_int(result(&t, "192.0.2.1", "u@redirnx.example"), SPF_PERMERROR, "redirect to NXDOMAIN");
	is_int(run(&t, "192.0.2.1", "u@exp2.example", &o), SPF_FAIL, "exp with two TXT");
	ok(o.explanation == NULL, "two TXT records: no explanation");
	spf_outcome_free(&o);
	is_int(run(&t, "192.0.2.1", "u@exp3.example", &o), SPF_FAIL, "exp with a bad macro");
	ok(o.explanation == NULL, "bad explanation syntax: no explanation");
	spf_outcome_free(&o);
	is_int(run(&t, "192.0.2.1", "u@exp4.example", &o), SPF_FAIL, "exp that times out");
	ok(o.explanation == NULL, "exp DNS error: no explanation");
	is_str(o.problem, "", "no problem reported for a fail");
	spf_outcome_free(&o);
	is_int(run(&t, "192.0.2.1", "x@exp5.example", &o), SPF_FAIL, "exp with macros in its name");
	is_str(o.explanation, "multipart exp5.example", "TXT strings joined, macros expanded");
	spf_outcome_free(&o);
}

/* "v=spf1 " followed by n copies of term and then tail. */
static char *
record(const char *term, size_t n, const char *tail)
{
	size_t tl = strlen(term), len = 6 + n * (tl + 1) + strlen(tail) + 2;
	char *s = malloc(len), *p = s;

	p += snprintf(p, len, "v=spf1");
	for (size_t i = 0; i < n; i++)
		p += snprintf(p, len - (size_t)(p - s), " %s", term);
	snprintf(p, len - (size_t)(p - s), " %s", tail);
	return s;
}

/* The result for a zone of the fixed records plus one TXT at t.example. */
static enum spf_result
with_record(const struct zrr *fixed, size_t nfixed, char *rec, const char *ip,
            unsigned long *queries)
{
	struct zrr z[64];
	struct tres t = {{&tres_ops}, z, nfixed + 1, 0, 0, NULL};
	enum spf_result r;

	memcpy(z, fixed, nfixed * sizeof(*z));
	z[nfixed] = (struct zrr){"t.example", "TXT", rec, 0};
	r = result(&t, ip, "u@t.example");
	if (queries != NULL)
		*queries = atomic_load(&t.queries);
	free(rec);
	return r;
}

static const struct zrr limit_zone[] = {
    {"h.example", "A", "10.0.0.1", 0},
    {"h.example", "MX", "1 h.example", 0},
    {"t.example", "A", "10.0.0.2", 0},
    {"loop1.example", "TXT", "v=spf1 include:loop2.example -all", 0},
    {"loop2.example", "TXT", "v=spf1 include:loop1.example -all", 0},
    {"self.example", "TXT", "v=spf1 redirect=self.example", 0},
    {"1.2.0.192.in-addr.arpa", "PTR", "n1.example", 0},
    {"n1.example", "A", "192.0.2.1", 0},
};
#define NLIMIT (sizeof(limit_zone) / sizeof(limit_zone[0]))

static void
test_term_limits(void)
{
	unsigned long q;

	is_int(with_record(limit_zone, NLIMIT, record("a:h.example", 10, "ip4:192.0.2.1"),
	                   "192.0.2.1", NULL),
	       SPF_PASS, "10 DNS terms: within the limit");
	is_int(with_record(limit_zone, NLIMIT, record("a:h.example", 11, "ip4:192.0.2.1"),
	                   "192.0.2.1", NULL),
	       SPF_PERMERROR, "11 DNS terms: permerror");
	is_int(with_record(limit_zone, NLIMIT,
	                   record("mx:h.example", 5,
	                          "a ptr a:h.example exists:nx.example "
	                          "a:h.example ip4:192.0.2.1"),
	                   "192.0.2.1", NULL),
	       SPF_PASS, "mixed terms: 10 DNS terms pass");
	is_int(with_record(limit_zone, NLIMIT,
	                   record("mx:h.example", 5,
	                          "a ptr a:h.example exists:nx.example "
	                          "a:h.example a:h.example ip4:192.0.2.1"),
	                   "192.0.2.1", NULL),
	       SPF_PERMERROR, "mixed terms: the 11th is a permerror");
	is_int(with_record(limit_zone, NLIMIT, record("a", 1000, "+all"), "192.0.2.1", &q),
	       SPF_PERMERROR, "1000-term record: permerror");
	is_int(q, 11, "...after one TXT and exactly 10 A queries");
	is_int(with_record(limit_zone, NLIMIT,
	                   record("a:h.example", 8, "exists:%{p}.x.example ?all"), "192.0.2.1",
	                   NULL),
	       SPF_NEUTRAL, "%%{p} counts: 8 + exists + p = 10");
	is_int(with_record(limit_zone, NLIMIT,
	                   record("a:h.example", 9, "exists:%{p}.x.example ?all"), "192.0.2.1",
	                   NULL),
	       SPF_PERMERROR, "9 + exists + p = 11");
	is_int(
	    with_record(limit_zone, NLIMIT, record("ip4:10.0.0.1", 600, "?all"), "192.0.2.1", &q),
	    SPF_NEUTRAL, "600 ip4 terms need no DNS");
	is_int(q, 1, "one query only");
	is_int(with_record(limit_zone, NLIMIT, record("include:loop1.example", 1, ""), "192.0.2.1",
	                   NULL),
	       SPF_PERMERROR, "include loop");
	is_int(with_record(limit_zone, NLIMIT, record("redirect=self.example", 1, ""), "192.0.2.1",
	                   NULL),
	       SPF_PERMERROR, "redirect loop");
}

static void
test_void_limits(void)
{
	is_int(
	    with_record(limit_zone, NLIMIT, record("a:nx.example", 2, "?all"), "192.0.2.1", NULL),
	    SPF_NEUTRAL, "2 void look-ups: within the limit");
	is_int(
	    with_record(limit_zone, NLIMIT, record("a:nx.example", 3, "?all"), "192.0.2.1", NULL),
	    SPF_PERMERROR, "3 void look-ups: permerror");
	is_int(with_record(limit_zone, NLIMIT,
	                   record("mx:h.example", 1,
	                          "a:nx.example exists:nx.example "
	                          "a:h.example//0 ?all"),
	                   "2001:db8::1", NULL),
	       SPF_PERMERROR, "NODATA counts as void (AAAA of h.example)");
}

/* A chain of n includes, c0 -> c1 -> ... -> cn "+all". */
static enum spf_result
chain(size_t n, const char *kind, const struct spf_limits *lim)
{
	struct zrr z[40];
	char names[40][40], recs[40][80];
	struct tres t = {{&tres_ops}, z, n + 1, 0, 0, lim};

	for (size_t i = 0; i <= n; i++) {
		snprintf(names[i], sizeof(names[i]), "c%zu.example", i);
		if (i == n)
			snprintf(recs[i], sizeof(recs[i]), "v=spf1 +all");
		else if (strcmp(kind, "include") == 0)
			snprintf(recs[i], sizeof(recs[i]), "v=spf1 include:c%zu.example -all",
			         i + 1);
		else
			snprintf(recs[i], sizeof(recs[i]), "v=spf1 redirect=c%zu.example", i + 1);
		z[i] = (struct zrr){names[i], "TXT", recs[i], 0};
	}
	return result(&t, "192.0.2.1", "u@c0.example");
}

static void
test_chains(void)
{
	struct spf_limits many = {.max_dns_terms = 100};
	struct spf_limits three = {.max_dns_terms = 3};

	is_int(chain(10, "include", NULL), SPF_PASS, "10 nested includes pass");
	is_int(chain(11, "include", NULL), SPF_PERMERROR, "11 nested includes: permerror");
	is_int(chain(10, "redirect", NULL), SPF_PASS, "10 redirects pass");
	is_int(chain(11, "redirect", NULL), SPF_PERMERROR, "11 redirects: permerror");
	is_int(chain(39, "include", NULL), SPF_PERMERROR, "39 nested includes: permerror");
	is_int(chain(3, "include", &three), SPF_PASS, "configured limit 3: 3 includes pass");
	is_int(chain(4, "include", &three), SPF_PERMERROR, "configured limit 3: 4 do not");
	is_int(chain(SPF_MAX_DEPTH, "include", &many), SPF_PASS,
	       "nesting exactly SPF_MAX_DEPTH deep passes");
	is_int(chain(SPF_MAX_DEPTH + 1, "include", &many), SPF_PERMERROR,
	       "one deeper is a permerror, whatever the term limit");
	is_int(chain(SPF_MAX_DEPTH + 1, "redirect", &many), SPF_PERMERROR,
	       "redirects are bounded the same way");
}

/* n MX (or PTR) names, of which only the last leads to the client. */
static enum spf_result
names(size_t n, const char *type)
{
	struct zrr z[40];
	char hosts[40][40], vals[40][64];
	struct tres t = {{&tres_ops}, z, 0, 0, 0, NULL};
	int mx = strcmp(type, "MX") == 0;

	z[t.n++] = (struct zrr){"t.example", "TXT", mx ? "v=spf1 mx -all" : "v=spf1 ptr -all", 0};
	for (size_t i = 0; i < n; i++) {
		snprintf(hosts[i], sizeof(hosts[i]), "h%zu.t.example", i);
		snprintf(vals[i], sizeof(vals[i]), "%zu h%zu.t.example", i, i);
		z[t.n++] = (struct zrr){mx ? "t.example" : "1.2.0.192.in-addr.arpa", type,
		                        mx ? vals[i] : hosts[i], 0};
		z[t.n++] = (struct zrr){hosts[i], "A", i == n - 1 ? "192.0.2.1" : "10.9.9.9", 0};
	}
	return result(&t, "192.0.2.1", "u@t.example");
}

static void
test_name_limits(void)
{
	is_int(names(10, "MX"), SPF_PASS, "10 MX names: the 10th matches");
	is_int(names(11, "MX"), SPF_PERMERROR, "11 MX names: permerror");
	is_int(names(10, "PTR"), SPF_PASS, "10 PTR names: the 10th validates");
	is_int(names(11, "PTR"), SPF_FAIL, "11 PTR names: the 11th is ignored");
}

static void
test_timeout(void)
{
	struct tres t = TRES(limit_zone);
	struct spf_limits lim = {.timeout_ms = 150};
	struct spf_request q = req4("192.0.2.1", "h", "u@loop1.example");
	struct spf_outcome o;
	struct auth_error err;

	t.delay_ns = 100 * 1000 * 1000;
	is_int(spf_check_mailfrom(&t.base, &lim, &q, &o, &err), 0, "evaluated");
	is_int(o.result, SPF_TEMPERROR, "past the time bound: temperror");
	is_str(o.problem, "SPF record look-up of loop1.example failed: time limit exceeded",
	       "the problem says so");
	is_int(atomic_load(&t.queries), 2, "no query after the deadline");
	spf_outcome_free(&o);
}

static const struct zrr id_zone[] = {
    {"helo.example.org", "TXT", "v=spf1 a -all exp=e.example.org", 0},
    {"helo.example.org", "A", "192.0.2.9", 0},
    {"e.example.org", "TXT", "%{s} %{l} %{o} %{h} %{r}", 0},
    {"example.org", "TXT", "v=spf1 -all exp=e.example.org", 0},
};

static void
test_identities(void)
{
	struct tres t = TRES(id_zone);
	struct spf_request q = req4("192.0.2.1", "helo.example.org", "");
	struct spf_outcome o;
	struct auth_error err;
	char big[SPF_SENDER_MAX + 2];

	is_int(spf_check_mailfrom(&t.base, NULL, &q, &o, &err), 0, "null sender evaluated");
	is_int(o.result, SPF_FAIL, "null sender: HELO identity fails");
	is_int(o.scope, SPF_SCOPE_HELO, "scope helo");
	is_str(o.sender, "postmaster@helo.example.org", "identity postmaster@helo");
	is_str(o.explanation,
	       "postmaster@helo.example.org postmaster helo.example.org "
	       "helo.example.org mx.example.net",
	       "macros of the HELO identity");
	spf_outcome_free(&o);
	q.mail_from = "example.org";
	is_int(spf_check_mailfrom(&t.base, NULL, &q, &o, &err), 0, "bare domain evaluated");
	is_str(o.sender, "postmaster@example.org", "no @: postmaster@");
	is_int(o.scope, SPF_SCOPE_MFROM, "scope mfrom");
	spf_outcome_free(&o);
	q.mail_from = "@example.org";
	q.receiver = NULL;
	is_int(spf_check_mailfrom(&t.base, NULL, &q, &o, &err), 0, "empty local part evaluated");
	is_str(o.explanation,
	       "postmaster@example.org postmaster example.org helo.example.org unknown",
	       "empty local part is postmaster; no receiver is unknown");
	spf_outcome_free(&o);
	q = req4("192.0.2.9", "helo.example.org", "x@example.org");
	is_int(spf_check_helo(&t.base, NULL, &q, &o, &err), 0, "HELO check evaluated");
	is_int(o.result, SPF_PASS, "HELO passes");
	is_str(o.domain, "helo.example.org", "HELO domain");
	spf_outcome_free(&o);
	q.helo = NULL;
	q.mail_from = "";
	is_int(spf_check_mailfrom(&t.base, NULL, &q, &o, &err), 0, "no HELO at all");
	is_int(o.result, SPF_NONE, "null sender without HELO: none");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '@';
	q.mail_from = big;
	is_int(spf_check_mailfrom(&t.base, NULL, &q, &o, &err), 0, "over-long sender evaluated");
	is_int(o.result, SPF_NONE, "as none, like a malformed domain (RFC 7208 §4.3)");
	is_str(o.problem, "sender longer than 512", "the problem says why");
	spf_outcome_free(&o);
	q.family = 0;
	q.mail_from = "a@b.example";
	is_int(spf_check_mailfrom(&t.base, NULL, &q, &o, &err), -1, "no address family");
}

/* An exp= whose name expands past SPF_EXPAND_MAX gives no explanation. */
static void
test_exp_too_long(void)
{
	static const struct zrr z[] = {
	    {"t.example", "TXT", "v=spf1 -all exp=%{S}%{S}%{S}%{S}%{S}%{S}%{S}.example", 0},
	};
	struct tres t = TRES(z);
	struct spf_request q = req4("192.0.2.1", "h.example", NULL);
	struct spf_outcome o;
	struct auth_error err;
	char from[420];

	memset(from, '&', 400);
	memcpy(from + 400, "@t.example", 11);
	q.mail_from = from;
	is_int(spf_check_mailfrom(&t.base, NULL, &q, &o, &err), 0, "long exp= name evaluated");
	is_int(o.result, SPF_FAIL, "still fail");
	ok(o.explanation == NULL, "no explanation");
	is_str(o.problem, "", "no problem for a fail");
	is_int(atomic_load(&t.queries), 1, "no TXT query for the explanation");
	spf_outcome_free(&o);
}

static void
test_names(void)
{
	is_str(spf_result_name(SPF_NONE), "none", "none");
	is_str(spf_result_name(SPF_NEUTRAL), "neutral", "neutral");
	is_str(spf_result_name(SPF_PASS), "pass", "pass");
	is_str(spf_result_name(SPF_FAIL), "fail", "fail");
	is_str(spf_result_name(SPF_SOFTFAIL), "softfail", "softfail");
	is_str(spf_result_name(SPF_TEMPERROR), "temperror", "temperror");
	is_str(spf_result_name(SPF_PERMERROR), "permerror", "permerror");
}

static void
test_received(void)
{
	struct tres t = TRES(basic_zone);
	struct spf_request q = req4("192.0.2.3", "mail.example.com", "a\"b@example.com");
	struct spf_outcome o;
	struct auth_error err;
	struct buf b;

	buf_init(&b, 2048);
	spf_check_mailfrom(&t.base, NULL, &q, &o, &err);
	is_int(spf_received_spf(&o, &q, &b), 0, "Received-SPF built");
	is_str(
	    b.data,
	    "pass (mx.example.net: domain of a\"b@example.com designates 192.0.2.3 as permitted "
	    "sender)\r\n\treceiver=mx.example.net; client-ip=192.0.2.3;\r\n"
	    "\tenvelope-from=\"a\\\"b@example.com\"; helo=mail.example.com; identity=mailfrom;\r\n"
	    "\tmechanism=\"ip4:192.0.2.0/24\";",
	    "pass header value, pairs folded before column 78");
	spf_outcome_free(&o);
	buf_free(&b);
	q = req4("2001:db8::1", "bad\r\nhelo(", "u@fail.example");
	spf_check_mailfrom(&t.base, NULL, &q, &o, &err);
	is_int(spf_received_spf(&o, &q, &b), 0, "Received-SPF built for temperror");
	is_str(b.data,
	       "temperror (mx.example.net: domain of u@fail.example could not be checked for "
	       "2001:db8::1: temporary error)\r\n\treceiver=mx.example.net; "
	       "client-ip=\"2001:db8::1\";\r\n\tenvelope-from=\"u@fail.example\"; "
	       "helo=\"bad??helo(\"; identity=mailfrom;\r\n"
	       "\tproblem=\"SPF record look-up of fail.example failed: timeout\";",
	       "temperror header value, control bytes replaced");
	spf_outcome_free(&o);
	buf_free(&b);
	{
		char helo[600];

		memset(helo, 'h', sizeof(helo) - 1);
		helo[sizeof(helo) - 1] = '\0';
		q = req4("192.0.2.3", helo, "x@example.com");
		buf_init(&b, 4096);
		spf_check_mailfrom(&t.base, NULL, &q, &o, &err);
		is_int(spf_received_spf(&o, &q, &b), 0, "Received-SPF with a 599-byte HELO");
		ok(strstr(b.data, "helo=\"hhhhhhhh") != NULL &&
		       strstr(b.data, "hhh...\";") != NULL &&
		       strcspn(strstr(b.data, "helo="), ";") == 5 + 1 + 256 + 3 + 1,
		   "the HELO cut at 256 bytes and marked");
	}
	spf_outcome_free(&o);
	buf_free(&b);
	buf_init(&b, 20);
	is_int(spf_received_spf(&o, &q, &b), -1, "a full buffer is an error");
	buf_free(&b);
}

static const struct zrr prefetch_zone[] = {
    {"example.com", "TXT", "v=spf1 ip4:192.0.2.0/24 a:a.example.com mx exists:%{i}.x.example -all",
     0},
    {"example.com", "MX", "10 mx.example.com", 0},
    {"a.example.com", "A", "203.0.113.17", 0},
};

/* Through a cache that asks ahead: the terms' first look-ups are made
 * before the terms are reached (but not those with macros), and the
 * result is what evaluation in order gives. */
static void
test_prefetch(void)
{
	struct tres t = TRES(prefetch_zone);
	struct dns_cache_opts o = {.prefetch_threads = 4};
	struct dns_resolver *c = dns_cache_new(&t.base, &o, NULL);
	struct spf_request q = req4("192.0.2.77", "helo.example.org", "a@example.com");
	const struct dns_answer *a;
	struct spf_outcome out;

	is_int(spf_check_mailfrom(c, NULL, &q, &out, NULL), 0, "evaluated through the cache");
	is_int(out.result, SPF_PASS, "the first term matches: pass");
	spf_outcome_free(&out);
	/* Waiting for them: they are in flight or answered. */
	dns_query(c, "a.example.com", DNS_T_A, &a, NULL);
	dns_answer_release(a);
	dns_query(c, "example.com", DNS_T_MX, &a, NULL);
	dns_answer_release(a);
	is_int(atomic_load(&t.queries), 3, "the record, a: and mx asked; exists:%%{i} not");
	dns_resolver_free(c);
}

int
main(void)
{
	test_results();
	test_include_redirect();
	test_term_limits();
	test_void_limits();
	test_chains();
	test_name_limits();
	test_timeout();
	test_identities();
	test_exp_too_long();
	test_names();
	test_received();
	test_prefetch();
	return done_testing();
}
