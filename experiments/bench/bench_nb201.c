/*
 * Benchmark: training and inference throughput of the NAS-Bench-201 network
 *   cell
 * |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|
 * stem conv3x3 + BN, C=16, one cell per stage, ResNet reduction blocks, BN-ReLU-GAP-linear head,
 * 28x28x1 input, batch 64, SGD with momentum -- built by hand from the ops. Its PyTorch twin is
 * nb201_torch.py; bench_nb201.sh runs both and prints the ratios.
 *
 * Prints one JSON line: images/s for a training step and for an inference forward, the
 * effective conv GFLOP/s of the training step (conv FLOPs / step time) and the sgemm peak
 * measured here with the same thread count.
 */
#include "ghnas/net.h"
#include "ghnas/nn.h"
#include "ghnas/space.h"
#include "ghnas/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NB201_BENCH_ARCH                                                                           \
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_"    \
    "1x1~2|"

typedef struct rcb { /* ReLU -> conv (no bias) -> BN */
    nas_tensor *w, *g, *b;
    float *rm, *rv;
    int stride, pad;
} rcb;

typedef struct net {
    nas_params p;
    nas_tensor *stem_w, *stem_g, *stem_b, *head_g, *head_b, *fc_w, *fc_b;
    float stats[4096];
    int n_stats;
    rcb cells[3][4]; /* per stage: e01 3x3, e02 3x3, e13 3x3, e23 1x1 */
    rcb res_a[3], res_b[3];
    nas_tensor *short_w[3];
    double conv_flops; /* forward conv FLOPs per image */
} net;

static float *stats_take(net *n, int c) {
    float *s = n->stats + n->n_stats;
    n->n_stats += 2 * c;
    for (int i = 0; i < c; i++) {
        s[c + i] = 1.0f;
    }
    return s;
}

static void rcb_add(net *n, rcb *r, int cin, int cout, int k, int stride, int hw_out) {
    static int id;
    char nm[32];
    snprintf(nm, sizeof nm, "w%d", id++);
    r->w = nas_params_add(&n->p, nm, 4, (int64_t[]){cout, cin, k, k}, 0);
    snprintf(nm, sizeof nm, "g%d", id);
    r->g = nas_params_add(&n->p, nm, 1, (int64_t[]){cout}, NAS_TENSOR_NO_DECAY);
    snprintf(nm, sizeof nm, "b%d", id);
    r->b = nas_params_add(&n->p, nm, 1, (int64_t[]){cout}, NAS_TENSOR_NO_DECAY);
    r->rm = stats_take(n, cout);
    r->rv = r->rm + cout;
    r->stride = stride;
    r->pad = k / 2;
    n->conv_flops += 2.0 * cout * cin * k * k * hw_out * hw_out;
}

static nas_tensor *rcb_run(nas_tape *t, const rcb *r, nas_tensor *x, bool train) {
    nas_tensor *h = nas_conv2d(t, nas_relu(t, x), r->w, NULL, r->stride, r->pad, 1, 1);
    return nas_batchnorm(t, h, r->g, r->b, r->rm, r->rv,
                         train ? NAS_BN_BATCH_STATS : NAS_BN_RUNNING_STATS, 0.1f, 1e-5f);
}

static void net_build(net *n, int C) {
    memset(n, 0, sizeof *n);
    nas_params_init(&n->p);
    n->stem_w = nas_params_add(&n->p, "stem.w", 4, (int64_t[]){C, 1, 3, 3}, 0);
    n->stem_g = nas_params_add(&n->p, "stem.g", 1, (int64_t[]){C}, NAS_TENSOR_NO_DECAY);
    n->stem_b = nas_params_add(&n->p, "stem.b", 1, (int64_t[]){C}, NAS_TENSOR_NO_DECAY);
    n->conv_flops += 2.0 * C * 9 * 28 * 28;
    stats_take(n, C); /* stem stats at offset 0 */
    for (int s = 0; s < 3; s++) {
        int c = C << s, hw = 28 >> s;
        if (s > 0) {
            rcb_add(n, &n->res_a[s], c / 2, c, 3, 2, hw);
            rcb_add(n, &n->res_b[s], c, c, 3, 1, hw);
            char nm[32];
            snprintf(nm, sizeof nm, "short%d", s);
            n->short_w[s] = nas_params_add(&n->p, nm, 4, (int64_t[]){c, c / 2, 1, 1}, 0);
            n->conv_flops += 2.0 * c * (c / 2) * hw * hw;
        }
        rcb_add(n, &n->cells[s][0], c, c, 3, 1, hw);
        rcb_add(n, &n->cells[s][1], c, c, 3, 1, hw);
        rcb_add(n, &n->cells[s][2], c, c, 3, 1, hw);
        rcb_add(n, &n->cells[s][3], c, c, 1, 1, hw);
    }
    n->head_g = nas_params_add(&n->p, "head.g", 1, (int64_t[]){4 * C}, NAS_TENSOR_NO_DECAY);
    n->head_b = nas_params_add(&n->p, "head.b", 1, (int64_t[]){4 * C}, NAS_TENSOR_NO_DECAY);
    stats_take(n, 4 * C);
    n->fc_w = nas_params_add(&n->p, "fc.w", 2, (int64_t[]){10, 4 * C}, 0);
    n->fc_b = nas_params_add(&n->p, "fc.b", 1, (int64_t[]){10}, NAS_TENSOR_NO_DECAY);
    if (nas_params_finalize(&n->p) != NAS_OK) {
        fprintf(stderr, "bench_nb201: %s\n", nas_errmsg());
        exit(1);
    }
    nas_rng r;
    nas_rng_seed(&r, 0);
    for (size_t i = 0; i < n->p.count; i++) {
        nas_tensor *w = n->p.tensors[i];
        if (w->ndim >= 2) {
            nas_init_kaiming_normal(w, &r, NAS_FAN_OUT, nas_init_gain(NAS_NONLIN_RELU, 0));
        } else {
            nas_init_constant(w, w->name[0] == 'g' || strstr(w->name, ".g") ? 1.0f : 0.0f);
        }
    }
}

static nas_tensor *net_forward(net *n, nas_tape *t, nas_tensor *x, bool train) {
    nas_bn_mode mode = train ? NAS_BN_BATCH_STATS : NAS_BN_RUNNING_STATS;
    int C = (int)n->stem_w->shape[0];
    nas_tensor *h = nas_conv2d(t, x, n->stem_w, NULL, 1, 1, 1, 1);
    h = nas_batchnorm(t, h, n->stem_g, n->stem_b, n->stats, n->stats + C, mode, 0.1f, 1e-5f);
    for (int s = 0; s < 3; s++) {
        if (s > 0) {
            nas_tensor *a = rcb_run(t, &n->res_b[s], rcb_run(t, &n->res_a[s], h, train), train);
            nas_tensor *sc =
                nas_conv2d(t, nas_avgpool2d(t, h, 2, 2, 0, true), n->short_w[s], NULL, 1, 0, 1, 1);
            h = nas_add(t, sc, a);
        }
        const rcb *e = n->cells[s];
        nas_tensor *n1 = rcb_run(t, &e[0], h, train);
        nas_tensor *n2 =
            nas_add(t, rcb_run(t, &e[1], h, train), nas_avgpool2d(t, n1, 3, 1, 1, false));
        nas_tensor *terms[3] = {h, rcb_run(t, &e[2], n1, train), rcb_run(t, &e[3], n2, train)};
        h = nas_sum(t, terms, 3);
    }
    float *hs = n->stats + n->n_stats - 2 * 4 * C;
    h = nas_batchnorm(t, h, n->head_g, n->head_b, hs, hs + 4 * C, mode, 0.1f, 1e-5f);
    h = nas_global_avgpool(t, nas_relu(t, h));
    return nas_linear(t, h, n->fc_w, n->fc_b);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double sgemm_peak(void) {
    const int64_t n = 1024;
    float *a = malloc((size_t)(n * n) * sizeof *a), *b = malloc((size_t)(n * n) * sizeof *b);
    float *c = malloc((size_t)(n * n) * sizeof *c);
    for (int64_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    nas_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = nas_time_now();
        nas_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double gf = 2.0 * (double)(n * n * n) / (nas_time_now() - t0) * 1e-9;
        best = gf > best ? gf : best;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

int main(int argc, char **argv) {
    int threads = 2, batch = 64, C = 16;
    double seconds = 10.0;
    const char *phase_opt = "both";
    const char *net_opt = "compiled";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--C") == 0 && i + 1 < argc) {
            C = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--phase") == 0 && i + 1 < argc) {
            phase_opt = argv[++i];
        } else if (strcmp(argv[i], "--net") == 0 && i + 1 < argc) {
            net_opt = argv[++i];
        } else {
            printf("usage: bench_nb201 [--threads 2] [--batch 64] [--C 16] [--seconds 10] "
                   "[--phase train|fwd|both] [--net compiled|hand]\n"
                   "--net compiled (default) runs the NB201 network compiled by src/net from the\n"
                   "arch string; --net hand runs the same network built by hand from the ops.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (threads < 1 || batch < 1 || C < 1 || !(seconds > 0)) {
        fprintf(stderr, "bench_nb201: all options must be positive\n");
        return 2;
    }
    /* --phase runs one measurement alone (for profiling); the other reports 0 img/s. */
    bool run_phase[2] = {true, true};
    if (strcmp(phase_opt, "train") == 0) {
        run_phase[1] = false;
    } else if (strcmp(phase_opt, "fwd") == 0) {
        run_phase[0] = false;
    } else if (strcmp(phase_opt, "both") != 0) {
        fprintf(stderr, "bench_nb201: --phase must be train, fwd or both, got '%s'\n", phase_opt);
        return 2;
    }
    bool compiled = strcmp(net_opt, "compiled") == 0;
    if (!compiled && strcmp(net_opt, "hand") != 0) {
        fprintf(stderr, "bench_nb201: --net must be compiled or hand, got '%s'\n", net_opt);
        return 2;
    }
    nas_set_threads(threads);
    net n;
    net_build(&n, C);
    /* The compiled twin: the same cell through the space/compiler/executor path. */
    nas_space sp;
    nas_arch arch;
    nas_net cnet;
    nas_net_model cm;
    memset(&cnet, 0, sizeof cnet);
    memset(&cm, 0, sizeof cm);
    nas_params *params = &n.p;
    if (compiled) {
        nas_net_config cfg = nas_net_config_default();
        cfg.C = C;
        cfg.N = 1;
        nas_rng ir;
        nas_rng_seed(&ir, 0);
        if (nas_space_load(&sp, "nb201") != NAS_OK ||
            nas_arch_decode(&sp, NB201_BENCH_ARCH, &arch) != NAS_OK ||
            nas_net_compile(&cnet, &sp, &arch, &cfg) != NAS_OK ||
            nas_net_model_init(&cm, &cnet, NAS_NET_INIT_KAIMING_OUT, &ir) != NAS_OK) {
            fprintf(stderr, "bench_nb201: %s\n", nas_errmsg());
            return 1;
        }
        params = &cm.params;
        n.conv_flops = (double)cnet.flops; /* conv + the tiny classifier */
    }
    nas_optim_config oc = nas_optim_defaults(NAS_OPTIM_SGD);
    oc.momentum = 0.9f;
    oc.weight_decay = 5e-4f;
    nas_optim opt;
    nas_optim_init(&opt, params, &oc);
    nas_tape t;
    nas_tape_init(&t);
    nas_rng r;
    nas_rng_seed(&r, 1);
    float *x = malloc((size_t)batch * 784 * sizeof *x);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    for (int i = 0; i < batch * 784; i++) {
        x[i] = nas_rng_normal(&r);
    }
    for (int i = 0; i < batch; i++) {
        y[i] = (int32_t)nas_rng_below(&r, 10);
    }
    double rate[2] = {0.0, 0.0};
    /* Per-step times: the median and the fastest step are far less sensitive than the mean to
     * other processes taking a core for a while on a shared machine. */
    double step_med[2] = {0.0, 0.0}, step_min[2] = {0.0, 0.0};
    size_t cap_steps = 1 << 16;
    double *steps = malloc(cap_steps * sizeof *steps);
    if (!steps) {
        fprintf(stderr, "bench_nb201: out of memory\n");
        return 1;
    }
    for (int phase = 0; phase < 2; phase++) {
        if (!run_phase[phase]) {
            continue;
        }
        bool train = phase == 0;
        nas_tape_set_record(&t, train);
        long iters = 0;
        double t0 = 0, ts = 0;
        for (long it = -3;; it++) { /* 3 warm-up iterations */
            if (it == 0) {
                t0 = nas_time_now();
            }
            ts = nas_time_now();
            nas_tape_reset(&t);
            nas_tensor *xt = nas_tensor_from(&t, 4, (int64_t[]){batch, 1, 28, 28}, x);
            nas_tensor *logits =
                compiled ? nas_net_model_forward(&cm, &t, xt,
                                                 train ? NAS_BN_BATCH_STATS : NAS_BN_RUNNING_STATS)
                         : net_forward(&n, &t, xt, train);
            if (train) {
                nas_params_zero_grad(params);
                nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, y, 0.0f);
                if (nas_tape_backward(&t, loss) != NAS_OK) {
                    fprintf(stderr, "bench_nb201: %s\n", nas_errmsg());
                    return 1;
                }
                nas_optim_step(&opt, 0.05f);
            } else if (nas_tape_status(&t) != NAS_OK) {
                fprintf(stderr, "bench_nb201: %s\n", nas_errmsg());
                return 1;
            }
            if (it >= 0) {
                if ((size_t)iters < cap_steps) {
                    steps[iters] = nas_time_now() - ts;
                }
                iters++;
                if (nas_time_now() - t0 >= seconds) {
                    break;
                }
            }
        }
        rate[phase] = (double)(iters * batch) / (nas_time_now() - t0);
        size_t ns = (size_t)iters < cap_steps ? (size_t)iters : cap_steps; /* >= 1 */
        qsort(steps, ns, sizeof *steps, cmp_double);
        step_med[phase] = steps[ns / 2] * 1e3;
        step_min[phase] = steps[0] * 1e3;
    }
    /* A training step runs every conv forward, its input gradient (all but the stem) and its
     * weight gradient: about 3x the forward conv FLOPs. */
    double conv_gflops = 3.0 * n.conv_flops * rate[0] * 1e-9;
    printf("{\"impl\": \"ghnas\", \"net\": \"%s\", \"threads\": %d, \"params\": %lld, "
           "\"train_img_s\": %.1f, "
           "\"fwd_img_s\": %.1f, \"conv_gflops_train\": %.2f, \"sgemm_peak_gflops\": %.2f, "
           "\"train_ms_median\": %.3f, \"train_ms_min\": %.3f, \"fwd_ms_median\": %.3f, "
           "\"fwd_ms_min\": %.3f}\n",
           net_opt, threads, (long long)params->numel, rate[0], rate[1], conv_gflops, sgemm_peak(),
           step_med[0], step_min[0], step_med[1], step_min[1]);
    free(steps);
    free(x);
    free(y);
    nas_optim_free(&opt);
    nas_tape_free(&t);
    nas_params_free(&n.p);
    nas_net_model_free(&cm);
    nas_net_free(&cnet);
    return 0;
}
