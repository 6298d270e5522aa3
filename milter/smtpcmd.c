/*
 * smtpcmd - see smtpcmd.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtpcmd.h"

static const struct {
	const char *name;
	enum smtpcmd_verb verb;
} smtpcmd_verbs[] = {
    {"HELO", SMTPCMD_HELO},       {"EHLO", SMTPCMD_EHLO}, {"MAIL", SMTPCMD_MAIL},
    {"RCPT", SMTPCMD_RCPT},       {"DATA", SMTPCMD_DATA}, {"RSET", SMTPCMD_RSET},
    {"NOOP", SMTPCMD_NOOP},       {"QUIT", SMTPCMD_QUIT}, {"VRFY", SMTPCMD_VRFY},
    {"EXPN", SMTPCMD_EXPN},       {"HELP", SMTPCMD_HELP}, {"STARTTLS", SMTPCMD_STARTTLS},
    {"XCLIENT", SMTPCMD_XCLIENT}, {"BDAT", SMTPCMD_BDAT}, {"AUTH", SMTPCMD_AUTH},
    {"PROXY", SMTPCMD_PROXY},
};

static int
smtpcmd_fail(struct smtpcmd_error *e, int code, const char *dsn, const char *text)
{
	e->code = code;
	e->dsn = dsn;
	e->text = text;
	return -1;
}

int
smtpcmd_parse(const char *line, size_t len, struct smtpcmd *out, struct smtpcmd_error *e)
{
	size_t i, vlen;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == '\r')
			return smtpcmd_fail(e, 500, "5.5.2", "Bare CR in a command line");
		if (c >= 0x80)
			return smtpcmd_fail(e, 500, "5.5.2", "8-bit bytes in a command line");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return smtpcmd_fail(e, 500, "5.5.2",
			                    "Control characters in a command line");
	}
	for (vlen = 0; vlen < len && line[vlen] != ' ' && line[vlen] != '\t'; vlen++)
		;
	for (i = 0; i < sizeof(smtpcmd_verbs) / sizeof(smtpcmd_verbs[0]); i++)
		if (strlen(smtpcmd_verbs[i].name) == vlen &&
		    strncasecmp(line, smtpcmd_verbs[i].name, vlen) == 0)
			out->verb = smtpcmd_verbs[i].verb;
	i = vlen;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	out->arg = line + i;
	out->arg_len = len - i;
	/* Trailing spaces are no part of any argument. */
	while (out->arg_len > 0 &&
	       (out->arg[out->arg_len - 1] == ' ' || out->arg[out->arg_len - 1] == '\t'))
		out->arg_len--;
	return 0;
}

/* ---- paths ---- */

/* RFC 5322 atext. */
static bool
smtpcmd_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Dot-string or quoted-string; returns its length, 0 when malformed. */
static size_t
smtpcmd_local(const char *p, size_t n)
{
	size_t i = 0;

	if (n > 0 && p[0] == '"') {
		/* RFC 5321 qtextSMTP and quoted-pairSMTP: printable ASCII and
		 * space.  Angle brackets are refused even quoted: the path is
		 * found by its '>', and goes into RCPT lines and logs as it is. */
		for (i = 1; i < n && p[i] != '"'; i++)
			if ((p[i] == '\\' && ++i >= n) || p[i] < 0x20 || p[i] > 0x7e ||
			    p[i] == '<' || p[i] == '>')
				return 0;
		return i < n ? i + 1 : 0;
	}
	while (i < n && p[i] != '@') {
		if (p[i] == '.' && (i == 0 || p[i - 1] == '.'))
			return 0;
		if (p[i] != '.' && !smtpcmd_atext((unsigned char)p[i]))
			return 0;
		i++;
	}
	return i > 0 && p[i - 1] != '.' ? i : 0;
}

/* A domain or an address literal. */
static bool
smtpcmd_domain(const char *p, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > SMTPCMD_DOMAIN_MAX)
		return false;
	/* An address literal: IPv4, "IPv6:..." or "tag:..." (RFC 5321
	 * §4.1.3), so letters, digits and ".:-" only. */
	if (p[0] == '[') {
		if (n <= 2 || p[n - 1] != ']')
			return false;
		for (i = 1; i + 1 < n; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '.' && p[i] != ':' &&
			    p[i] != '-')
				return false;
		return true;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0)) ||
		    ++label > 63)
			return false;
	}
	return label > 0 && p[n - 1] != '-';
}

/* Mailbox: local "@" domain; returns 0 or -1. */
static int
smtpcmd_mailbox(const char *p, size_t n, bool postmaster_ok, struct smtpcmd_error *e)
{
	size_t l = smtpcmd_local(p, n);

	if (postmaster_ok && n == 10 && strncasecmp(p, "postmaster", 10) == 0)
		return 0;
	if (l == 0 || l > SMTPCMD_LOCAL_MAX)
		return smtpcmd_fail(e, 553, "5.1.3", "Bad address syntax in the local part");
	if (l >= n || p[l] != '@')
		return smtpcmd_fail(e, 553, "5.1.3", "The address needs a domain");
	if (!smtpcmd_domain(p + l + 1, n - l - 1))
		return smtpcmd_fail(e, 553, "5.1.3", "Bad address syntax in the domain");
	return 0;
}

/* "<[@route,...:]mailbox>": the mailbox without the source route. */
static int
smtpcmd_path(const char *p, size_t n, bool null_ok, bool postmaster_ok, struct smtpcmd_path *out,
             size_t *used, struct smtpcmd_error *e)
{
	const char *close, *box = p + 1, *colon;
	size_t len;

	if (n == 0 || p[0] != '<' || (close = memchr(p, '>', n)) == NULL)
		return smtpcmd_fail(e, 501, "5.5.4", "The address must be in angle brackets");
	len = (size_t)(close - box);
	*used = len + 2;
	if (*used > SMTPCMD_PATH_MAX)
		return smtpcmd_fail(e, 501, "5.1.3", "The address is longer than 256 bytes");
	if (len > 0 && box[0] == '@' && (colon = memchr(box, ':', len)) != NULL) {
		len -= (size_t)(colon + 1 - box);
		box = colon + 1;
	}
	if (len == 0) {
		if (!null_ok)
			return smtpcmd_fail(e, 501, "5.1.3", "The null address is not a recipient");
	} else if (smtpcmd_mailbox(box, len, postmaster_ok, e) < 0) {
		return -1;
	}
	memcpy(out->addr, box, len);
	out->addr[len] = '\0';
	return 0;
}

static bool
smtpcmd_word(const char *p, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(p, word, n) == 0;
}

/* One "KEY=VALUE" parameter of MAIL. */
static int
smtpcmd_mail_param(const char *p, size_t n, struct smtpcmd_path *out, struct smtpcmd_error *e)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - p) : n, vlen = eq != NULL ? n - klen - 1 : 0;
	size_t i;

	if (smtpcmd_word(p, klen, "SIZE") && eq != NULL && !out->has_size) {
		if (vlen == 0 || vlen > 20)
			return smtpcmd_fail(e, 501, "5.5.4", "SIZE takes a number of bytes");
		for (i = 0, out->size = 0; i < vlen; i++) {
			unsigned d = (unsigned)(eq[1 + i] - '0');

			if (eq[1 + i] < '0' || eq[1 + i] > '9')
				return smtpcmd_fail(e, 501, "5.5.4",
				                    "SIZE takes a number of bytes");
			/* Saturates: any size this large is over the limit anyway. */
			out->size = out->size > (~0ull - d) / 10 ? ~0ull : out->size * 10 + d;
		}
		out->has_size = true;
		return 0;
	}
	if (smtpcmd_word(p, klen, "BODY") && eq != NULL && out->body == SMTPCMD_BODY_NONE) {
		if (smtpcmd_word(eq + 1, vlen, "7BIT"))
			out->body = SMTPCMD_BODY_7BIT;
		else if (smtpcmd_word(eq + 1, vlen, "8BITMIME"))
			out->body = SMTPCMD_BODY_8BITMIME;
		else
			return smtpcmd_fail(e, 501, "5.5.4", "BODY takes 7BIT or 8BITMIME");
		return 0;
	}
	return smtpcmd_fail(e, 555, "5.5.4", "Unsupported MAIL parameter");
}

/* The parameters after the path, separated by spaces. */
static int
smtpcmd_params(const char *p, size_t n, bool mail, struct smtpcmd_path *out,
               struct smtpcmd_error *e)
{
	size_t i = 0, start;

	while (i < n) {
		if (p[i] == ' ' || p[i] == '\t') {
			i++;
			continue;
		}
		for (start = i; i < n && p[i] != ' ' && p[i] != '\t'; i++)
			;
		if (!mail)
			return smtpcmd_fail(e, 555, "5.5.4", "Unsupported RCPT parameter");
		if (smtpcmd_mail_param(p + start, i - start, out, e) < 0)
			return -1;
	}
	return 0;
}

/* "FROM:" or "TO:", with the spaces some clients put after the colon. */
static int
smtpcmd_envelope(const struct smtpcmd *c, const char *word, bool mail, struct smtpcmd_path *out,
                 struct smtpcmd_error *e)
{
	size_t wlen = strlen(word), i, used;
	const char *p = c->arg;
	size_t n = c->arg_len;

	memset(out, 0, sizeof(*out));
	if (n < wlen || strncasecmp(p, word, wlen) != 0)
		return smtpcmd_fail(e, 501, "5.5.4",
		                    mail ? "Syntax: MAIL FROM:<address>"
		                         : "Syntax: RCPT TO:<address>");
	for (i = wlen; i < n && p[i] == ' '; i++)
		;
	if (smtpcmd_path(p + i, n - i, mail, !mail, out, &used, e) < 0)
		return -1;
	i += used;
	if (i < n && p[i] != ' ')
		return smtpcmd_fail(e, 501, "5.5.4", "Text after the address");
	return smtpcmd_params(p + i, n - i, mail, out, e);
}

int
smtpcmd_mail(const struct smtpcmd *c, struct smtpcmd_path *out, struct smtpcmd_error *e)
{
	return smtpcmd_envelope(c, "FROM:", true, out, e);
}

int
smtpcmd_rcpt(const struct smtpcmd *c, struct smtpcmd_path *out, struct smtpcmd_error *e)
{
	return smtpcmd_envelope(c, "TO:", false, out, e);
}

void
smtpcmd_split(const char *addr, const char **local, size_t *local_len, const char **domain)
{
	const char *at = strrchr(addr, '@');

	*local = addr;
	*local_len = at != NULL ? (size_t)(at - addr) : strlen(addr);
	*domain = at != NULL ? at + 1 : "";
}

/* ---- XCLIENT ---- */

static int
smtpcmd_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3461 xtext into out (printable ASCII only); -1 when malformed. */
static int
smtpcmd_xtext(const char *p, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)p[i];

		if (c == '+') {
			int hi, lo;

			if (i + 2 >= n || (hi = smtpcmd_hex(p[i + 1])) < 0 ||
			    (lo = smtpcmd_hex(p[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x21 || c > 0x7e || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* ADDR: IPv4, or IPv6 with the "IPV6:" prefix. */
static int
smtpcmd_xaddr(struct smtpcmd_xclient *x, const char *v)
{
	unsigned char bin[16];

	if (strncasecmp(v, "IPV6:", 5) == 0)
		v += 5;
	if (strlen(v) >= sizeof(x->addr) ||
	    (inet_pton(AF_INET, v, bin) != 1 && inet_pton(AF_INET6, v, bin) != 1))
		return -1;
	memcpy(x->addr, v, strlen(v) + 1);
	x->has_addr = true;
	return 0;
}

static int
smtpcmd_xattr(struct smtpcmd_xclient *x, const char *name, size_t nlen, const char *v,
              struct smtpcmd_error *e)
{
	bool unset = strcmp(v, "[UNAVAILABLE]") == 0 || strcmp(v, "[TEMPUNAVAIL]") == 0;

	if (smtpcmd_word(name, nlen, "ADDR")) {
		if (!unset && smtpcmd_xaddr(x, v) < 0)
			return smtpcmd_fail(e, 501, "5.5.4", "XCLIENT ADDR is not an address");
	} else if (smtpcmd_word(name, nlen, "HELO")) {
		snprintf(x->helo, sizeof(x->helo), "%s", unset ? "" : v);
		x->has_helo = !unset;
	} else if (smtpcmd_word(name, nlen, "LOGIN")) {
		snprintf(x->login, sizeof(x->login), "%s", unset ? "" : v);
		x->has_login = !unset;
	} else if (!smtpcmd_word(name, nlen, "NAME") && !smtpcmd_word(name, nlen, "PORT") &&
	           !smtpcmd_word(name, nlen, "PROTO") && !smtpcmd_word(name, nlen, "DESTADDR") &&
	           !smtpcmd_word(name, nlen, "DESTPORT")) {
		return smtpcmd_fail(e, 501, "5.5.4", "Unknown XCLIENT attribute");
	}
	return 0;
}

int
smtpcmd_xclient(const struct smtpcmd *c, struct smtpcmd_xclient *out, struct smtpcmd_error *e)
{
	const char *p = c->arg, *end = c->arg + c->arg_len;
	char value[SMTPCMD_XVALUE_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (c->arg_len == 0)
		return smtpcmd_fail(e, 501, "5.5.4", "Syntax: XCLIENT attribute=value...");
	while (p < end) {
		const char *stop = memchr(p, ' ', (size_t)(end - p)), *eq;

		if (stop == NULL)
			stop = end;
		if (stop == p) {
			p++;
			continue;
		}
		if ((eq = memchr(p, '=', (size_t)(stop - p))) == NULL || eq == p ||
		    smtpcmd_xtext(eq + 1, (size_t)(stop - eq - 1), value, sizeof(value)) < 0)
			return smtpcmd_fail(e, 501, "5.5.4", "XCLIENT takes attribute=xtext");
		if (smtpcmd_xattr(out, p, (size_t)(eq - p), value, e) < 0)
			return -1;
		p = stop;
	}
	return 0;
}
