/*
 * msg - see msg.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

/* RFC 5322 §2.1.1: a line holds at most 998 characters, so a name that is
 * to be followed by its colon on the same line has at most 997. */
#define MSG_NAME_MAX 997

struct msg_headers {
	struct msg_limits lim;
	struct msg_field *fields;
	size_t nfields;
	size_t cap;
	size_t bytes; /* the block as stored: each field plus its CRLF */
};

enum msg_parser_state {
	MSG_P_HEADERS,
	MSG_P_BODY,
	MSG_P_FAILED,
};

struct msg_parser {
	struct msg_headers *h;
	struct buf field; /* the field being read, its lines joined by CRLF */
	size_t name_len;  /* of the field being read */
	size_t value_off; /* of the field being read */
	struct buf line;  /* the line being read, without its LF */
	size_t lineno;    /* lines completed so far */
	enum msg_parser_state state;
};

static bool
msg_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 §2.2: printable US-ASCII characters except colon. */
static bool
msg_is_name_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ':';
}

static unsigned char
msg_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Error for a failed buf operation on header bytes. */
static int
msg_buf_error(struct auth_error *err, size_t max)
{
	if (errno == ERANGE)
		return auth_error_set(err, AUTH_ELIMIT, "header block exceeds %zu bytes", max);
	return auth_error_set(err, AUTH_ENOMEM, "out of memory");
}

struct msg_headers *
msg_headers_new(const struct msg_limits *limits)
{
	struct msg_headers *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->lim.max_header_bytes = MSG_DEFAULT_MAX_HEADER_BYTES;
	h->lim.max_headers = MSG_DEFAULT_MAX_HEADERS;
	if (limits != NULL && limits->max_header_bytes != 0)
		h->lim.max_header_bytes = limits->max_header_bytes;
	if (limits != NULL && limits->max_headers != 0)
		h->lim.max_headers = limits->max_headers;
	/* Leaves room for the parser's one extra byte and for sums of sizes. */
	if (h->lim.max_header_bytes > SIZE_MAX / 4)
		h->lim.max_header_bytes = SIZE_MAX / 4;
	return h;
}

void
msg_headers_free(struct msg_headers *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nfields; i++)
		free((char *)h->fields[i].raw);
	free(h->fields);
	free(h);
}

/* Fails unless one more field of raw_len bytes fits both limits. */
static int
msg_headers_room(const struct msg_headers *h, size_t raw_len, struct auth_error *err)
{
	size_t left = h->lim.max_header_bytes - h->bytes;

	if (h->nfields >= h->lim.max_headers)
		return auth_error_set(err, AUTH_ELIMIT, "more than %zu header fields",
		                      h->lim.max_headers);
	if (raw_len > left || left - raw_len < 2)
		return auth_error_set(err, AUTH_ELIMIT, "header block exceeds %zu bytes",
		                      h->lim.max_header_bytes);
	return 0;
}

/* Takes the bytes of b (left empty) as the next field, limits permitting. */
static int
msg_headers_push(struct msg_headers *h, struct buf *b, size_t name_len, size_t value_off,
                 struct auth_error *err)
{
	struct msg_field *f;
	size_t len = b->len;

	if (msg_headers_room(h, len, err) < 0)
		return -1;
	if (h->nfields == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;

		if (cap > h->lim.max_headers)
			cap = h->lim.max_headers;
		f = reallocarray(h->fields, cap, sizeof(*f));
		if (f == NULL)
			return auth_error_set(err, AUTH_ENOMEM, "out of memory");
		h->fields = f;
		h->cap = cap;
	}
	f = &h->fields[h->nfields];
	if ((f->raw = buf_steal(b)) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	f->raw_len = len;
	f->name_len = name_len;
	f->value_off = value_off;
	h->nfields++;
	h->bytes += len + 2;
	return 0;
}

/* Finds the name (RFC 5322 §3.6.8, with the WSP before the colon that
 * §4.5 obs-optional allows) and the colon at the start of a field. */
static int
msg_scan_name(const char *raw, size_t len, size_t *name_len, size_t *value_off)
{
	size_t i = 0, n;

	while (i < len && msg_is_name_char((unsigned char)raw[i]))
		i++;
	n = i;
	while (i < len && msg_is_wsp((unsigned char)raw[i]))
		i++;
	if (n == 0 || n > MSG_NAME_MAX || i == len || raw[i] != ':')
		return -1;
	*name_len = n;
	*value_off = i + 1;
	return 0;
}

/*
 * Appends field bytes to b with each bare LF made CRLF.  Every line end
 * must be followed by WSP: otherwise the next line would read as a field
 * of its own, and the stored bytes would not be one field.
 */
static int
msg_append_folded(struct buf *b, const char *p, size_t n, struct auth_error *err)
{
	const char *nl;
	size_t seg;

	while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
		seg = (size_t)(nl - p);
		if (seg + 1 == n || !msg_is_wsp((unsigned char)nl[1]))
			return auth_error_set(
			    err, AUTH_ESYNTAX,
			    "line end in a header field not followed by whitespace");
		if (seg > 0 && p[seg - 1] == '\r')
			seg--;
		if (buf_append(b, p, seg) < 0 || buf_append(b, "\r\n", 2) < 0)
			return msg_buf_error(err, b->max);
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	if (buf_append(b, p, n) < 0)
		return msg_buf_error(err, b->max);
	return 0;
}

int
msg_headers_add(struct msg_headers *h, const char *name, size_t name_len, const char *value,
                size_t value_len, struct auth_error *err)
{
	struct buf b;
	size_t i;
	int r;

	for (i = 0; i < name_len; i++)
		if (!msg_is_name_char((unsigned char)name[i]))
			break;
	if (name_len == 0 || name_len > MSG_NAME_MAX || i < name_len)
		return auth_error_set(err, AUTH_ESYNTAX, "invalid header field name");
	buf_init(&b, h->lim.max_header_bytes);
	if (buf_append(&b, name, name_len) < 0 || buf_putc(&b, ':') < 0)
		r = msg_buf_error(err, b.max);
	else if ((r = msg_append_folded(&b, value, value_len, err)) == 0)
		r = msg_headers_push(h, &b, name_len, name_len + 1, err);
	buf_free(&b);
	return r;
}

int
msg_headers_add_raw(struct msg_headers *h, const char *raw, size_t raw_len, struct auth_error *err)
{
	struct buf b;
	size_t name_len, value_off;
	int r;

	if (msg_scan_name(raw, raw_len, &name_len, &value_off) < 0)
		return auth_error_set(err, AUTH_ESYNTAX, "not a header field (no name and colon)");
	buf_init(&b, h->lim.max_header_bytes);
	r = msg_append_folded(&b, raw, raw_len, err);
	if (r == 0)
		r = msg_headers_push(h, &b, name_len, value_off, err);
	buf_free(&b);
	return r;
}

size_t
msg_headers_count(const struct msg_headers *h)
{
	return h->nfields;
}

const struct msg_field *
msg_headers_get(const struct msg_headers *h, size_t i)
{
	return i < h->nfields ? &h->fields[i] : NULL;
}

long
msg_headers_find(const struct msg_headers *h, const char *name, size_t start)
{
	size_t i;

	for (i = start; i < h->nfields; i++)
		if (msg_field_is(&h->fields[i], name))
			return (long)i;
	return -1;
}

bool
msg_field_is(const struct msg_field *f, const char *name)
{
	size_t i;

	if (strlen(name) != f->name_len)
		return false;
	for (i = 0; i < f->name_len; i++)
		if (msg_lower((unsigned char)f->raw[i]) != msg_lower((unsigned char)name[i]))
			return false;
	return true;
}

const char *
msg_field_value(const struct msg_field *f, size_t *len)
{
	*len = f->raw_len - f->value_off;
	return f->raw + f->value_off;
}

/* Puts b back to old_len bytes after a failed append. */
static int
msg_buf_rollback(struct buf *b, size_t old_len)
{
	b->len = old_len;
	if (b->data != NULL)
		b->data[old_len] = '\0';
	return -1;
}

int
msg_field_unfold(const struct msg_field *f, struct buf *out)
{
	size_t n, i, start = 0, old = out->len;
	const char *v = msg_field_value(f, &n);

	for (i = 0; i + 2 < n; i++) {
		if (v[i] != '\r' || v[i + 1] != '\n' || !msg_is_wsp((unsigned char)v[i + 2]))
			continue;
		if (buf_append(out, v + start, i - start) < 0)
			return msg_buf_rollback(out, old);
		start = i + 2;
		i++;
	}
	if (buf_append(out, v + start, n - start) < 0)
		return msg_buf_rollback(out, old);
	return 0;
}

/* ---- msg_parser ---- */

struct msg_parser *
msg_parser_new(struct msg_headers *h)
{
	struct msg_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->h = h;
	/* One byte over the limit: a line's final CR is held until its LF
	 * shows it to be part of the line end rather than content. */
	buf_init(&p->field, h->lim.max_header_bytes + 1);
	buf_init(&p->line, h->lim.max_header_bytes + 1);
	p->state = MSG_P_HEADERS;
	return p;
}

void
msg_parser_free(struct msg_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->field);
	buf_free(&p->line);
	free(p);
}

/*
 * Appends n bytes of the current line, first checking that the header
 * block can still fit: what is held plus these bytes (not counting a final
 * CR, which may turn out to be half a line end) is a lower bound on what
 * will be stored, so going over the limit here means the message does.
 */
static int
msg_parser_take(struct msg_parser *p, const char *s, size_t n, struct auth_error *err)
{
	const struct msg_headers *h = p->h;
	size_t max = h->lim.max_header_bytes, held = h->bytes, more;

	if (n == 0)
		return 0;
	if (p->field.len > 0)
		held += p->field.len + 2;
	held += p->line.len;
	more = s[n - 1] == '\r' ? n - 1 : n;
	if (held > max || more > max - held)
		return auth_error_set(err, AUTH_ELIMIT, "header block exceeds %zu bytes", max);
	if (buf_append(&p->line, s, n) < 0)
		return msg_buf_error(err, max);
	return 0;
}

/* Stores the field being read, if any. */
static int
msg_parser_flush(struct msg_parser *p, struct auth_error *err)
{
	if (p->field.len == 0)
		return 0;
	return msg_headers_push(p->h, &p->field, p->name_len, p->value_off, err);
}

/* Handles a completed line: 0 in the header block, 1 for the blank line
 * that ends it, -1 on error. */
static int
msg_parser_line(struct msg_parser *p, struct auth_error *err)
{
	const char *s = p->line.data;
	size_t n = p->line.len;
	int r = 0;

	p->lineno++;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n == 0)
		r = msg_parser_flush(p, err) < 0 ? -1 : 1;
	else if (msg_is_wsp((unsigned char)s[0])) {
		if (p->field.len == 0)
			r = auth_error_set(err, AUTH_ESYNTAX,
			                   "line %zu: continuation line before any header field",
			                   p->lineno);
		else if (buf_append(&p->field, "\r\n", 2) < 0 || buf_append(&p->field, s, n) < 0)
			r = msg_buf_error(err, p->h->lim.max_header_bytes);
	} else if (msg_parser_flush(p, err) < 0)
		r = -1;
	else if (msg_scan_name(s, n, &p->name_len, &p->value_off) < 0)
		r = auth_error_set(err, AUTH_ESYNTAX,
		                   "line %zu: neither a header field nor a continuation line",
		                   p->lineno);
	else if (buf_append(&p->field, s, n) < 0)
		r = msg_buf_error(err, p->h->lim.max_header_bytes);
	buf_reset(&p->line);
	return r;
}

int
msg_parser_feed(struct msg_parser *p, const char *data, size_t len, size_t *body_off,
                struct auth_error *err)
{
	const char *nl;
	size_t i = 0, n;
	int r;

	if (p->state == MSG_P_BODY) {
		*body_off = 0;
		return 1;
	}
	if (p->state == MSG_P_FAILED)
		return auth_error_set(err, AUTH_EINVAL, "message parser already failed");
	while (i < len) {
		nl = memchr(data + i, '\n', len - i);
		n = nl != NULL ? (size_t)(nl - (data + i)) : len - i;
		if (msg_parser_take(p, data + i, n, err) < 0)
			goto fail;
		i += n;
		if (nl == NULL)
			break;
		i++;
		if ((r = msg_parser_line(p, err)) < 0)
			goto fail;
		if (r == 1) {
			p->state = MSG_P_BODY;
			*body_off = i;
			return 1;
		}
	}
	return 0;
fail:
	p->state = MSG_P_FAILED;
	return -1;
}

int
msg_parser_finish(struct msg_parser *p, struct auth_error *err)
{
	if (p->state == MSG_P_BODY)
		return 0;
	if (p->state == MSG_P_FAILED)
		return auth_error_set(err, AUTH_EINVAL, "message parser already failed");
	if ((p->line.len > 0 && msg_parser_line(p, err) < 0) || msg_parser_flush(p, err) < 0) {
		p->state = MSG_P_FAILED;
		return -1;
	}
	p->state = MSG_P_BODY;
	return 0;
}

/* ---- msg_crlf ---- */

int
msg_crlf_convert(struct msg_crlf *st, const char *in, size_t len, struct buf *out)
{
	const char *p = in, *end, *nl;
	size_t old = out->len;
	bool cr_before;

	if (len == 0)
		return 0;
	end = in + len;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		cr_before = nl > in ? nl[-1] == '\r' : st->last_cr;
		if (buf_append(out, p, (size_t)(nl - p)) < 0 ||
		    buf_append(out, cr_before ? "\n" : "\r\n", cr_before ? 1 : 2) < 0)
			return msg_buf_rollback(out, old);
		p = nl + 1;
	}
	if (buf_append(out, p, (size_t)(end - p)) < 0)
		return msg_buf_rollback(out, old);
	st->last_cr = in[len - 1] == '\r';
	return 0;
}
