/*
 * dkim_sign - see dkim_sign.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_crypto.h"
#include "dkim_sign.h"
#include "dkim_sigwrite.h"

struct dkim_signer {
	struct dkim_sign_opts o;
	enum dkim_alg alg;
	EVP_PKEY *pkey;
	struct dkim_body_hasher *body;
	char *names;    /* the header list, owned */
	char *oversign; /* the names to oversign, owned */
};

static bool
identity_valid(const char *i, const char *domain)
{
	const char *at = strrchr(i, '@');
	size_t dl = strlen(domain), il;

	if (at == NULL || strpbrk(i, "; \t\r\n") != NULL)
		return false;
	at++;
	il = strlen(at);
	return il >= dl && strcasecmp(at + il - dl, domain) == 0 &&
	       (il == dl || at[il - dl - 1] == '.');
}

struct dkim_sign_key {
	enum dkim_alg alg;
	EVP_PKEY *pkey;
};

struct dkim_sign_key *
dkim_sign_key_load(const char *pem, size_t pem_len, struct auth_error *err)
{
	struct dkim_sign_key *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	if ((k->pkey = dkim_crypto_load_private(pem, pem_len, &k->alg, err)) == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

void
dkim_sign_key_free(struct dkim_sign_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

static struct dkim_signer *signer_new(EVP_PKEY *pkey, enum dkim_alg alg, const char *pem,
                                      size_t pem_len, const struct dkim_sign_opts *o,
                                      struct auth_error *err);

struct dkim_signer *
dkim_signer_new(const char *pem, size_t pem_len, const struct dkim_sign_opts *o,
                struct auth_error *err)
{
	return signer_new(NULL, DKIM_ALG_RSA_SHA256, pem, pem_len, o, err);
}

struct dkim_signer *
dkim_signer_new_key(const struct dkim_sign_key *k, const struct dkim_sign_opts *o,
                    struct auth_error *err)
{
	return signer_new(k->pkey, k->alg, NULL, 0, o, err);
}

/* With pkey, a reference to it; without, the key read from pem. */
static struct dkim_signer *
signer_new(EVP_PKEY *pkey, enum dkim_alg alg, const char *pem, size_t pem_len,
           const struct dkim_sign_opts *o, struct auth_error *err)
{
	struct dkim_signer *s;

	if (o->domain == NULL || !dkim_domain_valid(o->domain, strlen(o->domain)) ||
	    o->selector == NULL || !dkim_domain_valid(o->selector, strlen(o->selector)) ||
	    (o->identity != NULL && !identity_valid(o->identity, o->domain))) {
		auth_error_set(err, AUTH_EINVAL, "invalid domain, selector or identity");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	s->o = *o;
	s->names = strdup(o->headers != NULL ? o->headers : DKIM_SIGN_DEFAULT_HEADERS);
	s->oversign = strdup(o->oversign != NULL ? o->oversign : DKIM_SIGN_DEFAULT_OVERSIGN);
	if (s->names == NULL || s->oversign == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		goto fail;
	}
	if (pkey != NULL && EVP_PKEY_up_ref(pkey) == 1) {
		s->pkey = pkey;
		s->alg = alg;
	} else if (pkey != NULL ||
	           (s->pkey = dkim_crypto_load_private(pem, pem_len, &s->alg, err)) == NULL) {
		if (pkey != NULL)
			auth_error_set(err, AUTH_ENOMEM, "out of memory");
		goto fail;
	}
	s->body =
	    dkim_body_hasher_new(o->bcanon, dkim_alg_md(DKIM_ALG_RSA_SHA256), DKIM_BODY_NO_LIMIT);
	if (s->body == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		goto fail;
	}
	return s;
fail:
	dkim_signer_free(s);
	return NULL;
}

void
dkim_signer_body(struct dkim_signer *s, const char *chunk, size_t len)
{
	dkim_body_hasher_update(s->body, chunk, len);
}

/* Everything up to and including "b=". */
static int
build_field(const struct dkim_signer *s, const struct dkim_name_view *names, size_t n,
            const char *bh, struct dkim_sigwrite *w)
{
	const struct dkim_sign_opts *o = &s->o;
	unsigned long long t = (unsigned long long)(o->now != 0 ? o->now : time(NULL));
	char c[32];

	snprintf(c, sizeof(c), "%s/%s", dkim_canon_name(o->hcanon), dkim_canon_name(o->bcanon));
	if (dkim_sigwrite_begin(w, "DKIM-Signature") < 0 || dkim_sigwrite_tag(w, "v", "1") < 0 ||
	    dkim_sigwrite_tag(w, "a", dkim_alg_name(s->alg)) < 0 ||
	    dkim_sigwrite_tag(w, "c", c) < 0 || dkim_sigwrite_tag(w, "d", o->domain) < 0 ||
	    dkim_sigwrite_tag(w, "s", o->selector) < 0 ||
	    (o->identity != NULL && dkim_sigwrite_tag(w, "i", o->identity) < 0) ||
	    dkim_sigwrite_num(w, "t", t) < 0 ||
	    (o->expire != 0 && dkim_sigwrite_num(w, "x", t + o->expire) < 0) ||
	    (o->body_length && dkim_sigwrite_num(w, "l", dkim_body_hasher_total(s->body)) < 0) ||
	    dkim_sigwrite_h(w, names, n) < 0 || dkim_sigwrite_tag(w, "bh", bh) < 0 ||
	    dkim_sigwrite_token(w, "b=", 2) < 0)
		return -1;
	return 0;
}

static int
finish_field(struct dkim_signer *s, const struct msg_headers *h, struct dkim_sigwrite *w,
             struct auth_error *err)
{
	struct dkim_name_view names[DKIM_SIG_MAX_HEADERS];
	unsigned char md[EVP_MAX_MD_SIZE];
	char bh[EVP_MAX_MD_SIZE * 2];
	unsigned mdlen;
	long n;

	if (dkim_body_hasher_final(s->body, md, &mdlen) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "body digest failed");
	EVP_EncodeBlock((unsigned char *)bh, md, (int)mdlen);
	n = dkim_sigwrite_names(s->names, s->oversign, h, names, err);
	if (n < 0)
		return -1;
	if (build_field(s, names, (size_t)n, bh, w) < 0)
		return auth_error_set(err, AUTH_ELIMIT, "signature field too long");
	return dkim_sigwrite_sign_headers(w, h, s->o.hcanon, names, (size_t)n, s->alg, s->pkey,
	                                  err);
}

int
dkim_signer_finish(struct dkim_signer *s, const struct msg_headers *h, char **field,
                   struct auth_error *err)
{
	struct dkim_sigwrite w = {0};

	if (finish_field(s, h, &w, err) < 0 || (*field = dkim_sigwrite_steal(&w)) == NULL) {
		dkim_sigwrite_free(&w);
		return err != NULL && err->code != AUTH_OK
		           ? -1
		           : auth_error_set(err, AUTH_ENOMEM, "out of memory");
	}
	return 0;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->pkey);
	dkim_body_hasher_free(s->body);
	free(s->names);
	free(s->oversign);
	free(s);
}
