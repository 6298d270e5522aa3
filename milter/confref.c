/*
 * confref - see confref.h.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "confref.h"
#include "config.h"
#include "session.h"

struct confref {
	struct policy_config *cfg;
	struct session_engines *engines;
	unsigned long refs; /* guarded by confref_lock */
};

/* Guards confref_current and the refs of every struct confref. */
static pthread_mutex_t confref_lock = PTHREAD_MUTEX_INITIALIZER;
static struct confref *confref_current;

static void
confref_free(struct confref *ref)
{
	session_engines_free(ref->engines);
	config_free(ref->cfg);
	free(ref);
}

static struct confref *
confref_wrap(struct policy_config *cfg, struct session_engines *e)
{
	struct confref *ref = malloc(sizeof(*ref));

	if (ref == NULL) {
		session_engines_free(e);
		config_free(cfg);
		return NULL;
	}
	ref->cfg = cfg;
	ref->engines = e;
	ref->refs = 1; /* the holder's own */
	return ref;
}

void
confref_init(struct policy_config *cfg, struct session_engines *e)
{
	if ((confref_current = confref_wrap(cfg, e)) == NULL)
		abort();
}

struct confref *
confref_acquire(void)
{
	struct confref *ref;

	pthread_mutex_lock(&confref_lock);
	ref = confref_current;
	ref->refs++;
	pthread_mutex_unlock(&confref_lock);
	return ref;
}

const struct policy_config *
confref_config(const struct confref *ref)
{
	return ref->cfg;
}

struct session_engines *
confref_engines(const struct confref *ref)
{
	return ref->engines;
}

void
confref_release(struct confref *ref)
{
	bool last;

	if (ref == NULL)
		return;
	pthread_mutex_lock(&confref_lock);
	last = --ref->refs == 0;
	pthread_mutex_unlock(&confref_lock);
	if (last)
		confref_free(ref);
}

int
confref_replace(struct policy_config *cfg, struct session_engines *e)
{
	struct confref *ref = confref_wrap(cfg, e), *old;

	if (ref == NULL)
		return -1;
	pthread_mutex_lock(&confref_lock);
	old = confref_current;
	confref_current = ref;
	pthread_mutex_unlock(&confref_lock);
	confref_release(old);
	return 0;
}

void
confref_shutdown(void)
{
	struct confref *old;

	pthread_mutex_lock(&confref_lock);
	old = confref_current;
	confref_current = NULL;
	pthread_mutex_unlock(&confref_lock);
	confref_release(old);
}
