/*
 * msg - RFC 5322 header fields over raw bytes, and the RFC5322.From domain.
 *
 * A struct msg_headers holds header fields in order, each as the exact
 * bytes received (name, any WSP before the colon, colon, value with its
 * folding; lines joined by CRLF; no final CRLF), because DKIM's simple
 * canonicalization needs those bytes.  It keeps whatever it is given: what
 * to keep of a hostile header block is the caller's decision (the policy
 * session keeps what DMARC needs past its limits).
 *
 * Fields arrive either one by one (the milter gives name and value
 * separately: msg_headers_add) or from raw message bytes through
 * msg_parser, which splits the header block into fields and hands on the
 * body.  Neither ever refuses a field for its syntax: a header block is
 * what the sender made it, and every byte of it must be judged, not
 * skipped.  A name may have WSP before the colon (RFC 5322 §4.5.3
 * obs-optional; name_len excludes it); a line that is neither a field nor a
 * continuation becomes a field without a name (name_len 0), which no
 * field name matches.  Bare LF line ends are stored as CRLF, as an MTA
 * would have put them on the wire; a bare CR stays a byte.
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
#include <stdio.h>

#include "buf.h"
#include "dns.h"
#include "error.h"
#include "msg_from.h"

/* The most bytes of one field the parser holds by default. */
#define MSG_DEFAULT_MAX_FIELD_BYTES (1024u * 1024)

struct msg_field {
	const char *raw; /* "Name: value\r\n\tfolded" - no final CRLF */
	size_t raw_len;
	size_t name_len;  /* the name, without WSP before the colon; 0: no name */
	size_t value_off; /* offset in raw of the first byte after the colon */
	/* Only the first raw_len bytes of a longer field were kept (the
	 * parser's bound); the value may then have no end, or no colon
	 * (value_off == raw_len). */
	bool truncated;
};

struct msg_headers;

/* NULL when out of memory. */
struct msg_headers *msg_headers_new(void);
void msg_headers_free(struct msg_headers *h);

/* Adds one field given as name and value (the bytes after the colon,
 * leading space included when the MTA passes it).  WSP at the end of the
 * name is WSP before the colon; a name that is not 1 or more printable
 * ASCII bytes other than ':' makes a field without a name.  Line ends in
 * value (LF or CRLF, as milters pass folded values) are stored as CRLF.
 * Returns 0, or -1 with err set when out of memory. */
int msg_headers_add(struct msg_headers *h, const char *name, size_t name_len, const char *value,
                    size_t value_len, struct auth_error *err);

/* Adds one complete field as it stood in the message (no final line end),
 * bare LF made CRLF.  Returns 0, or -1 with err set when out of memory. */
int msg_headers_add_raw(struct msg_headers *h, const char *raw, size_t raw_len,
                        struct auth_error *err);

/* Adds a copy of f as it is (its line ends already CRLF), truncated flag
 * included.  Returns 0, or -1 with err set when out of memory. */
int msg_headers_add_field(struct msg_headers *h, const struct msg_field *f, struct auth_error *err);

size_t msg_headers_count(const struct msg_headers *h);
const struct msg_field *msg_headers_get(const struct msg_headers *h, size_t i);
/* Bytes held: every field plus the CRLF after it. */
size_t msg_headers_bytes(const struct msg_headers *h);

/* Index of the first field at or after start whose name equals name
 * (case-insensitive), or -1. */
long msg_headers_find(const struct msg_headers *h, const char *name, size_t start);

/* Field accessors. */
bool msg_field_is(const struct msg_field *f, const char *name);
const char *msg_field_value(const struct msg_field *f, size_t *len);

/* Finds the name and colon at the start of raw field bytes: name_len and
 * value_off as struct msg_field has them (0 and 0 when there is no name
 * followed by WSP and a colon; for bytes of a truncated field that end
 * before the colon could come, the name alone and value_off raw_len). */
void msg_field_scan(const char *raw, size_t raw_len, bool truncated, size_t *name_len,
                    size_t *value_off);

/* For a field given as name and value (msg_headers_add's form): name_len
 * and value_off of the field name + ":" + value would have. */
void msg_field_name(const char *name, size_t len, size_t *name_len, size_t *value_off);

/* Appends a value to b with each bare LF made CRLF.  Returns 0, or -1
 * when b's maximum was reached or memory ran out. */
int msg_field_build_value(struct buf *b, const char *value, size_t len);

/* Appends the value with line folding removed (RFC 5322 §2.2.3: each CRLF
 * followed by WSP is dropped, the WSP kept) to out. */
int msg_field_unfold(const struct msg_field *f, struct buf *out);

/*
 * msg_parser - splits raw message bytes into header fields and body.
 *
 * Feed it the message in chunks of any size, split anywhere.  It calls
 * ops->field for each header field as soon as the next line shows where
 * the field ends, ops->eoh once at the blank line ending the header block
 * (or at the end of input when there is none), and ops->body with every
 * byte after it.  A field longer than max_field_bytes is handed on with
 * its first max_field_bytes bytes and truncated set, and the rest of it is
 * skipped, so memory stays bounded whatever the input.  The field passed
 * is the parser's: copy what must outlive the call.
 *
 * A callback's -1 (with err set) stops the parser: every later call
 * returns -1.  Otherwise feed and finish return 0.
 */
struct msg_parser_ops {
	int (*field)(void *ctx, const struct msg_field *f, struct auth_error *err);
	int (*eoh)(void *ctx, struct auth_error *err);
	int (*body)(void *ctx, const char *p, size_t n, struct auth_error *err);
};

struct msg_parser;

/* max_field_bytes 0: MSG_DEFAULT_MAX_FIELD_BYTES.  NULL when out of memory. */
struct msg_parser *msg_parser_new(const struct msg_parser_ops *ops, void *ctx,
                                  size_t max_field_bytes);
void msg_parser_free(struct msg_parser *p);
int msg_parser_feed(struct msg_parser *p, const char *data, size_t len, struct auth_error *err);
/* End of input: the last field, and end of headers if not yet seen. */
int msg_parser_finish(struct msg_parser *p, struct auth_error *err);
/* Whether end of headers was seen. */
bool msg_parser_in_body(const struct msg_parser *p);

/* A struct msg_parser_ops field callback that adds each field to the
 * struct msg_headers given as ctx (for tools and tests). */
int msg_headers_collect(void *h, const struct msg_field *f, struct auth_error *err);

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

/*
 * msg_read_file - the one reader of message files: reads f to its end and
 * hands the bytes to chunk() as they would be on the wire (with
 * unix_lines, bare LF line ends made CRLF), in pieces of at most
 * MSG_READ_CHUNK * 2 bytes.  Returns 0, or -1 with err set on a read error
 * or when chunk() returned -1.
 */
#define MSG_READ_CHUNK 65536

int msg_read_file(FILE *f, bool unix_lines,
                  int (*chunk)(void *ctx, const char *p, size_t n, struct auth_error *err),
                  void *ctx, struct auth_error *err);

#endif
