/*
 * hdredit - the message as the listener hands it on: the verdict's header
 * fields prepended (add[0] topmost), then our trace field, and the forged
 * Authentication-Results fields the verdict names deleted.
 *
 * The header block is split into fields exactly as the session's parser
 * splits it (libauth/msg.h: a line starting with WSP continues the field
 * before it, any other line starts one, the first empty line ends the
 * block), so verdict.del[i].field, a position among all header fields,
 * names the same field here.  The result is a list of pieces: one for the
 * added fields (in *added) and runs of the original bytes around the
 * deleted fields, so the message is never copied.
 *
 * Ownership: the pieces point into msg and into added, which must outlive
 * them; *pieces is the caller's to free().
 */
#ifndef AUTH_HDREDIT_H
#define AUTH_HDREDIT_H

#include <stddef.h>

#include "buf.h"
#include "smtpc.h"
#include "verdict.h"

/* trace (or NULL): a complete field with its CRLF (our Received:), put
 * below the verdict's fields and above the message's own.  Returns 0, or
 * -1 when out of memory (added's maximum reached). */
int hdredit_pieces(const char *msg, size_t len, const struct verdict *v, const char *trace,
                   struct buf *added, struct smtpc_piece **pieces, size_t *npieces);

/* The pieces' total length. */
size_t hdredit_length(const struct smtpc_piece *pieces, size_t npieces);

#endif
