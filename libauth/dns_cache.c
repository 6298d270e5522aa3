/*
 * dns_cache - see dns_cache.h.
 *
 * The table is split into shards by a hash of (name, type); each shard has
 * its own lock, hash chains, LRU list and share of max_entries.  Small
 * caches (under CACHE_SHARD_MIN entries per shard) use fewer shards, so a
 * cache of a few entries evicts in exact LRU order; large ones evict the
 * least recently used entry of the shard that is full.
 *
 * A question that misses leaves a pending entry holding a struct flight;
 * later askers of the same question wait on the shard's condition variable
 * for that flight instead of asking the backend.  The backend is always
 * called without any lock held.  A flight is freed by whichever of its
 * owner and waiters leaves last.
 *
 * A prefetched flight is not started until a background thread takes its
 * job.  When every thread is held up by look-ups that stall, the queue
 * waits; an asker who finds the flight not yet started asks the backend
 * itself rather than wait behind them, and the job, when a thread reaches
 * it, finds the flight claimed and is dropped.  The job holds a reference
 * to the flight (not to the entry, which its lander may free) for that.
 */
#include "autoconf.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"

#define CACHE_DEFAULT_MAX_ENTRIES 65536
#define CACHE_DEFAULT_MAX_TTL 86400
#define CACHE_DEFAULT_MAX_NEG_TTL 3600
#define CACHE_SHARDS_MAX 16
#define CACHE_SHARD_MIN 64
#define CACHE_BUCKETS_MAX (1u << 16)
#define CACHE_DEFAULT_PREFETCH_QUEUE 1024
#define CACHE_PREFETCH_THREADS_MAX 256

struct flight {
	const struct dns_answer *answer; /* set when done, one reference per holder */
	int started; /* someone asks the backend: the asker, or the job's thread */
	int done;
	int rc;
	struct auth_error err;
	unsigned holders; /* the lander, its waiters, and a prefetch job */
};

struct centry {
	struct centry *next;                /* hash chain */
	struct centry *lru_prev, *lru_next; /* only while cached */
	uint32_t hash;
	enum dns_type type;
	const struct dns_answer *answer; /* NULL while in flight */
	struct flight *flight;           /* non-NULL while in flight */
	time_t expires;
	char *name; /* stored right after the struct, in the same allocation */
};

struct shard {
	pthread_mutex_t lock;  /* guards every field below */
	pthread_cond_t landed; /* a flight of this shard is done */
	struct centry **buckets;
	size_t nbuckets;
	struct centry lru; /* sentinel: lru.lru_next is the most recently used */
	size_t count, cap;
	unsigned long hits, misses, evictions;
};

/* A question for a background thread: its pending entry is in the cache.
 * entry may be used only by whoever claims flight. */
struct job {
	struct job *next;
	struct shard *shard;
	struct centry *entry;
	struct flight *flight; /* one of its holders */
};

struct pool {
	pthread_mutex_t lock; /* guards every field below */
	pthread_cond_t work;  /* a job was queued, or stop was set */
	struct job *head, *tail;
	size_t queued, reserved;
	pthread_t threads[CACHE_PREFETCH_THREADS_MAX];
	unsigned nthreads, idle;
	bool stop;
	unsigned long prefetches, dropped;
};

struct dns_cache {
	struct dns_resolver base; /* first: the resolver is the cache */
	struct dns_resolver *backend;
	struct dns_cache_opts opts; /* read-only after creation */
	struct pool pool;
	size_t nshards;
	struct shard shards[];
};

static int cache_query(struct dns_resolver *r, const char *name, enum dns_type type,
                       const struct dns_answer **out, struct auth_error *err);
static void cache_free(struct dns_resolver *r);
static void cache_prefetch(struct dns_resolver *r, const char *name, enum dns_type type);

static const struct dns_resolver_ops cache_ops = {
    .query = cache_query,
    .free = cache_free,
    .prefetch = cache_prefetch,
};

static time_t
cache_now(const struct dns_cache *c)
{
	struct timespec ts;

	if (c->opts.now != NULL)
		return c->opts.now(c->opts.now_ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static uint32_t
cache_hash(const char *name, enum dns_type type)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return (h ^ (uint32_t)type) * 16777619u;
}

static size_t
pow2_at_least(size_t n, size_t max)
{
	size_t p = 16;

	while (p < n && p < max)
		p *= 2;
	return p;
}

static int
shard_init(struct shard *s, size_t cap)
{
	s->cap = cap;
	s->nbuckets = pow2_at_least(cap, CACHE_BUCKETS_MAX);
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (s->buckets == NULL)
		return -1;
	s->lru.lru_next = s->lru.lru_prev = &s->lru;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s->buckets);
		return -1;
	}
	if (pthread_cond_init(&s->landed, NULL) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s->buckets);
		return -1;
	}
	return 0;
}

static void
shard_destroy(struct shard *s)
{
	size_t i;
	struct centry *e, *next;

	for (i = 0; i < s->nbuckets; i++) {
		for (e = s->buckets[i]; e != NULL; e = next) {
			next = e->next;
			dns_answer_release(e->answer);
			free(e);
		}
	}
	free(s->buckets);
	pthread_cond_destroy(&s->landed);
	pthread_mutex_destroy(&s->lock);
}

static void
cache_set_opts(struct dns_cache_opts *o, const struct dns_cache_opts *in)
{
	if (in != NULL)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->max_entries == 0)
		o->max_entries = CACHE_DEFAULT_MAX_ENTRIES;
	if (o->max_ttl == 0)
		o->max_ttl = CACHE_DEFAULT_MAX_TTL;
	if (o->max_negative_ttl == 0)
		o->max_negative_ttl = CACHE_DEFAULT_MAX_NEG_TTL;
	if (o->prefetch_queue == 0)
		o->prefetch_queue = CACHE_DEFAULT_PREFETCH_QUEUE;
	if (o->prefetch_threads > CACHE_PREFETCH_THREADS_MAX)
		o->prefetch_threads = CACHE_PREFETCH_THREADS_MAX;
}

struct dns_resolver *
dns_cache_new(struct dns_resolver *backend, const struct dns_cache_opts *opts,
              struct auth_error *err)
{
	struct dns_cache_opts o;
	struct dns_cache *c;
	size_t n, i;

	/* dns_cache_new(dns_ldns_new(...), ...) must not crash when the
	 * backend could not be made; its own error detail is kept. */
	if (backend == NULL) {
		if (err != NULL && err->code == AUTH_OK)
			auth_error_set(err, AUTH_EINVAL, "no resolver to cache");
		return NULL;
	}
	cache_set_opts(&o, opts);
	n = o.max_entries / CACHE_SHARD_MIN;
	n = n < 1 ? 1 : n > CACHE_SHARDS_MAX ? CACHE_SHARDS_MAX : n;
	c = calloc(1, sizeof(*c) + n * sizeof(c->shards[0]));
	if (c == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	c->base.ops = &cache_ops;
	c->backend = backend;
	c->opts = o;
	if (pthread_mutex_init(&c->pool.lock, NULL) != 0 ||
	    pthread_cond_init(&c->pool.work, NULL) != 0) {
		free(c);
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		size_t cap = o.max_entries / n + (i < o.max_entries % n ? 1 : 0);

		if (shard_init(&c->shards[i], cap) < 0)
			break;
		c->nshards++;
	}
	if (c->nshards < n) {
		c->backend = NULL; /* still the caller's when creation fails */
		cache_free(&c->base);
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	return &c->base;
}

static void pool_stop(struct dns_cache *c);

static void
cache_free(struct dns_resolver *r)
{
	struct dns_cache *c = (struct dns_cache *)r;
	size_t i;

	pool_stop(c);
	for (i = 0; i < c->nshards; i++)
		shard_destroy(&c->shards[i]);
	pthread_cond_destroy(&c->pool.work);
	pthread_mutex_destroy(&c->pool.lock);
	dns_resolver_free(c->backend);
	free(c);
}

void
dns_cache_get_stats(struct dns_resolver *r, struct dns_cache_stats *out)
{
	struct dns_cache *c = (struct dns_cache *)r;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		out->hits += s->hits;
		out->misses += s->misses;
		out->evictions += s->evictions;
		out->entries += s->count;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_lock(&c->pool.lock);
	out->prefetches = c->pool.prefetches;
	out->prefetches_dropped = c->pool.dropped;
	pthread_mutex_unlock(&c->pool.lock);
}

struct dns_resolver *
dns_cache_backend(struct dns_resolver *r)
{
	return ((struct dns_cache *)r)->backend;
}

/* ---- the table; every function here runs with the shard locked ---- */

static struct centry **
shard_slot(struct shard *s, uint32_t hash, const char *name, enum dns_type type)
{
	struct centry **pp = &s->buckets[hash & (s->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == hash && (*pp)->type == type && strcmp((*pp)->name, name) == 0)
			return pp;
	return pp;
}

static void
lru_unlink(struct centry *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void
lru_push_front(struct shard *s, struct centry *e)
{
	e->lru_next = s->lru.lru_next;
	e->lru_prev = &s->lru;
	s->lru.lru_next->lru_prev = e;
	s->lru.lru_next = e;
}

/* Removes a cached (not in-flight) entry. */
static void
shard_remove(struct shard *s, struct centry *e)
{
	struct centry **pp = shard_slot(s, e->hash, e->name, e->type);

	*pp = e->next;
	lru_unlink(e);
	s->count--;
	dns_answer_release(e->answer);
	free(e);
}

static void
shard_evict(struct shard *s)
{
	while (s->count > s->cap && s->lru.lru_prev != &s->lru) {
		shard_remove(s, s->lru.lru_prev);
		s->evictions++;
	}
}

/* Drops a reference to f; the last holder frees it. */
static void
flight_leave(struct flight *f)
{
	if (--f->holders == 0) {
		dns_answer_release(f->answer);
		free(f);
	}
}

/* ---- answering ---- */

static uint32_t
cache_ttl(const struct dns_cache *c, const struct dns_answer *a)
{
	switch (a->status) {
	case DNS_RECORDS:
		return a->ttl < c->opts.max_ttl ? a->ttl : c->opts.max_ttl;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		return a->ttl < c->opts.max_negative_ttl ? a->ttl : c->opts.max_negative_ttl;
	case DNS_TEMPFAIL:
		break;
	}
	return c->opts.tempfail_ttl;
}

/* Waits for e's flight and takes its result.  Called and returns locked. */
static int
cache_wait(struct shard *s, struct centry *e, const struct dns_answer **out, struct auth_error *err)
{
	struct flight *f = e->flight;
	int rc;

	f->holders++;
	s->hits++;
	while (!f->done)
		pthread_cond_wait(&s->landed, &s->lock);
	rc = f->rc;
	if (rc == 0)
		*out = dns_answer_retain(f->answer);
	else if (err != NULL)
		*err = f->err;
	flight_leave(f);
	return rc;
}

/* Lands the flight of e with the backend's result.  Called locked. */
static void
cache_land(struct dns_cache *c, struct shard *s, struct centry *e, int rc,
           const struct dns_answer *a, const struct auth_error *err)
{
	struct flight *f = e->flight;
	uint32_t ttl = rc == 0 ? cache_ttl(c, a) : 0;

	f->done = 1;
	f->rc = rc;
	f->answer = rc == 0 ? dns_answer_retain(a) : NULL;
	if (rc != 0 && err != NULL)
		f->err = *err;
	e->flight = NULL;
	if (ttl > 0) {
		e->answer = dns_answer_retain(a);
		e->expires = cache_now(c) + (time_t)ttl;
		lru_push_front(s, e);
		s->count++;
		shard_evict(s);
	} else {
		*shard_slot(s, e->hash, e->name, e->type) = e->next;
		free(e);
	}
	pthread_cond_broadcast(&s->landed);
	flight_leave(f);
}

/* Starts a flight for name/type; NULL when out of memory.  Called locked. */
static struct centry *
cache_launch(struct shard *s, struct centry **slot, uint32_t hash, const char *name,
             enum dns_type type)
{
	size_t len = strlen(name) + 1;
	struct centry *e = calloc(1, sizeof(*e) + len);
	struct flight *f = calloc(1, sizeof(*f));

	if (e == NULL || f == NULL) {
		free(e);
		free(f);
		return NULL;
	}
	e->name = (char *)(e + 1);
	memcpy(e->name, name, len);
	e->hash = hash;
	e->type = type;
	e->flight = f;
	f->holders = 1;
	f->started = 1;
	e->next = *slot;
	*slot = e;
	s->misses++;
	return e;
}

/* Asks the backend for e, whose flight the caller started, and lands it. */
static int
cache_ask(struct dns_cache *c, struct shard *s, struct centry *e, const struct dns_answer **out,
          struct auth_error *err)
{
	struct auth_error berr;
	int rc;

	auth_error_clear(&berr);
	rc = c->backend->ops->query(c->backend, e->name, e->type, out, &berr);
	pthread_mutex_lock(&s->lock);
	cache_land(c, s, e, rc, *out, &berr);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0 && err != NULL)
		*err = berr;
	return rc;
}

static int
cache_query(struct dns_resolver *r, const char *name, enum dns_type type,
            const struct dns_answer **out, struct auth_error *err)
{
	struct dns_cache *c = (struct dns_cache *)r;
	uint32_t hash = cache_hash(name, type);
	struct shard *s = &c->shards[hash % c->nshards];
	struct centry **slot, *e;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&s->lock);
	slot = shard_slot(s, hash, name, type);
	e = *slot;
	if (e != NULL && e->flight != NULL && !e->flight->started) {
		/* Still queued behind other prefetches: ask now. */
		e->flight->started = 1;
		pthread_mutex_unlock(&s->lock);
		return cache_ask(c, s, e, out, err);
	}
	if (e != NULL && e->flight != NULL) {
		rc = cache_wait(s, e, out, err);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	if (e != NULL && cache_now(c) < e->expires) {
		s->hits++;
		lru_unlink(e);
		lru_push_front(s, e);
		*out = dns_answer_retain(e->answer);
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (e != NULL) {
		shard_remove(s, e);
		slot = shard_slot(s, hash, name, type);
	}
	e = cache_launch(s, slot, hash, name, type);
	pthread_mutex_unlock(&s->lock);
	if (e == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	return cache_ask(c, s, e, out, err);
}

/* ---- prefetching ---- */

/* Whether the job's flight is still unclaimed, claiming it if so; the
 * job's reference to the flight is dropped either way. */
static bool
job_claim(struct job *j)
{
	struct shard *s = j->shard;
	bool mine;

	pthread_mutex_lock(&s->lock);
	mine = !j->flight->started;
	j->flight->started = 1;
	flight_leave(j->flight);
	pthread_mutex_unlock(&s->lock);
	return mine;
}

/* Asks the backend for a job's pending entry and lands its flight, unless
 * an asker got there first. */
static void
cache_fetch(struct dns_cache *c, struct job *j)
{
	const struct dns_answer *a = NULL;

	if (!job_claim(j))
		return;
	(void)cache_ask(c, j->shard, j->entry, &a, NULL);
	dns_answer_release(a);
}

/* Lands a question that will not be asked: nobody may wait forever. */
static void
cache_abandon(struct dns_cache *c, struct job *j)
{
	const struct dns_answer *a;
	struct auth_error err;

	if (!job_claim(j))
		return;
	a = dns_answer_empty(DNS_TEMPFAIL, j->entry->name, 0, "shutting down");
	auth_error_set(&err, AUTH_ENOMEM, "out of memory");
	pthread_mutex_lock(&j->shard->lock);
	cache_land(c, j->shard, j->entry, a != NULL ? 0 : -1, a, &err);
	pthread_mutex_unlock(&j->shard->lock);
	dns_answer_release(a);
}

static void *
pool_worker(void *arg)
{
	struct dns_cache *c = arg;
	struct pool *p = &c->pool;
	struct job *j;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->head == NULL && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
		}
		if (p->head == NULL)
			break;
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		cache_fetch(c, j);
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Takes a place in the queue, starting a thread when none is idle.
 * Called with the pool locked; false when there is no room. */
static bool
pool_reserve(struct dns_cache *c)
{
	struct pool *p = &c->pool;
	sigset_t all, old;

	if (p->stop || p->queued + p->reserved >= c->opts.prefetch_queue)
		return false;
	if (p->idle <= p->queued + p->reserved && p->nthreads < c->opts.prefetch_threads) {
		/* Threads of a library must not take the caller's signals. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&p->threads[p->nthreads], NULL, pool_worker, c) == 0)
			p->nthreads++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (p->nthreads == 0)
		return false;
	p->reserved++;
	return true;
}

static void
pool_push(struct pool *p, struct job *j)
{
	pthread_mutex_lock(&p->lock);
	p->reserved--;
	if (j != NULL) {
		if (p->tail != NULL)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		p->prefetches++;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
}

static void
cache_prefetch(struct dns_resolver *r, const char *name, enum dns_type type)
{
	struct dns_cache *c = (struct dns_cache *)r;
	uint32_t hash = cache_hash(name, type);
	struct shard *s = &c->shards[hash % c->nshards];
	struct job *j = NULL;
	struct centry **slot, *e;
	bool room;

	if (c->opts.prefetch_threads == 0)
		return;
	pthread_mutex_lock(&c->pool.lock);
	room = pool_reserve(c);
	if (!room)
		c->pool.dropped++;
	pthread_mutex_unlock(&c->pool.lock);
	if (!room)
		return;
	pthread_mutex_lock(&s->lock);
	slot = shard_slot(s, hash, name, type);
	e = *slot;
	if (e != NULL && e->flight == NULL && cache_now(c) >= e->expires) {
		shard_remove(s, e);
		slot = shard_slot(s, hash, name, type);
		e = NULL;
	}
	/* Already known or on its way: nothing to do. */
	if (e == NULL && (j = calloc(1, sizeof(*j))) != NULL &&
	    (j->entry = cache_launch(s, slot, hash, name, type)) == NULL) {
		free(j);
		j = NULL;
	}
	if (j != NULL) {
		/* Started when a thread or an asker claims it. */
		j->shard = s;
		j->flight = j->entry->flight;
		j->flight->started = 0;
		j->flight->holders++;
	}
	pthread_mutex_unlock(&s->lock);
	pool_push(&c->pool, j);
}

static void
pool_stop(struct dns_cache *c)
{
	struct pool *p = &c->pool;
	struct job *j, *left;
	unsigned i;

	pthread_mutex_lock(&p->lock);
	p->stop = true;
	left = p->head;
	p->head = p->tail = NULL;
	p->queued = 0;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (; left != NULL; left = j) {
		j = left->next;
		cache_abandon(c, left);
		free(left);
	}
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
}
