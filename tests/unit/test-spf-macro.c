/*
 * test-spf-macro - the SPF macro language (RFC 7208 §7): the RFC's own
 * examples (§7.4), the escapes, URL-escaping, and hostile input.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spf_macro.h"
#include "tap.h"

static int p_calls;

static int
fake_p(void *arg, const char **name)
{
	p_calls++;
	*name = arg;
	return SPF_MACRO_OK;
}

static int
limit_p(void *arg, const char **name)
{
	(void)arg;
	(void)name;
	return SPF_MACRO_LIMIT;
}

static void
ctx_init(struct spf_macro_ctx *c, const char *sender, const char *ip)
{
	memset(c, 0, sizeof(*c));
	c->sender = sender;
	c->sender_len = strlen(sender);
	c->local_len = (size_t)(strrchr(sender, '@') - sender);
	c->domain = "email.example.com";
	c->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(c->family, ip, c->ip);
	c->helo = "mx.example.org";
	c->receiver = "rcv.example.net";
	c->now = 1700000000;
	c->ptr_name = fake_p;
	c->ptr_arg = "mx.example.com";
}

/* Expands s (exp text when exp) and checks the result. */
static void
check(const struct spf_macro_ctx *c, const char *s, int exp, const char *want)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	rc = spf_macro_expand(c, s, strlen(s), exp, &b);
	if (rc != SPF_MACRO_OK)
		ok(0, "%s expands (rc %d)", s, rc);
	else
		is_str(b.data ? b.data : "", want, "%s", s);
	buf_free(&b);
}

static void
test_rfc_examples(void)
{
	struct spf_macro_ctx c;

	ctx_init(&c, "strong-bad@email.example.com", "192.0.2.3");
	check(&c, "%{s}", 0, "strong-bad@email.example.com");
	check(&c, "%{o}", 0, "email.example.com");
	check(&c, "%{d}", 0, "email.example.com");
	check(&c, "%{d4}", 0, "email.example.com");
	check(&c, "%{d3}", 0, "email.example.com");
	check(&c, "%{d2}", 0, "example.com");
	check(&c, "%{d1}", 0, "com");
	check(&c, "%{dr}", 0, "com.example.email");
	check(&c, "%{d2r}", 0, "example.email");
	check(&c, "%{l}", 0, "strong-bad");
	check(&c, "%{l-}", 0, "strong.bad");
	check(&c, "%{lr}", 0, "strong-bad");
	check(&c, "%{lr-}", 0, "bad.strong");
	check(&c, "%{l1r-}", 0, "strong");
	check(&c, "%{ir}.%{v}._spf.%{d2}", 0, "3.2.0.192.in-addr._spf.example.com");
	check(&c, "%{lr-}.lp._spf.%{d2}", 0, "bad.strong.lp._spf.example.com");
	check(&c, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 0,
	      "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	check(&c, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0,
	      "3.2.0.192.in-addr.strong.lp._spf.example.com");
	check(&c, "%{d2}.trusted-domains.example.net", 0,
	      "example.com.trusted-domains.example.net");
	ctx_init(&c, "strong-bad@email.example.com", "2001:db8::cb01");
	/* Upper-case nibbles: see spf_macro_ip_i(). */
	check(
	    &c, "%{ir}.%{v}._spf.%{d2}", 0,
	    "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
	check(&c, "%{c} %{v}", 1, "2001:db8::cb01 ip6");
}

static void
test_letters(void)
{
	struct spf_macro_ctx c;

	ctx_init(&c, "~jack&jill=up-a_b3.c@e8.example.com", "192.168.218.40");
	check(&c, "%{L}", 0, "~jack%26jill%3Dup-a_b3.c");
	check(&c, "%{S}", 0, "~jack%26jill%3Dup-a_b3.c%40e8.example.com");
	check(&c, "%{h}/%{H}", 0, "mx.example.org/mx.example.org");
	check(&c, "%{c} %{r} %{t}", 1, "192.168.218.40 rcv.example.net 1700000000");
	check(&c, "%{C}%{R}", 1, "192.168.218.40rcv.example.net");
	check(&c, "%{i}", 0, "192.168.218.40");
	p_calls = 0;
	check(&c, "%{p}.%{p1}", 0, "mx.example.com.com");
	is_int(p_calls, 2, "%%{p} asks the callback each time");
	check(&c, "%%%_%-", 0, "% %20");
	check(&c, "a%%{d}", 0, "a%{d}");
	ctx_init(&c, "foo-bar+zip+quux@e12.example.com", "1.2.3.4");
	check(&c, "%{l2r+-}.user.%{d2}", 0, "bar.foo.user.example.com");
	check(&c, "%{l=,/_+-.}", 0, "foo.bar.zip.quux");
	check(&c, "%{lr+}", 0, "quux.zip.foo-bar");
	check(&c, "%{d127}", 0, "email.example.com");
	check(&c, "%{d99999999999999999999}", 0, "email.example.com");
	check(&c, "%{dR}", 0, "com.example.email");
	check(&c, "%{D2R}", 0, "example.email");
	check(&c, "This is %{l}, from %{o}.", 1, "This is foo-bar+zip+quux, from e12.example.com.");
	ctx_init(&c, "a..b@x.example", "1.2.3.4");
	check(&c, "%{l}|%{lr}|%{l1}", 0, "a..b|b..a|b");
	ctx_init(&c, "@x.example", "1.2.3.4");
	check(&c, "[%{l}][%{o}]", 0, "[][x.example]");
}

static void
test_syntax(void)
{
	static const char *const bad[] = {
	    "%",     "%{",     "%{}",    "%{d",     "%{x}",     "%(d)",           "a%",   "%a",
	    "%{d0}", "%{d00}", "%{dr2}", "%{d2rr}", "%{d2r;}",  "%{ d}",          "%{c}", "%{r}",
	    "%{t}",  "%{C}",   "a b",    "\x80",    "%{d}\x01", "%{d2r.-+,/_=x}",
	};
	static const char *const good[] = {
	    "", "}", "{", "%{d2r.-+,/_=}", "%{D}", "%{s}%{l}%{o}%{d}%{i}%{p}%{v}%{h}", "~!\"#$&'",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(spf_macro_check(bad[i], strlen(bad[i]), 0), SPF_MACRO_SYNTAX,
		       "invalid: \"%s\"", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(spf_macro_check(good[i], strlen(good[i]), 0), SPF_MACRO_OK, "valid: \"%s\"",
		       good[i]);
	is_int(spf_macro_check("%{c} %{r} %{t} %{x", 18, 1), SPF_MACRO_SYNTAX,
	       "exp text: unterminated");
	is_int(spf_macro_check("%{c} %{r} %{t}", 14, 1), SPF_MACRO_OK,
	       "exp text allows c, r, t, SP");
	is_int(spf_macro_check("a\0b", 3, 1), SPF_MACRO_SYNTAX, "NUL is no macro-literal");
	is_int(spf_macro_check("\xEF\xBB\xBF"
	                       "Explanation",
	                       14, 1),
	       SPF_MACRO_SYNTAX, "8-bit is no macro-literal");
}

static void
test_bounds(void)
{
	struct spf_macro_ctx c;
	struct buf b;
	char *big;
	size_t n = 3000;

	ctx_init(&c, "x@example.com", "1.2.3.4");
	buf_init(&b, 16);
	is_int(spf_macro_expand(&c, "%{d}%{d}", 8, 0, &b), SPF_MACRO_TOOLONG,
	       "expansion past the buffer's maximum");
	buf_free(&b);
	buf_init(&b, 34);
	is_int(spf_macro_expand(&c, "%{d}%{d}", 8, 0, &b), SPF_MACRO_OK, "expansion exactly at it");
	is_int(b.len, 34, "34 bytes");
	buf_free(&b);
	buf_init(&b, 8);
	is_int(spf_macro_expand(&c, "%{D}%-", 6, 0, &b), SPF_MACRO_TOOLONG, "escapes are bounded");
	buf_free(&b);
	big = malloc(n * 4);
	for (size_t i = 0; i < n; i++)
		memcpy(big + 4 * i, "%{p}", 4);
	c.ptr_name = limit_p;
	buf_init(&b, 1 << 20);
	is_int(spf_macro_expand(&c, big, 4 * n, 0, &b), SPF_MACRO_LIMIT,
	       "a %%{p} over the DNS limit stops the expansion");
	buf_free(&b);
	c.sender = big;
	c.sender_len = 4 * n;
	c.local_len = 4 * n - 1;
	buf_init(&b, 1 << 20);
	is_int(spf_macro_expand(&c, "%{l1r}%{o}", 10, 0, &b), SPF_MACRO_OK,
	       "a 12 kB sender splits fine");
	is_int(b.len, 4 * n - 1, "one part, reversed, everything but the last byte");
	buf_free(&b);
	free(big);
}

int
main(void)
{
	test_rfc_examples();
	test_letters();
	test_syntax();
	test_bounds();
	return done_testing();
}
