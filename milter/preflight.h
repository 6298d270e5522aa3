/*
 * preflight - what a start of the daemon would stumble on, found without
 * starting: the checks of `authmilter -t`, which the start also makes
 * first, so that both say the same thing.
 *
 * Nothing here creates, writes or binds anything.  Whether the daemon's
 * account may read or write a path is judged from the mode bits along it
 * for that account (its one group: daemon_drop_privileges() drops the
 * supplementary groups), or asked of the kernel with access(2) when the
 * daemon keeps the account it was started with; ACLs are not consulted.
 *
 * Messages name the path and the cause with strerror(errno), as in
 * "/run/authmilter does not exist: No such file or directory".
 *
 * Thread safety: no state; getpwnam() and friends are not reentrant, so
 * the main thread only.
 */
#ifndef AUTH_PREFLIGHT_H
#define AUTH_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"
#include "error.h"

enum preflight_access { PREFLIGHT_READ, PREFLIGHT_CREATE };

/* The directory path is in (what names it in the message): it exists and
 * is a directory. */
int preflight_parent_dir(const char *what, const char *path, struct auth_error *err);
/* Whether id may read path (READ: search every directory on the way and
 * read it), or create and write files in path's directory and path itself
 * when it exists (CREATE). */
int preflight_access(const char *path, const struct daemon_ident *id, enum preflight_access how,
                     struct auth_error *err);
/* A host name or address the daemon will listen on resolves. */
int preflight_host(const char *what, const char *host, struct auth_error *err);
/* The directory part of path ("/" for "/x", "." for "x"). */
void preflight_dirname(const char *path, char *out, size_t outlen);

#endif
