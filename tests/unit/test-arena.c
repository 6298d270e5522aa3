/*
 * test-arena - allocations are aligned, bounded, and reset in one go.
 */
#include "autoconf.h"

#include <stdalign.h>
#include <stdint.h>

#include "arena.h"
#include "tap.h"

static void
test_alignment_and_strings(void)
{
	struct arena *a = arena_new(1 << 20);
	char *s;
	void *p;

	p = arena_alloc(a, 3);
	ok(p != NULL && (uintptr_t)p % alignof(max_align_t) == 0, "first allocation aligned");
	p = arena_alloc(a, 1);
	ok(p != NULL && (uintptr_t)p % alignof(max_align_t) == 0, "second allocation aligned");
	s = arena_printf(a, "%s=%d", "spf", 7);
	is_str(s, "spf=7", "printf into the arena");
	s = arena_strndup(a, "example.org\0junk", 11);
	is_str(s, "example.org", "strndup stops at n");
	arena_free(a);
}

static void
test_maximum_enforced(void)
{
	struct arena *a = arena_new(100);

	ok(arena_alloc(a, 64) != NULL, "allocation within max");
	ok(arena_alloc(a, 64) == NULL, "allocation past max refused");
	ok(arena_alloc(a, (size_t)-1) == NULL, "huge allocation refused without overflow");
	arena_reset(a);
	is_int(arena_used(a), 0, "reset forgets everything");
	ok(arena_alloc(a, 64) != NULL, "allocation works again after reset");
	arena_free(a);
}

static void
test_large_blocks_and_reset(void)
{
	struct arena *a = arena_new(1 << 24);
	char *big;
	int i;

	for (i = 0; i < 100; i++)
		ok(arena_alloc(a, 1000) != NULL, "many small allocations %d", i);
	big = arena_alloc(a, 100000);
	ok(big != NULL, "allocation larger than a block");
	big[99999] = 'x';
	arena_reset(a);
	is_int(arena_used(a), 0, "reset after many blocks");
	arena_free(a);
}

int
main(void)
{
	test_alignment_and_strings();
	test_maximum_enforced();
	test_large_blocks_and_reset();
	return done_testing();
}
