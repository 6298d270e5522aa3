/*
 * dns - the one resolver interface of libauth.
 *
 * Every DNS question the protocol engines ask goes through dns_query() on a
 * struct dns_resolver.  Backends (dns_ldns.h: the network, dns_zone.h: RFC
 * 1035 master files for tests and authcheck) and the cache (dns_cache.h,
 * which wraps any backend) all present this same interface, so SPF, DKIM and
 * DMARC never know where an answer came from.
 *
 * An answer always says which of four things happened: records, NODATA (the
 * name exists, no records of that type), NXDOMAIN, or a temporary failure
 * (SERVFAIL, timeout, unreachable server, malformed reply).  The engines map
 * those to their RFCs' temperror/permerror/none.
 *
 * Answers are immutable and reference-counted: dns_query() hands the caller
 * one reference, which it gives back with dns_answer_release().  The cache
 * hands the same answer to many threads without copying it.  Names in
 * answers are lower-case presentation form without the trailing dot.
 *
 * Thread safety: every resolver may be queried from many threads at once.
 */
#ifndef AUTH_DNS_H
#define AUTH_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

enum dns_status {
	DNS_RECORDS = 0, /* count >= 1 records of the asked type */
	DNS_NODATA,      /* the name exists, nothing of that type */
	DNS_NXDOMAIN,    /* the name does not exist */
	DNS_TEMPFAIL,    /* SERVFAIL, timeout, unreachable, malformed reply */
};

/* A name is at most 253 characters in presentation form without the final dot. */
#define DNS_NAME_MAX 253
/* CNAME chains longer than this are answered DNS_TEMPFAIL. */
#define DNS_CNAME_CHAIN_MAX 8

struct dns_txt_string {
	const unsigned char *data; /* may contain any byte, including NUL */
	size_t len;
};

struct dns_rr {
	enum dns_type type;
	uint32_t ttl;
	union {
		struct in_addr a;
		struct in6_addr aaaa;
		struct {
			uint16_t preference;
			const char *exchange; /* "" for the null MX (RFC 7505) */
		} mx;
		const char *ptr; /* the target name of a PTR (or of a CNAME, when
		                  * CNAME itself is asked) */
		struct {
			size_t nstrings;
			const struct dns_txt_string *strings;
			/* The strings concatenated without separators, as SPF
			 * (RFC 7208 §3.3), DKIM (RFC 6376 §3.6.2.2) and DMARC want
			 * them; followed by a NUL that is not counted. */
			const unsigned char *joined;
			size_t joined_len;
		} txt;
	} u;
};

struct dns_answer {
	enum dns_status status;
	/* Seconds the answer may be kept: the smallest record TTL, or the
	 * negative-caching TTL of RFC 2308 §5 (SOA minimum, capped by its TTL)
	 * for NODATA/NXDOMAIN; 0 for DNS_TEMPFAIL. */
	uint32_t ttl;
	/* The name the records belong to after following CNAMEs. */
	const char *canonical_name;
	size_t count;
	const struct dns_rr *rrs;
	/* A short reason for DNS_TEMPFAIL ("timeout", "SERVFAIL", ...). */
	const char *reason;
};

struct dns_resolver;

/*
 * Asks name/type.  name is a domain in presentation form, with or without
 * the final dot, of at most DNS_NAME_MAX characters; a name that is not a
 * valid domain (empty label, label over 63 octets) is answered NXDOMAIN
 * without asking anyone.  Returns 0 and stores an answer in *out (the
 * caller's reference), or -1 only when no answer could be built at all (out
 * of memory), with err set.  Network trouble is an answer (DNS_TEMPFAIL),
 * not a -1.
 */
int dns_query(struct dns_resolver *r, const char *name, enum dns_type type,
              const struct dns_answer **out, struct auth_error *err);

/*
 * Starts asking name/type in the background, so that a later dns_query()
 * for it finds the answer ready or on its way: the look-ups one message
 * needs are then made at once rather than one after another.  Never
 * blocks and never fails; a resolver that cannot ask in the background
 * (only the cache can) does nothing.
 */
void dns_prefetch(struct dns_resolver *r, const char *name, enum dns_type type);

void dns_answer_release(const struct dns_answer *a);
const struct dns_answer *dns_answer_retain(const struct dns_answer *a);

void dns_resolver_free(struct dns_resolver *r);

const char *dns_type_name(enum dns_type type);
const char *dns_status_name(enum dns_status status);

/* ---- for backends: building answers and implementing the interface ---- */

struct dns_resolver_ops {
	int (*query)(struct dns_resolver *r, const char *name, enum dns_type type,
	             const struct dns_answer **out, struct auth_error *err);
	void (*free)(struct dns_resolver *r);
	/* NULL when the backend cannot ask in the background. */
	void (*prefetch)(struct dns_resolver *r, const char *name, enum dns_type type);
};

struct dns_resolver {
	const struct dns_resolver_ops *ops;
};

/*
 * An answer builder: collects records and produces one allocation-owned
 * answer.  Strings passed in are copied.
 */
struct dns_answer_builder;

struct dns_answer_builder *dns_builder_new(enum dns_status status, const char *canonical_name);
int dns_builder_add_a(struct dns_answer_builder *b, uint32_t ttl, const struct in_addr *a);
int dns_builder_add_aaaa(struct dns_answer_builder *b, uint32_t ttl, const struct in6_addr *a);
int dns_builder_add_mx(struct dns_answer_builder *b, uint32_t ttl, uint16_t pref,
                       const char *exchange);
int dns_builder_add_ptr(struct dns_answer_builder *b, uint32_t ttl, const char *target);
int dns_builder_add_txt(struct dns_answer_builder *b, uint32_t ttl, size_t nstrings,
                        const struct dns_txt_string *strings);
/* Sets the TTL of a negative answer (on an answer with records it caps
 * theirs, e.g. by a CNAME's on the way), or the reason of a temporary failure. */
void dns_builder_set_ttl(struct dns_answer_builder *b, uint32_t ttl);
int dns_builder_set_reason(struct dns_answer_builder *b, const char *reason);
/* Consumes b; returns NULL when out of memory (b is freed either way). */
const struct dns_answer *dns_builder_finish(struct dns_answer_builder *b);
void dns_builder_abort(struct dns_answer_builder *b);

/* A ready answer with no records (status NODATA, NXDOMAIN or TEMPFAIL). */
const struct dns_answer *dns_answer_empty(enum dns_status status, const char *name, uint32_t ttl,
                                          const char *reason);

/* Normalizes name into out (lower case, no final dot); returns 0, or -1 when
 * it is not a valid domain name. */
int dns_name_normalize(const char *name, char out[DNS_NAME_MAX + 1]);

#endif
