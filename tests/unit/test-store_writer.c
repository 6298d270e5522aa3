/*
 * test-store_writer - the report writer thread with a real SQLite store:
 * records appended are committed and flushed at stop; an SQLite file has
 * its tables from the start; while the store cannot be opened records
 * wait, the log says so once, a full queue drops and counts, and a store
 * that comes back gets every waiting record.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reportrec.h"
#include "store.h"
#include "store_db.h"
#include "store_writer.h"
#include "tap.h"

/* Guards the log lines the writer's thread hands us. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[8192];

static void
log_cb(void *ctx, enum store_log_level level, const char *msg)
{
	(void)ctx;
	pthread_mutex_lock(&log_lock);
	snprintf(log_text + strlen(log_text), sizeof(log_text) - strlen(log_text), "%d %s\n",
	         (int)level, msg);
	pthread_mutex_unlock(&log_lock);
}

static int
log_count(const char *needle)
{
	const char *p;
	int n = 0;

	pthread_mutex_lock(&log_lock);
	for (p = log_text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* The writer logs from its own thread: give it time on a busy machine. */
static int
wait_log(const char *needle)
{
	int i, n = 0;

	for (i = 0; i < 500 && (n = log_count(needle)) == 0; i++)
		usleep(10000);
	return n;
}

static void
log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	log_text[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static int
count_cb(void *ctx, const char *const *col, size_t ncol)
{
	*(long *)ctx = ncol > 0 && col[0] != NULL ? atol(col[0]) : -1;
	return 0;
}

static long
stored_rows(const char *spec)
{
	struct auth_error err;
	struct store_db *db = store_db_open(spec, &err);
	long n = -1;

	if (db != NULL)
		(void)store_db_exec(db, "SELECT COUNT(*) FROM records", NULL, 0, count_cb, &n,
		                    &err);
	store_db_close(db);
	return n;
}

static struct store_writer *
start(const char *spec, size_t queue_max)
{
	struct store_writer_opts o = {spec, queue_max, "mx.test", 100, log_cb, NULL};
	struct auth_error err;
	struct store_writer *w = store_writer_start(&o, &err);

	if (w == NULL)
		diag("%s", err.msg);
	return w;
}

static void
append_n(struct store_writer *w, int n, int *accepted)
{
	struct test_record t;
	int i;

	*accepted = 0;
	for (i = 0; i < n; i++) {
		test_record_init(&t, "example.org", "192.0.2.9", 1000 + i);
		*accepted += store_writer_append(w, &t.r) == 0;
	}
}

static bool
wait_stored(struct store_writer *w, uint64_t n)
{
	struct store_writer_counts c;
	int i;

	for (i = 0; i < 500; i++) {
		store_writer_counts(w, &c);
		if (c.stored >= n)
			return true;
		usleep(10000);
	}
	return false;
}

static void
test_flush(const char *dir)
{
	char spec[512];
	struct store_writer *w;
	struct store_writer_counts c;
	int accepted;

	snprintf(spec, sizeof(spec), "sqlite:%s/ok.db", dir);
	log_reset();
	w = start(spec, 100);
	append_n(w, 50, &accepted);
	is_int(accepted, 50, "50 records queued");
	store_writer_counts(w, &c);
	is_int(c.queued, 50, "counted as queued");
	is_int(store_writer_stop(w, 5), 0, "stop stores everything");
	is_int(stored_rows(spec), 50, "50 rows in the store");
	is_int(log_count("report records flushed: 50 stored in all"), 1, "the log says so");
	is_int(log_count("unavailable"), 0, "no unavailability logged");
}

/* The daemon's SQLite file has its tables from the start, before any
 * record: a kill -9 right after the first messages leaves a store that
 * reads as empty, not one without tables. */
static void
test_tables_at_start(const char *dir)
{
	char spec[512];
	struct store_writer *w;

	snprintf(spec, sizeof(spec), "sqlite:%s/start.db", dir);
	log_reset();
	w = start(spec, 10);
	is_int(stored_rows(spec), 0, "an SQLite store has its tables once the writer started");
	is_int(store_writer_stop(w, 5), 0, "stopped with nothing to store");
}

static void
test_down_and_full(const char *dir)
{
	char spec[512];
	struct store_writer *w;
	struct store_writer_counts c;
	int accepted;

	snprintf(spec, sizeof(spec), "sqlite:%s/missing/x.db", dir);
	log_reset();
	w = start(spec, 3);
	append_n(w, 5, &accepted);
	is_int(accepted, 3, "a queue of 3 takes 3 records");
	store_writer_counts(w, &c);
	ok(c.dropped == 2 && c.waiting == 3, "2 dropped, 3 waiting");
	is_int(log_count("report queue full (3 records): 1 records dropped so far"), 1,
	       "the first drop is logged with the count");
	is_int(log_count("dropped so far"), 1, "later drops within a minute are not");
	(void)wait_log("report store unavailable, records wait in memory");
	usleep(300000);
	is_int(log_count("report store unavailable, records wait in memory"), 1,
	       "the store being down is logged once, however often it is retried");
	is_int(store_writer_stop(w, 1), 3, "stop with the store down: 3 not stored");
	is_int(log_count("report store unavailable at stop: 3 records not stored"), 1,
	       "and the log accounts for them");
}

/* Written plus waiting, as the "available again" line counts them: the
 * writer may have taken its first batch before all 7 were queued, so how
 * they split depends on the scheduler. */
static int
back_counts(void)
{
	const char *p;
	int written = -1, waiting = -1;

	pthread_mutex_lock(&log_lock);
	p = strstr(log_text, "available again: ");
	if (p != NULL)
		(void)sscanf(p, "available again: %d records written, %d waiting", &written,
		             &waiting);
	pthread_mutex_unlock(&log_lock);
	return written < 0 || waiting < 0 ? -1 : written + waiting;
}

static void
test_comes_back(const char *dir)
{
	char spec[600], sub[512];
	struct store_writer *w;
	int accepted;

	snprintf(sub, sizeof(sub), "%s/later", dir);
	snprintf(spec, sizeof(spec), "sqlite:%s/x.db", sub);
	log_reset();
	w = start(spec, 100);
	append_n(w, 7, &accepted);
	is_int(wait_log("report store unavailable"), 1, "store down at start");
	mkdir(sub, 0700);
	ok(wait_stored(w, 7), "once it can be opened, the waiting records are stored");
	is_int(wait_log("report store available again: "), 1, "and the log says it is back");
	is_int(back_counts(), 7, "with the records it wrote and those still waiting: all 7");
	append_n(w, 3, &accepted);
	is_int(store_writer_stop(w, 5), 0, "stop: nothing lost");
	is_int(stored_rows(spec), 10, "all 10 records stored");
}

int
main(void)
{
	char dir[] = "/tmp/test-store_writer-XXXXXX", cmd[128];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_flush(dir);
	test_tables_at_start(dir);
	test_down_and_full(dir);
	test_comes_back(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
