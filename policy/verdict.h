/*
 * verdict - what one message's results mean, decided before anything is
 * written.
 *
 * verdict_decide() fixes the action (accept, reject, tempfail,
 * quarantine), the SMTP reply, the reason and the Authentication-Results
 * fields to delete from the SPF outcome, the DKIM results, the DMARC
 * outcome and the configuration (report-only, per-domain overrides, the
 * temporary-failure and SPF-fail rules).  It allocates nothing and cannot
 * fail.  verdict_render() then writes the texts: our
 * Authentication-Results (and optional Received-SPF) header, the log
 * summary and the report record.  Rendering never changes the decision:
 * our Authentication-Results is bounded by summarizing (VERDICT_AUTHRES_MAX)
 * rather than by giving up, and if memory runs out the decision stands
 * without the texts.  The authcheck JSON is rendered only when asked for
 * (verdict_json()).
 *
 * Nothing here knows a front end: deletions are positions among the
 * message's fields, added headers are a list without a fixed length.
 *
 * Ownership: the verdict's strings and arrays live in the arena given to
 * verdict_render() or in the session that made the input, until the
 * session's next message.
 */
#ifndef AUTH_VERDICT_H
#define AUTH_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "arc.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dmarc.h"
#include "msg.h"
#include "report.h"
#include "spf.h"

enum verdict_action {
	VERDICT_ACCEPT,
	VERDICT_REJECT,     /* permanent: 5xx */
	VERDICT_TEMPFAIL,   /* temporary: 4xx */
	VERDICT_QUARANTINE, /* accept into the MTA's hold queue */
};

/* "accept", "reject", "tempfail" or "quarantine", for logs and JSON. */
const char *verdict_action_name(enum verdict_action action);

/* Why the action is what it is, for the log and for tests. */
enum verdict_reason {
	VERDICT_R_NONE,
	VERDICT_R_DMARC_POLICY,      /* the From domain's policy asked for it */
	VERDICT_R_SPF_FAIL,          /* SPF fail, when configured to reject */
	VERDICT_R_DNS_TEMPFAIL,      /* a DNS temporary failure, when configured to tempfail */
	VERDICT_R_TRUSTED,           /* trusted network or authenticated client: not checked */
	VERDICT_R_OVERRIDE,          /* a per-domain override lowered the disposition */
	VERDICT_R_TRUSTED_FORWARDER, /* a trusted ARC sealer vouched for a DMARC failure */
	VERDICT_R_REPORT_ONLY,       /* report-only mode lowered the disposition */
	VERDICT_R_INTERNAL,          /* our own fault: on_internal_error */
	VERDICT_R_MALFORMED,         /* the header block cannot be judged safely */
};

/* The longest SMTP reply text or quarantine reason. */
#define VERDICT_TEXT_MAX 384
/* The longest Authentication-Results value we write: past it, DKIM
 * results are summarized.  Far below what MTAs take in a header field. */
#define VERDICT_AUTHRES_MAX 4096
/* Forged Authentication-Results fields deleted at most; a message with
 * more is refused (no genuine message carries that many). */
#define VERDICT_MAX_DELETIONS 10000

/* One Authentication-Results field to delete. */
struct verdict_del {
	unsigned field; /* its position among all header fields, from 0 */
	unsigned nth;   /* which Authentication-Results field it is, from 1 */
};

/* One header field to add, at the top, in list order (add[0] first). */
struct verdict_header {
	const char *name;
	const char *value; /* leading space included, folded with CRLF TAB */
};

struct verdict {
	enum verdict_action action;
	enum verdict_reason reason;
	/* For REJECT and TEMPFAIL: e.g. 550, "5.7.1" and the text; for
	 * QUARANTINE the text is the quarantine reason; "" when none. */
	int smtp_code;
	const char *dsn;
	char text[VERDICT_TEXT_MAX];

	/* Authentication-Results fields claiming our authserv-id, bottom
	 * first, so that deleting one does not move the next. */
	size_t ndel;
	const struct verdict_del *del;

	size_t nadd;
	const struct verdict_header *add;

	/* For the summary log line, in the RFCs' words; never NULL. */
	const char *spf_result;   /* "pass", "none", ... or "skipped" */
	const char *dkim_summary; /* e.g. "pass(example.org) fail(other.example)" or "none" */
	const char *dmarc_result;
	const char *dmarc_disposition;
	/* Why the disposition is not what the policy asked, in RFC 9990's
	 * words ("trusted_forwarder", "local_policy", ...); NULL when it is. */
	const char *dmarc_override;
	const char *from_domain; /* NULL when there is none */
	/* Each signature's result, for counting (not for the log line:
	 * dkim_summary); 0 and NULL when none was verified. */
	size_t ndkim;
	const struct dkim_sig_result *dkim;
	/* A passing signature covers only part of the body (l=). */
	bool partial_body;
	/* Not checked: trusted network or authenticated client. */
	bool skipped;
	/* Our ARC set: "sealed", or why not ("ours": the newest seal is
	 * ours already, "full": 50 sets, "error"); NULL when we do not seal
	 * this message. */
	const char *arc_seal;
	/* The DMARC aggregate-report row, or NULL when the message makes
	 * none (no policy record, exempt client). */
	const struct report_record *report;
};

/* Everything the decision is made from; the session fills it. */
struct verdict_input {
	const struct policy_config *cfg;
	const char *client_ip;              /* NULL when unknown */
	const char *helo;                   /* NULL when not given */
	const char *mail_from;              /* without <>; "" null sender; NULL none */
	const char *rcpt_domain;            /* the first recipient's domain, or NULL */
	const struct spf_request *spf_req;  /* NULL when SPF was not evaluated */
	const struct spf_outcome *spf;      /* likewise */
	const struct dkim_verifier *dkim;   /* NULL when no message was seen */
	const struct dmarc_outcome *dmarc;  /* NULL when DMARC was not evaluated */
	const struct arc_chain_result *arc; /* NULL when there was no chain to check */
	bool arc_over_limit;                /* a chain was not checked: fields not kept */
	/* Why DMARC was capped, when the session capped it (override, report-only). */
	enum verdict_reason cap_reason;
	const struct verdict_del *del; /* A-R fields to delete, bottom first */
	size_t ndel;
	/* An Authentication-Results field claiming our authserv-id cannot be
	 * deleted: more than VERDICT_MAX_DELETIONS, or hidden inside another
	 * field behind a bare line end. */
	bool del_impossible;
};

/* Fixes the action, reply and deletions in *out (other members zeroed). */
void verdict_decide(const struct verdict_input *in, struct verdict *out);

/*
 * Adds the texts to a decided verdict: the header fields, the log
 * summary, the report record (in *report, which must live as long as the
 * verdict).  Returns 0, or -1 when the arena ran out; the decision is
 * unchanged either way, and what could not be written is absent (no
 * headers, "error" in the summary).
 */
int verdict_render(const struct verdict_input *in, struct verdict *v, struct report_record *report,
                   struct arena *a);

/* The authcheck JSON (../shared/DESIGN.md's contract plus the action) into
 * out; in->dkim and in->dmarc NULL leave those members out (SPF alone).
 * Returns 0, or -1 when out's maximum was reached. */
int verdict_json(const struct verdict_input *in, const struct verdict *v, struct buf *out);

/* The verdict for a message that was not checked (trusted client). */
void verdict_exempt(const struct verdict_input *in, struct verdict *out);

/* The verdict for our own fault: on_internal_error, but forged
 * Authentication-Results fields found so far are still deleted, and a
 * message whose forged fields could not all be noted is deferred. */
void verdict_error(const struct verdict_input *in, struct verdict *out);

#endif
