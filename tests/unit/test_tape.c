/*
 * Tests for the autodiff tape (src/tensor/tape.c, tensor.c) driven through real ops: gradient
 * accumulation, what gets recorded, sticky errors, persistent parameters and arena reuse.
 */
#include "test_suites.h"

#include "ghnas/tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Check's float asserts promote through varargs (-Wdouble-promotion); compare as doubles. */
#define ASSERT_NEAR(a, b, tol) ck_assert_double_eq_tol((double)(a), (double)(b), (double)(tol))
#define ASSERT_FEQ(a, b)       ck_assert_double_eq((double)(a), (double)(b))

static nas_tensor *leaf(nas_tape *t, int ndim, const int64_t *shape, const float *v, bool grad) {
    nas_tensor *x = nas_tensor_from(t, ndim, shape, v);
    ck_assert_ptr_nonnull(x);
    if (grad) {
        ck_assert_int_eq(nas_tensor_require_grad(t, x), NAS_OK);
    }
    return x;
}

/* ---- accumulation -------------------------------------------------------------------------- */

START_TEST(test_tape__tensor_used_twice_accumulates) {
    nas_tape t;
    nas_tape_init(&t);
    const float v[] = {1, -2, 3};
    nas_tensor *x = leaf(&t, 1, (int64_t[]){3}, v, true);
    /* y = 2x + 3x + x*x: dy/dx = 5 + 2x */
    nas_tensor *parts[3] = {nas_scale(&t, x, 2.0f), nas_scale(&t, x, 3.0f), nas_mul(&t, x, x)};
    nas_tensor *y = nas_sum(&t, parts, 3);
    const float ones[] = {1, 1, 1};
    ck_assert_int_eq(nas_tape_backward_from(&t, y, ones), NAS_OK);
    for (int i = 0; i < 3; i++) {
        ASSERT_NEAR(x->grad[i], 5.0f + 2.0f * v[i], 1e-6f);
    }
    /* The same tensor twice in one n-ary op. */
    nas_tape_reset(&t);
    x = leaf(&t, 1, (int64_t[]){3}, v, true);
    nas_tensor *xx[2] = {x, x};
    y = nas_sum(&t, xx, 2);
    ck_assert_int_eq(nas_tape_backward_from(&t, y, ones), NAS_OK);
    for (int i = 0; i < 3; i++) {
        ASSERT_FEQ(x->grad[i], 2.0f);
    }
    nas_tape_free(&t);
}
END_TEST

/*
 * Two backward calls over the same recorded graph must give twice the gradient of one call at
 * the leaves (PyTorch's behaviour with retain_graph), not re-propagate the gradients left on
 * intermediate tensors by the first call.
 */
START_TEST(test_tape__backward_twice_accumulates) {
    nas_tape t;
    nas_tape_init(&t);
    const float v[] = {0.5f, -1.0f};
    nas_tensor *x = leaf(&t, 1, (int64_t[]){2}, v, true);
    nas_tensor *h = nas_scale(&t, x, 3.0f);                /* one intermediate */
    nas_tensor *y = nas_mul(&t, h, h);                     /* y = 9 x^2, dy/dx = 18 x */
    nas_tensor *w = nas_reshape(&t, y, 1, (int64_t[]){2}); /* a second intermediate */
    const float ones[] = {1, 1};
    ck_assert_int_eq(nas_tape_backward_from(&t, w, ones), NAS_OK);
    for (int i = 0; i < 2; i++) {
        ASSERT_NEAR(x->grad[i], 18.0f * v[i], 1e-5f);
    }
    ck_assert_int_eq(nas_tape_backward_from(&t, w, ones), NAS_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(fabsf(x->grad[i] - 36.0f * v[i]) <= 1e-5f,
                      "after two backward calls grad[%d] = %g, want %g", i, (double)x->grad[i],
                      (double)(36.0f * v[i]));
    }
    nas_tape_free(&t);
}
END_TEST

/* ---- recording ----------------------------------------------------------------------------- */

START_TEST(test_tape__constants_are_not_recorded) {
    nas_tape t;
    nas_tape_init(&t);
    const float v[] = {1, 2, 3, 4};
    nas_tensor *c = leaf(&t, 2, (int64_t[]){2, 2}, v, false);
    nas_tensor *d = leaf(&t, 2, (int64_t[]){2, 2}, v, false);
    nas_tensor *y = nas_relu(&t, nas_add(&t, c, d));
    ck_assert_ptr_nonnull(y);
    ck_assert_uint_eq(t.n_nodes, 0);
    ck_assert(!(y->flags & NAS_TENSOR_REQUIRES_GRAD));
    ck_assert_int_eq(nas_tape_backward_from(&t, y, v), NAS_EINVAL);
    /* One grad-requiring input is enough to record, and the output then requires grad. */
    nas_tensor *x = leaf(&t, 2, (int64_t[]){2, 2}, v, true);
    nas_tensor *z = nas_add(&t, c, x);
    ck_assert_uint_eq(t.n_nodes, 1);
    ck_assert(z->flags & NAS_TENSOR_REQUIRES_GRAD);
    nas_tensor *z2 = nas_mul(&t, z, c);
    ck_assert_uint_eq(t.n_nodes, 2);
    ck_assert_int_eq(nas_tape_backward_from(&t, z2, v), NAS_OK);
    for (int i = 0; i < 4; i++) {
        ASSERT_FEQ(x->grad[i], v[i] * v[i]);
    }
    ck_assert_ptr_null(c->grad); /* constants never get a gradient buffer */
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_tape__record_off_records_nothing) {
    nas_tape t;
    nas_tape_init(&t);
    const float v[] = {1, -2, 3, -4};
    nas_tensor *x = leaf(&t, 1, (int64_t[]){4}, v, true);
    ck_assert(nas_tape_set_record(&t, false));
    nas_tensor *y = nas_tanh(&t, nas_scale(&t, x, 2.0f));
    nas_tensor *xs[2] = {x, y};
    nas_tensor *s = nas_sum(&t, xs, 2);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(t.n_nodes, 0);
    ck_assert(!(s->flags & NAS_TENSOR_REQUIRES_GRAD));
    ASSERT_NEAR(s->data[0], 1.0f + tanhf(2.0f), 1e-6f); /* still computed */
    ck_assert_int_eq(nas_tape_backward_from(&t, s, v), NAS_EINVAL);
    ck_assert(!nas_tape_set_record(&t, true));
    nas_tensor *r = nas_relu(&t, x);
    ck_assert_uint_eq(t.n_nodes, 1);
    ck_assert(r->flags & NAS_TENSOR_REQUIRES_GRAD);
    nas_tape_free(&t);
}
END_TEST

/* ---- sticky errors ------------------------------------------------------------------------- */

START_TEST(test_tape__sticky_error_keeps_first_message) {
    nas_tape t;
    nas_tape_init(&t);
    const float v[] = {1, 2, 3, 4, 5, 6};
    nas_tensor *a = leaf(&t, 2, (int64_t[]){2, 3}, v, true);
    nas_tensor *b = leaf(&t, 1, (int64_t[]){2}, v, false);
    ck_assert_ptr_null(nas_add(&t, a, b)); /* [2] does not broadcast to [2, 3] */
    char first[512];
    snprintf(first, sizeof first, "%s", nas_errmsg());
    ck_assert_ptr_nonnull(strstr(first, "add"));
    /* Valid later ops return NULL at once; a second failure does not replace the first. */
    ck_assert_ptr_null(nas_relu(&t, a));
    ck_assert_ptr_null(nas_scale(&t, a, 2.0f));
    ck_assert_ptr_null(nas_tensor_new4(&t, 1, 3, 0, 0, 0));
    const int32_t bad[] = {99};
    ck_assert_ptr_null(nas_embedding(&t, a, bad, 1));
    ck_assert_ptr_null(nas_relu(&t, NULL));
    nas_error_clear();
    ck_assert_int_eq(nas_tape_status(&t), NAS_ESHAPE);
    ck_assert_str_eq(nas_errmsg(), first);
    ck_assert_str_eq(t.errmsg, first);
    ck_assert_uint_eq(t.n_nodes, 0);
    /* Backward refuses while the tape is failed. */
    ck_assert_int_eq(nas_tape_backward_from(&t, a, v), NAS_ESHAPE);
    nas_tape_reset(&t);
    ck_assert_int_eq(nas_tape_status(&t), NAS_OK);
    ck_assert_str_eq(t.errmsg, "");
    a = leaf(&t, 2, (int64_t[]){2, 3}, v, true);
    ck_assert_ptr_nonnull(nas_relu(&t, a));
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_tape__null_input_is_an_error) {
    nas_tape t;
    nas_tape_init(&t);
    ck_assert_ptr_null(nas_sigmoid(&t, NULL));
    ck_assert_int_eq(nas_tape_status(&t), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "NULL"));
    nas_tape_reset(&t);
    nas_tensor *x = nas_tensor_zeros(&t, 1, (int64_t[]){3});
    nas_tensor *xs[2] = {x, NULL};
    ck_assert_ptr_null(nas_concat(&t, xs, 2, 0));
    ck_assert_int_eq(nas_tape_status(&t), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "input 1 is NULL"));
    nas_tape_free(&t);
}
END_TEST

/* ---- parameters ---------------------------------------------------------------------------- */

START_TEST(test_tape__params_persist_across_reset) {
    nas_params p;
    nas_params_init(&p);
    nas_tensor *w = nas_params_add(&p, "fc.w", 2, (int64_t[]){2, 3}, 0);
    nas_tensor *b = nas_params_add(&p, "fc.b", 1, (int64_t[]){2}, NAS_TENSOR_NO_DECAY);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(w->data);
    ck_assert_int_eq(nas_params_finalize(&p), NAS_OK);
    ck_assert_int_eq(p.numel, 8);
    ck_assert_ptr_eq(w->grad, p.grad);
    ck_assert_ptr_eq(b->grad, p.grad + 6);
    ck_assert(w->flags & NAS_TENSOR_PARAM);
    ck_assert(w->flags & NAS_TENSOR_REQUIRES_GRAD);
    ck_assert(b->flags & NAS_TENSOR_NO_DECAY);
    ck_assert(!(w->flags & NAS_TENSOR_NO_DECAY));
    ck_assert_ptr_eq(nas_params_find(&p, "fc.b"), b);
    ck_assert_ptr_null(nas_params_find(&p, "fc.x"));
    ck_assert_ptr_null(nas_params_add(&p, "late", 1, (int64_t[]){1}, 0));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "after finalize"));
    ck_assert_int_eq(nas_params_finalize(&p), NAS_EINVAL);
    const float wv[] = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f};
    memcpy(w->data, wv, sizeof wv);
    b->data[0] = 0.1f;
    b->data[1] = -0.1f;

    nas_tape t;
    nas_tape_init(&t);
    const float xv[] = {1, 2, 3, -1, 0, 1, 0.5f, 0.5f, 0.5f, 2, -2, 1};
    const int32_t lab[] = {0, 1, 1, 0};
    float g1[8];
    for (int step = 0; step < 2; step++) {
        nas_tensor *x = nas_tensor_from(&t, 2, (int64_t[]){4, 3}, xv);
        nas_tensor *loss = nas_softmax_cross_entropy(&t, nas_linear(&t, x, w, b), lab, 0.0f);
        ck_assert_int_eq(nas_tape_status(&t), NAS_OK);
        ck_assert_int_eq(nas_tape_backward(&t, loss), NAS_OK);
        if (step == 0) {
            memcpy(g1, p.grad, sizeof g1);
        }
        nas_tape_reset(&t);
        ck_assert_ptr_eq(w->grad, p.grad); /* the reset leaves parameters alone */
    }
    double norm = 0.0;
    for (int i = 0; i < 8; i++) {
        ASSERT_NEAR(p.grad[i], 2.0f * g1[i], 1e-6f);
        norm += fabs((double)g1[i]);
    }
    ck_assert_double_gt(norm, 0.1);
    nas_params_zero_grad(&p);
    for (int i = 0; i < 8; i++) {
        ASSERT_FEQ(p.grad[i], 0.0f);
    }
    ASSERT_FEQ(w->data[2], 0.3f);
    nas_tape_free(&t);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_tape__backward_needs_scalar_loss) {
    nas_tape t;
    nas_tape_init(&t);
    const float v[] = {1, 2, 3, 4};
    nas_tensor *x = leaf(&t, 2, (int64_t[]){2, 2}, v, true);
    nas_tensor *y = nas_relu(&t, x);
    ck_assert_int_eq(nas_tape_backward(&t, y), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "one element"));
    ck_assert_int_eq(nas_tape_backward(&t, NULL), NAS_EINVAL);
    for (int i = 0; i < 4; i++) {
        ASSERT_FEQ(x->grad[i], 0.0f); /* nothing ran */
    }
    nas_tape_free(&t);
}
END_TEST

/* ---- arena reuse --------------------------------------------------------------------------- */

/* A small training step: linear -> batchnorm -> relu -> concat/slice -> sum -> linear -> CE.
 * Returns the tape status after backward (no assertions, so it can run under fault injection). */
static nas_status step_run(nas_tape *t, nas_tensor *w1, nas_tensor *g, nas_tensor *bb,
                           nas_tensor *w2, float *rm, float *rv) {
    float xv[16 * 12];
    for (int i = 0; i < 16 * 12; i++) {
        xv[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    }
    int32_t lab[16];
    for (int i = 0; i < 16; i++) {
        lab[i] = i % 3;
    }
    nas_tensor *x = nas_tensor_from(t, 2, (int64_t[]){16, 12}, xv);
    nas_tensor *h = nas_linear(t, x, w1, NULL);
    h = nas_relu(t, nas_batchnorm(t, h, g, bb, rm, rv, NAS_BN_BATCH_STATS, 0.1f, 1e-5f));
    nas_tensor *hs[2] = {h, nas_sigmoid(t, h)};
    nas_tensor *c = nas_slice(t, nas_concat(t, hs, 2, 1), 1, 4, 8);
    nas_tensor *sum_in[3] = {c, nas_tanh(t, c), nas_scale(t, c, 0.5f)};
    nas_tensor *loss =
        nas_softmax_cross_entropy(t, nas_linear(t, nas_sum(t, sum_in, 3), w2, NULL), lab, 0.1f);
    if (nas_tape_status(t) != NAS_OK) {
        return nas_tape_status(t);
    }
    return nas_tape_backward(t, loss);
}

typedef struct step_params {
    nas_params p;
    nas_tensor *w1, *g, *bb, *w2;
    float rm[8], rv[8];
} step_params;

static void step_params_init(step_params *sp) {
    nas_params_init(&sp->p);
    sp->w1 = nas_params_add(&sp->p, "w1", 2, (int64_t[]){8, 12}, 0);
    sp->g = nas_params_add(&sp->p, "bn.g", 1, (int64_t[]){8}, NAS_TENSOR_NO_DECAY);
    sp->bb = nas_params_add(&sp->p, "bn.b", 1, (int64_t[]){8}, NAS_TENSOR_NO_DECAY);
    sp->w2 = nas_params_add(&sp->p, "w2", 2, (int64_t[]){3, 8}, 0);
    ck_assert_int_eq(nas_params_finalize(&sp->p), NAS_OK);
    for (int64_t i = 0; i < sp->p.numel; i++) {
        sp->p.data[i] = (float)((i * 13) % 7) / 7.0f - 0.4f;
    }
    for (int c = 0; c < 8; c++) {
        sp->rm[c] = 0.0f;
        sp->rv[c] = 1.0f;
    }
}

START_TEST(test_tape__arena_reuse_after_reset) {
    step_params sp;
    step_params_init(&sp);
    nas_tape t;
    nas_tape_init(&t);
    ck_assert_int_eq(step_run(&t, sp.w1, sp.g, sp.bb, sp.w2, sp.rm, sp.rv), NAS_OK);
    const size_t peak = t.arena.peak;
    const size_t used = nas_arena_used(&t.arena);
    ck_assert_uint_gt(used, 0);
    for (int step = 0; step < 3; step++) {
        nas_tape_reset(&t);
        ck_assert_uint_eq(nas_arena_used(&t.arena), 0);
        nas_fault_inject(1); /* any heap allocation in the step would now fail */
        nas_status st = step_run(&t, sp.w1, sp.g, sp.bb, sp.w2, sp.rm, sp.rv);
        nas_fault_inject(0);
        ck_assert_msg(st == NAS_OK, "step %d: %s", step, nas_errmsg());
        ck_assert_uint_eq(t.arena.peak, peak);
        ck_assert_uint_eq(nas_arena_used(&t.arena), used);
    }
    nas_tape_free(&t);
    nas_params_free(&sp.p);
}
END_TEST

/* Every allocation of a fresh step failing in turn gives NAS_ENOMEM with a message, never a
 * crash (ASan checks the error paths), and the step succeeds once nothing fails. */
START_TEST(test_tape__allocation_failures_are_reported) {
    step_params sp;
    step_params_init(&sp);
    int n_failed = 0;
    for (long k = 1; k <= 40; k++) {
        nas_tape t;
        nas_tape_init(&t);
        nas_fault_inject(k);
        nas_status st = step_run(&t, sp.w1, sp.g, sp.bb, sp.w2, sp.rm, sp.rv);
        nas_fault_inject(0);
        if (st != NAS_OK) {
            ck_assert_int_eq(st, NAS_ENOMEM);
            ck_assert_str_ne(nas_errmsg(), "");
            n_failed++;
        }
        nas_tape_free(&t);
    }
    ck_assert_int_gt(n_failed, 0);
    ck_assert_int_lt(n_failed, 40);
    nas_params_free(&sp.p);
}
END_TEST

Suite *nas_test_tape_suite(void) {
    Suite *s = suite_create("tape");
    TCase *tc = tcase_create("accumulate");
    tcase_add_test(tc, test_tape__tensor_used_twice_accumulates);
    tcase_add_test(tc, test_tape__backward_twice_accumulates);
    suite_add_tcase(s, tc);
    tc = tcase_create("record");
    tcase_add_test(tc, test_tape__constants_are_not_recorded);
    tcase_add_test(tc, test_tape__record_off_records_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_tape__sticky_error_keeps_first_message);
    tcase_add_test(tc, test_tape__null_input_is_an_error);
    tcase_add_test(tc, test_tape__backward_needs_scalar_loss);
    suite_add_tcase(s, tc);
    tc = tcase_create("params");
    tcase_add_test(tc, test_tape__params_persist_across_reset);
    suite_add_tcase(s, tc);
    tc = tcase_create("arena");
    tcase_add_test(tc, test_tape__arena_reuse_after_reset);
    tcase_add_test(tc, test_tape__allocation_failures_are_reported);
    suite_add_tcase(s, tc);
    return s;
}
