/*
 * smtpdata - the SMTP listener's DATA decoder: finds the end of the
 * message and undoes the transparency procedure (RFC 5321 §4.5.2).
 *
 * Only CRLF "." CRLF ends the data, with the first CRLF the end of the
 * previous line (or the 354 reply): <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>
 * and the like are message content, never an end, so nothing a client
 * sends after them can be read as a new command (SMTP smuggling,
 * CVE-2023-51764 and kin).  A line starting with "." has that dot
 * removed.
 *
 * A bare LF or a bare CR (one not part of CRLF) marks the message: by
 * default it is refused once the data has ended (SMTPDATA_BARE_LF,
 * SMTPDATA_BARE_CR); with the leniency each becomes a CRLF line end in
 * the message kept, but still never ends the data.  A line longer than
 * max_line bytes with its CRLF (SMTPDATA_LONG_LINE) and a message past
 * max_size bytes (SMTPDATA_TOO_BIG) are refused too.  Once a message is
 * refused, its bytes are no longer kept, only scanned for the end.
 *
 * What is kept goes into the caller's struct buf (CRLF line ends, after
 * dot-unstuffing): the bytes the session verifies and the next hop gets.
 * Not thread-safe: one decoder per transaction.
 */
#ifndef AUTH_SMTPDATA_H
#define AUTH_SMTPDATA_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SMTPDATA_BARE_LF 0x01u
#define SMTPDATA_BARE_CR 0x02u
#define SMTPDATA_LONG_LINE 0x04u
#define SMTPDATA_TOO_BIG 0x08u
#define SMTPDATA_NO_MEMORY 0x10u

struct smtpdata {
	int state;
	size_t line_len;
	size_t max_line, max_size;
	bool lenient;
	unsigned problems; /* SMTPDATA_* seen so far */
	bool done;
	struct buf *out;
};

/* out must be empty; its own maximum should be at least max_size. */
void smtpdata_init(struct smtpdata *d, struct buf *out, size_t max_line, size_t max_size,
                   bool lenient);
/* Consumes bytes up to and including the end of the data; returns how
 * many it took (fewer than n only when d->done became true). */
size_t smtpdata_feed(struct smtpdata *d, const char *p, size_t n);
/* Whether problems refuse the message (a leniency taken is no problem). */
bool smtpdata_refused(const struct smtpdata *d);

#endif
