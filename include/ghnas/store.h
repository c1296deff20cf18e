/*
 * ghnas results store (src/store): one SQLite file holds a whole study -- runs, the GHN models
 * they used, every architecture seen (keyed by space and canonical key), every score, and the
 * trainings of `evaluate` with their learning curves -- readable by the sqlite3 shell, Python and
 * pandas. src/store is the only code that includes sqlite3.h.
 *
 *     nas_store *db;
 *     if (nas_store_open(&db, "ghnas.db", NAS_STORE_CREATE) != NAS_OK) ... nas_errmsg() ...
 *     nas_run_spec rs = {.kind = "search", .space = "nb201", .dataset = "fashion-mnist",
 *                        .scorer = "ghn_acc", .seed = 1, .ghn_id = ghn};
 *     int64_t run;  nas_store_run_create(db, &rs, &run);
 *     for (each candidate i) {
 *         nas_score_hit hit;   // reuse a score of the same arch by the same GHN and recipe
 *         nas_store_score_lookup(db, "nb201", key, "ghn_acc", ghn, recipe, fp, &hit);
 *         ...
 *         nas_store_progress pr = {&rng, i + 1, state_json};          // resume point after i
 *         nas_store_add(db, run, i, &arch_record, scores, n_scores, &pr); // commits every K/T s
 *     }
 *     nas_store_run_set_status(db, run, NAS_RUN_FINISHED);            // flushes first
 *     nas_store_close(db);
 *
 * Files: SQLite in WAL mode (readers never block the writer, the writer blocks readers only for
 * a checkpoint), synchronous=FULL, foreign keys on, a busy timeout. `PRAGMA application_id` is
 * NAS_STORE_APPLICATION_ID ("ghns") and `PRAGMA user_version` the schema version; a writer
 * migrates older files forward. A file that is not SQLite, is truncated, belongs to another
 * application or was written by a newer ghnas is refused with a message and never modified.
 *
 * Writes: one writer per file at a time (SQLite serialises writers; a second one waits up to the
 * busy timeout). Results are collected in a batch and committed in one transaction every K
 * results or T seconds (nas_store_set_batch); the staged resume state is written in the same
 * transaction, so a reader or a resumed run sees a batch whole or not at all, and a process
 * killed at any moment loses at most the uncommitted batch.
 *
 * Threads: a nas_store is used by one thread at a time; open one store per reading thread.
 *
 * The schema (tables, columns, views) is documented in README.md; nas_store_schema_step()
 * returns its SQL.
 */
#pragma once

#include "ghnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NAS_STORE_SCHEMA_VERSION 5          /* PRAGMA user_version written by this build */
#define NAS_STORE_APPLICATION_ID 0x67686E73 /* PRAGMA application_id: "ghns" */

/* Environment variable (testing aid): writers may not grow a file beyond this many pages
 * (PRAGMA max_page_count), which simulates a full disk. */
#define NAS_STORE_MAX_PAGES_ENV "GHNAS_STORE_MAX_PAGES"

typedef struct nas_store nas_store;

/* ---- open / close --------------------------------------------------------------------------- */

enum {
    NAS_STORE_READONLY = 1u << 0, /* SQLITE_OPEN_READONLY; no writer call is allowed */
    NAS_STORE_CREATE = 1u << 1    /* create the file when missing (a writer); never with READONLY */
};

/*
 * Open a results store. Without NAS_STORE_CREATE a missing file is NAS_ENOTFOUND. Refusals
 * (the file is left untouched): not an SQLite file, truncated or empty (NAS_EFORMAT), another
 * application's SQLite file (NAS_EFORMAT), written by a newer ghnas (NAS_EUNSUPPORTED), older
 * schema opened read-only (NAS_EUNSUPPORTED: open it once with a writer to migrate it). A writer
 * on a read-only file or directory, a missing directory or a directory as path: NAS_EIO. SQLite
 * failures: NAS_EDB. Every message names the file.
 */
nas_status nas_store_open(nas_store **out, const char *path, unsigned flags);

/* Close; a pending batch that was not flushed is dropped with a warning. NULL is harmless. */
void nas_store_close(nas_store *db);

typedef struct nas_store_info {
    const char *path;  /* as given to nas_store_open */
    bool readonly;     /* opened with NAS_STORE_READONLY */
    bool created;      /* this open created the file */
    int found_version; /* user_version when opened (0 for a new file) */
    int version;       /* user_version now (NAS_STORE_SCHEMA_VERSION) */
    double seconds;    /* wall time spent inside store calls since open */
    int64_t commits;   /* batch transactions committed */
    int64_t results;   /* nas_store_add results committed */
} nas_store_info;

void nas_store_get_info(const nas_store *db, nas_store_info *info);

/* PRAGMA integrity_check and foreign_key_check: NAS_EDB with the first problems found. */
nas_status nas_store_check(nas_store *db);

/*
 * SQL of one schema step: 1 creates the version-1 schema, v > 1 migrates v-1 to v. NULL outside
 * 1..NAS_STORE_SCHEMA_VERSION. Running steps 1..N in order, then
 * `PRAGMA application_id = NAS_STORE_APPLICATION_ID; PRAGMA user_version = N;`, builds the
 * schema a writer creates.
 */
const char *nas_store_schema_step(int version);

/* ---- runs ----------------------------------------------------------------------------------- */

typedef enum nas_run_status {
    NAS_RUN_RUNNING = 0,
    NAS_RUN_FINISHED = 1,
    NAS_RUN_INTERRUPTED = 2, /* stopped by a signal or killed; resumable */
    NAS_RUN_FAILED = 3
} nas_run_status;

/* "running", "finished", "interrupted", "failed"; "?" for bad values. */
const char *nas_run_status_name(nas_run_status s);

/* What a run is. NULL strings take the defaults shown. */
typedef struct nas_run_spec {
    const char *name;        /* free text label (default "") */
    const char *kind;        /* "search", "evaluate", "train" (required) */
    const char *space;       /* space name or path (required) */
    const char *dataset;     /* dataset name or path (required) */
    const char *scorer;      /* primary objective `top` ranks by (default "") */
    const char *config_json; /* every option of the run, a JSON object (default "{}") */
    uint64_t seed;
    int64_t ghn_id;          /* ghn_models.id used, 0 = none */
    const char *fingerprint; /* the data set's content fingerprint (NULL or "" = unknown) */
    const char *host;        /* default: gethostname() */
    const char *version;     /* default: this ghnas version */
} nas_run_spec;

/* Insert a run with status running (committed at once). */
nas_status nas_store_run_create(nas_store *db, const nas_run_spec *spec, int64_t *run_id);

/* Flush the pending batch, then set the status (finished_at is set for every status but
 * running, cleared for running: resuming a run sets it running again). */
nas_status nas_store_run_set_status(nas_store *db, int64_t run_id, nas_run_status status);

/* One run. Strings are cut to the buffers; config_json is heap text (nas_run_info_free). */
typedef struct nas_run_info {
    int64_t id;
    char name[128];
    char kind[16];
    nas_run_status status;
    char space[512];
    char dataset[512];
    char scorer[64];
    uint64_t seed;
    int64_t ghn_id;                                       /* 0 = none */
    char started_at[32], finished_at[32], updated_at[32]; /* UTC "YYYY-MM-DD HH:MM:SS"; "" */
    char host[128];
    char version[32];
    char fingerprint[17]; /* the data set's content fingerprint ("" = unknown: made before v5) */
    char *config_json;
} nas_run_info;

/* NAS_ENOTFOUND when there is no such run. */
nas_status nas_store_run_get(nas_store *db, int64_t run_id, nas_run_info *out);
void nas_run_info_free(nas_run_info *info);

/*
 * Resume state of a run: its RNG, how many candidates it has handled (n_done) and a strategy
 * state (JSON object text: population, ...), written with the next commit or flush. Results
 * carry their own (nas_store_add's progress); stage a state alone when it changes without a
 * new result (e.g. a reused score).
 */
nas_status nas_store_stage_state(nas_store *db, int64_t run_id, const nas_rng *rng, int64_t n_done,
                                 const char *state_json);

/* The last committed resume state. *found false (and nothing else set) when the run has none;
 * *state_json (may be NULL) is heap text for nas_free. */
nas_status nas_store_load_state(nas_store *db, int64_t run_id, bool *found, nas_rng *rng,
                                int64_t *n_done, char **state_json);

/* Mark runs still "running" whose last commit (or start) is older than max_age_seconds as
 * interrupted: zombies of killed processes. *n_marked may be NULL. */
nas_status nas_store_mark_stale(nas_store *db, double max_age_seconds, int *n_marked);

/*
 * Lock run `run_id` for this writer until nas_store_run_unlock, nas_store_close or the process's
 * end (a killed writer's lock dies with it). NAS_EINVAL when another live process (or another
 * handle) holds it. The locks are byte-range locks on the empty sidecar file <store>-lock, created
 * on first use and removed by the last writer to close the store (a killed one leaves it).
 */
nas_status nas_store_run_lock(nas_store *db, int64_t run_id);
void nas_store_run_unlock(nas_store *db, int64_t run_id);

/* ---- architectures and scores ---------------------------------------------------------------- */

/* An architecture: its canonical key decides identity within a space. */
typedef struct nas_arch_record {
    const char *space;      /* space name (required) */
    const char *canon_key;  /* nas_arch_canon_key text (required) */
    const char *arch;       /* canonical text (nas_arch_encode) of the member scored (required) */
    int64_t n_params;       /* -1 = unknown */
    int64_t flops;          /* -1 = unknown */
    int n_nodes;            /* net IR nodes, -1 = unknown */
    const char *graph_json; /* optional (NULL) */
} nas_arch_record;

typedef struct nas_score_record {
    const char *scorer;   /* "ghn_acc", "ghn_loss", "synflow", ... (required) */
    double value;         /* NaN is stored as NULL (the scorer failed) */
    bool lower_is_better; /* direction, recorded in `scorers` the first time a name is seen */
    const char *recipe;   /* what else must match for reuse (val subset, batch, seed); NULL "" */
    const char *aux_json; /* NULL = none */
    double seconds;       /* time spent computing it */
} nas_score_record;

/* Batch size: commit after max_results results or max_seconds since the first uncommitted one
 * (checked on every add and by nas_store_poll). Defaults 64 and 5 s. */
nas_status nas_store_set_batch(nas_store *db, int max_results, double max_seconds);

/* The resume point of a run after one result, committed in the same transaction as it. */
typedef struct nas_store_progress {
    const nas_rng *rng;     /* RNG state after the candidate was drawn (required) */
    int64_t n_done;         /* candidates handled, this one included */
    const char *state_json; /* strategy state (population, ...); NULL = "{}" */
} nas_store_progress;

/*
 * Add one result (an architecture and its scores) of candidate number `seq` of a run to the
 * batch, with the run's resume point after it (progress; NULL = unchanged), then commit the batch
 * when it is due. A (run, arch, scorer) already stored is kept as it is (a resumed run re-adding
 * a result does not duplicate it). On a failed commit the batch stays pending and the error is
 * returned (NAS_EDB naming the file, e.g. a full disk).
 */
nas_status nas_store_add(nas_store *db, int64_t run_id, int64_t seq, const nas_arch_record *arch,
                         const nas_score_record *scores, int n_scores,
                         const nas_store_progress *progress);

/* Commit the batch when its time is due. */
nas_status nas_store_poll(nas_store *db);
/* Commit the batch (results and staged state) now. */
nas_status nas_store_flush(nas_store *db);
/* Results added and not yet committed. */
int nas_store_pending(const nas_store *db);

/* A stored score found for reuse. */
typedef struct nas_score_hit {
    bool found;
    int64_t run_id;  /* run that computed it (the current one when found in the pending batch) */
    int64_t arch_id; /* 0 when found in the pending batch */
    double value;    /* NaN when stored as NULL */
    double seconds;
} nas_score_hit;

/*
 * A score of the architecture (space, canon_key) by `scorer` with the same recipe, computed in a
 * run that used GHN ghn_id (0 = runs without a GHN) on data of fingerprint `fingerprint` (or of
 * unknown fingerprint; NULL or "" = any), committed or in the pending batch.
 */
nas_status nas_store_score_lookup(nas_store *db, const char *space, const char *canon_key,
                                  const char *scorer, int64_t ghn_id, const char *recipe,
                                  const char *fingerprint, nas_score_hit *hit);

/* architectures.id of (space, canon_key); NAS_ENOTFOUND when not stored (committed). */
nas_status nas_store_arch_find(nas_store *db, const char *space, const char *canon_key,
                               int64_t *arch_id);

/* ---- trainings (evaluate) -------------------------------------------------------------------- */

typedef struct nas_training_spec {
    int64_t run_id;          /* the evaluate run */
    int64_t arch_id;         /* architectures.id */
    const char *recipe_json; /* optimizer, schedule, augmentation, seed: identifies the training */
    const char *init;        /* "scratch" or "ghn" */
    int epochs;              /* planned */
} nas_training_spec;

typedef struct nas_training_info {
    int64_t id;
    nas_run_status status;
    int epochs, epochs_done;
    bool has_checkpoint; /* a resume checkpoint after epochs_done epochs is stored */
    bool resumed;        /* nas_store_training_begin found this training already stored */
} nas_training_info;

/*
 * Start a training, or find the stored one with the same run, arch, init and recipe (a resumed
 * evaluate): then info->resumed is true and epochs_done / has_checkpoint say where it stopped;
 * a finished one is returned as it is, anything else is set running again.
 */
nas_status nas_store_training_begin(nas_store *db, const nas_training_spec *spec,
                                    nas_training_info *info);

/* One finished epoch (numbered from 1). NaN fields are stored as null. */
typedef struct nas_epoch_record {
    int epoch;
    double lr, train_loss, train_acc, val_loss, val_acc;
    double seconds; /* of this epoch */
} nas_epoch_record;

/*
 * Append an epoch to the learning curve and replace the resume checkpoint (NULL/0 keeps none),
 * in one transaction. The epoch must be epochs_done + 1 (NAS_EINVAL otherwise).
 */
nas_status nas_store_training_epoch(nas_store *db, int64_t training_id, const nas_epoch_record *e,
                                    const void *checkpoint, size_t checkpoint_bytes);

/* Final status and accuracies (NaN = unknown, kept as the last epoch's for train/val). A
 * finished training drops its resume checkpoint. */
nas_status nas_store_training_finish(nas_store *db, int64_t training_id, nas_run_status status,
                                     double train_acc, double val_acc, double test_acc);

/* The resume checkpoint (heap bytes for nas_free); NAS_ENOTFOUND when there is none. */
nas_status nas_store_training_checkpoint(nas_store *db, int64_t training_id, void **bytes,
                                         size_t *n);

/* ---- kept weights of finished trainings (schema v4) ---------------------------------------- */

/* What a finished training keeps: its final weights as bytes of a documented layout. */
typedef struct nas_kept_weights {
    const char *format; /* layout name and version, e.g. "ghnas-model/1" */
    int64_t n_params;   /* parameter floats in it */
    const void *bytes;
    size_t n_bytes; /* > 0, < 2 GiB */
} nas_kept_weights;

/*
 * nas_store_training_finish, and when status is finished and kw is non-NULL, the kept weights
 * (trained_weights row, replacing an older one) in the same transaction: a reader sees the
 * training finished together with its weights or neither.
 */
nas_status nas_store_training_finish_kept(nas_store *db, int64_t training_id, nas_run_status status,
                                          double train_acc, double val_acc, double test_acc,
                                          const nas_kept_weights *kw);

/* One training with what its export needs. Strings are heap copies (nas_store_training_free). */
typedef struct nas_store_training {
    int64_t id, run_id, arch_id;
    nas_run_status status;
    int epochs, epochs_done;
    double train_acc, val_acc, test_acc; /* NaN when not recorded */
    double seconds;                      /* training time */
    char *space, *dataset, *arch, *init, *recipe_json;
    bool has_weights;        /* a trained_weights row exists */
    char weights_format[32]; /* its format ("" without) */
    int64_t weights_bytes;   /* its size */
    void *weights;           /* the bytes when asked for and kept (nas_free), else NULL */
} nas_store_training;

/* Training `id` (NAS_ENOTFOUND naming it when unknown); with_weights also reads the kept bytes. */
nas_status nas_store_training_get(nas_store *db, int64_t id, bool with_weights,
                                  nas_store_training *out);
void nas_store_training_free(nas_store_training *t);

/*
 * Delete the kept weights of training `id` (0 = of every training), then VACUUM so the file
 * shrinks. *n_dropped and *bytes (either may be NULL) say how many rows and blob bytes went.
 * An id that has none is NAS_ENOTFOUND. The trainings themselves (accuracies, curves) stay.
 */
nas_status nas_store_drop_weights(nas_store *db, int64_t id, int64_t *n_dropped, int64_t *bytes);

/* ---- GHN models ------------------------------------------------------------------------------ */

typedef struct nas_ghn_record {
    const char *space;       /* required */
    const char *dataset;     /* required */
    const char *fingerprint; /* the data set's content fingerprint (NULL or "" = unknown) */
    const char *config_json; /* default "{}" */
    int64_t steps;
    double train_loss, val_acc, seconds; /* NaN = unknown */
    const void *checkpoint;              /* required: the checkpoint bytes (nas_ghn_save_mem) */
    size_t checkpoint_bytes;
} nas_ghn_record;

nas_status nas_store_ghn_add(nas_store *db, const nas_ghn_record *rec, int64_t *ghn_id);

/* Newest GHN of (space, dataset) whose data fingerprint is `fingerprint` or unknown (NULL
 * column); one with the same fingerprint wins over an unknown one. fingerprint NULL or "" takes
 * any. NAS_ENOTFOUND when none (the message says when only other data's GHNs exist). */
nas_status nas_store_ghn_find(nas_store *db, const char *space, const char *dataset,
                              const char *fingerprint, int64_t *ghn_id);

/* The data fingerprint a GHN row records into out ("" = unknown); NAS_ENOTFOUND for no row. */
nas_status nas_store_ghn_fingerprint(nas_store *db, int64_t ghn_id, char out[17]);

/* The checkpoint of a GHN as heap bytes (nas_free); NAS_ENOTFOUND for an unknown id. */
nas_status nas_store_ghn_checkpoint(nas_store *db, int64_t ghn_id, void **bytes, size_t *n);

/* ---- learned rankers (rank.h) -------------------------------------------------------------- */

typedef struct nas_ranker_record {
    const char *name;        /* label ("" default) */
    const char *space;       /* required */
    const char *dataset;     /* required */
    const char *fingerprint; /* the labels' data fingerprint (NULL or "" = unknown) */
    int64_t ghn_id;          /* GHN whose features it reads (0 = none) */
    const char *model;       /* required: "gp", "ridge", "pairwise" */
    const char *features;    /* the columns it reads, comma-separated */
    int64_t n_labels;        /* labelled architectures it was fitted on */
    const char *labels_json; /* their training ids, a JSON array (default "[]") */
    const char *recipe_json; /* the labels' training recipe and the features' recipe ("{}") */
    double cv_tau, cv_rho;   /* cross-validated quality (NaN = not measured) */
    double seconds;          /* time of the fit (NaN = unknown) */
    const void *checkpoint;  /* required: nas_rank_save bytes */
    size_t checkpoint_bytes;
} nas_ranker_record;

nas_status nas_store_ranker_add(nas_store *db, const nas_ranker_record *rec, int64_t *ranker_id);

/* Newest ranker of (space, dataset) and data fingerprint (as nas_store_ghn_find);
 * NAS_ENOTFOUND when none. */
nas_status nas_store_ranker_find(nas_store *db, const char *space, const char *dataset,
                                 const char *fingerprint, int64_t *ranker_id);

/* The saved model of a ranker as heap bytes (nas_free), and optionally its GHN id (0 = none)
 * and recipe_json (heap, nas_free); NAS_ENOTFOUND for an unknown id. */
nas_status nas_store_ranker_checkpoint(nas_store *db, int64_t ranker_id, void **bytes, size_t *n,
                                       int64_t *ghn_id, char **recipe_json);
/* The data fingerprint a ranker row records into out ("" = unknown); NAS_ENOTFOUND for no row. */
nas_status nas_store_ranker_fingerprint(nas_store *db, int64_t ranker_id, char out[17]);

/* ---- readers: results as tables ------------------------------------------------------------- */

typedef enum nas_store_type {
    NAS_STORE_NULL = 0,
    NAS_STORE_INT = 1,
    NAS_STORE_REAL = 2,
    NAS_STORE_TEXT = 3,
    NAS_STORE_BLOB = 4
} nas_store_type;

typedef struct nas_store_value {
    nas_store_type type;
    int64_t i;     /* INT */
    double r;      /* REAL */
    const char *s; /* TEXT (NUL-terminated) or BLOB bytes, owned by the table */
    size_t n;      /* TEXT / BLOB length in bytes */
} nas_store_value;

typedef struct nas_store_chunk nas_store_chunk;

/* A query result: named columns, rows of typed values. Zero-initialise, then nas_store_table_free.
 */
typedef struct nas_store_table {
    int n_cols;
    char **cols;    /* [n_cols] names */
    bool *col_json; /* [n_cols] column holds JSON text (config_json, curve_json, ...) */
    int64_t n_rows;
    int64_t cap_rows;
    nas_store_value *v;     /* [n_rows * n_cols], row-major */
    nas_store_chunk *chunk; /* text storage */
} nas_store_table;

void nas_store_table_free(nas_store_table *t);
/* Value of row r, column c (bounds-checked by NAS_ASSERT). */
const nas_store_value *nas_store_table_at(const nas_store_table *t, int64_t r, int c);
/* Column index by name, -1 when absent. */
int nas_store_table_col(const nas_store_table *t, const char *name);

/*
 * The scorers recorded in run run_id, by name: columns scorer, higher_is_better (1/0; 1 when the
 * scorers table does not know it), n (non-NULL values).
 */
nas_status nas_store_query_run_scorers(nas_store *db, int64_t run_id, nas_store_table *out);
/* Finished trainings of an evaluate run, best validation accuracy first: arch_id, val_acc,
 * test_acc, epochs, seconds (one row per architecture, its best training). */
nas_status nas_store_query_run_trainings(nas_store *db, int64_t run_id, nas_store_table *out);

/* Every run with its status, primary scorer, number of architectures and best score. */
nas_status nas_store_query_runs(nas_store *db, nas_store_table *out);

/*
 * The k best architectures of a run by a scorer, best first (direction from `scorers`).
 * run_id 0 = the newest run with scores; scorer NULL = the run's primary scorer (else its most
 * frequent one). Columns: rank, arch_id, <scorer>, params, flops, arch.
 */
nas_status nas_store_query_top(nas_store *db, int64_t run_id, const char *scorer, int64_t k,
                               nas_store_table *out);

/*
 * One architecture by id, or by its text or canonical key: its row, every score of it (all runs)
 * and every training of it. Any of the three outputs may be NULL.
 */
nas_status nas_store_query_arch(nas_store *db, const char *id_or_text, nas_store_table *arch,
                                nas_store_table *scores, nas_store_table *trainings);

typedef enum nas_pareto_by { NAS_PARETO_PARAMS = 0, NAS_PARETO_FLOPS = 1 } nas_pareto_by;
/* "params" or "flops"; NAS_EINVAL "unknown cost 'x' (params or flops)" otherwise. */
nas_status nas_pareto_by_from_name(const char *name, nas_pareto_by *out);

/*
 * The Pareto front of a run: architectures no other one beats on both the score (direction from
 * `scorers`) and the cost (params or flops, lower is better), sorted by cost. run_id and scorer
 * as for nas_store_query_top. Columns: arch_id, <scorer>, params|flops, arch.
 */
nas_status nas_store_query_pareto(nas_store *db, int64_t run_id, const char *scorer,
                                  nas_pareto_by by, nas_store_table *out);

/* The GHN models (without checkpoints): id, space, dataset, steps, losses, size, runs using it. */
nas_status nas_store_query_ghns(nas_store *db, nas_store_table *out);

/* Every ranker: id, name, space, dataset, ghn_id, model, n_labels, cv_tau, cv_rho, features,
 * seconds, created_at. */
nas_status nas_store_query_rankers(nas_store *db, nas_store_table *out);

/* The labels a ranker may learn from: finished scratch trainings with a validation accuracy in
 * runs of (space, dataset), of run run_id only unless 0: training id, arch_id, arch,
 * recipe_json, val_acc, run_id, by training id. */
nas_status nas_store_query_labels(nas_store *db, const char *space, const char *dataset,
                                  int64_t run_id, nas_store_table *out);

/*
 * One SQL statement on a store opened with NAS_STORE_READONLY. Anything but a read-only statement
 * (or more than one statement) is refused with NAS_EINVAL before it runs.
 */
nas_status nas_store_query_sql(nas_store *db, const char *sql, nas_store_table *out);

/* ---- testing hooks ----------------------------------------------------------------------------
 */

/* Create a new store file at `path` holding the schema of `version` (1..current), no data. */
nas_status nas_store_debug_create(const char *path, int version);
/* Run SQL on `path` through a plain SQLite connection (creating the file), bypassing every check
 * of nas_store_open: for building foreign, old or damaged files in tests. */
nas_status nas_store_debug_exec(const char *path, const char *sql);

#ifdef __cplusplus
}
#endif
