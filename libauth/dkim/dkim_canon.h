/*
 * dkim_canon - DKIM canonicalization (RFC 6376 §3.4) of header fields and
 * of a body that arrives in chunks, and the streaming body hash.
 *
 * Header fields are canonicalized one at a time from their exact received
 * bytes ("Name: value\r\n\tfolded", no final CRLF) into a bounded buffer.
 *
 * The body canonicalizer is a small state machine fed chunks of any size
 * (split anywhere, even inside CRLF); it keeps a count of empty lines it has
 * not yet emitted, so trailing empty lines are dropped (§3.4.3, §3.4.4)
 * without buffering them, and its memory does not grow with the body.  Its
 * output goes to a sink: the body hasher below, or a test.  Only CR LF ends
 * a line; a lone CR or LF is an ordinary byte, as it is on the wire.
 *
 * The body hasher hashes the first `limit` canonical bytes (the l= tag,
 * §3.5) and counts all of them, so a caller can tell whether content was
 * left unsigned.
 *
 * Ownership: a hasher is the caller's, freed with dkim_body_hasher_free().
 * Not thread-safe: one per message.
 */
#ifndef AUTH_DKIM_CANON_H
#define AUTH_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"

/* Relaxed is zero so that zeroed signing options sign relaxed/relaxed;
 * a signature without c= is simple (RFC 6376 §3.5), which the parser
 * sets explicitly. */
enum dkim_canon {
	DKIM_CANON_RELAXED = 0,
	DKIM_CANON_SIMPLE,
};

/* "simple" or "relaxed". */
const char *dkim_canon_name(enum dkim_canon c);

/*
 * Appends the canonical form of one header field (raw: the field's bytes as
 * received, without the final CRLF) to out, followed by CRLF when crlf is
 * true.  Returns 0, or -1 when out would exceed its maximum or raw has no
 * colon.
 */
int dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, bool crlf, struct buf *out);

typedef void dkim_canon_sink(void *ctx, const char *p, size_t n);

struct dkim_body_canon {
	enum dkim_canon canon;
	bool cr;        /* the last byte seen was a CR not yet known to end a line */
	bool wsp;       /* relaxed: whitespace seen since the last emitted byte */
	bool emitted;   /* some line content was emitted */
	uint64_t crlfs; /* line ends seen but not yet emitted */
};

void dkim_body_canon_init(struct dkim_body_canon *st, enum dkim_canon c);
void dkim_body_canon_feed(struct dkim_body_canon *st, const char *p, size_t n,
                          dkim_canon_sink *sink, void *ctx);
/* Emits what the end of the body decides (the final CRLF, §3.4.3/§3.4.4). */
void dkim_body_canon_finish(struct dkim_body_canon *st, dkim_canon_sink *sink, void *ctx);

#define DKIM_BODY_NO_LIMIT UINT64_MAX

struct dkim_body_hasher;

/* md is dkim_alg_md()'s (SHA-256 or SHA-1); limit is l= or DKIM_BODY_NO_LIMIT.
 * NULL when out of memory. */
struct dkim_body_hasher *dkim_body_hasher_new(enum dkim_canon c, const EVP_MD *md, uint64_t limit);
void dkim_body_hasher_update(struct dkim_body_hasher *h, const char *p, size_t n);
/* Ends the body and writes the digest (EVP_MAX_MD_SIZE bytes suffice) and its
 * length.  Returns 0, or -1 when the digest failed.  Call once. */
int dkim_body_hasher_final(struct dkim_body_hasher *h, unsigned char *md, unsigned *md_len);
/* Canonical body length in total (valid after final), and the part hashed. */
uint64_t dkim_body_hasher_total(const struct dkim_body_hasher *h);
uint64_t dkim_body_hasher_hashed(const struct dkim_body_hasher *h);
void dkim_body_hasher_free(struct dkim_body_hasher *h);

#endif
