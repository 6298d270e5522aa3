/*
 * report_dest - rua URIs and the external-destination check.
 */
#include "autoconf.h"

#include "report_dest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 5322 atext, for a dot-atom local part. */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A dot-atom (no leading, trailing or doubled dot): the only local part
 * that can be put in RCPT TO without quoting, and report addresses are
 * chosen by machines that have no reason to need more. */
static bool
dot_atom(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (p[i] == '.' ? p[i + 1] == '.' : !is_atext((unsigned char)p[i]))
			return false;
	return true;
}

/* RFC 7489 §6.2: "!" 1*DIGIT [ "k" / "m" / "g" / "t" ]. */
static int
parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	switch (*s | 0x20) {
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	}
	if (shift != 0)
		s++;
	if (*s != '\0' || v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

/* Percent-decodes the address part (up to '?', '!' or the end) into out. */
static int
decode_addr(const char *p, size_t n, char *out, size_t max)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			int hi = i + 2 < n ? hexval(p[i + 1]) : -1,
			    lo = hi >= 0 ? hexval(p[i + 2]) : -1;
			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c <= 0x20 || c >= 0x7f || len >= max)
			return -1;
		out[len++] = (char)c;
	}
	out[len] = '\0';
	return 0;
}

int
report_dest_parse(const char *uri, struct report_dest *d, const char **why)
{
	const char *body, *end, *bang, *at;
	char domain[DNS_NAME_MAX + 2];

	memset(d, 0, sizeof(*d));
	if (strncasecmp(uri, "mailto:", 7) != 0)
		return *why = "not a mailto: URI", -1;
	body = uri + 7;
	/* Within a DMARC URI a literal '!' starts the size limit (RFC 7489
	 * §6.2 has '!' in the address itself encoded). */
	bang = strchr(body, '!');
	if (bang != NULL && parse_size(bang + 1, &d->max_bytes) < 0)
		return *why = "a size limit that is not a number with k, m, g or t", -1;
	end = bang != NULL ? bang : body + strlen(body);
	/* RFC 6068 hfields (?subject=...) say nothing a report needs. */
	if (memchr(body, '?', (size_t)(end - body)) != NULL)
		end = memchr(body, '?', (size_t)(end - body));
	if (decode_addr(body, (size_t)(end - body), d->addr, REPORT_DEST_ADDR_MAX) < 0)
		return *why = "an address that is not printable ASCII, or too long", -1;
	at = strrchr(d->addr, '@');
	if (at == NULL || strchr(d->addr, ',') != NULL)
		return *why = "not one address", -1;
	if (at - d->addr > 64 || !dot_atom(d->addr, (size_t)(at - d->addr)))
		return *why = "a local part other than a dot-atom", -1;
	if (strlen(at + 1) > DNS_NAME_MAX || at[1] == '[' ||
	    dns_name_normalize(at + 1, domain) < 0 || strchr(domain, '.') == NULL)
		return *why = "no domain name after the @", -1;
	memcpy(d->domain, domain, strlen(domain) + 1);
	return 0;
}

/* The host a URI names, lower case, or false when it names none that
 * can be read (RFC 9990 §3.5: malformed URIs are ignored). */
static bool
uri_host(const char *uri, char out[DNS_NAME_MAX + 1])
{
	struct report_dest d;
	const char *why, *p = strstr(uri, "://");
	char host[DNS_NAME_MAX + 1];
	size_t n;

	if (report_dest_parse(uri, &d, &why) == 0) {
		memcpy(out, d.domain, strlen(d.domain) + 1);
		return true;
	}
	if (p == NULL || strncasecmp(uri, "mailto:", 7) == 0)
		return false;
	p += 3;
	n = strcspn(p, "/:?#@");
	if (n == 0 || n > DNS_NAME_MAX || p[n] == '@')
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	return dns_name_normalize(host, out) == 0;
}

/* RFC 9990 §4: a confirming record whose rua= names another host than the
 * destination's means no report to either. */
static bool
redirects_elsewhere(const char *t, size_t n, const char *dest_domain)
{
	struct dmarc_record rec;
	char host[DNS_NAME_MAX + 1];
	size_t i;

	if (dmarc_record_parse(t, n, &rec) != 1)
		return false;
	for (i = 0; i < rec.nrua; i++)
		if (uri_host(rec.rua[i], host) && strcasecmp(host, dest_domain) != 0)
			return true;
	return false;
}

enum auth_record { AUTH_NONE, AUTH_CONFIRMED, AUTH_ELSEWHERE };

/* Whether any TXT record of a begins with "v=DMARC1" (the version tag,
 * which RFC 9989 §4.7 puts first), and whether one sends reports to
 * another host. */
static enum auth_record
auth_record(const struct dns_answer *a, const char *dest_domain)
{
	enum auth_record found = AUTH_NONE;
	size_t i;

	for (i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rrs[i];
		const char *t = (const char *)rr->u.txt.joined;
		size_t n = rr->u.txt.joined_len;
		if (rr->type != DNS_T_TXT || n < 8 || memcmp(t, "v=DMARC1", 8) != 0)
			continue;
		if (n != 8 && t[8] != ';' && t[8] != ' ' && t[8] != '\t')
			continue;
		if (redirects_elsewhere(t, n, dest_domain))
			return AUTH_ELSEWHERE;
		found = AUTH_CONFIRMED;
	}
	return found;
}

static int
ask_authorization(struct dns_resolver *r, const char *policy_domain, const char *dest_domain,
                  enum report_dest_auth *out, const char **why)
{
	char name[2 * DNS_NAME_MAX + 32];
	const struct dns_answer *a;
	enum auth_record found;
	struct auth_error err;
	int n;

	n = snprintf(name, sizeof(name), "%s._report._dmarc.%s", policy_domain, dest_domain);
	if (n < 0 || (size_t)n > DNS_NAME_MAX) {
		*out = REPORT_DEST_REFUSED;
		return *why = "the authorization record's name is longer than DNS allows", 0;
	}
	if (dns_query(r, name, DNS_T_TXT, &a, &err) < 0)
		return -1;
	if (a->status == DNS_TEMPFAIL) {
		*out = REPORT_DEST_TEMPFAIL;
		*why = "temporary DNS failure asking for the authorization record";
	} else if (a->status == DNS_RECORDS && (found = auth_record(a, dest_domain)) != AUTH_NONE) {
		*out = found == AUTH_CONFIRMED ? REPORT_DEST_ALLOWED : REPORT_DEST_REFUSED;
		if (found == AUTH_ELSEWHERE)
			*why = "the authorization record sends the reports to another host";
	} else {
		*out = REPORT_DEST_REFUSED;
		*why = "the destination publishes no authorization record";
	}
	dns_answer_release(a);
	return 0;
}

int
report_dest_authorized(struct dmarc_ctx *dc, struct dns_resolver *r, const char *policy_domain,
                       const char *dest_domain, enum report_dest_auth *out, const char **why)
{
	char org_policy[DNS_NAME_MAX + 1], org_dest[DNS_NAME_MAX + 1];

	*why = NULL;
	if (strcasecmp(policy_domain, dest_domain) == 0) {
		*out = REPORT_DEST_ALLOWED;
		return 0;
	}
	if (dmarc_org_domain(dc, policy_domain, org_policy) < 0 ||
	    dmarc_org_domain(dc, dest_domain, org_dest) < 0) {
		*out = REPORT_DEST_TEMPFAIL;
		*why = "temporary DNS failure finding an Organizational Domain";
		return 0;
	}
	if (strcasecmp(org_policy, org_dest) == 0) {
		*out = REPORT_DEST_ALLOWED;
		return 0;
	}
	return ask_authorization(r, policy_domain, dest_domain, out, why);
}
