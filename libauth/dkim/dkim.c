/*
 * dkim - see dkim.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dkim_bodyset.h"
#include "dkim_crypto.h"
#include "dkim_key.h"
#include "dkim_keyfetch.h"

/* One signature under examination (the first max_signatures). */
struct vsig {
	struct dkim_sig_result *res;
	const struct msg_field *field; /* during dkim_verifier_headers() only */
	struct dkim_sig sig;
	struct dkim_key key;
	bool needs_key; /* parsed and in time: its key is to be fetched */
	bool active;    /* still waiting for its body hash */
	size_t hasher;
	const char *verdict; /* signature check outcome: NULL = good */
};

struct dkim_verifier {
	struct dns_resolver *resolver;
	struct dkim_verify_opts o;
	size_t nresults;
	struct dkim_sig_result *results;
	size_t nsigs;
	struct vsig *sigs;
	struct dkim_bodyset *bodies;
	enum { V_NEW, V_BODY, V_DONE } state;
};

const char *
dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_PASS:
		return "pass";
	case DKIM_FAIL:
		return "fail";
	case DKIM_NEUTRAL:
		return "neutral";
	case DKIM_POLICY:
		return "policy";
	case DKIM_TEMPERROR:
		return "temperror";
	case DKIM_PERMERROR:
		return "permerror";
	case DKIM_NONE:
	default:
		return "none";
	}
}

struct dkim_verifier *
dkim_verifier_new(struct dns_resolver *r, const struct dkim_verify_opts *o, struct auth_error *err)
{
	struct dkim_verifier *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	v->resolver = r;
	if (o != NULL)
		v->o = *o;
	if (v->o.max_signatures == 0)
		v->o.max_signatures = DKIM_DEFAULT_MAX_SIGNATURES;
	if (v->o.min_rsa_bits == 0)
		v->o.min_rsa_bits = DKIM_DEFAULT_MIN_RSA_BITS;
	if (v->o.max_header_sig_bytes == 0)
		v->o.max_header_sig_bytes = DKIM_DEFAULT_MAX_SIG_BYTES;
	if (v->o.clock_skew == 0)
		v->o.clock_skew = DKIM_DEFAULT_CLOCK_SKEW;
	return v;
}

static void
settle(struct dkim_sig_result *res, enum dkim_result r, const char *reason)
{
	res->result = r;
	res->reason = reason;
}

static void
copy_identity(struct dkim_sig_result *res, const struct dkim_sig *sig)
{
	memcpy(res->d, sig->d, sizeof(res->d));
	memcpy(res->s, sig->s, sizeof(res->s));
	memcpy(res->i, sig->i, sizeof(res->i));
	memcpy(res->a, sig->a, sizeof(res->a));
	memcpy(res->b_prefix, sig->b_prefix, sizeof(res->b_prefix));
}

/* ---- key and signature over the header data ---- */

/* Returns true when the key is usable; otherwise the result is settled. */
static bool
fetch_key(struct dkim_verifier *v, struct vsig *vs)
{
	const char *r;
	enum dkim_keyfetch_status st =
	    dkim_keyfetch(v->resolver, v->o.key_cache, &vs->sig, &vs->key, &r);

	vs->res->testing = vs->key.testing;
	vs->res->key_bits = vs->key.bits;
	if (st == DKIM_KEYFETCH_TEMPFAIL)
		settle(vs->res, DKIM_TEMPERROR, r);
	/* A revoked key is the signer saying no signature by it is valid
	 * (§3.6.1 p=): a failure, not an error. */
	else if (st == DKIM_KEYFETCH_FAIL)
		settle(vs->res, vs->key.revoked ? DKIM_FAIL : DKIM_PERMERROR, r);
	return st == DKIM_KEYFETCH_OK;
}

/* Returns true when the header data could be built and checked. */
static bool
check_headers(struct vsig *vs, const struct msg_headers *h, const struct msg_field *f)
{
	if (dkim_crypto_check_headers(&vs->sig, vs->key.pkey, h, f->raw, f->raw_len,
	                              &vs->verdict) == 0)
		return true;
	settle(vs->res, DKIM_PERMERROR, "signed headers too large");
	return false;
}

/* ---- examining each signature at the end of the headers ---- */

static bool
check_times(const struct dkim_verifier *v, struct vsig *vs)
{
	uint64_t now = (uint64_t)(v->o.now != 0 ? v->o.now : time(NULL));

	if (vs->sig.has_x && now > vs->sig.x) {
		settle(vs->res, DKIM_FAIL, "signature expired");
		return false;
	}
	/* §3.5 t=: a verifier MAY ignore a signature dated in the future;
	 * beyond the allowed clock skew, this one does. */
	if (vs->sig.has_t && vs->sig.t > now + v->o.clock_skew) {
		settle(vs->res, DKIM_POLICY, "signature in the future");
		return false;
	}
	return true;
}

/* The first look at a signature: parsed, in time, and its key asked for
 * in the background, so that every signature's key is on its way before
 * the first one is waited for. */
static void
examine(struct dkim_verifier *v, struct vsig *vs, const struct msg_field *f)
{
	const char *r;

	vs->field = f;
	if (f->raw_len > v->o.max_header_sig_bytes) {
		settle(vs->res, DKIM_PERMERROR, "signature field too long");
		return;
	}
	r = dkim_sig_parse(f->raw, f->raw_len, f->value_off, &vs->sig);
	copy_identity(vs->res, &vs->sig);
	if (r != NULL) {
		settle(vs->res, DKIM_PERMERROR, r);
		return;
	}
	if (v->o.headers_incomplete) {
		settle(vs->res, DKIM_POLICY, "header block over limit");
		return;
	}
	if (!check_times(v, vs))
		return;
	vs->needs_key = true;
	dkim_keyfetch_prefetch(v->resolver, &vs->sig);
}

/* The key, and the signature over the header fields. */
static int
check(struct dkim_verifier *v, struct vsig *vs, const struct msg_headers *h, struct auth_error *err)
{
	if (!vs->needs_key || !fetch_key(v, vs) || !check_headers(vs, h, vs->field))
		return 0;
	if (dkim_bodyset_add(v->bodies, vs->sig.bcanon, vs->sig.alg, vs->sig.has_l, vs->sig.l,
	                     &vs->hasher) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	vs->active = true;
	return 0;
}

/* Signatures past max_signatures are read only to be reported. */
static void
report_extra(struct dkim_sig_result *res, const struct msg_field *f, size_t max_bytes)
{
	struct dkim_sig *sig;

	settle(res, DKIM_NEUTRAL, "too many signatures");
	if (f->raw_len > max_bytes || (sig = malloc(sizeof(*sig))) == NULL)
		return;
	(void)dkim_sig_parse(f->raw, f->raw_len, f->value_off, sig);
	copy_identity(res, sig);
	free(sig);
}

int
dkim_verifier_headers(struct dkim_verifier *v, const struct msg_headers *h, struct auth_error *err)
{
	size_t n = 0, nfields = msg_headers_count(h), nexam;

	if (v->state != V_NEW)
		return auth_error_set(err, AUTH_EINVAL, "headers already given");
	v->state = V_BODY;
	for (size_t i = 0; i < nfields; i++)
		n += msg_field_is(msg_headers_get(h, i), "DKIM-Signature");
	nexam = n < v->o.max_signatures ? n : v->o.max_signatures;
	v->results = calloc(n + 1, sizeof(*v->results));
	v->sigs = calloc(nexam + 1, sizeof(*v->sigs));
	v->bodies = dkim_bodyset_new();
	if (v->results == NULL || v->sigs == NULL || v->bodies == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	for (size_t i = 0; i < nfields; i++) {
		const struct msg_field *f = msg_headers_get(h, i);
		struct dkim_sig_result *res;

		if (!msg_field_is(f, "DKIM-Signature"))
			continue;
		res = &v->results[v->nresults++];
		if (v->nsigs == nexam) {
			report_extra(res, f, v->o.max_header_sig_bytes);
			continue;
		}
		v->sigs[v->nsigs].res = res;
		examine(v, &v->sigs[v->nsigs++], f);
	}
	for (size_t i = 0; i < v->nsigs; i++)
		if (check(v, &v->sigs[i], h, err) < 0)
			return -1;
	return 0;
}

int
dkim_verifier_body(struct dkim_verifier *v, const char *chunk, size_t len)
{
	if (v->state != V_BODY)
		return -1;
	dkim_bodyset_update(v->bodies, chunk, len);
	return 0;
}

/* ---- end of message ---- */

static void
judge(const struct dkim_verifier *v, struct vsig *vs)
{
	struct dkim_sig_result *res = vs->res;
	unsigned dlen;
	const unsigned char *digest = dkim_bodyset_digest(v->bodies, vs->hasher, &dlen);

	res->partial_body = vs->sig.has_l && dkim_bodyset_total(v->bodies, vs->hasher) > vs->sig.l;
	/* §6.1.3: the body hash is compared before the signature. */
	if (vs->sig.bh_len != dlen || memcmp(vs->sig.bh, digest, dlen) != 0)
		settle(res, DKIM_FAIL, "body hash mismatch");
	else if (vs->verdict != NULL)
		settle(res, DKIM_FAIL, vs->verdict);
	/*
	 * RFC 8301 §3.1: verifiers MUST NOT consider rsa-sha1 signatures
	 * valid.  The signature did verify, so it is neither a failure nor an
	 * error; refusing it is this receiver's rule (allow_sha1 can lift it),
	 * which is RFC 8601's "policy".  The same holds for short keys (§3.2).
	 */
	else if (vs->sig.alg == DKIM_ALG_RSA_SHA1 && !v->o.allow_sha1)
		settle(res, DKIM_POLICY, "algorithm not allowed");
	else if (vs->sig.alg != DKIM_ALG_ED25519_SHA256 && vs->key.bits < v->o.min_rsa_bits)
		settle(res, DKIM_POLICY, "key too small");
	else if (res->partial_body && v->o.reject_partial_body)
		settle(res, DKIM_POLICY, "partial body signed");
	else
		settle(res, DKIM_PASS, NULL);
}

int
dkim_verifier_finish(struct dkim_verifier *v, struct auth_error *err)
{
	if (v->state == V_DONE)
		return auth_error_set(err, AUTH_EINVAL, "message already finished");
	v->state = V_DONE;
	if (dkim_bodyset_final(v->bodies) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "body digest failed");
	for (size_t i = 0; i < v->nsigs; i++)
		if (v->sigs[i].active)
			judge(v, &v->sigs[i]);
	return 0;
}

size_t
dkim_verifier_count(const struct dkim_verifier *v)
{
	return v->nresults;
}

const struct dkim_sig_result *
dkim_verifier_result(const struct dkim_verifier *v, size_t i)
{
	return i < v->nresults ? &v->results[i] : NULL;
}

const struct dkim_sig_result *
dkim_verifier_results(const struct dkim_verifier *v)
{
	return v->nresults > 0 ? v->results : NULL;
}

void
dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nsigs; i++)
		dkim_key_clear(&v->sigs[i].key);
	dkim_bodyset_free(v->bodies);
	free(v->sigs);
	free(v->results);
	free(v);
}
