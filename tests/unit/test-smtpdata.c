/*
 * test-smtpdata - the end of DATA, dot-unstuffing, and the smuggling
 * variants: each is content, never an end, and refused unless lenient.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "smtpdata.h"
#include "tap.h"

static struct buf out;
static struct smtpdata d;

/* want_out NULL: what was kept before a refusal does not matter. */
/* Feeds s one byte at a time when bytewise, else whole; returns the bytes
 * taken. */
static size_t
feed(const char *s, bool lenient, bool bytewise)
{
	size_t n = strlen(s), used = 0;

	buf_free(&out);
	buf_init(&out, 1u << 20);
	smtpdata_init(&d, &out, 1000, 4096, lenient);
	if (!bytewise)
		return smtpdata_feed(&d, s, n);
	while (used < n && !d.done)
		used += smtpdata_feed(&d, s + used, 1);
	return used;
}

static void
both(const char *s, bool lenient, const char *name, size_t want_used, const char *want_out,
     unsigned want_problems)
{
	int pass;

	for (pass = 0; pass < 2; pass++) {
		size_t used = feed(s, lenient, pass == 1);
		const char *how = pass ? "byte by byte" : "at once";

		ok(used == want_used && d.done &&
		       (want_out == NULL ||
		        strcmp(out.data != NULL ? out.data : "", want_out) == 0) &&
		       d.problems == want_problems,
		   "%s (%s)", name, how);
		if (used != want_used || d.problems != want_problems)
			diag("used %zu problems %#x out \"%s\"", used, d.problems,
			     out.data != NULL ? out.data : "");
	}
}

static void
test_plain(void)
{
	both("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", false, "ends at CRLF.CRLF", 23,
	     "Subject: x\r\n\r\nbody\r\n", 0);
	both(".\r\n", false, "an empty message", 3, "", 0);
	both("..dot\r\n...two\r\n.\r\n", false, "dots unstuffed", 18, ".dot\r\n..two\r\n", 0);
	both("a\r\n.x\r\n.\r\n", false, "a single leading dot is removed", 10, "a\r\nx\r\n", 0);
}

static void
test_smuggling(void)
{
	const char *tail = "MAIL FROM:<a@b.example>\r\n";
	char s[200];

	snprintf(s, sizeof(s), "a\n.\n%s.\r\n", tail);
	both(s, false, "<LF>.<LF> is content, refused as bare LF", strlen(s), NULL,
	     SMTPDATA_BARE_LF);
	both(s, true, "<LF>.<LF> lenient: line ends, still no end", strlen(s),
	     "a\r\n.\r\nMAIL FROM:<a@b.example>\r\n", SMTPDATA_BARE_LF);
	snprintf(s, sizeof(s), "a\r.\r%s.\r\n", tail);
	both(s, false, "<CR>.<CR> is content, refused as bare CR", strlen(s), NULL,
	     SMTPDATA_BARE_CR);
	snprintf(s, sizeof(s), "a\n.\r\n%s.\r\n", tail);
	both(s, false, "<LF>.<CR><LF> is content", strlen(s), NULL, SMTPDATA_BARE_LF);
	both(s, true, "<LF>.<CR><LF> lenient: kept as a dot line", strlen(s),
	     "a\r\n.\r\nMAIL FROM:<a@b.example>\r\n", SMTPDATA_BARE_LF);
	snprintf(s, sizeof(s), "a\r\n.\n%s.\r\n", tail);
	both(s, false, "<CR><LF>.<LF> is content", strlen(s), NULL, SMTPDATA_BARE_LF);
	snprintf(s, sizeof(s), "a\r\n.\r%s.\r\n", tail);
	both(s, false, "<CR><LF>.<CR> is content", strlen(s), NULL, SMTPDATA_BARE_CR);
	ok(smtpdata_refused(&d), "refused by default");
	feed("a\nb\r\n.\r\n", true, false);
	ok(!smtpdata_refused(&d), "not refused when lenient");
}

static void
test_limits(void)
{
	char s[1200];

	memset(s, 'x', 998);
	memcpy(s + 998, "\r\n.\r\n", 6);
	feed(s, false, false);
	ok(d.done && d.problems == 0, "a line of 998 bytes and CRLF fits 1000");
	memset(s, 'x', 999);
	memcpy(s + 999, "\r\n.\r\n", 6);
	feed(s, false, false);
	ok(d.done && d.problems == SMTPDATA_LONG_LINE && out.len == 0,
	   "999 bytes: too long, nothing kept");
	{
		char big[6000];
		size_t i;

		for (i = 0; i + 100 < sizeof(big); i += 100) {
			memset(big + i, 'y', 98);
			memcpy(big + i + 98, "\r\n", 2);
		}
		memcpy(big + i, ".\r\n", 4);
		feed(big, false, false);
		ok(d.done && (d.problems & SMTPDATA_TOO_BIG) && smtpdata_refused(&d),
		   "past max_size: refused, the end still found");
	}
}

int
main(void)
{
	test_plain();
	test_smuggling();
	test_limits();
	buf_free(&out);
	return done_testing();
}
