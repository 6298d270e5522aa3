/*
 * test-proxyhdr - PROXY protocol v1 and v2 headers: addresses, partial
 * input, LOCAL and UNKNOWN, and what is refused.
 */
#include "autoconf.h"

#include <string.h>
#include <sys/socket.h>

#include "proxyhdr.h"
#include "tap.h"

static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                      0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static int
v1(const char *s, struct proxyhdr *h, size_t *used)
{
	return proxyhdr_parse((const unsigned char *)s, strlen(s), h, used);
}

static void
test_v1(void)
{
	struct proxyhdr h;
	size_t used = 0;

	is_int(v1("PROXY TCP4 192.0.2.1 198.51.100.2 40000 25\r\nEHLO x\r\n", &h, &used), 1,
	       "v1 TCP4");
	ok(h.version == 1 && h.family == AF_INET && strcmp(h.addr, "192.0.2.1") == 0 &&
	       h.port == 40000,
	   "source address and port");
	is_int(used, 44, "the header's bytes only");
	is_int(v1("PROXY TCP6 2001:db8::1 2001:db8::2 1 25\r\n", &h, &used), 1, "v1 TCP6");
	ok(h.family == AF_INET6 && strcmp(h.addr, "2001:db8::1") == 0, "IPv6 source");
	is_int(v1("PROXY UNKNOWN\r\n", &h, &used), 1, "v1 UNKNOWN");
	is_int(h.family, 0, "has no address");
	is_int(v1("PROXY TCP4 192.0.2.1 198.51", &h, &used), 0, "a partial line needs more");
	is_int(v1("PRO", &h, &used), 0, "so does a partial PROXY");
	is_int(v1("PROXY TCP4 192.0.2.1 198.51.100.2 40000 25\n", &h, &used), -1, "LF alone");
	is_int(v1("PROXY TCP4 192.0.2.1 198.51.100.2 70000 25\r\n", &h, &used), -1,
	       "a port past 65535");
	is_int(v1("PROXY TCP4 2001:db8::1 198.51.100.2 1 25\r\n", &h, &used), -1,
	       "an IPv6 address for TCP4");
	is_int(v1("PROXY TCP4 192.0.2.1 198.51.100.2 1 25 x\r\n", &h, &used), -1, "a sixth word");
	is_int(v1("PROXY UDP4 192.0.2.1 198.51.100.2 1 25\r\n", &h, &used), -1, "UDP");
	is_int(v1("EHLO client\r\n", &h, &used), -1, "an SMTP command is no header");
	ok(proxyhdr_looks_like((const unsigned char *)"PROXY TCP4", 10), "looks like a header");
	ok(!proxyhdr_looks_like((const unsigned char *)"EHLO", 4), "EHLO does not");
	{
		char line[PROXYHDR_V1_MAX + 10];

		memset(line, 'x', sizeof(line) - 1);
		memcpy(line, "PROXY ", 6);
		line[sizeof(line) - 1] = '\0';
		is_int(v1(line, &h, &used), -1, "a line past PROXYHDR_V1_MAX");
	}
}

static size_t
v2_header(unsigned char *b, unsigned char cmd, unsigned char fam, const unsigned char *addrs,
          size_t alen, size_t tlv)
{
	memcpy(b, sig, 12);
	b[12] = cmd;
	b[13] = fam;
	b[14] = (unsigned char)((alen + tlv) >> 8);
	b[15] = (unsigned char)(alen + tlv);
	memcpy(b + 16, addrs, alen);
	memset(b + 16 + alen, 0, tlv);
	return 16 + alen + tlv;
}

static void
test_v2(void)
{
	unsigned char b[2048], a4[12] = {192, 0, 2, 9, 198, 51, 100, 2, 0x9c, 0x40, 0, 25};
	unsigned char a6[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5, [32] = 0, 80};
	struct proxyhdr h;
	size_t used, n;

	n = v2_header(b, 0x21, 0x11, a4, sizeof(a4), 7);
	is_int(proxyhdr_parse(b, n + 3, &h, &used), 1, "v2 PROXY TCP4 with TLVs");
	ok(h.version == 2 && h.family == AF_INET && strcmp(h.addr, "192.0.2.9") == 0 &&
	       h.port == 40000,
	   "source address and port");
	is_int(used, n, "TLVs skipped, nothing after them taken");
	is_int(proxyhdr_parse(b, n - 1, &h, &used), 0, "a partial header needs more");
	is_int(proxyhdr_parse(b, 5, &h, &used), 0, "so does a partial signature");
	n = v2_header(b, 0x21, 0x21, a6, sizeof(a6), 0);
	is_int(proxyhdr_parse(b, n, &h, &used), 1, "v2 TCP6");
	ok(h.family == AF_INET6 && strcmp(h.addr, "2001:db8::5") == 0 && h.port == 80,
	   "IPv6 source");
	n = v2_header(b, 0x20, 0x00, a4, 0, 0);
	is_int(proxyhdr_parse(b, n, &h, &used), 1, "v2 LOCAL");
	is_int(h.family, 0, "has no address");
	n = v2_header(b, 0x11, 0x11, a4, sizeof(a4), 0);
	is_int(proxyhdr_parse(b, n, &h, &used), -1, "version 1 in a v2 header");
	n = v2_header(b, 0x21, 0x12, a4, sizeof(a4), 0);
	is_int(proxyhdr_parse(b, n, &h, &used), -1, "UDP");
	n = v2_header(b, 0x21, 0x11, a4, 8, 0);
	is_int(proxyhdr_parse(b, n, &h, &used), -1, "addresses cut short");
	n = v2_header(b, 0x21, 0x11, a4, sizeof(a4), PROXYHDR_V2_MAX);
	is_int(proxyhdr_parse(b, 16, &h, &used), -1, "a length past PROXYHDR_V2_MAX");
}

int
main(void)
{
	test_v1();
	test_v2();
	return done_testing();
}
