/*
 * fuzz-spf - SPF record parsing, macro expansion and whole check_host()
 * evaluations on hostile input.
 *
 * The input is cut at the first newline: the first part is parsed as a
 * record, expanded as a domain-spec and as explanation text, and published
 * as the TXT record of every name in an in-memory resolver; the second part
 * is the other TXT record some names hold.  Which names have addresses, MX
 * or PTR records, or time out, follows from a hash of the name, so include
 * and redirect chains, loops and every DNS outcome are reachable.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spf.h"
#include "spf_macro.h"
#include "spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fres {
	struct dns_resolver base;
	const uint8_t *rec, *alt;
	size_t rec_len, alt_len;
};

static unsigned
name_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int
fres_txt(struct fres *f, struct dns_answer_builder *b, unsigned h)
{
	struct dns_txt_string s[2] = {{f->rec, f->rec_len}, {f->alt, f->alt_len}};

	if (dns_builder_add_txt(b, 60, h % 3 == 2 ? 2 : 1, s + (h % 3 == 1)) < 0)
		return -1;
	return h % 5 == 0 ? dns_builder_add_txt(b, 60, 1, s + 1) : 0;
}

static int
fres_fill(struct fres *f, struct dns_answer_builder *b, const char *name, enum dns_type type,
          unsigned h)
{
	struct in_addr a4;
	struct in6_addr a6;
	char mx[32];
	int rc = 0;

	switch (type) {
	case DNS_T_TXT:
		return strcmp(name, "fuzz.example") == 0
		           ? dns_builder_add_txt(b, 60, 1,
		                                 &(struct dns_txt_string){f->rec, f->rec_len})
		           : fres_txt(f, b, h);
	case DNS_T_A:
		inet_pton(AF_INET, h % 2 ? "192.0.2.1" : "198.51.100.7", &a4);
		return dns_builder_add_a(b, 60, &a4);
	case DNS_T_AAAA:
		inet_pton(AF_INET6, h % 2 ? "2001:db8::1" : "2001:db8::2", &a6);
		return dns_builder_add_aaaa(b, 60, &a6);
	case DNS_T_MX:
		for (unsigned i = 0; i < h % 13 && rc == 0; i++) {
			snprintf(mx, sizeof(mx), "mx%u.fuzz.example", i);
			rc = dns_builder_add_mx(b, 60, (uint16_t)i, i == 3 ? "" : mx);
		}
		return rc;
	default:
		rc = dns_builder_add_ptr(b, 60, "fuzz.example");
		return rc == 0 && h % 2 ? dns_builder_add_ptr(b, 60, "a.fuzz.example") : rc;
	}
}

static int
fres_query(struct dns_resolver *r, const char *name, enum dns_type type,
           const struct dns_answer **out, struct auth_error *err)
{
	struct fres *f = (struct fres *)r;
	unsigned h = name_hash(name) ^ (unsigned)type;
	struct dns_answer_builder *b;

	if (h % 11 == 0 || h % 11 == 1) {
		*out = dns_answer_empty(h % 11 ? DNS_NXDOMAIN : DNS_TEMPFAIL, name, 0, "fuzz");
	} else if (h % 11 == 2 && strcmp(name, "fuzz.example") != 0) {
		*out = dns_answer_empty(DNS_NODATA, name, 60, NULL);
	} else {
		if ((b = dns_builder_new(DNS_RECORDS, name)) == NULL)
			return auth_error_set(err, AUTH_ENOMEM, "out of memory");
		if (fres_fill(f, b, name, type, h) < 0) {
			dns_builder_abort(b);
			return auth_error_set(err, AUTH_ENOMEM, "out of memory");
		}
		*out = dns_builder_finish(b);
	}
	return *out == NULL ? auth_error_set(err, AUTH_ENOMEM, "out of memory") : 0;
}

static void
fres_free(struct dns_resolver *r)
{
	(void)r;
}

static const struct dns_resolver_ops fres_ops = {.query = fres_query, .free = fres_free};

static int
fixed_p(void *arg, const char **name)
{
	*name = arg;
	return SPF_MACRO_OK;
}

static void
fuzz_macros(const char *s, size_t len)
{
	struct spf_macro_ctx c = {
	    .sender = "a.b-c+d@x.fuzz.example",
	    .sender_len = 22,
	    .local_len = 7,
	    .domain = "fuzz.example",
	    .family = AF_INET6,
	    .helo = "h.example",
	    .receiver = "r.example",
	    .now = 1,
	    .ptr_name = fixed_p,
	    .ptr_arg = "p.example",
	};
	struct buf b;

	for (int exp = 0; exp < 2; exp++) {
		buf_init(&b, 4096);
		(void)spf_macro_check(s, len, exp);
		(void)spf_macro_expand(&c, s, len, exp, &b);
		buf_free(&b);
	}
}

static void
fuzz_check(struct fres *f, const char *ip, const char *from)
{
	struct spf_request q = {.helo = "fuzz.example", .mail_from = from, .receiver = "r.example"};
	struct spf_outcome o;
	struct buf b;

	q.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(q.family, ip, q.family == AF_INET ? (void *)&q.ip.v4 : (void *)&q.ip.v6);
	if (spf_check_mailfrom(&f->base, NULL, &q, &o, NULL) == 0) {
		buf_init(&b, 4096);
		(void)spf_received_spf(&o, &q, &b);
		buf_free(&b);
		spf_outcome_free(&o);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct fres f = {{&fres_ops}, data, NULL, nl ? (size_t)(nl - data) : size, 0};
	struct spf_record rec;
	char why[128];

	if (nl != NULL) {
		f.alt = nl + 1;
		f.alt_len = size - f.rec_len - 1;
	}
	if (spf_record_parse((const char *)f.rec, f.rec_len, &rec, why, sizeof(why)) == 0)
		spf_record_free(&rec);
	fuzz_macros((const char *)f.rec, f.rec_len);
	fuzz_check(&f, "192.0.2.1", "u.v@fuzz.example");
	fuzz_check(&f, "2001:db8::1", "");
	return 0;
}
