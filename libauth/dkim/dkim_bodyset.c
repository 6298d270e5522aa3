/*
 * dkim_bodyset - see dkim_bodyset.h.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "dkim_bodyset.h"

struct hasher {
	enum dkim_canon canon;
	const EVP_MD *md;
	bool has_l;
	uint64_t l;
	struct dkim_body_hasher *h;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len;
};

struct dkim_bodyset {
	size_t n, cap;
	struct hasher *hashers;
	bool started;
};

struct dkim_bodyset *
dkim_bodyset_new(void)
{
	return calloc(1, sizeof(struct dkim_bodyset));
}

static bool
matches(const struct hasher *hs, enum dkim_canon c, const EVP_MD *md, bool has_l, uint64_t l)
{
	return hs->canon == c && hs->md == md && hs->has_l == has_l && (!has_l || hs->l == l);
}

static int
grow(struct dkim_bodyset *s)
{
	size_t cap = s->cap != 0 ? 2 * s->cap : 4;
	struct hasher *p;

	if (cap > DKIM_BODYSET_MAX)
		cap = DKIM_BODYSET_MAX;
	if (s->n == cap || (p = realloc(s->hashers, cap * sizeof(*p))) == NULL)
		return -1;
	s->hashers = p;
	s->cap = cap;
	return 0;
}

int
dkim_bodyset_add(struct dkim_bodyset *s, enum dkim_canon c, enum dkim_alg alg, bool has_l,
                 uint64_t l, size_t *idx)
{
	const EVP_MD *md = dkim_alg_md(alg);
	struct hasher *hs;

	for (size_t i = 0; i < s->n; i++)
		if (matches(&s->hashers[i], c, md, has_l, l)) {
			*idx = i;
			return 0;
		}
	if (s->started || (s->n == s->cap && grow(s) < 0))
		return -1;
	hs = &s->hashers[s->n];
	*hs = (struct hasher){.canon = c, .md = md, .has_l = has_l, .l = l};
	hs->h = dkim_body_hasher_new(c, md, has_l ? l : DKIM_BODY_NO_LIMIT);
	if (hs->h == NULL)
		return -1;
	*idx = s->n++;
	return 0;
}

void
dkim_bodyset_update(struct dkim_bodyset *s, const char *p, size_t n)
{
	s->started = true;
	for (size_t i = 0; i < s->n; i++)
		dkim_body_hasher_update(s->hashers[i].h, p, n);
}

int
dkim_bodyset_final(struct dkim_bodyset *s)
{
	int rc = 0;

	s->started = true;
	for (size_t i = 0; i < s->n; i++)
		if (dkim_body_hasher_final(s->hashers[i].h, s->hashers[i].digest,
		                           &s->hashers[i].digest_len) < 0)
			rc = -1;
	return rc;
}

const unsigned char *
dkim_bodyset_digest(const struct dkim_bodyset *s, size_t idx, unsigned *len)
{
	*len = s->hashers[idx].digest_len;
	return s->hashers[idx].digest;
}

uint64_t
dkim_bodyset_total(const struct dkim_bodyset *s, size_t idx)
{
	return dkim_body_hasher_total(s->hashers[idx].h);
}

void
dkim_bodyset_free(struct dkim_bodyset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		dkim_body_hasher_free(s->hashers[i].h);
	free(s->hashers);
	free(s);
}
