/*
 * json - a small JSON writer over struct buf, for authcheck's output and
 * the daemons' structured logs.
 *
 * Strings are written from (pointer, length) views and escaped per RFC 8259
 * §7: quotes, backslash and control bytes escaped; bytes that are not valid
 * UTF-8 become U+FFFD, so the output is always valid JSON whatever the mail
 * contained.  Commas between members are tracked by the writer.
 *
 * Ownership: the writer appends to the caller's buf.  Errors (the buf's
 * maximum reached) are sticky: json_ok() says whether all went in.
 */
#ifndef AUTH_JSON_H
#define AUTH_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define JSON_MAX_DEPTH 16

struct json {
	struct buf *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool failed;
};

void json_init(struct json *j, struct buf *out);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* A member name; the next value call writes its value. */
void json_key(struct json *j, const char *name);
void json_string(struct json *j, const char *s);
void json_string_len(struct json *j, const char *s, size_t len);
void json_bool(struct json *j, bool v);
void json_int(struct json *j, long long v);
void json_null(struct json *j);
bool json_ok(const struct json *j);

#endif
