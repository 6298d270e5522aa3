/*
 * arc_hdr - see arc_hdr.h.
 */
#include "autoconf.h"

#include <string.h>

#include "arc_hdr.h"
#include "authres.h"
#include "dkim_tag.h"

static const char too_many[] = "too many ARC sets";
static const char bad_instance[] = "syntax error: i=";

static const char *const kind_names[ARC_KINDS] = {"ARC-Authentication-Results",
                                                  "ARC-Message-Signature", "ARC-Seal"};

const char *
arc_kind_name(enum arc_kind k)
{
	return k < ARC_KINDS ? kind_names[k] : "ARC";
}

int
arc_hdr_kind(const struct msg_field *f)
{
	for (int k = 0; k < ARC_KINDS; k++)
		if (msg_field_is(f, kind_names[k]))
			return k;
	return -1;
}

const char *
arc_cv_name(enum arc_cv cv)
{
	return cv == ARC_CV_PASS ? "pass" : cv == ARC_CV_FAIL ? "fail" : "none";
}

/* instance-val = 1*2DIGIT, at most ARC_MAX_SETS (§4.2.1). */
static const char *
instance_value(const char *p, size_t len, unsigned *i)
{
	unsigned v = 0;

	if (len == 0 || len > 2)
		return bad_instance;
	for (size_t k = 0; k < len; k++) {
		if (p[k] < '0' || p[k] > '9')
			return bad_instance;
		v = v * 10 + (unsigned)(p[k] - '0');
	}
	if (v == 0)
		return bad_instance;
	if (v > ARC_MAX_SETS)
		return too_many;
	*i = v;
	return NULL;
}

static size_t
skip_fws(const char *p, size_t len, size_t at)
{
	while (at < len && dkim_tag_is_fws((unsigned char)p[at]))
		at++;
	return at;
}

/* arc-info = instance [CFWS] ";" authres-payload, after [CFWS] (§4.1.1). */
const char *
arc_hdr_parse_aar(const struct arc_field *f, unsigned *i, size_t *payload_off)
{
	const char *p = f->raw;
	size_t at, start;
	long cfws = authres_cfws_len(p + f->value_off, f->len - f->value_off);
	const char *r;

	if (cfws < 0)
		return bad_instance;
	at = f->value_off + (size_t)cfws;
	if (at >= f->len || p[at] != 'i')
		return bad_instance;
	at = skip_fws(p, f->len, at + 1);
	if (at >= f->len || p[at] != '=')
		return bad_instance;
	start = at = skip_fws(p, f->len, at + 1);
	while (at < f->len && p[at] >= '0' && p[at] <= '9')
		at++;
	if ((r = instance_value(p + start, at - start, i)) != NULL)
		return r;
	if ((cfws = authres_cfws_len(p + at, f->len - at)) < 0)
		return bad_instance;
	at += (size_t)cfws;
	if (at >= f->len || p[at] != ';')
		return bad_instance;
	*payload_off = at + 1;
	return NULL;
}

/* The tag list of an AMS or AS and its instance. */
static const char *
tag_instance(const struct arc_field *f, struct dkim_tag_list *l, unsigned *i)
{
	const struct dkim_tag *t;
	enum dkim_tag_status st;

	if (f->value_off > f->len)
		return "syntax error: no value";
	st = dkim_tag_parse(f->raw + f->value_off, f->len - f->value_off, l);
	if (st != DKIM_TAG_OK)
		return dkim_tag_reason(st);
	if ((t = dkim_tag_find(l, "i")) == NULL)
		return "syntax error: missing i=";
	return instance_value(t->value, t->value_len, i);
}

const char *
arc_hdr_parse_ams(const struct arc_field *f, unsigned *i, struct dkim_sig *sig)
{
	struct dkim_tag_list l;
	const char *r;

	memset(sig, 0, sizeof(*sig));
	if ((r = tag_instance(f, &l, i)) != NULL ||
	    (r = dkim_sig_parse_tags(&l, f->value_off, DKIM_FORM_AMS, sig)) != NULL)
		return r;
	/* The seals sign the message signatures, not the other way round
	 * (§4.1.2): an AMS over an ARC-Seal could never stay valid. */
	for (size_t k = 0; k < sig->nheaders; k++)
		if (dkim_view_eq(sig->headers[k].p, sig->headers[k].len, "arc-seal"))
			return "syntax error: ARC-Seal in h=";
	return NULL;
}

static const char *
parse_cv(const struct dkim_tag_list *l, enum arc_cv *cv)
{
	const struct dkim_tag *t = dkim_tag_find(l, "cv");

	if (t == NULL)
		return "syntax error: missing cv=";
	if (dkim_view_eq(t->value, t->value_len, "none"))
		*cv = ARC_CV_NONE;
	else if (dkim_view_eq(t->value, t->value_len, "pass"))
		*cv = ARC_CV_PASS;
	else if (dkim_view_eq(t->value, t->value_len, "fail"))
		*cv = ARC_CV_FAIL;
	else
		return "syntax error: cv=";
	return NULL;
}

const char *
arc_hdr_parse_seal(const struct arc_field *f, unsigned *i, enum arc_cv *cv, struct dkim_sig *sig)
{
	struct dkim_tag_list l;
	const char *r;

	memset(sig, 0, sizeof(*sig));
	if ((r = tag_instance(f, &l, i)) != NULL || (r = parse_cv(&l, cv)) != NULL)
		return r;
	return dkim_sig_parse_tags(&l, f->value_off, DKIM_FORM_SEAL, sig);
}

static const char *
field_instance(const struct arc_field *f, enum arc_kind k, unsigned *i)
{
	struct dkim_tag_list l;
	size_t payload;

	return k == ARC_AAR ? arc_hdr_parse_aar(f, i, &payload) : tag_instance(f, &l, i);
}

static void
note(struct arc_sets *out, const char *problem)
{
	if (problem == too_many)
		out->too_many = true;
	if (out->problem == NULL)
		out->problem = problem;
}

void
arc_hdr_collect(const struct msg_headers *h, size_t max_field, struct arc_sets *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < msg_headers_count(h); k++) {
		const struct msg_field *m = msg_headers_get(h, k);
		struct arc_field f = {m->raw, m->raw_len, m->value_off};
		int kind = arc_hdr_kind(m);
		const char *r;
		unsigned i = 0;

		if (kind < 0)
			continue;
		if (++out->count > ARC_KINDS * ARC_MAX_SETS) {
			note(out, too_many);
			return;
		}
		if (m->raw_len > max_field)
			r = "ARC field too long";
		else if ((r = field_instance(&f, (enum arc_kind)kind, &i)) == NULL &&
		         out->f[i][kind].raw != NULL)
			r = "duplicate ARC field";
		if (r != NULL) {
			note(out, r);
			continue;
		}
		out->f[i][kind] = f;
		out->n = i > out->n ? i : out->n;
	}
}

int
arc_hdr_canon_set(const struct arc_field set[ARC_KINDS], struct buf *out)
{
	for (int k = 0; k < ARC_KINDS; k++)
		if (dkim_canon_header(DKIM_CANON_RELAXED, set[k].raw, set[k].len, true, out) < 0)
			return -1;
	return 0;
}
