/*
 * maildir - see maildir.h.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "maildir.h"
#include "smtpcmd.h"

/* Makes every file name of this process unique, with the pid and time. */
static atomic_ulong maildir_seq;

bool
maildir_per_recipient(const char *tmpl)
{
	return strstr(tmpl, "%d") != NULL || strstr(tmpl, "%l") != NULL;
}

/* Appends a lower-cased part that must be safe as one path component. */
static int
maildir_part(char *out, size_t *o, const char *p, size_t n, struct auth_error *err)
{
	size_t i;

	if (n == 0 || p[0] == '.')
		return auth_error_set(err, AUTH_EINVAL, "the address cannot name a folder");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)p[i]);

		if (!isalnum(c) && c != '.' && c != '-' && c != '_' && c != '+')
			return auth_error_set(err, AUTH_EINVAL, "the address cannot name a folder");
		if (*o + 1 >= MAILDIR_PATH_MAX)
			return auth_error_set(err, AUTH_ELIMIT, "folder path too long");
		out[(*o)++] = (char)c;
	}
	return 0;
}

int
maildir_expand(const char *tmpl, const char *rcpt, char out[MAILDIR_PATH_MAX],
               struct auth_error *err)
{
	const char *local, *domain;
	size_t llen, o = 0;

	smtpcmd_split(rcpt, &local, &llen, &domain);
	for (; *tmpl != '\0'; tmpl++) {
		if (tmpl[0] == '%' && (tmpl[1] == 'd' || tmpl[1] == 'l')) {
			int rc = tmpl[1] == 'd' ? maildir_part(out, &o, domain, strlen(domain), err)
			                        : maildir_part(out, &o, local, llen, err);

			if (rc < 0)
				return -1;
			tmpl++;
			continue;
		}
		if (tmpl[0] == '%' && tmpl[1] == '%')
			tmpl++;
		if (o + 1 >= MAILDIR_PATH_MAX)
			return auth_error_set(err, AUTH_ELIMIT, "folder path too long");
		out[o++] = *tmpl;
	}
	out[o] = '\0';
	return 0;
}

static int
maildir_mkdir(const char *path, struct auth_error *err)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return auth_error_set(err, AUTH_EIO, "mkdir %s: %s", path, strerror(errno));
	return 0;
}

/* The folder and its three subfolders; parents of a per-recipient folder
 * are made too (mkdir -p). */
static int
maildir_make(const char *dir, struct auth_error *err)
{
	static const char *const subs[] = {"tmp", "new", "cur"};
	char path[MAILDIR_PATH_MAX + 8];
	size_t i, len = strlen(dir);

	if (len + 5 > sizeof(path))
		return auth_error_set(err, AUTH_ELIMIT, "folder path too long");
	memcpy(path, dir, len + 1);
	for (i = 1; i < len; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (maildir_mkdir(path, err) < 0)
			return -1;
		path[i] = '/';
	}
	if (maildir_mkdir(path, err) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		if (maildir_mkdir(path, err) < 0)
			return -1;
	}
	return 0;
}

static void
maildir_name(char *out, size_t outlen)
{
	char host[256];
	struct timeval tv;
	size_t i;

	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' may not appear in a Maildir file name. */
	for (i = 0; host[i] != '\0'; i++)
		if (host[i] == '/' || host[i] == ':')
			host[i] = '_';
	snprintf(out, outlen, "%lld.M%06ldP%ldQ%lu.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
	         (long)getpid(), atomic_fetch_add(&maildir_seq, 1) + 1, host);
}

static int
maildir_write(int fd, const struct smtpc_piece *pieces, size_t npieces)
{
	size_t i, off;
	ssize_t w;

	for (i = 0; i < npieces; i++)
		for (off = 0; off < pieces[i].n; off += (size_t)w)
			if ((w = write(fd, pieces[i].p + off, pieces[i].n - off)) <= 0) {
				if (w < 0 && errno == EINTR) {
					w = 0;
					continue;
				}
				return -1;
			}
	return 0;
}

/* Writes one tmp/ file, fsynced; its path in tmp. */
static int
maildir_tmp(const char *dir, const struct smtpc_piece *pieces, size_t npieces,
            char tmp[MAILDIR_PATH_MAX + 300], const char *name, struct auth_error *err)
{
	int fd, rc;

	if (maildir_make(dir, err) < 0)
		return -1;
	snprintf(tmp, MAILDIR_PATH_MAX + 300, "%s/tmp/%s", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return auth_error_set(err, AUTH_EIO, "%s: %s", tmp, strerror(errno));
	rc = maildir_write(fd, pieces, npieces) < 0 || fsync(fd) != 0 ? -1 : 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc < 0) {
		auth_error_set(err, AUTH_EIO, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

/* tmp/NAME to new/NAME, and new/ synced so the rename survives a crash. */
static int
maildir_commit(const char *dir, const char *tmp, const char *name, struct auth_error *err)
{
	char path[MAILDIR_PATH_MAX + 300];
	int fd;

	snprintf(path, sizeof(path), "%s/new/%s", dir, name);
	if (rename(tmp, path) != 0)
		return auth_error_set(err, AUTH_EIO, "rename into %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/new", dir);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

int
maildir_deliver(const char *const *dirs, size_t ndirs, const struct smtpc_piece *pieces,
                size_t npieces, struct auth_error *err)
{
	char(*tmps)[MAILDIR_PATH_MAX + 300] = calloc(ndirs, sizeof(*tmps));
	char name[400];
	size_t i, done;
	int rc = 0;

	if (tmps == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	maildir_name(name, sizeof(name));
	for (done = 0; done < ndirs; done++)
		if (maildir_tmp(dirs[done], pieces, npieces, tmps[done], name, err) < 0)
			break;
	if (done < ndirs) {
		for (i = 0; i < done; i++)
			unlink(tmps[i]);
		free(tmps);
		return -1;
	}
	for (i = 0; i < ndirs; i++)
		if (maildir_commit(dirs[i], tmps[i], name, err) < 0)
			rc = -1;
	free(tmps);
	return rc;
}
