/*
 * The GHN's GatedGNN: node features (op embedding + shape embedding), T rounds of a forward
 * sweep over topological levels (messages from predecessors) and a backward sweep over the
 * levels in reverse (messages from successors), one shared GRU cell, LayerNorm at the end.
 *
 * Rows are in level order, so the members of a level are a contiguous block: a sweep gathers
 * the block's states as one matrix, computes its messages as two GEMMs with constant weight
 * matrices (real edges 1, virtual edges 1/s) against the stacked MLP outputs of the finished
 * levels, updates the block with one batched GRU step and keeps it as the level's new state.
 */
#include "ghn-impl.h"

#include <string.h>

/* ---- message matrices ----------------------------------------------------------------------- */

nas_status nas_i_ghn_messages_build(nas_ghn_graph_private *g, const nas_net *net,
                                    const nas_ghn_config *cfg, int *n_real, int *n_virtual) {
    const int n = g->n, L = g->L;
    const int smax = cfg->s_max > 1 ? cfg->s_max : 1;
    nas_status st = NAS_OK;
    int32_t *dist = nas_malloc((size_t)n * (size_t)n * sizeof *dist); /* [n, n] node ids */
    g->fr = nas_malloc((size_t)L * 4 * sizeof *g->fr);
    if (!dist || !g->fr) {
        st = nas_error(NAS_ENOMEM, "ghn: cannot allocate distances of %d nodes", n);
        goto cleanup;
    }
    g->fv = g->fr + L;
    g->br = g->fv + L;
    g->bv = g->br + L;
    NAS_TRY(nas_net_distances(net, smax, dist));
    /* size of the pool: forward blocks n_l x lstart[l], backward n_l x (n - lstart[l+1]); real
       and virtual each */
    int64_t total = 0;
    for (int l = 0; l < L; l++) {
        int64_t nl = g->lstart[l + 1] - g->lstart[l];
        total += 2 * nl * (g->lstart[l] + (n - g->lstart[l + 1]));
    }
    g->mats = nas_calloc((size_t)(total > 0 ? total : 1), sizeof *g->mats);
    if (!g->mats) {
        st = nas_error(NAS_ENOMEM, "ghn: cannot allocate %lld message weights", (long long)total);
        goto cleanup;
    }
    int nr = 0, nv = 0;
    int64_t off = 0;
    for (int l = 0; l < L; l++) {
        const int a = g->lstart[l], b = g->lstart[l + 1], nl = b - a;
        for (int dir = 0; dir < 2; dir++) {
            const int c0 = dir == 0 ? 0 : b, nc = dir == 0 ? a : n - b;
            float *real = g->mats + off, *virt = real + (int64_t)nl * nc;
            bool any_r = false, any_v = false;
            for (int i = 0; i < nl; i++) {
                int v = g->perm[a + i];
                for (int j = 0; j < nc; j++) {
                    int u = g->perm[c0 + j];
                    /* forward: u -> v; backward: v -> u */
                    int32_t d = dir == 0 ? dist[(int64_t)u * n + v] : dist[(int64_t)v * n + u];
                    if (d == 1) {
                        real[(int64_t)i * nc + j] = 1.0f;
                        any_r = true;
                        nr += dir == 0;
                    } else if (d > 1 && d <= smax) {
                        virt[(int64_t)i * nc + j] = 1.0f / (float)d;
                        any_v = true;
                        nv += dir == 0;
                    }
                }
            }
            int64_t *pr = dir == 0 ? g->fr : g->br, *pv = dir == 0 ? g->fv : g->bv;
            pr[l] = any_r ? off : -1;
            pv[l] = any_v ? off + (int64_t)nl * nc : -1;
            off += 2 * (int64_t)nl * nc;
        }
    }
    g->mats_n = total;
    *n_real = nr;
    *n_virtual = nv;
cleanup:
    nas_free(dist);
    return st;
}

/* ---- building blocks on the tape ------------------------------------------------------------ */

/* Linear-ReLU-Linear-ReLU (GHN-2's message MLP). */
static nas_tensor *mlp(nas_tape *t, nas_tensor *x, nas_tensor *const *p, int w1) {
    nas_tensor *h = nas_relu(t, nas_linear(t, x, p[w1], p[w1 + 1]));
    return nas_relu(t, nas_linear(t, h, p[w1 + 2], p[w1 + 3]));
}

/* PyTorch GRUCell: r = s(Wir m + Whr h), z = s(Wiz m + Whz h), n = tanh(Win m + r (Whn h)),
 * h' = n + z (h - n). m, h [rows, hid]. */
static nas_tensor *gru(nas_tape *t, int hid, nas_tensor *m, nas_tensor *h, nas_tensor *const *p) {
    nas_tensor *gi = nas_linear(t, m, p[GHN_P_GRU_WI], p[GHN_P_GRU_BI]); /* [rows, 3 hid] */
    nas_tensor *gh = nas_linear(t, h, p[GHN_P_GRU_WH], p[GHN_P_GRU_BH]); /* [rows, 3 hid] */
    nas_tensor *r =
        nas_sigmoid(t, nas_add(t, nas_slice(t, gi, 1, 0, hid), nas_slice(t, gh, 1, 0, hid)));
    nas_tensor *z =
        nas_sigmoid(t, nas_add(t, nas_slice(t, gi, 1, hid, hid), nas_slice(t, gh, 1, hid, hid)));
    nas_tensor *c = nas_tanh(t, nas_add(t, nas_slice(t, gi, 1, 2 * hid, hid),
                                        nas_mul(t, r, nas_slice(t, gh, 1, 2 * hid, hid))));
    return nas_add(t, c, nas_mul(t, z, nas_add(t, h, nas_scale(t, c, -1.0f))));
}

/* Constant [rows, cols] block of the message pool as a tape tensor (no gradient). */
static nas_tensor *block(nas_tape *t, const nas_ghn_graph_private *g, int64_t off, int64_t rows,
                         int64_t cols) {
    int64_t shape[2] = {rows, cols};
    return nas_tensor_from(t, 2, shape, g->mats + off);
}

/* Node features [n, hid] in row order. */
static nas_tensor *features(const nas_ghn_config *cfg, nas_tensor *const *p, nas_tape *t,
                            const nas_ghn_graph_private *g) {
    const int64_t n = g->n;
    nas_tensor *parts[4] = {
        nas_embedding(t, p[GHN_P_CH_EMB], g->f_co, n),
        nas_embedding(t, p[GHN_P_CH_EMB], g->f_ci, n),
        nas_embedding(t, p[GHN_P_SP_EMB], g->f_kh, n),
        nas_embedding(t, p[GHN_P_SP_EMB], g->f_kw, n),
    };
    if (!parts[0] || !parts[1] || !parts[2] || !parts[3]) {
        return NULL;
    }
    nas_tensor *shape = nas_concat(t, parts, 4, 1);
    nas_tensor *x = nas_add(t, nas_embedding(t, p[GHN_P_OP_EMB], g->f_type, n), shape);
    if (cfg->res_embed) {
        x = nas_add(t, x, nas_embedding(t, p[GHN_P_RES_EMB], g->f_res, n));
    }
    return x;
}

/* One sweep over the levels: forward (dir 0) from level 0 up, backward (dir 1) from the top. */
static bool sweep(const nas_ghn_config *cfg, nas_tensor *const *p, nas_tape *t,
                  const nas_ghn_graph_private *g, nas_tensor **hs, int dir) {
    const int L = g->L, hid = cfg->hid;
    const bool ve = cfg->s_max > 1;
    nas_tensor *pcat = NULL, *vcat = NULL; /* stacked MLP outputs of the finished levels */
    for (int k = 0; k < L; k++) {
        const int l = dir == 0 ? k : L - 1 - k;
        const int a = g->lstart[l], b = g->lstart[l + 1], nl = b - a;
        const int nc = dir == 0 ? a : g->n - b;
        const int64_t off_r = dir == 0 ? g->fr[l] : g->br[l];
        const int64_t off_v = dir == 0 ? g->fv[l] : g->bv[l];
        nas_tensor *m = NULL;
        if (off_r >= 0 && pcat) {
            m = nas_matmul(t, block(t, g, off_r, nl, nc), pcat, false, false);
        }
        if (ve && off_v >= 0 && vcat) {
            nas_tensor *mv = nas_matmul(t, block(t, g, off_v, nl, nc), vcat, false, false);
            m = m ? nas_add(t, m, mv) : mv;
        }
        if (!m) {
            int64_t shape[2] = {nl, hid};
            m = nas_tensor_zeros(t, 2, shape);
        }
        hs[l] = gru(t, hid, m, hs[l], p);
        if (!hs[l]) {
            return false;
        }
        if (k == L - 1) {
            break; /* nothing consumes the last level's messages in this sweep */
        }
        /* forward: rows grow at the end; backward: the new level goes in front */
        nas_tensor *pm = mlp(t, hs[l], p, GHN_P_MLP_W1);
        nas_tensor *two[2];
        if (!pcat) {
            pcat = pm;
        } else {
            two[0] = dir == 0 ? pcat : pm;
            two[1] = dir == 0 ? pm : pcat;
            pcat = nas_concat(t, two, 2, 0);
        }
        if (ve) {
            nas_tensor *vm = mlp(t, hs[l], p, GHN_P_VE_W1);
            if (!vcat) {
                vcat = vm;
            } else {
                two[0] = dir == 0 ? vcat : vm;
                two[1] = dir == 0 ? vm : vcat;
                vcat = nas_concat(t, two, 2, 0);
            }
        }
        if (!pcat || (ve && !vcat)) {
            return false;
        }
    }
    return true;
}

nas_tensor *nas_i_ghn_node_states(const nas_ghn_config *cfg, nas_tensor *const *p, nas_tape *t,
                                  const nas_ghn_graph_private *g) {
    nas_tensor *x = features(cfg, p, t, g);
    if (!x) {
        return NULL;
    }
    const int L = g->L;
    nas_tensor **hs = nas_malloc((size_t)L * sizeof *hs); /* [L] state of each level */
    if (!hs) {
        nas_error(NAS_ENOMEM, "ghn: cannot allocate %d level states", L);
        return NULL;
    }
    nas_tensor *h = NULL;
    for (int l = 0; l < L; l++) {
        hs[l] = nas_slice(t, x, 0, g->lstart[l], g->lstart[l + 1] - g->lstart[l]);
        if (!hs[l]) {
            goto cleanup;
        }
    }
    for (int r = 0; r < cfg->rounds; r++) {
        if (!sweep(cfg, p, t, g, hs, 0) || !sweep(cfg, p, t, g, hs, 1)) {
            goto cleanup;
        }
    }
    h = L == 1 ? hs[0] : nas_concat(t, hs, L, 0);
    if (h && cfg->layernorm) {
        h = nas_layernorm(t, h, p[GHN_P_LN_G], p[GHN_P_LN_B], 1e-5f);
    }
cleanup:
    nas_free(hs);
    return h;
}
