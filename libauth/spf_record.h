/*
 * spf_record - selecting and parsing SPF records (RFC 7208 §4.5, §4.6, §5,
 * §6, §12).
 *
 * spf_record_select() picks the one "v=spf1" record out of a TXT answer;
 * spf_record_parse() checks the whole record against the grammar and
 * splits it into terms.  Any syntax error anywhere makes the record
 * unusable (permerror, §4.6), so evaluation starts only after the whole
 * record parsed.
 *
 * Terms are views into the record text: the record must outlive the parsed
 * form.  Limits: a record of at most SPF_RECORD_MAX_LEN bytes and at most
 * SPF_RECORD_MAX_TERMS terms; past them the record is refused as a
 * permerror, so no record can make parsing or evaluation unbounded.
 *
 * Ownership: struct spf_record is the caller's; spf_record_free() releases
 * the term array.  Thread-safe (no shared state).
 */
#ifndef AUTH_SPF_RECORD_H
#define AUTH_SPF_RECORD_H

#include <netinet/in.h>
#include <stddef.h>

#include "dns.h"

#define SPF_RECORD_MAX_LEN 8192
#define SPF_RECORD_MAX_TERMS 1024

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech mech;
	char qualifier;   /* '+', '-', '~' or '?' */
	const char *text; /* the whole term as written, for reports */
	size_t text_len;
	const char *spec; /* domain-spec, or NULL when absent */
	size_t spec_len;
	unsigned cidr4, cidr6; /* prefix lengths; 32 and 128 when absent */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} net; /* ip4 / ip6 network */
};

struct spf_record {
	size_t nterms; /* mechanisms, in order */
	struct spf_term *terms;
	const char *redirect, *exp; /* domain-specs of the modifiers, or NULL */
	size_t redirect_len, exp_len;
	int has_all;
};

enum spf_select {
	SPF_SELECT_ONE = 0, /* *rec and *len name the record */
	SPF_SELECT_NONE,    /* no SPF record */
	SPF_SELECT_MANY,    /* more than one: permerror (§4.5) */
};

/* Looks through the TXT records of a (status DNS_RECORDS) answer. */
enum spf_select spf_record_select(const struct dns_answer *a, const char **rec, size_t *len);

/* Parses rec; returns 0, or -1 with a short reason in why (a permerror),
 * or -2 when out of memory. */
int spf_record_parse(const char *rec, size_t len, struct spf_record *out, char *why,
                     size_t why_size);

void spf_record_free(struct spf_record *r);

/* The "mechanism" term name as written in records ("ip4", "include", ...). */
const char *spf_mech_name(enum spf_mech m);

#endif
