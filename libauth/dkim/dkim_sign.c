/*
 * dkim_sign - see dkim_sign.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "dkim_sign.h"

#define FOLD_WIDTH 76
#define FIELD_MAX (64u * 1024)

struct dkim_signer {
	struct dkim_sign_opts o;
	enum dkim_alg alg;
	EVP_PKEY *pkey;
	struct dkim_body_hasher *body;
	char *names; /* the header list, owned */
};

static EVP_PKEY *
load_key(const char *pem, size_t len, enum dkim_alg *alg, struct auth_error *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		auth_error_set(err, AUTH_ESYNTAX, "cannot read the private key");
		return NULL;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		*alg = DKIM_ALG_RSA_SHA256;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*alg = DKIM_ALG_ED25519_SHA256;
	} else {
		EVP_PKEY_free(pkey);
		auth_error_set(err, AUTH_EINVAL, "the key is neither RSA nor Ed25519");
		return NULL;
	}
	return pkey;
}

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

struct dkim_signer *
dkim_signer_new(const char *pem, size_t pem_len, const struct dkim_sign_opts *o,
                struct auth_error *err)
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
	if (s->names == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		goto fail;
	}
	if ((s->pkey = load_key(pem, pem_len, &s->alg, err)) == NULL)
		goto fail;
	s->body = dkim_body_hasher_new(o->bcanon, EVP_sha256(), DKIM_BODY_NO_LIMIT);
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

/* ---- the h= list ---- */

static size_t
count_fields(const struct msg_headers *h, const char *name, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < msg_headers_count(h); i++) {
		const struct msg_field *f = msg_headers_get(h, i);

		n += f->name_len == len && strncasecmp(f->raw, name, len) == 0;
	}
	return n;
}

/* Fills names[] from the header list; returns how many, or -1. */
static long
sign_names(const struct dkim_signer *s, const struct msg_headers *h, struct dkim_name_view *names,
           struct auth_error *err)
{
	const char *p = s->names;
	size_t n = 0;
	bool from = false;

	while (*p != '\0') {
		size_t len = strcspn(p, ":"), times;

		if (len == 0 || len > 997 || strcspn(p, " \t\r\n;=") < len)
			return auth_error_set(err, AUTH_EINVAL, "bad header list");
		from |= len == 4 && strncasecmp(p, "from", 4) == 0;
		times = count_fields(h, p, len) + (s->o.oversign ? 1 : 0);
		for (; times > 0; times--) {
			if (n == DKIM_SIG_MAX_HEADERS)
				return auth_error_set(err, AUTH_ELIMIT,
				                      "too many header fields to sign");
			names[n].p = p;
			names[n++].len = len;
		}
		p += len + (p[len] == ':');
	}
	if (!from)
		return auth_error_set(err, AUTH_EINVAL, "the header list must include From");
	return (long)n;
}

/* ---- building the field ---- */

struct fold {
	struct buf b;
	size_t col;
};

/* Adds a token after a space (or directly, when space is false), or on a
 * new folded line when it would not fit. */
static int
fold_put(struct fold *f, const char *text, size_t len, bool space)
{
	int rc = 0;

	if (f->col + space + len > FOLD_WIDTH) {
		rc = buf_append(&f->b, "\r\n\t", 3);
		f->col = 8;
	} else if (space) {
		rc = buf_putc(&f->b, ' ');
		f->col++;
	}
	f->col += len;
	return rc < 0 ? -1 : buf_append(&f->b, text, len);
}

static int
fold_add(struct fold *f, const char *text, size_t len)
{
	return fold_put(f, text, len, true);
}

/* Adds "name=value;" (value a string, or the number n when NULL). */
static int
fold_tag(struct fold *f, const char *name, const char *value, unsigned long long n)
{
	char tag[DNS_NAME_MAX + DKIM_SIG_MAX_AUID + 32];
	int len = value != NULL ? snprintf(tag, sizeof(tag), "%s=%s;", name, value)
	                        : snprintf(tag, sizeof(tag), "%s=%llu;", name, n);

	if (len < 0 || (size_t)len >= sizeof(tag))
		return -1;
	return fold_add(f, tag, (size_t)len);
}

static int
fold_h(struct fold *f, const struct dkim_name_view *names, size_t n)
{
	char tok[1024];

	for (size_t i = 0; i < n; i++) {
		int len = snprintf(tok, sizeof(tok), "%s%.*s%s", i == 0 ? "h=" : "",
		                   (int)names[i].len, names[i].p, i + 1 == n ? ";" : ":");

		/* FWS is allowed around the colons of h= (§3.5), so a long list
		 * folds between names. */
		if (len < 0 || (size_t)len >= sizeof(tok) ||
		    fold_put(f, tok, (size_t)len, i == 0) < 0)
			return -1;
	}
	return 0;
}

/* Everything up to and including "b=". */
static int
build_field(const struct dkim_signer *s, const struct dkim_name_view *names, size_t n,
            const char *bh, struct fold *f)
{
	const struct dkim_sign_opts *o = &s->o;
	unsigned long long t = (unsigned long long)(o->now != 0 ? o->now : time(NULL));
	char c[32];

	snprintf(c, sizeof(c), "c=%s/%s;", dkim_canon_name(o->hcanon), dkim_canon_name(o->bcanon));
	f->col = 15;
	if (buf_puts(&f->b, "DKIM-Signature:") < 0 || fold_tag(f, "v", "1", 0) < 0 ||
	    fold_tag(f, "a", dkim_alg_name(s->alg), 0) < 0 || fold_add(f, c, strlen(c)) < 0 ||
	    fold_tag(f, "d", o->domain, 0) < 0 || fold_tag(f, "s", o->selector, 0) < 0 ||
	    (o->identity != NULL && fold_tag(f, "i", o->identity, 0) < 0) ||
	    fold_tag(f, "t", NULL, t) < 0 ||
	    (o->expire != 0 && fold_tag(f, "x", NULL, t + o->expire) < 0) ||
	    (o->body_length &&
	     fold_tag(f, "l", NULL, (unsigned long long)dkim_body_hasher_total(s->body)) < 0) ||
	    fold_h(f, names, n) < 0 || fold_tag(f, "bh", bh, 0) < 0 || fold_add(f, "b=", 2) < 0)
		return -1;
	return 0;
}

/* ---- the signature ---- */

static int
sign_data(const struct dkim_signer *s, const struct buf *data, unsigned char *sig, size_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	int ok = 0;

	if (ctx == NULL)
		return -1;
	if (s->alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 §3: PureEdDSA over the SHA-256 hash of the data. */
		ok = EVP_Digest(data->data, data->len, digest, &dlen, EVP_sha256(), NULL) == 1 &&
		     EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, len, digest, dlen) == 1;
	} else {
		ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, s->pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, len, (const unsigned char *)data->data, data->len) ==
		         1;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

static int
append_b(struct fold *f, const unsigned char *sig, size_t len)
{
	char b64[DKIM_SIG_MAX_B * 4 / 3 + 8];
	size_t n;

	if (len > DKIM_SIG_MAX_B)
		return -1;
	n = (size_t)EVP_EncodeBlock((unsigned char *)b64, sig, (int)len);
	/* Base64 may be folded anywhere (§3.5 b=): fill each line. */
	for (size_t off = 0, k; off < n; off += k) {
		size_t room = f->col < FOLD_WIDTH ? FOLD_WIDTH - f->col : 0;

		if (room < 8) {
			if (buf_append(&f->b, "\r\n\t", 3) < 0)
				return -1;
			f->col = 8;
			room = FOLD_WIDTH - 8;
		}
		k = n - off < room ? n - off : room;
		if (buf_append(&f->b, b64 + off, k) < 0)
			return -1;
		f->col += k;
	}
	return 0;
}

static int
finish_field(struct dkim_signer *s, const struct msg_headers *h, struct fold *f,
             struct auth_error *err)
{
	struct dkim_name_view names[DKIM_SIG_MAX_HEADERS];
	unsigned char md[EVP_MAX_MD_SIZE], sig[DKIM_SIG_MAX_B];
	char bh[EVP_MAX_MD_SIZE * 2];
	unsigned mdlen;
	size_t siglen = sizeof(sig);
	long n;
	struct buf data;
	int rc;

	if (dkim_body_hasher_final(s->body, md, &mdlen) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "body digest failed");
	EVP_EncodeBlock((unsigned char *)bh, md, (int)mdlen);
	if ((n = sign_names(s, h, names, err)) < 0)
		return -1;
	if (build_field(s, names, (size_t)n, bh, f) < 0)
		return auth_error_set(err, AUTH_ELIMIT, "signature field too long");
	buf_init(&data, DKIM_MAX_HEADER_DATA);
	rc = dkim_header_data(h, s->o.hcanon, names, (size_t)n, f->b.data, f->b.len, f->b.len, 0,
	                      &data);
	if (rc == 0)
		rc = sign_data(s, &data, sig, &siglen);
	buf_free(&data);
	if (rc < 0)
		return auth_error_set(err, AUTH_EINVAL, "signing failed");
	if (append_b(f, sig, siglen) < 0)
		return auth_error_set(err, AUTH_ELIMIT, "signature field too long");
	return 0;
}

int
dkim_signer_finish(struct dkim_signer *s, const struct msg_headers *h, char **field,
                   struct auth_error *err)
{
	struct fold f;

	buf_init(&f.b, FIELD_MAX);
	if (finish_field(s, h, &f, err) < 0 || (*field = buf_steal(&f.b)) == NULL) {
		buf_free(&f.b);
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
	free(s);
}
