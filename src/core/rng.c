/*
 * Random numbers with explicit state: xoshiro256** seeded through splitmix64.
 *
 * Every consumer owns a nas_rng; parallel workers derive independent streams with
 * nas_rng_split(), so results do not depend on thread scheduling. Also the one FNV-1a hash
 * (nas_hash_fnv1a) that seeds streams from texts and keys hash tables.
 */
#include "ghnas/core.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void nas_rng_seed(nas_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

void nas_rng_split(nas_rng *child, const nas_rng *parent, uint64_t index) {
    uint64_t x = parent->s[0] ^ rotl(parent->s[1], 17) ^ rotl(parent->s[2], 31) ^
                 rotl(parent->s[3], 47) ^ (index * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++) {
        child->s[i] = splitmix64(&x);
    }
}

uint64_t nas_rng_u64(nas_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t nas_rng_u32(nas_rng *r) {
    return (uint32_t)(nas_rng_u64(r) >> 32);
}

uint64_t nas_rng_below(nas_rng *r, uint64_t n) {
    NAS_ASSERT(n > 0);
    /* Rejection sampling on the top of the range to remove modulo bias. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = nas_rng_u64(r);
    } while (x >= limit);
    return x % n;
}

float nas_rng_uniform(nas_rng *r) {
    return (float)(nas_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

float nas_rng_normal(nas_rng *r) {
    double u1 = ((double)(nas_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(nas_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

void nas_rng_shuffle_i32(nas_rng *r, int32_t *v, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)nas_rng_below(r, i);
        int32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

uint64_t nas_hash_fnv1a(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t nas_hash_str(const char *s) {
    return nas_hash_fnv1a(s, strlen(s), NAS_FNV1A_INIT);
}
