/*
 * dns_cache - a shared, bounded, TTL-honouring cache in front of a resolver.
 *
 * Wraps any struct dns_resolver and is one itself.  Positive answers are
 * kept for their TTL, capped at max_ttl; NXDOMAIN and NODATA for their
 * negative TTL (RFC 2308), capped at max_negative_ttl; temporary failures
 * for tempfail_ttl seconds (0: never cached).  When max_entries would be
 * exceeded, the least recently used entry goes.  Concurrent questions for
 * the same name and type while one is in flight wait for it rather than
 * asking again.
 *
 * dns_prefetch() on the cache starts a question on one of
 * prefetch_threads background threads (made when first needed) and
 * returns at once; the answer lands in the cache, where a later question
 * finds it, or waits for it while it is in flight.  At most prefetch_queue
 * questions wait for a thread; past that a prefetch is dropped (the
 * question is then asked when it is needed).  A question still waiting for
 * a thread when it is asked is asked at once by the asker, so threads held
 * up by look-ups that stall hold up no one else.  Questions still waiting when
 * the cache is freed are answered with a temporary failure.
 *
 * Thread safety: safe from many threads; the table is split into shards,
 * each with its own lock, so threads rarely wait on each other.
 * Ownership: the cache owns the backend and frees it with itself.
 */
#ifndef AUTH_DNS_CACHE_H
#define AUTH_DNS_CACHE_H

#include <time.h>

#include "dns.h"

struct dns_cache_opts {
	size_t max_entries;        /* 0: the default, 65536 */
	uint32_t max_ttl;          /* 0: the default, 86400 */
	uint32_t max_negative_ttl; /* 0: the default, 3600 */
	uint32_t tempfail_ttl;     /* seconds to remember a failure; 0 never */
	unsigned prefetch_threads; /* 0: dns_prefetch() does nothing */
	size_t prefetch_queue;     /* 0: the default, 1024 */
	/* The clock, in seconds; NULL for CLOCK_MONOTONIC.  Tests set it. */
	time_t (*now)(void *ctx);
	void *now_ctx;
};

struct dns_cache_stats {
	unsigned long hits, misses, evictions, entries;
	unsigned long prefetches, prefetches_dropped;
};

struct dns_resolver *dns_cache_new(struct dns_resolver *backend, const struct dns_cache_opts *opts,
                                   struct auth_error *err);

/* r must be a resolver made by dns_cache_new(). */
void dns_cache_get_stats(struct dns_resolver *r, struct dns_cache_stats *out);
/* The resolver behind it (still the cache's). */
struct dns_resolver *dns_cache_backend(struct dns_resolver *r);

#endif
