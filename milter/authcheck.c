/*
 * authcheck - verify one message offline.
 *
 * Reads one message (a file or standard input), evaluates it with the same
 * engines the daemon uses, and prints the verdicts: a readable summary, or
 * JSON (--json) in the form ../shared/DESIGN.md fixes for scripts and test
 * suites.  DNS comes from the system resolver, an explicit server
 * (--dns-server), or RFC 1035 master files (--dns-zone) with forced
 * timeouts (--dns-fail).
 *
 * Exit status: 0 when evaluated (whatever the verdicts), 2 on usage or I/O
 * error.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/config.h"
#include "dns.h"
#include "dns_cache.h"
#include "dns_ldns.h"
#include "dns_zone.h"
#include "json.h"
#include "msg.h"
#include "session.h"
#include "spf.h"

#define AUTHCHECK_MAX_LIST 64

enum dmarc_mode_opt { MODE_RFC9989, MODE_RFC7489 };

struct authcheck_opts {
	const char *ip, *helo, *mail_from, *authserv_id, *dns_server, *message;
	const char *zones[AUTHCHECK_MAX_LIST];
	size_t nzones;
	const char *fails[AUTHCHECK_MAX_LIST];
	size_t nfails;
	const char *query_name, *query_type;
	bool spf_only, json;
	enum dmarc_mode_opt dmarc_mode;
};

static void
usage(FILE *f)
{
	fputs("usage: authcheck [options] [MESSAGE-FILE | -]\n"
	      "  --ip ADDR               connecting client address\n"
	      "  --helo NAME             HELO/EHLO name\n"
	      "  --mail-from ADDR        envelope sender (\"\" or \"<>\" is the null sender)\n"
	      "  --dns-zone FILE         answer DNS from this RFC 1035 master file (repeatable)\n"
	      "  --dns-fail NAME[/TYPE]  queries for NAME (of TYPE) time out (repeatable)\n"
	      "  --dns-server HOST[:PORT] resolver to query instead of /etc/resolv.conf\n"
	      "  --authserv-id ID        authserv-id for the Authentication-Results header\n"
	      "                          (also our host name for SPF's %{r} macro)\n"
	      "  --spf-only              evaluate SPF only; no message is read\n"
	      "  --dmarc-mode rfc9989|rfc7489  DMARC discovery rules (default rfc9989)\n"
	      "  --json                  print the result as JSON\n"
	      "  --dns-query NAME TYPE   print what the resolver answers, and exit\n"
	      "  --help                  this text\n",
	      f);
}

static int
add_to_list(const char **list, size_t *n, const char *v, const char *what)
{
	if (*n >= AUTHCHECK_MAX_LIST) {
		fprintf(stderr, "authcheck: too many %s options (at most %d)\n", what,
		        AUTHCHECK_MAX_LIST);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

enum {
	OPT_IP = 256,
	OPT_HELO,
	OPT_MAIL_FROM,
	OPT_DNS_ZONE,
	OPT_DNS_FAIL,
	OPT_DNS_SERVER,
	OPT_AUTHSERV_ID,
	OPT_SPF_ONLY,
	OPT_DMARC_MODE,
	OPT_JSON,
	OPT_DNS_QUERY,
	OPT_HELP
};

static const struct option long_options[] = {
    {"ip", required_argument, NULL, OPT_IP},
    {"helo", required_argument, NULL, OPT_HELO},
    {"mail-from", required_argument, NULL, OPT_MAIL_FROM},
    {"dns-zone", required_argument, NULL, OPT_DNS_ZONE},
    {"dns-fail", required_argument, NULL, OPT_DNS_FAIL},
    {"dns-server", required_argument, NULL, OPT_DNS_SERVER},
    {"authserv-id", required_argument, NULL, OPT_AUTHSERV_ID},
    {"spf-only", no_argument, NULL, OPT_SPF_ONLY},
    {"dmarc-mode", required_argument, NULL, OPT_DMARC_MODE},
    {"json", no_argument, NULL, OPT_JSON},
    {"dns-query", required_argument, NULL, OPT_DNS_QUERY},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Handles one option; returns 0, 1 for --help, -1 on a usage error. */
static int
parse_option(struct authcheck_opts *o, int c, char *arg)
{
	switch (c) {
	case OPT_IP:
		o->ip = arg;
		return 0;
	case OPT_HELO:
		o->helo = arg;
		return 0;
	case OPT_MAIL_FROM:
		o->mail_from = arg;
		return 0;
	case OPT_DNS_ZONE:
		return add_to_list(o->zones, &o->nzones, arg, "--dns-zone");
	case OPT_DNS_FAIL:
		return add_to_list(o->fails, &o->nfails, arg, "--dns-fail");
	case OPT_DNS_SERVER:
		o->dns_server = arg;
		return 0;
	case OPT_AUTHSERV_ID:
		o->authserv_id = arg;
		return 0;
	case OPT_SPF_ONLY:
		o->spf_only = true;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_DNS_QUERY:
		o->query_name = arg;
		return 0;
	case OPT_HELP:
		return 1;
	case OPT_DMARC_MODE:
		if (strcmp(arg, "rfc9989") == 0)
			o->dmarc_mode = MODE_RFC9989;
		else if (strcmp(arg, "rfc7489") == 0)
			o->dmarc_mode = MODE_RFC7489;
		else {
			fprintf(stderr, "authcheck: --dmarc-mode takes rfc9989 or rfc7489\n");
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

/* Returns 0, 1 when --help was asked, -1 on a usage error (reported). */
static int
parse_args(struct authcheck_opts *o, int argc, char **argv)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1)
		if ((rc = parse_option(o, c, optarg)) != 0)
			return rc;
	if (o->query_name != NULL) {
		if (optind >= argc) {
			fprintf(stderr, "authcheck: --dns-query needs NAME and TYPE\n");
			return -1;
		}
		o->query_type = argv[optind++];
	}
	if (argc - optind > 1) {
		fprintf(stderr, "authcheck: one message at a time\n");
		return -1;
	}
	o->message = optind < argc ? argv[optind] : "-";
	if (o->dns_server != NULL && (o->nzones > 0 || o->nfails > 0)) {
		fprintf(stderr, "authcheck: --dns-server cannot be combined with --dns-zone "
		                "or --dns-fail\n");
		return -1;
	}
	return 0;
}

/* The backend the options ask for, behind the same cache the daemon uses. */
static struct dns_resolver *
make_resolver(const struct authcheck_opts *o, struct auth_error *err)
{
	struct dns_resolver *backend;
	struct dns_cache_opts copts = {0};
	size_t i;

	if (o->nzones > 0 || o->nfails > 0) {
		if ((backend = dns_zone_new(err)) == NULL)
			return NULL;
		for (i = 0; i < o->nzones; i++)
			if (dns_zone_load_file(backend, o->zones[i], NULL, err) < 0)
				goto fail;
		for (i = 0; i < o->nfails; i++)
			if (dns_zone_add_fail(backend, o->fails[i], err) < 0)
				goto fail;
	} else {
		struct dns_ldns_opts lopts = {.server = o->dns_server};

		if ((backend = dns_ldns_new(&lopts, err)) == NULL)
			return NULL;
	}
	return dns_cache_new(backend, &copts, err);
fail:
	dns_resolver_free(backend);
	return NULL;
}

static int
parse_type(const char *s, enum dns_type *out)
{
	static const enum dns_type types[] = {DNS_T_A,   DNS_T_AAAA, DNS_T_MX,
	                                      DNS_T_TXT, DNS_T_PTR,  DNS_T_CNAME};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, dns_type_name(types[i])) == 0) {
			*out = types[i];
			return 0;
		}
	return -1;
}

static void
print_txt(const struct dns_rr *rr)
{
	size_t i, k;

	for (i = 0; i < rr->u.txt.nstrings; i++) {
		const struct dns_txt_string *s = &rr->u.txt.strings[i];

		fputs(i ? " \"" : "\"", stdout);
		for (k = 0; k < s->len; k++) {
			unsigned char c = s->data[k];

			if (c == '"' || c == '\\')
				printf("\\%c", c);
			else if (c < 0x20 || c >= 0x7f)
				printf("\\%03u", c);
			else
				putchar(c);
		}
		putchar('"');
	}
}

static void
print_rr(const struct dns_rr *rr)
{
	char addr[INET6_ADDRSTRLEN];

	printf("%s %lu ", dns_type_name(rr->type), (unsigned long)rr->ttl);
	switch (rr->type) {
	case DNS_T_A:
		printf("%s", inet_ntop(AF_INET, &rr->u.a, addr, sizeof(addr)));
		break;
	case DNS_T_AAAA:
		printf("%s", inet_ntop(AF_INET6, &rr->u.aaaa, addr, sizeof(addr)));
		break;
	case DNS_T_MX:
		printf("%u %s.", rr->u.mx.preference, rr->u.mx.exchange);
		break;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		printf("%s.", rr->u.ptr);
		break;
	case DNS_T_TXT:
		print_txt(rr);
		break;
	}
	putchar('\n');
}

/* --dns-query: shows exactly what the engines would be told. */
static int
run_dns_query(struct dns_resolver *r, const struct authcheck_opts *o)
{
	const struct dns_answer *a;
	struct auth_error err;
	enum dns_type type;
	size_t i;

	if (parse_type(o->query_type, &type) < 0) {
		fprintf(stderr, "authcheck: unknown DNS type %s (A, AAAA, MX, TXT, PTR, CNAME)\n",
		        o->query_type);
		return 2;
	}
	if (dns_query(r, o->query_name, type, &a, &err) < 0) {
		fprintf(stderr, "authcheck: %s\n", err.msg);
		return 2;
	}
	printf("%s %s: %s", o->query_name, dns_type_name(type), dns_status_name(a->status));
	if (a->status == DNS_TEMPFAIL && a->reason != NULL)
		printf(" (%s)", a->reason);
	else if (a->status != DNS_RECORDS)
		printf(" ttl %lu", (unsigned long)a->ttl);
	putchar('\n');
	for (i = 0; i < a->count; i++)
		print_rr(&a->rrs[i]);
	dns_answer_release(a);
	return 0;
}

/* The envelope sender as SPF wants it: "" or "<>" is the null sender,
 * and surrounding angle brackets go. */
static const char *
spf_sender(const char *from, char *buf, size_t size)
{
	size_t n;

	if (from == NULL || strcmp(from, "<>") == 0)
		return "";
	n = strlen(from);
	if (n >= 2 && from[0] == '<' && from[n - 1] == '>' && n - 2 < size) {
		memcpy(buf, from + 1, n - 2);
		buf[n - 2] = '\0';
		return buf;
	}
	return from;
}

static int
spf_client(const char *ip, struct spf_request *q)
{
	if (ip != NULL && inet_pton(AF_INET, ip, &q->ip.v4) == 1)
		q->family = AF_INET;
	else if (ip != NULL && inet_pton(AF_INET6, ip, &q->ip.v6) == 1)
		q->family = AF_INET6;
	else
		return -1;
	return 0;
}

static int
print_spf(const struct spf_outcome *out, bool as_json)
{
	struct buf b;
	struct json j;
	int rc = 0;

	if (!as_json) {
		printf("spf=%s domain=%s scope=%s identity=%s%s%s%s%s\n",
		       spf_result_name(out->result), out->domain,
		       out->scope == SPF_SCOPE_HELO ? "helo" : "mfrom", out->sender,
		       out->problem[0] ? " problem: " : "", out->problem,
		       out->explanation ? " explanation: " : "",
		       out->explanation ? out->explanation : "");
		return 0;
	}
	buf_init(&b, 64 * 1024);
	json_init(&j, &b);
	json_object_begin(&j);
	json_key(&j, "spf");
	json_object_begin(&j);
	json_key(&j, "result");
	json_string(&j, spf_result_name(out->result));
	json_key(&j, "domain");
	json_string(&j, out->domain);
	json_key(&j, "scope");
	json_string(&j, out->scope == SPF_SCOPE_HELO ? "helo" : "mfrom");
	if (out->result == SPF_FAIL && out->explanation != NULL) {
		json_key(&j, "explanation");
		json_string(&j, out->explanation);
	}
	json_object_end(&j);
	json_object_end(&j);
	if (json_ok(&j))
		printf("%s\n", b.data);
	else
		rc = -1;
	buf_free(&b);
	return rc;
}

/* --spf-only: check_host() for the envelope, nothing else.  The
 * authserv-id, when given, is our host name for %{r}. */
static int
run_spf_only(struct dns_resolver *r, const struct authcheck_opts *o)
{
	struct spf_request q = {.helo = o->helo, .receiver = o->authserv_id};
	struct spf_outcome out;
	struct auth_error err;
	char from[1024];
	int rc;

	if (spf_client(o->ip, &q) < 0) {
		fprintf(stderr, "authcheck: --spf-only needs --ip with an IPv4 or IPv6 address\n");
		return 2;
	}
	q.mail_from = spf_sender(o->mail_from, from, sizeof(from));
	if (spf_check_mailfrom(r, NULL, &q, &out, &err) < 0) {
		fprintf(stderr, "authcheck: %s\n", err.msg);
		return 2;
	}
	rc = print_spf(&out, o->json);
	spf_outcome_free(&out);
	if (rc < 0) {
		fprintf(stderr, "authcheck: output too large\n");
		return 2;
	}
	return 0;
}

/* Message files usually have Unix line ends; the engines see the message
 * as it would be on the wire, with CRLF. */
#define AUTHCHECK_CHUNK 65536
#define AUTHCHECK_MAX_CRLF (2 * AUTHCHECK_CHUNK)

/* Hands every parsed field to the session, then ends the headers. */
static int
feed_headers(struct session *s, const struct msg_headers *h, struct auth_error *err)
{
	size_t i, n = msg_headers_count(h);

	for (i = 0; i < n; i++) {
		const struct msg_field *f = msg_headers_get(h, i);

		if (session_header(s, f->raw, f->name_len, f->raw + f->value_off,
		                   f->raw_len - f->value_off, err) < 0)
			return -1;
	}
	return session_eoh(s, err);
}

struct reader {
	struct msg_headers *h;
	struct msg_parser *p;
	struct msg_crlf crlf;
	struct buf wire;
	bool in_body;
};

/* One chunk of the file: header bytes to the parser until the blank line,
 * body bytes to the session. */
static int
feed_chunk(struct reader *rd, struct session *s, const char *data, size_t len,
           struct auth_error *err)
{
	size_t body_off = 0;
	int rc;

	buf_reset(&rd->wire);
	if (msg_crlf_convert(&rd->crlf, data, len, &rd->wire) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if (rd->in_body)
		return session_body(s, rd->wire.data, rd->wire.len, err);
	if ((rc = msg_parser_feed(rd->p, rd->wire.data, rd->wire.len, &body_off, err)) <= 0)
		return rc;
	rd->in_body = true;
	if (feed_headers(s, rd->h, err) < 0)
		return -1;
	return session_body(s, rd->wire.data + body_off, rd->wire.len - body_off, err);
}

static int
read_message(FILE *f, struct session *s, const struct policy_config *cfg, struct auth_error *err)
{
	struct msg_limits lim = {cfg->max_header_bytes, cfg->max_headers};
	struct reader rd = {0};
	char chunk[AUTHCHECK_CHUNK];
	size_t n;
	int rc = -1;

	buf_init(&rd.wire, AUTHCHECK_MAX_CRLF);
	if ((rd.h = msg_headers_new(&lim)) == NULL || (rd.p = msg_parser_new(rd.h)) == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		goto done;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (feed_chunk(&rd, s, chunk, n, err) < 0)
			goto done;
	if (ferror(f)) {
		auth_error_set(err, AUTH_EIO, "read error: %s", strerror(errno));
		goto done;
	}
	if (!rd.in_body && (msg_parser_finish(rd.p, err) < 0 || feed_headers(s, rd.h, err) < 0))
		goto done;
	rc = 0;
done:
	msg_parser_free(rd.p);
	msg_headers_free(rd.h);
	buf_free(&rd.wire);
	return rc;
}

/* The settings authcheck evaluates with: the daemon's defaults, the
 * options given, and no trusted networks (the address given is checked). */
static struct policy_config *
make_config(const struct authcheck_opts *o, struct auth_error *err)
{
	struct policy_config *cfg;

	if ((cfg = config_new(err)) == NULL)
		return NULL;
	if (config_set(cfg, "trusted_networks", "", err) < 0 ||
	    config_set(cfg, "dmarc_mode", o->dmarc_mode == MODE_RFC7489 ? "rfc7489" : "rfc9989",
	               err) < 0 ||
	    (o->authserv_id != NULL && config_set(cfg, "authserv_id", o->authserv_id, err) < 0)) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static int
start_envelope(struct session *s, const struct authcheck_opts *o, struct auth_error *err)
{
	if (session_connect(s, o->ip, NULL, err) < 0 ||
	    (o->helo != NULL && session_helo(s, o->helo, err) < 0))
		return -1;
	return o->mail_from != NULL ? session_mail_from(s, o->mail_from, err) : 0;
}

static void
print_verdict(const struct session_verdict *v, bool json)
{
	size_t i;

	if (json) {
		printf("%s\n", v->json);
		return;
	}
	for (i = 0; i < v->nadd; i++)
		printf("%s:%s\n", v->add[i].name, v->add[i].value);
	printf("spf: %s\ndkim: %s\ndmarc: %s (from %s, disposition %s)\n", v->spf_result,
	       v->dkim_summary, v->dmarc_result, v->from_domain ? v->from_domain : "-",
	       v->dmarc_disposition);
	switch (v->action) {
	case SESSION_ACCEPT:
		printf("action: accept\n");
		break;
	case SESSION_QUARANTINE:
		printf("action: quarantine (%s)\n", v->text);
		break;
	case SESSION_REJECT:
	case SESSION_TEMPFAIL:
		printf("action: %s %d %s %s\n", v->action == SESSION_REJECT ? "reject" : "tempfail",
		       v->smtp_code, v->dsn, v->text);
		break;
	}
}

static int
evaluate(struct session *s, const struct authcheck_opts *o, const struct policy_config *cfg,
         FILE *f, struct auth_error *err)
{
	const struct session_verdict *v;

	if (start_envelope(s, o, err) < 0 || read_message(f, s, cfg, err) < 0 ||
	    session_eom(s, &v, err) < 0)
		return -1;
	print_verdict(v, o->json);
	return 0;
}

static int
run_message(struct dns_resolver *r, const struct authcheck_opts *o)
{
	struct session_engines *e = NULL;
	struct policy_config *cfg;
	struct session *s = NULL;
	struct auth_error err;
	FILE *f = stdin;
	int rc = 2;

	if ((cfg = make_config(o, &err)) == NULL ||
	    (e = session_engines_new(cfg, r, &err)) == NULL ||
	    (s = session_new(cfg, e, &err)) == NULL)
		goto done;
	if (strcmp(o->message, "-") != 0 && (f = fopen(o->message, "rb")) == NULL) {
		auth_error_set(&err, AUTH_EIO, "%s: %s", o->message, strerror(errno));
		goto done;
	}
	if (evaluate(s, o, cfg, f, &err) == 0)
		rc = 0;
done:
	if (rc != 0)
		fprintf(stderr, "authcheck: %s\n", err.msg);
	if (f != NULL && f != stdin)
		fclose(f);
	session_free(s);
	session_engines_free(e);
	config_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct authcheck_opts o;
	struct dns_resolver *r;
	struct auth_error err;
	int rc;

	if ((rc = parse_args(&o, argc, argv)) != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if ((r = make_resolver(&o, &err)) == NULL) {
		fprintf(stderr, "authcheck: %s\n", err.msg);
		return 2;
	}
	if (o.query_name != NULL)
		rc = run_dns_query(r, &o);
	else if (o.spf_only)
		rc = run_spf_only(r, &o);
	else
		rc = run_message(r, &o);
	dns_resolver_free(r);
	return rc;
}
