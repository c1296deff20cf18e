/*
 * Fuzz harness: the space-file loader (nas_space_parse, the JSON text of a space file). A space
 * that loads must have a digest that a second parse reproduces, and behave as a space: a sampled
 * member encodes, decodes back to itself and passes the membership check.
 */
#include "fuzz.h"

#include "ghnas/space.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nas_log_set_level(NAS_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 16384) {
        return 0;
    }
    nas_space sp, again;
    if (nas_space_parse(&sp, (const char *)data, size, "fuzz.json") != NAS_OK) {
        return 0;
    }
    FUZZ_ASSERT(strlen(sp.digest) == 32);
    FUZZ_ASSERT(nas_space_parse(&again, (const char *)data, size, "fuzz.json") == NAS_OK);
    FUZZ_ASSERT(strcmp(sp.digest, again.digest) == 0);
    uint64_t n = 0;
    (void)nas_space_size(&sp, &n);
    nas_rng rng;
    nas_rng_seed(&rng, size);
    for (int i = 0; i < 4; i++) {
        nas_arch a, b;
        FUZZ_ASSERT(nas_arch_sample(&sp, &rng, &a) == NAS_OK);
        FUZZ_ASSERT(nas_arch_check(&sp, &a) == NAS_OK);
        char text[NAS_ARCH_STR_MAX];
        FUZZ_ASSERT(nas_arch_encode(&sp, &a, text, sizeof text) == NAS_OK);
        FUZZ_ASSERT(nas_arch_decode(&sp, text, &b) == NAS_OK);
        FUZZ_ASSERT(nas_arch_equal(&a, &b));
        nas_arch c;
        nas_status ms = nas_arch_mutate(&sp, &a, &rng, &c);
        FUZZ_ASSERT(ms == NAS_OK || ms == NAS_ENOTFOUND);
    }
    return 0;
}
