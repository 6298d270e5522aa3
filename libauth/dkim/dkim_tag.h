/*
 * dkim_tag - tag=value lists (RFC 6376 §3.2), as used by DKIM-Signature
 * fields and DKIM key records.
 *
 * dkim_tag_parse() splits a list held in a (pointer, length) view into
 * tags without copying: each tag's name and value are views into the input.
 * The value excludes whitespace around it but keeps whitespace and folding
 * inside it, exactly as received; callers that need it stripped (base64,
 * colon lists) do that themselves.  Each tag also records the whole region
 * between '=' and the next ';' (or the end), which DKIM needs to blank the
 * b= value of a signature byte-for-byte (RFC 6376 §3.7).
 *
 * Syntax is the RFC's ABNF with two allowances a careful receiver makes:
 * a final ';' may be followed by whitespace, and tag values may carry 8-bit
 * bytes (RFC 6376 §3.2 note; RFC 8616 §4 allows UTF-8 there).  A duplicate
 * tag name makes the whole list invalid (§3.2).
 *
 * Limits: at most DKIM_TAG_MAX tags per list; more is an error.
 * Owns nothing; thread-safe (no state).
 */
#ifndef AUTH_DKIM_TAG_H
#define AUTH_DKIM_TAG_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_TAG_MAX 64

struct dkim_tag {
	const char *name;
	size_t name_len;
	const char *value; /* without surrounding whitespace */
	size_t value_len;
	size_t region_off; /* offset in the list of the first byte after '=' */
	size_t region_len; /* bytes from there up to ';' or the end */
};

struct dkim_tag_list {
	size_t count;
	struct dkim_tag tags[DKIM_TAG_MAX];
};

enum dkim_tag_status {
	DKIM_TAG_OK = 0,
	DKIM_TAG_SYNTAX,    /* not a tag-list */
	DKIM_TAG_DUPLICATE, /* the same tag name twice */
	DKIM_TAG_TOO_MANY,  /* more than DKIM_TAG_MAX tags */
};

/* Parses text[0..len) into out.  On error out->count holds the tags parsed
 * before it. */
enum dkim_tag_status dkim_tag_parse(const char *text, size_t len, struct dkim_tag_list *out);

/* The reason a signature with a list that failed so is unusable:
 * "syntax error: duplicate tag" and the like; NULL for DKIM_TAG_OK. */
const char *dkim_tag_reason(enum dkim_tag_status st);

/* The tag named name (case-sensitive, §3.2), or NULL. */
const struct dkim_tag *dkim_tag_find(const struct dkim_tag_list *l, const char *name);

/* True when c is whitespace that may surround or fold a tag value:
 * SP, HTAB, CR or LF. */
bool dkim_tag_is_fws(unsigned char c);

/* Calls fn for each colon-separated element of a list tag (h=, s=, t=, q=),
 * FWS around each element removed; stops at the first non-NULL return,
 * which it returns.  NULL when every element was taken. */
const char *dkim_tag_each_element(const struct dkim_tag *t,
                                  const char *(*fn)(const char *p, size_t len, void *ctx),
                                  void *ctx);

/*
 * Decodes base64 with whitespace anywhere (RFC 6376 §3.5 b= and bh=, §3.6.1
 * p=) into out[0..max).  Returns the decoded length, or -1 when the input is
 * not base64 (bad character, bad padding, trailing bits set are allowed) or
 * decodes to more than max bytes.
 */
long dkim_base64_decode(const char *in, size_t len, unsigned char *out, size_t max);

#endif
