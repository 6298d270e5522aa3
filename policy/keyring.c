/*
 * keyring - see keyring.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyring.h"

struct key_entry {
	char *path;
	char *pem;
	size_t len;
};

struct keyring {
	struct key_entry *e;
	size_t n;
};

struct keyring *
keyring_new(void)
{
	return calloc(1, sizeof(struct keyring));
}

void
keyring_free(struct keyring *kr)
{
	size_t i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->n; i++) {
		free(kr->e[i].path);
		/* Key material: do not leave it in freed memory. */
		explicit_bzero(kr->e[i].pem, kr->e[i].len);
		free(kr->e[i].pem);
	}
	free(kr->e);
	free(kr);
}

const char *
keyring_get(const struct keyring *kr, const char *path, size_t *len)
{
	size_t i;

	for (i = 0; kr != NULL && path != NULL && i < kr->n; i++)
		if (strcmp(kr->e[i].path, path) == 0) {
			*len = kr->e[i].len;
			return kr->e[i].pem;
		}
	return NULL;
}

/* The checks made on the open file, before a byte is read. */
static int
keyring_check(int fd, const char *path, struct auth_error *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return auth_error_set(err, AUTH_EIO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return auth_error_set(err, AUTH_EINVAL, "%s: not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return auth_error_set(err, AUTH_EINVAL,
		                      "%s: readable by its group or others (mode %03o); a key "
		                      "must be mode 600 or 400",
		                      path, (unsigned)(st.st_mode & 0777));
	if ((size_t)st.st_size > KEYRING_FILE_MAX)
		return auth_error_set(err, AUTH_ELIMIT, "%s: larger than %u bytes, not a key", path,
		                      KEYRING_FILE_MAX);
	return 0;
}

static int
keyring_read(int fd, const char *path, char **pem, size_t *len, struct auth_error *err)
{
	char *buf = malloc(KEYRING_FILE_MAX + 1);
	size_t n = 0;
	ssize_t r;

	if (buf == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	while (n <= KEYRING_FILE_MAX && (r = read(fd, buf + n, KEYRING_FILE_MAX + 1 - n)) > 0)
		n += (size_t)r;
	if (n > KEYRING_FILE_MAX || r < 0) {
		explicit_bzero(buf, n);
		free(buf);
		return auth_error_set(err, AUTH_EIO, "%s: %s", path,
		                      r < 0 ? strerror(errno) : "grew while it was read");
	}
	buf[n] = '\0';
	*pem = buf;
	*len = n;
	return 0;
}

int
keyring_load(struct keyring *kr, const char *path, struct auth_error *err)
{
	struct key_entry *grown, e = {0};
	size_t len;
	int fd, rc;

	if (keyring_get(kr, path, &len) != NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return auth_error_set(err, AUTH_EIO, "%s: %s", path, strerror(errno));
	rc = keyring_check(fd, path, err);
	if (rc == 0)
		rc = keyring_read(fd, path, &e.pem, &e.len, err);
	close(fd);
	if (rc < 0)
		return -1;
	if ((e.path = strdup(path)) == NULL ||
	    (grown = reallocarray(kr->e, kr->n + 1, sizeof(*grown))) == NULL) {
		free(e.path);
		explicit_bzero(e.pem, e.len);
		free(e.pem);
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	}
	kr->e = grown;
	kr->e[kr->n++] = e;
	return 0;
}

int
keyring_load_config(struct keyring *kr, const struct policy_config *cfg, struct auth_error *err)
{
	size_t i;

	if (cfg->arc_seal_key != NULL && keyring_load(kr, cfg->arc_seal_key, err) < 0)
		return -1;
	for (i = 0; i < cfg->ndkim_sign; i++)
		if (keyring_load(kr, cfg->dkim_sign[i].keyfile, err) < 0)
			return -1;
	return 0;
}

int
keyring_load_domain(struct keyring *kr, const struct policy_config *cfg, const char *domain,
                    struct auth_error *err)
{
	size_t i;

	for (i = 0; i < cfg->ndkim_sign; i++)
		if (config_sign_matches(&cfg->dkim_sign[i], domain) &&
		    keyring_load(kr, cfg->dkim_sign[i].keyfile, err) < 0)
			return -1;
	return 0;
}
