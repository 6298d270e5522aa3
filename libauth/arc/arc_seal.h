/*
 * arc_seal - adding this host's ARC set to a message (RFC 8617 §5.1):
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal for
 * instance N + 1, with rsa-sha256 or ed25519-sha256 keys.
 *
 *   s = arc_sealer_new(pem, pem_len, &opts, &err);     once, at start-up
 *   st = arc_seal(s, &input, &fields, &err);           per message
 *   ... prepend fields.as, fields.ams, fields.aar (top to bottom) ...
 *   arc_seal_fields_free(&fields);
 *
 * The input is what evaluating the message gave: its header fields as
 * received, the body hash of an AMS (relaxed, SHA-256: the ARC verifier's
 * arc_verifier_body_hash()), this host's Authentication-Results value
 * ("authserv-id; spf=pass ...", as authres.h writes it), and the chain as
 * the ARC verifier found it (struct arc_chain_result).  The new set gets
 * instance N + 1 and cv= from the chain's result: none when there was no
 * chain, pass, or fail.  A failed chain is sealed with a seal that covers
 * only the new set (§5.1.2); otherwise the seal covers every set, oldest
 * first.
 *
 * The AAR is "i=N+1; " and the A-R value, as it is.  The AMS signs the
 * header list (ARC_SEAL_DEFAULT_HEADERS unless given; never ARC-Seal or
 * Authentication-Results, which later hops may remove, §4.1.2), From once
 * more than it occurs, with relaxed header canonicalization unless simple
 * is asked for; its body canonicalization is relaxed, as the body hash.
 *
 * arc_seal() answers ARC_SEALED with the three fields (each complete,
 * "Name: value", folded with CRLF TAB, no final CRLF; the caller frees
 * them with arc_seal_fields_free()), or declines without an error:
 * ARC_SEAL_OURS when the newest set already has our domain in its seal's
 * d= (a second set from the same sealer would add nothing: the message has
 * come back, or was sealed on an earlier pass), ARC_SEAL_FULL when the
 * chain has ARC_MAX_SETS sets.  ARC_SEAL_ERROR (-1) with err set: invalid
 * input (an A-R value that is not one, a cv the chain contradicts, a body
 * hash of the wrong size) or a signing failure.
 *
 * Ownership: the sealer owns its key and copies of its options; it is
 * immutable after arc_sealer_new(), so any number of threads may seal
 * with one sealer at once.
 */
#ifndef AUTH_ARC_SEAL_H
#define AUTH_ARC_SEAL_H

#include <stddef.h>
#include <time.h>

#include "arc.h"
#include "dkim_sign.h"
#include "error.h"
#include "msg.h"

#define ARC_SEAL_DEFAULT_HEADERS DKIM_SIGN_DEFAULT_HEADERS ":dkim-signature"

struct arc_seal_opts {
	const char *domain;     /* d= (required) */
	const char *selector;   /* s= (required) */
	const char *headers;    /* AMS h= names; NULL: ARC_SEAL_DEFAULT_HEADERS */
	enum dkim_canon hcanon; /* the AMS's header canonicalization; zero: relaxed */
};

struct arc_seal_input {
	const struct msg_headers *headers;
	const unsigned char *body_hash; /* SHA-256: 32 bytes */
	size_t body_hash_len;
	const char *authres;                  /* our Authentication-Results value */
	const struct arc_chain_result *chain; /* NULL: no chain */
	time_t now;                           /* t=; 0: time(NULL) */
};

struct arc_seal_fields {
	char *aar, *ams, *as;
};

enum arc_seal_status {
	ARC_SEAL_ERROR = -1,
	ARC_SEALED = 0,
	ARC_SEAL_OURS,
	ARC_SEAL_FULL,
};

struct arc_sealer;

/* NULL with err set when the key cannot be read or is neither RSA nor
 * Ed25519, or the options are invalid. */
struct arc_sealer *arc_sealer_new(const char *pem, size_t pem_len, const struct arc_seal_opts *o,
                                  struct auth_error *err);
void arc_sealer_free(struct arc_sealer *s);

enum arc_seal_status arc_seal(const struct arc_sealer *s, const struct arc_seal_input *in,
                              struct arc_seal_fields *out, struct auth_error *err);
void arc_seal_fields_free(struct arc_seal_fields *f);

#endif
