/*
 * arc_hdr - the ARC header fields (RFC 8617 §4.1): parsing
 * ARC-Authentication-Results (AAR), ARC-Message-Signature (AMS) and
 * ARC-Seal (AS) from their raw bytes, sorting a message's ARC fields into
 * sets by instance, and the canonical form of a set that seals hash.
 *
 * Every field carries an instance i=, 1 to ARC_MAX_SETS (§4.2.1: 1*2DIGIT
 * and at most 50).  An AAR is "i=N;" followed by an Authentication-Results
 * payload (authserv-id; results), which is only located here, not judged.
 * AMS and AS are tag lists parsed by dkim_sig.h in their ARC forms; the AS
 * adds cv= (none, pass or fail, §4.2.2).  Parsers return NULL, or the
 * reason (static text) the field is unusable.
 *
 * arc_hdr_collect() finds the ARC fields of a message.  It examines at most
 * 3 * ARC_MAX_SETS of them and fields of at most max_field bytes: beyond
 * that the chain is invalid anyway, and the work stays bounded.
 *
 * Ownership: views point into the caller's bytes.  No state; thread-safe.
 */
#ifndef AUTH_ARC_HDR_H
#define AUTH_ARC_HDR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dkim_sig.h"
#include "msg.h"

#define ARC_MAX_SETS 50

enum arc_kind {
	ARC_AAR = 0,
	ARC_AMS,
	ARC_AS,
	ARC_KINDS,
};

enum arc_cv {
	ARC_CV_NONE = 0,
	ARC_CV_PASS,
	ARC_CV_FAIL,
};

/* One field as received: "Name: value", no final CRLF. */
struct arc_field {
	const char *raw; /* NULL: absent */
	size_t len;
	size_t value_off; /* the first byte after the colon */
};

/* The field's name as RFC 8617 writes it ("ARC-Seal", ...). */
const char *arc_kind_name(enum arc_kind k);
/* The kind of a header field, or -1 when it is not an ARC field. */
int arc_hdr_kind(const struct msg_field *f);
/* "none", "pass", "fail". */
const char *arc_cv_name(enum arc_cv cv);

/* AAR: the instance, and where its Authentication-Results payload starts
 * (an offset into raw). */
const char *arc_hdr_parse_aar(const struct arc_field *f, unsigned *i, size_t *payload_off);
/* AMS: the instance and the signature.  An AMS must not sign ARC-Seal. */
const char *arc_hdr_parse_ams(const struct arc_field *f, unsigned *i, struct dkim_sig *sig);
/* AS: the instance, cv= and the signature. */
const char *arc_hdr_parse_seal(const struct arc_field *f, unsigned *i, enum arc_cv *cv,
                               struct dkim_sig *sig);

struct arc_sets {
	unsigned count;      /* ARC fields seen */
	unsigned n;          /* the highest valid instance among them (0: none) */
	bool too_many;       /* an instance past ARC_MAX_SETS, or too many fields */
	const char *problem; /* the first reason the sets are not well formed */
	struct arc_field f[ARC_MAX_SETS + 1][ARC_KINDS]; /* [instance][kind] */
};

/*
 * Sorts the ARC fields of h into out by instance and kind.  out->problem
 * is NULL, or the first of "too many ARC sets", "ARC field too long",
 * "syntax error: i=", "duplicate ARC field"; the other fields are sorted
 * all the same, so n is the highest instance a sealer must follow.
 */
void arc_hdr_collect(const struct msg_headers *h, size_t max_field, struct arc_sets *out);

/* Appends the relaxed canonical form of an AAR, AMS and AS (set[ARC_AAR]
 * .. set[ARC_AS]), each followed by CRLF, as a seal covers an earlier set
 * (§5.1.1).  Returns 0, or -1 when out would pass its maximum. */
int arc_hdr_canon_set(const struct arc_field set[ARC_KINDS], struct buf *out);

#endif
