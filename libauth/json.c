/*
 * json - see json.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

void
json_init(struct json *j, struct buf *out)
{
	j->out = out;
	j->depth = 0;
	j->need_comma[0] = false;
	j->failed = false;
}

static void
json_put(struct json *j, const void *p, size_t n)
{
	if (!j->failed && buf_append(j->out, p, n) < 0)
		j->failed = true;
}

/* Called before every value or key: a comma when a sibling came before. */
static void
json_sep(struct json *j)
{
	if (j->need_comma[j->depth])
		json_put(j, ",", 1);
	j->need_comma[j->depth] = true;
}

static void
json_open(struct json *j, char c)
{
	json_sep(j);
	json_put(j, &c, 1);
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	j->need_comma[++j->depth] = false;
}

static void
json_close(struct json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	json_put(j, &c, 1);
}

void
json_object_begin(struct json *j)
{
	json_open(j, '{');
}

void
json_object_end(struct json *j)
{
	json_close(j, '}');
}

void
json_array_begin(struct json *j)
{
	json_open(j, '[');
}

void
json_array_end(struct json *j)
{
	json_close(j, ']');
}

/* Length of the valid UTF-8 sequence at p (RFC 3629 §4), or 0. */
static size_t
json_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void
json_escape(struct json *j, const unsigned char *s, size_t n)
{
	char esc[8];
	size_t i = 0, u;

	while (i < n) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			json_put(j, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", c);
			json_put(j, esc, 6);
		} else if (c >= 0x80) {
			if ((u = json_utf8_len(s + i, n - i)) == 0) {
				json_put(j, "\\ufffd", 6);
				i++;
				continue;
			}
			json_put(j, s + i, u);
			i += u;
			continue;
		} else {
			json_put(j, &c, 1);
		}
		i++;
	}
}

void
json_key(struct json *j, const char *name)
{
	json_sep(j);
	json_put(j, "\"", 1);
	json_escape(j, (const unsigned char *)name, strlen(name));
	json_put(j, "\":", 2);
	/* The value that follows belongs to this key: no comma before it. */
	j->need_comma[j->depth] = false;
}

void
json_string_len(struct json *j, const char *s, size_t len)
{
	json_sep(j);
	json_put(j, "\"", 1);
	json_escape(j, (const unsigned char *)s, len);
	json_put(j, "\"", 1);
}

void
json_string(struct json *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	json_string_len(j, s, strlen(s));
}

void
json_bool(struct json *j, bool v)
{
	json_sep(j);
	json_put(j, v ? "true" : "false", v ? 4 : 5);
}

void
json_int(struct json *j, long long v)
{
	char num[32];
	int n;

	json_sep(j);
	n = snprintf(num, sizeof(num), "%lld", v);
	json_put(j, num, (size_t)n);
}

void
json_null(struct json *j)
{
	json_sep(j);
	json_put(j, "null", 4);
}

bool
json_ok(const struct json *j)
{
	return !j->failed;
}
