/*
 * test-dkim-tag - tag=value lists (RFC 6376 §3.2) and base64 with
 * whitespace, including hostile input.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dkim_tag.h"
#include "tap.h"

static enum dkim_tag_status
parse(const char *s, struct dkim_tag_list *l)
{
	return dkim_tag_parse(s, strlen(s), l);
}

static void
test_basic(void)
{
	struct dkim_tag_list l;
	const struct dkim_tag *t;
	const char *s = "v=1; a=rsa-sha256;\r\n\tb= ab cd\r\n ef ; h = from : to;";

	is_int(parse(s, &l), DKIM_TAG_OK, "signature-like list parses");
	is_int(l.count, 4, "four tags");
	t = dkim_tag_find(&l, "b");
	ok(t != NULL, "b found");
	is_mem(t->value, t->value_len, "ab cd\r\n ef", 10,
	       "b value keeps inner folding, not the ends");
	is_int(t->region_off, 23, "b region starts right after '='");
	is_mem(s + t->region_off, t->region_len, " ab cd\r\n ef ", 12,
	       "b region is everything up to ';'");
	t = dkim_tag_find(&l, "h");
	is_mem(t->value, t->value_len, "from : to", 9, "h value");
	is_mem(t->name, t->name_len, "h", 1, "h name without whitespace");
	ok(dkim_tag_find(&l, "B") == NULL, "tag names are case-sensitive");
	ok(dkim_tag_find(&l, "x") == NULL, "absent tag");
}

static void
test_edges(void)
{
	struct dkim_tag_list l;
	const struct dkim_tag *t;

	is_int(parse("", &l), DKIM_TAG_OK, "empty list");
	is_int(l.count, 0, "empty list has no tags");
	is_int(parse("a=1", &l), DKIM_TAG_OK, "no final ';'");
	is_int(parse("a=1;", &l), DKIM_TAG_OK, "final ';'");
	is_int(parse("a=1; \r\n\t", &l), DKIM_TAG_OK, "whitespace after final ';'");
	is_int(parse("a=;b=2", &l), DKIM_TAG_OK, "empty value");
	t = dkim_tag_find(&l, "a");
	is_int(t->value_len, 0, "empty value has length 0");
	is_int(parse("a_1=x", &l), DKIM_TAG_OK, "underscore and digits in a name");
	is_int(parse("z=caf\xc3\xa9", &l), DKIM_TAG_OK, "8-bit bytes in a value (RFC 8616)");
	is_int(parse("a=b=c", &l), DKIM_TAG_OK, "'=' inside a value");
	t = dkim_tag_find(&l, "a");
	is_mem(t->value, t->value_len, "b=c", 3, "value with '='");
}

static void
test_hostile(void)
{
	static const struct {
		const char *in;
		enum dkim_tag_status want;
	} cases[] = {
	    {"=", DKIM_TAG_SYNTAX},
	    {"a", DKIM_TAG_SYNTAX},
	    {"a=1;;b=2", DKIM_TAG_SYNTAX},
	    {"1a=b", DKIM_TAG_SYNTAX},
	    {"_a=b", DKIM_TAG_SYNTAX},
	    {"a=\x01", DKIM_TAG_SYNTAX},
	    {"a=x\x7f", DKIM_TAG_SYNTAX},
	    {"a b=c", DKIM_TAG_SYNTAX},
	    {";", DKIM_TAG_SYNTAX},
	    {"a=1;b=2;a=3", DKIM_TAG_DUPLICATE},
	    {"a=1; a =1", DKIM_TAG_DUPLICATE},
	    {"a-b=1", DKIM_TAG_SYNTAX},
	};
	struct dkim_tag_list l;
	char big[DKIM_TAG_MAX * 8 + 16];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(parse(cases[i].in, &l), cases[i].want, "hostile list %zu", i);
	is_int(dkim_tag_parse("a=x\0y", 5, &l), DKIM_TAG_SYNTAX, "NUL inside a value");
	for (int i = 0; i <= DKIM_TAG_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "t%d=1;", i);
	is_int(dkim_tag_parse(big, n, &l), DKIM_TAG_TOO_MANY, "more than DKIM_TAG_MAX tags");
	is_int(l.count, DKIM_TAG_MAX, "the tags before the limit are kept");
}

static void
test_base64(void)
{
	unsigned char out[8];

	is_int(dkim_base64_decode("AQID", 4, out, sizeof(out)), 3, "4 symbols, 3 bytes");
	is_mem(out, 3, "\x01\x02\x03", 3, "decoded bytes");
	is_int(dkim_base64_decode(" AQ\r\n\tID ", 9, out, sizeof(out)), 3, "whitespace ignored");
	is_int(dkim_base64_decode("AQ==", 4, out, sizeof(out)), 1, "two pad characters");
	is_int(out[0], 1, "padded byte");
	is_int(dkim_base64_decode("AQI=", 4, out, sizeof(out)), 2, "one pad character");
	is_int(dkim_base64_decode("", 0, out, sizeof(out)), 0, "empty input");
	is_int(dkim_base64_decode("AQ", 2, out, sizeof(out)), -1, "missing padding");
	is_int(dkim_base64_decode("AQ=", 3, out, sizeof(out)), -1, "short padding");
	is_int(dkim_base64_decode("A===", 4, out, sizeof(out)), -1, "three pad characters");
	is_int(dkim_base64_decode("AQ==AQID", 8, out, sizeof(out)), -1, "data after padding");
	is_int(dkim_base64_decode("AQ!D", 4, out, sizeof(out)), -1, "bad character");
	is_int(dkim_base64_decode("AQIDBAUGBwgJ", 12, out, sizeof(out)), -1, "too long for out");
	is_int(dkim_base64_decode("AQIDBAUG", 8, out, 6), 6, "exactly fills out");
}

struct collect {
	struct buf seen;
	const char *stop_at;
};

/* Records each element as "[element]"; stops at stop_at. */
static const char *
collect_element(const char *p, size_t len, void *ctx)
{
	struct collect *c = ctx;

	buf_printf(&c->seen, "[%.*s]", (int)len, p);
	return c->stop_at != NULL && strlen(c->stop_at) == len && memcmp(p, c->stop_at, len) == 0
	           ? "stopped"
	           : NULL;
}

static void
test_each_element(void)
{
	const char v[] = "from : To\r\n\t:: subject";
	struct dkim_tag t = {0};
	struct collect c = {.stop_at = NULL};

	t.value = v;
	t.value_len = sizeof(v) - 1;
	buf_init(&c.seen, 256);
	ok(dkim_tag_each_element(&t, collect_element, &c) == NULL, "every element taken");
	is_str(c.seen.data, "[from][To][][subject]", "elements split at colons, FWS trimmed");
	buf_reset(&c.seen);
	c.stop_at = "To";
	is_str(dkim_tag_each_element(&t, collect_element, &c), "stopped",
	       "the callback's answer ends the walk");
	is_str(c.seen.data, "[from][To]", "no element after the stop");
	buf_free(&c.seen);
}

int
main(void)
{
	test_basic();
	test_edges();
	test_hostile();
	test_base64();
	test_each_element();
	return done_testing();
}
