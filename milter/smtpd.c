/*
 * smtpd - see smtpd.h.  The server side: sockets, connection limits, the
 * loop thread, the worker pool and the drain.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "confref.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "smtpd.h"
#include "smtpd_int.h"

#define SMTPD_IP_BUCKETS 4096

/* How many connections one client address has open. */
struct smtpd_ipcount {
	char ip[INET6_ADDRSTRLEN];
	size_t n;
	struct smtpd_ipcount *next;
};

struct smtpd_server {
	int fds[SMTPD_CONF_LISTEN_MAX];
	size_t nfds;
	char where[256];
	struct event_base *base;
	struct evconnlistener *lev[SMTPD_CONF_LISTEN_MAX];
	struct event *wake, *ctl;
	struct workpool *pool;
	pthread_t thread;
	bool running;

	/* Loop thread only. */
	struct smtpd_conn *conns;
	struct smtpd_ipcount *ips[SMTPD_IP_BUCKETS];

	/* Guards nconns and ntrans; quiet is signalled when either drops. */
	pthread_mutex_t lock;
	pthread_cond_t quiet;
	unsigned long nconns, ntrans;

	atomic_bool draining, stopped;
};

/* The one listener of the process. */
static struct smtpd_server smtpd_srv = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .quiet = PTHREAD_COND_INITIALIZER,
};

struct event_base *
smtpd_base(struct smtpd_server *srv)
{
	return srv->base;
}

struct workpool *
smtpd_pool(struct smtpd_server *srv)
{
	return srv->pool;
}

bool
smtpd_draining(const struct smtpd_server *srv)
{
	return atomic_load(&srv->draining);
}

bool
smtpd_stopped(const struct smtpd_server *srv)
{
	return atomic_load(&srv->stopped);
}

static void
smtpd_count(struct smtpd_server *srv, unsigned long *what, bool up)
{
	pthread_mutex_lock(&srv->lock);
	if (up)
		(*what)++;
	else if (*what > 0 && --*what == 0)
		pthread_cond_broadcast(&srv->quiet);
	pthread_mutex_unlock(&srv->lock);
}

void
smtpd_transaction(struct smtpd_server *srv, bool begins)
{
	smtpd_count(srv, &srv->ntrans, begins);
}

/* ---- per-IP counts (loop thread) ---- */

static unsigned
smtpd_ip_hash(const char *ip)
{
	unsigned h = 2166136261u;

	for (; *ip != '\0'; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % SMTPD_IP_BUCKETS;
}

static struct smtpd_ipcount **
smtpd_ip_slot(struct smtpd_server *srv, const char *ip)
{
	struct smtpd_ipcount **p = &srv->ips[smtpd_ip_hash(ip)];

	while (*p != NULL && strcmp((*p)->ip, ip) != 0)
		p = &(*p)->next;
	return p;
}

/* Counts one more connection from ip, unless that passes the limit. */
static bool
smtpd_ip_take(struct smtpd_server *srv, const char *ip, size_t limit)
{
	struct smtpd_ipcount **p = smtpd_ip_slot(srv, ip);

	if (*p == NULL) {
		if ((*p = calloc(1, sizeof(**p))) == NULL)
			return false;
		snprintf((*p)->ip, sizeof((*p)->ip), "%s", ip);
	}
	if ((*p)->n >= limit)
		return false;
	(*p)->n++;
	return true;
}

static void
smtpd_ip_give(struct smtpd_server *srv, const char *ip)
{
	struct smtpd_ipcount **p = smtpd_ip_slot(srv, ip), *e = *p;

	if (e != NULL && --e->n == 0) {
		*p = e->next;
		free(e);
	}
}

void
smtpd_conn_unlink(struct smtpd_conn *c)
{
	struct smtpd_server *srv = c->srv;

	if (c->counted_ip)
		smtpd_ip_give(srv, c->peer);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (srv->conns == c)
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	smtpd_count(srv, &srv->nconns, false);
	metrics_connection(METRICS_SMTP, false);
}

/* ---- accepting ---- */

/* The address in text, IPv4-mapped IPv6 as IPv4 (what SPF asks for). */
static void
smtpd_addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	const void *a = NULL;
	int fam = sa->sa_family;

	out[0] = '\0';
	if (fam == AF_INET) {
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (fam == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		a = &in6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a = &in6->sin6_addr.s6_addr[12];
			fam = AF_INET;
		}
	}
	if (a == NULL || inet_ntop(fam, a, out, (socklen_t)outlen) == NULL)
		out[0] = '\0';
}

/* A refusal before any state is made: one line, then close. */
static void
smtpd_refuse(int fd, const char *line)
{
	(void)!send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void
smtpd_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
             void *arg)
{
	struct smtpd_server *srv = arg;
	struct confref *ref = confref_acquire();
	const struct smtpd_conf *sc = smtpd_conf_get(confref_config(ref));
	char peer[INET6_ADDRSTRLEN];
	bool proxy, counted = false;
	unsigned long n;

	(void)lev;
	(void)salen;
	confref_release(ref);
	smtpd_addr_text(sa, peer, sizeof(peer));
	pthread_mutex_lock(&srv->lock);
	n = srv->nconns;
	pthread_mutex_unlock(&srv->lock);
	if (smtpd_draining(srv)) {
		smtpd_refuse(fd, "421 4.3.2 Service shutting down\r\n");
		return;
	}
	if (n >= sc->max_connections) {
		log_msg(LOG_L_WARNING, "refused %s: %lu connections already", peer, n);
		smtpd_refuse(fd, "421 4.7.0 Too many connections, try again later\r\n");
		return;
	}
	proxy = smtpd_conf_is_proxy(sc, peer);
	/* Behind a proxy every client shares its address: not counted. */
	if (!proxy) {
		if (!smtpd_ip_take(srv, peer, sc->max_connections_per_ip)) {
			log_msg(LOG_L_WARNING, "refused %s: too many connections from it", peer);
			smtpd_refuse(fd, "421 4.7.0 Too many connections from your address, try "
			                 "again later\r\n");
			return;
		}
		counted = true;
	}
	smtpd_count(srv, &srv->nconns, true);
	if (smtpd_conn_new(srv, fd, peer, proxy, counted) == NULL) {
		if (counted)
			smtpd_ip_give(srv, peer);
		smtpd_count(srv, &srv->nconns, false);
		smtpd_refuse(fd, "421 4.3.0 Out of resources, try again later\r\n");
	}
}

void
smtpd_link(struct smtpd_server *srv, struct smtpd_conn *c)
{
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	metrics_connection(METRICS_SMTP, true);
}

/* ---- the loop thread ---- */

static void
smtpd_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_server *srv = arg;

	(void)fd;
	(void)what;
	workpool_reap(srv->pool);
}

static void
smtpd_notify(void *arg)
{
	struct smtpd_server *srv = arg;

	event_active(srv->wake, EV_READ, 0);
}

/* Stop accepting; idle connections get 421, the others after their
 * transaction. */
static void
smtpd_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_server *srv = arg;
	struct smtpd_conn *c, *next;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < srv->nfds; i++) {
		if (srv->lev[i] != NULL)
			evconnlistener_free(srv->lev[i]);
		srv->lev[i] = NULL;
	}
	srv->nfds = 0;
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		smtpd_conn_shutdown(c);
	}
}

static void *
smtpd_loop(void *arg)
{
	struct smtpd_server *srv = arg;

	event_base_loop(srv->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ---- the front end ---- */

/* Enough descriptors for the connections and their next hops. */
static void
smtpd_raise_nofile(size_t conns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conns * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit more = {want, want};

		/* Only root may raise the hard limit. */
		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	/* Idle connections need one descriptor each, transactions with a
	 * next hop two. */
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conns + 64)
		log_msg(LOG_L_WARNING, "descriptor limit %lu is below what %zu connections need",
		        (unsigned long)rl.rlim_cur, conns);
}

static int
smtpd_bind_addr(const struct smtpd_listen *l, const struct addrinfo *ai, struct auth_error *err)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;

	if (fd < 0)
		return auth_error_set(err, AUTH_EIO, "socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A wildcard on IPv6 takes IPv4 clients too. */
	if (ai->ai_family == AF_INET6 && l->host[0] == '\0')
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		auth_error_set(err, AUTH_EIO, "smtp_listen %s:%s: %s", l->host[0] ? l->host : "*",
		               l->port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The addresses of one smtp_listen entry (a wildcard: every address). */
static int
smtpd_resolve(const struct smtpd_listen *l, struct addrinfo **res, struct auth_error *err)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(l->host[0] ? l->host : NULL, l->port, &hints, res)) != 0)
		return auth_error_set(err, AUTH_EIO, "smtp_listen %s:%s: %s", l->host, l->port,
		                      gai_strerror(rc));
	return 0;
}

/* Every smtp_listen address resolves; nothing is bound. */
static int
smtpd_preflight(const struct policy_config *cfg, struct auth_error *err)
{
	const struct smtpd_conf *sc = smtpd_conf_get(cfg);
	struct addrinfo *res;
	size_t i;

	for (i = 0; i < sc->nlisten; i++) {
		if (smtpd_resolve(&sc->listen[i], &res, err) < 0)
			return -1;
		freeaddrinfo(res);
	}
	return 0;
}

static int
smtpd_bind_one(const struct smtpd_listen *l, struct auth_error *err)
{
	struct addrinfo *res, *ai;
	int fd = -1, pass;

	if (smtpd_resolve(l, &res, err) < 0)
		return -1;
	/* A wildcard: IPv6 (dual-stack) first, then any address. */
	for (pass = l->host[0] == '\0' ? 0 : 1; pass < 2 && fd < 0; pass++)
		for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
			if (pass == 1 || ai->ai_family == AF_INET6)
				fd = smtpd_bind_addr(l, ai, err);
	freeaddrinfo(res);
	if (fd < 0 && err->msg[0] == '\0')
		auth_error_set(err, AUTH_EIO, "smtp_listen %s:%s: no address", l->host, l->port);
	return fd;
}

static void
smtpd_describe(const struct policy_config *cfg, char *out, size_t outlen)
{
	const struct smtpd_conf *sc = smtpd_conf_get(cfg);
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sc->nlisten && n < outlen; i++) {
		int k = snprintf(out + n, outlen - n, "%s%s%s%s:%s", i ? ", " : "",
		                 strchr(sc->listen[i].host, ':') ? "[" : "",
		                 sc->listen[i].host[0] ? sc->listen[i].host : "*",
		                 strchr(sc->listen[i].host, ':') ? "]" : "", sc->listen[i].port);

		if (k < 0)
			break;
		n += (size_t)k;
	}
	if (n < outlen)
		(void)snprintf(out + n, outlen - n, " -> %s",
		               sc->next_hop != NULL ? sc->next_hop : sc->maildir);
}

static int
smtpd_open(const struct policy_config *cfg, struct auth_error *err)
{
	const struct smtpd_conf *sc = smtpd_conf_get(cfg);
	struct smtpd_server *srv = &smtpd_srv;
	size_t i;
	int fd;

	smtpd_raise_nofile(sc->max_connections);
	auth_error_clear(err);
	for (i = 0; i < sc->nlisten; i++) {
		if ((fd = smtpd_bind_one(&sc->listen[i], err)) < 0)
			return -1;
		srv->fds[srv->nfds++] = fd;
	}
	smtpd_describe(cfg, srv->where, sizeof(srv->where));
	return 0;
}

static int
smtpd_start(struct auth_error *err)
{
	struct smtpd_server *srv = &smtpd_srv;
	struct confref *ref = confref_acquire();
	unsigned workers = smtpd_conf_get(confref_config(ref))->workers;
	size_t i;

	confref_release(ref);
	/* Workers wake the loop with event_active(): libevent's locks. */
	if (evthread_use_pthreads() != 0 || (srv->base = event_base_new()) == NULL)
		return auth_error_set(err, AUTH_EIO, "cannot make the event loop");
	srv->wake = event_new(srv->base, -1, 0, smtpd_wake_cb, srv);
	srv->ctl = event_new(srv->base, -1, 0, smtpd_ctl_cb, srv);
	if (srv->wake == NULL || srv->ctl == NULL ||
	    (srv->pool = workpool_new(workers, smtpd_notify, srv, err)) == NULL)
		return auth_error_set(err, AUTH_EIO, "cannot start the workers");
	for (i = 0; i < srv->nfds; i++) {
		srv->lev[i] = evconnlistener_new(srv->base, smtpd_accept, srv,
		                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
		                                 srv->fds[i]);
		if (srv->lev[i] == NULL)
			return auth_error_set(err, AUTH_EIO, "cannot listen");
	}
	if (daemon_thread_create(&srv->thread, smtpd_loop, srv) != 0)
		return auth_error_set(err, AUTH_EIO, "cannot start the loop thread");
	srv->running = true;
	return 0;
}

static void
smtpd_reloaded(const struct policy_config *old, const struct policy_config *cfg)
{
	const struct smtpd_conf *a = smtpd_conf_get(old), *b = smtpd_conf_get(cfg);

	if (a->nlisten != b->nlisten ||
	    memcmp(a->listen, b->listen, a->nlisten * sizeof(a->listen[0])) != 0 ||
	    a->workers != b->workers)
		log_msg(LOG_L_NOTICE, "smtp_listen and smtp_workers changes take effect at the "
		                      "next start");
}

static unsigned long
smtpd_drain(void)
{
	struct smtpd_server *srv = &smtpd_srv;
	struct confref *ref = confref_acquire();
	unsigned seconds = smtpd_conf_get(confref_config(ref))->drain_timeout;
	struct timespec until;
	unsigned long left;

	confref_release(ref);
	if (!srv->running)
		return 0;
	atomic_store(&srv->draining, true);
	event_active(srv->ctl, EV_READ, 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&srv->lock);
	while (srv->nconns > 0)
		if (pthread_cond_timedwait(&srv->quiet, &srv->lock, &until) != 0)
			break;
	left = srv->ntrans;
	pthread_mutex_unlock(&srv->lock);
	return left;
}

static int
smtpd_finish(void)
{
	struct smtpd_server *srv = &smtpd_srv;
	struct smtpd_conn *c;

	if (srv->running) {
		event_base_loopbreak(srv->base);
		pthread_join(srv->thread, NULL);
	}
	atomic_store(&srv->stopped, true);
	/* Jobs still running finish their hand-off; their clients are gone. */
	workpool_free(srv->pool);
	srv->pool = NULL;
	while ((c = srv->conns) != NULL)
		smtpd_conn_free(c);
	return 0;
}

static void
smtpd_cleanup(void)
{
	struct smtpd_server *srv = &smtpd_srv;
	size_t i;

	for (i = 0; i < SMTPD_CONF_LISTEN_MAX; i++) {
		if (srv->lev[i] != NULL)
			evconnlistener_free(srv->lev[i]);
		else if (i < srv->nfds)
			close(srv->fds[i]);
		srv->lev[i] = NULL;
	}
	srv->nfds = 0;
	if (srv->wake != NULL)
		event_free(srv->wake);
	if (srv->ctl != NULL)
		event_free(srv->ctl);
	srv->wake = srv->ctl = NULL;
	if (srv->base != NULL)
		event_base_free(srv->base);
	srv->base = NULL;
	for (i = 0; i < SMTPD_IP_BUCKETS; i++)
		while (srv->ips[i] != NULL) {
			struct smtpd_ipcount *e = srv->ips[i];

			srv->ips[i] = e->next;
			free(e);
		}
}

static void
smtpd_where(const struct policy_config *cfg, char *out, size_t outlen)
{
	(void)cfg;
	(void)snprintf(out, outlen, "%s", smtpd_srv.where);
}

const struct server_frontend smtpd_frontend = {
    .name = "smtp",
    .check = smtpd_conf_check,
    .open = smtpd_open,
    .start = smtpd_start,
    .reloaded = smtpd_reloaded,
    .preflight = smtpd_preflight,
    .drain = smtpd_drain,
    .finish = smtpd_finish,
    .cleanup = smtpd_cleanup,
    .describe = smtpd_where,
};
