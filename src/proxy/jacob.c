/*
 * jacob_cov: the gradient of the sum of all logits with respect to the input batch (one backward
 * pass from an all-ones output gradient, BN with batch statistics, as zero-cost-nas's
 * get_batch_jacobian), its rows' correlation matrix and that matrix's eigenvalues l; score
 * -sum[log(l + 1e-5) + 1 / (l + 1e-5)].
 */
#include "proxy-impl.h"

#include <math.h>

nas_status nas_i_jacob_score(const float *J, int n, int64_t d, double *value) {
    nas_status st = NAS_OK;
    size_t nn = (size_t)n * (size_t)n;
    double *c = nas_malloc(nn * sizeof *c);            /* [n, n] correlations */
    double *eig = nas_malloc((size_t)n * sizeof *eig); /* [n] their eigenvalues */
    if (!c || !eig) {
        st = nas_error(NAS_ENOMEM, "jacob_cov: cannot allocate a %d x %d matrix", n, n);
        goto cleanup;
    }
    int bad = nas_i_corrcoef(J, n, d, c);
    if (bad == -2) {
        st = nas_error(NAS_ENOMEM, "jacob_cov: cannot allocate the centred Jacobians");
        goto cleanup;
    }
    if (bad >= 0) {
        st = nas_error(NAS_ENUMERIC,
                       "jacob_cov: the input Jacobian of sample %d is constant, so its "
                       "correlation is undefined",
                       bad);
        goto cleanup;
    }
    NAS_TRY(nas_i_eigh(c, n, eig));
    const double k = 1e-5;
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        s += log(eig[i] + k) + 1.0 / (eig[i] + k);
    }
    *value = -s;
cleanup:
    nas_free(c);
    nas_free(eig);
    return st;
}

nas_status nas_i_proxy_jacob_cov(const nas_net *net, const float *const *w, const float *x,
                                 int batch, double *value) {
    nas_tape t;
    NAS_CHECK(nas_tape_init(&t));
    nas_status st = NAS_OK;
    float *ones = NULL;
    nas_tensor *xt = NULL;
    nas_tensor *logits = nas_i_proxy_forward(&t, net, w, x, batch, false, true, NULL, &xt, NULL);
    NAS_TRY(nas_tape_status(&t));
    ones = nas_malloc((size_t)logits->numel * sizeof *ones); /* [batch, classes] */
    if (!ones) {
        st = nas_error(NAS_ENOMEM, "jacob_cov: out of memory");
        goto cleanup;
    }
    for (int64_t i = 0; i < logits->numel; i++) {
        ones[i] = 1.0f;
    }
    NAS_TRY(nas_tape_backward_from(&t, logits, ones));
    NAS_TRY(nas_i_jacob_score(xt->grad, batch, xt->numel / batch, value));
cleanup:
    nas_free(ones);
    nas_tape_free(&t);
    return st;
}
