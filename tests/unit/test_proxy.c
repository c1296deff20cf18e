/*
 * Tests for src/proxy: every proxy against its PyTorch twin (tests/data/gen_golden_proxy.py ->
 * golden_proxy.bin: NB201 archs with and without none/skip edges, an NB101 and a macro arch,
 * gen_golden_net.py's deterministic weights); grad_norm / snip against sums the test forms from
 * its own forward and backward pass; synflow's double interpreter against an fp32 tape pass with
 * BN turned into the identity on nets of every space; jacob_cov on hand-made Jacobians and on a
 * batch with a repeated sample; naswot on a one-sample batch (log of the ReLU unit count) and on
 * identical samples (singular K, -inf); the linear algebra on matrices with known determinants and
 * spectra; the seeded path, the scorer, concurrent scoring, a search driven by the scorer (with
 * stored scores reused); and the error paths.
 */
#include "test_suites.h"

#include "ghnas/proxy.h"
#include "ghnas/score.h"
#include "ghnas/search.h"
#include "golden.h"
#include "proxy/proxy-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GOLDEN_PROXY GHNAS_TEST_DATA_DIR "/golden_proxy.bin"

#define NB201_BENCH                                                                                \
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"             \
    "nor_conv_1x1~2|"
#define NB201_ZERO "|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
#define NB101_A    "10101.1110.001.01.1|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu"
#define MACRO_A    "d1-w16-k3-e1|d1-w24-k5-e3|d1-w48-k3-e3|d1-w64-k3-e3"
#define DARTS_V2                                                                                   \
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "             \
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "         \
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "              \
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "         \
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"

static const char *const all_proxies[] = {"grad_norm", "snip", "synflow", "jacob_cov", "naswot"};
#define N_PROXIES 5

/* ---- helpers -------------------------------------------------------------------------------- */

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
    nas_space sp;
    ck_assert_msg(nas_space_load(&sp, space) == NAS_OK, "%s", nas_errmsg());
    nas_arch a;
    ck_assert_msg(nas_arch_decode(&sp, arch, &a) == NAS_OK, "%s: %s", arch, nas_errmsg());
    ck_assert_msg(nas_net_compile(net, &sp, &a, &cfg) == NAS_OK, "compiling %s: %s", arch,
                  nas_errmsg());
}

/* Weights of every slot, one malloc'ed array each ([n_slots] pointers). */
typedef struct weights {
    float **w;
    int n;
} weights;

static weights det_weights(const nas_net *net) {
    weights ws = {calloc((size_t)net->n_slots, sizeof(float *)), net->n_slots};
    ck_assert_ptr_nonnull(ws.w);
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        ws.w[s] = malloc((size_t)sl->numel * sizeof(float));
        ck_assert_ptr_nonnull(ws.w[s]);
        golden_det_slot(sl, ws.w[s]); /* gen_golden_net.py's det_param */
    }
    return ws;
}

static void weights_free(weights *ws) {
    for (int s = 0; s < ws->n; s++) {
        free(ws->w[s]);
    }
    free(ws->w);
}

static const float *const *cw(const weights *ws) {
    return (const float *const *)ws->w;
}

/* Inputs golden_det_u("<tag>") of a net's shape, and labels (3 i + 1) mod classes. */
static float *det_input(const nas_net *net, const char *tag, int batch) {
    int64_t n = (int64_t)batch * net->cfg.in_c * net->cfg.in_h * net->cfg.in_w;
    float *x = malloc((size_t)n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    golden_det_u(tag, n, x);
    return x;
}

static int32_t *det_labels(const nas_net *net, int batch) {
    int32_t *y = malloc((size_t)batch * sizeof *y);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < batch; i++) {
        y[i] = (3 * i + 1) % net->cfg.classes;
    }
    return y;
}

static bool close_to(double got, double want, double atol, double rtol) {
    return fabs(got - want) <= atol + rtol * fabs(want);
}

static double compute(const char *name, const nas_net *net, const weights *ws, const float *x,
                      const int32_t *y, int batch) {
    double v = 0.0;
    nas_status st = nas_proxy_compute_with(name, net, cw(ws), x, y, batch, &v);
    ck_assert_msg(st == NAS_OK, "%s: %s", name, nas_errmsg());
    return v;
}

/* Sum of C*H*W over the ReLU nodes: naswot's K diagonal. */
static int64_t relu_units(const nas_net *net) {
    int64_t u = 0;
    for (int v = 0; v < net->n_nodes; v++) {
        if (net->nodes[v].op == NAS_NET_RELU) {
            const int64_t *s = net->nodes[v].shape;
            u += s[0] * s[1] * s[2];
        }
    }
    return u;
}

/* ---- golden --------------------------------------------------------------------------------- */

typedef struct gcase {
    const char *name, *space, *arch;
    int C, N, in_c, in_h, in_w, classes;
} gcase;

static const gcase golden_cases[] = {
    {"nb201_bench", "nb201", NB201_BENCH, 4, 1, 1, 12, 12, 10},
    {"nb201_zero", "nb201", NB201_ZERO, 4, 1, 1, 12, 12, 10},
    {"nb201_c", "nb201",
     "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|skip_connect~2|", 6,
     2, 3, 16, 16, 7},
    {"nb101_a", "nb101", NB101_A, 8, 1, 1, 12, 12, 10},
    {"macro_a", "macro", MACRO_A, 0, 0, 1, 12, 12, 10},
};
#define N_GOLDEN (int)(sizeof golden_cases / sizeof golden_cases[0])

static const golden_rec *rec(const golden_file *g, const char *c, const char *what) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", c, what);
    const golden_rec *r = golden_get(g, key);
    ck_assert_msg(r != NULL, "golden record %s missing", key);
    return r;
}

/* A value stored as [hi, lo] floats. */
static double rec_value(const golden_rec *r) {
    ck_assert_int_eq(r->numel, 2);
    return (double)r->data[0] + (double)r->data[1];
}

/* Relative tolerances per proxy (measured agreement: grad_norm, snip, jacob_cov ~7e-8 from the
 * fp32 passes; synflow ~3e-15, double in both; naswot ~8e-16, no code flipped -- a
 * pre-activation within fp32 rounding of zero could flip one and would need a looser bound). */
static const double golden_rtol[N_PROXIES] = {2e-6, 2e-6, 1e-12, 2e-6, 1e-9};

START_TEST(test_proxy__matches_pytorch) {
    golden_file g;
    ck_assert_msg(golden_load(&g, GOLDEN_PROXY) == NAS_OK, "%s", nas_errmsg());
    int bad = 0;
    for (int c = 0; c < N_GOLDEN; c++) {
        const gcase *gc = &golden_cases[c];
        nas_net net;
        compile_ok(&net, gc->space, gc->arch,
                   config(gc->C, gc->N, gc->in_c, gc->in_h, gc->in_w, gc->classes));
        weights ws = det_weights(&net);
        const golden_rec *xr = rec(&g, gc->name, "x"), *lr = rec(&g, gc->name, "labels");
        int batch = (int)xr->shape[0];
        ck_assert_int_eq(xr->numel, (int64_t)batch * gc->in_c * gc->in_h * gc->in_w);
        int32_t labels[64];
        ck_assert_int_le(batch, 64);
        for (int i = 0; i < batch; i++) {
            labels[i] = (int32_t)lr->data[i];
        }
        /* the ReLU nodes of the IR are the twin's F.relu calls */
        ck_assert_msg(relu_units(&net) == (int64_t)rec(&g, gc->name, "naswot_units")->data[0],
                      "%s: %lld ReLU units, PyTorch %g", gc->name, (long long)relu_units(&net),
                      (double)rec(&g, gc->name, "naswot_units")->data[0]);
        for (int p = 0; p < N_PROXIES; p++) {
            double got = compute(all_proxies[p], &net, &ws, xr->data, labels, batch);
            double want = rec_value(rec(&g, gc->name, all_proxies[p]));
            bool ok = close_to(got, want, 0.0, golden_rtol[p]);
            if (!ok) {
                fprintf(stderr, "%s %s: %.12g, PyTorch %.12g (rel %.3g)\n", gc->name,
                        all_proxies[p], got, want, fabs(got - want) / fabs(want));
            }
            bad += !ok;
        }
        weights_free(&ws);
        nas_net_free(&net);
    }
    golden_free(&g);
    ck_assert_msg(bad == 0, "%d proxy values differ from PyTorch", bad);
}
END_TEST

/* ---- hand-checkable ------------------------------------------------------------------------- */

/* grad_norm and snip are the sums the test forms itself from a forward/backward pass. */
START_TEST(test_proxy__gradient_proxies_are_the_direct_sums) {
    nas_net net;
    compile_ok(&net, "nb201", NB201_ZERO, config(4, 1, 1, 8, 8, 5));
    weights ws = det_weights(&net);
    enum { B = 6 };
    float *x = det_input(&net, "direct", B);
    int32_t *y = det_labels(&net, B);
    nas_tape t;
    ck_assert_int_eq(nas_tape_init(&t), NAS_OK);
    nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
    ck_assert_ptr_nonnull(w);
    for (int s = 0; s < net.n_slots; s++) {
        w[s] = nas_tensor_from(&t, net.slots[s].ndim, net.slots[s].shape, ws.w[s]);
        ck_assert_int_eq(nas_tensor_require_grad(&t, w[s]), NAS_OK);
    }
    nas_tensor *xt = nas_tensor_from(&t, 4, (int64_t[]){B, 1, 8, 8}, x);
    nas_tensor *loss =
        nas_softmax_cross_entropy(&t, nas_net_forward(&t, &net, w, NULL, xt), y, 0.0f);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(nas_tape_backward(&t, loss), NAS_OK);
    double gn = 0.0, snip = 0.0;
    int counted = 0;
    for (int s = 0; s < net.n_slots; s++) {
        const nas_net_slot *sl = &net.slots[s];
        nas_net_op op = net.nodes[sl->node].op;
        if (sl->role != NAS_NET_WEIGHT || (op != NAS_NET_CONV && op != NAS_NET_LINEAR)) {
            continue; /* BN gamma/beta and the classifier bias are not scored */
        }
        double sq = 0.0;
        for (int64_t i = 0; i < sl->numel; i++) {
            double gi = (double)w[s]->grad[i];
            sq += gi * gi;
            snip += fabs(gi * (double)w[s]->data[i]);
        }
        gn += sqrt(sq);
        counted++;
    }
    /* stem, res1.a/b/short, res2.a/b/short, two convs per cell x 3 cells, classifier */
    ck_assert_int_eq(counted, 1 + 3 + 3 + 2 * 3 + 1);
    ck_assert_msg(gn > 0.0 && snip > 0.0, "no gradient reached the weights");
    double got_gn = compute("grad_norm", &net, &ws, x, y, B);
    double got_snip = compute("snip", &net, &ws, x, y, B);
    ck_assert_msg(close_to(got_gn, gn, 0.0, 1e-6), "grad_norm %.9g, direct %.9g", got_gn, gn);
    ck_assert_msg(close_to(got_snip, snip, 0.0, 1e-6), "snip %.9g, direct %.9g", got_snip, snip);
    free(w);
    nas_tape_free(&t);
    free(x);
    free(y);
    weights_free(&ws);
    nas_net_free(&net);
}
END_TEST

/* synflow by the fp32 tape: |weights|, BN made the identity (running statistics mean 0 and
 * variance 1 - eps, gamma 1, beta 0), one all-ones input, backward from all-ones logits. */
static double synflow_fp32(const nas_net *net, const weights *ws) {
    nas_tape t;
    ck_assert_int_eq(nas_tape_init(&t), NAS_OK);
    nas_tensor **w = calloc((size_t)net->n_slots, sizeof *w);
    float *running = malloc((size_t)(net->n_running + 1) * sizeof *running);
    ck_assert(w && running);
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        w[s] = nas_tensor_from(&t, sl->ndim, sl->shape, ws->w[s]);
        ck_assert_ptr_nonnull(w[s]);
        for (int64_t i = 0; i < sl->numel; i++) {
            w[s]->data[i] = sl->role == NAS_NET_GAMMA  ? 1.0f
                            : sl->role == NAS_NET_BETA ? 0.0f
                                                       : fabsf(w[s]->data[i]);
        }
        ck_assert_int_eq(nas_tensor_require_grad(&t, w[s]), NAS_OK);
    }
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        for (int64_t c = 0; n->op == NAS_NET_BN && c < n->shape[0]; c++) {
            running[n->bn_offset + c] = 0.0f;
            running[n->bn_offset + n->shape[0] + c] = 1.0f - 1e-5f;
        }
    }
    nas_net_run run = nas_net_run_defaults();
    run.bn_mode = NAS_BN_RUNNING_STATS;
    run.running = running;
    const nas_net_config *c = &net->cfg;
    nas_tensor *x = nas_tensor_new4(&t, 4, 1, c->in_c, c->in_h, c->in_w);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < x->numel; i++) {
        x->data[i] = 1.0f;
    }
    nas_tensor *logits = nas_net_forward(&t, net, w, &run, x);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    float ones[64];
    ck_assert_int_le(logits->numel, 64);
    for (int i = 0; i < 64; i++) {
        ones[i] = 1.0f;
    }
    ck_assert_int_eq(nas_tape_backward_from(&t, logits, ones), NAS_OK);
    double score = 0.0;
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        nas_net_op op = net->nodes[sl->node].op;
        if (sl->role == NAS_NET_WEIGHT && (op == NAS_NET_CONV || op == NAS_NET_LINEAR)) {
            for (int64_t i = 0; i < sl->numel; i++) {
                score += fabs((double)w[s]->data[i] * (double)w[s]->grad[i]);
            }
        }
    }
    free(w);
    free(running);
    nas_tape_free(&t);
    return score;
}

START_TEST(test_proxy__synflow_matches_fp32_tape_with_identity_bn) {
    static const gcase nets[] = {
        {"nb201", "nb201", NB201_BENCH, 4, 1, 1, 8, 8, 10},
        {"nb201 none/skip", "nb201", NB201_ZERO, 3, 2, 2, 8, 8, 4},
        {"nb101 (max pools, slices, concat)", "nb101", NB101_A, 8, 1, 1, 12, 12, 10},
        {"darts (groups, dilation, FactorizedReduce slices)", "darts", DARTS_V2, 4, 1, 1, 8, 8, 3},
        {"macro (depthwise, 5x5)", "macro", MACRO_A, 0, 0, 1, 12, 12, 10},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        nas_net net;
        compile_ok(&net, nets[i].space, nets[i].arch,
                   config(nets[i].C, nets[i].N, nets[i].in_c, nets[i].in_h, nets[i].in_w,
                          nets[i].classes));
        weights ws = det_weights(&net);
        double want = synflow_fp32(&net, &ws);
        double got = compute("synflow", &net, &ws, NULL, NULL, 1);
        ck_assert_msg(want > 0.0 && close_to(got, want, 0.0, 1e-5),
                      "%s: synflow %.9g, fp32 tape %.9g", nets[i].name, got, want);
        weights_free(&ws);
        nas_net_free(&net);
    }
}
END_TEST

/* Jacobian rows with known correlations give known spectra. */
START_TEST(test_proxy__jacob_cov_known_jacobians) {
    const double k = 1e-5;
    /* zero-mean, mutually orthogonal rows: corrcoef = I, every eigenvalue 1 */
    float ortho[3 * 4] = {1, -1, 0, 0, 0, 0, 1, -1, 1, 1, -1, -1};
    double v;
    ck_assert_int_eq(nas_i_jacob_score(ortho, 3, 4, &v), NAS_OK);
    double want = -3.0 * (log(1.0 + k) + 1.0 / (1.0 + k));
    ck_assert_msg(close_to(v, want, 1e-12, 1e-12), "orthogonal rows: %.15g, want %.15g", v, want);
    /* perfectly (anti-)correlated pairs: eigenvalues 0 and 2 */
    float corr[2 * 5] = {1, 3, -2, 0.5f, 7, 7, 11, 1, 6, 19}; /* row 1 = 2 row 0 + 5 */
    float anti[2 * 5] = {1, 3, -2, 0.5f, 7, -1, -3, 2, -0.5f, -7};
    want = -(log(k) + 1.0 / k + log(2.0 + k) + 1.0 / (2.0 + k));
    ck_assert_int_eq(nas_i_jacob_score(corr, 2, 5, &v), NAS_OK);
    ck_assert_msg(close_to(v, want, 0.0, 1e-8), "correlated rows: %.15g, want %.15g", v, want);
    ck_assert_int_eq(nas_i_jacob_score(anti, 2, 5, &v), NAS_OK);
    ck_assert_msg(close_to(v, want, 0.0, 1e-8), "anti-correlated rows: %.15g, want %.15g", v, want);
    /* a constant row has no correlation: an error naming the sample */
    float flat[3 * 4] = {1, 2, 3, 4, 5, 5, 5, 5, 0, 1, 0, 1};
    ck_assert_int_eq(nas_i_jacob_score(flat, 3, 4, &v), NAS_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "sample 1 is constant"));

    /* On a net: the proxy is the score of the Jacobian this test takes with the tape, and a
     * repeated sample (identical rows: BN's batch coupling is symmetric) gives an eigenvalue 0. */
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 8, 8, 10));
    weights ws = det_weights(&net);
    enum { B = 5 };
    float *x = det_input(&net, "jacob", B);
    memcpy(x + 3 * 64, x + 1 * 64, 64 * sizeof *x); /* sample 3 = sample 1 */
    nas_tape t;
    ck_assert_int_eq(nas_tape_init(&t), NAS_OK);
    nas_tensor **w = calloc((size_t)net.n_slots, sizeof *w);
    ck_assert_ptr_nonnull(w);
    for (int s = 0; s < net.n_slots; s++) {
        w[s] = nas_tensor_from(&t, net.slots[s].ndim, net.slots[s].shape, ws.w[s]);
    }
    nas_tensor *xt = nas_tensor_from(&t, 4, (int64_t[]){B, 1, 8, 8}, x);
    ck_assert_int_eq(nas_tensor_require_grad(&t, xt), NAS_OK);
    nas_tensor *logits = nas_net_forward(&t, &net, w, NULL, xt);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    float ones[B * 10];
    for (int i = 0; i < B * 10; i++) {
        ones[i] = 1.0f;
    }
    ck_assert_int_eq(nas_tape_backward_from(&t, logits, ones), NAS_OK);
    for (int i = 0; i < 64; i++) {
        ck_assert_msg(xt->grad[64 + i] == xt->grad[3 * 64 + i], "rows 1 and 3 differ at %d", i);
    }
    ck_assert_int_eq(nas_i_jacob_score(xt->grad, B, 64, &want), NAS_OK);
    double got = compute("jacob_cov", &net, &ws, x, NULL, B);
    ck_assert_msg(close_to(got, want, 0.0, 1e-9), "jacob_cov %.12g, direct %.12g", got, want);
    ck_assert_msg(got < -0.99 / k, "a repeated sample must give a zero eigenvalue: %g", got);
    free(w);
    nas_tape_free(&t);
    free(x);
    weights_free(&ws);
    nas_net_free(&net);
}
END_TEST

START_TEST(test_proxy__naswot_known_kernels) {
    /* the kernel by hand: 3 samples of 70 units (two words) */
    uint64_t codes[3 * 2] = {0, 0, 0xFFull, 0x3Full, 0x1ull, 0};
    int64_t K[9] = {0};
    nas_i_naswot_accumulate(codes, 3, 2, 70, K);
    /* agreements: (0,1) 70 - 14, (0,2) 70 - 1, (1,2) 70 - 13 */
    int64_t want[9] = {70, 56, 69, 56, 70, 57, 69, 57, 70};
    for (int i = 0; i < 9; i++) {
        ck_assert_int_eq(K[i], want[i]);
    }
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 8, 8, 10));
    weights ws = det_weights(&net);
    enum { B = 4 };
    float *x = det_input(&net, "naswot", B);
    /* one sample: K = [units], score log(units) */
    double v = compute("naswot", &net, &ws, x, NULL, 1);
    ck_assert_msg(close_to(v, log((double)relu_units(&net)), 1e-12, 1e-12),
                  "one sample: %.15g, log(%lld) = %.15g", v, (long long)relu_units(&net),
                  log((double)relu_units(&net)));
    /* distinct samples: finite and below B log(units) (Hadamard: det K <= prod K_ii) */
    v = compute("naswot", &net, &ws, x, NULL, B);
    ck_assert_msg(isfinite(v) && v < B * log((double)relu_units(&net)), "distinct: %g", v);
    /* identical samples: every row of K equal, singular, -inf as numpy's slogdet */
    for (int i = 1; i < B; i++) {
        memcpy(x + i * 64, x, 64 * sizeof *x);
    }
    v = compute("naswot", &net, &ws, x, NULL, B);
    ck_assert_msg(isinf(v) && v < 0.0, "identical samples: %g, want -inf", v);
    free(x);
    weights_free(&ws);
    nas_net_free(&net);
}
END_TEST

/* ---- linear algebra ------------------------------------------------------------------------- */

START_TEST(test_proxy__slogdet_and_eigenvalues) {
    double a[4] = {2, 1, 1, 2}, ld;
    int sign;
    nas_i_slogdet(a, 2, &ld, &sign);
    ck_assert_int_eq(sign, 1);
    ck_assert_msg(close_to(ld, log(3.0), 1e-15, 1e-15), "log det %.17g", ld);
    double swap[4] = {0, 1, 1, 0}; /* needs a pivot; det -1 */
    nas_i_slogdet(swap, 2, &ld, &sign);
    ck_assert_int_eq(sign, -1);
    ck_assert_msg(fabs(ld) < 1e-15, "log|det| %.17g", ld);
    double neg[9] = {0, 2, 0, 3, 0, 0, 0, 0, -5}; /* det = -(2*3)*(-5) = 30 */
    nas_i_slogdet(neg, 3, &ld, &sign);
    ck_assert_int_eq(sign, 1);
    ck_assert_msg(close_to(ld, log(30.0), 1e-14, 1e-14), "log det %.17g", ld);
    double sing[9] = {1, 2, 3, 2, 4, 6, 1, 0, 1};
    nas_i_slogdet(sing, 3, &ld, &sign);
    ck_assert_int_eq(sign, 0);
    ck_assert(isinf(ld) && ld < 0.0);

    double e2[2], b[4] = {2, 1, 1, 2};
    ck_assert_int_eq(nas_i_eigh(b, 2, e2), NAS_OK);
    ck_assert_msg(close_to(e2[0], 1.0, 1e-14, 0) && close_to(e2[1], 3.0, 1e-14, 0), "%g %g", e2[0],
                  e2[1]);
    /* known spectrum: A = H diag(l) H with the Householder reflection H = I - 2 v v^T / v^T v */
    enum { n = 12 };
    double l[n], v[n], vv = 0.0;
    for (int i = 0; i < n; i++) {
        l[i] = (i % 2 ? -1.0 : 1.0) * (double)(i * i) * 0.37 + (i == 3 ? 1e-9 : 0.0);
        v[i] = sin(1.0 + 2.3 * i);
        vv += v[i] * v[i];
    }
    double H[n * n], A[n * n], A2[n * n], eig[n];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            H[i * n + j] = (i == j ? 1.0 : 0.0) - 2.0 * v[i] * v[j] / vv;
        }
    }
    double trace = 0.0, fro = 0.0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) {
                s += H[i * n + k] * l[k] * H[k * n + j];
            }
            A[i * n + j] = s;
        }
    }
    for (int i = 0; i < n; i++) {
        trace += A[i * n + i];
        for (int j = 0; j < n; j++) {
            fro += A[i * n + j] * A[i * n + j];
        }
    }
    memcpy(A2, A, sizeof A);
    ck_assert_int_eq(nas_i_eigh(A, n, eig), NAS_OK);
    double sorted[n];
    memcpy(sorted, l, sizeof l);
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    }
    double s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(close_to(eig[i], sorted[i], 1e-11, 1e-12), "eigenvalue %d: %.15g, want %.15g",
                      i, eig[i], sorted[i]);
        s1 += eig[i];
        s2 += eig[i] * eig[i];
    }
    ck_assert(close_to(s1, trace, 1e-10, 1e-12) && close_to(s2, fro, 1e-10, 1e-12));
    /* log|det| = sum of log|eigenvalues|, sign = product of signs */
    nas_i_slogdet(A2, n, &ld, &sign);
    double want = 0.0;
    int wsign = 1;
    for (int i = 0; i < n; i++) {
        if (l[i] == 0.0) {
            continue;
        }
        want += log(fabs(l[i]));
        wsign *= l[i] < 0.0 ? -1 : 1;
    }
    /* l[0] is 0: A is singular in exact arithmetic; rounding leaves a tiny pivot */
    ck_assert_msg(sign == 0 || ld < want + log(1e-9), "singular A: log|det| %g", ld);
    l[0] = 0.5;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) {
                s += H[i * n + k] * l[k] * H[k * n + j];
            }
            A2[i * n + j] = s;
        }
    }
    want += log(0.5);
    nas_i_slogdet(A2, n, &ld, &sign);
    ck_assert_int_eq(sign, wsign);
    ck_assert_msg(close_to(ld, want, 1e-9, 1e-12), "log|det| %.15g, want %.15g", ld, want);
    /* non-finite input */
    double bad[4] = {1, NAN, NAN, 1};
    ck_assert_int_eq(nas_i_eigh(bad, 2, e2), NAS_ENUMERIC);
}
END_TEST

/* ---- seeded path, scorer, threads ----------------------------------------------------------- */

/* 40 random 1x8x8 images of 4 classes. */
static nas_dataset random_dataset(void) {
    nas_dataset ds;
    ck_assert_int_eq(nas_data_alloc(&ds, 40, 1, 8, 8, 4, "random"), NAS_OK);
    nas_rng r;
    nas_rng_seed(&r, 99);
    for (int64_t i = 0; i < ds.n * 64; i++) {
        ds.images[i] = (uint8_t)nas_rng_below(&r, 256);
    }
    for (int64_t i = 0; i < ds.n; i++) {
        ds.labels[i] = (int32_t)(i % 4);
    }
    return ds;
}

static nas_proxy_config proxy_config(const nas_dataset *ds, int batch, uint64_t seed) {
    nas_proxy_config pc;
    memset(&pc, 0, sizeof pc);
    pc.ds = ds;
    pc.idx = NULL;
    pc.n = ds->n;
    nas_data_norm_identity(&pc.norm, ds->c);
    pc.batch = batch;
    pc.seed = seed;
    pc.data_id = "random 40";
    return pc;
}

START_TEST(test_proxy__seeded_is_deterministic) {
    nas_dataset ds = random_dataset();
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 8, 8, 4));
    nas_proxy_config pc = proxy_config(&ds, 8, 5);
    for (int p = 0; p < N_PROXIES; p++) {
        double a, b, c;
        ck_assert_msg(nas_proxy_compute(all_proxies[p], &net, &pc, &a) == NAS_OK, "%s: %s",
                      all_proxies[p], nas_errmsg());
        ck_assert_int_eq(nas_proxy_compute(all_proxies[p], &net, &pc, &b), NAS_OK);
        ck_assert_msg(isfinite(a) && a == b, "%s: %.17g then %.17g", all_proxies[p], a, b);
        pc.seed = 6;
        ck_assert_int_eq(nas_proxy_compute(all_proxies[p], &net, &pc, &c), NAS_OK);
        pc.seed = 5;
        ck_assert_msg(c != a, "%s: seeds 5 and 6 give the same %.17g", all_proxies[p], a);
    }
    /* a subset through idx: the batch comes from it only (all images of class 2 -> CE terms of
     * one class; equal to computing on a dataset made of that subset) */
    int32_t idx[10];
    for (int i = 0; i < 10; i++) {
        idx[i] = 4 * i + 2;
    }
    nas_dataset sub;
    ck_assert_int_eq(nas_data_subset(&sub, &ds, idx, 10, "class 2"), NAS_OK);
    nas_proxy_config ps = pc, pq = proxy_config(&sub, 8, 5);
    ps.idx = idx;
    ps.n = 10;
    double a, b;
    ck_assert_int_eq(nas_proxy_compute("snip", &net, &ps, &a), NAS_OK);
    ck_assert_int_eq(nas_proxy_compute("snip", &net, &pq, &b), NAS_OK);
    ck_assert_msg(a == b, "subset by idx %.17g, as a dataset %.17g", a, b);
    nas_data_free(&sub);
    nas_net_free(&net);
    nas_data_free(&ds);
}
END_TEST

START_TEST(test_proxy__scorer_matches_compute) {
    nas_dataset ds = random_dataset();
    nas_net net;
    compile_ok(&net, "nb201", NB201_ZERO, config(4, 1, 1, 8, 8, 4));
    nas_proxy_config pc = proxy_config(&ds, 6, 11);
    for (int p = 0; p < N_PROXIES; p++) {
        nas_scorer sc;
        ck_assert_msg(nas_scorer_proxy(&sc, all_proxies[p], &pc) == NAS_OK, "%s", nas_errmsg());
        ck_assert_str_eq(sc.name, all_proxies[p]);
        ck_assert(sc.higher_is_better);
        ck_assert_ptr_nonnull(strstr(sc.recipe, "random 40"));
        ck_assert_ptr_nonnull(strstr(sc.recipe, "batch 6 of 40 images"));
        ck_assert_ptr_nonnull(strstr(sc.recipe, "seed 11"));
        ck_assert_ptr_nonnull(strstr(sc.recipe, "init torch"));
        nas_score_value sv = {(double)NAN, ""};
        ck_assert_msg(sc.fn(&sc, &net, &sv) == NAS_OK, "%s", nas_errmsg());
        double want;
        ck_assert_int_eq(nas_proxy_compute(all_proxies[p], &net, &pc, &want), NAS_OK);
        ck_assert_msg(sv.value == want, "%s: scorer %.17g, compute %.17g", all_proxies[p], sv.value,
                      want);
        nas_scorer_free(&sc);
        ck_assert_ptr_null(sc.ctx);
    }
    nas_net_free(&net);
    nas_data_free(&ds);
}
END_TEST

/* Several threads score different nets with one scorer: the same values as serially. */
START_TEST(test_proxy__threads_score_concurrently) {
    enum { K = 6 };
    nas_dataset ds = random_dataset();
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_rng rng;
    nas_rng_seed(&rng, 3);
    nas_net nets[K];
    nas_net_config nc = config(4, 1, 1, 8, 8, 4);
    for (int k = 0; k < K; k++) {
        nas_arch a;
        ck_assert_int_eq(nas_arch_sample(&sp, &rng, &a), NAS_OK);
        ck_assert_int_eq(nas_net_compile(&nets[k], &sp, &a, &nc), NAS_OK);
    }
    nas_proxy_config pc = proxy_config(&ds, 8, 2);
    for (int p = 0; p < N_PROXIES; p++) {
        nas_scorer sc;
        ck_assert_int_eq(nas_scorer_proxy(&sc, all_proxies[p], &pc), NAS_OK);
        double serial[K], parallel[K];
        int failures = 0;
        for (int pass = 0; pass < 2; pass++) {
            double *out = pass ? parallel : serial;
#pragma omp parallel for num_threads(pass ? 3 : 1) schedule(static, 1) reduction(+ : failures)
            for (int k = 0; k < K; k++) {
                nas_score_value sv = {(double)NAN, ""};
                failures += sc.fn(&sc, &nets[k], &sv) != NAS_OK;
                out[k] = sv.value;
            }
        }
        ck_assert_int_eq(failures, 0);
        for (int k = 0; k < K; k++) {
            ck_assert_msg(serial[k] == parallel[k] || (isinf(serial[k]) && isinf(parallel[k])),
                          "%s net %d: %.17g serially, %.17g in a thread", all_proxies[p], k,
                          serial[k], parallel[k]);
        }
        nas_scorer_free(&sc);
    }
    for (int k = 0; k < K; k++) {
        nas_net_free(&nets[k]);
    }
    nas_data_free(&ds);
}
END_TEST

/* The scorer drives a search into a results store; a second run with the same scorer (name and
 * recipe) reuses every stored score. */
START_TEST(test_proxy__scorer_drives_a_search) {
    char dir[] = "/tmp/ghnas-test-proxy-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/results.db", dir);
    nas_store *db = NULL;
    ck_assert_msg(nas_store_open(&db, path, NAS_STORE_CREATE) == NAS_OK, "%s", nas_errmsg());
    nas_dataset ds = random_dataset();
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_proxy_config pc = proxy_config(&ds, 8, 4);
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_proxy(&sc, "synflow", &pc), NAS_OK);
    nas_search_config c = nas_search_config_default();
    c.strategy = NAS_STRATEGY_RANDOM;
    c.budget = 6;
    c.threads = 2;
    c.round = 3;
    c.seed = 3;
    c.net = config(4, 1, 1, 8, 8, 4);
    c.quiet = true;
    nas_search_result r, r2;
    ck_assert_msg(nas_search_run(db, &sp, &sc, 0, &c, &r) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(r.n_scored, 6);
    ck_assert_int_eq(r.n_failed, 0);
    ck_assert_msg(isfinite(r.best) && r.best > 0.0, "best synflow %g", r.best);
    ck_assert_msg(nas_search_run(db, &sp, &sc, 0, &c, &r2) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(r2.n_reused, 6);
    ck_assert_int_eq(r2.n_scored, 0);
    ck_assert_msg(r2.best == r.best, "best %.17g, then %.17g", r.best, r2.best);
    nas_scorer_free(&sc);
    nas_store_close(db);
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char f[600];
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        remove(f);
    }
    ck_assert_int_eq(rmdir(dir), 0);
    nas_data_free(&ds);
}
END_TEST

/* ---- errors --------------------------------------------------------------------------------- */

static void expect_error(nas_status got, nas_status want, const char *needle) {
    ck_assert_msg(got == want, "status %d, want %d (%s)", got, want, nas_errmsg());
    ck_assert_msg(strstr(nas_errmsg(), needle) != NULL, "message '%s' lacks '%s'", nas_errmsg(),
                  needle);
}

START_TEST(test_proxy__unknown_names_and_bad_config) {
    nas_dataset ds = random_dataset();
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 8, 8, 4));
    nas_proxy_config pc = proxy_config(&ds, 8, 1);
    double v = 0.0;
    expect_error(nas_proxy_compute("zen", &net, &pc, &v), NAS_ENOTFOUND,
                 "unknown proxy 'zen' (known: grad_norm, snip, synflow, jacob_cov, naswot)");
    ck_assert(isnan(v));
    weights ws = det_weights(&net);
    expect_error(nas_proxy_compute_with(NULL, &net, cw(&ws), NULL, NULL, 1, &v), NAS_ENOTFOUND,
                 "known: grad_norm");
    nas_scorer sc;
    expect_error(nas_scorer_proxy(&sc, "fisher", &pc), NAS_ENOTFOUND, "unknown proxy 'fisher'");
    ck_assert(sc.fn == NULL && sc.ctx == NULL);
    ck_assert_str_eq(nas_proxy_names(), "grad_norm, snip, synflow, jacob_cov, naswot");

    nas_proxy_config bad = pc;
    bad.ds = NULL;
    expect_error(nas_proxy_compute("snip", &net, &bad, &v), NAS_EINVAL, "no dataset");
    expect_error(nas_scorer_proxy(&sc, "snip", &bad), NAS_EINVAL, "proxy scorer snip");
    bad = pc;
    bad.batch = 0;
    expect_error(nas_proxy_compute("snip", &net, &bad, &v), NAS_EINVAL, "batch must be >= 1");
    bad = pc;
    bad.n = 5;
    expect_error(nas_proxy_compute("snip", &net, &bad, &v), NAS_EINVAL, "needs at least batch");
    bad = pc;
    bad.n = 41;
    expect_error(nas_proxy_compute("snip", &net, &bad, &v), NAS_EINVAL, "41 images asked");
    bad = pc;
    bad.norm.c = 3;
    expect_error(nas_proxy_compute("snip", &net, &bad, &v), NAS_EINVAL, "normalisation has 3");
    bad = pc;
    int32_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 40};
    bad.idx = idx;
    bad.n = 8;
    expect_error(nas_proxy_compute("snip", &net, &bad, &v), NAS_EINVAL, "proxy batch");
    /* the batch does not fit the net: image shape, classes */
    nas_net other;
    compile_ok(&other, "nb201", NB201_BENCH, config(4, 1, 1, 12, 12, 4));
    expect_error(nas_proxy_compute("naswot", &other, &pc, &v), NAS_EINVAL,
                 "the images are 1x8x8 but net");
    nas_net_free(&other);
    compile_ok(&other, "nb201", NB201_BENCH, config(4, 1, 1, 8, 8, 3));
    expect_error(nas_proxy_compute("grad_norm", &other, &pc, &v), NAS_EINVAL,
                 "beyond the net's 3 classes");
    ck_assert(isnan(v));
    nas_net_free(&other);

    /* explicit arguments */
    float *x = det_input(&net, "err", 4);
    int32_t y[4] = {0, 1, 2, 9};
    expect_error(nas_proxy_compute_with("snip", &net, cw(&ws), x, NULL, 4, &v), NAS_EINVAL,
                 "needs labels");
    expect_error(nas_proxy_compute_with("snip", &net, cw(&ws), x, y, 4, &v), NAS_EINVAL,
                 "label 9 of example 3");
    expect_error(nas_proxy_compute_with("naswot", &net, cw(&ws), x, NULL, 0, &v), NAS_EINVAL,
                 "batch must be >= 1");
    expect_error(nas_proxy_compute_with("jacob_cov", &net, cw(&ws), NULL, NULL, 4, &v), NAS_EINVAL,
                 "no input batch");
    expect_error(nas_proxy_compute_with("synflow", &net, NULL, NULL, NULL, 1, &v), NAS_EINVAL,
                 "no weights given");
    float *keep = ws.w[5];
    ws.w[5] = NULL;
    expect_error(nas_proxy_compute_with("synflow", &net, cw(&ws), NULL, NULL, 1, &v), NAS_EINVAL,
                 net.slots[5].name);
    ws.w[5] = keep;
    nas_net empty;
    memset(&empty, 0, sizeof empty);
    expect_error(nas_proxy_compute_with("snip", &empty, cw(&ws), x, y, 4, &v), NAS_EINVAL,
                 "not compiled");
    free(x);
    weights_free(&ws);
    nas_net_free(&net);
    nas_data_free(&ds);
}
END_TEST

/* A corrupt IR (the global pool fed from a node with other channels): the tape proxies report
 * the executor's error naming the classifier, synflow its own check naming the pool. */
START_TEST(test_proxy__failing_forward_is_reported) {
    nas_net net;
    compile_ok(&net, "nb201", NB201_BENCH, config(4, 1, 1, 8, 8, 4));
    weights ws = det_weights(&net);
    float *x = det_input(&net, "fail", 4);
    int32_t y[4] = {0, 1, 2, 3};
    nas_net broken = net;
    broken.nodes = malloc((size_t)net.n_nodes * sizeof *broken.nodes);
    ck_assert_ptr_nonnull(broken.nodes);
    memcpy(broken.nodes, net.nodes, (size_t)net.n_nodes * sizeof *broken.nodes);
    int gap = nas_net_find(&net, "head.gap");
    ck_assert_int_ge(gap, 0);
    int stem = nas_net_find(&net, "stem.bn"); /* 4 channels; the head has 16 */
    ck_assert_int_ge(stem, 0);
    int in[1] = {stem};
    broken.nodes[gap].in = in;
    for (int p = 0; p < N_PROXIES; p++) {
        double v = 0.0;
        nas_status st = nas_proxy_compute_with(all_proxies[p], &broken, cw(&ws), x, y, 4, &v);
        ck_assert_msg(st != NAS_OK, "%s ran on a broken net", all_proxies[p]);
        ck_assert(isnan(v));
        char want[64];
        snprintf(want, sizeof want, "proxy %s on ", all_proxies[p]);
        ck_assert_msg(strstr(nas_errmsg(), want) != NULL, "%s", nas_errmsg());
        const char *node = p == 2 ? "node head.gap (gap)" : "node head.fc (linear)";
        ck_assert_msg(strstr(nas_errmsg(), node) != NULL, "%s: '%s' lacks '%s'", all_proxies[p],
                      nas_errmsg(), node);
    }
    free(broken.nodes);
    /* allocation failures anywhere: a clean error, nothing leaked (ASan) */
    for (int p = 0; p < N_PROXIES; p++) {
        int failed = 0;
        for (long k = 1; k <= 60; k += 3) {
            double v = 0.0;
            nas_fault_inject(k);
            nas_status st = nas_proxy_compute_with(all_proxies[p], &net, cw(&ws), x, y, 4, &v);
            nas_fault_inject(0);
            ck_assert_msg(st == NAS_OK || st == NAS_ENOMEM, "%s, allocation %ld: status %d (%s)",
                          all_proxies[p], k, st, nas_errmsg());
            ck_assert(st == NAS_OK ? isfinite(v) || isinf(v) : isnan(v));
            failed += st == NAS_ENOMEM;
        }
        ck_assert_msg(failed > 0, "%s: no injected failure was hit", all_proxies[p]);
    }
    free(x);
    weights_free(&ws);
    nas_net_free(&net);
}
END_TEST

Suite *nas_test_proxy_suite(void) {
    Suite *s = suite_create("proxy");
    TCase *golden = tcase_create("golden");
    tcase_set_timeout(golden, 60);
    tcase_add_test(golden, test_proxy__matches_pytorch);
    suite_add_tcase(s, golden);
    TCase *hand = tcase_create("hand_checkable");
    tcase_set_timeout(hand, 60);
    tcase_add_test(hand, test_proxy__gradient_proxies_are_the_direct_sums);
    tcase_add_test(hand, test_proxy__synflow_matches_fp32_tape_with_identity_bn);
    tcase_add_test(hand, test_proxy__jacob_cov_known_jacobians);
    tcase_add_test(hand, test_proxy__naswot_known_kernels);
    tcase_add_test(hand, test_proxy__slogdet_and_eigenvalues);
    suite_add_tcase(s, hand);
    TCase *seeded = tcase_create("seeded_and_scorer");
    tcase_set_timeout(seeded, 60);
    tcase_add_test(seeded, test_proxy__seeded_is_deterministic);
    tcase_add_test(seeded, test_proxy__scorer_matches_compute);
    tcase_add_test(seeded, test_proxy__threads_score_concurrently);
    tcase_add_test(seeded, test_proxy__scorer_drives_a_search);
    suite_add_tcase(s, seeded);
    TCase *errors = tcase_create("errors");
    tcase_set_timeout(errors, 60);
    tcase_add_test(errors, test_proxy__unknown_names_and_bad_config);
    tcase_add_test(errors, test_proxy__failing_forward_is_reported);
    suite_add_tcase(s, errors);
    return s;
}
