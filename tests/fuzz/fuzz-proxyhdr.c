/*
 * fuzz-proxyhdr - the PROXY protocol header parser on arbitrary bytes.
 * Besides memory errors it checks: a header taken uses no more bytes than
 * were given and no more than the version's limit, its address is one
 * inet_pton() reads back, and a header found in a prefix is found the
 * same with more bytes after it.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyhdr h, h2;
	unsigned char bin[16], *more;
	size_t used = 0, used2 = 0;
	int rc = proxyhdr_parse(data, size, &h, &used);

	if (rc != 1)
		return 0;
	if (used == 0 || used > size ||
	    used > (h.version == 1 ? PROXYHDR_V1_MAX : (size_t)PROXYHDR_V2_MAX))
		abort();
	if (h.family != 0 && (inet_pton(h.family, h.addr, bin) != 1 || h.port > 65535))
		abort();
	if ((more = malloc(used + 8)) == NULL)
		return 0;
	memcpy(more, data, used);
	memset(more + used, 'x', 8);
	if (proxyhdr_parse(more, used + 8, &h2, &used2) != 1 || used2 != used ||
	    strcmp(h.addr, h2.addr) != 0)
		abort();
	free(more);
	return 0;
}
