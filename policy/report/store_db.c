/*
 * store_db - see store_db.h.  This file picks the backend from the spec;
 * store_sqlite.c and store_pg.c are the backends.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "store_db.h"

struct store_db {
	enum store_db_kind kind;
	const struct store_db_ops *ops;
	void *conn;
};

static bool
store_db_is_pg(const char *spec)
{
	return strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0;
}

bool
store_db_supported(const char *spec)
{
	if (strncmp(spec, "sqlite:", 7) == 0)
		return spec[7] != '\0';
#ifdef HAVE_POSTGRESQL
	return store_db_is_pg(spec);
#else
	return false;
#endif
}

struct store_db *
store_db_open(const char *spec, struct auth_error *err)
{
	struct store_db *db;
	const struct store_db_ops *ops = NULL;
	enum store_db_kind kind = STORE_DB_SQLITE;

	if (strncmp(spec, "sqlite:", 7) == 0 && spec[7] != '\0') {
		ops = &store_sqlite_ops;
		spec += 7;
	} else if (store_db_is_pg(spec)) {
#ifdef HAVE_POSTGRESQL
		ops = &store_pg_ops;
		kind = STORE_DB_POSTGRESQL;
#else
		auth_error_set(err, AUTH_EINVAL, "this build has no PostgreSQL support (libpq)");
		return NULL;
#endif
	}
	if (ops == NULL) {
		auth_error_set(err, AUTH_EINVAL,
		               "report_store takes sqlite:PATH or a postgresql:// URI");
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	db->kind = kind;
	db->ops = ops;
	if ((db->conn = ops->open(spec, err)) == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

void
store_db_close(struct store_db *db)
{
	if (db == NULL)
		return;
	db->ops->close(db->conn);
	free(db);
}

enum store_db_kind
store_db_kind(const struct store_db *db)
{
	return db->kind;
}

int
store_db_exec(struct store_db *db, const char *sql, const char *const *params, size_t nparams,
              store_db_row_fn fn, void *ctx, struct auth_error *err)
{
	return db->ops->exec(db->conn, sql, params, nparams, fn, ctx, err);
}

int
store_db_script(struct store_db *db, const char *sql, struct auth_error *err)
{
	return db->ops->script(db->conn, sql, err);
}

bool
store_db_broken(const struct store_db *db)
{
	return db->ops->broken(db->conn);
}
