/*
 * Tests for src/net: the compiled IR against PyTorch twins (tests/data/gen_golden_net.py ->
 * golden_net_<space>.bin: parameter counts and shapes, multiply-accumulates, logits in batch and
 * running-statistics mode, loss, input and weight gradients) for NB201, NB101, DARTS and macro
 * archs, with owned weights and with weights supplied as tape values made by other ops; random
 * members of every space compiled and run (shapes, finite loss, backward both ways); the NB201
 * benchmark net's parameter count and FLOPs; topological order, adjacency, levels and igraph
 * distances; training through nas_train and the one loop nas_train_run (hooks, stop flag,
 * epoch-seeded resume bit-identical), evaluate's trainer resuming from its container checkpoints
 * and from the GHNASEV1 ones of earlier builds; text/DOT/GraphML export; and error messages.
 */
#include "test_suites.h"

#include "eval/eval-impl.h"
#include "ghnas/container.h"
#include "ghnas/net.h"
#include "ghnas/train.h"
#include "golden.h"
#include "space/space-impl.h"

#include <igraph.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN(space) GHNAS_TEST_DATA_DIR "/golden_net_" space ".bin"

#define NB201_BENCH                                                                                \
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"             \
    "nor_conv_1x1~2|"

/* ---- helpers -------------------------------------------------------------------------------- */

static nas_space load_space(const char *name) {
    nas_space sp;
    ck_assert_msg(nas_space_load(&sp, name) == NAS_OK, "loading %s: %s", name, nas_errmsg());
    return sp;
}

static nas_arch decode(const nas_space *sp, const char *text) {
    nas_arch a;
    ck_assert_msg(nas_arch_decode(sp, text, &a) == NAS_OK, "decoding %s: %s", text, nas_errmsg());
    return a;
}

static nas_net_config config(int C, int N, int in_c, int in_h, int in_w, int classes) {
    nas_net_config c = nas_net_config_default();
    c.C = C;
    c.N = N;
    c.in_c = in_c;
    c.in_h = in_h;
    c.in_w = in_w;
    c.classes = classes;
    return c;
}

static void compile_ok(nas_net *net, const char *space, const char *arch, nas_net_config cfg) {
    nas_space sp = load_space(space);
    nas_arch a = decode(&sp, arch);
    nas_status st = nas_net_compile(net, &sp, &a, &cfg);
    ck_assert_msg(st == NAS_OK, "compiling %s %s: %s", space, arch, nas_errmsg());
}

static const golden_rec *rec(const golden_file *g, const char *c, const char *what) {
    char key[160];
    snprintf(key, sizeof key, "%s%s", c, what);
    const golden_rec *r = golden_get(g, key);
    ck_assert_msg(r != NULL, "golden record %s missing", key);
    return r;
}

static int64_t rec_split(const golden_rec *r) {
    ck_assert_int_eq(r->numel, 2);
    return (int64_t)r->data[0] * (1 << 20) + (int64_t)r->data[1];
}

static double max_abs(const float *v, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        m = fabs((double)v[i]) > m ? fabs((double)v[i]) : m;
    }
    return m;
}

/* Compare a weight gradient with its golden record (full or summary). Returns mismatches. */
static int check_grad(const golden_file *g, const char *c, const nas_net_slot *sl,
                      const float *got) {
    char key[160];
    snprintf(key, sizeof key, "%s/%s.grad", c, sl->name);
    const golden_rec *full = golden_get(g, key);
    if (full) {
        ck_assert_msg(full->numel == sl->numel, "%s: %lld values, slot has %lld", key,
                      (long long)full->numel, (long long)sl->numel);
        for (int d = 0; d < full->ndim; d++) {
            ck_assert_msg(full->shape[d] == sl->shape[d], "%s: dim %d is %lld, slot has %lld", key,
                          d, (long long)full->shape[d], (long long)sl->shape[d]);
        }
        ck_assert_int_eq(full->ndim, sl->ndim);
        double atol = 2e-3 * max_abs(full->data, full->numel) + 1e-6;
        return golden_compare(key, got, full->data, sl->numel, atol, 2e-3);
    }
    snprintf(key, sizeof key, "%s/%s.gsum", c, sl->name);
    const golden_rec *sum = golden_get(g, key);
    ck_assert_msg(sum != NULL, "no golden gradient for slot %s", sl->name);
    snprintf(key, sizeof key, "%s/%s.shape", c, sl->name);
    const golden_rec *shape = golden_get(g, key);
    ck_assert_ptr_nonnull(shape);
    ck_assert_int_eq(shape->numel, sl->ndim);
    for (int d = 0; d < sl->ndim; d++) {
        ck_assert_msg((int64_t)shape->data[d] == sl->shape[d], "%s: dim %d differs", key, d);
    }
    float *probe = malloc((size_t)sl->numel * sizeof *probe);
    ck_assert_ptr_nonnull(probe);
    char pname[NAS_NET_SLOT_MAX + 8];
    snprintf(pname, sizeof pname, "%s#probe", sl->name);
    golden_det_u(pname, sl->numel, probe);
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    for (int64_t i = 0; i < sl->numel; i++) {
        double v = (double)got[i];
        s[0] += v;
        s[1] += fabs(v);
        s[2] += v * (double)probe[i];
        s[3] = fabs(v) > s[3] ? fabs(v) : s[3];
    }
    free(probe);
    float sf[4] = {(float)s[0], (float)s[1], (float)s[2], (float)s[3]};
    snprintf(key, sizeof key, "%s/%s.gsum", c, sl->name);
    return golden_compare(key, sf, sum->data, 4, 2e-3 * (double)sum->data[1] + 1e-6, 2e-3);
}

typedef struct gcase {
    const char *name, *space, *arch;
    int C, N, in_c, in_h, in_w, classes;
} gcase;

#define DARTS_V2                                                                                   \
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "             \
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "         \
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "              \
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "         \
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
#define DARTS_B                                                                                    \
    "Genotype(normal=[('sep_conv_5x5', 1), ('avg_pool_3x3', 0), ('dil_conv_5x5', 2), "             \
    "('skip_connect', 0), ('max_pool_3x3', 1), ('dil_conv_3x3', 3), ('sep_conv_3x3', 4), "         \
    "('avg_pool_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('skip_connect', 0), "              \
    "('avg_pool_3x3', 1), ('dil_conv_5x5', 2), ('sep_conv_5x5', 0), ('skip_connect', 1), "         \
    "('dil_conv_3x3', 3), ('sep_conv_3x3', 4), ('max_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"

static const gcase golden_cases[] = {
    {"nb201_bench", "nb201", NB201_BENCH, 4, 1, 1, 12, 12, 10},
    {"nb201_zero", "nb201",
     "|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|", 4, 1, 1, 12,
     12, 10},
    {"nb201_c", "nb201",
     "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|skip_connect~2|", 6,
     2, 3, 16, 16, 7},
    {"nb101_a", "nb101",
     "10101.1110.001.01.1|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu", 8, 1, 1, 12,
     12, 10},
    {"nb101_b", "nb101",
     "111010.00001.0001.100.01.1|conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,"
     "maxpool3x3",
     6, 1, 1, 12, 12, 10},
    {"darts_v2", "darts", DARTS_V2, 4, 1, 1, 12, 12, 10},
    {"darts_b", "darts", DARTS_B, 4, 1, 1, 16, 16, 10},
    {"macro_a", "macro", "d1-w16-k3-e1|d1-w24-k5-e3|d1-w48-k3-e3|d1-w64-k3-e3", 0, 0, 1, 12, 12,
     10},
    {"macro_b", "macro", "d2-w24-k7-e6|d1-w32-k3-e4|d2-w48-k5-e3|d2-w64-k7-e3", 0, 0, 1, 12, 12,
     10},
};
#define N_GOLDEN (int)(sizeof golden_cases / sizeof golden_cases[0])

/*
 * Run one golden case. supplied = false: the owned model's parameters hold the weights.
 * supplied = true: every slot's tensor is made by ops from a leaf holding 2*w (a scale by 0.5,
 * after a reshape from a flat leaf for 4-D weights), and the leaves' gradients (x2) are compared.
 */
static void run_golden(const golden_file *g, const gcase *gc, bool supplied) {
    nas_net net;
    compile_ok(&net, gc->space, gc->arch,
               config(gc->C, gc->N, gc->in_c, gc->in_h, gc->in_w, gc->classes));
    const char *c = gc->name;
    ck_assert_msg(net.n_params == (int64_t)rec(g, c, ".params")->data[0],
                  "%s: %lld params, PyTorch %lld", c, (long long)net.n_params,
                  (long long)rec(g, c, ".params")->data[0]);
    ck_assert_int_eq(net.n_slots, (int)rec(g, c, ".nslots")->data[0]);
    ck_assert_msg(net.macs == rec_split(rec(g, c, ".macs")), "%s: %lld MACs, PyTorch %lld", c,
                  (long long)net.macs, (long long)rec_split(rec(g, c, ".macs")));
    ck_assert_int_eq(net.flops, 2 * net.macs);

    nas_rng rng;
    nas_rng_seed(&rng, 7);
    nas_net_model m;
    ck_assert_int_eq(nas_net_model_init(&m, &net, NAS_NET_INIT_TORCH, &rng), NAS_OK);
    for (int s = 0; s < net.n_slots; s++) {
        golden_det_slot(&net.slots[s], m.params.tensors[s]->data);
    }
    nas_tape t;
    ck_assert_int_eq(nas_tape_init(&t), NAS_OK);
    const golden_rec *xr = rec(g, c, ".x");
    nas_tensor *x = nas_tensor_from(&t, xr->ndim, xr->shape, xr->data);
    ck_assert_int_eq(nas_tensor_require_grad(&t, x), NAS_OK);
    nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
    nas_tensor **leaf = calloc((size_t)net.n_slots, sizeof *leaf);
    ck_assert(w && leaf);
    for (int s = 0; s < net.n_slots; s++) {
        const nas_net_slot *sl = &net.slots[s];
        if (!supplied) {
            w[s] = m.params.tensors[s];
            continue;
        }
        int64_t flat = sl->numel;
        leaf[s] =
            sl->ndim == 4 ? nas_tensor_new(&t, 1, &flat) : nas_tensor_new(&t, sl->ndim, sl->shape);
        ck_assert_ptr_nonnull(leaf[s]);
        for (int64_t i = 0; i < sl->numel; i++) {
            leaf[s]->data[i] = 2.0f * m.params.tensors[s]->data[i];
        }
        ck_assert_int_eq(nas_tensor_require_grad(&t, leaf[s]), NAS_OK);
        nas_tensor *h = sl->ndim == 4 ? nas_reshape(&t, leaf[s], 4, sl->shape) : leaf[s];
        w[s] = nas_scale(&t, h, 0.5f);
    }
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    nas_net_run run = nas_net_run_defaults();
    run.running = m.running;
    nas_tensor *logits = nas_net_forward(&t, &net, w, &run, x);
    const golden_rec *lr = rec(g, c, ".labels");
    int32_t labels[16];
    ck_assert_int_le(lr->numel, 16);
    for (int64_t i = 0; i < lr->numel; i++) {
        labels[i] = (int32_t)lr->data[i];
    }
    nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, labels, 0.0f);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s: %s", c, nas_errmsg());
    char what[96];
    const golden_rec *want = rec(g, c, ".logits");
    ck_assert_int_eq(logits->numel, want->numel);
    snprintf(what, sizeof what, "%s logits", c);
    ck_assert_int_eq(golden_compare(what, logits->data, want->data, want->numel, 2e-4, 2e-3), 0);
    snprintf(what, sizeof what, "%s loss", c);
    ck_assert_int_eq(golden_compare(what, loss->data, rec(g, c, ".loss")->data, 1, 1e-5, 1e-4), 0);
    nas_params_zero_grad(&m.params);
    ck_assert_msg(nas_tape_backward(&t, loss) == NAS_OK, "%s", nas_errmsg());
    const golden_rec *dx = rec(g, c, ".dx");
    snprintf(what, sizeof what, "%s dx", c);
    ck_assert_int_eq(golden_compare(what, x->grad, dx->data, dx->numel,
                                    2e-3 * max_abs(dx->data, dx->numel), 2e-3),
                     0);
    int bad = 0;
    for (int s = 0; s < net.n_slots; s++) {
        const nas_net_slot *sl = &net.slots[s];
        float *got = supplied ? leaf[s]->grad : m.params.tensors[s]->grad;
        ck_assert_msg(got != NULL, "%s: no gradient reached slot %s", c, sl->name);
        float *g2 = NULL;
        if (supplied) { /* d loss / d leaf = 0.5 d loss / d w */
            g2 = malloc((size_t)sl->numel * sizeof *g2);
            ck_assert_ptr_nonnull(g2);
            for (int64_t i = 0; i < sl->numel; i++) {
                g2[i] = 2.0f * got[i];
            }
            got = g2;
        }
        bad += check_grad(g, c, sl, got) != 0;
        free(g2);
    }
    ck_assert_msg(bad == 0, "%s: %d weight gradients differ from PyTorch", c, bad);
    /* running statistics were updated by the batch-mode pass: evaluation mode */
    nas_tape_reset(&t);
    nas_tape_set_record(&t, false);
    x = nas_tensor_from(&t, xr->ndim, xr->shape, xr->data);
    run.bn_mode = NAS_BN_RUNNING_STATS;
    if (supplied) {
        nas_tensor **pw = m.params.tensors;
        logits = nas_net_forward(&t, &net, pw, &run, x);
    } else {
        logits = nas_net_model_forward(&m, &t, x, NAS_BN_RUNNING_STATS);
    }
    ck_assert_msg(logits != NULL, "%s", nas_errmsg());
    want = rec(g, c, ".logits_eval");
    snprintf(what, sizeof what, "%s eval logits", c);
    ck_assert_int_eq(golden_compare(what, logits->data, want->data, want->numel, 2e-4, 2e-3), 0);
    free(w);
    free(leaf);
    nas_tape_free(&t);
    nas_net_model_free(&m);
    nas_net_free(&net);
}

static void run_golden_space(const char *space, const char *path, bool supplied) {
    golden_file g;
    ck_assert_msg(golden_load(&g, path) == NAS_OK, "%s", nas_errmsg());
    int n = 0;
    for (int i = 0; i < N_GOLDEN; i++) {
        if (strcmp(golden_cases[i].space, space) == 0) {
            run_golden(&g, &golden_cases[i], supplied);
            n++;
        }
    }
    ck_assert_int_ge(n, 2);
    golden_free(&g);
}

/* ---- golden tests --------------------------------------------------------------------------- */

START_TEST(test_net__nb201_matches_pytorch) {
    run_golden_space("nb201", GOLDEN("nb201"), false);
}
END_TEST

START_TEST(test_net__nb101_matches_pytorch) {
    run_golden_space("nb101", GOLDEN("nb101"), false);
}
END_TEST

START_TEST(test_net__darts_matches_pytorch) {
    run_golden_space("darts", GOLDEN("darts"), false);
}
END_TEST

START_TEST(test_net__macro_matches_pytorch) {
    run_golden_space("macro", GOLDEN("macro"), false);
}
END_TEST

/* Weights made by other ops (reshape + scale of leaves): the gradients reach the leaves. */
START_TEST(test_net__supplied_weights_get_gradients) {
    run_golden_space("nb201", GOLDEN("nb201"), true);
    run_golden_space("darts", GOLDEN("darts"), true);
}
END_TEST

/* ---- structure ------------------------------------------------------------------------------ */

/* Invariants of a compiled net: order, adjacency, levels, slots, totals, unique names. */
static void check_structure(const nas_net *net) {
    ck_assert_int_ge(net->n_nodes, 3);
    ck_assert_int_eq(net->nodes[0].op, NAS_NET_INPUT);
    ck_assert_int_eq(net->output, net->n_nodes - 1);
    ck_assert_int_eq(net->nodes[net->output].op, NAS_NET_LINEAR);
    int edges = 0, slots = 0, max_level = 0;
    int64_t params = 0, macs = 0, running = 0;
    int *outs = calloc((size_t)net->n_nodes, sizeof *outs);
    ck_assert_ptr_nonnull(outs);
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        ck_assert_msg(n->op == NAS_NET_INPUT ? n->n_in == 0 : n->n_in >= 1, "%s inputs", n->name);
        int level = 0;
        for (int i = 0; i < n->n_in; i++) {
            int u = n->in[i];
            ck_assert_msg(u >= 0 && u < v, "node %d (%s) has input %d: not topological", v, n->name,
                          u);
            level = net->nodes[u].level + 1 > level ? net->nodes[u].level + 1 : level;
            outs[u]++;
            /* v appears in u's out list as often as u in v's in list */
            int a = 0, b = 0;
            for (int k = 0; k < net->nodes[u].n_out; k++) {
                a += net->nodes[u].out[k] == v;
            }
            for (int k = 0; k < n->n_in; k++) {
                b += n->in[k] == u;
            }
            ck_assert_int_eq(a, b);
        }
        for (int k = 1; k < n->n_out; k++) {
            ck_assert_int_le(n->out[k - 1], n->out[k]);
        }
        ck_assert_int_eq(n->level, level);
        max_level = level > max_level ? level : max_level;
        edges += n->n_in;
        if (n->op == NAS_NET_SUM || n->op == NAS_NET_CONCAT) {
            ck_assert_int_ge(n->n_in, 2);
        } else if (n->op != NAS_NET_INPUT) {
            ck_assert_int_eq(n->n_in, 1);
        }
        for (int d = 0; d < 3; d++) {
            ck_assert_int_ge(n->shape[d], 1);
        }
        /* slots: exactly the declared shapes */
        int want_slots = n->op == NAS_NET_CONV                            ? 1
                         : n->op == NAS_NET_BN || n->op == NAS_NET_LINEAR ? 2
                                                                          : 0;
        ck_assert_int_eq(n->n_slots, want_slots);
        int64_t numel = 0;
        for (int j = 0; j < n->n_slots; j++) {
            const nas_net_slot *sl = &net->slots[n->slot + j];
            ck_assert_int_eq(n->slot + j, slots + j);
            ck_assert_int_eq(sl->node, v);
            numel += sl->numel;
            if (n->op == NAS_NET_CONV) {
                ck_assert_int_eq(sl->ndim, 4);
                ck_assert_int_eq(sl->shape[0], n->shape[0]);
                ck_assert_int_eq(sl->shape[1] * n->groups, net->nodes[n->in[0]].shape[0]);
                ck_assert_int_eq(sl->shape[2], n->k);
                ck_assert_int_eq(sl->shape[3], n->k);
                ck_assert_int_eq(memcmp(sl->shape, n->wshape, sizeof sl->shape), 0);
            } else if (n->op == NAS_NET_BN) {
                ck_assert_int_eq(sl->ndim, 1);
                ck_assert_int_eq(sl->shape[0], n->shape[0]);
                ck_assert_int_eq(sl->role, j ? NAS_NET_BETA : NAS_NET_GAMMA);
            } else {
                ck_assert_int_eq(sl->ndim, j ? 1 : 2);
                ck_assert_int_eq(sl->shape[0], net->cfg.classes);
                if (!j) {
                    ck_assert_int_eq(sl->shape[1], net->nodes[n->in[0]].shape[0]);
                }
            }
            ck_assert_ptr_nonnull(strstr(sl->name, n->name));
        }
        ck_assert_int_eq(numel, n->n_params);
        slots += n->n_slots;
        params += n->n_params;
        macs += n->macs;
        if (n->op == NAS_NET_BN) {
            ck_assert_int_eq(n->bn_offset, running);
            running += 2 * n->shape[0];
        } else {
            ck_assert_int_eq(n->bn_offset, -1);
        }
        ck_assert_int_eq(nas_net_find(net, n->name), v); /* names are unique */
    }
    for (int v = 0; v < net->n_nodes; v++) {
        ck_assert_int_eq(outs[v], net->nodes[v].n_out);
    }
    free(outs);
    ck_assert_int_eq(edges, net->n_edges);
    ck_assert_int_eq(slots, net->n_slots);
    ck_assert_int_eq(params, net->n_params);
    ck_assert_int_eq(macs, net->macs);
    ck_assert_int_eq(running, net->n_running);
    ck_assert_int_eq(max_level + 1, net->n_levels);
}

/* Per-sample output shapes of the node values of a forward pass match the IR. */
static void check_node_values(const nas_net *net, nas_tensor **vals, int64_t B) {
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        const nas_tensor *t = vals[v];
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->shape[0], B);
        if (n->op == NAS_NET_GAP || n->op == NAS_NET_LINEAR) {
            ck_assert_int_eq(t->ndim, 2);
            ck_assert_int_eq(t->shape[1], n->shape[0]);
        } else {
            ck_assert_msg(t->ndim == 4 && t->shape[1] == n->shape[0] &&
                              t->shape[2] == n->shape[1] && t->shape[3] == n->shape[2],
                          "node %s: value shape differs from the IR", n->name);
        }
    }
}

static bool all_finite(const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            return false;
        }
    }
    return true;
}

/* Compile, run and backpropagate random members of a space, with owned and supplied weights. */
static void random_members(const char *space, nas_net_config cfg, int count, uint64_t seed) {
    nas_space sp = load_space(space);
    nas_rng rng;
    nas_rng_seed(&rng, seed);
    for (int k = 0; k < count; k++) {
        nas_arch a;
        ck_assert_int_eq(nas_arch_sample(&sp, &rng, &a), NAS_OK);
        char text[NAS_ARCH_STR_MAX];
        ck_assert_int_eq(nas_arch_encode(&sp, &a, text, sizeof text), NAS_OK);
        nas_net net;
        nas_status st = nas_net_compile(&net, &sp, &a, &cfg);
        ck_assert_msg(st == NAS_OK, "%s %s: %s", space, text, nas_errmsg());
        check_structure(&net);
        nas_net_model m;
        ck_assert_int_eq(nas_net_model_init(
                             &m, &net, k % 2 ? NAS_NET_INIT_KAIMING_OUT : NAS_NET_INIT_TORCH, &rng),
                         NAS_OK);
        ck_assert_int_eq((int)m.params.count, net.n_slots);
        ck_assert_int_eq(m.params.numel, net.n_params);
        nas_tape t;
        nas_tape_init(&t);
        const int64_t B = 3;
        nas_tensor *x = nas_tensor_new4(&t, 4, B, cfg.in_c, cfg.in_h, cfg.in_w);
        ck_assert_ptr_nonnull(x);
        for (int64_t i = 0; i < x->numel; i++) {
            x->data[i] = nas_rng_normal(&rng);
        }
        int32_t labels[3] = {0, 1, 2};
        nas_tensor **vals = calloc((size_t)net.n_nodes, sizeof *vals);
        ck_assert_ptr_nonnull(vals);
        nas_net_run run = nas_net_run_defaults();
        run.running = m.running;
        run.node_out = vals;
        nas_tensor *logits = nas_net_forward(&t, &net, m.params.tensors, &run, x);
        nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, labels, 0.1f);
        ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s %s: %s", space, text, nas_errmsg());
        check_node_values(&net, vals, B);
        ck_assert_msg(isfinite(loss->data[0]), "%s %s: loss %g", space, text,
                      (double)loss->data[0]);
        nas_params_zero_grad(&m.params);
        ck_assert_msg(nas_tape_backward(&t, loss) == NAS_OK, "%s", nas_errmsg());
        ck_assert(all_finite(m.params.grad, m.params.numel));
        ck_assert_msg(max_abs(m.params.grad, m.params.numel) > 0.0, "%s %s: all grads zero", space,
                      text);
        /* the classifier bias always gets a gradient (the weight's may vanish when a cell of
         * none edges zeroes the features) */
        ck_assert(max_abs(m.params.tensors[net.n_slots - 1]->grad, net.cfg.classes) > 0.0);
        /* the same weights as tape leaves: same loss and gradients */
        nas_tape t2;
        nas_tape_init(&t2);
        nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
        ck_assert_ptr_nonnull(w);
        for (int s = 0; s < net.n_slots; s++) {
            const nas_net_slot *sl = &net.slots[s];
            w[s] = nas_tensor_from(&t2, sl->ndim, sl->shape, m.params.tensors[s]->data);
            ck_assert_int_eq(nas_tensor_require_grad(&t2, w[s]), NAS_OK);
        }
        nas_tensor *x2 = nas_tensor_from(&t2, 4, x->shape, x->data);
        nas_tensor *l2 =
            nas_softmax_cross_entropy(&t2, nas_net_forward(&t2, &net, w, NULL, x2), labels, 0.1f);
        ck_assert_msg(nas_tape_status(&t2) == NAS_OK, "%s", nas_errmsg());
        ck_assert_msg(fabsf(l2->data[0] - loss->data[0]) <= 1e-5f * fabsf(loss->data[0]) + 1e-6f,
                      "supplied loss %g, owned %g", (double)l2->data[0], (double)loss->data[0]);
        ck_assert_int_eq(nas_tape_backward(&t2, l2), NAS_OK);
        for (int s = 0; s < net.n_slots; s++) {
            const nas_net_slot *sl = &net.slots[s];
            double scale = max_abs(m.params.tensors[s]->grad, sl->numel);
            ck_assert_ptr_nonnull(w[s]->grad);
            ck_assert_int_eq(golden_compare(sl->name, w[s]->grad, m.params.tensors[s]->grad,
                                            sl->numel, 1e-4 * scale + 1e-7, 1e-4),
                             0);
        }
        free(w);
        free(vals);
        nas_tape_free(&t2);
        nas_tape_free(&t);
        nas_net_model_free(&m);
        nas_net_free(&net);
    }
}

START_TEST(test_net__random_members_run) {
    random_members("nb201", config(4, 1, 1, 12, 12, 5), 4, 11);
    random_members("nb101", config(8, 1, 1, 12, 12, 5), 4, 12);
    random_members("darts", config(4, 1, 1, 12, 12, 5), 2, 13);
    random_members("macro", config(0, 0, 1, 12, 12, 5), 3, 14);
}
END_TEST

/* NB201's benchmark setting (C=16, N=5, CIFAR input): parameters by hand and by the PyTorch
 * twin, MACs by the twin, and the default macro configuration of every space compiles. */
START_TEST(test_net__nb201_benchmark_params_and_flops) {
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(16, 5, 3, 32, 32, 10));
    check_structure(&net);
    /* by hand: a cell at c has three 3x3 and one 1x1 ReLU-conv-BN: 28c^2 + 8c */
    int64_t hand = 3 * 9 * 16 + 2 * 16; /* stem */
    for (int64_t c = 16; c <= 64; c *= 2) {
        hand += 5 * (28 * c * c + 8 * c);
    }
    for (int64_t c = 16; c <= 32; c *= 2) { /* ResNet blocks c -> 2c */
        hand += 9 * c * 2 * c + 2 * 2 * c + 9 * 4 * c * c + 2 * 2 * c + c * 2 * c;
    }
    hand += 2 * 64 + 64 * 10 + 10; /* head BN, classifier */
    ck_assert_int_eq(hand, 830426);
    ck_assert_int_eq(net.n_params, hand);
    golden_file g;
    ck_assert_msg(golden_load(&g, GOLDEN("nb201")) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(net.n_params, (int64_t)golden_get(&g, "bench.params")->data[0]);
    ck_assert_int_eq(net.macs, rec_split(golden_get(&g, "bench.macs")));
    ck_assert_int_eq(net.flops, 2 * net.macs);
    golden_free(&g);
    /* 17 blocks: 15 cells with 17 nodes each (4 relu, 4 conv, 4 bn, 1 pool, 2 sums) ... */
    int cells = 0, blocks = 0;
    for (int v = 0; v < net.n_nodes; v++) {
        cells += strstr(net.nodes[v].name, ".n3.sum") != NULL;
        blocks += strcmp(net.nodes[v].name + strlen(net.nodes[v].name) - 4, ".sum") == 0 &&
                  strncmp(net.nodes[v].name, "res", 3) == 0;
    }
    ck_assert_int_eq(cells, 15);
    ck_assert_int_eq(blocks, 2);
    nas_net_free(&net);
}
END_TEST

/* Breadth-first distances from every node, compared with igraph's. */
static void check_distances(const nas_net *net, int max_dist) {
    const int n = net->n_nodes;
    int32_t *d = malloc((size_t)n * (size_t)n * sizeof *d);
    int *q = malloc((size_t)n * sizeof *q), *dist = malloc((size_t)n * sizeof *dist);
    ck_assert(d && q && dist);
    ck_assert_msg(nas_net_distances(net, max_dist, d) == NAS_OK, "%s", nas_errmsg());
    for (int s = 0; s < n; s++) {
        for (int v = 0; v < n; v++) {
            dist[v] = -1;
        }
        int head = 0, tail = 0;
        dist[s] = 0;
        q[tail++] = s;
        while (head < tail) {
            int u = q[head++];
            for (int k = 0; k < net->nodes[u].n_out; k++) {
                int v = net->nodes[u].out[k];
                if (dist[v] < 0) {
                    dist[v] = dist[u] + 1;
                    q[tail++] = v;
                }
            }
        }
        for (int v = 0; v < n; v++) {
            int want = dist[v] < 0 || (max_dist > 0 && dist[v] > max_dist) ? 0 : dist[v];
            ck_assert_msg(d[(size_t)s * (size_t)n + (size_t)v] == want,
                          "distance %d -> %d: igraph %d, BFS %d", s, v,
                          d[(size_t)s * (size_t)n + (size_t)v], want);
            if (v < s) {
                ck_assert_int_eq(want, 0); /* no path backwards in a topological order */
            }
        }
        if (s == 0) { /* everything depends on the input */
            for (int v = 1; v < n; v++) {
                ck_assert_msg(dist[v] > 0, "node %s unreachable from the input",
                              net->nodes[v].name);
            }
        }
    }
    free(d);
    free(q);
    free(dist);
}

START_TEST(test_net__topological_order_and_distances) {
    static const struct {
        const char *space, *arch;
        nas_net_config cfg;
    } nets[] = {
        {"nb201", NB201_BENCH, {4, 2, 1, 12, 12, 10}},
        {"nb201", "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", {4, 1, 1, 12, 12, 10}},
        {"nb101",
         "10101.1110.001.01.1|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu",
         {8, 2, 1, 12, 12, 10}},
        {"darts", DARTS_B, {4, 1, 1, 16, 16, 10}},
        {"macro", "d2-w24-k7-e6|d1-w32-k3-e4|d2-w48-k5-e3|d2-w64-k7-e3", {0, 0, 1, 12, 12, 10}},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        nas_net net;
        compile_ok(&net, nets[i].space, nets[i].arch, nets[i].cfg);
        check_structure(&net);
        check_distances(&net, 0);
        check_distances(&net, 3);
        nas_net_free(&net);
    }
    /* an all-none cell: its nodes are zero nodes fed by the cell input, output node included */
    nas_net net;
    compile_ok(&net, "nb201", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
               config(4, 1, 1, 12, 12, 10));
    int v = nas_net_find(&net, "cell0.n3.zero");
    ck_assert_int_ge(v, 0);
    ck_assert_int_eq(net.nodes[v].op, NAS_NET_ZERO);
    ck_assert_int_eq(net.nodes[v].n_in, 1);
    ck_assert_str_eq(net.nodes[net.nodes[v].in[0]].name, "stem.bn");
    ck_assert_int_eq(nas_net_find(&net, "res1.sum") >= 0, 1);
    /* skip edges are identities: no node named after them */
    nas_net_free(&net);
    compile_ok(&net, "nb201",
               "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
               config(4, 1, 1, 12, 12, 10));
    for (int u = 0; u < net.n_nodes; u++) {
        ck_assert_msg(strncmp(net.nodes[u].name, "cell0.", 6) != 0, "cell0 node %s exists",
                      net.nodes[u].name);
    }
    nas_net_free(&net);
}
END_TEST

/* ---- threads -------------------------------------------------------------------------------- */

/* Compilation (igraph under the library lock) and forward passes run concurrently, one net and
 * tape per thread, with the same results as serially. */
START_TEST(test_net__threads_compile_and_run) {
    enum { K = 8 };
    nas_space sp = load_space("nb201");
    nas_arch archs[K];
    nas_rng rng;
    nas_rng_seed(&rng, 21);
    for (int k = 0; k < K; k++) {
        ck_assert_int_eq(nas_arch_sample(&sp, &rng, &archs[k]), NAS_OK);
    }
    nas_net_config cfg = config(4, 1, 1, 8, 8, 3);
    float serial[K], parallel[K];
    int64_t params[K], pparams[K];
    int failures = 0;
    for (int pass = 0; pass < 2; pass++) {
        float *out = pass ? parallel : serial;
        int64_t *np = pass ? pparams : params;
#pragma omp parallel for num_threads(pass ? 4 : 1) schedule(static, 1) reduction(+ : failures)
        for (int k = 0; k < K; k++) {
            nas_net net;
            nas_net_model m;
            nas_tape t;
            nas_rng r;
            nas_rng_seed(&r, (uint64_t)k);
            bool ok = nas_net_compile(&net, &sp, &archs[k], &cfg) == NAS_OK &&
                      nas_net_model_init(&m, &net, NAS_NET_INIT_TORCH, &r) == NAS_OK &&
                      nas_tape_init(&t) == NAS_OK;
            if (ok) {
                int32_t *dist = malloc((size_t)net.n_nodes * (size_t)net.n_nodes * sizeof *dist);
                ok = dist && nas_net_distances(&net, 0, dist) == NAS_OK &&
                     dist[net.n_nodes - 1] > 0 &&
                     dist[net.n_nodes - 1] <= net.nodes[net.n_nodes - 1].level;
                free(dist);
                nas_tensor *x = nas_tensor_zeros(&t, 4, (int64_t[]){2, 1, 8, 8});
                for (int64_t i = 0; ok && x && i < x->numel; i++) {
                    x->data[i] = (float)((i * 7) % 11) / 11.0f;
                }
                nas_tensor *l = nas_softmax_cross_entropy(
                    &t, nas_net_model_forward(&m, &t, x, NAS_BN_BATCH_STATS), (int32_t[]){0, 2},
                    0.0f);
                ok = ok && l && nas_tape_backward(&t, l) == NAS_OK;
                out[k] = ok ? l->data[0] : NAN;
                np[k] = net.n_params;
                nas_tape_free(&t);
                nas_net_model_free(&m);
                nas_net_free(&net);
            }
            failures += !ok;
        }
    }
    ck_assert_int_eq(failures, 0);
    for (int k = 0; k < K; k++) {
        ck_assert_int_eq(params[k], pparams[k]);
        ck_assert_msg(serial[k] == parallel[k], "arch %d: loss %g serially, %g in a thread", k,
                      (double)serial[k], (double)parallel[k]);
    }
}
END_TEST

/* ---- training through nas_model ------------------------------------------------------------- */

typedef struct epoch_log {
    double loss[8];
    int n;
} epoch_log;

static bool on_epoch(const nas_epoch_stats *st, void *user) {
    epoch_log *l = user;
    if (l->n < 8) {
        l->loss[l->n++] = st->train_loss;
    }
    return true;
}

/* Owned weights train with nas_train: top-bright vs bottom-bright images are learned. */
START_TEST(test_net__owned_model_trains) {
    nas_dataset ds;
    ck_assert_int_eq(nas_data_alloc(&ds, 96, 1, 12, 12, 2, "halves"), NAS_OK);
    nas_rng rng;
    nas_rng_seed(&rng, 3);
    for (int64_t i = 0; i < ds.n; i++) {
        int y = (int)(i % 2);
        ds.labels[i] = y;
        for (int p = 0; p < 144; p++) {
            bool top = p < 72;
            int base = (top != (y == 1)) ? 190 : 50;
            ds.images[i * 144 + p] = (uint8_t)(base + (int)nas_rng_below(&rng, 40));
        }
    }
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 12, 12, 2));
    nas_net_model m;
    ck_assert_int_eq(nas_net_model_init(&m, &net, NAS_NET_INIT_KAIMING_OUT, &rng), NAS_OK);
    nas_model model = nas_net_model_handle(&m);
    nas_train_recipe r = nas_train_recipe_default();
    r.epochs = 3;
    r.batch_size = 16;
    r.lr = 0.05f;
    nas_data_norm norm;
    nas_data_norm_identity(&norm, 1);
    epoch_log log = {{0}, 0};
    nas_progress_set_enabled(false);
    nas_status st = nas_train(&model, &ds, NULL, 0, NULL, NULL, 0, &norm, &r, on_epoch, &log);
    nas_progress_set_enabled(true);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(log.n, 3);
    ck_assert_msg(log.loss[2] < log.loss[0], "train loss %g -> %g", log.loss[0], log.loss[2]);
    double loss = 0.0, acc = 0.0;
    ck_assert_int_eq(nas_evaluate(&model, &ds, NULL, 0, &norm, 32, &loss, &acc), NAS_OK);
    ck_assert_msg(acc >= 0.9, "accuracy %g with running statistics (loss %g)", acc, loss);
    /* the running statistics moved away from their initial values */
    bool moved = false;
    for (int64_t i = 0; i < net.n_running; i++) {
        moved = moved || (m.running[i] != 0.0f && m.running[i] != 1.0f);
    }
    ck_assert(moved);
    nas_net_model_free(&m);
    nas_net_free(&net);
    nas_data_free(&ds);
}
END_TEST

/* A two-class image set: bright top or bright bottom half (12 x 12, one channel). */
static void halves(nas_dataset *ds, int64_t n, uint64_t seed) {
    ck_assert_int_eq(nas_data_alloc(ds, n, 1, 12, 12, 2, "halves"), NAS_OK);
    nas_rng rng;
    nas_rng_seed(&rng, seed);
    for (int64_t i = 0; i < ds->n; i++) {
        int y = (int)(i % 2);
        ds->labels[i] = y;
        for (int p = 0; p < 144; p++) {
            bool top = p < 72;
            int base = (top != (y == 1)) ? 190 : 50;
            ds->images[i * 144 + p] = (uint8_t)(base + (int)nas_rng_below(&rng, 40));
        }
    }
}

typedef struct hook_log {
    int steps, validates, epochs, stop_after_steps, fail_epoch;
    char order[64];      /* 'v' before_validate, 'e' on_epoch */
    int64_t opt_step[8]; /* the optimizer's step count at each on_epoch */
    double lr[8], val_acc[8];
    volatile sig_atomic_t stop;
    /* the state after epoch 1, to resume from */
    float *params, *running, *state;
    int64_t n_params, n_running, n_state, step1;
    const nas_net_model *m;
} hook_log;

static void hook_step(int64_t step, double loss, void *user) {
    hook_log *l = user;
    ck_assert(isfinite(loss) && step >= 1);
    if (++l->steps == l->stop_after_steps) {
        l->stop = 1;
    }
}

static nas_status hook_validate(int epoch, void *user) {
    hook_log *l = user;
    ck_assert_int_eq(epoch, l->epochs + 1);
    l->order[strlen(l->order)] = 'v';
    l->validates++;
    return NAS_OK;
}

static nas_status hook_epoch(const nas_epoch_stats *es, const nas_optim *opt, void *user) {
    hook_log *l = user;
    l->order[strlen(l->order)] = 'e';
    l->opt_step[l->epochs] = opt->step;
    l->lr[l->epochs] = es->lr;
    l->val_acc[l->epochs] = es->val_acc;
    l->epochs++;
    if (es->epoch == 1 && l->m) { /* keep what a checkpoint would */
        l->params = malloc((size_t)l->m->params.numel * sizeof(float));
        l->running = malloc((size_t)(l->m->net->n_running + 1) * sizeof(float));
        l->state = malloc((size_t)(opt->state_numel + 1) * sizeof(float));
        memcpy(l->params, l->m->params.data, (size_t)l->m->params.numel * sizeof(float));
        memcpy(l->running, l->m->running, (size_t)l->m->net->n_running * sizeof(float));
        memcpy(l->state, opt->state, (size_t)opt->state_numel * sizeof(float));
        l->step1 = opt->step;
    }
    if (es->epoch == l->fail_epoch) {
        return nas_error(NAS_EIO, "hook: cannot store epoch %d", es->epoch);
    }
    return NAS_OK;
}

/* A fresh model (seeded) with its optimizer and a spec for nas_train_run over ds. */
typedef struct loop_setup {
    nas_net net;
    nas_net_model m;
    nas_model model;
    nas_optim opt;
    nas_train_recipe r;
    nas_data_norm norm;
    nas_train_spec spec;
} loop_setup;

static void loop_init(loop_setup *L, const nas_dataset *ds, hook_log *log) {
    memset(L, 0, sizeof *L);
    compile_ok(&L->net, "nb201", NB201_BENCH, config(4, 1, 1, 12, 12, 2));
    nas_rng rng;
    nas_rng_seed(&rng, 11);
    ck_assert_int_eq(nas_net_model_init(&L->m, &L->net, NAS_NET_INIT_KAIMING_OUT, &rng), NAS_OK);
    L->model = nas_net_model_handle(&L->m);
    L->r = nas_train_recipe_default();
    L->r.epochs = 3;
    L->r.batch_size = 16;
    L->r.hflip = true;
    L->r.crop_pad = 1;
    ck_assert_int_eq(nas_optim_init(&L->opt, &L->m.params, &L->r.optim), NAS_OK);
    nas_data_norm_identity(&L->norm, 1);
    L->spec = (nas_train_spec){.model = &L->model,
                               .opt = &L->opt,
                               .train = ds,
                               .val = ds,
                               .norm = &L->norm,
                               .recipe = &L->r,
                               .epoch_seeded = true,
                               .what = "loop",
                               .hooks = {.stop = &log->stop,
                                         .on_step = hook_step,
                                         .before_validate = hook_validate,
                                         .on_epoch = hook_epoch,
                                         .user = log}};
}

static void loop_free(loop_setup *L) {
    nas_optim_free(&L->opt);
    nas_net_model_free(&L->m);
    nas_net_free(&L->net);
}

/* The one training loop: hooks in order with the optimizer, the stop flag, failing hooks, and
 * an epoch-seeded training resumed after epoch 1 ends bit-identical to an uninterrupted one. */
START_TEST(test_net__train_loop_hooks_and_resume) {
    nas_dataset ds;
    halves(&ds, 96, 3); /* 6 steps of 16 per epoch */
    hook_log a;
    memset(&a, 0, sizeof a);
    loop_setup A;
    loop_init(&A, &ds, &a);
    a.m = &A.m;
    ck_assert_msg(nas_train_run(&A.spec) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(a.steps, 18);
    ck_assert_str_eq(a.order, "veveve");
    ck_assert(a.opt_step[0] == 6 && a.opt_step[1] == 12 && a.opt_step[2] == 18);
    nas_schedule sched = nas_schedule_cosine(A.r.lr, 18, A.r.eta_min, A.r.warmup_steps);
    ck_assert(a.lr[0] == (double)nas_schedule_lr(&sched, 5));
    ck_assert(a.lr[2] == (double)nas_schedule_lr(&sched, 17));
    ck_assert(a.val_acc[2] >= 0.0 && a.val_acc[2] <= 1.0);

    /* resumed after epoch 1 from the kept state: the same weights, statistics and moments */
    hook_log b;
    memset(&b, 0, sizeof b);
    b.epochs = 1;
    loop_setup B;
    loop_init(&B, &ds, &b);
    memcpy(B.m.params.data, a.params, (size_t)B.m.params.numel * sizeof(float));
    memcpy(B.m.running, a.running, (size_t)B.net.n_running * sizeof(float));
    memcpy(B.opt.state, a.state, (size_t)B.opt.state_numel * sizeof(float));
    B.opt.step = a.step1;
    B.spec.epochs_done = 1;
    ck_assert_msg(nas_train_run(&B.spec) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(b.steps, 12);
    ck_assert_int_eq(
        memcmp(B.m.params.data, A.m.params.data, (size_t)A.m.params.numel * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(B.m.running, A.m.running, (size_t)A.net.n_running * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(B.opt.state, A.opt.state, (size_t)A.opt.state_numel * sizeof(float)),
                     0);
    ck_assert(b.lr[2] == a.lr[2] && b.val_acc[2] == a.val_acc[2]);
    loop_free(&B);

    /* the stop flag: seen before the next step */
    memset(&b, 0, sizeof b);
    b.stop_after_steps = 8;
    loop_init(&B, &ds, &b);
    ck_assert_int_eq(nas_train_run(&B.spec), NAS_EINTERRUPTED);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "loop: stopped in epoch 2"));
    ck_assert(b.steps == 8 && b.epochs == 1);
    loop_free(&B);
    /* a failing on_epoch stops the loop with its status */
    memset(&b, 0, sizeof b);
    b.fail_epoch = 2;
    loop_init(&B, &ds, &b);
    ck_assert_int_eq(nas_train_run(&B.spec), NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "cannot store epoch 2"));
    ck_assert_int_eq(b.epochs, 2);
    /* resuming needs an epoch-seeded order; no data: refused */
    B.spec.epoch_seeded = false;
    B.spec.epochs_done = 1;
    ck_assert_int_eq(nas_train_run(&B.spec), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "needs epoch-seeded data order"));
    B.spec.epochs_done = 0;
    B.spec.n_train = 5;
    int32_t few[5] = {0, 1, 2, 3, 4};
    B.spec.train_idx = few;
    ck_assert_int_eq(nas_train_run(&B.spec), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "batch_size 16 exceeds the 5 examples"));
    loop_free(&B);
    free(a.params);
    free(a.running);
    free(a.state);
    loop_free(&A);
    nas_data_free(&ds);
}
END_TEST

/* ---- evaluate's trainer on the loop: its checkpoints, old and new ------------------------- */

typedef struct kept_epochs {
    void *ckpt[4];
    size_t n[4];
    nas_epoch_record e[4];
    int count;
} kept_epochs;

static nas_status keep_epoch(void *user, const nas_epoch_record *e, const void *ckpt, size_t n) {
    kept_epochs *k = user;
    ck_assert_int_lt(k->count, 4);
    k->ckpt[k->count] = malloc(n);
    memcpy(k->ckpt[k->count], ckpt, n);
    k->n[k->count] = n;
    k->e[k->count++] = *e;
    return NAS_OK;
}

/* The FNV-1a 64 of earlier builds, written out here so the test does not share the reader's. */
static uint64_t fnv64_test(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

/* The checkpoint an earlier build ("GHNASEV1") stored for the same state (test-only writer). */
static unsigned char *legacy_net_ckpt(const void *ckpt, size_t n, size_t *n_out) {
    nas_ckpt_kind net = {{'N', 'E', 'T', '\0'}, "trained-net", 1, NULL};
    nas_ckpt_reader r;
    ck_assert_int_eq(nas_ckpt_open(&r, ckpt, n, &net, "new"), NAS_OK);
    const nas_ckpt_section *st, *p, *run, *opt;
    ck_assert_int_eq(nas_ckpt_find(&r, "state", NAS_CKPT_RECORD, &st), NAS_OK);
    ck_assert_int_eq(nas_ckpt_find(&r, "params", NAS_CKPT_F32, &p), NAS_OK);
    ck_assert_int_eq(nas_ckpt_find(&r, "running", NAS_CKPT_F32, &run), NAS_OK);
    ck_assert_int_eq(nas_ckpt_find(&r, "optim", NAS_CKPT_F32, &opt), NAS_OK);
    nas_ckpt_cursor c = nas_ckpt_cursor_of(st);
    int64_t epochs_done = nas_ckpt_get_i64(&c), step = nas_ckpt_get_i64(&c);
    int64_t hdr[5] = {p->count, run->count, opt->count, step, epochs_done};
    size_t floats = (size_t)(p->count + run->count + opt->count);
    *n_out = 8 + sizeof hdr + floats * sizeof(float) + 8;
    unsigned char *b = malloc(*n_out), *q = b;
    memcpy(q, "GHNASEV1", 8);
    q += 8;
    memcpy(q, hdr, sizeof hdr);
    q += sizeof hdr;
    const nas_ckpt_section *secs[3] = {p, run, opt};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(nas_ckpt_section_read(&r, secs[k], q, secs[k]->count), NAS_OK);
        q += (size_t)secs[k]->count * sizeof(float);
    }
    uint64_t h = fnv64_test(b, (size_t)(q - b));
    memcpy(q, &h, 8);
    nas_ckpt_reader_free(&r);
    return b;
}

/* Evaluate's trainer stores container checkpoints each epoch; resuming from one, or from the
 * "GHNASEV1" checkpoint an earlier build stored, ends bit-identical to the uninterrupted run. */
START_TEST(test_net__eval_trainer_resumes_old_and_new_checkpoints) {
    nas_dataset ds;
    halves(&ds, 96, 5);
    int32_t idx[96];
    for (int i = 0; i < 96; i++) {
        idx[i] = i;
    }
    nas_train_recipe r = nas_train_recipe_default();
    r.epochs = 2;
    r.batch_size = 16;
    nas_data_norm norm;
    nas_data_norm_identity(&norm, 1);
    kept_epochs k[4];
    memset(k, 0, sizeof k);
    nas_i_trainer tr = {.train = &ds,
                        .train_idx = idx,
                        .n_train = 96,
                        .val = &ds,
                        .val_idx = idx,
                        .n_val = 48,
                        .norm = &norm,
                        .recipe = &r,
                        .bn_calib = 2,
                        .on_epoch = keep_epoch};
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 12, 12, 2));
    nas_net_model m[4];
    float *final[4];
    size_t legacy_n = 0;
    unsigned char *legacy = NULL;
    for (int run = 0; run < 4; run++) { /* 0: whole, 1: from new, 2: from old, 3: refusals */
        nas_rng rng;
        nas_rng_seed(&rng, 21);
        ck_assert_int_eq(nas_net_model_init(&m[run], &net, NAS_NET_INIT_KAIMING_OUT, &rng), NAS_OK);
        tr.user = &k[run];
        double tra, va, te;
        const void *from = run == 1 ? k[0].ckpt[0] : run == 2 ? (const void *)legacy : NULL;
        size_t n_from = run == 1 ? k[0].n[0] : run == 2 ? legacy_n : 0;
        if (run < 3) {
            nas_status st =
                nas_i_train_arch(&tr, &m[run], run == 0 ? 0 : 1, from, n_from, &tra, &va, &te);
            ck_assert_msg(st == NAS_OK, "run %d: %s", run, nas_errmsg());
            ck_assert(isnan(te) && va == k[run].e[k[run].count - 1].val_acc);
        }
        final[run] = m[run].params.data;
        if (run == 0) {
            ck_assert_int_eq(k[0].count, 2);
            ck_assert_int_eq(memcmp(k[0].ckpt[0], "GHNASNET", 8), 0);
            legacy = legacy_net_ckpt(k[0].ckpt[0], k[0].n[0], &legacy_n);
        } else if (run < 3) {
            ck_assert_int_eq(k[run].count, 1); /* epoch 2 only */
            ck_assert_int_eq(k[run].e[0].epoch, 2);
            ck_assert(k[run].e[0].train_loss == k[0].e[1].train_loss);
            ck_assert(k[run].e[0].val_acc == k[0].e[1].val_acc);
            ck_assert_int_eq(memcmp(final[run], final[0], (size_t)net.n_params * sizeof(float)), 0);
            ck_assert_int_eq(
                memcmp(m[run].running, m[0].running, (size_t)net.n_running * sizeof(float)), 0);
            ck_assert_int_eq(k[run].n[0], k[0].n[1]); /* the same checkpoint after epoch 2 */
            ck_assert_int_eq(memcmp(k[run].ckpt[0], k[0].ckpt[1], k[0].n[1]), 0);
        } else { /* damaged, foreign or misfitting checkpoints are refused by name */
            double a, b, c;
            legacy[100] ^= 1;
            ck_assert_int_eq(nas_i_train_arch(&tr, &m[3], 1, legacy, legacy_n, &a, &b, &c),
                             NAS_EFORMAT);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "damaged (checksum)"));
            legacy[100] ^= 1;
            ck_assert_int_eq(nas_i_train_arch(&tr, &m[3], 1, legacy, legacy_n - 9, &a, &b, &c),
                             NAS_EFORMAT);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "does not fit"));
            unsigned char *bad = k[0].ckpt[0];
            bad[k[0].n[0] / 2] ^= 1;
            ck_assert_int_eq(nas_i_train_arch(&tr, &m[3], 1, bad, k[0].n[0], &a, &b, &c),
                             NAS_EFORMAT);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "corrupted checkpoint (CRC-32"));
            bad[k[0].n[0] / 2] ^= 1;
            ck_assert_int_eq(nas_i_train_arch(&tr, &m[3], 1, bad, k[0].n[0] - 3, &a, &b, &c),
                             NAS_EFORMAT);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "truncated checkpoint"));
            ck_assert_int_eq(nas_i_train_arch(&tr, &m[3], 2, bad, k[0].n[0], &a, &b, &c),
                             NAS_EFORMAT);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "does not fit this training"));
            const char foreign[] = "GHNASGHN\x03\0\0\0";
            ck_assert_int_eq(nas_i_train_arch(&tr, &m[3], 1, foreign, sizeof foreign, &a, &b, &c),
                             NAS_EFORMAT);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "not a ghnas trained-net checkpoint"));
            ck_assert_int_eq(nas_i_train_arch(&tr, &m[3], 1, NULL, 0, &a, &b, &c), NAS_EFORMAT);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "1 epochs are stored but no checkpoint"));
        }
    }
    for (int run = 0; run < 4; run++) {
        for (int i = 0; i < k[run].count; i++) {
            free(k[run].ckpt[i]);
        }
        nas_net_model_free(&m[run]);
    }
    free(legacy);
    nas_net_free(&net);
    nas_data_free(&ds);
}
END_TEST

/* ---- export --------------------------------------------------------------------------------- */

static char *write_to_string(const nas_net *net, nas_net_format fmt) {
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_msg(nas_net_write(net, fmt, f) == NAS_OK, "%s", nas_errmsg());
    long n = ftell(f);
    ck_assert_int_gt(n, 0);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

START_TEST(test_net__export_text_dot_graphml) {
    nas_net net;
    compile_ok(&net, "darts", DARTS_V2, config(4, 1, 1, 12, 12, 10));
    /* text: totals and every node */
    char *text = write_to_string(&net, NAS_NET_TEXT);
    char want[96];
    snprintf(want, sizeof want, "# %d nodes, %d edges", net.n_nodes, net.n_edges);
    ck_assert_ptr_nonnull(strstr(text, want));
    ck_assert_ptr_nonnull(strstr(text, "params 11,338"));
    for (int v = 0; v < net.n_nodes; v++) {
        ck_assert_ptr_nonnull(strstr(text, net.nodes[v].name));
    }
    free(text);
    /* DOT: every node declared once, every edge, balanced braces, quotes escaped */
    char *dot = write_to_string(&net, NAS_NET_DOT);
    ck_assert_int_eq(strncmp(dot, "digraph net {", 13), 0);
    int open = 0, arrows = 0;
    for (const char *p = dot; *p; p++) {
        open += *p == '{';
        open -= *p == '}';
        ck_assert_int_ge(open, 0);
        arrows += p[0] == '-' && p[1] == '>';
    }
    ck_assert_int_eq(open, 0);
    ck_assert_int_eq(arrows, net.n_edges);
    for (int v = 0; v < net.n_nodes; v++) {
        char decl[32];
        snprintf(decl, sizeof decl, "n%d [label=", v);
        const char *at = strstr(dot, decl);
        ck_assert_msg(at != NULL, "node %d not declared", v);
        ck_assert_ptr_null(strstr(at + 1, decl));
    }
    ck_assert_ptr_nonnull(strstr(dot, "subgraph \"cluster_cell3\""));
    free(dot);
    /* GraphML: igraph reads it back with the same vertices and edges */
    char path[] = "/tmp/ghnas_net_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(nas_net_write(&net, NAS_NET_GRAPHML, f), NAS_OK);
    rewind(f);
    igraph_t g;
    nas_i_igraph_lock();
    igraph_error_t rc = igraph_read_graph_graphml(&g, f, 0);
    igraph_integer_t nv = rc == IGRAPH_SUCCESS ? igraph_vcount(&g) : -1;
    igraph_integer_t ne = rc == IGRAPH_SUCCESS ? igraph_ecount(&g) : -1;
    igraph_bool_t directed = rc == IGRAPH_SUCCESS && igraph_is_directed(&g);
    if (rc == IGRAPH_SUCCESS) {
        igraph_destroy(&g);
    }
    nas_i_igraph_unlock();
    fclose(f);
    remove(path);
    ck_assert_msg(rc == IGRAPH_SUCCESS, "igraph cannot read the GraphML: %s", nas_errmsg());
    ck_assert_int_eq(nv, net.n_nodes);
    ck_assert_int_eq(ne, net.n_edges);
    ck_assert(directed);
    nas_net_format fm;
    ck_assert_int_eq(nas_net_format_from_name("graphml", &fm), NAS_OK);
    ck_assert_int_eq(fm, NAS_NET_GRAPHML);
    ck_assert_int_eq(nas_net_format_from_name("svg", &fm), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "text, dot or graphml"));
    nas_net_free(&net);
}
END_TEST

/* ---- errors --------------------------------------------------------------------------------- */

static void expect_compile_error(const char *space, const nas_arch *a, nas_net_config cfg,
                                 nas_status want, const char *needle) {
    nas_space sp = load_space(space);
    nas_net net;
    nas_status st = nas_net_compile(&net, &sp, a, &cfg);
    ck_assert_msg(st == want, "%s: status %d, want %d (%s)", space, st, want, nas_errmsg());
    ck_assert_msg(strstr(nas_errmsg(), needle) != NULL, "message '%s' lacks '%s'", nas_errmsg(),
                  needle);
    ck_assert_ptr_null(net.nodes);
    nas_net_free(&net); /* harmless on a failed compile */
}

START_TEST(test_net__errors_are_clear) {
    nas_space nb = load_space("nb201");
    nas_arch a = decode(&nb, NB201_BENCH);
    expect_compile_error("nb201", &a, config(-1, 0, 1, 12, 12, 10), NAS_EINVAL, "C must be in");
    expect_compile_error("nb201", &a, config(4, 65, 1, 12, 12, 10), NAS_EINVAL, "N must be in");
    expect_compile_error("nb201", &a, config(4, 1, 1, 12, 12, -3), NAS_EINVAL, "classes");
    expect_compile_error("nb201", &a, config(4, 1, 1, 2, 2, 10), NAS_ESHAPE, "even plane size");
    expect_compile_error("nb201", &a, config(4, 1, 1, 14, 14, 10), NAS_ESHAPE, "res3");
    /* not a member: an op index outside the space, and an arch of another kind */
    nas_arch bad = a;
    bad.cell[0].edges[2].op = 9;
    expect_compile_error("nb201", &bad, config(4, 1, 1, 12, 12, 10), NAS_EINVAL,
                         "not a member of space nb201");
    expect_compile_error("darts", &a, config(4, 1, 1, 12, 12, 10), NAS_EINVAL, "cell_nb201");
    nas_space ds = load_space("darts");
    nas_arch d = decode(&ds, DARTS_V2);
    expect_compile_error("darts", &d, config(4, 1, 1, 12, 14, 10), NAS_ESHAPE,
                         "FactorizedReduce needs an even plane size");
    nas_space ms = load_space("macro");
    nas_arch mm = decode(&ms, "d1-w16-k3-e1|d1-w24-k5-e3|d1-w48-k3-e3|d1-w64-k3-e3");
    expect_compile_error("macro", &mm, config(0, 2, 1, 12, 12, 10), NAS_EINVAL,
                         "N is not used by macro");
    nas_space s1 = load_space("nb101");
    nas_arch n1 = decode(&s1, "10101.1110.001.01.1|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,"
                              "conv3x3-bn-relu");
    expect_compile_error("nb101", &n1, config(2, 1, 1, 12, 12, 10), NAS_EINVAL, "increase C");
    expect_compile_error("nb101", &n1, config(8, 1, 1, 2, 2, 10), NAS_ESHAPE,
                         "down2.pool: the input is too small");

    /* forward: wrong input, wrong slot shape, running mode without statistics */
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 12, 12, 10));
    nas_rng rng;
    nas_rng_seed(&rng, 1);
    nas_net_model m;
    ck_assert_int_eq(nas_net_model_init(&m, &net, NAS_NET_INIT_TORCH, &rng), NAS_OK);
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *x = nas_tensor_zeros(&t, 4, (int64_t[]){2, 3, 12, 12});
    ck_assert_ptr_null(nas_net_forward(&t, &net, m.params.tensors, NULL, x));
    ck_assert_int_eq(nas_tape_status(&t), NAS_ESHAPE);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "must be [B, 1, 12, 12]"));
    nas_tape_reset(&t);
    x = nas_tensor_zeros(&t, 4, (int64_t[]){2, 1, 12, 12});
    nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
    ck_assert_ptr_nonnull(w);
    memcpy(w, m.params.tensors, (size_t)net.n_slots * sizeof *w);
    w[3] = nas_tensor_zeros(&t, 1, (int64_t[]){5});
    ck_assert_ptr_null(nas_net_forward(&t, &net, w, NULL, x));
    ck_assert_int_eq(nas_tape_status(&t), NAS_ESHAPE);
    ck_assert_msg(strstr(nas_errmsg(), net.slots[3].name) != NULL, "%s", nas_errmsg());
    nas_tape_reset(&t);
    x = nas_tensor_zeros(&t, 4, (int64_t[]){2, 1, 12, 12});
    nas_net_run run = nas_net_run_defaults();
    run.bn_mode = NAS_BN_RUNNING_STATS;
    ck_assert_ptr_null(nas_net_forward(&t, &net, m.params.tensors, &run, x));
    ck_assert_int_eq(nas_tape_status(&t), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "running statistics"));
    /* a later op sees the sticky error, and the message still names the net */
    nas_tape_reset(&t);
    x = nas_tensor_zeros(&t, 4, (int64_t[]){2, 1, 12, 12});
    w[3] = NULL;
    nas_tensor *l = nas_net_forward(&t, &net, w, NULL, x);
    ck_assert_ptr_null(nas_softmax_cross_entropy(&t, l, (int32_t[]){0, 1}, 0.0f));
    ck_assert_int_eq(nas_tape_status(&t), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "has no tensor"));
    free(w);
    nas_tape_free(&t);
    nas_net_model_free(&m);
    nas_net_free(&net);
}
END_TEST

Suite *nas_test_net_suite(void) {
    Suite *s = suite_create("net");
    TCase *golden = tcase_create("golden");
    tcase_set_timeout(golden, 120);
    tcase_add_test(golden, test_net__nb201_matches_pytorch);
    tcase_add_test(golden, test_net__nb101_matches_pytorch);
    tcase_add_test(golden, test_net__darts_matches_pytorch);
    tcase_add_test(golden, test_net__macro_matches_pytorch);
    tcase_add_test(golden, test_net__supplied_weights_get_gradients);
    suite_add_tcase(s, golden);
    TCase *structure = tcase_create("structure");
    tcase_set_timeout(structure, 120);
    tcase_add_test(structure, test_net__nb201_benchmark_params_and_flops);
    tcase_add_test(structure, test_net__topological_order_and_distances);
    suite_add_tcase(s, structure);
    TCase *exec = tcase_create("execution");
    tcase_set_timeout(exec, 180);
    tcase_add_test(exec, test_net__random_members_run);
    tcase_add_test(exec, test_net__owned_model_trains);
    tcase_add_test(exec, test_net__train_loop_hooks_and_resume);
    tcase_add_test(exec, test_net__eval_trainer_resumes_old_and_new_checkpoints);
    tcase_add_test(exec, test_net__threads_compile_and_run);
    suite_add_tcase(s, exec);
    TCase *io = tcase_create("export_and_errors");
    tcase_add_test(io, test_net__export_text_dot_graphml);
    tcase_add_test(io, test_net__errors_are_clear);
    suite_add_tcase(s, io);
    return s;
}
