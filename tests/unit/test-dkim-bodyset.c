/*
 * test-dkim-bodyset - one hasher per distinct (canonicalization, hash,
 * l=), shared by the signatures that ask alike; digests equal to a hasher
 * of its own fed the same body; the limits.
 */
#include "autoconf.h"

#include "dkim_bodyset.h"
#include "tap.h"

static const char body[] = "Hi.  \r\n\r\nWe lost the game.\r\n\r\n\r\n";

/* The digest a lone hasher gives. */
static void
lone(enum dkim_canon c, const EVP_MD *md, uint64_t limit, unsigned char *out, unsigned *len)
{
	struct dkim_body_hasher *h = dkim_body_hasher_new(c, md, limit);

	dkim_body_hasher_update(h, body, sizeof(body) - 1);
	dkim_body_hasher_final(h, out, len);
	dkim_body_hasher_free(h);
}

static void
test_sharing(void)
{
	struct dkim_bodyset *s = dkim_bodyset_new();
	size_t a, b, c, d, e, f;
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned wlen, glen;
	const unsigned char *got;

	dkim_bodyset_add(s, DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, false, 0, &a);
	dkim_bodyset_add(s, DKIM_CANON_RELAXED, DKIM_ALG_ED25519_SHA256, false, 0, &b);
	dkim_bodyset_add(s, DKIM_CANON_SIMPLE, DKIM_ALG_RSA_SHA256, false, 0, &c);
	dkim_bodyset_add(s, DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA1, false, 0, &d);
	dkim_bodyset_add(s, DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, true, 5, &e);
	dkim_bodyset_add(s, DKIM_CANON_RELAXED, DKIM_ALG_RSA_SHA256, true, 5, &f);
	is_int(a, 0, "first hasher");
	is_int(b, 0, "rsa-sha256 and ed25519-sha256 hash the body alike");
	is_int(c, 1, "simple is another");
	is_int(d, 2, "SHA-1 is another");
	is_int(e, 3, "l= is another");
	is_int(f, 3, "the same l= shares");
	for (size_t i = 0; i < sizeof(body) - 1; i += 3)
		dkim_bodyset_update(s, body + i,
		                    sizeof(body) - 1 - i < 3 ? sizeof(body) - 1 - i : 3);
	is_int(dkim_bodyset_final(s), 0, "final");
	lone(DKIM_CANON_RELAXED, EVP_sha256(), DKIM_BODY_NO_LIMIT, want, &wlen);
	got = dkim_bodyset_digest(s, a, &glen);
	is_mem(got, glen, want, wlen, "relaxed SHA-256 digest");
	lone(DKIM_CANON_SIMPLE, EVP_sha256(), DKIM_BODY_NO_LIMIT, want, &wlen);
	got = dkim_bodyset_digest(s, c, &glen);
	is_mem(got, glen, want, wlen, "simple SHA-256 digest");
	lone(DKIM_CANON_RELAXED, EVP_sha1(), DKIM_BODY_NO_LIMIT, want, &wlen);
	got = dkim_bodyset_digest(s, d, &glen);
	is_mem(got, glen, want, wlen, "relaxed SHA-1 digest");
	lone(DKIM_CANON_RELAXED, EVP_sha256(), 5, want, &wlen);
	got = dkim_bodyset_digest(s, e, &glen);
	is_mem(got, glen, want, wlen, "l=5 digest");
	/* "Hi.\r\n\r\nWe lost the game.\r\n" */
	is_int(dkim_bodyset_total(s, e), 26, "the canonical length past l=");
	is_int(dkim_bodyset_total(s, c), 28, "simple canonical length");
	dkim_bodyset_free(s);
}

static void
test_limits(void)
{
	struct dkim_bodyset *s = dkim_bodyset_new();
	size_t idx = 0;
	int rc = 0;

	for (uint64_t l = 0; l < DKIM_BODYSET_MAX && rc == 0; l++)
		rc = dkim_bodyset_add(s, DKIM_CANON_SIMPLE, DKIM_ALG_RSA_SHA256, true, l, &idx);
	is_int(rc, 0, "DKIM_BODYSET_MAX hashers");
	is_int(idx, DKIM_BODYSET_MAX - 1, "the last index");
	is_int(dkim_bodyset_add(s, DKIM_CANON_SIMPLE, DKIM_ALG_RSA_SHA256, true, 99999, &idx), -1,
	       "one more is refused");
	is_int(dkim_bodyset_add(s, DKIM_CANON_SIMPLE, DKIM_ALG_RSA_SHA256, true, 7, &idx), 0,
	       "an existing one is still found");
	dkim_bodyset_free(s);
	s = dkim_bodyset_new();
	dkim_bodyset_update(s, "x", 1);
	is_int(dkim_bodyset_add(s, DKIM_CANON_SIMPLE, DKIM_ALG_RSA_SHA256, false, 0, &idx), -1,
	       "no new hasher once the body began");
	dkim_bodyset_free(s);
}

int
main(void)
{
	test_sharing();
	test_limits();
	return done_testing();
}
