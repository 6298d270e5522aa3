/*
 * aggregate - one aggregate report's rows: the records of one policy
 * domain and interval, grouped, with their counts.
 *
 * Records are grouped when everything a report row says about them is the
 * same (RFC 9990 "one record per (IP, result, authentication identifiers)
 * tuples"): source IP, header From, envelope From and To domains, the
 * disposition, the DMARC DKIM and SPF alignment results, the override
 * reason, each DKIM result (domain, selector, result) and the SPF result
 * (domain, scope, result).  The policy the report shows is the one
 * published in the latest record of the interval (RFC 9990: "SHOULD note
 * only the final configuration observed").  Rows come out sorted by their
 * grouping key, so a report is the same however the records were read.
 *
 * Limits: AGGREGATE_ROWS_MAX distinct rows per report; past that
 * aggregate_add() fails (the caller reports the error).
 *
 * Ownership: the aggregate copies what it keeps; rows and the policy stay
 * valid until aggregate_free().  Not thread-safe: one per report.
 */
#ifndef AUTH_AGGREGATE_H
#define AUTH_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define AGGREGATE_ROWS_MAX 1000000

struct agg_row {
	const char *source_ip, *header_from, *envelope_from, *envelope_to;
	const char *disposition, *override, *dkim, *spf_domain, *spf_scope, *spf_result;
	bool dkim_aligned, spf_aligned;
	int64_t count;
};

/* The published policy, as in the latest record. */
struct agg_policy {
	char domain[256], discovery[16], p[16], sp[16], np[16], adkim[2], aspf[2], fo[32];
	char rua[2048];
	int pct;
	bool testing;
	int64_t time;
};

struct aggregate;

struct aggregate *aggregate_new(struct auth_error *err);
void aggregate_free(struct aggregate *a);
/* Counts one record in (it must be of the aggregate's policy domain).
 * 0, or -1 with err set. */
int aggregate_add(struct aggregate *a, const struct store_row *r, struct auth_error *err);
/* Sorts the rows; call once, after the last aggregate_add(). */
void aggregate_finish(struct aggregate *a);
size_t aggregate_nrows(const struct aggregate *a);
const struct agg_row *aggregate_row(const struct aggregate *a, size_t i);
const struct agg_policy *aggregate_policy(const struct aggregate *a);
int64_t aggregate_messages(const struct aggregate *a);

#endif
