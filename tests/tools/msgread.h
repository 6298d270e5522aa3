/*
 * msgread.h - reads a message from a file descriptor for the DKIM and ARC
 * test tools: bare LF line ends become CRLF (as on the wire), the header
 * block goes into a struct msg_headers, and the body is handed on in
 * pieces as it is read; and reads a key file.  Header-only; each tool
 * includes it once.
 */
#ifndef MSGREAD_H
#define MSGREAD_H

#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "msg.h"

struct msgread_ops {
	int (*headers)(void *ctx, struct msg_headers *h);
	int (*body)(void *ctx, const char *p, size_t n);
	/* Every converted byte, headers included (NULL: not wanted). */
	int (*raw)(void *ctx, const char *p, size_t n);
};

static inline int
msgread_chunk(const struct msgread_ops *ops, void *ctx, struct msg_parser *p, struct msg_headers *h,
              bool *in_body, const struct buf *c)
{
	size_t off = 0;
	int rc;

	if (ops->raw != NULL && ops->raw(ctx, c->data, c->len) < 0)
		return -1;
	if (*in_body)
		return ops->body(ctx, c->data, c->len);
	rc = msg_parser_feed(p, c->data, c->len, &off, NULL);
	if (rc <= 0)
		return rc;
	*in_body = true;
	if (ops->headers(ctx, h) < 0)
		return -1;
	return ops->body(ctx, c->data + off, c->len - off);
}

/* Returns 0, or -1 on a read, syntax or limit error. */
static inline int
msgread(int fd, struct msg_headers *h, const struct msgread_ops *ops, void *ctx)
{
	struct msg_parser *p = msg_parser_new(h);
	struct msg_crlf crlf = {false};
	struct buf conv;
	bool in_body = false;
	char in[65536];
	ssize_t n;
	int rc = 0;

	buf_init(&conv, 2 * sizeof(in) + 2);
	while (rc == 0 && (n = read(fd, in, sizeof(in))) > 0) {
		buf_reset(&conv);
		rc = msg_crlf_convert(&crlf, in, (size_t)n, &conv);
		if (rc == 0)
			rc = msgread_chunk(ops, ctx, p, h, &in_body, &conv);
	}
	if (n < 0)
		rc = -1;
	if (rc == 0 && !in_body)
		rc = msg_parser_finish(p, NULL) == 0 ? ops->headers(ctx, h) : -1;
	buf_free(&conv);
	msg_parser_free(p);
	return rc < 0 ? -1 : 0;
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
