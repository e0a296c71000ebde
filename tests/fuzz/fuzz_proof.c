/* libFuzzer target: device proofs of possession (proof_verify), with and
 * without a required ath. */
#include <stddef.h>
#include <stdint.h>

#include "proof.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proof_expect e = {
        .aud = "urn:sitetoken:PS1", .act = "register", .ath = NULL, .now = 1700000000, .skew = 300};
    struct proof_result r;
    const char *err = NULL;

    (void)proof_verify((const char *)data, size, &e, &r, &err);
    proof_result_clear(&r);
    e.act = "renew";
    e.ath = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";
    (void)proof_verify((const char *)data, size, &e, &r, &err);
    proof_result_clear(&r);
    return 0;
}
