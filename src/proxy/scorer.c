/*
 * Zero-cost proxies as nas_scorer for the search controller: the batch is drawn once when the
 * scorer is made (every candidate sees the same images), weights are seeded per candidate, and
 * the recipe records everything that fixes a value.
 */
#include "proxy-impl.h"

#include <stdio.h>
#include <string.h>

/* The scorer's read-only data. */
typedef struct proxy_ctx {
    nas_i_proxy proxy;
    float *x;      /* [batch, c, h, w] normalised images */
    int32_t *y;    /* [batch] labels */
    int batch;     /* examples */
    int c, h, w;   /* image shape */
    uint64_t seed; /* weight initialisation */
} proxy_ctx;

static void proxy_ctx_free(void *p) {
    proxy_ctx *pc = p;
    if (pc) {
        nas_free(pc->x);
        nas_free(pc->y);
        nas_free(pc);
    }
}

static nas_status score_proxy(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    const proxy_ctx *pc = sc->ctx;
    double v;
    NAS_CHECK(nas_i_proxy_seeded(pc->proxy, net, pc->x, pc->y, pc->batch, pc->c, pc->h, pc->w,
                                 pc->seed, &v));
    out->value = v;
    return NAS_OK;
}

nas_status nas_scorer_proxy(nas_scorer *out, const char *name, const nas_proxy_config *cfg) {
    if (!out) {
        return nas_error(NAS_EINVAL, "proxy scorer: output is NULL");
    }
    memset(out, 0, sizeof *out);
    nas_i_proxy p = NAS_I_PROXY_COUNT;
    NAS_CHECK(nas_i_proxy_find(name, &p));
    proxy_ctx *pc = nas_calloc(1, sizeof *pc);
    if (!pc) {
        return nas_error(NAS_ENOMEM, "proxy scorer: out of memory");
    }
    nas_status st = nas_i_proxy_draw(cfg, &pc->x, &pc->y);
    if (st != NAS_OK) {
        proxy_ctx_free(pc);
        return nas_error_wrap(st, "proxy scorer %s", name);
    }
    pc->proxy = p;
    pc->batch = cfg->batch;
    pc->c = cfg->ds->c;
    pc->h = cfg->ds->h;
    pc->w = cfg->ds->w;
    pc->seed = cfg->seed;
    snprintf(out->name, sizeof out->name, "%s", nas_i_proxy_name(p));
    out->higher_is_better = true;
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
