/*
 * The loss-gradient proxies grad_norm (sum over conv and linear weights of ||dL/dW||_2) and snip
 * (sum of |W * dL/dW|), L = mean softmax cross-entropy of the batch, from one forward and one
 * backward pass on the tape with BN in batch-statistics mode.
 */
#include "proxy-impl.h"

#include <math.h>

nas_status nas_i_proxy_gradient(nas_i_proxy which, const nas_net *net, const float *const *w,
                                const float *x, const int32_t *labels, int batch, double *value) {
    nas_tape t;
    NAS_CHECK(nas_tape_init(&t));
    nas_status st = NAS_OK;
    nas_tensor **wt = NULL;
    nas_tensor *logits = nas_i_proxy_forward(&t, net, w, x, batch, true, false, &wt, NULL, NULL);
    nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, labels, 0.0f);
    NAS_TRY(nas_tape_status(&t));
    NAS_TRY(nas_tape_backward(&t, loss));
    double total = 0.0;
    for (int s = 0; s < net->n_slots; s++) {
        if (!nas_i_proxy_scored_slot(net, s)) {
            continue;
        }
        const nas_tensor *p = wt[s];
        double acc = 0.0;
        for (int64_t i = 0; i < p->numel; i++) {
            double g = (double)p->grad[i];
            acc += which == NAS_I_PROXY_SNIP ? fabs((double)p->data[i] * g) : g * g;
        }
        total += which == NAS_I_PROXY_SNIP ? acc : sqrt(acc);
    }
    *value = total;
cleanup:
    nas_tape_free(&t);
    return st;
}
