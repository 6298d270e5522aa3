/*
 * store - see store.h.
 *
 * Every statement but the schema is written once, in SQL that SQLite and
 * PostgreSQL both accept ($n parameters, ON CONFLICT DO NOTHING).  Rows
 * are read back by column position, in the order of STORE_RECORD_COLS.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_db.h"

struct store {
	struct store_db *db;
};

/* ---- schema ---- */

/* Migration n (from 1) brings the schema from version n-1 to n. */
static const char *const store_sqlite_schema[STORE_SCHEMA_VERSION] = {
    "CREATE TABLE records (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE,"
    " host TEXT NOT NULL, time BIGINT NOT NULL, policy_domain TEXT NOT NULL,"
    " header_from TEXT NOT NULL, envelope_from TEXT NOT NULL, envelope_to TEXT NOT NULL,"
    " source_ip TEXT NOT NULL, discovery TEXT NOT NULL, p TEXT NOT NULL, sp TEXT NOT NULL,"
    " np TEXT NOT NULL, adkim TEXT NOT NULL, aspf TEXT NOT NULL, fo TEXT NOT NULL,"
    " pct INTEGER NOT NULL, testing INTEGER NOT NULL, rua TEXT NOT NULL, result TEXT NOT NULL,"
    " disposition TEXT NOT NULL, dkim_aligned INTEGER NOT NULL, spf_aligned INTEGER NOT NULL,"
    " override TEXT NOT NULL, spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL,"
    " spf_result TEXT NOT NULL, dkim TEXT NOT NULL);"
    "CREATE INDEX records_time ON records (time);"
    "CREATE TABLE reports (id INTEGER PRIMARY KEY, unique_id TEXT NOT NULL UNIQUE,"
    " policy_domain TEXT NOT NULL, begin_time BIGINT NOT NULL, end_time BIGINT NOT NULL,"
    " format TEXT NOT NULL, filename TEXT NOT NULL, rua TEXT NOT NULL,"
    " messages BIGINT NOT NULL, created BIGINT NOT NULL, xml TEXT NOT NULL,"
    " UNIQUE (policy_domain, begin_time, end_time, format));"
    "CREATE TABLE report_destinations (report BIGINT NOT NULL, uri TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    " last_attempt BIGINT, last_error TEXT, sent_at BIGINT, PRIMARY KEY (report, uri));",
};

static const char *const store_pg_schema[STORE_SCHEMA_VERSION] = {
    "CREATE TABLE records (id BIGSERIAL PRIMARY KEY, uid TEXT NOT NULL UNIQUE,"
    " host TEXT NOT NULL, time BIGINT NOT NULL, policy_domain TEXT NOT NULL,"
    " header_from TEXT NOT NULL, envelope_from TEXT NOT NULL, envelope_to TEXT NOT NULL,"
    " source_ip TEXT NOT NULL, discovery TEXT NOT NULL, p TEXT NOT NULL, sp TEXT NOT NULL,"
    " np TEXT NOT NULL, adkim TEXT NOT NULL, aspf TEXT NOT NULL, fo TEXT NOT NULL,"
    " pct INTEGER NOT NULL, testing INTEGER NOT NULL, rua TEXT NOT NULL, result TEXT NOT NULL,"
    " disposition TEXT NOT NULL, dkim_aligned INTEGER NOT NULL, spf_aligned INTEGER NOT NULL,"
    " override TEXT NOT NULL, spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL,"
    " spf_result TEXT NOT NULL, dkim TEXT NOT NULL);"
    "CREATE INDEX records_time ON records (time);"
    "CREATE TABLE reports (id BIGSERIAL PRIMARY KEY, unique_id TEXT NOT NULL UNIQUE,"
    " policy_domain TEXT NOT NULL, begin_time BIGINT NOT NULL, end_time BIGINT NOT NULL,"
    " format TEXT NOT NULL, filename TEXT NOT NULL, rua TEXT NOT NULL,"
    " messages BIGINT NOT NULL, created BIGINT NOT NULL, xml TEXT NOT NULL,"
    " UNIQUE (policy_domain, begin_time, end_time, format));"
    "CREATE TABLE report_destinations (report BIGINT NOT NULL, uri TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    " last_attempt BIGINT, last_error TEXT, sent_at BIGINT, PRIMARY KEY (report, uri));",
};

/* A fixed key for PostgreSQL's transaction-level advisory lock: hosts
 * migrating one database at once take turns. */
#define STORE_PG_MIGRATE_LOCK "SELECT pg_advisory_xact_lock(7489990)"

static int
store_begin(struct store *s, struct auth_error *err)
{
	bool pg = store_db_kind(s->db) == STORE_DB_POSTGRESQL;

	return store_db_exec(s->db, pg ? "BEGIN" : "BEGIN IMMEDIATE", NULL, 0, NULL, NULL, err) < 0
	           ? -1
	           : 0;
}

static int
store_end(struct store *s, bool commit, struct auth_error *err)
{
	struct auth_error ignored;

	if (commit)
		return store_db_exec(s->db, "COMMIT", NULL, 0, NULL, NULL, err) < 0 ? -1 : 0;
	(void)store_db_exec(s->db, "ROLLBACK", NULL, 0, NULL, NULL, &ignored);
	return -1;
}

static int
store_int_col(void *ctx, const char *const *col, size_t ncol)
{
	*(long long *)ctx = ncol > 0 && col[0] != NULL ? strtoll(col[0], NULL, 10) : 0;
	return 0;
}

static int
store_migrate_from(struct store *s, long long have, struct auth_error *err)
{
	const char *const *m =
	    store_db_kind(s->db) == STORE_DB_POSTGRESQL ? store_pg_schema : store_sqlite_schema;
	char v[24];
	const char *p[1] = {v};
	long long n;

	if (have > STORE_SCHEMA_VERSION)
		return auth_error_set(err, AUTH_EINVAL,
		                      "the report store has schema version %lld, newer than this "
		                      "program's %d",
		                      have, STORE_SCHEMA_VERSION);
	for (n = have + 1; n <= STORE_SCHEMA_VERSION; n++) {
		snprintf(v, sizeof(v), "%lld", n);
		if (store_db_script(s->db, m[n - 1], err) < 0 ||
		    store_db_exec(s->db, "DELETE FROM schema_version", NULL, 0, NULL, NULL, err) <
		        0 ||
		    store_db_exec(s->db, "INSERT INTO schema_version (version) VALUES ($1)", p, 1,
		                  NULL, NULL, err) < 0)
			return -1;
	}
	return 0;
}

static int
store_migrate(struct store *s, struct auth_error *err)
{
	long long have = 0;

	if (store_begin(s, err) < 0)
		return -1;
	if ((store_db_kind(s->db) == STORE_DB_POSTGRESQL &&
	     store_db_exec(s->db, STORE_PG_MIGRATE_LOCK, NULL, 0, NULL, NULL, err) < 0) ||
	    store_db_script(s->db,
	                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
	                    err) < 0 ||
	    store_db_exec(s->db, "SELECT MAX(version) FROM schema_version", NULL, 0, store_int_col,
	                  &have, err) < 0 ||
	    store_migrate_from(s, have, err) < 0)
		return store_end(s, false, err);
	return store_end(s, true, err);
}

struct store *
store_open(const char *spec, struct auth_error *err)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	if ((s->db = store_db_open(spec, err)) == NULL || store_migrate(s, err) < 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_db_close(s->db);
	free(s);
}

/*
 * SQLite's documentation of PRAGMA synchronous: in WAL mode, NORMAL "is
 * safe from corruption" and "always consistent", and "transactions are
 * durable across application crashes regardless of the synchronous
 * setting"; only a power loss or system crash may roll back the last
 * commits, those since the WAL was last synced at a checkpoint.
 * PostgreSQL's synchronous_commit off promises the same: no
 * inconsistency, a bounded window of lost commits after a server crash.
 */
int
store_set_lazy_commit(struct store *s, struct auth_error *err)
{
	return store_db_script(s->db,
	                       store_db_kind(s->db) == STORE_DB_POSTGRESQL
	                           ? "SET synchronous_commit TO off"
	                           : "PRAGMA synchronous=NORMAL",
	                       err);
}

bool
store_broken(const struct store *s)
{
	return store_db_broken(s->db);
}

/* ---- records ---- */

static bool
store_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* Appends s %XX-escaped at out (when non-NULL); returns its length. */
static size_t
store_escape(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (store_plain(c)) {
			if (out != NULL)
				out[n] = (char)c;
			n++;
			continue;
		}
		if (out != NULL) {
			out[n] = '%';
			out[n + 1] = hex[c >> 4];
			out[n + 2] = hex[c & 15];
		}
		n += 3;
	}
	return n;
}

/* The DKIM text of a record, at out when non-NULL; returns its length. */
static size_t
store_dkim_text(const struct report_record *r, char *out)
{
	size_t i, n = 0, count = r->ndkim < STORE_DKIM_MAX ? r->ndkim : STORE_DKIM_MAX;

	for (i = 0; i < count; i++) {
		const char *res = dkim_result_name(r->dkim[i].result);

		if (i > 0 && out != NULL)
			out[n] = ' ';
		n += i > 0;
		n += store_escape(r->dkim[i].d, out != NULL ? out + n : NULL);
		if (out != NULL)
			out[n] = '/';
		n++;
		n += store_escape(r->dkim[i].s, out != NULL ? out + n : NULL);
		if (out != NULL) {
			out[n] = '/';
			memcpy(out + n + 1, res, strlen(res));
		}
		n += 1 + strlen(res);
	}
	return n;
}

static size_t
store_rua_text(const struct dmarc_record *rec, char *out)
{
	size_t i, n = 0, len;

	for (i = 0; i < rec->nrua && i < DMARC_MAX_URIS; i++) {
		if (i > 0 && out != NULL)
			out[n] = ',';
		n += i > 0;
		len = strnlen(rec->rua[i], DMARC_URI_MAX);
		if (out != NULL)
			memcpy(out + n, rec->rua[i], len);
		n += len;
	}
	return n;
}

static int
store_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one escaped field up to stop (or the end) into out. */
static const char *
store_unescape(const char *p, char stop, char *out, size_t outlen)
{
	size_t n = 0;
	int hi, lo;

	while (*p != '\0' && *p != stop && *p != ' ') {
		char c = *p++;

		if (c == '%' && (hi = store_hexval(p[0])) >= 0 && (lo = store_hexval(p[1])) >= 0) {
			c = (char)(hi << 4 | lo);
			p += 2;
		}
		if (n + 1 < outlen)
			out[n++] = c;
	}
	out[n] = '\0';
	return p;
}

bool
store_dkim_next(const char **cursor, struct store_dkim *out)
{
	const char *p = *cursor;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return false;
	p = store_unescape(p, '/', out->domain, sizeof(out->domain));
	p = store_unescape(p + (*p == '/'), '/', out->selector, sizeof(out->selector));
	p = store_unescape(p + (*p == '/'), ' ', out->result, sizeof(out->result));
	*cursor = p;
	return true;
}

/* Copies len bytes of src (NULL: the caller fills them) into the row's
 * string space at *cur, NUL-terminated. */
static const char *
store_put(char **cur, const char *src, size_t len)
{
	char *at = *cur;

	if (src != NULL)
		memcpy(at, src, len);
	at[len] = '\0';
	*cur = at + len + 1;
	return at;
}

static const char *
store_put_str(char **cur, const char *s)
{
	return store_put(cur, s, strlen(s));
}

static const char *
store_policy_word(bool has, bool valid, enum dmarc_disp d)
{
	return has && valid ? dmarc_disp_name(d) : "";
}

static void
store_fill_policy(struct store_row *row, const struct dmarc_outcome *d, char **cur)
{
	const struct dmarc_record *rec = &d->record;

	row->policy_domain = store_put_str(cur, d->policy_domain);
	row->discovery = d->mode == DMARC_MODE_RFC7489 ? "psl" : "treewalk";
	/* An invalid or missing p= is evaluated as none (RFC 9989 §4.7). */
	row->p = rec->p_valid ? dmarc_disp_name(rec->p) : "none";
	row->sp = store_policy_word(rec->has_sp, rec->sp_valid, rec->sp);
	row->np = store_policy_word(rec->has_np, rec->np_valid, rec->np);
	row->adkim = rec->adkim == 's' ? "s" : "r";
	row->aspf = rec->aspf == 's' ? "s" : "r";
	row->fo = store_put_str(cur, rec->fo);
	row->pct = rec->pct;
	row->testing = rec->testing;
	row->rua = store_put(cur, NULL, store_rua_text(rec, *cur));
	row->result = dmarc_result_name(d->result);
	row->disposition = dmarc_disp_name(d->disposition);
	row->dkim_aligned = d->dkim_aligned;
	row->spf_aligned = d->spf_aligned;
	row->override = d->override == DMARC_OVERRIDE_NONE ? "" : dmarc_override_name(d->override);
}

static size_t
store_row_space(const struct report_record *r, const char *host, const char *uid)
{
	const struct dmarc_outcome *d = r->dmarc;
	size_t n = strlen(host) + strlen(uid) + strlen(r->source_ip) + strlen(r->header_from) +
	           strlen(r->envelope_from) + strlen(r->envelope_to) + strlen(d->policy_domain) +
	           strlen(d->record.fo) + store_rua_text(&d->record, NULL) +
	           store_dkim_text(r, NULL);

	if (r->spf != NULL)
		n += strlen(r->spf->domain);
	return n + 16; /* the NUL of each string */
}

struct store_row *
store_row_new(const struct report_record *r, const char *host, const char *uid)
{
	size_t space = store_row_space(r, host, uid);
	struct store_row *row = malloc(sizeof(*row) + space);
	char *cur;

	if (row == NULL)
		return NULL;
	cur = (char *)(row + 1);
	row->time = (int64_t)r->time;
	row->uid = store_put_str(&cur, uid);
	row->host = store_put_str(&cur, host);
	row->source_ip = store_put_str(&cur, r->source_ip);
	row->header_from = store_put_str(&cur, r->header_from);
	row->envelope_from = store_put_str(&cur, r->envelope_from);
	row->envelope_to = store_put_str(&cur, r->envelope_to);
	store_fill_policy(row, r->dmarc, &cur);
	row->spf_domain = r->spf != NULL ? store_put_str(&cur, r->spf->domain) : "";
	row->spf_scope = r->spf == NULL ? "" : r->spf->scope == SPF_SCOPE_HELO ? "helo" : "mfrom";
	row->spf_result = r->spf != NULL ? spf_result_name(r->spf->result) : "";
	row->dkim = store_put(&cur, NULL, store_dkim_text(r, cur));
	return row;
}

/* The record columns, in the order of the parameters and of a row read. */
#define STORE_RECORD_COLS                                                                          \
	"uid, host, time, policy_domain, header_from, envelope_from, envelope_to, source_ip,"      \
	" discovery, p, sp, np, adkim, aspf, fo, pct, testing, rua, result, disposition,"          \
	" dkim_aligned, spf_aligned, override, spf_domain, spf_scope, spf_result, dkim"
#define STORE_RECORD_NCOLS 27

static const char store_insert_sql[] =
    "INSERT INTO records (" STORE_RECORD_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
    " $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)"
    " ON CONFLICT (uid) DO NOTHING";

static int
store_insert_row(struct store *s, const struct store_row *r, struct auth_error *err)
{
	char t[24], pct[16];
	const char *p[STORE_RECORD_NCOLS] = {
	    r->uid,
	    r->host,
	    t,
	    r->policy_domain,
	    r->header_from,
	    r->envelope_from,
	    r->envelope_to,
	    r->source_ip,
	    r->discovery,
	    r->p,
	    r->sp,
	    r->np,
	    r->adkim,
	    r->aspf,
	    r->fo,
	    pct,
	    r->testing ? "1" : "0",
	    r->rua,
	    r->result,
	    r->disposition,
	    r->dkim_aligned ? "1" : "0",
	    r->spf_aligned ? "1" : "0",
	    r->override,
	    r->spf_domain,
	    r->spf_scope,
	    r->spf_result,
	    r->dkim,
	};

	snprintf(t, sizeof(t), "%" PRId64, r->time);
	snprintf(pct, sizeof(pct), "%d", r->pct);
	return store_db_exec(s->db, store_insert_sql, p, STORE_RECORD_NCOLS, NULL, NULL, err);
}

int
store_insert(struct store *s, struct store_row *const *rows, size_t n, struct auth_error *err)
{
	size_t i;
	int added = 0, rc;

	if (store_begin(s, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((rc = store_insert_row(s, rows[i], err)) < 0)
			return store_end(s, false, err);
		added += rc;
	}
	return store_end(s, true, err) < 0 ? -1 : added;
}

static const char *
store_col(const char *const *col, size_t i)
{
	return col[i] != NULL ? col[i] : "";
}

static int64_t
store_num(const char *const *col, size_t i)
{
	return strtoll(store_col(col, i), NULL, 10);
}

static void
store_row_from_cols(struct store_row *r, const char *const *c)
{
	r->uid = store_col(c, 0);
	r->host = store_col(c, 1);
	r->time = store_num(c, 2);
	r->policy_domain = store_col(c, 3);
	r->header_from = store_col(c, 4);
	r->envelope_from = store_col(c, 5);
	r->envelope_to = store_col(c, 6);
	r->source_ip = store_col(c, 7);
	r->discovery = store_col(c, 8);
	r->p = store_col(c, 9);
	r->sp = store_col(c, 10);
	r->np = store_col(c, 11);
	r->adkim = store_col(c, 12);
	r->aspf = store_col(c, 13);
	r->fo = store_col(c, 14);
	r->pct = atoi(store_col(c, 15));
	r->testing = atoi(store_col(c, 16)) != 0;
	r->rua = store_col(c, 17);
	r->result = store_col(c, 18);
	r->disposition = store_col(c, 19);
	r->dkim_aligned = atoi(store_col(c, 20)) != 0;
	r->spf_aligned = atoi(store_col(c, 21)) != 0;
	r->override = store_col(c, 22);
	r->spf_domain = store_col(c, 23);
	r->spf_scope = store_col(c, 24);
	r->spf_result = store_col(c, 25);
	r->dkim = store_col(c, 26);
}

/* What a walk over a statement's rows hands each converted row to. */
struct store_walk {
	union {
		store_row_fn row;
		store_report_fn report;
		store_stat_fn stat;
		store_pending_fn pending;
	} fn;
	void *ctx;
};

static int
store_record_cb(void *ctx, const char *const *col, size_t ncol)
{
	struct store_walk *w = ctx;
	struct store_row row;

	if (ncol < STORE_RECORD_NCOLS)
		return -1;
	store_row_from_cols(&row, col);
	return w->fn.row(w->ctx, &row);
}

static void
store_times(int64_t a, int64_t b, char ta[24], char tb[24])
{
	snprintf(ta, 24, "%" PRId64, a);
	snprintf(tb, 24, "%" PRId64, b);
}

int
store_each_record(struct store *s, int64_t from, int64_t until, store_row_fn fn, void *ctx,
                  struct auth_error *err)
{
	struct store_walk w = {{.row = fn}, ctx};
	char a[24], b[24];
	const char *p[2] = {a, b};

	store_times(from, until, a, b);
	return store_db_exec(s->db,
	                     "SELECT " STORE_RECORD_COLS
	                     " FROM records WHERE time >= $1 AND time < $2"
	                     " ORDER BY policy_domain, time, id",
	                     p, 2, store_record_cb, &w, err);
}

int
store_expire(struct store *s, int64_t before, struct auth_error *err)
{
	char t[24], unused[24];
	const char *p[1] = {t};
	int n;

	store_times(before, 0, t, unused);
	if (store_begin(s, err) < 0)
		return -1;
	if ((n = store_db_exec(s->db, "DELETE FROM records WHERE time < $1", p, 1, NULL, NULL,
	                       err)) < 0 ||
	    store_db_exec(s->db,
	                  "DELETE FROM report_destinations WHERE report IN"
	                  " (SELECT id FROM reports WHERE end_time < $1)",
	                  p, 1, NULL, NULL, err) < 0 ||
	    store_db_exec(s->db, "DELETE FROM reports WHERE end_time < $1", p, 1, NULL, NULL, err) <
	        0)
		return store_end(s, false, err);
	return store_end(s, true, err) < 0 ? -1 : n;
}

/* ---- reports ---- */

#define STORE_REPORT_COLS                                                                          \
	"unique_id, policy_domain, format, filename, rua, xml, begin_time, end_time, created,"     \
	" messages"

static int
store_report_cb(void *ctx, const char *const *c, size_t ncol)
{
	struct store_walk *w = ctx;
	struct store_report r;

	if (ncol < 11)
		return -1;
	r.unique_id = store_col(c, 0);
	r.policy_domain = store_col(c, 1);
	r.format = store_col(c, 2);
	r.filename = store_col(c, 3);
	r.rua = store_col(c, 4);
	r.xml = store_col(c, 5);
	r.begin = store_num(c, 6);
	r.end = store_num(c, 7);
	r.created = store_num(c, 8);
	r.messages = store_num(c, 9);
	r.sent = store_num(c, 10) > 0;
	w->fn.report(w->ctx, &r);
	return 1;
}

int
store_report_find(struct store *s, const char *policy_domain, int64_t begin, int64_t end,
                  const char *format, store_report_fn fn, void *ctx, struct auth_error *err)
{
	struct store_walk w = {{.report = fn}, ctx};
	char a[24], b[24];
	const char *p[4] = {policy_domain, a, b, format};

	store_times(begin, end, a, b);
	return store_db_exec(s->db,
	                     "SELECT " STORE_REPORT_COLS
	                     ", (SELECT COUNT(*) FROM report_destinations"
	                     " WHERE report = reports.id AND state = 'sent') FROM reports"
	                     " WHERE policy_domain = $1 AND begin_time = $2 AND end_time = $3"
	                     " AND format = $4",
	                     p, 4, store_report_cb, &w, err);
}

/* One pending destination per rua URI of a new report. */
static int
store_report_destinations(struct store *s, const struct store_report *r, struct auth_error *err)
{
	const char *uri = r->rua, *comma;
	char one[DMARC_URI_MAX + 1];
	const char *p[2] = {r->unique_id, one};
	size_t len;

	for (; *uri != '\0'; uri = *comma != '\0' ? comma + 1 : comma) {
		comma = uri + strcspn(uri, ",");
		if ((len = (size_t)(comma - uri)) == 0 || len > DMARC_URI_MAX)
			continue;
		memcpy(one, uri, len);
		one[len] = '\0';
		if (store_db_exec(
		        s->db,
		        "INSERT INTO report_destinations (report, uri) SELECT id, CAST($2 AS TEXT)"
		        " FROM reports WHERE unique_id = $1 ON CONFLICT DO NOTHING",
		        p, 2, NULL, NULL, err) < 0)
			return -1;
	}
	return 0;
}

int
store_report_save(struct store *s, const struct store_report *r, struct auth_error *err)
{
	char a[24], b[24], c[24], m[24];
	const char *p[10] = {
	    r->unique_id, r->policy_domain, r->format, r->filename, r->rua, r->xml, a, b, c, m};
	int n;

	store_times(r->begin, r->end, a, b);
	store_times(r->created, r->messages, c, m);
	if (store_begin(s, err) < 0)
		return -1;
	n = store_db_exec(s->db,
	                  "UPDATE reports SET xml = $2, messages = $3, rua = $4, created = $5"
	                  " WHERE unique_id = $1",
	                  (const char *const[]){r->unique_id, r->xml, m, r->rua, c}, 5, NULL, NULL,
	                  err);
	if (n == 0)
		n = store_db_exec(s->db,
		                  "INSERT INTO reports (" STORE_REPORT_COLS ") VALUES ($1, $2, $3,"
		                  " $4, $5, $6, $7, $8, $9, $10)",
		                  p, 10, NULL, NULL, err);
	if (n < 0 || store_report_destinations(s, r, err) < 0)
		return store_end(s, false, err);
	return store_end(s, true, err);
}

/* ---- sending ---- */

static int
store_pending_cb(void *ctx, const char *const *c, size_t ncol)
{
	struct store_walk *w = ctx;
	struct store_pending p;

	if (ncol < 8)
		return -1;
	p.unique_id = store_col(c, 0);
	p.policy_domain = store_col(c, 1);
	p.filename = store_col(c, 2);
	p.uri = store_col(c, 3);
	p.xml = store_col(c, 4);
	p.begin = store_num(c, 5);
	p.end = store_num(c, 6);
	p.attempts = store_num(c, 7);
	return w->fn.pending(w->ctx, &p);
}

int
store_each_pending(struct store *s, store_pending_fn fn, void *ctx, struct auth_error *err)
{
	struct store_walk w = {{.pending = fn}, ctx};

	return store_db_exec(s->db,
	                     "SELECT r.unique_id, r.policy_domain, r.filename, d.uri, r.xml,"
	                     " r.begin_time, r.end_time, d.attempts"
	                     " FROM report_destinations d JOIN reports r ON r.id = d.report"
	                     " WHERE d.state = 'pending' ORDER BY r.end_time, r.id, d.uri",
	                     NULL, 0, store_pending_cb, &w, err);
}

int
store_destination_done(struct store *s, const char *unique_id, const char *uri,
                       enum store_dest_state state, const char *why, int64_t when,
                       struct auth_error *err)
{
	static const char *const names[] = {"pending", "sent", "failed"};
	char t[24], unused[24];
	const char *p[5] = {unique_id, uri, names[state], why, t};

	store_times(when, 0, t, unused);
	return store_db_exec(s->db,
	                     "UPDATE report_destinations SET state = $3, last_error = $4,"
	                     " attempts = attempts + 1, last_attempt = CAST($5 AS BIGINT),"
	                     " sent_at = CASE WHEN $3 = 'sent' THEN CAST($5 AS BIGINT) END"
	                     " WHERE uri = $2 AND report = (SELECT id FROM reports"
	                     " WHERE unique_id = $1)",
	                     p, 5, NULL, NULL, err) < 0
	           ? -1
	           : 0;
}

/* ---- stats ---- */

static int
store_stat_cb(void *ctx, const char *const *c, size_t ncol)
{
	struct store_walk *w = ctx;
	struct store_stat st;

	if (ncol < 6)
		return -1;
	st.policy_domain = store_col(c, 0);
	st.messages = store_num(c, 1);
	st.pass = store_num(c, 2);
	st.fail = st.messages - st.pass;
	st.none = store_num(c, 3);
	st.quarantine = store_num(c, 4);
	st.reject = store_num(c, 5);
	return w->fn.stat(w->ctx, &st);
}

int
store_stats(struct store *s, int64_t from, int64_t until, store_stat_fn fn, void *ctx,
            struct auth_error *err)
{
	struct store_walk w = {{.stat = fn}, ctx};
	char a[24], b[24];
	const char *p[2] = {a, b};

	store_times(from, until, a, b);
	return store_db_exec(s->db,
	                     "SELECT policy_domain, COUNT(*),"
	                     " SUM(CASE WHEN result = 'pass' THEN 1 ELSE 0 END),"
	                     " SUM(CASE WHEN disposition = 'none' THEN 1 ELSE 0 END),"
	                     " SUM(CASE WHEN disposition = 'quarantine' THEN 1 ELSE 0 END),"
	                     " SUM(CASE WHEN disposition = 'reject' THEN 1 ELSE 0 END)"
	                     " FROM records WHERE time >= $1 AND time < $2 GROUP BY policy_domain "
	                     "ORDER BY policy_domain",
	                     p, 2, store_stat_cb, &w, err);
}
