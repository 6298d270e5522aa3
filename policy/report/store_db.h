/*
 * store_db - one SQL connection to the report store: SQLite or PostgreSQL.
 *
 * The report store (store.h) speaks SQL through this.  A statement takes
 * numbered parameters $1..$n, all given as text (NULL for SQL NULL), and
 * its rows come back as text, so the store's statements are written once
 * in the SQL both backends accept; only the schema differs, and store.c
 * keeps one migration list per backend.
 *
 * Specs: "sqlite:PATH" (the file is created when missing; WAL journal,
 * synchronous=FULL, so a committed transaction survives a crash of the
 * process or of the machine, unless store_set_lazy_commit() relaxed it) or a "postgresql://" /
 * "postgres://" URI in libpq's syntax (a 10 s connect timeout unless the URI sets one).
 *
 * Errors: -1 with err set.  The message never holds the spec (a URI may
 * carry a password).  store_db_broken() says the connection itself is
 * gone (the PostgreSQL server stopped or restarted): the caller closes it
 * and opens a new one later.
 *
 * Thread safety: a connection is used by one thread at a time; separate
 * connections may be used at once.
 */
#ifndef AUTH_STORE_DB_H
#define AUTH_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum store_db_kind { STORE_DB_SQLITE, STORE_DB_POSTGRESQL };

/* One result row: ncol values, NULL for SQL NULL.  A non-zero return stops
 * the statement and becomes store_db_exec()'s result. */
typedef int (*store_db_row_fn)(void *ctx, const char *const *col, size_t ncol);

struct store_db;

/* Whether this build can open spec's kind of store (PostgreSQL needs libpq
 * at build time); false for a spec that names neither. */
bool store_db_supported(const char *spec);

struct store_db *store_db_open(const char *spec, struct auth_error *err);
void store_db_close(struct store_db *db);
enum store_db_kind store_db_kind(const struct store_db *db);

/* One statement.  Returns the number of rows it changed (0 for a query
 * whose rows all went to fn), fn's non-zero return, or -1. */
int store_db_exec(struct store_db *db, const char *sql, const char *const *params, size_t nparams,
                  store_db_row_fn fn, void *ctx, struct auth_error *err);
/* Several statements without parameters (the schema).  0 or -1. */
int store_db_script(struct store_db *db, const char *sql, struct auth_error *err);
bool store_db_broken(const struct store_db *db);

/* Backends, for store_db.c. */
struct store_db_ops {
	void *(*open)(const char *spec, struct auth_error *err);
	void (*close)(void *conn);
	int (*exec)(void *conn, const char *sql, const char *const *params, size_t nparams,
	            store_db_row_fn fn, void *ctx, struct auth_error *err);
	int (*script)(void *conn, const char *sql, struct auth_error *err);
	bool (*broken)(const void *conn);
};

extern const struct store_db_ops store_sqlite_ops;
#ifdef HAVE_POSTGRESQL
extern const struct store_db_ops store_pg_ops;
#endif

#endif
