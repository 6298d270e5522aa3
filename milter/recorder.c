/*
 * recorder - see recorder.h.
 */
#include "autoconf.h"

#include <stddef.h>
#include <string.h>

#include "log.h"
#include "recorder.h"
#include "store_writer.h"

static struct store_writer *recorder_writer;

static void
recorder_log(void *ctx, enum store_log_level level, const char *msg)
{
	static const enum log_level map[] = {LOG_L_ERROR, LOG_L_WARNING, LOG_L_NOTICE, LOG_L_INFO,
	                                     LOG_L_DEBUG};

	(void)ctx;
	log_msg(map[level], "%s", msg);
}

int
recorder_start(const struct policy_config *cfg, struct auth_error *err)
{
	struct store_writer_opts o = {
	    cfg->report_store, cfg->report_queue_size, cfg->authserv_id, 0, recorder_log, NULL};

	recorder_writer = store_writer_start(&o, err);
	return recorder_writer != NULL ? 0 : -1;
}

void
recorder_append(const char *queue_id, const struct report_record *r)
{
	if (recorder_writer == NULL || r == NULL)
		return;
	if (store_writer_append(recorder_writer, r) < 0)
		log_msg(LOG_L_DEBUG, "%s: report record not queued", queue_id ? queue_id : "-");
}

void
recorder_stop(void)
{
	(void)store_writer_stop(recorder_writer, RECORDER_STOP_SECONDS);
	recorder_writer = NULL;
}

bool
recorder_counts(struct store_writer_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (recorder_writer == NULL)
		return false;
	store_writer_counts(recorder_writer, out);
	return true;
}
