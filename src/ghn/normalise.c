/*
 * GHN-2's predicted-weight normalisation (ppuda `_normalize`, references/ghn.md §2):
 *   conv and linear weights  w * sqrt(beta / fan_in), beta = 1 for depthwise (grouped) convs,
 *                            which feed no ReLU-sized fan, else 2 (He scaling before a ReLU);
 *   BN scale (gamma)         2 * sigmoid(0.5 p), in (0, 2);
 *   BN shift and biases      tanh(0.2 p), in (-1, 1).
 */
#include "ghn-impl.h"

#include <math.h>

float nas_i_ghn_weight_scale(const nas_net *net, int slot) {
    const nas_net_slot *sl = &net->slots[slot];
    if (sl->role != NAS_NET_WEIGHT || sl->fan_in <= 0) {
        return 1.0f;
    }
    const nas_net_node *n = &net->nodes[sl->node];
    double beta = (n->op == NAS_NET_CONV && n->groups > 1) ? 1.0 : 2.0;
    return (float)sqrt(beta / (double)sl->fan_in);
}

nas_tensor *nas_i_ghn_normalise(nas_tape *t, nas_tensor *raw, nas_net_role role, float scale,
                                bool on) {
    if (!on || !raw) {
        return raw;
    }
    switch (role) {
        case NAS_NET_WEIGHT:
            return nas_scale(t, raw, scale);
        case NAS_NET_GAMMA:
            return nas_scale(t, nas_sigmoid(t, nas_scale(t, raw, 0.5f)), 2.0f);
        case NAS_NET_BETA:
        case NAS_NET_BIAS:
        default:
            return nas_tanh(t, nas_scale(t, raw, 0.2f));
    }
}
