/*
 * ghnas evaluation (src/eval): rank correlations between search scores and trained accuracies
 * (Kendall tau-b and Spearman rho, both handling ties), Pareto-front helpers, and the evaluate
 * driver that trains the chosen architectures of a search run from scratch (or from GHN-predicted
 * weights) with a recorded recipe, stores every epoch of their learning curves with a resume
 * checkpoint, and measures train/validation/test accuracy. The test split is used only here.
 *
 *     nas_eval_config ec = nas_eval_config_default();
 *     ec.search_run = 3;  ec.top_k = 5;  ec.recipe.epochs = 10;
 *     ec.train = &train_images;  ec.test = &test_images;
 *     nas_eval_result er;
 *     if (nas_eval_run(db, &ec, &er) != NAS_OK) ... nas_errmsg() ...
 *     ... er.items[0..er.n), er.kendall_tau, er.spearman_rho ...
 *     nas_eval_result_free(&er);
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/data.h"
#include "ghnas/ghn.h"
#include "ghnas/net.h"
#include "ghnas/space.h"
#include "ghnas/store.h"
#include "ghnas/train.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- statistics (src/eval/stats.c) ---------------------------------------------------------- */

/* The rank statistics of core.h (nas_stats_ranks, nas_stats_kendall_tau, nas_stats_spearman_rho)
 * under their eval names: same arguments, same results. */
nas_status nas_eval_ranks(const double *x, int64_t n, double *ranks);
nas_status nas_eval_kendall_tau(const double *x, const double *y, int64_t n, double *tau);
nas_status nas_eval_spearman_rho(const double *x, const double *y, int64_t n, double *rho);

/* a dominates b: a's score is at least as good, its cost at most b's, and one of them strictly. */
bool nas_eval_dominates(double score_a, double cost_a, double score_b, double cost_b,
                        bool higher_is_better);

/*
 * The Pareto front of (score, cost) points, cost lower-is-better: front[0..*n_front) receives the
 * indices of the points no other point dominates, sorted by cost then index. Points with a NaN
 * score or cost are left out. front has room for n indices. O(n log n).
 */
nas_status nas_eval_pareto(const double *score, const double *cost, int64_t n,
                           bool higher_is_better, int64_t *front, int64_t *n_front);

/* ---- the evaluate driver (src/eval/evaluate.c) ---------------------------------------------- */

typedef struct nas_eval_config {
    int64_t search_run;      /* the search run whose architectures are evaluated (required) */
    int top_k;               /* its K best by its primary scorer ... */
    int sample_k;            /* ... or K of its architectures at random (exactly one > 0) */
    int64_t best_of_run;     /* > 0: top_k means the K best by validation accuracy in this
                                earlier evaluate run of the same search run (a short screening
                                training), not by search score */
    int net_C, net_N;        /* > 0: train at this base width / cells per stage instead of the
                                search run's skeleton (a scaled-up final training) */
    uint64_t seed;           /* sampling and weight initialisation (default 1); a training's
                                stream is seeded from it and the arch text, so a cell trains
                                the same in any store and in any selection */
    const char *init;        /* "scratch" (default: kaiming fan-out) or "ghn" (the run's GHN's
                                predicted weights, then trained) */
    nas_train_recipe recipe; /* SGD Nesterov 0.9, wd 5e-4, lr 0.05 cosine, batch 64, random crop
                                pad 2, 1 epoch, seed 1 (nas_eval_config_default) */
    int bn_calib;            /* > 0: before every validation and the test evaluation, set the
                                BN running statistics to the mean of the batch statistics of
                                this many training batches (no augmentation), as PyTorch's
                                cumulative average does; 0 = the running averages of training */
    int64_t train_n;         /* training images (the first of the training part; 0 = all of it) */
    int64_t val_n;           /* validation images for val_acc (0 = all of the split) */
    int64_t val_offset;      /* skip the first val_offset images of the validation split, e.g.
                                those a search scored its candidates on (0 = none) */
    const char *const *only; /* non-NULL: choose among these architectures (arch texts) of the
                                search run only; the others are left out */
    int n_only;
    int64_t split_n_val;      /* validation split size (0 = the search run's, else 10000) */
    uint64_t split_seed;      /* its seed (0 = the search run's, else 1) */
    int threads;              /* trainings at once (0 = nas_get_threads()) */
    const nas_dataset *train; /* the training split of the dataset (required) */
    const nas_dataset *test;  /* the test split (NULL: no test accuracy) */
    const nas_ghn *ghn;       /* init "ghn": the GHN to predict with */
    bool quiet;               /* no progress bar */
    const volatile sig_atomic_t *stop; /* polled every step; non-zero: stop, keep checkpoints */
} nas_eval_config;

nas_eval_config nas_eval_config_default(void);

typedef struct nas_eval_item {
    int64_t arch_id;
    char arch[NAS_ARCH_STR_MAX];
    double score; /* the search score */
    int64_t n_params;
    int64_t training_id;
    nas_run_status status; /* of the training */
    int epochs_done;
    bool was_done;                       /* finished before this call (skipped) */
    double train_acc, val_acc, test_acc; /* NaN while unknown */
    double seconds;                      /* training time of this call */
    char error[256];                     /* why a training failed ("" otherwise) */
} nas_eval_item;

typedef struct nas_eval_result {
    int64_t run_id;        /* the evaluate run (kind "evaluate") */
    bool resumed;          /* found with the same configuration and continued */
    nas_run_status status; /* finished, interrupted or failed */
    char scorer[64];       /* the search run's primary scorer */
    bool higher_is_better; /* its direction */
    int n;                 /* items */
    nas_eval_item *items;  /* [n] in search-score order, best first */
    int n_corr;            /* finished items the correlations use */
    double kendall_tau;    /* search score vs trained validation accuracy (NaN: undefined) */
    double spearman_rho;
    double seconds;
} nas_eval_result;

/*
 * Evaluate the architectures of cfg->search_run: choose them, find the evaluate run with the same
 * configuration (search run, choice, recipe, data) to continue or start a new one, and train each
 * chosen architecture that is not finished -- in parallel, one per thread -- storing every epoch
 * with a checkpoint, so an interrupted evaluate resumes at the last finished epoch. Finished
 * trainings are skipped. NAS_OK also when interrupted (res->status says so).
 */
nas_status nas_eval_run(nas_store *db, const nas_eval_config *cfg, nas_eval_result *res);

/*
 * Re-estimate m's BN running statistics from data: forward passes with batch statistics over
 * the first n_batches full batches of batch_size images of ds[idx[0..n)] (idx NULL = all, in order;
 * normalised with norm), recording nothing; at batch k the momentum is 1/k, so the result is the
 * mean of the batches' statistics (the variance unbiased, as in training). Weights unchanged.
 */
nas_status nas_eval_calibrate_bn(nas_net_model *m, const nas_dataset *ds, const int32_t *idx,
                                 int64_t n, const nas_data_norm *norm, int batch_size,
                                 int n_batches);
void nas_eval_result_free(nas_eval_result *res);

/* ---- scorer quality (src/eval/corr.c) ------------------------------------------------------- */

/* A rank correlation with a percentile bootstrap interval. */
typedef struct nas_eval_ci {
    double value;  /* on the sample itself (NaN: undefined) */
    double lo, hi; /* 2.5 and 97.5 percentiles over the bootstrap resamples (NaN: undefined) */
} nas_eval_ci;

/* How well one scorer ranks the trained architectures of an evaluate run. */
typedef struct nas_eval_corr {
    char scorer[64];
    bool higher_is_better; /* the scorer's direction as recorded (values are correlated raw) */
    int n;                 /* architectures with a score and a finished training */
    nas_eval_ci tau, rho;  /* Kendall tau-b, Spearman rho: score vs trained val_acc */
    int n_top;             /* the better half: the ceil(n/2) best by trained val_acc */
    nas_eval_ci tau_top, rho_top;
    nas_eval_ci prec, prec_top; /* precision at the top 10 % (nas_eval_precision_at), all / half */
} nas_eval_corr;

/* The share of the top fraction that nas_eval_correlations reports precision at. */
#define NAS_EVAL_PREC_FRAC 0.1

/*
 * Precision at the top: k = ceil(frac * m) over the m complete (non-NaN) pairs; the share of the k
 * largest x that are among the k largest y (ties broken by position). Raw values, like the
 * correlations: for a lower-is-better scorer pass -x. *p is NaN when m is 0.
 */
nas_status nas_eval_precision_at(const double *x, const double *y, int64_t n, double frac,
                                 double *p);
/* The same with a percentile-bootstrap 95 % interval from n_boot resamples of the pairs. */
nas_status nas_eval_precision_ci(const double *x, const double *y, int64_t n, double frac,
                                 int n_boot, nas_rng *rng, nas_eval_ci *p);

/*
 * Percentile bootstrap: n_boot resamples of the pairs with replacement (rng), 95 % interval of
 * tau and rho. NaN pairs are left out first; resamples where a statistic is undefined (constant
 * x or y) are skipped. n_boot 0: value only (lo, hi NaN).
 */
nas_status nas_eval_corr_ci(const double *x, const double *y, int64_t n, int n_boot, nas_rng *rng,
                            nas_eval_ci *tau, nas_eval_ci *rho);

/*
 * For every scorer recorded in search run `search_run` (nas_store_query_run_scorers), the
 * correlation of its raw values with the trained validation accuracy of items[0..n) (finished
 * ones; see nas_eval_run) and the precision at the top NAS_EVAL_PREC_FRAC of its largest values,
 * on all of them and on the better half, with n_boot bootstrap resamples
 * from a stream seeded by `seed`. *out (nas_free) receives *n_out rows in scorer-name order.
 */
nas_status nas_eval_correlations(nas_store *db, int64_t search_run, const nas_eval_item *items,
                                 int n, int n_boot, uint64_t seed, nas_eval_corr **out, int *n_out);

#ifdef __cplusplus
}
#endif
