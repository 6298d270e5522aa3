/*
 * smtpd_int - what the listener's three files share: the server
 * (smtpd.c: sockets, limits, the loop, drain), a connection's protocol
 * (smtpd_conn.c: one state per phase, one function per command) and the
 * work done off the loop (smtpd_job.c: SPF at MAIL, the next hop's RCPT,
 * evaluation and delivery at end of DATA).  Not a public interface.
 *
 * A connection is touched by one thread at a time: the loop thread, or
 * the worker running its one job (while SC_BUSY, the loop reads nothing
 * for it and leaves its session, transaction and next hop alone).
 */
#ifndef AUTH_SMTPD_INT_H
#define AUTH_SMTPD_INT_H

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "confref.h"
#include "session.h"
#include "smtpc.h"
#include "smtpcmd.h"
#include "smtpd_conf.h"
#include "smtpdata.h"
#include "workpool.h"

/* RFC 5321 §4.5.3.1.4, with room for the parameters of the extensions
 * we announce (RFC 1870 allows SIZE 26 more bytes). */
#define SMTPD_COMMAND_MAX (512 + 40)
/* XCLIENT from a trusted proxy carries names of up to 255 bytes each. */
#define SMTPD_XCLIENT_MAX 2048
/* Refused commands after which a client is dropped. */
#define SMTPD_MAX_ERRORS 20
#define SMTPD_REPLY_MAX 600
/* Bytes read ahead of what is processed (pipelined commands). */
#define SMTPD_READ_AHEAD (64u * 1024)
#define SMTPD_QID_MAX 24

enum smtpd_state {
	SC_PROXY,   /* waiting for a trusted proxy's PROXY header */
	SC_COMMAND, /* reading commands */
	SC_DATA,    /* reading the message */
	SC_BUSY,    /* a job runs; nothing is read */
	SC_CLOSING, /* the last reply is going out */
};

enum smtpd_job_kind { SJ_MAIL, SJ_RCPT, SJ_EOM };

struct smtpd_server;

struct smtpd_conn {
	struct smtpd_server *srv;
	struct smtpd_conn *prev, *next; /* the server's list */
	struct bufferevent *bev;
	struct confref *ref; /* the config this connection began with */
	const struct smtpd_conf *sc;
	enum smtpd_state state;

	char peer[INET6_ADDRSTRLEN];   /* the TCP peer */
	char client[INET6_ADDRSTRLEN]; /* the client: peer, or from PROXY/XCLIENT */
	char helo[SMTPCMD_DOMAIN_MAX + 1];
	char login[SMTPCMD_XVALUE_MAX + 1];
	bool counted_ip; /* counted in the per-IP table under peer */
	bool from_proxy; /* the peer is a trusted proxy */
	bool greeted, esmtp, tls, started;
	bool skip_line; /* inside an over-long command line */
	bool gone;      /* the client went away while a job ran */
	bool drain;     /* close after the transaction under way */
	unsigned errors;
	struct event *linger; /* closing: waits for the last bytes to go out */
	unsigned linger_ticks;

	/* The transaction. */
	bool in_mail;
	char qid[SMTPD_QID_MAX];
	struct smtpcmd_path mail;
	char rcpt[SMTPCMD_PATH_MAX + 1]; /* the one a RCPT job asks about */
	char **rcpts;
	size_t nrcpt;
	struct session *session; /* made at the first MAIL */
	struct smtpc *hop;       /* the next hop, MAIL to end of DATA */
	unsigned hop_ok;         /* recipients the next hop took */
	struct buf data;
	struct smtpdata dec;

	/* The job and what it answers. */
	struct workpool_job job;
	enum smtpd_job_kind job_kind;
	char reply[SMTPD_REPLY_MAX];
	bool job_failed;  /* MAIL or RCPT refused: no state changes */
	bool eval_failed; /* one of our faults in this message's session */
};

/* smtpd.c: the server side a connection needs. */
struct event_base *smtpd_base(struct smtpd_server *srv);
struct workpool *smtpd_pool(struct smtpd_server *srv);
bool smtpd_draining(const struct smtpd_server *srv);
bool smtpd_stopped(const struct smtpd_server *srv);
void smtpd_transaction(struct smtpd_server *srv, bool begins);
/* Puts a new connection on the server's list; unlink takes it off and
 * gives back its counts. */
void smtpd_link(struct smtpd_server *srv, struct smtpd_conn *c);
void smtpd_conn_unlink(struct smtpd_conn *c);

/* smtpd_conn.c */
struct smtpd_conn *smtpd_conn_new(struct smtpd_server *srv, int fd, const char *peer,
                                  bool from_proxy, bool counted_ip);
void smtpd_conn_free(struct smtpd_conn *c);
/* Says "421" and closes, or (mid-transaction) after its end. */
void smtpd_conn_shutdown(struct smtpd_conn *c);
void smtpd_conn_reply(struct smtpd_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtpd_conn_job_done(struct smtpd_conn *c);
void smtpd_conn_end_transaction(struct smtpd_conn *c);
/* Records an accepted recipient (and tells the session); -1 when out of
 * memory.  Called by the loop, or by the RCPT job while it owns c. */
int smtpd_add_rcpt(struct smtpd_conn *c, const char *addr);
const char *smtpd_conn_hostname(const struct smtpd_conn *c);

/* smtpd_job.c: submits c's job of that kind (c->state becomes SC_BUSY). */
void smtpd_job_submit(struct smtpd_conn *c, enum smtpd_job_kind kind);

#endif
