/*
 * fuzz-report - what the report mailer reads from others: rua URIs from
 * DMARC records (report_dest_parse) and Subject values (report_mail_is_report).
 *
 * A URI the parser accepts must give an address that can go into RCPT TO
 * and a To field as it is: printable ASCII without spaces, its domain the
 * lower-cased domain part, and the report mail built for it must be made
 * of single-line fields.  The input, split at NUL bytes, also gives the
 * mail's other values: built or refused, the fields never hold a line end.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report_dest.h"
#include "report_mail.h"

static void
fuzz_fields_single_line(const struct msg_headers *h)
{
	size_t i;

	for (i = 0; i < msg_headers_count(h); i++) {
		const struct msg_field *f = msg_headers_get(h, i);
		if (memchr(f->raw, '\r', f->raw_len) != NULL ||
		    memchr(f->raw, '\n', f->raw_len) != NULL)
			abort();
	}
}

static int
fuzz_build(const char *to, const char *org, const char *id)
{
	static const unsigned char gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	struct report_mail m = {"reports@mx.example.org",
	                        to,
	                        "example.com",
	                        "mx.example.org",
	                        org,
	                        id,
	                        "mx.example.org!example.com!0!1!x.xml.gz",
	                        0,
	                        1,
	                        0,
	                        gz,
	                        sizeof(gz)};
	struct msg_headers *h = msg_headers_new();
	struct auth_error err;
	struct buf body;
	int rc;

	buf_init(&body, 1 << 20);
	rc = report_mail_build(&m, h, &body, &err);
	if (rc == 0)
		fuzz_fields_single_line(h);
	msg_headers_free(h);
	buf_free(&body);
	return rc;
}

static void
fuzz_dest(const char *uri)
{
	struct report_dest d;
	const char *why = NULL, *at;
	size_t i;

	if (report_dest_parse(uri, &d, &why) < 0) {
		if (why == NULL)
			abort();
		return;
	}
	for (i = 0; d.addr[i] != '\0'; i++)
		if ((unsigned char)d.addr[i] <= 0x20 || (unsigned char)d.addr[i] >= 0x7f ||
		    d.addr[i] == ',')
			abort();
	at = strrchr(d.addr, '@');
	if (at == NULL || strncasecmp(at + 1, d.domain, strlen(d.domain)) != 0)
		abort();
	for (i = 0; d.domain[i] != '\0'; i++)
		if (d.domain[i] >= 'A' && d.domain[i] <= 'Z')
			abort();
	if (fuzz_build(d.addr, "Fuzz Org", "id1") < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *pieces[3] = {"", "", ""};
	size_t i, n = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	(void)report_mail_is_report(copy, size);
	pieces[0] = copy;
	for (i = 0; i < size && n < 2; i++)
		if (copy[i] == '\0')
			pieces[++n] = copy + i + 1;
	fuzz_dest(pieces[0]);
	(void)fuzz_build(pieces[0], pieces[1], pieces[2]);
	free(copy);
	return 0;
}
