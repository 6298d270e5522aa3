/*
 * report - one message's row for DMARC aggregate reports (RFC 9990 §3,
 * RFC 7489 appendix C), as a typed record.
 *
 * The record is a view: its pointers reach into the session that made it
 * (the DMARC outcome with the published record, the SPF outcome, the DKIM
 * results) and stay valid until that session's next message.  Whoever
 * keeps it (the report store) copies what it needs before then.
 *
 * Thread safety: none needed; a record belongs to one session.
 */
#ifndef AUTH_REPORT_H
#define AUTH_REPORT_H

#include <stddef.h>
#include <time.h>

#include "dkim.h"
#include "dmarc.h"
#include "spf.h"

struct report_record {
	time_t time;               /* when the message was evaluated */
	const char *source_ip;     /* the client address; "" when unknown */
	const char *header_from;   /* the Author Domain the outcome is for */
	const char *envelope_from; /* the RFC5321.MailFrom domain; "" for the null sender */
	const char *envelope_to;   /* the first recipient's domain; "" when unknown */
	/* The outcome: policy_domain, the record as published (p, sp, np,
	 * adkim, aspf, fo, pct, t, rua), the discovery method (mode), the
	 * result, the alignments, the disposition and why it differs from
	 * the policy (override). */
	const struct dmarc_outcome *dmarc;
	/* The SPF outcome (domain, scope, result), or NULL when SPF was not
	 * evaluated. */
	const struct spf_outcome *spf;
	/* Every DKIM signature's result, top to bottom (domain d, selector
	 * s, result), in the verifier's own array. */
	size_t ndkim;
	const struct dkim_sig_result *dkim;
};

#endif
