/*
 * session - one message's evaluation, the same for every front end.
 *
 * The milter, the SMTP listener and authcheck each turn their input into
 * calls on one struct session, in this order:
 *
 *   session_connect -> session_helo -> session_mail_from -> session_rcpt...
 *     -> the message: session_header... session_eoh session_body...
 *        (fields given one by one, as the milter protocol does)
 *        or session_data... (raw bytes as on the wire, header block and body)
 *     -> session_eom
 *
 * Work is done as early as its input allows: SPF at MAIL FROM, DKIM key and
 * DMARC record look-ups at end of headers, body hashing as chunks arrive,
 * signature verification and the verdict at end of message.
 *
 * What the sender controls never makes an error: a header block past
 * max_headers or max_header_bytes, a field that does not parse, a name with
 * WSP before its colon, a look-up that fails are outcomes.  Past the
 * limits the session still keeps every From field (within a reserve of its
 * own), notes every Authentication-Results field claiming our authserv-id,
 * and keeps the first dkim_max_signatures DKIM-Signature fields; no
 * signature can then pass (the fields it covers may be missing) and DMARC
 * is evaluated on the rest.  The calls fail only on our own faults (out of
 * memory, calls out of order); the front end then answers with
 * session_error_verdict().
 *
 * A connection may carry several messages: session_reset() ends a
 * transaction (after end of message or an abort) and keeps what belongs to
 * the connection (client address, HELO, authentication).  Every per-message
 * allocation is released by session_reset() or session_free(), so aborts
 * cannot leak.
 *
 * Ownership: the session belongs to one thread at a time (the front end's
 * connection thread); the config and the resolver are shared, read-only
 * and thread-safe.  A verdict stays valid until session_reset() or
 * session_free().
 */
#ifndef AUTH_SESSION_H
#define AUTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dns.h"
#include "error.h"
#include "spf.h"
#include "verdict.h"

struct policy_config;

/*
 * What every session of one configuration shares: the resolver (with its
 * cache) and the engines' contexts that are costly to make (the DMARC
 * context loads the Public Suffix List).  Made once per configuration
 * (again on reload, since the DMARC mode is configured), thread-safe,
 * and freed only when no session uses it.  The resolver stays the
 * caller's: several configurations in turn may share one.
 */
struct session_engines;

struct keyring;

/* keyring holds the keys cfg names (NULL when it names none). */
struct session_engines *session_engines_new(const struct policy_config *cfg,
                                            struct dns_resolver *resolver,
                                            const struct keyring *keyring, struct auth_error *err);
void session_engines_free(struct session_engines *e);

struct session;

/* cfg and e must outlive the session. */
struct session *session_new(const struct policy_config *cfg, struct session_engines *e,
                            struct auth_error *err);
void session_free(struct session *s);

/* ip is the client address in text form (IPv4 or IPv6), or NULL when the
 * MTA does not know it (local submission); hostname is its verified
 * reverse name or NULL. */
int session_connect(struct session *s, const char *ip, const char *hostname,
                    struct auth_error *err);
int session_helo(struct session *s, const char *helo, struct auth_error *err);
/* The client authenticated (SMTP AUTH); authid is the login name. */
void session_set_authenticated(struct session *s, const char *authid);
/* addr is the reverse-path with or without <>; "" or "<>" is the null
 * sender.  Starts SPF unless the client is exempt (it is evaluated at end
 * of headers, or when session_spf() asks). */
int session_mail_from(struct session *s, const char *addr, struct auth_error *err);
int session_rcpt(struct session *s, const char *addr, struct auth_error *err);

/* One header field: name and value as the MTA passed them (a name may end
 * in the WSP that stood before the colon; the value with its leading
 * space and folding).  As with session_data(), keep calling it after a -1. */
int session_header(struct session *s, const char *name, size_t name_len, const char *value,
                   size_t value_len, struct auth_error *err);
int session_eoh(struct session *s, struct auth_error *err);
/* Body bytes as on the wire (CRLF line ends). */
int session_body(struct session *s, const char *chunk, size_t len, struct auth_error *err);

/* Or the whole message as raw bytes, in chunks split anywhere: the header
 * block (line ends CRLF as on the wire, after dot-unstuffing), the blank
 * line, the body.  End of headers is found here.  After a -1 (our own
 * fault), keep feeding the message: forged Authentication-Results fields
 * are still noted for session_error_verdict(). */
int session_data(struct session *s, const char *chunk, size_t len, struct auth_error *err);

/* Decides and renders the verdict.  Fails only on our own faults (then
 * answer with session_error_verdict()). */
int session_eom(struct session *s, const struct verdict **out, struct auth_error *err);

/* The SPF outcome of this transaction, evaluated now if it was not yet;
 * NULL when SPF is not evaluated (exempt client, unknown address, no MAIL
 * FROM yet) or, with err set, on our own fault. */
const struct spf_outcome *session_spf(struct session *s, struct auth_error *err);

/* The authcheck JSON of what was evaluated so far: after session_eom()
 * the whole verdict; after MAIL FROM alone, the SPF member.  Returns 0, or
 * -1 when out's maximum was reached. */
int session_json(struct session *s, struct buf *out);

/* The verdict for our own fault, per on_internal_error (forged
 * Authentication-Results fields seen so far are still deleted). */
const struct verdict *session_error_verdict(struct session *s);

/* Ends the transaction; the connection's state is kept. */
void session_reset(struct session *s);
/* Ends the connection too: s is as session_new() made it, with the same
 * config and engines, for the next connection (its memory is kept). */
void session_restart(struct session *s);

#endif
