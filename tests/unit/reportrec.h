/*
 * reportrec.h - a session's report record made up for the report tests:
 * policy domain example.org (p=reject, np=quarantine, adkim=s, fo=1:d, two
 * rua URIs), DMARC fail with disposition quarantine lowered by local
 * policy, SPF pass for bounce.example.org (aligned), and two DKIM results,
 * the second with bytes that must be escaped.  Header-only, like tap.h.
 */
#ifndef REPORTREC_H
#define REPORTREC_H

#include <stdio.h>
#include <string.h>

#include "report.h"

static inline void
make_record(struct report_record *r, struct dmarc_outcome *d, struct spf_outcome *spf,
            struct dkim_sig_result dk[2], const char *from, const char *ip, time_t t)
{
	memset(d, 0, sizeof(*d));
	memset(spf, 0, sizeof(*spf));
	memset(dk, 0, 2 * sizeof(*dk));
	d->result = DMARC_RESULT_FAIL;
	d->mode = DMARC_MODE_RFC9989;
	snprintf(d->from_domain, sizeof(d->from_domain), "%s", from);
	snprintf(d->policy_domain, sizeof(d->policy_domain), "%s", "example.org");
	d->have_record = true;
	d->record.p_valid = d->record.sp_valid = d->record.np_valid = true;
	d->record.p = DMARC_DISP_REJECT;
	d->record.has_np = true;
	d->record.np = DMARC_DISP_QUARANTINE;
	d->record.adkim = 's';
	d->record.aspf = 'r';
	d->record.pct = -1;
	snprintf(d->record.fo, sizeof(d->record.fo), "1:d");
	d->record.nrua = 2;
	snprintf(d->record.rua[0], DMARC_URI_MAX, "mailto:dmarc@example.org");
	snprintf(d->record.rua[1], DMARC_URI_MAX, "mailto:agg@reports.example!10m");
	d->disposition = DMARC_DISP_QUARANTINE;
	d->override = DMARC_OVERRIDE_LOCAL_POLICY;
	d->spf_aligned = true;
	spf->result = SPF_PASS;
	spf->scope = SPF_SCOPE_MFROM;
	snprintf(spf->domain, sizeof(spf->domain), "bounce.example.org");
	dk[0].result = DKIM_PASS;
	snprintf(dk[0].d, sizeof(dk[0].d), "example.org");
	snprintf(dk[0].s, sizeof(dk[0].s), "sel1");
	dk[1].result = DKIM_FAIL;
	snprintf(dk[1].d, sizeof(dk[1].d), "odd/dom ain");
	snprintf(dk[1].s, sizeof(dk[1].s), "s%%2");
	memset(r, 0, sizeof(*r));
	r->time = t;
	r->source_ip = ip;
	r->header_from = from;
	r->envelope_from = "bounce.example.org";
	r->envelope_to = "rcpt.example.net";
	r->dmarc = d;
	r->spf = spf;
	r->ndkim = 2;
	r->dkim = dk;
}

/* A record with everything it points to. */
struct test_record {
	struct report_record r;
	struct dmarc_outcome d;
	struct spf_outcome spf;
	struct dkim_sig_result dk[2];
};

static inline void
test_record_init(struct test_record *t, const char *from, const char *ip, time_t when)
{
	make_record(&t->r, &t->d, &t->spf, t->dk, from, ip, when);
}

#endif
