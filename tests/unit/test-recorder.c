/*
 * test-recorder - the daemon's report writer: nothing happens before it
 * starts, a record appended after start is in the SQLite store after stop.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "recorder.h"
#include "reportrec.h"
#include "store_db.h"
#include "tap.h"

static int
count_cb(void *ctx, const char *const *col, size_t ncol)
{
	*(long *)ctx = ncol > 0 && col[0] != NULL ? atol(col[0]) : -1;
	return 0;
}

int
main(void)
{
	char dir[] = "/tmp/test-recorder-XXXXXX", spec[128], cmd[128];
	struct policy_config *cfg;
	struct test_record t;
	struct auth_error err;
	struct store_db *db;
	long n = -1;

	if (mkdtemp(dir) == NULL || (cfg = config_new(&err)) == NULL)
		return 1;
	(void)log_open("test-recorder", true, "mail", "error", &err);
	snprintf(spec, sizeof(spec), "sqlite:%s/r.db", dir);
	ok(config_set(cfg, "report_store", spec, &err) == 0, "report_store set");
	test_record_init(&t, "example.org", "192.0.2.1", 1000);
	recorder_append("Q1", &t.r);
	ok(recorder_start(cfg, &err) == 0, "recorder started");
	recorder_append("Q2", &t.r);
	recorder_append("Q3", NULL);
	recorder_stop();
	db = store_db_open(spec, &err);
	ok(db != NULL &&
	       store_db_exec(db, "SELECT COUNT(*) FROM records", NULL, 0, count_cb, &n, &err) == 0,
	   "store read");
	is_int(n, 1, "only the record appended while running is stored");
	store_db_close(db);
	config_free(cfg);
	log_close();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
