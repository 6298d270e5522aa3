/*
 * dkim_hdata - see dkim_hdata.h.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "dkim_hdata.h"

static bool
name_eq(const char *a, const char *b, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		unsigned char x = (unsigned char)a[k], y = (unsigned char)b[k];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* The last field named name not yet used, or -1. */
static long
select_field(const struct msg_headers *h, const struct dkim_name_view *name, bool *used)
{
	for (size_t i = msg_headers_count(h); i-- > 0;) {
		const struct msg_field *f = msg_headers_get(h, i);

		if (!used[i] && f->name_len == name->len && name_eq(f->raw, name->p, name->len)) {
			used[i] = true;
			return (long)i;
		}
	}
	return -1;
}

int
dkim_hdata_sig_field(enum dkim_canon hcanon, const char *sig_raw, size_t sig_len, size_t b_off,
                     size_t b_len, struct buf *out)
{
	struct buf sig;
	int rc = -1;

	if (b_off > sig_len || b_len > sig_len - b_off)
		return -1;
	buf_init(&sig, sig_len + 1);
	if (buf_append(&sig, sig_raw, b_off) == 0 &&
	    buf_append(&sig, sig_raw + b_off + b_len, sig_len - b_off - b_len) == 0)
		rc = dkim_canon_header(hcanon, sig.data, sig.len, false, out);
	buf_free(&sig);
	return rc;
}

int
dkim_header_data(const struct msg_headers *h, enum dkim_canon hcanon,
                 const struct dkim_name_view *names, size_t nnames, const char *sig_raw,
                 size_t sig_len, size_t b_off, size_t b_len, struct buf *out)
{
	size_t n = msg_headers_count(h);
	bool *used;
	int rc = -1;

	if (b_off > sig_len || b_len > sig_len - b_off ||
	    (used = calloc(n + 1, sizeof(*used))) == NULL)
		return -1;
	for (size_t k = 0; k < nnames; k++) {
		long i = select_field(h, &names[k], used);
		const struct msg_field *f;

		/* §5.4.2: a name with no field left contributes nothing. */
		if (i < 0)
			continue;
		f = msg_headers_get(h, (size_t)i);
		if (dkim_canon_header(hcanon, f->raw, f->raw_len, true, out) < 0)
			goto out;
	}
	rc = dkim_hdata_sig_field(hcanon, sig_raw, sig_len, b_off, b_len, out);
out:
	free(used);
	return rc;
}
