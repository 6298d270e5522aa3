/*
 * fuzz-dkim-key - the DKIM key record parser on arbitrary TXT data, and
 * the checks of a parsed key against each kind of signature.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dkim_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dkim_alg algs[] = {DKIM_ALG_RSA_SHA1, DKIM_ALG_RSA_SHA256,
	                                     DKIM_ALG_ED25519_SHA256};
	struct dkim_sig sig;
	struct dkim_key key;
	enum dkim_key_kind kind;

	memset(&sig, 0, sizeof(sig));
	snprintf(sig.d, sizeof(sig.d), "example.com");
	snprintf(sig.i, sizeof(sig.i), "u@sub.example.com");
	if (dkim_key_parse(data, size, &key, &kind) == NULL)
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			sig.alg = algs[i];
			(void)dkim_key_check(&key, &sig);
		}
	dkim_key_clear(&key);
	return 0;
}
