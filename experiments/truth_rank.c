/*
 * Rank every scorer a results store holds against the committed ground-truth table (issue 11):
 * Kendall tau, Spearman rho and precision at the top 10 %, each with a 95 % percentile-bootstrap
 * interval, on all cells of the table, on its fit half, on its test half and on the better half
 * (the best half by trained accuracy), plus the seed-to-seed ceiling of the table itself. The
 * metrics are the ones `ghnas evaluate` prints (src/eval/corr.c).
 *
 *   build/experiments/truth_rank DB [--csv experiments/data/nb201_fmnist_truth.csv] [--run R]
 *                                   [--truth val_acc|test_acc] [--boot 1000] [--format table|csv]
 *                                   [--mean NAME=RUN:SCORER+RUN:SCORER...]   (ensembles)
 *
 * A scorer is matched to the table by arch text (the table's cells are NB201 class
 * representatives, as every ghnas search stores them). Each (run, scorer) pair is one row, so GHN
 * variants scored in different runs of one store are compared side by side. Values are ranked
 * raw, larger first, as in ghnas evaluate (a scorer whose smaller values are better shows a
 * negative tau).
 */
#include "truth_csv.h"

#include "ghnas/eval.h"
#include "ghnas/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct table {
    truth_cell *c;
    int n;
} table;

static void usage(FILE *f) {
    fprintf(
        f, "usage: truth_rank DB [--csv FILE] [--run R] [--truth val_acc|test_acc] [--boot N]\n"
           "                     [--format table|csv]\n"
           "Ranks every scorer of results store DB (each run and scorer) against the ground-truth\n"
           "table FILE (default experiments/data/nb201_fmnist_truth.csv): Kendall tau, Spearman\n"
           "rho and precision at the top 10%% with 95%% bootstrap intervals (N resamples, default\n"
           "1000) on all cells, the fit half, the test half and the better half, against the\n"
           "seed-1 truth.\n"
           "--mean NAME=RUN:SCORER+-RUN:SCORER... (up to 8) adds an ensemble: the mean rank of\n"
           "its members ('-' ranks a member's negated value, e.g. a loss).\n");
}

static nas_status read_table(const char *path, const char *truth_col, table *t) {
    return truth_csv_read(path, truth_col, &t->c, &t->n);
}

typedef struct metrics {
    int n;
    nas_eval_ci tau, rho, prec;
} metrics;

/* x and y over the cells selected by sel (NaN pairs dropped by the eval functions). */
static nas_status measure(const double *x, const double *y, const bool *sel, int n, int boot,
                          metrics *m) {
    double *a = nas_malloc(sizeof *a * (size_t)(n > 0 ? n : 1) * 2);
    if (!a) {
        return nas_error(NAS_ENOMEM, "out of memory");
    }
    double *b = a + n;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (sel[i] && !isnan(x[i]) && !isnan(y[i])) {
            a[k] = x[i];
            b[k] = y[i];
            k++;
        }
    }
    m->n = k;
    nas_rng r;
    nas_rng_seed(&r, 1);
    nas_status st = nas_eval_corr_ci(a, b, k, boot, &r, &m->tau, &m->rho);
    if (st == NAS_OK) {
        nas_rng_seed(&r, 3);
        st = nas_eval_precision_ci(a, b, k, NAS_EVAL_PREC_FRAC, boot, &r, &m->prec);
    }
    nas_free(a);
    return st;
}

static void fmt_ci(char *buf, size_t cap, const nas_eval_ci *c, bool csv) {
    if (isnan(c->value)) {
        snprintf(buf, cap, csv ? ",," : "-");
    } else if (isnan(c->lo)) {
        snprintf(buf, cap, csv ? "%.4f,," : "%6.3f", c->value);
    } else if (csv) {
        snprintf(buf, cap, "%.4f,%.4f,%.4f", c->value, c->lo, c->hi);
    } else {
        snprintf(buf, cap, "%6.3f [%6.3f, %6.3f]", c->value, c->lo, c->hi);
    }
}

static void print_row(const char *run, const char *scorer, const char *subset, const metrics *m,
                      bool csv) {
    char t[64], r[64], p[64];
    fmt_ci(t, sizeof t, &m->tau, csv);
    fmt_ci(r, sizeof r, &m->rho, csv);
    fmt_ci(p, sizeof p, &m->prec, csv);
    if (csv) {
        printf("%s,%s,%s,%d,%s,%s,%s\n", run, scorer, subset, m->n, t, r, p);
    } else {
        printf("%-18s %-10s %-7s %4d  %-22s  %-22s  %s\n", run, scorer, subset, m->n, t, r, p);
    }
}

/* The values of `scorer` in run `run` for the table's cells (NaN where it has none); the number
 * matched. */
static int scores_of(const nas_store_table *q, int64_t run, const char *scorer, const table *t,
                     double *x) {
    int matched = 0;
    for (int i = 0; i < t->n; i++) {
        x[i] = (double)NAN;
    }
    for (int64_t r = 0; r < q->n_rows; r++) {
        if (nas_store_table_at(q, r, 0)->i != run ||
            strcmp(nas_store_table_at(q, r, 1)->s, scorer) != 0) {
            continue;
        }
        const char *arch = nas_store_table_at(q, r, 2)->s;
        const nas_store_value *v = nas_store_table_at(q, r, 3);
        for (int i = 0; i < t->n; i++) {
            if (strcmp(t->c[i].arch, arch) == 0) {
                x[i] = v->type == NAS_STORE_REAL  ? v->r
                       : v->type == NAS_STORE_INT ? (double)v->i
                                                  : (double)NAN;
                matched++;
                break;
            }
        }
    }
    return matched;
}

/*
 * An ensemble "NAME=[-]RUN:SCORER+[-]RUN:SCORER+...": the mean over members of each cell's rank
 * (1 = smallest value; '-' ranks the negated value, e.g. for a loss), over the cells every member
 * scored. NAS_EINVAL for a malformed spec.
 */
static nas_status ensemble(const char *spec, const nas_store_table *q, const table *t, double *x,
                           double *tmp, char *name, size_t name_cap) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        return nas_error(NAS_EINVAL, "--mean '%s': expected NAME=RUN:SCORER+RUN:SCORER", spec);
    }
    snprintf(name, name_cap, "%.*s", (int)(eq - spec), spec);
    for (int i = 0; i < t->n; i++) {
        x[i] = 0.0;
    }
    int members = 0;
    for (const char *p = eq + 1; *p;) {
        size_t len = strcspn(p, "+");
        char m[128];
        snprintf(m, sizeof m, "%.*s", (int)len, p);
        p += len + (p[len] == '+');
        const bool neg = m[0] == '-';
        char *colon = strchr(m, ':');
        if (!colon) {
            return nas_error(NAS_EINVAL, "--mean: member '%s' is not RUN:SCORER", m);
        }
        *colon = '\0';
        const long run = atol(m + neg);
        if (run < 1 || scores_of(q, run, colon + 1, t, tmp) == 0) {
            return nas_error(NAS_EINVAL, "--mean: run %s has no %s scores for the table's cells",
                             m + neg, colon + 1);
        }
        /* ranks over the cells (average ranks for ties), NaN stays NaN */
        for (int i = 0; i < t->n; i++) {
            if (isnan(tmp[i]) || isnan(x[i])) {
                x[i] = (double)NAN;
                continue;
            }
            const double vi = neg ? -tmp[i] : tmp[i];
            double below = 0.0, same = 0.0;
            for (int j = 0; j < t->n; j++) {
                if (isnan(tmp[j])) {
                    continue;
                }
                const double vj = neg ? -tmp[j] : tmp[j];
                below += vj < vi;
                same += vj == vi;
            }
            x[i] += below + 0.5 * (same + 1.0);
        }
        members++;
    }
    if (members == 0) {
        return nas_error(NAS_EINVAL, "--mean '%s' names no member", spec);
    }
    for (int i = 0; i < t->n; i++) {
        x[i] /= members;
    }
    return NAS_OK;
}

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* sel_all, sel_fit, sel_test and sel_better over the cells with a seed-1 truth. */
static void subsets(const table *t, bool *all, bool *fit, bool *test, bool *better) {
    double *v = nas_malloc(sizeof *v * (size_t)(t->n > 0 ? t->n : 1));
    int m = 0;
    for (int i = 0; i < t->n; i++) {
        all[i] = !isnan(t->c[i].truth[0]);
        test[i] = all[i] && t->c[i].test;
        fit[i] = all[i] && !t->c[i].test;
        if (all[i] && v) {
            v[m++] = t->c[i].truth[0];
        }
    }
    double cut = (double)INFINITY;
    if (v && m > 0) {
        qsort(v, (size_t)m, sizeof *v, cmp_desc);
        cut = v[(m + 1) / 2 - 1]; /* the ceil(m/2)-th best */
    }
    for (int i = 0; i < t->n; i++) {
        better[i] = all[i] && t->c[i].truth[0] >= cut;
    }
    nas_free(v);
}

int main(int argc, char **argv) {
    const char *db_path = NULL, *csv = "experiments/data/nb201_fmnist_truth.csv";
    const char *truth_col = "val_acc";
    long run = 0, boot = 1000;
    bool as_csv = false;
    const char *means[8];
    int n_means = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (o[0] != '-') {
            db_path = o;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "truth_rank: %s needs a value\n", o);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(o, "--csv") == 0) {
            csv = v;
        } else if (strcmp(o, "--mean") == 0 && n_means < 8) {
            means[n_means++] = v;
        } else if (strcmp(o, "--run") == 0) {
            run = atol(v);
        } else if (strcmp(o, "--boot") == 0) {
            boot = atol(v);
        } else if (strcmp(o, "--truth") == 0 &&
                   (strcmp(v, "val_acc") == 0 || strcmp(v, "test_acc") == 0)) {
            truth_col = v;
        } else if (strcmp(o, "--format") == 0 &&
                   (strcmp(v, "table") == 0 || strcmp(v, "csv") == 0)) {
            as_csv = strcmp(v, "csv") == 0;
        } else {
            fprintf(stderr, "truth_rank: unknown option or value '%s %s'\n", o, v);
            usage(stderr);
            return 2;
        }
    }
    if (!db_path || boot < 0 || boot > 100000) {
        usage(stderr);
        return 2;
    }
    int rc = 1;
    table t = {0};
    nas_store *db = NULL;
    nas_store_table q;
    memset(&q, 0, sizeof q);
    double *x = NULL, *y = NULL;
    bool *sel = NULL;
    if (read_table(csv, truth_col, &t) != NAS_OK) {
        fprintf(stderr, "truth_rank: %s\n", nas_errmsg());
        goto cleanup;
    }
    const int n = t.n;
    x = nas_malloc(sizeof *x * (size_t)(n > 0 ? n : 1) * 3);
    sel = nas_malloc(sizeof *sel * (size_t)(n > 0 ? n : 1) * 5);
    if (!x || !sel) {
        fprintf(stderr, "truth_rank: out of memory\n");
        goto cleanup;
    }
    y = x + n;
    bool *all = sel, *test = sel + n, *better = sel + 2 * n, *both = sel + 3 * n;
    bool *fit = sel + 4 * n;
    subsets(&t, all, fit, test, better);
    int n_all = 0, n_test = 0, n_two = 0;
    for (int i = 0; i < n; i++) {
        n_all += all[i];
        n_test += test[i];
        both[i] = all[i] && !isnan(t.c[i].truth[1]);
        n_two += both[i];
        y[i] = t.c[i].truth[0];
    }
    if (!as_csv) {
        printf("truth: %s, %s of seed 1: %d cells (%d fit, %d test); %d with seed 2\n", csv,
               truth_col, n_all, n_all - n_test, n_test, n_two);
        printf("%-18s %-10s %-7s %4s  %-22s  %-22s  %s\n", "run", "scorer", "cells", "n",
               "kendall_tau [95% CI]", "spearman_rho", "p@10%");
    } else {
        printf("run,scorer,cells,n,tau,tau_lo,tau_hi,rho,rho_lo,rho_hi,p10,p10_lo,p10_hi\n");
    }
    /* the ceiling: seed 2 as a scorer of seed 1 */
    for (int i = 0; i < n; i++) {
        x[i] = t.c[i].truth[1];
    }
    metrics m;
    enum { N_SETS = 4 };
    const char *names[N_SETS] = {"all", "fit", "test", "better"};
    bool *sets[N_SETS] = {all, fit, test, better};
    for (int s = 0; s < N_SETS; s++) {
        if (measure(x, y, sets[s], n, (int)boot, &m) != NAS_OK) {
            fprintf(stderr, "truth_rank: %s\n", nas_errmsg());
            goto cleanup;
        }
        print_row("-", "seed2", names[s], &m, as_csv);
    }
    if (nas_store_open(&db, db_path, NAS_STORE_READONLY) != NAS_OK) {
        fprintf(stderr, "truth_rank: %s\n", nas_errmsg());
        goto cleanup;
    }
    char where[48] = "";
    if (run > 0) {
        snprintf(where, sizeof where, "WHERE s.run_id = %ld", run);
    }
    char sql[512];
    snprintf(
        sql, sizeof sql,
        "SELECT s.run_id, s.scorer, a.arch, s.value, r.name FROM scores s JOIN architectures a "
        "ON a.id = s.arch_id JOIN runs r ON r.id = s.run_id %s ORDER BY s.run_id, s.scorer",
        where);
    if (nas_store_query_sql(db, sql, &q) != NAS_OK) {
        fprintf(stderr, "truth_rank: %s\n", nas_errmsg());
        goto cleanup;
    }
    double *tmp = y + n;
    for (int64_t r0 = 0; r0 < q.n_rows;) {
        const int64_t run_id = nas_store_table_at(&q, r0, 0)->i;
        const char *scorer = nas_store_table_at(&q, r0, 1)->s;
        int64_t r1 = r0;
        while (r1 < q.n_rows && nas_store_table_at(&q, r1, 0)->i == run_id &&
               strcmp(nas_store_table_at(&q, r1, 1)->s, scorer) == 0) {
            r1++;
        }
        if (scores_of(&q, run_id, scorer, &t, x) > 0) {
            char rs[48];
            const nas_store_value *rn = nas_store_table_at(&q, r0, 4);
            snprintf(rs, sizeof rs, "%lld%s%.30s", (long long)run_id,
                     rn->type == NAS_STORE_TEXT && rn->s[0] ? ":" : "",
                     rn->type == NAS_STORE_TEXT ? rn->s : "");
            for (int s = 0; s < N_SETS; s++) {
                if (measure(x, y, sets[s], n, (int)boot, &m) != NAS_OK) {
                    fprintf(stderr, "truth_rank: %s\n", nas_errmsg());
                    goto cleanup;
                }
                print_row(rs, scorer, names[s], &m, as_csv);
            }
        }
        r0 = r1;
    }
    for (int k = 0; k < n_means; k++) {
        char name[64];
        if (ensemble(means[k], &q, &t, x, tmp, name, sizeof name) != NAS_OK) {
            fprintf(stderr, "truth_rank: %s\n", nas_errmsg());
            goto cleanup;
        }
        for (int s = 0; s < N_SETS; s++) {
            if (measure(x, y, sets[s], n, (int)boot, &m) != NAS_OK) {
                fprintf(stderr, "truth_rank: %s\n", nas_errmsg());
                goto cleanup;
            }
            print_row("mean", name, names[s], &m, as_csv);
        }
    }
    rc = 0;
cleanup:
    nas_store_table_free(&q);
    nas_store_close(db);
    nas_free(x);
    nas_free(sel);
    nas_free(t.c);
    return rc;
}
