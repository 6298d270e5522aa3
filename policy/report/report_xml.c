/*
 * report_xml - see report_xml.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "report_xml.h"

#define NS_9990 "urn:ietf:params:xml:ns:dmarc-2.0"

const char *
report_format_name(enum report_format f)
{
	return f == REPORT_RFC7489 ? "rfc7489" : "rfc9990";
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
xml_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] > 0x8f) || (s[0] == 0xed && s[1] > 0x9f))
		return 0;
	return len;
}

static int
xml_text(struct buf *b, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i, u;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		switch (s[i]) {
		case '&':
			rc = buf_puts(b, "&amp;");
			continue;
		case '<':
			rc = buf_puts(b, "&lt;");
			continue;
		case '>':
			rc = buf_puts(b, "&gt;");
			continue;
		}
		if (s[i] >= 0x80 && (u = xml_utf8_len(s + i, n - i)) > 0) {
			rc = buf_append(b, s + i, u);
			i += u - 1;
		} else {
			rc = buf_putc(b, s[i] < 0x20 || s[i] >= 0x7f ? '?' : s[i]);
		}
	}
	return rc;
}

/* <name>text</name> at an indentation of depth tabs. */
static int
xml_elem(struct buf *b, int depth, const char *name, const char *text)
{
	int i;

	for (i = 0; i < depth; i++)
		if (buf_putc(b, '\t') < 0)
			return -1;
	if (buf_printf(b, "<%s>", name) < 0 || xml_text(b, text) < 0 ||
	    buf_printf(b, "</%s>\n", name) < 0)
		return -1;
	return 0;
}

static int
xml_open(struct buf *b, int depth, const char *name, bool open)
{
	int i;

	for (i = 0; i < depth; i++)
		if (buf_putc(b, '\t') < 0)
			return -1;
	return buf_printf(b, open ? "<%s>\n" : "</%s>\n", name);
}

static int
xml_int(struct buf *b, int depth, const char *name, int64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRId64, v);
	return xml_elem(b, depth, name, t);
}

static int
xml_metadata(struct buf *b, const struct report_meta *m)
{
	bool bis = m->format == REPORT_RFC9990;

	if (xml_open(b, 1, "report_metadata", true) < 0 ||
	    xml_elem(b, 2, "org_name", m->org_name) < 0 || xml_elem(b, 2, "email", m->email) < 0 ||
	    (m->extra_contact_info != NULL &&
	     xml_elem(b, 2, "extra_contact_info", m->extra_contact_info) < 0) ||
	    xml_elem(b, 2, "report_id", m->report_id) < 0 ||
	    xml_open(b, 2, "date_range", true) < 0 || xml_int(b, 3, "begin", m->begin) < 0 ||
	    xml_int(b, 3, "end", m->end) < 0 || xml_open(b, 2, "date_range", false) < 0 ||
	    (bis && m->generator != NULL && xml_elem(b, 2, "generator", m->generator) < 0) ||
	    xml_open(b, 1, "report_metadata", false) < 0)
		return -1;
	return 0;
}

static int
xml_policy(struct buf *b, const struct agg_policy *p, enum report_format f)
{
	bool bis = f == REPORT_RFC9990;
	const char *sp = p->sp[0] != '\0' ? p->sp : p->p;

	if (xml_open(b, 1, "policy_published", true) < 0 ||
	    xml_elem(b, 2, "domain", p->domain) < 0 ||
	    (bis && xml_elem(b, 2, "discovery_method", p->discovery) < 0) ||
	    xml_elem(b, 2, "p", p->p) < 0 || xml_elem(b, 2, "sp", sp) < 0 ||
	    (bis && p->np[0] != '\0' && xml_elem(b, 2, "np", p->np) < 0) ||
	    ((p->fo[0] != '\0' || !bis) &&
	     xml_elem(b, 2, "fo", p->fo[0] != '\0' ? p->fo : "0") < 0) ||
	    xml_elem(b, 2, "adkim", p->adkim) < 0 || xml_elem(b, 2, "aspf", p->aspf) < 0 ||
	    (!bis && xml_int(b, 2, "pct", p->pct >= 0 ? p->pct : 100) < 0) ||
	    (bis && xml_elem(b, 2, "testing", p->testing ? "y" : "n") < 0) ||
	    xml_open(b, 1, "policy_published", false) < 0)
		return -1;
	return 0;
}

/* The reason type for a stored override, in the format's words. */
static const char *
xml_reason(const char *override, enum report_format f, const char **comment)
{
	*comment = NULL;
	if (strcmp(override, "local_policy") == 0 || strcmp(override, "trusted_forwarder") == 0)
		return override;
	if (strcmp(override, "policy_test_mode") == 0) {
		if (f == REPORT_RFC9990)
			return override;
		*comment = "testing mode (t=y)";
		return "other";
	}
	if (strcmp(override, "sampled_out") == 0) {
		if (f == REPORT_RFC7489)
			return override;
		*comment = "sampled out (pct)";
		return "other";
	}
	return "other";
}

/* RFC 9990's "pass": no action, the message passed under a policy that
 * asked for one. */
static const char *
xml_disposition(const struct agg_row *r, const struct agg_policy *p, enum report_format f)
{
	const char *asked = p->p;

	if (f == REPORT_RFC7489 || !(r->dkim_aligned || r->spf_aligned) ||
	    strcmp(r->disposition, "none") != 0)
		return r->disposition;
	if (strcasecmp(r->header_from, p->domain) != 0 && p->sp[0] != '\0')
		asked = p->sp;
	return strcmp(asked, "none") != 0 ? "pass" : "none";
}

/* IPv6 in full for RFC 7489's pattern; otherwise as stored. */
static void
xml_ip(const char *ip, enum report_format f, char out[64])
{
	struct in6_addr a;
	const unsigned char *b = a.s6_addr;

	if (f != REPORT_RFC7489 || inet_pton(AF_INET6, ip, &a) != 1) {
		snprintf(out, 64, "%s", ip);
		return;
	}
	snprintf(out, 64, "%x:%x:%x:%x:%x:%x:%x:%x", b[0] << 8 | b[1], b[2] << 8 | b[3],
	         b[4] << 8 | b[5], b[6] << 8 | b[7], b[8] << 8 | b[9], b[10] << 8 | b[11],
	         b[12] << 8 | b[13], b[14] << 8 | b[15]);
}

static int
xml_row(struct buf *b, const struct agg_row *r, const struct agg_policy *p, enum report_format f)
{
	const char *type, *comment;
	char ip[64];

	xml_ip(r->source_ip, f, ip);
	if (xml_open(b, 2, "row", true) < 0 || xml_elem(b, 3, "source_ip", ip) < 0 ||
	    xml_int(b, 3, "count", r->count) < 0 || xml_open(b, 3, "policy_evaluated", true) < 0 ||
	    xml_elem(b, 4, "disposition", xml_disposition(r, p, f)) < 0 ||
	    xml_elem(b, 4, "dkim", r->dkim_aligned ? "pass" : "fail") < 0 ||
	    xml_elem(b, 4, "spf", r->spf_aligned ? "pass" : "fail") < 0)
		return -1;
	if (r->override[0] != '\0') {
		type = xml_reason(r->override, f, &comment);
		if (xml_open(b, 4, "reason", true) < 0 || xml_elem(b, 5, "type", type) < 0 ||
		    (comment != NULL && xml_elem(b, 5, "comment", comment) < 0) ||
		    xml_open(b, 4, "reason", false) < 0)
			return -1;
	}
	if (xml_open(b, 3, "policy_evaluated", false) < 0 || xml_open(b, 2, "row", false) < 0)
		return -1;
	return 0;
}

static int
xml_identifiers(struct buf *b, const struct agg_row *r)
{
	if (xml_open(b, 2, "identifiers", true) < 0 ||
	    xml_elem(b, 3, "header_from", r->header_from) < 0 ||
	    xml_elem(b, 3, "envelope_from", r->envelope_from) < 0 ||
	    (r->envelope_to[0] != '\0' && xml_elem(b, 3, "envelope_to", r->envelope_to) < 0) ||
	    xml_open(b, 2, "identifiers", false) < 0)
		return -1;
	return 0;
}

static int
xml_dkim(struct buf *b, const char *text)
{
	struct store_dkim k;
	int n = 0;

	while (n < STORE_DKIM_MAX && store_dkim_next(&text, &k)) {
		if (xml_open(b, 3, "dkim", true) < 0 || xml_elem(b, 4, "domain", k.domain) < 0 ||
		    xml_elem(b, 4, "selector", k.selector) < 0 ||
		    xml_elem(b, 4, "result", k.result) < 0 || xml_open(b, 3, "dkim", false) < 0)
			return -1;
		n++;
	}
	return 0;
}

static int
xml_spf(struct buf *b, const struct agg_row *r, enum report_format f)
{
	bool have = r->spf_result[0] != '\0';
	const char *domain = have                          ? r->spf_domain
	                     : r->envelope_from[0] != '\0' ? r->envelope_from
	                                                   : r->header_from;
	const char *scope = f == REPORT_RFC9990 || r->spf_scope[0] == '\0' ? "mfrom" : r->spf_scope;

	if (!have && f == REPORT_RFC9990)
		return 0;
	if (xml_open(b, 3, "spf", true) < 0 || xml_elem(b, 4, "domain", domain) < 0 ||
	    xml_elem(b, 4, "scope", scope) < 0 ||
	    xml_elem(b, 4, "result", have ? r->spf_result : "none") < 0 ||
	    xml_open(b, 3, "spf", false) < 0)
		return -1;
	return 0;
}

static int
xml_record(struct buf *b, const struct agg_row *r, const struct agg_policy *p, enum report_format f)
{
	if (xml_open(b, 1, "record", true) < 0 || xml_row(b, r, p, f) < 0 ||
	    xml_identifiers(b, r) < 0 || xml_open(b, 2, "auth_results", true) < 0 ||
	    xml_dkim(b, r->dkim) < 0 || xml_spf(b, r, f) < 0 ||
	    xml_open(b, 2, "auth_results", false) < 0 || xml_open(b, 1, "record", false) < 0)
		return -1;
	return 0;
}

int
report_xml(const struct report_meta *m, const struct aggregate *a, struct buf *out)
{
	const struct agg_policy *p = aggregate_policy(a);
	size_t i;

	if (p == NULL)
		return -1;
	if (buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") < 0 ||
	    buf_puts(out, m->format == REPORT_RFC9990 ? "<feedback xmlns=\"" NS_9990 "\">\n"
	                                              : "<feedback>\n") < 0 ||
	    xml_elem(out, 1, "version", "1.0") < 0 || xml_metadata(out, m) < 0 ||
	    xml_policy(out, p, m->format) < 0)
		return -1;
	for (i = 0; i < aggregate_nrows(a); i++)
		if (xml_record(out, aggregate_row(a, i), p, m->format) < 0)
			return -1;
	return buf_puts(out, "</feedback>\n");
}

int
report_filename(const char *receiver, const char *policy_domain, int64_t begin, int64_t end,
                const char *unique_id, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s!%s!%" PRId64 "!%" PRId64 "!%s.xml.gz", receiver,
	                 policy_domain, begin, end, unique_id);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void
report_unique_id(char out[REPORT_UNIQUE_ID_MAX])
{
	uint64_t v;

	arc4random_buf(&v, sizeof(v));
	snprintf(out, REPORT_UNIQUE_ID_MAX, "%016" PRIX64, v);
}

int
report_gzip(const char *data, size_t len, struct buf *out)
{
	z_stream z;
	unsigned char chunk[16384];
	int rc = Z_OK;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper; deflateInit2 leaves its time field 0. */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	while (rc == Z_OK) {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		if ((rc == Z_OK || rc == Z_STREAM_END) &&
		    buf_append(out, chunk, sizeof(chunk) - z.avail_out) < 0)
			rc = Z_BUF_ERROR;
	}
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}
