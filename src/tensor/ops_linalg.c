/*
 * Matrix ops and their backward passes: matmul with optional transposes and the fully connected
 * layer (PyTorch layout, w [out, in]). All products go through nas_sgemm (src/tensor/blas.c).
 */
#include "tape-impl.h"

#include <string.h>

/* ---- matmul -------------------------------------------------------------------------------- */

nas_tensor *nas_matmul(nas_tape *t, nas_tensor *a, nas_tensor *b, bool trans_a, bool trans_b) {
    if (!nas_i_ok(t, 2, a, b)) {
        return NULL;
    }
    char sa[64], sb[64];
    if (a->ndim != 2 || b->ndim != 2) {
        return nas_i_fail(t, NAS_ESHAPE, "matmul: a %s and b %s must both be 2-D",
                          nas_shape_str(a, sa, sizeof sa), nas_shape_str(b, sb, sizeof sb));
    }
    const int64_t M = trans_a ? a->shape[1] : a->shape[0];
    const int64_t K = trans_a ? a->shape[0] : a->shape[1];
    const int64_t Kb = trans_b ? b->shape[1] : b->shape[0];
    const int64_t N = trans_b ? b->shape[0] : b->shape[1];
    if (K != Kb) {
        return nas_i_fail(t, NAS_ESHAPE,
                          "matmul: inner dims differ: op(a) of a %s%s has %lld columns, op(b) of "
                          "b %s%s has %lld rows",
                          nas_shape_str(a, sa, sizeof sa), trans_a ? "^T" : "", (long long)K,
                          nas_shape_str(b, sb, sizeof sb), trans_b ? "^T" : "", (long long)Kb);
    }
    nas_tensor *out = nas_tensor_new4(t, 2, M, N, 0, 0);
    if (!out) {
        return NULL;
    }
    nas_sgemm(trans_a, trans_b, M, N, K, 1.0f, a->data, a->shape[1], b->data, b->shape[1], 0.0f,
              out->data, N);
    nas_tensor *in[2] = {a, b};
    nas_node *n = nas_i_record(t, NAS_OP_MATMUL, out, in, 2);
    if (n) {
        n->ip[0] = trans_a;
        n->ip[1] = trans_b;
    }
    return out;
}

void nas_i_matmul_backward(nas_tape *t, nas_node *n) {
    nas_tensor *a = n->in[0], *b = n->in[1];
    const bool ta = n->ip[0] != 0, tb = n->ip[1] != 0;
    const int64_t M = n->out->shape[0], N = n->out->shape[1];
    const int64_t K = ta ? a->shape[0] : a->shape[1];
    const int64_t lda = a->shape[1], ldb = b->shape[1];
    const float *g = n->out->grad; /* dC [M, N] */
    if (nas_i_needs_grad(a)) {
        float *ga = nas_i_grad(t, a);
        if (!ga) {
            return;
        }
        if (!ta) { /* dA [M, K] += dC op(B)^T */
            nas_sgemm(false, !tb, M, K, N, 1.0f, g, N, b->data, ldb, 1.0f, ga, K);
        } else { /* dA [K, M] += op(B) dC^T */
            nas_sgemm(tb, true, K, M, N, 1.0f, b->data, ldb, g, N, 1.0f, ga, M);
        }
    }
    if (nas_i_needs_grad(b)) {
        float *gb = nas_i_grad(t, b);
        if (!gb) {
            return;
        }
        if (!tb) { /* dB [K, N] += op(A)^T dC */
            nas_sgemm(!ta, false, K, N, M, 1.0f, a->data, lda, g, N, 1.0f, gb, N);
        } else { /* dB [N, K] += dC^T op(A) */
            nas_sgemm(true, ta, N, K, M, 1.0f, g, N, a->data, lda, 1.0f, gb, K);
        }
    }
}

/* ---- linear -------------------------------------------------------------------------------- */

nas_tensor *nas_linear(nas_tape *t, nas_tensor *x, nas_tensor *w, nas_tensor *b) {
    if (!nas_i_ok(t, 2, x, w)) {
        return NULL;
    }
    char sx[64], sw[64], sb[64];
    if (w->ndim != 2) {
        return nas_i_fail(t, NAS_ESHAPE, "linear: w %s must be 2-D [out, in]",
                          nas_shape_str(w, sw, sizeof sw));
    }
    const int64_t N = x->shape[0];
    const int64_t in_f = x->numel / N; /* x viewed as [N, in_f] */
    const int64_t out_f = w->shape[0];
    if (in_f != w->shape[1]) {
        return nas_i_fail(t, NAS_ESHAPE,
                          "linear: x %s has %lld features per row but w %s expects %lld",
                          nas_shape_str(x, sx, sizeof sx), (long long)in_f,
                          nas_shape_str(w, sw, sizeof sw), (long long)w->shape[1]);
    }
    if (b && b->numel != out_f) {
        return nas_i_fail(t, NAS_ESHAPE, "linear: bias %s must have %lld elements for w %s",
                          nas_shape_str(b, sb, sizeof sb), (long long)out_f,
                          nas_shape_str(w, sw, sizeof sw));
    }
    nas_tensor *out = nas_tensor_new4(t, 2, N, out_f, 0, 0);
    if (!out) {
        return NULL;
    }
    float *y = out->data; /* [N, out_f] */
    if (b) {
        for (int64_t i = 0; i < N; i++) {
            memcpy(y + i * out_f, b->data, (size_t)out_f * sizeof(float));
        }
    }
    nas_sgemm(false, true, N, out_f, in_f, 1.0f, x->data, in_f, w->data, in_f, b ? 1.0f : 0.0f, y,
              out_f);
    nas_tensor *in[3] = {x, w, b};
    nas_i_record(t, NAS_OP_LINEAR, out, in, 3);
    return out;
}

void nas_i_linear_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    const int64_t N = n->out->shape[0], out_f = n->out->shape[1];
    const int64_t in_f = w->shape[1];
    const float *g = n->out->grad; /* dy [N, out_f] */
    if (nas_i_needs_grad(x)) {     /* dx [N, in_f] += dy w */
        float *gx = nas_i_grad(t, x);
        if (!gx) {
            return;
        }
        nas_sgemm(false, false, N, in_f, out_f, 1.0f, g, out_f, w->data, in_f, 1.0f, gx, in_f);
    }
    if (nas_i_needs_grad(w)) { /* dw [out_f, in_f] += dy^T x */
        float *gw = nas_i_grad(t, w);
        if (!gw) {
            return;
        }
        nas_sgemm(true, false, out_f, in_f, N, 1.0f, g, out_f, x->data, in_f, 1.0f, gw, in_f);
    }
    if (nas_i_needs_grad(b)) { /* db [out_f] += column sums of dy */
        float *gb = nas_i_grad(t, b);
        if (!gb) {
            return;
        }
        for (int64_t i = 0; i < N; i++) {
            const float *gr = g + i * out_f;
            for (int64_t j = 0; j < out_f; j++) {
                gb[j] += gr[j];
            }
        }
    }
}
