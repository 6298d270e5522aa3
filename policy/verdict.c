/*
 * verdict - see verdict.h.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "json.h"
#include "verdict.h"

/* Received-SPF is bounded by its inputs (SPF_SENDER_MAX, the HELO, our
 * host name); this is far past them. */
#define VERDICT_RECEIVED_SPF_MAX (8u * 1024)
/* The log summary's DKIM part. */
#define VERDICT_DKIM_SUMMARY_MAX 1024
/* Room kept in our Authentication-Results for what comes after the DKIM
 * results: the arc result (a reason, an address), the dmarc result (a
 * domain, a static reason, the policies) and the comment counting the
 * DKIM results left out. */
#define VERDICT_AUTHRES_TAIL 1280

const char *
verdict_action_name(enum verdict_action action)
{
	switch (action) {
	case VERDICT_REJECT:
		return "reject";
	case VERDICT_TEMPFAIL:
		return "tempfail";
	case VERDICT_QUARANTINE:
		return "quarantine";
	case VERDICT_ACCEPT:
		break;
	}
	return "accept";
}

/* ---- the decision ---- */

static void
verdict_set(struct verdict *v, enum verdict_action act, enum verdict_reason why, int code,
            const char *dsn)
{
	v->action = act;
	v->reason = why;
	v->smtp_code = code;
	v->dsn = dsn;
}

static void verdict_text(struct verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The reply text, cut at VERDICT_TEXT_MAX (its parts are bounded well
 * below that). */
static void
verdict_text(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
}

static bool
verdict_dmarc_passed(const struct verdict_input *in)
{
	return in->dmarc != NULL && in->dmarc->result == DMARC_RESULT_PASS;
}

/*
 * When configured, a temporary failure that could change DMARC's answer
 * defers the message (RFC 7489 §6.6.2 lets the receiver defer).  DMARC says
 * temperror only for such failures (dmarc.h): one on an identifier that
 * cannot align, or any other the sender can arrange in its own DNS, leaves
 * the answer as it is.
 */
static bool
verdict_defer(const struct verdict_input *in, struct verdict *v)
{
	const struct dmarc_outcome *d = in->dmarc;

	if (in->cfg->report_only || in->cfg->on_dns_tempfail != CONFIG_TEMPFAIL || d == NULL ||
	    d->result != DMARC_RESULT_TEMPERROR || d->from_rejected)
		return false;
	/* RFC 7208 §8.6: 451 4.4.3 (RFC 3463 §3.5, directory server failure);
	 * X.7.1 is a permanent code only (RFC 3463 §3.8). */
	verdict_set(v, VERDICT_TEMPFAIL, VERDICT_R_DNS_TEMPFAIL, 451, "4.4.3");
	verdict_text(v, "Temporary DNS failure checking %s; try again later",
	             d->from_domain[0] ? d->from_domain : "the sender");
	return true;
}

/* DMARC's disposition: reject, or quarantine into the hold queue. */
static bool
verdict_disposition(const struct verdict_input *in, struct verdict *v)
{
	const struct dmarc_outcome *d = in->dmarc;

	if (d == NULL)
		return false;
	if (d->disposition == DMARC_DISP_REJECT) {
		verdict_set(v, VERDICT_REJECT,
		            d->from_rejected ? VERDICT_R_MALFORMED : VERDICT_R_DMARC_POLICY, 550,
		            "5.7.1");
		if (d->from_rejected)
			verdict_text(v, "%s",
			             "Rejected: the From field does not name one author domain");
		else
			verdict_text(v, "Rejected by DMARC policy for %s", d->from_domain);
		return true;
	}
	if (d->disposition != DMARC_DISP_QUARANTINE)
		return false;
	v->reason = VERDICT_R_DMARC_POLICY;
	if (in->cfg->quarantine == CONFIG_QUARANTINE_HOLD) {
		verdict_set(v, VERDICT_QUARANTINE, VERDICT_R_DMARC_POLICY, 0, NULL);
		verdict_text(v, "DMARC policy for %s", d->from_domain);
	}
	return true;
}

/* RFC 7208 §8.4 lets a receiver reject on fail; RFC 7489 §10.1 warns that
 * doing so before DMARC defeats DMARC's forwarding allowance, so it only
 * applies when DMARC did not pass and is off by default. */
static void
verdict_spf_rule(const struct verdict_input *in, struct verdict *v)
{
	const struct spf_outcome *o = in->spf;

	if (in->cfg->report_only || !in->cfg->spf_fail_reject || o == NULL ||
	    o->result != SPF_FAIL || verdict_dmarc_passed(in))
		return;
	/* RFC 7372 §3.2: X.7.23, SPF validation failed. */
	verdict_set(v, VERDICT_REJECT, VERDICT_R_SPF_FAIL, 550, "5.7.23");
	if (o->explanation != NULL)
		verdict_text(v, "SPF validation failed for %s: %s", o->domain, o->explanation);
	else
		verdict_text(v, "SPF validation failed for %s", o->domain);
}

static void
verdict_deletions(const struct verdict_input *in, struct verdict *v)
{
	v->ndel = in->ndel;
	v->del = in->del;
}

/* RFC 8601 §5: every field claiming our authserv-id must go; one that
 * cannot would reach the mailbox as if we had written it. */
static bool
verdict_forged_authres(const struct verdict_input *in, struct verdict *v)
{
	if (!in->del_impossible)
		return false;
	verdict_set(v, VERDICT_REJECT, VERDICT_R_MALFORMED, 550, "5.7.1");
	verdict_text(v, "%s",
	             "Rejected: an Authentication-Results field claiming this host's "
	             "authserv-id cannot be removed");
	return true;
}

static void
verdict_summary_static(struct verdict *v, const char *what)
{
	v->spf_result = v->dkim_summary = v->dmarc_result = v->dmarc_disposition = what;
}

static const char *
verdict_applied_name(const struct dmarc_outcome *d)
{
	return d != NULL && (d->have_record || d->from_rejected) ? dmarc_disp_name(d->disposition)
	                                                         : "none";
}

void
verdict_decide(const struct verdict_input *in, struct verdict *out)
{
	const struct dmarc_outcome *d = in->dmarc;

	memset(out, 0, sizeof(*out));
	verdict_set(out, VERDICT_ACCEPT, VERDICT_R_NONE, 0, NULL);
	verdict_deletions(in, out);
	out->spf_result = in->spf != NULL ? spf_result_name(in->spf->result) : "none";
	out->dkim_summary = "none";
	out->dmarc_result = d != NULL ? dmarc_result_name(d->result) : "none";
	out->dmarc_disposition = verdict_applied_name(d);
	if (d != NULL && d->from_domain[0] != '\0')
		out->from_domain = d->from_domain;
	if (d != NULL && d->override != DMARC_OVERRIDE_NONE)
		out->dmarc_override = dmarc_override_name(d->override);
	if (verdict_forged_authres(in, out))
		return;
	if (d != NULL && d->override == DMARC_OVERRIDE_LOCAL_POLICY &&
	    in->cap_reason != VERDICT_R_NONE)
		out->reason = in->cap_reason;
	if (d != NULL && d->override == DMARC_OVERRIDE_TRUSTED_FORWARDER)
		out->reason = VERDICT_R_TRUSTED_FORWARDER;
	if (verdict_defer(in, out) || verdict_disposition(in, out))
		return;
	verdict_spf_rule(in, out);
}

void
verdict_exempt(const struct verdict_input *in, struct verdict *out)
{
	memset(out, 0, sizeof(*out));
	verdict_set(out, VERDICT_ACCEPT, VERDICT_R_TRUSTED, 0, NULL);
	out->skipped = true;
	verdict_deletions(in, out);
	verdict_summary_static(out, "skipped");
	(void)verdict_forged_authres(in, out);
}

void
verdict_error(const struct verdict_input *in, struct verdict *out)
{
	memset(out, 0, sizeof(*out));
	verdict_deletions(in, out);
	verdict_summary_static(out, "error");
	if (in->cfg->on_internal_error == CONFIG_TEMPFAIL || in->del_impossible) {
		verdict_set(out, VERDICT_TEMPFAIL, VERDICT_R_INTERNAL, 451, "4.3.0");
		verdict_text(out, "%s", "Temporary local problem; try again later");
	} else {
		verdict_set(out, VERDICT_ACCEPT, VERDICT_R_INTERNAL, 0, NULL);
	}
}

/* ---- our Authentication-Results ---- */

static void
verdict_add_spf(const struct verdict_input *in, struct authres *w)
{
	bool helo;

	if (in->spf == NULL)
		return;
	helo = in->spf->scope == SPF_SCOPE_HELO;
	authres_add_spf(w, spf_result_name(in->spf->result), helo,
	                helo ? in->spf->domain : in->spf->sender, NULL,
	                in->spf->problem[0] ? in->spf->problem : NULL);
}

static void
verdict_add_dmarc(const struct verdict_input *in, struct authres *w)
{
	const struct dmarc_outcome *d = in->dmarc;

	/* Without an Author Domain the result still says what was decided;
	 * header.from is left out rather than invented (RFC 8601 §2.2). */
	if (d == NULL)
		return;
	authres_add_dmarc(w, dmarc_result_name(d->result), d->from_domain,
	                  d->have_record ? dmarc_disp_name(d->policy) : NULL,
	                  d->have_record ? dmarc_disp_name(d->evaluated) : NULL,
	                  d->have_record ? dmarc_disp_name(d->disposition) : NULL, d->reason);
}

/*
 * RFC 8617 §6 and the IANA registry: arc=RESULT, header.oldest-pass (the
 * oldest AMS instance that validates, 0 when all do) and smtp.remote-ip,
 * the address that handed us the message; why it failed as reason=, and
 * which field in a comment.
 */
static void
verdict_add_arc(const struct verdict_input *in, struct authres *w)
{
	const struct arc_chain_result *a = in->arc;
	struct authres_prop p[2];
	char oldest[16], comment[64];
	size_t n = 0;

	if (in->arc_over_limit) {
		authres_add(w, "arc", "fail", NULL, "header block over limit", NULL, 0);
		return;
	}
	if (a == NULL || a->result == ARC_NONE)
		return;
	if (a->result == ARC_PASS) {
		(void)snprintf(oldest, sizeof(oldest), "%u",
		               a->oldest_pass <= 1 ? 0 : a->oldest_pass);
		p[n++] = (struct authres_prop){"header", "oldest-pass", oldest};
	}
	if (in->client_ip != NULL)
		p[n++] = (struct authres_prop){"smtp", "remote-ip", in->client_ip};
	if (a->failed_field != NULL)
		(void)snprintf(comment, sizeof(comment), "%s i=%u", a->failed_field,
		               a->failed_instance);
	authres_add(w, "arc", arc_result_name(a->result), a->failed_field != NULL ? comment : NULL,
	            a->reason, p, n);
}

static const char *
verdict_dkim_comment(const struct dkim_sig_result *r)
{
	bool partial = r->result == DKIM_PASS && r->partial_body;

	if (r->testing && partial)
		return "key in testing mode; body only partly signed, l=";
	if (partial)
		return "body only partly signed, l=";
	return r->testing ? "key in testing mode" : NULL;
}

/* One signature's result; bs[] are every signature's b= prefixes, so that
 * header.b tells them apart (RFC 6008 §4). */
static void
verdict_add_sig(const struct verdict_input *in, const char *const *bs, size_t i, struct authres *w)
{
	const struct dkim_sig_result *r = dkim_verifier_result(in->dkim, i);
	struct authres_dkim sig = {
	    .result = dkim_result_name(r->result),
	    .d = r->d[0] ? r->d : NULL,
	    .s = r->s[0] ? r->s : NULL,
	    .i = r->i[0] ? r->i : NULL,
	    .a = r->a[0] ? r->a : NULL,
	    .b = r->b_prefix,
	    .b_len = authres_b_prefix_len(bs, dkim_verifier_count(in->dkim), i),
	    .comment = verdict_dkim_comment(r),
	    .reason = r->reason,
	};

	authres_add_dkim(w, &sig);
}

/* The order results are listed in when they do not all fit: aligned and
 * passing first, then other passes, then the rest. */
static int
verdict_sig_rank(const struct verdict_input *in, const struct dkim_sig_result *r)
{
	const struct dmarc_outcome *o = in->dmarc;

	if (r->result != DKIM_PASS)
		return 2;
	return o != NULL && o->dkim_aligned && strcasecmp(r->d, o->dkim_domain) == 0 ? 0 : 1;
}

/* Adds the signatures of one rank while they fit in budget bytes; returns
 * how many were left out. */
static size_t
verdict_add_rank(const struct verdict_input *in, const char *const *bs, int rank, size_t budget,
                 struct authres *w)
{
	size_t i, n = dkim_verifier_count(in->dkim), left = 0;
	struct authres_mark m;

	for (i = 0; i < n; i++) {
		if (verdict_sig_rank(in, dkim_verifier_result(in->dkim, i)) != rank)
			continue;
		authres_mark(w, &m);
		verdict_add_sig(in, bs, i, w);
		if (w->error || w->out->len > budget) {
			authres_rewind(w, &m);
			left++;
		}
	}
	return left;
}

/*
 * The DKIM results: all of them in order when they fit, otherwise as many
 * as fit by rank and then a comment counting the rest, so that our field
 * always fits and never loses the result DMARC passed on.
 */
static int
verdict_add_dkim(const struct verdict_input *in, struct arena *a, struct authres *w)
{
	size_t i, n = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0, left = 0;
	size_t budget = VERDICT_AUTHRES_MAX - VERDICT_AUTHRES_TAIL;
	struct authres_mark m;
	const char **bs;
	char note[64];

	if (n == 0) {
		/* RFC 8601 §2.7.1: "none", the message was not signed; said
		 * so that nobody downstream mistakes silence for a check not made. */
		authres_add(w, "dkim", "none", NULL, NULL, NULL, 0);
		return 0;
	}
	if ((bs = arena_alloc(a, n * sizeof(*bs))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		bs[i] = dkim_verifier_result(in->dkim, i)->b_prefix;
	authres_mark(w, &m);
	for (i = 0; i < n; i++)
		verdict_add_sig(in, bs, i, w);
	if (!w->error && w->out->len <= budget)
		return 0;
	authres_rewind(w, &m);
	for (int rank = 0; rank < 3; rank++)
		left += verdict_add_rank(in, bs, rank, budget, w);
	(void)snprintf(note, sizeof(note), "%zu more DKIM result%s not listed", left,
	               left == 1 ? "" : "s");
	authres_add_comment(w, note);
	return 0;
}

static const char *
verdict_authres(const struct verdict_input *in, struct arena *a)
{
	const char *out = NULL;
	struct authres w;
	struct buf b;

	buf_init(&b, VERDICT_AUTHRES_MAX);
	authres_begin(&w, &b, in->cfg->authserv_id);
	verdict_add_spf(in, &w);
	if (verdict_add_dkim(in, a, &w) == 0) {
		verdict_add_arc(in, &w);
		verdict_add_dmarc(in, &w);
		if (authres_end(&w) == 0)
			out = arena_printf(a, " %s", b.data);
	}
	buf_free(&b);
	return out;
}

static const char *
verdict_received_spf(const struct verdict_input *in, struct arena *a)
{
	const char *out = NULL;
	struct buf b;

	buf_init(&b, VERDICT_RECEIVED_SPF_MAX);
	if (spf_received_spf(in->spf, in->spf_req, &b) == 0)
		out = arena_printf(a, " %s", b.data);
	buf_free(&b);
	return out;
}

/* "pass(example.org) fail(other.example)" for the log line, cut with
 * "..." past its bound. */
static const char *
verdict_dkim_summary(const struct verdict_input *in, struct arena *a)
{
	size_t i, n = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;
	const char *out;
	struct buf b;

	if (n == 0)
		return "none";
	buf_init(&b, VERDICT_DKIM_SUMMARY_MAX);
	for (i = 0; i < n; i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(in->dkim, i);

		if (buf_printf(&b, "%s%s(%s)", i ? " " : "", dkim_result_name(r->result),
		               r->d[0] ? r->d : "-") < 0) {
			(void)buf_puts(&b, " ...");
			break;
		}
	}
	out = arena_strndup(a, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return out != NULL ? out : "error";
}

static bool
verdict_partial_pass(const struct verdict_input *in)
{
	size_t i, n = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;

	for (i = 0; i < n; i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(in->dkim, i);

		if (r->result == DKIM_PASS && r->partial_body)
			return true;
	}
	return false;
}

/* One row of a DMARC aggregate report, for a message with a policy. */
static const struct report_record *
verdict_report(const struct verdict_input *in, struct report_record *r)
{
	const struct dmarc_outcome *d = in->dmarc;
	const char *at;

	if (d == NULL || !d->have_record)
		return NULL;
	r->source_ip = in->client_ip != NULL ? in->client_ip : "";
	r->header_from = d->from_domain;
	at = in->mail_from != NULL ? strrchr(in->mail_from, '@') : NULL;
	r->envelope_from = at != NULL ? at + 1 : in->mail_from != NULL ? in->mail_from : "";
	r->envelope_to = in->rcpt_domain != NULL ? in->rcpt_domain : "";
	r->dmarc = d;
	r->spf = in->spf;
	r->ndkim = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;
	r->dkim = in->dkim != NULL ? dkim_verifier_results(in->dkim) : NULL;
	return r;
}

static int
verdict_add_header(struct verdict *v, struct verdict_header *list, const char *name,
                   const char *value)
{
	if (value == NULL)
		return -1;
	list[v->nadd].name = name;
	list[v->nadd].value = value;
	v->nadd++;
	return 0;
}

int
verdict_render(const struct verdict_input *in, struct verdict *v, struct report_record *report,
               struct arena *a)
{
	struct verdict_header *list = arena_alloc(a, 2 * sizeof(*list));
	int rc = 0;

	v->partial_body = verdict_partial_pass(in);
	v->report = verdict_report(in, report);
	v->dkim_summary = verdict_dkim_summary(in, a);
	v->ndkim = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;
	v->dkim = in->dkim != NULL ? dkim_verifier_results(in->dkim) : NULL;
	if (list == NULL)
		return -1;
	v->add = list;
	/* RFC 8601 §5: ours goes first, above anything the message carried. */
	if (verdict_add_header(v, list, AUTHRES_FIELD, verdict_authres(in, a)) < 0)
		rc = -1;
	if (in->cfg->add_received_spf && in->spf != NULL &&
	    verdict_add_header(v, list, "Received-SPF", verdict_received_spf(in, a)) < 0)
		rc = -1;
	return rc;
}

/* ---- the authcheck JSON ---- */

static void
verdict_json_spf(const struct spf_outcome *o, struct json *j)
{
	json_key(j, "spf");
	json_object_begin(j);
	json_key(j, "result");
	json_string(j, o != NULL ? spf_result_name(o->result) : "none");
	json_key(j, "domain");
	json_string(j, o != NULL ? o->domain : "");
	json_key(j, "scope");
	json_string(j, o != NULL && o->scope == SPF_SCOPE_HELO ? "helo" : "mfrom");
	if (o != NULL && o->result == SPF_FAIL && o->explanation != NULL) {
		json_key(j, "explanation");
		json_string(j, o->explanation);
	}
	if (o != NULL && o->problem[0] != '\0') {
		json_key(j, "problem");
		json_string(j, o->problem);
	}
	json_object_end(j);
}

static void
verdict_json_sig(const struct dkim_sig_result *r, struct json *j)
{
	json_object_begin(j);
	json_key(j, "result");
	json_string(j, dkim_result_name(r->result));
	json_key(j, "d");
	json_string(j, r->d);
	json_key(j, "s");
	json_string(j, r->s);
	json_key(j, "a");
	json_string(j, r->a);
	if (r->i[0] != '\0') {
		json_key(j, "i");
		json_string(j, r->i);
	}
	json_key(j, "reason");
	json_string(j, r->reason != NULL ? r->reason : "");
	if (r->testing) {
		json_key(j, "testing");
		json_bool(j, true);
	}
	if (r->partial_body) {
		json_key(j, "partial_body");
		json_bool(j, true);
	}
	json_object_end(j);
}

static void
verdict_json_dkim(const struct dkim_verifier *v, struct json *j)
{
	size_t i, n = dkim_verifier_count(v);

	json_key(j, "dkim");
	json_array_begin(j);
	for (i = 0; i < n; i++)
		verdict_json_sig(dkim_verifier_result(v, i), j);
	json_array_end(j);
}

static void
verdict_json_dmarc(const struct dmarc_outcome *d, struct json *j)
{
	json_key(j, "dmarc");
	json_object_begin(j);
	json_key(j, "result");
	json_string(j, dmarc_result_name(d->result));
	json_key(j, "from_domain");
	json_string(j, d->from_domain);
	json_key(j, "policy");
	json_string(j, d->have_record ? dmarc_disp_name(d->policy) : "none");
	json_key(j, "disposition");
	json_string(j, verdict_applied_name(d));
	json_key(j, "spf_aligned");
	json_bool(j, d->spf_aligned);
	json_key(j, "dkim_aligned");
	json_bool(j, d->dkim_aligned);
	json_key(j, "mode");
	json_string(j, dmarc_mode_name(d->mode));
	json_key(j, "policy_domain");
	json_string(j, d->policy_domain);
	json_key(j, "org_domain");
	json_string(j, d->org_domain);
	json_key(j, "override");
	json_string(j, dmarc_override_name(d->override));
	if (d->reason != NULL) {
		json_key(j, "reason");
		json_string(j, d->reason);
	}
	json_object_end(j);
}

static void
verdict_json_arc(const struct verdict_input *in, struct json *j)
{
	const struct arc_chain_result *a = in->arc;

	json_key(j, "arc");
	json_object_begin(j);
	json_key(j, "result");
	json_string(j, in->arc_over_limit ? "fail"
	                                  : arc_result_name(a != NULL ? a->result : ARC_NONE));
	json_key(j, "instances");
	json_int(j, a != NULL ? (long)a->instances : 0);
	json_key(j, "reason");
	json_string(j, in->arc_over_limit               ? "header block over limit"
	               : a != NULL && a->reason != NULL ? a->reason
	                                                : "");
	json_key(j, "oldest_pass");
	json_int(j, a != NULL ? (long)a->oldest_pass : 0);
	json_object_end(j);
}

/* The first added header on one line (RFC 5322 §2.2.3), as scripts want it. */
static void
verdict_json_authres(const struct verdict *v, struct json *j)
{
	struct buf b;
	const char *p;

	json_key(j, "authentication_results");
	if (v->nadd == 0) {
		json_null(j);
		return;
	}
	buf_init(&b, VERDICT_AUTHRES_MAX + 64);
	(void)buf_printf(&b, "%s:", v->add[0].name);
	for (p = v->add[0].value; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
			(void)buf_putc(&b, ' ');
			p += 2;
			continue;
		}
		(void)buf_putc(&b, *p);
	}
	json_string(j, b.data != NULL ? b.data : "");
	buf_free(&b);
}

static void
verdict_json_action(const struct verdict *v, struct json *j)
{
	json_key(j, "action");
	json_string(j, verdict_action_name(v->action));
	if (v->smtp_code != 0) {
		char reply[VERDICT_TEXT_MAX + 32];

		(void)snprintf(reply, sizeof(reply), "%d %s %s", v->smtp_code,
		               v->dsn != NULL ? v->dsn : "", v->text);
		json_key(j, "smtp_reply");
		json_string(j, reply);
	}
}

int
verdict_json(const struct verdict_input *in, const struct verdict *v, struct buf *out)
{
	struct json j;

	json_init(&j, out);
	json_object_begin(&j);
	if (v != NULL && (v->skipped || v->reason == VERDICT_R_INTERNAL)) {
		json_key(&j, v->skipped ? "skipped" : "error");
		json_string(&j, v->skipped ? "trusted client" : "internal error");
		verdict_json_action(v, &j);
		json_object_end(&j);
		return json_ok(&j) ? 0 : -1;
	}
	verdict_json_spf(in->spf, &j);
	if (in->dkim != NULL)
		verdict_json_dkim(in->dkim, &j);
	if (in->dmarc != NULL) {
		verdict_json_arc(in, &j);
		verdict_json_dmarc(in->dmarc, &j);
	}
	if (v != NULL) {
		verdict_json_authres(v, &j);
		verdict_json_action(v, &j);
	}
	json_object_end(&j);
	return json_ok(&j) ? 0 : -1;
}
