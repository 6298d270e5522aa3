/*
 * test-msg - header fields over raw bytes, the streaming header parser
 * (which takes any input, cutting only over-long fields), bare-LF
 * conversion and the message file reader.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1

struct parsed {
	struct msg_headers *h;
	size_t body_off; /* where the body started in the input; len when none */
	size_t total;    /* bytes fed so far */
	int eohs;
	size_t body_bytes;
};

static int
cb_field(void *ctx, const struct msg_field *f, struct auth_error *err)
{
	return msg_headers_add_field(((struct parsed *)ctx)->h, f, err);
}

static int
cb_eoh(void *ctx, struct auth_error *err)
{
	(void)err;
	((struct parsed *)ctx)->eohs++;
	return 0;
}

static int
cb_body(void *ctx, const char *p, size_t n, struct auth_error *err)
{
	struct parsed *r = ctx;

	(void)p;
	(void)err;
	r->body_bytes += n;
	return 0;
}

static const struct msg_parser_ops ops = {cb_field, cb_eoh, cb_body};

/* Feeds msg in chunks of at most chunk bytes (0: all at once) to a parser
 * keeping max bytes of a field, then finishes.  *body is the body offset
 * (len when there is no body).  Returns 0, or -1 when a call failed. */
static int
parse_max(struct msg_headers *h, const char *msg, size_t len, size_t chunk, size_t max,
          size_t *body)
{
	struct parsed r = {h, 0, 0, 0, 0};
	struct msg_parser *p = msg_parser_new(&ops, &r, max);
	size_t at = 0, n;
	int rc = 0;

	if (chunk == 0)
		chunk = len ? len : 1;
	while (at < len && rc == 0) {
		n = len - at < chunk ? len - at : chunk;
		rc = msg_parser_feed(p, msg + at, n, NULL);
		at += n;
	}
	if (rc == 0)
		rc = msg_parser_finish(p, NULL);
	if (rc == 0 && r.eohs != 1)
		rc = -1;
	*body = len - r.body_bytes;
	msg_parser_free(p);
	return rc;
}

static int
parse(struct msg_headers *h, const char *msg, size_t len, size_t chunk, size_t *body)
{
	return parse_max(h, msg, len, chunk, 0, body);
}

static void
is_field(const struct msg_headers *h, size_t i, const char *raw, size_t raw_len, size_t name_len,
         size_t value_off, const char *what)
{
	const struct msg_field *f = msg_headers_get(h, i);

	if (!ok(f != NULL, "%s: field %zu exists", what, i))
		return;
	is_mem(f->raw, f->raw_len, raw, raw_len, "%s: field %zu raw bytes", what, i);
	is_int(f->name_len, name_len, "%s: field %zu name length", what, i);
	is_int(f->value_off, value_off, "%s: field %zu value offset", what, i);
}

static void
test_add_milter_style(void)
{
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;
	const char *v;
	size_t len;

	is_int(msg_headers_add(h, S("Subject"), S(" hello"), &err), 0, "add Subject");
	is_field(h, 0, S("Subject: hello"), 7, 8, "milter field");
	v = msg_field_value(msg_headers_get(h, 0), &len);
	is_mem(v, len, " hello", 6, "value keeps leading space");
	is_int(msg_headers_add(h, S("X-Fold"), S(" a\n\tb\r\n c"), &err), 0, "add folded value");
	is_field(h, 1, S("X-Fold: a\r\n\tb\r\n c"), 6, 7, "folded lines stored as CRLF");
	is_int(msg_headers_add(h, S("X-Bin"), S(" a\0b\xff\rc"), &err), 0, "add binary value");
	is_field(h, 2, S("X-Bin: a\0b\xff\rc"), 5, 6, "NUL, 8-bit and bare CR kept");
	is_int(msg_headers_add(h, S("Empty"), S(""), &err), 0, "add empty value");
	is_field(h, 3, S("Empty:"), 5, 6, "empty value");
	is_int(msg_headers_add(h, S("Null"), NULL, 0, &err), 0, "add NULL empty value");
	is_field(h, 4, S("Null:"), 4, 5, "NULL empty value");
	is_int(msg_headers_count(h), 5, "five fields");
	ok(msg_headers_get(h, 5) == NULL, "get past the end is NULL");
	msg_headers_free(h);
}

/* Nothing is refused: an odd name makes a field without a name, which no
 * name matches; WSP at the end of a milter name stood before the colon. */
static void
test_add_odd_names(void)
{
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;
	char name[1200];

	is_int(msg_headers_add(h, S("From "), S(" a@example.com"), &err), 0, "name with WSP");
	is_field(h, 0, S("From : a@example.com"), 4, 6, "WSP before the colon kept in raw");
	ok(msg_field_is(msg_headers_get(h, 0), "from"), "and the field is From");
	is_int(msg_headers_add(h, S("From\t\t"), S("x"), &err), 0, "name with tabs");
	is_field(h, 1, S("From\t\t:x"), 4, 7, "tabs before the colon");
	is_int(msg_headers_add(h, S(""), S("x"), &err), 0, "empty name taken");
	is_field(h, 2, S(":x"), 0, 0, "empty name: no name");
	is_int(msg_headers_add(h, S("A:B"), S("x"), &err), 0, "colon in name taken");
	is_field(h, 3, S("A:B:x"), 0, 0, "colon in name: no name");
	is_int(msg_headers_add(h, S("A B"), S("x"), &err), 0, "space inside name taken");
	is_field(h, 4, S("A B:x"), 0, 0, "space inside name: no name");
	is_int(msg_headers_add(h, S("A\0B"), S("x"), &err), 0, "NUL in name taken");
	is_int(msg_headers_get(h, 5)->name_len, 0, "NUL in name: no name");
	is_int(msg_headers_add(h, S("A\xc3\xa9"), S("x"), &err), 0, "8-bit name taken");
	is_int(msg_headers_get(h, 6)->name_len, 0, "8-bit name: no name");
	memset(name, 'n', sizeof(name));
	is_int(msg_headers_add(h, name, sizeof(name), S("x"), &err), 0, "1200-byte name taken");
	is_int(msg_headers_get(h, 7)->name_len, sizeof(name), "a long name is still a name");
	is_int(msg_headers_add(h, S("A"), S(" a\nb"), &err), 0, "line end without WSP taken");
	is_field(h, 8, S("A: a\r\nb"), 1, 2, "and stored as it came, CRLF");
	is_int(msg_headers_add(h, S("A"), S(" a\r\n"), &err), 0, "value ending in CRLF taken");
	is_int(msg_headers_count(h), 10, "every field was added");
	ok(!msg_field_is(msg_headers_get(h, 2), ""), "a field without a name matches no name");
	msg_headers_free(h);
}

static void
test_add_raw(void)
{
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;

	is_int(msg_headers_add_raw(h, S("Subject : obs"), &err), 0, "WSP before colon accepted");
	is_field(h, 0, S("Subject : obs"), 7, 9, "obs-optional name excludes WSP");
	is_int(msg_headers_add_raw(h, S("X\t\t:v\n w"), &err), 0, "tabs before colon, LF fold");
	is_field(h, 1, S("X\t\t:v\r\n w"), 1, 4, "raw LF fold stored as CRLF");
	is_int(msg_headers_add_raw(h, S("no colon here"), &err), 0, "no colon taken");
	is_field(h, 2, S("no colon here"), 0, 0, "no colon: no name");
	is_int(msg_headers_add_raw(h, S(": no name"), &err), 0, "empty name taken");
	is_field(h, 3, S(": no name"), 0, 0, "empty name: no name");
	is_int(msg_headers_add_raw(h, S("Na me: x"), &err), 0, "space inside name taken");
	is_field(h, 4, S("Na me: x"), 0, 0, "space inside name: no name");
	is_int(msg_headers_add_raw(h, S("A: x\r\nB: y"), &err), 0, "two fields in one taken");
	is_field(h, 5, S("A: x\r\nB: y"), 1, 2, "as one field named A");
	is_int(msg_headers_count(h), 6, "six fields");
	is_int(msg_headers_bytes(h), 13 + 2 + 9 + 2 + 13 + 2 + 9 + 2 + 8 + 2 + 10 + 2,
	       "bytes count each field and its CRLF");
	msg_headers_free(h);
}

static void
test_find_and_is(void)
{
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;

	msg_headers_add_raw(h, S("From: a@example.com"), &err);
	msg_headers_add_raw(h, S("From-X: no"), &err);
	msg_headers_add_raw(h, S("FROM : b@example.com"), &err);
	is_int(msg_headers_find(h, "from", 0), 0, "find is case-insensitive");
	is_int(msg_headers_find(h, "From", 1), 2, "find from a start index, obs WSP name");
	is_int(msg_headers_find(h, "From", 3), -1, "find past the last match");
	is_int(msg_headers_find(h, "Fro", 0), -1, "a prefix does not match");
	is_int(msg_headers_find(h, "From", 99), -1, "start past the end");
	ok(msg_field_is(msg_headers_get(h, 1), "from-x"), "field_is ignores case");
	ok(!msg_field_is(msg_headers_get(h, 1), "From"), "field_is needs the whole name");
	msg_headers_free(h);
}

static void
test_unfold(void)
{
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;
	struct buf out;

	buf_init(&out, 100);
	msg_headers_add_raw(h, S("Subject: a\r\n b\r\n\tc\rd"), &err);
	is_int(msg_field_unfold(msg_headers_get(h, 0), &out), 0, "unfold");
	is_mem(out.data, out.len, " a b\tc\rd", 8, "CRLF before WSP dropped, bare CR kept");
	buf_free(&out);
	buf_init(&out, 5);
	buf_append(&out, "xy", 2);
	is_int(msg_field_unfold(msg_headers_get(h, 0), &out), -1, "unfold past max fails");
	is_mem(out.data, out.len, "xy", 2, "out unchanged after failed unfold");
	buf_free(&out);
	msg_headers_free(h);
}

static const char crlf_msg[] = "Received: from x\r\n\tby y\r\nFrom: a@example.com\r\n"
                               "Subject : hi\r\n\r\nX-Not: a header\r\nbody\r\n";
static const char lf_msg[] = "Received: from x\n\tby y\nFrom: a@example.com\n"
                             "Subject : hi\n\nX-Not: a header\nbody\n";

static void
check_parsed(const struct msg_headers *h, const char *what)
{
	is_int(msg_headers_count(h), 3, "%s: three fields", what);
	is_field(h, 0, S("Received: from x\r\n\tby y"), 8, 9, what);
	is_field(h, 1, S("From: a@example.com"), 4, 5, what);
	is_field(h, 2, S("Subject : hi"), 7, 9, what);
}

static void
test_parse_whole_and_byte_at_a_time(void)
{
	const struct {
		const char *msg;
		size_t len, body, chunk;
		const char *what;
	} cases[] = {
	    {crlf_msg, sizeof(crlf_msg) - 1, 62, 0, "CRLF message in one chunk"},
	    {crlf_msg, sizeof(crlf_msg) - 1, 62, 1, "CRLF message one byte at a time"},
	    {crlf_msg, sizeof(crlf_msg) - 1, 62, 7, "CRLF message in 7-byte chunks"},
	    {lf_msg, sizeof(lf_msg) - 1, 57, 0, "LF-only message in one chunk"},
	    {lf_msg, sizeof(lf_msg) - 1, 57, 1, "LF-only message one byte at a time"},
	};
	struct msg_headers *h;
	size_t i, body;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = msg_headers_new();
		is_int(parse(h, cases[i].msg, cases[i].len, cases[i].chunk, &body), 0, "%s: parsed",
		       cases[i].what);
		is_int(body, cases[i].body, "%s: body offset", cases[i].what);
		is_mem(cases[i].msg + body, 7, "X-Not: ", 7, "%s: body starts there",
		       cases[i].what);
		check_parsed(h, cases[i].what);
		msg_headers_free(h);
	}
}

/* Every two-chunk split gives the same fields and body offset. */
/* Every two-chunk split gives the same fields and body offset. */
static void
test_parse_every_split(void)
{
	struct parsed r;
	struct msg_parser *p;
	size_t len = sizeof(crlf_msg) - 1, split, fails = 0;

	for (split = 0; split <= len; split++) {
		memset(&r, 0, sizeof(r));
		r.h = msg_headers_new();
		p = msg_parser_new(&ops, &r, 0);
		if (msg_parser_feed(p, crlf_msg, split, NULL) < 0 ||
		    msg_parser_feed(p, crlf_msg + split, len - split, NULL) < 0 ||
		    msg_parser_finish(p, NULL) < 0 || r.eohs != 1 || len - r.body_bytes != 62 ||
		    msg_headers_count(r.h) != 3 || msg_headers_get(r.h, 0)->raw_len != 23)
			fails++;
		msg_parser_free(p);
		msg_headers_free(r.h);
	}
	is_int(fails, 0, "all %zu two-chunk splits agree", len + 1);
}

static void
test_parse_edges(void)
{
	struct msg_headers *h;
	size_t body;

	h = msg_headers_new();
	is_int(parse(h, S("A: b\r\n\r\n"), 0, &body), 0, "no body: parsed");
	is_int(body, 8, "no body: body offset at the end");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("A: b\r\n\r\nbody"), 0, &body), 0, "body after CRLFCRLF");
	is_int(body, 8, "body offset right after CRLFCRLF");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("A: b\r\nB: c\r\n"), 1, &body), 0, "no blank line: finish");
	is_int(msg_headers_count(h), 2, "no blank line: both fields");
	is_int(body, 12, "no blank line: no body");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("A: b\r\n c"), 0, &body), 0, "no final line end: finish");
	is_field(h, 0, S("A: b\r\n c"), 1, 2, "last line without line end");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("A: b\r"), 1, &body), 0, "lone CR at end of input");
	is_field(h, 0, S("A: b"), 1, 2, "final CR taken as the line end");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("\r\nbody"), 0, &body), 0, "empty header block");
	is_int(body, 2, "empty header block: body offset");
	is_int(msg_headers_count(h), 0, "empty header block: no fields");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S(""), 0, &body), 0, "empty input");
	is_int(msg_headers_count(h), 0, "empty input: no fields");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("X: a\0b\xff\rc\r\n \x80\r\n\r\n"), 1, &body), 0, "binary value");
	is_field(h, 0, S("X: a\0b\xff\rc\r\n \x80"), 1, 2, "NUL, 8-bit, bare CR kept");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("A: b\r\n\n"), 0, &body), 0, "CRLF then bare LF ends block");
	is_int(body, 7, "mixed line ends: body offset");
	msg_headers_free(h);

	h = msg_headers_new();
	is_int(parse(h, S("A: b\r\n\rX: y\r\n\r\n"), 1, &body), 0, "line starting with CR");
	is_field(h, 1, S("\rX: y"), 0, 0, "is a field without a name");
	is_int(body, 15, "the blank line after it ends the block");
	msg_headers_free(h);
}

static void
test_parse_after_end(void)
{
	struct parsed r = {msg_headers_new(), 0, 0, 0, 0};
	struct msg_parser *p = msg_parser_new(&ops, &r, 0);

	is_int(msg_parser_feed(p, S("A: b\n\nbody"), NULL), 0, "end seen");
	is_int(r.body_bytes, 4, "four body bytes");
	is_int(msg_parser_feed(p, S("C: d\n"), NULL), 0, "more input after the end");
	is_int(r.body_bytes, 9, "is body");
	is_int(msg_parser_finish(p, NULL), 0, "finish after the end");
	ok(msg_parser_in_body(p), "in the body");
	is_int(r.eohs, 1, "end of headers told once");
	is_int(msg_headers_count(r.h), 1, "one field");
	msg_parser_free(p);
	msg_headers_free(r.h);
}

/* Lines that are neither a field nor a continuation become fields
 * without a name; nothing stops the parser. */
static void
test_parse_odd_lines(void)
{
	const struct {
		const char *msg;
		size_t len;
		size_t nfields, odd;
		const char *raw;
	} cases[] = {
	    {S("not a header\r\n\r\n"), 1, 0, "not a header"},
	    {S("A: b\r\nbad line\r\n\r\n"), 2, 1, "bad line"},
	    {S(" cont\r\n\r\n"), 1, 0, " cont"},
	    {S("A: b\n\tc\n: x\n\n"), 2, 1, ": x"},
	    {S("\xc3\xa9: b\r\n\r\n"), 1, 0, "\xc3\xa9: b"},
	    {S("A: b\r\nFrom sender Mon\r\n"), 2, 1, "From sender Mon"},
	};
	struct msg_headers *h;
	size_t i, off;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = msg_headers_new();
		is_int(parse(h, cases[i].msg, cases[i].len, 1, &off), 0, "odd case %zu parsed", i);
		is_int(msg_headers_count(h), cases[i].nfields, "case %zu: fields", i);
		is_field(h, cases[i].odd, cases[i].raw, strlen(cases[i].raw), 0, 0, "odd line");
		msg_headers_free(h);
	}
	h = msg_headers_new();
	is_int(parse(h, S("A\0: b\r\n\r\n"), 1, &off), 0, "NUL in name parsed");
	is_int(msg_headers_get(h, 0)->name_len, 0, "NUL in name: no name");
	msg_headers_free(h);
}

/* The parser sets no count: what to keep is the caller's choice. */
static void
test_many_fields(void)
{
	struct msg_headers *h = msg_headers_new();
	struct buf m;
	size_t i, body;

	buf_init(&m, 1 << 20);
	for (i = 0; i < 20000; i++)
		buf_printf(&m, "X-%zu: v\r\n", i);
	buf_puts(&m, "\r\n");
	is_int(parse(h, m.data, m.len, 0, &body), 0, "20000 fields parsed");
	is_int(msg_headers_count(h), 20000, "all handed on");
	msg_headers_free(h);
	buf_free(&m);
}

/* A field past the bound is handed on with its first bytes, marked. */
static void
test_truncation(void)
{
	struct msg_headers *h;
	const struct msg_field *f;
	size_t body;

	h = msg_headers_new();
	is_int(parse_max(h, S("A: 12345678901234567890\r\nB: c\r\n\r\nx"), 1, 20, &body), 0,
	       "field over the bound parsed");
	is_field(h, 0, S("A: 12345678901234567"), 1, 2, "its first 20 bytes");
	ok(msg_headers_get(h, 0)->truncated, "marked truncated");
	is_field(h, 1, S("B: c"), 1, 2, "the next field whole");
	ok(!msg_headers_get(h, 1)->truncated, "and not marked");
	is_int(body, 33, "body found after it");
	msg_headers_free(h);

	/* 20 bytes exactly, fed byte by byte, the CR held at each chunk end. */
	h = msg_headers_new();
	is_int(parse_max(h, S("A: 12345678901234567\r\n\r\n"), 1, 20, &body), 0,
	       "field of exactly the bound");
	ok(!msg_headers_get(h, 0)->truncated, "is not truncated");
	msg_headers_free(h);

	/* A long folded field: the continuation lines past the bound go too. */
	h = msg_headers_new();
	is_int(parse_max(h, S("A: 1234567890\r\n 1234567890\r\n 12345\r\nB: c\r\n"), 3, 20, &body),
	       0, "long folded field");
	is_field(h, 0, S("A: 1234567890\r\n 1234"), 1, 2, "cut inside its lines");
	is_field(h, 1, S("B: c"), 1, 2, "next field whole");
	msg_headers_free(h);

	/* Cut before its colon: the name that came is still the name. */
	h = msg_headers_new();
	is_int(parse_max(h, S("From                 : x\r\n\r\n"), 0, 10, &body), 0,
	       "cut before the colon");
	f = msg_headers_get(h, 0);
	ok(msg_field_is(f, "From") && f->truncated, "a truncated From");
	is_int(f->value_off, 10, "with no value");
	msg_headers_free(h);
}

/* The largest limit a caller can ask for still leaves the parser working. */
/* The largest bound a caller can ask for still leaves the parser working. */
static void
test_huge_limit(void)
{
	struct msg_headers *h = msg_headers_new();
	size_t body;

	is_int(parse_max(h, S("A: b\r\n\r\n"), 1, SIZE_MAX, &body), 0, "SIZE_MAX bound: parsed");
	is_int(msg_headers_count(h), 1, "SIZE_MAX bound: one field");
	msg_headers_free(h);
}

/* A 2 MB field is refused while it streams in, before it is all held. */
/* A 2 MB field is cut at the default bound while it streams in: memory
 * stays bounded, and the field after it is read whole. */
static void
test_truncation_streaming(void)
{
	struct parsed r = {msg_headers_new(), 0, 0, 0, 0};
	struct msg_parser *p = msg_parser_new(&ops, &r, 0);
	char *chunk = malloc(65536);
	size_t i;
	int rc = 0;

	memset(chunk, 'x', 65536);
	memcpy(chunk, "Big: ", 5);
	for (i = 0; i < 32 && rc == 0; i++)
		rc = msg_parser_feed(p, chunk, i == 0 ? 65536 : 65536, NULL);
	rc |= msg_parser_feed(p, S("\r\nNext: v\r\n\r\n"), NULL);
	is_int(rc, 0, "huge field taken");
	is_int(msg_headers_count(r.h), 2, "two fields");
	is_int(msg_headers_get(r.h, 0)->raw_len, MSG_DEFAULT_MAX_FIELD_BYTES, "cut at 1 MiB");
	ok(msg_headers_get(r.h, 0)->truncated, "marked truncated");
	is_field(r.h, 1, S("Next: v"), 4, 5, "the next field");
	is_int(r.eohs, 1, "end of headers");
	free(chunk);
	msg_parser_free(p);
	msg_headers_free(r.h);
}

static int
collect_chunk(void *ctx, const char *p, size_t n, struct auth_error *err)
{
	(void)err;
	return buf_append(ctx, p, n);
}

static int
fail_chunk(void *ctx, const char *p, size_t n, struct auth_error *err)
{
	(void)ctx;
	(void)p;
	(void)n;
	return auth_error_set(err, AUTH_EINVAL, "stop");
}

static void
test_read_file(void)
{
	FILE *f = tmpfile();
	struct auth_error err;
	struct buf out;

	fputs("A: b\nC: d\r\n\nbody\n", f);
	buf_init(&out, 1 << 16);
	rewind(f);
	is_int(msg_read_file(f, true, collect_chunk, &out, &err), 0, "read with Unix lines");
	is_mem(out.data, out.len, "A: b\r\nC: d\r\n\r\nbody\r\n", 20, "bare LF made CRLF");
	buf_reset(&out);
	rewind(f);
	is_int(msg_read_file(f, false, collect_chunk, &out, &err), 0, "read as it is");
	is_mem(out.data, out.len, "A: b\nC: d\r\n\nbody\n", 17, "bytes unchanged");
	rewind(f);
	is_int(msg_read_file(f, false, fail_chunk, &out, &err), -1, "a failing chunk stops it");
	is_str(err.msg, "stop", "with its error");
	buf_free(&out);
	fclose(f);
}

static void
test_crlf_convert(void)
{
	struct msg_crlf st = {false};
	struct buf out;

	buf_init(&out, 100);
	is_int(msg_crlf_convert(&st, S("a\nb\r\nc\n"), &out), 0, "convert");
	is_mem(out.data, out.len, "a\r\nb\r\nc\r\n", 9, "bare LF made CRLF, CRLF kept");
	buf_reset(&out);
	is_int(msg_crlf_convert(&st, NULL, 0, &out), 0, "convert nothing");
	is_int(out.len, 0, "nothing converted");
	msg_crlf_convert(&st, S("x\r"), &out);
	msg_crlf_convert(&st, S(""), &out);
	msg_crlf_convert(&st, S("\ny\n"), &out);
	is_mem(out.data, out.len, "x\r\ny\r\n", 6, "CR at chunk end then LF: one CRLF");
	buf_reset(&out);
	msg_crlf_convert(&st, S("a"), &out);
	msg_crlf_convert(&st, S("\n"), &out);
	msg_crlf_convert(&st, S("\n"), &out);
	is_mem(out.data, out.len, "a\r\n\r\n", 5, "LF alone in chunks");
	buf_reset(&out);
	msg_crlf_convert(&st, S("a\rb\r"), &out);
	msg_crlf_convert(&st, S("c"), &out);
	is_mem(out.data, out.len, "a\rb\rc", 5, "bare CR kept");
	buf_free(&out);
	buf_init(&out, 4);
	buf_append(&out, "z", 1);
	is_int(msg_crlf_convert(&st, S("\n\n"), &out), -1, "convert past max fails");
	is_mem(out.data, out.len, "z", 1, "out unchanged after failure");
	buf_free(&out);
}

int
main(void)
{
	test_add_milter_style();
	test_add_odd_names();
	test_add_raw();
	test_find_and_is();
	test_unfold();
	test_parse_whole_and_byte_at_a_time();
	test_parse_every_split();
	test_parse_edges();
	test_parse_after_end();
	test_parse_odd_lines();
	test_many_fields();
	test_truncation();
	test_huge_limit();
	test_truncation_streaming();
	test_read_file();
	test_crlf_convert();
	return done_testing();
}
