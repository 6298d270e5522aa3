/*
 * dkim_key - DKIM public key records (RFC 6376 §3.6.1, RFC 8463 §4.2).
 *
 * dkim_key_parse() reads one TXT record (its strings joined) into a struct
 * dkim_key: tags v h k n p s t, the key itself as an OpenSSL EVP_PKEY.  RSA
 * keys are accepted as SubjectPublicKeyInfo (what everyone publishes) or as
 * a bare RSAPublicKey (the form §3.6.1 names); Ed25519 keys are the raw 32
 * bytes RFC 8463 specifies.  An empty p= is a revoked key.
 *
 * dkim_key_check() then decides whether a parsed key may verify a given
 * signature: key type (k=) against the algorithm, hash (h=), service (s=),
 * and t=s against an i= subdomain.
 *
 * Both return NULL when all is well, else the reason in the RFC's terms
 * ("key syntax error", "key revoked", "inappropriate key algorithm", ...).
 *
 * Ownership: the key holds a reference to its EVP_PKEY, released by
 * dkim_key_clear().  Limits: p= of at most DKIM_KEY_MAX_DER bytes decoded.
 * No shared state; thread-safe.
 */
#ifndef AUTH_DKIM_KEY_H
#define AUTH_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "dkim_sig.h"

#define DKIM_KEY_MAX_DER 2560

enum dkim_key_kind {
	DKIM_KEY_NOT_DKIM, /* not a tag-list, or v= other than DKIM1: another record */
	DKIM_KEY_RECORD,   /* a DKIM key record (reason says whether it is usable) */
};

struct dkim_key {
	enum dkim_keytype type;
	bool type_known;             /* k= names a type we implement */
	bool revoked;                /* p= empty */
	bool testing;                /* t=y */
	bool strict;                 /* t=s: i= must not be a subdomain of d= */
	bool hash_sha1, hash_sha256; /* allowed by h= (both when absent) */
	bool service_email;          /* s= includes * or email (true when absent) */
	EVP_PKEY *pkey;
	unsigned bits;
};

/* Parses a record.  *kind says whether it is a DKIM key record at all. */
const char *dkim_key_parse(const unsigned char *txt, size_t len, struct dkim_key *out,
                           enum dkim_key_kind *kind);

/* May this key verify sig?  NULL when yes. */
const char *dkim_key_check(const struct dkim_key *k, const struct dkim_sig *sig);

void dkim_key_clear(struct dkim_key *k);

#endif
