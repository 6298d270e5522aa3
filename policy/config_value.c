/*
 * config_value - see config_value.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "config_value.h"

/* Values are quoted in messages up to this many bytes. */
#define QUOTE_MAX 64

static char *
skip_space(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static void
trim_right(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int
split_quoted(char *p, char **value, char *msg, size_t msglen)
{
	char *end = strchr(p + 1, '"');
	char *rest;

	if (end == NULL) {
		snprintf(msg, msglen, "unterminated quoted value");
		return -1;
	}
	*end = '\0';
	rest = skip_space(end + 1);
	if (*rest != '\0' && *rest != '#') {
		snprintf(msg, msglen, "text after the quoted value");
		return -1;
	}
	*value = p + 1;
	return 0;
}

int
config_split_line(char *line, char **key, char **value, char *msg, size_t msglen)
{
	char *p = skip_space(line), *k;

	*key = NULL;
	*value = NULL;
	if (*p == '\0' || *p == '#')
		return 0;
	/* Any word is a key here, so that a wrong one (wrong case too) is
	 * named as an unknown key, with the nearest known one. */
	k = p;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.')
		p++;
	if (p != k && (*p == '=' || *p == ':')) {
		snprintf(msg, msglen, "expected \"key value\", not \"key%cvalue\"", *p);
		return -1;
	}
	if (p == k || (*p != '\0' && *p != ' ' && *p != '\t')) {
		snprintf(msg, msglen, "expected \"key value\"");
		return -1;
	}
	if (*p != '\0')
		*p++ = '\0';
	*key = k;
	p = skip_space(p);
	if (*p == '"')
		return split_quoted(p, value, msg, msglen);
	*value = p;
	p[strcspn(p, "#")] = '\0';
	trim_right(p);
	return 0;
}

int
config_parse_bool(const char *v, bool *out, char *msg, size_t msglen)
{
	static const char *const yes[] = {"yes", "true", "on"}, *const no[] = {"no", "false",
	                                                                       "off"};
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(msg, msglen, "\"%.*s\" is not yes/no/true/false/on/off", QUOTE_MAX, v);
	return -1;
}

/* Leading digits into *out; returns the rest, or NULL on no digits or overflow. */
static const char *
parse_digits(const char *v, unsigned long long *out)
{
	unsigned long long n = 0;
	const char *p = v;

	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (999999999999ULL - d) / 10)
			return NULL;
		n = n * 10 + d;
		p++;
	}
	if (p == v)
		return NULL;
	*out = n;
	return p;
}

int
config_parse_uint(const char *v, unsigned long long *out, char *msg, size_t msglen)
{
	const char *rest = parse_digits(v, out);

	if (rest == NULL || *rest != '\0') {
		snprintf(msg, msglen, "\"%.*s\" is not a number", QUOTE_MAX, v);
		return -1;
	}
	return 0;
}

struct unit {
	const char *suffix;
	unsigned long long mult;
};

/* Durations in milliseconds, largest unit first (also the order in which
 * config_format_number() tries them). */
static const struct unit duration_units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000},
                                             {"s", 1000},     {"ms", 1},      {NULL, 0}};
static const struct unit size_units[] = {{"m", 1024 * 1024}, {"k", 1024}, {NULL, 0}};

/* A number and one of units (or none: base).  A value too large to hold
 * saturates, so that the caller's range check refuses it. */
static int
parse_with_units(const char *v, const struct unit *units, unsigned long long base,
                 unsigned long long *out)
{
	unsigned long long n, mult = 0;
	const char *rest = parse_digits(v, &n);
	size_t i;

	if (rest == NULL)
		return -1;
	if (*rest == '\0')
		mult = base;
	for (i = 0; mult == 0 && units[i].suffix != NULL; i++)
		if (strcasecmp(rest, units[i].suffix) == 0)
			mult = units[i].mult;
	if (mult == 0)
		return -1;
	*out = n > ULLONG_MAX / mult ? ULLONG_MAX : n * mult;
	return 0;
}

int
config_parse_duration(const char *v, bool ms_base, unsigned long long *out, char *msg,
                      size_t msglen)
{
	unsigned long long ms;

	if (parse_with_units(v, duration_units, ms_base ? 1 : 1000, &ms) < 0) {
		snprintf(msg, msglen, "\"%.*s\" is not a duration (ms, s, m, h, d)", QUOTE_MAX, v);
		return -1;
	}
	if (!ms_base && ms % 1000 != 0 && ms != ULLONG_MAX) {
		snprintf(msg, msglen, "\"%.*s\" is not a whole number of seconds", QUOTE_MAX, v);
		return -1;
	}
	*out = ms_base || ms == ULLONG_MAX ? ms : ms / 1000;
	return 0;
}

int
config_parse_size(const char *v, unsigned long long *out, char *msg, size_t msglen)
{
	if (parse_with_units(v, size_units, 1, out) < 0) {
		snprintf(msg, msglen, "\"%.*s\" is not a size (bytes, k, m)", QUOTE_MAX, v);
		return -1;
	}
	return 0;
}

/* v (in units of base) in the largest unit that holds it whole; a bare
 * number, with zero's suffix when it is 0, when none does. */
static void
format_with_units(unsigned long long v, const struct unit *units, unsigned long long base,
                  const char *zero, char *out, size_t outlen)
{
	unsigned long long u;
	size_t i;

	for (i = 0; v != 0 && units[i].suffix != NULL; i++) {
		if (units[i].mult < base || units[i].mult % base != 0)
			continue;
		u = units[i].mult / base;
		if (v % u == 0) {
			snprintf(out, outlen, "%llu%s", v / u, units[i].suffix);
			return;
		}
	}
	snprintf(out, outlen, "%llu%s", v, v == 0 ? zero : "");
}

void
config_format_number(enum config_number kind, unsigned long long v, char *out, size_t outlen)
{
	switch (kind) {
	case CONFIG_MILLISECONDS:
		format_with_units(v, duration_units, 1, "ms", out, outlen);
		break;
	case CONFIG_SECONDS:
		format_with_units(v, duration_units, 1000, "s", out, outlen);
		break;
	case CONFIG_BYTES:
		format_with_units(v, size_units, 1, "", out, outlen);
		break;
	default:
		snprintf(out, outlen, "%llu", v);
		break;
	}
}

/* ---- networks ---- */

static void
net_from_mapped(struct config_net *n)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (n->family != AF_INET6 || memcmp(n->addr, mapped, 12) != 0 || n->prefix < 96)
		return;
	memmove(n->addr, n->addr + 12, 4);
	memset(n->addr + 4, 0, 12);
	n->family = AF_INET;
	n->prefix -= 96;
}

int
config_parse_addr(const char *ip, struct config_net *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, ip, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		return -1;
	}
	net_from_mapped(out);
	return 0;
}

static bool
bits_equal(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool
config_net_contains(const struct config_net *net, const struct config_net *addr)
{
	return net->family == addr->family && bits_equal(net->addr, addr->addr, net->prefix);
}

static bool
host_bits_clear(const struct config_net *n)
{
	unsigned len = n->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < len * 8; i++)
		if (i >= n->prefix && (n->addr[i / 8] & (0x80 >> (i % 8))))
			return false;
	return true;
}

int
config_parse_net(const char *v, struct config_net *out, char *msg, size_t msglen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(v, '/');
	size_t alen = slash != NULL ? (size_t)(slash - v) : strlen(v);
	unsigned long long prefix;
	unsigned maxp;

	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	maxp = out->family == AF_INET ? 32 : 128;
	prefix = maxp;
	if (slash != NULL && (config_parse_uint(slash + 1, &prefix, NULL, 0) < 0 || prefix > maxp))
		goto bad;
	out->prefix = (unsigned)prefix;
	if (!host_bits_clear(out)) {
		snprintf(msg, msglen, "\"%.*s\" has bits set past the prefix length", QUOTE_MAX, v);
		return -1;
	}
	net_from_mapped(out);
	return 0;
bad:
	snprintf(msg, msglen, "\"%.*s\" is not an address or ADDRESS/PREFIX", QUOTE_MAX, v);
	return -1;
}

/* ---- names ---- */

int
config_parse_domain(const char *v, char out[CONFIG_DOMAIN_MAX + 1], char *msg, size_t msglen)
{
	size_t len = strlen(v), i, label = 0;

	if (len > 0 && v[len - 1] == '.')
		len--;
	if (len == 0 || len > CONFIG_DOMAIN_MAX)
		goto bad;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '.') {
			if (label == 0)
				goto bad;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				goto bad;
		} else {
			goto bad;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0) /* "a.." : an empty last label */
		goto bad;
	out[len] = '\0';
	return 0;
bad:
	snprintf(msg, msglen, "\"%.*s\" is not a domain name", QUOTE_MAX, v);
	return -1;
}

int
config_check_domain(const char *v, char *msg, size_t msglen)
{
	char norm[CONFIG_DOMAIN_MAX + 1];

	return config_parse_domain(v, norm, msg, msglen);
}

int
config_check_selector(const char *v, char *msg, size_t msglen)
{
	char norm[CONFIG_DOMAIN_MAX + 1];

	if (v[strlen(v) - 1] == '.' || strchr(v, '_') != NULL ||
	    config_parse_domain(v, norm, msg, msglen) < 0) {
		snprintf(msg, msglen, "\"%.*s\" is not a DKIM selector", QUOTE_MAX, v);
		return -1;
	}
	return 0;
}

/* RFC 8601 §2.2: authserv-id is a "value" (RFC 2045); we take the token
 * form only, so the header never needs quoting. */
int
config_check_authserv_id(const char *v, char *msg, size_t msglen)
{
	size_t i, len = strlen(v);

	for (i = 0; i < len && len <= 255; i++)
		if (v[i] <= ' ' || v[i] >= 0x7f || strchr("()<>@,;:\\\"/[]?=", v[i]) != NULL)
			break;
	if (len == 0 || len > 255 || i < len) {
		snprintf(msg, msglen,
		         "authserv_id must be a host-name-like token of 1 to 255 "
		         "characters");
		return -1;
	}
	return 0;
}

/* A port number from 1 to 65535 and nothing after it. */
static bool
valid_port(const char *p)
{
	unsigned long long port;
	const char *rest = parse_digits(p, &port);

	return rest != NULL && *rest == '\0' && port >= 1 && port <= 65535;
}

/* A host name or IPv4 address as dns_ldns and smtpc resolve them. */
static bool
valid_host(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > CONFIG_DOMAIN_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && strchr(".-_", h[i]) == NULL)
			return false;
	return true;
}

static bool
valid_ipv6(const char *a, size_t len)
{
	char text[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];

	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, a, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, bin) == 1;
}

/* HOST, HOST:PORT, [IPv6], [IPv6]:PORT, and (bare_ipv6) an IPv6 address
 * without brackets or port. */
static bool
valid_host_port(const char *v, bool bare_ipv6)
{
	const char *colon = strchr(v, ':'), *end;

	if (v[0] == '[') {
		end = strchr(v, ']');
		return end != NULL && valid_ipv6(v + 1, (size_t)(end - v - 1)) &&
		       (end[1] == '\0' || (end[1] == ':' && valid_port(end + 2)));
	}
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return bare_ipv6 && valid_ipv6(v, strlen(v));
	if (colon != NULL)
		return valid_host(v, (size_t)(colon - v)) && valid_port(colon + 1);
	return valid_host(v, strlen(v));
}

int
config_check_dns_server(const char *v, char *msg, size_t msglen)
{
	if (!valid_host_port(v, true)) {
		snprintf(
		    msg, msglen,
		    "dns_server takes HOST, HOST:PORT or [IPv6]:PORT, the port from 1 to 65535");
		return -1;
	}
	return 0;
}

int
config_check_smtp_server(const char *v, char *msg, size_t msglen)
{
	if (!valid_host_port(v, false)) {
		snprintf(
		    msg, msglen,
		    "report_smtp takes HOST, HOST:PORT or [IPv6]:PORT, the port from 1 to 65535");
		return -1;
	}
	return 0;
}

int
config_check_listen(const char *v, char *msg, size_t msglen)
{
	const char *colon = v[0] == '[' ? strstr(v, "]:") : strrchr(v, ':');

	if (colon == NULL || colon == v || !valid_host_port(v, false)) {
		snprintf(msg, msglen,
		         "metrics_listen takes ADDRESS:PORT or [IPv6]:PORT, the port from 1 to "
		         "65535, not \"%.64s\"",
		         v);
		return -1;
	}
	return 0;
}

static int
check_port_at_host(const char *v, char *msg, size_t msglen)
{
	unsigned long long port;
	const char *rest = parse_digits(v, &port);

	if (rest == NULL || port == 0 || port > 65535 || (*rest != '\0' && *rest != '@') ||
	    (*rest == '@' && rest[1] == '\0')) {
		snprintf(msg, msglen, "inet sockets are inet:PORT@HOST or inet6:PORT@HOST");
		return -1;
	}
	return 0;
}

int
config_check_socket(const char *v, char *msg, size_t msglen)
{
	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
		const char *path = strchr(v, ':') + 1;

		if (path[0] != '/' || strlen(path) >= 108) {
			snprintf(msg, msglen, "unix socket needs an absolute path under 108 bytes");
			return -1;
		}
		return 0;
	}
	if (strncmp(v, "inet:", 5) == 0)
		return check_port_at_host(v + 5, msg, msglen);
	if (strncmp(v, "inet6:", 6) == 0)
		return check_port_at_host(v + 6, msg, msglen);
	snprintf(msg, msglen, "socket is unix:PATH, inet:PORT@HOST or inet6:PORT@HOST");
	return -1;
}

int
config_check_name(const char *v, char *msg, size_t msglen)
{
	size_t len = strlen(v);

	if (len > 32 || v[0] == '-' ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len) {
		snprintf(msg, msglen, "\"%.*s\" is not a user or group name", QUOTE_MAX, v);
		return -1;
	}
	return 0;
}

int
config_check_path(const char *v, char *msg, size_t msglen)
{
	if (v[0] != '/') {
		snprintf(msg, msglen, "\"%.*s\" is not an absolute path", QUOTE_MAX, v);
		return -1;
	}
	return 0;
}

int
config_check_facility(const char *v, char *msg, size_t msglen)
{
	static const char *const names[] = {"mail",   "daemon", "user",   "auth",   "authpriv",
	                                    "local0", "local1", "local2", "local3", "local4",
	                                    "local5", "local6", "local7", NULL};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0)
			return 0;
	snprintf(msg, msglen, "\"%.*s\" is not a syslog facility (mail, daemon, local0...)",
	         QUOTE_MAX, v);
	return -1;
}

int
config_check_log_level(const char *v, char *msg, size_t msglen)
{
	static const char *const names[] = {"error", "warning", "notice", "info", "debug", NULL};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0)
			return 0;
	snprintf(msg, msglen, "log_level takes error, warning, notice, info or debug");
	return -1;
}

static bool
config_has_control(const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < ' ' || v[i] == 0x7f)
			return true;
	return false;
}

int
config_check_report_store(const char *v, char *msg, size_t msglen)
{
	if (config_has_control(v)) {
		snprintf(msg, msglen, "report_store has a control character");
		return -1;
	}
	if (strncmp(v, "sqlite:", 7) == 0 && v[7] != '\0')
		return 0;
	if (strncmp(v, "postgresql://", 13) == 0 || strncmp(v, "postgres://", 11) == 0)
		return 0;
	snprintf(msg, msglen, "report_store takes sqlite:PATH or a postgresql:// URI");
	return -1;
}

int
config_check_text(const char *v, char *msg, size_t msglen)
{
	if (config_has_control(v)) {
		snprintf(msg, msglen, "the value has a control character");
		return -1;
	}
	return 0;
}

int
config_parse_number(const char *key, enum config_number kind, unsigned long long min,
                    unsigned long long max, const char *v, unsigned long long *out, char *msg,
                    size_t msglen)
{
	int rc;

	switch (kind) {
	case CONFIG_MILLISECONDS:
	case CONFIG_SECONDS:
		rc = config_parse_duration(v, kind == CONFIG_MILLISECONDS, out, msg, msglen);
		break;
	case CONFIG_BYTES:
		rc = config_parse_size(v, out, msg, msglen);
		break;
	default:
		rc = config_parse_uint(v, out, msg, msglen);
		break;
	}
	if (rc < 0)
		return -1;
	if (*out < min || *out > max) {
		char lo[32], hi[32];

		config_format_number(kind, min, lo, sizeof(lo));
		config_format_number(kind, max, hi, sizeof(hi));
		snprintf(msg, msglen, "%s must be between %s and %s", key, lo, hi);
		return -1;
	}
	return 0;
}

int
config_split_list(const char *v, int (*add)(void *ctx, const char *item, char *msg, size_t msglen),
                  void *ctx, char *msg, size_t msglen)
{
	char item[CONFIG_LINE_MAX + 1];
	size_t n;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		n = strcspn(v, " \t,");
		if (n == 0 || n > CONFIG_LINE_MAX)
			break;
		memcpy(item, v, n);
		item[n] = '\0';
		v += n;
		if (add(ctx, item, msg, msglen) < 0)
			return -1;
	}
	return 0;
}

int
config_add_network(struct config_net **nets, size_t *n, const char *key, const char *item,
                   char *msg, size_t msglen)
{
	struct config_net net, *grown;

	if (config_parse_net(item, &net, msg, msglen) < 0)
		return -1;
	if (*n >= CONFIG_LIST_MAX) {
		snprintf(msg, msglen, "%s has more than %d entries", key, CONFIG_LIST_MAX);
		return -1;
	}
	if ((grown = realloc(*nets, (*n + 1) * sizeof(*grown))) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	*nets = grown;
	grown[(*n)++] = net;
	return 0;
}
