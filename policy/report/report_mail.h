/*
 * report_mail - the mail that carries one aggregate report (RFC 9990's
 * email transport): a MIME message (RFC 2045) with a short text part and
 * the gzip'd report as an application/gzip attachment, its file name the
 * report's; Subject "Report Domain: D Submitter: S Report-ID: ID";
 * Message-ID from the same id, so a resend is known as one;
 * Auto-Submitted (RFC 3834), so no one answers it.
 *
 * report_mail_build() writes the header fields into a struct msg_headers
 * (so that a signer can sign them and a sender can send them) and the
 * body, with CRLF line ends, into a buf.  The mail must pass DMARC for
 * the reporting domain: the caller signs it for the From domain.
 *
 * report_mail_is_report() says whether a Subject value reads as such a
 * report's: the daemon records nothing about report mail that passed
 * DMARC, so reports about reports never start.
 */
#ifndef AUTH_REPORT_MAIL_H
#define AUTH_REPORT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "msg.h"

struct report_mail {
	const char *from;          /* the reporter's address (report_email) */
	const char *to;            /* the destination's address */
	const char *policy_domain; /* the Domain of the Subject */
	const char *submitter;     /* the reporting domain (report_domain) */
	const char *org_name;
	const char *report_id; /* letters and digits */
	const char *filename;  /* receiver!domain!begin!end!id.xml.gz */
	int64_t begin, end;
	time_t now;
	const void *gz;
	size_t gz_len;
};

/* Header fields appended to h, body into body.  0, or -1 with err set
 * (out of memory, or text that would not make a valid field). */
int report_mail_build(const struct report_mail *m, struct msg_headers *h, struct buf *body,
                      struct auth_error *err);

/* The size of the message as it will be sent, for a destination's limit. */
size_t report_mail_size(const struct msg_headers *h, const struct buf *body);

/* value: a Subject field's value as received (unfolded or not). */
bool report_mail_is_report(const char *value, size_t len);

#endif
