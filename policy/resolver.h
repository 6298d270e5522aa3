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
 * Ownership: the caller frees the resolver with dns_resolver_free().
 */
#ifndef AUTH_RESOLVER_H
#define AUTH_RESOLVER_H

#include "config.h"
#include "dns.h"
#include "error.h"

struct dns_resolver *resolver_new(const struct policy_config *cfg, unsigned prefetch_threads,
                                  struct auth_error *err);

#endif
