/*
 * dkimverify - verifies the DKIM signatures of one message (stdin) and
 * prints the results as JSON, for the conformance and cross-check scripts:
 *
 *   dkimverify [-z ZONEFILE]... [-f NAME[/TYPE]]... [-t NOW] [-1] [-b BITS] [-p]
 *
 * -z answers DNS from an RFC 1035 master file, -f makes a name time out,
 * -t sets the verification time, -1 allows rsa-sha1, -b sets the smallest
 * RSA key accepted, -p refuses signatures that leave body content unsigned.
 * Output: {"dkim":[{"result":..,"d":..,"s":..,"i":..,"a":..,"reason":..,
 * "testing":..,"key_bits":..,"partial_body":..}]}.  Exit 0 when verified,
 * 2 on usage or input errors.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dkim.h"
#include "dns_zone.h"
#include "json.h"
#include "msgread.h"
#include "toolopt.h"

static int
on_headers(void *ctx, struct msg_headers *h)
{
	return dkim_verifier_headers(ctx, h, NULL);
}

static int
on_body(void *ctx, const char *p, size_t n)
{
	return dkim_verifier_body(ctx, p, n);
}

static void
print_results(const struct dkim_verifier *v)
{
	struct buf out;
	struct json j;

	buf_init(&out, 1 << 20);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "dkim");
	json_array_begin(&j);
	for (size_t i = 0; i < dkim_verifier_count(v); i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(v, i);

		json_object_begin(&j);
		json_key(&j, "result");
		json_string(&j, dkim_result_name(r->result));
		json_key(&j, "d");
		json_string(&j, r->d);
		json_key(&j, "s");
		json_string(&j, r->s);
		json_key(&j, "i");
		json_string(&j, r->i);
		json_key(&j, "a");
		json_string(&j, r->a);
		json_key(&j, "reason");
		if (r->reason != NULL)
			json_string(&j, r->reason);
		else
			json_null(&j);
		json_key(&j, "testing");
		json_bool(&j, r->testing);
		json_key(&j, "key_bits");
		json_int(&j, r->key_bits);
		json_key(&j, "partial_body");
		json_bool(&j, r->partial_body);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	printf("%s\n", out.data);
	buf_free(&out);
}

static const char dkimverify_usage[] =
    "usage: dkimverify [-z ZONEFILE]... [-f NAME[/TYPE]]... [-t NOW] [-1] "
    "[-b BITS] [-p] < message\n"
    "       dkimverify --help | --version\n";

static int
usage(void)
{
	fputs(dkimverify_usage, stderr);
	return 2;
}

/* A usage error once the resolver is made: freed, for the leak checker. */
static int
usage_free(struct dns_resolver *r)
{
	dns_resolver_free(r);
	return usage();
}

int
main(int argc, char **argv)
{
	struct auth_error err = {0};
	struct dns_resolver *r = dns_zone_new(&err);
	struct dkim_verify_opts o = {0};
	struct msgread_ops ops = {on_headers, on_body, NULL};
	struct dkim_verifier *v;
	struct msg_headers *h;
	int c, rc = 2;

	toolopt_check(argc, argv, "dkimverify", dkimverify_usage);
	while ((c = getopt(argc, argv, "z:f:t:1b:p")) != -1) {
		if ((c == 'z' && dns_zone_load_file(r, optarg, NULL, &err) < 0) ||
		    (c == 'f' && dns_zone_add_fail(r, optarg, &err) < 0)) {
			fprintf(stderr, "dkimverify: %s\n", err.msg);
			dns_resolver_free(r);
			return 2;
		}
		if (c == 't')
			o.now = (time_t)strtoll(optarg, NULL, 10);
		else if (c == '1')
			o.allow_sha1 = 1;
		else if (c == 'b')
			o.min_rsa_bits = (unsigned)strtoul(optarg, NULL, 10);
		else if (c == 'p')
			o.reject_partial_body = 1;
		else if (c == '?')
			return usage_free(r);
	}
	v = dkim_verifier_new(r, &o, &err);
	h = msg_headers_new();
	if (v != NULL && h != NULL && msgread(0, h, &ops, v) == 0 &&
	    dkim_verifier_finish(v, &err) == 0) {
		print_results(v);
		rc = 0;
	} else {
		fprintf(stderr, "dkimverify: cannot read the message %s\n", err.msg);
	}
	dkim_verifier_free(v);
	msg_headers_free(h);
	dns_resolver_free(r);
	return rc;
}
