/*
 * fuzz-smtpcmd - the SMTP command parser on arbitrary lines: the verb,
 * then MAIL, RCPT and XCLIENT argument parsing of whatever verb it was.
 * Besides memory errors it checks what the listener relies on: an
 * accepted path is NUL-terminated within SMTPCMD_PATH_MAX and holds no
 * byte that could end a line, start a new field or leave a directory; a
 * refusal always has a 5xx reply with text.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpcmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const struct smtpcmd_error *e)
{
	if (e->code < 500 || e->code > 599 || e->dsn == NULL || e->text == NULL ||
	    e->text[0] == '\0')
		abort();
}

static void
check_path(const struct smtpcmd_path *p)
{
	size_t i, n = strnlen(p->addr, sizeof(p->addr));

	if (n == sizeof(p->addr))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)p->addr[i] < 0x20 || (unsigned char)p->addr[i] >= 0x7f ||
		    p->addr[i] == '<' || p->addr[i] == '>')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpcmd c;
	struct smtpcmd_error e;
	struct smtpcmd_path p;
	struct smtpcmd_xclient x;

	if (smtpcmd_parse((const char *)data, size, &c, &e) < 0) {
		check_error(&e);
		return 0;
	}
	if (c.arg < (const char *)data || c.arg + c.arg_len > (const char *)data + size)
		abort();
	if (smtpcmd_mail(&c, &p, &e) == 0)
		check_path(&p);
	else
		check_error(&e);
	if (smtpcmd_rcpt(&c, &p, &e) == 0) {
		check_path(&p);
		if (p.addr[0] == '\0')
			abort();
	} else {
		check_error(&e);
	}
	if (smtpcmd_xclient(&c, &x, &e) < 0)
		check_error(&e);
	else if (strnlen(x.helo, sizeof(x.helo)) == sizeof(x.helo) || strchr(x.helo, ' ') != NULL)
		abort();
	return 0;
}
