/*
 * Shape ops and their backward passes: concat along any axis, slice, tile (numpy.tile with
 * equal ndim) and reshape (a view sharing the input's data, with its own gradient buffer).
 *
 * Tensors are contiguous, so concat and slice see x as [outer, size(axis) * inner] rows and copy
 * row segments; tile copies its innermost dim as whole rows.
 */
#include "tape-impl.h"

#include <string.h>

/* Product of shape[from..to). */
static int64_t dim_prod(const int64_t *shape, int from, int to) {
    int64_t p = 1;
    for (int d = from; d < to; d++) {
        p *= shape[d];
    }
    return p;
}

/* ---- concat -------------------------------------------------------------------------------- */

nas_tensor *nas_concat(nas_tape *t, nas_tensor *const *xs, int n, int axis) {
    if (!nas_i_ok(t, 0)) {
        return NULL;
    }
    if (!xs || n < 1) {
        return nas_i_fail(t, NAS_EINVAL, "concat: need at least one input, got %d", n);
    }
    for (int k = 0; k < n; k++) {
        if (!xs[k]) {
            return nas_i_fail(t, NAS_EINVAL, "concat: input %d is NULL", k);
        }
    }
    const nas_tensor *x0 = xs[0];
    if (axis < 0 || axis >= x0->ndim) {
        return nas_i_fail(t, NAS_ESHAPE, "concat: axis %d is outside 0..%d", axis, x0->ndim - 1);
    }
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        bool ok = xs[k]->ndim == x0->ndim;
        for (int d = 0; ok && d < x0->ndim; d++) {
            ok = d == axis || xs[k]->shape[d] == x0->shape[d];
        }
        if (!ok) {
            char s0[64], sk[64];
            return nas_i_fail(t, NAS_ESHAPE,
                              "concat: input %d has shape %s, which differs from input 0 %s "
                              "outside axis %d",
                              k, nas_shape_str(xs[k], sk, sizeof sk),
                              nas_shape_str(x0, s0, sizeof s0), axis);
        }
        total += xs[k]->shape[axis];
    }
    int64_t shape[NAS_MAX_DIMS];
    memcpy(shape, x0->shape, sizeof shape);
    shape[axis] = total;
    nas_tensor *out = nas_tensor_new(t, x0->ndim, shape);
    if (!out) {
        return NULL;
    }
    const int64_t outer = dim_prod(shape, 0, axis);
    const int64_t inner = dim_prod(shape, axis + 1, x0->ndim);
    const int64_t row = total * inner; /* out is [outer, row] */
    float *o = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(out->numel)) schedule(static)
    for (int64_t r = 0; r < outer; r++) {
        int64_t off = 0;
        for (int k = 0; k < n; k++) {
            int64_t len = xs[k]->shape[axis] * inner; /* xs[k] is [outer, len] */
            memcpy(o + r * row + off, xs[k]->data + r * len, (size_t)len * sizeof(float));
            off += len;
        }
    }
    nas_node *nd = nas_i_record(t, NAS_OP_CONCAT, out, xs, n);
    if (nd) {
        nd->ip[0] = axis;
    }
    return out;
}

void nas_i_concat_backward(nas_tape *t, nas_node *n) {
    const int axis = (int)n->ip[0];
    const nas_tensor *out = n->out;
    const int64_t outer = dim_prod(out->shape, 0, axis);
    const int64_t inner = dim_prod(out->shape, axis + 1, out->ndim);
    const int64_t row = out->shape[axis] * inner;
    const float *g = out->grad;                                /* [outer, row] */
    float **gs = nas_i_alloc(t, (size_t)n->n_in * sizeof *gs); /* input grads or NULL */
    if (!gs) {
        return;
    }
    for (int k = 0; k < n->n_in; k++) {
        gs[k] = NULL;
        if (nas_i_needs_grad(n->in[k]) && !(gs[k] = nas_i_grad(t, n->in[k]))) {
            return;
        }
    }
    nas_tensor *const *in = n->in;
    const int n_in = n->n_in;
#pragma omp parallel for num_threads(nas_i_threads_for(out->numel)) schedule(static)
    for (int64_t r = 0; r < outer; r++) {
        int64_t off = 0;
        for (int k = 0; k < n_in; k++) {
            int64_t len = in[k]->shape[axis] * inner;
            if (gs[k]) {
                float *dk = gs[k] + r * len;
                const float *gr = g + r * row + off;
                for (int64_t i = 0; i < len; i++) {
                    dk[i] += gr[i];
                }
            }
            off += len;
        }
    }
}

/* ---- slice --------------------------------------------------------------------------------- */

nas_tensor *nas_slice(nas_tape *t, nas_tensor *x, int axis, int64_t start, int64_t len) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    if (axis < 0 || axis >= x->ndim) {
        return nas_i_fail(t, NAS_ESHAPE, "slice: axis %d is outside 0..%d", axis, x->ndim - 1);
    }
    if (start < 0 || len < 1 || start > x->shape[axis] - len) {
        char sx[64];
        return nas_i_fail(t, NAS_ESHAPE, "slice: range [%lld, %lld) is not inside axis %d of x %s",
                          (long long)start, (long long)(start + len), axis,
                          nas_shape_str(x, sx, sizeof sx));
    }
    int64_t shape[NAS_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = len;
    nas_tensor *out = nas_tensor_new(t, x->ndim, shape);
    if (!out) {
        return NULL;
    }
    const int64_t outer = dim_prod(x->shape, 0, axis);
    const int64_t inner = dim_prod(x->shape, axis + 1, x->ndim);
    const int64_t in_row = x->shape[axis] * inner; /* x is [outer, in_row] */
    const int64_t out_row = len * inner;           /* out is [outer, out_row] */
    const float *xd = x->data + start * inner;
    float *o = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(out->numel)) schedule(static)
    for (int64_t r = 0; r < outer; r++) {
        memcpy(o + r * out_row, xd + r * in_row, (size_t)out_row * sizeof(float));
    }
    nas_node *n = nas_i_record(t, NAS_OP_SLICE, out, &x, 1);
    if (n) {
        n->ip[0] = axis;
        n->ip[1] = start;
    }
    return out;
}

void nas_i_slice_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    float *gx = nas_i_grad(t, x);
    if (!gx) {
        return;
    }
    const int axis = (int)n->ip[0];
    const int64_t start = n->ip[1];
    const int64_t outer = dim_prod(x->shape, 0, axis);
    const int64_t inner = dim_prod(x->shape, axis + 1, x->ndim);
    const int64_t in_row = x->shape[axis] * inner;
    const int64_t out_row = n->out->shape[axis] * inner;
    const float *g = n->out->grad; /* [outer, out_row] */
    float *gd = gx + start * inner;
#pragma omp parallel for num_threads(nas_i_threads_for(n->out->numel)) schedule(static)
    for (int64_t r = 0; r < outer; r++) {
        float *dr = gd + r * in_row;
        const float *gr = g + r * out_row;
        for (int64_t i = 0; i < out_row; i++) {
            dr[i] += gr[i];
        }
    }
}

/* ---- tile ---------------------------------------------------------------------------------- */

nas_tensor *nas_tile(nas_tape *t, nas_tensor *x, const int64_t *reps) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    if (!reps) {
        return nas_i_fail(t, NAS_EINVAL, "tile: reps is NULL");
    }
    int64_t shape[NAS_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        if (reps[d] < 1) {
            return nas_i_fail(t, NAS_EINVAL, "tile: reps[%d] is %lld, must be at least 1", d,
                              (long long)reps[d]);
        }
        shape[d] = x->shape[d] * reps[d];
    }
    nas_tensor *out = nas_tensor_new(t, x->ndim, shape);
    if (!out) {
        return NULL;
    }
    /* Unused trailing dims are 1 in both, so the loops always run over four dims. */
    const int64_t *s = x->shape;    /* [s0, s1, s2, s3] */
    const int64_t *os = out->shape; /* [os0, os1, os2, os3] */
    const int64_t rows = os[0] * os[1] * os[2];
    const int64_t r3 = os[3] / s[3];
    const float *xd = x->data;
    float *o = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(out->numel)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i2 = r % os[2], i1 = (r / os[2]) % os[1], i0 = r / (os[2] * os[1]);
        const float *src = xd + (((i0 % s[0]) * s[1] + i1 % s[1]) * s[2] + i2 % s[2]) * s[3];
        float *dst = o + r * os[3];
        for (int64_t k = 0; k < r3; k++) {
            memcpy(dst + k * s[3], src, (size_t)s[3] * sizeof(float));
        }
    }
    nas_i_record(t, NAS_OP_TILE, out, &x, 1);
    return out;
}

void nas_i_tile_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    float *gx = nas_i_grad(t, x);
    if (!gx) {
        return;
    }
    const int64_t *s = x->shape;
    const int64_t *os = n->out->shape;
    const int64_t rows = os[0] * os[1] * os[2];
    const int64_t r3 = os[3] / s[3];
    const float *g = n->out->grad;
    /* Several output rows fold onto one input row, so this runs serially. */
    for (int64_t r = 0; r < rows; r++) {
        int64_t i2 = r % os[2], i1 = (r / os[2]) % os[1], i0 = r / (os[2] * os[1]);
        float *dst = gx + (((i0 % s[0]) * s[1] + i1 % s[1]) * s[2] + i2 % s[2]) * s[3];
        const float *src = g + r * os[3];
        for (int64_t k = 0; k < r3; k++) {
            const float *sk = src + k * s[3];
            for (int64_t i = 0; i < s[3]; i++) {
                dst[i] += sk[i];
            }
        }
    }
}

/* ---- reshape ------------------------------------------------------------------------------- */

nas_tensor *nas_reshape(nas_tape *t, nas_tensor *x, int ndim, const int64_t *shape) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    if (!shape || ndim < 1 || ndim > NAS_MAX_DIMS) {
        return nas_i_fail(t, NAS_ESHAPE, "reshape: ndim must be in 1..%d, got %d", NAS_MAX_DIMS,
                          ndim);
    }
    int64_t s[NAS_MAX_DIMS] = {1, 1, 1, 1};
    int infer = -1;
    int64_t known = 1;
    for (int d = 0; d < ndim; d++) {
        s[d] = shape[d];
        if (shape[d] == -1 && infer < 0) {
            infer = d;
        } else if (shape[d] < 1) {
            return nas_i_fail(t, NAS_ESHAPE,
                              "reshape: dimension %d is %lld (sizes must be >= 1, one may be -1)",
                              d, (long long)shape[d]);
        } else {
            known *= shape[d];
        }
    }
    if (infer >= 0) {
        s[infer] = x->numel % known == 0 ? x->numel / known : -1;
    }
    if (s[infer >= 0 ? infer : 0] < 1 || dim_prod(s, 0, ndim) != x->numel) {
        nas_tensor req = {.ndim = ndim}; /* only for the message */
        memcpy(req.shape, shape, (size_t)ndim * sizeof *shape);
        char sx[64], sr[64];
        return nas_i_fail(t, NAS_ESHAPE, "reshape: x %s has %lld elements, which do not fit %s",
                          nas_shape_str(x, sx, sizeof sx), (long long)x->numel,
                          nas_shape_str(&req, sr, sizeof sr));
    }
    nas_tensor *out = nas_i_calloc(t, sizeof *out);
    if (!out) {
        return NULL;
    }
    out->data = x->data; /* a view: same data, its own gradient */
    out->ndim = ndim;
    out->numel = x->numel;
    memcpy(out->shape, s, sizeof s);
    nas_i_record(t, NAS_OP_RESHAPE, out, &x, 1);
    return out;
}

void nas_i_reshape_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    float *gx = nas_i_grad(t, x);
    if (!gx) {
        return;
    }
    const float *g = n->out->grad;
    const int64_t numel = x->numel;
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        gx[i] += g[i];
    }
}
