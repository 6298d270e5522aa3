/*
 * test-server - the server core with a front end of the test's own:
 * overrides applied in order over the file, the extension keys, -t, the
 * order of the lifecycle calls, a SIGHUP reload (refused and accepted)
 * and a stop asked for by the front end.
 */
#include "autoconf.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static const struct server_frontend test_fe = {
    "test", fe_check, fe_open, fe_start, fe_reloaded, fe_drain, fe_finish, fe_cleanup, fe_describe,
};

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
	is_int(server_main(&test_fe, &a), 1, "-t: a config the front end refuses fails");
	write_conf("fe_port 25\n");
	is_int(server_main(&test_fe, &a), 0, "-t: a good config passes");
	is_str(calls, "", "-t starts nothing");

	a.check_only = false;
	is_int(server_main(&test_fe, &a), 0, "the server runs and stops cleanly");
	is_str(calls, "open start reloaded drain finish cleanup", "the lifecycle calls, in order");
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
