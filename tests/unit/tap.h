/*
 * tap.h - a minimal TAP producer for the unit tests.
 *
 * Each check prints "ok N - name" or "not ok N - name" with the values
 * that differed; done_testing() prints the plan and returns the exit code.
 * Header-only so every test program stands alone.
 */
#ifndef TAP_H
#define TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int __attribute__((format(printf, 2, 3))) ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

static inline void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		intmax_t g_ = (intmax_t)(got), w_ = (intmax_t)(want);                              \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			diag("got %jd, want %jd", g_, w_);                                         \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		int eq_ = (g_ == NULL || w_ == NULL) ? g_ == w_ : strcmp(g_, w_) == 0;             \
		if (!ok(eq_, __VA_ARGS__))                                                         \
			diag("got \"%s\", want \"%s\"", g_ ? g_ : "(null)", w_ ? w_ : "(null)");   \
	} while (0)

#define is_mem(got, glen, want, wlen, ...)                                                         \
	do {                                                                                       \
		size_t gl_ = (glen), wl_ = (wlen);                                                 \
		int eq_ = gl_ == wl_ && memcmp((got), (want), gl_) == 0;                           \
		if (!ok(eq_, __VA_ARGS__))                                                         \
			diag("got \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", (int)gl_,      \
			     (const char *)(got), gl_, (int)wl_, (const char *)(want), wl_);       \
	} while (0)

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
