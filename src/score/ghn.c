/*
 * The GHN scorers: the validation accuracy (ghn, with the loss in aux_json) or the validation
 * cross-entropy (ghn_loss, with the accuracy in aux_json) that a graph hypernetwork's predicted
 * weights reach on a fixed validation subset, with a pool of evaluation workspaces shared by the
 * threads that score at once.
 */
#include "score-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GHN_WS_POOL 64

/* The GHN scorer's data (copied configuration; the pointers stay the caller's) and a pool of
 * evaluation workspaces: a call borrows one, so each of the threads scoring at once reuses warm
 * memory instead of allocating a fresh net's worth of activations per candidate. */
typedef struct ghn_ctx {
    nas_ghn_scorer_config cfg;
    nas_ghn_eval_ws *idle[GHN_WS_POOL]; /* workspaces not in use */
    int n_idle;
    bool by_loss; /* ghn_loss: the value is the cross-entropy (lower is better), aux the accuracy */
    bool bn_calib; /* ghn_bn*: BN on running statistics recalibrated on cfg.calib */
} ghn_ctx;

static nas_ghn_eval_ws *ws_borrow(ghn_ctx *g) {
    nas_ghn_eval_ws *ws = NULL;
#ifdef _OPENMP
#pragma omp critical(nas_scorer_ghn_pool)
#endif
    {
        if (g->n_idle > 0) {
            ws = g->idle[--g->n_idle];
        }
    }
    return ws ? ws : nas_calloc(1, sizeof *ws); /* zeroed = not yet initialised */
}

static void ws_return(ghn_ctx *g, nas_ghn_eval_ws *ws) {
    bool kept = false;
#ifdef _OPENMP
#pragma omp critical(nas_scorer_ghn_pool)
#endif
    {
        if (g->n_idle < GHN_WS_POOL) {
            g->idle[g->n_idle++] = ws;
            kept = true;
        }
    }
    if (!kept) {
        nas_ghn_eval_ws_free(ws);
        nas_free(ws);
    }
}

static nas_status score_ghn(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    ghn_ctx *g = sc->ctx;
    double loss = (double)NAN, acc = (double)NAN;
    nas_ghn_eval_ws *ws = ws_borrow(g);
    if (!ws) {
        return nas_error(NAS_ENOMEM, "ghn scorer: out of memory");
    }
    nas_status st =
        nas_ghn_evaluate_bn_ws(g->cfg.ghn, ws, net, g->cfg.ds, g->cfg.idx, g->cfg.n, &g->cfg.norm,
                               g->cfg.batch, g->bn_calib ? &g->cfg.calib : NULL, &loss, &acc);
    ws_return(g, ws);
    NAS_CHECK(st);
    /* the value is one of the pair, the other goes to aux_json */
    out->value = g->by_loss ? (isfinite(loss) ? loss : (double)NAN) : acc;
    const double other = g->by_loss ? acc : loss;
    const char *key = g->by_loss ? "acc" : "loss";
    if (isfinite(other)) {
        snprintf(out->aux_json, sizeof out->aux_json, "{\"%s\": %.9g}", key, other);
    } else {
        snprintf(out->aux_json, sizeof out->aux_json, "{\"%s\": null}", key);
    }
    return NAS_OK;
}

static void ghn_ctx_free(void *p) {
    ghn_ctx *g = p;
    for (int i = 0; i < g->n_idle; i++) {
        nas_ghn_eval_ws_free(g->idle[i]);
        nas_free(g->idle[i]);
    }
    nas_free(g);
}

/* The scorer of registry entry e ("ghn") from cfg: its name and direction are the entry's. */
static nas_status make_ghn(nas_scorer *out, const nas_score_entry *e,
                           const nas_ghn_scorer_config *cfg) {
    memset(out, 0, sizeof *out);
    if (!cfg || !cfg->ghn || !cfg->ds || cfg->n < 1 || cfg->batch < 1) {
        return nas_error(NAS_EINVAL,
                         "ghn scorer: needs a GHN, a dataset, n >= 1 images and a batch >= 1");
    }
    if (!cfg->idx && cfg->n > cfg->ds->n) {
        return nas_error(NAS_EINVAL, "ghn scorer: %lld images asked of a dataset of %lld",
                         (long long)cfg->n, (long long)cfg->ds->n);
    }
    const bool bn = strstr(e->stored, "_bn") != NULL;
    if (bn && (!cfg->calib.ds || cfg->calib.batches < 1 || cfg->calib.batch_size < 2)) {
        return nas_error(NAS_EINVAL, "%s scorer: needs training images to recalibrate BN on",
                         e->name);
    }
    ghn_ctx *g = nas_calloc(1, sizeof *g);
    if (!g) {
        return nas_error(NAS_ENOMEM, "ghn scorer: out of memory");
    }
    g->cfg = *cfg;
    g->by_loss = strstr(e->stored, "loss") != NULL;
    g->bn_calib = bn;
    snprintf(out->name, sizeof out->name, "%s", e->stored);
    out->higher_is_better = e->higher_is_better;
    out->fn = score_ghn;
    out->ctx = g;
    out->ctx_free = ghn_ctx_free;
    if (bn) {
        snprintf(out->recipe, sizeof out->recipe,
                 "%s; %lld images; batch %d; bn running, recalibrated on %d x %d of %s",
                 cfg->data_id ? cfg->data_id : "data", (long long)cfg->n, cfg->batch,
                 cfg->calib.batches, cfg->calib.batch_size,
                 cfg->calib_id ? cfg->calib_id : "training images");
    } else {
        snprintf(out->recipe, sizeof out->recipe, "%s; %lld images; batch %d; bn batch",
                 cfg->data_id ? cfg->data_id : "data", (long long)cfg->n, cfg->batch);
    }
    g->cfg.data_id = NULL; /* not kept: the recipe holds them */
    g->cfg.calib_id = NULL;
    return NAS_OK;
}

nas_status nas_i_score_make_ghn(nas_scorer *out, const nas_score_entry *e,
                                const nas_score_inputs *in) {
    return make_ghn(out, e, &in->ghn);
}

nas_status nas_scorer_ghn(nas_scorer *out, const nas_ghn_scorer_config *cfg) {
    memset(out, 0, sizeof *out);
    const nas_score_entry *e = NULL;
    NAS_CHECK(nas_score_find("ghn", &e));
    return make_ghn(out, e, cfg);
}
