/*
 * store_pg - the PostgreSQL backend of store_db.h (libpq).
 *
 * Statements go out with PQexecParams (text parameters, text results).
 * libpq's notices ("relation already exists, skipping") would go to
 * standard error; they are dropped.  Server messages are kept to their
 * first line in errors.
 */
#include "autoconf.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "store_db.h"

#define STORE_PG_MAX_COLS 64

static void
store_pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int
store_pg_fail(const PGconn *c, const char *what, struct auth_error *err)
{
	const char *m = c != NULL ? PQerrorMessage(c) : "out of memory";
	size_t n = strcspn(m, "\n");

	return auth_error_set(err, AUTH_EIO, "PostgreSQL %s: %.*s", what, (int)n, m);
}

static void *
store_pg_open(const char *uri, struct auth_error *err)
{
	const char *keys[] = {"connect_timeout", "dbname", NULL};
	const char *values[] = {"10", uri, NULL};
	PGconn *c = PQconnectdbParams(keys, values, 1);

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		store_pg_fail(c, "connect", err);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, store_pg_quiet, NULL);
	return c;
}

static void
store_pg_close(void *conn)
{
	PQfinish(conn);
}

static int
store_pg_rows(PGresult *res, store_db_row_fn fn, void *ctx)
{
	const char *col[STORE_PG_MAX_COLS];
	int r, i, n = PQnfields(res), rows = PQntuples(res), rc;

	if (n > STORE_PG_MAX_COLS)
		n = STORE_PG_MAX_COLS;
	for (r = 0; fn != NULL && r < rows; r++) {
		for (i = 0; i < n; i++)
			col[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
		if ((rc = fn(ctx, col, (size_t)n)) != 0)
			return rc;
	}
	return 0;
}

static int
store_pg_exec(void *conn, const char *sql, const char *const *params, size_t nparams,
              store_db_row_fn fn, void *ctx, struct auth_error *err)
{
	PGresult *res = PQexecParams(conn, sql, (int)nparams, NULL, params, NULL, NULL, 0);
	int rc;

	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
		rc = atoi(PQcmdTuples(res));
		break;
	case PGRES_TUPLES_OK:
		rc = store_pg_rows(res, fn, ctx);
		break;
	default:
		rc = store_pg_fail(conn, "statement", err);
		break;
	}
	PQclear(res);
	return rc;
}

static int
store_pg_script(void *conn, const char *sql, struct auth_error *err)
{
	PGresult *res = PQexec(conn, sql);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : store_pg_fail(conn, "schema", err);

	PQclear(res);
	return rc;
}

static bool
store_pg_broken(const void *conn)
{
	return PQstatus(conn) != CONNECTION_OK;
}

const struct store_db_ops store_pg_ops = {
    store_pg_open, store_pg_close, store_pg_exec, store_pg_script, store_pg_broken,
};
