/*
 * How well a learned ranker (src/rank) fitted on the fit half of the committed ground-truth table
 * ranks its test half (issue 12): features from the scorers a results store holds for the table's
 * cells (params, flops, the zero-cost proxies, ghn and ghn_loss when present; no embeddings),
 * labels = the table's seed-1 truth, each model fitted on the first L labelled fit cells (by cell
 * index) and scored on the test half by Kendall tau, Spearman rho and precision at the top 10 %
 * (95 % percentile-bootstrap intervals, as truth_rank and ghnas evaluate print them); beside it
 * the model's own k-fold CV estimate on its L labels, every single feature on the test half, and
 * each model's k-fold CV over all labelled cells of the table (fit and test half together).
 *
 *   build/experiments/rank_table DB [--csv experiments/data/nb201_fmnist_truth.csv] [--run R]
 *                                   [--truth val_acc|test_acc] [--labels 8,16,32,64]
 *                                   [--only COL,COL...] [--folds 5] [--boot 1000]
 *                                   [--ghn FILE [--C 8] [--N 1]]
 *
 * Cells are matched to the store by arch text (the table's cells are NB201 class representatives,
 * as every ghnas search stores them). A scorer recorded in several runs is taken from the lowest
 * run id, or from run R only (--run; params and flops from any run). --only keeps the named
 * feature columns (e.g. log_synflow,log_params; "emb" = the embedding columns); the others are
 * treated as missing. --ghn FILE adds the pooled node embedding of a GHN checkpoint (the cells
 * compiled with the table's skeleton, --C 8 --N 1) as emb_* columns, which the models reduce to
 * their leading principal directions.
 */
#include "truth_csv.h"

#include "ghnas/eval.h"
#include "ghnas/ghn.h"
#include "ghnas/space.h"
#include "ghnas/rank.h"
#include "ghnas/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CELLS TRUTH_MAX_CELLS
#define MAX_L     16

typedef struct cell {
    char arch[NAS_ARCH_STR_MAX];
    int index;
    bool test;
    double truth;      /* seed 1 (NaN when missing) */
    double csv_params; /* from the table */
    double csv_flops;
    nas_rank_input in; /* from the store */
    double *emb;       /* [hid] pooled GHN embedding (--ghn), NULL without */
} cell;

static void usage(FILE *f) {
    fprintf(f,
            "usage: rank_table DB [--csv FILE] [--run R] [--truth val_acc|test_acc]\n"
            "                     [--labels 8,16,32,64] [--only COL,...] [--folds K] [--boot N]\n"
            "                     [--ghn FILE [--C 8] [--N 1]]\n"
            "Fits each ranker model (ridge, gp, pairwise) on the first L labelled fit-half\n"
            "cells of the truth table FILE (default experiments/data/nb201_fmnist_truth.csv),\n"
            "with features from the scores results store DB holds for them, and prints Kendall\n"
            "tau / Spearman rho and precision at the top 10%% of its predictions on the test\n"
            "half (95%% bootstrap intervals from N resamples, default 1000), its K-fold CV\n"
            "estimate (default 5), each single feature on the test half, and each model's CV on\n"
            "all labelled cells. --ghn FILE adds the pooled node embedding of that GHN\n"
            "checkpoint (nets compiled at C, N; default the table's 8, 1) as emb_* columns;\n"
            "--only takes 'emb' for them.\n");
}

/* The table's cells with their seed-1 truth, params and flops. */
static nas_status read_table(const char *path, const char *truth_col, cell *c, int *n_out) {
    truth_cell *t = NULL;
    NAS_CHECK(truth_csv_read(path, truth_col, &t, n_out));
    for (int i = 0; i < *n_out; i++) {
        cell *x = &c[i];
        memset(x, 0, sizeof *x);
        snprintf(x->arch, sizeof x->arch, "%s", t[i].arch);
        x->index = t[i].index;
        x->test = t[i].test;
        x->truth = t[i].truth[0];
        x->csv_params = t[i].params;
        x->csv_flops = t[i].flops;
        x->in = nas_rank_input_missing();
    }
    nas_free(t);
    return NAS_OK;
}

static int cmp_cell_index(const void *a, const void *b) {
    const cell *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* The store's scores of the cells' archs (lowest run first; only run `run` when > 0, except
 * for params and flops). */
static nas_status read_scores(nas_store *db, int64_t run, cell *c, int n, int *n_scored) {
    nas_store_table q;
    memset(&q, 0, sizeof q);
    NAS_CHECK(nas_store_query_sql(db,
                                  "SELECT s.run_id, s.scorer, a.arch, s.value FROM scores s JOIN "
                                  "architectures a ON a.id = s.arch_id ORDER BY s.run_id",
                                  &q));
    for (int64_t r = 0; r < q.n_rows; r++) {
        const int64_t rid = nas_store_table_at(&q, r, 0)->i;
        const char *scorer = nas_store_table_at(&q, r, 1)->s;
        const char *arch = nas_store_table_at(&q, r, 2)->s;
        const nas_store_value *v = nas_store_table_at(&q, r, 3);
        const double val = v->type == NAS_STORE_REAL  ? v->r
                           : v->type == NAS_STORE_INT ? (double)v->i
                                                      : (double)NAN;
        const bool size = strcmp(scorer, "params") == 0 || strcmp(scorer, "flops") == 0;
        if (run > 0 && rid != run && !size) {
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (strcmp(c[i].arch, arch) != 0) {
                continue;
            }
            nas_rank_input tmp = c[i].in;
            if (nas_rank_input_set(&tmp, scorer, (double)NAN) != NAS_OK) {
                nas_error_clear(); /* not a feature */
                break;
            }
            /* the first run wins: set only when still missing */
            double row_old[NAS_RANK_N_COLS], row_new[NAS_RANK_N_COLS];
            nas_rank_features(&c[i].in, 0, row_old);
            tmp = c[i].in;
            nas_rank_input_set(&tmp, scorer, val);
            nas_rank_features(&tmp, 0, row_new);
            bool fresh = true;
            for (int k = 0; k < NAS_RANK_N_COLS; k++) {
                if (!isnan(row_old[k]) && row_new[k] != row_old[k]) {
                    fresh = false;
                }
            }
            if (fresh) {
                c[i].in = tmp;
            }
            break;
        }
    }
    int scored = 0;
    for (int i = 0; i < n; i++) {
        double row[NAS_RANK_N_COLS];
        nas_rank_features(&c[i].in, 0, row);
        bool any = false;
        for (int k = NAS_RANK_COL_GHN_ACC; k < NAS_RANK_N_COLS; k++) {
            any = any || !isnan(row[k]);
        }
        scored += any;
        /* sizes from the table when the store has none */
        if (isnan(c[i].in.params)) {
            c[i].in.params = c[i].csv_params;
        }
        if (isnan(c[i].in.flops)) {
            c[i].in.flops = c[i].csv_flops;
        }
    }
    *n_scored = scored;
    nas_store_table_free(&q);
    return NAS_OK;
}

/* The pooled embedding of every cell by the GHN of checkpoint `path`, its nets compiled at C, N;
 * *hid receives the embedding size. */
static nas_status embed_cells(const char *path, int C, int N, cell *c, int n, int *hid) {
    nas_ghn g;
    memset(&g, 0, sizeof g);
    nas_ghn_data_info info;
    NAS_CHECK(nas_ghn_load(&g, NULL, &info, path));
    nas_status st = NAS_OK;
    nas_space sp;
    NAS_TRY(nas_space_load(&sp, "nb201"));
    *hid = g.cfg.hid;
    if (*hid > NAS_RANK_EMBED_MAX) {
        st = nas_error(NAS_EINVAL, "%s: hid %d is more than %d embedding columns", path, *hid,
                       NAS_RANK_EMBED_MAX);
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        nas_arch a;
        NAS_TRY(nas_arch_decode(&sp, c[i].arch, &a));
        nas_net_config nc = nas_net_config_default();
        nc.C = C;
        nc.N = N;
        nc.classes = g.cfg.classes;
        if (info.in_c > 0) {
            nc.in_c = info.in_c;
            nc.in_h = info.in_h;
            nc.in_w = info.in_w;
        }
        nas_net net;
        NAS_TRY(nas_net_compile(&net, &sp, &a, &nc));
        c[i].emb = malloc(sizeof *c[i].emb * (size_t)*hid);
        st = c[i].emb ? nas_rank_embed(&g, &net, c[i].emb) : nas_error(NAS_ENOMEM, "out of memory");
        nas_net_free(&net);
        if (st != NAS_OK) {
            goto cleanup;
        }
    }
cleanup:
    nas_ghn_free(&g);
    return st;
}

/* Keep the columns of the comma-separated list `only` (NULL: all). */
static nas_status apply_only(const char *only, double *X, int n, int d, char *const *names) {
    if (!only) {
        return NAS_OK;
    }
    bool keep[NAS_RANK_N_COLS + NAS_RANK_EMBED_MAX];
    int kept = 0;
    for (int k = 0; k < d; k++) {
        const bool emb = k >= NAS_RANK_N_COLS;
        const char *name = emb ? "emb" : names[k];
        const size_t len = strlen(name);
        keep[k] = false;
        for (const char *p = only; *p;) {
            const size_t l = strcspn(p, ",");
            keep[k] = keep[k] || (l == len && strncmp(p, name, l) == 0);
            p += l + (p[l] == ',');
        }
        kept += keep[k];
    }
    if (kept == 0) {
        return nas_error(NAS_EINVAL, "--only '%s' names no feature column", only);
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < d; k++) {
            if (!keep[k]) {
                X[(size_t)i * (size_t)d + (size_t)k] = (double)NAN;
            }
        }
    }
    return NAS_OK;
}

static void fmt_ci(char *buf, size_t cap, const nas_eval_ci *c) {
    if (isnan(c->value)) {
        snprintf(buf, cap, "-");
    } else if (isnan(c->lo)) {
        snprintf(buf, cap, "%6.3f", c->value);
    } else {
        snprintf(buf, cap, "%6.3f [%6.3f, %6.3f]", c->value, c->lo, c->hi);
    }
}

static void print_header(const char *what) {
    printf("%-14s %-6s %3s  %-22s  %-22s  %-22s  %s\n", "", what, "n", "kendall_tau [95% CI]",
           "spearman_rho", "p@10%", "cv tau");
}

/* tau, rho and precision at the top 10 % of x against y with bootstrap intervals, one line. */
static void print_quality(const char *name, const char *what, const double *x, const double *y,
                          int n, int boot, double cv_tau) {
    nas_eval_ci tau, rho, prec;
    nas_rng r;
    nas_rng_seed(&r, 1);
    int m = 0;
    for (int i = 0; i < n; i++) {
        m += !isnan(x[i]) && !isnan(y[i]);
    }
    if (nas_eval_corr_ci(x, y, n, boot, &r, &tau, &rho) != NAS_OK) {
        return;
    }
    nas_rng_seed(&r, 3);
    if (nas_eval_precision_ci(x, y, n, NAS_EVAL_PREC_FRAC, boot, &r, &prec) != NAS_OK) {
        return;
    }
    char t[64], h[64], p[64];
    fmt_ci(t, sizeof t, &tau);
    fmt_ci(h, sizeof h, &rho);
    fmt_ci(p, sizeof p, &prec);
    printf("%-14s %-6s %3d  %-22s  %-22s  %-22s  ", name, what, m, t, h, p);
    if (isnan(cv_tau)) {
        printf("-\n");
    } else {
        printf("%6.3f\n", cv_tau);
    }
}

int main(int argc, char **argv) {
    const char *db_path = NULL, *csv = "experiments/data/nb201_fmnist_truth.csv";
    const char *truth_col = "val_acc", *labels_arg = "8,16,32,64", *only = NULL, *ghn = NULL;
    long run = 0, folds = 5, boot = 1000, net_C = 8, net_N = 1;
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
            fprintf(stderr, "rank_table: %s needs a value\n", o);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(o, "--csv") == 0) {
            csv = v;
        } else if (strcmp(o, "--run") == 0) {
            run = atol(v);
        } else if (strcmp(o, "--labels") == 0) {
            labels_arg = v;
        } else if (strcmp(o, "--only") == 0) {
            only = v;
        } else if (strcmp(o, "--ghn") == 0) {
            ghn = v;
        } else if (strcmp(o, "--C") == 0) {
            net_C = atol(v);
        } else if (strcmp(o, "--N") == 0) {
            net_N = atol(v);
        } else if (strcmp(o, "--boot") == 0) {
            boot = atol(v);
        } else if (strcmp(o, "--folds") == 0) {
            folds = atol(v);
        } else if (strcmp(o, "--truth") == 0 &&
                   (strcmp(v, "val_acc") == 0 || strcmp(v, "test_acc") == 0)) {
            truth_col = v;
        } else {
            fprintf(stderr, "rank_table: unknown option or value '%s %s'\n", o, v);
            usage(stderr);
            return 2;
        }
    }
    int L[MAX_L], n_L = 0;
    for (const char *p = labels_arg; *p && n_L < MAX_L;) {
        L[n_L++] = atoi(p);
        p += strcspn(p, ",");
        p += *p == ',';
    }
    if (!db_path || folds < 0 || n_L == 0 || boot < 0 || boot > 100000 || net_C < 1 || net_N < 1) {
        usage(stderr);
        return 2;
    }
    int rc = 1;
    nas_store *db = NULL;
    char **names = NULL;
    cell *c = calloc(MAX_CELLS, sizeof *c);
    double *X = NULL, *y = NULL, *Xfit = NULL, *yfit = NULL, *Xtest = NULL, *ytest = NULL;
    double *pred = NULL, *col = NULL;
    int n = 0, n_scored = 0, hid = 0;
    if (!c) {
        fprintf(stderr, "rank_table: out of memory\n");
        goto cleanup;
    }
    if (read_table(csv, truth_col, c, &n) != NAS_OK ||
        nas_store_open(&db, db_path, NAS_STORE_READONLY) != NAS_OK ||
        read_scores(db, run, c, n, &n_scored) != NAS_OK ||
        (ghn && embed_cells(ghn, (int)net_C, (int)net_N, c, n, &hid) != NAS_OK) ||
        nas_rank_feature_names(hid, &names)) {
        fprintf(stderr, "rank_table: %s\n", nas_errmsg());
        goto cleanup;
    }
    qsort(c, (size_t)n, sizeof *c, cmp_cell_index);
    const int d = nas_rank_n_features(hid);
    X = malloc(sizeof *X * (size_t)(n > 0 ? n : 1) * d * 2);
    y = malloc(sizeof *y * (size_t)(n > 0 ? n : 1) * 6);
    if (!X || !y) {
        fprintf(stderr, "rank_table: out of memory\n");
        goto cleanup;
    }
    Xfit = X + (size_t)n * d;
    yfit = y + n;
    ytest = y + 2 * n;
    pred = y + 3 * n;
    col = y + 4 * n;
    int n_fit = 0, n_test = 0;
    for (int i = 0; i < n; i++) {
        c[i].in.embed = c[i].emb;
        nas_rank_features(&c[i].in, hid, X + (size_t)i * d);
        y[i] = c[i].truth;
    }
    if (apply_only(only, X, n, d, names) != NAS_OK) {
        fprintf(stderr, "rank_table: %s\n", nas_errmsg());
        goto cleanup;
    }
    /* fit half in cell order, test half; only cells with a truth */
    Xtest = malloc(sizeof *Xtest * (size_t)(n > 0 ? n : 1) * d);
    if (!Xtest) {
        fprintf(stderr, "rank_table: out of memory\n");
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        if (isnan(y[i])) {
            continue;
        }
        if (c[i].test) {
            memcpy(Xtest + (size_t)n_test * d, X + (size_t)i * d, sizeof *X * d);
            ytest[n_test++] = y[i];
        } else {
            memcpy(Xfit + (size_t)n_fit * d, X + (size_t)i * d, sizeof *X * d);
            yfit[n_fit++] = y[i];
        }
    }
    printf("truth: %s, %s of seed 1: %d fit and %d test cells labelled; %d of %d table cells "
           "have scores in %s%s\n",
           csv, truth_col, n_fit, n_test, n_scored, n, db_path, run > 0 ? " (--run)" : "");
    /* single features on the test half */
    printf("\nsingle features on the test half (raw values, larger first):\n");
    print_header("");
    for (int k = 0; k < NAS_RANK_N_COLS; k++) {
        int m = 0;
        for (int i = 0; i < n_test; i++) {
            col[i] = Xtest[(size_t)i * d + (size_t)k];
            m += !isnan(col[i]);
        }
        if (m < 2) {
            continue;
        }
        print_quality(names[k], "", col, ytest, n_test, (int)boot, (double)NAN);
    }
    printf("\nmodels fitted on the first L labelled fit cells, predicting the test half:\n");
    print_header("labels");
    for (int kind = NAS_RANK_RIDGE; kind <= NAS_RANK_PAIRWISE; kind++) {
        int last = -1;
        for (int l = 0; l < n_L; l++) {
            const int use = L[l] < n_fit ? L[l] : n_fit;
            if (use == last) { /* the table has no more fit labels: same fit as before */
                continue;
            }
            last = use;
            nas_rank_fit_config fc = nas_rank_fit_config_default();
            fc.kind = (nas_rank_kind)kind;
            fc.cv_folds = (int)folds;
            snprintf(fc.id.space, sizeof fc.id.space, "nb201");
            nas_rank_model m;
            if (nas_rank_fit(&fc, Xfit, use, d, (const char *const *)names, yfit, &m) != NAS_OK) {
                printf("%-14s %d/%-4d refused: %s\n", nas_rank_kind_name(fc.kind), use, L[l],
                       nas_errmsg());
                continue;
            }
            if (nas_rank_predict(&m, Xtest, n_test, d, pred, NULL) != NAS_OK) {
                fprintf(stderr, "rank_table: %s\n", nas_errmsg());
                nas_rank_model_free(&m);
                goto cleanup;
            }
            char used[512] = "";
            size_t off = 0;
            for (int k = 0; k < NAS_RANK_N_COLS && off < sizeof used - 32; k++) {
                if (m.used[k]) {
                    off += (size_t)snprintf(used + off, sizeof used - off, "%s%s", off ? "," : "",
                                            names[k]);
                }
            }
            if (m.n_emb > 0) {
                snprintf(used + off, sizeof used - off, "%s%d emb columns -> %d directions",
                         off ? " + " : "", m.n_emb, m.embed_k);
            }
            char hyper[96];
            if (m.kind != NAS_RANK_GP) {
                snprintf(hyper, sizeof hyper, "lambda %g", m.lambda);
            } else {
                snprintf(hyper, sizeof hyper, "length %.3g noise/signal %.3g lml %.2f", m.length,
                         m.noise_var / m.signal_var, m.lml);
            }
            char what[32];
            snprintf(what, sizeof what, "%d/%d", use, L[l]);
            print_quality(nas_rank_kind_name(m.kind), what, pred, ytest, n_test, (int)boot,
                          m.cv_tau);
            printf("%10s %s; %s\n", "", used, hyper);
            nas_rank_model_free(&m);
        }
    }
    /* k-fold CV over every labelled cell of the table */
    int n_all = 0;
    for (int i = 0; i < n; i++) {
        if (!isnan(y[i])) {
            memcpy(Xfit + (size_t)n_all * d, X + (size_t)i * d, sizeof *X * d);
            yfit[n_all++] = y[i];
        }
    }
    printf("\n%ld-fold CV over all %d labelled cells (out-of-fold predictions):\n", folds, n_all);
    print_header("cells");
    for (int kind = NAS_RANK_RIDGE; kind <= NAS_RANK_PAIRWISE; kind++) {
        nas_rank_fit_config fc = nas_rank_fit_config_default();
        fc.kind = (nas_rank_kind)kind;
        fc.cv_folds = (int)folds;
        char what[32];
        snprintf(what, sizeof what, "%d", n_all);
        if (nas_rank_cv(&fc, Xfit, n_all, d, (const char *const *)names, yfit, pred, NULL, NULL) !=
            NAS_OK) {
            printf("%-14s %-6s refused: %s\n", nas_rank_kind_name(fc.kind), what, nas_errmsg());
            continue;
        }
        print_quality(nas_rank_kind_name(fc.kind), what, pred, yfit, n_all, (int)boot, (double)NAN);
    }
    rc = 0;
cleanup:
    nas_store_close(db);
    nas_free(names);
    for (int i = 0; c && i < n; i++) {
        free(c[i].emb);
    }
    free(c);
    free(X);
    free(y);
    free(Xtest);
    return rc;
}
