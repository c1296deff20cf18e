/*
 * Normalisation ops and their backward passes: batch normalisation (batch statistics with the
 * PyTorch running-stat update, or running statistics for inference; optional affine; x [N, C,
 * H, W] or [N, C]) and layer normalisation over the last dim.
 *
 * Statistics use one pass of shifted sums (x - x_first) per channel or row, accumulated in
 * double across rows, which avoids the cancellation of the plain E[x^2] - E[x]^2 formula when
 * the mean is large. Normalisation uses the biased variance; the running variance is updated
 * with the unbiased one, as PyTorch does. Nodes save the mean and inverse std for backward.
 *
 * With batch statistics on [N, C, H, W], forward and backward run one channel at a time in one
 * parallel region: the channel's sums, then its output (or input gradient) while its N*H*W
 * values are still in cache, so x (and dy) are read from memory once instead of twice. A
 * fresh input-gradient buffer is stored into rather than accumulated (nas_i_grad_fresh).
 */
#include "tape-impl.h"

#include <math.h>
#include <string.h>

/* ---- batchnorm ----------------------------------------------------------------------------- */

/* Threads for a loop over C channels of `numel` elements in all. */
static int bn_threads(int64_t numel, int64_t C) {
    int nt = nas_i_threads_for(numel);
    return C < nt ? (int)C : nt;
}

/* Scale and shift of channel c: y = x * scale + shift, scale = gamma * istd,
 * shift = beta - mean * scale. */
static inline void bn_affine(const nas_tensor *gamma, const nas_tensor *beta, int64_t c, float mean,
                             float istd, float *scale, float *shift) {
    *scale = (gamma ? gamma->data[c] : 1.0f) * istd;
    *shift = (beta ? beta->data[c] : 0.0f) - mean * *scale;
}

/*
 * Batch-statistics forward of x viewed as [N, C, S] with S > 1, one channel at a time: the
 * channel's mean and biased variance, then y for that channel while its N*S values are still
 * in cache (one read of x from memory instead of two).
 */
static void bn_fwd_spatial(const float *x, int64_t N, int64_t C, int64_t S, const nas_tensor *gamma,
                           const nas_tensor *beta, float eps, float *mean, float *istd, double *var,
                           float *y) {
    const double m = (double)(N * S);
#pragma omp parallel for num_threads(bn_threads(N *C *S, C)) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        const float shift = x[c * S];
        double s1 = 0.0, s2 = 0.0;
        for (int64_t i = 0; i < N; i++) {
            const float *xr = x + (i * C + c) * S;
            float a = 0.0f, b = 0.0f;
#pragma omp simd reduction(+ : a, b)
            for (int64_t j = 0; j < S; j++) {
                float d = xr[j] - shift;
                a += d;
                b += d * d;
            }
            s1 += (double)a;
            s2 += (double)b;
        }
        double mu = s1 / m;
        double v = s2 / m - mu * mu;
        v = v > 0.0 ? v : 0.0;
        mean[c] = (float)((double)shift + mu);
        var[c] = v;
        istd[c] = (float)(1.0 / sqrt(v + (double)eps));
        float sc, sh;
        bn_affine(gamma, beta, c, mean[c], istd[c], &sc, &sh);
        for (int64_t i = 0; i < N; i++) {
            const float *xr = x + (i * C + c) * S;
            float *yr = y + (i * C + c) * S;
#pragma omp simd
            for (int64_t j = 0; j < S; j++) {
                yr[j] = xr[j] * sc + sh;
            }
        }
    }
}

/* Same for x [N, C] (S == 1): rows are read contiguously, channels are the vector dim.
 * `acc` is scratch for 2*C doubles. */
static void bn_stats_flat(const float *x, int64_t N, int64_t C, float *mean, double *var,
                          double *acc) {
    double *s1 = acc, *s2 = acc + C;
    memset(acc, 0, (size_t)(2 * C) * sizeof(double));
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C;
        for (int64_t c = 0; c < C; c++) {
            double d = (double)(xr[c] - x[c]);
            s1[c] += d;
            s2[c] += d * d;
        }
    }
    for (int64_t c = 0; c < C; c++) {
        double mu = s1[c] / (double)N;
        double v = s2[c] / (double)N - mu * mu;
        mean[c] = (float)((double)x[c] + mu);
        var[c] = v > 0.0 ? v : 0.0;
    }
}

nas_tensor *nas_batchnorm(nas_tape *t, nas_tensor *x, nas_tensor *gamma, nas_tensor *beta,
                          float *running_mean, float *running_var, nas_bn_mode mode, float momentum,
                          float eps) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    char sx[64], sp[64];
    if (x->ndim < 2) {
        return nas_i_fail(t, NAS_ESHAPE, "batchnorm: x %s must be [N, C] or [N, C, H, W]",
                          nas_shape_str(x, sx, sizeof sx));
    }
    const int64_t N = x->shape[0], C = x->shape[1];
    const int64_t S = x->numel / (N * C); /* spatial size; x is [N, C, S] */
    if ((gamma && gamma->numel != C) || (beta && beta->numel != C)) {
        const nas_tensor *bad = gamma && gamma->numel != C ? gamma : beta;
        return nas_i_fail(t, NAS_ESHAPE, "batchnorm: %s %s must have %lld elements for x %s",
                          bad == gamma ? "gamma" : "beta", nas_shape_str(bad, sp, sizeof sp),
                          (long long)C, nas_shape_str(x, sx, sizeof sx));
    }
    if (mode != NAS_BN_BATCH_STATS && mode != NAS_BN_RUNNING_STATS) {
        return nas_i_fail(t, NAS_EINVAL, "batchnorm: unknown mode %d", (int)mode);
    }
    if (!(eps >= 0.0f) || !(momentum >= 0.0f && momentum <= 1.0f)) {
        return nas_i_fail(t, NAS_EINVAL, "batchnorm: eps %g must be >= 0 and momentum %g in [0, 1]",
                          (double)eps, (double)momentum);
    }
    const bool batch = mode == NAS_BN_BATCH_STATS;
    if (!batch && (!running_mean || !running_var)) {
        return nas_i_fail(t, NAS_EINVAL,
                          "batchnorm: running-stats mode needs running_mean and running_var");
    }
    if (batch && N * S < 2) {
        return nas_i_fail(t, NAS_ESHAPE,
                          "batchnorm: batch statistics need more than one value per channel, "
                          "x is %s",
                          nas_shape_str(x, sx, sizeof sx));
    }
    nas_tensor *out = nas_tensor_new(t, x->ndim, x->shape);
    float *mean = nas_i_alloc(t, (size_t)C * sizeof(float));        /* [C], saved */
    float *istd = nas_i_alloc(t, (size_t)C * sizeof(float));        /* [C], saved */
    double *var = nas_i_alloc(t, (size_t)(3 * C) * sizeof(double)); /* [C] + [2C] scratch */
    if (!out || !mean || !istd || !var) {
        return NULL;
    }
    const bool fused = batch && S > 1; /* statistics and output in one pass per channel */
    if (batch) {
        if (fused) {
            bn_fwd_spatial(x->data, N, C, S, gamma, beta, eps, mean, istd, var, out->data);
        } else {
            bn_stats_flat(x->data, N, C, mean, var, var + C);
        }
        const double m = (double)(N * S);
        for (int64_t c = 0; c < C; c++) {
            if (!fused) { /* the fused kernel set it already */
                istd[c] = (float)(1.0 / sqrt(var[c] + (double)eps));
            }
            if (running_mean) {
                running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
            }
            if (running_var) {
                double unbiased = var[c] * m / (m - 1.0);
                running_var[c] = (float)((1.0 - (double)momentum) * (double)running_var[c] +
                                         (double)momentum * unbiased);
            }
        }
    } else {
        for (int64_t c = 0; c < C; c++) {
            mean[c] = running_mean[c];
            istd[c] = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
        }
    }
    /* y = x * scale[c] + shift[c] with scale = gamma * istd, shift = beta - mean * scale
     * (the fused kernel wrote y already). */
    float *scale = (float *)var, *shift = scale + C; /* reuse the scratch: [C] each */
    for (int64_t c = 0; c < C && !fused; c++) {
        bn_affine(gamma, beta, c, mean[c], istd[c], &scale[c], &shift[c]);
    }
    const float *xd = x->data;
    float *y = out->data;
    if (fused) {
        /* done */
    } else if (S > 1) {
#pragma omp parallel for num_threads(nas_i_threads_for(x->numel)) schedule(static)
        for (int64_t r = 0; r < N * C; r++) {
            const float sc = scale[r % C], sh = shift[r % C];
            const float *xr = xd + r * S;
            float *yr = y + r * S;
            for (int64_t j = 0; j < S; j++) {
                yr[j] = xr[j] * sc + sh;
            }
        }
    } else {
        for (int64_t i = 0; i < N; i++) {
            const float *xr = xd + i * C;
            float *yr = y + i * C;
            for (int64_t c = 0; c < C; c++) {
                yr[c] = xr[c] * scale[c] + shift[c];
            }
        }
    }
    nas_tensor *in[3] = {x, gamma, beta};
    nas_node *n = nas_i_record(t, NAS_OP_BATCHNORM, out, in, 3);
    if (n) {
        n->saved = mean;
        n->saved2 = istd;
        n->ip[0] = mode;
    }
    return out;
}

/* gg += sum dy * xhat, gbeta += sum dy per channel (either may be NULL). */
static void bn_param_grads(int64_t C, const double *sdy, const double *sdx, const float *istd,
                           float *gg, float *gbeta) {
    for (int64_t c = 0; c < C; c++) {
        if (gg) {
            gg[c] += (float)(sdx[c] * (double)istd[c]);
        }
        if (gbeta) {
            gbeta[c] += (float)sdy[c];
        }
    }
}

/* Coefficients of dx = k1 dy + k2 x + k3 for channel c, from sdy = sum dy and
 * sdx = sum dy (x - mean) over the channel's m values (batch statistics), or the running-stats
 * case (k2 = k3 = 0). */
static void bn_dx_coefs(const nas_tensor *gamma, int64_t c, float istd, float mean, bool batch,
                        double sdy, double sdx, double m, double *k1, double *k2, double *k3) {
    double s = (double)istd;
    double ga = gamma ? (double)gamma->data[c] : 1.0;
    *k1 = ga * s;
    if (batch) {
        *k2 = -ga * s * s * s * sdx / m;
        *k3 = -ga * s * sdy / m - *k2 * (double)mean;
    } else {
        *k2 = 0.0;
        *k3 = 0.0;
    }
}

/*
 * Batch-statistics backward of x viewed as [N, C, S] with S > 1, one channel at a time: the
 * sums sdy[c] and sdx[c], then the channel's dx while its dy and x are still in cache. dx is
 * stored when `assign` (a fresh gradient buffer), else accumulated.
 */
static void bn_bwd_spatial(const float *x, const float *dy, int64_t N, int64_t C, int64_t S,
                           const float *mean, const float *istd, const nas_tensor *gamma,
                           double *sdy, double *sdx, float *dx, bool assign) {
    const double m = (double)(N * S);
#pragma omp parallel for num_threads(bn_threads(N *C *S, C)) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        const float mu = mean[c];
        double a = 0.0, b = 0.0;
        for (int64_t i = 0; i < N; i++) {
            const float *gr = dy + (i * C + c) * S;
            const float *xr = x + (i * C + c) * S;
            float sa = 0.0f, sb = 0.0f;
#pragma omp simd reduction(+ : sa, sb)
            for (int64_t j = 0; j < S; j++) {
                sa += gr[j];
                sb += gr[j] * (xr[j] - mu);
            }
            a += (double)sa;
            b += (double)sb;
        }
        sdy[c] = a;
        sdx[c] = b;
        double k1, k2, k3;
        bn_dx_coefs(gamma, c, istd[c], mu, true, a, b, m, &k1, &k2, &k3);
        const float a1 = (float)k1, a2 = (float)k2, a3 = (float)k3;
        for (int64_t i = 0; i < N; i++) {
            const float *gr = dy + (i * C + c) * S;
            const float *xr = x + (i * C + c) * S;
            float *dr = dx + (i * C + c) * S;
            if (assign) {
#pragma omp simd
                for (int64_t j = 0; j < S; j++) {
                    dr[j] = a1 * gr[j] + a2 * xr[j] + a3;
                }
            } else {
#pragma omp simd
                for (int64_t j = 0; j < S; j++) {
                    dr[j] += a1 * gr[j] + a2 * xr[j] + a3;
                }
            }
        }
    }
}

void nas_i_batchnorm_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    const bool batch = n->ip[0] == NAS_BN_BATCH_STATS;
    const float *mean = n->saved, *istd = n->saved2;
    const int64_t N = x->shape[0], C = x->shape[1];
    const int64_t S = x->numel / (N * C);
    const double m = (double)(N * S);
    const float *xd = x->data;
    const float *g = n->out->grad; /* dy [N, C, S] */
    const bool need_x = nas_i_needs_grad(x);
    const bool need_g = nas_i_needs_grad(gamma);
    const bool need_b = nas_i_needs_grad(beta);
    /* Per channel: sdy = sum dy, sdx = sum dy (x - mean); then k1, k2, k3 of
     * dx = k1 dy + k2 (x - mean) + k3. Scratch: 5 x [C] doubles. */
    double *sdy = nas_i_alloc(t, (size_t)(5 * C) * sizeof(double));
    float *gg = need_g ? nas_i_grad(t, gamma) : NULL;
    float *gbeta = need_b ? nas_i_grad(t, beta) : NULL;
    bool assign = false;
    float *gx = need_x && t->status == NAS_OK ? nas_i_grad_fresh(t, x, &assign) : NULL;
    if ((need_x && !gx) || (need_g && !gg) || (need_b && !gbeta) || !sdy) {
        return;
    }
    double *sdx = sdy + C, *k1 = sdy + 2 * C, *k2 = sdy + 3 * C, *k3 = sdy + 4 * C;
    const bool need_sums = batch ? (need_x || need_g || need_b) : (need_g || need_b);
    if (S > 1 && batch && gx) {
        bn_bwd_spatial(xd, g, N, C, S, mean, istd, gamma, sdy, sdx, gx, assign);
        bn_param_grads(C, sdy, sdx, istd, gg, gbeta);
        return;
    }
    if (need_sums) {
        if (S > 1) {
#pragma omp parallel for num_threads(nas_i_threads_for(x->numel)) schedule(static)
            for (int64_t c = 0; c < C; c++) {
                const float mu = mean[c];
                double a = 0.0, b = 0.0;
                for (int64_t i = 0; i < N; i++) {
                    const float *gr = g + (i * C + c) * S;
                    const float *xr = xd + (i * C + c) * S;
                    float sa = 0.0f, sb = 0.0f;
#pragma omp simd reduction(+ : sa, sb)
                    for (int64_t j = 0; j < S; j++) {
                        sa += gr[j];
                        sb += gr[j] * (xr[j] - mu);
                    }
                    a += (double)sa;
                    b += (double)sb;
                }
                sdy[c] = a;
                sdx[c] = b;
            }
        } else {
            memset(sdy, 0, (size_t)(2 * C) * sizeof(double));
            for (int64_t i = 0; i < N; i++) {
                const float *gr = g + i * C;
                const float *xr = xd + i * C;
                for (int64_t c = 0; c < C; c++) {
                    sdy[c] += (double)gr[c];
                    sdx[c] += (double)(gr[c] * (xr[c] - mean[c]));
                }
            }
        }
        bn_param_grads(C, sdy, sdx, istd, gg, gbeta);
    }
    if (!gx) {
        return;
    }
    for (int64_t c = 0; c < C; c++) {
        bn_dx_coefs(gamma, c, istd[c], mean[c], batch, sdy[c], sdx[c], m, &k1[c], &k2[c], &k3[c]);
    }
    if (S > 1) {
#pragma omp parallel for num_threads(nas_i_threads_for(x->numel)) schedule(static)
        for (int64_t r = 0; r < N * C; r++) {
            const int64_t c = r % C;
            const float a1 = (float)k1[c], a2 = (float)k2[c], a3 = (float)k3[c];
            const float *gr = g + r * S;
            const float *xr = xd + r * S;
            float *dr = gx + r * S;
            if (assign) {
                for (int64_t j = 0; j < S; j++) {
                    dr[j] = a1 * gr[j] + a2 * xr[j] + a3;
                }
            } else {
                for (int64_t j = 0; j < S; j++) {
                    dr[j] += a1 * gr[j] + a2 * xr[j] + a3;
                }
            }
        }
    } else {
        for (int64_t i = 0; i < N; i++) {
            const float *gr = g + i * C;
            const float *xr = xd + i * C;
            float *dr = gx + i * C;
            for (int64_t c = 0; c < C; c++) {
                float v = (float)(k1[c] * (double)gr[c] + k2[c] * (double)xr[c] + k3[c]);
                dr[c] = assign ? v : dr[c] + v;
            }
        }
    }
}

/* ---- layernorm ----------------------------------------------------------------------------- */

nas_tensor *nas_layernorm(nas_tape *t, nas_tensor *x, nas_tensor *gamma, nas_tensor *beta,
                          float eps) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    const int64_t D = x->shape[x->ndim - 1];
    const int64_t rows = x->numel / D; /* x is [rows, D] */
    if ((gamma && gamma->numel != D) || (beta && beta->numel != D)) {
        char sx[64], sp[64];
        const nas_tensor *bad = gamma && gamma->numel != D ? gamma : beta;
        return nas_i_fail(t, NAS_ESHAPE, "layernorm: %s %s must have %lld elements for x %s",
                          bad == gamma ? "gamma" : "beta", nas_shape_str(bad, sp, sizeof sp),
                          (long long)D, nas_shape_str(x, sx, sizeof sx));
    }
    if (!(eps >= 0.0f)) {
        return nas_i_fail(t, NAS_EINVAL, "layernorm: eps %g must be >= 0", (double)eps);
    }
    nas_tensor *out = nas_tensor_new(t, x->ndim, x->shape);
    float *mean = nas_i_alloc(t, (size_t)rows * sizeof(float)); /* [rows], saved */
    float *istd = nas_i_alloc(t, (size_t)rows * sizeof(float)); /* [rows], saved */
    if (!out || !mean || !istd) {
        return NULL;
    }
    const float *xd = x->data;
    const float *gd = gamma ? gamma->data : NULL;
    const float *bd = beta ? beta->data : NULL;
    float *y = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(x->numel)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = xd + r * D;
        float *yr = y + r * D;
        const float shift = xr[0];
        double a = 0.0, b = 0.0;
        for (int64_t j = 0; j < D; j++) {
            double d = (double)(xr[j] - shift);
            a += d;
            b += d * d;
        }
        double mu = a / (double)D;
        double v = b / (double)D - mu * mu;
        const float mr = (float)((double)shift + mu);
        const float sr = (float)(1.0 / sqrt((v > 0.0 ? v : 0.0) + (double)eps));
        mean[r] = mr;
        istd[r] = sr;
        for (int64_t j = 0; j < D; j++) {
            float h = (xr[j] - mr) * sr;
            yr[j] = (gd ? gd[j] * h : h) + (bd ? bd[j] : 0.0f);
        }
    }
    nas_tensor *in[3] = {x, gamma, beta};
    nas_node *n = nas_i_record(t, NAS_OP_LAYERNORM, out, in, 3);
    if (n) {
        n->saved = mean;
        n->saved2 = istd;
    }
    return out;
}

void nas_i_layernorm_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    const float *mean = n->saved, *istd = n->saved2;
    const int64_t D = x->shape[x->ndim - 1];
    const int64_t rows = x->numel / D;
    const float *xd = x->data;
    const float *gd = gamma ? gamma->data : NULL;
    const float *g = n->out->grad; /* dy [rows, D] */
    if (nas_i_needs_grad(gamma) || nas_i_needs_grad(beta)) {
        float *gg = nas_i_needs_grad(gamma) ? nas_i_grad(t, gamma) : NULL;
        float *gb = nas_i_needs_grad(beta) ? nas_i_grad(t, beta) : NULL;
        if ((nas_i_needs_grad(gamma) && !gg) || (nas_i_needs_grad(beta) && !gb)) {
            return;
        }
        for (int64_t r = 0; r < rows; r++) {
            const float *gr = g + r * D;
            const float *xr = xd + r * D;
            const float mr = mean[r], sr = istd[r];
            for (int64_t j = 0; j < D; j++) {
                if (gg) {
                    gg[j] += gr[j] * (xr[j] - mr) * sr;
                }
                if (gb) {
                    gb[j] += gr[j];
                }
            }
        }
    }
    if (!nas_i_needs_grad(x)) {
        return;
    }
    float *gx = nas_i_grad(t, x);
    if (!gx) {
        return;
    }
    /* dx = istd (gamma dy - mean(gamma dy) - xhat mean(gamma dy xhat)) per row. */
#pragma omp parallel for num_threads(nas_i_threads_for(x->numel)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *gr = g + r * D;
        const float *xr = xd + r * D;
        float *dr = gx + r * D;
        const float mr = mean[r], sr = istd[r];
        double a = 0.0, b = 0.0;
        for (int64_t j = 0; j < D; j++) {
            double gy = (double)(gd ? gd[j] * gr[j] : gr[j]);
            a += gy;
            b += gy * (double)((xr[j] - mr) * sr);
        }
        const float ma = (float)(a / (double)D), mb = (float)(b / (double)D);
        for (int64_t j = 0; j < D; j++) {
            float gy = gd ? gd[j] * gr[j] : gr[j];
            float h = (xr[j] - mr) * sr;
            dr[j] += sr * (gy - ma - h * mb);
        }
    }
}
