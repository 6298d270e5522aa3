/*
 * fuzz-config - the config file parser on arbitrary bytes.
 *
 * Every input must either load or fail with a message; whatever loads must
 * answer the per-message questions without trouble.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	}
	config_free(cfg);
	return 0;
}
