/*
 * authmilter - the milter daemon for Postfix and Sendmail.
 *
 *   authmilter [-f] [-c CONFIG] [-p SOCKET] [-u USER] [-g GROUP]
 *              [-P PIDFILE] [-o key=value]... [-t]
 *
 * Reads the config file (authmilter.conf(5)), applies the command-line
 * overrides over it (-p, -u, -g, -P and each -o in order), opens the
 * milter socket, detaches unless -f, writes the pid file, drops to the
 * configured user and group, and serves the MTA through libmilter
 * (mfilter.c) until SIGTERM or SIGINT: then it stops accepting
 * connections, lets the messages in flight finish, and exits 0.
 * SIGHUP reloads the config file (with the same overrides): a config that
 * does not load leaves the running one in place, and connections keep the
 * config they began with.  The DNS resolver and cache are made once, so
 * dns_* settings, like the socket, user, group, pid file and syslog
 * facility, take effect at the next start.
 *
 * Exit status: 0 after a clean stop or a good -t check; 1 when the config
 * is wrong or the daemon cannot start; 2 on a usage error.
 */
#include "autoconf.h"

#include <libmilter/mfapi.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confref.h"
#include "daemon.h"
#include "dns_cache.h"
#include "dns_ldns.h"
#include "keyring.h"
#include "log.h"
#include "mfilter.h"
#include "recorder.h"
#include "config.h"
#include "session.h"

#define AUTHMILTER_NAME "authmilter"
#define AUTHMILTER_DEFAULT_CONFIG SYSCONFDIR "/authmilter.conf"
#define AUTHMILTER_MAX_OVERRIDES 64
/* Threads asking the DNS in the background, for every connection. */
#define AUTHMILTER_DNS_THREADS 32
/* How long a stop waits for the messages in flight. */
#define AUTHMILTER_DRAIN_SECONDS 60

struct authmilter_opts {
	const char *config;
	bool config_given;
	bool foreground, check_only;
	/* Overrides as "key", "value" pairs, applied in order. */
	const char *keys[AUTHMILTER_MAX_OVERRIDES];
	const char *values[AUTHMILTER_MAX_OVERRIDES];
	char *owned[AUTHMILTER_MAX_OVERRIDES];
	size_t noverrides;
};

static void
usage(FILE *f)
{
	fputs("usage: authmilter [-f] [-c CONFIG] [-p SOCKET] [-u USER] [-g GROUP] [-P PIDFILE]\n"
	      "                  [-o key=value]... [-t]\n"
	      "  -f            stay in the foreground and log to standard error\n"
	      "  -c CONFIG     config file (default " AUTHMILTER_DEFAULT_CONFIG ")\n"
	      "  -p SOCKET     unix:/path, inet:port@host or inet6:port@host\n"
	      "  -u USER       run as USER once the socket is open\n"
	      "  -g GROUP      run with group GROUP\n"
	      "  -P PIDFILE    write the process id there\n"
	      "  -o key=value  set a config key (repeatable; applied after the file)\n"
	      "  -t            check the configuration and exit\n",
	      f);
}

static int
add_override(struct authmilter_opts *o, const char *key, const char *value, char *owned)
{
	if (o->noverrides >= AUTHMILTER_MAX_OVERRIDES) {
		fprintf(stderr, "authmilter: more than %d overrides\n", AUTHMILTER_MAX_OVERRIDES);
		free(owned);
		return -1;
	}
	o->keys[o->noverrides] = key;
	o->values[o->noverrides] = value;
	o->owned[o->noverrides++] = owned;
	return 0;
}

static int
add_key_value(struct authmilter_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *key;

	if (eq == NULL || eq == arg) {
		fprintf(stderr, "authmilter: -o takes key=value\n");
		return -1;
	}
	if ((key = strndup(arg, (size_t)(eq - arg))) == NULL)
		return -1;
	return add_override(o, key, eq + 1, key);
}

static int
parse_args(struct authmilter_opts *o, int argc, char **argv)
{
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->config = AUTHMILTER_DEFAULT_CONFIG;
	while (rc == 0 && (c = getopt(argc, argv, "fc:p:u:g:P:o:th")) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'c':
			o->config = optarg;
			o->config_given = true;
			break;
		case 'p':
			rc = add_override(o, "socket", optarg, NULL);
			break;
		case 'u':
			rc = add_override(o, "user", optarg, NULL);
			break;
		case 'g':
			rc = add_override(o, "group", optarg, NULL);
			break;
		case 'P':
			rc = add_override(o, "pidfile", optarg, NULL);
			break;
		case 'o':
			rc = add_key_value(o, optarg);
			break;
		case 't':
			o->check_only = true;
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "authmilter: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	return rc;
}

static void
free_opts(struct authmilter_opts *o)
{
	size_t i;

	for (i = 0; i < o->noverrides; i++)
		free(o->owned[i]);
}

/* The config file (the default one may be absent) under the overrides. */
static struct policy_config *
build_config(const struct authmilter_opts *o, struct auth_error *err)
{
	struct policy_config *cfg = config_new(err);
	size_t i;

	if (cfg == NULL)
		return NULL;
	if ((o->config_given || access(o->config, F_OK) == 0) &&
	    config_load(cfg, o->config, err) < 0)
		goto fail;
	for (i = 0; i < o->noverrides; i++) {
		if (config_set(cfg, o->keys[i], o->values[i], err) < 0) {
			char msg[AUTH_ERROR_MSG_MAX];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			auth_error_set(err, AUTH_EINVAL, "command line: %s", msg);
			goto fail;
		}
	}
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

static struct dns_resolver *
make_resolver(const struct policy_config *cfg, struct auth_error *err)
{
	struct dns_ldns_opts lopts = {cfg->dns_server, cfg->dns_timeout_ms, cfg->dns_retries};
	struct dns_cache_opts copts;
	struct dns_resolver *backend;

	memset(&copts, 0, sizeof(copts));
	copts.max_entries = cfg->dns_cache_entries;
	copts.max_ttl = cfg->dns_cache_max_ttl;
	copts.tempfail_ttl = cfg->dns_tempfail_ttl;
	copts.prefetch_threads = AUTHMILTER_DNS_THREADS;
	if ((backend = dns_ldns_new(&lopts, err)) == NULL)
		return NULL;
	return dns_cache_new(backend, &copts, err);
}

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static void
note_restart_only(const struct policy_config *old, const struct policy_config *cfg)
{
	if (!same_string(old->socket, cfg->socket) || !same_string(old->user, cfg->user) ||
	    !same_string(old->group, cfg->group) || !same_string(old->pidfile, cfg->pidfile) ||
	    !same_string(old->syslog_facility, cfg->syslog_facility) ||
	    !same_string(old->dns_server, cfg->dns_server) ||
	    old->dns_timeout_ms != cfg->dns_timeout_ms || old->dns_retries != cfg->dns_retries ||
	    old->dns_cache_entries != cfg->dns_cache_entries ||
	    old->dns_cache_max_ttl != cfg->dns_cache_max_ttl ||
	    old->dns_tempfail_ttl != cfg->dns_tempfail_ttl ||
	    !same_string(old->report_store, cfg->report_store) ||
	    old->report_queue_size != cfg->report_queue_size)
		log_msg(LOG_L_NOTICE,
		        "socket, user, group, pidfile, syslog_facility, dns_*, "
		        "report_store and report_queue_size changes take effect at the "
		        "next start");
}

/* The key files the configuration names, read at start while privileged;
 * a reload reads only files not seen then.  Main thread only. */
static struct keyring *authmilter_keys;

static void
reload(const struct authmilter_opts *o, struct dns_resolver *resolver)
{
	struct auth_error err;
	struct policy_config *cfg = build_config(o, &err);
	struct session_engines *e;
	struct confref *old;

	if (cfg == NULL) {
		log_msg(LOG_L_ERROR, "reload failed, keeping the running config: %s", err.msg);
		return;
	}
	if (keyring_load_config(authmilter_keys, cfg, &err) < 0 ||
	    (e = session_engines_new(cfg, resolver, authmilter_keys, &err)) == NULL) {
		log_msg(LOG_L_ERROR, "reload failed, keeping the running config: %s", err.msg);
		config_free(cfg);
		return;
	}
	old = confref_acquire();
	note_restart_only(confref_config(old), cfg);
	confref_release(old);
	log_set_level(cfg->log_level);
	if (confref_replace(cfg, e) < 0) {
		log_msg(LOG_L_ERROR, "reload failed (out of memory), keeping the running config");
		return;
	}
	log_msg(LOG_L_NOTICE, "configuration reloaded from %s", o->config);
}

static void *
milter_thread(void *arg)
{
	int *status = arg;

	*status = smfi_main();
	/* libmilter may have stopped on its own (a fatal error, or a signal
	 * its thread caught): the main thread must learn of it. */
	daemon_raise(SIGTERM);
	return NULL;
}

/* Serves until SIGTERM or SIGINT, reloading on SIGHUP.  A stop waits for
 * the messages in flight (new connections are still served meanwhile, so
 * the MTA's view stays consistent) and then closes the socket. */
static int
serve(const struct authmilter_opts *o, struct dns_resolver *resolver)
{
	pthread_t tid;
	struct auth_error err;
	int status = MI_SUCCESS, sig, rc;
	unsigned long left;

	if ((rc = pthread_create(&tid, NULL, milter_thread, &status)) != 0) {
		log_msg(LOG_L_ERROR, "cannot start the milter thread: %s", strerror(rc));
		return 1;
	}
	if (daemon_signals_listen(&err) < 0) {
		log_msg(LOG_L_ERROR, "%s", err.msg);
		smfi_stop();
	} else {
		while ((sig = daemon_wait_signal()) == SIGHUP)
			reload(o, resolver);
		log_msg(LOG_L_NOTICE, "stopping on signal %d", sig);
		/* libmilter drops its connections once stopped, so the
		 * messages in flight finish first. */
		if ((left = mfilter_wait_quiet(AUTHMILTER_DRAIN_SECONDS)) > 0)
			log_msg(LOG_L_WARNING, "stopping with %lu messages unfinished", left);
		smfi_stop();
	}
	pthread_join(tid, NULL);
	return status == MI_SUCCESS ? 0 : 1;
}

/* Everything up to the point where libmilter can run; returns the status
 * to exit with, or -1 to go on. */
static int
start(const struct authmilter_opts *o, struct policy_config *cfg, struct auth_error *err)
{
	if (log_open(AUTHMILTER_NAME, o->foreground, cfg->syslog_facility, cfg->log_level, err) < 0)
		return 1;
	if (mfilter_register(AUTHMILTER_NAME) != MI_SUCCESS)
		return auth_error_set(err, AUTH_EINVAL, "smfi_register failed"), 1;
	if (daemon_check_socket(cfg->socket, err) < 0)
		return 1;
	if (smfi_setconn(cfg->socket) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS)
		return auth_error_set(err, AUTH_EIO, "cannot open the socket %s", cfg->socket), 1;
	if (daemon_socket_perms(cfg->socket, cfg->user, cfg->group, err) < 0)
		return 1;
	if (!o->foreground && daemon_detach(err) < 0)
		return 1;
	if (cfg->pidfile != NULL && daemon_write_pidfile(cfg->pidfile, err) < 0)
		return 1;
	/* Keys may be readable by root alone: read them before the drop. */
	if ((authmilter_keys = keyring_new()) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory"), 1;
	if (keyring_load_config(authmilter_keys, cfg, err) < 0)
		return 1;
	if (daemon_drop_privileges(cfg->user, cfg->group, err) < 0)
		return 1;
	if ((o->config_given || access(o->config, F_OK) == 0) &&
	    daemon_check_readable(o->config, cfg->user, err) < 0)
		return 1;
	if (daemon_signals_block(err) < 0)
		return 1;
	return -1;
}

static int
run(const struct authmilter_opts *o, struct policy_config *cfg)
{
	struct dns_resolver *resolver = NULL;
	struct session_engines *e;
	struct auth_error err;
	char *pidfile = NULL, *sockname = NULL;
	int rc;

	auth_error_clear(&err);
	if ((rc = start(o, cfg, &err)) >= 0) {
		fprintf(stderr, "authmilter: %s\n", err.msg);
		if (!o->foreground)
			log_msg(LOG_L_ERROR, "cannot start: %s", err.msg);
		if (cfg->pidfile != NULL)
			(void)daemon_remove_pidfile(cfg->pidfile, &err);
		config_free(cfg);
		return rc;
	}
	/* Kept for the clean-up at exit: a reload may replace cfg. */
	sockname = strdup(cfg->socket);
	if (cfg->pidfile != NULL)
		pidfile = strdup(cfg->pidfile);
	if (recorder_start(cfg, &err) < 0 || (resolver = make_resolver(cfg, &err)) == NULL ||
	    (e = session_engines_new(cfg, resolver, authmilter_keys, &err)) == NULL) {
		log_msg(LOG_L_ERROR, "cannot start: %s", err.msg);
		recorder_stop();
		dns_resolver_free(resolver);
		config_free(cfg);
		free(pidfile);
		free(sockname);
		return 1;
	}
	confref_init(cfg, e);
	log_msg(LOG_L_NOTICE, "started, listening on %s", cfg->socket);
	rc = serve(o, resolver);
	/* After the messages in flight finished: their records are queued. */
	recorder_stop();
	confref_shutdown();
	dns_resolver_free(resolver);
	keyring_free(authmilter_keys);
	/* After dropping privileges the directory may not be ours: the next
	 * start replaces a pid file naming a process that is gone. */
	if (pidfile != NULL && daemon_remove_pidfile(pidfile, &err) < 0)
		log_msg(LOG_L_NOTICE, "%s", err.msg);
	if (sockname != NULL)
		daemon_remove_socket(sockname);
	free(pidfile);
	free(sockname);
	log_msg(LOG_L_NOTICE, "stopped");
	log_close();
	return rc;
}

int
main(int argc, char **argv)
{
	struct authmilter_opts o;
	struct policy_config *cfg;
	struct auth_error err;
	int rc;

	if ((rc = parse_args(&o, argc, argv)) != 0) {
		usage(rc > 0 ? stdout : stderr);
		free_opts(&o);
		return rc > 0 ? 0 : 2;
	}
	if ((cfg = build_config(&o, &err)) == NULL) {
		fprintf(stderr, "authmilter: %s\n", err.msg);
		free_opts(&o);
		return 1;
	}
	if (o.check_only) {
		printf("authmilter: configuration OK\n");
		config_free(cfg);
		free_opts(&o);
		return 0;
	}
	rc = run(&o, cfg);
	free_opts(&o);
	return rc;
}
