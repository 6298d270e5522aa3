/*
 * store_sqlite - the SQLite backend of store_db.h.
 *
 * Parameters are bound by name ("$1" ... "$n"), so a statement may use
 * them in any order and more than once.  A busy file (authreport reading
 * while the daemon writes) is waited on for STORE_SQLITE_BUSY_MS before a
 * statement fails.
 *
 * Prepared statements are kept, by their SQL text, and reused: the store
 * runs a handful of fixed statements, the record INSERT once per row, and
 * parsing and planning the statement cost more than running it.
 */
#include "autoconf.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_db.h"

#define STORE_SQLITE_BUSY_MS 10000
#define STORE_SQLITE_MAX_PARAMS 64
#define STORE_SQLITE_STMT_CACHE 8

struct store_sqlite {
	sqlite3 *db;
	sqlite3_stmt *stmt[STORE_SQLITE_STMT_CACHE]; /* reset, bindings cleared */
	size_t next;                                 /* the slot reused when all are taken */
};

static int
store_sqlite_fail(sqlite3 *db, const char *what, struct auth_error *err)
{
	return auth_error_set(err, AUTH_EIO, "SQLite %s: %s", what,
	                      db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

static void
store_sqlite_close(void *conn)
{
	struct store_sqlite *c = conn;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < STORE_SQLITE_STMT_CACHE; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

static void *
store_sqlite_open(const char *path, struct auth_error *err)
{
	struct store_sqlite *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL) {
		store_sqlite_fail(NULL, "open", err);
		return NULL;
	}
	rc = sqlite3_open_v2(
	    path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_fail(c->db, "open", err);
		store_sqlite_close(c);
		return NULL;
	}
	sqlite3_busy_timeout(c->db, STORE_SQLITE_BUSY_MS);
	if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		store_sqlite_fail(c->db, "set-up", err);
		store_sqlite_close(c);
		return NULL;
	}
	return c;
}

/* A prepared statement for sql, from the cache or made and put there. */
static sqlite3_stmt *
store_sqlite_prepare(struct store_sqlite *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < STORE_SQLITE_STMT_CACHE; i++)
		if (c->stmt[i] != NULL && strcmp(sqlite3_sql(c->stmt[i]), sql) == 0)
			return c->stmt[i];
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_finalize(c->stmt[c->next]);
	c->stmt[c->next] = st;
	c->next = (c->next + 1) % STORE_SQLITE_STMT_CACHE;
	return st;
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

/* The statement goes back to the cache reset, holding no bindings (they
 * point into the caller's memory) and no lock. */
static int
store_sqlite_exec(void *conn, const char *sql, const char *const *params, size_t nparams,
                  store_db_row_fn fn, void *ctx, struct auth_error *err)
{
	struct store_sqlite *c = conn;
	sqlite3_stmt *st = store_sqlite_prepare(c, sql);
	int rc;

	if (st == NULL)
		return store_sqlite_fail(c->db, "prepare", err);
	if (store_sqlite_bind(st, params, nparams) < 0) {
		rc = store_sqlite_fail(c->db, "bind", err);
	} else {
		rc = store_sqlite_rows(st, fn, ctx);
		if (rc < 0)
			store_sqlite_fail(c->db, "statement", err);
		else if (rc == 0 && sqlite3_column_count(st) == 0)
			rc = sqlite3_changes(c->db);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
store_sqlite_script(void *conn, const char *sql, struct auth_error *err)
{
	struct store_sqlite *c = conn;

	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_sqlite_fail(c->db, "schema", err);
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
