/*
 * test-dmarc - the DMARC engine in both modes, over zone data in memory.
 *
 * One table: each case gives the From fields, the SPF and DKIM results and
 * what RFC 9989 mode and RFC 7489 mode must each conclude.  Then the record
 * parser, the disposition function and the query bound of the Tree Walk.
 * (tests/conformance/dmarc-opendmarc.c compares RFC 7489 mode with
 * libopendmarc.)
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "dns_cache.h"
#include "dns_zone.h"
#include "tap.h"

static const char zone[] =
    "$TTL 300\n"
    "example.com. A 192.0.2.1\n"
    "_dmarc.example.com. TXT \"v=DMARC1; p=reject; rua=mailto:agg@example.com\"\n"
    "mail.example.com. A 192.0.2.2\n"
    "_dmarc.strict.example. TXT \"v=DMARC1; p=quarantine; adkim=s; aspf=s\"\n"
    "sub.strict.example. A 192.0.2.3\n"
    "_dmarc.sp.example. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
    "a.sp.example. A 192.0.2.4\n"
    "_dmarc.badsp.example. TXT \"v=DMARC1; p=reject; sp=rejekt\"\n"
    "a.badsp.example. A 192.0.2.4\n"
    "_dmarc.badnp.example. TXT \"v=DMARC1; p=reject; np=nope\"\n"
    "_dmarc.np.example. TXT \"v=DMARC1; p=quarantine; sp=none; np=reject\"\n"
    "exists.np.example. MX 10 mx.np.example.\n"
    "nodata.np.example. TXT \"not an address\"\n"
    "_dmarc.tf-np.example. TXT \"v=DMARC1; p=quarantine; sp=none; np=reject\"\n"
    "_dmarc.testing.example. TXT \"v=DMARC1; p=reject; t=y\"\n"
    "_dmarc.pct.example. TXT \"v=DMARC1; p=reject; pct=50\"\n"
    "_dmarc.multi.example. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.multi.example. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.sub.multi2.example. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.sub.multi2.example. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.multi2.example. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.mixed.example. TXT \"v=spf1 -all\"\n"
    "_dmarc.mixed.example. TXT \"v=DMARC1; \" \"p=reject\"\n"
    "_dmarc.badp.example. TXT \"v=DMARC1; p=bogus; rua=mailto:d@badp.example\"\n"
    "_dmarc.badpnorua.example. TXT \"v=DMARC1; p=bogus\"\n"
    "_dmarc.lowerv.example. TXT \"v=dmarc1; p=reject\"\n"
    "_dmarc.example.co.uk. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.blogspot.com. TXT \"v=DMARC1; p=none; sp=reject; psd=y\"\n"
    "_dmarc.user.github.io. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.psd. TXT \"v=DMARC1; p=reject; psd=y\"\n"
    "_dmarc.corp.psdn.example. TXT \"v=DMARC1; p=quarantine; psd=n\"\n"
    "_dmarc.psdn.example. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.deep.example. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.c.d.e.f.g.h.i.deep.example. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.xn--bcher-kva.example. TXT \"v=DMARC1; p=reject; adkim=s\"\n"
    "_dmarc.tf2.example. TXT \"v=DMARC1; p=reject\"\n";

static const char *const fails[] = {"_dmarc.tempfail.example/TXT", "_dmarc.sub.tf2.example/TXT",
                                    "ghost.tf-np.example/AAAA"};

enum { ANY = -1 };

struct want {
	enum dmarc_result result;
	enum dmarc_disp policy, disposition;
	enum dmarc_override why;
	const char *policy_domain, *org_domain;
	int spf_aligned, dkim_aligned;
};

struct tcase {
	const char *name;
	enum msg_from_status from_status;
	const char *from; /* space-separated domains */
	int spf_pass;
	const char *spf_domain;
	const char *dkim; /* "d:pass d:fail ..." */
	struct want w9989, w7489;
};

#define R(x) DMARC_RESULT_##x
#define D(x) DMARC_DISP_##x
#define O(x) DMARC_OVERRIDE_##x
#define SAME_AS_9989                                                                               \
	{                                                                                          \
		.result = (enum dmarc_result)ANY                                                   \
	}

static const struct tcase cases[] = {
    {"aligned SPF passes",
     MSG_FROM_OK,
     "example.com",
     1,
     "example.com",
     "",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.com", "example.com", 1, 0},
     SAME_AS_9989},
    {"relaxed SPF from a subdomain",
     MSG_FROM_OK,
     "example.com",
     1,
     "mail.example.com",
     "",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.com", "example.com", 1, 0},
     SAME_AS_9989},
    {"relaxed DKIM, parent signs for a subdomain",
     MSG_FROM_OK,
     "mail.example.com",
     0,
     NULL,
     "example.com:pass",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.com", "example.com", 0, 1},
     SAME_AS_9989},
    {"failing DKIM does not align",
     MSG_FROM_OK,
     "example.com",
     0,
     NULL,
     "example.com:fail",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "example.com", "example.com", 0, 0},
     SAME_AS_9989},
    {"unrelated pass does not align",
     MSG_FROM_OK,
     "example.com",
     1,
     "evil.example",
     "evil.example:pass",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "example.com", "example.com", 0, 0},
     SAME_AS_9989},
    {"second signature aligns",
     MSG_FROM_OK,
     "example.com",
     0,
     NULL,
     "evil.example:pass example.com:pass",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.com", "example.com", 0, 1},
     SAME_AS_9989},
    {"strict: exact name passes",
     MSG_FROM_OK,
     "strict.example",
     1,
     "strict.example",
     "strict.example:pass",
     {R(PASS), D(QUARANTINE), D(NONE), O(NONE), "strict.example", "strict.example", 1, 1},
     SAME_AS_9989},
    {"strict: subdomain identifiers fail",
     MSG_FROM_OK,
     "strict.example",
     1,
     "sub.strict.example",
     "sub.strict.example:pass",
     {R(FAIL), D(QUARANTINE), D(QUARANTINE), O(NONE), "strict.example", "strict.example", 0, 0},
     SAME_AS_9989},
    {"sp= for an existing subdomain",
     MSG_FROM_OK,
     "a.sp.example",
     0,
     NULL,
     "",
     {R(FAIL), D(QUARANTINE), D(QUARANTINE), O(NONE), "sp.example", "sp.example", 0, 0},
     SAME_AS_9989},
    {"an invalid sp= makes the record p=none, not p= for subdomains",
     MSG_FROM_OK,
     "a.badsp.example",
     0,
     NULL,
     "",
     {R(FAIL), D(NONE), D(NONE), O(NONE), "badsp.example", "badsp.example", 0, 0},
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "badsp.example", 0, 0}},
    {"an invalid np= makes the record p=none",
     MSG_FROM_OK,
     "ghost.badnp.example",
     0,
     NULL,
     "",
     {R(FAIL), D(NONE), D(NONE), O(NONE), "badnp.example", "badnp.example", 0, 0},
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "badnp.example", "badnp.example", 0, 0}},
    {"np= for a non-existent subdomain",
     MSG_FROM_OK,
     "ghost.np.example",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "np.example", "np.example", 0, 0},
     {R(FAIL), D(NONE), D(NONE), O(NONE), "np.example", "np.example", 0, 0}},
    {"np= not for a subdomain with MX",
     MSG_FROM_OK,
     "exists.np.example",
     0,
     NULL,
     "",
     {R(FAIL), D(NONE), D(NONE), O(NONE), "np.example", "np.example", 0, 0},
     SAME_AS_9989},
    {"np= not for a subdomain with other records",
     MSG_FROM_OK,
     "nodata.np.example",
     0,
     NULL,
     "",
     {R(FAIL), D(NONE), D(NONE), O(NONE), "np.example", "np.example", 0, 0},
     SAME_AS_9989},
    {"np= not on a temporary failure",
     MSG_FROM_OK,
     "ghost.tf-np.example",
     0,
     NULL,
     "",
     {R(FAIL), D(NONE), D(NONE), O(NONE), "tf-np.example", "tf-np.example", 0, 0},
     SAME_AS_9989},
    {"t=y lowers reject to quarantine",
     MSG_FROM_OK,
     "testing.example",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(QUARANTINE), O(TESTING), "testing.example", "testing.example", 0, 0},
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "testing.example", "testing.example", 0, 0}},
    {"pct=50, sampled out",
     MSG_FROM_OK,
     "pct.example",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "pct.example", "pct.example", 0, 0},
     {R(FAIL), D(REJECT), D(QUARANTINE), O(SAMPLED_OUT), "pct.example", "pct.example", 0, 0}},
    {"no record anywhere",
     MSG_FROM_OK,
     "nodmarc.example",
     0,
     NULL,
     "",
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
    {"multiple records",
     MSG_FROM_OK,
     "multi.example",
     1,
     "multi.example",
     "",
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
    {"multiple records: the walk goes on",
     MSG_FROM_OK,
     "sub.multi2.example",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "multi2.example", "multi2.example", 0, 0},
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "", 0, 0}},
    {"a non-DMARC TXT beside the record",
     MSG_FROM_OK,
     "mixed.example",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "mixed.example", "mixed.example", 0, 0},
     SAME_AS_9989},
    {"invalid p= with rua",
     MSG_FROM_OK,
     "badp.example",
     0,
     NULL,
     "",
     {R(FAIL), D(NONE), D(NONE), O(NONE), "badp.example", "badp.example", 0, 0},
     SAME_AS_9989},
    {"invalid p= without rua",
     MSG_FROM_OK,
     "badpnorua.example",
     0,
     NULL,
     "",
     {R(FAIL), D(NONE), D(NONE), O(NONE), "badpnorua.example", "badpnorua.example", 0, 0},
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "badpnorua.example", 0, 0}},
    {"v=dmarc1 is not a DMARC record",
     MSG_FROM_OK,
     "lowerv.example",
     0,
     NULL,
     "",
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
    {"temporary failure",
     MSG_FROM_OK,
     "tempfail.example",
     1,
     "tempfail.example",
     "",
     {R(TEMPERROR), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
    {"temporary failure finding a signer's org domain",
     MSG_FROM_OK,
     "tf2.example",
     0,
     NULL,
     "sub.tf2.example:pass",
     {R(TEMPERROR), D(REJECT), D(NONE), O(NONE), "tf2.example", "tf2.example", 0, 0},
     {R(PASS), D(REJECT), D(NONE), O(NONE), "tf2.example", "tf2.example", 0, 1}},
    {"co.uk: subdomain uses the registered domain's record",
     MSG_FROM_OK,
     "mail.example.co.uk",
     0,
     NULL,
     "example.co.uk:pass",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.co.uk", "example.co.uk", 0, 1},
     SAME_AS_9989},
    {"co.uk: a sibling does not align",
     MSG_FROM_OK,
     "example.co.uk",
     0,
     NULL,
     "other.co.uk:pass",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "example.co.uk", "example.co.uk", 0, 0},
     SAME_AS_9989},
    {"blogspot.com: PSD policy (psd=y) vs private suffix",
     MSG_FROM_OK,
     "foo.blogspot.com",
     0,
     NULL,
     "blogspot.com:pass",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "blogspot.com", "foo.blogspot.com", 0, 0},
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "foo.blogspot.com", 0, 0}},
    {"github.io: siblings are different owners",
     MSG_FROM_OK,
     "user.github.io",
     0,
     NULL,
     "other.github.io:pass",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "user.github.io", "user.github.io", 0, 0},
     SAME_AS_9989},
    {"PSD record at a TLD",
     MSG_FROM_OK,
     "org.psd",
     0,
     NULL,
     "mail.org.psd:pass",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "psd", "org.psd", 0, 1},
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "org.psd", 0, 0}},
    {"PSD record, unauthenticated",
     MSG_FROM_OK,
     "org.psd",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "psd", "org.psd", 0, 0},
     {R(NONE), D(NONE), D(NONE), O(NONE), "", "org.psd", 0, 0}},
    {"psd=n stops the walk",
     MSG_FROM_OK,
     "a.corp.psdn.example",
     0,
     NULL,
     "psdn.example:pass",
     {R(FAIL), D(QUARANTINE), D(QUARANTINE), O(NONE), "corp.psdn.example", "corp.psdn.example", 0,
      0},
     {R(PASS), D(REJECT), D(NONE), O(NONE), "psdn.example", "psdn.example", 0, 1}},
    {"very deep name: the walk skips to 7 labels",
     MSG_FROM_OK,
     "a.b.c.d.e.f.g.h.i.deep.example",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "deep.example", "deep.example", 0, 0},
     SAME_AS_9989},
    {"IDN author domain (A-labels)",
     MSG_FROM_OK,
     "xn--bcher-kva.example",
     0,
     NULL,
     "XN--BCHER-KVA.EXAMPLE.:pass",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "xn--bcher-kva.example", "xn--bcher-kva.example", 0, 1},
     SAME_AS_9989},
    {"Author Domain in capitals with a final dot",
     MSG_FROM_OK,
     "Example.COM.",
     1,
     "example.com",
     "",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.com", "example.com", 1, 0},
     SAME_AS_9989},
    {"Author Domain that is no domain name",
     MSG_FROM_OK,
     "bad..example.com",
     1,
     "example.com",
     "",
     {R(PERMERROR), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
    {"several mailboxes, one domain",
     MSG_FROM_MULTIPLE,
     "example.com example.com",
     0,
     NULL,
     "example.com:pass",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.com", "example.com", 0, 1},
     SAME_AS_9989},
    {"several From fields: the strictest",
     MSG_FROM_MULTIPLE_FIELDS,
     "nodmarc.example example.com",
     1,
     "nodmarc.example",
     "nodmarc.example:pass",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "example.com", "example.com", 0, 0},
     SAME_AS_9989},
    {"several domains, all pass",
     MSG_FROM_MULTIPLE,
     "example.com sp.example",
     0,
     NULL,
     "example.com:pass sp.example:pass",
     {R(PASS), D(REJECT), D(NONE), O(NONE), "example.com", "example.com", 0, 1},
     SAME_AS_9989},
    {"group syntax with a mailbox",
     MSG_FROM_GROUP,
     "example.com",
     0,
     NULL,
     "",
     {R(FAIL), D(REJECT), D(REJECT), O(NONE), "example.com", "example.com", 0, 0},
     SAME_AS_9989},
    {"no From field",
     MSG_FROM_NONE,
     "",
     1,
     "example.com",
     "example.com:pass",
     {R(PERMERROR), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
    {"no domain",
     MSG_FROM_NO_DOMAIN,
     "",
     0,
     NULL,
     "",
     {R(PERMERROR), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
    {"empty group",
     MSG_FROM_GROUP,
     "",
     0,
     NULL,
     "",
     {R(PERMERROR), D(NONE), D(NONE), O(NONE), "", "", 0, 0},
     SAME_AS_9989},
};

static unsigned
fixed_random(void *ctx)
{
	return *(unsigned *)ctx;
}

static void
make_from(struct msg_from *f, enum msg_from_status st, const char *list)
{
	char tmp[1024], *save = NULL, *tok;

	memset(f, 0, sizeof(*f));
	f->status = st;
	snprintf(tmp, sizeof(tmp), "%s", list);
	for (tok = strtok_r(tmp, " ", &save); tok != NULL && f->ndomains < MSG_FROM_MAX_DOMAINS;
	     tok = strtok_r(NULL, " ", &save))
		snprintf(f->domains[f->ndomains++], sizeof(f->domains[0]), "%s", tok);
}

struct dkim_list {
	char buf[1024];
	size_t n;
	struct dmarc_dkim_input sig[8];
};

static void
make_dkim(struct dkim_list *l, const char *spec)
{
	char *save = NULL, *tok;

	snprintf(l->buf, sizeof(l->buf), "%s", spec);
	l->n = 0;
	for (tok = strtok_r(l->buf, " ", &save); tok != NULL && l->n < 8;
	     tok = strtok_r(NULL, " ", &save)) {
		char *colon = strrchr(tok, ':');
		*colon = '\0';
		l->sig[l->n].d = tok;
		l->sig[l->n].pass = strcmp(colon + 1, "pass") == 0;
		l->sig[l->n].temperror = strcmp(colon + 1, "temperror") == 0;
		l->n++;
	}
}

static void
check_outcome(const char *name, const char *mode, const struct dmarc_outcome *o,
              const struct want *w)
{
	is_str(dmarc_result_name(o->result), dmarc_result_name(w->result), "%s [%s]: result", name,
	       mode);
	is_str(dmarc_disp_name(o->disposition), dmarc_disp_name(w->disposition),
	       "%s [%s]: disposition", name, mode);
	is_str(dmarc_override_name(o->override), dmarc_override_name(w->why), "%s [%s]: override",
	       name, mode);
	is_str(o->policy_domain, w->policy_domain, "%s [%s]: policy domain", name, mode);
	if (o->have_record) {
		is_str(dmarc_disp_name(o->policy), dmarc_disp_name(w->policy),
		       "%s [%s]: requested policy", name, mode);
		is_str(o->org_domain, w->org_domain, "%s [%s]: org domain", name, mode);
		is_int(o->spf_aligned, w->spf_aligned, "%s [%s]: spf aligned", name, mode);
		is_int(o->dkim_aligned, w->dkim_aligned, "%s [%s]: dkim aligned", name, mode);
	}
}

static void
run_table(struct dmarc_ctx *c, const char *mode, int is7489)
{
	unsigned fifty = 50;
	struct dmarc_local_policy lp = {.random100 = fixed_random, .random_ctx = &fifty};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *t = &cases[i];
		const struct want *w =
		    is7489 && (int)t->w7489.result != ANY ? &t->w7489 : &t->w9989;
		struct msg_from from;
		struct dkim_list dk;
		struct dmarc_auth_input in;
		struct dmarc_outcome o;

		make_from(&from, t->from_status, t->from);
		make_dkim(&dk, t->dkim);
		in = (struct dmarc_auth_input){.from = &from,
		                               .spf_pass = t->spf_pass,
		                               .spf_domain = t->spf_domain,
		                               .ndkim = dk.n,
		                               .dkim = dk.sig};
		is_int(dmarc_evaluate(c, &in, &lp, &o, NULL), 0, "%s [%s]: evaluated", t->name,
		       mode);
		check_outcome(t->name, mode, &o, w);
	}
}

static struct dns_resolver *
make_resolver(void)
{
	struct auth_error err;
	struct dns_resolver *r = dns_zone_new(&err);
	size_t i;

	if (r == NULL || dns_zone_load_string(r, zone, NULL, &err) < 0) {
		diag("zone: %s", err.msg);
		exit(1);
	}
	for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
		if (dns_zone_add_fail(r, fails[i], &err) < 0) {
			diag("zone fail %s: %s", fails[i], err.msg);
			exit(1);
		}
	return r;
}

static struct dmarc_ctx *
make_ctx(struct dns_resolver *r, enum dmarc_mode mode, enum dmarc_from_rule rule)
{
	struct dmarc_opts opts = {.mode = mode, .from_rule = rule};
	struct auth_error err;
	struct dmarc_ctx *c = dmarc_ctx_new(r, &opts, &err);

	if (c == NULL) {
		diag("dmarc_ctx_new: %s", err.msg);
		exit(1);
	}
	return c;
}

/* The configurable rule for From fields that name no single domain. */
static void
test_from_rules(struct dns_resolver *r)
{
	struct dmarc_ctx *rej = make_ctx(r, DMARC_MODE_RFC9989, DMARC_FROM_REJECT);
	struct dmarc_ctx *ign = make_ctx(r, DMARC_MODE_RFC9989, DMARC_FROM_IGNORE);
	struct msg_from from;
	struct dmarc_auth_input in = {.from = &from, .spf_pass = 1, .spf_domain = "example.com"};
	struct dmarc_local_policy capped = {.cap_set = true, .cap = DMARC_DISP_NONE};
	struct dmarc_outcome o;

	make_from(&from, MSG_FROM_MULTIPLE_FIELDS, "example.com example.com");
	dmarc_evaluate(rej, &in, NULL, &o, NULL);
	is_str(dmarc_result_name(o.result), "permerror", "reject rule: several From fields");
	is_str(dmarc_disp_name(o.disposition), "reject", "reject rule: disposition reject");
	is_str(dmarc_override_name(o.override), "local_policy", "reject rule: local policy");
	ok(o.from_rejected, "reject rule: from_rejected");
	dmarc_evaluate(rej, &in, &capped, &o, NULL);
	is_str(dmarc_disp_name(o.disposition), "none", "reject rule: a local cap still bounds it");
	make_from(&from, MSG_FROM_NONE, "");
	dmarc_evaluate(rej, &in, NULL, &o, NULL);
	is_str(dmarc_disp_name(o.disposition), "reject", "reject rule: no From");
	is_str(o.reason, "no From field", "reject rule: no From: reason");
	make_from(&from, MSG_FROM_GROUP, "");
	dmarc_evaluate(rej, &in, NULL, &o, NULL);
	is_str(o.reason, "From is a group without mailboxes", "reject rule: empty group: reason");
	make_from(&from, MSG_FROM_MULTIPLE_FIELDS, "example.com evil.example");
	dmarc_evaluate(rej, &in, NULL, &o, NULL);
	is_str(o.reason, "several From fields", "reject rule: several fields: reason");
	make_from(&from, MSG_FROM_OK, "example.com");
	dmarc_evaluate(rej, &in, NULL, &o, NULL);
	is_str(dmarc_result_name(o.result), "pass", "reject rule: one From is evaluated");

	make_from(&from, MSG_FROM_MULTIPLE, "example.com evil.example");
	dmarc_evaluate(ign, &in, NULL, &o, NULL);
	is_str(dmarc_result_name(o.result), "none", "ignore rule: several domains");
	is_str(dmarc_disp_name(o.disposition), "none", "ignore rule: no disposition");
	make_from(&from, MSG_FROM_SYNTAX, "");
	dmarc_evaluate(ign, &in, NULL, &o, NULL);
	is_str(dmarc_result_name(o.result), "none", "ignore rule: unparsable From");
	dmarc_ctx_free(rej);
	dmarc_ctx_free(ign);
}

/* Under the strictest rule every Author Domain counts: when msg_from could
 * not list them all, an unlisted one (say p=reject) would go unchecked. */
static void
test_unlisted_author_domains(struct dns_resolver *r)
{
	struct dmarc_ctx *all = make_ctx(r, DMARC_MODE_RFC9989, DMARC_FROM_STRICTEST);
	struct msg_from from;
	struct dmarc_auth_input in = {.from = &from, .spf_pass = 1, .spf_domain = "a1.example"};
	struct dmarc_outcome o;

	make_from(&from, MSG_FROM_MULTIPLE,
	          "a1.example a2.example a3.example a4.example a5.example a6.example a7.example "
	          "a8.example a9.example a10.example a11.example a12.example a13.example "
	          "a14.example a15.example a16.example");
	dmarc_evaluate(all, &in, NULL, &o, NULL);
	is_str(dmarc_result_name(o.result), "none", "strictest: 16 listed domains, no policy");
	is_str(dmarc_disp_name(o.disposition), "none", "strictest: 16 listed: nothing applied");
	from.truncated = true;
	dmarc_evaluate(all, &in, NULL, &o, NULL);
	is_str(dmarc_result_name(o.result), "permerror", "strictest: more than listed");
	is_str(dmarc_disp_name(o.disposition), "reject", "strictest: more than listed: reject");
	is_str(o.reason, "more Author Domains than can be evaluated", "strictest: reason");
	ok(o.from_rejected, "strictest: more than listed: from_rejected");
	dmarc_ctx_free(all);
}

/* RFC 9989 §4.10: never more than 8 queries, whatever the depth. */
static void
test_walk_bound(struct dns_resolver *r, struct dmarc_ctx *c)
{
	static const struct {
		const char *name, *org;
		unsigned long queries;
	} t[] = {
	    {"a.b.c.d.e.f.g.h.i.deep.example", "deep.example", 8},
	    {"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30."
	     "deep.example",
	     "deep.example", 8},
	    {"x.y.unknown.example", "x.y.unknown.example", 4},
	    {"h.i.deep.example", "deep.example", 4},
	    {"a.corp.psdn.example", "corp.psdn.example", 2},
	    {"foo.blogspot.com", "foo.blogspot.com", 2},
	};
	char org[DNS_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned long before = dns_zone_query_count(r);
		is_int(dmarc_org_domain(c, t[i].name, org), 0, "walk %zu: done", i);
		is_str(org, t[i].org, "walk %zu: org domain of %s", i, t[i].name);
		is_int(dns_zone_query_count(r) - before, t[i].queries, "walk %zu: queries", i);
	}
	is_int(dmarc_org_domain(c, "sub.tf2.example", org), -1, "walk: temporary failure");
}

/* dmarc_prefetch() asks, at once, exactly the names the walk then asks. */
static void
test_prefetch(void)
{
	static const struct {
		const char *name;
		unsigned long names;
	} t[] = {
	    {"x.y.unknown.example", 4},
	    {"a.b.c.d.e.f.g.h.i.deep.example", 8},
	};
	struct dns_cache_opts o = {.prefetch_threads = 4};
	struct dns_cache_stats st;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dns_resolver *zr = make_resolver();
		struct dns_resolver *cache = dns_cache_new(zr, &o, NULL);
		struct dmarc_ctx *c = make_ctx(cache, DMARC_MODE_RFC9989, DMARC_FROM_STRICTEST);
		char org[DNS_NAME_MAX + 1];

		dmarc_prefetch(c, t[i].name);
		dns_cache_get_stats(cache, &st);
		is_int(st.prefetches, t[i].names, "prefetch %zu: the whole walk started", i);
		dmarc_org_domain(c, t[i].name, org);
		is_int(dns_zone_query_count(zr), t[i].names, "prefetch %zu: the walk asked no more",
		       i);
		dmarc_ctx_free(c);
		dns_resolver_free(cache);
	}
}

static void
test_records(void)
{
	struct dmarc_record rec;
	char big[DMARC_RECORD_MAX + 16];
	static const char full[] = "v=DMARC1; p=quarantine; sp=reject; np=none; adkim=s; aspf=r; "
	                           "pct=20; fo=0:D; psd=n; t=y; rua=mailto:a@x.example, "
	                           "mailto:b@y.example!10m; ruf=mailto:f@x.example; x-new=1";
	static const char nul[] = "v=DMARC1; p=re\0ject; rua=mailto:a@x.example";

	is_int(dmarc_record_parse(full, strlen(full), &rec), 1, "full record: DMARC");
	ok(rec.p_valid && rec.p == DMARC_DISP_QUARANTINE, "full: p=quarantine");
	ok(rec.has_sp && rec.sp == DMARC_DISP_REJECT, "full: sp=reject");
	ok(rec.has_np && rec.np == DMARC_DISP_NONE, "full: np=none");
	ok(rec.adkim == 's' && rec.aspf == 'r', "full: adkim=s aspf=r");
	is_int(rec.pct, 20, "full: pct");
	is_str(rec.fo, "0:d", "full: fo");
	ok(rec.psd == DMARC_PSD_N && rec.testing, "full: psd=n t=y");
	is_int(rec.nrua, 2, "full: two rua");
	is_str(rec.rua[1], "mailto:b@y.example!10m", "full: rua with size");
	is_int(rec.nruf, 1, "full: one ruf");

	is_int(dmarc_record_parse("v=DMARC1;p=none", 15, &rec), 1, "minimal record");
	ok(rec.p_valid && !rec.has_sp && !rec.has_np && rec.adkim == 'r' && rec.pct == -1 &&
	       rec.fo[0] == '\0' && rec.psd == DMARC_PSD_U && !rec.testing && rec.nrua == 0,
	   "minimal: defaults");
	is_int(dmarc_record_parse("v = DMARC1 ; P = Reject", 23, &rec), 1, "spaces and case");
	ok(rec.p_valid && rec.p == DMARC_DISP_REJECT, "spaces and case: p=reject");
	is_int(dmarc_record_parse("v=DMARC1", 8, &rec), 1, "version alone");
	ok(!rec.p_valid, "version alone: no p");
	is_int(dmarc_record_parse("p=reject; v=DMARC1", 18, &rec), 0, "v= not first");
	is_int(dmarc_record_parse(" v=DMARC1; p=reject", 19, &rec), 0, "leading space");
	is_int(dmarc_record_parse("v=DMARC10; p=reject", 19, &rec), 0, "v=DMARC10");
	is_int(dmarc_record_parse("v=dmarc1; p=reject", 18, &rec), 0, "version is case-sensitive");
	is_int(dmarc_record_parse("v=DMARC1 p=reject", 17, &rec), 0, "no separator");
	dmarc_record_parse("v=DMARC1; p=r", 13, &rec);
	ok(!rec.p_valid, "p=r is not a policy");
	dmarc_record_parse("v=DMARC1; p=reject; p=none", 26, &rec);
	ok(rec.p == DMARC_DISP_REJECT, "a repeated tag keeps its first value");
	dmarc_record_parse("v=DMARC1; p=reject; pct=101", 27, &rec);
	is_int(rec.pct, -1, "pct=101 is invalid");
	dmarc_record_parse("v=DMARC1; p=reject; pct=abc", 27, &rec);
	is_int(rec.pct, -1, "pct=abc is invalid");
	dmarc_record_parse("v=DMARC1; p=reject; pct=0", 25, &rec);
	is_int(rec.pct, 0, "pct=0");
	dmarc_record_parse("v=DMARC1; p=reject; fo=0:x", 26, &rec);
	is_str(rec.fo, "", "fo with an unknown option");
	dmarc_record_parse("v=DMARC1; p=reject; fo=1:", 25, &rec);
	is_str(rec.fo, "", "fo with a trailing colon");
	dmarc_record_parse("v=DMARC1; p=reject; rua=bogus, mailto:ok@x.example,:x", 52, &rec);
	ok(rec.nrua == 1 && strcmp(rec.rua[0], "mailto:ok@x.example") == 0, "invalid URIs skipped");
	dmarc_record_parse(nul, sizeof(nul) - 1, &rec);
	ok(!rec.p_valid && rec.nrua == 1, "NUL inside a value");

	dmarc_record_parse("v=DMARC1; p=none; sp=bogus", 26, &rec);
	ok(rec.p_valid && !rec.sp_valid && !rec.has_sp, "invalid sp=");
	ok(dmarc_record_usable(&rec, DMARC_MODE_RFC9989), "invalid sp=: usable in RFC 9989 mode");
	ok(!dmarc_record_usable(&rec, DMARC_MODE_RFC7489), "invalid sp=, no rua: not in RFC 7489");
	dmarc_record_parse("v=DMARC1; p=none; np=bogus", 26, &rec);
	ok(rec.p_valid && !rec.np_valid && !rec.has_np, "invalid np=");
	dmarc_record_parse("v=DMARC1; p=none; np=reject", 27, &rec);
	ok(rec.np_valid && rec.has_np, "valid np=");

	memset(big, 'a', sizeof(big));
	memcpy(big, "v=DMARC1; p=none; x=", 20);
	is_int(dmarc_record_parse(big, sizeof(big), &rec), 0, "oversized record");
}

static unsigned random_calls;

static unsigned
counting_random(void *ctx)
{
	random_calls++;
	return *(unsigned *)ctx;
}

static enum dmarc_disp
applied(enum dmarc_mode mode, enum dmarc_result res, enum dmarc_disp p, int pct, int t,
        const struct dmarc_local_policy *lp, enum dmarc_override *why)
{
	struct dmarc_outcome o;

	memset(&o, 0, sizeof(o));
	o.mode = mode;
	o.result = res;
	o.policy = p;
	o.record.pct = pct;
	o.record.testing = t;
	dmarc_apply_policy(&o, lp);
	*why = o.override;
	return o.disposition;
}

static void
test_apply_policy(void)
{
	unsigned value = 29;
	struct dmarc_local_policy lp = {.random100 = counting_random, .random_ctx = &value};
	struct dmarc_local_policy cap = {.cap_set = true, .cap = DMARC_DISP_QUARANTINE};
	struct dmarc_local_policy fwd = {.trusted_forwarder = true};
	enum dmarc_mode m89 = DMARC_MODE_RFC9989, m74 = DMARC_MODE_RFC7489;
	enum dmarc_override why;

	is_int(applied(m89, R(FAIL), D(REJECT), -1, 0, NULL, &why), D(REJECT), "fail: p applied");
	is_int(applied(m89, R(PASS), D(REJECT), -1, 0, NULL, &why), D(NONE), "pass: nothing");
	is_int(applied(m89, R(TEMPERROR), D(REJECT), -1, 0, NULL, &why), D(NONE), "temperror");
	is_int(applied(m89, R(FAIL), D(QUARANTINE), -1, 1, NULL, &why), D(NONE), "t=y: q -> none");
	is_int(why, O(TESTING), "t=y: why");
	is_int(applied(m89, R(FAIL), D(NONE), -1, 1, NULL, &why), D(NONE), "t=y with p=none");
	is_int(why, O(NONE), "t=y with p=none: nothing lowered");
	is_int(applied(m89, R(FAIL), D(REJECT), 0, 0, &lp, &why), D(REJECT), "pct ignored in 9989");
	is_int(applied(m89, R(FAIL), D(REJECT), -1, 0, &cap, &why), D(QUARANTINE), "local cap");
	is_int(why, O(LOCAL_POLICY), "local cap: why");
	is_int(applied(m74, R(FAIL), D(REJECT), -1, 1, &fwd, &why), D(NONE), "trusted forwarder");
	is_int(why, O(TRUSTED_FORWARDER), "trusted forwarder: why");

	random_calls = 0;
	is_int(applied(m74, R(FAIL), D(REJECT), 30, 0, &lp, &why), D(REJECT), "pct=30, 29 in");
	value = 30;
	is_int(applied(m74, R(FAIL), D(REJECT), 30, 0, &lp, &why), D(QUARANTINE), "pct=30, 30 out");
	is_int(why, O(SAMPLED_OUT), "sampled out: why");
	value = 0;
	is_int(applied(m74, R(FAIL), D(QUARANTINE), 0, 0, &lp, &why), D(NONE), "pct=0: q -> none");
	is_int(random_calls, 3, "one draw per sampled message");
	is_int(applied(m74, R(FAIL), D(REJECT), 100, 0, &lp, &why), D(REJECT), "pct=100");
	is_int(applied(m74, R(FAIL), D(REJECT), -1, 0, &lp, &why), D(REJECT), "no pct");
	is_int(applied(m74, R(PASS), D(REJECT), 10, 0, &lp, &why), D(NONE), "pass with pct");
	is_int(random_calls, 3, "no draw without sampling");
}

/* The policy policy.dmarc reports: after pct=/t=, before local policy. */
static enum dmarc_disp
evaluated(enum dmarc_mode mode, enum dmarc_result res, enum dmarc_disp p, int pct, int t,
          const struct dmarc_local_policy *lp)
{
	struct dmarc_outcome o;

	memset(&o, 0, sizeof(o));
	o.mode = mode;
	o.result = res;
	o.policy = p;
	o.record.pct = pct;
	o.record.testing = t;
	dmarc_apply_policy(&o, lp);
	return o.evaluated;
}

static void
test_evaluated_policy(void)
{
	unsigned out = 99;
	struct dmarc_local_policy lp = {.random100 = counting_random, .random_ctx = &out};
	struct dmarc_local_policy capped = {.random100 = counting_random,
	                                    .random_ctx = &out,
	                                    .cap_set = true,
	                                    .cap = DMARC_DISP_NONE};
	struct dmarc_local_policy fwd = {.trusted_forwarder = true};
	enum dmarc_mode m89 = DMARC_MODE_RFC9989, m74 = DMARC_MODE_RFC7489;

	is_int(evaluated(m89, R(FAIL), D(REJECT), -1, 0, NULL), D(REJECT), "evaluated: p as is");
	is_int(evaluated(m89, R(FAIL), D(REJECT), -1, 1, NULL), D(QUARANTINE),
	       "evaluated: t=y lowers it");
	is_int(evaluated(m74, R(FAIL), D(REJECT), 50, 0, &lp), D(QUARANTINE),
	       "evaluated: sampled out by pct=");
	is_int(evaluated(m74, R(FAIL), D(REJECT), 50, 0, &capped), D(QUARANTINE),
	       "evaluated: a local cap after sampling leaves it");
	is_int(evaluated(m74, R(FAIL), D(REJECT), -1, 0, &fwd), D(REJECT),
	       "evaluated: a trusted forwarder leaves it");
	is_int(evaluated(m89, R(PASS), D(REJECT), -1, 1, NULL), D(REJECT),
	       "evaluated: a pass keeps the requested policy");
}

int
main(void)
{
	struct dns_resolver *r = make_resolver();
	struct dmarc_ctx *c9989 = make_ctx(r, DMARC_MODE_RFC9989, DMARC_FROM_STRICTEST);
	struct dmarc_ctx *c7489 = make_ctx(r, DMARC_MODE_RFC7489, DMARC_FROM_STRICTEST);

	run_table(c9989, "rfc9989", 0);
	run_table(c7489, "rfc7489", 1);
	test_from_rules(r);
	test_unlisted_author_domains(r);
	test_walk_bound(r, c9989);
	test_prefetch();
	test_records();
	test_apply_policy();
	test_evaluated_policy();
	dmarc_ctx_free(c9989);
	dmarc_ctx_free(c7489);
	dns_resolver_free(r);
	return done_testing();
}
