/*
 * store_sqlite - the SQLite backend of store_db.h.
 *
 * Parameters are bound by name ("$1" ... "$n"), so a statement may use
 * them in any order and more than once.  A busy file (authreport reading
 * while the daemon writes) is waited on for STORE_SQLITE_BUSY_MS before a
 * statement fails.
 */
#include "autoconf.h"

#include <sqlite3.h>
#include <stdio.h>

#include "store_db.h"

#define STORE_SQLITE_BUSY_MS 10000
#define STORE_SQLITE_MAX_PARAMS 64

static int
store_sqlite_fail(sqlite3 *db, const char *what, struct auth_error *err)
{
	return auth_error_set(err, AUTH_EIO, "SQLite %s: %s", what,
	                      db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

static void *
store_sqlite_open(const char *path, struct auth_error *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		store_sqlite_fail(db, "open", err);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, STORE_SQLITE_BUSY_MS);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		store_sqlite_fail(db, "set-up", err);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void
store_sqlite_close(void *conn)
{
	sqlite3_close(conn);
}

static int
store_sqlite_bind(sqlite3_stmt *st, const char *const *params, size_t nparams)
{
	char name[24];
	size_t i;
	int idx;

	for (i = 0; i < nparams; i++) {
		snprintf(name, sizeof(name), "$%zu", i + 1);
		if ((idx = sqlite3_bind_parameter_index(st, name)) == 0)
			continue;
		if ((params[i] == NULL
		         ? sqlite3_bind_null(st, idx)
		         : sqlite3_bind_text(st, idx, params[i], -1, SQLITE_STATIC)) != SQLITE_OK)
			return -1;
	}
	return 0;
}

static int
store_sqlite_rows(sqlite3_stmt *st, store_db_row_fn fn, void *ctx)
{
	const char *col[STORE_SQLITE_MAX_PARAMS];
	int i, n = sqlite3_column_count(st), rc;

	if (n > STORE_SQLITE_MAX_PARAMS)
		n = STORE_SQLITE_MAX_PARAMS;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			col[i] = (const char *)sqlite3_column_text(st, i);
		if (fn != NULL && (rc = fn(ctx, col, (size_t)n)) != 0)
			return rc;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
store_sqlite_exec(void *conn, const char *sql, const char *const *params, size_t nparams,
                  store_db_row_fn fn, void *ctx, struct auth_error *err)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_sqlite_fail(db, "prepare", err);
	if (store_sqlite_bind(st, params, nparams) < 0) {
		sqlite3_finalize(st);
		return store_sqlite_fail(db, "bind", err);
	}
	rc = store_sqlite_rows(st, fn, ctx);
	if (rc < 0)
		store_sqlite_fail(db, "statement", err);
	else if (rc == 0 && sqlite3_column_count(st) == 0)
		rc = sqlite3_changes(db);
	sqlite3_finalize(st);
	return rc;
}

static int
store_sqlite_script(void *conn, const char *sql, struct auth_error *err)
{
	if (sqlite3_exec(conn, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_sqlite_fail(conn, "schema", err);
	return 0;
}

static bool
store_sqlite_broken(const void *conn)
{
	(void)conn;
	return false;
}

const struct store_db_ops store_sqlite_ops = {
    store_sqlite_open,   store_sqlite_close,  store_sqlite_exec,
    store_sqlite_script, store_sqlite_broken,
};
