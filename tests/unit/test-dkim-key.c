/*
 * test-dkim-key - DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4.2): every
 * tag, the key forms, and each reason dkim_key_check() gives.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "dkim_key.h"
#include "tap.h"

/* Public keys from dkimpy's test data (tests/data/dkim/README). */
#define RSA1024_SPKI                                                                               \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC6aakWzruYAKX9OdOdSHMemqVdGQurNYLC1H7O/T2LQIHVbk"   \
	"KF6KKjlgFM7lr8skfZMhJe/KRGMvVjCV5ZakZIGeP3Hi1qXCEvmjS4ElpMPMPyPrZigt95ipqywPYZJWHbRiJ0"   \
	"85VdkSCtLUvo5sypA0nTJeynEouAN+/wBaCO6QIDAQAB"
#define RSA1024_PKCS1                                                                              \
	"MIGJAoGBALppqRbOu5gApf05051Icx6apV0ZC6s1gsLUfs79PYtAgdVuQoXooqOWAUzuWvyyR9kyEl78pEYy9W"   \
	"MJXllqRkgZ4/ceLWpcIS+aNLgSWkw8w/I+tmKC33mKmrLA9hklYdtGInTzlV2RIK0tS+jmzKkDSdMl7KcSi4A3"   \
	"7/AFoI7pAgMBAAE="
#define ED25519 "yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y="
#define RSA_TRUNCATED                                                                              \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jL"   \
	"QiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pz"   \
	"oxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQA="

static struct dkim_key key;
static enum dkim_key_kind kind;

static const char *
parse(const char *rec)
{
	dkim_key_clear(&key);
	return dkim_key_parse((const unsigned char *)rec, strlen(rec), &key, &kind);
}

static void
test_forms(void)
{
	is_str(parse("v=DKIM1; k=rsa; p=" RSA1024_SPKI), NULL, "RSA SubjectPublicKeyInfo");
	is_int(kind, DKIM_KEY_RECORD, "it is a key record");
	is_int(key.type, DKIM_KEY_RSA, "RSA");
	is_int(key.bits, 1024, "1024 bits");
	ok(key.hash_sha1 && key.hash_sha256 && key.service_email, "h= and s= defaults");
	ok(!key.testing && !key.strict && !key.revoked, "no flags");
	is_str(parse("v=DKIM1; g=*; k=rsa; p=" RSA1024_PKCS1), NULL, "RSA bare RSAPublicKey");
	is_int(key.bits, 1024, "PKCS#1 key has 1024 bits");
	is_str(parse("p=" RSA1024_SPKI), NULL, "k= defaults to rsa; v= optional");
	is_int(key.type, DKIM_KEY_RSA, "default type");
	is_str(parse("v=DKIM1; k=ed25519; p=" ED25519), NULL, "Ed25519 raw key (RFC 8463)");
	is_int(key.type, DKIM_KEY_ED25519, "Ed25519");
	is_int(key.bits, 256, "Ed25519 bits as OpenSSL counts them");
	is_str(parse("k=rsa; p=" RSA1024_SPKI "; t=y:s:x; h=sha256:md5; s=email:other; n=note"),
	       NULL, "every tag");
	ok(key.testing && key.strict, "t=y:s");
	ok(!key.hash_sha1 && key.hash_sha256, "h=sha256 only");
	ok(key.service_email, "s=email");
	is_str(parse("v=DKIM1; p="), NULL, "empty p= parses");
	ok(key.revoked, "empty p= is revoked");
	is_str(parse("v=DKIM1; p= \t"), NULL, "blank p= parses");
	ok(key.revoked, "blank p= is revoked");
}

static void
test_bad(void)
{
	is_str(parse("v=spf1 -all"), "key syntax error", "an SPF record");
	is_int(kind, DKIM_KEY_NOT_DKIM, "SPF record is not a DKIM key");
	is_str(parse("k=rsa; v=DKIM1; p=" RSA1024_SPKI), "key syntax error", "v= not first");
	is_int(kind, DKIM_KEY_NOT_DKIM, "v= not first: not a DKIM key");
	is_str(parse("v=DKIM1: g=*; k=rsa; p=" RSA1024_SPKI), "key syntax error",
	       "v= with junk (dkimpy badversion.txt)");
	is_str(parse("v=DKIM2; p=" RSA1024_SPKI), "key syntax error", "v=DKIM2");
	is_str(parse("hello world"), "key syntax error", "not a tag list");
	is_int(kind, DKIM_KEY_NOT_DKIM, "free text is not a DKIM key");
	is_str(parse("v=DKIM1; k=rsa"), "key syntax error", "no p=");
	is_int(kind, DKIM_KEY_RECORD, "a DKIM record without p= is a broken key");
	is_str(parse("v=DKIM1; p=AQ!D"), "key syntax error", "bad base64");
	is_str(parse("v=DKIM1; p=AQID"), "key syntax error", "not DER");
	is_str(parse("v=DKIM1; p=" RSA_TRUNCATED), "key syntax error",
	       "truncated key (dkimpy test_bad.txt)");
	is_str(parse("v=DKIM1; k=ed25519; p=AQID"), "key syntax error", "Ed25519 key not 32 bytes");
	is_str(parse("v=DKIM1; k=ed25519; p=" RSA1024_SPKI), "key syntax error",
	       "RSA bytes as Ed25519");
	is_str(parse("v=DKIM1; p=" RSA1024_SPKI "; p=" RSA1024_SPKI), "key syntax error",
	       "duplicate p=");
}

static void
check_is(const char *rec, enum dkim_alg alg, const char *auid, const char *want, const char *name)
{
	static struct dkim_sig sig;

	memset(&sig, 0, sizeof(sig));
	sig.alg = alg;
	snprintf(sig.d, sizeof(sig.d), "example.com");
	snprintf(sig.i, sizeof(sig.i), "%s", auid);
	is_str(parse(rec), NULL, "%s: parses", name);
	is_str(dkim_key_check(&key, &sig), want, "%s", name);
}

static void
test_check(void)
{
	check_is("p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "@example.com", NULL, "plain RSA key");
	check_is("p=", DKIM_ALG_RSA_SHA256, "@example.com", "key revoked", "revoked");
	check_is("p=" RSA1024_SPKI, DKIM_ALG_ED25519_SHA256, "@example.com",
	         "inappropriate key algorithm", "RSA key, ed25519 signature");
	check_is("k=ed25519; p=" ED25519, DKIM_ALG_RSA_SHA256, "@example.com",
	         "inappropriate key algorithm", "Ed25519 key, RSA signature");
	check_is("k=ed25519-sha256; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "@example.com",
	         "inappropriate key algorithm", "unknown k= (dkimpy badk.txt)");
	check_is("h=sha1; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "@example.com",
	         "inappropriate hash algorithm", "h=sha1, rsa-sha256");
	check_is("h=sha256; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA1, "@example.com",
	         "inappropriate hash algorithm", "h=sha256, rsa-sha1");
	check_is("h=sha1 : sha256; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA1, "@example.com", NULL,
	         "h= list with spaces");
	check_is("s=other; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "@example.com",
	         "key not for email", "s=other");
	check_is("s=*; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "@example.com", NULL, "s=*");
	check_is("t=s; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "u@sub.example.com",
	         "i= subdomain not allowed by key", "t=s, i= in a subdomain");
	check_is("t=s; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "u@EXAMPLE.com", NULL,
	         "t=s, i= in d= itself");
	check_is("t=y; p=" RSA1024_SPKI, DKIM_ALG_RSA_SHA256, "u@sub.example.com", NULL,
	         "t=y alone allows a subdomain");
}

int
main(void)
{
	test_forms();
	test_bad();
	test_check();
	dkim_key_clear(&key);
	return done_testing();
}
