/*
 * dmarc-opendmarc - our RFC 7489 mode against libopendmarc's policy logic
 * on the same records and identifiers: both must agree on the parsed tags
 * and on the policy to enforce.  (Only exact-name alignment is compared:
 * libopendmarc's relaxed check depends on its process-wide TLD table.)
 *
 * libopendmarc is needed only here, never by the programs: without it
 * (configure --without-opendmarc, or libopendmarc-dev absent) this test
 * skips.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#ifdef HAVE_OPENDMARC

#include <opendmarc/dmarc.h>

#include "dmarc.h"
#include "dns_zone.h"

static const char zone[] =
    "$TTL 300\n"
    "example.com. A 192.0.2.1\n"
    "_dmarc.example.com. TXT \"v=DMARC1; p=reject; "
    "rua=mailto:agg@example.com\"\n"
    "_dmarc.strict.example. TXT \"v=DMARC1; p=quarantine; adkim=s; aspf=s\"\n"
    "_dmarc.sp.example. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
    "a.sp.example. A 192.0.2.4\n"
    "_dmarc.pct.example. TXT \"v=DMARC1; p=reject; pct=50\"\n";

static const struct {
	const char *record, *from, *org, *spf;
} cases[] = {
    {"v=DMARC1; p=reject; rua=mailto:agg@example.com", "example.com", NULL, "example.com"},
    {"v=DMARC1; p=reject; rua=mailto:agg@example.com", "example.com", NULL, NULL},
    {"v=DMARC1; p=reject; sp=quarantine", "a.sp.example", "sp.example", NULL},
    {"v=DMARC1; p=quarantine; adkim=s; aspf=s", "strict.example", NULL, "strict.example"},
    {"v=DMARC1; p=quarantine; adkim=s; aspf=s", "strict.example", NULL, NULL},
    {"v=DMARC1; p=reject; pct=50", "pct.example", NULL, NULL},
};

/* What libopendmarc makes of one case. */
struct od_view {
	int p, adkim, aspf, pct, policy;
};

static void
od_evaluate(size_t i, struct od_view *v)
{
	DMARC_POLICY_T *p = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 0);

	opendmarc_policy_store_dmarc(p, (u_char *)cases[i].record, (u_char *)cases[i].from,
	                             (u_char *)cases[i].org);
	if (cases[i].spf != NULL)
		opendmarc_policy_store_spf(p, (u_char *)cases[i].spf, DMARC_POLICY_SPF_OUTCOME_PASS,
		                           DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	opendmarc_policy_fetch_p(p, &v->p);
	opendmarc_policy_fetch_adkim(p, &v->adkim);
	opendmarc_policy_fetch_aspf(p, &v->aspf);
	opendmarc_policy_fetch_pct(p, &v->pct);
	v->policy = opendmarc_get_policy_to_enforce(p);
	opendmarc_policy_connect_shutdown(p);
}

static const char *
od_policy_name(int pol)
{
	return pol == DMARC_POLICY_REJECT       ? "reject"
	       : pol == DMARC_POLICY_QUARANTINE ? "quarantine"
	                                        : "none";
}

static void
compare(struct dmarc_ctx *c, size_t i)
{
	static const char letters[] = {'n', 'q', 'r'};
	struct msg_from from = {.status = MSG_FROM_OK, .ndomains = 1};
	struct dmarc_auth_input in = {
	    .from = &from, .spf_pass = cases[i].spf != NULL, .spf_domain = cases[i].spf};
	struct dmarc_record rec;
	struct dmarc_outcome o;
	struct od_view od;

	od_evaluate(i, &od);
	dmarc_record_parse(cases[i].record, strlen(cases[i].record), &rec);
	is_int(letters[rec.p], od.p, "case %zu: p", i);
	is_int(rec.adkim, od.adkim, "case %zu: adkim", i);
	is_int(rec.aspf, od.aspf, "case %zu: aspf", i);
	is_int(rec.pct < 0 ? 100 : rec.pct, od.pct, "case %zu: pct", i);

	snprintf(from.domains[0], sizeof(from.domains[0]), "%s", cases[i].from);
	dmarc_evaluate(c, &in, NULL, &o, NULL);
	if (od.policy == DMARC_POLICY_PASS)
		is_str(dmarc_result_name(o.result), "pass", "case %zu: pass", i);
	else
		is_str(dmarc_disp_name(o.policy), od_policy_name(od.policy),
		       "case %zu: policy to enforce", i);
}

int
main(void)
{
	struct dmarc_opts opts = {.mode = DMARC_MODE_RFC7489, .from_rule = DMARC_FROM_STRICTEST};
	struct auth_error err;
	struct dns_resolver *r = dns_zone_new(&err);
	struct dmarc_ctx *c;
	size_t i;

	if (r == NULL || dns_zone_load_string(r, zone, NULL, &err) < 0 ||
	    (c = dmarc_ctx_new(r, &opts, &err)) == NULL) {
		diag("setup: %s", err.msg);
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		compare(c, i);
	dmarc_ctx_free(c);
	dns_resolver_free(r);
	return done_testing();
}

#else

int
main(void)
{
	puts("1..0 # SKIP libopendmarc not found at configure time");
	return 0;
}

#endif
