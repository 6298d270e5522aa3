/*
 * fuzz-authres - the Authentication-Results reader and writer on
 * arbitrary bytes.
 *
 * Reader: the input is a field value.  Whatever authres_authserv_id()
 * reads out of it, authres_claims() must say the field claims that id, so
 * a field whose id we can read is always removed when the id is ours; and
 * authres_parse() reports as many results as it says it read.
 *
 * Writer: the input, split at NUL bytes, gives the values put into a field
 * (an SPF identity, DKIM d= s= i= and reason, the From domain, a comment).
 * Whatever they hold, the field written must start with our authserv-id
 * read back by our own reader, read back as the three results written,
 * hold no byte that ends or starts a header line except CRLF TAB folding,
 * and no control byte.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"

#define FUZZ_ID "mx.fuzz.example"

static void
fuzz_count(void *ctx, const struct authres_result_view *r)
{
	if (r->method[0] == '\0' || r->result[0] == '\0' || r->nprops > AUTHRES_PROPS_MAX)
		abort();
	++*(int *)ctx;
}

static void
fuzz_reader(const char *v, size_t n)
{
	char id[1024];
	int seen = 0, got = authres_parse(v, n, fuzz_count, &seen);

	if (got >= 0 && got != seen)
		abort();

	if (authres_authserv_id(v, n, id, sizeof(id)) == 0 && !authres_claims(v, n, id))
		abort();
	(void)authres_claims(v, n, FUZZ_ID);
}

/* The i-th NUL-separated piece of the input, or "". */
static const char *
fuzz_piece(char **pieces, size_t npieces, size_t i)
{
	return i < npieces ? pieces[i] : "";
}

static void
fuzz_check_written(const struct buf *b)
{
	char id[1024];
	size_t i;

	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c == '\r') {
			if (i + 2 >= b->len || b->data[i + 1] != '\n' || b->data[i + 2] != '\t')
				abort();
			i += 2;
		} else if (c == '\n' || c == 0x7f || (c < 0x20 && c != '\t')) {
			abort();
		}
	}
	int seen = 0;

	if (authres_authserv_id(b->data, b->len, id, sizeof(id)) < 0 || strcmp(id, FUZZ_ID) != 0 ||
	    !authres_claims(b->data, b->len, FUZZ_ID) ||
	    authres_parse(b->data, b->len, fuzz_count, &seen) != 3)
		abort();
}

static void
fuzz_writer(char *copy, size_t n)
{
	char *pieces[8];
	size_t np = 0, i;
	struct authres w;
	struct buf b;

	pieces[np++] = copy;
	for (i = 0; i < n && np < 8; i++)
		if (copy[i] == '\0')
			pieces[np++] = copy + i + 1;
	buf_init(&b, 1 << 20);
	authres_begin(&w, &b, FUZZ_ID);
	authres_add_spf(&w, "fail", false, fuzz_piece(pieces, np, 0), NULL,
	                fuzz_piece(pieces, np, 1));
	authres_add_dkim(&w, &(struct authres_dkim){.result = "fail",
	                                            .d = fuzz_piece(pieces, np, 2),
	                                            .s = fuzz_piece(pieces, np, 3),
	                                            .i = fuzz_piece(pieces, np, 4),
	                                            .reason = fuzz_piece(pieces, np, 5),
	                                            .comment = fuzz_piece(pieces, np, 6)});
	authres_add_dmarc(&w, "fail", fuzz_piece(pieces, np, 7), "reject", "reject", "reject",
	                  NULL);
	authres_add_comment(&w, fuzz_piece(pieces, np, 6));
	if (authres_end(&w) == 0)
		fuzz_check_written(&b);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	fuzz_reader(copy, size);
	fuzz_writer(copy, size);
	free(copy);
	return 0;
}
