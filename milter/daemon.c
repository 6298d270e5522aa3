/*
 * daemon - see daemon.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"

/* The self-pipe the signal handlers and daemon_raise() write to: made by
 * daemon_signals_block() before any thread starts, so a thread that stops
 * the daemon early is heard; then only written and read (by
 * daemon_wait_signal()). */
static int daemon_sigpipe[2] = {-1, -1};

const char *
daemon_unix_path(const char *conn)
{
	if (strncmp(conn, "unix:", 5) == 0)
		return conn + 5;
	if (strncmp(conn, "local:", 6) == 0)
		return conn + 6;
	return NULL;
}

int
daemon_check_socket(const char *conn, struct auth_error *err)
{
	const char *path = daemon_unix_path(conn);
	struct sockaddr_un sun;
	int fd, rc;

	if (path == NULL || access(path, F_OK) != 0)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return auth_error_set(err, AUTH_EINVAL, "%s: socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return auth_error_set(err, AUTH_EIO, "socket: %s", strerror(errno));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0)
		return auth_error_set(err, AUTH_EIO, "%s: another daemon is listening there", path);
	return 0;
}

void
daemon_remove_socket(const char *conn)
{
	const char *path = daemon_unix_path(conn);

	if (path != NULL)
		(void)unlink(path);
}

static int
daemon_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, struct auth_error *err)
{
	struct passwd *pw;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (user != NULL) {
		if ((pw = getpwnam(user)) == NULL)
			return auth_error_set(err, AUTH_EINVAL, "unknown user %s", user);
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL)
			return auth_error_set(err, AUTH_EINVAL, "unknown group %s", group);
		*gid = gr->gr_gid;
	}
	return 0;
}

int
daemon_socket_perms(const char *conn, const char *user, const char *group, struct auth_error *err)
{
	const char *path = daemon_unix_path(conn);
	uid_t uid;
	gid_t gid;

	if (path == NULL)
		return 0;
	if (daemon_lookup(user, group, &uid, &gid, err) < 0)
		return -1;
	if (chmod(path, 0660) != 0)
		return auth_error_set(err, AUTH_EIO, "chmod %s: %s", path, strerror(errno));
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0)
		return auth_error_set(err, AUTH_EIO, "chown %s: %s", path, strerror(errno));
	return 0;
}

int
daemon_detach(struct auth_error *err)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		return auth_error_set(err, AUTH_EIO, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return auth_error_set(err, AUTH_EIO, "setsid: %s", strerror(errno));
	/* A second fork: the daemon is no session leader, so it can never
	 * acquire a controlling terminal. */
	if ((pid = fork()) < 0)
		return auth_error_set(err, AUTH_EIO, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return auth_error_set(err, AUTH_EIO, "chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		return auth_error_set(err, AUTH_EIO, "/dev/null: %s", strerror(errno));
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* Written beside the final name and renamed over it, so that a reader
 * never sees an empty or partial file. */
/* The pid in an existing pid file, or 0 when it holds none. */
static long
daemon_read_pid(const char *path)
{
	char line[32];
	ssize_t n;
	long pid = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	if ((n = read(fd, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		pid = strtol(line, NULL, 10);
	}
	close(fd);
	return pid > 0 ? pid : 0;
}

/* Whether a pid file names a process that still runs. */
static bool
daemon_pid_alive(long pid)
{
	return pid > 0 && pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/*
 * O_EXCL, so that two daemons never share one pid file: an existing file
 * naming a live process refuses the start; one left by a process that is
 * gone (a crash) is removed first.
 */
int
daemon_write_pidfile(const char *path, struct auth_error *err)
{
	char line[32];
	int fd, n, tries;
	long pid;
	bool ok;

	for (tries = 0;; tries++) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd >= 0 || errno != EEXIST || tries > 0)
			break;
		if (daemon_pid_alive(pid = daemon_read_pid(path)))
			return auth_error_set(err, AUTH_EINVAL, "%s: another daemon (pid %ld) runs",
			                      path, pid);
		if (unlink(path) != 0 && errno != ENOENT)
			return auth_error_set(err, AUTH_EIO, "%s: stale, and %s", path,
			                      strerror(errno));
	}
	if (fd < 0)
		return auth_error_set(err, AUTH_EIO, "%s: %s", path, strerror(errno));
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	ok = n > 0 && write(fd, line, (size_t)n) == n;
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		unlink(path);
		return auth_error_set(err, AUTH_EIO, "%s: write failed", path);
	}
	return 0;
}

int
daemon_remove_pidfile(const char *path, struct auth_error *err)
{
	if (daemon_read_pid(path) != (long)getpid())
		return 0;
	if (unlink(path) != 0)
		return auth_error_set(err, AUTH_EIO, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

int
daemon_check_readable(const char *path, const char *user, struct auth_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return auth_error_set(err, AUTH_EIO,
		                      "cannot read %s as user %s (%s): SIGHUP could not reload it; "
		                      "make it readable by that user or its group",
		                      path, user != NULL ? user : "(unchanged)", strerror(errno));
	close(fd);
	return 0;
}

int
daemon_identity(const char *user, const char *group, struct daemon_ident *id,
                struct auth_error *err)
{
	uid_t uid;
	gid_t gid;

	id->uid = geteuid();
	id->gid = getegid();
	id->change = false;
	if (user == NULL && group == NULL)
		return 0;
	if (daemon_lookup(user, group, &uid, &gid, err) < 0)
		return -1;
	if (uid != (uid_t)-1)
		id->uid = uid;
	id->gid = gid;
	/* Started unprivileged as that user and group already: nothing to
	 * drop, and setgroups() would fail. */
	if (geteuid() != 0 && id->uid == geteuid() && id->gid == getegid())
		return 0;
	if (geteuid() != 0)
		return auth_error_set(
		    err, AUTH_EINVAL, "cannot switch to user %s, group %s: not started as root",
		    user != NULL ? user : "(unchanged)", group != NULL ? group : "(the user's)");
	id->change = true;
	return 0;
}

int
daemon_drop_privileges(const char *user, const char *group, struct auth_error *err)
{
	struct daemon_ident id;

	if (daemon_identity(user, group, &id, err) < 0)
		return -1;
	if (!id.change)
		return 0;
	if (setgroups(1, &id.gid) != 0)
		return auth_error_set(err, AUTH_EIO, "setgroups: %s", strerror(errno));
	if (setgid(id.gid) != 0)
		return auth_error_set(err, AUTH_EIO, "setgid %ld: %s", (long)id.gid,
		                      strerror(errno));
	if (user == NULL)
		return 0;
	if (setuid(id.uid) != 0)
		return auth_error_set(err, AUTH_EIO, "setuid %ld: %s", (long)id.uid,
		                      strerror(errno));
	if (id.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return auth_error_set(err, AUTH_EIO, "root privileges could be regained");
	return 0;
}

static void
daemon_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int
daemon_signals_block(struct auth_error *err)
{
	sigset_t set;
	int rc;

	/* A peer that goes away must be an error on write, not a signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return auth_error_set(err, AUTH_EIO, "cannot ignore SIGPIPE");
	daemon_signal_set(&set);
	if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		return auth_error_set(err, AUTH_EIO, "pthread_sigmask: %s", strerror(rc));
	if (daemon_sigpipe[0] < 0 && pipe2(daemon_sigpipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return auth_error_set(err, AUTH_EIO, "pipe: %s", strerror(errno));
	/* The reading end blocks; only the writers' end must not. */
	fcntl(daemon_sigpipe[0], F_SETFL, 0);
	return 0;
}

static void
daemon_on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	/* A full pipe drops the byte: a signal is already waiting there. */
	(void)!write(daemon_sigpipe[1], &b, 1);
	errno = saved;
}

int
daemon_signals_listen(struct auth_error *err)
{
	struct sigaction sa;
	sigset_t set;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGHUP, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0)
		return auth_error_set(err, AUTH_EIO, "sigaction: %s", strerror(errno));
	daemon_signal_set(&set);
	if ((rc = pthread_sigmask(SIG_UNBLOCK, &set, NULL)) != 0)
		return auth_error_set(err, AUTH_EIO, "pthread_sigmask: %s", strerror(rc));
	return 0;
}

int
daemon_attr_block_signals(pthread_attr_t *attr)
{
	sigset_t set;

	daemon_signal_set(&set);
	return pthread_attr_setsigmask_np(attr, &set);
}

int
daemon_thread_create(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int rc;

	if ((rc = pthread_attr_init(&attr)) != 0)
		return rc;
	if ((rc = daemon_attr_block_signals(&attr)) == 0)
		rc = pthread_create(tid, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc;
}

int
daemon_wait_signal(void)
{
	unsigned char b;
	ssize_t n;

	while ((n = read(daemon_sigpipe[0], &b, 1)) != 1)
		if (n == 0 || (n < 0 && errno != EINTR))
			return SIGTERM;
	return b;
}

void
daemon_raise(int sig)
{
	daemon_on_signal(sig);
}
