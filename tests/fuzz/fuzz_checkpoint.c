/*
 * Fuzz harness: the GHN checkpoint loader (nas_ghn_load_mem on arbitrary bytes). Each input is
 * tried twice: as given (the CRC-32 almost always refuses it), and with its header's length and
 * its CRC-32 trailer made consistent, so the fuzzer reaches the section and tensor parsers. A
 * checkpoint that loads must save and load again.
 */
#include "fuzz.h"

#include "ghnas/ghn.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nas_log_set_level(NAS_LOG_ERROR);
    return 0;
}

static void try_load(const uint8_t *data, size_t size) {
    nas_ghn g;
    nas_ghn_trainer tr;
    nas_ghn_data_info info;
    if (nas_ghn_load_mem(&g, &tr, &info, data, size, "fuzz", NULL) != NAS_OK) {
        return;
    }
    void *bytes = NULL;
    size_t n = 0;
    FUZZ_ASSERT(nas_ghn_save_mem(&g, &tr, &bytes, &n) == NAS_OK);
    nas_ghn g2;
    FUZZ_ASSERT(nas_ghn_load_mem(&g2, NULL, NULL, bytes, n, "fuzz (saved again)", NULL) == NAS_OK);
    nas_ghn_free(&g2);
    nas_free(bytes);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) {
        return 0;
    }
    try_load(data, size);
    if (size < 24) {
        return 0;
    }
    /* the same bytes with a consistent length and CRC-32 trailer */
    size_t n = size + 4;
    uint8_t *b = malloc(n);
    if (!b) {
        return 0;
    }
    memcpy(b, data, size);
    for (int i = 0; i < 8; i++) {
        b[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    uint32_t crc = (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), b, size);
    for (int i = 0; i < 4; i++) {
        b[size + i] = (uint8_t)(crc >> (8 * i));
    }
    try_load(b, n);
    free(b);
    return 0;
}
