/*
 * fuzz-report_xml - aggregate reports made from records whose text the
 * sender chose: header From, envelope From and To, DKIM d= and s=, and
 * the policy record's fo= and rua as published.
 *
 * The input, split at NUL bytes, gives those values for two records (the
 * second with its values in reverse order); both report formats are made
 * and each must be well-formed XML: every byte valid UTF-8 and no control
 * byte but TAB, CR and LF, every '&' an entity, tags balanced with names
 * of letters, digits, '_', '-', '.' and ':' - so no value can end an
 * element or start one.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "report_xml.h"
#include "store.h"

#include "reportrec.h"

#define FUZZ_DEPTH 32

/* The length of a valid UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : 4;

	if (p[0] >= 0x80 && (p[0] < 0xc2 || p[0] > 0xf4))
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static bool
name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':';
}

/* One tag at p (after '<'): its name compared with the open ones. */
static size_t
check_tag(const char *p, size_t n, const char *stack[FUZZ_DEPTH], size_t nstack[FUZZ_DEPTH],
          size_t *depth)
{
	const char *end = memchr(p, '>', n);
	bool closing = n > 0 && p[0] == '/';
	const char *name = p + closing;
	size_t len = 0;

	if (end == NULL)
		abort();
	while (name + len < end && name_char((unsigned char)name[len]))
		len++;
	if (len == 0 && p[0] != '?')
		abort();
	if (p[0] == '?' || end[-1] == '/')
		return (size_t)(end - p) + 1;
	if (closing) {
		if (*depth == 0 || nstack[*depth - 1] != len ||
		    memcmp(stack[*depth - 1], name, len))
			abort();
		(*depth)--;
	} else {
		if (*depth == FUZZ_DEPTH)
			abort();
		stack[*depth] = name;
		nstack[(*depth)++] = len;
	}
	return (size_t)(end - p) + 1;
}

static void
check_xml(const struct buf *b)
{
	static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
	const unsigned char *p = (const unsigned char *)b->data;
	const char *stack[FUZZ_DEPTH];
	size_t nstack[FUZZ_DEPTH], depth = 0, i = 0, len, e;

	while (i < b->len) {
		if (p[i] == '<') {
			i += 1 + check_tag(b->data + i + 1, b->len - i - 1, stack, nstack, &depth);
			continue;
		}
		if (p[i] == '&') {
			for (e = 0; e < 5 && strncmp(b->data + i, entities[e], strlen(entities[e]));
			     e++)
				;
			if (e == 5)
				abort();
		}
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			abort();
		if ((len = utf8_len(p + i, b->len - i)) == 0)
			abort();
		i += len;
	}
	if (depth != 0)
		abort();
}

static void
fuzz_record(struct test_record *t, const char *const v[8])
{
	test_record_init(t, "example.org", "192.0.2.1", 1000);
	t->r.header_from = v[0];
	t->r.envelope_from = v[1];
	t->r.envelope_to = v[2];
	snprintf(t->dk[0].d, sizeof(t->dk[0].d), "%s", v[3]);
	snprintf(t->dk[1].s, sizeof(t->dk[1].s), "%s", v[4]);
	snprintf(t->d.record.fo, sizeof(t->d.record.fo), "%s", v[5]);
	snprintf(t->d.record.rua[0], DMARC_URI_MAX, "%s", v[6]);
	snprintf(t->spf.domain, sizeof(t->spf.domain), "%s", v[7]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	const char *v[8] = {"", "", "", "", "", "", "", ""}, *rev[8];
	struct test_record t[2];
	struct store_row *rows[2] = {NULL, NULL};
	struct aggregate *a = aggregate_new(NULL);
	size_t i, n = 0;

	if (copy == NULL || a == NULL)
		goto done;
	memcpy(copy, data, size);
	copy[size] = '\0';
	v[0] = copy;
	for (i = 0; i < size && n < 7; i++)
		if (copy[i] == '\0')
			v[++n] = copy + i + 1;
	for (i = 0; i < 8; i++)
		rev[i] = v[7 - i];
	fuzz_record(&t[0], v);
	fuzz_record(&t[1], rev);
	for (i = 0; i < 2; i++)
		if ((rows[i] = store_row_new(&t[i].r, "mx", i ? "u2" : "u1")) == NULL ||
		    aggregate_add(a, rows[i], NULL) < 0)
			goto done;
	aggregate_finish(a);
	for (int f = 0; f < 2; f++) {
		struct report_meta m = {f ? REPORT_RFC7489 : REPORT_RFC9990,
		                        "Org & <co>",
		                        "a@b.example",
		                        v[5],
		                        "id1",
		                        "authmilter fuzz",
		                        0,
		                        86400};
		struct buf b;
		buf_init(&b, 1 << 24);
		if (report_xml(&m, a, &b) == 0)
			check_xml(&b);
		buf_free(&b);
	}
done:
	free(rows[0]);
	free(rows[1]);
	aggregate_free(a);
	free(copy);
	return 0;
}
