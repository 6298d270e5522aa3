/*
 * smtpd - the standalone SMTP listener, `authmilter --smtp`: a front end
 * of the server core (server.h) beside the milter.
 *
 * It takes mail over SMTP (RFC 5321: EHLO/HELO, MAIL with SIZE and
 * BODY=8BITMIME, RCPT, DATA, RSET, NOOP, QUIT, VRFY, HELP, STARTTLS;
 * PIPELINING, ENHANCEDSTATUSCODES), evaluates each message with the same
 * policy session as the milter, answers 550/451/250 inside the client's
 * transaction, and hands accepted mail to the next hop (relayed in the
 * transaction: 250 only once the next hop took it) or into a Maildir
 * (250 only once the file is in new/).  Its settings: smtpd_conf.h.
 *
 * One event loop thread (libevent) serves every connection; each idle
 * connection costs a bounded few kilobytes.  What can wait on DNS or the
 * next hop runs on a bounded pool of worker threads (workpool.h), one job
 * per connection at a time.  Descriptors: the soft limit is raised as
 * far as the connection limit needs and the system allows.
 *
 * Stop: the listeners close, idle connections get 421, transactions under
 * way finish (bounded by smtp_drain_timeout), then the loop ends.  A
 * client either got 250 and its message was handed on, or it did not.
 *
 * Shared state: one listener per process (smtpd.c); its mutex guards the
 * connection and transaction counts the drain waits on; everything else
 * belongs to the loop thread.
 */
#ifndef AUTH_SMTPD_H
#define AUTH_SMTPD_H

#include "server.h"

extern const struct server_frontend smtpd_frontend;

#endif
