/*
 * proxyhdr - see proxyhdr.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyhdr.h"

static const unsigned char proxyhdr_sig2[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

int
proxyhdr_looks_like(const unsigned char *p, size_t n)
{
	size_t k = n < 6 ? n : 6;

	if (n > 0 && memcmp(p, "PROXY ", k) == 0)
		return 1;
	k = n < sizeof(proxyhdr_sig2) ? n : sizeof(proxyhdr_sig2);
	return n > 0 && memcmp(p, proxyhdr_sig2, k) == 0;
}

/* One space-separated word of a v1 line into out (NUL-terminated). */
static const char *
proxyhdr_word(const char *p, const char *end, char *out, size_t outlen)
{
	size_t n = 0;

	while (p < end && *p != ' ') {
		if (n + 1 >= outlen)
			return NULL;
		out[n++] = *p++;
	}
	out[n] = '\0';
	if (n == 0)
		return NULL;
	return p < end ? p + 1 : p;
}

static bool
proxyhdr_port(const char *s, unsigned *out)
{
	size_t n = strlen(s);

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
		return false;
	*out = (unsigned)atoi(s);
	return *out <= 65535;
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT" or "PROXY UNKNOWN ..." */
static int
proxyhdr_v1_fields(const char *p, const char *end, struct proxyhdr *out)
{
	char proto[8], src[48], dst[48], sport[8], dport[8];
	unsigned char bin[16];
	unsigned dp;
	int fam;

	if ((p = proxyhdr_word(p + 6, end, proto, sizeof(proto))) == NULL)
		return -1;
	if (strcmp(proto, "UNKNOWN") == 0)
		return 0;
	fam = strcmp(proto, "TCP4") == 0 ? AF_INET : strcmp(proto, "TCP6") == 0 ? AF_INET6 : 0;
	if (fam == 0 || (p = proxyhdr_word(p, end, src, sizeof(src))) == NULL ||
	    (p = proxyhdr_word(p, end, dst, sizeof(dst))) == NULL ||
	    (p = proxyhdr_word(p, end, sport, sizeof(sport))) == NULL ||
	    proxyhdr_word(p, end, dport, sizeof(dport)) == NULL || p + strlen(dport) != end)
		return -1;
	if (inet_pton(fam, src, bin) != 1 || inet_pton(fam, dst, bin) != 1 ||
	    !proxyhdr_port(sport, &out->port) || !proxyhdr_port(dport, &dp))
		return -1;
	out->family = fam;
	memcpy(out->addr, src, strlen(src) + 1);
	return 0;
}

static int
proxyhdr_v1(const unsigned char *p, size_t n, struct proxyhdr *out, size_t *used)
{
	const unsigned char *lf = memchr(p, '\n', n < PROXYHDR_V1_MAX ? n : PROXYHDR_V1_MAX);

	if (lf == NULL)
		return n >= PROXYHDR_V1_MAX ? -1 : 0;
	if (lf == p || lf[-1] != '\r' || memchr(p, '\0', (size_t)(lf - p)) != NULL)
		return -1;
	out->version = 1;
	if (proxyhdr_v1_fields((const char *)p, (const char *)lf - 1, out) < 0)
		return -1;
	*used = (size_t)(lf + 1 - p);
	return 1;
}

static int
proxyhdr_v2_addr(const unsigned char *a, size_t len, int fam, struct proxyhdr *out)
{
	size_t alen = fam == AF_INET ? 4 : 16;

	/* Source address, destination address, source port, destination port. */
	if (len < 2 * alen + 4 || inet_ntop(fam, a, out->addr, sizeof(out->addr)) == NULL)
		return -1;
	out->family = fam;
	out->port = (unsigned)a[2 * alen] << 8 | a[2 * alen + 1];
	return 0;
}

static int
proxyhdr_v2(const unsigned char *p, size_t n, struct proxyhdr *out, size_t *used)
{
	size_t len;

	if (n < 16)
		return 0;
	len = (size_t)p[14] << 8 | p[15];
	if (16 + len > PROXYHDR_V2_MAX || (p[12] & 0xf0) != 0x20 || (p[12] & 0x0f) > 1)
		return -1;
	if (n < 16 + len)
		return 0;
	out->version = 2;
	*used = 16 + len;
	if ((p[12] & 0x0f) == 0) /* LOCAL */
		return 1;
	switch (p[13]) {
	case 0x11: /* TCP over IPv4 */
		return proxyhdr_v2_addr(p + 16, len, AF_INET, out) < 0 ? -1 : 1;
	case 0x21: /* TCP over IPv6 */
		return proxyhdr_v2_addr(p + 16, len, AF_INET6, out) < 0 ? -1 : 1;
	case 0x00: /* UNSPEC: no address, as LOCAL */
		return 1;
	default:
		return -1;
	}
}

int
proxyhdr_parse(const unsigned char *p, size_t n, struct proxyhdr *out, size_t *used)
{
	memset(out, 0, sizeof(*out));
	if (!proxyhdr_looks_like(p, n))
		return -1;
	if (n > 0 && p[0] == 'P')
		return n < 6 ? 0 : proxyhdr_v1(p, n, out, used);
	return n < sizeof(proxyhdr_sig2) ? 0 : proxyhdr_v2(p, n, out, used);
}
