/*
 * resolver - see resolver.h.
 */
#include "autoconf.h"

#include "resolver.h"

#include <string.h>

struct dns_resolver *
resolver_new(const struct policy_config *cfg, unsigned prefetch_threads, struct auth_error *err)
{
	struct dns_ldns_opts lopts = {cfg->dns_server, cfg->dns_timeout_ms, cfg->dns_retries};
	struct dns_cache_opts copts;
	struct dns_resolver *backend;

	memset(&copts, 0, sizeof(copts));
	copts.max_entries = cfg->dns_cache_entries;
	copts.max_ttl = cfg->dns_cache_max_ttl;
	copts.tempfail_ttl = cfg->dns_tempfail_ttl;
	copts.prefetch_threads = prefetch_threads;
	if ((backend = dns_ldns_new(&lopts, err)) == NULL)
		return NULL;
	return dns_cache_new(backend, &copts, err);
}

void
resolver_get_stats(struct dns_resolver *r, struct resolver_stats *out)
{
	dns_cache_get_stats(r, &out->cache);
	dns_ldns_get_stats(dns_cache_backend(r), &out->net);
}
