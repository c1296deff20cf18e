/*
 * The search controller: configuration and its JSON record, the run's history indexed by
 * canonical key, the round loop (propose on the main thread, reuse stored scores, score the rest
 * in parallel, observe in order, store with the resume point) and resuming a run from its last
 * committed round boundary.
 */
#include "search-impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- text buffer ----------------------------------------------------------------------------- */

static bool buf_reserve(nas_i_buf *b, size_t extra) {
    if (b->oom) {
        return false;
    }
    if (b->n + extra + 1 <= b->cap) {
        return true;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1) {
        cap *= 2;
    }
    char *p = nas_realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void nas_i_buf_printf(nas_i_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0 || !buf_reserve(b, (size_t)len)) {
        va_end(ap2);
        b->oom = true;
        return;
    }
    if ((size_t)len < sizeof small) {
        memcpy(b->p + b->n, small, (size_t)len + 1);
    } else {
        vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap2);
    }
    va_end(ap2);
    b->n += (size_t)len;
}

void nas_i_buf_json_str(nas_i_buf *b, const char *s) {
    nas_i_buf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            nas_i_buf_printf(b, "\\%c", *p);
        } else if (*p < 0x20) {
            nas_i_buf_printf(b, "\\u%04x", *p);
        } else {
            nas_i_buf_printf(b, "%c", *p);
        }
    }
    nas_i_buf_printf(b, "\"");
}

void nas_i_buf_json_num(nas_i_buf *b, double v) {
    if (isfinite(v)) {
        nas_i_buf_printf(b, "%.17g", v);
    } else {
        nas_i_buf_printf(b, "null");
    }
}

void nas_i_buf_free(nas_i_buf *b) {
    nas_free(b->p);
    memset(b, 0, sizeof *b);
}

/* JSON-escape s into dst[cap] as a string body (no quotes), cutting at a character boundary. */
static void json_escape_into(char *dst, size_t cap, const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", *p);
        } else {
            dst[n++] = (char)*p;
        }
    }
    dst[n] = '\0';
}

/* ---- names and configuration ----------------------------------------------------------------- */

static const char *const strategy_names[NAS_STRATEGY_COUNT] = {"random", "evolution", "exhaustive",
                                                               "local"};

const char *nas_strategy_name(nas_strategy s) {
    return (unsigned)s < NAS_STRATEGY_COUNT ? strategy_names[s] : "?";
}

nas_status nas_strategy_from_name(const char *name, nas_strategy *out) {
    for (int k = 0; k < NAS_STRATEGY_COUNT; k++) {
        if (name && strcmp(name, strategy_names[k]) == 0) {
            *out = (nas_strategy)k;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EINVAL,
                     "unknown search strategy '%s' (known: random, evolution, exhaustive, local)",
                     name ? name : "(null)");
}

static const nas_i_strategy_ops *strategy_ops(nas_strategy s) {
    switch (s) {
        case NAS_STRATEGY_RANDOM:
            return &nas_i_random_ops;
        case NAS_STRATEGY_EVOLUTION:
            return &nas_i_evolution_ops;
        case NAS_STRATEGY_EXHAUSTIVE:
            return &nas_i_exhaustive_ops;
        case NAS_STRATEGY_LOCAL:
            return &nas_i_local_ops;
        default:
            return NULL;
    }
}

nas_search_config nas_search_config_default(void) {
    nas_search_config c;
    memset(&c, 0, sizeof c);
    c.strategy = NAS_STRATEGY_EVOLUTION;
    c.seed = 1;
    c.round = 8;
    c.population = 20;
    c.sample = 5;
    c.ls_init = 10;
    c.net = nas_net_config_default();
    c.batch_results = 64;
    c.batch_seconds = 5.0;
    return c;
}

static nas_status config_validate(const nas_search_config *c) {
    if (!strategy_ops(c->strategy)) {
        return nas_error(NAS_EINVAL, "search: strategy %d is not one of %d strategies",
                         (int)c->strategy, NAS_STRATEGY_COUNT);
    }
    if (c->budget < 0) {
        return nas_error(NAS_EINVAL, "search: budget must be >= 0 (0 = no limit), got %lld",
                         (long long)c->budget);
    }
    if (!(c->time_limit >= 0.0) || !isfinite(c->time_limit)) {
        return nas_error(NAS_EINVAL, "search: time limit must be >= 0 s (0 = none), got %g",
                         c->time_limit);
    }
    if (c->threads < 0 || c->threads > 1024) {
        return nas_error(NAS_EINVAL, "search: threads must be in [0, 1024], got %d", c->threads);
    }
    if (c->round < 1 || c->round > 256) {
        return nas_error(NAS_EINVAL, "search: round must be in [1, 256], got %d", c->round);
    }
    if (c->population < 1 || c->population > 100000) {
        return nas_error(NAS_EINVAL, "search: population must be in [1, 100000], got %d",
                         c->population);
    }
    if (c->sample < 1 || c->sample > c->population) {
        return nas_error(NAS_EINVAL, "search: sample must be in [1, population %d], got %d",
                         c->population, c->sample);
    }
    if (c->ls_init < 1 || c->ls_init > 100000) {
        return nas_error(NAS_EINVAL, "search: ls_init must be in [1, 100000], got %d", c->ls_init);
    }
    if (c->batch_results < 1 || !(c->batch_seconds >= 0.0)) {
        return nas_error(NAS_EINVAL, "search: batches need >= 1 result and >= 0 s");
    }
    return NAS_OK;
}

static const char *canon_name(nas_canon_kind k) {
    return k == NAS_CANON_PUBLISHED ? "published" : k == NAS_CANON_IGRAPH ? "igraph" : "text";
}

/* ---- history --------------------------------------------------------------------------------- */

static uint64_t key_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h = (h ^ *p) * 1099511628211ull;
    }
    return h;
}

int64_t nas_i_search_find(const nas_i_search *s, const char *key) {
    if (s->n_index == 0) {
        return -1;
    }
    uint64_t mask = (uint64_t)s->n_index - 1;
    for (uint64_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
        int64_t h = s->index[i];
        if (h == 0) {
            return -1;
        }
        if (strcmp(s->hist[h - 1].key, key) == 0) {
            return h - 1;
        }
    }
}

static void index_put(int64_t *index, int64_t n_index, const char *key, int64_t h) {
    uint64_t mask = (uint64_t)n_index - 1;
    uint64_t i = key_hash(key) & mask;
    while (index[i] != 0) {
        i = (i + 1) & mask;
    }
    index[i] = h + 1;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = nas_malloc(n);
    if (p) {
        memcpy(p, s, n);
    }
    return p;
}

/* Append a result to the history. */
static nas_status hist_add(nas_i_search *s, const char *key, const char *text, double value) {
    if (s->n_hist == s->cap_hist) {
        int64_t cap = s->cap_hist ? 2 * s->cap_hist : 256;
        nas_i_hist *h = nas_realloc(s->hist, (size_t)cap * sizeof *h);
        if (!h) {
            return nas_error(NAS_ENOMEM, "search: out of memory for %lld results", (long long)cap);
        }
        s->hist = h;
        s->cap_hist = cap;
    }
    if (2 * (s->n_hist + 1) > s->n_index) {
        int64_t n = s->n_index ? 2 * s->n_index : 1024;
        int64_t *idx = nas_calloc((size_t)n, sizeof *idx);
        if (!idx) {
            return nas_error(NAS_ENOMEM, "search: out of memory for the key index");
        }
        for (int64_t i = 0; i < s->n_hist; i++) {
            index_put(idx, n, s->hist[i].key, i);
        }
        nas_free(s->index);
        s->index = idx;
        s->n_index = n;
    }
    nas_i_hist *e = &s->hist[s->n_hist];
    e->key = dup_str(key);
    e->text = dup_str(text);
    e->value = value;
    if (!e->key || !e->text) {
        nas_free(e->key);
        nas_free(e->text);
        return nas_error(NAS_ENOMEM, "search: out of memory for a result");
    }
    index_put(s->index, s->n_index, key, s->n_hist);
    s->n_hist++;
    return NAS_OK;
}

static void search_free(nas_i_search *s) {
    if (s->ops && s->ops->free) {
        s->ops->free(s);
    }
    for (int64_t i = 0; i < s->n_hist; i++) {
        nas_free(s->hist[i].key);
        nas_free(s->hist[i].text);
    }
    nas_free(s->hist);
    nas_free(s->index);
    nas_free(s->round);
    memset(s, 0, sizeof *s);
}

/* ---- helpers for strategies ------------------------------------------------------------------ */

bool nas_i_better(const nas_i_search *s, double a, double b) {
    if (isnan(a)) {
        return false;
    }
    if (isnan(b)) {
        return true;
    }
    return s->higher_is_better ? a > b : a < b;
}

nas_status nas_i_search_check(nas_i_search *s, nas_i_cand *c, nas_i_check *r, int64_t *hist_index) {
    if (hist_index) {
        *hist_index = -1;
    }
    if (!nas_arch_is_valid(s->sp, &c->arch)) {
        *r = NAS_I_INVALID;
        return NAS_OK;
    }
    NAS_CHECK(nas_arch_canon_key(s->sp, &c->arch, s->canon, c->key, sizeof c->key));
    int64_t h = nas_i_search_find(s, c->key);
    if (h >= 0) {
        if (hist_index) {
            *hist_index = h;
        }
        *r = NAS_I_SEEN;
        return NAS_OK;
    }
    for (int k = 0; k < s->n_round; k++) {
        if (&s->round[k] != c && strcmp(s->round[k].key, c->key) == 0) {
            *r = NAS_I_PENDING;
            return NAS_OK;
        }
    }
    NAS_CHECK(nas_arch_encode(s->sp, &c->arch, c->text, sizeof c->text));
    *r = NAS_I_NEW;
    return NAS_OK;
}

nas_status nas_i_sample_new(nas_i_search *s, nas_i_cand *c, bool *found) {
    *found = false;
    for (int tries = 0; tries < NAS_I_DUP_LIMIT; tries++) {
        NAS_CHECK(nas_arch_sample(s->sp, &s->rng, &c->arch));
        nas_i_check r;
        NAS_CHECK(nas_i_search_check(s, c, &r, NULL));
        if (r == NAS_I_NEW) {
            c->tag = NAS_I_TAG_RANDOM;
            *found = true;
            return NAS_OK;
        }
        if (r != NAS_I_INVALID) {
            s->n_duplicates++;
        }
    }
    return NAS_OK;
}

void nas_i_buf_member(nas_i_buf *b, const nas_space *sp, const nas_arch *a, double v) {
    char text[NAS_ARCH_STR_MAX];
    if (nas_arch_encode(sp, a, text, sizeof text) != NAS_OK) {
        b->oom = true; /* cannot happen for members; keeps the state from being half-written */
        return;
    }
    nas_i_buf_printf(b, "{\"a\": ");
    nas_i_buf_json_str(b, text);
    nas_i_buf_printf(b, ", \"v\": ");
    nas_i_buf_json_num(b, v);
    nas_i_buf_printf(b, "}");
}

nas_status nas_i_json_member(const nas_space *sp, json_t *obj, const char *what, nas_arch *a,
                             double *v) {
    json_t *ja = json_object_get(obj, "a");
    json_t *jv = json_object_get(obj, "v");
    if (!json_is_object(obj) || !json_is_string(ja) || !(json_is_number(jv) || json_is_null(jv))) {
        return nas_error(NAS_EFORMAT, "search state: %s is not {\"a\": arch, \"v\": value}", what);
    }
    nas_status st = nas_arch_decode(sp, json_string_value(ja), a);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "search state: %s", what);
    }
    *v = json_is_null(jv) ? (double)NAN : json_number_value(jv);
    return NAS_OK;
}

nas_status nas_i_json_int(json_t *obj, const char *key, const char *what, int64_t *out) {
    json_t *j = json_object_get(obj, key);
    if (!json_is_integer(j)) {
        return nas_error(NAS_EFORMAT, "search state: %s has no integer '%s'", what, key);
    }
    *out = (int64_t)json_integer_value(j);
    return NAS_OK;
}

/* ---- scoring --------------------------------------------------------------------------------- */

typedef struct session {
    nas_store *db;
    const nas_scorer *sc;
    int64_t run_id;
    int64_t ghn_id;
    char recipe[NAS_SCORER_RECIPE_MAX + 96]; /* scorer recipe + net configuration */
    nas_net_config net;                      /* resolved */
    int n_extra;                             /* the extra scorers, s->cfg.extra */
    char xrecipe[NAS_SEARCH_EXTRA_MAX][NAS_SCORER_RECIPE_MAX + 96];
} session;

static bool stop_requested(const nas_search_config *c) {
    return c->stop && *c->stop != 0;
}

/* Compile and score one candidate (any thread): the primary scorer, then the extra ones. */
static void score_one(const nas_i_search *s, const session *ss, nas_i_cand *c) {
    double t0 = nas_time_now();
    nas_net net;
    nas_score_value out;
    out.value = (double)NAN;
    out.aux_json[0] = '\0';
    for (int x = 0; x < ss->n_extra; x++) {
        c->xvalue[x] = (double)NAN;
        c->xaux[x][0] = '\0';
    }
    c->st = nas_net_compile(&net, s->sp, &c->arch, &ss->net);
    if (c->st == NAS_OK) {
        c->n_params = net.n_params;
        c->flops = net.flops;
        c->n_nodes = net.n_nodes;
        c->st = ss->sc->fn(ss->sc, &net, &out);
    }
    if (c->st == NAS_OK) {
        c->value = out.value;
        snprintf(c->aux, sizeof c->aux, "%s", out.aux_json);
    } else {
        char msg[NAS_SCORE_AUX_MAX - 16];
        json_escape_into(msg, sizeof msg, nas_errmsg());
        c->value = (double)NAN;
        snprintf(c->aux, sizeof c->aux, "{\"error\": \"%s\"}", msg);
    }
    c->seconds = nas_time_now() - t0;
    if (c->n_nodes < 0) {
        c->done = true;
        return; /* not compiled: the extras stay NaN with the primary's error */
    }
    for (int x = 0; x < ss->n_extra; x++) {
        const nas_scorer *xs = s->cfg.extra[x];
        nas_score_value xo;
        xo.value = (double)NAN;
        xo.aux_json[0] = '\0';
        double tx = nas_time_now();
        nas_status xst = xs->fn(xs, &net, &xo);
        c->xseconds[x] = nas_time_now() - tx;
        if (xst == NAS_OK) {
            c->xvalue[x] = xo.value;
            snprintf(c->xaux[x], sizeof c->xaux[x], "%s", xo.aux_json);
        } else {
            char msg[NAS_SCORE_AUX_MAX - 16];
            json_escape_into(msg, sizeof msg, nas_errmsg());
            snprintf(c->xaux[x], sizeof c->xaux[x], "{\"error\": \"%s\"}", msg);
        }
    }
    nas_net_free(&net);
    c->done = true;
}

/* Store one result of the round; progress non-NULL on the round's last one. */
static nas_status store_one(nas_i_search *s, const session *ss, const nas_i_cand *c, int64_t seq,
                            const nas_store_progress *progress) {
    char aux[NAS_SCORE_AUX_MAX];
    const char *aux_json = c->aux[0] ? c->aux : NULL;
    if (c->reused) {
        snprintf(aux, sizeof aux, "{\"reused_from_run\": %lld}", (long long)c->reused_run);
        aux_json = aux;
    }
    nas_arch_record ar = {.space = s->sp->name,
                          .canon_key = c->key,
                          .arch = c->text,
                          .n_params = c->n_params,
                          .flops = c->flops,
                          .n_nodes = c->n_nodes,
                          .graph_json = NULL};
    nas_score_record rec[1 + NAS_SEARCH_EXTRA_MAX];
    rec[0] = (nas_score_record){.scorer = ss->sc->name,
                                .value = c->value,
                                .lower_is_better = !ss->sc->higher_is_better,
                                .recipe = ss->recipe,
                                .aux_json = aux_json,
                                .seconds = c->seconds};
    for (int x = 0; x < ss->n_extra; x++) {
        const nas_scorer *xs = s->cfg.extra[x];
        rec[1 + x] = (nas_score_record){.scorer = xs->name,
                                        .value = c->xvalue[x],
                                        .lower_is_better = !xs->higher_is_better,
                                        .recipe = ss->xrecipe[x],
                                        .aux_json = c->reused       ? aux
                                                    : c->xaux[x][0] ? c->xaux[x]
                                                                    : NULL,
                                        .seconds = c->xseconds[x]};
    }
    return nas_store_add(ss->db, ss->run_id, seq, &ar, rec, 1 + ss->n_extra, progress);
}

static void update_best(nas_i_search *s, nas_search_result *res, int64_t seq) {
    const nas_i_hist *h = &s->hist[seq];
    if (!isnan(h->value) && (res->best_seq < 0 || nas_i_better(s, h->value, res->best))) {
        res->best = h->value;
        res->best_seq = seq;
        snprintf(res->best_arch, sizeof res->best_arch, "%s", h->text);
    }
}

/*
 * The round loop of one call (fresh or resumed). Returns the first hard failure; the run's final
 * status is set by the caller from res->status.
 */
static nas_status session_loop(nas_i_search *s, session *ss, nas_search_result *res) {
    const nas_search_config *cfg = &s->cfg;
    const double t_start = nas_time_now();
    const double deadline = cfg->time_limit > 0.0 ? t_start + cfg->time_limit : 0.0;
    const int T = cfg->threads > 0 ? cfg->threads : nas_get_threads();
    nas_status st = NAS_OK;
    nas_i_buf state = {0};
    int64_t ok_scores = 0, n_timed = 0;
    double cand_seconds = 0.0; /* summed scoring time of the n_timed computed candidates */
    nas_progress pr;
    nas_progress_begin(&pr, "search", cfg->budget);
    pr.quiet = pr.quiet || cfg->quiet;
    for (int64_t i = 0; i < s->n_hist; i++) {
        update_best(s, res, i);
    }
    if (s->n_hist > 0) {
        nas_progress_resume(&pr, s->n_hist);
        nas_progress_update(&pr, s->n_hist, "resumed at %lld", (long long)s->n_hist);
    }
    res->status = NAS_RUN_FINISHED;
    for (;;) {
        if (stop_requested(cfg)) {
            res->status = NAS_RUN_INTERRUPTED;
            break;
        }
        if (cfg->budget > 0 && s->n_hist >= cfg->budget) {
            break;
        }
        if (deadline > 0.0 && nas_time_now() >= deadline) {
            res->time_up = true;
            break;
        }
        /* propose */
        int want = cfg->round;
        if (cfg->budget > 0 && cfg->budget - s->n_hist < want) {
            want = (int)(cfg->budget - s->n_hist);
        }
        nas_i_proposal pr_kind = NAS_I_PROPOSED;
        s->n_round = 0;
        while (s->n_round < want) {
            nas_i_cand *c = &s->round[s->n_round];
            memset(c, 0, sizeof *c);
            c->n_params = c->flops = -1;
            c->n_nodes = -1;
            c->value = (double)NAN;
            NAS_TRY(s->ops->propose(s, c, &pr_kind));
            if (pr_kind != NAS_I_PROPOSED) {
                break;
            }
            s->n_round++;
        }
        if (s->n_round == 0) {
            if (pr_kind == NAS_I_DONE) {
                res->exhausted = true;
                break;
            }
            st = nas_error(NAS_EINTERNAL, "search: strategy %s proposed nothing",
                           nas_strategy_name(cfg->strategy));
            goto cleanup;
        }
        /* reuse stored scores (main thread: the store is single-threaded) */
        int to_score = 0;
        for (int k = 0; k < s->n_round; k++) {
            nas_i_cand *c = &s->round[k];
            nas_score_hit hit;
            NAS_TRY(nas_store_score_lookup(ss->db, s->sp->name, c->key, ss->sc->name, ss->ghn_id,
                                           ss->recipe, &hit));
            for (int x = 0; hit.found && x < ss->n_extra; x++) {
                nas_score_hit xh; /* reused only when every extra score is stored too */
                NAS_TRY(nas_store_score_lookup(ss->db, s->sp->name, c->key, s->cfg.extra[x]->name,
                                               ss->ghn_id, ss->xrecipe[x], &xh));
                hit.found = xh.found;
                c->xvalue[x] = xh.value;
                c->xseconds[x] = 0.0;
            }
            if (hit.found) {
                c->done = c->reused = true;
                c->reused_run = hit.run_id;
                c->value = hit.value;
                c->seconds = 0.0;
            } else {
                to_score++;
            }
        }
        /* score the rest in parallel, one candidate per thread -- unless scores are so cheap
           (e.g. params) that starting the threads costs more than it saves */
        if (to_score > 0) {
            double t0 = nas_time_now();
            const int n_round = s->n_round;
            const bool cheap = n_timed >= 16 && cand_seconds / (double)n_timed < 2e-3;
            const bool par = T > 1 && to_score > 1 && !cheap;
            (void)T;
            (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(T) schedule(dynamic, 1) if (par)
#endif
            for (int k = 0; k < n_round; k++) {
                nas_i_cand *c = &s->round[k];
                if (c->done || stop_requested(cfg) ||
                    (deadline > 0.0 && nas_time_now() >= deadline)) {
                    continue;
                }
                score_one(s, ss, c);
            }
            res->score_seconds += nas_time_now() - t0;
            for (int k = 0; k < n_round; k++) {
                if (s->round[k].done && !s->round[k].reused) {
                    cand_seconds += s->round[k].seconds;
                    n_timed++;
                }
            }
        }
        /* a systematic failure (nothing ever scores) ends the run */
        int n_done = 0, n_err = 0, first_err = -1;
        for (int k = 0; k < s->n_round; k++) {
            const nas_i_cand *c = &s->round[k];
            n_done += c->done;
            if (c->done && !c->reused && c->st != NAS_OK) {
                n_err++;
                first_err = first_err < 0 ? k : first_err;
            } else if (c->done) {
                ok_scores++;
            }
        }
        if (ok_scores == 0 && n_err > 0) {
            const nas_i_cand *c = &s->round[first_err];
            char msg[NAS_SCORE_AUX_MAX];
            snprintf(msg, sizeof msg, "%s", c->aux);
            res->status = NAS_RUN_FAILED;
            st = nas_error(c->st, "search: scorer %s failed on %s: %s", ss->sc->name, c->text, msg);
            goto cleanup;
        }
        for (int k = 0; k < s->n_round; k++) {
            const nas_i_cand *c = &s->round[k];
            if (!c->done) {
                continue;
            }
            res->n_reused += c->reused;
            res->n_scored += !c->reused;
            res->n_failed += isnan(c->value);
        }
        if (n_done < s->n_round) {
            /* stopped inside the round: keep what was scored (no resume point: a resumed run
               replays this round and finds these results in the store) */
            for (int k = 0; k < s->n_round; k++) {
                if (s->round[k].done) {
                    NAS_TRY(store_one(s, ss, &s->round[k], s->n_hist + k, NULL));
                }
            }
            if (stop_requested(cfg)) {
                res->status = NAS_RUN_INTERRUPTED;
            } else {
                res->time_up = true;
            }
            break;
        }
        /* feed the results back in proposal order */
        const int64_t seq0 = s->n_hist;
        for (int k = 0; k < s->n_round; k++) {
            const nas_i_cand *c = &s->round[k];
            NAS_TRY(hist_add(s, c->key, c->text, c->value));
            NAS_TRY(s->ops->observe(s, c, s->n_hist - 1));
            update_best(s, res, s->n_hist - 1);
        }
        if (s->ops->end_round) {
            NAS_TRY(s->ops->end_round(s));
        }
        state.n = 0;
        if (state.p) {
            state.p[0] = '\0';
        }
        s->ops->save(s, &state);
        if (state.oom || !state.p) {
            st = nas_error(NAS_ENOMEM, "search: out of memory writing the strategy state");
            goto cleanup;
        }
        nas_store_progress prog = {.rng = &s->rng, .n_done = s->n_hist, .state_json = state.p};
        for (int k = 0; k < s->n_round; k++) {
            NAS_TRY(store_one(s, ss, &s->round[k], seq0 + k, k == s->n_round - 1 ? &prog : NULL));
        }
        s->n_round = 0;
        if (isnan(res->best)) {
            nas_progress_update(&pr, s->n_hist, "new %lld  reused %lld", (long long)res->n_scored,
                                (long long)res->n_reused);
        } else {
            nas_progress_update(&pr, s->n_hist, "best %.4f  new %lld  reused %lld", res->best,
                                (long long)res->n_scored, (long long)res->n_reused);
        }
    }
cleanup:
    s->n_round = 0;
    nas_progress_end(&pr);
    nas_i_buf_free(&state);
    res->n_results = s->n_hist;
    res->n_duplicates = s->n_duplicates;
    return st;
}

/* ---- run records ----------------------------------------------------------------------------- */

/* The config_json of a run: every option needed to resume it. */
static nas_status config_json(const nas_i_search *s, const session *ss, nas_i_buf *b) {
    const nas_search_config *c = &s->cfg;
    nas_i_buf_printf(b, "{\"strategy\": \"%s\", \"seed\": %llu, \"budget\": %lld, ",
                     nas_strategy_name(c->strategy), (unsigned long long)c->seed,
                     (long long)c->budget);
    nas_i_buf_printf(b, "\"time_limit\": ");
    nas_i_buf_json_num(b, c->time_limit);
    nas_i_buf_printf(b,
                     ", \"round\": %d, \"population\": %d, \"sample\": %d, \"ls_init\": %d, "
                     "\"net\": {\"C\": %d, \"N\": %d, \"in_c\": %d, \"in_h\": %d, \"in_w\": %d, "
                     "\"classes\": %d}, \"canon\": \"%s\", \"scorer\": ",
                     c->round, c->population, c->sample, c->ls_init, ss->net.C, ss->net.N,
                     ss->net.in_c, ss->net.in_h, ss->net.in_w, ss->net.classes,
                     canon_name(s->canon));
    nas_i_buf_json_str(b, ss->sc->name);
    nas_i_buf_printf(
        b, ", \"higher_is_better\": %s, \"recipe\": ", ss->sc->higher_is_better ? "true" : "false");
    nas_i_buf_json_str(b, ss->recipe);
    nas_i_buf_printf(b, ", \"extra_scorers\": [");
    for (int x = 0; x < ss->n_extra; x++) {
        nas_i_buf_printf(b, "%s{\"name\": ", x ? ", " : "");
        nas_i_buf_json_str(b, c->extra[x]->name);
        nas_i_buf_printf(b, ", \"recipe\": ");
        nas_i_buf_json_str(b, ss->xrecipe[x]);
        nas_i_buf_printf(b, "}");
    }
    nas_i_buf_printf(b, "]");
    nas_i_buf_printf(b, ", \"space_path\": ");
    nas_i_buf_json_str(b, s->sp->path);
    nas_i_buf_printf(b, ", \"cli\": %s}", c->extra_json && c->extra_json[0] ? c->extra_json : "{}");
    if (b->oom) {
        return nas_error(NAS_ENOMEM, "search: out of memory writing the run configuration");
    }
    if (c->extra_json && c->extra_json[0]) {
        json_error_t je;
        json_t *j = json_loads(c->extra_json, 0, &je);
        bool ok = json_is_object(j);
        json_decref(j);
        if (!ok) {
            return nas_error(NAS_EINVAL, "search: extra_json is not a JSON object: %s", je.text);
        }
    }
    return NAS_OK;
}

/* Resolve the net configuration and the stored recipe by compiling one member. */
static nas_status session_prepare(nas_i_search *s, session *ss, const nas_scorer *sc) {
    if (!sc || !sc->fn || !sc->name[0]) {
        return nas_error(NAS_EINVAL, "search: the scorer has no name or function");
    }
    for (const char *p = sc->name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.')) {
            return nas_error(NAS_EINVAL,
                             "search: scorer name '%s' has a character other than "
                             "letters, digits, '_', '-', '.'",
                             sc->name);
        }
    }
    nas_rng r;
    nas_rng_seed(&r, 12345);
    nas_arch a;
    int tries = 0;
    do {
        NAS_CHECK(nas_arch_sample(s->sp, &r, &a));
    } while (!nas_arch_is_valid(s->sp, &a) && ++tries < 10000);
    nas_net net;
    nas_status st = nas_net_compile(&net, s->sp, &a, &s->cfg.net);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "search: space %s with this net configuration", s->sp->name);
    }
    ss->net = net.cfg;
    nas_net_free(&net);
    snprintf(ss->recipe, sizeof ss->recipe, "%s%snet C%d N%d in %dx%dx%d classes %d", sc->recipe,
             sc->recipe[0] ? "; " : "", ss->net.C, ss->net.N, ss->net.in_c, ss->net.in_h,
             ss->net.in_w, ss->net.classes);
    ss->sc = sc;
    s->higher_is_better = sc->higher_is_better;
    if (s->cfg.n_extra < 0 || s->cfg.n_extra > NAS_SEARCH_EXTRA_MAX) {
        return nas_error(NAS_EINVAL, "search: %d extra scorers (at most %d)", s->cfg.n_extra,
                         NAS_SEARCH_EXTRA_MAX);
    }
    ss->n_extra = s->cfg.n_extra;
    for (int x = 0; x < ss->n_extra; x++) {
        const nas_scorer *xs = s->cfg.extra[x];
        if (!xs || !xs->fn || !xs->name[0]) {
            return nas_error(NAS_EINVAL, "search: extra scorer %d has no name or function", x + 1);
        }
        bool dup = strcmp(xs->name, sc->name) == 0;
        for (int y = 0; y < x; y++) {
            dup = dup || strcmp(xs->name, s->cfg.extra[y]->name) == 0;
        }
        if (dup) {
            return nas_error(NAS_EINVAL, "search: scorer %s is given twice", xs->name);
        }
        snprintf(ss->xrecipe[x], sizeof ss->xrecipe[x], "%s%snet C%d N%d in %dx%dx%d classes %d",
                 xs->recipe, xs->recipe[0] ? "; " : "", ss->net.C, ss->net.N, ss->net.in_c,
                 ss->net.in_h, ss->net.in_w, ss->net.classes);
    }
    return NAS_OK;
}

static nas_status search_init(nas_i_search *s, const nas_space *sp, const nas_search_config *cfg) {
    memset(s, 0, sizeof *s);
    s->sp = sp;
    s->cfg = *cfg;
    s->canon = nas_space_default_canon(sp);
    s->ops = strategy_ops(cfg->strategy);
    s->round = nas_calloc((size_t)cfg->round, sizeof *s->round);
    if (!s->round) {
        return nas_error(NAS_ENOMEM, "search: out of memory for a round of %d", cfg->round);
    }
    nas_rng_seed(&s->rng, cfg->seed);
    return NAS_OK;
}

static void result_init(nas_search_result *res) {
    memset(res, 0, sizeof *res);
    res->best = (double)NAN;
    res->best_seq = -1;
    res->status = NAS_RUN_RUNNING;
}

/* Final status, timing and the store figures; keeps the first failure. */
static nas_status session_finish(nas_i_search *s, session *ss, nas_search_result *res,
                                 nas_status st, double t0, double store0) {
    (void)s;
    if (st != NAS_OK && res->status != NAS_RUN_FAILED) {
        res->status = NAS_RUN_INTERRUPTED; /* e.g. a full disk: resumable once fixed */
    }
    if (res->status == NAS_RUN_RUNNING) {
        res->status = NAS_RUN_FINISHED;
    }
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", nas_errmsg());
    nas_status fs = nas_store_run_set_status(ss->db, ss->run_id, res->status);
    if (st == NAS_OK) {
        st = fs;
    } else {
        nas_error(st, "%s", keep);
    }
    nas_store_info info;
    nas_store_get_info(ss->db, &info);
    res->store_seconds = info.seconds - store0;
    res->seconds = nas_time_now() - t0;
    return st;
}

nas_status nas_search_run(nas_store *db, const nas_space *sp, const nas_scorer *sc, int64_t ghn_id,
                          const nas_search_config *cfg, nas_search_result *res) {
    result_init(res);
    const double t0 = nas_time_now();
    nas_store_info info;
    nas_store_get_info(db, &info);
    const double store0 = info.seconds;
    NAS_CHECK(config_validate(cfg));
    nas_i_search s;
    session ss;
    memset(&ss, 0, sizeof ss);
    nas_i_buf cj = {0};
    nas_status st = search_init(&s, sp, cfg);
    if (st != NAS_OK) {
        search_free(&s);
        return st;
    }
    NAS_TRY(session_prepare(&s, &ss, sc));
    NAS_TRY(config_json(&s, &ss, &cj));
    NAS_TRY(s.ops->init(&s));
    NAS_TRY(nas_store_set_batch(db, cfg->batch_results, cfg->batch_seconds));
    nas_run_spec rs = {.name = cfg->name,
                       .kind = "search",
                       .space = sp->name,
                       .dataset = cfg->dataset ? cfg->dataset : "none",
                       .scorer = sc->name,
                       .config_json = cj.p,
                       .seed = cfg->seed,
                       .ghn_id = ghn_id};
    NAS_TRY(nas_store_run_create(db, &rs, &res->run_id));
    ss.db = db;
    ss.run_id = res->run_id;
    ss.ghn_id = ghn_id;
    st = session_loop(&s, &ss, res);
    st = session_finish(&s, &ss, res, st, t0, store0);
cleanup:
    nas_i_buf_free(&cj);
    search_free(&s);
    return st;
}

/* ---- resume ---------------------------------------------------------------------------------- */

static nas_status cfg_int(json_t *root, const char *key, int64_t *out, int64_t run_id) {
    json_t *j = json_object_get(root, key);
    if (!json_is_integer(j)) {
        return nas_error(NAS_EFORMAT, "run %lld: its configuration has no integer '%s'",
                         (long long)run_id, key);
    }
    *out = (int64_t)json_integer_value(j);
    return NAS_OK;
}

/* The options of a stored run into s->cfg (keeping the caller's session options). */
static nas_status read_run_config(const nas_run_info *ri, nas_search_config *c, json_t **state) {
    json_error_t je;
    json_t *root = json_loads(ri->config_json ? ri->config_json : "", 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return nas_error(NAS_EFORMAT, "run %lld: its configuration is not a JSON object (%s)",
                         (long long)ri->id, je.text);
    }
    nas_status st = NAS_OK;
    int64_t v = 0;
    json_t *js = json_object_get(root, "strategy");
    if (!json_is_string(js)) {
        st = nas_error(NAS_EFORMAT, "run %lld: its configuration names no strategy",
                       (long long)ri->id);
        goto cleanup;
    }
    NAS_TRY(nas_strategy_from_name(json_string_value(js), &c->strategy));
    NAS_TRY(cfg_int(root, "round", &v, ri->id));
    c->round = (int)v;
    NAS_TRY(cfg_int(root, "population", &v, ri->id));
    c->population = (int)v;
    NAS_TRY(cfg_int(root, "sample", &v, ri->id));
    c->sample = (int)v;
    NAS_TRY(cfg_int(root, "ls_init", &v, ri->id));
    c->ls_init = (int)v;
    json_t *net = json_object_get(root, "net");
    if (!json_is_object(net)) {
        st = nas_error(NAS_EFORMAT, "run %lld: its configuration has no net object",
                       (long long)ri->id);
        goto cleanup;
    }
    NAS_TRY(cfg_int(net, "C", &v, ri->id));
    c->net.C = (int)v;
    NAS_TRY(cfg_int(net, "N", &v, ri->id));
    c->net.N = (int)v;
    NAS_TRY(cfg_int(net, "in_c", &v, ri->id));
    c->net.in_c = (int)v;
    NAS_TRY(cfg_int(net, "in_h", &v, ri->id));
    c->net.in_h = (int)v;
    NAS_TRY(cfg_int(net, "in_w", &v, ri->id));
    c->net.in_w = (int)v;
    NAS_TRY(cfg_int(net, "classes", &v, ri->id));
    c->net.classes = (int)v;
    c->seed = ri->seed;
    *state = root;
    return NAS_OK;
cleanup:
    json_decref(root);
    return st;
}

/* The run's results before its resume point, in candidate order, through a reader connection. */
static nas_status load_history(nas_i_search *s, nas_store *db, int64_t run_id, const char *scorer,
                               int64_t n_done) {
    if (n_done == 0) {
        return NAS_OK;
    }
    nas_store_info info;
    nas_store_get_info(db, &info);
    nas_store *rd = NULL;
    nas_store_table t;
    memset(&t, 0, sizeof t);
    nas_status st = nas_store_open(&rd, info.path, NAS_STORE_READONLY);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "resuming run %lld", (long long)run_id);
    }
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT s.seq, a.canonical_hash, a.arch, s.value FROM scores s"
             " JOIN architectures a ON a.id = s.arch_id WHERE s.run_id = %lld AND s.scorer = '%s'"
             " AND s.seq < %lld ORDER BY s.seq",
             (long long)run_id, scorer, (long long)n_done);
    NAS_TRY(nas_store_query_sql(rd, sql, &t));
    if (t.n_rows != n_done) {
        st = nas_error(NAS_EFORMAT,
                       "results store '%s': run %lld says %lld results are done but holds %lld",
                       info.path, (long long)run_id, (long long)n_done, (long long)t.n_rows);
        goto cleanup;
    }
    for (int64_t r = 0; r < t.n_rows; r++) {
        const nas_store_value *seq = nas_store_table_at(&t, r, 0);
        const nas_store_value *key = nas_store_table_at(&t, r, 1);
        const nas_store_value *arch = nas_store_table_at(&t, r, 2);
        const nas_store_value *val = nas_store_table_at(&t, r, 3);
        if (seq->type != NAS_STORE_INT || seq->i != r || key->type != NAS_STORE_TEXT ||
            arch->type != NAS_STORE_TEXT) {
            st = nas_error(NAS_EFORMAT,
                           "results store '%s': run %lld lacks result number %lld (duplicate or "
                           "missing candidate numbers)",
                           info.path, (long long)run_id, (long long)r);
            goto cleanup;
        }
        double v = val->type == NAS_STORE_REAL  ? val->r
                   : val->type == NAS_STORE_INT ? (double)val->i
                                                : (double)NAN;
        NAS_TRY(hist_add(s, key->s, arch->s, v));
    }
cleanup:
    nas_store_table_free(&t);
    nas_store_close(rd);
    return st;
}

nas_status nas_search_resume(nas_store *db, int64_t run_id, const nas_space *sp,
                             const nas_scorer *sc, const nas_search_config *cfg,
                             nas_search_result *res) {
    result_init(res);
    res->run_id = run_id;
    const double t0 = nas_time_now();
    nas_store_info info;
    nas_store_get_info(db, &info);
    const double store0 = info.seconds;
    nas_run_info ri;
    memset(&ri, 0, sizeof ri);
    nas_i_search s;
    memset(&s, 0, sizeof s);
    session ss;
    memset(&ss, 0, sizeof ss);
    json_t *root = NULL, *jstate = NULL;
    char *state_text = NULL;
    bool started = false;
    nas_status st = nas_store_run_get(db, run_id, &ri);
    if (st != NAS_OK) {
        return st;
    }
    if (strcmp(ri.kind, "search") != 0) {
        st = nas_error(NAS_EINVAL, "run %lld is not a search run (its kind is %s)",
                       (long long)run_id, ri.kind);
        goto cleanup;
    }
    if (strcmp(ri.space, sp->name) != 0) {
        st = nas_error(NAS_EINVAL, "run %lld searched space %s, not %s", (long long)run_id,
                       ri.space, sp->name);
        goto cleanup;
    }
    if (strcmp(ri.scorer, sc->name) != 0) {
        st = nas_error(NAS_EINVAL, "run %lld was scored by %s, not %s", (long long)run_id,
                       ri.scorer, sc->name);
        goto cleanup;
    }
    if (ri.status == NAS_RUN_RUNNING && !cfg->force) {
        int marked = 0;
        NAS_TRY(nas_store_mark_stale(db, 120.0, &marked));
        nas_run_info_free(&ri);
        NAS_TRY(nas_store_run_get(db, run_id, &ri));
        if (ri.status == NAS_RUN_RUNNING) {
            st = nas_error(NAS_EINVAL,
                           "run %lld is marked running and was updated at %s UTC: another "
                           "process may still be searching it (if it was killed, wait two "
                           "minutes or force the resume)",
                           (long long)run_id, ri.updated_at[0] ? ri.updated_at : ri.started_at);
            goto cleanup;
        }
    }
    nas_search_config c = *cfg;
    NAS_TRY(config_validate(&c));
    NAS_TRY(read_run_config(&ri, &c, &root));
    NAS_TRY(config_validate(&c));
    NAS_TRY(search_init(&s, sp, &c));
    NAS_TRY(session_prepare(&s, &ss, sc));
    json_t *jr = json_object_get(root, "recipe");
    if (!json_is_string(jr) || strcmp(json_string_value(jr), ss.recipe) != 0) {
        st = nas_error(NAS_EINVAL,
                       "run %lld was scored with recipe '%s'; this scorer's is '%s' (same GHN "
                       "subset, batch and net configuration needed)",
                       (long long)run_id, json_is_string(jr) ? json_string_value(jr) : "?",
                       ss.recipe);
        goto cleanup;
    }
    /* the same extra scorers (a run without the key predates them: none) */
    json_t *jx = json_object_get(root, "extra_scorers");
    const size_t nx = json_is_array(jx) ? json_array_size(jx) : 0;
    bool same = nx == (size_t)ss.n_extra;
    for (size_t x = 0; same && x < nx; x++) {
        json_t *e = json_array_get(jx, x);
        json_t *en = json_object_get(e, "name"), *er = json_object_get(e, "recipe");
        same = json_is_string(en) && json_is_string(er) &&
               strcmp(json_string_value(en), c.extra[x]->name) == 0 &&
               strcmp(json_string_value(er), ss.xrecipe[x]) == 0;
    }
    if (!same) {
        char had[256] = "", given[256] = "";
        for (size_t x = 0; x < nx; x++) {
            json_t *en = json_object_get(json_array_get(jx, x), "name");
            size_t l = strlen(had);
            snprintf(had + l, sizeof had - l, "%s%s", x ? "," : "",
                     json_is_string(en) ? json_string_value(en) : "?");
        }
        for (int x = 0; x < ss.n_extra; x++) {
            size_t l = strlen(given);
            snprintf(given + l, sizeof given - l, "%s%s", x ? "," : "", c.extra[x]->name);
        }
        st = nas_error(NAS_EINVAL,
                       "run %lld records the extra scorers [%s] (names and recipes); given [%s]",
                       (long long)run_id, had, given);
        goto cleanup;
    }
    json_t *jc = json_object_get(root, "canon");
    if (json_is_string(jc) && strcmp(json_string_value(jc), canon_name(s.canon)) != 0) {
        st = nas_error(NAS_EINVAL, "run %lld used canonical form %s, this build uses %s",
                       (long long)run_id, json_string_value(jc), canon_name(s.canon));
        goto cleanup;
    }
    ss.db = db;
    ss.run_id = run_id;
    ss.ghn_id = ri.ghn_id;
    NAS_TRY(nas_store_set_batch(db, c.batch_results, c.batch_seconds));
    bool found = false;
    int64_t n_done = 0;
    nas_rng rng;
    NAS_TRY(nas_store_load_state(db, run_id, &found, &rng, &n_done, &state_text));
    NAS_TRY(nas_store_run_set_status(db, run_id, NAS_RUN_RUNNING));
    started = true;
    if (found) {
        json_error_t je;
        jstate = json_loads(state_text ? state_text : "", 0, &je);
        if (!json_is_object(jstate)) {
            st = nas_error(NAS_EFORMAT, "run %lld: its strategy state is not a JSON object (%s)",
                           (long long)run_id, je.text);
            goto cleanup;
        }
        NAS_TRY(load_history(&s, db, run_id, sc->name, n_done));
        s.rng = rng;
        NAS_TRY(s.ops->init(&s));
        NAS_TRY(s.ops->restore(&s, jstate));
    } else {
        NAS_TRY(s.ops->init(&s)); /* killed before its first commit: start over */
    }
    st = session_loop(&s, &ss, res);
cleanup:
    if (started) {
        st = session_finish(&s, &ss, res, st, t0, store0);
    } else {
        res->status = ri.status;
        res->seconds = nas_time_now() - t0;
    }
    json_decref(jstate);
    json_decref(root);
    nas_free(state_text);
    nas_run_info_free(&ri);
    search_free(&s);
    return st;
}
