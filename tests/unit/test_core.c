/*
 * Tests for src/core: status messages, arena, RNG, fault injection, logging, the checkpoint
 * container (round trip, every refusal, version mismatch).
 */
#include "test_suites.h"

#include "ghnas/container.h"
#include "ghnas/core.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

START_TEST(test_core__status_messages) {
    nas_error_clear();
    ck_assert_str_eq(nas_errmsg(), "");
    nas_status s = nas_error(NAS_EFORMAT, "bad token '%s' at %d", "x", 3);
    ck_assert_int_eq(s, NAS_EFORMAT);
    ck_assert_str_eq(nas_errmsg(), "bad token 'x' at 3");
    nas_error_wrap(s, "reading %s", "f.json");
    ck_assert_str_eq(nas_errmsg(), "reading f.json: bad token 'x' at 3");
    ck_assert_str_eq(nas_status_str(NAS_ENOMEM), "out of memory");
    ck_assert_str_eq(nas_status_str((nas_status)999), "unknown status");
}
END_TEST

START_TEST(test_core__arena_alignment_and_reset) {
    nas_arena a;
    ck_assert_int_eq(nas_arena_init(&a, 128), NAS_OK);
    size_t total = 0;
    for (int i = 1; i < 200; i++) {
        unsigned char *p = nas_arena_alloc(&a, (size_t)i * 37);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % NAS_ARENA_ALIGN, 0);
        memset(p, 0xab, (size_t)i * 37); /* ASan catches overlap/overflow */
        total += (size_t)i * 37;
    }
    ck_assert_uint_ge(nas_arena_used(&a), total);
    size_t peak = a.peak;
    nas_arena_reset(&a);
    ck_assert_uint_eq(nas_arena_used(&a), 0);
    /* After reset a single block holds the peak: no further chaining for the same load. */
    ck_assert_ptr_nonnull(a.head);
    for (int i = 1; i < 200; i++) {
        ck_assert_ptr_nonnull(nas_arena_alloc(&a, (size_t)i * 37));
    }
    ck_assert_uint_eq(a.peak, peak);
    unsigned char *z = nas_arena_calloc(&a, 1000);
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(z[i], 0);
    }
    nas_arena_free(&a);
}
END_TEST

START_TEST(test_core__arena_oom_message) {
    nas_arena a;
    nas_arena_init(&a, 0);
    nas_fault_inject(1);
    void *p = nas_arena_alloc(&a, 100);
    nas_fault_inject(0);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "arena"));
    ck_assert_ptr_nonnull(nas_arena_alloc(&a, 100));
    nas_arena_free(&a);
}
END_TEST

START_TEST(test_core__strdup) {
    char *p = nas_strdup("ghn \"x\"");
    ck_assert_str_eq(p, "ghn \"x\"");
    nas_free(p);
    p = nas_strdup("");
    ck_assert_str_eq(p, "");
    nas_free(p);
    nas_fault_inject(1);
    ck_assert_ptr_null(nas_strdup("abc"));
    nas_fault_inject(0);
}
END_TEST

START_TEST(test_core__rng_determinism_and_moments) {
    nas_rng a, b;
    nas_rng_seed(&a, 42);
    nas_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) {
        ck_assert_uint_eq(nas_rng_u64(&a), nas_rng_u64(&b));
    }
    nas_rng c;
    nas_rng_split(&c, &a, 1);
    ck_assert_uint_ne(nas_rng_u64(&c), nas_rng_u64(&a));

    double s = 0, s2 = 0, u = 0;
    const int n = 200000;
    int hist[7] = {0};
    for (int i = 0; i < n; i++) {
        double z = nas_rng_normal(&a);
        s += z;
        s2 += z * z;
        float f = nas_rng_uniform(&a);
        ck_assert(f >= 0.0f && f < 1.0f);
        u += (double)f;
        hist[nas_rng_below(&a, 7)]++;
    }
    ck_assert_double_eq_tol(s / n, 0.0, 0.01);
    ck_assert_double_eq_tol(s2 / n, 1.0, 0.02);
    ck_assert_double_eq_tol(u / n, 0.5, 0.01);
    for (int k = 0; k < 7; k++) {
        ck_assert_double_eq_tol(hist[k] / (double)n, 1.0 / 7.0, 0.01);
    }
}
END_TEST

START_TEST(test_core__shuffle_is_permutation) {
    nas_rng r;
    nas_rng_seed(&r, 7);
    int32_t v[100];
    for (int i = 0; i < 100; i++) {
        v[i] = i;
    }
    nas_rng_shuffle_i32(&r, v, 100);
    int seen[100] = {0};
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[v[i]]++;
        moved += v[i] != i;
    }
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(seen[i], 1);
    }
    ck_assert_int_gt(moved, 50);
}
END_TEST

static int log_calls;
static char log_last[256];
static void capture_log(nas_log_level level, const char *msg, void *user) {
    (void)level;
    (void)user;
    log_calls++;
    strncpy(log_last, msg, sizeof log_last - 1);
}

START_TEST(test_core__log_sink_and_level) {
    nas_log_set(capture_log, NULL);
    nas_log_set_level(NAS_LOG_WARN);
    log_calls = 0;
    NAS_INFO("hidden %d", 1);
    NAS_WARN("shown %d", 2);
    nas_log_set(NULL, NULL);
    ck_assert_int_eq(log_calls, 1);
    ck_assert_str_eq(log_last, "shown 2");
}
END_TEST

/* A resumed job's rate counts only this process's units: 1000 units done earlier must not turn
 * 10 new units in ~0.05 s into thousands per second. */
START_TEST(test_core__progress_rate_after_resume) {
    nas_progress_set_enabled(false);
    nas_progress p;
    nas_progress_begin(&p, "t", 2000);
    nas_progress_resume(&p, 1000);
    ck_assert_int_eq((int)p.done, 1000);
    p.t_start -= 10.0; /* pretend 10 s have passed */
    nas_progress_update(&p, 1010, NULL);
    double r = nas_progress_rate(&p);
    ck_assert_msg(r > 0.9 && r < 1.01, "rate %g, expected ~1 unit/s", r);
    nas_progress_set_enabled(true);
}
END_TEST

/* ---- checkpoint container ------------------------------------------------------------------ */

static const nas_ckpt_kind TEST_KIND = {{'T', 'S', 'T', '\0'}, "test", 4, "make it again"};
static const nas_ckpt_kind OTHER_KIND = {{'O', 'T', 'H', '\0'}, "other", 4, "make it again"};

/* A buffer with one section of every type, an empty array and a record. */
static void container_sample(void **bytes, size_t *n) {
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &TEST_KIND);
    const uint8_t u8[3] = {1, 2, 255};
    const int32_t i32[2][2] = {{-1, 2}, {3, INT32_MIN}};
    const int64_t i64[1] = {-1234567890123LL};
    const float f32[4] = {0.5f, -2.0f, 1e-30f, 3.25f};
    const double f64[2] = {1.0 / 3.0, -1e300};
    nas_ckpt_add(&w, "u8", NAS_CKPT_U8, 1, (int64_t[]){3}, u8);
    nas_ckpt_add(&w, "i32", NAS_CKPT_I32, 2, (int64_t[]){2, 2}, i32);
    nas_ckpt_add(&w, "i64", NAS_CKPT_I64, 0, NULL, i64); /* a scalar: no dims */
    nas_ckpt_add(&w, "f32", NAS_CKPT_F32, 1, (int64_t[]){4}, f32);
    nas_ckpt_add(&w, "f64", NAS_CKPT_F64, 1, (int64_t[]){2}, f64);
    nas_ckpt_add(&w, "empty", NAS_CKPT_F32, 2, (int64_t[]){0, 7}, NULL);
    nas_ckpt_record_begin(&w, "rec");
    nas_ckpt_put_i32(&w, -7);
    nas_ckpt_put_i64(&w, INT64_MAX);
    nas_ckpt_put_f32(&w, 1.5f);
    nas_ckpt_put_f64(&w, -0.25);
    nas_ckpt_put_str(&w, "nb201");
    nas_ckpt_put_u(&w, 0xabcdef, 3);
    nas_ckpt_record_end(&w);
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, bytes, n), NAS_OK);
    ck_assert_ptr_null(w.p);
}

/* Rewrite the CRC trailer after an edit, so the checks behind it are reached. */
static void container_recrc(unsigned char *b, size_t n) {
    uLong crc = crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4));
    for (int i = 0; i < 4; i++) {
        b[n - 4 + (size_t)i] = (unsigned char)(crc >> (8 * i));
    }
}

static void expect_refusal(const void *b, size_t n, const char *msg) {
    nas_ckpt_reader r;
    ck_assert_int_eq(nas_ckpt_open(&r, b, n, &TEST_KIND, "x.ckpt"), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), msg) && strstr(nas_errmsg(), "x.ckpt"),
                  "expected '%s', got '%s'", msg, nas_errmsg());
    ck_assert_ptr_null(r.sections);
    nas_ckpt_reader_free(&r);
}

START_TEST(test_core__container_round_trip) {
    void *bytes;
    size_t n;
    container_sample(&bytes, &n);
    const unsigned char *b = bytes;
    ck_assert_int_eq(memcmp(b, "GHNASTST", 8), 0);
    ck_assert_int_eq(b[8], 4); /* version, little-endian */
    ck_assert(nas_ckpt_is_kind(bytes, n, &TEST_KIND));
    ck_assert(!nas_ckpt_is_kind(bytes, n, &OTHER_KIND));
    nas_ckpt_reader r;
    ck_assert_msg(nas_ckpt_open(&r, bytes, n, &TEST_KIND, "mem") == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(r.n_sections, 7);
    ck_assert_int_eq(r.version, 4);
    const nas_ckpt_section *s;
    uint8_t u8[3];
    ck_assert_int_eq(nas_ckpt_find(&r, "u8", NAS_CKPT_U8, &s), NAS_OK);
    ck_assert_int_eq(nas_ckpt_section_read(&r, s, u8, 3), NAS_OK);
    ck_assert(u8[0] == 1 && u8[1] == 2 && u8[2] == 255);
    int32_t i32[4];
    ck_assert_int_eq(nas_ckpt_find(&r, "i32", NAS_CKPT_I32, &s), NAS_OK);
    ck_assert(s->ndim == 2 && s->dims[0] == 2 && s->dims[1] == 2 && s->count == 4);
    ck_assert_int_eq(nas_ckpt_section_read(&r, s, i32, 4), NAS_OK);
    ck_assert(i32[0] == -1 && i32[1] == 2 && i32[2] == 3 && i32[3] == INT32_MIN);
    int64_t i64;
    ck_assert_int_eq(nas_ckpt_find(&r, "i64", NAS_CKPT_I64, &s), NAS_OK);
    ck_assert(s->ndim == 0 && s->count == 1);
    ck_assert_int_eq(nas_ckpt_section_read(&r, s, &i64, 1), NAS_OK);
    ck_assert(i64 == -1234567890123LL);
    float f32[4];
    ck_assert_int_eq(nas_ckpt_find(&r, "f32", NAS_CKPT_F32, &s), NAS_OK);
    ck_assert_int_eq(nas_ckpt_section_read(&r, s, f32, 4), NAS_OK);
    ck_assert(f32[0] == 0.5f && f32[1] == -2.0f && f32[2] == 1e-30f && f32[3] == 3.25f);
    double f64[2];
    ck_assert_int_eq(nas_ckpt_find(&r, "f64", NAS_CKPT_F64, &s), NAS_OK);
    ck_assert_int_eq(nas_ckpt_section_read(&r, s, f64, 2), NAS_OK);
    ck_assert(f64[0] == 1.0 / 3.0 && f64[1] == -1e300);
    ck_assert_int_eq(nas_ckpt_find(&r, "empty", NAS_CKPT_F32, &s), NAS_OK);
    ck_assert(s->count == 0 && s->bytes == 0 && s->dims[1] == 7);
    ck_assert_int_eq(nas_ckpt_find(&r, "rec", NAS_CKPT_RECORD, &s), NAS_OK);
    nas_ckpt_cursor c = nas_ckpt_cursor_of(s);
    ck_assert_int_eq(nas_ckpt_get_i32(&c), -7);
    ck_assert(nas_ckpt_get_i64(&c) == INT64_MAX);
    ck_assert(nas_ckpt_get_f32(&c) == 1.5f);
    ck_assert(nas_ckpt_get_f64(&c) == -0.25);
    char str[4];
    nas_ckpt_get_str(&c, str, sizeof str); /* truncated to the buffer */
    ck_assert_str_eq(str, "nb2");
    ck_assert_uint_eq(nas_ckpt_get_u(&c, 3), 0xabcdef);
    ck_assert(!c.short_read && c.off == c.n);
    ck_assert_uint_eq(nas_ckpt_get_u(&c, 1), 0); /* past the end: zero, flagged */
    ck_assert(c.short_read);
    /* lookups: optional, missing, wrong type, wrong count */
    ck_assert_int_eq(nas_ckpt_find_opt(&r, "nope", NAS_CKPT_U8, &s), NAS_OK);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(nas_ckpt_find(&r, "nope", NAS_CKPT_U8, &s), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "mem: the checkpoint has no section 'nope'"));
    ck_assert_int_eq(nas_ckpt_find(&r, "f32", NAS_CKPT_F64, &s), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "section 'f32' holds f32, expected f64"));
    ck_assert_int_eq(nas_ckpt_find(&r, "f32", NAS_CKPT_F32, &s), NAS_OK);
    ck_assert_int_eq(nas_ckpt_section_read(&r, s, f32, 3), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "holds 4 f32 values, expected 3"));
    nas_ckpt_reader_free(&r);
    nas_free(bytes);
}
END_TEST

START_TEST(test_core__container_refusals) {
    void *bytes;
    size_t n;
    container_sample(&bytes, &n);
    unsigned char *b = malloc(n + 8);
    memcpy(b, bytes, n);
    /* foreign bytes, an empty buffer, another kind */
    expect_refusal("{\"not\": \"a checkpoint\"}", 24, "not a ghnas test checkpoint (no GHNASTST");
    expect_refusal(b, 0, "not a ghnas test checkpoint");
    nas_ckpt_reader r;
    ck_assert_int_eq(nas_ckpt_open(&r, b, n, &OTHER_KIND, "x.ckpt"), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "not a ghnas other checkpoint (a ghnas 'TST'"));
    /* truncated: inside the header, then inside the body */
    expect_refusal(b, 20, "truncated checkpoint (20 bytes, the header alone is 28)");
    expect_refusal(b, n - 5, "truncated checkpoint");
    /* trailing bytes */
    memset(b + n, 0, 8);
    expect_refusal(b, n + 8, "corrupted (trailing data or bad length)");
    /* one flipped bit anywhere after the header */
    for (size_t at = 24; at < n; at += 7) {
        b[at] ^= 0x04;
        expect_refusal(b, n, "corrupted checkpoint");
        b[at] ^= 0x04;
    }
    b[n - 20] ^= 0x01;
    expect_refusal(b, n, "CRC-32");
    b[n - 20] ^= 0x01;
    /* versions: newer, older (with the kind's advice) */
    b[8] = 9;
    expect_refusal(b, n, "version 9, this build reads version 4 (written by a newer ghnas)");
    b[8] = 3;
    expect_refusal(b, n,
                   "version 3, this build reads version 4 (written by an older ghnas: "
                   "make it again)");
    b[8] = 4;
    /* malformed section tables behind a valid CRC */
    b[12] = 200; /* 200 sections cannot fit */
    container_recrc(b, n);
    expect_refusal(b, n, "200 sections in");
    b[12] = 8; /* one more section than there is */
    container_recrc(b, n);
    expect_refusal(b, n, "runs past the end");
    b[12] = 6; /* one fewer: bytes left over */
    container_recrc(b, n);
    expect_refusal(b, n, "bytes after the last section");
    b[12] = 7;
    /* the first section ("u8"): type byte, dims count, payload size */
    const size_t type_at = 24 + 1 + 2;
    b[type_at] = 42;
    container_recrc(b, n);
    expect_refusal(b, n, "section 0 'u8': name length 2, type 42");
    b[type_at] = NAS_CKPT_U8;
    b[type_at + 1] = 9;
    container_recrc(b, n);
    expect_refusal(b, n, "9 dims");
    b[type_at + 1] = 1;
    b[type_at + 2 + 8] = 4; /* 4 payload bytes for 3 u8 */
    container_recrc(b, n);
    expect_refusal(b, n, "section 'u8' holds 4 bytes, its shape needs 3");
    b[type_at + 2 + 8] = 3;
    container_recrc(b, n);
    ck_assert_int_eq(nas_ckpt_open(&r, b, n, &TEST_KIND, "x.ckpt"), NAS_OK);
    nas_ckpt_reader_free(&r);
    free(b);
    nas_free(bytes);
}
END_TEST

START_TEST(test_core__container_writer_errors) {
    void *bytes = (void *)1;
    size_t n = 1;
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &TEST_KIND);
    nas_ckpt_add(&w, "", NAS_CKPT_U8, 1, (int64_t[]){0}, NULL); /* empty name */
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_EINVAL);
    ck_assert(bytes == NULL && n == 0);
    nas_ckpt_writer_init(&w, &TEST_KIND);
    nas_ckpt_record_begin(&w, "open");
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_EINVAL);
    nas_ckpt_writer_init(&w, &TEST_KIND);
    nas_ckpt_record_end(&w); /* no record open */
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_EINVAL);
    /* running out of memory while growing */
    float big[2048] = {0};
    nas_ckpt_writer_init(&w, &TEST_KIND);
    nas_fault_inject(1);
    nas_ckpt_add(&w, "big", NAS_CKPT_F32, 1, (int64_t[]){2048}, big);
    nas_fault_inject(0);
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_ENOMEM);
    ck_assert_ptr_null(bytes);
    /* ... or already for the header: a record written after that is still out of memory */
    nas_fault_inject(1);
    nas_ckpt_writer_init(&w, &TEST_KIND);
    nas_fault_inject(0);
    nas_ckpt_record_begin(&w, "rec");
    nas_ckpt_put_i32(&w, 7);
    nas_ckpt_record_end(&w);
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_ENOMEM);
    ck_assert_ptr_null(bytes);
    /* an empty container is valid */
    nas_ckpt_writer_init(&w, &TEST_KIND);
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_OK);
    ck_assert_int_eq(n, 28);
    nas_ckpt_reader r;
    ck_assert_int_eq(nas_ckpt_open(&r, bytes, n, &TEST_KIND, "e"), NAS_OK);
    ck_assert_int_eq(r.n_sections, 0);
    nas_ckpt_reader_free(&r);
    nas_free(bytes);
}
END_TEST

START_TEST(test_core__file_helpers) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/ghnas_test_core_%d.bin", (int)getpid());
    ck_assert_int_eq(nas_file_write_atomic(path, "abc", 3), NAS_OK);
    void *bytes;
    size_t n;
    ck_assert_int_eq(nas_file_read_all(path, &bytes, &n), NAS_OK);
    ck_assert(n == 3 && memcmp(bytes, "abc", 3) == 0);
    nas_free(bytes);
    remove(path);
    ck_assert_int_eq(nas_file_read_all(path, &bytes, &n), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), path));
    ck_assert_int_eq(nas_file_write_atomic("/nonexistent-dir/x.bin", "a", 1), NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "/nonexistent-dir/x.bin"));
}
END_TEST

Suite *nas_test_core_suite(void) {
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_core__status_messages);
    suite_add_tcase(s, tc);
    tc = tcase_create("arena");
    tcase_add_test(tc, test_core__arena_alignment_and_reset);
    tcase_add_test(tc, test_core__arena_oom_message);
    tcase_add_test(tc, test_core__strdup);
    suite_add_tcase(s, tc);
    tc = tcase_create("rng");
    tcase_add_test(tc, test_core__rng_determinism_and_moments);
    tcase_add_test(tc, test_core__shuffle_is_permutation);
    suite_add_tcase(s, tc);
    tc = tcase_create("log");
    tcase_add_test(tc, test_core__log_sink_and_level);
    suite_add_tcase(s, tc);
    tc = tcase_create("container");
    tcase_add_test(tc, test_core__container_round_trip);
    tcase_add_test(tc, test_core__container_refusals);
    tcase_add_test(tc, test_core__container_writer_errors);
    tcase_add_test(tc, test_core__file_helpers);
    suite_add_tcase(s, tc);
    tc = tcase_create("progress");
    tcase_add_test(tc, test_core__progress_rate_after_resume);
    suite_add_tcase(s, tc);
    return s;
}
