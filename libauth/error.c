/*
 * error - see error.h.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>

#include "error.h"

int
auth_error_set(struct auth_error *err, enum auth_errcode code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	/* Truncation is acceptable here: the message is for people. */
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
auth_error_clear(struct auth_error *err)
{
	if (err == NULL)
		return;
	err->code = AUTH_OK;
	err->msg[0] = '\0';
}
