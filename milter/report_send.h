/*
 * report_send - authreport send: mails stored aggregate reports to the
 * destinations still pending (authreport(8)).
 *
 * For each pending destination, oldest report first: the rua URI must be
 * a mailto: this can deliver (report_dest.h), not suppressed
 * (report_suppress), and, when outside the policy domain's Organizational
 * Domain, authorized by its _report._dmarc record; the report mail
 * (report_mail.h) is DKIM-signed by the dkim_sign entries for the
 * report_email domain, so that it passes DMARC itself (only their key
 * files are read: the daemon's other keys may be root's alone), and must
 * fit the destination's size limit.  It goes to the report_smtp server (STARTTLS
 * when offered and report_starttls is set), one connection for the run.
 *
 * Each attempt is recorded in the store: sent; failed for good (a 5xx
 * reply, a destination that cannot be used); or still pending after a
 * 4xx reply, an unreachable server or a temporary DNS failure, to be
 * tried on the next run, until REPORT_SEND_ATTEMPTS attempts.  At most
 * report_send_limit mails go out per run; the rest wait for the next.
 * One line per destination goes to the log stream.
 *
 * Thread safety: one run at a time, on one thread.
 */
#ifndef AUTH_REPORT_SEND_H
#define AUTH_REPORT_SEND_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "dns.h"
#include "error.h"
#include "store.h"

#define REPORT_SEND_ATTEMPTS 10

struct report_send_stats {
	unsigned long sent, failed, deferred, left; /* left: over the run's limit */
};

/* Returns 0 when every destination was dealt with (sent, failed or
 * deferred: see stats), -1 with err set when the run itself could not
 * go on: err->code AUTH_EINVAL when the configuration cannot send
 * (report_email, report_smtp, the signing key), AUTH_ENOMEM, or another
 * code when the store failed. */
int report_send(const struct policy_config *cfg, struct store *s, struct dns_resolver *r, FILE *log,
                struct report_send_stats *stats, struct auth_error *err);

#endif
