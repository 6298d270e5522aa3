/*
 * test-arc-hdr - the ARC header fields (RFC 8617 §4.1): the instance of
 * each kind, the AAR payload, AMS and AS in their DKIM-derived forms,
 * cv=, and a message's fields sorted into sets with every problem named.
 */
#include "autoconf.h"

#include "arc-util.h"
#include "arc_hdr.h"
#include "tap.h"

static struct arc_field
field(const char *raw)
{
	const char *colon = strchr(raw, ':');

	return (struct arc_field){raw, strlen(raw), (size_t)(colon - raw) + 1};
}

static void
test_aar(void)
{
	static const struct {
		const char *raw, *reason;
		unsigned i;
		const char *payload;
	} cases[] = {
	    {"ARC-Authentication-Results: i=1; mx.example.org; spf=pass", NULL, 1,
	     " mx.example.org; spf=pass"},
	    {"ARC-Authentication-Results:\r\n\t i = 12 (twelve)\r\n ; x; none", NULL, 12,
	     " x; none"},
	    {"ARC-Authentication-Results: (c) i=50;x", NULL, 50, "x"},
	    {"ARC-Authentication-Results: i=07; x", NULL, 7, " x"},
	    {"ARC-Authentication-Results: i=0; x", "syntax error: i=", 0, NULL},
	    {"ARC-Authentication-Results: i=51; x", "too many ARC sets", 0, NULL},
	    {"ARC-Authentication-Results: i=100; x", "syntax error: i=", 0, NULL},
	    {"ARC-Authentication-Results: I=1; x", "syntax error: i=", 0, NULL},
	    {"ARC-Authentication-Results: i=1 x; y", "syntax error: i=", 0, NULL},
	    {"ARC-Authentication-Results: i=1", "syntax error: i=", 0, NULL},
	    {"ARC-Authentication-Results: i=; x", "syntax error: i=", 0, NULL},
	    {"ARC-Authentication-Results: i=1 (open; x", "syntax error: i=", 0, NULL},
	    {"ARC-Authentication-Results: mx.example.org; i=1", "syntax error: i=", 0, NULL},
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct arc_field f = field(cases[k].raw);
		unsigned i = 0;
		size_t off = 0;
		const char *r = arc_hdr_parse_aar(&f, &i, &off);

		is_str(r, cases[k].reason, "AAR %zu: reason", k);
		if (cases[k].reason != NULL)
			continue;
		is_int(i, cases[k].i, "AAR %zu: instance", k);
		is_str(cases[k].raw + off, cases[k].payload, "AAR %zu: payload", k);
	}
}

#define AMS_TAGS "a=rsa-sha256; d=Example.ORG; s=sel; h=from:subject; bh=AAAA; b=AQID"

static void
test_ams(void)
{
	struct dkim_sig sig;
	struct arc_field f = field("ARC-Message-Signature: i=2; c=relaxed/simple; v=9; " AMS_TAGS);
	unsigned i = 0;

	is_str(arc_hdr_parse_ams(&f, &i, &sig), NULL, "AMS parses (v= ignored)");
	is_int(i, 2, "AMS instance");
	is_str(sig.d, "example.org", "d= lower-cased");
	is_str(sig.s, "sel", "s=");
	is_str(sig.i, "@example.org", "no AUID: d= itself for the key checks");
	is_int(sig.alg, DKIM_ALG_RSA_SHA256, "a=");
	ok(sig.hcanon == DKIM_CANON_RELAXED && sig.bcanon == DKIM_CANON_SIMPLE, "c=");
	is_int(sig.nheaders, 2, "h=");
	is_int(sig.b_len, 3, "b=");
	is_int(sig.b_region_off, strlen(f.raw) - 4, "b= region");
	f = field("ARC-Message-Signature: c=relaxed/simple; " AMS_TAGS);
	is_str(arc_hdr_parse_ams(&f, &i, &sig), "syntax error: missing i=", "AMS without i=");
	f = field("ARC-Message-Signature: i=a; " AMS_TAGS);
	is_str(arc_hdr_parse_ams(&f, &i, &sig), "syntax error: i=", "AMS i= not a number");
	f = field("ARC-Message-Signature: i=1; a=rsa-sha256; d=example.org; s=sel; h=from:"
	          "ARC-Seal; bh=AAAA; b=AQID");
	is_str(arc_hdr_parse_ams(&f, &i, &sig),
	       "syntax error: ARC-Seal in h=", "an AMS must not sign ARC-Seal");
	f = field("ARC-Message-Signature: i=1; a=rsa-sha256; d=example.org; s=sel; h=from; b=AQID");
	is_str(arc_hdr_parse_ams(&f, &i, &sig), "syntax error: missing bh=", "AMS without bh=");
	f = field("ARC-Message-Signature: i=1; a=rsa-sha256; d=example.org; s=sel; h=from; "
	          "bh=AAAA; b=");
	is_str(arc_hdr_parse_ams(&f, &i, &sig), "syntax error: b=", "AMS with an empty b=");
	f = field("ARC-Message-Signature: i=1; i=1; " AMS_TAGS);
	is_str(arc_hdr_parse_ams(&f, &i, &sig), "syntax error: duplicate tag", "duplicate i=");
}

static void
test_seal(void)
{
	struct dkim_sig sig;
	enum arc_cv cv = ARC_CV_FAIL;
	unsigned i = 0;
	struct arc_field f =
	    field("ARC-Seal: i=3; cv=Pass; a=ed25519-sha256; d=example.org; s=sel; t=12345;"
	          " x=1; b=AQID");

	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), NULL, "AS parses (x= ignored)");
	is_int(i, 3, "AS instance");
	is_int(cv, ARC_CV_PASS, "cv= is case-insensitive");
	is_int(sig.alg, DKIM_ALG_ED25519_SHA256, "AS a=");
	ok(sig.hcanon == DKIM_CANON_RELAXED, "relaxed, whatever c= says");
	ok(sig.has_t && sig.t == 12345 && !sig.has_x, "t=, and x= is not an AS tag");
	is_str(sig.i, "@example.org", "AS: d= as the identity");
	f = field("ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.org; s=sel; b=AQID");
	arc_hdr_parse_seal(&f, &i, &cv, &sig);
	is_int(cv, ARC_CV_NONE, "cv=none");
	f = field("ARC-Seal: i=1; cv=fail; a=rsa-sha256; d=example.org; s=sel; b=AQID");
	arc_hdr_parse_seal(&f, &i, &cv, &sig);
	is_int(cv, ARC_CV_FAIL, "cv=fail");
	f = field("ARC-Seal: i=1; a=rsa-sha256; d=example.org; s=sel; b=AQID");
	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), "syntax error: missing cv=", "no cv=");
	f = field("ARC-Seal: i=1; cv=maybe; a=rsa-sha256; d=example.org; s=sel; b=AQID");
	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), "syntax error: cv=", "cv=maybe");
	f = field("ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.org; s=sel; h=from; b=AQID");
	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), "syntax error: h= in ARC-Seal",
	       "h= is not allowed in a seal (§4.1.3)");
	f = field("ARC-Seal: i=1; cv=none; d=example.org; s=sel; b=AQID");
	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), "syntax error: missing a=", "no a=");
	f = field("ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.org; s=sel; b=");
	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), "syntax error: b=", "an empty b=");
	f = field("ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.org; s=sel; t=x; b=AQID");
	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), "syntax error: t=", "t= not a number");
	f = field("ARC-Seal: i=60; cv=none; a=rsa-sha256; d=example.org; s=sel; b=AQID");
	is_str(arc_hdr_parse_seal(&f, &i, &cv, &sig), "too many ARC sets", "i=60");
}

static const char two_sets[] =
    "ARC-Seal: i=2; cv=pass; a=rsa-sha256; d=b.example; s=s; b=AQID\r\n"
    "ARC-Message-Signature: i=2; a=rsa-sha256; d=b.example; s=s; h=from; bh=AAAA; b=AQID\r\n"
    "ARC-Authentication-Results: i=2; b.example; arc=pass\r\n"
    "Received: from a by b\r\n"
    "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=a.example; s=s; b=AQID\r\n"
    "ARC-Message-Signature: i=1; a=rsa-sha256; d=a.example; s=s; h=from; bh=AAAA; b=AQID\r\n"
    "arc-authentication-results: i=1; a.example; arc=none\r\n"
    "From: x@example.com\r\n\r\n";

/* Sorts text's fields; only the counts and the problem of s are used
 * after (the fields go with the message). */
static void
collect(const char *text, size_t max, struct arc_sets *s)
{
	struct tmsg m;

	tmsg_parse(&m, text, strlen(text));
	arc_hdr_collect(m.h, max, s);
	tmsg_free(&m);
}

static void
test_collect(void)
{
	struct arc_sets s;
	char *t;
	struct tmsg m;

	tmsg_parse(&m, two_sets, strlen(two_sets));
	arc_hdr_collect(m.h, 4096, &s);
	is_int(s.count, 6, "six ARC fields");
	is_int(s.n, 2, "two sets");
	is_str(s.problem, NULL, "well formed");
	ok(!s.too_many, "not too many");
	ok(strncmp(s.f[1][ARC_AAR].raw, "arc-authentication-results: i=1", 31) == 0,
	   "AAR 1 found (names are case-insensitive)");
	ok(strncmp(s.f[2][ARC_AS].raw, "ARC-Seal: i=2", 13) == 0, "AS 2 found");
	is_int(s.f[1][ARC_AS].value_off, 9, "value offset kept");
	tmsg_free(&m);
	collect(two_sets, 60, &s);
	is_str(s.problem, "ARC field too long", "a field over the limit");
	t = areplace(two_sets, "ARC-Seal: i=1;", "ARC-Seal: i=2;");
	collect(t, 4096, &s);
	is_str(s.problem, "duplicate ARC field", "two seals for instance 2");
	is_int(s.n, 2, "n still 2");
	free(t);
	t = areplace(two_sets, "ARC-Seal: i=2;", "ARC-Seal: i=51;");
	collect(t, 4096, &s);
	is_str(s.problem, "too many ARC sets", "instance 51");
	ok(s.too_many, "too many");
	is_int(s.n, 2, "the valid instances still counted");
	free(t);
	t = areplace(two_sets, "ARC-Seal: i=2;", "ARC-Seal: i=x;");
	collect(t, 4096, &s);
	is_str(s.problem, "syntax error: i=", "an unreadable instance");
	free(t);
}

static void
test_many_fields(void)
{
	size_t size = 8192, n = 0;
	char *text = malloc(size);
	struct arc_sets s;

	for (int k = 0; k < 151; k++)
		n += (size_t)snprintf(text + n, size - n, "ARC-Authentication-Results: i=%d; x\r\n",
		                      k % 50 + 1);
	snprintf(text + n, size - n, "From: x@example.com\r\n\r\n");
	collect(text, 4096, &s);
	ok(s.too_many, "more than 150 ARC fields");
	is_int(s.count, 151, "stopped at the first past the limit");
	free(text);
}

static void
test_canon_set(void)
{
	static const char want[] =
	    "arc-authentication-results:i=1; a.example; arc=none\r\n"
	    "arc-message-signature:i=1; a=rsa-sha256; d=a.example; s=s; "
	    "h=from; bh=AAAA; b=AQID\r\n"
	    "arc-seal:i=1; cv=none; a=rsa-sha256; d=a.example; s=s; b=AQID\r\n";
	struct arc_sets s;
	struct buf out;
	struct tmsg m;

	tmsg_parse(&m, two_sets, strlen(two_sets));
	arc_hdr_collect(m.h, 4096, &s);
	buf_init(&out, 4096);
	is_int(arc_hdr_canon_set(s.f[1], &out), 0, "set 1 canonicalized");
	is_mem(out.data, out.len, want, strlen(want), "AAR, AMS, AS, relaxed, each with CRLF");
	buf_free(&out);
	buf_init(&out, 20);
	is_int(arc_hdr_canon_set(s.f[1], &out), -1, "over the buffer's maximum");
	buf_free(&out);
	tmsg_free(&m);
}

static void
test_names(void)
{
	is_str(arc_kind_name(ARC_AAR), "ARC-Authentication-Results", "AAR name");
	is_str(arc_kind_name(ARC_AMS), "ARC-Message-Signature", "AMS name");
	is_str(arc_kind_name(ARC_AS), "ARC-Seal", "AS name");
	is_str(arc_cv_name(ARC_CV_NONE), "none", "cv none");
	is_str(arc_cv_name(ARC_CV_PASS), "pass", "cv pass");
	is_str(arc_cv_name(ARC_CV_FAIL), "fail", "cv fail");
}

int
main(void)
{
	test_aar();
	test_ams();
	test_seal();
	test_collect();
	test_many_fields();
	test_canon_set();
	test_names();
	return done_testing();
}
