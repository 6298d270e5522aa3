/*
 * workpool - see workpool.h.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "workpool.h"

struct workpool {
	/* Guards every member below it. */
	pthread_mutex_t lock;
	pthread_cond_t work; /* signalled when a job is queued or at stop */
	struct workpool_job *head, *tail;
	struct workpool_job *finished;
	unsigned long pending;
	bool stopping;

	void (*notify)(void *ctx);
	void *ctx;
	pthread_t *threads;
	unsigned nthreads;
};

static struct workpool_job *
workpool_take(struct workpool *p)
{
	struct workpool_job *job;

	pthread_mutex_lock(&p->lock);
	while (p->head == NULL && !p->stopping)
		pthread_cond_wait(&p->work, &p->lock);
	job = p->head;
	if (job != NULL && (p->head = job->next) == NULL)
		p->tail = NULL;
	pthread_mutex_unlock(&p->lock);
	return job;
}

static void *
workpool_thread(void *arg)
{
	struct workpool *p = arg;
	struct workpool_job *job;

	while ((job = workpool_take(p)) != NULL) {
		job->run(job);
		pthread_mutex_lock(&p->lock);
		job->next = p->finished;
		p->finished = job;
		pthread_mutex_unlock(&p->lock);
		p->notify(p->ctx);
	}
	return NULL;
}

struct workpool *
workpool_new(unsigned threads, void (*notify)(void *ctx), void *ctx, struct auth_error *err)
{
	struct workpool *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->threads = calloc(threads, sizeof(*p->threads))) == NULL) {
		free(p);
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	p->notify = notify;
	p->ctx = ctx;
	for (p->nthreads = 0; p->nthreads < threads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, workpool_thread, p) != 0)
			break;
	if (p->nthreads == 0) {
		workpool_free(p);
		auth_error_set(err, AUTH_EIO, "cannot start worker threads");
		return NULL;
	}
	return p;
}

void
workpool_submit(struct workpool *p, struct workpool_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail != NULL)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	p->pending++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void
workpool_reap(struct workpool *p)
{
	struct workpool_job *list, *next;
	unsigned long n = 0;

	pthread_mutex_lock(&p->lock);
	list = p->finished;
	p->finished = NULL;
	for (next = list; next != NULL; next = next->next)
		n++;
	p->pending -= n;
	pthread_mutex_unlock(&p->lock);
	/* done() may submit the connection's next job: take next first. */
	for (; list != NULL; list = next) {
		next = list->next;
		list->done(list);
	}
}

unsigned long
workpool_pending(struct workpool *p)
{
	unsigned long n;

	pthread_mutex_lock(&p->lock);
	n = p->pending;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
workpool_free(struct workpool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	workpool_reap(p);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	free(p->threads);
	free(p);
}
