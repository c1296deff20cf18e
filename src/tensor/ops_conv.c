/*
 * 2-D convolution (nas_conv2d) and its backward (nas_i_conv2d_backward). Five kernels, chosen
 * per call by conv_plan_make():
 *
 * Taps (the NB201 workhorse: >= 8 input channels per group, planes >= 25 outputs): no column
 * matrix at all. The input is zero-padded into planes xpad [cin, hp*wp] (stride 1), and the
 * output, laid out with row pitch wp, is a sum of kh*kw GEMMs, one per kernel tap:
 *     out [cout_g, L] += w_ij [cout_g, cin_g] x (xpad + i*d*wp + j*d) [cin_g, L]  (ld hp*wp)
 * with L = (ho-1)*wp + wo; each GEMM reads a shifted view of the padded planes in place and
 * the wp - wo junk columns per row are dropped when copying out. Backward uses the same
 * views: dW_ij += dy x view^T, and dx accumulates W_ij^T dy into shifted views of a padded
 * gradient plane (dy's junk columns are zeroed, so they add nothing). Stride s > 1 first
 * splits each padded plane into s*s phase planes xph[a*s + b][u][v] = xpad[s*u + a][s*v + b];
 * tap (i, j) is then a stride-1 view of phase ((i*d) % s, (j*d) % s).
 *
 * im2col + GEMM (few channels or tiny planes), per group
 *     out [cout_g, cols] = w_g [cout_g, kdim] x col [kdim, cols],   kdim = cin_g*kh*kw,
 * with the column matrix either exact (ho*wo columns) or, for stride 1 with wide planes, "wide"
 * (rows are contiguous slices of a padded plane, output pitch wp as above). Several images are
 * folded into one GEMM (column blocks side by side) when planes are small.
 *
 * Pointwise (1x1, stride 1, pad 0): the input planes are the column matrix (no copy unless
 * images are folded).
 *
 * Direct (one input channel per group: depthwise, Cin = 1 stems): loops over zero-padded
 * planes, each tap one contiguous multiply-add over a wide plane (stride 1).
 *
 * Winograd (ops_winograd.c): 3x3 stride-1 convs that would take the taps path and have at
 * least 24 channels per group compute y, dx (as the conv of dy with transposed flipped
 * weights) and dw (in the transformed domain) by F(2x2, 3x3): 16 instead of 36 products per
 * 2x2 outputs and channel pair.
 *
 * Input gradients: when dx has no buffer yet (x is an intermediate value, the usual case), it
 * is allocated uninitialised and every kernel stores into it instead of accumulating
 * (nas_i_grad_fresh), which saves a zero fill and a read of dx.
 *
 * Threading: the batch is split into one contiguous chunk per thread (static, so results do not
 * depend on scheduling); each thread has its own scratch from the tape arena and calls BLAS
 * single-threaded (OpenBLAS's OpenMP build does so inside a parallel region). Weight and bias
 * gradients are accumulated per thread and reduced afterwards in thread order (split by output
 * channel, inside the same parallel region, as is the weight regrouping): for 3x3 16->16
 * at 28x28, batch 64, 2 threads, this took 1.6 ms against 17.8 ms for one GEMM per tap with the
 * whole batch folded into K and BLAS threading over the tiny [cout, cin] output.
 */
#include "ref-impl.h"
#include "tape-impl.h"
#include "winograd-impl.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Column budget of one folded GEMM and the per-thread column scratch cap (floats). */
#define CONV_FOLD_COLS 512
#define CONV_COL_CAP   (1 << 18)
/* Use the wide layout when it adds at most this fraction of GEMM columns. */
#define CONV_WIDE_MAX_EXTRA 0.15
/* Shifted-GEMM (taps) path: enough input channels per group for K, and planes large enough
 * that kh*kw GEMM calls per image are worth it. */
#define CONV_TAPS_MIN_CIN 8
#define CONV_TAPS_MIN_HWO 25

typedef struct conv_plan {
    nas_i_conv_geom g;
    int64_t cin_g, cout_g; /* channels per group */
    int64_t kdim;          /* cin_g * kh * kw: rows of the column matrix */
    int64_t hwi, hwo;      /* input / output plane sizes */
    int64_t hp, wp;        /* zero-padded input plane */
    int64_t php, pwp;      /* taps path: phase plane size ceil(hp/s) x ceil(wp/s), or for
                              stride 1 the padded plane with shared side padding hp x (w+pad) */
    int64_t cs;            /* taps path: floats per input channel */
    int64_t pitch;         /* row pitch of the GEMM output layout (wo when exact) */
    int64_t seg;           /* GEMM columns per image: (ho-1)*pitch + wo (= hwo when exact) */
    int64_t fold;          /* images per GEMM (>= 1) */
    bool pointwise;        /* 1x1, stride 1, pad 0 */
    bool wide;             /* wide im2col layout (stride 1) */
    bool taps;             /* shifted GEMMs on padded (phase) planes, no im2col */
    bool wino;             /* taps-sized 3x3 stride 1: Winograd for y, dx and dw */
    bool direct;           /* cin_g == 1: direct loops instead of GEMMs */
    int nt;                /* threads; thread t owns a contiguous chunk of the batch */
} conv_plan;

static int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

/* Images [*n0, *n1) of thread `tid` out of `nt` over a batch of `n`. */
static void batch_chunk(int64_t n, int nt, int tid, int64_t *n0, int64_t *n1) {
    int64_t base = n / nt, rem = n % nt;
    *n0 = tid * base + min64(tid, rem);
    *n1 = *n0 + base + (tid < rem ? 1 : 0);
}

/* Round a float count up to a whole number of 64-byte lines. */
static size_t pad16(int64_t n) {
    return (size_t)((n + 15) & ~(int64_t)15);
}

/* Short-row copy and fill, unrolled by 4 with a switch tail: GCC turns plain copy/fill loops
 * into memcpy/memset calls, which cost more than the copy itself for rows of a few dozen
 * floats; this form stays inline and vectorised. */
static inline void copy_row(float *restrict d, const float *restrict s, int64_t n) {
    int64_t q = 0;
    for (; q + 4 <= n; q += 4) {
        float a = s[q], b = s[q + 1], c = s[q + 2], e = s[q + 3];
        d[q] = a;
        d[q + 1] = b;
        d[q + 2] = c;
        d[q + 3] = e;
    }
    switch (n - q) {
        case 3:
            d[q + 2] = s[q + 2];
            /* fall through */
        case 2:
            d[q + 1] = s[q + 1];
            /* fall through */
        case 1:
            d[q] = s[q];
            break;
        default:
            break;
    }
}

static inline void zero_row(float *d, int64_t n) {
    int64_t q = 0;
    for (; q + 4 <= n; q += 4) {
        d[q] = 0.0f;
        d[q + 1] = 0.0f;
        d[q + 2] = 0.0f;
        d[q + 3] = 0.0f;
    }
    switch (n - q) {
        case 3:
            d[q + 2] = 0.0f;
            /* fall through */
        case 2:
            d[q + 1] = 0.0f;
            /* fall through */
        case 1:
            d[q] = 0.0f;
            break;
        default:
            break;
    }
}

static inline void add_row(float *restrict d, const float *restrict s, int64_t n) {
    for (int64_t q = 0; q < n; q++) {
        d[q] += s[q];
    }
}

static conv_plan conv_plan_make(const nas_i_conv_geom *g) {
    conv_plan p;
    memset(&p, 0, sizeof p);
    p.g = *g;
    p.cin_g = g->cin / g->groups;
    p.cout_g = g->cout / g->groups;
    p.kdim = p.cin_g * g->kh * g->kw;
    p.hwi = g->h * g->w;
    p.hwo = g->ho * g->wo;
    p.hp = g->h + 2 * g->pad;
    p.wp = g->w + 2 * g->pad;
    p.pointwise = g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad == 0;
    p.direct = p.cin_g == 1;
    const int64_t s = g->stride;
    if (s == 1) {
        /* Padded rows of pitch w + z, z = max(pad, wo - w): the z zeros ending a row are also
         * the left padding of the next one (stride 1 reads columns -pad..w+pad-1 only), and
         * an output row (wo wide) fits in the pitch; a leading run of pad zeros covers the
         * first row. */
        int64_t z = g->pad, wo_extra = g->wo - g->w;
        p.php = p.hp;
        p.pwp = g->w + (wo_extra > z ? wo_extra : z);
        p.cs = g->pad + p.php * p.pwp;
    } else {
        p.php = (p.hp + s - 1) / s;
        p.pwp = (p.wp + s - 1) / s;
        p.cs = s * s * p.php * p.pwp;
    }
    int64_t wide_seg = (g->ho - 1) * p.wp + g->wo;
    bool gemm = !p.pointwise && !p.direct;
    p.taps = gemm && p.cin_g >= CONV_TAPS_MIN_CIN && p.hwo >= CONV_TAPS_MIN_HWO;
    p.wino = p.taps && nas_i_wino_applies(g);
    p.wide = !p.taps && gemm && s == 1 &&
             (double)wide_seg <= (1.0 + CONV_WIDE_MAX_EXTRA) * (double)p.hwo;
    p.pitch = p.taps ? p.pwp : p.wide ? p.wp : g->wo;
    p.seg = p.taps || p.wide ? (g->ho - 1) * p.pitch + g->wo : p.hwo;
    /* Work in units of 16 multiply-adds, so tiny convs stay on one thread. */
    int64_t work = g->n * g->cout * p.hwo * p.kdim / 16;
    int nt = nas_i_threads_for(work);
    p.nt = (int)min64(nt, g->n);
    int64_t per_thread = (g->n + p.nt - 1) / p.nt;
    int64_t fold = (CONV_FOLD_COLS + p.seg - 1) / p.seg;
    int64_t cap = CONV_COL_CAP / (p.kdim * p.seg);
    fold = min64(fold, cap > 1 ? cap : 1);
    p.fold = p.taps ? 1 : min64(fold, per_thread);
    if (p.fold < 1) {
        p.fold = 1;
    }
    return p;
}

/* Output positions [*lo, *hi) along one axis whose tap at input offset o*s + off is inside
 * [0, in). */
static void tap_range(int64_t off, int64_t in, int64_t out, int64_t s, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    h = min64(h, out);
    *lo = min64(l, h);
    *hi = h;
}

/* xpad [c, hp, wp] = x [c, h, w] with a zero border of `pad`. */
static void pad_planes(const conv_plan *p, int64_t c, const float *restrict x,
                       float *restrict xpad) {
    const int64_t H = p->g.h, W = p->g.w, P = p->g.pad, wp = p->wp;
    for (int64_t ci = 0; ci < c; ci++) {
        float *d = xpad + ci * p->hp * wp;
        const float *s = x + ci * p->hwi;
        zero_row(d, P * wp + P);
        for (int64_t h = 0; h < H; h++) {
            copy_row(d + (P + h) * wp + P, s + h * W, W);
            zero_row(d + (P + h) * wp + P + W, h + 1 < H ? 2 * P : P + P * wp);
        }
    }
}

/* ---- column matrices ----------------------------------------------------------------------- */

/* Exact im2col: col [kdim, ho*wo] (row stride ldc) from one image's group input xg. */
static void im2col_exact(const conv_plan *p, const float *restrict xg, float *restrict col,
                         int64_t ldc) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t W = g->w, Wo = g->wo, Ho = g->ho, s = g->stride;
    for (int64_t c = 0; c < p->cin_g; c++) {
        const float *xc = xg + c * p->hwi;
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t hoff = i * g->dilation - g->pad, hlo, hhi;
            tap_range(hoff, g->h, Ho, s, &hlo, &hhi);
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t woff = j * g->dilation - g->pad, wlo, whi;
                tap_range(woff, W, Wo, s, &wlo, &whi);
                float *row = col + ((c * g->kh + i) * g->kw + j) * ldc;
                zero_row(row, hlo * Wo);
                zero_row(row + hhi * Wo, (Ho - hhi) * Wo);
                for (int64_t oh = hlo; oh < hhi; oh++) {
                    const float *src = xc + (oh * s + hoff) * W;
                    float *dst = row + oh * Wo;
                    zero_row(dst, wlo);
                    if (s == 1) {
                        copy_row(dst + wlo, src + wlo + woff, whi - wlo);
                    } else {
                        for (int64_t ow = wlo; ow < whi; ow++) {
                            dst[ow] = src[ow * s + woff];
                        }
                    }
                    zero_row(dst + whi, Wo - whi);
                }
            }
        }
    }
}

/* Exact col2im: dxg [cin_g, h, w] += col [kdim, ho*wo] (row stride ldc). */
static void col2im_exact(const conv_plan *p, const float *restrict col, int64_t ldc,
                         float *restrict dxg) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t W = g->w, Wo = g->wo, Ho = g->ho, s = g->stride;
    for (int64_t c = 0; c < p->cin_g; c++) {
        float *dxc = dxg + c * p->hwi;
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t hoff = i * g->dilation - g->pad, hlo, hhi;
            tap_range(hoff, g->h, Ho, s, &hlo, &hhi);
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t woff = j * g->dilation - g->pad, wlo, whi;
                tap_range(woff, W, Wo, s, &wlo, &whi);
                const float *row = col + ((c * g->kh + i) * g->kw + j) * ldc;
                for (int64_t oh = hlo; oh < hhi; oh++) {
                    float *dst = dxc + (oh * s + hoff) * W;
                    const float *src = row + oh * Wo;
                    if (s == 1) {
                        add_row(dst + wlo + woff, src + wlo, whi - wlo);
                    } else {
                        for (int64_t ow = wlo; ow < whi; ow++) {
                            dst[ow * s + woff] += src[ow];
                        }
                    }
                }
            }
        }
    }
}

/* Column block [kdim, seg] (row stride ldc) of one image's group input xg. xpad: scratch of
 * cin_g*hp*wp floats (wide layout). */
static void build_cols(const conv_plan *p, const float *xg, float *col, int64_t ldc, float *xpad) {
    const nas_i_conv_geom *g = &p->g;
    if (p->pointwise) {
        for (int64_t c = 0; c < p->cin_g; c++) {
            memcpy(col + c * ldc, xg + c * p->hwi, (size_t)p->hwi * sizeof(float));
        }
    } else if (p->wide) {
        pad_planes(p, p->cin_g, xg, xpad);
        for (int64_t c = 0; c < p->cin_g; c++) {
            for (int64_t i = 0; i < g->kh; i++) {
                for (int64_t j = 0; j < g->kw; j++) {
                    const float *src =
                        xpad + c * p->hp * p->wp + i * g->dilation * p->wp + j * g->dilation;
                    memcpy(col + ((c * g->kh + i) * g->kw + j) * ldc, src,
                           (size_t)p->seg * sizeof(float));
                }
            }
        }
    } else {
        im2col_exact(p, xg, col, ldc);
    }
}

/* dxg += col2im of a column block [kdim, seg] (row stride ldc), or dxg = ... when `assign`.
 * dxpad: cin_g*hp*wp scratch. */
static void cols_to_dx(const conv_plan *p, const float *col, int64_t ldc, float *dxg, float *dxpad,
                       bool assign) {
    const nas_i_conv_geom *g = &p->g;
    if (p->pointwise) {
        for (int64_t c = 0; c < p->cin_g; c++) {
            if (assign) {
                memcpy(dxg + c * p->hwi, col + c * ldc, (size_t)p->hwi * sizeof(float));
            } else {
                add_row(dxg + c * p->hwi, col + c * ldc, p->hwi);
            }
        }
    } else if (p->wide) {
        /* Junk columns of the block are zero (dy's junk is zero), so adding them is harmless. */
        const int64_t plane = p->hp * p->wp;
        memset(dxpad, 0, (size_t)(p->cin_g * plane) * sizeof(float));
        for (int64_t c = 0; c < p->cin_g; c++) {
            for (int64_t i = 0; i < g->kh; i++) {
                for (int64_t j = 0; j < g->kw; j++) {
                    add_row(dxpad + c * plane + i * g->dilation * p->wp + j * g->dilation,
                            col + ((c * g->kh + i) * g->kw + j) * ldc, p->seg);
                }
            }
            for (int64_t h = 0; h < g->h; h++) {
                float *d = dxg + c * p->hwi + h * g->w;
                const float *src = dxpad + c * plane + (h + g->pad) * p->wp + g->pad;
                if (assign) {
                    copy_row(d, src, g->w);
                } else {
                    add_row(d, src, g->w);
                }
            }
        }
    } else {
        if (assign) {
            memset(dxg, 0, (size_t)(p->cin_g * p->hwi) * sizeof(float));
        }
        col2im_exact(p, col, ldc, dxg);
    }
}

/* yg [cout_g, hwo] = out [cout_g, seg] (row stride ldo) + bias (may be NULL). */
static void out_to_y(const conv_plan *p, const float *out, int64_t ldo, float *yg,
                     const float *bias) {
    const int64_t Ho = p->g.ho, Wo = p->g.wo, pitch = p->pitch;
    for (int64_t co = 0; co < p->cout_g; co++) {
        float bv = bias ? bias[co] : 0.0f;
        for (int64_t oh = 0; oh < Ho; oh++) {
            const float *s = out + co * ldo + oh * pitch;
            float *d = yg + co * p->hwo + oh * Wo;
            for (int64_t ow = 0; ow < Wo; ow++) {
                d[ow] = s[ow] + bv;
            }
        }
    }
}

/* yg [cout_g, hwo] += out [cout_g, seg] (row stride ldo). */
static void out_add_y(const conv_plan *p, const float *out, int64_t ldo, float *yg) {
    const int64_t Ho = p->g.ho, Wo = p->g.wo, pitch = p->pitch;
    for (int64_t co = 0; co < p->cout_g; co++) {
        for (int64_t oh = 0; oh < Ho; oh++) {
            add_row(yg + co * p->hwo + oh * Wo, out + co * ldo + oh * pitch, Wo);
        }
    }
}

/* dst [cout_g, seg] (row stride ldd) = dyg [cout_g, hwo] in the GEMM layout (junk = 0). */
static void dy_to_cols(const conv_plan *p, const float *dyg, float *dst, int64_t ldd) {
    const int64_t Ho = p->g.ho, Wo = p->g.wo;
    for (int64_t co = 0; co < p->cout_g; co++) {
        if (p->pitch == Wo) {
            memcpy(dst + co * ldd, dyg + co * p->hwo, (size_t)p->hwo * sizeof(float));
            continue;
        }
        for (int64_t oh = 0; oh < Ho; oh++) {
            float *d = dst + co * ldd + oh * p->pitch;
            copy_row(d, dyg + co * p->hwo + oh * Wo, Wo);
            if (oh + 1 < Ho) {
                zero_row(d + Wo, p->pitch - Wo);
            }
        }
    }
}

/* ---- GEMM path ----------------------------------------------------------------------------- */

/* Per-thread scratch of the GEMM path (floats), carved from one arena block. */
typedef struct conv_scratch {
    float *col; /* [kdim, fold*seg] column block, or dcol in backward */
    float *out; /* [cout_g, fold*seg] GEMM output (forward) or dy in GEMM layout (backward) */
    float *pad; /* [cin_g, hp, wp] padded planes (wide layout) */
} conv_scratch;

typedef struct scratch_sizes {
    size_t col, out, pad, total;
} scratch_sizes;

static scratch_sizes scratch_plan(const conv_plan *p, bool need_col, bool need_out) {
    scratch_sizes z;
    int64_t cols = p->fold * p->seg;
    z.col = need_col ? pad16(p->kdim * cols) : 0;
    z.out = need_out ? pad16(p->cout_g * cols) : 0;
    z.pad = p->wide ? pad16(p->cin_g * p->hp * p->wp) : 0;
    z.total = z.col + z.out + z.pad;
    return z;
}

static conv_scratch scratch_at(float *base, const scratch_sizes *z, int tid) {
    conv_scratch s = {NULL, NULL, NULL};
    if (base && z->total) {
        float *m = base + (size_t)tid * z->total;
        s.col = z->col ? m : NULL;
        s.out = z->out ? m + z->col : NULL;
        s.pad = z->pad ? m + z->col + z->out : NULL;
    }
    return s;
}

/* Forward of images [n0, n1). */
static void conv_fwd_gemm(const conv_plan *p, const float *x, const float *w, const float *b,
                          float *y, int64_t n0, int64_t n1, conv_scratch sc) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t hwo = p->hwo, cout_g = p->cout_g, kdim = p->kdim, seg = p->seg;
    for (int64_t nb = n0; nb < n1; nb += p->fold) {
        int64_t cnt = min64(p->fold, n1 - nb), ncols = cnt * seg;
        for (int64_t grp = 0; grp < g->groups; grp++) {
            const float *wg = w + grp * cout_g * kdim;
            const float *bg = b ? b + grp * cout_g : NULL;
            const float *xg0 = x + (nb * g->cin + grp * p->cin_g) * p->hwi;
            float *yg0 = y + (nb * g->cout + grp * cout_g) * hwo;
            const float *src = xg0;
            if (!(p->pointwise && cnt == 1)) {
                for (int64_t bi = 0; bi < cnt; bi++) {
                    build_cols(p, xg0 + bi * g->cin * p->hwi, sc.col + bi * seg, ncols, sc.pad);
                }
                src = sc.col;
            }
            if (cnt == 1 && !p->wide) { /* straight into y */
                nas_sgemm(false, false, cout_g, hwo, kdim, 1.0f, wg, kdim, src, hwo, 0.0f, yg0,
                          hwo);
                if (bg) {
                    out_to_y(p, yg0, hwo, yg0, bg);
                }
                continue;
            }
            nas_sgemm(false, false, cout_g, ncols, kdim, 1.0f, wg, kdim, src, ncols, 0.0f, sc.out,
                      ncols);
            for (int64_t bi = 0; bi < cnt; bi++) {
                out_to_y(p, sc.out + bi * seg, ncols, yg0 + bi * g->cout * hwo, bg);
            }
        }
    }
}

/* Backward of images [n0, n1): dx += ... (dx = ... when dx_assign), dw_acc [cout, kdim] += ...,
 * db_acc [cout] += ... (each may be NULL). */
static void conv_bwd_gemm(const conv_plan *p, const float *x, const float *w, const float *dy,
                          float *dx, bool dx_assign, float *dw_acc, float *db_acc, int64_t n0,
                          int64_t n1, conv_scratch sc) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t hwo = p->hwo, hwi = p->hwi, cout_g = p->cout_g, cin_g = p->cin_g;
    const int64_t kdim = p->kdim, seg = p->seg;
    for (int64_t nb = n0; nb < n1; nb += p->fold) {
        int64_t cnt = min64(p->fold, n1 - nb), ncols = cnt * seg;
        for (int64_t grp = 0; grp < g->groups && (dw_acc || dx); grp++) {
            const float *wg = w + grp * cout_g * kdim;
            const float *xg0 = x + (nb * g->cin + grp * cin_g) * hwi;
            const float *dyg0 = dy + (nb * g->cout + grp * cout_g) * hwo;
            const float *dyc = dyg0; /* dy as [cout_g, ncols] */
            if (cnt > 1 || p->wide) {
                for (int64_t bi = 0; bi < cnt; bi++) {
                    dy_to_cols(p, dyg0 + bi * g->cout * hwo, sc.out + bi * seg, ncols);
                }
                dyc = sc.out;
            }
            bool direct_x = p->pointwise && cnt == 1;
            if (dw_acc) {
                const float *src = xg0;
                if (!direct_x) {
                    for (int64_t bi = 0; bi < cnt; bi++) {
                        build_cols(p, xg0 + bi * g->cin * hwi, sc.col + bi * seg, ncols, sc.pad);
                    }
                    src = sc.col;
                }
                nas_sgemm(false, true, cout_g, kdim, ncols, 1.0f, dyc, ncols, src, ncols, 1.0f,
                          dw_acc + grp * cout_g * kdim, kdim);
            }
            if (dx) {
                float *dxg0 = dx + (nb * g->cin + grp * cin_g) * hwi;
                if (direct_x) {
                    nas_sgemm(true, false, cin_g, hwo, cout_g, 1.0f, wg, kdim, dyc, hwo,
                              dx_assign ? 0.0f : 1.0f, dxg0, hwi);
                } else {
                    nas_sgemm(true, false, kdim, ncols, cout_g, 1.0f, wg, kdim, dyc, ncols, 0.0f,
                              sc.col, ncols);
                    for (int64_t bi = 0; bi < cnt; bi++) {
                        cols_to_dx(p, sc.col + bi * seg, ncols, dxg0 + bi * g->cin * hwi, sc.pad,
                                   dx_assign);
                    }
                }
            }
        }
        if (db_acc) {
            for (int64_t bi = 0; bi < cnt; bi++) {
                for (int64_t co = 0; co < g->cout; co++) {
                    const float *r = dy + ((nb + bi) * g->cout + co) * hwo;
                    float s = 0.0f;
#pragma omp simd reduction(+ : s)
                    for (int64_t q = 0; q < hwo; q++) {
                        s += r[q];
                    }
                    db_acc[co] += s;
                }
            }
        }
    }
}

/* ---- taps path ----------------------------------------------------------------------------- */

/* wt [groups, kh*kw, cout_g, cin_g] = w [cout, cin_g, kh, kw] regrouped per kernel tap, output
 * channels [co0, co1). */
static void taps_weights(const conv_plan *p, const float *w, float *wt, int64_t co0, int64_t co1) {
    const int64_t kk = p->g.kh * p->g.kw;
    for (int64_t co = co0; co < co1; co++) {
        int64_t grp = co / p->cout_g, col = co % p->cout_g;
        for (int64_t ci = 0; ci < p->cin_g; ci++) {
            for (int64_t tp = 0; tp < kk; tp++) {
                wt[((grp * kk + tp) * p->cout_g + col) * p->cin_g + ci] =
                    w[(co * p->cin_g + ci) * kk + tp];
            }
        }
    }
}

/* dw [cout, cin_g, kh, kw] += dwt [groups, kh*kw, cout_g, cin_g], output channels [co0, co1). */
static void taps_weights_add(const conv_plan *p, const float *dwt, float *dw, int64_t co0,
                             int64_t co1) {
    const int64_t kk = p->g.kh * p->g.kw;
    for (int64_t co = co0; co < co1; co++) {
        int64_t grp = co / p->cout_g, col = co % p->cout_g;
        for (int64_t ci = 0; ci < p->cin_g; ci++) {
            for (int64_t tp = 0; tp < kk; tp++) {
                dw[(co * p->cin_g + ci) * kk + tp] +=
                    dwt[((grp * kk + tp) * p->cout_g + col) * p->cin_g + ci];
            }
        }
    }
}

/* Offset of kernel tap tp within an input channel's phase planes. */
static int64_t tap_offset(const conv_plan *p, int64_t tp) {
    const int64_t s = p->g.stride, ri = (tp / p->g.kw) * p->g.dilation;
    const int64_t rj = (tp % p->g.kw) * p->g.dilation;
    return ((ri % s) * s + rj % s) * p->php * p->pwp + (ri / s) * p->pwp + rj / s;
}

/* First input column w >= 0 whose padded column w + pad has phase b. */
static int64_t phase_first(const conv_plan *p, int64_t b) {
    const int64_t s = p->g.stride;
    return ((b - p->g.pad) % s + s) % s;
}

/* xph [c, cs] = the zero-padded planes of x [c, h, w]: split into s*s stride phases
 * [s*s, php, pwp], or for stride 1 as rows of pitch pwp with shared side padding. Only the
 * real elements are written: the caller zeroes xph once, and since every image puts its
 * elements at the same places the padding stays zero for all later images. */
static void phase_planes(const conv_plan *p, int64_t c, const float *restrict x,
                         float *restrict xph) {
    const int64_t s = p->g.stride, P = p->g.pad, W = p->g.w, pp = p->php * p->pwp;
    if (s == 1) {
        const int64_t wq = p->pwp;
        for (int64_t ci = 0; ci < c; ci++) {
            float *d = xph + ci * p->cs + P + P * wq;
            const float *src = x + ci * p->hwi;
            for (int64_t h = 0; h < p->g.h; h++) {
                copy_row(d + h * wq, src + h * W, W);
            }
        }
        return;
    }
    for (int64_t ci = 0; ci < c; ci++) {
        for (int64_t h = 0; h < p->g.h; h++) {
            const int64_t r = h + P;
            const float *src = x + ci * p->hwi + h * W;
            if (s == 2) { /* even/odd columns in one (vectorisable) loop */
                float *row = xph + ci * p->cs + (r % 2) * 2 * pp + (r / 2) * p->pwp;
                float *de = row + (P % 2) * pp + P / 2,
                      *dd = row + ((P + 1) % 2) * pp + (P + 1) / 2;
                for (int64_t v = 0; v < W / 2; v++) {
                    de[v] = src[2 * v];
                    dd[v] = src[2 * v + 1];
                }
                if (W % 2) {
                    de[W / 2] = src[W - 1];
                }
                continue;
            }
            for (int64_t b = 0; b < s; b++) {
                float *dst = xph + ci * p->cs + ((r % s) * s + b) * pp + (r / s) * p->pwp;
                const int64_t w0 = phase_first(p, b), v0 = (w0 + P) / s;
                for (int64_t v = 0; w0 + v * s < W; v++) {
                    dst[v0 + v] = src[w0 + v * s];
                }
            }
        }
    }
}

/* dxg [cin_g, h, w] += the real part of the padded-plane gradient dxph [cin_g, cs], or
 * dxg = ... when `assign`. */
static void phases_to_dx(const conv_plan *p, const float *restrict dxph, float *restrict dxg,
                         bool assign) {
    const int64_t s = p->g.stride, P = p->g.pad, W = p->g.w, pp = p->php * p->pwp;
    for (int64_t c = 0; c < p->cin_g; c++) {
        for (int64_t h = 0; h < p->g.h; h++) {
            const int64_t r = h + P;
            float *dst = dxg + c * p->hwi + h * W;
            if (s == 1) {
                const float *src = dxph + c * p->cs + P + r * p->pwp;
                if (assign) {
                    copy_row(dst, src, W);
                } else {
                    add_row(dst, src, W);
                }
                continue;
            }
            if (s == 2) {
                const float *row = dxph + c * p->cs + (r % 2) * 2 * pp + (r / 2) * p->pwp;
                const float *se = row + (P % 2) * pp + P / 2;
                const float *sd = row + ((P + 1) % 2) * pp + (P + 1) / 2;
                if (assign) {
                    for (int64_t v = 0; v < W / 2; v++) {
                        dst[2 * v] = se[v];
                        dst[2 * v + 1] = sd[v];
                    }
                    if (W % 2) {
                        dst[W - 1] = se[W / 2];
                    }
                    continue;
                }
                for (int64_t v = 0; v < W / 2; v++) {
                    dst[2 * v] += se[v];
                    dst[2 * v + 1] += sd[v];
                }
                if (W % 2) {
                    dst[W - 1] += se[W / 2];
                }
                continue;
            }
            if (assign) {
                for (int64_t q = 0; q < W; q++) {
                    dst[q] = 0.0f;
                }
            }
            for (int64_t b = 0; b < s; b++) {
                const float *src = dxph + c * p->cs + ((r % s) * s + b) * pp + (r / s) * p->pwp;
                const int64_t w0 = phase_first(p, b), v0 = (w0 + P) / s;
                for (int64_t v = 0; w0 + v * s < W; v++) {
                    dst[w0 + v * s] += src[v0 + v];
                }
            }
        }
    }
}

/* Forward of images [n0, n1): y = conv (+ b), or y += conv when `acc` (b must be NULL then).
 * xpad: [cin, cs] phase planes (zeroed here unless `pad_zeroed`, see phase_planes), out:
 * [cout_g, seg] scratch. */
static void conv_fwd_taps(const conv_plan *p, const float *x, const float *wt, const float *b,
                          float *y, bool acc, int64_t n0, int64_t n1, float *xpad, bool pad_zeroed,
                          float *out) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t kk = g->kh * g->kw, plane = p->cs, L = p->seg;
    const int64_t wsz = p->cout_g * p->cin_g;
    if (!pad_zeroed && n0 < n1) {
        memset(xpad, 0, (size_t)(g->cin * plane) * sizeof(float));
    }
    for (int64_t n = n0; n < n1; n++) {
        phase_planes(p, g->cin, x + n * g->cin * p->hwi, xpad);
        for (int64_t grp = 0; grp < g->groups; grp++) {
            const float *xg = xpad + grp * p->cin_g * plane;
            for (int64_t tp = 0; tp < kk; tp++) {
                nas_sgemm(false, false, p->cout_g, L, p->cin_g, 1.0f, wt + (grp * kk + tp) * wsz,
                          p->cin_g, xg + tap_offset(p, tp), plane, tp ? 1.0f : 0.0f, out, L);
            }
            float *yg = y + (n * g->cout + grp * p->cout_g) * p->hwo;
            if (acc) {
                out_add_y(p, out, L, yg);
            } else {
                out_to_y(p, out, L, yg, b ? b + grp * p->cout_g : NULL);
            }
        }
    }
}

/* Backward of images [n0, n1): dx += ... (= when dx_assign), dwt_acc [groups, kh*kw, cout_g,
 * cin_g] += ..., db_acc [cout] += ... (each may be NULL). xpad: [cin, cs], dxpad: [cin_g, cs]
 * phase planes, dyw: [cout_g, seg] scratch. */
static void conv_bwd_taps(const conv_plan *p, const float *x, const float *wt, const float *dy,
                          float *dx, bool dx_assign, float *dwt_acc, float *db_acc, int64_t n0,
                          int64_t n1, float *xpad, float *dxpad, float *dyw) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t kk = g->kh * g->kw, plane = p->cs, L = p->seg;
    const int64_t wsz = p->cout_g * p->cin_g, cin_g = p->cin_g, cout_g = p->cout_g;
    if (dwt_acc && n0 < n1) { /* padding zeroed once, see phase_planes */
        memset(xpad, 0, (size_t)(g->cin * plane) * sizeof(float));
    }
    for (int64_t n = n0; n < n1; n++) {
        if (dwt_acc) {
            phase_planes(p, g->cin, x + n * g->cin * p->hwi, xpad);
        }
        for (int64_t grp = 0; grp < g->groups && (dwt_acc || dx); grp++) {
            dy_to_cols(p, dy + (n * g->cout + grp * cout_g) * p->hwo, dyw, L);
            if (dwt_acc) {
                const float *xg = xpad + grp * cin_g * plane;
                for (int64_t tp = 0; tp < kk; tp++) {
                    nas_sgemm(false, true, cout_g, cin_g, L, 1.0f, dyw, L, xg + tap_offset(p, tp),
                              plane, 1.0f, dwt_acc + (grp * kk + tp) * wsz, cin_g);
                }
            }
            if (dx) {
                memset(dxpad, 0, (size_t)(cin_g * plane) * sizeof(float));
                for (int64_t tp = 0; tp < kk; tp++) {
                    nas_sgemm(true, false, cin_g, L, cout_g, 1.0f, wt + (grp * kk + tp) * wsz,
                              cin_g, dyw, L, 1.0f, dxpad + tap_offset(p, tp), plane);
                }
                phases_to_dx(p, dxpad, dx + (n * g->cin + grp * cin_g) * p->hwi, dx_assign);
            }
        }
        if (db_acc) {
            for (int64_t co = 0; co < g->cout; co++) {
                const float *r = dy + (n * g->cout + co) * p->hwo;
                float s = 0.0f;
#pragma omp simd reduction(+ : s)
                for (int64_t e = 0; e < p->hwo; e++) {
                    s += r[e];
                }
                db_acc[co] += s;
            }
        }
    }
}

/* ---- direct path (one input channel per group) --------------------------------------------- */

/*
 * Stride 1 works on flat rows: with the input plane zero-padded to [hp, wp], output (oh, ow)
 * sits at q = oh*wp + ow of a "wide" plane of L = (ho-1)*wp + wo floats, and tap (i, j) reads
 * the padded plane at q + i*d*wp + j*d, so every tap is one contiguous multiply-add over L.
 * Strided convs use per-row loops with clipped ranges.
 */

/* yp [ho, wo] += conv of one input plane xp [h, w] with filter wp [kh, kw] (strided). */
static void direct_plane_fwd(const nas_i_conv_geom *g, const float *restrict xp,
                             const float *restrict wk, float *restrict yp) {
    const int64_t W = g->w, Wo = g->wo, s = g->stride;
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t hoff = i * g->dilation - g->pad, hlo, hhi;
        tap_range(hoff, g->h, g->ho, s, &hlo, &hhi);
        for (int64_t j = 0; j < g->kw; j++) {
            int64_t woff = j * g->dilation - g->pad, wlo, whi;
            tap_range(woff, W, Wo, s, &wlo, &whi);
            float wv = wk[i * g->kw + j];
            for (int64_t oh = hlo; oh < hhi; oh++) {
                const float *xr = xp + (oh * s + hoff) * W;
                float *yr = yp + oh * Wo;
                for (int64_t ow = wlo; ow < whi; ow++) {
                    yr[ow] += wv * xr[ow * s + woff];
                }
            }
        }
    }
}

/* dxp [h, w] += transposed conv of dyp [ho, wo] with wk [kh, kw] (strided). */
static void direct_plane_dx(const nas_i_conv_geom *g, const float *restrict dyp,
                            const float *restrict wk, float *restrict dxp) {
    const int64_t W = g->w, Wo = g->wo, s = g->stride;
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t hoff = i * g->dilation - g->pad, hlo, hhi;
        tap_range(hoff, g->h, g->ho, s, &hlo, &hhi);
        for (int64_t j = 0; j < g->kw; j++) {
            int64_t woff = j * g->dilation - g->pad, wlo, whi;
            tap_range(woff, W, Wo, s, &wlo, &whi);
            float wv = wk[i * g->kw + j];
            for (int64_t oh = hlo; oh < hhi; oh++) {
                float *xr = dxp + (oh * s + hoff) * W;
                const float *yr = dyp + oh * Wo;
                for (int64_t ow = wlo; ow < whi; ow++) {
                    xr[ow * s + woff] += wv * yr[ow];
                }
            }
        }
    }
}

/* dwk [kh, kw] += correlation of dyp [ho, wo] with xp [h, w] (strided). */
static void direct_plane_dw(const nas_i_conv_geom *g, const float *restrict xp,
                            const float *restrict dyp, float *restrict dwk) {
    const int64_t W = g->w, Wo = g->wo, s = g->stride;
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t hoff = i * g->dilation - g->pad, hlo, hhi;
        tap_range(hoff, g->h, g->ho, s, &hlo, &hhi);
        for (int64_t j = 0; j < g->kw; j++) {
            int64_t woff = j * g->dilation - g->pad, wlo, whi;
            tap_range(woff, W, Wo, s, &wlo, &whi);
            float acc = 0.0f;
            for (int64_t oh = hlo; oh < hhi; oh++) {
                const float *xr = xp + (oh * s + hoff) * W;
                const float *yr = dyp + oh * Wo;
#pragma omp simd reduction(+ : acc)
                for (int64_t ow = wlo; ow < whi; ow++) {
                    acc += yr[ow] * xr[ow * s + woff];
                }
            }
            dwk[i * g->kw + j] += acc;
        }
    }
}

/* Wide plane [L] (pitch wp, junk columns zeroed) from dyp [ho, wo]. */
static void plane_to_wide(const conv_plan *p, const float *dyp, float *wide) {
    dy_to_cols(&(conv_plan){.g = p->g, .cout_g = 1, .hwo = p->hwo, .pitch = p->wp}, dyp, wide, 0);
}

static void conv_fwd_direct(const conv_plan *p, const float *x, const float *w, const float *b,
                            float *y, float *scratch, size_t per) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t planes = g->n * g->cin, kk = g->kh * g->kw, L = p->seg;
    const int64_t plane = p->hp * p->wp;
    int nt = p->nt;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *xpad = scratch ? scratch + (size_t)nas_thread_id() * per : NULL;
        float *acc = xpad ? xpad + pad16(plane) : NULL;
#pragma omp for schedule(static)
        for (int64_t pl = 0; pl < planes; pl++) {
            int64_t n = pl / g->cin, ci = pl % g->cin;
            const float *xp = x + pl * p->hwi;
            if (xpad) {
                pad_planes(p, 1, xp, xpad);
            }
            for (int64_t k = 0; k < p->cout_g; k++) {
                int64_t co = ci * p->cout_g + k;
                const float *wk = w + co * kk;
                float *yp = y + (n * g->cout + co) * p->hwo;
                float bv = b ? b[co] : 0.0f;
                if (!xpad) { /* strided */
                    for (int64_t q = 0; q < p->hwo; q++) {
                        yp[q] = bv;
                    }
                    direct_plane_fwd(g, xp, wk, yp);
                    continue;
                }
#pragma omp simd
                for (int64_t q = 0; q < L; q++) {
                    acc[q] = bv;
                }
                for (int64_t i = 0; i < g->kh; i++) {
                    for (int64_t j = 0; j < g->kw; j++) {
                        float wv = wk[i * g->kw + j];
                        const float *src = xpad + i * g->dilation * p->wp + j * g->dilation;
#pragma omp simd
                        for (int64_t q = 0; q < L; q++) {
                            acc[q] += wv * src[q];
                        }
                    }
                }
                for (int64_t oh = 0; oh < g->ho; oh++) {
                    copy_row(yp + oh * g->wo, acc + oh * p->wp, g->wo);
                }
            }
        }
    }
}

static void conv_bwd_direct(const conv_plan *p, const float *x, const float *w, const float *dy,
                            float *dx, bool dx_assign, float *dw, float *db, float *scratch,
                            size_t per, float *parts) {
    const nas_i_conv_geom *g = &p->g;
    const int64_t kk = g->kh * g->kw, hwo = p->hwo, L = p->seg, plane = p->hp * p->wp;
    const bool flat = g->stride == 1;
    int nt = p->nt;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *pad = flat ? scratch + (size_t)nas_thread_id() * per : NULL;
        float *wide = pad ? pad + pad16(plane) : NULL;
        if (dx) {
#pragma omp for schedule(static)
            for (int64_t pl = 0; pl < g->n * g->cin; pl++) {
                int64_t n = pl / g->cin, ci = pl % g->cin;
                float *dxp = dx + pl * p->hwi;
                if (!flat) {
                    if (dx_assign) {
                        memset(dxp, 0, (size_t)p->hwi * sizeof(float));
                    }
                    for (int64_t k = 0; k < p->cout_g; k++) {
                        int64_t co = ci * p->cout_g + k;
                        direct_plane_dx(g, dy + (n * g->cout + co) * hwo, w + co * kk, dxp);
                    }
                    continue;
                }
                memset(pad, 0, (size_t)plane * sizeof(float));
                for (int64_t k = 0; k < p->cout_g; k++) {
                    int64_t co = ci * p->cout_g + k;
                    plane_to_wide(p, dy + (n * g->cout + co) * hwo, wide);
                    for (int64_t i = 0; i < g->kh; i++) {
                        for (int64_t j = 0; j < g->kw; j++) {
                            float wv = w[co * kk + i * g->kw + j];
                            float *dst = pad + i * g->dilation * p->wp + j * g->dilation;
#pragma omp simd
                            for (int64_t q = 0; q < L; q++) {
                                dst[q] += wv * wide[q];
                            }
                        }
                    }
                }
                for (int64_t h = 0; h < g->h; h++) {
                    if (dx_assign) {
                        copy_row(dxp + h * g->w, pad + (h + g->pad) * p->wp + g->pad, g->w);
                    } else {
                        add_row(dxp + h * g->w, pad + (h + g->pad) * p->wp + g->pad, g->w);
                    }
                }
            }
        }
        if (dw || db) {
            /* Images split by batch chunk: each input plane is padded once per image and
             * serves all its cout_g filters; per-thread partial sums (parts [nt, cout*kk +
             * cout]) are then added up per output channel in thread order. */
            const int tid = nas_thread_id();
            const size_t part_n = (size_t)(g->cout * kk + g->cout);
            float *mdw = parts + (size_t)tid * part_n, *mdb = mdw + g->cout * kk;
            memset(mdw, 0, part_n * sizeof(float));
            int64_t n0, n1;
            batch_chunk(g->n, nt, tid, &n0, &n1);
            for (int64_t n = n0; n < n1; n++) {
                for (int64_t ci = 0; ci < g->cin; ci++) {
                    const float *xp = x + (n * g->cin + ci) * p->hwi;
                    if (dw && flat) {
                        pad_planes(p, 1, xp, pad);
                    }
                    for (int64_t k = 0; k < p->cout_g; k++) {
                        const int64_t co = ci * p->cout_g + k;
                        const float *dyp = dy + (n * g->cout + co) * hwo;
                        if (dw && !flat) {
                            direct_plane_dw(g, xp, dyp, mdw + co * kk);
                        } else if (dw) {
                            plane_to_wide(p, dyp, wide);
                            for (int64_t i = 0; i < g->kh; i++) {
                                for (int64_t j = 0; j < g->kw; j++) {
                                    const float *src =
                                        pad + i * g->dilation * p->wp + j * g->dilation;
                                    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
                                    for (int64_t q = 0; q < L; q++) {
                                        acc += wide[q] * src[q];
                                    }
                                    mdw[co * kk + i * g->kw + j] += acc;
                                }
                            }
                        }
                        if (db) {
                            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
                            for (int64_t q = 0; q < hwo; q++) {
                                sum += dyp[q];
                            }
                            mdb[co] += sum;
                        }
                    }
                }
            }
#pragma omp barrier
            int64_t c0, c1;
            batch_chunk(g->cout, nt, tid, &c0, &c1);
            for (int th = 0; th < nt; th++) {
                const float *pdw = parts + (size_t)th * part_n, *pdb = pdw + g->cout * kk;
                if (dw) {
                    add_row(dw + c0 * kk, pdw + c0 * kk, (c1 - c0) * kk);
                }
                if (db) {
                    add_row(db + c0, pdb + c0, c1 - c0);
                }
            }
        }
    }
}

/* Per-thread scratch of the direct path: padded plane + wide plane (stride 1 only). */
static size_t direct_scratch(const conv_plan *p) {
    return p->g.stride == 1 ? pad16(p->hp * p->wp) + pad16(p->hp * p->wp) : 0;
}

/* Backward of the taps path: scratch, per-thread partial gradients and their reduction. */
static void conv_bwd_taps_run(nas_tape *t, const conv_plan *p, const nas_tensor *x,
                              const nas_tensor *w, const float *dy, float *dx, bool dx_assign,
                              float *dw, float *db) {
    const bool want_dx = dx != NULL;
    const nas_i_conv_geom *g = &p->g;
    /* Winograd convs: dx is the stride-1 conv of dy with transposed, flipped weights (gt), dw
     * comes from the transformed domain; the taps kernel then only sums db. */
    const bool wino_dx = want_dx && p->wino, wino_dw = dw && p->wino;
    const nas_i_conv_geom gt = nas_i_wino_transposed(g);
    size_t xpad_n = dw && !wino_dw ? pad16(g->cin * p->cs) : 0;
    size_t dxpad_n = want_dx && !wino_dx ? pad16(p->cin_g * p->cs) : 0;
    int64_t wn_dx = wino_dx ? (int64_t)nas_i_wino_scratch(&gt) : 0;
    int64_t wn_dw = wino_dw ? (int64_t)nas_i_wino_scratch(g) : 0;
    size_t wino_n = pad16(wn_dx > wn_dw ? wn_dx : wn_dw); /* used by one kernel at a time */
    size_t per = xpad_n + dxpad_n + wino_n + pad16(p->cout_g * p->seg);
    /* Every thread accumulates dw in tap order (then transposed into dw), or for Winograd in
     * the transformed domain (then G^T du G), and a partial db. */
    size_t dwt_n = !dw ? 0 : wino_dw ? pad16((int64_t)nas_i_wino_dw_size(g)) : pad16(w->numel);
    size_t db_n = db ? pad16(g->cout) : 0;
    size_t wt_n = wino_dx ? nas_i_wino_weights_size(&gt) : (size_t)w->numel;
    float *wt = want_dx ? nas_i_alloc(t, wt_n * sizeof(float)) : NULL;
    float *scratch = nas_i_alloc(t, (size_t)p->nt * per * sizeof(float));
    float *parts = nas_i_alloc(t, (size_t)p->nt * (dwt_n + db_n) * sizeof(float));
    if (t->status != NAS_OK) {
        return;
    }
    /* One parallel region: weight regrouping split by output channel, the images split by
     * batch chunk, then the reduction of the partial weight/bias gradients split by output
     * channel (each element summed in thread order, so results do not depend on timing). */
#pragma omp parallel num_threads(p->nt) if (p->nt > 1)
    {
        int tid = nas_thread_id();
        int64_t n0, n1, c0, c1;
        float *mine = parts + (size_t)tid * (dwt_n + db_n);
        memset(mine, 0, (dwt_n + db_n) * sizeof(float));
        if (wt && wino_dx) {
            batch_chunk(gt.cout, p->nt, tid, &c0, &c1);
            nas_i_wino_weights(&gt, w->data, true, wt, c0, c1);
        } else if (wt) {
            batch_chunk(g->cout, p->nt, tid, &c0, &c1);
            taps_weights(p, w->data, wt, c0, c1);
        }
#pragma omp barrier
        batch_chunk(g->n, p->nt, tid, &n0, &n1);
        float *sc = scratch + (size_t)tid * per;
        float *wsc = sc + xpad_n + dxpad_n;
        conv_bwd_taps(p, x->data, wt, dy, wino_dx ? NULL : dx, dx_assign,
                      dw && !wino_dw ? mine : NULL, db ? mine + dwt_n : NULL, n0, n1, sc,
                      sc + xpad_n, wsc + wino_n);
        if (wino_dx && dx) {
            nas_i_wino_run(&gt, wt, dy, NULL, dx, !dx_assign, n0, n1, wsc);
        }
        if (wino_dw) {
            nas_i_wino_dw_run(g, x->data, dy, n0, n1, wsc, mine);
        }
#pragma omp barrier
        batch_chunk(g->cout, p->nt, tid, &c0, &c1);
        if (wino_dw) { /* du of thread 0 += the others', rows [c0, c1) of every xi */
            const int64_t rows = g->cout * p->cin_g;
            for (int th = 1; th < p->nt; th++) {
                const float *part = parts + (size_t)th * (dwt_n + db_n);
                for (int64_t xi = 0; xi < 16; xi++) {
                    add_row(parts + xi * rows + c0 * p->cin_g, part + xi * rows + c0 * p->cin_g,
                            (c1 - c0) * p->cin_g);
                }
            }
            nas_i_wino_dw_finish(g, parts, dw, c0, c1);
        }
        for (int th = 0; th < p->nt; th++) {
            const float *part = parts + (size_t)th * (dwt_n + db_n);
            if (dw && !wino_dw) {
                taps_weights_add(p, part, dw, c0, c1);
            }
            if (db) {
                add_row(db + c0, part + dwt_n + c0, c1 - c0);
            }
        }
    }
}

/* ---- public op ----------------------------------------------------------------------------- */

/* Validate the arguments; on success fill *g, else record NAS_ESHAPE on the tape (the message
 * names the shapes) and return false. */
static bool conv_check(nas_tape *t, const nas_tensor *x, const nas_tensor *w, const nas_tensor *b,
                       int stride, int pad, int dilation, int groups, nas_i_conv_geom *g) {
    char xs[64], ws[64], bs[64];
    nas_shape_str(x, xs, sizeof xs);
    nas_shape_str(w, ws, sizeof ws);
    if (x->ndim != 4 || w->ndim != 4) {
        nas_i_fail(t, NAS_ESHAPE,
                   "conv2d: x must be [N, Cin, H, W] and w [Cout, Cin/groups, kh, kw], got x %s "
                   "and w %s",
                   xs, ws);
        return false;
    }
    if (stride < 1 || dilation < 1 || pad < 0) {
        nas_i_fail(t, NAS_ESHAPE,
                   "conv2d: need stride >= 1, dilation >= 1, pad >= 0, got stride %d, dilation "
                   "%d, pad %d (x %s, w %s)",
                   stride, dilation, pad, xs, ws);
        return false;
    }
    int64_t cin = x->shape[1], cout = w->shape[0];
    if (groups < 1 || cin % groups != 0 || cout % groups != 0) {
        nas_i_fail(t, NAS_ESHAPE,
                   "conv2d: groups %d must be >= 1 and divide Cin %lld and Cout %lld (x %s, w %s)",
                   groups, (long long)cin, (long long)cout, xs, ws);
        return false;
    }
    if (w->shape[1] * groups != cin) {
        nas_i_fail(t, NAS_ESHAPE,
                   "conv2d: x %s has %lld input channels but w %s expects %lld x %d groups = "
                   "%lld",
                   xs, (long long)cin, ws, (long long)w->shape[1], groups,
                   (long long)(w->shape[1] * groups));
        return false;
    }
    if (b && (b->ndim != 1 || b->shape[0] != cout)) {
        nas_i_fail(t, NAS_ESHAPE, "conv2d: bias must be [%lld] for w %s, got %s", (long long)cout,
                   ws, nas_shape_str(b, bs, sizeof bs));
        return false;
    }
    int64_t ekh = (int64_t)dilation * (w->shape[2] - 1) + 1;
    int64_t ekw = (int64_t)dilation * (w->shape[3] - 1) + 1;
    if (ekh > x->shape[2] + 2 * (int64_t)pad || ekw > x->shape[3] + 2 * (int64_t)pad) {
        nas_i_fail(t, NAS_ESHAPE,
                   "conv2d: kernel of w %s spans %lldx%lld with dilation %d, larger than the "
                   "input x %s padded by %d",
                   ws, (long long)ekh, (long long)ekw, dilation, xs, pad);
        return false;
    }
    *g = nas_i_conv_geom_make(x->shape[0], cin, x->shape[2], x->shape[3], cout, w->shape[2],
                              w->shape[3], stride, pad, dilation, groups);
    return true;
}

nas_tensor *nas_conv2d(nas_tape *t, nas_tensor *x, nas_tensor *w, nas_tensor *b, int stride,
                       int pad, int dilation, int groups) {
    if (!nas_i_ok(t, 2, x, w)) {
        return NULL;
    }
    nas_i_conv_geom g;
    if (!conv_check(t, x, w, b, stride, pad, dilation, groups, &g)) {
        return NULL;
    }
    nas_tensor *y = nas_tensor_new4(t, 4, g.n, g.cout, g.ho, g.wo);
    if (!y) {
        return NULL;
    }
    conv_plan p = conv_plan_make(&g);
    const float *bd = b ? b->data : NULL;
    /* All scratch of this forward is released before the node is recorded. */
    const nas_arena_mark mark = nas_arena_get_mark(&t->arena);
    if (p.direct) {
        if (g.stride == 1) {
            p.seg = (g.ho - 1) * p.wp + g.wo;
        }
        size_t per = direct_scratch(&p);
        float *scratch = per ? nas_i_alloc(t, (size_t)p.nt * per * sizeof(float)) : NULL;
        if (t->status != NAS_OK) {
            return NULL;
        }
        conv_fwd_direct(&p, x->data, w->data, bd, y->data, scratch, per);
    } else if (p.wino) {
        size_t per = pad16((int64_t)nas_i_wino_scratch(&g));
        float *u = nas_i_alloc(t, nas_i_wino_weights_size(&g) * sizeof(float));
        float *scratch = nas_i_alloc(t, (size_t)p.nt * per * sizeof(float));
        if (t->status != NAS_OK) {
            return NULL;
        }
#pragma omp parallel num_threads(p.nt) if (p.nt > 1)
        {
            int tid = nas_thread_id();
            int64_t n0, n1;
            batch_chunk(g.cout, p.nt, tid, &n0, &n1);
            nas_i_wino_weights(&g, w->data, false, u, n0, n1);
#pragma omp barrier
            batch_chunk(g.n, p.nt, tid, &n0, &n1);
            nas_i_wino_run(&g, u, x->data, bd, y->data, false, n0, n1, scratch + (size_t)tid * per);
        }
    } else if (p.taps) {
        size_t per = pad16(g.cin * p.cs) + pad16(p.cout_g * p.seg);
        float *wt = nas_i_alloc(t, (size_t)w->numel * sizeof(float));
        float *scratch = nas_i_alloc(t, (size_t)p.nt * per * sizeof(float));
        if (t->status != NAS_OK) {
            return NULL;
        }
#pragma omp parallel num_threads(p.nt) if (p.nt > 1)
        {
            int tid = nas_thread_id();
            int64_t n0, n1;
            batch_chunk(g.cout, p.nt, tid, &n0, &n1);
            taps_weights(&p, w->data, wt, n0, n1);
#pragma omp barrier
            batch_chunk(g.n, p.nt, tid, &n0, &n1);
            float *xpad = scratch + (size_t)tid * per;
            conv_fwd_taps(&p, x->data, wt, bd, y->data, false, n0, n1, xpad, false,
                          xpad + pad16(g.cin * p.cs));
        }
    } else {
        bool need_col = !(p.pointwise && p.fold == 1);
        bool need_out = p.fold > 1 || p.wide;
        scratch_sizes z = scratch_plan(&p, need_col, need_out);
        float *scratch = z.total ? nas_i_alloc(t, (size_t)p.nt * z.total * sizeof(float)) : NULL;
        if (t->status != NAS_OK) {
            return NULL;
        }
#pragma omp parallel num_threads(p.nt) if (p.nt > 1)
        {
            int tid = nas_thread_id();
            int64_t n0, n1;
            batch_chunk(g.n, p.nt, tid, &n0, &n1);
            conv_fwd_gemm(&p, x->data, w->data, bd, y->data, n0, n1, scratch_at(scratch, &z, tid));
        }
    }
    nas_arena_rollback(&t->arena, mark);
    nas_tensor *in[3] = {x, w, b};
    nas_node *n = nas_i_record(t, NAS_OP_CONV2D, y, in, b ? 3 : 2);
    if (n) {
        n->ip[0] = stride;
        n->ip[1] = pad;
        n->ip[2] = dilation;
        n->ip[3] = groups;
    }
    return t->status == NAS_OK ? y : NULL;
}

/* Allocates the scratch of the backward kernel chosen by the plan and runs it. */
static void conv_bwd_dispatch(nas_tape *t, const conv_plan *pp, const nas_tensor *x,
                              const nas_tensor *w, const float *dy, float *dx, bool dx_assign,
                              float *dw, float *db) {
    conv_plan p = *pp;
    const nas_i_conv_geom g = p.g;
    const bool want_dx = dx != NULL;
    if (p.taps) {
        conv_bwd_taps_run(t, &p, x, w, dy, dx, dx_assign, dw, db);
        return;
    }
    if (p.direct) {
        if (g.stride == 1) {
            p.seg = (g.ho - 1) * p.wp + g.wo;
        }
        size_t per = direct_scratch(&p);
        float *scratch = per ? nas_i_alloc(t, (size_t)p.nt * per * sizeof(float)) : NULL;
        float *parts = dw || db
                           ? nas_i_alloc(t, (size_t)p.nt * (size_t)(g.cout * g.kh * g.kw + g.cout) *
                                                sizeof(float))
                           : NULL;
        if (t->status != NAS_OK) {
            return;
        }
        conv_bwd_direct(&p, x->data, w->data, dy, dx, dx_assign, dw, db, scratch, per, parts);
        return;
    }
    bool need = dw || want_dx;
    scratch_sizes z = scratch_plan(&p, need, need && (p.fold > 1 || p.wide));
    /* Partial weight/bias gradients of threads 1.. (thread 0 accumulates in place). */
    size_t dw_n = dw ? pad16(w->numel) : 0, db_n = db ? pad16(g.cout) : 0;
    size_t part = dw_n + db_n;
    float *scratch = z.total ? nas_i_alloc(t, (size_t)p.nt * z.total * sizeof(float)) : NULL;
    float *partials =
        p.nt > 1 && part ? nas_i_calloc(t, (size_t)(p.nt - 1) * part * sizeof(float)) : NULL;
    if (t->status != NAS_OK) {
        return;
    }
#pragma omp parallel num_threads(p.nt) if (p.nt > 1)
    {
        int tid = nas_thread_id();
        int64_t n0, n1;
        batch_chunk(g.n, p.nt, tid, &n0, &n1);
        float *dw_acc = dw, *db_acc = db;
        if (tid > 0) {
            float *mine = partials + (size_t)(tid - 1) * part;
            dw_acc = dw ? mine : NULL;
            db_acc = db ? mine + dw_n : NULL;
        }
        conv_bwd_gemm(&p, x->data, w->data, dy, dx, dx_assign, dw_acc, db_acc, n0, n1,
                      scratch_at(scratch, &z, tid));
    }
    for (int th = 1; th < p.nt; th++) {
        const float *mine = partials + (size_t)(th - 1) * part;
        if (dw) {
            add_row(dw, mine, w->numel);
        }
        if (db) {
            add_row(db, mine + dw_n, g.cout);
        }
    }
}

void nas_i_conv2d_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    nas_i_conv_geom g =
        nas_i_conv_geom_make(x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0],
                             w->shape[2], w->shape[3], n->ip[0], n->ip[1], n->ip[2], n->ip[3]);
    conv_plan p = conv_plan_make(&g);
    const float *dy = n->out->grad;
    const bool want_dx = nas_i_needs_grad(x);
    float *dw = nas_i_needs_grad(w) ? nas_i_grad(t, w) : NULL;
    float *db = nas_i_needs_grad(b) ? nas_i_grad(t, b) : NULL;
    /* A fresh dx is stored into, not accumulated; should the scratch below fail it is zeroed,
     * so it never holds garbage. */
    bool dx_assign = false;
    float *dx = want_dx && t->status == NAS_OK ? nas_i_grad_fresh(t, x, &dx_assign) : NULL;
    if (t->status != NAS_OK || (!dx && !dw && !db)) {
        return;
    }
    /* All scratch of this backward is released at the end, so the next op reuses it. */
    const nas_arena_mark mark = nas_arena_get_mark(&t->arena);
    conv_bwd_dispatch(t, &p, x, w, dy, dx, dx_assign, dw, db);
    if (t->status != NAS_OK && dx_assign) {
        memset(dx, 0, (size_t)x->numel * sizeof(float));
    }
    nas_arena_rollback(&t->arena, mark);
}
