/*
 * preflight - see preflight.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "preflight.h"

void
preflight_dirname(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, outlen, ".");
	else if (slash == path)
		snprintf(out, outlen, "/");
	else
		snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

static int
preflight_missing(const char *what, const char *path, int e, struct auth_error *err)
{
	const char *sep = what[0] != '\0' ? ": " : "";

	if (e == ENOENT)
		return auth_error_set(err, AUTH_EIO, "%s%s%s does not exist: %s", what, sep, path,
		                      strerror(e));
	return auth_error_set(err, AUTH_EIO, "%s%s%s: %s", what, sep, path, strerror(e));
}

int
preflight_parent_dir(const char *what, const char *path, struct auth_error *err)
{
	char dir[PATH_MAX];
	struct stat st;

	preflight_dirname(path, dir, sizeof(dir));
	if (stat(dir, &st) != 0)
		return preflight_missing(what, dir, errno, err);
	if (!S_ISDIR(st.st_mode))
		return preflight_missing(what, dir, ENOTDIR, err);
	return 0;
}

/* Whether the mode bits of st let id do want (R_OK, W_OK, X_OK bits);
 * a path with an access ACL is given the benefit of the doubt. */
static bool
preflight_mode_allows(const char *path, const struct stat *st, const struct daemon_ident *id,
                      int want)
{
	mode_t bits = st->st_uid == id->uid   ? (st->st_mode >> 6) & 7
	              : st->st_gid == id->gid ? (st->st_mode >> 3) & 7
	                                      : st->st_mode & 7;

	if (id->uid == 0 || ((unsigned)want & ~(unsigned)bits) == 0)
		return true;
	return getxattr(path, "system.posix_acl_access", NULL, 0) > 0;
}

/* path as id would meet it: every directory above it searchable, and
 * want allowed on path itself.  Returns 0, -1, or -ENOENT when path
 * itself is not there. */
static int
preflight_walk(const char *path, const struct daemon_ident *id, int want, struct auth_error *err)
{
	char prefix[PATH_MAX];
	struct stat st;
	size_t i, len = strlen(path);

	if (len >= sizeof(prefix))
		return preflight_missing("", path, ENAMETOOLONG, err);
	for (i = 1; path[0] == '/' && i < len; i++) {
		if (path[i] != '/')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (stat(prefix, &st) != 0)
			return preflight_missing("", prefix, errno, err);
		if (!preflight_mode_allows(prefix, &st, id, X_OK))
			return preflight_missing("", prefix, EACCES, err);
	}
	if (stat(path, &st) != 0) {
		auth_error_set(err, AUTH_EIO, "%s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (!preflight_mode_allows(path, &st, id, want))
		return preflight_missing("", path, EACCES, err);
	return 0;
}

/* The same, asked of the kernel for our own account. */
static int
preflight_self(const char *path, int want, struct auth_error *err)
{
	if (faccessat(AT_FDCWD, path, want, AT_EACCESS) == 0)
		return 0;
	if (errno == ENOENT && access(path, F_OK) != 0) {
		auth_error_set(err, AUTH_EIO, "%s: %s", path, strerror(errno));
		return -ENOENT;
	}
	return preflight_missing("", path, errno, err);
}

static int
preflight_check(const char *path, const struct daemon_ident *id, int want, struct auth_error *err)
{
	return id->change ? preflight_walk(path, id, want, err) : preflight_self(path, want, err);
}

int
preflight_access(const char *path, const struct daemon_ident *id, enum preflight_access how,
                 struct auth_error *err)
{
	char dir[PATH_MAX];
	int rc;

	if (how == PREFLIGHT_READ) {
		rc = preflight_check(path, id, R_OK, err);
		return rc == -ENOENT ? preflight_missing("", path, ENOENT, err) : rc;
	}
	preflight_dirname(path, dir, sizeof(dir));
	if ((rc = preflight_check(dir, id, W_OK | X_OK, err)) < 0)
		return rc == -ENOENT ? preflight_missing("", dir, ENOENT, err) : -1;
	rc = preflight_check(path, id, R_OK | W_OK, err);
	return rc == -ENOENT || rc == 0 ? 0 : -1;
}

int
preflight_host(const char *what, const char *host, struct auth_error *err)
{
	struct addrinfo hints, *res;
	char name[NI_MAXHOST];
	size_t len = strlen(host);
	int rc;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(name))
		return 0;
	memcpy(name, host, len);
	name[len] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(name, NULL, &hints, &res)) != 0)
		return auth_error_set(err, AUTH_EIO, "%s: %s: %s", what, name, gai_strerror(rc));
	freeaddrinfo(res);
	return 0;
}
