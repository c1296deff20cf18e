/*
 * Finite-difference gradient checker (see gradcheck.h).
 */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gc_opts gc_default_opts(gc_opts o) {
    if (o.eps == 0) {
        o.eps = 1e-2;
    }
    if (o.atol == 0) {
        o.atol = 2e-3;
    }
    if (o.rtol == 0) {
        o.rtol = 2e-2;
    }
    if (o.max_checks == 0) {
        o.max_checks = 64;
    }
    return o;
}

void gc_fill_uniform(float *v, int64_t n, float lo, float hi, uint64_t seed) {
    nas_rng r;
    nas_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        v[i] = lo + (hi - lo) * nas_rng_uniform(&r);
    }
}

static int64_t input_numel(const gc_input *in) {
    int64_t n = 1;
    for (int d = 0; d < in->ndim; d++) {
        n *= in->shape[d];
    }
    return n;
}

/* Forward only; returns sum(out * R) in double, or NAN on failure. */
static double eval_loss(nas_tape *t, gc_fn fn, void *ctx, int n_in, gc_input *in, const float *R,
                        int64_t r_numel) {
    nas_tensor *x[GC_MAX_INPUTS];
    nas_tape_reset(t);
    nas_tape_set_record(t, false);
    for (int i = 0; i < n_in; i++) {
        x[i] = nas_tensor_from(t, in[i].ndim, in[i].shape, in[i].values);
    }
    nas_tensor *out = fn(t, x, ctx);
    nas_tape_set_record(t, true);
    if (!out || out->numel != r_numel) {
        return NAN;
    }
    double s = 0.0;
    for (int64_t j = 0; j < out->numel; j++) {
        s += (double)out->data[j] * (double)R[j];
    }
    return s;
}

int gc_check(const char *label, gc_fn fn, void *ctx, int n_in, gc_input *in, gc_opts opts) {
    opts = gc_default_opts(opts);
    nas_tape t;
    nas_tape_init(&t);
    int failures = 0;
    float *analytic[GC_MAX_INPUTS] = {0};
    float *R = NULL;
    int64_t r_numel = 0;

    /* Analytic pass. */
    nas_tensor *x[GC_MAX_INPUTS];
    for (int i = 0; i < n_in; i++) {
        x[i] = nas_tensor_from(&t, in[i].ndim, in[i].shape, in[i].values);
        if (in[i].wants_grad) {
            nas_tensor_require_grad(&t, x[i]);
        }
    }
    nas_tensor *out = fn(&t, x, ctx);
    if (!out || nas_tape_status(&t) != NAS_OK) {
        fprintf(stderr, "[%s] forward failed: %s\n", label, nas_errmsg());
        failures = 1;
        goto cleanup;
    }
    r_numel = out->numel;
    R = malloc((size_t)r_numel * sizeof *R);
    gc_fill_uniform(R, r_numel, -1.0f, 1.0f, 0x5eedULL + (uint64_t)r_numel);
    if (nas_tape_backward_from(&t, out, R) != NAS_OK) {
        fprintf(stderr, "[%s] backward failed: %s\n", label, nas_errmsg());
        failures = 1;
        goto cleanup;
    }
    for (int i = 0; i < n_in; i++) {
        if (!in[i].wants_grad) {
            continue;
        }
        int64_t n = input_numel(&in[i]);
        analytic[i] = malloc((size_t)n * sizeof(float));
        memcpy(analytic[i], x[i]->grad, (size_t)n * sizeof(float));
    }

    /* Numeric pass. */
    for (int i = 0; i < n_in; i++) {
        if (!in[i].wants_grad) {
            continue;
        }
        int64_t n = input_numel(&in[i]);
        int64_t step = n > opts.max_checks ? n / opts.max_checks : 1;
        for (int64_t j = 0; j < n; j += step) {
            float orig = in[i].values[j];
            in[i].values[j] = (float)((double)orig + opts.eps);
            double lp = eval_loss(&t, fn, ctx, n_in, in, R, r_numel);
            in[i].values[j] = (float)((double)orig - opts.eps);
            double lm = eval_loss(&t, fn, ctx, n_in, in, R, r_numel);
            in[i].values[j] = orig;
            double num = (lp - lm) / (2.0 * opts.eps);
            double ana = analytic[i][j];
            double tol = opts.atol + opts.rtol * fmax(fabs(num), fabs(ana));
            if (!(fabs(num - ana) <= tol)) {
                if (failures < 5) {
                    fprintf(stderr, "[%s] input %d element %lld: analytic %.6g numeric %.6g\n",
                            label, i, (long long)j, ana, num);
                }
                failures++;
            }
        }
    }

cleanup:
    for (int i = 0; i < n_in; i++) {
        free(analytic[i]);
    }
    free(R);
    nas_tape_free(&t);
    return failures;
}
