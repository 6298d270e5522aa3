/*
 * mfilter - the milter callbacks (milterproto.h): one struct session per
 * MTA connection.
 *
 * Each connection (milterproto_set_priv) holds a reference to the config current
 * when it began (confref.h) and one session made with that config's
 * engines; its messages run the session calls in order and end with
 * session_reset(), so a connection carries any number of messages and an
 * abort leaves nothing behind.
 *
 * Round trips: negotiation asks the MTA not to wait for a reply after
 * connect, HELO, MAIL, RCPT, each header, end of headers and each body
 * chunk (where the MTA offers it), since every decision is taken at end of
 * message; an error earlier in a message is remembered and answered there
 * with session_error_verdict().  It asks for header values with their
 * leading space (SMFIP_HDR_LEADSPC), which DKIM simple canonicalization
 * needs byte for byte; without it a single space is put back.
 *
 * Actions at end of message: the verdict's Authentication-Results (and
 * other) fields are inserted at the top, forged ones deleted by index, and
 * the message accepted, rejected (5xx), tempfailed (4xx) or quarantined
 * (SMFIR_QUARANTINE: Postfix's hold queue), unless the config keeps
 * quarantine to a header only.
 *
 * The daemon side (mfilter_frontend, a front end of server.h): the milter
 * socket is opened as root (a unix socket gets the daemon's user and the
 * MTA's group, mode 0660), the connections are served by milterconn.h's
 * threads, and a stop waits for the messages in flight before the
 * connections are dropped.
 *
 * Shared state: the count of messages in flight (mfilter_wait_quiet()),
 * guarded by its own mutex in mfilter.c; the socket name, written once by
 * the front end's open before any thread starts.
 */
#ifndef AUTH_MFILTER_H
#define AUTH_MFILTER_H

#include "server.h"

extern const struct server_frontend mfilter_frontend;

/* Waits until no message is between MAIL and its end, at most seconds;
 * returns the number still in flight. */
unsigned long mfilter_wait_quiet(unsigned seconds);

#endif
