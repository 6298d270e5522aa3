/*
 * arc_seal - see arc_seal.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc_seal.h"
#include "authres.h"
#include "dkim_crypto.h"
#include "dkim_hdata.h"
#include "dkim_sigwrite.h"

#define SHA256_LEN 32
/* An Authentication-Results value longer than this is not ours. */
#define AUTHRES_MAX (64u * 1024)

struct arc_sealer {
	char *domain, *selector, *headers;
	enum dkim_canon hcanon;
	enum dkim_alg alg;
	EVP_PKEY *pkey;
};

/* Names a message signature must not cover (§4.1.2). */
static bool
forbidden_name(const char *list)
{
	static const char *const names[] = {"arc-seal", "authentication-results"};

	while (*list != '\0') {
		size_t n = strcspn(list, ":");

		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (n == strlen(names[k]) && strncasecmp(list, names[k], n) == 0)
				return true;
		list += n + (list[n] == ':');
	}
	return false;
}

static int
check_opts(const struct arc_seal_opts *o, const char *headers, struct auth_error *err)
{
	struct dkim_name_view names[DKIM_SIG_MAX_HEADERS];
	struct msg_headers *none;
	long n;

	if (o->domain == NULL || !dkim_domain_valid(o->domain, strlen(o->domain)) ||
	    o->selector == NULL || !dkim_domain_valid(o->selector, strlen(o->selector)))
		return auth_error_set(err, AUTH_EINVAL, "invalid domain or selector");
	if (forbidden_name(headers))
		return auth_error_set(err, AUTH_EINVAL,
		                      "the header list names ARC-Seal or Authentication-Results");
	if ((none = msg_headers_new()) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	n = dkim_sigwrite_names(headers, NULL, none, names, err);
	msg_headers_free(none);
	return n < 0 ? -1 : 0;
}

struct arc_sealer *
arc_sealer_new(const char *pem, size_t pem_len, const struct arc_seal_opts *o,
               struct auth_error *err)
{
	const char *headers = o->headers != NULL ? o->headers : ARC_SEAL_DEFAULT_HEADERS;
	struct arc_sealer *s;

	if (check_opts(o, headers, err) < 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->domain = strdup(o->domain)) == NULL ||
	    (s->selector = strdup(o->selector)) == NULL || (s->headers = strdup(headers)) == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		arc_sealer_free(s);
		return NULL;
	}
	s->hcanon = o->hcanon;
	if ((s->pkey = dkim_crypto_load_private(pem, pem_len, &s->alg, err)) == NULL) {
		arc_sealer_free(s);
		return NULL;
	}
	return s;
}

void
arc_sealer_free(struct arc_sealer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->pkey);
	free(s->domain);
	free(s->selector);
	free(s->headers);
	free(s);
}

void
arc_seal_fields_free(struct arc_seal_fields *f)
{
	free(f->aar);
	free(f->ams);
	free(f->as);
	f->aar = f->ams = f->as = NULL;
}

/* ---- what to seal ---- */

static enum arc_seal_status
decide(const struct arc_sealer *s, const struct arc_seal_input *in, unsigned *instance,
       enum arc_cv *cv, struct auth_error *err)
{
	unsigned n = in->chain != NULL ? in->chain->instances : 0;
	enum arc_result r = in->chain != NULL ? in->chain->result : ARC_NONE;

	if (n >= ARC_MAX_SETS)
		return ARC_SEAL_FULL;
	if (n > 0 && strcasecmp(in->chain->d, s->domain) == 0)
		return ARC_SEAL_OURS;
	if (in->body_hash_len != SHA256_LEN)
		return auth_error_set(err, AUTH_EINVAL, "the body hash is not SHA-256");
	if ((r == ARC_NONE && n > 0) || (r == ARC_PASS && n == 0))
		return auth_error_set(err, AUTH_EINVAL,
		                      "the chain's result and instances disagree");
	*instance = n + 1;
	*cv = r == ARC_PASS ? ARC_CV_PASS : r == ARC_FAIL ? ARC_CV_FAIL : ARC_CV_NONE;
	return ARC_SEALED;
}

/* ---- ARC-Authentication-Results ---- */

/* A header value: no NUL, every line end a CRLF followed by WSP. */
static bool
header_safe(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\0' || v[i] == '\n')
			return false;
		if (v[i] == '\r' &&
		    (i + 2 >= len || v[i + 1] != '\n' || (v[i + 2] != ' ' && v[i + 2] != '\t')))
			return false;
		i += v[i] == '\r';
	}
	return true;
}

static int
make_aar(const struct arc_seal_input *in, unsigned instance, char **out, struct auth_error *err)
{
	const char *v = in->authres != NULL ? in->authres : "";
	char id[DNS_NAME_MAX + 1];
	struct buf b;
	size_t len;

	v += strspn(v, " \t");
	len = strlen(v);
	if (len > AUTHRES_MAX || !header_safe(v, len) ||
	    authres_authserv_id(v, len, id, sizeof(id)) < 0)
		return auth_error_set(err, AUTH_EINVAL, "not an Authentication-Results value");
	buf_init(&b, AUTHRES_MAX + 64);
	if (buf_printf(&b, "ARC-Authentication-Results: i=%u; %s", instance, v) < 0 ||
	    (*out = buf_steal(&b)) == NULL) {
		buf_free(&b);
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- ARC-Message-Signature ---- */

static int
ams_fields(const struct arc_sealer *s, const struct arc_seal_input *in, unsigned instance,
           const struct dkim_name_view *names, size_t n, struct dkim_sigwrite *w)
{
	char bh[SHA256_LEN * 2], c[32];
	unsigned long long t = (unsigned long long)(in->now != 0 ? in->now : time(NULL));

	EVP_EncodeBlock((unsigned char *)bh, in->body_hash, SHA256_LEN);
	snprintf(c, sizeof(c), "%s/relaxed", dkim_canon_name(s->hcanon));
	if (dkim_sigwrite_begin(w, "ARC-Message-Signature") < 0 ||
	    dkim_sigwrite_num(w, "i", instance) < 0 ||
	    dkim_sigwrite_tag(w, "a", dkim_alg_name(s->alg)) < 0 ||
	    dkim_sigwrite_tag(w, "c", c) < 0 || dkim_sigwrite_tag(w, "d", s->domain) < 0 ||
	    dkim_sigwrite_tag(w, "s", s->selector) < 0 || dkim_sigwrite_num(w, "t", t) < 0 ||
	    dkim_sigwrite_h(w, names, n) < 0 || dkim_sigwrite_tag(w, "bh", bh) < 0 ||
	    dkim_sigwrite_token(w, "b=", 2) < 0)
		return -1;
	return 0;
}

static int
make_ams(const struct arc_sealer *s, const struct arc_seal_input *in, unsigned instance, char **out,
         struct auth_error *err)
{
	struct dkim_name_view names[DKIM_SIG_MAX_HEADERS];
	struct dkim_sigwrite w = {0};
	long n =
	    dkim_sigwrite_names(s->headers, DKIM_SIGN_DEFAULT_OVERSIGN, in->headers, names, err);
	int rc = -1;

	if (n < 0)
		return -1;
	if (ams_fields(s, in, instance, names, (size_t)n, &w) < 0)
		auth_error_set(err, AUTH_ELIMIT, "ARC-Message-Signature too long");
	else if (dkim_sigwrite_sign_headers(&w, in->headers, s->hcanon, names, (size_t)n, s->alg,
	                                    s->pkey, err) == 0)
		rc = (*out = dkim_sigwrite_steal(&w)) != NULL
		         ? 0
		         : auth_error_set(err, AUTH_ENOMEM, "out of memory");
	dkim_sigwrite_free(&w);
	return rc;
}

/* ---- ARC-Seal ---- */

/* The canonical sets the seal covers before the new one: all of them, or
 * none when the chain failed (§5.1.2). */
static int
earlier_sets(const struct arc_seal_input *in, enum arc_cv cv, unsigned instance, struct buf *data,
             struct auth_error *err)
{
	struct arc_sets *sets;
	int rc = 0;

	if (cv == ARC_CV_FAIL || instance == 1)
		return 0;
	if ((sets = malloc(sizeof(*sets))) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	arc_hdr_collect(in->headers, SIZE_MAX, sets);
	if (sets->problem != NULL || sets->n != instance - 1)
		rc = auth_error_set(err, AUTH_EINVAL, "the chain is not the message's");
	for (unsigned i = 1; rc == 0 && i < instance; i++)
		if (sets->f[i][ARC_AAR].raw == NULL || sets->f[i][ARC_AMS].raw == NULL ||
		    sets->f[i][ARC_AS].raw == NULL)
			rc = auth_error_set(err, AUTH_EINVAL, "the chain is not the message's");
		else if (arc_hdr_canon_set(sets->f[i], data) < 0)
			rc = auth_error_set(err, AUTH_ELIMIT, "the ARC sets are too large");
	free(sets);
	return rc;
}

static int
seal_data(const struct arc_seal_input *in, enum arc_cv cv, unsigned instance,
          const struct arc_seal_fields *f, const struct dkim_sigwrite *w, struct buf *data,
          struct auth_error *err)
{
	if (earlier_sets(in, cv, instance, data, err) < 0)
		return -1;
	if (dkim_canon_header(DKIM_CANON_RELAXED, f->aar, strlen(f->aar), true, data) < 0 ||
	    dkim_canon_header(DKIM_CANON_RELAXED, f->ams, strlen(f->ams), true, data) < 0 ||
	    dkim_hdata_sig_field(DKIM_CANON_RELAXED, w->b.data, w->b.len, w->b.len, 0, data) < 0)
		return auth_error_set(err, AUTH_ELIMIT, "the ARC sets are too large");
	return 0;
}

/* Everything up to and including "b=". */
static int
seal_tags(const struct arc_sealer *s, const struct arc_seal_input *in, unsigned instance,
          enum arc_cv cv, struct dkim_sigwrite *w)
{
	unsigned long long t = (unsigned long long)(in->now != 0 ? in->now : time(NULL));

	if (dkim_sigwrite_begin(w, "ARC-Seal") < 0 || dkim_sigwrite_num(w, "i", instance) < 0 ||
	    dkim_sigwrite_tag(w, "a", dkim_alg_name(s->alg)) < 0 ||
	    dkim_sigwrite_tag(w, "cv", arc_cv_name(cv)) < 0 ||
	    dkim_sigwrite_tag(w, "d", s->domain) < 0 ||
	    dkim_sigwrite_tag(w, "s", s->selector) < 0 || dkim_sigwrite_num(w, "t", t) < 0 ||
	    dkim_sigwrite_token(w, "b=", 2) < 0)
		return -1;
	return 0;
}

static int
sign_seal(const struct arc_sealer *s, const struct buf *data, struct dkim_sigwrite *w, char **out,
          struct auth_error *err)
{
	unsigned char sig[DKIM_SIG_MAX_B];
	size_t siglen;

	if (dkim_crypto_sign(s->alg, s->pkey, data->data, data->len, sig, &siglen) < 0)
		return auth_error_set(err, AUTH_EINVAL, "signing failed");
	if (dkim_sigwrite_b(w, sig, siglen) < 0 || (*out = dkim_sigwrite_steal(w)) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	return 0;
}

static int
make_as(const struct arc_sealer *s, const struct arc_seal_input *in, unsigned instance,
        enum arc_cv cv, struct arc_seal_fields *f, struct auth_error *err)
{
	struct dkim_sigwrite w = {0};
	struct buf data;
	int rc;

	buf_init(&data, DKIM_MAX_HEADER_DATA);
	if (seal_tags(s, in, instance, cv, &w) < 0)
		rc = auth_error_set(err, AUTH_ELIMIT, "ARC-Seal too long");
	else if ((rc = seal_data(in, cv, instance, f, &w, &data, err)) == 0)
		rc = sign_seal(s, &data, &w, &f->as, err);
	dkim_sigwrite_free(&w);
	buf_free(&data);
	return rc;
}

enum arc_seal_status
arc_seal(const struct arc_sealer *s, const struct arc_seal_input *in, struct arc_seal_fields *out,
         struct auth_error *err)
{
	enum arc_seal_status st;
	unsigned instance = 0;
	enum arc_cv cv = ARC_CV_NONE;

	memset(out, 0, sizeof(*out));
	if ((st = decide(s, in, &instance, &cv, err)) != ARC_SEALED)
		return st;
	if (make_aar(in, instance, &out->aar, err) < 0 ||
	    make_ams(s, in, instance, &out->ams, err) < 0 ||
	    make_as(s, in, instance, cv, out, err) < 0) {
		arc_seal_fields_free(out);
		return ARC_SEAL_ERROR;
	}
	return ARC_SEALED;
}
