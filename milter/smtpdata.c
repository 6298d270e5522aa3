/*
 * smtpdata - see smtpdata.h.
 *
 * The states say where on the wire the decoder stands: at the start of a
 * line (BOL: after CRLF), after a dot there (DOT), after that dot's CR
 * (DOT_CR), inside a line (LINE), or after a CR inside a line (CR), which
 * the next byte shows to be a line end or a bare CR.
 */
#include "autoconf.h"

#include <string.h>

#include "smtpdata.h"

enum { D_BOL, D_DOT, D_DOT_CR, D_LINE, D_CR };

void
smtpdata_init(struct smtpdata *d, struct buf *out, size_t max_line, size_t max_size, bool lenient)
{
	memset(d, 0, sizeof(*d));
	d->state = D_BOL;
	d->out = out;
	d->max_line = max_line;
	d->max_size = max_size;
	d->lenient = lenient;
}

bool
smtpdata_refused(const struct smtpdata *d)
{
	unsigned bare = SMTPDATA_BARE_LF | SMTPDATA_BARE_CR;

	return (d->problems & ~(d->lenient ? bare : 0u)) != 0;
}

static void
smtpdata_keep(struct smtpdata *d, const char *p, size_t n)
{
	if (n == 0 || smtpdata_refused(d))
		return;
	if (d->out->len + n > d->max_size) {
		d->problems |= SMTPDATA_TOO_BIG;
		return;
	}
	if (buf_append(d->out, p, n) < 0)
		d->problems |= SMTPDATA_NO_MEMORY;
}

/* A bare LF or CR: refused, or (lenient) a line end in what is kept. */
static void
smtpdata_bare(struct smtpdata *d, unsigned what)
{
	d->problems |= what;
	smtpdata_keep(d, "\r\n", 2);
	d->line_len = 0;
}

static void
smtpdata_line_bytes(struct smtpdata *d, size_t n)
{
	d->line_len += n;
	/* max_line counts the CRLF too. */
	if (d->line_len + 2 > d->max_line)
		d->problems |= SMTPDATA_LONG_LINE;
}

/* Inside a line: takes the run of plain bytes up to the next CR or LF. */
static size_t
smtpdata_run(struct smtpdata *d, const char *p, size_t n)
{
	/* memchr() scans many bytes a step: DATA is most of what a listener
	 * reads. */
	const char *lf = memchr(p, '\n', n);
	size_t end = lf != NULL ? (size_t)(lf - p) : n;
	const char *cr = memchr(p, '\r', end);
	size_t i = cr != NULL ? (size_t)(cr - p) : end;

	smtpdata_line_bytes(d, i);
	smtpdata_keep(d, p, i);
	if (i < n) {
		if (p[i] == '\r')
			d->state = D_CR;
		else
			smtpdata_bare(d, SMTPDATA_BARE_LF);
		i++;
	}
	return i;
}

/* The byte after a CR inside a line. */
static size_t
smtpdata_after_cr(struct smtpdata *d, char c)
{
	if (c == '\n') {
		smtpdata_keep(d, "\r\n", 2);
		d->line_len = 0;
		d->state = D_BOL;
		return 1;
	}
	smtpdata_bare(d, SMTPDATA_BARE_CR);
	d->state = D_LINE;
	/* c itself is read again as line content. */
	return 0;
}

/* After ".": CRLF ends the data; anything else was a stuffed dot. */
static size_t
smtpdata_after_dot(struct smtpdata *d, char c)
{
	if (d->state == D_DOT && c == '\r') {
		d->state = D_DOT_CR;
		return 1;
	}
	if (d->state == D_DOT_CR && c == '\n') {
		d->done = true;
		return 1;
	}
	/* The dot is dropped; what followed it is the line. */
	smtpdata_line_bytes(d, 1);
	if (d->state == D_DOT_CR) {
		smtpdata_bare(d, SMTPDATA_BARE_CR);
		d->state = D_LINE;
		return 0;
	}
	d->state = D_LINE;
	return 0;
}

size_t
smtpdata_feed(struct smtpdata *d, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !d->done) {
		switch (d->state) {
		case D_BOL:
			if (p[i] == '.') {
				d->state = D_DOT;
				i++;
			} else {
				d->state = D_LINE;
			}
			break;
		case D_DOT:
		case D_DOT_CR:
			i += smtpdata_after_dot(d, p[i]);
			break;
		case D_CR:
			i += smtpdata_after_cr(d, p[i]);
			break;
		default:
			i += smtpdata_run(d, p + i, n - i);
			break;
		}
	}
	return i;
}
