/*
 * metrics - see metrics.h.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "recorder.h"
#include "resolver.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const fe_names[METRICS_FRONTENDS] = {"milter", "smtp"};
static const char *const spf_names[] = {"pass",      "fail",      "softfail", "neutral", "none",
                                        "temperror", "permerror", "skipped",  "error"};
static const char *const dkim_names[] = {"pass",      "fail",      "neutral", "policy", "none",
                                         "temperror", "permerror", "skipped", "error"};
static const char *const dmarc_names[] = {"pass",      "fail",    "none", "temperror",
                                          "permerror", "skipped", "error"};
/* In enum verdict_action's order. */
static const char *const action_names[] = {"accept", "reject", "tempfail", "quarantine"};
static const char *const disp_names[] = {"none", "quarantine", "reject", "skipped", "error"};
static const char *const dns_reply_names[DNS_LDNS_R_COUNT] = {
    "noerror", "nxdomain", "servfail", "refused", "other", "timeout", "malformed"};

#define EOM_BUCKETS 14
static const unsigned long eom_bounds_us[EOM_BUCKETS] = {
    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000,
};

/* Per bucket, not cumulative; the last past every bound. */
struct metrics_hist {
	atomic_ulong bucket[EOM_BUCKETS + 1];
	atomic_ullong sum_us;
};

/* One slot's counts; its size a multiple of the line, so slots share none. */
struct metrics_slot {
	_Alignas(64) atomic_ulong messages[METRICS_FRONTENDS];
	atomic_ulong opened[METRICS_FRONTENDS], closed[METRICS_FRONTENDS];
	atomic_ulong spf[NELEM(spf_names)], dkim[NELEM(dkim_names)], dmarc[NELEM(dmarc_names)];
	atomic_ulong action[NELEM(action_names)], disp[NELEM(disp_names)];
	struct metrics_hist eom[METRICS_FRONTENDS];
};

static struct metrics_slot metrics_slots[METRICS_SLOTS];
static atomic_uint metrics_next_slot;
static _Thread_local struct metrics_slot *metrics_mine;
static _Atomic(struct dns_resolver *) metrics_resolver;

static struct metrics_slot *
metrics_slot(void)
{
	if (metrics_mine == NULL)
		metrics_mine = &metrics_slots[atomic_fetch_add_explicit(&metrics_next_slot, 1,
		                                                        memory_order_relaxed) %
		                              METRICS_SLOTS];
	return metrics_mine;
}

static void
metrics_add(atomic_ulong *a, unsigned long n)
{
	atomic_fetch_add_explicit(a, n, memory_order_relaxed);
}

static unsigned long
metrics_load(const atomic_ulong *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

uint64_t
metrics_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The index of name in names, or n when it is none of them. */
static size_t
metrics_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return n;
}

static void
metrics_count_name(atomic_ulong *counts, const char *const *names, size_t n, const char *name)
{
	size_t i = metrics_index(names, n, name);

	if (i < n)
		metrics_add(&counts[i], 1);
}

static void
metrics_count_dkim(struct metrics_slot *s, const struct verdict *v, const char *unchecked)
{
	size_t i;

	if (unchecked != NULL || v->ndkim == 0) {
		metrics_count_name(s->dkim, dkim_names, NELEM(dkim_names),
		                   unchecked != NULL ? unchecked : "none");
		return;
	}
	for (i = 0; i < v->ndkim; i++)
		metrics_count_name(s->dkim, dkim_names, NELEM(dkim_names),
		                   dkim_result_name(v->dkim[i].result));
}

static void
metrics_count_latency(struct metrics_hist *h, uint64_t started)
{
	uint64_t us = metrics_clock() - started;
	size_t i = 0;

	while (i < EOM_BUCKETS && us > eom_bounds_us[i])
		i++;
	metrics_add(&h->bucket[i], 1);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void
metrics_message(enum metrics_frontend fe, const struct verdict *v, uint64_t started)
{
	struct metrics_slot *s = metrics_slot();
	const char *unchecked = v->skipped                        ? "skipped"
	                        : v->reason == VERDICT_R_INTERNAL ? "error"
	                                                          : NULL;

	metrics_add(&s->messages[fe], 1);
	metrics_count_name(s->spf, spf_names, NELEM(spf_names),
	                   unchecked != NULL ? unchecked : v->spf_result);
	metrics_count_dkim(s, v, unchecked);
	metrics_count_name(s->dmarc, dmarc_names, NELEM(dmarc_names),
	                   unchecked != NULL ? unchecked : v->dmarc_result);
	metrics_count_name(s->disp, disp_names, NELEM(disp_names),
	                   unchecked != NULL ? unchecked : v->dmarc_disposition);
	if ((size_t)v->action < NELEM(action_names))
		metrics_add(&s->action[v->action], 1);
	metrics_count_latency(&s->eom[fe], started);
}

void
metrics_connection(enum metrics_frontend fe, bool opens)
{
	struct metrics_slot *s = metrics_slot();

	metrics_add(opens ? &s->opened[fe] : &s->closed[fe], 1);
}

void
metrics_set_resolver(struct dns_resolver *r)
{
	atomic_store(&metrics_resolver, r);
}

/* ---- the exposition ---- */

void
metrics_format_seconds(unsigned long long us, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%llu.%06llu", us / 1000000u, us % 1000000u);

	if (n <= 0 || (size_t)n >= outlen)
		return;
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

static int
metrics_family(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Sums one counter over every slot: off is its place in a slot. */
static unsigned long
metrics_sum(size_t off)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < METRICS_SLOTS; i++)
		n += metrics_load(
		    (const atomic_ulong *)(const void *)((const char *)&metrics_slots[i] + off));
	return n;
}

/* A family with one label: names[i] = the sum of counter i. */
static int
metrics_labelled(struct buf *out, const char *name, const char *type, const char *help,
                 const char *label, const char *const *names, size_t n, size_t off)
{
	size_t i;

	if (metrics_family(out, name, type, help) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_printf(out, "%s{%s=\"%s\"} %lu\n", name, label, names[i],
		               metrics_sum(off + i * sizeof(atomic_ulong))) < 0)
			return -1;
	return 0;
}

static int
metrics_plain(struct buf *out, const char *name, const char *type, const char *help,
              unsigned long long v)
{
	if (metrics_family(out, name, type, help) < 0)
		return -1;
	return buf_printf(out, "%s %llu\n", name, v);
}

/* The series of one histogram: labels ("" or `frontend="milter",`) go in
 * front of le. */
struct metrics_hist_view {
	const unsigned long *bounds;
	size_t nbounds;
	const unsigned long *counts; /* nbounds + 1, per bucket */
	unsigned long long sum_us;
};

static int
metrics_hist_series(struct buf *out, const char *name, const char *labels,
                    const struct metrics_hist_view *h)
{
	unsigned long total = 0;
	char le[32];
	size_t i;

	for (i = 0; i <= h->nbounds; i++) {
		total += h->counts[i];
		if (i < h->nbounds)
			metrics_format_seconds(h->bounds[i], le, sizeof(le));
		if (buf_printf(out, "%s_bucket{%sle=\"%s\"} %lu\n", name, labels,
		               i < h->nbounds ? le : "+Inf", total) < 0)
			return -1;
	}
	metrics_format_seconds(h->sum_us, le, sizeof(le));
	if (labels[0] != '\0')
		return buf_printf(out, "%s_sum{%.*s} %s\n%s_count{%.*s} %lu\n", name,
		                  (int)strlen(labels) - 1, labels, le, name,
		                  (int)strlen(labels) - 1, labels, total);
	return buf_printf(out, "%s_sum %s\n%s_count %lu\n", name, le, name, total);
}

static int
metrics_render_messages(struct buf *out)
{
	const size_t spf = offsetof(struct metrics_slot, spf);

	if (metrics_labelled(out, "authmilter_messages_total", "counter",
	                     "Messages answered, by front end.", "frontend", fe_names,
	                     METRICS_FRONTENDS, offsetof(struct metrics_slot, messages)) < 0 ||
	    metrics_labelled(out, "authmilter_spf_results_total", "counter",
	                     "SPF results of the messages answered.", "result", spf_names,
	                     NELEM(spf_names), spf) < 0 ||
	    metrics_labelled(out, "authmilter_dkim_results_total", "counter",
	                     "DKIM results: one per signature, none for a message without one.",
	                     "result", dkim_names, NELEM(dkim_names),
	                     offsetof(struct metrics_slot, dkim)) < 0 ||
	    metrics_labelled(out, "authmilter_dmarc_results_total", "counter",
	                     "DMARC results of the messages answered.", "result", dmarc_names,
	                     NELEM(dmarc_names), offsetof(struct metrics_slot, dmarc)) < 0 ||
	    metrics_labelled(out, "authmilter_actions_total", "counter",
	                     "What was done with the messages answered.", "action", action_names,
	                     NELEM(action_names), offsetof(struct metrics_slot, action)) < 0)
		return -1;
	return metrics_labelled(out, "authmilter_dmarc_dispositions_total", "counter",
	                        "DMARC dispositions applied.", "disposition", disp_names,
	                        NELEM(disp_names), offsetof(struct metrics_slot, disp));
}

static int
metrics_render_connections(struct buf *out)
{
	const char *name = "authmilter_connections";
	unsigned long closed, opened;
	size_t fe;

	if (metrics_labelled(out, "authmilter_connections_total", "counter",
	                     "Connections accepted, by front end.", "frontend", fe_names,
	                     METRICS_FRONTENDS, offsetof(struct metrics_slot, opened)) < 0 ||
	    metrics_family(out, name, "gauge", "Connections open now, by front end.") < 0)
		return -1;
	for (fe = 0; fe < METRICS_FRONTENDS; fe++) {
		/* Closes first: every close read was counted open before. */
		closed =
		    metrics_sum(offsetof(struct metrics_slot, closed) + fe * sizeof(atomic_ulong));
		opened =
		    metrics_sum(offsetof(struct metrics_slot, opened) + fe * sizeof(atomic_ulong));
		if (buf_printf(out, "%s{frontend=\"%s\"} %lu\n", name, fe_names[fe],
		               opened > closed ? opened - closed : 0) < 0)
			return -1;
	}
	return 0;
}

static int
metrics_render_eom(struct buf *out)
{
	const char *name = "authmilter_end_of_message_seconds";
	unsigned long counts[EOM_BUCKETS + 1];
	struct metrics_hist_view h = {eom_bounds_us, EOM_BUCKETS, counts, 0};
	char labels[40];
	size_t fe, i, s;

	if (metrics_family(out, name, "histogram",
	                   "Time from the end of a message to its answer, by front end.") < 0)
		return -1;
	for (fe = 0; fe < METRICS_FRONTENDS; fe++) {
		memset(counts, 0, sizeof(counts));
		h.sum_us = 0;
		for (s = 0; s < METRICS_SLOTS; s++) {
			const struct metrics_hist *e = &metrics_slots[s].eom[fe];

			for (i = 0; i <= EOM_BUCKETS; i++)
				counts[i] += metrics_load(&e->bucket[i]);
			h.sum_us += atomic_load_explicit(&e->sum_us, memory_order_relaxed);
		}
		snprintf(labels, sizeof(labels), "frontend=\"%s\",", fe_names[fe]);
		if (metrics_hist_series(out, name, labels, &h) < 0)
			return -1;
	}
	return 0;
}

static int
metrics_render_dns_net(struct buf *out, const struct dns_ldns_stats *n)
{
	const char *name = "authmilter_dns_answers_total";
	struct metrics_hist_view h = {dns_ldns_latency_bounds_us, DNS_LDNS_LATENCY_BUCKETS,
	                              n->latency, n->latency_us};
	size_t i;

	if (metrics_plain(out, "authmilter_dns_queries_total", "counter",
	                  "DNS queries sent (each try of a question).", n->queries) < 0 ||
	    metrics_plain(out, "authmilter_dns_tcp_queries_total", "counter",
	                  "DNS queries asked again over TCP after a truncated reply.",
	                  n->tcp) < 0 ||
	    metrics_family(out, name, "counter", "How DNS queries ended, by kind.") < 0)
		return -1;
	for (i = 0; i < DNS_LDNS_R_COUNT; i++)
		if (buf_printf(out, "%s{kind=\"%s\"} %lu\n", name, dns_reply_names[i],
		               n->replies[i]) < 0)
			return -1;
	if (metrics_family(out, "authmilter_dns_lookup_seconds", "histogram",
	                   "Time a DNS question took on the network, every try included.") < 0)
		return -1;
	return metrics_hist_series(out, "authmilter_dns_lookup_seconds", "", &h);
}

static int
metrics_render_dns(struct buf *out)
{
	struct dns_resolver *r = atomic_load(&metrics_resolver);
	struct resolver_stats st;

	memset(&st, 0, sizeof(st));
	if (r != NULL)
		resolver_get_stats(r, &st);
	if (metrics_render_dns_net(out, &st.net) < 0 ||
	    metrics_plain(out, "authmilter_dns_cache_hits_total", "counter",
	                  "DNS questions answered from the cache.", st.cache.hits) < 0 ||
	    metrics_plain(out, "authmilter_dns_cache_misses_total", "counter",
	                  "DNS questions the cache had to ask.", st.cache.misses) < 0 ||
	    metrics_plain(out, "authmilter_dns_cache_evictions_total", "counter",
	                  "DNS cache entries dropped to make room.", st.cache.evictions) < 0)
		return -1;
	return metrics_plain(out, "authmilter_dns_cache_entries", "gauge",
	                     "DNS answers in the cache now.", st.cache.entries);
}

static int
metrics_render_reports(struct buf *out)
{
	struct store_writer_counts c;

	(void)recorder_counts(&c);
	if (metrics_plain(out, "authmilter_report_queue_depth", "gauge",
	                  "DMARC report records queued or being written, not yet stored.",
	                  c.waiting) < 0 ||
	    metrics_plain(out, "authmilter_report_records_stored_total", "counter",
	                  "DMARC report records stored.", c.stored) < 0)
		return -1;
	return metrics_plain(out, "authmilter_report_records_dropped_total", "counter",
	                     "DMARC report records dropped: queue full or out of memory.",
	                     c.dropped);
}

int
metrics_render(struct buf *out)
{
	if (metrics_render_messages(out) < 0 || metrics_render_connections(out) < 0 ||
	    metrics_render_eom(out) < 0 || metrics_render_dns(out) < 0)
		return -1;
	return metrics_render_reports(out);
}
