/*
 * fuzz-msg - the header parser, unfolding and the From domain on arbitrary
 * bytes.  The parser must take any input: no field is refused, end of
 * headers comes exactly once, and no field passed on is longer than the
 * bound.  The first input byte chooses where the rest is split into two
 * chunks, so line ends split across chunks are exercised too.  Besides
 * memory errors it checks invariants: the split never changes what is
 * parsed or how bare LFs are converted, a From value parses the same folded
 * and unfolded, and a field given milter-style as name and value is
 * stored with the same bytes as when it was parsed.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

/* Fields longer than this are kept truncated. */
#define FUZZ_MAX_FIELD (1u << 16)

struct fuzz_parsed {
	struct msg_headers *h;
	size_t body_bytes;
	int eohs;
};

static int
fuzz_field(void *ctx, const struct msg_field *f, struct auth_error *err)
{
	struct fuzz_parsed *p = ctx;

	if (f->raw_len > FUZZ_MAX_FIELD || p->eohs != 0 ||
	    (f->name_len == 0 && f->value_off != 0) || f->value_off > f->raw_len)
		abort();
	return msg_headers_add_field(p->h, f, err);
}

static int
fuzz_eoh(void *ctx, struct auth_error *err)
{
	(void)err;
	((struct fuzz_parsed *)ctx)->eohs++;
	return 0;
}

static int
fuzz_body(void *ctx, const char *b, size_t n, struct auth_error *err)
{
	struct fuzz_parsed *p = ctx;

	(void)b;
	(void)err;
	if (p->eohs != 1)
		abort();
	p->body_bytes += n;
	return 0;
}

/* Feeds msg as chunks [0, split) and [split, len); the parser never
 * refuses input, and reports end of headers exactly once.  Returns the
 * absolute body offset (len when there is no body). */
static size_t
fuzz_parse(struct fuzz_parsed *out, const char *msg, size_t len, size_t split)
{
	static const struct msg_parser_ops ops = {fuzz_field, fuzz_eoh, fuzz_body};
	struct msg_parser *p = msg_parser_new(&ops, out, FUZZ_MAX_FIELD);

	if (p == NULL || (out->h = msg_headers_new()) == NULL)
		abort();
	if (msg_parser_feed(p, msg, split, NULL) < 0 ||
	    msg_parser_feed(p, msg + split, len - split, NULL) < 0 ||
	    msg_parser_finish(p, NULL) < 0 || out->eohs != 1 || out->body_bytes > len)
		abort();
	msg_parser_free(p);
	return len - out->body_bytes;
}

static void
fuzz_same_headers(const struct msg_headers *a, const struct msg_headers *b)
{
	const struct msg_field *fa, *fb;
	size_t i;

	if (msg_headers_count(a) != msg_headers_count(b))
		abort();
	for (i = 0; i < msg_headers_count(a); i++) {
		fa = msg_headers_get(a, i);
		fb = msg_headers_get(b, i);
		if (fa->raw_len != fb->raw_len || memcmp(fa->raw, fb->raw, fa->raw_len) != 0 ||
		    fa->name_len != fb->name_len || fa->value_off != fb->value_off ||
		    fa->truncated != fb->truncated)
			abort();
	}
}

/* Checks what every From result must satisfy, whatever the input. */
static void
fuzz_check_from(const struct msg_from *f)
{
	size_t i, len;

	if (f->ndomains > MSG_FROM_MAX_DOMAINS)
		abort();
	for (i = 0; i < f->ndomains; i++) {
		len = strlen(f->domains[i]);
		if (len == 0 || len > DNS_NAME_MAX)
			abort();
	}
	if (f->status == MSG_FROM_SYNTAX && f->ndomains != 0)
		abort();
}

static void
fuzz_same_from(const struct msg_from *a, const struct msg_from *b)
{
	size_t i;

	if (a->status != b->status || a->ndomains != b->ndomains ||
	    a->had_ulabel != b->had_ulabel || a->truncated != b->truncated)
		abort();
	for (i = 0; i < a->ndomains; i++)
		if (strcmp(a->domains[i], b->domains[i]) != 0)
			abort();
}

/* Converting in two chunks gives what one chunk gives, with no bare LF. */
static void
fuzz_crlf(const char *msg, size_t len, size_t split)
{
	struct msg_crlf a = {false}, b = {false};
	struct buf one, two;
	size_t i;

	buf_init(&one, 2 * len + 1);
	buf_init(&two, 2 * len + 1);
	if (msg_crlf_convert(&a, msg, len, &one) < 0 ||
	    msg_crlf_convert(&b, msg, split, &two) < 0 ||
	    msg_crlf_convert(&b, msg + split, len - split, &two) < 0)
		abort();
	if (one.len != two.len || (one.len > 0 && memcmp(one.data, two.data, one.len) != 0))
		abort();
	for (i = 0; i < one.len; i++)
		if (one.data[i] == '\n' && (i == 0 || one.data[i - 1] != '\r'))
			abort();
	buf_free(&one);
	buf_free(&two);
}

/* Adding a parsed field back as name and value gives the same bytes. */
static void
fuzz_readd(struct msg_headers *again, const struct msg_field *f)
{
	const struct msg_field *g;
	const char *v;
	size_t len;

	if (f->name_len == 0 || f->value_off != f->name_len + 1 || f->truncated)
		return;
	v = msg_field_value(f, &len);
	if (msg_headers_add(again, f->raw, f->name_len, v, len, NULL) < 0)
		abort();
	g = msg_headers_get(again, msg_headers_count(again) - 1);
	if (g->raw_len != f->raw_len || memcmp(g->raw, f->raw, f->raw_len) != 0)
		abort();
}

static void
fuzz_fields(const struct msg_headers *h)
{
	struct msg_headers *again = msg_headers_new();
	struct msg_from folded, unfolded;
	struct buf out;
	const struct msg_field *f;
	const char *v;
	size_t i, len;

	if (again == NULL)
		abort();
	buf_init(&out, 1 << 21);
	for (i = 0; i < msg_headers_count(h); i++) {
		f = msg_headers_get(h, i);
		v = msg_field_value(f, &len);
		buf_reset(&out);
		if (msg_field_unfold(f, &out) < 0 || out.len > len)
			abort();
		msg_from_parse(v, len, &folded);
		fuzz_check_from(&folded);
		msg_from_parse(out.data, out.len, &unfolded);
		fuzz_same_from(&folded, &unfolded);
		fuzz_readd(again, f);
	}
	buf_free(&out);
	msg_headers_free(again);
	msg_from_extract(h, &folded);
	fuzz_check_from(&folded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parsed split_p = {0}, whole_p = {0};
	const char *msg = (const char *)data + 1;
	size_t len, split;

	if (size == 0)
		return 0;
	len = size - 1;
	split = data[0] % (len + 1);
	if (fuzz_parse(&split_p, msg, len, split) != fuzz_parse(&whole_p, msg, len, len))
		abort();
	fuzz_same_headers(split_p.h, whole_p.h);
	fuzz_fields(split_p.h);
	fuzz_crlf(msg, len, split);
	msg_headers_free(split_p.h);
	msg_headers_free(whole_p.h);
	return 0;
}
