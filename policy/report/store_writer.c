/*
 * store_writer - see store_writer.h.
 *
 * The queue is a ring of row pointers, queue_max long.  The thread takes a
 * batch off the ring but the batch still counts against queue_max until it
 * is committed, so memory stays bounded however long the store is down.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store_writer.h"

#define STORE_WRITER_RETRY_MIN_MS 1000
#define STORE_WRITER_RETRY_MAX_MS 30000

struct store_writer {
	struct store_writer_opts o;
	char *spec, *host;
	uint64_t instance; /* random: with seq, each record's uid */
	pthread_t thread;

	/* Guards everything below; wake is signalled on append and stop. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct store_row **ring;
	size_t head, count; /* count: rows in the ring */
	size_t in_flight;   /* rows taken by the thread, not yet committed */
	uint64_t seq, queued, stored, dropped, dropped_logged;
	time_t drop_logged_at;
	bool stopping;
	struct timespec deadline; /* when stopping: give up retrying then */
	size_t lost;              /* when stopping: rows not stored */

	/* The thread's own */
	struct store *store;
	struct timespec last_batch; /* CLOCK_MONOTONIC, when the last batch ended */
	bool down;                  /* the log said the store is unavailable */
	bool gave_up;               /* stopping, and the deadline passed with the store down */
};

static void __attribute__((format(printf, 3, 4)))
writer_log(struct store_writer *w, enum store_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (w->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->o.log(w->o.log_ctx, level, msg);
}

/* Called with the lock held. */
static void
writer_note_drop(struct store_writer *w)
{
	time_t now = time(NULL);

	w->dropped++;
	if (now - w->drop_logged_at < STORE_WRITER_DROP_LOG_S && w->dropped_logged > 0)
		return;
	writer_log(w, STORE_LOG_ERROR,
	           "report queue full (%zu records): %" PRIu64 " records dropped so far",
	           w->o.queue_max, w->dropped);
	w->drop_logged_at = now;
	w->dropped_logged = w->dropped;
}

int
store_writer_append(struct store_writer *w, const struct report_record *r)
{
	char uid[STORE_UID_MAX];
	struct store_row *row;
	int rc = -1;

	pthread_mutex_lock(&w->lock);
	snprintf(uid, sizeof(uid), "%016" PRIx64 "-%" PRIu64, w->instance, ++w->seq);
	pthread_mutex_unlock(&w->lock);
	/* Copied outside the lock: the slow part touches only the record. */
	row = store_row_new(r, w->host, uid);
	pthread_mutex_lock(&w->lock);
	if (row != NULL && !w->stopping && w->count + w->in_flight < w->o.queue_max) {
		w->ring[(w->head + w->count) % w->o.queue_max] = row;
		w->count++;
		w->queued++;
		/* The thread waits for a first record, then lingers for a full
		 * batch: only those two moments need waking it. */
		if (w->count == 1 || w->count == STORE_WRITER_BATCH)
			pthread_cond_signal(&w->wake);
		row = NULL;
		rc = 0;
	} else {
		writer_note_drop(w);
	}
	pthread_mutex_unlock(&w->lock);
	free(row);
	return rc;
}

void
store_writer_counts(struct store_writer *w, struct store_writer_counts *out)
{
	pthread_mutex_lock(&w->lock);
	out->queued = w->queued;
	out->stored = w->stored;
	out->dropped = w->dropped;
	out->waiting = w->count + w->in_flight;
	pthread_mutex_unlock(&w->lock);
}

/* The time ms from now, on the clock the condition variable uses. */
static void
writer_after(unsigned ms, struct timespec *until)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* Whether the last batch ended less than STORE_WRITER_LINGER_MS ago: the
 * records come in a stream. */
static bool
writer_busy(const struct store_writer *w)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(now.tv_sec - w->last_batch.tv_sec) * 1000L +
	     (now.tv_nsec - w->last_batch.tv_nsec) / 1000000L;
	return ms < STORE_WRITER_LINGER_MS;
}

/* Waits for rows (or the stop) and takes up to a batch; lock held.  Each
 * commit costs about the same however many rows it carries, so while
 * records come in a stream the thread first waits up to
 * STORE_WRITER_LINGER_MS for a full batch; a record after a quiet spell is
 * written at once. */
static size_t
writer_take(struct store_writer *w, struct store_row **batch)
{
	struct timespec until;
	size_t n = 0;

	while (w->count == 0 && !w->stopping)
		pthread_cond_wait(&w->wake, &w->lock);
	writer_after(STORE_WRITER_LINGER_MS, &until);
	while (writer_busy(w) && w->count < STORE_WRITER_BATCH && !w->stopping)
		if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == ETIMEDOUT)
			break;
	while (w->count > 0 && n < STORE_WRITER_BATCH) {
		batch[n++] = w->ring[w->head];
		w->head = (w->head + 1) % w->o.queue_max;
		w->count--;
	}
	w->in_flight = n;
	return n;
}

/* Sleeps ms, or until the deadline when stopping; lock held.  Returns
 * false when the stop deadline has passed. */
static bool
writer_pause(struct store_writer *w, unsigned ms)
{
	struct timespec until;

	writer_after(ms, &until);
	if (w->stopping &&
	    (until.tv_sec > w->deadline.tv_sec ||
	     (until.tv_sec == w->deadline.tv_sec && until.tv_nsec > w->deadline.tv_nsec)))
		until = w->deadline;
	while (pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
		if (w->stopping)
			break;
	if (!w->stopping)
		return true;
	clock_gettime(CLOCK_REALTIME, &until);
	return until.tv_sec < w->deadline.tv_sec ||
	       (until.tv_sec == w->deadline.tv_sec && until.tv_nsec < w->deadline.tv_nsec);
}

/* Logs once, until the store is back, that it is unavailable. */
static void
writer_note_down(struct store_writer *w, const struct auth_error *err)
{
	if (!w->down)
		writer_log(w, STORE_LOG_ERROR,
		           "report store unavailable, records wait in memory and the writer "
		           "retries: %s",
		           err->msg);
	w->down = true;
}

static void
writer_open(struct store_writer *w)
{
	struct auth_error err;

	if ((w->store = store_open(w->spec, &err)) == NULL) {
		writer_note_down(w, &err);
	} else if (store_set_lazy_commit(w->store, &err) < 0) {
		writer_note_down(w, &err);
		store_close(w->store);
		w->store = NULL;
	}
}

/* One attempt at writing the batch; no lock held.  Returns 0 when it is
 * committed. */
static int
writer_try(struct store_writer *w, struct store_row **batch, size_t n)
{
	struct auth_error err;

	if (w->store == NULL && (writer_open(w), w->store == NULL))
		return -1;
	if (store_insert(w->store, batch, n, &err) < 0) {
		writer_note_down(w, &err);
		/* A lost connection, or one left in an unknown state: start
		 * again with a new one. */
		store_close(w->store);
		w->store = NULL;
		return -1;
	}
	return 0;
}

static uint64_t
writer_stored(struct store_writer *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->stored;
	pthread_mutex_unlock(&w->lock);
	return n;
}

static void
writer_done(struct store_writer *w, struct store_row **batch, size_t n, bool stored)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(batch[i]);
	pthread_mutex_lock(&w->lock);
	w->in_flight = 0;
	if (stored)
		w->stored += n;
	else
		w->lost += n;
	pthread_mutex_unlock(&w->lock);
}

/* Writes one batch, retrying until it is stored or the stop deadline
 * passed. */
static void
writer_batch(struct store_writer *w, struct store_row **batch, size_t n)
{
	unsigned delay = STORE_WRITER_RETRY_MIN_MS;
	bool stored = false, more = true;
	size_t waiting;

	while (!w->gave_up && !(stored = writer_try(w, batch, n) == 0) && more) {
		pthread_mutex_lock(&w->lock);
		more = writer_pause(w, delay);
		pthread_mutex_unlock(&w->lock);
		delay = delay * 2 < w->o.retry_max_ms ? delay * 2 : w->o.retry_max_ms;
	}
	if (!more)
		w->gave_up = true;
	stored = stored && !w->gave_up;
	writer_done(w, batch, n, stored);
	if (stored)
		writer_log(w, STORE_LOG_DEBUG, "report records stored: %zu, %" PRIu64 " in all", n,
		           writer_stored(w));
	if (stored && w->down) {
		pthread_mutex_lock(&w->lock);
		waiting = w->count;
		pthread_mutex_unlock(&w->lock);
		writer_log(w, STORE_LOG_NOTICE,
		           "report store available again: %zu records written, %zu waiting", n,
		           waiting);
		w->down = false;
	}
}

static void *
writer_main(void *arg)
{
	struct store_writer *w = arg;
	struct store_row **batch = calloc(STORE_WRITER_BATCH, sizeof(*batch));
	size_t n;

	if (batch == NULL) {
		writer_log(w, STORE_LOG_ERROR, "report writer: out of memory");
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&w->lock);
		n = writer_take(w, batch);
		pthread_mutex_unlock(&w->lock);
		if (n == 0)
			break;
		writer_batch(w, batch, n);
		clock_gettime(CLOCK_MONOTONIC, &w->last_batch);
	}
	free(batch);
	store_close(w->store);
	w->store = NULL;
	return NULL;
}

static uint64_t
writer_random(void)
{
	uint64_t v;

	arc4random_buf(&v, sizeof(v));
	return v;
}

static void
writer_free(struct store_writer *w)
{
	size_t i;

	for (i = 0; i < w->count; i++)
		free(w->ring[(w->head + i) % w->o.queue_max]);
	free(w->ring);
	free(w->spec);
	free(w->host);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}

struct store_writer *
store_writer_start(const struct store_writer_opts *o, struct auth_error *err)
{
	struct store_writer *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL || o->queue_max == 0) {
		free(w);
		auth_error_set(err, AUTH_ENOMEM, "report writer: out of memory");
		return NULL;
	}
	w->o = *o;
	if (w->o.retry_max_ms == 0)
		w->o.retry_max_ms = STORE_WRITER_RETRY_MAX_MS;
	w->instance = writer_random();
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->spec = strdup(o->spec);
	w->host = strdup(o->host != NULL ? o->host : "");
	w->ring = calloc(o->queue_max, sizeof(*w->ring));
	if (w->spec == NULL || w->host == NULL || w->ring == NULL) {
		writer_free(w);
		auth_error_set(err, AUTH_ENOMEM, "report writer: out of memory");
		return NULL;
	}
	/* A local file is created with its tables before the first message
	 * (authmilter.conf(5)); a database server is left to the thread, so
	 * that one that is down does not hold up the start. */
	if (strncmp(w->spec, "sqlite:", 7) == 0)
		writer_open(w);
	if ((rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		writer_free(w);
		auth_error_set(err, AUTH_EIO, "report writer: cannot start its thread: %s",
		               strerror(rc));
		return NULL;
	}
	return w;
}

size_t
store_writer_stop(struct store_writer *w, unsigned seconds)
{
	size_t lost;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	clock_gettime(CLOCK_REALTIME, &w->deadline);
	w->deadline.tv_sec += seconds;
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	lost = w->lost + w->count;
	if (lost > 0)
		writer_log(w, STORE_LOG_ERROR,
		           "report store unavailable at stop: %zu records not stored", lost);
	else
		writer_log(w, STORE_LOG_INFO, "report records flushed: %" PRIu64 " stored in all",
		           w->stored);
	writer_free(w);
	return lost;
}
