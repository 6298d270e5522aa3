/*
 * test-metrics - the counters and their exposition: what each verdict
 * counts, exact sums across threads, the histogram's buckets, and an
 * exposition every line of which a strict reading accepts.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"

static struct buf page;

static void
render(void)
{
	buf_free(&page);
	buf_init(&page, METRICS_EXPOSITION_MAX);
	if (metrics_render(&page) < 0)
		ok(0, "exposition rendered");
}

/* The value of the series written exactly so, or -1 when absent. */
static long
value(const char *series)
{
	size_t n = strlen(series);
	const char *p = page.data;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtol(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return -1;
}

static struct verdict
verdict_of(const char *spf, const char *dmarc, const char *disp, enum verdict_action action)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	v.spf_result = spf;
	v.dkim_summary = "none";
	v.dmarc_result = dmarc;
	v.dmarc_disposition = disp;
	v.action = action;
	return v;
}

static void
test_verdicts(void)
{
	struct dkim_sig_result sigs[2];
	struct verdict v;

	memset(sigs, 0, sizeof(sigs));
	sigs[0].result = DKIM_PASS;
	sigs[1].result = DKIM_FAIL;
	v = verdict_of("pass", "pass", "none", VERDICT_ACCEPT);
	v.ndkim = 2;
	v.dkim = sigs;
	metrics_message(METRICS_MILTER, &v, metrics_clock());
	v = verdict_of("fail", "fail", "reject", VERDICT_REJECT);
	metrics_message(METRICS_MILTER, &v, metrics_clock());
	v = verdict_of("skipped", "skipped", "skipped", VERDICT_ACCEPT);
	v.skipped = true;
	metrics_message(METRICS_SMTP, &v, metrics_clock());
	v = verdict_of("error", "error", "error", VERDICT_TEMPFAIL);
	v.reason = VERDICT_R_INTERNAL;
	metrics_message(METRICS_SMTP, &v, metrics_clock());
	render();
	is_int(value("authmilter_messages_total{frontend=\"milter\"}"), 2, "two milter messages");
	is_int(value("authmilter_messages_total{frontend=\"smtp\"}"), 2, "two smtp messages");
	is_int(value("authmilter_spf_results_total{result=\"pass\"}"), 1, "spf pass once");
	is_int(value("authmilter_spf_results_total{result=\"fail\"}"), 1, "spf fail once");
	is_int(value("authmilter_spf_results_total{result=\"skipped\"}"), 1, "spf skipped once");
	is_int(value("authmilter_spf_results_total{result=\"error\"}"), 1, "spf error once");
	is_int(value("authmilter_dkim_results_total{result=\"pass\"}"), 1, "each signature: pass");
	is_int(value("authmilter_dkim_results_total{result=\"fail\"}"), 1, "each signature: fail");
	is_int(value("authmilter_dkim_results_total{result=\"none\"}"), 1,
	       "no signature: none, once");
	is_int(value("authmilter_dkim_results_total{result=\"skipped\"}"), 1, "dkim skipped");
	is_int(value("authmilter_dmarc_results_total{result=\"fail\"}"), 1, "dmarc fail once");
	is_int(value("authmilter_dmarc_results_total{result=\"error\"}"), 1, "dmarc error once");
	is_int(value("authmilter_actions_total{action=\"accept\"}"), 2, "two accepted");
	is_int(value("authmilter_actions_total{action=\"reject\"}"), 1, "one rejected");
	is_int(value("authmilter_actions_total{action=\"tempfail\"}"), 1, "one deferred");
	is_int(value("authmilter_actions_total{action=\"quarantine\"}"), 0, "none quarantined");
	is_int(value("authmilter_dmarc_dispositions_total{disposition=\"reject\"}"), 1,
	       "disposition reject once");
	is_int(value("authmilter_dmarc_dispositions_total{disposition=\"none\"}"), 1,
	       "disposition none once");
	is_int(value("authmilter_end_of_message_seconds_count{frontend=\"milter\"}"), 2,
	       "two milter messages timed");
}

static void
test_histogram(void)
{
	struct verdict v = verdict_of("none", "none", "none", VERDICT_ACCEPT);
	const char *b = "authmilter_end_of_message_seconds_bucket{frontend=\"smtp\",le=";
	char series[128];
	long before;

	snprintf(series, sizeof(series), "%s\"0.025\"}", b);
	render();
	before = value(series);
	metrics_message(METRICS_SMTP, &v, metrics_clock() - 12000);
	render();
	is_int(value(series), before + 1, "12 ms: counted under le=0.025");
	snprintf(series, sizeof(series), "%s\"0.01\"}", b);
	is_int(value(series), before, "12 ms: not under le=0.01");
	snprintf(series, sizeof(series), "%s\"+Inf\"}", b);
	is_int(value(series), value("authmilter_end_of_message_seconds_count{frontend=\"smtp\"}"),
	       "+Inf is the count");
}

static void
test_connections(void)
{
	metrics_connection(METRICS_SMTP, true);
	metrics_connection(METRICS_SMTP, true);
	metrics_connection(METRICS_SMTP, true);
	metrics_connection(METRICS_SMTP, false);
	render();
	is_int(value("authmilter_connections_total{frontend=\"smtp\"}"), 3, "three connections");
	is_int(value("authmilter_connections{frontend=\"smtp\"}"), 2, "two still open");
	is_int(value("authmilter_connections{frontend=\"milter\"}"), 0, "no milter connection");
}

#define NTHREADS 8
#define NMESSAGES 5000

static void *
thread_count(void *arg)
{
	struct verdict v = verdict_of("pass", "pass", "none", VERDICT_ACCEPT);
	int i;

	(void)arg;
	for (i = 0; i < NMESSAGES; i++)
		metrics_message(METRICS_MILTER, &v, metrics_clock());
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[NTHREADS];
	long before;
	int i;

	render();
	before = value("authmilter_messages_total{frontend=\"milter\"}");
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, thread_count, NULL);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	render();
	is_int(value("authmilter_messages_total{frontend=\"milter\"}"),
	       before + NTHREADS * NMESSAGES, "%d threads x %d messages, every one counted",
	       NTHREADS, NMESSAGES);
}

/* The family a sample line belongs to: its name, less a histogram suffix
 * when the family is a histogram. */
static bool
sample_in_family(const char *line, size_t namelen, const char *family, const char *type)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	size_t flen = strlen(family), i;

	if (namelen == flen && strncmp(line, family, flen) == 0)
		return strcmp(type, "histogram") != 0;
	if (strcmp(type, "histogram") != 0 || namelen <= flen || strncmp(line, family, flen) != 0)
		return false;
	for (i = 0; i < 3; i++)
		if (namelen - flen == strlen(suffixes[i]) &&
		    strncmp(line + flen, suffixes[i], namelen - flen) == 0)
			return true;
	return false;
}

/* Every family: HELP, then TYPE, then its samples only; each sample
 * NAME[{labels}] VALUE. */
static void
test_format(void)
{
	char family[128] = "", type[16] = "", help[128] = "";
	char *copy, *line, *save = NULL;
	int bad = 0, families = 0, samples = 0;

	render();
	copy = strdup(page.data);
	ok(page.len > 0 && page.data[page.len - 1] == '\n', "ends with a line end");
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(line, "{ ");

		if (sscanf(line, "# HELP %127s", help) == 1) {
			families++;
			continue;
		}
		if (sscanf(line, "# TYPE %127s %15s", family, type) == 2) {
			if (strcmp(family, help) != 0)
				bad++;
			continue;
		}
		samples++;
		if (!sample_in_family(line, n, family, type) || strchr(line, ' ') == NULL ||
		    (line[n] == '{' && strstr(line, "} ") == NULL))
			bad++;
	}
	free(copy);
	is_int(bad, 0, "every sample under its own HELP and TYPE");
	ok(families >= 20 && samples > families, "%d families, %d samples", families, samples);
}

static void
test_seconds(void)
{
	char s[32];

	metrics_format_seconds(2500, s, sizeof(s));
	is_str(s, "0.0025", "2500 us");
	metrics_format_seconds(1000000, s, sizeof(s));
	is_str(s, "1", "1 s");
	metrics_format_seconds(2500000, s, sizeof(s));
	is_str(s, "2.5", "2.5 s");
	metrics_format_seconds(0, s, sizeof(s));
	is_str(s, "0", "0");
}

static void
test_bounded(void)
{
	struct buf small;

	buf_init(&small, 512);
	is_int(metrics_render(&small), -1, "an exposition past the buffer's bound fails");
	buf_free(&small);
}

int
main(void)
{
	test_verdicts();
	test_histogram();
	test_connections();
	test_threads();
	test_format();
	test_seconds();
	test_bounded();
	buf_free(&page);
	return done_testing();
}
