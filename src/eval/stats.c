/*
 * Rank statistics and Pareto fronts: average ranks with ties, Kendall's tau-b, Spearman's rho
 * (the eval names of src/core/stats.c's nas_stats_*), Pareto dominance and an O(n log n) front
 * sweep.
 */
#include "ghnas/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

nas_status nas_eval_ranks(const double *x, int64_t n, double *ranks) {
    return nas_stats_ranks(x, n, ranks);
}

nas_status nas_eval_kendall_tau(const double *x, const double *y, int64_t n, double *tau) {
    return nas_stats_kendall_tau(x, y, n, tau);
}

nas_status nas_eval_spearman_rho(const double *x, const double *y, int64_t n, double *rho) {
    return nas_stats_spearman_rho(x, y, n, rho);
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
