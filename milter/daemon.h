/*
 * daemon - the operating-system side of authmilter: the listening socket,
 * daemonizing, the pid file, dropping privileges and signals.
 *
 * Signals: SIGHUP, SIGTERM and SIGINT are blocked before any thread
 * starts (and so in every thread a front end starts), and the main thread
 * alone keeps them unblocked with handlers that write the signal number to
 * a pipe.  Linux hands a process-directed signal to the main
 * thread first whenever that thread does not block it, so it is the main
 * thread that sees them, and daemon_wait_signal() reads them from the pipe
 * outside signal context.
 *
 * Errors are reported through struct auth_error; nothing here logs.
 */
#ifndef AUTH_DAEMON_H
#define AUTH_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* The path of a unix: or local: socket, or NULL for another kind. */
const char *daemon_unix_path(const char *conn);
/* For a unix: or local: socket, refuses when a daemon already answers on
 * it; a stale one is left for the opening to remove. */
int daemon_check_socket(const char *conn, struct auth_error *err);
/* Once the socket is open: a unix socket gets mode 0660 and the owner and
 * group the daemon runs as, so the MTA's group can connect. */
int daemon_socket_perms(const char *conn, const char *user, const char *group,
                        struct auth_error *err);
/* Removes a unix socket at exit (best effort: after dropping privileges
 * the directory may not be ours). */
void daemon_remove_socket(const char *conn);
/* Forks into the background (new session, cwd /, stdio on /dev/null). */
int daemon_detach(struct auth_error *err);
/* Creates the pid file with O_EXCL: refuses when it names a process that
 * still runs, replaces one left by a process that is gone. */
int daemon_write_pidfile(const char *path, struct auth_error *err);
/* Removes the pid file at exit, if it is still ours. */
int daemon_remove_pidfile(const char *path, struct auth_error *err);
/* After dropping privileges: whether path (the config file) can still be
 * read, so that a reload on SIGHUP can read it; user names the account in
 * the error. */
int daemon_check_readable(const char *path, const char *user, struct auth_error *err);
/* The account the daemon runs as once daemon_drop_privileges(user, group)
 * is done: change is false when there is nothing to drop (neither given,
 * or started unprivileged as that user and group already).  Errors: an
 * unknown user or group, or another account asked for without root. */
struct daemon_ident {
	uid_t uid;
	gid_t gid; /* the only group: supplementary groups are dropped */
	bool change;
};
int daemon_identity(const char *user, const char *group, struct daemon_ident *id,
                    struct auth_error *err);
/* setgroups/setgid/setuid to user and group (either may be NULL), each
 * checked, then checks that root cannot be regained; nothing when
 * daemon_identity() finds nothing to change. */
int daemon_drop_privileges(const char *user, const char *group, struct auth_error *err);

/* Blocks the signals in the calling thread (before any other thread
 * starts), so that threads made later inherit the mask, and makes the pipe
 * daemon_raise() writes to. */
int daemon_signals_block(struct auth_error *err);
/* In the main thread, after the other threads started: handlers on,
 * signals unblocked here only. */
int daemon_signals_listen(struct auth_error *err);
/* Sets attr so that the thread made with it starts with the signals of
 * daemon_signals_block() blocked; returns 0 or an errno value. */
int daemon_attr_block_signals(pthread_attr_t *attr);
/* pthread_create() with the signals of daemon_signals_block() blocked in
 * the new thread whatever the caller's mask; returns 0 or an errno value. */
int daemon_thread_create(pthread_t *tid, void *(*fn)(void *), void *arg);
/* Waits for the next signal; returns its number. */
int daemon_wait_signal(void);
/* Makes daemon_wait_signal() return sig (from any thread). */
void daemon_raise(int sig);

#endif
