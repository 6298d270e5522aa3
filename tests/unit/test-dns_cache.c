/*
 * test-dns_cache - the cache keeps answers for their (capped) TTL, caches
 * negative answers, forgets failures unless told, evicts the least
 * recently used entry, and coalesces concurrent identical questions.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dns_cache.h"
#include "dns_zone.h"
#include "tap.h"

static const char zone_text[] = "@ 3600 IN SOA ns h 1 2 3 4 120\n"
                                "short 60 IN A 192.0.2.1\n"
                                "long 100000 IN A 192.0.2.2\n"
                                "zero 0 IN A 192.0.2.3\n"
                                "a 600 IN TXT \"a\"\n"
                                "b 600 IN TXT \"b\"\n"
                                "c 600 IN TXT \"c\"\n"
                                "d 600 IN TXT \"d\"\n";

/* A question for stall_name waits until the test lets it go (or 3 s). */
static pthread_mutex_t stall_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the two below */
static pthread_cond_t stall_cond = PTHREAD_COND_INITIALIZER;
static int stall_released;
static const char *stall_name;
static atomic_int stall_done;

static void
stall_wait(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	pthread_mutex_lock(&stall_lock);
	while (!stall_released && pthread_cond_timedwait(&stall_cond, &stall_lock, &until) == 0)
		;
	pthread_mutex_unlock(&stall_lock);
	atomic_store(&stall_done, 1);
}

/* A backend in front of a zone that is slow and counts what reaches it. */
struct slow {
	struct dns_resolver base;
	struct dns_resolver *zone;
	atomic_ulong calls;
	atomic_ulong inflight, max_inflight; /* questions being answered at once */
	long delay_ns;
};

static int
slow_query(struct dns_resolver *r, const char *name, enum dns_type type,
           const struct dns_answer **out, struct auth_error *err)
{
	struct slow *s = (struct slow *)r;
	struct timespec ts = {0, s->delay_ns};

	unsigned long now = atomic_fetch_add(&s->inflight, 1) + 1, max;

	atomic_fetch_add(&s->calls, 1);
	while (now > (max = atomic_load(&s->max_inflight)) &&
	       !atomic_compare_exchange_weak(&s->max_inflight, &max, now))
		;
	if (s->delay_ns > 0)
		nanosleep(&ts, NULL);
	if (stall_name != NULL && strcmp(name, stall_name) == 0)
		stall_wait();
	atomic_fetch_sub(&s->inflight, 1);
	if (strcmp(name, "oom.example.com") == 0)
		return auth_error_set(err, AUTH_ENOMEM, "backend out of memory");
	return dns_query(s->zone, name, type, out, err);
}

/* The last freed backend's count of questions: the cache frees its
 * backend with itself, and some checks count what was asked until then. */
static unsigned long freed_calls;

static void
slow_free(struct dns_resolver *r)
{
	struct slow *s = (struct slow *)r;

	freed_calls = atomic_load(&s->calls);
	dns_resolver_free(s->zone);
	free(s);
}

static const struct dns_resolver_ops slow_ops = {.query = slow_query, .free = slow_free};

static time_t fake_now;

static time_t
fake_clock(void *ctx)
{
	return *(time_t *)ctx;
}

static struct dns_resolver *
make_cache(struct slow **backend, long delay_ns, struct dns_cache_opts *opts, const char *fail)
{
	struct auth_error err;
	struct slow *s = calloc(1, sizeof(*s));
	struct dns_resolver *c;

	s->base.ops = &slow_ops;
	s->delay_ns = delay_ns;
	s->zone = dns_zone_new(&err);
	if (dns_zone_load_string(s->zone, zone_text, "example.com", &err) < 0 ||
	    (fail != NULL && dns_zone_add_fail(s->zone, fail, &err) < 0)) {
		diag("zone: %s", err.msg);
		exit(1);
	}
	atomic_init(&s->calls, 0);
	atomic_init(&s->inflight, 0);
	atomic_init(&s->max_inflight, 0);
	opts->now = fake_clock;
	opts->now_ctx = &fake_now;
	c = dns_cache_new(&s->base, opts, &err);
	*backend = s;
	return c;
}

/* Asks name/type and returns the answer's status; -1 on error. */
static int
ask(struct dns_resolver *c, const char *name, enum dns_type type)
{
	const struct dns_answer *a;
	struct auth_error err;
	int st;

	if (dns_query(c, name, type, &a, &err) < 0)
		return -1;
	st = (int)a->status;
	dns_answer_release(a);
	return st;
}

static void
test_expiry(void)
{
	struct dns_cache_opts o = {0};
	struct slow *s;
	struct dns_resolver *c;
	struct dns_cache_stats st;

	fake_now = 1000;
	c = make_cache(&s, 0, &o, NULL);
	is_int(ask(c, "short.example.com", DNS_T_A), DNS_RECORDS, "first ask");
	is_int(ask(c, "SHORT.example.com.", DNS_T_A), DNS_RECORDS, "same question, other spelling");
	is_int(atomic_load(&s->calls), 1, "second ask answered from the cache");
	fake_now = 1059;
	ask(c, "short.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 1, "still cached 1 s before the TTL ends");
	fake_now = 1060;
	ask(c, "short.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 2, "asked again when the TTL ends");
	ask(c, "short.example.com", DNS_T_AAAA);
	is_int(atomic_load(&s->calls), 3, "another type is another question");
	ask(c, "zero.example.com", DNS_T_A);
	ask(c, "zero.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 5, "TTL 0 is never cached");
	dns_cache_get_stats(c, &st);
	is_int(st.hits, 2, "stats: hits");
	is_int(st.misses, 5, "stats: misses");
	is_int(st.entries, 2, "stats: entries (short A and AAAA)");
	is_int(st.evictions, 0, "stats: no evictions");
	dns_resolver_free(c);
}

static void
test_caps_and_negative(void)
{
	struct dns_cache_opts o = {.max_ttl = 100, .max_negative_ttl = 50};
	struct slow *s;
	struct dns_resolver *c;

	fake_now = 0;
	c = make_cache(&s, 0, &o, NULL);
	ask(c, "long.example.com", DNS_T_A);
	fake_now = 99;
	ask(c, "long.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 1, "cached within max_ttl");
	fake_now = 100;
	ask(c, "long.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 2, "TTL capped at max_ttl");

	is_int(ask(c, "nope.example.com", DNS_T_A), DNS_NXDOMAIN, "NXDOMAIN answered");
	fake_now = 149;
	is_int(ask(c, "nope.example.com", DNS_T_A), DNS_NXDOMAIN, "NXDOMAIN from the cache");
	is_int(atomic_load(&s->calls), 3, "NXDOMAIN cached");
	fake_now = 150;
	ask(c, "nope.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 4, "negative TTL 120 capped at max_negative_ttl 50");
	is_int(ask(c, "a.example.com", DNS_T_A), DNS_NODATA, "NODATA answered");
	is_int(ask(c, "a.example.com", DNS_T_A), DNS_NODATA, "NODATA from the cache");
	is_int(atomic_load(&s->calls), 5, "NODATA cached");
	dns_resolver_free(c);

	o = (struct dns_cache_opts){.max_negative_ttl = 1000};
	fake_now = 0;
	c = make_cache(&s, 0, &o, NULL);
	ask(c, "nope.example.com", DNS_T_A);
	fake_now = 119;
	ask(c, "nope.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 1, "negative answer kept for the SOA minimum");
	fake_now = 120;
	ask(c, "nope.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 2, "and no longer (RFC 2308)");
	dns_resolver_free(c);
}

static void
test_tempfail(void)
{
	struct dns_cache_opts o = {0};
	struct slow *s;
	struct dns_resolver *c;
	struct auth_error err;
	const struct dns_answer *a;

	fake_now = 0;
	c = make_cache(&s, 0, &o, "short.example.com");
	is_int(ask(c, "short.example.com", DNS_T_A), DNS_TEMPFAIL, "failure answered");
	is_int(ask(c, "short.example.com", DNS_T_A), DNS_TEMPFAIL, "failure again");
	is_int(atomic_load(&s->calls), 2, "failures not cached by default");
	is_int(dns_query(c, "oom.example.com", DNS_T_A, &a, &err), -1, "backend error passed on");
	is_str(err.msg, "backend out of memory", "backend error detail passed on");
	is_int(dns_query(c, "oom.example.com", DNS_T_A, &a, &err), -1, "and not cached");
	is_int(atomic_load(&s->calls), 4, "error asked twice");
	dns_resolver_free(c);

	o = (struct dns_cache_opts){.tempfail_ttl = 10};
	c = make_cache(&s, 0, &o, "short.example.com");
	ask(c, "short.example.com", DNS_T_A);
	fake_now = 9;
	ask(c, "short.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 1, "failure cached for tempfail_ttl");
	fake_now = 10;
	ask(c, "short.example.com", DNS_T_A);
	is_int(atomic_load(&s->calls), 2, "and asked again after it");
	dns_resolver_free(c);
}

static void
test_eviction(void)
{
	struct dns_cache_opts o = {.max_entries = 3};
	struct dns_cache_stats st;
	struct slow *s;
	struct dns_resolver *c;

	fake_now = 0;
	c = make_cache(&s, 0, &o, NULL);
	ask(c, "a.example.com", DNS_T_TXT);
	ask(c, "b.example.com", DNS_T_TXT);
	ask(c, "c.example.com", DNS_T_TXT);
	ask(c, "a.example.com", DNS_T_TXT); /* a is now the most recent */
	ask(c, "d.example.com", DNS_T_TXT); /* b, the least recent, goes */
	dns_cache_get_stats(c, &st);
	is_int(st.evictions, 1, "one eviction at max_entries");
	is_int(st.entries, 3, "entries stay at max_entries");
	ask(c, "a.example.com", DNS_T_TXT);
	ask(c, "c.example.com", DNS_T_TXT);
	ask(c, "d.example.com", DNS_T_TXT);
	is_int(atomic_load(&s->calls), 4, "a, c and d still cached");
	ask(c, "b.example.com", DNS_T_TXT);
	is_int(atomic_load(&s->calls), 5, "b was the one evicted");
	dns_cache_get_stats(c, &st);
	is_int(st.evictions, 2, "asking b again evicted the next least recent");
	ask(c, "c.example.com", DNS_T_TXT);
	ask(c, "d.example.com", DNS_T_TXT);
	ask(c, "b.example.com", DNS_T_TXT);
	is_int(atomic_load(&s->calls), 5, "that was a, not c, d or b");
	dns_resolver_free(c);
}

#define NTHREADS 8
#define NROUNDS 200

static const char *const thread_names[] = {"short.example.com", "long.example.com",
                                           "nope.example.com", "a.example.com", "b.example.com"};

struct worker {
	struct dns_resolver *cache;
	int bad;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	size_t nnames = sizeof(thread_names) / sizeof(thread_names[0]);
	int i;

	for (i = 0; i < NROUNDS; i++) {
		const char *name = thread_names[(size_t)i % nnames];
		const struct dns_answer *a;
		struct auth_error err;
		int want = i % (int)nnames == 2 ? DNS_NXDOMAIN : DNS_RECORDS;

		if (dns_query(w->cache, name, i % (int)nnames >= 3 ? DNS_T_TXT : DNS_T_A, &a,
		              &err) < 0 ||
		    (int)a->status != want || strcmp(a->canonical_name, name) != 0) {
			w->bad++;
			continue;
		}
		dns_answer_release(a);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct dns_cache_opts o = {0};
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct dns_cache_stats st;
	struct slow *s;
	struct dns_resolver *c;
	int i, bad = 0;

	fake_now = 0;
	/* 20 ms per backend call: every thread's first questions overlap */
	c = make_cache(&s, 20 * 1000 * 1000, &o, NULL);
	for (i = 0; i < NTHREADS; i++) {
		w[i].cache = c;
		w[i].bad = 0;
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	is_int(bad, 0, "every thread got the right answers");
	is_int(atomic_load(&s->calls), 5, "each of 5 questions reached the backend once");
	dns_cache_get_stats(c, &st);
	is_int(st.misses, 5, "5 misses");
	is_int(st.hits, NTHREADS * NROUNDS - 5, "every other ask a hit");
	is_int(st.entries, 5, "5 entries");
	dns_resolver_free(c);
}

static void
test_no_backend(void)
{
	struct auth_error err;

	auth_error_clear(&err);
	ok(dns_cache_new(NULL, NULL, &err) == NULL, "no backend, no cache");
	is_int(err.code, AUTH_EINVAL, "no backend is a caller error");
	auth_error_set(&err, AUTH_EDNS, "backend said why");
	ok(dns_cache_new(NULL, NULL, &err) == NULL, "still no cache");
	is_str(err.msg, "backend said why", "the backend's own error is kept");
}

/* Prefetched questions are asked at once, in the background, and a later
 * question finds the answer or waits for it; none is asked twice. */
static void
test_prefetch(void)
{
	static const char *const names[] = {"a.example.com", "b.example.com", "c.example.com",
	                                    "d.example.com"};
	struct dns_cache_opts o = {.prefetch_threads = 4};
	struct dns_cache_stats st;
	struct dns_resolver *c;
	struct slow *s;
	size_t i;

	c = make_cache(&s, 200 * 1000 * 1000L, &o, NULL);
	for (i = 0; i < 4; i++)
		dns_prefetch(c, names[i], DNS_T_TXT);
	dns_prefetch(c, "a.example.com", DNS_T_TXT);
	for (i = 0; i < 4; i++)
		is_int(ask(c, names[i], DNS_T_TXT), DNS_RECORDS, "prefetched %s answered",
		       names[i]);
	is_int(atomic_load(&s->calls), 4, "each asked once, the repeated prefetch too");
	ok(atomic_load(&s->max_inflight) > 1, "asked at once (%lu at a time)",
	   (unsigned long)atomic_load(&s->max_inflight));
	dns_prefetch(c, "a.example.com", DNS_T_TXT);
	is_int(atomic_load(&s->calls), 4, "a prefetch of a cached answer asks nothing");
	dns_cache_get_stats(c, &st);
	is_int(st.prefetches, 4, "stats: prefetches");
	dns_resolver_free(c);

	o = (struct dns_cache_opts){0};
	c = make_cache(&s, 0, &o, NULL);
	dns_prefetch(c, "a.example.com", DNS_T_TXT);
	is_int(atomic_load(&s->calls), 0, "without prefetch threads, nothing is asked");
	dns_resolver_free(c);

	o = (struct dns_cache_opts){.prefetch_threads = 1, .prefetch_queue = 2};
	c = make_cache(&s, 300 * 1000 * 1000L, &o, NULL);
	for (i = 0; i < 4; i++)
		dns_prefetch(c, names[i], DNS_T_TXT);
	dns_cache_get_stats(c, &st);
	/* One on the thread and two waiting at most: at least one dropped. */
	ok(st.prefetches_dropped >= 1 && st.prefetches + st.prefetches_dropped == 4,
	   "past the queue, prefetches are dropped (%lu of 4)", st.prefetches_dropped);
	/* Freed with questions waiting: they are abandoned, nothing hangs. */
	dns_resolver_free(c);
	ok(1, "freed with prefetches waiting");

	o = (struct dns_cache_opts){.prefetch_threads = 2};
	c = make_cache(&s, 0, &o, "d.example.com/TXT");
	dns_prefetch(c, "d.example.com", DNS_T_TXT);
	is_int(ask(c, "d.example.com", DNS_T_TXT), DNS_TEMPFAIL, "a prefetched timeout is one too");
	dns_resolver_free(c);
}

/* A prefetch queued behind one that stalls every thread does not hold up
 * its asker: the asker asks at once, and the job, reached later, is
 * dropped without asking again. */
static void
test_prefetch_behind_stall(void)
{
	struct dns_cache_opts o = {.prefetch_threads = 1};
	struct timespec tick = {0, 10 * 1000 * 1000L};
	struct dns_resolver *c;
	struct slow *s;
	int i;

	c = make_cache(&s, 0, &o, NULL);
	stall_name = "b.example.com";
	dns_prefetch(c, "b.example.com", DNS_T_TXT);
	for (i = 0; i < 200 && atomic_load(&s->calls) == 0; i++)
		nanosleep(&tick, NULL);
	dns_prefetch(c, "a.example.com", DNS_T_TXT);
	is_int(ask(c, "a.example.com", DNS_T_TXT), DNS_RECORDS, "queued prefetch answered");
	ok(!atomic_load(&stall_done), "while the only thread still waits on another");
	pthread_mutex_lock(&stall_lock);
	stall_released = 1;
	pthread_cond_broadcast(&stall_cond);
	pthread_mutex_unlock(&stall_lock);
	is_int(ask(c, "b.example.com", DNS_T_TXT), DNS_RECORDS, "the stalled one lands");
	/* Freed first: the thread has then reached the claimed job. */
	dns_resolver_free(c);
	is_int(freed_calls, 2, "each asked once: the claimed job was dropped");
	stall_name = NULL;
}

int
main(void)
{
	test_expiry();
	test_caps_and_negative();
	test_tempfail();
	test_eviction();
	test_threads();
	test_no_backend();
	test_prefetch();
	test_prefetch_behind_stall();
	return done_testing();
}
