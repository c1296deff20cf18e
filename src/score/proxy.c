/*
 * Zero-cost proxies (src/proxy) as scorers: the batch is drawn once when the scorer is made
 * (every candidate sees the same images), weights are seeded per candidate, and the recipe
 * records everything that fixes a value.
 */
#include "score-impl.h"

#include <stdio.h>
#include <string.h>

/* The scorer's read-only data. */
typedef struct proxy_ctx {
    const char *proxy; /* its name (the proxy module's table) */
    nas_proxy_batch b; /* the drawn batch and the weight seed */
} proxy_ctx;

static void proxy_ctx_free(void *p) {
    proxy_ctx *pc = p;
    if (pc) {
        nas_proxy_batch_free(&pc->b);
        nas_free(pc);
    }
}

static nas_status score_proxy(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    const proxy_ctx *pc = sc->ctx;
    double v;
    NAS_CHECK(nas_proxy_compute_batch(pc->proxy, net, &pc->b, &v));
    out->value = v;
    return NAS_OK;
}

/* The scorer of proxy `index` with registry entry e's name and direction. */
static nas_status make_proxy(nas_scorer *out, int index, const nas_score_entry *e,
                             const nas_proxy_config *cfg) {
    proxy_ctx *pc = nas_calloc(1, sizeof *pc);
    if (!pc) {
        return nas_error(NAS_ENOMEM, "proxy scorer: out of memory");
    }
    pc->proxy = nas_proxy_name(index);
    nas_status st = nas_proxy_batch_draw(&pc->b, cfg);
    if (st != NAS_OK) {
        proxy_ctx_free(pc);
        return nas_error_wrap(st, "proxy scorer %s", nas_proxy_name(index));
    }
    snprintf(out->name, sizeof out->name, "%s", e->stored);
    out->higher_is_better = e->higher_is_better;
    out->fn = score_proxy;
    out->ctx = pc;
    out->ctx_free = proxy_ctx_free;
    char norm[NAS_DATA_MAX_CHANNELS * 32] = "";
    size_t off = 0;
    for (int c = 0; c < cfg->norm.c && off < sizeof norm; c++) {
        off += (size_t)snprintf(norm + off, sizeof norm - off, "%s%.6g/%.6g", c ? "," : "",
                                (double)cfg->norm.mean[c], (double)cfg->norm.std[c]);
    }
    snprintf(out->recipe, sizeof out->recipe,
             "%s; batch %d of %lld images; norm %s; seed %llu; init torch; bn batch",
             cfg->data_id ? cfg->data_id : "data", cfg->batch, (long long)cfg->n, norm,
             (unsigned long long)cfg->seed);
    return NAS_OK;
}

nas_status nas_i_score_make_proxy(nas_scorer *out, const nas_score_entry *e,
                                  const nas_score_inputs *in) {
    memset(out, 0, sizeof *out);
    int index = 0;
    NAS_CHECK(nas_proxy_find(e->name, &index));
    return make_proxy(out, index, e, &in->data);
}

nas_status nas_scorer_proxy(nas_scorer *out, const char *name, const nas_proxy_config *cfg) {
    if (!out) {
        return nas_error(NAS_EINVAL, "proxy scorer: output is NULL");
    }
    memset(out, 0, sizeof *out);
    int index = 0;
    NAS_CHECK(nas_proxy_find(name, &index));
    const nas_score_entry *e = NULL;
    if (nas_score_find(nas_proxy_name(index), &e) != NAS_OK) {
        return nas_error(NAS_EINTERNAL, "proxy %s is not in the scorer registry",
                         nas_proxy_name(index));
    }
    return make_proxy(out, index, e, cfg);
}
