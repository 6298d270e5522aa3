/*
 * workpool - a bounded pool of worker threads for the SMTP listener.
 *
 * The event loop never waits on DNS or a next hop: the work that can
 * (SPF at MAIL, the evaluation and hand-off at end of DATA) goes here as
 * a job.  A job's run() is called in a worker thread; when it returns the
 * job is put on the finished list and notify(ctx) is called (from that
 * worker), and the loop thread then calls workpool_reap(), which calls each
 * finished job's done() in the loop thread.  A job belongs to its
 * submitter; the pool only links it.  Each connection has at most one job
 * at a time, so the queue is bounded by the connection limit.
 *
 * Shared state: the queue and the finished list, guarded by the pool's
 * mutex (workpool.c); run() must touch only what its job owns.
 */
#ifndef AUTH_WORKPOOL_H
#define AUTH_WORKPOOL_H

#include "error.h"

struct workpool_job {
	void (*run)(struct workpool_job *job);
	void (*done)(struct workpool_job *job);
	struct workpool_job *next; /* the pool's */
};

struct workpool;

struct workpool *workpool_new(unsigned threads, void (*notify)(void *ctx), void *ctx,
                              struct auth_error *err);
void workpool_submit(struct workpool *p, struct workpool_job *job);
/* In the loop thread: done() for every finished job. */
void workpool_reap(struct workpool *p);
/* Jobs submitted and not yet reaped. */
unsigned long workpool_pending(struct workpool *p);
/* Lets the queued jobs run, then stops and joins the threads; jobs that
 * finished and were not reaped are reaped here. */
void workpool_free(struct workpool *p);

#endif
