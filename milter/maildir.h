/*
 * maildir - delivery into Maildir folders, so that nothing answered 250
 * is lost.
 *
 * maildir_deliver() writes the message into tmp/ of every folder given,
 * fsyncs each file, and only when all are written renames each into new/
 * and fsyncs new/ itself; a failure before the renames removes every tmp/
 * file, so the client's 4xx means nothing was delivered.  Folders (and
 * tmp/, new/, cur/) are made on first use, mode 0700.
 *
 * Per-recipient folders come from a template: %d is the recipient's
 * domain, %l its local part (both lower-cased), %% a percent sign.  A
 * local part or domain that could leave the folder tree (a '/', a leading
 * dot, anything but letters, digits and ".-_+") is refused, so a
 * recipient can never name a path of its own choosing.
 *
 * File names follow the Maildir convention: TIME.M<usec>P<pid>Q<seq>.HOST.
 * Thread-safe: the sequence counter is atomic.
 */
#ifndef AUTH_MAILDIR_H
#define AUTH_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "smtpc.h"

#define MAILDIR_PATH_MAX 1024

/* Whether the template has %d or %l (one folder per recipient). */
bool maildir_per_recipient(const char *tmpl);
/* The folder for one recipient; -1 with err when the address cannot name
 * a folder safely or the path is too long. */
int maildir_expand(const char *tmpl, const char *rcpt, char out[MAILDIR_PATH_MAX],
                   struct auth_error *err);
int maildir_deliver(const char *const *dirs, size_t ndirs, const struct smtpc_piece *pieces,
                    size_t npieces, struct auth_error *err);

#endif
