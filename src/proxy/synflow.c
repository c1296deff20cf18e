/*
 * synflow (Tanaka et al. 2020, as zero-cost-nas computes it): every parameter replaced by its
 * absolute value, BN bypassed (the identity, zero-cost-nas's bn=False copy), one all-ones input,
 * R = sum of the logits, score = sum over conv and linear weights of |W * dR/dW|.
 *
 * The products of absolute weights along deep paths leave fp32's range, so this file is a small
 * double-precision interpreter of the net IR (forward and reverse sweep, one sample): conv with
 * groups, stride, dilation and padding; relu; average pooling (count_include_pad as the node
 * says, PyTorch's divisor) and max pooling (first maximum of the window in row-major order wins,
 * as PyTorch's CPU kernel); sum; channel concat; slice; zero (no gradient); global average
 * pool; linear. Every node's shape is checked against its inputs and slots first, so a corrupt
 * IR gives an error naming the node instead of a wild memory access.
 */
#include "proxy-impl.h"
#include "tensor/tape-impl.h"

#include <math.h>
#include <string.h>

typedef struct sf_net {
    const nas_net *net;
    int64_t *off;  /* [n_nodes] offset of each node's values in val/grad */
    double *val;   /* [total] node outputs, one sample, [C, H, W] each */
    double *grad;  /* [total] dR / d(node output) */
    int64_t *woff; /* [n_slots] offset of each slot in wv/wg */
    double *wv;    /* [n_params] |slot values| */
    double *wg;    /* [n_params] dR / d(slot values) for conv and linear weights */
} sf_net;

static int64_t numel3(const int64_t *s) {
    return s[0] * s[1] * s[2];
}

static nas_status node_fail(const nas_net_node *n, const char *what) {
    return nas_error(NAS_EINVAL, "synflow: node %s (%s): %s", n->name, nas_net_op_name(n->op),
                     what);
}

/* Does slot s exist, belong to node v, have role r and the given dims? */
static bool slot_is(const nas_net *net, int s, int v, nas_net_role r, int ndim, int64_t d0,
                    int64_t d1, int64_t d2, int64_t d3) {
    if (s < 0 || s >= net->n_slots) {
        return false;
    }
    const nas_net_slot *sl = &net->slots[s];
    int64_t want[4] = {d0, d1, d2, d3};
    bool ok = sl->node == v && sl->role == r && sl->ndim == ndim;
    int64_t numel = 1;
    for (int d = 0; ok && d < ndim; d++) {
        ok = sl->shape[d] == want[d];
        numel *= want[d];
    }
    return ok && sl->numel == numel;
}

static int64_t pool_out(int64_t n, int k, int s, int p) {
    return n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1;
}

/* The node's shape follows from its inputs, attributes and slots. */
static nas_status check_node(const nas_net *net, int v) {
    const nas_net_node *n = &net->nodes[v];
    const int64_t *o = n->shape;
    if (o[0] < 1 || o[1] < 1 || o[2] < 1) {
        return node_fail(n, "empty output shape");
    }
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0 || n->in[i] >= v) {
            return node_fail(n, "an input is not an earlier node");
        }
    }
    int want_in = n->op == NAS_NET_INPUT                            ? 0
                  : n->op == NAS_NET_SUM || n->op == NAS_NET_CONCAT ? -1
                                                                    : 1;
    if ((want_in >= 0 && n->n_in != want_in) || (want_in < 0 && n->n_in < 1)) {
        return node_fail(n, "wrong number of inputs");
    }
    const int64_t *s = n->n_in > 0 ? net->nodes[n->in[0]].shape : NULL;
    switch (n->op) {
        case NAS_NET_INPUT:
            if (v != 0 || o[0] != net->cfg.in_c || o[1] != net->cfg.in_h || o[2] != net->cfg.in_w) {
                return node_fail(n, "the input node must be node 0 with the input's shape");
            }
            return NAS_OK;
        case NAS_NET_CONV: {
            int k = n->k, st = n->stride, p = n->pad, d = n->dilation, g = n->groups;
            if (k < 1 || st < 1 || p < 0 || d < 1 || g < 1 || s[0] % g || o[0] % g) {
                return node_fail(n, "bad conv attributes");
            }
            int64_t span = (int64_t)d * (k - 1) + 1;
            int64_t ho = s[1] + 2 * p < span ? 0 : (s[1] + 2 * p - span) / st + 1;
            int64_t wo = s[2] + 2 * p < span ? 0 : (s[2] + 2 * p - span) / st + 1;
            if (ho != o[1] || wo != o[2]) {
                return node_fail(n, "output plane size does not follow from the input");
            }
            if (n->n_slots != 1 ||
                !slot_is(net, n->slot, v, NAS_NET_WEIGHT, 4, o[0], s[0] / g, k, k)) {
                return node_fail(n, "the weight slot does not fit [out, in/groups, k, k]");
            }
            return NAS_OK;
        }
        case NAS_NET_BN:
            if (n->n_slots != 2 || !slot_is(net, n->slot, v, NAS_NET_GAMMA, 1, o[0], 1, 1, 1) ||
                !slot_is(net, n->slot + 1, v, NAS_NET_BETA, 1, o[0], 1, 1, 1)) {
                return node_fail(n, "the gamma/beta slots do not fit");
            }
            if (memcmp(s, o, 3 * sizeof *o) != 0) {
                return node_fail(n, "output shape differs from the input's");
            }
            return NAS_OK;
        case NAS_NET_RELU:
        case NAS_NET_ZERO:
            if (memcmp(s, o, 3 * sizeof *o) != 0) {
                return node_fail(n, "output shape differs from the input's");
            }
            return NAS_OK;
        case NAS_NET_AVGPOOL:
        case NAS_NET_MAXPOOL:
            if (n->k < 1 || n->stride < 1 || n->pad < 0 || 2 * n->pad > n->k) {
                return node_fail(n, "bad pool attributes (pad must be at most half the window)");
            }
            if (o[0] != s[0] || o[1] != pool_out(s[1], n->k, n->stride, n->pad) ||
                o[2] != pool_out(s[2], n->k, n->stride, n->pad)) {
                return node_fail(n, "output shape does not follow from the input");
            }
            return NAS_OK;
        case NAS_NET_SUM:
            for (int i = 0; i < n->n_in; i++) {
                if (memcmp(net->nodes[n->in[i]].shape, o, 3 * sizeof *o) != 0) {
                    return node_fail(n, "a summand has another shape");
                }
            }
            return NAS_OK;
        case NAS_NET_CONCAT: {
            int64_t c = 0;
            for (int i = 0; i < n->n_in; i++) {
                const int64_t *si = net->nodes[n->in[i]].shape;
                if (si[1] != o[1] || si[2] != o[2]) {
                    return node_fail(n, "an input has another plane size");
                }
                c += si[0];
            }
            if (c != o[0]) {
                return node_fail(n, "the channels of the inputs do not add up");
            }
            return NAS_OK;
        }
        case NAS_NET_SLICE:
            for (int d = 0; d < 3; d++) {
                if (n->offset[d] < 0 || n->offset[d] + o[d] > s[d]) {
                    return node_fail(n, "the slice leaves its input");
                }
            }
            return NAS_OK;
        case NAS_NET_GAP:
            if (o[0] != s[0] || o[1] != 1 || o[2] != 1) {
                return node_fail(n, "output must be [C, 1, 1]");
            }
            return NAS_OK;
        case NAS_NET_LINEAR:
            if (o[1] != 1 || o[2] != 1 || v != net->output || n->n_slots != 2 ||
                !slot_is(net, n->slot, v, NAS_NET_WEIGHT, 2, o[0], numel3(s), 1, 1) ||
                !slot_is(net, n->slot + 1, v, NAS_NET_BIAS, 1, o[0], 1, 1, 1)) {
                return node_fail(n, "the classifier's shape or slots do not fit");
            }
            return NAS_OK;
        default:
            return node_fail(n, "unknown op");
    }
}

/* ---- conv ----------------------------------------------------------------------------------- */

/* Outputs o in [lo, hi) whose input index o * s + off lies in [0, n_in), within [0, n_out). */
static void out_range(int64_t n_out, int64_t n_in, int64_t s, int64_t off, int64_t *lo,
                      int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = n_in - 1 - off < 0 ? 0 : (n_in - 1 - off) / s + 1;
    h = h > n_out ? n_out : h;
    *lo = l > h ? h : l;
    *hi = h;
}

typedef struct conv_geo {
    int64_t ci, h, w;   /* input [ci, h, w] */
    int64_t co, ho, wo; /* output [co, ho, wo] */
    int64_t cig, cog;   /* channels per group */
    int k, s, p, d;     /* kernel, stride, pad, dilation */
} conv_geo;

static conv_geo conv_geometry(const nas_net *net, const nas_net_node *n) {
    const int64_t *in = net->nodes[n->in[0]].shape;
    conv_geo g = {.ci = in[0],
                  .h = in[1],
                  .w = in[2],
                  .co = n->shape[0],
                  .ho = n->shape[1],
                  .wo = n->shape[2],
                  .cig = in[0] / n->groups,
                  .cog = n->shape[0] / n->groups,
                  .k = n->k,
                  .s = n->stride,
                  .p = n->pad,
                  .d = n->dilation};
    return g;
}

/* out [co, ho, wo] = conv(in [ci, h, w], w [co, cig, k, k]). */
static void conv_forward(const conv_geo *g, const double *in, const double *w, double *out) {
    int nth = nas_i_threads_for(g->co * g->ho * g->wo * g->cig * g->k * g->k);
#pragma omp parallel for num_threads(nth) if (nth > 1) schedule(static)
    for (int64_t co = 0; co < g->co; co++) {
        int64_t grp = co / g->cog;
        double *o = out + co * g->ho * g->wo;
        memset(o, 0, (size_t)(g->ho * g->wo) * sizeof *o);
        for (int64_t cl = 0; cl < g->cig; cl++) {
            const double *ip = in + (grp * g->cig + cl) * g->h * g->w;
            const double *wk = w + (co * g->cig + cl) * g->k * g->k;
            for (int ky = 0; ky < g->k; ky++) {
                int64_t oy0, oy1, offy = (int64_t)ky * g->d - g->p;
                out_range(g->ho, g->h, g->s, offy, &oy0, &oy1);
                for (int kx = 0; kx < g->k; kx++) {
                    int64_t ox0, ox1, offx = (int64_t)kx * g->d - g->p;
                    out_range(g->wo, g->w, g->s, offx, &ox0, &ox1);
                    double wv = wk[ky * g->k + kx];
                    for (int64_t oy = oy0; oy < oy1; oy++) {
                        const double *ir = ip + (oy * g->s + offy) * g->w;
                        double *orow = o + oy * g->wo;
                        for (int64_t ox = ox0; ox < ox1; ox++) {
                            orow[ox] += wv * ir[ox * g->s + offx];
                        }
                    }
                }
            }
        }
    }
}

/* dw [co, cig, k, k] += sum go * in;  gin [ci, h, w] += conv^T(go, w). */
static void conv_backward(const conv_geo *g, const double *in, const double *w, const double *go,
                          double *dw, double *gin) {
    int nth = nas_i_threads_for(g->co * g->ho * g->wo * g->cig * g->k * g->k);
#pragma omp parallel for num_threads(nth) if (nth > 1) schedule(static)
    for (int64_t co = 0; co < g->co; co++) {
        int64_t grp = co / g->cog;
        const double *gp = go + co * g->ho * g->wo;
        for (int64_t cl = 0; cl < g->cig; cl++) {
            const double *ip = in + (grp * g->cig + cl) * g->h * g->w;
            double *dk = dw + (co * g->cig + cl) * g->k * g->k;
            for (int ky = 0; ky < g->k; ky++) {
                int64_t oy0, oy1, offy = (int64_t)ky * g->d - g->p;
                out_range(g->ho, g->h, g->s, offy, &oy0, &oy1);
                for (int kx = 0; kx < g->k; kx++) {
                    int64_t ox0, ox1, offx = (int64_t)kx * g->d - g->p;
                    out_range(g->wo, g->w, g->s, offx, &ox0, &ox1);
                    double acc = 0.0;
                    for (int64_t oy = oy0; oy < oy1; oy++) {
                        const double *ir = ip + (oy * g->s + offy) * g->w;
                        const double *grow = gp + oy * g->wo;
                        for (int64_t ox = ox0; ox < ox1; ox++) {
                            acc += grow[ox] * ir[ox * g->s + offx];
                        }
                    }
                    dk[ky * g->k + kx] += acc;
                }
            }
        }
    }
#pragma omp parallel for num_threads(nth) if (nth > 1) schedule(static)
    for (int64_t ci = 0; ci < g->ci; ci++) {
        int64_t grp = ci / g->cig, cl = ci % g->cig;
        double *gi = gin + ci * g->h * g->w;
        for (int64_t co = grp * g->cog; co < (grp + 1) * g->cog; co++) {
            const double *gp = go + co * g->ho * g->wo;
            const double *wk = w + (co * g->cig + cl) * g->k * g->k;
            for (int ky = 0; ky < g->k; ky++) {
                int64_t oy0, oy1, offy = (int64_t)ky * g->d - g->p;
                out_range(g->ho, g->h, g->s, offy, &oy0, &oy1);
                for (int kx = 0; kx < g->k; kx++) {
                    int64_t ox0, ox1, offx = (int64_t)kx * g->d - g->p;
                    out_range(g->wo, g->w, g->s, offx, &ox0, &ox1);
                    double wv = wk[ky * g->k + kx];
                    for (int64_t oy = oy0; oy < oy1; oy++) {
                        double *gr = gi + (oy * g->s + offy) * g->w;
                        const double *grow = gp + oy * g->wo;
                        for (int64_t ox = ox0; ox < ox1; ox++) {
                            gr[ox * g->s + offx] += wv * grow[ox];
                        }
                    }
                }
            }
        }
    }
}

/* ---- pooling -------------------------------------------------------------------------------- */

/* PyTorch's window of output o: [lo, hi) clipped to the input, and the divisor bound hi_pad
 * (clipped to the padded input) for count_include_pad. */
static void window(int64_t o, int k, int s, int p, int64_t n, int64_t *lo, int64_t *hi,
                   int64_t *lo_pad, int64_t *hi_pad) {
    int64_t a = o * s - p, b = a + k;
    *lo_pad = a;
    *hi_pad = b < n + p ? b : n + p;
    *lo = a < 0 ? 0 : a;
    *hi = b < n ? b : n;
}

/* Forward (gin NULL) or backward of one pool node over [c, h, w] -> [c, ho, wo]. */
static void pool(const nas_net_node *n, const int64_t *is, const double *in, double *out,
                 const double *go, double *gin) {
    int64_t C = is[0], H = is[1], W = is[2], Ho = n->shape[1], Wo = n->shape[2];
    bool is_max = n->op == NAS_NET_MAXPOOL;
    for (int64_t c = 0; c < C; c++) {
        const double *ip = in + c * H * W;
        for (int64_t oy = 0; oy < Ho; oy++) {
            int64_t y0, y1, py0, py1;
            window(oy, n->k, n->stride, n->pad, H, &y0, &y1, &py0, &py1);
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t x0, x1, px0, px1;
                window(ox, n->k, n->stride, n->pad, W, &x0, &x1, &px0, &px1);
                int64_t o = (c * Ho + oy) * Wo + ox;
                if (is_max) {
                    int64_t arg = y0 * W + x0;
                    double m = -(double)INFINITY;
                    for (int64_t y = y0; y < y1; y++) {
                        for (int64_t x = x0; x < x1; x++) {
                            double vv = ip[y * W + x];
                            if (vv > m || isnan(vv)) {
                                m = vv;
                                arg = y * W + x;
                            }
                        }
                    }
                    if (gin) {
                        gin[c * H * W + arg] += go[o];
                    } else {
                        out[o] = m;
                    }
                    continue;
                }
                double div = n->count_include_pad ? (double)((py1 - py0) * (px1 - px0))
                                                  : (double)((y1 - y0) * (x1 - x0));
                if (gin) {
                    double gv = go[o] / div;
                    for (int64_t y = y0; y < y1; y++) {
                        for (int64_t x = x0; x < x1; x++) {
                            gin[c * H * W + y * W + x] += gv;
                        }
                    }
                } else {
                    double acc = 0.0;
                    for (int64_t y = y0; y < y1; y++) {
                        for (int64_t x = x0; x < x1; x++) {
                            acc += ip[y * W + x];
                        }
                    }
                    out[o] = acc / div;
                }
            }
        }
    }
}

/* ---- sweeps --------------------------------------------------------------------------------- */

static void forward_node(sf_net *f, int v) {
    const nas_net *net = f->net;
    const nas_net_node *n = &net->nodes[v];
    double *out = f->val + f->off[v];
    int64_t m = numel3(n->shape);
    const double *in = n->n_in > 0 ? f->val + f->off[n->in[0]] : NULL;
    const int64_t *is = n->n_in > 0 ? net->nodes[n->in[0]].shape : NULL;
    switch (n->op) {
        case NAS_NET_INPUT:
            for (int64_t i = 0; i < m; i++) {
                out[i] = 1.0;
            }
            break;
        case NAS_NET_CONV: {
            conv_geo g = conv_geometry(net, n);
            conv_forward(&g, in, f->wv + f->woff[n->slot], out);
            break;
        }
        case NAS_NET_BN: /* bypassed */
            memcpy(out, in, (size_t)m * sizeof *out);
            break;
        case NAS_NET_RELU:
            for (int64_t i = 0; i < m; i++) {
                out[i] = in[i] > 0.0 ? in[i] : 0.0;
            }
            break;
        case NAS_NET_AVGPOOL:
        case NAS_NET_MAXPOOL:
            pool(n, is, in, out, NULL, NULL);
            break;
        case NAS_NET_SUM:
            memcpy(out, in, (size_t)m * sizeof *out);
            for (int k = 1; k < n->n_in; k++) {
                const double *a = f->val + f->off[n->in[k]];
                for (int64_t i = 0; i < m; i++) {
                    out[i] += a[i];
                }
            }
            break;
        case NAS_NET_CONCAT: {
            double *o = out;
            for (int k = 0; k < n->n_in; k++) {
                int64_t mk = numel3(net->nodes[n->in[k]].shape);
                memcpy(o, f->val + f->off[n->in[k]], (size_t)mk * sizeof *o);
                o += mk;
            }
            break;
        }
        case NAS_NET_SLICE:
            for (int64_t c = 0; c < n->shape[0]; c++) {
                for (int64_t y = 0; y < n->shape[1]; y++) {
                    const double *src =
                        in + ((c + n->offset[0]) * is[1] + y + n->offset[1]) * is[2] + n->offset[2];
                    memcpy(out + (c * n->shape[1] + y) * n->shape[2], src,
                           (size_t)n->shape[2] * sizeof *out);
                }
            }
            break;
        case NAS_NET_ZERO:
            memset(out, 0, (size_t)m * sizeof *out);
            break;
        case NAS_NET_GAP: {
            int64_t hw = is[1] * is[2];
            for (int64_t c = 0; c < is[0]; c++) {
                double acc = 0.0;
                for (int64_t i = 0; i < hw; i++) {
                    acc += in[c * hw + i];
                }
                out[c] = acc / (double)hw;
            }
            break;
        }
        case NAS_NET_LINEAR: {
            int64_t K = n->shape[0], D = numel3(is);
            const double *w = f->wv + f->woff[n->slot], *b = f->wv + f->woff[n->slot + 1];
            for (int64_t k = 0; k < K; k++) {
                double acc = 0.0;
                for (int64_t i = 0; i < D; i++) {
                    acc += w[k * D + i] * in[i];
                }
                out[k] = acc + b[k];
            }
            break;
        }
        default:
            break; /* rejected by check_node */
    }
}

static void backward_node(sf_net *f, int v) {
    const nas_net *net = f->net;
    const nas_net_node *n = &net->nodes[v];
    const double *go = f->grad + f->off[v];
    int64_t m = numel3(n->shape);
    const double *in = n->n_in > 0 ? f->val + f->off[n->in[0]] : NULL;
    double *gin = n->n_in > 0 ? f->grad + f->off[n->in[0]] : NULL;
    const int64_t *is = n->n_in > 0 ? net->nodes[n->in[0]].shape : NULL;
    switch (n->op) {
        case NAS_NET_CONV: {
            conv_geo g = conv_geometry(net, n);
            conv_backward(&g, in, f->wv + f->woff[n->slot], go, f->wg + f->woff[n->slot], gin);
            break;
        }
        case NAS_NET_BN:
            for (int64_t i = 0; i < m; i++) {
                gin[i] += go[i];
            }
            break;
        case NAS_NET_RELU:
            for (int64_t i = 0; i < m; i++) {
                gin[i] += in[i] > 0.0 ? go[i] : 0.0;
            }
            break;
        case NAS_NET_AVGPOOL:
        case NAS_NET_MAXPOOL:
            pool(n, is, in, NULL, go, gin);
            break;
        case NAS_NET_SUM:
            for (int k = 0; k < n->n_in; k++) { /* a repeated input gets the gradient twice */
                double *a = f->grad + f->off[n->in[k]];
                for (int64_t i = 0; i < m; i++) {
                    a[i] += go[i];
                }
            }
            break;
        case NAS_NET_CONCAT: {
            const double *g = go;
            for (int k = 0; k < n->n_in; k++) {
                int64_t mk = numel3(net->nodes[n->in[k]].shape);
                double *a = f->grad + f->off[n->in[k]];
                for (int64_t i = 0; i < mk; i++) {
                    a[i] += g[i];
                }
                g += mk;
            }
            break;
        }
        case NAS_NET_SLICE:
            for (int64_t c = 0; c < n->shape[0]; c++) {
                for (int64_t y = 0; y < n->shape[1]; y++) {
                    double *dst = gin + ((c + n->offset[0]) * is[1] + y + n->offset[1]) * is[2] +
                                  n->offset[2];
                    const double *src = go + (c * n->shape[1] + y) * n->shape[2];
                    for (int64_t x = 0; x < n->shape[2]; x++) {
                        dst[x] += src[x];
                    }
                }
            }
            break;
        case NAS_NET_GAP: {
            int64_t hw = is[1] * is[2];
            for (int64_t c = 0; c < is[0]; c++) {
                double gv = go[c] / (double)hw;
                for (int64_t i = 0; i < hw; i++) {
                    gin[c * hw + i] += gv;
                }
            }
            break;
        }
        case NAS_NET_LINEAR: {
            int64_t K = n->shape[0], D = numel3(is);
            const double *w = f->wv + f->woff[n->slot];
            double *dw = f->wg + f->woff[n->slot];
            for (int64_t k = 0; k < K; k++) {
                for (int64_t i = 0; i < D; i++) {
                    dw[k * D + i] += go[k] * in[i];
                    gin[i] += w[k * D + i] * go[k];
                }
            }
            break;
        }
        default: /* input: nothing; zero: no gradient flows back */
            break;
    }
}

nas_status nas_i_proxy_synflow(const nas_net *net, const float *const *w, double *value) {
    sf_net f;
    memset(&f, 0, sizeof f);
    f.net = net;
    nas_status st = NAS_OK;
    for (int v = 0; v < net->n_nodes; v++) {
        NAS_TRY(check_node(net, v));
    }
    if (net->nodes[net->output].op != NAS_NET_LINEAR) {
        st = node_fail(&net->nodes[net->output], "the output node must be the classifier");
        goto cleanup;
    }
    f.off = nas_malloc((size_t)net->n_nodes * sizeof *f.off);
    f.woff = nas_malloc((size_t)(net->n_slots > 0 ? net->n_slots : 1) * sizeof *f.woff);
    if (!f.off || !f.woff) {
        st = nas_error(NAS_ENOMEM, "synflow: out of memory");
        goto cleanup;
    }
    int64_t total = 0, n_params = 0;
    for (int v = 0; v < net->n_nodes; v++) {
        f.off[v] = total;
        total += numel3(net->nodes[v].shape);
    }
    for (int s = 0; s < net->n_slots; s++) {
        f.woff[s] = n_params;
        n_params += net->slots[s].numel;
    }
    f.val = nas_malloc((size_t)total * sizeof *f.val);
    f.grad = nas_calloc((size_t)total, sizeof *f.grad);
    f.wv = nas_malloc((size_t)(n_params > 0 ? n_params : 1) * sizeof *f.wv);
    f.wg = nas_calloc((size_t)(n_params > 0 ? n_params : 1), sizeof *f.wg);
    if (!f.val || !f.grad || !f.wv || !f.wg) {
        st = nas_error(NAS_ENOMEM, "synflow: cannot allocate %lld activations in double precision",
                       (long long)total);
        goto cleanup;
    }
    for (int s = 0; s < net->n_slots; s++) { /* every parameter by its absolute value */
        for (int64_t i = 0; i < net->slots[s].numel; i++) {
            f.wv[f.woff[s] + i] = fabs((double)w[s][i]);
        }
    }
    for (int v = 0; v < net->n_nodes; v++) {
        forward_node(&f, v);
    }
    double *gout = f.grad + f.off[net->output]; /* R = sum of the logits */
    for (int64_t i = 0; i < numel3(net->nodes[net->output].shape); i++) {
        gout[i] = 1.0;
    }
    for (int v = net->n_nodes - 1; v > 0; v--) {
        backward_node(&f, v);
    }
    double score = 0.0;
    for (int s = 0; s < net->n_slots; s++) {
        if (!nas_i_proxy_scored_slot(net, s)) {
            continue;
        }
        const double *wv = f.wv + f.woff[s], *wg = f.wg + f.woff[s];
        for (int64_t i = 0; i < net->slots[s].numel; i++) {
            score += fabs(wv[i] * wg[i]);
        }
    }
    *value = score;
cleanup:
    nas_free(f.off);
    nas_free(f.woff);
    nas_free(f.val);
    nas_free(f.grad);
    nas_free(f.wv);
    nas_free(f.wg);
    return st;
}
