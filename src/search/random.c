/*
 * Random search: uniformly random valid members of the space, each scored once (draws of
 * architectures the run has already scored are skipped). No state besides the RNG.
 */
#include "search-impl.h"

static nas_status rnd_init(nas_i_search *s) {
    (void)s;
    return NAS_OK;
}

static nas_status rnd_restore(nas_i_search *s, json_t *state) {
    (void)s;
    (void)state;
    return NAS_OK;
}

static nas_status rnd_propose(nas_i_search *s, nas_i_cand *c, nas_i_proposal *r) {
    bool found = false;
    NAS_CHECK(nas_i_sample_new(s, c, &found));
    *r = found ? NAS_I_PROPOSED : NAS_I_DONE;
    return NAS_OK;
}

static nas_status rnd_observe(nas_i_search *s, const nas_i_cand *c, int64_t seq) {
    (void)s;
    (void)c;
    (void)seq;
    return NAS_OK;
}

static json_t *rnd_save(nas_i_search *s) {
    (void)s;
    return json_object();
}

const nas_i_strategy_ops nas_i_random_ops = {
    .kind = NAS_STRATEGY_RANDOM,
    .init = rnd_init,
    .restore = rnd_restore,
    .propose = rnd_propose,
    .observe = rnd_observe,
    .end_round = NULL,
    .save = rnd_save,
    .free = NULL,
};
