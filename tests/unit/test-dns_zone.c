/*
 * test-dns_zone - the zone-file resolver answers exactly what its master
 * files hold: records, NODATA, NXDOMAIN, CNAMEs, wildcards (RFC 4592),
 * negative TTLs, injected failures and load errors.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "dns_wire.h"
#include "dns_zone.h"
#include "dnstest.h"
#include "tap.h"

static const char zone_text[] =
    "$TTL 600\n"
    "@\tIN SOA ns hostmaster 1 7200 900 86400 120\n"
    "\tIN NS ns\n"
    "\tIN MX 10 mx1\n"
    "\tIN MX 20 mx2.example.net.\n"
    "\tIN TXT \"v=spf1 \" \"ip4:192.0.2.0/24\" \" -all\"\n"
    "ns\tIN A 192.0.2.53\n"
    "www 30 IN A 192.0.2.1\n"
    "    IN A 192.0.2.2\n"
    "    IN AAAA 2001:db8::1\n"
    "esc IN TXT \"a\\065b\" \"\\000\\255\" \"q\\\"x\"\n"
    "legacy IN SPF \"v=spf1 -all\"\n"
    "legacy2 IN TYPE99 \\# 12 0b763d73706631202d616c6c\n"
    "nomail IN MX 0 .\n"
    "alias IN CNAME www\n"
    "alias2 IN CNAME alias\n"
    "loop1 IN CNAME loop2\n"
    "loop2 IN CNAME loop1\n"
    "c0 CNAME c1\nc1 CNAME c2\nc2 CNAME c3\nc3 CNAME c4\nc4 CNAME c5\n"
    "c5 CNAME c6\nc6 CNAME c7\nc7 CNAME c8\nc8 CNAME c9\nc9 A 192.0.2.9\n"
    "dangling IN CNAME nothing-here\n"
    "a.b.c.deep IN TXT \"deep\"\n"
    "*.wild IN TXT \"wildcard\"\n"
    "*.wild IN MX 5 mx1\n"
    "host.sub.wild IN A 192.0.2.7\n"
    "*.cn IN CNAME www\n"
    "$ORIGIN 2.0.192.in-addr.arpa.\n"
    "1 IN PTR www.example.com.\n"
    "$ORIGIN other.example.\n"
    "@ 3600 IN SOA ns.other.example. h.other.example. 1 2 3 4 7200\n"
    "x IN A 198.51.100.1\n";

static struct dns_resolver *
load(void)
{
	struct auth_error err;
	struct dns_resolver *r = dns_zone_new(&err);

	if (dns_zone_load_string(r, zone_text, "example.com", &err) < 0) {
		diag("load failed: %s", err.msg);
		exit(1);
	}
	return r;
}

static void
test_basic_types(struct dns_resolver *r)
{
	const struct dns_answer *a;
	char buf[INET6_ADDRSTRLEN];

	a = ask(r, "WWW.example.com.", DNS_T_A);
	is_int(a->status, DNS_RECORDS, "A found");
	is_int(a->count, 2, "two A records (owner inherited on the second)");
	is_str(addr4(&a->rrs[0], buf), "192.0.2.1", "first A");
	is_str(addr4(&a->rrs[1], buf), "192.0.2.2", "second A");
	is_int(a->rrs[0].ttl, 30, "explicit TTL kept");
	is_int(a->rrs[1].ttl, 600, "$TTL used when none given");
	is_int(a->ttl, 30, "answer TTL is the smallest");
	is_str(a->canonical_name, "www.example.com", "canonical name normalized");
	dns_answer_release(a);

	a = ask(r, "www.example.com", DNS_T_AAAA);
	is_int(a->count, 1, "one AAAA");
	is_str(inet_ntop(AF_INET6, &a->rrs[0].u.aaaa, buf, sizeof(buf)), "2001:db8::1", "AAAA");
	dns_answer_release(a);

	a = ask(r, "example.com", DNS_T_MX);
	is_int(a->count, 2, "two MX at the apex ('@')");
	is_int(a->rrs[0].u.mx.preference, 10, "MX 10");
	is_str(a->rrs[0].u.mx.exchange, "mx1.example.com", "relative exchange completed");
	is_str(a->rrs[1].u.mx.exchange, "mx2.example.net", "absolute exchange kept");
	dns_answer_release(a);

	a = ask(r, "nomail.example.com", DNS_T_MX);
	is_int(a->count, 1, "null MX is one record");
	is_int(a->rrs[0].u.mx.preference, 0, "null MX preference 0");
	is_str(a->rrs[0].u.mx.exchange, "", "null MX exchange is empty");
	dns_answer_release(a);

	a = ask(r, "1.2.0.192.in-addr.arpa", DNS_T_PTR);
	is_int(a->count, 1, "PTR under a new $ORIGIN");
	is_str(a->rrs[0].u.ptr, "www.example.com", "PTR target");
	dns_answer_release(a);
}

static void
test_txt(struct dns_resolver *r)
{
	const struct dns_answer *a;

	a = ask(r, "example.com", DNS_T_TXT);
	is_int(a->count, 1, "one TXT at the apex");
	is_int(a->rrs[0].u.txt.nstrings, 3, "three strings");
	is_mem(a->rrs[0].u.txt.strings[1].data, a->rrs[0].u.txt.strings[1].len, "ip4:192.0.2.0/24",
	       16, "second string alone");
	is_str((const char *)a->rrs[0].u.txt.joined, "v=spf1 ip4:192.0.2.0/24 -all",
	       "strings joined without separators");
	dns_answer_release(a);

	a = ask(r, "esc.example.com", DNS_T_TXT);
	is_int(a->rrs[0].u.txt.nstrings, 3, "escaped TXT has three strings");
	is_mem(a->rrs[0].u.txt.strings[0].data, a->rrs[0].u.txt.strings[0].len, "aAb", 3,
	       "\\065 decoded");
	is_mem(a->rrs[0].u.txt.strings[1].data, a->rrs[0].u.txt.strings[1].len, "\0\377", 2,
	       "\\000 and \\255 decoded to bytes");
	is_mem(a->rrs[0].u.txt.strings[2].data, a->rrs[0].u.txt.strings[2].len, "q\"x", 3,
	       "escaped quote");
	is_mem(a->rrs[0].u.txt.joined, a->rrs[0].u.txt.joined_len, "aAb\0\377q\"x", 8,
	       "escaped strings joined");
	dns_answer_release(a);

	a = ask(r, "legacy.example.com", (enum dns_type)DNS_T_SPF);
	is_int(a->status, DNS_RECORDS, "SPF-type record found by type 99");
	is_int(a->rrs[0].type, DNS_T_SPF, "its type is 99");
	is_str((const char *)a->rrs[0].u.txt.joined, "v=spf1 -all", "SPF-type text");
	dns_answer_release(a);
	a = ask(r, "legacy.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "SPF-type record is not TXT");
	dns_answer_release(a);
	a = ask(r, "legacy2.example.com", (enum dns_type)DNS_T_SPF);
	is_str((const char *)a->rrs[0].u.txt.joined, "v=spf1 -all", "TYPE99 in \\# form");
	dns_answer_release(a);
}

static void
test_negative(struct dns_resolver *r)
{
	const struct dns_answer *a;

	a = ask(r, "www.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "name with other types is NODATA");
	is_int(a->ttl, 120, "negative TTL is the SOA minimum (below the SOA TTL)");
	dns_answer_release(a);
	a = ask(r, "nope.example.com", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "missing name is NXDOMAIN");
	is_int(a->ttl, 120, "NXDOMAIN TTL from the SOA");
	is_str(a->canonical_name, "nope.example.com", "NXDOMAIN names the question");
	dns_answer_release(a);
	a = ask(r, "b.c.deep.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "empty non-terminal is NODATA");
	dns_answer_release(a);
	a = ask(r, "deep.example.com", DNS_T_A);
	is_int(a->status, DNS_NODATA, "higher empty non-terminal is NODATA");
	dns_answer_release(a);
	a = ask(r, "x.c.deep.example.com", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "sibling of an empty non-terminal is NXDOMAIN");
	dns_answer_release(a);
	a = ask(r, "nope.other.example", DNS_T_A);
	is_int(a->ttl, 3600, "SOA TTL caps the minimum (RFC 2308 section 5)");
	dns_answer_release(a);
	a = ask(r, "example", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "nothing exists above a zone apex");
	dns_answer_release(a);
	a = ask(r, "bad..name", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "invalid name is NXDOMAIN");
	dns_answer_release(a);
}

static void
test_cname(struct dns_resolver *r)
{
	const struct dns_answer *a;
	char buf[INET_ADDRSTRLEN];

	a = ask(r, "alias2.example.com", DNS_T_A);
	is_int(a->status, DNS_RECORDS, "CNAME chain followed");
	is_str(a->canonical_name, "www.example.com", "canonical name is the chain's end");
	is_int(a->count, 2, "records of the target");
	is_str(addr4(&a->rrs[0], buf), "192.0.2.1", "target's A");
	dns_answer_release(a);
	a = ask(r, "alias.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "CNAME to a name without the type is NODATA");
	is_str(a->canonical_name, "www.example.com", "NODATA names the target");
	dns_answer_release(a);
	a = ask(r, "alias.example.com", DNS_T_CNAME);
	is_int(a->status, DNS_RECORDS, "asking CNAME gives the CNAME");
	is_str(a->rrs[0].u.ptr, "www.example.com", "CNAME target");
	is_str(a->canonical_name, "alias.example.com", "not followed");
	dns_answer_release(a);
	a = ask(r, "dangling.example.com", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "CNAME to a missing name is NXDOMAIN");
	is_str(a->canonical_name, "nothing-here.example.com", "NXDOMAIN names the target");
	dns_answer_release(a);
	a = ask(r, "loop1.example.com", DNS_T_A);
	is_int(a->status, DNS_TEMPFAIL, "CNAME loop is TEMPFAIL");
	is_str(a->reason, "CNAME loop", "loop reason");
	dns_answer_release(a);
	a = ask(r, "c1.example.com", DNS_T_A);
	is_int(a->status, DNS_RECORDS, "chain of 8 CNAMEs followed");
	dns_answer_release(a);
	a = ask(r, "c0.example.com", DNS_T_A);
	is_int(a->status, DNS_TEMPFAIL, "chain of 9 CNAMEs is TEMPFAIL");
	is_str(a->reason, "CNAME chain too long", "chain reason");
	dns_answer_release(a);
}

static void
test_wildcard(struct dns_resolver *r)
{
	const struct dns_answer *a;

	a = ask(r, "anything.wild.example.com", DNS_T_TXT);
	is_int(a->status, DNS_RECORDS, "wildcard matches a missing name");
	is_str(a->canonical_name, "anything.wild.example.com", "synthesized for the question");
	is_str((const char *)a->rrs[0].u.txt.joined, "wildcard", "wildcard data");
	dns_answer_release(a);
	a = ask(r, "a.b.wild.example.com", DNS_T_MX);
	is_int(a->status, DNS_RECORDS, "wildcard matches several labels down");
	is_str(a->rrs[0].u.mx.exchange, "mx1.example.com", "wildcard MX");
	dns_answer_release(a);
	a = ask(r, "x.wild.example.com", DNS_T_A);
	is_int(a->status, DNS_NODATA, "wildcard without the type is NODATA");
	dns_answer_release(a);
	a = ask(r, "sub.wild.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "existing empty non-terminal blocks the wildcard");
	dns_answer_release(a);
	a = ask(r, "other.sub.wild.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NXDOMAIN, "wildcard applies only below the closest encloser");
	dns_answer_release(a);
	a = ask(r, "host.sub.wild.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "existing name never uses the wildcard");
	dns_answer_release(a);
	a = ask(r, "wild.example.com", DNS_T_TXT);
	is_int(a->status, DNS_NODATA, "wildcard's parent is an empty non-terminal");
	dns_answer_release(a);
	a = ask(r, "foo.cn.example.com", DNS_T_A);
	is_int(a->status, DNS_RECORDS, "wildcard CNAME followed");
	is_str(a->canonical_name, "www.example.com", "wildcard CNAME target");
	dns_answer_release(a);
}

static void
test_fail(void)
{
	struct auth_error err;
	struct dns_resolver *r = load();
	const struct dns_answer *a;

	is_int(dns_zone_add_fail(r, "WWW.example.com", &err), 0, "fail NAME accepted");
	is_int(dns_zone_add_fail(r, "example.com/TXT", &err), 0, "fail NAME/TYPE accepted");
	is_int(dns_zone_add_fail(r, "example.com/BOGUS", &err), -1, "unknown type rejected");
	is_int(dns_zone_add_fail(r, "bad..name", &err), -1, "bad name rejected");
	a = ask(r, "www.example.com", DNS_T_A);
	is_int(a->status, DNS_TEMPFAIL, "failed name is TEMPFAIL");
	is_str(a->reason, "timeout", "reason timeout");
	is_int(a->ttl, 0, "TEMPFAIL TTL 0");
	dns_answer_release(a);
	a = ask(r, "alias.example.com", DNS_T_A);
	is_int(a->status, DNS_TEMPFAIL, "CNAME into a failed name is TEMPFAIL");
	dns_answer_release(a);
	a = ask(r, "example.com", DNS_T_TXT);
	is_int(a->status, DNS_TEMPFAIL, "failed type is TEMPFAIL");
	dns_answer_release(a);
	a = ask(r, "example.com", DNS_T_MX);
	is_int(a->status, DNS_RECORDS, "other types of that name still answer");
	dns_answer_release(a);
	is_int(dns_zone_query_count(r), 4, "every query counted");
	dns_resolver_free(r);
}

static void
test_load_errors(void)
{
	struct auth_error err;
	struct dns_resolver *r = dns_zone_new(&err);
	const struct dns_answer *a;
	char path[] = "/tmp/test-dns_zone-XXXXXX";
	int fd;

	is_int(dns_zone_load_string(r,
	                            "a A 192.0.2.1\nb TXT \"ok\"\n\nbad A 1.2.3\nc A 192.0.2.3\n",
	                            "e.test", &err),
	       -1, "syntax error fails the load");
	is_str(err.msg, "(string):4: Syntax error, could not parse the RR's rdata",
	       "error names the line");
	a = ask(r, "a.e.test", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "a failed load adds nothing");
	dns_answer_release(a);
	is_int(dns_zone_load_string(r, "$INCLUDE other\n", NULL, &err), -1, "$INCLUDE refused");
	is_int(dns_zone_load_string(r, "; nothing but a comment\n$TTL 60\n", NULL, &err), 0,
	       "file without records loads");
	a = ask(r, "a.e.test", DNS_T_A);
	is_int(a->status, DNS_NXDOMAIN, "empty zone answers NXDOMAIN");
	dns_answer_release(a);

	fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "a.f.test. 60 A 192.0.2.4\nb.f.test. 60 A x\n", 42) == 42,
	   "temp zone written");
	close(fd);
	is_int(dns_zone_load_file(r, path, NULL, &err), -1, "bad file fails");
	ok(strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, ":2: ") != NULL,
	   "error names the file and line: %s", err.msg);
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(fd >= 0 && write(fd, "a.f.test. 60 A 192.0.2.4\n", 25) == 25, "temp zone rewritten");
	close(fd);
	is_int(dns_zone_load_file(r, path, NULL, &err), 0, "good file loads");
	unlink(path);
	a = ask(r, "a.f.test", DNS_T_A);
	is_int(a->status, DNS_RECORDS, "record from the file");
	dns_answer_release(a);
	a = ask(r, "zz.f.test", DNS_T_A);
	is_int(a->ttl, 300, "negative TTL 300 without an SOA");
	dns_answer_release(a);
	is_int(dns_zone_load_file(r, "/nonexistent/zone", NULL, &err), -1, "missing file fails");
	is_int(err.code, AUTH_EIO, "missing file is an I/O error");
	dns_resolver_free(r);
}

int
main(void)
{
	struct dns_resolver *r = load();

	test_basic_types(r);
	test_txt(r);
	test_negative(r);
	test_cname(r);
	test_wildcard(r);
	dns_resolver_free(r);
	test_fail();
	test_load_errors();
	return done_testing();
}
