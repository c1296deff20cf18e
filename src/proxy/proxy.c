/*
 * Zero-cost proxies: the name table, argument checks and dispatch (nas_proxy_compute_with), the
 * seeded path (nas_proxy_compute: configuration checks, the seeded batch draw and weight
 * initialisation), one drawn batch for many nets (nas_proxy_batch_*, what the proxy scorers of
 * src/score use) and the tape forward pass with weights given as float arrays.
 */
#include "proxy-impl.h"
#include "tensor/tape-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The one table of proxies: enum value and name, in the order of nas_proxy_name. */
#define PROXY_TABLE(X)                                                                             \
    X(NAS_I_PROXY_GRAD_NORM, "grad_norm")                                                          \
    X(NAS_I_PROXY_SNIP, "snip")                                                                    \
    X(NAS_I_PROXY_SYNFLOW, "synflow")                                                              \
    X(NAS_I_PROXY_JACOB_COV, "jacob_cov")                                                          \
    X(NAS_I_PROXY_NASWOT, "naswot")

#define PROXY_NAME(e, s) [e] = s,
static const char *const proxy_names[NAS_I_PROXY_COUNT] = {PROXY_TABLE(PROXY_NAME)};
#undef PROXY_NAME

#define PROXY_JOIN(e, s) ", " s
static const char proxy_list[] = "" PROXY_TABLE(PROXY_JOIN); /* ", grad_norm, snip, ..." */
#undef PROXY_JOIN

const char *nas_proxy_names(void) {
    return proxy_list + 2;
}

int nas_proxy_count(void) {
    return NAS_I_PROXY_COUNT;
}

const char *nas_proxy_name(int index) {
    return nas_i_proxy_name((nas_i_proxy)index);
}

const char *nas_i_proxy_name(nas_i_proxy p) {
    return (int)p >= 0 && p < NAS_I_PROXY_COUNT ? proxy_names[p] : "?";
}

nas_status nas_i_proxy_find(const char *name, nas_i_proxy *out) {
    for (int p = 0; name && p < NAS_I_PROXY_COUNT; p++) {
        if (strcmp(name, proxy_names[p]) == 0) {
            *out = (nas_i_proxy)p;
            return NAS_OK;
        }
    }
    return nas_error(NAS_ENOTFOUND, "unknown proxy '%s' (known: %s)", name ? name : "(null)",
                     nas_proxy_names());
}

nas_status nas_proxy_find(const char *name, int *index) {
    nas_i_proxy p = NAS_I_PROXY_COUNT;
    NAS_CHECK(nas_i_proxy_find(name, &p));
    *index = (int)p;
    return NAS_OK;
}

bool nas_i_proxy_scored_slot(const nas_net *net, int s) {
    const nas_net_slot *sl = &net->slots[s];
    if (sl->role != NAS_NET_WEIGHT || sl->node < 0 || sl->node >= net->n_nodes) {
        return false;
    }
    nas_net_op op = net->nodes[sl->node].op;
    return op == NAS_NET_CONV || op == NAS_NET_LINEAR;
}

/* ---- tape forward --------------------------------------------------------------------------- */

nas_tensor *nas_i_proxy_forward(nas_tape *t, const nas_net *net, const float *const *w,
                                const float *x, int batch, bool weight_grad, bool x_grad,
                                nas_tensor ***wt, nas_tensor **xt, nas_tensor **node_out) {
    /* [n_slots] step tensors holding the slot values */
    nas_tensor **ws = nas_i_alloc(t, (size_t)(net->n_slots > 0 ? net->n_slots : 1) * sizeof *ws);
    if (!ws) {
        return NULL;
    }
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        ws[s] = nas_tensor_from(t, sl->ndim, sl->shape, w[s]);
        if (!ws[s]) {
            return NULL;
        }
        if (weight_grad && nas_i_proxy_scored_slot(net, s) &&
            nas_tensor_require_grad(t, ws[s]) != NAS_OK) {
            return NULL;
        }
    }
    const nas_net_config *c = &net->cfg;
    nas_tensor *xs = nas_tensor_new4(t, 4, batch, c->in_c, c->in_h, c->in_w);
    if (!xs) {
        return NULL;
    }
    memcpy(xs->data, x, (size_t)xs->numel * sizeof(float));
    if (x_grad && nas_tensor_require_grad(t, xs) != NAS_OK) {
        return NULL;
    }
    if (wt) {
        *wt = ws;
    }
    if (xt) {
        *xt = xs;
    }
    nas_net_run run = nas_net_run_defaults(); /* batch statistics, no running statistics */
    run.node_out = node_out;
    return nas_net_forward(t, net, ws, &run, xs);
}

/* ---- explicit weights ----------------------------------------------------------------------- */

static nas_status check_args(nas_i_proxy p, const nas_net *net, const float *const *w,
                             const float *x, const int32_t *labels, int batch) {
    const char *nm = proxy_names[p];
    if (!net || !net->nodes || !net->slots || net->n_nodes < 2 || net->output != net->n_nodes - 1) {
        return nas_error(NAS_EINVAL, "proxy %s: the net is not compiled", nm);
    }
    if (!w && net->n_slots > 0) {
        return nas_error(NAS_EINVAL, "proxy %s: no weights given for the %d slots of %s", nm,
                         net->n_slots, net->arch);
    }
    for (int s = 0; s < net->n_slots; s++) {
        if (!w[s]) {
            return nas_error(NAS_EINVAL, "proxy %s: slot %d (%s) has no values", nm, s,
                             net->slots[s].name);
        }
    }
    if (batch < 1) {
        return nas_error(NAS_EINVAL, "proxy %s: batch must be >= 1, got %d", nm, batch);
    }
    if (!x && p != NAS_I_PROXY_SYNFLOW) {
        return nas_error(NAS_EINVAL, "proxy %s: no input batch x", nm);
    }
    if (p == NAS_I_PROXY_GRAD_NORM || p == NAS_I_PROXY_SNIP) {
        if (!labels) {
            return nas_error(NAS_EINVAL, "proxy %s: needs labels (cross-entropy loss)", nm);
        }
        for (int i = 0; i < batch; i++) {
            if (labels[i] < 0 || labels[i] >= net->cfg.classes) {
                return nas_error(NAS_EINVAL,
                                 "proxy %s: label %d of example %d is outside the net's %d "
                                 "classes",
                                 nm, (int)labels[i], i, net->cfg.classes);
            }
        }
    }
    return NAS_OK;
}

nas_status nas_proxy_compute_with(const char *name, const nas_net *net, const float *const *w,
                                  const float *x, const int32_t *labels, int batch, double *value) {
    if (!value) {
        return nas_error(NAS_EINVAL, "proxy %s: value pointer is NULL", name ? name : "(null)");
    }
    *value = (double)NAN;
    nas_i_proxy p = NAS_I_PROXY_COUNT;
    NAS_CHECK(nas_i_proxy_find(name, &p));
    NAS_CHECK(check_args(p, net, w, x, labels, batch));
    double v = (double)NAN;
    nas_status st;
    switch (p) {
        case NAS_I_PROXY_GRAD_NORM:
        case NAS_I_PROXY_SNIP:
            st = nas_i_proxy_gradient(p, net, w, x, labels, batch, &v);
            break;
        case NAS_I_PROXY_SYNFLOW:
            st = nas_i_proxy_synflow(net, w, &v);
            break;
        case NAS_I_PROXY_JACOB_COV:
            st = nas_i_proxy_jacob_cov(net, w, x, batch, &v);
            break;
        case NAS_I_PROXY_NASWOT:
            st = nas_i_proxy_naswot(net, w, x, batch, &v);
            break;
        default:
            return nas_error(NAS_EINTERNAL, "proxy: no kernel for %d", (int)p);
    }
    if (st != NAS_OK) {
        return nas_error_wrap(st, "proxy %s on %s", proxy_names[p], net->arch);
    }
    bool ok = isfinite(v) || (p == NAS_I_PROXY_NASWOT && v < 0.0 && isinf(v));
    if (!ok) {
        return nas_error(NAS_ENUMERIC, "proxy %s on %s: the score is %g (%s)", proxy_names[p],
                         net->arch, v,
                         p == NAS_I_PROXY_SYNFLOW ? "beyond double range"
                                                  : "NaN or infinite loss or activations");
    }
    *value = v;
    return NAS_OK;
}

/* ---- seeded path ---------------------------------------------------------------------------- */

nas_status nas_i_proxy_check_config(const nas_proxy_config *cfg) {
    if (!cfg) {
        return nas_error(NAS_EINVAL, "proxy config: NULL");
    }
    const nas_dataset *ds = cfg->ds;
    if (!ds || !ds->images || !ds->labels || ds->n < 1) {
        return nas_error(NAS_EINVAL, "proxy config: no dataset (or an empty one)");
    }
    if (cfg->batch < 1) {
        return nas_error(NAS_EINVAL, "proxy config: batch must be >= 1, got %d", cfg->batch);
    }
    if (cfg->n < cfg->batch || cfg->n > INT32_MAX) {
        return nas_error(NAS_EINVAL,
                         "proxy config: the subset has %lld images; it needs at least batch (%d) "
                         "and at most %d",
                         (long long)cfg->n, cfg->batch, INT32_MAX);
    }
    if (!cfg->idx && cfg->n > ds->n) {
        return nas_error(NAS_EINVAL, "proxy config: %lld images asked of dataset %s of %lld",
                         (long long)cfg->n, ds->name, (long long)ds->n);
    }
    if (cfg->norm.c != ds->c) {
        return nas_error(NAS_EINVAL,
                         "proxy config: the normalisation has %d channels, dataset %s has %d",
                         cfg->norm.c, ds->name, ds->c);
    }
    for (int c = 0; c < ds->c; c++) {
        if (!(cfg->norm.std[c] > 0.0f) || !isfinite(cfg->norm.std[c]) ||
            !isfinite(cfg->norm.mean[c])) {
            return nas_error(NAS_EINVAL,
                             "proxy config: normalisation of channel %d is not usable "
                             "(std must be positive and finite)",
                             c);
        }
    }
    return NAS_OK;
}

nas_status nas_i_proxy_draw(const nas_proxy_config *cfg, float **x, int32_t **y) {
    *x = NULL;
    *y = NULL;
    NAS_CHECK(nas_i_proxy_check_config(cfg));
    nas_status st = NAS_OK;
    const nas_dataset *ds = cfg->ds;
    int32_t *pos = nas_malloc((size_t)cfg->n * sizeof *pos);       /* [n] positions in the subset */
    int32_t *pick = nas_malloc((size_t)cfg->batch * sizeof *pick); /* [batch] dataset indices */
    /* the batch: images [batch, c, h, w] and labels [batch] */
    float *xb = nas_malloc((size_t)cfg->batch * nas_data_image_size(ds) * sizeof *xb);
    int32_t *yb = nas_malloc((size_t)cfg->batch * sizeof *yb);
    if (!pos || !pick || !xb || !yb) {
        st = nas_error(NAS_ENOMEM, "proxy: cannot allocate a batch of %d images", cfg->batch);
        goto cleanup;
    }
    nas_rng root, r;
    nas_rng_seed(&root, cfg->seed);
    nas_rng_split(&r, &root, 1); /* stream 1: the batch (stream 0: the weights) */
    for (int64_t i = 0; i < cfg->n; i++) {
        pos[i] = (int32_t)i;
    }
    for (int i = 0; i < cfg->batch; i++) { /* partial Fisher-Yates */
        int64_t j = i + (int64_t)nas_rng_below(&r, (uint64_t)(cfg->n - i));
        int32_t tmp = pos[i];
        pos[i] = pos[j];
        pos[j] = tmp;
        pick[i] = cfg->idx ? cfg->idx[pos[i]] : pos[i];
    }
    st = nas_data_batch(ds, pick, cfg->batch, &cfg->norm, xb, yb);
    if (st != NAS_OK) {
        st = nas_error_wrap(st, "proxy batch");
        goto cleanup;
    }
    *x = xb;
    *y = yb;
    xb = NULL;
    yb = NULL;
cleanup:
    nas_free(pos);
    nas_free(pick);
    nas_free(xb);
    nas_free(yb);
    return st;
}

nas_status nas_i_proxy_seeded(nas_i_proxy p, const nas_net *net, const float *x, const int32_t *y,
                              int batch, int c, int h, int w, uint64_t seed, double *value) {
    *value = (double)NAN;
    const char *nm = nas_i_proxy_name(p);
    if (!net || !net->nodes) {
        return nas_error(NAS_EINVAL, "proxy %s: the net is not compiled", nm);
    }
    const nas_net_config *nc = &net->cfg;
    if (nc->in_c != c || nc->in_h != h || nc->in_w != w) {
        return nas_error(NAS_EINVAL,
                         "proxy %s: the images are %dx%dx%d but net %s takes %dx%dx%d (C x H x W)",
                         nm, c, h, w, net->arch, nc->in_c, nc->in_h, nc->in_w);
    }
    for (int i = 0; i < batch; i++) {
        if (y[i] < 0 || y[i] >= nc->classes) {
            return nas_error(NAS_EINVAL,
                             "proxy %s: label %d of batch example %d is beyond the net's %d "
                             "classes",
                             nm, (int)y[i], i, nc->classes);
        }
    }
    nas_rng root, r;
    nas_rng_seed(&root, seed);
    nas_rng_split(&r, &root, 0); /* stream 0: the weights */
    nas_net_model m;
    NAS_CHECK(nas_net_model_init(&m, net, NAS_NET_INIT_TORCH, &r));
    nas_status st = NAS_OK;
    /* [n_slots] pointers to the slot values */
    const float **ws = nas_malloc((size_t)(net->n_slots > 0 ? net->n_slots : 1) * sizeof *ws);
    if (!ws) {
        st = nas_error(NAS_ENOMEM, "proxy %s: out of memory", nm);
        goto cleanup;
    }
    for (int s = 0; s < net->n_slots; s++) {
        ws[s] = m.params.tensors[s]->data;
    }
    st = nas_proxy_compute_with(nm, net, ws, x, y, batch, value);
cleanup:
    nas_free(ws);
    nas_net_model_free(&m);
    return st;
}

nas_status nas_proxy_compute(const char *name, const nas_net *net, const nas_proxy_config *cfg,
                             double *value) {
    if (!value) {
        return nas_error(NAS_EINVAL, "proxy %s: value pointer is NULL", name ? name : "(null)");
    }
    *value = (double)NAN;
    nas_i_proxy p = NAS_I_PROXY_COUNT;
    NAS_CHECK(nas_i_proxy_find(name, &p));
    if (!net || !net->nodes) {
        return nas_error(NAS_EINVAL, "proxy %s: the net is not compiled", name);
    }
    float *x = NULL;
    int32_t *y = NULL;
    nas_status st = nas_i_proxy_draw(cfg, &x, &y);
    if (st == NAS_OK) {
        st = nas_i_proxy_seeded(p, net, x, y, cfg->batch, cfg->ds->c, cfg->ds->h, cfg->ds->w,
                                cfg->seed, value);
    }
    nas_free(x);
    nas_free(y);
    return st;
}

/* ---- one batch, many nets ------------------------------------------------------------------- */

nas_status nas_proxy_batch_draw(nas_proxy_batch *out, const nas_proxy_config *cfg) {
    if (!out) {
        return nas_error(NAS_EINVAL, "proxy batch: output is NULL");
    }
    memset(out, 0, sizeof *out);
    NAS_CHECK(nas_i_proxy_draw(cfg, &out->x, &out->y));
    out->batch = cfg->batch;
    out->c = cfg->ds->c;
    out->h = cfg->ds->h;
    out->w = cfg->ds->w;
    out->seed = cfg->seed;
    return NAS_OK;
}

void nas_proxy_batch_free(nas_proxy_batch *b) {
    if (b) {
        nas_free(b->x);
        nas_free(b->y);
        memset(b, 0, sizeof *b);
    }
}

nas_status nas_proxy_compute_batch(const char *name, const nas_net *net, const nas_proxy_batch *b,
                                   double *value) {
    if (!value) {
        return nas_error(NAS_EINVAL, "proxy %s: value pointer is NULL", name ? name : "(null)");
    }
    *value = (double)NAN;
    nas_i_proxy p = NAS_I_PROXY_COUNT;
    NAS_CHECK(nas_i_proxy_find(name, &p));
    if (!b || !b->x || !b->y || b->batch < 1) {
        return nas_error(NAS_EINVAL, "proxy %s: no drawn batch (nas_proxy_batch_draw)", name);
    }
    return nas_i_proxy_seeded(p, net, b->x, b->y, b->batch, b->c, b->h, b->w, b->seed, value);
}
