/*
 * Tests for src/nn: optimizers (SGD, momentum, Nesterov, weight decay, NO_DECAY, Adam, AdamW)
 * against hand-computed numbers and an independent double-precision reference, optimizer state
 * and checkpoint round trip, learning-rate schedules, gradient clipping and the NaN check,
 * initialiser statistics and fans, config validation, and convergence on a quadratic.
 */
#include "test_suites.h"

#include "ghnas/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* |got - want| <= tol * max(1, |want|), with the index in the failure message. */
static void expect_close(const char *what, int i, double got, double want, double tol) {
    double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
    ck_assert_msg(fabs(got - want) <= tol * scale, "%s[%d]: got %.9g, want %.9g (tol %g)", what, i,
                  got, want, tol);
}

/* The tiny block: "w" [2] decays, "b" [1] is NO_DECAY, "u" [2] decays: 5 floats. */
#define TINY_N 5
static const float tiny_w0[TINY_N] = {1.0f, -2.0f, 0.5f, 0.25f, -1.5f};
static const float tiny_g[TINY_N] = {0.5f, 1.0f, -2.0f, 0.75f, -0.25f};
static const bool tiny_decays[TINY_N] = {true, true, false, true, true};

static void tiny_params(nas_params *p) {
    const int64_t s2[1] = {2}, s1[1] = {1};
    ck_assert_int_eq(nas_params_init(p), NAS_OK);
    ck_assert_ptr_nonnull(nas_params_add(p, "w", 1, s2, 0));
    ck_assert_ptr_nonnull(nas_params_add(p, "b", 1, s1, NAS_TENSOR_NO_DECAY));
    ck_assert_ptr_nonnull(nas_params_add(p, "u", 1, s2, 0));
    ck_assert_int_eq(nas_params_finalize(p), NAS_OK);
    ck_assert_int_eq(p->numel, TINY_N);
    memcpy(p->data, tiny_w0, sizeof tiny_w0);
    memcpy(p->grad, tiny_g, sizeof tiny_g);
}

/* Reference SGD step in double, written from PyTorch's formulas (dampening 0):
 * g' = g + wd*w; buf = mom*buf + g' (buf starts 0); d = nesterov ? g' + mom*buf : buf;
 * w -= lr*d. */
static void ref_sgd(double *w, double *buf, const double *g, const bool *decays, int n, double lr,
                    double wd, double mom, bool nesterov) {
    for (int i = 0; i < n; i++) {
        double gi = g[i] + (decays[i] ? wd : 0.0) * w[i];
        double d = gi;
        if (mom != 0.0) {
            buf[i] = mom * buf[i] + gi;
            d = nesterov ? gi + mom * buf[i] : buf[i];
        }
        w[i] -= lr * d;
    }
}

/* Reference Adam/AdamW step number t (1-based) in double from the paper plus PyTorch's choices:
 * L2 decay added to g (Adam) or w *= 1 - lr*wd first (AdamW); eps added to sqrt(v_hat). */
static void ref_adam(double *w, double *m, double *v, const double *g, const bool *decays, int n,
                     int t, double lr, double b1, double b2, double eps, double wd,
                     bool decoupled) {
    for (int i = 0; i < n; i++) {
        double wdi = decays[i] ? wd : 0.0;
        double gi = g[i];
        if (decoupled) {
            w[i] *= 1.0 - lr * wdi;
        } else {
            gi += wdi * w[i];
        }
        m[i] = b1 * m[i] + (1.0 - b1) * gi;
        v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
        double mhat = m[i] / (1.0 - pow(b1, t));
        double vhat = v[i] / (1.0 - pow(b2, t));
        w[i] -= lr * mhat / (sqrt(vhat) + eps);
    }
}

static void expect_data(const char *what, const nas_params *p, const double *want, double tol) {
    for (int i = 0; i < (int)p->numel; i++) {
        expect_close(what, i, (double)p->data[i], want[i], tol);
    }
}

static void expect_literal(const char *what, const nas_params *p, const double *want) {
    expect_data(what, p, want, 1e-6);
}

static double sign(double x) {
    return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
}

/* ---- SGD ----------------------------------------------------------------------------------- */

START_TEST(test_nn__sgd_plain) {
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_SGD);
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    ck_assert_ptr_null(opt.state); /* plain SGD keeps no state */
    ck_assert_int_eq(opt.state_numel, 0);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    const double one[TINY_N] = {0.95, -2.1, 0.7, 0.175, -1.475};
    expect_literal("sgd step 1", &p, one);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    /* w0 - 3 * 0.1 * g */
    const double three[TINY_N] = {0.85, -2.3, 1.1, 0.025, -1.425};
    expect_literal("sgd step 3", &p, three);
    ck_assert_int_eq(opt.step, 3);
    /* Gradients are read, not consumed. */
    ck_assert(memcmp(p.grad, tiny_g, sizeof tiny_g) == 0);
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__sgd_momentum) {
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_SGD);
    c.momentum = 0.9f;
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    ck_assert_int_eq(opt.state_numel, TINY_N);
    ck_assert_ptr_eq(opt.m, opt.state);
    ck_assert_ptr_null(opt.v);
    for (int s = 0; s < 3; s++) {
        ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    }
    /* buf: g, 1.9 g, 2.71 g; total displacement 0.1 * (1 + 1.9 + 2.71) g = 0.561 g. */
    const double want[TINY_N] = {0.7195, -2.561, 1.622, -0.17075, -1.35975};
    expect_literal("momentum step 3", &p, want);
    for (int i = 0; i < TINY_N; i++) {
        expect_close("momentum buffer", i, (double)opt.m[i], 2.71 * (double)tiny_g[i], 1e-6);
    }
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__sgd_nesterov) {
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_SGD);
    c.momentum = 0.9f;
    c.nesterov = true;
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    for (int s = 0; s < 3; s++) {
        ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    }
    /* d = g + 0.9 buf: 1.9 g, 2.71 g, 3.439 g; displacement 0.1 * 8.049 g = 0.8049 g. */
    const double want[TINY_N] = {0.59755, -2.8049, 2.1098, -0.353675, -1.298775};
    expect_literal("nesterov step 3", &p, want);
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__sgd_weight_decay_and_no_decay) {
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_SGD);
    c.weight_decay = 0.1f;
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    /* w=1, g=.5: 1 - .1(.5 + .1) = .94, then .94 - .1(.5 + .094) = .8806.
     * w=-2, g=1: -2 - .1(1 - .2) = -2.08, then -2.08 - .1(1 - .208) = -2.1592.
     * b=.5 (NO_DECAY), g=-2: .7, .9. */
    expect_close("sgd wd", 0, (double)p.data[0], 0.8806, 1e-6);
    expect_close("sgd wd", 1, (double)p.data[1], -2.1592, 1e-6);
    expect_close("sgd wd no_decay", 2, (double)p.data[2], 0.9, 1e-6);
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

/* Momentum + Nesterov + weight decay with gradients that change every step, against the double
 * reference (NO_DECAY honoured by the reference's mask). */
START_TEST(test_nn__sgd_matches_reference) {
    const bool nesterov_cases[2] = {false, true};
    for (int k = 0; k < 2; k++) {
        nas_params p;
        tiny_params(&p);
        nas_optim opt;
        nas_optim_config c = nas_optim_defaults(NAS_OPTIM_SGD);
        c.momentum = 0.8f;
        c.nesterov = nesterov_cases[k];
        c.weight_decay = 0.05f;
        ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
        double w[TINY_N], buf[TINY_N] = {0}, g[TINY_N];
        for (int i = 0; i < TINY_N; i++) {
            w[i] = (double)tiny_w0[i];
        }
        const float lrs[3] = {0.1f, 0.05f, 0.2f};
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < TINY_N; i++) {
                p.grad[i] = tiny_g[i] * (float)(s + 1) * (s == 1 ? -1.0f : 1.0f);
                g[i] = (double)p.grad[i];
            }
            ck_assert_int_eq(nas_optim_step(&opt, lrs[s]), NAS_OK);
            ref_sgd(w, buf, g, tiny_decays, TINY_N, (double)lrs[s], (double)c.weight_decay,
                    (double)c.momentum, c.nesterov);
        }
        expect_data(c.nesterov ? "nesterov+wd ref" : "momentum+wd ref", &p, w, 2e-6);
        for (int i = 0; i < TINY_N; i++) {
            expect_close("momentum buffer ref", i, (double)opt.m[i], buf[i], 2e-6);
        }
        nas_optim_free(&opt);
        nas_params_free(&p);
    }
}
END_TEST

/* ---- Adam / AdamW -------------------------------------------------------------------------- */

START_TEST(test_nn__adam_literal_constant_grad) {
    /* With a constant gradient m_hat = g and v_hat = g^2 exactly, so every step moves each
     * weight by lr * sign(g) (up to eps): three steps of lr 0.1 move by 0.3. */
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_ADAM);
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    ck_assert_int_eq(opt.state_numel, 2 * TINY_N);
    ck_assert_ptr_eq(opt.m, opt.state);
    ck_assert_ptr_eq(opt.v, opt.state + TINY_N);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    /* State after one step: m = (1 - 0.9) g, v = (1 - 0.999) g^2. */
    for (int i = 0; i < TINY_N; i++) {
        double g = (double)tiny_g[i];
        /* ratios, since the betas are floats (0.999f = 0.99900001287) */
        expect_close("adam m1 / g", i, (double)opt.m[i] / g, 0.1, 1e-7);
        expect_close("adam v1 / g^2", i, (double)opt.v[i] / (g * g), 0.001, 2e-7);
    }
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    ck_assert_int_eq(opt.step, 3);
    const double want[TINY_N] = {0.7, -2.3, 0.8, -0.05, -1.2};
    expect_data("adam constant grad", &p, want, 2e-6);
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__adam_literal_sign_flip) {
    /* Step 1 with g, step 2 with -g (b1 .9, b2 .999, lr .1):
     * m2 = .9 * .1 g - .1 g = -.01 g, bc1 = 1 - .81 = .19, m_hat = -g / 19;
     * v2 = .999 * .001 g^2 + .001 g^2 = .001999 g^2 = bc2 g^2, v_hat = g^2.
     * So w2 = w0 - .1 sign(g) + (.1 / 19) sign(g) = w0 - (1.8 / 19) sign(g). */
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_ADAM);
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    for (int i = 0; i < TINY_N; i++) {
        p.grad[i] = -tiny_g[i];
    }
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    expect_close("adam flip", 0, (double)p.data[0], 0.905263158, 2e-6);
    for (int i = 0; i < TINY_N; i++) {
        double want = (double)tiny_w0[i] - 1.8 / 19.0 * sign((double)tiny_g[i]);
        expect_close("adam flip", i, (double)p.data[i], want, 2e-6);
    }
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__adamw_literal) {
    /* lr .1, wd .1, constant grad: w <- .99 w - .1 sign(g); the NO_DECAY b only moves.
     * w=1, g>0: .89, then .8811 - .1 = .7811. w=-2, g>0: -2.08, -2.1592. b=.5, g<0: .6, .7. */
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_ADAMW);
    c.weight_decay = 0.1f;
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    expect_close("adamw step 1", 0, (double)p.data[0], 0.89, 2e-6);
    expect_close("adamw step 1 no_decay", 2, (double)p.data[2], 0.6, 2e-6);
    ck_assert_int_eq(nas_optim_step(&opt, 0.1f), NAS_OK);
    expect_close("adamw step 2", 0, (double)p.data[0], 0.7811, 2e-6);
    expect_close("adamw step 2", 1, (double)p.data[1], -2.1592, 2e-6);
    expect_close("adamw step 2 no_decay", 2, (double)p.data[2], 0.7, 2e-6);
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

/* Adam (L2) and AdamW (decoupled), changing gradients and learning rates, against the double
 * reference including the moments; NO_DECAY excluded in both. */
START_TEST(test_nn__adam_matches_reference) {
    const nas_optim_kind kinds[2] = {NAS_OPTIM_ADAM, NAS_OPTIM_ADAMW};
    for (int k = 0; k < 2; k++) {
        nas_params p;
        tiny_params(&p);
        nas_optim opt;
        nas_optim_config c = nas_optim_defaults(kinds[k]);
        c.beta1 = 0.8f;
        c.beta2 = 0.99f;
        c.eps = 1e-3f; /* large enough to matter */
        c.weight_decay = 0.3f;
        ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
        double w[TINY_N], m[TINY_N] = {0}, v[TINY_N] = {0}, g[TINY_N];
        for (int i = 0; i < TINY_N; i++) {
            w[i] = (double)tiny_w0[i];
        }
        const float lrs[3] = {0.05f, 0.1f, 0.02f};
        const float gscale[3] = {1.0f, -0.5f, 0.01f};
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < TINY_N; i++) {
                p.grad[i] = tiny_g[i] * gscale[s] + 0.1f * (float)i;
                g[i] = (double)p.grad[i];
            }
            ck_assert_int_eq(nas_optim_step(&opt, lrs[s]), NAS_OK);
            ref_adam(w, m, v, g, tiny_decays, TINY_N, s + 1, (double)lrs[s], (double)c.beta1,
                     (double)c.beta2, (double)c.eps, (double)c.weight_decay,
                     kinds[k] == NAS_OPTIM_ADAMW);
        }
        const char *what = nas_optim_kind_name(kinds[k]);
        expect_data(what, &p, w, 2e-6);
        for (int i = 0; i < TINY_N; i++) {
            expect_close("adam m", i, (double)opt.m[i], m[i], 1e-6);
            expect_close("adam v", i, (double)opt.v[i], v[i], 1e-6);
        }
        nas_optim_free(&opt);
        nas_params_free(&p);
    }
}
END_TEST

/* Large tensors take the OpenMP path; decaying and NO_DECAY ranges both exceed the threshold. */
START_TEST(test_nn__large_block_matches_reference) {
    const int64_t s0[1] = {150000}, s1[1] = {70000}, s2[1] = {1000};
    const nas_optim_kind kinds[3] = {NAS_OPTIM_SGD, NAS_OPTIM_ADAM, NAS_OPTIM_ADAMW};
    for (int k = 0; k < 3; k++) {
        nas_params p;
        nas_params_init(&p);
        ck_assert_ptr_nonnull(nas_params_add(&p, "a", 1, s0, 0));
        ck_assert_ptr_nonnull(nas_params_add(&p, "nd", 1, s1, NAS_TENSOR_NO_DECAY));
        ck_assert_ptr_nonnull(nas_params_add(&p, "c", 1, s2, 0));
        ck_assert_int_eq(nas_params_finalize(&p), NAS_OK);
        const int n = (int)p.numel;
        double *w = calloc((size_t)n, sizeof *w), *m = calloc((size_t)n, sizeof *m);
        double *v = calloc((size_t)n, sizeof *v), *g = calloc((size_t)n, sizeof *g);
        bool *decays = calloc((size_t)n, sizeof *decays);
        ck_assert(w && m && v && g && decays);
        nas_rng r;
        nas_rng_seed(&r, 11);
        for (int i = 0; i < n; i++) {
            p.data[i] = nas_rng_normal(&r);
            w[i] = (double)p.data[i];
            decays[i] = i < s0[0] || i >= s0[0] + s1[0];
        }
        nas_optim opt;
        nas_optim_config c = nas_optim_defaults(kinds[k]);
        c.momentum = 0.9f;
        c.nesterov = true;
        c.weight_decay = 0.1f;
        ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < n; i++) {
                p.grad[i] = nas_rng_normal(&r);
                g[i] = (double)p.grad[i];
            }
            ck_assert_int_eq(nas_optim_step(&opt, 0.01f), NAS_OK);
            if (kinds[k] == NAS_OPTIM_SGD) {
                ref_sgd(w, m, g, decays, n, 0.01, 0.1, 0.9, true);
            } else {
                ref_adam(w, m, v, g, decays, n, s + 1, 0.01, 0.9, 0.999, 1e-8, 0.1,
                         kinds[k] == NAS_OPTIM_ADAMW);
            }
        }
        int bad = 0;
        for (int i = 0; i < n; i++) {
            double scale = fabs(w[i]) > 1.0 ? fabs(w[i]) : 1.0;
            bad += fabs((double)p.data[i] - w[i]) > 1e-5 * scale;
        }
        ck_assert_msg(bad == 0, "%s: %d of %d elements differ from the reference",
                      nas_optim_kind_name(kinds[k]), bad, n);
        nas_optim_free(&opt);
        nas_params_free(&p);
        free(w);
        free(m);
        free(v);
        free(g);
        free(decays);
    }
}
END_TEST

/* Saving step + state and restoring them into a fresh optimizer continues bit-identically. */
START_TEST(test_nn__state_checkpoint_round_trip) {
    nas_params a, b, fresh;
    tiny_params(&a);
    nas_optim oa;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_ADAMW);
    ck_assert_int_eq(nas_optim_init(&oa, &a, &c), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&oa, 0.05f), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&oa, 0.05f), NAS_OK);

    /* "checkpoint": weights, step and state copied out and into a new block + optimizer */
    tiny_params(&b);
    tiny_params(&fresh);
    memcpy(b.data, a.data, sizeof(float) * TINY_N);
    memcpy(fresh.data, a.data, sizeof(float) * TINY_N);
    nas_optim ob, of;
    ck_assert_int_eq(nas_optim_init(&ob, &b, &c), NAS_OK);
    ck_assert_int_eq(nas_optim_init(&of, &fresh, &c), NAS_OK);
    ck_assert_int_eq(ob.state_numel, oa.state_numel);
    ob.step = oa.step;
    memcpy(ob.state, oa.state, (size_t)oa.state_numel * sizeof(float));

    for (int s = 0; s < 2; s++) {
        ck_assert_int_eq(nas_optim_step(&oa, 0.05f), NAS_OK);
        ck_assert_int_eq(nas_optim_step(&ob, 0.05f), NAS_OK);
        ck_assert_int_eq(nas_optim_step(&of, 0.05f), NAS_OK);
    }
    ck_assert_int_eq(ob.step, 4);
    ck_assert(memcmp(a.data, b.data, sizeof(float) * TINY_N) == 0);
    ck_assert(memcmp(oa.state, ob.state, (size_t)oa.state_numel * sizeof(float)) == 0);
    /* Without the restored state the trajectory differs. */
    ck_assert(memcmp(a.data, fresh.data, sizeof(float) * TINY_N) != 0);

    nas_optim_reset(&ob);
    ck_assert_int_eq(ob.step, 0);
    for (int64_t i = 0; i < ob.state_numel; i++) {
        ck_assert(ob.state[i] == 0.0f);
    }
    nas_optim_free(&oa);
    nas_optim_free(&ob);
    nas_optim_free(&of);
    nas_params_free(&a);
    nas_params_free(&b);
    nas_params_free(&fresh);
}
END_TEST

/* ---- validation ---------------------------------------------------------------------------- */

static void expect_invalid(const nas_optim_config *c, const char *needle) {
    nas_error_clear();
    ck_assert_int_eq(nas_optim_config_validate(c), NAS_EINVAL);
    ck_assert_msg(strstr(nas_errmsg(), needle) != NULL, "message '%s' lacks '%s'", nas_errmsg(),
                  needle);
}

START_TEST(test_nn__config_validation) {
    for (int k = 0; k < NAS_OPTIM_KIND_COUNT; k++) {
        nas_optim_config d = nas_optim_defaults((nas_optim_kind)k);
        ck_assert_int_eq(nas_optim_config_validate(&d), NAS_OK);
    }
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_SGD);
    c.momentum = -0.1f;
    expect_invalid(&c, "momentum");
    c = nas_optim_defaults(NAS_OPTIM_SGD);
    c.nesterov = true;
    expect_invalid(&c, "nesterov");
    c = nas_optim_defaults(NAS_OPTIM_SGD);
    c.weight_decay = -1e-4f;
    expect_invalid(&c, "weight_decay");
    c = nas_optim_defaults(NAS_OPTIM_ADAMW);
    c.weight_decay = NAN;
    expect_invalid(&c, "weight_decay");
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    c.beta1 = 1.0f;
    expect_invalid(&c, "beta1");
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    c.beta1 = -0.1f;
    expect_invalid(&c, "beta1");
    c = nas_optim_defaults(NAS_OPTIM_ADAMW);
    c.beta2 = 1.0f;
    expect_invalid(&c, "beta2");
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    c.eps = 0.0f;
    expect_invalid(&c, "eps");
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    c.eps = -1e-8f;
    expect_invalid(&c, "eps");
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    c.kind = (nas_optim_kind)7;
    expect_invalid(&c, "unknown");
    /* beta1 = 0 is legal (RMSprop-like). */
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    c.beta1 = 0.0f;
    ck_assert_int_eq(nas_optim_config_validate(&c), NAS_OK);

    /* init refuses a bad config and leaves the optimizer empty */
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    c.eps = 0.0f;
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_EINVAL);
    ck_assert_ptr_null(opt.state);
    ck_assert_ptr_null(opt.params);
    nas_optim_free(&opt);

    /* negative / NaN learning rate: refused, nothing changes */
    c = nas_optim_defaults(NAS_OPTIM_SGD);
    ck_assert_int_eq(nas_optim_init(&opt, &p, &c), NAS_OK);
    ck_assert_int_eq(nas_optim_step(&opt, -0.1f), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "learning rate"));
    ck_assert_int_eq(nas_optim_step(&opt, NAN), NAS_EINVAL);
    ck_assert(memcmp(p.data, tiny_w0, sizeof tiny_w0) == 0);
    ck_assert_int_eq(opt.step, 0);
    nas_optim_free(&opt);
    nas_params_free(&p);

    /* unfinalized params */
    nas_params q;
    nas_params_init(&q);
    const int64_t s1[1] = {3};
    ck_assert_ptr_nonnull(nas_params_add(&q, "x", 1, s1, 0));
    ck_assert_int_eq(nas_optim_init(&opt, &q, &c), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "finalize"));
    nas_params_free(&q);
}
END_TEST

START_TEST(test_nn__init_out_of_memory) {
    nas_params p;
    tiny_params(&p);
    nas_optim opt;
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_ADAM);
    nas_fault_inject(1);
    nas_status st = nas_optim_init(&opt, &p, &c);
    nas_fault_inject(0);
    ck_assert_int_eq(st, NAS_ENOMEM);
    ck_assert_ptr_null(opt.state);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "optim"));
    nas_optim_free(&opt);
    nas_params_free(&p);
}
END_TEST

/* ---- schedules ----------------------------------------------------------------------------- */

static void expect_lr(const nas_schedule *s, int64_t step, double want) {
    double got = (double)nas_schedule_lr(s, step);
    ck_assert_msg(fabs(got - want) <= 1e-7 + 1e-6 * fabs(want), "lr(%lld): got %.9g, want %.9g",
                  (long long)step, got, want);
}

START_TEST(test_nn__schedule_constant_and_warmup) {
    nas_schedule s = nas_schedule_constant(0.1f, 0);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_OK);
    expect_lr(&s, 0, 0.1);
    expect_lr(&s, 12345, 0.1);
    s = nas_schedule_constant(0.1f, 4);
    expect_lr(&s, -3, 0.025); /* negative steps count as 0 */
    expect_lr(&s, 0, 0.025);
    expect_lr(&s, 1, 0.05);
    expect_lr(&s, 3, 0.1);
    expect_lr(&s, 4, 0.1);
}
END_TEST

START_TEST(test_nn__schedule_cosine) {
    nas_schedule s = nas_schedule_cosine(0.1f, 100, 0.001f, 0);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_OK);
    expect_lr(&s, 0, 0.1);                              /* start */
    expect_lr(&s, 25, 0.001 + 0.099 * 0.853553390593);  /* (1 + cos(pi/4)) / 2 */
    expect_lr(&s, 50, 0.0505);                          /* middle: (base + eta_min) / 2 */
    expect_lr(&s, 75, 0.001 + 0.099 * 0.146446609407);  /* (1 + cos(3pi/4)) / 2 */
    expect_lr(&s, 100, 0.001);                          /* end */
    expect_lr(&s, 1000, 0.001);                         /* stays at eta_min */
    ck_assert((double)nas_schedule_lr(&s, 99) > 0.001); /* last step is still above the floor */

    /* with warmup: 10 warmup steps then 100 cosine steps */
    s = nas_schedule_cosine(0.1f, 110, 0.0f, 10);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_OK);
    expect_lr(&s, 0, 0.01);
    expect_lr(&s, 4, 0.05);
    expect_lr(&s, 9, 0.1);
    expect_lr(&s, 10, 0.1);
    expect_lr(&s, 60, 0.05);
    expect_lr(&s, 110, 0.0);
    /* monotone after the warmup */
    for (int64_t t = 11; t <= 110; t++) {
        ck_assert(nas_schedule_lr(&s, t) <= nas_schedule_lr(&s, t - 1));
    }
}
END_TEST

START_TEST(test_nn__schedule_step_decay) {
    nas_schedule s = nas_schedule_step(0.1f, 30, 0.1f, 0);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_OK);
    expect_lr(&s, 0, 0.1);
    expect_lr(&s, 29, 0.1);
    expect_lr(&s, 30, 0.01);
    expect_lr(&s, 59, 0.01);
    expect_lr(&s, 65, 0.001);
    s = nas_schedule_step(0.2f, 10, 0.5f, 5);
    expect_lr(&s, 0, 0.04);
    expect_lr(&s, 4, 0.2);
    expect_lr(&s, 14, 0.2); /* decay counts from the end of the warmup */
    expect_lr(&s, 15, 0.1);
    expect_lr(&s, 35, 0.025);
}
END_TEST

START_TEST(test_nn__schedule_validation) {
    nas_schedule s = nas_schedule_cosine(0.1f, 10, 0.0f, 10);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "total_steps"));
    s = nas_schedule_cosine(0.1f, 100, -0.1f, 0);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "eta_min"));
    s = nas_schedule_step(0.1f, 0, 0.1f, 0);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "step_size"));
    s = nas_schedule_step(0.1f, 10, 0.0f, 0);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "gamma"));
    s = nas_schedule_constant(-1.0f, 0);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "base_lr"));
    s = nas_schedule_constant(0.1f, -1);
    ck_assert_int_eq(nas_schedule_validate(&s), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "warmup_steps"));
}
END_TEST

/* ---- clipping and NaN detection ------------------------------------------------------------ */

/* "a" [2] grads {3, 0}, "b" [1] grad {4}: global norm 5. */
static void clip_params(nas_params *p) {
    const int64_t s2[1] = {2}, s1[1] = {1};
    nas_params_init(p);
    ck_assert_ptr_nonnull(nas_params_add(p, "a", 1, s2, 0));
    ck_assert_ptr_nonnull(nas_params_add(p, "b", 1, s1, NAS_TENSOR_NO_DECAY));
    ck_assert_int_eq(nas_params_finalize(p), NAS_OK);
    p->grad[0] = 3.0f;
    p->grad[1] = 0.0f;
    p->grad[2] = 4.0f;
}

START_TEST(test_nn__clip_small) {
    nas_params p;
    clip_params(&p);
    ck_assert_double_eq_tol(nas_grad_norm(&p), 5.0, 1e-12);
    /* below the limit: untouched */
    ck_assert_double_eq_tol(nas_grad_clip_norm(&p, 10.0f), 5.0, 1e-12);
    ck_assert(p.grad[0] == 3.0f && p.grad[1] == 0.0f && p.grad[2] == 4.0f);
    /* disabled */
    ck_assert_double_eq_tol(nas_grad_clip_norm(&p, 0.0f), 5.0, 1e-12);
    ck_assert(p.grad[0] == 3.0f && p.grad[2] == 4.0f);
    /* above: scaled by 1 / (5 + 1e-6), returns the pre-clip norm */
    ck_assert_double_eq_tol(nas_grad_clip_norm(&p, 1.0f), 5.0, 1e-12);
    ck_assert_double_eq_tol((double)p.grad[0], 3.0 / (5.0 + 1e-6), 1e-7);
    ck_assert(p.grad[1] == 0.0f);
    ck_assert_double_eq_tol((double)p.grad[2], 4.0 / (5.0 + 1e-6), 1e-7);
    ck_assert_double_eq_tol(nas_grad_norm(&p), 1.0, 1e-6);
    ck_assert(nas_grad_norm(&p) < 1.0); /* the 1e-6 keeps it just under */
    /* exactly at the limit: coef = 5 / (5 + 1e-6) < 1 still applies (PyTorch) */
    nas_params_free(&p);
    clip_params(&p);
    nas_grad_clip_norm(&p, 5.0f);
    ck_assert((double)p.grad[2] < 4.0);
    ck_assert_double_eq_tol((double)p.grad[2], 4.0 * 5.0 / (5.0 + 1e-6), 1e-6);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__clip_large_and_deterministic) {
    nas_params p;
    nas_params_init(&p);
    const int64_t s[2] = {400, 500};
    ck_assert_ptr_nonnull(nas_params_add(&p, "w", 2, s, 0));
    ck_assert_int_eq(nas_params_finalize(&p), NAS_OK);
    const int64_t n = p.numel; /* 200000 */
    for (int64_t i = 0; i < n; i++) {
        p.grad[i] = (i % 2) ? 0.5f : -0.5f;
    }
    double want = 0.5 * sqrt((double)n);
    ck_assert_double_eq_tol(nas_grad_norm(&p), want, 1e-9 * want);

    nas_rng r;
    nas_rng_seed(&r, 5);
    for (int64_t i = 0; i < n; i++) {
        p.grad[i] = nas_rng_normal(&r);
    }
    int saved = nas_get_threads();
    nas_set_threads(1);
    double n1 = nas_grad_norm(&p);
    nas_set_threads(2);
    double n2 = nas_grad_norm(&p);
    nas_set_threads(saved);
    ck_assert(n1 == n2); /* bit-identical whatever the thread count */

    float g7 = p.grad[7];
    double pre = nas_grad_clip_norm(&p, 1.0f);
    ck_assert(pre == n1);
    ck_assert_double_eq_tol(nas_grad_norm(&p), 1.0, 1e-5);
    ck_assert_double_eq_tol((double)p.grad[7], (double)g7 / (n1 + 1e-6), 1e-7);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__nonfinite_detection) {
    nas_params p;
    clip_params(&p);
    ck_assert(!nas_grad_nonfinite(&p));
    p.grad[1] = NAN;
    ck_assert(nas_grad_nonfinite(&p));
    /* clipping a NaN norm returns it and leaves the gradients alone */
    ck_assert(isnan(nas_grad_clip_norm(&p, 1.0f)));
    ck_assert(p.grad[0] == 3.0f && p.grad[2] == 4.0f);
    p.grad[1] = INFINITY;
    ck_assert(nas_grad_nonfinite(&p));
    p.grad[1] = -INFINITY;
    ck_assert(nas_grad_nonfinite(&p));
    p.grad[1] = 1e38f; /* huge but finite: the double norm does not overflow */
    ck_assert(!nas_grad_nonfinite(&p));
    ck_assert(isfinite(nas_grad_norm(&p)));
    nas_params_free(&p);

    /* large block: one bad value in the middle, and one at the very end */
    nas_params q;
    nas_params_init(&q);
    const int64_t s[1] = {100003};
    ck_assert_ptr_nonnull(nas_params_add(&q, "x", 1, s, 0));
    ck_assert_int_eq(nas_params_finalize(&q), NAS_OK);
    ck_assert(!nas_grad_nonfinite(&q));
    q.grad[50001] = NAN;
    ck_assert(nas_grad_nonfinite(&q));
    q.grad[50001] = 0.0f;
    q.grad[100002] = INFINITY;
    ck_assert(nas_grad_nonfinite(&q));
    nas_params_free(&q);
}
END_TEST

/* ---- initialisers -------------------------------------------------------------------------- */

typedef struct stats {
    double mean, std, min, max;
} stats;

static stats tensor_stats(const nas_tensor *t) {
    stats s = {0.0, 0.0, INFINITY, -INFINITY};
    double sum = 0.0, sum2 = 0.0;
    for (int64_t i = 0; i < t->numel; i++) {
        double x = (double)t->data[i];
        sum += x;
        sum2 += x * x;
        s.min = x < s.min ? x : s.min;
        s.max = x > s.max ? x : s.max;
    }
    double n = (double)t->numel;
    s.mean = sum / n;
    s.std = sqrt(sum2 / n - s.mean * s.mean);
    return s;
}

/* Mean within 5 standard errors of 0, std within 2 %. */
static void expect_moments(const char *what, const nas_tensor *t, double want_std) {
    stats s = tensor_stats(t);
    double se = want_std / sqrt((double)t->numel);
    ck_assert_msg(fabs(s.mean) < 5.0 * se, "%s: mean %g, standard error %g", what, s.mean, se);
    ck_assert_msg(fabs(s.std / want_std - 1.0) < 0.02, "%s: std %g, want %g", what, s.std,
                  want_std);
}

/* All values in [-bound, bound), and both ends approached (a real uniform, not a narrow one). */
static void expect_uniform(const char *what, const nas_tensor *t, double bound) {
    stats s = tensor_stats(t);
    ck_assert_msg(s.min >= -bound && s.max < bound, "%s: range [%g, %g] outside +-%g", what, s.min,
                  s.max, bound);
    ck_assert_msg(s.min < -0.99 * bound && s.max > 0.99 * bound, "%s: range [%g, %g] too narrow",
                  what, s.min, s.max);
    expect_moments(what, t, bound / sqrt(3.0));
}

START_TEST(test_nn__fans) {
    nas_params p;
    nas_params_init(&p);
    const int64_t lin[2] = {10, 20}, conv[4] = {64, 16, 3, 3}, dw[4] = {32, 1, 3, 3};
    const int64_t conv1d[3] = {8, 4, 5}, bias[1] = {10};
    nas_tensor *tl = nas_params_add(&p, "lin", 2, lin, 0);
    nas_tensor *tc = nas_params_add(&p, "conv", 4, conv, 0);
    nas_tensor *td = nas_params_add(&p, "dw", 4, dw, 0);
    nas_tensor *t3 = nas_params_add(&p, "c1d", 3, conv1d, 0);
    nas_tensor *tb = nas_params_add(&p, "bias", 1, bias, NAS_TENSOR_NO_DECAY);
    ck_assert(tl && tc && td && t3 && tb);
    int64_t fi = 0, fo = 0;
    ck_assert_int_eq(nas_init_fans(tl, &fi, &fo), NAS_OK);
    ck_assert_int_eq(fi, 20);
    ck_assert_int_eq(fo, 10);
    ck_assert_int_eq(nas_init_fans(tc, &fi, &fo), NAS_OK);
    ck_assert_int_eq(fi, 16 * 9);
    ck_assert_int_eq(fo, 64 * 9);
    ck_assert_int_eq(nas_init_fans(td, &fi, &fo), NAS_OK); /* depthwise: Cin/groups = 1 */
    ck_assert_int_eq(fi, 9);
    ck_assert_int_eq(fo, 288);
    ck_assert_int_eq(nas_init_fans(t3, &fi, NULL), NAS_OK);
    ck_assert_int_eq(fi, 20);
    ck_assert_int_eq(nas_init_fans(t3, NULL, &fo), NAS_OK);
    ck_assert_int_eq(fo, 40);
    ck_assert_int_eq(nas_init_fans(tb, &fi, &fo), NAS_ESHAPE);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "bias"));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "fewer than 2"));

    /* initialisers need data: before finalize they refuse */
    nas_rng r;
    nas_rng_seed(&r, 1);
    ck_assert_int_eq(nas_init_kaiming_normal(tc, &r, NAS_FAN_IN, 1.0f), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "finalize"));
    ck_assert_int_eq(nas_params_finalize(&p), NAS_OK);
    ck_assert_int_eq(nas_init_kaiming_normal(tb, &r, NAS_FAN_IN, 1.0f), NAS_ESHAPE);
    ck_assert_int_eq(nas_init_xavier_uniform(tb, &r, 1.0f), NAS_ESHAPE);
    ck_assert_int_eq(nas_init_default(tb, NULL, &r), NAS_ESHAPE);
    ck_assert_int_eq(nas_init_uniform(tb, &r, 1.0f, 1.0f), NAS_EINVAL);
    ck_assert_int_eq(nas_init_normal(tb, &r, 0.0f, -1.0f), NAS_EINVAL);
    ck_assert_int_eq(nas_init_kaiming_uniform(tc, &r, (nas_fan_mode)3, 1.0f), NAS_EINVAL);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__gains) {
    ck_assert_double_eq_tol((double)nas_init_gain(NAS_NONLIN_RELU, 0.0f), 1.41421356237, 1e-7);
    ck_assert_double_eq_tol((double)nas_init_gain(NAS_NONLIN_TANH, 0.0f), 5.0 / 3.0, 1e-7);
    ck_assert(nas_init_gain(NAS_NONLIN_LINEAR, 0.0f) == 1.0f);
    ck_assert(nas_init_gain(NAS_NONLIN_SIGMOID, 0.0f) == 1.0f);
    ck_assert_double_eq_tol((double)nas_init_gain(NAS_NONLIN_LEAKY_RELU, 0.01f), sqrt(2.0 / 1.0001),
                            1e-7);
    ck_assert_double_eq_tol((double)nas_init_gain(NAS_NONLIN_LEAKY_RELU, (float)sqrt(5.0)),
                            sqrt(1.0 / 3.0), 1e-7);
}
END_TEST

START_TEST(test_nn__init_statistics) {
    nas_params p;
    nas_params_init(&p);
    const int64_t conv[4] = {128, 64, 3, 3}, lin[2] = {256, 512}, xav[2] = {300, 500};
    const int64_t lw[2] = {64, 256}, lb[1] = {64}, cw[4] = {32, 16, 3, 3}, cb[1] = {32};
    nas_tensor *tc = nas_params_add(&p, "conv", 4, conv, 0);
    nas_tensor *tl = nas_params_add(&p, "lin", 2, lin, 0);
    nas_tensor *tx = nas_params_add(&p, "xav", 2, xav, 0);
    nas_tensor *tlw = nas_params_add(&p, "lw", 2, lw, 0);
    nas_tensor *tlb = nas_params_add(&p, "lb", 1, lb, NAS_TENSOR_NO_DECAY);
    nas_tensor *tcw = nas_params_add(&p, "cw", 4, cw, 0);
    nas_tensor *tcb = nas_params_add(&p, "cb", 1, cb, NAS_TENSOR_NO_DECAY);
    ck_assert(tc && tl && tx && tlw && tlb && tcw && tcb);
    ck_assert_int_eq(nas_params_finalize(&p), NAS_OK);
    nas_rng r;
    nas_rng_seed(&r, 2024);
    const float relu = nas_init_gain(NAS_NONLIN_RELU, 0.0f);

    ck_assert_int_eq(nas_init_kaiming_normal(tc, &r, NAS_FAN_IN, relu), NAS_OK);
    expect_moments("kaiming_normal fan_in", tc, sqrt(2.0) / sqrt(64.0 * 9.0));
    ck_assert_int_eq(nas_init_kaiming_normal(tc, &r, NAS_FAN_OUT, relu), NAS_OK);
    expect_moments("kaiming_normal fan_out", tc, sqrt(2.0) / sqrt(128.0 * 9.0));

    ck_assert_int_eq(nas_init_kaiming_uniform(tl, &r, NAS_FAN_IN, relu), NAS_OK);
    expect_uniform("kaiming_uniform fan_in", tl, sqrt(6.0 / 512.0));
    ck_assert_int_eq(nas_init_kaiming_uniform(tl, &r, NAS_FAN_OUT, relu), NAS_OK);
    expect_uniform("kaiming_uniform fan_out", tl, sqrt(6.0 / 256.0));

    ck_assert_int_eq(nas_init_xavier_normal(tx, &r, 1.0f), NAS_OK);
    expect_moments("xavier_normal", tx, sqrt(2.0 / 800.0));
    ck_assert_int_eq(nas_init_xavier_uniform(tx, &r, nas_init_gain(NAS_NONLIN_TANH, 0.0f)), NAS_OK);
    expect_uniform("xavier_uniform tanh", tx, 5.0 / 3.0 * sqrt(6.0 / 800.0));

    /* PyTorch default Linear(256 -> 64): weight and bias uniform in +-1/sqrt(256) = +-1/16 */
    ck_assert_int_eq(nas_init_default(tlw, tlb, &r), NAS_OK);
    expect_uniform("default linear weight", tlw, 1.0 / 16.0);
    stats sb = tensor_stats(tlb);
    ck_assert(sb.min >= -1.0 / 16.0 && sb.max < 1.0 / 16.0);
    ck_assert(sb.max - sb.min > 1.0 / 16.0); /* spread over the range, not constant */
    /* Conv2d(16 -> 32, 3x3): fan_in 144, bound 1/12 */
    ck_assert_int_eq(nas_init_default(tcw, tcb, &r), NAS_OK);
    stats sw = tensor_stats(tcw);
    ck_assert(sw.min >= -1.0 / 12.0 && sw.max < 1.0 / 12.0);
    ck_assert(sw.min < -0.95 / 12.0 && sw.max > 0.95 / 12.0);
    sb = tensor_stats(tcb);
    ck_assert(sb.min >= -1.0 / 12.0 && sb.max < 1.0 / 12.0);
    ck_assert(sb.max - sb.min > 1.0 / 12.0);

    /* plain normal / uniform */
    ck_assert_int_eq(nas_init_normal(tx, &r, 0.0f, 0.02f), NAS_OK);
    expect_moments("normal 0.02", tx, 0.02);
    ck_assert_int_eq(nas_init_uniform(tx, &r, -0.5f, 0.5f), NAS_OK);
    expect_uniform("uniform 0.5", tx, 0.5);
    ck_assert_int_eq(nas_init_uniform(tlb, &r, 2.0f, 3.0f), NAS_OK);
    sb = tensor_stats(tlb);
    ck_assert(sb.min >= 2.0 && sb.max < 3.0);
    nas_params_free(&p);
}
END_TEST

START_TEST(test_nn__init_constant_and_determinism) {
    nas_params p;
    nas_params_init(&p);
    const int64_t s[2] = {16, 8};
    nas_tensor *a = nas_params_add(&p, "a", 2, s, 0);
    nas_tensor *b = nas_params_add(&p, "b", 2, s, 0);
    ck_assert(a && b);
    ck_assert_int_eq(nas_params_finalize(&p), NAS_OK);
    ck_assert_int_eq(nas_init_constant(a, 0.25f), NAS_OK);
    ck_assert_int_eq(nas_init_ones(b), NAS_OK);
    for (int64_t i = 0; i < a->numel; i++) {
        ck_assert(a->data[i] == 0.25f);
        ck_assert(b->data[i] == 1.0f);
    }
    ck_assert_int_eq(nas_init_zeros(a), NAS_OK);
    for (int64_t i = 0; i < a->numel; i++) {
        ck_assert(a->data[i] == 0.0f);
    }

    nas_rng r1, r2;
    nas_rng_seed(&r1, 99);
    nas_rng_seed(&r2, 99);
    ck_assert_int_eq(nas_init_kaiming_normal(a, &r1, NAS_FAN_IN, 1.0f), NAS_OK);
    ck_assert_int_eq(nas_init_kaiming_normal(b, &r2, NAS_FAN_IN, 1.0f), NAS_OK);
    ck_assert(memcmp(a->data, b->data, (size_t)a->numel * sizeof(float)) == 0);
    nas_rng_seed(&r2, 100);
    ck_assert_int_eq(nas_init_kaiming_normal(b, &r2, NAS_FAN_IN, 1.0f), NAS_OK);
    ck_assert(memcmp(a->data, b->data, (size_t)a->numel * sizeof(float)) != 0);
    nas_params_free(&p);
}
END_TEST

/* ---- end to end: minimise a quadratic ------------------------------------------------------ */

/* f(w) = 0.5 sum a_i (w_i - c_i)^2 over "w" [6] and "b" [2] (NO_DECAY); grad a_i (w_i - c_i).
 * Each step: gradient, NaN check, clip at norm 10, schedule, optimizer step. Returns the max
 * |w_i - c_i| after `steps` steps. */
static double minimise(const nas_optim_config *c, const nas_schedule *sched, int steps) {
    static const float a[8] = {0.5f, 1.0f, 2.0f, 1.5f, 0.7f, 1.2f, 0.9f, 1.8f};
    static const float target[8] = {1.0f, -2.0f, 0.5f, 3.0f, -0.25f, 0.0f, 2.0f, -1.0f};
    nas_params p;
    nas_params_init(&p);
    const int64_t s6[1] = {6}, s2[1] = {2};
    ck_assert_ptr_nonnull(nas_params_add(&p, "w", 1, s6, 0));
    ck_assert_ptr_nonnull(nas_params_add(&p, "b", 1, s2, NAS_TENSOR_NO_DECAY));
    ck_assert_int_eq(nas_params_finalize(&p), NAS_OK);
    ck_assert_int_eq(nas_schedule_validate(sched), NAS_OK);
    nas_optim opt;
    ck_assert_int_eq(nas_optim_init(&opt, &p, c), NAS_OK);
    double first_norm = 0.0, norm = 0.0;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 8; i++) {
            p.grad[i] = a[i] * (p.data[i] - target[i]);
        }
        ck_assert(!nas_grad_nonfinite(&p));
        norm = nas_grad_clip_norm(&p, 10.0f);
        if (s == 0) {
            first_norm = norm;
        }
        ck_assert_int_eq(nas_optim_step(&opt, nas_schedule_lr(sched, s)), NAS_OK);
    }
    ck_assert(norm < first_norm);
    double err = 0.0;
    for (int i = 0; i < 8; i++) {
        double e = fabs((double)p.data[i] - (double)target[i]);
        err = e > err ? e : err;
    }
    nas_optim_free(&opt);
    nas_params_free(&p);
    return err;
}

START_TEST(test_nn__quadratic_convergence) {
    nas_optim_config c = nas_optim_defaults(NAS_OPTIM_SGD);
    nas_schedule cst = nas_schedule_constant(0.1f, 0);
    double e = minimise(&c, &cst, 300);
    ck_assert_msg(e < 1e-4, "sgd: error %g", e);

    c.momentum = 0.9f;
    nas_schedule cst2 = nas_schedule_constant(0.05f, 5);
    e = minimise(&c, &cst2, 400);
    ck_assert_msg(e < 1e-4, "momentum: error %g", e);

    c.nesterov = true;
    e = minimise(&c, &cst2, 400);
    ck_assert_msg(e < 1e-4, "nesterov: error %g", e);

    nas_schedule cos = nas_schedule_cosine(0.1f, 1500, 0.0f, 20);
    c = nas_optim_defaults(NAS_OPTIM_ADAM);
    e = minimise(&c, &cos, 1500);
    ck_assert_msg(e < 1e-3, "adam: error %g", e);

    c = nas_optim_defaults(NAS_OPTIM_ADAMW);
    c.weight_decay = 1e-3f;
    e = minimise(&c, &cos, 1500);
    ck_assert_msg(e < 1e-2, "adamw: error %g", e);

    nas_schedule stp = nas_schedule_step(0.1f, 300, 0.3f, 0);
    e = minimise(&c, &stp, 1500);
    ck_assert_msg(e < 1e-2, "adamw step schedule: error %g", e);
}
END_TEST

Suite *nas_test_nn_suite(void) {
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("sgd");
    tcase_add_test(tc, test_nn__sgd_plain);
    tcase_add_test(tc, test_nn__sgd_momentum);
    tcase_add_test(tc, test_nn__sgd_nesterov);
    tcase_add_test(tc, test_nn__sgd_weight_decay_and_no_decay);
    tcase_add_test(tc, test_nn__sgd_matches_reference);
    suite_add_tcase(s, tc);

    tc = tcase_create("adam");
    tcase_add_test(tc, test_nn__adam_literal_constant_grad);
    tcase_add_test(tc, test_nn__adam_literal_sign_flip);
    tcase_add_test(tc, test_nn__adamw_literal);
    tcase_add_test(tc, test_nn__adam_matches_reference);
    suite_add_tcase(s, tc);

    tc = tcase_create("optimizer_state");
    tcase_add_test(tc, test_nn__large_block_matches_reference);
    tcase_add_test(tc, test_nn__state_checkpoint_round_trip);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, test_nn__config_validation);
    tcase_add_test(tc, test_nn__init_out_of_memory);
    tcase_add_test(tc, test_nn__schedule_validation);
    suite_add_tcase(s, tc);

    tc = tcase_create("schedule");
    tcase_add_test(tc, test_nn__schedule_constant_and_warmup);
    tcase_add_test(tc, test_nn__schedule_cosine);
    tcase_add_test(tc, test_nn__schedule_step_decay);
    suite_add_tcase(s, tc);

    tc = tcase_create("clipping");
    tcase_add_test(tc, test_nn__clip_small);
    tcase_add_test(tc, test_nn__clip_large_and_deterministic);
    tcase_add_test(tc, test_nn__nonfinite_detection);
    suite_add_tcase(s, tc);

    tc = tcase_create("init");
    tcase_add_test(tc, test_nn__fans);
    tcase_add_test(tc, test_nn__gains);
    tcase_add_test(tc, test_nn__init_statistics);
    tcase_add_test(tc, test_nn__init_constant_and_determinism);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("convergence");
    tcase_add_test(tc, test_nn__quadratic_convergence);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
