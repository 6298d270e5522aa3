/*
 * test-aggregate - records grouped into report rows: identical records
 * counted together, any difference in a grouped field makes its own row,
 * rows sorted by key, and the policy shown is the latest one published.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "reportrec.h"
#include "tap.h"

static struct store_row *
row(const char *from, const char *ip, time_t t)
{
	struct test_record r;

	test_record_init(&r, from, ip, t);
	return store_row_new(&r.r, "mx", "uid");
}

int
main(void)
{
	struct auth_error err;
	struct aggregate *a = aggregate_new(&err);
	struct store_row *r[6];
	const struct agg_row *x;
	const struct agg_policy *p;
	int i, rc = 0;

	r[0] = row("example.org", "192.0.2.1", 100);
	r[1] = row("example.org", "192.0.2.1", 200);
	r[2] = row("example.org", "192.0.2.2", 300);
	r[3] = row("sub.example.org", "192.0.2.1", 400);
	r[4] = row("example.org", "192.0.2.1", 150);
	r[4]->disposition = "none";
	r[5] = row("example.org", "192.0.2.1", 50);
	r[5]->p = "none";
	r[5]->dkim = "example.org/sel1/pass";
	for (i = 0; i < 6; i++)
		rc |= aggregate_add(a, r[i], &err);
	is_int(rc, 0, "six records added");
	aggregate_finish(a);
	is_int(aggregate_messages(a), 6, "six messages");
	is_int(aggregate_nrows(a), 5, "five distinct rows");
	x = aggregate_row(a, 0);
	ok(strcmp(x->source_ip, "192.0.2.1") == 0 && strcmp(x->header_from, "example.org") == 0 &&
	       strcmp(x->disposition, "none") == 0 && x->count == 1,
	   "sorted: the disposition none row of 192.0.2.1 first");
	x = aggregate_row(a, 1);
	ok(strcmp(x->disposition, "quarantine") == 0 && x->count == 1 &&
	       strcmp(x->dkim, "example.org/sel1/pass") == 0,
	   "a different DKIM result is its own row");
	x = aggregate_row(a, 2);
	ok(x->count == 2 &&
	       strcmp(x->dkim, "example.org/sel1/pass odd%2Fdom%20ain/s%252/fail") == 0,
	   "two identical records make one row counted 2");
	ok(x->spf_aligned && !x->dkim_aligned && strcmp(x->override, "local_policy") == 0 &&
	       strcmp(x->spf_domain, "bounce.example.org") == 0 &&
	       strcmp(x->spf_scope, "mfrom") == 0 && strcmp(x->spf_result, "pass") == 0 &&
	       strcmp(x->envelope_from, "bounce.example.org") == 0 &&
	       strcmp(x->envelope_to, "rcpt.example.net") == 0,
	   "every field of the row kept");
	x = aggregate_row(a, 3);
	is_str(x->header_from, "sub.example.org", "another header from is its own row");
	x = aggregate_row(a, 4);
	ok(strcmp(x->source_ip, "192.0.2.2") == 0 && x->count == 1, "another source IP: last");
	ok(aggregate_row(a, 5) == NULL, "no sixth row");
	p = aggregate_policy(a);
	ok(p != NULL && strcmp(p->p, "reject") == 0 && p->time == 400,
	   "the policy of the latest record, not the earliest");
	ok(strcmp(p->domain, "example.org") == 0 && strcmp(p->np, "quarantine") == 0 &&
	       strcmp(p->fo, "1:d") == 0 && p->pct == -1 && !p->testing,
	   "its tags copied");
	aggregate_free(a);
	for (i = 0; i < 6; i++)
		free(r[i]);
	return done_testing();
}
