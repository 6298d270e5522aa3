/*
 * fuzz-dmarc - the parsers of untrusted input the DMARC path has: the
 * DMARC record parser (DNS TXT data), the Authentication-Results
 * authserv-id reader (message headers) and the From-domain extraction the
 * engine starts from.  The first byte picks the parser; the rest is input.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "authres.h"
#include "dmarc.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const struct dmarc_record *rec)
{
	size_t i;

	if (rec->nrua > DMARC_MAX_URIS || rec->nruf > DMARC_MAX_URIS || rec->pct > 100 ||
	    strlen(rec->fo) >= sizeof(rec->fo))
		__builtin_trap();
	for (i = 0; i < rec->nrua; i++)
		if (strlen(rec->rua[i]) >= DMARC_URI_MAX)
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len = size - 1;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0: {
		struct dmarc_record rec;
		if (dmarc_record_parse(in, len, &rec))
			check_record(&rec);
		break;
	}
	case 1: {
		char id[64];
		if (authres_authserv_id(in, len, id, sizeof(id)) == 0 && strlen(id) >= sizeof(id))
			__builtin_trap();
		(void)authres_claims(in, len, "mx.example.net");
		break;
	}
	default: {
		struct msg_from f;
		msg_from_parse(in, len, &f);
		if (f.ndomains > MSG_FROM_MAX_DOMAINS)
			__builtin_trap();
		break;
	}
	}
	return 0;
}
