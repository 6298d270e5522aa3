/*
 * store_writer - the daemon's report writer: a bounded queue of records
 * and one thread that writes them to the store in batches.
 *
 * store_writer_append() copies the session's record (store_row_new())
 * and queues it; it never waits for the store, so no message waits on the
 * disk or the database.  The thread takes what is queued (at most
 * STORE_WRITER_BATCH at once) and writes it in one transaction.  An
 * SQLite store is opened (created with its tables) by store_writer_start()
 * itself, a PostgreSQL one by the thread, so that a server that is down
 * does not hold up the daemon's start.  While the store cannot be opened
 * or a batch cannot be written, the batch stays, the thread retries (after
 * 1 s, doubling up to retry_max_ms) and the log says once that the store
 * is unavailable and once that it is back; the queue goes on taking
 * records.  Once queued and in-flight records reach
 * queue_max, further records are dropped and counted, and the log says
 * how many (at most once per STORE_WRITER_DROP_LOG_S seconds).
 *
 * A commit costs about the same whatever it carries, so while records come
 * in a stream (the last batch ended less than STORE_WRITER_LINGER_MS ago)
 * the thread waits up to STORE_WRITER_LINGER_MS for others to join the
 * first: under load one commit carries many records, and a record after a
 * quiet spell is written at once.
 *
 * Committed means committed: a record is reported stored only after its
 * batch's COMMIT succeeded, and each record's uid keeps a batch retried
 * after a lost connection from being stored twice.  Commits do not wait
 * for the disk (store_set_lazy_commit()): a committed record survives the
 * process's death, and a power loss may undo the last commits but never
 * corrupts the store.  Records still queued when the process is killed
 * are lost; store_writer_stop() (SIGTERM) writes every queued record
 * first, retrying until its deadline.
 *
 * Log lines go through the caller's function (policy/ does not log); the
 * store's spec is never in them.
 *
 * Thread safety: append and counts may be called from any thread; the
 * queue and counts are guarded by one mutex in struct store_writer.
 */
#ifndef AUTH_STORE_WRITER_H
#define AUTH_STORE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "report.h"

#define STORE_WRITER_BATCH 1000
#define STORE_WRITER_LINGER_MS 50
#define STORE_WRITER_DROP_LOG_S 60

enum store_log_level {
	STORE_LOG_ERROR,
	STORE_LOG_WARNING,
	STORE_LOG_NOTICE,
	STORE_LOG_INFO,
	STORE_LOG_DEBUG, /* one line per batch: what was committed, and the total */
};

struct store_writer_opts {
	const char *spec;      /* report_store */
	size_t queue_max;      /* report_queue_size */
	const char *host;      /* stored with each record */
	unsigned retry_max_ms; /* 0: 30000 */
	void (*log)(void *ctx, enum store_log_level level, const char *msg);
	void *log_ctx;
};

struct store_writer_counts {
	uint64_t queued;  /* records taken */
	uint64_t stored;  /* committed */
	uint64_t dropped; /* refused: queue full or out of memory */
	size_t waiting;   /* queued or in flight, not yet committed */
};

struct store_writer;

/* Starts the thread.  The store is opened by the thread: a store that is
 * down at start is retried like one that goes down later.  NULL with err
 * set when the thread or the queue cannot be made. */
struct store_writer *store_writer_start(const struct store_writer_opts *o, struct auth_error *err);
/* Queues a copy of r; returns 0, or -1 when it was dropped. */
int store_writer_append(struct store_writer *w, const struct report_record *r);
void store_writer_counts(struct store_writer *w, struct store_writer_counts *out);
/* Writes what is queued, waiting at most seconds while the store is down,
 * then stops the thread and frees the writer.  Returns the number of
 * records that could not be stored (also logged). */
size_t store_writer_stop(struct store_writer *w, unsigned seconds);

#endif
