/*
 * arc-util.h - what the ARC unit tests share: verifying a message against
 * an in-memory zone, and sealing one (verify, then seal with the chain
 * found, then prepend the new set).  Header-only, like dkim-util.h.
 */
#ifndef ARC_UTIL_H
#define ARC_UTIL_H

#include "arc.h"
#include "arc_seal.h"
#include "dkim-util.h"

/* Verifies text, feeding the body in chunks of step bytes (0: at once).
 * The caller frees the verifier. */
static inline struct arc_verifier *
averify(const char *text, const char *zone, const char *fail, const struct arc_verify_opts *o,
        size_t step)
{
	struct dns_resolver *r = dns_zone_new(NULL);
	struct arc_verify_opts def = {0};
	struct arc_verifier *v;
	struct tmsg m;

	if (zone != NULL && dns_zone_load_string(r, zone, NULL, NULL) < 0)
		fprintf(stderr, "zone does not load\n");
	if (fail != NULL)
		dns_zone_add_fail(r, fail, NULL);
	def = o != NULL ? *o : def;
	def.seal_body_hash = 1;
	v = arc_verifier_new(r, &def, NULL);
	tmsg_parse(&m, text, strlen(text));
	arc_verifier_headers(v, m.h, NULL);
	if (step == 0)
		step = m.body_len ? m.body_len : 1;
	for (size_t off = 0; off < m.body_len; off += step)
		arc_verifier_body(v, m.body + off,
		                  m.body_len - off < step ? m.body_len - off : step);
	arc_verifier_finish(v, NULL);
	tmsg_free(&m);
	dns_resolver_free(r);
	return v;
}

struct aseal_opts {
	const struct tkey *key;
	const char *domain, *selector;
	const char *authres; /* NULL: "DOMAIN; arc=RESULT" */
	const char *zone;
	time_t now;
	/* Seal with this chain instead of the one found (a forwarder that
	 * verified before it changed the message). */
	const struct arc_chain_result *chain;
	enum dkim_canon hcanon; /* the AMS's */
};

/* Returns "AS CRLF AMS CRLF AAR CRLF text" (malloc'd), or NULL with *st
 * saying why. */
static inline char *
aseal(const struct aseal_opts *o, const char *text, enum arc_seal_status *st)
{
	struct arc_verifier *v = averify(text, o->zone, NULL, NULL, 0);
	struct arc_seal_opts so = {
	    .domain = o->domain, .selector = o->selector, .hcanon = o->hcanon};
	struct arc_sealer *s = arc_sealer_new(o->key->pem, strlen(o->key->pem), &so, NULL);
	const struct arc_chain_result *chain = o->chain ? o->chain : arc_verifier_result(v);
	unsigned char bh[64];
	unsigned bhlen = 0;
	char ar[512], *out = NULL;
	struct arc_seal_fields f;
	struct tmsg m;
	size_t n;

	snprintf(ar, sizeof(ar), "%s; arc=%s", o->domain, arc_result_name(chain->result));
	arc_verifier_body_hash(v, bh, &bhlen);
	tmsg_parse(&m, text, strlen(text));
	*st = arc_seal(
	    s,
	    &(struct arc_seal_input){m.h, bh, bhlen, o->authres ? o->authres : ar, chain, o->now},
	    &f, NULL);
	if (*st == ARC_SEALED) {
		n = strlen(f.as) + strlen(f.ams) + strlen(f.aar) + strlen(text) + 8;
		out = malloc(n);
		snprintf(out, n, "%s\r\n%s\r\n%s\r\n%s", f.as, f.ams, f.aar, text);
		arc_seal_fields_free(&f);
	}
	tmsg_free(&m);
	arc_sealer_free(s);
	arc_verifier_free(v);
	return out;
}

/* Returns a copy of text with the first occurrence of from replaced. */
static inline char *
areplace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) + strlen(to) + 1;
	char *out = malloc(n);

	if (at == NULL) {
		fprintf(stderr, "areplace: \"%s\" not found\n", from);
		at = text + strlen(text), from = "";
	}
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

#endif
