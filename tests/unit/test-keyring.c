/*
 * test-keyring - key files are read once, and only when nobody but their
 * owner can read them.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "keyring.h"
#include "tap.h"

static char dir[] = "/tmp/test-keyring-XXXXXX";

static const char *
path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void
test_load(void)
{
	struct keyring *kr = keyring_new();
	struct auth_error err;
	const char *p, *pem;
	size_t len;
	char big[KEYRING_FILE_MAX + 2];

	p = write_file("ok.key", "KEY ONE\n", 0600);
	is_int(keyring_load(kr, p, &err), 0, "a mode 600 key is read");
	pem = keyring_get(kr, p, &len);
	is_mem(pem, len, "KEY ONE\n", 8, "its text");
	write_file("ok.key", "KEY TWO\n", 0600);
	is_int(keyring_load(kr, p, &err), 0, "loading it again");
	pem = keyring_get(kr, p, &len);
	is_mem(pem, len, "KEY ONE\n", 8, "keeps what was read first");

	p = write_file("group.key", "K\n", 0640);
	is_int(keyring_load(kr, p, &err), -1, "a group-readable key is refused");
	ok(strstr(err.msg, "group.key: readable by its group or others (mode 640)") != NULL,
	   "saying so: %s", err.msg);
	p = write_file("world.key", "K\n", 0604);
	is_int(keyring_load(kr, p, &err), -1, "a world-readable key is refused");
	ok(keyring_get(kr, p, &len) == NULL, "and not kept");
	is_int(keyring_load(kr, dir, &err), -1, "a directory is refused");
	ok(strstr(err.msg, "not a regular file") != NULL, "as not a regular file");
	is_int(keyring_load(kr, path_of("missing.key"), &err), -1, "a missing file");
	ok(strstr(err.msg, "missing.key: No such file or directory") != NULL, "names it");
	symlink(path_of("ok.key"), path_of("link.key"));
	is_int(keyring_load(kr, path_of("link.key"), &err), -1, "a symbolic link is not followed");
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p = write_file("big.key", big, 0400);
	is_int(keyring_load(kr, p, &err), -1, "a file over KEYRING_FILE_MAX");
	ok(strstr(err.msg, "not a key") != NULL, "is not a key");
	keyring_free(kr);
}

static void
test_config(void)
{
	struct policy_config *cfg = config_new(NULL);
	struct keyring *kr = keyring_new();
	struct auth_error err;
	char line[512];
	size_t len;

	write_file("arc.key", "ARC\n", 0600);
	write_file("sign.key", "SIGN\n", 0400);
	config_set(cfg, "arc_seal_key", path_of("arc.key"), NULL);
	snprintf(line, sizeof(line), "example.org s1 %s", path_of("sign.key"));
	config_set(cfg, "dkim_sign", line, NULL);
	is_int(keyring_load_config(kr, cfg, &err), 0, "every key a config names");
	ok(keyring_get(kr, path_of("arc.key"), &len) != NULL, "the sealing key");
	ok(keyring_get(kr, path_of("sign.key"), &len) != NULL, "the signing key");
	snprintf(line, sizeof(line), "example.net s1 %s", path_of("group.key"));
	config_set(cfg, "dkim_sign", line, NULL);
	is_int(keyring_load_config(kr, cfg, &err), -1, "one bad key fails the load");
	config_free(cfg);
	keyring_free(kr);
}

int
main(void)
{
	const char *names[] = {"ok.key",  "group.key", "world.key", "link.key",
	                       "big.key", "arc.key",   "sign.key"};

	if (mkdtemp(dir) == NULL)
		return 1;
	test_load();
	test_config();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_of(names[i]));
	rmdir(dir);
	return done_testing();
}
