/*
 * Node emitters of the net builder with their shape rules: output shape [C, H, W] per op,
 * validation with messages naming the node, the main weight shape (GHN-2's 4-D view), parameter
 * counts and multiply-accumulates per sample.
 *
 * Conventions: conv output = (H + 2p - d(k-1) - 1) / s + 1, pools (H + 2p - k) / s + 1 (floor, as
 * PyTorch); MACs of a conv = Cout * Ho * Wo * (Cin/groups) * k * k, of the classifier
 * classes * C; everything else 0.
 */
#include "net-impl.h"

#include <string.h>

int64_t nas_i_ch(const nas_i_builder *b, int x) {
    return x >= 0 && x < b->net->n_nodes ? b->net->nodes[x].shape[0] : 0;
}

int64_t nas_i_hh(const nas_i_builder *b, int x) {
    return x >= 0 && x < b->net->n_nodes ? b->net->nodes[x].shape[1] : 0;
}

int64_t nas_i_ww(const nas_i_builder *b, int x) {
    return x >= 0 && x < b->net->n_nodes ? b->net->nodes[x].shape[2] : 0;
}

/* Copy of node x's shape: pointers into the node array die when a push grows it. */
static void get_shape(const nas_i_builder *b, int x, int64_t s[3]) {
    memcpy(s, b->net->nodes[x].shape, 3 * sizeof *s);
}

static bool bad(const nas_i_builder *b, int x) {
    return b->st != NAS_OK || x < 0;
}

int nas_i_input(nas_i_builder *b, int c, int h, int w) {
    nas_net_node *n;
    int id = nas_i_push(b, NAS_NET_INPUT, "input", NULL, 0, &n);
    if (id >= 0) {
        n->shape[0] = c;
        n->shape[1] = h;
        n->shape[2] = w;
    }
    return id;
}

int nas_i_conv(nas_i_builder *b, const char *suffix, int x, int64_t cout, int k, int stride,
               int pad, int dilation, int groups) {
    if (bad(b, x)) {
        return -1;
    }
    int64_t s[3];
    get_shape(b, x, s);
    int64_t cin = s[0];
    if (k < 1 || stride < 1 || pad < 0 || dilation < 1 || groups < 1 || cout < 1) {
        return nas_i_bfail(b, NAS_EINVAL, suffix,
                           "bad conv (k %d, stride %d, pad %d, dilation %d, groups %d, out %lld)",
                           k, stride, pad, dilation, groups, (long long)cout);
    }
    if (cin % groups || cout % groups) {
        return nas_i_bfail(b, NAS_EINVAL, suffix,
                           "%d groups do not divide %lld input / %lld output channels", groups,
                           (long long)cin, (long long)cout);
    }
    int64_t span = (int64_t)dilation * (k - 1) + 1;
    int64_t ho = s[1] + 2 * pad - span < 0 ? 0 : (s[1] + 2 * pad - span) / stride + 1;
    int64_t wo = s[2] + 2 * pad - span < 0 ? 0 : (s[2] + 2 * pad - span) / stride + 1;
    if (ho < 1 || wo < 1) {
        return nas_i_bfail(b, NAS_ESHAPE, suffix,
                           "the input is too small: a %dx%d conv (stride %d, pad %d, dilation %d) "
                           "on %lldx%lld planes leaves nothing",
                           k, k, stride, pad, dilation, (long long)s[1], (long long)s[2]);
    }
    nas_net_node *n;
    int id = nas_i_push(b, NAS_NET_CONV, suffix, &x, 1, &n);
    if (id < 0) {
        return -1;
    }
    n->shape[0] = cout;
    n->shape[1] = ho;
    n->shape[2] = wo;
    n->k = k;
    n->stride = stride;
    n->pad = pad;
    n->dilation = dilation;
    n->groups = groups;
    n->wshape[0] = cout;
    n->wshape[1] = cin / groups;
    n->wshape[2] = k;
    n->wshape[3] = k;
    n->n_params = cout * (cin / groups) * k * k;
    n->macs = n->n_params * ho * wo;
    return id;
}

/* A node with the shape of its single input. */
static int same_shape_node(nas_i_builder *b, nas_net_op op, const char *suffix, int x,
                           nas_net_node **nd) {
    if (bad(b, x)) {
        return -1;
    }
    int64_t s[3];
    get_shape(b, x, s);
    int id = nas_i_push(b, op, suffix, &x, 1, nd);
    if (id >= 0) {
        memcpy((*nd)->shape, s, sizeof s);
    }
    return id;
}

int nas_i_bn(nas_i_builder *b, const char *suffix, int x) {
    nas_net_node *n;
    int id = same_shape_node(b, NAS_NET_BN, suffix, x, &n);
    if (id >= 0) {
        n->wshape[0] = n->shape[0];
        n->wshape[1] = n->wshape[2] = n->wshape[3] = 1;
        n->n_params = 2 * n->shape[0];
    }
    return id;
}

int nas_i_relu(nas_i_builder *b, const char *suffix, int x) {
    nas_net_node *n;
    return same_shape_node(b, NAS_NET_RELU, suffix, x, &n);
}

int nas_i_zero(nas_i_builder *b, const char *suffix, int like) {
    nas_net_node *n;
    return same_shape_node(b, NAS_NET_ZERO, suffix, like, &n);
}

int nas_i_pool(nas_i_builder *b, const char *suffix, nas_net_op op, int x, int k, int stride,
               int pad, bool count_include_pad) {
    if (bad(b, x)) {
        return -1;
    }
    int64_t s[3];
    get_shape(b, x, s);
    if (k < 1 || stride < 1 || pad < 0 || 2 * pad > k) {
        return nas_i_bfail(b, NAS_EINVAL, suffix, "bad pool (k %d, stride %d, pad %d)", k, stride,
                           pad);
    }
    int64_t ho = s[1] + 2 * pad - k < 0 ? 0 : (s[1] + 2 * pad - k) / stride + 1;
    int64_t wo = s[2] + 2 * pad - k < 0 ? 0 : (s[2] + 2 * pad - k) / stride + 1;
    if (ho < 1 || wo < 1) {
        return nas_i_bfail(b, NAS_ESHAPE, suffix,
                           "the input is too small: a %dx%d pool (stride %d, pad %d) on %lldx%lld "
                           "planes leaves nothing",
                           k, k, stride, pad, (long long)s[1], (long long)s[2]);
    }
    nas_net_node *n;
    int id = nas_i_push(b, op, suffix, &x, 1, &n);
    if (id < 0) {
        return -1;
    }
    n->shape[0] = s[0];
    n->shape[1] = ho;
    n->shape[2] = wo;
    n->k = k;
    n->stride = stride;
    n->pad = pad;
    n->count_include_pad = op == NAS_NET_AVGPOOL && count_include_pad;
    return id;
}

/* "3x7x7" */
static const char *shape_txt(const int64_t *s, char *buf, size_t cap) {
    snprintf(buf, cap, "%lldx%lldx%lld", (long long)s[0], (long long)s[1], (long long)s[2]);
    return buf;
}

int nas_i_sum(nas_i_builder *b, const char *suffix, const int *xs, int n_in) {
    for (int i = 0; i < n_in; i++) {
        if (bad(b, xs[i])) {
            return -1;
        }
    }
    if (n_in < 2) {
        return nas_i_bfail(b, NAS_EINTERNAL, suffix, "sum of %d inputs", n_in);
    }
    int64_t s0[3], si[3];
    get_shape(b, xs[0], s0);
    for (int i = 1; i < n_in; i++) {
        get_shape(b, xs[i], si);
        if (memcmp(s0, si, 3 * sizeof *s0) != 0) {
            char a[64], c[64];
            return nas_i_bfail(
                b, NAS_ESHAPE, suffix, "sum inputs differ in shape: %s (%s) and %s (%s)%s",
                b->net->nodes[xs[0]].name, shape_txt(s0, a, sizeof a), b->net->nodes[xs[i]].name,
                shape_txt(si, c, sizeof c),
                s0[1] != si[1] || s0[2] != si[2] ? " (a reduction needs an even input size)" : "");
        }
    }
    nas_net_node *n;
    int id = nas_i_push(b, NAS_NET_SUM, suffix, xs, n_in, &n);
    if (id >= 0) {
        memcpy(n->shape, s0, sizeof n->shape);
    }
    return id;
}

int nas_i_sum_or_one(nas_i_builder *b, const char *suffix, const int *xs, int n) {
    if (n == 0) {
        return NAS_I_NET_NONE;
    }
    if (n == 1) {
        return xs[0];
    }
    return nas_i_sum(b, suffix, xs, n);
}

int nas_i_concat(nas_i_builder *b, const char *suffix, const int *xs, int n_in) {
    for (int i = 0; i < n_in; i++) {
        if (bad(b, xs[i])) {
            return -1;
        }
    }
    if (n_in < 2) {
        return nas_i_bfail(b, NAS_EINTERNAL, suffix, "concat of %d inputs", n_in);
    }
    int64_t s0[3], si[3];
    get_shape(b, xs[0], s0);
    int64_t c = 0;
    for (int i = 0; i < n_in; i++) {
        get_shape(b, xs[i], si);
        if (si[1] != s0[1] || si[2] != s0[2]) {
            char a[64], d[64];
            return nas_i_bfail(b, NAS_ESHAPE, suffix,
                               "concat inputs differ in plane size: %s (%s) and %s (%s) (a "
                               "reduction needs an even input size)",
                               b->net->nodes[xs[0]].name, shape_txt(s0, a, sizeof a),
                               b->net->nodes[xs[i]].name, shape_txt(si, d, sizeof d));
        }
        c += si[0];
    }
    nas_net_node *n;
    int id = nas_i_push(b, NAS_NET_CONCAT, suffix, xs, n_in, &n);
    if (id >= 0) {
        n->shape[0] = c;
        n->shape[1] = s0[1];
        n->shape[2] = s0[2];
    }
    return id;
}

int nas_i_slice(nas_i_builder *b, const char *suffix, int x, int64_t c0, int64_t c, int64_t h0,
                int64_t h, int64_t w0, int64_t w) {
    if (bad(b, x)) {
        return -1;
    }
    int64_t s[3];
    get_shape(b, x, s);
    if (c0 < 0 || h0 < 0 || w0 < 0 || c < 1 || h < 1 || w < 1 || c0 + c > s[0] || h0 + h > s[1] ||
        w0 + w > s[2]) {
        char a[64];
        return nas_i_bfail(b, NAS_ESHAPE, suffix,
                           "slice [%lld+%lld, %lld+%lld, %lld+%lld] does not fit %s", (long long)c0,
                           (long long)c, (long long)h0, (long long)h, (long long)w0, (long long)w,
                           shape_txt(s, a, sizeof a));
    }
    nas_net_node *n;
    int id = nas_i_push(b, NAS_NET_SLICE, suffix, &x, 1, &n);
    if (id >= 0) {
        n->shape[0] = c;
        n->shape[1] = h;
        n->shape[2] = w;
        n->offset[0] = c0;
        n->offset[1] = h0;
        n->offset[2] = w0;
    }
    return id;
}

int nas_i_gap(nas_i_builder *b, const char *suffix, int x) {
    if (bad(b, x)) {
        return -1;
    }
    int64_t c = nas_i_ch(b, x);
    nas_net_node *n;
    int id = nas_i_push(b, NAS_NET_GAP, suffix, &x, 1, &n);
    if (id >= 0) {
        n->shape[0] = c;
        n->shape[1] = n->shape[2] = 1;
    }
    return id;
}

int nas_i_linear(nas_i_builder *b, const char *suffix, int x, int classes) {
    if (bad(b, x)) {
        return -1;
    }
    int64_t s[3];
    get_shape(b, x, s);
    if (s[1] != 1 || s[2] != 1) {
        return nas_i_bfail(b, NAS_EINTERNAL, suffix, "classifier input is not pooled");
    }
    int64_t c = s[0];
    nas_net_node *n;
    int id = nas_i_push(b, NAS_NET_LINEAR, suffix, &x, 1, &n);
    if (id >= 0) {
        n->shape[0] = classes;
        n->shape[1] = n->shape[2] = 1;
        n->wshape[0] = classes;
        n->wshape[1] = c;
        n->wshape[2] = n->wshape[3] = 1;
        n->n_params = classes * c + classes;
        n->macs = classes * c;
    }
    return id;
}
