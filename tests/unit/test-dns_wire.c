/*
 * test-dns_wire - replies turned into answers: the question echo, RCODEs,
 * CNAME chains inside one reply and across replies, RFC 2308 negative
 * TTLs, records of another class, and bytes that are not a DNS message.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "dns_wire.h"
#include "tap.h"

/* Builds a reply to name/type from records in presentation form. */
static ldns_pkt *
reply(const char *qname, ldns_rr_type qtype, ldns_pkt_rcode rcode, const char *const *answer,
      const char *const *authority)
{
	ldns_pkt *p =
	    ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rr *rr;

	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (; answer != NULL && *answer != NULL; answer++) {
		if (ldns_rr_new_frm_str(&rr, *answer, 0, NULL, NULL) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (; authority != NULL && *authority != NULL; authority++) {
		if (ldns_rr_new_frm_str(&rr, *authority, 0, NULL, NULL) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	return p;
}

/* Reads p as a reply to name/type (through its wire form) and frees it. */
static int
convert(ldns_pkt *p, struct dns_wire_chain *c, enum dns_type type, const struct dns_answer **out)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	int rc;

	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_free(p);
	rc = dns_wire_parse(wire, len, type, c, out, NULL);
	free(wire);
	return rc;
}

static const char *const soa[] = {"x.test. 3600 IN SOA ns.x.test. h.x.test. 1 2 3 4 90", NULL};

static void
test_records(void)
{
	const char *const an[] = {"other.x.test. 10 IN A 192.0.2.9",
	                          "WWW.x.test. 300 IN A 192.0.2.1",
	                          "www.x.test. 200 IN TXT \"not asked\"", NULL};
	struct dns_wire_chain c;
	const struct dns_answer *a;
	char buf[INET_ADDRSTRLEN];

	dns_wire_chain_init(&c, "www.x.test");
	is_int(convert(reply("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL), &c,
	               DNS_T_A, &a),
	       0, "reply read");
	is_int(a->status, DNS_RECORDS, "records");
	is_int(a->count, 1, "only the asked name and type");
	is_str(inet_ntop(AF_INET, &a->rrs[0].u.a, buf, sizeof(buf)), "192.0.2.1", "the A");
	is_int(a->ttl, 300, "its TTL");
	dns_answer_release(a);
}

static void
test_rcodes(void)
{
	const char *const chaos[] = {"www.x.test. 300 CH A 192.0.2.1", NULL};
	struct dns_wire_chain c;
	const struct dns_answer *a;
	ldns_pkt *p;

	dns_wire_chain_init(&c, "www.x.test");
	convert(reply("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, NULL, NULL), &c, DNS_T_A,
	        &a);
	is_int(a->status, DNS_TEMPFAIL, "SERVFAIL is TEMPFAIL");
	is_str(a->reason, "SERVFAIL", "reason SERVFAIL");
	dns_answer_release(a);
	convert(reply("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_FORMERR, NULL, NULL), &c, DNS_T_A,
	        &a);
	is_str(a->reason, "FORMERR", "other RCODEs named");
	dns_answer_release(a);
	convert(reply("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, soa), &c, DNS_T_A,
	        &a);
	is_int(a->status, DNS_NXDOMAIN, "NXDOMAIN");
	is_int(a->ttl, 90, "negative TTL is the SOA minimum");
	dns_answer_release(a);
	convert(reply("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, NULL), &c, DNS_T_A,
	        &a);
	is_int(a->status, DNS_NODATA, "empty NOERROR is NODATA");
	is_int(a->ttl, 0, "without an SOA not to be cached");
	dns_answer_release(a);

	convert(reply("www.y.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, NULL), &c, DNS_T_A,
	        &a);
	is_str(a->reason, "malformed reply", "other question's name is malformed");
	dns_answer_release(a);
	convert(reply("www.x.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, NULL, NULL), &c, DNS_T_A,
	        &a);
	is_str(a->reason, "malformed reply", "other question's type is malformed");
	dns_answer_release(a);
	convert(reply("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, chaos, NULL), &c, DNS_T_A,
	        &a);
	is_int(a->status, DNS_TEMPFAIL, "records of another class: TEMPFAIL, not NODATA");
	is_str(a->reason, "malformed reply", "records of another class are malformed");
	dns_answer_release(a);
	p = reply("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, NULL);
	ldns_pkt_set_qr(p, false);
	convert(p, &c, DNS_T_A, &a);
	is_str(a->reason, "malformed reply", "a query is not a reply");
	dns_answer_release(a);
	is_int(dns_wire_parse((const uint8_t *)"\x12\x34\x81", 3, DNS_T_A, &c, &a, NULL), 0,
	       "short bytes still answered");
	is_str(a->reason, "malformed reply", "short bytes are malformed");
	dns_answer_release(a);
}

static void
test_chains(void)
{
	const char *const in_reply[] = {"a.x.test. 600 IN CNAME b.x.test.",
	                                "b.x.test. 50 IN CNAME c.x.test.",
	                                "c.x.test. 300 IN TXT \"end\"", NULL};
	const char *const out_of_reply[] = {"a.x.test. 600 IN CNAME t.y.test.", NULL};
	const char *const target[] = {"t.y.test. 30 IN TXT \"there\"", NULL};
	const char *const loop[] = {"a.x.test. 600 IN CNAME b.x.test.",
	                            "b.x.test. 600 IN CNAME a.x.test.", NULL};
	struct dns_wire_chain c;
	const struct dns_answer *a;

	dns_wire_chain_init(&c, "a.x.test");
	convert(reply("a.x.test.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, in_reply, NULL), &c,
	        DNS_T_TXT, &a);
	is_int(a->status, DNS_RECORDS, "chain inside the reply followed");
	is_str(a->canonical_name, "c.x.test", "canonical name at its end");
	is_int(a->ttl, 50, "TTL the smallest along the chain");
	dns_answer_release(a);

	dns_wire_chain_init(&c, "a.x.test");
	convert(reply("a.x.test.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, in_reply, NULL), &c,
	        DNS_T_CNAME, &a);
	is_str(a->rrs[0].u.ptr, "b.x.test", "CNAME asked: not followed");
	dns_answer_release(a);

	dns_wire_chain_init(&c, "a.x.test");
	is_int(convert(reply("a.x.test.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, out_of_reply, NULL),
	               &c, DNS_T_TXT, &a),
	       1, "chain leaving the reply: ask on");
	ok(a == NULL, "no answer yet");
	is_str(c.name, "t.y.test", "next name is the target");
	is_int(c.links, 1, "one link followed");
	is_int(convert(reply("t.y.test.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, target, NULL), &c,
	               DNS_T_TXT, &a),
	       0, "second reply ends it");
	is_str(a->canonical_name, "t.y.test", "canonical name from the second reply");
	is_int(a->ttl, 30, "TTL over both replies");
	dns_answer_release(a);

	dns_wire_chain_init(&c, "a.x.test");
	convert(reply("a.x.test.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN, out_of_reply, soa), &c,
	        DNS_T_TXT, &a);
	is_int(a->status, DNS_NXDOMAIN, "NXDOMAIN after a CNAME speaks of the target");
	is_str(a->canonical_name, "t.y.test", "NXDOMAIN names the target");
	is_int(a->ttl, 90, "NXDOMAIN TTL under the CNAME's");
	dns_answer_release(a);

	dns_wire_chain_init(&c, "a.x.test");
	convert(reply("a.x.test.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, out_of_reply, soa), &c,
	        DNS_T_TXT, &a);
	is_int(a->status, DNS_NODATA, "CNAME plus SOA is NODATA for the target");
	dns_answer_release(a);

	dns_wire_chain_init(&c, "a.x.test");
	convert(reply("a.x.test.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, loop, NULL), &c, DNS_T_TXT,
	        &a);
	is_int(a->status, DNS_TEMPFAIL, "CNAME loop in a reply is TEMPFAIL");
	is_str(a->reason, "CNAME chain too long", "loop reason");
	dns_answer_release(a);
}

static void
test_names(void)
{
	ldns_rdf *d = ldns_dname_new_frm_str("A\\.b\\009c d.Example.");
	char out[DNS_NAME_MAX + 1];

	is_int(dns_wire_name(d, out), 0, "name converted");
	is_str(out, "a\\046b\\009c d.example",
	       "dots and controls inside labels escaped, space kept");
	ldns_rdf_deep_free(d);
	d = ldns_dname_new_frm_str(".");
	dns_wire_name(d, out);
	is_str(out, "", "root is empty");
	ldns_rdf_deep_free(d);
}

int
main(void)
{
	test_records();
	test_rcodes();
	test_chains();
	test_names();
	return done_testing();
}
