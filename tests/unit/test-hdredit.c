/*
 * test-hdredit - the header block the listener hands on: a real session's
 * verdict (forged Authentication-Results with our authserv-id in several
 * places, folded and continued fields beside them) applied to the raw
 * message, so the positions the session counts and the fields removed
 * here are checked to be the same ones.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns_zone.h"
#include "hdredit.h"
#include "session.h"
#include "tap.h"

static const char zone[] = "$ORIGIN example.\n$TTL 300\n"
                           "@ SOA ns.example. host.example. 1 3600 600 86400 300\n"
                           "good IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n";

/* The verdict for msg from 192.0.2.1, with authserv-id mx.example. */
static const struct verdict *
evaluate(struct session *s, const char *msg)
{
	const struct verdict *v = NULL;
	struct auth_error err;

	if (session_connect(s, "192.0.2.1", NULL, &err) < 0 ||
	    session_helo(s, "c.example", &err) < 0 ||
	    session_mail_from(s, "a@good.example", &err) < 0 ||
	    session_rcpt(s, "b@dest.example", &err) < 0 ||
	    session_data(s, msg, strlen(msg), &err) < 0 || session_eom(s, &v, &err) < 0) {
		diag("session: %s", err.msg);
		exit(1);
	}
	return v;
}

static char *
join(const struct smtpc_piece *p, size_t n)
{
	size_t len = hdredit_length(p, n), i, off = 0;
	char *out = malloc(len + 1);

	for (i = 0; i < n; i++) {
		memcpy(out + off, p[i].p, p[i].n);
		off += p[i].n;
	}
	out[len] = '\0';
	return out;
}

static void
test_with_session(struct session *s)
{
	const char *msg = "Authentication-Results: mx.example; dkim=pass\r\n"
	                  "Received: from a\r\n\tby b\r\n"
	                  "Authentication-Results: other.example; spf=pass\r\n"
	                  "authentication-results: mx.example;\r\n spf=pass\r\n"
	                  "From: a@good.example\r\n"
	                  "Authentication-Results: mx.example; dmarc=pass\r\n"
	                  "\r\n"
	                  "Authentication-Results: mx.example; body line\r\n";
	const struct verdict *v = evaluate(s, msg);
	struct smtpc_piece *pieces;
	struct buf added;
	size_t n;
	char *out;
	const char *body;

	is_int(v->ndel, 3, "the session names three forged fields");
	buf_init(&added, 1u << 20);
	is_int(hdredit_pieces(msg, strlen(msg), v, "Received: by us\r\n", &added, &pieces, &n), 0,
	       "pieces made");
	out = join(pieces, n);
	ok(strncmp(out, "Authentication-Results: mx.example;", 35) == 0,
	   "our Authentication-Results on top");
	body = strstr(out, "Received: by us\r\nReceived: from a\r\n\tby b\r\n"
	                   "Authentication-Results: other.example; spf=pass\r\n"
	                   "From: a@good.example\r\n\r\n"
	                   "Authentication-Results: mx.example; body line\r\n");
	ok(body != NULL,
	   "then our trace field, the forged fields gone, the others and the body kept");
	ok(body != NULL &&
	       strlen(body) == strlen("Received: by us\r\n") + strlen(msg) -
	                           strlen("Authentication-Results: mx.example; dkim=pass\r\n"
	                                  "authentication-results: mx.example;\r\n spf=pass\r\n"
	                                  "Authentication-Results: mx.example; dmarc=pass\r\n"),
	   "nothing else added or lost");
	is_int(n, 4, "one piece for our fields and three runs of the message");
	free(out);
	free(pieces);
	buf_free(&added);
	session_reset(s);
}

static void
test_no_header_block_end(struct session *s)
{
	const char *msg = "Subject: only headers\r\nAuthentication-Results: mx.example; x\r\n";
	const struct verdict *v = evaluate(s, msg);
	struct smtpc_piece *pieces;
	struct buf added;
	size_t n;
	char *out;

	buf_init(&added, 1u << 20);
	hdredit_pieces(msg, strlen(msg), v, NULL, &added, &pieces, &n);
	out = join(pieces, n);
	ok(strstr(out, "\r\nSubject: only headers\r\n") != NULL &&
	       strstr(out, "mx.example; x") == NULL,
	   "a message without a blank line: the last field deleted");
	free(out);
	free(pieces);
	buf_free(&added);
	session_reset(s);
}

int
main(void)
{
	struct dns_resolver *r = dns_zone_new(NULL);
	struct policy_config *cfg = config_new(NULL);
	struct session_engines *e;
	struct session *s;

	if (r == NULL || cfg == NULL || dns_zone_load_string(r, zone, NULL, NULL) < 0 ||
	    config_set(cfg, "authserv_id", "mx.example", NULL) < 0 ||
	    config_set(cfg, "trusted_networks", "", NULL) < 0 ||
	    (e = session_engines_new(cfg, r, NULL, NULL)) == NULL ||
	    (s = session_new(cfg, e, NULL)) == NULL)
		return 1;
	test_with_session(s);
	test_no_header_block_end(s);
	session_free(s);
	session_engines_free(e);
	config_free(cfg);
	dns_resolver_free(r);
	return done_testing();
}
