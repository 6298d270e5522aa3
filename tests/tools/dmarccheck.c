/*
 * dmarccheck - evaluates DMARC for given identifiers and prints the outcome
 * as JSON, so scripts can compare the engine with other implementations.
 *
 *   dmarccheck --from DOMAIN [--from DOMAIN...] [--spf-result R --spf-domain D]
 *              [--dkim D:RESULT...] [--mode rfc9989|rfc7489]
 *              [--dns-server HOST[:PORT] | --dns-zone FILE] [--random N]
 *
 * Several --from are several From fields.  --random fixes the pct= draw.
 * Exit 0 when evaluated, 2 on usage or set-up errors.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "dns_ldns.h"
#include "dns_zone.h"
#include "json.h"
#include "toolopt.h"

#define MAX_SIGS 16

struct args {
	struct msg_from from;
	const char *spf_result, *spf_domain;
	struct dmarc_dkim_input dkim[MAX_SIGS];
	char dkim_d[MAX_SIGS][DNS_NAME_MAX + 1];
	size_t ndkim;
	enum dmarc_mode mode;
	const char *server, *zone;
	int random;
};

static const char dmarccheck_usage[] =
    "usage: dmarccheck --from DOMAIN... [--spf-result R --spf-domain D] "
    "[--dkim D:RESULT...] [--mode rfc9989|rfc7489] "
    "[--dns-server HOST[:PORT] | --dns-zone FILE] [--random N]\n"
    "       dmarccheck --help | --version\n";

static int
usage(void)
{
	fputs(dmarccheck_usage, stderr);
	return 2;
}

static int
add_dkim(struct args *a, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	if (colon == NULL || a->ndkim == MAX_SIGS || (n = (size_t)(colon - spec)) > DNS_NAME_MAX)
		return -1;
	memcpy(a->dkim_d[a->ndkim], spec, n);
	a->dkim_d[a->ndkim][n] = '\0';
	a->dkim[a->ndkim].d = a->dkim_d[a->ndkim];
	a->dkim[a->ndkim].pass = strcmp(colon + 1, "pass") == 0;
	a->dkim[a->ndkim].temperror = strcmp(colon + 1, "temperror") == 0;
	a->ndkim++;
	return 0;
}

static int
add_from(struct msg_from *f, const char *d)
{
	if (f->ndomains == MSG_FROM_MAX_DOMAINS || strlen(d) > DNS_NAME_MAX)
		return -1;
	snprintf(f->domains[f->ndomains++], sizeof(f->domains[0]), "%s", d);
	f->status = f->ndomains == 1 ? MSG_FROM_OK : MSG_FROM_MULTIPLE_FIELDS;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->from.status = MSG_FROM_NONE;
	a->random = -1;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "--from") == 0 && add_from(&a->from, v) == 0)
			continue;
		if (strcmp(o, "--spf-result") == 0)
			a->spf_result = v;
		else if (strcmp(o, "--spf-domain") == 0)
			a->spf_domain = v;
		else if (strcmp(o, "--dkim") == 0 && add_dkim(a, v) == 0)
			continue;
		else if (strcmp(o, "--mode") == 0 && strcmp(v, "rfc7489") == 0)
			a->mode = DMARC_MODE_RFC7489;
		else if (strcmp(o, "--mode") == 0 && strcmp(v, "rfc9989") == 0)
			a->mode = DMARC_MODE_RFC9989;
		else if (strcmp(o, "--dns-server") == 0)
			a->server = v;
		else if (strcmp(o, "--dns-zone") == 0)
			a->zone = v;
		else if (strcmp(o, "--random") == 0)
			a->random = atoi(v) % 100;
		else
			return -1;
	}
	return i == argc ? 0 : -1;
}

static struct dns_resolver *
make_resolver(const struct args *a, struct auth_error *err)
{
	struct dns_resolver *r;

	if (a->zone == NULL) {
		struct dns_ldns_opts o = {.server = a->server, .timeout_ms = 2000, .retries = 1};
		return dns_ldns_new(&o, err);
	}
	if ((r = dns_zone_new(err)) != NULL && dns_zone_load_file(r, a->zone, NULL, err) < 0) {
		dns_resolver_free(r);
		return NULL;
	}
	return r;
}

static void
print_outcome(const struct dmarc_outcome *o)
{
	struct buf b;
	struct json j;

	buf_init(&b, 1u << 16);
	json_init(&j, &b);
	json_object_begin(&j);
	json_key(&j, "result");
	json_string(&j, dmarc_result_name(o->result));
	json_key(&j, "from_domain");
	json_string(&j, o->from_domain);
	json_key(&j, "policy");
	json_string(&j, dmarc_disp_name(o->policy));
	json_key(&j, "disposition");
	json_string(&j, dmarc_disp_name(o->disposition));
	json_key(&j, "override");
	json_string(&j, dmarc_override_name(o->override));
	json_key(&j, "policy_domain");
	json_string(&j, o->policy_domain);
	json_key(&j, "org_domain");
	json_string(&j, o->org_domain);
	json_key(&j, "spf_aligned");
	json_bool(&j, o->spf_aligned);
	json_key(&j, "dkim_aligned");
	json_bool(&j, o->dkim_aligned);
	json_key(&j, "reason");
	json_string(&j, o->reason != NULL ? o->reason : "");
	json_object_end(&j);
	puts(b.data);
	buf_free(&b);
}

static unsigned
fixed_random(void *ctx)
{
	return (unsigned)*(int *)ctx;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct auth_error err;
	struct dns_resolver *r;
	struct dmarc_ctx *c;
	struct dmarc_opts opts = {0};
	struct dmarc_local_policy lp = {0};
	struct dmarc_auth_input in;
	struct dmarc_outcome o;
	int rc;

	toolopt_check(argc, argv, "dmarccheck", dmarccheck_usage);
	if (parse_args(argc, argv, &a) < 0)
		return usage();
	if ((r = make_resolver(&a, &err)) == NULL) {
		fprintf(stderr, "dmarccheck: %s\n", err.msg);
		return 2;
	}
	opts.mode = a.mode;
	if ((c = dmarc_ctx_new(r, &opts, &err)) == NULL) {
		fprintf(stderr, "dmarccheck: %s\n", err.msg);
		dns_resolver_free(r);
		return 2;
	}
	if (a.random >= 0) {
		lp.random100 = fixed_random;
		lp.random_ctx = &a.random;
	}
	in = (struct dmarc_auth_input){
	    .from = &a.from,
	    .spf_pass = a.spf_result != NULL && strcmp(a.spf_result, "pass") == 0,
	    .spf_temperror = a.spf_result != NULL && strcmp(a.spf_result, "temperror") == 0,
	    .spf_domain = a.spf_domain,
	    .ndkim = a.ndkim,
	    .dkim = a.dkim};
	rc = dmarc_evaluate(c, &in, &lp, &o, &err);
	if (rc < 0)
		fprintf(stderr, "dmarccheck: %s\n", err.msg);
	else
		print_outcome(&o);
	dmarc_ctx_free(c);
	dns_resolver_free(r);
	return rc < 0 ? 2 : 0;
}
