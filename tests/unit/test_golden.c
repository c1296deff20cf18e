/*
 * Golden test: a small network built from every op family, compared with its PyTorch twin
 * (tests/data/gen_golden_ops.py -> golden_ops.bin): logits, loss, and the gradients of every
 * weight and of the input; plus batchnorm in running-statistics mode.
 */
#include "test_suites.h"

#include "golden.h"
#include "ghnas/tensor.h"

#include <stdio.h>
#include <string.h>

#define GOLDEN_PATH GHNAS_TEST_DATA_DIR "/golden_ops.bin"

static const char *const weight_names[] = {"x",  "w1",   "b1",   "bn1_g", "bn1_b", "w2", "w3",
                                           "w4", "ln_g", "ln_b", "emb",   "wl",    "bl", "wm"};
#define N_WEIGHTS (int)(sizeof weight_names / sizeof weight_names[0])

static nas_tensor *leaf(nas_tape *t, const golden_file *g, const char *name) {
    const golden_rec *r = golden_get(g, name);
    ck_assert_msg(r != NULL, "golden record %s missing", name);
    nas_tensor *x = nas_tensor_from(t, r->ndim, r->shape, r->data);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(nas_tensor_require_grad(t, x), NAS_OK);
    return x;
}

static void to_i32(const golden_file *g, const char *name, int32_t *out, int n) {
    const golden_rec *r = golden_get(g, name);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->numel, n);
    for (int i = 0; i < n; i++) {
        out[i] = (int32_t)r->data[i];
    }
}

START_TEST(test_golden__small_network_matches_pytorch) {
    golden_file g;
    ck_assert_msg(golden_load(&g, GOLDEN_PATH) == NAS_OK, "%s", nas_errmsg());
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *w[N_WEIGHTS];
    for (int i = 0; i < N_WEIGHTS; i++) {
        w[i] = leaf(&t, &g, weight_names[i]);
    }
    nas_tensor *x = w[0], *w1 = w[1], *b1 = w[2], *bn_g = w[3], *bn_b = w[4], *w2 = w[5];
    nas_tensor *w3 = w[6], *w4 = w[7], *ln_g = w[8], *ln_b = w[9], *emb = w[10], *wl = w[11];
    nas_tensor *bl = w[12], *wm = w[13];
    int32_t labels[4], idx[4];
    to_i32(&g, "labels", labels, 4);
    to_i32(&g, "emb_idx", idx, 4);

    nas_tensor *h = nas_conv2d(&t, x, w1, b1, 1, 1, 1, 1);
    h = nas_batchnorm(&t, h, bn_g, bn_b, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f);
    h = nas_relu(&t, h);
    nas_tensor *a = nas_conv2d(&t, h, w2, NULL, 2, 1, 1, 8);
    nas_tensor *b = nas_conv2d(&t, h, w3, NULL, 1, 2, 2, 2);
    b = nas_maxpool2d(&t, b, 3, 2, 1);
    nas_tensor *c = nas_avgpool2d(&t, a, 3, 1, 1, false);
    nas_tensor *d = nas_avgpool2d(&t, b, 3, 1, 1, true);
    nas_tensor *e = nas_mul(&t, nas_sigmoid(&t, c), nas_tanh(&t, d));
    nas_tensor *terms[3] = {a, b, e};
    nas_tensor *f = nas_sum(&t, terms, 3);
    nas_tensor *cat[2] = {f, nas_scale(&t, c, 0.5f)};
    nas_tensor *gg = nas_concat(&t, cat, 2, 1);
    gg = nas_conv2d(&t, gg, w4, NULL, 1, 0, 1, 1);
    gg = nas_batchnorm(&t, gg, NULL, NULL, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f);
    gg = nas_relu(&t, gg);
    nas_tensor *s = nas_slice(&t, gg, 1, 4, 8);
    const int64_t reps[4] = {1, 2, 1, 1};
    s = nas_tile(&t, s, reps);
    gg = nas_add(&t, gg, s);
    nas_tensor *v = nas_global_avgpool(&t, gg);
    const int64_t shape2[2] = {4, 16};
    v = nas_reshape(&t, v, 2, shape2);
    v = nas_layernorm(&t, v, ln_g, ln_b, 1e-5f);
    v = nas_add(&t, v, nas_embedding(&t, emb, idx, 4));
    v = nas_add(&t, v, nas_scale(&t, nas_matmul(&t, v, wm, false, true), 0.25f));
    nas_tensor *logits = nas_linear(&t, v, wl, bl);
    nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, labels, 0.1f);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(nas_tape_backward(&t, loss), NAS_OK);

    int bad = 0;
    const golden_rec *r = golden_get(&g, "logits");
    bad += golden_compare("logits", logits->data, r->data, r->numel, 1e-5, 1e-4);
    r = golden_get(&g, "loss");
    bad += golden_compare("loss", loss->data, r->data, 1, 1e-6, 1e-5);
    for (int i = 0; i < N_WEIGHTS; i++) {
        char name[80];
        snprintf(name, sizeof name, "grad_%s", weight_names[i]);
        r = golden_get(&g, name);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->numel, w[i]->numel);
        bad += golden_compare(name, w[i]->grad, r->data, r->numel, 2e-5, 1e-3);
    }
    ck_assert_int_eq(bad, 0);
    nas_tape_free(&t);
    golden_free(&g);
}
END_TEST

START_TEST(test_golden__batchnorm_running_stats_matches_pytorch) {
    golden_file g;
    ck_assert_msg(golden_load(&g, GOLDEN_PATH) == NAS_OK, "%s", nas_errmsg());
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    nas_tensor *x = leaf(&t, &g, "x");
    nas_tensor *h = nas_conv2d(&t, x, leaf(&t, &g, "w1"), leaf(&t, &g, "b1"), 1, 1, 1, 1);
    const golden_rec *rm = golden_get(&g, "bn_eval_rm");
    const golden_rec *rv = golden_get(&g, "bn_eval_rv");
    float mean[8], var[8];
    memcpy(mean, rm->data, sizeof mean);
    memcpy(var, rv->data, sizeof var);
    nas_tensor *y = nas_batchnorm(&t, h, leaf(&t, &g, "bn1_g"), leaf(&t, &g, "bn1_b"), mean, var,
                                  NAS_BN_RUNNING_STATS, 0.1f, 1e-5f);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    const golden_rec *want = golden_get(&g, "bn_eval_out");
    ck_assert_int_eq(golden_compare("bn_eval_out", y->data, want->data, want->numel, 1e-5, 1e-4),
                     0);
    /* Running statistics are read, never updated, in this mode. */
    ck_assert_int_eq(golden_compare("running_mean", mean, rm->data, 8, 0, 0), 0);
    nas_tape_free(&t);
    golden_free(&g);
}
END_TEST

START_TEST(test_golden__loader_refuses_bad_files) {
    golden_file g;
    ck_assert_int_eq(golden_load(&g, GHNAS_TEST_DATA_DIR "/no-such-file.bin"), NAS_EIO);
    ck_assert_int_eq(golden_load(&g, GHNAS_TEST_DATA_DIR "/gen_golden_ops.py"), NAS_EFORMAT);
}
END_TEST

Suite *nas_test_golden_suite(void) {
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("pytorch twin");
    tcase_add_test(tc, test_golden__small_network_matches_pytorch);
    tcase_add_test(tc, test_golden__batchnorm_running_stats_matches_pytorch);
    tcase_add_test(tc, test_golden__loader_refuses_bad_files);
    suite_add_tcase(s, tc);
    return s;
}
