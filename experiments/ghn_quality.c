/*
 * GHN quality experiment (issue 4): train the graph hypernetwork on NB201 / Fashion-MNIST for a
 * fixed wall-clock budget, then predict all weights of architectures the GHN never saw (a
 * held-out hash class excluded from training) and report the validation accuracy they reach
 * without any training: mean, median and best over --archs architectures, at the trained width
 * and at a wider C than any trained one; for the chunk-wise decoder and GHN-2's tiling decoder.
 * Also reports the training throughput (architectures x images per second).
 *
 *   build/experiments/ghn_quality --time 25m --decoders chunk,tile --out q
 *   build/experiments/ghn_quality --load q --archs 100     (re-evaluate the saved GHNs)
 */
#include "ghnas/ghn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct opts {
    double time_limit;
    long steps, meta_batch, batch, archs, val_n, val_n_wide, threads, holdout, seed, eval_C, wide_C,
        hid;
    int n_widths, widths[NAS_GHN_MAX_WIDTHS];
    bool dec[NAS_GHN_DECODER_COUNT];
    const char *out_prefix;
    const char *load_prefix; /* evaluate PREFIX-<decoder>.ckpt instead of training */
} opts;

static void usage(void) {
    printf("usage: ghn_quality [--time DUR | --steps N] [--decoders chunk,tile] [--meta-batch M]\n"
           "                   [--batch B] [--widths 8,12] [--eval-C 8] [--wide-C 16]\n"
           "                   [--archs 100] [--val-n 2000] [--val-n-wide 1000] [--hid 32]\n"
           "                   [--holdout 10] [--threads 2] [--seed 1] [--out PREFIX]\n"
           "                   [--load PREFIX]   (evaluate PREFIX-<decoder>.ckpt, no training)\n");
}

static double parse_time(const char *s) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end && *end == 'm') {
        v *= 60.0;
    } else if (end && *end == 'h') {
        v *= 3600.0;
    }
    return v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct summary {
    double mean, median, best, worst, seconds;
    int n;
} summary;

/* Score `count` held-out valid archs at width C on the first n_val validation images. */
static nas_status score_heldout(const nas_ghn *g, const nas_space *sp, const opts *o, int C,
                                const nas_dataset *ds, const nas_data_split *split,
                                const nas_data_norm *norm, int64_t n_val, summary *out) {
    nas_arch *archs = nas_calloc((size_t)o->archs, sizeof *archs);
    double *acc = nas_calloc((size_t)o->archs, sizeof *acc);
    nas_status *sts = nas_calloc((size_t)o->archs, sizeof *sts);
    if (!archs || !acc || !sts) {
        nas_free(archs);
        nas_free(acc);
        nas_free(sts);
        return nas_error(NAS_ENOMEM, "out of memory");
    }
    nas_rng rng;
    nas_rng_seed(&rng, 12345);
    char text[NAS_ARCH_STR_MAX];
    for (long k = 0; k < o->archs;) {
        nas_arch a;
        NAS_CHECK(nas_arch_sample(sp, &rng, &a));
        if (!nas_arch_is_valid(sp, &a)) {
            continue;
        }
        NAS_CHECK(nas_arch_encode(sp, &a, text, sizeof text));
        if (o->holdout > 0 && !nas_ghn_arch_held_out(text, (int)o->holdout)) {
            continue; /* only archs training never sampled */
        }
        archs[k++] = a;
    }
    double t0 = nas_time_now();
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)o->threads) schedule(dynamic, 1)
#endif
    for (long k = 0; k < o->archs; k++) {
        nas_net net;
        nas_net_config nc = nas_net_config_default();
        nc.C = C;
        nc.classes = g->cfg.classes;
        double loss = 0.0;
        sts[k] = nas_net_compile(&net, sp, &archs[k], &nc);
        if (sts[k] == NAS_OK) {
            sts[k] = nas_ghn_evaluate(g, &net, ds, split->val, n_val, norm, 128, &loss, &acc[k]);
            nas_net_free(&net);
        }
    }
    out->seconds = nas_time_now() - t0;
    nas_status st = NAS_OK;
    for (long k = 0; k < o->archs; k++) {
        if (sts[k] != NAS_OK) {
            st = nas_error(sts[k], "scoring arch %ld failed", k);
        }
    }
    double sum = 0.0;
    for (long k = 0; k < o->archs; k++) {
        sum += acc[k];
    }
    qsort(acc, (size_t)o->archs, sizeof *acc, cmp_double);
    out->n = (int)o->archs;
    out->mean = sum / (double)o->archs;
    out->median = acc[o->archs / 2];
    out->best = acc[o->archs - 1];
    out->worst = acc[0];
    nas_free(archs);
    nas_free(acc);
    nas_free(sts);
    return st;
}

int main(int argc, char **argv) {
    opts o = {0};
    o.time_limit = 25 * 60.0;
    o.meta_batch = 8;
    o.batch = 64;
    o.archs = 100;
    o.val_n = 2000;
    o.val_n_wide = 1000;
    o.threads = 2;
    o.holdout = 10;
    o.seed = 1;
    o.eval_C = 8;
    o.wide_C = 16;
    o.hid = 32;
    o.n_widths = 2;
    o.widths[0] = 8;
    o.widths[1] = 12;
    o.dec[NAS_GHN_DECODER_CHUNK] = o.dec[NAS_GHN_DECODER_TILE] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        }
        if (!v) {
            fprintf(stderr, "ghn_quality: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--time") == 0) {
            o.time_limit = parse_time(v);
            o.steps = 0;
        } else if (strcmp(a, "--steps") == 0) {
            o.steps = atol(v);
            o.time_limit = 0.0;
        } else if (strcmp(a, "--meta-batch") == 0) {
            o.meta_batch = atol(v);
        } else if (strcmp(a, "--batch") == 0) {
            o.batch = atol(v);
        } else if (strcmp(a, "--archs") == 0) {
            o.archs = atol(v);
        } else if (strcmp(a, "--val-n") == 0) {
            o.val_n = atol(v);
        } else if (strcmp(a, "--val-n-wide") == 0) {
            o.val_n_wide = atol(v);
        } else if (strcmp(a, "--threads") == 0) {
            o.threads = atol(v);
        } else if (strcmp(a, "--holdout") == 0) {
            o.holdout = atol(v);
        } else if (strcmp(a, "--seed") == 0) {
            o.seed = atol(v);
        } else if (strcmp(a, "--eval-C") == 0) {
            o.eval_C = atol(v);
        } else if (strcmp(a, "--wide-C") == 0) {
            o.wide_C = atol(v);
        } else if (strcmp(a, "--hid") == 0) {
            o.hid = atol(v);
        } else if (strcmp(a, "--out") == 0) {
            o.out_prefix = v;
        } else if (strcmp(a, "--load") == 0) {
            o.load_prefix = v;
        } else if (strcmp(a, "--widths") == 0) {
            o.n_widths = 0;
            const char *p = v;
            while (*p && o.n_widths < NAS_GHN_MAX_WIDTHS) {
                char *end = NULL;
                o.widths[o.n_widths++] = (int)strtol(p, &end, 10);
                if (end == p) {
                    fprintf(stderr, "ghn_quality: bad --widths '%s'\n", v);
                    return 2;
                }
                p = end + (*end == ',');
            }
        } else if (strcmp(a, "--decoders") == 0) {
            o.dec[NAS_GHN_DECODER_CHUNK] = strstr(v, "chunk") != NULL;
            o.dec[NAS_GHN_DECODER_TILE] = strstr(v, "tile") != NULL;
        } else {
            fprintf(stderr, "ghn_quality: unknown option %s\n", a);
            usage();
            return 2;
        }
    }
    if (o.archs < 1 || o.threads < 1 || o.n_widths < 1) {
        fprintf(stderr, "ghn_quality: --archs, --threads and --widths must be positive\n");
        return 2;
    }
    nas_set_threads((int)o.threads);
    nas_space sp;
    nas_dataset ds;
    nas_data_split split;
    nas_data_norm norm;
    if (nas_space_load(&sp, "nb201") != NAS_OK ||
        nas_data_load_fashion_mnist(&ds, NULL, "train") != NAS_OK ||
        nas_data_split_make(&split, ds.n, 10000, 1) != NAS_OK ||
        nas_data_norm_compute(&ds, split.train, split.n_train, &norm) != NAS_OK) {
        fprintf(stderr, "ghn_quality: %s\n", nas_errmsg());
        return 1;
    }
    printf("# GHN quality: nb201 (C trained in {");
    for (int i = 0; i < o.n_widths; i++) {
        printf("%s%d", i ? "," : "", o.widths[i]);
    }
    printf("}, N 1), Fashion-MNIST 50000 train / 10000 val (split seed 1); budget %s per "
           "decoder; meta-batch %ld x %ld images; %ld held-out archs (hash %% %ld == 0, never "
           "trained on); BN batch statistics, eval batch 128; %ld threads\n",
           o.steps > 0 ? "steps" : "time", o.meta_batch, o.batch, o.archs, o.holdout, o.threads);
    printf("| decoder | steps | train time | arch-images/s | C | val images | mean acc | "
           "median | best | worst | eval s |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (int d = 0; d < NAS_GHN_DECODER_COUNT; d++) {
        if (!o.dec[d]) {
            continue;
        }
        nas_ghn_config gc = nas_ghn_config_default();
        gc.decoder = (nas_ghn_decoder)d;
        gc.hid = (int)o.hid;
        gc.dec_hid = 4 * (int)o.hid;
        nas_ghn_train_config tc = nas_ghn_train_defaults();
        tc.steps = o.steps;
        tc.time_limit = o.time_limit;
        tc.meta_batch = (int)o.meta_batch;
        tc.batch_size = (int)o.batch;
        tc.n_widths = o.n_widths;
        memcpy(tc.widths, o.widths, sizeof tc.widths);
        tc.threads = (int)o.threads;
        tc.holdout_mod = (int)o.holdout;
        tc.seed = (uint64_t)o.seed;
        nas_ghn g;
        nas_ghn_trainer tr;
        memset(&g, 0, sizeof g);
        memset(&tr, 0, sizeof tr);
        char load_path[512];
        snprintf(load_path, sizeof load_path, "%s-%s.ckpt", o.load_prefix ? o.load_prefix : "",
                 nas_ghn_decoder_name(gc.decoder));
        if (o.load_prefix
                ? nas_ghn_load(&g, &tr, NULL, load_path) != NAS_OK
                : (nas_ghn_init(&g, &gc, tc.seed) != NAS_OK || nas_ghn_trainer_init(&tr, &g, &tc) ||
                   nas_ghn_train(&g, &tr, &sp, &ds, split.train, split.n_train, &norm, NULL,
                                 NULL) != NAS_OK)) {
            fprintf(stderr, "ghn_quality: %s\n", nas_errmsg());
            return 1;
        }
        if (o.out_prefix && !o.load_prefix) {
            char path[512];
            snprintf(path, sizeof path, "%s-%s.ckpt", o.out_prefix,
                     nas_ghn_decoder_name(gc.decoder));
            snprintf(tr.data.space, sizeof tr.data.space, "nb201");
            snprintf(tr.data.dataset, sizeof tr.data.dataset, "fashion-mnist");
            tr.data.n_val = 10000;
            tr.data.split_seed = 1;
            tr.data.norm = norm;
            tr.data.in_c = 1;
            tr.data.in_h = tr.data.in_w = 28;
            if (nas_ghn_save(&g, &tr, path) != NAS_OK) {
                fprintf(stderr, "ghn_quality: %s\n", nas_errmsg());
            }
        }
        double tput = (double)tr.archs * (double)o.batch / tr.seconds;
        long Cs[3] = {o.eval_C, o.wide_C, o.wide_C};
        uint8_t *seen = nas_malloc((size_t)g.n_seen);
        if (!seen) {
            fprintf(stderr, "ghn_quality: out of memory\n");
            return 1;
        }
        memcpy(seen, g.seen, (size_t)g.n_seen);
        for (int w = 0; w < 3; w++) {
            summary s = {0};
            int64_t nv = w == 0 ? o.val_n : o.val_n_wide;
            if (w == 2) {
                nas_ghn_clear_seen(&g); /* ablation: untrained rows used as they are */
            }
            if (score_heldout(&g, &sp, &o, (int)Cs[w], &ds, &split, &norm, nv, &s) != NAS_OK) {
                fprintf(stderr, "ghn_quality: %s\n", nas_errmsg());
                return 1;
            }
            printf("| %s | %lld (%lld skipped) | %.0f s | %.0f | %ld%s | %lld | **%.4f** | %.4f | "
                   "**%.4f** | %.4f | %.0f |\n",
                   nas_ghn_decoder_name(gc.decoder), (long long)tr.step, (long long)tr.skipped,
                   tr.seconds, tput, Cs[w],
                   w == 0   ? ""
                   : w == 1 ? " (wider)"
                            : " (wider, no stand-ins)",
                   (long long)nv, s.mean, s.median, s.best, s.worst, s.seconds);
            fflush(stdout);
        }
        memcpy(g.seen, seen, (size_t)g.n_seen);
        nas_free(seen);
        nas_ghn_trainer_free(&tr);
        nas_ghn_free(&g);
    }
    nas_data_split_free(&split);
    nas_data_free(&ds);
    return 0;
}
