/*
 * test-smtpcmd - verbs, paths with their limits, MAIL parameters, RCPT,
 * XCLIENT attributes, and the reply each refusal gives.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "smtpcmd.h"
#include "tap.h"

static struct smtpcmd cmd;
static struct smtpcmd_error e;

static int
parse(const char *line)
{
	return smtpcmd_parse(line, strlen(line), &cmd, &e);
}

static void
test_verbs(void)
{
	is_int(parse("ehlo client.example"), 0, "EHLO parses");
	is_int(cmd.verb, SMTPCMD_EHLO, "verbs are case-insensitive");
	ok(cmd.arg_len == 14 && memcmp(cmd.arg, "client.example", 14) == 0, "argument");
	is_int(parse("QUIT  \t"), 0, "trailing blanks");
	ok(cmd.verb == SMTPCMD_QUIT && cmd.arg_len == 0, "are no argument");
	is_int(parse("MAILFROM:<a@b.c>"), 0, "a run-together verb");
	is_int(cmd.verb, SMTPCMD_UNKNOWN, "is unknown");
	is_int(parse("STARTTLS"), 0, "STARTTLS");
	is_int(cmd.verb, SMTPCMD_STARTTLS, "its verb");
	is_int(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2"), 0, "a PROXY header line");
	is_int(cmd.verb, SMTPCMD_PROXY, "is recognized as one");
	is_int(smtpcmd_parse("NOOP\0x", 6, &cmd, &e), -1, "a NUL byte");
	is_str(e.text, "Control characters in a command line", "is refused");
	is_int(parse("NOOP a\rb"), -1, "a bare CR");
	ok(e.code == 500 && strcmp(e.dsn, "5.5.2") == 0, "500 5.5.2");
	is_int(parse("MAIL FROM:<j\xc3\xb6@x.example>"), -1, "8-bit bytes (no SMTPUTF8)");
}

static int
mail(const char *line, struct smtpcmd_path *p)
{
	if (parse(line) < 0)
		return -2;
	return smtpcmd_mail(&cmd, p, &e);
}

static int
rcpt(const char *line, struct smtpcmd_path *p)
{
	if (parse(line) < 0)
		return -2;
	return smtpcmd_rcpt(&cmd, p, &e);
}

static void
test_mail(void)
{
	struct smtpcmd_path p;
	char line[400];

	is_int(mail("MAIL FROM:<user@example.org>", &p), 0, "a plain sender");
	is_str(p.addr, "user@example.org", "without brackets");
	ok(!p.has_size && p.body == SMTPCMD_BODY_NONE, "no parameters");
	is_int(mail("MAIL FROM:<>", &p), 0, "the null sender");
	is_str(p.addr, "", "is empty");
	is_int(mail("mail from: <a.b+c@sub.example.org> SIZE=1024 BODY=8BITMIME", &p), 0,
	       "space after the colon, SIZE and BODY");
	ok(p.has_size && p.size == 1024 && p.body == SMTPCMD_BODY_8BITMIME, "parameters read");
	is_int(mail("MAIL FROM:<a@b.example> SIZE=99999999999999999999", &p), 0, "a huge SIZE");
	ok(p.size == ~0ull, "saturates");
	is_int(mail("MAIL FROM:<@relay.example:a@b.example>", &p), 0, "a source route");
	is_str(p.addr, "a@b.example", "is dropped");
	is_int(mail("MAIL FROM:<\"john doe\"@example.org>", &p), 0, "a quoted local part");
	is_int(mail("MAIL FROM:<a@[192.0.2.1]>", &p), 0, "an address literal");
	is_int(mail("MAIL FROM:<a@[IPv6:2001:db8::1]>", &p), 0, "an IPv6 address literal");
	is_int(mail("MAIL FROM:<\"\t:x\"@org.example>", &p), -1,
	       "a tab inside a quoted local part (found by fuzz-smtpcmd)");
	is_int(rcpt("RCPT TO:<@r:rcpt@[19<.0.2.1]>", &p), -1,
	       "an angle bracket in an address literal (found by fuzz-smtpcmd)");
	is_int(mail("MAIL FROM:<\"orge.jo:<user@example.dou\"@org>", &p), -1,
	       "an angle bracket inside a quoted local part (found by fuzz-smtpcmd)");
	is_int(mail("MAIL FROM:a@b.example", &p), -1, "no angle brackets");
	ok(e.code == 501 && strcmp(e.text, "The address must be in angle brackets") == 0,
	   "501 says so");
	is_int(mail("MAIL TO:<a@b.example>", &p), -1, "MAIL TO:");
	is_str(e.text, "Syntax: MAIL FROM:<address>", "gets the syntax");
	is_int(mail("MAIL FROM:<a@b.example> SIZE=12x", &p), -1, "SIZE not a number");
	is_int(mail("MAIL FROM:<a@b.example> BODY=BINARYMIME", &p), -1, "BODY=BINARYMIME");
	is_int(mail("MAIL FROM:<a@b.example> RET=FULL", &p), -1, "an unannounced parameter");
	ok(e.code == 555 && strcmp(e.dsn, "5.5.4") == 0, "555 5.5.4");
	is_int(mail("MAIL FROM:<a@b.example>x", &p), -1, "text glued to the path");
	is_int(mail("MAIL FROM:<a..b@example.org>", &p), -1, "two dots in the local part");
	is_int(mail("MAIL FROM:<a@-b.example>", &p), -1, "a label starting with '-'");
	is_int(mail("MAIL FROM:<a@b..example>", &p), -1, "an empty label");
	is_int(mail("MAIL FROM:<ab.example>", &p), -1, "no domain");
	is_str(e.text, "The address needs a domain", "says so");
	is_int(mail("MAIL FROM:<a b@c.example>", &p), -1, "a space in the local part");
	memset(line, 'a', sizeof(line));
	memcpy(line, "MAIL FROM:<", 11);
	memcpy(line + 11 + 65, "@example.org>", 14);
	is_int(mail(line, &p), -1, "a local part of 65 bytes");
	memcpy(line + 11 + 64, "@example.org>", 14);
	is_int(mail(line, &p), 0, "one of 64 bytes");
	snprintf(line, sizeof(line), "MAIL FROM:<a@%0250d.example>", 0);
	is_int(mail(line, &p), -1, "a path over 256 bytes");
	is_str(e.text, "The address is longer than 256 bytes", "says so");
}

static void
test_rcpt(void)
{
	struct smtpcmd_path p;
	const char *local, *domain;
	size_t llen;

	is_int(rcpt("RCPT TO:<rcpt@example.net>", &p), 0, "a recipient");
	is_str(p.addr, "rcpt@example.net", "read");
	smtpcmd_split(p.addr, &local, &llen, &domain);
	ok(llen == 4 && strncmp(local, "rcpt", 4) == 0 && strcmp(domain, "example.net") == 0,
	   "split at the last @");
	is_int(rcpt("RCPT TO:<Postmaster>", &p), 0, "<Postmaster> without a domain");
	is_int(rcpt("RCPT TO:<>", &p), -1, "the null path as a recipient");
	is_int(rcpt("RCPT TO:<a@b.example> NOTIFY=NEVER", &p), -1, "a DSN parameter");
	is_str(e.text, "Unsupported RCPT parameter", "is not announced");
	is_int(rcpt("RCPT FROM:<a@b.example>", &p), -1, "RCPT FROM:");
}

static void
test_xclient(void)
{
	struct smtpcmd_xclient x;

	parse("XCLIENT ADDR=192.0.2.7 NAME=host.example HELO=mx.example+2Eorg LOGIN=[UNAVAILABLE]");
	is_int(smtpcmd_xclient(&cmd, &x, &e), 0, "XCLIENT attributes");
	ok(x.has_addr && strcmp(x.addr, "192.0.2.7") == 0, "ADDR");
	ok(x.has_helo && strcmp(x.helo, "mx.example.org") == 0, "HELO, xtext-decoded");
	ok(!x.has_login, "[UNAVAILABLE] leaves LOGIN unset");
	parse("XCLIENT ADDR=IPV6:2001:db8::1 LOGIN=alice");
	is_int(smtpcmd_xclient(&cmd, &x, &e), 0, "an IPv6 ADDR");
	ok(strcmp(x.addr, "2001:db8::1") == 0 && x.has_login && strcmp(x.login, "alice") == 0,
	   "IPV6: prefix dropped, LOGIN read");
	parse("XCLIENT ADDR=not-an-address");
	is_int(smtpcmd_xclient(&cmd, &x, &e), -1, "a bad address");
	parse("XCLIENT COLOUR=blue");
	is_int(smtpcmd_xclient(&cmd, &x, &e), -1, "an unknown attribute");
	parse("XCLIENT HELO=a+2");
	is_int(smtpcmd_xclient(&cmd, &x, &e), -1, "a cut xtext escape");
	parse("XCLIENT HELO=a+0Ab");
	is_int(smtpcmd_xclient(&cmd, &x, &e), -1, "an escaped line feed");
	parse("XCLIENT");
	is_int(smtpcmd_xclient(&cmd, &x, &e), -1, "no attributes");
}

int
main(void)
{
	test_verbs();
	test_mail();
	test_rcpt();
	test_xclient();
	return done_testing();
}
