/*
 * Regularized (aging) evolution (Real et al. 2019, Algorithm 1): the first `population`
 * candidates are random; after that every child is a one-edit mutation of the best of `sample`
 * members drawn without replacement from the population, and every result joins the population
 * while its oldest member leaves. Children already scored by the run are drawn again.
 *
 * State: the population, oldest first, as {"pop": [{"a": arch, "v": value}, ...]}.
 */
#include "search-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct evo_member {
    nas_arch arch;
    double v;
} evo_member;

typedef struct evo_state {
    evo_member *pop; /* [P] ring buffer */
    int head;        /* oldest member */
    int n;           /* members (<= P) */
    int *pick;       /* [P] tournament scratch */
} evo_state;

static void evo_free(nas_i_search *s) {
    evo_state *e = s->st;
    if (e) {
        nas_free(e->pop);
        nas_free(e->pick);
        nas_free(e);
    }
    s->st = NULL;
}

static nas_status evo_init(nas_i_search *s) {
    evo_state *e = nas_calloc(1, sizeof *e);
    if (!e) {
        return nas_error(NAS_ENOMEM, "evolution: out of memory");
    }
    s->st = e;
    e->pop = nas_calloc((size_t)s->cfg.population, sizeof *e->pop);
    e->pick = nas_calloc((size_t)s->cfg.population, sizeof *e->pick);
    if (!e->pop || !e->pick) {
        return nas_error(NAS_ENOMEM, "evolution: out of memory for a population of %d",
                         s->cfg.population);
    }
    return NAS_OK;
}

static void push(nas_i_search *s, const nas_arch *a, double v) {
    evo_state *e = s->st;
    const int P = s->cfg.population;
    evo_member *m;
    if (e->n < P) {
        m = &e->pop[(e->head + e->n) % P];
        e->n++;
    } else {
        m = &e->pop[e->head];
        e->head = (e->head + 1) % P;
    }
    m->arch = *a;
    m->v = v;
}

static nas_status evo_propose(nas_i_search *s, nas_i_cand *c, nas_i_proposal *r) {
    evo_state *e = s->st;
    const int P = s->cfg.population;
    if (s->n_hist + s->n_round < P) {
        bool found = false;
        NAS_CHECK(nas_i_sample_new(s, c, &found));
        *r = found ? NAS_I_PROPOSED : NAS_I_DONE;
        return NAS_OK;
    }
    if (e->n == 0) {
        *r = NAS_I_WAIT;
        return NAS_OK;
    }
    const int S = s->cfg.sample < e->n ? s->cfg.sample : e->n;
    for (int tries = 0; tries < NAS_I_DUP_LIMIT; tries++) {
        /* tournament: S distinct members (partial Fisher-Yates over ages) */
        for (int i = 0; i < e->n; i++) {
            e->pick[i] = i;
        }
        int best = -1;
        for (int j = 0; j < S; j++) {
            int k = j + (int)nas_rng_below(&s->rng, (uint64_t)(e->n - j));
            int t = e->pick[j];
            e->pick[j] = e->pick[k];
            e->pick[k] = t;
            int idx = (e->head + e->pick[j]) % P;
            if (best < 0 || nas_i_better(s, e->pop[idx].v, e->pop[best].v)) {
                best = idx;
            }
        }
        nas_status st = nas_arch_mutate(s->sp, &e->pop[best].arch, &s->rng, &c->arch);
        if (st == NAS_ENOTFOUND) {
            nas_error_clear();
            continue;
        }
        NAS_CHECK(st);
        nas_i_check chk;
        NAS_CHECK(nas_i_search_check(s, c, &chk, NULL));
        if (chk == NAS_I_NEW) {
            c->tag = NAS_I_TAG_CHILD;
            *r = NAS_I_PROPOSED;
            return NAS_OK;
        }
        if (chk != NAS_I_INVALID) {
            s->n_duplicates++;
        }
    }
    *r = NAS_I_DONE;
    return NAS_OK;
}

static nas_status evo_observe(nas_i_search *s, const nas_i_cand *c, int64_t seq) {
    (void)seq;
    push(s, &c->arch, c->value);
    return NAS_OK;
}

static json_t *evo_save(nas_i_search *s) {
    evo_state *e = s->st;
    json_t *pop = json_array();
    for (int i = 0; pop && i < e->n; i++) {
        const evo_member *m = &e->pop[(e->head + i) % s->cfg.population];
        if (json_array_append_new(pop, nas_i_json_member_new(s->sp, &m->arch, m->v)) != 0) {
            json_decref(pop);
            pop = NULL;
        }
    }
    return json_pack("{s:o}", "pop", pop);
}

static nas_status evo_restore(nas_i_search *s, json_t *state) {
    json_t *pop = json_object_get(state, "pop");
    if (!json_is_array(pop) || json_array_size(pop) > (size_t)s->cfg.population) {
        return nas_error(NAS_EFORMAT,
                         "evolution state: 'pop' is not an array of at most %d members",
                         s->cfg.population);
    }
    for (size_t i = 0; i < json_array_size(pop); i++) {
        nas_arch a;
        double v = 0.0;
        char what[48];
        snprintf(what, sizeof what, "population member %zu", i);
        NAS_CHECK(nas_i_json_member(s->sp, json_array_get(pop, i), what, &a, &v));
        push(s, &a, v);
    }
    return NAS_OK;
}

const nas_i_strategy_ops nas_i_evolution_ops = {
    .kind = NAS_STRATEGY_EVOLUTION,
    .init = evo_init,
    .restore = evo_restore,
    .propose = evo_propose,
    .observe = evo_observe,
    .end_round = NULL,
    .save = evo_save,
    .free = evo_free,
};
