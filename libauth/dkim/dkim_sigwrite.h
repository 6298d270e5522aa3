/*
 * dkim_sigwrite - writing a signature header field: DKIM-Signature, and
 * ARC-Message-Signature and ARC-Seal, which share its tag=value form.
 *
 *   dkim_sigwrite_begin(&w, "DKIM-Signature");
 *   dkim_sigwrite_tag(&w, "v", "1"); ...        tags in the order wanted
 *   dkim_sigwrite_h(&w, names, n);               h=, when the field has one
 *   dkim_sigwrite_token(&w, "b=", 2);
 *   dkim_sigwrite_sign_headers(&w, ...)          or dkim_crypto_sign() over
 *   (or dkim_sigwrite_b(&w, sig, len))           data of one's own, then _b
 *   field = dkim_sigwrite_steal(&w);
 *
 * Lines are folded with CRLF TAB before a token that would pass
 * DKIM_SIGWRITE_WIDTH columns; h= folds between names and b= anywhere
 * (both allow FWS there, RFC 6376 §3.5).  The field has no final CRLF.
 * dkim_sigwrite_names() turns a colon-separated header list into the h=
 * names for one message, listing each name as often as the field occurs,
 * and once more for the names to oversign (§8.15).
 *
 * Errors are returned by each call (-1: the field would pass
 * DKIM_SIGWRITE_MAX bytes, or memory ran out).  Ownership: the writer owns
 * its buffer until dkim_sigwrite_steal() (the caller frees the result) or
 * dkim_sigwrite_free().  Not thread-safe: one writer per field.
 */
#ifndef AUTH_DKIM_SIGWRITE_H
#define AUTH_DKIM_SIGWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dkim_canon.h"
#include "dkim_sig.h"
#include "error.h"
#include "msg.h"

#define DKIM_SIGWRITE_WIDTH 76
#define DKIM_SIGWRITE_MAX (64u * 1024)

struct dkim_sigwrite {
	struct buf b;
	size_t col; /* the column the next byte goes to */
};

/* Starts the field "name:". */
int dkim_sigwrite_begin(struct dkim_sigwrite *w, const char *name);
/* A token after a space, or on a new line when it would not fit. */
int dkim_sigwrite_token(struct dkim_sigwrite *w, const char *text, size_t len);
/* "name=value;" and "name=n;". */
int dkim_sigwrite_tag(struct dkim_sigwrite *w, const char *name, const char *value);
int dkim_sigwrite_num(struct dkim_sigwrite *w, const char *name, unsigned long long n);
/* "h=a:b:c;" */
int dkim_sigwrite_h(struct dkim_sigwrite *w, const struct dkim_name_view *names, size_t n);
/* Appends sig in base64, filling each line (the value of b=). */
int dkim_sigwrite_b(struct dkim_sigwrite *w, const unsigned char *sig, size_t len);

/*
 * The field so far ends with "b=": signs the header data of names[] in h
 * and the field itself (dkim_hdata.h) with pkey and appends the signature.
 * Returns 0, or -1 with err set.
 */
int dkim_sigwrite_sign_headers(struct dkim_sigwrite *w, const struct msg_headers *h,
                               enum dkim_canon hcanon, const struct dkim_name_view *names, size_t n,
                               enum dkim_alg alg, EVP_PKEY *pkey, struct auth_error *err);

char *dkim_sigwrite_steal(struct dkim_sigwrite *w);
void dkim_sigwrite_free(struct dkim_sigwrite *w);

/*
 * Fills names[DKIM_SIG_MAX_HEADERS] from list (names separated by ':'):
 * each as many times as h has that field, plus once for each name that is
 * also in oversign (NULL or "": none).  Returns the count, or -1 with err
 * set: an empty or invalid name, more than DKIM_SIG_MAX_HEADERS, or no
 * From in list.  The views point into list.
 */
long dkim_sigwrite_names(const char *list, const char *oversign, const struct msg_headers *h,
                         struct dkim_name_view *names, struct auth_error *err);

#endif
