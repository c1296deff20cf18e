/*
 * Ridge regression on standardised inputs and labels: w = (Z'Z + lambda I)^-1 Z't, lambda from a
 * log grid by exact leave-one-out error (residual / (1 - hat diagonal)); the sd of a prediction
 * is that of the fitted mean under the matching Bayesian model, s2 z'(Z'Z + lambda I)^-1 z, with
 * s2 the leave-one-out mean squared error.
 */
#include "rank-impl.h"

#include <math.h>
#include <string.h>

#define N_LAMBDA 13 /* 1e-3 .. 1e3 in half decades */

/* A = Z'Z + lambda I into a[p, p]. */
static void gram(const double *Z, int n, int p, double lambda, double *a) {
    memset(a, 0, sizeof *a * (size_t)p * (size_t)p);
    for (int i = 0; i < n; i++) {
        const double *zi = Z + (size_t)i * (size_t)p;
        for (int r = 0; r < p; r++) {
            for (int c = 0; c <= r; c++) {
                a[(size_t)r * (size_t)p + (size_t)c] += zi[r] * zi[c];
            }
        }
    }
    for (int r = 0; r < p; r++) {
        a[(size_t)r * (size_t)p + (size_t)r] += lambda;
        for (int c = 0; c < r; c++) {
            a[(size_t)c * (size_t)p + (size_t)r] = a[(size_t)r * (size_t)p + (size_t)c];
        }
    }
}

/* Weights and leave-one-out mean squared error for one lambda; L receives the factor. */
static nas_status ridge_one(const double *Z, const double *t, int n, int p, double lambda,
                            double *L, double *w, double *v, double *loo) {
    gram(Z, n, p, lambda, L);
    NAS_CHECK(nas_i_rank_chol(L, p));
    memset(w, 0, sizeof *w * (size_t)p);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < p; j++) {
            w[j] += Z[(size_t)i * (size_t)p + (size_t)j] * t[i];
        }
    }
    nas_i_rank_chol_solve(L, p, w);
    double sse = 0.0;
    for (int i = 0; i < n; i++) {
        const double *zi = Z + (size_t)i * (size_t)p;
        memcpy(v, zi, sizeof *v * (size_t)p);
        nas_i_rank_lsolve(L, p, v);
        double h = 0.0, fit = 0.0;
        for (int j = 0; j < p; j++) {
            h += v[j] * v[j];
            fit += zi[j] * w[j];
        }
        const double r = (t[i] - fit) / (1.0 - h > 1e-12 ? 1.0 - h : 1e-12);
        sse += r * r;
    }
    *loo = sse / (double)n;
    return NAS_OK;
}

nas_status nas_i_rank_ridge_fit(nas_rank_model *m, const double *z, const double *t) {
    const int n = m->n, p = m->p;
    nas_status st = NAS_OK;
    double *v = nas_malloc(sizeof *v * (size_t)p);
    m->w = nas_malloc(sizeof *m->w * (size_t)p);
    m->chol = nas_malloc(sizeof *m->chol * (size_t)p * (size_t)p);
    if (!v || !m->w || !m->chol) {
        st = nas_error(NAS_ENOMEM, "ridge fit: out of memory");
        goto cleanup;
    }
    m->n_chol = p;
    double best = (double)INFINITY, best_lambda = 1.0;
    for (int g = 0; g < N_LAMBDA; g++) {
        const double lambda = pow(10.0, -3.0 + 0.5 * g);
        double loo = 0.0;
        NAS_TRY(ridge_one(z, t, n, p, lambda, m->chol, m->w, v, &loo));
        if (loo <= best) { /* ties go to the larger lambda */
            best = loo;
            best_lambda = lambda;
        }
    }
    m->lambda = best_lambda;
    m->s2 = best;
    NAS_TRY(ridge_one(z, t, n, p, best_lambda, m->chol, m->w, v, &best));
cleanup:
    nas_free(v);
    return st;
}

void nas_i_rank_ridge_predict(const nas_rank_model *m, const double *z, double *mean, double *var,
                              double *scratch) {
    const int p = m->p;
    double mu = 0.0;
    for (int j = 0; j < p; j++) {
        mu += z[j] * m->w[j];
        scratch[j] = z[j];
    }
    nas_i_rank_lsolve(m->chol, p, scratch);
    double q = 0.0;
    for (int j = 0; j < p; j++) {
        q += scratch[j] * scratch[j];
    }
    *mean = m->intercept + mu;
    *var = m->s2 * q;
}
