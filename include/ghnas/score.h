/*
 * ghnas scorers (src/score): the interface every scorer implements and the one registry of
 * scorers. A scorer rates a compiled candidate net with one number; the search controller
 * optimises the primary scorer's value and stores every scorer's value in the results store.
 *
 * The registry is the only list of scorer names. Each entry gives the name users type, the name
 * its values are stored under (scores.scorer), its direction, what it needs, a constructor and a
 * line of help:
 *
 *   params     parameter count of the compiled net            lower is better   needs nothing
 *   flops      2 x multiply-accumulates per image              lower is better   needs nothing
 *   ghn        validation accuracy of GHN-predicted weights    higher (ghn_acc)  a GHN + its data
 *   ghn_loss   their validation cross-entropy                  lower             a GHN + its data
 *   ghn_bn, ghn_bn_loss  the same with BN recalibrated on       higher (ghn_bn_acc) / lower
 *              training images (running statistics) instead of each batch's own
 *   grad_norm, snip, synflow, jacob_cov, naswot
 *              zero-cost proxies at initialisation (proxy.h)   higher is better  a data batch
 *   ranker     validation accuracy a learned ranker (rank.h)   higher is better  a fitted ranker
 *              predicts from the features above                                  (+ its GHN, data)
 *
 *     nas_score_inputs in = {.data = {.ds = &train, .n = train.n, .norm = norm, .batch = 64,
 *                                     .seed = 1, .data_id = "fmnist train"}};
 *     nas_scorer sc;
 *     if (nas_score_make(&sc, "synflow", &in) != NAS_OK) ... nas_errmsg() ...
 *     ... nas_search_run(db, &space, &sc, 0, &cfg, &res) ...;  nas_scorer_free(&sc);
 *
 * Data-free scorers need no inputs: nas_score_make(&sc, "params", NULL).
 *
 * Scoring many candidates: nas_score_candidates (run.c) compiles architectures and scores each
 * with a set of scorers, one candidate per thread -- the one path the search controller's rounds
 * and the score job share.
 *
 * Adding a scorer: a constructor (a file of src/score), one row in the registry (registry.c) and
 * a case in tests/unit/test_score.c if it needs inputs the test does not build yet.
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/data.h"
#include "ghnas/ghn.h"
#include "ghnas/net.h"
#include "ghnas/proxy.h"
#include "ghnas/rank.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the interface -------------------------------------------------------------------------- */

#define NAS_SCORER_NAME_MAX   32
#define NAS_SCORER_RECIPE_MAX 512
#define NAS_SCORE_AUX_MAX     320

/* One scored candidate. */
typedef struct nas_score_value {
    double value;                     /* NaN: could not be scored (stored as NULL) */
    char aux_json[NAS_SCORE_AUX_MAX]; /* extra figures as a JSON object; "" = none */
} nas_score_value;

typedef struct nas_scorer nas_scorer;

/*
 * Score one compiled candidate into *out (value preset to NaN, aux_json to ""). Called from
 * several threads at once with the same scorer: sc->ctx is shared, so any part of it a call
 * changes (a pool of scratch memory) must be synchronised. A failing status is recorded
 * as a NaN score with the message in aux_json; the search goes on.
 */
typedef nas_status (*nas_score_fn)(const nas_scorer *sc, const nas_net *net, nas_score_value *out);

struct nas_scorer {
    char name[NAS_SCORER_NAME_MAX]; /* scores.scorer: "params", "flops", "ghn_acc", ... */
    bool higher_is_better;
    nas_score_fn fn;
    /* Everything besides the scorer name and the GHN that fixes a value (data subset, batch...).
       A stored score is reused only when name, recipe (plus the net configuration, which the
       controller appends) and GHN all match. */
    char recipe[NAS_SCORER_RECIPE_MAX];
    void *ctx;                   /* the scorer's data, shared by concurrent calls */
    void (*ctx_free)(void *ctx); /* NULL: nothing to free */
};

/* Free the context (when ctx_free is set) and zero the scorer. NULL is harmless. */
void nas_scorer_free(nas_scorer *sc);

/* ---- inputs of the scorers that need them ---------------------------------------------------- */

/* What the "ghn" scorer needs; pointers are not owned and must outlive the scorer. */
typedef struct nas_ghn_scorer_config {
    const nas_ghn *ghn;
    const nas_dataset *ds; /* images of the validation subset */
    const int32_t *idx;    /* [n] indices into ds; NULL = the first n */
    int64_t n;             /* >= 1 */
    nas_data_norm norm;
    int batch;           /* evaluation batch: BN uses its statistics (>= 1) */
    const char *data_id; /* where the images come from, for the recipe ("fashion-mnist val ...") */
    /* ghn_bn, ghn_bn_loss: BN recalibrated on these training images instead (ghn.h); calib.ds
       NULL = not available */
    nas_ghn_bn_calib calib;
    const char *calib_id; /* where the calibration images come from, for the recipe */
} nas_ghn_scorer_config;

/* What a registry entry may need (bit flags). */
typedef enum nas_score_needs {
    NAS_SCORE_NEEDS_NONE = 0,
    NAS_SCORE_NEEDS_DATA = 1,  /* a training batch: nas_score_inputs.data (the proxies) */
    NAS_SCORE_NEEDS_GHN = 2,   /* a trained GHN and its validation data: nas_score_inputs.ghn */
    NAS_SCORE_NEEDS_RANKER = 4 /* a fitted ranker: nas_score_inputs.ranker, with the data batch
                                  and (when it was fitted on GHN features) the GHN it reads */
} nas_score_needs;

/* What the "ranker" scorer needs; the model is not owned and must outlive the scorer. */
typedef struct nas_ranker_scorer_config {
    const nas_rank_model *model;
    int64_t id; /* its id in the results store, for the recipe and messages (0 = none) */
} nas_ranker_scorer_config;

/* Everything any registered scorer is made from; a scorer reads only the part it needs. */
typedef struct nas_score_inputs {
    nas_ghn_scorer_config ghn;       /* NAS_SCORE_NEEDS_GHN */
    nas_proxy_config data;           /* NAS_SCORE_NEEDS_DATA */
    nas_ranker_scorer_config ranker; /* NAS_SCORE_NEEDS_RANKER */
} nas_score_inputs;

/* ---- the registry -----------------------------------------------------------------------------
 */

typedef struct nas_score_entry nas_score_entry;

struct nas_score_entry {
    const char *name;      /* what users type: "params", "ghn", "synflow", ... */
    const char *stored;    /* the made scorer's name, scores.scorer ("ghn_acc" for ghn) */
    bool higher_is_better; /* the direction every scorer made from this entry has */
    unsigned needs;        /* NAS_SCORE_NEEDS_* bits */
    /* Make a scorer from the parts of `in` the entry needs (in is NULL when it needs none). */
    nas_status (*make)(nas_scorer *out, const nas_score_entry *e, const nas_score_inputs *in);
    const char *help; /* one line for help texts */
};

/* The registry: *n entries (n may be NULL), in the order help texts list them. */
const nas_score_entry *nas_score_registry(int *n);

/* The entry named `name` (entry names only). NAS_ENOTFOUND "unknown scorer 'x' (known: params,
 * flops, ghn, ...)" otherwise; *out is NULL then. */
nas_status nas_score_find(const char *name, const nas_score_entry **out);

/* True when `name` is an entry of the registry. */
bool nas_score_known(const char *name);

/*
 * Split a comma-separated list of entry names into names[0..*n) (pointers into buf, which
 * receives a copy of list), dropping repeats; NAS_EINVAL naming `opt` and an unknown or empty
 * entry (with the known names), or more than cap entries.
 */
nas_status nas_score_parse_list(const char *opt, const char *list, char *buf, size_t buf_cap,
                                const char **names, int cap, int *n);

/* The entry names joined by ", " into buf (truncated to cap, always terminated); returns the
 * length of the whole list. */
size_t nas_score_names(char *buf, size_t cap);

/*
 * Make scorer `name` of the registry into *out (zeroed first). in may be NULL for scorers that
 * need nothing. NAS_ENOTFOUND for unknown names (listing the known ones), NAS_EINVAL when the
 * inputs the entry needs are missing (in->ghn.ghn / in->data.ds NULL) or bad.
 */
nas_status nas_score_make(nas_scorer *out, const char *name, const nas_score_inputs *in);

/* ---- constructors of single scorers (what the registry's make functions call) ---------------- */

/*
 * The data-free scorers: "params" (parameter count) and "flops" (2 x MACs per image), both
 * lower-is-better. "ghn" (or "ghn_acc"): NAS_EINVAL, it needs nas_scorer_ghn. Any other name,
 * the proxies included: NAS_ENOTFOUND with the registry's names in the message.
 */
nas_status nas_scorer_builtin(nas_scorer *out, const char *name);

/*
 * "ghn_acc": validation accuracy the GHN's predicted weights reach on the subset (higher is
 * better), aux_json {"loss": cross-entropy}. The recipe records data_id, n and batch.
 */
nas_status nas_scorer_ghn(nas_scorer *out, const nas_ghn_scorer_config *cfg);

/*
 * A zero-cost proxy (proxy.h) as a scorer: name = the proxy's name, higher is better, the batch
 * drawn once here (so every candidate sees the same images), weights seeded per candidate from
 * cfg->seed. The recipe records data_id, the subset size, batch, seed, "init torch" and
 * "bn batch". NAS_ENOTFOUND for unknown names, NAS_EINVAL for a bad configuration.
 */
nas_status nas_scorer_proxy(nas_scorer *out, const char *name, const nas_proxy_config *cfg);

/*
 * "ranker": the validation accuracy the fitted ranker cfg->model predicts (higher is better),
 * aux_json {"sd": its standard deviation} when the model gives one. Its features are computed
 * from in (a featurizer of the columns the model reads): NAS_EINVAL, saying what is missing,
 * when the model reads GHN columns and in->ghn.ghn is NULL (or has another width), or proxies
 * and in->data.ds is NULL.
 */
nas_status nas_scorer_ranker(nas_scorer *out, const nas_ranker_scorer_config *cfg,
                             const nas_score_inputs *in);

/* ---- ranker feature rows (ranker.c) ---------------------------------------------------------- */

/* Computes rows of rank.h's feature layout for compiled nets, with the scorers above. */
typedef struct nas_score_featurizer nas_score_featurizer;

/*
 * A featurizer on inputs in (GHN columns and the embedding when in->ghn.ghn is set, proxies when
 * in->data.ds is set; params and FLOPs always). want[d] (d = nas_rank_n_features(the GHN's hid,
 * or 0)) selects the columns to compute (others come out NaN); want NULL = every column the
 * inputs allow. NAS_EINVAL when want asks for a column the inputs cannot give, or d does not
 * match the GHN.
 */
nas_status nas_score_featurizer_make(nas_score_featurizer **out, const nas_score_inputs *in,
                                     const uint8_t *want, int d);

/* Columns of the featurizer's rows. */
int nas_score_featurizer_width(const nas_score_featurizer *f);

/* One row[width] for net (NaN where missing). Thread-safe: any number of threads at once. */
nas_status nas_score_featurize(const nas_score_featurizer *f, const nas_net *net, double *row);

void nas_score_featurizer_free(nas_score_featurizer *f);

/* ---- scoring a set of candidates (run.c) ----------------------------------------------------- */

#define NAS_SCORE_SET_MAX 9   /* scorers applied to each candidate together */
#define NAS_SCORE_MSG_MAX 384 /* an outcome's text: aux_json, or the failure's message */

/* One scorer's outcome on one candidate. */
typedef struct nas_score_outcome {
    double value;                 /* NaN when it failed (or the candidate did not compile) */
    double seconds;               /* time of the scorer's call alone */
    nas_status st;                /* NAS_OK, or the scorer's failure */
    char text[NAS_SCORE_MSG_MAX]; /* st == NAS_OK: the scorer's aux_json ("" = none); else the
                                    failure's message (nas_errmsg() of that thread) */
} nas_score_outcome;

/* One candidate of nas_score_candidates: the caller sets arch; the rest is the outcome. */
typedef struct nas_score_cand {
    const nas_arch *arch;        /* the candidate; NULL = skip it (left untouched) */
    bool done;                   /* compiled (or failed to) and scored; false when the stop
                                    flag or the deadline skipped it */
    nas_status st;               /* NAS_OK, or the compile failure (no scorer ran) */
    char msg[NAS_SCORE_MSG_MAX]; /* the compile failure's message */
    double compile_seconds;      /* time of nas_net_compile */
    int64_t n_params, flops;     /* of the compiled net; -1 when not compiled */
    int n_nodes;                 /* -1 when not compiled */
    nas_score_outcome out[NAS_SCORE_SET_MAX]; /* [n_sc], in scorer order */
} nas_score_cand;

/* How nas_score_candidates runs. */
typedef struct nas_score_run_config {
    int threads;                       /* candidates at once; 0 = nas_get_threads() */
    bool serial;                       /* one at a time regardless (cheap scorers) */
    const volatile sig_atomic_t *stop; /* polled before each candidate; non-zero = skip the rest */
    double deadline; /* nas_time_now() after which the rest is skipped; 0 = none */
} nas_score_run_config;

/*
 * Compile every candidate with net configuration nc and score it with sc[0..n_sc), one candidate
 * per thread (OpenBLAS runs single-threaded inside the parallel region; scorers share their ctx,
 * e.g. the GHN scorer's pool of workspaces). Every scorer runs even when an earlier one failed;
 * failures are recorded in the outcome (value NaN), not returned. Candidates skipped by the stop
 * flag or the deadline keep done false. The scorers' values do not depend on the thread count.
 * NAS_EINVAL for n_sc outside [1, NAS_SCORE_SET_MAX] or a scorer without a function.
 */
nas_status nas_score_candidates(const nas_space *sp, const nas_net_config *nc,
                                const nas_scorer *const *sc, int n_sc, nas_score_cand *cands, int n,
                                const nas_score_run_config *cfg);

#ifdef __cplusplus
}
#endif
