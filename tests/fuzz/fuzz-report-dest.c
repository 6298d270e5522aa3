/*
 * fuzz-report-dest - what authreport send reads from DNS about a
 * destination: a rua URI as the policy record published it, and the
 * external-destination authorization record (TXT data, its own rua=
 * included).  The first byte picks which; the rest is input.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_zone.h"
#include "report_dest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_uri(const uint8_t *in, size_t len)
{
	char *uri = malloc(len + 1);
	struct report_dest d;
	const char *why;

	if (uri == NULL)
		return;
	memcpy(uri, in, len);
	uri[len] = '\0';
	if (report_dest_parse(uri, &d, &why) == 0 &&
	    (strlen(d.addr) > REPORT_DEST_ADDR_MAX || strlen(d.domain) > DNS_NAME_MAX))
		__builtin_trap();
	free(uri);
}

/* The input as one TXT record of the name the check asks for, every byte
 * escaped (\DDD), in character-strings of at most 255 bytes. */
static char *
auth_zone(const uint8_t *in, size_t len)
{
	size_t cap = 128 + len * 4 + (len / 255 + 1) * 3, n;
	char *z = malloc(cap);
	size_t i;

	if (z == NULL)
		return NULL;
	n = (size_t)snprintf(z, cap, "example.com._report._dmarc.dest.test. 300 IN TXT \"");
	for (i = 0; i < len; i++) {
		if (i > 0 && i % 255 == 0)
			n += (size_t)snprintf(z + n, cap - n, "\" \"");
		n += (size_t)snprintf(z + n, cap - n, "\\%03u", in[i]);
	}
	snprintf(z + n, cap - n, "\"\n");
	return z;
}

static void
fuzz_authorization(const uint8_t *in, size_t len)
{
	struct dmarc_opts opts = {.mode = DMARC_MODE_RFC7489};
	struct auth_error err;
	struct dns_resolver *r = dns_zone_new(&err);
	struct dmarc_ctx *dc = NULL;
	enum report_dest_auth a;
	const char *why;
	char *z = len <= 4000 ? auth_zone(in, len) : NULL;

	if (r != NULL && z != NULL && dns_zone_load_string(r, z, NULL, &err) == 0 &&
	    (dc = dmarc_ctx_new(r, &opts, &err)) != NULL &&
	    report_dest_authorized(dc, r, "example.com", "dest.test", &a, &why) == 0 &&
	    a != REPORT_DEST_ALLOWED && why == NULL)
		__builtin_trap();
	dmarc_ctx_free(dc);
	dns_resolver_free(r);
	free(z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_uri(data + 1, size - 1);
	else
		fuzz_authorization(data + 1, size - 1);
	return 0;
}
