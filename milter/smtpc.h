/*
 * smtpc - a blocking SMTP and LMTP client with timeouts, for handing mail
 * to a next hop.
 *
 * One struct smtpc is one connection, used by one thread at a time (the
 * SMTP listener's workers; later the report mailer).  smtpc_open()
 * connects (TCP, or a unix socket for LMTP), reads the greeting, says
 * EHLO (LHLO for LMTP), and, when the server offers STARTTLS and the
 * options allow it, starts TLS (1.2 or later; the certificate is not
 * checked: opportunistic, as an MTA relaying to its own next hop does)
 * and says EHLO again.  Then a transaction: smtpc_mail(), smtpc_rcpt()
 * for each recipient, smtpc_data() with the message, and either
 * smtpc_rset() or another transaction; smtpc_close() says QUIT.
 *
 * Every wait is bounded: connect by connect_timeout_ms, each reply by
 * timeout_ms, the reply to the end of the message by data_timeout_ms.
 * Every call that talks returns 0 when the server answered (its reply in
 * *r; look at r->code), or -1 when the connection failed (err set; the
 * caller must smtpc_close() it and treat the server as unreachable).
 *
 * Replies are read by smtpc_reply_parse(), bounded: a line of at most
 * SMTPC_LINE_MAX bytes, at most SMTPC_REPLY_LINES lines; past either the
 * reply is malformed and the connection fails.
 *
 * Ownership: the caller owns the struct smtpc until smtpc_close();
 * replies are the caller's structs, filled in place.
 */
#ifndef AUTH_SMTPC_H
#define AUTH_SMTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* RFC 5321 §4.5.3.1.5 allows 512; servers write longer text. */
#define SMTPC_LINE_MAX 2048
#define SMTPC_REPLY_LINES 200
/* Reply text kept (lines joined by '\n'); longer text is cut. */
#define SMTPC_TEXT_MAX 2048

enum smtpc_proto { SMTPC_SMTP, SMTPC_LMTP };

struct smtpc_target {
	enum smtpc_proto proto;
	char host[256]; /* "" for a unix socket */
	char port[8];
	char path[108]; /* a unix socket (LMTP only), or "" */
};

/* "smtp:HOST:PORT", "lmtp:HOST:PORT" or "lmtp:unix:/path"; HOST may be
 * [IPv6].  Returns 0, or -1 with why in msg. */
int smtpc_target_parse(const char *spec, struct smtpc_target *t, char *msg, size_t msglen);

struct smtpc_reply {
	int code;     /* 200..599; 0 when there was no reply */
	char dsn[16]; /* the enhanced status code of the first line, or "" */
	char text[SMTPC_TEXT_MAX];
};

/* Parses one complete reply from the start of (p, n).  Returns 1 with
 * *used the bytes it took, 0 when more bytes are needed, -1 when the
 * bytes are no reply or exceed the limits. */
int smtpc_reply_parse(const char *p, size_t n, struct smtpc_reply *r, size_t *used);

struct smtpc_opts {
	const char *helo; /* our name in EHLO */
	unsigned connect_timeout_ms, timeout_ms, data_timeout_ms;
	bool starttls; /* when offered */
};

/* What the server said it supports. */
#define SMTPC_EXT_STARTTLS 0x01u
#define SMTPC_EXT_SIZE 0x02u
#define SMTPC_EXT_8BITMIME 0x04u
#define SMTPC_EXT_PIPELINING 0x08u

struct smtpc;

/* Connects and greets.  NULL when that failed: r->code is the server's
 * refusal (greeting or EHLO), or 0 when it could not be reached. */
struct smtpc *smtpc_open(const struct smtpc_target *t, const struct smtpc_opts *o,
                         struct smtpc_reply *r, struct auth_error *err);
unsigned smtpc_extensions(const struct smtpc *c);
bool smtpc_tls(const struct smtpc *c);

/* size 0: no SIZE parameter; body_8bit: BODY=8BITMIME (each only when the
 * server offers the extension). */
int smtpc_mail(struct smtpc *c, const char *from, size_t size, bool body_8bit,
               struct smtpc_reply *r, struct auth_error *err);
int smtpc_rcpt(struct smtpc *c, const char *to, struct smtpc_reply *r, struct auth_error *err);

/* The message, as pieces sent one after the other. */
struct smtpc_piece {
	const char *p;
	size_t n;
};

/*
 * DATA: the pieces make the message with CRLF line ends; they are
 * dot-stuffed here and ended with CRLF.CRLF.  The reply to DATA goes in
 * replies[0] when it is not 354; otherwise SMTP gives one reply in
 * replies[0], LMTP one per accepted recipient in replies[0..nreplies-1]
 * (nreplies: how many RCPT got 2xx).
 */
int smtpc_data(struct smtpc *c, const struct smtpc_piece *pieces, size_t npieces,
               struct smtpc_reply *replies, size_t nreplies, struct auth_error *err);
int smtpc_rset(struct smtpc *c, struct smtpc_reply *r, struct auth_error *err);
/* QUIT (when the connection still works) and close; NULL is harmless. */
void smtpc_close(struct smtpc *c);
/* Closes at once without QUIT, never waiting (an open transaction is
 * abandoned, which the server discards); NULL is harmless. */
void smtpc_drop(struct smtpc *c);

#endif
