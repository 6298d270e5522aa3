/*
 * dns_wire - see dns_wire.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"

/* Appends one label octet; returns -1 when out has no room left. */
static int
name_put(char *out, size_t *n, unsigned char c)
{
	if (c == '.' || c == '\\' || c <= 0x20 || c == 0x7f) {
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
