/*
 * authres - the Authentication-Results header field (RFC 8601).
 *
 * Writer: builds the field's value (what follows "Authentication-Results:")
 * from plain strings, so any engine's results can go in: authres_begin(),
 * then one authres_add*() per result, then authres_end().  Property values
 * are written bare when RFC 8601 §2.2 allows (a token, a domain name, or
 * local-part@domain with a dot-atom local-part) and as a quoted-string
 * otherwise (a local-part already written as a quoted-string is kept only
 * when every byte in it, escaped or not, is safe); control characters in
 * values and comments become '?', so nothing from a message can start or
 * end a header line.  Lines are folded with CRLF TAB between
 * results and properties so that no line is longer than AUTHRES_FOLD_AT
 * where a break can help (front ends that want bare LF replace CRLF).
 * Errors (the buffer's maximum reached, out of memory) are sticky: check
 * authres_end()'s return once.
 *
 * Reader: authres_authserv_id() extracts the authserv-id of an existing
 * header field (RFC 8601 §2.2 grammar, with CFWS and the optional version)
 * so the policy layer can remove fields that claim to be ours (§5).  It
 * parses untrusted bytes from a (pointer, length) view with bounded
 * comment nesting and output size.
 *
 * Thread safety: no shared state.
 */
#ifndef AUTH_AUTHRES_H
#define AUTH_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define AUTHRES_FIELD "Authentication-Results"
/* Fold before a piece that would take a line past this many columns
 * (the field name counts on the first line). */
#define AUTHRES_FOLD_AT 78
/* At least this many characters of a DKIM b= in header.b (RFC 6008 §4). */
#define AUTHRES_B_MIN 8

struct authres {
	struct buf *out;
	size_t col;     /* length of the current line so far */
	unsigned count; /* results added */
	int error;
};

/* One "ptype.property=value" (RFC 8601 §2.3). */
struct authres_prop {
	const char *ptype;    /* "smtp", "header", "policy", ... */
	const char *property; /* "mailfrom", "d", ... */
	const char *value;
};

void authres_begin(struct authres *w, struct buf *out, const char *authserv_id);

/* A result of any method.  comment and reason may be NULL. */
void authres_add(struct authres *w, const char *method, const char *result, const char *comment,
                 const char *reason, const struct authres_prop *props, size_t nprops);

/* spf=RESULT smtp.mailfrom=ADDR, or smtp.helo=NAME when helo is true. */
void authres_add_spf(struct authres *w, const char *result, bool helo, const char *identity,
                     const char *comment, const char *reason);

struct authres_dkim {
	const char *result;
	const char *d, *s, *i, *a; /* any may be NULL */
	const char *b;             /* the signature's b= without whitespace, or NULL */
	size_t b_len;              /* characters of b for header.b; 0 leaves it out */
	const char *comment, *reason;
};

void authres_add_dkim(struct authres *w, const struct authres_dkim *sig);

/*
 * The header.b length that tells signature i apart from the others
 * (RFC 6008 §4): AUTHRES_B_MIN characters, more while another signature
 * shares that prefix; 0 when there is only one signature (nothing to tell
 * apart).  b[] are the signatures' b= values.
 */
size_t authres_b_prefix_len(const char *const *b, size_t n, size_t i);

/*
 * dmarc=RESULT (p=POLICY dis=DISPOSITION) header.from=DOMAIN
 * policy.dmarc=EVALUATED: POLICY is the one requested, EVALUATED that
 * policy after pct=/t= (struct dmarc_outcome's evaluated), DISPOSITION what
 * this receiver applies.  Each may be NULL (no record).
 */
void authres_add_dmarc(struct authres *w, const char *result, const char *from_domain,
                       const char *policy, const char *evaluated, const char *disposition,
                       const char *reason);

/* A comment after the last result (RFC 8601 §2.2 allows CFWS there). */
void authres_add_comment(struct authres *w, const char *comment);

/* A point to return to: authres_rewind() forgets everything written after
 * authres_mark(), errors included, so a caller can try a result and take
 * it back when it does not fit. */
struct authres_mark {
	size_t len, col;
	unsigned count;
	int error;
};

void authres_mark(const struct authres *w, struct authres_mark *m);
void authres_rewind(struct authres *w, const struct authres_mark *m);

/* Writes "none" when no result was added (RFC 8601 §2.2 no-result).
 * Returns 0, or -1 when anything could not be written. */
int authres_end(struct authres *w);

/*
 * Reads the authserv-id at the start of an Authentication-Results value
 * (the bytes after the colon; folded or not).  Returns 0 and the
 * authserv-id (quoted-pairs undone) in out, or -1 when the value does not
 * start with one followed by an optional version and ";", or the id does
 * not fit in outsz.
 */
int authres_authserv_id(const char *value, size_t len, char *out, size_t outsz);

/* The length of the CFWS (RFC 5322 §3.2.2: folding whitespace and nested
 * comments) at the start of p[0..len), or -1 when a comment is not closed
 * or nests too deep. */
long authres_cfws_len(const char *p, size_t len);

/* Whether the field claims authserv_id (compared case-insensitively):
 * its value opens with that authserv-id, whatever follows; or its opening
 * authserv-id cannot be read and authserv_id appears in it as a token
 * (after quoted-pair backslashes and line ends are removed), as a lenient
 * reader could take it. */
bool authres_claims(const char *value, size_t len, const char *authserv_id);

/*
 * The results an Authentication-Results payload (what follows the field
 * name, or in an ARC-Authentication-Results what follows "i=N;") claims,
 * for policies that read what an upstream host saw (an ARC sealer's AAR).
 * Values longer than their fields are cut; at most AUTHRES_PROPS_MAX
 * properties of a result are kept.
 */
#define AUTHRES_PROPS_MAX 8
#define AUTHRES_VALUE_MAX 320

struct authres_prop_view {
	char ptype[16], property[32];
	char value[AUTHRES_VALUE_MAX]; /* quoted-pairs undone */
};

struct authres_result_view {
	char method[32], result[32];
	size_t nprops;
	struct authres_prop_view props[AUTHRES_PROPS_MAX];
};

/* The value of property ptype.property of r, or NULL. */
const char *authres_result_prop(const struct authres_result_view *r, const char *ptype,
                                const char *property);

/* Calls fn for each result, in order.  Returns how many there were, or -1
 * when the payload does not parse (the results read before the fault have
 * been reported). */
int authres_parse(const char *value, size_t len,
                  void (*fn)(void *ctx, const struct authres_result_view *r), void *ctx);

#endif
