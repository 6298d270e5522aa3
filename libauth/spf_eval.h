/*
 * spf_eval - the evaluation state of one check_host() run and the DNS
 * steps every mechanism shares (spf.c drives the recursion, spf_mech.c
 * evaluates the mechanisms).  Internal to libauth's SPF module.
 *
 * Limits are counted here (§4.6.4): DNS-querying terms, void look-ups and
 * the overall deadline.  One struct spf_eval lives on the caller's stack
 * for one evaluation; nothing is shared between evaluations.
 */
#ifndef AUTH_SPF_EVAL_H
#define AUTH_SPF_EVAL_H

#include <time.h>

#include "dns.h"
#include "spf.h"
#include "spf_macro.h"
#include "spf_record.h"

/* Bound on a domain-spec's expansion before the §7.3 truncation to 253. */
#define SPF_EXPAND_MAX 8192
/* Bound on an expanded explanation. */
#define SPF_EXPLANATION_MAX 2048
/* Nesting of include/redirect; the term limit stops loops long before,
 * this guards the stack whatever the configured limits are. */
#define SPF_MAX_DEPTH 32

/* What one step of the evaluation came to. */
enum spf_step {
	SPF_STEP_NOMATCH,
	SPF_STEP_MATCH,
	SPF_STEP_TEMPERROR,
	SPF_STEP_PERMERROR,
	SPF_STEP_NOMEM,
};

struct spf_eval {
	struct dns_resolver *r;
	unsigned max_terms, max_voids, max_names;
	struct timespec deadline;
	int family; /* AF_INET or AF_INET6, IPv4-mapped already unwrapped */
	unsigned char ip[16];
	const char *helo, *receiver;
	const char *sender; /* local@domain */
	size_t sender_len, local_len;
	unsigned terms, voids;
	unsigned prefetched; /* look-ups started ahead (spf_prefetch_record) */
	int in_exp;          /* expanding explanation text: no limits counted */
	int p_done;          /* p_name holds the %{p} value */
	char p_name[DNS_NAME_MAX + 1];
	const char *p_domain; /* <domain> when %{p} was asked */
	struct spf_outcome *out;
	struct auth_error *err;
};

/* Asks DNS within the deadline; past it, answers a temporary failure.
 * Returns 0 with *a set, or -1 when out of memory. */
int spf_eval_query(struct spf_eval *ev, const char *name, enum dns_type type,
                   const struct dns_answer **a);

/* Records a problem (the first one wins) and returns step. */
enum spf_step spf_eval_problem(struct spf_eval *ev, enum spf_step step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Counts a DNS-querying term; SPF_STEP_PERMERROR past the limit. */
enum spf_step spf_eval_count_term(struct spf_eval *ev);

/* Counts a void answer (NXDOMAIN/NODATA); SPF_STEP_PERMERROR past the limit. */
enum spf_step spf_eval_count_void(struct spf_eval *ev);

/* Expands a domain-spec (NULL means <domain>) into a query name (§4.8,
 * §7.3 truncation). */
enum spf_step spf_eval_target(struct spf_eval *ev, const char *domain, const char *spec, size_t len,
                              char out[DNS_NAME_MAX + 1]);

/* Fills the macro context for <domain>. */
void spf_eval_macro_ctx(struct spf_eval *ev, const char *domain, struct spf_macro_ctx *c);

/* Evaluates one mechanism (spf_mech.c); include recurses through
 * spf_eval_host(). */
enum spf_step spf_mech_eval(struct spf_eval *ev, const struct spf_term *t, const char *domain,
                            int depth);

/* check_host() on domain: stores the result in *res; returns 0, or -1 when
 * out of memory.  want_exp: this evaluation decides the final result (not
 * inside an include), so its matched term and explanation are reported. */
int spf_eval_host(struct spf_eval *ev, const char *domain, int want_exp, int depth,
                  enum spf_result *res);

/* The §5.5 validated names of the client (at most max_names PTR names
 * tried); count_void counts an empty PTR answer as a void look-up. */
enum spf_step spf_eval_ptr_names(struct spf_eval *ev, int count_void,
                                 char names[][DNS_NAME_MAX + 1], size_t max, size_t *n);

/* 1 when name equals target or is a subdomain of it (case-insensitive). */
int spf_name_within(const char *name, const char *target);

#endif
