/*
 * msg_from - the RFC5322.From domain (the DMARC Author Domain).
 *
 * Parses From field values as RFC 5322 §3.4 address lists (display names,
 * comments, quoted strings, angle addresses, groups, and the obsolete forms
 * of §4.4 that real mail still uses) and reports every author domain, in
 * lower-case A-label form, together with exactly which case the From
 * fields present, so that the caller can apply DMARC or refuse.
 *
 * Within one field the status is decided in this order: MSG_FROM_SYNTAX
 * (nothing listed), MSG_FROM_GROUP, MSG_FROM_NO_DOMAIN (some mailbox has
 * no '@', is "<>", or has an address literal; the domains that were found
 * are still listed), MSG_FROM_MULTIPLE, MSG_FROM_OK.  Several From fields
 * give MSG_FROM_MULTIPLE_FIELDS with the domains of all of them.
 *
 * Limits: at most MSG_FROM_MAX_DOMAINS distinct domains are listed
 * (truncated says more were seen); comments nest at most
 * MSG_FROM_MAX_COMMENT_DEPTH deep; the parser is iterative and linear in
 * the input, so hostile values cost neither stack nor quadratic time.
 * IDNA conversion costs far more per byte than parsing, so at most
 * MSG_FROM_MAX_IDNA domains written with U-labels or A-labels are
 * converted per call; a field that needs more is MSG_FROM_SYNTAX.
 *
 * Ownership: the result is the caller's struct; nothing is allocated that
 * outlives a call.  Thread-safe: no shared state.
 */
#ifndef AUTH_MSG_FROM_H
#define AUTH_MSG_FROM_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"

struct msg_headers;

enum msg_from_status {
	MSG_FROM_OK,              /* one field, one mailbox: domains[0] */
	MSG_FROM_NONE,            /* no From field */
	MSG_FROM_MULTIPLE_FIELDS, /* more than one From field */
	MSG_FROM_MULTIPLE,        /* one field, several mailboxes (all listed) */
	MSG_FROM_GROUP,           /* group syntax; the group's mailboxes are listed */
	MSG_FROM_NO_DOMAIN,       /* a field with no address, or no domain in it */
	MSG_FROM_SYNTAX,          /* the field does not parse as an address list */
};

#define MSG_FROM_MAX_DOMAINS 16
#define MSG_FROM_MAX_COMMENT_DEPTH 64
#define MSG_FROM_MAX_IDNA 64

struct msg_from {
	enum msg_from_status status;
	size_t ndomains;
	/* Lower-case A-label domains (U-labels converted, RFC 5890), each
	 * listed once, in the order first seen. */
	char domains[MSG_FROM_MAX_DOMAINS][DNS_NAME_MAX + 1];
	bool had_ulabel; /* some domain was written in U-labels */
	/* More than MSG_FROM_MAX_DOMAINS distinct domains, or a From field
	 * that was not kept whole (struct msg_field's truncated). */
	bool truncated;
};

/* Examines every From field of h. */
void msg_from_extract(const struct msg_headers *h, struct msg_from *out);

/* Parses the value of one From field (unfolded or not). */
void msg_from_parse(const char *value, size_t len, struct msg_from *out);

const char *msg_from_status_name(enum msg_from_status s);

#endif
