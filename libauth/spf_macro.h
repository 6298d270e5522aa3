/*
 * spf_macro - the macro language of SPF (RFC 7208 §7).
 *
 * Checks and expands macro-strings: %{s l o d i p h c r t v} with the digit
 * and "r" transformers and the delimiters . - + , / _ =, the escapes %% %_
 * %-, and URL-escaping for upper-case macro letters.  The letters c, r and t
 * are allowed only in explanation text (exp_text non-zero), which may also
 * hold spaces (explain-string, §6.2).
 *
 * Inputs are (pointer, length) views; nothing is assumed NUL-terminated.
 * The %{p} value needs DNS: the caller supplies it through a callback that
 * is asked at most when a %{p} is met.  Output goes to a struct buf whose
 * maximum bounds every expansion.
 *
 * Owns nothing; thread-safe (no state outside the arguments).
 */
#ifndef AUTH_SPF_MACRO_H
#define AUTH_SPF_MACRO_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

/* Largest DIGIT transformer honoured; larger values mean "all parts"
 * (§7.3 asks for at least 127). */
#define SPF_MACRO_DIGIT_MAX 128

enum spf_macro_status {
	SPF_MACRO_OK = 0,
	SPF_MACRO_SYNTAX = -1,  /* not a valid macro-string */
	SPF_MACRO_NOMEM = -2,   /* out of memory */
	SPF_MACRO_TOOLONG = -3, /* the expansion exceeds the output buffer's maximum */
	SPF_MACRO_LIMIT = -4,   /* the %{p} look-up broke a processing limit */
};

struct spf_macro_ctx {
	const char *sender; /* <sender>: local-part@domain */
	size_t sender_len;
	size_t local_len;   /* length of the local-part (before the last '@') */
	const char *domain; /* <domain>, the domain being evaluated */
	int family;         /* AF_INET or AF_INET6 (IPv4-mapped already unwrapped) */
	unsigned char ip[16];
	const char *helo;     /* never NULL */
	const char *receiver; /* never NULL */
	time_t now;           /* %{t} */
	/* %{p}: stores the validated client name in *name; returns an
	 * enum spf_macro_status. */
	int (*ptr_name)(void *arg, const char **name);
	void *ptr_arg;
};

/* Returns SPF_MACRO_OK when s is a valid macro-string (explain-string when
 * exp_text), else SPF_MACRO_SYNTAX. */
int spf_macro_check(const char *s, size_t len, int exp_text);

/* Appends the expansion of s to out; returns an enum spf_macro_status. */
int spf_macro_expand(const struct spf_macro_ctx *c, const char *s, size_t len, int exp_text,
                     struct buf *out);

/* Length of the macro-expand at s (s[0] == '%'), or 0 when there is none. */
size_t spf_macro_token_len(const char *s, size_t len, int exp_text);

#endif
