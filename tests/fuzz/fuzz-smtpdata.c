/*
 * fuzz-smtpdata - the listener's DATA decoder on arbitrary bytes.  The
 * first byte chooses the leniency and where the rest is split in two
 * chunks.  Besides memory errors it checks: the end is found at the same
 * byte however the input is split, and only right after CRLF "." CRLF (or
 * "." CRLF at the very start); the problems seen, and what a message not
 * refused keeps, do not depend on the split; a lenient decoder keeps only
 * CRLF line ends, and a message not refused has no line over the limit.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpdata.h"

#define FUZZ_MAX_LINE 1000
#define FUZZ_MAX_SIZE (1u << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct buf out;
	struct smtpdata d;
	size_t used;
};

static void
decode(struct run *r, const char *p, size_t n, size_t split, int lenient)
{
	buf_init(&r->out, FUZZ_MAX_SIZE + 16);
	smtpdata_init(&r->d, &r->out, FUZZ_MAX_LINE, FUZZ_MAX_SIZE, lenient);
	r->used = smtpdata_feed(&r->d, p, split);
	if (!r->d.done)
		r->used += smtpdata_feed(&r->d, p + split, n - split);
}

static void
check_lenient(const struct run *r)
{
	size_t i, line = 0;

	for (i = 0; i < r->out.len; i++) {
		char c = r->out.data[i];

		if ((c == '\r' && (i + 1 >= r->out.len || r->out.data[i + 1] != '\n')) ||
		    (c == '\n' && (i == 0 || r->out.data[i - 1] != '\r')))
			abort();
		line = c == '\n' ? 0 : line + 1;
		if (!smtpdata_refused(&r->d) && line + 1 > FUZZ_MAX_LINE)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n, split;
	struct run a, b;
	int lenient;

	if (size < 1)
		return 0;
	n = size - 1;
	lenient = data[0] & 1;
	split = n > 0 ? (data[0] >> 1) % (n + 1) : 0;
	decode(&a, p, n, n, lenient);
	decode(&b, p, n, split, lenient);
	if (a.used != b.used || a.d.done != b.d.done || a.d.problems != b.d.problems)
		abort();
	/* A refused message keeps what came before the refusal: only one
	 * that is taken must not depend on the split. */
	if (!smtpdata_refused(&a.d) &&
	    (a.out.len != b.out.len ||
	     (a.out.len > 0 && memcmp(a.out.data, b.out.data, a.out.len) != 0)))
		abort();
	if (a.d.done && !(a.used == 3 && memcmp(p, ".\r\n", 3) == 0) &&
	    !(a.used >= 5 && memcmp(p + a.used - 5, "\r\n.\r\n", 5) == 0))
		abort();
	if (lenient)
		check_lenient(&a);
	buf_free(&a.out);
	buf_free(&b.out);
	return 0;
}
