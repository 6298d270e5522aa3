/*
 * authcheck - verify one message offline.
 *
 * Reads one message (a file or standard input), evaluates it with the same
 * engines the daemon uses, and prints the verdicts: a readable summary, or
 * JSON (--json) in the form ../shared/DESIGN.md fixes for scripts and test
 * suites.  DNS comes from the system resolver, an explicit server
 * (--dns-server), or RFC 1035 master files (--dns-zone) with forced
 * timeouts (--dns-fail, which needs a zone: the other names are answered
 * from it).
 *
 * Exit status: 0 when evaluated (whatever the verdicts) and for -h and -V,
 * 2 on usage or I/O error: a contract scripts and the conformance suites
 * rely on, kept rather than sysexits(3).
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

#include "config.h"
#include "dns.h"
#include "dns_cache.h"
#include "dns_ldns.h"
#include "dns_zone.h"
#include "keyring.h"
#include "msg.h"
#include "session.h"
#include "spf.h"

#define AUTHCHECK_MAX_LIST 64
/* Look-ups of one message made at once. */
#define AUTHCHECK_DNS_THREADS 16
/* The JSON of one message: its DKIM results are bounded by the session. */
#define AUTHCHECK_JSON_MAX (16u * 1024 * 1024)

enum dmarc_mode_opt { MODE_RFC9989, MODE_RFC7489 };

struct authcheck_opts {
	const char *ip, *helo, *mail_from, *authserv_id, *dns_server, *message;
	const char *zones[AUTHCHECK_MAX_LIST];
	size_t nzones;
	const char *fails[AUTHCHECK_MAX_LIST];
	size_t nfails;
	const char *signs[AUTHCHECK_MAX_LIST]; /* --sign "DOMAIN SELECTOR KEYFILE" */
	size_t nsigns;
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
	      "  --dns-fail NAME[/TYPE]  queries for NAME (of TYPE) time out (repeatable;\n"
	      "                          with --dns-zone)\n"
	      "  --dns-server HOST[:PORT] resolver to query instead of /etc/resolv.conf\n"
	      "  --authserv-id ID        authserv-id for the Authentication-Results header\n"
	      "                          (also our host name for SPF's %{r} macro)\n"
	      "  --spf-only              evaluate SPF only; no message is read\n"
	      "  --dmarc-mode rfc9989|rfc7489  DMARC discovery rules (default rfc9989)\n"
	      "  --json                  print the result as JSON\n"
	      "  --dns-query NAME TYPE   print what the resolver answers, and exit\n"
	      "  --sign \"DOMAIN SELECTOR KEYFILE\"  sign the message as the daemon signs\n"
	      "                          mail of its own, and print the DKIM-Signature\n"
	      "                          fields (repeatable, as dkim_sign entries)\n"
	      "  -h, --help              print this help and exit\n"
	      "  -V, --version           print the version and exit\n",
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
	OPT_SIGN,
	OPT_HELP = 'h',
	OPT_VERSION = 'V'
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
    {"sign", required_argument, NULL, OPT_SIGN},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Handles one option; returns 0, 1 for --help, 2 for --version, -1 on a
 * usage error. */
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
	case OPT_SIGN:
		return add_to_list(o->signs, &o->nsigns, arg, "--sign");
	case OPT_HELP:
		return 1;
	case OPT_VERSION:
		return 2;
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

/* Returns 0, 1 when --help was asked, 2 for --version, -1 on a usage
 * error (reported). */
static int
parse_args(struct authcheck_opts *o, int argc, char **argv)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "hV", long_options, NULL)) != -1)
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
	/* The names that do not time out are answered from the zone files:
	 * without one, every other name would not exist. */
	if (o->nfails > 0 && o->nzones == 0) {
		fprintf(stderr, "authcheck: --dns-fail needs --dns-zone (the other names are "
		                "answered from the zone files)\n");
		return -1;
	}
	return 0;
}

/* The backend the options ask for, behind the same cache the daemon uses. */
static struct dns_resolver *
make_resolver(const struct authcheck_opts *o, struct auth_error *err)
{
	struct dns_resolver *backend;
	struct dns_cache_opts copts = {.prefetch_threads = AUTHCHECK_DNS_THREADS,
	                               .tempfail_ttl = CONFIG_DEFAULT_DNS_TEMPFAIL_TTL};
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

/* The --sign entries as dkim_sign lines of one file (config_set()
 * would replace the list with each). */
static int
add_signs(struct policy_config *cfg, const struct authcheck_opts *o, struct auth_error *err)
{
	struct buf text;
	size_t i;
	int rc;

	if (o->nsigns == 0)
		return 0;
	buf_init(&text, AUTHCHECK_MAX_LIST * (CONFIG_LINE_MAX + 16));
	for (i = 0; i < o->nsigns; i++)
		(void)buf_printf(&text, "dkim_sign %s\n", o->signs[i]);
	rc = config_load_string(cfg, "--sign", text.data, text.len, err);
	buf_free(&text);
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
	    (o->authserv_id != NULL && config_set(cfg, "authserv_id", o->authserv_id, err) < 0) ||
	    add_signs(cfg, o, err) < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* --spf-only takes the null sender when --mail-from is not given. */
static int
start_envelope(struct session *s, const struct authcheck_opts *o, struct auth_error *err)
{
	const char *mail_from = o->mail_from;

	if (session_connect(s, o->ip, NULL, err) < 0 ||
	    (o->helo != NULL && session_helo(s, o->helo, err) < 0))
		return -1;
	if (mail_from == NULL && o->spf_only)
		mail_from = "";
	return mail_from != NULL ? session_mail_from(s, mail_from, err) : 0;
}

static int
print_json(struct session *s)
{
	struct buf b;
	int rc = 0;

	buf_init(&b, AUTHCHECK_JSON_MAX);
	if (session_json(s, &b) == 0)
		printf("%s\n", b.data);
	else
		rc = -1;
	buf_free(&b);
	return rc;
}

static void
print_spf(const struct spf_outcome *out)
{
	printf("spf=%s domain=%s scope=%s identity=%s%s%s%s%s\n", spf_result_name(out->result),
	       out->domain, out->scope == SPF_SCOPE_HELO ? "helo" : "mfrom", out->sender,
	       out->problem[0] ? " problem: " : "", out->problem,
	       out->explanation ? " explanation: " : "", out->explanation ? out->explanation : "");
}

static void
print_verdict(const struct verdict *v)
{
	size_t i;

	for (i = 0; i < v->nadd; i++)
		printf("%s:%s\n", v->add[i].name, v->add[i].value);
	printf("spf: %s\ndkim: %s\ndmarc: %s (from %s, disposition %s)\n", v->spf_result,
	       v->dkim_summary, v->dmarc_result, v->from_domain ? v->from_domain : "-",
	       v->dmarc_disposition);
	if (v->partial_body)
		printf("note: a passing DKIM signature covers only part of the body (l=)\n");
	switch (v->action) {
	case VERDICT_ACCEPT:
		printf("action: accept\n");
		break;
	case VERDICT_QUARANTINE:
		printf("action: quarantine (%s)\n", v->text);
		break;
	case VERDICT_REJECT:
	case VERDICT_TEMPFAIL:
		printf("action: %s %d %s %s\n", verdict_action_name(v->action), v->smtp_code,
		       v->dsn, v->text);
		break;
	}
}

static int
feed_session(void *ctx, const char *p, size_t n, struct auth_error *err)
{
	return session_data(ctx, p, n, err);
}

/* --spf-only: the session stopped after MAIL FROM. */
static int
report_spf(struct session *s, const struct authcheck_opts *o, struct auth_error *err)
{
	const struct spf_outcome *out;

	auth_error_clear(err);
	if ((out = session_spf(s, err)) == NULL)
		return err->code != AUTH_OK
		           ? -1
		           : auth_error_set(err, AUTH_EINVAL,
		                            "--spf-only needs --ip with an IPv4 or IPv6 address");
	if (o->json)
		return print_json(s) < 0 ? auth_error_set(err, AUTH_ELIMIT, "output too large") : 0;
	print_spf(out);
	return 0;
}

/* --sign: the DKIM-Signature fields, one per line, unfolded. */
static int
print_signatures(const struct verdict *v, struct auth_error *err)
{
	size_t i, n = 0;

	for (i = 0; i < v->nadd; i++) {
		const char *p;

		if (strcmp(v->add[i].name, "DKIM-Signature") != 0)
			continue;
		printf("%s:", v->add[i].name);
		for (p = v->add[i].value; *p != '\0'; p++)
			if (*p != '\r' && *p != '\n')
				putchar(*p == '\t' && p > v->add[i].value && p[-1] == '\n' ? ' '
				                                                           : *p);
		putchar('\n');
		n++;
	}
	if (n == 0)
		return auth_error_set(err, AUTH_EINVAL,
		                      "no --sign entry matches the message's From domain");
	return 0;
}

static int
evaluate(struct session *s, const struct authcheck_opts *o, FILE *f, struct auth_error *err)
{
	const struct verdict *v;

	/* As the daemon signs mail of its own: the client counts as
	 * authenticated, so the message is signed, not checked. */
	if (o->nsigns > 0)
		session_set_authenticated(s, "authcheck --sign");
	if (start_envelope(s, o, err) < 0)
		return -1;
	if (o->spf_only)
		return report_spf(s, o, err);
	if (msg_read_file(f, true, feed_session, s, err) < 0 || session_eom(s, &v, err) < 0)
		return -1;
	if (o->nsigns > 0)
		return print_signatures(v, err);
	if (!o->json) {
		print_verdict(v);
		return 0;
	}
	return print_json(s) < 0 ? auth_error_set(err, AUTH_ELIMIT, "output too large") : 0;
}

static int
run_message(struct dns_resolver *r, const struct authcheck_opts *o)
{
	struct session_engines *e = NULL;
	struct keyring *kr = keyring_new();
	struct policy_config *cfg = NULL;
	struct session *s = NULL;
	struct auth_error err;
	FILE *f = stdin;
	int rc = 2;

	if (kr == NULL) {
		auth_error_set(&err, AUTH_ENOMEM, "out of memory");
		goto done;
	}
	if ((cfg = make_config(o, &err)) == NULL || keyring_load_config(kr, cfg, &err) < 0 ||
	    (e = session_engines_new(cfg, r, kr, &err)) == NULL ||
	    (s = session_new(cfg, e, &err)) == NULL)
		goto done;
	if (!o->spf_only && strcmp(o->message, "-") != 0 && (f = fopen(o->message, "rb")) == NULL) {
		auth_error_set(&err, AUTH_EIO, "%s: %s", o->message, strerror(errno));
		goto done;
	}
	if (evaluate(s, o, f, &err) == 0)
		rc = 0;
done:
	if (rc != 0)
		fprintf(stderr, "authcheck: %s\n", err.msg);
	if (f != NULL && f != stdin)
		fclose(f);
	session_free(s);
	session_engines_free(e);
	keyring_free(kr);
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
		if (rc == 2)
			puts("authcheck (" PACKAGE_STRING ")");
		else
			usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if ((r = make_resolver(&o, &err)) == NULL) {
		fprintf(stderr, "authcheck: %s\n", err.msg);
		return 2;
	}
	if (o.query_name != NULL)
		rc = run_dns_query(r, &o);
	else
		rc = run_message(r, &o);
	dns_resolver_free(r);
	return rc;
}
