/*
 * Weight initialisers following torch.nn.init: constant, uniform, normal, kaiming (He) and
 * xavier (Glorot) in their normal and uniform forms, PyTorch's fan computation and gains, and
 * the default reset_parameters() of nn.Linear / nn.Conv2d.
 *
 * Random fills draw from an explicit nas_rng in storage order (serially: the stream, not the
 * thread count, fixes the values). Scales are computed in double and applied per element in
 * double before rounding to float.
 */
#include "ghnas/nn.h"

#include <math.h>

/* A tensor we can write into: non-NULL with data. `fn` names the caller for the message. */
static nas_status check_target(const nas_tensor *t, const char *fn) {
    if (!t) {
        return nas_error(NAS_EINVAL, "%s: tensor is NULL", fn);
    }
    if (!t->data) {
        return nas_error(NAS_EINVAL,
                         "%s: tensor '%s' has no data (parameters are valid only after "
                         "nas_params_finalize)",
                         fn, t->name ? t->name : "?");
    }
    return NAS_OK;
}

float nas_init_gain(nas_nonlin nl, float param) {
    switch (nl) {
        case NAS_NONLIN_LINEAR:
        case NAS_NONLIN_SIGMOID:
            return 1.0f;
        case NAS_NONLIN_TANH:
            return 5.0f / 3.0f;
        case NAS_NONLIN_RELU:
            return (float)sqrt(2.0);
        case NAS_NONLIN_LEAKY_RELU: {
            double a = (double)param;
            return (float)sqrt(2.0 / (1.0 + a * a));
        }
    }
    return 1.0f;
}

nas_status nas_init_fans(const nas_tensor *t, int64_t *fan_in, int64_t *fan_out) {
    if (!t) {
        return nas_error(NAS_EINVAL, "init fans: tensor is NULL");
    }
    if (t->ndim < 2) {
        char buf[64];
        return nas_error(NAS_ESHAPE,
                         "init fans: tensor '%s' of shape %s has fewer than 2 dims, so fan in "
                         "and fan out are undefined",
                         t->name ? t->name : "?", nas_shape_str(t, buf, sizeof buf));
    }
    int64_t receptive = 1;
    for (int d = 2; d < t->ndim; d++) {
        receptive *= t->shape[d];
    }
    if (fan_in) {
        *fan_in = t->shape[1] * receptive;
    }
    if (fan_out) {
        *fan_out = t->shape[0] * receptive;
    }
    return NAS_OK;
}

nas_status nas_init_constant(nas_tensor *t, float value) {
    NAS_CHECK(check_target(t, "init constant"));
    for (int64_t i = 0; i < t->numel; i++) {
        t->data[i] = value;
    }
    return NAS_OK;
}

nas_status nas_init_zeros(nas_tensor *t) {
    return nas_init_constant(t, 0.0f);
}

nas_status nas_init_ones(nas_tensor *t) {
    return nas_init_constant(t, 1.0f);
}

/* Fill with lo + (hi - lo) * u, u uniform in [0, 1), kept strictly below hi after rounding. */
static void fill_uniform(nas_tensor *t, nas_rng *r, double lo, double hi) {
    const float top = nextafterf((float)hi, (float)lo); /* largest float below hi */
    for (int64_t i = 0; i < t->numel; i++) {
        float x = (float)(lo + (hi - lo) * (double)nas_rng_uniform(r));
        t->data[i] = x < (float)hi ? x : top;
    }
}

static void fill_normal(nas_tensor *t, nas_rng *r, double mean, double std) {
    for (int64_t i = 0; i < t->numel; i++) {
        t->data[i] = (float)(mean + std * (double)nas_rng_normal(r));
    }
}

nas_status nas_init_uniform(nas_tensor *t, nas_rng *r, float lo, float hi) {
    NAS_CHECK(check_target(t, "init uniform"));
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi)) {
        return nas_error(NAS_EINVAL, "init uniform: need finite lo < hi, got [%g, %g)", (double)lo,
                         (double)hi);
    }
    fill_uniform(t, r, (double)lo, (double)hi);
    return NAS_OK;
}

nas_status nas_init_normal(nas_tensor *t, nas_rng *r, float mean, float std) {
    NAS_CHECK(check_target(t, "init normal"));
    if (!isfinite(mean) || !isfinite(std) || std < 0.0f) {
        return nas_error(NAS_EINVAL, "init normal: need a finite mean and std >= 0, got %g, %g",
                         (double)mean, (double)std);
    }
    fill_normal(t, r, (double)mean, (double)std);
    return NAS_OK;
}

/* Standard deviation of the kaiming initialisers; NAS_OK and *std on success. */
static nas_status kaiming_std(const nas_tensor *t, nas_fan_mode mode, float gain, const char *fn,
                              double *std) {
    NAS_CHECK(check_target(t, fn));
    if (mode != NAS_FAN_IN && mode != NAS_FAN_OUT) {
        return nas_error(NAS_EINVAL, "%s: mode must be NAS_FAN_IN or NAS_FAN_OUT, got %d", fn,
                         (int)mode);
    }
    if (!isfinite(gain) || gain < 0.0f) {
        return nas_error(NAS_EINVAL, "%s: gain must be finite and >= 0, got %g", fn, (double)gain);
    }
    int64_t fan_in = 0, fan_out = 0;
    nas_status st = nas_init_fans(t, &fan_in, &fan_out);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "%s", fn);
    }
    int64_t fan = mode == NAS_FAN_IN ? fan_in : fan_out;
    *std = (double)gain / sqrt((double)fan);
    return NAS_OK;
}

nas_status nas_init_kaiming_normal(nas_tensor *t, nas_rng *r, nas_fan_mode mode, float gain) {
    double std = 0.0;
    NAS_CHECK(kaiming_std(t, mode, gain, "init kaiming_normal", &std));
    fill_normal(t, r, 0.0, std);
    return NAS_OK;
}

nas_status nas_init_kaiming_uniform(nas_tensor *t, nas_rng *r, nas_fan_mode mode, float gain) {
    double std = 0.0;
    NAS_CHECK(kaiming_std(t, mode, gain, "init kaiming_uniform", &std));
    double bound = sqrt(3.0) * std;
    fill_uniform(t, r, -bound, bound);
    return NAS_OK;
}

static nas_status xavier_std(const nas_tensor *t, float gain, const char *fn, double *std) {
    NAS_CHECK(check_target(t, fn));
    if (!isfinite(gain) || gain < 0.0f) {
        return nas_error(NAS_EINVAL, "%s: gain must be finite and >= 0, got %g", fn, (double)gain);
    }
    int64_t fan_in = 0, fan_out = 0;
    nas_status st = nas_init_fans(t, &fan_in, &fan_out);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "%s", fn);
    }
    *std = (double)gain * sqrt(2.0 / (double)(fan_in + fan_out));
    return NAS_OK;
}

nas_status nas_init_xavier_normal(nas_tensor *t, nas_rng *r, float gain) {
    double std = 0.0;
    NAS_CHECK(xavier_std(t, gain, "init xavier_normal", &std));
    fill_normal(t, r, 0.0, std);
    return NAS_OK;
}

nas_status nas_init_xavier_uniform(nas_tensor *t, nas_rng *r, float gain) {
    double std = 0.0;
    NAS_CHECK(xavier_std(t, gain, "init xavier_uniform", &std));
    double bound = sqrt(3.0) * std;
    fill_uniform(t, r, -bound, bound);
    return NAS_OK;
}

nas_status nas_init_default(nas_tensor *w, nas_tensor *b, nas_rng *r) {
    int64_t fan_in = 0;
    NAS_CHECK(check_target(w, "init default"));
    if (b) {
        NAS_CHECK(check_target(b, "init default (bias)"));
    }
    nas_status st = nas_init_fans(w, &fan_in, NULL);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "init default");
    }
    /* kaiming_uniform(a = sqrt(5)): gain sqrt(2 / (1 + 5)) = sqrt(1/3), bound = sqrt(3) * gain /
     * sqrt(fan_in) = 1 / sqrt(fan_in). Both bounds come out the same; computed as PyTorch does. */
    NAS_CHECK(nas_init_kaiming_uniform(w, r, NAS_FAN_IN,
                                       nas_init_gain(NAS_NONLIN_LEAKY_RELU, (float)sqrt(5.0))));
    if (b) {
        double bound = 1.0 / sqrt((double)fan_in);
        fill_uniform(b, r, -bound, bound);
    }
    return NAS_OK;
}
