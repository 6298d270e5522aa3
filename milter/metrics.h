/*
 * metrics - what the daemons count, and its Prometheus text exposition
 * (format version 0.0.4) for metrics_http.h to serve.
 *
 * The front ends count as they go: metrics_message() beside each summary
 * log line (the verdict's SPF, DKIM and DMARC results, its action and
 * DMARC disposition, and how long the end of the message took),
 * metrics_connection() when a connection opens and closes.
 * metrics_render() sums what every thread counted and adds what the DNS
 * resolver (resolver.h) and the report writer (recorder.h) count on their
 * own.  Results are in the RFCs' words, with "skipped" for a client that
 * is not checked (trusted, authenticated, signed for) and "error" for a
 * message our own fault left unevaluated; DKIM counts each signature, and
 * "none" once for a message without one.
 *
 * Cheap on the message path: no lock.  Each thread counts into one of
 * METRICS_SLOTS slots, chosen once per thread in turn, with relaxed
 * atomic additions; each slot has cache lines of its own, so threads on
 * different slots never write to one line.  Threads sharing a slot (more
 * threads than slots) stay exact.  A scrape sums the slots while the
 * counting goes on: every number is exact, though two numbers may be a
 * message apart.
 *
 * Shared state: the slots (atomics), and the resolver a scrape reads,
 * set by metrics_set_resolver() before the listener starts and cleared
 * after it stopped.
 */
#ifndef AUTH_METRICS_H
#define AUTH_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "dns.h"
#include "verdict.h"

#define METRICS_SLOTS 32
/* The exposition is far smaller; a bound all the same. */
#define METRICS_EXPOSITION_MAX (256u * 1024)

enum metrics_frontend { METRICS_MILTER, METRICS_SMTP, METRICS_FRONTENDS };

/* Now, in microseconds of a monotonic clock: when an end of message began. */
uint64_t metrics_clock(void);
/* One message answered with v; its end began at started (metrics_clock()). */
void metrics_message(enum metrics_frontend fe, const struct verdict *v, uint64_t started);
void metrics_connection(enum metrics_frontend fe, bool opens);

/* The resolver whose counts a scrape adds (made by resolver_new()), or NULL. */
void metrics_set_resolver(struct dns_resolver *r);

/* Appends the whole exposition; -1 when out is full. */
int metrics_render(struct buf *out);

/* "0.0025" for 2500: a bound or a sum in the exposition's seconds. */
void metrics_format_seconds(unsigned long long us, char *out, size_t outlen);

#endif
