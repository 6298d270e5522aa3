/*
 * log - the daemons' one logging module.
 *
 * Messages go to syslog (with the configured facility) or, in the
 * foreground, to standard error with a time stamp.  Each message has a
 * level; those above the configured level are dropped.  Every line is
 * cleaned before it is written: control characters (from mail or DNS data
 * quoted in a message) become '?', so one call is one line and no input can
 * forge log lines.  Values that may be secret (report_store, which can be a
 * database connection string) are never passed here.
 *
 * One summary line per evaluated message: log_summary().
 *
 * Shared state: the destination and level, set by log_open() before any
 * thread starts; log_set_level() may change the level later (an atomic
 * store), so reading and writing them is safe from every thread.  Lines are
 * bounded at LOG_LINE_MAX bytes (longer ones are cut).
 */
#ifndef AUTH_LOG_H
#define AUTH_LOG_H

#include <stdbool.h>

#include "error.h"

#define LOG_LINE_MAX 2048

enum log_level { LOG_L_ERROR, LOG_L_WARNING, LOG_L_NOTICE, LOG_L_INFO, LOG_L_DEBUG };

struct verdict;

/* to_stderr: foreground; otherwise syslog with facility (a name such as
 * "mail" or "local3").  level is a name: error, warning, notice, info, debug. */
int log_open(const char *ident, bool to_stderr, const char *facility, const char *level,
             struct auth_error *err);
int log_set_level(const char *level);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_close(void);

/* "QUEUEID: client=IP spf=... dkim=... dmarc=... from=... action=..." at
 * info level (with dkim_partial_body=yes when a passing signature covers
 * only part of the body); queue_id and client may be NULL. */
void log_summary(const char *queue_id, const char *client, const struct verdict *v);

#endif
