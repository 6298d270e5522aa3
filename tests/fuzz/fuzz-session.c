/*
 * fuzz-session - no header block turns a forged p=reject message into
 * accept.
 *
 * The message always carries one fixed field, "From: ceo@bank.example",
 * and bank.example publishes p=reject.  The sender (192.0.2.77, MAIL FROM
 * attacker@evil.example, whose SPF passes) cannot authenticate
 * bank.example: it has no key of the bank's.  The fuzzer writes every
 * other header field: the input (its first byte chooses where our From
 * goes and whether the session gets raw bytes or fields one by one) is
 * made into header lines, our From is put among them, and whatever the
 * lines hold, the verdict must be reject.
 *
 * The input is kept a header block: blank lines are removed (our From must
 * stay above the body) and the line after our From cannot start with WSP
 * (it would continue our field and so change the author, which is not a
 * forgery of bank.example but another message).
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "dns_zone.h"
#include "msg.h"
#include "session.h"

#define FUZZ_FROM "From: ceo@bank.example\r\n"

static const char fuzz_zone[] = "$ORIGIN example.\n$TTL 300\n"
                                "@ SOA ns.example. host.example. 1 3600 600 86400 300\n"
                                "bank IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
                                "_dmarc.bank IN TXT \"v=DMARC1; p=reject\"\n"
                                "evil IN TXT \"v=spf1 ip4:192.0.2.77 -all\"\n"
                                "_dmarc.evil IN TXT \"v=DMARC1; p=none\"\n";

struct fuzz_env {
	struct policy_config *cfg;
	struct dns_resolver *r;
	struct session_engines *e;
	struct session *s;
};

static struct fuzz_env *
fuzz_env(void)
{
	static struct fuzz_env env;

	if (env.s != NULL)
		return &env;
	if ((env.cfg = config_new(NULL)) == NULL ||
	    config_set(env.cfg, "authserv_id", "mx.test", NULL) < 0 ||
	    config_set(env.cfg, "trusted_networks", "", NULL) < 0 ||
	    config_set(env.cfg, "max_headers", "50", NULL) < 0 ||
	    config_set(env.cfg, "max_header_bytes", "4k", NULL) < 0 ||
	    (env.r = dns_zone_new(NULL)) == NULL ||
	    dns_zone_load_string(env.r, fuzz_zone, NULL, NULL) < 0 ||
	    dns_zone_add_fail(env.r, "_dmarc.slow.evil.example/TXT", NULL) < 0 ||
	    (env.e = session_engines_new(env.cfg, env.r, NULL, NULL)) == NULL ||
	    (env.s = session_new(env.cfg, env.e, NULL)) == NULL)
		abort();
	return &env;
}

/* The input as header lines (no blank line), with our From after the
 * first at lines; the message ends with a blank line and a body. */
static void
fuzz_message(const uint8_t *data, size_t size, size_t at, struct buf *m)
{
	size_t line = 0, i;
	bool bol = true;

	if (at == 0)
		buf_puts(m, FUZZ_FROM);
	for (i = 0; i < size; i++) {
		char c = (char)data[i];

		if (bol && (c == '\n' || (c == '\r' && i + 1 < size && data[i + 1] == '\n')))
			continue;
		if (bol && line == at && (c == ' ' || c == '\t'))
			buf_putc(m, 'X');
		buf_putc(m, c);
		bol = c == '\n';
		if (bol && ++line == at)
			buf_puts(m, FUZZ_FROM);
	}
	if (!bol)
		buf_puts(m, "\r\n");
	if (line < at)
		buf_puts(m, FUZZ_FROM);
	buf_puts(m, "\r\nPay now.\r\n");
}

struct fuzz_split {
	struct msg_headers *h;
	const char *body;
	size_t body_len;
};

static int
fuzz_eoh(void *ctx, struct auth_error *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

static int
fuzz_field(void *ctx, const struct msg_field *f, struct auth_error *err)
{
	return msg_headers_add_field(((struct fuzz_split *)ctx)->h, f, err);
}

static int
fuzz_body(void *ctx, const char *p, size_t n, struct auth_error *err)
{
	struct fuzz_split *sp = ctx;

	(void)err;
	if (sp->body == NULL) {
		sp->body = p;
		sp->body_len = n;
	}
	return 0;
}

/* Field by field, as an MTA passes them to a milter: the name up to the
 * colon.  A line that is no field is left out (an MTA would end the
 * header block there, and our From after it would not be a header). */
static void
fuzz_fields(struct session *s, const struct buf *m)
{
	static const struct msg_parser_ops ops = {fuzz_field, fuzz_eoh, fuzz_body};
	struct fuzz_split sp = {msg_headers_new(), NULL, 0};
	struct msg_parser *p = msg_parser_new(&ops, &sp, 0);
	size_t i;

	if (sp.h == NULL || p == NULL || msg_parser_feed(p, m->data, m->len, NULL) < 0 ||
	    msg_parser_finish(p, NULL) < 0)
		abort();
	for (i = 0; i < msg_headers_count(sp.h); i++) {
		const struct msg_field *f = msg_headers_get(sp.h, i);

		if (f->value_off == 0)
			continue;
		(void)session_header(s, f->raw, f->value_off - 1, f->raw + f->value_off,
		                     f->raw_len - f->value_off, NULL);
	}
	(void)session_eoh(s, NULL);
	if (sp.body != NULL)
		(void)session_body(s, sp.body, sp.body_len, NULL);
	msg_parser_free(p);
	msg_headers_free(sp.h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_env *env = fuzz_env();
	const struct verdict *v;
	struct buf m;

	if (size == 0)
		return 0;
	buf_init(&m, 1 << 22);
	fuzz_message(data + 1, size - 1, data[0] % 8, &m);
	if (session_connect(env->s, "192.0.2.77", NULL, NULL) < 0 ||
	    session_helo(env->s, "evil.example", NULL) < 0 ||
	    session_mail_from(env->s, "<attacker@evil.example>", NULL) < 0 ||
	    session_rcpt(env->s, "<ceo@mx.test>", NULL) < 0)
		abort();
	if (data[0] & 0x80)
		fuzz_fields(env->s, &m);
	else
		(void)session_data(env->s, m.data, m.len, NULL);
	if (session_eom(env->s, &v, NULL) < 0)
		v = session_error_verdict(env->s);
	if (v->action != VERDICT_REJECT)
		abort();
	session_reset(env->s);
	buf_free(&m);
	return 0;
}
