/*
 * config_text - the config file written rather than read: the lines of
 * config_format() (values quoted when they would not read back bare,
 * networks, lists, passwords masked), and the nearest known key for the
 * message about an unknown one.
 *
 * Each format function appends to a bounded buffer and returns 0, or -1
 * when it is full.  Thread safety: no state; safe anywhere.
 */
#ifndef AUTH_CONFIG_TEXT_H
#define AUTH_CONFIG_TEXT_H

#include <stddef.h>

#include "buf.h"
#include "config.h"

/* The name names(ctx, 0), names(ctx, 1)... (up to NULL) nearest to name,
 * case ignored, when it is near enough to be what was meant; else NULL. */
const char *config_nearest_name(const char *name, const char *(*names)(void *ctx, size_t i),
                                void *ctx);

/* One "key value" line; the value quoted when it would not read back
 * bare (empty, a '#', spaces at either end). */
int config_format_line(struct buf *out, const char *key, const char *value);
/* A list key: item(ctx, 0), item(ctx, 1)... (up to NULL; tmp is room
 * the callback may write the item into) separated by ", ", on as many
 * lines as it takes to keep each under CONFIG_LINE_MAX (the lines of one
 * file add up); key "" when the list is empty. */
int config_format_list(struct buf *out, const char *key,
                       const char *(*item)(void *ctx, size_t i, char *tmp, size_t tmplen),
                       void *ctx);
/* ADDR, or ADDR/PREFIX when the prefix is shorter than the address. */
void config_format_net(const struct config_net *net, char *out, size_t outlen);
int config_format_nets(struct buf *out, const char *key, const struct config_net *nets, size_t n);
/* A connection URI with its password (user information or password=)
 * written as "*****"; a sqlite: spec as it is. */
int config_format_secret_uri(struct buf *out, const char *key, const char *uri);

/* A domain list, as config_format_list() writes it. */
int config_format_domains(struct buf *out, const char *key, const struct config_domains *l);
/* One dkim_sign line per entry, or dkim_sign "" when there is none. */
int config_format_signs(struct buf *out, const struct policy_config *cfg);

#endif
