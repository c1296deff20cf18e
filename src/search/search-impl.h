/*
 * Internals of the search controller shared by its files and the strategies: the run's history
 * (every result in candidate order, indexed by canonical key; history.c), the candidates of the
 * current round, the strategy interface, the scoring session (controller.c, resume.c) and the
 * JSON helpers of the run record and strategy states (record.c).
 */
#pragma once

#include "ghnas/search.h"

#include <jansson.h>

/* ---- history and candidates ------------------------------------------------------------------ */

/* One result of the run (history index = its candidate number, seq). */
typedef struct nas_i_hist {
    char *key;    /* canonical key (heap) */
    char *text;   /* arch text (heap): the member scored, or its class's stored representative */
    double value; /* primary score, NaN when it failed */
} nas_i_hist;

/* Tags strategies give their proposals. */
enum { NAS_I_TAG_RANDOM = 0, NAS_I_TAG_CHILD = 1, NAS_I_TAG_NEIGHBOUR = 2, NAS_I_TAG_RESTART = 3 };

/* A candidate of the current round. */
typedef struct nas_i_cand {
    nas_arch arch;
    char key[NAS_CANON_KEY_MAX];
    char text[NAS_ARCH_STR_MAX];
    int tag;
    /* outcome */
    bool done;   /* has a value (scored or reused) */
    bool reused; /* value from a stored score */
    int64_t reused_run;
    double value;
    double seconds;
    nas_status st; /* scoring status (NAS_OK or the failure recorded as NaN) */
    char aux[NAS_SCORE_AUX_MAX];
    /* the extra scorers (nas_search_config.extra): values (NaN = failed) and error texts */
    double xvalue[NAS_SEARCH_EXTRA_MAX];
    double xseconds[NAS_SEARCH_EXTRA_MAX];
    char xaux[NAS_SEARCH_EXTRA_MAX][NAS_SCORE_AUX_MAX];
    int64_t n_params, flops; /* -1 when not compiled */
    int n_nodes;
} nas_i_cand;

typedef struct nas_i_search nas_i_search;

typedef enum nas_i_proposal {
    NAS_I_PROPOSED = 0, /* *c holds a new candidate */
    NAS_I_WAIT = 1,     /* nothing until this round's results are in */
    NAS_I_DONE = 2      /* no new architecture left */
} nas_i_proposal;

typedef struct nas_i_strategy_ops {
    nas_strategy kind;
    /* fresh run; may not draw from s->rng */
    nas_status (*init)(nas_i_search *s);
    /* resumed run: state is the object save() wrote */
    nas_status (*restore)(nas_i_search *s, json_t *state);
    /* one proposal; a PROPOSED candidate must be new (nas_i_search_check said NEW) */
    nas_status (*propose)(nas_i_search *s, nas_i_cand *c, nas_i_proposal *r);
    /* the result of a proposal, in proposal order; seq = its history index */
    nas_status (*observe)(nas_i_search *s, const nas_i_cand *c, int64_t seq);
    /* after the last observe of a round */
    nas_status (*end_round)(nas_i_search *s);
    /* state at a round boundary: a new JSON object (the caller owns it), NULL when out of
       memory */
    json_t *(*save)(nas_i_search *s);
    void (*free)(nas_i_search *s);
} nas_i_strategy_ops;

extern const nas_i_strategy_ops nas_i_random_ops;
extern const nas_i_strategy_ops nas_i_evolution_ops;
extern const nas_i_strategy_ops nas_i_exhaustive_ops;
extern const nas_i_strategy_ops nas_i_local_ops;

struct nas_i_search {
    const nas_space *sp;
    nas_canon_kind canon;
    nas_search_config cfg;
    bool higher_is_better;
    nas_rng rng; /* the run's stream */
    /* history */
    nas_i_hist *hist;
    int64_t n_hist, cap_hist;
    int64_t *index;  /* open addressing: history index + 1, 0 = empty */
    int64_t n_index; /* power of two */
    /* current round */
    nas_i_cand *round;
    nas_score_cand *scored; /* [cfg.round] the round's scoring (nas_score_candidates) */
    int n_round;
    int64_t n_duplicates; /* proposals found already scored (this call) */
    /* strategy */
    const nas_i_strategy_ops *ops;
    void *st;
};

typedef enum nas_i_check {
    NAS_I_NEW = 0,     /* not scored by this run, not in the round */
    NAS_I_SEEN = 1,    /* scored by this run: *hist_index says which */
    NAS_I_PENDING = 2, /* already a candidate of the current round */
    NAS_I_INVALID = 3  /* not a valid member (computes nothing): never proposed */
} nas_i_check;

/* Fill c->key and c->text from c->arch and classify it. hist_index may be NULL. */
nas_status nas_i_search_check(nas_i_search *s, nas_i_cand *c, nas_i_check *r, int64_t *hist_index);
/* History index of a canonical key, -1 when not scored by this run. */
int64_t nas_i_search_find(const nas_i_search *s, const char *key);

/* a strictly better than b under the scorer's direction; NaN is worse than everything. */
bool nas_i_better(const nas_i_search *s, double a, double b);

/* Consecutive already-scored draws after which a sampling strategy declares the space done. */
#define NAS_I_DUP_LIMIT 20000

/* A uniformly random valid member that is NEW (tag RANDOM); *found false after NAS_I_DUP_LIMIT
 * draws in a row that were not. */
nas_status nas_i_sample_new(nas_i_search *s, nas_i_cand *c, bool *found);

/* ---- history (history.c) --------------------------------------------------------------------- */

/* Append a result (copies of key and text) to the history and its key index. */
nas_status nas_i_hist_add(nas_i_search *s, const char *key, const char *text, double value);
/* The run's results before its resume point, in candidate order, through a reader connection. */
nas_status nas_i_hist_load(nas_i_search *s, nas_store *db, int64_t run_id, const char *scorer,
                           int64_t n_done);
/* Free the history and its index (s->n_hist = 0). */
void nas_i_hist_free(nas_i_search *s);

/* ---- scoring session (controller.c, used by resume.c) ---------------------------------------- */

typedef struct nas_i_session {
    nas_store *db;
    const nas_scorer *sc;
    int64_t run_id;
    int64_t ghn_id;
    char recipe[NAS_SEARCH_RECIPE_MAX]; /* scorer recipe + net configuration */
    nas_net_config net;                 /* resolved */
    int n_extra;                        /* the extra scorers, s->cfg.extra */
    char xrecipe[NAS_SEARCH_EXTRA_MAX][NAS_SEARCH_RECIPE_MAX];
    char *space_json; /* the space file's content (nas_space_content; heap), NULL without one */
} nas_i_session;

nas_status nas_i_config_validate(const nas_search_config *c);
/* Zero *s, copy the configuration, allocate the round and seed the run's stream. */
nas_status nas_i_search_init(nas_i_search *s, const nas_space *sp, const nas_search_config *cfg);
void nas_i_search_free(nas_i_search *s);
/* Resolve the net configuration and the recipes by compiling one member; check the scorers; read
 * the space's content. A recipe ends with "; space <digest>" when the space has a digest (every
 * loaded space): a score is reused only for the same space content. Free with
 * nas_i_session_free. */
nas_status nas_i_session_prepare(nas_i_search *s, nas_i_session *ss, const nas_scorer *sc);
void nas_i_session_free(nas_i_session *ss);
/* The recipe text of a scorer recipe in session ss (net configuration and space digest). */
void nas_i_recipe_of(const nas_i_search *s, const nas_i_session *ss, const char *scorer_recipe,
                     bool with_space, char *out, size_t cap);
void nas_i_result_init(nas_search_result *res);
/* The round loop of one call (fresh or resumed); the first hard failure. */
nas_status nas_i_session_loop(nas_i_search *s, nas_i_session *ss, nas_search_result *res);
/* Final status, timing and the store figures; keeps the first failure st. */
nas_status nas_i_session_finish(nas_i_session *ss, nas_search_result *res, nas_status st, double t0,
                                double store0);

/* ---- run record and JSON helpers (record.c) -------------------------------------------------- */

/* The record of a prepared session (borrows the session's and configuration's texts). */
void nas_i_record_of(const nas_i_search *s, const nas_i_session *ss, nas_search_record *rec);

/* A JSON number that reads back to the same double: an integer for integral values (as %.17g
   printed them), else a real (17 digits); null for NaN/Inf. NULL when out of memory. */
json_t *nas_i_json_num(double v);
/* Dump a JSON value (compact spacing ", " / ": ", as the records always had) into buf[cap];
   false when it does not fit or cannot be encoded (buf is then ""). Steals no reference. */
bool nas_i_json_dump_into(const json_t *j, char *buf, size_t cap);
/* {"error": msg} into buf[cap], the message shortened (at a UTF-8 boundary) to fit. */
void nas_i_json_error_into(char *buf, size_t cap, const char *msg);

/* Helpers for strategy state: {"a": arch text, "v": value}; NULL when out of memory. */
json_t *nas_i_json_member_new(const nas_space *sp, const nas_arch *a, double v);
nas_status nas_i_json_member(const nas_space *sp, json_t *obj, const char *what, nas_arch *a,
                             double *v);
/* An integer member of a state object (NAS_EFORMAT naming `what` when missing). */
nas_status nas_i_json_int(json_t *obj, const char *key, const char *what, int64_t *out);
