/*
 * test-dns_ldns - the network resolver against a real server.
 *
 * Run by tests/e2e/dns-nsd.sh, which serves the zones in tests/e2e/dns-nsd with
 * nsd and passes its address in DNS_TEST_SERVER (HOST:PORT).  Without it
 * the whole test is skipped.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns_cache.h"
#include "dns_ldns.h"
#include "dnstest.h"
#include "tap.h"

static void
test_answers(struct dns_resolver *r)
{
	const struct dns_answer *a;
	char buf[INET_ADDRSTRLEN];

	a = ask(r, "WWW.dnstest.example.", DNS_T_A);
	is_int(a->status, DNS_RECORDS, "A answered");
	is_int(a->count, 2, "two A records");
	is_str(addr4(&a->rrs[0], buf), "192.0.2.1", "first A");
	is_str(addr4(&a->rrs[1], buf), "192.0.2.2", "second A");
	is_int(a->ttl, 300, "TTL from the zone");
	is_str(a->canonical_name, "www.dnstest.example", "canonical name");
	dns_answer_release(a);

	a = ask(r, "txt.dnstest.example", DNS_T_TXT);
	is_int(a->count, 1, "one TXT");
	is_int(a->rrs[0].u.txt.nstrings, 2, "two strings");
	is_str((const char *)a->rrs[0].u.txt.joined, "v=spf1 -all", "strings joined");
	dns_answer_release(a);

	a = ask(r, "dnstest.example", DNS_T_MX);
	is_int(a->count, 1, "one MX");
	is_int(a->rrs[0].u.mx.preference, 10, "MX preference");
	is_str(a->rrs[0].u.mx.exchange, "mx1.dnstest.example", "MX exchange");
	dns_answer_release(a);

	a = ask(r, "nomx.dnstest.example", DNS_T_MX);
	is_str(a->rrs[0].u.mx.exchange, "", "null MX");
	dns_answer_release(a);
}

static void
test_negative(struct dns_resolver *r)
{
	const struct dns_answer *a;

	a = ask(r, "nope.dnstest.example", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "NXDOMAIN");
	is_int(a->ttl, 120, "NXDOMAIN TTL is the SOA minimum");
	dns_answer_release(a);
	a = ask(r, "www.dnstest.example", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "NODATA");
	is_int(a->ttl, 120, "NODATA TTL is the SOA minimum");
	dns_answer_release(a);
	a = ask(r, "www.example.org", DNS_T_A);
	is_int(a->status, DNS_TEMPFAIL, "REFUSED is TEMPFAIL");
	is_str(a->reason, "REFUSED", "reason REFUSED");
	dns_answer_release(a);
}

static void
test_tcp(struct dns_resolver *r)
{
	const struct dns_answer *a;
	unsigned long before = dns_ldns_tcp_count(r);
	size_t i;
	int whole = 1;

	a = ask(r, "big.dnstest.example", DNS_T_TXT);
	is_int(dns_ldns_tcp_count(r), before + 1, "truncated UDP reply asked again over TCP");
	is_int(a->status, DNS_RECORDS, "big TXT answered");
	is_int(a->rrs[0].u.txt.nstrings, 6, "all six strings");
	is_int(a->rrs[0].u.txt.joined_len, 6 * 255, "1530 octets in all");
	for (i = 0; i < a->rrs[0].u.txt.joined_len; i++)
		if (a->rrs[0].u.txt.joined[i] != (unsigned char)('0' + i / 255))
			whole = 0;
	ok(whole, "every octet as published");
	dns_answer_release(a);
	a = ask(r, "txt.dnstest.example", DNS_T_TXT);
	is_int(dns_ldns_tcp_count(r), before + 1, "small reply stays on UDP");
	dns_answer_release(a);
}

static void
test_cname(struct dns_resolver *r)
{
	const struct dns_answer *a;
	char buf[INET_ADDRSTRLEN];

	a = ask(r, "c1.dnstest.example", DNS_T_A);
	is_int(a->status, DNS_RECORDS, "CNAME chain followed");
	is_str(a->canonical_name, "www.dnstest.example", "canonical name at the chain's end");
	is_int(a->count, 2, "target's records");
	dns_answer_release(a);
	a = ask(r, "ext.dnstest.example", DNS_T_A);
	is_str(a->canonical_name, "www.other.example", "CNAME into another zone");
	is_str(addr4(&a->rrs[0], buf), "198.51.100.1", "other zone's A");
	is_int(a->ttl, 60, "TTL the smallest along the chain");
	dns_answer_release(a);
	a = ask(r, "c2.dnstest.example", DNS_T_CNAME);
	is_str(a->rrs[0].u.ptr, "c3.dnstest.example", "CNAME asked for itself");
	dns_answer_release(a);
}

/* A try is one query and ends in one kind; every look-up is timed. */
static void
test_stats(const char *server)
{
	struct dns_ldns_opts o = {server, 2000, 0};
	struct auth_error err;
	struct dns_resolver *r = dns_ldns_new(&o, &err);
	struct dns_ldns_stats st;
	unsigned long timed = 0;
	size_t i;

	dns_answer_release(ask(r, "www.dnstest.example", DNS_T_A));
	dns_answer_release(ask(r, "nope.dnstest.example", DNS_T_A));
	dns_answer_release(ask(r, "www.example.org", DNS_T_A));
	dns_answer_release(ask(r, "big.dnstest.example", DNS_T_TXT));
	dns_ldns_get_stats(r, &st);
	is_int(st.queries, 4, "stats: four queries");
	is_int(st.tcp, 1, "stats: one of them again over TCP");
	is_int(st.replies[DNS_LDNS_R_NOERROR], 2, "stats: two NOERROR");
	is_int(st.replies[DNS_LDNS_R_NXDOMAIN], 1, "stats: one NXDOMAIN");
	is_int(st.replies[DNS_LDNS_R_REFUSED], 1, "stats: one REFUSED");
	is_int(st.replies[DNS_LDNS_R_TIMEOUT] + st.replies[DNS_LDNS_R_SERVFAIL] +
	           st.replies[DNS_LDNS_R_MALFORMED] + st.replies[DNS_LDNS_R_OTHER],
	       0, "stats: nothing else");
	for (i = 0; i <= DNS_LDNS_LATENCY_BUCKETS; i++)
		timed += st.latency[i];
	is_int(timed, 4, "stats: four look-ups timed");
	ok(st.latency[DNS_LDNS_LATENCY_BUCKETS] == 0, "stats: none past %lu us",
	   dns_ldns_latency_bounds_us[DNS_LDNS_LATENCY_BUCKETS - 1]);
	dns_resolver_free(r);
}

#define NTHREADS 8
#define NROUNDS 25

static void *
thread_run(void *arg)
{
	struct dns_resolver *r = arg;
	uintptr_t bad = 0;
	int i;

	for (i = 0; i < NROUNDS; i++) {
		const struct dns_answer *a;
		struct auth_error err;
		int txt = i % 2;

		if (dns_query(r, txt ? "txt.dnstest.example" : "c1.dnstest.example",
		              txt ? DNS_T_TXT : DNS_T_A, &a, &err) < 0) {
			bad++;
			continue;
		}
		if (a->status != DNS_RECORDS || a->count != (txt ? 1u : 2u))
			bad++;
		dns_answer_release(a);
	}
	return (void *)bad;
}

/* One resolver asked from many threads at once, with no cache between. */
static void
test_threads(struct dns_resolver *r)
{
	pthread_t t[NTHREADS];
	uintptr_t bad = 0;
	void *ret;
	int i;

	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, thread_run, r);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &ret);
		bad += (uintptr_t)ret;
	}
	is_int(bad, 0, "%d threads x %d questions all answered right", NTHREADS, NROUNDS);
}

static void
test_cache(const char *server)
{
	struct dns_ldns_opts o = {server, 2000, 0};
	struct auth_error err;
	struct dns_resolver *c = dns_cache_new(dns_ldns_new(&o, &err), NULL, &err);
	struct dns_cache_stats st;
	const struct dns_answer *a, *b;

	a = ask(c, "www.dnstest.example", DNS_T_A);
	b = ask(c, "www.dnstest.example", DNS_T_A);
	ok(a == b, "cache in front hands out the same answer");
	dns_cache_get_stats(c, &st);
	is_int(st.hits, 1, "second ask a hit");
	dns_answer_release(a);
	dns_answer_release(b);
	dns_resolver_free(c);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A server that never answers: a UDP port held open and never read
 * (hold != 0), or a port nothing listens on any more (its ICMP errors do
 * not reach an unconnected socket, so it times out the same way).
 */
static void
test_timeout(int hold)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char server[64];
	struct dns_ldns_opts o = {server, 300, 1};
	const char *what = hold ? "silent port" : "closed port";
	struct dns_ldns_stats st;
	struct auth_error err;
	struct dns_resolver *r;
	const struct dns_answer *a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	double t0, elapsed;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		ok(0, "%s bound", what);
		return;
	}
	snprintf(server, sizeof(server), "127.0.0.1:%u", ntohs(sin.sin_port));
	if (!hold)
		close(fd);
	r = dns_ldns_new(&o, &err);
	t0 = now_s();
	a = ask(r, "www.dnstest.example", DNS_T_A);
	elapsed = now_s() - t0;
	is_int(a->status, DNS_TEMPFAIL, "%s: no reply is TEMPFAIL", what);
	is_str(a->reason, "timeout", "%s: reason timeout", what);
	ok(elapsed >= 0.55 && elapsed < 0.6 + 0.4, "%s: two tries of 300 ms: %.3f s", what,
	   elapsed);
	dns_ldns_get_stats(r, &st);
	ok(st.queries == 2 && st.replies[DNS_LDNS_R_TIMEOUT] == 2,
	   "%s: two queries, two timeouts counted (%lu, %lu)", what, st.queries,
	   st.replies[DNS_LDNS_R_TIMEOUT]);
	ok(st.latency_us >= 550000, "%s: the look-up's time counted whole (%llu us)", what,
	   st.latency_us);
	dns_answer_release(a);
	dns_resolver_free(r);
	if (hold)
		close(fd);
}

static void
test_server_specs(void)
{
	const char *bad[] = {"[::1", "[::1]x", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:5x", ""};
	struct dns_ldns_opts o = {NULL, 0, 0};
	struct auth_error err;
	struct dns_resolver *r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.server = bad[i];
		r = dns_ldns_new(&o, &err);
		ok(r == NULL && err.code == AUTH_EINVAL, "server \"%s\" rejected", bad[i]);
		dns_resolver_free(r);
	}
	o.server = "[::1]:5353";
	r = dns_ldns_new(&o, &err);
	ok(r != NULL, "[v6]:port accepted");
	dns_resolver_free(r);
	o.server = "::1";
	r = dns_ldns_new(&o, &err);
	ok(r != NULL, "bare IPv6 accepted");
	dns_resolver_free(r);
}

int
main(void)
{
	const char *server = getenv("DNS_TEST_SERVER");
	struct dns_ldns_opts o = {server, 2000, 1};
	struct auth_error err;
	struct dns_resolver *r;

	if (server == NULL || *server == '\0') {
		printf("1..0 # SKIP DNS_TEST_SERVER not set\n");
		return 0;
	}
	r = dns_ldns_new(&o, &err);
	if (r == NULL) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	test_answers(r);
	test_negative(r);
	test_tcp(r);
	test_cname(r);
	test_threads(r);
	dns_resolver_free(r);
	test_cache(server);
	test_stats(server);
	test_timeout(1);
	test_timeout(0);
	test_server_specs();
	return done_testing();
}
