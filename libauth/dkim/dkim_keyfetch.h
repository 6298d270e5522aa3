/*
 * dkim_keyfetch - finding the public key a signature names (RFC 6376
 * §6.1.2): the TXT records at s._domainkey.d, asked through the resolver
 * (dns.h), read through the shared key cache (dkim_keycache.h), the one
 * DKIM key record among them chosen, and checked against the signature
 * (dkim_key_check()).  DKIM-Signature, ARC-Message-Signature and ARC-Seal
 * keys are all found this way.
 *
 * Outcomes: the key (DKIM_KEYFETCH_OK); a temporary DNS failure
 * (DKIM_KEYFETCH_TEMPFAIL, reason "DNS temporary failure"); or no usable
 * key (DKIM_KEYFETCH_FAIL) with the reason in the RFC's terms: "no key",
 * "multiple key records", "key syntax error", "key revoked" (then
 * key->revoked is set: the signer's own statement that no signature by it
 * is valid), "inappropriate key algorithm", and the others of dkim_key.h.
 * Whatever the outcome, *key holds what was read of the record (testing,
 * bits) and must be released with dkim_key_clear().
 *
 * Thread-safe when the resolver and cache are (both are).
 */
#ifndef AUTH_DKIM_KEYFETCH_H
#define AUTH_DKIM_KEYFETCH_H

#include "dkim_key.h"
#include "dkim_keycache.h"
#include "dkim_sig.h"
#include "dns.h"

enum dkim_keyfetch_status {
	DKIM_KEYFETCH_OK = 0,
	DKIM_KEYFETCH_TEMPFAIL,
	DKIM_KEYFETCH_FAIL,
};

/* cache may be NULL.  Returns the status; *reason is NULL for OK. */
enum dkim_keyfetch_status dkim_keyfetch(struct dns_resolver *r, struct dkim_keycache *cache,
                                        const struct dkim_sig *sig, struct dkim_key *key,
                                        const char **reason);

/* Starts the look-up dkim_keyfetch() will make for sig, in the
 * background (dns_prefetch()), so that several signatures' keys are asked
 * for at once. */
void dkim_keyfetch_prefetch(struct dns_resolver *r, const struct dkim_sig *sig);

#endif
