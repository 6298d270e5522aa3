/*
 * fuzz-dns-zone - arbitrary bytes as a master file for the zone resolver,
 * then a few questions whose names the input shares ("example.com" and
 * names below it), so the index, wildcard and CNAME code see the data.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"
#include "dns_zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_names[] = {"example.com", "a.example.com", "b.a.example.com",
                                         "x.y.example.com", "*.example.com"};
static const enum dns_type fuzz_types[] = {DNS_T_A,   DNS_T_AAAA, DNS_T_MX,
                                           DNS_T_TXT, DNS_T_PTR,  DNS_T_CNAME};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_resolver *r;
	char *text;
	size_t i, j;

	if (memchr(data, '\0', size) != NULL || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	r = dns_zone_new(NULL);
	if (r != NULL && dns_zone_load_string(r, text, "example.com", NULL) == 0) {
		for (i = 0; i < sizeof(fuzz_names) / sizeof(fuzz_names[0]); i++) {
			for (j = 0; j < sizeof(fuzz_types) / sizeof(fuzz_types[0]); j++) {
				const struct dns_answer *a = NULL;

				if (dns_query(r, fuzz_names[i], fuzz_types[j], &a, NULL) == 0)
					dns_answer_release(a);
			}
		}
	}
	dns_resolver_free(r);
	free(text);
	return 0;
}
