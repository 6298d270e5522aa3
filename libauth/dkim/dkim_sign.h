/*
 * dkim_sign - DKIM signing (RFC 6376 §5) with RSA (rsa-sha256) or Ed25519
 * (ed25519-sha256, RFC 8463) keys.
 *
 *   s = dkim_signer_new(pem, pem_len, &opts, &err);
 *   dkim_signer_body(s, chunk, len);            any number of times
 *   dkim_signer_finish(s, headers, &field, &err);
 *
 * The body is hashed as it streams (CRLF line ends, as on the wire); the
 * header fields are needed only at the end, when the signature is made.
 * The result is the complete DKIM-Signature field, folded to lines of about
 * 76 characters with CRLF TAB, without a final CRLF; the caller puts it
 * above the message's other fields.
 *
 * Header list: the names to sign, colon-separated ("from:to:subject"); each
 * is signed as many times as the field occurs.  The default is RFC 6376
 * §5.4.1's list with the MIME and Message-ID fields added.  Names also in
 * the oversign list are listed once more than they occur, so a further
 * field of that name cannot be added without breaking the signature
 * (§8.15); by default only From is, so that mailing lists adding their
 * List-* fields do not break the signature.  From is required.
 *
 * Zeroed options sign relaxed/relaxed with that header list, From
 * oversigned.
 *
 * Ownership: the signer owns its key; the field returned by finish is the
 * caller's to free().  Not thread-safe: one signer per message.
 */
#ifndef AUTH_DKIM_SIGN_H
#define AUTH_DKIM_SIGN_H

#include <stddef.h>
#include <time.h>

#include "dkim_canon.h"
#include "error.h"
#include "msg.h"

#define DKIM_SIGN_DEFAULT_HEADERS                                                                  \
	"from:reply-to:subject:date:to:cc:resent-date:resent-from:resent-to:resent-cc:"            \
	"in-reply-to:references:list-id:list-help:list-unsubscribe:list-subscribe:list-post:"      \
	"list-owner:list-archive:message-id:mime-version:content-type:content-transfer-encoding"
#define DKIM_SIGN_DEFAULT_OVERSIGN "from"

struct dkim_sign_opts {
	const char *domain;             /* d= (required) */
	const char *selector;           /* s= (required) */
	const char *identity;           /* i=, or NULL for none */
	enum dkim_canon hcanon, bcanon; /* zero: relaxed */
	const char *headers;            /* NULL: DKIM_SIGN_DEFAULT_HEADERS */
	const char *oversign;           /* NULL: DKIM_SIGN_DEFAULT_OVERSIGN; "": none */
	int body_length;                /* add l= with the canonical body length */
	time_t now;                     /* t=; 0: time(NULL) */
	unsigned long expire;           /* x= t + expire; 0: no x= */
};

struct dkim_signer;

/* pem: a private key in PEM (PKCS#8 or traditional RSA).  NULL with err set
 * when the key cannot be read or is neither RSA nor Ed25519, or the options
 * are invalid. */
struct dkim_signer *dkim_signer_new(const char *pem, size_t pem_len, const struct dkim_sign_opts *o,
                                    struct auth_error *err);
/*
 * A key read once and used for many messages: dkim_sign_key_load() parses
 * the PEM (NULL with err set when it is neither RSA nor Ed25519), and
 * dkim_signer_new_key() makes a signer that holds a reference to it, so a
 * daemon parses each key once, not once per message.  A key is immutable
 * and may be shared by signers on many threads.
 */
struct dkim_sign_key;

struct dkim_sign_key *dkim_sign_key_load(const char *pem, size_t pem_len, struct auth_error *err);
void dkim_sign_key_free(struct dkim_sign_key *k);
struct dkim_signer *dkim_signer_new_key(const struct dkim_sign_key *k,
                                        const struct dkim_sign_opts *o, struct auth_error *err);

void dkim_signer_body(struct dkim_signer *s, const char *chunk, size_t len);
/* Returns 0 and the field in *field, or -1 with err set. */
int dkim_signer_finish(struct dkim_signer *s, const struct msg_headers *h, char **field,
                       struct auth_error *err);
void dkim_signer_free(struct dkim_signer *s);

#endif
