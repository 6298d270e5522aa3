/*
 * dkim_sigwrite - see dkim_sigwrite.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim_crypto.h"
#include "dkim_hdata.h"
#include "dkim_sigwrite.h"

/* Where a continuation line's text starts: after one TAB. */
#define CONT_COL 8

int
dkim_sigwrite_begin(struct dkim_sigwrite *w, const char *name)
{
	buf_init(&w->b, DKIM_SIGWRITE_MAX);
	w->col = strlen(name) + 1;
	return buf_printf(&w->b, "%s:", name);
}

/* Adds a token after a space (or directly, when space is false), or on a
 * new folded line when it would not fit. */
static int
put(struct dkim_sigwrite *w, const char *text, size_t len, bool space)
{
	int rc = 0;

	if (w->col + space + len > DKIM_SIGWRITE_WIDTH) {
		rc = buf_append(&w->b, "\r\n\t", 3);
		w->col = CONT_COL;
	} else if (space) {
		rc = buf_putc(&w->b, ' ');
		w->col++;
	}
	w->col += len;
	return rc < 0 ? -1 : buf_append(&w->b, text, len);
}

int
dkim_sigwrite_token(struct dkim_sigwrite *w, const char *text, size_t len)
{
	return put(w, text, len, true);
}

static int
put_tag(struct dkim_sigwrite *w, const char *name, const char *value, unsigned long long n)
{
	char tag[DNS_NAME_MAX + DKIM_SIG_MAX_AUID + 32];
	int len = value != NULL ? snprintf(tag, sizeof(tag), "%s=%s;", name, value)
	                        : snprintf(tag, sizeof(tag), "%s=%llu;", name, n);

	if (len < 0 || (size_t)len >= sizeof(tag))
		return -1;
	return put(w, tag, (size_t)len, true);
}

int
dkim_sigwrite_tag(struct dkim_sigwrite *w, const char *name, const char *value)
{
	return put_tag(w, name, value, 0);
}

int
dkim_sigwrite_num(struct dkim_sigwrite *w, const char *name, unsigned long long n)
{
	return put_tag(w, name, NULL, n);
}

int
dkim_sigwrite_h(struct dkim_sigwrite *w, const struct dkim_name_view *names, size_t n)
{
	char tok[1024];

	for (size_t i = 0; i < n; i++) {
		int len = snprintf(tok, sizeof(tok), "%s%.*s%s", i == 0 ? "h=" : "",
		                   (int)names[i].len, names[i].p, i + 1 == n ? ";" : ":");

		/* FWS is allowed around the colons of h= (§3.5), so a long list
		 * folds between names. */
		if (len < 0 || (size_t)len >= sizeof(tok) || put(w, tok, (size_t)len, i == 0) < 0)
			return -1;
	}
	return 0;
}

int
dkim_sigwrite_b(struct dkim_sigwrite *w, const unsigned char *sig, size_t len)
{
	char b64[DKIM_SIG_MAX_B * 4 / 3 + 8];
	size_t n;

	if (len > DKIM_SIG_MAX_B)
		return -1;
	n = (size_t)EVP_EncodeBlock((unsigned char *)b64, sig, (int)len);
	/* Base64 may be folded anywhere (§3.5 b=): fill each line. */
	for (size_t off = 0, k; off < n; off += k) {
		size_t room = w->col < DKIM_SIGWRITE_WIDTH ? DKIM_SIGWRITE_WIDTH - w->col : 0;

		if (room < 8) {
			if (buf_append(&w->b, "\r\n\t", 3) < 0)
				return -1;
			w->col = CONT_COL;
			room = DKIM_SIGWRITE_WIDTH - CONT_COL;
		}
		k = n - off < room ? n - off : room;
		if (buf_append(&w->b, b64 + off, k) < 0)
			return -1;
		w->col += k;
	}
	return 0;
}

int
dkim_sigwrite_sign_headers(struct dkim_sigwrite *w, const struct msg_headers *h,
                           enum dkim_canon hcanon, const struct dkim_name_view *names, size_t n,
                           enum dkim_alg alg, EVP_PKEY *pkey, struct auth_error *err)
{
	unsigned char sig[DKIM_SIG_MAX_B];
	size_t siglen;
	struct buf data;
	int rc;

	buf_init(&data, DKIM_MAX_HEADER_DATA);
	rc = dkim_header_data(h, hcanon, names, n, w->b.data, w->b.len, w->b.len, 0, &data);
	if (rc == 0)
		rc = dkim_crypto_sign(alg, pkey, data.data, data.len, sig, &siglen);
	buf_free(&data);
	if (rc < 0)
		return auth_error_set(err, AUTH_EINVAL, "signing failed");
	if (dkim_sigwrite_b(w, sig, siglen) < 0)
		return auth_error_set(err, AUTH_ELIMIT, "signature field too long");
	return 0;
}

char *
dkim_sigwrite_steal(struct dkim_sigwrite *w)
{
	return buf_steal(&w->b);
}

void
dkim_sigwrite_free(struct dkim_sigwrite *w)
{
	buf_free(&w->b);
}

/* ---- the h= list ---- */

static size_t
count_fields(const struct msg_headers *h, const char *name, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < msg_headers_count(h); i++) {
		const struct msg_field *f = msg_headers_get(h, i);

		n += f->name_len == len && strncasecmp(f->raw, name, len) == 0;
	}
	return n;
}

/* Whether the colon-separated list holds name. */
static bool
in_list(const char *list, const char *name, size_t len)
{
	while (list != NULL && *list != '\0') {
		size_t n = strcspn(list, ":");

		if (n == len && strncasecmp(list, name, len) == 0)
			return true;
		list += n + (list[n] == ':');
	}
	return false;
}

long
dkim_sigwrite_names(const char *list, const char *oversign, const struct msg_headers *h,
                    struct dkim_name_view *names, struct auth_error *err)
{
	const char *p = list;
	size_t n = 0;
	bool from = false;

	while (*p != '\0') {
		size_t len = strcspn(p, ":"), times;

		if (len == 0 || len > 997 || strcspn(p, " \t\r\n;=") < len)
			return auth_error_set(err, AUTH_EINVAL, "bad header list");
		from |= len == 4 && strncasecmp(p, "from", 4) == 0;
		times = count_fields(h, p, len) + in_list(oversign, p, len);
		for (; times > 0; times--) {
			if (n == DKIM_SIG_MAX_HEADERS)
				return auth_error_set(err, AUTH_ELIMIT,
				                      "too many header fields to sign");
			names[n].p = p;
			names[n++].len = len;
		}
		p += len + (p[len] == ':');
	}
	if (!from)
		return auth_error_set(err, AUTH_EINVAL, "the header list must include From");
	return (long)n;
}
