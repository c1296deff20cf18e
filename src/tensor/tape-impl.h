/*
 * Private interface between the tape and the op files (src/tensor/ops_*.c).
 *
 * An op file implements the public forward function and one backward function per op,
 * declared here and dispatched by the switch in tape.c. Forward functions follow one shape:
 *
 *     if (!nas_i_ok(t, 2, x, w)) return NULL;          // sticky error or NULL input
 *     ...validate shapes -> return nas_i_fail(t, NAS_ESHAPE, "...");
 *     nas_tensor *out = nas_tensor_new(t, ...);         // NULL + sticky error on OOM
 *     ...compute...
 *     nas_node *n = nas_i_record(t, NAS_OP_X, out, in, n_in);  // NULL when nothing to record
 *     if (n) { ...save what backward needs in n->ip/n->fp/n->saved... }
 *
 * Backward functions ACCUMULATE into nas_i_grad(t, in) for inputs with REQUIRES_GRAD.
 */
#pragma once

#include "ghnas/tensor.h"

#define NAS_NODE_IP 10 /* integer parameters per node */
#define NAS_NODE_FP 4  /* float parameters per node */

struct nas_node {
    nas_op op;               /* which backward to run */
    int n_in;                /* number of inputs */
    nas_tensor **in;         /* inputs (arena array of n_in pointers) */
    nas_tensor *out;         /* output */
    void *saved;             /* op-specific saved state (arena) */
    void *saved2;            /* second op-specific buffer (arena) */
    int64_t ip[NAS_NODE_IP]; /* integer op parameters */
    float fp[NAS_NODE_FP];   /* float op parameters */
};

/* True when the tape has no sticky error and all `n` tensors are non-NULL. */
bool nas_i_ok(nas_tape *t, int n, ...);
/* Record a failure on the tape (first one wins), set nas_errmsg and return NULL. */
nas_tensor *nas_i_fail(nas_tape *t, nas_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Arena allocation that records NAS_ENOMEM on the tape on failure. */
void *nas_i_alloc(nas_tape *t, size_t bytes);
void *nas_i_calloc(nas_tape *t, size_t bytes);
/* Append a node when recording and some input requires grad; marks out REQUIRES_GRAD.
 * Returns NULL when there is nothing to record (or on OOM, which is recorded on the tape). */
nas_node *nas_i_record(nas_tape *t, nas_op op, nas_tensor *out, nas_tensor *const *in, int n_in);
/* Gradient buffer of x, allocated zeroed in the arena on first use. NULL on OOM (recorded). */
float *nas_i_grad(nas_tape *t, nas_tensor *x);
/* Gradient buffer of x for a backward function that writes EVERY element of it. When x has no
 * buffer yet, one is allocated uninitialised and *assign is set to true: the caller must then
 * store (=) each element instead of accumulating (+=), which saves the zero fill and one read
 * of the buffer. Otherwise *assign is false and the caller accumulates as usual. A caller that
 * cannot complete after this call (say its scratch allocation fails) must zero a fresh buffer
 * before returning, or get its scratch first. NULL on OOM (recorded). */
float *nas_i_grad_fresh(nas_tape *t, nas_tensor *x, bool *assign);
/* Does x need a gradient? */
static inline bool nas_i_needs_grad(const nas_tensor *x) {
    return x && (x->flags & NAS_TENSOR_REQUIRES_GRAD);
}
/* Threads for a parallel loop over `work` elements: 1 for small work, else nas_get_threads(). */
int nas_i_threads_for(int64_t work);

/* Backward functions, one per op (dispatched by nas_tape_backward). */
void nas_i_conv2d_backward(nas_tape *t, nas_node *n);
void nas_i_matmul_backward(nas_tape *t, nas_node *n);
void nas_i_linear_backward(nas_tape *t, nas_node *n);
void nas_i_add_backward(nas_tape *t, nas_node *n);
void nas_i_mul_backward(nas_tape *t, nas_node *n);
void nas_i_sum_backward(nas_tape *t, nas_node *n);
void nas_i_scale_backward(nas_tape *t, nas_node *n);
void nas_i_concat_backward(nas_tape *t, nas_node *n);
void nas_i_slice_backward(nas_tape *t, nas_node *n);
void nas_i_tile_backward(nas_tape *t, nas_node *n);
void nas_i_reshape_backward(nas_tape *t, nas_node *n);
void nas_i_relu_backward(nas_tape *t, nas_node *n);
void nas_i_sigmoid_backward(nas_tape *t, nas_node *n);
void nas_i_tanh_backward(nas_tape *t, nas_node *n);
void nas_i_batchnorm_backward(nas_tape *t, nas_node *n);
void nas_i_layernorm_backward(nas_tape *t, nas_node *n);
void nas_i_avgpool_backward(nas_tape *t, nas_node *n);
void nas_i_maxpool_backward(nas_tape *t, nas_node *n);
void nas_i_gap_backward(nas_tape *t, nas_node *n);
void nas_i_embedding_backward(nas_tape *t, nas_node *n);
void nas_i_softmax_ce_backward(nas_tape *t, nas_node *n);
