/*
 * test-verdict - the decision table, and rendering that never changes it.
 *
 * Outcomes are built by hand, so each row of the table is exactly the
 * input it names; the DKIM results for rendering come from real
 * verification of messages signed here.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "dkim-util.h"
#include "tap.h"
#include "verdict.h"

static struct policy_config *
cfg_with(const char *const *settings)
{
	struct policy_config *cfg = config_new(NULL);

	config_set(cfg, "authserv_id", "mx.test", NULL);
	for (; settings != NULL && *settings != NULL; settings += 2)
		if (config_set(cfg, settings[0], settings[1], NULL) < 0)
			abort();
	return cfg;
}

static void
outcome(struct dmarc_outcome *d, enum dmarc_result result, enum dmarc_disp disposition)
{
	memset(d, 0, sizeof(*d));
	d->result = result;
	d->have_record = true;
	d->policy = d->evaluated = DMARC_DISP_REJECT;
	d->disposition = disposition;
	strcpy(d->from_domain, "bank.example");
	strcpy(d->policy_domain, "bank.example");
	strcpy(d->org_domain, "bank.example");
}

static void
spf(struct spf_outcome *o, enum spf_result result)
{
	memset(o, 0, sizeof(*o));
	o->result = result;
	strcpy(o->domain, "forger.example");
	strcpy(o->sender, "x@forger.example");
}

static bool
has(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

static void
test_action_names(void)
{
	is_str(verdict_action_name(VERDICT_ACCEPT), "accept", "accept");
	is_str(verdict_action_name(VERDICT_REJECT), "reject", "reject");
	is_str(verdict_action_name(VERDICT_TEMPFAIL), "tempfail", "tempfail");
	is_str(verdict_action_name(VERDICT_QUARANTINE), "quarantine", "quarantine");
}

static void
test_dmarc_dispositions(void)
{
	static const char *const header_only[] = {"quarantine", "header", NULL};
	struct policy_config *cfg = cfg_with(NULL), *hdr = cfg_with(header_only);
	struct dmarc_outcome d;
	struct verdict_input in = {.cfg = cfg, .dmarc = &d};
	struct verdict v;

	verdict_decide(&(struct verdict_input){.cfg = cfg}, &v);
	is_int(v.action, VERDICT_ACCEPT, "nothing evaluated: accept");
	is_str(v.dmarc_result, "none", "nothing evaluated: dmarc none");

	outcome(&d, DMARC_RESULT_FAIL, DMARC_DISP_REJECT);
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_REJECT, "disposition reject: reject");
	is_int(v.smtp_code, 550, "550");
	is_str(v.dsn, "5.7.1", "5.7.1");
	is_str(v.text, "Rejected by DMARC policy for bank.example", "reply names the domain");
	is_int(v.reason, VERDICT_R_DMARC_POLICY, "reason the policy");
	is_str(v.dmarc_disposition, "reject", "summary: disposition reject");

	d.from_rejected = true;
	verdict_decide(&in, &v);
	is_int(v.reason, VERDICT_R_MALFORMED, "the From rule's reject: malformed");
	is_str(v.text, "Rejected: the From field does not name one author domain", "its text");

	outcome(&d, DMARC_RESULT_FAIL, DMARC_DISP_QUARANTINE);
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_QUARANTINE, "disposition quarantine: hold");
	is_str(v.text, "DMARC policy for bank.example", "the quarantine reason");
	in.cfg = hdr;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "quarantine header: accepted");
	is_int(v.reason, VERDICT_R_DMARC_POLICY, "but the reason is the policy");

	in.cfg = cfg;
	outcome(&d, DMARC_RESULT_FAIL, DMARC_DISP_NONE);
	d.override = DMARC_OVERRIDE_LOCAL_POLICY;
	in.cap_reason = VERDICT_R_OVERRIDE;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "a local cap: accepted");
	is_int(v.reason, VERDICT_R_OVERRIDE, "reason the cap's");
	config_free(cfg);
	config_free(hdr);
}

static void
test_temporary_failures(void)
{
	static const char *const defer[] = {"on_dns_tempfail", "tempfail", NULL};
	static const char *const defer_ro[] = {"on_dns_tempfail", "tempfail", "report_only", "yes",
	                                       NULL};
	struct policy_config *cfg = cfg_with(NULL), *def = cfg_with(defer),
	                     *ro = cfg_with(defer_ro);
	struct dmarc_outcome d;
	struct spf_outcome s;
	struct verdict_input in = {.cfg = cfg, .dmarc = &d};
	struct verdict v;

	outcome(&d, DMARC_RESULT_TEMPERROR, DMARC_DISP_NONE);
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "temperror, on_dns_tempfail accept: accepted");
	in.cfg = def;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_TEMPFAIL, "temperror, on_dns_tempfail tempfail: deferred");
	is_int(v.smtp_code, 451, "451");
	is_str(v.dsn, "4.4.3", "4.4.3 (RFC 7208 §8.6)");
	is_str(v.text, "Temporary DNS failure checking bank.example; try again later", "text");
	in.cfg = ro;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "report-only never defers");

	/* A temporary failure that DMARC did not count leaves the answer. */
	in.cfg = def;
	outcome(&d, DMARC_RESULT_FAIL, DMARC_DISP_REJECT);
	spf(&s, SPF_TEMPERROR);
	in.spf = &s;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_REJECT, "an unrelated SPF temperror does not turn 550 into 451");
	outcome(&d, DMARC_RESULT_TEMPERROR, DMARC_DISP_REJECT);
	d.from_rejected = true;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_REJECT, "the From rule's reject is not deferred");
	config_free(cfg);
	config_free(def);
	config_free(ro);
}

static void
test_spf_rule(void)
{
	static const char *const spf_reject[] = {"spf_fail_reject", "yes", NULL};
	struct policy_config *cfg = cfg_with(spf_reject), *off = cfg_with(NULL);
	struct dmarc_outcome d;
	struct spf_outcome s;
	struct verdict_input in = {.cfg = cfg, .spf = &s};
	struct verdict v;

	spf(&s, SPF_FAIL);
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_REJECT, "SPF fail, spf_fail_reject: reject");
	is_str(v.dsn, "5.7.23", "5.7.23 (RFC 7372)");
	is_str(v.text, "SPF validation failed for forger.example", "text");
	s.explanation = "see https://forger.example/why";
	verdict_decide(&in, &v);
	is_str(v.text, "SPF validation failed for forger.example: see https://forger.example/why",
	       "with the explanation");
	s.explanation = NULL;
	outcome(&d, DMARC_RESULT_PASS, DMARC_DISP_NONE);
	in.dmarc = &d;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "not when DMARC passed (RFC 7489 §10.1)");
	in.dmarc = NULL;
	in.cfg = off;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "off by default");
	config_free(cfg);
	config_free(off);
}

static void
test_deletions(void)
{
	static const struct verdict_del del[] = {{7, 3}, {2, 1}};
	struct policy_config *cfg = cfg_with(NULL);
	struct dmarc_outcome d;
	struct verdict_input in = {.cfg = cfg, .dmarc = &d, .del = del, .ndel = 2};
	struct verdict v;

	outcome(&d, DMARC_RESULT_PASS, DMARC_DISP_NONE);
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "deletions alone: accepted");
	is_int(v.ndel, 2, "both deletions");
	is_int(v.del[0].nth, 3, "the bottom one first");
	in.del_impossible = true;
	verdict_decide(&in, &v);
	is_int(v.action, VERDICT_REJECT, "one that cannot be deleted: refused, even on pass");
	is_int(v.reason, VERDICT_R_MALFORMED, "reason malformed");
	verdict_exempt(&in, &v);
	is_int(v.action, VERDICT_REJECT, "exempt clients too");
	ok(v.skipped, "while the verdict says it was not checked");
	in.del_impossible = false;
	verdict_exempt(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "exempt: accepted");
	is_int(v.ndel, 2, "exempt: forged fields still deleted");
	is_str(v.dmarc_result, "skipped", "exempt: skipped in the summary");
	config_free(cfg);
}

static void
test_error_verdicts(void)
{
	static const char *const closed[] = {"on_internal_error", "tempfail", NULL};
	static const struct verdict_del del[] = {{0, 1}};
	struct policy_config *cfg = cfg_with(NULL), *fc = cfg_with(closed);
	struct verdict_input in = {.cfg = cfg, .del = del, .ndel = 1};
	struct verdict v;

	verdict_error(&in, &v);
	is_int(v.action, VERDICT_ACCEPT, "our fault, fail open by default");
	is_int(v.reason, VERDICT_R_INTERNAL, "reason internal");
	is_int(v.ndel, 1, "forged fields still deleted");
	in.del_impossible = true;
	verdict_error(&in, &v);
	is_int(v.action, VERDICT_TEMPFAIL, "forged fields not all noted: deferred, even fail-open");
	in.del_impossible = false;
	in.cfg = fc;
	verdict_error(&in, &v);
	is_int(v.action, VERDICT_TEMPFAIL, "fail closed: deferred");
	is_int(v.smtp_code, 451, "451");
	is_str(v.dsn, "4.3.0", "4.3.0");
	config_free(cfg);
	config_free(fc);
}

/* ---- rendering ---- */

static struct tkey key;

static const char zone_fmt[] = "$ORIGIN bank.example.\n$TTL 300\n"
                               "@ SOA ns.example. host.example. 1 3600 600 86400 300\n"
                               "sel._domainkey TXT \"v=DKIM1; k=ed25519; p=%s\"\n";

/* A message signed by bank.example, below n signatures by unknown
 * domains with long names; verified with every signature examined. */
static struct dkim_verifier *
verified(unsigned n, const char *body)
{
	struct dkim_sign_opts o = {.domain = "bank.example", .selector = "sel"};
	struct dkim_verify_opts vo = {.max_signatures = 100};
	char zone[4096], *signed_msg, label[64], text[256];
	struct dkim_verifier *v;
	struct buf m;

	memset(label, 'x', 60);
	label[60] = '\0';
	snprintf(zone, sizeof(zone), zone_fmt, key.pub);
	snprintf(text, sizeof(text), "From: a@bank.example\r\nSubject: s\r\n\r\n%s", body);
	signed_msg = tsign(&key, &o, text);
	buf_init(&m, 1 << 20);
	for (unsigned i = 0; i < n; i++)
		buf_printf(&m,
		           "DKIM-Signature: v=1; a=rsa-sha256; d=%s%u.%s.example; s=%s.%s; "
		           "i=@%s%u.%s.example; h=from; bh=AAAA; b=B%uBBBBBBBBBBBBBBBB\r\n",
		           label, i, label, label, label, label, i, label, i);
	buf_puts(&m, signed_msg);
	v = tverify(m.data, zone, NULL, &vo, 0);
	free(signed_msg);
	buf_free(&m);
	return v;
}

static void
test_authres_always_fits(void)
{
	static const char *const rspf[] = {"add_received_spf", "yes", NULL};
	struct policy_config *cfg = cfg_with(rspf);
	struct arena *a = arena_new(1 << 20);
	struct dkim_verifier *dk = verified(40, "hello\r\n");
	struct dmarc_outcome d;
	struct spf_outcome s;
	struct spf_request req = {.family = AF_INET, .helo = "h.example", .mail_from = "x@y"};
	struct verdict_input in = {.cfg = cfg, .dmarc = &d, .dkim = dk, .spf = &s, .spf_req = &req};
	struct report_record rec = {0};
	struct verdict v;
	const char *ar;

	outcome(&d, DMARC_RESULT_PASS, DMARC_DISP_NONE);
	d.dkim_aligned = true;
	strcpy(d.dkim_domain, "bank.example");
	spf(&s, SPF_FAIL);
	verdict_decide(&in, &v);
	is_int(verdict_render(&in, &v, &rec, a), 0, "rendered");
	is_int(v.action, VERDICT_ACCEPT, "the decision stands");
	is_int(v.nadd, 2, "A-R and Received-SPF");
	ar = v.add[0].value;
	ok(strlen(ar) <= VERDICT_AUTHRES_MAX, "41 long DKIM results: A-R within its bound (%zu)",
	   strlen(ar));
	ok(has(ar, "spf=fail smtp.mailfrom=x@forger.example"), "SPF listed");
	ok(has(ar, "dkim=pass") && strstr(ar, "dkim=pass") < strstr(ar, "dkim=permerror"),
	   "the aligned pass listed first");
	ok(has(ar, "more DKIM results not listed)"), "the rest counted in a comment");
	ok(has(ar, "dmarc=pass"), "DMARC listed");
	ok(strchr(ar, '\n') == NULL || has(ar, "\r\n\t"), "folded with CRLF TAB only");
	is_str(v.add[1].name, "Received-SPF", "Received-SPF");
	ok(v.report == &rec && rec.ndkim == 41, "report record with every DKIM result");
	ok(has(v.dkim_summary, "pass(bank.example)") || has(v.dkim_summary, "..."),
	   "log summary bounded: %s", v.dkim_summary);
	ok(strlen(v.dkim_summary) <= 1024, "log summary within its bound");
	dkim_verifier_free(dk);

	/* Every result fits: signature order, no comment. */
	dk = verified(2, "hello\r\n");
	in.dkim = dk;
	arena_reset(a);
	verdict_decide(&in, &v);
	verdict_render(&in, &v, &rec, a);
	ok(!has(v.add[0].value, "not listed"), "three results all listed");
	ok(strstr(v.add[0].value, "dkim=permerror") < strstr(v.add[0].value, "dkim=pass"),
	   "in signature order");
	dkim_verifier_free(dk);
	arena_free(a);
	config_free(cfg);
}

/* No Author Domain: the A-R still says what DMARC decided, without a
 * header.from to invent. */
static void
test_no_author_domain(void)
{
	struct policy_config *cfg = cfg_with(NULL);
	struct arena *a = arena_new(1 << 16);
	struct dmarc_outcome d;
	struct verdict_input in = {.cfg = cfg, .dmarc = &d};
	struct report_record rec = {0};
	struct verdict v;

	memset(&d, 0, sizeof(d));
	d.result = DMARC_RESULT_PERMERROR;
	d.disposition = DMARC_DISP_REJECT;
	d.from_rejected = true;
	d.reason = "no From field";
	verdict_decide(&in, &v);
	verdict_render(&in, &v, &rec, a);
	is_int(v.action, VERDICT_REJECT, "no author: rejected");
	ok(v.nadd == 1 && has(v.add[0].value, "dmarc=permerror") &&
	       has(v.add[0].value, "reason=\"no From field\""),
	   "no author: dmarc=permerror with its reason (%s)", v.nadd ? v.add[0].value : "-");
	ok(v.nadd == 1 && !has(v.add[0].value, "header.from"), "no author: no header.from");
	arena_free(a);
	config_free(cfg);
}

static void
test_render_failure_keeps_decision(void)
{
	struct policy_config *cfg = cfg_with(NULL);
	struct arena *tiny = arena_new(16);
	struct dmarc_outcome d;
	struct verdict_input in = {.cfg = cfg, .dmarc = &d};
	struct report_record rec = {0};
	struct verdict v;

	outcome(&d, DMARC_RESULT_FAIL, DMARC_DISP_REJECT);
	verdict_decide(&in, &v);
	is_int(verdict_render(&in, &v, &rec, tiny), -1, "no memory to render");
	is_int(v.action, VERDICT_REJECT, "the reject stands");
	is_str(v.text, "Rejected by DMARC policy for bank.example", "with its text");
	is_int(v.nadd, 0, "no header");
	arena_free(tiny);
	config_free(cfg);
}

static void
test_partial_body_and_json(void)
{
	struct policy_config *cfg = cfg_with(NULL);
	struct arena *a = arena_new(1 << 20);
	struct dkim_sign_opts o = {.domain = "bank.example", .selector = "sel", .body_length = 1};
	struct dkim_verify_opts vo = {0};
	struct dmarc_outcome d;
	struct verdict_input in = {.cfg = cfg, .dmarc = &d};
	struct report_record rec = {0};
	struct verdict v;
	char zone[4096], *m, *longer;
	struct buf out;

	snprintf(zone, sizeof(zone), zone_fmt, key.pub);
	m = tsign(&key, &o, "From: a@bank.example\r\n\r\nsigned part\r\n");
	longer = malloc(strlen(m) + 32);
	snprintf(longer, strlen(m) + 32, "%sappended by a forger\r\n", m);
	in.dkim = tverify(longer, zone, NULL, &vo, 0);
	outcome(&d, DMARC_RESULT_PASS, DMARC_DISP_NONE);
	verdict_decide(&in, &v);
	verdict_render(&in, &v, &rec, a);
	ok(v.partial_body, "a passing signature with content past l=: partial_body");
	ok(has(v.add[0].value, "dkim=pass (body only partly signed, l=)"),
	   "the A-R says so in a comment");
	buf_init(&out, 1 << 16);
	is_int(verdict_json(&in, &v, &out), 0, "JSON rendered");
	ok(has(out.data, "\"partial_body\":true"), "the JSON says partial_body");
	ok(has(out.data, "\"action\":\"accept\""), "and the action");
	buf_reset(&out);
	is_int(verdict_json(&(struct verdict_input){.cfg = cfg}, NULL, &out), 0, "SPF only");
	is_str(out.data, "{\"spf\":{\"result\":\"none\",\"domain\":\"\",\"scope\":\"mfrom\"}}",
	       "just the SPF member");
	buf_free(&out);
	dkim_verifier_free((struct dkim_verifier *)in.dkim);
	free(m);
	free(longer);
	arena_free(a);
	config_free(cfg);
}

int
main(void)
{
	test_action_names();
	test_dmarc_dispositions();
	test_temporary_failures();
	test_spf_rule();
	test_deletions();
	test_error_verdicts();
	tkey_make(&key, "ED25519", 0);
	test_authres_always_fits();
	test_no_author_domain();
	test_render_failure_keeps_decision();
	test_partial_body_and_json();
	EVP_PKEY_free(key.pkey);
	return done_testing();
}
