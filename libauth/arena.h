/*
 * arena - a per-message memory pool, released in one call.
 *
 * Everything a message's evaluation allocates that lives until the end of
 * the message (verdict texts, header values, copies of envelope strings)
 * comes from one arena, so that end of message, abort and error paths all
 * free it with arena_reset() and cannot leak.  An arena has a maximum
 * size: an allocation past it fails (NULL) rather than growing without
 * bound.  Blocks are kept across resets for the next message.
 *
 * Not thread-safe: an arena belongs to one session.
 */
#ifndef AUTH_ARENA_H
#define AUTH_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena *arena_new(size_t max_bytes);
void arena_free(struct arena *a);
/* Forgets every allocation; memory is kept for reuse. */
void arena_reset(struct arena *a);

/* Aligned for any type; NULL when the maximum would be passed or out of memory. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

size_t arena_used(const struct arena *a);

#endif
