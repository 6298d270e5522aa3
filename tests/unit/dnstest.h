/*
 * dnstest.h - what the resolver tests share: asking a question that must
 * be answered, and printing an address record.  Header-only, like tap.h.
 */
#ifndef DNSTEST_H
#define DNSTEST_H

#include <arpa/inet.h>
#include <stdlib.h>

#include "dns.h"
#include "tap.h"

/* The answer to name/type; a query that fails outright ends the test. */
static inline const struct dns_answer *
ask(struct dns_resolver *r, const char *name, enum dns_type type)
{
	const struct dns_answer *a = NULL;
	struct auth_error err;

	if (dns_query(r, name, type, &a, &err) < 0) {
		diag("query %s failed: %s", name, err.msg);
		exit(1);
	}
	return a;
}

static inline const char *
addr4(const struct dns_rr *rr, char *buf)
{
	return inet_ntop(AF_INET, &rr->u.a, buf, INET_ADDRSTRLEN);
}

#endif
