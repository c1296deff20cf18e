/*
 * Rank statistics every layer may need (the evaluate driver, learned rankers, experiments):
 * average ranks with ties, Kendall's tau-b and Spearman's rho. src/eval re-exports them under
 * its historical names (nas_eval_ranks, nas_eval_kendall_tau, nas_eval_spearman_rho).
 */
#include "ghnas/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* qsort context: C11 qsort has none, so sort (value, index) pairs. */
typedef struct vi {
    double v;
    int64_t i;
} vi;

static int vi_cmp(const void *pa, const void *pb) {
    const vi *a = pa, *b = pb;
    if (a->v < b->v) {
        return -1;
    }
    if (a->v > b->v) {
        return 1;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

nas_status nas_stats_ranks(const double *x, int64_t n, double *ranks) {
    if (n < 0 || (n > 0 && (!x || !ranks))) {
        return nas_error(NAS_EINVAL, "ranks: need n >= 0 and arrays");
    }
    vi *p = nas_malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) {
        return nas_error(NAS_ENOMEM, "ranks: out of memory for %lld values", (long long)n);
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        ranks[i] = (double)NAN;
        if (!isnan(x[i])) {
            p[m].v = x[i];
            p[m].i = i;
            m++;
        }
    }
    qsort(p, (size_t)m, sizeof *p, vi_cmp);
    for (int64_t a = 0; a < m;) {
        int64_t b = a + 1;
        while (b < m && p[b].v == p[a].v) {
            b++;
        }
        /* positions a..b-1 (0-based) share the rank (a+1 + b) / 2 */
        double r = (double)(a + 1 + b) / 2.0;
        for (int64_t k = a; k < b; k++) {
            ranks[p[k].i] = r;
        }
        a = b;
    }
    nas_free(p);
    return NAS_OK;
}

static int sgn(double d) {
    return (d > 0.0) - (d < 0.0);
}

nas_status nas_stats_kendall_tau(const double *x, const double *y, int64_t n, double *tau) {
    *tau = (double)NAN;
    if (n < 0 || (n > 0 && (!x || !y))) {
        return nas_error(NAS_EINVAL, "kendall tau: need n >= 0 and arrays");
    }
    double s = 0.0, pairs_x = 0.0, pairs_y = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i])) {
            continue;
        }
        for (int64_t j = i + 1; j < n; j++) {
            if (isnan(x[j]) || isnan(y[j])) {
                continue;
            }
            int sx = sgn(x[i] - x[j]), sy = sgn(y[i] - y[j]);
            s += (double)(sx * sy);
            pairs_x += sx != 0;
            pairs_y += sy != 0;
        }
    }
    if (pairs_x > 0.0 && pairs_y > 0.0) {
        *tau = s / sqrt(pairs_x * pairs_y);
    }
    return NAS_OK;
}

nas_status nas_stats_spearman_rho(const double *x, const double *y, int64_t n, double *rho) {
    *rho = (double)NAN;
    if (n < 0 || (n > 0 && (!x || !y))) {
        return nas_error(NAS_EINVAL, "spearman rho: need n >= 0 and arrays");
    }
    nas_status st = NAS_OK;
    size_t cap = (size_t)(n > 0 ? n : 1);
    double *xs = nas_malloc(cap * sizeof *xs), *ys = nas_malloc(cap * sizeof *ys);
    double *rx = nas_malloc(cap * sizeof *rx), *ry = nas_malloc(cap * sizeof *ry);
    if (!xs || !ys || !rx || !ry) {
        st = nas_error(NAS_ENOMEM, "spearman rho: out of memory for %lld values", (long long)n);
        goto cleanup;
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isnan(x[i]) && !isnan(y[i])) {
            xs[m] = x[i];
            ys[m] = y[i];
            m++;
        }
    }
    if (m < 2) {
        goto cleanup;
    }
    NAS_TRY(nas_stats_ranks(xs, m, rx));
    NAS_TRY(nas_stats_ranks(ys, m, ry));
    double mx = 0.0, my = 0.0;
    for (int64_t i = 0; i < m; i++) {
        mx += rx[i];
        my += ry[i];
    }
    mx /= (double)m;
    my /= (double)m;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (int64_t i = 0; i < m; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    if (sxx > 0.0 && syy > 0.0) {
        *rho = sxy / sqrt(sxx * syy);
    }
cleanup:
    nas_free(xs);
    nas_free(ys);
    nas_free(rx);
    nas_free(ry);
    return st;
}
