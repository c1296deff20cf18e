/*
 * Scorer quality: Kendall tau, Spearman rho and precision at the top 10 % of every scorer recorded
 * in a search run against the trained validation accuracy of an evaluate run, on all trained
 * architectures and on the better half, with percentile bootstrap intervals.
 */
#include "ghnas/eval.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of v[0..n) sorted, linear interpolation between order statistics. */
static double quantile_sorted(const double *v, int n, double q) {
    if (n <= 0) {
        return (double)NAN;
    }
    double pos = q * (double)(n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (pos - (double)lo) * (v[hi] - v[lo]);
}

/* The pairs where neither value is NaN, in order, into px/py; returns how many. */
static int64_t complete_pairs(const double *x, const double *y, int64_t n, double *px, double *py) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isnan(x[i]) && !isnan(y[i])) {
            px[m] = x[i];
            py[m] = y[i];
            m++;
        }
    }
    return m;
}

/* One bootstrap resample of the m pairs (with replacement) into bx/by. */
static void resample(const double *px, const double *py, int64_t m, nas_rng *rng, double *bx,
                     double *by) {
    for (int64_t i = 0; i < m; i++) {
        int64_t j = (int64_t)nas_rng_below(rng, (uint64_t)m);
        bx[i] = px[j];
        by[i] = py[j];
    }
}

nas_status nas_eval_corr_ci(const double *x, const double *y, int64_t n, int n_boot, nas_rng *rng,
                            nas_eval_ci *tau, nas_eval_ci *rho) {
    tau->value = tau->lo = tau->hi = (double)NAN;
    rho->value = rho->lo = rho->hi = (double)NAN;
    if (n < 0 || n_boot < 0 || (n > 0 && (!x || !y)) || (n_boot > 0 && !rng)) {
        return nas_error(NAS_EINVAL, "correlation: bad arguments (n %lld, resamples %d)",
                         (long long)n, n_boot);
    }
    nas_status st = NAS_OK;
    /* the complete pairs */
    double *px = nas_malloc(sizeof *px * (size_t)(n > 0 ? n : 1) * 4);
    double *bt = nas_malloc(sizeof *bt * (size_t)(n_boot > 0 ? n_boot : 1) * 2);
    if (!px || !bt) {
        st = nas_error(NAS_ENOMEM, "correlation: out of memory");
        goto cleanup;
    }
    double *py = px + n, *bx = px + 2 * n, *by = px + 3 * n;
    const int64_t m = complete_pairs(x, y, n, px, py);
    NAS_TRY(nas_eval_kendall_tau(px, py, m, &tau->value));
    NAS_TRY(nas_eval_spearman_rho(px, py, m, &rho->value));
    if (n_boot == 0 || m < 2) {
        goto cleanup;
    }
    double *bt_tau = bt, *bt_rho = bt + n_boot;
    int nt = 0, nr = 0;
    for (int b = 0; b < n_boot; b++) {
        resample(px, py, m, rng, bx, by);
        double t = (double)NAN, r = (double)NAN;
        NAS_TRY(nas_eval_kendall_tau(bx, by, m, &t));
        NAS_TRY(nas_eval_spearman_rho(bx, by, m, &r));
        if (!isnan(t)) {
            bt_tau[nt++] = t;
        }
        if (!isnan(r)) {
            bt_rho[nr++] = r;
        }
    }
    qsort(bt_tau, (size_t)nt, sizeof *bt_tau, cmp_double);
    qsort(bt_rho, (size_t)nr, sizeof *bt_rho, cmp_double);
    tau->lo = quantile_sorted(bt_tau, nt, 0.025);
    tau->hi = quantile_sorted(bt_tau, nt, 0.975);
    rho->lo = quantile_sorted(bt_rho, nr, 0.025);
    rho->hi = quantile_sorted(bt_rho, nr, 0.975);
cleanup:
    nas_free(px);
    nas_free(bt);
    return st;
}

/* Positions sorted by value, largest first, ties by position. */
typedef struct val_pos {
    double v;
    int64_t i;
} val_pos;

static int cmp_val_desc(const void *a, const void *b) {
    const val_pos *p = a, *q = b;
    if (p->v != q->v) {
        return p->v < q->v ? 1 : -1;
    }
    return (p->i > q->i) - (p->i < q->i);
}

/* Precision at the top over m complete pairs; vp and in_y are scratch of m entries. */
static double precision_pairs(const double *x, const double *y, int64_t m, double frac, val_pos *vp,
                              unsigned char *in_y) {
    if (m <= 0) {
        return (double)NAN;
    }
    int64_t k = (int64_t)ceil(frac * (double)m - 1e-9);
    k = k < 1 ? 1 : k > m ? m : k;
    for (int64_t i = 0; i < m; i++) {
        vp[i] = (val_pos){y[i], i};
        in_y[i] = 0;
    }
    qsort(vp, (size_t)m, sizeof *vp, cmp_val_desc);
    for (int64_t i = 0; i < k; i++) {
        in_y[vp[i].i] = 1;
    }
    for (int64_t i = 0; i < m; i++) {
        vp[i] = (val_pos){x[i], i};
    }
    qsort(vp, (size_t)m, sizeof *vp, cmp_val_desc);
    int64_t hit = 0;
    for (int64_t i = 0; i < k; i++) {
        hit += in_y[vp[i].i];
    }
    return (double)hit / (double)k;
}

nas_status nas_eval_precision_ci(const double *x, const double *y, int64_t n, double frac,
                                 int n_boot, nas_rng *rng, nas_eval_ci *p) {
    p->value = p->lo = p->hi = (double)NAN;
    if (n < 0 || n_boot < 0 || !(frac > 0.0 && frac <= 1.0) || (n > 0 && (!x || !y)) ||
        (n_boot > 0 && !rng)) {
        return nas_error(NAS_EINVAL,
                         "precision at the top: bad arguments (n %lld, fraction %g, "
                         "resamples %d)",
                         (long long)n, frac, n_boot);
    }
    nas_status st = NAS_OK;
    const size_t cap = (size_t)(n > 0 ? n : 1);
    double *px = nas_malloc(sizeof *px * cap * 4);
    double *bt = nas_malloc(sizeof *bt * (size_t)(n_boot > 0 ? n_boot : 1));
    val_pos *vp = nas_malloc(sizeof *vp * cap);
    unsigned char *in_y = nas_malloc(cap);
    if (!px || !bt || !vp || !in_y) {
        st = nas_error(NAS_ENOMEM, "precision at the top: out of memory");
        goto cleanup;
    }
    double *py = px + n, *bx = px + 2 * n, *by = px + 3 * n;
    const int64_t m = complete_pairs(x, y, n, px, py);
    p->value = precision_pairs(px, py, m, frac, vp, in_y);
    if (n_boot == 0 || m < 2) {
        goto cleanup;
    }
    for (int b = 0; b < n_boot; b++) {
        resample(px, py, m, rng, bx, by);
        bt[b] = precision_pairs(bx, by, m, frac, vp, in_y);
    }
    qsort(bt, (size_t)n_boot, sizeof *bt, cmp_double);
    p->lo = quantile_sorted(bt, n_boot, 0.025);
    p->hi = quantile_sorted(bt, n_boot, 0.975);
cleanup:
    nas_free(px);
    nas_free(bt);
    nas_free(vp);
    nas_free(in_y);
    return st;
}

nas_status nas_eval_precision_at(const double *x, const double *y, int64_t n, double frac,
                                 double *p) {
    nas_eval_ci ci;
    nas_status st = nas_eval_precision_ci(x, y, n, frac, 0, NULL, &ci);
    *p = ci.value;
    return st;
}

nas_status nas_eval_correlations(nas_store *db, int64_t search_run, const nas_eval_item *items,
                                 int n, int n_boot, uint64_t seed, nas_eval_corr **out,
                                 int *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!db || n < 0 || (n > 0 && !items)) {
        return nas_error(NAS_EINVAL, "correlations: bad arguments");
    }
    nas_status st = NAS_OK;
    nas_store_table sc, top;
    memset(&sc, 0, sizeof sc);
    memset(&top, 0, sizeof top);
    nas_eval_corr *rows = NULL;
    double *score = nas_malloc(sizeof *score * (size_t)(n > 0 ? n : 1) * 4);
    val_pos *order = nas_malloc(sizeof *order * (size_t)(n > 0 ? n : 1));
    if (!score || !order) {
        st = nas_error(NAS_ENOMEM, "correlations: out of memory");
        goto cleanup;
    }
    double *acc = score + n, *hs = score + 2 * n, *ha = score + 3 * n;
    /* the trained ones, best first, for the better half */
    int n_trained = 0;
    for (int i = 0; i < n; i++) {
        acc[i] = items[i].status == NAS_RUN_FINISHED ? items[i].val_acc : (double)NAN;
        if (!isnan(acc[i])) {
            order[n_trained++] = (val_pos){acc[i], i};
        }
    }
    qsort(order, (size_t)n_trained, sizeof *order, cmp_val_desc); /* best first */
    const int half = (n_trained + 1) / 2;

    NAS_TRY(nas_store_query_run_scorers(db, search_run, &sc));
    rows = nas_calloc((size_t)(sc.n_rows > 0 ? sc.n_rows : 1), sizeof *rows);
    if (!rows) {
        st = nas_error(NAS_ENOMEM, "correlations: out of memory");
        goto cleanup;
    }
    for (int64_t r = 0; r < sc.n_rows; r++) {
        nas_eval_corr *row = &rows[r];
        const nas_store_value *name = nas_store_table_at(&sc, r, 0);
        snprintf(row->scorer, sizeof row->scorer, "%s",
                 name->type == NAS_STORE_TEXT ? name->s : "?");
        row->higher_is_better = nas_store_table_at(&sc, r, 1)->i != 0;
        /* this scorer's values by arch_id */
        nas_store_table_free(&top);
        NAS_TRY(nas_store_query_top(db, search_run, row->scorer, INT64_MAX, &top));
        for (int i = 0; i < n; i++) {
            score[i] = (double)NAN;
            for (int64_t k = 0; k < top.n_rows; k++) {
                if (nas_store_table_at(&top, k, 1)->i == items[i].arch_id) {
                    const nas_store_value *v = nas_store_table_at(&top, k, 2);
                    score[i] = v->type == NAS_STORE_REAL  ? v->r
                               : v->type == NAS_STORE_INT ? (double)v->i
                                                          : (double)NAN;
                    break;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            row->n += !isnan(score[i]) && !isnan(acc[i]);
        }
        nas_rng rng;
        nas_rng_seed(&rng, seed);
        NAS_TRY(nas_eval_corr_ci(score, acc, n, n_boot, &rng, &row->tau, &row->rho));
        nas_rng_seed(&rng, seed + 2); /* own streams: the tau/rho intervals stay as they were */
        NAS_TRY(nas_eval_precision_ci(score, acc, n, NAS_EVAL_PREC_FRAC, n_boot, &rng, &row->prec));
        for (int k = 0; k < half; k++) {
            hs[k] = score[order[k].i];
            ha[k] = acc[order[k].i];
            row->n_top += !isnan(hs[k]);
        }
        nas_rng_seed(&rng, seed + 1);
        NAS_TRY(nas_eval_corr_ci(hs, ha, half, n_boot, &rng, &row->tau_top, &row->rho_top));
        nas_rng_seed(&rng, seed + 3);
        NAS_TRY(
            nas_eval_precision_ci(hs, ha, half, NAS_EVAL_PREC_FRAC, n_boot, &rng, &row->prec_top));
    }
    *out = rows;
    *n_out = (int)sc.n_rows;
    rows = NULL;
cleanup:
    nas_free(rows);
    nas_free(score);
    nas_free(order);
    nas_store_table_free(&sc);
    nas_store_table_free(&top);
    return st;
}
