/*
 * test-dkim-hdata - the header data a signature covers, exactly (RFC 6376
 * §3.7, §5.4.2): bottom-up selection, names with no field left, the b=
 * value deleted, the signature field without a final CRLF, and the limits.
 */
#include "autoconf.h"

#include "dkim-util.h"
#include "dkim_hdata.h"
#include "tap.h"

static const char text[] = "From: a@example.com\r\nSubject:  One\r\nTo: x\r\n"
                           "Subject: Two\r\n\r\n";
static const char *sig = "DKIM-Signature: v=1; b=\r\n\tAQID ; d=x";

static void
test_selection(void)
{
	static const char want[] = "subject:Two\r\nfrom:a@example.com\r\nsubject:One\r\n"
	                           "dkim-signature:v=1; b=; d=x";
	struct dkim_name_view names[4] = {
	    {"subject", 7}, {"from", 4}, {"Subject", 7}, {"subject", 7}};
	struct tmsg m;
	struct buf out;

	tmsg_parse(&m, text, strlen(text));
	buf_init(&out, 4096);
	is_int(dkim_header_data(m.h, DKIM_CANON_RELAXED, names, 4, sig, strlen(sig), 23, 8, &out),
	       0, "header data built");
	is_mem(out.data, out.len, want, strlen(want),
	       "bottom-up selection, oversigned name adds nothing, b= value deleted");
	buf_reset(&out);
	is_int(dkim_header_data(m.h, DKIM_CANON_SIMPLE, names, 1, sig, strlen(sig), 23, 0, &out), 0,
	       "simple header data built");
	is_mem(out.data, out.len, "Subject: Two\r\nDKIM-Signature: v=1; b=\r\n\tAQID ; d=x", 50,
	       "simple keeps the field as it is when nothing is deleted");
	is_int(dkim_header_data(m.h, DKIM_CANON_SIMPLE, names, 1, sig, strlen(sig), 30, 8, &out),
	       -1, "b= region past the end of the field");
	buf_reset(&out);
	is_int(dkim_header_data(m.h, DKIM_CANON_RELAXED, NULL, 0, sig, strlen(sig), 23, 8, &out), 0,
	       "no names");
	is_mem(out.data, out.len, "dkim-signature:v=1; b=; d=x", 27, "only the signature field");
	buf_free(&out);
	tmsg_free(&m);
}

static void
test_sig_field(void)
{
	const char *seal = "ARC-Seal: i=1; cv=none; b=AAAA\r\n BBBB; d=example.org";
	struct buf out;

	buf_init(&out, 4096);
	is_int(dkim_hdata_sig_field(DKIM_CANON_RELAXED, seal, strlen(seal), 26, 11, &out), 0,
	       "seal field alone");
	is_mem(out.data, out.len, "arc-seal:i=1; cv=none; b=; d=example.org", 40,
	       "relaxed, b= value deleted, no final CRLF");
	buf_reset(&out);
	is_int(dkim_hdata_sig_field(DKIM_CANON_SIMPLE, seal, strlen(seal), strlen(seal), 0, &out),
	       0, "empty region at the end");
	is_mem(out.data, out.len, seal, strlen(seal), "simple: the field as it is");
	is_int(dkim_hdata_sig_field(DKIM_CANON_SIMPLE, seal, strlen(seal), 26, strlen(seal), &out),
	       -1, "region longer than the field");
	buf_free(&out);
}

static void
test_limit(void)
{
	struct dkim_name_view names[2] = {{"from", 4}, {"to", 2}};
	struct tmsg m;
	struct buf out;

	tmsg_parse(&m, text, strlen(text));
	buf_init(&out, 30);
	is_int(dkim_header_data(m.h, DKIM_CANON_RELAXED, names, 2, sig, strlen(sig), 23, 8, &out),
	       -1, "output over the buffer's maximum");
	buf_free(&out);
	tmsg_free(&m);
}

int
main(void)
{
	test_selection();
	test_sig_field();
	test_limit();
	return done_testing();
}
