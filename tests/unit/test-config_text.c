/*
 * test-config_text - the nearest key name, lines that read back (quoting),
 * networks, and passwords masked in a store URI.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config_text.h"
#include "tap.h"

static const char *
names(void *ctx, size_t i)
{
	static const char *const list[] = {"authserv_id", "spf_timeout", "dns_server",
	                                   "dns_timeout", "user",        NULL};

	(void)ctx;
	return i < 5 ? list[i] : NULL;
}

static void
test_nearest(void)
{
	const char *n;

	n = config_nearest_name("Authserv_Id", names, NULL);
	is_str(n ? n : "(none)", "authserv_id", "case is ignored");
	n = config_nearest_name("dns_servr", names, NULL);
	is_str(n ? n : "(none)", "dns_server", "a letter missing");
	n = config_nearest_name("dns_timeuot", names, NULL);
	is_str(n ? n : "(none)", "dns_timeout", "two letters swapped");
	n = config_nearest_name("usr", names, NULL);
	is_str(n ? n : "(none)", "user", "a short name, one letter off");
	ok(config_nearest_name("xyz", names, NULL) == NULL, "nothing near: no suggestion");
	ok(config_nearest_name("completely_different_key", names, NULL) == NULL,
	   "a long name far from all");
	ok(config_nearest_name(
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", names,
	       NULL) == NULL,
	   "a name past 64 bytes is no one's typo");
}

static void
line_is(const char *key, const char *value, const char *want, const char *name)
{
	struct buf b;

	buf_init(&b, 4096);
	is_int(config_format_line(&b, key, value), 0, "%s: formats", name);
	is_str(b.data != NULL ? b.data : "", want, "%s", name);
	buf_free(&b);
}

static void
test_lines(void)
{
	line_is("socket", "unix:/x", "socket unix:/x\n", "a plain value is bare");
	line_is("report_org_name", "Example Mail", "report_org_name Example Mail\n",
	        "inner spaces need no quotes");
	line_is("report_org_name", "Example #1", "report_org_name \"Example #1\"\n",
	        "a # is quoted");
	line_is("dns_server", "", "dns_server \"\"\n", "the empty value");
	line_is("x", " lead", "x \" lead\"\n", "a leading space is quoted");
	line_is("x", "\"q", "x \"\"q\"\n", "a leading quote is quoted");
}

static void
test_nets(void)
{
	struct config_net nets[2];
	struct buf b;

	memset(nets, 0, sizeof(nets));
	nets[0].family = AF_INET;
	inet_pton(AF_INET, "10.0.0.0", nets[0].addr);
	nets[0].prefix = 8;
	nets[1].family = AF_INET6;
	inet_pton(AF_INET6, "::1", nets[1].addr);
	nets[1].prefix = 128;
	buf_init(&b, 4096);
	is_int(config_format_nets(&b, "trusted_networks", nets, 2), 0, "networks format");
	is_str(b.data, "trusted_networks 10.0.0.0/8, ::1\n", "a full-length prefix is left out");
	buf_reset(&b);
	is_int(config_format_nets(&b, "smtp_trusted_proxies", nets, 0), 0, "no networks");
	is_str(b.data, "smtp_trusted_proxies \"\"\n", "is the empty value");
	buf_free(&b);
}

/* A list longer than a line goes on several lines of the same key,
 * which one file adds up to the same list. */
static void
test_long_list(void)
{
	struct policy_config *cfg = config_new(NULL), *again = config_new(NULL);
	struct buf text, out;
	const char *p, *nl;
	size_t i, lines = 0, longest = 0;

	buf_init(&text, 1u << 20);
	buf_init(&out, 1u << 20);
	for (i = 0; i < 1000; i++)
		(void)buf_printf(&text, "never_reject_domains domain-number-%04zu.example\n", i);
	is_int(config_load_string(cfg, "t.conf", text.data, text.len, NULL), 0,
	       "1000 domains load");
	is_int(config_format_domains(&out, "never_reject_domains", &cfg->never_reject), 0,
	       "and format");
	for (p = out.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1, lines++)
		if ((size_t)(nl - p) > longest)
			longest = (size_t)(nl - p);
	ok(lines > 1, "on several lines (%zu)", lines);
	ok(longest <= CONFIG_LINE_MAX, "none longer than a config line (%zu)", longest);
	is_int(config_load_string(again, "out.conf", out.data, out.len, NULL), 0, "they read back");
	is_int(again->never_reject.n, 1000, "to the same 1000 entries");
	is_str(again->never_reject.v[999], "domain-number-0999.example", "in order");
	buf_free(&text);
	buf_free(&out);
	config_free(cfg);
	config_free(again);
}

static void
uri_is(const char *uri, const char *want, const char *name)
{
	struct buf b;

	buf_init(&b, 8192);
	is_int(config_format_secret_uri(&b, "report_store", uri), 0, "%s: formats", name);
	is_str(b.data, want, "%s", name);
	buf_free(&b);
}

static void
test_secrets(void)
{
	uri_is("sqlite:/var/lib/authmilter/reports.db",
	       "report_store sqlite:/var/lib/authmilter/reports.db\n", "sqlite: as it is");
	uri_is("postgresql://mx:s3cret@db.example.net/reports",
	       "report_store postgresql://mx:*****@db.example.net/reports\n",
	       "the password of the user information");
	uri_is("postgres://mx@db.example.net:5433/reports?sslmode=require",
	       "report_store postgres://mx@db.example.net:5433/reports?sslmode=require\n",
	       "no password: as it is");
	uri_is("postgresql:///reports?host=/run/pg&password=x&user=mx",
	       "report_store postgresql:///reports?host=/run/pg&password=*****&user=mx\n",
	       "a password= parameter");
	uri_is("postgresql://a:b@h/d?Password=c",
	       "report_store postgresql://a:*****@h/d?Password=*****\n", "both, any case");
	uri_is("postgresql://u:p@ss@h/d", "report_store postgresql://u:*****@h/d\n",
	       "an @ in the password: up to the last @");
}

int
main(void)
{
	test_nearest();
	test_lines();
	test_nets();
	test_long_list();
	test_secrets();
	return done_testing();
}
