/*
 * dns_ldns - see dns_ldns.h.
 *
 * The servers are read once (resolv.conf through ldns, or the one given)
 * into plain socket addresses.  Each question then builds its own query
 * packet and buffers and sends them with ldns_udp_send()/ldns_tcp_send(),
 * which keep no state: no ldns object outlives a question or is seen by two
 * threads, so queries need no lock.  Sending ourselves rather than through
 * an ldns_resolver also lets us choose the query ID, check it, and see (and
 * count) the switch to TCP when a reply comes back truncated.
 */
#include "autoconf.h"

#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dns_ldns.h"
#include "dns_wire.h"

#define DNS_LDNS_TIMEOUT_MS 2000
/* RFC 9715 / DNS flag day 2020: a payload size that avoids fragmentation. */
#define DNS_LDNS_UDP_SIZE 1232
#define DNS_LDNS_MAX_SERVERS 8
#define DNS_LDNS_HDR_LEN 12
#define DNS_LDNS_FLAG_TC 0x02 /* in the third header octet */

struct nameserver {
	struct sockaddr_storage addr;
	socklen_t len;
};

const unsigned long dns_ldns_latency_bounds_us[DNS_LDNS_LATENCY_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
};

/* Written by every thread that asks; on a line of their own, away from the
 * read-only settings every question reads. */
struct ldns_counts {
	_Alignas(64) atomic_ulong queries;
	atomic_ulong tcp;
	atomic_ulong replies[DNS_LDNS_R_COUNT];
	atomic_ulong latency[DNS_LDNS_LATENCY_BUCKETS + 1];
	atomic_ullong latency_us;
};

struct dns_ldns {
	struct dns_resolver base; /* first: the resolver is this */
	/* read-only after creation */
	struct nameserver servers[DNS_LDNS_MAX_SERVERS];
	size_t nservers;
	struct timeval timeout;
	unsigned tries;
	struct ldns_counts counts;
};

static void
counts_add(atomic_ulong *a)
{
	atomic_fetch_add_explicit(a, 1, memory_order_relaxed);
}

static int dns_ldns_query(struct dns_resolver *r, const char *name, enum dns_type type,
                          const struct dns_answer **out, struct auth_error *err);
static void dns_ldns_release(struct dns_resolver *r);

static const struct dns_resolver_ops ldns_ops = {
    .query = dns_ldns_query,
    .free = dns_ldns_release,
};

/* ---- set-up ---- */

static int
server_add(struct dns_ldns *l, const struct sockaddr *sa, socklen_t len)
{
	if (l->nservers == DNS_LDNS_MAX_SERVERS || len > sizeof(l->servers[0].addr))
		return 0;
	memcpy(&l->servers[l->nservers].addr, sa, len);
	l->servers[l->nservers].len = len;
	l->nservers++;
	return 0;
}

/* Splits HOST[:PORT], [V6]:PORT, [V6] or a bare IPv6 address. */
static int
server_split(const char *spec, char *host, size_t hostlen, const char **port)
{
	const char *end, *colon = strchr(spec, ':');
	size_t n;

	*port = "53";
	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		if (end[1] == ':')
			*port = end + 2;
		spec++;
		n = (size_t)(end - spec);
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		*port = colon + 1;
		n = (size_t)(colon - spec);
	} else {
		n = strlen(spec);
	}
	if (n == 0 || n >= hostlen || **port == '\0' ||
	    strspn(*port, "0123456789") != strlen(*port))
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	return strtoul(*port, NULL, 10) <= 65535 ? 0 : -1;
}

static int
servers_from_spec(struct dns_ldns *l, const char *spec, struct auth_error *err)
{
	struct addrinfo hints = {0}, *res, *ai;
	char host[NI_MAXHOST];
	const char *port;
	int rc;

	if (server_split(spec, host, sizeof(host), &port) < 0)
		return auth_error_set(err, AUTH_EINVAL, "%s: not HOST[:PORT]", spec);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return auth_error_set(err, AUTH_EDNS, "%s: %s", spec, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		server_add(l, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int
servers_from_resolv_conf(struct dns_ldns *l, struct auth_error *err)
{
	ldns_resolver *res = NULL;
	size_t i, size;

	if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK)
		return auth_error_set(err, AUTH_EDNS, "cannot read %s", LDNS_RESOLV_CONF);
	for (i = 0; i < ldns_resolver_nameserver_count(res); i++) {
		struct sockaddr_storage *ss = ldns_rdf2native_sockaddr_storage(
		    ldns_resolver_nameservers(res)[i], ldns_resolver_port(res), &size);

		if (ss == NULL)
			continue;
		server_add(l, (const struct sockaddr *)ss, (socklen_t)size);
		free(ss);
	}
	ldns_resolver_deep_free(res);
	return 0;
}

struct dns_resolver *
dns_ldns_new(const struct dns_ldns_opts *opts, struct auth_error *err)
{
	struct dns_ldns *l = calloc(1, sizeof(*l));
	unsigned ms =
	    opts != NULL && opts->timeout_ms != 0 ? opts->timeout_ms : DNS_LDNS_TIMEOUT_MS;
	int rc;

	if (l == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	l->base.ops = &ldns_ops;
	l->timeout.tv_sec = ms / 1000;
	l->timeout.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	l->tries = 1 + (opts != NULL ? opts->retries : 0);
	if (opts != NULL && opts->server != NULL)
		rc = servers_from_spec(l, opts->server, err);
	else
		rc = servers_from_resolv_conf(l, err);
	if (rc == 0 && l->nservers == 0)
		rc = auth_error_set(err, AUTH_EDNS, "no usable name server");
	if (rc < 0) {
		free(l);
		return NULL;
	}
	return &l->base;
}

static void
dns_ldns_release(struct dns_resolver *r)
{
	free(r);
}

unsigned long
dns_ldns_tcp_count(struct dns_resolver *r)
{
	struct dns_ldns *l = (struct dns_ldns *)r;

	return atomic_load_explicit(&l->counts.tcp, memory_order_relaxed);
}

void
dns_ldns_get_stats(struct dns_resolver *r, struct dns_ldns_stats *out)
{
	const struct ldns_counts *c = &((struct dns_ldns *)r)->counts;
	size_t i;

	out->queries = atomic_load_explicit(&c->queries, memory_order_relaxed);
	out->tcp = atomic_load_explicit(&c->tcp, memory_order_relaxed);
	for (i = 0; i < DNS_LDNS_R_COUNT; i++)
		out->replies[i] = atomic_load_explicit(&c->replies[i], memory_order_relaxed);
	for (i = 0; i <= DNS_LDNS_LATENCY_BUCKETS; i++)
		out->latency[i] = atomic_load_explicit(&c->latency[i], memory_order_relaxed);
	out->latency_us = atomic_load_explicit(&c->latency_us, memory_order_relaxed);
}

static unsigned long long
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000u + (unsigned long long)ts.tv_nsec / 1000u;
}

static void
count_latency(struct dns_ldns *l, unsigned long long started)
{
	unsigned long long us = monotonic_us() - started;
	size_t i = 0;

	while (i < DNS_LDNS_LATENCY_BUCKETS && us > dns_ldns_latency_bounds_us[i])
		i++;
	counts_add(&l->counts.latency[i]);
	atomic_fetch_add_explicit(&l->counts.latency_us, us, memory_order_relaxed);
}

/* A reply whose RCODE says it answers, but that could not be read as an
 * answer (not to our question, a record that does not parse, a broken
 * chain), is malformed. */
static enum dns_ldns_reply
reply_kind(const ldns_pkt *pkt, const struct dns_answer *a)
{
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);

	if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN) {
		if (a != NULL && a->status == DNS_TEMPFAIL)
			return DNS_LDNS_R_MALFORMED;
		return rcode == LDNS_RCODE_NOERROR ? DNS_LDNS_R_NOERROR : DNS_LDNS_R_NXDOMAIN;
	}
	if (rcode == LDNS_RCODE_SERVFAIL)
		return DNS_LDNS_R_SERVFAIL;
	return rcode == LDNS_RCODE_REFUSED ? DNS_LDNS_R_REFUSED : DNS_LDNS_R_OTHER;
}

/* ---- asking ---- */

/* The query in wire form, with a fresh random ID and EDNS0 (RFC 6891). */
static ldns_buffer *
query_wire(const char *name, enum dns_type type, uint16_t *id)
{
	ldns_rdf *qname = ldns_dname_new_frm_str(name);
	ldns_pkt *pkt;
	ldns_buffer *qb;

	if (qname == NULL)
		return NULL;
	pkt = ldns_pkt_query_new(qname, (ldns_rr_type)type, LDNS_RR_CLASS_IN, LDNS_RD);
	if (pkt == NULL)
		return NULL;
	if (getrandom(id, sizeof(*id), 0) != (ssize_t)sizeof(*id))
		*id = (uint16_t)random();
	ldns_pkt_set_id(pkt, *id);
	ldns_pkt_set_edns_udp_size(pkt, DNS_LDNS_UDP_SIZE);
	qb = ldns_buffer_new(LDNS_MIN_BUFLEN);
	if (qb != NULL && ldns_pkt2buffer_wire(qb, pkt) != LDNS_STATUS_OK) {
		ldns_buffer_free(qb);
		qb = NULL;
	}
	ldns_pkt_free(pkt);
	return qb;
}

static int
wire_id_ok(const uint8_t *wire, size_t size, uint16_t id)
{
	return size >= DNS_LDNS_HDR_LEN && ((uint16_t)(wire[0] << 8 | wire[1])) == id;
}

/* One try against one server: UDP, then TCP if the reply is truncated.
 * Returns the parsed reply, or NULL with *reason set. */
static ldns_pkt *
exchange_once(struct dns_ldns *l, const struct nameserver *srv, ldns_buffer *qb, uint16_t id,
              const char **reason)
{
	uint8_t *wire = NULL;
	size_t size = 0;
	ldns_pkt *pkt = NULL;
	ldns_status st;

	counts_add(&l->counts.queries);
	st = ldns_udp_send(&wire, qb, &srv->addr, srv->len, l->timeout, &size);
	if (st == LDNS_STATUS_OK && wire_id_ok(wire, size, id) && (wire[2] & DNS_LDNS_FLAG_TC)) {
		free(wire);
		wire = NULL;
		counts_add(&l->counts.tcp);
		st = ldns_tcp_send(&wire, qb, &srv->addr, srv->len, l->timeout, &size);
	}
	if (st != LDNS_STATUS_OK) {
		*reason = "timeout";
		counts_add(&l->counts.replies[DNS_LDNS_R_TIMEOUT]);
	} else if (!wire_id_ok(wire, size, id) ||
	           ldns_wire2pkt(&pkt, wire, size) != LDNS_STATUS_OK) {
		*reason = "malformed reply";
		counts_add(&l->counts.replies[DNS_LDNS_R_MALFORMED]);
		pkt = NULL;
	}
	free(wire);
	return pkt;
}

/* Asks name/type, 1 + retries times round the servers.  Returns the
 * reply, or NULL with *reason set. */
static ldns_pkt *
exchange(struct dns_ldns *l, const char *name, enum dns_type type, const char **reason)
{
	uint16_t id;
	ldns_buffer *qb = query_wire(name, type, &id);
	unsigned long long started = monotonic_us();
	ldns_pkt *pkt = NULL;
	unsigned try;

	*reason = "out of memory";
	if (qb == NULL)
		return NULL;
	for (try = 0; pkt == NULL && try < l->tries; try++)
		pkt = exchange_once(l, &l->servers[try % l->nservers], qb, id, reason);
	ldns_buffer_free(qb);
	count_latency(l, started);
	return pkt;
}

static int
dns_ldns_query(struct dns_resolver *r, const char *name, enum dns_type type,
               const struct dns_answer **out, struct auth_error *err)
{
	struct dns_ldns *l = (struct dns_ldns *)r;
	struct dns_wire_chain chain;
	const char *reason;
	ldns_pkt *pkt;
	int rc;

	dns_wire_chain_init(&chain, name);
	for (;;) {
		pkt = exchange(l, chain.name, type, &reason);
		if (pkt == NULL) {
			*out = dns_answer_empty(DNS_TEMPFAIL, chain.name, 0, reason);
			return *out != NULL ? 0 : auth_error_set(err, AUTH_ENOMEM, "out of memory");
		}
		rc = dns_wire_reply(pkt, type, &chain, out, err);
		counts_add(&l->counts.replies[reply_kind(pkt, rc == 0 ? *out : NULL)]);
		ldns_pkt_free(pkt);
		/* 1: the chain left this reply; each time it grew, so it ends */
		if (rc != 1)
			return rc;
	}
}
