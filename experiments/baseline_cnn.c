/*
 * Baseline CNN on Fashion-MNIST: proves the engine, optimizer and data pipeline end to end.
 *
 *   conv3x3(1->32)-BN-ReLU-maxpool2 -> conv3x3(32->64)-BN-ReLU -> conv3x3(64->64)-BN-ReLU-maxpool2
 *   -> linear(3136->128)-ReLU -> linear(128->10)
 *
 * SGD with Nesterov momentum, cosine schedule, 55k/5k train/validation split (seed 1), test
 * accuracy on the 10k test set. Usage: baseline_cnn [--epochs E] [--threads N] [--data DIR]
 */
#include "ghnas/data.h"
#include "ghnas/nn.h"
#include "ghnas/tensor.h"
#include "ghnas/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_bn {
    nas_tensor *w, *gamma, *beta; /* [cout, cin, 3, 3], [cout], [cout] */
    float *run_mean, *run_var;    /* [cout] running statistics */
} conv_bn;

typedef struct baseline {
    nas_params params;
    conv_bn c1, c2, c3;
    nas_tensor *fc1_w, *fc1_b, *fc2_w, *fc2_b; /* [128, 3136] [128] [10, 128] [10] */
    float stats[2 * (32 + 64 + 64)];           /* running means/vars of the three BNs */
} baseline;

static nas_status conv_bn_add(baseline *m, conv_bn *c, const char *name, int cin, int cout,
                              float **stats) {
    char nm[64];
    snprintf(nm, sizeof nm, "%s.w", name);
    c->w = nas_params_add(&m->params, nm, 4, (int64_t[]){cout, cin, 3, 3}, 0);
    snprintf(nm, sizeof nm, "%s.gamma", name);
    c->gamma = nas_params_add(&m->params, nm, 1, (int64_t[]){cout}, NAS_TENSOR_NO_DECAY);
    snprintf(nm, sizeof nm, "%s.beta", name);
    c->beta = nas_params_add(&m->params, nm, 1, (int64_t[]){cout}, NAS_TENSOR_NO_DECAY);
    c->run_mean = *stats;
    c->run_var = *stats + cout;
    *stats += 2 * cout;
    for (int i = 0; i < cout; i++) {
        c->run_var[i] = 1.0f;
    }
    return c->w && c->gamma && c->beta ? NAS_OK : NAS_ENOMEM;
}

static nas_tensor *conv_bn_relu(nas_tape *t, const conv_bn *c, nas_tensor *x, bool training) {
    nas_tensor *h = nas_conv2d(t, x, c->w, NULL, 1, 1, 1, 1);
    h = nas_batchnorm(t, h, c->gamma, c->beta, c->run_mean, c->run_var,
                      training ? NAS_BN_BATCH_STATS : NAS_BN_RUNNING_STATS, 0.1f, 1e-5f);
    return nas_relu(t, h);
}

static nas_tensor *baseline_forward(void *self, nas_tape *t, nas_tensor *x, bool training) {
    baseline *m = self;
    nas_tensor *h = conv_bn_relu(t, &m->c1, x, training);
    h = nas_maxpool2d(t, h, 2, 2, 0);
    h = conv_bn_relu(t, &m->c2, h, training);
    h = conv_bn_relu(t, &m->c3, h, training);
    h = nas_maxpool2d(t, h, 2, 2, 0);
    h = nas_reshape(t, h, 2, (int64_t[]){x->shape[0], -1});
    h = nas_relu(t, nas_linear(t, h, m->fc1_w, m->fc1_b));
    return nas_linear(t, h, m->fc2_w, m->fc2_b);
}

static nas_status baseline_init(baseline *m, uint64_t seed) {
    memset(m, 0, sizeof *m);
    NAS_CHECK(nas_params_init(&m->params));
    float *stats = m->stats;
    NAS_CHECK(conv_bn_add(m, &m->c1, "c1", 1, 32, &stats));
    NAS_CHECK(conv_bn_add(m, &m->c2, "c2", 32, 64, &stats));
    NAS_CHECK(conv_bn_add(m, &m->c3, "c3", 64, 64, &stats));
    m->fc1_w = nas_params_add(&m->params, "fc1.w", 2, (int64_t[]){128, 64 * 7 * 7}, 0);
    m->fc1_b = nas_params_add(&m->params, "fc1.b", 1, (int64_t[]){128}, NAS_TENSOR_NO_DECAY);
    m->fc2_w = nas_params_add(&m->params, "fc2.w", 2, (int64_t[]){10, 128}, 0);
    m->fc2_b = nas_params_add(&m->params, "fc2.b", 1, (int64_t[]){10}, NAS_TENSOR_NO_DECAY);
    if (!m->fc1_w || !m->fc1_b || !m->fc2_w || !m->fc2_b) {
        return NAS_ENOMEM;
    }
    NAS_CHECK(nas_params_finalize(&m->params));
    nas_rng r;
    nas_rng_seed(&r, seed);
    float relu_gain = nas_init_gain(NAS_NONLIN_RELU, 0.0f);
    const conv_bn *convs[3] = {&m->c1, &m->c2, &m->c3};
    for (int i = 0; i < 3; i++) {
        NAS_CHECK(nas_init_kaiming_normal(convs[i]->w, &r, NAS_FAN_OUT, relu_gain));
        NAS_CHECK(nas_init_ones(convs[i]->gamma));
    }
    NAS_CHECK(nas_init_default(m->fc1_w, m->fc1_b, &r));
    NAS_CHECK(nas_init_default(m->fc2_w, m->fc2_b, &r));
    return NAS_OK;
}

static bool print_epoch(const nas_epoch_stats *st, void *user) {
    (void)user;
    printf("epoch %d/%d  train loss %.4f acc %.4f  val loss %.4f acc %.4f  %.1f s\n", st->epoch,
           st->epochs, st->train_loss, st->train_acc, st->val_loss, st->val_acc, st->seconds);
    fflush(stdout);
    return true;
}

/* Whole-string non-negative integer, or -1. */
static int parse_int(const char *s) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v >= 0 && v <= 100000) ? (int)v : -1;
}

static void usage(void) {
    printf("usage: baseline_cnn [--epochs E (2)] [--threads N (all cores)] [--data DIR]\n"
           "Train the baseline CNN on Fashion-MNIST and print its test accuracy.\n");
}

int main(int argc, char **argv) {
    int epochs = 2, threads = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        } else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
            epochs = parse_int(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = parse_int(argv[++i]);
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "baseline_cnn: unknown or incomplete option '%s'\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (epochs < 1 || threads < 0) {
        fprintf(stderr, "baseline_cnn: --epochs must be an integer >= 1 and --threads >= 0\n");
        return 2;
    }
    if (threads > 0) {
        nas_set_threads(threads);
    }
    nas_status st = NAS_OK;
    nas_dataset train, test;
    nas_data_split split;
    baseline m;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    memset(&split, 0, sizeof split);
    memset(&m, 0, sizeof m);
    double t0 = nas_time_now();
    NAS_TRY(nas_data_load_fashion_mnist(&train, dir, "train"));
    NAS_TRY(nas_data_load_fashion_mnist(&test, dir, "test"));
    NAS_TRY(nas_data_split_make(&split, train.n, 5000, 1));
    nas_data_norm norm;
    NAS_TRY(nas_data_norm_compute(&train, split.train, split.n_train, &norm));
    NAS_TRY(baseline_init(&m, 1));
    printf("baseline CNN: %lld parameters, %lld train / %lld val / %lld test images, %d threads\n",
           (long long)m.params.numel, (long long)split.n_train, (long long)split.n_val,
           (long long)test.n, nas_get_threads());
    fflush(stdout);
    nas_train_recipe r = nas_train_recipe_default();
    r.epochs = epochs;
    r.batch_size = 64;
    r.lr = 0.05f;
    nas_model model = {.self = &m, .forward = baseline_forward, .params = &m.params};
    NAS_TRY(nas_train(&model, &train, split.train, split.n_train, &train, split.val, split.n_val,
                      &norm, &r, print_epoch, NULL));
    double loss, acc;
    NAS_TRY(nas_evaluate(&model, &test, NULL, 0, &norm, 256, &loss, &acc));
    printf("test loss %.4f  test accuracy %.4f  (%.0f s total)\n", loss, acc, nas_time_now() - t0);
cleanup:
    if (st != NAS_OK) {
        fprintf(stderr, "baseline_cnn: error: %s\n", nas_errmsg());
    }
    nas_params_free(&m.params);
    nas_data_split_free(&split);
    nas_data_free(&train);
    nas_data_free(&test);
    return st == NAS_OK ? 0 : 1;
}
