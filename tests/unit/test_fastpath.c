/*
 * Tests for the tensor engine's fast paths: fresh gradient buffers that the first backward
 * writer stores into instead of zero-filling and accumulating (nas_i_grad_fresh), the Winograd
 * F(2x2, 3x3) conv kernel (forward, input and weight gradients) against the naive twins, the
 * one-pass-per-channel batchnorm against a double-precision reference, the separable and
 * disjoint-window average pools against their twins, and arena marks (op scratch release).
 */
#include "test_suites.h"

#include "gradcheck.h"
#include "tensor/ref-impl.h"
#include "tensor/winograd-impl.h"

#include "ghnas/tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

static float *fvec(int64_t n) {
    float *v = nas_malloc((size_t)n * sizeof(float));
    ck_assert_ptr_nonnull(v);
    return v;
}

static float *frand(int64_t n, uint64_t seed) {
    float *v = fvec(n);
    gc_fill_uniform(v, n, -1.0f, 1.0f, seed);
    return v;
}

/* max |a - b| / max(max |b|, 1e-6): normwise relative error of a against reference b. */
static double rel_err(const float *a, const float *b, int64_t n) {
    double diff = 0.0, scale = 1e-6;
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

static int64_t shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        n *= shape[d];
    }
    return n;
}

/* Fill the tape's arena with NaN and reset it: later step allocations (fresh gradient buffers
 * among them) reuse that memory, so an element a fast path fails to store stays NaN instead of
 * happening to be a zero of newly mapped memory. */
static void dirty_arena(nas_tape *t) {
    nas_tensor *junk = nas_tensor_new(t, 1, (int64_t[]){1 << 22});
    ck_assert_ptr_nonnull(junk);
    for (int64_t i = 0; i < junk->numel; i++) {
        junk->data[i] = NAN;
    }
    nas_tape_reset(t);
}

/* ---- fresh gradient buffers ---------------------------------------------------------------- */

/* An op under test: y = f(x); it may create its own extra (weight-like) inputs on the tape. */
typedef nas_tensor *(*op_fn)(nas_tape *t, nas_tensor *x, const void *ctx);

/*
 * The gradient of x for loss sum(y * dy) computed twice: with x flagged as needing a gradient
 * but without a buffer (so the op's backward gets a fresh one and stores into it, like for any
 * intermediate value), and with x's buffer pre-filled with random values (the backward
 * accumulates onto them). Returns the largest difference between the fresh gradient and the
 * accumulated one minus the pre-filled values, relative to the larger of both, and stores the fresh
 * gradient in *g_out (caller frees) when g_out is not NULL.
 */
static double fresh_vs_acc(int ndim, const int64_t *shape, op_fn f, const void *ctx, uint64_t seed,
                           float **g_out) {
    const int64_t n = shape_numel(ndim, shape);
    float *xv = frand(n, seed), *pre = frand(n, seed + 1), *g1 = fvec(n);
    nas_tape t;
    ck_assert_int_eq(nas_tape_init(&t), NAS_OK);
    dirty_arena(&t);
    nas_tensor *x = nas_tensor_from(&t, ndim, shape, xv);
    ck_assert_ptr_nonnull(x);
    x->flags |= NAS_TENSOR_REQUIRES_GRAD; /* no buffer yet: an intermediate's situation */
    nas_tensor *y = f(&t, x, ctx);
    ck_assert_msg(y != NULL, "op failed: %s", nas_errmsg());
    float *dy = frand(y->numel, seed + 2);
    ck_assert_ptr_null(x->grad);
    ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
    ck_assert_ptr_nonnull(x->grad);
    memcpy(g1, x->grad, (size_t)n * sizeof(float));
    nas_tape_reset(&t);

    x = nas_tensor_from(&t, ndim, shape, xv);
    ck_assert_int_eq(nas_tensor_require_grad(&t, x), NAS_OK);
    memcpy(x->grad, pre, (size_t)n * sizeof(float));
    y = f(&t, x, ctx);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
    /* Relative to the larger of the gradient and the pre-filled values, which set the
     * rounding of the accumulated sum. */
    double diff = 0.0, scale = 1e-6;
    for (int64_t i = 0; i < n; i++) {
        double added = (double)x->grad[i] - (double)pre[i];
        diff = fmax(diff, fabs(added - (double)g1[i]));
        scale = fmax(scale, fmax(fabs((double)g1[i]), fabs((double)pre[i])));
    }
    nas_tape_free(&t);
    nas_free(xv);
    nas_free(pre);
    nas_free(dy);
    if (g_out) {
        *g_out = g1;
    } else {
        nas_free(g1);
    }
    return diff / scale;
}

typedef struct conv_ctx {
    int64_t cout, k;
    int stride, pad, dilation, groups;
} conv_ctx;

static nas_tensor *conv_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    const conv_ctx *c = ctx;
    int64_t cin_g = x->shape[1] / c->groups;
    int64_t wn = c->cout * cin_g * c->k * c->k;
    float *wv = frand(wn, 77);
    nas_tensor *w = nas_tensor_from(t, 4, (int64_t[]){c->cout, cin_g, c->k, c->k}, wv);
    nas_free(wv);
    ck_assert_int_eq(nas_tensor_require_grad(t, w), NAS_OK);
    return nas_conv2d(t, x, w, NULL, c->stride, c->pad, c->dilation, c->groups);
}

static nas_tensor *relu_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    (void)ctx;
    return nas_relu(t, x);
}

static nas_tensor *scale_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    (void)ctx;
    return nas_scale(t, x, -1.75f);
}

static nas_tensor *add_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    (void)ctx; /* x as both operands (the second accumulates onto the first's fresh buffer) */
    return nas_add(t, nas_add(t, x, x), nas_scale(t, x, 0.5f));
}

static nas_tensor *sum_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    (void)ctx; /* x three times: one fresh store, then two accumulations in the same pass */
    nas_tensor *xs[4] = {x, nas_scale(t, x, 2.0f), x, x};
    return nas_sum(t, xs, 4);
}

static nas_tensor *bn_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    (void)ctx;
    int64_t C = x->shape[1];
    float *gv = frand(C, 91), *bv = frand(C, 92);
    nas_tensor *g = nas_tensor_from(t, 1, (int64_t[]){C}, gv);
    nas_tensor *b = nas_tensor_from(t, 1, (int64_t[]){C}, bv);
    nas_free(gv);
    nas_free(bv);
    ck_assert_int_eq(nas_tensor_require_grad(t, g), NAS_OK);
    ck_assert_int_eq(nas_tensor_require_grad(t, b), NAS_OK);
    return nas_batchnorm(t, x, g, b, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f);
}

typedef struct pool_ctx {
    int k, stride, pad;
    bool cip;
} pool_ctx;

static nas_tensor *avgpool_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    const pool_ctx *p = ctx;
    return nas_avgpool2d(t, x, p->k, p->stride, p->pad, p->cip);
}

static nas_tensor *gap_op(nas_tape *t, nas_tensor *x, const void *ctx) {
    (void)ctx;
    return nas_global_avgpool(t, x);
}

START_TEST(test_fastpath__fresh_grad_elementwise) {
    const int64_t shape[4] = {3, 5, 7, 9};  /* 945 elements: one thread */
    const int64_t big[4] = {4, 16, 28, 28}; /* 50176: threaded loops */
    ck_assert(fresh_vs_acc(4, shape, relu_op, NULL, 1, NULL) < 1e-6);
    ck_assert(fresh_vs_acc(4, big, relu_op, NULL, 2, NULL) < 1e-6);
    ck_assert(fresh_vs_acc(4, big, scale_op, NULL, 3, NULL) < 1e-6);
    ck_assert(fresh_vs_acc(4, big, gap_op, NULL, 4, NULL) < 1e-6);
    /* Repeated inputs: the fresh buffer of the first use must be added to, not overwritten. */
    float *g = NULL;
    ck_assert(fresh_vs_acc(4, shape, add_op, NULL, 5, &g) < 1e-6);
    nas_free(g);
    ck_assert(fresh_vs_acc(4, big, sum_op, NULL, 6, &g) < 1e-6);
    /* d/dx sum(x, 2x, x, x) = 5: compare with 5 dy (dy from the same seed). */
    float *dy = frand(shape_numel(4, big), 8);
    for (int64_t i = 0; i < shape_numel(4, big); i++) {
        ck_assert_msg(fabs((double)g[i] - 5.0 * (double)dy[i]) < 1e-5, "element %lld: %g vs %g",
                      (long long)i, (double)g[i], 5.0 * (double)dy[i]);
    }
    nas_free(dy);
    nas_free(g);
}
END_TEST

START_TEST(test_fastpath__fresh_grad_norm_pool) {
    nas_set_threads(2);
    const int64_t spatial[4] = {6, 5, 9, 7}, flat[2] = {11, 6}, big[4] = {8, 16, 14, 14};
    ck_assert(fresh_vs_acc(4, spatial, bn_op, NULL, 10, NULL) < 1e-5);
    ck_assert(fresh_vs_acc(2, flat, bn_op, NULL, 11, NULL) < 1e-5);
    ck_assert(fresh_vs_acc(4, big, bn_op, NULL, 12, NULL) < 1e-5);
    static const pool_ctx pools[] = {
        {3, 1, 1, false}, {3, 1, 0, true},  {5, 1, 2, false}, {2, 1, 1, true},
        {2, 2, 0, true},  {3, 3, 0, false}, {3, 2, 1, false}, {2, 2, 1, true},
    };
    for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
        const int64_t shape[4] = {3, 4, 11, 9};
        double e = fresh_vs_acc(4, shape, avgpool_op, &pools[i], 20 + i, NULL);
        ck_assert_msg(e < 1e-6, "avgpool k%d s%d p%d: %g", pools[i].k, pools[i].stride,
                      pools[i].pad, e);
    }
}
END_TEST

/* Every conv kernel with a fresh input gradient: stores must cover all of dx. */
START_TEST(test_fastpath__fresh_grad_conv) {
    static const struct {
        int64_t n, cin, h, w;
        conv_ctx c;
        const char *path;
    } cases[] = {
        {3, 16, 12, 11, {16, 3, 1, 1, 1, 1}, "taps"},
        {5, 32, 9, 10, {24, 3, 1, 1, 1, 1}, "winograd"},
        {4, 48, 7, 7, {48, 3, 1, 0, 1, 2}, "winograd, groups, pad 0"},
        {3, 8, 11, 10, {8, 3, 2, 1, 1, 1}, "taps stride 2"},
        {2, 8, 12, 13, {8, 1, 2, 0, 1, 1}, "taps stride 2, 1x1: untouched inputs"},
        {3, 6, 8, 8, {6, 1, 1, 0, 1, 1}, "pointwise"},
        {7, 12, 4, 4, {6, 1, 1, 0, 1, 1}, "pointwise, folded"},
        {3, 3, 16, 16, {4, 3, 1, 1, 1, 1}, "wide im2col"},
        {5, 4, 5, 5, {4, 3, 2, 1, 1, 1}, "exact im2col, folded"},
        {2, 6, 9, 9, {6, 3, 1, 1, 1, 6}, "depthwise"},
        {2, 6, 9, 9, {12, 3, 2, 1, 1, 6}, "depthwise strided"},
    };
    for (int threads = 1; threads <= 2; threads++) {
        nas_set_threads(threads);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const int64_t shape[4] = {cases[i].n, cases[i].cin, cases[i].h, cases[i].w};
            double e = fresh_vs_acc(4, shape, conv_op, &cases[i].c, 40 + i, NULL);
            ck_assert_msg(e < 1e-5, "%s, %d threads: %g", cases[i].path, threads, e);
        }
    }
}
END_TEST

/* The seed of backward stores into a fresh buffer and adds onto an existing one. */
START_TEST(test_fastpath__seed_fresh_and_accumulated) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_from(&t, 1, (int64_t[]){3}, (float[]){1.0f, 2.0f, 3.0f});
    ck_assert_int_eq(nas_tensor_require_grad(&t, x), NAS_OK);
    nas_tensor *y = nas_scale(&t, x, 2.0f);
    ck_assert_int_eq(nas_tape_backward_from(&t, y, (float[]){1.0f, -1.0f, 0.5f}), NAS_OK);
    ck_assert(y->grad[0] == 1.0f && y->grad[1] == -1.0f && y->grad[2] == 0.5f);
    ck_assert(x->grad[0] == 2.0f && x->grad[1] == -2.0f && x->grad[2] == 1.0f);
    /* Second pass: y's buffer exists (reset to zero), x keeps accumulating. */
    ck_assert_int_eq(nas_tape_backward_from(&t, y, (float[]){1.0f, 1.0f, 1.0f}), NAS_OK);
    ck_assert(y->grad[0] == 1.0f && y->grad[1] == 1.0f && y->grad[2] == 1.0f);
    ck_assert(x->grad[0] == 4.0f && x->grad[1] == 0.0f && x->grad[2] == 3.0f);
    nas_tape_free(&t);
}
END_TEST

/* ---- Winograd -------------------------------------------------------------------------------- */

typedef struct wcase {
    int64_t n, cin, h, w, cout;
    int pad, groups;
    bool bias;
} wcase;

static const wcase wino_cases[] = {
    /* n cin h w cout pad groups bias */
    {9, 64, 7, 7, 64, 1, 1, false},   /* NB201 stage 3: odd plane, partial tiles */
    {7, 32, 14, 14, 32, 1, 1, true},  /* stage 2, a block remainder */
    {3, 24, 9, 12, 40, 0, 1, true},   /* pad 0, rectangular, cin != cout */
    {2, 32, 6, 5, 24, 2, 1, false},   /* pad 2: dx conv has pad 0 */
    {3, 48, 8, 9, 48, 1, 2, true},    /* groups 2 */
    {1, 24, 2, 3, 24, 1, 1, false},   /* tiny plane, batch 1 */
    {11, 32, 5, 5, 32, 1, 1, false},  /* many images per block */
    {2, 32, 16, 15, 32, 1, 1, false}, /* even x odd */
};

/* The Winograd conv against the naive twins: forward, and backward with dx fresh (x is an
 * intermediate) and accumulated (x pre-filled). Returns the worst relative error. */
static double wino_vs_ref(const wcase *c, uint64_t seed) {
    nas_i_conv_geom g =
        nas_i_conv_geom_make(c->n, c->cin, c->h, c->w, c->cout, 3, 3, 1, c->pad, 1, c->groups);
    ck_assert(nas_i_wino_applies(&g));
    int64_t cin_g = c->cin / c->groups;
    int64_t xn = c->n * c->cin * c->h * c->w, wn = c->cout * cin_g * 9;
    int64_t yn = c->n * c->cout * g.ho * g.wo;
    float *x = frand(xn, seed), *w = frand(wn, seed + 1), *b = frand(c->cout, seed + 2);
    float *dy = frand(yn, seed + 3), *y_ref = fvec(yn);
    float *dx_ref = fvec(xn), *dw_ref = fvec(wn), *db_ref = fvec(c->cout);
    memset(dx_ref, 0, (size_t)xn * sizeof(float));
    memset(dw_ref, 0, (size_t)wn * sizeof(float));
    memset(db_ref, 0, (size_t)c->cout * sizeof(float));
    nas_i_conv2d_ref_forward(&g, x, w, c->bias ? b : NULL, y_ref);
    nas_i_conv2d_ref_backward(&g, x, w, dy, dx_ref, dw_ref, db_ref);
    double err = 0.0;
    for (int acc = 0; acc < 2; acc++) {
        nas_tape t;
        nas_tape_init(&t);
        dirty_arena(&t);
        nas_tensor *tx = nas_tensor_from(&t, 4, (int64_t[]){c->n, c->cin, c->h, c->w}, x);
        nas_tensor *tw = nas_tensor_from(&t, 4, (int64_t[]){c->cout, cin_g, 3, 3}, w);
        nas_tensor *tb = c->bias ? nas_tensor_from(&t, 1, (int64_t[]){c->cout}, b) : NULL;
        ck_assert_int_eq(nas_tensor_require_grad(&t, tw), NAS_OK);
        if (tb) {
            ck_assert_int_eq(nas_tensor_require_grad(&t, tb), NAS_OK);
        }
        if (acc) { /* dx accumulates onto 1.0 */
            ck_assert_int_eq(nas_tensor_require_grad(&t, tx), NAS_OK);
            for (int64_t i = 0; i < xn; i++) {
                tx->grad[i] = 1.0f;
            }
        } else {
            tx->flags |= NAS_TENSOR_REQUIRES_GRAD;
        }
        nas_tensor *y = nas_conv2d(&t, tx, tw, tb, 1, c->pad, 1, c->groups);
        ck_assert_msg(y != NULL, "conv2d failed: %s", nas_errmsg());
        err = fmax(err, rel_err(y->data, y_ref, yn));
        ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
        if (acc) {
            for (int64_t i = 0; i < xn; i++) {
                tx->grad[i] -= 1.0f;
            }
        }
        err = fmax(err, rel_err(tx->grad, dx_ref, xn));
        err = fmax(err, rel_err(tw->grad, dw_ref, wn));
        if (tb) {
            err = fmax(err, rel_err(tb->grad, db_ref, c->cout));
        }
        nas_tape_free(&t);
    }
    float *bufs[] = {x, w, b, dy, y_ref, dx_ref, dw_ref, db_ref};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        nas_free(bufs[i]);
    }
    return err;
}

START_TEST(test_fastpath__winograd_matches_ref) {
    const wcase *c = &wino_cases[_i];
    for (int threads = 1; threads <= 2; threads++) {
        nas_set_threads(threads);
        double err = wino_vs_ref(c, 700 + (uint64_t)_i);
        ck_assert_msg(err < 1e-4, "case %d, %d threads: relative error %g", _i, threads, err);
    }
}
END_TEST

START_TEST(test_fastpath__winograd_applies) {
    /* n cin h w cout kh kw s p d g */
    nas_i_conv_geom yes = nas_i_conv_geom_make(2, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1);
    ck_assert(nas_i_wino_applies(&yes));
    nas_i_conv_geom t = nas_i_wino_transposed(&yes);
    ck_assert_int_eq(t.cin, 32);
    ck_assert_int_eq(t.pad, 1);
    ck_assert_int_eq(t.ho, 14);
    ck_assert_int_eq(t.wo, 14);
    nas_i_conv_geom p0 = nas_i_conv_geom_make(2, 32, 9, 8, 48, 3, 3, 1, 0, 1, 1);
    nas_i_conv_geom tp0 = nas_i_wino_transposed(&p0);
    ck_assert_int_eq(tp0.pad, 2); /* dx of a pad-0 conv: dy padded by 2 */
    ck_assert_int_eq(tp0.ho, 9);
    ck_assert_int_eq(tp0.wo, 8);
    ck_assert_int_eq(tp0.cout, 32);
    static const int64_t no[][11] = {
        {2, 32, 14, 14, 32, 3, 3, 2, 1, 1, 1}, /* stride 2 */
        {2, 32, 14, 14, 32, 3, 3, 1, 2, 2, 1}, /* dilation 2 */
        {2, 32, 14, 14, 32, 3, 3, 1, 3, 1, 1}, /* pad 3 */
        {2, 32, 14, 14, 32, 5, 5, 1, 2, 1, 1}, /* 5x5 */
        {2, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1}, /* 16 channels: taps is as fast */
        {2, 32, 14, 14, 32, 3, 3, 1, 1, 1, 4}, /* 8 channels per group */
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        const int64_t *v = no[i];
        nas_i_conv_geom g =
            nas_i_conv_geom_make(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
        ck_assert_msg(!nas_i_wino_applies(&g), "case %zu", i);
    }
}
END_TEST

/* Weight transform against G g G^T written out for one kernel. */
START_TEST(test_fastpath__winograd_weight_transform) {
    nas_i_conv_geom g = nas_i_conv_geom_make(1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1);
    const float w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float u[16];
    nas_i_wino_weights(&g, w, false, u, 0, 1);
    /* G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */
    const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    for (int r = 0; r < 4; r++) {
        for (int c = 0; c < 4; c++) {
            double s = 0.0;
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    s += G[r][i] * (double)w[i * 3 + j] * G[c][j];
                }
            }
            ck_assert_msg(fabs((double)u[r * 4 + c] - s) < 1e-6, "u[%d][%d] = %g, expected %g", r,
                          c, (double)u[r * 4 + c], s);
        }
    }
    /* Transposed: the kernel flipped in both axes. */
    nas_i_wino_weights(&g, w, true, u, 0, 1);
    for (int r = 0; r < 4; r++) {
        for (int c = 0; c < 4; c++) {
            double s = 0.0;
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    s += G[r][i] * (double)w[(2 - i) * 3 + (2 - j)] * G[c][j];
                }
            }
            ck_assert(fabs((double)u[r * 4 + c] - s) < 1e-6);
        }
    }
}
END_TEST

/* ---- batchnorm against a double-precision reference ---------------------------------------- */

START_TEST(test_fastpath__batchnorm_fused_values) {
    nas_set_threads(2);
    static const int64_t shapes[][4] = {{64, 16, 14, 14}, {5, 3, 4, 7}, {2, 40, 3, 3}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t N = shapes[si][0], C = shapes[si][1], S = shapes[si][2] * shapes[si][3];
        const int64_t n = N * C * S;
        float *x = frand(n, 60 + si), *dy = frand(n, 70 + si), *gv = frand(C, 80 + si);
        float *bv = frand(C, 90 + si);
        for (int64_t i = 0; i < n; i++) {
            x[i] = 3.0f + 2.0f * x[i]; /* off-centre data */
        }
        nas_tape t;
        nas_tape_init(&t);
        dirty_arena(&t);
        nas_tensor *tx = nas_tensor_from(&t, 4, shapes[si], x);
        nas_tensor *tg = nas_tensor_from(&t, 1, (int64_t[]){C}, gv);
        nas_tensor *tb = nas_tensor_from(&t, 1, (int64_t[]){C}, bv);
        tx->flags |= NAS_TENSOR_REQUIRES_GRAD; /* fresh dx */
        ck_assert_int_eq(nas_tensor_require_grad(&t, tg), NAS_OK);
        ck_assert_int_eq(nas_tensor_require_grad(&t, tb), NAS_OK);
        float rm[64], rv[64];
        for (int64_t c = 0; c < C; c++) {
            rm[c] = 0.5f;
            rv[c] = 2.0f;
        }
        nas_tensor *y = nas_batchnorm(&t, tx, tg, tb, rm, rv, NAS_BN_BATCH_STATS, 0.25f, 1e-5f);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
        double worst = 0.0;
        for (int64_t c = 0; c < C; c++) {
            double s1 = 0.0, s2 = 0.0, m = (double)(N * S);
            for (int64_t i = 0; i < N; i++) {
                for (int64_t j = 0; j < S; j++) {
                    double v = (double)x[(i * C + c) * S + j];
                    s1 += v;
                    s2 += v * v;
                }
            }
            double mu = s1 / m, var = s2 / m - mu * mu, is = 1.0 / sqrt(var + 1e-5);
            double sdy = 0.0, sdyh = 0.0;
            for (int64_t i = 0; i < N; i++) {
                for (int64_t j = 0; j < S; j++) {
                    int64_t q = (i * C + c) * S + j;
                    double h = ((double)x[q] - mu) * is;
                    double want = (double)gv[c] * h + (double)bv[c];
                    worst = fmax(worst, fabs((double)y->data[q] - want));
                    sdy += (double)dy[q];
                    sdyh += (double)dy[q] * h;
                }
            }
            worst = fmax(worst, fabs((double)tb->grad[c] - sdy) / fmax(1.0, fabs(sdy)));
            worst = fmax(worst, fabs((double)tg->grad[c] - sdyh) / fmax(1.0, fabs(sdyh)));
            for (int64_t i = 0; i < N; i++) {
                for (int64_t j = 0; j < S; j++) {
                    int64_t q = (i * C + c) * S + j;
                    double h = ((double)x[q] - mu) * is;
                    double want = (double)gv[c] * is * ((double)dy[q] - sdy / m - h * sdyh / m);
                    worst = fmax(worst, fabs((double)tx->grad[q] - want));
                }
            }
            double rm_want = 0.75 * 0.5 + 0.25 * mu,
                   rv_want = 0.75 * 2.0 + 0.25 * var * m / (m - 1);
            worst = fmax(worst, fabs((double)rm[c] - rm_want));
            worst = fmax(worst, fabs((double)rv[c] - rv_want));
        }
        ck_assert_msg(worst < 2e-4, "shape %zu: worst error %g", si, worst);
        nas_tape_free(&t);
        float *bufs[] = {x, dy, gv, bv};
        for (size_t i = 0; i < 4; i++) {
            nas_free(bufs[i]);
        }
    }
}
END_TEST

/* ---- average pools against the twins --------------------------------------------------------- */

START_TEST(test_fastpath__avgpool_paths_match_ref) {
    static const int64_t cases[][7] = {
        /* n c h w k s p */
        {4, 16, 28, 28, 3, 1, 1}, {3, 5, 9, 13, 3, 1, 0}, {2, 3, 7, 6, 5, 1, 2},
        {2, 3, 6, 8, 4, 1, 1},    {3, 4, 1, 5, 1, 1, 0},  {4, 16, 28, 28, 2, 2, 0},
        {2, 3, 9, 11, 3, 3, 0},   {2, 3, 5, 7, 2, 2, 0},  {2, 2, 4, 4, 4, 4, 0},
    };
    for (int threads = 1; threads <= 2; threads++) {
        nas_set_threads(threads);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const int64_t *c = cases[i];
            nas_i_pool_geom g = nas_i_pool_geom_make(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
            int64_t xn = c[0] * c[1] * c[2] * c[3], yn = c[0] * c[1] * g.ho * g.wo;
            for (int cip = 0; cip < 2; cip++) {
                float *x = frand(xn, 200 + i), *dy = frand(yn, 210 + i), *y_ref = fvec(yn);
                float *dx_ref = fvec(xn);
                memset(dx_ref, 0, (size_t)xn * sizeof(float));
                nas_i_avgpool2d_ref_forward(&g, cip, x, y_ref);
                nas_i_avgpool2d_ref_backward(&g, cip, dy, dx_ref);
                nas_tape t;
                nas_tape_init(&t);
                dirty_arena(&t);
                nas_tensor *tx = nas_tensor_from(&t, 4, c, x);
                tx->flags |= NAS_TENSOR_REQUIRES_GRAD; /* fresh dx */
                nas_tensor *y = nas_avgpool2d(&t, tx, (int)c[4], (int)c[5], (int)c[6], cip);
                ck_assert_ptr_nonnull(y);
                double ey = rel_err(y->data, y_ref, yn);
                ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
                double ex = rel_err(tx->grad, dx_ref, xn);
                ck_assert_msg(ey < 1e-5 && ex < 1e-5, "case %zu cip %d, %d threads: %g %g", i, cip,
                              threads, ey, ex);
                nas_tape_free(&t);
                float *bufs[] = {x, dy, y_ref, dx_ref};
                for (size_t k = 0; k < 4; k++) {
                    nas_free(bufs[k]);
                }
            }
        }
    }
}
END_TEST

/* ---- arena marks ----------------------------------------------------------------------------- */

START_TEST(test_fastpath__arena_mark_rollback) {
    nas_arena a;
    ck_assert_int_eq(nas_arena_init(&a, 0), NAS_OK);
    nas_arena_mark empty = nas_arena_get_mark(&a);
    unsigned char *keep = nas_arena_alloc(&a, 1000);
    ck_assert_ptr_nonnull(keep);
    size_t used = nas_arena_used(&a);
    nas_arena_mark m = nas_arena_get_mark(&a);
    unsigned char *s1 = nas_arena_alloc(&a, 5000);
    ck_assert_ptr_nonnull(nas_arena_alloc(&a, 300));
    ck_assert_uint_gt(nas_arena_used(&a), used);
    nas_arena_rollback(&a, m);
    ck_assert_uint_eq(nas_arena_used(&a), used);
    /* The released memory is handed out again, the allocation before the mark is intact. */
    ck_assert_ptr_eq(nas_arena_alloc(&a, 64), s1);
    nas_arena_rollback(&a, m);

    /* Past the current block: the chained blocks are freed, and the next reset sizes one block
     * for the peak (two allocations of the peak's size then come out back to back). */
    keep[999] = 7;
    unsigned char *big = nas_arena_alloc(&a, 1 << 20);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 1 << 20);
    nas_arena_rollback(&a, m);
    ck_assert_uint_eq(nas_arena_used(&a), used);
    ck_assert_int_eq(keep[999], 7);
    ck_assert_ptr_eq(nas_arena_alloc(&a, 64), s1);
    nas_arena_reset(&a);
    unsigned char *p1 = nas_arena_alloc(&a, 1024);
    unsigned char *p2 = nas_arena_alloc(&a, (1 << 20) - 64);
    ck_assert_ptr_eq(p2, p1 + 1024);

    /* Back to a mark taken on the empty arena. */
    nas_arena_rollback(&a, empty);
    ck_assert_uint_eq(nas_arena_used(&a), 0);
    ck_assert_ptr_nonnull(nas_arena_alloc(&a, 100));
    nas_arena_free(&a);
}
END_TEST

/* Conv scratch is released after each op: a training step's arena use does not grow with the
 * number of convs beyond their outputs and gradients. */
START_TEST(test_fastpath__conv_scratch_released) {
    nas_set_threads(2);
    nas_tape t;
    nas_tape_init(&t);
    float *xv = frand(8 * 32 * 14 * 14, 1), *wv = frand(32 * 32 * 9, 2);
    nas_tensor *x = nas_tensor_from(&t, 4, (int64_t[]){8, 32, 14, 14}, xv);
    nas_tensor *w = nas_tensor_from(&t, 4, (int64_t[]){32, 32, 3, 3}, wv);
    ck_assert_int_eq(nas_tensor_require_grad(&t, w), NAS_OK);
    size_t before = nas_arena_used(&t.arena);
    nas_tensor *y = nas_conv2d(&t, x, w, NULL, 1, 1, 1, 1);
    ck_assert_ptr_nonnull(y);
    size_t one = nas_arena_used(&t.arena) - before;
    /* the output, its tensor struct and the node: well under twice the output's bytes */
    ck_assert_uint_lt(one, 2 * (size_t)y->numel * sizeof(float));
    nas_tape_free(&t);
    nas_free(xv);
    nas_free(wv);
}
END_TEST

Suite *nas_test_fastpath_suite(void) {
    Suite *s = suite_create("fastpath");
    TCase *tc = tcase_create("fresh_grad");
    tcase_add_test(tc, test_fastpath__fresh_grad_elementwise);
    tcase_add_test(tc, test_fastpath__fresh_grad_norm_pool);
    tcase_add_test(tc, test_fastpath__fresh_grad_conv);
    tcase_add_test(tc, test_fastpath__seed_fresh_and_accumulated);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("winograd");
    tcase_add_loop_test(tc, test_fastpath__winograd_matches_ref, 0,
                        (int)(sizeof wino_cases / sizeof wino_cases[0]));
    tcase_add_test(tc, test_fastpath__winograd_applies);
    tcase_add_test(tc, test_fastpath__winograd_weight_transform);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("arena");
    tcase_add_test(tc, test_fastpath__arena_mark_rollback);
    tcase_add_test(tc, test_fastpath__conv_scratch_released);
    suite_add_tcase(s, tc);

    tc = tcase_create("matches_ref");
    tcase_add_test(tc, test_fastpath__batchnorm_fused_values);
    tcase_add_test(tc, test_fastpath__avgpool_paths_match_ref);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
