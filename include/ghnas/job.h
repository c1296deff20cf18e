/*
 * ghnas jobs (src/job): the things a user runs -- search, train, score, evaluate -- as library
 * calls. Each job takes a params struct (start from its nas_job_<name>_defaults()) and fills a
 * result struct; it opens the data set by name, resolves and imports the GHN, builds the scorers,
 * writes the run record and resumes runs. Jobs print nothing to stdout (progress bars and
 * nas_log lines on stderr only), install no signal handlers and never exit: the caller owns the
 * output and the stop flag. The command line (src/cli) is one user of this header; a C program
 * is another:
 *
 *     nas_job_search_params p = nas_job_search_defaults();
 *     p.db = "runs.db";  p.scorer = "synflow";  p.budget = 200;  p.eval_top = 0;
 *     nas_job_search_result r;
 *     if (nas_job_search(&p, &r) != NAS_OK) ... nas_errmsg() ...
 *     printf("run %lld best %g\n", (long long)r.search.run_id, r.search.best);
 *     nas_job_search_result_free(&r);
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/eval.h"
#include "ghnas/export.h"
#include "ghnas/ghn.h"
#include "ghnas/plot.h"
#include "ghnas/score.h"
#include "ghnas/search.h"
#include "ghnas/store.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- evaluate: train architectures of a search run ------------------------------------------ */

typedef struct nas_job_evaluate_params {
    const char *db;       /* the results store (required; never created) */
    const char *data_dir; /* data set directory (NULL = the data set's default) */
    nas_eval_config eval; /* what to train and how (nas_eval_config_default(); eval.seed also
                             seeds the recipe); train, test and ghn are filled by the job */
} nas_job_evaluate_params;

nas_job_evaluate_params nas_job_evaluate_defaults(void);

typedef struct nas_job_evaluate_result {
    nas_eval_config config; /* the configuration that ran (train, test, ghn, only cleared) */
    nas_eval_result eval;   /* the trained items and the primary correlation */
    nas_eval_corr *corr;    /* [n_corr] every scorer of the search run vs val_acc (with >= 2
                               finished trainings), NULL when none or not computable */
    int n_corr;
    char corr_error[256]; /* why corr is missing although it was computable ("" = it is not) */
    bool interrupted;     /* the stop flag ended it (finished epochs are stored) */
} nas_job_evaluate_result;

/* Open the store, load the search run's data set (training and test split) and, for init "ghn",
 * its GHN; train, store and correlate (nas_eval_run). NAS_OK also when interrupted. */
nas_status nas_job_evaluate(const nas_job_evaluate_params *p, nas_job_evaluate_result *res);
void nas_job_evaluate_result_free(nas_job_evaluate_result *res);

/* ---- search: the main job ------------------------------------------------------------------- */

/* nas_job_search_params.given: fields a resumed run takes anew instead of from its record. */
enum {
    NAS_JOB_GIVEN_BUDGET = 1u << 0,
    NAS_JOB_GIVEN_EVAL_TOP = 1u << 1,
    NAS_JOB_GIVEN_EVAL_EPOCHS = 1u << 2,
    NAS_JOB_GIVEN_EVAL_TRAIN_N = 1u << 3,
    /* train: */
    NAS_JOB_GIVEN_STEPS = 1u << 4, /* train.steps given (time_limit 0 unless also given) */
    NAS_JOB_GIVEN_TIME = 1u << 5,  /* train.time_limit given (steps 0 unless also given) */
    NAS_JOB_GIVEN_MODEL = 1u << 6, /* ghn config given: a resumed checkpoint must match it */
    NAS_JOB_GIVEN_SPACE = 1u << 7  /* space given: a resumed checkpoint must match it */
};

struct nas_job_search_result;

/* One round of the label-earning loop (nas_job_search_params.learn), as on_round reports it. */
typedef struct nas_job_learn_round {
    int round;          /* 1, 2, ... */
    int64_t eval_run;   /* the evaluate run that trained its candidates */
    int64_t ranker_id;  /* the ranker fitted after it */
    int64_t search_run; /* the search run that ranked with it */
    int trainings;      /* finished trainings of the loop so far */
    int n_labels;       /* labels the ranker saw (0 when it was fitted by an earlier process) */
    double cv_tau;      /* its cross-validated Kendall tau (NaN: not measured here) */
} nas_job_learn_round;

typedef struct nas_job_search_params {
    const char *db;       /* results store, created when missing ("ghnas.db") */
    const char *space;    /* built-in name or .json path ("nb201") */
    const char *data;     /* data set spec: a name or a path ("fashion-mnist"; data.h,
                             nas_data_resolve); runs record its canonical form */
    const char *data_dir; /* NULL = the data set's default directory */
    const char *strategy; /* "evolution", "random", "exhaustive", "local" */
    const char *scorer;   /* what the search optimises ("ghn_loss") */
    const char *scorers;  /* more scorers recorded for every candidate, comma-separated (NULL) */
    const char *ghn;      /* a stored GHN id or a checkpoint file to import (NULL = the newest
                             stored GHN of the space and data set, else train one) */
    const char *ranker;   /* the ranker scorer's ranker: a stored id (NULL = the store's newest
                             of the space and data set) */
    const char *name;     /* run label ("") */
    int64_t budget;       /* architectures scored by the run (500; 0 = no limit) */
    double time_limit;    /* seconds of searching (0 = no limit) */
    double train_time;    /* seconds of GHN training when one is trained (180) */
    int64_t train_steps;  /* > 0: train the GHN for this many steps instead */
    int threads;          /* candidates scored at once (0 = all cores) */
    uint64_t seed;        /* the run's random stream (1) */
    int round;            /* candidates per round (8) */
    int population;       /* evolution: population (20) */
    int sample;           /* evolution: tournament size (5) */
    int ls_init;          /* local: random starts (10) */
    int C, N;             /* skeleton of the scored nets (0 = the space's) */
    int64_t val_n;        /* validation images per GHN score (500) */
    int eval_top;         /* train the best K afterwards (3; 0 = skip) */
    int eval_epochs;      /* epochs of that training (1) */
    int64_t eval_train_n; /* its training images (10000; 0 = all) */
    int64_t resume;       /* > 0: continue this run (space, strategy, scorers, seed, shape, val_n
                             and data come from it; eval_* and budget too unless in given; the
                             loop's learn_* too when it was its first run) */
    /* The label-earning loop (learn.c): after the search, train the learn_round best untrained
       candidates (learn_epochs on learn_train_n images, validated past the GHN's images), fit a
       ranker on every training of that recipe in the store, search again with it (budget as
       above) and train the learn_round it rates best (mean + learn_kappa sd), until learn
       trainings are done; the closing evaluation then takes the last round's run. */
    int learn;               /* trainings in all (0 = no loop) */
    int learn_round;         /* trainings per round (4; >= 3) */
    int learn_epochs;        /* epochs of each (4) */
    int64_t learn_train_n;   /* its training images (10000) */
    const char *learn_model; /* "gp" */
    double learn_kappa;      /* standard deviations added to the mean when choosing (1) */
    bool in_learn;           /* set by the loop for its own searches */
    void (*on_round)(const nas_job_learn_round *r, void *user); /* after each round (NULL) */
    bool force;                        /* resume a run still marked running */
    bool quiet;                        /* no progress bars */
    unsigned given;                    /* NAS_JOB_GIVEN_* */
    const volatile sig_atomic_t *stop; /* polled; non-zero stops and marks the run interrupted */
    /* Called once the search part is done, before the closing evaluation (NULL = none). */
    void (*on_searched)(const struct nas_job_search_result *res, void *user);
    void *user;
} nas_job_search_params;

nas_job_search_params nas_job_search_defaults(void);

typedef struct nas_job_search_result {
    nas_search_result search;         /* the run's figures (run_id 0: never started) */
    char scorer[NAS_SCORER_NAME_MAX]; /* the primary scorer's stored name */
    char space[64];                   /* the space searched */
    int64_t ghn_id;                   /* the GHN used (0 = none) */
    bool evaluated;                   /* the closing evaluation ran */
    nas_job_evaluate_result eval;     /* its result */
    bool interrupted;                 /* the stop flag ended the search or evaluation */
} nas_job_search_result;

/* Resolve (or train and store) the GHN, build the scorers, search (or resume), then train the
 * best eval_top briefly. On failure res->search still tells which run was touched. */
nas_status nas_job_search(const nas_job_search_params *p, nas_job_search_result *res);
void nas_job_search_result_free(nas_job_search_result *res);

/* ---- train: a graph hypernetwork ------------------------------------------------------------ */

typedef struct nas_job_train_params {
    const char *space;                 /* "nb201" */
    const char *data;                  /* "fashion-mnist" */
    const char *data_dir;              /* NULL = the data set's default directory */
    const char *out;                   /* checkpoint file, written every save_every steps and at the
                                          end ("ghn.ckpt") */
    const char *db;                    /* also add the trained GHN to this store (NULL = no) */
    const char *resume;                /* continue the training saved in this checkpoint (NULL) */
    nas_ghn_config ghn;                /* the model (nas_ghn_config_default()) */
    nas_ghn_train_config train;        /* the training (nas_ghn_train_defaults()) */
    int64_t n_val;                     /* validation images split off the training set (10000) */
    int64_t save_every;                /* steps between checkpoints (200; 0 = only at the end) */
    int64_t snapshot_every;            /* > 0 (with db): also add the GHN to the store every this
                                          many steps, as a GHN of its own (its steps recorded), to
                                          compare scores by training length (0 = off) */
    bool quiet;                        /* no progress bar */
    unsigned given;                    /* NAS_JOB_GIVEN_STEPS/TIME/MODEL/SPACE */
    const volatile sig_atomic_t *stop; /* polled every step: save and stop */
} nas_job_train_params;

nas_job_train_params nas_job_train_defaults(void);

typedef struct nas_job_train_result {
    int64_t steps;   /* steps of this call */
    int64_t skipped; /* non-finite steps skipped in total */
    double seconds;  /* training time of this call */
    double last_loss, last_acc;
    double throughput; /* architecture-images per second */
    bool saved;        /* the final checkpoint was written to out */
    bool interrupted;  /* the stop flag ended it */
    int64_t ghn_id;    /* its id in db (0 = not stored) */
} nas_job_train_result;

nas_status nas_job_train(const nas_job_train_params *p, nas_job_train_result *res);

/* ---- score: architectures without training them --------------------------------------------- */

#define NAS_JOB_SCORERS_MAX NAS_SCORE_SET_MAX

typedef struct nas_job_score_params {
    const char *ghn;          /* GHN checkpoint file (needed by the ghn scorer) */
    const char *db;           /* results store of the ranker scorer (its ranker and GHN) */
    const char *ranker;       /* ranker id in db (NULL = the newest of the space and data set) */
    const char *scorers;      /* comma-separated scorer names (NULL = "ghn") */
    const char *space;        /* NULL = the GHN's space, else "nb201" */
    const char *data;         /* data set of the proxies without a GHN ("fashion-mnist") */
    const char *data_dir;     /* NULL = the data set's default directory */
    int C, N;                 /* skeleton (0 = the space's) */
    int64_t val_n;            /* ghn: validation images (2000) */
    int batch;                /* ghn: evaluation batch for BN statistics (0 = the checkpoint's) */
    int64_t random;           /* also score this many random valid architectures */
    uint64_t seed;            /* seed of those (1) */
    int threads;              /* architectures scored at once (0 = all cores) */
    const char *const *archs; /* architecture texts to score */
    int n_archs;
} nas_job_score_params;

nas_job_score_params nas_job_score_defaults(void);

typedef struct nas_job_score_item {
    char arch[NAS_ARCH_STR_MAX];
    double value[NAS_JOB_SCORERS_MAX]; /* per scorer, in names order (ghn: val_acc) */
    double ghn_loss;                   /* ghn: validation cross-entropy */
    int64_t params;
} nas_job_score_item;

typedef struct nas_job_score_result {
    int n_scorers;
    char names[NAS_JOB_SCORERS_MAX][NAS_SCORER_NAME_MAX]; /* as given ("ghn", "synflow", ...) */
    bool has_ghn, has_data, has_params;
    char space[64];                  /* the space's name */
    char decoder[16];                /* ghn: decoder name */
    char dataset[NAS_DATA_SPEC_MAX]; /* the data set scored on (canonical spec) */
    int64_t n_eval;                  /* ghn: validation images */
    uint64_t split_seed;             /* ghn: their split seed */
    int eval_batch;                  /* ghn: BN batch */
    char data_id[160];               /* proxies: where their batch comes from */
    int proxy_batch;                 /* proxies: images in it */
    nas_job_score_item *items;       /* [n] given archs first, then the random ones */
    int n;
} nas_job_score_result;

nas_status nas_job_score(const nas_job_score_params *p, nas_job_score_result *res);
void nas_job_score_result_free(nas_job_score_result *res);

/* ---- rank: fit a learned ranker on a store's trainings --------------------------------------- */

typedef struct nas_job_rank_params {
    const char *db;       /* results store with finished trainings (required; never created) */
    const char *space;    /* search space of the labels ("nb201") */
    const char *data;     /* data set of the labels ("fashion-mnist") */
    const char *data_dir; /* NULL = the data set's default directory */
    int64_t run;          /* labels of this evaluate run only (0 = every run of space + data) */
    int64_t recipe_run;   /* > 0: the labels' recipe is that of this evaluate run's trainings
                             (0 = the recipe with the most trained architectures) */
    const char *model;    /* "gp" (default), "ridge" or "pairwise" */
    const char *ghn;      /* a stored GHN id, a checkpoint file (imported), or "none"; NULL = the
                             store's newest GHN of the space and data set, none if it has none */
    const char *features; /* groups "size,ghn,embed,proxies" or "all" (NULL = all available) */
    int embed_k;          /* principal directions kept of the embedding (3) */
    int cv_folds;         /* k of the cross-validated quality (5; 0 = none) */
    uint64_t seed;        /* folds (1) */
    int64_t val_n;        /* GHN validation images per feature row (500, as the search) */
    int max_labels;       /* the first K labelled architectures only (0 = all) */
    const char *name;     /* the ranker's label ("") */
    int threads;          /* architectures featurised at once (0 = all cores) */
    bool quiet;           /* no progress bars */
} nas_job_rank_params;

nas_job_rank_params nas_job_rank_defaults(void);

typedef struct nas_job_rank_result {
    int64_t ranker_id;  /* its id in the store */
    int64_t ghn_id;     /* the GHN its features read (0 = none) */
    int n_labels;       /* labelled architectures (seeds of one averaged) */
    int n_trainings;    /* trainings behind them */
    char model[16];     /* "gp", ... */
    char groups[64];    /* feature groups computed ("size,ghn,embed,proxies") */
    char features[512]; /* columns the model reads ("log_params,...,emb_*") */
    int cv_folds;       /* 0 = quality not measured */
    double cv_tau, cv_rho;
    double seconds; /* features + fit */
} nas_job_rank_result;

/* Fit a ranker on the store's trainings and store it (nas_store_ranker_add). Refuses, saying why,
 * a store without trainings, fewer than 3 labelled architectures, a GHN of another space or data
 * set, and features that need a GHN when there is none. */
nas_status nas_job_rank(const nas_job_rank_params *p, nas_job_rank_result *res);

/* ---- query: read a results store ------------------------------------------------------------ */

typedef enum nas_job_query_action {
    NAS_QUERY_RUNS = 0, /* every run */
    NAS_QUERY_TOP,      /* a run's best architectures */
    NAS_QUERY_ARCH,     /* one architecture (arg: id, text or canonical key), its scores and
                           trainings: three tables */
    NAS_QUERY_PARETO,   /* a run's Pareto front */
    NAS_QUERY_GHNS,     /* the stored GHNs */
    NAS_QUERY_RANKERS,  /* the stored learned rankers */
    NAS_QUERY_SQL,      /* one read-only statement (arg) */
    NAS_QUERY_UPGRADE,  /* migrate the store's schema: no table */
    NAS_QUERY_CHECK,    /* full integrity and foreign-key check (read-only): no table; NAS_EDB
                           naming the problems and how to recover the readable rows */
    NAS_QUERY_COUNT
} nas_job_query_action;

/* "runs", "top", "arch", "pareto", "ghns", "rankers", "sql", "upgrade", "check". */
const char *nas_job_query_action_name(nas_job_query_action a);

typedef struct nas_job_query_params {
    const char *db; /* the results store (opened read-only except for upgrade; never created) */
    nas_job_query_action action;
    const char *arg;    /* arch: id, text or key; sql: the statement */
    int64_t k;          /* top: how many (10) */
    int64_t run;        /* top, pareto: run id (0 = the newest run with scores) */
    const char *scorer; /* top, pareto: NULL = the run's primary scorer */
    nas_pareto_by by;   /* pareto: the cost (params) */
} nas_job_query_params;

nas_job_query_params nas_job_query_defaults(void);

#define NAS_JOB_QUERY_TABLES 3

typedef struct nas_job_query_result {
    nas_store_table tables[NAS_JOB_QUERY_TABLES];
    int n_tables;                            /* 3 for arch, 0 for upgrade, else 1 */
    const char *names[NAS_JOB_QUERY_TABLES]; /* arch: the tables' names; else NULL */
    int found_version, version;              /* upgrade: the schema before and now */
} nas_job_query_result;

nas_status nas_job_query(const nas_job_query_params *p, nas_job_query_result *res);
void nas_job_query_result_free(nas_job_query_result *res);

/* ---- export / predict: a trained (or GHN-predicted) model ----------------------------------- */

/*
 * Where the model comes from: a finished training of a store (its kept weights), or an
 * architecture with weights predicted by a GHN (or randomly initialised, to test the export
 * itself). Predicted and random weights get BatchNorm running statistics from bn_calib batches
 * of training images (the GHN's data split and normalisation; the random ones: the training
 * split of fashion-mnist without the default validation images, normalised on itself).
 */
typedef struct nas_job_model_source {
    const char *db;       /* results store (with training, or a stored GHN id as ghn) */
    int64_t training;     /* > 0: that finished training of db */
    const char *arch;     /* else this architecture text ... */
    const char *space;    /* ... of this space (NULL = the GHN's, else nb201) */
    const char *ghn;      /* ... with this GHN's weights: a checkpoint file, or an id of db */
    bool random_init;     /* ... or random weights (seed) instead of a GHN's */
    int C, N;             /* skeleton (0 = the space's) */
    uint64_t seed;        /* random weights (1) */
    int bn_calib;         /* BN statistics from this many batches (8) */
    int bn_batch;         /* of this many images (0 = the GHN's evaluation batch, else 128) */
    const char *data_dir; /* data set directory (NULL = default) */
} nas_job_model_source;

/* What the model is, for printing and metadata. */
typedef struct nas_job_model_info {
    char source[160]; /* "training 3 of x.db", "GHN ghn.ckpt", "random init (seed 1)" */
    char space[64];
    char arch[NAS_ARCH_STR_MAX];
    char dataset[NAS_DATA_SPEC_MAX]; /* canonical data spec */
    int64_t n_params;
    int classes;
    double train_acc, val_acc, test_acc; /* a stored training's; NaN otherwise */
    char class_names[8192]; /* a stored training on a folder: its classes, newline-separated, as
                               its search run recorded them ("" = none recorded) */
} nas_job_model_info;

typedef struct nas_job_export_params {
    nas_job_model_source src;
    const char *out;    /* the file written (required; replaced atomically) */
    const char *format; /* "onnx" or "npz" (NULL = by out's extension, else onnx) */
} nas_job_export_params;

nas_job_export_params nas_job_export_defaults(void);

typedef struct nas_job_export_result {
    nas_job_model_info model;
    char format[8]; /* "onnx" or "npz" */
    size_t bytes;   /* written */
    int n_meta;     /* ONNX metadata entries written */
} nas_job_export_result;

/* Resolve the model and write it. Bad sources are NAS_EINVAL / NAS_ENOTFOUND / NAS_EFORMAT with
 * a message naming the training, GHN or file; an unwritable out is NAS_EIO (nothing written). */
nas_status nas_job_export(const nas_job_export_params *p, nas_job_export_result *res);

typedef struct nas_job_predict_params {
    nas_job_model_source src;
    const char *const *inputs; /* image files: PNG, PGM or IDX (nas_data_read_images) */
    int n_inputs;
    const char *labels; /* IDX labels of the one IDX input (NULL = none) */
    int64_t limit;      /* at most this many images (0 = all) */
    int batch;          /* images per forward pass (256) */
} nas_job_predict_params;

nas_job_predict_params nas_job_predict_defaults(void);

typedef struct nas_job_predict_result {
    nas_job_model_info model;
    int64_t n; /* images */
    int classes;
    float *logits;   /* [n, classes] */
    float *probs;    /* [n, classes] softmax of the logits */
    int32_t *pred;   /* [n] argmax */
    int32_t *labels; /* [n] or NULL */
    int32_t *file;   /* [n] index into inputs of each image's file */
    int64_t *index;  /* [n] index of the image in its file */
    double accuracy; /* with labels; NaN otherwise */
} nas_job_predict_result;

nas_status nas_job_predict(const nas_job_predict_params *p, nas_job_predict_result *res);
void nas_job_predict_result_free(nas_job_predict_result *res);

/* Fashion-MNIST's class names ("T-shirt/top", ...; NULL for another data set or class). */
const char *nas_job_class_name(const char *dataset, int k);
/* Class k of a model: its recorded class names (a folder's, into buf), else
 * nas_job_class_name of its data set; NULL when it has none. */
const char *nas_job_model_class(const nas_job_model_info *m, int k, char *buf, size_t cap);

/* Drop the kept weights of training `training` of store `db` (0 = of all), then shrink the
 * file; *n_dropped rows and *bytes of weights. */
nas_status nas_job_drop_weights(const char *db, int64_t training, int64_t *n_dropped,
                                int64_t *bytes);

/* ---- plot: figures of a results store ------------------------------------------------------- */

typedef enum nas_job_plot_kind {
    NAS_JOB_PLOT_HISTORY = 0, /* search score of each candidate by sequence number and the running
                                 best, one panel per scorer of the search run */
    NAS_JOB_PLOT_PARETO,      /* score (or trained accuracy) against params or FLOPs (log), the
                                 Pareto front highlighted */
    NAS_JOB_PLOT_CURVES,      /* train/validation accuracy and loss per epoch of the trainings of
                                 an evaluate run */
    NAS_JOB_PLOT_SCORERS,     /* every scorer against the trained validation accuracy (scatter)
                                 and Kendall tau / Spearman rho with 95 % bootstrap intervals */
    NAS_JOB_PLOT_GHN,         /* a GHN's training loss and batch accuracy by step */
    NAS_JOB_PLOT_KIND_COUNT
} nas_job_plot_kind;

/* "history", "pareto", "curves", "scorers", "ghn"; "?" for bad values. */
const char *nas_job_plot_kind_name(nas_job_plot_kind k);
/* NAS_EINVAL "unknown kind 'x' (history, pareto, ...)" for other names. */
nas_status nas_job_plot_kind_from_name(const char *name, nas_job_plot_kind *out);

typedef struct nas_job_plot_params {
    const char *db;         /* the results store (opened read-only; never created) */
    nas_job_plot_kind kind; /* what to draw */
    int64_t run;            /* 0 = the newest run that has what the kind needs; a search run or
                               one of its evaluate runs (the kinds take what they need of either) */
    const char *scorer;     /* history/pareto: the scorer (NULL = the run's primary one); pareto
                               also "val_acc" / "test_acc": the trained accuracy of the run's
                               evaluate runs */
    nas_pareto_by by;       /* pareto: the cost axis (params) */
    int64_t ghn;            /* ghn: the GHN id (0 = the run's, else the newest stored) */
    const char *out;        /* write the figure here (.svg, .png, .pdf); NULL = into res->bytes */
    nas_plot_format format; /* with out NULL: the format of res->bytes (SVG) */
} nas_job_plot_params;

nas_job_plot_params nas_job_plot_defaults(void);

typedef struct nas_job_plot_result {
    int64_t run_id;       /* the run drawn (history, pareto, scorers: the search run; curves:
                             the evaluate run; ghn: the run whose GHN it is, 0 = none) */
    int64_t eval_run_id;  /* scorers, pareto on trained accuracy: the evaluate run(s) used (the
                             newest one; 0 = none) */
    int64_t ghn_id;       /* ghn: the GHN drawn */
    int64_t n_data;       /* data points of the store the figure shows (candidates, epochs,
                             (score, accuracy) pairs, curve points) */
    int64_t n_front;      /* pareto: architectures on the front */
    char title[256];      /* the figure's title */
    nas_plot_stats stats; /* what was drawn */
    void *bytes;          /* out NULL: the figure (nas_job_plot_result_free) */
    size_t n_bytes;
} nas_job_plot_result;

/* Read what the kind needs from the store and draw it. Errors name the run and what is missing
 * ("run 3 has no trainings: curves come from ghnas evaluate ..."). */
nas_status nas_job_plot(const nas_job_plot_params *p, nas_job_plot_result *res);
void nas_job_plot_result_free(nas_job_plot_result *res);

/* ---- report: one self-contained HTML file of a run ------------------------------------------ */

typedef struct nas_job_report_params {
    const char *db;  /* the results store (opened read-only; never created) */
    int64_t run;     /* the search run (0 = the newest with scores); an evaluate run means its
                        search run */
    const char *out; /* the HTML file (written atomically) */
    int top;         /* leaderboard rows (20) */
    int graphs;      /* best architectures drawn as graphs (3) */
} nas_job_report_params;

nas_job_report_params nas_job_report_defaults(void);

typedef struct nas_job_report_result {
    int64_t run_id; /* the search run reported */
    int n_figures;  /* figures inlined */
    int n_graphs;   /* architecture graphs inlined */
    int n_missing;  /* figures left out (their reasons are in the report) */
    size_t n_bytes; /* size of the file */
} nas_job_report_result;

/* The run's configuration, leaderboard, every figure kind that has data (each with the command
 * that reproduces it), and the best architectures drawn by Graphviz, as one HTML file with
 * every image inlined (no network, no JavaScript). */
nas_status nas_job_report(const nas_job_report_params *p, nas_job_report_result *res);

#ifdef __cplusplus
}
#endif
