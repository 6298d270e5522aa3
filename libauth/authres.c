/*
 * authres - see authres.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"

/* The largest single piece (one property, comment or reason) we write;
 * longer text from a message is cut here rather than growing the header
 * without bound. */
#define AUTHRES_PIECE_MAX 2048
/* Comment nesting the reader follows before giving up. */
#define AUTHRES_COMMENT_DEPTH_MAX 32

/* RFC 2045 token characters, which RFC 8601 §2.2 uses for values. */
static int
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 atext, for a bare local-part. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
all_token(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_token_char((unsigned char)s[i]))
			return 0;
	return n > 0;
}

static int
dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* RFC 8601 §2.2: a value may be bare when it is a token, or
 * [local-part] "@" domain-name with a dot-atom local-part. */
static int
bare_ok(const char *v)
{
	const char *at = strrchr(v, '@');
	size_t n = strlen(v);

	if (at == NULL)
		return all_token(v, n);
	return (at == v || dot_atom(v, (size_t)(at - v))) && all_token(at + 1, strlen(at + 1)) &&
	       strchr(at + 1, '@') == NULL;
}

static void
put_safe_char(struct buf *b, unsigned char c, int *err)
{
	if (c < 0x20 || c == 0x7f)
		c = '?';
	if (buf_putc(b, c) < 0)
		*err = -1;
}

static void
put_quoted(struct buf *b, const char *v, size_t n, int *err)
{
	size_t i;

	put_safe_char(b, '"', err);
	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			put_safe_char(b, '\\', err);
		put_safe_char(b, (unsigned char)v[i], err);
	}
	put_safe_char(b, '"', err);
}

/* A byte a quoted-string may hold, bare or after a backslash: printable
 * ASCII, WSP, or 8-bit (RFC 6532); never a control byte. */
static int
is_qtext_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

/* Whether s[0..n) is already one RFC 5322 quoted-string whose every byte,
 * escaped ones included, is safe in a header. */
static int
is_quoted_string(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return 0;
	for (i = 1; i < n - 1; i++) {
		if (!is_qtext_byte((unsigned char)s[i]) || s[i] == '"')
			return 0;
		if (s[i] == '\\' && (++i >= n - 1 || !is_qtext_byte((unsigned char)s[i])))
			return 0;
	}
	return 1;
}

/*
 * A value bare when it can be; an address whose local-part needs quoting
 * as quoted-string "@" domain, the form RFC 8601 §2.3's pvalue gives
 * addresses (and the one RFC 5321 uses); anything else as a quoted-string.
 */
static void
put_value(struct buf *b, const char *v, int *err)
{
	const char *at = strrchr(v, '@');

	if (bare_ok(v)) {
		if (buf_puts(b, v) < 0)
			*err = -1;
		return;
	}
	if (at != NULL && at > v && all_token(at + 1, strlen(at + 1))) {
		size_t n = (size_t)(at - v);
		if (is_quoted_string(v, n)) {
			if (buf_append(b, v, n) < 0)
				*err = -1;
		} else {
			put_quoted(b, v, n, err);
		}
		if (buf_puts(b, at) < 0)
			*err = -1;
		return;
	}
	put_quoted(b, v, strlen(v), err);
}

static void
put_comment(struct buf *b, const char *c, int *err)
{
	put_safe_char(b, '(', err);
	for (; *c != '\0'; c++) {
		if (*c == '(' || *c == ')' || *c == '\\')
			put_safe_char(b, '\\', err);
		put_safe_char(b, (unsigned char)*c, err);
	}
	put_safe_char(b, ')', err);
}

/* Appends one piece after sep (";" between results, "" otherwise), on
 * this line after a space or on a new folded line. */
static void
emit(struct authres *w, const char *sep, const struct buf *piece)
{
	size_t seplen = strlen(sep);

	if (w->error || buf_puts(w->out, sep) < 0) {
		w->error = -1;
		return;
	}
	w->col += seplen;
	if (w->col + 1 + piece->len > AUTHRES_FOLD_AT) {
		if (buf_puts(w->out, "\r\n\t") < 0)
			w->error = -1;
		w->col = 1;
	} else {
		if (buf_putc(w->out, ' ') < 0)
			w->error = -1;
		w->col++;
	}
	if (buf_append(w->out, piece->data, piece->len) < 0)
		w->error = -1;
	w->col += piece->len;
}

void
authres_begin(struct authres *w, struct buf *out, const char *authserv_id)
{
	struct buf piece;

	w->out = out;
	w->col = strlen(AUTHRES_FIELD ": ");
	w->count = 0;
	w->error = 0;
	buf_init(&piece, AUTHRES_PIECE_MAX);
	put_value(&piece, authserv_id, &w->error);
	if (buf_append(out, piece.data, piece.len) < 0)
		w->error = -1;
	w->col += piece.len;
	buf_free(&piece);
}

static void
emit_prop(struct authres *w, const char *name, const char *value)
{
	struct buf piece;
	int err = 0;

	buf_init(&piece, AUTHRES_PIECE_MAX);
	if (buf_puts(&piece, name) < 0 || buf_putc(&piece, '=') < 0)
		err = -1;
	put_value(&piece, value, &err);
	if (err)
		w->error = -1;
	emit(w, "", &piece);
	buf_free(&piece);
}

void
authres_add(struct authres *w, const char *method, const char *result, const char *comment,
            const char *reason, const struct authres_prop *props, size_t nprops)
{
	struct buf piece;
	size_t i;

	buf_init(&piece, AUTHRES_PIECE_MAX);
	if (buf_printf(&piece, "%s=%s", method, result) < 0)
		w->error = -1;
	emit(w, ";", &piece);
	if (comment != NULL) {
		buf_reset(&piece);
		put_comment(&piece, comment, &w->error);
		emit(w, "", &piece);
	}
	buf_free(&piece);
	if (reason != NULL)
		emit_prop(w, "reason", reason);
	for (i = 0; i < nprops; i++) {
		char name[64];
		int n = snprintf(name, sizeof(name), "%s.%s", props[i].ptype, props[i].property);
		if (n < 0 || (size_t)n >= sizeof(name)) {
			w->error = -1;
			continue;
		}
		emit_prop(w, name, props[i].value);
	}
	w->count++;
}

void
authres_add_spf(struct authres *w, const char *result, bool helo, const char *identity,
                const char *comment, const char *reason)
{
	struct authres_prop p = {"smtp", helo ? "helo" : "mailfrom", identity};

	authres_add(w, "spf", result, comment, reason, &p, identity != NULL ? 1 : 0);
}

void
authres_add_dkim(struct authres *w, const struct authres_dkim *sig)
{
	struct authres_prop p[5];
	char bpre[AUTHRES_PIECE_MAX];
	size_t n = 0;

	if (sig->d != NULL)
		p[n++] = (struct authres_prop){"header", "d", sig->d};
	if (sig->s != NULL)
		p[n++] = (struct authres_prop){"header", "s", sig->s};
	if (sig->i != NULL)
		p[n++] = (struct authres_prop){"header", "i", sig->i};
	if (sig->a != NULL)
		p[n++] = (struct authres_prop){"header", "a", sig->a};
	if (sig->b != NULL && sig->b_len > 0) {
		size_t len = strlen(sig->b);
		if (len > sig->b_len)
			len = sig->b_len;
		if (len >= sizeof(bpre))
			len = sizeof(bpre) - 1;
		memcpy(bpre, sig->b, len);
		bpre[len] = '\0';
		p[n++] = (struct authres_prop){"header", "b", bpre};
	}
	authres_add(w, "dkim", sig->result, sig->comment, sig->reason, p, n);
}

size_t
authres_b_prefix_len(const char *const *b, size_t n, size_t i)
{
	size_t len = AUTHRES_B_MIN, want = strlen(b[i]), j;

	if (n < 2)
		return 0;
	for (j = 0; j < n; j++) {
		size_t common = 0;
		if (j == i)
			continue;
		while (b[i][common] != '\0' && b[i][common] == b[j][common])
			common++;
		if (common + 1 > len)
			len = common + 1;
	}
	return len < want ? len : want;
}

/*
 * The disposition goes in a comment, "(p=reject dis=quarantine)", as
 * OpenDMARC writes it and Gmail does in capitals ("p=REJECT ... dis=NONE");
 * Microsoft's bare "action=" is not RFC 8601 syntax for a property.  The
 * registered property policy.dmarc carries the evaluated policy, after
 * sp=/np= and pct=/t= (its registry entry, RFC 7489 §11.1), so that a
 * parser reads it without looking into comments.
 */
void
authres_add_dmarc(struct authres *w, const char *result, const char *from_domain,
                  const char *policy, const char *evaluated, const char *disposition,
                  const char *reason)
{
	struct authres_prop p[2];
	char comment[64];
	const char *c = NULL;
	size_t n = 0;

	if (policy != NULL && disposition != NULL) {
		int len = snprintf(comment, sizeof(comment), "p=%s dis=%s", policy, disposition);
		if (len > 0 && (size_t)len < sizeof(comment))
			c = comment;
	}
	if (from_domain != NULL && from_domain[0] != '\0')
		p[n++] = (struct authres_prop){"header", "from", from_domain};
	if (evaluated != NULL)
		p[n++] = (struct authres_prop){"policy", "dmarc", evaluated};
	authres_add(w, "dmarc", result, c, reason, p, n);
}

void
authres_mark(const struct authres *w, struct authres_mark *m)
{
	m->len = w->out->len;
	m->col = w->col;
	m->count = w->count;
	m->error = w->error;
}

void
authres_rewind(struct authres *w, const struct authres_mark *m)
{
	w->out->len = m->len;
	if (w->out->data != NULL)
		w->out->data[m->len] = '\0';
	w->col = m->col;
	w->count = m->count;
	w->error = m->error;
}

void
authres_add_comment(struct authres *w, const char *comment)
{
	struct buf piece;

	buf_init(&piece, AUTHRES_PIECE_MAX);
	put_comment(&piece, comment, &w->error);
	emit(w, "", &piece);
	buf_free(&piece);
}

int
authres_end(struct authres *w)
{
	if (w->count == 0) {
		struct buf piece;
		buf_init(&piece, 8);
		if (buf_puts(&piece, "none") < 0)
			w->error = -1;
		emit(w, ";", &piece);
		buf_free(&piece);
	}
	return w->error ? -1 : 0;
}

/* ---- reader ---- */

struct rd {
	const unsigned char *p;
	size_t n, i;
};

/* Skips folding whitespace and nested comments (RFC 5322 CFWS). */
static int
skip_cfws(struct rd *r)
{
	unsigned depth = 0;

	while (r->i < r->n) {
		unsigned char c = r->p[r->i];
		if (depth > 0 && c == '\\') {
			r->i += 2;
		} else if (c == '(') {
			if (++depth > AUTHRES_COMMENT_DEPTH_MAX)
				return -1;
			r->i++;
		} else if (depth > 0 && c == ')') {
			depth--;
			r->i++;
		} else if (depth > 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			r->i++;
		} else {
			break;
		}
	}
	return depth == 0 && r->i <= r->n ? 0 : -1;
}

long
authres_cfws_len(const char *p, size_t len)
{
	struct rd r = {(const unsigned char *)p, len, 0};

	return skip_cfws(&r) < 0 ? -1 : (long)r.i;
}

static int
put_out(char *out, size_t outsz, size_t *len, unsigned char c)
{
	if (*len + 1 >= outsz)
		return -1;
	out[(*len)++] = (char)c;
	return 0;
}

static int
read_quoted(struct rd *r, char *out, size_t outsz, size_t *len)
{
	r->i++;
	while (r->i < r->n) {
		unsigned char c = r->p[r->i++];
		if (c == '"')
			return 0;
		if (c == '\r' || c == '\n')
			continue; /* folding inside the quoted-string */
		if (c == '\\') {
			if (r->i >= r->n)
				return -1;
			c = r->p[r->i++];
		}
		if (put_out(out, outsz, len, c) < 0)
			return -1;
	}
	return -1;
}

/* The authserv-id that opens the value (CFWS before it skipped). */
static int
read_leading_id(struct rd *r, char *out, size_t outsz)
{
	size_t n = 0;

	if (outsz == 0)
		return -1;
	if (skip_cfws(r) < 0 || r->i >= r->n)
		return -1;
	if (r->p[r->i] == '"') {
		if (read_quoted(r, out, outsz, &n) < 0 || n == 0)
			return -1;
	} else {
		while (r->i < r->n && is_token_char(r->p[r->i]))
			if (put_out(out, outsz, &n, r->p[r->i++]) < 0)
				return -1;
		if (n == 0)
			return -1;
	}
	out[n] = '\0';
	return 0;
}

int
authres_authserv_id(const char *value, size_t len, char *out, size_t outsz)
{
	struct rd r = {(const unsigned char *)value, len, 0};

	if (read_leading_id(&r, out, outsz) < 0 || skip_cfws(&r) < 0)
		return -1;
	while (r.i < r.n && r.p[r.i] >= '0' && r.p[r.i] <= '9')
		r.i++;
	if (skip_cfws(&r) < 0 || r.i >= r.n || r.p[r.i] != ';')
		return -1;
	return 0;
}

/*
 * RFC 8601 §5 is about what a field claims by its authserv-id, and a
 * reader downstream may be more lenient than the grammar: a field that
 * opens with our authserv-id claims to be ours even when what follows is
 * not valid (no ";", a bad version), so it is removed all the same.
 */
static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Whether the n bytes at p equal id, ignoring case, and stand as a whole
 * token (no token character right before or after). */
static bool
token_at(const unsigned char *start, const unsigned char *p, const unsigned char *end,
         const char *id, size_t n)
{
	size_t i;

	if ((size_t)(end - p) < n || (p > start && is_token_char(p[-1])))
		return false;
	for (i = 0; i < n; i++)
		if (lower(p[i]) != lower((unsigned char)id[i]))
			return false;
	return p + n == end || !is_token_char(p[n]);
}

/*
 * Whether authserv_id stands anywhere in the value as a token, once the
 * backslashes of quoted-pairs and the line ends of folding are taken out,
 * as a reader that unquotes and unfolds without parsing would see it.
 */
static bool
mentions(const char *value, size_t len, const char *authserv_id)
{
	size_t n = strlen(authserv_id), i, k = 0;
	unsigned char *flat = malloc(len + 1);
	bool found = false;

	/* Without memory the field is taken as ours: deleting a field
	 * that was not is the safe mistake. */
	if (flat == NULL)
		return true;
	for (i = 0; i < len; i++)
		if (value[i] != '\\' && value[i] != '\r' && value[i] != '\n')
			flat[k++] = (unsigned char)value[i];
	for (i = 0; i < k && !found; i++)
		found = token_at(flat, flat + i, flat + k, authserv_id, n);
	free(flat);
	return n > 0 && found;
}

/*
 * A field whose opening authserv-id cannot be read strictly (comments
 * nested past our bound, a comment never closed, no id at all) may still
 * read as ours to a lenient parser downstream; it claims to be ours when
 * our authserv-id appears in it anywhere.
 */
bool
authres_claims(const char *value, size_t len, const char *authserv_id)
{
	struct rd r = {(const unsigned char *)value, len, 0};
	char id[AUTHRES_PIECE_MAX];

	if (read_leading_id(&r, id, sizeof(id)) == 0)
		return strcasecmp(id, authserv_id) == 0;
	return mentions(value, len, authserv_id);
}

/* ---- reading results ---- */

/* A token (RFC 2045) into out, cut to outsz - 1; -1 when there is none. */
static int
read_token(struct rd *r, char *out, size_t outsz)
{
	size_t n = 0;

	while (r->i < r->n && is_token_char(r->p[r->i])) {
		if (n + 1 < outsz)
			out[n++] = (char)r->p[r->i];
		r->i++;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* A pvalue: a quoted-string, perhaps the local-part of an address, or a
 * run of bytes up to CFWS or ";"; quoted-pairs undone. */
static int
read_pvalue(struct rd *r, char *out, size_t outsz)
{
	size_t n = 0;

	if (r->i < r->n && r->p[r->i] == '"') {
		char tmp[AUTHRES_PIECE_MAX];

		if (read_quoted(r, tmp, sizeof(tmp), &n) < 0)
			return -1;
		n = n < outsz - 1 ? n : outsz - 1;
		memcpy(out, tmp, n);
		if (r->i >= r->n || r->p[r->i] != '@') {
			out[n] = '\0';
			return 0;
		}
	}
	while (r->i < r->n && !strchr(" \t\r\n(;", r->p[r->i])) {
		if (n + 1 < outsz)
			out[n++] = (char)r->p[r->i];
		r->i++;
	}
	out[n] = '\0';
	return 0;
}

static bool
expect(struct rd *r, unsigned char c)
{
	if (skip_cfws(r) < 0 || r->i >= r->n || r->p[r->i] != c)
		return false;
	r->i++;
	return skip_cfws(r) == 0;
}

/* One "reason=value" or "ptype.property=pvalue" after a result. */
static int
read_propspec(struct rd *r, struct authres_result_view *res)
{
	char name[64], value[AUTHRES_VALUE_MAX];
	const char *dot;

	if (read_token(r, name, sizeof(name)) < 0 || !expect(r, '=') ||
	    read_pvalue(r, value, sizeof(value)) < 0)
		return -1;
	if ((dot = strchr(name, '.')) == NULL || res->nprops == AUTHRES_PROPS_MAX)
		return 0; /* reason=, or one property too many: read past it */
	(void)snprintf(res->props[res->nprops].ptype, sizeof(res->props[0].ptype), "%.*s",
	               (int)(dot - name), name);
	(void)snprintf(res->props[res->nprops].property, sizeof(res->props[0].property), "%s",
	               dot + 1);
	memcpy(res->props[res->nprops].value, value, sizeof(value));
	res->nprops++;
	return 0;
}

/* One resinfo after its ";": method[/version]=result, then properties. */
static int
read_resinfo(struct rd *r, struct authres_result_view *res)
{
	char version[16];

	memset(res, 0, sizeof(*res));
	if (skip_cfws(r) < 0 || read_token(r, res->method, sizeof(res->method)) < 0)
		return -1;
	if (skip_cfws(r) < 0)
		return -1;
	if (r->i < r->n && r->p[r->i] == '/') {
		r->i++;
		if (skip_cfws(r) < 0 || read_token(r, version, sizeof(version)) < 0)
			return -1;
	}
	if (!expect(r, '=') || read_token(r, res->result, sizeof(res->result)) < 0)
		return -1;
	for (;;) {
		if (skip_cfws(r) < 0)
			return -1;
		if (r->i >= r->n || r->p[r->i] == ';')
			return 0;
		if (read_propspec(r, res) < 0)
			return -1;
	}
}

int
authres_parse(const char *value, size_t len,
              void (*fn)(void *ctx, const struct authres_result_view *r), void *ctx)
{
	struct rd r = {(const unsigned char *)value, len, 0};
	struct authres_result_view res;
	char id[AUTHRES_PIECE_MAX];
	int count = 0;

	if (read_leading_id(&r, id, sizeof(id)) < 0 || skip_cfws(&r) < 0)
		return -1;
	while (r.i < r.n && r.p[r.i] >= '0' && r.p[r.i] <= '9')
		r.i++;
	for (;;) {
		size_t at;

		if (skip_cfws(&r) < 0)
			return -1;
		if (r.i >= r.n)
			return count;
		if (r.p[r.i] != ';')
			return -1;
		r.i++;
		/* RFC 8601 §2.2 no-result: "; none" and nothing more. */
		at = r.i;
		if (count == 0 && skip_cfws(&r) == 0 && read_token(&r, id, sizeof(id)) == 0 &&
		    strcasecmp(id, "none") == 0 && skip_cfws(&r) == 0 && r.i >= r.n)
			return 0;
		r.i = at;
		if (read_resinfo(&r, &res) < 0)
			return -1;
		fn(ctx, &res);
		count++;
	}
}

const char *
authres_result_prop(const struct authres_result_view *r, const char *ptype, const char *property)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		if (strcasecmp(r->props[i].ptype, ptype) == 0 &&
		    strcasecmp(r->props[i].property, property) == 0)
			return r->props[i].value;
	return NULL;
}
