/*
 * Gaussian-process regression on standardised inputs and labels: isotropic RBF kernel
 * s2 * (exp(-|z - z'|^2 / (2 l^2)) + ratio * [z = z']), the length l and the noise-to-signal
 * ratio from a grid maximising the log marginal likelihood, s2 profiled out in closed form
 * (s2 = t'(R + ratio I)^-1 t / n). The prediction's variance is the latent function's.
 */
#include "rank-impl.h"

#include <math.h>
#include <string.h>

static const double LENGTHS[] = {0.25, 0.5, 1.0, 2.0, 4.0, 8.0}; /* times sqrt(p) */
static const double RATIOS[] = {1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1.0};
#define N_LENGTHS (int)(sizeof LENGTHS / sizeof LENGTHS[0])
#define N_RATIOS  (int)(sizeof RATIOS / sizeof RATIOS[0])

static double sqdist(const double *a, const double *b, int p) {
    double s = 0.0;
    for (int j = 0; j < p; j++) {
        const double d = a[j] - b[j];
        s += d * d;
    }
    return s;
}

nas_status nas_i_rank_gp_lml(const double *z, int n, int p, const double *t, double length,
                             double ratio, double *chol, double *alpha, double *lml, double *s2) {
    const double inv = 1.0 / (2.0 * length * length);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            double k = exp(-sqdist(z + (size_t)i * (size_t)p, z + (size_t)j * (size_t)p, p) * inv);
            if (i == j) {
                k += ratio;
            }
            chol[(size_t)i * (size_t)n + (size_t)j] = chol[(size_t)j * (size_t)n + (size_t)i] = k;
        }
    }
    NAS_CHECK(nas_i_rank_chol(chol, n));
    memcpy(alpha, t, sizeof *alpha * (size_t)n);
    nas_i_rank_chol_solve(chol, n, alpha);
    double q = 0.0;
    for (int i = 0; i < n; i++) {
        q += t[i] * alpha[i];
    }
    *s2 = q / (double)n;
    if (!(*s2 > 0.0)) {
        return nas_error(NAS_ENUMERIC, "gp: zero signal variance");
    }
    *lml = -0.5 * (double)n * (1.0 + log(2.0 * M_PI * *s2)) - 0.5 * nas_i_rank_chol_logdet(chol, n);
    return NAS_OK;
}

nas_status nas_i_rank_gp_fit(nas_rank_model *m, const double *z, const double *t) {
    const int n = m->n, p = m->p;
    nas_status st = NAS_OK;
    double *L = nas_malloc(sizeof *L * (size_t)n * (size_t)n);
    double *a = nas_malloc(sizeof *a * (size_t)n);
    m->z = nas_malloc(sizeof *m->z * (size_t)n * (size_t)p);
    m->alpha = nas_malloc(sizeof *m->alpha * (size_t)n);
    m->chol = nas_malloc(sizeof *m->chol * (size_t)n * (size_t)n);
    if (!L || !a || !m->z || !m->alpha || !m->chol) {
        st = nas_error(NAS_ENOMEM, "gp fit: out of memory (%d labels)", n);
        goto cleanup;
    }
    memcpy(m->z, z, sizeof *m->z * (size_t)n * (size_t)p);
    m->n_chol = n;
    double best = -(double)INFINITY;
    for (int il = 0; il < N_LENGTHS; il++) {
        for (int ir = 0; ir < N_RATIOS; ir++) {
            const double length = LENGTHS[il] * sqrt((double)p);
            double lml = 0.0, s2 = 0.0;
            nas_status gs = nas_i_rank_gp_lml(z, n, p, t, length, RATIOS[ir], L, a, &lml, &s2);
            if (gs == NAS_ENOMEM) {
                st = gs;
                goto cleanup;
            }
            if (gs != NAS_OK || !isfinite(lml)) { /* not positive definite: skip the point */
                nas_error_clear();
                continue;
            }
            if (lml > best) {
                best = lml;
                m->length = length;
                m->signal_var = s2;
                m->noise_var = RATIOS[ir] * s2;
                m->lml = lml;
                memcpy(m->chol, L, sizeof *L * (size_t)n * (size_t)n);
                memcpy(m->alpha, a, sizeof *a * (size_t)n);
            }
        }
    }
    if (!isfinite(best)) {
        st = nas_error(NAS_ENUMERIC,
                       "gp fit: no kernel of the grid is positive definite on the "
                       "%d label rows",
                       n);
    }
cleanup:
    nas_free(L);
    nas_free(a);
    return st;
}

void nas_i_rank_gp_predict(const nas_rank_model *m, const double *z, double *mean, double *var,
                           double *scratch) {
    const int n = m->n, p = m->p;
    const double inv = 1.0 / (2.0 * m->length * m->length);
    double mu = 0.0;
    for (int i = 0; i < n; i++) {
        scratch[i] = exp(-sqdist(z, m->z + (size_t)i * (size_t)p, p) * inv);
        mu += scratch[i] * m->alpha[i];
    }
    nas_i_rank_lsolve(m->chol, n, scratch);
    double q = 0.0;
    for (int i = 0; i < n; i++) {
        q += scratch[i] * scratch[i];
    }
    *mean = mu;
    *var = m->signal_var * (1.0 - q);
}
