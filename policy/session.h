/*
 * session - one message's evaluation, the same for every front end.
 *
 * The milter, the SMTP listener and authcheck each turn their input into
 * calls on one struct session, in this order:
 *
 *   session_connect -> session_helo -> session_mail_from -> session_rcpt...
 *     -> session_header... -> session_eoh -> session_body... -> session_eom
 *
 * Work is done as early as its input allows: SPF at MAIL FROM, DKIM key and
 * DMARC record look-ups at end of headers, body hashing as chunks arrive,
 * signature verification and the verdict at end of message.
 *
 * A connection may carry several messages: session_reset() ends a
 * transaction (after end of message or an abort) and keeps what belongs to
 * the connection (client address, HELO, authentication).  Every per-message
 * allocation is released by session_reset() or session_free(), so aborts
 * cannot leak.
 *
 * The verdict (struct session_verdict) says what to do — accept, reject,
 * tempfail or quarantine, with the SMTP reply — which header fields to add
 * and which existing Authentication-Results fields to delete (RFC 8601 §5:
 * those claiming our authserv-id), the results for the log line, and the
 * DMARC report record.
 *
 * Ownership: the session belongs to one thread at a time (the front end's
 * connection thread); the config and the resolver are shared, read-only
 * and thread-safe.  The verdict stays valid until session_reset() or
 * session_free().
 */
#ifndef AUTH_SESSION_H
#define AUTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"
#include "error.h"

struct policy_config;

enum session_action {
	SESSION_ACCEPT,
	SESSION_REJECT,     /* permanent: 5xx */
	SESSION_TEMPFAIL,   /* temporary: 4xx */
	SESSION_QUARANTINE, /* accept into the MTA's hold queue */
};

/* "accept", "reject", "tempfail" or "quarantine", for logs and JSON. */
const char *session_action_name(enum session_action action);

/* Why the action is what it is, for the log and for tests. */
enum session_reason {
	SESSION_R_NONE,
	SESSION_R_DMARC_POLICY, /* the From domain's policy asked for it */
	SESSION_R_SPF_FAIL,     /* SPF fail, when configured to reject */
	SESSION_R_DNS_TEMPFAIL, /* a DNS temporary failure, when configured to tempfail */
	SESSION_R_TRUSTED,      /* trusted network or authenticated client: not checked */
	SESSION_R_OVERRIDE,     /* a per-domain override lowered the disposition */
	SESSION_R_REPORT_ONLY,  /* report-only mode lowered the disposition */
	SESSION_R_INTERNAL,     /* internal error: fail-open or fail-closed as configured */
	SESSION_R_MALFORMED,    /* the message cannot be evaluated (no/several From) */
};

#define SESSION_MAX_ADD_HEADERS 4
#define SESSION_MAX_DEL_HEADERS 32

struct session_header_add {
	const char *name;  /* "Authentication-Results", "Received-SPF" */
	const char *value; /* folded with CRLF + tab where long, leading space included */
};

struct session_verdict {
	enum session_action action;
	enum session_reason reason;
	/* For REJECT and TEMPFAIL: e.g. 550, "5.7.1", "Rejected by DMARC policy for example.org".
	 * For QUARANTINE: text is the quarantine reason. */
	int smtp_code;
	const char *dsn;
	const char *text;

	size_t nadd;
	struct session_header_add add[SESSION_MAX_ADD_HEADERS];
	/* Existing Authentication-Results fields to delete: each is the 1-based
	 * index among the message's fields of that name, as smfi_chgheader()
	 * wants it, in descending order so that deleting one does not shift
	 * the next. */
	size_t ndel;
	unsigned del_index[SESSION_MAX_DEL_HEADERS];

	/* Results for the summary log line, in the RFCs' words. */
	const char *spf_result;   /* "pass", "none", ... or "skipped" */
	const char *dkim_summary; /* e.g. "pass(example.org) fail(other.example)" or "none" */
	const char *dmarc_result;
	const char *dmarc_disposition;
	const char *from_domain; /* NULL when there is none */
	/* The complete outcome as JSON (the authcheck --json contract). */
	const char *json;
	/* The DMARC aggregate-report record for this message as one JSON
	 * object (source IP, header_from, envelope_from, disposition, the
	 * DKIM and SPF results and the published policy), or NULL when the
	 * message produced none (no Author Domain, no policy, exempt client). */
	const char *report_json;
};

/*
 * What every session of one configuration shares: the resolver (with its
 * cache) and the engines' contexts that are costly to make (the DMARC
 * context loads the Public Suffix List).  Made once per configuration
 * (again on reload, since the DMARC mode is configured), thread-safe,
 * and freed only when no session uses it.  The resolver stays the
 * caller's: several configurations in turn may share one.
 */
struct session_engines;

struct session_engines *session_engines_new(const struct policy_config *cfg,
                                            struct dns_resolver *resolver, struct auth_error *err);
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
 * sender.  Runs SPF unless the client is exempt. */
int session_mail_from(struct session *s, const char *addr, struct auth_error *err);
int session_rcpt(struct session *s, const char *addr, struct auth_error *err);
/* One header field: name and value as the MTA passed them (value with its
 * leading space and folding).  A limit exceeded is an error: the front end
 * answers with session_error_verdict(). */
int session_header(struct session *s, const char *name, size_t name_len, const char *value,
                   size_t value_len, struct auth_error *err);
int session_eoh(struct session *s, struct auth_error *err);
/* Body bytes as on the wire (CRLF line ends). */
int session_body(struct session *s, const char *chunk, size_t len, struct auth_error *err);
int session_eom(struct session *s, const struct session_verdict **out, struct auth_error *err);

/* The verdict for an internal error, per the config's fail-open/fail-closed. */
const struct session_verdict *session_error_verdict(struct session *s);

/* Ends the transaction; the connection's state is kept. */
void session_reset(struct session *s);

#endif
