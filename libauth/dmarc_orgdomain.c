/*
 * dmarc_orgdomain - finding DMARC records and Organizational Domains: the
 * RFC 9989 DNS Tree Walk, and the RFC 7489 Public Suffix List.
 *
 * The Public Suffix List is read with libpsl rather than libopendmarc's
 * opendmarc_tld_read_file()/opendmarc_get_tld(): libopendmarc keeps the
 * list in one process-wide table, so every user in the process shares one
 * list and its reloads, while a libpsl context belongs to its dmarc_ctx, is
 * read-only once loaded and safe to share between threads.  libpsl also
 * applies the list's wildcard and exception rules and (built with
 * libidn2, as Debian's is) matches the list's UTF-8 entries
 * against the A-label domains we hold.  The whole list is used, ICANN and
 * private sections alike: RFC 7489 §3.2 draws no line between them, and a
 * private entry such as github.io or blogspot.com marks exactly the kind of
 * registry whose subdomains belong to unrelated owners (OpenDMARC and
 * Mail::DMARC read it the same way).
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "dmarc_int.h"

static unsigned
count_labels(const char *d)
{
	unsigned n = 1;

	for (; *d != '\0'; d++)
		if (*d == '.')
			n++;
	return n;
}

/* The last n labels of d. */
static const char *
last_labels(const char *d, unsigned n)
{
	unsigned total = count_labels(d);

	while (total > n) {
		d = strchr(d, '.') + 1;
		total--;
	}
	return d;
}

void
dmarc_copy_name(char out[DNS_NAME_MAX + 1], const char *d)
{
	size_t n = strlen(d);

	if (n > DNS_NAME_MAX)
		n = DNS_NAME_MAX;
	memcpy(out, d, n);
	out[n] = '\0';
}

/* "_dmarc." domain into name; -1 when no such name can exist. */
static int
record_name(const char *domain, char name[DNS_NAME_MAX + 16])
{
	int n = snprintf(name, DNS_NAME_MAX + 16, "_dmarc.%s", domain);

	return n < 0 || (size_t)n > DNS_NAME_MAX ? -1 : 0;
}

void
dmarc_prefetch_record(struct dmarc_ctx *c, const char *domain)
{
	char name[DNS_NAME_MAX + 16];

	if (record_name(domain, name) == 0)
		dns_prefetch(c->resolver, name, DNS_T_TXT);
}

enum dmarc_fetch
dmarc_fetch_record(struct dmarc_ctx *c, const char *domain, struct dmarc_record *rec)
{
	char name[DNS_NAME_MAX + 16];
	const struct dns_answer *a;
	struct dmarc_record tmp;
	enum dmarc_fetch res = DMARC_FETCH_NONE;
	size_t i;

	if (record_name(domain, name) < 0)
		return DMARC_FETCH_NONE; /* no such name can exist in the DNS */
	if (dns_query(c->resolver, name, DNS_T_TXT, &a, NULL) < 0)
		return DMARC_FETCH_TEMPFAIL;
	if (a->status == DNS_TEMPFAIL)
		res = DMARC_FETCH_TEMPFAIL;
	for (i = 0; a->status == DNS_RECORDS && i < a->count; i++) {
		const struct dns_rr *rr = &a->rrs[i];
		if (rr->type != DNS_T_TXT ||
		    !dmarc_record_parse((const char *)rr->u.txt.joined, rr->u.txt.joined_len, &tmp))
			continue;
		if (res == DMARC_FETCH_ONE) {
			res = DMARC_FETCH_MULTIPLE;
			break;
		}
		*rec = tmp;
		res = DMARC_FETCH_ONE;
	}
	dns_answer_release(a);
	return res;
}

/* Whether the walk stops at this level (RFC 9989 §4.10 steps 2 and 7):
 * on psd=n anywhere, on psd=y above the starting domain. */
static int
walk_stops(const struct dmarc_walk_level *lv, size_t index)
{
	if (lv->fetch != DMARC_FETCH_ONE)
		return 0;
	return lv->psd == DMARC_PSD_N || (lv->psd == DMARC_PSD_Y && index > 0);
}

/* The next name a walk asks after target (of labels labels), or NULL
 * when target was the last. */
static const char *
walk_next(const char *target, unsigned labels)
{
	if (labels <= 1)
		return NULL;
	return last_labels(target,
	                   labels >= DMARC_TREE_WALK_MAX ? DMARC_TREE_WALK_MAX - 1 : labels - 1);
}

void
dmarc_prefetch(struct dmarc_ctx *c, const char *domain)
{
	char name[DNS_NAME_MAX + 1], org[DNS_NAME_MAX + 1];
	const char *target = name;
	unsigned n;

	if (dns_name_normalize(domain, name) < 0)
		return;
	if (c->opts.mode == DMARC_MODE_RFC7489) {
		dmarc_psl_org_domain(c, name, org);
		dmarc_prefetch_record(c, name);
		dmarc_prefetch_record(c, org);
		return;
	}
	for (n = 0; target != NULL && n < DMARC_TREE_WALK_MAX; n++) {
		dmarc_prefetch_record(c, target);
		target = walk_next(target, count_labels(target));
	}
}

/*
 * RFC 9989 §4.10: query the domain itself; then, for a name of 8 or more
 * labels, jump to its last 7 labels; then drop one label at a time down to
 * the single-label name.  That is at most DMARC_TREE_WALK_MAX queries.
 */
void
dmarc_tree_walk(struct dmarc_ctx *c, const char *domain, struct dmarc_walk *w)
{
	const char *target = domain;
	struct dmarc_record rec;

	dmarc_copy_name(w->start, domain);
	w->nlevels = 0;
	w->tempfail = false;
	w->policy_level = -1;
	while (w->nlevels < DMARC_TREE_WALK_MAX) {
		struct dmarc_walk_level *lv = &w->level[w->nlevels];

		dmarc_copy_name(lv->domain, target);
		lv->labels = count_labels(target);
		lv->fetch = dmarc_fetch_record(c, target, &rec);
		lv->psd = lv->fetch == DMARC_FETCH_ONE ? rec.psd : DMARC_PSD_U;
		w->nlevels++;
		if (lv->fetch == DMARC_FETCH_TEMPFAIL) {
			w->tempfail = true;
			return;
		}
		if (lv->fetch == DMARC_FETCH_ONE && w->policy_level < 0) {
			w->policy_level = (int)(w->nlevels - 1);
			w->policy = rec;
		}
		if (walk_stops(lv, w->nlevels - 1) ||
		    (target = walk_next(target, lv->labels)) == NULL)
			return;
	}
}

/*
 * RFC 9989 §4.10.2 (Identifier Alignment Evaluation), from the longest name to the shortest:
 * a record with psd=n makes its domain the Organizational Domain; one with psd=y (other than at the
 * starting domain) makes the name one label below it on the way to the starting domain the
 * Organizational Domain; otherwise it is the domain with the fewest labels that has a record; with
 * no record at all, the starting domain itself.
 */
int
dmarc_walk_org_domain(const struct dmarc_walk *w, char out[DNS_NAME_MAX + 1])
{
	const struct dmarc_walk_level *fewest = NULL;
	size_t i;

	for (i = 0; i < w->nlevels; i++) {
		const struct dmarc_walk_level *lv = &w->level[i];
		if (lv->fetch != DMARC_FETCH_ONE)
			continue;
		if (lv->psd == DMARC_PSD_N) {
			dmarc_copy_name(out, lv->domain);
			return 0;
		}
		if (lv->psd == DMARC_PSD_Y && i > 0) {
			dmarc_copy_name(out, last_labels(w->start, lv->labels + 1));
			return 0;
		}
		fewest = lv;
	}
	if (w->tempfail) {
		out[0] = '\0';
		return -1;
	}
	dmarc_copy_name(out, fewest != NULL ? fewest->domain : w->start);
	return 0;
}

void
dmarc_psl_org_domain(const struct dmarc_ctx *c, const char *domain, char out[DNS_NAME_MAX + 1])
{
	const char *reg = c->psl != NULL ? psl_registrable_domain(c->psl, domain) : NULL;

	/* A public suffix itself (or a name the list cannot place) has no
	 * registrable part; it stands as its own Organizational Domain. */
	dmarc_copy_name(out, reg != NULL ? reg : domain);
}

int
dmarc_org_domain(struct dmarc_ctx *c, const char *domain, char out[DNS_NAME_MAX + 1])
{
	struct dmarc_walk w;

	if (c->opts.mode == DMARC_MODE_RFC7489) {
		dmarc_psl_org_domain(c, domain, out);
		return 0;
	}
	dmarc_tree_walk(c, domain, &w);
	return dmarc_walk_org_domain(&w, out);
}

/*
 * RFC 9989 (Terminology, "Non-existent Domains") defines a non-existent
 * domain as RFC 8020 does: the answer is NXDOMAIN.  We ask for A, AAAA and MX, as RFC 9091 §2.3 and
 * common practice do, and call the domain non-existent only when all three
 * say NXDOMAIN; any record, NODATA or temporary failure means we cannot
 * say it does not exist, so np= is not applied on a guess.
 */
int
dmarc_domain_nonexistent(struct dmarc_ctx *c, const char *domain)
{
	static const enum dns_type types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct dns_answer *a;
		enum dns_status st;

		if (dns_query(c->resolver, domain, types[i], &a, NULL) < 0)
			return 0;
		st = a->status;
		dns_answer_release(a);
		if (st != DNS_NXDOMAIN)
			return 0;
	}
	return 1;
}
