/*
 * msg - see msg.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

struct msg_headers {
	struct msg_field *fields;
	size_t nfields;
	size_t cap;
	size_t bytes; /* each field plus its CRLF */
};

enum msg_parser_state {
	MSG_P_LINE_START,    /* nothing of the current line seen yet */
	MSG_P_LINE_START_CR, /* the line began with CR: blank line or not? */
	MSG_P_IN_LINE,       /* inside a line of the current field */
	MSG_P_BODY,
	MSG_P_FAILED,
};

struct msg_parser {
	const struct msg_parser_ops *ops;
	void *ctx;
	size_t max;       /* bytes of one field kept */
	struct buf field; /* the field being read, its lines joined by CRLF */
	bool have_field;
	bool cut; /* bytes of the field were dropped */
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

static int
msg_oom(struct auth_error *err)
{
	return auth_error_set(err, AUTH_ENOMEM, "out of memory");
}

struct msg_headers *
msg_headers_new(void)
{
	return calloc(1, sizeof(struct msg_headers));
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

/* Takes the bytes of b (left empty) as the next field. */
static int
msg_headers_push(struct msg_headers *h, struct buf *b, size_t name_len, size_t value_off,
                 bool truncated, struct auth_error *err)
{
	struct msg_field *f;
	size_t len = b->len;

	if (h->nfields == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;

		if ((f = reallocarray(h->fields, cap, sizeof(*f))) == NULL)
			return msg_oom(err);
		h->fields = f;
		h->cap = cap;
	}
	f = &h->fields[h->nfields];
	if ((f->raw = buf_steal(b)) == NULL)
		return msg_oom(err);
	f->raw_len = len;
	f->name_len = name_len;
	f->value_off = value_off;
	f->truncated = truncated;
	h->nfields++;
	h->bytes += len + 2;
	return 0;
}

void
msg_field_scan(const char *raw, size_t len, bool truncated, size_t *name_len, size_t *value_off)
{
	size_t i = 0, n;

	while (i < len && msg_is_name_char((unsigned char)raw[i]))
		i++;
	n = i;
	while (i < len && msg_is_wsp((unsigned char)raw[i]))
		i++;
	*name_len = *value_off = 0;
	if (n == 0 || (i < len && raw[i] != ':') || (i == len && !truncated))
		return;
	*name_len = n;
	*value_off = i < len ? i + 1 : len;
}

int
msg_field_build_value(struct buf *b, const char *p, size_t n)
{
	const char *nl;
	size_t seg;

	while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
		seg = (size_t)(nl - p);
		if (seg > 0 && p[seg - 1] == '\r')
			seg--;
		if (buf_append(b, p, seg) < 0 || buf_append(b, "\r\n", 2) < 0)
			return -1;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return buf_append(b, p, n);
}

void
msg_field_name(const char *name, size_t len, size_t *name_len, size_t *value_off)
{
	size_t trimmed = len, i;

	while (trimmed > 0 && msg_is_wsp((unsigned char)name[trimmed - 1]))
		trimmed--;
	for (i = 0; i < trimmed && msg_is_name_char((unsigned char)name[i]); i++)
		;
	*name_len = *value_off = 0;
	if (trimmed > 0 && i == trimmed) {
		*name_len = trimmed;
		*value_off = len + 1;
	}
}

int
msg_headers_add(struct msg_headers *h, const char *name, size_t name_len, const char *value,
                size_t value_len, struct auth_error *err)
{
	size_t nlen, voff;
	struct buf b;
	int r;

	msg_field_name(name, name_len, &nlen, &voff);
	buf_init(&b, SIZE_MAX / 4);
	if (buf_append(&b, name, name_len) < 0 || buf_putc(&b, ':') < 0 ||
	    msg_field_build_value(&b, value, value_len) < 0)
		r = msg_oom(err);
	else
		r = msg_headers_push(h, &b, nlen, voff, false, err);
	buf_free(&b);
	return r;
}

int
msg_headers_add_raw(struct msg_headers *h, const char *raw, size_t raw_len, struct auth_error *err)
{
	size_t name_len, value_off;
	struct buf b;
	int r;

	buf_init(&b, SIZE_MAX / 4);
	if (msg_field_build_value(&b, raw, raw_len) < 0) {
		buf_free(&b);
		return msg_oom(err);
	}
	msg_field_scan(b.data, b.len, false, &name_len, &value_off);
	r = msg_headers_push(h, &b, name_len, value_off, false, err);
	buf_free(&b);
	return r;
}

int
msg_headers_add_field(struct msg_headers *h, const struct msg_field *f, struct auth_error *err)
{
	struct buf b;
	int r;

	buf_init(&b, SIZE_MAX / 4);
	if (buf_append(&b, f->raw, f->raw_len) < 0) {
		buf_free(&b);
		return msg_oom(err);
	}
	r = msg_headers_push(h, &b, f->name_len, f->value_off, f->truncated, err);
	buf_free(&b);
	return r;
}

int
msg_headers_collect(void *h, const struct msg_field *f, struct auth_error *err)
{
	return msg_headers_add_field(h, f, err);
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

size_t
msg_headers_bytes(const struct msg_headers *h)
{
	return h->bytes;
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

	if (f->name_len == 0 || strlen(name) != f->name_len)
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
msg_parser_new(const struct msg_parser_ops *ops, void *ctx, size_t max_field_bytes)
{
	struct msg_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->ops = ops;
	p->ctx = ctx;
	p->max = max_field_bytes != 0 ? max_field_bytes : MSG_DEFAULT_MAX_FIELD_BYTES;
	if (p->max > SIZE_MAX / 4)
		p->max = SIZE_MAX / 4;
	/* One byte over: a line's final CR is held until its LF shows it to
	 * be part of the line end rather than content. */
	buf_init(&p->field, p->max + 1);
	p->state = MSG_P_LINE_START;
	return p;
}

void
msg_parser_free(struct msg_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->field);
	free(p);
}

bool
msg_parser_in_body(const struct msg_parser *p)
{
	return p->state == MSG_P_BODY;
}

/* Appends what fits of n bytes to the field; the rest is dropped. */
static int
msg_parser_keep(struct msg_parser *p, const char *s, size_t n, struct auth_error *err)
{
	size_t room = p->field.max - p->field.len;

	if (n > room) {
		n = room;
		p->cut = true;
	}
	if (n > 0 && buf_append(&p->field, s, n) < 0)
		return msg_oom(err);
	return 0;
}

/* Hands the field being read to the callback, if there is one. */
static int
msg_parser_flush(struct msg_parser *p, struct auth_error *err)
{
	struct msg_field f;
	int r;

	if (!p->have_field)
		return 0;
	if (p->field.len > p->max) {
		p->field.len = p->max;
		p->cut = true;
	}
	f.raw = p->field.data != NULL ? p->field.data : "";
	f.raw_len = p->field.len;
	f.truncated = p->cut;
	msg_field_scan(f.raw, f.raw_len, f.truncated, &f.name_len, &f.value_off);
	r = p->ops->field(p->ctx, &f, err);
	buf_reset(&p->field);
	p->have_field = false;
	p->cut = false;
	return r;
}

/* The line ended (LF seen): a final CR was its line end, not content. */
static void
msg_parser_line_end(struct msg_parser *p)
{
	if (p->field.len > 0 && p->field.data[p->field.len - 1] == '\r')
		p->field.data[--p->field.len] = '\0';
	p->state = MSG_P_LINE_START;
}

static int
msg_parser_eoh(struct msg_parser *p, struct auth_error *err)
{
	if (msg_parser_flush(p, err) < 0)
		return -1;
	p->state = MSG_P_BODY;
	return p->ops->eoh(p->ctx, err);
}

/* The first byte c of a line that is not blank: a continuation joins the
 * field being read; anything else starts a new field. */
static int
msg_parser_line_start(struct msg_parser *p, char c, struct auth_error *err)
{
	p->state = MSG_P_IN_LINE;
	if (msg_is_wsp((unsigned char)c) && p->have_field)
		return msg_parser_keep(p, "\r\n", 2, err);
	if (msg_parser_flush(p, err) < 0)
		return -1;
	p->have_field = true;
	return 0;
}

/* Consumes header-block bytes from data; returns the number used (the
 * rest is body), or -1. */
static long
msg_parser_headers(struct msg_parser *p, const char *data, size_t len, struct auth_error *err)
{
	size_t i = 0;

	while (i < len && p->state != MSG_P_BODY) {
		const char *nl;
		size_t n;

		switch (p->state) {
		case MSG_P_LINE_START:
			if (data[i] == '\n') {
				i++;
				if (msg_parser_eoh(p, err) < 0)
					return -1;
				continue;
			}
			if (data[i] == '\r') {
				i++;
				p->state = MSG_P_LINE_START_CR;
				continue;
			}
			if (msg_parser_line_start(p, data[i], err) < 0)
				return -1;
			continue;
		case MSG_P_LINE_START_CR:
			if (data[i] == '\n') {
				i++;
				if (msg_parser_eoh(p, err) < 0)
					return -1;
				continue;
			}
			if (msg_parser_line_start(p, '\r', err) < 0 ||
			    msg_parser_keep(p, "\r", 1, err) < 0)
				return -1;
			continue;
		case MSG_P_IN_LINE:
			nl = memchr(data + i, '\n', len - i);
			n = nl != NULL ? (size_t)(nl - (data + i)) : len - i;
			if (msg_parser_keep(p, data + i, n, err) < 0)
				return -1;
			i += n;
			if (nl != NULL) {
				i++;
				msg_parser_line_end(p);
			}
			continue;
		case MSG_P_BODY:
		case MSG_P_FAILED:
			break;
		}
	}
	return (long)i;
}

int
msg_parser_feed(struct msg_parser *p, const char *data, size_t len, struct auth_error *err)
{
	size_t used = 0;
	long n;

	if (p->state == MSG_P_FAILED)
		return auth_error_set(err, AUTH_EINVAL, "message parser already failed");
	if (p->state != MSG_P_BODY) {
		if ((n = msg_parser_headers(p, data, len, err)) < 0)
			goto fail;
		used = (size_t)n;
	}
	if (used < len && p->ops->body(p->ctx, data + used, len - used, err) < 0)
		goto fail;
	return 0;
fail:
	p->state = MSG_P_FAILED;
	return -1;
}

int
msg_parser_finish(struct msg_parser *p, struct auth_error *err)
{
	switch (p->state) {
	case MSG_P_BODY:
		return 0;
	case MSG_P_FAILED:
		return auth_error_set(err, AUTH_EINVAL, "message parser already failed");
	case MSG_P_IN_LINE:
		/* A CR that ended the input ends its line. */
		msg_parser_line_end(p);
		break;
	case MSG_P_LINE_START:
	case MSG_P_LINE_START_CR:
		break;
	}
	if (msg_parser_eoh(p, err) < 0) {
		p->state = MSG_P_FAILED;
		return -1;
	}
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

/* ---- msg_read_file ---- */

int
msg_read_file(FILE *f, bool unix_lines,
              int (*chunk)(void *ctx, const char *p, size_t n, struct auth_error *err), void *ctx,
              struct auth_error *err)
{
	struct msg_crlf crlf = {false};
	char *in = malloc(MSG_READ_CHUNK);
	struct buf wire;
	size_t n;
	int rc = 0;

	if (in == NULL)
		return msg_oom(err);
	buf_init(&wire, 2 * MSG_READ_CHUNK);
	while (rc == 0 && (n = fread(in, 1, MSG_READ_CHUNK, f)) > 0) {
		if (!unix_lines) {
			rc = chunk(ctx, in, n, err);
			continue;
		}
		buf_reset(&wire);
		if (msg_crlf_convert(&crlf, in, n, &wire) < 0)
			rc = msg_oom(err);
		else
			rc = chunk(ctx, wire.data, wire.len, err);
	}
	if (rc == 0 && ferror(f))
		rc = auth_error_set(err, AUTH_EIO, "read error: %s", strerror(errno));
	buf_free(&wire);
	free(in);
	return rc < 0 ? -1 : 0;
}
