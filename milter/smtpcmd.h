/*
 * smtpcmd - the SMTP listener's command parser (RFC 5321 §4.1).
 *
 * Pure functions over (pointer, length) views of one command line, line
 * end already removed; nothing is allocated.  smtpcmd_parse() finds the
 * verb; smtpcmd_mail() and smtpcmd_rcpt() read the path and the
 * parameters we announce (SIZE, BODY=7BIT|8BITMIME); smtpcmd_xclient()
 * reads Postfix's XCLIENT attributes.  Each failure gives the reply the
 * client gets (code, enhanced code, text that says what was wrong).
 *
 * Limits (RFC 5321 §4.5.3.1): a path of at most SMTPCMD_PATH_MAX bytes
 * with its angle brackets, a local part of at most 64, a domain of at most
 * 255.  Paths are ASCII (no SMTPUTF8 is offered), without control bytes or
 * spaces outside a quoted local part, so an address can go into a log
 * line, a next hop's RCPT or a file name check as it is.
 */
#ifndef AUTH_SMTPCMD_H
#define AUTH_SMTPCMD_H

#include <stdbool.h>
#include <stddef.h>

#define SMTPCMD_PATH_MAX 256
#define SMTPCMD_LOCAL_MAX 64
#define SMTPCMD_DOMAIN_MAX 255
/* XCLIENT values we keep (a HELO name or a login). */
#define SMTPCMD_XVALUE_MAX 255

enum smtpcmd_verb {
	SMTPCMD_UNKNOWN,
	SMTPCMD_HELO,
	SMTPCMD_EHLO,
	SMTPCMD_MAIL,
	SMTPCMD_RCPT,
	SMTPCMD_DATA,
	SMTPCMD_RSET,
	SMTPCMD_NOOP,
	SMTPCMD_QUIT,
	SMTPCMD_VRFY,
	SMTPCMD_EXPN,
	SMTPCMD_HELP,
	SMTPCMD_STARTTLS,
	SMTPCMD_XCLIENT,
	SMTPCMD_BDAT,
	SMTPCMD_AUTH,
	SMTPCMD_PROXY, /* a PROXY protocol header where a command belongs */
};

/* The reply for a refused command or parameter. */
struct smtpcmd_error {
	int code;
	const char *dsn;
	const char *text;
};

struct smtpcmd {
	enum smtpcmd_verb verb;
	const char *arg; /* after the verb and the space(s) after it */
	size_t arg_len;
};

/* Returns 0, or -1 with *e set (a NUL, a bare CR, 8-bit bytes or control
 * bytes in the line).  An unknown verb is SMTPCMD_UNKNOWN, not an error. */
int smtpcmd_parse(const char *line, size_t len, struct smtpcmd *out, struct smtpcmd_error *e);

enum smtpcmd_body { SMTPCMD_BODY_NONE, SMTPCMD_BODY_7BIT, SMTPCMD_BODY_8BITMIME };

struct smtpcmd_path {
	char addr[SMTPCMD_PATH_MAX + 1]; /* without <>; "" is the null path */
	bool has_size;
	unsigned long long size;
	enum smtpcmd_body body;
};

/* "FROM:<path> [SIZE=n] [BODY=...]" (the argument of MAIL). */
int smtpcmd_mail(const struct smtpcmd *c, struct smtpcmd_path *out, struct smtpcmd_error *e);
/* "TO:<path>" (the argument of RCPT); the null path is refused, and
 * <Postmaster> without a domain is taken (RFC 5321 §4.1.1.3). */
int smtpcmd_rcpt(const struct smtpcmd *c, struct smtpcmd_path *out, struct smtpcmd_error *e);

/* The part of an address before its last '@', and after it. */
void smtpcmd_split(const char *addr, const char **local, size_t *local_len, const char **domain);

/* XCLIENT attributes, xtext-decoded; "[UNAVAILABLE]" and "[TEMPUNAVAIL]"
 * leave a value unset. */
struct smtpcmd_xclient {
	char addr[46]; /* the client address (INET6_ADDRSTRLEN), "" when not given */
	char helo[SMTPCMD_XVALUE_MAX + 1];
	char login[SMTPCMD_XVALUE_MAX + 1];
	bool has_addr, has_helo, has_login;
};

int smtpcmd_xclient(const struct smtpcmd *c, struct smtpcmd_xclient *out, struct smtpcmd_error *e);

#endif
