/*
 * signing - see signing.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "arc_seal.h"
#include "dkim_sign.h"
#include "signing.h"

struct sign_key {
	const struct config_sign *entry; /* the configuration's */
	struct dkim_sign_key *key;
};

struct signing_keys {
	size_t n;
	struct sign_key *sign;
	struct arc_sealer *sealer; /* NULL: no sealing */
};

struct signing {
	size_t n;
	struct dkim_signer *signer[];
};

static const char *
signing_pem(const struct keyring *kr, const char *path, size_t *len, struct auth_error *err)
{
	const char *pem = keyring_get(kr, path, len);

	if (pem == NULL)
		auth_error_set(err, AUTH_EINVAL,
		               "%s: not read at start (key files are read before privileges are "
		               "dropped; restart to use a new one)",
		               path);
	return pem;
}

static int
signing_keys_sealer(struct signing_keys *k, const struct policy_config *cfg,
                    const struct keyring *kr, struct auth_error *err)
{
	struct arc_seal_opts o = {.domain = cfg->arc_seal_domain,
	                          .selector = cfg->arc_seal_selector};
	const char *pem;
	size_t len;

	if (cfg->arc_seal_domain == NULL && cfg->arc_seal_selector == NULL &&
	    cfg->arc_seal_key == NULL)
		return 0;
	if (cfg->arc_seal_domain == NULL || cfg->arc_seal_selector == NULL ||
	    cfg->arc_seal_key == NULL)
		return auth_error_set(err, AUTH_EINVAL,
		                      "arc_seal_domain, arc_seal_selector and arc_seal_key go "
		                      "together");
	if ((pem = signing_pem(kr, cfg->arc_seal_key, &len, err)) == NULL)
		return -1;
	k->sealer = arc_sealer_new(pem, len, &o, err);
	return k->sealer != NULL ? 0 : -1;
}

/* Every entry, and the sealer (domain NULL), or the entries for domain. */
static struct signing_keys *
signing_keys_make(const struct policy_config *cfg, const struct keyring *kr, const char *domain,
                  struct auth_error *err)
{
	struct signing_keys *k = calloc(1, sizeof(*k));
	const char *pem;
	size_t i, len;

	if (k == NULL || (k->sign = calloc(cfg->ndkim_sign + 1, sizeof(*k->sign))) == NULL) {
		free(k);
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < cfg->ndkim_sign; i++) {
		if (domain != NULL && !config_sign_matches(&cfg->dkim_sign[i], domain))
			continue;
		if ((pem = signing_pem(kr, cfg->dkim_sign[i].keyfile, &len, err)) == NULL ||
		    (k->sign[k->n].key = dkim_sign_key_load(pem, len, err)) == NULL)
			goto fail;
		k->sign[k->n].entry = &cfg->dkim_sign[i];
		k->n++;
	}
	if (domain == NULL && signing_keys_sealer(k, cfg, kr, err) < 0)
		goto fail;
	return k;
fail:
	signing_keys_free(k);
	return NULL;
}

struct signing_keys *
signing_keys_new(const struct policy_config *cfg, const struct keyring *kr, struct auth_error *err)
{
	return signing_keys_make(cfg, kr, NULL, err);
}

struct signing_keys *
signing_keys_domain(const struct policy_config *cfg, const struct keyring *kr, const char *domain,
                    struct auth_error *err)
{
	return signing_keys_make(cfg, kr, domain, err);
}

void
signing_keys_free(struct signing_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++)
		dkim_sign_key_free(k->sign[i].key);
	free(k->sign);
	arc_sealer_free(k->sealer);
	free(k);
}

bool
signing_keys_sign(const struct signing_keys *k)
{
	return k != NULL && k->n > 0;
}

bool
signing_keys_seal(const struct signing_keys *k)
{
	return k != NULL && k->sealer != NULL;
}

/* d= for an entry: its domain, or the domain a "*." pattern is below. */
static const char *
signing_domain(const struct config_sign *e)
{
	return strncmp(e->domain, "*.", 2) == 0 ? e->domain + 2 : e->domain;
}

struct signing *
signing_start(const struct signing_keys *k, const char *domain, struct auth_error *err)
{
	struct signing *sg;
	size_t i, n = 0;

	auth_error_clear(err);
	for (i = 0; i < k->n; i++)
		n += config_sign_matches(k->sign[i].entry, domain);
	if (n == 0)
		return NULL;
	if ((sg = calloc(1, sizeof(*sg) + n * sizeof(sg->signer[0]))) == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < k->n; i++) {
		struct dkim_sign_opts o = {.domain = signing_domain(k->sign[i].entry),
		                           .selector = k->sign[i].entry->selector};

		if (!config_sign_matches(k->sign[i].entry, domain))
			continue;
		if ((sg->signer[sg->n] = dkim_signer_new_key(k->sign[i].key, &o, err)) == NULL) {
			signing_free(sg);
			return NULL;
		}
		sg->n++;
	}
	return sg;
}

void
signing_body(struct signing *sg, const char *chunk, size_t len)
{
	size_t i;

	for (i = 0; i < sg->n; i++)
		dkim_signer_body(sg->signer[i], chunk, len);
}

size_t
signing_count(const struct signing *sg)
{
	return sg != NULL ? sg->n : 0;
}

/* A complete "Name: value" field as a verdict header (value with its
 * leading space), copied into the arena. */
static int
signing_header(const char *field, struct arena *a, struct verdict_header *out)
{
	const char *colon = strchr(field, ':');

	if (colon == NULL ||
	    (out->name = arena_strndup(a, field, (size_t)(colon - field))) == NULL ||
	    (out->value = arena_strdup(a, colon + 1)) == NULL)
		return -1;
	return 0;
}

int
signing_finish(struct signing *sg, const struct msg_headers *h, struct arena *a,
               struct verdict_header *out, size_t *n, struct auth_error *err)
{
	size_t i;

	for (i = 0; i < sg->n; i++) {
		char *field = NULL;
		int rc = dkim_signer_finish(sg->signer[i], h, &field, err);

		if (rc == 0 && signing_header(field, a, &out[*n]) < 0)
			rc = auth_error_set(err, AUTH_ENOMEM, "out of per-message memory");
		free(field);
		if (rc < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

void
signing_free(struct signing *sg)
{
	size_t i;

	if (sg == NULL)
		return;
	for (i = 0; i < sg->n; i++)
		dkim_signer_free(sg->signer[i]);
	free(sg);
}

enum arc_seal_status
signing_seal(const struct signing_keys *k, const struct msg_headers *h,
             const unsigned char *body_hash, size_t body_hash_len, const char *authres,
             const struct arc_chain_result *chain, struct arena *a, struct verdict_header out[3],
             struct auth_error *err)
{
	struct arc_seal_input in = {h, body_hash, body_hash_len, authres, chain, 0};
	struct arc_seal_fields f;
	enum arc_seal_status st = arc_seal(k->sealer, &in, &f, err);

	if (st != ARC_SEALED)
		return st;
	if (signing_header(f.as, a, &out[0]) < 0 || signing_header(f.ams, a, &out[1]) < 0 ||
	    signing_header(f.aar, a, &out[2]) < 0) {
		auth_error_set(err, AUTH_ENOMEM, "out of per-message memory");
		st = ARC_SEAL_ERROR;
	}
	arc_seal_fields_free(&f);
	return st;
}
