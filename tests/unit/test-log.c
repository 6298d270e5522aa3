/*
 * test-log - levels, line cleaning, bounds and the per-message summary
 * line, as written to standard error in the foreground.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "verdict.h"
#include "tap.h"

static char captured[4 * LOG_LINE_MAX];
static int saved_stderr = -1;
static FILE *capture_file;

static void
capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(capture_file), STDERR_FILENO);
}

/* Ends the capture; captured holds the text after each "]: ", one line each. */
static void
capture_end(void)
{
	char line[2 * LOG_LINE_MAX];
	size_t used = 0;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(capture_file);
	captured[0] = '\0';
	while (fgets(line, sizeof(line), capture_file) != NULL) {
		char *p = strstr(line, "]: ");
		int n;

		n = snprintf(captured + used, sizeof(captured) - used, "%s", p ? p + 3 : line);
		if (n < 0 || (size_t)n >= sizeof(captured) - used)
			break;
		used += (size_t)n;
	}
	fclose(capture_file);
}

static void
test_open_errors(void)
{
	struct auth_error err;

	is_int(log_open("test", true, "kern", "info", &err), -1, "unknown facility refused");
	is_str(err.msg, "unknown syslog facility kern", "facility message");
	is_int(log_open("test", true, "mail", "loud", &err), -1, "unknown level refused");
	is_str(err.msg, "unknown log level loud", "level message");
	is_int(log_open("test", true, "local3", "info", &err), 0, "foreground logger opens");
}

static void
test_levels(void)
{
	capture_begin();
	log_msg(LOG_L_DEBUG, "debug %d", 1);
	log_msg(LOG_L_INFO, "info %d", 2);
	log_set_level("error");
	log_msg(LOG_L_WARNING, "warning %d", 3);
	log_msg(LOG_L_ERROR, "error %d", 4);
	log_set_level("debug");
	log_msg(LOG_L_DEBUG, "debug %d", 5);
	capture_end();
	is_str(captured, "info 2\nerror 4\ndebug 5\n", "only levels up to the configured one");
	is_int(log_set_level("trace"), -1, "unknown level not set");
	ok(log_enabled(LOG_L_DEBUG), "the level stayed debug");
	log_set_level("notice");
	ok(log_enabled(LOG_L_NOTICE) && !log_enabled(LOG_L_INFO), "notice: info is dropped");
	log_set_level("info");
}

static void
test_line_format(void)
{
	char big[LOG_LINE_MAX * 2];
	FILE *f;
	char line[LOG_LINE_MAX * 3];

	capture_begin();
	log_msg(LOG_L_WARNING, "%s", "From: forged\r\nX-Injected: yes\t\x1b[0m\x7f");
	capture_end();
	is_str(captured, "From: forged??X-Injected: yes??[0m?\n",
	       "control characters cannot split or forge a line");

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture_begin();
	log_msg(LOG_L_INFO, "%s", big);
	capture_end();
	is_int(strlen(captured), LOG_LINE_MAX - 1 + 1, "a long message is cut to LOG_LINE_MAX");

	fflush(stderr);
	f = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	log_msg(LOG_L_NOTICE, "stamped");
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(f);
	line[0] = '\0';
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	ok(strlen(line) == 19 + strlen(" test[notice]: stamped\n") &&
	       strcmp(line + 19, " test[notice]: stamped\n") == 0 && line[4] == '-' &&
	       line[10] == ' ' && line[13] == ':',
	   "line is \"YYYY-MM-DD HH:MM:SS ident[level]: text\"");
	if (strchr(line, '\n') != NULL)
		*strchr(line, '\n') = '\0';
	diag("%s", line);
}

static void
test_summary(void)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	v.action = VERDICT_ACCEPT;
	v.spf_result = "pass";
	v.dkim_summary = "pass(example.org) fail(other.example)";
	v.dmarc_result = "pass";
	v.dmarc_disposition = "none";
	v.from_domain = "example.org";
	capture_begin();
	log_summary("4XyZ1", "192.0.2.25", &v);
	v.action = VERDICT_REJECT;
	v.dmarc_result = "fail";
	v.dmarc_disposition = "reject";
	snprintf(v.text, sizeof(v.text), "Rejected by DMARC policy for example.org");
	log_summary(NULL, NULL, &v);
	v.text[0] = '\0';
	v.action = VERDICT_ACCEPT;
	v.dmarc_result = "pass";
	v.dmarc_disposition = "none";
	v.partial_body = true;
	log_summary("Q2", "192.0.2.26", &v);
	v.partial_body = false;
	v.dmarc_result = "fail";
	v.dmarc_override = "trusted_forwarder";
	v.arc_seal = "sealed";
	log_summary("Q3", "192.0.2.27", &v);
	memset(&v, 0, sizeof(v));
	v.action = VERDICT_QUARANTINE;
	log_summary("", "2001:db8::1", &v);
	capture_end();
	is_str(captured,
	       "4XyZ1: client=192.0.2.25 spf=pass dkim=pass(example.org) fail(other.example) "
	       "dmarc=pass from=example.org disposition=none action=accept\n"
	       "NOQUEUE: client=unknown spf=pass dkim=pass(example.org) fail(other.example) "
	       "dmarc=fail from=example.org disposition=reject action=reject "
	       "text=Rejected by DMARC policy for example.org\n"
	       "Q2: client=192.0.2.26 spf=pass dkim=pass(example.org) fail(other.example) "
	       "dmarc=pass from=example.org disposition=none action=accept dkim_partial_body=yes\n"
	       "Q3: client=192.0.2.27 spf=pass dkim=pass(example.org) fail(other.example) "
	       "dmarc=fail from=example.org disposition=none override=trusted_forwarder "
	       "action=accept arc_seal=sealed\n"
	       "NOQUEUE: client=2001:db8::1 spf=none dkim=none dmarc=none from=- "
	       "disposition=none action=quarantine\n",
	       "one summary line per message, missing parts named");
}

int
main(void)
{
	test_open_errors();
	test_levels();
	test_line_format();
	test_summary();
	log_close();
	return done_testing();
}
