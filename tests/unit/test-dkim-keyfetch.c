/*
 * test-dkim-keyfetch - finding a signature's key through the resolver:
 * each outcome and its reason, records that are not keys skipped, two
 * keys refused, the key checked against the signature, and the cache used.
 */
#include "autoconf.h"

#include "dkim-util.h"
#include "dkim_keyfetch.h"
#include "tap.h"

static struct tkey ed;
static char zone[8192];

static struct dkim_sig
sig_for(const char *s, enum dkim_alg alg)
{
	struct dkim_sig sig = {.alg = alg};

	snprintf(sig.d, sizeof(sig.d), "example.com");
	snprintf(sig.s, sizeof(sig.s), "%s", s);
	snprintf(sig.i, sizeof(sig.i), "@example.com");
	return sig;
}

static void
expect(struct dns_resolver *r, struct dkim_keycache *c, const char *sel, enum dkim_alg alg,
       enum dkim_keyfetch_status want, const char *reason)
{
	struct dkim_sig sig = sig_for(sel, alg);
	struct dkim_key key;
	const char *got = "unset";

	is_int(dkim_keyfetch(r, c, &sig, &key, &got), want, "%s: status", sel);
	is_str(got, reason, "%s: reason", sel);
	if (want == DKIM_KEYFETCH_OK)
		ok(key.pkey != NULL && key.bits == 256, "%s: the key", sel);
	dkim_key_clear(&key);
}

/* The records under test, at SELECTOR._domainkey.example.com. */
static struct dns_resolver *
make_zone(void)
{
	static const struct {
		const char *sel, *rec; /* rec NULL: the key */
	} recs[] = {
	    {"good", NULL},
	    {"withspf", NULL},
	    {"withspf", "v=spf1 -all"},
	    {"two", NULL},
	    {"two", "v=DKIM1; k=ed25519; p="},
	    {"spfonly", "v=spf1 -all"},
	    {"revoked", "v=DKIM1; k=ed25519; p="},
	    {"bad", "v=DKIM1; k=ed25519; p=AQID"},
	};
	char owner[128];

	for (size_t k = 0; k < sizeof(recs) / sizeof(recs[0]); k++) {
		snprintf(owner, sizeof(owner), "%s._domainkey.example.com.", recs[k].sel);
		if (recs[k].rec == NULL)
			zone_key(zone, sizeof(zone), owner, &ed, "");
		else
			zone_txt(zone, sizeof(zone), owner, recs[k].rec);
	}
	return tresolver(zone, "slow._domainkey.example.com");
}

int
main(void)
{
	struct dns_resolver *r;
	struct dkim_keycache *c = dkim_keycache_new(8);
	unsigned long hits, misses;
	struct dkim_sig sig = sig_for("revoked", DKIM_ALG_ED25519_SHA256);
	struct dkim_key key;
	const char *reason;

	tkey_make(&ed, "ED25519", 0);
	r = make_zone();

	expect(r, c, "good", DKIM_ALG_ED25519_SHA256, DKIM_KEYFETCH_OK, NULL);
	expect(r, c, "withspf", DKIM_ALG_ED25519_SHA256, DKIM_KEYFETCH_OK, NULL);
	expect(r, c, "two", DKIM_ALG_ED25519_SHA256, DKIM_KEYFETCH_FAIL, "multiple key records");
	expect(r, c, "spfonly", DKIM_ALG_ED25519_SHA256, DKIM_KEYFETCH_FAIL, "key syntax error");
	expect(r, c, "absent", DKIM_ALG_ED25519_SHA256, DKIM_KEYFETCH_FAIL, "no key");
	expect(r, c, "bad", DKIM_ALG_ED25519_SHA256, DKIM_KEYFETCH_FAIL, "key syntax error");
	expect(r, c, "slow", DKIM_ALG_ED25519_SHA256, DKIM_KEYFETCH_TEMPFAIL,
	       "DNS temporary failure");
	expect(r, c, "good", DKIM_ALG_RSA_SHA256, DKIM_KEYFETCH_FAIL,
	       "inappropriate key algorithm");
	is_int(dkim_keyfetch(r, c, &sig, &key, &reason), DKIM_KEYFETCH_FAIL, "revoked: status");
	is_str(reason, "key revoked", "revoked: reason");
	ok(key.revoked, "revoked: the key says so");
	dkim_key_clear(&key);
	dkim_keycache_stats(c, &hits, &misses);
	is_int(hits, 3, "the good record parsed once, then answered from the cache");
	dkim_keycache_free(c);
	dns_resolver_free(r);
	EVP_PKEY_free(ed.pkey);
	return done_testing();
}
