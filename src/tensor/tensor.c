/*
 * Tensor creation in the tape arena, shape formatting, and persistent parameter blocks.
 */
#include "tape-impl.h"

#include <stdio.h>
#include <string.h>

/* ---- step tensors -------------------------------------------------------------------------- */

nas_tensor *nas_tensor_new(nas_tape *t, int ndim, const int64_t *shape) {
    if (t->status != NAS_OK) {
        return NULL;
    }
    if (ndim < 1 || ndim > NAS_MAX_DIMS) {
        return nas_i_fail(t, NAS_ESHAPE, "tensor: ndim must be in 1..%d, got %d", NAS_MAX_DIMS,
                          ndim);
    }
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1) {
            return nas_i_fail(t, NAS_ESHAPE, "tensor: dimension %d has size %lld", d,
                              (long long)shape[d]);
        }
        numel *= shape[d];
    }
    nas_tensor *x = nas_i_calloc(t, sizeof *x);
    float *data = nas_i_alloc(t, (size_t)numel * sizeof(float));
    if (!x || !data) {
        return NULL;
    }
    x->data = data;
    x->ndim = ndim;
    x->numel = numel;
    for (int d = 0; d < NAS_MAX_DIMS; d++) {
        x->shape[d] = d < ndim ? shape[d] : 1;
    }
    return x;
}

nas_tensor *nas_tensor_zeros(nas_tape *t, int ndim, const int64_t *shape) {
    nas_tensor *x = nas_tensor_new(t, ndim, shape);
    if (x) {
        memset(x->data, 0, (size_t)x->numel * sizeof(float));
    }
    return x;
}

nas_tensor *nas_tensor_from(nas_tape *t, int ndim, const int64_t *shape, const float *src) {
    nas_tensor *x = nas_tensor_new(t, ndim, shape);
    if (x) {
        memcpy(x->data, src, (size_t)x->numel * sizeof(float));
    }
    return x;
}

nas_tensor *nas_tensor_new4(nas_tape *t, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    int64_t shape[NAS_MAX_DIMS] = {d0, d1, d2, d3};
    return nas_tensor_new(t, ndim, shape);
}

nas_status nas_tensor_require_grad(nas_tape *t, nas_tensor *x) {
    if (!x) {
        return nas_error(NAS_EINVAL, "require_grad: tensor is NULL");
    }
    x->flags |= NAS_TENSOR_REQUIRES_GRAD;
    if (!nas_i_grad(t, x)) {
        return nas_tape_status(t);
    }
    return NAS_OK;
}

char *nas_shape_str(const nas_tensor *t, char *buf, size_t cap) {
    size_t off = 0;
    off += (size_t)snprintf(buf + off, cap - off, "[");
    for (int d = 0; d < t->ndim && off < cap; d++) {
        off +=
            (size_t)snprintf(buf + off, cap - off, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    }
    if (off < cap) {
        snprintf(buf + off, cap - off, "]");
    }
    return buf;
}

/* ---- parameters ---------------------------------------------------------------------------- */

nas_status nas_params_init(nas_params *p) {
    memset(p, 0, sizeof *p);
    return NAS_OK;
}

void nas_params_free(nas_params *p) {
    for (size_t i = 0; i < p->count; i++) {
        nas_free(p->tensors[i]); /* the name lives in the same allocation */
    }
    nas_free(p->tensors);
    nas_free(p->data);
    nas_free(p->grad);
    memset(p, 0, sizeof *p);
}

nas_tensor *nas_params_add(nas_params *p, const char *name, int ndim, const int64_t *shape,
                           uint32_t flags) {
    if (p->finalized) {
        nas_error(NAS_EINVAL, "params: cannot add '%s' after finalize", name);
        return NULL;
    }
    if (ndim < 1 || ndim > NAS_MAX_DIMS) {
        nas_error(NAS_ESHAPE, "params: '%s' has ndim %d", name, ndim);
        return NULL;
    }
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1) {
            nas_error(NAS_ESHAPE, "params: '%s' dimension %d has size %lld", name, d,
                      (long long)shape[d]);
            return NULL;
        }
        numel *= shape[d];
    }
    if (p->count == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        nas_tensor **v = nas_realloc(p->tensors, cap * sizeof *v);
        if (!v) {
            nas_error(NAS_ENOMEM, "params: cannot grow the parameter list");
            return NULL;
        }
        p->tensors = v;
        p->cap = cap;
    }
    size_t len = strlen(name) + 1;
    nas_tensor *x = nas_calloc(1, sizeof *x + len); /* tensor followed by its name */
    if (!x) {
        nas_error(NAS_ENOMEM, "params: cannot allocate '%s'", name);
        return NULL;
    }
    char *nm = (char *)(x + 1);
    memcpy(nm, name, len);
    x->name = nm;
    x->ndim = ndim;
    x->numel = numel;
    for (int d = 0; d < NAS_MAX_DIMS; d++) {
        x->shape[d] = d < ndim ? shape[d] : 1;
    }
    x->flags = flags | NAS_TENSOR_PARAM | NAS_TENSOR_REQUIRES_GRAD;
    p->tensors[p->count++] = x;
    p->numel += numel;
    return x;
}

nas_status nas_params_finalize(nas_params *p) {
    if (p->finalized) {
        return nas_error(NAS_EINVAL, "params: finalize called twice");
    }
    p->data = nas_calloc((size_t)p->numel, sizeof(float));
    p->grad = nas_calloc((size_t)p->numel, sizeof(float));
    if (!p->data || !p->grad) {
        nas_free(p->data);
        nas_free(p->grad);
        p->data = p->grad = NULL;
        return nas_error(NAS_ENOMEM, "params: cannot allocate %lld floats", (long long)p->numel);
    }
    int64_t off = 0;
    for (size_t i = 0; i < p->count; i++) {
        p->tensors[i]->data = p->data + off;
        p->tensors[i]->grad = p->grad + off;
        off += p->tensors[i]->numel;
    }
    p->finalized = true;
    return NAS_OK;
}

void nas_params_zero_grad(nas_params *p) {
    if (p->grad) {
        memset(p->grad, 0, (size_t)p->numel * sizeof(float));
    }
}

nas_tensor *nas_params_find(const nas_params *p, const char *name) {
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->tensors[i]->name, name) == 0) {
            return p->tensors[i];
        }
    }
    return NULL;
}
