/*
 * The net executor: runs the IR node by node on a tape (one tensor op per node), with weights
 * given per parameter slot (parameters or any tape values, so gradients reach whatever produced
 * them), BN in batch-statistics or running-statistics mode; and owned weights (a nas_params
 * block in slot order plus BN running statistics) usable as a nas_model for nas_train.
 */
#include "net-impl.h"
#include "tensor/tape-impl.h"

#include <stdio.h>
#include <string.h>

nas_net_run nas_net_run_defaults(void) {
    nas_net_run r;
    memset(&r, 0, sizeof r);
    r.bn_mode = NAS_BN_BATCH_STATS;
    r.bn_momentum = 0.1f;
    r.bn_eps = 1e-5f;
    return r;
}

void nas_net_running_reset(const nas_net *net, float *running) {
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        if (n->op != NAS_NET_BN) {
            continue;
        }
        float *mean = running + n->bn_offset, *var = mean + n->shape[0];
        for (int64_t c = 0; c < n->shape[0]; c++) {
            mean[c] = 0.0f;
            var[c] = 1.0f;
        }
    }
}

/* "[a, b, c, d]" of a slot. */
static const char *slot_shape(const nas_net_slot *s, char *buf, size_t cap) {
    size_t off = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < s->ndim && off < cap; d++) {
        off +=
            (size_t)snprintf(buf + off, cap - off, d ? ", %lld" : "%lld", (long long)s->shape[d]);
    }
    if (off < cap) {
        snprintf(buf + off, cap - off, "]");
    }
    return buf;
}

/* Everything a forward pass needs checked before any op runs. NULL on success, else the
 * (already recorded) failure. */
static bool check_inputs(nas_tape *t, const nas_net *net, nas_tensor *const *w,
                         const nas_net_run *r, const nas_tensor *x) {
    const nas_net_config *c = &net->cfg;
    char a[64], e[64];
    if (x->ndim != 4 || x->shape[1] != c->in_c || x->shape[2] != c->in_h ||
        x->shape[3] != c->in_w) {
        nas_i_fail(t, NAS_ESHAPE, "net forward: x %s must be [B, %d, %d, %d]",
                   nas_shape_str(x, a, sizeof a), c->in_c, c->in_h, c->in_w);
        return false;
    }
    if (r->bn_mode == NAS_BN_RUNNING_STATS && !r->running && net->n_running > 0) {
        nas_i_fail(t, NAS_EINVAL, "net forward: running-statistics mode needs running statistics");
        return false;
    }
    if (!w && net->n_slots > 0) {
        nas_i_fail(t, NAS_EINVAL, "net forward: no weights given for %d slots", net->n_slots);
        return false;
    }
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        const nas_tensor *ws = w[s];
        if (!ws) {
            nas_i_fail(t, NAS_EINVAL, "net forward: slot %d (%s) has no tensor", s, sl->name);
            return false;
        }
        bool ok = ws->ndim == sl->ndim;
        for (int d = 0; ok && d < sl->ndim; d++) {
            ok = ws->shape[d] == sl->shape[d];
        }
        if (!ok) {
            nas_i_fail(t, NAS_ESHAPE, "net forward: slot %d (%s) has shape %s, expected %s", s,
                       sl->name, nas_shape_str(ws, a, sizeof a), slot_shape(sl, e, sizeof e));
            return false;
        }
    }
    return true;
}

/* Prefix the tape's sticky message with the failing node. */
static void blame_node(nas_tape *t, const nas_net_node *n) {
    char msg[sizeof t->errmsg];
    snprintf(msg, sizeof msg, "net forward: node %s (%s): %s", n->name, nas_net_op_name(n->op),
             t->errmsg);
    snprintf(t->errmsg, sizeof t->errmsg, "%s", msg);
    nas_error(t->status, "%s", t->errmsg);
}

static nas_tensor *run_node(nas_tape *t, const nas_net *net, const nas_net_node *n,
                            nas_tensor *const *w, const nas_net_run *r, nas_tensor **vals,
                            nas_tensor *x) {
    nas_tensor *in0 = n->n_in > 0 ? vals[n->in[0]] : NULL;
    switch (n->op) {
        case NAS_NET_INPUT:
            return x;
        case NAS_NET_CONV:
            return nas_conv2d(t, in0, w[n->slot], NULL, n->stride, n->pad, n->dilation, n->groups);
        case NAS_NET_BN: {
            float *mean = r->running ? r->running + n->bn_offset : NULL;
            float *var = mean ? mean + n->shape[0] : NULL;
            return nas_batchnorm(t, in0, w[n->slot], w[n->slot + 1], mean, var, r->bn_mode,
                                 r->bn_momentum, r->bn_eps);
        }
        case NAS_NET_RELU:
            return nas_relu(t, in0);
        case NAS_NET_AVGPOOL:
            return nas_avgpool2d(t, in0, n->k, n->stride, n->pad, n->count_include_pad);
        case NAS_NET_MAXPOOL:
            return nas_maxpool2d(t, in0, n->k, n->stride, n->pad);
        case NAS_NET_SUM:
        case NAS_NET_CONCAT: {
            nas_tensor **xs = nas_i_alloc(t, (size_t)n->n_in * sizeof *xs);
            if (!xs) {
                return NULL;
            }
            for (int i = 0; i < n->n_in; i++) {
                xs[i] = vals[n->in[i]];
            }
            return n->op == NAS_NET_SUM ? nas_sum(t, xs, n->n_in) : nas_concat(t, xs, n->n_in, 1);
        }
        case NAS_NET_SLICE: {
            nas_tensor *h = in0;
            const nas_net_node *src = &net->nodes[n->in[0]];
            for (int d = 0; d < 3 && h; d++) {
                if (n->offset[d] != 0 || n->shape[d] != src->shape[d]) {
                    h = nas_slice(t, h, d + 1, n->offset[d], n->shape[d]);
                }
            }
            return h;
        }
        case NAS_NET_ZERO:
            return nas_zero(t, in0);
        case NAS_NET_GAP:
            return nas_global_avgpool(t, in0);
        case NAS_NET_LINEAR:
            return nas_linear(t, in0, w[n->slot], w[n->slot + 1]);
        default:
            return nas_i_fail(t, NAS_EINTERNAL, "net forward: unknown op %d", (int)n->op);
    }
}

nas_tensor *nas_net_forward(nas_tape *t, const nas_net *net, nas_tensor *const *w,
                            const nas_net_run *run, nas_tensor *x) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    if (!net || !net->nodes || net->n_nodes < 2) {
        return nas_i_fail(t, NAS_EINVAL, "net forward: the net is not compiled");
    }
    nas_net_run r = run ? *run : nas_net_run_defaults();
    if (!check_inputs(t, net, w, &r, x)) {
        return NULL;
    }
    /* [n_nodes] output of every node */
    nas_tensor **vals = nas_i_alloc(t, (size_t)net->n_nodes * sizeof *vals);
    if (!vals) {
        return NULL;
    }
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        vals[v] = run_node(t, net, n, w, &r, vals, x);
        if (!vals[v]) {
            blame_node(t, n);
            return NULL;
        }
        if (r.node_out) {
            r.node_out[v] = vals[v];
        }
    }
    return vals[net->output];
}

/* ---- owned weights -------------------------------------------------------------------------- */

nas_status nas_net_model_init(nas_net_model *m, const nas_net *net, nas_net_init init,
                              nas_rng *rng) {
    memset(m, 0, sizeof *m);
    if (!net || !net->nodes || !rng) {
        return nas_error(NAS_EINVAL, "net model: no compiled net or no RNG");
    }
    if (init != NAS_NET_INIT_TORCH && init != NAS_NET_INIT_KAIMING_OUT) {
        return nas_error(NAS_EINVAL, "net model: unknown initialisation %d", (int)init);
    }
    nas_status st = NAS_OK;
    m->net = net;
    m->bn_momentum = 0.1f;
    m->bn_eps = 1e-5f;
    NAS_TRY(nas_params_init(&m->params));
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        uint32_t flags = sl->ndim == 1 ? NAS_TENSOR_NO_DECAY : 0;
        if (!nas_params_add(&m->params, sl->name, sl->ndim, sl->shape, flags)) {
            st = nas_error_wrap(NAS_ENOMEM, "net model");
            goto cleanup;
        }
    }
    NAS_TRY(nas_params_finalize(&m->params));
    m->running = nas_malloc((size_t)(net->n_running ? net->n_running : 1) * sizeof(float));
    if (!m->running) {
        st = nas_error(NAS_ENOMEM, "net model: cannot allocate %lld running statistics",
                       (long long)net->n_running);
        goto cleanup;
    }
    nas_net_running_reset(net, m->running);
    nas_tensor **p = m->params.tensors;
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        switch (n->op) {
            case NAS_NET_CONV:
                if (init == NAS_NET_INIT_TORCH) {
                    NAS_TRY(nas_init_default(p[n->slot], NULL, rng));
                } else {
                    NAS_TRY(nas_init_kaiming_normal(p[n->slot], rng, NAS_FAN_OUT,
                                                    nas_init_gain(NAS_NONLIN_RELU, 0.0f)));
                }
                break;
            case NAS_NET_BN:
                NAS_TRY(nas_init_ones(p[n->slot]));
                NAS_TRY(nas_init_zeros(p[n->slot + 1]));
                break;
            case NAS_NET_LINEAR:
                NAS_TRY(nas_init_default(p[n->slot], p[n->slot + 1], rng));
                break;
            default:
                break;
        }
    }
cleanup:
    if (st != NAS_OK) {
        nas_net_model_free(m);
    }
    return st;
}

void nas_net_model_free(nas_net_model *m) {
    if (!m) {
        return;
    }
    nas_params_free(&m->params);
    nas_free(m->running);
    memset(m, 0, sizeof *m);
}

nas_tensor *nas_net_model_forward(nas_net_model *m, nas_tape *t, nas_tensor *x, nas_bn_mode mode) {
    if (!m || !m->net) {
        return nas_i_fail(t, NAS_EINVAL, "net model forward: model not initialised");
    }
    nas_net_run r = nas_net_run_defaults();
    r.bn_mode = mode;
    r.running = m->running;
    r.bn_momentum = m->bn_momentum;
    r.bn_eps = m->bn_eps;
    return nas_net_forward(t, m->net, m->params.tensors, &r, x);
}

static nas_tensor *model_forward(void *self, nas_tape *t, nas_tensor *x, bool training) {
    return nas_net_model_forward(self, t, x, training ? NAS_BN_BATCH_STATS : NAS_BN_RUNNING_STATS);
}

nas_model nas_net_model_handle(nas_net_model *m) {
    nas_model h;
    h.self = m;
    h.forward = model_forward;
    h.params = &m->params;
    return h;
}
