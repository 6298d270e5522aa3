/*
 * test-workpool - jobs run off the submitting thread, done() runs in the
 * reaping thread, a busy pool queues, and free waits for queued jobs.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tap.h"
#include "workpool.h"

#define JOBS 64

struct tjob {
	struct workpool_job job; /* first: the pool hands this back */
	pthread_t ran_in, done_in;
	int done;
};

static atomic_int notified, running, most;

static void
run(struct workpool_job *j)
{
	struct tjob *t = (struct tjob *)(void *)j;
	int now = atomic_fetch_add(&running, 1) + 1, m;

	while ((m = atomic_load(&most)) < now && !atomic_compare_exchange_weak(&most, &m, now))
		;
	t->ran_in = pthread_self();
	usleep(2000);
	atomic_fetch_sub(&running, 1);
}

static void
done(struct workpool_job *j)
{
	struct tjob *t = (struct tjob *)(void *)j;

	t->done_in = pthread_self();
	t->done++;
}

static void
notify(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&notified, 1);
}

int
main(void)
{
	static struct tjob jobs[JOBS];
	struct workpool *p = workpool_new(4, notify, NULL, NULL);
	int i, ok_run = 1, ok_done = 1;

	ok(p != NULL, "pool made");
	for (i = 0; i < JOBS; i++) {
		jobs[i].job.run = run;
		jobs[i].job.done = done;
		workpool_submit(p, &jobs[i].job);
	}
	while (atomic_load(&notified) < JOBS)
		usleep(1000);
	is_int(workpool_pending(p), JOBS, "finished jobs wait to be reaped");
	workpool_reap(p);
	is_int(workpool_pending(p), 0, "reaped");
	for (i = 0; i < JOBS; i++) {
		ok_run &= !pthread_equal(jobs[i].ran_in, pthread_self());
		ok_done &= jobs[i].done == 1 && pthread_equal(jobs[i].done_in, pthread_self());
	}
	ok(ok_run, "run() in a worker thread");
	ok(ok_done, "done() once each, in the reaping thread");
	ok(atomic_load(&most) <= 4 && atomic_load(&most) >= 2, "at most 4 at once (saw %d)",
	   atomic_load(&most));
	for (i = 0; i < 8; i++) {
		jobs[i].done = 0;
		workpool_submit(p, &jobs[i].job);
	}
	workpool_free(p);
	for (i = 0, ok_done = 1; i < 8; i++)
		ok_done &= jobs[i].done == 1;
	ok(ok_done, "free runs the queued jobs and reaps them");
	return done_testing();
}
