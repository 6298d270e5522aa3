/*
 * test-report_send - authreport send against a real SMTP server (Postfix's
 * smtp-sink) and zone data in memory: which destinations are mailed,
 * which are given up and which wait for the next run, what the store
 * records of each, and that the mail that went out carries a DKIM
 * signature for the reporting domain that verifies.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim-util.h"
#include "report_send.h"
#include "smtpsink.h"
#include "tap.h"

static struct smtpsink sink;
static struct tkey key;
static char zone[8192];

#define RUA                                                                                        \
	"mailto:dmarc@example.com,mailto:agg@reports.example.net!10m,"                             \
	"mailto:x@unauth.example.net,https://example.com/report,mailto:q@quiet.example,"           \
	"mailto:big@example.com!1k,mailto:t@tempfail.example.net"

static struct policy_config *
make_config(const char *dir)
{
	struct policy_config *cfg = config_new(NULL);
	char path[128], entry[300], smtp[64], store[128];
	int fd;

	snprintf(path, sizeof(path), "%s/report.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, key.pem, strlen(key.pem)) != (ssize_t)strlen(key.pem))
		abort();
	close(fd);
	/* Another domain's key is not read: it may be root's alone. */
	snprintf(entry, sizeof(entry),
	         "dkim_sign mx.example.org sel %s\n"
	         "dkim_sign other.example sel /nonexistent/other.key\n",
	         path);
	snprintf(smtp, sizeof(smtp), "127.0.0.1:%d", sink.port);
	snprintf(store, sizeof(store), "sqlite:%s/reports.db", dir);
	if (config_set(cfg, "report_email", "reports@mx.example.org", NULL) < 0 ||
	    config_set(cfg, "report_domain", "mx.example.org", NULL) < 0 ||
	    config_load_string(cfg, "test.conf", entry, strlen(entry), NULL) < 0 ||
	    config_set(cfg, "report_smtp", smtp, NULL) < 0 ||
	    config_set(cfg, "report_suppress", "quiet.example", NULL) < 0 ||
	    config_set(cfg, "report_store", store, NULL) < 0)
		abort();
	return cfg;
}

static int
count_pending(void *ctx, const struct store_pending *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

/* The dump as the message was sent: smtp-sink's X- lines dropped, CRLF. */
static char *
as_sent(const char *dump)
{
	const char *start = dump != NULL ? strstr(dump, "DKIM-Signature:") : NULL;
	size_t n = 0;
	char *out;

	if (start == NULL)
		return NULL;
	out = malloc(2 * strlen(start) + 1);
	for (; *start != '\0'; start++) {
		if (*start == '\n')
			out[n++] = '\r';
		out[n++] = *start;
	}
	out[n] = '\0';
	return out;
}

/* Checks one mail from the sink; returns whom it was for, bit 1 or 2. */
static int
check_mail(void)
{
	char *dump = smtpsink_take(&sink, ""), *text = as_sent(dump);
	int to;
	struct dkim_verify_opts vo = {0};
	struct dkim_verifier *v;

	ok(text != NULL, "a report mail in the sink");
	if (text == NULL)
		return 0;
	to = strstr(text, "\r\nTo: dmarc@example.com\r\n") != NULL         ? 1
	     : strstr(text, "\r\nTo: agg@reports.example.net\r\n") != NULL ? 2
	                                                                   : 0;
	ok(strstr(text, "\r\nSubject: Report Domain: example.com Submitter: mx.example.org "
	                "Report-ID: R1\r\n") != NULL,
	   "  its Subject");
	ok(strstr(text, "filename=\"mx.example.org!example.com!0!86400!R1.xml.gz\"") != NULL,
	   "  its attachment's name");
	v = tverify(text, zone, NULL, &vo, 0);
	ok(dkim_verifier_count(v) == 1 && dkim_verifier_result(v, 0)->result == DKIM_PASS &&
	       strcmp(dkim_verifier_result(v, 0)->d, "mx.example.org") == 0,
	   "  DKIM pass for mx.example.org");
	dkim_verifier_free(v);
	free(text);
	free(dump);
	return to;
}

static void
test_send(const char *dir)
{
	struct policy_config *cfg = make_config(dir);
	struct store_report r = {"R1",      "example.com",
	                         "rfc9990", "mx.example.org!example.com!0!86400!R1.xml.gz",
	                         RUA,       "<feedback/>",
	                         0,         86400,
	                         86400,     3,
	                         false};
	struct dns_resolver *res;
	struct report_send_stats st;
	struct auth_error err;
	struct store *s;
	char *log = NULL;
	size_t loglen = 0;
	FILE *logf = open_memstream(&log, &loglen);
	int pending = 0;

	zone_key(zone, sizeof(zone), "sel._domainkey.mx.example.org.", &key, "");
	zone_txt(zone, sizeof(zone), "example.com._report._dmarc.reports.example.net.", "v=DMARC1");
	zone_txt(zone, sizeof(zone), "example.com._report._dmarc.unauth.example.net.", "v=spf1");
	res = tresolver(zone, "example.com._report._dmarc.tempfail.example.net/TXT");
	if ((s = store_open(cfg->report_store, &err)) == NULL ||
	    store_report_save(s, &r, &err) < 0) {
		ok(0, "set up: %s", err.msg);
		return;
	}
	is_int(report_send(cfg, s, res, logf, &st, &err), 0, "sent: %s", err.msg);
	fclose(logf);
	is_int(st.sent, 2, "two sent");
	is_int(st.failed, 4, "four given up");
	is_int(st.deferred, 1, "one deferred");
	ok(strstr(log, "sent R1 mailto:dmarc@example.com: ok\n") != NULL, "log: the policy domain");
	ok(strstr(log, "sent R1 mailto:agg@reports.example.net!10m: ok\n") != NULL,
	   "log: an authorized external destination");
	ok(strstr(log, "failed R1 mailto:x@unauth.example.net: the destination publishes no "
	               "authorization record\n") != NULL,
	   "log: an unauthorized one");
	ok(strstr(log, "failed R1 https://example.com/report: not a mailto: URI\n") != NULL,
	   "log: not mailto");
	ok(strstr(log, "failed R1 mailto:q@quiet.example: suppressed by report_suppress\n") != NULL,
	   "log: suppressed");
	ok(strstr(log, "failed R1 mailto:big@example.com!1k: the mail (") != NULL,
	   "log: over the size limit");
	ok(strstr(log, "deferred R1 mailto:t@tempfail.example.net: temporary DNS failure") != NULL,
	   "log: a temporary DNS failure");
	store_each_pending(s, count_pending, &pending, &err);
	is_int(pending, 1, "one destination still pending");
	usleep(200000);
	is_int(check_mail() | check_mail(), 3, "one mail to each of the two");
	ok(smtpsink_take(&sink, "") == NULL, "nothing else was mailed");

	/* The next runs: only the deferred one is tried, until it is given up. */
	for (int i = 1; i < REPORT_SEND_ATTEMPTS; i++)
		report_send(cfg, s, res, stderr, &st, &err);
	is_int(st.failed, 1, "after %d attempts the deferred one is given up",
	       REPORT_SEND_ATTEMPTS);
	pending = 0;
	store_each_pending(s, count_pending, &pending, &err);
	is_int(pending, 0, "nothing pending any more");
	free(log);
	store_close(s);
	dns_resolver_free(res);
	config_free(cfg);
}

/* report_send_limit: the mails over it wait, pending, for the next run. */
static void
test_limit(const char *dir)
{
	struct policy_config *cfg = make_config(dir);
	struct dns_resolver *res = tresolver(zone, NULL);
	struct store_report r = {"R3",
	                         "example.com",
	                         "rfc9990",
	                         "g.xml.gz",
	                         "mailto:a@example.com,mailto:b@example.com,mailto:c@example.com",
	                         "<feedback/>",
	                         172800,
	                         259200,
	                         259200,
	                         1,
	                         false};
	struct report_send_stats st;
	struct auth_error err;
	struct store *s = store_open(cfg->report_store, &err);
	int pending = 0, mails = 0;
	char *m;

	config_set(cfg, "report_send_limit", "2", NULL);
	if (s == NULL || store_report_save(s, &r, &err) < 0) {
		ok(0, "set up: %s", err.msg);
		return;
	}
	is_int(report_send(cfg, s, res, stderr, &st, &err), 0, "limited run: %s", err.msg);
	ok(st.sent == 2 && st.failed == 0 && st.deferred == 0 && st.left == 1,
	   "limit 2: two sent, one left for the next run (%lu, %lu)", st.sent, st.left);
	store_each_pending(s, count_pending, &pending, &err);
	is_int(pending, 1, "the one left is still pending");
	report_send(cfg, s, res, stderr, &st, &err);
	ok(st.sent == 1 && st.left == 0, "the next run sends it (%lu, %lu)", st.sent, st.left);
	usleep(200000);
	while ((m = smtpsink_take(&sink, "")) != NULL) {
		mails++;
		free(m);
	}
	is_int(mails, 3, "three mails in all");
	store_close(s);
	dns_resolver_free(res);
	config_free(cfg);
}

static void
test_refusals(const char *dir)
{
	struct policy_config *cfg = make_config(dir);
	struct dns_resolver *res = tresolver(zone, NULL);
	struct store_report r = {
	    "R2",          "example.com", "rfc9990", "f.xml.gz", "mailto:a@example.com",
	    "<feedback/>", 86400,         172800,    172800,     1,
	    false};
	static const char *const defer_rcpt[] = {"-r", "RCPT", NULL};
	struct report_send_stats st;
	struct auth_error err;
	struct store *s = store_open(cfg->report_store, &err);
	char *log = NULL;
	size_t loglen = 0;
	FILE *logf;

	store_report_save(s, &r, &err);
	smtpsink_stop(&sink);
	logf = open_memstream(&log, &loglen);
	report_send(cfg, s, res, logf, &st, &err);
	fclose(logf);
	ok(st.deferred == 1 && strstr(log, "the SMTP server cannot be reached") != NULL,
	   "no SMTP server: deferred (%s)", log);
	free(log);
	if (smtpsink_start(&sink, false, "refusing", defer_rcpt) < 0) {
		ok(0, "smtp-sink restarted");
		return;
	}
	{
		char smtp[64];
		snprintf(smtp, sizeof(smtp), "127.0.0.1:%d", sink.port);
		config_set(cfg, "report_smtp", smtp, NULL);
	}
	log = NULL;
	logf = open_memstream(&log, &loglen);
	report_send(cfg, s, res, logf, &st, &err);
	fclose(logf);
	ok(st.deferred == 1 && strstr(log, "RCPT TO: 450") != NULL, "RCPT deferred: deferred (%s)",
	   log);
	free(log);
	config_set(cfg, "dkim_sign", "", NULL);
	ok(report_send(cfg, s, res, stderr, &st, &err) == -1 &&
	       strstr(err.msg, "no dkim_sign entry for mx.example.org") != NULL,
	   "no key for the report domain: refused (%s)", err.msg);
	store_close(s);
	dns_resolver_free(res);
	config_free(cfg);
}

int
main(void)
{
	char dir[] = "/tmp/test-report_send-XXXXXX";

	if (!smtpsink_usable(&sink, "test-report_send-sink") || mkdtemp(dir) == NULL) {
		ok(1, "# SKIP smtp-sink not installed, or not root");
		return done_testing();
	}
	tkey_make(&key, "ED25519", 0);
	if (smtpsink_start(&sink, false, "mail", NULL) < 0) {
		ok(0, "smtp-sink started");
		return done_testing();
	}
	test_send(dir);
	test_limit(dir);
	test_refusals(dir);
	smtpsink_stop(&sink);
	smtpsink_cleanup(&sink);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
