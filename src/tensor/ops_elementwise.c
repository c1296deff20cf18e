/*
 * Elementwise ops and their backward passes: add and mul with NumPy broadcasting of b into a's
 * shape, the n-ary sum of a cell's edges, scale, relu, sigmoid, tanh and zero.
 *
 * Broadcasting is planned once per call: a's dims are walked together with b's aligned trailing
 * dims, size-1 dims are dropped and neighbouring dims of the same kind (b varies / b broadcast)
 * are merged, leaving at most four alternating runs. The kernels then work on rows of the last
 * run, so the inner loops are plain contiguous loops the compiler vectorises.
 */
#include "tape-impl.h"

#include <math.h>
#include <string.h>

#define EW_CHUNK 4096 /* floats per parallel task in the elementwise loops */

/* ---- broadcasting plan --------------------------------------------------------------------- */

typedef struct bcast_plan {
    int nd;                   /* merged dims, 1..NAS_MAX_DIMS */
    int64_t n[NAS_MAX_DIMS];  /* size of each merged dim */
    bool full[NAS_MAX_DIMS];  /* true: b varies along the dim; false: b is broadcast */
    int64_t sb[NAS_MAX_DIMS]; /* b's stride along each merged dim (0 when broadcast) */
    int64_t inner;            /* n[nd-1]: length of a row */
    int64_t rows;             /* a->numel / inner */
} bcast_plan;

/* False when b does not broadcast to a's shape. */
static bool bcast_make(const nas_tensor *a, const nas_tensor *b, bcast_plan *p) {
    int off = a->ndim - b->ndim;
    for (int d = 0; d < -off; d++) {
        if (b->shape[d] != 1) {
            return false; /* extra leading dims of b must be 1 */
        }
    }
    memset(p, 0, sizeof *p);
    for (int d = 0; d < a->ndim; d++) {
        int64_t na = a->shape[d];
        int64_t nb = d - off >= 0 ? b->shape[d - off] : 1;
        if (nb != na && nb != 1) {
            return false;
        }
        if (na == 1) {
            continue;
        }
        bool full = nb == na;
        if (p->nd > 0 && p->full[p->nd - 1] == full) {
            p->n[p->nd - 1] *= na;
        } else {
            p->n[p->nd] = na;
            p->full[p->nd] = full;
            p->nd++;
        }
    }
    if (p->nd == 0) { /* a has a single element */
        p->nd = 1;
        p->n[0] = 1;
        p->full[0] = true;
    }
    int64_t s = 1;
    for (int d = p->nd - 1; d >= 0; d--) {
        p->sb[d] = p->full[d] ? s : 0;
        if (p->full[d]) {
            s *= p->n[d];
        }
    }
    p->inner = p->n[p->nd - 1];
    p->rows = a->numel / p->inner;
    return true;
}

/* Offset into b of row r (the merged dims before the last). */
static int64_t bcast_row_offset(const bcast_plan *p, int64_t r) {
    int64_t off = 0;
    for (int d = p->nd - 2; d >= 0; d--) {
        off += (r % p->n[d]) * p->sb[d];
        r /= p->n[d];
    }
    return off;
}

typedef enum row_kernel {
    K_ADD,    /* o = a + b */
    K_MUL,    /* o = a * b */
    K_MUL_ACC /* o += a * b */
} row_kernel;

/* One row segment; b is a vector (vec) or the scalar b[0]. */
static void row_apply(row_kernel k, bool vec, int64_t len, const float *a, const float *b,
                      float *o) {
    if (vec) {
        switch (k) {
            case K_ADD:
                for (int64_t i = 0; i < len; i++) {
                    o[i] = a[i] + b[i];
                }
                break;
            case K_MUL:
                for (int64_t i = 0; i < len; i++) {
                    o[i] = a[i] * b[i];
                }
                break;
            case K_MUL_ACC:
                for (int64_t i = 0; i < len; i++) {
                    o[i] += a[i] * b[i];
                }
                break;
        }
    } else {
        const float bv = b[0];
        switch (k) {
            case K_ADD:
                for (int64_t i = 0; i < len; i++) {
                    o[i] = a[i] + bv;
                }
                break;
            case K_MUL:
                for (int64_t i = 0; i < len; i++) {
                    o[i] = a[i] * bv;
                }
                break;
            case K_MUL_ACC:
                for (int64_t i = 0; i < len; i++) {
                    o[i] += a[i] * bv;
                }
                break;
        }
    }
}

/* o[a's shape] (op)= a (op) broadcast(b), parallel over row chunks. */
static void bcast_run(const bcast_plan *p, row_kernel k, const float *a, const float *b, float *o) {
    const int64_t inner = p->inner;
    const int64_t cpr = (inner + EW_CHUNK - 1) / EW_CHUNK; /* chunks per row */
    const int64_t ntask = p->rows * cpr;
    const bool vec = p->full[p->nd - 1];
#pragma omp parallel for num_threads(nas_i_threads_for(p->rows *inner)) schedule(static)
    for (int64_t tk = 0; tk < ntask; tk++) {
        int64_t r = tk / cpr;
        int64_t c0 = (tk % cpr) * EW_CHUNK;
        int64_t len = inner - c0 < EW_CHUNK ? inner - c0 : EW_CHUNK;
        int64_t ia = r * inner + c0;
        int64_t ib = bcast_row_offset(p, r) + (vec ? c0 : 0);
        row_apply(k, vec, len, a + ia, b + ib, o + ia);
    }
}

/* gb[b's shape] += sum over the broadcast dims of g (times a when a != NULL). */
static void bcast_reduce(nas_tape *t, const bcast_plan *p, const float *g, const float *a,
                         float *gb) {
    const int64_t inner = p->inner;
    const int64_t rows = p->rows;
    const int64_t numel = rows * inner;
    const int nt = nas_i_threads_for(numel);
    if (p->full[p->nd - 1]) {
        if (p->nd == 1) { /* same shape: one-to-one */
#pragma omp parallel for num_threads(nt) schedule(static)
            for (int64_t i = 0; i < numel; i++) {
                gb[i] += a ? g[i] * a[i] : g[i];
            }
            return;
        }
        /* Rows share b's elements: split the columns between threads instead. */
        const int64_t nchunk = (inner + 255) / 256;
#pragma omp parallel for num_threads(nchunk > 1 ? nt : 1) schedule(static)
        for (int64_t c = 0; c < nchunk; c++) {
            int64_t c0 = c * 256;
            int64_t len = inner - c0 < 256 ? inner - c0 : 256;
            for (int64_t r = 0; r < rows; r++) {
                const float *gr = g + r * inner + c0;
                float *br = gb + bcast_row_offset(p, r) + c0;
                if (a) {
                    const float *ar = a + r * inner + c0;
                    for (int64_t i = 0; i < len; i++) {
                        br[i] += gr[i] * ar[i];
                    }
                } else {
                    for (int64_t i = 0; i < len; i++) {
                        br[i] += gr[i];
                    }
                }
            }
        }
        return;
    }
    if (rows == 1) { /* b is a scalar */
        double s = 0.0;
#pragma omp parallel for simd num_threads(nt) schedule(static) reduction(+ : s)
        for (int64_t i = 0; i < numel; i++) {
            s += (double)(a ? g[i] * a[i] : g[i]);
        }
        gb[0] += (float)s;
        return;
    }
    /* Broadcast innermost run: reduce each row in parallel, then scatter the row sums. */
    float *rs = nas_i_alloc(t, (size_t)rows * sizeof(float)); /* [rows] */
    if (!rs) {
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *gr = g + r * inner;
        float s = 0.0f;
        if (a) {
            const float *ar = a + r * inner;
#pragma omp simd reduction(+ : s)
            for (int64_t i = 0; i < inner; i++) {
                s += gr[i] * ar[i];
            }
        } else {
#pragma omp simd reduction(+ : s)
            for (int64_t i = 0; i < inner; i++) {
                s += gr[i];
            }
        }
        rs[r] = s;
    }
    for (int64_t r = 0; r < rows; r++) {
        gb[bcast_row_offset(p, r)] += rs[r];
    }
}

/* d[0..n) = s (assign) or d += s, parallel: passing a gradient through unchanged. */
static void grad_pass(float *restrict d, const float *restrict s, int64_t n, bool assign) {
    if (assign) {
#pragma omp parallel for num_threads(nas_i_threads_for(n)) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            d[i] = s[i];
        }
        return;
    }
#pragma omp parallel for num_threads(nas_i_threads_for(n)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        d[i] += s[i];
    }
}

/* ---- add / mul ----------------------------------------------------------------------------- */

static nas_tensor *binary_forward(nas_tape *t, nas_op op, nas_tensor *a, nas_tensor *b) {
    const char *name = op == NAS_OP_ADD ? "add" : "mul";
    if (!nas_i_ok(t, 2, a, b)) {
        return NULL;
    }
    bcast_plan p;
    if (!bcast_make(a, b, &p)) {
        char sa[64], sb[64];
        return nas_i_fail(t, NAS_ESHAPE, "%s: b %s does not broadcast to a %s", name,
                          nas_shape_str(b, sb, sizeof sb), nas_shape_str(a, sa, sizeof sa));
    }
    nas_tensor *out = nas_tensor_new(t, a->ndim, a->shape);
    if (!out) {
        return NULL;
    }
    bcast_run(&p, op == NAS_OP_ADD ? K_ADD : K_MUL, a->data, b->data, out->data);
    nas_tensor *in[2] = {a, b};
    nas_i_record(t, op, out, in, 2);
    return out;
}

nas_tensor *nas_add(nas_tape *t, nas_tensor *a, nas_tensor *b) {
    return binary_forward(t, NAS_OP_ADD, a, b);
}

nas_tensor *nas_mul(nas_tape *t, nas_tensor *a, nas_tensor *b) {
    return binary_forward(t, NAS_OP_MUL, a, b);
}

void nas_i_add_backward(nas_tape *t, nas_node *n) {
    nas_tensor *a = n->in[0], *b = n->in[1];
    const float *g = n->out->grad; /* [a's shape] */
    const int64_t numel = n->out->numel;
    if (nas_i_needs_grad(a)) {
        bool assign;
        float *ga = nas_i_grad_fresh(t, a, &assign);
        if (!ga) {
            return;
        }
        grad_pass(ga, g, numel, assign);
    }
    if (nas_i_needs_grad(b)) {
        bcast_plan p;
        if (!bcast_make(a, b, &p)) {
            return;
        }
        if (p.nd == 1 && p.full[0]) { /* same shape: b's gradient is g itself */
            bool assign;
            float *gb = nas_i_grad_fresh(t, b, &assign);
            if (gb) {
                grad_pass(gb, g, numel, assign);
            }
            return;
        }
        float *gb = nas_i_grad(t, b);
        if (gb) {
            bcast_reduce(t, &p, g, NULL, gb);
        }
    }
}

void nas_i_mul_backward(nas_tape *t, nas_node *n) {
    nas_tensor *a = n->in[0], *b = n->in[1];
    const float *g = n->out->grad; /* [a's shape] */
    bcast_plan p;
    if (!bcast_make(a, b, &p)) {
        return;
    }
    if (nas_i_needs_grad(a)) {
        float *ga = nas_i_grad(t, a);
        if (!ga) {
            return;
        }
        bcast_run(&p, K_MUL_ACC, g, b->data, ga);
    }
    if (nas_i_needs_grad(b)) {
        float *gb = nas_i_grad(t, b);
        if (!gb) {
            return;
        }
        bcast_reduce(t, &p, g, a->data, gb);
    }
}

/* ---- n-ary sum ----------------------------------------------------------------------------- */

static bool same_shape(const nas_tensor *a, const nas_tensor *b) {
    if (a->ndim != b->ndim) {
        return false;
    }
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] != b->shape[d]) {
            return false;
        }
    }
    return true;
}

nas_tensor *nas_sum(nas_tape *t, nas_tensor *const *xs, int n) {
    if (!nas_i_ok(t, 0)) {
        return NULL;
    }
    if (!xs || n < 1) {
        return nas_i_fail(t, NAS_EINVAL, "sum: need at least one input, got %d", n);
    }
    for (int k = 0; k < n; k++) {
        if (!xs[k]) {
            return nas_i_fail(t, NAS_EINVAL, "sum: input %d is NULL", k);
        }
        if (!same_shape(xs[0], xs[k])) {
            char s0[64], sk[64];
            return nas_i_fail(t, NAS_ESHAPE, "sum: input %d has shape %s, input 0 has %s", k,
                              nas_shape_str(xs[k], sk, sizeof sk),
                              nas_shape_str(xs[0], s0, sizeof s0));
        }
    }
    nas_tensor *out = nas_tensor_new(t, xs[0]->ndim, xs[0]->shape);
    if (!out) {
        return NULL;
    }
    const int64_t numel = out->numel;
    const int64_t nblk = (numel + EW_CHUNK - 1) / EW_CHUNK;
    float *o = out->data;
    /* One pass over memory: each chunk of the output is built while it sits in L1. */
#pragma omp parallel for num_threads(nas_i_threads_for(numel *n)) schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t i0 = blk * EW_CHUNK;
        int64_t len = numel - i0 < EW_CHUNK ? numel - i0 : EW_CHUNK;
        float *ob = o + i0;
        const float *x0 = xs[0]->data + i0;
        if (n == 1) {
            memcpy(ob, x0, (size_t)len * sizeof(float));
            continue;
        }
        const float *x1 = xs[1]->data + i0;
        for (int64_t i = 0; i < len; i++) {
            ob[i] = x0[i] + x1[i];
        }
        for (int k = 2; k < n; k++) {
            const float *xk = xs[k]->data + i0;
            for (int64_t i = 0; i < len; i++) {
                ob[i] += xk[i];
            }
        }
    }
    nas_i_record(t, NAS_OP_SUM, out, xs, n);
    return out;
}

void nas_i_sum_backward(nas_tape *t, nas_node *n) {
    const float *g = n->out->grad; /* [out's shape] */
    const int64_t numel = n->out->numel;
    float **gs = nas_i_alloc(t, (size_t)n->n_in * sizeof *gs); /* grads of the inputs, or NULL */
    bool *assign = nas_i_alloc(t, (size_t)n->n_in * sizeof *assign); /* fresh buffer: store */
    if (!gs || !assign) {
        return;
    }
    int n_need = 0;
    for (int k = 0; k < n->n_in; k++) {
        gs[k] = NULL;
        assign[k] = false;
    }
    /* Fresh buffers are requested one by one: an input listed twice gets a fresh buffer for its
     * first slot and accumulates in the second, which the chunk loop below writes in order. */
    for (int k = 0; k < n->n_in; k++) {
        if (nas_i_needs_grad(n->in[k])) {
            gs[k] = nas_i_grad_fresh(t, n->in[k], &assign[k]);
            if (!gs[k]) {
                for (int j = 0; j < k; j++) { /* keep fresh buffers defined on failure */
                    if (assign[j]) {
                        memset(gs[j], 0, (size_t)numel * sizeof(float));
                    }
                }
                return;
            }
            n_need++;
        }
    }
    const int64_t nblk = (numel + EW_CHUNK - 1) / EW_CHUNK;
    const int n_in = n->n_in;
#pragma omp parallel for num_threads(nas_i_threads_for(numel *n_need)) schedule(static)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t i0 = blk * EW_CHUNK;
        int64_t len = numel - i0 < EW_CHUNK ? numel - i0 : EW_CHUNK;
        const float *gb = g + i0;
        for (int k = 0; k < n_in; k++) {
            if (!gs[k]) {
                continue;
            }
            float *dk = gs[k] + i0;
            if (assign[k]) {
                memcpy(dk, gb, (size_t)len * sizeof(float));
            } else {
                for (int64_t i = 0; i < len; i++) {
                    dk[i] += gb[i];
                }
            }
        }
    }
}

/* ---- unary ops ----------------------------------------------------------------------------- */

nas_tensor *nas_scale(nas_tape *t, nas_tensor *a, float s) {
    if (!nas_i_ok(t, 1, a)) {
        return NULL;
    }
    nas_tensor *out = nas_tensor_new(t, a->ndim, a->shape);
    if (!out) {
        return NULL;
    }
    const int64_t numel = a->numel;
    const float *x = a->data;
    float *y = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        y[i] = s * x[i];
    }
    nas_node *n = nas_i_record(t, NAS_OP_SCALE, out, &a, 1);
    if (n) {
        n->fp[0] = s;
    }
    return out;
}

void nas_i_scale_backward(nas_tape *t, nas_node *n) {
    nas_tensor *a = n->in[0];
    if (!nas_i_needs_grad(a)) {
        return;
    }
    bool assign;
    float *ga = nas_i_grad_fresh(t, a, &assign);
    if (!ga) {
        return;
    }
    const float s = n->fp[0];
    const float *g = n->out->grad;
    const int64_t numel = a->numel;
    if (assign) {
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
        for (int64_t i = 0; i < numel; i++) {
            ga[i] = s * g[i];
        }
        return;
    }
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        ga[i] += s * g[i];
    }
}

nas_tensor *nas_relu(nas_tape *t, nas_tensor *x) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    nas_tensor *out = nas_tensor_new(t, x->ndim, x->shape);
    if (!out) {
        return NULL;
    }
    const int64_t numel = x->numel;
    const float *xi = x->data;
    float *y = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        y[i] = xi[i] < 0.0f ? 0.0f : xi[i]; /* NaN passes through, as in PyTorch */
    }
    nas_i_record(t, NAS_OP_RELU, out, &x, 1);
    return out;
}

void nas_i_relu_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    bool assign;
    float *gx = nas_i_grad_fresh(t, x, &assign);
    if (!gx) {
        return;
    }
    const float *y = n->out->data; /* the output tells where x > 0 */
    const float *g = n->out->grad;
    const int64_t numel = x->numel;
    if (assign) {
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
        for (int64_t i = 0; i < numel; i++) {
            gx[i] = y[i] > 0.0f ? g[i] : 0.0f;
        }
        return;
    }
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        gx[i] += y[i] > 0.0f ? g[i] : 0.0f;
    }
}

nas_tensor *nas_sigmoid(nas_tape *t, nas_tensor *x) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    nas_tensor *out = nas_tensor_new(t, x->ndim, x->shape);
    if (!out) {
        return NULL;
    }
    const int64_t numel = x->numel;
    const float *xi = x->data;
    float *y = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        float e = expf(-fabsf(xi[i])); /* never overflows */
        float r = 1.0f / (1.0f + e);
        y[i] = xi[i] >= 0.0f ? r : e * r;
    }
    nas_i_record(t, NAS_OP_SIGMOID, out, &x, 1);
    return out;
}

void nas_i_sigmoid_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    float *gx = nas_i_grad(t, x);
    if (!gx) {
        return;
    }
    const float *y = n->out->data;
    const float *g = n->out->grad;
    const int64_t numel = x->numel;
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        gx[i] += g[i] * y[i] * (1.0f - y[i]);
    }
}

nas_tensor *nas_tanh(nas_tape *t, nas_tensor *x) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    nas_tensor *out = nas_tensor_new(t, x->ndim, x->shape);
    if (!out) {
        return NULL;
    }
    const int64_t numel = x->numel;
    const float *xi = x->data;
    float *y = out->data;
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        y[i] = tanhf(xi[i]);
    }
    nas_i_record(t, NAS_OP_TANH, out, &x, 1);
    return out;
}

void nas_i_tanh_backward(nas_tape *t, nas_node *n) {
    nas_tensor *x = n->in[0];
    if (!nas_i_needs_grad(x)) {
        return;
    }
    float *gx = nas_i_grad(t, x);
    if (!gx) {
        return;
    }
    const float *y = n->out->data;
    const float *g = n->out->grad;
    const int64_t numel = x->numel;
#pragma omp parallel for num_threads(nas_i_threads_for(numel)) schedule(static)
    for (int64_t i = 0; i < numel; i++) {
        gx[i] += g[i] * (1.0f - y[i] * y[i]);
    }
}

/*
 * Zero is a constant: no node is recorded and the output does not require a gradient, so
 * nothing downstream spends a backward pass on it (NB201 cells are full of "none" edges).
 */
nas_tensor *nas_zero(nas_tape *t, nas_tensor *x) {
    if (!nas_i_ok(t, 1, x)) {
        return NULL;
    }
    return nas_tensor_zeros(t, x->ndim, x->shape);
}
