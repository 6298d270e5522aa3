/*
 * msg - RFC 5322 header fields over raw bytes, and the RFC5322.From domain.
 *
 * A struct msg_headers holds a message's header fields in order, each as
 * the exact bytes received (name, colon, value with its folding and
 * whitespace; lines joined by CRLF; no final CRLF), because DKIM's simple
 * canonicalization needs those bytes.  Fields arrive either one by one (the
 * milter gives name and value separately) or from a raw message through
 * msg_parser, which splits the header block and hands back where the body
 * starts.  Bare LF line ends in input are stored as CRLF, as an MTA would
 * have put them on the wire.
 *
 * Limits (struct msg_limits): the total size of the header block and the
 * number of fields; exceeding either is an AUTH_ELIMIT error, never
 * unbounded memory.
 *
 * The From domain (msg_from_extract and friends) is declared in msg_from.h,
 * included here.
 *
 * Ownership: msg_headers owns copies of all field bytes; pointers into it
 * stay valid until msg_headers_free().  Not thread-safe: one per message.
 */
#ifndef AUTH_MSG_H
#define AUTH_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dns.h"
#include "error.h"
#include "msg_from.h"

#define MSG_DEFAULT_MAX_HEADER_BYTES (1024u * 1024)
#define MSG_DEFAULT_MAX_HEADERS 1000u

struct msg_limits {
	size_t max_header_bytes; /* 0: the default */
	size_t max_headers;      /* 0: the default */
};

struct msg_field {
	const char *raw; /* "Name: value\r\n\tfolded" - no final CRLF */
	size_t raw_len;
	size_t name_len;  /* the name, without whitespace before the colon */
	size_t value_off; /* offset in raw of the first byte after the colon */
};

struct msg_headers;

struct msg_headers *msg_headers_new(const struct msg_limits *limits);
void msg_headers_free(struct msg_headers *h);

/* Adds one field given as name and value (the bytes after the colon,
 * leading space included when the MTA passes it).  The name must be
 * 1..997 printable ASCII bytes other than ':' (RFC 5322 §2.2).  Line ends
 * in value (LF or CRLF, as milters pass folded values) are stored as CRLF
 * and must each be followed by WSP, or the field is refused (AUTH_ESYNTAX). */
int msg_headers_add(struct msg_headers *h, const char *name, size_t name_len, const char *value,
                    size_t value_len, struct auth_error *err);

/* Adds one complete field as it stood in the message (no final line end). */
int msg_headers_add_raw(struct msg_headers *h, const char *raw, size_t raw_len,
                        struct auth_error *err);

size_t msg_headers_count(const struct msg_headers *h);
const struct msg_field *msg_headers_get(const struct msg_headers *h, size_t i);

/* Index of the first field at or after start whose name equals name
 * (case-insensitive), or -1. */
long msg_headers_find(const struct msg_headers *h, const char *name, size_t start);

/* Field accessors. */
bool msg_field_is(const struct msg_field *f, const char *name);
const char *msg_field_value(const struct msg_field *f, size_t *len);

/* Appends the value with line folding removed (RFC 5322 §2.2.3: each CRLF
 * followed by WSP is dropped, the WSP kept) to out. */
int msg_field_unfold(const struct msg_field *f, struct buf *out);

/*
 * msg_parser - splits a raw message into header fields and body.
 *
 * Feed it the message in chunks of any size.  It returns 0 while still in
 * the header block, 1 when the blank line ending it was seen (then
 * *body_off is the offset in this chunk where the body starts; everything
 * after that is body and should no longer be fed; a later feed answers 1
 * with *body_off 0), or -1 with err set on a
 * limit or syntax error (a line that is neither a field nor a continuation).
 * At end of input call msg_parser_finish(): a message with no blank line
 * is all headers and an empty body.
 */
struct msg_parser;

struct msg_parser *msg_parser_new(struct msg_headers *h);
void msg_parser_free(struct msg_parser *p);
int msg_parser_feed(struct msg_parser *p, const char *data, size_t len, size_t *body_off,
                    struct auth_error *err);
int msg_parser_finish(struct msg_parser *p, struct auth_error *err);

/*
 * msg_crlf - turns bare LF line ends into CRLF in a stream (for message
 * files written with Unix line ends).  A CR already before LF is kept;
 * the state carries a CR that ended the previous chunk.
 */
struct msg_crlf {
	bool last_cr;
};

/* Appends the converted chunk to out. */
int msg_crlf_convert(struct msg_crlf *st, const char *in, size_t len, struct buf *out);

#endif
