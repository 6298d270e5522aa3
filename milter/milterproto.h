/*
 * milterproto - the filter side of the milter protocol, version 6, as
 * Postfix and Sendmail speak it; no I/O of its own.
 *
 * On the wire every packet is a 4-byte length in network order (counting
 * what follows), a command byte and its data.  A struct milterproto is one
 * MTA connection: bytes read from the socket go into its input buffer
 * (milterproto_space() and milterproto_filled(), or milterproto_feed()),
 * milterproto_run() takes every complete packet from it and calls the
 * filter's callbacks (struct milterproto_ops), and the replies it and the
 * callbacks produce gather in its output (milterproto_output()), so the
 * caller writes a whole batch of replies at once.  Many packets may arrive
 * in one read: with the no-reply flags the MTA sends headers and body
 * chunks without waiting.
 *
 * What it does for the filter: option negotiation (the version, the
 * actions and protocol flags both sides agree to), the macros
 * (SMFIC_MACRO, kept per protocol stage as libmilter keeps them, and
 * looked up by milterproto_macro()), the order of the steps (a command out
 * of order aborts the message in progress and is taken as if after HELO,
 * or ignored when it cannot follow HELO either), the reply to each step
 * (SMFIR_CONTINUE, or nothing where the MTA agreed to expect none), and
 * the modifications and final reply at end of message.
 *
 * Limits: a packet's data is at most MILTERPROTO_DATA_MAX bytes (what
 * libmilter accepts); a longer or empty packet, an unknown command, or a
 * command whose data does not parse ends the connection
 * (MILTERPROTO_ERROR), never more than that.  The input buffer is fixed
 * (two packets' worth); the output is bounded by MILTERPROTO_OUT_MAX.
 *
 * Ownership: milterproto_new() allocates everything, milterproto_free()
 * releases it; milterproto_reset() readies it for the next connection,
 * keeping its buffers.  The filter's per-connection state hangs on
 * milterproto_set_priv() and is the filter's to free (in its close
 * callback), and so is the spare (milterproto_set_spare(), freed by the
 * discard callback if still there at milterproto_free()).  Not thread-safe: one connection, one
 * thread at a time.
 */
#ifndef AUTH_MILTERPROTO_H
#define AUTH_MILTERPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Commands (MTA to filter). */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_QUIT_NC 'K'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'
#define SMFIC_UNKNOWN 'U'

/* Replies (filter to MTA). */
#define SMFIR_ACCEPT 'a'
#define SMFIR_CONTINUE 'c'
#define SMFIR_DISCARD 'd'
#define SMFIR_ADDHEADER 'h'
#define SMFIR_INSHEADER 'i'
#define SMFIR_CHGHEADER 'm'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT 'r'
#define SMFIR_TEMPFAIL 't'
#define SMFIR_REPLYCODE 'y'

/* Actions the filter may take at end of message. */
#define SMFIF_ADDHDRS 0x01u
#define SMFIF_CHGBODY 0x02u
#define SMFIF_ADDRCPT 0x04u
#define SMFIF_DELRCPT 0x08u
#define SMFIF_CHGHDRS 0x10u
#define SMFIF_QUARANTINE 0x20u

/* Protocol flags: steps the MTA leaves out, replies it does not wait for. */
#define SMFIP_NOCONNECT 0x01u
#define SMFIP_NOHELO 0x02u
#define SMFIP_NOMAIL 0x04u
#define SMFIP_NORCPT 0x08u
#define SMFIP_NOBODY 0x10u
#define SMFIP_NOHDRS 0x20u
#define SMFIP_NOEOH 0x40u
#define SMFIP_NR_HDR 0x80u
#define SMFIP_NOUNKNOWN 0x100u
#define SMFIP_NODATA 0x200u
#define SMFIP_NR_CONN 0x1000u
#define SMFIP_NR_HELO 0x2000u
#define SMFIP_NR_MAIL 0x4000u
#define SMFIP_NR_RCPT 0x8000u
#define SMFIP_NR_DATA 0x10000u
#define SMFIP_NR_UNKN 0x20000u
#define SMFIP_NR_EOH 0x40000u
#define SMFIP_NR_BODY 0x80000u
#define SMFIP_HDR_LEADSPC 0x100000u

#define MILTERPROTO_VERSION 6
#define MILTERPROTO_DATA_MAX 65535
/* The output a batch of replies may take. */
#define MILTERPROTO_OUT_MAX (1u << 20)

struct milterproto;

/* What the filter answers at end of message. */
enum milterproto_final {
	MILTERPROTO_CONTINUE,
	MILTERPROTO_ACCEPT,
	MILTERPROTO_REJECT,
	MILTERPROTO_TEMPFAIL,
	MILTERPROTO_DISCARD,
};

/* The filter.  Strings are NUL-terminated views into the packet, valid
 * during the call only.  Steps have no say in the reply: the filter acts
 * at end of message.  Any callback may be NULL. */
struct milterproto_ops {
	/* What the MTA offers; *actions and *proto come in as the offer and
	 * go out as what the filter wants (only what was offered is kept). */
	void (*negotiate)(struct milterproto *mp, uint32_t *actions, uint32_t *proto);
	/* sa is NULL when the MTA does not know the client's address. */
	void (*connect)(struct milterproto *mp, const char *host, const struct sockaddr *sa);
	void (*helo)(struct milterproto *mp, const char *name);
	/* The address only: the ESMTP parameters after it are not passed. */
	void (*mail)(struct milterproto *mp, const char *sender);
	void (*rcpt)(struct milterproto *mp, const char *rcpt);
	/* The name and the value up to its first NUL; value as the MTA
	 * sent it (with its leading space under SMFIP_HDR_LEADSPC). */
	void (*header)(struct milterproto *mp, const char *name, size_t nlen, const char *value,
	               size_t vlen);
	void (*eoh)(struct milterproto *mp);
	void (*body)(struct milterproto *mp, const unsigned char *chunk, size_t len);
	/* May call the modification functions below before it returns. */
	enum milterproto_final (*eom)(struct milterproto *mp);
	/* The message in progress ends without end of message. */
	void (*abort)(struct milterproto *mp);
	/* The SMTP session ends: QUIT, the next session on the same
	 * connection (SMFIC_QUIT_NC), or the connection closed.  May come
	 * twice; the filter frees its state the first time (or keeps it as
	 * the spare). */
	void (*close)(struct milterproto *mp);
	/* Frees a spare left at milterproto_free(). */
	void (*discard)(void *spare);
};

/* What milterproto_run() found. */
enum milterproto_status {
	MILTERPROTO_MORE,  /* every complete packet taken: read more */
	MILTERPROTO_AGAIN, /* the output is full: write it, then run again */
	MILTERPROTO_QUIT,  /* the MTA said QUIT: write the output and close */
	MILTERPROTO_ERROR, /* not the protocol: close */
};

/* One packet as decoded: the command and its data (a view). */
struct milterproto_packet {
	unsigned char cmd;
	const unsigned char *data;
	size_t len;
};

/* The first packet of (p, n): 1 with *pkt and *used (its bytes on the
 * wire), 0 when more bytes are needed, -1 when the length is 0 or over
 * MILTERPROTO_DATA_MAX + 1. */
int milterproto_decode(const unsigned char *p, size_t n, struct milterproto_packet *pkt,
                       size_t *used);

/* NULL when out of memory. */
struct milterproto *milterproto_new(const struct milterproto_ops *ops);
void milterproto_free(struct milterproto *mp);
/* Forgets the connection: state, macros, buffered bytes, priv. */
void milterproto_reset(struct milterproto *mp);

/* Where the next read goes and how much fits (never 0 after run() said
 * MILTERPROTO_MORE); then how much was read there. */
unsigned char *milterproto_space(struct milterproto *mp, size_t *len);
void milterproto_filled(struct milterproto *mp, size_t len);
/* Copies bytes in and runs as they fit; returns as run() does, stopping
 * at QUIT or an error.  The output still gathers: take it meanwhile. */
enum milterproto_status milterproto_feed(struct milterproto *mp, const void *p, size_t len);
enum milterproto_status milterproto_run(struct milterproto *mp);
/* At the end of the connection, however it ended: abort and close. */
void milterproto_end(struct milterproto *mp);

/* The replies gathered; milterproto_output_done() drops them once
 * written. */
const unsigned char *milterproto_output(const struct milterproto *mp, size_t *len);
void milterproto_output_done(struct milterproto *mp);

void *milterproto_priv(const struct milterproto *mp);
void milterproto_set_priv(struct milterproto *mp, void *priv);
/* State the filter keeps from one connection to the next served by the
 * same object (milterproto_reset() leaves it), so that a connection need
 * not build it anew. */
void *milterproto_spare(const struct milterproto *mp);
void milterproto_set_spare(struct milterproto *mp, void *spare);
/* The protocol flags agreed with the MTA (0 before negotiation). */
uint32_t milterproto_protocol(const struct milterproto *mp);
/* A macro's value, "x" and "{x}" alike, from the latest stage that has
 * it; NULL when the MTA did not send it. */
const char *milterproto_macro(const struct milterproto *mp, const char *name);

/* During eom only, and for an action agreed; each returns 0, or -1 when
 * it may not or the value does not fit in a packet. */
int milterproto_add_header(struct milterproto *mp, const char *name, const char *value);
int milterproto_insert_header(struct milterproto *mp, uint32_t index, const char *name,
                              const char *value);
/* The index-th field of that name (from 1); an empty value deletes it. */
int milterproto_change_header(struct milterproto *mp, uint32_t index, const char *name,
                              const char *value);
int milterproto_quarantine(struct milterproto *mp, const char *reason);
/* The SMTP reply a reject or tempfail gets: code 4xx or 5xx, an enhanced
 * code or NULL, and text without CR or LF (at most 980 bytes). */
int milterproto_set_reply(struct milterproto *mp, const char *code, const char *xcode,
                          const char *text);

#endif
