/*
 * smtpd_conf - see smtpd_conf.h.
 *
 * Each key is a row of smtpd_keys[], as in policy/config.c, parsed with
 * the same value syntaxes (config_value.h), so durations, sizes, booleans
 * and networks read the same in every part of the file.
 */
#include "autoconf.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_text.h"
#include "config_value.h"
#include "smtpd_conf.h"

enum sk_kind { SK_BOOL, SK_SECONDS, SK_SIZE, SK_COUNT, SK_UINT, SK_PATH, SK_STRING, SK_SPECIAL };

struct smtpd_key {
	const char *name;
	enum sk_kind kind;
	size_t offset;
	unsigned long long min, max;
};

#define SOFF(f) offsetof(struct smtpd_conf, f)

static const struct smtpd_key smtpd_keys[] = {
    {"smtp_listen", SK_SPECIAL, 0, 0, 0},
    {"smtp_hostname", SK_STRING, SOFF(hostname), 0, 0},
    {"next_hop", SK_SPECIAL, 0, 0, 0},
    {"maildir", SK_PATH, SOFF(maildir), 0, 0},
    {"quarantine_maildir", SK_PATH, SOFF(quarantine_maildir), 0, 0},
    {"smtp_tls_cert_file", SK_PATH, SOFF(tls_cert_file), 0, 0},
    {"smtp_tls_key_file", SK_PATH, SOFF(tls_key_file), 0, 0},
    {"smtp_max_connections", SK_COUNT, SOFF(max_connections), 1, 1000000},
    {"smtp_max_connections_per_ip", SK_COUNT, SOFF(max_connections_per_ip), 1, 1000000},
    {"smtp_max_message_size", SK_SIZE, SOFF(max_message_size), 1024, 1024ull << 20},
    {"smtp_max_recipients", SK_COUNT, SOFF(max_recipients), 1, 100000},
    {"smtp_max_line_length", SK_COUNT, SOFF(max_line_length), 1000, 1000000},
    {"smtp_command_timeout", SK_SECONDS, SOFF(command_timeout), 1, 3600},
    {"smtp_data_timeout", SK_SECONDS, SOFF(data_timeout), 1, 3600},
    {"smtp_drain_timeout", SK_SECONDS, SOFF(drain_timeout), 1, 3600},
    {"smtp_workers", SK_UINT, SOFF(workers), 1, 1024},
    {"smtp_trusted_proxies", SK_SPECIAL, 0, 0, 0},
    {"smtp_proxy_protocol", SK_BOOL, SOFF(proxy_protocol), 0, 0},
    {"smtp_accept_bare_line_ends", SK_BOOL, SOFF(accept_bare_line_ends), 0, 0},
    {"next_hop_connect_timeout", SK_SECONDS, SOFF(hop_connect_timeout), 1, 3600},
    {"next_hop_timeout", SK_SECONDS, SOFF(hop_timeout), 1, 3600},
    {"next_hop_data_timeout", SK_SECONDS, SOFF(hop_data_timeout), 1, 3600},
    {"next_hop_starttls", SK_BOOL, SOFF(hop_starttls), 0, 0},
};

#define SMTPD_NKEYS (sizeof(smtpd_keys) / sizeof(smtpd_keys[0]))

static void
smtpd_conf_free(void *ctx)
{
	struct smtpd_conf *sc = ctx;

	if (sc == NULL)
		return;
	free(sc->hostname);
	free(sc->next_hop);
	free(sc->maildir);
	free(sc->quarantine_maildir);
	free(sc->tls_cert_file);
	free(sc->tls_key_file);
	free(sc->proxies);
	SSL_CTX_free(sc->tls);
	free(sc);
}

/* "[ADDR:]PORT", ADDR an IPv4 address, [IPv6] or a host name. */
static int
smtpd_parse_listen(const char *v, struct smtpd_listen *l, char *msg, size_t msglen)
{
	const char *port = v, *colon = strrchr(v, ':');
	size_t hlen = 0;

	memset(l, 0, sizeof(*l));
	if (colon != NULL) {
		const char *host = v;

		hlen = (size_t)(colon - v);
		if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
			host++;
			hlen -= 2;
		}
		if (hlen >= sizeof(l->host) ||
		    (hlen > 0 && memchr(host, ':', hlen) != NULL && v[0] != '['))
			goto bad;
		memcpy(l->host, host, hlen);
		port = colon + 1;
	}
	if (strlen(port) == 0 || strlen(port) >= sizeof(l->port) ||
	    strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 || atoi(port) > 65535)
		goto bad;
	memcpy(l->port, port, strlen(port) + 1);
	return 0;
bad:
	snprintf(msg, msglen, "smtp_listen takes [ADDRESS:]PORT, not \"%.64s\"", v);
	return -1;
}

static int
smtpd_add_listen(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct smtpd_conf *sc = ctx;

	if (sc->nlisten >= SMTPD_CONF_LISTEN_MAX) {
		snprintf(msg, msglen, "smtp_listen has more than %d addresses",
		         SMTPD_CONF_LISTEN_MAX);
		return -1;
	}
	if (smtpd_parse_listen(item, &sc->listen[sc->nlisten], msg, msglen) < 0)
		return -1;
	sc->nlisten++;
	return 0;
}

static int
smtpd_add_proxy(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct smtpd_conf *sc = ctx;

	return config_add_network(&sc->proxies, &sc->nproxies, "smtp_trusted_proxies", item, msg,
	                          msglen);
}

/* The list keys and next_hop. */
static int
smtpd_set_special(struct smtpd_conf *sc, const char *key, const char *v, unsigned source, char *msg,
                  size_t msglen)
{
	char *copy;

	if (strcmp(key, "smtp_listen") == 0) {
		if (sc->listen_source != source)
			sc->nlisten = 0;
		sc->listen_source = source;
		return config_split_list(v, smtpd_add_listen, sc, msg, msglen);
	}
	if (strcmp(key, "smtp_trusted_proxies") == 0) {
		if (sc->proxies_source != source)
			sc->nproxies = 0;
		sc->proxies_source = source;
		return config_split_list(v, smtpd_add_proxy, sc, msg, msglen);
	}
	if (v[0] == '\0') {
		free(sc->next_hop);
		sc->next_hop = NULL;
		return 0;
	}
	if (smtpc_target_parse(v, &sc->hop, msg, msglen) < 0)
		return -1;
	if ((copy = strdup(v)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	free(sc->next_hop);
	sc->next_hop = copy;
	return 0;
}

static int
smtpd_set_string(struct smtpd_conf *sc, const struct smtpd_key *k, const char *v, char *msg,
                 size_t msglen)
{
	char **slot = (char **)(void *)((char *)sc + k->offset), *copy = NULL;

	if (v[0] != '\0') {
		if (k->kind == SK_PATH && config_check_path(v, msg, msglen) < 0)
			return -1;
		if (k->kind == SK_STRING && config_check_authserv_id(v, msg, msglen) < 0)
			return -1;
		if ((copy = strdup(v)) == NULL) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
	}
	free(*slot);
	*slot = copy;
	return 0;
}

static int
smtpd_set_number(struct smtpd_conf *sc, const struct smtpd_key *k, const char *v, char *msg,
                 size_t msglen)
{
	enum config_number kind = k->kind == SK_SECONDS ? CONFIG_SECONDS
	                          : k->kind == SK_SIZE  ? CONFIG_BYTES
	                                                : CONFIG_NUMBER;
	char *p = (char *)sc + k->offset;
	unsigned long long n;

	if (config_parse_number(k->name, kind, k->min, k->max, v, &n, msg, msglen) < 0)
		return -1;
	if (k->kind == SK_SIZE || k->kind == SK_COUNT)
		*(size_t *)(void *)p = (size_t)n;
	else
		*(unsigned *)(void *)p = (unsigned)n;
	return 0;
}

static int
smtpd_conf_set(void *ctx, const char *key, const char *v, unsigned source, char *msg, size_t msglen)
{
	struct smtpd_conf *sc = ctx;
	size_t i;

	for (i = 0; i < SMTPD_NKEYS; i++) {
		const struct smtpd_key *k = &smtpd_keys[i];

		if (strcmp(k->name, key) != 0)
			continue;
		switch (k->kind) {
		case SK_SPECIAL:
			return smtpd_set_special(sc, key, v, source, msg, msglen);
		case SK_BOOL:
			return config_parse_bool(v, (bool *)(void *)((char *)sc + k->offset), msg,
			                         msglen);
		case SK_PATH:
		case SK_STRING:
			return smtpd_set_string(sc, k, v, msg, msglen);
		default:
			return smtpd_set_number(sc, k, v, msg, msglen);
		}
	}
	return CONFIG_EXT_UNKNOWN;
}

static const char *
smtpd_conf_name(void *ctx, size_t i)
{
	(void)ctx;
	return i < SMTPD_NKEYS ? smtpd_keys[i].name : NULL;
}

static const char *
smtpd_listen_item(void *ctx, size_t i, char *tmp, size_t tmplen)
{
	const struct smtpd_conf *sc = ctx;
	const struct smtpd_listen *l;
	bool v6;

	if (i >= sc->nlisten)
		return NULL;
	l = &sc->listen[i];
	v6 = strchr(l->host, ':') != NULL;
	snprintf(tmp, tmplen, "%s%s%s%s%s", v6 ? "[" : "", l->host, v6 ? "]" : "",
	         l->host[0] != '\0' ? ":" : "", l->port);
	return tmp;
}

static int
smtpd_format_key(const struct smtpd_conf *sc, const struct smtpd_key *k, struct buf *out)
{
	const char *p = (const char *)sc + k->offset, *str;
	enum config_number kind = k->kind == SK_SECONDS ? CONFIG_SECONDS
	                          : k->kind == SK_SIZE  ? CONFIG_BYTES
	                                                : CONFIG_NUMBER;
	unsigned long long v;
	char text[32];

	switch (k->kind) {
	case SK_SPECIAL:
		if (strcmp(k->name, "smtp_listen") == 0)
			return config_format_list(out, k->name, smtpd_listen_item, (void *)sc);
		if (strcmp(k->name, "smtp_trusted_proxies") == 0)
			return config_format_nets(out, k->name, sc->proxies, sc->nproxies);
		return config_format_line(out, k->name, sc->next_hop != NULL ? sc->next_hop : "");
	case SK_BOOL:
		return config_format_line(out, k->name,
		                          *(const bool *)(const void *)p ? "yes" : "no");
	case SK_PATH:
	case SK_STRING:
		str = *(char *const *)(const void *)p;
		return config_format_line(out, k->name, str != NULL ? str : "");
	default:
		v = k->kind == SK_SIZE || k->kind == SK_COUNT
		        ? (unsigned long long)*(const size_t *)(const void *)p
		        : *(const unsigned *)(const void *)p;
		config_format_number(kind, v, text, sizeof(text));
		return config_format_line(out, k->name, text);
	}
}

static int
smtpd_conf_format(void *ctx, struct buf *out)
{
	const struct smtpd_conf *sc = ctx;
	size_t i;

	for (i = 0; i < SMTPD_NKEYS; i++)
		if (smtpd_format_key(sc, &smtpd_keys[i], out) < 0)
			return -1;
	return 0;
}

int
smtpd_conf_keys(struct config_ext *ext, struct auth_error *err)
{
	struct smtpd_conf *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	sc->max_connections = 10000;
	sc->max_connections_per_ip = 50;
	sc->max_message_size = 10u << 20;
	sc->max_recipients = 100;
	sc->max_line_length = 1000;
	/* RFC 5321 §4.5.3.2.7: at least 5 minutes awaiting a command. */
	sc->command_timeout = 300;
	sc->data_timeout = 300;
	sc->drain_timeout = 30;
	sc->workers = 16;
	sc->hop_connect_timeout = 30;
	sc->hop_timeout = 300;
	sc->hop_data_timeout = 300;
	sc->hop_starttls = true;
	ext->set = smtpd_conf_set;
	ext->free = smtpd_conf_free;
	ext->ctx = sc;
	ext->name = smtpd_conf_name;
	ext->format = smtpd_conf_format;
	return 0;
}

const struct smtpd_conf *
smtpd_conf_get(const struct policy_config *cfg)
{
	return config_ext(cfg);
}

static int
smtpd_tls_error(struct auth_error *err, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	return auth_error_set(err, AUTH_EINVAL, "%s %s: %s", what, file,
	                      e != 0 ? ERR_reason_error_string(e) : "unknown error");
}

/* TLS 1.2 or later, with the certificate chain and the key of the config. */
static int
smtpd_load_tls(struct smtpd_conf *sc, struct auth_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return auth_error_set(err, AUTH_ENOMEM, "cannot make a TLS context");
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, sc->tls_cert_file) != 1) {
		SSL_CTX_free(ctx);
		return smtpd_tls_error(err, "smtp_tls_cert_file", sc->tls_cert_file);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, sc->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return smtpd_tls_error(err, "smtp_tls_key_file", sc->tls_key_file);
	}
	SSL_CTX_free(sc->tls);
	sc->tls = ctx;
	return 0;
}

int
smtpd_conf_check(const struct policy_config *cfg, struct auth_error *err)
{
	struct smtpd_conf *sc = config_ext(cfg);

	if (sc == NULL)
		return auth_error_set(err, AUTH_EINVAL, "no listener settings");
	if (sc->nlisten == 0)
		return auth_error_set(
		    err, AUTH_EINVAL,
		    "nothing to listen on: give --smtp [ADDRESS:]PORT or smtp_listen");
	if ((sc->next_hop == NULL) == (sc->maildir == NULL))
		return auth_error_set(err, AUTH_EINVAL,
		                      "accepted mail needs one destination: next_hop or maildir");
	if ((sc->tls_cert_file == NULL) != (sc->tls_key_file == NULL))
		return auth_error_set(
		    err, AUTH_EINVAL,
		    "STARTTLS needs both smtp_tls_cert_file and smtp_tls_key_file");
	if (sc->tls_cert_file != NULL && smtpd_load_tls(sc, err) < 0)
		return -1;
	return 0;
}

bool
smtpd_conf_is_proxy(const struct smtpd_conf *sc, const char *ip)
{
	struct config_net addr;
	size_t i;

	if (ip == NULL || config_parse_addr(ip, &addr) < 0)
		return false;
	for (i = 0; i < sc->nproxies; i++)
		if (config_net_contains(&sc->proxies[i], &addr))
			return true;
	return false;
}

const char *
smtpd_conf_quarantine(const struct smtpd_conf *sc, char *buf, size_t buflen)
{
	int n;

	if (sc->quarantine_maildir != NULL)
		return sc->quarantine_maildir;
	if (sc->maildir == NULL)
		return NULL;
	n = snprintf(buf, buflen, "%s/.Quarantine", sc->maildir);
	return n > 0 && (size_t)n < buflen ? buf : NULL;
}
