/*
 * Geometry of the conv and pool kernels, and their naive reference twins (test oracles).
 *
 * The twins (src/tensor/ops_ref.c) are direct loops with double accumulators over raw NCHW
 * arrays; they share nothing with the fast kernels in ops_conv.c / ops_pool.c except the
 * geometry structs below. Backward twins ACCUMULATE (+=) into every non-NULL gradient array.
 */
#pragma once

#include "ghnas/tensor.h"

/* Convolution geometry. x [n, cin, h, w], w [cout, cin/groups, kh, kw], y [n, cout, ho, wo]. */
typedef struct nas_i_conv_geom {
    int64_t n, cin, h, w; /* input shape */
    int64_t cout, kh, kw; /* output channels and kernel size */
    int64_t ho, wo;       /* output spatial size */
    int64_t stride, pad;  /* symmetric stride (>= 1) and zero padding (>= 0) */
    int64_t dilation;     /* >= 1 */
    int64_t groups;       /* divides cin and cout */
} nas_i_conv_geom;

/* Pool geometry (k x k window). x [n, c, h, w], y [n, c, ho, wo]. */
typedef struct nas_i_pool_geom {
    int64_t n, c, h, w; /* input shape */
    int64_t ho, wo;     /* output spatial size */
    int64_t k, stride;  /* window and stride (>= 1) */
    int64_t pad;        /* 0 <= pad <= k / 2 */
} nas_i_pool_geom;

/* Fill a conv geometry and its output size (no validation; ho/wo may come out < 1). */
static inline nas_i_conv_geom nas_i_conv_geom_make(int64_t n, int64_t cin, int64_t h, int64_t w,
                                                   int64_t cout, int64_t kh, int64_t kw,
                                                   int64_t stride, int64_t pad, int64_t dilation,
                                                   int64_t groups) {
    nas_i_conv_geom g = {n, cin, h, w, cout, kh, kw, 0, 0, stride, pad, dilation, groups};
    g.ho = (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1;
    g.wo = (w + 2 * pad - dilation * (kw - 1) - 1) / stride + 1;
    return g;
}

/* Fill a pool geometry and its output size (no validation). */
static inline nas_i_pool_geom nas_i_pool_geom_make(int64_t n, int64_t c, int64_t h, int64_t w,
                                                   int64_t k, int64_t stride, int64_t pad) {
    nas_i_pool_geom g = {n, c, h, w, 0, 0, k, stride, pad};
    g.ho = (h + 2 * pad - k) / stride + 1;
    g.wo = (w + 2 * pad - k) / stride + 1;
    return g;
}

/* y = conv(x, w) + b. b may be NULL. */
void nas_i_conv2d_ref_forward(const nas_i_conv_geom *g, const float *x, const float *w,
                              const float *b, float *y);
/* dx += d/dx, dw += d/dw, db += d/db of sum(y * dy); any of dx/dw/db may be NULL. */
void nas_i_conv2d_ref_backward(const nas_i_conv_geom *g, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db);

/* Average pool; count_include_pad as in PyTorch (divisor k*k vs. number of real elements). */
void nas_i_avgpool2d_ref_forward(const nas_i_pool_geom *g, bool count_include_pad, const float *x,
                                 float *y);
void nas_i_avgpool2d_ref_backward(const nas_i_pool_geom *g, bool count_include_pad, const float *dy,
                                  float *dx);

/* Max pool; padding counts as -inf; the first maximum in row-major window order wins. */
void nas_i_maxpool2d_ref_forward(const nas_i_pool_geom *g, const float *x, float *y);
/* Recomputes the winners from x, so it does not depend on the fast kernel's saved indices. */
void nas_i_maxpool2d_ref_backward(const nas_i_pool_geom *g, const float *x, const float *dy,
                                  float *dx);

/* Global average pool: x [n, c, hw] -> y [n, c]. */
void nas_i_gap_ref_forward(int64_t n, int64_t c, int64_t hw, const float *x, float *y);
void nas_i_gap_ref_backward(int64_t n, int64_t c, int64_t hw, const float *dy, float *dx);
