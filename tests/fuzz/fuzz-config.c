/*
 * fuzz-config - the config file parser on arbitrary bytes.
 *
 * Every input must either load or fail with a message; whatever loads must
 * answer the per-message questions without trouble, and be written out
 * (config_format(), as authmilter -t -v does) as text that loads again
 * and is written out the same.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_format(const struct policy_config *cfg)
{
	struct policy_config *again = config_new(NULL);
	struct buf a, b;

	buf_init(&a, 64u << 20);
	buf_init(&b, 64u << 20);
	if (again == NULL || config_format(cfg, &a) < 0 ||
	    config_load_string(again, "formatted", a.data, a.len, NULL) < 0 ||
	    config_format(again, &b) < 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	buf_free(&a);
	buf_free(&b);
	config_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_error err;
	struct policy_config *cfg = config_new(&err);

	if (cfg == NULL)
		return 0;
	if (config_load_string(cfg, "fuzz.conf", (const char *)data, size, &err) == 0) {
		(void)config_is_trusted(cfg, "192.0.2.1");
		(void)config_is_trusted(cfg, "::ffff:10.1.2.3");
		(void)config_never_reject(cfg, "mail.example.com");
		check_format(cfg);
	}
	config_free(cfg);
	return 0;
}
