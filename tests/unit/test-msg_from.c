/*
 * test-msg_from - the RFC5322.From domain: every address-list form, IDNA,
 * DNS name checks, hostile input, and several From fields.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "tap.h"

#define V(lit) lit, sizeof(lit) - 1

struct from_case {
	const char *value;
	size_t len;
	enum msg_from_status status;
	const char *domains[3];
	bool ulabel;
};

static const struct from_case cases[] = {
    /* One mailbox. */
    {V("a@example.com"), MSG_FROM_OK, {"example.com"}, false},
    {V(" user@Example.COM"), MSG_FROM_OK, {"example.com"}, false},
    {V("John Doe <john@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("\"Doe, John\" <john@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("\"user@evil.example\" <me@good.example>"), MSG_FROM_OK, {"good.example"}, false},
    {V("\"a\\\"b <x@evil.example>\" <x@good.example>"), MSG_FROM_OK, {"good.example"}, false},
    {V("<john@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("john@example.com (John Doe)"), MSG_FROM_OK, {"example.com"}, false},
    {V("(c) john@example.com"), MSG_FROM_OK, {"example.com"}, false},
    {V("J (nested (x@evil.example \\) here) y) <j@example.com>"),
     MSG_FROM_OK,
     {"example.com"},
     false},
    {V("j(c)@(c)example.com(c)"), MSG_FROM_OK, {"example.com"}, false},
    {V("\"quoted@local\"@example.com"), MSG_FROM_OK, {"example.com"}, false},
    {V("\"a\\\"@b\\\\\"@example.com"), MSG_FROM_OK, {"example.com"}, false},
    {V("john..doe@example.com"), MSG_FROM_OK, {"example.com"}, false},
    {V(".john.@example.com"), MSG_FROM_OK, {"example.com"}, false},
    {V("john @ example . com"), MSG_FROM_OK, {"example.com"}, false},
    {V("a@x.example (c)\r\n (d) .example"), MSG_FROM_OK, {"x.example.example"}, false},
    {V("john@example.com."), MSG_FROM_OK, {"example.com"}, false},
    {V("<john@example.com.>"), MSG_FROM_OK, {"example.com"}, false},
    {V("<@relay.example,@r2.example:user@real.example>"), MSG_FROM_OK, {"real.example"}, false},
    {V("Name <@relay.example,,@[1.2.3.4]:user@real.example>"),
     MSG_FROM_OK,
     {"real.example"},
     false},
    {V("John Q. Public <jqp@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("a@EXAMPLE.com\r\n (folded comment)"), MSG_FROM_OK, {"example.com"}, false},
    {V("John\r\n <j@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("John\n\t<j@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("user@sub_domain.example.com"), MSG_FROM_OK, {"sub_domain.example.com"}, false},
    {V("=?utf-8?q?J=C3=B6rg?= <j@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("J\xc3\xb6rg <j@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("J\xff <j@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("\"\x01\x7f\" <j@example.com>"), MSG_FROM_OK, {"example.com"}, false},
    {V("a@example.com,"), MSG_FROM_OK, {"example.com"}, false},
    {V("@example.com"), MSG_FROM_OK, {"example.com"}, false},
    /* IDNA. */
    {V("a@B\xc3\xbc"
       "cher.example"),
     MSG_FROM_OK,
     {"xn--bcher-kva.example"},
     true},
    {V("a@xn--bcher-kva.example"), MSG_FROM_OK, {"xn--bcher-kva.example"}, false},
    {V("a@XN--BCHER-KVA.EXAMPLE"), MSG_FROM_OK, {"xn--bcher-kva.example"}, false},
    {V("a@stra\xc3\x9f"
       "e.de"),
     MSG_FROM_OK,
     {"xn--strae-oqa.de"},
     true},
    {V("a@\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"),
     MSG_FROM_OK,
     {"xn--r8jz45g.xn--zckzah"},
     true},
    {V("\xe4\xbe\x8b@\xe4\xbe\x8b\xe3\x81\x88.example"),
     MSG_FROM_OK,
     {"xn--r8jz45g.example"},
     true},
    /* Several mailboxes. */
    {V("a@x.example, b@y.example"), MSG_FROM_MULTIPLE, {"x.example", "y.example"}, false},
    {V("a@x.example, b@X.example"), MSG_FROM_MULTIPLE, {"x.example"}, false},
    {V("A <a@x.example>, \"B, C\" <b@Y.example>, c@x.example"),
     MSG_FROM_MULTIPLE,
     {"x.example", "y.example"},
     false},
    {V("a@x.example,,b@y.example"), MSG_FROM_MULTIPLE, {"x.example", "y.example"}, false},
    {V("a@x.example, b@B\xc3\xbc"
       "cher.example"),
     MSG_FROM_MULTIPLE,
     {"x.example", "xn--bcher-kva.example"},
     true},
    /* Groups. */
    {V("team: a@x.example, b@y.example;"), MSG_FROM_GROUP, {"x.example", "y.example"}, false},
    {V("undisclosed-recipients:;"), MSG_FROM_GROUP, {NULL}, false},
    {V("\"the team\" (c): <a@x.example> ; , b@y.example"),
     MSG_FROM_GROUP,
     {"x.example", "y.example"},
     false},
    {V("team: bob;"), MSG_FROM_GROUP, {NULL}, false},
    /* No usable domain. */
    {V(""), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("   "), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("(only a comment)"), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V(","), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("MAILER-DAEMON"), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("John Doe"), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("\"a@example.com\""), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("<>"), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("Postmaster <postmaster>"), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("user@[1.2.3.4]"), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("Name <user@[IPv6:2001:db8::1]>"), MSG_FROM_NO_DOMAIN, {NULL}, false},
    {V("Smith, John <j@example.com>"), MSG_FROM_NO_DOMAIN, {"example.com"}, false},
    /* Not an address list. */
    {V("a@"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@."), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@example..com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@.example.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@example.com.."), MSG_FROM_SYNTAX, {NULL}, false},
    {V("user@evil.example <me@good.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("user@evil.example me@good.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("<a@example.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@example.com>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("<<a@example.com>>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("\"unterminated <a@example.com>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("\"escaped end\\\" <a@example.com>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("(unterminated a@example.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@example.com (unterminated"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@example.com (escaped end\\)"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@[1.2.3.4"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@[1.2[3].4]"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("John <a@example.com> trailing"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("<a@b@c.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@ex ample.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@exa$mple.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@example.com]"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@example.com)"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a\\b@example.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a\x01@example.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@ex\0ample.com"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("\"a\0\" <a@x.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("\"a\\\0\" <a@x.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("(a\0) a@x.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@xn--zz.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@xn--a.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@\xff.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@\xc3.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("team: g2: a@x.example;;"), MSG_FROM_SYNTAX, {NULL}, false},
    {V(": a@x.example;"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@x.example; b@y.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("team: a@x.example; b@y.example"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("<@relay.example user@real.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("<@:user@real.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("<@relay.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("a@x.example, b@"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("undisclosed-recipients:"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("Re: subject <a@x.example>"), MSG_FROM_SYNTAX, {NULL}, false},
    {V("<a@x.example> <b@y.example>"), MSG_FROM_SYNTAX, {NULL}, false},
};

static void
check(const struct msg_from *got, enum msg_from_status status, const char *const *domains,
      size_t ndomains, bool ulabel, const char *what)
{
	size_t i;

	is_str(msg_from_status_name(got->status), msg_from_status_name(status), "%s: status", what);
	is_int(got->ndomains, ndomains, "%s: number of domains", what);
	for (i = 0; i < ndomains && i < got->ndomains; i++)
		is_str(got->domains[i], domains[i], "%s: domain %zu", what, i);
	is_int(got->had_ulabel, ulabel, "%s: had_ulabel", what);
}

/* The value with bytes outside printable ASCII as \xNN, for test names. */
static const char *
printable(const char *v, size_t len, char *out, size_t size)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len && o + 5 < size; i++) {
		c = (unsigned char)v[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static void
test_table(void)
{
	struct msg_from got;
	char name[160];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 0; n < 3 && cases[i].domains[n] != NULL; n++)
			;
		msg_from_parse(cases[i].value, cases[i].len, &got);
		printable(cases[i].value, cases[i].len, name, sizeof(name));
		check(&got, cases[i].status, cases[i].domains, n, cases[i].ulabel, name);
		is_int(got.truncated, false, "%s: not truncated", name);
	}
}

/* A value made of prefix, then n copies of rep, then suffix. */
static char *
repeat(const char *prefix, const char *rep, size_t n, const char *suffix, size_t *len)
{
	size_t pl = strlen(prefix), rl = strlen(rep), sl = strlen(suffix), i;
	char *s = malloc(pl + rl * n + sl + 1);

	memcpy(s, prefix, pl);
	for (i = 0; i < n; i++)
		memcpy(s + pl + i * rl, rep, rl);
	memcpy(s + pl + n * rl, suffix, sl + 1);
	*len = pl + n * rl + sl;
	return s;
}

static void
test_dns_name_limits(void)
{
	static const char *const one[] = {NULL};
	char label63[64], label64[65];
	char name[300];
	struct msg_from got;
	size_t len;

	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'b', 64);
	label64[64] = '\0';
	len = (size_t)snprintf(name, sizeof(name), "u@%s.example", label63);
	msg_from_parse(name, len, &got);
	is_int(got.status, MSG_FROM_OK, "63-octet label accepted");
	len = (size_t)snprintf(name, sizeof(name), "u@%s.example", label64);
	msg_from_parse(name, len, &got);
	check(&got, MSG_FROM_SYNTAX, one, 0, false, "64-octet label");
	/* 3 * 64 + 61 = 253 octets. */
	len = (size_t)snprintf(name, sizeof(name), "u@%s.%s.%s.%.61s", label63, label63, label63,
	                       label63);
	msg_from_parse(name, len, &got);
	is_int(got.status, MSG_FROM_OK, "253-octet name accepted");
	is_int(strlen(got.domains[0]), 253, "253-octet name kept whole");
	len = (size_t)snprintf(name, sizeof(name), "u@%s.%s.%s.%.62s", label63, label63, label63,
	                       label63);
	msg_from_parse(name, len, &got);
	check(&got, MSG_FROM_SYNTAX, one, 0, false, "254-octet name");
	len = (size_t)snprintf(name, sizeof(name), "u@%s.%s.%s.%.61s.", label63, label63, label63,
	                       label63);
	msg_from_parse(name, len, &got);
	is_int(got.status, MSG_FROM_OK, "253 octets plus a final dot accepted");
}

/* "a@x.example " then comments nested depth deep. */
static void
test_comment_depth(void)
{
	static const char *const x[] = {"x.example"};
	char v[12 + 2 * (MSG_FROM_MAX_COMMENT_DEPTH + 1)];
	struct msg_from got;
	size_t depth;

	memcpy(v, "a@x.example ", 12);
	for (depth = MSG_FROM_MAX_COMMENT_DEPTH; depth <= MSG_FROM_MAX_COMMENT_DEPTH + 1; depth++) {
		memset(v + 12, '(', depth);
		memset(v + 12 + depth, ')', depth);
		msg_from_parse(v, 12 + 2 * depth, &got);
		if (depth == MSG_FROM_MAX_COMMENT_DEPTH)
			check(&got, MSG_FROM_OK, x, 1, false, "comments nested to the cap");
		else
			check(&got, MSG_FROM_SYNTAX, x, 0, false, "comments nested past the cap");
	}
}

static void
test_hostile(void)
{
	static const char *const x[] = {"x.example"};
	struct msg_from got;
	size_t len;
	char *s;

	s = repeat("", "(", 1 << 20, "", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_SYNTAX, x, 0, false, "1 MB of '('");
	free(s);
	s = repeat("a@x.example ", "()", 1 << 18, "", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_OK, x, 1, false, "256k empty comments");
	free(s);
	s = repeat("", "a@x.example,", 1 << 16, "", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_MULTIPLE, x, 1, false, "64k mailboxes of one domain");
	free(s);
	s = repeat("\"", "\\", 1 << 16, "", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_SYNTAX, x, 0, false, "unterminated run of escapes");
	free(s);
	s = repeat("a@", "x.", 1 << 16, "example", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_SYNTAX, x, 0, false, "128 kB domain");
	free(s);
}

/* IDNA conversions are bounded per call and, in extract, per message. */
static void
test_idna_budget(void)
{
	static const char *const bucher[] = {"xn--bcher-kva.example"};
	static const char *const alabel[] = {"xn--bcher-kva.example", "x.example"};
	static const char third[] = "From: b@x.example, c@B\xc3\xbc"
	                            "cher.example";
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;
	struct msg_from got;
	size_t len;
	char *s;

	s = repeat("",
	           "a@B\xc3\xbc"
	           "cher.example,",
	           MSG_FROM_MAX_IDNA, "", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_MULTIPLE, bucher, 1, true, "U-label domains up to the budget");
	free(s);
	s = repeat("", "a@xn--bcher-kva.example,", MSG_FROM_MAX_IDNA, "b@x.example", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_MULTIPLE, alabel, 2, false, "A-label domains up to the budget");
	free(s);
	s = repeat("", "a@xn--bcher-kva.example,", MSG_FROM_MAX_IDNA + 1, "", &len);
	msg_from_parse(s, len, &got);
	check(&got, MSG_FROM_SYNTAX, bucher, 0, false, "one conversion past the budget");
	free(s);

	s = repeat("From: ", "a@xn--bcher-kva.example,", MSG_FROM_MAX_IDNA / 2, "", &len);
	msg_headers_add_raw(h, s, len, &err);
	msg_headers_add_raw(h, s, len, &err);
	msg_headers_add_raw(h, third, strlen(third), &err);
	free(s);
	is_int(msg_headers_count(h), 3, "three From fields");
	msg_from_extract(h, &got);
	check(&got, MSG_FROM_MULTIPLE_FIELDS, alabel, 1, false,
	      "the budget is shared by all From fields");
	msg_headers_free(h);
}

static void
test_truncated(void)
{
	struct msg_from got;
	char v[17 * 16];
	size_t len = 0, i;

	for (i = 0; i < 17; i++)
		len += (size_t)snprintf(v + len, sizeof(v) - len, "a@d%zu.example,", i);
	msg_from_parse(v, len, &got);
	is_int(got.status, MSG_FROM_MULTIPLE, "17 domains: multiple");
	is_int(got.ndomains, MSG_FROM_MAX_DOMAINS, "17 domains: 16 listed");
	ok(got.truncated, "17 domains: truncated");
	is_str(got.domains[0], "d0.example", "17 domains: the first listed first");
	is_str(got.domains[15], "d15.example", "17 domains: the 16th listed last");
}

static struct msg_headers *
headers(const char *const *raw)
{
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;

	for (; *raw != NULL; raw++)
		if (msg_headers_add_raw(h, *raw, strlen(*raw), &err) < 0)
			diag("cannot add %s: %s", *raw, err.msg);
	return h;
}

static void
test_extract(void)
{
	static const char *const none[] = {"Subject: x", "Sender: a@x.example", NULL};
	static const char *const one[] = {"Subject: x", "from : A <a@X.example>", NULL};
	static const char *const two[] = {"From: a@x.example", "To: b@z.example",
	                                  "FROM: b@y.example, c@x.example", NULL};
	static const char *const bad[] = {"From: <a@x.example",
	                                  "From: b@B\xc3\xbc"
	                                  "cher.example",
	                                  NULL};
	static const char *const folded[] = {"From: \"A\r\n B\" <a@x.example>\r\n (c)", NULL};
	static const char *const dx[] = {"x.example", "y.example"};
	static const char *const dbad[] = {"xn--bcher-kva.example"};
	struct msg_headers *h;
	struct msg_from got;

	h = headers(none);
	msg_from_extract(h, &got);
	check(&got, MSG_FROM_NONE, dx, 0, false, "no From field");
	msg_headers_free(h);
	h = headers(one);
	msg_from_extract(h, &got);
	check(&got, MSG_FROM_OK, dx, 1, false, "one From field");
	msg_headers_free(h);
	h = headers(two);
	msg_from_extract(h, &got);
	check(&got, MSG_FROM_MULTIPLE_FIELDS, dx, 2, false, "two From fields");
	msg_headers_free(h);
	h = headers(bad);
	msg_from_extract(h, &got);
	check(&got, MSG_FROM_MULTIPLE_FIELDS, dbad, 1, true, "two From fields, one unparsable");
	msg_headers_free(h);
	h = headers(folded);
	msg_from_extract(h, &got);
	check(&got, MSG_FROM_OK, dx, 1, false, "folded From field");
	msg_headers_free(h);
}

static void
test_status_names(void)
{
	is_str(msg_from_status_name(MSG_FROM_OK), "ok", "name ok");
	is_str(msg_from_status_name(MSG_FROM_NONE), "none", "name none");
	is_str(msg_from_status_name(MSG_FROM_MULTIPLE_FIELDS), "multiple_fields",
	       "name multiple_fields");
	is_str(msg_from_status_name(MSG_FROM_MULTIPLE), "multiple", "name multiple");
	is_str(msg_from_status_name(MSG_FROM_GROUP), "group", "name group");
	is_str(msg_from_status_name(MSG_FROM_NO_DOMAIN), "no_domain", "name no_domain");
	is_str(msg_from_status_name(MSG_FROM_SYNTAX), "syntax", "name syntax");
}

int
main(void)
{
	test_table();
	test_dns_name_limits();
	test_comment_depth();
	test_hostile();
	test_idna_budget();
	test_truncated();
	test_extract();
	test_status_names();
	return done_testing();
}
