/*
 * milterproto - see milterproto.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "buf.h"
#include "milterproto.h"

/* The bytes of a packet before its data: the length and the command. */
#define MP_HEAD 5
#define MP_PACKET_MAX (MP_HEAD + MILTERPROTO_DATA_MAX)
/* Two packets: a partial one always fits after the one before it. */
#define MP_IN_SIZE (2 * MP_PACKET_MAX)
/* Below this much free space the partial packet moves to the front, so
 * that reads stay large. */
#define MP_IN_MIN_READ 16384
/* run() stops taking packets once this much output waits. */
#define MP_OUT_FLUSH 65536
/* smfi_setreply()'s own bound on the text, and room for the codes. */
#define MP_REPLY_TEXT_MAX 980
#define MP_REPLY_MAX 1024
/* What an MTA of protocol version 1 could do when it sends no flags. */
#define MP_V1_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT)
#define MP_V1_PROTOCOL                                                                             \
	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS)

/* Protocol stages, in the order of a session (the order matters: a stage
 * the filter asked the MTA to leave out may be stepped over). */
enum mp_state {
	MP_INIT,
	MP_OPTS,
	MP_CONN,
	MP_HELO,
	MP_MAIL,
	MP_RCPT,
	MP_DATA,
	MP_HDRS,
	MP_EOHS,
	MP_BODY,
	MP_ENDM,
	MP_QUIT,
	MP_ABRT,
	MP_UNKN,
	MP_QUIT_NC,
	MP_NSTATES,
	MP_NONE = MP_NSTATES, /* a command that leaves the stage as it is */
};

#define MP_BIT(s) (1u << (s))
#define MP_IN_MAIL(s) ((s) >= MP_MAIL && (s) < MP_ENDM)

/* Which stage may follow which, as Sendmail's and Postfix's MTAs send
 * them. */
static const unsigned mp_next[MP_NSTATES] = {
    [MP_INIT] = MP_BIT(MP_OPTS),
    [MP_OPTS] = MP_BIT(MP_CONN) | MP_BIT(MP_UNKN),
    [MP_CONN] = MP_BIT(MP_HELO) | MP_BIT(MP_MAIL) | MP_BIT(MP_UNKN),
    [MP_HELO] = MP_BIT(MP_HELO) | MP_BIT(MP_MAIL) | MP_BIT(MP_UNKN),
    [MP_MAIL] = MP_BIT(MP_RCPT) | MP_BIT(MP_ABRT) | MP_BIT(MP_UNKN),
    [MP_RCPT] = MP_BIT(MP_HDRS) | MP_BIT(MP_EOHS) | MP_BIT(MP_DATA) | MP_BIT(MP_BODY) |
                MP_BIT(MP_ENDM) | MP_BIT(MP_RCPT) | MP_BIT(MP_ABRT) | MP_BIT(MP_UNKN),
    [MP_DATA] = MP_BIT(MP_EOHS) | MP_BIT(MP_HDRS) | MP_BIT(MP_ABRT),
    [MP_HDRS] = MP_BIT(MP_EOHS) | MP_BIT(MP_HDRS) | MP_BIT(MP_ABRT),
    [MP_EOHS] = MP_BIT(MP_BODY) | MP_BIT(MP_ENDM) | MP_BIT(MP_ABRT),
    [MP_BODY] = MP_BIT(MP_ENDM) | MP_BIT(MP_BODY) | MP_BIT(MP_ABRT),
    [MP_ENDM] = MP_BIT(MP_QUIT) | MP_BIT(MP_MAIL) | MP_BIT(MP_UNKN) | MP_BIT(MP_QUIT_NC),
    [MP_QUIT] = 0,
    [MP_ABRT] = 0,
    [MP_UNKN] = MP_BIT(MP_HELO) | MP_BIT(MP_MAIL) | MP_BIT(MP_RCPT) | MP_BIT(MP_ABRT) |
                MP_BIT(MP_DATA) | MP_BIT(MP_BODY) | MP_BIT(MP_UNKN) | MP_BIT(MP_QUIT) |
                MP_BIT(MP_QUIT_NC),
    [MP_QUIT_NC] = MP_BIT(MP_CONN) | MP_BIT(MP_UNKN),
};

/* The step flag that lets the MTA leave a stage out. */
static const uint32_t mp_skip_flag[MP_NSTATES] = {
    [MP_CONN] = SMFIP_NOCONNECT, [MP_HELO] = SMFIP_NOHELO, [MP_MAIL] = SMFIP_NOMAIL,
    [MP_RCPT] = SMFIP_NORCPT,    [MP_DATA] = SMFIP_NODATA, [MP_HDRS] = SMFIP_NOHDRS,
    [MP_EOHS] = SMFIP_NOEOH,     [MP_BODY] = SMFIP_NOBODY, [MP_UNKN] = SMFIP_NOUNKNOWN,
};

/* Macros are kept per stage that the MTA sends them for. */
enum mp_macro_stage {
	MP_M_CONN,
	MP_M_HELO,
	MP_M_MAIL,
	MP_M_RCPT,
	MP_M_DATA,
	MP_M_EOM,
	MP_M_EOH,
	MP_M_NSTAGES,
	MP_M_NONE = -1,
};

struct milterproto {
	const struct milterproto_ops *ops;
	void *priv, *spare;
	enum mp_state state;
	bool failed, ended, in_eom;
	uint32_t actions, proto; /* agreed */
	struct buf macros[MP_M_NSTAGES];
	struct buf out;
	char reply[MP_REPLY_MAX]; /* "" when none was set */
	size_t rd, wr;            /* the unread bytes of in */
	unsigned char in[MP_IN_SIZE];
};

typedef enum milterproto_status (*mp_handler)(struct milterproto *mp,
                                              const struct milterproto_packet *pkt);

struct mp_command {
	unsigned char cmd;
	enum mp_state next;
	enum mp_macro_stage macros; /* the stage whose macros it follows */
	mp_handler fn;
};

static uint32_t
mp_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
mp_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int
milterproto_decode(const unsigned char *p, size_t n, struct milterproto_packet *pkt, size_t *used)
{
	uint32_t len;

	if (n < 4)
		return 0;
	len = mp_get32(p);
	if (len == 0 || len > MILTERPROTO_DATA_MAX + 1)
		return -1;
	if (n < 4 + (size_t)len)
		return 0;
	pkt->cmd = p[4];
	pkt->data = p + MP_HEAD;
	pkt->len = len - 1;
	*used = 4 + (size_t)len;
	return 1;
}

/* ---- output ---- */

struct mp_part {
	const void *p;
	size_t len;
};

/* One reply packet from its parts, whole or not at all. */
static int
mp_reply(struct milterproto *mp, unsigned char cmd, const struct mp_part *parts, size_t n)
{
	unsigned char head[MP_HEAD];
	size_t i, len = 0, before = mp->out.len;

	for (i = 0; i < n; i++)
		len += parts[i].len;
	if (len > MILTERPROTO_DATA_MAX)
		return -1;
	mp_put32(head, (uint32_t)len + 1);
	head[4] = cmd;
	if (buf_append(&mp->out, head, sizeof(head)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_append(&mp->out, parts[i].p, parts[i].len) < 0) {
			buf_truncate(&mp->out, before);
			return -1;
		}
	return 0;
}

static enum milterproto_status
mp_reply_status(struct milterproto *mp, unsigned char cmd)
{
	return mp_reply(mp, cmd, NULL, 0) == 0 ? MILTERPROTO_MORE : MILTERPROTO_ERROR;
}

/* A step's reply: none where the MTA agreed to expect none. */
static enum milterproto_status
mp_step_reply(struct milterproto *mp, uint32_t nr_flag)
{
	if (mp->proto & nr_flag)
		return MILTERPROTO_MORE;
	return mp_reply_status(mp, SMFIR_CONTINUE);
}

const unsigned char *
milterproto_output(const struct milterproto *mp, size_t *len)
{
	*len = mp->out.len;
	return (const unsigned char *)mp->out.data;
}

void
milterproto_output_done(struct milterproto *mp)
{
	buf_reset(&mp->out);
}

/* ---- macros ---- */

static void
mp_clear_macros(struct milterproto *mp, int from)
{
	int i;

	for (i = from < 0 ? 0 : from; i < MP_M_NSTAGES; i++)
		buf_reset(&mp->macros[i]);
}

static const struct mp_command *mp_command(unsigned char cmd);

/* A set of macros is a stage byte and name/value pairs, each string
 * NUL-terminated; one that does not parse is ignored, as libmilter does. */
static enum milterproto_status
mp_macro(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	const struct mp_command *c;
	enum mp_macro_stage stage;

	if (pkt->len < 2 || memchr(pkt->data + 1, '\0', pkt->len - 1) == NULL)
		return MILTERPROTO_MORE;
	if ((c = mp_command(pkt->data[0])) == NULL || (stage = c->macros) == MP_M_NONE)
		return MILTERPROTO_MORE;
	buf_reset(&mp->macros[stage]);
	/* The buffer ends in a NUL of its own, so every string ends. */
	if (buf_append(&mp->macros[stage], pkt->data + 1, pkt->len - 1) < 0)
		return MILTERPROTO_ERROR;
	return MILTERPROTO_MORE;
}

/* Whether a macro named have answers to want: "i" and "{i}" are one. */
static bool
mp_macro_name_is(const char *have, size_t hlen, const char *want, size_t wlen)
{
	if (hlen == wlen)
		return memcmp(have, want, hlen) == 0;
	if (hlen == 1 && wlen == 3)
		return want[0] == '{' && want[1] == have[0] && want[2] == '}';
	if (hlen == 3 && wlen == 1)
		return have[0] == '{' && have[1] == want[0] && have[2] == '}';
	return false;
}

static const char *
mp_macro_in(const struct buf *b, const char *name, size_t nlen)
{
	size_t pos = 0, klen, vlen;

	while (pos < b->len) {
		const char *key = b->data + pos;

		klen = strlen(key);
		if (pos + klen + 1 >= b->len)
			return NULL;
		vlen = strlen(key + klen + 1);
		if (mp_macro_name_is(key, klen, name, nlen))
			return key + klen + 1;
		pos += klen + 1 + vlen + 1;
	}
	return NULL;
}

const char *
milterproto_macro(const struct milterproto *mp, const char *name)
{
	size_t nlen = strlen(name);
	const char *v;
	int i;

	if (nlen == 0)
		return NULL;
	for (i = MP_M_NSTAGES - 1; i >= 0; i--)
		if ((v = mp_macro_in(&mp->macros[i], name, nlen)) != NULL)
			return v;
	return NULL;
}

/* ---- commands ---- */

static enum milterproto_status
mp_optneg(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	uint32_t version, offered_actions, offered_proto, actions, proto;
	unsigned char reply[12];
	struct mp_part part = {reply, sizeof(reply)};

	if (pkt->len < 12 || (version = mp_get32(pkt->data)) < 2)
		return MILTERPROTO_ERROR;
	if ((offered_actions = mp_get32(pkt->data + 4)) == 0)
		offered_actions = MP_V1_ACTIONS;
	if ((offered_proto = mp_get32(pkt->data + 8)) == 0)
		offered_proto = MP_V1_PROTOCOL;
	actions = offered_actions;
	proto = offered_proto;
	mp_clear_macros(mp, 0);
	if (mp->ops->negotiate != NULL)
		mp->ops->negotiate(mp, &actions, &proto);
	mp->actions = actions & offered_actions;
	mp->proto = proto & offered_proto;
	mp_put32(reply, version < MILTERPROTO_VERSION ? version : MILTERPROTO_VERSION);
	mp_put32(reply + 4, mp->actions);
	mp_put32(reply + 8, mp->proto);
	return mp_reply(mp, SMFIC_OPTNEG, &part, 1) == 0 ? MILTERPROTO_MORE : MILTERPROTO_ERROR;
}

/* The client address of a connect packet: "IPv6:" may lead an IPv6
 * address (Sendmail's form). */
static int
mp_connect_addr(char family, const char *addr, unsigned char port[2], struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == '4') {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_port, port, 2);
		return inet_pton(AF_INET, addr, &in->sin_addr) == 1 ? 0 : -1;
	}
	if (family == '6') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;

		if (strncasecmp(addr, "IPv6:", 5) == 0)
			addr += 5;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_port, port, 2);
		return inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1 ? 0 : -1;
	}
	if (family == 'L') {
		struct sockaddr_un *un = (struct sockaddr_un *)(void *)ss;

		if (strlen(addr) >= sizeof(un->sun_path))
			return -1;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, addr, strlen(addr) + 1);
		return 0;
	}
	return -1;
}

/* host NUL, family, and unless the family is 'U' (unknown): the port in
 * network order and the address, NUL-terminated. */
static enum milterproto_status
mp_connect(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	const char *host = (const char *)pkt->data, *end;
	struct sockaddr_storage ss;
	unsigned char port[2];
	size_t hlen;
	char family;

	if ((end = memchr(host, '\0', pkt->len)) == NULL ||
	    (hlen = (size_t)(end - host)) + 1 >= pkt->len)
		return MILTERPROTO_ERROR;
	family = host[hlen + 1];
	if (family != 'U') {
		if (hlen + 4 >= pkt->len || pkt->data[pkt->len - 1] != '\0')
			return MILTERPROTO_ERROR;
		memcpy(port, pkt->data + hlen + 2, 2);
		if (mp_connect_addr(family, host + hlen + 4, port, &ss) < 0)
			return MILTERPROTO_ERROR;
	}
	if (mp->ops->connect != NULL)
		mp->ops->connect(mp, host, family != 'U' ? (const struct sockaddr *)&ss : NULL);
	return mp_step_reply(mp, SMFIP_NR_CONN);
}

/* Data that is one or more NUL-terminated strings. */
static bool
mp_has_string(const struct milterproto_packet *pkt)
{
	return pkt->len > 0 && memchr(pkt->data, '\0', pkt->len) != NULL;
}

static enum milterproto_status
mp_helo(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	if (pkt->len == 0 || pkt->data[pkt->len - 1] != '\0')
		return MILTERPROTO_ERROR;
	if (mp->ops->helo != NULL)
		mp->ops->helo(mp, (const char *)pkt->data);
	return mp_step_reply(mp, SMFIP_NR_HELO);
}

/* MAIL and RCPT: the address, then its ESMTP parameters, each ending in
 * NUL. */
static enum milterproto_status
mp_address(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	bool mail = pkt->cmd == SMFIC_MAIL;
	void (*fn)(struct milterproto *, const char *) = mail ? mp->ops->mail : mp->ops->rcpt;

	if (!mp_has_string(pkt))
		return MILTERPROTO_ERROR;
	if (fn != NULL)
		fn(mp, (const char *)pkt->data);
	return mp_step_reply(mp, mail ? SMFIP_NR_MAIL : SMFIP_NR_RCPT);
}

/* name NUL value NUL: a name of at least one byte, the last byte a NUL. */
static enum milterproto_status
mp_header(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	const char *name = (const char *)pkt->data, *end;
	size_t nlen;

	if (pkt->len < 3 || pkt->data[0] == '\0' || pkt->data[pkt->len - 1] != '\0' ||
	    (end = memchr(name + 1, '\0', pkt->len - 1)) == NULL ||
	    (nlen = (size_t)(end - name)) + 1 >= pkt->len)
		return MILTERPROTO_ERROR;
	if (mp->ops->header != NULL)
		mp->ops->header(mp, name, nlen, name + nlen + 1, strlen(name + nlen + 1));
	return mp_step_reply(mp, SMFIP_NR_HDR);
}

static enum milterproto_status
mp_eoh(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	(void)pkt;
	if (mp->ops->eoh != NULL)
		mp->ops->eoh(mp);
	return mp_step_reply(mp, SMFIP_NR_EOH);
}

static enum milterproto_status
mp_data(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	(void)pkt;
	return mp_step_reply(mp, SMFIP_NR_DATA);
}

static enum milterproto_status
mp_unknown(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	(void)pkt;
	return mp_step_reply(mp, SMFIP_NR_UNKN);
}

static enum milterproto_status
mp_body(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	if (mp->ops->body != NULL && pkt->len > 0)
		mp->ops->body(mp, pkt->data, pkt->len);
	return mp_step_reply(mp, SMFIP_NR_BODY);
}

static enum milterproto_status
mp_final(struct milterproto *mp, enum milterproto_final f)
{
	struct mp_part part = {mp->reply, strlen(mp->reply) + 1};
	int rc;

	if ((f == MILTERPROTO_REJECT && mp->reply[0] == '5') ||
	    (f == MILTERPROTO_TEMPFAIL && mp->reply[0] == '4'))
		rc = mp_reply(mp, SMFIR_REPLYCODE, &part, 1);
	else
		rc = mp_reply(mp,
		              f == MILTERPROTO_ACCEPT     ? SMFIR_ACCEPT
		              : f == MILTERPROTO_REJECT   ? SMFIR_REJECT
		              : f == MILTERPROTO_TEMPFAIL ? SMFIR_TEMPFAIL
		              : f == MILTERPROTO_DISCARD  ? SMFIR_DISCARD
		                                          : SMFIR_CONTINUE,
		              NULL, 0);
	mp->reply[0] = '\0';
	return rc == 0 ? MILTERPROTO_MORE : MILTERPROTO_ERROR;
}

/* A last body chunk may come with end of message. */
static enum milterproto_status
mp_eom(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	enum milterproto_final f = MILTERPROTO_CONTINUE;

	if (mp->ops->body != NULL && pkt->len > 0)
		mp->ops->body(mp, pkt->data, pkt->len);
	mp->in_eom = true;
	if (mp->ops->eom != NULL)
		f = mp->ops->eom(mp);
	mp->in_eom = false;
	return mp_final(mp, f);
}

static enum milterproto_status
mp_abort(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	(void)pkt;
	if (mp->ops->abort != NULL)
		mp->ops->abort(mp);
	return MILTERPROTO_MORE;
}

static enum milterproto_status
mp_quit(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	if (mp->ops->close != NULL)
		mp->ops->close(mp);
	mp_clear_macros(mp, 0);
	return pkt->cmd == SMFIC_QUIT ? MILTERPROTO_QUIT : MILTERPROTO_MORE;
}

/* Each command: the stage it starts, the stage of the macros sent for it. */
static const struct mp_command mp_commands[] = {
    {SMFIC_ABORT, MP_ABRT, MP_M_NONE, mp_abort},     {SMFIC_BODY, MP_BODY, MP_M_NONE, mp_body},
    {SMFIC_CONNECT, MP_CONN, MP_M_CONN, mp_connect}, {SMFIC_MACRO, MP_NONE, MP_M_NONE, mp_macro},
    {SMFIC_BODYEOB, MP_ENDM, MP_M_EOM, mp_eom},      {SMFIC_HELO, MP_HELO, MP_M_HELO, mp_helo},
    {SMFIC_QUIT_NC, MP_QUIT_NC, MP_M_NONE, mp_quit}, {SMFIC_HEADER, MP_HDRS, MP_M_NONE, mp_header},
    {SMFIC_MAIL, MP_MAIL, MP_M_MAIL, mp_address},    {SMFIC_EOH, MP_EOHS, MP_M_EOH, mp_eoh},
    {SMFIC_OPTNEG, MP_OPTS, MP_M_NONE, mp_optneg},   {SMFIC_QUIT, MP_QUIT, MP_M_NONE, mp_quit},
    {SMFIC_RCPT, MP_RCPT, MP_M_RCPT, mp_address},    {SMFIC_DATA, MP_DATA, MP_M_DATA, mp_data},
    {SMFIC_UNKNOWN, MP_UNKN, MP_M_NONE, mp_unknown},
};

static const struct mp_command *
mp_command(unsigned char cmd)
{
	size_t i;

	for (i = 0; i < sizeof(mp_commands) / sizeof(mp_commands[0]); i++)
		if (mp_commands[i].cmd == cmd)
			return &mp_commands[i];
	return NULL;
}

/* Whether stage next may follow from, over the stages in between that
 * the filter asked the MTA to leave out. */
static bool
mp_may_follow(const struct milterproto *mp, enum mp_state from, enum mp_state next)
{
	unsigned s;

	for (s = from; s < MP_NSTATES; s++) {
		if (mp_next[s] & MP_BIT(next))
			return true;
		if (s + 1 >= MP_NSTATES || mp_skip_flag[s + 1] == 0 ||
		    !(mp->proto & mp_skip_flag[s + 1]))
			return false;
	}
	return false;
}

/* A command out of order ends the message in progress and is taken as
 * if after HELO; false when it cannot follow HELO either (ignored).  QUIT
 * ends the session from anywhere. */
static bool
mp_enter(struct milterproto *mp, enum mp_state next)
{
	if (next == MP_NONE || mp_may_follow(mp, mp->state, next))
		return true;
	if (MP_IN_MAIL(mp->state) && mp->ops->abort != NULL)
		mp->ops->abort(mp);
	if (next == MP_QUIT)
		return true;
	mp->state = MP_HELO;
	return mp_may_follow(mp, MP_HELO, next);
}

static enum milterproto_status
mp_dispatch(struct milterproto *mp, const struct milterproto_packet *pkt)
{
	const struct mp_command *c = mp_command(pkt->cmd);

	if (c == NULL)
		return MILTERPROTO_ERROR;
	if (!mp_enter(mp, c->next))
		return MILTERPROTO_MORE;
	if (c->next != MP_NONE)
		mp->state = c->next;
	/* The macros sent for a stage and the ones before it stay; those of
	 * later stages belonged to the previous message. */
	if (c->macros != MP_M_NONE && c->macros < MP_M_DATA)
		mp_clear_macros(mp, c->macros + 1);
	return c->fn(mp, pkt);
}

/* ---- the connection ---- */

struct milterproto *
milterproto_new(const struct milterproto_ops *ops)
{
	struct milterproto *mp = malloc(sizeof(*mp));
	int i;

	if (mp == NULL)
		return NULL;
	memset(mp, 0, offsetof(struct milterproto, in));
	mp->ops = ops;
	for (i = 0; i < MP_M_NSTAGES; i++)
		buf_init(&mp->macros[i], MILTERPROTO_DATA_MAX + 1);
	buf_init(&mp->out, MILTERPROTO_OUT_MAX);
	return mp;
}

void
milterproto_free(struct milterproto *mp)
{
	int i;

	if (mp == NULL)
		return;
	if (mp->spare != NULL && mp->ops->discard != NULL)
		mp->ops->discard(mp->spare);
	for (i = 0; i < MP_M_NSTAGES; i++)
		buf_free(&mp->macros[i]);
	buf_free(&mp->out);
	free(mp);
}

void
milterproto_reset(struct milterproto *mp)
{
	mp_clear_macros(mp, 0);
	buf_reset(&mp->out);
	mp->priv = NULL;
	mp->state = MP_INIT;
	mp->failed = mp->ended = mp->in_eom = false;
	mp->actions = mp->proto = 0;
	mp->reply[0] = '\0';
	mp->rd = mp->wr = 0;
}

unsigned char *
milterproto_space(struct milterproto *mp, size_t *len)
{
	*len = sizeof(mp->in) - mp->wr;
	return mp->in + mp->wr;
}

void
milterproto_filled(struct milterproto *mp, size_t len)
{
	mp->wr += len;
}

/* Keeps the partial packet where the rest of it fits, with room to read. */
static void
mp_compact(struct milterproto *mp)
{
	if (mp->rd == mp->wr) {
		mp->rd = mp->wr = 0;
		return;
	}
	if (mp->rd > MP_PACKET_MAX || sizeof(mp->in) - mp->wr < MP_IN_MIN_READ) {
		memmove(mp->in, mp->in + mp->rd, mp->wr - mp->rd);
		mp->wr -= mp->rd;
		mp->rd = 0;
	}
}

static enum milterproto_status
mp_run(struct milterproto *mp, size_t flush_at)
{
	struct milterproto_packet pkt;
	enum milterproto_status st;
	size_t used;
	int rc;

	if (mp->failed)
		return MILTERPROTO_ERROR;
	for (;;) {
		if (mp->out.len >= flush_at)
			return MILTERPROTO_AGAIN;
		if ((rc = milterproto_decode(mp->in + mp->rd, mp->wr - mp->rd, &pkt, &used)) == 0) {
			mp_compact(mp);
			return MILTERPROTO_MORE;
		}
		if (rc > 0) {
			mp->rd += used;
			st = mp_dispatch(mp, &pkt);
		}
		if (rc < 0 || st == MILTERPROTO_ERROR) {
			mp->failed = true;
			return MILTERPROTO_ERROR;
		}
		if (st != MILTERPROTO_MORE)
			return st;
	}
}

enum milterproto_status
milterproto_run(struct milterproto *mp)
{
	return mp_run(mp, MP_OUT_FLUSH);
}

enum milterproto_status
milterproto_feed(struct milterproto *mp, const void *p, size_t len)
{
	const unsigned char *b = p;
	enum milterproto_status st = MILTERPROTO_MORE;
	unsigned char *space;
	size_t room;

	while (len > 0) {
		space = milterproto_space(mp, &room);
		if (room > len)
			room = len;
		memcpy(space, b, room);
		milterproto_filled(mp, room);
		b += room;
		len -= room;
		if ((st = mp_run(mp, MILTERPROTO_OUT_MAX)) != MILTERPROTO_MORE)
			return st;
	}
	return st;
}

void
milterproto_end(struct milterproto *mp)
{
	if (mp->ended)
		return;
	mp->ended = true;
	if (MP_IN_MAIL(mp->state) && mp->ops->abort != NULL)
		mp->ops->abort(mp);
	if (mp->state != MP_QUIT && mp->ops->close != NULL)
		mp->ops->close(mp);
}

void *
milterproto_priv(const struct milterproto *mp)
{
	return mp->priv;
}

void
milterproto_set_priv(struct milterproto *mp, void *priv)
{
	mp->priv = priv;
}

void *
milterproto_spare(const struct milterproto *mp)
{
	return mp->spare;
}

void
milterproto_set_spare(struct milterproto *mp, void *spare)
{
	mp->spare = spare;
}

uint32_t
milterproto_protocol(const struct milterproto *mp)
{
	return mp->proto;
}

/* ---- modifications, at end of message ---- */

static bool
mp_may(const struct milterproto *mp, uint32_t action)
{
	return mp->in_eom && (mp->actions & action) == action;
}

static int
mp_header_reply(struct milterproto *mp, unsigned char cmd, const uint32_t *index, const char *name,
                const char *value)
{
	unsigned char idx[4];
	struct mp_part parts[3];
	size_t n = 0;

	if (name == NULL || name[0] == '\0' || value == NULL)
		return -1;
	if (index != NULL) {
		mp_put32(idx, *index);
		parts[n++] = (struct mp_part){idx, sizeof(idx)};
	}
	parts[n++] = (struct mp_part){name, strlen(name) + 1};
	parts[n++] = (struct mp_part){value, strlen(value) + 1};
	return mp_reply(mp, cmd, parts, n);
}

int
milterproto_add_header(struct milterproto *mp, const char *name, const char *value)
{
	if (!mp_may(mp, SMFIF_ADDHDRS))
		return -1;
	return mp_header_reply(mp, SMFIR_ADDHEADER, NULL, name, value);
}

int
milterproto_insert_header(struct milterproto *mp, uint32_t index, const char *name,
                          const char *value)
{
	if (!mp_may(mp, SMFIF_ADDHDRS))
		return -1;
	return mp_header_reply(mp, SMFIR_INSHEADER, &index, name, value);
}

int
milterproto_change_header(struct milterproto *mp, uint32_t index, const char *name,
                          const char *value)
{
	if (!mp_may(mp, SMFIF_CHGHDRS))
		return -1;
	return mp_header_reply(mp, SMFIR_CHGHEADER, &index, name, value != NULL ? value : "");
}

int
milterproto_quarantine(struct milterproto *mp, const char *reason)
{
	struct mp_part part;

	if (!mp_may(mp, SMFIF_QUARANTINE) || reason == NULL || reason[0] == '\0')
		return -1;
	part = (struct mp_part){reason, strlen(reason) + 1};
	return mp_reply(mp, SMFIR_QUARANTINE, &part, 1);
}

static bool
mp_digits(const char **s, size_t max)
{
	size_t n = 0;

	while (n < max && (*s)[n] >= '0' && (*s)[n] <= '9')
		n++;
	*s += n;
	return n > 0;
}

/* An enhanced status code (RFC 3463): class.subject.detail. */
static bool
mp_enhanced_code(const char *x)
{
	if ((x[0] != '2' && x[0] != '4' && x[0] != '5') || x[1] != '.')
		return false;
	x += 2;
	if (!mp_digits(&x, 3) || *x++ != '.' || !mp_digits(&x, 3))
		return false;
	return *x == '\0';
}

int
milterproto_set_reply(struct milterproto *mp, const char *code, const char *xcode, const char *text)
{
	int n;

	if (code == NULL || strlen(code) != 3 || (code[0] != '4' && code[0] != '5') ||
	    code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9')
		return -1;
	if (xcode != NULL && !mp_enhanced_code(xcode))
		return -1;
	if (text != NULL && (strpbrk(text, "\r\n") != NULL || strlen(text) > MP_REPLY_TEXT_MAX))
		return -1;
	n = snprintf(mp->reply, sizeof(mp->reply), "%s%s%s%s%s", code,
	             xcode != NULL || text != NULL ? " " : "", xcode != NULL ? xcode : "",
	             xcode != NULL && text != NULL ? " " : "", text != NULL ? text : "");
	if (n < 0 || (size_t)n >= sizeof(mp->reply)) {
		mp->reply[0] = '\0';
		return -1;
	}
	return 0;
}
