/*
 * test-authres - the Authentication-Results writer and authserv-id reader.
 *
 * With a file name argument it also writes every sample header it checks
 * to that file, one per record separated by a line "--", for
 * tests/conformance/authres-parse.py to read back with python3-authres.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "tap.h"

static FILE *samples;

static void
check(const char *name, struct authres *w, const char *want)
{
	int rc = authres_end(w);

	is_int(rc, 0, "%s: written", name);
	is_str(w->out->data, want, "%s: exact value", name);
	if (samples != NULL)
		fprintf(samples, "%s\n%s: %s\n--\n", name, AUTHRES_FIELD, w->out->data);
}

static void
test_basic(void)
{
	struct buf b;
	struct authres w;

	buf_init(&b, 4096);
	authres_begin(&w, &b, "mx.example.net");
	check("no results", &w, "mx.example.net; none");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_spf(&w, "pass", false, "alice@example.com", NULL, NULL);
	check("spf mailfrom", &w,
	      "mx.example.net; spf=pass\r\n"
	      "\tsmtp.mailfrom=alice@example.com");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_spf(&w, "none", true, "mail.example.org", "no SPF record", NULL);
	check("spf helo with comment", &w,
	      "mx.example.net; spf=none (no SPF record)\r\n"
	      "\tsmtp.helo=mail.example.org");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_spf(&w, "fail", false, "\"odd user\"@example.com", NULL, "not permitted");
	check("spf quoted local-part and reason", &w,
	      "mx.example.net; spf=fail reason=\"not permitted\"\r\n"
	      "\tsmtp.mailfrom=\"odd user\"@example.com");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_spf(&w, "pass", false, "odd \"user@x.example", NULL, NULL);
	check("spf local-part with specials gets quoted", &w,
	      "mx.example.net; spf=pass\r\n"
	      "\tsmtp.mailfrom=\"odd \\\"user\"@x.example");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add(&w, "x-test", "pass", NULL, NULL,
	            &(struct authres_prop){"header", "x", "a;b c"}, 1);
	check("a value that is no token and no address", &w,
	      "mx.example.net; x-test=pass header.x=\"a;b c\"");
	buf_free(&b);
}

static void
test_dkim(void)
{
	const char *bv[] = {"abcdefghIJKLmnop", "abcdefghIJKxyz12", "zzzzzzzzzzzzzzzz"};
	struct authres_dkim sig = {.result = "pass",
	                           .d = "example.com",
	                           .s = "sel1",
	                           .i = "@example.com",
	                           .a = "rsa-sha256"};
	struct buf b;
	struct authres w;

	is_int(authres_b_prefix_len(bv, 1, 0), 0, "one signature: no header.b");
	is_int(authres_b_prefix_len(bv, 3, 0), 12, "shared prefix of 11: 12 characters");
	is_int(authres_b_prefix_len(bv, 3, 2), AUTHRES_B_MIN, "distinct: the minimum");

	buf_init(&b, 4096);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_dkim(&w, &sig);
	check("dkim one signature", &w,
	      "mx.example.net; dkim=pass header.d=example.com\r\n"
	      "\theader.s=sel1 header.i=@example.com header.a=rsa-sha256");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	sig.i = NULL;
	sig.a = NULL;
	sig.b = "ab/d+f=hijk";
	sig.b_len = 8;
	sig.comment = "2048-bit key";
	authres_add_dkim(&w, &sig);
	sig.result = "fail";
	sig.b = "Zb0d1f2hijk";
	sig.comment = NULL;
	sig.reason = "signature did not verify";
	authres_add_dkim(&w, &sig);
	check("dkim two signatures with header.b", &w,
	      "mx.example.net; dkim=pass (2048-bit key)\r\n"
	      "\theader.d=example.com header.s=sel1 header.b=\"ab/d+f=h\"; dkim=fail\r\n"
	      "\treason=\"signature did not verify\" header.d=example.com header.s=sel1\r\n"
	      "\theader.b=Zb0d1f2h");
	buf_free(&b);
}

static void
test_dmarc(void)
{
	struct buf b;
	struct authres w;

	buf_init(&b, 4096);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_dmarc(&w, "fail", "example.com", "reject", "reject", "quarantine", NULL);
	check("dmarc fail", &w,
	      "mx.example.net; dmarc=fail (p=reject dis=quarantine)\r\n"
	      "\theader.from=example.com policy.dmarc=reject");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_dmarc(&w, "fail", "example.com", "reject", "quarantine", "none", NULL);
	check("dmarc fail sampled out, then lowered locally", &w,
	      "mx.example.net; dmarc=fail (p=reject dis=none)\r\n"
	      "\theader.from=example.com policy.dmarc=quarantine");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_dmarc(&w, "none", "example.org", NULL, NULL, NULL, "no DMARC record");
	check("dmarc none", &w,
	      "mx.example.net; dmarc=none reason=\"no DMARC record\"\r\n"
	      "\theader.from=example.org");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_spf(&w, "pass", false, "bounces@mail.example.com", NULL, NULL);
	authres_add_dmarc(&w, "pass", "example.com", "none", "none", "none", NULL);
	check("spf and dmarc", &w,
	      "mx.example.net; spf=pass\r\n"
	      "\tsmtp.mailfrom=bounces@mail.example.com; dmarc=pass (p=none dis=none)\r\n"
	      "\theader.from=example.com policy.dmarc=none");
	buf_free(&b);
}

static void
test_hostile_values(void)
{
	struct buf b;
	struct authres w;

	buf_init(&b, 4096);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_spf(&w, "pass", true, "evil\r\nX-Injected: 1", "a (nested) comment\n", NULL);
	check("control characters cannot break the field", &w,
	      "mx.example.net; spf=pass (a \\(nested\\) comment?)\r\n"
	      "\tsmtp.helo=\"evil??X-Injected: 1\"");

	buf_reset(&b);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_spf(&w, "pass", false, "\xc3\xa9l\xc3\xa8ve@exemple.fr", NULL, NULL);
	check("UTF-8 local-part is quoted", &w,
	      "mx.example.net; spf=pass\r\n"
	      "\tsmtp.mailfrom=\"\xc3\xa9l\xc3\xa8ve\"@exemple.fr");
	buf_free(&b);

	buf_init(&b, 30);
	authres_begin(&w, &b, "mx.example.net");
	authres_add_dmarc(&w, "pass", "example.com", "none", "none", "none", NULL);
	is_int(authres_end(&w), -1, "a full buffer is reported");
	buf_free(&b);
}

static void
test_reader(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *id;
	} t[] = {
	    {" mx.example.net; spf=pass", 0, "mx.example.net"},
	    {"mx.example.net;none", 0, "mx.example.net"},
	    {" (comment (nested)) mx.example.net (x) 1 (y) ; dkim=pass", 0, "mx.example.net"},
	    {"\r\n\tmx.example.net\r\n\t1;", 0, "mx.example.net"},
	    {" \"quoted\\\"id\"; none", 0, "quoted\"id"},
	    {" MX.Example.NET ; none", 0, "MX.Example.NET"},
	    {" mx.example.net", -1, NULL},
	    {" ; spf=pass", -1, NULL},
	    {" mx.example.net spf=pass;", -1, NULL},
	    {" (unterminated comment mx.example.net;", -1, NULL},
	    {" \"unterminated; none", -1, NULL},
	    {" \"\"; none", -1, NULL},
	    {" (((((((((((((((((((((((((((((((((deep))))))))))))))))))))))))))))))))) a;", -1,
	     NULL},
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = authres_authserv_id(t[i].in, strlen(t[i].in), out, sizeof(out));
		is_int(rc, t[i].rc, "reader %zu: status", i);
		if (t[i].rc == 0)
			is_str(out, t[i].id, "reader %zu: authserv-id", i);
	}
	is_int(authres_authserv_id(" mx.example.net;", 16, out, 8), -1, "id longer than out");
	is_int(authres_authserv_id("a\0b;", 4, out, sizeof(out)), -1, "NUL ends the token");
	ok(authres_claims(" MX.example.net 1; none", 23, "mx.example.net"),
	   "claims: case-insensitive with version");
	ok(!authres_claims(" mx.example.net.evil; none", 26, "mx.example.net"),
	   "claims: another id");
	ok(authres_claims(" mx.example.net spf=pass", 24, "mx.example.net"),
	   "claims: our id without the \";\" still claims to be ours (RFC 8601 §5)");
	ok(authres_claims(" (c) \"mx.example.net\" x; dkim=pass", 34, "mx.example.net"),
	   "claims: quoted id before a bad version");
	ok(authres_claims(" mx.example.net", 15, "mx.example.net"), "claims: our id alone");
	/* No authserv-id can be read strictly, but a lenient reader could
	 * take ours from these: they are removed too. */
	ok(authres_claims(" (unterminated mx.example.net;", 30, "mx.example.net"),
	   "claims: our id in a comment never closed");
	ok(authres_claims(" ; mx.example.net", 17, "mx.example.net"),
	   "claims: no id first, ours later");
	ok(authres_claims(" ((((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))))) "
	                  "mx.example.net; dmarc=pass",
	                  97, "mx.example.net"),
	   "claims: comments nested past the bound before our id");
	ok(authres_claims(" (x\\) mx.example.net; dmarc=pass", 33, "mx.example.net"),
	   "claims: an escaped parenthesis leaving the comment open");
	ok(authres_claims(" (x) \"mx.exa\\mple.net\"", 23, "mx.example.net"),
	   "claims: quoted-pair inside a quoted id");
	ok(authres_claims(" (x mx.exa\r\n mple.net", 22, "mx.example.net") == false,
	   "claims: a line end does not join what a space still separates");
	ok(!authres_claims(" (x mx.example.network; dmarc=pass", 34, "mx.example.net"),
	   "claims: a longer token is not ours");
	ok(!authres_claims(" ( other.example; dkim=pass", 27, "mx.example.net"),
	   "claims: an unreadable field without our id stays");
}

static void
test_cfws_len(void)
{
	is_int(authres_cfws_len(" \t(a (nested) \\) c)\r\n x", 23), 22, "FWS and nested comments");
	is_int(authres_cfws_len("x", 1), 0, "none");
	is_int(authres_cfws_len(" (open", 6), -1, "a comment not closed");
}

struct seen {
	size_t n;
	struct authres_result_view r[8];
};

static void
collect(void *ctx, const struct authres_result_view *r)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->r[s->n++] = *r;
}

static void
test_parse(void)
{
	static const char aar[] =
	    " lists.example 1; (checked)\r\n\tdmarc=pass (p=reject) header.from=Bank.Example;\r\n"
	    "\tdkim=pass reason=\"good sig\" header.d=bank.example header.s=sel\r\n"
	    "\theader.b=abcd; spf / 1 = fail smtp.mailfrom=\"a b\"@bank.example;\r\n"
	    "\tarc=none";
	struct seen s = {0};

	is_int(authres_parse(aar, strlen(aar), collect, &s), 4, "four results");
	is_str(s.r[0].method, "dmarc", "dmarc");
	is_str(s.r[0].result, "pass", "pass");
	is_str(authres_result_prop(&s.r[0], "header", "from"), "Bank.Example", "header.from");
	is_str(authres_result_prop(&s.r[1], "HEADER", "D"), "bank.example", "header.d, any case");
	is_str(authres_result_prop(&s.r[1], "header", "s"), "sel", "header.s");
	ok(authres_result_prop(&s.r[1], "reason", "x") == NULL, "reason= is not a property");
	is_str(s.r[2].method, "spf", "method with a version");
	is_str(s.r[2].result, "fail", "its result");
	is_str(authres_result_prop(&s.r[2], "smtp", "mailfrom"), "a b@bank.example",
	       "an address with a quoted local-part");
	is_str(s.r[3].method, "arc", "the last result");
	s.n = 0;
	is_int(authres_parse(" mx.example; none", 17, collect, &s), 0, "no-result");
	is_int(authres_parse(" mx.example;", 12, collect, &s), -1, "a ; with nothing after");
	is_int(authres_parse(" mx.example; dkim", 17, collect, &s), -1, "a method without result");
	is_int(authres_parse(" mx.example; dkim=pass; spf=", 28, collect, &s), -1,
	       "a broken second result");
	is_int(s.n, 1, "the first was reported before the fault");
	is_int(authres_parse("", 0, collect, &s), -1, "empty");
}

int
main(int argc, char **argv)
{
	if (argc > 1 && (samples = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return 2;
	}
	test_basic();
	test_dkim();
	test_dmarc();
	test_hostile_values();
	test_reader();
	test_cfws_len();
	test_parse();
	if (samples != NULL)
		fclose(samples);
	return done_testing();
}
