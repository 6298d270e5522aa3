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
 * Counts (dns_ldns_get_stats()): every try is one query and ends in one
 * reply kind, so the kinds add up to the queries; a try that went over TCP
 * after a truncated UDP reply is still one query, counted in tcp as well.
 * The latency of a look-up is that of one question to the network, from
 * the first try to the last (a CNAME chain asked on is a look-up of its
 * own), in fixed buckets whose upper bounds dns_ldns_latency_bounds_us
 * gives.  The counts are plain numbers for the caller to read; libauth
 * never reports them anywhere.
 *
 * Thread safety: no ldns object is shared between threads (each question
 * builds and frees its own); the configuration is read-only; the counts are
 * relaxed atomics, on a cache line of their own.
 */
#ifndef AUTH_DNS_LDNS_H
#define AUTH_DNS_LDNS_H

#include "dns.h"

struct dns_ldns_opts {
	const char *server;  /* HOST[:PORT], or NULL for /etc/resolv.conf */
	unsigned timeout_ms; /* per try; 0 means the default, 2000 */
	unsigned retries;    /* extra tries after the first */
};

/* What a try came back with. */
enum dns_ldns_reply {
	DNS_LDNS_R_NOERROR,
	DNS_LDNS_R_NXDOMAIN,
	DNS_LDNS_R_SERVFAIL,
	DNS_LDNS_R_REFUSED,
	DNS_LDNS_R_OTHER,     /* any other RCODE */
	DNS_LDNS_R_TIMEOUT,   /* no reply in time, or the network refused */
	DNS_LDNS_R_MALFORMED, /* a reply that does not parse or is not ours */
	DNS_LDNS_R_COUNT
};

#define DNS_LDNS_LATENCY_BUCKETS 12
/* Upper bounds of the latency buckets, in microseconds, increasing. */
extern const unsigned long dns_ldns_latency_bounds_us[DNS_LDNS_LATENCY_BUCKETS];

struct dns_ldns_stats {
	unsigned long queries; /* tries sent */
	unsigned long tcp;     /* of which went over TCP (truncated over UDP) */
	unsigned long replies[DNS_LDNS_R_COUNT];
	/* Look-ups per bucket (not cumulative); the last one past every bound. */
	unsigned long latency[DNS_LDNS_LATENCY_BUCKETS + 1];
	unsigned long long latency_us; /* their sum */
};

struct dns_resolver *dns_ldns_new(const struct dns_ldns_opts *opts, struct auth_error *err);

/* Number of questions that had to be asked again over TCP because the UDP
 * reply was truncated.  r must be a resolver made by dns_ldns_new(). */
unsigned long dns_ldns_tcp_count(struct dns_resolver *r);

/* The counts so far.  r must be a resolver made by dns_ldns_new(). */
void dns_ldns_get_stats(struct dns_resolver *r, struct dns_ldns_stats *out);

#endif
