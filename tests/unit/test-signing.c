/*
 * test-signing - our own DKIM signatures and ARC sets, made from the keys
 * the configuration names and checked by our own verifiers.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc-util.h"
#include "config.h"
#include "keyring.h"
#include "signing.h"
#include "tap.h"

static char dir[] = "/tmp/test-signing-XXXXXX";
static struct tkey rsa, ed, arckey;

static const char *
key_file(const char *name, const struct tkey *k)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, 256, "%s/%s", dir, name);
	f = fopen(p, "w");
	fputs(k->pem, f);
	fclose(f);
	chmod(p, 0600);
	return p;
}

static char zone[16384];

static void
make_zone(void)
{
	char txt[2200];

	snprintf(zone, sizeof(zone),
	         "$ORIGIN example.\n$TTL 300\n"
	         "@ SOA ns.example. host.example. 1 3600 600 86400 300\n");
	snprintf(txt, sizeof(txt), "v=DKIM1; k=rsa; p=%s", rsa.pub);
	zone_txt(zone, sizeof(zone), "rsa._domainkey.org", txt);
	snprintf(txt, sizeof(txt), "v=DKIM1; k=ed25519; p=%s", ed.pub);
	zone_txt(zone, sizeof(zone), "ed._domainkey.org", txt);
	zone_txt(zone, sizeof(zone), "ed._domainkey.corp", txt);
	snprintf(txt, sizeof(txt), "v=DKIM1; k=ed25519; p=%s", arckey.pub);
	zone_txt(zone, sizeof(zone), "arc._domainkey.relay", txt);
}

struct setup {
	struct policy_config *cfg;
	struct keyring *kr;
	struct signing_keys *k;
};

static int
setup(struct setup *st, bool seal, struct auth_error *err)
{
	char text[2048];
	int n;

	st->cfg = config_new(NULL);
	st->kr = keyring_new();
	/* In one file: config_set() would replace the list each time. */
	n = snprintf(text, sizeof(text), "dkim_sign org.example rsa %s\n",
	             key_file("rsa.key", &rsa));
	n += snprintf(text + n, sizeof(text) - (size_t)n, "dkim_sign org.example ed %s\n",
	              key_file("ed.key", &ed));
	n += snprintf(text + n, sizeof(text) - (size_t)n, "dkim_sign *.corp.example ed %s\n",
	              key_file("ed2.key", &ed));
	if (seal)
		snprintf(text + n, sizeof(text) - (size_t)n,
		         "arc_seal_domain relay.example\narc_seal_selector arc\narc_seal_key %s\n",
		         key_file("arc.key", &arckey));
	if (config_load_string(st->cfg, "test.conf", text, strlen(text), err) < 0 ||
	    keyring_load_config(st->kr, st->cfg, err) < 0)
		return -1;
	st->k = signing_keys_new(st->cfg, st->kr, err);
	return st->k != NULL ? 0 : -1;
}

static void
teardown(struct setup *st)
{
	signing_keys_free(st->k);
	keyring_free(st->kr);
	config_free(st->cfg);
}

static const char message[] =
    "From: a@org.example\r\nTo: b@x.example\r\nSubject: hi\r\n\r\nbody\r\n";

/* The message with our fields above it. */
static char *
with_fields(const struct verdict_header *h, size_t n, const char *text)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s:%s\r\n", h[i].name, h[i].value);
	buf_puts(&b, text);
	return buf_steal(&b);
}

static void
test_sign(void)
{
	struct setup st;
	struct auth_error err;
	struct arena *a = arena_new(1 << 20);
	struct verdict_header h[4];
	struct signing *sg;
	struct tmsg m;
	struct dkim_verifier *v;
	size_t n = 0;
	char *signed_msg;

	is_int(setup(&st, false, &err), 0, "keys made: %s", err.msg);
	ok(signing_keys_sign(st.k) && !signing_keys_seal(st.k), "signing, no sealing");
	ok(signing_start(st.k, "other.example", &err) == NULL && err.code == AUTH_OK,
	   "no entry for another domain");
	sg = signing_start(st.k, "Org.Example", &err);
	is_int(signing_count(sg), 2, "two entries for org.example: RSA and Ed25519");
	tmsg_parse(&m, message, strlen(message));
	signing_body(sg, m.body, m.body_len);
	is_int(signing_finish(sg, m.h, a, h, &n, &err), 0, "signed");
	is_int(n, 2, "two DKIM-Signature fields");
	is_str(h[0].name, "DKIM-Signature", "named DKIM-Signature");
	ok(strstr(h[0].value, "a=rsa-sha256") != NULL && strstr(h[1].value, "a=ed25519-sha256"),
	   "RSA first, then Ed25519, as configured");
	signed_msg = with_fields(h, n, message);
	v = tverify(signed_msg, zone, NULL, NULL, 0);
	is_int(dkim_verifier_count(v), 2, "our verifier sees both");
	is_int(dkim_verifier_result(v, 0)->result, DKIM_PASS, "the RSA signature passes");
	is_int(dkim_verifier_result(v, 1)->result, DKIM_PASS, "the Ed25519 signature passes");
	dkim_verifier_free(v);
	free(signed_msg);
	tmsg_free(&m);
	signing_free(sg);

	sg = signing_start(st.k, "mail.corp.example", &err);
	is_int(signing_count(sg), 1, "a name below *.corp.example");
	tmsg_parse(&m, message, strlen(message));
	signing_body(sg, m.body, m.body_len);
	n = 0;
	signing_finish(sg, m.h, a, h, &n, &err);
	ok(strstr(h[0].value, "d=corp.example;") != NULL, "signed as d=corp.example");
	tmsg_free(&m);
	signing_free(sg);
	teardown(&st);
	arena_free(a);
}

static void
test_seal(void)
{
	struct setup st;
	struct auth_error err;
	struct arena *a = arena_new(1 << 20);
	struct verdict_header h[3];
	struct arc_verifier *av;
	unsigned char bh[64];
	unsigned bhlen = 0;
	struct tmsg m;
	char *sealed;

	is_int(setup(&st, true, &err), 0, "sealing keys made: %s", err.msg);
	ok(signing_keys_seal(st.k), "sealing configured");
	av = averify(message, zone, NULL, NULL, 0);
	arc_verifier_body_hash(av, bh, &bhlen);
	tmsg_parse(&m, message, strlen(message));
	is_int(signing_seal(st.k, m.h, bh, bhlen,
	                    "relay.example; spf=pass smtp.mailfrom=a@org.example",
	                    arc_verifier_result(av), a, h, &err),
	       ARC_SEALED, "sealed");
	is_str(h[0].name, "ARC-Seal", "ARC-Seal on top");
	is_str(h[1].name, "ARC-Message-Signature", "then the message signature");
	is_str(h[2].name, "ARC-Authentication-Results", "then our results");
	ok(strstr(h[2].value, "i=1; relay.example; spf=pass") != NULL, "instance 1, our A-R");
	tmsg_free(&m);
	arc_verifier_free(av);
	sealed = with_fields(h, 3, message);
	av = averify(sealed, zone, NULL, NULL, 0);
	is_int(arc_verifier_result(av)->result, ARC_PASS, "our chain verifies");
	is_str(arc_verifier_result(av)->d, "relay.example", "sealed by relay.example");
	arc_verifier_free(av);
	free(sealed);
	teardown(&st);
	arena_free(a);
}

static void
test_errors(void)
{
	struct policy_config *cfg = config_new(NULL);
	struct keyring *kr = keyring_new();
	struct signing_keys *keys;
	struct auth_error err;
	char line[512];

	snprintf(line, sizeof(line), "org.example rsa %s/never-read.key", dir);
	config_set(cfg, "dkim_sign", line, NULL);
	ok(signing_keys_new(cfg, kr, &err) == NULL, "a key not read at start");
	ok(strstr(err.msg, "never-read.key: not read at start") != NULL, "says so: %s", err.msg);
	config_set(cfg, "dkim_sign", "", NULL);
	config_set(cfg, "arc_seal_domain", "relay.example", NULL);
	ok(signing_keys_new(cfg, kr, &err) == NULL, "a sealing domain without selector and key");
	is_str(err.msg, "arc_seal_domain, arc_seal_selector and arc_seal_key go together",
	       "names the three");
	config_set(cfg, "arc_seal_domain", "", NULL);
	keys = signing_keys_new(cfg, NULL, &err);
	ok(keys != NULL, "nothing to sign or seal: no keyring needed");
	signing_keys_free(keys);
	config_free(cfg);
	keyring_free(kr);
}

int
main(void)
{
	static const char *const names[] = {"rsa.key", "ed.key", "ed2.key", "arc.key"};

	if (mkdtemp(dir) == NULL)
		return 1;
	tkey_make(&rsa, "RSA", 2048);
	tkey_make(&ed, "ED25519", 0);
	tkey_make(&arckey, "ED25519", 0);
	make_zone();
	test_sign();
	test_seal();
	test_errors();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	EVP_PKEY_free(rsa.pkey);
	EVP_PKEY_free(ed.pkey);
	EVP_PKEY_free(arckey.pkey);
	return done_testing();
}
