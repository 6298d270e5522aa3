/*
 * fuzz-dns-wire - arbitrary bytes as a DNS reply, read by dns_wire_parse().
 *
 * The question asked is taken from the input's own question section when
 * it has one, so the fuzzer gets past the echo check and into the answer,
 * CNAME and negative-TTL code.  Every field of the answer is read so that
 * the sanitizers see any bad pointer.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the answer's bytes are summed, so the reads cannot be dropped. */
static volatile size_t fuzz_sink;

static void
question_of(const uint8_t *data, size_t size, char name[DNS_NAME_MAX + 1], enum dns_type *type)
{
	ldns_pkt *pkt = NULL;
	const ldns_rr *q;

	if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK)
		return;
	q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	if (q != NULL && dns_wire_name(ldns_rr_owner(q), name) == 0 && name[0] != '\0')
		*type = (enum dns_type)ldns_rr_get_type(q);
	else
		(void)snprintf(name, DNS_NAME_MAX + 1, "example.com");
	ldns_pkt_free(pkt);
}

static size_t
touch(const struct dns_answer *a)
{
	size_t i, j, sum = strlen(a->canonical_name) + (a->reason ? strlen(a->reason) : 0);

	for (i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rrs[i];

		if (rr->type == DNS_T_MX)
			sum += strlen(rr->u.mx.exchange) + rr->u.mx.preference;
		else if (rr->type == DNS_T_PTR || rr->type == DNS_T_CNAME)
			sum += strlen(rr->u.ptr);
		else if (rr->type == DNS_T_TXT || (int)rr->type == DNS_T_SPF) {
			for (j = 0; j < rr->u.txt.nstrings; j++)
				sum +=
				    rr->u.txt.strings[j].len +
				    (rr->u.txt.strings[j].len ? rr->u.txt.strings[j].data[0] : 0);
			sum += rr->u.txt.joined_len + rr->u.txt.joined[rr->u.txt.joined_len];
		}
	}
	return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[DNS_NAME_MAX + 1] = "example.com";
	enum dns_type type = DNS_T_TXT;
	struct dns_wire_chain chain;
	const struct dns_answer *a = NULL;

	question_of(data, size, name, &type);
	dns_wire_chain_init(&chain, name);
	if (dns_wire_parse(data, size, type, &chain, &a, NULL) >= 0 && a != NULL) {
		fuzz_sink += touch(a);
		dns_answer_release(a);
	}
	return 0;
}
