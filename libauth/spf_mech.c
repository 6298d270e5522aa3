/*
 * spf_mech - evaluating the mechanisms of RFC 7208 §5 (see spf_eval.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf_eval.h"

/* The first bits of a and b agree. */
static int
spf_prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static int
spf_rr_matches(const struct spf_eval *ev, const struct dns_rr *rr, unsigned c4, unsigned c6)
{
	if (ev->family == AF_INET && rr->type == DNS_T_A)
		return spf_prefix_equal(ev->ip, (const unsigned char *)&rr->u.a, c4);
	if (ev->family == AF_INET6 && rr->type == DNS_T_AAAA)
		return spf_prefix_equal(ev->ip, rr->u.aaaa.s6_addr, c6);
	return 0;
}

static enum dns_type
spf_addr_type(const struct spf_eval *ev)
{
	return ev->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

/* Looks up the client's address type at name and compares (§5: an error
 * other than NXDOMAIN is a temperror). */
static enum spf_step
spf_match_addresses(struct spf_eval *ev, const char *name, unsigned c4, unsigned c6,
                    int void_counts)
{
	const struct dns_answer *a;
	enum spf_step step = SPF_STEP_NOMATCH;

	if (spf_eval_query(ev, name, spf_addr_type(ev), &a) < 0)
		return SPF_STEP_NOMEM;
	if (a->status == DNS_TEMPFAIL)
		step = spf_eval_problem(ev, SPF_STEP_TEMPERROR, "address look-up of %s failed: %s",
		                        name, a->reason ? a->reason : "temporary failure");
	else if (a->status != DNS_RECORDS)
		step = void_counts ? spf_eval_count_void(ev) : SPF_STEP_NOMATCH;
	for (size_t i = 0; step == SPF_STEP_NOMATCH && a->status == DNS_RECORDS && i < a->count;
	     i++)
		if (spf_rr_matches(ev, &a->rrs[i], c4, c6))
			step = SPF_STEP_MATCH;
	dns_answer_release(a);
	return step;
}

/* §5.4: mx. More than max_names MX records is a permerror (§4.6.4). */
static enum spf_step
spf_mech_mx(struct spf_eval *ev, const char *name, unsigned c4, unsigned c6)
{
	const struct dns_answer *a;
	enum spf_step step = SPF_STEP_NOMATCH;

	if (spf_eval_query(ev, name, DNS_T_MX, &a) < 0)
		return SPF_STEP_NOMEM;
	if (a->status == DNS_TEMPFAIL)
		step = spf_eval_problem(ev, SPF_STEP_TEMPERROR, "MX look-up of %s failed: %s", name,
		                        a->reason ? a->reason : "temporary failure");
	else if (a->status != DNS_RECORDS)
		step = spf_eval_count_void(ev);
	else if (a->count > ev->max_names)
		step = spf_eval_problem(ev, SPF_STEP_PERMERROR, "%s has more than %u MX records",
		                        name, ev->max_names);
	for (size_t i = 0; step == SPF_STEP_NOMATCH && a->status == DNS_RECORDS && i < a->count;
	     i++) {
		const struct dns_rr *rr = &a->rrs[i];

		/* A null MX (RFC 7505) names no host. */
		if (rr->type == DNS_T_MX && rr->u.mx.exchange[0] != '\0')
			step = spf_match_addresses(ev, rr->u.mx.exchange, c4, c6, 0);
	}
	dns_answer_release(a);
	return step;
}

int
spf_name_within(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (n == t)
		return strcasecmp(name, target) == 0;
	return n > t && name[n - t - 1] == '.' && strcasecmp(name + n - t, target) == 0;
}

/* The reverse-mapping name of the client (§5.5). */
static void
spf_reverse_name(const struct spf_eval *ev, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;

	if (ev->family == AF_INET) {
		(void)snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa", ev->ip[3], ev->ip[2],
		               ev->ip[1], ev->ip[0]);
		return;
	}
	for (int i = 15; i >= 0; i--) {
		buf[k++] = hex[ev->ip[i] & 15];
		buf[k++] = '.';
		buf[k++] = hex[ev->ip[i] >> 4];
		buf[k++] = '.';
	}
	(void)snprintf(buf + k, size - k, "ip6.arpa");
}

/* Whether name's addresses include the client; DNS errors mean no (§5.5:
 * "that domain name is skipped"). */
static int
spf_name_validates(struct spf_eval *ev, const char *name, enum spf_step *step)
{
	const struct dns_answer *a;
	int found = 0;

	if (spf_eval_query(ev, name, spf_addr_type(ev), &a) < 0) {
		*step = SPF_STEP_NOMEM;
		return 0;
	}
	for (size_t i = 0; a->status == DNS_RECORDS && i < a->count && !found; i++)
		found = spf_rr_matches(ev, &a->rrs[i], 32, 128);
	dns_answer_release(a);
	return found;
}

enum spf_step
spf_eval_ptr_names(struct spf_eval *ev, int count_void, char names[][DNS_NAME_MAX + 1], size_t max,
                   size_t *n)
{
	char rev[80];
	const struct dns_answer *a;
	enum spf_step step = SPF_STEP_NOMATCH;

	*n = 0;
	spf_reverse_name(ev, rev, sizeof(rev));
	if (spf_eval_query(ev, rev, DNS_T_PTR, &a) < 0)
		return SPF_STEP_NOMEM;
	/* §5.5: a DNS error on the PTR look-up makes ptr fail to match. */
	if ((a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) && count_void)
		step = spf_eval_count_void(ev);
	/* §4.6.4: only the first max_names PTR names are tried. */
	for (size_t i = 0; a->status == DNS_RECORDS && i < a->count && i < ev->max_names &&
	                   *n < max && step == SPF_STEP_NOMATCH;
	     i++) {
		const char *name = a->rrs[i].u.ptr;

		if (a->rrs[i].type != DNS_T_PTR || strlen(name) > DNS_NAME_MAX)
			continue;
		if (spf_name_validates(ev, name, &step))
			memcpy(names[(*n)++], name, strlen(name) + 1);
	}
	dns_answer_release(a);
	return step;
}

static enum spf_step
spf_mech_ptr(struct spf_eval *ev, const char *target)
{
	char names[SPF_DEFAULT_MAX_NAMES][DNS_NAME_MAX + 1];
	size_t n;
	enum spf_step step = spf_eval_ptr_names(ev, 1, names, SPF_DEFAULT_MAX_NAMES, &n);

	for (size_t i = 0; i < n && step == SPF_STEP_NOMATCH; i++)
		if (spf_name_within(names[i], target))
			step = SPF_STEP_MATCH;
	return step;
}

static enum spf_step
spf_mech_exists(struct spf_eval *ev, const char *name)
{
	const struct dns_answer *a;
	enum spf_step step = SPF_STEP_MATCH;

	/* §5.7: always an A query, whatever the client's address family. */
	if (spf_eval_query(ev, name, DNS_T_A, &a) < 0)
		return SPF_STEP_NOMEM;
	if (a->status == DNS_TEMPFAIL)
		step = spf_eval_problem(ev, SPF_STEP_TEMPERROR, "look-up of %s failed: %s", name,
		                        a->reason ? a->reason : "temporary failure");
	else if (a->status != DNS_RECORDS)
		step = spf_eval_count_void(ev);
	dns_answer_release(a);
	return step;
}

/* §5.2: what the included record's result means for the include. */
static enum spf_step
spf_mech_include(struct spf_eval *ev, const char *name, int depth)
{
	enum spf_result res;

	if (spf_eval_host(ev, name, 0, depth + 1, &res) < 0)
		return SPF_STEP_NOMEM;
	switch (res) {
	case SPF_PASS:
		return SPF_STEP_MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return SPF_STEP_NOMATCH;
	case SPF_TEMPERROR:
		return SPF_STEP_TEMPERROR;
	case SPF_NONE:
		return spf_eval_problem(ev, SPF_STEP_PERMERROR, "include:%s has no SPF record",
		                        name);
	default:
		return SPF_STEP_PERMERROR;
	}
}

static enum spf_step
spf_mech_ip(const struct spf_eval *ev, const struct spf_term *t)
{
	if (t->mech == SPF_MECH_IP4 && ev->family == AF_INET)
		return spf_prefix_equal(ev->ip, (const unsigned char *)&t->net.v4, t->cidr4)
		           ? SPF_STEP_MATCH
		           : SPF_STEP_NOMATCH;
	if (t->mech == SPF_MECH_IP6 && ev->family == AF_INET6)
		return spf_prefix_equal(ev->ip, t->net.v6.s6_addr, t->cidr6) ? SPF_STEP_MATCH
		                                                             : SPF_STEP_NOMATCH;
	return SPF_STEP_NOMATCH;
}

enum spf_step
spf_mech_eval(struct spf_eval *ev, const struct spf_term *t, const char *domain, int depth)
{
	char target[DNS_NAME_MAX + 1];
	enum spf_step step;

	switch (t->mech) {
	case SPF_MECH_ALL:
		return SPF_STEP_MATCH;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return spf_mech_ip(ev, t);
	default:
		break;
	}
	if ((step = spf_eval_count_term(ev)) != SPF_STEP_NOMATCH)
		return step;
	if ((step = spf_eval_target(ev, domain, t->spec, t->spec_len, target)) != SPF_STEP_NOMATCH)
		return step;
	switch (t->mech) {
	case SPF_MECH_INCLUDE:
		return spf_mech_include(ev, target, depth);
	case SPF_MECH_A:
		return spf_match_addresses(ev, target, t->cidr4, t->cidr6, 1);
	case SPF_MECH_MX:
		return spf_mech_mx(ev, target, t->cidr4, t->cidr6);
	case SPF_MECH_PTR:
		return spf_mech_ptr(ev, target);
	default:
		return spf_mech_exists(ev, target);
	}
}
