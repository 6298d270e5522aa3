/*
 * config_value - the value syntaxes of the config file, for config.c.
 *
 * Each parser reads one NUL-terminated value (a config line has no NUL
 * byte) and either fills its output or writes why not into msg (bounded by
 * msglen) and returns -1.  Messages quote at most a short prefix of the
 * value, and never for report_store (it may be a connection string).
 *
 * Thread safety: no state; safe anywhere.
 */
#ifndef AUTH_CONFIG_VALUE_H
#define AUTH_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define CONFIG_DOMAIN_MAX 253

typedef int (*config_check_fn)(const char *v, char *msg, size_t msglen);

/* Splits a line in place into key and value (the value unquoted, comments
 * removed); *key is NULL for a blank or comment line. */
int config_split_line(char *line, char **key, char **value, char *msg, size_t msglen);

int config_parse_bool(const char *v, bool *out, char *msg, size_t msglen);
int config_parse_uint(const char *v, unsigned long long *out, char *msg, size_t msglen);
/* A duration, with the unit ms, s, m, h or d (any case), or a bare number
 * in the base unit: milliseconds (ms_base) or seconds.  In seconds, a
 * value in ms must be whole seconds.  A value too large saturates at
 * ULLONG_MAX, for the range check to refuse. */
int config_parse_duration(const char *v, bool ms_base, unsigned long long *out, char *msg,
                          size_t msglen);
/* Bytes: a bare number, or with k or m (KiB, MiB). */
int config_parse_size(const char *v, unsigned long long *out, char *msg, size_t msglen);

/* How a number value reads: a plain number, a duration in milliseconds
 * or in seconds (config_parse_duration), bytes (config_parse_size). */
enum config_number { CONFIG_NUMBER, CONFIG_MILLISECONDS, CONFIG_SECONDS, CONFIG_BYTES };

/* Reads v as that kind and checks it against [min, max], the message
 * naming key and the bounds in the kind's units ("between 1ms and 10m"). */
int config_parse_number(const char *key, enum config_number kind, unsigned long long min,
                        unsigned long long max, const char *v, unsigned long long *out, char *msg,
                        size_t msglen);
/* v as a value of that kind reads back: a duration or size in the largest
 * unit that holds it whole ("10m", "20s", "1k"), else a bare number. */
void config_format_number(enum config_number kind, unsigned long long v, char *out, size_t outlen);

/* Calls add(ctx, item) for each item of a list value (items separated by
 * spaces and commas); stops at the first -1. */
int config_split_list(const char *v,
                      int (*add)(void *ctx, const char *item, char *msg, size_t msglen), void *ctx,
                      char *msg, size_t msglen);

/* ADDR or ADDR/PREFIX, IPv4 or IPv6; an IPv4-mapped IPv6 network
 * (::ffff:a.b.c.d/n, n >= 96) becomes the IPv4 network.  Bits set past the
 * prefix are an error. */
int config_parse_net(const char *v, struct config_net *out, char *msg, size_t msglen);
/* Appends the network item names to a list of at most CONFIG_LIST_MAX
 * entries (key names the list in messages). */
int config_add_network(struct config_net **nets, size_t *n, const char *key, const char *item,
                       char *msg, size_t msglen);
/* One address, as a full-length network; IPv4-mapped IPv6 becomes IPv4. */
int config_parse_addr(const char *ip, struct config_net *out);
bool config_net_contains(const struct config_net *net, const struct config_net *addr);
/* A domain name, lower-cased into out without a final dot. */
int config_parse_domain(const char *v, char out[CONFIG_DOMAIN_MAX + 1], char *msg, size_t msglen);

int config_check_authserv_id(const char *v, char *msg, size_t msglen);
int config_check_dns_server(const char *v, char *msg, size_t msglen);
int config_check_smtp_server(const char *v, char *msg, size_t msglen);
/* HOST:PORT or [IPv6]:PORT, the host and the port both given. */
int config_check_listen(const char *v, char *msg, size_t msglen);
int config_check_socket(const char *v, char *msg, size_t msglen);
int config_check_name(const char *v, char *msg, size_t msglen);
int config_check_path(const char *v, char *msg, size_t msglen);
int config_check_facility(const char *v, char *msg, size_t msglen);
int config_check_log_level(const char *v, char *msg, size_t msglen);
int config_check_domain(const char *v, char *msg, size_t msglen);
/* A DKIM selector (RFC 6376 §3.1): sub-domain labels joined by dots. */
int config_check_selector(const char *v, char *msg, size_t msglen);
/* sqlite:PATH or a postgresql:// (postgres://) URI; the value is never
 * quoted in msg, since a URI may hold a password. */
int config_check_report_store(const char *v, char *msg, size_t msglen);
/* Free text for a report field: no control characters. */
int config_check_text(const char *v, char *msg, size_t msglen);

#endif
