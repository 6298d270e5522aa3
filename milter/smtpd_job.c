/*
 * smtpd_job - the listener's work off the loop (smtpd_int.h): SPF and the
 * next hop's MAIL at MAIL, the next hop's RCPT at RCPT, and at end of
 * DATA the evaluation, the edited header block and the hand-off.  run()
 * owns the connection's session, transaction and next hop; it writes the
 * reply, and done() (loop thread) sends it.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "config.h"
#include "hdredit.h"
#include "log.h"
#include "maildir.h"
#include "metrics.h"
#include "recorder.h"
#include "server.h"
#include "smtpd_int.h"

/* Our header fields: far less than this, with every DKIM result. */
#define SMTPD_ADDED_MAX (256u * 1024)

static struct smtpd_conn *
smtpd_job_conn(struct workpool_job *j)
{
	return (struct smtpd_conn *)(void *)((char *)j - offsetof(struct smtpd_conn, job));
}

static void
smtpd_set_reply(struct smtpd_conn *c, const char *text)
{
	snprintf(c->reply, sizeof(c->reply), "%s", text);
}

/* The next hop's reply as ours: its code, its enhanced code (or the
 * class's generic one), its first line made printable. */
static void
smtpd_hop_reply(struct smtpd_conn *c, const struct smtpc_reply *r)
{
	char text[256];
	size_t i;

	for (i = 0; i + 1 < sizeof(text) && r->text[i] != '\0' && r->text[i] != '\n'; i++)
		text[i] = r->text[i] >= 0x20 && r->text[i] < 0x7f ? r->text[i] : ' ';
	text[i] = '\0';
	snprintf(c->reply, sizeof(c->reply), "%d %s %s", r->code,
	         r->dsn[0]        ? r->dsn
	         : r->code >= 500 ? "5.0.0"
	                          : "4.0.0",
	         text[0] ? text : "Refused by the next hop");
}

static void
smtpd_hop_lost(struct smtpd_conn *c, const struct auth_error *err)
{
	log_msg(LOG_L_WARNING, "%s: next hop %s: %s", c->qid, c->sc->next_hop, err->msg);
	smtpd_set_reply(c, "451 4.4.1 Next hop not available, try again later");
	smtpc_drop(c->hop);
	c->hop = NULL;
}

static void
job_mail(struct smtpd_conn *c)
{
	const struct smtpd_conf *sc = c->sc;
	struct smtpc_opts o = {smtpd_conn_hostname(c), sc->hop_connect_timeout * 1000u,
	                       sc->hop_timeout * 1000u, sc->hop_data_timeout * 1000u,
	                       sc->hop_starttls};
	struct auth_error err;
	struct smtpc_reply r;

	if (session_mail_from(c->session, c->mail.addr, &err) < 0) {
		log_msg(LOG_L_ERROR, "%s: mail from: %s", c->qid, err.msg);
		c->eval_failed = true;
	}
	smtpd_set_reply(c, "250 2.1.0 Ok");
	if (sc->next_hop == NULL)
		return;
	if ((c->hop = smtpc_open(&sc->hop, &o, &r, &err)) == NULL ||
	    smtpc_mail(c->hop, c->mail.addr, c->mail.has_size ? c->mail.size : 0,
	               c->mail.body == SMTPCMD_BODY_8BITMIME, &r, &err) < 0) {
		smtpd_hop_lost(c, &err);
		c->job_failed = true;
		return;
	}
	if (r.code / 100 != 2) {
		smtpd_hop_reply(c, &r);
		smtpc_close(c->hop);
		c->hop = NULL;
		c->job_failed = true;
	}
}

static void
job_rcpt(struct smtpd_conn *c)
{
	struct auth_error err;
	struct smtpc_reply r;

	if (smtpc_rcpt(c->hop, c->rcpt, &r, &err) < 0) {
		smtpd_hop_lost(c, &err);
		return;
	}
	if (r.code / 100 != 2) {
		smtpd_hop_reply(c, &r);
		return;
	}
	if (smtpd_add_rcpt(c, c->rcpt) < 0) {
		smtpd_set_reply(c, "451 4.3.0 Out of memory, try again later");
		return;
	}
	c->hop_ok++;
	smtpd_set_reply(c, "250 2.1.5 Ok");
}

/* ---- end of DATA ---- */

static void
smtpd_accepted(struct smtpd_conn *c)
{
	snprintf(c->reply, sizeof(c->reply), "250 2.0.0 Ok: queued as %s", c->qid);
}

/* LMTP: one reply per recipient; 250 only when every one took it. */
static void
smtpd_lmtp_replies(struct smtpd_conn *c, const struct smtpc_reply *rs, size_t n)
{
	const struct smtpc_reply *first4 = NULL, *first5 = NULL;
	size_t i, ok = 0;

	for (i = 0; i < n; i++) {
		if (rs[i].code / 100 == 2)
			ok++;
		else if (rs[i].code / 100 == 4 && first4 == NULL)
			first4 = &rs[i];
		else if (rs[i].code / 100 == 5 && first5 == NULL)
			first5 = &rs[i];
	}
	if (ok == n)
		return smtpd_accepted(c);
	if (ok == 0)
		return smtpd_hop_reply(c, first4 != NULL ? first4 : first5);
	/* No single reply can say this: the client must not take it for a
	 * delivery, and those that have it may get it again. */
	log_msg(LOG_L_WARNING, "%s: the next hop took %zu of %zu recipients", c->qid, ok, n);
	snprintf(c->reply, sizeof(c->reply),
	         "451 4.3.0 Delivered to %zu of %zu recipients only, try again later", ok, n);
}

static void
smtpd_relay(struct smtpd_conn *c, const struct smtpc_piece *pieces, size_t npieces)
{
	struct smtpc_reply *rs = calloc(c->hop_ok > 0 ? c->hop_ok : 1, sizeof(*rs));
	struct auth_error err;

	if (rs == NULL) {
		smtpd_set_reply(c, "451 4.3.0 Out of memory, try again later");
		return;
	}
	if (smtpc_data(c->hop, pieces, npieces, rs, c->hop_ok, &err) < 0) {
		smtpd_hop_lost(c, &err);
	} else if (rs[0].code == 354 || rs[0].code / 100 != 2) {
		/* DATA itself refused (354 cannot be a final reply). */
		smtpd_hop_reply(c, &rs[0]);
	} else if (c->sc->hop.proto == SMTPC_LMTP) {
		smtpd_lmtp_replies(c, rs, c->hop_ok);
	} else {
		smtpd_accepted(c);
	}
	free(rs);
	smtpc_close(c->hop);
	c->hop = NULL;
}

/* One folder per recipient (the template expanded, duplicates once), or
 * the template itself. */
static size_t
smtpd_folders(struct smtpd_conn *c, const char *tmpl, char (*dirs)[MAILDIR_PATH_MAX],
              const char **list)
{
	struct auth_error err;
	size_t i, j, n = 0;

	if (!maildir_per_recipient(tmpl)) {
		snprintf(dirs[0], MAILDIR_PATH_MAX, "%s", tmpl);
		list[0] = dirs[0];
		return 1;
	}
	for (i = 0; i < c->nrcpt; i++) {
		if (maildir_expand(tmpl, c->rcpts[i], dirs[n], &err) < 0)
			continue; /* refused at RCPT already */
		for (j = 0; j < n && strcmp(dirs[j], dirs[n]) != 0; j++)
			;
		if (j == n) {
			list[n] = dirs[n];
			n++;
		}
	}
	return n;
}

static void
smtpd_store(struct smtpd_conn *c, const char *tmpl, const struct smtpc_piece *pieces,
            size_t npieces)
{
	char(*dirs)[MAILDIR_PATH_MAX] = calloc(c->nrcpt + 1, sizeof(*dirs));
	const char **list = calloc(c->nrcpt + 1, sizeof(*list));
	struct auth_error err;
	size_t n;

	if (dirs == NULL || list == NULL) {
		smtpd_set_reply(c, "451 4.3.0 Out of memory, try again later");
	} else if ((n = smtpd_folders(c, tmpl, dirs, list)) == 0 ||
	           maildir_deliver(list, n, pieces, npieces, &err) < 0) {
		log_msg(LOG_L_ERROR, "%s: Maildir delivery failed: %s", c->qid,
		        n == 0 ? "no folder" : err.msg);
		smtpd_set_reply(c, "451 4.3.0 Cannot store the message now, try again later");
	} else {
		smtpd_accepted(c);
	}
	free(dirs);
	free(list);
}

/* RFC 5321 §4.4: the trace field of this hop.  Every value in it passed
 * the command parser (printable ASCII, no spaces in HELO). */
static void
smtpd_received(const struct smtpd_conn *c, char *out, size_t outlen)
{
	char date[64], rcpt[SMTPCMD_PATH_MAX + 16] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		date[0] = '\0';
	if (c->nrcpt == 1)
		snprintf(rcpt, sizeof(rcpt), "\r\n\tfor <%s>", c->rcpts[0]);
	snprintf(out, outlen,
	         "Received: from %s ([%s])\r\n\tby %s (authmilter) with %s id %s%s;\r\n\t%s\r\n",
	         c->helo[0] ? c->helo : "unknown", c->client, smtpd_conn_hostname(c),
	         c->tls ? (c->esmtp ? "ESMTPS" : "SMTPS") : (c->esmtp ? "ESMTP" : "SMTP"), c->qid,
	         rcpt, date);
}

static void
smtpd_deliver(struct smtpd_conn *c, const struct verdict *v)
{
	const struct policy_config *cfg = confref_config(c->ref);
	struct smtpc_piece *pieces = NULL;
	const char *quarantine = NULL;
	char qbuf[MAILDIR_PATH_MAX], trace[1024];
	struct buf added;
	size_t n;

	if (v->action == VERDICT_QUARANTINE && cfg->quarantine == CONFIG_QUARANTINE_HOLD)
		quarantine = smtpd_conf_quarantine(c->sc, qbuf, sizeof(qbuf));
	smtpd_received(c, trace, sizeof(trace));
	buf_init(&added, SMTPD_ADDED_MAX);
	if (hdredit_pieces(c->data.data, c->data.len, v, trace, &added, &pieces, &n) < 0)
		smtpd_set_reply(c, "451 4.3.0 Out of memory, try again later");
	else if (quarantine != NULL)
		smtpd_store(c, quarantine, pieces, n);
	else if (c->hop != NULL)
		smtpd_relay(c, pieces, n);
	else if (c->sc->next_hop != NULL)
		smtpd_set_reply(c, "451 4.4.1 Next hop not available, try again later");
	else
		smtpd_store(c, c->sc->maildir, pieces, n);
	free(pieces);
	buf_free(&added);
}

/* The verdict's own reply, as the milter gives it. */
static void
smtpd_refuse(struct smtpd_conn *c, const struct verdict *v, bool reject)
{
	struct server_reply r;

	server_reply(v, reject, &r);
	snprintf(c->reply, sizeof(c->reply), "%s %s %s", r.code, r.dsn, r.text);
}

static void
job_eom(struct smtpd_conn *c)
{
	const struct verdict *v = NULL;
	uint64_t started = metrics_clock();
	struct auth_error err;
	bool failed = c->eval_failed;

	/* Fed even after a fault: forged fields are still noted. */
	if (session_data(c->session, c->data.data != NULL ? c->data.data : "", c->data.len, &err) <
	    0) {
		log_msg(LOG_L_ERROR, "%s: data: %s", c->qid, err.msg);
		failed = true;
	}
	if (!failed && session_eom(c->session, &v, &err) < 0) {
		log_msg(LOG_L_ERROR, "%s: end of message: %s", c->qid, err.msg);
		failed = true;
	}
	if (failed || v == NULL)
		v = session_error_verdict(c->session);
	if (v->action == VERDICT_REJECT || v->action == VERDICT_TEMPFAIL)
		smtpd_refuse(c, v, v->action == VERDICT_REJECT);
	else
		smtpd_deliver(c, v);
	log_summary(c->qid, c->client, v);
	metrics_message(METRICS_SMTP, v, started);
	/* A message deferred, by us or the next hop, comes again: it is
	 * recorded once its answer is final. */
	if (c->reply[0] == '2' || c->reply[0] == '5')
		recorder_append(c->qid, v->report);
	smtpc_close(c->hop);
	c->hop = NULL;
}

static void
smtpd_job_run(struct workpool_job *j)
{
	struct smtpd_conn *c = smtpd_job_conn(j);

	switch (c->job_kind) {
	case SJ_MAIL:
		job_mail(c);
		break;
	case SJ_RCPT:
		job_rcpt(c);
		break;
	case SJ_EOM:
		job_eom(c);
		break;
	}
}

static unsigned long smtpd_qid_seq; /* loop thread only */

static void
smtpd_job_done(struct workpool_job *j)
{
	struct smtpd_conn *c = smtpd_job_conn(j);

	if (c->job_kind == SJ_MAIL && !c->job_failed) {
		c->in_mail = true;
		smtpd_transaction(c->srv, true);
	} else if (c->job_kind == SJ_EOM) {
		smtpd_conn_end_transaction(c);
	}
	smtpd_conn_job_done(c);
}

void
smtpd_job_submit(struct smtpd_conn *c, enum smtpd_job_kind kind)
{
	struct timeval tv;

	/* Unique across restarts too: the time to the microsecond. */
	if (kind == SJ_MAIL) {
		gettimeofday(&tv, NULL);
		snprintf(c->qid, sizeof(c->qid), "%08lX%05lX%04lX", (unsigned long)tv.tv_sec,
		         (unsigned long)tv.tv_usec, ++smtpd_qid_seq & 0xffff);
	}
	c->job_kind = kind;
	c->job_failed = false;
	c->reply[0] = '\0';
	c->job.run = smtpd_job_run;
	c->job.done = smtpd_job_done;
	c->state = SC_BUSY;
	bufferevent_disable(c->bev, EV_READ);
	workpool_submit(smtpd_pool(c->srv), &c->job);
}
