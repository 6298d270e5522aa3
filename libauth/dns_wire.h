/*
 * dns_wire - internal to the DNS layer: turning ldns records and replies
 * into answers, and the builder calls only backends need.
 *
 * dns_wire_reply() and dns_wire_parse() read a reply as untrusted input:
 * the question must echo what was asked, every record of the answer
 * section must be of class IN (a reply carrying others is malformed, never
 * NODATA), every record used must have the right shape, and CNAME chains
 * are bounded by DNS_CNAME_CHAIN_MAX.  They
 * keep no state between calls besides the caller's struct dns_wire_chain.
 *
 * Thread safety: reentrant; the ldns objects passed in are only read.
 */
#ifndef AUTH_DNS_WIRE_H
#define AUTH_DNS_WIRE_H

#include <ldns/ldns.h>

#include "dns.h"

/* The SPF RR type of RFC 4408 (obsolete since RFC 7208 but still
 * published).  Not in enum dns_type; ask with (enum dns_type)DNS_T_SPF and
 * its records come back shaped as TXT (u.txt) with this type. */
#define DNS_T_SPF 99

/* A CNAME record, for questions of type CNAME: u.ptr holds the target. */
int dns_builder_add_cname(struct dns_answer_builder *b, uint32_t ttl, const char *target);
int dns_builder_add_spf(struct dns_answer_builder *b, uint32_t ttl, size_t nstrings,
                        const struct dns_txt_string *strings);

/* Writes the name held in a dname rdf in the form of dns_name_normalize()
 * ("" for the root); octets that form cannot carry ('.', '\\' and
 * controls inside a label) are written \DDD so the name can never equal
 * one that was asked.  Returns -1 when the result would not fit. */
int dns_wire_name(const ldns_rdf *dname, char out[DNS_NAME_MAX + 1]);

/* Adds rr (A, AAAA, MX, PTR, CNAME, TXT or SPF) to b with the given TTL.
 * Returns 0, 1 when rr is of another type or its data has the wrong shape,
 * -1 when out of memory. */
int dns_wire_add_rr(struct dns_answer_builder *b, const ldns_rr *rr, uint32_t ttl);

/* Where a CNAME chain stands across the questions asked to resolve it. */
struct dns_wire_chain {
	char name[DNS_NAME_MAX + 1]; /* the name asked next */
	unsigned links;              /* CNAMEs followed so far */
	uint32_t ttl;                /* the smallest CNAME TTL, while links > 0 */
};

void dns_wire_chain_init(struct dns_wire_chain *c, const char *qname);

/*
 * Reads pkt, a reply to the question (c->name, qtype).  Returns 0 with the
 * final answer in *out; 1 when the reply ends in a CNAME whose target it
 * neither answers nor denies (c then names the target: ask again); -1 when
 * out of memory.
 */
int dns_wire_reply(const ldns_pkt *pkt, enum dns_type qtype, struct dns_wire_chain *c,
                   const struct dns_answer **out, struct auth_error *err);

/* The same from the reply's wire bytes; bytes that are not a DNS message
 * give DNS_TEMPFAIL "malformed reply". */
int dns_wire_parse(const uint8_t *wire, size_t len, enum dns_type qtype, struct dns_wire_chain *c,
                   const struct dns_answer **out, struct auth_error *err);

#endif
