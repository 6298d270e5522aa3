/*
 * fuzz-hdredit - the header edit on arbitrary messages.  The first bytes
 * name up to four field positions to delete; the rest is the message.
 * Besides memory errors it checks: every piece lies inside the message or
 * the added fields, the added fields come first, the body (after the first
 * empty line) comes out unchanged, and the result is never longer than
 * the message plus what was added.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdredit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
inside(const struct smtpc_piece *pc, const char *base, size_t len)
{
	return pc->p >= base && pc->p + pc->n <= base + len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict_del del[4];
	struct verdict_header add = {"Authentication-Results", " mx.example; none"};
	struct verdict v;
	struct smtpc_piece *pieces;
	struct buf added;
	const char *msg, *body;
	size_t i, n, ndel, len, total;

	if (size < 4)
		return 0;
	memset(&v, 0, sizeof(v));
	for (ndel = 0; ndel < 4 && data[ndel] != 0xff; ndel++) {
		del[ndel].field = data[ndel] % 16;
		del[ndel].nth = 1;
	}
	v.ndel = ndel;
	v.del = del;
	v.nadd = 1;
	v.add = &add;
	msg = (const char *)data + 4;
	len = size - 4;
	buf_init(&added, 1u << 16);
	if (hdredit_pieces(msg, len, &v, "Received: x\r\n", &added, &pieces, &n) < 0)
		abort();
	total = hdredit_length(pieces, n);
	if (n == 0 || pieces[0].p != added.data || total > len + added.len)
		abort();
	for (i = 1; i < n; i++)
		if (!inside(&pieces[i], msg, len))
			abort();
	body = len >= 2 ? memmem(msg, len, "\r\n\r\n", 4) : NULL;
	if (body != NULL && (n < 2 || pieces[n - 1].p + pieces[n - 1].n != msg + len))
		abort();
	free(pieces);
	buf_free(&added);
	return 0;
}
