/*
 * configtest.h - for the config tests: a config written out with
 * config_format() reads back into a fresh config of the same kind and is
 * written out the same.  Header-only; include after tap.h.
 */
#ifndef CONFIGTEST_H
#define CONFIGTEST_H

#include "buf.h"
#include "config.h"

/* Writes cfg into text (the caller's, initialized) and checks that it
 * reads back; frees again. */
static inline void
configtest_roundtrip(const struct policy_config *cfg, struct policy_config *again, struct buf *text)
{
	struct auth_error err;
	struct buf b;

	buf_init(&b, 1u << 20);
	is_int(config_format(cfg, text), 0, "config_format");
	is_int(config_load_string(again, "formatted.conf", text->data, text->len, &err), 0,
	       "the text reads back");
	is_int(config_format(again, &b), 0, "and formats again");
	is_str(b.data, text->data, "to the same text");
	buf_free(&b);
	config_free(again);
}

#endif
