/*
 * Pooling ops: nas_avgpool2d, nas_maxpool2d, nas_global_avgpool and their backward functions.
 *
 * Direct loops, parallel over the N*C planes. Stride 1 (NB201's avg_pool_3x3) works on flat
 * padded planes: each window tap is one contiguous loop over the whole plane (see the flat
 * kernels below); the average pool sums separably (horizontal k-sums, then k of those), and its
 * backward is the same box sum of the scaled dy padded by k-1-pad. Disjoint windows (k ==
 * stride, no padding: the ResNet shortcut) have their own loops. Larger strides sum the
 * window's rows into a padded row buffer and then k neighbours per output. Divisors follow PyTorch:
 * count_include_pad divides by k*k (in floor mode with pad <= k/2 no window leaves the padded
 * input), otherwise by the number of real elements. Max pooling treats padding as -inf, lets the
 * first maximum in row-major window order win (a NaN beats any number) and saves the winners' plane
 * offsets in the node.
 */
#include "ref-impl.h"
#include "tape-impl.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Largest max-pool window side. */
#define NAS_POOL_MAX_K 64

static size_t pad16(int64_t n) {
    return (size_t)((n + 15) & ~(int64_t)15);
}

/* Validate a pool's arguments and fill *g; on failure record NAS_ESHAPE and return false. */
static bool pool_check(nas_tape *t, const char *op, const nas_tensor *x, int k, int stride, int pad,
                       nas_i_pool_geom *g) {
    char xs[64];
    nas_shape_str(x, xs, sizeof xs);
    if (x->ndim != 4) {
        nas_i_fail(t, NAS_ESHAPE, "%s: x must be [N, C, H, W], got %s", op, xs);
        return false;
    }
    if (k < 1 || stride < 1 || pad < 0 || pad > k / 2) {
        nas_i_fail(t, NAS_ESHAPE,
                   "%s: need k >= 1, stride >= 1 and 0 <= pad <= k/2, got k %d, stride %d, pad "
                   "%d (x %s)",
                   op, k, stride, pad, xs);
        return false;
    }
    if (k > x->shape[2] + 2 * (int64_t)pad || k > x->shape[3] + 2 * (int64_t)pad) {
        nas_i_fail(t, NAS_ESHAPE, "%s: window %dx%d is larger than the input x %s padded by %d", op,
                   k, k, xs, pad);
        return false;
    }
    *g = nas_i_pool_geom_make(x->shape[0], x->shape[1], x->shape[2], x->shape[3], k, stride, pad);
    return true;
}

/* Real-element range [*lo, *hi) of the window starting at `start` (may be negative). */
static void win_range(int64_t start, int64_t k, int64_t size, int64_t *lo, int64_t *hi) {
    *lo = start < 0 ? 0 : start;
    *hi = start + k > size ? size : start + k;
}

/* Outputs [*lo, *hi) along one axis whose window column o*s + off is inside [0, in). */
static void tap_range(int64_t off, int64_t in, int64_t out, int64_t s, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    h = h < out ? h : out;
    *lo = l < h ? l : h;
    *hi = h;
}

/* ---- stride-1 flat kernels ------------------------------------------------------------------
 * With the plane padded to [hp, wp] = [h + 2*pad, w + 2*pad], output (oh, ow) sits at
 * q = oh*wp + ow of a "wide" plane of L = (ho-1)*wp + wo floats and window tap (i, j) reads the
 * padded plane at q + i*wp + j: each tap is one contiguous loop over L instead of ho short
 * row loops. The junk columns (ow >= wo) are computed and dropped. */

static int64_t flat_len(const nas_i_pool_geom *g) {
    return (g->ho - 1) * (g->w + 2 * g->pad) + g->wo;
}

/* xpad [hp, wp] = xp [h, w] surrounded by `fill`. */
static void pad_plane(const nas_i_pool_geom *g, const float *restrict xp, float *restrict xpad,
                      float fill) {
    const int64_t W = g->w, P = g->pad, wp = W + 2 * P, hp = g->h + 2 * P;
    for (int64_t q = 0; q < P * wp; q++) {
        xpad[q] = fill;
        xpad[(hp - P) * wp + q] = fill;
    }
    for (int64_t h = 0; h < g->h; h++) {
        float *d = xpad + (h + P) * wp;
        for (int64_t q = 0; q < P; q++) {
            d[q] = fill;
            d[P + W + q] = fill;
        }
        const float *src = xp + h * W;
        for (int64_t q = 0; q < W; q++) {
            d[P + q] = src[q];
        }
    }
}

/* hs[q] = sum_{j < k} src[q + j] for q < n: the horizontal window sums of a flat plane. */
static void hsum_flat(const float *restrict src, int64_t k, int64_t n, float *restrict hs) {
    if (k == 3) { /* NB201's avg_pool_3x3: one pass */
#pragma omp simd
        for (int64_t q = 0; q < n; q++) {
            hs[q] = src[q] + src[q + 1] + src[q + 2];
        }
        return;
    }
#pragma omp simd
    for (int64_t q = 0; q < n; q++) {
        hs[q] = src[q];
    }
    for (int64_t j = 1; j < k; j++) {
        const float *sj = src + j;
#pragma omp simd
        for (int64_t q = 0; q < n; q++) {
            hs[q] += sj[q];
        }
    }
}

/* d[0..n) = (sum_{i < k} hs[i*pitch + q]) * rf * colf[q] (colf NULL: 1), or d += that when
 * `acc`: the vertical window sums of one output row, scaled. */
static void vsum_row(const float *restrict hs, int64_t pitch, int64_t k, int64_t n, float rf,
                     const float *restrict colf, float *restrict d, bool acc) {
    const float *h1 = hs + pitch, *h2 = hs + 2 * pitch;
    if (k == 3 && colf && !acc) {
#pragma omp simd
        for (int64_t q = 0; q < n; q++) {
            d[q] = (hs[q] + h1[q] + h2[q]) * (rf * colf[q]);
        }
        return;
    }
    if (k == 3 && !colf) {
        if (acc) {
#pragma omp simd
            for (int64_t q = 0; q < n; q++) {
                d[q] += (hs[q] + h1[q] + h2[q]) * rf;
            }
        } else {
#pragma omp simd
            for (int64_t q = 0; q < n; q++) {
                d[q] = (hs[q] + h1[q] + h2[q]) * rf;
            }
        }
        return;
    }
    for (int64_t q = 0; q < n; q++) { /* generic window: not on a hot path */
        float v = hs[q];
        for (int64_t i = 1; i < k; i++) {
            v += hs[i * pitch + q];
        }
        v *= colf ? rf * colf[q] : rf;
        d[q] = acc ? d[q] + v : v;
    }
}

/* Average pool of one plane, stride 1, as separable box sums: horizontal k-sums of the zero-
 * padded rows, then k of those per output. xpad: [hp*wp] whose border is already zero (only
 * the interior is written), hs: [hp*wp] scratch. */
static void avg_flat_fwd(const nas_i_pool_geom *g, bool cip, const float *restrict colf,
                         const float *restrict xp, float *restrict yp, float *restrict xpad,
                         float *restrict hs) {
    const int64_t wp = g->w + 2 * g->pad, k = g->k;
    for (int64_t h = 0; h < g->h; h++) {
        memcpy(xpad + (h + g->pad) * wp + g->pad, xp + h * g->w, (size_t)g->w * sizeof(float));
    }
    hsum_flat(xpad, k, (g->h + 2 * g->pad - 1) * wp + g->wo, hs);
    for (int64_t oh = 0; oh < g->ho; oh++) {
        int64_t h0, h1;
        win_range(oh - g->pad, k, g->h, &h0, &h1);
        float rf = cip ? 1.0f : 1.0f / (float)(h1 - h0);
        vsum_row(hs + oh * wp, wp, k, g->wo, rf, colf, yp + oh * g->wo, false);
    }
}

/* dxp += average pool backward of dyp (dxp = ... when `assign`), stride 1. The gradient of a
 * box sum is a box sum of the scaled dy zero-padded by k-1-pad (the all-ones window is its
 * own flip), so it reuses the forward's separable sums. gp: [(h+k-1)*(w+k-1)] whose border
 * is already zero (only the interior is written), hs: same size scratch. */
static void avg_flat_bwd(const nas_i_pool_geom *g, bool cip, const float *restrict colf,
                         const float *restrict dyp, float *restrict dxp, float *restrict gp,
                         float *restrict hs, bool assign) {
    const int64_t k = g->k, P2 = k - 1 - g->pad, wq = g->w + k - 1, hq = g->h + k - 1;
    for (int64_t oh = 0; oh < g->ho; oh++) {
        int64_t h0, h1;
        win_range(oh - g->pad, k, g->h, &h0, &h1);
        float rf = cip ? 1.0f : 1.0f / (float)(h1 - h0);
        const float *dyr = dyp + oh * g->wo;
        float *gr = gp + (oh + P2) * wq + P2;
        for (int64_t ow = 0; ow < g->wo; ow++) {
            gr[ow] = dyr[ow] * (rf * colf[ow]);
        }
    }
    hsum_flat(gp, k, (hq - 1) * wq + g->w, hs);
    for (int64_t h = 0; h < g->h; h++) {
        vsum_row(hs + h * wq, wq, k, g->w, 1.0f, NULL, dxp + h * g->w, !assign);
    }
}

/* Max pool of one plane, stride 1; idx gets each winner's offset in the plane. xpad: [hp*wp],
 * m: [L] floats, del: [L] int32 scratch. Padding is -inf: a real element replaces it only when
 * larger, so where the maximum is -inf the window's first real element is taken instead. */
static void max_flat_fwd(const nas_i_pool_geom *g, const float *restrict xp, float *restrict yp,
                         int32_t *restrict idx, float *restrict xpad, float *restrict m,
                         int32_t *restrict del) {
    const int64_t W = g->w, P = g->pad, wp = W + 2 * P, L = flat_len(g), k = g->k;
    pad_plane(g, xp, xpad, -INFINITY);
#pragma omp simd
    for (int64_t q = 0; q < L; q++) {
        m[q] = xpad[q];
        del[q] = 0;
    }
    /* Taps in row-major window order; del = the winning tap's offset i*w + j. */
    for (int64_t i = 0; i < k; i++) {
        for (int64_t j = i == 0; j < k; j++) {
            const float *src = xpad + i * wp + j;
            const int32_t d = (int32_t)(i * W + j);
#pragma omp simd
            for (int64_t q = 0; q < L; q++) {
                float v = src[q], cur = m[q];
                bool take = (v > cur) | ((v != v) & (cur == cur)); /* a NaN wins */
                m[q] = take ? v : cur;
                del[q] = take ? d : del[q];
            }
        }
    }
    for (int64_t oh = 0; oh < g->ho; oh++) {
        int64_t h0, h1;
        win_range(oh - P, k, g->h, &h0, &h1);
        const int32_t base = (int32_t)((oh - P) * W - P);
        const float *mr = m + oh * wp;
        const int32_t *dr = del + oh * wp;
        float *yr = yp + oh * g->wo;
        int32_t *ir = idx + oh * g->wo;
        for (int64_t ow = 0; ow < g->wo; ow++) {
            int32_t first = (int32_t)(h0 * W + (ow - P < 0 ? 0 : ow - P));
            yr[ow] = mr[ow];
            ir[ow] = mr[ow] == -INFINITY ? first : base + (int32_t)ow + dr[ow];
        }
    }
}

/* ---- average pool -------------------------------------------------------------------------- */

/* Per-column factor of output column ow: 1/(k*k) with count_include_pad, else 1/(real cols). */
static void avg_col_factors(const nas_i_pool_geom *g, bool cip, float *f) {
    for (int64_t ow = 0; ow < g->wo; ow++) {
        int64_t lo, hi;
        win_range(ow * g->stride - g->pad, g->k, g->w, &lo, &hi);
        f[ow] = cip ? 1.0f / (float)(g->k * g->k) : 1.0f / (float)(hi - lo);
    }
}

/* Per-thread scratch (floats) of the pools: stride 1 uses two padded planes (average pool:
 * padded input or gradient and its horizontal sums; max pool: padded input, then two wide
 * planes, the second as int32), larger strides a padded row and an output row. */
static size_t pool_plane(const nas_i_pool_geom *g) {
    int64_t plane = (g->h + 2 * g->pad) * (g->w + 2 * g->pad);
    int64_t gplane = (g->h + g->k - 1) * (g->w + g->k - 1);
    return pad16(plane > gplane ? plane : gplane);
}

static size_t pool_scratch(const nas_i_pool_geom *g) {
    if (g->stride == 1) {
        return 2 * pool_plane(g) + 2 * pad16(flat_len(g));
    }
    return pad16(g->w + 2 * g->pad) + pad16(g->wo);
}

/* One plane, stride > 1: yp [ho, wo] = avgpool(xp [h, w]); row: [w + 2*pad] scratch. */
static void avg_plane_fwd(const nas_i_pool_geom *g, bool cip, const float *restrict colf,
                          const float *restrict xp, float *restrict yp, float *restrict row) {
    const int64_t W = g->w, P = g->pad, k = g->k, s = g->stride, Wo = g->wo;
    if (k == s && P == 0) { /* disjoint windows (the ResNet shortcut's 2x2/2): every one full */
        for (int64_t oh = 0; oh < g->ho; oh++) {
            float *yr = yp + oh * Wo;
            for (int64_t ow = 0; ow < Wo; ow++) {
                yr[ow] = 0.0f;
            }
            for (int64_t i = 0; i < k; i++) {
                const float *xr = xp + (oh * k + i) * W;
                for (int64_t j = 0; j < k; j++) {
                    for (int64_t ow = 0; ow < Wo; ow++) {
                        yr[ow] += xr[ow * k + j];
                    }
                }
            }
            const float rf = cip ? 1.0f : 1.0f / (float)k; /* full windows: k rows */
            for (int64_t ow = 0; ow < Wo; ow++) {
                yr[ow] *= rf * colf[ow];
            }
        }
        return;
    }
    for (int64_t q = 0; q < P; q++) {
        row[q] = 0.0f;
        row[P + W + q] = 0.0f;
    }
    float *r = row + P;
    for (int64_t oh = 0; oh < g->ho; oh++) {
        int64_t h0, h1;
        win_range(oh * s - P, k, g->h, &h0, &h1);
        const float *x0 = xp + h0 * W;
        for (int64_t q = 0; q < W; q++) {
            r[q] = x0[q];
        }
        for (int64_t h = h0 + 1; h < h1; h++) {
            const float *xr = xp + h * W;
            for (int64_t q = 0; q < W; q++) {
                r[q] += xr[q];
            }
        }
        float rf = cip ? 1.0f : 1.0f / (float)(h1 - h0);
        float *yr = yp + oh * Wo;
        for (int64_t ow = 0; ow < Wo; ow++) {
            yr[ow] = row[ow * s];
        }
        for (int64_t j = 1; j < k; j++) {
            for (int64_t ow = 0; ow < Wo; ow++) {
                yr[ow] += row[ow * s + j];
            }
        }
        for (int64_t ow = 0; ow < Wo; ow++) {
            yr[ow] *= rf * colf[ow];
        }
    }
}

/* One plane, stride > 1: dxp [h, w] += avgpool backward of dyp [ho, wo] (dxp = ... when
 * `assign`); row: [w + 2*pad], gr: [wo] scratch. */
static void avg_plane_bwd(const nas_i_pool_geom *g, bool cip, const float *restrict colf,
                          const float *restrict dyp, float *restrict dxp, float *restrict row,
                          float *restrict gr, bool assign) {
    const int64_t W = g->w, P = g->pad, k = g->k, s = g->stride, Wo = g->wo;
    if (k == s && P == 0) { /* disjoint windows: each input element is in at most one */
        const float rf = cip ? 1.0f : 1.0f / (float)k; /* full windows: k rows */
        for (int64_t h = 0; h < g->h; h++) {
            float *dxr = dxp + h * W;
            const int64_t oh = h / k;
            int64_t q0 = 0; /* columns [0, q0) lie inside some window */
            if (oh < g->ho) {
                const float *dyr = dyp + oh * Wo;
                for (int64_t ow = 0; ow < Wo; ow++) {
                    gr[ow] = dyr[ow] * (rf * colf[ow]);
                }
                for (int64_t j = 0; j < k; j++) {
                    if (assign) {
                        for (int64_t ow = 0; ow < Wo; ow++) {
                            dxr[ow * k + j] = gr[ow];
                        }
                    } else {
                        for (int64_t ow = 0; ow < Wo; ow++) {
                            dxr[ow * k + j] += gr[ow];
                        }
                    }
                }
                q0 = Wo * k;
            }
            for (int64_t q = q0; q < W && assign; q++) {
                dxr[q] = 0.0f;
            }
        }
        return;
    }
    if (assign) {
        for (int64_t q = 0; q < g->h * W; q++) {
            dxp[q] = 0.0f;
        }
    }
    for (int64_t oh = 0; oh < g->ho; oh++) {
        int64_t h0, h1;
        win_range(oh * s - P, k, g->h, &h0, &h1);
        float rf = cip ? 1.0f : 1.0f / (float)(h1 - h0);
        const float *dyr = dyp + oh * Wo;
        for (int64_t ow = 0; ow < Wo; ow++) {
            gr[ow] = dyr[ow] * rf * colf[ow];
        }
        for (int64_t q = 0; q < W + 2 * P; q++) {
            row[q] = 0.0f;
        }
        for (int64_t j = 0; j < k; j++) {
            for (int64_t ow = 0; ow < Wo; ow++) {
                row[ow * s + j] += gr[ow];
            }
        }
        const float *r = row + P;
        for (int64_t h = h0; h < h1; h++) {
            float *dxr = dxp + h * W;
            for (int64_t q = 0; q < W; q++) {
                dxr[q] += r[q];
            }
        }
    }
}

nas_tensor *nas_avgpool2d(nas_tape *t, nas_tensor *x, int k, int stride, int pad,
                          bool count_include_pad) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    nas_i_pool_geom g;
    if (!pool_check(t, "avgpool2d", x, k, stride, pad, &g)) {
        return NULL;
    }
    nas_tensor *y = nas_tensor_new4(t, 4, g.n, g.c, g.ho, g.wo);
    if (!y) {
        return NULL;
    }
    const int64_t planes = g.n * g.c;
    int nt = nas_i_threads_for(planes * g.ho * g.wo * k);
    size_t per = pool_scratch(&g);
    float *colf = nas_i_alloc(t, (size_t)g.wo * sizeof(float));
    float *rows = nas_i_alloc(t, (size_t)nt * per * sizeof(float));
    if (!colf || !rows) {
        return NULL;
    }
    avg_col_factors(&g, count_include_pad, colf);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *row = rows + (size_t)nas_thread_id() * per;
        float *hs = row + pool_plane(&g);
        if (g.stride == 1) { /* the padding border stays zero: planes only fill the interior */
            memset(row, 0, pool_plane(&g) * sizeof(float));
        }
#pragma omp for schedule(static)
        for (int64_t pl = 0; pl < planes; pl++) {
            const float *xp = x->data + pl * g.h * g.w;
            float *yp = y->data + pl * g.ho * g.wo;
            if (g.stride == 1) {
                avg_flat_fwd(&g, count_include_pad, colf, xp, yp, row, hs);
            } else {
                avg_plane_fwd(&g, count_include_pad, colf, xp, yp, row);
            }
        }
    }
    nas_node *n = nas_i_record(t, NAS_OP_AVGPOOL, y, &x, 1);
    if (n) {
        n->ip[0] = k;
        n->ip[1] = stride;
        n->ip[2] = pad;
        n->ip[3] = count_include_pad;
    }
    return t->status == NAS_OK ? y : NULL;
}

void nas_i_avgpool_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    nas_i_pool_geom g = nas_i_pool_geom_make(x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                                             n->ip[0], n->ip[1], n->ip[2]);
    bool cip = n->ip[3] != 0;
    const int64_t planes = g.n * g.c;
    int nt = nas_i_threads_for(planes * g.ho * g.wo * g.k);
    size_t per = pool_scratch(&g);
    float *colf = nas_i_alloc(t, (size_t)g.wo * sizeof(float));
    float *rows = nas_i_alloc(t, (size_t)nt * per * sizeof(float));
    bool assign = false;
    float *dx = colf && rows ? nas_i_grad_fresh(t, x, &assign) : NULL;
    if (!dx) {
        return;
    }
    avg_col_factors(&g, cip, colf);
    const float *dy = n->out->grad;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *row = rows + (size_t)nas_thread_id() * per;
        float *gr = row + pad16(g.w + 2 * g.pad);
        float *hs = row + pool_plane(&g);
        if (g.stride == 1) { /* the padding border stays zero: planes only fill the interior */
            memset(row, 0, pool_plane(&g) * sizeof(float));
        }
#pragma omp for schedule(static)
        for (int64_t pl = 0; pl < planes; pl++) {
            const float *dyp = dy + pl * g.ho * g.wo;
            float *dxp = dx + pl * g.h * g.w;
            if (g.stride == 1) {
                avg_flat_bwd(&g, cip, colf, dyp, dxp, row, hs, assign);
            } else {
                avg_plane_bwd(&g, cip, colf, dyp, dxp, row, gr, assign);
            }
        }
    }
}

/* ---- max pool ------------------------------------------------------------------------------ */

/* Window columns: for kernel column j, the outputs [lo[j], hi[j]) whose column is real. */
typedef struct max_cols {
    int64_t lo[NAS_POOL_MAX_K], hi[NAS_POOL_MAX_K];
} max_cols;

/* One plane, stride > 1: yp = maxpool(xp); idx [ho, wo] gets each winner's offset in the plane.
 * Taps are scanned in row-major window order with a strict comparison, vectorised across a
 * row. */
static void max_plane_fwd(const nas_i_pool_geom *g, const max_cols *mc, const float *restrict xp,
                          float *restrict yp, int32_t *restrict idx) {
    const int64_t W = g->w, Wo = g->wo, s = g->stride, P = g->pad;
    for (int64_t oh = 0; oh < g->ho; oh++) {
        int64_t h0, h1;
        win_range(oh * s - P, g->k, g->h, &h0, &h1);
        float *m = yp + oh * Wo;
        int32_t *bi = idx + oh * Wo;
        /* Start from each window's first real element (pad <= k/2: there always is one). */
        for (int64_t ow = 0; ow < Wo; ow++) {
            int64_t w0 = ow * s - P < 0 ? 0 : ow * s - P;
            bi[ow] = (int32_t)(h0 * W + w0);
            m[ow] = xp[h0 * W + w0];
        }
        for (int64_t h = h0; h < h1; h++) {
            for (int64_t j = 0; j < g->k; j++) {
                const int64_t lo = mc->lo[j], hi = mc->hi[j];
                /* Input offset of output ow's tap: base + ow*s. */
                const int32_t base = (int32_t)(h * W + j - P);
                const float *xr = xp + base;
                for (int64_t ow = lo; ow < hi; ow++) {
                    float v = xr[ow * s], cur = m[ow];
                    bool take = (v > cur) | ((v != v) & (cur == cur)); /* a NaN wins */
                    m[ow] = take ? v : cur;
                    bi[ow] = take ? base + (int32_t)(ow * s) : bi[ow];
                }
            }
        }
    }
}

nas_tensor *nas_maxpool2d(nas_tape *t, nas_tensor *x, int k, int stride, int pad) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    nas_i_pool_geom g;
    if (!pool_check(t, "maxpool2d", x, k, stride, pad, &g)) {
        return NULL;
    }
    if (g.h * g.w > INT32_MAX || k > NAS_POOL_MAX_K) {
        return nas_i_fail(t, NAS_ESHAPE,
                          "maxpool2d: window %d (at most %d) or planes of x %lldx%lld (at most "
                          "2^31 elements) too large",
                          k, NAS_POOL_MAX_K, (long long)g.h, (long long)g.w);
    }
    nas_tensor *y = nas_tensor_new4(t, 4, g.n, g.c, g.ho, g.wo);
    if (!y) {
        return NULL;
    }
    max_cols mc;
    for (int j = 0; j < k; j++) {
        tap_range(j - pad, g.w, g.wo, stride, &mc.lo[j], &mc.hi[j]);
    }
    const int64_t planes = g.n * g.c, hwo = g.ho * g.wo;
    int nt = nas_i_threads_for(planes * hwo * k);
    nas_node *n = nas_i_record(t, NAS_OP_MAXPOOL, y, &x, 1);
    /* Winner offsets: [N, C, Ho, Wo] saved in the node, or one plane per thread when nothing
     * is recorded. */
    size_t idx_n = n ? (size_t)y->numel : (size_t)nt * pad16(hwo);
    int32_t *idx = nas_i_alloc(t, idx_n * sizeof(int32_t));
    size_t per = stride == 1 ? pool_scratch(&g) : 0;
    float *scratch = per ? nas_i_alloc(t, (size_t)nt * per * sizeof(float)) : NULL;
    if (t->status != NAS_OK) {
        return NULL;
    }
    if (n) {
        n->ip[0] = k;
        n->ip[1] = stride;
        n->ip[2] = pad;
        n->saved = idx;
    }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int tid = nas_thread_id();
        int32_t *mine = n ? NULL : idx + (size_t)tid * pad16(hwo);
        float *xpad = scratch ? scratch + (size_t)tid * per : NULL;
        float *m = xpad ? xpad + pad16((g.h + 2 * g.pad) * (g.w + 2 * g.pad)) : NULL;
        int32_t *del = m ? (int32_t *)(void *)(m + pad16(flat_len(&g))) : NULL;
#pragma omp for schedule(static)
        for (int64_t pl = 0; pl < planes; pl++) {
            const float *xp = x->data + pl * g.h * g.w;
            int32_t *ip = n ? idx + pl * hwo : mine;
            if (xpad) {
                max_flat_fwd(&g, xp, y->data + pl * hwo, ip, xpad, m, del);
            } else {
                max_plane_fwd(&g, &mc, xp, y->data + pl * hwo, ip);
            }
        }
    }
    return y;
}

void nas_i_maxpool_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    float *dx = nas_i_grad(t, x);
    if (!dx) {
        return;
    }
    const int32_t *idx = n->saved;
    const float *dy = n->out->grad;
    const int64_t planes = x->shape[0] * x->shape[1], hw = x->shape[2] * x->shape[3];
    const int64_t hwo = n->out->shape[2] * n->out->shape[3];
    int nt = nas_i_threads_for(planes * hwo);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * hw;
        const float *dyp = dy + pl * hwo;
        const int32_t *ip = idx + pl * hwo;
        for (int64_t q = 0; q < hwo; q++) {
            dxp[ip[q]] += dyp[q];
        }
    }
}

/* ---- global average pool ------------------------------------------------------------------- */

nas_tensor *nas_global_avgpool(nas_tape *t, nas_tensor *x) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    if (x->ndim != 4) {
        char xs[64];
        return nas_i_fail(t, NAS_ESHAPE, "global_avgpool: x must be [N, C, H, W], got %s",
                          nas_shape_str(x, xs, sizeof xs));
    }
    nas_tensor *y = nas_tensor_new4(t, 2, x->shape[0], x->shape[1], 0, 0);
    if (!y) {
        return NULL;
    }
    const int64_t planes = x->shape[0] * x->shape[1], hw = x->shape[2] * x->shape[3];
    const float inv = 1.0f / (float)hw;
    int nt = nas_i_threads_for(planes * hw);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x->data + pl * hw;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t q = 0; q < hw; q++) {
            s += xp[q];
        }
        y->data[pl] = s * inv;
    }
    nas_i_record(t, NAS_OP_GAP, y, &x, 1);
    return t->status == NAS_OK ? y : NULL;
}

void nas_i_gap_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    bool assign;
    float *dx = nas_i_grad_fresh(t, x, &assign);
    if (!dx) {
        return;
    }
    const float *dy = n->out->grad;
    const int64_t planes = x->shape[0] * x->shape[1], hw = x->shape[2] * x->shape[3];
    const float inv = 1.0f / (float)hw;
    int nt = nas_i_threads_for(planes * hw);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        float v = dy[pl] * inv, *dxp = dx + pl * hw;
        if (assign) {
            for (int64_t q = 0; q < hw; q++) {
                dxp[q] = v;
            }
        } else {
            for (int64_t q = 0; q < hw; q++) {
                dxp[q] += v;
            }
        }
    }
}
