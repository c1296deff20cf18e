/*
 * NAS-Bench-101 network compiler (nasbench model_builder.py, references/nas.md §2): stem
 * conv3x3-BN-ReLU at C channels, `stacks` stacks of N modules, a 2x2/2 max pool before every stack
 * but the first (channels double there), then GAP-linear.
 *
 * Module (build_module): vertex channels from compute_vertex_channels (the output's channels
 * split over the vertices feeding it, remainder to the first ones; other vertices take the max of
 * their successors). Interior vertex t sums its interior inputs (each truncated to t's channels
 * by a slice node when wider) and, for an edge from the input, a 1x1 conv-BN-ReLU projection of
 * the module input; then its op (conv3x3-bn-relu, conv1x1-bn-relu or maxpool3x3). The output
 * concatenates the interior vertices feeding it (in vertex order) and adds a projection of the
 * input when the input feeds it; with no interior vertex the output is the projection alone.
 * Names: "s<stack>m<module>.v<t>.<...>", "... .out.<...>", "down<stack>.pool".
 */
#include "net-impl.h"

#include <stdio.h>
#include <string.h>

/* compute_vertex_channels of nasbench: ch[v] for a module with V vertices, input channels cin,
 * output channels cout. */
static nas_status vertex_channels(nas_i_builder *b, const bool adj[][NAS_CELL_MAX_NODES], int V,
                                  int64_t cin, int64_t cout, int64_t *ch) {
    memset(ch, 0, (size_t)V * sizeof *ch);
    ch[0] = cin;
    ch[V - 1] = cout;
    if (V == 2) {
        return NAS_OK;
    }
    int64_t in_deg = 0;
    for (int v = 1; v < V - 1; v++) {
        in_deg += adj[v][V - 1];
    }
    if (in_deg == 0 || cout < in_deg) {
        nas_i_bfail(b, NAS_EINVAL, "",
                    "%lld output channels cannot be split over %lld vertices feeding the output "
                    "(increase C)",
                    (long long)cout, (long long)in_deg);
        return b->st;
    }
    int64_t interior = cout / in_deg, correction = cout % in_deg;
    for (int v = 1; v < V - 1; v++) {
        if (adj[v][V - 1]) {
            ch[v] = interior;
            if (correction) {
                ch[v]++;
                correction--;
            }
        }
    }
    for (int v = V - 3; v > 0; v--) {
        if (!adj[v][V - 1]) {
            for (int d = v + 1; d < V - 1; d++) {
                if (adj[v][d] && ch[d] > ch[v]) {
                    ch[v] = ch[d];
                }
            }
        }
    }
    return NAS_OK;
}

static int module(nas_i_builder *b, const nas_space *sp, const nas_cell *cell,
                  const bool adj[][NAS_CELL_MAX_NODES], const char *scope, int x, int64_t cout) {
    const int V = cell->n_nodes;
    int64_t ch[NAS_CELL_MAX_NODES];
    if (vertex_channels(b, adj, V, nas_i_ch(b, x), cout, ch) != NAS_OK) {
        return -1;
    }
    int t_val[NAS_CELL_MAX_NODES];
    t_val[0] = x;
    int concat[NAS_CELL_MAX_NODES], n_concat = 0;
    for (int t = 1; t < V - 1; t++) {
        int add[NAS_CELL_MAX_NODES], n_add = 0;
        char sfx[32];
        nas_i_scope(b, "%s.v%d", scope, t);
        for (int src = 1; src < t; src++) {
            if (!adj[src][t]) {
                continue;
            }
            int h = t_val[src];
            if (b->st == NAS_OK && nas_i_ch(b, h) > ch[t]) {
                snprintf(sfx, sizeof sfx, "trunc%d", src);
                h = nas_i_slice(b, sfx, h, 0, ch[t], 0, nas_i_hh(b, h), 0, nas_i_ww(b, h));
            }
            add[n_add++] = h;
        }
        if (adj[0][t]) {
            add[n_add++] = nas_i_conv_bn_relu(b, "proj", x, ch[t], 1, 1, 0);
        }
        int in = nas_i_sum_or_one(b, "sum", add, n_add);
        if (in == NAS_I_NET_NONE) {
            return nas_i_bfail(b, NAS_EINTERNAL, "", "vertex without inputs");
        }
        nas_cell_op op = sp->ops[cell->node_op[t]];
        switch (op) {
            case NAS_CELL_OP_CONV3X3_BN_RELU:
                t_val[t] = nas_i_conv_bn_relu(b, "", in, ch[t], 3, 1, 1);
                break;
            case NAS_CELL_OP_CONV1X1_BN_RELU:
                t_val[t] = nas_i_conv_bn_relu(b, "", in, ch[t], 1, 1, 0);
                break;
            case NAS_CELL_OP_MAXPOOL3X3:
                t_val[t] = nas_i_pool(b, "pool", NAS_NET_MAXPOOL, in, 3, 1, 1, false);
                break;
            default:
                return nas_i_bfail(b, NAS_EUNSUPPORTED, "",
                                   "op %s is not an NB101 vertex op (conv3x3-bn-relu, "
                                   "conv1x1-bn-relu, maxpool3x3)",
                                   nas_cell_op_name(op));
        }
        if (t_val[t] < 0) {
            return -1;
        }
        if (adj[t][V - 1]) {
            concat[n_concat++] = t_val[t];
        }
    }
    nas_i_scope(b, "%s.out", scope);
    if (n_concat == 0) {
        return nas_i_conv_bn_relu(b, "proj", x, cout, 1, 1, 0);
    }
    int out = n_concat == 1 ? concat[0] : nas_i_concat(b, "concat", concat, n_concat);
    if (adj[0][V - 1]) {
        int both[2] = {out, nas_i_conv_bn_relu(b, "proj", x, cout, 1, 1, 0)};
        out = nas_i_sum(b, "sum", both, 2);
    }
    return out;
}

nas_status nas_i_compile_nb101(nas_i_builder *b, const nas_space *sp, const nas_arch *a) {
    nas_net_config *c = &b->net->cfg;
    long C, N, stacks;
    NAS_CHECK(nas_i_skel_expect(sp, "downsample", "maxpool2x2"));
    NAS_CHECK(nas_i_skel_int(sp, "stem_channels", 128, 1, 4096, &C));
    NAS_CHECK(nas_i_skel_int(sp, "modules_per_stack", 3, 1, 64, &N));
    NAS_CHECK(nas_i_skel_int(sp, "stacks", 3, 1, 16, &stacks));
    c->C = c->C ? c->C : (int)C;
    c->N = c->N ? c->N : (int)N;
    const nas_cell *cell = &a->cell[0];
    bool adj[NAS_CELL_MAX_NODES][NAS_CELL_MAX_NODES];
    memset(adj, 0, sizeof adj);
    for (int e = 0; e < cell->n_edges; e++) {
        adj[cell->edges[e].src][cell->edges[e].dst] = true;
    }
    nas_i_scope(b, "stem");
    int x = nas_i_conv_bn_relu(b, "", 0, c->C, 3, 1, 1);
    int64_t ch = c->C;
    for (int s = 0; s < stacks; s++) {
        if (s > 0) {
            nas_i_scope(b, "down%d", s);
            x = nas_i_pool(b, "pool", NAS_NET_MAXPOOL, x, 2, 2, 0, false);
            ch *= 2;
        }
        for (int m = 0; m < c->N; m++) {
            char scope[24];
            snprintf(scope, sizeof scope, "s%dm%d", s, m);
            x = module(b, sp, cell, (const bool(*)[NAS_CELL_MAX_NODES])adj, scope, x, ch);
        }
    }
    nas_i_scope(b, "head");
    x = nas_i_gap(b, "gap", x);
    nas_i_linear(b, "fc", x, c->classes);
    return b->st;
}
