/*
 * error - the error detail every libauth function can fill in.
 *
 * A caller passes a struct auth_error (or NULL when it does not want the
 * detail); a failing function sets a code and a human-readable message and
 * returns its own status.  libauth never prints or logs; the front ends do.
 * The message is bounded: longer text is truncated, never overflowed.
 */
#ifndef AUTH_ERROR_H
#define AUTH_ERROR_H

#include <stddef.h>

enum auth_errcode {
	AUTH_OK = 0,
	AUTH_ENOMEM,  /* allocation failed */
	AUTH_ELIMIT,  /* input exceeds a configured limit */
	AUTH_ESYNTAX, /* input does not parse */
	AUTH_EIO,     /* file or socket error */
	AUTH_EDNS,    /* resolver set-up failed */
	AUTH_EINVAL,  /* bad argument from the caller */
};

#define AUTH_ERROR_MSG_MAX 256

struct auth_error {
	enum auth_errcode code;
	char msg[AUTH_ERROR_MSG_MAX];
};

/* Sets err (when non-NULL) and returns -1, so callers can write
 * "return auth_error_set(err, ...);". */
int auth_error_set(struct auth_error *err, enum auth_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void auth_error_clear(struct auth_error *err);

#endif
