/*
 * bench_conv: times nas_conv2d forward and forward+backward (and the pools) on the NAS-Bench-201
 * shapes for 28x28 inputs at batch 64, and prints GFLOP/s next to a measured nas_sgemm peak
 * (1024^3, same thread count). Forward+backward counts 3x the forward FLOPs (dW and dx; 2x for
 * the stem, whose input needs no gradient) and its time includes the tape's gradient buffers.
 * Each measurement is the median of `reps` single-op runs after two warm-ups.
 * Usage: OMP_NUM_THREADS=2 bench_conv [batch] [reps]
 */
#include "ghnas/tensor.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct bench_shape {
    const char *name;
    int64_t cin, cout, h, k;
    int stride, pad;
    bool grad_x; /* does the input need a gradient (false for the stem) */
} bench_shape;

static const bench_shape shapes[] = {
    {"stem 3x3 1->16 @28", 1, 16, 28, 3, 1, 1, false},
    {"3x3 16->16 @28", 16, 16, 28, 3, 1, 1, true},
    {"1x1 16->16 @28", 16, 16, 28, 1, 1, 0, true},
    {"3x3/2 16->32 @28", 16, 32, 28, 3, 2, 1, true},
    {"1x1 16->32 @14", 16, 32, 14, 1, 1, 0, true},
    {"3x3 32->32 @14", 32, 32, 14, 3, 1, 1, true},
    {"1x1 32->32 @14", 32, 32, 14, 1, 1, 0, true},
    {"3x3/2 32->64 @14", 32, 64, 14, 3, 2, 1, true},
    {"1x1 32->64 @7", 32, 64, 7, 1, 1, 0, true},
    {"3x3 64->64 @7", 64, 64, 7, 3, 1, 1, true},
    {"1x1 64->64 @7", 64, 64, 7, 1, 1, 0, true},
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void fill(float *v, int64_t n, uint64_t seed) {
    nas_rng r;
    nas_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        v[i] = nas_rng_uniform(&r) - 0.5f;
    }
}

/* Median seconds of 1024^3 sgemm; returns GFLOP/s. */
static double sgemm_peak(void) {
    const int64_t n = 1024;
    float *a = nas_malloc((size_t)(n * n) * sizeof(float));
    float *b = nas_malloc((size_t)(n * n) * sizeof(float));
    float *c = nas_malloc((size_t)(n * n) * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "bench_conv: out of memory\n");
        exit(1);
    }
    fill(a, n * n, 1);
    fill(b, n * n, 2);
    double t[7];
    for (int r = 0; r < 8; r++) {
        double t0 = nas_time_now();
        nas_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = nas_time_now() - t0;
        if (r > 0) {
            t[r - 1] = dt;
        }
    }
    nas_free(a);
    nas_free(b);
    nas_free(c);
    return 2.0 * (double)(n * n * n) / median(t, 7) * 1e-9;
}

int main(int argc, char **argv) {
    int64_t batch = argc > 1 ? atoll(argv[1]) : 64;
    int reps = argc > 2 ? atoi(argv[2]) : 15;
    if (batch < 1 || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: bench_conv [batch >= 1] [reps 1..1000]\n");
        return 2;
    }
    nas_set_threads(nas_get_threads());
    double peak = sgemm_peak();
    printf("threads %d, batch %lld, median of %d runs\n", nas_get_threads(), (long long)batch,
           reps);
    printf("nas_sgemm 1024^3 peak: %.1f GFLOP/s\n\n", peak);
    printf("%-22s %9s %8s %6s   %9s %8s %6s\n", "conv2d", "fwd ms", "GFLOP/s", "%peak", "f+b ms",
           "GFLOP/s", "%peak");

    nas_tape t;
    if (nas_tape_init(&t) != NAS_OK) {
        return 1;
    }
    double *tf = nas_malloc((size_t)reps * sizeof(double));
    double *tb = nas_malloc((size_t)reps * sizeof(double));
    double sum_f = 0.0, sum_fb = 0.0, fl_f = 0.0, fl_fb = 0.0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const bench_shape *sh = &shapes[s];
        int64_t ho = (sh->h + 2 * sh->pad - sh->k) / sh->stride + 1;
        double flops = 2.0 * (double)(batch * sh->cout * ho * ho * sh->cin * sh->k * sh->k);
        int64_t xn = batch * sh->cin * sh->h * sh->h, wn = sh->cout * sh->cin * sh->k * sh->k;
        int64_t yn = batch * sh->cout * ho * ho;
        float *hx = nas_malloc((size_t)xn * sizeof(float));
        float *hw = nas_malloc((size_t)wn * sizeof(float));
        float *hdy = nas_malloc((size_t)yn * sizeof(float));
        if (!hx || !hw || !hdy) {
            fprintf(stderr, "bench_conv: out of memory\n");
            return 1;
        }
        fill(hx, xn, 3);
        fill(hw, wn, 4);
        fill(hdy, yn, 5);
        for (int r = -2; r < reps; r++) { /* two warm-up runs */
            nas_tape_reset(&t);
            nas_tensor *x = nas_tensor_from(&t, 4, (int64_t[]){batch, sh->cin, sh->h, sh->h}, hx);
            nas_tensor *w =
                nas_tensor_from(&t, 4, (int64_t[]){sh->cout, sh->cin, sh->k, sh->k}, hw);
            if (!x || !w) {
                fprintf(stderr, "bench_conv: %s\n", nas_errmsg());
                return 1;
            }
            nas_tensor_require_grad(&t, w);
            if (sh->grad_x) {
                nas_tensor_require_grad(&t, x);
            }
            double t0 = nas_time_now();
            nas_tensor *y = nas_conv2d(&t, x, w, NULL, sh->stride, sh->pad, 1, 1);
            double t1 = nas_time_now();
            if (!y || nas_tape_backward_from(&t, y, hdy) != NAS_OK) {
                fprintf(stderr, "bench_conv: %s\n", nas_errmsg());
                return 1;
            }
            double t2 = nas_time_now();
            if (r >= 0) {
                tf[r] = t1 - t0;
                tb[r] = t2 - t0;
            }
        }
        nas_free(hx);
        nas_free(hw);
        nas_free(hdy);
        double mf = median(tf, reps), mb = median(tb, reps);
        double fb_flops = flops * (sh->grad_x ? 3.0 : 2.0);
        double gf = flops / mf * 1e-9, gb = fb_flops / mb * 1e-9;
        printf("%-22s %9.3f %8.1f %5.0f%%   %9.3f %8.1f %5.0f%%\n", sh->name, mf * 1e3, gf,
               100.0 * gf / peak, mb * 1e3, gb, 100.0 * gb / peak);
        sum_f += mf;
        sum_fb += mb;
        fl_f += flops;
        fl_fb += fb_flops;
    }
    printf("%-22s %9.3f %8.1f %5.0f%%   %9.3f %8.1f %5.0f%%\n\n", "all shapes once", sum_f * 1e3,
           fl_f / sum_f * 1e-9, 100.0 * fl_f / sum_f * 1e-9 / peak, sum_fb * 1e3,
           fl_fb / sum_fb * 1e-9, 100.0 * fl_fb / sum_fb * 1e-9 / peak);

    /* Pools at the NB201 sizes (memory-bound: reported in ms only). */
    static const struct {
        const char *name;
        int64_t c, h;
        int k, stride, pad;
        int kind; /* 0 avg (count_include_pad false), 1 max, 2 global avg */
    } pools[] = {
        {"avgpool 3x3/1 16@28", 16, 28, 3, 1, 1, 0}, {"avgpool 3x3/1 32@14", 32, 14, 3, 1, 1, 0},
        {"avgpool 3x3/1 64@7", 64, 7, 3, 1, 1, 0},   {"avgpool 2x2/2 16@28", 16, 28, 2, 2, 0, 0},
        {"maxpool 3x3/1 16@28", 16, 28, 3, 1, 1, 1}, {"gap 64@7", 64, 7, 0, 0, 0, 2},
    };
    printf("%-22s %9s %9s\n", "pool", "fwd ms", "f+b ms");
    for (size_t s = 0; s < sizeof pools / sizeof pools[0]; s++) {
        int64_t xn = batch * pools[s].c * pools[s].h * pools[s].h;
        float *hx = nas_malloc((size_t)xn * sizeof(float));
        float *hdy = nas_malloc((size_t)xn * sizeof(float)); /* enough for any pool output */
        if (!hx || !hdy) {
            fprintf(stderr, "bench_conv: out of memory\n");
            return 1;
        }
        fill(hx, xn, 6);
        fill(hdy, xn, 7);
        for (int r = -2; r < reps; r++) {
            nas_tape_reset(&t);
            nas_tensor *x =
                nas_tensor_from(&t, 4, (int64_t[]){batch, pools[s].c, pools[s].h, pools[s].h}, hx);
            if (!x) {
                fprintf(stderr, "bench_conv: %s\n", nas_errmsg());
                return 1;
            }
            nas_tensor_require_grad(&t, x);
            double t0 = nas_time_now();
            nas_tensor *y = pools[s].kind == 0 ? nas_avgpool2d(&t, x, pools[s].k, pools[s].stride,
                                                               pools[s].pad, false)
                            : pools[s].kind == 1
                                ? nas_maxpool2d(&t, x, pools[s].k, pools[s].stride, pools[s].pad)
                                : nas_global_avgpool(&t, x);
            double t1 = nas_time_now();
            if (!y || nas_tape_backward_from(&t, y, hdy) != NAS_OK) {
                fprintf(stderr, "bench_conv: %s\n", nas_errmsg());
                return 1;
            }
            double t2 = nas_time_now();
            if (r >= 0) {
                tf[r] = t1 - t0;
                tb[r] = t2 - t0;
            }
        }
        nas_free(hx);
        nas_free(hdy);
        printf("%-22s %9.3f %9.3f\n", pools[s].name, median(tf, reps) * 1e3,
               median(tb, reps) * 1e3);
    }
    nas_free(tf);
    nas_free(tb);
    nas_tape_free(&t);
    return 0;
}
