/*
 * spf_received - the value of a Received-SPF header field (RFC 7208 §9.1).
 *
 * Every value that came from outside (envelope, HELO, DNS) is written as a
 * dot-atom only when it is one, else as a quoted-string; control bytes are
 * replaced, so nothing from outside can break the header apart.  Values
 * past SPF_RECEIVED_VALUE_MAX are cut and the pairs folded, so that no line
 * grows past what RFC 5322 allows.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "spf.h"

static int
spf_is_atext(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

/* RFC 5322 dot-atom-text: atoms of atext joined by single dots. */
static int
spf_is_dot_atom(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '.' && !spf_is_atext((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Appends s with the bytes in special escaped by a backslash and control
 * bytes replaced by "?". */
static int
spf_put_escaped(struct buf *out, const char *s, const char *special)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		if (strchr(special, ch) != NULL && buf_putc(out, '\\') < 0)
			return -1;
		if (buf_putc(out, ch) < 0)
			return -1;
	}
	return 0;
}

/* A value longer than any valid identity (RFC 5321 §4.5.3.1: a path of
 * 256 octets) is cut here, marked with "...", so that no line of the
 * field passes RFC 5322's 998. */
#define SPF_RECEIVED_VALUE_MAX 256
/* Fold before a pair that would take a line past this (RFC 5322 §2.1.1's
 * SHOULD); "Received-SPF: " counts on the first line. */
#define SPF_RECEIVED_FOLD_AT 78

/* The column after the last line break in out (the field name counted). */
static size_t
spf_column(const struct buf *out)
{
	size_t i = out->len;

	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	return (i == 0 ? sizeof("Received-SPF: ") - 1 : 0) + out->len - i;
}

static int
spf_put_pair(struct buf *out, const char *key, const char *value)
{
	char cut[SPF_RECEIVED_VALUE_MAX + 4];
	struct buf pair;
	int rc;

	if (strlen(value) > SPF_RECEIVED_VALUE_MAX) {
		(void)snprintf(cut, sizeof(cut), "%.*s...", SPF_RECEIVED_VALUE_MAX, value);
		value = cut;
	}
	buf_init(&pair, out->max);
	if (spf_is_dot_atom(value))
		rc = buf_printf(&pair, "%s=%s;", key, value);
	else if ((rc = buf_printf(&pair, "%s=\"", key)) == 0 &&
	         (rc = spf_put_escaped(&pair, value, "\"\\")) == 0)
		rc = buf_puts(&pair, "\";");
	if (rc == 0)
		rc = buf_puts(out, spf_column(out) + 1 + pair.len > SPF_RECEIVED_FOLD_AT ? "\r\n\t"
		                                                                         : " ");
	if (rc == 0)
		rc = buf_append(out, pair.data, pair.len);
	buf_free(&pair);
	return rc;
}

/* The comment (§9.1 examples), around the client address. */
static void
spf_comment_words(enum spf_result res, const char **pre, const char **post)
{
	*post = "";
	switch (res) {
	case SPF_PASS:
		*pre = "designates ", *post = " as permitted sender";
		break;
	case SPF_FAIL:
		*pre = "does not designate ", *post = " as permitted sender";
		break;
	case SPF_SOFTFAIL:
		*pre = "does not designate ", *post = " as permitted sender, transitioning";
		break;
	case SPF_NEUTRAL:
		*pre = "neither permits nor denies ";
		break;
	case SPF_NONE:
		*pre = "does not designate permitted sender hosts, client ";
		break;
	case SPF_TEMPERROR:
		*pre = "could not be checked for ", *post = ": temporary error";
		break;
	default:
		*pre = "could not be checked for ", *post = ": permanent error";
		break;
	}
}

static int
spf_put_comment(struct buf *out, const struct spf_outcome *o, const struct spf_request *req,
                const char *ip)
{
	const char *pre, *post;
	struct buf tmp;
	int rc;

	spf_comment_words(o->result, &pre, &post);
	buf_init(&tmp, out->max);
	rc = buf_printf(&tmp, "%s: domain of %s %s%s%s", req->receiver ? req->receiver : "unknown",
	                o->sender, pre, ip, post);
	if (rc == 0)
		rc = buf_puts(out, " (");
	if (rc == 0)
		rc = spf_put_escaped(out, tmp.data, "()\\");
	if (rc == 0)
		rc = buf_putc(out, ')');
	buf_free(&tmp);
	return rc;
}

static void
spf_client_ip(const struct spf_request *req, char *ip, size_t size)
{
	if (req->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&req->ip.v6))
		(void)inet_ntop(AF_INET, req->ip.v6.s6_addr + 12, ip, (socklen_t)size);
	else if (req->family == AF_INET6)
		(void)inet_ntop(AF_INET6, &req->ip.v6, ip, (socklen_t)size);
	else
		(void)inet_ntop(AF_INET, &req->ip.v4, ip, (socklen_t)size);
}

int
spf_received_spf(const struct spf_outcome *o, const struct spf_request *req, struct buf *out)
{
	char ip[INET6_ADDRSTRLEN];

	spf_client_ip(req, ip, sizeof(ip));
	if (buf_puts(out, spf_result_name(o->result)) < 0 || spf_put_comment(out, o, req, ip) < 0)
		return -1;
	if (req->receiver != NULL && spf_put_pair(out, "receiver", req->receiver) < 0)
		return -1;
	if (spf_put_pair(out, "client-ip", ip) < 0)
		return -1;
	if (req->mail_from != NULL && spf_put_pair(out, "envelope-from", req->mail_from) < 0)
		return -1;
	if (req->helo != NULL && req->helo[0] != '\0' && spf_put_pair(out, "helo", req->helo) < 0)
		return -1;
	if (spf_put_pair(out, "identity", o->scope == SPF_SCOPE_HELO ? "helo" : "mailfrom") < 0)
		return -1;
	if (o->problem[0] != '\0')
		return spf_put_pair(out, "problem", o->problem);
	if (o->mechanism[0] != '\0')
		return spf_put_pair(out, "mechanism", o->mechanism);
	return 0;
}
