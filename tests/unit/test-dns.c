/*
 * test-dns - answers built by the builder, name normalization, the names
 * of types and statuses, and the query dispatch.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "dns.h"
#include "dns_wire.h"
#include "tap.h"

static void
test_normalize(void)
{
	char out[DNS_NAME_MAX + 1];
	char long_label[70], long_name[300];
	int i;

	is_int(dns_name_normalize("Mail.Example.COM.", out), 0, "normalize accepts a final dot");
	is_str(out, "mail.example.com", "normalize lowers case and drops the final dot");
	is_int(dns_name_normalize("_dmarc.example.com", out), 0, "underscore labels accepted");
	is_str(out, "_dmarc.example.com", "underscore label kept");
	is_int(dns_name_normalize("", out), -1, "empty name rejected");
	is_int(dns_name_normalize(".", out), -1, "root alone rejected");
	is_int(dns_name_normalize("a..b", out), -1, "empty label rejected");
	is_int(dns_name_normalize(".a", out), -1, "leading dot rejected");
	is_int(dns_name_normalize("a b.com", out), 0, "space inside a label accepted");
	is_str(out, "a b.com", "space kept");
	is_int(dns_name_normalize("a\tb.com", out), -1, "control byte rejected");
	is_int(dns_name_normalize("a\\.b.com", out), -1, "backslash rejected");
	memset(long_label, 'a', 63);
	long_label[63] = '\0';
	is_int(dns_name_normalize(long_label, out), 0, "63-octet label accepted");
	long_label[63] = 'a';
	long_label[64] = '\0';
	is_int(dns_name_normalize(long_label, out), -1, "64-octet label rejected");
	/* 50 labels "abcd." = 250 chars, then "xyz" = 253 */
	for (i = 0; i < 50; i++)
		memcpy(long_name + 5 * i, "abcd.", 5);
	memcpy(long_name + 250, "xyz", 4);
	is_int(dns_name_normalize(long_name, out), 0, "253-character name accepted");
	memcpy(long_name + 250, "xyz.", 5);
	is_int(dns_name_normalize(long_name, out), 0, "253 characters plus final dot accepted");
	memcpy(long_name + 250, "xyzw", 5);
	is_int(dns_name_normalize(long_name, out), -1, "254-character name rejected");
}

static void
test_names(void)
{
	is_str(dns_type_name(DNS_T_A), "A", "type A");
	is_str(dns_type_name(DNS_T_AAAA), "AAAA", "type AAAA");
	is_str(dns_type_name(DNS_T_MX), "MX", "type MX");
	is_str(dns_type_name(DNS_T_TXT), "TXT", "type TXT");
	is_str(dns_type_name(DNS_T_PTR), "PTR", "type PTR");
	is_str(dns_type_name(DNS_T_CNAME), "CNAME", "type CNAME");
	is_str(dns_type_name((enum dns_type)DNS_T_SPF), "SPF", "type SPF");
	is_str(dns_type_name((enum dns_type)2), "unknown", "type NS has no name here");
	is_str(dns_status_name(DNS_RECORDS), "records", "status records");
	is_str(dns_status_name(DNS_NODATA), "NODATA", "status NODATA");
	is_str(dns_status_name(DNS_NXDOMAIN), "NXDOMAIN", "status NXDOMAIN");
	is_str(dns_status_name(DNS_TEMPFAIL), "temporary failure", "status TEMPFAIL");
}

static void
test_builder_records(void)
{
	struct dns_answer_builder *b = dns_builder_new(DNS_RECORDS, "example.com");
	const struct dns_txt_string strs[3] = {
	    {(const unsigned char *)"v=spf1 ", 7},
	    {(const unsigned char *)"a\0b", 3},
	    {(const unsigned char *)"", 0},
	};
	const struct dns_answer *a, *again;
	struct in_addr v4;
	struct in6_addr v6;

	inet_pton(AF_INET, "192.0.2.1", &v4);
	inet_pton(AF_INET6, "2001:db8::1", &v6);
	is_int(dns_builder_add_a(b, 300, &v4), 0, "add A");
	is_int(dns_builder_add_aaaa(b, 200, &v6), 0, "add AAAA");
	is_int(dns_builder_add_mx(b, 400, 10, "mx.example.com"), 0, "add MX");
	is_int(dns_builder_add_ptr(b, 500, "host.example.com"), 0, "add PTR");
	is_int(dns_builder_add_txt(b, 600, 3, strs), 0, "add TXT");
	a = dns_builder_finish(b);
	ok(a != NULL, "finish gives an answer");
	is_int(a->status, DNS_RECORDS, "status records");
	is_int(a->ttl, 200, "answer TTL is the smallest record TTL");
	is_str(a->canonical_name, "example.com", "canonical name copied");
	ok(a->reason == NULL, "no reason on records");
	is_int(a->count, 5, "five records");
	is_int(a->rrs[0].type, DNS_T_A, "first is A");
	is_int(a->rrs[0].u.a.s_addr, v4.s_addr, "A address");
	ok(memcmp(&a->rrs[1].u.aaaa, &v6, 16) == 0, "AAAA address");
	is_int(a->rrs[2].u.mx.preference, 10, "MX preference");
	is_str(a->rrs[2].u.mx.exchange, "mx.example.com", "MX exchange");
	is_str(a->rrs[3].u.ptr, "host.example.com", "PTR target");
	is_int(a->rrs[4].u.txt.nstrings, 3, "TXT has three strings");
	is_mem(a->rrs[4].u.txt.strings[1].data, a->rrs[4].u.txt.strings[1].len, "a\0b", 3,
	       "TXT string with NUL kept");
	is_int(a->rrs[4].u.txt.strings[2].len, 0, "empty TXT string kept");
	is_mem(a->rrs[4].u.txt.joined, a->rrs[4].u.txt.joined_len, "v=spf1 a\0b", 10,
	       "TXT joined without separators");
	is_int(a->rrs[4].u.txt.joined[10], 0, "joined is NUL-terminated");
	again = dns_answer_retain(a);
	ok(again == a, "retain gives the same answer");
	dns_answer_release(a);
	is_str(again->rrs[2].u.mx.exchange, "mx.example.com", "answer alive after one release");
	dns_answer_release(again);
}

static void
test_builder_negative(void)
{
	struct dns_answer_builder *b;
	const struct dns_answer *a;

	a = dns_answer_empty(DNS_NXDOMAIN, "nope.example", 900, NULL);
	is_int(a->status, DNS_NXDOMAIN, "empty NXDOMAIN");
	is_int(a->ttl, 900, "negative TTL kept");
	is_int(a->count, 0, "no records");
	is_str(a->canonical_name, "nope.example", "name kept");
	dns_answer_release(a);

	a = dns_answer_empty(DNS_TEMPFAIL, "x.example", 900, "timeout");
	is_int(a->ttl, 0, "TEMPFAIL TTL is always 0");
	is_str(a->reason, "timeout", "TEMPFAIL reason");
	dns_answer_release(a);

	b = dns_builder_new(DNS_RECORDS, "empty.example");
	dns_builder_set_ttl(b, 60);
	a = dns_builder_finish(b);
	is_int(a->status, DNS_NODATA, "records status with no records becomes NODATA");
	is_int(a->ttl, 60, "its TTL is the one set");
	dns_answer_release(a);

	b = dns_builder_new(DNS_RECORDS, "capped.example");
	dns_builder_set_ttl(b, 30);
	dns_builder_add_ptr(b, 3600, "t.example");
	a = dns_builder_finish(b);
	is_int(a->ttl, 30, "TTL set on records caps theirs (a CNAME on the way)");
	dns_answer_release(a);

	b = dns_builder_new(DNS_RECORDS, "abort.example");
	dns_builder_add_mx(b, 1, 0, "");
	dns_builder_abort(b);
	ok(1, "abort frees a builder with records");
}

/* A backend that records what dns_query() passed down. */
struct probe {
	struct dns_resolver base;
	char seen[DNS_NAME_MAX + 1];
	int calls;
};

static int
probe_query(struct dns_resolver *r, const char *name, enum dns_type type,
            const struct dns_answer **out, struct auth_error *err)
{
	struct probe *p = (struct probe *)r;

	(void)type;
	(void)err;
	p->calls++;
	snprintf(p->seen, sizeof(p->seen), "%s", name);
	*out = dns_answer_empty(DNS_NODATA, name, 5, NULL);
	return 0;
}

static void
probe_free(struct dns_resolver *r)
{
	(void)r;
}

static void
test_dispatch(void)
{
	static const struct dns_resolver_ops ops = {.query = probe_query, .free = probe_free};
	struct probe p = {{&ops}, "", 0};
	const struct dns_answer *a;
	struct auth_error err;

	is_int(dns_query(&p.base, "WWW.Example.ORG.", DNS_T_A, &a, &err), 0, "query ok");
	is_str(p.seen, "www.example.org", "backend gets the normalized name");
	is_int(a->status, DNS_NODATA, "backend answer handed back");
	dns_answer_release(a);
	is_int(dns_query(&p.base, "bad..name", DNS_T_A, &a, &err), 0,
	       "invalid name still answered");
	is_int(a->status, DNS_NXDOMAIN, "invalid name is NXDOMAIN");
	is_int(p.calls, 1, "backend not asked for an invalid name");
	dns_answer_release(a);
	dns_resolver_free(&p.base);
}

int
main(void)
{
	test_normalize();
	test_names();
	test_builder_records();
	test_builder_negative();
	test_dispatch();
	return done_testing();
}
