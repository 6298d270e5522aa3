/*
 * spf_record - see spf_record.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf_macro.h"
#include "spf_record.h"

static const char *const spf_mech_names[] = {
    [SPF_MECH_ALL] = "all", [SPF_MECH_INCLUDE] = "include", [SPF_MECH_A] = "a",
    [SPF_MECH_MX] = "mx",   [SPF_MECH_PTR] = "ptr",         [SPF_MECH_IP4] = "ip4",
    [SPF_MECH_IP6] = "ip6", [SPF_MECH_EXISTS] = "exists",
};

const char *
spf_mech_name(enum spf_mech m)
{
	return spf_mech_names[m];
}

/* §4.5: "v=spf1" (case-insensitive) followed by a space or the end. */
static int
spf_record_is_spf(const unsigned char *p, size_t len)
{
	return len >= 6 && strncasecmp((const char *)p, "v=spf1", 6) == 0 &&
	       (len == 6 || p[6] == ' ');
}

enum spf_select
spf_record_select(const struct dns_answer *a, const char **rec, size_t *len)
{
	size_t found = 0;

	for (size_t i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rrs[i];

		if (rr->type != DNS_T_TXT ||
		    !spf_record_is_spf(rr->u.txt.joined, rr->u.txt.joined_len))
			continue;
		if (found++ > 0)
			return SPF_SELECT_MANY;
		*rec = (const char *)rr->u.txt.joined;
		*len = rr->u.txt.joined_len;
	}
	return found ? SPF_SELECT_ONE : SPF_SELECT_NONE;
}

static int __attribute__((format(printf, 3, 4)))
spf_record_bad(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* The reason is for people; truncating it is harmless. */
	(void)vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -1;
}

static int
spf_is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* §7.1 toplabel = ( *alphanum ALPHA *alphanum ) /
 *                 ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
spf_toplabel_ok(const char *s, size_t len)
{
	int alpha = 0, dash = 0;

	if (len == 0 || !spf_is_alnum((unsigned char)s[0]) ||
	    !spf_is_alnum((unsigned char)s[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '-')
			dash = 1;
		else if (!spf_is_alnum(ch))
			return 0;
		else if (ch > '9')
			alpha = 1;
	}
	return alpha || dash;
}

/* domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static int
spf_domain_spec_ok(const char *s, size_t len)
{
	size_t i = 0, n, dot;
	int last_macro = 0;

	if (len == 0 || spf_macro_check(s, len, 0) != SPF_MACRO_OK)
		return 0;
	while (i < len) {
		n = s[i] == '%' ? spf_macro_token_len(s + i, len - i, 0) : 1;
		last_macro = s[i] == '%';
		i += n;
	}
	if (last_macro)
		return 1;
	if (s[len - 1] == '.')
		len--;
	for (dot = len; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	return dot > 0 && spf_toplabel_ok(s + dot, len - dot);
}

/* A prefix length: "0" or a number without leading zeros, at most max. */
static int
spf_cidr_value(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Finds a trailing "/" 1*DIGIT; stores the offset of the "/". */
static int
spf_cidr_tail(const char *s, size_t len, size_t *slash)
{
	size_t i = len;

	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == len || i == 0 || s[i - 1] != '/')
		return 0;
	*slash = i - 1;
	return 1;
}

/* Takes the CIDR lengths off the end of a term.  The grammar puts them
 * after the domain-spec, and a domain-spec cannot end in "/" DIGIT (it ends
 * in a toplabel or a macro), so reading from the right is unambiguous.
 * which: 4 (ip4-cidr-length only), 6 (ip6 only) or 46 (dual-cidr-length). */
static int
spf_strip_cidr(const char *s, size_t *len, int which, struct spf_term *t)
{
	size_t slash;

	if (!spf_cidr_tail(s, *len, &slash))
		return 0;
	if (slash > 0 && s[slash - 1] == '/') {
		if (which == 4 || which == 6 ||
		    spf_cidr_value(s + slash + 1, *len - slash - 1, 128, &t->cidr6) < 0)
			return -1;
		*len = slash - 1;
		if (!spf_cidr_tail(s, *len, &slash))
			return 0;
		if (slash > 0 && s[slash - 1] == '/')
			return -1;
	}
	if (spf_cidr_value(s + slash + 1, *len - slash - 1, which == 6 ? 128 : 32,
	                   which == 6 ? &t->cidr6 : &t->cidr4) < 0)
		return -1;
	*len = slash;
	return 0;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros. */
static int
spf_ip4_parse(const char *s, size_t len, struct in_addr *out)
{
	unsigned char b[4];
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		size_t start = i;
		unsigned v = 0;

		if (k > 0 && (i >= len || s[i++] != '.'))
			return -1;
		start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return -1;
		b[k] = (unsigned char)v;
	}
	if (i != len)
		return -1;
	memcpy(&out->s_addr, b, 4);
	return 0;
}

static int
spf_ip6_parse(const char *s, size_t len, struct in6_addr *out)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || strchr("0123456789abcdefABCDEF:.", s[i]) == NULL)
			return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1 ? 0 : -1;
}

static int
spf_mech_lookup(const char *s, size_t len, enum spf_mech *m)
{
	for (size_t i = 0; i < sizeof(spf_mech_names) / sizeof(spf_mech_names[0]); i++)
		if (strlen(spf_mech_names[i]) == len &&
		    strncasecmp(s, spf_mech_names[i], len) == 0) {
			*m = (enum spf_mech)i;
			return 0;
		}
	return -1;
}

/* Parses the part after the qualifier: name [":" arg] [cidr]. */
static int
spf_parse_mechanism(const char *s, size_t len, struct spf_term *t)
{
	size_t n = 0;
	int want_spec, need_spec, cidr;

	t->cidr4 = 32;
	t->cidr6 = 128;
	while (n < len && s[n] != ':' && s[n] != '/')
		n++;
	if (spf_mech_lookup(s, n, &t->mech) < 0)
		return -1;
	need_spec = t->mech == SPF_MECH_INCLUDE || t->mech == SPF_MECH_EXISTS ||
	            t->mech == SPF_MECH_IP4 || t->mech == SPF_MECH_IP6;
	want_spec =
	    need_spec || t->mech == SPF_MECH_A || t->mech == SPF_MECH_MX || t->mech == SPF_MECH_PTR;
	cidr = t->mech == SPF_MECH_A || t->mech == SPF_MECH_MX ? 46
	       : t->mech == SPF_MECH_IP4                       ? 4
	       : t->mech == SPF_MECH_IP6                       ? 6
	                                                       : 0;
	if (cidr != 0 && spf_strip_cidr(s, &len, cidr, t) < 0)
		return -1;
	if (n == len)
		return need_spec ? -1 : 0;
	if (s[n] != ':' || !want_spec)
		return -1;
	t->spec = s + n + 1;
	t->spec_len = len - n - 1;
	if (t->mech == SPF_MECH_IP4)
		return spf_ip4_parse(t->spec, t->spec_len, &t->net.v4);
	if (t->mech == SPF_MECH_IP6)
		return spf_ip6_parse(t->spec, t->spec_len, &t->net.v6);
	return spf_domain_spec_ok(t->spec, t->spec_len) ? 0 : -1;
}

/* Length of a modifier name (ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ))
 * followed by "=", or 0 when the term is not a modifier. */
static size_t
spf_modifier_name_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	while (i < len &&
	       (spf_is_alnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
		i++;
	return i < len && s[i] == '=' ? i : 0;
}

static int
spf_parse_modifier(const char *s, size_t len, size_t nlen, struct spf_record *r, char *why,
                   size_t wsize)
{
	const char *v = s + nlen + 1;
	size_t vlen = len - nlen - 1;
	int is_redirect = nlen == 8 && strncasecmp(s, "redirect", 8) == 0;
	int is_exp = nlen == 3 && strncasecmp(s, "exp", 3) == 0;

	if (!is_redirect && !is_exp) {
		/* Unknown modifiers are ignored, but their macro-string must be
		 * valid (§6, §12). */
		if (spf_macro_check(v, vlen, 1) != SPF_MACRO_OK)
			return spf_record_bad(why, wsize, "bad macro in modifier %.*s", (int)nlen,
			                      s);
		return 0;
	}
	/* §6: each of redirect and exp may appear at most once. */
	if ((is_redirect && r->redirect != NULL) || (is_exp && r->exp != NULL))
		return spf_record_bad(why, wsize, "%.*s given twice", (int)nlen, s);
	/* The erratum to §6.2 makes an empty exp= a permerror too. */
	if (!spf_domain_spec_ok(v, vlen))
		return spf_record_bad(why, wsize, "bad domain-spec in %.*s", (int)nlen, s);
	if (is_redirect)
		r->redirect = v, r->redirect_len = vlen;
	else
		r->exp = v, r->exp_len = vlen;
	return 0;
}

static int
spf_parse_term(const char *s, size_t len, struct spf_record *r, char *why, size_t wsize)
{
	struct spf_term *t;
	size_t nlen = spf_modifier_name_len(s, len);

	if (nlen > 0)
		return spf_parse_modifier(s, len, nlen, r, why, wsize);
	t = &r->terms[r->nterms];
	memset(t, 0, sizeof(*t));
	t->text = s;
	t->text_len = len;
	t->qualifier = '+';
	if (len > 0 && strchr("+-~?", s[0]) != NULL && s[0] != '\0') {
		t->qualifier = s[0];
		s++, len--;
	}
	if (spf_parse_mechanism(s, len, t) < 0)
		return spf_record_bad(why, wsize, "bad term \"%.*s\"",
		                      (int)(t->text_len > 64 ? 64 : t->text_len), t->text);
	if (t->mech == SPF_MECH_ALL)
		r->has_all = 1;
	r->nterms++;
	return 0;
}

int
spf_record_parse(const char *rec, size_t len, struct spf_record *out, char *why, size_t wsize)
{
	size_t i = 6, nterms = 0, start;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (len > SPF_RECORD_MAX_LEN)
		return spf_record_bad(why, wsize, "record longer than %d bytes",
		                      SPF_RECORD_MAX_LEN);
	if (!spf_record_is_spf((const unsigned char *)rec, len))
		return spf_record_bad(why, wsize, "not an SPF record");
	for (size_t k = 6; k < len; k++)
		nterms += rec[k] != ' ' && rec[k - 1] == ' ';
	if (nterms > SPF_RECORD_MAX_TERMS)
		return spf_record_bad(why, wsize, "more than %d terms", SPF_RECORD_MAX_TERMS);
	if (nterms > 0 && (out->terms = calloc(nterms, sizeof(*out->terms))) == NULL)
		return -2;
	while (i < len) {
		/* terms = *( 1*SP ( directive / modifier ) ); record ends *SP */
		while (i < len && rec[i] == ' ')
			i++;
		for (start = i; i < len && rec[i] != ' '; i++)
			;
		if (i > start && spf_parse_term(rec + start, i - start, out, why, wsize) < 0) {
			spf_record_free(out);
			return -1;
		}
	}
	return 0;
}

void
spf_record_free(struct spf_record *r)
{
	free(r->terms);
	memset(r, 0, sizeof(*r));
}
