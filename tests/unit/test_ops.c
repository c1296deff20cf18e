/*
 * Tests for the tensor ops other than conv and pooling (src/tensor/ops_linalg.c,
 * ops_elementwise.c, ops_shape.c, ops_norm.c, ops_loss.c): finite-difference gradient checks of
 * every op on several shapes, hand-computed values, and shape / index errors.
 */
#include "test_suites.h"

#include "gradcheck.h"
#include "ghnas/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Check's float asserts promote through varargs (-Wdouble-promotion); compare as doubles. */
#define ASSERT_NEAR(a, b, tol) ck_assert_double_eq_tol((double)(a), (double)(b), (double)(tol))
#define ASSERT_FEQ(a, b)       ck_assert_double_eq((double)(a), (double)(b))

/* ---- helpers ------------------------------------------------------------------------------- */

/* The inputs of one gradient check; values are malloc'd and freed by gc_run(). */
typedef struct gc_set {
    int n;
    gc_input in[GC_MAX_INPUTS];
} gc_set;

static float *gc_add(gc_set *s, bool wants_grad, int ndim, int64_t d0, int64_t d1, int64_t d2,
                     int64_t d3) {
    ck_assert_int_lt(s->n, GC_MAX_INPUTS);
    gc_input *in = &s->in[s->n];
    int64_t dims[NAS_MAX_DIMS] = {d0, d1, d2, d3};
    int64_t numel = 1;
    in->ndim = ndim;
    for (int d = 0; d < NAS_MAX_DIMS; d++) {
        in->shape[d] = d < ndim ? dims[d] : 1;
        numel *= in->shape[d];
    }
    in->values = malloc((size_t)numel * sizeof(float));
    ck_assert_ptr_nonnull(in->values);
    gc_fill_uniform(in->values, numel, -1.0f, 1.0f, 1000u + (uint64_t)s->n * 7919u);
    in->wants_grad = wants_grad;
    s->n++;
    return in->values;
}

/* Push the values of input i away from 0 (|v| >= 0.1) for kinked ops such as relu. */
static void gc_away_from_zero(gc_set *s, int i) {
    gc_input *in = &s->in[i];
    int64_t numel = 1;
    for (int d = 0; d < in->ndim; d++) {
        numel *= in->shape[d];
    }
    for (int64_t j = 0; j < numel; j++) {
        float v = in->values[j];
        in->values[j] = (v < 0.0f ? -1.0f : 1.0f) * (0.1f + 0.9f * fabsf(v));
    }
}

static int gc_run(gc_set *s, const char *label, gc_fn fn, void *ctx) {
    gc_opts o = {0};
    int fails = gc_check(label, fn, ctx, s->n, s->in, o);
    for (int i = 0; i < s->n; i++) {
        free(s->in[i].values);
    }
    s->n = 0;
    return fails;
}

/* Assert that the last op failed with `status` and a message containing `part`. */
static void expect_fail(nas_tape *t, nas_tensor *out, nas_status status, const char *part) {
    ck_assert_ptr_null(out);
    ck_assert_int_eq(nas_tape_status(t), status);
    ck_assert_msg(strstr(nas_errmsg(), part) != NULL, "message '%s' lacks '%s'", nas_errmsg(),
                  part);
    nas_tape_reset(t);
}

static nas_tensor *vals(nas_tape *t, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                        const float *v) {
    int64_t shape[NAS_MAX_DIMS] = {d0, d1, d2, d3};
    nas_tensor *x = nas_tensor_from(t, ndim, shape, v);
    ck_assert_ptr_nonnull(x);
    return x;
}

static void expect_values(const nas_tensor *x, const float *want, int64_t n, double tol) {
    ck_assert_int_eq(x->numel, n);
    for (int64_t i = 0; i < n; i++) {
        ck_assert_msg(fabs((double)x->data[i] - (double)want[i]) <= tol,
                      "element %lld: got %.7g, want %.7g", (long long)i, (double)x->data[i],
                      (double)want[i]);
    }
}

/* ---- linalg -------------------------------------------------------------------------------- */

typedef struct mm_ctx {
    bool ta, tb;
} mm_ctx;

static nas_tensor *fn_matmul(nas_tape *t, nas_tensor **in, void *ctx) {
    const mm_ctx *c = ctx;
    return nas_matmul(t, in[0], in[1], c->ta, c->tb);
}

START_TEST(test_ops__matmul_gradcheck_all_transposes) {
    const int64_t M = 3, K = 4, N = 5;
    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            gc_set s = {0};
            gc_add(&s, true, 2, ta ? K : M, ta ? M : K, 0, 0);
            gc_add(&s, true, 2, tb ? N : K, tb ? K : N, 0, 0);
            mm_ctx c = {ta != 0, tb != 0};
            char label[32];
            snprintf(label, sizeof label, "matmul ta=%d tb=%d", ta, tb);
            ck_assert_int_eq(gc_run(&s, label, fn_matmul, &c), 0);
        }
    }
}
END_TEST

START_TEST(test_ops__matmul_values) {
    nas_tape t;
    nas_tape_init(&t);
    const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
    nas_tensor *A = vals(&t, 2, 2, 2, 0, 0, a), *B = vals(&t, 2, 2, 2, 0, 0, b);
    const float ab[] = {19, 22, 43, 50}, atb[] = {26, 30, 38, 44}, abt[] = {17, 23, 39, 53};
    expect_values(nas_matmul(&t, A, B, false, false), ab, 4, 1e-5);
    expect_values(nas_matmul(&t, A, B, true, false), atb, 4, 1e-5);
    expect_values(nas_matmul(&t, A, B, false, true), abt, 4, 1e-5);
    /* Non-square against the reference GEMM. */
    float x[12], y[15], ref[20];
    gc_fill_uniform(x, 12, -1, 1, 3);
    gc_fill_uniform(y, 15, -1, 1, 4);
    nas_tensor *X = vals(&t, 2, 3, 4, 0, 0, x), *Y = vals(&t, 2, 5, 3, 0, 0, y);
    nas_sgemm_ref(true, true, 4, 5, 3, 1.0f, x, 4, y, 3, 0.0f, ref, 5);
    nas_tensor *Z = nas_matmul(&t, X, Y, true, true);
    ck_assert_int_eq(Z->shape[0], 4);
    ck_assert_int_eq(Z->shape[1], 5);
    expect_values(Z, ref, 20, 1e-5);
    nas_tape_free(&t);
}
END_TEST

static nas_tensor *fn_linear(nas_tape *t, nas_tensor **in, void *ctx) {
    bool bias = *(const bool *)ctx;
    return nas_linear(t, in[0], in[1], bias ? in[2] : NULL);
}

START_TEST(test_ops__linear_gradcheck) {
    for (int bias = 0; bias < 2; bias++) {
        bool b = bias != 0;
        gc_set s = {0};
        gc_add(&s, true, 2, 4, 6, 0, 0);
        gc_add(&s, true, 2, 5, 6, 0, 0);
        if (b) {
            gc_add(&s, true, 1, 5, 0, 0, 0);
        }
        ck_assert_int_eq(gc_run(&s, b ? "linear bias" : "linear", fn_linear, &b), 0);
        /* A 4-D input is viewed as [shape0, rest]. */
        gc_add(&s, true, 4, 2, 3, 2, 2);
        gc_add(&s, true, 2, 4, 12, 0, 0);
        if (b) {
            gc_add(&s, true, 1, 4, 0, 0, 0);
        }
        ck_assert_int_eq(gc_run(&s, b ? "linear 4d bias" : "linear 4d", fn_linear, &b), 0);
    }
}
END_TEST

START_TEST(test_ops__linear_values) {
    nas_tape t;
    nas_tape_init(&t);
    const float x[] = {1, 2, 3, 4, 5, 6};  /* [2, 3] */
    const float w[] = {1, 0, -1, 2, 1, 0}; /* [2, 3] */
    const float b[] = {0.5f, -1};
    nas_tensor *y = nas_linear(&t, vals(&t, 2, 2, 3, 0, 0, x), vals(&t, 2, 2, 3, 0, 0, w),
                               vals(&t, 1, 2, 0, 0, 0, b));
    const float want[] = {-1.5f, 3, -1.5f, 12};
    ck_assert_int_eq(y->shape[1], 2);
    expect_values(y, want, 4, 1e-5);
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_ops__linalg_shape_errors) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *a = nas_tensor_zeros(&t, 2, (int64_t[]){3, 4});
    nas_tensor *b = nas_tensor_zeros(&t, 2, (int64_t[]){5, 3});
    nas_tensor *v = nas_tensor_zeros(&t, 1, (int64_t[]){4});
    expect_fail(&t, nas_matmul(&t, a, b, false, false), NAS_ESHAPE, "inner dims");
    a = nas_tensor_zeros(&t, 2, (int64_t[]){3, 4});
    v = nas_tensor_zeros(&t, 1, (int64_t[]){4});
    expect_fail(&t, nas_matmul(&t, a, v, false, false), NAS_ESHAPE, "2-D");
    a = nas_tensor_zeros(&t, 2, (int64_t[]){3, 4});
    b = nas_tensor_zeros(&t, 2, (int64_t[]){5, 3});
    expect_fail(&t, nas_linear(&t, a, b, NULL), NAS_ESHAPE, "features");
    a = nas_tensor_zeros(&t, 2, (int64_t[]){3, 4});
    b = nas_tensor_zeros(&t, 2, (int64_t[]){5, 4});
    v = nas_tensor_zeros(&t, 1, (int64_t[]){4});
    expect_fail(&t, nas_linear(&t, a, b, v), NAS_ESHAPE, "bias");
    nas_tape_free(&t);
}
END_TEST

/* ---- elementwise --------------------------------------------------------------------------- */

static nas_tensor *fn_add(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    return nas_add(t, in[0], in[1]);
}

static nas_tensor *fn_mul(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    return nas_mul(t, in[0], in[1]);
}

/* Pairs (a shape, b shape) covering every broadcasting path. */
typedef struct bshape {
    int na;
    int64_t a[4];
    int nb;
    int64_t b[4];
} bshape;

static const bshape bcast_cases[] = {
    {3, {2, 3, 4, 1}, 3, {2, 3, 4, 1}},    /* same shape */
    {4, {2, 3, 4, 5}, 3, {3, 1, 1, 1}},    /* [N,C,H,W] + [C,1,1] */
    {2, {4, 6, 1, 1}, 1, {6, 1, 1, 1}},    /* [N,D] + [D] */
    {3, {2, 3, 4, 1}, 1, {1, 1, 1, 1}},    /* scalar */
    {4, {2, 3, 4, 5}, 4, {2, 3, 1, 1}},    /* per sample and channel */
    {3, {2, 3, 4, 1}, 2, {3, 4, 1, 1}},    /* rows share b */
    {3, {3, 4, 5, 1}, 2, {4, 1, 1, 1}},    /* middle dim */
    {4, {8, 16, 16, 16}, 3, {16, 1, 1, 1}} /* large: the threaded path */
};

START_TEST(test_ops__add_mul_gradcheck_broadcast) {
    for (size_t i = 0; i < sizeof bcast_cases / sizeof bcast_cases[0]; i++) {
        const bshape *c = &bcast_cases[i];
        for (int op = 0; op < 2; op++) {
            gc_set s = {0};
            gc_add(&s, true, c->na, c->a[0], c->a[1], c->a[2], c->a[3]);
            gc_add(&s, true, c->nb, c->b[0], c->b[1], c->b[2], c->b[3]);
            char label[48];
            snprintf(label, sizeof label, "%s case %zu", op ? "mul" : "add", i);
            ck_assert_int_eq(gc_run(&s, label, op ? fn_mul : fn_add, NULL), 0);
        }
    }
}
END_TEST

START_TEST(test_ops__add_mul_values) {
    nas_tape t;
    nas_tape_init(&t);
    const float a[] = {0, 1, 2, 3, 4, 5}; /* [2, 3] */
    const float b[] = {10, 20, 30};
    const float sum[] = {10, 21, 32, 13, 24, 35}, prod[] = {0, 20, 60, 30, 80, 150};
    nas_tensor *A = vals(&t, 2, 2, 3, 0, 0, a), *B = vals(&t, 1, 3, 0, 0, 0, b);
    expect_values(nas_add(&t, A, B), sum, 6, 0);
    expect_values(nas_mul(&t, A, B), prod, 6, 0);
    /* [1, 2, 1, 3] + [2, 1, 1]: per channel. */
    nas_tensor *X = vals(&t, 4, 1, 2, 1, 3, a);
    const float cb[] = {100, 200};
    const float want[] = {100, 101, 102, 203, 204, 205};
    expect_values(nas_add(&t, X, vals(&t, 3, 2, 1, 1, 0, cb)), want, 6, 0);
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_ops__add_shape_error) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *a = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    nas_tensor *b = nas_tensor_zeros(&t, 1, (int64_t[]){2});
    expect_fail(&t, nas_add(&t, a, b), NAS_ESHAPE, "add: b [2] does not broadcast to a [2, 3]");
    a = nas_tensor_zeros(&t, 1, (int64_t[]){3});
    b = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    expect_fail(&t, nas_mul(&t, a, b), NAS_ESHAPE, "mul:");
    nas_tape_free(&t);
}
END_TEST

static nas_tensor *fn_sum(nas_tape *t, nas_tensor **in, void *ctx) {
    return nas_sum(t, in, *(const int *)ctx);
}

START_TEST(test_ops__sum_gradcheck) {
    const int ns[] = {1, 3};
    for (int k = 0; k < 2; k++) {
        int n = ns[k];
        gc_set s = {0};
        for (int i = 0; i < n; i++) {
            gc_add(&s, i != 1, 3, 2, 3, 5, 0); /* input 1 is a constant */
        }
        ck_assert_int_eq(gc_run(&s, "sum", fn_sum, &n), 0);
        for (int i = 0; i < n; i++) {
            gc_add(&s, true, 4, 8, 16, 16, 16); /* threaded blocks */
        }
        ck_assert_int_eq(gc_run(&s, "sum large", fn_sum, &n), 0);
    }
}
END_TEST

START_TEST(test_ops__sum_values_and_errors) {
    nas_tape t;
    nas_tape_init(&t);
    const float a[] = {1, 2, 3}, b[] = {10, 20, 30}, c[] = {100, 200, 300};
    nas_tensor *xs[3] = {vals(&t, 1, 3, 0, 0, 0, a), vals(&t, 1, 3, 0, 0, 0, b),
                         vals(&t, 1, 3, 0, 0, 0, c)};
    const float want[] = {111, 222, 333};
    expect_values(nas_sum(&t, xs, 3), want, 3, 0);
    nas_tensor *one = nas_sum(&t, xs, 1);
    expect_values(one, a, 3, 0);
    ck_assert_ptr_ne(one->data, xs[0]->data); /* a copy, not a view */
    xs[2] = nas_tensor_zeros(&t, 1, (int64_t[]){4});
    expect_fail(&t, nas_sum(&t, xs, 3), NAS_ESHAPE, "input 2 has shape [4]");
    expect_fail(&t, nas_sum(&t, xs, 0), NAS_EINVAL, "at least one");
    nas_tape_free(&t);
}
END_TEST

static nas_tensor *fn_scale(nas_tape *t, nas_tensor **in, void *ctx) {
    return nas_scale(t, in[0], *(const float *)ctx);
}

static nas_tensor *fn_relu(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    return nas_relu(t, in[0]);
}

static nas_tensor *fn_sigmoid(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    return nas_sigmoid(t, in[0]);
}

static nas_tensor *fn_tanh(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    return nas_tanh(t, in[0]);
}

START_TEST(test_ops__unary_gradcheck) {
    const int64_t shapes[3][4] = {{7, 1, 1, 1}, {2, 3, 4, 5}, {8, 16, 16, 16}};
    const int ndims[3] = {1, 4, 4};
    for (int k = 0; k < 3; k++) {
        const int64_t *sh = shapes[k];
        gc_set s = {0};
        float sc = -2.5f;
        gc_add(&s, true, ndims[k], sh[0], sh[1], sh[2], sh[3]);
        ck_assert_int_eq(gc_run(&s, "scale", fn_scale, &sc), 0);
        gc_add(&s, true, ndims[k], sh[0], sh[1], sh[2], sh[3]);
        gc_away_from_zero(&s, 0);
        ck_assert_int_eq(gc_run(&s, "relu", fn_relu, NULL), 0);
        gc_add(&s, true, ndims[k], sh[0], sh[1], sh[2], sh[3]);
        ck_assert_int_eq(gc_run(&s, "sigmoid", fn_sigmoid, NULL), 0);
        gc_add(&s, true, ndims[k], sh[0], sh[1], sh[2], sh[3]);
        ck_assert_int_eq(gc_run(&s, "tanh", fn_tanh, NULL), 0);
    }
}
END_TEST

START_TEST(test_ops__unary_values) {
    nas_tape t;
    nas_tape_init(&t);
    const float x[] = {-100, -1, 0, 0.5f, 100};
    nas_tensor *X = vals(&t, 1, 5, 0, 0, 0, x);
    const float relu[] = {0, 0, 0, 0.5f, 100};
    const float sig[] = {0, 0.26894142f, 0.5f, 0.62245933f, 1};
    const float th[] = {-1, -0.76159416f, 0, 0.46211716f, 1};
    const float sc[] = {300, 3, 0, -1.5f, -300};
    expect_values(nas_relu(&t, X), relu, 5, 0);
    expect_values(nas_sigmoid(&t, X), sig, 5, 1e-7);
    expect_values(nas_tanh(&t, X), th, 5, 1e-7);
    expect_values(nas_scale(&t, X, -3.0f), sc, 5, 0);
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_ops__zero_values_and_no_gradient) {
    nas_tape t;
    nas_tape_init(&t);
    float v[24];
    gc_fill_uniform(v, 24, 1, 2, 9);
    nas_tensor *x = vals(&t, 3, 2, 3, 4, 0, v);
    nas_tensor *y = vals(&t, 3, 2, 3, 4, 0, v);
    nas_tensor_require_grad(&t, x);
    nas_tensor_require_grad(&t, y);
    nas_tensor *z = nas_zero(&t, x);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(z->ndim, 3);
    ck_assert_int_eq(z->shape[2], 4);
    float zeros[24] = {0};
    expect_values(z, zeros, 24, 0);
    ck_assert(!(z->flags & NAS_TENSOR_REQUIRES_GRAD));
    ck_assert_uint_eq(t.n_nodes, 0);
    nas_tensor *s = nas_mul(&t, nas_add(&t, z, y), y); /* y * (0 + y) */
    float ones[24];
    for (int i = 0; i < 24; i++) {
        ones[i] = 1.0f;
    }
    ck_assert_int_eq(nas_tape_backward_from(&t, s, ones), NAS_OK);
    for (int i = 0; i < 24; i++) {
        ASSERT_FEQ(x->grad[i], 0.0f);
        ASSERT_NEAR(y->grad[i], 2.0f * v[i], 1e-6f);
    }
    nas_tape_free(&t);
}
END_TEST

/* ---- shape ops ----------------------------------------------------------------------------- */

typedef struct cat_ctx {
    int n, axis;
} cat_ctx;

static nas_tensor *fn_concat(nas_tape *t, nas_tensor **in, void *ctx) {
    const cat_ctx *c = ctx;
    return nas_concat(t, in, c->n, c->axis);
}

START_TEST(test_ops__concat_gradcheck_axes) {
    gc_set s = {0};
    gc_add(&s, true, 3, 2, 3, 2, 0);
    gc_add(&s, false, 3, 1, 3, 2, 0);
    gc_add(&s, true, 3, 3, 3, 2, 0);
    cat_ctx c0 = {3, 0};
    ck_assert_int_eq(gc_run(&s, "concat axis 0", fn_concat, &c0), 0);
    gc_add(&s, true, 4, 2, 1, 2, 3);
    gc_add(&s, true, 4, 2, 3, 2, 3);
    cat_ctx c1 = {2, 1};
    ck_assert_int_eq(gc_run(&s, "concat axis 1", fn_concat, &c1), 0);
    gc_add(&s, true, 4, 2, 2, 2, 1);
    gc_add(&s, true, 4, 2, 2, 2, 3);
    gc_add(&s, true, 4, 2, 2, 2, 2);
    cat_ctx c3 = {3, 3};
    ck_assert_int_eq(gc_run(&s, "concat axis 3", fn_concat, &c3), 0);
    gc_add(&s, true, 4, 8, 16, 16, 8);
    gc_add(&s, true, 4, 8, 16, 16, 8);
    ck_assert_int_eq(gc_run(&s, "concat large", fn_concat, &c1), 0);
}
END_TEST

START_TEST(test_ops__concat_slice_tile_values) {
    nas_tape t;
    nas_tape_init(&t);
    const float a[] = {1, 2, 3, 4}, b[] = {5, 6};
    nas_tensor *xs[2] = {vals(&t, 2, 2, 2, 0, 0, a), vals(&t, 2, 2, 1, 0, 0, b)};
    const float c1[] = {1, 2, 5, 3, 4, 6};
    nas_tensor *c = nas_concat(&t, xs, 2, 1);
    ck_assert_int_eq(c->shape[1], 3);
    expect_values(c, c1, 6, 0);
    const float sl[] = {2, 5, 4, 6};
    nas_tensor *s = nas_slice(&t, c, 1, 1, 2);
    ck_assert_int_eq(s->shape[0], 2);
    ck_assert_int_eq(s->shape[1], 2);
    expect_values(s, sl, 4, 0);
    const float ti[] = {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4};
    nas_tensor *tl = nas_tile(&t, xs[0], (const int64_t[]){2, 3});
    ck_assert_int_eq(tl->shape[0], 4);
    ck_assert_int_eq(tl->shape[1], 6);
    expect_values(tl, ti, 24, 0);
    nas_tape_free(&t);
}
END_TEST

typedef struct slice_ctx {
    int axis;
    int64_t start, len;
} slice_ctx;

static nas_tensor *fn_slice(nas_tape *t, nas_tensor **in, void *ctx) {
    const slice_ctx *c = ctx;
    return nas_slice(t, in[0], c->axis, c->start, c->len);
}

START_TEST(test_ops__slice_gradcheck) {
    slice_ctx cs[] = {{0, 1, 2}, {1, 1, 3}, {2, 3, 1}};
    for (int i = 0; i < 3; i++) {
        gc_set s = {0};
        gc_add(&s, true, 3, 3, 5, 4, 0);
        ck_assert_int_eq(gc_run(&s, "slice", fn_slice, &cs[i]), 0);
    }
}
END_TEST

static nas_tensor *fn_tile(nas_tape *t, nas_tensor **in, void *ctx) {
    return nas_tile(t, in[0], ctx);
}

START_TEST(test_ops__tile_gradcheck) {
    gc_set s = {0};
    int64_t r2[] = {2, 3};
    gc_add(&s, true, 2, 2, 3, 0, 0);
    ck_assert_int_eq(gc_run(&s, "tile 2d", fn_tile, r2), 0);
    int64_t r4[] = {1, 3, 2, 2};
    gc_add(&s, true, 4, 2, 1, 3, 2);
    ck_assert_int_eq(gc_run(&s, "tile 4d", fn_tile, r4), 0);
    int64_t r1[] = {4};
    gc_add(&s, true, 1, 5, 0, 0, 0);
    ck_assert_int_eq(gc_run(&s, "tile 1d", fn_tile, r1), 0);
}
END_TEST

/* reshape x [2, 3, 4] to [-1, 4] and scale rows by a [4] vector, so shape mixups show. */
static nas_tensor *fn_reshape(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    nas_tensor *r = nas_reshape(t, in[0], 2, (const int64_t[]){-1, 4});
    return nas_mul(t, r, in[1]);
}

START_TEST(test_ops__reshape_gradcheck_and_view) {
    gc_set s = {0};
    gc_add(&s, true, 3, 2, 3, 4, 0);
    gc_add(&s, true, 1, 4, 0, 0, 0);
    ck_assert_int_eq(gc_run(&s, "reshape", fn_reshape, NULL), 0);

    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    nas_tensor_require_grad(&t, x);
    nas_tensor *r = nas_reshape(&t, x, 2, (const int64_t[]){6, -1});
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_eq(r->data, x->data);
    ck_assert_int_eq(r->ndim, 2);
    ck_assert_int_eq(r->shape[1], 4);
    ck_assert_int_eq(r->shape[2], 1);
    float ones[24];
    for (int i = 0; i < 24; i++) {
        ones[i] = (float)i;
    }
    ck_assert_int_eq(nas_tape_backward_from(&t, r, ones), NAS_OK);
    ck_assert_ptr_nonnull(r->grad);
    ck_assert_ptr_ne(r->grad, x->grad);
    for (int i = 0; i < 24; i++) {
        ASSERT_FEQ(x->grad[i], (float)i);
    }
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_ops__shape_op_errors) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *a = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    nas_tensor *b = nas_tensor_zeros(&t, 3, (int64_t[]){2, 5, 5});
    nas_tensor *xs[2] = {a, b};
    expect_fail(&t, nas_concat(&t, xs, 2, 1), NAS_ESHAPE, "input 1 has shape [2, 5, 5]");
    xs[0] = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    expect_fail(&t, nas_concat(&t, xs, 1, 3), NAS_ESHAPE, "axis 3");
    a = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    expect_fail(&t, nas_slice(&t, a, 2, 2, 3), NAS_ESHAPE, "[2, 5) is not inside axis 2");
    a = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    expect_fail(&t, nas_slice(&t, a, 0, -1, 1), NAS_ESHAPE, "slice");
    a = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    expect_fail(&t, nas_reshape(&t, a, 2, (const int64_t[]){5, -1}), NAS_ESHAPE, "24 elements");
    a = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    expect_fail(&t, nas_reshape(&t, a, 2, (const int64_t[]){4, 5}), NAS_ESHAPE, "[4, 5]");
    a = nas_tensor_zeros(&t, 3, (int64_t[]){2, 3, 4});
    expect_fail(&t, nas_reshape(&t, a, 2, (const int64_t[]){-1, -1}), NAS_ESHAPE, "dimension 1");
    a = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    expect_fail(&t, nas_tile(&t, a, (const int64_t[]){1, 0}), NAS_EINVAL, "reps[1]");
    nas_tape_free(&t);
}
END_TEST

/* ---- normalisation ------------------------------------------------------------------------- */

typedef struct bn_ctx {
    bool affine;
    nas_bn_mode mode;
    float *rm, *rv;
} bn_ctx;

static nas_tensor *fn_bn(nas_tape *t, nas_tensor **in, void *ctx) {
    const bn_ctx *c = ctx;
    return nas_batchnorm(t, in[0], c->affine ? in[1] : NULL, c->affine ? in[2] : NULL, c->rm, c->rv,
                         c->mode, 0.1f, 1e-5f);
}

START_TEST(test_ops__batchnorm_gradcheck) {
    const int64_t shapes[3][4] = {{4, 3, 3, 2}, {6, 5, 1, 1}, {8, 16, 16, 16}};
    const int ndims[3] = {4, 2, 4};
    float rm[16], rv[16];
    gc_fill_uniform(rm, 16, -0.5f, 0.5f, 11);
    gc_fill_uniform(rv, 16, 0.5f, 2.0f, 12);
    for (int k = 0; k < 3; k++) {
        const int64_t *sh = shapes[k];
        for (int mode = 0; mode < 2; mode++) {
            for (int affine = 0; affine < 2; affine++) {
                gc_set s = {0};
                gc_add(&s, true, ndims[k], sh[0], sh[1], sh[2], sh[3]);
                if (affine) {
                    float *g = gc_add(&s, true, 1, sh[1], 0, 0, 0);
                    for (int64_t c = 0; c < sh[1]; c++) {
                        g[c] += 1.5f; /* keep gamma away from 0 */
                    }
                    gc_add(&s, true, 1, sh[1], 0, 0, 0);
                }
                bn_ctx c = {affine != 0, mode ? NAS_BN_RUNNING_STATS : NAS_BN_BATCH_STATS,
                            mode ? rm : NULL, mode ? rv : NULL};
                char label[64];
                snprintf(label, sizeof label, "batchnorm shape %d mode %d affine %d", k, mode,
                         affine);
                ck_assert_int_eq(gc_run(&s, label, fn_bn, &c), 0);
            }
        }
    }
}
END_TEST

START_TEST(test_ops__batchnorm_values_and_running_stats) {
    nas_tape t;
    nas_tape_init(&t);
    /* 2-D: channel 0 = 1..4 (mean 2.5, var 1.25, unbiased 5/3), channel 1 = 2,4,6,8. */
    const float x2[] = {1, 2, 2, 4, 3, 6, 4, 8};
    float rm[2] = {0, 0}, rv[2] = {1, 1};
    nas_tensor *y = nas_batchnorm(&t, vals(&t, 2, 4, 2, 0, 0, x2), NULL, NULL, rm, rv,
                                  NAS_BN_BATCH_STATS, 0.1f, 1e-5f);
    ck_assert_ptr_nonnull(y);
    const float s0 = 1.0f / sqrtf(1.25f + 1e-5f), s1 = 1.0f / sqrtf(5.0f + 1e-5f);
    const float want[] = {-1.5f * s0, -3 * s1, -0.5f * s0, -1 * s1,
                          0.5f * s0,  1 * s1,  1.5f * s0,  3 * s1};
    expect_values(y, want, 8, 1e-5);
    ASSERT_NEAR(rm[0], 0.25f, 1e-6f);
    ASSERT_NEAR(rm[1], 0.5f, 1e-6f);
    ASSERT_NEAR(rv[0], 0.9f + 0.1f * 5.0f / 3.0f, 1e-6f);
    ASSERT_NEAR(rv[1], 0.9f + 0.1f * 20.0f / 3.0f, 1e-6f);

    /* 4-D, one channel 1..8: mean 4.5, biased var 5.25, unbiased 6; affine 2x + 0.5. */
    const float x4[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float gb[] = {2.0f, 0.5f};
    float rm1 = 1.0f, rv1 = 2.0f;
    y = nas_batchnorm(&t, vals(&t, 4, 2, 1, 2, 2, x4), vals(&t, 1, 1, 0, 0, 0, gb),
                      vals(&t, 1, 1, 0, 0, 0, gb + 1), &rm1, &rv1, NAS_BN_BATCH_STATS, 0.25f, 0.0f);
    ck_assert_ptr_nonnull(y);
    ASSERT_NEAR(y->data[0], 2.0f * -3.5f / sqrtf(5.25f) + 0.5f, 1e-5f);
    ASSERT_NEAR(y->data[7], 2.0f * 3.5f / sqrtf(5.25f) + 0.5f, 1e-5f);
    ASSERT_NEAR(rm1, 0.75f * 1.0f + 0.25f * 4.5f, 1e-6f);
    ASSERT_NEAR(rv1, 0.75f * 2.0f + 0.25f * 6.0f, 1e-6f);

    /* Running-stats mode normalises with the given stats and leaves them alone. */
    float rm2[1] = {1.0f}, rv2[1] = {4.0f};
    y = nas_batchnorm(&t, vals(&t, 4, 2, 1, 2, 2, x4), vals(&t, 1, 1, 0, 0, 0, gb),
                      vals(&t, 1, 1, 0, 0, 0, gb + 1), rm2, rv2, NAS_BN_RUNNING_STATS, 0.1f, 0.0f);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < 8; i++) {
        ASSERT_NEAR(y->data[i], 2.0f * (x4[i] - 1.0f) / 2.0f + 0.5f, 1e-6f);
    }
    ASSERT_FEQ(rm2[0], 1.0f);
    ASSERT_FEQ(rv2[0], 4.0f);

    /* Batch statistics of a large map: every channel comes out with mean 0 and variance 1. */
    enum { N = 8, C = 16, S = 256 };
    float *big = malloc(sizeof(float) * N * C * S);
    gc_fill_uniform(big, N * C * S, 50.0f, 51.0f, 5); /* large mean: tests the shifted sums */
    y = nas_batchnorm(&t, vals(&t, 4, N, C, 16, 16, big), NULL, NULL, NULL, NULL,
                      NAS_BN_BATCH_STATS, 0.1f, 0.0f);
    ck_assert_ptr_nonnull(y);
    for (int c = 0; c < C; c++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < S; j++) {
                double v = (double)y->data[(i * C + c) * S + j];
                s += v;
                s2 += v * v;
            }
        }
        ck_assert_double_eq_tol(s / (N * S), 0.0, 1e-4);
        ck_assert_double_eq_tol(s2 / (N * S), 1.0, 1e-3);
    }
    free(big);
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_ops__batchnorm_errors) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_zeros(&t, 4, (int64_t[]){2, 3, 2, 2});
    nas_tensor *g = nas_tensor_zeros(&t, 1, (int64_t[]){4});
    expect_fail(&t, nas_batchnorm(&t, x, g, NULL, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f),
                NAS_ESHAPE, "gamma [4] must have 3 elements");
    x = nas_tensor_zeros(&t, 4, (int64_t[]){2, 3, 2, 2});
    expect_fail(&t, nas_batchnorm(&t, x, NULL, NULL, NULL, NULL, NAS_BN_RUNNING_STATS, 0.1f, 1e-5f),
                NAS_EINVAL, "running_mean");
    x = nas_tensor_zeros(&t, 2, (int64_t[]){1, 3});
    expect_fail(&t, nas_batchnorm(&t, x, NULL, NULL, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f),
                NAS_ESHAPE, "more than one value");
    x = nas_tensor_zeros(&t, 1, (int64_t[]){3});
    expect_fail(&t, nas_batchnorm(&t, x, NULL, NULL, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f),
                NAS_ESHAPE, "[N, C]");
    x = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    g = nas_tensor_zeros(&t, 1, (int64_t[]){2});
    expect_fail(&t, nas_layernorm(&t, x, NULL, g, 1e-5f), NAS_ESHAPE, "beta [2]");
    nas_tape_free(&t);
}
END_TEST

typedef struct ln_ctx {
    bool affine;
} ln_ctx;

static nas_tensor *fn_ln(nas_tape *t, nas_tensor **in, void *ctx) {
    const ln_ctx *c = ctx;
    return nas_layernorm(t, in[0], c->affine ? in[1] : NULL, c->affine ? in[2] : NULL, 1e-5f);
}

START_TEST(test_ops__layernorm_gradcheck) {
    for (int affine = 0; affine < 2; affine++) {
        for (int k = 0; k < 2; k++) {
            gc_set s = {0};
            int64_t D = k ? 8 : 7;
            if (k) {
                gc_add(&s, true, 3, 2, 3, D, 0);
            } else {
                gc_add(&s, true, 2, 5, D, 0, 0);
            }
            if (affine) {
                gc_add(&s, true, 1, D, 0, 0, 0);
                gc_add(&s, true, 1, D, 0, 0, 0);
            }
            ln_ctx c = {affine != 0};
            ck_assert_int_eq(gc_run(&s, affine ? "layernorm affine" : "layernorm", fn_ln, &c), 0);
        }
    }
}
END_TEST

START_TEST(test_ops__layernorm_values) {
    nas_tape t;
    nas_tape_init(&t);
    const float x[] = {1, 2, 3, 4, 10, 10, 10, 10};
    const float g[] = {1, 2, 1, 1}, b[] = {0, 0, 1, 0};
    const float s = 1.0f / sqrtf(1.25f + 1e-5f);
    const float plain[] = {-1.5f * s, -0.5f * s, 0.5f * s, 1.5f * s, 0, 0, 0, 0};
    const float aff[] = {-1.5f * s, -1.0f * s, 0.5f * s + 1, 1.5f * s, 0, 0, 1, 0};
    nas_tensor *X = vals(&t, 2, 2, 4, 0, 0, x);
    expect_values(nas_layernorm(&t, X, NULL, NULL, 1e-5f), plain, 8, 1e-6);
    expect_values(
        nas_layernorm(&t, X, vals(&t, 1, 4, 0, 0, 0, g), vals(&t, 1, 4, 0, 0, 0, b), 1e-5f), aff, 8,
        1e-6);
    nas_tape_free(&t);
}
END_TEST

/* ---- embedding and loss -------------------------------------------------------------------- */

static const int32_t emb_idx[] = {1, 3, 1, 5, 0, 1};

static nas_tensor *fn_embedding(nas_tape *t, nas_tensor **in, void *ctx) {
    (void)ctx;
    return nas_embedding(t, in[0], emb_idx, 6);
}

START_TEST(test_ops__embedding_gradcheck_and_values) {
    gc_set s = {0};
    gc_add(&s, true, 2, 6, 4, 0, 0);
    ck_assert_int_eq(gc_run(&s, "embedding", fn_embedding, NULL), 0);

    nas_tape t;
    nas_tape_init(&t);
    float tab[12];
    for (int i = 0; i < 12; i++) {
        tab[i] = (float)i;
    }
    nas_tensor *T = vals(&t, 2, 6, 2, 0, 0, tab);
    nas_tensor_require_grad(&t, T);
    int32_t idx[] = {1, 3, 1};
    nas_tensor *e = nas_embedding(&t, T, idx, 3);
    const float want[] = {2, 3, 6, 7, 2, 3};
    expect_values(e, want, 6, 0);
    idx[0] = 5; /* the node keeps its own copy of the indices */
    const float g[] = {1, 10, 100, 1000, 0.5f, 0.25f};
    ck_assert_int_eq(nas_tape_backward_from(&t, e, g), NAS_OK);
    const float gt[] = {0, 0, 1.5f, 10.25f, 0, 0, 100, 1000, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++) {
        ASSERT_FEQ(T->grad[i], gt[i]);
    }
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_ops__embedding_bad_index) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *T = nas_tensor_zeros(&t, 2, (int64_t[]){6, 2});
    const int32_t idx[] = {0, 7};
    expect_fail(&t, nas_embedding(&t, T, idx, 2), NAS_EINVAL,
                "index 7 at position 1 is outside the table of 6 rows");
    T = nas_tensor_zeros(&t, 2, (int64_t[]){6, 2});
    const int32_t neg[] = {-1};
    expect_fail(&t, nas_embedding(&t, T, neg, 1), NAS_EINVAL, "index -1");
    nas_tape_free(&t);
}
END_TEST

static const int32_t ce_labels[] = {0, 3, 1, 1, 2};

/* Scaled by 20 so that a missing smoothing term (eps / (K N) per logit) exceeds the tolerance. */
static nas_tensor *fn_ce(nas_tape *t, nas_tensor **in, void *ctx) {
    return nas_scale(t, nas_softmax_cross_entropy(t, in[0], ce_labels, *(const float *)ctx), 20.0f);
}

START_TEST(test_ops__softmax_ce_gradcheck) {
    float eps[] = {0.0f, 0.1f};
    for (int k = 0; k < 2; k++) {
        gc_set s = {0};
        float *z = gc_add(&s, true, 2, 5, 4, 0, 0);
        for (int i = 0; i < 20; i++) {
            z[i] *= 3.0f;
        }
        ck_assert_int_eq(gc_run(&s, "softmax_ce", fn_ce, &eps[k]), 0);
    }
}
END_TEST

START_TEST(test_ops__softmax_ce_values) {
    nas_tape t;
    nas_tape_init(&t);
    /* Row 0: lse = 3 + log(1 + e^-1 + e^-2) = 3.4076059644; row 1: lse = 1 + log 3. */
    const float z[] = {1, 2, 3, 1, 1, 1};
    const int32_t lab[] = {2, 0};
    nas_tensor *Z = vals(&t, 2, 2, 3, 0, 0, z);
    nas_tensor_require_grad(&t, Z);
    nas_tensor *l0 = nas_softmax_cross_entropy(&t, Z, lab, 0.0f);
    ck_assert_int_eq(l0->numel, 1);
    ASSERT_NEAR(l0->data[0], 0.7531091f, 1e-6f); /* (0.4076060 + 1.0986123) / 2 */
    nas_tensor *l1 = nas_softmax_cross_entropy(&t, Z, lab, 0.1f);
    /* row 0: lse - 0.9*3 - 0.1/3*6 = 0.5076060; row 1: lse - 0.9 - 0.1 = 1.0986123 */
    ASSERT_NEAR(l1->data[0], 0.8031091f, 1e-6f);
    ck_assert_int_eq(nas_tape_backward(&t, l0), NAS_OK);
    /* d/dz = (softmax - onehot) / N */
    const float p0[] = {0.09003057f, 0.24472847f, 0.66524096f};
    const float third = 1.0f / 3.0f;
    const float want[] = {p0[0] / 2,       p0[1] / 2, (p0[2] - 1) / 2,
                          (third - 1) / 2, third / 2, third / 2};
    for (int i = 0; i < 6; i++) {
        ASSERT_NEAR(Z->grad[i], want[i], 1e-6f);
    }
    /* With smoothing the target is 0.9 onehot + 0.1 / 3. */
    nas_tape_reset(&t);
    Z = vals(&t, 2, 2, 3, 0, 0, z);
    nas_tensor_require_grad(&t, Z);
    ck_assert_int_eq(nas_tape_backward(&t, nas_softmax_cross_entropy(&t, Z, lab, 0.1f)), NAS_OK);
    const float lo = 0.1f / 3.0f, hi = 0.9f + 0.1f / 3.0f;
    const float want_s[] = {(p0[0] - lo) / 2, (p0[1] - lo) / 2, (p0[2] - hi) / 2,
                            (third - hi) / 2, (third - lo) / 2, (third - lo) / 2};
    for (int i = 0; i < 6; i++) {
        ASSERT_NEAR(Z->grad[i], want_s[i], 1e-6f);
    }
    /* Huge logits stay finite thanks to the max subtraction. */
    const float big[] = {1000, 0, -1000};
    nas_tensor *lb = nas_softmax_cross_entropy(&t, vals(&t, 2, 1, 3, 0, 0, big), lab, 0.0f);
    ck_assert(isfinite(lb->data[0]));
    ASSERT_NEAR(lb->data[0], 2000.0f, 1e-3f);
    nas_tape_free(&t);
}
END_TEST

START_TEST(test_ops__softmax_ce_bad_label) {
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *Z = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    const int32_t lab[] = {1, 3};
    expect_fail(&t, nas_softmax_cross_entropy(&t, Z, lab, 0.0f), NAS_EINVAL,
                "label 3 of row 1 is outside [0, 3)");
    Z = nas_tensor_zeros(&t, 2, (int64_t[]){2, 3});
    const int32_t ok[] = {1, 2};
    expect_fail(&t, nas_softmax_cross_entropy(&t, Z, ok, 1.5f), NAS_EINVAL, "smoothing");
    Z = nas_tensor_zeros(&t, 1, (int64_t[]){3});
    expect_fail(&t, nas_softmax_cross_entropy(&t, Z, ok, 0.0f), NAS_ESHAPE, "2-D");
    nas_tape_free(&t);
}
END_TEST

Suite *nas_test_ops_suite(void) {
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("linalg");
    tcase_add_test(tc, test_ops__matmul_gradcheck_all_transposes);
    tcase_add_test(tc, test_ops__matmul_values);
    tcase_add_test(tc, test_ops__linear_gradcheck);
    tcase_add_test(tc, test_ops__linear_values);
    tcase_add_test(tc, test_ops__linalg_shape_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("elementwise");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ops__add_mul_gradcheck_broadcast);
    tcase_add_test(tc, test_ops__add_mul_values);
    tcase_add_test(tc, test_ops__add_shape_error);
    tcase_add_test(tc, test_ops__sum_gradcheck);
    tcase_add_test(tc, test_ops__sum_values_and_errors);
    tcase_add_test(tc, test_ops__unary_gradcheck);
    tcase_add_test(tc, test_ops__unary_values);
    tcase_add_test(tc, test_ops__zero_values_and_no_gradient);
    suite_add_tcase(s, tc);
    tc = tcase_create("shape");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ops__concat_gradcheck_axes);
    tcase_add_test(tc, test_ops__concat_slice_tile_values);
    tcase_add_test(tc, test_ops__slice_gradcheck);
    tcase_add_test(tc, test_ops__tile_gradcheck);
    tcase_add_test(tc, test_ops__reshape_gradcheck_and_view);
    tcase_add_test(tc, test_ops__shape_op_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("norm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ops__batchnorm_gradcheck);
    tcase_add_test(tc, test_ops__batchnorm_values_and_running_stats);
    tcase_add_test(tc, test_ops__batchnorm_errors);
    tcase_add_test(tc, test_ops__layernorm_gradcheck);
    tcase_add_test(tc, test_ops__layernorm_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("loss");
    tcase_add_test(tc, test_ops__embedding_gradcheck_and_values);
    tcase_add_test(tc, test_ops__embedding_bad_index);
    tcase_add_test(tc, test_ops__softmax_ce_gradcheck);
    tcase_add_test(tc, test_ops__softmax_ce_values);
    tcase_add_test(tc, test_ops__softmax_ce_bad_label);
    suite_add_tcase(s, tc);
    return s;
}
