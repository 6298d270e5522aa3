/*
 * test-arc - ARC chain validation (RFC 8617 §5.2) end to end on chains
 * sealed here: none, one set and several, Ed25519 and RSA; each structural
 * failure and the step that reports it; message signatures and seals that
 * do not verify, and where; oldest-pass; the newest set's identity and
 * AAR; body in chunks; keys refused; DNS failures.
 */
#include "autoconf.h"

#include "arc-util.h"
#include "tap.h"

#define NOW 1700000000

static const char msg1[] = "From: Joe <joe@example.com>\r\n"
                           "To: Suzie <suzie@example.net>\r\n"
                           "Subject: Is dinner ready?\r\n"
                           "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
                           "Message-ID: <1@example.com>\r\n"
                           "\r\n"
                           "Hi.\r\n"
                           "\r\n"
                           "We lost the game. Are you hungry yet?\r\n"
                           "\r\n"
                           "Joe.\r\n";

static struct tkey ed, rsa, rsa512;
static char zone[16384];

static char *
seal_by(const struct tkey *k, const char *domain, const char *sel, const char *text)
{
	struct aseal_opts o = {
	    .key = k, .domain = domain, .selector = sel, .zone = zone, .now = NOW};
	enum arc_seal_status st;
	char *s = aseal(&o, text, &st);

	if (s == NULL)
		diag("sealing by %s failed: %d", domain, st);
	return s;
}

/* msg1 sealed by a.example (Ed25519), b.example (RSA) and c.example
 * (Ed25519) in turn: set[0] has one set, set[2] three. */
struct chain {
	char *set[3];
};

static struct chain
make_chain(void)
{
	struct chain c;

	c.set[0] = seal_by(&ed, "a.example", "ed", msg1);
	c.set[1] = seal_by(&rsa, "b.example", "rsa", c.set[0]);
	c.set[2] = seal_by(&ed, "c.example", "ed", c.set[1]);
	return c;
}

static void
chain_free(struct chain *c)
{
	for (int i = 0; i < 3; i++)
		free(c->set[i]);
}

/* Verifies and checks result, reason and where. */
static const struct arc_chain_result *
expect(struct arc_verifier **v, const char *text, enum arc_result want, const char *reason,
       const char *field, unsigned instance, const char *name)
{
	const struct arc_chain_result *r;

	*v = averify(text, zone, NULL, &(struct arc_verify_opts){.now = NOW}, 0);
	r = arc_verifier_result(*v);
	is_str(arc_result_name(r->result), arc_result_name(want), "%s: result", name);
	is_str(r->reason, reason, "%s: reason", name);
	is_str(r->failed_field, field, "%s: field", name);
	is_int(r->failed_instance, instance, "%s: instance", name);
	return r;
}

static void
check(const char *text, enum arc_result want, const char *reason, const char *field,
      unsigned instance, const char *name)
{
	struct arc_verifier *v;

	expect(&v, text, want, reason, field, instance, name);
	arc_verifier_free(v);
}

static void
test_none_and_one(void)
{
	struct arc_verifier *v;
	const struct arc_chain_result *r;
	char *s;

	r = expect(&v, msg1, ARC_NONE, NULL, NULL, 0, "no ARC fields");
	is_int(r->instances, 0, "none: no instances");
	ok(r->aar == NULL && r->d[0] == '\0', "none: no newest set");
	arc_verifier_free(v);

	s = seal_by(&ed, "a.example", "ed", msg1);
	r = expect(&v, s, ARC_PASS, NULL, NULL, 0, "one Ed25519 set");
	is_int(r->instances, 1, "one instance");
	is_int(r->oldest_pass, 1, "oldest-pass 1");
	is_str(r->d, "a.example", "sealer d=");
	is_str(r->s, "ed", "sealer s=");
	is_mem(r->aar, r->aar_len, " i=1; a.example; arc=none", 25, "the AAR's value");
	is_str(r->aar + r->aar_payload, " a.example; arc=none", "its payload");
	arc_verifier_free(v);
	for (size_t step = 1; step < 6; step++) {
		v = averify(s, zone, NULL, &(struct arc_verify_opts){.now = NOW}, step);
		is_int(arc_verifier_result(v)->result, ARC_PASS, "body in %zu-byte chunks", step);
		arc_verifier_free(v);
	}
	free(s);
}

static void
test_several(void)
{
	struct chain c = make_chain();
	char *two = c.set[1], *three = c.set[2];
	struct arc_verifier *v;
	const struct arc_chain_result *r;

	r = expect(&v, two, ARC_PASS, NULL, NULL, 0, "two sets, the second RSA");
	is_int(r->instances, 2, "two instances");
	is_int(r->oldest_pass, 1, "every AMS validates");
	is_str(r->d, "b.example", "newest sealer");
	is_str(r->aar + r->aar_payload, " b.example; arc=pass", "the newest AAR says pass");
	arc_verifier_free(v);
	r = expect(&v, three, ARC_PASS, NULL, NULL, 0, "three sets");
	is_int(r->instances, 3, "three instances");
	arc_verifier_free(v);
	chain_free(&c);
}

/* A forwarder that verified the chain, then added a footer and sealed:
 * its own AMS covers the new body, the first no longer does. */
static void
test_oldest_pass(void)
{
	char *one = seal_by(&ed, "a.example", "ed", msg1);
	char *footed = areplace(one, "Joe.\r\n", "Joe.\r\n-- \r\nlist footer\r\n");
	struct arc_verifier *before = averify(one, zone, NULL, NULL, 0);
	struct aseal_opts o = {.key = &rsa,
	                       .domain = "b.example",
	                       .selector = "rsa",
	                       .zone = zone,
	                       .now = NOW,
	                       .chain = arc_verifier_result(before)};
	enum arc_seal_status st;
	char *two = aseal(&o, footed, &st), *three;
	struct arc_verifier *v;
	const struct arc_chain_result *r;

	r = expect(&v, two, ARC_PASS, NULL, NULL, 0, "footer added by the second sealer");
	is_int(r->oldest_pass, 2, "oldest-pass 2: the first AMS no longer validates");
	arc_verifier_free(v);
	three = seal_by(&ed, "c.example", "ed", two);
	r = expect(&v, three, ARC_PASS, NULL, NULL, 0, "and sealed once more");
	is_int(r->oldest_pass, 2, "oldest-pass still 2");
	arc_verifier_free(v);
	arc_verifier_free(before);
	free(one);
	free(footed);
	free(two);
	free(three);
}

static void
test_signatures(void)
{
	struct chain c = make_chain();
	char *one = c.set[0], *three = c.set[2];
	char *m;

	m = areplace(one, "We lost", "We won");
	check(m, ARC_FAIL, "body hash mismatch", "ARC-Message-Signature", 1, "altered body");
	free(m);
	m = areplace(one, "Is dinner ready?", "Is lunch ready?");
	check(m, ARC_FAIL, "signature mismatch", "ARC-Message-Signature", 1, "altered Subject");
	free(m);
	m = areplace(one, "Subject: Is dinner", "Subject: Is\r\n\t dinner");
	check(m, ARC_PASS, NULL, NULL, 0, "refolded Subject: relaxed");
	free(m);
	m = areplace(one, "a.example; arc=none", "a.example; arc=pass");
	check(m, ARC_FAIL, "signature mismatch", "ARC-Seal", 1, "altered AAR: the seal fails");
	free(m);
	/* A chain broken in the middle: the second set's AAR changed, so its
	 * seal and the third (which covers it) fail; the highest is named. */
	m = areplace(three, "b.example; arc=pass", "b.example; arc=none");
	check(m, ARC_FAIL, "signature mismatch", "ARC-Seal", 3, "broken in the middle");
	free(m);
	m = areplace(three, "We lost", "We won");
	check(m, ARC_FAIL, "body hash mismatch", "ARC-Message-Signature", 3,
	      "altered body under three sets");
	free(m);
	chain_free(&c);
}

/* An AMS with simple header canonicalization (OpenARC once hashed such
 * signatures wrongly): it verifies, and a refolded field then breaks it. */
static void
test_simple_ams(void)
{
	struct aseal_opts o = {.key = &rsa,
	                       .domain = "b.example",
	                       .selector = "rsa",
	                       .zone = zone,
	                       .now = NOW,
	                       .hcanon = DKIM_CANON_SIMPLE};
	enum arc_seal_status st;
	char *s = aseal(&o, msg1, &st), *m;

	ok(s != NULL && strstr(s, "c=simple/relaxed;") != NULL, "sealed with c=simple/relaxed");
	check(s, ARC_PASS, NULL, NULL, 0, "simple header canonicalization");
	m = areplace(s, "Subject: Is dinner", "Subject: Is\r\n\t dinner");
	check(m, ARC_FAIL, "signature mismatch", "ARC-Message-Signature", 1,
	      "simple: a refolded Subject");
	free(m);
	m = areplace(s, "Hi.\r\n", "Hi.  \r\n");
	check(m, ARC_PASS, NULL, NULL, 0, "the body is still relaxed");
	free(m);
	free(s);
}

/* A copy of text with the b= value of the field starting with name
 * removed (up to the next ';' or the end of the field). */
static char *
empty_b(const char *text, const char *name)
{
	char *out = strdup(text), *b = strstr(out, name) + strlen(name), *end;

	while (!((b[-1] == ' ' || b[-1] == '\t') && b[0] == 'b' && b[1] == '='))
		b++;
	end = b += 2;
	while (*end != ';' &&
	       !(end[0] == '\r' && end[1] == '\n' && end[2] != ' ' && end[2] != '\t'))
		end++;
	memmove(b, end, strlen(end) + 1);
	return out;
}

/* An empty b= (OpenARC once took such seals): unusable, in either field. */
static void
test_empty_b(void)
{
	char *one = seal_by(&ed, "a.example", "ed", msg1), *m;

	m = empty_b(one, "ARC-Seal:");
	ok(strstr(m, "b=\r\nARC-Message-Signature:") != NULL, "the seal's b= emptied");
	check(m, ARC_FAIL, "syntax error: b=", "ARC-Seal", 1, "a seal with an empty b=");
	free(m);
	m = empty_b(one, "ARC-Message-Signature:");
	check(m, ARC_FAIL, "syntax error: b=", "ARC-Message-Signature", 1,
	      "a message signature with an empty b=");
	free(m);
	free(one);
}

static void
test_structure(void)
{
	struct chain c = make_chain();
	char *one = c.set[0], *two = c.set[1];
	char *m, *n;

	m = areplace(one, "ARC-Message-Signature:", "X-Removed:");
	check(m, ARC_FAIL, "incomplete ARC set", "ARC-Message-Signature", 1, "no AMS");
	free(m);
	m = areplace(two, "ARC-Authentication-Results: i=1;", "X-Gone:");
	check(m, ARC_FAIL, "incomplete ARC set", "ARC-Authentication-Results", 1,
	      "set 1 lacks its AAR");
	free(m);
	m = areplace(
	    one, "ARC-Authentication-Results: i=1;",
	    "ARC-Authentication-Results: i=1; x; arc=none\r\nARC-Authentication-Results: i=1;");
	check(m, ARC_FAIL, "duplicate ARC field", NULL, 0, "two AARs for one instance");
	free(m);
	m = areplace(one, "cv=none", "cv=pass");
	check(m, ARC_FAIL, "first seal not cv=none", "ARC-Seal", 1, "first seal cv=pass");
	free(m);
	m = areplace(two, "cv=pass", "cv=none");
	check(m, ARC_FAIL, "seal not cv=pass", "ARC-Seal", 2, "second seal cv=none");
	free(m);
	m = areplace(two, "cv=pass", "cv=fail");
	check(m, ARC_FAIL, "newest seal says cv=fail", "ARC-Seal", 2, "newest seal cv=fail");
	free(m);
	/* Set 2 renumbered 3: instance 2 is missing. */
	m = areplace(two, "ARC-Seal: i=2", "ARC-Seal: i=3");
	n = areplace(m, "ARC-Message-Signature: i=2", "ARC-Message-Signature: i=3");
	free(m);
	m = areplace(n, "ARC-Authentication-Results: i=2", "ARC-Authentication-Results: i=3");
	check(m, ARC_FAIL, "incomplete ARC set", "ARC-Authentication-Results", 2, "a gap at 2");
	free(m);
	free(n);
	m = areplace(one, "ARC-Seal: i=1", "ARC-Seal: i=51");
	check(m, ARC_FAIL, "too many ARC sets", NULL, 0, "instance 51");
	free(m);
	m = areplace(one, "ARC-Seal: i=1", "ARC-Seal: i=one");
	check(m, ARC_FAIL, "syntax error: i=", NULL, 0, "an unreadable instance");
	free(m);
	m = areplace(one, "ARC-Seal: i=1;", "ARC-Seal: i=1; h=from;");
	check(m, ARC_FAIL, "syntax error: h= in ARC-Seal", "ARC-Seal", 1, "h= in a seal");
	free(m);
	check("ARC-Seal: garbage\r\nFrom: a@example.com\r\n\r\n", ARC_FAIL,
	      "syntax error: bad tag list", NULL, 0, "only a broken field");
	chain_free(&c);
}

static void
test_keys_and_dns(void)
{
	char *small = seal_by(&rsa512, "small.example", "rsa", msg1);
	char *one = seal_by(&ed, "a.example", "ed", msg1);
	struct arc_verifier *v;
	const struct arc_chain_result *r;

	check(small, ARC_FAIL, "key too small", "ARC-Message-Signature", 1, "512-bit RSA");
	v = averify(small, zone, NULL, &(struct arc_verify_opts){.now = NOW, .min_rsa_bits = 512},
	            0);
	is_int(arc_verifier_result(v)->result, ARC_PASS, "512-bit RSA when allowed");
	arc_verifier_free(v);
	v = averify(one, zone, "ed._domainkey.a.example", NULL, 0);
	r = arc_verifier_result(v);
	is_str(arc_result_name(r->result), "fail", "key look-up times out: fail");
	is_str(r->reason, "DNS temporary failure", "key look-up times out: reason");
	arc_verifier_free(v);
	v = averify(one, "", NULL, NULL, 0);
	is_str(arc_verifier_result(v)->reason, "no key", "no key published");
	arc_verifier_free(v);
	free(small);
	free(one);
}

static void
test_api(void)
{
	struct arc_verifier *v = arc_verifier_new(NULL, NULL, NULL);
	struct tmsg m;
	struct auth_error err = {0};
	unsigned char md[64];
	unsigned len;

	tmsg_parse(&m, msg1, strlen(msg1));
	is_int(arc_verifier_body(v, "x", 1), -1, "body before the headers");
	is_int(arc_verifier_body_hash(v, md, &len), -1, "no body hash unless asked");
	is_int(arc_verifier_headers(v, m.h, &err), 0, "headers");
	is_int(arc_verifier_headers(v, m.h, &err), -1, "headers twice");
	is_int(arc_verifier_finish(v, &err), 0, "finish");
	is_int(arc_verifier_finish(v, &err), -1, "finish twice");
	is_int(arc_verifier_body_hash(v, md, &len), -1, "still none: it was not asked for");
	arc_verifier_free(v);
	tmsg_free(&m);
	is_str(arc_result_name(ARC_NONE), "none", "name none");
	is_str(arc_result_name(ARC_PASS), "pass", "name pass");
	is_str(arc_result_name(ARC_FAIL), "fail", "name fail");
}

static void
make_zone(void)
{
	tkey_make(&ed, "ED25519", 0);
	tkey_make(&rsa, "RSA", 1024);
	tkey_make(&rsa512, "RSA", 512);
	zone_key(zone, sizeof(zone), "ed._domainkey.a.example.", &ed, "");
	zone_key(zone, sizeof(zone), "ed._domainkey.c.example.", &ed, "");
	zone_key(zone, sizeof(zone), "rsa._domainkey.b.example.", &rsa, "");
	zone_key(zone, sizeof(zone), "rsa._domainkey.small.example.", &rsa512, "");
}

int
main(void)
{
	make_zone();
	test_none_and_one();
	test_several();
	test_oldest_pass();
	test_signatures();
	test_simple_ams();
	test_empty_b();
	test_structure();
	test_keys_and_dns();
	test_api();
	EVP_PKEY_free(ed.pkey);
	EVP_PKEY_free(rsa.pkey);
	EVP_PKEY_free(rsa512.pkey);
	return done_testing();
}
