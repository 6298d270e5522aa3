/*
 * dkimsign - signs one message (stdin) and writes it, with its new
 * DKIM-Signature field on top and CRLF line ends, to stdout:
 *
 *   dkimsign -d DOMAIN -s SELECTOR -k KEYFILE [-c HEADER/BODY] [-h NAMES]
 *            [-o | -O NAMES] [-l] [-x SECONDS] [-i AUID] [-t NOW]
 *
 * -c canonicalization (relaxed/relaxed by default; "simple" alone is
 * simple/simple), -h the colon-separated fields to sign, -o oversign
 * them all, -O oversign these ("" none; From by default), -l add l=, -x
 * add x= that many seconds after t=, -i add i=, -t the signing time.
 * Exit 0 when signed, 2 otherwise.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim_sign.h"
#include "msgread.h"
#include "toolopt.h"

#define MAX_MESSAGE (256u * 1024 * 1024)
#define MAX_KEY (64u * 1024)

struct state {
	struct dkim_signer *s;
	struct buf msg;
};

static int
on_headers(void *ctx, struct msg_headers *h)
{
	(void)ctx;
	(void)h;
	return 0;
}

static int
on_body(void *ctx, const char *p, size_t n)
{
	dkim_signer_body(((struct state *)ctx)->s, p, n);
	return 0;
}

static int
on_raw(void *ctx, const char *p, size_t n)
{
	return buf_append(&((struct state *)ctx)->msg, p, n);
}

static int
parse_canon(const char *arg, struct dkim_sign_opts *o)
{
	const char *slash = strchr(arg, '/');
	size_t hl = slash != NULL ? (size_t)(slash - arg) : strlen(arg);
	const char *body = slash != NULL ? slash + 1 : arg;

	if (hl == 6 && strncmp(arg, "simple", 6) == 0)
		o->hcanon = DKIM_CANON_SIMPLE;
	else if (hl == 7 && strncmp(arg, "relaxed", 7) == 0)
		o->hcanon = DKIM_CANON_RELAXED;
	else
		return -1;
	if (strcmp(body, "simple") == 0)
		o->bcanon = DKIM_CANON_SIMPLE;
	else if (strcmp(body, "relaxed") == 0)
		o->bcanon = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

static const char dkimsign_usage[] =
    "usage: dkimsign -d DOMAIN -s SELECTOR -k KEYFILE [-c HEADER/BODY] "
    "[-h NAMES] [-o | -O NAMES] [-l] [-x SECONDS] [-i AUID] [-t NOW] < message\n"
    "       dkimsign --help | --version\n";

static int
usage(void)
{
	fputs(dkimsign_usage, stderr);
	return 2;
}

static int
sign(const struct dkim_sign_opts *o, const struct buf *key, struct state *st)
{
	struct auth_error err = {0};
	struct msgread_ops ops = {on_headers, on_body, on_raw};
	struct msg_headers *h = msg_headers_new();
	char *field = NULL;
	int rc = -1;

	st->s = dkim_signer_new(key->data, key->len, o, &err);
	if (st->s != NULL && h != NULL && msgread(0, h, &ops, st) == 0 &&
	    dkim_signer_finish(st->s, h, &field, &err) == 0) {
		printf("%s\r\n", field);
		fwrite(st->msg.data, 1, st->msg.len, stdout);
		rc = 0;
	} else {
		fprintf(stderr, "dkimsign: %s\n", err.msg[0] ? err.msg : "cannot read the message");
	}
	free(field);
	dkim_signer_free(st->s);
	msg_headers_free(h);
	return rc;
}

int
main(int argc, char **argv)
{
	struct dkim_sign_opts o = {0};
	struct state st = {0};
	struct buf key;
	const char *keyfile = NULL;
	int c, rc, oversign_all = 0;

	toolopt_check(argc, argv, "dkimsign", dkimsign_usage);
	while ((c = getopt(argc, argv, "d:s:k:c:h:oO:lx:i:t:")) != -1) {
		if (c == 'd')
			o.domain = optarg;
		else if (c == 's')
			o.selector = optarg;
		else if (c == 'k')
			keyfile = optarg;
		else if (c == 'c' && parse_canon(optarg, &o) < 0)
			return usage();
		else if (c == 'h')
			o.headers = optarg;
		else if (c == 'o')
			oversign_all = 1;
		else if (c == 'O')
			o.oversign = optarg;
		else if (c == 'l')
			o.body_length = 1;
		else if (c == 'x')
			o.expire = strtoul(optarg, NULL, 10);
		else if (c == 'i')
			o.identity = optarg;
		else if (c == 't')
			o.now = (time_t)strtoll(optarg, NULL, 10);
		else if (c == '?')
			return usage();
	}
	if (o.domain == NULL || o.selector == NULL || keyfile == NULL)
		return usage();
	if (oversign_all)
		o.oversign = o.headers != NULL ? o.headers : DKIM_SIGN_DEFAULT_HEADERS;
	buf_init(&key, MAX_KEY);
	buf_init(&st.msg, MAX_MESSAGE);
	if (msgread_file(keyfile, &key) < 0) {
		fprintf(stderr, "dkimsign: cannot read %s\n", keyfile);
		return 2;
	}
	rc = sign(&o, &key, &st) == 0 ? 0 : 2;
	buf_free(&key);
	buf_free(&st.msg);
	return rc;
}
