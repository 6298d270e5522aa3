/*
 * config - the daemon's settings: defaults, the config file, overrides.
 *
 * A struct policy_config is built once (config_new() gives the defaults,
 * config_load() reads a file over them, config_set() applies a command-line
 * override) and is then read-only, shared by every session and thread.
 * A reload builds a new one and swaps it in; sessions keep the one they
 * started with (the daemon reference-counts it).
 *
 * File format (authmilter.conf(5)): one "key value" per line; '#' starts a
 * comment; blank lines ignored; values may be quoted with "" to keep
 * spaces; list keys take several values separated by spaces or commas and
 * may be repeated.  Unknown keys and bad values are errors naming
 * file:line; an unknown key is told the nearest known one, its case
 * ignored (keys are case-sensitive).  Limits: lines of at most CONFIG_LINE_MAX bytes, lists of at
 * most CONFIG_LIST_MAX entries.
 */
#ifndef AUTH_CONFIG_H
#define AUTH_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

#define CONFIG_LINE_MAX 4096
/* Seconds a temporary DNS failure is remembered, unless configured. */
#define CONFIG_DEFAULT_DNS_TEMPFAIL_TTL 30
#define CONFIG_LIST_MAX 1024

enum config_dmarc_mode { CONFIG_DMARC_RFC9989, CONFIG_DMARC_RFC7489 };
/* What to do with a message whose From cannot name one Author Domain
 * (no From, several From fields, several addresses). */
enum config_from_policy { CONFIG_FROM_REJECT, CONFIG_FROM_EVALUATE_ALL, CONFIG_FROM_NONE };
enum config_quarantine { CONFIG_QUARANTINE_HOLD, CONFIG_QUARANTINE_HEADER };
enum config_on_error { CONFIG_ACCEPT, CONFIG_TEMPFAIL };

/*
 * Keys that a front end keeps in the same file (the SMTP listener's own):
 * a key config.c does not know goes to set(), which returns 0 when it took
 * the value, -1 with msg written when the value is wrong, or
 * CONFIG_EXT_UNKNOWN when the key is not its own either (then it is an
 * error naming file:line as always).  source numbers the file or override
 * being read, so that a list key can replace the list the first time a
 * source names it and add to it after.
 */
#define CONFIG_EXT_UNKNOWN 1

struct config_ext {
	int (*set)(void *ctx, const char *key, const char *value, unsigned source, char *msg,
	           size_t msglen);
	void (*free)(void *ctx);
	void *ctx;
	/* Its i-th key name, NULL past the last (for the nearest key an
	 * unknown one names); may be NULL. */
	const char *(*name)(void *ctx, size_t i);
	/* Its keys as lines of a config file (config_format()); may be NULL. */
	int (*format)(void *ctx, struct buf *out);
};

/* A list of domains, lower case, without a final dot (or, for
 * metrics_listen, of HOST:PORT entries as written). */
struct config_domains {
	char **v;
	size_t n;
};

/* One dkim_sign entry: sign mail from domain (or, for "*.example.org",
 * from any name below example.org) with selector and the key in keyfile. */
struct config_sign {
	char *domain, *selector, *keyfile;
};

struct config_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct policy_config {
	/* Identity and headers */
	char *authserv_id;     /* default: the host name */
	bool add_received_spf; /* default: no */

	/* SPF */
	unsigned spf_timeout_ms; /* default 20000 */
	bool spf_fail_reject;    /* reject on SPF fail alone; default no */

	/* DKIM */
	unsigned dkim_max_signatures;  /* default 5 */
	bool dkim_allow_sha1;          /* default no (RFC 8301) */
	unsigned dkim_min_rsa_bits;    /* default 1024 */
	bool dkim_reject_partial_body; /* l= leaving content unsigned; default no */

	/* DMARC and actions */
	enum config_dmarc_mode dmarc_mode;      /* default rfc9989 */
	enum config_from_policy from_policy;    /* default reject */
	enum config_quarantine quarantine;      /* default hold */
	bool report_only;                       /* never reject or quarantine; default no */
	enum config_on_error on_dns_tempfail;   /* default accept */
	enum config_on_error on_internal_error; /* default accept (fail-open) */

	/* Local policy */
	struct config_net *trusted;         /* not checked at all */
	size_t ntrusted;                    /* default: 127.0.0.0/8, ::1/128 */
	bool skip_authenticated;            /* SMTP AUTH clients not checked; default yes */
	struct config_domains never_reject; /* From domains never rejected or quarantined */

	/* ARC */
	struct config_domains arc_trusted_sealers; /* whose passing chains may lift DMARC */
	char *arc_seal_domain, *arc_seal_selector; /* seal as d=, s=; NULL: no sealing */
	char *arc_seal_key;                        /* the private key file */

	/* Signing mail from trusted networks and authenticated clients */
	struct config_sign *dkim_sign;
	size_t ndkim_sign;

	/* DNS */
	char *dns_server;           /* HOST[:PORT]; NULL: /etc/resolv.conf */
	unsigned dns_timeout_ms;    /* default 2000 */
	unsigned dns_retries;       /* default 1 */
	size_t dns_cache_entries;   /* default 65536 */
	unsigned dns_cache_max_ttl; /* default 86400 */
	unsigned dns_tempfail_ttl;  /* a failed look-up is not asked again for this long; 30 */

	/* Message limits */
	size_t max_header_bytes; /* default 1 MiB */
	size_t max_headers;      /* default 1000 */

	/* Daemon */
	/* Default unix:/var/spool/postfix/authmilter/authmilter.sock: inside the
	 * chroot of Debian's Postfix, which reaches it as authmilter/authmilter.sock. */
	char *socket;
	char *user, *group;    /* drop to these after opening the socket; NULL: stay */
	char *pidfile;         /* default NULL */
	char *syslog_facility; /* default mail */
	char *log_level;       /* default info */

	/* DMARC aggregate reports: the store the daemons write and authreport reads */
	char *report_store;        /* sqlite:PATH (default sqlite:/var/lib/authmilter/reports.db)
	                            * or a PostgreSQL URI; may hold a password: never logged */
	size_t report_queue_size;  /* records waiting for the writer at most; default 10000 */
	unsigned report_retention; /* seconds records are kept; default 30 days */
	char *report_domain;   /* the reporter's domain (file names, Subject); NULL: authserv_id */
	char *report_org_name; /* report_metadata org_name; NULL: the report domain */
	char *report_email;    /* report_metadata email; NULL: postmaster@<report domain> */
	char *report_contact_info; /* report_metadata extra_contact_info; NULL: none */
	char *report_smtp;         /* HOST[:PORT] authreport mails through; 127.0.0.1:25 */
	bool report_starttls;      /* STARTTLS when the server offers it; default yes */
	size_t report_send_limit;  /* report mails one authreport send sends at most; 1000 */
	/* Policy domains (and their subdomains), destination domains and
	 * destination addresses never reported to. */
	struct config_domains report_suppress;

	/* Where the Prometheus metrics are served (HOST:PORT, HOST an
	 * address or a name, [IPv6] in brackets); none by default. */
	struct config_domains metrics_listen;

	/* A front end's own keys (config_set_ext), freed with the config. */
	struct config_ext ext;
	unsigned ext_source; /* counts the files and overrides read */
};

struct policy_config *config_new(struct auth_error *err);
void config_free(struct policy_config *cfg);
/* Reads a file over cfg.  On error cfg may hold part of the file: a
 * reload builds a fresh config and swaps it in only on success. */
int config_load(struct policy_config *cfg, const char *path, struct auth_error *err);
/* The same, from len bytes in memory; name is used in error messages. */
int config_load_string(struct policy_config *cfg, const char *name, const char *data, size_t len,
                       struct auth_error *err);
/* One "key value" override, as a config-file line would set it. */
int config_set(struct policy_config *cfg, const char *key, const char *value,
               struct auth_error *err);

/* Every key with its value, one "key value" line each, as a config file
 * that reads back to the same settings (the extension's keys after the
 * policy keys); a password in report_store is written as "*****".
 * Returns 0, or -1 when out is full. */
int config_format(const struct policy_config *cfg, struct buf *out);

/* report_domain, or authserv_id when it is not set. */
const char *config_report_domain(const struct policy_config *cfg);
/* report_email, or postmaster@ the report domain. */
void config_report_email(const struct policy_config *cfg, char *out, size_t len);

/* Lets ext take the keys config.c does not know; cfg owns ext->ctx from
 * now on (config_free() calls ext->free). */
void config_set_ext(struct policy_config *cfg, const struct config_ext *ext);
/* The ctx given to config_set_ext(), or NULL. */
void *config_ext(const struct policy_config *cfg);

/* Whether a client address (text) is in the trusted networks. */
bool config_is_trusted(const struct policy_config *cfg, const char *ip);
/* Whether domain, or a parent of it, is in the list. */
bool config_domain_listed(const struct config_domains *l, const char *domain);
/* Whether reports about policy_domain to the address addr (whose domain
 * is addr_domain) are suppressed. */
bool config_report_suppressed(const struct policy_config *cfg, const char *policy_domain,
                              const char *addr, const char *addr_domain);
/* Whether a From domain (or a parent of it) is in never_reject. */
bool config_never_reject(const struct policy_config *cfg, const char *domain);
/* Whether an ARC sealer's domain (or a parent of it) is trusted. */
bool config_trusted_sealer(const struct policy_config *cfg, const char *domain);
/* Whether dkim_sign entry e applies to mail from domain. */
bool config_sign_matches(const struct config_sign *e, const char *domain);

#endif
