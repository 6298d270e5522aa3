/*
 * milterconn - the milter daemon's connections: the listening socket and
 * the threads that serve each MTA connection with milterproto.
 *
 * A connection is served by one thread from start to end, on a blocking
 * socket with SO_RCVTIMEO and SO_SNDTIMEO as its timeouts: each read()
 * takes whatever the MTA has sent (up to two packets' worth, often many
 * packets), every complete packet is handled, and the replies they made
 * go out in one send().  Threads are kept: those without a connection
 * wait in accept() on the listening socket, the one that gets a connection
 * starts another if no other is waiting, and a thread goes away only when
 * more than MILTERCONN_IDLE_MAX are idle.  So a new connection costs no
 * thread start once the daemon has seen as many at once, and the number
 * of threads follows the MTA's concurrency (at most MILTERCONN_THREADS_MAX;
 * past it, connections wait in the listen queue).
 *
 * Shared state: the thread counts, the stop flag and the list of
 * connections being served, guarded by the mutex in struct milterconn.
 * Everything else belongs to one thread.
 */
#ifndef AUTH_MILTERCONN_H
#define AUTH_MILTERCONN_H

#include "error.h"
#include "milterproto.h"

#define MILTERCONN_THREADS_MAX 4096
#define MILTERCONN_IDLE_MAX 32
/* libmilter's default: longer than any MTA's own timeouts, so the MTA
 * ends a stuck session first. */
#define MILTERCONN_READ_TIMEOUT 7210
#define MILTERCONN_WRITE_TIMEOUT 300

struct milterconn;

/* As root: binds and listens on spec (unix:PATH or local:PATH,
 * inet:PORT[@HOST], inet6:PORT[@HOST]); a socket file left at PATH is
 * removed first.  NULL with err set ("cannot open the socket SPEC: why"). */
struct milterconn *milterconn_open(const char *spec, struct auth_error *err);
/* Starts the threads; each connection gets ops. */
int milterconn_start(struct milterconn *mc, const struct milterproto_ops *ops,
                     struct auth_error *err);
/* Stops accepting, ends every connection once the replies under way are
 * written (their abort and close callbacks run in their threads) and
 * waits until every thread is gone. */
void milterconn_stop(struct milterconn *mc);
/* Closes the listening socket and frees mc (after milterconn_stop() if
 * it was started). */
void milterconn_free(struct milterconn *mc);

#endif
