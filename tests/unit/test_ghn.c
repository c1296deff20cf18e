/*
 * Tests for src/ghn: size vocabulary and node features, level order and message matrices,
 * exact shapes of every predicted slot for every space (widths and kernels beyond one chunk,
 * both decoders), chunk tiles that differ vs GHN-2 tiles that repeat, normalisation ranges,
 * end-to-end finite-difference gradient checks (GHN parameters <- loss of a target net run on
 * predicted weights) for nb201, nb101, darts and macro with both decoders, per-thread views,
 * evaluation, meta-batch training, and checkpoints (round trip, resume, every refusal).
 */
#include "test_suites.h"

#include "ghn/ghn-impl.h"
#include "ghnas/container.h"
#include "ghnas/eval.h"
#include "ghnas/ghn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static nas_space load_space(const char *name) {
    nas_space sp;
    ck_assert_msg(nas_space_load(&sp, name) == NAS_OK, "loading %s: %s", name, nas_errmsg());
    return sp;
}

static nas_net_config net_config(int C, int N, int hw, int classes) {
    nas_net_config c = nas_net_config_default();
    c.C = C;
    c.N = N;
    c.in_c = 1;
    c.in_h = hw;
    c.in_w = hw;
    c.classes = classes;
    return c;
}

static void compile_text(nas_net *net, const char *space, const char *arch, nas_net_config cfg) {
    nas_space sp = load_space(space);
    nas_arch a;
    ck_assert_msg(nas_arch_decode(&sp, arch, &a) == NAS_OK, "%s", nas_errmsg());
    ck_assert_msg(nas_net_compile(net, &sp, &a, &cfg) == NAS_OK, "%s", nas_errmsg());
}

static void compile_random(nas_net *net, const char *space, nas_net_config cfg, uint64_t seed) {
    nas_space sp = load_space(space);
    nas_rng rng;
    nas_rng_seed(&rng, seed);
    nas_arch a;
    do {
        ck_assert_int_eq(nas_arch_sample(&sp, &rng, &a), NAS_OK);
    } while (!nas_arch_is_valid(&sp, &a));
    ck_assert_msg(nas_net_compile(net, &sp, &a, &cfg) == NAS_OK, "%s", nas_errmsg());
}

/* A tiny GHN: several tiles per weight even for narrow nets. */
static nas_ghn_config tiny_config(nas_ghn_decoder dec, int classes) {
    nas_ghn_config c = nas_ghn_config_default();
    c.hid = 8;
    c.dec_hid = 12;
    c.chunk_out = 3;
    c.chunk_in = 2;
    c.chunk_k = 3;
    c.n_pos = 2;
    c.s_max = 4;
    c.decoder = dec;
    c.classes = classes;
    return c;
}

static void fill_uniform(float *v, int64_t n, uint64_t seed) {
    nas_rng r;
    nas_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        v[i] = 2.0f * nas_rng_uniform(&r) - 1.0f;
    }
}

/* Predict with recording off and check every slot's shape; returns the number of slots. */
static int check_shapes(const nas_ghn *g, const nas_net *net) {
    nas_ghn_graph gg;
    ck_assert_msg(nas_ghn_graph_build(&gg, &g->cfg, net) == NAS_OK, "%s", nas_errmsg());
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    nas_tensor **w = calloc((size_t)net->n_slots, sizeof *w);
    ck_assert_msg(nas_ghn_predict(g, NULL, &t, &gg, w) == NAS_OK, "%s", nas_errmsg());
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        ck_assert_ptr_nonnull(w[s]);
        ck_assert_msg(w[s]->ndim == sl->ndim, "%s: ndim %d vs %d", sl->name, w[s]->ndim, sl->ndim);
        for (int d = 0; d < sl->ndim; d++) {
            ck_assert_msg(w[s]->shape[d] == sl->shape[d], "%s dim %d: %lld vs %lld", sl->name, d,
                          (long long)w[s]->shape[d], (long long)sl->shape[d]);
        }
        int64_t bad = 0; /* one assertion per slot: Check logs every assertion */
        for (int64_t i = 0; i < w[s]->numel; i++) {
            bad += !isfinite(w[s]->data[i]);
        }
        ck_assert_msg(bad == 0, "%s: %lld values not finite", sl->name, (long long)bad);
    }
    int n = net->n_slots;
    free(w);
    nas_tape_free(&t);
    nas_ghn_graph_free(&gg);
    return n;
}

/* ---- features ------------------------------------------------------------------------------- */

START_TEST(test_ghn__vocab_nearest_size) {
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(1)), 1);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(10)), 10);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(32)), 32);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(576)), 576);
    /* unseen sizes: nearest, ties to the smaller */
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(19)), 16);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(20)), 16);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(21)), 24);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(70)), 64);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(75)), 80);
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channel_index(100000)), 8192);
    ck_assert_int_eq(nas_ghn_vocab_channel_index(0), 0);
    ck_assert_int_eq(nas_ghn_vocab_spatial_value(nas_ghn_vocab_spatial_index(7)), 7);
    ck_assert_int_eq(nas_ghn_vocab_spatial_value(nas_ghn_vocab_spatial_index(31)), 16);
    /* strictly increasing vocabularies */
    for (int i = 1; i < nas_ghn_vocab_channels(); i++) {
        ck_assert_int_gt(nas_ghn_vocab_channel_value(i), nas_ghn_vocab_channel_value(i - 1));
        ck_assert_int_eq(nas_ghn_vocab_channel_index(nas_ghn_vocab_channel_value(i)), i);
    }
    ck_assert_int_eq(nas_ghn_vocab_channel_value(nas_ghn_vocab_channels() - 1), 8192);
}
END_TEST

START_TEST(test_ghn__node_types_and_shapes) {
    nas_net net;
    compile_text(&net, "darts",
                 "Genotype(normal=[('sep_conv_3x3', 0), ('dil_conv_5x5', 1), ('skip_connect', 0), "
                 "('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_5x5', 2), ('skip_connect', "
                 "3), ('dil_conv_3x3', 4)], normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', "
                 "0), ('max_pool_3x3', 1), ('skip_connect', 2), ('avg_pool_3x3', 0), "
                 "('dil_conv_3x3', 1), ('sep_conv_5x5', 3), ('skip_connect', 4), ('max_pool_3x3', "
                 "1)], reduce_concat=[2, 3, 4, 5])",
                 net_config(4, 0, 16, 10));
    int seen[NAS_GHN_TYPE_COUNT] = {0};
    for (int v = 0; v < net.n_nodes; v++) {
        const nas_net_node *n = &net.nodes[v];
        nas_ghn_type ty = nas_ghn_node_type(n);
        seen[ty]++;
        int64_t s[4];
        nas_ghn_node_shape(&net, v, s);
        if (n->n_slots > 0) {
            for (int d = 0; d < 4; d++) {
                ck_assert_int_eq(s[d], n->wshape[d]);
            }
        } else {
            ck_assert_int_eq(s[0], n->shape[0]);
        }
        if (n->op == NAS_NET_CONV && n->dilation > 1) {
            ck_assert_int_eq(ty, NAS_GHN_T_CONV_DIL);
        }
        if (n->op == NAS_NET_CONV && n->groups > 1 && n->dilation == 1 && n->stride == 1) {
            ck_assert_int_eq(ty, NAS_GHN_T_CONV_DW);
        }
        if (n->op == NAS_NET_MAXPOOL) {
            ck_assert_int_eq(s[2], n->k);
        }
    }
    ck_assert_int_eq(seen[NAS_GHN_T_INPUT], 1);
    ck_assert_int_eq(seen[NAS_GHN_T_LINEAR], 1);
    ck_assert_int_gt(seen[NAS_GHN_T_CONV_DW], 0);
    ck_assert_int_gt(seen[NAS_GHN_T_CONV_DW_S2], 0);
    ck_assert_int_gt(seen[NAS_GHN_T_CONV_DIL], 0);
    ck_assert_int_gt(seen[NAS_GHN_T_CONV], 0);
    ck_assert_int_gt(seen[NAS_GHN_T_CONCAT], 0);
    ck_assert_str_eq(nas_ghn_type_name(NAS_GHN_T_CONV_DW), "conv_dw");
    ck_assert_str_eq(nas_ghn_type_name((nas_ghn_type)99), "?");
    nas_net_free(&net);
}
END_TEST

START_TEST(test_ghn__config_validate_and_diff) {
    nas_ghn_config a = nas_ghn_config_default(), b = a;
    ck_assert_int_eq(nas_ghn_config_validate(&a), NAS_OK);
    char buf[128];
    ck_assert(!nas_ghn_config_diff(&a, &b, "file", "model", buf, sizeof buf));
    b.hid = 30;
    ck_assert_int_eq(nas_ghn_config_validate(&b), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "hid"));
    ck_assert(nas_ghn_config_diff(&a, &b, "file", "model", buf, sizeof buf));
    ck_assert_str_eq(buf, "hid: file 32, model 30");
    b = a;
    b.decoder = NAS_GHN_DECODER_TILE;
    ck_assert(nas_ghn_config_diff(&a, &b, "file", "model", buf, sizeof buf));
    ck_assert_str_eq(buf, "decoder: file chunk, model tile");
    nas_ghn_decoder d;
    ck_assert_int_eq(nas_ghn_decoder_from_name("tile", &d), NAS_OK);
    ck_assert_int_eq(d, NAS_GHN_DECODER_TILE);
    ck_assert_int_eq(nas_ghn_decoder_from_name("tiles", &d), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "chunk, tile"));
    b = a;
    b.chunk_k = 0;
    ck_assert_int_eq(nas_ghn_config_validate(&b), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "chunk_k"));
}
END_TEST

/* Level blocks are contiguous, each message weight matches the igraph distance. */
START_TEST(test_ghn__levels_and_messages) {
    nas_net net;
    compile_random(&net, "nb201", net_config(4, 1, 8, 10), 5);
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 10);
    nas_ghn_graph gg;
    ck_assert_int_eq(nas_ghn_graph_build(&gg, &c, &net), NAS_OK);
    const nas_ghn_graph_private *g = gg.priv;
    ck_assert_int_eq(gg.n_levels, net.n_levels);
    ck_assert_int_eq(g->lstart[0], 0);
    ck_assert_int_eq(g->lstart[g->L], net.n_nodes);
    for (int r = 0; r < g->n; r++) {
        int v = g->perm[r];
        ck_assert_int_eq(g->row[v], r);
        int l = net.nodes[v].level;
        ck_assert(r >= g->lstart[l] && r < g->lstart[l + 1]);
    }
    int32_t *dist = malloc((size_t)net.n_nodes * (size_t)net.n_nodes * sizeof *dist);
    ck_assert_int_eq(nas_net_distances(&net, c.s_max, dist), NAS_OK);
    const int n = g->n;
    int real = 0, virt = 0, wrong = 0; /* counted: Check logs every assertion it evaluates */
    for (int l = 0; l < g->L; l++) {
        int a = g->lstart[l], b = g->lstart[l + 1];
        for (int i = 0; i < b - a; i++) {
            for (int j = 0; j < a; j++) {
                int v = g->perm[a + i], u = g->perm[j];
                int32_t d = dist[u * n + v];
                float er = d == 1 ? 1.0f : 0.0f;
                float ev = d > 1 && d <= c.s_max ? 1.0f / (float)d : 0.0f;
                float gr = g->fr[l] >= 0 ? g->mats[g->fr[l] + i * a + j] : 0.0f;
                float gv = g->fv[l] >= 0 ? g->mats[g->fv[l] + i * a + j] : 0.0f;
                wrong += gr != er || gv != ev;
                real += d == 1;
                virt += d > 1 && d <= c.s_max;
            }
            for (int j = 0; j < n - b; j++) {
                int v = g->perm[a + i], u = g->perm[b + j];
                int32_t d = dist[v * n + u];
                float gr = g->br[l] >= 0 ? g->mats[g->br[l] + i * (n - b) + j] : 0.0f;
                float gv = g->bv[l] >= 0 ? g->mats[g->bv[l] + i * (n - b) + j] : 0.0f;
                wrong += gr != (d == 1 ? 1.0f : 0.0f);
                wrong += gv != (d > 1 && d <= c.s_max ? 1.0f / (float)d : 0.0f);
            }
        }
    }
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_eq(gg.n_real_edges, real);
    ck_assert_int_eq(gg.n_virtual_edges, virt);
    ck_assert_int_gt(real, 0);
    ck_assert_int_gt(virt, 0);
    /* every IR edge is a distance-1 pair */
    int distinct = 0;
    for (int v = 0; v < n; v++) {
        for (int k = 0; k < net.nodes[v].n_in; k++) {
            bool dup = false;
            for (int q = 0; q < k; q++) {
                dup = dup || net.nodes[v].in[q] == net.nodes[v].in[k];
            }
            distinct += !dup;
        }
    }
    ck_assert_int_eq(real, distinct);
    free(dist);
    nas_ghn_graph_free(&gg);
    nas_net_free(&net);
}
END_TEST

/* Embeddings come back in node-id order: row v of the embedding is node v's state. */
START_TEST(test_ghn__embed_in_node_order) {
    nas_net net;
    compile_random(&net, "nb101", net_config(4, 1, 8, 10), 31);
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 10);
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 6), NAS_OK);
    nas_ghn_graph gg;
    ck_assert_int_eq(nas_ghn_graph_build(&gg, &c, &net), NAS_OK);
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    nas_tensor *e = nas_ghn_embed(&g, NULL, &t, &gg);
    nas_tensor *h = nas_i_ghn_node_states(&g.cfg, g.params.tensors, &t, gg.priv);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(e->shape[0], net.n_nodes);
    ck_assert_int_eq(e->shape[1], c.hid);
    int differ = 0;
    for (int v = 0; v < net.n_nodes; v++) {
        int r = gg.priv->row[v];
        differ += memcmp(e->data + (int64_t)v * c.hid, h->data + (int64_t)r * c.hid,
                         (size_t)c.hid * sizeof(float)) != 0;
    }
    ck_assert_int_eq(differ, 0);
    /* LayerNorm: every row has mean 0 (gamma 1, beta 0 at init) */
    for (int v = 0; v < net.n_nodes; v += 7) {
        double m = 0.0;
        for (int k = 0; k < c.hid; k++) {
            m += (double)e->data[(int64_t)v * c.hid + k];
        }
        ck_assert_double_eq_tol(m / c.hid, 0.0, 1e-5);
    }
    nas_tape_free(&t);
    nas_ghn_graph_free(&gg);
    nas_ghn_free(&g);
    nas_net_free(&net);
}
END_TEST

/* ---- shapes --------------------------------------------------------------------------------- */

START_TEST(test_ghn__every_slot_gets_its_shape) {
    static const struct {
        const char *space;
        int C, N, hw, count;
    } cases[] = {
        {"nb201", 4, 1, 8, 3},  {"nb201", 40, 1, 8, 2}, /* widths 40..160: many tiles */
        {"nb101", 8, 1, 8, 3},  {"nb101", 36, 1, 8, 1}, {"darts", 4, 1, 8, 2},
        {"darts", 20, 0, 8, 1}, {"macro", 0, 0, 8, 3}, /* kernels 5, 7 > chunk_k 3 */
    };
    int total = 0;
    for (int dec = 0; dec < NAS_GHN_DECODER_COUNT; dec++) {
        nas_ghn g;
        nas_ghn_config c = nas_ghn_config_default();
        c.hid = 8;
        c.dec_hid = 8;
        c.decoder = (nas_ghn_decoder)dec;
        c.classes = 7;
        ck_assert_int_eq(nas_ghn_init(&g, &c, 1), NAS_OK);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            for (int i = 0; i < cases[k].count; i++) {
                nas_net net;
                compile_random(&net, cases[k].space,
                               net_config(cases[k].C, cases[k].N, cases[k].hw, 7),
                               100 + (uint64_t)(k * 10 + (size_t)i));
                total += check_shapes(&g, &net);
                nas_net_free(&net);
            }
        }
        /* a macro net with every kernel size and the widest stages */
        nas_net net;
        compile_text(&net, "macro", "d2-w24-k7-e6|d3-w40-k5-e6|d3-w80-k7-e6|d3-w96-k3-e6",
                     net_config(0, 0, 8, 7));
        total += check_shapes(&g, &net);
        nas_net_free(&net);
        nas_ghn_free(&g);
    }
    ck_assert_int_gt(total, 500);
}
END_TEST

/* CHUNK: the out-channel tiles of one weight differ; TILE: they repeat the one chunk. */
START_TEST(test_ghn__chunk_tiles_differ_tile_repeats) {
    nas_net net;
    compile_text(&net, "nb201",
                 "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
                 "nor_conv_1x1~2|",
                 net_config(8, 1, 8, 10));
    int s = -1;
    for (int k = 0; k < net.n_slots; k++) {
        if (strcmp(net.slots[k].name, "cell4.e01.conv.weight") == 0) {
            s = k;
        }
    }
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(net.slots[s].shape[0], 32);
    for (int dec = 0; dec < NAS_GHN_DECODER_COUNT; dec++) {
        nas_ghn_config c = nas_ghn_config_default();
        c.hid = 8;
        c.decoder = (nas_ghn_decoder)dec;
        nas_ghn g;
        ck_assert_int_eq(nas_ghn_init(&g, &c, 3), NAS_OK);
        nas_ghn_graph gg;
        ck_assert_int_eq(nas_ghn_graph_build(&gg, &c, &net), NAS_OK);
        nas_tape t;
        nas_tape_init(&t);
        nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
        ck_assert_int_eq(nas_ghn_predict(&g, NULL, &t, &gg, w), NAS_OK);
        /* rows o and o + 16 (next out tile), same in-channel and tap */
        const float *d = w[s]->data;
        const int64_t per_out = 32 * 9;
        double diff = 0.0;
        for (int64_t i = 0; i < 16 * per_out; i++) {
            diff = fmax(diff, fabs((double)d[i] - (double)d[i + 16 * per_out]));
        }
        if (dec == NAS_GHN_DECODER_CHUNK) {
            ck_assert_msg(diff > 1e-4, "chunk tiles are identical");
            int n_conv = 0;
            for (int k = 0; k < net.n_slots; k++) {
                n_conv += net.slots[k].ndim == 4;
            }
            ck_assert_int_gt(gg.n_tiles, n_conv);
        } else {
            ck_assert_msg(diff == 0.0, "tiled chunks differ by %g", diff);
        }
        free(w);
        nas_tape_free(&t);
        nas_ghn_graph_free(&gg);
        nas_ghn_free(&g);
    }
    nas_net_free(&net);
}
END_TEST

START_TEST(test_ghn__normalised_ranges) {
    nas_net net;
    compile_random(&net, "nb201", net_config(8, 1, 8, 10), 9);
    nas_ghn_config c = nas_ghn_config_default();
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 4), NAS_OK);
    /* large decoder outputs so the squashing shows */
    for (int64_t i = 0; i < g.params.numel; i++) {
        g.params.data[i] *= 3.0f;
    }
    nas_ghn_graph gg;
    ck_assert_int_eq(nas_ghn_graph_build(&gg, &c, &net), NAS_OK);
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
    nas_tensor **raw = calloc((size_t)net.n_slots, sizeof *raw);
    ck_assert_int_eq(nas_ghn_predict(&g, NULL, &t, &gg, w), NAS_OK);
    g.cfg.weight_norm = false;
    ck_assert_int_eq(nas_ghn_predict(&g, NULL, &t, &gg, raw), NAS_OK);
    int out_of_range = 0, wrong = 0, gammas = 0, betas = 0; /* counted, asserted once */
    for (int s = 0; s < net.n_slots; s++) {
        const nas_net_slot *sl = &net.slots[s];
        for (int64_t i = 0; i < sl->numel; i++) {
            double v = w[s]->data[i], r = raw[s]->data[i];
            switch (sl->role) {
                case NAS_NET_GAMMA:
                    out_of_range += !(v > 0.0 && v < 2.0);
                    wrong += fabs(v - 2.0 / (1.0 + exp(-0.5 * r))) > 1e-5;
                    gammas += fabs(r) > 2.0; /* squashing visible */
                    break;
                case NAS_NET_BETA:
                case NAS_NET_BIAS:
                    out_of_range += !(v > -1.0 && v < 1.0);
                    wrong += fabs(v - tanh(0.2 * r)) > 1e-5;
                    betas += fabs(r) > 2.0;
                    break;
                default:
                    wrong += fabs(v - r * sqrt(2.0 / (double)sl->fan_in)) > 1e-5 * (1.0 + fabs(r));
            }
        }
    }
    ck_assert_int_eq(out_of_range, 0);
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_gt(gammas, 0);
    ck_assert_int_gt(betas, 0);
    free(w);
    free(raw);
    nas_tape_free(&t);
    nas_ghn_graph_free(&gg);
    nas_ghn_free(&g);
    nas_net_free(&net);
}
END_TEST

/* Rows never trained stand in by the nearest trained size / a wrapped trained tile position. */
START_TEST(test_ghn__untrained_rows_use_trained_stand_ins) {
    nas_ghn_config c = nas_ghn_config_default();
    c.hid = 8;
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 8), NAS_OK);
    nas_net narrow, wide;
    const char *arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                       "nor_conv_3x3~1|nor_conv_1x1~2|";
    compile_text(&narrow, "nb201", arch, net_config(8, 1, 8, 10));
    compile_text(&wide, "nb201", arch, net_config(24, 1, 8, 10)); /* widths 24, 48, 96 */
    nas_ghn_graph gn, gw;
    ck_assert_int_eq(nas_ghn_graph_build(&gn, &c, &narrow), NAS_OK);
    ck_assert_int_eq(nas_ghn_graph_build(&gw, &c, &wide), NAS_OK);
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    nas_tensor **w0 = calloc((size_t)wide.n_slots, sizeof *w0);
    nas_tensor **w1 = calloc((size_t)wide.n_slots, sizeof *w1);
    nas_tensor **n0 = calloc((size_t)narrow.n_slots, sizeof *n0);
    nas_tensor **n1 = calloc((size_t)narrow.n_slots, sizeof *n1);
    ck_assert_int_eq(nas_ghn_predict(&g, NULL, &t, &gw, w0), NAS_OK);
    ck_assert_int_eq(nas_ghn_predict(&g, NULL, &t, &gn, n0), NAS_OK);
    nas_ghn_mark_seen(&g, &gn); /* "trained" on the narrow net only */
    ck_assert_int_eq(nas_ghn_predict(&g, NULL, &t, &gw, w1), NAS_OK);
    ck_assert_int_eq(nas_ghn_predict(&g, NULL, &t, &gn, n1), NAS_OK);
    /* the trained net is predicted exactly as before; the wide one changes */
    int same_n = 0, same_w = 0;
    for (int s = 0; s < narrow.n_slots; s++) {
        same_n += memcmp(n0[s]->data, n1[s]->data, (size_t)n0[s]->numel * sizeof(float)) == 0;
    }
    for (int s = 0; s < wide.n_slots; s++) {
        same_w += memcmp(w0[s]->data, w1[s]->data, (size_t)w0[s]->numel * sizeof(float)) == 0;
    }
    ck_assert_int_eq(same_n, narrow.n_slots);
    ck_assert_int_lt(same_w, wide.n_slots);
    /* the stand-ins: trained sizes (nearest by size) and trained positions only */
    nas_ghn_graph_private m;
    int32_t *buf = NULL;
    ck_assert_int_eq(nas_i_ghn_remap(&g, gw.priv, &m, &buf), NAS_OK);
    ck_assert_ptr_nonnull(buf);
    int64_t rows;
    const uint8_t *ch = g.seen + nas_i_ghn_seen_offset(&c, GHN_SEEN_CH, &rows);
    const uint8_t *po = g.seen + nas_i_ghn_seen_offset(&c, GHN_SEEN_POS_O, &rows);
    int bad = 0, changed = 0;
    for (int r = 0; r < m.n; r++) {
        int64_t want = nas_ghn_vocab_channel_value(gw.priv->f_co[r]);
        int64_t got = nas_ghn_vocab_channel_value(m.f_co[r]);
        bad += !ch[m.f_co[r]];
        /* every trained size is at least as far from the wanted one */
        for (int i = 0; i < nas_ghn_vocab_channels(); i++) {
            int64_t d = nas_ghn_vocab_channel_value(i) - want;
            bad += ch[i] && llabs(d) < llabs(got - want);
        }
        changed += m.f_co[r] != gw.priv->f_co[r];
    }
    for (int i = 0; i < m.conv.n; i++) {
        bad += !po[m.conv.pa[i]];
        bad += po[gw.priv->conv.pa[i]] && m.conv.pa[i] != gw.priv->conv.pa[i];
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_gt(changed, 0);
    free(buf);
    nas_ghn_clear_seen(&g);
    ck_assert_int_eq(nas_i_ghn_remap(&g, gw.priv, &m, &buf), NAS_OK);
    ck_assert_ptr_null(buf);
    free(w0);
    free(w1);
    free(n0);
    free(n1);
    nas_tape_free(&t);
    nas_ghn_graph_free(&gn);
    nas_ghn_graph_free(&gw);
    nas_net_free(&narrow);
    nas_net_free(&wide);
    nas_ghn_free(&g);
}
END_TEST

/* ---- end-to-end gradient check -------------------------------------------------------------- */

typedef struct fd_case {
    nas_net net;
    nas_ghn g;
    nas_ghn_graph gg;
    float *x;   /* [B, 1, hw, hw] */
    int32_t *y; /* [B] */
    int B, hw;
    nas_tape t;
} fd_case;

/* Mean CE of the net on predicted weights; records (for backward) when the tape does. */
static nas_tensor *fd_loss(fd_case *fc) {
    nas_tape_reset(&fc->t);
    nas_tensor **w = calloc((size_t)fc->net.n_slots, sizeof *w);
    ck_assert_msg(nas_ghn_predict(&fc->g, NULL, &fc->t, &fc->gg, w) == NAS_OK, "%s", nas_errmsg());
    int64_t shape[4] = {fc->B, 1, fc->hw, fc->hw};
    nas_tensor *x = nas_tensor_from(&fc->t, 4, shape, fc->x);
    nas_tensor *logits = nas_net_forward(&fc->t, &fc->net, w, NULL, x);
    nas_tensor *loss = nas_softmax_cross_entropy(&fc->t, logits, fc->y, 0.0f);
    ck_assert_msg(nas_tape_status(&fc->t) == NAS_OK, "%s", nas_errmsg());
    free(w);
    return loss;
}

/* Compare d loss / d p for the largest-gradient element and two spread elements of every GHN
 * parameter tensor against central differences. Returns the number of mismatches. */
static int fd_check(const char *label, const char *space, const char *arch, nas_net_config nc,
                    nas_ghn_decoder dec) {
    fd_case fc;
    memset(&fc, 0, sizeof fc);
    fc.B = 4;
    fc.hw = nc.in_h;
    if (arch) {
        compile_text(&fc.net, space, arch, nc);
    } else {
        compile_random(&fc.net, space, nc, 77);
    }
    nas_ghn_config c = tiny_config(dec, nc.classes);
    ck_assert_int_eq(nas_ghn_init(&fc.g, &c, 21), NAS_OK);
    ck_assert_int_eq(nas_ghn_graph_build(&fc.gg, &c, &fc.net), NAS_OK);
    fc.x = malloc((size_t)(fc.B * fc.hw * fc.hw) * sizeof *fc.x);
    fc.y = malloc((size_t)fc.B * sizeof *fc.y);
    fill_uniform(fc.x, fc.B * fc.hw * fc.hw, 5);
    for (int i = 0; i < fc.B; i++) {
        fc.y[i] = i % nc.classes;
    }
    nas_tape_init(&fc.t);
    nas_params_zero_grad(&fc.g.params);
    nas_tensor *loss = fd_loss(&fc);
    ck_assert_int_eq(nas_tape_backward(&fc.t, loss), NAS_OK);
    float *grad = malloc((size_t)fc.g.params.numel * sizeof *grad);
    memcpy(grad, fc.g.params.grad, (size_t)fc.g.params.numel * sizeof *grad);
    nas_tape_set_record(&fc.t, false);
    const double atol = 2e-3, rtol = 5e-2;
    int bad = 0, checked = 0, nonzero = 0;
    for (size_t k = 0; k < fc.g.params.count; k++) {
        nas_tensor *pt = fc.g.params.tensors[k];
        const int64_t off = pt->data - fc.g.params.data;
        int64_t pick[3] = {0, pt->numel / 3, (2 * pt->numel) / 3};
        for (int64_t i = 0; i < pt->numel; i++) {
            pick[0] = fabsf(grad[off + i]) > fabsf(grad[off + pick[0]]) ? i : pick[0];
        }
        for (int q = 0; q < 3; q++) {
            float *v = &pt->data[pick[q]];
            const float saved = *v;
            const double ana = grad[off + pick[q]];
            double num = 0.0;
            bool ok = false;
            /* the loss has kinks (ReLU, max pool) and high curvature (BN over a 4-image batch):
               smaller steps decide when the first one disagrees */
            static const double steps[3] = {1e-3, 3e-4, 1e-4};
            for (int e = 0; e < 3 && !ok; e++) {
                const double eps = steps[e];
                *v = saved + (float)eps;
                double lp = fd_loss(&fc)->data[0];
                *v = saved - (float)eps;
                double lm = fd_loss(&fc)->data[0];
                *v = saved;
                num = (lp - lm) / (2.0 * eps);
                ok = fabs(num - ana) <= atol + rtol * fmax(fabs(num), fabs(ana));
            }
            checked++;
            nonzero += fabs(ana) > 1e-4;
            if (!ok) {
                if (bad < 6) {
                    fprintf(stderr, "%s: %s[%lld]: analytic %.6g numeric %.6g\n", label, pt->name,
                            (long long)pick[q], ana, num);
                }
                bad++;
            }
        }
    }
    ck_assert_msg(nonzero > checked / 3, "%s: only %d of %d checked gradients are non-zero", label,
                  nonzero, checked);
    /* a wrong backward shows in many elements of several tensors; an isolated element whose
       central differences straddle many ReLU kinks is tolerated (at most 1 in 50) */
    bad = bad <= checked / 50 ? 0 : bad;
    free(grad);
    free(fc.x);
    free(fc.y);
    nas_tape_free(&fc.t);
    nas_ghn_graph_free(&fc.gg);
    nas_ghn_free(&fc.g);
    nas_net_free(&fc.net);
    return bad;
}

static void fd_both(const char *space, const char *arch, nas_net_config nc) {
    char label[64];
    for (int dec = 0; dec < NAS_GHN_DECODER_COUNT; dec++) {
        snprintf(label, sizeof label, "%s/%s", space, nas_ghn_decoder_name((nas_ghn_decoder)dec));
        int bad = fd_check(label, space, arch, nc, (nas_ghn_decoder)dec);
        ck_assert_msg(bad == 0, "%s: %d gradient mismatches", label, bad);
    }
}

START_TEST(test_ghn__gradcheck_nb201) {
    fd_both("nb201",
            "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
            "nor_conv_1x1~2|",
            net_config(2, 1, 8, 3));
}
END_TEST

START_TEST(test_ghn__gradcheck_nb101) {
    fd_both("nb101", "1100.011.01.1|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu",
            net_config(3, 1, 8, 3));
}
END_TEST

START_TEST(test_ghn__gradcheck_darts) {
    fd_both("darts",
            "Genotype(normal=[('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), "
            "('avg_pool_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 2), ('skip_connect', 3), "
            "('avg_pool_3x3', 0)], normal_concat=[2, 3, 4, 5], reduce=[('dil_conv_5x5', 0), "
            "('avg_pool_3x3', 1), ('skip_connect', 2), ('sep_conv_5x5', 0), ('skip_connect', 3), "
            "('avg_pool_3x3', 1), ('avg_pool_3x3', 4), ('skip_connect', 2)], "
            "reduce_concat=[2, 3, 4, 5])",
            net_config(2, 0, 8, 3));
}
END_TEST

START_TEST(test_ghn__gradcheck_macro) {
    nas_net_config nc = net_config(2, 0, 8, 3);
    fd_both("macro", "d1-w16-k5-e1|d1-w24-k7-e3|d1-w48-k3-e3|d1-w64-k5-e3", nc);
}
END_TEST

/* ---- views and evaluation ------------------------------------------------------------------- */

START_TEST(test_ghn__view_gradients_match) {
    nas_net net;
    compile_random(&net, "nb201", net_config(4, 1, 8, 10), 12);
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 10);
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 2), NAS_OK);
    nas_ghn_graph gg;
    ck_assert_int_eq(nas_ghn_graph_build(&gg, &c, &net), NAS_OK);
    nas_ghn_view v;
    ck_assert_int_eq(nas_ghn_view_init(&v, &g), NAS_OK);
    ck_assert_int_eq(v.numel, g.params.numel);
    float x[4 * 64];
    fill_uniform(x, 4 * 64, 3);
    int32_t y[4] = {1, 2, 3, 4};
    for (int pass = 0; pass < 2; pass++) {
        nas_tape t;
        nas_tape_init(&t);
        nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
        ck_assert_int_eq(nas_ghn_predict(&g, pass ? v.p : NULL, &t, &gg, w), NAS_OK);
        int64_t shape[4] = {4, 1, 8, 8};
        nas_tensor *logits = nas_net_forward(&t, &net, w, NULL, nas_tensor_from(&t, 4, shape, x));
        ck_assert_int_eq(nas_tape_backward(&t, nas_softmax_cross_entropy(&t, logits, y, 0.0f)),
                         NAS_OK);
        free(w);
        nas_tape_free(&t);
    }
    double maxg = 0.0;
    int64_t differ = 0;
    for (int64_t i = 0; i < g.params.numel; i++) {
        differ += v.grad[i] != g.params.grad[i];
        maxg = fmax(maxg, fabs((double)v.grad[i]));
    }
    ck_assert_int_eq(differ, 0);
    ck_assert(maxg > 0.0);
    /* the view shares the data */
    ck_assert_ptr_eq(v.p[GHN_P_DEC_W2]->data, g.params.tensors[GHN_P_DEC_W2]->data);
    ck_assert_ptr_ne(v.p[GHN_P_DEC_W2]->grad, g.params.tensors[GHN_P_DEC_W2]->grad);
    nas_ghn_view_free(&v);
    nas_ghn_graph_free(&gg);
    nas_ghn_free(&g);
    nas_net_free(&net);
}
END_TEST

/* Synthetic 8x8 images: class k has a bright 2x2 square at position k. */
static void synthetic(nas_dataset *ds, int64_t n, int classes, uint64_t seed) {
    ck_assert_int_eq(nas_data_alloc(ds, n, 1, 8, 8, classes, "synthetic"), NAS_OK);
    nas_rng r;
    nas_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        int k = (int)nas_rng_below(&r, (uint64_t)classes);
        ds->labels[i] = k;
        uint8_t *im = ds->images + i * 64;
        for (int p = 0; p < 64; p++) {
            im[p] = (uint8_t)nas_rng_below(&r, 60);
        }
        int y0 = (k / 3) * 3, x0 = (k % 3) * 3;
        for (int dy = 0; dy < 2; dy++) {
            for (int dx = 0; dx < 2; dx++) {
                im[(y0 + dy) * 8 + x0 + dx] = 250;
            }
        }
    }
}

/* Issue 16: nothing in the GHN depends on the input size (node features are op shapes and kernel
 * sizes; the classifier's rows follow cfg.classes), so one GHN configuration predicts working
 * nets for 3x32x32, 3x24x24 and 1x16x16 inputs with 3 or 100 classes, of every space. */
START_TEST(test_ghn__input_shapes_and_classes_follow_the_data) {
    static const struct {
        const char *space;
        int c, hw, classes;
    } cases[] = {{"nb201", 3, 32, 100}, {"nb201", 3, 24, 3},   {"nb201", 1, 16, 3},
                 {"darts", 3, 24, 100}, {"nb101", 1, 16, 100}, {"macro", 3, 24, 3}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int c = cases[k].c, hw = cases[k].hw, classes = cases[k].classes;
        nas_dataset ds;
        ck_assert_int_eq(nas_data_alloc(&ds, 16, c, hw, hw, classes, "shapes"), NAS_OK);
        nas_rng r;
        nas_rng_seed(&r, 3 + k);
        for (size_t i = 0; i < nas_data_image_size(&ds) * 16; i++) {
            ds.images[i] = (uint8_t)nas_rng_below(&r, 256);
        }
        for (int i = 0; i < 16; i++) {
            ds.labels[i] = (int32_t)nas_rng_below(&r, (uint64_t)classes);
        }
        nas_net_config nc =
            net_config(4, strcmp(cases[k].space, "macro") == 0 ? 0 : 1, hw, classes);
        nc.in_c = c;
        nas_net net;
        compile_random(&net, cases[k].space, nc, 21 + k);
        nas_ghn_config gc = tiny_config(NAS_GHN_DECODER_CHUNK, classes);
        nas_ghn g;
        ck_assert_int_eq(nas_ghn_init(&g, &gc, 2), NAS_OK);
        double loss = 0, acc = 0;
        ck_assert_msg(nas_ghn_evaluate(&g, &net, &ds, NULL, 0, NULL, 8, &loss, &acc) == NAS_OK,
                      "%s %dx%dx%d, %d classes: %s", cases[k].space, c, hw, hw, classes,
                      nas_errmsg());
        ck_assert_msg(isfinite(loss) && loss > 0.0, "%s: loss %g", cases[k].space, loss);
        ck_assert(acc >= 0.0 && acc <= 1.0);
        /* the predicted classifier has one row per class */
        nas_ghn_graph gg;
        ck_assert_int_eq(nas_ghn_graph_build(&gg, &gc, &net), NAS_OK);
        nas_ghn_graph_free(&gg);
        /* a GHN of other classes is refused with a message */
        nas_ghn_config other = tiny_config(NAS_GHN_DECODER_CHUNK, classes == 3 ? 100 : 3);
        ck_assert_int_eq(nas_ghn_graph_build(&gg, &other, &net), NAS_EINVAL);
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "classes"));
        nas_ghn_free(&g);
        nas_net_free(&net);
        nas_data_free(&ds);
    }
}
END_TEST

/* One workspace reused across nets of different sizes, batch sizes and a failing call gives
 * exactly what fresh calls give. */
START_TEST(test_ghn__evaluate_workspace_reuse) {
    nas_dataset ds;
    synthetic(&ds, 100, 4, 1);
    nas_net small, big, wrong;
    compile_random(&small, "nb201", net_config(4, 1, 8, 4), 13);
    compile_random(&big, "nb201", net_config(8, 2, 8, 4), 14);
    compile_random(&wrong, "nb201", net_config(4, 1, 12, 4), 13);
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 4);
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 2), NAS_OK);
    nas_ghn_eval_ws ws;
    memset(&ws, 0, sizeof ws);
    const nas_net *seq[] = {&small, &big, &wrong, &small, &big};
    const int bs[] = {32, 50, 32, 16, 7};
    for (int i = 0; i < 5; i++) {
        double l0 = 0, a0 = 0, l1 = 0, a1 = 0;
        nas_status s0 = nas_ghn_evaluate(&g, seq[i], &ds, NULL, 0, NULL, bs[i], &l0, &a0);
        nas_status s1 = nas_ghn_evaluate_ws(&g, &ws, seq[i], &ds, NULL, 0, NULL, bs[i], &l1, &a1);
        ck_assert_int_eq(s0, s1);
        if (seq[i] == &wrong) {
            ck_assert_int_eq(s1, NAS_ESHAPE);
            continue;
        }
        ck_assert_int_eq(s1, NAS_OK);
        ck_assert_double_eq(l0, l1);
        ck_assert_double_eq(a0, a1);
    }
    ck_assert(ws.ready);
    nas_ghn_eval_ws_free(&ws);
    ck_assert(!ws.ready && ws.x == NULL);
    nas_ghn_free(&g);
    nas_net_free(&small);
    nas_net_free(&big);
    nas_net_free(&wrong);
    nas_data_free(&ds);
}
END_TEST

START_TEST(test_ghn__evaluate_and_predict_model) {
    nas_dataset ds;
    synthetic(&ds, 100, 4, 1);
    nas_net net;
    compile_random(&net, "nb201", net_config(4, 1, 8, 4), 13);
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 4);
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 2), NAS_OK);
    double l1, a1, l2, a2;
    ck_assert_int_eq(nas_ghn_evaluate(&g, &net, &ds, NULL, 0, NULL, 32, &l1, &a1), NAS_OK);
    ck_assert_int_eq(nas_ghn_evaluate(&g, &net, &ds, NULL, 0, NULL, 32, &l2, &a2), NAS_OK);
    ck_assert(isfinite(l1) && l1 > 0.0);
    ck_assert(a1 >= 0.0 && a1 <= 1.0);
    ck_assert_double_eq(l1, l2);
    ck_assert_double_eq(a1, a2);
    /* the owned model with predicted weights gives the same loss (batch statistics) */
    nas_ghn_graph gg;
    ck_assert_int_eq(nas_ghn_graph_build(&gg, &c, &net), NAS_OK);
    nas_rng rng;
    nas_rng_seed(&rng, 1);
    nas_net_model m;
    ck_assert_int_eq(nas_net_model_init(&m, &net, NAS_NET_INIT_TORCH, &rng), NAS_OK);
    ck_assert_int_eq(nas_ghn_predict_model(&g, &gg, &m), NAS_OK);
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    float *x = malloc(100 * 64 * sizeof *x);
    int32_t y[100];
    ck_assert_int_eq(nas_data_batch(&ds, (const int32_t[]){0, 1, 2, 3, 4, 5, 6, 7}, 8, NULL, x, y),
                     NAS_OK);
    int64_t shape[4] = {8, 1, 8, 8};
    nas_tensor *lg =
        nas_net_model_forward(&m, &t, nas_tensor_from(&t, 4, shape, x), NAS_BN_BATCH_STATS);
    nas_tensor *lo = nas_softmax_cross_entropy(&t, lg, y, 0.0f);
    double l8, a8;
    int32_t first8[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ck_assert_int_eq(nas_ghn_evaluate(&g, &net, &ds, first8, 8, NULL, 8, &l8, &a8), NAS_OK);
    ck_assert_double_eq_tol((double)lo->data[0], l8, 1e-5);
    /* wrong input shape is refused */
    nas_net other;
    compile_random(&other, "nb201", net_config(4, 1, 12, 4), 13);
    ck_assert_int_eq(nas_ghn_evaluate(&g, &other, &ds, NULL, 0, NULL, 32, &l1, &a1), NAS_ESHAPE);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "1x8x8"));
    /* classes must match */
    nas_net ten;
    compile_random(&ten, "nb201", net_config(4, 1, 8, 10), 13);
    nas_ghn_graph bad;
    ck_assert_int_eq(nas_ghn_graph_build(&bad, &c, &ten), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "4 classes"));
    nas_net_free(&ten);
    nas_net_free(&other);
    free(x);
    nas_tape_free(&t);
    nas_net_model_free(&m);
    nas_ghn_graph_free(&gg);
    nas_ghn_free(&g);
    nas_net_free(&net);
    nas_data_free(&ds);
}
END_TEST

/* BN recalibration: predicted weights evaluated on running statistics recalibrated on training
   images give what the owned model gives after the trainer's calibration (nas_eval_calibrate_bn,
   a second code path) and an inference-mode forward; and differ from batch statistics. */
START_TEST(test_ghn__evaluate_bn_recalibrated) {
    nas_dataset ds;
    synthetic(&ds, 100, 4, 3);
    nas_net net;
    compile_random(&net, "nb201", net_config(4, 1, 8, 4), 21);
    ck_assert_int_gt(net.n_running, 0);
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 4);
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 4), NAS_OK);
    int32_t cal_idx[48], ev[20];
    for (int i = 0; i < 48; i++) {
        cal_idx[i] = (int32_t)(99 - i); /* not in order: idx is honoured */
    }
    for (int i = 0; i < 20; i++) {
        ev[i] = (int32_t)i;
    }
    nas_ghn_bn_calib cal = {.ds = &ds, .idx = cal_idx, .batches = 3, .batch_size = 16};
    nas_ghn_eval_ws ws;
    memset(&ws, 0, sizeof ws);
    double l, a, lb, ab;
    ck_assert_msg(nas_ghn_evaluate_bn_ws(&g, &ws, &net, &ds, ev, 20, NULL, 20, &cal, &l, &a) ==
                      NAS_OK,
                  "%s", nas_errmsg());
    ck_assert_int_eq(nas_ghn_evaluate_bn_ws(&g, &ws, &net, &ds, ev, 20, NULL, 20, NULL, &lb, &ab),
                     NAS_OK);
    ck_assert_msg(fabs(l - lb) > 1e-6, "recalibrated %.9g = batch statistics %.9g", l, lb);
    /* the oracle */
    nas_ghn_graph gg;
    ck_assert_int_eq(nas_ghn_graph_build(&gg, &c, &net), NAS_OK);
    nas_rng rng;
    nas_rng_seed(&rng, 1);
    nas_net_model m;
    ck_assert_int_eq(nas_net_model_init(&m, &net, NAS_NET_INIT_TORCH, &rng), NAS_OK);
    ck_assert_int_eq(nas_ghn_predict_model(&g, &gg, &m), NAS_OK);
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &ds, cal_idx, 48, NULL, 16, 3), NAS_OK);
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    float *x = malloc(20 * 64 * sizeof *x);
    int32_t y[20];
    ck_assert_int_eq(nas_data_batch(&ds, ev, 20, NULL, x, y), NAS_OK);
    int64_t shape[4] = {20, 1, 8, 8};
    nas_tensor *lg =
        nas_net_model_forward(&m, &t, nas_tensor_from(&t, 4, shape, x), NAS_BN_RUNNING_STATS);
    nas_tensor *lo = nas_softmax_cross_entropy(&t, lg, y, 0.0f);
    ck_assert_msg(fabs((double)lo->data[0] - l) < 1e-5 * fmax(1.0, l), "%.9g vs oracle %.9g", l,
                  (double)lo->data[0]);
    /* bad calibrations are refused */
    cal.batches = 0;
    ck_assert_int_eq(nas_ghn_evaluate_bn_ws(&g, &ws, &net, &ds, ev, 20, NULL, 20, &cal, &l, &a),
                     NAS_EINVAL);
    cal.batches = 9;
    cal.idx = NULL; /* 9 x 16 of 100 images */
    ck_assert_int_eq(nas_ghn_evaluate_bn_ws(&g, &ws, &net, &ds, ev, 20, NULL, 20, &cal, &l, &a),
                     NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "144 calibration images"));
    free(x);
    nas_tape_free(&t);
    nas_net_model_free(&m);
    nas_ghn_graph_free(&gg);
    nas_ghn_eval_ws_free(&ws);
    nas_ghn_free(&g);
    nas_net_free(&net);
    nas_data_free(&ds);
}
END_TEST

/* ---- training ------------------------------------------------------------------------------- */

/* A tiny GHN and trainer on synthetic 8x8 data (4 classes), nb201 at C 4. */
typedef struct train_setup {
    nas_space sp;
    nas_dataset ds;
    nas_ghn g;
    nas_ghn_trainer tr;
} train_setup;

static nas_ghn_train_config tiny_train(int64_t steps, int threads) {
    nas_ghn_train_config tc = nas_ghn_train_defaults();
    tc.steps = steps;
    tc.meta_batch = 3;
    tc.batch_size = 16;
    tc.n_widths = 2;
    tc.widths[0] = 3;
    tc.widths[1] = 4;
    tc.N = 1;
    tc.lr = 3e-3f;
    tc.warmup_steps = 2;
    tc.threads = threads;
    tc.seed = 7;
    return tc;
}

static void setup_train(train_setup *ts, nas_ghn_train_config tc) {
    memset(ts, 0, sizeof *ts);
    ts->sp = load_space("nb201");
    synthetic(&ts->ds, 400, 4, 2);
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 4);
    ck_assert_int_eq(nas_ghn_init(&ts->g, &c, 5), NAS_OK);
    ck_assert_int_eq(nas_ghn_trainer_init(&ts->tr, &ts->g, &tc), NAS_OK);
}

static void teardown_train(train_setup *ts) {
    nas_ghn_trainer_free(&ts->tr);
    nas_ghn_free(&ts->g);
    nas_data_free(&ts->ds);
}

/* Mean loss and accuracy of predicted weights over a few fixed archs on the first 200 images. */
static void mean_eval(const nas_ghn *g, const nas_space *sp, double *loss, double *acc) {
    *loss = *acc = 0.0;
    nas_dataset ds;
    synthetic(&ds, 200, 4, 9);
    for (int k = 0; k < 4; k++) {
        nas_net net;
        compile_random(&net, sp->name, net_config(4, 1, 8, 4), 300 + (uint64_t)k);
        double l, a;
        ck_assert_int_eq(nas_ghn_evaluate(g, &net, &ds, NULL, 0, NULL, 50, &l, &a), NAS_OK);
        *loss += l / 4;
        *acc += a / 4;
        nas_net_free(&net);
    }
    nas_data_free(&ds);
}

START_TEST(test_ghn__training_lowers_the_loss) {
    train_setup ts;
    setup_train(&ts, tiny_train(60, 2));
    double l0, a0, l1, a1;
    mean_eval(&ts.g, &ts.sp, &l0, &a0);
    nas_progress_set_enabled(false);
    ck_assert_msg(nas_ghn_train(&ts.g, &ts.tr, &ts.sp, &ts.ds, NULL, 0, NULL, NULL, NULL) == NAS_OK,
                  "%s", nas_errmsg());
    nas_progress_set_enabled(true);
    mean_eval(&ts.g, &ts.sp, &l1, &a1);
    ck_assert_int_eq(ts.tr.step, 60);
    ck_assert_int_eq(ts.tr.skipped, 0);
    ck_assert_int_eq(ts.tr.archs, 60 * 3);
    ck_assert_int_eq(ts.tr.opt.step, 60);
    ck_assert(ts.tr.seconds > 0.0);
    ck_assert_msg(l1 < 0.7 * l0 && a1 > a0 + 0.2, "loss %g -> %g, acc %g -> %g", l0, l1, a0, a1);
    teardown_train(&ts);
}
END_TEST

/* Threads only change the order of float additions in the gradient sum. */
START_TEST(test_ghn__parallel_matches_serial) {
    train_setup a, b;
    setup_train(&a, tiny_train(3, 1));
    setup_train(&b, tiny_train(3, 2));
    nas_progress_set_enabled(false);
    ck_assert_int_eq(nas_ghn_train(&a.g, &a.tr, &a.sp, &a.ds, NULL, 0, NULL, NULL, NULL), NAS_OK);
    ck_assert_int_eq(nas_ghn_train(&b.g, &b.tr, &b.sp, &b.ds, NULL, 0, NULL, NULL, NULL), NAS_OK);
    nas_progress_set_enabled(true);
    double maxd = 0.0, moved = 0.0;
    nas_ghn fresh;
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 4);
    ck_assert_int_eq(nas_ghn_init(&fresh, &c, 5), NAS_OK);
    for (int64_t i = 0; i < a.g.params.numel; i++) {
        maxd = fmax(maxd, fabs((double)a.g.params.data[i] - (double)b.g.params.data[i]));
        moved = fmax(moved, fabs((double)a.g.params.data[i] - (double)fresh.params.data[i]));
    }
    ck_assert_msg(maxd < 1e-4, "serial and parallel differ by %g", maxd);
    ck_assert_msg(moved > 1e-3, "training did not move the parameters (%g)", moved);
    ck_assert_double_eq_tol(a.tr.last_loss, b.tr.last_loss, 1e-4);
    nas_ghn_free(&fresh);
    teardown_train(&a);
    teardown_train(&b);
}
END_TEST

/* The same run on the same thread count is bit-identical (member j always on thread j mod T). */
START_TEST(test_ghn__two_threads_bit_reproducible) {
    train_setup a, b;
    setup_train(&a, tiny_train(4, 2));
    setup_train(&b, tiny_train(4, 2));
    nas_progress_set_enabled(false);
    ck_assert_int_eq(nas_ghn_train(&a.g, &a.tr, &a.sp, &a.ds, NULL, 0, NULL, NULL, NULL), NAS_OK);
    ck_assert_int_eq(nas_ghn_train(&b.g, &b.tr, &b.sp, &b.ds, NULL, 0, NULL, NULL, NULL), NAS_OK);
    nas_progress_set_enabled(true);
    ck_assert_int_eq(memcmp(a.g.params.data, b.g.params.data,
                            (size_t)a.g.params.numel * sizeof *a.g.params.data),
                     0);
    ck_assert(a.tr.last_loss == b.tr.last_loss);
    teardown_train(&a);
    teardown_train(&b);
}
END_TEST

START_TEST(test_ghn__nonfinite_steps_are_skipped_then_stop) {
    train_setup ts;
    nas_ghn_train_config tc = tiny_train(50, 2);
    tc.max_bad_steps = 4;
    setup_train(&ts, tc);
    /* a NaN in the classifier bias head makes every loss NaN */
    ts.g.params.tensors[GHN_P_CLSB_B]->data[0] = NAN;
    nas_progress_set_enabled(false);
    nas_status st = nas_ghn_train(&ts.g, &ts.tr, &ts.sp, &ts.ds, NULL, 0, NULL, NULL, NULL);
    nas_progress_set_enabled(true);
    ck_assert_int_eq(st, NAS_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "5 non-finite steps in a row"));
    ck_assert_int_eq(ts.tr.skipped, 5);
    ck_assert_int_eq(ts.tr.step, 5);
    ck_assert_int_eq(ts.tr.opt.step, 0); /* no update was applied */
    /* repaired: the run continues from step 5 and finishes */
    ts.g.params.tensors[GHN_P_CLSB_B]->data[0] = 0.0f;
    ts.tr.tc.steps = 8;
    nas_progress_set_enabled(false);
    ck_assert_int_eq(nas_ghn_train(&ts.g, &ts.tr, &ts.sp, &ts.ds, NULL, 0, NULL, NULL, NULL),
                     NAS_OK);
    nas_progress_set_enabled(true);
    ck_assert_int_eq(ts.tr.step, 8);
    ck_assert_int_eq(ts.tr.opt.step, 3);
    ck_assert_int_eq(ts.tr.skipped, 5);
    teardown_train(&ts);
}
END_TEST

static bool stop_at_two(const nas_ghn_trainer *tr, double loss, double acc, void *user) {
    (void)acc;
    (void)user;
    ck_assert(isfinite(loss));
    return tr->step < 2;
}

START_TEST(test_ghn__time_limit_callback_and_config_errors) {
    train_setup ts;
    nas_ghn_train_config tc = tiny_train(0, 1);
    tc.time_limit = 0.3;
    setup_train(&ts, tc);
    nas_progress_set_enabled(false);
    ck_assert_int_eq(nas_ghn_train(&ts.g, &ts.tr, &ts.sp, &ts.ds, NULL, 0, NULL, NULL, NULL),
                     NAS_OK);
    ck_assert_int_gt(ts.tr.step, 0);
    ck_assert(ts.tr.seconds >= 0.3);
    /* a callback stops the run */
    ts.tr.tc.time_limit = 0.0;
    ts.tr.tc.steps = 1000;
    ts.tr.step = 0;
    ck_assert_int_eq(nas_ghn_train(&ts.g, &ts.tr, &ts.sp, &ts.ds, NULL, 0, NULL, stop_at_two, NULL),
                     NAS_EINTERRUPTED);
    nas_progress_set_enabled(true);
    ck_assert_int_eq(ts.tr.step, 2);
    /* invalid configurations */
    nas_ghn_train_config bad = tiny_train(0, 1);
    ck_assert_int_eq(nas_ghn_train_config_validate(&bad), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "steps"));
    bad = tiny_train(5, 1);
    bad.optim = NAS_OPTIM_SGD;
    ck_assert_int_eq(nas_ghn_train_config_validate(&bad), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "adam"));
    /* the dataset's classes must fit the GHN */
    nas_dataset ten;
    synthetic(&ten, 20, 9, 1);
    ten.n_classes = 10;
    ck_assert_int_eq(nas_ghn_train(&ts.g, &ts.tr, &ts.sp, &ten, NULL, 0, NULL, NULL, NULL),
                     NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "10 classes"));
    nas_data_free(&ten);
    teardown_train(&ts);
}
END_TEST

static bool bytes_contain(const void *bytes, size_t n, const char *what) {
    const size_t k = strlen(what);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp((const char *)bytes + i, what, k) == 0) {
            return true;
        }
    }
    return false;
}

/* Sampling uniformly over canonical classes: trains, draws other architectures than sampling
 * labelled members (so the weights end elsewhere), survives a checkpoint round trip (and only
 * then writes the "sampling" record), and is refused quickly for spaces too large to enumerate. */
START_TEST(test_ghn__uniform_class_sampling) {
    nas_ghn_train_config tc = tiny_train(3, 1);
    train_setup a, b;
    setup_train(&a, tc);
    tc.uniform_classes = true;
    setup_train(&b, tc);
    nas_progress_set_enabled(false);
    ck_assert_int_eq(nas_ghn_train(&a.g, &a.tr, &a.sp, &a.ds, NULL, 0, NULL, NULL, NULL), NAS_OK);
    ck_assert_msg(nas_ghn_train(&b.g, &b.tr, &b.sp, &b.ds, NULL, 0, NULL, NULL, NULL) == NAS_OK,
                  "%s", nas_errmsg());
    nas_progress_set_enabled(true);
    ck_assert_int_eq(b.tr.step, 3);
    ck_assert_int_eq(b.tr.skipped, 0);
    double maxd = 0.0;
    for (int64_t i = 0; i < a.g.params.numel; i++) {
        maxd = fmax(maxd, fabs((double)a.g.params.data[i] - (double)b.g.params.data[i]));
    }
    ck_assert_msg(maxd > 1e-6, "uniform-class sampling trained on the same archs (%g)", maxd);
    void *bytes = NULL;
    size_t n = 0;
    ck_assert_int_eq(nas_ghn_save_mem(&a.g, &a.tr, &bytes, &n), NAS_OK);
    ck_assert(!bytes_contain(bytes, n, "sampling"));
    nas_free(bytes);
    ck_assert_int_eq(nas_ghn_save_mem(&b.g, &b.tr, &bytes, &n), NAS_OK);
    ck_assert(bytes_contain(bytes, n, "sampling"));
    nas_ghn g;
    nas_ghn_trainer tr;
    ck_assert_int_eq(nas_ghn_load_mem(&g, &tr, NULL, bytes, n, "uniform", &b.g.cfg), NAS_OK);
    ck_assert(tr.tc.uniform_classes);
    ck_assert_int_eq(tr.step, 3);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
    nas_free(bytes);
    /* darts has ~1e18 members: refused before any enumeration */
    nas_space darts = load_space("darts");
    nas_progress_set_enabled(false);
    nas_status st = nas_ghn_train(&b.g, &b.tr, &darts, &b.ds, NULL, 0, NULL, NULL, NULL);
    nas_progress_set_enabled(true);
    ck_assert_int_eq(st, NAS_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "uniformly over classes"));
    teardown_train(&a);
    teardown_train(&b);
}
END_TEST

START_TEST(test_ghn__holdout_partition) {
    nas_space sp = load_space("nb201");
    nas_rng rng;
    nas_rng_seed(&rng, 3);
    int held = 0;
    char text[NAS_ARCH_STR_MAX];
    for (int i = 0; i < 2000; i++) {
        nas_arch a;
        ck_assert_int_eq(nas_arch_sample(&sp, &rng, &a), NAS_OK);
        ck_assert_int_eq(nas_arch_encode(&sp, &a, text, sizeof text), NAS_OK);
        bool h = nas_ghn_arch_held_out(text, 10);
        ck_assert(h == nas_ghn_arch_held_out(text, 10));
        ck_assert(!nas_ghn_arch_held_out(text, 0));
        held += h;
    }
    ck_assert_msg(held > 120 && held < 280, "%d of 2000 held out with mod 10", held);
}
END_TEST

/* ---- checkpoints ---------------------------------------------------------------------------- */

static void tmp_path(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/ghnas_test_ghn_%d_%s.ckpt", (int)getpid(), tag);
}

static void read_all(const char *path, unsigned char **data, long *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc((size_t)*n);
    ck_assert_int_eq(fread(*data, 1, (size_t)*n, f), (size_t)*n);
    fclose(f);
}

static void write_all(const char *path, const unsigned char *data, long n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
}

START_TEST(test_ghn__checkpoint_round_trip) {
    train_setup ts;
    setup_train(&ts, tiny_train(3, 1));
    nas_progress_set_enabled(false);
    ck_assert_int_eq(nas_ghn_train(&ts.g, &ts.tr, &ts.sp, &ts.ds, NULL, 0, NULL, NULL, NULL),
                     NAS_OK);
    nas_progress_set_enabled(true);
    snprintf(ts.tr.data.space, sizeof ts.tr.data.space, "nb201");
    /* issue 16: a canonical spec longer than the old 32-byte field, and the data fingerprint */
    snprintf(ts.tr.data.dataset, sizeof ts.tr.data.dataset,
             "folder:/home/someone/pictures/of/the/garden/birds@24x24");
    snprintf(ts.tr.data.fingerprint, sizeof ts.tr.data.fingerprint, "0123456789abcdef");
    ts.tr.data.n_val = 123;
    ts.tr.data.split_seed = 99;
    ts.tr.data.norm.c = 1;
    ts.tr.data.norm.mean[0] = 0.25f;
    ts.tr.data.norm.std[0] = 0.5f;
    char path[256];
    tmp_path(path, sizeof path, "rt");
    ck_assert_int_eq(nas_ghn_save(&ts.g, &ts.tr, path), NAS_OK);
    nas_ghn g2;
    nas_ghn_trainer tr2;
    nas_ghn_data_info info;
    ck_assert_msg(nas_ghn_load(&g2, &tr2, &info, path) == NAS_OK, "%s", nas_errmsg());
    char why[128];
    ck_assert(!nas_ghn_config_diff(&ts.g.cfg, &g2.cfg, "a", "b", why, sizeof why));
    ck_assert_int_eq(g2.params.numel, ts.g.params.numel);
    ck_assert_int_eq(
        memcmp(g2.params.data, ts.g.params.data, (size_t)g2.params.numel * sizeof(float)), 0);
    ck_assert_int_eq(g2.n_seen, ts.g.n_seen);
    ck_assert_int_eq(memcmp(g2.seen, ts.g.seen, (size_t)g2.n_seen), 0);
    int marked = 0;
    for (int64_t i = 0; i < g2.n_seen; i++) {
        marked += g2.seen[i];
    }
    ck_assert_int_gt(marked, 0); /* training marked the rows it used */
    ck_assert_int_eq(tr2.step, 3);
    ck_assert_int_eq(tr2.archs, 9);
    ck_assert_int_eq(tr2.opt.step, ts.tr.opt.step);
    ck_assert_int_eq(tr2.opt.state_numel, ts.tr.opt.state_numel);
    ck_assert_int_eq(
        memcmp(tr2.opt.state, ts.tr.opt.state, (size_t)tr2.opt.state_numel * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(&tr2.tc, &ts.tr.tc, sizeof tr2.tc), 0);
    ck_assert_str_eq(info.space, "nb201");
    ck_assert_str_eq(info.dataset, "folder:/home/someone/pictures/of/the/garden/birds@24x24");
    ck_assert_str_eq(info.fingerprint, "0123456789abcdef");
    ck_assert_str_eq(tr2.data.fingerprint, "0123456789abcdef");
    ck_assert_int_eq(info.n_val, 123);
    ck_assert_uint_eq(info.split_seed, 99);
    ck_assert(info.norm.mean[0] == 0.25f && info.norm.std[0] == 0.5f);
    ck_assert_double_eq(tr2.seconds, ts.tr.seconds);
    /* weights only: loads without a trainer, refuses to resume */
    nas_ghn g3;
    nas_ghn_trainer tr3;
    ck_assert_int_eq(nas_ghn_save(&ts.g, NULL, path), NAS_OK);
    ck_assert_int_eq(nas_ghn_load(&g3, NULL, NULL, path), NAS_OK);
    nas_ghn_free(&g3);
    ck_assert_int_eq(nas_ghn_load(&g3, &tr3, NULL, path), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "weights only"));
    remove(path);
    nas_ghn_trainer_free(&tr2);
    nas_ghn_free(&g2);
    teardown_train(&ts);
}
END_TEST

/* Train 4 steps in one go, or stop after 2 + save + load + 2 more: the same parameters and
 * optimizer state (one thread, so the gradient sums add in the same order). */
START_TEST(test_ghn__resume_continues_exactly) {
    train_setup a, b;
    setup_train(&a, tiny_train(4, 1));
    setup_train(&b, tiny_train(4, 1));
    nas_progress_set_enabled(false);
    ck_assert_int_eq(nas_ghn_train(&a.g, &a.tr, &a.sp, &a.ds, NULL, 0, NULL, NULL, NULL), NAS_OK);
    /* interrupted after 2 of the 4 steps */
    ck_assert_int_eq(nas_ghn_train(&b.g, &b.tr, &b.sp, &b.ds, NULL, 0, NULL, stop_at_two, NULL),
                     NAS_EINTERRUPTED);
    ck_assert_int_eq(b.tr.step, 2);
    char path[256];
    tmp_path(path, sizeof path, "resume");
    ck_assert_int_eq(nas_ghn_save(&b.g, &b.tr, path), NAS_OK);
    nas_ghn g;
    nas_ghn_trainer tr;
    ck_assert_int_eq(nas_ghn_load(&g, &tr, NULL, path), NAS_OK);
    ck_assert_int_eq(nas_ghn_train(&g, &tr, &b.sp, &b.ds, NULL, 0, NULL, NULL, NULL), NAS_OK);
    nas_progress_set_enabled(true);
    ck_assert_int_eq(tr.step, 4);
    ck_assert_int_eq(memcmp(g.params.data, a.g.params.data, (size_t)g.params.numel * sizeof(float)),
                     0);
    ck_assert_int_eq(
        memcmp(tr.opt.state, a.tr.opt.state, (size_t)tr.opt.state_numel * sizeof(float)), 0);
    remove(path);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
    teardown_train(&a);
    teardown_train(&b);
}
END_TEST

START_TEST(test_ghn__checkpoint_refusals) {
    train_setup ts;
    setup_train(&ts, tiny_train(1, 1));
    char path[256], bad[256];
    tmp_path(path, sizeof path, "ok");
    tmp_path(bad, sizeof bad, "bad");
    ck_assert_int_eq(nas_ghn_save(&ts.g, &ts.tr, path), NAS_OK);
    unsigned char *data;
    long n;
    read_all(path, &data, &n);
    nas_ghn g;
    nas_ghn_trainer tr;

    /* foreign file */
    write_all(bad, (const unsigned char *)"{\"not\": \"a checkpoint\"}\n", 24);
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, bad), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "not a ghnas GHN checkpoint"));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), bad));
    /* truncated: header only, then half the file */
    write_all(bad, data, 20);
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, bad), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "truncated"));
    write_all(bad, data, n / 2);
    ck_assert_int_eq(nas_ghn_load(&g, &tr, NULL, bad), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "truncated"));
    /* one flipped bit in the tensors */
    data[n / 2] ^= 0x10;
    write_all(bad, data, n);
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, bad), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "corrupted"));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "CRC"));
    data[n / 2] ^= 0x10;
    /* a future format version */
    data[8] = 99;
    write_all(bad, data, n);
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, bad), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "version 99"));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "newer ghnas"));
    /* an older format version */
    data[8] = 1;
    write_all(bad, data, n);
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, bad), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "older ghnas: train the GHN again"));
    data[8] = NAS_GHN_CKPT_VERSION;
    /* trailing bytes */
    unsigned char *longer = malloc((size_t)n + 3);
    memcpy(longer, data, (size_t)n);
    memset(longer + n, 0, 3);
    write_all(bad, longer, n + 3);
    free(longer);
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, bad), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "corrupted"));
    /* missing file */
    remove(bad);
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, bad), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), bad));
    /* mismatched configuration, named */
    nas_ghn_config want = ts.g.cfg;
    want.hid = 12;
    ck_assert_int_eq(nas_ghn_load_expect(&g, &tr, NULL, path, &want), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "hid: checkpoint 8, requested 12"));
    want = ts.g.cfg;
    want.decoder = NAS_GHN_DECODER_TILE;
    ck_assert_int_eq(nas_ghn_load_expect(&g, NULL, NULL, path, &want), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "decoder: checkpoint chunk, requested tile"));
    /* the untouched file still loads with its own config expected */
    ck_assert_int_eq(nas_ghn_load_expect(&g, &tr, NULL, path, &ts.g.cfg), NAS_OK);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
    /* unwritable destination */
    ck_assert_int_eq(nas_ghn_save(&ts.g, NULL, "/nonexistent-dir/x.ckpt"), NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "/nonexistent-dir/x.ckpt"));
    free(data);
    remove(path);
    teardown_train(&ts);
}
END_TEST

/* A checkpoint written by the GHN writer of ghnas 802109c (format version 2, before the
 * container; tests/data/legacy_ghn_v2.ckpt, made by gen_legacy_ghn.c beside it) still loads, with
 * its trainer, and converts to the current format unchanged. */
START_TEST(test_ghn__checkpoint_reads_version_2) {
    const char *path = GHNAS_TEST_DATA_DIR "/legacy_ghn_v2.ckpt";
    nas_ghn g, ref;
    nas_ghn_trainer tr;
    nas_ghn_data_info info;
    ck_assert_msg(nas_ghn_load(&g, &tr, &info, path) == NAS_OK, "%s", nas_errmsg());
    nas_ghn_config c = tiny_config(NAS_GHN_DECODER_CHUNK, 4);
    char why[128];
    ck_assert(!nas_ghn_config_diff(&g.cfg, &c, "file", "tiny", why, sizeof why));
    ck_assert_int_eq(nas_ghn_init(&ref, &c, 5), NAS_OK); /* what the generator saved */
    ck_assert_int_eq(g.params.numel, ref.params.numel);
    ck_assert_int_eq(memcmp(g.params.data, ref.params.data, (size_t)g.params.numel * sizeof(float)),
                     0);
    for (int64_t i = 0; i < g.n_seen; i++) {
        ck_assert_int_eq(g.seen[i], i % 3 == 0);
    }
    ck_assert_str_eq(info.space, "nb201");
    ck_assert_str_eq(info.dataset, "synthetic");
    ck_assert_str_eq(info.fingerprint, ""); /* made before fingerprints: unknown */
    ck_assert(info.n_val == 123 && info.split_seed == 99 && info.eval_batch == 50);
    ck_assert(info.norm.mean[0] == 0.25f && info.norm.std[0] == 0.5f && info.in_h == 8);
    ck_assert(tr.step == 3 && tr.skipped == 1 && tr.archs == 9 && tr.opt.step == 2);
    ck_assert(tr.seconds == 1.5 && tr.last_loss == 1.25 && tr.last_acc == 0.375);
    ck_assert(tr.tc.meta_batch == 3 && tr.tc.batch_size == 16 && tr.tc.seed == 7);
    for (int64_t i = 0; i < tr.opt.state_numel; i++) {
        ck_assert(tr.opt.state[i] == (float)(i % 17) * 0.125f);
    }
    /* re-saved in the current format: the same model and trainer */
    void *bytes;
    size_t n;
    ck_assert_int_eq(nas_ghn_save_mem(&g, &tr, &bytes, &n), NAS_OK);
    ck_assert_int_eq(memcmp(bytes, "GHNASGHN", 8), 0);
    ck_assert_int_eq(((unsigned char *)bytes)[8], NAS_GHN_CKPT_VERSION);
    nas_ghn g2;
    nas_ghn_trainer tr2;
    ck_assert_int_eq(nas_ghn_load_mem(&g2, &tr2, NULL, bytes, n, "re-saved", NULL), NAS_OK);
    ck_assert_int_eq(memcmp(g2.params.data, g.params.data, (size_t)g.params.numel * sizeof(float)),
                     0);
    ck_assert_int_eq(memcmp(g2.seen, g.seen, (size_t)g.n_seen), 0);
    ck_assert_int_eq(memcmp(&tr2.tc, &tr.tc, sizeof tr.tc), 0);
    ck_assert_int_eq(memcmp(&tr2.data, &tr.data, sizeof tr.data), 0);
    ck_assert(tr2.step == tr.step && tr2.opt.step == tr.opt.step);
    ck_assert_int_eq(
        memcmp(tr2.opt.state, tr.opt.state, (size_t)tr.opt.state_numel * sizeof(float)), 0);
    nas_free(bytes);
    nas_ghn_trainer_free(&tr2);
    nas_ghn_free(&g2);
    /* the old layout's refusals: truncated, corrupted */
    unsigned char *data;
    long len;
    read_all(path, &data, &len);
    ck_assert_int_eq(nas_ghn_load_mem(&g2, NULL, NULL, data, (size_t)len / 2, "old", NULL),
                     NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "old: truncated checkpoint"));
    data[len / 2] ^= 0x10;
    ck_assert_int_eq(nas_ghn_load_mem(&g2, NULL, NULL, data, (size_t)len, "old", NULL),
                     NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "old: corrupted checkpoint (CRC-32"));
    free(data);
    nas_ghn_free(&ref);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
}
END_TEST

/* In memory: the bytes of nas_ghn_save_mem are the file's; other kinds of checkpoint and
 * missing sections are refused by name. */
START_TEST(test_ghn__checkpoint_in_memory) {
    train_setup ts;
    setup_train(&ts, tiny_train(1, 1));
    char path[256];
    tmp_path(path, sizeof path, "mem");
    ck_assert_int_eq(nas_ghn_save(&ts.g, &ts.tr, path), NAS_OK);
    unsigned char *file;
    long len;
    read_all(path, &file, &len);
    void *bytes;
    size_t n;
    ck_assert_int_eq(nas_ghn_save_mem(&ts.g, &ts.tr, &bytes, &n), NAS_OK);
    ck_assert_int_eq((long)n, len);
    ck_assert_int_eq(memcmp(bytes, file, n), 0);
    nas_ghn g;
    nas_ghn_trainer tr;
    ck_assert_int_eq(nas_ghn_load_mem(&g, &tr, NULL, bytes, n, "GHN 1 of the store", &ts.g.cfg),
                     NAS_OK);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
    /* a trained-net checkpoint (another kind of the same container) */
    nas_ckpt_kind net = {{'N', 'E', 'T', '\0'}, "trained-net", 1, "train it again"};
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &net);
    void *other;
    size_t n_other;
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &other, &n_other), NAS_OK);
    ck_assert_int_eq(nas_ghn_load_mem(&g, NULL, NULL, other, n_other, "GHN 1 of the store", NULL),
                     NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "GHN 1 of the store: not a ghnas GHN checkpoint"));
    nas_free(other);
    /* a GHN container without its tensors */
    nas_ckpt_kind ghn = {{'G', 'H', 'N', '\0'}, "GHN", NAS_GHN_CKPT_VERSION, NULL};
    nas_ckpt_reader r;
    ck_assert_int_eq(nas_ckpt_open(&r, bytes, n, &ghn, "x"), NAS_OK);
    const nas_ckpt_section *cfg;
    ck_assert_int_eq(nas_ckpt_find(&r, "config", NAS_CKPT_RECORD, &cfg), NAS_OK);
    nas_ckpt_writer_init(&w, &ghn);
    nas_ckpt_record_begin(&w, "config");
    nas_ckpt_cursor c = nas_ckpt_cursor_of(cfg);
    for (int i = 0; i < 13; i++) {
        nas_ckpt_put_i32(&w, nas_ckpt_get_i32(&c));
    }
    nas_ckpt_record_end(&w);
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &other, &n_other), NAS_OK);
    ck_assert_int_eq(nas_ghn_load_mem(&g, NULL, NULL, other, n_other, "bare", NULL), NAS_EFORMAT);
    /* refused before the model is built: its parameters cannot be in so few bytes (issue 15) */
    ck_assert_ptr_nonnull(
        strstr(nas_errmsg(), "bare: the checkpoint's GHN configuration declares"));
    nas_free(other);
    nas_ckpt_reader_free(&r);
    /* weights only, from memory */
    nas_free(bytes);
    ck_assert_int_eq(nas_ghn_save_mem(&ts.g, NULL, &bytes, &n), NAS_OK);
    ck_assert_int_eq(nas_ghn_load_mem(&g, &tr, NULL, bytes, n, "w", NULL), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "weights only"));
    nas_free(bytes);
    free(file);
    remove(path);
    teardown_train(&ts);
}
END_TEST

Suite *nas_test_ghn_suite(void) {
    Suite *s = suite_create("ghn");
    TCase *tc = tcase_create("features");
    tcase_add_test(tc, test_ghn__vocab_nearest_size);
    tcase_add_test(tc, test_ghn__node_types_and_shapes);
    tcase_add_test(tc, test_ghn__config_validate_and_diff);
    tcase_add_test(tc, test_ghn__levels_and_messages);
    tcase_add_test(tc, test_ghn__embed_in_node_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("shapes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ghn__every_slot_gets_its_shape);
    tcase_add_test(tc, test_ghn__chunk_tiles_differ_tile_repeats);
    tcase_add_test(tc, test_ghn__normalised_ranges);
    tcase_add_test(tc, test_ghn__untrained_rows_use_trained_stand_ins);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradcheck");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_ghn__gradcheck_nb201);
    tcase_add_test(tc, test_ghn__gradcheck_nb101);
    tcase_add_test(tc, test_ghn__gradcheck_darts);
    tcase_add_test(tc, test_ghn__gradcheck_macro);
    suite_add_tcase(s, tc);
    tc = tcase_create("predict");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ghn__view_gradients_match);
    tcase_add_test(tc, test_ghn__evaluate_and_predict_model);
    tcase_add_test(tc, test_ghn__input_shapes_and_classes_follow_the_data);
    tcase_add_test(tc, test_ghn__evaluate_bn_recalibrated);
    tcase_add_test(tc, test_ghn__evaluate_workspace_reuse);
    suite_add_tcase(s, tc);
    tc = tcase_create("train");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_ghn__training_lowers_the_loss);
    tcase_add_test(tc, test_ghn__parallel_matches_serial);
    tcase_add_test(tc, test_ghn__two_threads_bit_reproducible);
    tcase_add_test(tc, test_ghn__nonfinite_steps_are_skipped_then_stop);
    tcase_add_test(tc, test_ghn__time_limit_callback_and_config_errors);
    tcase_add_test(tc, test_ghn__holdout_partition);
    tcase_add_test(tc, test_ghn__uniform_class_sampling);
    suite_add_tcase(s, tc);
    tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ghn__checkpoint_round_trip);
    tcase_add_test(tc, test_ghn__resume_continues_exactly);
    tcase_add_test(tc, test_ghn__checkpoint_refusals);
    tcase_add_test(tc, test_ghn__checkpoint_reads_version_2);
    tcase_add_test(tc, test_ghn__checkpoint_in_memory);
    suite_add_tcase(s, tc);
    return s;
}
