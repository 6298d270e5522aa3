/*
 * test-dkim-sig - DKIM-Signature parsing and validation (RFC 6376 §3.5),
 * one case per reason.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "dkim_sig.h"
#include "tap.h"

#define PREFIX "DKIM-Signature:"
#define BH "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="

static char raw[4096];
static size_t raw_len;

static const char *
parse(const char *value, struct dkim_sig *sig)
{
	raw_len = (size_t)snprintf(raw, sizeof(raw), "%s%s", PREFIX, value);
	return dkim_sig_parse(raw, raw_len, strlen(PREFIX), sig);
}

static void
test_full(void)
{
	static struct dkim_sig sig;
	const char *v =
	    " v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel;\r\n"
	    "\th=From:To:\r\n subject; bh=" BH ";\r\n\tb=AQID\r\n\t BA== ; t=100; x=200;"
	    " l=5; i=user@Sub.example.com; q=dns/txt; z=From:foo; foo=bar";
	const char *b;

	is_str(parse(v, &sig), NULL, "a full signature is usable");
	is_int(sig.alg, DKIM_ALG_RSA_SHA256, "a=");
	is_int(sig.hcanon, DKIM_CANON_RELAXED, "c= header");
	is_int(sig.bcanon, DKIM_CANON_SIMPLE, "c= body");
	is_str(sig.d, "example.com", "d= lower-cased");
	is_str(sig.s, "sel", "s=");
	is_str(sig.i, "user@Sub.example.com", "i= as written");
	is_str(sig.a, "rsa-sha256", "a= as written");
	is_int(sig.nheaders, 3, "three names in h=");
	is_mem(sig.headers[2].p, sig.headers[2].len, "subject", 7, "h= names without folding");
	is_int(sig.bh_len, 32, "bh= decoded");
	is_int(sig.b_len, 4, "b= decoded across folding");
	is_mem(sig.b, 4, "\x01\x02\x03\x04", 4, "b= bytes");
	is_str(sig.b_prefix, "AQIDBA==", "b= prefix without whitespace");
	b = strstr(raw, "b=AQID") + 2;
	is_int(sig.b_region_off, b - raw, "b= region starts after '='");
	is_mem(raw + sig.b_region_off, sig.b_region_len, "AQID\r\n\t BA== ", 13,
	       "b= region runs to ';'");
	ok(sig.has_t && sig.t == 100 && sig.has_x && sig.x == 200, "t= and x=");
	ok(sig.has_l && sig.l == 5, "l=");
}

static void
test_defaults(void)
{
	static struct dkim_sig sig;

	is_str(parse("v=1;a=ed25519-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID", &sig), NULL,
	       "a minimal signature is usable");
	is_int(sig.alg, DKIM_ALG_ED25519_SHA256, "ed25519-sha256");
	is_int(sig.hcanon, DKIM_CANON_SIMPLE, "default header canonicalization");
	is_int(sig.bcanon, DKIM_CANON_SIMPLE, "default body canonicalization");
	is_str(sig.i, "@example.com", "default i=");
	ok(!sig.has_l && !sig.has_t && !sig.has_x, "no l= t= x=");
	is_str(parse("v=1;a=RSA-SHA1;c=Relaxed;d=example.com;s=s;h=FROM;bh=" BH ";b=AQID", &sig),
	       NULL, "literals are case-insensitive");
	is_int(sig.alg, DKIM_ALG_RSA_SHA1, "rsa-sha1");
	is_int(sig.hcanon, DKIM_CANON_RELAXED, "c=relaxed: header relaxed");
	is_int(sig.bcanon, DKIM_CANON_SIMPLE, "c=relaxed: body simple");
	is_str(parse("v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH
	             ";b=AQID;i=@EXAMPLE.com;q=foo:dns/txt;x=10",
	             &sig),
	       NULL, "i= in other case, q= with another method, x= without t=");
}

/* Each case replaces one tag of a good signature. */
static const struct {
	const char *tags, *reason;
} bad[] = {
    {"a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID", "syntax error: missing v="},
    {"v=1;d=example.com;s=s;h=from;bh=" BH ";b=AQID", "syntax error: missing a="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH, "syntax error: missing b="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;b=AQID", "syntax error: missing bh="},
    {"v=1;a=rsa-sha256;s=s;h=from;bh=" BH ";b=AQID", "syntax error: missing d="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;bh=" BH ";b=AQID", "syntax error: missing h="},
    {"v=1;a=rsa-sha256;d=example.com;h=from;bh=" BH ";b=AQID", "syntax error: missing s="},
    {"v=2;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID", "incompatible version"},
    {"v=1;a=rsa-md5;d=example.com;s=s;h=from;bh=" BH ";b=AQID", "algorithm not supported"},
    {"v=1;a=rsa-sha256;c=simple/fancy;d=example.com;s=s;h=from;bh=" BH ";b=AQID",
     "canonicalization not supported"},
    {"v=1;a=rsa-sha256;c=fancy;d=example.com;s=s;h=from;bh=" BH ";b=AQID",
     "canonicalization not supported"},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=to:subject;bh=" BH ";b=AQID", "From field not signed"},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from::to;bh=" BH ";b=AQID",
     "syntax error: empty name in h="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from:t o;bh=" BH ";b=AQID",
     "syntax error: bad name in h="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;i=u@other.com", "domain mismatch"},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;i=u@badexample.com",
     "domain mismatch"},
    {"v=1;a=rsa-sha256;d=sub.example.com;s=s;h=from;bh=" BH ";b=AQID;i=u@example.com",
     "domain mismatch"},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;i=user",
     "syntax error: i= has no @"},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;i=u@", "syntax error: i= domain"},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;q=dns",
     "query method not supported"},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;t=abc", "syntax error: t="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;t=1234567890123",
     "syntax error: t="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;x=", "syntax error: x="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;t=100;x=100",
     "syntax error: x= not after t="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;l=-1", "syntax error: l="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;l=18446744073709551616",
     "syntax error: l="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQ!D", "syntax error: b="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=", "syntax error: b="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=;b=AQID", "syntax error: bh="},
    {"v=1;a=rsa-sha256;d=exa mple.com;s=s;h=from;bh=" BH ";b=AQID", "syntax error: d="},
    {"v=1;a=rsa-sha256;d=example..com;s=s;h=from;bh=" BH ";b=AQID", "syntax error: d="},
    {"v=1;a=rsa-sha256;d=example.com;s=s/x;h=from;bh=" BH ";b=AQID", "syntax error: s="},
    {"v=1;a=rsa-sha256;d=example.com;s=s;h=from;bh=" BH ";b=AQID;d=example.com",
     "syntax error: duplicate tag"},
    {"v=1;a=rsa-sha256;d=example.com;;s=s;h=from;bh=" BH ";b=AQID", "syntax error: bad tag list"},
};

static void
test_bad(void)
{
	static struct dkim_sig sig;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_str(parse(bad[i].tags, &sig), bad[i].reason, "bad %zu: %s", i, bad[i].reason);
	parse("v=2;a=rsa-sha256;d=Example.com;s=sel;h=from;bh=" BH ";b=AQID;i=u@example.com", &sig);
	is_str(sig.d, "example.com", "d= reported on error");
	is_str(sig.s, "sel", "s= reported on error");
	is_str(sig.i, "u@example.com", "i= reported on error");
}

static void
test_limits(void)
{
	static struct dkim_sig sig;
	static char v[8192];
	size_t n = (size_t)snprintf(v, sizeof(v),
	                            "v=1;a=rsa-sha256;d=example.com;s=s;bh=" BH ";b=AQID;h=from");

	for (int i = 0; i < DKIM_SIG_MAX_HEADERS; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, ":x");
	is_str(parse(v, &sig), "syntax error: too many names in h=", "h= over the limit");
	is_str(dkim_sig_parse("X", 1, 5, &sig), "syntax error: no value", "value_off past the end");
	is_str(dkim_alg_name(DKIM_ALG_ED25519_SHA256), "ed25519-sha256", "algorithm name");
	is_str(dkim_alg_hash_name(DKIM_ALG_RSA_SHA1), "sha1", "hash name");
	ok(dkim_domain_valid("a-b_c.example", 13), "domain with - and _");
	ok(!dkim_domain_valid("example.", 8), "trailing dot");
	ok(!dkim_domain_valid("", 0), "empty domain");
}

/* The ARC forms (RFC 8617 §4.1.2, §4.1.3) from a tag list. */
static void
test_forms(void)
{
	static const char ams[] = " i=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AQID";
	static const char seal[] = " i=1; cv=none; a=rsa-sha256; d=example.org; s=s; b=AQID";
	struct dkim_tag_list l;
	struct dkim_sig sig;

	dkim_tag_parse(ams, strlen(ams), &l);
	is_str(dkim_sig_parse_tags(&l, 0, DKIM_FORM_SIGNATURE, &sig),
	       "syntax error: missing v=", "an AMS is not a DKIM-Signature");
	is_str(dkim_sig_parse_tags(&l, 0, DKIM_FORM_AMS, &sig), NULL, "AMS form: no v= needed");
	is_str(sig.i, "@example.org", "AMS form: i= is not an AUID");
	ok(sig.hcanon == DKIM_CANON_SIMPLE && sig.bcanon == DKIM_CANON_SIMPLE, "AMS: c= default");
	is_str(dkim_sig_parse_tags(&l, 0, DKIM_FORM_SEAL, &sig), "syntax error: h= in ARC-Seal",
	       "the seal form refuses h=");
	dkim_tag_parse(seal, strlen(seal), &l);
	is_str(dkim_sig_parse_tags(&l, 0, DKIM_FORM_AMS, &sig),
	       "syntax error: missing bh=", "a seal is not an AMS");
	is_str(dkim_sig_parse_tags(&l, 0, DKIM_FORM_SEAL, &sig), NULL, "seal form");
	ok(sig.hcanon == DKIM_CANON_RELAXED, "a seal is relaxed");
	is_int(sig.b_region_off, strlen(seal) - 4, "b= region from the list's offset");
	is_str(dkim_tag_reason(DKIM_TAG_DUPLICATE), "syntax error: duplicate tag", "tag reason");
	is_str(dkim_tag_reason(DKIM_TAG_OK), NULL, "no reason for a good list");
}

int
main(void)
{
	test_full();
	test_forms();
	test_defaults();
	test_bad();
	test_limits();
	return done_testing();
}
