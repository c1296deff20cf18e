/*
 * Macro-space network compiler: MobileNetV2-style inverted-residual stages. Stem conv k x k
 * (stem_kernel, stem_stride, pad k/2) + BN + ReLU at stem_channels (C overrides it); per stage
 * `depth` blocks of:
 *     [1x1 expand conv to in*expansion + BN + ReLU]   (absent when expansion is 1)
 *     depthwise k x k conv (stride = the stage stride at the stage's first block, else 1,
 *     pad k/2) + BN + ReLU
 *     1x1 project conv to the stage width + BN
 *     residual sum with the block input when the stride is 1 and in == out channels;
 * then a 1x1 head conv to head_channels + BN + ReLU (skipped when head_channels is 0), GAP and
 * the classifier. ReLU replaces MobileNet's ReLU6 (the tensor engine has no ReLU6). Names:
 * "stem.*", "s<stage>b<block>.expand.*", ".dw.*", ".project.*", ".add", "head.*".
 */
#include "net-impl.h"

static int inverted_residual(nas_i_builder *b, int x, int64_t out, int k, int stride,
                             int expansion) {
    int64_t cin = nas_i_ch(b, x), hidden = cin * expansion;
    int h = x;
    if (expansion != 1) {
        h = nas_i_conv(b, "expand.conv", h, hidden, 1, 1, 0, 1, 1);
        h = nas_i_bn(b, "expand.bn", h);
        h = nas_i_relu(b, "expand.relu", h);
    }
    h = nas_i_conv(b, "dw.conv", h, hidden, k, stride, k / 2, 1, (int)hidden);
    h = nas_i_bn(b, "dw.bn", h);
    h = nas_i_relu(b, "dw.relu", h);
    h = nas_i_conv(b, "project.conv", h, out, 1, 1, 0, 1, 1);
    h = nas_i_bn(b, "project.bn", h);
    if (stride == 1 && cin == out) {
        int both[2] = {x, h};
        h = nas_i_sum(b, "add", both, 2);
    }
    return h;
}

nas_status nas_i_compile_macro(nas_i_builder *b, const nas_space *sp, const nas_arch *a) {
    nas_net_config *c = &b->net->cfg;
    if (c->N) {
        return nas_error(NAS_EINVAL,
                         "net config: N is not used by macro space %s (stage depths come from "
                         "the arch); leave it 0",
                         sp->name);
    }
    long stem_c, stem_k, stem_s, head_c;
    NAS_CHECK(nas_i_skel_int(sp, "stem_channels", 16, 1, 4096, &stem_c));
    NAS_CHECK(nas_i_skel_int(sp, "stem_kernel", 3, 1, 15, &stem_k));
    NAS_CHECK(nas_i_skel_int(sp, "stem_stride", 1, 1, 4, &stem_s));
    NAS_CHECK(nas_i_skel_int(sp, "head_channels", 0, 0, 1 << 16, &head_c));
    c->C = c->C ? c->C : (int)stem_c;
    nas_i_scope(b, "stem");
    int x = nas_i_conv(b, "conv", 0, c->C, (int)stem_k, (int)stem_s, (int)stem_k / 2, 1, 1);
    x = nas_i_bn(b, "bn", x);
    x = nas_i_relu(b, "relu", x);
    for (int s = 0; s < a->n_stages; s++) {
        const nas_macro_stage *st = &a->stage[s];
        for (int k = 0; k < st->depth; k++) {
            nas_i_scope(b, "s%db%d", s, k);
            x = inverted_residual(b, x, st->width, st->kernel, k == 0 ? st->stride : 1,
                                  st->expansion);
        }
    }
    nas_i_scope(b, "head");
    if (head_c > 0) {
        x = nas_i_conv(b, "conv", x, head_c, 1, 1, 0, 1, 1);
        x = nas_i_bn(b, "bn", x);
        x = nas_i_relu(b, "relu", x);
    }
    x = nas_i_gap(b, "gap", x);
    nas_i_linear(b, "fc", x, c->classes);
    return b->st;
}
