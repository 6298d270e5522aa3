/*
 * dkim_hdata - the header data a signature covers (RFC 6376 §3.7).
 *
 * DKIM-Signature, ARC-Message-Signature and ARC-Seal (RFC 8617 §5.1.1) all
 * sign the same shape of data: some header fields, each canonicalized and
 * ended with CRLF, followed by the signature field itself with the value of
 * its b= tag deleted and no final CRLF.  dkim_header_data() builds it for a
 * list of names (h=), selecting fields bottom-up (§5.4.2); ARC-Seal chooses
 * its fields otherwise and uses dkim_hdata_sig_field() for the last one.
 *
 * Output goes to a bounded buffer (buf.h): a message whose signed fields
 * exceed its maximum is an error the caller reports, never unbounded
 * memory.  No state; thread-safe.
 */
#ifndef AUTH_DKIM_HDATA_H
#define AUTH_DKIM_HDATA_H

#include <stddef.h>

#include "buf.h"
#include "dkim_canon.h"
#include "dkim_sig.h"
#include "msg.h"

/* The canonical header data one signature may cover. */
#define DKIM_MAX_HEADER_DATA (4u * 1024 * 1024)

/*
 * Appends the header data of a signature to out: the fields named in
 * names[] (each name takes the last field of that name not yet taken; a
 * name with none left contributes nothing), then the signature field
 * sig_raw with the bytes [b_off, b_off + b_len) deleted.  Returns 0, or -1
 * when out would exceed its maximum or the b= region is not inside the
 * field.
 */
int dkim_header_data(const struct msg_headers *h, enum dkim_canon hcanon,
                     const struct dkim_name_view *names, size_t nnames, const char *sig_raw,
                     size_t sig_len, size_t b_off, size_t b_len, struct buf *out);

/* Appends the canonical signature field alone (b= region deleted, no final
 * CRLF).  Returns 0 or -1 as above. */
int dkim_hdata_sig_field(enum dkim_canon hcanon, const char *sig_raw, size_t sig_len, size_t b_off,
                         size_t b_len, struct buf *out);

#endif
