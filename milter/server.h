/*
 * server - the one lifecycle of both daemons, whatever they serve.
 *
 * The milter (mfilter.c) and the SMTP listener (smtpd.c) are front ends
 * on this core.  server_main() reads the config file (authmilter.conf(5))
 * with the command-line overrides applied over it in order, and then, for
 * the front end given: opens its sockets as root, detaches unless in the
 * foreground, writes the pid file (O_EXCL), drops to the configured user
 * and group, checks that the config file can still be read for a reload,
 * makes the resolver and the session engines, starts the front end, and
 * serves until SIGTERM or SIGINT.  SIGHUP reloads: a config that does not
 * load, or that the front end refuses, leaves the running one in place,
 * and connections keep the config they began with (confref.h).  A stop
 * asks the front end to stop accepting and drain what is in flight, then
 * to finish, and exits.
 *
 * Signals are taken in the main thread only (daemon.h): every thread a
 * front end starts inherits a mask blocking them.
 *
 * The front end's own keys (the listener's) are an extension of the
 * policy config (config_set_ext()), made fresh by keys_new for every
 * config built, so one file and one -o syntax serve both front ends and a
 * reload swaps both together.
 *
 * A check (-t) builds the config, asks the front end whether it can serve
 * it, and then what the start would stumble on (preflight.h: the user and
 * group, the socket's and the pid file's directories, the listening
 * addresses, the DNS servers, the key files, the config file for a
 * reload), as the start itself does before it opens anything.  What would
 * not stop the daemon but would stop it doing its work (a report store it
 * cannot open) is a warning.  With verbose, the effective configuration
 * is printed on stdout (config_format()).
 *
 * Exit status of server_main(), after sysexits(3): 0 after a clean stop or
 * a good check; EX_CONFIG when the config is wrong (it does not load, the
 * front end cannot serve it, or a check fails); EX_UNAVAILABLE when the
 * socket, an address or the pid file is held by another process or
 * cannot be opened; EX_CANTCREAT when the pid file cannot be written;
 * EX_OSERR when the system refuses (fork, threads, privileges, memory);
 * EX_SOFTWARE when the front end failed while serving.
 */
#ifndef AUTH_SERVER_H
#define AUTH_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "verdict.h"

#define SERVER_MAX_OVERRIDES 64

struct server_frontend {
	const char *name; /* "milter", "smtp": in log lines */
	/* Whether a loaded config is one this front end can serve; asked at
	 * start and before a reload takes effect.  NULL: every config. */
	int (*check)(const struct policy_config *cfg, struct auth_error *err);
	/* As root, before detaching: opens the listening sockets. */
	int (*open)(const struct policy_config *cfg, struct auth_error *err);
	/* Once unprivileged, with the config current (confref.h): starts
	 * serving in threads of its own. */
	int (*start)(struct auth_error *err);
	/* A reload made cfg current; old is the one before (for notices). */
	void (*reloaded)(const struct policy_config *old, const struct policy_config *cfg);
	/* Whether what open will need is there, touching nothing (-t, and
	 * the start before anything is opened).  NULL: nothing to check. */
	int (*preflight)(const struct policy_config *cfg, struct auth_error *err);
	/* Stops accepting and waits, bounded, for the work in flight; returns
	 * how much was left unfinished. */
	unsigned long (*drain)(void);
	/* Stops serving and joins its threads; returns 0, or 1 when the front
	 * end had failed. */
	int (*finish)(void);
	/* At exit: removes what open made in the file system. */
	void (*cleanup)(void);
	/* What it listens on, for the start-up log line. */
	void (*describe)(const struct policy_config *cfg, char *out, size_t outlen);
};

struct server_args {
	const char *config;
	bool config_given; /* a missing default config file is no error */
	bool foreground, check_only;
	bool verbose; /* with check_only: print the effective configuration */
	/* Overrides as "key", "value" pairs, applied in order. */
	const char *keys[SERVER_MAX_OVERRIDES];
	const char *values[SERVER_MAX_OVERRIDES];
	char *owned[SERVER_MAX_OVERRIDES];
	size_t noverrides;
	/* Makes the keys beside the policy config's, or NULL. */
	int (*keys_new)(struct config_ext *ext, struct auth_error *err);
};

/* args->config names the default config file. */
void server_args_init(struct server_args *args, const char *default_config);
/* One override; owned (or NULL) is freed with args.  -1 when full
 * (reported on stderr). */
int server_args_add(struct server_args *args, const char *key, const char *value, char *owned);
/* One "key=value" override from -o. */
int server_args_add_kv(struct server_args *args, const char *arg);
void server_args_free(struct server_args *args);

/* The config file under the overrides, with the extension keys; NULL with
 * err set when it does not load. */
struct policy_config *server_build_config(const struct server_args *args, struct auth_error *err);

/* Runs fe until stopped; returns the exit status. */
int server_main(const struct server_frontend *fe, const struct server_args *args);

/* The SMTP reply a refusing verdict gets from either front end: its own
 * code and enhanced code when they fit the action, else 550 5.7.1 or
 * 451 4.3.0 (RFC 3463: X.7.1 exists only as a permanent code; a deferral
 * without a code of its own is a local problem), and its text, printable
 * ASCII only, or a default. */
struct server_reply {
	char code[4];
	const char *dsn;
	char text[VERDICT_TEXT_MAX];
};

void server_reply(const struct verdict *v, bool reject, struct server_reply *out);

/* A front end that stopped on its own (from any thread) asks the main
 * thread to stop everything. */
void server_stop(void);

#endif
