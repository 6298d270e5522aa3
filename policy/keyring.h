/*
 * keyring - the private keys the configuration names (dkim_sign entries,
 * arc_seal_key), read while the daemon may still be privileged.
 *
 * A daemon reads its key files at start, before it drops privileges, so
 * that keys can stay readable by root alone; a reload later finds the
 * keys it read then, and reads only files it had not seen (which, once
 * unprivileged, it may not be able to).  A key file must be a regular file
 * that neither its group nor others can read: a signing key anyone on the
 * host can read signs for anyone.
 *
 * Ownership: the keyring owns copies of the PEM texts.  Not thread-safe:
 * the daemon's main thread loads it; sessions never see it (the engines
 * parse the keys they need when they are made).
 */
#ifndef AUTH_KEYRING_H
#define AUTH_KEYRING_H

#include <stddef.h>

#include "config.h"
#include "error.h"

/* Key files are small; a larger file is not a key. */
#define KEYRING_FILE_MAX (64u * 1024)

struct keyring;

struct keyring *keyring_new(void);
void keyring_free(struct keyring *kr);

/* Reads path unless it was read already.  Returns 0, or -1 with err naming
 * the file and why (missing, not a regular file, readable by group or
 * others, too large). */
int keyring_load(struct keyring *kr, const char *path, struct auth_error *err);

/* Reads every key cfg names.  Returns 0, or -1 with err for the first that
 * cannot be read. */
int keyring_load_config(struct keyring *kr, const struct policy_config *cfg,
                        struct auth_error *err);

/* Reads the keys of the dkim_sign entries that match domain only. */
int keyring_load_domain(struct keyring *kr, const struct policy_config *cfg, const char *domain,
                        struct auth_error *err);

/* The PEM text of a key read before (*len its length), or NULL. */
const char *keyring_get(const struct keyring *kr, const char *path, size_t *len);

#endif
