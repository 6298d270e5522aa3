/*
 * arc - ARC chain validation (RFC 8617 §5.2).
 *
 * One verifier per message, fed as the DKIM verifier is (dkim.h):
 *
 *   v = arc_verifier_new(resolver, &opts, &err);
 *   arc_verifier_headers(v, headers, &err);    at the end of the headers
 *   arc_verifier_body(v, chunk, len);           any number of times
 *   arc_verifier_finish(v, &err);               at the end of the message
 *   r = arc_verifier_result(v);
 *   arc_verifier_free(v);
 *
 * arc_verifier_headers() sorts the ARC sets (arc_hdr.h) and checks the
 * chain in §5.2's order: no ARC field at all is "none"; more than
 * ARC_MAX_SETS sets, a newest seal that says cv=fail, a set that is not
 * exactly one AAR, AMS and AS, instances that are not 1..N, a first seal
 * other than cv=none or a later one other than cv=pass are "fail".  It
 * then looks up the keys (dkim_keyfetch.h) and verifies every seal and,
 * over the header fields, the newest AMS and the older ones from N-1
 * downwards until one fails, and sets up the body hashers those AMS need
 * (dkim_bodyset.h: signatures that hash alike share one).  The headers
 * need not outlive that call.  arc_verifier_finish() compares the body
 * hashes and settles the result.
 *
 * A message signature or seal validates as a DKIM signature would: the key
 * must suit it, RSA keys have at least min_rsa_bits, rsa-sha1 is refused
 * (RFC 8301), an expired x= fails.  A temporary DNS failure cannot be told
 * apart in ARC's results (none, pass, fail): it fails the chain, with the
 * reason "DNS temporary failure".
 *
 * The result (struct arc_chain_result):
 *   result        none | pass | fail;
 *   instances     N, the highest instance found (0 when none): the one a
 *                 sealer follows with N + 1;
 *   reason        NULL on pass and none, else static text: one of the
 *                 structural reasons above ("too many ARC sets", "newest
 *                 seal says cv=fail", "duplicate ARC field", "incomplete
 *                 ARC set", "first seal not cv=none", "seal not cv=pass",
 *                 those of arc_hdr.h), or why a signature did not validate
 *                 in the words of dkim.h ("body hash mismatch", "signature
 *                 mismatch", "no key", "key too small", ...);
 *   failed_field, failed_instance   which field that reason is about, when
 *                 it is about one ("ARC-Seal", 2);
 *   oldest_pass   on pass, the lowest instance from which every AMS up to
 *                 N validates (§5.2 step 5; N when only the newest does);
 *                 0 otherwise;
 *   d, s          the newest seal's d= and s= ("" when unreadable);
 *   aar, aar_len  the newest AAR's value as received (after the colon),
 *                 NULL when there is none, and aar_payload, the offset in
 *                 it of the Authentication-Results payload after "i=N;",
 *                 which is what the sealer claimed.
 *
 * Ownership: the verifier owns the result and what it points to, valid
 * until arc_verifier_free().  The resolver is the caller's, used only
 * during arc_verifier_headers().  Not thread-safe: one verifier per
 * message (resolver and key cache may be shared).
 *
 * Limits: ARC_MAX_SETS sets, max_field_bytes per ARC field,
 * DKIM_MAX_HEADER_DATA of canonical data per signature.
 */
#ifndef AUTH_ARC_H
#define AUTH_ARC_H

#include <stddef.h>
#include <time.h>

#include "arc_hdr.h"
#include "dns.h"
#include "error.h"
#include "msg.h"

enum arc_result {
	ARC_NONE = 0,
	ARC_PASS,
	ARC_FAIL,
};

struct dkim_keycache;

struct arc_verify_opts {        /* zero = default */
	unsigned min_rsa_bits;  /* DKIM_DEFAULT_MIN_RSA_BITS */
	time_t now;             /* for x=; time(NULL) */
	size_t max_field_bytes; /* per ARC field; DKIM_DEFAULT_MAX_SIG_BYTES */
	/* Also hash the body as an ARC-Message-Signature of ours will
	 * (relaxed, SHA-256), for arc_verifier_body_hash(). */
	int seal_body_hash;
	struct dkim_keycache *key_cache; /* the caller's; NULL: none */
};

struct arc_chain_result {
	enum arc_result result;
	unsigned instances;
	const char *reason;
	const char *failed_field; /* "ARC-Seal", ... or NULL */
	unsigned failed_instance; /* 0 when failed_field is NULL */
	unsigned oldest_pass;
	char d[DNS_NAME_MAX + 1];
	char s[DNS_NAME_MAX + 1];
	const char *aar;
	size_t aar_len;
	size_t aar_payload;
};

struct arc_verifier;

/* NULL with err set when out of memory. */
struct arc_verifier *arc_verifier_new(struct dns_resolver *r, const struct arc_verify_opts *o,
                                      struct auth_error *err);

/* Returns 0, or -1 with err set (out of memory, called twice). */
int arc_verifier_headers(struct arc_verifier *v, const struct msg_headers *h,
                         struct auth_error *err);

/* Body bytes as on the wire.  Returns 0, or -1 out of order. */
int arc_verifier_body(struct arc_verifier *v, const char *chunk, size_t len);

/* Returns 0, or -1 with err set (a digest failed, called twice). */
int arc_verifier_finish(struct arc_verifier *v, struct auth_error *err);

/* The chain's result; settled after arc_verifier_finish(). */
const struct arc_chain_result *arc_verifier_result(const struct arc_verifier *v);

/* After finish, with seal_body_hash: the body hash an AMS of ours carries
 * in bh=.  Returns 0, or -1 when it was not asked for or not finished. */
int arc_verifier_body_hash(const struct arc_verifier *v, unsigned char *md, unsigned *len);

void arc_verifier_free(struct arc_verifier *v);

/* "none", "pass", "fail". */
const char *arc_result_name(enum arc_result r);

#endif
