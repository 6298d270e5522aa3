/*
 * fuzz-dkim-canon - body canonicalization fed in chunks must give exactly
 * the output of one piece, for both algorithms; header canonicalization of
 * the same bytes as a field must stay within its bounds.
 *
 * One piece takes the fast paths (the sixteen-byte scan needs 18 bytes);
 * one byte at a time takes none, so it is the state machine alone, and a
 * chunk of 2 to 17 bytes mixes the two at every chunk end.
 *
 * The first input byte chooses the chunk size; the rest is the body.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sink(void *ctx, const char *p, size_t n)
{
	if (buf_append(ctx, p, n) < 0)
		abort();
}

static void
canon(enum dkim_canon c, const char *p, size_t n, size_t step, struct buf *out)
{
	struct dkim_body_canon st;

	dkim_body_canon_init(&st, c);
	for (size_t off = 0; off < n; off += step)
		dkim_body_canon_feed(&st, p + off, n - off < step ? n - off : step, sink, out);
	dkim_body_canon_finish(&st, sink, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	size_t len, step;
	struct buf one, chunked, bytes, hdr;

	if (size == 0)
		return 0;
	len = size - 1;
	step = (size_t)data[0] % 17 + 1;
	/* Output is at most twice the input plus the final CRLF. */
	buf_init(&one, 2 * len + 16);
	buf_init(&chunked, 2 * len + 16);
	buf_init(&bytes, 2 * len + 16);
	buf_init(&hdr, 2 * len + 16);
	for (int c = DKIM_CANON_RELAXED; c <= DKIM_CANON_SIMPLE; c++) {
		buf_reset(&one);
		buf_reset(&chunked);
		buf_reset(&bytes);
		canon((enum dkim_canon)c, body, len, len ? len : 1, &one);
		canon((enum dkim_canon)c, body, len, step, &chunked);
		canon((enum dkim_canon)c, body, len, 1, &bytes);
		if (one.len != chunked.len || memcmp(one.data, chunked.data, one.len) != 0)
			abort();
		if (one.len != bytes.len || memcmp(one.data, bytes.data, one.len) != 0)
			abort();
		buf_reset(&hdr);
		if (dkim_canon_header((enum dkim_canon)c, body, len, true, &hdr) == 0 &&
		    hdr.len > len + 2)
			abort();
	}
	buf_free(&one);
	buf_free(&chunked);
	buf_free(&bytes);
	buf_free(&hdr);
	return 0;
}
