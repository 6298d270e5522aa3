/*
 * dkim - DKIM signature verification (RFC 6376, RFC 8301, RFC 8463).
 *
 * One verifier per message, fed in the order a message arrives:
 *
 *   v = dkim_verifier_new(resolver, &opts, &err);
 *   dkim_verifier_headers(v, headers, &err);   at the end of the headers
 *   dkim_verifier_body(v, chunk, len);          any number of times
 *   dkim_verifier_finish(v, &err);              at the end of the message
 *   for (i = 0; i < dkim_verifier_count(v); i++) dkim_verifier_result(v, i);
 *   dkim_verifier_free(v);
 *
 * dkim_verifier_headers() parses every DKIM-Signature field (top to
 * bottom), looks up the keys of the first max_signatures through the
 * resolver, hashes the signed header fields and checks each signature over
 * them, and sets up one body hasher per distinct (body canonicalization,
 * hash, l=).  The headers need not outlive that call.  The body is hashed
 * as it comes; memory does not grow with its size.  dkim_verifier_finish()
 * compares the body hashes and settles every result.
 *
 * Results, in RFC 8601 §2.7.1's words, with a reason (static text):
 *   none       not settled yet (dkim_verifier_finish() was not called);
 *   pass       the signature verified;
 *   fail       "body hash mismatch", "signature mismatch", "key revoked",
 *              "signature expired";
 *   policy     verified, or verifiable, but refused by this receiver's rules:
 *              "algorithm not allowed" (rsa-sha1, RFC 8301 §3.1), "key too
 *              small" (RFC 8301 §3.2), "partial body signed" (l=, when
 *              reject_partial_body), "signature in the future" (t=, §3.5),
 *              "header block over limit" (headers_incomplete);
 *   neutral    "too many signatures": beyond max_signatures, not examined;
 *   temperror  "DNS temporary failure";
 *   permerror  the signature or its key record is unusable: "syntax error:
 *              ...", "incompatible version", "algorithm not supported",
 *              "canonicalization not supported", "query method not
 *              supported", "From field not signed", "domain mismatch",
 *              "no key", "multiple key records", "key syntax error",
 *              "inappropriate key algorithm", "inappropriate hash
 *              algorithm", "key not for email", "i= subdomain not allowed by
 *              key", "signature field too long", "signed headers too large".
 *
 * Ownership: the verifier owns everything it returns; result pointers stay
 * valid until dkim_verifier_free().  The resolver is the caller's; it is
 * used only during dkim_verifier_headers().  Not thread-safe: one verifier
 * per message (the resolver may be shared).
 *
 * Limits: max_signatures examined, max_header_sig_bytes per signature field,
 * DKIM_MAX_HEADER_DATA of canonical header data per signature, and those of
 * dkim_sig.h and dkim_key.h.
 */
#ifndef AUTH_DKIM_H
#define AUTH_DKIM_H

#include <stddef.h>
#include <time.h>

#include "dkim_hdata.h"
#include "dkim_sig.h"
#include "dns.h"
#include "error.h"
#include "msg.h"

enum dkim_result {
	DKIM_NONE = 0,
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_NEUTRAL,
	DKIM_POLICY,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
};

#define DKIM_DEFAULT_MAX_SIGNATURES 5
#define DKIM_DEFAULT_MIN_RSA_BITS 1024
#define DKIM_DEFAULT_MAX_SIG_BYTES 16384
#define DKIM_DEFAULT_CLOCK_SKEW 300

struct dkim_keycache;

struct dkim_verify_opts {            /* zero = default */
	unsigned max_signatures;     /* DKIM_DEFAULT_MAX_SIGNATURES */
	int allow_sha1;              /* 0: rsa-sha1 is result policy */
	unsigned min_rsa_bits;       /* DKIM_DEFAULT_MIN_RSA_BITS */
	int reject_partial_body;     /* l= leaving body content unsigned is policy */
	time_t now;                  /* time(NULL) */
	size_t max_header_sig_bytes; /* DKIM_DEFAULT_MAX_SIG_BYTES per field */
	unsigned clock_skew;         /* seconds t= may be ahead; DKIM_DEFAULT_CLOCK_SKEW */
	/* Parsed keys shared between verifiers (dkim_keycache.h): the
	 * caller's, outliving the verifier; NULL: none. */
	struct dkim_keycache *key_cache;
	/* The caller could not keep every header field (its limits): the
	 * fields a signature covers may be missing, so no signature is
	 * checked; each is policy, "header block over limit". */
	int headers_incomplete;
};

struct dkim_sig_result {
	enum dkim_result result;
	char d[DNS_NAME_MAX + 1]; /* "" when unreadable */
	char s[DNS_NAME_MAX + 1];
	char i[DKIM_SIG_MAX_AUID + 1];
	char a[DKIM_SIG_A_MAX]; /* "rsa-sha256", as written */
	char b_prefix[17];      /* the first 16 characters of b= */
	const char *reason;     /* NULL for pass */
	int testing;            /* the key has t=y */
	unsigned key_bits;      /* 0 when no key was read */
	int partial_body;       /* l= left body content unsigned */
};

struct dkim_verifier;

/* NULL with err set when out of memory. */
struct dkim_verifier *dkim_verifier_new(struct dns_resolver *r, const struct dkim_verify_opts *o,
                                        struct auth_error *err);

/* Returns 0, or -1 with err set (out of memory, called twice). */
int dkim_verifier_headers(struct dkim_verifier *v, const struct msg_headers *h,
                          struct auth_error *err);

/* Body bytes as on the wire (CRLF line ends).  Returns 0, or -1 when called
 * before dkim_verifier_headers() or after dkim_verifier_finish(). */
int dkim_verifier_body(struct dkim_verifier *v, const char *chunk, size_t len);

/* Returns 0, or -1 with err set (a digest failed inside OpenSSL). */
int dkim_verifier_finish(struct dkim_verifier *v, struct auth_error *err);

/* The number of DKIM-Signature fields, and the result of the i-th from the
 * top (NULL when i is out of range). */
size_t dkim_verifier_count(const struct dkim_verifier *v);
const struct dkim_sig_result *dkim_verifier_result(const struct dkim_verifier *v, size_t i);
/* All dkim_verifier_count() results as one array (NULL when there are none). */
const struct dkim_sig_result *dkim_verifier_results(const struct dkim_verifier *v);

void dkim_verifier_free(struct dkim_verifier *v);

/* "none", "pass", "fail", "neutral", "policy", "temperror", "permerror". */
const char *dkim_result_name(enum dkim_result r);

#endif
