/*
 * spf_macro - see spf_macro.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spf_macro.h"

/* One parsed %{...} expression. */
struct spf_macro_expr {
	char letter;   /* lower case */
	int upper;     /* URL-escape the result (§7.3) */
	unsigned keep; /* right-hand parts to keep; 0 means all */
	int reverse;
	const char *delims; /* view of the delimiter characters */
	size_t ndelims;
};

static int
spf_macro_is_delim(int ch)
{
	return ch != '\0' && strchr(".-+,/_=", ch) != NULL;
}

static int
spf_macro_letter_ok(int ch, int exp_text)
{
	if (ch != '\0' && strchr("slodiphv", ch) != NULL)
		return 1;
	/* §7.3: c, r and t are allowed only in "exp" text. */
	return exp_text && ch != '\0' && strchr("crt", ch) != NULL;
}

/* Parses "%{" letter *DIGIT ["r"] *delimiter "}" at s; returns its length,
 * or 0 when it is not one. */
static size_t
spf_macro_parse_expr(const char *s, size_t len, int exp_text, struct spf_macro_expr *e)
{
	size_t i = 2;
	unsigned long n = 0;
	int digits = 0;

	if (len < 4 || s[0] != '%' || s[1] != '{')
		return 0;
	e->letter = (char)(s[i] | 0x20);
	e->upper = s[i] >= 'A' && s[i] <= 'Z';
	if (!((s[i] >= 'a' && s[i] <= 'z') || e->upper) ||
	    !spf_macro_letter_ok(e->letter, exp_text))
		return 0;
	for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		digits = 1;
		if (n <= SPF_MACRO_DIGIT_MAX)
			n = n * 10 + (unsigned long)(s[i] - '0');
	}
	/* §7.3: a DIGIT transformer, when given, must be non-zero. */
	if (digits && n == 0)
		return 0;
	e->keep = n > SPF_MACRO_DIGIT_MAX ? 0 : (unsigned)n;
	e->reverse = i < len && (s[i] == 'r' || s[i] == 'R');
	if (e->reverse)
		i++;
	e->delims = s + i;
	while (i < len && spf_macro_is_delim((unsigned char)s[i]))
		i++;
	e->ndelims = (size_t)(s + i - e->delims);
	if (i >= len || s[i] != '}')
		return 0;
	return i + 1;
}

size_t
spf_macro_token_len(const char *s, size_t len, int exp_text)
{
	struct spf_macro_expr e;

	if (len >= 2 && s[0] == '%' && (s[1] == '%' || s[1] == '_' || s[1] == '-'))
		return 2;
	return spf_macro_parse_expr(s, len, exp_text, &e);
}

int
spf_macro_check(const char *s, size_t len, int exp_text)
{
	size_t i = 0, n;

	while (i < len) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '%') {
			if ((n = spf_macro_token_len(s + i, len - i, exp_text)) == 0)
				return SPF_MACRO_SYNTAX;
			i += n;
		} else if ((ch >= 0x21 && ch <= 0x7e) || (exp_text && ch == ' ')) {
			i++;
		} else {
			return SPF_MACRO_SYNTAX;
		}
	}
	return SPF_MACRO_OK;
}

static int
spf_macro_put(struct buf *out, const char *p, size_t n)
{
	if (buf_append(out, p, n) < 0)
		return out->len + n > out->max ? SPF_MACRO_TOOLONG : SPF_MACRO_NOMEM;
	return SPF_MACRO_OK;
}

/* §7.3: upper-case macros are URL-escaped: everything outside RFC 3986's
 * unreserved set becomes %XX. */
static int
spf_macro_put_escaped(struct buf *out, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = SPF_MACRO_OK;
	char e[3];

	for (size_t i = 0; i < n && rc == SPF_MACRO_OK; i++) {
		unsigned char ch = (unsigned char)p[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			rc = spf_macro_put(out, p + i, 1);
		} else {
			e[0] = '%';
			e[1] = hex[ch >> 4];
			e[2] = hex[ch & 15];
			rc = spf_macro_put(out, e, 3);
		}
	}
	return rc;
}

/* The IP as %{i} wants it: dotted quad, or 32 dot-separated nibbles for
 * IPv6 (RFC 7208 §7.3).  §7.3 does not fix the case of the hex digits and
 * §7.4's example happens to write them in lower case; the openspf suite
 * (v-macro-ip6) and pyspf write upper case, and we follow them so that
 * explanations read the same.  Names built from them compare the same
 * either way (RFC 4343). */
static void
spf_macro_ip_i(const struct spf_macro_ctx *c, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	if (c->family == AF_INET) {
		(void)inet_ntop(AF_INET, c->ip, buf, (socklen_t)size);
		return;
	}
	for (int i = 0; i < 16 && k + 4 < size; i++) {
		buf[k++] = hex[c->ip[i] >> 4];
		buf[k++] = '.';
		buf[k++] = hex[c->ip[i] & 15];
		buf[k++] = '.';
	}
	buf[k > 0 ? k - 1 : 0] = '\0';
}

/* The raw value of a macro letter, as a view; scratch holds values that
 * have to be formatted. */
static int
spf_macro_value(const struct spf_macro_ctx *c, char letter, char *scratch, size_t size,
                const char **v, size_t *vlen)
{
	const char *p = NULL;
	int rc;

	switch (letter) {
	case 's':
		*v = c->sender, *vlen = c->sender_len;
		return SPF_MACRO_OK;
	case 'l':
		*v = c->sender, *vlen = c->local_len;
		return SPF_MACRO_OK;
	case 'o':
		if (c->local_len >= c->sender_len) {
			*v = "", *vlen = 0;
			return SPF_MACRO_OK;
		}
		*v = c->sender + c->local_len + 1, *vlen = c->sender_len - c->local_len - 1;
		return SPF_MACRO_OK;
	case 'd':
		p = c->domain;
		break;
	case 'h':
		p = c->helo;
		break;
	case 'r':
		p = c->receiver;
		break;
	case 'v':
		p = c->family == AF_INET ? "in-addr" : "ip6";
		break;
	case 'i':
		spf_macro_ip_i(c, scratch, size);
		p = scratch;
		break;
	case 'c':
		(void)inet_ntop(c->family, c->ip, scratch, (socklen_t)size);
		p = scratch;
		break;
	case 't':
		(void)snprintf(scratch, size, "%lld", (long long)c->now);
		p = scratch;
		break;
	case 'p':
		if ((rc = c->ptr_name(c->ptr_arg, &p)) != SPF_MACRO_OK)
			return rc;
		break;
	default:
		return SPF_MACRO_SYNTAX;
	}
	*v = p, *vlen = strlen(p);
	return SPF_MACRO_OK;
}

static int
spf_macro_is_split(const struct spf_macro_expr *e, char ch)
{
	if (e->ndelims == 0)
		return ch == '.';
	return memchr(e->delims, ch, e->ndelims) != NULL;
}

/* §7.3: split on the delimiters, optionally reverse, keep the right-hand
 * parts, rejoin with "."; the result goes to tmp. */
static int
spf_macro_transform(const struct spf_macro_expr *e, const char *v, size_t vlen, struct buf *tmp)
{
	size_t nparts = 1, first, *start;
	int rc = SPF_MACRO_OK;

	for (size_t i = 0; i < vlen; i++)
		nparts += spf_macro_is_split(e, v[i]);
	if ((start = calloc(nparts + 1, sizeof(*start))) == NULL)
		return SPF_MACRO_NOMEM;
	for (size_t i = 0, k = 1; i < vlen; i++)
		if (spf_macro_is_split(e, v[i]))
			start[k++] = i + 1;
	start[nparts] = vlen + 1; /* as if a delimiter followed the value */
	first = e->keep != 0 && e->keep < nparts ? nparts - e->keep : 0;
	for (size_t k = first; k < nparts && rc == SPF_MACRO_OK; k++) {
		/* Reversed, the kept parts are the original's first ones, last first. */
		size_t part = e->reverse ? nparts - 1 - k : k;

		if (k > first)
			rc = spf_macro_put(tmp, ".", 1);
		if (rc == SPF_MACRO_OK)
			rc = spf_macro_put(tmp, v + start[part], start[part + 1] - 1 - start[part]);
	}
	free(start);
	return rc;
}

static int
spf_macro_expand_expr(const struct spf_macro_ctx *c, const struct spf_macro_expr *e,
                      struct buf *out)
{
	char scratch[INET6_ADDRSTRLEN + 64];
	const char *v;
	size_t vlen;
	struct buf tmp;
	int rc;

	if ((rc = spf_macro_value(c, e->letter, scratch, sizeof(scratch), &v, &vlen)) != 0)
		return rc;
	if (e->keep == 0 && !e->reverse && e->ndelims == 0)
		return e->upper ? spf_macro_put_escaped(out, v, vlen) : spf_macro_put(out, v, vlen);
	buf_init(&tmp, out->max);
	rc = spf_macro_transform(e, v, vlen, &tmp);
	if (rc == SPF_MACRO_OK)
		rc = e->upper ? spf_macro_put_escaped(out, tmp.data, tmp.len)
		              : spf_macro_put(out, tmp.data, tmp.len);
	buf_free(&tmp);
	return rc;
}

int
spf_macro_expand(const struct spf_macro_ctx *c, const char *s, size_t len, int exp_text,
                 struct buf *out)
{
	struct spf_macro_expr e;
	size_t i = 0, n;
	int rc = SPF_MACRO_OK;

	if (spf_macro_check(s, len, exp_text) != SPF_MACRO_OK)
		return SPF_MACRO_SYNTAX;
	while (i < len && rc == SPF_MACRO_OK) {
		if (s[i] != '%') {
			for (n = i; n < len && s[n] != '%'; n++)
				;
			rc = spf_macro_put(out, s + i, n - i);
			i = n;
		} else if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
			/* §7.1: "%%" is "%", "%_" a space, "%-" a URL-encoded space. */
			rc = spf_macro_put(out,
			                   s[i + 1] == '%'   ? "%"
			                   : s[i + 1] == '_' ? " "
			                                     : "%20",
			                   s[i + 1] == '-' ? 3 : 1);
			i += 2;
		} else {
			n = spf_macro_parse_expr(s + i, len - i, exp_text, &e);
			rc = spf_macro_expand_expr(c, &e, out);
			i += n;
		}
	}
	return rc;
}
