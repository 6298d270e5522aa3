/*
 * msgread.h - the DKIM and ARC test tools' glue to libauth's message
 * reader: a message file is read with msg_read_file() (bare LF line ends
 * become CRLF, as on the wire), split by msg_parser into a struct
 * msg_headers and the body, and handed on in pieces as it is read; and a
 * key file read whole.  Header-only; each tool
 * includes it once.
 */
#ifndef MSGREAD_H
#define MSGREAD_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "msg.h"

struct msgread_ops {
	int (*headers)(void *ctx, struct msg_headers *h);
	int (*body)(void *ctx, const char *p, size_t n);
	/* Every converted byte, headers included (NULL: not wanted). */
	int (*raw)(void *ctx, const char *p, size_t n);
};

struct msgread_state {
	const struct msgread_ops *ops;
	void *ctx;
	struct msg_headers *h;
	struct msg_parser *p;
};

static inline int
msgread_field(void *c, const struct msg_field *f, struct auth_error *err)
{
	return msg_headers_add_field(((struct msgread_state *)c)->h, f, err);
}

static inline int
msgread_eoh(void *c, struct auth_error *err)
{
	struct msgread_state *st = c;

	(void)err;
	return st->ops->headers(st->ctx, st->h);
}

static inline int
msgread_body(void *c, const char *p, size_t n, struct auth_error *err)
{
	struct msgread_state *st = c;

	(void)err;
	return st->ops->body(st->ctx, p, n);
}

static inline int
msgread_chunk(void *c, const char *p, size_t n, struct auth_error *err)
{
	struct msgread_state *st = c;

	if (st->ops->raw != NULL && st->ops->raw(st->ctx, p, n) < 0)
		return -1;
	return msg_parser_feed(st->p, p, n, err);
}

/* Returns 0, or -1 on a read error or when a callback failed. */
static inline int
msgread(int fd, struct msg_headers *h, const struct msgread_ops *ops, void *ctx)
{
	static const struct msg_parser_ops pops = {msgread_field, msgread_eoh, msgread_body};
	struct msgread_state st = {ops, ctx, h, msg_parser_new(&pops, &st, 0)};
	FILE *f = fdopen(dup(fd), "rb");
	int rc = -1;

	if (st.p != NULL && f != NULL && msg_read_file(f, true, msgread_chunk, &st, NULL) == 0)
		rc = msg_parser_finish(st.p, NULL);
	if (f != NULL)
		fclose(f);
	msg_parser_free(st.p);
	return rc;
}

/* Appends the whole file at path (a key) to out.  Returns 0 or -1. */
static inline int
msgread_file(const char *path, struct buf *out)
{
	char in[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((n = read(fd, in, sizeof(in))) > 0)
		if (buf_append(out, in, (size_t)n) < 0)
			break;
	close(fd);
	return n == 0 ? 0 : -1;
}

#endif
