/*
 * verdict - see verdict.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "authres.h"
#include "json.h"
#include "verdict.h"

/* Bounds for the texts built here: headers far past any real need. */
#define VERDICT_HEADER_MAX (16u * 1024)
#define VERDICT_JSON_MAX (64u * 1024)

static const char *
disp_name(const struct dmarc_outcome *d, enum dmarc_disp v)
{
	return d != NULL && d->have_record ? dmarc_disp_name(v) : "none";
}

/* What is applied: also the local From rule's reject, which needs no
 * record. */
static const char *
applied_name(const struct dmarc_outcome *d)
{
	return d != NULL && (d->have_record || d->from_rejected) ? dmarc_disp_name(d->disposition)
	                                                         : "none";
}

/* Copies a finished buffer into the arena (NULL when either failed). */
static const char *
verdict_keep(struct arena *a, struct buf *b, int failed)
{
	const char *s = NULL;

	if (!failed && b->data != NULL)
		s = arena_strndup(a, b->data, b->len);
	buf_free(b);
	return s;
}

static bool
verdict_dmarc_passed(const struct verdict_input *in)
{
	return in->dmarc != NULL && in->dmarc->result == DMARC_RESULT_PASS;
}

/* A temporary DNS failure that may have changed the outcome (RFC 7489
 * §6.6.2 lets the receiver defer): DMARC could not decide, or did not pass
 * while SPF or a signature hit a temporary error. */
static bool
verdict_tempfailed(const struct verdict_input *in)
{
	size_t i, n;

	if (in->dmarc == NULL || verdict_dmarc_passed(in))
		return false;
	if (in->dmarc->result == DMARC_RESULT_TEMPERROR)
		return true;
	if (in->spf != NULL && in->spf->result == SPF_TEMPERROR)
		return true;
	n = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;
	for (i = 0; i < n; i++)
		if (dkim_verifier_result(in->dkim, i)->result == DKIM_TEMPERROR)
			return true;
	return false;
}

static void
verdict_set(struct session_verdict *v, enum session_action act, enum session_reason why, int code,
            const char *dsn, const char *text)
{
	v->action = act;
	v->reason = why;
	v->smtp_code = code;
	v->dsn = dsn;
	v->text = text;
}

/* RFC 8601 §5: every field claiming our authserv-id must go; when more
 * than SESSION_MAX_DEL_HEADERS do, some would stay, so the message is
 * refused instead (no genuine message carries that many). */
static void
verdict_refuse_forged_authres(struct session_verdict *v)
{
	verdict_set(v, SESSION_REJECT, SESSION_R_MALFORMED, 550, "5.7.1",
	            "Rejected: too many Authentication-Results fields claim this host's "
	            "authserv-id");
}

/*
 * When configured, a temporary DNS failure that may have changed DMARC's
 * outcome defers the message.  It comes before DMARC's disposition: a
 * reject or quarantine that a failed look-up may have caused is exactly
 * what deferring is for.  Returns 1 when deferred, 0 when not, -1 when
 * the arena is full.
 */
static int
verdict_defer(const struct verdict_input *in, struct arena *a, struct session_verdict *v)
{
	const struct dmarc_outcome *d = in->dmarc;
	const char *text;

	if (in->cfg->report_only || in->cfg->on_dns_tempfail != CONFIG_TEMPFAIL ||
	    !verdict_tempfailed(in) || d->from_rejected)
		return 0;
	text = arena_printf(a, "Temporary DNS failure checking %s; try again later",
	                    d->from_domain[0] ? d->from_domain : "the sender");
	/* RFC 7208 §8.6: 451 4.4.3 (RFC 3463 §3.5, directory server failure);
	 * X.7.1 is a permanent code only (RFC 3463 §3.8). */
	verdict_set(v, SESSION_TEMPFAIL, SESSION_R_DNS_TEMPFAIL, 451, "4.4.3", text);
	return text != NULL ? 1 : -1;
}

/* The action: the temporary-failure rule, DMARC's disposition, then the
 * configured SPF rule.  Returns -1 when the arena is full. */
static int
verdict_decide(const struct verdict_input *in, struct arena *a, struct session_verdict *v)
{
	const struct dmarc_outcome *d = in->dmarc;
	const struct policy_config *cfg = in->cfg;
	const char *text;
	int rc;

	verdict_set(v, SESSION_ACCEPT, SESSION_R_NONE, 0, NULL, NULL);
	if (in->del_overflow) {
		verdict_refuse_forged_authres(v);
		return 0;
	}
	if (d != NULL && d->override == DMARC_OVERRIDE_LOCAL_POLICY &&
	    in->cap_reason != SESSION_R_NONE)
		v->reason = in->cap_reason;
	if ((rc = verdict_defer(in, a, v)) != 0)
		return rc < 0 ? -1 : 0;
	if (d != NULL && d->disposition == DMARC_DISP_REJECT) {
		text = d->from_rejected
		           ? arena_strdup(
		                 a, "Rejected: the From field does not name one author domain")
		           : arena_printf(a, "Rejected by DMARC policy for %s", d->from_domain);
		verdict_set(v, SESSION_REJECT,
		            d->from_rejected ? SESSION_R_MALFORMED : SESSION_R_DMARC_POLICY, 550,
		            "5.7.1", text);
		return text != NULL ? 0 : -1;
	}
	if (d != NULL && d->disposition == DMARC_DISP_QUARANTINE) {
		v->reason = SESSION_R_DMARC_POLICY;
		if (cfg->quarantine == CONFIG_QUARANTINE_HOLD) {
			text = arena_printf(a, "DMARC policy for %s", d->from_domain);
			verdict_set(v, SESSION_QUARANTINE, SESSION_R_DMARC_POLICY, 0, NULL, text);
			return text != NULL ? 0 : -1;
		}
		return 0;
	}
	if (cfg->report_only)
		return 0;
	/* RFC 7208 §8.4 lets a receiver reject on fail; RFC 7489 §10.1 warns
	 * that doing so before DMARC defeats DMARC's forwarding allowance, so
	 * it only applies when DMARC did not pass and is off by default. */
	if (cfg->spf_fail_reject && in->spf != NULL && in->spf->result == SPF_FAIL &&
	    !verdict_dmarc_passed(in)) {
		text = in->spf->explanation != NULL
		           ? arena_printf(a, "SPF validation failed for %s: %s", in->spf->domain,
		                          in->spf->explanation)
		           : arena_printf(a, "SPF validation failed for %s", in->spf->domain);
		/* RFC 7372 §3.2: X.7.23, SPF validation failed. */
		verdict_set(v, SESSION_REJECT, SESSION_R_SPF_FAIL, 550, "5.7.23", text);
		return text != NULL ? 0 : -1;
	}
	return 0;
}

/* header.b prefixes that tell the signatures apart (RFC 6008 §4). */
static int
verdict_add_dkim(const struct verdict_input *in, struct arena *a, struct authres *w)
{
	size_t i, n = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;
	const char **bs;

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
	for (i = 0; i < n; i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(in->dkim, i);
		struct authres_dkim sig = {
		    .result = dkim_result_name(r->result),
		    .d = r->d[0] ? r->d : NULL,
		    .s = r->s[0] ? r->s : NULL,
		    .i = r->i[0] ? r->i : NULL,
		    .a = r->a[0] ? r->a : NULL,
		    .b = r->b_prefix,
		    .b_len = authres_b_prefix_len(bs, n, i),
		    .comment = r->testing ? "key in testing mode" : NULL,
		    .reason = r->reason,
		};

		authres_add_dkim(w, &sig);
	}
	return 0;
}

static const char *
verdict_authres(const struct verdict_input *in, struct arena *a)
{
	struct authres w;
	struct buf b;
	int rc;

	buf_init(&b, VERDICT_HEADER_MAX);
	authres_begin(&w, &b, in->cfg->authserv_id);
	if (in->spf != NULL) {
		bool helo = in->spf->scope == SPF_SCOPE_HELO;

		authres_add_spf(&w, spf_result_name(in->spf->result), helo,
		                helo ? in->spf->domain : in->spf->sender, NULL,
		                in->spf->problem[0] ? in->spf->problem : NULL);
	}
	if (verdict_add_dkim(in, a, &w) < 0) {
		buf_free(&b);
		return NULL;
	}
	if (in->dmarc != NULL && in->dmarc->from_domain[0] != '\0') {
		const struct dmarc_outcome *d = in->dmarc;

		authres_add_dmarc(&w, dmarc_result_name(d->result), d->from_domain,
		                  d->have_record ? dmarc_disp_name(d->policy) : NULL,
		                  d->have_record ? dmarc_disp_name(d->evaluated) : NULL,
		                  d->have_record ? dmarc_disp_name(d->disposition) : NULL,
		                  d->reason);
	}
	rc = authres_end(&w);
	return verdict_keep(a, &b, rc < 0);
}

static const char *
verdict_received_spf(const struct verdict_input *in, struct arena *a)
{
	struct buf b;
	int rc;

	buf_init(&b, VERDICT_HEADER_MAX);
	rc = spf_received_spf(in->spf, in->spf_req, &b);
	return verdict_keep(a, &b, rc < 0);
}

/* "pass(example.org) fail(other.example)" for the log line. */
static const char *
verdict_dkim_summary(const struct verdict_input *in, struct arena *a)
{
	size_t i, n = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;
	struct buf b;

	if (n == 0)
		return "none";
	buf_init(&b, VERDICT_HEADER_MAX);
	for (i = 0; i < n; i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(in->dkim, i);

		(void)buf_printf(&b, "%s%s(%s)", i ? " " : "", dkim_result_name(r->result),
		                 r->d[0] ? r->d : "-");
	}
	return verdict_keep(a, &b, 0);
}

/* The header on one line (RFC 5322 §2.2.3), as scripts want it; in place. */
static char *
verdict_unfold(char *h)
{
	char *r, *w;

	if (h == NULL)
		return NULL;
	for (r = w = h; *r != '\0'; r++) {
		if (*r == '\r' && r[1] == '\n' && (r[2] == ' ' || r[2] == '\t')) {
			*w++ = ' ';
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return h;
}

static void
verdict_json_spf(const struct verdict_input *in, struct json *j)
{
	const struct spf_outcome *o = in->spf;

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
verdict_json_dkim(const struct verdict_input *in, struct json *j)
{
	size_t i, n = in->dkim != NULL ? dkim_verifier_count(in->dkim) : 0;

	json_key(j, "dkim");
	json_array_begin(j);
	for (i = 0; i < n; i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(in->dkim, i);

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
		json_object_end(j);
	}
	json_array_end(j);
}

static void
verdict_json_dmarc(const struct verdict_input *in, struct json *j)
{
	const struct dmarc_outcome *d = in->dmarc;

	json_key(j, "dmarc");
	json_object_begin(j);
	json_key(j, "result");
	json_string(j, d != NULL ? dmarc_result_name(d->result) : "none");
	json_key(j, "from_domain");
	json_string(j, d != NULL ? d->from_domain : "");
	json_key(j, "policy");
	json_string(j, disp_name(d, d != NULL ? d->policy : DMARC_DISP_NONE));
	json_key(j, "disposition");
	json_string(j, applied_name(d));
	json_key(j, "spf_aligned");
	json_bool(j, d != NULL && d->spf_aligned);
	json_key(j, "dkim_aligned");
	json_bool(j, d != NULL && d->dkim_aligned);
	if (d != NULL) {
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
	}
	json_object_end(j);
}

/* The authcheck contract of DESIGN.md, plus the action taken. */
static const char *
verdict_json(const struct verdict_input *in, const struct session_verdict *v, struct arena *a)
{
	struct buf b;
	struct json j;

	buf_init(&b, VERDICT_JSON_MAX);
	json_init(&j, &b);
	json_object_begin(&j);
	verdict_json_spf(in, &j);
	verdict_json_dkim(in, &j);
	verdict_json_dmarc(in, &j);
	json_key(&j, "authentication_results");
	if (v->nadd > 0) {
		char *h = arena_printf(a, "%s:%s", v->add[0].name, v->add[0].value);

		json_string(&j, verdict_unfold(h));
	} else {
		json_null(&j);
	}
	json_key(&j, "action");
	json_string(&j, session_action_name(v->action));
	if (v->smtp_code != 0) {
		json_key(&j, "smtp_reply");
		json_string(&j, arena_printf(a, "%d %s %s", v->smtp_code, v->dsn, v->text));
	}
	json_object_end(&j);
	return verdict_keep(a, &b, !json_ok(&j));
}

static void
verdict_json_published(const struct dmarc_outcome *d, struct json *j)
{
	const struct dmarc_record *r = &d->record;
	size_t i;

	json_key(j, "policy_published");
	json_object_begin(j);
	json_key(j, "domain");
	json_string(j, d->policy_domain);
	json_key(j, "p");
	json_string(j, dmarc_disp_name(r->p));
	if (r->has_sp) {
		json_key(j, "sp");
		json_string(j, dmarc_disp_name(r->sp));
	}
	if (r->has_np) {
		json_key(j, "np");
		json_string(j, dmarc_disp_name(r->np));
	}
	json_key(j, "adkim");
	json_string_len(j, &r->adkim, 1);
	json_key(j, "aspf");
	json_string_len(j, &r->aspf, 1);
	if (r->pct >= 0) {
		json_key(j, "pct");
		json_int(j, r->pct);
	}
	json_key(j, "fo");
	json_string(j, r->fo);
	json_key(j, "testing");
	json_bool(j, r->testing);
	json_key(j, "rua");
	json_array_begin(j);
	for (i = 0; i < r->nrua; i++)
		json_string(j, r->rua[i]);
	json_array_end(j);
	json_object_end(j);
}

/* One row of a DMARC aggregate report (RFC 9990 §3 / RFC 7489 appendix C). */
static const char *
verdict_report(const struct verdict_input *in, struct arena *a)
{
	const struct dmarc_outcome *d = in->dmarc;
	struct buf b;
	struct json j;

	if (d == NULL || !d->have_record)
		return NULL;
	buf_init(&b, VERDICT_JSON_MAX);
	json_init(&j, &b);
	json_object_begin(&j);
	json_key(&j, "source_ip");
	json_string(&j, in->client_ip != NULL ? in->client_ip : "");
	json_key(&j, "header_from");
	json_string(&j, d->from_domain);
	json_key(&j, "envelope_from");
	json_string(&j, in->spf != NULL ? in->spf->domain : "");
	verdict_json_published(d, &j);
	json_key(&j, "disposition");
	json_string(&j, dmarc_disp_name(d->disposition));
	json_key(&j, "dkim_aligned");
	json_string(&j, d->dkim_aligned ? "pass" : "fail");
	json_key(&j, "spf_aligned");
	json_string(&j, d->spf_aligned ? "pass" : "fail");
	json_key(&j, "override");
	json_string(&j, dmarc_override_name(d->override));
	verdict_json_spf(in, &j);
	verdict_json_dkim(in, &j);
	json_object_end(&j);
	return verdict_keep(a, &b, !json_ok(&j));
}

static void
verdict_add_header(struct session_verdict *v, const char *name, const char *value)
{
	if (value != NULL && v->nadd < SESSION_MAX_ADD_HEADERS) {
		v->add[v->nadd].name = name;
		v->add[v->nadd].value = value;
		v->nadd++;
	}
}

static void
verdict_copy_deletions(struct session_verdict *v, const unsigned *del_index, size_t ndel)
{
	size_t i;

	v->ndel = ndel < SESSION_MAX_DEL_HEADERS ? ndel : SESSION_MAX_DEL_HEADERS;
	for (i = 0; i < v->ndel; i++)
		v->del_index[i] = del_index[i];
}

int
verdict_build(const struct verdict_input *in, struct arena *a, struct session_verdict *out,
              struct auth_error *err)
{
	const char *ar;

	memset(out, 0, sizeof(*out));
	if (verdict_decide(in, a, out) < 0)
		goto full;
	/* RFC 8601 §5: ours goes first, above anything the message carried. */
	if ((ar = verdict_authres(in, a)) == NULL)
		goto full;
	verdict_add_header(out, AUTHRES_FIELD, arena_printf(a, " %s", ar));
	if (in->cfg->add_received_spf && in->spf != NULL) {
		const char *rs = verdict_received_spf(in, a);

		if (rs == NULL)
			goto full;
		verdict_add_header(out, "Received-SPF", arena_printf(a, " %s", rs));
	}
	verdict_copy_deletions(out, in->del_index, in->ndel);
	out->spf_result = in->spf != NULL ? spf_result_name(in->spf->result) : "none";
	out->dkim_summary = verdict_dkim_summary(in, a);
	out->dmarc_result = in->dmarc != NULL ? dmarc_result_name(in->dmarc->result) : "none";
	out->dmarc_disposition = applied_name(in->dmarc);
	if (in->dmarc != NULL && in->dmarc->from_domain[0] != '\0')
		out->from_domain = in->dmarc->from_domain;
	out->report_json = verdict_report(in, a);
	if ((out->json = verdict_json(in, out, a)) == NULL || out->dkim_summary == NULL)
		goto full;
	return 0;
full:
	return auth_error_set(err, AUTH_ELIMIT, "verdict: out of per-message memory");
}

void
verdict_exempt(struct session_verdict *out, const unsigned *del_index, size_t ndel,
               bool del_overflow)
{
	memset(out, 0, sizeof(*out));
	verdict_set(out, SESSION_ACCEPT, SESSION_R_TRUSTED, 0, NULL, NULL);
	verdict_copy_deletions(out, del_index, ndel);
	out->spf_result = out->dmarc_result = out->dmarc_disposition = "skipped";
	out->dkim_summary = "skipped";
	out->json = "{\"skipped\":\"trusted client\",\"action\":\"accept\"}";
	if (del_overflow) {
		verdict_refuse_forged_authres(out);
		out->json = "{\"skipped\":\"trusted client\",\"action\":\"reject\"}";
	}
}

void
verdict_error(const struct policy_config *cfg, struct session_verdict *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg->on_internal_error == CONFIG_TEMPFAIL)
		verdict_set(out, SESSION_TEMPFAIL, SESSION_R_INTERNAL, 451, "4.3.0",
		            "Temporary local problem; try again later");
	else
		verdict_set(out, SESSION_ACCEPT, SESSION_R_INTERNAL, 0, NULL, NULL);
	out->spf_result = out->dmarc_result = out->dmarc_disposition = "error";
	out->dkim_summary = "error";
	out->json = "{\"error\":\"internal error\"}";
}
