/*
 * test-buf - the bounded buffer never grows past its maximum.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "tap.h"

static void
test_append_within_max(void)
{
	struct buf b;

	buf_init(&b, 10);
	is_int(buf_append(&b, "hello", 5), 0, "append within max");
	is_int(buf_printf(&b, "%d", 12345), 0, "printf up to exactly max");
	is_mem(b.data, b.len, "hello12345", 10, "contents kept");
	is_int(b.data[b.len], 0, "NUL after data");
	buf_free(&b);
}

static void
test_append_past_max_fails_unchanged(void)
{
	struct buf b;

	buf_init(&b, 4);
	buf_puts(&b, "abc");
	errno = 0;
	is_int(buf_append(&b, "de", 2), -1, "append past max fails");
	is_int(errno, ERANGE, "errno is ERANGE");
	is_mem(b.data, b.len, "abc", 3, "contents unchanged after failure");
	is_int(buf_printf(&b, "%s", "xy"), -1, "printf past max fails");
	is_int(buf_putc(&b, 'd'), 0, "putc up to max");
	buf_free(&b);
}

static void
test_binary_and_steal(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 100);
	buf_append(&b, "a\0b", 3);
	is_int(b.len, 3, "NUL bytes are content");
	s = buf_steal(&b);
	is_mem(s, 3, "a\0b", 3, "steal hands over the bytes");
	is_int(b.len, 0, "stolen buffer is empty");
	free(s);
	s = buf_steal(&b);
	is_str(s, "", "steal of empty buffer gives empty string");
	free(s);
}

static void
test_truncate(void)
{
	struct buf b;

	buf_init(&b, 16);
	buf_puts(&b, "abcdef");
	buf_truncate(&b, 3);
	is_mem(b.data, b.len + 1, "abc", 4, "truncated to three bytes, NUL after them");
	buf_truncate(&b, 10);
	is_int(b.len, 3, "a longer length changes nothing");
	buf_puts(&b, "XY");
	is_str(b.data, "abcXY", "appending goes on from the new end");
	buf_free(&b);
}

int
main(void)
{
	test_append_within_max();
	test_append_past_max_fails_unchanged();
	test_binary_and_steal();
	test_truncate();
	return done_testing();
}
