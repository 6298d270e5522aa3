/*
 * metrics_http - the metrics endpoint: GET (or HEAD) /metrics answers with
 * the exposition (metrics.h) on each metrics_listen address.
 *
 * One thread of its own, with a poll() loop, serves both daemons alike:
 * the milter has no event loop of its own to join, and a scrape never
 * waits behind mail (nor mail behind a scrape).  Requests are HTTP/1.0 or
 * 1.1 (RFC 9112); every answer closes the connection.  Other paths are 404,
 * other methods on /metrics 405 (with Allow), a request that does not parse
 * 400, another HTTP version 505.
 *
 * Bounds: at most METRICS_HTTP_CONNS connections at once (more wait in the
 * kernel's backlog), a request head of at most METRICS_HTTP_REQUEST_MAX
 * bytes (431 past it) in a fixed buffer, and METRICS_HTTP_TIMEOUT_MS for a
 * connection from accept to close, so a slow or silent client holds one
 * slot for that long at most and no client makes memory grow.
 *
 * Lifecycle (server.c): metrics_http_preflight() for -t and the start;
 * metrics_http_open() as root binds the addresses; metrics_http_start()
 * once unprivileged starts the thread; metrics_http_stop() ends it and
 * closes the sockets (also after a failed start).
 *
 * Shared state: the listening sockets and the thread, owned by the main
 * thread's calls above; the thread touches only its connections.
 */
#ifndef AUTH_METRICS_HTTP_H
#define AUTH_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "error.h"

#define METRICS_HTTP_REQUEST_MAX 4096
#define METRICS_HTTP_CONNS 8
#define METRICS_HTTP_TIMEOUT_MS 5000
#define METRICS_HTTP_LISTEN_MAX 16

struct metrics_http_request {
	int status; /* 200, or the error status to answer with */
	bool head;  /* HEAD: the same headers, no body */
};

/*
 * Reads a request head from the first len bytes received.  Returns 0 while
 * it is incomplete (and could still be good), or 1 when the answer is
 * known: out->status says which.  Lines end in CRLF or LF.
 */
int metrics_http_parse(const char *p, size_t len, struct metrics_http_request *out);

/* The whole answer to req (head and, unless HEAD, body) into out. */
int metrics_http_respond(const struct metrics_http_request *req, struct buf *out);

int metrics_http_preflight(const struct policy_config *cfg, struct auth_error *err);
int metrics_http_open(const struct policy_config *cfg, struct auth_error *err);
int metrics_http_start(struct auth_error *err);
void metrics_http_stop(void);
/* "127.0.0.1:9489" of every address bound, for the start-up log line; ""
 * when none. */
void metrics_http_describe(char *out, size_t outlen);

#endif
