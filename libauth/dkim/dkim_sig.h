/*
 * dkim_sig - parses and validates one DKIM-Signature header field
 * (RFC 6376 §3.5, §6.1.1; RFC 8463 §3 for ed25519-sha256).
 *
 * dkim_sig_parse() takes the field's raw bytes and fills a struct dkim_sig:
 * every tag checked against its ABNF, required tags present, the AUID
 * within the SDID, From among the signed fields, x= after t=.  Unknown tags
 * are ignored (§3.2); a duplicate tag is an error.  It returns NULL when the
 * signature is usable, or the reason (static text in the RFC's terms) why it
 * cannot be: the verifier reports that reason with result permerror.  Even
 * on error, d=, s=, i= and a= are filled in when they were readable, so the
 * failure can be reported against the signing domain.
 *
 * dkim_sig_parse_tags() does the same from a tag list already split, for
 * the fields that share DKIM-Signature's tags: ARC-Message-Signature (no
 * v=; i= is ARC's instance, not an AUID) and ARC-Seal (a=, b=, d=, s=, t=;
 * no h=; relaxed header canonicalization), RFC 8617 §4.1.2, §4.1.3.  For
 * both, i is set to "@" d, the AUID the key checks take for d= itself.
 *
 * Ownership: the struct holds copies of everything except the h= names,
 * which are views into the field bytes and valid only while those live.
 * Limits: DKIM_SIG_MAX_HEADERS names in h=, DKIM_SIG_MAX_B bytes of
 * signature (an 8192-bit RSA key).  No state; thread-safe.
 */
#ifndef AUTH_DKIM_SIG_H
#define AUTH_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim_canon.h"
#include "dkim_tag.h"
#include "dns.h"

#define DKIM_SIG_MAX_HEADERS 128
#define DKIM_SIG_MAX_B 1024
#define DKIM_SIG_MAX_BH 64
#define DKIM_SIG_MAX_AUID 320
#define DKIM_SIG_A_MAX 32

enum dkim_alg {
	DKIM_ALG_RSA_SHA1,
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
};

enum dkim_keytype {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

struct dkim_name_view {
	const char *p;
	size_t len;
};

struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	char d[DNS_NAME_MAX + 1];      /* lower case */
	char s[DNS_NAME_MAX + 1];      /* as written */
	char i[DKIM_SIG_MAX_AUID + 1]; /* as written, or "@" d when absent */
	char a[DKIM_SIG_A_MAX];        /* as written */
	unsigned char b[DKIM_SIG_MAX_B];
	size_t b_len;
	unsigned char bh[DKIM_SIG_MAX_BH];
	size_t bh_len;
	/* The b= value in the field's raw bytes with the whitespace around it:
	 * what §3.7 deletes before hashing the signature field itself. */
	size_t b_region_off, b_region_len;
	/* Up to the first 16 characters of b=, whitespace removed
	 * (RFC 6008 header.b). */
	char b_prefix[17];
	size_t nheaders;
	struct dkim_name_view headers[DKIM_SIG_MAX_HEADERS];
	bool has_l, has_t, has_x;
	uint64_t l, t, x;
};

/* raw: the whole field ("DKIM-Signature: v=1; ..."), value_off: offset of
 * the first byte after the colon.  NULL when usable, else the reason. */
const char *dkim_sig_parse(const char *raw, size_t len, size_t value_off, struct dkim_sig *out);

enum dkim_sig_form {
	DKIM_FORM_SIGNATURE, /* DKIM-Signature */
	DKIM_FORM_AMS,       /* ARC-Message-Signature */
	DKIM_FORM_SEAL,      /* ARC-Seal */
};

/* l: the field's tag list, as dkim_tag_parse() split raw + value_off. */
const char *dkim_sig_parse_tags(const struct dkim_tag_list *l, size_t value_off,
                                enum dkim_sig_form form, struct dkim_sig *out);

/* "rsa-sha256" etc. */
const char *dkim_alg_name(enum dkim_alg a);
enum dkim_keytype dkim_alg_keytype(enum dkim_alg a);
/* The hash of the algorithm: "sha1" or "sha256" (key h= names). */
const char *dkim_alg_hash_name(enum dkim_alg a);
/* SHA-1 or SHA-256, fetched from the default provider once. */
const EVP_MD *dkim_alg_md(enum dkim_alg a);

/* Case-insensitive ASCII comparison of a view with a C string. */
bool dkim_view_eq(const char *p, size_t len, const char *s);

/* True when name is a syntactically valid domain (or selector): labels of
 * 1..63 letters, digits, '-' or '_', at most DNS_NAME_MAX in all. */
bool dkim_domain_valid(const char *p, size_t len);

#endif
