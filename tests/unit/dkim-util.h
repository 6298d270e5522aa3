/*
 * dkim-util.h - what the DKIM unit tests share: making keys, splitting a
 * message into header fields and body, publishing keys in a zone, signing
 * and verifying in one call.  Header-only, like tap.h.
 */
#ifndef DKIM_UTIL_H
#define DKIM_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "dkim_sign.h"
#include "dns_zone.h"
#include "msg.h"

struct tkey {
	EVP_PKEY *pkey;
	char pem[4096];
	char pub[2048]; /* base64 p= value */
};

static inline void
tkey_make(struct tkey *k, const char *type, size_t bits)
{
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char der[1024], *p = der, raw[32];
	size_t rawlen = sizeof(raw);
	int n;
	char *data;
	long len;

	k->pkey = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits)
	                                   : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &data);
	snprintf(k->pem, sizeof(k->pem), "%.*s", (int)len, data);
	BIO_free(bio);
	if (strcmp(type, "RSA") == 0) {
		n = i2d_PUBKEY(k->pkey, &p);
		EVP_EncodeBlock((unsigned char *)k->pub, der, n);
	} else {
		EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen);
		EVP_EncodeBlock((unsigned char *)k->pub, raw, (int)rawlen);
	}
}

/* A zone line "NAME TXT "...." "..."", the text split in 200-byte strings. */
static inline void
zone_txt(char *zone, size_t size, const char *name, const char *text)
{
	size_t n = strlen(zone), len = strlen(text);

	n += (size_t)snprintf(zone + n, size - n, "%s 300 IN TXT", name);
	for (size_t off = 0; off < len || off == 0; off += 200)
		n += (size_t)snprintf(zone + n, size - n, " \"%.*s\"",
		                      (int)(len - off < 200 ? len - off : 200), text + off);
	snprintf(zone + n, size - n, "\n");
}

/* A zone line publishing k's public key at owner, with more tags (or "")
 * before p=. */
static inline void
zone_key(char *zone, size_t size, const char *owner, const struct tkey *k, const char *tags)
{
	char rec[3072];

	snprintf(rec, sizeof(rec), "v=DKIM1; k=%s; %sp=%s",
	         EVP_PKEY_is_a(k->pkey, "RSA") ? "rsa" : "ed25519", tags, k->pub);
	zone_txt(zone, size, owner, rec);
}

/* A resolver answering from zone text, with the name fail (when not NULL)
 * timing out. */
static inline struct dns_resolver *
tresolver(const char *zone, const char *fail)
{
	struct dns_resolver *r = dns_zone_new(NULL);

	if (zone != NULL && dns_zone_load_string(r, zone, NULL, NULL) < 0)
		fprintf(stderr, "zone does not load\n");
	if (fail != NULL)
		dns_zone_add_fail(r, fail, NULL);
	return r;
}

struct tmsg {
	struct msg_headers *h;
	const char *body;
	size_t body_len;
};

static inline int
tmsg_field(void *m, const struct msg_field *f, struct auth_error *err)
{
	return msg_headers_add_field(((struct tmsg *)m)->h, f, err);
}

static inline int
tmsg_eoh(void *m, struct auth_error *err)
{
	(void)m;
	(void)err;
	return 0;
}

/* The whole text is fed at once, so the first body piece points into it. */
static inline int
tmsg_body(void *ctx, const char *p, size_t n, struct auth_error *err)
{
	struct tmsg *m = ctx;

	(void)err;
	if (m->body == NULL) {
		m->body = p;
		m->body_len = n;
	}
	return 0;
}

/* Splits a CRLF message; the body points into text. */
static inline int
tmsg_parse(struct tmsg *m, const char *text, size_t len)
{
	static const struct msg_parser_ops ops = {tmsg_field, tmsg_eoh, tmsg_body};
	struct msg_parser *p;
	int rc = -1;

	m->h = msg_headers_new();
	m->body = NULL;
	m->body_len = 0;
	if ((p = msg_parser_new(&ops, m, 0)) != NULL && msg_parser_feed(p, text, len, NULL) == 0 &&
	    msg_parser_finish(p, NULL) == 0)
		rc = 0;
	msg_parser_free(p);
	if (m->body == NULL)
		m->body = text + len;
	return rc;
}

/* The length of the body chunk at off when feeding the body step bytes at
 * a time (a step of 0 becomes the whole body); 0 at the end. */
static inline size_t
tmsg_chunk(const struct tmsg *m, size_t off, size_t *step)
{
	if (*step == 0)
		*step = m->body_len ? m->body_len : 1;
	if (off >= m->body_len)
		return 0;
	return m->body_len - off < *step ? m->body_len - off : *step;
}

static inline void
tmsg_free(struct tmsg *m)
{
	msg_headers_free(m->h);
}

/* Signs text; returns "field CRLF text" (malloc'd), or NULL. */
static inline char *
tsign(const struct tkey *k, const struct dkim_sign_opts *o, const char *text)
{
	struct tmsg m;
	struct dkim_signer *s;
	char *field = NULL, *out = NULL;
	size_t n;

	if (tmsg_parse(&m, text, strlen(text)) < 0)
		return NULL;
	s = dkim_signer_new(k->pem, strlen(k->pem), o, NULL);
	if (s != NULL) {
		dkim_signer_body(s, m.body, m.body_len);
		if (dkim_signer_finish(s, m.h, &field, NULL) == 0) {
			n = strlen(field) + strlen(text) + 3;
			out = malloc(n);
			snprintf(out, n, "%s\r\n%s", field, text);
		}
	}
	free(field);
	dkim_signer_free(s);
	tmsg_free(&m);
	return out;
}

/* Verifies text against zone, feeding the body in chunks of step bytes
 * (0: at once).  Returns the verifier (the caller frees it). */
static inline struct dkim_verifier *
tverify(const char *text, const char *zone, const char *fail, const struct dkim_verify_opts *o,
        size_t step)
{
	struct dns_resolver *r = tresolver(zone, fail);
	struct dkim_verifier *v;
	struct tmsg m;

	v = dkim_verifier_new(r, o, NULL);
	tmsg_parse(&m, text, strlen(text));
	dkim_verifier_headers(v, m.h, NULL);
	for (size_t off = 0, n; (n = tmsg_chunk(&m, off, &step)) > 0; off += n)
		dkim_verifier_body(v, m.body + off, n);
	dkim_verifier_finish(v, NULL);
	tmsg_free(&m);
	/* The verifier no longer needs the resolver after the headers. */
	dns_resolver_free(r);
	return v;
}

#endif
