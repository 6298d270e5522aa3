/*
 * dkim_bodyset - the body hashes of every signature on one message, each
 * computed once.
 *
 * Signatures that canonicalize the body alike, hash it with the same
 * function and stop at the same l= share one body hasher (dkim_canon.h):
 * dkim_bodyset_add() hands back the index of an existing hasher when one
 * matches, and makes a new one otherwise.  The body is then fed to all of
 * them as it arrives; after dkim_bodyset_final() each index has its digest
 * and canonical length.  The DKIM verifier, the ARC verifier and the ARC
 * sealer's body hash go through it.
 *
 * Limits: at most DKIM_BODYSET_MAX hashers (a caller never needs more than
 * one per signature it examines).  Memory does not grow with the body.
 * Ownership: the set is the caller's, freed with dkim_bodyset_free().  Not
 * thread-safe: one per message.
 */
#ifndef AUTH_DKIM_BODYSET_H
#define AUTH_DKIM_BODYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim_canon.h"
#include "dkim_sig.h"

#define DKIM_BODYSET_MAX 256

struct dkim_bodyset;

/* NULL when out of memory. */
struct dkim_bodyset *dkim_bodyset_new(void);

/* The hasher for body canonicalization c, the hash of algorithm alg, and
 * l= (has_l false: the whole body).  Returns 0 and its index in *idx, or
 * -1 when out of memory or past DKIM_BODYSET_MAX, or after the body began. */
int dkim_bodyset_add(struct dkim_bodyset *s, enum dkim_canon c, enum dkim_alg alg, bool has_l,
                     uint64_t l, size_t *idx);

/* Body bytes as on the wire (CRLF line ends), in chunks of any size. */
void dkim_bodyset_update(struct dkim_bodyset *s, const char *p, size_t n);

/* Ends the body.  Returns 0, or -1 when a digest failed.  Call once. */
int dkim_bodyset_final(struct dkim_bodyset *s);

/* After final: the digest of hasher idx and its length, and the canonical
 * body length in total (which may pass l=). */
const unsigned char *dkim_bodyset_digest(const struct dkim_bodyset *s, size_t idx, unsigned *len);
uint64_t dkim_bodyset_total(const struct dkim_bodyset *s, size_t idx);

void dkim_bodyset_free(struct dkim_bodyset *s);

#endif
