/*
 * proxyhdr - the PROXY protocol header (HAProxy's proxy-protocol.txt,
 * versions 1 and 2) that a trusted proxy sends before anything else on a
 * connection, naming the client it accepted.
 *
 * A pure parser over the bytes received so far: it says whether they hold
 * a whole header, too few bytes yet, or something that is no header.
 * Limits: a version 1 line of at most PROXYHDR_V1_MAX bytes with its CRLF;
 * a version 2 header of at most PROXYHDR_V2_MAX bytes (TLVs skipped, not
 * read).  Only the source address counts; the destination is checked for
 * syntax only.  LOCAL (v2) and UNKNOWN (v1) mean "no client address":
 * the connection is the proxy's own (health checks), and the TCP peer
 * stands.
 */
#ifndef AUTH_PROXYHDR_H
#define AUTH_PROXYHDR_H

#include <stddef.h>

#define PROXYHDR_V1_MAX 107
#define PROXYHDR_V2_MAX 1024

struct proxyhdr {
	int version; /* 1 or 2 */
	int family;  /* AF_INET, AF_INET6, or 0: LOCAL / UNKNOWN */
	char addr[46];
	unsigned port;
};

/* 1 with *used the header's length, 0 when more bytes are needed, -1
 * when the bytes are not a header we take. */
int proxyhdr_parse(const unsigned char *p, size_t n, struct proxyhdr *out, size_t *used);

/* Whether the first bytes could start a PROXY header of either version
 * (for refusing one from a client that is not a trusted proxy). */
int proxyhdr_looks_like(const unsigned char *p, size_t n);

#endif
