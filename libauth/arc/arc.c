/*
 * arc - see arc.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "dkim.h"
#include "dkim_bodyset.h"
#include "dkim_crypto.h"
#include "dkim_hdata.h"
#include "dkim_keyfetch.h"

static const char too_large[] = "signed headers too large";

/* One ARC-Message-Signature, N down to the lowest examined. */
struct ams {
	struct dkim_sig sig;
	const char *reason;  /* unusable, or (older ones) did not verify */
	const char *verdict; /* the signature over the header fields */
	bool hashed;         /* a body hasher was set up for it */
	size_t hasher;
};

struct arc_verifier {
	struct dns_resolver *resolver;
	struct arc_verify_opts o;
	struct arc_chain_result res;
	char *aar;
	unsigned n;
	struct ams *ams; /* [i - 1] for instance i */
	unsigned lowest; /* the lowest instance whose AMS was examined */
	const char *seal_reason;
	unsigned seal_failed; /* the highest seal that did not verify */
	struct dkim_bodyset *bodies;
	size_t seal_hasher;
	enum { V_NEW, V_BODY, V_DONE } state;
	bool settled;
};

const char *
arc_result_name(enum arc_result r)
{
	return r == ARC_PASS ? "pass" : r == ARC_FAIL ? "fail" : "none";
}

struct arc_verifier *
arc_verifier_new(struct dns_resolver *r, const struct arc_verify_opts *o, struct auth_error *err)
{
	struct arc_verifier *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	v->resolver = r;
	if (o != NULL)
		v->o = *o;
	if (v->o.min_rsa_bits == 0)
		v->o.min_rsa_bits = DKIM_DEFAULT_MIN_RSA_BITS;
	if (v->o.max_field_bytes == 0)
		v->o.max_field_bytes = DKIM_DEFAULT_MAX_SIG_BYTES;
	return v;
}

static void
settle(struct arc_verifier *v, enum arc_result r, const char *reason, int kind, unsigned i)
{
	v->res.result = r;
	v->res.reason = reason;
	v->res.failed_field = kind >= 0 ? arc_kind_name((enum arc_kind)kind) : NULL;
	v->res.failed_instance = kind >= 0 ? i : 0;
	v->settled = true;
}

/* Whether a signature's key may verify it, as for DKIM (dkim.h); NULL
 * when yes, with the key in *key (released by the caller either way). */
static const char *
check_key(const struct arc_verifier *v, const struct dkim_sig *sig, struct dkim_key *key)
{
	uint64_t now = (uint64_t)(v->o.now != 0 ? v->o.now : time(NULL));
	const char *r;

	memset(key, 0, sizeof(*key));
	/* RFC 8301 §3.1 applies to every DKIM-style signature. */
	if (sig->alg == DKIM_ALG_RSA_SHA1)
		return "algorithm not allowed";
	if (sig->has_x && now > sig->x)
		return "signature expired";
	if (dkim_keyfetch(v->resolver, v->o.key_cache, sig, key, &r) != DKIM_KEYFETCH_OK)
		return r;
	if (sig->alg != DKIM_ALG_ED25519_SHA256 && key->bits < v->o.min_rsa_bits)
		return "key too small";
	return NULL;
}

/* ---- the newest set, for the result ---- */

static int
note_newest(struct arc_verifier *v, const struct arc_sets *s, struct auth_error *err)
{
	const struct arc_field *aar = &s->f[s->n][ARC_AAR], *as = &s->f[s->n][ARC_AS];
	struct dkim_sig *sig;
	enum arc_cv cv;
	unsigned i;
	size_t payload;

	if (as->raw != NULL && (sig = malloc(sizeof(*sig))) != NULL) {
		(void)arc_hdr_parse_seal(as, &i, &cv, sig);
		memcpy(v->res.d, sig->d, sizeof(v->res.d));
		memcpy(v->res.s, sig->s, sizeof(v->res.s));
		free(sig);
	}
	if (aar->raw == NULL || arc_hdr_parse_aar(aar, &i, &payload) != NULL)
		return 0;
	if ((v->aar = malloc(aar->len - aar->value_off + 1)) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	memcpy(v->aar, aar->raw + aar->value_off, aar->len - aar->value_off);
	v->aar[aar->len - aar->value_off] = '\0';
	v->res.aar = v->aar;
	v->res.aar_len = aar->len - aar->value_off;
	v->res.aar_payload = payload - aar->value_off;
	return 0;
}

/* ---- §5.2 steps 1 to 3: the shape of the chain ---- */

/* Step 2: the newest seal says the chain already failed. */
static bool
newest_failed(const struct arc_sets *s, struct dkim_sig *as)
{
	enum arc_cv cv;
	unsigned i;

	return s->f[s->n][ARC_AS].raw != NULL &&
	       arc_hdr_parse_seal(&s->f[s->n][ARC_AS], &i, &cv, as) == NULL && cv == ARC_CV_FAIL;
}

static bool
sets_complete(struct arc_verifier *v, const struct arc_sets *s)
{
	for (unsigned i = 1; i <= s->n; i++)
		for (int k = 0; k < ARC_KINDS; k++)
			if (s->f[i][k].raw == NULL) {
				settle(v, ARC_FAIL, "incomplete ARC set", k, i);
				return false;
			}
	return true;
}

/* Parses every seal into as[] and checks its cv= (step 3). */
static bool
seals_chained(struct arc_verifier *v, const struct arc_sets *s, struct dkim_sig *as)
{
	for (unsigned i = 1; i <= s->n; i++) {
		enum arc_cv cv;
		unsigned inst;
		const char *r = arc_hdr_parse_seal(&s->f[i][ARC_AS], &inst, &cv, &as[i - 1]);

		if (r == NULL && i == 1 && cv != ARC_CV_NONE)
			r = "first seal not cv=none";
		else if (r == NULL && i > 1 && cv != ARC_CV_PASS)
			r = "seal not cv=pass";
		if (r != NULL) {
			settle(v, ARC_FAIL, r, ARC_AS, i);
			return false;
		}
	}
	return true;
}

static bool
well_formed(struct arc_verifier *v, const struct arc_sets *s, struct dkim_sig *as)
{
	if (s->count == 0) {
		settle(v, ARC_NONE, NULL, -1, 0);
		return false;
	}
	if (s->too_many)
		settle(v, ARC_FAIL, s->problem, -1, 0);
	else if (newest_failed(s, as))
		settle(v, ARC_FAIL, "newest seal says cv=fail", ARC_AS, s->n);
	else if (s->problem != NULL || s->n == 0)
		settle(v, ARC_FAIL, s->problem != NULL ? s->problem : "syntax error: i=", -1, 0);
	return !v->settled && sets_complete(v, s) && seals_chained(v, s, as);
}

/* ---- the seals (step 6) ---- */

/* Verifies the seal of set (data: the canonical sets before it) and
 * leaves data with this set appended in full. */
static const char *
check_seal(const struct arc_verifier *v, const struct arc_field *set, const struct dkim_sig *sig,
           struct buf *data)
{
	struct dkim_key key = {0};
	const char *r = too_large;
	size_t mark;

	if (dkim_canon_header(DKIM_CANON_RELAXED, set[ARC_AAR].raw, set[ARC_AAR].len, true, data) <
	        0 ||
	    dkim_canon_header(DKIM_CANON_RELAXED, set[ARC_AMS].raw, set[ARC_AMS].len, true, data) <
	        0)
		return too_large;
	mark = data->len;
	/* §5.1.1: the seal covers the sets up to its own, and itself
	 * with b= empty. */
	if (dkim_hdata_sig_field(DKIM_CANON_RELAXED, set[ARC_AS].raw, set[ARC_AS].len,
	                         sig->b_region_off, sig->b_region_len, data) == 0 &&
	    (r = check_key(v, sig, &key)) == NULL)
		r = dkim_crypto_verify(sig->alg, key.pkey, sig->b, sig->b_len, data->data,
		                       data->len);
	dkim_key_clear(&key);
	buf_truncate(data, mark);
	if (dkim_canon_header(DKIM_CANON_RELAXED, set[ARC_AS].raw, set[ARC_AS].len, true, data) < 0)
		return r != NULL ? r : too_large;
	return r;
}

static void
check_seals(struct arc_verifier *v, const struct arc_sets *s, const struct dkim_sig *as)
{
	struct buf data;

	buf_init(&data, DKIM_MAX_HEADER_DATA);
	for (unsigned i = 1; i <= s->n; i++) {
		const char *r = check_seal(v, s->f[i], &as[i - 1], &data);

		if (r != NULL) {
			v->seal_reason = r;
			v->seal_failed = i;
		}
	}
	buf_free(&data);
}

/* ---- the message signatures (steps 4 and 5) ---- */

/* Parses an AMS and verifies it over the header fields. */
static void
check_ams_headers(const struct arc_verifier *v, const struct msg_headers *h,
                  const struct arc_field *f, struct ams *a)
{
	struct dkim_key key;
	unsigned i;

	if ((a->reason = arc_hdr_parse_ams(f, &i, &a->sig)) != NULL)
		return;
	if ((a->reason = check_key(v, &a->sig, &key)) == NULL &&
	    dkim_crypto_check_headers(&a->sig, key.pkey, h, f->raw, f->len, &a->verdict) < 0)
		a->reason = too_large;
	dkim_key_clear(&key);
}

/* The newest AMS, then older ones until one fails (its body hash is known
 * only at the end, so the newest is judged then). */
static int
check_amss(struct arc_verifier *v, const struct msg_headers *h, const struct arc_sets *s,
           struct auth_error *err)
{
	for (unsigned i = s->n; i >= 1; i--) {
		struct ams *a = &v->ams[i - 1];

		check_ams_headers(v, h, &s->f[i][ARC_AMS], a);
		v->lowest = i;
		if (i < s->n && a->reason == NULL)
			a->reason = a->verdict;
		if (a->reason != NULL) {
			if (i == s->n)
				settle(v, ARC_FAIL, a->reason, ARC_AMS, i);
			return 0;
		}
		if (dkim_bodyset_add(v->bodies, a->sig.bcanon, a->sig.alg, a->sig.has_l, a->sig.l,
		                     &a->hasher) < 0)
			return auth_error_set(err, AUTH_ENOMEM, "out of memory");
		a->hashed = true;
	}
	return 0;
}

/* ---- the end of the headers ---- */

static int
check_chain(struct arc_verifier *v, const struct msg_headers *h, const struct arc_sets *s,
            struct auth_error *err)
{
	struct dkim_sig *as = calloc(s->n + 1, sizeof(*as));
	int rc = 0;

	v->n = s->n;
	v->ams = calloc(s->n + 1, sizeof(*v->ams));
	if (as == NULL || v->ams == NULL)
		rc = auth_error_set(err, AUTH_ENOMEM, "out of memory");
	else if (well_formed(v, s, as)) {
		check_seals(v, s, as);
		rc = check_amss(v, h, s, err);
	}
	free(as);
	return rc;
}

int
arc_verifier_headers(struct arc_verifier *v, const struct msg_headers *h, struct auth_error *err)
{
	struct arc_sets *s;
	int rc;

	if (v->state != V_NEW)
		return auth_error_set(err, AUTH_EINVAL, "headers already given");
	v->state = V_BODY;
	if ((v->bodies = dkim_bodyset_new()) == NULL || (s = malloc(sizeof(*s))) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	arc_hdr_collect(h, v->o.max_field_bytes, s);
	v->res.instances = s->n;
	rc = note_newest(v, s, err);
	if (rc == 0)
		rc = check_chain(v, h, s, err);
	if (rc == 0 && v->o.seal_body_hash &&
	    dkim_bodyset_add(v->bodies, DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, false, 0,
	                     &v->seal_hasher) < 0)
		rc = auth_error_set(err, AUTH_ENOMEM, "out of memory");
	free(s);
	return rc;
}

int
arc_verifier_body(struct arc_verifier *v, const char *chunk, size_t len)
{
	if (v->state != V_BODY)
		return -1;
	dkim_bodyset_update(v->bodies, chunk, len);
	return 0;
}

/* ---- the end of the message ---- */

/* NULL when AMS i validates. */
static const char *
ams_outcome(const struct arc_verifier *v, unsigned i)
{
	const struct ams *a = &v->ams[i - 1];
	const unsigned char *digest;
	unsigned dlen;

	if (a->reason != NULL || !a->hashed)
		return a->reason != NULL ? a->reason : "not examined";
	digest = dkim_bodyset_digest(v->bodies, a->hasher, &dlen);
	/* RFC 6376 §6.1.3: the body hash is compared before the signature. */
	if (a->sig.bh_len != dlen || memcmp(a->sig.bh, digest, dlen) != 0)
		return "body hash mismatch";
	return a->verdict;
}

static void
judge(struct arc_verifier *v)
{
	const char *r = ams_outcome(v, v->n);
	unsigned i;

	if (r != NULL) {
		settle(v, ARC_FAIL, r, ARC_AMS, v->n);
		return;
	}
	if (v->seal_reason != NULL) {
		settle(v, ARC_FAIL, v->seal_reason, ARC_AS, v->seal_failed);
		return;
	}
	for (i = v->n; i > v->lowest && ams_outcome(v, i - 1) == NULL; i--)
		;
	settle(v, ARC_PASS, NULL, -1, 0);
	v->res.oldest_pass = i;
}

int
arc_verifier_finish(struct arc_verifier *v, struct auth_error *err)
{
	if (v->state != V_BODY)
		return auth_error_set(err, AUTH_EINVAL, "finish out of order");
	v->state = V_DONE;
	if (dkim_bodyset_final(v->bodies) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "body digest failed");
	if (!v->settled)
		judge(v);
	return 0;
}

const struct arc_chain_result *
arc_verifier_result(const struct arc_verifier *v)
{
	return &v->res;
}

int
arc_verifier_body_hash(const struct arc_verifier *v, unsigned char *md, unsigned *len)
{
	const unsigned char *d;

	if (v->state != V_DONE || !v->o.seal_body_hash)
		return -1;
	d = dkim_bodyset_digest(v->bodies, v->seal_hasher, len);
	memcpy(md, d, *len);
	return 0;
}

void
arc_verifier_free(struct arc_verifier *v)
{
	if (v == NULL)
		return;
	dkim_bodyset_free(v->bodies);
	free(v->ams);
	free(v->aar);
	free(v);
}
