/*
 * test-dkim - the verifier end to end on messages signed here or by hand:
 * every result and reason, several signatures, chunked bodies, and flat
 * memory over a 100 MB body.
 */
#include "autoconf.h"

#include <sys/resource.h>

#include "dkim-util.h"
#include "tap.h"

#define NOW 1700000000

static const char msg1[] = "From: Joe <joe@example.com>\r\n"
                           "To: Suzie <suzie@example.net>\r\n"
                           "Subject: Is dinner ready?\r\n"
                           "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
                           "\r\n"
                           "Hi.\r\n"
                           "\r\n"
                           "We lost the game. Are you hungry yet?\r\n"
                           "\r\n"
                           "Joe.\r\n";

static struct tkey ed, rsa, rsa512;
static char zone[16384];

static struct dkim_sign_opts
opts(enum dkim_canon h, enum dkim_canon b, const char *sel)
{
	struct dkim_sign_opts o = {0};

	o.domain = "example.com";
	o.selector = sel;
	o.hcanon = h;
	o.bcanon = b;
	o.headers = "from:to:subject:date";
	o.now = NOW;
	return o;
}

/* Verifies and checks the first result. */
static void
expect(const char *text, const struct dkim_verify_opts *vo, enum dkim_result want,
       const char *reason, const char *name)
{
	struct dkim_verify_opts def = {.now = NOW + 10};
	struct dkim_verifier *v = tverify(text, zone, NULL, vo != NULL ? vo : &def, 0);
	const struct dkim_sig_result *r = dkim_verifier_result(v, 0);

	ok(r != NULL, "%s: has a result", name);
	if (r != NULL) {
		is_str(dkim_result_name(r->result), dkim_result_name(want), "%s: result", name);
		is_str(r->reason, reason, "%s: reason", name);
	}
	dkim_verifier_free(v);
}

/* Returns a copy of text with the first occurrence of from replaced. */
static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) + strlen(to) + 1;
	char *out = malloc(n);

	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void
test_pass(void)
{
	struct dkim_sign_opts o = opts(DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, "rsa");
	char *s = tsign(&rsa, &o, msg1);
	struct dkim_verify_opts vo = {.now = NOW + 10};
	struct dkim_verifier *v;
	const struct dkim_sig_result *r;

	ok(s != NULL, "signed with RSA");
	v = tverify(s, zone, NULL, &vo, 0);
	is_int(dkim_verifier_count(v), 1, "one signature");
	r = dkim_verifier_result(v, 0);
	is_str(dkim_result_name(r->result), "pass", "RSA relaxed/relaxed passes");
	is_str(r->reason, NULL, "no reason on pass");
	is_str(r->d, "example.com", "d");
	is_str(r->s, "rsa", "s");
	is_str(r->i, "@example.com", "default i");
	is_str(r->a, "rsa-sha256", "a");
	is_int(strlen(r->b_prefix), 16, "16 characters of b=");
	ok(strstr(s, r->b_prefix) != NULL, "b prefix is from the field");
	is_int(r->key_bits, 1024, "key bits");
	is_int(r->testing, 0, "not testing");
	is_int(r->partial_body, 0, "whole body signed");
	ok(dkim_verifier_result(v, 1) == NULL, "no second result");
	dkim_verifier_free(v);
	/* The same in chunks of every small size. */
	for (size_t step = 1; step < 8; step++) {
		v = tverify(s, zone, NULL, &vo, step);
		is_int(dkim_verifier_result(v, 0)->result, DKIM_PASS, "body in %zu-byte chunks",
		       step);
		dkim_verifier_free(v);
	}
	free(s);
	o = opts(DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, "ed");
	s = tsign(&ed, &o, msg1);
	expect(s, NULL, DKIM_PASS, NULL, "Ed25519 simple/simple");
	free(s);
}

static void
test_mutations(void)
{
	struct dkim_sign_opts o = opts(DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, "ed");
	struct dkim_sign_opts rel = opts(DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, "ed");
	char *s = tsign(&ed, &o, msg1), *r = tsign(&ed, &rel, msg1), *m;

	m = replace(s, "We lost", "We won");
	expect(m, NULL, DKIM_FAIL, "body hash mismatch", "altered body");
	free(m);
	m = replace(s, "Is dinner ready?", "Is lunch ready?");
	expect(m, NULL, DKIM_FAIL, "signature mismatch", "altered subject");
	free(m);
	m = replace(s, "Subject: Is dinner", "Subject: Is\r\n dinner");
	expect(m, NULL, DKIM_FAIL, "signature mismatch", "simple: refolded header");
	free(m);
	m = replace(r, "Subject: Is dinner", "Subject: Is\r\n\t  dinner");
	expect(m, NULL, DKIM_PASS, NULL, "relaxed: refolded header");
	free(m);
	m = replace(s, "Subject:", "SUBJECT:");
	expect(m, NULL, DKIM_FAIL, "signature mismatch", "simple: re-cased header name");
	free(m);
	m = replace(r, "Subject:", "SUBJECT :");
	expect(m, NULL, DKIM_PASS, NULL, "relaxed: re-cased header name, space before colon");
	free(m);
	m = replace(r, "Joe.\r\n", "Joe.  \r\n\r\n\r\n");
	expect(m, NULL, DKIM_PASS, NULL, "relaxed: trailing whitespace and empty lines");
	free(m);
	m = replace(s, "Joe.\r\n", "Joe.\r\n\r\n\r\n");
	expect(m, NULL, DKIM_PASS, NULL, "simple: trailing empty lines");
	free(m);
	m = replace(s, "Joe.\r\n", "Joe. \r\n");
	expect(m, NULL, DKIM_FAIL, "body hash mismatch", "simple: trailing space");
	free(m);
	m = replace(s, "Date:", "Cc: x@example.org\r\nDate:");
	expect(m, NULL, DKIM_PASS, NULL, "an unsigned field added");
	free(m);
	m = replace(s, "Date:", "Subject: second\r\nDate:");
	expect(m, NULL, DKIM_FAIL, "signature mismatch",
	       "a second Subject below the first is the one selected (§5.4.2)");
	free(m);
	m = replace(s, "b=", "b= ");
	expect(m, NULL, DKIM_PASS, NULL, "whitespace inside b= is ignored even with simple");
	free(m);
	free(s);
	free(r);
}

static void
test_oversign_and_length(void)
{
	struct dkim_sign_opts o = opts(DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE, "ed");
	struct dkim_verify_opts vo = {.now = NOW + 10};
	struct dkim_verifier *v;
	char *s, *m;

	o.oversign = "from:to:subject:date:cc";
	o.headers = "from:to:subject:date:cc";
	s = tsign(&ed, &o, msg1);
	ok(strstr(s, "h=from:from:to:to:subject:subject:date:date:cc;") != NULL,
	   "oversigned h= lists each name once more than it occurs");
	expect(s, NULL, DKIM_PASS, NULL, "oversigned passes");
	m = replace(s, "Subject:", "Subject: added\r\nSubject:");
	expect(m, NULL, DKIM_FAIL, "signature mismatch", "oversigned: a Subject added above");
	free(m);
	m = replace(s, "Date:", "Cc: x@example.org\r\nDate:");
	expect(m, NULL, DKIM_FAIL, "signature mismatch", "oversigned: a Cc added");
	free(m);
	free(s);

	o = opts(DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, "ed");
	o.body_length = 1;
	s = tsign(&ed, &o, msg1);
	ok(strstr(s, "l=54;") != NULL, "l= is the canonical body length");
	m = replace(s, "Joe.\r\n", "Joe.\r\nP.S. buy this\r\n");
	v = tverify(m, zone, NULL, &vo, 0);
	is_int(dkim_verifier_result(v, 0)->result, DKIM_PASS, "content past l= passes by default");
	is_int(dkim_verifier_result(v, 0)->partial_body, 1, "partial body reported");
	dkim_verifier_free(v);
	vo.reject_partial_body = 1;
	expect(m, &vo, DKIM_POLICY, "partial body signed", "content past l= refused when asked");
	expect(s, &vo, DKIM_PASS, NULL, "l= covering the whole body is not partial");
	free(m);
	m = replace(s, "Joe.\r\n", "Jo");
	expect(m, NULL, DKIM_FAIL, "body hash mismatch", "body shorter than l=");
	free(m);
	free(s);
}

static void
test_keys(void)
{
	struct dkim_sign_opts o = opts(DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, "ed");
	static const struct {
		const char *sel, *reason;
		enum dkim_result result;
		int testing;
	} cases[] = {
	    {"none", "no key", DKIM_PERMERROR, 0},
	    {"nodata", "no key", DKIM_PERMERROR, 0},
	    {"revoked", "key revoked", DKIM_FAIL, 0},
	    {"two", "multiple key records", DKIM_PERMERROR, 0},
	    {"withspf", NULL, DKIM_PASS, 0},
	    {"spfonly", "key syntax error", DKIM_PERMERROR, 0},
	    {"testing", NULL, DKIM_PASS, 1},
	    {"rsakey", "inappropriate key algorithm", DKIM_PERMERROR, 0},
	    {"sha1only", "inappropriate hash algorithm", DKIM_PERMERROR, 0},
	    {"notemail", "key not for email", DKIM_PERMERROR, 0},
	    {"badkey", "key syntax error", DKIM_PERMERROR, 0},
	    {"strict", "i= subdomain not allowed by key", DKIM_PERMERROR, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_verify_opts vo = {.now = NOW + 10};
		struct dkim_verifier *v;
		const struct dkim_sig_result *r;
		char *s;

		o.selector = cases[i].sel;
		o.identity = strcmp(cases[i].sel, "strict") == 0 ? "u@sub.example.com" : NULL;
		s = tsign(&ed, &o, msg1);
		v = tverify(s, zone, NULL, &vo, 0);
		r = dkim_verifier_result(v, 0);
		is_str(dkim_result_name(r->result), dkim_result_name(cases[i].result),
		       "key %s: result", cases[i].sel);
		is_str(r->reason, cases[i].reason, "key %s: reason", cases[i].sel);
		is_int(r->testing, cases[i].testing, "key %s: testing flag", cases[i].sel);
		dkim_verifier_free(v);
		free(s);
	}
}

static void
test_dns_and_time(void)
{
	struct dkim_sign_opts o = opts(DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, "ed");
	struct dkim_verify_opts vo = {.now = NOW + 10};
	struct dkim_verifier *v;
	char *s;

	o.expire = 3600;
	s = tsign(&ed, &o, msg1);
	v = tverify(s, zone, "ed._domainkey.example.com/TXT", &vo, 0);
	is_str(dkim_result_name(dkim_verifier_result(v, 0)->result), "temperror", "DNS timeout");
	is_str(dkim_verifier_result(v, 0)->reason, "DNS temporary failure", "DNS timeout reason");
	dkim_verifier_free(v);
	expect(s, NULL, DKIM_PASS, NULL, "before x=");
	vo.now = NOW + 3601;
	expect(s, &vo, DKIM_FAIL, "signature expired", "after x=");
	vo.now = NOW - 301;
	expect(s, &vo, DKIM_POLICY, "signature in the future", "t= beyond the clock skew");
	vo.now = NOW - 300;
	expect(s, &vo, DKIM_PASS, NULL, "t= within the clock skew");
	free(s);
}

/* A signature made field by field, for what the signer will not make. */
static char *
hand_signed(const char *tags, const char *algname, EVP_PKEY *pkey, const EVP_MD *md)
{
	struct tmsg m;
	struct buf data;
	struct dkim_name_view names[2] = {{"from", 4}, {"subject", 7}};
	char field[4096], *out;
	unsigned char sig[1024], bh[64];
	unsigned bhlen;
	size_t siglen = sizeof(sig), n;
	char bh64[128], *b64 = malloc(2048);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct dkim_body_hasher *hs =
	    dkim_body_hasher_new(DKIM_CANON_SIMPLE, md, DKIM_BODY_NO_LIMIT);

	tmsg_parse(&m, msg1, strlen(msg1));
	dkim_body_hasher_update(hs, m.body, m.body_len);
	dkim_body_hasher_final(hs, bh, &bhlen);
	dkim_body_hasher_free(hs);
	EVP_EncodeBlock((unsigned char *)bh64, bh, (int)bhlen);
	n = (size_t)snprintf(
	    field, sizeof(field),
	    "DKIM-Signature: v=1; a=%s; d=example.com; %s h=from:subject; bh=%s; b=", algname, tags,
	    bh64);
	buf_init(&data, 1 << 20);
	dkim_header_data(m.h, DKIM_CANON_SIMPLE, names, 2, field, n, n, 0, &data);
	EVP_DigestSignInit(ctx, NULL, md, NULL, pkey);
	EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)data.data, data.len);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	n = strlen(field) + strlen(b64) + strlen(msg1) + 3;
	out = malloc(n);
	snprintf(out, n, "%s%s\r\n%s", field, b64, msg1);
	EVP_MD_CTX_free(ctx);
	buf_free(&data);
	tmsg_free(&m);
	free(b64);
	return out;
}

static void
test_policy(void)
{
	struct dkim_verify_opts vo = {.now = NOW + 10};
	char *s = hand_signed("s=rsa;", "rsa-sha1", rsa.pkey, EVP_sha1());

	expect(s, NULL, DKIM_POLICY, "algorithm not allowed", "rsa-sha1 by default (RFC 8301)");
	vo.allow_sha1 = 1;
	expect(s, &vo, DKIM_PASS, NULL, "rsa-sha1 when allowed");
	free(s);
	s = hand_signed("s=rsa;", "rsa-sha256", rsa.pkey, EVP_sha256());
	expect(s, NULL, DKIM_PASS, NULL, "hand-made rsa-sha256");
	free(s);
	s = hand_signed("s=small;", "rsa-sha256", rsa512.pkey, EVP_sha256());
	expect(s, NULL, DKIM_POLICY, "key too small", "512-bit key (RFC 8301 §3.2)");
	vo.min_rsa_bits = 512;
	expect(s, &vo, DKIM_PASS, NULL, "512-bit key when allowed");
	free(s);
	s = hand_signed("s=rsa;", "rsa-sha1", rsa512.pkey, EVP_sha1());
	expect(s, NULL, DKIM_FAIL, "signature mismatch", "wrong key: a failure before any policy");
	free(s);
	s = replace(msg1, "From:",
	            "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; "
	            "h=subject; bh=AQID; b=AQID\r\nFrom:");
	expect(s, NULL, DKIM_PERMERROR, "From field not signed", "From not in h=");
	free(s);
	s = replace(msg1, "From:", "DKIM-Signature: garbage\r\nFrom:");
	expect(s, NULL, DKIM_PERMERROR, "syntax error: bad tag list", "not a tag list");
	free(s);
}

static void
test_many(void)
{
	struct dkim_sign_opts o = opts(DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE, "ed");
	struct dkim_verify_opts vo = {.now = NOW + 10, .max_signatures = 3};
	struct dkim_verifier *v;
	char *s = strdup(msg1), *t;

	/* Four signatures, the newest on top; plus one that is broken. */
	for (int i = 0; i < 4; i++) {
		o.bcanon = i % 2 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
		t = tsign(&ed, &o, s);
		free(s);
		s = t;
	}
	t = replace(s, "From:", "DKIM-Signature: v=1; d=example.com\r\nFrom:");
	v = tverify(t, zone, NULL, &vo, 0);
	is_int(dkim_verifier_count(v), 5, "five signatures");
	for (size_t i = 0; i < 3; i++)
		is_int(dkim_verifier_result(v, i)->result, DKIM_PASS, "signature %zu passes", i);
	is_str(dkim_result_name(dkim_verifier_result(v, 3)->result), "neutral",
	       "the fourth is past the limit");
	is_str(dkim_verifier_result(v, 3)->reason, "too many signatures", "too many: reason");
	is_str(dkim_verifier_result(v, 3)->d, "example.com", "too many: still named");
	is_str(dkim_result_name(dkim_verifier_result(v, 4)->result), "neutral",
	       "a broken one past the limit is not examined");
	dkim_verifier_free(v);
	vo.max_signatures = 0;
	vo.max_header_sig_bytes = 100;
	expect(t, &vo, DKIM_PERMERROR, "signature field too long", "field over the size limit");
	free(t);
	free(s);
	v = tverify(msg1, zone, NULL, NULL, 0);
	is_int(dkim_verifier_count(v), 0, "an unsigned message has no results");
	dkim_verifier_free(v);
}

/* A signed field larger than DKIM_MAX_HEADER_DATA (headers may be that
 * large when the message limits allow it). */
static void
test_huge_headers(void)
{
	struct msg_headers *h = msg_headers_new();
	struct dns_resolver *r = dns_zone_new(NULL);
	struct dkim_verify_opts vo = {.now = NOW + 10};
	struct dkim_verifier *v;
	const char *sig = "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=ed; "
	                  "h=from:x-big; bh=AQID; b=AQID";
	size_t n = DKIM_MAX_HEADER_DATA + 16;
	char *big = malloc(n);

	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', n - 7);
	dns_zone_load_string(r, zone, NULL, NULL);
	msg_headers_add_raw(h, sig, strlen(sig), NULL);
	msg_headers_add_raw(h, "From: a@example.com", 19, NULL);
	is_int(msg_headers_add_raw(h, big, n, NULL), 0, "a field of over 4 MiB is stored");
	v = dkim_verifier_new(r, &vo, NULL);
	dkim_verifier_headers(v, h, NULL);
	dkim_verifier_finish(v, NULL);
	is_str(dkim_result_name(dkim_verifier_result(v, 0)->result), "permerror",
	       "signed headers too large: result");
	is_str(dkim_verifier_result(v, 0)->reason, "signed headers too large",
	       "signed headers too large: reason");
	dkim_verifier_free(v);
	dns_resolver_free(r);
	msg_headers_free(h);
	free(big);
}

static void
test_names(void)
{
	static const char *want[] = {"none",   "pass",      "fail",     "neutral",
	                             "policy", "temperror", "permerror"};

	for (int i = DKIM_NONE; i <= DKIM_PERMERROR; i++)
		is_str(dkim_result_name((enum dkim_result)i), want[i], "result name %d", i);
}

/* A 100 MB body in 64 KiB chunks, signed by hand: it passes, and peak RSS
 * does not follow the body. */
static void
test_big_body(void)
{
	struct dkim_sign_opts o = opts(DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, "ed");
	struct dkim_verify_opts vo = {.now = NOW + 10};
	static char chunk[64 * 1024];
	struct dkim_signer *s = dkim_signer_new(ed.pem, strlen(ed.pem), &o, NULL);
	struct dns_resolver *r = dns_zone_new(NULL);
	struct dkim_verifier *v;
	struct tmsg m;
	struct rusage before, after;
	char *field, text[4096];

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = i % 80 == 78 ? '\r' : i % 80 == 79 ? '\n' : (char)('a' + i % 26);
	dns_zone_load_string(r, zone, NULL, NULL);
	getrusage(RUSAGE_SELF, &before);
	for (int i = 0; i < 1600; i++)
		dkim_signer_body(s, chunk, sizeof(chunk));
	tmsg_parse(&m, msg1, strlen(msg1));
	dkim_signer_finish(s, m.h, &field, NULL);
	tmsg_free(&m);
	snprintf(text, sizeof(text), "%s\r\n%s", field, msg1);
	tmsg_parse(&m, text, strlen(text));
	v = dkim_verifier_new(r, &vo, NULL);
	dkim_verifier_headers(v, m.h, NULL);
	for (int i = 0; i < 1600; i++)
		dkim_verifier_body(v, chunk, sizeof(chunk));
	dkim_verifier_finish(v, NULL);
	getrusage(RUSAGE_SELF, &after);
	is_int(dkim_verifier_result(v, 0)->result, DKIM_PASS, "100 MB body passes");
	diag("peak RSS %ld KiB before, %ld KiB after", before.ru_maxrss, after.ru_maxrss);
	ok(after.ru_maxrss - before.ru_maxrss < 20 * 1024,
	   "signing and verifying 100 MB grew peak RSS by less than 20 MB");
	dkim_verifier_free(v);
	tmsg_free(&m);
	free(field);
	dkim_signer_free(s);
	dns_resolver_free(r);
}

static void
make_zone(void)
{
	char rec[3072];

	tkey_make(&ed, "ED25519", 0);
	tkey_make(&rsa, "RSA", 1024);
	tkey_make(&rsa512, "RSA", 512);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; p=%s", ed.pub);
	zone_txt(zone, sizeof(zone), "ed._domainkey.example.com.", rec);
	zone_txt(zone, sizeof(zone), "two._domainkey.example.com.", rec);
	zone_txt(zone, sizeof(zone), "two._domainkey.example.com.", "v=DKIM1; k=ed25519; p=");
	zone_txt(zone, sizeof(zone), "withspf._domainkey.example.com.", rec);
	zone_txt(zone, sizeof(zone), "withspf._domainkey.example.com.", "v=spf1 -all");
	zone_txt(zone, sizeof(zone), "spfonly._domainkey.example.com.", "v=spf1 -all");
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; t=y; p=%s", ed.pub);
	zone_txt(zone, sizeof(zone), "testing._domainkey.example.com.", rec);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; h=sha1; p=%s", ed.pub);
	zone_txt(zone, sizeof(zone), "sha1only._domainkey.example.com.", rec);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; s=other; p=%s", ed.pub);
	zone_txt(zone, sizeof(zone), "notemail._domainkey.example.com.", rec);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; t=s; p=%s", ed.pub);
	zone_txt(zone, sizeof(zone), "strict._domainkey.example.com.", rec);
	zone_txt(zone, sizeof(zone), "badkey._domainkey.example.com.",
	         "v=DKIM1; k=ed25519; p=AQID");
	zone_txt(zone, sizeof(zone), "revoked._domainkey.example.com.", "v=DKIM1; k=ed25519; p=");
	snprintf(rec, sizeof(rec), "v=DKIM1; p=%s", rsa.pub);
	zone_txt(zone, sizeof(zone), "rsa._domainkey.example.com.", rec);
	zone_txt(zone, sizeof(zone), "rsakey._domainkey.example.com.", rec);
	snprintf(rec, sizeof(rec), "v=DKIM1; p=%s", rsa512.pub);
	zone_txt(zone, sizeof(zone), "small._domainkey.example.com.", rec);
	snprintf(zone + strlen(zone), sizeof(zone) - strlen(zone),
	         "nodata._domainkey.example.com. 300 IN A 192.0.2.1\n");
}

int
main(void)
{
	make_zone();
	test_pass();
	test_mutations();
	test_oversign_and_length();
	test_keys();
	test_dns_and_time();
	test_policy();
	test_many();
	test_huge_headers();
	test_names();
	test_big_body();
	EVP_PKEY_free(ed.pkey);
	EVP_PKEY_free(rsa.pkey);
	EVP_PKEY_free(rsa512.pkey);
	return done_testing();
}
