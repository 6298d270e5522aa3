/*
 * dkim_crypto - see dkim_crypto.h.
 */
#include "autoconf.h"

#include <limits.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "dkim_crypto.h"
#include "dkim_hdata.h"

EVP_PKEY *
dkim_crypto_load_private(const char *pem, size_t len, enum dkim_alg *alg, struct auth_error *err)
{
	BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		auth_error_set(err, AUTH_ESYNTAX, "cannot read the private key");
		return NULL;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		*alg = DKIM_ALG_RSA_SHA256;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*alg = DKIM_ALG_ED25519_SHA256;
	} else {
		EVP_PKEY_free(pkey);
		auth_error_set(err, AUTH_EINVAL, "the key is neither RSA nor Ed25519");
		return NULL;
	}
	return pkey;
}

int
dkim_crypto_sign(enum dkim_alg alg, EVP_PKEY *pkey, const void *data, size_t len,
                 unsigned char *sig, size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	int ok = 0;

	*sig_len = DKIM_SIG_MAX_B;
	if (ctx == NULL)
		return -1;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 §3: PureEdDSA over the SHA-256 hash of the data. */
		ok = EVP_Digest(data, len, digest, &dlen, dkim_alg_md(alg), NULL) == 1 &&
		     EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, sig_len, digest, dlen) == 1;
	} else {
		ok = EVP_DigestSignInit(ctx, NULL, dkim_alg_md(alg), NULL, pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, sig_len, data, len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

const char *
dkim_crypto_verify(enum dkim_alg alg, EVP_PKEY *pkey, const unsigned char *b, size_t b_len,
                   const void *data, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	int ok = 0;

	if (ctx == NULL)
		return "signature mismatch";
	if (alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 §3: PureEdDSA over the SHA-256 hash of the data. */
		if (EVP_Digest(data, len, digest, &dlen, dkim_alg_md(alg), NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
			ok = EVP_DigestVerify(ctx, b, b_len, digest, dlen) == 1;
	} else if (EVP_DigestVerifyInit(ctx, NULL, dkim_alg_md(alg), NULL, pkey) == 1) {
		ok = EVP_DigestVerify(ctx, b, b_len, data, len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? NULL : "signature mismatch";
}

int
dkim_crypto_check_headers(const struct dkim_sig *sig, EVP_PKEY *pkey, const struct msg_headers *h,
                          const char *raw, size_t raw_len, const char **verdict)
{
	struct buf data;
	int rc;

	buf_init(&data, DKIM_MAX_HEADER_DATA);
	rc = dkim_header_data(h, sig->hcanon, sig->headers, sig->nheaders, raw, raw_len,
	                      sig->b_region_off, sig->b_region_len, &data);
	if (rc == 0)
		*verdict =
		    dkim_crypto_verify(sig->alg, pkey, sig->b, sig->b_len, data.data, data.len);
	buf_free(&data);
	return rc;
}
