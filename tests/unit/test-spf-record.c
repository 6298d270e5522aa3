/*
 * test-spf-record - the SPF record grammar (RFC 7208 §4.5, §4.6, §5, §6,
 * §12): what parses, into which terms, and what is a permerror.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "spf_record.h"
#include "tap.h"

/* 0 when rec parses, -1 when it is a syntax error. */
static int
parse(const char *rec, size_t len, struct spf_record *r)
{
	char why[128];

	return spf_record_parse(rec, len, r, why, sizeof(why));
}

static int
parses(const char *rec)
{
	struct spf_record r;
	int rc = parse(rec, strlen(rec), &r);

	if (rc == 0)
		spf_record_free(&r);
	return rc;
}

static void
test_valid(void)
{
	static const char *const good[] = {
	    "v=spf1",
	    "V=SpF1 ~all",
	    "v=spf1 a  -all ",
	    "v=spf1 ip4:1.2.3.4 ip4:10.0.0.0/8 ip6:2001:db8::/32 ip6:::1.1.1.1/0",
	    "v=spf1 a/24//64 mx//0 a:foo.example.com/32 mx:%{d}/0",
	    "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
	    "v=spf1 a:foo:bar/baz.example.com a:foo.example.xn--zckzah",
	    "v=spf1 a:mail.example...com a:x.1-2 exists:%{ir}.%{v}._spf.%{d2}",
	    "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
	    "v=spf1 redirect=%{d}.d.spf.example.com. exp=msg.example.com.",
	    "v=spf1 default=+ foo=%{c}%{r}%{t}",
	    "v=spf1 ?include:a.example.com +ptr ptr:example.com -exists:%{l}.x.example",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(parses(good[i]), 0, "valid: %s", good[i]);
}

static void
test_invalid(void)
{
	static const char *const bad[] = {
	    "v=spf1 ip4:1.2.3.4 -all moo",        /* unknown mechanism */
	    "v=spf1 moo.cow/far_out=man:dog/cat", /* not a modifier name */
	    "v=spf1 moo.cow:far_out=man:dog/cat",
	    "v=spf1 redirect:t2.example.com", /* redirect is a modifier */
	    "v=spf1 a:foo-bar -all",          /* domain-spec without a toplabel */
	    "v=spf1 -all.",
	    "v=spf1 -all:foobar",
	    "v=spf1 -all/8",
	    "v=spf1 ptr/0 -all",
	    "v=spf1 ptr:",
	    "v=spf1 a//33 a//129",
	    "v=spf1 a/33",
	    "v=spf1 a/24/64",
	    "v=spf1 a//129",
	    "v=spf1 a:111.222.33.44",
	    "v=spf1 a:abc.123",
	    "v=spf1 a:museum",
	    "v=spf1 a:museum.",
	    "v=spf1 a:example.com:8080",
	    "v=spf1 a:example.-com",
	    "v=spf1 a:",
	    "v=spf1 include +all",
	    "v=spf1 include:ip5.example.com/24",
	    "v=spf1 include:",
	    "v=spf1 mx:",
	    "v=spf1 exists",
	    "v=spf1 exists:",
	    "v=spf1 exists:mail.example.com/24",
	    "v=spf1 ip4:1.2.3.4/33",
	    "v=spf1 ip4:1.2.3.4/032",
	    "v=spf1 ip4",
	    "v=spf1 ip4:1.2.3.4:8080",
	    "v=spf1 ip4:1.2.3",
	    "v=spf1 ip4:1.2.3.4//32",
	    "v=spf1 ip4:01.2.3.4",
	    "v=spf1 ip4:256.1.1.1",
	    "v=spf1 -all ip6",
	    "v=spf1 ip6:::1.1.1.1/129",
	    "v=spf1 ip6:::1.1.1.1//33",
	    "v=spf1 ip6::CAFE::BABE",
	    "v=spf1 ip6:1.2.3.4",
	    "v=spf1 exp= -all",
	    "v=spf1 exp=-all",
	    "v=spf1 redirect=-all ?all",
	    "v=spf1 ?all redirect=",
	    "v=spf1 exp=a.example.com exp=b.example.com",
	    "v=spf1 redirect=a.com redirect=a.com",
	    "v=spf1 1up=foo",
	    "v=spf1 =all",
	    "v=spf1 -all foo=%abc",
	    "v=spf1 exp=%{r}.example.com",
	    "v=spf1 a:%{c}.example.com",
	    "v=spf1 a:%{a}.example.com",
	    "v=spf1 -exists:%(ir).sbl.example.com",
	    "v=spf1 exists:foo%.sbl.example.com",
	    "v=spf1 exists:%{d0}.example.com",
	    "v=spf1 exists:%{d.example.com",
	    "v=spf1 a:%{d}x",
	    "v=spf1 +-all",
	    "v=spf1 all-",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(parses(bad[i]), -1, "invalid: %s", bad[i]);
}

static void
test_bytes(void)
{
	struct spf_record r;

	is_int(parse("v=spf1 a:foo.example.com\0", 25, &r), -1, "NUL inside a term");
	is_int(parse("v=spf1 a:ctrl.example.com\rptr -all", 34, &r), -1, "CR between terms");
	is_int(parse("v=spf1 ip4:192.0.2.5\n include:x.example", 39, &r), -1, "LF after a term");
	is_int(parse("v=spf1 \x80"
	             "a:example.net -all",
	             26, &r),
	       -1, "8-bit byte before a term");
	is_int(parse("v=spf1 a:\xEF\xBB\xBFgarbage.example.net", 30, &r), -1, "8-bit in domain");
	is_int(parse("v=spf1\t-all", 11, &r), -1, "tab is not a separator");
	is_int(parse("v=spf10", 7, &r), -1, "v=spf10 is not version 1");
}

static void
test_terms(void)
{
	struct spf_record r;
	const char *rec = "v=spf1 -a:foo.example.com/24//64 ~mx ip4:192.0.2.0/24 "
	                  "?ip6:2001:DB8::/32 exp=e.%{d} unknown=x redirect=r.example.com";
	struct in_addr v4;

	if (parse(rec, strlen(rec), &r) != 0) {
		ok(0, "terms record parses");
		return;
	}
	is_int(r.nterms, 4, "four mechanisms, modifiers apart");
	is_int(r.terms[0].mech, SPF_MECH_A, "first is a");
	is_int(r.terms[0].qualifier, '-', "with qualifier -");
	is_mem(r.terms[0].spec, r.terms[0].spec_len, "foo.example.com", 15, "domain-spec");
	is_int(r.terms[0].cidr4, 24, "ip4 cidr");
	is_int(r.terms[0].cidr6, 64, "ip6 cidr");
	is_mem(r.terms[0].text, r.terms[0].text_len, "-a:foo.example.com/24//64", 25, "term text");
	is_int(r.terms[1].mech, SPF_MECH_MX, "mx");
	ok(r.terms[1].spec == NULL, "mx without domain-spec");
	is_int(r.terms[1].cidr4, 32, "default ip4 cidr");
	is_int(r.terms[1].cidr6, 128, "default ip6 cidr");
	inet_pton(AF_INET, "192.0.2.0", &v4);
	ok(r.terms[2].net.v4.s_addr == v4.s_addr, "ip4 network");
	is_int(r.terms[3].qualifier, '?', "ip6 qualifier");
	is_int(r.terms[3].cidr6, 32, "ip6 cidr");
	is_mem(r.exp, r.exp_len, "e.%{d}", 6, "exp domain-spec");
	is_mem(r.redirect, r.redirect_len, "r.example.com", 13, "redirect domain-spec");
	is_int(r.has_all, 0, "no all");
	spf_record_free(&r);
}

/* Records of n copies of term, separated by one space. */
static char *
repeat(const char *term, size_t n, size_t *len)
{
	size_t tl = strlen(term);
	char *s = malloc(6 + n * (tl + 1) + 1);

	memcpy(s, "v=spf1", 6);
	*len = 6;
	for (size_t i = 0; i < n; i++) {
		s[(*len)++] = ' ';
		memcpy(s + *len, term, tl);
		*len += tl;
	}
	s[*len] = '\0';
	return s;
}

static void
test_limits(void)
{
	struct spf_record r;
	size_t len;
	char *s;

	s = repeat("a", SPF_RECORD_MAX_TERMS, &len);
	is_int(parse(s, len, &r), 0, "exactly %d terms parse", SPF_RECORD_MAX_TERMS);
	is_int(r.nterms, SPF_RECORD_MAX_TERMS, "all of them kept");
	spf_record_free(&r);
	free(s);
	s = repeat("a", SPF_RECORD_MAX_TERMS + 1, &len);
	is_int(parse(s, len, &r), -1, "one term more is refused");
	free(s);
	s = repeat("ip4:1.2.3.4", 1000, &len);
	is_int(parse(s, len, &r), -1, "1000 ip4 terms are longer than %d bytes",
	       SPF_RECORD_MAX_LEN);
	free(s);
	s = malloc(SPF_RECORD_MAX_LEN + 2);
	memcpy(s, "v=spf1 a:", 9);
	memset(s + 9, 'x', SPF_RECORD_MAX_LEN - 9 - 4);
	memcpy(s + SPF_RECORD_MAX_LEN - 4, ".com", 4);
	is_int(parse(s, SPF_RECORD_MAX_LEN, &r), 0, "a record of exactly the maximum length");
	spf_record_free(&r);
	s[SPF_RECORD_MAX_LEN - 4] = 'y';
	memcpy(s + SPF_RECORD_MAX_LEN - 3, ".com", 4);
	is_int(parse(s, SPF_RECORD_MAX_LEN + 1, &r), -1, "one byte longer is refused");
	free(s);
	s = repeat("%{d}", 1600, &len);
	memcpy(s, "v=spf1 a:", 9);
	for (size_t i = 9; i < len; i++)
		if (s[i] == ' ')
			s[i] = '.';
	is_int(parse(s, len, &r), 0, "one 8 kB term of macros parses");
	spf_record_free(&r);
	free(s);
}

static void
test_select(void)
{
	struct dns_txt_string s1[] = {{(const unsigned char *)"v=spf1 ip4:", 11},
	                              {(const unsigned char *)"192.0.2.5 -all", 14}};
	struct dns_rr rrs[3] = {{.type = DNS_T_TXT}, {.type = DNS_T_TXT}, {.type = DNS_T_TXT}};
	struct dns_answer a = {.status = DNS_RECORDS, .count = 2, .rrs = rrs};
	const char *rec = NULL;
	size_t len = 0;

	rrs[0].u.txt.nstrings = 2;
	rrs[0].u.txt.strings = s1;
	rrs[0].u.txt.joined = (const unsigned char *)"v=spf1 ip4:192.0.2.5 -all";
	rrs[0].u.txt.joined_len = 25;
	rrs[1].u.txt.joined = (const unsigned char *)"v=spf10 +all";
	rrs[1].u.txt.joined_len = 12;
	rrs[2].u.txt.joined = (const unsigned char *)"V=SPF1";
	rrs[2].u.txt.joined_len = 6;
	is_int(spf_record_select(&a, &rec, &len), SPF_SELECT_ONE, "one v=spf1 record among TXT");
	is_mem(rec, len, "v=spf1 ip4:192.0.2.5 -all", 25, "strings joined without spaces");
	a.count = 3;
	is_int(spf_record_select(&a, &rec, &len), SPF_SELECT_MANY,
	       "two records (case-insensitive)");
	a.rrs = rrs + 1;
	a.count = 1;
	is_int(spf_record_select(&a, &rec, &len), SPF_SELECT_NONE, "v=spf10 is no SPF record");
}

int
main(void)
{
	test_valid();
	test_invalid();
	test_bytes();
	test_terms();
	test_limits();
	test_select();
	return done_testing();
}
