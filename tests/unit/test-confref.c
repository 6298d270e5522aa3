/*
 * test-confref - a connection keeps the config it started with across a
 * reload, and references are safe from many threads.  Under AddressSanitizer
 * a config freed too early (use after free) or never (leak) fails the test.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "confref.h"
#include "dns_zone.h"
#include "session.h"
#include "tap.h"

#define THREADS 4
#define ROUNDS 20000

static struct dns_resolver *resolver;

static struct policy_config *
make_config(const char *authserv_id, struct session_engines **e)
{
	struct auth_error err;
	struct policy_config *cfg = config_new(&err);

	if (cfg == NULL || config_set(cfg, "authserv_id", authserv_id, &err) < 0 ||
	    (*e = session_engines_new(cfg, resolver, NULL, &err)) == NULL) {
		diag("config: %s", err.msg);
		exit(1);
	}
	return cfg;
}

static void
test_reload_keeps_old_config(void)
{
	struct session_engines *e1, *e2;
	struct policy_config *c1 = make_config("one.example", &e1);
	struct policy_config *c2 = make_config("two.example", &e2);
	struct confref *old, *cur;

	confref_init(c1, e1);
	old = confref_acquire();
	ok(confref_config(old) == c1 && confref_engines(old) == e1,
	   "acquire gives the current one");
	is_int(confref_replace(c2, e2), 0, "replace");
	cur = confref_acquire();
	is_str(confref_config(cur)->authserv_id, "two.example",
	       "new connections see the new config");
	is_str(confref_config(old)->authserv_id, "one.example",
	       "a connection begun before keeps its config");
	confref_release(old);
	is_str(confref_config(cur)->authserv_id, "two.example", "the current one survives");
	confref_release(cur);
	confref_release(NULL);
	ok(1, "releasing NULL is harmless");
}

static void *
worker(void *arg)
{
	unsigned long *seen = arg;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		struct confref *r = confref_acquire();

		*seen += confref_config(r)->max_headers;
		confref_release(r);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[THREADS];
	unsigned long seen[THREADS] = {0};
	struct session_engines *e;
	int i, made = 0;

	for (i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, &seen[i]) == 0)
			made++;
	for (i = 0; i < 200; i++) {
		struct policy_config *cfg = make_config(i % 2 ? "odd.example" : "even.example", &e);

		confref_replace(cfg, e);
	}
	for (i = 0; i < made; i++)
		pthread_join(t[i], NULL);
	is_int(made, THREADS, "threads started");
	for (i = 0; i < made; i++)
		is_int(seen[i], (unsigned long)ROUNDS * 1000,
		       "thread %d read a live config each time", i);
}

int
main(void)
{
	struct auth_error err;

	if ((resolver = dns_zone_new(&err)) == NULL) {
		diag("resolver: %s", err.msg);
		return 1;
	}
	test_reload_keeps_old_config();
	test_threads();
	confref_shutdown();
	dns_resolver_free(resolver);
	return done_testing();
}
