/*
 * GHN decoders: from node states to every parameter slot of a net.
 *
 * Three heads, each a 2-layer MLP applied to one batch of rows (one GEMM per layer):
 *   conv  rows = tiles of conv weights; the output is one chunk
 *         [chunk_out, chunk_in, chunk_k, chunk_k] per row;
 *   1-D   rows = channel tiles of BN nodes; the output is a gamma chunk and a beta chunk
 *         [2, chunk_out] per row;
 *   cls   rows = input-feature tiles of the classifier; the output is [classes, chunk_in] per
 *         row; the classifier bias comes from a linear map of the classifier node's state.
 * CHUNK mode: a weight of shape (out, in, kh, kw) uses ceil(out/co) x ceil(in/ci) x
 * ceil(kh/k) x ceil(kw/k) rows, each the node state plus learned position embeddings of its
 * tile (indices modulo n_pos), so every tile differs. TILE mode (GHN-2): one row per node, the
 * chunk repeated along every dim. Either way a slot is assembled by one gather (an embedding
 * lookup with rows of width 1) from the head's flattened output: tiling, cropping (centred for
 * kernels smaller than the assembled tiles) and the layout change happen in the index map, so
 * the backward pass scatters each element's gradient to the chunk element it came from.
 */
#include "ghn-impl.h"

#include <string.h>

/* ---- rows ------------------------------------------------------------------------------------ */

nas_status nas_i_ghn_rows_push(ghn_rows *r, int32_t node, int32_t pa, int32_t pb, int32_t ps) {
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        int32_t *buf = nas_malloc((size_t)cap * 4 * sizeof *buf); /* [4][cap] */
        if (!buf) {
            return nas_error(NAS_ENOMEM, "ghn: cannot grow decoder rows to %d", cap);
        }
        if (r->n > 0) {
            memcpy(buf, r->node, (size_t)r->n * sizeof *buf);
            memcpy(buf + cap, r->pa, (size_t)r->n * sizeof *buf);
            memcpy(buf + 2 * cap, r->pb, (size_t)r->n * sizeof *buf);
            memcpy(buf + 3 * cap, r->ps, (size_t)r->n * sizeof *buf);
        }
        nas_free(r->node);
        r->node = buf;
        r->pa = buf + cap;
        r->pb = buf + 2 * cap;
        r->ps = buf + 3 * cap;
        r->cap = cap;
    }
    r->node[r->n] = node;
    r->pa[r->n] = pa;
    r->pb[r->n] = pb;
    r->ps[r->n] = ps;
    r->n++;
    return NAS_OK;
}

void nas_i_ghn_rows_free(ghn_rows *r) {
    nas_free(r->node);
    memset(r, 0, sizeof *r);
}

static int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

/* Position of spatial index y (of a kernel of size k) inside `tiles` tiles of size ks: centred
 * crop; for TILE mode (tiles = 1 and k > ks) the chunk repeats from the corner. */
static int64_t spatial_pos(int64_t y, int64_t k, int64_t ks, int64_t tiles) {
    int64_t span = tiles * ks;
    return span >= k ? y + (span - k) / 2 : y;
}

/* ---- plans ----------------------------------------------------------------------------------- */

static nas_status plan_conv(nas_ghn_graph_private *g, const nas_net *net, const nas_ghn_config *c,
                            int s, int32_t *idx) {
    const nas_net_slot *sl = &net->slots[s];
    const int64_t co = sl->shape[0], ci = sl->shape[1], kh = sl->shape[2], kw = sl->shape[3];
    const int64_t CO = c->chunk_out, CI = c->chunk_in, K = c->chunk_k, P = c->n_pos;
    const int64_t CN = CO * CI * K * K;
    const bool chunk = c->decoder == NAS_GHN_DECODER_CHUNK;
    const int64_t to = chunk ? ceil_div(co, CO) : 1, ti = chunk ? ceil_div(ci, CI) : 1;
    const int64_t th = chunk ? ceil_div(kh, K) : 1, tw = chunk ? ceil_div(kw, K) : 1;
    const int32_t node = g->row[sl->node];
    const int64_t r0 = g->conv.n;
    for (int64_t a = 0; a < to; a++) {
        for (int64_t b = 0; b < ti; b++) {
            for (int64_t y = 0; y < th; y++) {
                for (int64_t x = 0; x < tw; x++) {
                    NAS_CHECK(nas_i_ghn_rows_push(&g->conv, node, (int32_t)(a % P),
                                                  (int32_t)(b % P),
                                                  (int32_t)((y % P) * P + x % P)));
                }
            }
        }
    }
    int64_t e = 0;
    for (int64_t o = 0; o < co; o++) {
        for (int64_t i = 0; i < ci; i++) {
            for (int64_t y = 0; y < kh; y++) {
                int64_t py = spatial_pos(y, kh, K, th);
                for (int64_t x = 0; x < kw; x++) {
                    int64_t px = spatial_pos(x, kw, K, tw);
                    int64_t row = r0 +
                                  (((chunk ? o / CO : 0) * ti + (chunk ? i / CI : 0)) * th +
                                   (chunk ? py / K : 0)) *
                                      tw +
                                  (chunk ? px / K : 0);
                    int64_t in = (((o % CO) * CI + i % CI) * K + py % K) * K + px % K;
                    idx[e++] = (int32_t)(row * CN + in);
                }
            }
        }
    }
    return NAS_OK;
}

/* BN gamma/beta: rows are pushed once per node (for its first 1-D slot), base[v] remembers. */
static nas_status plan_1d(nas_ghn_graph_private *g, const nas_net *net, const nas_ghn_config *c,
                          int s, int *base, int32_t *idx) {
    const nas_net_slot *sl = &net->slots[s];
    const int64_t C = sl->shape[0], CO = c->chunk_out, P = c->n_pos;
    const bool chunk = c->decoder == NAS_GHN_DECODER_CHUNK;
    const int v = sl->node;
    if (base[v] < 0) {
        base[v] = g->d1.n;
        int64_t tiles = chunk ? ceil_div(C, CO) : 1;
        for (int64_t a = 0; a < tiles; a++) {
            NAS_CHECK(nas_i_ghn_rows_push(&g->d1, g->row[v], (int32_t)(a % P), 0, 0));
        }
    }
    const int64_t half = sl->role == NAS_NET_GAMMA ? 0 : CO;
    for (int64_t ch = 0; ch < C; ch++) {
        int64_t row = base[v] + (chunk ? ch / CO : 0);
        idx[ch] = (int32_t)(row * 2 * CO + half + ch % CO);
    }
    return NAS_OK;
}

static nas_status plan_cls(nas_ghn_graph_private *g, const nas_net *net, const nas_ghn_config *c,
                           int s, int32_t *idx) {
    const nas_net_slot *sl = &net->slots[s];
    const int64_t K = sl->shape[0], C = sl->shape[1], CI = c->chunk_in, P = c->n_pos;
    const bool chunk = c->decoder == NAS_GHN_DECODER_CHUNK;
    const int64_t r0 = g->cls.n, tiles = chunk ? ceil_div(C, CI) : 1;
    for (int64_t b = 0; b < tiles; b++) {
        NAS_CHECK(nas_i_ghn_rows_push(&g->cls, g->row[sl->node], (int32_t)(b % P), 0, 0));
    }
    for (int64_t k = 0; k < K; k++) {
        for (int64_t i = 0; i < C; i++) {
            int64_t row = r0 + (chunk ? i / CI : 0);
            idx[k * C + i] = (int32_t)(row * K * CI + k * CI + i % CI);
        }
    }
    return NAS_OK;
}

nas_status nas_i_ghn_decoder_build(nas_ghn_graph_private *g, const nas_net *net,
                                   const nas_ghn_config *cfg) {
    const int ns = net->n_slots;
    int64_t total = 0;
    for (int s = 0; s < ns; s++) {
        total += net->slots[s].numel;
    }
    if (total >= INT32_MAX / 2) {
        return nas_error(NAS_EUNSUPPORTED, "ghn: the net has %lld parameters, too many to predict",
                         (long long)total);
    }
    g->head = nas_malloc((size_t)(ns > 0 ? ns : 1) * sizeof *g->head);
    g->scale = nas_malloc((size_t)(ns > 0 ? ns : 1) * sizeof *g->scale);
    g->gidx = nas_calloc((size_t)(ns > 0 ? ns : 1), sizeof *g->gidx);
    g->gbuf = nas_malloc((size_t)(total > 0 ? total : 1) * sizeof *g->gbuf);
    int *base = nas_malloc((size_t)net->n_nodes * sizeof *base); /* [n_nodes] 1-D head rows */
    nas_status st = NAS_OK;
    if (!g->head || !g->scale || !g->gidx || !g->gbuf || !base) {
        st = nas_error(NAS_ENOMEM, "ghn: cannot allocate the decoder plan (%lld parameters)",
                       (long long)total);
        goto cleanup;
    }
    for (int v = 0; v < net->n_nodes; v++) {
        base[v] = -1;
    }
    g->cls_row = -1;
    int64_t off = 0;
    for (int s = 0; s < ns; s++) {
        const nas_net_slot *sl = &net->slots[s];
        const nas_net_node *nd = &net->nodes[sl->node];
        int32_t *idx = g->gbuf + off;
        g->scale[s] = nas_i_ghn_weight_scale(net, s);
        if (nd->op == NAS_NET_CONV && sl->role == NAS_NET_WEIGHT && sl->ndim == 4) {
            g->head[s] = GHN_HEAD_CONV;
            NAS_TRY(plan_conv(g, net, cfg, s, idx));
        } else if (nd->op == NAS_NET_BN &&
                   (sl->role == NAS_NET_GAMMA || sl->role == NAS_NET_BETA)) {
            g->head[s] = GHN_HEAD_1D;
            NAS_TRY(plan_1d(g, net, cfg, s, base, idx));
        } else if (nd->op == NAS_NET_LINEAR && sl->role == NAS_NET_WEIGHT && sl->ndim == 2) {
            if (sl->shape[0] != cfg->classes) {
                st = nas_error(NAS_EINVAL,
                               "ghn: the net's classifier %s has %lld outputs, the GHN predicts "
                               "%d classes",
                               sl->name, (long long)sl->shape[0], cfg->classes);
                goto cleanup;
            }
            g->head[s] = GHN_HEAD_CLS;
            g->cls_row = g->row[sl->node];
            NAS_TRY(plan_cls(g, net, cfg, s, idx));
        } else if (nd->op == NAS_NET_LINEAR && sl->role == NAS_NET_BIAS) {
            if (sl->shape[0] != cfg->classes) {
                st = nas_error(NAS_EINVAL,
                               "ghn: the net's classifier bias %s has %lld entries, the GHN "
                               "predicts %d classes",
                               sl->name, (long long)sl->shape[0], cfg->classes);
                goto cleanup;
            }
            g->head[s] = GHN_HEAD_CLS_BIAS;
            g->cls_row = g->row[sl->node];
            continue; /* no gather */
        } else {
            st = nas_error(NAS_EUNSUPPORTED, "ghn: cannot predict slot %s (%s of a %s node)",
                           sl->name, nas_net_role_name(sl->role), nas_net_op_name(nd->op));
            goto cleanup;
        }
        g->gidx[s] = idx;
        off += sl->numel;
    }
    const int64_t cn = (int64_t)cfg->chunk_out * cfg->chunk_in * cfg->chunk_k * cfg->chunk_k;
    if ((int64_t)g->conv.n * cn >= INT32_MAX ||
        (int64_t)g->cls.n * cfg->classes * cfg->chunk_in >= INT32_MAX) {
        st = nas_error(NAS_EUNSUPPORTED,
                       "ghn: the decoder output of this net (%d conv tiles) is "
                       "too large to index",
                       g->conv.n);
    }
cleanup:
    nas_free(base);
    return st;
}

/* ---- forward --------------------------------------------------------------------------------- */

/* MLP of a head on its rows -> flattened [rows * out, 1]. pos: position tables (NULL = unused). */
static nas_tensor *run_head(nas_tape *t, nas_tensor *h, const ghn_rows *r, nas_tensor *const *p,
                            int pos_a, int pos_b, int pos_s, int w1, bool chunk) {
    nas_tensor *z = nas_embedding(t, h, r->node, r->n); /* [rows, hid] */
    if (chunk) {
        if (pos_a >= 0) {
            z = nas_add(t, z, nas_embedding(t, p[pos_a], r->pa, r->n));
        }
        if (pos_b >= 0) {
            z = nas_add(t, z, nas_embedding(t, p[pos_b], r->pb, r->n));
        }
        if (pos_s >= 0) {
            z = nas_add(t, z, nas_embedding(t, p[pos_s], r->ps, r->n));
        }
    }
    nas_tensor *d = nas_relu(t, nas_linear(t, z, p[w1], p[w1 + 1]));
    d = nas_linear(t, d, p[w1 + 2], p[w1 + 3]); /* [rows, chunk numel] */
    if (!d) {
        return NULL;
    }
    int64_t shape[2] = {d->numel, 1};
    return nas_reshape(t, d, 2, shape);
}

nas_status nas_i_ghn_decode(const nas_ghn_config *cfg, nas_tensor *const *p, nas_tape *t,
                            const nas_ghn_graph_private *g, const nas_net *net, nas_tensor *h,
                            nas_tensor **w) {
    const bool chunk = cfg->decoder == NAS_GHN_DECODER_CHUNK;
    nas_tensor *flat[3] = {NULL, NULL, NULL};
    if (g->conv.n > 0) {
        flat[GHN_HEAD_CONV] =
            run_head(t, h, &g->conv, p, GHN_P_POS_O, GHN_P_POS_I, GHN_P_POS_S, GHN_P_DEC_W1, chunk);
    }
    if (g->d1.n > 0) {
        flat[GHN_HEAD_1D] = run_head(t, h, &g->d1, p, GHN_P_D1_POS, -1, -1, GHN_P_D1_W1, chunk);
    }
    if (g->cls.n > 0) {
        flat[GHN_HEAD_CLS] = run_head(t, h, &g->cls, p, GHN_P_CLS_POS, -1, -1, GHN_P_CLS_W1, chunk);
    }
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        nas_tensor *raw;
        if (g->head[s] == GHN_HEAD_CLS_BIAS) {
            int32_t row = g->cls_row;
            raw = nas_linear(t, nas_embedding(t, h, &row, 1), p[GHN_P_CLSB_W], p[GHN_P_CLSB_B]);
        } else {
            raw = nas_embedding(t, flat[g->head[s]], g->gidx[s], sl->numel);
        }
        raw = nas_reshape(t, raw, sl->ndim, sl->shape);
        w[s] = nas_i_ghn_normalise(t, raw, sl->role, g->scale[s], cfg->weight_norm);
        if (!w[s]) {
            return nas_tape_status(t);
        }
    }
    return nas_tape_status(t);
}
