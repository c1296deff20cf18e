/*
 * Naive reference twins of the conv and pool kernels: direct loops, double accumulators.
 * Slow on purpose and written independently of ops_conv.c / ops_pool.c; tests use them as
 * oracles for the fast kernels. See ref-impl.h.
 */
#include "ref-impl.h"

#include <math.h>

/* ---- convolution --------------------------------------------------------------------------- */

void nas_i_conv2d_ref_forward(const nas_i_conv_geom *g, const float *x, const float *w,
                              const float *b, float *y) {
    int64_t cin_g = g->cin / g->groups, cout_g = g->cout / g->groups;
    for (int64_t n = 0; n < g->n; n++) {
        for (int64_t co = 0; co < g->cout; co++) {
            int64_t grp = co / cout_g;
            for (int64_t oh = 0; oh < g->ho; oh++) {
                for (int64_t ow = 0; ow < g->wo; ow++) {
                    double acc = b ? (double)b[co] : 0.0;
                    for (int64_t ci = 0; ci < cin_g; ci++) {
                        int64_t c = grp * cin_g + ci;
                        for (int64_t i = 0; i < g->kh; i++) {
                            int64_t ih = oh * g->stride - g->pad + i * g->dilation;
                            if (ih < 0 || ih >= g->h) {
                                continue;
                            }
                            for (int64_t j = 0; j < g->kw; j++) {
                                int64_t iw = ow * g->stride - g->pad + j * g->dilation;
                                if (iw < 0 || iw >= g->w) {
                                    continue;
                                }
                                double xv = x[((n * g->cin + c) * g->h + ih) * g->w + iw];
                                double wv = w[((co * cin_g + ci) * g->kh + i) * g->kw + j];
                                acc += xv * wv;
                            }
                        }
                    }
                    y[((n * g->cout + co) * g->ho + oh) * g->wo + ow] = (float)acc;
                }
            }
        }
    }
}

/* Output index along one axis that reads input position `in` through kernel tap `k`, or -1. */
static int64_t ref_out_index(int64_t in, int64_t k, const nas_i_conv_geom *g, int64_t out_size) {
    int64_t num = in + g->pad - k * g->dilation;
    if (num < 0 || num % g->stride != 0) {
        return -1;
    }
    int64_t o = num / g->stride;
    return o < out_size ? o : -1;
}

void nas_i_conv2d_ref_backward(const nas_i_conv_geom *g, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db) {
    int64_t cin_g = g->cin / g->groups, cout_g = g->cout / g->groups;
    if (db) {
        for (int64_t co = 0; co < g->cout; co++) {
            double acc = 0.0;
            for (int64_t n = 0; n < g->n; n++) {
                for (int64_t p = 0; p < g->ho * g->wo; p++) {
                    acc += (double)dy[(n * g->cout + co) * g->ho * g->wo + p];
                }
            }
            db[co] += (float)acc;
        }
    }
    if (dw) {
        for (int64_t co = 0; co < g->cout; co++) {
            int64_t grp = co / cout_g;
            for (int64_t ci = 0; ci < cin_g; ci++) {
                int64_t c = grp * cin_g + ci;
                for (int64_t i = 0; i < g->kh; i++) {
                    for (int64_t j = 0; j < g->kw; j++) {
                        double acc = 0.0;
                        for (int64_t n = 0; n < g->n; n++) {
                            for (int64_t oh = 0; oh < g->ho; oh++) {
                                int64_t ih = oh * g->stride - g->pad + i * g->dilation;
                                if (ih < 0 || ih >= g->h) {
                                    continue;
                                }
                                for (int64_t ow = 0; ow < g->wo; ow++) {
                                    int64_t iw = ow * g->stride - g->pad + j * g->dilation;
                                    if (iw < 0 || iw >= g->w) {
                                        continue;
                                    }
                                    acc +=
                                        (double)dy[((n * g->cout + co) * g->ho + oh) * g->wo + ow] *
                                        (double)x[((n * g->cin + c) * g->h + ih) * g->w + iw];
                                }
                            }
                        }
                        dw[((co * cin_g + ci) * g->kh + i) * g->kw + j] += (float)acc;
                    }
                }
            }
        }
    }
    if (dx) {
        /* Gather form: every input pixel sums the taps that read it. */
        for (int64_t n = 0; n < g->n; n++) {
            for (int64_t c = 0; c < g->cin; c++) {
                int64_t grp = c / cin_g, ci = c % cin_g;
                for (int64_t ih = 0; ih < g->h; ih++) {
                    for (int64_t iw = 0; iw < g->w; iw++) {
                        double acc = 0.0;
                        for (int64_t i = 0; i < g->kh; i++) {
                            int64_t oh = ref_out_index(ih, i, g, g->ho);
                            if (oh < 0) {
                                continue;
                            }
                            for (int64_t j = 0; j < g->kw; j++) {
                                int64_t ow = ref_out_index(iw, j, g, g->wo);
                                if (ow < 0) {
                                    continue;
                                }
                                for (int64_t k = 0; k < cout_g; k++) {
                                    int64_t co = grp * cout_g + k;
                                    acc +=
                                        (double)w[((co * cin_g + ci) * g->kh + i) * g->kw + j] *
                                        (double)dy[((n * g->cout + co) * g->ho + oh) * g->wo + ow];
                                }
                            }
                        }
                        dx[((n * g->cin + c) * g->h + ih) * g->w + iw] += (float)acc;
                    }
                }
            }
        }
    }
}

/* ---- pooling ------------------------------------------------------------------------------- */

/* Window of output (oh, ow) clipped to the real input: rows [*h0, *h1), cols [*w0, *w1). */
static void ref_window(const nas_i_pool_geom *g, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1,
                       int64_t *w0, int64_t *w1) {
    int64_t hs = oh * g->stride - g->pad, ws = ow * g->stride - g->pad;
    *h0 = hs < 0 ? 0 : hs;
    *w0 = ws < 0 ? 0 : ws;
    *h1 = hs + g->k > g->h ? g->h : hs + g->k;
    *w1 = ws + g->k > g->w ? g->w : ws + g->k;
}

/* PyTorch's divisor: with count_include_pad the window clipped to the padded input. */
static double ref_divisor(const nas_i_pool_geom *g, bool cip, int64_t oh, int64_t ow) {
    int64_t hs = oh * g->stride - g->pad, ws = ow * g->stride - g->pad;
    int64_t h0, h1, w0, w1;
    ref_window(g, oh, ow, &h0, &h1, &w0, &w1);
    if (!cip) {
        return (double)((h1 - h0) * (w1 - w0));
    }
    int64_t he = hs + g->k > g->h + g->pad ? g->h + g->pad : hs + g->k;
    int64_t we = ws + g->k > g->w + g->pad ? g->w + g->pad : ws + g->k;
    return (double)((he - hs) * (we - ws));
}

void nas_i_avgpool2d_ref_forward(const nas_i_pool_geom *g, bool count_include_pad, const float *x,
                                 float *y) {
    for (int64_t p = 0; p < g->n * g->c; p++) {
        const float *xp = x + p * g->h * g->w;
        for (int64_t oh = 0; oh < g->ho; oh++) {
            for (int64_t ow = 0; ow < g->wo; ow++) {
                int64_t h0, h1, w0, w1;
                ref_window(g, oh, ow, &h0, &h1, &w0, &w1);
                double acc = 0.0;
                for (int64_t ih = h0; ih < h1; ih++) {
                    for (int64_t iw = w0; iw < w1; iw++) {
                        acc += (double)xp[ih * g->w + iw];
                    }
                }
                y[(p * g->ho + oh) * g->wo + ow] =
                    (float)(acc / ref_divisor(g, count_include_pad, oh, ow));
            }
        }
    }
}

void nas_i_avgpool2d_ref_backward(const nas_i_pool_geom *g, bool count_include_pad, const float *dy,
                                  float *dx) {
    for (int64_t p = 0; p < g->n * g->c; p++) {
        float *dxp = dx + p * g->h * g->w;
        for (int64_t oh = 0; oh < g->ho; oh++) {
            for (int64_t ow = 0; ow < g->wo; ow++) {
                int64_t h0, h1, w0, w1;
                ref_window(g, oh, ow, &h0, &h1, &w0, &w1);
                double v = (double)dy[(p * g->ho + oh) * g->wo + ow] /
                           ref_divisor(g, count_include_pad, oh, ow);
                for (int64_t ih = h0; ih < h1; ih++) {
                    for (int64_t iw = w0; iw < w1; iw++) {
                        dxp[ih * g->w + iw] = (float)((double)dxp[ih * g->w + iw] + v);
                    }
                }
            }
        }
    }
}

/* Plane offset of the winner of window (oh, ow), or -1 when the window has no real element. */
static int64_t ref_argmax(const nas_i_pool_geom *g, const float *xp, int64_t oh, int64_t ow) {
    int64_t h0, h1, w0, w1;
    ref_window(g, oh, ow, &h0, &h1, &w0, &w1);
    int64_t best = -1;
    for (int64_t ih = h0; ih < h1; ih++) {
        for (int64_t iw = w0; iw < w1; iw++) {
            int64_t o = ih * g->w + iw;
            if (best < 0 || xp[o] > xp[best] || (isnan(xp[o]) && !isnan(xp[best]))) {
                best = o;
            }
        }
    }
    return best;
}

void nas_i_maxpool2d_ref_forward(const nas_i_pool_geom *g, const float *x, float *y) {
    for (int64_t p = 0; p < g->n * g->c; p++) {
        const float *xp = x + p * g->h * g->w;
        for (int64_t oh = 0; oh < g->ho; oh++) {
            for (int64_t ow = 0; ow < g->wo; ow++) {
                int64_t a = ref_argmax(g, xp, oh, ow);
                y[(p * g->ho + oh) * g->wo + ow] = a < 0 ? -INFINITY : xp[a];
            }
        }
    }
}

void nas_i_maxpool2d_ref_backward(const nas_i_pool_geom *g, const float *x, const float *dy,
                                  float *dx) {
    for (int64_t p = 0; p < g->n * g->c; p++) {
        const float *xp = x + p * g->h * g->w;
        float *dxp = dx + p * g->h * g->w;
        for (int64_t oh = 0; oh < g->ho; oh++) {
            for (int64_t ow = 0; ow < g->wo; ow++) {
                int64_t a = ref_argmax(g, xp, oh, ow);
                if (a >= 0) {
                    dxp[a] += dy[(p * g->ho + oh) * g->wo + ow];
                }
            }
        }
    }
}

void nas_i_gap_ref_forward(int64_t n, int64_t c, int64_t hw, const float *x, float *y) {
    for (int64_t p = 0; p < n * c; p++) {
        double acc = 0.0;
        for (int64_t i = 0; i < hw; i++) {
            acc += (double)x[p * hw + i];
        }
        y[p] = (float)(acc / (double)hw);
    }
}

void nas_i_gap_ref_backward(int64_t n, int64_t c, int64_t hw, const float *dy, float *dx) {
    for (int64_t p = 0; p < n * c; p++) {
        double v = (double)dy[p] / (double)hw;
        for (int64_t i = 0; i < hw; i++) {
            dx[p * hw + i] = (float)((double)dx[p * hw + i] + v);
        }
    }
}
