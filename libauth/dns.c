/*
 * dns - see dns.h.
 *
 * An answer lives in one allocation: a header holding the reference count
 * and the public struct, then the record array, then the TXT string
 * descriptors, then every byte the answer points at.  The builder keeps its
 * pieces in separate allocations while records arrive and packs them once
 * in dns_builder_finish(), so the answer handed out never changes and can
 * be shared between threads with only the atomic count to guard.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_wire.h"

struct answer_block {
	atomic_ulong refs;
	struct dns_answer pub;
};

struct dns_answer_builder {
	enum dns_status status;
	char *canonical;
	char *reason;
	uint32_t ttl;
	int ttl_set;
	int failed; /* an add ran out of memory: finish must fail too */
	struct dns_rr *rrs;
	size_t count, cap;
};

int
dns_query(struct dns_resolver *r, const char *name, enum dns_type type,
          const struct dns_answer **out, struct auth_error *err)
{
	char norm[DNS_NAME_MAX + 1];

	*out = NULL;
	if (name == NULL || dns_name_normalize(name, norm) < 0) {
		/* Not a domain: nobody could hold it, so nobody is asked. */
		*out = dns_answer_empty(DNS_NXDOMAIN, "", 0, NULL);
		if (*out == NULL)
			return auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return 0;
	}
	return r->ops->query(r, norm, type, out, err);
}

void
dns_prefetch(struct dns_resolver *r, const char *name, enum dns_type type)
{
	char norm[DNS_NAME_MAX + 1];

	if (r->ops->prefetch != NULL && name != NULL && dns_name_normalize(name, norm) == 0)
		r->ops->prefetch(r, norm, type);
}

const struct dns_answer *
dns_answer_retain(const struct dns_answer *a)
{
	struct answer_block *blk;

	if (a == NULL)
		return NULL;
	blk = (struct answer_block *)((char *)(uintptr_t)a - offsetof(struct answer_block, pub));
	atomic_fetch_add_explicit(&blk->refs, 1, memory_order_relaxed);
	return a;
}

void
dns_answer_release(const struct dns_answer *a)
{
	struct answer_block *blk;

	if (a == NULL)
		return;
	blk = (struct answer_block *)((char *)(uintptr_t)a - offsetof(struct answer_block, pub));
	if (atomic_fetch_sub_explicit(&blk->refs, 1, memory_order_acq_rel) == 1)
		free(blk);
}

void
dns_resolver_free(struct dns_resolver *r)
{
	if (r != NULL)
		r->ops->free(r);
}

const char *
dns_type_name(enum dns_type type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	}
	if ((int)type == DNS_T_SPF)
		return "SPF";
	return "unknown";
}

const char *
dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_RECORDS:
		return "records";
	case DNS_NODATA:
		return "NODATA";
	case DNS_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_TEMPFAIL:
		return "temporary failure";
	}
	return "unknown";
}

/*
 * Presentation-form escapes (\. and \DDD) are not accepted: the engines
 * build names from protocol text, where a backslash is never part of a
 * domain, and a name with control bytes cannot be one a careful receiver
 * asks for.  A space is an octet like any other in a label: SPF macros
 * (RFC 7208 §7.3, "%_") build such names on purpose, and the record's
 * owner asked for exactly that name (the openspf suite's
 * macro-mania-in-domain case); the validity of an identity's domain
 * (§4.3) is SPF's to judge.
 */
int
dns_name_normalize(const char *name, char out[DNS_NAME_MAX + 1])
{
	size_t len = strlen(name), i, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (c < 0x20 || c == 0x7f || c == '\\') {
			return -1;
		} else if (++label > 63) {
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}

/* ---- the builder ---- */

struct dns_answer_builder *
dns_builder_new(enum dns_status status, const char *canonical_name)
{
	struct dns_answer_builder *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->status = status;
	b->canonical = strdup(canonical_name != NULL ? canonical_name : "");
	if (b->canonical == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

static struct dns_rr *
builder_next(struct dns_answer_builder *b, enum dns_type type, uint32_t ttl)
{
	struct dns_rr *rr;

	if (b->failed)
		return NULL;
	if (b->count == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4;
		struct dns_rr *n = reallocarray(b->rrs, ncap, sizeof(*n));

		if (n == NULL) {
			b->failed = 1;
			return NULL;
		}
		b->rrs = n;
		b->cap = ncap;
	}
	rr = &b->rrs[b->count];
	memset(rr, 0, sizeof(*rr));
	rr->type = type;
	rr->ttl = ttl;
	return rr;
}

static int
builder_commit(struct dns_answer_builder *b, int ok)
{
	if (!ok) {
		b->failed = 1;
		return -1;
	}
	b->count++;
	return 0;
}

int
dns_builder_add_a(struct dns_answer_builder *b, uint32_t ttl, const struct in_addr *a)
{
	struct dns_rr *rr = builder_next(b, DNS_T_A, ttl);

	if (rr == NULL)
		return -1;
	rr->u.a = *a;
	return builder_commit(b, 1);
}

int
dns_builder_add_aaaa(struct dns_answer_builder *b, uint32_t ttl, const struct in6_addr *a)
{
	struct dns_rr *rr = builder_next(b, DNS_T_AAAA, ttl);

	if (rr == NULL)
		return -1;
	rr->u.aaaa = *a;
	return builder_commit(b, 1);
}

int
dns_builder_add_mx(struct dns_answer_builder *b, uint32_t ttl, uint16_t pref, const char *exchange)
{
	struct dns_rr *rr = builder_next(b, DNS_T_MX, ttl);

	if (rr == NULL)
		return -1;
	rr->u.mx.preference = pref;
	rr->u.mx.exchange = strdup(exchange);
	return builder_commit(b, rr->u.mx.exchange != NULL);
}

int
dns_builder_add_ptr(struct dns_answer_builder *b, uint32_t ttl, const char *target)
{
	struct dns_rr *rr = builder_next(b, DNS_T_PTR, ttl);

	if (rr == NULL)
		return -1;
	rr->u.ptr = strdup(target);
	return builder_commit(b, rr->u.ptr != NULL);
}

int
dns_builder_add_cname(struct dns_answer_builder *b, uint32_t ttl, const char *target)
{
	if (dns_builder_add_ptr(b, ttl, target) < 0)
		return -1;
	b->rrs[b->count - 1].type = DNS_T_CNAME;
	return 0;
}

/* Copies nstrings strings into one allocation: descriptors, then bytes. */
static struct dns_txt_string *
txt_copy(size_t nstrings, const struct dns_txt_string *strings)
{
	size_t i, total = 0, head = nstrings * sizeof(struct dns_txt_string);
	struct dns_txt_string *copy;
	unsigned char *p;

	if (nstrings > SIZE_MAX / sizeof(struct dns_txt_string))
		return NULL;
	for (i = 0; i < nstrings; i++) {
		if (strings[i].len > SIZE_MAX - total - head - 1)
			return NULL;
		total += strings[i].len;
	}
	copy = malloc(head + total + 1);
	if (copy == NULL)
		return NULL;
	p = (unsigned char *)copy + head;
	for (i = 0; i < nstrings; i++) {
		if (strings[i].len > 0)
			memcpy(p, strings[i].data, strings[i].len);
		copy[i].data = p;
		copy[i].len = strings[i].len;
		p += strings[i].len;
	}
	return copy;
}

static int
builder_add_txt_type(struct dns_answer_builder *b, enum dns_type type, uint32_t ttl,
                     size_t nstrings, const struct dns_txt_string *strings)
{
	struct dns_rr *rr = builder_next(b, type, ttl);
	struct dns_txt_string *copy;

	if (rr == NULL)
		return -1;
	copy = txt_copy(nstrings, strings);
	rr->u.txt.nstrings = nstrings;
	rr->u.txt.strings = copy;
	return builder_commit(b, copy != NULL);
}

int
dns_builder_add_txt(struct dns_answer_builder *b, uint32_t ttl, size_t nstrings,
                    const struct dns_txt_string *strings)
{
	return builder_add_txt_type(b, DNS_T_TXT, ttl, nstrings, strings);
}

int
dns_builder_add_spf(struct dns_answer_builder *b, uint32_t ttl, size_t nstrings,
                    const struct dns_txt_string *strings)
{
	return builder_add_txt_type(b, (enum dns_type)DNS_T_SPF, ttl, nstrings, strings);
}

void
dns_builder_set_ttl(struct dns_answer_builder *b, uint32_t ttl)
{
	if (!b->ttl_set || ttl < b->ttl)
		b->ttl = ttl;
	b->ttl_set = 1;
}

int
dns_builder_set_reason(struct dns_answer_builder *b, const char *reason)
{
	char *copy = strdup(reason);

	if (copy == NULL) {
		b->failed = 1;
		return -1;
	}
	free(b->reason);
	b->reason = copy;
	return 0;
}

static int
rr_is_txt(const struct dns_rr *rr)
{
	return rr->type == DNS_T_TXT || (int)rr->type == DNS_T_SPF;
}

static int
rr_has_name(const struct dns_rr *rr)
{
	return rr->type == DNS_T_MX || rr->type == DNS_T_PTR || rr->type == DNS_T_CNAME;
}

static const char *
rr_name(const struct dns_rr *rr)
{
	return rr->type == DNS_T_MX ? rr->u.mx.exchange : rr->u.ptr;
}

/* Adds n to *total, failing rather than wrapping. */
static int
size_add(size_t *total, size_t n)
{
	if (n > SIZE_MAX - *total)
		return -1;
	*total += n;
	return 0;
}

static size_t
align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

struct layout {
	size_t rrs_off, strs_off, bytes_off, total, nstrings;
};

static int
builder_layout(const struct dns_answer_builder *b, struct layout *l)
{
	size_t bytes = 0, i, j;

	l->nstrings = 0;
	if (size_add(&bytes, strlen(b->canonical) + 1) < 0 ||
	    (b->reason != NULL && size_add(&bytes, strlen(b->reason) + 1) < 0))
		return -1;
	for (i = 0; i < b->count; i++) {
		const struct dns_rr *rr = &b->rrs[i];

		if (rr_has_name(rr) && size_add(&bytes, strlen(rr_name(rr)) + 1) < 0)
			return -1;
		if (!rr_is_txt(rr))
			continue;
		l->nstrings += rr->u.txt.nstrings;
		/* each string once on its own, once joined, and the NUL */
		for (j = 0; j < rr->u.txt.nstrings; j++)
			if (size_add(&bytes, 2 * rr->u.txt.strings[j].len) < 0)
				return -1;
		if (size_add(&bytes, 1) < 0)
			return -1;
	}
	if (b->count > SIZE_MAX / 2 / sizeof(struct dns_rr) ||
	    l->nstrings > SIZE_MAX / 2 / sizeof(struct dns_txt_string))
		return -1;
	l->rrs_off = align_up(sizeof(struct answer_block), alignof(struct dns_rr));
	l->strs_off =
	    align_up(l->rrs_off + b->count * sizeof(struct dns_rr), alignof(struct dns_txt_string));
	l->bytes_off = l->strs_off + l->nstrings * sizeof(struct dns_txt_string);
	l->total = l->bytes_off;
	return size_add(&l->total, bytes);
}

static char *
pack_str(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *start = *p;

	memcpy(start, s, n);
	*p += n;
	return start;
}

static void
pack_txt(struct dns_rr *dst, const struct dns_rr *src, struct dns_txt_string **strs, char **p)
{
	size_t j, n = src->u.txt.nstrings;
	unsigned char *joined;

	for (j = 0; j < n; j++) {
		const struct dns_txt_string *s = &src->u.txt.strings[j];

		if (s->len > 0)
			memcpy(*p, s->data, s->len);
		(*strs)[j].data = (const unsigned char *)*p;
		(*strs)[j].len = s->len;
		*p += s->len;
	}
	joined = (unsigned char *)*p;
	for (j = 0; j < n; j++) {
		if ((*strs)[j].len > 0)
			memcpy(*p, (*strs)[j].data, (*strs)[j].len);
		*p += (*strs)[j].len;
	}
	*(*p)++ = '\0';
	dst->u.txt.strings = *strs;
	dst->u.txt.joined = joined;
	dst->u.txt.joined_len = (size_t)((unsigned char *)*p - joined) - 1;
	*strs += n;
}

static void
pack_rrs(const struct dns_answer_builder *b, struct dns_rr *rrs, struct dns_txt_string *strs,
         char *p)
{
	size_t i;

	for (i = 0; i < b->count; i++) {
		rrs[i] = b->rrs[i];
		if (rrs[i].type == DNS_T_MX)
			rrs[i].u.mx.exchange = pack_str(&p, b->rrs[i].u.mx.exchange);
		else if (rr_has_name(&rrs[i]))
			rrs[i].u.ptr = pack_str(&p, b->rrs[i].u.ptr);
		else if (rr_is_txt(&rrs[i]))
			pack_txt(&rrs[i], &b->rrs[i], &strs, &p);
	}
}

static uint32_t
builder_ttl(const struct dns_answer_builder *b)
{
	uint32_t ttl = b->ttl_set ? b->ttl : UINT32_MAX;
	size_t i;

	if (b->status == DNS_TEMPFAIL)
		return 0;
	if (b->count == 0)
		return b->ttl_set ? b->ttl : 0;
	for (i = 0; i < b->count; i++)
		if (b->rrs[i].ttl < ttl)
			ttl = b->rrs[i].ttl;
	return ttl;
}

const struct dns_answer *
dns_builder_finish(struct dns_answer_builder *b)
{
	struct answer_block *blk = NULL;
	struct layout l;
	char *base, *p;

	if (b == NULL)
		return NULL;
	if (b->failed || builder_layout(b, &l) < 0 || (blk = malloc(l.total)) == NULL) {
		dns_builder_abort(b);
		return NULL;
	}
	base = (char *)blk;
	p = base + l.bytes_off;
	atomic_init(&blk->refs, 1);
	/* "records" with none to give is what a server means by NODATA */
	blk->pub.status = b->status == DNS_RECORDS && b->count == 0 ? DNS_NODATA : b->status;
	blk->pub.ttl = builder_ttl(b);
	blk->pub.count = b->count;
	blk->pub.rrs = (const struct dns_rr *)(base + l.rrs_off);
	blk->pub.canonical_name = pack_str(&p, b->canonical);
	blk->pub.reason = b->reason != NULL ? pack_str(&p, b->reason) : NULL;
	pack_rrs(b, (struct dns_rr *)(base + l.rrs_off),
	         (struct dns_txt_string *)(base + l.strs_off), p);
	dns_builder_abort(b);
	return &blk->pub;
}

void
dns_builder_abort(struct dns_answer_builder *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->count; i++) {
		struct dns_rr *rr = &b->rrs[i];

		if (rr_has_name(rr))
			free((char *)(uintptr_t)rr_name(rr));
		else if (rr_is_txt(rr))
			free((void *)(uintptr_t)rr->u.txt.strings);
	}
	free(b->rrs);
	free(b->canonical);
	free(b->reason);
	free(b);
}

const struct dns_answer *
dns_answer_empty(enum dns_status status, const char *name, uint32_t ttl, const char *reason)
{
	struct dns_answer_builder *b = dns_builder_new(status, name);

	if (b == NULL)
		return NULL;
	dns_builder_set_ttl(b, ttl);
	if (reason != NULL)
		(void)dns_builder_set_reason(b, reason);
	return dns_builder_finish(b);
}
