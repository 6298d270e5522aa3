/*
 * verdict - turns one message's results into what the front ends act on.
 *
 * From the SPF outcome, the DKIM results, the DMARC outcome and the
 * configuration it decides the action (with the local policy: report-only,
 * per-domain overrides, temporary-failure and SPF-fail handling), writes
 * the Authentication-Results (and optional Received-SPF) header, the
 * authcheck JSON and the DMARC report record.  It does no I/O.
 *
 * Ownership: every string of the verdict is allocated from the arena given
 * and lives as long as the arena's current message.
 */
#ifndef AUTH_VERDICT_H
#define AUTH_VERDICT_H

#include <stdbool.h>

#include "arena.h"
#include "config.h"
#include "dkim.h"
#include "dmarc.h"
#include "msg.h"
#include "session.h"
#include "spf.h"

struct verdict_input {
	const struct policy_config *cfg;
	const char *client_ip;             /* NULL when unknown */
	const char *helo;                  /* NULL when not given */
	const char *mail_from;             /* without <>; "" null sender; NULL none */
	const struct spf_request *spf_req; /* NULL when SPF was not evaluated */
	const struct spf_outcome *spf;     /* likewise */
	const struct dkim_verifier *dkim;  /* NULL when no message was seen */
	const struct dmarc_outcome *dmarc; /* NULL when DMARC was not evaluated */
	const struct msg_from *from;
	/* Why DMARC was capped, when the session capped it (override, report-only). */
	enum session_reason cap_reason;
	const unsigned *del_index; /* A-R fields to delete, descending */
	size_t ndel;
	/* More A-R fields claim our authserv-id than del_index could hold. */
	bool del_overflow;
};

/* Fills *out.  Returns 0, or -1 with err set when the arena is full. */
int verdict_build(const struct verdict_input *in, struct arena *a, struct session_verdict *out,
                  struct auth_error *err);

/* The verdict for a message that was not checked (trusted client);
 * del_overflow as in struct verdict_input. */
void verdict_exempt(struct session_verdict *out, const unsigned *del_index, size_t ndel,
                    bool del_overflow);

/* The verdict for an internal error: fail-open or fail-closed. */
void verdict_error(const struct policy_config *cfg, struct session_verdict *out);

#endif
