/*
 * fuzz-metrics-http - the metrics endpoint's request parser on arbitrary
 * bytes.  Besides memory errors it checks: an answer is one of the
 * statuses the endpoint gives; a head is never still waiting at the
 * bound; and an answer stays the same with more bytes after the head
 * (the server answers as soon as it knows).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
known_status(int s)
{
	return s == 200 || s == 400 || s == 404 || s == 405 || s == 431 || s == 505;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_http_request r, r2;
	const char *p = (const char *)data;
	size_t len = size < METRICS_HTTP_REQUEST_MAX ? size : METRICS_HTTP_REQUEST_MAX;
	char *more;
	int rc = metrics_http_parse(p, len, &r);

	if (rc != 0 && rc != 1)
		abort();
	if (rc == 0 && len >= METRICS_HTTP_REQUEST_MAX)
		abort();
	if (rc == 1 && !known_status(r.status))
		abort();
	if (rc == 1 && r.head && r.status == 200 && (len < 5 || memcmp(p, "HEAD ", 5) != 0))
		abort();
	/* Bytes after a decided head change nothing. */
	if (rc == 1 && len < METRICS_HTTP_REQUEST_MAX && (more = malloc(len + 16)) != NULL) {
		memcpy(more, p, len);
		memset(more + len, 'x', 16);
		if (metrics_http_parse(more, len + 16, &r2) != 1 || r2.status != r.status ||
		    r2.head != r.head)
			abort();
		free(more);
	}
	return 0;
}
