/*
 * test-store - the report store against a real database: SQLite in a
 * temporary directory, or the PostgreSQL server named by STORE_TEST_SPEC
 * (tests/e2e/store-postgresql.sh starts one and runs this program with
 * it).  Schema creation and refusal of a newer schema, records copied from
 * a session's record and read back field by field, idempotent batches,
 * retention, reports and their destinations, and the stats sums.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_db.h"
#include "reportrec.h"
#include "tap.h"

static char spec[1024];

static struct store_row *
new_row(const char *from, const char *ip, time_t t, const char *uid)
{
	struct report_record r;
	struct dmarc_outcome d;
	struct spf_outcome spf;
	struct dkim_sig_result dk[2];

	make_record(&r, &d, &spf, dk, from, ip, t);
	return store_row_new(&r, "mx1.example.net", uid);
}

static void
test_row_copy(void)
{
	struct store_row *row = new_row("sub.example.org", "192.0.2.1", 1000, "u-1");
	const char *cur;
	struct store_dkim k;

	is_str(row->uid, "u-1", "uid copied");
	is_str(row->host, "mx1.example.net", "host copied");
	is_str(row->policy_domain, "example.org", "policy domain");
	is_str(row->header_from, "sub.example.org", "header from");
	is_str(row->discovery, "treewalk", "RFC 9989 discovery is treewalk");
	ok(strcmp(row->p, "reject") == 0 && strcmp(row->sp, "") == 0 &&
	       strcmp(row->np, "quarantine") == 0,
	   "p, sp (not published) and np");
	ok(strcmp(row->adkim, "s") == 0 && strcmp(row->aspf, "r") == 0, "alignment modes");
	is_str(row->fo, "1:d", "fo as published");
	is_int(row->pct, -1, "pct absent");
	is_str(row->rua, "mailto:dmarc@example.org,mailto:agg@reports.example!10m", "rua joined");
	ok(strcmp(row->result, "fail") == 0 && strcmp(row->disposition, "quarantine") == 0,
	   "result and disposition");
	is_str(row->override, "local_policy", "override reason");
	ok(strcmp(row->spf_domain, "bounce.example.org") == 0 &&
	       strcmp(row->spf_scope, "mfrom") == 0 && strcmp(row->spf_result, "pass") == 0,
	   "SPF domain, scope, result");
	is_str(row->dkim, "example.org/sel1/pass odd%2Fdom%20ain/s%252/fail",
	       "DKIM results escaped");
	cur = row->dkim;
	ok(store_dkim_next(&cur, &k) && strcmp(k.domain, "example.org") == 0 &&
	       strcmp(k.selector, "sel1") == 0 && strcmp(k.result, "pass") == 0,
	   "first DKIM result decoded");
	ok(store_dkim_next(&cur, &k) && strcmp(k.domain, "odd/dom ain") == 0 &&
	       strcmp(k.selector, "s%2") == 0 && strcmp(k.result, "fail") == 0,
	   "escaped DKIM result decoded");
	ok(!store_dkim_next(&cur, &k), "no third DKIM result");
	free(row);
}

/* Drops the tables of an earlier run, so that creation is tested too. */
static void
reset_store(void)
{
	struct auth_error err;
	struct store_db *db = store_db_open(spec, &err);

	if (db == NULL)
		return;
	(void)store_db_script(db,
	                      "DROP TABLE IF EXISTS records; DROP TABLE IF EXISTS reports;"
	                      " DROP TABLE IF EXISTS report_destinations;"
	                      " DROP TABLE IF EXISTS schema_version",
	                      &err);
	store_db_close(db);
}

static int
count_cb(void *ctx, const char *const *col, size_t ncol)
{
	*(long *)ctx = ncol > 0 && col[0] != NULL ? atol(col[0]) : -1;
	return 0;
}

static long
count_rows(const char *sql)
{
	struct auth_error err;
	struct store_db *db = store_db_open(spec, &err);
	long n = -1;

	if (db != NULL && store_db_exec(db, sql, NULL, 0, count_cb, &n, &err) < 0)
		diag("%s: %s", sql, err.msg);
	store_db_close(db);
	return n;
}

static void
test_schema(void)
{
	struct auth_error err;
	struct store *s;
	struct store_db *db;

	reset_store();
	s = store_open(spec, &err);
	ok(s != NULL, "a new store is created");
	store_close(s);
	is_int(count_rows("SELECT MAX(version) FROM schema_version"), STORE_SCHEMA_VERSION,
	       "schema version recorded");
	s = store_open(spec, &err);
	ok(s != NULL, "an existing store opens again");
	store_close(s);
	is_int(count_rows("SELECT COUNT(*) FROM schema_version"), 1, "one version row");
	db = store_db_open(spec, &err);
	(void)store_db_script(db, "UPDATE schema_version SET version = 99", &err);
	s = store_open(spec, &err);
	ok(s == NULL, "a newer schema is refused");
	is_str(err.msg, "the report store has schema version 99, newer than this program's 1",
	       "and says so");
	(void)store_db_script(db, "UPDATE schema_version SET version = 1", &err);
	store_db_close(db);
}

/* Statements are kept prepared and reused: each run sees its own
 * parameters, more distinct statements than are kept still work, and a
 * statement that failed leaves the next one unharmed. */
static void
test_statement_reuse(void)
{
	struct auth_error err;
	struct store_db *db = store_db_open(spec, &err);
	char sql[64], param[16];
	const char *p[1] = {param};
	int wrong = 0, round, k;
	long n = 0;

	for (round = 0; round < 3; round++)
		for (k = 0; k < 12; k++) {
			snprintf(sql, sizeof(sql), "SELECT CAST($1 AS INTEGER) + %d", k);
			snprintf(param, sizeof(param), "%d", 100 * round);
			if (store_db_exec(db, sql, p, 1, count_cb, &n, &err) < 0 ||
			    n != 100 * round + k)
				wrong++;
		}
	is_int(wrong, 0, "36 runs of 12 statements, each with its own parameter");
	ok(store_db_exec(db, "SELECT x FROM no_such_table", NULL, 0, count_cb, &n, &err) < 0,
	   "a statement on a missing table fails");
	snprintf(param, sizeof(param), "7");
	ok(store_db_exec(db, "SELECT CAST($1 AS INTEGER) + 0", p, 1, count_cb, &n, &err) == 0 &&
	       n == 7,
	   "and the next statement runs");
	store_db_close(db);
}

struct collected {
	int n;
	char from[4][64];
	int64_t time[4];
	char dkim[4][128];
	char rua[128];
};

static int
collect_cb(void *ctx, const struct store_row *r)
{
	struct collected *c = ctx;

	if (c->n < 4) {
		snprintf(c->from[c->n], sizeof(c->from[0]), "%s", r->header_from);
		snprintf(c->dkim[c->n], sizeof(c->dkim[0]), "%s", r->dkim);
		c->time[c->n] = r->time;
		snprintf(c->rua, sizeof(c->rua), "%s", r->rua);
	}
	c->n++;
	return 0;
}

static void
test_records(struct store *s)
{
	struct store_row *rows[3] = {new_row("b.example.org", "192.0.2.1", 2000, "h-2"),
	                             new_row("a.example.org", "192.0.2.2", 1000, "h-1"),
	                             new_row("c.example.org", "2001:db8::1", 5000, "h-3")};
	struct collected c;
	struct auth_error err;
	int i;

	is_int(store_insert(s, rows, 3, &err), 3, "three records stored in one batch");
	is_int(store_insert(s, rows, 2, &err), 0, "the same batch again adds nothing");
	memset(&c, 0, sizeof(c));
	is_int(store_each_record(s, 0, 5000, collect_cb, &c, &err), 0, "records read");
	is_int(c.n, 2, "until is exclusive");
	ok(c.time[0] == 1000 && c.time[1] == 2000, "ordered by time within a policy domain");
	is_str(c.from[0], "a.example.org", "first record's header from");
	is_str(c.dkim[1], "example.org/sel1/pass odd%2Fdom%20ain/s%252/fail", "DKIM text kept");
	is_str(c.rua, "mailto:dmarc@example.org,mailto:agg@reports.example!10m", "rua kept");
	is_int(store_expire(s, 1500, &err), 1, "one record older than the retention");
	is_int(count_rows("SELECT COUNT(*) FROM records"), 2, "two records left");
	for (i = 0; i < 3; i++)
		free(rows[i]);
}

struct got_report {
	char unique_id[32];
	int64_t messages;
	bool sent;
};

/* The report's strings live during the call only: copied here. */
static int
report_cb(void *ctx, const struct store_report *r)
{
	struct got_report *g = ctx;

	snprintf(g->unique_id, sizeof(g->unique_id), "%s", r->unique_id);
	g->messages = r->messages;
	g->sent = r->sent;
	return 0;
}

struct pending_list {
	int n;
	char uri[4][64];
	int64_t attempts[4];
};

static int
pending_cb(void *ctx, const struct store_pending *p)
{
	struct pending_list *l = ctx;

	if (l->n < 4 && strcmp(p->unique_id, "A1B2") == 0 &&
	    strcmp(p->xml, "<feedback>2</feedback>") == 0 &&
	    strcmp(p->filename, "mx!example.org!0!86400!A1B2.xml.gz") == 0 && p->end == 86400) {
		snprintf(l->uri[l->n], sizeof(l->uri[0]), "%s", p->uri);
		l->attempts[l->n] = p->attempts;
	}
	l->n++;
	return 0;
}

/* Destinations go from pending to sent or failed, one attempt each. */
static void
test_pending(struct store *s)
{
	struct pending_list l = {0};
	struct auth_error err;

	is_int(store_each_pending(s, pending_cb, &l, &err), 0, "pending walked");
	is_int(l.n, 2, "two pending destinations");
	is_str(l.uri[0], "mailto:a@example.org", "the first, in URI order");
	is_str(l.uri[1], "mailto:b@example.net", "the second");
	is_int(store_destination_done(s, "A1B2", "mailto:b@example.net", STORE_DEST_PENDING,
	                              "451 try later", 500, &err),
	       0, "a temporary failure recorded");
	memset(&l, 0, sizeof(l));
	store_each_pending(s, pending_cb, &l, &err);
	ok(l.n == 2 && l.attempts[1] == 1, "still pending, one attempt");
	is_int(count_rows("SELECT COUNT(*) FROM report_destinations WHERE last_error = '451 try "
	                  "later' AND last_attempt = 500 AND sent_at IS NULL"),
	       1, "with its error and time");
	store_destination_done(s, "A1B2", "mailto:a@example.org", STORE_DEST_SENT, NULL, 600, &err);
	store_destination_done(s, "A1B2", "mailto:b@example.net", STORE_DEST_FAILED, "550 no", 600,
	                       &err);
	memset(&l, 0, sizeof(l));
	store_each_pending(s, pending_cb, &l, &err);
	is_int(l.n, 0, "nothing pending after sent and failed");
	is_int(count_rows("SELECT COUNT(*) FROM report_destinations WHERE state = 'sent' AND"
	                  " sent_at = 600 AND last_error IS NULL"),
	       1, "sent, with its time");
	is_int(count_rows("SELECT COUNT(*) FROM report_destinations WHERE state = 'failed' AND"
	                  " attempts = 2"),
	       1, "failed for good after two attempts");
}

static void
test_reports(struct store *s)
{
	struct store_report r = {"A1B2",
	                         "example.org",
	                         "rfc9990",
	                         "mx!example.org!0!86400!A1B2.xml.gz",
	                         "mailto:a@example.org,mailto:b@example.net",
	                         "<feedback/>",
	                         0,
	                         86400,
	                         100,
	                         7,
	                         false};
	struct got_report got;
	struct auth_error err;

	is_int(store_report_find(s, "example.org", 0, 86400, "rfc9990", report_cb, &got, &err), 0,
	       "no report yet");
	is_int(store_report_save(s, &r, &err), 0, "report saved");
	is_int(count_rows("SELECT COUNT(*) FROM report_destinations WHERE state = 'pending'"), 2,
	       "one pending destination per rua URI");
	is_int(store_report_find(s, "example.org", 0, 86400, "rfc9990", report_cb, &got, &err), 1,
	       "report found");
	ok(strcmp(got.unique_id, "A1B2") == 0 && got.messages == 7 && !got.sent,
	   "its id, count, and not sent");
	r.xml = "<feedback>2</feedback>";
	r.messages = 9;
	is_int(store_report_save(s, &r, &err), 0, "saved again with the same id");
	is_int(count_rows("SELECT COUNT(*) FROM reports"), 1, "still one report");
	is_int(count_rows("SELECT COUNT(*) FROM report_destinations"), 2, "still two destinations");
	test_pending(s);
	is_int(store_report_find(s, "example.org", 0, 86400, "rfc9990", report_cb, &got, &err), 1,
	       "found again");
	ok(got.sent && got.messages == 9, "now sent, with the new count");
	is_int(store_report_find(s, "example.org", 0, 86400, "rfc7489", report_cb, &got, &err), 0,
	       "another format is another report");
	is_int(store_expire(s, 86401, &err), 2, "expiry removes the records");
	is_int(count_rows("SELECT COUNT(*) FROM reports"), 0, "and the reports that ended before");
	is_int(count_rows("SELECT COUNT(*) FROM report_destinations"), 0, "and their destinations");
}

struct stat_sum {
	int n;
	struct store_stat st;
	char domain[64];
};

static int
stat_cb(void *ctx, const struct store_stat *st)
{
	struct stat_sum *s = ctx;

	s->st = *st;
	snprintf(s->domain, sizeof(s->domain), "%s", st->policy_domain);
	s->n++;
	return 0;
}

static void
test_stats(struct store *s)
{
	struct store_row *rows[2] = {new_row("a.example.org", "192.0.2.2", 100000, "s-1"),
	                             new_row("a.example.org", "192.0.2.2", 100001, "s-2")};
	struct stat_sum sum;
	struct auth_error err;

	memset(&sum, 0, sizeof(sum));
	(void)store_insert(s, rows, 2, &err);
	is_int(store_stats(s, 100000, 200000, stat_cb, &sum, &err), 0, "stats read");
	is_int(sum.n, 1, "one policy domain");
	is_str(sum.domain, "example.org", "its name");
	ok(sum.st.messages == 2 && sum.st.pass == 0 && sum.st.fail == 2 && sum.st.quarantine == 2 &&
	       sum.st.none == 0 && sum.st.reject == 0,
	   "messages, pass, fail and dispositions");
	free(rows[0]);
	free(rows[1]);
}

int
main(void)
{
	const char *env = getenv("STORE_TEST_SPEC");
	char dir[] = "/tmp/test-store-XXXXXX";
	struct auth_error err;
	struct store *s;

	if (env != NULL) {
		snprintf(spec, sizeof(spec), "%s", env);
	} else {
		if (mkdtemp(dir) == NULL)
			return 1;
		snprintf(spec, sizeof(spec), "sqlite:%s/reports.db", dir);
	}
	diag("store %s", strncmp(spec, "sqlite:", 7) == 0 ? "SQLite" : "PostgreSQL");
	test_row_copy();
	test_schema();
	if ((s = store_open(spec, &err)) == NULL) {
		diag("%s", err.msg);
		return 1;
	}
	test_statement_reuse();
	ok(store_set_lazy_commit(s, &err) == 0, "commits made lazy");
	test_records(s);
	test_reports(s);
	test_stats(s);
	store_close(s);
	if (env == NULL) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
