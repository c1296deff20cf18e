/*
 * Composite blocks shared by the cell compilers: ReLU-conv-BN (NB201 nor_conv, DARTS
 * preprocessing, ResNet block branches), conv-BN-ReLU (NB101), FactorizedReduce, DARTS separable
 * and dilated convolutions, and the edge-op dispatcher of NB201/DARTS cells.
 *
 * Structure follows the reference code (references/nas.md §1, §3):
 *   ReLUConvBN       relu -> conv (no bias) -> bn
 *   FactorizedReduce relu -> [conv1x1 s2 (x), conv1x1 s2 (x[:, :, 1:, 1:])] -> concat -> bn,
 *                    each conv producing Cout/2 channels
 *   SepConv          relu -> dw kxk (stride) -> pw 1x1 -> bn -> relu -> dw kxk -> pw 1x1 -> bn
 *   DilConv          relu -> dw kxk dilation 2 (stride) -> pw 1x1 -> bn
 */
#include "net-impl.h"

#include <stdio.h>

/* "<prefix>.<part>" or "<part>". */
static const char *part(char *buf, size_t cap, const char *prefix, const char *p) {
    snprintf(buf, cap, "%s%s%s", prefix, prefix[0] ? "." : "", p);
    return buf;
}

int nas_i_relu_conv_bn(nas_i_builder *b, const char *prefix, int x, int64_t cout, int k, int stride,
                       int pad, int dilation) {
    char n[48];
    int h = nas_i_relu(b, part(n, sizeof n, prefix, "relu"), x);
    h = nas_i_conv(b, part(n, sizeof n, prefix, "conv"), h, cout, k, stride, pad, dilation, 1);
    return nas_i_bn(b, part(n, sizeof n, prefix, "bn"), h);
}

int nas_i_conv_bn_relu(nas_i_builder *b, const char *prefix, int x, int64_t cout, int k, int stride,
                       int pad) {
    char n[48];
    int h = nas_i_conv(b, part(n, sizeof n, prefix, "conv"), x, cout, k, stride, pad, 1, 1);
    h = nas_i_bn(b, part(n, sizeof n, prefix, "bn"), h);
    return nas_i_relu(b, part(n, sizeof n, prefix, "relu"), h);
}

int nas_i_factorized_reduce(nas_i_builder *b, const char *prefix, int x, int64_t cout) {
    if (b->st != NAS_OK || x < 0) {
        return -1;
    }
    char n[48];
    int64_t h = nas_i_hh(b, x), w = nas_i_ww(b, x);
    if (h % 2 || w % 2 || h < 2 || w < 2) {
        return nas_i_bfail(b, NAS_ESHAPE, part(n, sizeof n, prefix, "conv1"),
                           "FactorizedReduce needs an even plane size, got %lldx%lld (choose an "
                           "input size divisible by 4)",
                           (long long)h, (long long)w);
    }
    if (cout % 2) {
        return nas_i_bfail(b, NAS_EINVAL, part(n, sizeof n, prefix, "conv1"),
                           "FactorizedReduce needs an even channel count, got %lld",
                           (long long)cout);
    }
    int r = nas_i_relu(b, part(n, sizeof n, prefix, "relu"), x);
    int c[2];
    c[0] = nas_i_conv(b, part(n, sizeof n, prefix, "conv1"), r, cout / 2, 1, 2, 0, 1, 1);
    int s = nas_i_slice(b, part(n, sizeof n, prefix, "shift"), r, 0, nas_i_ch(b, r), 1, h - 1, 1,
                        w - 1);
    c[1] = nas_i_conv(b, part(n, sizeof n, prefix, "conv2"), s, cout / 2, 1, 2, 0, 1, 1);
    int cat = nas_i_concat(b, part(n, sizeof n, prefix, "concat"), c, 2);
    return nas_i_bn(b, part(n, sizeof n, prefix, "bn"), cat);
}

/* DARTS SepConv(C, C, k, stride, k/2). */
static int sep_conv(nas_i_builder *b, int x, int k, int stride) {
    int64_t c = nas_i_ch(b, x);
    int h = nas_i_relu(b, "relu1", x);
    h = nas_i_conv(b, "dw1", h, c, k, stride, k / 2, 1, (int)c);
    h = nas_i_conv(b, "pw1", h, c, 1, 1, 0, 1, 1);
    h = nas_i_bn(b, "bn1", h);
    h = nas_i_relu(b, "relu2", h);
    h = nas_i_conv(b, "dw2", h, c, k, 1, k / 2, 1, (int)c);
    h = nas_i_conv(b, "pw2", h, c, 1, 1, 0, 1, 1);
    return nas_i_bn(b, "bn2", h);
}

/* DARTS DilConv(C, C, k, stride, pad = k - 1, dilation 2). */
static int dil_conv(nas_i_builder *b, int x, int k, int stride) {
    int64_t c = nas_i_ch(b, x);
    int h = nas_i_relu(b, "relu", x);
    h = nas_i_conv(b, "dw", h, c, k, stride, k - 1, 2, (int)c);
    h = nas_i_conv(b, "pw", h, c, 1, 1, 0, 1, 1);
    return nas_i_bn(b, "bn", h);
}

int nas_i_edge_op(nas_i_builder *b, nas_cell_op op, int x, int stride) {
    if (b->st != NAS_OK || x < 0) {
        return -1;
    }
    int64_t c = nas_i_ch(b, x);
    switch (op) {
        case NAS_CELL_OP_NONE:
            return NAS_I_NET_NONE;
        case NAS_CELL_OP_SKIP_CONNECT:
            return stride == 1 ? x : nas_i_factorized_reduce(b, "", x, c);
        case NAS_CELL_OP_NOR_CONV_1X1:
            return nas_i_relu_conv_bn(b, "", x, c, 1, stride, 0, 1);
        case NAS_CELL_OP_NOR_CONV_3X3:
            return nas_i_relu_conv_bn(b, "", x, c, 3, stride, 1, 1);
        case NAS_CELL_OP_AVG_POOL_3X3:
            return nas_i_pool(b, "pool", NAS_NET_AVGPOOL, x, 3, stride, 1, false);
        case NAS_CELL_OP_MAX_POOL_3X3:
            return nas_i_pool(b, "pool", NAS_NET_MAXPOOL, x, 3, stride, 1, false);
        case NAS_CELL_OP_SEP_CONV_3X3:
            return sep_conv(b, x, 3, stride);
        case NAS_CELL_OP_SEP_CONV_5X5:
            return sep_conv(b, x, 5, stride);
        case NAS_CELL_OP_DIL_CONV_3X3:
            return dil_conv(b, x, 3, stride);
        case NAS_CELL_OP_DIL_CONV_5X5:
            return dil_conv(b, x, 5, stride);
        default:
            return nas_i_bfail(b, NAS_EUNSUPPORTED, "",
                               "op %s is not an edge op (it belongs on NB101 vertices)",
                               nas_cell_op_name(op));
    }
}
