/*
 * Benchmark: the GHN's two workloads, timed through the library's own entry points, for
 * comparison with the PyTorch twin (ghn_torch.py bench; bench_ghn.sh runs both alternately).
 *
 *   train  nas_ghn_train steps with meta-batch m (default 4) random NB201 cells at width C and
 *          N cells per stage, one shared batch of B (64) Fashion-MNIST training images, AdamW,
 *          clipping, warmup + cosine -- exactly `ghnas train`'s loop (one arch per thread);
 *          the first --warmup steps are not timed, then steps run for --seconds.
 *   score  what `ghnas score` does per architecture: nas_ghn_evaluate_ws (compile, GHN graph,
 *          predict once, the first --val-n validation images in evaluation batches of
 *          --eval-batch with BN batch statistics), one architecture per thread, for --seconds.
 *          The architectures are `ghnas score --random 64 --seed S`'s, cycled; with
 *          --warmup > 0 the first one is scored once untimed.
 *
 * A fresh GHN (default config, --decoder, --hid) for every grid point; the data split is
 * `ghnas train`'s default (10,000 validation images, split seed 1, normalisation computed on
 * the training part). Prints one JSON line per grid point (N:C), with the same keys as the
 * twin's.
 *
 * A dedicated program rather than timings of `ghnas train --steps` / `ghnas score`: those
 * include dataset loading and start-up in their wall time, have no warmup exclusion and report
 * no per-step figures, and one process here covers the whole N x C grid.
 */
#include "ghnas/data.h"
#include "ghnas/ghn.h"
#include "ghnas/net.h"
#include "ghnas/space.h"
#include "ghnas/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define N_SCORE_ARCHS 64
#define MAX_STEPS     100000

typedef struct opts {
    int threads, warmup, meta, batch, val_n, eval_batch, hid;
    double seconds;
    uint64_t seed;
    const char *grid, *what, *decoder, *data_dir;
} opts;

/* Per-step timing through the trainer's callback. */
typedef struct step_clock {
    int warmup;
    double seconds;
    double t_prev, t_start;
    double *times; /* [MAX_STEPS] measured step durations */
    int n;         /* measured steps */
    int seen;      /* steps completed */
} step_clock;

static bool on_step(const nas_ghn_trainer *tr, double loss, double acc, void *user) {
    (void)tr;
    (void)loss;
    (void)acc;
    step_clock *c = user;
    double now = nas_time_now();
    c->seen++;
    if (c->seen == c->warmup) {
        c->t_start = now;
    } else if (c->seen > c->warmup && c->n < MAX_STEPS) {
        c->times[c->n++] = now - c->t_prev;
    }
    c->t_prev = now;
    return !(c->n > 0 && now - c->t_start >= c->seconds);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static nas_status ghn_fresh(nas_ghn *g, const opts *o) {
    nas_ghn_config gc = nas_ghn_config_default();
    gc.hid = o->hid;
    gc.dec_hid = 4 * o->hid; /* as ghnas train --hid */
    NAS_CHECK(nas_ghn_decoder_from_name(o->decoder, &gc.decoder));
    return nas_ghn_init(g, &gc, o->seed);
}

/* Train steps at (N, C): median and mean step time, arch-images/s. */
static nas_status bench_train(const opts *o, const nas_space *sp, const nas_dataset *ds,
                              const nas_data_split *split, const nas_data_norm *norm, int N, int C,
                              char *json, size_t cap) {
    nas_ghn g;
    nas_ghn_trainer tr;
    nas_status st = NAS_OK;
    memset(&tr, 0, sizeof tr);
    NAS_CHECK(ghn_fresh(&g, o));
    nas_ghn_train_config tc = nas_ghn_train_defaults();
    tc.steps = 1000; /* schedule length; the clock stops the run */
    tc.meta_batch = o->meta;
    tc.batch_size = o->batch;
    tc.n_widths = 1;
    tc.widths[0] = C;
    tc.N = N;
    tc.seed = o->seed;
    tc.threads = o->threads;
    step_clock clk;
    memset(&clk, 0, sizeof clk);
    clk.warmup = o->warmup;
    clk.seconds = o->seconds;
    clk.times = malloc(MAX_STEPS * sizeof *clk.times);
    if (!clk.times) {
        st = nas_error(NAS_ENOMEM, "bench_ghn: out of memory");
        goto cleanup;
    }
    clk.t_prev = clk.t_start = nas_time_now();
    NAS_TRY(nas_ghn_trainer_init(&tr, &g, &tc));
    st = nas_ghn_train(&g, &tr, sp, ds, split->train, split->n_train, norm, on_step, &clk);
    if (st == NAS_EINTERRUPTED) {
        st = NAS_OK;
    }
    NAS_TRY(st);
    if (clk.n < 1) {
        st = nas_error(NAS_EINTERNAL, "bench_ghn: no step was timed");
        goto cleanup;
    }
    double wall = 0.0;
    for (int i = 0; i < clk.n; i++) {
        wall += clk.times[i];
    }
    qsort(clk.times, (size_t)clk.n, sizeof *clk.times, cmp_double);
    snprintf(json, cap,
             "\"train_steps\": %d, \"train_ms_median\": %.2f, \"train_ms_mean\": %.2f, "
             "\"train_arch_img_s\": %.1f, \"train_skipped\": %lld",
             clk.n, 1e3 * clk.times[clk.n / 2], 1e3 * wall / clk.n,
             (double)o->meta * o->batch * clk.n / wall, (long long)tr.skipped);
cleanup:
    free(clk.times);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
    return st;
}

/* Score architectures at (N, C) for o->seconds, one per thread: archs/s. */
static nas_status bench_score(const opts *o, const nas_space *sp, const nas_dataset *ds,
                              const nas_data_split *split, const nas_data_norm *norm, int N, int C,
                              char *json, size_t cap) {
    nas_ghn g;
    NAS_CHECK(ghn_fresh(&g, o));
    nas_status st = NAS_OK;
    nas_arch archs[N_SCORE_ARCHS];
    nas_rng rng;
    nas_rng_seed(&rng, o->seed);
    for (int k = 0; k < N_SCORE_ARCHS; k++) {
        do {
            NAS_TRY(nas_arch_sample(sp, &rng, &archs[k]));
        } while (!nas_arch_is_valid(sp, &archs[k]));
    }
    const int64_t n_eval = o->val_n < split->n_val ? o->val_n : split->n_val;
    nas_net_config nc = nas_net_config_default();
    nc.C = C;
    nc.N = N;
    nc.in_c = ds->c;
    nc.in_h = ds->h;
    nc.in_w = ds->w;
    nc.classes = g.cfg.classes;
    if (o->warmup > 0) { /* one untimed architecture, as the twin does */
        nas_net net;
        double loss, acc;
        NAS_TRY(nas_net_compile(&net, sp, &archs[0], &nc));
        st = nas_ghn_evaluate(&g, &net, ds, split->val, n_eval, norm, o->eval_batch, &loss, &acc);
        nas_net_free(&net);
        NAS_TRY(st);
    }
    int next = 0, done = 0;
    nas_status fail = NAS_OK;
    char msg[512] = "";
    double sum_acc = 0.0;
    const double t0 = nas_time_now();
    double t_end = t0;
#ifdef _OPENMP
#pragma omp parallel num_threads(o->threads) if (o->threads > 1)
#endif
    {
        nas_ghn_eval_ws ws; /* one per thread, reused across architectures as ghnas score does */
        memset(&ws, 0, sizeof ws);
        for (;;) {
            int k;
            bool stop;
#ifdef _OPENMP
#pragma omp critical(bench_ghn_next)
#endif
            {
                /* every thread finishes the arch it holds; none starts one after the time is up */
                stop = fail != NAS_OK || (done > 0 && nas_time_now() - t0 >= o->seconds);
                k = next++;
            }
            if (stop) {
                break;
            }
            nas_net net;
            double loss = 0.0, acc = 0.0;
            nas_status s = nas_net_compile(&net, sp, &archs[k % N_SCORE_ARCHS], &nc);
            if (s == NAS_OK) {
                s = nas_ghn_evaluate_ws(&g, &ws, &net, ds, split->val, n_eval, norm, o->eval_batch,
                                        &loss, &acc);
            }
            nas_net_free(&net);
#ifdef _OPENMP
#pragma omp critical(bench_ghn_next)
#endif
            {
                if (s != NAS_OK && fail == NAS_OK) {
                    fail = s;
                    snprintf(msg, sizeof msg, "%s", nas_errmsg());
                }
                done++;
                sum_acc += acc;
                t_end = nas_time_now();
            }
        }
        nas_ghn_eval_ws_free(&ws);
    }
    if (fail != NAS_OK) {
        st = nas_error(fail, "bench_ghn: scoring: %s", msg);
        goto cleanup;
    }
    const double wall = t_end - t0;
    snprintf(json, cap,
             "\"score_archs\": %d, \"score_ms_per_arch\": %.2f, \"score_archs_s\": %.3f, "
             "\"score_mean_acc\": %.4f, \"val_n\": %lld, \"eval_batch\": %d",
             done, 1e3 * wall / done, done / wall, sum_acc / done, (long long)n_eval,
             o->eval_batch);
cleanup:
    nas_ghn_free(&g);
    return st;
}

static void usage(FILE *f) {
    fprintf(f, "usage: bench_ghn [--threads 2] [--seconds 10] [--warmup 2] [--grid N:C,...]\n"
               "                 [--meta 4] [--batch 64] [--val-n 2000] [--eval-batch 128]\n"
               "                 [--what train,score] [--decoder chunk|tile] [--hid 32]\n"
               "                 [--seed 1] [--data-dir DIR]\n");
}

int main(int argc, char **argv) {
    opts o = {.threads = 2,
              .warmup = 2,
              .meta = 4,
              .batch = 64,
              .val_n = 2000,
              .eval_batch = 128,
              .hid = 32,
              .seconds = 10.0,
              .seed = 1,
              .grid = "1:8",
              .what = "train,score",
              .decoder = "chunk",
              .data_dir = NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--threads") == 0) {
            o.threads = atoi(v);
        } else if (strcmp(a, "--seconds") == 0) {
            o.seconds = atof(v);
        } else if (strcmp(a, "--warmup") == 0) {
            o.warmup = atoi(v);
        } else if (strcmp(a, "--grid") == 0) {
            o.grid = v;
        } else if (strcmp(a, "--meta") == 0) {
            o.meta = atoi(v);
        } else if (strcmp(a, "--batch") == 0) {
            o.batch = atoi(v);
        } else if (strcmp(a, "--val-n") == 0) {
            o.val_n = atoi(v);
        } else if (strcmp(a, "--eval-batch") == 0) {
            o.eval_batch = atoi(v);
        } else if (strcmp(a, "--what") == 0) {
            o.what = v;
        } else if (strcmp(a, "--decoder") == 0) {
            o.decoder = v;
        } else if (strcmp(a, "--hid") == 0) {
            o.hid = atoi(v);
        } else if (strcmp(a, "--seed") == 0) {
            o.seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--data-dir") == 0) {
            o.data_dir = v;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (o.threads < 1 || !(o.seconds > 0) || o.warmup < 0 || o.meta < 1 || o.batch < 1 ||
        o.val_n < 1 || o.eval_batch < 1) {
        fprintf(stderr, "bench_ghn: options out of range\n");
        return 2;
    }
    const bool do_train = strstr(o.what, "train") != NULL;
    const bool do_score = strstr(o.what, "score") != NULL;
    nas_set_threads(o.threads);
    nas_progress_set_enabled(false);
    nas_space sp;
    nas_dataset ds;
    nas_data_split split;
    nas_data_norm norm;
    if (nas_space_load(&sp, "nb201") != NAS_OK ||
        nas_data_load_fashion_mnist(&ds, o.data_dir, "train") != NAS_OK ||
        nas_data_split_make(&split, ds.n, 10000, 1) != NAS_OK ||
        nas_data_norm_compute(&ds, split.train, split.n_train, &norm) != NAS_OK) {
        fprintf(stderr, "bench_ghn: %s\n", nas_errmsg());
        return 1;
    }
    int rc = 0;
    for (const char *p = o.grid; p && *p;) {
        int N = 0, C = 0;
        if (sscanf(p, "%d:%d", &N, &C) != 2 || N < 1 || C < 1) {
            fprintf(stderr, "bench_ghn: --grid wants N:C,N:C,... (at '%s')\n", p);
            rc = 2;
            break;
        }
        char jt[512] = "", js[512] = "";
        if ((do_train && bench_train(&o, &sp, &ds, &split, &norm, N, C, jt, sizeof jt) != NAS_OK) ||
            (do_score && bench_score(&o, &sp, &ds, &split, &norm, N, C, js, sizeof js) != NAS_OK)) {
            fprintf(stderr, "bench_ghn: N=%d C=%d: %s\n", N, C, nas_errmsg());
            rc = 1;
            break;
        }
        printf("{\"impl\": \"ghnas\", \"threads\": %d, \"C\": %d, \"N\": %d, \"meta\": %d, "
               "\"batch\": %d, \"decoder\": \"%s\"%s%s%s%s}\n",
               o.threads, C, N, o.meta, o.batch, o.decoder, jt[0] ? ", " : "", jt,
               js[0] ? ", " : "", js);
        fflush(stdout);
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    nas_data_split_free(&split);
    nas_data_free(&ds);
    return rc;
}
