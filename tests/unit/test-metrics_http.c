/*
 * test-metrics_http - the request parser on good, bad and partial heads,
 * the answers, and the endpoint served on loopback: a scrape, a silent
 * client that does not hold up the next one, an oversized request.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "metrics_http.h"
#include "tap.h"

static int
parse(const char *req, struct metrics_http_request *out)
{
	return metrics_http_parse(req, strlen(req), out);
}

static void
check(const char *req, int status, const char *name)
{
	struct metrics_http_request r;
	int rc = parse(req, &r);

	ok(rc == 1 && r.status == status, "%s: %d (got %d, %d)", name, status, rc, r.status);
}

static void
test_parse(void)
{
	struct metrics_http_request r;
	static char big[METRICS_HTTP_REQUEST_MAX + 1];

	check("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, "GET");
	ok(parse("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 1 && r.status == 200 && r.head,
	   "HEAD: 200, no body");
	check("GET /metrics HTTP/1.0\r\n\r\n", 200, "HTTP/1.0 without Host");
	check("GET /metrics?name[]=x HTTP/1.1\nHost: x\nAccept: */*\n\n", 200,
	      "a query, bare LF line ends");
	check("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n", 405, "POST");
	check("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, "DELETE");
	check("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404, "another path");
	check("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 404, "a longer path");
	check("GET /metrics HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host");
	check("GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0");
	check("GET  /metrics HTTP/1.1\r\n", 400, "two spaces: refused at once");
	check("GET /metrics HTTP/1.1 \r\n", 400, "a space after the version");
	check("GET /metrics\r\n", 400, "HTTP/0.9");
	check("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400, "a space before the colon");
	check("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "obs-fold");
	check("GET /metrics HTTP/1.1\r\nHost: x\001\r\n\r\n", 400, "a control byte in a value");
	ok(metrics_http_parse("GET /metrics HTTP/1.1\r\nHo\0st: x\r\n\r\n", 35, &r) == 1 &&
	       r.status == 400,
	   "NUL in a name: 400");
	is_int(parse("GET /metr", &r), 0, "a partial request line waits");
	is_int(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &r), 0, "no blank line yet waits");
	memset(big, 'a', sizeof(big) - 1);
	is_int(metrics_http_parse(big, METRICS_HTTP_REQUEST_MAX - 1, &r), 0,
	       "just under the bound waits");
	ok(metrics_http_parse(big, METRICS_HTTP_REQUEST_MAX, &r) == 1 && r.status == 431,
	   "at the bound: 431");
}

static void
test_respond(void)
{
	struct metrics_http_request get = {200, false}, head = {200, true}, post = {405, false};
	struct buf a, b;
	const char *body;

	buf_init(&a, 1u << 20);
	buf_init(&b, 1u << 20);
	ok(metrics_http_respond(&get, &a) == 0 && metrics_http_respond(&head, &b) == 0,
	   "answers made");
	ok(strncmp(a.data, "HTTP/1.1 200 OK\r\n", 17) == 0, "200 OK");
	ok(strstr(a.data, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL,
	   "the exposition's content type");
	ok(strstr(a.data, "\r\nConnection: close\r\n") != NULL, "Connection: close");
	body = strstr(a.data, "\r\n\r\n");
	ok(body != NULL && strncmp(body + 4, "# HELP ", 7) == 0, "the body is the exposition");
	ok(body != NULL && b.len == (size_t)(body + 4 - a.data), "HEAD: the same head, no body");
	buf_reset(&a);
	ok(metrics_http_respond(&post, &a) == 0 &&
	       strncmp(a.data, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0 &&
	       strstr(a.data, "\r\nAllow: GET, HEAD\r\n") != NULL,
	   "405 with Allow");
	buf_free(&a);
	buf_free(&b);
}

static int
free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
dial(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req and reads the answer to the server's close, within 3 s. */
static char *
exchange(int port, const char *req, size_t len)
{
	struct buf b;
	char chunk[4096];
	int fd = dial(port);
	struct pollfd p;
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf_init(&b, 1u << 20);
	if (send(fd, req, len, MSG_NOSIGNAL) < 0) {
		/* the server may answer and close before all was sent */
	}
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, 3000) == 1 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n) < 0)
			break;
	close(fd);
	return buf_steal(&b);
}

static void
test_serve(void)
{
	const char *get = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	int port = free_port(), silent;
	struct policy_config *cfg;
	struct auth_error err;
	char spec[32], where[64], *big, *got;

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	cfg = config_new(&err);
	if (cfg == NULL || config_set(cfg, "metrics_listen", spec, &err) < 0 ||
	    metrics_http_preflight(cfg, &err) < 0 || metrics_http_open(cfg, &err) < 0 ||
	    metrics_http_start(&err) < 0) {
		ok(0, "endpoint started: %s", err.msg);
		config_free(cfg);
		return;
	}
	metrics_http_describe(where, sizeof(where));
	is_str(where, spec, "described as configured");
	silent = dial(port);
	got = exchange(port, get, strlen(get));
	ok(got != NULL && strncmp(got, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
	       strstr(got, "\r\n\r\n# HELP authmilter_messages_total ") != NULL,
	   "scraped while a silent client is connected");
	free(got);
	got = exchange(port, "PUT /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 34);
	ok(got != NULL && strncmp(got, "HTTP/1.1 405 ", 13) == 0, "PUT: 405");
	free(got);
	big = calloc(1, 2 * METRICS_HTTP_REQUEST_MAX);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'x', 2 * METRICS_HTTP_REQUEST_MAX - 26);
	got = exchange(port, big, 2 * METRICS_HTTP_REQUEST_MAX);
	ok(got != NULL && strncmp(got, "HTTP/1.1 431 ", 13) == 0, "an oversized head: 431");
	free(got);
	free(big);
	close(silent);
	metrics_http_stop();
	ok(dial(port) < 0, "stopped: nothing listens");
	config_free(cfg);
}

static void
test_config(void)
{
	const char *bad[] = {"9489",  ":9489",    "127.0.0.1",      "127.0.0.1:0",
	                     "[::1]", "::1:9489", "127.0.0.1:65536"};
	struct auth_error err;
	struct policy_config *cfg = config_new(&err), *dflt = config_new(&err);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(config_set(cfg, "metrics_listen", bad[i], &err) < 0, "metrics_listen %s refused",
		   bad[i]);
	ok(config_set(cfg, "metrics_listen", "127.0.0.1:9489 [::1]:9489 localhost:1", &err) == 0 &&
	       cfg->metrics_listen.n == 3,
	   "three addresses taken");
	is_int(dflt->metrics_listen.n, 0, "off by default");
	config_free(cfg);
	config_free(dflt);
}

int
main(void)
{
	test_parse();
	test_respond();
	test_config();
	test_serve();
	return done_testing();
}
