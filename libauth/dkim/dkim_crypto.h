/*
 * dkim_crypto - the public-key operations of DKIM and ARC signatures:
 * rsa-sha256 (and rsa-sha1, for verifying only) and ed25519-sha256.
 *
 * RSA signs the data itself (RSASSA-PKCS1-v1_5 over its hash, RFC 6376
 * §3.3); Ed25519 signs the SHA-256 hash of the data with PureEdDSA
 * (RFC 8463 §3).  The data is the header data of dkim_hdata.h.
 *
 * dkim_crypto_load_private() reads a signer's private key from PEM and says
 * which algorithm it signs with; the key is the caller's (EVP_PKEY_free).
 * The other functions keep nothing; any number of threads may use one
 * EVP_PKEY at once.  OpenSSL's error queue is cleared after each call, so
 * a failure of one signature cannot be mistaken for another's.
 */
#ifndef AUTH_DKIM_CRYPTO_H
#define AUTH_DKIM_CRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

#include "dkim_sig.h"
#include "error.h"
#include "msg.h"

/* A private key in PEM (PKCS#8 or traditional RSA): RSA signs rsa-sha256,
 * Ed25519 ed25519-sha256.  NULL with err set when the key cannot be read or
 * is of another type. */
EVP_PKEY *dkim_crypto_load_private(const char *pem, size_t len, enum dkim_alg *alg,
                                   struct auth_error *err);

/* Signs data; sig has room for DKIM_SIG_MAX_B bytes, *sig_len is set to
 * the length used.  Returns 0, or -1 when OpenSSL refused. */
int dkim_crypto_sign(enum dkim_alg alg, EVP_PKEY *pkey, const void *data, size_t len,
                     unsigned char *sig, size_t *sig_len);

/* NULL when b verifies over data with pkey, else "signature mismatch". */
const char *dkim_crypto_verify(enum dkim_alg alg, EVP_PKEY *pkey, const unsigned char *b,
                               size_t b_len, const void *data, size_t len);

/*
 * Verifies a parsed signature over message h: builds the header data of
 * its h= names and its own field (raw, raw_len; b= region from sig) and
 * checks sig->b over it.  Returns 0 with *verdict NULL (verified) or
 * "signature mismatch", or -1 when the header data exceeds
 * DKIM_MAX_HEADER_DATA (or memory ran out).
 */
int dkim_crypto_check_headers(const struct dkim_sig *sig, EVP_PKEY *pkey,
                              const struct msg_headers *h, const char *raw, size_t raw_len,
                              const char **verdict);

#endif
