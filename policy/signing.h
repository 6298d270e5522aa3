/*
 * signing - what this host adds of its own: DKIM signatures on mail from
 * trusted networks and authenticated clients (dkim_sign entries), and an
 * ARC set on mail it passes on (arc_seal_*).
 *
 * signing_keys_new() parses, once per configuration, every key the
 * configuration names, from the PEM texts the keyring read while the
 * daemon was privileged.  Per message, signing_start() picks the
 * dkim_sign entries that match the Author Domain and starts a signer for
 * each (RFC 8463 suggests signing with both an RSA and an Ed25519 key:
 * two entries for one domain give two signatures); the body goes to
 * signing_body(); signing_finish() writes the DKIM-Signature fields.
 * signing_seal() writes an ARC set for a message the session evaluated.
 *
 * An entry "*.example.org" signs mail from any name below example.org with
 * d=example.org, so that the signature aligns (relaxed) with the From
 * domain; an exact entry signs with d= its domain.
 *
 * Ownership: keys are immutable once made and shared by every session of
 * their configuration; a struct signing belongs to one message, and the
 * fields it writes live in the arena given.
 */
#ifndef AUTH_SIGNING_H
#define AUTH_SIGNING_H

#include <stdbool.h>
#include <stddef.h>

#include "arc.h"
#include "arc_seal.h"
#include "arena.h"
#include "config.h"
#include "error.h"
#include "keyring.h"
#include "msg.h"
#include "verdict.h"

struct signing_keys;

/* NULL with err set when a key the configuration names is not in kr (kr
 * NULL: none is) or is not an RSA or Ed25519 private key.  With nothing
 * to sign or seal, an empty set. */
struct signing_keys *signing_keys_new(const struct policy_config *cfg, const struct keyring *kr,
                                      struct auth_error *err);
/* Only the dkim_sign entries that match domain, no sealer: for a program
 * that signs its own mail from one domain (authreport send). */
struct signing_keys *signing_keys_domain(const struct policy_config *cfg, const struct keyring *kr,
                                         const char *domain, struct auth_error *err);
void signing_keys_free(struct signing_keys *k);

/* Whether any dkim_sign entry is configured, and whether sealing is. */
bool signing_keys_sign(const struct signing_keys *k);
bool signing_keys_seal(const struct signing_keys *k);

struct signing;

/* The signers for mail from domain, or NULL (err clear) when no entry
 * matches; NULL with err set when out of memory. */
struct signing *signing_start(const struct signing_keys *k, const char *domain,
                              struct auth_error *err);
void signing_body(struct signing *sg, const char *chunk, size_t len);
/* Appends a DKIM-Signature field per signer to *out (n of them, in the
 * order of the entries).  Returns 0, or -1 with err set. */
int signing_finish(struct signing *sg, const struct msg_headers *h, struct arena *a,
                   struct verdict_header *out, size_t *n, struct auth_error *err);
/* The signers a message has (its headers need that many slots). */
size_t signing_count(const struct signing *sg);
void signing_free(struct signing *sg);

/* An ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results,
 * top to bottom) for a message, into out[0..2]; authres is our
 * Authentication-Results value, chain what the ARC verifier found (NULL:
 * no chain).  Returns ARC_SEALED, or the arc_seal_status that declined
 * (ARC_SEAL_OURS, ARC_SEAL_FULL), or ARC_SEAL_ERROR with err set. */
enum arc_seal_status signing_seal(const struct signing_keys *k, const struct msg_headers *h,
                                  const unsigned char *body_hash, size_t body_hash_len,
                                  const char *authres, const struct arc_chain_result *chain,
                                  struct arena *a, struct verdict_header out[3],
                                  struct auth_error *err);

#endif
