/*
 * test-dkim-sign - the signer: the exact field it makes, its folding, its
 * options, and what it refuses.
 */
#include "autoconf.h"

#include "dkim-util.h"
#include "tap.h"

#define NOW 1700000000

static const char msg[] = "From: a@example.com\r\nTo: b@example.net\r\nTo: c@example.net\r\n"
                          "Subject: hi\r\n\r\nHello.\r\n\r\n";

static struct tkey ed, rsa;

/* The field alone (the first line of tsign's output up to the message). */
static char *
field_of(const struct tkey *k, const struct dkim_sign_opts *o)
{
	char *s = tsign(k, o, msg);
	char *at;

	if (s == NULL)
		return NULL;
	at = strstr(s, "\r\nFrom: a@example.com");
	*at = '\0';
	return s;
}

static int
max_line(const char *s)
{
	int max = 0, cur = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			cur = 0;
			continue;
		}
		/* A tab counts to the next multiple of 8. */
		cur = *s == '\t' ? (cur / 8 + 1) * 8 : cur + (*s != '\r');
		if (cur > max)
			max = cur;
	}
	return max;
}

/* Removes each CRLF TAB, in place. */
static void
unfold(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\r' && r[1] == '\n' && r[2] == '\t') {
			r += 2;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
}

static void
test_field(void)
{
	static const char want[] =
	    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/simple; d=example.com;\r\n"
	    "\ts=sel; t=1700000000; h=from:from:to:to:subject;\r\n"
	    "\tbh=yZQq1c8wjBl0fZ4Wc/oraMCAG1mZJv5v/hlvyFy+t6A=; b=";
	struct dkim_sign_opts o = {0};
	char *f;

	o.domain = "example.com";
	o.selector = "sel";
	o.hcanon = DKIM_CANON_RELAXED;
	o.bcanon = DKIM_CANON_SIMPLE;
	o.headers = "from:to:subject:date";
	o.now = NOW;
	f = field_of(&ed, &o);
	ok(f != NULL, "signed");
	is_mem(f, strlen(want), want, strlen(want), "exact field up to b=");
	is_int(max_line(f), 76, "lines fold at 76 columns");
	free(f);

	o.oversign = "from:to:subject:date";
	o.body_length = 1;
	o.expire = 600;
	o.identity = "a@mail.example.com";
	f = field_of(&rsa, &o);
	ok(max_line(f) <= 76, "RSA field folds at 76 columns too");
	unfold(f);
	ok(strstr(f, "a=rsa-sha256;") != NULL, "RSA key: rsa-sha256");
	ok(strstr(f, "s=sel;i=a@mail.example.com; ") != NULL, "i=");
	ok(strstr(f, " x=1700000600;") != NULL, "x= is t= plus the expiry");
	ok(strstr(f, " l=8;") != NULL, "l= is the canonical body length");
	ok(strstr(f, " h=from:from:to:to:to:subject:subject:date;") != NULL,
	   "oversigning lists each name once more than it occurs");
	free(f);
}

/* Zeroed options: relaxed/relaxed, RFC 6376 §5.4.1's fields as they
 * occur, From once more; and the signature verifies. */
static void
test_defaults(void)
{
	static const char text[] = "Received: from x by y\r\nFrom: a@example.com\r\n"
	                           "Resent-From: r@example.com\r\nList-Id: <l.example.com>\r\n"
	                           "Reply-To: z@example.com\r\nX-Other: 1\r\nSubject: hi\r\n"
	                           "\r\nHello.\r\n";
	struct dkim_sign_opts o = {.domain = "example.com", .selector = "ed", .now = NOW};
	struct dkim_verify_opts vo = {.now = NOW};
	char zone[4096], *s, *f;
	struct dkim_verifier *v;

	snprintf(zone, sizeof(zone),
	         "ed._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=ed25519; p=%s\"\n", ed.pub);
	s = tsign(&ed, &o, text);
	f = strndup(s, (size_t)(strstr(s, "\r\nReceived:") - s));
	unfold(f);
	ok(strstr(f, " c=relaxed/relaxed;") != NULL, "relaxed/relaxed by default");
	ok(strstr(f, " h=from:from:reply-to:subject:resent-from:list-id;") != NULL,
	   "the default fields present, From oversigned (%s)", f);
	v = tverify(s, zone, NULL, &vo, 0);
	is_str(dkim_result_name(dkim_verifier_result(v, 0)->result), "pass", "and it verifies");
	dkim_verifier_free(v);
	o.oversign = "";
	free(s);
	free(f);
	s = tsign(&ed, &o, text);
	ok(strstr(s, " h=from:reply-to:subject:resent-from:list-id;") != NULL,
	   "oversigning nothing");
	free(s);
}

static void
test_refusals(void)
{
	struct dkim_sign_opts o = {0};
	struct auth_error err = {0};
	struct tmsg m;
	char *f = NULL;
	struct dkim_signer *s;

	o.domain = "example.com";
	o.selector = "sel";
	ok(dkim_signer_new("junk", 4, &o, &err) == NULL, "not a PEM key");
	is_int(err.code, AUTH_ESYNTAX, "not a PEM key: syntax");
	o.domain = "exa mple.com";
	ok(dkim_signer_new(ed.pem, strlen(ed.pem), &o, &err) == NULL, "bad domain");
	is_int(err.code, AUTH_EINVAL, "bad domain: invalid");
	o.domain = "example.com";
	o.identity = "a@example.org";
	ok(dkim_signer_new(ed.pem, strlen(ed.pem), &o, &err) == NULL, "i= outside d=");
	o.identity = NULL;
	o.headers = "to:subject";
	s = dkim_signer_new(ed.pem, strlen(ed.pem), &o, &err);
	tmsg_parse(&m, msg, strlen(msg));
	is_int(dkim_signer_finish(s, m.h, &f, &err), -1, "a header list without From");
	is_str(err.msg, "the header list must include From", "without From: message");
	dkim_signer_free(s);
	o.headers = "from::to";
	s = dkim_signer_new(ed.pem, strlen(ed.pem), &o, &err);
	is_int(dkim_signer_finish(s, m.h, &f, &err), -1, "an empty name in the list");
	dkim_signer_free(s);
	tmsg_free(&m);
}

int
main(void)
{
	tkey_make(&ed, "ED25519", 0);
	tkey_make(&rsa, "RSA", 2048);
	test_field();
	test_defaults();
	test_refusals();
	EVP_PKEY_free(ed.pkey);
	EVP_PKEY_free(rsa.pkey);
	return done_testing();
}
