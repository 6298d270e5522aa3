/*
 * dkim_keycache - a bounded, shared cache of parsed DKIM key records.
 *
 * Reading an RSA key into an EVP_PKEY goes through OpenSSL 3's decoder
 * framework and costs far more than verifying a signature with it, yet the
 * same few selectors sign most mail.  dkim_keycache_parse() answers like
 * dkim_key_parse() and remembers the parsed key under the exact bytes of the
 * record (every tag of it, so two records that differ in anything are two
 * entries), handing out EVP_PKEY references of its own.
 *
 * Only records that parse into a usable key are kept; errors, revoked keys
 * and records that are not DKIM keys are parsed every time (they are cheap,
 * and a failure inside OpenSSL must not be remembered).  Records longer
 * than DKIM_KEYCACHE_MAX_RECORD bytes are parsed without the cache.
 *
 * Limits: at most the capacity given to dkim_keycache_new() entries (1 to
 * DKIM_KEYCACHE_MAX_ENTRIES); when full, the least recently used entry is
 * dropped.  Nothing expires by time: an entry is the parse of its bytes,
 * which never goes stale; the DNS TTL still decides which bytes are asked
 * about.
 *
 * Ownership: the cache is its creator's, freed with dkim_keycache_free()
 * once no thread uses it; keys it hands out hold their own references and
 * are released with dkim_key_clear() as usual, before or after the cache
 * is freed.  Thread-safe: any number of threads may share one cache.
 */
#ifndef AUTH_DKIM_KEYCACHE_H
#define AUTH_DKIM_KEYCACHE_H

#include <stddef.h>

#include "dkim_key.h"

#define DKIM_KEYCACHE_MAX_ENTRIES 4096
#define DKIM_KEYCACHE_MAX_RECORD 4096

struct dkim_keycache;

/* capacity is clamped to 1..DKIM_KEYCACHE_MAX_ENTRIES.  NULL when out of
 * memory. */
struct dkim_keycache *dkim_keycache_new(size_t capacity);
void dkim_keycache_free(struct dkim_keycache *c);

/* dkim_key_parse() through the cache; c may be NULL (no cache). */
const char *dkim_keycache_parse(struct dkim_keycache *c, const unsigned char *txt, size_t len,
                                struct dkim_key *out, enum dkim_key_kind *kind);

/* The number of look-ups answered from the cache and of parses, so far. */
void dkim_keycache_stats(struct dkim_keycache *c, unsigned long *hits, unsigned long *misses);

#endif
