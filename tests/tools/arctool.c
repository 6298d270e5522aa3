/*
 * arctool - verifies the ARC chain of one message (stdin) and prints the
 * result as JSON, or seals the message and writes it with its new ARC set
 * on top, for the ARC unit-test, conformance and cross-check scripts:
 *
 *   arctool [-z ZONEFILE]... [-f NAME[/TYPE]]... [-t NOW] [-b BITS]
 *   arctool -S -d DOMAIN -s SELECTOR -k KEYFILE -r AUTHSERV-ID [-h NAMES]
 *           [-c simple] [-z ZONEFILE]... [-t NOW] [-b BITS]
 *
 * -z answers DNS from an RFC 1035 master file, -f makes a name time out,
 * -t sets the time (x=, and t= of a seal), -b the smallest RSA key taken,
 * -c simple the AMS's header canonicalization (relaxed by default).
 * Verifying prints {"arc":{"result":..,"instances":..,"reason":..,
 * "failed_field":..,"failed_instance":..,"oldest_pass":..,"d":..,"s":..,
 * "aar":..}}.  Sealing first verifies the chain, then seals with the cv=
 * it found and an AAR of "AUTHSERV-ID; arc=RESULT"; it exits 3 (and says
 * why on stderr) when arc_seal() declines.  Exit 0 when done, 2 on usage
 * or input errors.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arc.h"
#include "arc_seal.h"
#include "authres.h"
#include "dns_zone.h"
#include "json.h"
#include "msgread.h"
#include "toolopt.h"

#define MAX_MESSAGE (256u * 1024 * 1024)
#define MAX_KEY (64u * 1024)

struct state {
	struct arc_verifier *v;
	struct msg_headers *h;
	struct buf msg;
};

static int
on_headers(void *ctx, struct msg_headers *h)
{
	return arc_verifier_headers(((struct state *)ctx)->v, h, NULL);
}

static int
on_body(void *ctx, const char *p, size_t n)
{
	return arc_verifier_body(((struct state *)ctx)->v, p, n);
}

static int
on_raw(void *ctx, const char *p, size_t n)
{
	return buf_append(&((struct state *)ctx)->msg, p, n);
}

static void
json_opt(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (s != NULL)
		json_string(j, s);
	else
		json_null(j);
}

static void
print_result(const struct arc_chain_result *r)
{
	struct buf out;
	struct json j;

	buf_init(&out, 1 << 20);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "arc");
	json_object_begin(&j);
	json_opt(&j, "result", arc_result_name(r->result));
	json_key(&j, "instances");
	json_int(&j, r->instances);
	json_opt(&j, "reason", r->reason);
	json_opt(&j, "failed_field", r->failed_field);
	json_key(&j, "failed_instance");
	json_int(&j, r->failed_instance);
	json_key(&j, "oldest_pass");
	json_int(&j, r->oldest_pass);
	json_opt(&j, "d", r->d);
	json_opt(&j, "s", r->s);
	json_key(&j, "aar");
	if (r->aar != NULL)
		json_string_len(&j, r->aar + r->aar_payload, r->aar_len - r->aar_payload);
	else
		json_null(&j);
	json_object_end(&j);
	json_object_end(&j);
	printf("%s\n", out.data);
	buf_free(&out);
}

struct seal_args {
	struct arc_seal_opts o;
	const char *keyfile, *authserv_id;
	time_t now;
};

/* Our A-R value: the chain's result alone. */
static int
authres_value(const char *id, const struct arc_chain_result *r, struct buf *out)
{
	struct authres w;

	authres_begin(&w, out, id);
	authres_add(&w, "arc", arc_result_name(r->result), NULL, NULL, NULL, 0);
	return authres_end(&w);
}

static int
seal(const struct seal_args *a, struct state *st)
{
	struct auth_error err = {0};
	struct arc_seal_input in = {
	    .headers = st->h, .chain = arc_verifier_result(st->v), .now = a->now};
	unsigned char bh[EVP_MAX_MD_SIZE];
	unsigned bhlen;
	struct arc_seal_fields f;
	struct arc_sealer *s = NULL;
	struct buf key, ar;
	int rc = 2;

	buf_init(&key, MAX_KEY);
	buf_init(&ar, 1 << 16);
	if (msgread_file(a->keyfile, &key) < 0 || arc_verifier_body_hash(st->v, bh, &bhlen) < 0 ||
	    authres_value(a->authserv_id, in.chain, &ar) < 0 ||
	    (s = arc_sealer_new(key.data, key.len, &a->o, &err)) == NULL) {
		fprintf(stderr, "arctool: cannot seal: %s\n", err.msg);
		goto out;
	}
	in.body_hash = bh;
	in.body_hash_len = bhlen;
	/* What authres.h writes starts after "Authentication-Results:". */
	in.authres = ar.data;
	switch (arc_seal(s, &in, &f, &err)) {
	case ARC_SEALED:
		printf("%s\r\n%s\r\n%s\r\n%s", f.as, f.ams, f.aar, st->msg.data);
		arc_seal_fields_free(&f);
		rc = 0;
		break;
	case ARC_SEAL_OURS:
	case ARC_SEAL_FULL:
		fprintf(stderr,
		        "arctool: not sealed: the newest set is ours or the chain is full\n");
		rc = 3;
		break;
	default:
		fprintf(stderr, "arctool: cannot seal: %s\n", err.msg);
	}
out:
	arc_sealer_free(s);
	buf_free(&key);
	buf_free(&ar);
	return rc;
}

static const char arctool_usage[] =
    "usage: arctool [-z ZONEFILE]... [-f NAME[/TYPE]]... [-t NOW] [-b BITS]\n"
    "       arctool -S -d DOMAIN -s SELECTOR -k KEYFILE -r AUTHSERV-ID "
    "[-h NAMES] [-c simple] [-z ZONEFILE]... [-t NOW] < message\n"
    "       arctool --help | --version\n";

static int
usage(void)
{
	fputs(arctool_usage, stderr);
	return 2;
}

/* A usage error once the resolver is made: freed, for the leak checker. */
static int
usage_free(struct dns_resolver *r)
{
	dns_resolver_free(r);
	return usage();
}

static int
run(struct dns_resolver *r, struct arc_verify_opts *vo, const struct seal_args *sa, bool sealing)
{
	struct auth_error err = {0};
	struct state st = {0};
	struct msgread_ops ops = {on_headers, on_body, on_raw};
	int rc = 2;

	vo->seal_body_hash = sealing;
	st.v = arc_verifier_new(r, vo, &err);
	st.h = msg_headers_new();
	buf_init(&st.msg, MAX_MESSAGE);
	if (st.v != NULL && st.h != NULL && msgread(0, st.h, &ops, &st) == 0 &&
	    arc_verifier_finish(st.v, &err) == 0) {
		if (sealing)
			rc = seal(sa, &st);
		else
			print_result(arc_verifier_result(st.v)), rc = 0;
	} else {
		fprintf(stderr, "arctool: cannot read the message %s\n", err.msg);
	}
	arc_verifier_free(st.v);
	msg_headers_free(st.h);
	buf_free(&st.msg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct auth_error err = {0};
	struct dns_resolver *r = dns_zone_new(&err);
	struct arc_verify_opts vo = {0};
	struct seal_args sa = {0};
	bool sealing = false;
	int c, rc;

	toolopt_check(argc, argv, "arctool", arctool_usage);
	while ((c = getopt(argc, argv, "z:f:t:b:Sd:s:k:r:h:c:")) != -1) {
		if ((c == 'z' && dns_zone_load_file(r, optarg, NULL, &err) < 0) ||
		    (c == 'f' && dns_zone_add_fail(r, optarg, &err) < 0)) {
			fprintf(stderr, "arctool: %s\n", err.msg);
			dns_resolver_free(r);
			return 2;
		}
		if (c == 't')
			vo.now = sa.now = (time_t)strtoll(optarg, NULL, 10);
		else if (c == 'b')
			vo.min_rsa_bits = (unsigned)strtoul(optarg, NULL, 10);
		else if (c == 'S')
			sealing = true;
		else if (c == 'd')
			sa.o.domain = optarg;
		else if (c == 's')
			sa.o.selector = optarg;
		else if (c == 'k')
			sa.keyfile = optarg;
		else if (c == 'r')
			sa.authserv_id = optarg;
		else if (c == 'h')
			sa.o.headers = optarg;
		else if (c == 'c' && strcmp(optarg, "simple") == 0)
			sa.o.hcanon = DKIM_CANON_SIMPLE;
		else if (c == 'c')
			return usage_free(r);
		else if (c == '?')
			return usage_free(r);
	}
	if (sealing && (sa.keyfile == NULL || sa.authserv_id == NULL))
		return usage_free(r);
	rc = run(r, &vo, &sa, sealing);
	dns_resolver_free(r);
	return rc;
}
