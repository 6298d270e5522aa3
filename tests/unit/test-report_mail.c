/*
 * test-report_mail - the report mail's fields and MIME parts, exactly,
 * the attachment decoding back to the report's bytes, and which Subject
 * values read as report mail.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "report_mail.h"
#include "tap.h"

static const char *
field(const struct msg_headers *h, const char *name)
{
	long i = msg_headers_find(h, name, 0);
	size_t len;

	return i < 0 ? NULL : msg_field_value(msg_headers_get(h, (size_t)i), &len);
}

/* The base64 lines between start and the closing boundary, decoded. */
static size_t
decode_attachment(const char *start, const char *end, unsigned char *out)
{
	size_t n = 0;

	while (start < end) {
		const char *eol = strstr(start, "\r\n");
		int len;
		if (eol == NULL || eol >= end || eol == start)
			break;
		len = EVP_DecodeBlock(out + n, (const unsigned char *)start, (int)(eol - start));
		if (len < 0)
			return 0;
		n += (size_t)len;
		/* EVP_DecodeBlock counts padding as data. */
		if (eol[-1] == '=')
			n -= eol[-2] == '=' ? 2 : 1;
		start = eol + 2;
	}
	return n;
}

static void
test_build(void)
{
	unsigned char gz[200], back[300];
	struct report_mail m = {
	    .from = "dmarc-reports@mx.example.net",
	    .to = "rua@example.com",
	    .policy_domain = "example.com",
	    .submitter = "mx.example.net",
	    .org_name = "Example Net",
	    .report_id = "0123456789abcdef",
	    .filename = "mx.example.net!example.com!1796083200!1796169600!0123456789abcdef.xml.gz",
	    .begin = 1796083200,
	    .end = 1796169600,
	    .now = 1796122566,
	    .gz = gz,
	    .gz_len = sizeof(gz),
	};
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;
	struct buf body;
	const char *att, *close;
	size_t i;

	for (i = 0; i < sizeof(gz); i++)
		gz[i] = (unsigned char)(i * 7 + 3);
	buf_init(&body, 1 << 20);
	is_int(report_mail_build(&m, h, &body, &err), 0, "built");
	is_int((long)msg_headers_count(h), 8, "eight fields");
	is_str(field(h, "From"), " dmarc-reports@mx.example.net", "From");
	is_str(field(h, "To"), " rua@example.com", "To");
	is_str(field(h, "Date"), " Tue, 01 Dec 2026 10:56:06 +0000", "Date in UTC, RFC 5322 form");
	is_str(field(h, "Subject"),
	       " Report Domain: example.com Submitter: mx.example.net Report-ID: 0123456789abcdef",
	       "Subject as RFC 9990 spells it");
	is_str(field(h, "Message-ID"), " <0123456789abcdef@mx.example.net>",
	       "Message-ID from the id");
	is_str(field(h, "MIME-Version"), " 1.0", "MIME-Version");
	is_str(field(h, "Content-Type"),
	       " multipart/mixed; boundary=\"=_authreport_0123456789abcdef\"", "multipart/mixed");
	is_str(field(h, "Auto-Submitted"), " auto-generated", "Auto-Submitted");
	buf_putc(&body, '\0');
	ok(strstr(body.data, "--=_authreport_0123456789abcdef\r\nContent-Type: text/plain; "
	                     "charset=us-ascii\r\n\r\n") != NULL,
	   "a text part");
	att = strstr(
	    body.data,
	    "--=_authreport_0123456789abcdef\r\nContent-Type: application/gzip; "
	    "name=\"mx.example.net!example.com!1796083200!1796169600!0123456789abcdef.xml.gz\""
	    "\r\nContent-Disposition: attachment; "
	    "filename=\"mx.example.net!example.com!1796083200!1796169600!0123456789abcdef.xml.gz\""
	    "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	ok(att != NULL, "the attachment's part header");
	close = strstr(body.data, "\r\n--=_authreport_0123456789abcdef--\r\n");
	ok(close != NULL && close[37] == '\0', "the closing boundary ends the body");
	if (att != NULL && close != NULL) {
		att = strstr(att, "\r\n\r\n") + 4;
		is_int((long)decode_attachment(att, close + 2, back), (long)sizeof(gz),
		       "attachment length");
		ok(memcmp(back, gz, sizeof(gz)) == 0, "attachment bytes");
		ok(strchr(att, '\n') - att == 77, "base64 lines of 76 characters");
	}
	is_int((long)report_mail_size(h, &body), (long)(msg_headers_bytes(h) + 2 + body.len),
	       "size: fields, blank line, body");
	msg_headers_free(h);
	buf_free(&body);

	m.to = "rua@example.com\r\nBcc: x@evil.example";
	h = msg_headers_new();
	buf_init(&body, 1 << 20);
	is_int(report_mail_build(&m, h, &body, &err), -1, "a CRLF in an address: refused");
	msg_headers_free(h);
	buf_free(&body);
	m.to = "rua@example.com";
	m.filename = "a\"b.xml.gz";
	h = msg_headers_new();
	buf_init(&body, 1 << 20);
	is_int(report_mail_build(&m, h, &body, &err), -1, "a quote in the file name: refused");
	msg_headers_free(h);
	buf_free(&body);
}

static void
test_is_report(void)
{
	static const struct {
		const char *subject;
		bool want;
	} t[] = {
	    {" Report Domain: example.com Submitter: mx.example.net Report-ID: 1", true},
	    {" Report Domain: example.com Submitter: mx.example.net", true},
	    {" report  domain: example.com\r\n\tsubmitter: google.com Report-ID: <1@x>", true},
	    {"Report Domain:example.com Submitter:x", true},
	    {" Report Domain: example.com", false},
	    {" Re: Report Domain: example.com Submitter: x", false},
	    {" ReportDomain: example.com Submitter: x", false},
	    {" Monthly Report Domain: a Submitter: b", false},
	    {"", false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int(report_mail_is_report(t[i].subject, strlen(t[i].subject)), t[i].want,
		       "%s: %s", t[i].want ? "report" : "not a report", t[i].subject);
}

int
main(void)
{
	test_build();
	test_is_report();
	return done_testing();
}
