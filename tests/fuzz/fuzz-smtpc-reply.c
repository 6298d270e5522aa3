/*
 * fuzz-smtpc-reply - the next-hop client's reply parser on arbitrary
 * bytes.  Besides memory errors it checks what the client relies on: a
 * complete reply takes at least one line and no more than was given, its
 * code is a valid reply code, its text is NUL-terminated within the bound,
 * an enhanced code has the reply's class, and parsing the same bytes with
 * more after them gives the same reply.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpc_reply r, again;
	size_t used = 0, used2 = 0;
	char *more;
	int rc = smtpc_reply_parse((const char *)data, size, &r, &used);

	if (rc != 1)
		return 0;
	if (used == 0 || used > size || memchr(data, '\n', used) == NULL)
		abort();
	if (r.code < 200 || r.code > 559 || memchr(r.text, '\0', sizeof(r.text)) == NULL)
		abort();
	if (r.dsn[0] != '\0' && r.dsn[0] - '0' != r.code / 100)
		abort();
	if ((more = malloc(used + 4)) == NULL)
		return 0;
	memcpy(more, data, used);
	memcpy(more + used, "250 ", 4);
	if (smtpc_reply_parse(more, used + 4, &again, &used2) != 1 || used2 != used ||
	    again.code != r.code || strcmp(again.text, r.text) != 0)
		abort();
	free(more);
	return 0;
}
