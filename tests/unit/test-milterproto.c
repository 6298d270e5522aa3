/*
 * test-milterproto - the milter protocol without sockets: packets built
 * here byte by byte go in, the callbacks they cause are written down in
 * order, and the replies are compared byte for byte.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "milterproto.h"
#include "tap.h"

#define ALL_ACTIONS 0x1FFu
#define ALL_PROTOCOL 0x1FFFFFu
#define WANT_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)
#define WANT_NR                                                                                    \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |            \
	 SMFIP_NR_EOH | SMFIP_NR_BODY)
#define WANT_PROTOCOL (WANT_NR | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_HDR_LEADSPC)

/* What the callbacks saw, in order. */
static struct buf events;
/* What eom does: 0 accept with an inserted field; 1 reject with a reply
 * text; 2 every modification; 3 replies that are refused. */
static int eom_mode;
static int mods_refused;

static void
ev(char tag, const char *a)
{
	buf_printf(&events, "%c%s;", tag, a);
}

static void
t_negotiate(struct milterproto *mp, uint32_t *actions, uint32_t *proto)
{
	(void)mp;
	*actions &= WANT_ACTIONS;
	*proto &= WANT_PROTOCOL;
}

static void
t_connect(struct milterproto *mp, const char *host, const struct sockaddr *sa)
{
	char addr[64] = "none";

	(void)mp;
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr,
		          sizeof(addr));
	if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          addr, sizeof(addr));
	buf_printf(&events, "C%s/%s;", host, addr);
}

static void
t_helo(struct milterproto *mp, const char *name)
{
	(void)mp;
	ev('H', name);
}

static void
t_mail(struct milterproto *mp, const char *s)
{
	const char *i = milterproto_macro(mp, "{i}");

	buf_printf(&events, "M%s(i=%s);", s, i != NULL ? i : "-");
}

static void
t_rcpt(struct milterproto *mp, const char *s)
{
	(void)mp;
	ev('R', s);
}

static void
t_header(struct milterproto *mp, const char *name, size_t nlen, const char *value, size_t vlen)
{
	(void)mp;
	buf_printf(&events, "L%.*s=%.*s;", (int)nlen, name, (int)vlen, value);
}

static void
t_eoh(struct milterproto *mp)
{
	const char *j = milterproto_macro(mp, "j");

	buf_printf(&events, "N(j=%s);", j != NULL ? j : "-");
}

static void
t_body(struct milterproto *mp, const unsigned char *p, size_t n)
{
	(void)mp;
	(void)p;
	buf_printf(&events, "B%zu;", n);
}

static int
t_mods_all(struct milterproto *mp)
{
	return milterproto_add_header(mp, "X-A", "one") +
	       milterproto_insert_header(mp, 0, "X-B", "two") +
	       milterproto_change_header(mp, 2, "X-C", "") + milterproto_quarantine(mp, "why");
}

static enum milterproto_final
t_eom(struct milterproto *mp)
{
	buf_puts(&events, "E;");
	switch (eom_mode) {
	case 1:
		if (milterproto_set_reply(mp, "550", "5.7.1", "go away") < 0)
			mods_refused++;
		return MILTERPROTO_REJECT;
	case 2:
		mods_refused += t_mods_all(mp) < 0;
		return MILTERPROTO_CONTINUE;
	case 3:
		mods_refused = (milterproto_set_reply(mp, "250", NULL, "ok") < 0) +
		               (milterproto_set_reply(mp, "550", "5.7", "x") < 0) +
		               (milterproto_set_reply(mp, "451", NULL, "a\r\nb") < 0);
		return MILTERPROTO_TEMPFAIL;
	default:
		mods_refused += milterproto_insert_header(mp, 0, "X-A", " v") < 0;
		return MILTERPROTO_CONTINUE;
	}
}

static void
t_abort(struct milterproto *mp)
{
	(void)mp;
	buf_puts(&events, "A;");
}

static void
t_close(struct milterproto *mp)
{
	(void)mp;
	buf_puts(&events, "Q;");
}

static int discarded;

static void
t_discard(void *spare)
{
	discarded += spare == (void *)&discarded;
}

static const struct milterproto_ops ops = {
    .negotiate = t_negotiate,
    .connect = t_connect,
    .helo = t_helo,
    .mail = t_mail,
    .rcpt = t_rcpt,
    .header = t_header,
    .eoh = t_eoh,
    .body = t_body,
    .eom = t_eom,
    .abort = t_abort,
    .close = t_close,
    .discard = t_discard,
};

/* ---- packets ---- */

static void
pkt(struct buf *b, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);

	buf_append(b, &n, 4);
	buf_putc(b, cmd);
	buf_append(b, data, len);
}

static void
pkt_s(struct buf *b, char cmd, const char *data)
{
	pkt(b, cmd, data, strlen(data) + 1);
}

static void
optneg(struct buf *b, uint32_t version, uint32_t actions, uint32_t proto)
{
	uint32_t v[3] = {htonl(version), htonl(actions), htonl(proto)};

	pkt(b, SMFIC_OPTNEG, v, sizeof(v));
}

static void
connect4(struct buf *b, const char *host, const char *ip)
{
	struct buf d;

	buf_init(&d, 1024);
	buf_append(&d, host, strlen(host) + 1);
	buf_append(&d, "4\x10\x92", 3);
	buf_append(&d, ip, strlen(ip) + 1);
	pkt(b, SMFIC_CONNECT, d.data, d.len);
	buf_free(&d);
}

/* A message as Postfix sends it: macros, MAIL, RCPT, two fields, end of
 * headers, a body chunk, end of message. */
static void
message(struct buf *b, const char *qid)
{
	char m[64];
	size_t n = (size_t)snprintf(m, sizeof(m), "Mi%c%s", '\0', qid) + 1;

	pkt(b, SMFIC_MACRO, m, n);
	pkt_s(b, SMFIC_MAIL, "<a@b.test>");
	pkt_s(b, SMFIC_RCPT, "<c@d.test>");
	pkt(b, SMFIC_HEADER, "From\0 a@b.test", 15);
	pkt(b, SMFIC_HEADER, "Subject\0 hi", 12);
	pkt(b, SMFIC_MACRO, "Nj\0mx.test", 11);
	pkt(b, SMFIC_EOH, NULL, 0);
	pkt(b, SMFIC_BODY, "Hello.\r\n", 8);
	pkt(b, SMFIC_BODYEOB, NULL, 0);
}

/* The output as text: each packet "cmd[len]" and, for a few, the data. */
static void
show(const unsigned char *p, size_t n, struct buf *out)
{
	struct milterproto_packet k;
	size_t used, i;

	while (milterproto_decode(p, n, &k, &used) == 1) {
		buf_printf(out, "%c", k.cmd);
		if (k.cmd == SMFIC_OPTNEG && k.len == 12) {
			uint32_t v[3];

			memcpy(v, k.data, 12);
			buf_printf(out, "(%u,0x%x,0x%x)", ntohl(v[0]), ntohl(v[1]), ntohl(v[2]));
		} else if (k.len > 0) {
			buf_putc(out, '(');
			for (i = 0; i < k.len; i++)
				buf_putc(out,
				         k.data[i] >= 0x20 && k.data[i] < 0x7f ? k.data[i] : '.');
			buf_putc(out, ')');
		}
		p += used;
		n -= used;
	}
}

/* Feeds the stream in chunks of step bytes (0: at once); returns the last
 * status and the output as text in out. */
static enum milterproto_status
run(struct milterproto *mp, const struct buf *in, size_t step, struct buf *out)
{
	enum milterproto_status st = MILTERPROTO_MORE;
	const unsigned char *o;
	size_t i, n, olen;

	for (i = 0; i < in->len && st == MILTERPROTO_MORE; i += n) {
		n = step == 0 || in->len - i < step ? in->len - i : step;
		st = milterproto_feed(mp, in->data + i, n);
	}
	o = milterproto_output(mp, &olen);
	buf_reset(out);
	show(o, olen, out);
	milterproto_output_done(mp);
	return st;
}

static void
fresh(struct milterproto *mp)
{
	milterproto_reset(mp);
	buf_reset(&events);
	eom_mode = 0;
	mods_refused = 0;
}

static void
test_decode(void)
{
	struct milterproto_packet k;
	size_t used = 0;

	ok(milterproto_decode((const unsigned char *)"\0\0\0", 3, &k, &used) == 0,
	   "decode: 3 bytes need more");
	ok(milterproto_decode((const unsigned char *)"\0\0\0\0", 4, &k, &used) == -1,
	   "decode: length 0 is refused at once");
	ok(milterproto_decode((const unsigned char *)"\0\1\0\1", 4, &k, &used) == -1,
	   "decode: data of 65536 bytes is refused");
	ok(milterproto_decode((const unsigned char *)"\0\1\0\0B", 5, &k, &used) == 0,
	   "decode: data of 65535 bytes is waited for");
	ok(milterproto_decode((const unsigned char *)"\0\0\0\3Lab\0\0\0\0\1", 12, &k, &used) == 1 &&
	       k.cmd == 'L' && k.len == 2 && memcmp(k.data, "ab", 2) == 0 && used == 7,
	   "decode: one packet from the front, with its size on the wire");
}

static void
test_session(struct milterproto *mp)
{
	struct buf in, out;
	const char *want_ev = "Cmail.b.test/192.0.2.1;Hmail.b.test;M<a@b.test>(i=Q1);R<c@d.test>;"
	                      "LFrom= a@b.test;LSubject= hi;N(j=mx.test);B8;E;";
	size_t steps[] = {0, 1, 7, 4096};
	size_t i;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
	connect4(&in, "mail.b.test", "192.0.2.1");
	pkt_s(&in, SMFIC_HELO, "mail.b.test");
	message(&in, "Q1");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fresh(mp);
		ok(run(mp, &in, steps[i], &out) == MILTERPROTO_MORE,
		   "session in chunks of %zu: more", steps[i]);
		ok(strcmp(events.data, want_ev) == 0, "chunks of %zu: callbacks %s", steps[i],
		   events.data);
		ok(strcmp(out.data, "O(6,0x31,0x1cf380)i(....X-A. v.)c") == 0,
		   "chunks of %zu: negotiation, then only the end of message answered: %s",
		   steps[i], out.data);
	}
	ok(milterproto_protocol(mp) == WANT_PROTOCOL, "the agreed flags are kept");
	buf_reset(&in);
	pkt(&in, SMFIC_QUIT, NULL, 0);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_QUIT &&
	       strcmp(events.data + strlen(want_ev), "Q;") == 0 && out.len == 0,
	   "QUIT: close, no reply, the connection ends");
	milterproto_end(mp);
	ok(strcmp(events.data + strlen(want_ev), "Q;") == 0, "end after QUIT: no second close");
	buf_free(&in);
	buf_free(&out);
}

static void
test_old_mta(struct milterproto *mp)
{
	struct buf in, out;
	int rc;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	fresh(mp);
	optneg(&in, 2, 0x3F, 0x7F);
	connect4(&in, "[192.0.2.1]", "192.0.2.1");
	pkt_s(&in, SMFIC_HELO, "x");
	message(&in, "Q2");
	rc = run(mp, &in, 0, &out);
	ok(rc == MILTERPROTO_MORE && strcmp(out.data, "O(2,0x31,0x0)cccccccci(....X-A. v.)c") == 0,
	   "an MTA of version 2 without no-reply: version 2, every step answered: %s", out.data);
	ok(strstr(events.data, "LFrom= a@b.test;") != NULL, "the value as sent: %s", events.data);
	fresh(mp);
	buf_reset(&in);
	optneg(&in, 6, 0, 0);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE && strcmp(out.data, "O(6,0x1,0x0)") == 0,
	   "no flags offered: the version 1 actions, of which only add-header: %s", out.data);
	fresh(mp);
	buf_reset(&in);
	optneg(&in, 1, ALL_ACTIONS, ALL_PROTOCOL);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_ERROR && out.len == 0, "version 1: refused");
	buf_free(&in);
	buf_free(&out);
}

static void
test_eom_actions(struct milterproto *mp)
{
	struct buf in, out;
	const char *want;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	fresh(mp);
	optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
	connect4(&in, "h", "192.0.2.9");
	message(&in, "Q3");
	eom_mode = 1;
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE && mods_refused == 0 &&
	       strcmp(out.data, "O(6,0x31,0x1cf380)y(550 5.7.1 go away.)") == 0,
	   "reject with a reply text: SMFIR_REPLYCODE: %s", out.data);
	buf_reset(&in);
	message(&in, "Q4");
	eom_mode = 2;
	want = "h(X-A.one.)i(....X-B.two.)m(....X-C..)q(why.)c";
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE && mods_refused == 0 &&
	       strcmp(out.data, want) == 0,
	   "add, insert, change, quarantine, in order, then continue: %s", out.data);
	buf_reset(&in);
	message(&in, "Q5");
	eom_mode = 3;
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE && strcmp(out.data, "t") == 0 &&
	       mods_refused == 3,
	   "a bad reply code, enhanced code or text is refused, and tempfail is plain: %s %d",
	   out.data, mods_refused);
	ok(milterproto_add_header(mp, "X-A", "v") < 0, "no modification outside end of message");
	buf_free(&in);
	buf_free(&out);
}

static void
test_order_and_macros(struct milterproto *mp)
{
	struct buf in, out;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	fresh(mp);
	optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
	pkt(&in, SMFIC_HEADER, "From\0 x", 8);
	pkt(&in, SMFIC_BODYEOB, NULL, 0);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE && strcmp(events.data, "") == 0 &&
	       strcmp(out.data, "O(6,0x31,0x1cf380)") == 0,
	   "a header and end of message before connect: ignored, unanswered: %s %s", events.data,
	   out.data);
	fresh(mp);
	buf_reset(&in);
	optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
	connect4(&in, "h", "192.0.2.9");
	pkt(&in, SMFIC_MACRO, "Mi\0Q6\0{auth_authen}", 20);
	pkt_s(&in, SMFIC_MAIL, "<a@b.test>");
	pkt_s(&in, SMFIC_RCPT, "<c@d.test>");
	pkt_s(&in, SMFIC_MAIL, "<e@b.test>");
	pkt(&in, SMFIC_MACRO, "M{i}\0Q7\0", 8);
	pkt_s(&in, SMFIC_MAIL, "<f@b.test>");
	pkt(&in, SMFIC_ABORT, NULL, 0);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE &&
	       strcmp(events.data, "Ch/192.0.2.9;M<a@b.test>(i=Q6);R<c@d.test>;A;M<e@b.test>(i=Q6);"
	                           "A;M<f@b.test>(i=Q7);A;") == 0,
	   "MAIL again mid-message aborts it; a macro without value is passed over; {i} "
	   "and i are one: %s",
	   events.data);
	ok(milterproto_macro(mp, "{auth_authen}") == NULL, "a name without a value has none");
	buf_reset(&in);
	pkt(&in, SMFIC_QUIT_NC, NULL, 0);
	connect4(&in, "h2", "192.0.2.10");
	pkt(&in, SMFIC_HEADER, "From\0 y", 8);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE &&
	       strstr(events.data, "A;Q;Ch2/192.0.2.10;") != NULL && out.len == 0 &&
	       milterproto_macro(mp, "i") == NULL,
	   "QUIT_NC: close, macros gone, the next connect on the same connection, flags "
	   "kept: %s",
	   events.data);
	buf_reset(&events);
	milterproto_end(mp);
	ok(strcmp(events.data, "Q;") == 0, "end mid-session: close: %s", events.data);
	buf_reset(&in);
	fresh(mp);
	optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
	connect4(&in, "h", "192.0.2.9");
	pkt_s(&in, SMFIC_MAIL, "<a@b.test>");
	run(mp, &in, 0, &out);
	buf_reset(&events);
	milterproto_end(mp);
	ok(strcmp(events.data, "A;Q;") == 0, "end mid-message: abort, close: %s", events.data);
	buf_free(&in);
	buf_free(&out);
}

/* Each is sent after negotiation and connect; each must end the
 * connection. */
static void
test_garbage(struct milterproto *mp)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
		int after; /* 0: negotiation; 1: and connect, MAIL, RCPT */
	} bad[] = {
	    {"unknown command", "\0\0\0\5Zabcd", 9, 1},
	    {"zero length", "\0\0\0\0", 4, 1},
	    {"oversized length",
	     "\x7f\xff\xff\xf0"
	     "Bzz",
	     7, 1},
	    {"header without NUL", "\0\0\0\x09LFromabcd", 13, 1},
	    {"header without value", "\0\0\0\x06LFrom\0", 10, 1},
	    {"header without a name", "\0\0\0\x05L\0x\0", 9, 1},
	    {"MAIL without NUL", "\0\0\0\x04M<a>", 8, 0},
	    {"connect with bad family",
	     "\0\0\0\x0c"
	     "Chost\0Z\0\0ab",
	     16, 0},
	    {"connect with bad address",
	     "\0\0\0\x0e"
	     "Chost\0"
	     "4\0\0"
	     "1.2.3\0",
	     18, 0},
	    {"connect without family",
	     "\0\0\0\x06"
	     "Chost\0",
	     10, 0},
	};
	struct buf in, out;
	size_t i;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fresh(mp);
		buf_reset(&in);
		optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
		if (bad[i].after) {
			connect4(&in, "h", "192.0.2.9");
			pkt_s(&in, SMFIC_MAIL, "<a@b.test>");
			pkt_s(&in, SMFIC_RCPT, "<c@d.test>");
		}
		buf_append(&in, bad[i].bytes, bad[i].len);
		ok(run(mp, &in, 0, &out) == MILTERPROTO_ERROR &&
		       milterproto_run(mp) == MILTERPROTO_ERROR,
		   "%s: error, and it stays", bad[i].name);
	}
	fresh(mp);
	buf_reset(&in);
	buf_append(&in, "\0\0\0\x05O\0\0\0\6", 9);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_ERROR, "short negotiation: error");
	fresh(mp);
	buf_reset(&in);
	buf_puts(&in, "GET / HTTP/1.0\r\n\r\n");
	ok(run(mp, &in, 0, &out) == MILTERPROTO_ERROR && out.len == 0,
	   "garbage instead of negotiation: error");
	fresh(mp);
	buf_reset(&in);
	optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
	pkt(&in, SMFIC_MACRO, "M{i", 3);
	pkt(&in, SMFIC_MACRO, "Zi\0x\0", 5);
	pkt(&in, SMFIC_CONNECT, "localhost\0U", 11);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE &&
	       strcmp(events.data, "Clocalhost/none;") == 0,
	   "a macro packet that does not parse is passed over; family U has no address: %s",
	   events.data);
	buf_free(&in);
	buf_free(&out);
}

static void
test_sizes(struct milterproto *mp)
{
	struct buf in, out;
	char *big = calloc(1, MILTERPROTO_DATA_MAX);
	size_t i;
	int rc;

	buf_init(&in, 1 << 22);
	buf_init(&out, 1 << 20);
	fresh(mp);
	optneg(&in, 6, ALL_ACTIONS, ALL_PROTOCOL);
	connect4(&in, "h", "192.0.2.9");
	pkt_s(&in, SMFIC_MAIL, "<a@b.test>");
	pkt_s(&in, SMFIC_RCPT, "<c@d.test>");
	pkt(&in, SMFIC_EOH, NULL, 0);
	for (i = 0; i < 5; i++)
		pkt(&in, SMFIC_BODY, big, MILTERPROTO_DATA_MAX);
	ok(run(mp, &in, 0, &out) == MILTERPROTO_MORE &&
	       strstr(events.data, "B65535;B65535;B65535;B65535;B65535;") != NULL,
	   "body chunks of the largest size, whole: %s", events.data + 30);
	fresh(mp);
	buf_reset(&in);
	optneg(&in, 6, ALL_ACTIONS, 0x7F);
	connect4(&in, "h", "192.0.2.9");
	pkt_s(&in, SMFIC_MAIL, "<a@b.test>");
	pkt_s(&in, SMFIC_RCPT, "<c@d.test>");
	for (i = 0; i < 20000; i++)
		pkt(&in, SMFIC_HEADER, "X\0 y", 5);
	rc = (int)milterproto_feed(mp, in.data, 131000);
	ok(rc == MILTERPROTO_MORE, "feed takes a buffer's worth");
	milterproto_output_done(mp);
	{
		unsigned char *space;
		size_t room;

		fresh(mp);
		space = milterproto_space(mp, &room);
		memcpy(space, in.data, in.len < room ? in.len : room);
		milterproto_filled(mp, in.len < room ? in.len : room);
		rc = milterproto_run(mp);
		milterproto_output(mp, &i);
		ok(rc == MILTERPROTO_AGAIN && i >= 65536 && i < 65536 + 16,
		   "answered steps: run stops once 64 KiB of replies wait (%zu)", i);
		milterproto_output_done(mp);
		ok(milterproto_run(mp) == MILTERPROTO_MORE, "and goes on once they were written");
	}
	free(big);
	buf_free(&in);
	buf_free(&out);
}

int
main(void)
{
	struct milterproto *mp = milterproto_new(&ops);

	buf_init(&events, 1 << 20);
	test_decode();
	test_session(mp);
	test_old_mta(mp);
	test_eom_actions(mp);
	test_order_and_macros(mp);
	test_garbage(mp);
	test_sizes(mp);
	milterproto_set_spare(mp, &discarded);
	milterproto_reset(mp);
	ok(milterproto_spare(mp) == &discarded && milterproto_priv(mp) == NULL,
	   "the spare outlives a reset, the connection's state does not");
	milterproto_free(mp);
	ok(discarded == 1, "the spare left at the end is discarded");
	buf_free(&events);
	return done_testing();
}
