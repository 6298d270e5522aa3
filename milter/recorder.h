/*
 * recorder - the daemon's one report writer (store_writer.h): made at
 * start, fed by the front ends with each verdict's report record, written
 * out at stop.
 *
 * The writer is the process's: config reloads do not change report_store
 * or report_queue_size (they take effect at the next start).  Its log
 * lines go to log.h; the store's spec never does.  A record that cannot be
 * queued is logged with the message's queue id.
 *
 * Shared state: the writer pointer, set by recorder_start() before the
 * front ends and the metrics listener start and cleared by recorder_stop()
 * after they stopped; the writer itself is thread-safe.
 */
#ifndef AUTH_RECORDER_H
#define AUTH_RECORDER_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "report.h"
#include "store_writer.h"

/* How long a stop waits for an unavailable store. */
#define RECORDER_STOP_SECONDS 10

int recorder_start(const struct policy_config *cfg, struct auth_error *err);
/* queue_id may be NULL.  Does nothing before recorder_start(). */
void recorder_append(const char *queue_id, const struct report_record *r);
void recorder_stop(void);
/* The writer's counts (store_writer.h); false, *out zeroed, when there is
 * no writer. */
bool recorder_counts(struct store_writer_counts *out);

#endif
