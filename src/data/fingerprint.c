/*
 * Content fingerprint of a data set: a 64-bit hash over its shape, class count, labels and
 * pixels, printed as 16 hex digits. Four independent lanes each fold one little-endian 8-byte
 * word at a time (xor, multiply by an odd constant, rotate), so the loop runs at memory speed;
 * the lanes, the length and the tail bytes are then mixed by a final avalanche step. Words are
 * assembled byte by byte, so the value is the same on every host.
 */
#include "ghnas/data.h"

#include <stdio.h>
#include <string.h>

#define FP_K1 0x9e3779b97f4a7c15ull /* odd constants with well-spread bits */
#define FP_K2 0xc2b2ae3d27d4eb4full
#define FP_K3 0x165667b19e3779f9ull

static uint64_t rotl(uint64_t x, int r) {
    return x << r | x >> (64 - r);
}

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/* The final avalanche: every input bit affects every output bit. */
static uint64_t fmix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t mix_word(uint64_t lane, uint64_t w) {
    return rotl((lane ^ (w * FP_K2)) * FP_K1, 29);
}

/* Fold n bytes into the running state h. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n) {
    uint64_t a = h ^ FP_K1, b = h ^ FP_K2, c = h ^ FP_K3, d = h + FP_K1;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = mix_word(a, le64(p + i));
        b = mix_word(b, le64(p + i + 8));
        c = mix_word(c, le64(p + i + 16));
        d = mix_word(d, le64(p + i + 24));
    }
    for (; i + 8 <= n; i += 8) {
        a = mix_word(a, le64(p + i));
    }
    uint64_t tail = 0;
    for (size_t k = 0; i + k < n; k++) {
        tail |= (uint64_t)p[i + k] << (8 * k);
    }
    a = mix_word(a, tail);
    uint64_t r = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
    return fmix(r ^ ((uint64_t)n * FP_K3));
}

void nas_data_fingerprint(const nas_dataset *ds, char out[17]) {
    uint8_t buf[4 * 4096]; /* header fields, then labels in fixed chunks of 4096 */
    uint64_t fields[5] = {(uint64_t)ds->n, (uint64_t)ds->c, (uint64_t)ds->h, (uint64_t)ds->w,
                          (uint64_t)ds->n_classes};
    for (int f = 0; f < 5; f++) {
        for (int k = 0; k < 8; k++) {
            buf[8 * f + k] = (uint8_t)(fields[f] >> (8 * k));
        }
    }
    uint64_t h = hash_bytes(0x67686e6173ull, buf, 40); /* seed: "ghnas" */
    for (int64_t i = 0; ds->labels && i < ds->n; i += 4096) {
        int64_t m = ds->n - i < 4096 ? ds->n - i : 4096;
        for (int64_t j = 0; j < m; j++) {
            uint32_t v = (uint32_t)ds->labels[i + j];
            for (int k = 0; k < 4; k++) {
                buf[4 * j + k] = (uint8_t)(v >> (8 * k));
            }
        }
        h = hash_bytes(h, buf, (size_t)m * 4);
    }
    if (ds->images && ds->n > 0) {
        h = hash_bytes(h, ds->images, (size_t)ds->n * nas_data_image_size(ds));
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}
