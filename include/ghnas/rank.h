/*
 * ghnas learned rankers (src/rank): a regression model fitted on the trainings a results store
 * holds (features of trained architectures -> their validation accuracy), used to rank new
 * architectures cheaply, with an uncertainty the search can exploit.
 *
 * Features (src/rank/features.c). One row per architecture, a fixed layout of named columns:
 *
 *   log_params, log_flops          log of the counts
 *   ghn_acc, ghn_loss              accuracy and cross-entropy of the GHN's predicted weights
 *   log_synflow, log_snip,         log of the zero-cost proxies that are positive sums
 *   log_grad_norm
 *   jacob_cov, naswot              as the proxies give them (already log-scaled)
 *   emb_0 .. emb_{h-1}             the mean over the net's nodes of the GHN node embeddings
 *                                  (nas_rank_embed; h = the GHN's hid, 0 columns without a GHN)
 *
 * A caller fills a nas_rank_input with what it has (NaN = missing; nas_rank_input_set maps a
 * scorer name to its field) and nas_rank_features writes the row. A log of a value <= 0 and any
 * non-finite value (naswot's -inf) are missing (NaN) too.
 *
 * Missing values, the rule: at fit time a column is dropped when any label row lacks it or when it
 * is constant over the label rows; the model records which input columns it reads. At predict
 * time a missing value of a column the model reads is replaced by its training mean (for the
 * embedding columns: the training mean embedding), so a candidate lacking one proxy is still
 * ranked, on the others.
 *
 * The embedding columns ("emb_*") are not used one by one: the fit centres them and keeps their
 * first embed_k principal directions over the label rows (at most n - 1), fixed in the model; the
 * projections are then model inputs like the other columns. Every model input is standardised
 * with the label rows' mean and standard deviation.
 *
 * Models (src/rank/ridge.c, gp.c, pairwise.c), one interface:
 *   ridge  ridge regression; lambda from a log grid 1e-3 .. 1e3 by exact leave-one-out error
 *          (the hat-matrix shortcut). The sd is that of the fitted mean (Bayesian linear
 *          regression with noise variance = the leave-one-out mean squared error).
 *   gp     Gaussian process, isotropic RBF kernel s2 * exp(-|z - z'|^2 / (2 l^2)) + noise; l and
 *          the noise-to-signal ratio from a grid maximising the log marginal likelihood, s2
 *          profiled out in closed form; the sd is that of the latent function (not of a new
 *          training's noise).
 *   pairwise  a linear RankNet: logistic loss on every pair of labels in the wrong order, L2
 *          penalty lambda from a log grid by the Kendall tau of an inner 5-fold split, fitted by
 *          damped Newton steps; the score is mapped to label units by least squares over the
 *          training rows (monotone, so it ranks as the score does). No sd (NaN).
 * Labels are standardised for the fit; predictions come back in label units.
 *
 * Quality: k-fold cross-validation (folds by a seeded shuffle, every fold refitted with its own
 * hyperparameter selection) gives out-of-fold predictions, and Kendall tau / Spearman rho of them
 * against the labels are kept in the model.
 *
 * Saving (src/rank/io.c): the checkpoint container (container.h) of kind "GHNASRNK" with the
 * model, its feature names and the identity the caller set (space, data set, GHN id). Loading
 * refuses a ranker whose identity differs from the one the caller expects.
 *
 *     nas_rank_fit_config fc = nas_rank_fit_config_default();
 *     fc.kind = NAS_RANK_GP;  snprintf(fc.id.space, sizeof fc.id.space, "nb201"); ...
 *     nas_rank_model m;
 *     if (nas_rank_fit(&fc, X, n, d, names, y, &m) != NAS_OK) ... nas_errmsg() ...
 *     nas_rank_predict(&m, Xnew, n_new, d, mean, sd);  ... m.cv_tau ...
 *     nas_rank_save(&m, &bytes, &n_bytes);  nas_rank_model_free(&m);
 *     nas_rank_load(bytes, n_bytes, "ranker 2 of the store", &expect, &m);
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/ghn.h"
#include "ghnas/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- features (src/rank/features.c) --------------------------------------------------------- */

/* The fixed columns, in row order; the embedding columns follow them. */
typedef enum nas_rank_col {
    NAS_RANK_COL_LOG_PARAMS = 0,
    NAS_RANK_COL_LOG_FLOPS,
    NAS_RANK_COL_GHN_ACC,
    NAS_RANK_COL_GHN_LOSS,
    NAS_RANK_COL_LOG_SYNFLOW,
    NAS_RANK_COL_LOG_SNIP,
    NAS_RANK_COL_LOG_GRAD_NORM,
    NAS_RANK_COL_JACOB_COV,
    NAS_RANK_COL_NASWOT,
    NAS_RANK_N_COLS
} nas_rank_col;

#define NAS_RANK_NAME_MAX  32  /* a feature name, NUL included */
#define NAS_RANK_EMBED_MAX 512 /* embedding columns at most */

/* What a caller knows about one architecture; NaN (or embed NULL) = missing. Raw values as the
 * scorers store them; nas_rank_features applies the logs. */
typedef struct nas_rank_input {
    double params, flops;
    double ghn_acc, ghn_loss;
    double synflow, snip, grad_norm, jacob_cov, naswot;
    const double *embed; /* [n_embed] pooled node embedding (nas_rank_embed), not owned */
} nas_rank_input;

/* Everything missing. */
nas_rank_input nas_rank_input_missing(void);

/* Set the field of scorer `name` ("params", "flops", "ghn" or "ghn_acc" (the accuracy, as typed
 * and as stored), "ghn_loss", or a proxy) to value. NAS_ENOTFOUND for a scorer that is not a
 * feature (the input is unchanged). */
nas_status nas_rank_input_set(nas_rank_input *in, const char *name, double value);

/* Columns of a row with n_embed embedding columns: NAS_RANK_N_COLS + n_embed. */
int nas_rank_n_features(int n_embed);

/* The name of column `col` of such a row ("log_params", ..., "emb_7") into buf; returns buf.
 * NAS_RANK_NAME_MAX bytes are enough. */
char *nas_rank_feature_name(int col, char *buf, size_t cap);

/* Names of every column of a row with n_embed embedding columns: *names (nas_free, one block)
 * receives nas_rank_n_features(n_embed) pointers. */
nas_status nas_rank_feature_names(int n_embed, char ***names);

/* One row: row[nas_rank_n_features(n_embed)] from in (in->embed read only when n_embed > 0).
 * NAS_EINVAL for n_embed outside 0 .. NAS_RANK_EMBED_MAX. */
nas_status nas_rank_features(const nas_rank_input *in, int n_embed, double *row);

/* The pooled GHN embedding of a net: out[g->cfg.hid] = the mean over its nodes of
 * nas_ghn_embed's rows (after the GNN and LayerNorm). Thread-safe (own tape). */
nas_status nas_rank_embed(const nas_ghn *g, const nas_net *net, double *out);

/* ---- models (src/rank/model.c, ridge.c, gp.c) ----------------------------------------------- */

/* Numbers are stable (they are in saved rankers). */
typedef enum nas_rank_kind {
    NAS_RANK_RIDGE = 1,
    NAS_RANK_GP = 2,
    NAS_RANK_PAIRWISE = 3,
} nas_rank_kind;

/* "ridge", "gp", "pairwise" ("?" otherwise). */
const char *nas_rank_kind_name(nas_rank_kind k);
/* NAS_EINVAL "unknown ranker model 'x' (known: ridge, gp, pairwise)". */
nas_status nas_rank_kind_parse(const char *s, nas_rank_kind *k);

/* What a ranker was fitted for; loading compares it with what the caller expects. */
typedef struct nas_rank_identity {
    char space[64];                  /* search space ("nb201") */
    char dataset[NAS_DATA_SPEC_MAX]; /* data set the labels were trained on (canonical spec) */
    int64_t ghn_id;                  /* the store's GHN whose features the rows hold (0: none) */
} nas_rank_identity;

typedef struct nas_rank_fit_config {
    nas_rank_kind kind;       /* NAS_RANK_GP (default), NAS_RANK_RIDGE or NAS_RANK_PAIRWISE */
    int embed_k;              /* principal directions kept of the embedding columns (default 3) */
    int cv_folds;             /* k of the k-fold quality estimate (default 5; 0 = none) */
    uint64_t seed;            /* fold assignment (default 1) */
    nas_rank_identity id;     /* copied into the model */
    const int64_t *label_ids; /* [n] optional: the store's ids of the label rows (e.g. training
                                 ids), kept in the model and saved; NULL = none */
} nas_rank_fit_config;

nas_rank_fit_config nas_rank_fit_config_default(void);

/* A fitted ranker. Read the fields; change them only through the functions below. */
typedef struct nas_rank_model {
    nas_rank_kind kind;
    nas_rank_identity id;
    int d;              /* columns of an input row */
    char **names;       /* [d] their names (one block with the strings) */
    uint8_t *used;      /* [d] 1: the model reads the column */
    int n_plain;        /* used columns that are not embeddings (model inputs 0 .. n_plain) */
    int n_emb;          /* used embedding columns */
    int embed_k;        /* principal directions of them (model inputs n_plain .. p) */
    double *e_mean;     /* [n_emb] training mean embedding */
    double *proj;       /* [embed_k, n_emb] principal directions (rows) */
    int p;              /* model inputs: n_plain + embed_k */
    double *mu;         /* [p] standardisation: mean ... */
    double *sd;         /* [p] ... and standard deviation (population) */
    int n;              /* labels seen */
    int64_t *label_ids; /* [n] their ids as the caller gave them (NULL: none given) */
    double y_mean, y_sd;
    /* ridge and pairwise: mean = intercept + w . z in standardised label units */
    double lambda;    /* penalty on standardised inputs and labels */
    double s2;        /* ridge: leave-one-out mean squared error (standardised labels) */
    double *w;        /* [p] weights on standardised inputs */
    double intercept; /* pairwise: of the map from score to label (ridge: 0) */
    /* gp */
    double length, signal_var, noise_var; /* standardised units */
    double lml;                           /* log marginal likelihood of the standardised labels */
    double *z;                            /* [n, p] standardised training inputs */
    double *alpha;                        /* [n] (R + noise/signal I)^-1 t */
    /* the Cholesky factor used for the sd (ridge: of Z'Z + lambda I, p x p; gp: of
     * R + noise/signal I, n x n; pairwise: none, 0), row-major lower triangle */
    int n_chol;
    double *chol;
    /* quality */
    int cv_folds;          /* 0: not measured */
    double cv_tau, cv_rho; /* Kendall tau, Spearman rho of the out-of-fold predictions (NaN:
                              undefined) */
} nas_rank_model;

/*
 * Fit a ranker on X[n, d] (row-major; names[d] the columns, e.g. nas_rank_feature_names) and
 * labels y[n], and measure its k-fold quality (nas_rank_cv, when cfg->cv_folds >= 2 and n >= 4;
 * otherwise cv_folds is 0 and cv_tau, cv_rho NaN). Cost: ridge O(n p^2) per lambda; the GP
 * O(n^3) for each of its 42 grid points; pairwise O(n^2 p^2) per Newton step, for 5 lambdas x 5
 * inner folds and the final fit. All times (1 + folds) with the quality estimate. Refuses
 * (NAS_EINVAL, saying why): fewer than 3 labels, a non-finite label, constant labels, d < 1 or
 * names missing, no usable column left after the missing/constant rule. On failure *m is zeroed.
 */
nas_status nas_rank_fit(const nas_rank_fit_config *cfg, const double *X, int n, int d,
                        const char *const *names, const double *y, nas_rank_model *m);

/*
 * Mean (and, when sd is not NULL, standard deviation; NaN for pairwise) of the label for each
 * row of X[n, d]. NAS_EINVAL when d differs from the model's. Reads the model only, so any
 * number of threads may predict with one model at once.
 */
nas_status nas_rank_predict(const nas_rank_model *m, const double *X, int n, int d, double *mean,
                            double *sd);

/*
 * Out-of-fold predictions pred[n] of k-fold cross-validation (cfg's kind, seed; k =
 * min(cfg->cv_folds, n)), and Kendall tau / Spearman rho of them against y (tau, rho may be
 * NULL). A fold whose training part cannot be fitted (e.g. constant labels) leaves NaN
 * predictions, left out of the correlations. Needs n >= 4 and k >= 2 (NAS_EINVAL).
 */
nas_status nas_rank_cv(const nas_rank_fit_config *cfg, const double *X, int n, int d,
                       const char *const *names, const double *y, double *pred, double *tau,
                       double *rho);

void nas_rank_model_free(nas_rank_model *m);

/* ---- saving (src/rank/io.c) ----------------------------------------------------------------- */

#define NAS_RANK_CKPT_VERSION 1

/* The model as container bytes (*bytes for nas_free). */
nas_status nas_rank_save(const nas_rank_model *m, void **bytes, size_t *n);

/*
 * A model from bytes (`what` names them in messages). With expect non-NULL, refuses
 * (NAS_EINVAL) a ranker fitted for another space or data set (compared when expect's field is
 * not empty) or on another GHN's features (when the ranker has a GHN id). NAS_EFORMAT for
 * corrupt or inconsistent bytes. On failure *m is zeroed.
 */
nas_status nas_rank_load(const void *bytes, size_t n, const char *what,
                         const nas_rank_identity *expect, nas_rank_model *m);

#ifdef __cplusplus
}
#endif
