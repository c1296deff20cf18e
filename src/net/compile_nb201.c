/*
 * NAS-Bench-201 network compiler (xautodl TinyNetwork, references/nas.md §1): stem conv3x3 + BN,
 * N cells at C, ResNet basic block to 2C (stride 2), N cells at 2C, block to 4C, N cells at 4C,
 * then BN-ReLU-GAP-linear. Blocks are numbered like TinyNetwork.cells: "cell<i>" for cells,
 * "res<i>" for the reduction blocks, i counting both.
 *
 * A cell node j is the sum of op_ij(node i) over its edges: none edges vanish, skip_connect is an
 * identity (no node), a node with several surviving inputs gets a sum node "cell<i>.n<j>.sum",
 * and a node whose inputs are all none becomes a zero node "cell<i>.n<j>.zero" (its input edge
 * comes from the cell input, which only gives it its shape; downstream ops still run on it,
 * as in PyTorch, where e.g. BN turns zeros into beta).
 */
#include "net-impl.h"

#include <string.h>

/* One NB201 cell on x; returns the cell output node. */
static int nb201_cell(nas_i_builder *b, const nas_space *sp, const nas_cell *cell, int index,
                      int x) {
    int node[NAS_CELL_MAX_NODES];
    node[0] = x;
    for (int j = 1; j < cell->n_nodes; j++) {
        int terms[NAS_CELL_MAX_NODES], n_terms = 0;
        for (int e = 0; e < cell->n_edges; e++) {
            const nas_edge *ed = &cell->edges[e];
            if (ed->dst != j) {
                continue;
            }
            nas_i_scope(b, "cell%d.e%d%d", index, ed->src, ed->dst);
            int h = nas_i_edge_op(b, sp->ops[ed->op], node[ed->src], 1);
            if (h == -1) {
                return -1;
            }
            if (h != NAS_I_NET_NONE) {
                terms[n_terms++] = h;
            }
        }
        nas_i_scope(b, "cell%d.n%d", index, j);
        if (n_terms == 0) {
            node[j] = nas_i_zero(b, "zero", x);
        } else {
            node[j] = nas_i_sum_or_one(b, "sum", terms, n_terms);
        }
        if (node[j] < 0) {
            return -1;
        }
    }
    return node[cell->n_nodes - 1];
}

/* ResNetBasicblock(inplanes, planes, stride 2): relu-conv3x3 s2-bn, relu-conv3x3-bn; shortcut
 * AvgPool2d(2, 2) + conv1x1 (no BN); output shortcut + branch. */
static int resnet_block(nas_i_builder *b, int index, int x, int64_t planes) {
    nas_i_scope(b, "res%d", index);
    int64_t h = nas_i_hh(b, x), w = nas_i_ww(b, x);
    if (b->st == NAS_OK && x >= 0 && (h % 2 || w % 2)) {
        return nas_i_bfail(b, NAS_ESHAPE, "",
                           "the reduction block needs an even plane size, got %lldx%lld (its "
                           "stride-2 conv and its 2x2 average pool would disagree)",
                           (long long)h, (long long)w);
    }
    int a = nas_i_relu_conv_bn(b, "a", x, planes, 3, 2, 1, 1);
    a = nas_i_relu_conv_bn(b, "b", a, planes, 3, 1, 1, 1);
    int s = nas_i_pool(b, "short.pool", NAS_NET_AVGPOOL, x, 2, 2, 0, true);
    s = nas_i_conv(b, "short.conv", s, planes, 1, 1, 0, 1, 1);
    int both[2] = {s, a};
    return nas_i_sum(b, "sum", both, 2);
}

nas_status nas_i_compile_nb201(nas_i_builder *b, const nas_space *sp, const nas_arch *a) {
    nas_net_config *c = &b->net->cfg;
    long C, N;
    NAS_CHECK(nas_i_skel_expect(sp, "stem", "conv3x3_bn"));
    NAS_CHECK(nas_i_skel_expect(sp, "reduction", "resnet_basic"));
    NAS_CHECK(nas_i_skel_expect(sp, "head", "bn_relu_gap_linear"));
    NAS_CHECK(nas_i_skel_int(sp, "C", 16, 1, 4096, &C));
    NAS_CHECK(nas_i_skel_int(sp, "N", 5, 1, 64, &N));
    c->C = c->C ? c->C : (int)C;
    c->N = c->N ? c->N : (int)N;
    const nas_cell *cell = &a->cell[0];
    int x = 0; /* the input node */
    nas_i_scope(b, "stem");
    x = nas_i_conv(b, "conv", x, c->C, 3, 1, 1, 1, 1);
    x = nas_i_bn(b, "bn", x);
    int index = 0;
    int64_t ch = c->C;
    for (int stage = 0; stage < 3; stage++) {
        if (stage > 0) {
            ch *= 2;
            x = resnet_block(b, index++, x, ch);
        }
        for (int k = 0; k < c->N; k++) {
            x = nb201_cell(b, sp, cell, index++, x);
        }
    }
    nas_i_scope(b, "head");
    x = nas_i_bn(b, "bn", x);
    x = nas_i_relu(b, "relu", x);
    x = nas_i_gap(b, "gap", x);
    nas_i_linear(b, "fc", x, c->classes);
    return b->st;
}
