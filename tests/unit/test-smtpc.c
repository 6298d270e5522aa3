/*
 * test-smtpc - the next-hop client: targets, the reply parser and its
 * limits, and whole transactions against Postfix's smtp-sink over SMTP and
 * LMTP (skipped when smtp-sink is not installed), with the sink's dump of
 * the message checked (dot-stuffing, final line end).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smtpc.h"
#include "smtpsink.h"
#include "tap.h"

static void
test_targets(void)
{
	struct smtpc_target t;
	char msg[200];

	is_int(smtpc_target_parse("smtp:mx.example:25", &t, msg, sizeof(msg)), 0, "smtp:HOST:PORT");
	ok(t.proto == SMTPC_SMTP && strcmp(t.host, "mx.example") == 0 && strcmp(t.port, "25") == 0,
	   "host and port");
	is_int(smtpc_target_parse("lmtp:[::1]:24", &t, msg, sizeof(msg)), 0, "lmtp:[IPv6]:PORT");
	ok(t.proto == SMTPC_LMTP && strcmp(t.host, "::1") == 0 && strcmp(t.port, "24") == 0,
	   "IPv6 host without brackets");
	is_int(smtpc_target_parse("lmtp:unix:/run/dovecot/lmtp", &t, msg, sizeof(msg)), 0,
	       "lmtp:unix:/path");
	is_str(t.path, "/run/dovecot/lmtp", "unix path");
	is_int(smtpc_target_parse("smtp:host", &t, msg, sizeof(msg)), -1, "no port");
	is_int(smtpc_target_parse("smtp:host:0", &t, msg, sizeof(msg)), -1, "port 0");
	is_int(smtpc_target_parse("smtp:host:99999", &t, msg, sizeof(msg)), -1, "port too big");
	is_int(smtpc_target_parse("smtp:unix:/x", &t, msg, sizeof(msg)), -1, "smtp over unix");
	is_int(smtpc_target_parse("lmtp:unix:rel", &t, msg, sizeof(msg)), -1, "relative path");
	is_int(smtpc_target_parse("http://x", &t, msg, sizeof(msg)), -1, "unknown scheme");
	is_str(msg, "next hop is smtp:HOST:PORT, lmtp:HOST:PORT or lmtp:unix:/path",
	       "the message says what is allowed");
}

static int
parse(const char *s, struct smtpc_reply *r, size_t *used)
{
	return smtpc_reply_parse(s, strlen(s), r, used);
}

static void
test_replies(void)
{
	struct smtpc_reply r;
	size_t used = 0;
	char *big;

	is_int(parse("250 2.1.0 Ok\r\n", &r, &used), 1, "a one-line reply");
	ok(r.code == 250 && strcmp(r.dsn, "2.1.0") == 0 && strcmp(r.text, "Ok") == 0,
	   "code, enhanced code and text");
	is_int(used, 14, "it takes its bytes");
	is_int(parse("250-mx.example\r\n250-SIZE 100\r\n250 8BITMIME\r\nNEXT", &r, &used), 1,
	       "a multi-line reply");
	is_str(r.text, "mx.example\nSIZE 100\n8BITMIME", "lines joined by LF");
	is_int(used, 44, "stops after the last line");
	is_int(parse("250-one\r\n250 two", &r, &used), 0, "an unfinished reply needs more");
	is_int(parse("354\r\n", &r, &used), 1, "a code alone");
	is_int(r.code, 354, "its code");
	is_int(parse("220 mx ESMTP\n", &r, &used), 1, "a bare LF line end is taken");
	is_int(parse("250-a\r\n251 b\r\n", &r, &used), -1, "lines with different codes");
	is_int(parse("25O ok\r\n", &r, &used), -1, "not a number");
	is_int(parse("650 no\r\n", &r, &used), -1, "no such class");
	is_int(parse("250ok\r\n", &r, &used), -1, "no separator");
	is_int(parse("\r\n", &r, &used), -1, "an empty line");
	is_int(parse("451 4.7 text\r\n", &r, &used), 1, "a short enhanced code");
	is_str(r.dsn, "", "is not taken as one");
	is_int(parse("550 4.1.1 mixed\r\n", &r, &used), 1, "an enhanced code of another class");
	is_str(r.dsn, "", "is not taken either");

	big = malloc(SMTPC_LINE_MAX + 10);
	memset(big, 'x', SMTPC_LINE_MAX + 9);
	memcpy(big, "250 ", 4);
	big[SMTPC_LINE_MAX + 9] = '\0';
	is_int(parse(big, &r, &used), -1, "a line past SMTPC_LINE_MAX with no end");
	free(big);
}

static void
test_reply_lines_limit(void)
{
	size_t n = (SMTPC_REPLY_LINES + 1) * 6, i;
	char *s = malloc(n + 1);
	struct smtpc_reply r;
	size_t used;

	for (i = 0; i < SMTPC_REPLY_LINES; i++)
		memcpy(s + i * 6, "250-x\n", 6);
	memcpy(s + i * 6, "250 x\n", 6);
	s[n] = '\0';
	is_int(smtpc_reply_parse(s, n, &r, &used), -1, "more than SMTPC_REPLY_LINES lines");
	is_int(smtpc_reply_parse(s + 6, n - 6, &r, &used), 1, "exactly SMTPC_REPLY_LINES lines");
	ok(strlen(r.text) < SMTPC_TEXT_MAX, "text is cut at SMTPC_TEXT_MAX");
	free(s);
}

/* ---- against smtp-sink ---- */

static struct smtpsink sink;

static void
transaction(bool lmtp)
{
	const char *name = lmtp ? "LMTP" : "SMTP";
	struct smtpc_opts o = {"client.test", 2000, 2000, 2000, true};
	struct smtpc_piece pieces[2] = {{"Subject: t\r\n\r\n.dot line\r\n", 25},
	                                {"..two\r\nno final line end", 24}};
	struct smtpc_reply r, replies[2];
	struct smtpc_target t;
	struct auth_error err;
	char spec[64], *dump;
	struct smtpc *c;

	if (smtpsink_start(&sink, lmtp, lmtp ? "lmtp" : "smtp", NULL) < 0) {
		ok(0, "%s: smtp-sink started", name);
		return;
	}
	snprintf(spec, sizeof(spec), "%s:127.0.0.1:%d", lmtp ? "lmtp" : "smtp", sink.port);
	smtpc_target_parse(spec, &t, spec, sizeof(spec));
	c = smtpc_open(&t, &o, &r, &err);
	ok(c != NULL, "%s: connected and greeted (%s)", name, c == NULL ? err.msg : "");
	if (c == NULL) {
		smtpsink_stop(&sink);
		return;
	}
	is_int(smtpc_extensions(c), SMTPC_EXT_8BITMIME | SMTPC_EXT_PIPELINING,
	       "%s: extensions read from the EHLO reply (smtp-sink has no SIZE)", name);
	ok(!smtpc_tls(c), "%s: no STARTTLS offered, none started", name);
	ok(smtpc_mail(c, "sender@example.org", 100, true, &r, &err) == 0 && r.code == 250,
	   "%s: MAIL accepted", name);
	ok(smtpc_rcpt(c, "a@example.net", &r, &err) == 0 && r.code == 250, "%s: first RCPT", name);
	ok(smtpc_rcpt(c, "b@example.net", &r, &err) == 0 && r.code == 250, "%s: second RCPT", name);
	ok(smtpc_data(c, pieces, 2, replies, 2, &err) == 0, "%s: DATA sent", name);
	is_int(replies[0].code, 250, "%s: the message accepted", name);
	if (lmtp)
		is_int(replies[1].code, 250, "LMTP: a reply for the second recipient too");
	ok(smtpc_rset(c, &r, &err) == 0 && r.code == 250, "%s: RSET", name);
	smtpc_close(c);
	usleep(200000);
	smtpsink_stop(&sink);
	dump = smtpsink_take(&sink, lmtp ? "lmtp" : "smtp");
	/* smtp-sink writes its dump with LF line ends. */
	ok(dump != NULL &&
	       strstr(dump, "Subject: t\n\n.dot line\n..two\nno final line end\n") != NULL,
	   "%s: the message arrived unstuffed, with a final line end", name);
	free(dump);
}

static void
test_unreachable(void)
{
	struct smtpc_opts o = {"client.test", 500, 500, 500, true};
	struct smtpc_target t;
	struct smtpc_reply r;
	struct auth_error err;
	char spec[64];

	snprintf(spec, sizeof(spec), "smtp:127.0.0.1:%d", smtpsink_free_port());
	smtpc_target_parse(spec, &t, spec, sizeof(spec));
	ok(smtpc_open(&t, &o, &r, &err) == NULL, "nothing listening: no connection");
	is_int(r.code, 0, "and no reply");
	ok(strstr(err.msg, "connect") != NULL, "the error says so (%s)", err.msg);
}

int
main(void)
{
	test_targets();
	test_replies();
	test_reply_lines_limit();
	test_unreachable();
	if (!smtpsink_usable(&sink, "test-smtpc")) {
		ok(1, "# SKIP smtp-sink not installed, or not root");
		return done_testing();
	}
	transaction(false);
	transaction(true);
	smtpsink_cleanup(&sink);
	return done_testing();
}
