/*
 * test-forgery - a forged p=reject message is refused whatever else it
 * carries.
 *
 * bank.example publishes p=reject; the forger sends from 203.0.113.9 as
 * attacker@evil.example, whose SPF passes and whose DKIM key it holds, so
 * it can authenticate everything but bank.example.  Every case puts
 * "From: ceo@bank.example" on a message and adds one trick; each goes
 * through the session both as raw bytes (the SMTP listener, authcheck) and
 * field by field (the milter), and must be refused, with the forged
 * Authentication-Results deleted and our own written.  The last cases
 * are the other side: a genuine bank.example message must not be refused
 * because a look-up failed.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "dkim-util.h"
#include "dns_zone.h"
#include "msg.h"
#include "session.h"
#include "tap.h"

#define FORGER_IP "192.0.2.77"
#define FORGER_IP_EVIL "203.0.113.9"
#define FORGER_MAIL_FROM "<attacker@evil.example>"
#define FORGED_AR "Authentication-Results: mx.test; dmarc=pass header.from=bank.example\r\n"

static struct tkey bank_key, evil_key;

static const char zone_fmt[] = "$ORIGIN example.\n$TTL 300\n"
                               "@ SOA ns.example. host.example. 1 3600 600 86400 300\n"
                               "bank IN TXT \"v=spf1 ip4:192.0.2.0/25 -all\"\n"
                               "_dmarc.bank IN TXT \"v=DMARC1; p=reject\"\n"
                               "sel._domainkey.bank IN TXT \"v=DKIM1; k=ed25519; p=%s\"\n"
                               "evil IN TXT \"v=spf1 ip4:203.0.113.0/24 ip4:192.0.2.77 -all\"\n"
                               "sel._domainkey.evil IN TXT \"v=DKIM1; k=ed25519; p=%s\"\n"
                               "_dmarc.evil IN TXT \"v=DMARC1; p=none\"\n"
                               "mx.test. IN A 192.0.2.1\n";

struct env {
	struct policy_config *cfg;
	struct dns_resolver *r;
	struct session_engines *e;
	struct session *s;
};

/* Names the forger controls and lets time out, and one of the bank's. */
static const char *const slow_names[] = {
    "_dmarc.evil.example/TXT",
    "slowkey._domainkey.evil.example/TXT",
    "slowkey._domainkey.bank.example/TXT",
    NULL,
};

static void
env_open(struct env *v, const char *const *settings)
{
	char zone[8192];
	const char *const *n;

	v->cfg = config_new(NULL);
	config_set(v->cfg, "authserv_id", "mx.test", NULL);
	config_set(v->cfg, "trusted_networks", "", NULL);
	for (; settings != NULL && *settings != NULL; settings += 2)
		if (config_set(v->cfg, settings[0], settings[1], NULL) < 0)
			abort();
	snprintf(zone, sizeof(zone), zone_fmt, bank_key.pub, evil_key.pub);
	v->r = dns_zone_new(NULL);
	if (dns_zone_load_string(v->r, zone, NULL, NULL) < 0)
		abort();
	for (n = slow_names; *n != NULL; n++)
		dns_zone_add_fail(v->r, *n, NULL);
	v->e = session_engines_new(v->cfg, v->r, NULL, NULL);
	v->s = session_new(v->cfg, v->e, NULL);
	if (v->s == NULL)
		abort();
}

static void
env_close(struct env *v)
{
	session_free(v->s);
	session_engines_free(v->e);
	dns_resolver_free(v->r);
	config_free(v->cfg);
}

static void
envelope(struct env *v, const char *ip, const char *mail_from)
{
	if (session_connect(v->s, ip, NULL, NULL) < 0 ||
	    session_helo(v->s, "evil.example", NULL) < 0 ||
	    session_mail_from(v->s, mail_from, NULL) < 0 ||
	    session_rcpt(v->s, "<ceo@mx.test>", NULL) < 0)
		abort();
}

static const struct verdict *
eom(struct env *v)
{
	const struct verdict *out = NULL;

	if (session_eom(v->s, &out, NULL) < 0)
		out = session_error_verdict(v->s);
	return out;
}

/* The raw message in 3-byte chunks, as the SMTP listener gives it. */
static const struct verdict *
send_raw(struct env *v, const char *ip, const char *mail_from, const char *m, size_t len)
{
	envelope(v, ip, mail_from);
	for (size_t i = 0; i < len; i += 3)
		(void)session_data(v->s, m + i, len - i < 3 ? len - i : 3, NULL);
	return eom(v);
}

/* Field by field, the name up to the colon (WSP included), as the milter
 * gets it; the MTA ends the header block where a line is no field. */
static const struct verdict *
send_fields(struct env *v, const char *ip, const char *mail_from, const char *m, size_t len)
{
	struct tmsg t;
	size_t i;

	envelope(v, ip, mail_from);
	tmsg_parse(&t, m, len);
	for (i = 0; i < msg_headers_count(t.h); i++) {
		const struct msg_field *f = msg_headers_get(t.h, i);

		if (f->value_off > 0)
			(void)session_header(v->s, f->raw, f->value_off - 1, f->raw + f->value_off,
			                     f->raw_len - f->value_off, NULL);
	}
	(void)session_eoh(v->s, NULL);
	(void)session_body(v->s, t.body, t.body_len, NULL);
	tmsg_free(&t);
	return eom(v);
}

static bool
has(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

/* Refused, every forged field claiming mx.test deleted, ours written
 * with no line end but its folding. */
static void
refused(const struct verdict *r, size_t forged, const char *how, const char *what)
{
	const char *ar = r->nadd > 0 ? r->add[0].value : NULL;
	bool clean = ar != NULL;

	for (const char *p = ar; p != NULL && *p != '\0'; p++)
		if ((*p == '\r' && (p[1] != '\n' || p[2] != '\t')) ||
		    (*p == '\n' && p[1] != '\t') || (unsigned char)*p == 0x7f ||
		    ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n'))
			clean = false;
	is_int(r->action, VERDICT_REJECT, "%s (%s): refused", what, how);
	is_int(r->ndel, forged, "%s (%s): forged A-R deleted", what, how);
	ok(clean && has(ar, " mx.test;"), "%s (%s): our A-R written, clean", what, how);
}

static void
both(struct env *v, const char *m, size_t forged, const char *what)
{
	size_t len = strlen(m);

	refused(send_raw(v, FORGER_IP_EVIL, FORGER_MAIL_FROM, m, len), forged, "raw", what);
	refused(send_fields(v, FORGER_IP_EVIL, FORGER_MAIL_FROM, m, len), forged, "fields", what);
}

/* "From: ceo@bank.example" with extra header text before and after it. */
static char *
forged(const char *before, const char *after)
{
	struct buf b;

	buf_init(&b, 1 << 24);
	buf_puts(&b, FORGED_AR);
	buf_puts(&b, before);
	buf_puts(&b, "From: ceo@bank.example\r\n");
	buf_puts(&b, after);
	buf_puts(&b, "Subject: urgent\r\n\r\nPay now.\r\n");
	return buf_steal(&b);
}

static void
test_header_limits(struct env *v)
{
	struct buf many, big;
	char *m;

	buf_init(&many, 1 << 24);
	for (int i = 0; i < 1200; i++)
		buf_printf(&many, "X-Filler-%d: v\r\n", i);
	m = forged(many.data, "");
	both(v, m, 1, "From after more fields than max_headers");
	free(m);
	m = forged("", many.data);
	both(v, m, 1, "From before more fields than max_headers");
	free(m);
	buf_init(&big, 1 << 24);
	for (int i = 0; i < 20; i++) {
		buf_printf(&big, "X-Big-%d: ", i);
		for (int k = 0; k < 60000; k++)
			buf_putc(&big, 'y');
		buf_puts(&big, "\r\n");
	}
	m = forged(big.data, "");
	both(v, m, 1, "a header block over max_header_bytes");
	free(m);
	buf_free(&many);
	buf_free(&big);
}

static void
test_names(struct env *v)
{
	struct buf b;
	char *m;

	m = forged("", "");
	*strstr(m, "From: ceo") = '\0';
	{
		char *w = NULL;
		struct buf t;

		buf_init(&t, 1 << 16);
		buf_printf(&t, "%sFrom : ceo@bank.example\r\nSubject: s\r\n\r\nx\r\n", m);
		w = buf_steal(&t);
		both(v, w, 1, "From with a space before the colon");
		free(w);
		buf_init(&t, 1 << 16);
		buf_printf(&t, "%sFrom\t \t: ceo@bank.example\r\nSubject: s\r\n\r\nx\r\n", m);
		w = buf_steal(&t);
		both(v, w, 1, "From with tabs before the colon");
		free(w);
	}
	free(m);
	buf_init(&b, 1 << 16);
	buf_puts(&b, "X-");
	for (int i = 0; i < 2000; i++)
		buf_putc(&b, 'n');
	buf_puts(&b, ": v\r\n");
	m = forged(b.data, "");
	both(v, m, 1, "a field name of 2002 bytes");
	free(m);
	m = forged("not a header line\r\n", "");
	both(v, m, 1, "a line that is no field before From");
	free(m);
	buf_free(&b);
}

static void
test_dkim_flood(struct env *v)
{
	struct buf b;
	char label[64], *m;

	memset(label, 'z', 63);
	label[63] = '\0';
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 60; i++)
		buf_printf(&b,
		           "DKIM-Signature: v=1; a=rsa-sha256; d=%s%d.%s.evil.example; s=%s.%s; "
		           "i=@%s%d.%s.evil.example; h=from; bh=AAAA; b=%dBBBBBBBBBBBBBBBB\r\n",
		           label, i, label, label, label, label, i, label, i);
	m = forged(b.data, "");
	both(v, m, 1, "60 DKIM-Signature fields with long d=, s=, i=");
	free(m);
	buf_free(&b);
}

/* The forger's own domain passes SPF or DKIM; its _dmarc times out. */
static void
test_sender_dns_failures(void)
{
	static const char *const defer[] = {"on_dns_tempfail", "tempfail", NULL};
	struct dkim_sign_opts o = {.domain = "evil.example", .selector = "sel"};
	struct dkim_sign_opts slow = {.domain = "evil.example", .selector = "slowkey"};
	struct env v;
	char *m = forged("", ""), *signed_evil = tsign(&evil_key, &o, m);
	char *slow_sig = tsign(&evil_key, &slow, m);

	for (int pass = 0; pass < 2; pass++) {
		const char *mode = pass ? "on_dns_tempfail tempfail" : "default";
		const struct verdict *r;

		env_open(&v, pass ? defer : NULL);
		r = send_raw(&v, FORGER_IP_EVIL, FORGER_MAIL_FROM, m, strlen(m));
		is_int(r->action, VERDICT_REJECT,
		       "%s: SPF pass for evil, its _dmarc times out: refused", mode);
		is_str(r->dmarc_result, "fail", "%s: dmarc=fail, not temperror", mode);
		r = send_raw(&v, "198.51.100.1", "<x@nowhere.invalid>", signed_evil,
		             strlen(signed_evil));
		is_str(r->dkim_summary, "pass(evil.example)", "%s: a valid evil.example signature",
		       mode);
		is_int(r->action, VERDICT_REJECT,
		       "%s: DKIM pass for evil, its _dmarc times out: refused", mode);
		r = send_raw(&v, FORGER_IP_EVIL, FORGER_MAIL_FROM, slow_sig, strlen(slow_sig));
		is_str(r->dkim_summary, "temperror(evil.example)", "%s: evil's own key times out",
		       mode);
		is_int(r->action, VERDICT_REJECT,
		       "%s: an unrelated temporary failure keeps the 550", mode);
		env_close(&v);
	}
	free(m);
	free(signed_evil);
	free(slow_sig);
}

/* A genuine bank.example message forwarded (SPF does not align) whose
 * key look-up times out is never answered 550. */
static void
test_forwarded_key_timeout(void)
{
	static const char *const defer[] = {"on_dns_tempfail", "tempfail", NULL};
	struct dkim_sign_opts o = {.domain = "bank.example", .selector = "slowkey"};
	char *m = tsign(&bank_key, &o, "From: ceo@bank.example\r\nSubject: s\r\n\r\nhi\r\n");
	const struct verdict *r;
	struct env v;

	env_open(&v, NULL);
	r = send_raw(&v, "198.51.100.7", "<list@forwarder.example>", m, strlen(m));
	is_str(r->dkim_summary, "temperror(bank.example)", "forwarded: the bank's key times out");
	is_str(r->dmarc_result, "temperror", "so DMARC is temperror, not fail");
	is_int(r->action, VERDICT_ACCEPT, "and by default it is accepted, not refused");
	env_close(&v);
	env_open(&v, defer);
	r = send_raw(&v, "198.51.100.7", "<list@forwarder.example>", m, strlen(m));
	is_int(r->action, VERDICT_TEMPFAIL, "with on_dns_tempfail tempfail: 451, to retry");
	is_int(r->smtp_code, 451, "451");
	env_close(&v);
	free(m);
}

static void
test_envelope_injection(struct env *v)
{
	static const char *const senders[] = {
	    "<\"\\\r\"@evil.example>",
	    "<\"\\\n\"@evil.example>",
	    "<\"a\\\r\nFrom: x\"@evil.example>",
	    "<a\r\nAuthentication-Results: mx.test; dmarc=pass@evil.example>",
	};
	char *m = forged("", "");

	for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		const struct verdict *r = send_raw(v, FORGER_IP_EVIL, senders[i], m, strlen(m));

		refused(r, 1, "raw", "a CR or LF in MAIL FROM");
	}
	free(m);
}

static void
test_author_tricks(struct env *v)
{
	static const struct {
		const char *before, *after, *what;
	} cases[] = {
	    {"From: alice@evil.example\r\n", "", "two From fields, ours second"},
	    {"", "From: alice@evil.example\r\n", "two From fields, ours first"},
	    {"Sender: alice@evil.example\r\n", "", "Sender by the forger, From the bank"},
	    {"", "Resent-From: alice@evil.example\r\n", "Resent-From by the forger"},
	    {"X-A: b\rFrom: alice@evil.example\r\n", "", "a From hidden behind a bare CR"},
	    {"X-A: b\nFrom: alice@evil.example\r\n", "", "a From behind a bare LF"},
	    {"X-A: b\rAuthentication-Results: mx.test; dmarc=pass\r\n", "",
	     "our A-R hidden behind a bare CR"},
	};
	char *m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = forged(cases[i].before, cases[i].after);
		refused(send_raw(v, FORGER_IP_EVIL, FORGER_MAIL_FROM, m, strlen(m)), 1, "raw",
		        cases[i].what);
		free(m);
	}
}

/* From fields written so that a reader might see another author. */
static void
test_from_syntax(struct env *v)
{
	static const char *const froms[] = {
	    "From: =?utf-8?q?alice=40evil=2Eexample?= <ceo@bank.example>\r\n",
	    "From: \"alice@evil.example\" <ceo@bank.example>\r\n",
	    "From: ceo@bank.example, alice@evil.example\r\n",
	    "From: alice@evil.example, ceo@bank.example\r\n",
	    "From: Team: ceo@bank.example;\r\n",
	    "From: ceo@bank.example\r\n (comment\r\n",
	    "From: <ceo@bank.example\r\n",
	    "From: ceo@bank.example\0alice@evil.example\r\n",
	    "From: =?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?=\r\n",
	};

	for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		char m[1024];
		size_t n = 0, flen = strlen(froms[i]);

		/* The NUL case: its length is taken past the NUL. */
		if (i == 7)
			flen = sizeof("From: ceo@bank.example\0alice@evil.example\r\n") - 1;
		n += (size_t)snprintf(m, sizeof(m), "%s", FORGED_AR);
		memcpy(m + n, froms[i], flen);
		n += flen;
		n += (size_t)snprintf(m + n, sizeof(m) - n, "Subject: s\r\n\r\nx\r\n");
		char what[32];

		snprintf(what, sizeof(what), "From syntax case %zu", i);
		refused(send_raw(v, FORGER_IP_EVIL, FORGER_MAIL_FROM, m, n), 1, "raw", what);
	}
}

static void
test_authres_floods(struct env *v)
{
	static const char *const odd[] = {
	    "Authentication-Results: (unterminated mx.test; dmarc=pass\r\n",
	    "Authentication-Results: "
	    "((((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))"
	    ")))))) mx.test; dmarc=pass\r\n",
	    "Authentication-Results: \"mx\\.test\"; dmarc=pass\r\n",
	    "Authentication-Results : mx.test; dmarc=pass\r\n",
	    "authentication-results: MX.TEST; dmarc=pass\r\n",
	};
	struct buf b;
	char *m;

	buf_init(&b, 1 << 20);
	for (int i = 0; i < 500; i++)
		buf_printf(&b, "Authentication-Results: mx.test; dmarc=pass header.from=bank%d\r\n",
		           i);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		buf_puts(&b, odd[i]);
	buf_puts(&b, "Authentication-Results: other.example; dmarc=pass\r\n");
	m = forged(b.data, "");
	both(v, m, 1 + 500 + sizeof(odd) / sizeof(odd[0]), "500 forged A-R fields and odd ones");
	free(m);
	buf_free(&b);
}

/* A bank.example signature whose h= leaves From out (RFC 6376 §5.4: From
 * MUST be signed); the signer refuses to make one, so h= is rewritten. */
static void
test_signature_not_covering_from(struct env *v)
{
	struct dkim_sign_opts o = {
	    .domain = "bank.example", .selector = "sel", .headers = "from:subject", .oversign = ""};
	char *m =
	    tsign(&bank_key, &o, FORGED_AR "From: ceo@bank.example\r\nSubject: s\r\n\r\nhi\r\n");
	char *h = m != NULL ? strstr(m, "h=from:subject;") : NULL;
	const struct verdict *r;

	ok(h != NULL, "signed with h=from:subject");
	if (h == NULL)
		return;
	memmove(h + 10, h + 15, strlen(h + 15) + 1); /* "h=from:subject;" to "h=subject;" */
	memcpy(h, "h=subject;", 10);
	r = send_raw(v, FORGER_IP_EVIL, FORGER_MAIL_FROM, m, strlen(m));
	is_str(r->dkim_summary, "permerror(bank.example)",
	       "a signature not covering From: permerror");
	both(v, m, 1, "a bank.example signature that does not cover From");
	free(m);
}

static void
test_from_over_reserve(struct env *v)
{
	struct buf b;
	char *m;

	buf_init(&b, 1 << 22);
	buf_puts(&b, "X-Pad: ");
	for (int i = 0; i < 1100000; i++)
		buf_putc(&b, 'p');
	buf_puts(&b, "\r\n");
	m = forged("", b.data);
	both(v, m, 1, "a field longer than max_header_bytes after From");
	free(m);
	buf_reset(&b);
	buf_puts(&b, "From: ceo@bank.example (");
	for (int i = 0; i < 1100000; i++)
		buf_putc(&b, 'c');
	buf_puts(&b, ")\r\n");
	m = forged("", b.data);
	both(v, m, 1, "a From longer than max_header_bytes");
	free(m);
	buf_free(&b);
}

int
main(void)
{
	struct env v;

	tkey_make(&bank_key, "ED25519", 0);
	tkey_make(&evil_key, "ED25519", 0);
	env_open(&v, NULL);
	test_header_limits(&v);
	test_names(&v);
	test_dkim_flood(&v);
	test_envelope_injection(&v);
	test_author_tricks(&v);
	test_from_syntax(&v);
	test_authres_floods(&v);
	test_signature_not_covering_from(&v);
	test_from_over_reserve(&v);
	env_close(&v);
	test_sender_dns_failures();
	test_forwarded_key_timeout();
	EVP_PKEY_free(bank_key.pkey);
	EVP_PKEY_free(evil_key.pkey);
	return done_testing();
}
