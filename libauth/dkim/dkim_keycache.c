/*
 * dkim_keycache - see dkim_keycache.h.
 *
 * A small array searched linearly: the capacity is small and a look-up
 * compares a 64-bit hash first, so a scan costs little next to the parse it
 * saves, and there is no second structure to keep consistent.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_keycache.h"

struct entry {
	unsigned char *rec; /* the record's bytes; NULL: slot unused */
	size_t len;
	uint64_t hash;
	uint64_t used;       /* tick of the last use, for LRU */
	struct dkim_key key; /* holds one EVP_PKEY reference of the cache's */
};

struct dkim_keycache {
	size_t capacity; /* fixed at creation */
	/* lock guards everything below it: the entries (their bytes, keys and
	 * ticks), tick and the counters. */
	pthread_mutex_t lock;
	struct entry *entries;
	uint64_t tick;
	unsigned long hits, misses;
};

/* FNV-1a: the hash only spares most memcmp calls; equality is memcmp. */
static uint64_t
record_hash(const unsigned char *p, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

struct dkim_keycache *
dkim_keycache_new(size_t capacity)
{
	struct dkim_keycache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (capacity < 1)
		capacity = 1;
	if (capacity > DKIM_KEYCACHE_MAX_ENTRIES)
		capacity = DKIM_KEYCACHE_MAX_ENTRIES;
	c->capacity = capacity;
	c->entries = calloc(capacity, sizeof(*c->entries));
	if (c->entries == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->entries);
		free(c);
		return NULL;
	}
	return c;
}

static void
entry_clear(struct entry *e)
{
	free(e->rec);
	dkim_key_clear(&e->key);
	memset(e, 0, sizeof(*e));
}

void
dkim_keycache_free(struct dkim_keycache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->capacity; i++)
		entry_clear(&c->entries[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->entries);
	free(c);
}

/* Under the lock. */
static struct entry *
find(struct dkim_keycache *c, const unsigned char *txt, size_t len, uint64_t hash)
{
	for (size_t i = 0; i < c->capacity; i++) {
		struct entry *e = &c->entries[i];

		if (e->rec != NULL && e->hash == hash && e->len == len &&
		    memcmp(e->rec, txt, len) == 0)
			return e;
	}
	return NULL;
}

/* Under the lock: an unused slot, else the least recently used one. */
static struct entry *
victim(struct dkim_keycache *c)
{
	struct entry *v = &c->entries[0];

	for (size_t i = 0; i < c->capacity; i++) {
		struct entry *e = &c->entries[i];

		if (e->rec == NULL)
			return e;
		if (e->used < v->used)
			v = e;
	}
	return v;
}

/* Copies the entry's key to out with a reference of out's own. */
static bool
lookup(struct dkim_keycache *c, const unsigned char *txt, size_t len, uint64_t hash,
       struct dkim_key *out)
{
	struct entry *e;
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	e = find(c, txt, len, hash);
	if (e != NULL && EVP_PKEY_up_ref(e->key.pkey) == 1) {
		*out = e->key;
		e->used = ++c->tick;
		c->hits++;
		hit = true;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Remembers a freshly parsed key.  Another thread may have stored the same
 * record meanwhile; then the entry is left as it is.  Running short of
 * memory only means the key is not remembered. */
static void
store(struct dkim_keycache *c, const unsigned char *txt, size_t len, uint64_t hash,
      const struct dkim_key *k)
{
	unsigned char *copy = malloc(len);
	struct entry *e, old = {0};

	if (copy == NULL)
		return;
	memcpy(copy, txt, len);
	if (EVP_PKEY_up_ref(k->pkey) != 1) {
		free(copy);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (find(c, txt, len, hash) != NULL) {
		pthread_mutex_unlock(&c->lock);
		free(copy);
		EVP_PKEY_free(k->pkey);
		return;
	}
	e = victim(c);
	old = *e;
	e->rec = copy;
	e->len = len;
	e->hash = hash;
	e->used = ++c->tick;
	e->key = *k;
	pthread_mutex_unlock(&c->lock);
	/* The evicted entry is no longer reachable: release it unlocked. */
	entry_clear(&old);
}

const char *
dkim_keycache_parse(struct dkim_keycache *c, const unsigned char *txt, size_t len,
                    struct dkim_key *out, enum dkim_key_kind *kind)
{
	const char *reason;
	uint64_t hash;

	if (c == NULL || len > DKIM_KEYCACHE_MAX_RECORD)
		return dkim_key_parse(txt, len, out, kind);
	hash = record_hash(txt, len);
	if (lookup(c, txt, len, hash, out)) {
		*kind = DKIM_KEY_RECORD;
		return NULL;
	}
	reason = dkim_key_parse(txt, len, out, kind);
	if (reason == NULL && *kind == DKIM_KEY_RECORD && out->pkey != NULL)
		store(c, txt, len, hash, out);
	return reason;
}

void
dkim_keycache_stats(struct dkim_keycache *c, unsigned long *hits, unsigned long *misses)
{
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}
