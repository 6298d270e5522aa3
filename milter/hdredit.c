/*
 * hdredit - see hdredit.h.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hdredit.h"

static int
hdredit_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The positions to delete, in ascending order; NULL with *n 0 for none. */
static unsigned *
hdredit_positions(const struct verdict *v, size_t *n, bool *oom)
{
	unsigned *pos;
	size_t i;

	*n = 0;
	*oom = false;
	if (v->ndel == 0)
		return NULL;
	if ((pos = malloc(v->ndel * sizeof(*pos))) == NULL) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < v->ndel; i++)
		pos[i] = v->del[i].field;
	qsort(pos, v->ndel, sizeof(*pos), hdredit_cmp);
	*n = v->ndel;
	return pos;
}

static int
hdredit_added(const struct verdict *v, struct buf *added)
{
	size_t i;

	for (i = 0; i < v->nadd; i++)
		if (buf_puts(added, v->add[i].name) < 0 || buf_putc(added, ':') < 0 ||
		    buf_puts(added, v->add[i].value) < 0 || buf_append(added, "\r\n", 2) < 0)
			return -1;
	return 0;
}

/* The end of the line starting at off (after its LF), or len. */
static size_t
hdredit_line_end(const char *msg, size_t len, size_t off)
{
	const char *nl = memchr(msg + off, '\n', len - off);

	return nl != NULL ? (size_t)(nl + 1 - msg) : len;
}

static bool
hdredit_blank(const char *msg, size_t len, size_t off)
{
	return msg[off] == '\n' || (msg[off] == '\r' && off + 1 < len && msg[off + 1] == '\n');
}

static void
hdredit_push(struct smtpc_piece *pieces, size_t *n, const char *p, size_t len)
{
	if (len > 0) {
		pieces[*n].p = p;
		pieces[(*n)++].n = len;
	}
}

int
hdredit_pieces(const char *msg, size_t len, const struct verdict *v, const char *trace,
               struct buf *added, struct smtpc_piece **pieces, size_t *npieces)
{
	size_t ndel, d = 0, off = 0, run = 0, n = 0;
	unsigned field = 0;
	bool in_field = false, skipping = false, oom;
	unsigned *del = hdredit_positions(v, &ndel, &oom);
	struct smtpc_piece *out;

	*pieces = NULL;
	*npieces = 0;
	if (oom || hdredit_added(v, added) < 0 || (trace != NULL && buf_puts(added, trace) < 0) ||
	    (out = calloc(ndel + 2, sizeof(*out))) == NULL) {
		free(del);
		return -1;
	}
	hdredit_push(out, &n, added->data, added->len);
	while (off < len && !hdredit_blank(msg, len, off)) {
		bool cont = in_field && (msg[off] == ' ' || msg[off] == '\t');

		if (!cont) {
			/* A field ends where the next begins: a kept run
			 * resumes after a deleted one. */
			if (skipping)
				run = off;
			skipping = d < ndel && del[d] == field;
			while (d < ndel && del[d] <= field)
				d++;
			if (skipping)
				hdredit_push(out, &n, msg + run, off - run);
			field++;
			in_field = true;
		}
		off = hdredit_line_end(msg, len, off);
	}
	if (skipping)
		run = off;
	hdredit_push(out, &n, msg + run, len - run);
	free(del);
	*pieces = out;
	*npieces = n;
	return 0;
}

size_t
hdredit_length(const struct smtpc_piece *pieces, size_t npieces)
{
	size_t i, n = 0;

	for (i = 0; i < npieces; i++)
		n += pieces[i].n;
	return n;
}
