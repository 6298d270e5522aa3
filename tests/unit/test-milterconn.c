/*
 * test-milterconn - the milter connections on real sockets: a unix socket
 * in a temporary directory and a loopback TCP port, clients written here
 * sending whole packet streams, replies read back, and a stop that must
 * end idle connections at once.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "milterconn.h"
#include "tap.h"

static atomic_int closes, eoms;

static void
t_negotiate(struct milterproto *mp, uint32_t *actions, uint32_t *proto)
{
	(void)mp;
	*actions &= SMFIF_ADDHDRS;
	*proto &= SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_EOH | SMFIP_NR_BODY;
}

static enum milterproto_final
t_eom(struct milterproto *mp)
{
	atomic_fetch_add(&eoms, 1);
	milterproto_insert_header(mp, 0, "X-Seen", milterproto_macro(mp, "i"));
	return MILTERPROTO_CONTINUE;
}

static void
t_close(struct milterproto *mp)
{
	(void)mp;
	atomic_fetch_add(&closes, 1);
}

static const struct milterproto_ops ops = {
    .negotiate = t_negotiate, .eom = t_eom, .close = t_close};

static size_t
put(unsigned char *b, size_t at, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(b + at, &n, 4);
	b[at + 4] = (unsigned char)cmd;
	if (len > 0)
		memcpy(b + at + 5, data, len);
	return at + 5 + len;
}

/* A whole session but QUIT in one write. */
static size_t
session(unsigned char *b, const char *qid)
{
	uint32_t neg[3] = {htonl(6), htonl(0x1FF), htonl(0x1FFFFF)};
	char m[32];
	size_t n = 0, mlen = (size_t)snprintf(m, sizeof(m), "Mi%c%s", '\0', qid) + 1;

	n = put(b, n, SMFIC_OPTNEG, neg, sizeof(neg));
	n = put(b, n, SMFIC_CONNECT,
	        "h\0"
	        "4\0\0"
	        "192.0.2.1",
	        15);
	n = put(b, n, SMFIC_MACRO, m, mlen);
	n = put(b, n, SMFIC_MAIL, "<a@b.test>", 11);
	n = put(b, n, SMFIC_RCPT, "<c@d.test>", 11);
	n = put(b, n, SMFIC_EOH, NULL, 0);
	n = put(b, n, SMFIC_BODY, "Hello.\r\n", 8);
	return put(b, n, SMFIC_BODYEOB, NULL, 0);
}

static int
dial_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until n bytes came or the peer closed; returns what came. */
static size_t
read_n(int fd, unsigned char *b, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n && (r = recv(fd, b + got, n - got, 0)) > 0)
		got += (size_t)r;
	return got;
}

/* The replies a session gets: OPTNEG (17 bytes), continue for HELO-less
 * steps with no-reply agreed: none; then the inserted field and continue. */
static int
one_session(int fd, const char *qid)
{
	unsigned char out[512], in[512];
	size_t n = session(out, qid), want = 17 + 5 + 4 + 7 + strlen(qid) + 1 + 5;
	char field[64];

	if (send(fd, out, n, 0) != (ssize_t)n || read_n(fd, in, want) != want)
		return 0;
	snprintf(field, sizeof(field), "X-Seen%c%s", '\0', qid);
	return in[4] == 'O' && in[17 + 4] == 'i' &&
	       memcmp(in + 17 + 9, field, 7 + strlen(qid)) == 0 && in[want - 1] == 'c';
}

struct client {
	const char *path;
	int ok;
	char qid[16];
};

static void *
client(void *arg)
{
	struct client *c = arg;
	int fd = dial_unix(c->path);

	c->ok = fd >= 0 && one_session(fd, c->qid);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
test_unix(const char *dir)
{
	char path[256], spec[300];
	struct auth_error err;
	struct milterconn *mc;
	struct client cl[8];
	pthread_t tid[8];
	int fd, idle, all = 1, i;
	double t0;

	snprintf(path, sizeof(path), "%s/m.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	mc = milterconn_open(spec, &err);
	if (!ok(mc != NULL, "open %s", spec))
		return;
	milterconn_free(mc);
	mc = milterconn_open(spec, &err);
	ok(mc != NULL, "open again over the socket file left behind");
	ok(milterconn_start(mc, &ops, &err) == 0, "start");
	fd = dial_unix(path);
	ok(fd >= 0 && one_session(fd, "Q1"), "a session in one write gets its replies");
	close(fd);
	for (i = 0; i < 8; i++) {
		cl[i].path = path;
		snprintf(cl[i].qid, sizeof(cl[i].qid), "QC%d", i);
		pthread_create(&tid[i], NULL, client, &cl[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		all &= cl[i].ok;
	}
	ok(all, "eight connections at once, each answered with its own queue id");
	/* Served, not just queued: it has its negotiation answered. */
	idle = dial_unix(path);
	if (idle >= 0) {
		uint32_t neg[3] = {htonl(6), htonl(0x1FF), htonl(0x1FFFFF)};
		unsigned char b[32];
		size_t n = put(b, 0, SMFIC_OPTNEG, neg, sizeof(neg));

		ok(send(idle, b, n, 0) == (ssize_t)n && read_n(idle, b, 17) == 17,
		   "an idle connection, negotiated");
	}
	t0 = now();
	milterconn_stop(mc);
	ok(now() - t0 < 0.5, "stop with an idle connection open: at once (%.3f s)", now() - t0);
	ok(atomic_load(&eoms) == 9, "nine messages seen (%d)", atomic_load(&eoms));
	ok(idle >= 0 && read_n(idle, (unsigned char[8]){0}, 8) == 0,
	   "the idle connection was closed");
	close(idle);
	ok(atomic_load(&closes) >= 10, "every connection closed in its thread (%d)",
	   atomic_load(&closes));
	milterconn_free(mc);
	unlink(path);
}

static void
test_inet(void)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct auth_error err;
	struct milterconn *mc;
	char spec[64];
	int busy = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(busy, (struct sockaddr *)&sin, sizeof(sin));
	listen(busy, 1);
	getsockname(busy, (struct sockaddr *)&sin, &slen);
	snprintf(spec, sizeof(spec), "inet:%u@127.0.0.1", ntohs(sin.sin_port));
	mc = milterconn_open(spec, &err);
	ok(mc == NULL && strstr(err.msg, ": Address already in use") != NULL, "a port in use: %s",
	   mc == NULL ? err.msg : "opened");
	milterconn_free(mc);
	snprintf(spec, sizeof(spec), "inet:%u@[127.0.0.1]", ntohs(sin.sin_port));
	close(busy);
	mc = milterconn_open(spec, &err);
	ok(mc != NULL, "inet:PORT@[ADDRESS] once free: %s", mc == NULL ? err.msg : "opened");
	milterconn_free(mc);
	mc = milterconn_open("inet:1@no-such-host.invalid", &err);
	ok(mc == NULL &&
	       strncmp(err.msg, "cannot open the socket inet:1@no-such-host.invalid: ", 52) == 0,
	   "a host that does not resolve: %s", mc == NULL ? err.msg : "opened");
	milterconn_free(mc);
}

int
main(void)
{
	char dir[] = "/tmp/test-milterconn.XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 1;
	test_unix(dir);
	test_inet();
	rmdir(dir);
	return done_testing();
}
