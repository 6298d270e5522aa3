/*
 * msg_from - see msg_from.h.
 *
 * A one-token-lookahead descent over RFC 5322 §3.4 address-list, with the
 * obsolete forms of §4.4 that still occur (dots anywhere in phrases and
 * local parts, CFWS around dots, empty list elements, route addresses).
 * CFWS is skipped between tokens, so the raw folded value parses the same
 * as its unfolded form.  Only domains are kept; local parts and display
 * names are checked for syntax and dropped.
 */
#include "autoconf.h"

#include <idn2.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"

/* Longest domain text accepted before IDNA conversion: the longest DNS
 * name with every character written as 4 bytes of UTF-8. */
#define FROM_DOMAIN_TEXT_MAX (4 * DNS_NAME_MAX)
#define FROM_LABEL_MAX 63

enum from_tok {
	FT_END,
	FT_ERR,  /* a byte that cannot start a token, or an unterminated one */
	FT_ATOM, /* 1*atext */
	FT_QSTR, /* quoted-string */
	FT_DLIT, /* domain-literal */
	FT_DOT,
	FT_AT,
	FT_LT,
	FT_GT,
	FT_COMMA,
	FT_COLON,
	FT_SEMI,
};

struct from_parse {
	const unsigned char *p, *end;
	enum from_tok tok;       /* the current token */
	const unsigned char *tp; /* its bytes */
	size_t tlen;
	struct msg_from *out;
	size_t *idna_left; /* conversions still allowed (MSG_FROM_MAX_IDNA) */
	size_t nmailboxes;
	bool no_domain; /* some mailbox has no domain that DMARC could use */
	bool group;
};

/* RFC 5322 §3.2.3 atext, plus any 8-bit byte: RFC 6532 §3.2 lets UTF-8
 * stand in atoms, and U-label domains arrive that way. */
static bool
from_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
from_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Skips one comment (RFC 5322 §3.2.2) starting at its '('.  Iterative, with
 * the nesting depth capped, so a run of '(' costs neither stack nor more
 * than one pass.  NUL is refused everywhere, escaped or not: readers that
 * stop at NUL would see a different field than we do.
 */
static const unsigned char *
from_skip_comment(const unsigned char *p, const unsigned char *end)
{
	size_t depth = 0;
	unsigned char c;

	do {
		if (p == end)
			return NULL;
		c = *p++;
		if (c == '(' && ++depth > MSG_FROM_MAX_COMMENT_DEPTH)
			return NULL;
		if (c == ')')
			depth--;
		else if (c == '\\' && (p == end || *p++ == '\0'))
			return NULL;
		else if (c == '\0')
			return NULL;
	} while (depth > 0);
	return p;
}

/* Skips to the byte after the delimited token (quoted-string or
 * domain-literal) opened at p[-1]; NULL when unterminated or invalid. */
static const unsigned char *
from_skip_delimited(const unsigned char *p, const unsigned char *end, unsigned char close)
{
	unsigned char c;

	while (p < end) {
		c = *p++;
		if (c == close)
			return p;
		if (c == '\\' && (p == end || *p++ == '\0'))
			return NULL;
		/* RFC 5322 §3.4.1: dtext excludes '[' as well as ']' and '\'. */
		if (c == '\0' || (close == ']' && c == '['))
			return NULL;
	}
	return NULL;
}

/* Moves to the next token, skipping CFWS.  FT_ERR is final: no later call
 * can step past it to an FT_END that would make the field look whole. */
static void
from_next(struct from_parse *ps)
{
	const unsigned char *p = ps->p, *end = ps->end;
	const char *single = ".@<>,:;";
	const enum from_tok single_tok[] = {FT_DOT,   FT_AT,    FT_LT,  FT_GT,
	                                    FT_COMMA, FT_COLON, FT_SEMI};
	const char *s;

	if (ps->tok == FT_ERR)
		return;
	for (;;) {
		while (p < end && from_is_space(*p))
			p++;
		if (p == end || *p != '(')
			break;
		if ((p = from_skip_comment(p, end)) == NULL) {
			ps->tok = FT_ERR;
			return;
		}
	}
	ps->tp = p;
	if (p == end)
		ps->tok = FT_END;
	else if (from_is_atext(*p)) {
		while (p < end && from_is_atext(*p))
			p++;
		ps->tok = FT_ATOM;
	} else if (*p == '"' || *p == '[') {
		ps->tok = *p == '"' ? FT_QSTR : FT_DLIT;
		p = from_skip_delimited(p + 1, end, *p == '"' ? '"' : ']');
		if (p == NULL)
			ps->tok = FT_ERR;
	} else if (*p != '\0' && (s = strchr(single, *p)) != NULL) {
		ps->tok = single_tok[s - single];
		p++;
	} else
		ps->tok = FT_ERR;
	if (ps->tok == FT_ERR)
		return;
	ps->tlen = (size_t)(p - ps->tp);
	ps->p = p;
}

/* Checks and lower-cases a domain in A-label form. */
static int
from_check_dns_name(const char *in, size_t len, char out[DNS_NAME_MAX + 1])
{
	size_t i, label = 0;
	unsigned char c;

	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		           c == '_') {
			/* '_' is no hostname character, but it is a DNS one and
			 * appears in real mail domains; refusing it gains nothing. */
			if (++label > FROM_LABEL_MAX)
				return -1;
		} else
			return -1;
		out[i] = (char)c;
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

static bool
from_needs_idna(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)text[i] >= 0x80)
			return true;
		if ((i == 0 || text[i - 1] == '.') && len - i >= 4 &&
		    strncasecmp(text + i, "xn--", 4) == 0)
			return true;
	}
	return false;
}

/*
 * Converts a domain as written to its lower-case A-label form.  U-labels
 * and A-labels both go through libidn2, so that an invalid A-label (bad
 * Punycode, or one that decodes to a disallowed string) is refused like an
 * invalid U-label.  IDN2_NONTRANSITIONAL: RFC 5891 (IDNA2008) keeps ß, ς
 * and the joiners as themselves; UTS #46 transitional processing would
 * map them as IDNA2003 did (ß to "ss"), naming another domain than the one
 * whose owner registered it and publishes its DMARC policy.  The UTS #46
 * mapping that nontransitional processing still applies (case folding,
 * full-width dots) only accepts the spellings MUAs produce.
 */
static int
from_normalize(const char *text, size_t len, char out[DNS_NAME_MAX + 1], bool *ulabel,
               size_t *idna_left)
{
	char in[FROM_DOMAIN_TEXT_MAX + 1];
	uint8_t *res = NULL;
	size_t i;
	int r;

	if (!from_needs_idna(text, len))
		return from_check_dns_name(text, len, out);
	if (*idna_left == 0)
		return -1;
	(*idna_left)--;
	memcpy(in, text, len);
	in[len] = '\0';
	if (idn2_lookup_u8((const uint8_t *)in, &res, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
	    IDN2_OK) {
		idn2_free(res);
		return -1;
	}
	r = from_check_dns_name((const char *)res, strlen((const char *)res), out);
	idn2_free(res);
	for (i = 0; r == 0 && i < len; i++)
		if ((unsigned char)text[i] >= 0x80)
			*ulabel = true;
	return r;
}

/* Lists d once, in the order first seen. */
static void
from_add_domain(struct msg_from *out, const char *d)
{
	size_t i;

	for (i = 0; i < out->ndomains; i++)
		if (strcmp(out->domains[i], d) == 0)
			return;
	if (out->ndomains == MSG_FROM_MAX_DOMAINS) {
		out->truncated = true;
		return;
	}
	memcpy(out->domains[out->ndomains++], d, strlen(d) + 1);
}

/*
 * Reads a domain at the current token: 1 with its text in text/len, 0 for a
 * domain-literal, -1 when it is neither.  The obs-domain of §4.4 allows
 * CFWS around the dots; one trailing dot is the fully qualified spelling
 * of the same name ("example.com.") and is dropped.
 */
static int
from_domain(struct from_parse *ps, char text[FROM_DOMAIN_TEXT_MAX], size_t *len)
{
	size_t n = 0;

	if (ps->tok == FT_DLIT) {
		from_next(ps);
		return 0;
	}
	if (ps->tok != FT_ATOM)
		return -1;
	for (;;) {
		if (ps->tlen > FROM_DOMAIN_TEXT_MAX - n)
			return -1;
		memcpy(text + n, ps->tp, ps->tlen);
		n += ps->tlen;
		from_next(ps);
		if (ps->tok != FT_DOT)
			break;
		from_next(ps);
		if (ps->tok != FT_ATOM)
			break;
		if (n == FROM_DOMAIN_TEXT_MAX)
			return -1;
		text[n++] = '.';
	}
	*len = n;
	return 1;
}

/* Reads the domain of a mailbox's addr-spec and records it. */
static int
from_mailbox_domain(struct from_parse *ps)
{
	char text[FROM_DOMAIN_TEXT_MAX], name[DNS_NAME_MAX + 1];
	size_t len;
	int r = from_domain(ps, text, &len);

	if (r < 0)
		return -1;
	ps->nmailboxes++;
	/* An address literal names a host, not a domain: there is no DNS
	 * name under which a DMARC policy could be published (the Author
	 * Domain of RFC 7489 §3 is a domain name), so it counts as none. */
	if (r == 0) {
		ps->no_domain = true;
		return 0;
	}
	if (from_normalize(text, len, name, &ps->out->had_ulabel, ps->idna_left) < 0)
		return -1;
	from_add_domain(ps->out, name);
	return 0;
}

/* Skips words and dots (a phrase or a local part); returns how many. */
static size_t
from_words(struct from_parse *ps)
{
	size_t n = 0;

	while (ps->tok == FT_ATOM || ps->tok == FT_QSTR || ps->tok == FT_DOT) {
		n++;
		from_next(ps);
	}
	return n;
}

/*
 * Reads an angle-addr after its '<': [obs-route] addr-spec '>', or an
 * empty or domain-less address ("<>", "<postmaster>"), which has no domain.
 */
static int
from_angle(struct from_parse *ps)
{
	char text[FROM_DOMAIN_TEXT_MAX];
	size_t len;

	from_next(ps);
	if (ps->tok == FT_AT) {
		/* §4.4 obs-route: "@a.example,@b.example:"; the relays named
		 * are not the author and are only checked for syntax. */
		while (ps->tok == FT_AT) {
			from_next(ps);
			if (from_domain(ps, text, &len) < 0)
				return -1;
			while (ps->tok == FT_COMMA)
				from_next(ps);
		}
		if (ps->tok != FT_COLON)
			return -1;
		from_next(ps);
	}
	from_words(ps);
	if (ps->tok == FT_AT) {
		from_next(ps);
		if (from_mailbox_domain(ps) < 0)
			return -1;
	} else {
		ps->nmailboxes++;
		ps->no_domain = true;
	}
	if (ps->tok != FT_GT)
		return -1;
	from_next(ps);
	return 0;
}

static int from_group(struct from_parse *ps, size_t words);

/* Reads one list element: a mailbox, a group (not within a group), or
 * nothing, since obs-addr-list allows empty elements. */
static int
from_element(struct from_parse *ps, bool in_group)
{
	size_t words = from_words(ps);

	switch (ps->tok) {
	case FT_LT:
		return from_angle(ps);
	case FT_AT:
		/* An addr-spec, the words its local part (possibly empty:
		 * the domain is what matters here, and it is plain). */
		from_next(ps);
		return from_mailbox_domain(ps);
	case FT_COLON:
		return in_group ? -1 : from_group(ps, words);
	default:
		if (words > 0) {
			ps->nmailboxes++;
			ps->no_domain = true;
		}
		return 0;
	}
}

/* Reads a group after its display name, at the ':'. */
static int
from_group(struct from_parse *ps, size_t words)
{
	if (words == 0)
		return -1;
	ps->group = true;
	from_next(ps);
	for (;;) {
		if (from_element(ps, true) < 0)
			return -1;
		if (ps->tok == FT_COMMA)
			from_next(ps);
		else if (ps->tok == FT_SEMI) {
			from_next(ps);
			return 0;
		} else
			return -1;
	}
}

static int
from_list(struct from_parse *ps)
{
	from_next(ps);
	for (;;) {
		if (from_element(ps, false) < 0)
			return -1;
		if (ps->tok == FT_END)
			return 0;
		if (ps->tok != FT_COMMA)
			return -1;
		from_next(ps);
	}
}

static void
from_reset(struct msg_from *out, enum msg_from_status status)
{
	out->status = status;
	out->ndomains = 0;
	out->had_ulabel = false;
	out->truncated = false;
}

static void
from_parse_value(const char *value, size_t len, struct msg_from *out, size_t *idna_left)
{
	struct from_parse ps;

	memset(&ps, 0, sizeof(ps));
	ps.p = (const unsigned char *)value;
	ps.end = ps.p + len;
	ps.out = out;
	ps.idna_left = idna_left;
	from_reset(out, MSG_FROM_OK);
	if (from_list(&ps) < 0)
		from_reset(out, MSG_FROM_SYNTAX);
	else if (ps.group)
		out->status = MSG_FROM_GROUP;
	else if (ps.nmailboxes == 0 || ps.no_domain)
		out->status = MSG_FROM_NO_DOMAIN;
	else if (ps.nmailboxes > 1)
		out->status = MSG_FROM_MULTIPLE;
}

void
msg_from_parse(const char *value, size_t len, struct msg_from *out)
{
	size_t idna_left = MSG_FROM_MAX_IDNA;

	from_parse_value(value, len, out, &idna_left);
}

void
msg_from_extract(const struct msg_headers *h, struct msg_from *out)
{
	struct msg_from one;
	const struct msg_field *f;
	const char *v;
	size_t len, i, nfields = 0, idna_left = MSG_FROM_MAX_IDNA;
	long at;

	/* One conversion budget for the whole message: the work has to be
	 * bounded per message, and a message may have many From fields. */
	from_reset(out, MSG_FROM_NONE);
	for (at = msg_headers_find(h, "From", 0); at >= 0;
	     at = msg_headers_find(h, "From", (size_t)at + 1)) {
		f = msg_headers_get(h, (size_t)at);
		v = msg_field_value(f, &len);
		from_parse_value(v, len, &one, &idna_left);
		/* Part of the field was not kept: what is missing could name
		 * any domain, so the field names none for certain. */
		if (f->truncated) {
			one.status = MSG_FROM_SYNTAX;
			one.truncated = true;
		}
		if (++nfields == 1) {
			*out = one;
			continue;
		}
		out->status = MSG_FROM_MULTIPLE_FIELDS;
		for (i = 0; i < one.ndomains; i++)
			from_add_domain(out, one.domains[i]);
		out->had_ulabel |= one.had_ulabel;
		out->truncated |= one.truncated;
	}
}

const char *
msg_from_status_name(enum msg_from_status s)
{
	switch (s) {
	case MSG_FROM_OK:
		return "ok";
	case MSG_FROM_NONE:
		return "none";
	case MSG_FROM_MULTIPLE_FIELDS:
		return "multiple_fields";
	case MSG_FROM_MULTIPLE:
		return "multiple";
	case MSG_FROM_GROUP:
		return "group";
	case MSG_FROM_NO_DOMAIN:
		return "no_domain";
	case MSG_FROM_SYNTAX:
		return "syntax";
	}
	return "unknown";
}
