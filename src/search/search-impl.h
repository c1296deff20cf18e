/*
 * Internals of the search controller shared by the strategies: the run's history (every result
 * in candidate order, indexed by canonical key), the candidates of the current round, the
 * strategy interface, and a small growable text buffer for JSON state.
 */
#pragma once

#include "ghnas/search.h"

#include <jansson.h>

/* ---- text buffer ----------------------------------------------------------------------------- */

typedef struct nas_i_buf {
    char *p;    /* NUL-terminated text (heap), NULL until the first append */
    size_t n;   /* length */
    size_t cap; /* allocated bytes */
    bool oom;   /* an append failed: the text is incomplete */
} nas_i_buf;

void nas_i_buf_printf(nas_i_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal with quotes and escapes. */
void nas_i_buf_json_str(nas_i_buf *b, const char *s);
/* A JSON number that reads back to the same double (%.17g), or null for NaN/Inf. */
void nas_i_buf_json_num(nas_i_buf *b, double v);
void nas_i_buf_free(nas_i_buf *b);

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
    /* state at a round boundary as a JSON object appended to b */
    void (*save)(nas_i_search *s, nas_i_buf *b);
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

/* Helpers for strategy state: {"a": arch text, "v": value}. */
void nas_i_buf_member(nas_i_buf *b, const nas_space *sp, const nas_arch *a, double v);
nas_status nas_i_json_member(const nas_space *sp, json_t *obj, const char *what, nas_arch *a,
                             double *v);
/* An integer member of a state object (NAS_EFORMAT naming `what` when missing). */
nas_status nas_i_json_int(json_t *obj, const char *key, const char *what, int64_t *out);
