/*
 * Tests for src/core: status messages, arena, RNG, fault injection, logging.
 */
#include "test_suites.h"

#include "ghnas/core.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

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
    tc = tcase_create("progress");
    tcase_add_test(tc, test_core__progress_rate_after_resume);
    suite_add_tcase(s, tc);
    return s;
}
