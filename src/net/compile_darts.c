/*
 * DARTS network compiler (quark0/darts cnn/model.py NetworkCIFAR, references/nas.md §3), without
 * the auxiliary head and drop path: stem conv3x3 + BN at stem_multiplier*C channels; `layers`
 * cells, those at layers/3 and 2*layers/3 reduction cells (channels doubled, stride 2 on the
 * edges from the two cell inputs); each cell preprocesses s0 (FactorizedReduce after a reduction
 * cell, else 1x1 ReLU-conv-BN) and s1 (1x1 ReLU-conv-BN) to C channels, computes its
 * intermediate nodes as sums of their edge ops and concatenates them; then GAP-linear.
 * layers = 3N + 2 when N is given (N normal cells per stage), else the skeleton's "layers".
 * Names: "cell<i>.pre0.*", "cell<i>.pre1.*", "cell<i>.e<src><dst>.*", "cell<i>.n<j>.sum",
 * "cell<i>.concat".
 */
#include "net-impl.h"

nas_status nas_i_compile_darts(nas_i_builder *b, const nas_space *sp, const nas_arch *a) {
    nas_net_config *c = &b->net->cfg;
    long C, layers, mult;
    NAS_CHECK(nas_i_skel_int(sp, "C", 16, 1, 4096, &C));
    NAS_CHECK(nas_i_skel_int(sp, "layers", 8, 1, 200, &layers));
    NAS_CHECK(nas_i_skel_int(sp, "stem_multiplier", 3, 1, 64, &mult));
    c->C = c->C ? c->C : (int)C;
    if (c->N) {
        layers = 3L * c->N + 2;
    } else {
        c->N = layers >= 2 ? (int)(layers - 2) / 3 : 0; /* informative only */
    }
    nas_i_scope(b, "stem");
    int x = nas_i_conv(b, "conv", 0, mult * c->C, 3, 1, 1, 1, 1);
    x = nas_i_bn(b, "bn", x);
    int s0 = x, s1 = x;
    int64_t ch = c->C;
    bool reduction_prev = false;
    for (int i = 0; i < layers; i++) {
        bool reduction = i == layers / 3 || i == 2 * layers / 3;
        if (reduction) {
            ch *= 2;
        }
        const nas_cell *cell = &a->cell[reduction ? 1 : 0];
        nas_i_scope(b, "cell%d", i);
        int st[NAS_CELL_MAX_NODES];
        st[0] = reduction_prev ? nas_i_factorized_reduce(b, "pre0", s0, ch)
                               : nas_i_relu_conv_bn(b, "pre0", s0, ch, 1, 1, 0, 1);
        st[1] = nas_i_relu_conv_bn(b, "pre1", s1, ch, 1, 1, 0, 1);
        for (int j = 2; j < cell->n_nodes; j++) {
            int terms[NAS_CELL_MAX_NODES], n_terms = 0;
            for (int e = 0; e < cell->n_edges; e++) {
                const nas_edge *ed = &cell->edges[e];
                if (ed->dst != j) {
                    continue;
                }
                nas_i_scope(b, "cell%d.e%d%d", i, ed->src, ed->dst);
                int stride = reduction && ed->src < 2 ? 2 : 1;
                int h = nas_i_edge_op(b, sp->ops[ed->op], st[ed->src], stride);
                if (h == -1) {
                    return b->st;
                }
                if (h != NAS_I_NET_NONE) {
                    terms[n_terms++] = h;
                }
            }
            nas_i_scope(b, "cell%d.n%d", i, j);
            st[j] = n_terms ? nas_i_sum_or_one(b, "sum", terms, n_terms)
                            : nas_i_bfail(b, NAS_EINVAL, "", "node without inputs");
        }
        nas_i_scope(b, "cell%d", i);
        int cat[NAS_CELL_MAX_NODES];
        for (int k = 0; k < cell->n_concat; k++) {
            cat[k] = st[cell->concat[k]];
        }
        int out = cell->n_concat == 1 ? cat[0] : nas_i_concat(b, "concat", cat, cell->n_concat);
        s0 = s1;
        s1 = out;
        reduction_prev = reduction;
        if (b->st != NAS_OK) {
            return b->st;
        }
    }
    nas_i_scope(b, "head");
    x = nas_i_gap(b, "gap", s1);
    nas_i_linear(b, "fc", x, c->classes);
    return b->st;
}
