/*
 * test-resolver - the resolver made from a configuration takes its dns_*
 * keys: a server that does not answer gives a temporary failure, which the
 * cache then remembers for dns_tempfail_ttl (and not at all with 0).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_cache.h"
#include "resolver.h"
#include "tap.h"

/* A UDP port bound here and never read: queries to it go unanswered. */
static int
silent_port(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	if ((*fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(*fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

static void
ask_twice(int port, const char *ttl, unsigned long want_hits)
{
	struct policy_config *cfg = config_new(NULL);
	struct auth_error err;
	struct dns_resolver *r;
	struct dns_cache_stats st;
	const struct dns_answer *a;
	char server[64];
	int i;

	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	if (cfg == NULL || config_set(cfg, "dns_server", server, &err) < 0 ||
	    config_set(cfg, "dns_timeout", "100ms", &err) < 0 ||
	    config_set(cfg, "dns_retries", "0", &err) < 0 ||
	    config_set(cfg, "dns_tempfail_ttl", ttl, &err) < 0) {
		ok(0, "config: %s", err.msg);
		return;
	}
	r = resolver_new(cfg, 0, &err);
	ok(r != NULL, "dns_tempfail_ttl %s: resolver made", ttl);
	for (i = 0; r != NULL && i < 2; i++) {
		is_int(dns_query(r, "example.com", DNS_T_TXT, &a, &err), 0, "  query %d answered",
		       i);
		is_int(a->status, DNS_TEMPFAIL, "  query %d: a temporary failure", i);
		dns_answer_release(a);
	}
	if (r != NULL) {
		dns_cache_get_stats(r, &st);
		is_int(st.hits, want_hits, "  the second from the cache: %s",
		       want_hits ? "yes" : "no");
	}
	dns_resolver_free(r);
	config_free(cfg);
}

int
main(void)
{
	int fd, port = silent_port(&fd);

	if (port < 0) {
		ok(0, "a UDP port on loopback");
		return done_testing();
	}
	ask_twice(port, "30", 1);
	ask_twice(port, "0", 0);
	close(fd);
	return done_testing();
}
