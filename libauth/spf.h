/*
 * spf - Sender Policy Framework, RFC 7208.
 *
 * check_host() (§4) for the MAIL FROM identity (§2.4, with the null sender
 * checked as postmaster@<HELO>), the HELO identity (§2.3) or any
 * domain/sender pair, with every mechanism, modifier and macro of the RFC,
 * the explanation of exp= (§6.2) on "fail", and the value of a
 * Received-SPF header (§9.1).
 *
 * DNS goes only through the struct dns_resolver given.  Limits (§4.6.4):
 * at most max_dns_terms terms that query DNS (include, a, mx, ptr, exists,
 * redirect and the %{p} macro), at most max_names names per mx (more is a
 * permerror) or ptr / %{p} (the rest are ignored), at most max_void_lookups
 * look-ups answering NXDOMAIN or NODATA, and an overall time bound checked
 * before each query (past it, queries answer "temperror").  Records are
 * bounded by SPF_RECORD_MAX_LEN and SPF_RECORD_MAX_TERMS (spf_record.h), so
 * no record, however hostile, makes an evaluation unbounded.
 *
 * Ownership: struct spf_outcome is the caller's; its explanation is
 * allocated and released by spf_outcome_free().  The explanation's own text
 * is printable ASCII, but the macros in it may bring in whatever bytes the
 * envelope held: a front end sanitizes it before putting it in a reply.  Thread-safe: evaluations
 * share nothing but the resolver, which is itself thread-safe.
 */
#ifndef AUTH_SPF_H
#define AUTH_SPF_H

#include <netinet/in.h>

#include "buf.h"
#include "dns.h"
#include "error.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

enum spf_scope {
	SPF_SCOPE_MFROM,
	SPF_SCOPE_HELO,
};

struct spf_limits {                /* zero fields mean the RFC defaults */
	unsigned max_dns_terms;    /* 10, §4.6.4 */
	unsigned max_void_lookups; /* 2 */
	unsigned max_names;        /* 10 per mx / ptr */
	unsigned timeout_ms;       /* overall bound per evaluation, 20000 */
};

#define SPF_DEFAULT_MAX_DNS_TERMS 10
#define SPF_DEFAULT_MAX_VOID_LOOKUPS 2
#define SPF_DEFAULT_MAX_NAMES 10
#define SPF_DEFAULT_TIMEOUT_MS 20000

struct spf_request {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} ip;                  /* an IPv4-mapped IPv6 address is treated as IPv4 (§5) */
	const char *helo;      /* HELO/EHLO argument; may be NULL or "" */
	const char *mail_from; /* reverse-path without <>; "" for the null sender */
	const char *receiver;  /* our host name for %{r}; NULL means "unknown" */
};

/* local-part (at most 64, RFC 5321 §4.5.3.1.1) "@" domain, with room to spare:
 * longer senders are refused as a bad argument. */
#define SPF_SENDER_MAX 512
/* Reported text of a matched term; longer terms are cut at this length
 * (it is for reports only, never evaluated). */
#define SPF_MECHANISM_MAX 255
#define SPF_PROBLEM_MAX 255

struct spf_outcome {
	enum spf_result result;
	enum spf_scope scope;
	char domain[DNS_NAME_MAX + 1];         /* the domain evaluated */
	char sender[SPF_SENDER_MAX + 1];       /* the identity, local@domain */
	char *explanation;                     /* exp= text on "fail", else NULL; owned */
	char mechanism[SPF_MECHANISM_MAX + 1]; /* the term that matched, or "" */
	char problem[SPF_PROBLEM_MAX + 1];     /* why permerror / temperror, or "" */
};

/* §2.4: the MAIL FROM identity.  For the null sender the identity is
 * postmaster@<helo> and the scope SPF_SCOPE_HELO; a mail_from without "@"
 * gets the local part "postmaster" (§4.3).  Returns 0 when evaluated
 * (whatever the result), -1 only when out of memory or on bad arguments. */
int spf_check_mailfrom(struct dns_resolver *r, const struct spf_limits *lim,
                       const struct spf_request *req, struct spf_outcome *out,
                       struct auth_error *err);

/* §2.3: the HELO identity, postmaster@<helo>. */
int spf_check_helo(struct dns_resolver *r, const struct spf_limits *lim,
                   const struct spf_request *req, struct spf_outcome *out, struct auth_error *err);

/* §4: check_host(<ip>, domain, sender). */
int spf_check_host(struct dns_resolver *r, const struct spf_limits *lim,
                   const struct spf_request *req, const char *domain, const char *sender,
                   struct spf_outcome *out, struct auth_error *err);

void spf_outcome_free(struct spf_outcome *out);

/* The RFC's word for a result: "pass", "fail", "softfail", ... */
const char *spf_result_name(enum spf_result res);

/* Appends the value of a Received-SPF header field (§9.1): the result, a
 * comment, and the key=value pairs client-ip, envelope-from, helo,
 * receiver, identity and mechanism or problem.  Returns 0, or -1 when out
 * is full or memory ran out. */
int spf_received_spf(const struct spf_outcome *o, const struct spf_request *req, struct buf *out);

#endif
