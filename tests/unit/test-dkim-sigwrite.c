/*
 * test-dkim-sigwrite - writing signature fields: tags and folding at 76
 * columns, h= folded between names, b= filling its lines, the h= names
 * counted and oversigned, and what the header list may not hold.
 */
#include "autoconf.h"

#include "dkim-util.h"
#include "dkim_sigwrite.h"
#include "tap.h"

static void
test_layout(void)
{
	/* 41 columns, then a 36-column tag that would pass 76; b= fills the
	 * rest of its line (13 characters) and then lines of 68. */
	static const char want[] =
	    "X-Sig: v=1; d=example.com; t=1700000000;\r\n"
	    "\tlong=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; h=from:subject; b=AAECAwQFBgcIC\r\n"
	    "\tQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7P\r\n"
	    "\tD0+P0BBQkNERUZHSElKS0xNTk9Q";
	struct dkim_sigwrite w;
	struct dkim_name_view names[2] = {{"from", 4}, {"subject", 7}};
	unsigned char sig[81];
	char *f;

	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (unsigned char)i;
	dkim_sigwrite_begin(&w, "X-Sig");
	dkim_sigwrite_tag(&w, "v", "1");
	dkim_sigwrite_tag(&w, "d", "example.com");
	dkim_sigwrite_num(&w, "t", 1700000000);
	dkim_sigwrite_tag(&w, "long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	dkim_sigwrite_h(&w, names, 2);
	dkim_sigwrite_token(&w, "b=", 2);
	is_int(dkim_sigwrite_b(&w, sig, sizeof(sig)), 0, "b= written");
	f = dkim_sigwrite_steal(&w);
	is_str(f, want, "exact field, folded before 76 columns");
	free(f);
}

static void
test_h_folding(void)
{
	struct dkim_name_view names[12];
	struct dkim_sigwrite w;
	char *f, *line;
	size_t longest = 0;

	for (size_t i = 0; i < 12; i++)
		names[i] = (struct dkim_name_view){"content-transfer-encoding", 25};
	dkim_sigwrite_begin(&w, "DKIM-Signature");
	dkim_sigwrite_h(&w, names, 12);
	f = dkim_sigwrite_steal(&w);
	for (line = f; line != NULL; line = strstr(line, "\r\n")) {
		size_t n;

		line += line[0] == '\r' ? 2 : 0;
		n = strcspn(line, "\r");
		longest = n > longest ? n : longest;
	}
	ok(longest <= 76, "a long h= folds between names (longest line %zu)", longest);
	ok(strstr(f, "content-transfer-encoding:\r\n\tcontent-transfer-encoding") != NULL,
	   "the fold comes after a colon");
	free(f);
}

static long
names_of(const char *list, const char *oversign, const struct msg_headers *h, char *out,
         size_t size, struct auth_error *err)
{
	struct dkim_name_view names[DKIM_SIG_MAX_HEADERS];
	long n = dkim_sigwrite_names(list, oversign, h, names, err);
	size_t len = 0;

	out[0] = '\0';
	for (long i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%.*s", i ? ":" : "",
		                        (int)names[i].len, names[i].p);
	return n;
}

static void
test_names(void)
{
	static const char text[] = "From: a@example.com\r\nTo: b\r\nTo: c\r\nSubject: s\r\n\r\n";
	struct auth_error err = {0};
	struct tmsg m;
	char got[1024], many[4096];
	size_t len = 0;

	tmsg_parse(&m, text, strlen(text));
	is_int(names_of("from:to:cc:subject", NULL, m.h, got, sizeof(got), &err), 4, "four names");
	is_str(got, "from:to:to:subject", "each as often as it occurs; absent Cc not listed");
	names_of("from:to:cc:subject", "from:cc", m.h, got, sizeof(got), &err);
	is_str(got, "from:from:to:to:cc:subject", "From and Cc oversigned");
	names_of("FROM:to", "from", m.h, got, sizeof(got), &err);
	is_str(got, "FROM:FROM:to:to", "names match case-insensitively");
	is_int(names_of("to:subject", NULL, m.h, got, sizeof(got), &err), -1, "no From");
	is_str(err.msg, "the header list must include From", "no From: message");
	is_int(names_of("from::to", NULL, m.h, got, sizeof(got), &err), -1, "an empty name");
	is_int(names_of("from:x y", NULL, m.h, got, sizeof(got), &err), -1, "a name with a space");
	for (int i = 0; i < DKIM_SIG_MAX_HEADERS; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "x%d:", i);
	snprintf(many + len, sizeof(many) - len, "from");
	is_int(names_of(many, many, m.h, got, sizeof(got), &err), -1,
	       "more than DKIM_SIG_MAX_HEADERS names");
	is_int(err.code, AUTH_ELIMIT, "too many: a limit");
	tmsg_free(&m);
}

int
main(void)
{
	test_layout();
	test_h_folding();
	test_names();
	return done_testing();
}
