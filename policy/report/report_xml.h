/*
 * report_xml - an aggregate report's XML, in the format of RFC 9990
 * (Appendix A schema, namespace urn:ietf:params:xml:ns:dmarc-2.0) or of
 * RFC 7489 Appendix C (no namespace, as receivers send it), and the file
 * name and gzip compression RFC 9990 §3 prescribes for it.
 *
 * RFC 9990: version 1.0; report_metadata with generator; policy_published
 * with discovery_method, p, sp (the default, p, when not published), np
 * when published, fo, adkim, aspf, testing, and no pct; disposition "pass"
 * for DMARC passes under an enforcing policy; reason types local_policy,
 * policy_test_mode, trusted_forwarder, or other (with a comment saying
 * "sampled out" for RFC 7489 pct sampling); at most 100 DKIM results per
 * row; SPF scope "mfrom" only (a null sender's identity is postmaster@HELO,
 * which DMARC uses as the MAIL FROM identity), and no spf element when SPF
 * was not evaluated.
 * RFC 7489: pct and sp always (their defaults when not published), no
 * np, discovery_method, testing or generator; sampled_out and other as
 * reason types; an spf element always (result none for the envelope
 * domain when SPF was not evaluated); IPv6 source addresses written in
 * full (its schema's pattern admits no "::").
 *
 * Text from the records is escaped; bytes that are not valid UTF-8 and
 * control characters become '?', so the document is always well-formed.
 *
 * Thread safety: none needed; no state.
 */
#ifndef AUTH_REPORT_XML_H
#define AUTH_REPORT_XML_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "buf.h"

enum report_format { REPORT_RFC9990, REPORT_RFC7489 };

#define REPORT_XML_MAX (256u << 20)
#define REPORT_UNIQUE_ID_MAX 32

struct report_meta {
	enum report_format format;
	const char *org_name, *email, *extra_contact_info; /* extra may be NULL */
	const char *report_id; /* letters and digits: also the file name's unique-id */
	const char *generator; /* e.g. "authmilter 0.1.0" (RFC 9990 only) */
	int64_t begin, end;
};

/* "rfc9990" or "rfc7489". */
const char *report_format_name(enum report_format f);
/* The report of one aggregate into out (initialized by the caller with a
 * maximum of at least what the report needs).  0, or -1 when out is full. */
int report_xml(const struct report_meta *m, const struct aggregate *a, struct buf *out);
/* receiver!policy-domain!begin!end!unique-id.xml.gz into out; -1 when it
 * does not fit. */
int report_filename(const char *receiver, const char *policy_domain, int64_t begin, int64_t end,
                    const char *unique_id, char *out, size_t outlen);
/* A new unique id: 16 random hexadecimal digits (letters and digits
 * only, as the file name's unique-id must be). */
void report_unique_id(char out[REPORT_UNIQUE_ID_MAX]);
/* gzip (RFC 1952) of len bytes into out, with no file name and time 0 in
 * its header, so the same report makes the same bytes.  0 or -1. */
int report_gzip(const char *data, size_t len, struct buf *out);

#endif
