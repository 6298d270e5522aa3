/*
 * arena - see arena.h.
 *
 * A list of blocks; allocation bumps a pointer in the current block and
 * opens a new one (at least ARENA_BLOCK bytes) when it is full.  Reset keeps
 * the first block only, so a steady stream of small messages allocates
 * nothing after the first.
 */
#include "autoconf.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_BLOCK 8192u
#define ARENA_ALIGN alignof(max_align_t)

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct arena_block *head; /* the block being filled; older ones follow */
	size_t max, total;        /* bytes handed out since the last reset */
};

struct arena *
arena_new(size_t max_bytes)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (a != NULL)
		a->max = max_bytes;
	return a;
}

static void
arena_free_blocks(struct arena_block *b)
{
	while (b != NULL) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_free_blocks(a->head);
	free(a);
}

void
arena_reset(struct arena *a)
{
	struct arena_block *last = a->head;

	if (last == NULL)
		return;
	/* Keep the oldest block (the list's tail): the usual message fits it. */
	while (last->next != NULL) {
		struct arena_block *next = last->next;

		free(last);
		last = next;
	}
	last->used = 0;
	a->head = last;
	a->total = 0;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (n == 0)
		need = ARENA_ALIGN;
	if (need < n || need > a->max - a->total || a->total > a->max)
		return NULL;
	if (b == NULL || b->size - b->used < need) {
		size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	a->total += need;
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	(void)vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

size_t
arena_used(const struct arena *a)
{
	return a->total;
}
