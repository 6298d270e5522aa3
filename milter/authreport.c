/*
 * authreport - DMARC aggregate reports from the records the daemons
 * stored (authreport(8)).
 *
 *   authreport [-c CONFIG] [-o key=value]... generate [--from DATE]
 *              [--until DATE] [--format rfc9990|rfc7489] [--out DIR]
 *   authreport [-c CONFIG] [-o key=value]... send
 *   authreport [-c CONFIG] [-o key=value]... stats [--from DATE]
 *              [--until DATE] [--json]
 *
 * generate makes one report per policy domain with records in the
 * interval (default: the previous UTC day), stores it with its
 * destinations (the rua URIs as published) for sending, writes
 * DIR/receiver!domain!begin!end!id.xml.gz when --out is given, prints each
 * file name, and deletes records older than report_retention.  A report
 * made again for the same domain, interval and format keeps its unique id
 * and so its name; once it was sent, its stored document is reused as it
 * is.  send mails the stored reports to their destinations
 * (report_send.h).  stats prints per policy domain the messages, DMARC
 * passes and failures, and dispositions.
 *
 * The config file is the daemon's (authmilter.conf(5)), the listener's
 * keys included, so one file serves every program.
 *
 * Exit status, after sysexits(3): 0 on success (and for -h, -V); 2 on a
 * usage error; EX_CONFIG when the config is wrong or cannot send;
 * EX_UNAVAILABLE when the report store cannot be opened or read;
 * EX_CANTCREAT when a report file cannot be written; EX_SOFTWARE when a
 * report cannot be made (too large, out of memory); send also EX_TEMPFAIL
 * when some destinations wait for the next run (deferred, or over
 * report_send_limit).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "config.h"
#include "json.h"
#include "report_send.h"
#include "report_xml.h"
#include "resolver.h"
#include "smtpd_conf.h"
#include "store.h"

#define AUTHREPORT_DEFAULT_CONFIG SYSCONFDIR "/authmilter.conf"
#define AUTHREPORT_MAX_OVERRIDES 64
#define AUTHREPORT_MAX_DOMAINS 100000
#define DAY 86400

struct authreport_opts {
	const char *config;
	bool config_given;
	struct {
		char *key;
		const char *value;
	} over[AUTHREPORT_MAX_OVERRIDES];
	size_t nover;
	const char *command;
	int64_t from, until;
	bool from_given, until_given, json;
	enum report_format format;
	const char *out;
};

static void
usage(FILE *f)
{
	fputs("usage: authreport [-c CONFIG] [-o key=value]... generate [--from DATE] [--until "
	      "DATE]\n"
	      "                  [--format rfc9990|rfc7489] [--out DIR]\n"
	      "       authreport [-c CONFIG] [-o key=value]... send\n"
	      "       authreport [-c CONFIG] [-o key=value]... stats [--from DATE] [--until DATE]"
	      " [--json]\n"
	      "       authreport -h | --help | -V | --version\n"
	      "  DATE is YYYY-MM-DD (UTC) or seconds since the epoch; --until is exclusive;\n"
	      "  the default interval is the previous UTC day\n",
	      f);
}

/* YYYY-MM-DD (midnight UTC) or seconds since the epoch. */
static int
parse_date(const char *s, int64_t *out)
{
	struct tm tm;
	char *end;
	long long v;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int
add_override(struct authreport_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg || o->nover >= AUTHREPORT_MAX_OVERRIDES) {
		fprintf(stderr, "authreport: -o takes key=value (at most %d)\n",
		        AUTHREPORT_MAX_OVERRIDES);
		return -1;
	}
	if ((o->over[o->nover].key = strndup(arg, (size_t)(eq - arg))) == NULL)
		return -1;
	o->over[o->nover++].value = eq + 1;
	return 0;
}

static void
free_opts(struct authreport_opts *o)
{
	size_t i;

	for (i = 0; i < o->nover; i++)
		free(o->over[i].key);
}

/* The command's own options, after its name. */
static int
parse_command(struct authreport_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"from", required_argument, NULL, 'F'},   {"until", required_argument, NULL, 'U'},
	    {"format", required_argument, NULL, 'M'}, {"out", required_argument, NULL, 'O'},
	    {"json", no_argument, NULL, 'J'},         {NULL, 0, NULL, 0}};
	bool gen = strcmp(o->command, "generate") == 0;
	bool send = strcmp(o->command, "send") == 0;
	int c;

	optind = 0; /* glibc: start over, at argv[1] */
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (send)
			return -1;
		if (c == 'F' && parse_date(optarg, &o->from) == 0)
			o->from_given = true;
		else if (c == 'U' && parse_date(optarg, &o->until) == 0)
			o->until_given = true;
		else if (c == 'M' && gen && strcmp(optarg, "rfc9990") == 0)
			o->format = REPORT_RFC9990;
		else if (c == 'M' && gen && strcmp(optarg, "rfc7489") == 0)
			o->format = REPORT_RFC7489;
		else if (c == 'O' && gen)
			o->out = optarg;
		else if (c == 'J' && !gen)
			o->json = true;
		else
			return -1;
	}
	return optind < argc ? -1 : 0;
}

/* Returns 0, 1 for -h, 2 for -V, -1 on a usage error. */
static int
parse_args(struct authreport_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
	                                      {"version", no_argument, NULL, 'V'},
	                                      {NULL, 0, NULL, 0}};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = AUTHREPORT_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "+c:o:hV", longs, NULL)) != -1) {
		if (c == 'c') {
			o->config = optarg;
			o->config_given = true;
		} else if (c == 'o') {
			if (add_override(o, optarg) < 0)
				return -1;
		} else {
			return c == 'h' ? 1 : c == 'V' ? 2 : -1;
		}
	}
	if (optind >= argc)
		return -1;
	o->command = argv[optind];
	if (strcmp(o->command, "generate") != 0 && strcmp(o->command, "stats") != 0 &&
	    strcmp(o->command, "send") != 0) {
		fprintf(stderr, "authreport: unknown command %.64s\n", o->command);
		return -1;
	}
	optind++;
	return parse_command(o, argc - optind + 1, argv + optind - 1);
}

/* The previous UTC day, for what was not given. */
static int
fill_interval(struct authreport_opts *o)
{
	int64_t today = (int64_t)time(NULL) / DAY * DAY;

	if (!o->from_given)
		o->from = o->until_given ? o->until - DAY : today - DAY;
	if (!o->until_given)
		o->until = o->from + DAY;
	if (o->until <= o->from) {
		fprintf(stderr, "authreport: --until must be after --from\n");
		return -1;
	}
	return 0;
}

static struct policy_config *
build_config(const struct authreport_opts *o)
{
	struct auth_error err;
	struct policy_config *cfg = config_new(&err);
	struct config_ext ext = {0};
	size_t i;

	if (cfg == NULL)
		goto fail;
	/* The listener's keys, so that the daemon's file reads here too. */
	if (smtpd_conf_keys(&ext, &err) < 0)
		goto fail;
	config_set_ext(cfg, &ext);
	if ((o->config_given || access(o->config, F_OK) == 0) &&
	    config_load(cfg, o->config, &err) < 0)
		goto fail;
	for (i = 0; i < o->nover; i++)
		if (config_set(cfg, o->over[i].key, o->over[i].value, &err) < 0)
			goto fail;
	return cfg;
fail:
	fprintf(stderr, "authreport: %s\n", err.msg);
	config_free(cfg);
	return NULL;
}

/* ---- generate ---- */

struct domain_agg {
	char *domain;
	struct aggregate *agg;
};

struct collect {
	struct domain_agg *list;
	size_t n, cap;
	struct auth_error err;
	bool failed;
};

static struct domain_agg *
collect_domain(struct collect *c, const char *domain)
{
	struct domain_agg *d;

	if (c->n > 0 && strcmp(c->list[c->n - 1].domain, domain) == 0)
		return &c->list[c->n - 1];
	if (c->n == AUTHREPORT_MAX_DOMAINS)
		return auth_error_set(&c->err, AUTH_ELIMIT, "more than %d policy domains",
		                      AUTHREPORT_MAX_DOMAINS),
		       NULL;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct domain_agg *l = realloc(c->list, cap * sizeof(*l));

		if (l == NULL)
			return auth_error_set(&c->err, AUTH_ENOMEM, "out of memory"), NULL;
		c->list = l;
		c->cap = cap;
	}
	d = &c->list[c->n];
	if ((d->domain = strdup(domain)) == NULL || (d->agg = aggregate_new(&c->err)) == NULL) {
		free(d->domain);
		return auth_error_set(&c->err, AUTH_ENOMEM, "out of memory"), NULL;
	}
	c->n++;
	return d;
}

/* Records come ordered by policy domain: one aggregate each. */
static int
collect_row(void *ctx, const struct store_row *r)
{
	struct collect *c = ctx;
	struct domain_agg *d = collect_domain(c, r->policy_domain);

	if (d == NULL || aggregate_add(d->agg, r, &c->err) < 0) {
		c->failed = true;
		return 1;
	}
	return 0;
}

static void
collect_free(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->list[i].domain);
		aggregate_free(c->list[i].agg);
	}
	free(c->list);
}

struct existing {
	char unique_id[REPORT_UNIQUE_ID_MAX];
	bool found, sent;
	char *xml; /* when sent: the document as it went out */
};

static int
existing_cb(void *ctx, const struct store_report *r)
{
	struct existing *e = ctx;

	e->found = true;
	e->sent = r->sent;
	snprintf(e->unique_id, sizeof(e->unique_id), "%s", r->unique_id);
	if (r->sent)
		e->xml = strdup(r->xml);
	return 0;
}

/* Writes DIR/name atomically: a temporary file renamed into place. */
static int
write_file(const char *dir, const char *name, const struct buf *data)
{
	char path[4096], tmp[4096 + 8];
	FILE *f;
	int ok;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "wb")) == NULL) {
		fprintf(stderr, "authreport: cannot write %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	ok = fwrite(data->data, 1, data->len, f) == data->len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "authreport: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct report_ctx {
	const struct authreport_opts *o;
	const struct policy_config *cfg;
	struct store *store;
	char email[320];
};

/* The document for one domain: the one already sent, or a new one under
 * the report's unique id (kept from an earlier run). */
static int
report_document(struct report_ctx *rc, const struct domain_agg *d, struct existing *e,
                struct buf *xml, struct auth_error *err)
{
	const struct policy_config *cfg = rc->cfg;
	const char *domain = config_report_domain(cfg);
	struct report_meta m = {
	    rc->o->format, cfg->report_org_name != NULL ? cfg->report_org_name : domain,
	    rc->email,     cfg->report_contact_info,
	    e->unique_id,  PACKAGE_STRING,
	    rc->o->from,   rc->o->until};

	if (store_report_find(rc->store, d->domain, rc->o->from, rc->o->until,
	                      report_format_name(rc->o->format), existing_cb, e, err) < 0)
		return -1;
	if (!e->found)
		report_unique_id(e->unique_id);
	if (e->sent)
		return e->xml != NULL && buf_puts(xml, e->xml) == 0 ? 0 : -1;
	if (report_xml(&m, d->agg, xml) < 0)
		return auth_error_set(err, AUTH_ELIMIT, "the report for %s is too large",
		                      d->domain);
	return 0;
}

/* The exit status a failure of the store or of making a report gives. */
static int
store_status(const struct auth_error *err)
{
	return err->code == AUTH_ENOMEM || err->code == AUTH_ELIMIT ? EX_SOFTWARE : EX_UNAVAILABLE;
}

/* Returns 0 or the exit status (sysexits.h) with err set. */
static int
report_one(struct report_ctx *rc, const struct domain_agg *d, struct auth_error *err)
{
	struct existing e = {{0}, false, false, NULL};
	struct store_report r;
	struct buf xml, gz;
	char name[1024];
	int ret = EX_SOFTWARE;

	buf_init(&xml, REPORT_XML_MAX);
	buf_init(&gz, REPORT_XML_MAX);
	aggregate_finish(d->agg);
	auth_error_clear(err);
	if (report_document(rc, d, &e, &xml, err) < 0) {
		ret = store_status(err);
		goto done;
	}
	if (report_filename(config_report_domain(rc->cfg), d->domain, rc->o->from, rc->o->until,
	                    e.unique_id, name, sizeof(name)) < 0) {
		auth_error_set(err, AUTH_ELIMIT, "no file name for the report");
		goto done;
	}
	r = (struct store_report){e.unique_id,
	                          d->domain,
	                          report_format_name(rc->o->format),
	                          name,
	                          aggregate_policy(d->agg)->rua,
	                          xml.data,
	                          rc->o->from,
	                          rc->o->until,
	                          (int64_t)time(NULL),
	                          aggregate_messages(d->agg),
	                          false};
	if (!e.sent && store_report_save(rc->store, &r, err) < 0) {
		ret = store_status(err);
		goto done;
	}
	if (rc->o->out != NULL &&
	    (report_gzip(xml.data, xml.len, &gz) < 0 || write_file(rc->o->out, name, &gz) < 0)) {
		auth_error_set(err, AUTH_EIO, "cannot write the report for %s", d->domain);
		ret = EX_CANTCREAT;
		goto done;
	}
	printf("%s\n", name);
	ret = 0;
done:
	buf_free(&xml);
	buf_free(&gz);
	free(e.xml);
	return ret;
}

static int
generate(const struct authreport_opts *o, const struct policy_config *cfg, struct store *s)
{
	struct collect c;
	struct report_ctx rc = {o, cfg, s, ""};
	struct auth_error err;
	size_t i;
	int rc_all = 0, n;

	memset(&c, 0, sizeof(c));
	config_report_email(cfg, rc.email, sizeof(rc.email));
	if (store_each_record(s, o->from, o->until, collect_row, &c, &err) != 0) {
		fprintf(stderr, "authreport: %s\n", c.failed ? c.err.msg : err.msg);
		collect_free(&c);
		return store_status(c.failed ? &c.err : &err);
	}
	for (i = 0; i < c.n; i++)
		if ((n = report_one(&rc, &c.list[i], &err)) != 0) {
			fprintf(stderr, "authreport: %s: %s\n", c.list[i].domain, err.msg);
			rc_all = rc_all != 0 ? rc_all : n;
		}
	collect_free(&c);
	n = store_expire(s, (int64_t)time(NULL) - cfg->report_retention, &err);
	if (n < 0) {
		fprintf(stderr, "authreport: expiring old records: %s\n", err.msg);
		return EX_UNAVAILABLE;
	}
	return rc_all;
}

/* ---- send ---- */

static int
send_reports(const struct policy_config *cfg, struct store *s)
{
	struct report_send_stats st;
	struct dns_resolver *r;
	struct auth_error err;
	int rc;

	if ((r = resolver_new(cfg, 0, &err)) == NULL) {
		fprintf(stderr, "authreport: DNS: %s\n", err.msg);
		rc = EX_CONFIG;
	} else if (report_send(cfg, s, r, stdout, &st, &err) < 0) {
		fprintf(stderr, "authreport: %s\n", err.msg);
		rc = err.code == AUTH_EINVAL ? EX_CONFIG : store_status(&err);
	} else {
		printf("%lu sent, %lu failed, %lu deferred, %lu left for the next run\n", st.sent,
		       st.failed, st.deferred, st.left);
		/* What waits for the next run, deferred or over the run's
		 * limit, is for the caller (a timer, cron) to know of. */
		rc = st.deferred > 0 || st.left > 0 ? EX_TEMPFAIL : 0;
	}
	dns_resolver_free(r);
	return rc;
}

/* ---- stats ---- */

struct stats_out {
	bool json;
	struct json j;
	size_t n;
};

static int
stats_row(void *ctx, const struct store_stat *st)
{
	struct stats_out *so = ctx;

	so->n++;
	if (!so->json) {
		printf("%-40s %10" PRId64 " %10" PRId64 " %10" PRId64 " %10" PRId64 " %10" PRId64
		       " %10" PRId64 "\n",
		       st->policy_domain, st->messages, st->pass, st->fail, st->none,
		       st->quarantine, st->reject);
		return 0;
	}
	json_object_begin(&so->j);
	json_key(&so->j, "domain");
	json_string(&so->j, st->policy_domain);
	json_key(&so->j, "messages");
	json_int(&so->j, st->messages);
	json_key(&so->j, "pass");
	json_int(&so->j, st->pass);
	json_key(&so->j, "fail");
	json_int(&so->j, st->fail);
	json_key(&so->j, "disposition");
	json_object_begin(&so->j);
	json_key(&so->j, "none");
	json_int(&so->j, st->none);
	json_key(&so->j, "quarantine");
	json_int(&so->j, st->quarantine);
	json_key(&so->j, "reject");
	json_int(&so->j, st->reject);
	json_object_end(&so->j);
	json_object_end(&so->j);
	return 0;
}

static int
stats(const struct authreport_opts *o, struct store *s)
{
	struct stats_out so;
	struct auth_error err;
	struct buf out;
	int rc;

	memset(&so, 0, sizeof(so));
	so.json = o->json;
	buf_init(&out, 64u << 20);
	json_init(&so.j, &out);
	if (so.json) {
		json_object_begin(&so.j);
		json_key(&so.j, "from");
		json_int(&so.j, o->from);
		json_key(&so.j, "until");
		json_int(&so.j, o->until);
		json_key(&so.j, "domains");
		json_array_begin(&so.j);
	} else {
		printf("%-40s %10s %10s %10s %10s %10s %10s\n", "policy domain", "messages", "pass",
		       "fail", "none", "quarantine", "reject");
	}
	rc = store_stats(s, o->from, o->until, stats_row, &so, &err);
	if (rc != 0)
		fprintf(stderr, "authreport: %s\n", err.msg);
	if (so.json) {
		json_array_end(&so.j);
		json_object_end(&so.j);
		if (rc == 0 && json_ok(&so.j))
			printf("%.*s\n", (int)out.len, out.data);
	}
	buf_free(&out);
	return rc != 0 ? store_status(&err) : 0;
}

int
main(int argc, char **argv)
{
	struct authreport_opts o;
	struct policy_config *cfg = NULL;
	struct store *s = NULL;
	struct auth_error err;
	int rc;

	if ((rc = parse_args(&o, argc, argv)) != 0 || fill_interval(&o) < 0) {
		if (rc == 2)
			puts("authreport (" PACKAGE_STRING ")");
		else
			usage(rc > 0 ? stdout : stderr);
		free_opts(&o);
		return rc > 0 ? 0 : 2;
	}
	if ((cfg = build_config(&o)) == NULL) {
		free_opts(&o);
		return EX_CONFIG;
	}
	if ((s = store_open(cfg->report_store, &err)) == NULL) {
		fprintf(stderr, "authreport: the report store: %s\n", err.msg);
		rc = store_status(&err);
	} else {
		rc = strcmp(o.command, "generate") == 0 ? generate(&o, cfg, s)
		     : strcmp(o.command, "send") == 0   ? send_reports(cfg, s)
		                                        : stats(&o, s);
	}
	store_close(s);
	config_free(cfg);
	free_opts(&o);
	return rc;
}
