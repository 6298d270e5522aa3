/*
 * fuzz-milterproto - the milter protocol on arbitrary bytes from the MTA:
 * the decoder and the dispatcher, fed in chunks as reads would bring them
 * (the chunk size from the first byte), with callbacks that look up macros
 * and use every modification at end of message.  Besides memory errors it
 * checks that the output is always whole, well-formed reply packets, that
 * nothing comes after an error, and that the input space never runs out
 * while more is wanted.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milterproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
f_negotiate(struct milterproto *mp, uint32_t *actions, uint32_t *proto)
{
	(void)mp;
	*actions &= SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	/* Both ways, so that answered and unanswered steps are both seen. */
	if (*proto & SMFIP_NOHELO)
		*proto &= ~(uint32_t)SMFIP_NOHELO;
}

static void
f_connect(struct milterproto *mp, const char *host, const struct sockaddr *sa)
{
	const char *j = milterproto_macro(mp, "j");

	(void)sa;
	if (strlen(host) > MILTERPROTO_DATA_MAX || (j != NULL && strlen(j) > MILTERPROTO_DATA_MAX))
		abort();
}

static void
f_header(struct milterproto *mp, const char *name, size_t nlen, const char *value, size_t vlen)
{
	(void)mp;
	if (nlen == 0 || name[nlen] != '\0' || value[vlen] != '\0' || strlen(value) != vlen)
		abort();
}

static enum milterproto_final
f_eom(struct milterproto *mp)
{
	const char *i = milterproto_macro(mp, "{i}"), *v = i != NULL ? i : "x";

	(void)milterproto_change_header(mp, 1, "Authentication-Results", "");
	(void)milterproto_insert_header(mp, 0, "Authentication-Results", v);
	(void)milterproto_add_header(mp, "X-Queue", v);
	(void)milterproto_quarantine(mp, v);
	if (milterproto_set_reply(mp, "550", "5.7.1", v) == 0)
		return MILTERPROTO_REJECT;
	return MILTERPROTO_TEMPFAIL;
}

static const struct milterproto_ops ops = {
    .negotiate = f_negotiate, .connect = f_connect, .header = f_header, .eom = f_eom};

/* The output: whole reply packets only. */
static void
check_output(struct milterproto *mp)
{
	const unsigned char *p;
	struct milterproto_packet k;
	size_t n, used;

	p = milterproto_output(mp, &n);
	while (n > 0) {
		if (milterproto_decode(p, n, &k, &used) != 1)
			abort();
		p += used;
		n -= used;
	}
	milterproto_output_done(mp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct milterproto *mp;
	enum milterproto_status st = MILTERPROTO_MORE;
	size_t step, room, k;
	unsigned char *space;

	if (mp == NULL && (mp = milterproto_new(&ops)) == NULL)
		abort();
	if (size == 0)
		return 0;
	milterproto_reset(mp);
	step = data[0] == 0 ? size : data[0];
	data++;
	size--;
	while (size > 0 && st == MILTERPROTO_MORE) {
		space = milterproto_space(mp, &room);
		if (room == 0)
			abort();
		k = size < step ? size : step;
		k = k < room ? k : room;
		memcpy(space, data, k);
		milterproto_filled(mp, k);
		data += k;
		size -= k;
		while ((st = milterproto_run(mp)) == MILTERPROTO_AGAIN)
			check_output(mp);
		check_output(mp);
	}
	if (st == MILTERPROTO_ERROR) {
		(void)milterproto_run(mp);
		if (milterproto_output(mp, &k) != NULL && k != 0)
			abort();
	}
	milterproto_end(mp);
	return 0;
}
