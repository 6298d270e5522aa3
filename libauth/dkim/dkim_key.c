/*
 * dkim_key - see dkim_key.h.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "dkim_key.h"
#include "dkim_tag.h"

#define ED25519_KEY_LEN 32

/* Unknown names in h=, s= and t= are ignored (§3.6.1). */
static const char *
hash_element(const char *p, size_t len, void *ctx)
{
	struct dkim_key *k = ctx;

	if (dkim_view_eq(p, len, "sha1"))
		k->hash_sha1 = true;
	else if (dkim_view_eq(p, len, "sha256"))
		k->hash_sha256 = true;
	return NULL;
}

static const char *
service_element(const char *p, size_t len, void *ctx)
{
	struct dkim_key *k = ctx;

	if (dkim_view_eq(p, len, "*") || dkim_view_eq(p, len, "email"))
		k->service_email = true;
	return NULL;
}

static const char *
flag_element(const char *p, size_t len, void *ctx)
{
	struct dkim_key *k = ctx;

	if (dkim_view_eq(p, len, "y"))
		k->testing = true;
	else if (dkim_view_eq(p, len, "s"))
		k->strict = true;
	return NULL;
}

static EVP_PKEY *
rsa_from_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
	OSSL_DECODER_CTX *dctx;

	/* Failed decodings leave errors on this thread's OpenSSL queue. */
	ERR_clear_error();
	if (pkey != NULL) {
		if (p == der + len && EVP_PKEY_is_a(pkey, "RSA"))
			return pkey;
		EVP_PKEY_free(pkey);
		return NULL;
	}
	/* A bare PKCS#1 RSAPublicKey, as §3.6.1's wording has it. */
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "type-specific", "RSA",
	                                     EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	if (dctx == NULL)
		return NULL;
	p = der;
	if (OSSL_DECODER_from_data(dctx, &p, &len) != 1 || len != 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	ERR_clear_error();
	return pkey;
}

static const char *
parse_p(const struct dkim_tag *t, struct dkim_key *k)
{
	unsigned char der[DKIM_KEY_MAX_DER];
	long n = dkim_base64_decode(t->value, t->value_len, der, sizeof(der));

	if (n < 0)
		return "key syntax error";
	if (n == 0) {
		k->revoked = true;
		return NULL;
	}
	/* A key of a type we do not know cannot be read; dkim_key_check()
	 * reports it as the wrong key type. */
	if (!k->type_known)
		return NULL;
	if (k->type == DKIM_KEY_ED25519)
		k->pkey = n == ED25519_KEY_LEN
		              ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)n)
		              : NULL;
	else
		k->pkey = rsa_from_der(der, (size_t)n);
	if (k->pkey == NULL)
		return "key syntax error";
	k->bits = (unsigned)EVP_PKEY_get_bits(k->pkey);
	return NULL;
}

static void
parse_k(const struct dkim_tag *t, struct dkim_key *k)
{
	k->type = DKIM_KEY_RSA;
	k->type_known = true;
	if (t == NULL || dkim_view_eq(t->value, t->value_len, "rsa"))
		return;
	if (dkim_view_eq(t->value, t->value_len, "ed25519"))
		k->type = DKIM_KEY_ED25519;
	else
		k->type_known = false;
}

const char *
dkim_key_parse(const unsigned char *txt, size_t len, struct dkim_key *out, enum dkim_key_kind *kind)
{
	struct dkim_tag_list l;
	const struct dkim_tag *t;

	memset(out, 0, sizeof(*out));
	*kind = DKIM_KEY_NOT_DKIM;
	if (dkim_tag_parse((const char *)txt, len, &l) != DKIM_TAG_OK || l.count == 0)
		return "key syntax error";
	/* §3.6.1 v=: if present it MUST be the first tag and be "DKIM1"; a
	 * record that says otherwise is not a DKIM key. */
	t = dkim_tag_find(&l, "v");
	if (t != NULL &&
	    (t != &l.tags[0] || t->value_len != 5 || memcmp(t->value, "DKIM1", 5) != 0))
		return "key syntax error";
	*kind = DKIM_KEY_RECORD;
	if ((t = dkim_tag_find(&l, "h")) != NULL)
		(void)dkim_tag_each_element(t, hash_element, out);
	else
		out->hash_sha1 = out->hash_sha256 = true;
	if ((t = dkim_tag_find(&l, "s")) != NULL)
		(void)dkim_tag_each_element(t, service_element, out);
	else
		out->service_email = true;
	if ((t = dkim_tag_find(&l, "t")) != NULL)
		(void)dkim_tag_each_element(t, flag_element, out);
	parse_k(dkim_tag_find(&l, "k"), out);
	if ((t = dkim_tag_find(&l, "p")) == NULL)
		return "key syntax error";
	return parse_p(t, out);
}

/* True when the domain of i= is d= itself (the t=s test, §3.6.1). */
static bool
auid_domain_is_sdid(const struct dkim_sig *sig)
{
	const char *at = strrchr(sig->i, '@');

	return at != NULL && strcasecmp(at + 1, sig->d) == 0;
}

const char *
dkim_key_check(const struct dkim_key *k, const struct dkim_sig *sig)
{
	if (k->revoked)
		return "key revoked";
	if (!k->type_known || k->type != dkim_alg_keytype(sig->alg))
		return "inappropriate key algorithm";
	if (!(sig->alg == DKIM_ALG_RSA_SHA1 ? k->hash_sha1 : k->hash_sha256))
		return "inappropriate hash algorithm";
	if (!k->service_email)
		return "key not for email";
	if (k->strict && !auid_domain_is_sdid(sig))
		return "i= subdomain not allowed by key";
	return NULL;
}

void
dkim_key_clear(struct dkim_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}
