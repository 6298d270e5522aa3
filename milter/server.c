/*
 * server - see server.h.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "confref.h"
#include "daemon.h"
#include "keyring.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "preflight.h"
#include "recorder.h"
#include "resolver.h"
#include "server.h"
#include "session.h"

/* Threads asking the DNS in the background, for every connection. */
#define SERVER_DNS_THREADS 32
/* The effective configuration as -t -v prints it, at most. */
#define SERVER_FORMAT_MAX (4u << 20)

/* The key files the configuration names, read at start while privileged;
 * a reload reads only files not seen then.  Main thread only. */
static struct keyring *server_keys;

void
server_args_init(struct server_args *args, const char *default_config)
{
	memset(args, 0, sizeof(*args));
	args->config = default_config;
}

int
server_args_add(struct server_args *args, const char *key, const char *value, char *owned)
{
	if (args->noverrides >= SERVER_MAX_OVERRIDES) {
		fprintf(stderr, "authmilter: more than %d overrides\n", SERVER_MAX_OVERRIDES);
		free(owned);
		return -1;
	}
	args->keys[args->noverrides] = key;
	args->values[args->noverrides] = value;
	args->owned[args->noverrides++] = owned;
	return 0;
}

int
server_args_add_kv(struct server_args *args, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *key;

	if (eq == NULL || eq == arg) {
		fprintf(stderr, "authmilter: -o takes key=value\n");
		return -1;
	}
	if ((key = strndup(arg, (size_t)(eq - arg))) == NULL)
		return -1;
	return server_args_add(args, key, eq + 1, key);
}

void
server_args_free(struct server_args *args)
{
	size_t i;

	for (i = 0; i < args->noverrides; i++)
		free(args->owned[i]);
	args->noverrides = 0;
}

static bool
server_config_exists(const struct server_args *args)
{
	return args->config_given || access(args->config, F_OK) == 0;
}

static int
server_apply_overrides(struct policy_config *cfg, const struct server_args *args,
                       struct auth_error *err)
{
	char msg[AUTH_ERROR_MSG_MAX];
	size_t i;

	for (i = 0; i < args->noverrides; i++) {
		if (config_set(cfg, args->keys[i], args->values[i], err) < 0) {
			snprintf(msg, sizeof(msg), "%s", err->msg);
			return auth_error_set(err, AUTH_EINVAL, "command line: %s", msg);
		}
	}
	return 0;
}

struct policy_config *
server_build_config(const struct server_args *args, struct auth_error *err)
{
	struct policy_config *cfg = config_new(err);
	struct config_ext ext;

	if (cfg == NULL)
		return NULL;
	memset(&ext, 0, sizeof(ext));
	if (args->keys_new != NULL) {
		if (args->keys_new(&ext, err) < 0)
			goto fail;
		config_set_ext(cfg, &ext);
	}
	if (server_config_exists(args) && config_load(cfg, args->config, err) < 0)
		goto fail;
	if (server_apply_overrides(cfg, args, err) < 0)
		goto fail;
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static bool
server_same_list(const struct config_domains *a, const struct config_domains *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static void
server_note_restart_only(const struct policy_config *old, const struct policy_config *cfg)
{
	if (!same_string(old->user, cfg->user) || !same_string(old->group, cfg->group) ||
	    !same_string(old->pidfile, cfg->pidfile) ||
	    !same_string(old->syslog_facility, cfg->syslog_facility) ||
	    !same_string(old->dns_server, cfg->dns_server) ||
	    old->dns_timeout_ms != cfg->dns_timeout_ms || old->dns_retries != cfg->dns_retries ||
	    old->dns_cache_entries != cfg->dns_cache_entries ||
	    old->dns_cache_max_ttl != cfg->dns_cache_max_ttl ||
	    old->dns_tempfail_ttl != cfg->dns_tempfail_ttl ||
	    !same_string(old->report_store, cfg->report_store) ||
	    old->report_queue_size != cfg->report_queue_size ||
	    !server_same_list(&old->metrics_listen, &cfg->metrics_listen))
		log_msg(
		    LOG_L_NOTICE,
		    "user, group, pidfile, syslog_facility, dns_*, report_store, "
		    "report_queue_size and metrics_listen changes take effect at the next start");
}

/* A config the front end can serve, with its engines; NULL with err set. */
static struct policy_config *
server_usable_config(const struct server_frontend *fe, const struct server_args *args,
                     struct dns_resolver *resolver, struct session_engines **e,
                     struct auth_error *err)
{
	struct policy_config *cfg = server_build_config(args, err);

	if (cfg == NULL)
		return NULL;
	if ((fe->check != NULL && fe->check(cfg, err) < 0) ||
	    keyring_load_config(server_keys, cfg, err) < 0 ||
	    (*e = session_engines_new(cfg, resolver, server_keys, err)) == NULL) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void
server_reload(const struct server_frontend *fe, const struct server_args *args,
              struct dns_resolver *resolver)
{
	struct auth_error err;
	struct session_engines *e;
	struct policy_config *cfg = server_usable_config(fe, args, resolver, &e, &err);
	struct confref *old;

	if (cfg == NULL) {
		log_msg(LOG_L_ERROR, "reload failed, keeping the running config: %s", err.msg);
		return;
	}
	log_set_level(cfg->log_level);
	old = confref_acquire();
	if (confref_replace(cfg, e) < 0) {
		confref_release(old);
		log_msg(LOG_L_ERROR, "reload failed (out of memory), keeping the running config");
		return;
	}
	server_note_restart_only(confref_config(old), cfg);
	if (fe->reloaded != NULL)
		fe->reloaded(confref_config(old), cfg);
	confref_release(old);
	log_msg(LOG_L_NOTICE, "configuration reloaded from %s", args->config);
}

/* ---- what a start would stumble on ---- */

typedef void (*server_warn_fn)(const char *msg);

static void
server_warn_stderr(const char *msg)
{
	fprintf(stderr, "authmilter: warning: %s\n", msg);
}

static void
server_warn_log(const char *msg)
{
	log_msg(LOG_L_WARNING, "%s", msg);
}

/* The writer retries a store it cannot open, so this stops nothing; but
 * no record is stored meanwhile. */
static void
server_check_store(const struct policy_config *cfg, const struct daemon_ident *id,
                   server_warn_fn warn)
{
	char msg[AUTH_ERROR_MSG_MAX + 80];
	struct auth_error err;

	if (strncmp(cfg->report_store, "sqlite:", 7) != 0 ||
	    preflight_access(cfg->report_store + 7, id, PREFLIGHT_CREATE, &err) == 0)
		return;
	snprintf(msg, sizeof(msg), "report_store: %s; no report record is stored until it can be",
	         err.msg);
	warn(msg);
}

static int
server_check_dns(const struct policy_config *cfg, struct auth_error *err)
{
	char msg[AUTH_ERROR_MSG_MAX];
	struct dns_resolver *r = resolver_new(cfg, 0, err);

	if (r == NULL) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return auth_error_set(err, AUTH_EDNS, "DNS: %s", msg);
	}
	dns_resolver_free(r);
	return 0;
}

static int
server_check_keys(const struct policy_config *cfg, struct auth_error *err)
{
	struct keyring *kr = keyring_new();
	int rc;

	if (kr == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	rc = keyring_load_config(kr, cfg, err);
	keyring_free(kr);
	return rc;
}

static int
server_check_reloadable(const struct server_args *args, const struct policy_config *cfg,
                        const struct daemon_ident *id, struct auth_error *err)
{
	char msg[AUTH_ERROR_MSG_MAX];

	if (!server_config_exists(args) ||
	    preflight_access(args->config, id, PREFLIGHT_READ, err) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	return auth_error_set(err, AUTH_EIO,
	                      "cannot read %s as user %s (%s): SIGHUP could not reload it; make it "
	                      "readable by that user or its group",
	                      args->config, cfg->user != NULL ? cfg->user : "(unchanged)", msg);
}

/* Everything -t checks and the start checks first: 0, or -1 with err. */
static int
server_preflight(const struct server_frontend *fe, const struct server_args *args,
                 const struct policy_config *cfg, server_warn_fn warn, struct auth_error *err)
{
	struct daemon_ident id;

	if (daemon_identity(cfg->user, cfg->group, &id, err) < 0 ||
	    (fe->preflight != NULL && fe->preflight(cfg, err) < 0) ||
	    metrics_http_preflight(cfg, err) < 0 ||
	    (cfg->pidfile != NULL && preflight_parent_dir("pidfile", cfg->pidfile, err) < 0) ||
	    server_check_dns(cfg, err) < 0 || server_check_keys(cfg, err) < 0 ||
	    server_check_reloadable(args, cfg, &id, err) < 0)
		return -1;
	server_check_store(cfg, &id, warn);
	return 0;
}

void
server_reply(const struct verdict *v, bool reject, struct server_reply *out)
{
	const char *text = v->text[0] != '\0' ? v->text
	                   : reject           ? "Message rejected by policy"
	                                      : "Message cannot be checked now, try again later";
	size_t i;

	if (v->smtp_code >= (reject ? 500 : 400) && v->smtp_code < (reject ? 600 : 500))
		snprintf(out->code, sizeof(out->code), "%d", v->smtp_code);
	else
		snprintf(out->code, sizeof(out->code), "%s", reject ? "550" : "451");
	out->dsn = v->dsn;
	if (out->dsn == NULL || out->dsn[0] != out->code[0])
		out->dsn = reject ? "5.7.1" : "4.3.0";
	for (i = 0; text[i] != '\0' && i + 1 < sizeof(out->text); i++)
		out->text[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : ' ';
	out->text[i] = '\0';
}

void
server_stop(void)
{
	daemon_raise(SIGTERM);
}

/* Serves until SIGTERM or SIGINT, reloading on SIGHUP. */
static int
server_serve(const struct server_frontend *fe, const struct server_args *args,
             struct dns_resolver *resolver)
{
	struct auth_error err;
	unsigned long left;
	int sig, rc;

	/* Handlers on first: a signal that came while starting is taken now
	 * by the main thread. The front end's threads start with the signals
	 * blocked (daemon_thread_create()), so the main thread alone hears
	 * them: libmilter's own signal thread would stop it unaccounted for. */
	if (daemon_signals_listen(&err) < 0) {
		log_msg(LOG_L_ERROR, "%s", err.msg);
		return EX_OSERR;
	}
	if (fe->start(&err) < 0) {
		log_msg(LOG_L_ERROR, "cannot start: %s", err.msg);
		return EX_OSERR;
	}
	metrics_set_resolver(resolver);
	if (metrics_http_start(&err) < 0)
		log_msg(LOG_L_ERROR, "metrics are not served: %s", err.msg);
	while ((sig = daemon_wait_signal()) == SIGHUP)
		server_reload(fe, args, resolver);
	log_msg(LOG_L_NOTICE, "stopping on signal %d", sig);
	if ((left = fe->drain()) > 0)
		log_msg(LOG_L_WARNING, "stopping with %lu messages unfinished", left);
	rc = fe->finish() == 0 ? 0 : EX_SOFTWARE;
	/* Served up to the end: the counts of the last messages are in. */
	metrics_http_stop();
	metrics_set_resolver(NULL);
	return rc;
}

/* Everything up to the point where the front end can serve; returns the
 * status to exit with (sysexits.h), or -1 to go on. */
static int
server_start(const struct server_frontend *fe, const struct server_args *args,
             struct policy_config *cfg, struct auth_error *err)
{
	/* Blocked from the start: a SIGHUP or SIGTERM before the main loop
	 * waits for it would otherwise kill the daemon half started. */
	if (daemon_signals_block(err) < 0)
		return EX_OSERR;
	if (log_open("authmilter", args->foreground, cfg->syslog_facility, cfg->log_level, err) < 0)
		return EX_CONFIG;
	if (!server_config_exists(args))
		log_msg(LOG_L_NOTICE, "no config file at %s; using defaults", args->config);
	if (server_preflight(fe, args, cfg, server_warn_log, err) < 0)
		return EX_CONFIG;
	if (fe->open(cfg, err) < 0 || metrics_http_open(cfg, err) < 0)
		return EX_UNAVAILABLE;
	if (!args->foreground && daemon_detach(err) < 0)
		return EX_OSERR;
	if (cfg->pidfile != NULL && daemon_write_pidfile(cfg->pidfile, err) < 0)
		return err->code == AUTH_EINVAL ? EX_UNAVAILABLE : EX_CANTCREAT;
	/* Keys may be readable by root alone: read them before the drop. */
	if ((server_keys = keyring_new()) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory"), EX_OSERR;
	if (keyring_load_config(server_keys, cfg, err) < 0)
		return EX_CONFIG;
	if (daemon_drop_privileges(cfg->user, cfg->group, err) < 0)
		return EX_OSERR;
	if (server_config_exists(args) && daemon_check_readable(args->config, cfg->user, err) < 0)
		return EX_CONFIG;
	return -1;
}

static int
server_fail_start(const struct server_frontend *fe, const struct server_args *args,
                  struct policy_config *cfg, const struct auth_error *err, int rc)
{
	struct auth_error ignored;

	fprintf(stderr, "authmilter: %s\n", err->msg);
	if (!args->foreground)
		log_msg(LOG_L_ERROR, "cannot start: %s", err->msg);
	if (cfg->pidfile != NULL)
		(void)daemon_remove_pidfile(cfg->pidfile, &ignored);
	metrics_http_stop();
	if (fe->cleanup != NULL)
		fe->cleanup();
	keyring_free(server_keys);
	server_keys = NULL;
	config_free(cfg);
	return rc;
}

static int
server_run(const struct server_frontend *fe, const struct server_args *args,
           struct policy_config *cfg)
{
	struct dns_resolver *resolver = NULL;
	struct session_engines *e = NULL;
	struct auth_error err;
	char *pidfile = NULL, where[256], scrape[600];
	int rc;

	auth_error_clear(&err);
	if ((rc = server_start(fe, args, cfg, &err)) >= 0)
		return server_fail_start(fe, args, cfg, &err, rc);
	/* Kept for the clean-up at exit: a reload may replace cfg. */
	if (cfg->pidfile != NULL && (pidfile = strdup(cfg->pidfile)) == NULL)
		return auth_error_set(&err, AUTH_ENOMEM, "out of memory"),
		       server_fail_start(fe, args, cfg, &err, EX_OSERR);
	if (recorder_start(cfg, &err) < 0 ||
	    (resolver = resolver_new(cfg, SERVER_DNS_THREADS, &err)) == NULL ||
	    (e = session_engines_new(cfg, resolver, server_keys, &err)) == NULL) {
		recorder_stop();
		dns_resolver_free(resolver);
		free(pidfile);
		return server_fail_start(fe, args, cfg, &err,
		                         err.code == AUTH_ENOMEM ? EX_OSERR : EX_CONFIG);
	}
	fe->describe(cfg, where, sizeof(where));
	confref_init(cfg, e);
	metrics_http_describe(scrape, sizeof(scrape));
	log_msg(LOG_L_NOTICE, "started (%s), listening on %s%s%s", fe->name, where,
	        scrape[0] ? ", metrics on " : "", scrape);
	rc = server_serve(fe, args, resolver);
	/* After the messages in flight finished: their records are queued. */
	recorder_stop();
	confref_shutdown();
	dns_resolver_free(resolver);
	keyring_free(server_keys);
	server_keys = NULL;
	/* After dropping privileges the directory may not be ours: the next
	 * start replaces a pid file naming a process that is gone. */
	if (pidfile != NULL && daemon_remove_pidfile(pidfile, &err) < 0)
		log_msg(LOG_L_NOTICE, "%s", err.msg);
	if (fe->cleanup != NULL)
		fe->cleanup();
	free(pidfile);
	log_msg(LOG_L_NOTICE, "stopped");
	log_close();
	return rc;
}

/* -t: what the start would refuse, and with verbose the effective
 * configuration. */
static int
server_check(const struct server_frontend *fe, const struct server_args *args,
             const struct policy_config *cfg)
{
	struct auth_error err;
	struct buf out;
	int rc = 0;

	if (server_preflight(fe, args, cfg, server_warn_stderr, &err) < 0) {
		fprintf(stderr, "authmilter: %s\n", err.msg);
		return EX_CONFIG;
	}
	if (args->verbose) {
		buf_init(&out, SERVER_FORMAT_MAX);
		if (config_format(cfg, &out) < 0)
			rc = EX_SOFTWARE;
		else
			fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	}
	/* With verbose, stdout is a config file that reads back. */
	if (rc == 0 && server_config_exists(args))
		fprintf(args->verbose ? stderr : stdout, "authmilter: configuration OK\n");
	else if (rc == 0)
		fprintf(args->verbose ? stderr : stdout,
		        "authmilter: no config file at %s; using defaults\n", args->config);
	return rc;
}

int
server_main(const struct server_frontend *fe, const struct server_args *args)
{
	struct policy_config *cfg;
	struct auth_error err;
	int rc;

	if ((cfg = server_build_config(args, &err)) == NULL ||
	    (fe->check != NULL && fe->check(cfg, &err) < 0)) {
		fprintf(stderr, "authmilter: %s\n", err.msg);
		config_free(cfg);
		return EX_CONFIG;
	}
	if (args->check_only) {
		rc = server_check(fe, args, cfg);
		config_free(cfg);
		return rc;
	}
	return server_run(fe, args, cfg);
}
