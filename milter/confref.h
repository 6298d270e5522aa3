/*
 * confref - the daemon's current configuration, reference-counted.
 *
 * The holder pairs each config with the session engines made for it
 * (session_engines_new()), since engines follow the config's settings.
 * A connection takes a reference when it starts (confref_acquire()) and
 * gives it back when it ends (confref_release()), so its messages are
 * evaluated with one config throughout.  A reload builds a complete new
 * config and swaps it in with confref_replace(); the old one is freed when
 * its last connection ends.  Nothing is ever read from a config after its
 * last reference is gone.
 *
 * Shared state: one holder for the process; its mutex (confref_lock in
 * confref.c) guards the current pointer and every reference count.
 */
#ifndef AUTH_CONFREF_H
#define AUTH_CONFREF_H

struct policy_config;
struct session_engines;
struct confref;

/* Takes ownership of cfg and e as the first current config. */
void confref_init(struct policy_config *cfg, struct session_engines *e);
/* The current config, with one more reference; never NULL after init. */
struct confref *confref_acquire(void);
const struct policy_config *confref_config(const struct confref *ref);
struct session_engines *confref_engines(const struct confref *ref);
void confref_release(struct confref *ref);
/* Takes ownership of cfg and e and makes them current; returns -1 (both
 * freed) only when out of memory, the old config staying current. */
int confref_replace(struct policy_config *cfg, struct session_engines *e);
/* Drops the holder's own reference (at exit, after every connection ended). */
void confref_shutdown(void);

#endif
