/*
 * buf - a growable byte buffer with a hard maximum size.
 *
 * Every buffer that takes bytes from outside (mail, DNS, config) has a
 * maximum, fixed when it is made: growing past it fails with -1 and leaves
 * the contents as they were, so hostile input cannot make memory grow
 * without bound.  The data is always followed by a NUL byte (not counted in
 * len) for the convenience of callers that print it; parsers must still use
 * (data, len), since the content itself may contain NUL bytes.
 *
 * Ownership: the struct is the caller's (usually embedded); buf_free()
 * releases the storage.  Not thread-safe: one owner at a time.
 */
#ifndef AUTH_BUF_H
#define AUTH_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Drops everything past the first len bytes (no effect when len >= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* Each returns 0, or -1 when the result would exceed max or memory ran out
 * (errno ERANGE or ENOMEM). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_putc(struct buf *b, int c);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Detaches the storage (NUL-terminated) and leaves b empty; the caller
 * frees the result.  An empty buffer yields ""; NULL only when out of memory. */
char *buf_steal(struct buf *b);

#endif
