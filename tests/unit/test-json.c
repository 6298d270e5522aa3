/*
 * test-json - the JSON writer's output is exact and always valid.
 */
#include "autoconf.h"

#include "json.h"
#include "tap.h"

static void
test_nested_members_and_commas(void)
{
	struct buf b;
	struct json j;

	buf_init(&b, 1024);
	json_init(&j, &b);
	json_object_begin(&j);
	json_key(&j, "spf");
	json_object_begin(&j);
	json_key(&j, "result");
	json_string(&j, "pass");
	json_key(&j, "aligned");
	json_bool(&j, true);
	json_object_end(&j);
	json_key(&j, "dkim");
	json_array_begin(&j);
	json_int(&j, 1);
	json_int(&j, -2);
	json_null(&j);
	json_array_end(&j);
	json_object_end(&j);
	ok(json_ok(&j), "writer reports success");
	is_str(b.data, "{\"spf\":{\"result\":\"pass\",\"aligned\":true},\"dkim\":[1,-2,null]}",
	       "nested object and array");
	buf_free(&b);
}

static void
test_escapes_control_and_invalid_utf8(void)
{
	struct buf b;
	struct json j;

	buf_init(&b, 1024);
	json_init(&j, &b);
	json_string_len(&j, "a\"b\\c\n\x01\0\xc3\xa9\xff\xed\xa0\x80", 14);
	is_str(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\\u0000\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\"",
	       "quotes, backslash, controls, NUL escaped; valid UTF-8 kept; invalid replaced");
	buf_free(&b);
}

static void
test_overflow_is_sticky(void)
{
	struct buf b;
	struct json j;

	buf_init(&b, 8);
	json_init(&j, &b);
	json_string(&j, "0123456789");
	json_int(&j, 1);
	ok(!json_ok(&j), "overflow of the buffer's maximum is reported");
	buf_free(&b);
}

int
main(void)
{
	test_nested_members_and_commas();
	test_escapes_control_and_invalid_utf8();
	test_overflow_is_sticky();
	return done_testing();
}
