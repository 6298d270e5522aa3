/*
 * dns_wire - see dns_wire.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"

/* Appends one label octet; returns -1 when out has no room left. */
static int
name_put(char *out, size_t *n, unsigned char c)
{
	if (c == '.' || c == '\\' || c < 0x20 || c == 0x7f) {
		if (*n + 4 > DNS_NAME_MAX)
			return -1;
		(void)snprintf(out + *n, 5, "\\%03u", c);
		*n += 4;
		return 0;
	}
	if (*n + 1 > DNS_NAME_MAX)
		return -1;
	out[(*n)++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	return 0;
}

int
dns_wire_name(const ldns_rdf *dname, char out[DNS_NAME_MAX + 1])
{
	const uint8_t *p;
	size_t size, pos = 0, n = 0, i;

	if (dname == NULL || ldns_rdf_get_type(dname) != LDNS_RDF_TYPE_DNAME)
		return -1;
	p = ldns_rdf_data(dname);
	size = ldns_rdf_size(dname);
	while (pos < size && p[pos] != 0) {
		size_t len = p[pos];

		if (len > 63 || pos + 1 + len > size)
			return -1;
		if (n > 0) {
			if (n + 1 > DNS_NAME_MAX)
				return -1;
			out[n++] = '.';
		}
		for (i = 0; i < len; i++)
			if (name_put(out, &n, p[pos + 1 + i]) < 0)
				return -1;
		pos += 1 + len;
	}
	out[n] = '\0';
	return 0;
}

/* Reads the character-strings of a TXT rdata (RFC 1035 §3.3.14) from all
 * of rr's rdfs; ldns stores each string as a length octet and its bytes,
 * or the whole rdata as one block when it was given as \# hex. */
static int
txt_collect(const ldns_rr *rr, uint8_t **wire, size_t *len)
{
	size_t i, total = 0;
	uint8_t *w;

	for (i = 0; i < ldns_rr_rd_count(rr); i++)
		total += ldns_rdf_size(ldns_rr_rdf(rr, i));
	w = malloc(total ? total : 1);
	if (w == NULL)
		return -1;
	total = 0;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rr, i);

		memcpy(w + total, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
		total += ldns_rdf_size(rdf);
	}
	*wire = w;
	*len = total;
	return 0;
}

static int
txt_split(const uint8_t *w, size_t len, struct dns_txt_string **out, size_t *n)
{
	size_t pos = 0, count = 0;
	struct dns_txt_string *s;

	while (pos < len) {
		pos += 1 + (size_t)w[pos];
		count++;
	}
	if (pos != len || count == 0)
		return 1;
	s = calloc(count, sizeof(*s));
	if (s == NULL)
		return -1;
	for (pos = 0, count = 0; pos < len; count++) {
		s[count].len = w[pos];
		s[count].data = w + pos + 1;
		pos += 1 + (size_t)w[pos];
	}
	*out = s;
	*n = count;
	return 0;
}

static int
add_txt(struct dns_answer_builder *b, const ldns_rr *rr, uint32_t ttl, int spf)
{
	struct dns_txt_string *strs = NULL;
	uint8_t *w;
	size_t len, n = 0;
	int rc;

	if (txt_collect(rr, &w, &len) < 0)
		return -1;
	rc = txt_split(w, len, &strs, &n);
	if (rc == 0)
		rc = spf ? dns_builder_add_spf(b, ttl, n, strs)
		         : dns_builder_add_txt(b, ttl, n, strs);
	free(strs);
	free(w);
	return rc;
}

static const ldns_rdf *
rdf_of(const ldns_rr *rr, size_t i, ldns_rdf_type type, size_t size)
{
	const ldns_rdf *rdf = i < ldns_rr_rd_count(rr) ? ldns_rr_rdf(rr, i) : NULL;

	if (rdf == NULL || ldns_rdf_get_type(rdf) != type)
		return NULL;
	if (size != 0 && ldns_rdf_size(rdf) != size)
		return NULL;
	return rdf;
}

static int
add_named(struct dns_answer_builder *b, const ldns_rr *rr, uint32_t ttl)
{
	char name[DNS_NAME_MAX + 1];
	const ldns_rdf *pref = NULL, *target;
	ldns_rr_type type = ldns_rr_get_type(rr);

	if (type == LDNS_RR_TYPE_MX) {
		pref = rdf_of(rr, 0, LDNS_RDF_TYPE_INT16, 2);
		target = rdf_of(rr, 1, LDNS_RDF_TYPE_DNAME, 0);
		if (pref == NULL)
			return 1;
	} else {
		target = rdf_of(rr, 0, LDNS_RDF_TYPE_DNAME, 0);
	}
	if (target == NULL || dns_wire_name(target, name) < 0)
		return 1;
	if (type == LDNS_RR_TYPE_MX)
		return dns_builder_add_mx(b, ttl, ldns_rdf2native_int16(pref), name);
	if (type == LDNS_RR_TYPE_PTR)
		return dns_builder_add_ptr(b, ttl, name);
	return dns_builder_add_cname(b, ttl, name);
}

int
dns_wire_add_rr(struct dns_answer_builder *b, const ldns_rr *rr, uint32_t ttl)
{
	const ldns_rdf *rdf;
	struct in_addr a;
	struct in6_addr aaaa;

	switch (ldns_rr_get_type(rr)) {
	case LDNS_RR_TYPE_A:
		rdf = rdf_of(rr, 0, LDNS_RDF_TYPE_A, sizeof(a));
		if (rdf == NULL)
			return 1;
		memcpy(&a, ldns_rdf_data(rdf), sizeof(a));
		return dns_builder_add_a(b, ttl, &a);
	case LDNS_RR_TYPE_AAAA:
		rdf = rdf_of(rr, 0, LDNS_RDF_TYPE_AAAA, sizeof(aaaa));
		if (rdf == NULL)
			return 1;
		memcpy(&aaaa, ldns_rdf_data(rdf), sizeof(aaaa));
		return dns_builder_add_aaaa(b, ttl, &aaaa);
	case LDNS_RR_TYPE_MX:
	case LDNS_RR_TYPE_PTR:
	case LDNS_RR_TYPE_CNAME:
		return add_named(b, rr, ttl);
	case LDNS_RR_TYPE_TXT:
		return add_txt(b, rr, ttl, 0);
	case LDNS_RR_TYPE_SPF:
		return add_txt(b, rr, ttl, 1);
	default:
		return 1;
	}
}

/* ---- replies ---- */

void
dns_wire_chain_init(struct dns_wire_chain *c, const char *qname)
{
	(void)snprintf(c->name, sizeof(c->name), "%s", qname);
	c->links = 0;
	c->ttl = UINT32_MAX;
}

static int
rr_owned_by(const ldns_rr *rr, const char *name)
{
	char owner[DNS_NAME_MAX + 1];

	return ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
	       dns_wire_name(ldns_rr_owner(rr), owner) == 0 && strcmp(owner, name) == 0;
}

static const ldns_rr *
section_find(const ldns_rr_list *list, const char *name, ldns_rr_type type)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) == type && rr_owned_by(rr, name))
			return rr;
	}
	return NULL;
}

/* The question must be the one asked: one entry, same name, type, class. */
static int
reply_matches(const ldns_pkt *pkt, enum dns_type qtype, const char *name)
{
	const ldns_rr_list *q = ldns_pkt_question(pkt);

	return ldns_pkt_qr(pkt) && ldns_pkt_get_opcode(pkt) == LDNS_PACKET_QUERY &&
	       ldns_rr_list_rr_count(q) == 1 &&
	       ldns_rr_get_type(ldns_rr_list_rr(q, 0)) == (ldns_rr_type)qtype &&
	       rr_owned_by(ldns_rr_list_rr(q, 0), name);
}

/* Records of another class in the answer to an IN question answer some
 * other question (RFC 1035 §4.1.3); skipping them as if absent would read
 * a broken reply as a denial, NODATA, where no answer came. */
static int
answer_class_ok(const ldns_pkt *pkt)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(an); i++)
		if (ldns_rr_get_class(ldns_rr_list_rr(an, i)) != LDNS_RR_CLASS_IN)
			return 0;
	return 1;
}

static const ldns_rr *
reply_soa(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(auth); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(auth, i)) == LDNS_RR_TYPE_SOA)
			return ldns_rr_list_rr(auth, i);
	return NULL;
}

/* RFC 2308 §5: the negative TTL is the SOA's MINIMUM capped by its own
 * TTL; a negative reply without an SOA is not to be cached. */
static uint32_t
reply_neg_ttl(const ldns_pkt *pkt)
{
	const ldns_rr *soa = reply_soa(pkt);
	const ldns_rdf *min;
	uint32_t ttl;

	if (soa == NULL)
		return 0;
	min = ldns_rr_rdf(soa, 6);
	ttl = ldns_rr_ttl(soa);
	if (min != NULL && ldns_rdf_size(min) == 4 && ldns_rdf2native_int32(min) < ttl)
		ttl = ldns_rdf2native_int32(min);
	return ttl;
}

static int
answer_fail(const char *name, const char *reason, const struct dns_answer **out,
            struct auth_error *err)
{
	*out = dns_answer_empty(DNS_TEMPFAIL, name, 0, reason);
	return *out != NULL ? 0 : auth_error_set(err, AUTH_ENOMEM, "out of memory");
}

/* Builds the answer from the records of type qtype owned by c->name. */
static int
answer_records(const ldns_pkt *pkt, enum dns_type qtype, const struct dns_wire_chain *c,
               const struct dns_answer **out, struct auth_error *err)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	struct dns_answer_builder *b = dns_builder_new(DNS_RECORDS, c->name);
	size_t i;
	int rc = 0;

	if (b == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if (c->links > 0)
		dns_builder_set_ttl(b, c->ttl);
	for (i = 0; rc == 0 && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) == (ldns_rr_type)qtype && rr_owned_by(rr, c->name))
			rc = dns_wire_add_rr(b, rr, ldns_rr_ttl(rr));
	}
	if (rc != 0) {
		dns_builder_abort(b);
		if (rc < 0)
			return auth_error_set(err, AUTH_ENOMEM, "out of memory");
		return answer_fail(c->name, "malformed reply", out, err);
	}
	*out = dns_builder_finish(b);
	return *out != NULL ? 0 : auth_error_set(err, AUTH_ENOMEM, "out of memory");
}

static int
answer_negative(const ldns_pkt *pkt, enum dns_status status, const struct dns_wire_chain *c,
                const struct dns_answer **out, struct auth_error *err)
{
	struct dns_answer_builder *b = dns_builder_new(status, c->name);

	if (b == NULL)
		return auth_error_set(err, AUTH_ENOMEM, "out of memory");
	if (c->links > 0)
		dns_builder_set_ttl(b, c->ttl);
	dns_builder_set_ttl(b, reply_neg_ttl(pkt));
	*out = dns_builder_finish(b);
	return *out != NULL ? 0 : auth_error_set(err, AUTH_ENOMEM, "out of memory");
}

/* Follows the CNAME at c->name, if any; 1 when followed, 0 when there is
 * none, -1 when the chain is too long or broken. */
static int
chain_step(const ldns_pkt *pkt, struct dns_wire_chain *c)
{
	const ldns_rr *cn = section_find(ldns_pkt_answer(pkt), c->name, LDNS_RR_TYPE_CNAME);
	char target[DNS_NAME_MAX + 1];

	if (cn == NULL)
		return 0;
	if (c->links == DNS_CNAME_CHAIN_MAX || ldns_rr_rd_count(cn) != 1 ||
	    dns_wire_name(ldns_rr_rdf(cn, 0), target) < 0 || target[0] == '\0')
		return -1;
	c->links++;
	if (ldns_rr_ttl(cn) < c->ttl)
		c->ttl = ldns_rr_ttl(cn);
	memcpy(c->name, target, sizeof(target));
	return 1;
}

static const char *
rcode_reason(ldns_pkt_rcode rcode)
{
	const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);

	return t != NULL ? t->name : "unknown RCODE";
}

int
dns_wire_reply(const ldns_pkt *pkt, enum dns_type qtype, struct dns_wire_chain *c,
               const struct dns_answer **out, struct auth_error *err)
{
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	unsigned links_before = c->links;
	int step;

	*out = NULL;
	if (!reply_matches(pkt, qtype, c->name) || !answer_class_ok(pkt))
		return answer_fail(c->name, "malformed reply", out, err);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		return answer_fail(c->name, rcode_reason(rcode), out, err);
	for (;;) {
		if (section_find(ldns_pkt_answer(pkt), c->name, (ldns_rr_type)qtype) != NULL)
			return answer_records(pkt, qtype, c, out, err);
		step = qtype == DNS_T_CNAME ? 0 : chain_step(pkt, c);
		if (step < 0)
			return answer_fail(c->name, "CNAME chain too long", out, err);
		if (step == 0)
			break;
	}
	/* RFC 6604 §2.1: the RCODE speaks of the last name of the chain. */
	if (rcode == LDNS_RCODE_NXDOMAIN)
		return answer_negative(pkt, DNS_NXDOMAIN, c, out, err);
	/* A chain leaving the server's data ends without an SOA denying the
	 * target: ask on. */
	if (c->links > links_before && reply_soa(pkt) == NULL)
		return 1;
	return answer_negative(pkt, DNS_NODATA, c, out, err);
}

int
dns_wire_parse(const uint8_t *wire, size_t len, enum dns_type qtype, struct dns_wire_chain *c,
               const struct dns_answer **out, struct auth_error *err)
{
	ldns_pkt *pkt = NULL;
	int rc;

	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
		*out = NULL;
		return answer_fail(c->name, "malformed reply", out, err);
	}
	rc = dns_wire_reply(pkt, qtype, c, out, err);
	ldns_pkt_free(pkt);
	return rc;
}
