/*
 * dns_zone - see dns_zone.h.
 *
 * Records are kept as ldns parsed them, each with its owner in normalized
 * form.  After every load an index is rebuilt: a sorted array of the names
 * that exist, each pointing at its run of records, plus the empty
 * non-terminals between an owner and the apex of its zone (RFC 4592 §2.2.2
 * counts those as existing, so they answer NODATA and block wildcards).
 * Queries only read that index, which is why they may run in parallel.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "dns_wire.h"
#include "dns_zone.h"

/* RFC 2308 §5 leaves uncached negative answers to the server's SOA; with
 * none loaded, a few minutes is what resolvers commonly assume. */
#define ZONE_DEFAULT_NEG_TTL 300
/* RFC 1035 gives no default TTL for a file without $TTL; BIND's is this. */
#define ZONE_DEFAULT_TTL 3600

struct zone_rr {
	char *owner;
	uint16_t type;
	ldns_rr *rr;
};

struct zone_node {
	char *name;
	size_t first, n; /* its records in rrs[]; n == 0 for an empty non-terminal */
};

struct zone_soa {
	char *apex;
	uint32_t neg_ttl; /* min(SOA TTL, SOA MINIMUM), RFC 2308 §5 */
};

struct zone_fail {
	char *name;
	int type; /* -1: every type */
};

struct rr_list {
	struct zone_rr *v;
	size_t n, cap;
};

struct dns_zone {
	struct dns_resolver base; /* first: the resolver is the zone */
	struct rr_list rrs;
	struct zone_node *nodes;
	size_t nnodes;
	struct zone_soa *soas;
	size_t nsoas;
	struct zone_fail *fails;
	size_t nfails;
	atomic_ulong queries;
};

static int zone_query(struct dns_resolver *r, const char *name, enum dns_type type,
                      const struct dns_answer **out, struct auth_error *err);
static void zone_free(struct dns_resolver *r);

static const struct dns_resolver_ops zone_ops = {
    .query = zone_query,
    .free = zone_free,
};

struct dns_resolver *
dns_zone_new(struct auth_error *err)
{
	struct dns_zone *z = calloc(1, sizeof(*z));

	if (z == NULL) {
		auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return NULL;
	}
	z->base.ops = &zone_ops;
	atomic_init(&z->queries, 0);
	return &z->base;
}

static void
rr_list_free(struct rr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].owner);
		ldns_rr_free(l->v[i].rr);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static void
nodes_free(struct dns_zone *z)
{
	size_t i;

	for (i = 0; i < z->nnodes; i++)
		free(z->nodes[i].name);
	free(z->nodes);
	z->nodes = NULL;
	z->nnodes = 0;
}

static void
zone_free(struct dns_resolver *r)
{
	struct dns_zone *z = (struct dns_zone *)r;
	size_t i;

	rr_list_free(&z->rrs);
	nodes_free(z);
	for (i = 0; i < z->nsoas; i++)
		free(z->soas[i].apex);
	free(z->soas);
	for (i = 0; i < z->nfails; i++)
		free(z->fails[i].name);
	free(z->fails);
	free(z);
}

unsigned long
dns_zone_query_count(struct dns_resolver *r)
{
	struct dns_zone *z = (struct dns_zone *)r;

	return atomic_load(&z->queries);
}

/* ---- names ---- */

/* name equals apex or lies below it. */
static int
name_under(const char *name, const char *apex)
{
	size_t n = strlen(name), a = strlen(apex);

	if (n == a)
		return strcmp(name, apex) == 0;
	return n > a && name[n - a - 1] == '.' && strcmp(name + n - a, apex) == 0;
}

static const struct zone_soa *
zone_soa_for(const struct dns_zone *z, const char *name)
{
	const struct zone_soa *best = NULL;
	size_t i;

	for (i = 0; i < z->nsoas; i++)
		if (name_under(name, z->soas[i].apex) &&
		    (best == NULL || strlen(z->soas[i].apex) > strlen(best->apex)))
			best = &z->soas[i];
	return best;
}

static uint32_t
zone_neg_ttl(const struct dns_zone *z, const char *name)
{
	const struct zone_soa *soa = zone_soa_for(z, name);

	return soa != NULL ? soa->neg_ttl : ZONE_DEFAULT_NEG_TTL;
}

/* ---- the index ---- */

static int
rr_cmp(const void *a, const void *b)
{
	const struct zone_rr *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);

	if (c != 0)
		return c;
	return (int)x->type - (int)y->type;
}

/* Sorts by name; for one name, the node holding records first. */
static int
node_cmp(const void *a, const void *b)
{
	const struct zone_node *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (y->n > 0) - (x->n > 0);
}

static int
node_push(struct zone_node **v, size_t *n, size_t *cap, const char *name, size_t first,
          size_t count)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct zone_node *nv = reallocarray(*v, ncap, sizeof(*nv));

		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n].name = strdup(name);
	if ((*v)[*n].name == NULL)
		return -1;
	(*v)[*n].first = first;
	(*v)[*n].n = count;
	(*n)++;
	return 0;
}

/*
 * Pushes the ancestors of owner that exist as empty non-terminals: up to
 * the apex of its zone when an SOA covers it, else while two labels are
 * left (a file without an SOA does not make a TLD exist).
 */
static int
push_ancestors(const struct dns_zone *z, const char *owner, struct zone_node **v, size_t *n,
               size_t *cap)
{
	const struct zone_soa *soa = zone_soa_for(z, owner);
	const char *p = owner, *dot;

	if (soa != NULL && strcmp(owner, soa->apex) == 0)
		return 0;
	while ((dot = strchr(p, '.')) != NULL) {
		p = dot + 1;
		if (soa == NULL && strchr(p, '.') == NULL)
			break;
		if (node_push(v, n, cap, p, 0, 0) < 0)
			return -1;
		if (soa != NULL && strcmp(p, soa->apex) == 0)
			break;
	}
	return 0;
}

static int
zone_index(struct dns_zone *z)
{
	struct zone_node *v = NULL;
	size_t n = 0, cap = 0, i, j, out;

	if (z->rrs.n > 1)
		qsort(z->rrs.v, z->rrs.n, sizeof(*z->rrs.v), rr_cmp);
	for (i = 0; i < z->rrs.n; i = j) {
		for (j = i + 1; j < z->rrs.n && strcmp(z->rrs.v[j].owner, z->rrs.v[i].owner) == 0;)
			j++;
		if (node_push(&v, &n, &cap, z->rrs.v[i].owner, i, j - i) < 0 ||
		    push_ancestors(z, z->rrs.v[i].owner, &v, &n, &cap) < 0)
			goto fail;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), node_cmp);
	for (i = 0, out = 0; i < n; i++) {
		if (out > 0 && strcmp(v[out - 1].name, v[i].name) == 0) {
			free(v[i].name);
			continue;
		}
		v[out++] = v[i];
	}
	nodes_free(z);
	z->nodes = v;
	z->nnodes = out;
	return 0;
fail:
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return -1;
}

static const struct zone_node *
zone_find(const struct dns_zone *z, const char *name)
{
	size_t lo = 0, hi = z->nnodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, z->nodes[mid].name);

		if (c == 0)
			return &z->nodes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * RFC 4592 §3.3.1: a name that does not exist is answered from the
 * wildcard "*.<closest encloser>", the closest encloser being its nearest
 * existing ancestor; a wildcard anywhere else does not apply.
 */
static const struct zone_node *
zone_find_wildcard(const struct dns_zone *z, const char *name)
{
	char wild[DNS_NAME_MAX + 1];
	const char *p = name, *dot;
	int n;

	while ((dot = strchr(p, '.')) != NULL) {
		p = dot + 1;
		if (zone_find(z, p) == NULL)
			continue;
		n = snprintf(wild, sizeof(wild), "*.%s", p);
		if (n < 0 || (size_t)n >= sizeof(wild))
			return NULL;
		return zone_find(z, wild);
	}
	return NULL;
}

static const ldns_rr *
node_rr(const struct dns_zone *z, const struct zone_node *node, uint16_t type)
{
	size_t i;

	for (i = node->first; i < node->first + node->n; i++)
		if (z->rrs.v[i].type == type)
			return z->rrs.v[i].rr;
	return NULL;
}

/* ---- loading ---- */

static int
rr_list_push(struct rr_list *l, char *owner, ldns_rr *rr)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct zone_rr *nv = reallocarray(l->v, ncap, sizeof(*nv));

		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n].owner = owner;
	l->v[l->n].type = (uint16_t)ldns_rr_get_type(rr);
	l->v[l->n].rr = rr;
	l->n++;
	return 0;
}

static int
soa_add(struct dns_zone *z, const char *owner, const ldns_rr *rr)
{
	const ldns_rdf *min = ldns_rr_rdf(rr, 6);
	uint32_t neg = ldns_rr_ttl(rr);
	struct zone_soa *nv;

	if (min != NULL && ldns_rdf_size(min) == 4 && ldns_rdf2native_int32(min) < neg)
		neg = ldns_rdf2native_int32(min);
	nv = reallocarray(z->soas, z->nsoas + 1, sizeof(*nv));
	if (nv == NULL)
		return -1;
	z->soas = nv;
	nv[z->nsoas].apex = strdup(owner);
	if (nv[z->nsoas].apex == NULL)
		return -1;
	nv[z->nsoas].neg_ttl = neg;
	z->nsoas++;
	return 0;
}

/* Takes rr.  Records of other classes, and owners that no question could
 * name (the root, escaped octets), are dropped. */
static int
zone_take_rr(struct dns_zone *z, struct rr_list *l, ldns_rr *rr)
{
	char name[DNS_NAME_MAX + 1];
	char *owner;

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
	    dns_wire_name(ldns_rr_owner(rr), name) < 0 || name[0] == '\0' ||
	    strchr(name, '\\') != NULL) {
		ldns_rr_free(rr);
		return 0;
	}
	owner = strdup(name);
	if (owner == NULL || rr_list_push(l, owner, rr) < 0) {
		free(owner);
		ldns_rr_free(rr);
		return -1;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
		return soa_add(z, owner, rr);
	return 0;
}

static int
zone_read(struct dns_zone *z, FILE *fp, const char *what, ldns_rdf **origin, struct rr_list *l,
          struct auth_error *err)
{
	uint32_t ttl = ZONE_DEFAULT_TTL;
	ldns_rdf *prev = NULL;
	ldns_status s;
	ldns_rr *rr;
	int line = 1, start, rc = 0;

	/* ldns counts lines as it consumes them, so after a failure it may be
	 * past the bad line: report where the record began. */
	while (rc == 0 && !feof(fp)) {
		rr = NULL;
		start = line;
		s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, origin, &prev, &line);
		if (s == LDNS_STATUS_OK) {
			if (zone_take_rr(z, l, rr) < 0)
				rc = auth_error_set(err, AUTH_ENOMEM, "out of memory");
		} else if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			rc = auth_error_set(err, AUTH_ESYNTAX, "%s:%d: $INCLUDE is not supported",
			                    what, start);
		} else if (s != LDNS_STATUS_SYNTAX_EMPTY && s != LDNS_STATUS_SYNTAX_TTL &&
		           s != LDNS_STATUS_SYNTAX_ORIGIN) {
			rc = auth_error_set(err, AUTH_ESYNTAX, "%s:%d: %s", what, start,
			                    ldns_get_errorstr_by_id(s));
		}
	}
	if (rc == 0 && ferror(fp))
		rc = auth_error_set(err, AUTH_EIO, "%s: read error", what);
	ldns_rdf_deep_free(prev);
	return rc;
}

static int
rr_list_reserve(struct rr_list *l, size_t more)
{
	struct zone_rr *nv;

	if (l->cap - l->n >= more)
		return 0;
	if (more > SIZE_MAX / sizeof(*nv) - l->n)
		return -1;
	nv = reallocarray(l->v, l->n + more, sizeof(*nv));
	if (nv == NULL)
		return -1;
	l->v = nv;
	l->cap = l->n + more;
	return 0;
}

/* Reads a whole file; its records join the zone only if all of it parses. */
static int
zone_load_fp(struct dns_zone *z, FILE *fp, const char *what, const char *origin,
             struct auth_error *err)
{
	struct rr_list l = {0};
	ldns_rdf *org = ldns_dname_new_frm_str(origin != NULL ? origin : ".");
	size_t nsoas = z->nsoas;
	int rc;

	if (org == NULL)
		return auth_error_set(err, AUTH_EINVAL, "%s: bad origin", what);
	rc = zone_read(z, fp, what, &org, &l, err);
	ldns_rdf_deep_free(org);
	if (rc == 0 && rr_list_reserve(&z->rrs, l.n) < 0)
		rc = auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if (rc != 0) {
		rr_list_free(&l);
		while (z->nsoas > nsoas)
			free(z->soas[--z->nsoas].apex);
		return rc;
	}
	if (l.n > 0)
		memcpy(z->rrs.v + z->rrs.n, l.v, l.n * sizeof(*l.v));
	z->rrs.n += l.n;
	free(l.v);
	if (zone_index(z) < 0)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	return 0;
}

int
dns_zone_load_file(struct dns_resolver *r, const char *path, const char *origin,
                   struct auth_error *err)
{
	struct stat st;
	FILE *fp = fopen(path, "r");
	int rc;

	if (fp == NULL)
		return auth_error_set(err, AUTH_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return auth_error_set(err, AUTH_EIO, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > DNS_ZONE_MAX_BYTES) {
		fclose(fp);
		return auth_error_set(err, AUTH_ELIMIT, "%s: larger than %u bytes", path,
		                      DNS_ZONE_MAX_BYTES);
	}
	rc = zone_load_fp((struct dns_zone *)r, fp, path, origin, err);
	fclose(fp);
	return rc;
}

int
dns_zone_load_string(struct dns_resolver *r, const char *text, const char *origin,
                     struct auth_error *err)
{
	size_t len = strlen(text);
	FILE *fp;
	int rc;

	if (len > DNS_ZONE_MAX_BYTES)
		return auth_error_set(err, AUTH_ELIMIT, "zone text larger than %u bytes",
		                      DNS_ZONE_MAX_BYTES);
	if (len == 0)
		return 0;
	fp = fmemopen((void *)(uintptr_t)text, len, "r");
	if (fp == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	rc = zone_load_fp((struct dns_zone *)r, fp, "(string)", origin, err);
	fclose(fp);
	return rc;
}

int
dns_zone_add_fail(struct dns_resolver *r, const char *spec, struct auth_error *err)
{
	struct dns_zone *z = (struct dns_zone *)r;
	char name[DNS_NAME_MAX + 2], norm[DNS_NAME_MAX + 1];
	const char *slash = strchr(spec, '/');
	size_t len = slash != NULL ? (size_t)(slash - spec) : strlen(spec);
	struct zone_fail *nv;
	int type = -1;

	if (len >= sizeof(name))
		return auth_error_set(err, AUTH_EINVAL, "%s: name too long", spec);
	memcpy(name, spec, len);
	name[len] = '\0';
	if (dns_name_normalize(name, norm) < 0)
		return auth_error_set(err, AUTH_EINVAL, "%s: not a domain name", spec);
	if (slash != NULL) {
		type = (int)ldns_get_rr_type_by_name(slash + 1);
		if (type == 0)
			return auth_error_set(err, AUTH_EINVAL, "%s: unknown type", spec);
	}
	nv = reallocarray(z->fails, z->nfails + 1, sizeof(*nv));
	if (nv == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	z->fails = nv;
	nv[z->nfails].name = strdup(norm);
	if (nv[z->nfails].name == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	nv[z->nfails].type = type;
	z->nfails++;
	return 0;
}

/* ---- answering ---- */

static int
zone_fails(const struct dns_zone *z, const char *name, enum dns_type type)
{
	size_t i;

	for (i = 0; i < z->nfails; i++)
		if ((z->fails[i].type < 0 || z->fails[i].type == (int)type) &&
		    strcmp(z->fails[i].name, name) == 0)
			return 1;
	return 0;
}

/* Where following the question through the data ended. */
struct zone_walk {
	char name[DNS_NAME_MAX + 1];
	const struct zone_node *node; /* NULL: the name does not exist */
	enum dns_status status;
	const char *reason; /* for DNS_TEMPFAIL */
	unsigned links;
	uint32_t cname_ttl;
};

/* Moves w to the target of the CNAME cn; 0, or -1 with w set to fail. */
static int
walk_cname(struct zone_walk *w, const ldns_rr *cn, char seen[][DNS_NAME_MAX + 1])
{
	unsigned i;

	if (w->links == DNS_CNAME_CHAIN_MAX) {
		w->status = DNS_TEMPFAIL;
		w->reason = "CNAME chain too long";
		return -1;
	}
	memcpy(seen[w->links++], w->name, sizeof(w->name));
	if (ldns_rr_ttl(cn) < w->cname_ttl)
		w->cname_ttl = ldns_rr_ttl(cn);
	if (dns_wire_name(ldns_rr_rdf(cn, 0), w->name) < 0)
		w->name[0] = '\0';
	for (i = 0; i < w->links; i++) {
		if (strcmp(seen[i], w->name) == 0) {
			w->status = DNS_TEMPFAIL;
			w->reason = "CNAME loop";
			return -1;
		}
	}
	return 0;
}

static void
zone_walk(const struct dns_zone *z, const char *name, enum dns_type type, struct zone_walk *w)
{
	char seen[DNS_CNAME_CHAIN_MAX][DNS_NAME_MAX + 1];
	const ldns_rr *cn;

	memcpy(w->name, name, strlen(name) + 1);
	w->links = 0;
	w->cname_ttl = UINT32_MAX;
	for (;;) {
		if (zone_fails(z, w->name, type)) {
			w->status = DNS_TEMPFAIL;
			w->reason = "timeout";
			return;
		}
		w->node = zone_find(z, w->name);
		if (w->node == NULL)
			w->node = zone_find_wildcard(z, w->name);
		if (w->node == NULL) {
			w->status = DNS_NXDOMAIN;
			return;
		}
		w->status = DNS_RECORDS;
		if (node_rr(z, w->node, (uint16_t)type) != NULL)
			return;
		w->status = DNS_NODATA;
		cn = type != DNS_T_CNAME ? node_rr(z, w->node, LDNS_RR_TYPE_CNAME) : NULL;
		if (cn == NULL || walk_cname(w, cn, seen) < 0)
			return;
	}
}

static int
zone_query(struct dns_resolver *r, const char *name, enum dns_type type,
           const struct dns_answer **out, struct auth_error *err)
{
	struct dns_zone *z = (struct dns_zone *)r;
	struct dns_answer_builder *b;
	struct zone_walk w;
	size_t i;

	atomic_fetch_add(&z->queries, 1);
	zone_walk(z, name, type, &w);
	if (w.status == DNS_TEMPFAIL) {
		*out = dns_answer_empty(DNS_TEMPFAIL, w.name, 0, w.reason);
		return *out != NULL ? 0 : auth_error_set(err, AUTH_ENOMEM, "out of memory");
	}
	b = dns_builder_new(w.status, w.name);
	if (b == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if (w.links > 0)
		dns_builder_set_ttl(b, w.cname_ttl);
	if (w.status != DNS_RECORDS)
		dns_builder_set_ttl(b, zone_neg_ttl(z, w.name));
	for (i = 0; w.status == DNS_RECORDS && i < w.node->n; i++) {
		const struct zone_rr *zr = &z->rrs.v[w.node->first + i];

		if (zr->type == (uint16_t)type &&
		    dns_wire_add_rr(b, zr->rr, ldns_rr_ttl(zr->rr)) < 0)
			break;
	}
	*out = dns_builder_finish(b);
	return *out != NULL ? 0 : auth_error_set(err, AUTH_ENOMEM, "out of memory");
}
