/*
 * Tests for src/tensor/ops_conv.c and ops_pool.c: finite-difference gradchecks, fast kernels
 * against their naive twins (ops_ref.c), the twins against hand-computed values, gradient flow
 * into the op that produced a conv's weight, and the error paths.
 */
#include "test_suites.h"

#include "gradcheck.h"
#include "tensor/ref-impl.h"

#include "ghnas/tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* |a - b| <= tol, compared in double (Check's float macros trip -Wdouble-promotion). */
#define CK_FEQ(a, b, tol)                                                                          \
    do {                                                                                           \
        double ck_a_ = (double)(a), ck_b_ = (double)(b);                                           \
        ck_assert_msg(fabs(ck_a_ - ck_b_) <= (double)(tol), "%s = %.9g, expected %.9g", #a, ck_a_, \
                      ck_b_);                                                                      \
    } while (0)

typedef struct conv_case {
    int64_t n, cin, h, w; /* input */
    int64_t cout, kh, kw; /* weight [cout, cin/groups, kh, kw] */
    int stride, pad, dilation, groups;
    bool bias;
} conv_case;

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

static nas_i_conv_geom case_geom(const conv_case *c) {
    return nas_i_conv_geom_make(c->n, c->cin, c->h, c->w, c->cout, c->kh, c->kw, c->stride, c->pad,
                                c->dilation, c->groups);
}

static nas_tensor *conv_fn(nas_tape *t, nas_tensor **in, void *ctx) {
    const conv_case *c = ctx;
    return nas_conv2d(t, in[0], in[1], c->bias ? in[2] : NULL, c->stride, c->pad, c->dilation,
                      c->groups);
}

/* Gradcheck of conv w.r.t. x, w and (if any) b; returns the number of mismatches. */
static int conv_gradcheck(const conv_case *c, uint64_t seed) {
    gc_input in[3];
    memset(in, 0, sizeof in);
    int64_t cin_g = c->cin / c->groups;
    int64_t xn = c->n * c->cin * c->h * c->w, wn = c->cout * cin_g * c->kh * c->kw;
    in[0] = (gc_input){4, {c->n, c->cin, c->h, c->w}, frand(xn, seed), true};
    in[1] = (gc_input){4, {c->cout, cin_g, c->kh, c->kw}, frand(wn, seed + 1), true};
    in[2] = (gc_input){1, {c->cout, 1, 1, 1}, frand(c->cout, seed + 2), true};
    char label[160];
    snprintf(label, sizeof label,
             "conv x[%lld,%lld,%lld,%lld] w[%lld,%lld,%lld,%lld] s%d p%d d%d g%d%s",
             (long long)c->n, (long long)c->cin, (long long)c->h, (long long)c->w,
             (long long)c->cout, (long long)cin_g, (long long)c->kh, (long long)c->kw, c->stride,
             c->pad, c->dilation, c->groups, c->bias ? " bias" : "");
    int fails = gc_check(label, conv_fn, (void *)(uintptr_t)c, c->bias ? 3 : 2, in, (gc_opts){0});
    for (int i = 0; i < 3; i++) {
        nas_free(in[i].values);
    }
    return fails;
}

/* Runs the fast conv forward and backward (dy random, gradients pre-filled with random values to
 * check accumulation) and the naive twin on the same data; returns the worst relative error.
 * Every third seed leaves the bias as a constant, which must then get no gradient buffer. */
static double conv_vs_ref(const conv_case *c, uint64_t seed, bool grad_x) {
    nas_i_conv_geom g = case_geom(c);
    int64_t cin_g = c->cin / c->groups;
    int64_t xn = c->n * c->cin * c->h * c->w, wn = c->cout * cin_g * c->kh * c->kw;
    int64_t yn = c->n * c->cout * g.ho * g.wo;
    float *x = frand(xn, seed), *w = frand(wn, seed + 1), *b = frand(c->cout, seed + 2);
    float *dy = frand(yn, seed + 3);
    float *dx0 = frand(xn, seed + 4), *dw0 = frand(wn, seed + 5), *db0 = frand(c->cout, seed + 6);
    float *y_ref = fvec(yn);
    nas_i_conv2d_ref_forward(&g, x, w, c->bias ? b : NULL, y_ref);

    nas_tape t;
    ck_assert_int_eq(nas_tape_init(&t), NAS_OK);
    nas_tensor *tx = nas_tensor_from(&t, 4, (int64_t[]){c->n, c->cin, c->h, c->w}, x);
    nas_tensor *tw = nas_tensor_from(&t, 4, (int64_t[]){c->cout, cin_g, c->kh, c->kw}, w);
    nas_tensor *tb = c->bias ? nas_tensor_from(&t, 1, (int64_t[]){c->cout}, b) : NULL;
    if (grad_x) {
        ck_assert_int_eq(nas_tensor_require_grad(&t, tx), NAS_OK);
        memcpy(tx->grad, dx0, (size_t)xn * sizeof(float));
    }
    ck_assert_int_eq(nas_tensor_require_grad(&t, tw), NAS_OK);
    memcpy(tw->grad, dw0, (size_t)wn * sizeof(float));
    bool grad_b = tb && seed % 3 != 0;
    if (grad_b) {
        ck_assert_int_eq(nas_tensor_require_grad(&t, tb), NAS_OK);
        memcpy(tb->grad, db0, (size_t)c->cout * sizeof(float));
    }
    nas_tensor *y = nas_conv2d(&t, tx, tw, tb, c->stride, c->pad, c->dilation, c->groups);
    ck_assert_msg(y != NULL, "conv2d failed: %s", nas_errmsg());
    ck_assert_int_eq(y->numel, yn);
    double err = rel_err(y->data, y_ref, yn);
    ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);

    nas_i_conv2d_ref_backward(&g, x, w, dy, grad_x ? dx0 : NULL, dw0, grad_b ? db0 : NULL);
    if (grad_x) {
        err = fmax(err, rel_err(tx->grad, dx0, xn));
    } else {
        ck_assert_ptr_null(tx->grad);
    }
    err = fmax(err, rel_err(tw->grad, dw0, wn));
    if (grad_b) {
        err = fmax(err, rel_err(tb->grad, db0, c->cout));
    } else if (tb) {
        ck_assert_ptr_null(tb->grad);
    }
    nas_tape_free(&t);
    float *bufs[] = {x, w, b, dy, dx0, dw0, db0, y_ref};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        nas_free(bufs[i]);
    }
    return err;
}

/* ---- conv gradchecks ----------------------------------------------------------------------- */

static const conv_case gc_cases[] = {
    /* n cin h w   cout kh kw   s p d g   bias */
    {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, true},    /* basic, non-square input */
    {1, 2, 8, 8, 3, 3, 3, 2, 0, 1, 1, false},   /* stride 2, pad 0 */
    {2, 2, 9, 7, 3, 3, 3, 2, 1, 1, 1, true},    /* stride 2, pad 1, odd sizes */
    {2, 4, 6, 7, 4, 3, 3, 1, 2, 2, 2, true},    /* pad 2, dilation 2, groups 2 */
    {1, 2, 9, 9, 2, 3, 3, 2, 2, 2, 1, false},   /* stride 2, pad 2, dilation 2 */
    {1, 4, 9, 8, 8, 3, 3, 2, 1, 1, 2, false},   /* stride 2, groups 2 */
    {2, 3, 5, 5, 3, 3, 3, 1, 1, 1, 3, true},    /* depthwise */
    {2, 2, 7, 7, 4, 3, 3, 2, 2, 2, 2, false},   /* depthwise x2 multiplier, stride/dilation 2 */
    {3, 1, 6, 5, 4, 3, 3, 1, 1, 1, 1, true},    /* Cin = 1 stem (direct path) */
    {2, 4, 6, 5, 6, 1, 1, 1, 0, 1, 1, true},    /* 1x1 pointwise */
    {2, 6, 5, 5, 4, 1, 1, 1, 0, 1, 2, false},   /* 1x1 pointwise, groups 2 */
    {2, 3, 6, 6, 4, 1, 1, 2, 0, 1, 1, true},    /* 1x1 stride 2 */
    {1, 3, 4, 5, 2, 1, 1, 1, 1, 1, 1, false},   /* 1x1 with padding */
    {2, 3, 5, 8, 2, 2, 3, 1, 1, 1, 1, true},    /* rectangular 2x3 kernel */
    {1, 2, 3, 3, 2, 5, 5, 1, 2, 1, 1, true},    /* kernel larger than input, fits padded */
    {2, 8, 6, 6, 4, 3, 3, 1, 1, 1, 1, true},    /* shifted-GEMM (taps) path */
    {1, 16, 7, 7, 4, 3, 3, 1, 2, 2, 2, false},  /* taps with groups 2, pad 2, dilation 2 */
    {2, 2, 16, 16, 3, 3, 3, 1, 1, 1, 1, true},  /* wide im2col layout */
    {3, 2, 4, 4, 4, 3, 3, 1, 0, 1, 2, false},   /* depthwise x2, 2x2 output, batch 3 */
    {1, 8, 11, 10, 4, 3, 3, 2, 1, 1, 1, true},  /* taps on stride-2 phase planes */
    {1, 8, 16, 17, 3, 3, 3, 3, 2, 2, 1, false}, /* taps, stride 3, dilation 2 */
    {1, 8, 12, 11, 4, 3, 3, 2, 2, 1, 1, false}, /* taps, stride 2, odd width, even pad */
    {1, 8, 5, 6, 3, 1, 1, 1, 1, 1, 1, true},    /* taps, 1x1 with padding (wo > w + pad) */
    {1, 8, 5, 5, 2, 3, 3, 1, 3, 1, 1, false},   /* taps, pad 3 with a 3x3 kernel */
};

START_TEST(test_conv__gradcheck) {
    const conv_case *c = &gc_cases[_i];
    ck_assert_int_eq(conv_gradcheck(c, 100 + (uint64_t)_i * 10), 0);
}
END_TEST

/* The weight is the output of another op: gradients must flow through the conv into it. */
typedef struct producer_ctx {
    int kind; /* 0: w = avgpool(leaf, 2, 1, 0); 1: w = scale(leaf, -1.5) */
} producer_ctx;

static nas_tensor *produced_weight_fn(nas_tape *t, nas_tensor **in, void *ctx) {
    const producer_ctx *p = ctx;
    nas_tensor *w =
        p->kind == 0 ? nas_avgpool2d(t, in[1], 2, 1, 0, true) : nas_scale(t, in[1], -1.5f);
    return nas_conv2d(t, in[0], w, NULL, 1, 1, 1, 1);
}

START_TEST(test_conv__grad_flows_into_weight_producer) {
    for (int kind = 0; kind < 2; kind++) {
        producer_ctx ctx = {kind};
        int64_t k = kind == 0 ? 4 : 3; /* avgpool 2x2/1 turns a 4x4 leaf into a 3x3 kernel */
        gc_input in[2] = {
            {4, {2, 3, 6, 6}, frand(2 * 3 * 36, 7), false},
            {4, {4, 3, k, k}, frand(4 * 3 * k * k, 8), true},
        };
        int fails = gc_check(kind == 0 ? "conv(avgpool(leaf))" : "conv(scale(leaf))",
                             produced_weight_fn, &ctx, 2, in, (gc_opts){0});
        nas_free(in[0].values);
        nas_free(in[1].values);
        ck_assert_int_eq(fails, 0);
    }

    /* And the leaf's gradient is not zero (the producer was really reached). */
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_new4(&t, 4, 1, 2, 5, 5);
    nas_tensor *leaf = nas_tensor_new4(&t, 4, 3, 2, 4, 4);
    gc_fill_uniform(x->data, x->numel, -1.0f, 1.0f, 1);
    gc_fill_uniform(leaf->data, leaf->numel, -1.0f, 1.0f, 2);
    ck_assert_int_eq(nas_tensor_require_grad(&t, leaf), NAS_OK);
    nas_tensor *w = nas_avgpool2d(&t, leaf, 2, 1, 0, true);
    nas_tensor *y = nas_conv2d(&t, x, w, NULL, 1, 0, 1, 1);
    ck_assert_ptr_nonnull(y);
    ck_assert_ptr_null(x->grad); /* x is a constant: no gradient buffer */
    float *dy = frand(y->numel, 3);
    ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
    double s = 0.0;
    for (int64_t i = 0; i < leaf->numel; i++) {
        s += fabs((double)leaf->grad[i]);
    }
    ck_assert(s > 1e-3);
    ck_assert_ptr_null(x->grad);
    nas_free(dy);
    nas_tape_free(&t);
}
END_TEST

/* ---- fast kernels vs naive twins ----------------------------------------------------------- */

static const conv_case ref_cases[] = {
    /* n cin h w   cout kh kw   s p d g   bias */
    {5, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, false}, /* NB201 stage 1, no folding */
    {7, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, true},  /* folds 3 images, remainder of 1 */
    {9, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, false},   /* 7x7: folds many images */
    {6, 16, 28, 28, 32, 3, 3, 2, 1, 1, 1, false}, /* reduction: stride 2 */
    {6, 32, 14, 14, 64, 1, 1, 1, 0, 1, 1, true},  /* pointwise, folded */
    {3, 16, 28, 28, 16, 1, 1, 1, 0, 1, 1, false}, /* pointwise, direct on x */
    {4, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, true},   /* Cin = 1 stem */
    {8, 32, 16, 16, 32, 3, 3, 1, 1, 1, 32, true}, /* depthwise, threaded */
    {3, 12, 11, 13, 18, 5, 3, 2, 2, 2, 3, true},  /* groups 3, odd everything */
    {1, 8, 20, 20, 8, 3, 3, 1, 1, 2, 1, false},   /* batch 1 */
    {5, 6, 9, 10, 4, 1, 1, 2, 1, 1, 2, true},     /* 1x1 stride 2 with padding, groups 2 */
    {3, 3, 28, 28, 16, 3, 3, 1, 1, 1, 1, true},   /* RGB-style stem: wide im2col */
    {4, 16, 12, 12, 8, 5, 5, 1, 2, 1, 2, true},   /* 5x5 taps, groups 2 */
    {2, 32, 4, 4, 16, 3, 3, 1, 1, 1, 1, false},   /* tiny planes: folded exact im2col */
    {3, 16, 20, 19, 8, 3, 3, 3, 1, 2, 2, true},   /* taps: stride 3, dilation 2, groups 2 */
    {2, 8, 12, 12, 8, 2, 2, 2, 0, 1, 1, false},   /* taps: 2x2 kernel, stride 2, no pad */
};

START_TEST(test_conv__fast_matches_ref) {
    const conv_case *c = &ref_cases[_i];
    for (int threads = 1; threads <= 2; threads++) {
        nas_set_threads(threads);
        double err = conv_vs_ref(c, 1000 + (uint64_t)_i, true);
        ck_assert_msg(err < 1e-4, "case %d, %d threads: relative error %g", _i, threads, err);
    }
}
END_TEST

START_TEST(test_conv__fast_matches_ref_random_shapes) {
    nas_rng r;
    nas_rng_seed(&r, 2024);
    nas_set_threads(2);
    for (int it = 0; it < 40; it++) {
        conv_case c;
        c.groups = (int)(1 + nas_rng_below(&r, 3));
        c.cin = c.groups * (int64_t)(1 + nas_rng_below(&r, 10));
        c.cout = c.groups * (int64_t)(1 + nas_rng_below(&r, 4));
        c.n = 1 + (int64_t)nas_rng_below(&r, 6);
        c.kh = 1 + (int64_t)nas_rng_below(&r, 4);
        c.kw = 1 + (int64_t)nas_rng_below(&r, 4);
        c.stride = (int)(1 + nas_rng_below(&r, 3));
        c.pad = (int)nas_rng_below(&r, 3);
        c.dilation = (int)(1 + nas_rng_below(&r, 2));
        c.h = (c.kh - 1) * c.dilation + 1 + (int64_t)nas_rng_below(&r, 16);
        c.w = (c.kw - 1) * c.dilation + 1 + (int64_t)nas_rng_below(&r, 16);
        c.bias = nas_rng_below(&r, 2) == 0;
        double err = conv_vs_ref(&c, 5000 + (uint64_t)it, nas_rng_below(&r, 4) != 0);
        ck_assert_msg(err < 1e-4,
                      "iteration %d: x[%lld,%lld,%lld,%lld] w[%lld,*,%lld,%lld] s%d p%d d%d g%d: "
                      "relative error %g",
                      it, (long long)c.n, (long long)c.cin, (long long)c.h, (long long)c.w,
                      (long long)c.cout, (long long)c.kh, (long long)c.kw, c.stride, c.pad,
                      c.dilation, c.groups, err);
    }
}
END_TEST

/* The weight as a persistent parameter (not a step tensor) behaves the same. */
START_TEST(test_conv__weight_as_parameter) {
    nas_params ps;
    nas_params_init(&ps);
    nas_tensor *w = nas_params_add(&ps, "conv.w", 4, (int64_t[]){6, 4, 3, 3}, 0);
    nas_tensor *b = nas_params_add(&ps, "conv.b", 1, (int64_t[]){6}, NAS_TENSOR_NO_DECAY);
    ck_assert_int_eq(nas_params_finalize(&ps), NAS_OK);
    gc_fill_uniform(w->data, w->numel, -1.0f, 1.0f, 11);
    gc_fill_uniform(b->data, b->numel, -1.0f, 1.0f, 12);
    nas_i_conv_geom g = nas_i_conv_geom_make(3, 4, 10, 10, 6, 3, 3, 1, 1, 1, 1);
    float *x = frand(3 * 4 * 100, 13), *dy = frand(3 * 6 * 100, 14);
    float *dw = nas_calloc((size_t)w->numel, sizeof(float)), *db = nas_calloc(6, sizeof(float));
    nas_i_conv2d_ref_backward(&g, x, w->data, dy, NULL, dw, db);

    nas_tape t;
    nas_tape_init(&t);
    for (int step = 1; step <= 2; step++) { /* two steps: parameter grads keep accumulating */
        nas_tensor *tx = nas_tensor_from(&t, 4, (int64_t[]){3, 4, 10, 10}, x);
        nas_tensor *y = nas_conv2d(&t, tx, w, b, 1, 1, 1, 1);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
        ck_assert_ptr_null(tx->grad);
        for (int64_t i = 0; i < w->numel; i++) {
            CK_FEQ(w->grad[i], (float)step * dw[i], 1e-3f);
        }
        for (int64_t i = 0; i < 6; i++) {
            CK_FEQ(b->grad[i], (float)step * db[i], 1e-3f);
        }
        nas_tape_reset(&t);
    }
    nas_tape_free(&t);
    nas_params_free(&ps);
    nas_free(x);
    nas_free(dy);
    nas_free(dw);
    nas_free(db);
}
END_TEST

/* Only the bias needs a gradient: it gets sum(dy) per channel on every kernel path, and the
 * constants x and w get no gradient buffers. */
START_TEST(test_conv__bias_only_gradient) {
    static const conv_case cases[] = {
        {3, 16, 9, 9, 8, 3, 3, 1, 1, 1, 1, true}, /* taps */
        {3, 3, 9, 9, 4, 3, 3, 2, 1, 1, 1, true},  /* exact im2col */
        {3, 4, 9, 9, 4, 1, 1, 1, 0, 1, 1, true},  /* pointwise */
        {3, 4, 9, 9, 8, 3, 3, 1, 1, 1, 4, true},  /* direct */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const conv_case *c = &cases[k];
        nas_i_conv_geom g = case_geom(c);
        nas_tape t;
        nas_tape_init(&t);
        nas_tensor *x = nas_tensor_new4(&t, 4, c->n, c->cin, c->h, c->w);
        nas_tensor *w = nas_tensor_new4(&t, 4, c->cout, c->cin / c->groups, c->kh, c->kw);
        nas_tensor *b = nas_tensor_zeros(&t, 1, (int64_t[]){c->cout});
        gc_fill_uniform(x->data, x->numel, -1.0f, 1.0f, 21);
        gc_fill_uniform(w->data, w->numel, -1.0f, 1.0f, 22);
        ck_assert_int_eq(nas_tensor_require_grad(&t, b), NAS_OK);
        nas_tensor *y = nas_conv2d(&t, x, w, b, c->stride, c->pad, c->dilation, c->groups);
        ck_assert_ptr_nonnull(y);
        float *dy = frand(y->numel, 23);
        ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
        ck_assert_ptr_null(x->grad);
        ck_assert_ptr_null(w->grad);
        for (int64_t co = 0; co < c->cout; co++) {
            double sum = 0.0;
            for (int64_t n = 0; n < c->n; n++) {
                for (int64_t q = 0; q < g.ho * g.wo; q++) {
                    sum += (double)dy[(n * c->cout + co) * g.ho * g.wo + q];
                }
            }
            CK_FEQ(b->grad[co], sum, 1e-4);
        }
        nas_free(dy);
        nas_tape_free(&t);
    }
}
END_TEST

/* Inference (recording off): same output, no node, no gradient buffers. */
START_TEST(test_conv__no_record_inference) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_new4(&t, 4, 2, 3, 8, 8);
    nas_tensor *w = nas_tensor_new4(&t, 4, 4, 3, 3, 3);
    gc_fill_uniform(x->data, x->numel, -1.0f, 1.0f, 1);
    gc_fill_uniform(w->data, w->numel, -1.0f, 1.0f, 2);
    ck_assert_int_eq(nas_tensor_require_grad(&t, w), NAS_OK);
    nas_tape_set_record(&t, false);
    nas_tensor *y = nas_conv2d(&t, x, w, NULL, 1, 1, 1, 1);
    nas_tensor *p = nas_maxpool2d(&t, y, 2, 2, 0);
    nas_tensor *a = nas_avgpool2d(&t, p, 3, 1, 1, false);
    nas_tensor *gp = nas_global_avgpool(&t, a);
    ck_assert_ptr_nonnull(gp);
    ck_assert_uint_eq(t.n_nodes, 0);
    ck_assert_uint_eq(y->flags & NAS_TENSOR_REQUIRES_GRAD, 0);
    nas_i_conv_geom g = nas_i_conv_geom_make(2, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1);
    float *ref = fvec(y->numel);
    nas_i_conv2d_ref_forward(&g, x->data, w->data, NULL, ref);
    ck_assert(rel_err(y->data, ref, y->numel) < 1e-5);
    nas_free(ref);
    nas_tape_set_record(&t, true);
    ck_assert_ptr_nonnull(nas_conv2d(&t, x, w, NULL, 1, 1, 1, 1));
    ck_assert_uint_eq(t.n_nodes, 1);
    nas_tape_free(&t);
}
END_TEST

/* ---- the naive twins against hand-computed values ------------------------------------------ */

START_TEST(test_conv__ref_twins_by_hand) {
    /* x = 1..9 as a 3x3 image; kernel [[1, 0], [0, -1]] (pad 0): y = x[i][j] - x[i+1][j+1]. */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float k[4] = {1, 0, 0, -1};
    float y[4];
    nas_i_conv_geom g = nas_i_conv_geom_make(1, 1, 3, 3, 1, 2, 2, 1, 0, 1, 1);
    ck_assert_int_eq(g.ho, 2);
    nas_i_conv2d_ref_forward(&g, x, k, NULL, y);
    for (int i = 0; i < 4; i++) {
        CK_FEQ(y[i], -4.0f, 0);
    }
    /* 3x3 ones kernel, pad 1, stride 2, bias 0.5: corners of x summed over their neighbourhoods. */
    float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, bias = 0.5f;
    g = nas_i_conv_geom_make(1, 1, 3, 3, 1, 3, 3, 2, 1, 1, 1);
    ck_assert_int_eq(g.ho, 2);
    nas_i_conv2d_ref_forward(&g, x, ones, &bias, y);
    CK_FEQ(y[0], 1 + 2 + 4 + 5 + 0.5f, 0);
    CK_FEQ(y[1], 2 + 3 + 5 + 6 + 0.5f, 0);
    CK_FEQ(y[3], 5 + 6 + 8 + 9 + 0.5f, 0);
    /* Backward of the same conv with dy = 1: dw = sum of each tap's inputs, db = 4. */
    float dy[4] = {1, 1, 1, 1}, dx[9] = {0}, dw[9] = {0}, db = 0;
    nas_i_conv2d_ref_backward(&g, x, ones, dy, dx, dw, &db);
    CK_FEQ(db, 4.0f, 0);
    CK_FEQ(dw[4], 1 + 3 + 7 + 9, 0); /* centre tap reads the corners */
    CK_FEQ(dw[0], 5, 0);             /* top-left tap: only output (1,1) reads x(1,1) */
    CK_FEQ(dx[4], 4, 0);             /* the centre is in all four windows */
    CK_FEQ(dx[0], 1, 0);

    /* Average pool 3x3/1 pad 1 over ones: PyTorch gives 4/9, 6/9, 1 with count_include_pad
     * and 1 everywhere without. */
    nas_i_pool_geom pg = nas_i_pool_geom_make(1, 1, 3, 3, 3, 1, 1);
    float a[9];
    nas_i_avgpool2d_ref_forward(&pg, true, ones, a);
    CK_FEQ(a[0], 4.0f / 9.0f, 1e-6f);
    CK_FEQ(a[1], 6.0f / 9.0f, 1e-6f);
    CK_FEQ(a[4], 1.0f, 1e-6f);
    nas_i_avgpool2d_ref_forward(&pg, false, x, a);
    CK_FEQ(a[0], (1 + 2 + 4 + 5) / 4.0f, 1e-6f);
    CK_FEQ(a[1], (1 + 2 + 3 + 4 + 5 + 6) / 6.0f, 1e-6f);
    /* Max pool 2x2/1 pad 1 over x: padding never wins, even against negatives. */
    float neg[9];
    for (int i = 0; i < 9; i++) {
        neg[i] = -x[i];
    }
    pg = nas_i_pool_geom_make(1, 1, 3, 3, 2, 1, 1);
    ck_assert_int_eq(pg.ho, 4);
    float m[16];
    nas_i_maxpool2d_ref_forward(&pg, neg, m);
    CK_FEQ(m[0], -1.0f, 0);
    CK_FEQ(m[5], -1.0f, 0);
    CK_FEQ(m[15], -9.0f, 0);
}
END_TEST

/* ---- pools --------------------------------------------------------------------------------- */

typedef struct pool_case {
    int64_t n, c, h, w;
    int k, stride, pad;
    bool cip; /* avgpool only */
} pool_case;

static const pool_case pool_cases[] = {
    {2, 3, 6, 6, 2, 2, 0, true}, {2, 2, 7, 5, 3, 1, 1, true},  {2, 2, 7, 5, 3, 1, 1, false},
    {1, 3, 7, 8, 3, 2, 1, true}, {1, 3, 7, 8, 3, 2, 1, false}, {2, 2, 5, 6, 2, 1, 1, false},
    {2, 2, 6, 6, 3, 3, 0, true}, {1, 2, 5, 5, 2, 1, 0, false},
};

static nas_tensor *avg_fn(nas_tape *t, nas_tensor **in, void *ctx) {
    const pool_case *p = ctx;
    return nas_avgpool2d(t, in[0], p->k, p->stride, p->pad, p->cip);
}

static nas_tensor *max_fn(nas_tape *t, nas_tensor **in, void *ctx) {
    const pool_case *p = ctx;
    return nas_maxpool2d(t, in[0], p->k, p->stride, p->pad);
}

static nas_tensor *gap_fn(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    return nas_global_avgpool(t, in[0]);
}

/* Distinct values 0.05 apart (a scaled random permutation): no ties within 2*eps. */
static float *permuted(int64_t n, uint64_t seed) {
    int32_t *perm = nas_malloc((size_t)n * sizeof(int32_t));
    ck_assert_ptr_nonnull(perm);
    for (int64_t i = 0; i < n; i++) {
        perm[i] = (int32_t)i;
    }
    nas_rng r;
    nas_rng_seed(&r, seed);
    nas_rng_shuffle_i32(&r, perm, (size_t)n);
    float *v = fvec(n);
    for (int64_t i = 0; i < n; i++) {
        v[i] = 0.05f * (float)(perm[i] - n / 2);
    }
    nas_free(perm);
    return v;
}

START_TEST(test_conv__pool_gradcheck) {
    const pool_case *p = &pool_cases[_i];
    int64_t n = p->n * p->c * p->h * p->w;
    gc_input in = {4, {p->n, p->c, p->h, p->w}, frand(n, 40 + (uint64_t)_i), true};
    ck_assert_int_eq(gc_check("avgpool2d", avg_fn, (void *)(uintptr_t)p, 1, &in, (gc_opts){0}), 0);
    nas_free(in.values);
    in.values = permuted(n, 60 + (uint64_t)_i);
    ck_assert_int_eq(gc_check("maxpool2d", max_fn, (void *)(uintptr_t)p, 1, &in, (gc_opts){0}), 0);
    nas_free(in.values);
}
END_TEST

START_TEST(test_conv__gap_gradcheck) {
    gc_input in = {4, {3, 4, 5, 6}, frand(3 * 4 * 30, 77), true};
    ck_assert_int_eq(gc_check("global_avgpool", gap_fn, NULL, 1, &in, (gc_opts){0}), 0);
    nas_free(in.values);
}
END_TEST

/* Fast pools vs twins on the given shape (forward, and accumulated backward). */
static void pool_vs_ref(const pool_case *p, uint64_t seed, bool ties) {
    nas_i_pool_geom g = nas_i_pool_geom_make(p->n, p->c, p->h, p->w, p->k, p->stride, p->pad);
    int64_t xn = p->n * p->c * p->h * p->w, yn = p->n * p->c * g.ho * g.wo;
    float *x = frand(xn, seed), *dy = frand(yn, seed + 1), *y_ref = fvec(yn);
    if (ties) { /* quantised values: many equal maxima */
        for (int64_t i = 0; i < xn; i++) {
            x[i] = roundf(x[i] * 2.0f);
        }
    }
    for (int kind = 0; kind < 3; kind++) { /* avg with/without pad counting, max */
        float *dx_ref = frand(xn, seed + 2);
        nas_tape t;
        nas_tape_init(&t);
        nas_tensor *tx = nas_tensor_from(&t, 4, (int64_t[]){p->n, p->c, p->h, p->w}, x);
        ck_assert_int_eq(nas_tensor_require_grad(&t, tx), NAS_OK);
        memcpy(tx->grad, dx_ref, (size_t)xn * sizeof(float));
        nas_tensor *y;
        if (kind < 2) {
            y = nas_avgpool2d(&t, tx, p->k, p->stride, p->pad, kind == 0);
            nas_i_avgpool2d_ref_forward(&g, kind == 0, x, y_ref);
            nas_i_avgpool2d_ref_backward(&g, kind == 0, dy, dx_ref);
        } else {
            y = nas_maxpool2d(&t, tx, p->k, p->stride, p->pad);
            nas_i_maxpool2d_ref_forward(&g, x, y_ref);
            nas_i_maxpool2d_ref_backward(&g, x, dy, dx_ref);
        }
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->numel, yn);
        double ey = rel_err(y->data, y_ref, yn);
        ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
        double ex = rel_err(tx->grad, dx_ref, xn);
        ck_assert_msg(ey < 1e-5 && ex < 1e-5, "pool kind %d k%d s%d p%d: errors %g %g", kind, p->k,
                      p->stride, p->pad, ey, ex);
        nas_tape_free(&t);
        nas_free(dx_ref);
    }
    nas_free(x);
    nas_free(dy);
    nas_free(y_ref);
}

START_TEST(test_conv__pool_fast_matches_ref) {
    nas_set_threads(2);
    static const pool_case big[] = {
        {64, 16, 28, 28, 3, 1, 1, false}, /* NB201 avg_pool_3x3, threaded */
        {16, 16, 28, 28, 2, 2, 0, false}, /* reduction-block shortcut */
        {5, 3, 13, 11, 3, 2, 1, false},   {3, 4, 9, 9, 5, 2, 2, false},
        {2, 3, 8, 7, 4, 3, 2, false},     {2, 2, 1, 1, 1, 1, 0, false},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        pool_vs_ref(&big[i], 300 + i, false);
        pool_vs_ref(&big[i], 400 + i, true);
    }
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++) {
        pool_vs_ref(&pool_cases[i], 500 + i, true);
    }
}
END_TEST

START_TEST(test_conv__maxpool_ties_first_wins) {
    /* A constant 4x4 plane, 3x3 windows, stride 1, pad 1: each window's first real element
     * (row-major) takes the whole gradient. */
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_new4(&t, 4, 1, 1, 4, 4);
    for (int i = 0; i < 16; i++) {
        x->data[i] = 2.0f;
    }
    ck_assert_int_eq(nas_tensor_require_grad(&t, x), NAS_OK);
    nas_tensor *y = nas_maxpool2d(&t, x, 3, 1, 1);
    ck_assert_ptr_nonnull(y);
    float dy[16];
    for (int i = 0; i < 16; i++) {
        dy[i] = (float)(1 << (i % 8)) * (i < 8 ? 1.0f : 256.0f); /* distinct powers of two */
        CK_FEQ(y->data[i], 2.0f, 0);
    }
    ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
    float want[16] = {0};
    for (int oh = 0; oh < 4; oh++) {
        for (int ow = 0; ow < 4; ow++) {
            int h0 = oh - 1 < 0 ? 0 : oh - 1, w0 = ow - 1 < 0 ? 0 : ow - 1;
            want[h0 * 4 + w0] += dy[oh * 4 + ow];
        }
    }
    for (int i = 0; i < 16; i++) {
        CK_FEQ(x->grad[i], want[i], 0);
    }
    CK_FEQ(x->grad[15], 0.0f, 0); /* the last element never wins a tie */
    nas_tape_free(&t);
}
END_TEST

/* -inf inputs (the maximum may equal the padding) and NaN (it wins) match the twin, and no
 * gradient lands outside the input. */
START_TEST(test_conv__maxpool_infinities_and_nan) {
    float x[2 * 20];
    for (int i = 0; i < 40; i++) {
        x[i] = -INFINITY;
    }
    x[7] = 1.0f;     /* plane 0: one finite value among -inf */
    x[20 + 3] = NAN; /* plane 1: a NaN, a finite value, the rest -inf */
    x[20 + 12] = 2.0f;
    float dy[2 * 20], y_ref[2 * 20], dx_ref[2 * 20];
    for (int i = 0; i < 40; i++) {
        dy[i] = (float)(i + 1);
    }
    for (int stride = 1; stride <= 2; stride++) {
        nas_i_pool_geom g = nas_i_pool_geom_make(1, 2, 4, 5, 3, stride, 1);
        int64_t yn = 2 * g.ho * g.wo;
        nas_i_maxpool2d_ref_forward(&g, x, y_ref);
        memset(dx_ref, 0, sizeof dx_ref);
        nas_i_maxpool2d_ref_backward(&g, x, dy, dx_ref);
        nas_tape t;
        nas_tape_init(&t);
        nas_tensor *tx = nas_tensor_from(&t, 4, (int64_t[]){1, 2, 4, 5}, x);
        ck_assert_int_eq(nas_tensor_require_grad(&t, tx), NAS_OK);
        nas_tensor *y = nas_maxpool2d(&t, tx, 3, stride, 1);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->numel, yn);
        for (int64_t i = 0; i < yn; i++) {
            bool same = isnan(y_ref[i]) ? isnan(y->data[i]) : y->data[i] == y_ref[i];
            ck_assert_msg(same, "stride %d output %lld: %g vs %g", stride, (long long)i,
                          (double)y->data[i], (double)y_ref[i]);
        }
        ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
        for (int i = 0; i < 40; i++) {
            CK_FEQ(tx->grad[i], dx_ref[i], 0);
        }
        nas_tape_free(&t);
    }
}
END_TEST

START_TEST(test_conv__gap_values) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_new4(&t, 4, 2, 3, 5, 4);
    gc_fill_uniform(x->data, x->numel, -2.0f, 2.0f, 9);
    ck_assert_int_eq(nas_tensor_require_grad(&t, x), NAS_OK);
    nas_tensor *y = nas_global_avgpool(&t, x);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->ndim, 2);
    ck_assert_int_eq(y->shape[0], 2);
    ck_assert_int_eq(y->shape[1], 3);
    float ref[6], dy[6] = {1, -2, 3, 0.5f, 0, 7}, dx[120] = {0};
    nas_i_gap_ref_forward(2, 3, 20, x->data, ref);
    for (int i = 0; i < 6; i++) {
        CK_FEQ(y->data[i], ref[i], 1e-5f);
    }
    ck_assert_int_eq(nas_tape_backward_from(&t, y, dy), NAS_OK);
    nas_i_gap_ref_backward(2, 3, 20, dy, dx);
    for (int i = 0; i < 120; i++) {
        CK_FEQ(x->grad[i], dx[i], 1e-6f);
        CK_FEQ(dx[i], dy[i / 20] / 20.0f, 1e-6f);
    }
    nas_tape_free(&t);
}
END_TEST

/* ---- error paths --------------------------------------------------------------------------- */

/* Expect the op to have returned NULL with status `s` and a message containing `needle`. */
static void expect_fail(nas_tape *t, const nas_tensor *out, nas_status s, const char *needle) {
    ck_assert_ptr_null(out);
    ck_assert_int_eq(nas_tape_status(t), s);
    ck_assert_msg(strstr(nas_errmsg(), needle) != NULL, "message '%s' lacks '%s'", nas_errmsg(),
                  needle);
    nas_tape_reset(t);
}

START_TEST(test_conv__conv_errors) {
    nas_tape t;
    nas_tape_init(&t);
#define X()          nas_tensor_zeros(&t, 4, (int64_t[]){2, 4, 8, 8})
#define W(co, ci, k) nas_tensor_zeros(&t, 4, (int64_t[]){co, ci, k, k})
    /* Channel mismatch: x has 4 channels, w expects 3. */
    expect_fail(&t, nas_conv2d(&t, X(), W(5, 3, 3), NULL, 1, 1, 1, 1), NAS_ESHAPE, "[2, 4, 8, 8]");
    expect_fail(&t, nas_conv2d(&t, X(), W(5, 3, 3), NULL, 1, 1, 1, 1), NAS_ESHAPE, "[5, 3, 3, 3]");
    /* Groups not dividing the channels. */
    expect_fail(&t, nas_conv2d(&t, X(), W(5, 2, 3), NULL, 1, 1, 1, 2), NAS_ESHAPE, "groups 2");
    expect_fail(&t, nas_conv2d(&t, X(), W(6, 1, 3), NULL, 1, 1, 1, 3), NAS_ESHAPE, "[6, 1, 3, 3]");
    expect_fail(&t, nas_conv2d(&t, X(), W(4, 4, 3), NULL, 1, 1, 1, 0), NAS_ESHAPE, "groups 0");
    /* Kernel larger than the padded input: 11 > 8 + 2, and 9x9 dilated 2 = 17 > 8 + 2*4. */
    expect_fail(&t, nas_conv2d(&t, X(), W(4, 4, 11), NULL, 1, 1, 1, 1), NAS_ESHAPE,
                "[4, 4, 11, 11]");
    expect_fail(&t, nas_conv2d(&t, X(), W(4, 4, 9), NULL, 1, 4, 2, 1), NAS_ESHAPE, "[2, 4, 8, 8]");
    /* Bad stride / dilation / pad. */
    expect_fail(&t, nas_conv2d(&t, X(), W(4, 4, 3), NULL, 0, 1, 1, 1), NAS_ESHAPE, "stride 0");
    expect_fail(&t, nas_conv2d(&t, X(), W(4, 4, 3), NULL, 1, 1, 0, 1), NAS_ESHAPE, "dilation 0");
    expect_fail(&t, nas_conv2d(&t, X(), W(4, 4, 3), NULL, 1, -1, 1, 1), NAS_ESHAPE, "pad -1");
    /* Wrong ranks and bias. */
    nas_tensor *x3 = nas_tensor_zeros(&t, 3, (int64_t[]){4, 8, 8});
    expect_fail(&t, nas_conv2d(&t, x3, W(4, 4, 3), NULL, 1, 1, 1, 1), NAS_ESHAPE, "[4, 8, 8]");
    nas_tensor *b = nas_tensor_zeros(&t, 1, (int64_t[]){3});
    expect_fail(&t, nas_conv2d(&t, X(), W(4, 4, 3), b, 1, 1, 1, 1), NAS_ESHAPE, "[3]");
    /* NULL input, then stickiness: a valid op after a failure returns NULL too. */
    expect_fail(&t, nas_conv2d(&t, NULL, W(4, 4, 3), NULL, 1, 1, 1, 1), NAS_EINVAL, "NULL");
    nas_tensor *x = X(), *w = W(4, 4, 3);
    ck_assert_ptr_null(nas_conv2d(&t, x, w, NULL, 0, 1, 1, 1));
    ck_assert_ptr_null(nas_conv2d(&t, x, w, NULL, 1, 1, 1, 1));
    ck_assert_int_eq(nas_tape_status(&t), NAS_ESHAPE);
    nas_tape_reset(&t);
    /* After a reset the same tensors work (kernel exactly the padded input size is allowed). */
    x = X();
    ck_assert_ptr_nonnull(nas_conv2d(&t, x, W(4, 4, 10), NULL, 1, 1, 1, 1));
#undef X
#undef W
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_conv__pool_errors) {
    nas_tape t;
    nas_tape_init(&t);
#define X() nas_tensor_zeros(&t, 4, (int64_t[]){2, 3, 5, 5})
    expect_fail(&t, nas_avgpool2d(&t, X(), 3, 1, 2, true), NAS_ESHAPE, "pad 2");
    expect_fail(&t, nas_maxpool2d(&t, X(), 2, 0, 0), NAS_ESHAPE, "stride 0");
    expect_fail(&t, nas_maxpool2d(&t, X(), 8, 1, 1), NAS_ESHAPE, "[2, 3, 5, 5]");
    expect_fail(&t, nas_avgpool2d(&t, X(), 0, 1, 0, false), NAS_ESHAPE, "k 0");
    expect_fail(&t, nas_maxpool2d(&t, X(), 3, 1, -1), NAS_ESHAPE, "pad -1");
    nas_tensor *x2 = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    expect_fail(&t, nas_avgpool2d(&t, x2, 2, 2, 0, true), NAS_ESHAPE, "[2, 3]");
    x2 = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    expect_fail(&t, nas_global_avgpool(&t, x2), NAS_ESHAPE, "[2, 3]");
    expect_fail(&t, nas_global_avgpool(&t, NULL), NAS_EINVAL, "NULL");
    ck_assert_ptr_nonnull(nas_maxpool2d(&t, X(), 5, 1, 0));
#undef X
    nas_tape_free(&t);
}
END_TEST

Suite *nas_test_conv_suite(void) {
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("gradcheck");
    tcase_add_loop_test(tc, test_conv__gradcheck, 0, (int)(sizeof gc_cases / sizeof gc_cases[0]));
    tcase_add_test(tc, test_conv__grad_flows_into_weight_producer);
    tcase_add_loop_test(tc, test_conv__pool_gradcheck, 0,
                        (int)(sizeof pool_cases / sizeof pool_cases[0]));
    tcase_add_test(tc, test_conv__gap_gradcheck);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("matches_ref");
    tcase_add_test(tc, test_conv__ref_twins_by_hand);
    tcase_add_loop_test(tc, test_conv__fast_matches_ref, 0,
                        (int)(sizeof ref_cases / sizeof ref_cases[0]));
    tcase_add_test(tc, test_conv__fast_matches_ref_random_shapes);
    tcase_add_test(tc, test_conv__pool_fast_matches_ref);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("semantics");
    tcase_add_test(tc, test_conv__weight_as_parameter);
    tcase_add_test(tc, test_conv__bias_only_gradient);
    tcase_add_test(tc, test_conv__no_record_inference);
    tcase_add_test(tc, test_conv__maxpool_ties_first_wins);
    tcase_add_test(tc, test_conv__maxpool_infinities_and_nan);
    tcase_add_test(tc, test_conv__gap_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_conv__conv_errors);
    tcase_add_test(tc, test_conv__pool_errors);
    suite_add_tcase(s, tc);
    return s;
}
