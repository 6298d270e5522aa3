/*
 * test-smtpd_conf - the listener's keys in the daemon's config: defaults,
 * every key, lists replaced per source, file:line errors (the nearest key
 * for an unknown one), the keys written out, and the checks the listener
 * makes before serving.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "config.h"
#include "smtpd_conf.h"
#include "tap.h"

#include "configtest.h"

static struct policy_config *
fresh(void)
{
	struct policy_config *cfg = config_new(NULL);
	struct config_ext ext = {0};

	if (cfg == NULL || smtpd_conf_keys(&ext, NULL) < 0)
		exit(1);
	config_set_ext(cfg, &ext);
	return cfg;
}

static int
load(struct policy_config *cfg, const char *text, struct auth_error *err)
{
	return config_load_string(cfg, "t.conf", text, strlen(text), err);
}

/* The listener's built-in defaults, in cfg (perhaps after a file that sets
 * each key to its default). */
static void
check_defaults(const struct policy_config *cfg)
{
	const struct smtpd_conf *sc = smtpd_conf_get(cfg);

	ok(sc->nlisten == 0 && sc->next_hop == NULL && sc->maildir == NULL, "nothing set");
	ok(sc->hostname == NULL && sc->quarantine_maildir == NULL && sc->tls_cert_file == NULL &&
	       sc->tls_key_file == NULL && sc->nproxies == 0,
	   "no host name, quarantine folder, certificate or trusted proxy");
	is_int(sc->max_connections, 10000, "smtp_max_connections 10000");
	is_int(sc->max_message_size, 10485760, "smtp_max_message_size 10 MiB");
	is_int(sc->max_recipients, 100, "smtp_max_recipients 100 (RFC 5321 4.5.3.1.8)");
	is_int(sc->max_line_length, 1000, "smtp_max_line_length 1000");
	is_int(sc->command_timeout, 300, "smtp_command_timeout 5 minutes");
	is_int(sc->data_timeout, 300, "smtp_data_timeout 5 minutes");
	is_int(sc->drain_timeout, 30, "smtp_drain_timeout 30 s");
	is_int(sc->workers, 16, "smtp_workers 16");
	is_int(sc->max_connections_per_ip, 50, "smtp_max_connections_per_ip 50");
	ok(sc->hop_connect_timeout == 30 && sc->hop_timeout == 300 && sc->hop_data_timeout == 300,
	   "next hop timeouts 30 s, 5 minutes, 5 minutes");
	ok(sc->hop_starttls && !sc->accept_bare_line_ends && !sc->proxy_protocol,
	   "STARTTLS to the next hop, bare line ends refused, no PROXY protocol");
}

static void
test_defaults(void)
{
	struct policy_config *cfg = fresh();

	check_defaults(cfg);
	config_free(cfg);
}

/* The shipped authmilter.conf shows the listener's keys at their defaults
 * too (test-config checks the policy keys). */
static void
test_shipped_file(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err = {0};
	size_t len;
	char *text = conffile_settings(&len);

	is_int(load(cfg, text, &err), 0,
	       "the shipped authmilter.conf loads with every setting on: %s", err.msg);
	diag("the shipped authmilter.conf, settings on:");
	check_defaults(cfg);
	free(text);
	config_free(cfg);
}

static void
test_keys(void)
{
	struct policy_config *cfg = fresh();
	const struct smtpd_conf *sc = smtpd_conf_get(cfg);
	struct auth_error err;

	is_int(load(cfg,
	            "smtp_listen 2525, [::1]:25\nsmtp_listen 10.0.0.1:587\n"
	            "next_hop lmtp:unix:/run/lmtp\nsmtp_max_message_size 1m\n"
	            "smtp_command_timeout 2m\nsmtp_trusted_proxies 192.0.2.0/24\n"
	            "smtp_proxy_protocol yes\nsmtp_accept_bare_line_ends yes\n"
	            "smtp_workers 4\nsmtp_hostname mx.example\nmax_headers 50\n",
	            &err),
	       0, "a file of listener and policy keys");
	ok(sc->nlisten == 3 && strcmp(sc->listen[0].port, "2525") == 0 &&
	       sc->listen[0].host[0] == '\0' && strcmp(sc->listen[1].host, "::1") == 0 &&
	       strcmp(sc->listen[2].host, "10.0.0.1") == 0,
	   "three listeners from two lines");
	ok(sc->hop.proto == SMTPC_LMTP && strcmp(sc->hop.path, "/run/lmtp") == 0, "next_hop read");
	ok(sc->max_message_size == 1048576 && sc->command_timeout == 120 && sc->workers == 4,
	   "sizes, durations and counts");
	ok(smtpd_conf_is_proxy(sc, "192.0.2.9") && !smtpd_conf_is_proxy(sc, "192.0.3.1"),
	   "trusted proxies");
	is_int(config_set(cfg, "smtp_listen", "127.0.0.1:25", &err), 0, "-o smtp_listen");
	is_int(sc->nlisten, 1, "an override replaces the list");
	is_int(load(cfg, "\nsmtp_listen 99999\n", &err), -1, "a bad port");
	is_str(err.msg, "t.conf:2: smtp_listen takes [ADDRESS:]PORT, not \"99999\"",
	       "file:line and what is wrong");
	is_int(load(cfg, "next_hop ftp:x\n", &err), -1, "a bad next hop");
	is_int(load(cfg, "smtp_workers 0\n", &err), -1, "smtp_workers 0");
	is_str(err.msg, "t.conf:1: smtp_workers must be between 1 and 1024", "range message");
	is_int(load(cfg, "maildir relative/path\n", &err), -1, "a relative maildir");
	is_int(load(cfg, "smtp_nothing 1\n", &err), -1, "an unknown key");
	is_str(err.msg, "t.conf:1: unknown key \"smtp_nothing\"", "is still an error");
	is_int(load(cfg, "Smtp_Listen 25\n", &err), -1, "a listener key in the wrong case");
	is_str(err.msg, "t.conf:1: unknown key \"Smtp_Listen\"; did you mean \"smtp_listen\"?",
	       "is told the listener's key");
	is_int(load(cfg, "next_hop_timout 1m\n", &err), -1, "a near miss");
	is_str(err.msg,
	       "t.conf:1: unknown key \"next_hop_timout\"; did you mean \"next_hop_timeout\"?",
	       "the nearest key, whichever part of the file owns it");
	config_free(cfg);
}

/* The listener's keys written out, as config_format() asks, read back. */
static void
test_format(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;
	struct buf a;

	buf_init(&a, 1u << 20);
	is_int(load(cfg,
	            "smtp_listen 2525, [::1]:25, 10.0.0.1:587\nmaildir /var/mail/%d/%l\n"
	            "smtp_command_timeout 90\nsmtp_trusted_proxies 192.0.2.0/24, 2001:db8::1\n"
	            "smtp_max_message_size 20m\n",
	            &err),
	       0, "listener keys load");
	configtest_roundtrip(cfg, fresh(), &a);
	ok(strstr(a.data, "\nsmtp_listen 2525, [::1]:25, 10.0.0.1:587\n") != NULL,
	   "smtp_listen as written");
	ok(strstr(a.data, "\nsmtp_command_timeout 90s\n") != NULL, "seconds with their unit");
	ok(strstr(a.data, "\nsmtp_max_message_size 20m\n") != NULL, "a size in MiB");
	ok(strstr(a.data, "\nsmtp_trusted_proxies 192.0.2.0/24, 2001:db8::1\n") != NULL,
	   "the proxies");
	ok(strstr(a.data, "\nnext_hop \"\"\nmaildir /var/mail/%d/%l\n") != NULL,
	   "no next hop, the maildir");
	ok(strstr(a.data, "\nnext_hop_starttls yes\n") != NULL, "the last key");
	buf_free(&a);
	config_free(cfg);
}

static void
test_check(void)
{
	struct policy_config *cfg = fresh();
	struct auth_error err;
	char buf[300];

	is_int(smtpd_conf_check(cfg, &err), -1, "nothing to listen on");
	config_set(cfg, "smtp_listen", "2525", &err);
	is_int(smtpd_conf_check(cfg, &err), -1, "no destination");
	is_str(err.msg, "accepted mail needs one destination: next_hop or maildir", "says so");
	config_set(cfg, "maildir", "/var/mail/%d/%l", &err);
	config_set(cfg, "next_hop", "smtp:127.0.0.1:25", &err);
	is_int(smtpd_conf_check(cfg, &err), -1, "two destinations");
	config_set(cfg, "next_hop", "", &err);
	is_int(smtpd_conf_check(cfg, &err), 0, "one destination");
	is_str(smtpd_conf_quarantine(smtpd_conf_get(cfg), buf, sizeof(buf)),
	       "/var/mail/%d/%l/.Quarantine", "quarantine beside the delivery by default");
	config_set(cfg, "smtp_tls_cert_file", "/nonexistent/cert.pem", &err);
	is_int(smtpd_conf_check(cfg, &err), -1, "a certificate without a key");
	config_set(cfg, "smtp_tls_key_file", "/nonexistent/key.pem", &err);
	is_int(smtpd_conf_check(cfg, &err), -1, "files that cannot be read");
	ok(strncmp(err.msg, "smtp_tls_cert_file /nonexistent/cert.pem: ", 42) == 0,
	   "the error names the file (%s)", err.msg);
	config_free(cfg);
}

int
main(void)
{
	test_defaults();
	test_shipped_file();
	test_keys();
	test_format();
	test_check();
	return done_testing();
}
