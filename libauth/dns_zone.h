/*
 * dns_zone - a resolver that answers from RFC 1035 master files.
 *
 * For authcheck --dns-zone and for tests: no network is touched.  Files are
 * parsed with ldns ($ORIGIN, $TTL, relative names, multi-string TXT with
 * \DDD escapes, SPF type 99 all work).  Answers follow the data exactly:
 * records of the asked type -> DNS_RECORDS; the name holds other records or
 * is an empty non-terminal (a name below it exists) -> DNS_NODATA;
 * otherwise DNS_NXDOMAIN.  A CNAME at the name is followed (within the loaded
 * data, at most DNS_CNAME_CHAIN_MAX links; a loop is DNS_TEMPFAIL).  Wildcard
 * owners ("*.example.com") match as RFC 4592 says.
 *
 * dns_zone_add_fail() makes questions for a name (of one type, if given)
 * answer DNS_TEMPFAIL with reason "timeout", as a server that never answers
 * would.
 *
 * Loading is done before use; queries from many threads are then safe (the
 * data is read-only once loaded).  Limits: a file of at most
 * DNS_ZONE_MAX_BYTES.
 */
#ifndef AUTH_DNS_ZONE_H
#define AUTH_DNS_ZONE_H

#include "dns.h"

#define DNS_ZONE_MAX_BYTES (64u * 1024 * 1024)

struct dns_resolver *dns_zone_new(struct auth_error *err);

/* Loads every record of the master file at path; origin (NULL for ".") is
 * the initial $ORIGIN.  A syntax error names the file and line. */
int dns_zone_load_file(struct dns_resolver *r, const char *path, const char *origin,
                       struct auth_error *err);

/* The same, from text in memory (tests). */
int dns_zone_load_string(struct dns_resolver *r, const char *text, const char *origin,
                         struct auth_error *err);

/* spec is NAME or NAME/TYPE (TYPE a mnemonic such as TXT or AAAA). */
int dns_zone_add_fail(struct dns_resolver *r, const char *spec, struct auth_error *err);

/* Number of queries answered so far (tests use it to check that work was
 * done once, or not at all). */
unsigned long dns_zone_query_count(struct dns_resolver *r);

#endif
