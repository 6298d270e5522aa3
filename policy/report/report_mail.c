/*
 * report_mail - one aggregate report as a mail message.
 */
#include "autoconf.h"

#include "report_mail.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

/* A value that is one line of printable ASCII (or, for the body text,
 * with spaces): anything else would break the field it goes into. */
static bool
printable(const char *s, bool spaces)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < (spaces ? 0x20 : 0x21) || (unsigned char)*s >= 0x7f)
			return false;
	return s != NULL;
}

/* RFC 5322 §3.3 date-time, always in UTC and in English. */
static void
mail_date(time_t t, char out[40])
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
	         months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
add(struct msg_headers *h, const char *name, const char *value, struct auth_error *err)
{
	char v[1024];
	int n = snprintf(v, sizeof(v), " %s", value);

	if (n < 0 || (size_t)n >= sizeof(v))
		return auth_error_set(err, AUTH_EINVAL, "report mail: %s too long", name);
	return msg_headers_add(h, name, strlen(name), v, (size_t)n, err);
}

static int
add_fields(const struct report_mail *m, const char *boundary, struct msg_headers *h,
           struct auth_error *err)
{
	char subject[768], msgid[512], ctype[128], date[40];

	snprintf(subject, sizeof(subject), "Report Domain: %s Submitter: %s Report-ID: %s",
	         m->policy_domain, m->submitter, m->report_id);
	/* RFC 9990 lets the Report-ID serve as the Message-ID: a resend is
	 * then recognisably the same report. */
	snprintf(msgid, sizeof(msgid), "<%s@%s>", m->report_id, m->submitter);
	snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=\"%s\"", boundary);
	mail_date(m->now, date);
	if (add(h, "From", m->from, err) < 0 || add(h, "To", m->to, err) < 0 ||
	    add(h, "Date", date, err) < 0 || add(h, "Subject", subject, err) < 0 ||
	    add(h, "Message-ID", msgid, err) < 0 || add(h, "MIME-Version", "1.0", err) < 0 ||
	    add(h, "Content-Type", ctype, err) < 0 ||
	    add(h, "Auto-Submitted", "auto-generated", err) < 0)
		return -1;
	return 0;
}

/* RFC 2045 §6.8: lines of 76 characters. */
static int
put_base64(struct buf *b, const unsigned char *p, size_t n)
{
	unsigned char line[80];

	while (n > 0) {
		size_t take = n < 57 ? n : 57;
		int len = EVP_EncodeBlock(line, p, (int)take);
		if (buf_append(b, line, (size_t)len) < 0 || buf_puts(b, "\r\n") < 0)
			return -1;
		p += take;
		n -= take;
	}
	return 0;
}

static int
put_body(const struct report_mail *m, const char *boundary, struct buf *b)
{
	if (buf_printf(b,
	               "This is a DMARC aggregate report in MIME format.\r\n\r\n"
	               "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	               "DMARC aggregate report from %s (%s) about mail from %s,\r\n"
	               "covering %" PRId64 " to %" PRId64 " (seconds since 1970, UTC).\r\n"
	               "Report-ID: %s\r\n\r\n"
	               "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n"
	               "Content-Disposition: attachment; filename=\"%s\"\r\n"
	               "Content-Transfer-Encoding: base64\r\n\r\n",
	               boundary, m->org_name, m->submitter, m->policy_domain, m->begin, m->end,
	               m->report_id, boundary, m->filename, m->filename) < 0)
		return -1;
	if (put_base64(b, m->gz, m->gz_len) < 0)
		return -1;
	return buf_printf(b, "\r\n--%s--\r\n", boundary);
}

int
report_mail_build(const struct report_mail *m, struct msg_headers *h, struct buf *body,
                  struct auth_error *err)
{
	char boundary[96];

	if (!printable(m->from, false) || !printable(m->to, false) ||
	    !printable(m->policy_domain, false) || !printable(m->submitter, false) ||
	    !printable(m->report_id, false) || !printable(m->org_name, true) ||
	    !printable(m->filename, false) || strchr(m->filename, '"') != NULL ||
	    strchr(m->filename, '\\') != NULL)
		return auth_error_set(err, AUTH_EINVAL,
		                      "report mail: a value is not printable ASCII");
	/* Base64 and the text part never contain "=_": the boundary cannot
	 * occur in the parts it separates (RFC 2046 §5.1.1). */
	snprintf(boundary, sizeof(boundary), "=_authreport_%.64s", m->report_id);
	if (add_fields(m, boundary, h, err) < 0)
		return -1;
	if (put_body(m, boundary, body) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "report mail: the message is too large");
	return 0;
}

size_t
report_mail_size(const struct msg_headers *h, const struct buf *body)
{
	return msg_headers_bytes(h) + 2 + body->len;
}

/* Skips FWS; returns how many bytes. */
static size_t
fws(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

static bool
word(const char *p, size_t n, size_t *i, const char *w)
{
	size_t len = strlen(w);

	if (n - *i < len || strncasecmp(p + *i, w, len) != 0)
		return false;
	*i += len;
	return true;
}

bool
report_mail_is_report(const char *p, size_t n)
{
	size_t i = fws(p, n);

	if (!word(p, n, &i, "Report") || fws(p + i, n - i) == 0)
		return false;
	i += fws(p + i, n - i);
	if (!word(p, n, &i, "Domain:"))
		return false;
	for (; i < n; i++)
		if ((p[i] == ' ' || p[i] == '\t' || p[i] == '\n') && i + 1 < n) {
			size_t j = i + fws(p + i, n - i);
			if (word(p, n, &j, "Submitter:"))
				return true;
		}
	return false;
}
