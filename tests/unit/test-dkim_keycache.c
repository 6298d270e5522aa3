/*
 * test-dkim_keycache - the shared cache of parsed DKIM keys: hits and
 * misses, what is and is not remembered, LRU eviction, keys outliving the
 * cache, concurrent use, and a verifier that reads its keys through it.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dkim-util.h"
#include "dkim_keycache.h"
#include "tap.h"

/* Public keys from dkimpy's test data (tests/data/dkim/README). */
#define RSA1024_SPKI                                                                               \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC6aakWzruYAKX9OdOdSHMemqVdGQurNYLC1H7O/T2LQIHVbk"   \
	"KF6KKjlgFM7lr8skfZMhJe/KRGMvVjCV5ZakZIGeP3Hi1qXCEvmjS4ElpMPMPyPrZigt95ipqywPYZJWHbRiJ0"   \
	"85VdkSCtLUvo5sypA0nTJeynEouAN+/wBaCO6QIDAQAB"
#define ED25519 "yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y="

#define REC_A "v=DKIM1; k=rsa; p=" RSA1024_SPKI
#define REC_B "v=DKIM1; k=ed25519; p=" ED25519
#define REC_C "v=DKIM1; k=rsa; t=y; p=" RSA1024_SPKI

static const char *
cparse(struct dkim_keycache *c, const char *rec, struct dkim_key *k)
{
	enum dkim_key_kind kind;

	return dkim_keycache_parse(c, (const unsigned char *)rec, strlen(rec), k, &kind);
}

static void
stats_are(struct dkim_keycache *c, unsigned long hits, unsigned long misses, const char *name)
{
	unsigned long h, m;

	dkim_keycache_stats(c, &h, &m);
	is_int(h, hits, "%s: hits", name);
	is_int(m, misses, "%s: misses", name);
}

static void
test_hit_and_miss(void)
{
	struct dkim_keycache *c = dkim_keycache_new(8);
	struct dkim_key k1, k2, k3, plain;
	enum dkim_key_kind kind;

	is_str(cparse(c, REC_A, &k1), NULL, "first parse");
	stats_are(c, 0, 1, "first parse");
	is_str(cparse(c, REC_A, &k2), NULL, "second parse");
	stats_are(c, 1, 1, "second parse");
	ok(k1.pkey == k2.pkey, "a hit hands out the cached EVP_PKEY");
	is_str(dkim_key_parse((const unsigned char *)REC_A, strlen(REC_A), &plain, &kind), NULL,
	       "uncached parse");
	is_int(EVP_PKEY_eq(k2.pkey, plain.pkey), 1, "the cached key is the record's key");
	is_int(k2.bits, 1024, "bits from the cache");
	ok(k2.type == plain.type && k2.type_known == plain.type_known &&
	       k2.hash_sha1 == plain.hash_sha1 && k2.hash_sha256 == plain.hash_sha256 &&
	       k2.service_email == plain.service_email && k2.testing == plain.testing &&
	       k2.strict == plain.strict && k2.revoked == plain.revoked,
	   "every tag from the cache as parsed");
	/* Another tag is another record, with its own answer. */
	is_str(cparse(c, REC_C, &k3), NULL, "t=y record");
	ok(k3.testing, "t=y is not answered from the t= -less entry");
	stats_are(c, 1, 2, "t=y record");
	dkim_key_clear(&k1);
	dkim_key_clear(&k2);
	dkim_key_clear(&k3);
	dkim_key_clear(&plain);
	dkim_keycache_free(c);
}

static void
test_not_remembered(void)
{
	struct dkim_keycache *c = dkim_keycache_new(8);
	char big[DKIM_KEYCACHE_MAX_RECORD + 512];
	struct dkim_key k;
	enum dkim_key_kind kind;
	int n;

	for (int i = 0; i < 2; i++) {
		is_str(cparse(c, "v=DKIM1; p=AQID", &k), "key syntax error", "bad key %d", i);
		dkim_key_clear(&k);
		is_str(cparse(c, "v=DKIM1; p=", &k), NULL, "revoked key %d", i);
		ok(k.revoked, "revoked key %d is revoked", i);
		dkim_key_clear(&k);
		is_str(dkim_keycache_parse(c, (const unsigned char *)"v=spf1 -all", 11, &k, &kind),
		       "key syntax error", "not a key %d", i);
		is_int(kind, DKIM_KEY_NOT_DKIM, "not a key %d: kind", i);
		dkim_key_clear(&k);
	}
	stats_are(c, 0, 6, "failures are parsed every time");
	n = snprintf(big, sizeof(big), "v=DKIM1; n=%*s; p=%s", DKIM_KEYCACHE_MAX_RECORD, "x",
	             RSA1024_SPKI);
	ok(n > DKIM_KEYCACHE_MAX_RECORD && (size_t)n < sizeof(big), "long record built");
	for (int i = 0; i < 2; i++) {
		is_str(cparse(c, big, &k), NULL, "long record %d", i);
		is_int(k.bits, 1024, "long record %d: bits", i);
		dkim_key_clear(&k);
	}
	stats_are(c, 0, 6, "a record over the limit bypasses the cache");
	is_str(cparse(NULL, REC_A, &k), NULL, "no cache");
	is_int(k.bits, 1024, "no cache: bits");
	dkim_key_clear(&k);
	dkim_keycache_free(c);
}

static void
test_eviction(void)
{
	struct dkim_keycache *c = dkim_keycache_new(2);
	struct dkim_key a1, b1, a2, c1, b2, a3, b2a, b2b;

	cparse(c, REC_A, &a1);
	cparse(c, REC_B, &b1);
	cparse(c, REC_A, &a2); /* A is now the more recently used */
	cparse(c, REC_C, &c1); /* full: B goes */
	stats_are(c, 1, 3, "filled");
	cparse(c, REC_B, &b2);
	ok(b2.pkey != b1.pkey, "the least recently used entry was evicted");
	is_int(EVP_PKEY_eq(b1.pkey, b2.pkey), 1, "and parses to the same key again");
	/* B's return evicted A (C was used after A's hit); C stays. */
	cparse(c, REC_A, &a3);
	ok(a3.pkey != a1.pkey, "then A, the least recently used, was evicted");
	stats_are(c, 1, 5, "after eviction");
	dkim_keycache_free(c);
	c = dkim_keycache_new(0);
	cparse(c, REC_B, &b2a);
	cparse(c, REC_B, &b2b);
	ok(b2a.pkey == b2b.pkey, "capacity 0 is clamped to one entry");
	dkim_key_clear(&b2a);
	dkim_key_clear(&b2b);
	dkim_keycache_free(c);
	/* Keys handed out outlive the cache. */
	is_int(EVP_PKEY_get_bits(a3.pkey), 1024, "a key outlives its cache");
	dkim_key_clear(&a1);
	dkim_key_clear(&b1);
	dkim_key_clear(&a2);
	dkim_key_clear(&c1);
	dkim_key_clear(&b2);
	dkim_key_clear(&a3);
}

#define THREADS 4
#define ROUNDS 500

struct worker {
	pthread_t t;
	struct dkim_keycache *c;
	unsigned seed, bad;
};

/* Three records through a cache of two: hits, misses and evictions race. */
static void *
worker_run(void *arg)
{
	static const char *const recs[] = {REC_A, REC_B, REC_C};
	static const unsigned bits[] = {1024, 256, 1024};
	struct worker *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		unsigned r = (w->seed = w->seed * 1103515245u + 12345u) >> 16;
		struct dkim_key k;

		if (cparse(w->c, recs[r % 3], &k) != NULL || k.bits != bits[r % 3] ||
		    k.testing != (r % 3 == 2))
			w->bad++;
		dkim_key_clear(&k);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct dkim_keycache *c = dkim_keycache_new(2);
	struct worker w[THREADS];
	unsigned long hits, misses;
	unsigned bad = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.c = c, .seed = 7u + (unsigned)i};
		pthread_create(&w[i].t, NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].t, NULL);
		bad += w[i].bad;
	}
	is_int(bad, 0, "%d threads: every answer right", THREADS);
	dkim_keycache_stats(c, &hits, &misses);
	is_int(hits + misses, THREADS * ROUNDS, "%d threads: every look-up counted", THREADS);
	ok(hits > 0, "%d threads: some look-ups hit", THREADS);
	dkim_keycache_free(c);
}

#define NOW 1700000000

/* A verifier given the cache reads a key once and passes both times. */
static void
test_verifier(void)
{
	struct dkim_keycache *c = dkim_keycache_new(4);
	struct dkim_sign_opts so = {.domain = "example.com",
	                            .selector = "s1",
	                            .hcanon = DKIM_CANON_RELAXED,
	                            .bcanon = DKIM_CANON_RELAXED,
	                            .now = NOW};
	struct dkim_verify_opts vo = {.now = NOW + 10, .key_cache = c};
	static const char text[] =
	    "From: a@example.com\r\nSubject: hi\r\n\r\nHello  world \r\n\r\n";
	char zone[8192] = "", rec[2200];
	struct tkey k;
	char *signed_text;

	tkey_make(&k, "RSA", 2048);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=rsa; p=%s", k.pub);
	zone_txt(zone, sizeof(zone), "s1._domainkey.example.com.", rec);
	signed_text = tsign(&k, &so, text);
	ok(signed_text != NULL, "signed");
	for (int i = 0; i < 2; i++) {
		struct dkim_verifier *v = tverify(signed_text, zone, NULL, &vo, 0);
		const struct dkim_sig_result *r = dkim_verifier_result(v, 0);

		is_str(r != NULL ? dkim_result_name(r->result) : "", "pass", "verify %d passes", i);
		is_int(r != NULL ? r->key_bits : 0, 2048, "verify %d: key bits", i);
		dkim_verifier_free(v);
	}
	stats_are(c, 1, 1, "the second verification read the key from the cache");
	free(signed_text);
	EVP_PKEY_free(k.pkey);
	dkim_keycache_free(c);
}

int
main(void)
{
	test_hit_and_miss();
	test_not_remembered();
	test_eviction();
	test_threads();
	test_verifier();
	return done_testing();
}
