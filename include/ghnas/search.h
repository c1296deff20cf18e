/*
 * ghnas search controller (src/search): strategies that propose architectures of a space and the
 * controller that runs a search into a results store with a scorer (score.h) -- deduplicated by
 * canonical key, reusing stored scores, scoring in parallel, committing in batches, resumable.
 *
 *     nas_scorer sc;   nas_score_make(&sc, "params", NULL);         // any scorer of score.h
 *     nas_search_config cfg = nas_search_config_default();
 *     cfg.strategy = NAS_STRATEGY_EVOLUTION;  cfg.budget = 500;  cfg.stop = &my_sigint_flag;
 *     nas_search_result res;
 *     if (nas_search_run(db, &space, &sc, ghn_id, &cfg, &res) != NAS_OK) ... nas_errmsg() ...
 *     // later, or after a crash:   nas_search_resume(db, res.run_id, &space, &sc, &cfg, &res);
 *     nas_scorer_free(&sc);
 *
 * Rounds. The controller works in rounds of cfg.round candidates: the strategy proposes them
 * (main thread, from the run's one RNG stream), each is checked against every architecture the
 * run has already scored and the round so far (canonical key, nas_space_default_canon), stored
 * scores of the same architecture by the same scorer, recipe and GHN are reused, the rest are
 * compiled and scored in parallel (OpenMP, one candidate per thread; BLAS runs single-threaded
 * inside; scorers averaging under 2 ms, like params, run on the calling thread), and the results
 * are fed back to the strategy in proposal order. So the sequence of a run depends on its seed
 * and options, never on the thread count or timing.
 *
 * Storage. Only the calling thread touches the store: results go to nas_store_add with candidate
 * number `seq` (0, 1, ...); the last result of every round carries the resume point (RNG, number
 * of results, strategy state as JSON), so the store commits them atomically in its batches. A
 * process killed at any moment loses at most the uncommitted batch; nas_search_resume restores
 * the last round boundary, and results committed past it are found again by the score lookup
 * (same run, same scorer) instead of being recomputed or duplicated.
 *
 * Stopping. cfg.stop is polled between rounds and before every candidate: when it becomes
 * non-zero the search stops proposing, stores what was scored, flushes and marks the run
 * interrupted (NAS_OK is returned with res.status NAS_RUN_INTERRUPTED). Install the signal
 * handlers in the program; the library installs none.
 *
 * Strategies (references/nas.md §4):
 *   random      uniform valid members, skipping ones already scored.
 *   evolution   regularized (aging) evolution: the first `population` candidates are random; then
 *               each child mutates the best of `sample` members drawn without replacement from
 *               the population (the last `population` results), and each result pushes out the
 *               oldest member. A round's children all come from the population at its start.
 *   exhaustive  every canonical class of valid members once, in a seeded random order (so a
 *               budget covers the space evenly); finishes when the space is done.
 *   local       `ls_init` random starts, then hill climbing from the best: draw one-edit
 *               neighbours of the current point (scored or known), move to the best improving one
 *               found by the end of a round; at a local optimum restart from a random member.
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/net.h"
#include "ghnas/score.h"
#include "ghnas/space.h"
#include "ghnas/store.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Scorers recorded next to the primary one (nas_search_config.extra). */
#define NAS_SEARCH_EXTRA_MAX 8

/* ---- strategies ----------------------------------------------------------------------------- */

typedef enum nas_strategy {
    NAS_STRATEGY_RANDOM = 0,
    NAS_STRATEGY_EVOLUTION = 1,
    NAS_STRATEGY_EXHAUSTIVE = 2,
    NAS_STRATEGY_LOCAL = 3,
    NAS_STRATEGY_COUNT
} nas_strategy;

/* "random", "evolution", "exhaustive", "local"; "?" for bad values. */
const char *nas_strategy_name(nas_strategy s);
/* NAS_EINVAL naming the accepted values. */
nas_status nas_strategy_from_name(const char *name, nas_strategy *out);

/* ---- controller (src/search/controller.c, resume.c) ------------------------------------------ */

typedef struct nas_search_config {
    nas_strategy strategy;   /* default evolution */
    int64_t budget;          /* architectures scored by the run in total (resumed results count);
                                0 = no limit (then time_limit, the stop flag or the end of the
                                space ends it) */
    double time_limit;       /* seconds of this call; 0 = no limit */
    uint64_t seed;           /* the run's RNG stream (default 1) */
    int threads;             /* candidates scored at once; 0 = nas_get_threads() */
    int round;               /* candidates proposed per round, 1..256 (default 8) */
    int population;          /* evolution: population size P (default 20) */
    int sample;              /* evolution: tournament size S, 1..P (default 5) */
    int ls_init;             /* local: random starts before climbing (default 10) */
    nas_net_config net;      /* how candidates are compiled (0 fields = the space's skeleton) */
    const char *name;        /* run label (default "") */
    const char *dataset;     /* runs.dataset (default "none") */
    const char *fingerprint; /* runs.data_fingerprint; stored scores of other data are not
                                reused (NULL = unknown: any) */
    const char *extra_json;  /* a JSON object recorded as config_json's "cli" member (NULL = {}) */
    /* More scorers computed on every candidate next to the primary one and stored with it (one
       compile, one pass), e.g. zero-cost proxies for a later correlation study. They do not
       steer the search. Not owned; names distinct from each other and from the primary. A
       resumed run must be given the same extra scorers (names and recipes). */
    const nas_scorer *extra[NAS_SEARCH_EXTRA_MAX];
    int n_extra;
    int batch_results;    /* commit every K results ... (default 64) */
    double batch_seconds; /* ... or T seconds (default 5) */
    bool force;           /* resume: take over a run still marked running though recently
                             updated (its process was killed) */
    bool quiet;           /* no progress bar */
    const volatile sig_atomic_t *stop; /* polled; non-zero = stop and mark interrupted (NULL) */
} nas_search_config;

nas_search_config nas_search_config_default(void);

/* Run figures, filled by nas_search_run / nas_search_resume (also on failure, as far as known). */
typedef struct nas_search_result {
    int64_t run_id;
    nas_run_status status; /* finished, interrupted (stop flag) or failed */
    bool exhausted;        /* the strategy ran out of new architectures */
    bool time_up;          /* time_limit reached */
    int64_t n_results;     /* results of the run, earlier sessions included */
    int64_t n_scored;      /* computed in this call */
    int64_t n_reused;      /* taken from stored scores in this call */
    int64_t n_failed;      /* NaN scores in this call */
    int64_t n_duplicates;  /* proposals dropped as already scored, in this call */
    double best;           /* best value of the run (NaN when none) */
    int64_t best_seq;      /* its candidate number (-1) */
    char best_arch[NAS_ARCH_STR_MAX];
    double seconds;       /* wall time of this call */
    double score_seconds; /* wall time of the scoring phases */
    double store_seconds; /* wall time inside results-store calls */
} nas_search_result;

/*
 * Start a run of kind "search" (status running, config_json holding every option, the scorer as
 * its primary objective, ghn_id 0 = none) and search until the budget, the time limit, the end
 * of the space or the stop flag. NAS_EINVAL for bad options (the message names the field);
 * store failures are returned as they come (the run is left resumable where possible).
 */
nas_status nas_search_run(nas_store *db, const nas_space *sp, const nas_scorer *sc, int64_t ghn_id,
                          const nas_search_config *cfg, nas_search_result *res);

/*
 * Continue run `run_id`: strategy, seed, round, population, sample, ls_init and the net
 * configuration come from the run; cfg supplies budget, time_limit, threads, batching, force,
 * quiet and stop. The space and scorer (name and recipe) must be the ones the run used, else
 * NAS_EINVAL saying what differs. A run marked running and updated in the last 120 s is refused
 * (NAS_EINVAL) unless cfg->force. Finished runs continue too (e.g. with a larger budget).
 */
nas_status nas_search_resume(nas_store *db, int64_t run_id, const nas_space *sp,
                             const nas_scorer *sc, const nas_search_config *cfg,
                             nas_search_result *res);

/* ---- run record (src/search/record.c) ------------------------------------------------------- */

/* scorer recipe + net configuration + the space's content digest */
#define NAS_SEARCH_RECIPE_MAX (NAS_SCORER_RECIPE_MAX + 160)

/* A scorer as the record names it. */
typedef struct nas_search_record_scorer {
    char name[NAS_SCORER_NAME_MAX];
    char recipe[NAS_SEARCH_RECIPE_MAX];
} nas_search_record_scorer;

/*
 * The record of a search run: runs.config_json, every option needed to resume the run. The JSON
 * keys are the on-disk format: strategy, seed, budget, time_limit, round, population, sample,
 * ls_init, net {C, N, in_c, in_h, in_w, classes}, canon, scorer, higher_is_better, recipe,
 * extra_scorers [{name, recipe}], space_path, space_digest, space (the space file's content as a
 * JSON object, so the run can be reproduced after the file changed), cli (the caller's own
 * object). Records written
 * before a key existed lack it: the parser leaves the default ("" / 0 / none) and, for the text
 * keys, says so in the has_* flags.
 */
typedef struct nas_search_record {
    nas_strategy strategy;
    uint64_t seed;
    int64_t budget;    /* 0 = no limit */
    double time_limit; /* seconds; 0 = none */
    int round, population, sample, ls_init;
    nas_net_config net; /* resolved: no 0 fields */
    char canon[16];     /* "published", "igraph" or "text"; "" = not recorded */
    char scorer[NAS_SCORER_NAME_MAX];
    bool higher_is_better;
    bool has_recipe; /* false: the record predates recipes (no stored score matches) */
    char recipe[NAS_SEARCH_RECIPE_MAX];
    int n_extra; /* the extra scorers (0 when the record predates them) */
    nas_search_record_scorer extra[NAS_SEARCH_EXTRA_MAX];
    char space_path[512];  /* "" = not recorded */
    char space_digest[33]; /* nas_space.digest; "" = not recorded (older records) */
    /* The space file's content as compact JSON text (NULL = not recorded): format reads it,
       parse sets a heap copy that nas_search_record_free frees. */
    char *space_json;
    /* The "cli" object as compact JSON text ("{}" when none). nas_search_record_format reads it
       (NULL = {}); nas_search_record_parse sets a heap copy that nas_search_record_free frees. */
    char *cli_json;
} nas_search_record;

/*
 * The record as JSON text into *out (heap, free with nas_free). NAS_EINVAL when cli_json is not a
 * JSON object or a text is not UTF-8; NAS_ENOMEM.
 */
nas_status nas_search_record_format(const nas_search_record *rec, char **out);

/*
 * Parse a record (*out zeroed first; free it with nas_search_record_free, also on failure).
 * NAS_EFORMAT naming the key when the text is not a JSON object or a required key (strategy,
 * round, population, sample, ls_init, the six net integers) is missing or of the wrong type, or
 * an optional one is malformed; NAS_EINVAL for an unknown strategy.
 */
nas_status nas_search_record_parse(const char *config_json, nas_search_record *out);

/*
 * The run and its record: ri (may be NULL; else free it with nas_run_info_free, also on failure)
 * and the parsed config_json. NAS_ENOTFOUND without the run; NAS_EINVAL when it is not a search
 * run; NAS_EFORMAT (naming the run) for a corrupt record.
 */
nas_status nas_search_record_get(nas_store *db, int64_t run_id, nas_run_info *ri,
                                 nas_search_record *out);

/* Free cli_json and zero the record. NULL is harmless. */
void nas_search_record_free(nas_search_record *rec);

#ifdef __cplusplus
}
#endif
