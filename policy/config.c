/*
 * config - see config.h.
 *
 * Each key is one row of config_keys[]: its name, the kind of value it
 * takes and where the value goes.  A file is read line by line into a fixed
 * buffer, so an over-long line is an error and never an allocation; both
 * config_load() and config_load_string() hand each line to config_line().
 *
 * List keys: the first time a file (or config_set()) names a list, its
 * value replaces the list (the defaults or an earlier file's); later lines
 * of the same file add to it.  An empty value ("") empties the list.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "config_text.h"
#include "config_value.h"

#define CONFIG_HOSTNAME_MAX 255

enum key_kind {
	K_BOOL,
	K_UINT,    /* unsigned, plain number */
	K_MS,      /* unsigned milliseconds; bare number is ms, or ms/s/m suffix */
	K_SECONDS, /* unsigned seconds; bare number is s, or s/m/h/d suffix */
	K_SIZE,    /* size_t bytes; bare number, or k/m suffix (KiB, MiB) */
	K_COUNT,   /* size_t, plain number */
	K_ENUM,
	K_STRING,
	K_NETS,
	K_DOMAINS, /* a struct config_domains */
	K_ADDRS,   /* a struct config_domains whose entries may be addresses */
	K_LISTEN,  /* a struct config_domains of HOST:PORT entries, as written */
	K_SIGN,    /* dkim_sign entries */
};

enum key_enum { E_NONE, E_DMARC_MODE, E_FROM, E_QUARANTINE, E_DNS_TEMPFAIL, E_INTERNAL };

struct config_key {
	const char *name;
	enum key_kind kind;
	size_t offset;
	unsigned long min, max;
	enum key_enum which;        /* K_ENUM */
	const char *const *choices; /* K_ENUM: the value names, in enum order */
	config_check_fn check;      /* K_STRING: validator, or NULL */
	bool empty_is_null;         /* K_STRING: "" clears the setting */
};

static const char *const dmarc_modes[] = {"rfc9989", "rfc7489", NULL};
static const char *const from_policies[] = {"reject", "evaluate-all", "none", NULL};
static const char *const quarantines[] = {"hold", "header", NULL};
static const char *const on_errors[] = {"accept", "tempfail", NULL};

#define OFF(field) offsetof(struct policy_config, field)
#define STR(n, f, chk, null)                                                                       \
	{                                                                                          \
		n, K_STRING, OFF(f), 0, 0, E_NONE, NULL, chk, null                                 \
	}
#define NUM(n, k, f, lo, hi)                                                                       \
	{                                                                                          \
		n, k, OFF(f), lo, hi, E_NONE, NULL, NULL, false                                    \
	}
#define BOOL(n, f)                                                                                 \
	{                                                                                          \
		n, K_BOOL, OFF(f), 0, 0, E_NONE, NULL, NULL, false                                 \
	}
#define ENUM(n, w, c)                                                                              \
	{                                                                                          \
		n, K_ENUM, 0, 0, 0, w, c, NULL, false                                              \
	}

static const struct config_key config_keys[] = {
    STR("authserv_id", authserv_id, config_check_authserv_id, false),
    BOOL("add_received_spf", add_received_spf),
    NUM("spf_timeout", K_MS, spf_timeout_ms, 1, 600000),
    BOOL("spf_fail_reject", spf_fail_reject),
    NUM("dkim_max_signatures", K_UINT, dkim_max_signatures, 1, 100),
    BOOL("dkim_allow_sha1", dkim_allow_sha1),
    NUM("dkim_min_rsa_bits", K_UINT, dkim_min_rsa_bits, 512, 16384),
    BOOL("dkim_reject_partial_body", dkim_reject_partial_body),
    ENUM("dmarc_mode", E_DMARC_MODE, dmarc_modes),
    ENUM("from_policy", E_FROM, from_policies),
    ENUM("quarantine", E_QUARANTINE, quarantines),
    BOOL("report_only", report_only),
    ENUM("on_dns_tempfail", E_DNS_TEMPFAIL, on_errors),
    ENUM("on_internal_error", E_INTERNAL, on_errors),
    {"trusted_networks", K_NETS, 0, 0, 0, E_NONE, NULL, NULL, false},
    BOOL("skip_authenticated", skip_authenticated),
    {"never_reject_domains", K_DOMAINS, OFF(never_reject), 0, 0, E_NONE, NULL, NULL, false},
    {"arc_trusted_sealers", K_DOMAINS, OFF(arc_trusted_sealers), 0, 0, E_NONE, NULL, NULL, false},
    STR("arc_seal_domain", arc_seal_domain, config_check_domain, true),
    STR("arc_seal_selector", arc_seal_selector, config_check_selector, true),
    STR("arc_seal_key", arc_seal_key, config_check_path, true),
    {"dkim_sign", K_SIGN, 0, 0, 0, E_NONE, NULL, NULL, false},
    STR("dns_server", dns_server, config_check_dns_server, true),
    NUM("dns_timeout", K_MS, dns_timeout_ms, 1, 60000),
    NUM("dns_retries", K_UINT, dns_retries, 0, 10),
    NUM("dns_cache_entries", K_COUNT, dns_cache_entries, 16, 16777216),
    NUM("dns_cache_max_ttl", K_SECONDS, dns_cache_max_ttl, 1, 604800),
    NUM("dns_tempfail_ttl", K_SECONDS, dns_tempfail_ttl, 0, 300),
    NUM("max_header_bytes", K_SIZE, max_header_bytes, 1024, 64ul << 20),
    NUM("max_headers", K_COUNT, max_headers, 10, 100000),
    STR("socket", socket, config_check_socket, false),
    STR("user", user, config_check_name, true),
    STR("group", group, config_check_name, true),
    STR("pidfile", pidfile, config_check_path, true),
    STR("syslog_facility", syslog_facility, config_check_facility, false),
    STR("log_level", log_level, config_check_log_level, false),
    STR("report_store", report_store, config_check_report_store, false),
    NUM("report_queue_size", K_COUNT, report_queue_size, 1, 10000000),
    NUM("report_retention", K_SECONDS, report_retention, 86400, 3650u * 86400),
    STR("report_domain", report_domain, config_check_authserv_id, true),
    STR("report_org_name", report_org_name, config_check_text, true),
    STR("report_email", report_email, config_check_text, true),
    STR("report_contact_info", report_contact_info, config_check_text, true),
    STR("report_smtp", report_smtp, config_check_smtp_server, false),
    BOOL("report_starttls", report_starttls),
    NUM("report_send_limit", K_COUNT, report_send_limit, 1, 1000000),
    {"report_suppress", K_ADDRS, OFF(report_suppress), 0, 0, E_NONE, NULL, NULL, false},
    {"metrics_listen", K_LISTEN, OFF(metrics_listen), 0, 0, E_NONE, NULL, NULL, false},
};

/* Keys that were renamed: a config naming one says what to write instead. */
static const struct {
	const char *name, *hint;
} config_renamed[] = {
    {"report_db", "report_db PATH is now report_store sqlite:PATH"},
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Which list keys the current file has already named (see the top), by
 * their place in config_keys[]. */
struct config_seen {
	bool key[CONFIG_NKEYS];
};

static const struct config_key *
config_find_key(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Every key name: the policy's, then the extension's. */
static const char *
config_key_name(void *ctx, size_t i)
{
	const struct policy_config *cfg = ctx;

	if (i < CONFIG_NKEYS)
		return config_keys[i].name;
	return cfg->ext.name != NULL ? cfg->ext.name(cfg->ext.ctx, i - CONFIG_NKEYS) : NULL;
}

static void
config_unknown_key(const struct policy_config *cfg, const char *key, char *msg, size_t msglen)
{
	const char *near;
	size_t i;

	for (i = 0; i < sizeof(config_renamed) / sizeof(config_renamed[0]); i++)
		if (strcmp(config_renamed[i].name, key) == 0) {
			snprintf(msg, msglen, "%s", config_renamed[i].hint);
			return;
		}
	near = config_nearest_name(key, config_key_name, (void *)cfg);
	if (near != NULL)
		snprintf(msg, msglen, "unknown key \"%.64s\"; did you mean \"%s\"?", key, near);
	else
		snprintf(msg, msglen, "unknown key \"%.64s\"", key);
}

const char *
config_report_domain(const struct policy_config *cfg)
{
	return cfg->report_domain != NULL ? cfg->report_domain : cfg->authserv_id;
}

void
config_report_email(const struct policy_config *cfg, char *out, size_t len)
{
	if (cfg->report_email != NULL)
		snprintf(out, len, "%s", cfg->report_email);
	else
		snprintf(out, len, "postmaster@%s", config_report_domain(cfg));
}

static char *
config_hostname(void)
{
	char host[CONFIG_HOSTNAME_MAX + 1];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		return strdup("localhost");
	host[CONFIG_HOSTNAME_MAX] = '\0';
	if (config_check_authserv_id(host, NULL, 0) < 0)
		return strdup("localhost");
	return strdup(host);
}

static int
config_default_nets(struct policy_config *cfg, struct auth_error *err)
{
	cfg->trusted = calloc(2, sizeof(*cfg->trusted));
	if (cfg->trusted == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	cfg->ntrusted = 2;
	if (config_parse_net("127.0.0.0/8", &cfg->trusted[0], NULL, 0) < 0 ||
	    config_parse_net("::1/128", &cfg->trusted[1], NULL, 0) < 0)
		return auth_error_set(err, AUTH_EINVAL, "default trusted networks do not parse");
	return 0;
}

struct policy_config *
config_new(struct auth_error *err)
{
	struct policy_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	cfg->spf_timeout_ms = 20000;
	cfg->dkim_max_signatures = 5;
	cfg->dkim_min_rsa_bits = 1024;
	cfg->dmarc_mode = CONFIG_DMARC_RFC9989;
	cfg->from_policy = CONFIG_FROM_REJECT;
	cfg->quarantine = CONFIG_QUARANTINE_HOLD;
	cfg->on_dns_tempfail = CONFIG_ACCEPT;
	cfg->on_internal_error = CONFIG_ACCEPT;
	cfg->skip_authenticated = true;
	cfg->dns_timeout_ms = 2000;
	cfg->dns_retries = 1;
	cfg->dns_cache_entries = 65536;
	cfg->dns_cache_max_ttl = 86400;
	cfg->dns_tempfail_ttl = CONFIG_DEFAULT_DNS_TEMPFAIL_TTL;
	cfg->max_header_bytes = 1u << 20;
	cfg->max_headers = 1000;
	cfg->authserv_id = config_hostname();
	cfg->socket = strdup("unix:/var/spool/postfix/authmilter/authmilter.sock");
	cfg->syslog_facility = strdup("mail");
	cfg->log_level = strdup("info");
	cfg->report_store = strdup("sqlite:/var/lib/authmilter/reports.db");
	cfg->report_queue_size = 10000;
	cfg->report_retention = 30 * 86400;
	cfg->report_smtp = strdup("127.0.0.1:25");
	cfg->report_starttls = true;
	cfg->report_send_limit = 1000;
	if (cfg->authserv_id == NULL || cfg->socket == NULL || cfg->syslog_facility == NULL ||
	    cfg->log_level == NULL || cfg->report_store == NULL || cfg->report_smtp == NULL) {
		config_free(cfg);
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	if (config_default_nets(cfg, err) < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void
config_free_domains(struct config_domains *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
config_free_sign(struct policy_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ndkim_sign; i++) {
		free(cfg->dkim_sign[i].domain);
		free(cfg->dkim_sign[i].selector);
		free(cfg->dkim_sign[i].keyfile);
	}
	free(cfg->dkim_sign);
	cfg->dkim_sign = NULL;
	cfg->ndkim_sign = 0;
}

void
config_free(struct policy_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->authserv_id);
	free(cfg->trusted);
	config_free_domains(&cfg->never_reject);
	config_free_domains(&cfg->arc_trusted_sealers);
	config_free_domains(&cfg->report_suppress);
	config_free_domains(&cfg->metrics_listen);
	config_free_sign(cfg);
	free(cfg->arc_seal_domain);
	free(cfg->arc_seal_selector);
	free(cfg->arc_seal_key);
	free(cfg->dns_server);
	free(cfg->socket);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pidfile);
	free(cfg->syslog_facility);
	free(cfg->log_level);
	free(cfg->report_store);
	free(cfg->report_domain);
	free(cfg->report_org_name);
	free(cfg->report_email);
	free(cfg->report_contact_info);
	free(cfg->report_smtp);
	if (cfg->ext.free != NULL)
		cfg->ext.free(cfg->ext.ctx);
	free(cfg);
}

void
config_set_ext(struct policy_config *cfg, const struct config_ext *ext)
{
	if (cfg->ext.free != NULL)
		cfg->ext.free(cfg->ext.ctx);
	cfg->ext = *ext;
}

void *
config_ext(const struct policy_config *cfg)
{
	return cfg->ext.ctx;
}

/* ---- applying one value ---- */

static int
config_set_number(struct policy_config *cfg, const struct config_key *k, const char *v, char *msg,
                  size_t msglen)
{
	enum config_number kind = k->kind == K_MS        ? CONFIG_MILLISECONDS
	                          : k->kind == K_SECONDS ? CONFIG_SECONDS
	                          : k->kind == K_SIZE    ? CONFIG_BYTES
	                                                 : CONFIG_NUMBER;
	unsigned long long n;
	char *p = (char *)cfg + k->offset;

	if (config_parse_number(k->name, kind, k->min, k->max, v, &n, msg, msglen) < 0)
		return -1;
	if (k->kind == K_SIZE || k->kind == K_COUNT)
		*(size_t *)(void *)p = (size_t)n;
	else
		*(unsigned *)(void *)p = (unsigned)n;
	return 0;
}

static int
config_set_enum(struct policy_config *cfg, const struct config_key *k, const char *v, char *msg,
                size_t msglen)
{
	int i;

	for (i = 0; k->choices[i] != NULL; i++)
		if (strcasecmp(v, k->choices[i]) == 0)
			break;
	if (k->choices[i] == NULL) {
		snprintf(msg, msglen, "%s takes %s or %s%s%s", k->name, k->choices[0],
		         k->choices[1], k->choices[2] ? " or " : "",
		         k->choices[2] ? k->choices[2] : "");
		return -1;
	}
	switch (k->which) {
	case E_DMARC_MODE:
		cfg->dmarc_mode = (enum config_dmarc_mode)i;
		break;
	case E_FROM:
		cfg->from_policy = (enum config_from_policy)i;
		break;
	case E_QUARANTINE:
		cfg->quarantine = (enum config_quarantine)i;
		break;
	case E_DNS_TEMPFAIL:
		cfg->on_dns_tempfail = (enum config_on_error)i;
		break;
	case E_INTERNAL:
		cfg->on_internal_error = (enum config_on_error)i;
		break;
	case E_NONE:
		break;
	}
	return 0;
}

static int
config_set_string(struct policy_config *cfg, const struct config_key *k, const char *v, char *msg,
                  size_t msglen)
{
	char **slot = (char **)(void *)((char *)cfg + k->offset);
	char *copy = NULL;

	if (v[0] == '\0' && k->empty_is_null) {
		free(*slot);
		*slot = NULL;
		return 0;
	}
	if (v[0] == '\0') {
		snprintf(msg, msglen, "%s needs a value", k->name);
		return -1;
	}
	if (k->check != NULL && k->check(v, msg, msglen) < 0)
		return -1;
	if ((copy = strdup(v)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

static int
config_add_net(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct policy_config *cfg = ctx;

	return config_add_network(&cfg->trusted, &cfg->ntrusted, "trusted_networks", item, msg,
	                          msglen);
}

/* A domain list and its key's name, for config_split_list(). */
struct config_domain_list {
	struct config_domains *l;
	const char *key;
	bool addresses; /* local@domain entries are kept too (lower case) */
	bool listen;    /* HOST:PORT entries, kept as written */
};

/* "local@domain": the address in lower case, its domain checked. */
static int
config_parse_address(const char *item, char *out, size_t outlen, char *msg, size_t msglen)
{
	const char *at = strrchr(item, '@');
	char dom[CONFIG_DOMAIN_MAX + 1];
	size_t i, llen = at != NULL ? (size_t)(at - item) : 0;

	if (at == NULL || llen == 0 || llen > 64 || llen + 1 >= outlen) {
		snprintf(msg, msglen, "not an address: %.64s", item);
		return -1;
	}
	if (config_parse_domain(at + 1, dom, msg, msglen) < 0)
		return -1;
	for (i = 0; i < llen; i++) {
		unsigned char c = (unsigned char)item[i];
		if (c <= 0x20 || c >= 0x7f) {
			snprintf(msg, msglen, "not an address: %.64s", item);
			return -1;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	snprintf(out + llen, outlen - llen, "@%s", dom);
	return 0;
}

static int
config_add_domain(void *arg, const char *item, char *msg, size_t msglen)
{
	struct config_domain_list *dl = arg;
	struct config_domains *l = dl->l;
	char norm[CONFIG_DOMAIN_MAX + 66], **grown;

	if (dl->listen) {
		if (config_check_listen(item, msg, msglen) < 0)
			return -1;
		snprintf(norm, sizeof(norm), "%s", item);
	} else if (dl->addresses && strchr(item, '@') != NULL
	               ? config_parse_address(item, norm, sizeof(norm), msg, msglen) < 0
	               : config_parse_domain(item, norm, msg, msglen) < 0) {
		return -1;
	}
	if (l->n >= CONFIG_LIST_MAX) {
		snprintf(msg, msglen, "%s has more than %d entries", dl->key, CONFIG_LIST_MAX);
		return -1;
	}
	if ((grown = realloc(l->v, (l->n + 1) * sizeof(*grown))) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	l->v = grown;
	if ((grown[l->n] = strdup(norm)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	l->n++;
	return 0;
}

/* "DOMAIN SELECTOR KEYFILE", DOMAIN perhaps "*." and a domain. */
static int
config_add_sign(struct policy_config *cfg, const char *v, char *msg, size_t msglen)
{
	char dom[CONFIG_LINE_MAX + 1], sel[CONFIG_LINE_MAX + 1], key[CONFIG_LINE_MAX + 1];
	char norm[CONFIG_DOMAIN_MAX + 3];
	struct config_sign *grown, *e;
	int wild;

	if (sscanf(v, "%4096s %4096s %4096s", dom, sel, key) != 3) {
		snprintf(msg, msglen, "dkim_sign takes DOMAIN SELECTOR KEYFILE");
		return -1;
	}
	wild = strncmp(dom, "*.", 2) == 0;
	if (config_parse_domain(dom + (wild ? 2 : 0), norm + 2, msg, msglen) < 0 ||
	    config_check_selector(sel, msg, msglen) < 0 || config_check_path(key, msg, msglen) < 0)
		return -1;
	if (cfg->ndkim_sign >= CONFIG_LIST_MAX ||
	    (grown = realloc(cfg->dkim_sign, (cfg->ndkim_sign + 1) * sizeof(*grown))) == NULL) {
		snprintf(msg, msglen, "too many dkim_sign entries");
		return -1;
	}
	cfg->dkim_sign = grown;
	memcpy(norm, "*.", 2);
	e = &grown[cfg->ndkim_sign];
	e->domain = strdup(wild ? norm : norm + 2);
	e->selector = strdup(sel);
	e->keyfile = strdup(key);
	cfg->ndkim_sign++;
	if (e->domain == NULL || e->selector == NULL || e->keyfile == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	return 0;
}

static int
config_set_list(struct policy_config *cfg, const struct config_key *k, const char *v, bool replace,
                char *msg, size_t msglen)
{
	struct config_domain_list dl = {(struct config_domains *)(void *)((char *)cfg + k->offset),
	                                k->name, k->kind == K_ADDRS, k->kind == K_LISTEN};

	switch (k->kind) {
	case K_NETS:
		if (replace) {
			free(cfg->trusted);
			cfg->trusted = NULL;
			cfg->ntrusted = 0;
		}
		return config_split_list(v, config_add_net, cfg, msg, msglen);
	case K_SIGN:
		if (replace)
			config_free_sign(cfg);
		return v[0] == '\0' ? 0 : config_add_sign(cfg, v, msg, msglen);
	default:
		if (replace)
			config_free_domains(dl.l);
		return config_split_list(v, config_add_domain, &dl, msg, msglen);
	}
}

/* Sets one key; seen (NULL for config_set) says which lists to extend. */
static int
config_apply(struct policy_config *cfg, const char *key, const char *v, struct config_seen *seen,
             char *msg, size_t msglen)
{
	const struct config_key *k = config_find_key(key);
	bool *listseen;
	bool replace;
	int rc;

	if (k == NULL) {
		rc = cfg->ext.set == NULL
		         ? CONFIG_EXT_UNKNOWN
		         : cfg->ext.set(cfg->ext.ctx, key, v, cfg->ext_source, msg, msglen);
		if (rc == CONFIG_EXT_UNKNOWN)
			config_unknown_key(cfg, key, msg, msglen);
		return rc == 0 ? 0 : -1;
	}
	switch (k->kind) {
	case K_BOOL:
		return config_parse_bool(v, (bool *)(void *)((char *)cfg + k->offset), msg, msglen);
	case K_ENUM:
		return config_set_enum(cfg, k, v, msg, msglen);
	case K_STRING:
		return config_set_string(cfg, k, v, msg, msglen);
	case K_NETS:
	case K_DOMAINS:
	case K_ADDRS:
	case K_LISTEN:
	case K_SIGN:
		listseen = seen == NULL ? NULL : &seen->key[k - config_keys];
		replace = listseen == NULL || !*listseen;
		if (listseen != NULL)
			*listseen = true;
		return config_set_list(cfg, k, v, replace, msg, msglen);
	default:
		return config_set_number(cfg, k, v, msg, msglen);
	}
}

int
config_set(struct policy_config *cfg, const char *key, const char *value, struct auth_error *err)
{
	char msg[AUTH_ERROR_MSG_MAX];

	if (strlen(value) > CONFIG_LINE_MAX)
		return auth_error_set(err, AUTH_ELIMIT, "%.64s: value longer than %d bytes", key,
		                      CONFIG_LINE_MAX);
	cfg->ext_source++;
	if (config_apply(cfg, key, value, NULL, msg, sizeof(msg)) < 0)
		return auth_error_set(err, AUTH_EINVAL, "%s", msg);
	return 0;
}

/* ---- reading a file ---- */

/* One line (NUL-free, no line end): "key value", comment or blank. */
static int
config_line(struct policy_config *cfg, struct config_seen *seen, char *line, char *msg,
            size_t msglen)
{
	char *key, *value;

	if (config_split_line(line, &key, &value, msg, msglen) < 0)
		return -1;
	if (key == NULL)
		return 0;
	return config_apply(cfg, key, value, seen, msg, msglen);
}

/* Reads one line into line[CONFIG_LINE_MAX + 1]; returns its length, -1 at
 * the end of the input, -2 when too long, -3 for a NUL byte. */
struct config_src {
	FILE *f;
	const char *data;
	size_t len, pos;
};

static int
config_getc(struct config_src *src)
{
	if (src->f != NULL)
		return getc(src->f);
	return src->pos < src->len ? (unsigned char)src->data[src->pos++] : EOF;
}

static long
config_read_line(struct config_src *src, char *line)
{
	size_t n = 0;
	int c = EOF;
	bool bad_nul = false;

	while ((c = config_getc(src)) != EOF && c != '\n') {
		if (c == '\0')
			bad_nul = true;
		if (n < CONFIG_LINE_MAX + 1)
			line[n] = (char)c;
		n++;
	}
	if (c == EOF && n == 0)
		return -1;
	if (n > CONFIG_LINE_MAX)
		return -2;
	if (bad_nul)
		return -3;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return (long)n;
}

static int
config_parse_src(struct policy_config *cfg, const char *name, struct config_src *src,
                 struct auth_error *err)
{
	char line[CONFIG_LINE_MAX + 2], msg[AUTH_ERROR_MSG_MAX];
	struct config_seen seen = {{false}};
	unsigned long lineno = 0;
	long n;

	cfg->ext_source++;
	while ((n = config_read_line(src, line)) != -1) {
		lineno++;
		if (n == -2)
			return auth_error_set(err, AUTH_ELIMIT, "%s:%lu: line longer than %d bytes",
			                      name, lineno, CONFIG_LINE_MAX);
		if (n == -3)
			return auth_error_set(err, AUTH_ESYNTAX, "%s:%lu: NUL byte in line", name,
			                      lineno);
		if (config_line(cfg, &seen, line, msg, sizeof(msg)) < 0)
			return auth_error_set(err, AUTH_ESYNTAX, "%s:%lu: %s", name, lineno, msg);
	}
	return 0;
}

int
config_load(struct policy_config *cfg, const char *path, struct auth_error *err)
{
	struct config_src src = {NULL, NULL, 0, 0};
	int rc;

	if ((src.f = fopen(path, "r")) == NULL)
		return auth_error_set(err, AUTH_EIO, "%s: %s", path, strerror(errno));
	rc = config_parse_src(cfg, path, &src, err);
	if (rc == 0 && ferror(src.f))
		rc = auth_error_set(err, AUTH_EIO, "%s: read error", path);
	fclose(src.f);
	return rc;
}

int
config_load_string(struct policy_config *cfg, const char *name, const char *data, size_t len,
                   struct auth_error *err)
{
	struct config_src src = {NULL, data, len, 0};

	return config_parse_src(cfg, name, &src, err);
}

/* ---- the effective configuration ---- */

static int
config_enum_value(const struct policy_config *cfg, enum key_enum which)
{
	switch (which) {
	case E_DMARC_MODE:
		return (int)cfg->dmarc_mode;
	case E_FROM:
		return (int)cfg->from_policy;
	case E_QUARANTINE:
		return (int)cfg->quarantine;
	case E_DNS_TEMPFAIL:
		return (int)cfg->on_dns_tempfail;
	case E_INTERNAL:
		return (int)cfg->on_internal_error;
	case E_NONE:
		break;
	}
	return 0;
}

static int
config_format_number_key(struct buf *out, const struct policy_config *cfg,
                         const struct config_key *k)
{
	const char *p = (const char *)cfg + k->offset;
	unsigned long long v = k->kind == K_SIZE || k->kind == K_COUNT
	                           ? (unsigned long long)*(const size_t *)(const void *)p
	                           : *(const unsigned *)(const void *)p;
	enum config_number kind = k->kind == K_MS        ? CONFIG_MILLISECONDS
	                          : k->kind == K_SECONDS ? CONFIG_SECONDS
	                          : k->kind == K_SIZE    ? CONFIG_BYTES
	                                                 : CONFIG_NUMBER;
	char text[32];

	config_format_number(kind, v, text, sizeof(text));
	return config_format_line(out, k->name, text);
}

static int
config_format_key(struct buf *out, const struct policy_config *cfg, const struct config_key *k)
{
	const char *p = (const char *)cfg + k->offset, *str;

	switch (k->kind) {
	case K_BOOL:
		return config_format_line(out, k->name,
		                          *(const bool *)(const void *)p ? "yes" : "no");
	case K_ENUM:
		return config_format_line(out, k->name,
		                          k->choices[config_enum_value(cfg, k->which)]);
	case K_STRING:
		str = *(char *const *)(const void *)p;
		if (str != NULL && strcmp(k->name, "report_store") == 0)
			return config_format_secret_uri(out, k->name, str);
		return config_format_line(out, k->name, str != NULL ? str : "");
	case K_NETS:
		return config_format_nets(out, k->name, cfg->trusted, cfg->ntrusted);
	case K_DOMAINS:
	case K_ADDRS:
	case K_LISTEN:
		return config_format_domains(out, k->name,
		                             (const struct config_domains *)(const void *)p);
	case K_SIGN:
		return config_format_signs(out, cfg);
	default:
		return config_format_number_key(out, cfg, k);
	}
}

int
config_format(const struct policy_config *cfg, struct buf *out)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if (config_format_key(out, cfg, &config_keys[i]) < 0)
			return -1;
	return cfg->ext.format != NULL ? cfg->ext.format(cfg->ext.ctx, out) : 0;
}

/* ---- questions asked per message ---- */

bool
config_is_trusted(const struct policy_config *cfg, const char *ip)
{
	struct config_net addr;
	size_t i;

	if (ip == NULL || config_parse_addr(ip, &addr) < 0)
		return false;
	for (i = 0; i < cfg->ntrusted; i++)
		if (config_net_contains(&cfg->trusted[i], &addr))
			return true;
	return false;
}

/* Whether domain (a final dot aside) is e, or below it when below. */
static bool
config_domain_match(const char *domain, const char *e, bool at, bool below)
{
	size_t dlen = strlen(domain), elen = strlen(e);

	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	if (dlen < elen || strncasecmp(domain + dlen - elen, e, elen) != 0)
		return false;
	return dlen == elen ? at : below && domain[dlen - elen - 1] == '.';
}

bool
config_domain_listed(const struct config_domains *l, const char *domain)
{
	size_t i;

	for (i = 0; domain != NULL && i < l->n; i++)
		if (config_domain_match(domain, l->v[i], true, true))
			return true;
	return false;
}

bool
config_report_suppressed(const struct policy_config *cfg, const char *policy_domain,
                         const char *addr, const char *addr_domain)
{
	const struct config_domains *l = &cfg->report_suppress;
	size_t i;

	if (config_domain_listed(l, policy_domain) || config_domain_listed(l, addr_domain))
		return true;
	for (i = 0; addr != NULL && i < l->n; i++)
		if (strchr(l->v[i], '@') != NULL && strcasecmp(l->v[i], addr) == 0)
			return true;
	return false;
}

bool
config_never_reject(const struct policy_config *cfg, const char *domain)
{
	return config_domain_listed(&cfg->never_reject, domain);
}

bool
config_trusted_sealer(const struct policy_config *cfg, const char *domain)
{
	return config_domain_listed(&cfg->arc_trusted_sealers, domain);
}

/* "*.example.org" is every name below example.org, not example.org. */
bool
config_sign_matches(const struct config_sign *e, const char *domain)
{
	bool wild = strncmp(e->domain, "*.", 2) == 0;

	return domain != NULL &&
	       config_domain_match(domain, e->domain + (wild ? 2 : 0), !wild, wild);
}
