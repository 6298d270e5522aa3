/*
 * report_dest - where an aggregate report may be mailed: the rua URIs of
 * a DMARC record, and the check that an external destination agreed to
 * receive reports about the policy domain.
 *
 * report_dest_parse() takes one URI as the record published it: only
 * mailto: (RFC 6068) is delivered; its one address is percent-decoded
 * and must be local@domain with a domain name; RFC 7489's "!size"
 * suffix (k, m, g or t; none: bytes) caps the report mail's size.
 *
 * report_dest_authorized() is RFC 9990's "Verifying External
 * Destinations": a destination whose Organizational Domain is the
 * policy domain's needs nothing; any other needs a TXT record beginning
 * "v=DMARC1" at <policy-domain>._report._dmarc.<destination-domain>.
 * Without one nothing is sent there; a temporary DNS failure leaves the
 * question to the next run.  A confirming record whose rua= names another
 * host than the destination's means no report to either (RFC 9990 §4);
 * an override to the destination's own host is not applied: the report
 * goes to the address the policy domain published.
 *
 * Thread safety: no state of its own; the resolver and context decide.
 */
#ifndef AUTH_REPORT_DEST_H
#define AUTH_REPORT_DEST_H

#include <stdint.h>

#include "dmarc.h"
#include "dns.h"

/* RFC 5321 §4.5.3.1.3: a path of at most 256 octets. */
#define REPORT_DEST_ADDR_MAX 256

struct report_dest {
	char addr[REPORT_DEST_ADDR_MAX + 1]; /* local@domain, decoded */
	char domain[DNS_NAME_MAX + 1];       /* lower case, no final dot */
	uint64_t max_bytes;                  /* 0: no limit given */
};

/* 0, or -1 with why (a static string) when the URI cannot be mailed. */
int report_dest_parse(const char *uri, struct report_dest *d, const char **why);

enum report_dest_auth {
	REPORT_DEST_ALLOWED,
	REPORT_DEST_REFUSED,  /* no authorization record: never send */
	REPORT_DEST_TEMPFAIL, /* ask again on the next run */
};

/* Whether reports about policy_domain may go to dest_domain; why names
 * the reason when not allowed.  -1 only when out of memory. */
int report_dest_authorized(struct dmarc_ctx *dc, struct dns_resolver *r, const char *policy_domain,
                           const char *dest_domain, enum report_dest_auth *out, const char **why);

#endif
