/*
 * Finite-difference gradient checking for tape ops (test helper).
 *
 * gc_check() builds the inputs from base arrays, runs `fn` on a recording tape, back-propagates
 * a fixed random projection R of the output (loss = sum(out * R), so no symmetric cancellation
 * hides an error), and compares every checked input element's analytic gradient with the
 * central difference (L(x+eps) - L(x-eps)) / 2eps evaluated in double. Inputs whose
 * `wants_grad` is false are constants (e.g. images).
 */
#pragma once

#include "ghnas/tensor.h"

#include <stdbool.h>

#define GC_MAX_INPUTS 8

typedef nas_tensor *(*gc_fn)(nas_tape *t, nas_tensor **in, void *ctx);

typedef struct gc_input {
    int ndim;                    /* dims of this input */
    int64_t shape[NAS_MAX_DIMS]; /* its shape */
    float *values;               /* base values (numel floats, owned by the caller) */
    bool wants_grad;             /* check d loss / d input */
} gc_input;

typedef struct gc_opts {
    double eps;     /* finite-difference step (default 1e-2) */
    double atol;    /* absolute tolerance (default 2e-3) */
    double rtol;    /* relative tolerance (default 2e-2) */
    int max_checks; /* elements checked per input, spread over the tensor (default 64) */
} gc_opts;

/* Defaults for any zero field of opts. */
gc_opts gc_default_opts(gc_opts opts);

/* Fill `n` floats with uniform values in [lo, hi) from a seeded RNG. */
void gc_fill_uniform(float *v, int64_t n, float lo, float hi, uint64_t seed);

/* Returns the number of mismatching elements (0 = pass) and prints details of the first few. */
int gc_check(const char *label, gc_fn fn, void *ctx, int n_in, gc_input *in, gc_opts opts);
