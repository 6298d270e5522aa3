/*
 * test-dkim-canon - header and body canonicalization (RFC 6376 §3.4),
 * chunked feeding, l= limits, and flat memory over a 100 MB body.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "dkim_canon.h"
#include "tap.h"

static void
sink_buf(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

/* Canonicalizes body fed in chunks of size step (0: one piece). */
static void
canon_body(enum dkim_canon c, const char *body, size_t len, size_t step, struct buf *out)
{
	struct dkim_body_canon st;

	buf_reset(out);
	dkim_body_canon_init(&st, c);
	if (step == 0)
		step = len ? len : 1;
	for (size_t off = 0; off < len; off += step)
		dkim_body_canon_feed(&st, body + off, len - off < step ? len - off : step, sink_buf,
		                     out);
	dkim_body_canon_finish(&st, sink_buf, out);
}

static void
header_is(enum dkim_canon c, const char *raw, const char *want, const char *name)
{
	struct buf out;

	buf_init(&out, 4096);
	is_int(dkim_canon_header(c, raw, strlen(raw), true, &out), 0, "%s: canonicalized", name);
	is_mem(out.data, out.len, want, strlen(want), "%s", name);
	buf_free(&out);
}

static void
test_headers(void)
{
	struct buf out;

	/* RFC 6376 §3.4.5. */
	header_is(DKIM_CANON_RELAXED, "A: X", "a:X\r\n", "§3.4.5 relaxed A");
	header_is(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  ", "b:Y Z\r\n", "§3.4.5 relaxed B");
	header_is(DKIM_CANON_SIMPLE, "A: X", "A: X\r\n", "§3.4.5 simple A");
	header_is(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n", "§3.4.5 simple B");
	header_is(DKIM_CANON_RELAXED, "SUBJECT:   hello \t world", "subject:hello world\r\n",
	          "relaxed: name lower-cased, WSP runs to one SP");
	header_is(DKIM_CANON_RELAXED, "X:\r\n  folded\r\n\tvalue\r\n ", "x:folded value\r\n",
	          "relaxed: folding at the start and end");
	header_is(DKIM_CANON_RELAXED, "Subject: caf\xc3\xa9 \xff", "subject:caf\xc3\xa9 \xff\r\n",
	          "relaxed: 8-bit bytes kept");
	header_is(DKIM_CANON_RELAXED, "Empty:", "empty:\r\n", "relaxed: empty value");
	header_is(DKIM_CANON_RELAXED, "Empty:  \t ", "empty:\r\n", "relaxed: blank value");
	header_is(DKIM_CANON_RELAXED, "T: a\rb", "t:a\rb\r\n", "relaxed: a lone CR is kept");
	buf_init(&out, 8);
	is_int(dkim_canon_header(DKIM_CANON_SIMPLE, "NoColon", 7, true, &out), -1, "no colon");
	is_int(dkim_canon_header(DKIM_CANON_SIMPLE, "Long: value", 11, true, &out), -1,
	       "over the buffer maximum");
	is_int(out.len, 0, "a failed call leaves the buffer as it was");
	is_int(dkim_canon_header(DKIM_CANON_RELAXED, "A: X", 4, false, &out), 0, "without CRLF");
	is_mem(out.data, out.len, "a:X", 3, "no CRLF appended");
	buf_free(&out);
}

static const struct {
	const char *in, *simple, *relaxed;
} bodies[] = {
    /* RFC 6376 §3.4.5. */
    {" C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
    {"", "\r\n", ""},
    {"\r\n", "\r\n", ""},
    {"\r\n\r\n\r\n", "\r\n", ""},
    {"abc", "abc\r\n", "abc\r\n"},
    {"abc\r\n", "abc\r\n", "abc\r\n"},
    {"a \r\n \r\n\t\r\n", "a \r\n \r\n\t\r\n", "a\r\n"},
    {"\r\n\r\nx\r\n\r\n", "\r\n\r\nx\r\n", "\r\n\r\nx\r\n"},
    {"  indented\r\n", "  indented\r\n", " indented\r\n"},
    {"a\rb\nc", "a\rb\nc\r\n", "a\rb\nc\r\n"},
    {"a\r", "a\r\r\n", "a\r\r\n"},
    {"a\r\r\n", "a\r\r\n", "a\r\r\n"},
    {"\xc3\xa9t\xc3\xa9 \r\n", "\xc3\xa9t\xc3\xa9 \r\n", "\xc3\xa9t\xc3\xa9\r\n"},
    {"x  \t", "x  \t\r\n", "x\r\n"},
    {" ", " \r\n", ""},
};

static void
test_bodies(void)
{
	struct buf out;

	buf_init(&out, 1 << 16);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const char *in = bodies[i].in;
		size_t len = strlen(in);
		int simple_ok = 1, relaxed_ok = 1;

		canon_body(DKIM_CANON_SIMPLE, in, len, 0, &out);
		is_mem(out.data, out.len, bodies[i].simple, strlen(bodies[i].simple),
		       "body %zu simple", i);
		canon_body(DKIM_CANON_RELAXED, in, len, 0, &out);
		is_mem(out.data, out.len, bodies[i].relaxed, strlen(bodies[i].relaxed),
		       "body %zu relaxed", i);
		/* The same output whatever the chunk size. */
		for (size_t step = 1; step <= len + 1; step++) {
			canon_body(DKIM_CANON_SIMPLE, in, len, step, &out);
			simple_ok &= out.len == strlen(bodies[i].simple) &&
			             memcmp(out.data, bodies[i].simple, out.len) == 0;
			canon_body(DKIM_CANON_RELAXED, in, len, step, &out);
			relaxed_ok &= out.len == strlen(bodies[i].relaxed) &&
			              memcmp(out.data, bodies[i].relaxed, out.len) == 0;
		}
		ok(simple_ok && relaxed_ok, "body %zu the same in chunks of every size", i);
	}
	buf_free(&out);
}

/* The RFC's wording done the plain way, on a whole body: the reference the
 * streaming canonicalizer is compared with. */
static void
ref_canon(enum dkim_canon c, const char *in, size_t len, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < len;) {
		size_t end = i;
		bool ws = false;

		while (end < len && !(in[end] == '\r' && end + 1 < len && in[end + 1] == '\n'))
			end++;
		for (size_t k = i; k < end; k++) {
			bool w = in[k] == ' ' || in[k] == '\t';

			if (c == DKIM_CANON_RELAXED && w) {
				ws = true;
				continue;
			}
			if (ws)
				buf_putc(out, ' ');
			ws = false;
			buf_putc(out, in[k]);
		}
		if (end < len)
			buf_append(out, "\r\n", 2);
		i = end + 2;
	}
	while (out->len >= 2 && memcmp(out->data + out->len - 2, "\r\n", 2) == 0)
		out->len -= 2;
	if (c == DKIM_CANON_SIMPLE || out->len > 0)
		buf_append(out, "\r\n", 2);
}

/* 1 when body fed in chunks of step (0: one piece) canonicalizes other
 * than the reference does, else 0. */
static unsigned
ref_mismatch(enum dkim_canon c, const char *body, size_t len, size_t step, struct buf *ref,
             struct buf *got)
{
	ref_canon(c, body, len, ref);
	canon_body(c, body, len, step, got);
	return ref->len != got->len || memcmp(ref->data, got->data, ref->len) != 0;
}

/* Random bodies over the bytes that matter, fed in random chunks. */
static void
test_against_reference(void)
{
	static const char alphabet[] = "a \t\r\n\r\n\xe9";
	struct buf ref, got;
	char body[64];
	unsigned seed = 12345, bad = 0;

	buf_init(&ref, 1024);
	buf_init(&got, 1024);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (seed = seed * 1103515245u + 12345u) >> 16 & 63;

		for (size_t i = 0; i < len; i++)
			body[i] = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) %
			                   (sizeof(alphabet) - 1)];
		for (int c = DKIM_CANON_RELAXED; c <= DKIM_CANON_SIMPLE; c++) {
			size_t step = ((seed = seed * 1103515245u + 12345u) >> 16) % 7 + 1;

			bad += ref_mismatch((enum dkim_canon)c, body, len, step, &ref, &got);
		}
	}
	is_int(bad, 0, "20000 random bodies canonicalize as the reference does");
	buf_free(&ref);
	buf_free(&got);
}

/* §3.4.2 done the plain way on a value: unfold, WSP runs to one SP, no WSP
 * at either end. */
static void
ref_header_value(const char *v, size_t len, struct buf *out)
{
	struct buf unfolded;
	bool ws = false, started = false;

	buf_init(&unfolded, 1024);
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\r' && i + 1 < len && v[i + 1] == '\n')
			i++;
		else
			buf_putc(&unfolded, v[i]);
	}
	for (size_t i = 0; i < unfolded.len; i++) {
		char c = unfolded.data[i];

		if (c == ' ' || c == '\t') {
			ws = started;
			continue;
		}
		if (ws)
			buf_putc(out, ' ');
		buf_putc(out, c);
		ws = false;
		started = true;
	}
	buf_free(&unfolded);
}

/* Random relaxed header values against the plain way. */
static void
test_header_reference(void)
{
	static const char alphabet[] = "ab \t\r\n\r\n:;";
	struct buf ref, got;
	char field[48] = "Na:";
	unsigned seed = 4242, bad = 0;

	buf_init(&ref, 1024);
	buf_init(&got, 1024);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = ((seed = seed * 1103515245u + 12345u) >> 16) % 40;

		for (size_t i = 0; i < len; i++)
			field[3 + i] = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) %
			                        (sizeof(alphabet) - 1)];
		buf_reset(&ref);
		buf_append(&ref, "na:", 3);
		ref_header_value(field + 3, len, &ref);
		buf_reset(&got);
		if (dkim_canon_header(DKIM_CANON_RELAXED, field, 3 + len, false, &got) < 0 ||
		    ref.len != got.len || memcmp(ref.data, got.data, ref.len) != 0)
			bad++;
	}
	is_int(bad, 0, "20000 random header values canonicalize as the reference does");
	buf_free(&ref);
	buf_free(&got);
}

/* Bodies with long plain spans around what ends them: single and double
 * SP, HTAB, WSP before CRLF, empty lines, a lone CR or LF, no final CRLF. */
static const char *const span_bodies[] = {
    "The quick brown fox\r\njumps over the lazy dog.\r\nAnd then some more.\r\n",
    "two  spaces, a\ttab and\t \ttrailing \r\nwsp \t\r\n\r\n leading\r\n\r\n\r\n",
    "lone\rCR and lone\nLF inside\r\r\nand CR CR LF\r\n \r\nx y\r\n",
    "no final line end here: a b c d",
    "a b\r\nc d\r\n e\r\n\tf \r\ng  \r\n\r\nh\r\n \r\n",
};

/* Every body split in two at every offset, and in three at every pair of
 * offsets, must canonicalize as the reference does. */
static void
test_spans_split(void)
{
	struct buf ref, got;

	buf_init(&ref, 4096);
	buf_init(&got, 4096);
	for (size_t b = 0; b < sizeof(span_bodies) / sizeof(span_bodies[0]); b++) {
		const char *body = span_bodies[b];
		size_t len = strlen(body);

		for (int c = DKIM_CANON_RELAXED; c <= DKIM_CANON_SIMPLE; c++) {
			unsigned bad = 0;

			ref_canon((enum dkim_canon)c, body, len, &ref);
			for (size_t i = 0; i <= len; i++) {
				for (size_t j = i; j <= len; j++) {
					struct dkim_body_canon st;

					buf_reset(&got);
					dkim_body_canon_init(&st, (enum dkim_canon)c);
					dkim_body_canon_feed(&st, body, i, sink_buf, &got);
					dkim_body_canon_feed(&st, body + i, j - i, sink_buf, &got);
					dkim_body_canon_feed(&st, body + j, len - j, sink_buf,
					                     &got);
					dkim_body_canon_finish(&st, sink_buf, &got);
					if (ref.len != got.len ||
					    memcmp(ref.data, got.data, ref.len) != 0)
						bad++;
				}
			}
			is_int(bad, 0, "span body %zu %s: every 3-way split", b,
			       dkim_canon_name((enum dkim_canon)c));
		}
	}
	buf_free(&ref);
	buf_free(&got);
}

static void
count_calls(void *ctx, const char *p, size_t n)
{
	(void)p;
	(void)n;
	(*(unsigned *)ctx)++;
}

/* Text whose canonical form is its own bytes reaches the sink in one call:
 * the span runs over single SPs and over CRLFs followed by content. */
static void
test_span_is_one_call(void)
{
	static const char text[] = "Dear reader,\r\nthis is one span of text.\r\nThe end.\r\n";
	static const char wsp[] = "a  b\r\n";
	struct dkim_body_canon st;
	unsigned calls = 0;

	dkim_body_canon_init(&st, DKIM_CANON_RELAXED);
	dkim_body_canon_feed(&st, text, sizeof(text) - 1, count_calls, &calls);
	is_int(calls, 1, "relaxed: a paragraph is one sink call");
	calls = 0;
	dkim_body_canon_init(&st, DKIM_CANON_SIMPLE);
	dkim_body_canon_feed(&st, text, sizeof(text) - 1, count_calls, &calls);
	is_int(calls, 1, "simple: a paragraph is one sink call");
	calls = 0;
	dkim_body_canon_init(&st, DKIM_CANON_RELAXED);
	dkim_body_canon_feed(&st, wsp, sizeof(wsp) - 1, count_calls, &calls);
	is_int(calls, 3, "relaxed: a WSP run splits the span (a, pending SP, b)");
}

/* Longer random bodies in larger chunks, over bytes next to the ones that
 * matter (0x0c 0x0e 0x1f 0x21 0x08 0x0a, 0x80 0xff), so that the word-at-a-
 * time scan meets every position of CR, SP and HTAB in its word. */
/* Text as mail has it, words with single spaces and CRLF line ends, with a
 * rare byte that stops a span (HTAB, a second SP, SP or CR before a line
 * end, an empty line, a lone CR) at a random place: the sixteen-byte scan
 * meets each of them at every position of its block, and the byte loop
 * after it the last bytes of each chunk. */
static void
test_against_reference_text(void)
{
	static const char *const rare[] = {"\t", "  ", " \r\n", "\r\n\r\n", "\r", "\r\n ", " \t"};
	struct buf ref, got;
	char body[4096];
	unsigned seed = 4242, bad = 0;

	buf_init(&ref, 3 * sizeof(body));
	buf_init(&got, 3 * sizeof(body));
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = 0,
		       target = ((seed = seed * 1103515245u + 12345u) >> 16) % sizeof(body);

		while (len + 8 < target) {
			unsigned r = (seed = seed * 1103515245u + 12345u) >> 16;
			const char *piece = r % 40 == 0  ? rare[r / 40 % 7]
			                    : r % 9 == 0 ? "\r\n"
			                                 : " ";

			body[len++] = (char)('a' + r % 26);
			body[len++] = (char)('a' + r / 26 % 26);
			memcpy(body + len, piece, strlen(piece));
			len += strlen(piece);
		}
		for (int c = DKIM_CANON_RELAXED; c <= DKIM_CANON_SIMPLE; c++) {
			size_t step = ((seed = seed * 1103515245u + 12345u) >> 16) % 700 + 1;

			bad += ref_mismatch((enum dkim_canon)c, body, len, step, &ref, &got);
			bad += ref_mismatch((enum dkim_canon)c, body, len, 0, &ref, &got);
		}
	}
	is_int(bad, 0, "3000 text bodies, whole and in chunks, canonicalize as the reference does");
	buf_free(&ref);
	buf_free(&got);
}

static void
test_against_reference_long(void)
{
	static const char alphabet[] = "abcdefgh  \t\r\n\r\n\r\x0c\x0e\x1f!\x08\n\x80\xff";
	struct buf ref, got;
	char body[256];
	unsigned seed = 777, bad = 0;

	buf_init(&ref, 1024);
	buf_init(&got, 1024);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = ((seed = seed * 1103515245u + 12345u) >> 16) % sizeof(body);

		for (size_t i = 0; i < len; i++)
			body[i] = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) %
			                   (sizeof(alphabet) - 1)];
		for (int c = DKIM_CANON_RELAXED; c <= DKIM_CANON_SIMPLE; c++) {
			size_t step = ((seed = seed * 1103515245u + 12345u) >> 16) % 97 + 1;

			bad += ref_mismatch((enum dkim_canon)c, body, len, step, &ref, &got);
		}
	}
	is_int(bad, 0,
	       "20000 long random bodies in large chunks canonicalize as the reference does");
	buf_free(&ref);
	buf_free(&got);
}

static void
b64(const unsigned char *md, unsigned len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, md, (int)len);
}

static void
hash_is(enum dkim_canon c, const EVP_MD *md, uint64_t limit, const char *body, const char *want,
        uint64_t want_hashed, uint64_t want_total, const char *name)
{
	struct dkim_body_hasher *h = dkim_body_hasher_new(c, md, limit);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	char text[128];

	dkim_body_hasher_update(h, body, strlen(body));
	is_int(dkim_body_hasher_final(h, digest, &dlen), 0, "%s: final", name);
	b64(digest, dlen, text);
	is_str(text, want, "%s: hash", name);
	is_int(dkim_body_hasher_hashed(h), want_hashed, "%s: bytes hashed", name);
	is_int(dkim_body_hasher_total(h), want_total, "%s: canonical length", name);
	dkim_body_hasher_free(h);
}

static void
test_hashes(void)
{
	/* The well-known hashes of the empty body (RFC 6376 §3.4.3/§3.4.4). */
	hash_is(DKIM_CANON_SIMPLE, EVP_sha256(), DKIM_BODY_NO_LIMIT, "",
	        "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=", 2, 2, "simple empty sha256");
	hash_is(DKIM_CANON_RELAXED, EVP_sha256(), DKIM_BODY_NO_LIMIT, "",
	        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", 0, 0, "relaxed empty sha256");
	hash_is(DKIM_CANON_SIMPLE, EVP_sha1(), DKIM_BODY_NO_LIMIT, "\r\n\r\n",
	        "uoq1oCgLlTqpdDX/iUbLy7J1Wic=", 2, 2, "simple empty sha1");
	/* l=: only the first bytes are hashed, all are counted. */
	hash_is(DKIM_CANON_SIMPLE, EVP_sha256(), 2, "hello\r\n",
	        "Ny9+L9LQHOKh1x3Acqy7pMb9JaEIfNfxU/TsDON+Ht4=", 2, 7, "l=2 hashes \"he\"");
	hash_is(DKIM_CANON_RELAXED, EVP_sha256(), 0, "hello\r\n",
	        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", 0, 7, "l=0 hashes nothing");
}

/* l= at every length over a body of spans: the digest is that of the
 * first l bytes of the reference canonical form. */
static void
test_spans_limit(void)
{
	const char *body = span_bodies[1];
	size_t len = strlen(body);
	struct buf ref;
	unsigned bad = 0;

	buf_init(&ref, 4096);
	for (int c = DKIM_CANON_RELAXED; c <= DKIM_CANON_SIMPLE; c++) {
		ref_canon((enum dkim_canon)c, body, len, &ref);
		for (size_t l = 0; l <= ref.len; l++) {
			for (size_t cut = 0; cut <= len; cut += 7) {
				struct dkim_body_hasher *h =
				    dkim_body_hasher_new((enum dkim_canon)c, EVP_sha256(), l);
				unsigned char got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
				unsigned glen = 0, wlen = 0;

				dkim_body_hasher_update(h, body, cut);
				dkim_body_hasher_update(h, body + cut, len - cut);
				if (dkim_body_hasher_final(h, got, &glen) != 0 ||
				    EVP_Digest(ref.data, l, want, &wlen, EVP_sha256(), NULL) != 1 ||
				    glen != wlen || memcmp(got, want, glen) != 0 ||
				    dkim_body_hasher_hashed(h) != l ||
				    dkim_body_hasher_total(h) != ref.len)
					bad++;
				dkim_body_hasher_free(h);
			}
		}
	}
	is_int(bad, 0, "l= at every length, body cut anywhere, hashes the reference prefix");
	buf_free(&ref);
}

#define BIG_BODY (100ul * 1024 * 1024)
#define CHUNK (64 * 1024)

/* 100 MB through two hashers in 64 KiB chunks: peak RSS must not follow. */
static void
test_flat_memory(void)
{
	struct dkim_body_hasher *hs =
	    dkim_body_hasher_new(DKIM_CANON_SIMPLE, EVP_sha256(), DKIM_BODY_NO_LIMIT);
	struct dkim_body_hasher *hr =
	    dkim_body_hasher_new(DKIM_CANON_RELAXED, EVP_sha256(), DKIM_BODY_NO_LIMIT);
	static char chunk[CHUNK];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	struct rusage before, after;

	for (size_t i = 0; i < CHUNK; i++)
		chunk[i] = (i % 64 == 62) ? '\r' : (i % 64 == 63) ? '\n' : (i % 7 == 0) ? ' ' : 'x';
	getrusage(RUSAGE_SELF, &before);
	for (size_t off = 0; off < BIG_BODY; off += CHUNK) {
		dkim_body_hasher_update(hs, chunk, CHUNK);
		dkim_body_hasher_update(hr, chunk, CHUNK);
	}
	dkim_body_hasher_final(hs, digest, &dlen);
	dkim_body_hasher_final(hr, digest, &dlen);
	getrusage(RUSAGE_SELF, &after);
	is_int(dkim_body_hasher_total(hs), BIG_BODY, "100 MB hashed (simple)");
	diag("peak RSS %ld KiB before, %ld KiB after", before.ru_maxrss, after.ru_maxrss);
	ok(after.ru_maxrss - before.ru_maxrss < 20 * 1024,
	   "peak RSS grew by less than 20 MB over a 100 MB body");
	dkim_body_hasher_free(hs);
	dkim_body_hasher_free(hr);
}

int
main(void)
{
	test_headers();
	test_header_reference();
	test_bodies();
	test_against_reference();
	test_against_reference_long();
	test_against_reference_text();
	test_spans_split();
	test_span_is_one_call();
	test_hashes();
	test_spans_limit();
	test_flat_memory();
	return done_testing();
}
