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
	K_DOMAINS,
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
    {"never_reject_domains", K_DOMAINS, 0, 0, 0, E_NONE, NULL, NULL, false},
    STR("dns_server", dns_server, config_check_dns_server, true),
    NUM("dns_timeout", K_MS, dns_timeout_ms, 1, 60000),
    NUM("dns_retries", K_UINT, dns_retries, 0, 10),
    NUM("dns_cache_entries", K_COUNT, dns_cache_entries, 16, 16777216),
    NUM("dns_cache_max_ttl", K_SECONDS, dns_cache_max_ttl, 1, 604800),
    NUM("max_header_bytes", K_SIZE, max_header_bytes, 1024, 64ul << 20),
    NUM("max_headers", K_COUNT, max_headers, 10, 100000),
    STR("socket", socket, config_check_socket, false),
    STR("user", user, config_check_name, true),
    STR("group", group, config_check_name, true),
    STR("pidfile", pidfile, config_check_path, true),
    STR("syslog_facility", syslog_facility, config_check_facility, false),
    STR("log_level", log_level, config_check_log_level, false),
    STR("report_db", report_db, config_check_report_db, false),
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Which list keys the current file has already named (see the top). */
struct config_seen {
	bool nets, domains;
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
	cfg->max_header_bytes = 1u << 20;
	cfg->max_headers = 1000;
	cfg->authserv_id = config_hostname();
	cfg->socket = strdup("unix:/run/authmilter/authmilter.sock");
	cfg->syslog_facility = strdup("mail");
	cfg->log_level = strdup("info");
	cfg->report_db = strdup("/var/lib/authmilter/reports.db");
	if (cfg->authserv_id == NULL || cfg->socket == NULL || cfg->syslog_facility == NULL ||
	    cfg->log_level == NULL || cfg->report_db == NULL) {
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
config_free_domains(struct policy_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nnever_reject; i++)
		free(cfg->never_reject[i]);
	free(cfg->never_reject);
	cfg->never_reject = NULL;
	cfg->nnever_reject = 0;
}

void
config_free(struct policy_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->authserv_id);
	free(cfg->trusted);
	config_free_domains(cfg);
	free(cfg->dns_server);
	free(cfg->socket);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pidfile);
	free(cfg->syslog_facility);
	free(cfg->log_level);
	free(cfg->report_db);
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

static int
config_add_domain(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct policy_config *cfg = ctx;
	char norm[CONFIG_DOMAIN_MAX + 1], **grown;

	if (config_parse_domain(item, norm, msg, msglen) < 0)
		return -1;
	if (cfg->nnever_reject >= CONFIG_LIST_MAX) {
		snprintf(msg, msglen, "never_reject_domains has more than %d entries",
		         CONFIG_LIST_MAX);
		return -1;
	}
	grown = realloc(cfg->never_reject, (cfg->nnever_reject + 1) * sizeof(*grown));
	if (grown == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	cfg->never_reject = grown;
	if ((grown[cfg->nnever_reject] = strdup(norm)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	cfg->nnever_reject++;
	return 0;
}

static int
config_set_list(struct policy_config *cfg, const struct config_key *k, const char *v, bool replace,
                char *msg, size_t msglen)
{
	if (k->kind == K_NETS) {
		if (replace) {
			free(cfg->trusted);
			cfg->trusted = NULL;
			cfg->ntrusted = 0;
		}
		return config_split_list(v, config_add_net, cfg, msg, msglen);
	}
	if (replace)
		config_free_domains(cfg);
	return config_split_list(v, config_add_domain, cfg, msg, msglen);
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
			snprintf(msg, msglen, "unknown key \"%.64s\"", key);
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
		listseen = seen == NULL ? NULL : k->kind == K_NETS ? &seen->nets : &seen->domains;
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
	struct config_seen seen = {false, false};
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

bool
config_never_reject(const struct policy_config *cfg, const char *domain)
{
	size_t dlen, elen, i;

	if (domain == NULL)
		return false;
	dlen = strlen(domain);
	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	for (i = 0; i < cfg->nnever_reject; i++) {
		const char *e = cfg->never_reject[i];

		elen = strlen(e);
		if (dlen < elen || strncasecmp(domain + dlen - elen, e, elen) != 0)
			continue;
		if (dlen == elen || domain[dlen - elen - 1] == '.')
			return true;
	}
	return false;
}
