/*
 * test-session - one session per message, from envelope to verdict.
 *
 * Messages are signed here with a fresh Ed25519 key whose public half is
 * published in an in-memory zone, so every verdict below follows from the
 * DNS data and the message alone.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "arc-util.h"
#include "dkim-util.h"
#include "dns_zone.h"
#include "keyring.h"
#include "msg.h"
#include "session.h"
#include "tap.h"

static struct tkey key;      /* Ed25519, published at sel._domainkey.good.example */
static struct tkey list_key; /* the ARC sealer's, at arc._domainkey.lists.example */

static const char zone_fmt[] = "$ORIGIN example.\n$TTL 300\n"
                               "@ SOA ns.example. host.example. 1 3600 600 86400 300\n"
                               "good IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                               "_dmarc.good IN TXT \"v=DMARC1; p=reject\"\n"
                               "sel._domainkey.good IN TXT \"v=DKIM1; k=ed25519; p=%s\"\n"
                               "quar IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                               "_dmarc.quar IN TXT \"v=DMARC1; p=quarantine\"\n"
                               "open IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                               "_dmarc.open IN TXT \"v=DMARC1; p=none\"\n"
                               "slow IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                               "_dmarc.spfslow IN TXT \"v=DMARC1; p=reject\"\n"
                               "arc._domainkey.lists IN TXT \"v=DKIM1; k=ed25519; p=%s\"\n";

static struct dns_resolver *
make_zone(void)
{
	struct dns_resolver *r = dns_zone_new(NULL);
	char text[8192];

	snprintf(text, sizeof(text), zone_fmt, key.pub, list_key.pub);
	if (dns_zone_load_string(r, text, NULL, NULL) < 0 ||
	    dns_zone_add_fail(r, "_dmarc.slow.example/TXT", NULL) < 0 ||
	    dns_zone_add_fail(r, "spfslow.example/TXT", NULL) < 0)
		abort();
	return r;
}

/* headers (LF-separated "Name: value" lines) and body, signed by d=good.example
 * when sign is set; returns the wire form with CRLF (malloc'd). */
static char *
make_message(const char *headers, const char *body, int sign)
{
	struct dkim_sign_opts o = {.domain = "good.example",
	                           .selector = "sel",
	                           .hcanon = DKIM_CANON_RELAXED,
	                           .bcanon = DKIM_CANON_RELAXED};
	struct msg_crlf st = {0};
	struct buf wire;
	char *out;

	buf_init(&wire, 1 << 22);
	msg_crlf_convert(&st, headers, strlen(headers), &wire);
	buf_puts(&wire, "\r\n");
	msg_crlf_convert(&st, body, strlen(body), &wire);
	if (!sign)
		return buf_steal(&wire);
	if ((out = tsign(&key, &o, wire.data)) == NULL)
		abort();
	buf_free(&wire);
	return out;
}

struct env {
	struct policy_config *cfg;
	struct dns_resolver *r;
	struct keyring *kr;
	struct session_engines *e;
	struct session *s;
};

static void
env_open(struct env *v, const char *const *settings)
{
	v->cfg = config_new(NULL);
	config_set(v->cfg, "authserv_id", "mx.test", NULL);
	config_set(v->cfg, "trusted_networks", "", NULL);
	for (; settings != NULL && *settings != NULL; settings += 2)
		if (config_set(v->cfg, settings[0], settings[1], NULL) < 0)
			abort();
	v->r = make_zone();
	v->kr = keyring_new();
	if (keyring_load_config(v->kr, v->cfg, NULL) < 0)
		abort();
	v->e = session_engines_new(v->cfg, v->r, v->kr, NULL);
	v->s = session_new(v->cfg, v->e, NULL);
	if (v->s == NULL)
		abort();
}

static void
env_close(struct env *v)
{
	session_free(v->s);
	session_engines_free(v->e);
	keyring_free(v->kr);
	dns_resolver_free(v->r);
	config_free(v->cfg);
}

/* Feeds one transaction the way the milter does: fields one by one, then
 * the body in small chunks. */
static const struct verdict *
deliver_fields(struct env *v, const char *ip, const char *mail_from, const char *wire)
{
	const struct verdict *out = NULL;
	struct tmsg m;
	size_t i;

	if (session_connect(v->s, ip, NULL, NULL) < 0 || session_helo(v->s, "mta.test", NULL) < 0 ||
	    session_mail_from(v->s, mail_from, NULL) < 0 ||
	    session_rcpt(v->s, "<rcpt@mx.test>", NULL) < 0 ||
	    tmsg_parse(&m, wire, strlen(wire)) < 0)
		abort();
	/* The name as an MTA may pass it: up to the colon, WSP included. */
	for (i = 0; i < msg_headers_count(m.h); i++) {
		const struct msg_field *f = msg_headers_get(m.h, i);

		if (f->value_off > 0 &&
		    session_header(v->s, f->raw, f->value_off - 1, f->raw + f->value_off,
		                   f->raw_len - f->value_off, NULL) < 0)
			abort();
	}
	if (session_eoh(v->s, NULL) < 0)
		abort();
	for (i = 0; i < m.body_len; i += 7)
		session_body(v->s, m.body + i, m.body_len - i < 7 ? m.body_len - i : 7, NULL);
	if (session_eom(v->s, &out, NULL) < 0)
		out = NULL;
	tmsg_free(&m);
	return out;
}

/* Feeds one transaction the way the SMTP listener and authcheck do: the
 * raw message in 5-byte chunks. */
static const struct verdict *
deliver(struct env *v, const char *ip, const char *mail_from, const char *wire)
{
	const struct verdict *out = NULL;
	size_t i, len = strlen(wire);

	if (session_connect(v->s, ip, NULL, NULL) < 0 || session_helo(v->s, "mta.test", NULL) < 0 ||
	    session_mail_from(v->s, mail_from, NULL) < 0 ||
	    session_rcpt(v->s, "<rcpt@mx.test>", NULL) < 0)
		abort();
	for (i = 0; i < len; i += 5)
		if (session_data(v->s, wire + i, len - i < 5 ? len - i : 5, NULL) < 0)
			abort();
	if (session_eom(v->s, &out, NULL) < 0)
		out = NULL;
	return out;
}

/* The verdict's JSON, in a static buffer. */
static const char *
json_of(struct env *v)
{
	static char text[65536];
	struct buf b;

	buf_init(&b, sizeof(text) - 1);
	if (session_json(v->s, &b) < 0)
		abort();
	memcpy(text, b.data, b.len + 1);
	buf_free(&b);
	return text;
}

static bool
has(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

static const char good_hdrs[] = "From: Alice <alice@good.example>\nTo: bob@mx.test\n"
                                "Subject: hello\nDate: Wed, 25 Nov 2026 10:00:00 +0000\n";

static void
test_signed_message_passes(void)
{
	struct env v;
	char *m = make_message(good_hdrs, "Hi Bob.\n", 1);
	const struct verdict *r;

	env_open(&v, NULL);
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", m);
	is_int(r->action, VERDICT_ACCEPT, "signed, SPF-passing message is accepted");
	is_str(r->spf_result, "pass", "spf pass");
	is_str(r->dkim_summary, "pass(good.example)", "dkim pass for good.example");
	is_str(r->dmarc_result, "pass", "dmarc pass");
	is_int(r->nadd, 1, "one header added");
	is_str(r->add[0].name, "Authentication-Results", "the header is A-R");
	ok(has(r->add[0].value, " mx.test; spf=pass smtp.mailfrom=alice@good.example"),
	   "A-R begins with our authserv-id and spf");
	ok(has(r->add[0].value, "dkim=pass header.d=good.example header.s=sel"), "A-R dkim");
	ok(has(r->add[0].value, "dmarc=pass"), "A-R dmarc");
	ok(has(json_of(&v), "\"dmarc\":{\"result\":\"pass\",\"from_domain\":\"good.example\","
	                    "\"policy\":\"reject\",\"disposition\":\"none\",\"spf_aligned\":true,"
	                    "\"dkim_aligned\":true"),
	   "JSON dmarc object");
	ok(r->report != NULL, "a report record for the message");
	is_str(r->report->source_ip, "192.0.2.10", "record: source IP");
	is_str(r->report->header_from, "good.example", "record: header From");
	is_str(r->report->envelope_from, "good.example", "record: envelope From domain");
	is_str(r->report->envelope_to, "mx.test", "record: envelope To domain");
	is_str(r->report->dmarc->policy_domain, "good.example", "record: policy domain");
	is_int(r->report->ndkim, 1, "record: one DKIM result");
	is_str(r->report->dkim[0].s, "sel", "record: its selector");
	is_int(r->report->spf->result, SPF_PASS, "record: SPF pass");
	env_close(&v);
	free(m);
}

/* Report mail that passed DMARC is not recorded (no reports about
 * reports); one that failed is, whatever its Subject says. */
static void
test_report_mail_not_recorded(void)
{
	static const char hdrs[] = "From: dmarc@good.example\nTo: rua@mx.test\n"
	                           "Subject: Report Domain: mx.test Submitter: good.example "
	                           "Report-ID: 1\n";
	struct env v;
	char *m = make_message(hdrs, "report\n", 1);
	const struct verdict *r;

	env_open(&v, NULL);
	r = deliver(&v, "192.0.2.10", "<dmarc@good.example>", m);
	is_str(r->dmarc_result, "pass", "report mail: dmarc pass");
	ok(r->report == NULL, "report mail that passed: no record");
	session_reset(v.s);
	*strstr(m, "report\r\n") = 'X';
	r = deliver(&v, "203.0.113.5", "<x@elsewhere.test>", m);
	is_str(r->dmarc_result, "fail", "forged report mail: dmarc fail");
	ok(r->report != NULL, "forged report mail: recorded even so");
	env_close(&v);
	free(m);
}

static void
test_forgery_rejected_and_next_message_clean(void)
{
	struct env v;
	char *m = make_message(good_hdrs, "Hi Bob.\n", 1);
	char *forged;
	const struct verdict *r;

	forged = strdup(m);
	*strstr(forged, "Hi Bob") = 'X';
	env_open(&v, NULL);
	r = deliver(&v, "203.0.113.5", "<x@elsewhere.test>", forged);
	is_int(r->action, VERDICT_REJECT, "altered body from a stranger is rejected (p=reject)");
	is_int(r->smtp_code, 550, "550");
	is_str(r->dsn, "5.7.1", "5.7.1");
	is_str(r->text, "Rejected by DMARC policy for good.example", "reply names the domain");
	is_int(r->reason, VERDICT_R_DMARC_POLICY, "reason is the DMARC policy");
	ok(has(r->add[0].value, "reason=\"body hash mismatch\""), "A-R says why DKIM failed");
	session_reset(v.s);
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", m);
	is_int(r->action, VERDICT_ACCEPT, "the next message on the connection is judged alone");
	env_close(&v);
	free(m);
	free(forged);
}

static const struct verdict *
deliver_unsigned(struct env *v, const char *from_domain, const char *ip)
{
	char hdrs[256], mf[128];
	const struct verdict *r;
	char *m;

	snprintf(hdrs, sizeof(hdrs), "From: someone@%s\nSubject: x\n", from_domain);
	snprintf(mf, sizeof(mf), "<someone@%s>", from_domain);
	m = make_message(hdrs, "body\n", 0);
	r = deliver(v, ip, mf, m);
	free(m);
	return r;
}

static void
test_quarantine_hold_and_header_only(void)
{
	static const char *const header_mode[] = {"quarantine", "header", NULL};
	const struct verdict *r;
	struct env v;

	env_open(&v, NULL);
	r = deliver_unsigned(&v, "quar.example", "203.0.113.5");
	is_int(r->action, VERDICT_QUARANTINE, "p=quarantine failure goes to the hold queue");
	is_str(r->text, "DMARC policy for quar.example", "quarantine reason");
	env_close(&v);
	env_open(&v, header_mode);
	r = deliver_unsigned(&v, "quar.example", "203.0.113.5");
	is_int(r->action, VERDICT_ACCEPT, "header-only quarantine accepts");
	is_int(r->reason, VERDICT_R_DMARC_POLICY, "but says the policy asked for it");
	ok(has(r->add[0].value, "dis=quarantine"), "A-R records the disposition");
	env_close(&v);
}

/* An unsigned message with these header lines from 192.0.2.10. */
static const struct verdict *
deliver_plain(struct env *v, const char *hdrs)
{
	const struct verdict *r;
	char *m = make_message(hdrs, "body\n", 0);

	r = deliver(v, "192.0.2.10", "<alice@good.example>", m);
	free(m);
	return r;
}

static void
test_local_policy_lowers_reject(void)
{
	static const char *const report_only[] = {"report_only", "yes", NULL};
	static const char *const override[] = {"never_reject_domains", "good.example", NULL};
	const struct verdict *r;
	struct env v;

	env_open(&v, report_only);
	r = deliver_unsigned(&v, "good.example", "203.0.113.5");
	is_int(r->action, VERDICT_ACCEPT, "report-only never rejects");
	is_int(r->reason, VERDICT_R_REPORT_ONLY, "reason report-only");
	is_str(r->dmarc_result, "fail", "the result stays fail");
	ok(r->report != NULL, "a report record is still made");
	is_int(r->report->dmarc->override, DMARC_OVERRIDE_LOCAL_POLICY, "as local policy");
	r = deliver_plain(&v, "Subject: no author\n");
	is_int(r->action, VERDICT_ACCEPT, "report-only does not reject a message without From");
	is_int(r->reason, VERDICT_R_REPORT_ONLY, "reason report-only there too");
	is_str(r->dmarc_result, "permerror", "while the result stays permerror");
	env_close(&v);
	env_open(&v, override);
	r = deliver_unsigned(&v, "good.example", "203.0.113.5");
	is_int(r->action, VERDICT_ACCEPT, "a never-reject domain is accepted");
	is_int(r->reason, VERDICT_R_OVERRIDE, "reason override");
	env_close(&v);
}

static void
test_spf_fail_and_tempfail_rules(void)
{
	static const char *const spf_reject[] = {"spf_fail_reject", "yes", NULL};
	static const char *const tempfail[] = {"on_dns_tempfail", "tempfail", NULL};
	const struct verdict *r;
	struct env v;

	env_open(&v, NULL);
	r = deliver_unsigned(&v, "open.example", "203.0.113.5");
	is_int(r->action, VERDICT_ACCEPT, "SPF fail alone does not reject by default");
	is_str(r->spf_result, "fail", "spf fail");
	ok(has(r->add[0].value, "dkim=none"), "an unsigned message says dkim=none");
	r = deliver_unsigned(&v, "slow.example", "192.0.2.1");
	is_int(r->action, VERDICT_ACCEPT, "DNS trouble accepts by default");
	is_str(r->dmarc_result, "temperror", "dmarc temperror");
	env_close(&v);
	env_open(&v, spf_reject);
	r = deliver_unsigned(&v, "open.example", "203.0.113.5");
	is_int(r->action, VERDICT_REJECT, "SPF fail rejects when configured");
	is_str(r->dsn, "5.7.23", "RFC 7372 SPF code");
	is_str(r->text, "SPF validation failed for open.example", "reply text");
	env_close(&v);
	env_open(&v, tempfail);
	r = deliver_unsigned(&v, "slow.example", "192.0.2.1");
	is_int(r->action, VERDICT_TEMPFAIL, "DNS trouble tempfails when configured");
	is_int(r->smtp_code, 451, "451");
	is_str(r->dsn, "4.4.3", "4.4.3, directory server failure (RFC 7208 §8.6)");
	r = deliver_unsigned(&v, "spfslow.example", "192.0.2.1");
	is_str(r->spf_result, "temperror", "SPF look-up timed out");
	is_str(r->dmarc_result, "temperror", "for an identifier that could align: temperror");
	is_int(r->action, VERDICT_TEMPFAIL, "so the message is deferred when configured");
	is_int(r->reason, VERDICT_R_DNS_TEMPFAIL, "reason DNS tempfail");
	env_close(&v);
	env_open(&v, NULL);
	r = deliver_unsigned(&v, "spfslow.example", "192.0.2.1");
	is_int(r->action, VERDICT_ACCEPT, "and never rejected on what a retry could pass");
	env_close(&v);
}

static const char ar_hdrs[] = "Authentication-Results: mx.test; dkim=pass header.d=bank.example\n"
                              "From: Alice <alice@good.example>\n"
                              "Authentication-Results: other.example; spf=pass\n"
                              "Authentication-Results: MX.TEST (forged); dmarc=pass\n"
                              "Subject: x\n";

static void
test_forged_authres_deleted_bottom_up(void)
{
	const struct verdict *r;
	struct env v;
	char *m = make_message(ar_hdrs, "x\n", 1);

	env_open(&v, NULL);
	r = deliver_fields(&v, "192.0.2.10", "<alice@good.example>", m);
	is_int(r->ndel, 2, "fields one by one: two fields claim our authserv-id");
	is_int(r->del[0].nth, 3, "fields one by one: the third A-R first");
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", m);
	is_int(r->ndel, 2, "two fields claim our authserv-id");
	is_int(r->del[0].nth, 3, "the third A-R first");
	is_int(r->del[0].field, 4, "which is the fifth field (after the signature)");
	is_int(r->del[1].nth, 1, "then the first");
	is_int(r->del[1].field, 1, "the second field");
	env_close(&v);
	free(m);
}

/* n forged A-R fields above a signed message from good.example. */
static char *
forged_authres_message(unsigned n)
{
	struct buf h;
	char *m;

	buf_init(&h, 1 << 24);
	for (unsigned i = 0; i < n; i++)
		buf_printf(
		    &h, "Authentication-Results: mx.test; dmarc=pass header.from=bank%u.example\n",
		    i);
	buf_puts(&h, good_hdrs);
	m = make_message(h.data, "x\n", 1);
	buf_free(&h);
	return m;
}

static void
test_too_many_forged_authres_refused(void)
{
	const struct verdict *r;
	struct env v;
	char *many = forged_authres_message(40);
	char *over = forged_authres_message(VERDICT_MAX_DELETIONS + 1);

	env_open(&v, NULL);
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", many);
	is_int(r->action, VERDICT_ACCEPT, "40 forged A-R fields: all deleted, accepted");
	is_int(r->ndel, 40, "every one of them deleted");
	is_int(r->del[0].nth, 40, "from the bottom");
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", over);
	is_int(r->action, VERDICT_REJECT, "more than can be deleted: refused (RFC 8601 §5)");
	is_int(r->reason, VERDICT_R_MALFORMED, "reason malformed");
	is_int(r->smtp_code, 550, "550");
	is_str(r->dsn, "5.7.1", "5.7.1");
	ok(has(json_of(&v), "\"action\":\"reject\""), "the JSON says reject");
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", many);
	is_int(r->action, VERDICT_ACCEPT, "the next message starts afresh");
	session_set_authenticated(v.s, "alice");
	r = deliver(&v, "203.0.113.5", "<alice@good.example>", over);
	is_int(r->action, VERDICT_REJECT, "an authenticated client is refused too");
	is_str(json_of(&v),
	       "{\"skipped\":\"trusted client\",\"action\":\"reject\","
	       "\"smtp_reply\":\"550 5.7.1 Rejected: an Authentication-Results field "
	       "claiming this host's authserv-id cannot be removed\"}",
	       "exempt JSON says reject");
	env_close(&v);
	free(many);
	free(over);
}

static void
test_trusted_and_authenticated_clients(void)
{
	static const char *const trusted[] = {"trusted_networks", "192.0.2.0/24", NULL};
	const struct verdict *r;
	struct env v;
	char *m = make_message(ar_hdrs, "x\n", 0);

	env_open(&v, trusted);
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", m);
	is_int(r->action, VERDICT_ACCEPT, "trusted client accepted");
	is_int(r->reason, VERDICT_R_TRUSTED, "reason trusted");
	is_int(r->nadd, 0, "no header added for a trusted client");
	is_int(r->ndel, 0, "our own hosts' A-R fields are kept (RFC 8601 §5)");
	env_close(&v);
	env_open(&v, NULL);
	session_set_authenticated(v.s, "alice");
	r = deliver(&v, "203.0.113.5", "<alice@good.example>", m);
	is_int(r->reason, VERDICT_R_TRUSTED, "authenticated client not checked");
	is_int(r->ndel, 2, "but A-R fields it forged are deleted");
	/* The next connection on the same session is a stranger's. */
	session_restart(v.s);
	r = deliver(&v, "203.0.113.5", "<alice@good.example>", m);
	ok(r->reason != VERDICT_R_TRUSTED, "after session_restart the client is checked again");
	env_close(&v);
	free(m);
}

static void
test_from_policy_and_received_spf(void)
{
	static const char *const settings[] = {"from_policy", "reject", "add_received_spf", "yes",
	                                       NULL};
	const struct verdict *r;
	struct env v;
	char *m = make_message("Subject: no author\n", "x\n", 0);

	env_open(&v, settings);
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", m);
	is_int(r->action, VERDICT_REJECT, "no From field is rejected under from_policy reject");
	is_int(r->reason, VERDICT_R_MALFORMED, "reason malformed");
	is_str(r->dmarc_disposition, "reject", "the disposition applied is reject");
	ok(has(json_of(&v), "\"policy\":\"none\",\"disposition\":\"reject\""),
	   "the JSON says so too (no policy was published)");
	is_int(r->nadd, 2, "A-R and Received-SPF");
	is_str(r->add[1].name, "Received-SPF", "Received-SPF added when configured");
	ok(has(r->add[1].value, " pass "), "Received-SPF starts with the result");
	env_close(&v);
	free(m);
}

static void
test_error_verdicts(void)
{
	static const char *const closed[] = {"on_internal_error", "tempfail", NULL};
	const struct verdict *r;
	struct env v;

	env_open(&v, NULL);
	r = session_error_verdict(v.s);
	is_int(r->action, VERDICT_ACCEPT, "internal errors fail open by default");
	is_int(r->reason, VERDICT_R_INTERNAL, "reason internal");
	env_close(&v);
	env_open(&v, closed);
	r = session_error_verdict(v.s);
	is_int(r->action, VERDICT_TEMPFAIL, "fail-closed tempfails");
	is_int(r->smtp_code, 451, "451");
	env_close(&v);
}

/* RFC 6376 §3.4.1: simple header canonicalization hashes the field as it
 * came, WSP before the colon included; the field still names the author. */
static void
test_wsp_before_colon(void)
{
	struct dkim_sign_opts o = {.domain = "good.example",
	                           .selector = "sel",
	                           .hcanon = DKIM_CANON_SIMPLE,
	                           .bcanon = DKIM_CANON_SIMPLE};
	const struct verdict *r;
	struct env v;
	char *m = tsign(&key, &o, "From : Alice <alice@good.example>\r\nSubject : hi\r\n\r\nx\r\n");
	char *changed = strdup(m);

	env_open(&v, NULL);
	r = deliver(&v, "203.0.113.5", "<x@elsewhere.test>", m);
	is_str(r->dkim_summary, "pass(good.example)", "raw: simple/simple over \"From :\" passes");
	is_str(r->dmarc_result, "pass", "raw: and the field is the From DMARC judges");
	r = deliver_fields(&v, "203.0.113.5", "<x@elsewhere.test>", m);
	is_str(r->dkim_summary, "pass(good.example)", "milter form, name \"From \": passes");
	is_str(r->dmarc_result, "pass", "milter form: DMARC pass");
	*strstr(changed, "From :") = 'F';
	memmove(strstr(changed, "From :") + 4, strstr(changed, "From :") + 5,
	        strlen(strstr(changed, "From :") + 5) + 1);
	r = deliver(&v, "203.0.113.5", "<x@elsewhere.test>", changed);
	is_str(r->dkim_summary, "fail(good.example)",
	       "simple: the WSP removed breaks the signature");
	env_close(&v);
	free(m);
	free(changed);
}

/* A list changed a good.example message (so its signature fails) and
 * sealed it, saying in its AAR what it saw: authres. */
static char *
listed_message(const char *authres)
{
	char zone[8192], *m = make_message(good_hdrs, "Hi Bob.\n", 1), *changed, *sealed;
	struct aseal_opts o = {.key = &list_key,
	                       .domain = "lists.example",
	                       .selector = "arc",
	                       .authres = authres,
	                       .zone = zone};
	enum arc_seal_status st;

	snprintf(zone, sizeof(zone), zone_fmt, key.pub, list_key.pub);
	changed = areplace(m, "Hi Bob.\r\n", "Hi Bob.\r\n-- \r\nthe list\r\n");
	sealed = aseal(&o, changed, &st);
	if (sealed == NULL)
		abort();
	free(m);
	free(changed);
	return sealed;
}

static void
test_arc_trusted_forwarder(void)
{
	static const char *const trust[] = {"arc_trusted_sealers", "lists.example", NULL};
	static const char vouch[] =
	    "lists.example; dkim=pass header.d=good.example; dmarc=pass header.from=good.example";
	char *m = listed_message(vouch);
	char *lies = listed_message("lists.example; dkim=fail header.d=good.example");
	char *broken = areplace(m, "the list", "the lists");
	const struct verdict *r;
	struct env v;

	env_open(&v, NULL);
	r = deliver(&v, "203.0.113.5", "<bounce@lists.example>", m);
	is_str(r->dkim_summary, "fail(good.example)", "the list broke the signature");
	ok(has(json_of(&v), "arc=pass header.oldest-pass=0 smtp.remote-ip=203.0.113.5;"),
	   "A-R: arc=pass, oldest-pass, the sealer's address");
	is_int(r->action, VERDICT_REJECT, "an untrusted sealer changes nothing: p=reject");
	ok(has(json_of(&v), "\"arc\":{\"result\":\"pass\",\"instances\":1,\"reason\":\"\","
	                    "\"oldest_pass\":1}"),
	   "the JSON's arc member");
	env_close(&v);
	env_open(&v, trust);
	r = deliver(&v, "203.0.113.5", "<bounce@lists.example>", m);
	is_int(r->action, VERDICT_ACCEPT, "a trusted sealer that saw it pass: accepted");
	is_int(r->reason, VERDICT_R_TRUSTED_FORWARDER, "reason trusted forwarder");
	is_str(r->dmarc_override, "trusted_forwarder", "the log line says trusted_forwarder");
	is_str(r->dmarc_result, "fail", "DMARC still says fail");
	is_int(r->report->dmarc->override, DMARC_OVERRIDE_TRUSTED_FORWARDER,
	       "the report says trusted_forwarder");
	r = deliver(&v, "203.0.113.5", "<bounce@lists.example>", lies);
	is_int(r->action, VERDICT_REJECT, "a trusted sealer that saw it fail: rejected");
	is_str(r->dmarc_override, NULL, "no override to log");
	r = deliver(&v, "203.0.113.5", "<bounce@lists.example>", broken);
	ok(has(r->add[0].value, "arc=fail"), "changed after sealing: arc=fail");
	is_int(r->action, VERDICT_REJECT, "a broken chain from a trusted sealer: rejected");
	env_close(&v);
	free(m);
	free(lies);
	free(broken);
}

/* Writes a key's PEM to a mode 600 file; returns its path. */
static const char *
key_path(const struct tkey *k, const char *name)
{
	static char path[2][64];
	static int next;
	char *p = path[next++ % 2];
	FILE *f;

	snprintf(p, 64, "/tmp/test-session-%d-%s", (int)getpid(), name);
	f = fopen(p, "w");
	fputs(k->pem, f);
	fclose(f);
	chmod(p, 0600);
	return p;
}

/* Mail from an authenticated client is signed, not checked; mail the
 * session passes on is sealed, mail it refuses is not. */
static void
test_sign_and_seal(void)
{
	char entry[128], zone[8192];
	const char *sign[] = {"dkim_sign", entry, NULL};
	const char *seal[] = {"arc_seal_domain",
	                      "lists.example",
	                      "arc_seal_selector",
	                      "arc",
	                      "arc_seal_key",
	                      key_path(&list_key, "arc.key"),
	                      NULL};
	char *m = make_message(good_hdrs, "Hi Bob.\n", 0), *out;
	struct dkim_verifier *dk;
	struct arc_verifier *av;
	const struct verdict *r;
	struct buf b;
	struct env v;

	snprintf(entry, sizeof(entry), "good.example sel %s", key_path(&key, "good.key"));
	snprintf(zone, sizeof(zone), zone_fmt, key.pub, list_key.pub);
	env_open(&v, sign);
	session_set_authenticated(v.s, "alice");
	r = deliver(&v, "203.0.113.5", "<alice@good.example>", m);
	is_int(r->action, VERDICT_ACCEPT, "an authenticated client's mail is accepted");
	is_int(r->nadd, 1, "with one field added");
	is_str(r->add[0].name, "DKIM-Signature", "a DKIM-Signature");
	is_str(r->dkim_summary, "signed(good.example)", "the log says it was signed");
	is_str(r->from_domain, "good.example", "and for which domain");
	buf_init(&b, 1 << 20);
	buf_printf(&b, "%s:%s\r\n%s", r->add[0].name, r->add[0].value, m);
	dk = tverify(b.data, zone, NULL, NULL, 0);
	is_int(dkim_verifier_result(dk, 0)->result, DKIM_PASS, "the signature verifies");
	dkim_verifier_free(dk);
	env_close(&v);

	env_open(&v, seal);
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", m);
	is_int(r->action, VERDICT_ACCEPT, "mail that passes is accepted");
	is_str(r->arc_seal, "sealed", "and sealed");
	is_int(r->nadd, 4, "an ARC set above our A-R");
	is_str(r->add[3].name, "Authentication-Results", "our A-R last");
	buf_reset(&b);
	for (size_t i = 0; i < r->nadd; i++)
		buf_printf(&b, "%s:%s\r\n", r->add[i].name, r->add[i].value);
	buf_puts(&b, m);
	out = buf_steal(&b);
	av = averify(out, zone, NULL, NULL, 0);
	is_int(arc_verifier_result(av)->result, ARC_PASS, "the chain we made verifies");
	ok(strstr(r->add[2].value, "i=1; mx.test; spf=pass") != NULL, "its AAR is our A-R");
	arc_verifier_free(av);
	r = deliver(&v, "192.0.2.10", "<alice@good.example>", out);
	is_str(r->arc_seal, "ours", "a message we sealed already is not sealed again");
	r = deliver(&v, "203.0.113.5", "<x@elsewhere.test>", m);
	is_int(r->action, VERDICT_REJECT, "a forgery is refused");
	ok(r->arc_seal == NULL, "and not sealed");
	env_close(&v);
	free(out);
	free(m);
	unlink(seal[5]);
	unlink(strchr(entry, '/'));
}

static void
test_action_names(void)
{
	is_str(verdict_action_name(VERDICT_ACCEPT), "accept", "accept");
	is_str(verdict_action_name(VERDICT_REJECT), "reject", "reject");
	is_str(verdict_action_name(VERDICT_TEMPFAIL), "tempfail", "tempfail");
	is_str(verdict_action_name(VERDICT_QUARANTINE), "quarantine", "quarantine");
}

int
main(void)
{
	test_action_names();
	tkey_make(&key, "ED25519", 0);
	tkey_make(&list_key, "ED25519", 0);
	test_signed_message_passes();
	test_forgery_rejected_and_next_message_clean();
	test_report_mail_not_recorded();
	test_quarantine_hold_and_header_only();
	test_local_policy_lowers_reject();
	test_spf_fail_and_tempfail_rules();
	test_forged_authres_deleted_bottom_up();
	test_too_many_forged_authres_refused();
	test_trusted_and_authenticated_clients();
	test_from_policy_and_received_spf();
	test_error_verdicts();
	test_wsp_before_colon();
	test_arc_trusted_forwarder();
	test_sign_and_seal();
	EVP_PKEY_free(key.pkey);
	EVP_PKEY_free(list_key.pkey);
	return done_testing();
}
