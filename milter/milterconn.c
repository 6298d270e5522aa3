/*
 * milterconn - see milterconn.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "milterconn.h"

/* How long the threads rest after accept() failed for want of
 * descriptors or memory, so they do not spin. */
#define MC_ACCEPT_PAUSE_MS 100

struct mc_worker {
	struct milterconn *mc;
	struct milterproto *mp;
	int fd;                        /* the connection served, or -1 */
	struct mc_worker *next, *prev; /* in mc->busy, while serving */
};

struct milterconn {
	int fd; /* listening */
	const struct milterproto_ops *ops;
	/* Guards the fields below. */
	pthread_mutex_t lock;
	pthread_cond_t gone; /* threads dropped to 0 */
	unsigned threads, idle;
	bool stopping;
	struct mc_worker *busy;
};

/* ---- the listening socket ---- */

static int
mc_fail(struct auth_error *err, const char *spec, int e)
{
	return auth_error_set(err, AUTH_EIO, "cannot open the socket %s: %s", spec, strerror(e));
}

static int
mc_listen_unix(const char *spec, const char *path, struct auth_error *err)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return mc_fail(err, spec, ENAMETOOLONG);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* One left by a daemon that is gone (a live one was refused before). */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return mc_fail(err, spec, errno);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;

		close(fd);
		return mc_fail(err, spec, e);
	}
	return fd;
}

/* PORT[@HOST], HOST perhaps in brackets; no HOST: every address. */
static int
mc_resolve(const char *spec, const char *rest, int family, struct addrinfo **res,
           struct auth_error *err)
{
	char port[8], host[256];
	const char *at = strchr(rest, '@');
	size_t plen = at != NULL ? (size_t)(at - rest) : strlen(rest), hlen;
	struct addrinfo hints;
	int rc;

	if (plen == 0 || plen >= sizeof(port))
		return auth_error_set(err, AUTH_EINVAL, "cannot open the socket %s: bad port",
		                      spec);
	memcpy(port, rest, plen);
	port[plen] = '\0';
	host[0] = '\0';
	if (at != NULL) {
		const char *h = at + 1;

		hlen = strlen(h);
		if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
			h++;
			hlen -= 2;
		}
		if (hlen >= sizeof(host))
			return mc_fail(err, spec, ENAMETOOLONG);
		memcpy(host, h, hlen);
		host[hlen] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, res)) != 0)
		return auth_error_set(err, AUTH_EIO, "cannot open the socket %s: %s", spec,
		                      gai_strerror(rc));
	return 0;
}

static int
mc_listen_inet(const char *spec, const char *rest, int family, struct auth_error *err)
{
	struct addrinfo *res;
	int fd, on = 1, e;

	if (mc_resolve(spec, rest, family, &res, err) < 0)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0) {
		e = errno;
		freeaddrinfo(res);
		return mc_fail(err, spec, e);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
		e = errno;
		close(fd);
		freeaddrinfo(res);
		return mc_fail(err, spec, e);
	}
	freeaddrinfo(res);
	return fd;
}

struct milterconn *
milterconn_open(const char *spec, struct auth_error *err)
{
	struct milterconn *mc;
	int fd;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		fd = mc_listen_unix(spec, strchr(spec, ':') + 1, err);
	else if (strncmp(spec, "inet:", 5) == 0)
		fd = mc_listen_inet(spec, spec + 5, AF_INET, err);
	else if (strncmp(spec, "inet6:", 6) == 0)
		fd = mc_listen_inet(spec, spec + 6, AF_INET6, err);
	else
		fd = auth_error_set(err, AUTH_EINVAL, "cannot open the socket %s: unknown kind",
		                    spec);
	if (fd < 0)
		return NULL;
	if ((mc = calloc(1, sizeof(*mc))) == NULL) {
		close(fd);
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	mc->fd = fd;
	pthread_mutex_init(&mc->lock, NULL);
	pthread_cond_init(&mc->gone, NULL);
	return mc;
}

/* ---- one connection ---- */

static void
mc_timeouts(int fd)
{
	struct timeval rd = {MILTERCONN_READ_TIMEOUT, 0}, wr = {MILTERCONN_WRITE_TIMEOUT, 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rd, sizeof(rd));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wr, sizeof(wr));
}

/* Writes the gathered replies; -1 when the MTA is gone. */
static int
mc_flush(struct mc_worker *w)
{
	const unsigned char *p;
	size_t len;
	ssize_t n;

	p = milterproto_output(w->mp, &len);
	while (len > 0) {
		if ((n = send(w->fd, p, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	milterproto_output_done(w->mp);
	return 0;
}

/* Reads what the MTA sent: 1, or 0 at its end (EOF, timeout, error). */
static int
mc_read(struct mc_worker *w)
{
	unsigned char *p;
	size_t room;
	ssize_t n;

	p = milterproto_space(w->mp, &room);
	do
		n = recv(w->fd, p, room, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			log_msg(LOG_L_INFO, "MTA connection idle for %d s: closed",
			        MILTERCONN_READ_TIMEOUT);
		return 0;
	}
	milterproto_filled(w->mp, (size_t)n);
	return 1;
}

static void
mc_serve(struct mc_worker *w)
{
	enum milterproto_status st;

	mc_timeouts(w->fd);
	milterproto_reset(w->mp);
	for (;;) {
		st = milterproto_run(w->mp);
		if (mc_flush(w) < 0)
			break;
		if (st == MILTERPROTO_AGAIN)
			continue;
		if (st != MILTERPROTO_MORE || !mc_read(w))
			break;
	}
	if (st == MILTERPROTO_ERROR)
		log_msg(LOG_L_WARNING, "MTA connection: a packet that is not the milter protocol; "
		                       "closed");
	milterproto_end(w->mp);
}

/* ---- the threads ---- */

static void *mc_thread(void *arg);

/* With mc->lock held. */
static void
mc_spawn(struct milterconn *mc)
{
	struct mc_worker *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	pthread_t tid;
	int rc = ENOMEM;

	if (w != NULL && (w->mp = milterproto_new(mc->ops)) != NULL) {
		w->mc = mc;
		w->fd = -1;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		/* The main thread alone hears the daemon's signals. */
		if ((rc = daemon_attr_block_signals(&attr)) == 0)
			rc = pthread_create(&tid, &attr, mc_thread, w);
		pthread_attr_destroy(&attr);
		if (rc == 0) {
			mc->threads++;
			return;
		}
	}
	log_msg(LOG_L_WARNING, "cannot start a thread for MTA connections: %s", strerror(rc));
	if (w != NULL)
		milterproto_free(w->mp);
	free(w);
}

static void
mc_busy_add(struct milterconn *mc, struct mc_worker *w, int fd)
{
	w->fd = fd;
	w->prev = NULL;
	w->next = mc->busy;
	if (mc->busy != NULL)
		mc->busy->prev = w;
	mc->busy = w;
}

static void
mc_busy_remove(struct milterconn *mc, struct mc_worker *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		mc->busy = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->fd = -1;
}

static void
mc_pause(void)
{
	const struct timespec t = {0, MC_ACCEPT_PAUSE_MS * 1000000L};

	nanosleep(&t, NULL);
}

/* Waits for a connection, with mc->lock held (and released meanwhile);
 * -1 when stopping. */
static int
mc_accept(struct milterconn *mc)
{
	int fd, e;

	while (!mc->stopping) {
		mc->idle++;
		pthread_mutex_unlock(&mc->lock);
		fd = accept4(mc->fd, NULL, NULL, SOCK_CLOEXEC);
		e = errno;
		pthread_mutex_lock(&mc->lock);
		mc->idle--;
		if (fd >= 0 && !mc->stopping)
			return fd;
		if (fd >= 0)
			close(fd);
		else if (!mc->stopping && e != EINTR && e != ECONNABORTED) {
			pthread_mutex_unlock(&mc->lock);
			mc_pause();
			pthread_mutex_lock(&mc->lock);
		}
	}
	return -1;
}

static void *
mc_thread(void *arg)
{
	struct mc_worker *w = arg;
	struct milterconn *mc = w->mc;
	int fd;

	pthread_mutex_lock(&mc->lock);
	while ((fd = mc_accept(mc)) >= 0) {
		if (mc->idle == 0 && mc->threads < MILTERCONN_THREADS_MAX)
			mc_spawn(mc);
		mc_busy_add(mc, w, fd);
		pthread_mutex_unlock(&mc->lock);
		mc_serve(w);
		pthread_mutex_lock(&mc->lock);
		mc_busy_remove(mc, w);
		close(fd);
		if (mc->idle >= MILTERCONN_IDLE_MAX)
			break;
	}
	pthread_mutex_unlock(&mc->lock);
	milterproto_free(w->mp);
	free(w);
	/* Last: once the count is 0, milterconn_stop() may return. */
	pthread_mutex_lock(&mc->lock);
	if (--mc->threads == 0)
		pthread_cond_broadcast(&mc->gone);
	pthread_mutex_unlock(&mc->lock);
	return NULL;
}

int
milterconn_start(struct milterconn *mc, const struct milterproto_ops *ops, struct auth_error *err)
{
	pthread_mutex_lock(&mc->lock);
	mc->ops = ops;
	mc_spawn(mc);
	pthread_mutex_unlock(&mc->lock);
	if (mc->threads == 0)
		return auth_error_set(err, AUTH_EIO, "cannot start the milter threads");
	return 0;
}

void
milterconn_stop(struct milterconn *mc)
{
	struct mc_worker *w;

	pthread_mutex_lock(&mc->lock);
	mc->stopping = true;
	/* accept() returns EINVAL, and a read on a connection 0; a reply
	 * being made (to the message that let the drain end) still goes out. */
	(void)shutdown(mc->fd, SHUT_RDWR);
	for (w = mc->busy; w != NULL; w = w->next)
		(void)shutdown(w->fd, SHUT_RD);
	while (mc->threads > 0)
		pthread_cond_wait(&mc->gone, &mc->lock);
	pthread_mutex_unlock(&mc->lock);
}

void
milterconn_free(struct milterconn *mc)
{
	if (mc == NULL)
		return;
	close(mc->fd);
	pthread_mutex_destroy(&mc->lock);
	pthread_cond_destroy(&mc->gone);
	free(mc);
}
