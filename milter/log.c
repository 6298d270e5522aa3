/*
 * log - see log.h.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "verdict.h"

struct log_name {
	const char *name;
	int value;
};

static const struct log_name log_levels[] = {{"error", LOG_L_ERROR},   {"warning", LOG_L_WARNING},
                                             {"notice", LOG_L_NOTICE}, {"info", LOG_L_INFO},
                                             {"debug", LOG_L_DEBUG},   {NULL, 0}};

static const struct log_name log_facilities[] = {{"mail", LOG_MAIL},         {"daemon", LOG_DAEMON},
                                                 {"user", LOG_USER},         {"auth", LOG_AUTH},
                                                 {"authpriv", LOG_AUTHPRIV}, {"local0", LOG_LOCAL0},
                                                 {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
                                                 {"local3", LOG_LOCAL3},     {"local4", LOG_LOCAL4},
                                                 {"local5", LOG_LOCAL5},     {"local6", LOG_LOCAL6},
                                                 {"local7", LOG_LOCAL7},     {NULL, 0}};

static const int log_priorities[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

/* The logger's state: written by log_open() before threads start; the
 * level may change at any time (reload), hence atomic. */
static bool log_to_stderr = true;
static const char *log_ident = "authmilter";
static atomic_int log_current_level = LOG_L_INFO;

static int
log_lookup(const struct log_name *names, const char *name, int *out)
{
	size_t i;

	for (i = 0; names[i].name != NULL; i++)
		if (strcmp(names[i].name, name) == 0) {
			*out = names[i].value;
			return 0;
		}
	return -1;
}

int
log_set_level(const char *level)
{
	int v;

	if (log_lookup(log_levels, level, &v) < 0)
		return -1;
	atomic_store(&log_current_level, v);
	return 0;
}

int
log_open(const char *ident, bool to_stderr, const char *facility, const char *level,
         struct auth_error *err)
{
	int fac;

	if (log_lookup(log_facilities, facility, &fac) < 0)
		return auth_error_set(err, AUTH_EINVAL, "unknown syslog facility %.32s", facility);
	if (log_set_level(level) < 0)
		return auth_error_set(err, AUTH_EINVAL, "unknown log level %.32s", level);
	log_ident = ident;
	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, fac);
	return 0;
}

void
log_close(void)
{
	if (!log_to_stderr)
		closelog();
}

bool
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_current_level);
}

static void
log_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void
log_emit(enum log_level level, char *line)
{
	static const char *const names[] = {"error", "warning", "notice", "info", "debug"};
	char stamp[32];
	struct tm tm;
	time_t now;

	log_clean(line);
	if (!log_to_stderr) {
		syslog(log_priorities[level], "%s", line);
		return;
	}
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL || strftime(stamp, sizeof(stamp), "%F %T", &tm) == 0)
		stamp[0] = '\0';
	/* One fprintf per line: stdio locks the stream, so threads do not interleave. */
	fprintf(stderr, "%s %s[%s]: %s\n", stamp, log_ident, names[level], line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	/* A cut line is still worth writing. */
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_emit(level, line);
}

static const char *
log_or(const char *s, const char *dflt)
{
	return s != NULL && s[0] != '\0' ? s : dflt;
}

void
log_summary(const char *queue_id, const char *client, const struct verdict *v)
{
	log_msg(
	    LOG_L_INFO,
	    "%s: client=%s spf=%s dkim=%s dmarc=%s from=%s disposition=%s%s%s action=%s%s%s%s%s%s",
	    log_or(queue_id, "NOQUEUE"), log_or(client, "unknown"), log_or(v->spf_result, "none"),
	    log_or(v->dkim_summary, "none"), log_or(v->dmarc_result, "none"),
	    log_or(v->from_domain, "-"), log_or(v->dmarc_disposition, "none"),
	    v->dmarc_override != NULL ? " override=" : "",
	    v->dmarc_override != NULL ? v->dmarc_override : "", verdict_action_name(v->action),
	    v->partial_body ? " dkim_partial_body=yes" : "",
	    v->arc_seal != NULL ? " arc_seal=" : "", v->arc_seal != NULL ? v->arc_seal : "",
	    v->text[0] != '\0' ? " text=" : "", v->text);
}
