/*
 * dkim_canon - see dkim_canon.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dkim_canon.h"

const char *
dkim_canon_name(enum dkim_canon c)
{
	return c == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* §3.4.2: lower-case name, no WSP around the colon, folding removed, WSP
 * runs as one SP, no WSP at the end of the value. */
static int
canon_header_relaxed(const char *raw, size_t len, size_t colon, struct buf *out)
{
	size_t name_end = colon;
	bool started = false, ws = false;

	while (name_end > 0 && is_wsp((unsigned char)raw[name_end - 1]))
		name_end--;
	for (size_t i = 0; i < name_end; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (buf_putc(out, (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c) < 0)
			return -1;
	}
	if (buf_putc(out, ':') < 0)
		return -1;
	for (size_t i = colon + 1; i < len;) {
		unsigned char c = (unsigned char)raw[i];
		size_t run = 1;

		if (c == '\r' && i + 1 < len && raw[i + 1] == '\n') {
			i += 2;
			continue;
		}
		if (is_wsp(c)) {
			ws = started;
			i++;
			continue;
		}
		if (ws && buf_putc(out, ' ') < 0)
			return -1;
		/* c and the bytes after it up to WSP or CR are kept as they are
		 * (a lone CR too, as the first byte of a run). */
		while (i + run < len && !is_wsp((unsigned char)raw[i + run]) &&
		       raw[i + run] != '\r')
			run++;
		if (buf_append(out, raw + i, run) < 0)
			return -1;
		i += run;
		started = true;
		ws = false;
	}
	return 0;
}

int
dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, bool crlf, struct buf *out)
{
	const char *colon = memchr(raw, ':', len);
	size_t saved = out->len;
	int rc;

	if (colon == NULL)
		return -1;
	if (c == DKIM_CANON_RELAXED)
		rc = canon_header_relaxed(raw, len, (size_t)(colon - raw), out);
	else
		rc = buf_append(out, raw, len);
	if (rc == 0 && crlf)
		rc = buf_append(out, "\r\n", 2);
	if (rc < 0)
		out->len = saved;
	return rc;
}

/* ---- body ---- */

#define STAGE_SIZE 4096

/* Output is gathered here and handed to the sink in runs. */
struct stage {
	dkim_canon_sink *sink;
	void *ctx;
	size_t n;
	char data[STAGE_SIZE];
};

static void
stage_flush(struct stage *s)
{
	if (s->n > 0)
		s->sink(s->ctx, s->data, s->n);
	s->n = 0;
}

static void
stage_put(struct stage *s, char c)
{
	if (s->n == STAGE_SIZE)
		stage_flush(s);
	s->data[s->n++] = c;
}

static void
emit_crlfs(struct dkim_body_canon *st, struct stage *s)
{
	for (; st->crlfs > 0; st->crlfs--) {
		stage_put(s, '\r');
		stage_put(s, '\n');
	}
}

static void
content_byte(struct dkim_body_canon *st, struct stage *s, char c)
{
	if (st->canon == DKIM_CANON_RELAXED && is_wsp((unsigned char)c)) {
		st->wsp = true;
		return;
	}
	emit_crlfs(st, s);
	if (st->wsp)
		stage_put(s, ' ');
	st->wsp = false;
	stage_put(s, c);
	st->emitted = true;
}

void
dkim_body_canon_init(struct dkim_body_canon *st, enum dkim_canon c)
{
	memset(st, 0, sizeof(*st));
	st->canon = c;
}

static void
feed_byte(struct dkim_body_canon *st, struct stage *s, char c)
{
	if (st->cr) {
		st->cr = false;
		if (c == '\n') {
			/* Relaxed drops the WSP that ended the line. */
			st->wsp = false;
			st->crlfs++;
			return;
		}
		content_byte(st, s, '\r');
	}
	if (c == '\r')
		st->cr = true;
	else
		content_byte(st, s, c);
}

/*
 * Byte classes for the fast path: CLS_SIMPLE marks the bytes simple
 * canonicalization must look at (CR), CLS_RELAXED those relaxed must (CR and
 * WSP).  Every other byte is plain content, copied as it is.
 */
#define CLS_SIMPLE 1u
#define CLS_RELAXED 2u
#define CLS_ALL (CLS_SIMPLE | CLS_RELAXED)

static const unsigned char byte_class[256] = {
    ['\r'] = CLS_ALL,
    [' '] = CLS_RELAXED,
    ['\t'] = CLS_RELAXED,
};

static unsigned
class_mask(const struct dkim_body_canon *st)
{
	return st->canon == DKIM_CANON_RELAXED ? CLS_RELAXED : CLS_SIMPLE;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WORD_SCAN 1
#define ONES 0x0101010101010101ull
#define LOWS 0x7f7f7f7f7f7f7f7full
#define HIGHS 0x8080808080808080ull

/* The high bit of each byte of w equal to c, exactly (no carry crosses a
 * byte: each sum is at most 0xfe). */
static uint64_t
bytes_eq(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (ONES * c);

	return ~(((x & LOWS) + LOWS) | x) & HIGHS;
}
#endif

/*
 * The first byte at or after j that relaxed canonicalization must look at,
 * where p[j - 1] is plain: CR, HTAB, or a SP not followed by a plain byte.
 * Eight bytes at a time where the compiler allows: text has a space every
 * few bytes, and a byte loop's branches mispredict once a word, which costs
 * more than the word test's extra instructions.  A SP in the last byte of
 * a word stops the word (its follower is in the next one); plain_span()
 * then looks at it byte by byte.
 */
static size_t
skip_plain_relaxed(const char *p, size_t j, size_t n)
{
#ifdef WORD_SCAN
	while (n - j >= 8) {
		uint64_t w, sp, special, stop;

		memcpy(&w, p + j, 8);
		sp = bytes_eq(w, ' ');
		special = sp | bytes_eq(w, '\r') | bytes_eq(w, '\t');
		/* A SP is plain when the byte after it (8 bits up) is. */
		stop = special & ~(sp & ~(special >> 8) & (HIGHS >> 8));
		if (stop != 0)
			return j + (size_t)__builtin_ctzll(stop) / 8;
		j += 8;
	}
#endif
	while (j < n && !(byte_class[(unsigned char)p[j]] & CLS_RELAXED))
		j++;
	return j;
}

#ifdef __SSE2__
/*
 * The first position at or after j where a plain span must stop, sixteen
 * bytes at a time, for bodies that are mostly text: relaxed stops at HTAB,
 * at a SP followed by SP, HTAB or CR, and at a CR not followed by LF and a
 * plain byte; simple only at such a CR.  These are exactly the stops of
 * the byte loop in plain_span() below.  Each test looks two bytes ahead,
 * so the scan ends 17 bytes short of n, where the byte loop takes over;
 * any j it returns is a position that loop may start from.
 */
static size_t
scan_plain_sse2(const char *p, size_t j, size_t n, unsigned mask)
{
	const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const bool relaxed = mask == CLS_RELAXED;

	for (; n - j >= 18; j += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + j + 1));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + j + 2));
		__m128i b_special = _mm_cmpeq_epi8(b, cr), c_special = _mm_cmpeq_epi8(c, cr);
		__m128i stop;
		int m;

		if (relaxed) {
			b_special = _mm_or_si128(
			    b_special, _mm_or_si128(_mm_cmpeq_epi8(b, sp), _mm_cmpeq_epi8(b, tab)));
			c_special = _mm_or_si128(
			    c_special, _mm_or_si128(_mm_cmpeq_epi8(c, sp), _mm_cmpeq_epi8(c, tab)));
		}
		/* A CR stops unless LF and a plain byte follow it. */
		stop = _mm_andnot_si128(_mm_andnot_si128(c_special, _mm_cmpeq_epi8(b, lf)),
		                        _mm_cmpeq_epi8(a, cr));
		if (relaxed)
			stop = _mm_or_si128(
			    stop, _mm_or_si128(_mm_cmpeq_epi8(a, tab),
			                       _mm_and_si128(_mm_cmpeq_epi8(a, sp), b_special)));
		if ((m = _mm_movemask_epi8(stop)) != 0)
			return j + (size_t)__builtin_ctz((unsigned)m);
	}
	return j;
}
#endif

static size_t
skip_plain(const char *p, size_t j, size_t n, unsigned mask)
{
	const char *cr;

	if (mask == CLS_RELAXED)
		return skip_plain_relaxed(p, j, n);
	cr = memchr(p + j, '\r', n - j);
	return cr != NULL ? (size_t)(cr - p) : n;
}

/*
 * The length of the span at p (p[0] plain content, no CR pending) whose
 * canonical form is its own bytes: plain content, and inside it a single SP
 * or a CRLF between two plain bytes (the SP survives relaxed, the line end
 * is followed by content so it is not a trailing empty line).  The span
 * ends on a plain byte, so whatever follows is decided by the state machine
 * exactly as before; a SP or CRLF at the end of the chunk ends the span.
 */
static size_t
plain_span(const struct dkim_body_canon *st, const char *p, size_t n)
{
	unsigned mask = class_mask(st);
	size_t j = 0;

#ifdef __SSE2__
	j = scan_plain_sse2(p, j, n, mask);
#endif
	for (;;) {
		j = skip_plain(p, j, n, mask);
		if (j + 1 < n && p[j] == ' ' && !(byte_class[(unsigned char)p[j + 1]] & mask))
			j += 2;
		else if (j + 2 < n && p[j] == '\r' && p[j + 1] == '\n' &&
		         !(byte_class[(unsigned char)p[j + 2]] & mask))
			j += 3;
		else
			return j;
	}
}

/* What content_byte() does for each byte of a plain span, with the span
 * handed to the sink straight from the input. */
static void
emit_span(struct dkim_body_canon *st, struct stage *s, const char *p, size_t n)
{
	emit_crlfs(st, s);
	if (st->wsp)
		stage_put(s, ' ');
	st->wsp = false;
	st->emitted = true;
	stage_flush(s);
	s->sink(s->ctx, p, n);
}

void
dkim_body_canon_feed(struct dkim_body_canon *st, const char *p, size_t n, dkim_canon_sink *sink,
                     void *ctx)
{
	unsigned mask = class_mask(st);
	struct stage s;

	s.sink = sink;
	s.ctx = ctx;
	s.n = 0;
	for (size_t i = 0; i < n;) {
		/* A pending CR must meet the next byte in the state machine. */
		if (!st->cr && !(byte_class[(unsigned char)p[i]] & mask)) {
			size_t run = plain_span(st, p + i, n - i);

			emit_span(st, &s, p + i, run);
			i += run;
		} else {
			feed_byte(st, &s, p[i++]);
		}
	}
	stage_flush(&s);
}

void
dkim_body_canon_finish(struct dkim_body_canon *st, dkim_canon_sink *sink, void *ctx)
{
	struct stage s;

	s.sink = sink;
	s.ctx = ctx;
	s.n = 0;
	if (st->cr) {
		st->cr = false;
		content_byte(st, &s, '\r');
	}
	st->wsp = false;
	st->crlfs = 0;
	/*
	 * Simple: the last line's CRLF, added when missing, or the CRLF that
	 * is the whole of an empty body (§3.4.3).  Relaxed: the same, but an
	 * empty body stays empty (§3.4.4).
	 */
	if (st->canon == DKIM_CANON_SIMPLE || st->emitted) {
		stage_put(&s, '\r');
		stage_put(&s, '\n');
	}
	stage_flush(&s);
}

/* ---- hasher ---- */

struct dkim_body_hasher {
	struct dkim_body_canon canon;
	EVP_MD_CTX *md;
	uint64_t limit, hashed, total;
	bool failed;
};

struct dkim_body_hasher *
dkim_body_hasher_new(enum dkim_canon c, const EVP_MD *md, uint64_t limit)
{
	struct dkim_body_hasher *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	dkim_body_canon_init(&h->canon, c);
	h->limit = limit;
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL || EVP_DigestInit_ex(h->md, md, NULL) != 1) {
		dkim_body_hasher_free(h);
		return NULL;
	}
	return h;
}

static void
hasher_sink(void *ctx, const char *p, size_t n)
{
	struct dkim_body_hasher *h = ctx;
	uint64_t room = h->limit - h->hashed;
	size_t take = (uint64_t)n < room ? n : (size_t)room;

	h->total += n;
	if (take == 0 || h->failed)
		return;
	if (EVP_DigestUpdate(h->md, p, take) != 1)
		h->failed = true;
	h->hashed += take;
}

void
dkim_body_hasher_update(struct dkim_body_hasher *h, const char *p, size_t n)
{
	dkim_body_canon_feed(&h->canon, p, n, hasher_sink, h);
}

int
dkim_body_hasher_final(struct dkim_body_hasher *h, unsigned char *md, unsigned *md_len)
{
	dkim_body_canon_finish(&h->canon, hasher_sink, h);
	if (h->failed || EVP_DigestFinal_ex(h->md, md, md_len) != 1)
		return -1;
	return 0;
}

uint64_t
dkim_body_hasher_total(const struct dkim_body_hasher *h)
{
	return h->total;
}

uint64_t
dkim_body_hasher_hashed(const struct dkim_body_hasher *h)
{
	return h->hashed;
}

void
dkim_body_hasher_free(struct dkim_body_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}
