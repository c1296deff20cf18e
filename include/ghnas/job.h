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
#include "ghnas/ghn.h"
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

typedef struct nas_job_search_params {
    const char *db;       /* results store, created when missing ("ghnas.db") */
    const char *space;    /* built-in name or .json path ("nb201") */
    const char *data;     /* data set name ("fashion-mnist"; see nas_data_open) */
    const char *data_dir; /* NULL = the data set's default directory */
    const char *strategy; /* "evolution", "random", "exhaustive", "local" */
    const char *scorer;   /* what the search optimises ("ghn") */
    const char *scorers;  /* more scorers recorded for every candidate, comma-separated (NULL) */
    const char *ghn;      /* a stored GHN id or a checkpoint file to import (NULL = the newest
                             stored GHN of the space and data set, else train one) */
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
                             and data come from it; eval_* and budget too unless in given) */
    bool force;           /* resume a run still marked running */
    bool quiet;           /* no progress bars */
    unsigned given;       /* NAS_JOB_GIVEN_* */
    const volatile sig_atomic_t *stop; /* polled; non-zero stops and marks the run interrupted */
    /* Called once the search part is done, before the closing evaluation (NULL = none). */
    void (*on_searched)(const struct nas_job_search_result *res, void *user);
    void *user;
} nas_job_search_params;

nas_job_search_params nas_job_search_defaults(void);

typedef struct nas_job_search_result {
    nas_search_result search;         /* the run's figures (run_id 0: never started) */
    char scorer[NAS_SCORER_NAME_MAX]; /* the primary scorer's stored name */
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
    char space[64];            /* the space's name */
    char decoder[16];          /* ghn: decoder name */
    char dataset[32];          /* the data set scored on */
    int64_t n_eval;            /* ghn: validation images */
    uint64_t split_seed;       /* ghn: their split seed */
    int eval_batch;            /* ghn: BN batch */
    char data_id[160];         /* proxies: where their batch comes from */
    int proxy_batch;           /* proxies: images in it */
    nas_job_score_item *items; /* [n] given archs first, then the random ones */
    int n;
} nas_job_score_result;

nas_status nas_job_score(const nas_job_score_params *p, nas_job_score_result *res);
void nas_job_score_result_free(nas_job_score_result *res);

/* ---- query: read a results store ------------------------------------------------------------ */

typedef enum nas_job_query_action {
    NAS_QUERY_RUNS = 0, /* every run */
    NAS_QUERY_TOP,      /* a run's best architectures */
    NAS_QUERY_ARCH,     /* one architecture (arg: id, text or canonical key), its scores and
                           trainings: three tables */
    NAS_QUERY_PARETO,   /* a run's Pareto front */
    NAS_QUERY_GHNS,     /* the stored GHNs */
    NAS_QUERY_SQL,      /* one read-only statement (arg) */
    NAS_QUERY_UPGRADE,  /* migrate the store's schema: no table */
    NAS_QUERY_CHECK,    /* full integrity and foreign-key check (read-only): no table; NAS_EDB
                           naming the problems and how to recover the readable rows */
    NAS_QUERY_COUNT
} nas_job_query_action;

/* "runs", "top", "arch", "pareto", "ghns", "sql", "upgrade", "check". */
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

#ifdef __cplusplus
}
#endif
