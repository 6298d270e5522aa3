/*
 * dmarc_record - the DMARC record parser (RFC 9989 §4.7-4.8, RFC 7489 §6.3-6.4).
 *
 * Why not libopendmarc's opendmarc_policy_parse_dmarc() (1.4.2): it accepts
 * any prefix of a keyword ("p=r", "p=" never reaches it, "adkim=" prefix
 * matching), so it evaluates records the RFC calls invalid; an out-of-range
 * pct= throws the whole record away where RFC 7489 §6.3 says to use the
 * default, while pct=abc silently becomes pct=0 (every failing message
 * sampled out); rf=iodef sets a bit in aspf instead of rf, which turns an absent
 * aspf into an unknown mode that aligns only exact matches; it knows nothing
 * of np=, psd= or t=; it silently truncates at BUFSIZ and 512-byte values;
 * and its rua/ruf fetch functions make DNS queries of their own.  It works
 * on NUL-terminated strings, while TXT data may hold NUL bytes.  This parser
 * works on a (pointer, length) view and never allocates.
 */
#include "autoconf.h"

#include <string.h>

#include "dmarc.h"

struct view {
	const char *p;
	size_t n;
};

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static struct view
trim(struct view v)
{
	while (v.n > 0 && is_wsp(v.p[0])) {
		v.p++;
		v.n--;
	}
	while (v.n > 0 && is_wsp(v.p[v.n - 1]))
		v.n--;
	return v;
}

/* Case-insensitive comparison of a view with an ASCII keyword. */
static int
view_is(struct view v, const char *kw)
{
	size_t i, n = strlen(kw);

	if (v.n != n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = v.p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != kw[i])
			return 0;
	}
	return 1;
}

/* Splits *rest at the first sep: returns the part before, leaves the part
 * after in *rest (empty view when there was no sep). */
static struct view
split(struct view *rest, char sep)
{
	struct view head = *rest;
	const char *q = memchr(rest->p, sep, rest->n);

	if (q == NULL) {
		rest->p += rest->n;
		rest->n = 0;
		return head;
	}
	head.n = (size_t)(q - rest->p);
	rest->n -= head.n + 1;
	rest->p = q + 1;
	return head;
}

static int
parse_disp(struct view v, enum dmarc_disp *out)
{
	if (view_is(v, "none"))
		*out = DMARC_DISP_NONE;
	else if (view_is(v, "quarantine"))
		*out = DMARC_DISP_QUARANTINE;
	else if (view_is(v, "reject"))
		*out = DMARC_DISP_REJECT;
	else
		return -1;
	return 0;
}

static int
parse_pct(struct view v)
{
	int n = 0;
	size_t i;

	if (v.n == 0 || v.n > 3)
		return -1;
	for (i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		n = n * 10 + (v.p[i] - '0');
	}
	return n <= 100 ? n : -1;
}

/* fo: "0" / "1" / "d" / "s" separated by colons; stored lower-case
 * without spaces, or "" when any option is invalid. */
static void
parse_fo(struct view v, char out[16])
{
	size_t len = 0;

	out[0] = '\0';
	v = trim(v);
	if (v.n == 0 || v.p[v.n - 1] == ':')
		return;
	while (v.n > 0) {
		struct view opt = trim(split(&v, ':'));
		char c = opt.n == 1 ? opt.p[0] : '?';

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '\0' || strchr("01ds", c) == NULL || len + 2 >= 16) {
			out[0] = '\0';
			return;
		}
		if (len > 0)
			out[len++] = ':';
		out[len++] = c;
		out[len] = '\0';
	}
}

/* A URI (RFC 3986 scheme ":" ...), printable ASCII without spaces.  The
 * RFC 7489 "!size" suffix is kept as part of the text. */
static int
uri_ok(struct view u)
{
	size_t i;

	if (u.n == 0 || u.n >= DMARC_URI_MAX)
		return 0;
	if (!((u.p[0] | 0x20) >= 'a' && (u.p[0] | 0x20) <= 'z'))
		return 0;
	for (i = 1; i < u.n && u.p[i] != ':'; i++) {
		char c = u.p[i];
		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') &&
		    c != '+' && c != '-' && c != '.')
			return 0;
	}
	if (i + 1 >= u.n)
		return 0;
	for (; i < u.n; i++)
		if ((unsigned char)u.p[i] <= 0x20 || (unsigned char)u.p[i] >= 0x7f)
			return 0;
	return 1;
}

static void
parse_uris(struct view v, char list[DMARC_MAX_URIS][DMARC_URI_MAX], size_t *count)
{
	*count = 0;
	while (v.n > 0 && *count < DMARC_MAX_URIS) {
		struct view u = trim(split(&v, ','));
		if (!uri_ok(u))
			continue;
		memcpy(list[*count], u.p, u.n);
		list[*count][u.n] = '\0';
		(*count)++;
	}
}

static void
record_defaults(struct dmarc_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->sp_valid = true;
	rec->np_valid = true;
	rec->adkim = 'r';
	rec->aspf = 'r';
	rec->pct = -1;
	rec->psd = DMARC_PSD_U;
}

enum seen_bit {
	SEEN_P = 1 << 0,
	SEEN_SP = 1 << 1,
	SEEN_NP = 1 << 2,
	SEEN_ADKIM = 1 << 3,
	SEEN_ASPF = 1 << 4,
	SEEN_PCT = 1 << 5,
	SEEN_FO = 1 << 6,
	SEEN_PSD = 1 << 7,
	SEEN_T = 1 << 8,
	SEEN_RUA = 1 << 9,
	SEEN_RUF = 1 << 10,
};

/* Policy tags: an invalid value makes the record's p=, sp= or np= not
 * valid (the caller decides what that means, dmarc_record_usable() and
 * the requested policy). */
static void
tag_policy(struct dmarc_record *rec, struct view name, struct view val)
{
	if (view_is(name, "p")) {
		rec->p_valid = parse_disp(val, &rec->p) == 0;
		if (!rec->p_valid)
			rec->p = DMARC_DISP_NONE;
	} else if (view_is(name, "sp")) {
		rec->has_sp = parse_disp(val, &rec->sp) == 0;
		rec->sp_valid = rec->has_sp;
	} else {
		rec->has_np = parse_disp(val, &rec->np) == 0;
		rec->np_valid = rec->has_np;
	}
}

static void
tag_flag(struct dmarc_record *rec, struct view name, struct view val)
{
	if (view_is(name, "adkim") || view_is(name, "aspf")) {
		char *a = view_is(name, "adkim") ? &rec->adkim : &rec->aspf;
		if (view_is(val, "s"))
			*a = 's';
	} else if (view_is(name, "psd")) {
		if (view_is(val, "y"))
			rec->psd = DMARC_PSD_Y;
		else if (view_is(val, "n"))
			rec->psd = DMARC_PSD_N;
	} else if (view_is(name, "t")) {
		rec->testing = view_is(val, "y");
	}
}

static const struct {
	const char *name;
	unsigned bit;
} known_tags[] = {
    {"p", SEEN_P},       {"sp", SEEN_SP},   {"np", SEEN_NP},   {"adkim", SEEN_ADKIM},
    {"aspf", SEEN_ASPF}, {"pct", SEEN_PCT}, {"fo", SEEN_FO},   {"psd", SEEN_PSD},
    {"t", SEEN_T},       {"rua", SEEN_RUA}, {"ruf", SEEN_RUF},
};

static void
tag_one(struct dmarc_record *rec, unsigned *seen, struct view name, struct view val)
{
	size_t i;

	for (i = 0; i < sizeof(known_tags) / sizeof(known_tags[0]); i++)
		if (view_is(name, known_tags[i].name))
			break;
	/* Unknown tags are ignored; a repeated tag keeps its first value. */
	if (i == sizeof(known_tags) / sizeof(known_tags[0]) || (*seen & known_tags[i].bit))
		return;
	*seen |= known_tags[i].bit;
	switch (known_tags[i].bit) {
	case SEEN_P:
	case SEEN_SP:
	case SEEN_NP:
		tag_policy(rec, name, val);
		break;
	case SEEN_PCT:
		rec->pct = parse_pct(val);
		break;
	case SEEN_FO:
		parse_fo(val, rec->fo);
		break;
	case SEEN_RUA:
		parse_uris(val, rec->rua, &rec->nrua);
		break;
	case SEEN_RUF:
		parse_uris(val, rec->ruf, &rec->nruf);
		break;
	default:
		tag_flag(rec, name, val);
		break;
	}
}

/* The record must open with "v" *WSP "=" *WSP "DMARC1" (the version
 * string is case-sensitive, %s in RFC 9989's ABNF), then WSP, ";" or end. */
static int
version_ok(struct view *rest)
{
	struct view v = split(rest, ';');
	const char *eq = memchr(v.p, '=', v.n);
	struct view name, val;

	if (eq == NULL || (v.p[0] != 'v' && v.p[0] != 'V'))
		return 0;
	name = trim((struct view){v.p, (size_t)(eq - v.p)});
	val = trim((struct view){eq + 1, v.n - (size_t)(eq - v.p) - 1});
	return name.n == 1 && val.n == 6 && memcmp(val.p, "DMARC1", 6) == 0;
}

int
dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec)
{
	struct view rest = {text, len};
	unsigned seen = 0;

	record_defaults(rec);
	if (len > DMARC_RECORD_MAX || !version_ok(&rest))
		return 0;
	while (rest.n > 0) {
		struct view part = split(&rest, ';');
		struct view name = trim(split(&part, '='));
		struct view val = trim(part);
		if (name.n > 0)
			tag_one(rec, &seen, name, val);
	}
	return 1;
}

bool
dmarc_record_usable(const struct dmarc_record *rec, enum dmarc_mode mode)
{
	if (mode == DMARC_MODE_RFC9989)
		return true;
	return (rec->p_valid && rec->sp_valid) || rec->nrua > 0;
}
