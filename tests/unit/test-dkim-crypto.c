/*
 * test-dkim-crypto - reading private keys, and signing and verifying with
 * rsa-sha256 and ed25519-sha256, compared byte for byte with OpenSSL used
 * directly (both schemes are deterministic): RSA over the data, Ed25519
 * over the SHA-256 of the data (RFC 8463 §3).  Then a signature over a
 * message's header data, and what refuses to verify.
 */
#include "autoconf.h"

#include "dkim-util.h"
#include "dkim_crypto.h"
#include "dkim_hdata.h"
#include "tap.h"

static struct tkey ed, rsa;
static const char data[] = "from:a@example.com\r\ndkim-signature:v=1; b=";

/* What OpenSSL makes of data directly. */
static size_t
reference(EVP_PKEY *pkey, bool ed25519, unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned mdlen;
	size_t len = 1024;

	if (ed25519) {
		EVP_Digest(data, strlen(data), md, &mdlen, EVP_sha256(), NULL);
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey);
		EVP_DigestSign(ctx, sig, &len, md, mdlen);
	} else {
		EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey);
		EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, strlen(data));
	}
	EVP_MD_CTX_free(ctx);
	return len;
}

static void
test_load(void)
{
	struct auth_error err = {0};
	enum dkim_alg alg;
	EVP_PKEY *k, *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;

	k = dkim_crypto_load_private(rsa.pem, strlen(rsa.pem), &alg, &err);
	ok(k != NULL && alg == DKIM_ALG_RSA_SHA256, "RSA key signs rsa-sha256");
	EVP_PKEY_free(k);
	k = dkim_crypto_load_private(ed.pem, strlen(ed.pem), &alg, &err);
	ok(k != NULL && alg == DKIM_ALG_ED25519_SHA256, "Ed25519 key signs ed25519-sha256");
	EVP_PKEY_free(k);
	ok(dkim_crypto_load_private("junk", 4, &alg, &err) == NULL, "not PEM");
	is_int(err.code, AUTH_ESYNTAX, "not PEM: syntax error");
	is_str(err.msg, "cannot read the private key", "not PEM: message");
	PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &pem);
	ok(dkim_crypto_load_private(pem, (size_t)len, &alg, &err) == NULL, "an EC key");
	is_str(err.msg, "the key is neither RSA nor Ed25519", "EC key: message");
	BIO_free(bio);
	EVP_PKEY_free(ec);
}

static void
test_sign_verify(const struct tkey *k, enum dkim_alg alg, const char *name)
{
	unsigned char sig[DKIM_SIG_MAX_B], want[1024];
	size_t len, wlen = reference(k->pkey, alg == DKIM_ALG_ED25519_SHA256, want);

	is_int(dkim_crypto_sign(alg, k->pkey, data, strlen(data), sig, &len), 0, "%s: signed",
	       name);
	is_mem(sig, len, want, wlen, "%s: the signature OpenSSL makes directly", name);
	is_str(dkim_crypto_verify(alg, k->pkey, sig, len, data, strlen(data)), NULL, "%s: verifies",
	       name);
	is_str(dkim_crypto_verify(alg, k->pkey, sig, len, data, strlen(data) - 1),
	       "signature mismatch", "%s: other data", name);
	sig[3] ^= 1;
	is_str(dkim_crypto_verify(alg, k->pkey, sig, len, data, strlen(data)), "signature mismatch",
	       "%s: altered signature", name);
	is_str(
	    dkim_crypto_verify(alg, k == &ed ? rsa.pkey : ed.pkey, want, wlen, data, strlen(data)),
	    "signature mismatch", "%s: key of the other type", name);
}

static void
test_check_headers(void)
{
	static const char text[] = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
	char field[2048];
	unsigned char sig[DKIM_SIG_MAX_B];
	size_t siglen, n;
	struct dkim_sig parsed;
	struct buf d;
	struct tmsg m;
	const char *verdict = "unset";
	int flen;

	tmsg_parse(&m, text, strlen(text));
	flen =
	    snprintf(field, sizeof(field),
	             "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=ed; h=from:subject; "
	             "bh=AAAA; b=");
	buf_init(&d, 1 << 16);
	dkim_header_data(m.h, DKIM_CANON_SIMPLE,
	                 (struct dkim_name_view[]){{"from", 4}, {"subject", 7}}, 2, field,
	                 (size_t)flen, (size_t)flen, 0, &d);
	dkim_crypto_sign(DKIM_ALG_ED25519_SHA256, ed.pkey, d.data, d.len, sig, &siglen);
	n = (size_t)flen + (size_t)EVP_EncodeBlock((unsigned char *)field + flen, sig, (int)siglen);
	is_str(dkim_sig_parse(field, n, 15, &parsed), NULL, "the signature parses");
	is_int(dkim_crypto_check_headers(&parsed, ed.pkey, m.h, field, n, &verdict), 0,
	       "header data built");
	is_str(verdict, NULL, "the signature over the header data verifies");
	tmsg_free(&m);
	tmsg_parse(&m, "From: a@example.com\r\nSubject: hi!\r\n\r\n", 37);
	dkim_crypto_check_headers(&parsed, ed.pkey, m.h, field, n, &verdict);
	is_str(verdict, "signature mismatch", "a signed field altered");
	tmsg_free(&m);
	buf_free(&d);
}

int
main(void)
{
	tkey_make(&ed, "ED25519", 0);
	tkey_make(&rsa, "RSA", 1024);
	test_load();
	test_sign_verify(&rsa, DKIM_ALG_RSA_SHA256, "rsa-sha256");
	test_sign_verify(&ed, DKIM_ALG_ED25519_SHA256, "ed25519-sha256");
	test_check_headers();
	EVP_PKEY_free(ed.pkey);
	EVP_PKEY_free(rsa.pkey);
	return done_testing();
}
