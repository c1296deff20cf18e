/*
 * Embedding lookup and softmax cross-entropy (mean over the batch, label smoothing, max-
 * subtracted log-sum-exp), with their backward passes.
 */
#include "tape-impl.h"

#include <math.h>
#include <string.h>

/* ---- embedding ----------------------------------------------------------------------------- */

nas_tensor *nas_embedding(nas_tape *t, nas_tensor *table, const int32_t *idx, int64_t n) {
    if (!nas_i_ok(t, 1, table)) {
        return NULL;
    }
    char st[64];
    if (table->ndim != 2) {
        return nas_i_fail(t, NAS_ESHAPE, "embedding: table %s must be 2-D [V, D]",
                          nas_shape_str(table, st, sizeof st));
    }
    if (!idx || n < 1) {
        return nas_i_fail(t, NAS_EINVAL, "embedding: need at least one index, got n = %lld%s",
                          (long long)n, idx ? "" : " (idx is NULL)");
    }
    const int64_t V = table->shape[0], D = table->shape[1];
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= V) {
            return nas_i_fail(t, NAS_EINVAL,
                              "embedding: index %d at position %lld is outside the table of %lld "
                              "rows",
                              (int)idx[i], (long long)i, (long long)V);
        }
    }
    nas_tensor *out = nas_tensor_new4(t, 2, n, D, 0, 0);
    if (!out) {
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        memcpy(out->data + i * D, table->data + (int64_t)idx[i] * D, (size_t)D * sizeof(float));
    }
    nas_node *nd = nas_i_record(t, NAS_OP_EMBEDDING, out, &table, 1);
    if (nd) {
        int32_t *saved =
            nas_i_alloc(t, (size_t)n * sizeof *saved); /* [n], the caller may reuse idx */
        if (!saved) {
            return NULL;
        }
        memcpy(saved, idx, (size_t)n * sizeof *saved);
        nd->saved = saved;
    }
    return out;
}

void nas_i_embedding_backward(nas_tape *t, nas_node *n) {
    nas_tensor *table = n->in[0];
    if (!nas_i_needs_grad(table)) {
        return;
    }
    float *gt = nas_i_grad(t, table);
    if (!gt) {
        return;
    }
    const int32_t *idx = n->saved;
    const int64_t rows = n->out->shape[0], D = n->out->shape[1];
    const float *g = n->out->grad; /* [rows, D] */
    /* Serial: repeated indices accumulate into the same table row. */
    for (int64_t i = 0; i < rows; i++) {
        float *dst = gt + (int64_t)idx[i] * D;
        const float *src = g + i * D;
        for (int64_t j = 0; j < D; j++) {
            dst[j] += src[j];
        }
    }
}

/* ---- softmax cross-entropy ----------------------------------------------------------------- */

nas_tensor *nas_softmax_cross_entropy(nas_tape *t, nas_tensor *logits, const int32_t *labels,
                                      float smoothing) {
    if (!nas_i_ok(t, 1, logits)) {
        return NULL;
    }
    char sl[64];
    if (logits->ndim != 2) {
        return nas_i_fail(t, NAS_ESHAPE, "softmax_cross_entropy: logits %s must be 2-D [N, K]",
                          nas_shape_str(logits, sl, sizeof sl));
    }
    if (!labels) {
        return nas_i_fail(t, NAS_EINVAL, "softmax_cross_entropy: labels is NULL");
    }
    if (!(smoothing >= 0.0f && smoothing <= 1.0f)) {
        return nas_i_fail(t, NAS_EINVAL, "softmax_cross_entropy: smoothing %g is outside [0, 1]",
                          (double)smoothing);
    }
    const int64_t N = logits->shape[0], K = logits->shape[1];
    for (int64_t i = 0; i < N; i++) {
        if (labels[i] < 0 || labels[i] >= K) {
            return nas_i_fail(t, NAS_EINVAL,
                              "softmax_cross_entropy: label %d of row %lld is outside [0, %lld)",
                              (int)labels[i], (long long)i, (long long)K);
        }
    }
    nas_tensor *out = nas_tensor_new4(t, 1, 1, 0, 0, 0);
    float *prob = nas_i_alloc(t, (size_t)(N * K) * sizeof(float)); /* [N, K] softmax, saved */
    if (!out || !prob) {
        return NULL;
    }
    const double eps = (double)smoothing;
    const double off = eps / (double)K; /* target = (1 - eps) onehot + eps / K */
    double total = 0.0;
    for (int64_t i = 0; i < N; i++) {
        const float *z = logits->data + i * K;
        float *p = prob + i * K;
        float mx = z[0];
        for (int64_t k = 1; k < K; k++) {
            mx = z[k] > mx ? z[k] : mx;
        }
        double se = 0.0, sz = 0.0;
        for (int64_t k = 0; k < K; k++) {
            se += exp((double)z[k] - (double)mx);
            sz += (double)z[k];
        }
        const double lse = (double)mx + log(se);
        for (int64_t k = 0; k < K; k++) {
            p[k] = (float)exp((double)z[k] - lse);
        }
        /* -sum_k target_k log p_k = lse - (1 - eps) z_y - eps/K sum_k z_k */
        total += lse - (1.0 - eps) * (double)z[labels[i]] - off * sz;
    }
    out->data[0] = (float)(total / (double)N);
    nas_node *n = nas_i_record(t, NAS_OP_SOFTMAX_CE, out, &logits, 1);
    if (n) {
        int32_t *lab = nas_i_alloc(t, (size_t)N * sizeof *lab); /* [N] */
        if (!lab) {
            return NULL;
        }
        memcpy(lab, labels, (size_t)N * sizeof *lab);
        n->saved = prob;
        n->saved2 = lab;
        n->fp[0] = smoothing;
    }
    return out;
}

void nas_i_softmax_ce_backward(nas_tape *t, nas_node *n) {
    nas_tensor *logits = n->in[0];
    if (!nas_i_needs_grad(logits)) {
        return;
    }
    float *gz = nas_i_grad(t, logits);
    if (!gz) {
        return;
    }
    const float *prob = n->saved;
    const int32_t *lab = n->saved2;
    const int64_t N = logits->shape[0], K = logits->shape[1];
    const float eps = n->fp[0];
    const float off = eps / (float)K;
    const float scale = n->out->grad[0] / (float)N;
    /* d loss / d z_ik = (p_ik - target_ik) / N */
    for (int64_t i = 0; i < N; i++) {
        const float *p = prob + i * K;
        float *d = gz + i * K;
        for (int64_t k = 0; k < K; k++) {
            d[k] += scale * (p[k] - off);
        }
        d[lab[i]] -= scale * (1.0f - eps);
    }
}
