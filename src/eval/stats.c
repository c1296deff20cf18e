/*
 * Rank statistics and Pareto fronts: average ranks with ties, Kendall's tau-b, Spearman's rho,
 * Pareto dominance and an O(n log n) front sweep.
 */
#include "ghnas/eval.h"

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

nas_status nas_eval_ranks(const double *x, int64_t n, double *ranks) {
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

nas_status nas_eval_kendall_tau(const double *x, const double *y, int64_t n, double *tau) {
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

nas_status nas_eval_spearman_rho(const double *x, const double *y, int64_t n, double *rho) {
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
    NAS_TRY(nas_eval_ranks(xs, m, rx));
    NAS_TRY(nas_eval_ranks(ys, m, ry));
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

bool nas_eval_dominates(double score_a, double cost_a, double score_b, double cost_b,
                        bool higher_is_better) {
    if (isnan(score_a) || isnan(cost_a) || isnan(score_b) || isnan(cost_b)) {
        return false;
    }
    bool score_ge = higher_is_better ? score_a >= score_b : score_a <= score_b;
    bool score_gt = higher_is_better ? score_a > score_b : score_a < score_b;
    return score_ge && cost_a <= cost_b && (score_gt || cost_a < cost_b);
}

/* Sort key for the front sweep: cost ascending, then score best-first, then index. */
typedef struct pf {
    double cost, score; /* score negated when lower is better: higher is always better here */
    int64_t i;
} pf;

static int pf_cmp(const void *pa, const void *pb) {
    const pf *a = pa, *b = pb;
    if (a->cost != b->cost) {
        return a->cost < b->cost ? -1 : 1;
    }
    if (a->score != b->score) {
        return a->score > b->score ? -1 : 1;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

nas_status nas_eval_pareto(const double *score, const double *cost, int64_t n,
                           bool higher_is_better, int64_t *front, int64_t *n_front) {
    *n_front = 0;
    if (n < 0 || (n > 0 && (!score || !cost || !front))) {
        return nas_error(NAS_EINVAL, "pareto: need n >= 0 and arrays");
    }
    pf *p = nas_malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) {
        return nas_error(NAS_ENOMEM, "pareto: out of memory for %lld points", (long long)n);
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isnan(score[i]) && !isnan(cost[i])) {
            p[m].cost = cost[i];
            p[m].score = higher_is_better ? score[i] : -score[i];
            p[m].i = i;
            m++;
        }
    }
    qsort(p, (size_t)m, sizeof *p, pf_cmp);
    /* A point survives when its score equals its cost group's best and beats every cheaper one. */
    bool have_best = false;
    double best_cheaper = 0.0;
    for (int64_t a = 0; a < m;) {
        int64_t b = a;
        while (b < m && p[b].cost == p[a].cost) {
            b++;
        }
        double group_best = p[a].score;
        if (!have_best || group_best > best_cheaper) {
            for (int64_t k = a; k < b && p[k].score == group_best; k++) {
                front[(*n_front)++] = p[k].i;
            }
            best_cheaper = group_best;
            have_best = true;
        }
        a = b;
    }
    nas_free(p);
    return NAS_OK;
}
