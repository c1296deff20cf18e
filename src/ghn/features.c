/*
 * GHN node features: the node-type vocabulary (op plus conv flavour), the 4-D shape each node is
 * embedded with, the channel/spatial size vocabularies with nearest-size lookup, and the level
 * order of a net's nodes (rows of one topological level contiguous) with per-row feature indices.
 */
#include "ghn-impl.h"

#include <string.h>

/* ---- node types ----------------------------------------------------------------------------- */

static const char *const type_names[NAS_GHN_TYPE_COUNT] = {
    [NAS_GHN_T_INPUT] = "input",     [NAS_GHN_T_CONV] = "conv",
    [NAS_GHN_T_CONV_DW] = "conv_dw", [NAS_GHN_T_CONV_DIL] = "conv_dil",
    [NAS_GHN_T_CONV_S2] = "conv_s2", [NAS_GHN_T_CONV_DW_S2] = "conv_dw_s2",
    [NAS_GHN_T_BN] = "bn",           [NAS_GHN_T_RELU] = "relu",
    [NAS_GHN_T_AVGPOOL] = "avgpool", [NAS_GHN_T_MAXPOOL] = "maxpool",
    [NAS_GHN_T_SUM] = "sum",         [NAS_GHN_T_CONCAT] = "concat",
    [NAS_GHN_T_SLICE] = "slice",     [NAS_GHN_T_ZERO] = "zero",
    [NAS_GHN_T_GAP] = "gap",         [NAS_GHN_T_LINEAR] = "linear",
};

const char *nas_ghn_type_name(nas_ghn_type t) {
    if ((int)t < 0 || t >= NAS_GHN_TYPE_COUNT) {
        return "?";
    }
    return type_names[t];
}

nas_ghn_type nas_ghn_node_type(const nas_net_node *n) {
    switch (n->op) {
        case NAS_NET_INPUT:
            return NAS_GHN_T_INPUT;
        case NAS_NET_CONV: {
            bool grouped = n->groups > 1;
            if (n->dilation > 1) {
                return NAS_GHN_T_CONV_DIL;
            }
            if (n->stride > 1) {
                return grouped ? NAS_GHN_T_CONV_DW_S2 : NAS_GHN_T_CONV_S2;
            }
            return grouped ? NAS_GHN_T_CONV_DW : NAS_GHN_T_CONV;
        }
        case NAS_NET_BN:
            return NAS_GHN_T_BN;
        case NAS_NET_RELU:
            return NAS_GHN_T_RELU;
        case NAS_NET_AVGPOOL:
            return NAS_GHN_T_AVGPOOL;
        case NAS_NET_MAXPOOL:
            return NAS_GHN_T_MAXPOOL;
        case NAS_NET_SUM:
            return NAS_GHN_T_SUM;
        case NAS_NET_CONCAT:
            return NAS_GHN_T_CONCAT;
        case NAS_NET_SLICE:
            return NAS_GHN_T_SLICE;
        case NAS_NET_ZERO:
            return NAS_GHN_T_ZERO;
        case NAS_NET_GAP:
            return NAS_GHN_T_GAP;
        case NAS_NET_LINEAR:
        default:
            return NAS_GHN_T_LINEAR;
    }
}

void nas_ghn_node_shape(const nas_net *net, int v, int64_t shape[4]) {
    const nas_net_node *n = &net->nodes[v];
    if (n->n_slots > 0) {
        for (int d = 0; d < 4; d++) {
            shape[d] = n->wshape[d];
        }
        return;
    }
    int64_t cin = n->n_in > 0 ? net->nodes[n->in[0]].shape[0] : n->shape[0];
    int64_t k = (n->op == NAS_NET_AVGPOOL || n->op == NAS_NET_MAXPOOL) ? n->k : 1;
    shape[0] = n->shape[0];
    shape[1] = cin;
    shape[2] = k;
    shape[3] = k;
}

/* ---- size vocabularies ---------------------------------------------------------------------- */

/* 1..16, 24..64 step 8, 80..4096 step 16, 4128..8192 step 32 */
#define N_CH (16 + 6 + 252 + 128)
#define N_SP 16

int nas_ghn_vocab_channels(void) {
    return N_CH;
}

int nas_ghn_vocab_spatial(void) {
    return N_SP;
}

int64_t nas_ghn_vocab_channel_value(int i) {
    if (i < 0) {
        i = 0;
    }
    if (i >= N_CH) {
        i = N_CH - 1;
    }
    if (i < 16) {
        return i + 1;
    }
    i -= 16;
    if (i < 6) {
        return 24 + 8 * (int64_t)i;
    }
    i -= 6;
    if (i < 252) {
        return 80 + 16 * (int64_t)i;
    }
    i -= 252;
    return 4128 + 32 * (int64_t)i;
}

int64_t nas_ghn_vocab_spatial_value(int i) {
    if (i < 0) {
        i = 0;
    }
    if (i >= N_SP) {
        i = N_SP - 1;
    }
    return i + 1;
}

/* Nearest entry of a sorted vocabulary (binary search; ties to the smaller). */
static int nearest(int64_t size, int n, int64_t (*value)(int)) {
    if (size <= value(0)) {
        return 0;
    }
    if (size >= value(n - 1)) {
        return n - 1;
    }
    int lo = 0, hi = n - 1; /* value(lo) < size < value(hi) or equal */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (value(mid) <= size) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    int64_t dlo = size - value(lo), dhi = value(hi) - size;
    return dhi < dlo ? hi : lo;
}

int nas_ghn_vocab_channel_index(int64_t size) {
    return nearest(size, N_CH, nas_ghn_vocab_channel_value);
}

int nas_ghn_vocab_spatial_index(int64_t size) {
    return nearest(size, N_SP, nas_ghn_vocab_spatial_value);
}

/* ---- level order and features --------------------------------------------------------------- */

nas_status nas_i_ghn_features_build(nas_ghn_graph_private *g, const nas_net *net) {
    const int n = net->n_nodes;
    int L = 0;
    for (int v = 0; v < n; v++) {
        L = net->nodes[v].level + 1 > L ? net->nodes[v].level + 1 : L;
    }
    g->n = n;
    g->L = L;
    g->perm = nas_malloc((size_t)n * sizeof *g->perm);
    g->row = nas_malloc((size_t)n * sizeof *g->row);
    g->lstart = nas_calloc((size_t)L + 1, sizeof *g->lstart);
    g->f_type = nas_malloc((size_t)n * 6 * sizeof *g->f_type); /* [6][n] */
    if (!g->perm || !g->row || !g->lstart || !g->f_type) {
        return nas_error(NAS_ENOMEM, "ghn: cannot allocate the features of %d nodes", n);
    }
    g->f_co = g->f_type + n;
    g->f_ci = g->f_co + n;
    g->f_kh = g->f_ci + n;
    g->f_kw = g->f_kh + n;
    g->f_res = g->f_kw + n;
    /* counting sort by level (stable: node ids ascending within a level) */
    for (int v = 0; v < n; v++) {
        int l = net->nodes[v].level;
        if (l < 0 || l >= L) {
            return nas_error(NAS_EINTERNAL, "ghn: node %d has level %d", v, l);
        }
        g->lstart[l + 1]++;
    }
    for (int l = 0; l < L; l++) {
        g->lstart[l + 1] += g->lstart[l];
    }
    int *fill = nas_malloc((size_t)L * sizeof *fill);
    if (!fill) {
        return nas_error(NAS_ENOMEM, "ghn: cannot allocate level counters");
    }
    memcpy(fill, g->lstart, (size_t)L * sizeof *fill);
    for (int v = 0; v < n; v++) {
        int r = fill[net->nodes[v].level]++;
        g->perm[r] = v;
        g->row[v] = r;
    }
    nas_free(fill);
    for (int l = 0; l < L; l++) {
        if (g->lstart[l + 1] == g->lstart[l]) {
            return nas_error(NAS_EINTERNAL, "ghn: level %d of %d is empty", l, L);
        }
    }
    for (int r = 0; r < n; r++) {
        int v = g->perm[r];
        int64_t s[4];
        nas_ghn_node_shape(net, v, s);
        g->f_type[r] = (int32_t)nas_ghn_node_type(&net->nodes[v]);
        g->f_co[r] = nas_ghn_vocab_channel_index(s[0]);
        g->f_ci[r] = nas_ghn_vocab_channel_index(s[1]);
        g->f_kh[r] = nas_ghn_vocab_spatial_index(s[2]);
        g->f_kw[r] = nas_ghn_vocab_spatial_index(s[3]);
        g->f_res[r] = nas_ghn_vocab_channel_index(net->nodes[v].shape[1]);
    }
    return NAS_OK;
}
