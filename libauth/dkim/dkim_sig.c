/*
 * dkim_sig - see dkim_sig.h.
 */
#include "autoconf.h"

#include <pthread.h>
#include <string.h>

#include "dkim_sig.h"
#include "dkim_tag.h"

#define DKIM_TS_DIGITS 12 /* t= and x=: 1*12DIGIT (§3.5) */
#define DKIM_L_DIGITS 76  /* l=: 1*76DIGIT (§3.5) */

static const struct {
	const char *name;
	enum dkim_alg alg;
} dkim_algs[] = {
    {"rsa-sha1", DKIM_ALG_RSA_SHA1},
    {"rsa-sha256", DKIM_ALG_RSA_SHA256},
    {"ed25519-sha256", DKIM_ALG_ED25519_SHA256},
};

const char *
dkim_alg_name(enum dkim_alg a)
{
	for (size_t i = 0; i < sizeof(dkim_algs) / sizeof(dkim_algs[0]); i++)
		if (dkim_algs[i].alg == a)
			return dkim_algs[i].name;
	return "unknown";
}

enum dkim_keytype
dkim_alg_keytype(enum dkim_alg a)
{
	return a == DKIM_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
}

const char *
dkim_alg_hash_name(enum dkim_alg a)
{
	return a == DKIM_ALG_RSA_SHA1 ? "sha1" : "sha256";
}

/* OpenSSL 3 looks a legacy EVP_sha256() up among its providers at every
 * digest set-up, under a global lock; fetched once, it is not.  Written
 * once (pthread_once), then only read. */
static EVP_MD *dkim_md_sha1, *dkim_md_sha256;
static pthread_once_t dkim_md_once = PTHREAD_ONCE_INIT;

static void
dkim_md_fetch(void)
{
	dkim_md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	dkim_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *
dkim_alg_md(enum dkim_alg a)
{
	(void)pthread_once(&dkim_md_once, dkim_md_fetch);
	if (a == DKIM_ALG_RSA_SHA1)
		return dkim_md_sha1 != NULL ? dkim_md_sha1 : EVP_sha1();
	return dkim_md_sha256 != NULL ? dkim_md_sha256 : EVP_sha256();
}

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool
dkim_view_eq(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n != len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lower((unsigned char)s[i]))
			return false;
	return true;
}

bool
dkim_domain_valid(const char *p, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static bool
has_fws(const struct dkim_tag *t)
{
	for (size_t i = 0; i < t->value_len; i++)
		if (dkim_tag_is_fws((unsigned char)t->value[i]))
			return true;
	return false;
}

/* Copies a view into dst[0..size) as a C string, when it fits and holds no
 * NUL; returns false otherwise. */
static bool
copy_view(char *dst, size_t size, const char *p, size_t len, bool lower_case)
{
	if (len >= size || memchr(p, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		dst[i] = lower_case ? (char)lower((unsigned char)p[i]) : p[i];
	dst[len] = '\0';
	return true;
}

static bool
parse_number(const struct dkim_tag *t, size_t max_digits, uint64_t *out)
{
	uint64_t v = 0;

	if (t->value_len == 0 || t->value_len > max_digits)
		return false;
	for (size_t i = 0; i < t->value_len; i++) {
		unsigned d = (unsigned char)t->value[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Fills d=, s=, i= and a= for reporting; validity is checked later. */
static void
fill_identity(const struct dkim_tag_list *l, enum dkim_sig_form form, struct dkim_sig *out)
{
	const struct dkim_tag *t;

	if ((t = dkim_tag_find(l, "d")) != NULL && dkim_domain_valid(t->value, t->value_len))
		copy_view(out->d, sizeof(out->d), t->value, t->value_len, true);
	if ((t = dkim_tag_find(l, "s")) != NULL && dkim_domain_valid(t->value, t->value_len))
		copy_view(out->s, sizeof(out->s), t->value, t->value_len, false);
	if ((t = dkim_tag_find(l, "a")) != NULL && !has_fws(t))
		copy_view(out->a, sizeof(out->a), t->value, t->value_len, false);
	if (form == DKIM_FORM_SIGNATURE && (t = dkim_tag_find(l, "i")) != NULL && !has_fws(t))
		copy_view(out->i, sizeof(out->i), t->value, t->value_len, false);
}

static const char *
check_required(const struct dkim_tag_list *l, enum dkim_sig_form form)
{
	/* Which forms need each tag: DKIM-Signature all seven (§3.5);
	 * ARC-Message-Signature all but v= (RFC 8617 §4.1.2); ARC-Seal a=,
	 * b=, d= and s= (§4.1.3; i= and cv= are ARC's own). */
	static const struct {
		const char *tag, *reason;
		bool ams, seal;
	} req[] = {
	    {"v", "syntax error: missing v=", false, false},
	    {"a", "syntax error: missing a=", true, true},
	    {"b", "syntax error: missing b=", true, true},
	    {"bh", "syntax error: missing bh=", true, false},
	    {"d", "syntax error: missing d=", true, true},
	    {"h", "syntax error: missing h=", true, false},
	    {"s", "syntax error: missing s=", true, true},
	};

	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		bool needed = form == DKIM_FORM_SIGNATURE ||
		              (form == DKIM_FORM_AMS ? req[i].ams : req[i].seal);

		if (needed && dkim_tag_find(l, req[i].tag) == NULL)
			return req[i].reason;
	}
	return NULL;
}

static const char *
parse_alg(const struct dkim_tag *t, struct dkim_sig *out)
{
	/* ABNF literals are case-insensitive (RFC 5234 §2.3). */
	for (size_t i = 0; i < sizeof(dkim_algs) / sizeof(dkim_algs[0]); i++)
		if (dkim_view_eq(t->value, t->value_len, dkim_algs[i].name)) {
			out->alg = dkim_algs[i].alg;
			return NULL;
		}
	return "algorithm not supported";
}

static bool
canon_word(const char *p, size_t len, enum dkim_canon *c)
{
	if (dkim_view_eq(p, len, "simple"))
		*c = DKIM_CANON_SIMPLE;
	else if (dkim_view_eq(p, len, "relaxed"))
		*c = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

static const char *
parse_canon(const struct dkim_tag *t, struct dkim_sig *out)
{
	const char *slash;

	out->hcanon = out->bcanon = DKIM_CANON_SIMPLE;
	if (t == NULL)
		return NULL;
	if (has_fws(t))
		return "syntax error: c=";
	slash = memchr(t->value, '/', t->value_len);
	if (slash == NULL)
		return canon_word(t->value, t->value_len, &out->hcanon)
		           ? NULL
		           : "canonicalization not supported";
	if (!canon_word(t->value, (size_t)(slash - t->value), &out->hcanon) ||
	    !canon_word(slash + 1, t->value_len - (size_t)(slash - t->value) - 1, &out->bcanon))
		return "canonicalization not supported";
	return NULL;
}

static const char *
add_header_name(const char *p, size_t len, void *ctx)
{
	struct dkim_sig *out = ctx;

	if (len == 0)
		return "syntax error: empty name in h=";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126)
			return "syntax error: bad name in h=";
	if (out->nheaders == DKIM_SIG_MAX_HEADERS)
		return "syntax error: too many names in h=";
	out->headers[out->nheaders].p = p;
	out->headers[out->nheaders].len = len;
	out->nheaders++;
	return NULL;
}

static const char *
parse_h(const struct dkim_tag *t, struct dkim_sig *out)
{
	const char *r = dkim_tag_each_element(t, add_header_name, out);

	if (r != NULL)
		return r;
	/* §5.4: the From field MUST be signed. */
	for (size_t i = 0; i < out->nheaders; i++)
		if (dkim_view_eq(out->headers[i].p, out->headers[i].len, "from"))
			return NULL;
	return "From field not signed";
}

static const char *
find_dns_txt(const char *p, size_t len, void *ctx)
{
	bool *found = ctx;

	/* "dns/txt" with an optional "/options" part (§3.5 q=). */
	if (dkim_view_eq(p, len, "dns/txt") || (len > 8 && dkim_view_eq(p, 8, "dns/txt/")))
		*found = true;
	return NULL;
}

static const char *
parse_q(const struct dkim_tag *t)
{
	bool found = false;

	if (t == NULL)
		return NULL;
	dkim_tag_each_element(t, find_dns_txt, &found);
	return found ? NULL : "query method not supported";
}

/* §3.5 i= absent: an empty Local-part and d=; ARC has no AUID, and this
 * default lets the key checks treat its signatures as d='s own. */
static void
default_auid(struct dkim_sig *out)
{
	out->i[0] = '@';
	memcpy(out->i + 1, out->d, strlen(out->d) + 1);
}

static const char *
parse_auid(const struct dkim_tag *t, struct dkim_sig *out)
{
	const char *at;
	size_t dlen, sdid = strlen(out->d);

	if (t == NULL) {
		default_auid(out);
		return NULL;
	}
	if (out->i[0] == '\0')
		return "syntax error: i=";
	at = memrchr(t->value, '@', t->value_len);
	if (at == NULL)
		return "syntax error: i= has no @";
	at++;
	dlen = t->value_len - (size_t)(at - t->value);
	if (!dkim_domain_valid(at, dlen))
		return "syntax error: i= domain";
	/* §6.1.1: the i= domain is d= or a subdomain of it. */
	if (dlen == sdid ? dkim_view_eq(at, dlen, out->d)
	                 : (dlen > sdid && at[dlen - sdid - 1] == '.' &&
	                    dkim_view_eq(at + dlen - sdid, sdid, out->d)))
		return NULL;
	return "domain mismatch";
}

static const char *
parse_times(const struct dkim_tag_list *l, struct dkim_sig *out)
{
	const struct dkim_tag *t;

	if ((t = dkim_tag_find(l, "l")) != NULL) {
		if (!parse_number(t, DKIM_L_DIGITS, &out->l))
			return "syntax error: l=";
		out->has_l = true;
	}
	if ((t = dkim_tag_find(l, "t")) != NULL) {
		if (!parse_number(t, DKIM_TS_DIGITS, &out->t))
			return "syntax error: t=";
		out->has_t = true;
	}
	if ((t = dkim_tag_find(l, "x")) != NULL) {
		if (!parse_number(t, DKIM_TS_DIGITS, &out->x))
			return "syntax error: x=";
		out->has_x = true;
	}
	/* §3.5 x=: it MUST be greater than t= when both are present. */
	if (out->has_t && out->has_x && out->x <= out->t)
		return "syntax error: x= not after t=";
	return NULL;
}

static void
fill_b_prefix(const struct dkim_tag *t, struct dkim_sig *out)
{
	size_t n = 0;

	for (size_t i = 0; i < t->value_len && n < sizeof(out->b_prefix) - 1; i++)
		if (!dkim_tag_is_fws((unsigned char)t->value[i]))
			out->b_prefix[n++] = t->value[i];
	out->b_prefix[n] = '\0';
}

static const char *
parse_b(const struct dkim_tag_list *l, size_t value_off, struct dkim_sig *out)
{
	const struct dkim_tag *b = dkim_tag_find(l, "b");
	long n = dkim_base64_decode(b->value, b->value_len, out->b, sizeof(out->b));

	if (n <= 0)
		return "syntax error: b=";
	out->b_len = (size_t)n;
	out->b_region_off = value_off + b->region_off;
	out->b_region_len = b->region_len;
	fill_b_prefix(b, out);
	return NULL;
}

static const char *
parse_bh(const struct dkim_tag *bh, struct dkim_sig *out)
{
	long n = dkim_base64_decode(bh->value, bh->value_len, out->bh, sizeof(out->bh));

	if (n <= 0)
		return "syntax error: bh=";
	out->bh_len = (size_t)n;
	return NULL;
}

/* What DKIM-Signature and ARC-Message-Signature have in common. */
static const char *
parse_message_sig(const struct dkim_tag_list *l, size_t value_off, struct dkim_sig *out)
{
	const char *r;

	if ((r = parse_canon(dkim_tag_find(l, "c"), out)) != NULL ||
	    (r = parse_b(l, value_off, out)) != NULL ||
	    (r = parse_bh(dkim_tag_find(l, "bh"), out)) != NULL ||
	    (r = parse_h(dkim_tag_find(l, "h"), out)) != NULL ||
	    (r = parse_q(dkim_tag_find(l, "q"))) != NULL)
		return r;
	return NULL;
}

/* ARC-Seal: relaxed header canonicalization and no h= (RFC 8617 §4.1.3,
 * §5.1.1); only t= of the times. */
static const char *
parse_seal(const struct dkim_tag_list *l, struct dkim_sig *out)
{
	const struct dkim_tag *t = dkim_tag_find(l, "t");

	if (dkim_tag_find(l, "h") != NULL)
		return "syntax error: h= in ARC-Seal";
	out->hcanon = out->bcanon = DKIM_CANON_RELAXED;
	default_auid(out);
	if (t != NULL) {
		if (!parse_number(t, DKIM_TS_DIGITS, &out->t))
			return "syntax error: t=";
		out->has_t = true;
	}
	return NULL;
}

static const char *
parse_tags(const struct dkim_tag_list *l, size_t value_off, enum dkim_sig_form form,
           struct dkim_sig *out)
{
	const char *r;

	if ((r = check_required(l, form)) != NULL)
		return r;
	if (form == DKIM_FORM_SIGNATURE &&
	    !dkim_view_eq(dkim_tag_find(l, "v")->value, dkim_tag_find(l, "v")->value_len, "1"))
		return "incompatible version";
	if (!dkim_domain_valid(dkim_tag_find(l, "d")->value, dkim_tag_find(l, "d")->value_len))
		return "syntax error: d=";
	if (!dkim_domain_valid(dkim_tag_find(l, "s")->value, dkim_tag_find(l, "s")->value_len))
		return "syntax error: s=";
	if ((r = parse_alg(dkim_tag_find(l, "a"), out)) != NULL)
		return r;
	if (form == DKIM_FORM_SEAL)
		return (r = parse_b(l, value_off, out)) != NULL ? r : parse_seal(l, out);
	if ((r = parse_message_sig(l, value_off, out)) != NULL)
		return r;
	if (form == DKIM_FORM_AMS)
		default_auid(out);
	else if ((r = parse_auid(dkim_tag_find(l, "i"), out)) != NULL)
		return r;
	return parse_times(l, out);
}

const char *
dkim_sig_parse_tags(const struct dkim_tag_list *l, size_t value_off, enum dkim_sig_form form,
                    struct dkim_sig *out)
{
	memset(out, 0, sizeof(*out));
	fill_identity(l, form, out);
	return parse_tags(l, value_off, form, out);
}

const char *
dkim_sig_parse(const char *raw, size_t len, size_t value_off, struct dkim_sig *out)
{
	struct dkim_tag_list l;
	enum dkim_tag_status st;

	memset(out, 0, sizeof(*out));
	if (value_off > len)
		return "syntax error: no value";
	if ((st = dkim_tag_parse(raw + value_off, len - value_off, &l)) != DKIM_TAG_OK)
		return dkim_tag_reason(st);
	return dkim_sig_parse_tags(&l, value_off, DKIM_FORM_SIGNATURE, out);
}
