/*
 * dkim_tag - see dkim_tag.h.
 */
#include "autoconf.h"

#include <string.h>

#include "dkim_tag.h"

bool
dkim_tag_is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_namechar(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* VALCHAR (%x21-3A / %x3C-7E), plus 8-bit bytes (see dkim_tag.h). */
static bool
is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

static size_t
skip_fws(const char *t, size_t len, size_t pos)
{
	while (pos < len && dkim_tag_is_fws((unsigned char)t[pos]))
		pos++;
	return pos;
}

static bool
is_duplicate(const struct dkim_tag_list *l, const struct dkim_tag *tag)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->tags[i].name_len == tag->name_len &&
		    memcmp(l->tags[i].name, tag->name, tag->name_len) == 0)
			return true;
	return false;
}

/* Parses one tag-spec starting at *pos (whitespace already skipped); leaves
 * *pos at the ';' or the end. */
static enum dkim_tag_status
parse_spec(const char *t, size_t len, size_t *pos, struct dkim_tag *tag)
{
	size_t p = *pos, last;

	if (p >= len || !is_alpha((unsigned char)t[p]))
		return DKIM_TAG_SYNTAX;
	tag->name = t + p;
	while (p < len && is_namechar((unsigned char)t[p]))
		p++;
	tag->name_len = (size_t)(t + p - tag->name);
	p = skip_fws(t, len, p);
	if (p >= len || t[p] != '=')
		return DKIM_TAG_SYNTAX;
	p++;
	tag->region_off = p;
	p = skip_fws(t, len, p);
	tag->value = t + p;
	last = p;
	for (; p < len && t[p] != ';'; p++) {
		unsigned char c = (unsigned char)t[p];

		if (is_valchar(c))
			last = p + 1;
		else if (!dkim_tag_is_fws(c))
			return DKIM_TAG_SYNTAX;
	}
	tag->value_len = (size_t)(t + last - tag->value);
	tag->region_len = p - tag->region_off;
	*pos = p;
	return DKIM_TAG_OK;
}

enum dkim_tag_status
dkim_tag_parse(const char *text, size_t len, struct dkim_tag_list *out)
{
	size_t pos = 0;

	out->count = 0;
	for (;;) {
		struct dkim_tag tag;
		enum dkim_tag_status st;

		pos = skip_fws(text, len, pos);
		/* An empty list, or whitespace after a final ';'. */
		if (pos == len)
			return DKIM_TAG_OK;
		st = parse_spec(text, len, &pos, &tag);
		if (st != DKIM_TAG_OK)
			return st;
		if (is_duplicate(out, &tag))
			return DKIM_TAG_DUPLICATE;
		if (out->count == DKIM_TAG_MAX)
			return DKIM_TAG_TOO_MANY;
		out->tags[out->count++] = tag;
		if (pos == len)
			return DKIM_TAG_OK;
		pos++; /* the ';' */
	}
}

const struct dkim_tag *
dkim_tag_find(const struct dkim_tag_list *l, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < l->count; i++)
		if (l->tags[i].name_len == n && memcmp(l->tags[i].name, name, n) == 0)
			return &l->tags[i];
	return NULL;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
dkim_base64_decode(const char *in, size_t len, unsigned char *out, size_t max)
{
	unsigned long acc = 0;
	size_t nsym = 0, npad = 0, n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (dkim_tag_is_fws(c))
			continue;
		if (c == '=') {
			npad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || npad > 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		if (++nsym % 4 == 0) {
			if (n + 3 > max)
				return -1;
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	/* Padding is required, as RFC 4648 §4 has it. */
	if (npad > 2 || (nsym + npad) % 4 != 0)
		return -1;
	if (nsym % 4 >= 2) {
		size_t extra = nsym % 4 - 1;

		if (n + extra > max)
			return -1;
		acc <<= 6 * (4 - nsym % 4);
		out[n++] = (unsigned char)(acc >> 16);
		if (extra == 2)
			out[n++] = (unsigned char)(acc >> 8);
	}
	return (long)n;
}

const char *
dkim_tag_each_element(const struct dkim_tag *t, const char *(*fn)(const char *, size_t, void *),
                      void *ctx)
{
	size_t start = 0;

	for (size_t i = 0; i <= t->value_len; i++) {
		const char *p, *r;
		size_t len;

		if (i < t->value_len && t->value[i] != ':')
			continue;
		p = t->value + start;
		len = i - start;
		while (len > 0 && dkim_tag_is_fws((unsigned char)p[0]))
			p++, len--;
		while (len > 0 && dkim_tag_is_fws((unsigned char)p[len - 1]))
			len--;
		if ((r = fn(p, len, ctx)) != NULL)
			return r;
		start = i + 1;
	}
	return NULL;
}

const char *
dkim_tag_reason(enum dkim_tag_status st)
{
	switch (st) {
	case DKIM_TAG_OK:
		return NULL;
	case DKIM_TAG_DUPLICATE:
		return "syntax error: duplicate tag";
	case DKIM_TAG_TOO_MANY:
		return "syntax error: too many tags";
	case DKIM_TAG_SYNTAX:
	default:
		return "syntax error: bad tag list";
	}
}
