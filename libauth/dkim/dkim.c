/*
 * dkim - see dkim.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "dkim.h"
#include "dkim_key.h"
#include "dkim_keycache.h"

/* One signature under examination (the first max_signatures). */
struct vsig {
	struct dkim_sig_result *res;
	struct dkim_sig sig;
	struct dkim_key key;
	bool active; /* still waiting for its body hash */
	size_t hasher;
	const char *verdict; /* signature check outcome: NULL = good */
};

struct hasher {
	enum dkim_canon canon;
	enum dkim_alg alg;
	bool has_l;
	uint64_t l;
	struct dkim_body_hasher *h;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len;
};

struct dkim_verifier {
	struct dns_resolver *resolver;
	struct dkim_verify_opts o;
	size_t nresults;
	struct dkim_sig_result *results;
	size_t nsigs;
	struct vsig *sigs;
	size_t nhashers;
	struct hasher *hashers;
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

/* ---- header data (§3.7, §5.4.2) ---- */

static bool
name_eq(const char *a, const char *b, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		unsigned char x = (unsigned char)a[k], y = (unsigned char)b[k];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* The last field named name not yet used, or -1. */
static long
select_field(const struct msg_headers *h, const struct dkim_name_view *name, bool *used)
{
	for (size_t i = msg_headers_count(h); i-- > 0;) {
		const struct msg_field *f = msg_headers_get(h, i);

		if (!used[i] && f->name_len == name->len && name_eq(f->raw, name->p, name->len)) {
			used[i] = true;
			return (long)i;
		}
	}
	return -1;
}

int
dkim_header_data(const struct msg_headers *h, enum dkim_canon hcanon,
                 const struct dkim_name_view *names, size_t nnames, const char *sig_raw,
                 size_t sig_len, size_t b_off, size_t b_len, struct buf *out)
{
	size_t n = msg_headers_count(h);
	bool *used = calloc(n + 1, sizeof(*used));
	struct buf sig;
	int rc = -1;

	if (used == NULL || b_off > sig_len || b_len > sig_len - b_off) {
		free(used);
		return -1;
	}
	for (size_t k = 0; k < nnames; k++) {
		long i = select_field(h, &names[k], used);
		const struct msg_field *f;

		/* §5.4.2: a name with no field left contributes nothing. */
		if (i < 0)
			continue;
		f = msg_headers_get(h, (size_t)i);
		if (dkim_canon_header(hcanon, f->raw, f->raw_len, true, out) < 0)
			goto out;
	}
	buf_init(&sig, sig_len + 1);
	if (buf_append(&sig, sig_raw, b_off) == 0 &&
	    buf_append(&sig, sig_raw + b_off + b_len, sig_len - b_off - b_len) == 0)
		rc = dkim_canon_header(hcanon, sig.data, sig.len, false, out);
	buf_free(&sig);
out:
	free(used);
	return rc;
}

/* ---- keys (§6.1.2) ---- */

/*
 * Several TXT records at one selector: §3.6.2.2 says the results are then
 * undefined, and §6.1.2 lets a verifier pick one.  Records that are not
 * DKIM keys at all (a tag-list error, another v=) are skipped, since they
 * were never meant as keys; if more than one DKIM key record remains, no
 * choice would be better founded than another (RRset order is arbitrary),
 * so the signature gets permerror rather than an answer that could change
 * from one query to the next.
 */
static const char *
choose_key(struct dkim_keycache *cache, const struct dns_answer *a, struct dkim_key *key)
{
	const char *reason = "key syntax error";
	bool found = false;

	for (size_t i = 0; i < a->count; i++) {
		struct dkim_key k;
		enum dkim_key_kind kind;
		const char *r;

		if (a->rrs[i].type != DNS_T_TXT)
			continue;
		r = dkim_keycache_parse(cache, a->rrs[i].u.txt.joined, a->rrs[i].u.txt.joined_len,
		                        &k, &kind);
		if (kind == DKIM_KEY_NOT_DKIM) {
			dkim_key_clear(&k);
			continue;
		}
		if (found) {
			dkim_key_clear(&k);
			dkim_key_clear(key);
			return "multiple key records";
		}
		found = true;
		*key = k;
		reason = r;
	}
	return reason;
}

/* Returns true when the key is usable; otherwise the result is settled. */
static bool
fetch_key(struct dkim_verifier *v, struct vsig *vs)
{
	char name[2 * (DNS_NAME_MAX + 1) + sizeof("._domainkey.")];
	const struct dns_answer *a = NULL;
	const char *r;

	(void)snprintf(name, sizeof(name), "%s._domainkey.%s", vs->sig.s, vs->sig.d);
	if (dns_query(v->resolver, name, DNS_T_TXT, &a, NULL) < 0 || a->status == DNS_TEMPFAIL) {
		if (a != NULL)
			dns_answer_release(a);
		settle(vs->res, DKIM_TEMPERROR, "DNS temporary failure");
		return false;
	}
	if (a->status != DNS_RECORDS) {
		dns_answer_release(a);
		settle(vs->res, DKIM_PERMERROR, "no key");
		return false;
	}
	r = choose_key(v->o.key_cache, a, &vs->key);
	dns_answer_release(a);
	if (r == NULL)
		r = dkim_key_check(&vs->key, &vs->sig);
	vs->res->testing = vs->key.testing;
	vs->res->key_bits = vs->key.bits;
	if (r != NULL) {
		/* A revoked key is the signer saying no signature by it is
		 * valid (§3.6.1 p=): a failure, not an error. */
		settle(vs->res, vs->key.revoked ? DKIM_FAIL : DKIM_PERMERROR, r);
		return false;
	}
	return true;
}

/* ---- signature over the header data ---- */

static const char *
verify_signature(const struct dkim_sig *sig, EVP_PKEY *pkey, const struct buf *data)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	int ok = 0;

	if (ctx == NULL)
		return "signature mismatch";
	if (sig->alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 §3: PureEdDSA over the SHA-256 hash of the data. */
		if (EVP_Digest(data->data, data->len, digest, &dlen, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
			ok = EVP_DigestVerify(ctx, sig->b, sig->b_len, digest, dlen) == 1;
	} else if (EVP_DigestVerifyInit(ctx, NULL, dkim_alg_md(sig->alg), NULL, pkey) == 1) {
		ok = EVP_DigestVerify(ctx, sig->b, sig->b_len, (const unsigned char *)data->data,
		                      data->len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? NULL : "signature mismatch";
}

/* Returns true when the header data could be built and checked. */
static bool
check_headers(struct vsig *vs, const struct msg_headers *h, const struct msg_field *f)
{
	struct buf data;
	bool built;

	buf_init(&data, DKIM_MAX_HEADER_DATA);
	built =
	    dkim_header_data(h, vs->sig.hcanon, vs->sig.headers, vs->sig.nheaders, f->raw,
	                     f->raw_len, vs->sig.b_region_off, vs->sig.b_region_len, &data) == 0;
	if (built)
		vs->verdict = verify_signature(&vs->sig, vs->key.pkey, &data);
	else
		settle(vs->res, DKIM_PERMERROR, "signed headers too large");
	buf_free(&data);
	return built;
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

/* The body hasher for this signature, shared with others that hash alike. */
static int
find_hasher(struct dkim_verifier *v, const struct dkim_sig *sig, size_t *idx)
{
	enum dkim_alg alg = sig->alg == DKIM_ALG_RSA_SHA1 ? DKIM_ALG_RSA_SHA1 : DKIM_ALG_RSA_SHA256;
	struct hasher *hs;

	for (size_t i = 0; i < v->nhashers; i++) {
		hs = &v->hashers[i];
		if (hs->canon == sig->bcanon && hs->alg == alg && hs->has_l == sig->has_l &&
		    (!sig->has_l || hs->l == sig->l)) {
			*idx = i;
			return 0;
		}
	}
	hs = &v->hashers[v->nhashers];
	hs->canon = sig->bcanon;
	hs->alg = alg;
	hs->has_l = sig->has_l;
	hs->l = sig->l;
	hs->h = dkim_body_hasher_new(sig->bcanon, dkim_alg_md(alg),
	                             sig->has_l ? sig->l : DKIM_BODY_NO_LIMIT);
	if (hs->h == NULL)
		return -1;
	*idx = v->nhashers++;
	return 0;
}

static int
examine(struct dkim_verifier *v, struct vsig *vs, const struct msg_headers *h,
        const struct msg_field *f, struct auth_error *err)
{
	const char *r;

	if (f->raw_len > v->o.max_header_sig_bytes) {
		settle(vs->res, DKIM_PERMERROR, "signature field too long");
		return 0;
	}
	r = dkim_sig_parse(f->raw, f->raw_len, f->value_off, &vs->sig);
	copy_identity(vs->res, &vs->sig);
	if (r != NULL) {
		settle(vs->res, DKIM_PERMERROR, r);
		return 0;
	}
	if (!check_times(v, vs) || !fetch_key(v, vs) || !check_headers(vs, h, f))
		return 0;
	if (find_hasher(v, &vs->sig, &vs->hasher) < 0)
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
	v->hashers = calloc(nexam + 1, sizeof(*v->hashers));
	if (v->results == NULL || v->sigs == NULL || v->hashers == NULL)
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
		if (examine(v, &v->sigs[v->nsigs++], h, f, err) < 0)
			return -1;
	}
	return 0;
}

int
dkim_verifier_body(struct dkim_verifier *v, const char *chunk, size_t len)
{
	if (v->state != V_BODY)
		return -1;
	for (size_t i = 0; i < v->nhashers; i++)
		dkim_body_hasher_update(v->hashers[i].h, chunk, len);
	return 0;
}

/* ---- end of message ---- */

static void
judge(const struct dkim_verifier *v, struct vsig *vs)
{
	const struct hasher *hs = &v->hashers[vs->hasher];
	struct dkim_sig_result *res = vs->res;

	res->partial_body = vs->sig.has_l && dkim_body_hasher_total(hs->h) > vs->sig.l;
	/* §6.1.3: the body hash is compared before the signature. */
	if (vs->sig.bh_len != hs->digest_len || memcmp(vs->sig.bh, hs->digest, hs->digest_len) != 0)
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
	for (size_t i = 0; i < v->nhashers; i++)
		if (dkim_body_hasher_final(v->hashers[i].h, v->hashers[i].digest,
		                           &v->hashers[i].digest_len) < 0)
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

void
dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nsigs; i++)
		dkim_key_clear(&v->sigs[i].key);
	for (size_t i = 0; i < v->nhashers; i++)
		dkim_body_hasher_free(v->hashers[i].h);
	free(v->hashers);
	free(v->sigs);
	free(v->results);
	free(v);
}
