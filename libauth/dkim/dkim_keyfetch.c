/*
 * dkim_keyfetch - see dkim_keyfetch.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "dkim_keyfetch.h"

/*
 * Several TXT records at one selector: §3.6.2.2 says the results are then
 * undefined, and §6.1.2 lets a verifier pick one.  Records that are not
 * DKIM keys at all (a tag-list error, another v=) are skipped, since they
 * were never meant as keys; if more than one DKIM key record remains, no
 * choice would be better founded than another (RRset order is arbitrary),
 * so the signature gets permerror rather than an answer that could change
 * from one query to the next.
 */
static const char *
choose_key(struct dkim_keycache *cache, const struct dns_answer *a, struct dkim_key *key)
{
	const char *reason = "key syntax error";
	bool found = false;

	for (size_t i = 0; i < a->count; i++) {
		struct dkim_key k;
		enum dkim_key_kind kind;
		const char *r;

		if (a->rrs[i].type != DNS_T_TXT)
			continue;
		r = dkim_keycache_parse(cache, a->rrs[i].u.txt.joined, a->rrs[i].u.txt.joined_len,
		                        &k, &kind);
		if (kind == DKIM_KEY_NOT_DKIM) {
			dkim_key_clear(&k);
			continue;
		}
		if (found) {
			dkim_key_clear(&k);
			dkim_key_clear(key);
			return "multiple key records";
		}
		found = true;
		*key = k;
		reason = r;
	}
	return reason;
}

#define KEYFETCH_NAME_MAX (2 * (DNS_NAME_MAX + 1) + sizeof("._domainkey."))

static void
key_name(const struct dkim_sig *sig, char name[KEYFETCH_NAME_MAX])
{
	(void)snprintf(name, KEYFETCH_NAME_MAX, "%s._domainkey.%s", sig->s, sig->d);
}

void
dkim_keyfetch_prefetch(struct dns_resolver *r, const struct dkim_sig *sig)
{
	char name[KEYFETCH_NAME_MAX];

	key_name(sig, name);
	dns_prefetch(r, name, DNS_T_TXT);
}

enum dkim_keyfetch_status
dkim_keyfetch(struct dns_resolver *r, struct dkim_keycache *cache, const struct dkim_sig *sig,
              struct dkim_key *key, const char **reason)
{
	char name[KEYFETCH_NAME_MAX];
	const struct dns_answer *a = NULL;

	memset(key, 0, sizeof(*key));
	key_name(sig, name);
	if (dns_query(r, name, DNS_T_TXT, &a, NULL) < 0 || a->status == DNS_TEMPFAIL) {
		if (a != NULL)
			dns_answer_release(a);
		*reason = "DNS temporary failure";
		return DKIM_KEYFETCH_TEMPFAIL;
	}
	if (a->status != DNS_RECORDS) {
		dns_answer_release(a);
		*reason = "no key";
		return DKIM_KEYFETCH_FAIL;
	}
	*reason = choose_key(cache, a, key);
	dns_answer_release(a);
	if (*reason == NULL)
		*reason = dkim_key_check(key, sig);
	return *reason == NULL ? DKIM_KEYFETCH_OK : DKIM_KEYFETCH_FAIL;
}
