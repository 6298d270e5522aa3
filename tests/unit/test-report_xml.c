/*
 * test-report_xml - aggregate reports as XML: the exact elements of each
 * format, validation with xmllint against the schemas in
 * tests/data/report (written from RFC 9990 Appendix A and RFC 7489
 * Appendix C), documents each schema must refuse, escaping, file names and
 * gzip.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "report_xml.h"
#include "reportrec.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test-report_xml-XXXXXX";

static struct aggregate *
make_aggregate(void)
{
	struct auth_error err;
	struct aggregate *a = aggregate_new(&err);
	struct test_record t;
	struct store_row *r;
	int i;

	for (i = 0; i < 3; i++) {
		test_record_init(&t, "example.org", i == 2 ? "2001:db8::5" : "192.0.2.1", 1000 + i);
		if (i == 1) {
			t.d.result = DMARC_RESULT_PASS;
			t.d.dkim_aligned = true;
			t.d.disposition = DMARC_DISP_NONE;
			t.d.override = DMARC_OVERRIDE_NONE;
			t.r.envelope_from = "b<&>\x01\xc3\xa4\xff";
		}
		if (i == 2) {
			t.d.override = DMARC_OVERRIDE_TESTING;
			t.r.spf = NULL;
		}
		r = store_row_new(&t.r, "mx", "u");
		(void)aggregate_add(a, r, &err);
		free(r);
	}
	aggregate_finish(a);
	return a;
}

static char *
render(const struct aggregate *a, enum report_format f)
{
	struct report_meta m = {f,     "Example Mail", "dmarc@example.net",
	                        NULL,  "0123ABCD",     "authmilter 0.1.0",
	                        86400, 172800};
	struct buf b;

	buf_init(&b, REPORT_XML_MAX);
	if (report_xml(&m, a, &b) < 0)
		return NULL;
	return buf_steal(&b);
}

/* Whether xmllint accepts text against a schema of tests/data/report. */
static bool
valid(const char *text, const char *schema)
{
	char path[256], cmd[1024];
	const char *src = getenv("top_srcdir");
	FILE *f;

	snprintf(path, sizeof(path), "%s/report.xml", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return false;
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "xmllint --noout --schema %s/tests/data/report/%s %s 2>/dev/null",
	         src != NULL ? src : "..", schema, path);
	return system(cmd) == 0;
}

/* text with the first from replaced by to. */
static char *
edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) + strlen(to) + 1;
	char *out = malloc(n);

	if (at == NULL || out == NULL) {
		free(out);
		return strdup("");
	}
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void
refused(const char *text, const char *from, const char *to, const char *schema, const char *what)
{
	char *bad = edit(text, from, to);

	ok(bad[0] != '\0' && !valid(bad, schema), "%s: refused", what);
	free(bad);
}

static void
test_rfc9990(const struct aggregate *a)
{
	char *x = render(a, REPORT_RFC9990);

	ok(x != NULL, "RFC 9990 report written");
	ok(strstr(
	       x,
	       "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n\t<version>1.0</version>") !=
	       NULL,
	   "namespace and version");
	ok(strstr(x, "\t\t<generator>authmilter 0.1.0</generator>\n") != NULL, "generator");
	ok(strstr(
	       x,
	       "<domain>example.org</domain>\n\t\t<discovery_method>treewalk</discovery_method>\n"
	       "\t\t<p>reject</p>\n\t\t<sp>reject</sp>\n\t\t<np>quarantine</np>\n"
	       "\t\t<fo>1:d</fo>\n\t\t<adkim>s</adkim>\n\t\t<aspf>r</aspf>\n"
	       "\t\t<testing>n</testing>\n") != NULL,
	   "policy published: discovery, sp defaulting to p, np, fo, testing");
	ok(strstr(x, "<pct>") == NULL, "no pct");
	ok(strstr(x, "<disposition>pass</disposition>") != NULL,
	   "a pass under p=reject has disposition pass");
	ok(strstr(x, "<type>policy_test_mode</type>") != NULL, "t=y is reason policy_test_mode");
	ok(strstr(x, "<type>local_policy</type>") != NULL, "local policy reason");
	ok(strstr(x, "<source_ip>2001:db8::5</source_ip>") != NULL, "IPv6 as stored");
	ok(strstr(x, "<envelope_from>b&lt;&amp;&gt;?\xc3\xa4?</envelope_from>") != NULL,
	   "markup escaped, control and invalid bytes replaced, UTF-8 kept");
	ok(strstr(x, "<selector>s%2</selector>") != NULL &&
	       strstr(x, "<domain>odd/dom ain</domain>"),
	   "DKIM selector and domain decoded");
	ok(strstr(x, "<scope>mfrom</scope>") != NULL, "SPF scope mfrom");
	ok(valid(x, "rfc9990.xsd"), "valid against the RFC 9990 schema");
	ok(!valid(x, "rfc7489.xsd"), "not valid against the RFC 7489 one");
	refused(x, "\t\t\t\t<selector>sel1</selector>\n", "", "rfc9990.xsd",
	        "a DKIM result without selector");
	refused(x, "<testing>n</testing>", "<testing>n</testing><pct>100</pct>", "rfc9990.xsd",
	        "pct");
	refused(x, "<type>local_policy</type>", "<type>sampled_out</type>", "rfc9990.xsd",
	        "reason sampled_out");
	refused(x, "<scope>mfrom</scope>", "<scope>helo</scope>", "rfc9990.xsd", "SPF scope helo");
	refused(x, "<report_id>0123ABCD</report_id>", "", "rfc9990.xsd", "no report_id");
	refused(x, " xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\"", "", "rfc9990.xsd",
	        "no namespace");
	free(x);
}

static void
test_rfc7489(const struct aggregate *a)
{
	char *x = render(a, REPORT_RFC7489);

	ok(x != NULL, "RFC 7489 report written");
	ok(strstr(x, "<feedback>\n\t<version>1.0</version>") != NULL, "no namespace");
	ok(strstr(x, "<generator>") == NULL && strstr(x, "<np>") == NULL &&
	       strstr(x, "<testing>") == NULL && strstr(x, "<discovery_method>") == NULL,
	   "none of RFC 9990's additions");
	ok(strstr(x, "<sp>reject</sp>\n\t\t<fo>1:d</fo>\n\t\t<adkim>s</adkim>\n\t\t<aspf>r</aspf>\n"
	             "\t\t<pct>100</pct>") != NULL,
	   "sp and pct with their defaults");
	ok(strstr(x, "<disposition>pass</disposition>") == NULL, "no disposition pass");
	ok(strstr(x, "<type>other</type>\n\t\t\t\t\t<comment>testing mode (t=y)</comment>") != NULL,
	   "t=y is other, with a comment");
	ok(strstr(x, "<source_ip>2001:db8:0:0:0:0:0:5</source_ip>") != NULL,
	   "IPv6 written in full");
	ok(strstr(x,
	          "<spf>\n\t\t\t\t<domain>bounce.example.org</domain>\n\t\t\t\t<scope>mfrom</scope>"
	          "\n\t\t\t\t<result>none</result>") != NULL,
	   "an spf element with result none when SPF was not evaluated");
	ok(valid(x, "rfc7489.xsd"), "valid against the RFC 7489 schema");
	ok(!valid(x, "rfc9990.xsd"), "not valid against the RFC 9990 one");
	refused(x, "<pct>100</pct>", "", "rfc7489.xsd", "no pct");
	refused(x, "<source_ip>2001:db8:0:0:0:0:0:5</source_ip>",
	        "<source_ip>2001:db8::5</source_ip>", "rfc7489.xsd", "a compressed IPv6 address");
	refused(x, "<type>local_policy</type>", "<type>policy_test_mode</type>", "rfc7489.xsd",
	        "reason policy_test_mode");
	free(x);
}

static void
test_name_and_gzip(void)
{
	char name[512], id[REPORT_UNIQUE_ID_MAX], back[64];
	struct buf gz;
	uLongf n = sizeof(back);
	z_stream z;

	is_int(report_filename("mx.example.net", "example.org", 86400, 172800, "0123ABCD", name,
	                       sizeof(name)),
	       0, "file name made");
	is_str(name, "mx.example.net!example.org!86400!172800!0123ABCD.xml.gz",
	       "RFC 9990 file name");
	is_int(report_filename("mx", "example.org", 0, 1, "X", name, 10), -1, "too long for out");
	report_unique_id(id);
	ok(strlen(id) == 16 && strspn(id, "0123456789ABCDEF") == 16, "unique id: 16 hex digits");
	buf_init(&gz, 1 << 20);
	is_int(report_gzip("<feedback/>", 11, &gz), 0, "gzip");
	ok(gz.len > 18 && (unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b &&
	       gz.data[4] == 0 && gz.data[5] == 0 && gz.data[6] == 0 && gz.data[7] == 0,
	   "a gzip header with time 0");
	memset(&z, 0, sizeof(z));
	inflateInit2(&z, 15 + 16);
	z.next_in = (unsigned char *)gz.data;
	z.avail_in = (uInt)gz.len;
	z.next_out = (unsigned char *)back;
	z.avail_out = (uInt)n;
	ok(inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == 11 &&
	       memcmp(back, "<feedback/>", 11) == 0,
	   "decompresses to the same bytes");
	inflateEnd(&z);
	buf_free(&gz);
}

int
main(void)
{
	struct aggregate *a;
	char cmd[128];

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	a = make_aggregate();
	test_rfc9990(a);
	test_rfc7489(a);
	test_name_and_gzip();
	aggregate_free(a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
