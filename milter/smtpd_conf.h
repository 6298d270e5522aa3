/*
 * smtpd_conf - the SMTP listener's own settings, kept in the daemon's
 * config file beside the policy keys (config_set_ext(): one file, one
 * -o syntax, errors naming file:line, unknown keys still errors).
 *
 * smtpd_conf_keys() makes a fresh set with the defaults and hands it to
 * a config as its extension; smtpd_conf_get() finds it again.  Both front
 * ends register it, so one file serves the milter and the listener and
 * `authmilter -t` checks every key whichever mode runs.  smtpd_conf_check()
 * is the listener's own test of a loaded config: something to listen on,
 * exactly one destination, the TLS certificate and key (loaded here, so a
 * reload that cannot read them keeps the running config).
 *
 * Ownership: the set belongs to the config it extends and is freed with
 * it; the TLS context with it.  Read-only once loaded.
 */
#ifndef AUTH_SMTPD_CONF_H
#define AUTH_SMTPD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "smtpc.h"

#define SMTPD_CONF_LISTEN_MAX 16

struct smtpd_listen {
	char host[64]; /* "" for every address */
	char port[8];
};

struct smtpd_conf {
	struct smtpd_listen listen[SMTPD_CONF_LISTEN_MAX];
	size_t nlisten;
	char *hostname; /* our name in the greeting and EHLO; NULL: authserv_id */

	/* Delivery: exactly one of next_hop and maildir. */
	char *next_hop;
	struct smtpc_target hop;
	char *maildir, *quarantine_maildir;

	char *tls_cert_file, *tls_key_file;
	void *tls; /* the SSL_CTX made by smtpd_conf_check(), or NULL */

	size_t max_connections, max_connections_per_ip;
	size_t max_message_size, max_recipients, max_line_length;
	unsigned command_timeout, data_timeout, drain_timeout; /* seconds */
	unsigned workers;
	struct config_net *proxies;
	size_t nproxies;
	bool proxy_protocol;
	bool accept_bare_line_ends;

	unsigned hop_connect_timeout, hop_timeout, hop_data_timeout; /* seconds */
	bool hop_starttls;

	unsigned listen_source, proxies_source; /* config sources that set the lists */
};

/* A struct server_args keys_new function: the defaults, as ext. */
int smtpd_conf_keys(struct config_ext *ext, struct auth_error *err);
/* The listener's settings of a config made with them. */
const struct smtpd_conf *smtpd_conf_get(const struct policy_config *cfg);
/* Whether the listener can serve with cfg (see the top). */
int smtpd_conf_check(const struct policy_config *cfg, struct auth_error *err);
bool smtpd_conf_is_proxy(const struct smtpd_conf *sc, const char *ip);
/* Where quarantined mail goes: quarantine_maildir, or the Maildir++
 * folder .Quarantine of maildir, or NULL (relayed like the rest). */
const char *smtpd_conf_quarantine(const struct smtpd_conf *sc, char *buf, size_t buflen);

#endif
