/*
 * Tests for src/rank: the LAPACK-backed Cholesky and eigen-decomposition, feature rows and the
 * pooled GHN embedding, ridge recovering a linear function, the GP interpolating with a sd that
 * grows away from the data, the pairwise model ordering a monotone target, the GP's log marginal
 * likelihood against a direct O(n^3) computation, cross-validated tau on monotone vs noise
 * targets, the missing-column rule, every refusal, and saving/loading (identical predictions,
 * corrupt bytes, identity mismatch).
 */
#include "test_suites.h"

#include "ghnas/container.h"
#include "ghnas/rank.h"
#include "rank/rank-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *const NAMES3[] = {"a", "b", "c"};
static const char *const NAMES4[] = {"a", "b", "c", "d"};

static double unif(nas_rng *r) {
    return (double)nas_rng_uniform(r);
}

static nas_rank_fit_config config(nas_rank_kind kind, int folds) {
    nas_rank_fit_config c = nas_rank_fit_config_default();
    c.kind = kind;
    c.cv_folds = folds;
    return c;
}

/* X[n, d] uniform in [0, 1) from seed. */
static double *random_rows(int n, int d, uint64_t seed) {
    nas_rng r;
    nas_rng_seed(&r, seed);
    double *X = malloc(sizeof *X * (size_t)n * (size_t)d);
    for (int i = 0; i < n * d; i++) {
        X[i] = unif(&r);
    }
    return X;
}

/* Determinant and inverse by Gauss-Jordan with partial pivoting (the direct way, for checks). */
static double gauss_jordan(double *a, double *inv, int n) {
    double det = 1.0;
    for (int i = 0; i < n * n; i++) {
        inv[i] = (i / n == i % n) ? 1.0 : 0.0;
    }
    for (int k = 0; k < n; k++) {
        int piv = k;
        for (int i = k + 1; i < n; i++) {
            piv = fabs(a[i * n + k]) > fabs(a[piv * n + k]) ? i : piv;
        }
        if (piv != k) {
            for (int j = 0; j < n; j++) {
                double t = a[k * n + j];
                a[k * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
                t = inv[k * n + j];
                inv[k * n + j] = inv[piv * n + j];
                inv[piv * n + j] = t;
            }
            det = -det;
        }
        const double p = a[k * n + k];
        det *= p;
        for (int j = 0; j < n; j++) {
            a[k * n + j] /= p;
            inv[k * n + j] /= p;
        }
        for (int i = 0; i < n; i++) {
            if (i == k) {
                continue;
            }
            const double f = a[i * n + k];
            for (int j = 0; j < n; j++) {
                a[i * n + j] -= f * a[k * n + j];
                inv[i * n + j] -= f * inv[k * n + j];
            }
        }
    }
    return det;
}

/* ---- linear algebra ------------------------------------------------------------------------- */

START_TEST(test_rank__cholesky_and_eigen) {
    enum { N = 6 };
    double B[N * N], A[N * N], L[N * N], E[N * N], w[N];
    nas_rng r;
    nas_rng_seed(&r, 3);
    for (int i = 0; i < N * N; i++) {
        B[i] = unif(&r) - 0.5;
    }
    for (int i = 0; i < N; i++) { /* A = B B' + I */
        for (int j = 0; j < N; j++) {
            double s = i == j ? 1.0 : 0.0;
            for (int k = 0; k < N; k++) {
                s += B[i * N + k] * B[j * N + k];
            }
            A[i * N + j] = s;
        }
    }
    memcpy(L, A, sizeof A);
    ck_assert_int_eq(nas_i_rank_chol(L, N), NAS_OK);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < N; k++) {
                s += L[i * N + k] * L[j * N + k];
            }
            ck_assert_double_eq_tol(s, A[i * N + j], 1e-12);
            if (j > i) {
                ck_assert(L[i * N + j] == 0.0);
            }
        }
    }
    /* solve A x = b */
    double b[N], x[N];
    for (int i = 0; i < N; i++) {
        b[i] = x[i] = (double)i - 2.0;
    }
    nas_i_rank_chol_solve(L, N, x);
    for (int i = 0; i < N; i++) {
        double s = 0.0;
        for (int k = 0; k < N; k++) {
            s += A[i * N + k] * x[k];
        }
        ck_assert_double_eq_tol(s, b[i], 1e-12);
    }
    /* log det against Gauss-Jordan */
    double tmp[N * N], inv[N * N];
    memcpy(tmp, A, sizeof A);
    ck_assert_double_eq_tol(nas_i_rank_chol_logdet(L, N), log(gauss_jordan(tmp, inv, N)), 1e-10);
    /* not positive definite */
    memcpy(L, A, sizeof A);
    L[0] = -1.0;
    ck_assert_int_eq(nas_i_rank_chol(L, N), NAS_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "positive definite"));
    /* eigenpairs: A v = w v, ascending, orthonormal rows */
    memcpy(E, A, sizeof A);
    ck_assert_int_eq(nas_i_rank_sym_eig(E, N, w), NAS_OK);
    for (int k = 0; k < N; k++) {
        if (k > 0) {
            ck_assert(w[k] >= w[k - 1]);
        }
        for (int i = 0; i < N; i++) {
            double s = 0.0;
            for (int j = 0; j < N; j++) {
                s += A[i * N + j] * E[k * N + j];
            }
            ck_assert_double_eq_tol(s, w[k] * E[k * N + i], 1e-10);
        }
        double nn = 0.0;
        for (int j = 0; j < N; j++) {
            nn += E[k * N + j] * E[k * N + j];
        }
        ck_assert_double_eq_tol(nn, 1.0, 1e-12);
    }
}
END_TEST

/* ---- features ------------------------------------------------------------------------------- */

START_TEST(test_rank__feature_rows) {
    nas_rank_input in = nas_rank_input_missing();
    ck_assert_int_eq(nas_rank_input_set(&in, "params", 1000.0), NAS_OK);
    ck_assert_int_eq(nas_rank_input_set(&in, "synflow", 1e30), NAS_OK);
    ck_assert_int_eq(nas_rank_input_set(&in, "ghn", 0.5), NAS_OK);
    ck_assert_int_eq(nas_rank_input_set(&in, "naswot", -(double)INFINITY), NAS_OK);
    ck_assert_int_eq(nas_rank_input_set(&in, "snip", -1.0), NAS_OK);
    ck_assert_int_eq(nas_rank_input_set(&in, "random", 1.0), NAS_ENOTFOUND);
    nas_rank_input stored = nas_rank_input_missing(); /* the name scores are stored under */
    ck_assert_int_eq(nas_rank_input_set(&stored, "ghn_acc", 0.25), NAS_OK);
    ck_assert_double_eq(stored.ghn_acc, 0.25);
    const double emb[3] = {0.1, (double)NAN, 0.3};
    in.embed = emb;
    ck_assert_int_eq(nas_rank_n_features(3), NAS_RANK_N_COLS + 3);
    double row[NAS_RANK_N_COLS + 3];
    ck_assert_int_eq(nas_rank_features(&in, 3, row), NAS_OK);
    ck_assert_double_eq_tol(row[NAS_RANK_COL_LOG_PARAMS], log(1000.0), 1e-12);
    ck_assert_double_eq_tol(row[NAS_RANK_COL_LOG_SYNFLOW], log(1e30), 1e-9);
    ck_assert_double_eq(row[NAS_RANK_COL_GHN_ACC], 0.5);
    ck_assert(isnan(row[NAS_RANK_COL_NASWOT]));   /* -inf is missing */
    ck_assert(isnan(row[NAS_RANK_COL_LOG_SNIP])); /* log of a non-positive value */
    ck_assert(isnan(row[NAS_RANK_COL_LOG_FLOPS]));
    ck_assert_double_eq(row[NAS_RANK_N_COLS], 0.1);
    ck_assert(isnan(row[NAS_RANK_N_COLS + 1]));
    char **names = NULL;
    ck_assert_int_eq(nas_rank_feature_names(3, &names), NAS_OK);
    ck_assert_str_eq(names[0], "log_params");
    ck_assert_str_eq(names[NAS_RANK_COL_NASWOT], "naswot");
    ck_assert_str_eq(names[NAS_RANK_N_COLS + 2], "emb_2");
    nas_free(names);
    ck_assert_int_eq(nas_rank_features(&in, -1, row), NAS_EINVAL);
}
END_TEST

START_TEST(test_rank__pooled_embedding) {
    nas_space sp;
    ck_assert_msg(nas_space_load(&sp, "nb201") == NAS_OK, "%s", nas_errmsg());
    nas_net_config nc = nas_net_config_default();
    nc.C = 4;
    nc.N = 1;
    nc.in_c = 1;
    nc.in_h = nc.in_w = 8;
    nc.classes = 10;
    nas_arch a;
    ck_assert_int_eq(
        nas_arch_decode(&sp,
                        "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|"
                        "nor_conv_1x1~2|",
                        &a),
        NAS_OK);
    nas_net net;
    ck_assert_msg(nas_net_compile(&net, &sp, &a, &nc) == NAS_OK, "%s", nas_errmsg());
    nas_ghn_config gc = nas_ghn_config_default();
    gc.hid = 8;
    gc.classes = 10;
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &gc, 5), NAS_OK);
    double pooled[8];
    ck_assert_msg(nas_rank_embed(&g, &net, pooled) == NAS_OK, "%s", nas_errmsg());
    /* the mean of nas_ghn_embed's rows */
    nas_ghn_graph gg;
    ck_assert_int_eq(nas_ghn_graph_build(&gg, &gc, &net), NAS_OK);
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    nas_tensor *e = nas_ghn_embed(&g, NULL, &t, &gg);
    ck_assert_ptr_nonnull(e);
    for (int k = 0; k < 8; k++) {
        double s = 0.0;
        for (int64_t v = 0; v < e->shape[0]; v++) {
            s += (double)e->data[v * 8 + k];
        }
        ck_assert(isfinite(pooled[k]));
        ck_assert_double_eq_tol(pooled[k], s / (double)e->shape[0], 1e-9);
    }
    nas_tape_free(&t);
    nas_ghn_graph_free(&gg);
    nas_ghn_free(&g);
    nas_net_free(&net);
}
END_TEST

/* ---- models --------------------------------------------------------------------------------- */

static double linear3(const double *x) {
    return 1.0 + 2.0 * x[0] - 1.0 * x[1] + 0.5 * x[2];
}

START_TEST(test_rank__ridge_recovers_a_linear_function) {
    const int n = 40, d = 3;
    double *X = random_rows(n, d, 11), y[40];
    for (int i = 0; i < n; i++) {
        y[i] = linear3(X + i * d);
    }
    nas_rank_fit_config fc = config(NAS_RANK_RIDGE, 5);
    nas_rank_model m;
    ck_assert_msg(nas_rank_fit(&fc, X, n, d, NAMES3, y, &m) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(m.p, 3);
    ck_assert(m.lambda <= 1e-2); /* noise-free: leave-one-out prefers little shrinkage */
    double *Xt = random_rows(10, d, 12), mean[10], sd[10];
    ck_assert_int_eq(nas_rank_predict(&m, Xt, 10, d, mean, sd), NAS_OK);
    for (int i = 0; i < 10; i++) {
        ck_assert_double_eq_tol(mean[i], linear3(Xt + i * d), 2e-3);
        ck_assert(sd[i] >= 0.0 && sd[i] < 1e-2);
    }
    ck_assert(m.cv_folds == 5 && m.cv_tau > 0.95 && m.cv_rho > 0.95);
    nas_rank_model_free(&m);
    free(X);
    free(Xt);
}
END_TEST

START_TEST(test_rank__gp_interpolates_and_sd_grows_away) {
    const int n = 15;
    double X[15], y[15];
    for (int i = 0; i < n; i++) {
        X[i] = (double)i / (double)(n - 1);
        y[i] = sin(6.0 * X[i]);
    }
    const char *const name[] = {"x"};
    nas_rank_fit_config fc = config(NAS_RANK_GP, 0);
    nas_rank_model m;
    ck_assert_msg(nas_rank_fit(&fc, X, n, 1, name, y, &m) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(m.cv_folds, 0);
    ck_assert(isnan(m.cv_tau));
    double mean[15], sd[15];
    ck_assert_int_eq(nas_rank_predict(&m, X, n, 1, mean, sd), NAS_OK);
    for (int i = 0; i < n; i++) {
        ck_assert_double_eq_tol(mean[i], y[i], 1e-2);
    }
    /* sd grows with the distance to the data */
    const double far[4] = {0.5, 1.2, 2.0, 5.0};
    double fm[4], fs[4];
    ck_assert_int_eq(nas_rank_predict(&m, far, 4, 1, fm, fs), NAS_OK);
    ck_assert(fs[0] < 0.05);
    ck_assert(fs[0] < fs[1] && fs[1] < fs[2] && fs[2] <= fs[3]);
    ck_assert(fs[3] > 0.3); /* far away: close to the prior sd */
    ck_assert(sd[7] < fs[1]);
    nas_rank_model_free(&m);
}
END_TEST

/* The GP objective against the Gaussian log density computed directly (inverse, determinant). */
START_TEST(test_rank__gp_log_marginal_likelihood_direct) {
    enum { N = 5, P = 2 };
    double *z = random_rows(N, P, 21);
    const double t[N] = {0.3, -1.2, 0.8, 0.1, -0.4};
    const double length = 0.7, ratio = 0.05;
    double chol[N * N], alpha[N], lml, s2;
    ck_assert_int_eq(nas_i_rank_gp_lml(z, N, P, t, length, ratio, chol, alpha, &lml, &s2), NAS_OK);
    /* log N(t; 0, K) with K = s * (R + ratio I), for s = s2 and around it */
    double direct[3];
    const double scale[3] = {1.0, 0.8, 1.25};
    for (int c = 0; c < 3; c++) {
        const double s = s2 * scale[c];
        double K[N * N], inv[N * N];
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                double dd = 0.0;
                for (int k = 0; k < P; k++) {
                    dd += (z[i * P + k] - z[j * P + k]) * (z[i * P + k] - z[j * P + k]);
                }
                K[i * N + j] = s * (exp(-dd / (2.0 * length * length)) + (i == j ? ratio : 0.0));
            }
        }
        const double det = gauss_jordan(K, inv, N);
        double q = 0.0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                q += t[i] * inv[i * N + j] * t[j];
            }
        }
        direct[c] = -0.5 * q - 0.5 * log(det) - 0.5 * N * log(2.0 * M_PI);
    }
    ck_assert_double_eq_tol(lml, direct[0], 1e-10);
    ck_assert(direct[0] > direct[1] && direct[0] > direct[2]); /* s2 is the maximiser */
    /* alpha = (R + ratio I)^-1 t: K alpha / s2 = t */
    free(z);
}
END_TEST

/* Out-of-fold tau of a monotone target is high, of pure noise near zero, for both models. */
START_TEST(test_rank__cv_tau_monotone_and_noise) {
    const int n = 60, d = 4;
    double *X = random_rows(n, d, 31), y[60], noise[60], pred[60];
    nas_rng r;
    nas_rng_seed(&r, 32);
    for (int i = 0; i < n; i++) {
        const double *x = X + i * d;
        y[i] = exp(2.0 * x[0]) + 0.5 * x[1] * x[1];
        noise[i] = unif(&r);
    }
    for (int kind = NAS_RANK_RIDGE; kind <= NAS_RANK_PAIRWISE; kind++) {
        nas_rank_fit_config fc = config((nas_rank_kind)kind, 5);
        double tau = 0.0, rho = 0.0;
        ck_assert_int_eq(nas_rank_cv(&fc, X, n, d, NAMES4, y, pred, &tau, &rho), NAS_OK);
        ck_assert_msg(tau > 0.75 && rho > 0.9, "%s: tau %g rho %g",
                      nas_rank_kind_name((nas_rank_kind)kind), tau, rho);
        for (int i = 0; i < n; i++) {
            ck_assert(isfinite(pred[i]));
        }
        ck_assert_int_eq(nas_rank_cv(&fc, X, n, d, NAMES4, noise, pred, &tau, &rho), NAS_OK);
        ck_assert_msg(fabs(tau) < 0.25, "%s on noise: tau %g",
                      nas_rank_kind_name((nas_rank_kind)kind), tau);
    }
    nas_rank_fit_config fc = config(NAS_RANK_GP, 1);
    ck_assert_int_eq(nas_rank_cv(&fc, X, n, d, NAMES4, y, pred, NULL, NULL), NAS_EINVAL);
    free(X);
}
END_TEST

/* The pairwise model orders a monotone (non-linear) function of one direction exactly and gives
 * no sd; its mean is in label units. */
START_TEST(test_rank__pairwise_orders_a_monotone_target) {
    const int n = 30, d = 3;
    double *X = random_rows(n, d, 71), y[30];
    for (int i = 0; i < n; i++) {
        const double s = X[i * d] - 0.5 * X[i * d + 1];
        y[i] = 0.9 + 0.05 * tanh(3.0 * s);
    }
    nas_rank_fit_config fc = config(NAS_RANK_PAIRWISE, 5);
    nas_rank_model m;
    ck_assert_msg(nas_rank_fit(&fc, X, n, d, NAMES3, y, &m) == NAS_OK, "%s", nas_errmsg());
    ck_assert(m.n_chol == 0 && m.chol == NULL);
    double mean[30], sd[30], tau;
    ck_assert_int_eq(nas_rank_predict(&m, X, n, d, mean, sd), NAS_OK);
    ck_assert_int_eq(nas_stats_kendall_tau(mean, y, n, &tau), NAS_OK);
    ck_assert_msg(tau > 0.95, "training tau %g", tau);
    double lo = 1.0, hi = 0.0;
    for (int i = 0; i < n; i++) {
        ck_assert(isnan(sd[i]));
        lo = mean[i] < lo ? mean[i] : lo;
        hi = mean[i] > hi ? mean[i] : hi;
    }
    ck_assert(lo > 0.8 && hi < 1.0); /* label units */
    ck_assert(m.cv_tau > 0.8);
    nas_rank_model_free(&m);
    free(X);
}
END_TEST

START_TEST(test_rank__missing_and_constant_columns) {
    const int n = 20, d = 4;
    double *X = random_rows(n, d, 41), y[20];
    for (int i = 0; i < n; i++) {
        y[i] = X[i * d + 0] + X[i * d + 1];
        X[i * d + 3] = 7.0; /* constant */
    }
    X[5 * d + 2] = (double)NAN; /* column c missing in one label row */
    for (int kind = NAS_RANK_RIDGE; kind <= NAS_RANK_PAIRWISE; kind++) {
        nas_rank_fit_config fc = config((nas_rank_kind)kind, 4);
        nas_rank_model m;
        ck_assert_msg(nas_rank_fit(&fc, X, n, d, NAMES4, y, &m) == NAS_OK, "%s", nas_errmsg());
        ck_assert(m.used[0] && m.used[1] && !m.used[2] && !m.used[3]);
        ck_assert_int_eq(m.p, 2);
        /* a missing value of a used column at predict time: the training mean */
        double row[4] = {0.5, (double)NAN, 0.1, 0.0}, mean, sd;
        ck_assert_int_eq(nas_rank_predict(&m, row, 1, d, &mean, &sd), NAS_OK);
        ck_assert(isfinite(mean));
        ck_assert(kind == NAS_RANK_PAIRWISE ? isnan(sd) : isfinite(sd));
        nas_rank_model_free(&m);
    }
    free(X);
}
END_TEST

START_TEST(test_rank__refusals) {
    const int d = 3;
    double *X = random_rows(10, d, 51), y[10];
    for (int i = 0; i < 10; i++) {
        y[i] = (double)i;
    }
    nas_rank_fit_config fc = config(NAS_RANK_GP, 5);
    nas_rank_model m;
    ck_assert_int_eq(nas_rank_fit(&fc, X, 2, d, NAMES3, y, &m), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "at least 3"));
    ck_assert_ptr_null(m.mu);
    y[4] = (double)NAN;
    ck_assert_int_eq(nas_rank_fit(&fc, X, 10, d, NAMES3, y, &m), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "label 4"));
    double c[10];
    for (int i = 0; i < 10; i++) {
        c[i] = 0.9;
    }
    ck_assert_int_eq(nas_rank_fit(&fc, X, 10, d, NAMES3, c, &m), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "equal"));
    y[4] = 4.0;
    ck_assert_int_eq(nas_rank_fit(&fc, X, 10, 0, NAMES3, y, &m), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "dimension mismatch"));
    ck_assert_int_eq(nas_rank_fit(&fc, X, 10, d, NULL, y, &m), NAS_EINVAL);
    fc.kind = (nas_rank_kind)9;
    ck_assert_int_eq(nas_rank_fit(&fc, X, 10, d, NAMES3, y, &m), NAS_EINVAL);
    nas_rank_kind k;
    ck_assert_int_eq(nas_rank_kind_parse("boosting", &k), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "ridge, gp, pairwise"));
    ck_assert_int_eq(nas_rank_kind_parse("ridge", &k), NAS_OK);
    ck_assert_int_eq(k, NAS_RANK_RIDGE);
    /* every column missing somewhere or constant */
    fc.kind = NAS_RANK_RIDGE;
    double *Xm = random_rows(10, d, 52);
    for (int i = 0; i < 10; i++) {
        Xm[i * d + 0] = 1.0;
    }
    Xm[1 * d + 1] = (double)NAN;
    Xm[2 * d + 2] = (double)NAN;
    ck_assert_int_eq(nas_rank_fit(&fc, Xm, 10, d, NAMES3, y, &m), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "no usable feature"));
    /* predict with another number of columns */
    ck_assert_int_eq(nas_rank_fit(&fc, X, 10, d, NAMES3, y, &m), NAS_OK);
    double mean[10];
    ck_assert_int_eq(nas_rank_predict(&m, X, 2, d - 1, mean, NULL), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "dimension mismatch"));
    nas_rank_model_free(&m);
    free(X);
    free(Xm);
}
END_TEST

/* ---- saving --------------------------------------------------------------------------------- */

/* Rows with 2 plain columns and 6 embedding columns of rank 3; the label depends on both. */
static void embed_data(int n, double **X, double *y, char ***names) {
    const int e = 6, d = NAS_RANK_N_COLS + e;
    ck_assert_int_eq(nas_rank_feature_names(e, names), NAS_OK);
    *X = malloc(sizeof **X * (size_t)n * (size_t)d);
    nas_rng r;
    nas_rng_seed(&r, 61);
    for (int i = 0; i < n; i++) {
        nas_rank_input in = nas_rank_input_missing();
        in.params = 1e4 * (1.0 + 9.0 * unif(&r));
        in.synflow = exp(40.0 * unif(&r));
        double lat[3] = {unif(&r), unif(&r), unif(&r)}, emb[6];
        for (int k = 0; k < e; k++) {
            emb[k] = lat[k % 3] * (k + 1) - 0.5 * lat[(k + 1) % 3];
        }
        in.embed = emb;
        ck_assert_int_eq(nas_rank_features(&in, e, *X + (size_t)i * (size_t)d), NAS_OK);
        y[i] = 0.8 + 0.01 * log(in.params) + 0.02 * lat[0] - 0.01 * lat[1];
    }
}

START_TEST(test_rank__save_load_round_trip) {
    const int n = 30, d = NAS_RANK_N_COLS + 6;
    double *X, y[30];
    char **names;
    embed_data(n, &X, y, &names);
    for (int kind = NAS_RANK_RIDGE; kind <= NAS_RANK_PAIRWISE; kind++) {
        nas_rank_fit_config fc = config((nas_rank_kind)kind, 5);
        snprintf(fc.id.space, sizeof fc.id.space, "nb201");
        snprintf(fc.id.dataset, sizeof fc.id.dataset, "fashion-mnist");
        fc.id.ghn_id = 3;
        int64_t ids[30];
        for (int i = 0; i < n; i++) {
            ids[i] = 100 + i;
        }
        fc.label_ids = kind == NAS_RANK_GP ? NULL : ids;
        nas_rank_model m, back;
        ck_assert_msg(nas_rank_fit(&fc, X, n, d, (const char *const *)names, y, &m) == NAS_OK, "%s",
                      nas_errmsg());
        ck_assert_int_eq(m.n_plain, 2); /* log_params, log_synflow */
        ck_assert_int_eq(m.n_emb, 6);
        ck_assert_int_eq(m.embed_k, 3);
        ck_assert_int_eq(m.p, 5);
        /* principal directions are orthonormal */
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                double s = 0.0;
                for (int k = 0; k < 6; k++) {
                    s += m.proj[a * 6 + k] * m.proj[b * 6 + k];
                }
                ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-10);
            }
        }
        ck_assert(m.cv_tau > 0.5);
        void *bytes = NULL;
        size_t nb = 0;
        ck_assert_int_eq(nas_rank_save(&m, &bytes, &nb), NAS_OK);
        nas_rank_identity want = fc.id;
        ck_assert_msg(nas_rank_load(bytes, nb, "test ranker", &want, &back) == NAS_OK, "%s",
                      nas_errmsg());
        ck_assert_int_eq(back.kind, m.kind);
        ck_assert_str_eq(back.names[NAS_RANK_N_COLS + 5], "emb_5");
        if (kind == NAS_RANK_GP) {
            ck_assert_ptr_null(back.label_ids);
        } else {
            ck_assert_ptr_nonnull(back.label_ids);
            ck_assert(back.label_ids[0] == 100 && back.label_ids[29] == 129);
        }
        ck_assert(back.cv_tau == m.cv_tau && back.lambda == m.lambda && back.lml == m.lml &&
                  back.intercept == m.intercept);
        double a_mean[30], a_sd[30], b_mean[30], b_sd[30];
        ck_assert_int_eq(nas_rank_predict(&m, X, n, d, a_mean, a_sd), NAS_OK);
        ck_assert_int_eq(nas_rank_predict(&back, X, n, d, b_mean, b_sd), NAS_OK);
        ck_assert(memcmp(a_mean, b_mean, sizeof a_mean) == 0);
        ck_assert(memcmp(a_sd, b_sd, sizeof a_sd) == 0);
        nas_rank_model_free(&back);
        /* no expectation: anything loads */
        ck_assert_int_eq(nas_rank_load(bytes, nb, "test ranker", NULL, &back), NAS_OK);
        nas_rank_model_free(&back);
        /* identity mismatches */
        snprintf(want.space, sizeof want.space, "nb101");
        ck_assert_int_eq(nas_rank_load(bytes, nb, "ranker 1", &want, &back), NAS_EINVAL);
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "'nb201'"));
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "'nb101'"));
        ck_assert_ptr_null(back.mu);
        want = fc.id;
        snprintf(want.dataset, sizeof want.dataset, "cifar10");
        ck_assert_int_eq(nas_rank_load(bytes, nb, "ranker 1", &want, &back), NAS_EINVAL);
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "cifar10"));
        want = fc.id;
        want.ghn_id = 4;
        ck_assert_int_eq(nas_rank_load(bytes, nb, "ranker 1", &want, &back), NAS_EINVAL);
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "GHN 3"));
        want.ghn_id = 0;
        ck_assert_int_eq(nas_rank_load(bytes, nb, "ranker 1", &want, &back), NAS_EINVAL);
        /* corrupt bytes: a flipped byte, a truncation, another kind */
        unsigned char *p = bytes;
        p[nb / 2] ^= 0x40;
        ck_assert_int_eq(nas_rank_load(bytes, nb, "ranker 1", NULL, &back), NAS_EFORMAT);
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "ranker 1"));
        p[nb / 2] ^= 0x40;
        ck_assert_int_eq(nas_rank_load(bytes, nb - 9, "ranker 1", NULL, &back), NAS_EFORMAT);
        ck_assert_int_eq(nas_rank_load(bytes, 5, "ranker 1", NULL, &back), NAS_EFORMAT);
        p[7] = 'X';
        ck_assert_int_eq(nas_rank_load(bytes, nb, "ranker 1", NULL, &back), NAS_EFORMAT);
        nas_free(bytes);
        nas_rank_model_free(&m);
    }
    free(X);
    nas_free(names);
}
END_TEST

/* Well-formed containers (valid CRC) whose content does not make a ranker. */
START_TEST(test_rank__inconsistent_rankers_refused) {
    const nas_ckpt_kind kind = {{'R', 'N', 'K', '\0'}, "ranker", NAS_RANK_CKPT_VERSION, "refit"};
    const nas_ckpt_kind newer = {{'R', 'N', 'K', '\0'}, "ranker", 99, "refit"};
    for (int c = 0; c < 3; c++) {
        nas_ckpt_writer w;
        nas_ckpt_writer_init(&w, c == 2 ? &newer : &kind);
        nas_ckpt_record_begin(&w, "identity");
        nas_ckpt_put_str(&w, "nb201");
        nas_ckpt_put_str(&w, "fashion-mnist");
        nas_ckpt_put_i64(&w, 0);
        nas_ckpt_record_end(&w);
        if (c == 0) { /* p != n_plain + embed_k */
            nas_ckpt_record_begin(&w, "model");
            const int32_t v[9] = {NAS_RANK_RIDGE, 3, 5, 7, 2, 0, 0, 7, 0};
            for (int i = 0; i < 9; i++) {
                nas_ckpt_put_i32(&w, v[i]);
            }
            for (int i = 0; i < 11; i++) {
                nas_ckpt_put_f64(&w, 1.0);
            }
            nas_ckpt_record_end(&w);
        }
        void *bytes;
        size_t nb;
        ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &nb), NAS_OK);
        nas_rank_model m;
        ck_assert_int_eq(nas_rank_load(bytes, nb, "ranker 5", NULL, &m), NAS_EFORMAT);
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "ranker 5"));
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), c == 0   ? "inconsistent"
                                                   : c == 1 ? "model"
                                                            : "version"));
        ck_assert_ptr_null(m.names);
        nas_free(bytes);
    }
}
END_TEST

/* Every allocation of fit, save, load and predict failing in turn: NAS_ENOMEM or success, never
 * a crash or a leak (the sanitizer build checks the leaks). */
START_TEST(test_rank__out_of_memory_everywhere) {
    const int n = 12, d = NAS_RANK_N_COLS + 6;
    double *X, y[12];
    char **names;
    embed_data(n, &X, y, &names);
    for (int kind = NAS_RANK_RIDGE; kind <= NAS_RANK_PAIRWISE; kind++) {
        nas_rank_fit_config fc = config((nas_rank_kind)kind, 3);
        const int64_t ids[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        fc.label_ids = ids;
        bool done = false;
        for (long k = 1; k < 2000 && !done; k++) {
            nas_rank_model m, back;
            memset(&back, 0, sizeof back);
            void *bytes = NULL;
            size_t nb = 0;
            double mean[12], sd[12];
            nas_fault_inject(k);
            nas_status st = nas_rank_fit(&fc, X, n, d, (const char *const *)names, y, &m);
            if (st == NAS_OK) {
                st = nas_rank_save(&m, &bytes, &nb);
            }
            if (st == NAS_OK) {
                st = nas_rank_load(bytes, nb, "ranker", NULL, &back);
            }
            if (st == NAS_OK) {
                st = nas_rank_predict(&back, X, n, d, mean, sd);
            }
            nas_fault_inject(0);
            ck_assert_msg(st == NAS_OK || st == NAS_ENOMEM, "%s, allocation %ld: %s",
                          nas_rank_kind_name((nas_rank_kind)kind), k, nas_errmsg());
            done = st == NAS_OK;
            nas_free(bytes);
            nas_rank_model_free(&m);
            nas_rank_model_free(&back);
        }
        ck_assert(done);
    }
    free(X);
    nas_free(names);
}
END_TEST

Suite *nas_test_rank_suite(void) {
    Suite *s = suite_create("rank");
    TCase *tc = tcase_create("linalg");
    tcase_add_test(tc, test_rank__cholesky_and_eigen);
    suite_add_tcase(s, tc);
    tc = tcase_create("features");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rank__feature_rows);
    tcase_add_test(tc, test_rank__pooled_embedding);
    suite_add_tcase(s, tc);
    tc = tcase_create("models");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rank__ridge_recovers_a_linear_function);
    tcase_add_test(tc, test_rank__gp_interpolates_and_sd_grows_away);
    tcase_add_test(tc, test_rank__gp_log_marginal_likelihood_direct);
    tcase_add_test(tc, test_rank__cv_tau_monotone_and_noise);
    tcase_add_test(tc, test_rank__pairwise_orders_a_monotone_target);
    tcase_add_test(tc, test_rank__missing_and_constant_columns);
    tcase_add_test(tc, test_rank__refusals);
    suite_add_tcase(s, tc);
    tc = tcase_create("saving");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rank__save_load_round_trip);
    tcase_add_test(tc, test_rank__inconsistent_rankers_refused);
    tcase_add_test(tc, test_rank__out_of_memory_everywhere);
    suite_add_tcase(s, tc);
    return s;
}
