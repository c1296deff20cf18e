/*
 * The autodiff tape: node recording, sticky errors, gradient buffers and the backward walk.
 */
#include "tape-impl.h"

#include <stdio.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const op_names[NAS_OP_COUNT] = {
    [NAS_OP_CONV2D] = "conv2d",
    [NAS_OP_MATMUL] = "matmul",
    [NAS_OP_LINEAR] = "linear",
    [NAS_OP_ADD] = "add",
    [NAS_OP_MUL] = "mul",
    [NAS_OP_SCALE] = "scale",
    [NAS_OP_CONCAT] = "concat",
    [NAS_OP_SLICE] = "slice",
    [NAS_OP_TILE] = "tile",
    [NAS_OP_RESHAPE] = "reshape",
    [NAS_OP_RELU] = "relu",
    [NAS_OP_SIGMOID] = "sigmoid",
    [NAS_OP_TANH] = "tanh",
    [NAS_OP_BATCHNORM] = "batchnorm",
    [NAS_OP_LAYERNORM] = "layernorm",
    [NAS_OP_AVGPOOL] = "avgpool2d",
    [NAS_OP_MAXPOOL] = "maxpool2d",
    [NAS_OP_GAP] = "global_avgpool",
    [NAS_OP_EMBEDDING] = "embedding",
    [NAS_OP_SOFTMAX_CE] = "softmax_cross_entropy",
    [NAS_OP_ZERO] = "zero",
    [NAS_OP_SUM] = "sum",
};

_Static_assert(NAS_OP_COUNT == 22, "add the new op to op_names and to the backward switch");

const char *nas_op_name(nas_op op) {
    if ((int)op < 0 || op >= NAS_OP_COUNT) {
        return "unknown";
    }
    return op_names[op];
}

/* ---- tape lifetime ------------------------------------------------------------------------- */

nas_status nas_tape_init(nas_tape *t) {
    memset(t, 0, sizeof *t);
    t->record = true;
    return nas_arena_init(&t->arena, 0);
}

void nas_tape_free(nas_tape *t) {
    nas_arena_free(&t->arena);
    nas_free(t->nodes);
    memset(t, 0, sizeof *t);
}

void nas_tape_reset(nas_tape *t) {
    nas_arena_reset(&t->arena);
    t->n_nodes = 0;
    t->status = NAS_OK;
    t->errmsg[0] = '\0';
}

bool nas_tape_set_record(nas_tape *t, bool on) {
    bool prev = t->record;
    t->record = on;
    return prev;
}

nas_status nas_tape_status(nas_tape *t) {
    if (t->status != NAS_OK) {
        nas_error(t->status, "%s", t->errmsg);
    }
    return t->status;
}

/* ---- helpers for op files ------------------------------------------------------------------ */

static void tape_set_error(nas_tape *t, nas_status s) {
    if (t->status == NAS_OK) {
        t->status = s;
        snprintf(t->errmsg, sizeof t->errmsg, "%s", nas_errmsg());
    }
}

bool nas_i_ok(nas_tape *t, int n, ...) {
    if (t->status != NAS_OK) {
        return false;
    }
    va_list ap;
    va_start(ap, n);
    bool ok = true;
    for (int i = 0; i < n; i++) {
        if (!va_arg(ap, nas_tensor *)) {
            ok = false;
        }
    }
    va_end(ap);
    if (!ok) {
        nas_error(NAS_EINVAL, "op input is NULL");
        tape_set_error(t, NAS_EINVAL);
    }
    return ok;
}

nas_tensor *nas_i_fail(nas_tape *t, nas_status s, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nas_error(s, "%s", msg);
    tape_set_error(t, s);
    return NULL;
}

void *nas_i_alloc(nas_tape *t, size_t bytes) {
    void *p = nas_arena_alloc(&t->arena, bytes);
    if (!p) {
        tape_set_error(t, NAS_ENOMEM);
    }
    return p;
}

void *nas_i_calloc(nas_tape *t, size_t bytes) {
    void *p = nas_arena_calloc(&t->arena, bytes);
    if (!p) {
        tape_set_error(t, NAS_ENOMEM);
    }
    return p;
}

nas_node *nas_i_record(nas_tape *t, nas_op op, nas_tensor *out, nas_tensor *const *in, int n_in) {
    if (!t->record) {
        return NULL;
    }
    bool any = false;
    for (int i = 0; i < n_in; i++) {
        any = any || nas_i_needs_grad(in[i]);
    }
    if (!any) {
        return NULL;
    }
    if (t->n_nodes == t->cap_nodes) {
        size_t cap = t->cap_nodes ? 2 * t->cap_nodes : 256;
        nas_node **nodes = nas_realloc(t->nodes, cap * sizeof *nodes);
        if (!nodes) {
            nas_i_fail(t, NAS_ENOMEM, "tape: cannot grow node list to %zu entries", cap);
            return NULL;
        }
        t->nodes = nodes;
        t->cap_nodes = cap;
    }
    nas_node *n = nas_i_calloc(t, sizeof *n);
    nas_tensor **ins = nas_i_alloc(t, (size_t)n_in * sizeof *ins);
    if (!n || !ins) {
        return NULL;
    }
    memcpy(ins, in, (size_t)n_in * sizeof *ins);
    n->op = op;
    n->n_in = n_in;
    n->in = ins;
    n->out = out;
    out->flags |= NAS_TENSOR_REQUIRES_GRAD;
    t->nodes[t->n_nodes++] = n;
    return n;
}

float *nas_i_grad(nas_tape *t, nas_tensor *x) {
    if (!x->grad) {
        x->grad = nas_i_calloc(t, (size_t)x->numel * sizeof(float));
    }
    return x->grad;
}

float *nas_i_grad_fresh(nas_tape *t, nas_tensor *x, bool *assign) {
    *assign = false;
    if (!x->grad) {
        x->grad = nas_i_alloc(t, (size_t)x->numel * sizeof(float));
        *assign = x->grad != NULL;
    }
    return x->grad;
}

int nas_i_threads_for(int64_t work) {
    if (work < 32768) {
        return 1;
    }
#ifdef _OPENMP
    if (omp_in_parallel()) {
        return 1;
    }
#endif
    return nas_get_threads();
}

/* ---- backward ------------------------------------------------------------------------------ */

static void node_backward(nas_tape *t, nas_node *n) {
    switch (n->op) {
        case NAS_OP_CONV2D:
            nas_i_conv2d_backward(t, n);
            break;
        case NAS_OP_MATMUL:
            nas_i_matmul_backward(t, n);
            break;
        case NAS_OP_LINEAR:
            nas_i_linear_backward(t, n);
            break;
        case NAS_OP_ADD:
            nas_i_add_backward(t, n);
            break;
        case NAS_OP_MUL:
            nas_i_mul_backward(t, n);
            break;
        case NAS_OP_SUM:
            nas_i_sum_backward(t, n);
            break;
        case NAS_OP_SCALE:
            nas_i_scale_backward(t, n);
            break;
        case NAS_OP_CONCAT:
            nas_i_concat_backward(t, n);
            break;
        case NAS_OP_SLICE:
            nas_i_slice_backward(t, n);
            break;
        case NAS_OP_TILE:
            nas_i_tile_backward(t, n);
            break;
        case NAS_OP_RESHAPE:
            nas_i_reshape_backward(t, n);
            break;
        case NAS_OP_RELU:
            nas_i_relu_backward(t, n);
            break;
        case NAS_OP_SIGMOID:
            nas_i_sigmoid_backward(t, n);
            break;
        case NAS_OP_TANH:
            nas_i_tanh_backward(t, n);
            break;
        case NAS_OP_BATCHNORM:
            nas_i_batchnorm_backward(t, n);
            break;
        case NAS_OP_LAYERNORM:
            nas_i_layernorm_backward(t, n);
            break;
        case NAS_OP_AVGPOOL:
            nas_i_avgpool_backward(t, n);
            break;
        case NAS_OP_MAXPOOL:
            nas_i_maxpool_backward(t, n);
            break;
        case NAS_OP_GAP:
            nas_i_gap_backward(t, n);
            break;
        case NAS_OP_EMBEDDING:
            nas_i_embedding_backward(t, n);
            break;
        case NAS_OP_SOFTMAX_CE:
            nas_i_softmax_ce_backward(t, n);
            break;
        case NAS_OP_ZERO: /* no gradient flows through zero */
            break;
        default:
            nas_abort(__FILE__, __LINE__, "op without a backward case");
    }
}

static nas_status run_backward(nas_tape *t) {
    for (size_t i = t->n_nodes; i-- > 0;) {
        nas_node *n = t->nodes[i];
        if (!n->out->grad) {
            continue; /* no gradient reached this node */
        }
        node_backward(t, n);
        if (t->status != NAS_OK) {
            return nas_tape_status(t);
        }
    }
    return NAS_OK;
}

nas_status nas_tape_backward(nas_tape *t, nas_tensor *loss) {
    if (t->status != NAS_OK) {
        return nas_tape_status(t);
    }
    if (!loss || loss->numel != 1) {
        return nas_error(NAS_EINVAL, "backward: loss must be a tensor with one element");
    }
    float one = 1.0f;
    return nas_tape_backward_from(t, loss, &one);
}

nas_status nas_tape_backward_from(nas_tape *t, nas_tensor *out, const float *dout) {
    if (t->status != NAS_OK) {
        return nas_tape_status(t);
    }
    if (!out) {
        return nas_error(NAS_EINVAL, "backward: output tensor is NULL");
    }
    /* Gradients of intermediate values belong to one backward pass: a second pass over the same
     * tape (or over a later graph recorded on it) must not re-add the first pass's gradients.
     * Leaves and parameters keep accumulating. The first pass finds every buffer still NULL. */
    for (size_t i = 0; i < t->n_nodes; i++) {
        nas_tensor *o = t->nodes[i]->out;
        if (o->grad) {
            memset(o->grad, 0, (size_t)o->numel * sizeof(float));
        }
    }
    if (!nas_i_needs_grad(out)) {
        return nas_error(NAS_EINVAL,
                         "backward: the output does not depend on anything that requires a "
                         "gradient (did you forget to finalize parameters or enable recording?)");
    }
    bool assign;
    float *g = nas_i_grad_fresh(t, out, &assign);
    if (!g) {
        return nas_tape_status(t);
    }
    for (int64_t i = 0; i < out->numel; i++) {
        g[i] = assign ? dout[i] : g[i] + dout[i];
    }
    return run_backward(t);
}
