/*
 * test-config - defaults, every key, durations in every unit, file:line
 * errors (the nearest key for an unknown one), limits, trusted networks
 * and never_reject matching, and the configuration written out.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"
#include "tap.h"

#include "configtest.h"

static struct policy_config *
fresh(void)
{
	struct auth_error err;
	struct policy_config *cfg = config_new(&err);

	if (cfg == NULL) {
		diag("config_new: %s", err.msg);
		exit(1);
	}
	return cfg;
}

/* Loads text; returns the status and leaves the message in err. */
static int
load(struct policy_config *cfg, const char *text, struct auth_error *err)
{
	auth_error_clear(err);
	return config_load_string(cfg, "test.conf", text, strlen(text), err);
}

/* The built-in defaults, in cfg made by config_new() (and perhaps a file
 * that sets each key to its default). */
static void
check_defaults(const struct policy_config *cfg)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	is_str(cfg->authserv_id, host[0] ? host : "localhost", "authserv_id is the host name");
	ok(!cfg->add_received_spf, "add_received_spf no");
	is_int(cfg->spf_timeout_ms, 20000, "spf_timeout 20 s");
	ok(!cfg->spf_fail_reject, "spf_fail_reject no");
	is_int(cfg->dkim_max_signatures, 5, "dkim_max_signatures 5");
	ok(!cfg->dkim_allow_sha1, "dkim_allow_sha1 no");
	is_int(cfg->dkim_min_rsa_bits, 1024, "dkim_min_rsa_bits 1024");
	ok(!cfg->dkim_reject_partial_body, "dkim_reject_partial_body no");
	is_int(cfg->dmarc_mode, CONFIG_DMARC_RFC9989, "dmarc_mode rfc9989");
	is_int(cfg->from_policy, CONFIG_FROM_REJECT, "from_policy reject");
	is_int(cfg->quarantine, CONFIG_QUARANTINE_HOLD, "quarantine hold");
	ok(!cfg->report_only, "report_only no");
	is_int(cfg->on_dns_tempfail, CONFIG_ACCEPT, "on_dns_tempfail accept");
	is_int(cfg->on_internal_error, CONFIG_ACCEPT, "on_internal_error accept");
	is_int(cfg->ntrusted, 2, "two default trusted networks");
	ok(config_is_trusted(cfg, "127.0.0.1") && config_is_trusted(cfg, "127.255.0.9"),
	   "127.0.0.0/8 trusted by default");
	ok(config_is_trusted(cfg, "::1"), "::1 trusted by default");
	ok(!config_is_trusted(cfg, "192.0.2.1"), "other addresses not trusted by default");
	ok(cfg->skip_authenticated, "skip_authenticated yes");
	is_int(cfg->never_reject.n, 0, "never_reject empty");
	ok(cfg->dns_server == NULL, "dns_server unset");
	is_int(cfg->dns_timeout_ms, 2000, "dns_timeout 2 s");
	is_int(cfg->dns_retries, 1, "dns_retries 1");
	is_int(cfg->dns_cache_entries, 65536, "dns_cache_entries 65536");
	is_int(cfg->dns_cache_max_ttl, 86400, "dns_cache_max_ttl 1 day");
	is_int(cfg->dns_tempfail_ttl, 30, "dns_tempfail_ttl 30 s");
	is_int(cfg->max_header_bytes, 1048576, "max_header_bytes 1 MiB");
	is_int(cfg->max_headers, 1000, "max_headers 1000");
	is_str(cfg->socket, "unix:/var/spool/postfix/authmilter/authmilter.sock",
	       "socket default: inside the chroot of Debian's Postfix");
	ok(cfg->user == NULL && cfg->group == NULL && cfg->pidfile == NULL,
	   "user, group, pidfile unset");
	is_str(cfg->syslog_facility, "mail", "syslog_facility mail");
	is_str(cfg->log_level, "info", "log_level info");
	is_str(cfg->report_store, "sqlite:/var/lib/authmilter/reports.db", "report_store default");
	is_int(cfg->report_queue_size, 10000, "report_queue_size 10000");
	is_int(cfg->report_retention, 30 * 86400, "report_retention 30 days");
	ok(cfg->report_domain == NULL && cfg->report_org_name == NULL &&
	       cfg->report_email == NULL && cfg->report_contact_info == NULL,
	   "report_domain, report_org_name, report_email, report_contact_info unset");
	is_str(config_report_domain(cfg), cfg->authserv_id, "the report domain is authserv_id");
	is_str(cfg->report_smtp, "127.0.0.1:25", "report_smtp 127.0.0.1:25");
	ok(cfg->report_starttls, "report_starttls yes");
	is_int(cfg->report_send_limit, 1000, "report_send_limit 1000");
	is_int(cfg->report_suppress.n, 0, "report_suppress empty");
	ok(cfg->arc_trusted_sealers.n == 0 && cfg->arc_seal_domain == NULL &&
	       cfg->arc_seal_selector == NULL && cfg->arc_seal_key == NULL,
	   "no ARC sealers trusted, no sealing");
	is_int(cfg->ndkim_sign, 0, "no dkim_sign entries");
}

static void
test_defaults(void)
{
	struct policy_config *cfg = fresh();

	check_defaults(cfg);
	config_free(cfg);
}

/* Takes the keys config.c does not know: in the shipped file, the
 * listener's, which test-smtpd_conf checks (and authmilter -t, in
 * tests/e2e/conffile.sh, checks that no other key is there). */
static int
other_key(void *ctx, const char *key, const char *value, unsigned source, char *msg, size_t msglen)
{
	(void)ctx, (void)key, (void)value, (void)source, (void)msg, (void)msglen;
	return 0;
}

/* The shipped authmilter.conf shows every key at its default: with its
 * settings switched on it loads and changes nothing. */
static void
test_shipped_file(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;
	size_t len;
	char *text = conffile_settings(&len);
	struct config_ext ext = {other_key, NULL, NULL, NULL, NULL};

	config_set_ext(cfg, &ext);
	auth_error_clear(&err);
	is_int(config_load_string(cfg, "authmilter.conf", text, len, &err), 0,
	       "the shipped authmilter.conf loads with every setting on: %s", err.msg);
	diag("the shipped authmilter.conf, settings on:");
	check_defaults(cfg);
	free(text);
	config_free(cfg);
}

static void
test_report_sending(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(load(cfg,
	            "report_smtp [2001:db8::25]:587\nreport_starttls no\nreport_send_limit 20\n"
	            "report_suppress Quiet.Example, DMARC@Reports.Example.NET\n"
	            "report_suppress noisy.example\n",
	            &err),
	       0, "report sending keys: %s", err.msg);
	is_str(cfg->report_smtp, "[2001:db8::25]:587", "report_smtp");
	ok(!cfg->report_starttls, "report_starttls no");
	is_int(cfg->report_send_limit, 20, "report_send_limit");
	is_int(cfg->report_suppress.n, 3, "three suppressed entries");
	is_str(cfg->report_suppress.v[1], "dmarc@reports.example.net", "an address, lower-cased");
	ok(config_report_suppressed(cfg, "mail.quiet.example", "a@b.example", "b.example"),
	   "a policy domain below a listed domain");
	ok(config_report_suppressed(cfg, "a.example", "x@noisy.example", "noisy.example"),
	   "a listed destination domain");
	ok(config_report_suppressed(cfg, "a.example", "Dmarc@reports.example.net",
	                            "reports.example.net"),
	   "a listed address, any case");
	ok(!config_report_suppressed(cfg, "a.example", "other@reports.example.net",
	                             "reports.example.net"),
	   "another address of that domain is not");
	is_int(load(cfg, "report_suppress @example.com\n", &err), -1, "an empty local part");
	is_str(err.msg, "test.conf:1: not an address: @example.com", "its message");
	is_int(load(cfg, "report_suppress a@not..valid\n", &err), -1, "a bad domain");
	static const char *const bad_smtp[] = {"host:99999",     "host:",    ":25",  "2001:db8::1",
	                                       "[2001:db8::1]x", "host:25x", "ho st"};
	for (size_t i = 0; i < sizeof(bad_smtp) / sizeof(bad_smtp[0]); i++)
		is_int(config_set(cfg, "report_smtp", bad_smtp[i], &err), -1,
		       "report_smtp %s refused", bad_smtp[i]);
	is_str(err.msg,
	       "report_smtp takes HOST, HOST:PORT or [IPv6]:PORT, the port from 1 to 65535",
	       "its message");
	is_int(config_set(cfg, "report_smtp", "[::1]", &err), 0, "[::1] without a port");
	is_int(config_set(cfg, "report_smtp", "mail.example.net", &err), 0, "a host name");
	config_free(cfg);
}

static const char every_key[] = "# every key, with values that differ from the defaults\n"
                                "authserv_id mx.example.net\n"
                                "add_received_spf yes\n"
                                "spf_timeout 5s\n"
                                "spf_fail_reject TRUE\n"
                                "dkim_max_signatures 7\n"
                                "dkim_allow_sha1 on\n"
                                "dkim_min_rsa_bits 2048\n"
                                "dkim_reject_partial_body true\n"
                                "dmarc_mode rfc7489\n"
                                "from_policy evaluate-all\n"
                                "quarantine header\n"
                                "report_only yes\n"
                                "on_dns_tempfail tempfail\n"
                                "on_internal_error tempfail   # fail closed\n"
                                "trusted_networks 10.0.0.0/8, 2001:db8::/32\n"
                                "trusted_networks 192.0.2.7\n"
                                "skip_authenticated off\n"
                                "never_reject_domains Example.COM. lists.example.org\n"
                                "dns_server 127.0.0.1:5353\n"
                                "dns_timeout 1500ms\n"
                                "dns_retries 3\n"
                                "dns_cache_entries 1000\n"
                                "dns_cache_max_ttl 2h\n"
                                "max_header_bytes 64k\n"
                                "max_headers 200\n"
                                "\t socket  \"inet:8891@127.0.0.1\"\n"
                                "user authmilter\n"
                                "group mail\n"
                                "pidfile /run/authmilter/authmilter.pid\r\n"
                                "syslog_facility local3\n"
                                "log_level debug\n"
                                "report_queue_size 500\n"
                                "report_retention 7d\n"
                                "report_domain Reports.Example.NET\n"
                                "report_org_name \"Example Mail\"\n"
                                "report_email dmarc@example.net\n"
                                "report_contact_info https://example.net/dmarc\n"
                                "report_store postgresql://mx@db.example.net/reports";

static void
test_every_key(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(load(cfg, every_key, &err), 0, "every key loads");
	if (err.msg[0])
		diag("%s", err.msg);
	is_str(cfg->authserv_id, "mx.example.net", "authserv_id");
	ok(cfg->add_received_spf, "add_received_spf");
	is_int(cfg->spf_timeout_ms, 5000, "spf_timeout in seconds");
	ok(cfg->spf_fail_reject, "spf_fail_reject (TRUE)");
	is_int(cfg->dkim_max_signatures, 7, "dkim_max_signatures");
	ok(cfg->dkim_allow_sha1, "dkim_allow_sha1 (on)");
	is_int(cfg->dkim_min_rsa_bits, 2048, "dkim_min_rsa_bits");
	ok(cfg->dkim_reject_partial_body, "dkim_reject_partial_body");
	is_int(cfg->dmarc_mode, CONFIG_DMARC_RFC7489, "dmarc_mode");
	is_int(cfg->from_policy, CONFIG_FROM_EVALUATE_ALL, "from_policy");
	is_int(cfg->quarantine, CONFIG_QUARANTINE_HEADER, "quarantine");
	ok(cfg->report_only, "report_only");
	is_int(cfg->on_dns_tempfail, CONFIG_TEMPFAIL, "on_dns_tempfail");
	is_int(cfg->on_internal_error, CONFIG_TEMPFAIL, "on_internal_error, comment stripped");
	is_int(cfg->ntrusted, 3, "trusted_networks replaced the defaults, then added");
	ok(!config_is_trusted(cfg, "127.0.0.1"), "default loopback no longer trusted");
	ok(config_is_trusted(cfg, "192.0.2.7") && !config_is_trusted(cfg, "192.0.2.8"),
	   "bare address is a /32");
	ok(!cfg->skip_authenticated, "skip_authenticated");
	is_int(cfg->never_reject.n, 2, "never_reject_domains");
	is_str(cfg->never_reject.v[0], "example.com", "domain lower-cased, final dot dropped");
	is_str(cfg->dns_server, "127.0.0.1:5353", "dns_server");
	is_int(cfg->dns_timeout_ms, 1500, "dns_timeout in ms");
	is_int(cfg->dns_retries, 3, "dns_retries");
	is_int(cfg->dns_cache_entries, 1000, "dns_cache_entries");
	is_int(cfg->dns_cache_max_ttl, 7200, "dns_cache_max_ttl in hours");
	is_int(cfg->max_header_bytes, 65536, "max_header_bytes in KiB");
	is_int(cfg->max_headers, 200, "max_headers");
	is_str(cfg->socket, "inet:8891@127.0.0.1", "socket, quoted and indented");
	is_str(cfg->user, "authmilter", "user");
	is_str(cfg->group, "mail", "group");
	is_str(cfg->pidfile, "/run/authmilter/authmilter.pid", "pidfile, CRLF line end");
	is_str(cfg->syslog_facility, "local3", "syslog_facility");
	is_str(cfg->log_level, "debug", "log_level");
	is_int(cfg->report_queue_size, 500, "report_queue_size");
	is_int(cfg->report_retention, 7 * 86400, "report_retention in days");
	is_str(config_report_domain(cfg), "Reports.Example.NET", "report_domain as written");
	is_str(cfg->report_org_name, "Example Mail", "report_org_name, quoted");
	is_str(cfg->report_email, "dmarc@example.net", "report_email");
	is_str(cfg->report_contact_info, "https://example.net/dmarc", "report_contact_info");
	is_str(cfg->report_store, "postgresql://mx@db.example.net/reports",
	       "report_store, last line without newline");
	config_free(cfg);
}

/* Every duration key takes ms, s, m, h and d; a seconds key takes ms in
 * whole seconds. */
static void
test_durations(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(config_set(cfg, "spf_timeout", "10m", &err), 0, "spf_timeout 10m");
	is_int(cfg->spf_timeout_ms, 600000, "is 600000 ms");
	is_int(config_set(cfg, "spf_timeout", "1500", &err), 0, "a bare number is ms");
	is_int(cfg->spf_timeout_ms, 1500, "for a millisecond key");
	is_int(config_set(cfg, "dns_timeout", "1M", &err), 0, "units in any case");
	is_int(cfg->dns_timeout_ms, 60000, "1M is a minute");
	is_int(config_set(cfg, "dns_cache_max_ttl", "7d", &err), 0, "dns_cache_max_ttl 7d");
	is_int(cfg->dns_cache_max_ttl, 604800, "is 604800 s");
	is_int(config_set(cfg, "dns_tempfail_ttl", "3000ms", &err), 0, "3000ms for a seconds key");
	is_int(cfg->dns_tempfail_ttl, 3, "is 3 s");
	is_int(config_set(cfg, "dns_tempfail_ttl", "0", &err), 0, "a bare 0");
	is_int(cfg->dns_tempfail_ttl, 0, "is 0 s");
	is_int(config_set(cfg, "report_retention", "1h", &err), -1, "an hour of retention");
	is_str(err.msg, "report_retention must be between 1d and 3650d", "the range in days");
	is_int(config_set(cfg, "report_retention", "240h", &err), 0, "240h");
	is_int(cfg->report_retention, 864000, "is ten days");
	config_free(cfg);
}

static void
test_dns_server(void)
{
	static const char *const good[] = {
	    "127.0.0.1",           "127.0.0.1:5353", "ns.example.net:53",
	    "[2001:db8::53]:5353", "[::1]",          "2001:db8::53"};
	static const char *const bad[] = {"127.0.0.1:99999", "127.0.0.1:0",  "ns:",      ":53",
	                                  "[::1]x",          "[nothing]:53", "host:53x", "a b"};
	struct policy_config *cfg = fresh();
	struct auth_error err;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(config_set(cfg, "dns_server", good[i], &err), 0, "dns_server %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(config_set(cfg, "dns_server", bad[i], &err), -1, "dns_server %s refused",
		       bad[i]);
	config_free(cfg);
}

/* config_format(): every key once, in units that read back, and the text
 * read back formats the same. */
static void
test_format(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;
	struct buf a;

	buf_init(&a, 1u << 20);
	is_int(load(cfg, every_key, &err), 0, "every key loads");
	is_int(load(cfg,
	            "dkim_sign example.org mail2026 /etc/k1.pem\n"
	            "dkim_sign *.example.org sub /etc/k2.pem\n"
	            "report_org_name \"Example #1\"\n",
	            &err),
	       0, "and signing entries, a value with a #");
	configtest_roundtrip(cfg, fresh(), &a);
	ok(strstr(a.data, "\nspf_timeout 5s\n") != NULL, "spf_timeout 5s");
	ok(strstr(a.data, "\ndns_timeout 1500ms\n") != NULL, "dns_timeout 1500ms");
	ok(strstr(a.data, "\ndns_cache_max_ttl 2h\n") != NULL, "dns_cache_max_ttl 2h");
	ok(strstr(a.data, "\nreport_retention 7d\n") != NULL, "report_retention 7d");
	ok(strstr(a.data, "\nmax_header_bytes 64k\n") != NULL, "max_header_bytes 64k");
	ok(strstr(a.data, "\ntrusted_networks 10.0.0.0/8, 2001:db8::/32, 192.0.2.7\n") != NULL,
	   "trusted_networks, the lines of one file together");
	ok(strstr(a.data, "\nnever_reject_domains example.com, lists.example.org\n") != NULL,
	   "never_reject_domains normalized");
	ok(strstr(a.data, "\ndkim_sign example.org mail2026 /etc/k1.pem\n"
	                  "dkim_sign *.example.org sub /etc/k2.pem\n") != NULL,
	   "one dkim_sign line per entry");
	ok(strstr(a.data, "\nreport_org_name \"Example #1\"\n") != NULL, "a # is quoted");
	ok(strstr(a.data, "\narc_seal_key \"\"\n") != NULL, "an unset key is \"\"");
	ok(strstr(a.data, "\non_internal_error tempfail\n") != NULL, "an enum by its name");
	ok(strncmp(a.data, "authserv_id mx.example.net\n", 27) == 0, "the first key first");
	buf_free(&a);
	config_free(cfg);
}

static void
expect_error(const char *text, const char *want)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(load(cfg, text, &err), -1, "rejected: %s", want);
	is_str(err.msg, want, "exact message, with file:line");
	config_free(cfg);
}

static void
test_errors(void)
{
	expect_error("# ok\n\nbogus_key 1\n", "test.conf:3: unknown key \"bogus_key\"");
	expect_error("spf_timeout 10x\n",
	             "test.conf:1: \"10x\" is not a duration (ms, s, m, h, d)");
	expect_error("spf_timeout 1h\n", "test.conf:1: spf_timeout must be between 1ms and 10m");
	expect_error("dns_timeout 61s\n", "test.conf:1: dns_timeout must be between 1ms and 1m");
	expect_error("dns_timeout 99999999999d\n",
	             "test.conf:1: dns_timeout must be between 1ms and 1m");
	expect_error("dns_cache_max_ttl 5ms\n",
	             "test.conf:1: \"5ms\" is not a whole number of seconds");
	expect_error("dns_cache_max_ttl 8d\n",
	             "test.conf:1: dns_cache_max_ttl must be between 1s and 7d");
	expect_error("dns_tempfail_ttl 6m\n",
	             "test.conf:1: dns_tempfail_ttl must be between 0s and 5m");
	expect_error("max_header_bytes 65m\n",
	             "test.conf:1: max_header_bytes must be between 1k and 64m");
	expect_error("dns_retries -1\n", "test.conf:1: \"-1\" is not a number");
	expect_error("dns_retries 11\n", "test.conf:1: dns_retries must be between 0 and 10");
	expect_error("max_headers 99999999999999999999\n",
	             "test.conf:1: \"99999999999999999999\" is not a number");
	expect_error("max_header_bytes 1g\n", "test.conf:1: \"1g\" is not a size (bytes, k, m)");
	expect_error("report_only maybe\n",
	             "test.conf:1: \"maybe\" is not yes/no/true/false/on/off");
	expect_error("report_only\n", "test.conf:1: \"\" is not yes/no/true/false/on/off");
	expect_error("dmarc_mode rfc4408\n", "test.conf:1: dmarc_mode takes rfc9989 or rfc7489");
	expect_error("from_policy all\n",
	             "test.conf:1: from_policy takes reject or evaluate-all or none");
	expect_error("trusted_networks 10.0.0.1/8\n",
	             "test.conf:1: \"10.0.0.1/8\" has bits set past the prefix length");
	expect_error("trusted_networks 10.0.0.0/33\n",
	             "test.conf:1: \"10.0.0.0/33\" is not an address or ADDRESS/PREFIX");
	expect_error("trusted_networks ::/129\n",
	             "test.conf:1: \"::/129\" is not an address or ADDRESS/PREFIX");
	expect_error("trusted_networks example.com\n",
	             "test.conf:1: \"example.com\" is not an address or ADDRESS/PREFIX");
	expect_error("never_reject_domains a..b\n", "test.conf:1: \"a..b\" is not a domain name");
	expect_error("never_reject_domains a/b\n", "test.conf:1: \"a/b\" is not a domain name");
	expect_error("never_reject_domains a..\n", "test.conf:1: \"a..\" is not a domain name");
	expect_error("authserv_id \"mx example\"\n",
	             "test.conf:1: authserv_id must be a host-name-like token of 1 to 255 "
	             "characters");
	expect_error("authserv_id\n", "test.conf:1: authserv_id needs a value");
	expect_error("socket /tmp/s\n",
	             "test.conf:1: socket is unix:PATH, inet:PORT@HOST or inet6:PORT@HOST");
	expect_error("socket unix:relative\n",
	             "test.conf:1: unix socket needs an absolute path under 108 bytes");
	expect_error("socket inet:0@localhost\n",
	             "test.conf:1: inet sockets are inet:PORT@HOST or inet6:PORT@HOST");
	expect_error("user -root\n", "test.conf:1: \"-root\" is not a user or group name");
	expect_error("pidfile run/x.pid\n", "test.conf:1: \"run/x.pid\" is not an absolute path");
	expect_error("syslog_facility kern\n",
	             "test.conf:1: \"kern\" is not a syslog facility (mail, daemon, local0...)");
	expect_error("log_level trace\n",
	             "test.conf:1: log_level takes error, warning, notice, info or debug");
	expect_error("socket \"unix:/x\n", "test.conf:1: unterminated quoted value");
	expect_error("socket \"unix:/x\" y\n", "test.conf:1: text after the quoted value");
	expect_error("Socket unix:/x\n",
	             "test.conf:1: unknown key \"Socket\"; did you mean \"socket\"?");
	expect_error("Authserv_Id x\n",
	             "test.conf:1: unknown key \"Authserv_Id\"; did you mean \"authserv_id\"?");
	expect_error("spf_timout 1s\n",
	             "test.conf:1: unknown key \"spf_timout\"; did you mean \"spf_timeout\"?");
	expect_error("dns-server 127.0.0.1\n",
	             "test.conf:1: unknown key \"dns-server\"; did you mean \"dns_server\"?");
	expect_error("dkim_signs x\n",
	             "test.conf:1: unknown key \"dkim_signs\"; did you mean \"dkim_sign\"?");
	expect_error("zzz 1\n", "test.conf:1: unknown key \"zzz\"");
	expect_error("socket=unix:/x\n", "test.conf:1: expected \"key value\", not \"key=value\"");
	expect_error("socket: unix:/x\n", "test.conf:1: expected \"key value\", not \"key:value\"");
	expect_error("\"socket\" unix:/x\n", "test.conf:1: expected \"key value\"");
	expect_error(
	    "dns_server 1.2.3.4;rm\n",
	    "test.conf:1: dns_server takes HOST, HOST:PORT or [IPv6]:PORT, the port from 1 "
	    "to 65535");
	expect_error(
	    "dns_server 127.0.0.1:99999\n",
	    "test.conf:1: dns_server takes HOST, HOST:PORT or [IPv6]:PORT, the port from 1 "
	    "to 65535");
	expect_error(
	    "dns_server 127.0.0.1:0\n",
	    "test.conf:1: dns_server takes HOST, HOST:PORT or [IPv6]:PORT, the port from 1 "
	    "to 65535");
	expect_error(
	    "dns_server [::1\n",
	    "test.conf:1: dns_server takes HOST, HOST:PORT or [IPv6]:PORT, the port from 1 "
	    "to 65535");
	expect_error("report_store \"sqlite:a\tb\"\n",
	             "test.conf:1: report_store has a control character");
	expect_error("report_store /var/lib/reports.db\n",
	             "test.conf:1: report_store takes sqlite:PATH or a postgresql:// URI");
	expect_error("report_store sqlite:\n",
	             "test.conf:1: report_store takes sqlite:PATH or a postgresql:// URI");
	expect_error("report_db /tmp/reports.db\n",
	             "test.conf:1: report_db PATH is now report_store sqlite:PATH");
	expect_error("report_retention 1h\n",
	             "test.conf:1: report_retention must be between 1d and 3650d");
}

static void
test_nul_in_line(void)
{
	static const char text[] = "log_level info\nlog_level\0debug\n";
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(config_load_string(cfg, "n.conf", text, sizeof(text) - 1, &err), -1,
	       "a NUL byte inside a line is an error");
	is_str(err.msg, "n.conf:2: NUL byte in line", "NUL error names the line");
	config_free(cfg);
}

static void
test_limits(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;
	size_t n = CONFIG_LINE_MAX + 64, i;
	char *text = malloc(n + 1);
	char *list = malloc((CONFIG_LIST_MAX + 1) * 48);
	size_t len;

	memset(text, ' ', n);
	memcpy(text, "log_level debug", 15);
	text[n] = '\0';
	is_int(load(cfg, text, &err), -1, "a line over CONFIG_LINE_MAX is refused");
	is_str(err.msg, "test.conf:1: line longer than 4096 bytes", "line-length message");
	text[CONFIG_LINE_MAX] = '\0';
	is_int(load(cfg, text, &err), 0, "a line of exactly CONFIG_LINE_MAX bytes is read");
	is_str(cfg->log_level, "debug", "its value applies");

	/* A list may be repeated over lines, up to CONFIG_LIST_MAX entries. */
	len = 0;
	for (i = 0; i < CONFIG_LIST_MAX; i++)
		len += (size_t)snprintf(list + len, 48, "never_reject_domains d%zu.example\n", i);
	is_int(load(cfg, list, &err), 0, "CONFIG_LIST_MAX domains over many lines");
	is_int(cfg->never_reject.n, CONFIG_LIST_MAX, "all of them kept");
	is_str(cfg->never_reject.v[CONFIG_LIST_MAX - 1], "d1023.example", "the last one");
	snprintf(list + len, 48, "never_reject_domains z.example\n");
	is_int(load(cfg, list, &err), -1, "one more than CONFIG_LIST_MAX refused");
	is_str(err.msg, "test.conf:1025: never_reject_domains has more than 1024 entries",
	       "list-size message");
	is_int(config_set(cfg, "never_reject_domains", "x.example y.example", &err), 0,
	       "config_set a list");
	is_int(cfg->never_reject.n, 2, "config_set replaces the list");
	is_int(load(cfg, "trusted_networks \"\"\n", &err), 0, "empty list value");
	is_int(cfg->ntrusted, 0, "empties trusted_networks");
	ok(!config_is_trusted(cfg, "127.0.0.1"), "nothing trusted then");
	free(text);
	free(list);
	config_free(cfg);
}

static void
test_set_and_files(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;
	char dir[] = "/tmp/test-config-XXXXXX", path[64];
	FILE *f;

	is_int(config_set(cfg, "max_headers", "50", &err), 0, "config_set a number");
	is_int(cfg->max_headers, 50, "set");
	is_int(config_set(cfg, "nope", "1", &err), -1, "config_set unknown key");
	is_str(err.msg, "unknown key \"nope\"", "config_set message has no file:line");
	is_int(config_set(cfg, "pidfile", "", &err), 0, "empty pidfile");
	ok(cfg->pidfile == NULL, "clears it");
	is_int(config_set(cfg, "dns_server", "[::1]:53", &err), 0, "dns_server IPv6 form");

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		config_free(cfg);
		return;
	}
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	f = fopen(path, "w");
	fputs("log_level notice\n\nmax_headers 5\n", f);
	fclose(f);
	is_int(config_load(cfg, path, &err), -1, "config_load from a file");
	ok(strstr(err.msg, "/a.conf:3: max_headers must be between 10 and 100000") != NULL,
	   "file error names path and line (%s)", err.msg);
	is_str(cfg->log_level, "notice", "lines before the error applied");
	unlink(path);
	is_int(config_load(cfg, path, &err), -1, "missing file");
	ok(strstr(err.msg, "No such file or directory") != NULL, "says why (%s)", err.msg);
	rmdir(dir);
	config_free(cfg);
}

static void
test_trusted(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(load(cfg,
	            "trusted_networks 192.0.2.0/24 198.51.100.128/25 2001:db8:1::/48\n"
	            "trusted_networks ::ffff:203.0.113.0/120, 0.0.0.0/0\n",
	            &err),
	       0, "networks load");
	ok(config_is_trusted(cfg, "192.0.2.255"), "v4 inside /24");
	ok(config_is_trusted(cfg, "198.51.100.200"), "v4 inside /25");
	ok(config_is_trusted(cfg, "8.8.8.8"), "0.0.0.0/0 matches every IPv4");
	ok(config_is_trusted(cfg, "2001:db8:1:ffff::1"), "v6 inside /48");
	ok(!config_is_trusted(cfg, "2001:db8:2::1"), "v6 outside /48");
	ok(config_is_trusted(cfg, "::ffff:192.0.2.9"), "mapped v6 client matches v4 net");
	ok(!config_is_trusted(cfg, "::1"), "v4 /0 does not cover IPv6");
	ok(!config_is_trusted(cfg, "not-an-ip") && !config_is_trusted(cfg, NULL),
	   "unparsable or unknown client never trusted");
	is_int(load(cfg, "trusted_networks ::ffff:203.0.113.0/120\n", &err), 0,
	       "mapped network alone");
	ok(config_is_trusted(cfg, "203.0.113.77"), "mapped network is the IPv4 /24");
	ok(!config_is_trusted(cfg, "203.0.114.1"), "outside it");
	is_int(load(cfg, "trusted_networks 198.51.100.128/25\n", &err), 0, "a /25");
	ok(!config_is_trusted(cfg, "198.51.100.127"), "just below the /25");
	ok(config_is_trusted(cfg, "198.51.100.128"), "first address of the /25");
	is_int(load(cfg, "trusted_networks ::/0\n", &err), 0, "v6 /0");
	ok(config_is_trusted(cfg, "2001:db8::5") && !config_is_trusted(cfg, "10.0.0.1"),
	   "::/0 covers IPv6 only");
	config_free(cfg);
}

static void
test_never_reject(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(load(cfg, "never_reject_domains example.com, Lists.Example.ORG\n", &err), 0,
	       "domains load");
	ok(config_never_reject(cfg, "example.com"), "exact match");
	ok(config_never_reject(cfg, "EXAMPLE.com."), "case and final dot ignored");
	ok(config_never_reject(cfg, "mail.sub.example.com"), "parent domain matches");
	ok(!config_never_reject(cfg, "badexample.com"), "suffix that is not a label boundary");
	ok(!config_never_reject(cfg, "example.org"), "other domain");
	ok(config_never_reject(cfg, "a.lists.example.org"), "second entry, parent match");
	ok(!config_never_reject(cfg, "example.org") && !config_never_reject(cfg, "org"),
	   "the entry's parent does not match");
	ok(!config_never_reject(cfg, NULL) && !config_never_reject(cfg, ""), "no domain");
	config_free(cfg);
}

static void
test_arc_and_signing(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;

	is_int(load(cfg,
	            "arc_trusted_sealers lists.example, Forward.Example.\n"
	            "arc_seal_domain relay.example\narc_seal_selector arc2026\n"
	            "arc_seal_key /etc/authmilter/arc.key\n"
	            "dkim_sign example.org mail2026 /etc/authmilter/example.org.rsa\n"
	            "dkim_sign example.org ed2026 /etc/authmilter/example.org.ed25519\n"
	            "dkim_sign *.Corp.Example s1 /etc/authmilter/corp.key\n",
	            &err),
	       0, "ARC and signing keys: %s", err.msg);
	is_int(cfg->arc_trusted_sealers.n, 2, "two trusted sealers");
	is_str(cfg->arc_trusted_sealers.v[1], "forward.example", "lower-cased, dot dropped");
	ok(config_trusted_sealer(cfg, "mail.lists.example"), "a sealer below a trusted domain");
	ok(!config_trusted_sealer(cfg, "evil-lists.example"), "a name merely ending alike is not");
	is_str(cfg->arc_seal_domain, "relay.example", "arc_seal_domain");
	is_str(cfg->arc_seal_selector, "arc2026", "arc_seal_selector");
	is_int(cfg->ndkim_sign, 3, "three dkim_sign entries");
	is_str(cfg->dkim_sign[1].selector, "ed2026", "a second key for one domain");
	is_str(cfg->dkim_sign[2].domain, "*.corp.example", "a pattern, lower-cased");
	ok(config_sign_matches(&cfg->dkim_sign[0], "Example.Org"), "exact domain, any case");
	ok(!config_sign_matches(&cfg->dkim_sign[0], "sub.example.org"), "not its subdomains");
	ok(config_sign_matches(&cfg->dkim_sign[2], "a.b.corp.example"), "a pattern: names below");
	ok(!config_sign_matches(&cfg->dkim_sign[2], "corp.example"), "not the domain itself");
	is_int(load(cfg, "dkim_sign example.org mail2026\n", &err), -1, "two words refused");
	is_str(err.msg, "test.conf:1: dkim_sign takes DOMAIN SELECTOR KEYFILE", "its message");
	is_int(load(cfg, "dkim_sign example.org bad_sel /k\n", &err), -1, "a bad selector");
	is_int(load(cfg, "dkim_sign example.org s relative/key\n", &err), -1,
	       "a relative key path");
	is_int(load(cfg, "arc_seal_domain not..valid\n", &err), -1, "a bad sealing domain");
	is_int(config_set(cfg, "dkim_sign", "", &err), 0, "an empty value");
	is_int(cfg->ndkim_sign, 0, "empties the list");
	config_free(cfg);
}

/* A front end's keys: one string key and one list key. */
struct ext_keys {
	char value[64];
	unsigned items, list_source;
	int freed;
};

static int
ext_set(void *ctx, const char *key, const char *value, unsigned source, char *msg, size_t msglen)
{
	struct ext_keys *k = ctx;

	if (strcmp(key, "fe_value") == 0) {
		if (strcmp(value, "bad") == 0) {
			snprintf(msg, msglen, "fe_value cannot be bad");
			return -1;
		}
		snprintf(k->value, sizeof(k->value), "%s", value);
		return 0;
	}
	if (strcmp(key, "fe_list") != 0)
		return CONFIG_EXT_UNKNOWN;
	if (source != k->list_source)
		k->items = 0;
	k->list_source = source;
	k->items++;
	return 0;
}

static const char *
ext_name(void *ctx, size_t i)
{
	static const char *const names[] = {"fe_value", "fe_list", NULL};

	(void)ctx;
	return i < 2 ? names[i] : NULL;
}

static void
ext_free(void *ctx)
{
	((struct ext_keys *)ctx)->freed++;
}

static void
test_ext(void)
{
	struct policy_config *cfg = fresh();
	struct ext_keys keys = {"", 0, 0, 0};
	struct config_ext ext = {ext_set, ext_free, &keys, ext_name, NULL};
	struct auth_error err;

	ok(config_ext(cfg) == NULL, "no extension by default");
	config_set_ext(cfg, &ext);
	ok(config_ext(cfg) == &keys, "config_ext gives the context back");
	is_int(load(cfg, "max_headers 50\nfe_value one\nfe_list a\nfe_list b\n", &err), 0,
	       "a file mixes policy keys and the front end's");
	is_int(cfg->max_headers, 50, "the policy key is set");
	is_str(keys.value, "one", "the front end's key is set");
	is_int(keys.items, 2, "a list key named twice in one file adds");
	is_int(load(cfg, "fe_list c\n", &err), 0, "a second file");
	is_int(keys.items, 1, "a new file replaces the list");
	is_int(config_set(cfg, "fe_list", "d", &err), 0, "an override of the list");
	is_int(keys.items, 1, "an override replaces it too");
	is_int(load(cfg, "\nfe_value bad\n", &err), -1, "the front end refuses a value");
	is_str(err.msg, "test.conf:2: fe_value cannot be bad", "its message names file:line");
	is_int(load(cfg, "fe_nothing 1\n", &err), -1, "a key neither knows");
	is_str(err.msg, "test.conf:1: unknown key \"fe_nothing\"", "is still an unknown key");
	is_int(load(cfg, "Fe_Value 1\n", &err), -1, "a front-end key in the wrong case");
	is_str(err.msg, "test.conf:1: unknown key \"Fe_Value\"; did you mean \"fe_value\"?",
	       "is told the front end's key");
	is_int(config_set(cfg, "fe_nothing", "1", &err), -1, "also as an override");
	config_free(cfg);
	is_int(keys.freed, 1, "config_free frees the extension once");
}

int
main(void)
{
	test_defaults();
	test_shipped_file();
	test_every_key();
	test_durations();
	test_dns_server();
	test_format();
	test_errors();
	test_nul_in_line();
	test_limits();
	test_set_and_files();
	test_trusted();
	test_never_reject();
	test_arc_and_signing();
	test_report_sending();
	test_ext();
	return done_testing();
}
