/*
 * fuzz-arc - the ARC header parsers (AAR, AMS, AS), the sorting of a
 * message's ARC fields into sets, and the chain checks of the verifier, on
 * an arbitrary header block (keys come from an empty zone, so every look-up
 * answers "no key").
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "arc_hdr.h"
#include "dns_zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse_one(const struct msg_field *m, struct dkim_sig *sig)
{
	struct arc_field f = {m->raw, m->raw_len, m->value_off};
	unsigned i = 0;
	size_t payload = 0;
	enum arc_cv cv;
	const char *r = NULL;

	switch (arc_hdr_kind(m)) {
	case ARC_AAR:
		r = arc_hdr_parse_aar(&f, &i, &payload);
		if (r == NULL && (payload <= f.value_off || payload > f.len))
			abort();
		break;
	case ARC_AMS:
		r = arc_hdr_parse_ams(&f, &i, sig);
		break;
	case ARC_AS:
		r = arc_hdr_parse_seal(&f, &i, &cv, sig);
		break;
	default:
		return;
	}
	if (r == NULL && (i < 1 || i > ARC_MAX_SETS))
		abort();
	if (r == NULL && arc_hdr_kind(m) != ARC_AAR &&
	    sig->b_region_off + sig->b_region_len > f.len)
		abort();
}

static void
verify(const struct msg_headers *h)
{
	struct dns_resolver *r = dns_zone_new(NULL);
	struct arc_verifier *v = arc_verifier_new(r, NULL, NULL);
	const struct arc_chain_result *res;

	if (arc_verifier_headers(v, h, NULL) < 0 || arc_verifier_finish(v, NULL) < 0)
		abort();
	res = arc_verifier_result(v);
	if (res->instances > ARC_MAX_SETS || (res->result == ARC_PASS) ||
	    (res->result == ARC_FAIL && res->reason == NULL) ||
	    (res->aar != NULL && res->aar_payload > res->aar_len))
		abort();
	arc_verifier_free(v);
	dns_resolver_free(r);
}

static int
no_eoh(void *ctx, struct auth_error *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

static int
no_body(void *ctx, const char *b, size_t n, struct auth_error *err)
{
	(void)ctx;
	(void)b;
	(void)n;
	(void)err;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct msg_parser_ops ops = {msg_headers_collect, no_eoh, no_body};
	struct msg_headers *h = msg_headers_new();
	struct msg_parser *p = msg_parser_new(&ops, h, 1 << 16);
	struct dkim_sig *sig = malloc(sizeof(*sig));
	struct arc_sets *sets = malloc(sizeof(*sets));

	if (h == NULL || p == NULL || sig == NULL || sets == NULL)
		abort();
	if (msg_parser_feed(p, (const char *)data, size, NULL) == 0 &&
	    msg_parser_finish(p, NULL) == 0) {
		for (size_t k = 0; k < msg_headers_count(h); k++)
			parse_one(msg_headers_get(h, k), sig);
		arc_hdr_collect(h, 16384, sets);
		if (sets->n > ARC_MAX_SETS)
			abort();
		verify(h);
	}
	free(sets);
	free(sig);
	msg_parser_free(p);
	msg_headers_free(h);
	return 0;
}
