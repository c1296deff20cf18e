/*
 * MD5 message digest (RFC 1321), written from the RFC's description: 64-byte blocks, four rounds
 * of sixteen steps over the state (A, B, C, D), little-endian words, length padding. Used for the
 * NAS-Bench-101 graph hash (which is defined over MD5 hex strings) and for canonical-form keys.
 * Not for security.
 */
#include "space-impl.h"

#include <string.h>

/* T[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4. */
static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

/* Left-rotation amounts per round (four per round, repeated). */
static const int md5_s[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static inline uint32_t rotl32(uint32_t x, int c) {
    return (x << c) | (x >> (32 - c));
}

/* One step: a = b + ((a + f + T[i] + X[k]) <<< s), then rotate the roles (a, b, c, d). */
#define MD5_STEP(f, i, k, sh)                                                                      \
    do {                                                                                           \
        uint32_t f_ = (f), t_ = d; /* f reads b, c, d before they rotate */                        \
        d = c;                                                                                     \
        c = b;                                                                                     \
        b = b + rotl32(a + f_ + md5_t[i] + x[k], sh);                                              \
        a = t_;                                                                                    \
    } while (0)

static void md5_block(uint32_t st[4], const uint8_t *blk) {
    uint32_t x[16]; /* [16] little-endian words of the block */
    for (int i = 0; i < 16; i++) {
        x[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
               (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    for (int i = 0; i < 16; i++) { /* round 1: F = (b & c) | (~b & d), X[i] */
        MD5_STEP((b & c) | (~b & d), i, i, md5_s[0][i & 3]);
    }
    for (int i = 16; i < 32; i++) { /* round 2: G = (b & d) | (c & ~d), X[(5i + 1) mod 16] */
        MD5_STEP((b & d) | (c & ~d), i, (5 * i + 1) & 15, md5_s[1][i & 3]);
    }
    for (int i = 32; i < 48; i++) { /* round 3: H = b ^ c ^ d, X[(3i + 5) mod 16] */
        MD5_STEP(b ^ c ^ d, i, (3 * i + 5) & 15, md5_s[2][i & 3]);
    }
    for (int i = 48; i < 64; i++) { /* round 4: I = c ^ (b | ~d), X[7i mod 16] */
        MD5_STEP(c ^ (b | ~d), i, (7 * i) & 15, md5_s[3][i & 3]);
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
}

void nas_i_md5(const void *data, size_t n, uint8_t digest[16]) {
    uint32_t st[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const uint8_t *p = data;
    size_t left = n;
    while (left >= 64) {
        md5_block(st, p);
        p += 64;
        left -= 64;
    }
    /* Padding: 0x80, zeros to 56 mod 64, then the bit length as a little-endian 64-bit word. */
    uint8_t tail[128];
    memset(tail, 0, sizeof tail);
    if (left) {
        memcpy(tail, p, left);
    }
    tail[left] = 0x80;
    size_t tail_len = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8u;
    for (int i = 0; i < 8; i++) {
        tail[tail_len - 8 + (size_t)i] = (uint8_t)(bits >> (8 * i));
    }
    md5_block(st, tail);
    if (tail_len == 128) {
        md5_block(st, tail + 64);
    }
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            digest[4 * i + j] = (uint8_t)(st[i] >> (8 * j));
        }
    }
}

void nas_i_hex(const uint8_t digest[16], char hex[33]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[32] = '\0';
}

void nas_i_md5_hex(const void *data, size_t n, char hex[33]) {
    uint8_t d[16];
    nas_i_md5(data, n, d);
    nas_i_hex(d, hex);
}
