/*
 * Fuzz harness: the architecture-text decoder of one space (FUZZ_SPACE: nb201, nb101, darts or
 * macro; one executable per space). Every input is decoded; a decoded genotype must pass the
 * membership check, encode, decode back to the same genotype (encode(decode(s)) is a fixed
 * point) and get a canonical key.
 */
#include "fuzz.h"

#include "ghnas/space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_SPACE
#error "compile with -DFUZZ_SPACE=\"nb201\" (or nb101, darts, macro)"
#endif

static nas_space sp;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nas_log_set_level(NAS_LOG_ERROR);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.json", GHNAS_FUZZ_SPACES_DIR, FUZZ_SPACE);
    if (nas_space_load(&sp, path) != NAS_OK) {
        fprintf(stderr, "fuzz_arch: %s\n", nas_errmsg());
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 2 * NAS_ARCH_STR_MAX) {
        return 0; /* no valid text is this long; longer inputs only slow the search */
    }
    char *text = fuzz_cstr(data, size);
    if (!text) {
        return 0;
    }
    nas_arch a, b;
    if (nas_arch_decode(&sp, text, &a) == NAS_OK) {
        FUZZ_ASSERT(nas_arch_check(&sp, &a) == NAS_OK);
        char enc[NAS_ARCH_STR_MAX], enc2[NAS_ARCH_STR_MAX];
        FUZZ_ASSERT(nas_arch_encode(&sp, &a, enc, sizeof enc) == NAS_OK);
        FUZZ_ASSERT(nas_arch_decode(&sp, enc, &b) == NAS_OK);
        FUZZ_ASSERT(nas_arch_equal(&a, &b));
        FUZZ_ASSERT(nas_arch_encode(&sp, &b, enc2, sizeof enc2) == NAS_OK);
        FUZZ_ASSERT(strcmp(enc, enc2) == 0);
        (void)nas_arch_is_valid(&sp, &a);
        char key[NAS_CANON_KEY_MAX];
        FUZZ_ASSERT(nas_arch_canon_key(&sp, &a, nas_space_default_canon(&sp), key, sizeof key) ==
                    NAS_OK);
    }
    free(text);
    return 0;
}
