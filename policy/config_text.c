/*
 * config_text - see config_text.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config_text.h"

/* Edit distance with case ignored, over names of at most CONFIG_NAME_MAX
 * bytes (longer ones are no one's typo). */
#define CONFIG_NAME_MAX 64

static size_t
name_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, row[CONFIG_NAME_MAX + 1], diag, up;

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (tolower((unsigned char)a[i - 1]) !=
			                 tolower((unsigned char)b[j - 1]));
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

const char *
config_nearest_name(const char *name, const char *(*names)(void *ctx, size_t i), void *ctx)
{
	const char *best = NULL, *cand;
	size_t i, d, best_d = SIZE_MAX;

	for (i = 0; (cand = names(ctx, i)) != NULL; i++) {
		d = name_distance(name, cand);
		/* A third of the name may be wrong, at most three letters. */
		if (d < best_d && d <= 3 && d * 3 <= strlen(cand)) {
			best = cand;
			best_d = d;
		}
	}
	return best;
}

int
config_format_line(struct buf *out, const char *key, const char *value)
{
	size_t n = strlen(value);
	bool quote = n == 0 || strchr(value, '#') != NULL || value[0] == '"' || value[0] == ' ' ||
	             value[0] == '\t' || value[n - 1] == ' ' || value[n - 1] == '\t';

	return buf_printf(out, quote ? "%s \"%s\"\n" : "%s %s\n", key, value);
}

void
config_format_net(const struct config_net *net, char *out, size_t outlen)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned full = net->family == AF_INET ? 32 : 128;

	if (inet_ntop(net->family, net->addr, addr, sizeof(addr)) == NULL)
		snprintf(addr, sizeof(addr), "?");
	if (net->prefix == full)
		snprintf(out, outlen, "%s", addr);
	else
		snprintf(out, outlen, "%s/%u", addr, net->prefix);
}

/* Whether line plus one more item stays a line the parser takes. */
static bool
config_line_fits(const char *key, const struct buf *line, size_t item)
{
	return strlen(key) + 4 + line->len + 2 + item <= CONFIG_LINE_MAX;
}

int
config_format_list(struct buf *out, const char *key,
                   const char *(*item)(void *ctx, size_t i, char *tmp, size_t tmplen), void *ctx)
{
	char tmp[CONFIG_LINE_MAX + 1];
	const char *v;
	struct buf line;
	size_t i;
	int rc = 0;

	buf_init(&line, CONFIG_LINE_MAX);
	for (i = 0; rc == 0 && (v = item(ctx, i, tmp, sizeof(tmp))) != NULL; i++) {
		if (line.len > 0 && !config_line_fits(key, &line, strlen(v))) {
			rc = config_format_line(out, key, line.data);
			buf_reset(&line);
		}
		if (rc == 0)
			rc = buf_printf(&line, "%s%s", line.len > 0 ? ", " : "", v);
	}
	if (rc == 0 && (line.len > 0 || i == 0))
		rc = config_format_line(out, key, line.len > 0 ? line.data : "");
	buf_free(&line);
	return rc;
}

struct config_nets_view {
	const struct config_net *nets;
	size_t n;
};

static const char *
config_net_item(void *ctx, size_t i, char *tmp, size_t tmplen)
{
	const struct config_nets_view *v = ctx;

	if (i >= v->n)
		return NULL;
	config_format_net(&v->nets[i], tmp, tmplen);
	return tmp;
}

int
config_format_nets(struct buf *out, const char *key, const struct config_net *nets, size_t n)
{
	struct config_nets_view v = {nets, n};

	return config_format_list(out, key, config_net_item, &v);
}

/* The password of a postgresql:// URI, in its user information or as a
 * password= parameter, written as "*****". */
int
config_format_secret_uri(struct buf *out, const char *key, const char *uri)
{
	const char *auth = strstr(uri, "://"), *at, *colon, *end, *p;
	struct buf v;
	int rc;

	if (auth == NULL || strncmp(uri, "sqlite:", 7) == 0)
		return config_format_line(out, key, uri);
	buf_init(&v, CONFIG_LINE_MAX + 16);
	auth += 3;
	end = auth + strcspn(auth, "/?");
	for (at = NULL, p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL)
		(void)buf_printf(&v, "%.*s*****", (int)(colon + 1 - uri), uri);
	else
		(void)buf_printf(&v, "%.*s", (int)(auth - uri), uri);
	for (p = colon != NULL ? at : auth; *p != '\0'; p++) {
		(void)buf_putc(&v, *p);
		if ((*p == '?' || *p == '&') && strncasecmp(p + 1, "password=", 9) == 0) {
			(void)buf_printf(&v, "%.9s*****", p + 1);
			p += 9 + strcspn(p + 10, "&");
		}
	}
	rc = config_format_line(out, key, v.data != NULL ? v.data : "");
	buf_free(&v);
	return rc;
}

static const char *
config_domain_item(void *ctx, size_t i, char *tmp, size_t tmplen)
{
	const struct config_domains *l = ctx;

	(void)tmp;
	(void)tmplen;
	return i < l->n ? l->v[i] : NULL;
}

int
config_format_domains(struct buf *out, const char *key, const struct config_domains *l)
{
	return config_format_list(out, key, config_domain_item, (void *)l);
}

int
config_format_signs(struct buf *out, const struct policy_config *cfg)
{
	char entry[3 * CONFIG_LINE_MAX + 3];
	size_t i;

	if (cfg->ndkim_sign == 0)
		return config_format_line(out, "dkim_sign", "");
	for (i = 0; i < cfg->ndkim_sign; i++) {
		snprintf(entry, sizeof(entry), "%s %s %s", cfg->dkim_sign[i].domain,
		         cfg->dkim_sign[i].selector, cfg->dkim_sign[i].keyfile);
		if (config_format_line(out, "dkim_sign", entry) < 0)
			return -1;
	}
	return 0;
}
