/*
 * test-report_dest - rua URIs as records publish them, and the
 * external-destination check over zone data in memory.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_zone.h"
#include "report_dest.h"
#include "tap.h"

static const char zone[] =
    "$ORIGIN test.\n"
    "$TTL 300\n"
    "example.com._report._dmarc.reports.example.net. TXT \"v=DMARC1\"\n"
    "example.com._report._dmarc.spaced.example.net. TXT "
    "\"v=DMARC1; rua=mailto:x@SPACED.example.net,mailto:broken\"\n"
    "example.com._report._dmarc.elsewhere.example.net. TXT "
    "\"v=DMARC1; rua=mailto:x@elsewhere.example.net,mailto:x@y.test\"\n"
    "example.com._report._dmarc.web.example.net. TXT \"v=DMARC1; rua=https://collect.test/r\"\n"
    "example.com._report._dmarc.two.example.net. TXT \"v=DMARC1\"\n"
    "example.com._report._dmarc.two.example.net. TXT \"v=DMARC1; rua=mailto:r@z.test\"\n"
    "example.com._report._dmarc.wrong.example.net. TXT \"v=DMARC10\"\n"
    "example.com._report._dmarc.other.example.net. TXT \"v=spf1 -all\"\n"
    "other.example.org._report._dmarc.reports.example.net. TXT \"v=DMARC1\"\n";

static void
test_parse(void)
{
	struct report_dest d;
	const char *why = NULL;

	is_int(report_dest_parse("mailto:dmarc@Example.COM", &d, &why), 0, "plain mailto");
	is_str(d.addr, "dmarc@Example.COM", "the address as written");
	is_str(d.domain, "example.com", "its domain in lower case");
	ok(d.max_bytes == 0, "no size limit");
	is_int(report_dest_parse("MAILTO:a%2Bb@example.com!10m", &d, &why), 0, "encoded, sized");
	is_str(d.addr, "a+b@example.com", "percent-decoded");
	ok(d.max_bytes == 10u << 20, "10m is 10 MiB (%llu)", (unsigned long long)d.max_bytes);
	is_int(report_dest_parse("mailto:r@example.com!2048", &d, &why), 0, "size in bytes");
	ok(d.max_bytes == 2048, "2048 bytes");
	is_int(report_dest_parse("mailto:r@example.com?subject=hi", &d, &why), 0,
	       "hfields ignored");
	is_str(d.addr, "r@example.com", "without the hfields");

	static const struct {
		const char *uri, *why;
	} bad[] = {
	    {"https://example.com/report", "not a mailto: URI"},
	    {"mailto:r@example.com!10x", "a size limit that is not a number with k, m, g or t"},
	    {"mailto:r@example.com!", "a size limit that is not a number with k, m, g or t"},
	    {"mailto:r@example.com!99999999999999999999", "a size limit that is not a number with "
	                                                  "k, m, g or t"},
	    {"mailto:r@example.com!0", "a size limit that is not a number with k, m, g or t"},
	    {"mailto:a%0D%0ARCPT@example.com",
	     "an address that is not printable ASCII, or too long"},
	    {"mailto:a%2", "an address that is not printable ASCII, or too long"},
	    {"mailto:a%20b@example.com", "an address that is not printable ASCII, or too long"},
	    {"mailto:example.com", "not one address"},
	    {"mailto:a@example.com%2Cb@evil.example", "not one address"},
	    {"mailto:a..b@example.com", "a local part other than a dot-atom"},
	    {"mailto:\"a\"@example.com", "a local part other than a dot-atom"},
	    {"mailto:@example.com", "a local part other than a dot-atom"},
	    {"mailto:a<b@example.com", "a local part other than a dot-atom"},
	    {"mailto:a@[192.0.2.1]", "no domain name after the @"},
	    {"mailto:a@localhost", "no domain name after the @"},
	    {"mailto:a@exa..mple.com", "no domain name after the @"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		is_int(report_dest_parse(bad[i].uri, &d, &why), -1, "refused: %s", bad[i].uri);
		is_str(why, bad[i].why, "  because: %s", bad[i].why);
	}
}

static struct dns_resolver *
resolver(void)
{
	struct auth_error err;
	struct dns_resolver *r = dns_zone_new(&err);

	if (r == NULL || dns_zone_load_string(r, zone, NULL, &err) < 0 ||
	    dns_zone_add_fail(r, "example.com._report._dmarc.broken.example.net/TXT", &err) < 0) {
		diag("zone: %s", err.msg);
		exit(1);
	}
	return r;
}

static void
test_authorized(void)
{
	static const struct {
		const char *policy, *dest;
		enum report_dest_auth want;
		const char *why;
	} t[] = {
	    {"example.com", "example.com", REPORT_DEST_ALLOWED, NULL},
	    {"mail.example.com", "example.com", REPORT_DEST_ALLOWED, NULL},
	    {"example.com", "reports.example.com", REPORT_DEST_ALLOWED, NULL},
	    {"example.com", "reports.example.net", REPORT_DEST_ALLOWED, NULL},
	    /* An override to the destination's own host (or a malformed one). */
	    {"example.com", "spaced.example.net", REPORT_DEST_ALLOWED, NULL},
	    /* RFC 9990 §4: a rua= naming another host: no report to either. */
	    {"example.com", "elsewhere.example.net", REPORT_DEST_REFUSED,
	     "the authorization record sends the reports to another host"},
	    {"example.com", "web.example.net", REPORT_DEST_REFUSED,
	     "the authorization record sends the reports to another host"},
	    {"example.com", "two.example.net", REPORT_DEST_REFUSED,
	     "the authorization record sends the reports to another host"},
	    {"example.com", "wrong.example.net", REPORT_DEST_REFUSED,
	     "the destination publishes no authorization record"},
	    {"example.com", "other.example.net", REPORT_DEST_REFUSED,
	     "the destination publishes no authorization record"},
	    {"example.com", "nothing.example.net", REPORT_DEST_REFUSED,
	     "the destination publishes no authorization record"},
	    {"example.com", "broken.example.net", REPORT_DEST_TEMPFAIL,
	     "temporary DNS failure asking for the authorization record"},
	    /* The record is for other.example.org itself, not its parent. */
	    {"example.org", "reports.example.net", REPORT_DEST_REFUSED,
	     "the destination publishes no authorization record"},
	    {"other.example.org", "reports.example.net", REPORT_DEST_ALLOWED, NULL},
	};
	struct dns_resolver *r = resolver();
	struct auth_error err;
	struct dmarc_opts opts = {.mode = DMARC_MODE_RFC7489};
	struct dmarc_ctx *dc = dmarc_ctx_new(r, &opts, &err);
	char longname[300];

	if (dc == NULL) {
		diag("dmarc: %s", err.msg);
		exit(1);
	}
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum report_dest_auth a = REPORT_DEST_ALLOWED;
		const char *why = "unset";
		is_int(report_dest_authorized(dc, r, t[i].policy, t[i].dest, &a, &why), 0,
		       "%s -> %s", t[i].policy, t[i].dest);
		is_int(a, t[i].want, "  decided");
		is_str(why, t[i].why, "  reason");
	}
	memset(longname, 'a', 120);
	strcpy(longname + 120, ".example.net");
	{
		enum report_dest_auth a;
		const char *why;
		char policy[140];
		memset(policy, 'b', 120);
		strcpy(policy + 120, ".example.com");
		report_dest_authorized(dc, r, policy, longname, &a, &why);
		is_int(a, REPORT_DEST_REFUSED, "a name past 253 octets: refused");
		is_str(why, "the authorization record's name is longer than DNS allows",
		       "  reason");
	}
	dmarc_ctx_free(dc);
	dns_resolver_free(r);
}

int
main(void)
{
	test_parse();
	test_authorized();
	return done_testing();
}
