/*
 * test-arc-seal - adding an ARC set (RFC 8617 §5.1): the exact AAR, the
 * AMS and AS tags, cv= from the chain, a seal over every earlier set or,
 * for a failed chain, over the new set alone (§5.1.2), the two ways of
 * declining (the newest set is ours, the chain is full), and every input
 * refused.
 */
#include "autoconf.h"

#include "arc-util.h"
#include "dkim_crypto.h"
#include "dkim_hdata.h"
#include "tap.h"

#define NOW 1700000000

static const char msg1[] = "From: Joe <joe@example.com>\r\n"
                           "To: Suzie <suzie@example.net>\r\n"
                           "Subject: Is dinner ready?\r\n"
                           "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=x; h=from; "
                           "bh=AAAA; b=AQID\r\n"
                           "\r\n"
                           "Hi.\r\n";

static struct tkey ed, rsa;
static char zone[8192];
static struct arc_sealer *sealer;
static unsigned char bh[32];

static enum arc_seal_status
seal(const char *text, const char *authres, const struct arc_chain_result *chain,
     struct arc_seal_fields *f, struct auth_error *err)
{
	struct tmsg m;
	enum arc_seal_status st;

	tmsg_parse(&m, text, strlen(text));
	st = arc_seal(sealer, &(struct arc_seal_input){m.h, bh, 32, authres, chain, NOW}, f, err);
	tmsg_free(&m);
	return st;
}

/* A copy without whitespace: the tags as they are, whatever the folding
 * (which test-dkim-sigwrite checks). */
static char *
squeezed(const char *s)
{
	char *out = strdup(s), *w = out;

	for (const char *r = s; *r; r++)
		if (strchr(" \t\r\n", *r) == NULL)
			*w++ = *r;
	*w = '\0';
	return out;
}

static void
test_first_set(void)
{
	struct arc_seal_fields f;
	struct auth_error err = {0};
	char *ams, *as;

	is_int(seal(msg1, " mx.example.org;\r\n\tspf=pass smtp.mailfrom=joe@example.com", NULL, &f,
	            &err),
	       ARC_SEALED, "sealed with no chain");
	is_str(f.aar,
	       "ARC-Authentication-Results: i=1; mx.example.org;\r\n\tspf=pass "
	       "smtp.mailfrom=joe@example.com",
	       "the AAR: i=1 and our A-R value as it is");
	ams = squeezed(f.ams);
	as = squeezed(f.as);
	ok(strncmp(ams,
	           "ARC-Message-Signature:i=1;a=ed25519-sha256;c=relaxed/relaxed;d=fwd.example;"
	           "s=ed;t=1700000000;h=from:from:subject:to:dkim-signature;"
	           "bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;b=",
	           181) == 0,
	   "AMS tags, the default fields with From oversigned and DKIM-Signature (%s)", ams);
	ok(strncmp(as, "ARC-Seal:i=1;a=ed25519-sha256;cv=none;d=fwd.example;s=ed;t=1700000000;b=",
	           72) == 0,
	   "AS tags: cv=none for the first set (%s)", as);
	ok(strstr(as, "h=") == NULL, "no h= in the seal");
	free(ams);
	free(as);
	arc_seal_fields_free(&f);
}

/* The seal's signature checked by hand over the data given. */
static const char *
seal_verifies_over(const char *seal_field, const struct buf *data)
{
	struct arc_field af = {seal_field, strlen(seal_field), 9};
	struct dkim_sig sig;
	enum arc_cv cv;
	unsigned i;
	struct buf d;
	const char *r;

	arc_hdr_parse_seal(&af, &i, &cv, &sig);
	buf_init(&d, 1 << 20);
	buf_append(&d, data->data, data->len);
	dkim_hdata_sig_field(DKIM_CANON_RELAXED, seal_field, af.len, sig.b_region_off,
	                     sig.b_region_len, &d);
	r = dkim_crypto_verify(sig.alg, ed.pkey, sig.b, sig.b_len, d.data, d.len);
	buf_free(&d);
	return r;
}

static void
canon_into(struct buf *b, const char *field)
{
	dkim_canon_header(DKIM_CANON_RELAXED, field, strlen(field), true, b);
}

/* cv=fail: the seal covers the new set only (§5.1.2), not the broken
 * sets before it. */
static void
test_failed_chain(void)
{
	struct aseal_opts o = {
	    .key = &rsa, .domain = "a.example", .selector = "rsa", .zone = zone, .now = NOW};
	enum arc_seal_status st;
	char *one = aseal(&o, msg1, &st), *broken = areplace(one, "Hi.", "Hello.");
	struct arc_verifier *v = averify(broken, zone, NULL, NULL, 0);
	const struct arc_chain_result *chain = arc_verifier_result(v);
	struct arc_seal_fields f;
	struct buf own, all;
	struct tmsg m;
	struct arc_sets sets;

	is_int(chain->result, ARC_FAIL, "the chain is broken");
	is_int(seal(broken, "fwd.example; arc=fail", chain, &f, NULL), ARC_SEALED,
	       "a failed chain is sealed");
	ok(strstr(f.as, "i=2;") != NULL && strstr(f.as, "cv=fail;") != NULL, "i=2, cv=fail");
	buf_init(&own, 1 << 20);
	canon_into(&own, f.aar);
	canon_into(&own, f.ams);
	is_str(seal_verifies_over(f.as, &own), NULL, "the seal verifies over our set alone");
	buf_init(&all, 1 << 20);
	tmsg_parse(&m, broken, strlen(broken));
	arc_hdr_collect(m.h, 65536, &sets);
	arc_hdr_canon_set(sets.f[1], &all);
	buf_append(&all, own.data, own.len);
	is_str(seal_verifies_over(f.as, &all), "signature mismatch", "and not over every set");
	tmsg_free(&m);
	buf_free(&own);
	buf_free(&all);
	arc_seal_fields_free(&f);
	arc_verifier_free(v);
	free(one);
	free(broken);
}

/* A set over an earlier one verifies (OpenARC once sealed such chains
 * wrongly), and declining: our own newest set, a full chain. */
static void
test_following_and_declining(void)
{
	struct aseal_opts o = {
	    .key = &rsa, .domain = "a.example", .selector = "rsa", .zone = zone, .now = NOW};
	struct aseal_opts mine = {
	    .key = &ed, .domain = "fwd.example", .selector = "ed", .zone = zone, .now = NOW};
	enum arc_seal_status st;
	char *one = aseal(&o, msg1, &st), *two = aseal(&mine, one, &st), *three;
	struct arc_verifier *v = averify(two, zone, NULL, NULL, 0);
	struct arc_chain_result full = {.result = ARC_PASS, .instances = ARC_MAX_SETS};
	struct arc_seal_fields f;

	is_int(st, ARC_SEALED, "sealed after an earlier set");
	is_int(arc_verifier_result(v)->result, ARC_PASS, "the two sets verify");
	ok(strstr(two, "ARC-Seal: i=2; a=ed25519-sha256; cv=pass;") != NULL, "i=2, cv=pass");
	three = aseal(&mine, two, &st);
	ok(three == NULL, "no third set");
	is_int(st, ARC_SEAL_OURS, "the newest set is already ours");
	snprintf(full.d, sizeof(full.d), "FWD.Example");
	full.instances = 2;
	is_int(seal(two, "fwd.example; arc=pass", &full, &f, NULL), ARC_SEAL_OURS,
	       "our domain compared case-insensitively");
	full.instances = ARC_MAX_SETS;
	ok(f.aar == NULL && f.ams == NULL && f.as == NULL, "no fields when declining");
	snprintf(full.d, sizeof(full.d), "other.example");
	is_int(seal(two, "fwd.example; arc=pass", &full, &f, NULL), ARC_SEAL_FULL,
	       "50 sets: no room for another");
	arc_verifier_free(v);
	free(one);
	free(two);
}

static void
test_refused_input(void)
{
	struct arc_chain_result none_with_sets = {.result = ARC_NONE, .instances = 1};
	struct arc_chain_result pass_without = {.result = ARC_PASS, .instances = 0};
	struct arc_chain_result not_the_message = {.result = ARC_PASS, .instances = 2};
	struct arc_seal_fields f;
	struct auth_error err = {0};
	struct tmsg m;

	is_int(seal(msg1, "no semicolon here", NULL, &f, &err), ARC_SEAL_ERROR, "not an A-R value");
	is_str(err.msg, "not an Authentication-Results value", "not an A-R value: message");
	is_int(seal(msg1, "mx.example.org; spf=pass\r\nX-Injected: 1", NULL, &f, &err),
	       ARC_SEAL_ERROR, "a line end not followed by WSP");
	is_int(seal(msg1, "mx.example.org; spf=pass\n\tx", NULL, &f, &err), ARC_SEAL_ERROR,
	       "a bare LF");
	is_int(seal(msg1, "mx; none", &none_with_sets, &f, &err), ARC_SEAL_ERROR,
	       "result none with instances");
	is_int(seal(msg1, "mx; none", &pass_without, &f, &err), ARC_SEAL_ERROR,
	       "result pass without instances");
	is_str(err.msg, "the chain's result and instances disagree", "disagreeing chain: message");
	is_int(seal(msg1, "mx; none", &not_the_message, &f, &err), ARC_SEAL_ERROR,
	       "a chain the message does not have");
	is_str(err.msg, "the chain is not the message's", "missing sets: message");
	tmsg_parse(&m, msg1, strlen(msg1));
	is_int(arc_seal(sealer, &(struct arc_seal_input){m.h, bh, 20, "mx; none", NULL, NOW}, &f,
	                &err),
	       ARC_SEAL_ERROR, "a body hash that is not SHA-256");
	tmsg_free(&m);
}

static bool
sealer_rsa_ok(const struct arc_seal_opts *o)
{
	struct arc_sealer *s = arc_sealer_new(rsa.pem, strlen(rsa.pem), o, NULL);

	arc_sealer_free(s);
	return s != NULL;
}

static void
test_sealer_new(void)
{
	struct auth_error err = {0};
	struct arc_seal_opts o = {.domain = "fwd.example", .selector = "ed"};

	ok(arc_sealer_new("junk", 4, &o, &err) == NULL, "not a key");
	is_int(err.code, AUTH_ESYNTAX, "not a key: syntax");
	o.domain = "bad domain";
	ok(arc_sealer_new(ed.pem, strlen(ed.pem), &o, &err) == NULL, "bad domain");
	o.domain = "fwd.example";
	o.headers = "from:arc-seal";
	ok(arc_sealer_new(ed.pem, strlen(ed.pem), &o, &err) == NULL, "ARC-Seal in the list");
	is_str(err.msg, "the header list names ARC-Seal or Authentication-Results",
	       "ARC-Seal: message");
	o.headers = "from:Authentication-Results";
	ok(arc_sealer_new(ed.pem, strlen(ed.pem), &o, &err) == NULL,
	   "Authentication-Results in the list");
	o.headers = "to:subject";
	ok(arc_sealer_new(ed.pem, strlen(ed.pem), &o, &err) == NULL, "no From in the list");
	o.headers = "from:to";
	err.code = AUTH_OK;
	ok(sealer_rsa_ok(&o), "an RSA sealer with its own list");
}

int
main(void)
{
	struct arc_seal_opts o = {.domain = "fwd.example", .selector = "ed"};

	tkey_make(&ed, "ED25519", 0);
	tkey_make(&rsa, "RSA", 1024);
	zone_key(zone, sizeof(zone), "ed._domainkey.fwd.example.", &ed, "");
	zone_key(zone, sizeof(zone), "rsa._domainkey.a.example.", &rsa, "");
	sealer = arc_sealer_new(ed.pem, strlen(ed.pem), &o, NULL);
	test_first_set();
	test_failed_chain();
	test_following_and_declining();
	test_refused_input();
	test_sealer_new();
	arc_sealer_free(sealer);
	EVP_PKEY_free(ed.pkey);
	EVP_PKEY_free(rsa.pkey);
	return done_testing();
}
