/*
 * smtpsink.h - Postfix's smtp-sink as a test's SMTP (or LMTP) server on a
 * free loopback port, dumping each message it takes into a directory.
 * Header-only, like tap.h.  smtp-sink needs root (it drops to nobody);
 * smtpsink_usable() says whether this run can have it.
 */
#ifndef SMTPSINK_H
#define SMTPSINK_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMTPSINK_PATH "/usr/sbin/smtp-sink"

struct smtpsink {
	pid_t pid;
	int port;
	char dir[64]; /* the dump directory, made by smtpsink_usable() */
};

/* A loopback TCP port that was free a moment ago, or -1. */
static inline int
smtpsink_free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static inline bool
smtpsink_usable(struct smtpsink *s, const char *name)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/%s-XXXXXX", name);
	if (access(SMTPSINK_PATH, X_OK) != 0 || getuid() != 0 || mkdtemp(s->dir) == NULL)
		return false;
	chmod(s->dir, 0777);
	return true;
}

static inline bool
smtpsink_connects(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                          .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;

	if (fd >= 0)
		close(fd);
	return up;
}

/* Starts it with the dump files named prefix...; extra is NULL or more
 * options (e.g. {"-r", "RCPT", NULL} to defer every RCPT).  0 once it
 * takes connections, or -1. */
static inline int
smtpsink_start(struct smtpsink *s, bool lmtp, const char *prefix, const char *const *extra)
{
	char addr[32], dump[200];
	const char *argv[16];
	size_t n = 0;
	int i;

	s->port = smtpsink_free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", s->port);
	snprintf(dump, sizeof(dump), "%s/%s%%M%%S.", s->dir, prefix);
	argv[n++] = "smtp-sink";
	argv[n++] = "-u";
	argv[n++] = "nobody";
	argv[n++] = "-d";
	argv[n++] = dump;
	if (lmtp)
		argv[n++] = "-L";
	for (; extra != NULL && *extra != NULL && n < 12; extra++)
		argv[n++] = *extra;
	argv[n++] = addr;
	argv[n++] = "10";
	argv[n] = NULL;
	if ((s->pid = fork()) == 0) {
		execv(SMTPSINK_PATH, (char *const *)argv);
		_exit(127);
	}
	/* The sink answers the probe's connection and sees it close. */
	for (i = 0; i < 50; i++) {
		if (smtpsink_connects(s->port))
			return 0;
		usleep(100000);
	}
	return -1;
}

static inline void
smtpsink_stop(struct smtpsink *s)
{
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
}

/* One file the sink dumped with this prefix (malloc'd, removed from the
 * directory), or NULL when there is none. */
static inline char *
smtpsink_take(const struct smtpsink *s, const char *prefix)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	char path[600], *buf = NULL;
	FILE *f;
	long n;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			break;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		if (n < 0 || (buf = calloc(1, (size_t)n + 1)) == NULL) {
			fclose(f);
			break;
		}
		if (fread(buf, 1, (size_t)n, f) != (size_t)n)
			buf[0] = '\0';
		fclose(f);
		unlink(path);
		break;
	}
	if (d != NULL)
		closedir(d);
	return buf;
}

/* Removes what is left in the directory, and the directory. */
static inline void
smtpsink_cleanup(struct smtpsink *s)
{
	char *left;

	while ((left = smtpsink_take(s, "")) != NULL)
		free(left);
	rmdir(s->dir);
}

#endif
