/*
 * A pairwise ranking model (RankNet-style, linear): on standardised inputs, w minimises
 *   1/P sum over pairs with t_i > t_j of log(1 + exp(-w . (z_i - z_j))) + lambda/2 |w|^2
 * by damped Newton steps (convex; p is small). lambda from a log grid by the Kendall tau of the
 * pooled out-of-fold scores of an inner k-fold split. The score w . z is then mapped to label
 * units by least squares over the training rows (a monotone map, so it ranks as w . z does).
 * There is no standard deviation.
 */
#include "rank-impl.h"

#include <math.h>
#include <string.h>

static const double LAMBDAS[] = {1e-3, 1e-2, 1e-1, 1.0, 10.0};
#define N_LAMBDA   (int)(sizeof LAMBDAS / sizeof LAMBDAS[0])
#define MAX_NEWTON 50
#define INNER_K    5

/* log(1 + exp(-m)) without overflow. */
static double softplus_neg(double m) {
    return m > 0.0 ? log1p(exp(-m)) : -m + log1p(exp(m));
}

/* The objective at w over the rows rows[0..n) of z (and their labels). */
static double objective(const double *z, const double *t, const int *rows, int n, int p,
                        const double *w, double lambda) {
    double s = 0.0;
    long pairs = 0;
    for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
            const int i = rows[a], j = rows[b];
            if (!(t[i] > t[j])) {
                continue;
            }
            double m = 0.0;
            for (int k = 0; k < p; k++) {
                m += w[k] *
                     (z[(size_t)i * (size_t)p + (size_t)k] - z[(size_t)j * (size_t)p + (size_t)k]);
            }
            s += softplus_neg(m);
            pairs++;
        }
    }
    double r = 0.0;
    for (int k = 0; k < p; k++) {
        r += w[k] * w[k];
    }
    return (pairs > 0 ? s / (double)pairs : 0.0) + 0.5 * lambda * r;
}

/* Minimise the objective over rows[0..n) for one lambda; w[p] receives the weights. H is p*p
 * scratch, g and step p each. */
static nas_status fit_rows(const double *z, const double *t, const int *rows, int n, int p,
                           double lambda, double *w, double *H, double *g, double *step,
                           double *dv) {
    memset(w, 0, sizeof *w * (size_t)p);
    double f = objective(z, t, rows, n, p, w, lambda);
    for (int it = 0; it < MAX_NEWTON; it++) {
        memset(H, 0, sizeof *H * (size_t)p * (size_t)p);
        memset(g, 0, sizeof *g * (size_t)p);
        long pairs = 0;
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                const int i = rows[a], j = rows[b];
                if (!(t[i] > t[j])) {
                    continue;
                }
                double m = 0.0;
                for (int k = 0; k < p; k++) {
                    dv[k] =
                        z[(size_t)i * (size_t)p + (size_t)k] - z[(size_t)j * (size_t)p + (size_t)k];
                    m += w[k] * dv[k];
                }
                const double sig = 1.0 / (1.0 + exp(m)); /* sigma(-m) */
                const double h = sig * (1.0 - sig);
                for (int k = 0; k < p; k++) {
                    g[k] -= sig * dv[k];
                    for (int l = 0; l <= k; l++) {
                        H[(size_t)k * (size_t)p + (size_t)l] += h * dv[k] * dv[l];
                    }
                }
                pairs++;
            }
        }
        const double inv = pairs > 0 ? 1.0 / (double)pairs : 0.0;
        for (int k = 0; k < p; k++) {
            g[k] = g[k] * inv + lambda * w[k];
            for (int l = 0; l <= k; l++) {
                double v = H[(size_t)k * (size_t)p + (size_t)l] * inv + (k == l ? lambda : 0.0);
                H[(size_t)k * (size_t)p + (size_t)l] = H[(size_t)l * (size_t)p + (size_t)k] = v;
            }
            step[k] = g[k];
        }
        NAS_CHECK(nas_i_rank_chol(H, p));
        nas_i_rank_chol_solve(H, p, step);
        /* backtracking: halve the Newton step until the objective does not increase */
        double alpha = 1.0, fn = f;
        for (int bt = 0; bt < 30; bt++) {
            for (int k = 0; k < p; k++) {
                dv[k] = w[k] - alpha * step[k];
            }
            fn = objective(z, t, rows, n, p, dv, lambda);
            if (fn <= f) {
                break;
            }
            alpha *= 0.5;
        }
        if (!(fn <= f)) {
            break;
        }
        double moved = 0.0;
        for (int k = 0; k < p; k++) {
            moved += (dv[k] - w[k]) * (dv[k] - w[k]);
            w[k] = dv[k];
        }
        f = fn;
        if (moved < 1e-20) {
            break;
        }
    }
    return NAS_OK;
}

nas_status nas_i_rank_pairwise_fit(nas_rank_model *m, const double *z, const double *t) {
    const int n = m->n, p = m->p;
    nas_status st = NAS_OK;
    double *buf = nas_malloc(sizeof *buf * ((size_t)p * (size_t)p + 4 * (size_t)p + 2 * (size_t)n));
    int *rows = nas_malloc(sizeof *rows * (size_t)n);
    int32_t *perm = nas_malloc(sizeof *perm * (size_t)n);
    m->w = nas_malloc(sizeof *m->w * (size_t)p);
    if (!buf || !rows || !perm || !m->w) {
        st = nas_error(NAS_ENOMEM, "pairwise fit: out of memory");
        goto cleanup;
    }
    double *H = buf, *g = H + (size_t)p * (size_t)p, *step = g + p, *dv = step + p, *w = dv + p;
    double *score = w + p, *tt = score + n;
    /* inner folds: a seeded shuffle (the seed is fixed: the model is a function of its data) */
    nas_rng rng;
    nas_rng_seed(&rng, 0x9e3779b97f4a7c15ull);
    for (int i = 0; i < n; i++) {
        perm[i] = i;
    }
    nas_rng_shuffle_i32(&rng, perm, (size_t)n);
    const int k = n < INNER_K ? n : INNER_K;
    double best = -(double)INFINITY, best_lambda = LAMBDAS[N_LAMBDA - 1];
    for (int gl = 0; gl < N_LAMBDA; gl++) {
        for (int f = 0; f < k; f++) {
            int nr = 0;
            for (int i = 0; i < n; i++) {
                if (i % k != f) {
                    rows[nr++] = perm[i];
                }
            }
            NAS_TRY(fit_rows(z, t, rows, nr, p, LAMBDAS[gl], w, H, g, step, dv));
            for (int i = 0; i < n; i++) {
                if (i % k == f) {
                    double s = 0.0;
                    for (int j = 0; j < p; j++) {
                        s += w[j] * z[(size_t)perm[i] * (size_t)p + (size_t)j];
                    }
                    score[perm[i]] = s;
                }
            }
        }
        double tau = (double)NAN;
        NAS_TRY(nas_stats_kendall_tau(score, t, n, &tau));
        if (!isnan(tau) && tau >= best) { /* ties go to the larger lambda */
            best = tau;
            best_lambda = LAMBDAS[gl];
        }
    }
    m->lambda = best_lambda;
    for (int i = 0; i < n; i++) {
        rows[i] = i;
    }
    NAS_TRY(fit_rows(z, t, rows, n, p, best_lambda, m->w, H, g, step, dv));
    /* the score to label units: t ~ a + b s by least squares (b > 0 keeps the order) */
    double ms = 0.0, mt = 0.0, sst = 0.0, ss = 0.0;
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < p; j++) {
            s += m->w[j] * z[(size_t)i * (size_t)p + (size_t)j];
        }
        score[i] = s;
        tt[i] = t[i];
        ms += s / (double)n;
        mt += t[i] / (double)n;
    }
    for (int i = 0; i < n; i++) {
        ss += (score[i] - ms) * (score[i] - ms);
        sst += (score[i] - ms) * (tt[i] - mt);
    }
    double b = ss > 0.0 ? sst / ss : 0.0;
    if (!(b > 1e-12)) {
        b = 1e-12;
    }
    for (int j = 0; j < p; j++) {
        m->w[j] *= b;
    }
    m->intercept = mt - b * ms;
    m->s2 = (double)NAN;
cleanup:
    nas_free(buf);
    nas_free(rows);
    nas_free(perm);
    return st;
}

void nas_i_rank_pairwise_predict(const nas_rank_model *m, const double *z, double *mean,
                                 double *var) {
    double s = m->intercept;
    for (int j = 0; j < m->p; j++) {
        s += m->w[j] * z[j];
    }
    *mean = s;
    *var = (double)NAN;
}
