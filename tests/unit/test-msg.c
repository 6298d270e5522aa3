/*
 * test-msg - header fields over raw bytes, the streaming header parser, its
 * limits, and bare-LF conversion.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1

/* Feeds msg in chunks of at most chunk bytes (0: all at once).  Returns
 * what the last feed (or finish) returned; *body is the absolute body
 * offset when the blank line was seen, else len. */
static int
parse(struct msg_headers *h, const char *msg, size_t len, size_t chunk, size_t *body,
      struct auth_error *err)
{
	struct msg_parser *p = msg_parser_new(h);
	size_t at = 0, n, off = 0;
	int r = 0;

	*body = len;
	if (chunk == 0)
		chunk = len;
	while (at < len) {
		n = len - at < chunk ? len - at : chunk;
		r = msg_parser_feed(p, msg + at, n, &off, err);
		if (r != 0)
			break;
		at += n;
	}
	if (r == 1)
		*body = at + off;
	else if (r == 0)
		r = msg_parser_finish(p, err);
	msg_parser_free(p);
	return r;
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
	struct msg_headers *h = msg_headers_new(NULL);
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

static void
test_add_bad_input(void)
{
	struct msg_headers *h = msg_headers_new(NULL);
	struct auth_error err;
	char name[998];

	auth_error_clear(&err);
	is_int(msg_headers_add(h, S(""), S("x"), &err), -1, "empty name refused");
	is_int(err.code, AUTH_ESYNTAX, "empty name is a syntax error");
	is_int(msg_headers_add(h, S("A:B"), S("x"), &err), -1, "colon in name refused");
	is_int(msg_headers_add(h, S("A B"), S("x"), &err), -1, "space in name refused");
	is_int(msg_headers_add(h, S("A\0B"), S("x"), &err), -1, "NUL in name refused");
	is_int(msg_headers_add(h, S("A\xc3\xa9"), S("x"), &err), -1, "8-bit name refused");
	memset(name, 'n', sizeof(name));
	is_int(msg_headers_add(h, name, 998, S("x"), &err), -1, "998-byte name refused");
	is_int(msg_headers_add(h, name, 997, S("x"), &err), 0, "997-byte name accepted");
	is_int(msg_headers_add(h, S("A"), S(" a\nb"), &err), -1, "line end without WSP refused");
	is_int(err.code, AUTH_ESYNTAX, "line end without WSP is a syntax error");
	is_int(msg_headers_add(h, S("A"), S(" a\r\n"), &err), -1, "value ending in CRLF refused");
	is_int(msg_headers_count(h), 1, "only the valid field was added");
	msg_headers_free(h);
}

static void
test_add_raw(void)
{
	struct msg_headers *h = msg_headers_new(NULL);
	struct auth_error err;

	is_int(msg_headers_add_raw(h, S("Subject : obs"), &err), 0, "WSP before colon accepted");
	is_field(h, 0, S("Subject : obs"), 7, 9, "obs-optional name excludes WSP");
	is_int(msg_headers_add_raw(h, S("X\t\t:v\n w"), &err), 0, "tabs before colon, LF fold");
	is_field(h, 1, S("X\t\t:v\r\n w"), 1, 4, "raw LF fold stored as CRLF");
	is_int(msg_headers_add_raw(h, S("no colon here"), &err), -1, "no colon refused");
	is_int(err.code, AUTH_ESYNTAX, "no colon is a syntax error");
	is_int(msg_headers_add_raw(h, S(": no name"), &err), -1, "empty name refused");
	is_int(msg_headers_add_raw(h, S("Na me: x"), &err), -1, "space inside name refused");
	is_int(msg_headers_add_raw(h, S("A: x\r\nB: y"), &err), -1, "two fields in one refused");
	is_int(msg_headers_count(h), 2, "two fields");
	msg_headers_free(h);
}

static void
test_find_and_is(void)
{
	struct msg_headers *h = msg_headers_new(NULL);
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
	struct msg_headers *h = msg_headers_new(NULL);
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
	struct auth_error err;
	struct msg_headers *h;
	size_t i, body;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = msg_headers_new(NULL);
		is_int(parse(h, cases[i].msg, cases[i].len, cases[i].chunk, &body, &err), 1,
		       "%s: end of header block seen", cases[i].what);
		is_int(body, cases[i].body, "%s: body offset", cases[i].what);
		is_mem(cases[i].msg + body, 7, "X-Not: ", 7, "%s: body starts there",
		       cases[i].what);
		check_parsed(h, cases[i].what);
		msg_headers_free(h);
	}
}

/* Every two-chunk split gives the same fields and body offset. */
static void
test_parse_every_split(void)
{
	struct msg_parser *p;
	struct msg_headers *h;
	struct auth_error err;
	size_t len = sizeof(crlf_msg) - 1, split, off, fails = 0;
	int r;

	for (split = 0; split <= len; split++) {
		h = msg_headers_new(NULL);
		p = msg_parser_new(h);
		off = 999;
		r = msg_parser_feed(p, crlf_msg, split, &off, &err);
		if (r == 0)
			r = msg_parser_feed(p, crlf_msg + split, len - split, &off, &err) == 1 ? 2
			                                                                       : -1;
		if (!((r == 2 && split + off == 62) || (r == 1 && off == 62)) ||
		    msg_headers_count(h) != 3 || msg_headers_get(h, 0)->raw_len != 23)
			fails++;
		msg_parser_free(p);
		msg_headers_free(h);
	}
	is_int(fails, 0, "all %zu two-chunk splits agree", len + 1);
}

static void
test_parse_edges(void)
{
	struct msg_headers *h;
	struct auth_error err;
	size_t body;

	h = msg_headers_new(NULL);
	is_int(parse(h, S("A: b\r\n\r\n"), 0, &body, &err), 1, "no body: blank line seen");
	is_int(body, 8, "no body: body offset at the end");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S("A: b\r\n\r\nbody"), 0, &body, &err), 1, "body after CRLFCRLF");
	is_int(body, 8, "body offset right after CRLFCRLF");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S("A: b\r\nB: c\r\n"), 1, &body, &err), 0, "no blank line: finish");
	is_int(msg_headers_count(h), 2, "no blank line: both fields");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S("A: b\r\n c"), 0, &body, &err), 0, "no final line end: finish");
	is_field(h, 0, S("A: b\r\n c"), 1, 2, "last line without line end");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S("A: b\r"), 1, &body, &err), 0, "lone CR at end of input");
	is_field(h, 0, S("A: b"), 1, 2, "final CR taken as the line end");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S("\r\nbody"), 0, &body, &err), 1, "empty header block");
	is_int(body, 2, "empty header block: body offset");
	is_int(msg_headers_count(h), 0, "empty header block: no fields");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S(""), 0, &body, &err), 0, "empty input");
	is_int(msg_headers_count(h), 0, "empty input: no fields");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S("X: a\0b\xff\rc\r\n \x80\r\n\r\n"), 1, &body, &err), 1, "binary value");
	is_field(h, 0, S("X: a\0b\xff\rc\r\n \x80"), 1, 2, "NUL, 8-bit, bare CR kept");
	msg_headers_free(h);

	h = msg_headers_new(NULL);
	is_int(parse(h, S("A: b\r\n\n"), 0, &body, &err), 1, "CRLF then bare LF ends block");
	is_int(body, 7, "mixed line ends: body offset");
	msg_headers_free(h);
}

static void
test_parse_after_end(void)
{
	struct msg_headers *h = msg_headers_new(NULL);
	struct msg_parser *p = msg_parser_new(h);
	struct auth_error err;
	size_t off;

	is_int(msg_parser_feed(p, S("A: b\n\nbody"), &off, &err), 1, "end seen");
	is_int(off, 6, "body offset");
	is_int(msg_parser_feed(p, S("C: d\n"), &off, &err), 1, "more input after the end is body");
	is_int(off, 0, "all of it");
	is_int(msg_parser_finish(p, &err), 0, "finish after the end");
	is_int(msg_headers_count(h), 1, "one field");
	msg_parser_free(p);
	msg_headers_free(h);
}

static void
test_parse_syntax_errors(void)
{
	const struct {
		const char *msg;
		size_t len;
		const char *errmsg;
	} cases[] = {
	    {S("not a header\r\n\r\n"), "line 1: neither a header field nor a continuation line"},
	    {S("A: b\r\nbad line\r\n\r\n"),
	     "line 2: neither a header field nor a continuation line"},
	    {S(" cont\r\n\r\n"), "line 1: continuation line before any header field"},
	    {S("A: b\n\tc\n: x\n\n"), "line 3: neither a header field nor a continuation line"},
	    {S("A\0: b\r\n\r\n"), "line 1: neither a header field nor a continuation line"},
	    {S("\xc3\xa9: b\r\n\r\n"), "line 1: neither a header field nor a continuation line"},
	    {S("\rA: b\r\n\r\n"), "line 1: neither a header field nor a continuation line"},
	    {S("A: b\r\nFrom sender Mon\r\n"),
	     "line 2: neither a header field nor a continuation line"},
	};
	struct msg_headers *h;
	struct msg_parser *p;
	struct auth_error err;
	size_t i, off;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h = msg_headers_new(NULL);
		auth_error_clear(&err);
		is_int(parse(h, cases[i].msg, cases[i].len, 1, &off, &err), -1,
		       "syntax error case %zu fails", i);
		is_int(err.code, AUTH_ESYNTAX, "case %zu: AUTH_ESYNTAX", i);
		is_str(err.msg, cases[i].errmsg, "case %zu: message names the line", i);
		msg_headers_free(h);
	}
	h = msg_headers_new(NULL);
	p = msg_parser_new(h);
	is_int(msg_parser_feed(p, S("bad\n"), &off, &err), -1, "failing feed");
	is_int(msg_parser_feed(p, S("A: b\n"), &off, &err), -1, "feed after failure fails");
	is_int(err.code, AUTH_EINVAL, "feed after failure is AUTH_EINVAL");
	is_int(msg_parser_finish(p, &err), -1, "finish after failure fails");
	msg_parser_free(p);
	msg_headers_free(h);
}

static void
test_field_count_limit(void)
{
	struct msg_limits lim = {0, 0};
	struct msg_headers *h;
	struct auth_error err;
	struct buf m;
	size_t i, body;

	buf_init(&m, 1 << 20);
	for (i = 0; i < 1000; i++)
		buf_printf(&m, "X-%zu: v\r\n", i);
	h = msg_headers_new(&lim);
	is_int(parse(h, m.data, m.len, 0, &body, &err), 0, "1000 fields accepted");
	is_int(msg_headers_count(h), 1000, "1000 fields stored");
	msg_headers_free(h);
	buf_puts(&m, "X-last: v\r\n\r\n");
	h = msg_headers_new(&lim);
	is_int(parse(h, m.data, m.len, 0, &body, &err), -1, "1001 fields refused");
	is_int(err.code, AUTH_ELIMIT, "1001 fields: AUTH_ELIMIT");
	is_str(err.msg, "more than 1000 header fields", "1001 fields: message");
	is_int(msg_headers_count(h), 1000, "no more than 1000 stored");
	msg_headers_free(h);
	buf_free(&m);

	lim.max_headers = 2;
	h = msg_headers_new(&lim);
	is_int(msg_headers_add(h, S("A"), S("1"), &err), 0, "custom count limit: 1");
	is_int(msg_headers_add_raw(h, S("B:2"), &err), 0, "custom count limit: 2");
	is_int(msg_headers_add(h, S("C"), S("3"), &err), -1, "custom count limit: 3 refused");
	is_str(err.msg, "more than 2 header fields", "custom count limit message");
	msg_headers_free(h);
}

static void
test_byte_limit(void)
{
	struct msg_limits lim = {20, 0};
	struct msg_headers *h;
	struct auth_error err;
	size_t body;

	/* "A: 12345678\r\n" is 13 bytes, "B: 12345\r\n" 10: 23 > 20. */
	h = msg_headers_new(&lim);
	is_int(parse(h, S("A: 12345678\r\nB: 12345\r\n\r\n"), 1, &body, &err), -1,
	       "block over the limit refused");
	is_int(err.code, AUTH_ELIMIT, "over the limit: AUTH_ELIMIT");
	is_str(err.msg, "header block exceeds 20 bytes", "over the limit: message");
	msg_headers_free(h);

	/* 13 + 7 = 20 exactly, fed byte by byte, CRs held at chunk ends. */
	h = msg_headers_new(&lim);
	is_int(parse(h, S("A: 12345678\r\nB: 12\r\n\r\nbody"), 1, &body, &err), 1,
	       "block of exactly the limit accepted");
	is_int(body, 22, "exactly the limit: body offset");
	msg_headers_free(h);

	/* LF-only input is stored with CRLF: 12 + 7 input bytes become 13 + 8. */
	h = msg_headers_new(&lim);
	is_int(parse(h, S("A: 12345678\nB: 123\n\n"), 0, &body, &err), -1,
	       "limit counts stored CRLF, not input LF");
	msg_headers_free(h);

	h = msg_headers_new(&lim);
	is_int(msg_headers_add(h, S("A"), S(" 1234567890123456"), &err), -1,
	       "add over the limit refused");
	is_int(err.code, AUTH_ELIMIT, "add over the limit: AUTH_ELIMIT");
	is_int(msg_headers_add_raw(h, S("A: 1234567890123"), &err), 0, "add up to the limit");
	is_int(msg_headers_add_raw(h, S("B:"), &err), -1, "then nothing more fits");
	msg_headers_free(h);
}

/* The largest limit a caller can ask for still leaves the parser working. */
static void
test_huge_limit(void)
{
	struct msg_limits lim = {SIZE_MAX, SIZE_MAX};
	struct msg_headers *h = msg_headers_new(&lim);
	struct auth_error err;
	size_t body;

	is_int(parse(h, S("A: b\r\n\r\n"), 1, &body, &err), 1, "SIZE_MAX limits: parsed");
	is_int(msg_headers_count(h), 1, "SIZE_MAX limits: one field");
	msg_headers_free(h);
}

/* A 2 MB field is refused while it streams in, before it is all held. */
static void
test_byte_limit_streaming(void)
{
	struct msg_headers *h = msg_headers_new(NULL);
	struct msg_parser *p = msg_parser_new(h);
	struct auth_error err;
	char *chunk = malloc(65536);
	size_t i, off;
	int r = 0;

	memset(chunk, 'x', 65536);
	memcpy(chunk, "Big: ", 5);
	for (i = 0; i < 32 && r == 0; i++)
		r = msg_parser_feed(p, chunk, 65536, &off, &err);
	is_int(r, -1, "huge field refused");
	is_int(i, 17, "refused at the chunk that crossed 1 MB");
	is_int(err.code, AUTH_ELIMIT, "huge field: AUTH_ELIMIT");
	free(chunk);
	msg_parser_free(p);
	msg_headers_free(h);
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
	test_add_bad_input();
	test_add_raw();
	test_find_and_is();
	test_unfold();
	test_parse_whole_and_byte_at_a_time();
	test_parse_every_split();
	test_parse_edges();
	test_parse_after_end();
	test_parse_syntax_errors();
	test_field_count_limit();
	test_byte_limit();
	test_huge_limit();
	test_byte_limit_streaming();
	test_crlf_convert();
	return done_testing();
}
