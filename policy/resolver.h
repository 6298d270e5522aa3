/*
 * resolver - the DNS resolver a configuration describes: ldns asking
 * dns_server (or the servers of /etc/resolv.conf) with dns_timeout and
 * dns_retries, behind one cache of dns_cache_entries answers, TTLs capped
 * at dns_cache_max_ttl and failures remembered for dns_tempfail_ttl.
 *
 * The daemons and authreport make theirs here, so that the dns_* keys
 * mean the same everywhere.  prefetch_threads is how many look-ups may run
 * in the background at once (dns_prefetch()); 0 for a program that asks
 * one question at a time.
 *
 * resolver_get_stats() reads what the cache and the network side counted
 * (for the daemons' metrics): the cache takes each shard's lock in turn, so
 * it is for an occasional reader, not for every message.
 *
 * Ownership: the caller frees the resolver with dns_resolver_free().
 */
#ifndef AUTH_RESOLVER_H
#define AUTH_RESOLVER_H

#include "config.h"
#include "dns.h"
#include "dns_cache.h"
#include "dns_ldns.h"
#include "error.h"

struct resolver_stats {
	struct dns_cache_stats cache;
	struct dns_ldns_stats net;
};

struct dns_resolver *resolver_new(const struct policy_config *cfg, unsigned prefetch_threads,
                                  struct auth_error *err);
/* r must be one resolver_new() made. */
void resolver_get_stats(struct dns_resolver *r, struct resolver_stats *out);

#endif
