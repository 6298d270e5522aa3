/*
 * store - the DMARC report store: records of evaluated messages, and the
 * aggregate reports made from them.
 *
 * Opening a store connects to it (store_db.h: sqlite:PATH or a PostgreSQL
 * URI) and brings its schema up to STORE_SCHEMA_VERSION: the tables are
 * created on first use and later versions are reached by running each
 * migration in order, all in one transaction, so several hosts starting
 * at once against one PostgreSQL database migrate it once (a transaction
 * lock serializes them).  A store whose schema is newer than this program
 * is refused.
 *
 * Tables (the same in both backends):
 *   records              one per message: store_row below.  uid is unique,
 *                        so writing a batch again after a lost COMMIT
 *                        reply adds nothing twice.
 *   reports              one per generated report: its unique id (the
 *                        file name's unique-id and the Report-ID), policy
 *                        domain, interval, format, file name, the rua
 *                        URIs as published, message count and XML.
 *   report_destinations  one per report and rua URI: state pending, sent
 *                        or failed, attempts, last attempt and error, when
 *                        sent.  What a sender needs: each URI is mailed
 *                        once, a failure is retried later, and a resend
 *                        carries the report's own file name.
 *
 * Ownership: rows and reports handed to callbacks point into the backend's
 * buffers and are valid during the call only.  store_row_new() makes an
 * owned row (one allocation, freed with free()).
 *
 * Thread safety: a struct store is used by one thread at a time.
 */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "report.h"

#define STORE_SCHEMA_VERSION 1
/* DKIM results kept per record (RFC 9990: at most 100 per row). */
#define STORE_DKIM_MAX 100
#define STORE_UID_MAX 48

/* One message's record.  Every string is set ("" when absent). */
struct store_row {
	int64_t time;
	const char *uid;  /* unique across hosts and restarts */
	const char *host; /* the host that evaluated the message */
	const char *source_ip, *header_from, *envelope_from, *envelope_to;
	const char *policy_domain; /* where the DMARC record was found */
	/* The record as published */
	const char *discovery;    /* "treewalk" (RFC 9989) or "psl" (RFC 7489) */
	const char *p, *sp, *np;  /* none, quarantine, reject; sp, np "" when absent */
	const char *adkim, *aspf; /* "r" or "s" */
	const char *fo;           /* as published, "" when absent */
	int pct;                  /* -1 when absent */
	bool testing;             /* t=y */
	const char *rua;          /* the rua URIs as published, comma-separated */
	/* The outcome */
	const char *result;      /* DMARC: pass, fail, temperror, permerror */
	const char *disposition; /* applied: none, quarantine, reject */
	bool dkim_aligned, spf_aligned;
	const char *override; /* why weaker than asked: dmarc_override_name(), "" none */
	const char *spf_domain, *spf_scope, *spf_result; /* "" when not evaluated */
	const char *dkim; /* the DKIM results, see store_dkim_next() */
};

/* One DKIM result decoded from a row's dkim text. */
struct store_dkim {
	char domain[256], selector[256], result[16];
};

/* The next result from *cursor (start with row->dkim); returns false at
 * the end.  Bytes other than letters, digits, '.', '-' and '_' in the
 * domain or selector are stored %XX-escaped, and decoded here. */
bool store_dkim_next(const char **cursor, struct store_dkim *out);

/* A row copied out of a session's record (NULL when out of memory).  host
 * and uid are the writer's. */
struct store_row *store_row_new(const struct report_record *r, const char *host, const char *uid);

struct store;

struct store *store_open(const char *spec, struct auth_error *err);
void store_close(struct store *s);
/*
 * Lets this connection's commits return before the disk has them: a commit
 * still survives the process's death and the store is never left corrupt,
 * but a power loss or an operating-system crash may undo the last commits
 * (SQLite: WAL with synchronous=NORMAL, which syncs at checkpoints only;
 * PostgreSQL: synchronous_commit off for this session).  For the report
 * writer, whose records already wait in memory before they are written.
 * 0 or -1.
 */
int store_set_lazy_commit(struct store *s, struct auth_error *err);
/* The connection is gone: close the store and open it again later. */
bool store_broken(const struct store *s);

/* Writes rows in one transaction.  Returns how many were new (rows whose
 * uid is already stored are skipped), or -1 with nothing written. */
int store_insert(struct store *s, struct store_row *const *rows, size_t n, struct auth_error *err);

typedef int (*store_row_fn)(void *ctx, const struct store_row *row);
/* Records with from <= time < until, by policy domain, then time.  fn's
 * non-zero return stops the walk and is returned; else 0, or -1. */
int store_each_record(struct store *s, int64_t from, int64_t until, store_row_fn fn, void *ctx,
                      struct auth_error *err);
/* Deletes records older than before, and reports that ended before it.
 * Returns the number of records deleted, or -1. */
int store_expire(struct store *s, int64_t before, struct auth_error *err);

struct store_report {
	const char *unique_id, *policy_domain, *format, *filename, *rua, *xml;
	int64_t begin, end, created, messages;
	bool sent; /* reading: some destination was already mailed */
};

typedef int (*store_report_fn)(void *ctx, const struct store_report *r);
/* The report for this domain, interval and format, if one was made: fn is
 * called and 1 returned; 0 when there is none; -1 on error. */
int store_report_find(struct store *s, const char *policy_domain, int64_t begin, int64_t end,
                      const char *format, store_report_fn fn, void *ctx, struct auth_error *err);
/* Stores a new report with one pending destination per rua URI, or, for
 * a report with that unique_id already stored, replaces its XML, count,
 * rua and creation time.  0 or -1. */
int store_report_save(struct store *s, const struct store_report *r, struct auth_error *err);

/* A destination still to be mailed, with its report. */
struct store_pending {
	const char *unique_id, *policy_domain, *filename, *uri, *xml;
	int64_t begin, end, attempts;
};
typedef int (*store_pending_fn)(void *ctx, const struct store_pending *p);
/* Every destination in state pending, oldest report first.  fn's
 * non-zero return stops the walk and is returned; else 0, or -1. */
int store_each_pending(struct store *s, store_pending_fn fn, void *ctx, struct auth_error *err);

enum store_dest_state { STORE_DEST_PENDING, STORE_DEST_SENT, STORE_DEST_FAILED };
/* Records an attempt to mail one destination: sent, failed for good, or
 * still pending (to be tried again), with why (NULL when sent).  0 or -1. */
int store_destination_done(struct store *s, const char *unique_id, const char *uri,
                           enum store_dest_state state, const char *why, int64_t when,
                           struct auth_error *err);

/* One policy domain's numbers for stats. */
struct store_stat {
	const char *policy_domain;
	int64_t messages, pass, fail, none, quarantine, reject;
};
typedef int (*store_stat_fn)(void *ctx, const struct store_stat *st);
int store_stats(struct store *s, int64_t from, int64_t until, store_stat_fn fn, void *ctx,
                struct auth_error *err);

#endif
