/*
 * test-server - the server core with a front end of the test's own:
 * overrides applied in order over the file, the extension keys, -t (and
 * what it refuses that a start would, with EX_CONFIG), the
 * order of the lifecycle calls, a SIGHUP reload (refused and accepted)
 * and a stop asked for by the front end.
 */
#include "autoconf.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "confref.h"
#include "server.h"
#include "tap.h"

static char conf_path[] = "/tmp/test-server-XXXXXX";

static void
write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		diag("cannot write %s", conf_path);
		exit(1);
	}
}

/* The extension: one key, "fe_port". */
struct fe_keys {
	char port[32];
};

static int
fe_set(void *ctx, const char *key, const char *value, unsigned source, char *msg, size_t msglen)
{
	struct fe_keys *k = ctx;

	(void)source;
	if (strcmp(key, "fe_port") != 0)
		return CONFIG_EXT_UNKNOWN;
	if (strlen(value) >= sizeof(k->port)) {
		snprintf(msg, msglen, "fe_port too long");
		return -1;
	}
	snprintf(k->port, sizeof(k->port), "%s", value);
	return 0;
}

static int
fe_keys_new(struct config_ext *ext, struct auth_error *err)
{
	struct fe_keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	ext->set = fe_set;
	ext->free = free;
	ext->ctx = k;
	return 0;
}

static const char *
fe_port(const struct policy_config *cfg)
{
	return ((const struct fe_keys *)config_ext(cfg))->port;
}

static void
test_build_config(void)
{
	struct server_args a;
	struct policy_config *cfg;
	struct auth_error err;

	server_args_init(&a, "/nonexistent/authmilter.conf");
	a.keys_new = fe_keys_new;
	cfg = server_build_config(&a, &err);
	ok(cfg != NULL, "a missing default config file is no error");
	config_free(cfg);

	write_conf("max_headers 20\nfe_port 25\n");
	a.config = conf_path;
	a.config_given = true;
	is_int(server_args_add_kv(&a, "max_headers=30"), 0, "-o key=value");
	is_int(server_args_add_kv(&a, "fe_port=2525"), 0, "-o of an extension key");
	is_int(server_args_add_kv(&a, "novalue"), -1, "-o without = is refused");
	cfg = server_build_config(&a, &err);
	ok(cfg != NULL, "file and overrides load");
	if (cfg != NULL) {
		is_int(cfg->max_headers, 30, "the override wins over the file");
		is_str(fe_port(cfg), "2525", "the extension's override wins too");
	}
	config_free(cfg);
	is_int(server_args_add_kv(&a, "fe_nothing=1"), 0, "an unknown key is taken as an argument");
	ok(server_build_config(&a, &err) == NULL, "but the config does not build");
	is_str(err.msg, "command line: unknown key \"fe_nothing\"", "and says so");
	server_args_free(&a);

	server_args_init(&a, "/nonexistent/authmilter.conf");
	a.config_given = true;
	ok(server_build_config(&a, &err) == NULL, "a config file given but missing is an error");
	server_args_free(&a);
}

/* ---- a front end that records its calls ---- */

static char calls[256];
static int reloads, refuse_port_1;
static pthread_t driver;

static void
note(const char *what)
{
	size_t n = strlen(calls);

	snprintf(calls + n, sizeof(calls) - n, "%s%s", n ? " " : "", what);
}

static int
fe_check(const struct policy_config *cfg, struct auth_error *err)
{
	if (refuse_port_1 && strcmp(fe_port(cfg), "1") == 0)
		return auth_error_set(err, AUTH_EINVAL, "port 1 refused");
	return 0;
}

static int
fe_open(const struct policy_config *cfg, struct auth_error *err)
{
	(void)cfg;
	(void)err;
	note("open");
	return 0;
}

/* Reloads twice (once refused), then stops, as an operator would. */
static void *
fe_drive(void *arg)
{
	struct confref *r;

	(void)arg;
	write_conf("fe_port 1\n");
	kill(getpid(), SIGHUP);
	usleep(200000);
	write_conf("fe_port 587\n");
	kill(getpid(), SIGHUP);
	while (reloads == 0)
		usleep(10000);
	r = confref_acquire();
	is_str(fe_port(confref_config(r)), "587", "after the reload the new config is current");
	confref_release(r);
	server_stop();
	return NULL;
}

static int
fe_start(struct auth_error *err)
{
	struct confref *r = confref_acquire();

	(void)err;
	is_str(fe_port(confref_config(r)), "25", "the front end starts with the first config");
	confref_release(r);
	note("start");
	return pthread_create(&driver, NULL, fe_drive, NULL) == 0 ? 0 : -1;
}

static void
fe_reloaded(const struct policy_config *old, const struct policy_config *cfg)
{
	is_str(fe_port(old), "25", "reloaded() is told the old config");
	is_str(fe_port(cfg), "587", "and the new one (the refused one never)");
	note("reloaded");
	reloads++;
}

static unsigned long
fe_drain(void)
{
	note("drain");
	return 0;
}

static int
fe_finish(void)
{
	pthread_join(driver, NULL);
	note("finish");
	return 0;
}

static void
fe_cleanup(void)
{
	note("cleanup");
}

static void
fe_describe(const struct policy_config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "port %s", fe_port(cfg));
}

/* "fe_port 0" is a port the front end could not open. */
static int
fe_preflight(const struct policy_config *cfg, struct auth_error *err)
{
	note("preflight");
	if (strcmp(fe_port(cfg), "0") == 0)
		return auth_error_set(err, AUTH_EINVAL, "port 0 cannot be opened");
	return 0;
}

static const struct server_frontend test_fe = {
    .name = "test",
    .preflight = fe_preflight,
    .check = fe_check,
    .open = fe_open,
    .start = fe_start,
    .reloaded = fe_reloaded,
    .drain = fe_drain,
    .finish = fe_finish,
    .cleanup = fe_cleanup,
    .describe = fe_describe,
};

/* -t with the default config file absent says so on stdout. */
static void
test_check_default_missing(void)
{
	char out_path[] = "/tmp/test-server-out-XXXXXX", text[512] = "";
	struct server_args a;
	int fd = mkstemp(out_path), saved = dup(STDOUT_FILENO), rc;
	FILE *f;

	server_args_init(&a, "/nonexistent/authmilter.conf");
	a.keys_new = fe_keys_new;
	a.check_only = true;
	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	rc = server_main(&test_fe, &a);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	if ((f = fopen(out_path, "r")) != NULL) {
		text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
		fclose(f);
	}
	unlink(out_path);
	is_int(rc, 0, "-t without the default config file: exit 0");
	is_str(text, "authmilter: no config file at /nonexistent/authmilter.conf; using defaults\n",
	       "and says it uses the defaults, not \"configuration OK\"");
	calls[0] = '\0';
	server_args_free(&a);
}

/* What the start would refuse, -t refuses (EX_CONFIG), touching nothing. */
static void
test_check_refuses(struct server_args *a)
{
	static const struct {
		const char *conf, *name;
	} bad[] = {
	    {"fe_port 0\n", "the front end's preflight fails"},
	    {"fe_port 25\nuser no-such-user-here\n", "an unknown user"},
	    {"fe_port 25\ngroup no-such-group-here\n", "an unknown group"},
	    {"fe_port 25\npidfile /nonexistent/dir/a.pid\n",
	     "a pid file directory that is missing"},
	    {"fe_port 25\ndkim_sign example.org s /nonexistent/key.pem\n", "a key file missing"},
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_conf(bad[i].conf);
		is_int(server_main(&test_fe, a), EX_CONFIG, "-t: %s: EX_CONFIG", bad[i].name);
	}
	ok(access("/nonexistent/dir/a.pid", F_OK) != 0, "-t wrote no pid file");
	write_conf("fe_port 25\nuser root\ngroup root\n");
	is_int(server_main(&test_fe, a), 0, "-t: a user and group that exist");
	calls[0] = '\0';
}

static void
test_lifecycle(void)
{
	struct server_args a;

	server_args_init(&a, conf_path);
	a.config_given = true;
	a.foreground = true;
	a.keys_new = fe_keys_new;
	refuse_port_1 = 1;

	write_conf("fe_port 1\n");
	a.check_only = true;
	is_int(server_main(&test_fe, &a), EX_CONFIG, "-t: a config the front end refuses fails");
	write_conf("fe_port 25\n");
	is_int(server_main(&test_fe, &a), 0, "-t: a good config passes");
	is_str(calls, "preflight", "-t asks the front end's preflight and starts nothing");
	calls[0] = '\0';
	test_check_refuses(&a);
	test_check_default_missing();

	a.check_only = false;
	write_conf("fe_port 25\nuser no-such-user-here\n");
	is_int(server_main(&test_fe, &a), EX_CONFIG, "a start with an unknown user: EX_CONFIG");
	is_str(calls, "cleanup", "and nothing opened");
	calls[0] = '\0';
	write_conf("fe_port 25\n");
	is_int(server_main(&test_fe, &a), 0, "the server runs and stops cleanly");
	is_str(calls, "preflight open start reloaded drain finish cleanup",
	       "the lifecycle calls, in order");
	is_int(reloads, 1, "one reload took effect");
	server_args_free(&a);
}

int
main(void)
{
	int fd = mkstemp(conf_path);

	if (fd < 0)
		return 1;
	close(fd);
	test_build_config();
	test_lifecycle();
	unlink(conf_path);
	return done_testing();
}
