/*
 * Winograd F(2x2, 3x3) convolution kernel (see winograd-impl.h), used by ops_conv.c for the
 * forward pass, the input gradient and the weight gradient of 3x3 stride-1 convs.
 *
 * Per image, the input is transposed into a zero-padded channel-last plane [2*th + 2,
 * 2*tw + 2, C] (th x tw tiles of 2x2 outputs; input tile (ti, tj) is the 4x4 block at row
 * 2*ti, column 2*tj), so the input transform (B^T d B), the output transform (A^T M A) and the
 * gradient transform (A dy A^T) are vector loops over the channels of one tile. Several images
 * form one block, so each of the 16 GEMMs has block * th * tw rows; a block's V and M stay
 * within a few hundred KB, in the thread's L2. Outputs go through a channel-last plane and are
 * transposed back to [C, ho, wo], adding the bias or accumulating.
 */
#include "winograd-impl.h"

#include <string.h>

/* Fewest channels per group (GEMM K and M) for which the kernel is used: the transforms cost
 * the same per channel and tile whatever the channel count, the GEMM savings grow with it.
 * Single-threaded CPU time on the NB201 shapes (batch 64), forward / backward (dx and dw)
 * against the taps path: 16 channels at 28x28 0.92x / 0.89x, 32 at 14x14 1.5x / 1.3x, 64 at
 * 7x7 1.7x / 1.4x. */
#define WINO_MIN_CH 24
/* Floats of V and M of one block: images are added to a block up to this size. */
#define WINO_BLOCK_FLOATS (1 << 17)

typedef struct wino_dims {
    int64_t cin_g, cout_g; /* channels per group */
    int64_t th, tw, tiles; /* tiles per image: th x tw */
    int64_t hq, wq;        /* padded input plane */
    int64_t block;         /* images per block */
} wino_dims;

static wino_dims wino_dims_make(const nas_i_conv_geom *g) {
    wino_dims d;
    d.cin_g = g->cin / g->groups;
    d.cout_g = g->cout / g->groups;
    d.th = (g->ho + 1) / 2;
    d.tw = (g->wo + 1) / 2;
    d.tiles = d.th * d.tw;
    d.hq = 2 * d.th + 2;
    d.wq = 2 * d.tw + 2;
    int64_t per_image = 16 * (g->cin + g->cout) * d.tiles;
    d.block = WINO_BLOCK_FLOATS / per_image;
    if (d.block < 1) {
        d.block = 1;
    }
    if (d.block > g->n) {
        d.block = g->n;
    }
    return d;
}

bool nas_i_wino_applies(const nas_i_conv_geom *g) {
    return g->kh == 3 && g->kw == 3 && g->stride == 1 && g->dilation == 1 && g->pad <= 2 &&
           g->ho >= 1 && g->wo >= 1 && g->cin / g->groups >= WINO_MIN_CH &&
           g->cout / g->groups >= WINO_MIN_CH;
}

nas_i_conv_geom nas_i_wino_transposed(const nas_i_conv_geom *g) {
    return nas_i_conv_geom_make(g->n, g->cout, g->ho, g->wo, g->cin, 3, 3, 1, 2 - g->pad, 1,
                                g->groups);
}

size_t nas_i_wino_weights_size(const nas_i_conv_geom *g) {
    return (size_t)(16 * g->cout * (g->cin / g->groups));
}

void nas_i_wino_weights(const nas_i_conv_geom *g, const float *w, bool transposed, float *u,
                        int64_t co0, int64_t co1) {
    const int64_t cin_g = g->cin / g->groups, cout_g = g->cout / g->groups;
    const int64_t per_xi = g->cout * cin_g; /* floats per xi: [groups, cin_g, cout_g] */
    for (int64_t co = co0; co < co1; co++) {
        const int64_t grp = co / cout_g, col = co % cout_g;
        for (int64_t ci = 0; ci < cin_g; ci++) {
            float k[3][3];
            if (!transposed) {
                const float *src = w + (co * cin_g + ci) * 9;
                for (int i = 0; i < 9; i++) {
                    k[i / 3][i % 3] = src[i];
                }
            } else {
                /* Output channel co of the dx conv is input channel col of group grp of the
                 * original conv (whose cin_g is cout_g here); input channel ci is the
                 * original's output channel grp * cin_g + ci. The kernel is flipped. */
                const int64_t orig = grp * cin_g + ci;
                const float *src = w + (orig * cout_g + col) * 9;
                for (int i = 0; i < 9; i++) {
                    k[2 - i / 3][2 - i % 3] = src[i];
                }
            }
            float t[4][3]; /* G k */
            for (int j = 0; j < 3; j++) {
                t[0][j] = k[0][j];
                t[1][j] = 0.5f * (k[0][j] + k[1][j] + k[2][j]);
                t[2][j] = 0.5f * (k[0][j] - k[1][j] + k[2][j]);
                t[3][j] = k[2][j];
            }
            float *dst = u + (grp * cin_g + ci) * cout_g + col;
            for (int r = 0; r < 4; r++) { /* (G k) G^T */
                dst[(r * 4 + 0) * per_xi] = t[r][0];
                dst[(r * 4 + 1) * per_xi] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
                dst[(r * 4 + 2) * per_xi] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
                dst[(r * 4 + 3) * per_xi] = t[r][2];
            }
        }
    }
}

/* Scratch: padded channel-last plane [hq, wq, cin], V [16, block*tiles, cin], M [16,
 * block*tiles, cout], channel-last output [ho, wo, cout], transform rows [16, max(cin, cout)]. */
size_t nas_i_wino_scratch(const nas_i_conv_geom *g) {
    wino_dims d = wino_dims_make(g);
    int64_t cols = d.block * d.tiles, cmax = g->cin > g->cout ? g->cin : g->cout;
    /* The output plane is sized for whole tiles: the weight gradient keeps dy there. */
    return (size_t)(d.hq * d.wq * g->cin + 16 * (g->cin + g->cout) * cols + 4 * d.tiles * g->cout +
                    16 * cmax + 64);
}

/* xt [hq, wq, C] interior = x [C, h, w] of one image transposed to channel-last, at row and
 * column offset pad (rows/columns beyond the plane are not copied: no tile reads them). */
static void wino_to_cl(const nas_i_conv_geom *g, const wino_dims *d, const float *restrict x,
                       float *restrict xt) {
    const int64_t C = g->cin, hw = g->h * g->w, pad = g->pad;
    const int64_t rows = g->h < d->hq - pad ? g->h : d->hq - pad;
    const int64_t cols = g->w < d->wq - pad ? g->w : d->wq - pad;
    for (int64_t r = 0; r < rows; r++) {
        float *dr = xt + ((r + pad) * d->wq + pad) * C;
        const float *xr = x + r * g->w;
        for (int64_t k = 0; k < C; k++) { /* contiguous reads, stride-C writes */
            const float *src = xr + k * hw;
            for (int64_t c = 0; c < cols; c++) {
                dr[c * C + k] = src[c];
            }
        }
    }
}

/* The 1-D input transform B^T on four vectors of n channels: o = (a - c, b + c, c - b, b - d). */
static void bt4(const float *restrict a, const float *restrict b, const float *restrict c,
                const float *restrict d, float *restrict o0, float *restrict o1, float *restrict o2,
                float *restrict o3, int64_t n) {
#pragma omp simd
    for (int64_t k = 0; k < n; k++) {
        o0[k] = a[k] - c[k];
        o1[k] = b[k] + c[k];
        o2[k] = c[k] - b[k];
        o3[k] = b[k] - d[k];
    }
}

/* The 1-D output transform A^T on four vectors: o = (a + b + c, b - c - d). */
static void at4(const float *restrict a, const float *restrict b, const float *restrict c,
                const float *restrict d, float *restrict o0, float *restrict o1, int64_t n) {
#pragma omp simd
    for (int64_t k = 0; k < n; k++) {
        o0[k] = a[k] + b[k] + c[k];
        o1[k] = b[k] - c[k] - d[k];
    }
}

/* V [16, ld, C] rows row0.. = B^T d B of the tiles of one image (channel-last plane xt): all
 * arithmetic runs along the channels. tmp: [16, C]. */
static void wino_input(const wino_dims *d, int64_t C, const float *xt, float *v, int64_t ld,
                       int64_t row0, float *tmp) {
    const int64_t wq = d->wq, vplane = ld * C, rs = wq * C; /* floats per xi, per row */
    for (int64_t ti = 0; ti < d->th; ti++) {
        for (int64_t tj = 0; tj < d->tw; tj++) {
            const float *p0 = xt + (2 * ti * wq + 2 * tj) * C; /* element (r, c) at r*rs + c*C */
            float *vt = v + (row0 + ti * d->tw + tj) * C;
            for (int64_t c = 0; c < 4; c++) { /* tmp[r*4 + c] = (B^T d)[r][c] */
                const float *col = p0 + c * C;
                bt4(col, col + rs, col + 2 * rs, col + 3 * rs, tmp + c * C, tmp + (4 + c) * C,
                    tmp + (8 + c) * C, tmp + (12 + c) * C, C);
            }
            for (int64_t r = 0; r < 4; r++) { /* (B^T d) B */
                const float *t = tmp + 4 * r * C;
                float *o = vt + 4 * r * vplane;
                bt4(t, t + C, t + 2 * C, t + 3 * C, o, o + vplane, o + 2 * vplane, o + 3 * vplane,
                    C);
            }
        }
    }
}

/* yt [ho, wo, C] (channel-last) of one image = A^T M A of M [16, ld, C] rows row0.. tmp:
 * [8 + 4, C]; outputs of a tile beyond the plane go to the last 4*C of tmp. */
static void wino_output(const nas_i_conv_geom *g, const wino_dims *d, const float *m, int64_t ld,
                        int64_t row0, float *yt, float *tmp) {
    const int64_t C = g->cout, mplane = ld * C, Wo = g->wo;
    float *junk = tmp + 8 * C;
    for (int64_t ti = 0; ti < d->th; ti++) {
        for (int64_t tj = 0; tj < d->tw; tj++) {
            const float *mt = m + (row0 + ti * d->tw + tj) * C;
            for (int64_t c = 0; c < 4; c++) { /* A^T M: tmp[c], tmp[4 + c] */
                const float *col = mt + c * mplane;
                at4(col, col + 4 * mplane, col + 8 * mplane, col + 12 * mplane, tmp + c * C,
                    tmp + (4 + c) * C, C);
            }
            for (int64_t r = 0; r < 2; r++) { /* (A^T M) A, straight into yt */
                const float *t = tmp + 4 * r * C;
                const int64_t oh = 2 * ti + r, ow = 2 * tj;
                float *o0 = oh < g->ho ? yt + (oh * Wo + ow) * C : junk;
                float *o1 = oh < g->ho && ow + 1 < Wo ? o0 + C : junk + C;
                at4(t, t + C, t + 2 * C, t + 3 * C, o0, o1, C);
            }
        }
    }
}

/* y [C, ho*wo] of one image = yt [ho*wo, C] transposed, + b (or y += yt when acc). */
static void wino_from_cl(const nas_i_conv_geom *g, const float *restrict yt, const float *b,
                         bool acc, float *restrict y) {
    const int64_t C = g->cout, hwo = g->ho * g->wo;
    for (int64_t c0 = 0; c0 < C; c0 += 8) {
        const int64_t cn = C - c0 < 8 ? C - c0 : 8;
        for (int64_t k = 0; k < cn; k++) {
            float *yc = y + (c0 + k) * hwo;
            const float *src = yt + c0 + k;
            if (acc) {
                for (int64_t q = 0; q < hwo; q++) {
                    yc[q] += src[q * C];
                }
            } else {
                const float bv = b ? b[c0 + k] : 0.0f;
                for (int64_t q = 0; q < hwo; q++) {
                    yc[q] = src[q * C] + bv;
                }
            }
        }
    }
}

void nas_i_wino_run(const nas_i_conv_geom *g, const float *u, const float *x, const float *b,
                    float *y, bool acc, int64_t n0, int64_t n1, float *scratch) {
    if (n0 >= n1) {
        return;
    }
    const wino_dims d = wino_dims_make(g);
    const int64_t hw = g->h * g->w, hwo = g->ho * g->wo;
    const int64_t cols = d.block * d.tiles;
    float *xt = scratch;                     /* [hq, wq, cin] */
    float *v = xt + d.hq * d.wq * g->cin;    /* [16, cols, cin] */
    float *m = v + 16 * cols * g->cin;       /* [16, cols, cout] */
    float *yt = m + 16 * cols * g->cout;     /* [ho, wo, cout] */
    float *tmp = yt + 4 * d.tiles * g->cout; /* [16, max(cin, cout)] */
    /* The padding stays zero: images only write the interior. */
    memset(xt, 0, (size_t)(d.hq * d.wq * g->cin) * sizeof(float));
    for (int64_t nb = n0; nb < n1; nb += d.block) {
        const int64_t cnt = n1 - nb < d.block ? n1 - nb : d.block, ld = cnt * d.tiles;
        for (int64_t bi = 0; bi < cnt; bi++) {
            wino_to_cl(g, &d, x + (nb + bi) * g->cin * hw, xt);
            wino_input(&d, g->cin, xt, v, ld, bi * d.tiles, tmp);
        }
        for (int64_t xi = 0; xi < 16; xi++) {
            for (int64_t grp = 0; grp < g->groups; grp++) {
                nas_sgemm(false, false, ld, d.cout_g, d.cin_g, 1.0f,
                          v + xi * ld * g->cin + grp * d.cin_g, g->cin,
                          u + (xi * g->groups + grp) * d.cin_g * d.cout_g, d.cout_g, 0.0f,
                          m + xi * ld * g->cout + grp * d.cout_g, g->cout);
            }
        }
        for (int64_t bi = 0; bi < cnt; bi++) {
            wino_output(g, &d, m, ld, bi * d.tiles, yt, tmp);
            wino_from_cl(g, yt, b, acc, y + (nb + bi) * g->cout * hwo);
        }
    }
}

/* ---- weight gradient ------------------------------------------------------------------------
 * With M = U (.) V and y = A^T M A per tile, dM = A dy A^T, so the gradient of the transformed
 * weights is dU[xi] = sum over tiles of (A dy A^T)[xi] (.) V[xi] -- per xi a GEMM
 * [cout_g, tiles] x [tiles, cin_g] -- and dw = G^T dU G. */

/* dyt [2*th, 2*tw, C] = dy [C, ho, wo] of one image transposed to channel-last; the rows and
 * columns beyond the plane (partial tiles) stay zero from the caller's fill. */
static void wino_dy_to_cl(const nas_i_conv_geom *g, const wino_dims *d, const float *restrict dy,
                          float *restrict dyt) {
    const int64_t C = g->cout, hwo = g->ho * g->wo, pitch = 2 * d->tw;
    for (int64_t r = 0; r < g->ho; r++) {
        float *dr = dyt + r * pitch * C;
        for (int64_t k = 0; k < C; k++) {
            const float *src = dy + k * hwo + r * g->wo;
            for (int64_t c = 0; c < g->wo; c++) {
                dr[c * C + k] = src[c];
            }
        }
    }
}

/* The 1-D transform A on two vectors: o = (a, a + b, a - b, -b). */
static void a2(const float *restrict a, const float *restrict b, float *restrict o0,
               float *restrict o1, float *restrict o2, float *restrict o3, int64_t n) {
#pragma omp simd
    for (int64_t k = 0; k < n; k++) {
        o0[k] = a[k];
        o1[k] = a[k] + b[k];
        o2[k] = a[k] - b[k];
        o3[k] = -b[k];
    }
}

/* E [16, ld, C] rows row0.. = A dy A^T of the 2x2 tiles of one image's channel-last dy. tmp:
 * [8, C]. */
static void wino_dy_tiles(const wino_dims *d, int64_t C, const float *dyt, float *e, int64_t ld,
                          int64_t row0, float *tmp) {
    const int64_t eplane = ld * C, rs = 2 * d->tw * C;
    for (int64_t ti = 0; ti < d->th; ti++) {
        for (int64_t tj = 0; tj < d->tw; tj++) {
            const float *p0 = dyt + 2 * ti * rs + 2 * tj * C; /* (r, c) at r*rs + c*C */
            for (int64_t c = 0; c < 2; c++) {                 /* A dy: tmp[r*2 + c] */
                a2(p0 + c * C, p0 + rs + c * C, tmp + c * C, tmp + (2 + c) * C, tmp + (4 + c) * C,
                   tmp + (6 + c) * C, C);
            }
            float *et = e + (row0 + ti * d->tw + tj) * C;
            for (int64_t r = 0; r < 4; r++) { /* (A dy) A^T */
                const float *t = tmp + 2 * r * C;
                float *o = et + 4 * r * eplane;
                a2(t, t + C, o, o + eplane, o + 2 * eplane, o + 3 * eplane, C);
            }
        }
    }
}

size_t nas_i_wino_dw_size(const nas_i_conv_geom *g) {
    return (size_t)(16 * g->cout * (g->cin / g->groups));
}

void nas_i_wino_dw_run(const nas_i_conv_geom *g, const float *x, const float *dy, int64_t n0,
                       int64_t n1, float *scratch, float *du) {
    if (n0 >= n1) {
        return;
    }
    const wino_dims d = wino_dims_make(g);
    const int64_t hw = g->h * g->w, hwo = g->ho * g->wo, cols = d.block * d.tiles;
    float *xt = scratch;                      /* [hq, wq, cin] */
    float *v = xt + d.hq * d.wq * g->cin;     /* [16, cols, cin] */
    float *e = v + 16 * cols * g->cin;        /* [16, cols, cout] */
    float *dyt = e + 16 * cols * g->cout;     /* [2*th, 2*tw, cout] */
    float *tmp = dyt + 4 * d.tiles * g->cout; /* [16, max(cin, cout)] */
    memset(xt, 0, (size_t)(d.hq * d.wq * g->cin) * sizeof(float));
    memset(dyt, 0, (size_t)(4 * d.tiles * g->cout) * sizeof(float));
    for (int64_t nb = n0; nb < n1; nb += d.block) {
        const int64_t cnt = n1 - nb < d.block ? n1 - nb : d.block, ld = cnt * d.tiles;
        for (int64_t bi = 0; bi < cnt; bi++) {
            wino_to_cl(g, &d, x + (nb + bi) * g->cin * hw, xt);
            wino_input(&d, g->cin, xt, v, ld, bi * d.tiles, tmp);
            wino_dy_to_cl(g, &d, dy + (nb + bi) * g->cout * hwo, dyt);
            wino_dy_tiles(&d, g->cout, dyt, e, ld, bi * d.tiles, tmp);
        }
        for (int64_t xi = 0; xi < 16; xi++) {
            for (int64_t grp = 0; grp < g->groups; grp++) {
                /* du[xi] [cout_g, cin_g] += E[xi]^T [cout_g, ld] x V[xi] [ld, cin_g] */
                nas_sgemm(true, false, d.cout_g, d.cin_g, ld, 1.0f,
                          e + xi * ld * g->cout + grp * d.cout_g, g->cout,
                          v + xi * ld * g->cin + grp * d.cin_g, g->cin, 1.0f,
                          du + (xi * g->cout + grp * d.cout_g) * d.cin_g, d.cin_g);
            }
        }
    }
}

void nas_i_wino_dw_finish(const nas_i_conv_geom *g, const float *du, float *dw, int64_t co0,
                          int64_t co1) {
    const int64_t cin_g = g->cin / g->groups, per_xi = g->cout * cin_g;
    for (int64_t co = co0; co < co1; co++) {
        for (int64_t ci = 0; ci < cin_g; ci++) {
            const float *src = du + co * cin_g + ci;
            float u[4][4], t[3][4]; /* dw = G^T dU G */
            for (int xi = 0; xi < 16; xi++) {
                u[xi / 4][xi % 4] = src[xi * per_xi];
            }
            for (int c = 0; c < 4; c++) {
                t[0][c] = u[0][c] + 0.5f * (u[1][c] + u[2][c]);
                t[1][c] = 0.5f * (u[1][c] - u[2][c]);
                t[2][c] = 0.5f * (u[1][c] + u[2][c]) + u[3][c];
            }
            float *dst = dw + (co * cin_g + ci) * 9;
            for (int r = 0; r < 3; r++) {
                dst[r * 3 + 0] += t[r][0] + 0.5f * (t[r][1] + t[r][2]);
                dst[r * 3 + 1] += 0.5f * (t[r][1] - t[r][2]);
                dst[r * 3 + 2] += 0.5f * (t[r][1] + t[r][2]) + t[r][3];
            }
        }
    }
}
