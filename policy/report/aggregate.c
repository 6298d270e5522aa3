/*
 * aggregate - see aggregate.h.
 *
 * Each row is found by its key: the grouped fields joined with a 0x1F
 * separator (a byte no stored field holds: the store writes domains,
 * addresses and result words, and escapes DKIM text), in an open-addressing
 * hash table that doubles when half full.  A row keeps its key, with the
 * separators turned into NULs, as the storage of its fields.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "buf.h"

#define AGG_SEP '\x1f'
#define AGG_NFIELDS 12
#define AGG_KEY_MAX (1u << 20)

struct agg_entry {
	struct agg_row row;
	char *key; /* the grouping key */
	char *fields;
	uint64_t hash;
};

struct aggregate {
	struct agg_entry **slots; /* hash table, nslots a power of two */
	size_t nslots;
	struct agg_entry **rows; /* in order of arrival; sorted by finish */
	size_t nrows, cap;
	struct agg_policy policy;
	bool have_policy;
	int64_t messages;
	struct buf key;
};

struct aggregate *
aggregate_new(struct auth_error *err)
{
	struct aggregate *a = calloc(1, sizeof(*a));

	if (a == NULL || (a->slots = calloc(64, sizeof(*a->slots))) == NULL) {
		free(a);
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	a->nslots = 64;
	buf_init(&a->key, AGG_KEY_MAX);
	return a;
}

void
aggregate_free(struct aggregate *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nrows; i++) {
		free(a->rows[i]->key);
		free(a->rows[i]->fields);
		free(a->rows[i]);
	}
	free(a->rows);
	free(a->slots);
	buf_free(&a->key);
	free(a);
}

static uint64_t
agg_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int
agg_make_key(struct aggregate *a, const struct store_row *r)
{
	const char *f[AGG_NFIELDS] = {r->source_ip,
	                              r->header_from,
	                              r->envelope_from,
	                              r->envelope_to,
	                              r->disposition,
	                              r->dkim_aligned ? "pass" : "fail",
	                              r->spf_aligned ? "pass" : "fail",
	                              r->override,
	                              r->dkim,
	                              r->spf_domain,
	                              r->spf_scope,
	                              r->spf_result};
	size_t i;

	buf_reset(&a->key);
	for (i = 0; i < AGG_NFIELDS; i++)
		if ((i > 0 && buf_putc(&a->key, AGG_SEP) < 0) || buf_puts(&a->key, f[i]) < 0)
			return -1;
	return 0;
}

/* Points the row's fields into its own copy of the key. */
static void
agg_split(struct agg_entry *e)
{
	const char **f[AGG_NFIELDS] = {&e->row.source_ip,
	                               &e->row.header_from,
	                               &e->row.envelope_from,
	                               &e->row.envelope_to,
	                               &e->row.disposition,
	                               NULL,
	                               NULL,
	                               &e->row.override,
	                               &e->row.dkim,
	                               &e->row.spf_domain,
	                               &e->row.spf_scope,
	                               &e->row.spf_result};
	char *p = e->fields, *sep;
	size_t i;

	for (i = 0; i < AGG_NFIELDS; i++, p = sep + 1) {
		sep = p + strcspn(p, "\x1f");
		if (i == 5)
			e->row.dkim_aligned = strncmp(p, "pass", 4) == 0;
		else if (i == 6)
			e->row.spf_aligned = strncmp(p, "pass", 4) == 0;
		else
			*f[i] = p;
		if (*sep == '\0')
			break;
		*sep = '\0';
	}
}

static int
agg_grow(struct aggregate *a)
{
	size_t n = a->nslots * 2, i, j;
	struct agg_entry **slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (i = 0; i < a->nrows; i++) {
		for (j = a->rows[i]->hash & (n - 1); slots[j] != NULL; j = (j + 1) & (n - 1))
			;
		slots[j] = a->rows[i];
	}
	free(a->slots);
	a->slots = slots;
	a->nslots = n;
	return 0;
}

static struct agg_entry *
agg_new_entry(struct aggregate *a, uint64_t h)
{
	struct agg_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->key = strdup(a->key.data);
	e->fields = strdup(a->key.data);
	if (e->key == NULL || e->fields == NULL) {
		free(e->key);
		free(e->fields);
		free(e);
		return NULL;
	}
	e->hash = h;
	agg_split(e);
	return e;
}

/* The row for the current key, made when new. */
static struct agg_entry *
agg_find(struct aggregate *a, struct auth_error *err)
{
	uint64_t h = agg_hash(a->key.data, a->key.len);
	size_t i;
	struct agg_entry *e, **rows;

	for (i = h & (a->nslots - 1); (e = a->slots[i]) != NULL; i = (i + 1) & (a->nslots - 1))
		if (e->hash == h && strcmp(e->key, a->key.data) == 0)
			return e;
	if (a->nrows >= AGGREGATE_ROWS_MAX)
		return auth_error_set(err, AUTH_ELIMIT, "more than %d rows in one report",
		                      AGGREGATE_ROWS_MAX),
		       NULL;
	if (a->nrows == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;

		if ((rows = realloc(a->rows, cap * sizeof(*rows))) == NULL)
			return auth_error_set(err, AUTH_ENOMEM, "out of memory"), NULL;
		a->rows = rows;
		a->cap = cap;
	}
	if ((e = agg_new_entry(a, h)) == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory"), NULL;
	a->slots[i] = e;
	a->rows[a->nrows++] = e;
	if (a->nrows * 2 > a->nslots && agg_grow(a) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory"), NULL;
	return e;
}

static void
agg_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

static void
agg_note_policy(struct aggregate *a, const struct store_row *r)
{
	struct agg_policy *p = &a->policy;

	if (a->have_policy && r->time < p->time)
		return;
	a->have_policy = true;
	p->time = r->time;
	agg_copy(p->domain, sizeof(p->domain), r->policy_domain);
	agg_copy(p->discovery, sizeof(p->discovery), r->discovery);
	agg_copy(p->p, sizeof(p->p), r->p);
	agg_copy(p->sp, sizeof(p->sp), r->sp);
	agg_copy(p->np, sizeof(p->np), r->np);
	agg_copy(p->adkim, sizeof(p->adkim), r->adkim);
	agg_copy(p->aspf, sizeof(p->aspf), r->aspf);
	agg_copy(p->fo, sizeof(p->fo), r->fo);
	agg_copy(p->rua, sizeof(p->rua), r->rua);
	p->pct = r->pct;
	p->testing = r->testing;
}

int
aggregate_add(struct aggregate *a, const struct store_row *r, struct auth_error *err)
{
	struct agg_entry *e;

	if (agg_make_key(a, r) < 0)
		return auth_error_set(err, AUTH_ELIMIT, "a record is too large to aggregate");
	if ((e = agg_find(a, err)) == NULL)
		return -1;
	e->row.count++;
	a->messages++;
	agg_note_policy(a, r);
	return 0;
}

static int
agg_cmp(const void *x, const void *y)
{
	const struct agg_entry *a = *(const struct agg_entry *const *)x;
	const struct agg_entry *b = *(const struct agg_entry *const *)y;

	return strcmp(a->key, b->key);
}

void
aggregate_finish(struct aggregate *a)
{
	if (a->nrows > 1)
		qsort(a->rows, a->nrows, sizeof(*a->rows), agg_cmp);
}

size_t
aggregate_nrows(const struct aggregate *a)
{
	return a->nrows;
}

const struct agg_row *
aggregate_row(const struct aggregate *a, size_t i)
{
	return i < a->nrows ? &a->rows[i]->row : NULL;
}

const struct agg_policy *
aggregate_policy(const struct aggregate *a)
{
	return a->have_policy ? &a->policy : NULL;
}

int64_t
aggregate_messages(const struct aggregate *a)
{
	return a->messages;
}
