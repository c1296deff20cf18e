/*
 * Local search (White et al.; naszilla's first-improvement variant adapted to rounds): score
 * `ls_init` random members and start from the best; then draw one-edit neighbours of the current
 * point, score the new ones (neighbours the run already scored count with their known score) and
 * move to the best improving neighbour found by the end of a round. When the neighbourhood is
 * exhausted without improvement (a local optimum), restart from a new random member.
 *
 * A neighbourhood is exhausted when LS_MISS_LIMIT draws in a row bring no untried neighbour.
 * State (round boundaries): the phase, the counters of the random start, the best start, the
 * current point, the best improving neighbour so far and the keys of the neighbours tried.
 */
#include "search-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LS_MISS_LIMIT 200

enum { LS_INIT = 0, LS_CLIMB = 1, LS_RESTART = 2 };

typedef struct ls_state {
    int phase;
    int64_t init_proposed, init_observed;
    bool has_init_best, has_cur, has_nb;
    nas_arch init_best, cur, nb;
    double init_best_v, cur_v, nb_v;
    char **tried; /* [n_tried] canonical keys of the neighbours of cur drawn so far */
    int n_tried, cap_tried;
    bool restart_pending;
} ls_state;

static void clear_tried(ls_state *l) {
    for (int i = 0; i < l->n_tried; i++) {
        nas_free(l->tried[i]);
    }
    l->n_tried = 0;
}

static void ls_free(nas_i_search *s) {
    ls_state *l = s->st;
    if (l) {
        clear_tried(l);
        nas_free(l->tried);
        nas_free(l);
    }
    s->st = NULL;
}

static nas_status ls_init(nas_i_search *s) {
    ls_state *l = nas_calloc(1, sizeof *l);
    if (!l) {
        return nas_error(NAS_ENOMEM, "local search: out of memory");
    }
    l->phase = LS_INIT;
    s->st = l;
    return NAS_OK;
}

static bool tried(const ls_state *l, const char *key) {
    for (int i = 0; i < l->n_tried; i++) {
        if (strcmp(l->tried[i], key) == 0) {
            return true;
        }
    }
    return false;
}

static nas_status add_tried(ls_state *l, const char *key) {
    if (l->n_tried == l->cap_tried) {
        int cap = l->cap_tried ? 2 * l->cap_tried : 64;
        char **t = nas_realloc(l->tried, (size_t)cap * sizeof *t);
        if (!t) {
            return nas_error(NAS_ENOMEM, "local search: out of memory");
        }
        l->tried = t;
        l->cap_tried = cap;
    }
    char *p = nas_strdup(key);
    if (!p) {
        return nas_error(NAS_ENOMEM, "local search: out of memory");
    }
    l->tried[l->n_tried++] = p;
    return NAS_OK;
}

/* A neighbour of cur with value v: remember it when it is the best improvement so far. */
static void consider(nas_i_search *s, const nas_arch *a, double v) {
    ls_state *l = s->st;
    if (nas_i_better(s, v, l->cur_v) && (!l->has_nb || nas_i_better(s, v, l->nb_v))) {
        l->nb = *a;
        l->nb_v = v;
        l->has_nb = true;
    }
}

static void move_to(ls_state *l, const nas_arch *a, double v) {
    l->cur = *a;
    l->cur_v = v;
    l->has_cur = true;
    l->has_nb = false;
    clear_tried(l);
}

static bool neighbours_in_round(const nas_i_search *s) {
    for (int k = 0; k < s->n_round; k++) {
        if (s->round[k].tag == NAS_I_TAG_NEIGHBOUR) {
            return true;
        }
    }
    return false;
}

static nas_status ls_propose(nas_i_search *s, nas_i_cand *c, nas_i_proposal *r) {
    ls_state *l = s->st;
    bool found = false;
    for (;;) {
        if (l->phase == LS_INIT) {
            if (l->init_proposed < s->cfg.ls_init) {
                NAS_CHECK(nas_i_sample_new(s, c, &found));
                if (found) {
                    l->init_proposed++;
                    *r = NAS_I_PROPOSED;
                    return NAS_OK;
                }
                l->init_proposed = s->cfg.ls_init; /* the space has no more */
            }
            *r = l->init_observed > 0 || s->n_round > 0 ? NAS_I_WAIT : NAS_I_DONE;
            return NAS_OK;
        }
        if (l->phase == LS_RESTART) {
            if (l->restart_pending) {
                *r = NAS_I_WAIT;
                return NAS_OK;
            }
            NAS_CHECK(nas_i_sample_new(s, c, &found));
            if (!found) {
                *r = s->n_round > 0 ? NAS_I_WAIT : NAS_I_DONE;
                return NAS_OK;
            }
            c->tag = NAS_I_TAG_RESTART;
            l->restart_pending = true;
            *r = NAS_I_PROPOSED;
            return NAS_OK;
        }
        /* climbing */
        for (int misses = 0; misses < LS_MISS_LIMIT;) {
            nas_status st = nas_arch_mutate(s->sp, &l->cur, &s->rng, &c->arch);
            if (st == NAS_ENOTFOUND) {
                nas_error_clear();
                break;
            }
            NAS_CHECK(st);
            nas_i_check chk;
            int64_t h = -1;
            NAS_CHECK(nas_i_search_check(s, c, &chk, &h));
            if (chk == NAS_I_INVALID || tried(l, c->key)) {
                misses++;
                continue;
            }
            misses = 0;
            NAS_CHECK(add_tried(l, c->key));
            if (chk == NAS_I_SEEN) {
                s->n_duplicates++;
                consider(s, &c->arch, s->hist[h].value);
            } else if (chk == NAS_I_NEW) {
                c->tag = NAS_I_TAG_NEIGHBOUR;
                *r = NAS_I_PROPOSED;
                return NAS_OK;
            }
        }
        /* the neighbourhood is exhausted */
        if (neighbours_in_round(s)) {
            *r = NAS_I_WAIT;
            return NAS_OK;
        }
        if (l->has_nb && nas_i_better(s, l->nb_v, l->cur_v)) {
            nas_arch a = l->nb;
            move_to(l, &a, l->nb_v);
        } else {
            l->phase = LS_RESTART;
        }
    }
}

static nas_status ls_observe(nas_i_search *s, const nas_i_cand *c, int64_t seq) {
    ls_state *l = s->st;
    (void)seq;
    switch (c->tag) {
        case NAS_I_TAG_RANDOM:
            l->init_observed++;
            if (!l->has_init_best || nas_i_better(s, c->value, l->init_best_v)) {
                l->init_best = c->arch;
                l->init_best_v = c->value;
                l->has_init_best = true;
            }
            break;
        case NAS_I_TAG_RESTART:
            move_to(l, &c->arch, c->value);
            l->restart_pending = false;
            l->phase = LS_CLIMB;
            break;
        case NAS_I_TAG_NEIGHBOUR:
            consider(s, &c->arch, c->value);
            break;
        default:
            return nas_error(NAS_EINTERNAL, "local search: candidate with unknown tag %d", c->tag);
    }
    return NAS_OK;
}

static nas_status ls_end_round(nas_i_search *s) {
    ls_state *l = s->st;
    if (l->phase == LS_INIT && l->init_proposed >= s->cfg.ls_init &&
        l->init_observed >= l->init_proposed && l->has_init_best) {
        nas_arch a = l->init_best;
        move_to(l, &a, l->init_best_v);
        l->phase = LS_CLIMB;
    } else if (l->phase == LS_CLIMB && l->has_nb && nas_i_better(s, l->nb_v, l->cur_v)) {
        nas_arch a = l->nb;
        move_to(l, &a, l->nb_v); /* first improvement, at round granularity */
    }
    return NAS_OK;
}

/* {"a", "v"} when has, else null; NULL when out of memory. */
static json_t *save_opt_member(const nas_space *sp, bool has, const nas_arch *a, double v) {
    return has ? nas_i_json_member_new(sp, a, v) : json_null();
}

static json_t *ls_save(nas_i_search *s) {
    ls_state *l = s->st;
    json_t *tried = json_array();
    for (int i = 0; tried && i < l->n_tried; i++) {
        if (json_array_append_new(tried, json_string(l->tried[i])) != 0) {
            json_decref(tried);
            tried = NULL;
        }
    }
    return json_pack("{s:i, s:I, s:I, s:o, s:o, s:o, s:b, s:o}", "phase", l->phase, "init_proposed",
                     (json_int_t)l->init_proposed, "init_observed", (json_int_t)l->init_observed,
                     "init_best",
                     save_opt_member(s->sp, l->has_init_best, &l->init_best, l->init_best_v), "cur",
                     save_opt_member(s->sp, l->has_cur, &l->cur, l->cur_v), "nb",
                     save_opt_member(s->sp, l->has_nb, &l->nb, l->nb_v), "restart_pending",
                     (int)l->restart_pending, "tried", tried);
}

static nas_status load_opt_member(nas_i_search *s, json_t *state, const char *name, bool *has,
                                  nas_arch *a, double *v) {
    json_t *j = json_object_get(state, name);
    *has = false;
    if (!j || json_is_null(j)) {
        return NAS_OK;
    }
    char what[64];
    snprintf(what, sizeof what, "local search '%s'", name);
    NAS_CHECK(nas_i_json_member(s->sp, j, what, a, v));
    *has = true;
    return NAS_OK;
}

static nas_status ls_restore(nas_i_search *s, json_t *state) {
    ls_state *l = s->st;
    int64_t phase = 0;
    NAS_CHECK(nas_i_json_int(state, "phase", "local search state", &phase));
    NAS_CHECK(nas_i_json_int(state, "init_proposed", "local search state", &l->init_proposed));
    NAS_CHECK(nas_i_json_int(state, "init_observed", "local search state", &l->init_observed));
    if (phase < LS_INIT || phase > LS_RESTART) {
        return nas_error(NAS_EFORMAT, "local search state: phase %lld is unknown",
                         (long long)phase);
    }
    l->phase = (int)phase;
    NAS_CHECK(
        load_opt_member(s, state, "init_best", &l->has_init_best, &l->init_best, &l->init_best_v));
    NAS_CHECK(load_opt_member(s, state, "cur", &l->has_cur, &l->cur, &l->cur_v));
    NAS_CHECK(load_opt_member(s, state, "nb", &l->has_nb, &l->nb, &l->nb_v));
    l->restart_pending = json_is_true(json_object_get(state, "restart_pending"));
    json_t *t = json_object_get(state, "tried");
    if (!json_is_array(t)) {
        return nas_error(NAS_EFORMAT, "local search state: 'tried' is not an array");
    }
    for (size_t i = 0; i < json_array_size(t); i++) {
        json_t *k = json_array_get(t, i);
        if (!json_is_string(k)) {
            return nas_error(NAS_EFORMAT, "local search state: tried[%zu] is not a key", i);
        }
        NAS_CHECK(add_tried(l, json_string_value(k)));
    }
    if (l->phase == LS_CLIMB && !l->has_cur) {
        return nas_error(NAS_EFORMAT, "local search state: climbing without a current point");
    }
    return NAS_OK;
}

const nas_i_strategy_ops nas_i_local_ops = {
    .kind = NAS_STRATEGY_LOCAL,
    .init = ls_init,
    .restore = ls_restore,
    .propose = ls_propose,
    .observe = ls_observe,
    .end_round = ls_end_round,
    .save = ls_save,
    .free = ls_free,
};
