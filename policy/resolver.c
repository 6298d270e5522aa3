/*
 * resolver - see resolver.h.
 */
#include "autoconf.h"

#include "resolver.h"

#include <string.h>

#include "dns_cache.h"
#include "dns_ldns.h"

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
