/*
 * fuzz-dkim-sig - the DKIM-Signature parser (and the tag-list parser under
 * it) on arbitrary field values.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_sig.h"
#include "dkim_tag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "DKIM-Signature:"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t plen = strlen(PREFIX);
	char *raw = malloc(plen + size);
	struct dkim_sig *sig = malloc(sizeof(*sig));
	struct dkim_tag_list l;

	if (raw == NULL || sig == NULL)
		abort();
	memcpy(raw, PREFIX, plen);
	memcpy(raw + plen, data, size);
	if (dkim_sig_parse(raw, plen + size, plen, sig) == NULL) {
		/* A usable signature's b= region lies inside the field. */
		if (sig->b_region_off < plen || sig->b_region_off + sig->b_region_len > plen + size)
			abort();
		if (sig->nheaders == 0 || sig->d[0] == '\0' || sig->i[0] == '\0')
			abort();
	}
	(void)dkim_tag_parse((const char *)data, size, &l);
	free(sig);
	free(raw);
	return 0;
}
