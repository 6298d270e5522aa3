/*
 * dns_ldns - the real resolver, over ldns.
 *
 * Asks the servers of /etc/resolv.conf, or one given HOST[:PORT] (IPv4,
 * [IPv6] or a name resolvable by the system), with recursion desired.  UDP
 * first, TCP when the answer is truncated; each try waits timeout_ms, and a
 * question is tried 1 + retries times before it is answered DNS_TEMPFAIL.
 * Replies are checked (question echoed, RCODE): SERVFAIL, REFUSED and
 * malformed replies are DNS_TEMPFAIL; NOERROR with no records of the type is
 * DNS_NODATA; NXDOMAIN is DNS_NXDOMAIN.  CNAMEs in the answer section are
 * followed; a chain not resolved in the reply is asked on, up to
 * DNS_CNAME_CHAIN_MAX.
 *
 * Thread safety: no ldns object is shared between threads (each question
 * builds and frees its own); the configuration is read-only.
 */
#ifndef AUTH_DNS_LDNS_H
#define AUTH_DNS_LDNS_H

#include "dns.h"

struct dns_ldns_opts {
	const char *server;  /* HOST[:PORT], or NULL for /etc/resolv.conf */
	unsigned timeout_ms; /* per try; 0 means the default, 2000 */
	unsigned retries;    /* extra tries after the first */
};

struct dns_resolver *dns_ldns_new(const struct dns_ldns_opts *opts, struct auth_error *err);

/* Number of questions that had to be asked again over TCP because the UDP
 * reply was truncated.  r must be a resolver made by dns_ldns_new(). */
unsigned long dns_ldns_tcp_count(struct dns_resolver *r);

#endif
