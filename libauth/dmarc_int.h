/*
 * dmarc_int - what dmarc.c and dmarc_orgdomain.c share; not installed.
 */
#ifndef AUTH_DMARC_INT_H
#define AUTH_DMARC_INT_H

#include <libpsl.h>

#include "dmarc.h"

struct dmarc_ctx {
	struct dns_resolver *resolver; /* borrowed */
	struct dmarc_opts opts;
	psl_ctx_t *psl; /* RFC 7489 mode only; read-only once loaded */
};

/* Copies a name of at most DNS_NAME_MAX characters (longer is cut). */
void dmarc_copy_name(char out[DNS_NAME_MAX + 1], const char *d);

/* What one _dmarc.<domain> look-up gave. */
enum dmarc_fetch {
	DMARC_FETCH_NONE = 0, /* no DMARC record (NXDOMAIN, NODATA, no v=DMARC1) */
	DMARC_FETCH_ONE,      /* exactly one DMARC record, parsed */
	DMARC_FETCH_MULTIPLE, /* several: all discarded */
	DMARC_FETCH_TEMPFAIL, /* temporary DNS failure */
};

enum dmarc_fetch dmarc_fetch_record(struct dmarc_ctx *c, const char *domain,
                                    struct dmarc_record *rec);
/* Starts the look-up dmarc_fetch_record() will make for domain. */
void dmarc_prefetch_record(struct dmarc_ctx *c, const char *domain);

/* One step of a DNS Tree Walk. */
struct dmarc_walk_level {
	char domain[DNS_NAME_MAX + 1];
	unsigned labels;
	enum dmarc_fetch fetch;
	enum dmarc_psd psd; /* when fetch is DMARC_FETCH_ONE */
};

/*
 * A DNS Tree Walk (RFC 9989 §4.10) from one domain: the levels asked, in
 * order, and the first DMARC record found (the policy record).
 */
struct dmarc_walk {
	char start[DNS_NAME_MAX + 1];
	size_t nlevels;
	struct dmarc_walk_level level[DMARC_TREE_WALK_MAX];
	bool tempfail;    /* the walk stopped on a temporary failure */
	int policy_level; /* index of the first record found, or -1 */
	struct dmarc_record policy;
};

void dmarc_tree_walk(struct dmarc_ctx *c, const char *domain, struct dmarc_walk *w);

/* The Organizational Domain a finished walk determines (RFC 9989 §4.10.2);
 * -1 when a temporary failure left it unknown. */
int dmarc_walk_org_domain(const struct dmarc_walk *w, char out[DNS_NAME_MAX + 1]);

/* The Organizational Domain from the Public Suffix List (RFC 7489 §3.2). */
void dmarc_psl_org_domain(const struct dmarc_ctx *c, const char *domain,
                          char out[DNS_NAME_MAX + 1]);

/* RFC 9989 non-existent domain test: 1 when it does not exist, 0 when it
 * does or a temporary failure leaves it unknown. */
int dmarc_domain_nonexistent(struct dmarc_ctx *c, const char *domain);

#endif
