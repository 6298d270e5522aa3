/*
 * conffile.h - contrib/authmilter.conf, the file the package installs as
 * /etc/authmilter.conf, with its settings switched on: every line
 * "#key value" loses its '#', so that loading the text sets each key to
 * the value the file shows as its default.  Comment lines ("# ...") and a
 * key shown without a value (one whose default is computed, authserv_id)
 * stay as they are.  Header-only, like tap.h.
 */
#ifndef CONFFILE_H
#define CONFFILE_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* "#key value": a '#', a lower-case key, blanks, then something. */
static inline int
conffile_is_setting(const char *line, size_t len)
{
	size_t i = 1;

	if (len < 2 || line[0] != '#' || !islower((unsigned char)line[1]))
		return 0;
	while (i < len && (islower((unsigned char)line[i]) || isdigit((unsigned char)line[i]) ||
	                   line[i] == '_'))
		i++;
	if (i >= len || (line[i] != ' ' && line[i] != '\t'))
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len;
}

/* The switched-on text (malloc'd, NUL-terminated) and its length; exits
 * the test when the file cannot be read. */
static inline char *
conffile_settings(size_t *lenp)
{
	const char *top = getenv("top_srcdir");
	char path[4096], *in, *out;
	size_t len, i = 0, o = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/contrib/authmilter.conf", top != NULL ? top : ".");
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = (size_t)ftell(f)) == 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (in = malloc(len)) == NULL || (out = malloc(len + 1)) == NULL ||
	    fread(in, 1, len, f) != len) {
		diag("cannot read %s", path);
		exit(1);
	}
	fclose(f);
	while (i < len) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (in + i)) + 1 : len - i;
		size_t skip = conffile_is_setting(in + i, n - (nl != NULL)) ? 1 : 0;

		memcpy(out + o, in + i + skip, n - skip);
		o += n - skip;
		i += n;
	}
	out[o] = '\0';
	free(in);
	*lenp = o;
	return out;
}

#endif
