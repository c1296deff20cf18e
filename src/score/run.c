/*
 * Scoring a set of candidates: compile each architecture and rate it with several scorers, one
 * candidate per thread. The one scoring path of the library: the search controller's rounds and
 * the score job both come here.
 */
#include "score-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool skip_rest(const nas_score_run_config *cfg) {
    return (cfg->stop && *cfg->stop != 0) ||
           (cfg->deadline > 0.0 && nas_time_now() >= cfg->deadline);
}

/* Compile and score one candidate (any thread). */
static void score_cand(const nas_space *sp, const nas_net_config *nc, const nas_scorer *const *sc,
                       int n_sc, nas_score_cand *c) {
    c->n_params = c->flops = -1;
    c->n_nodes = -1;
    c->msg[0] = '\0';
    for (int j = 0; j < n_sc; j++) {
        c->out[j].value = (double)NAN;
        c->out[j].seconds = 0.0;
        c->out[j].st = NAS_OK;
        c->out[j].text[0] = '\0';
    }
    double t0 = nas_time_now();
    nas_net net;
    c->st = nas_net_compile(&net, sp, c->arch, nc);
    c->compile_seconds = nas_time_now() - t0;
    if (c->st != NAS_OK) {
        snprintf(c->msg, sizeof c->msg, "%s", nas_errmsg());
        c->done = true;
        return;
    }
    c->n_params = net.n_params;
    c->flops = net.flops;
    c->n_nodes = net.n_nodes;
    for (int j = 0; j < n_sc; j++) {
        nas_score_outcome *o = &c->out[j];
        nas_score_value v;
        v.value = (double)NAN;
        v.aux_json[0] = '\0';
        double t = nas_time_now();
        o->st = sc[j]->fn(sc[j], &net, &v);
        o->seconds = nas_time_now() - t;
        if (o->st == NAS_OK) {
            o->value = v.value;
            snprintf(o->text, sizeof o->text, "%s", v.aux_json);
        } else {
            snprintf(o->text, sizeof o->text, "%s", nas_errmsg());
        }
    }
    nas_net_free(&net);
    c->done = true;
}

nas_status nas_score_candidates(const nas_space *sp, const nas_net_config *nc,
                                const nas_scorer *const *sc, int n_sc, nas_score_cand *cands, int n,
                                const nas_score_run_config *cfg) {
    if (n_sc < 1 || n_sc > NAS_SCORE_SET_MAX) {
        return nas_error(NAS_EINVAL, "score: %d scorers (1 to %d at once)", n_sc,
                         NAS_SCORE_SET_MAX);
    }
    for (int j = 0; j < n_sc; j++) {
        if (!sc[j] || !sc[j]->fn) {
            return nas_error(NAS_EINVAL, "score: scorer %d has no function", j + 1);
        }
    }
    int todo = 0;
    for (int k = 0; k < n; k++) {
        if (cands[k].arch) {
            cands[k].done = false;
            todo++;
        }
    }
    const int T = cfg->threads > 0 ? cfg->threads : nas_get_threads();
    const bool par = T > 1 && todo > 1 && !cfg->serial;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for num_threads(T) schedule(dynamic, 1) if (par)
#endif
    for (int k = 0; k < n; k++) {
        if (cands[k].arch && !skip_rest(cfg)) {
            score_cand(sp, nc, sc, n_sc, &cands[k]);
        }
    }
    return NAS_OK;
}
