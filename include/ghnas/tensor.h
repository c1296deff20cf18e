/*
 * ghnas tensor engine: fp32 NCHW tensors, a reverse-mode autodiff tape, and the op set.
 *
 * Execution is eager: every op computes its result immediately and, when any input requires a
 * gradient and the tape records, appends a node to the tape. nas_tape_backward() walks the nodes
 * in reverse and ACCUMULATES (+=) into input gradients. Because ops treat every input the same
 * way, a weight can be a parameter or any tape value (e.g. a weight predicted by a hypernetwork),
 * and the loss gradient flows through the conv into whatever produced that weight.
 *
 * Memory: tensors made during a step live in the tape's arena and die with nas_tape_reset().
 * Parameters live in a nas_params block (persistent, contiguous data/grad arrays).
 *
 * Errors are sticky (SQLite's mallocFailed idea): an op that fails returns NULL, records its
 * status and message on the tape, and every later op given a NULL input returns NULL at once.
 * Check nas_tape_status() once after building a forward pass.
 *
 *     nas_tape tape;  nas_tape_init(&tape);
 *     nas_tensor *h = nas_conv2d(&tape, x, w, NULL, 1, 1, 1, 1);
 *     h = nas_relu(&tape, h);
 *     nas_tensor *loss = nas_softmax_cross_entropy(&tape, logits, labels, 0.0f);
 *     if (nas_tape_status(&tape) != NAS_OK) ... nas_errmsg() ...
 *     nas_tape_backward(&tape, loss);
 *     nas_tape_reset(&tape);
 *
 * Adding an op (checklist, ggml-style): a value appended to enum nas_op, its name in the op-name
 * table (guarded by a static_assert on NAS_OP_COUNT), the forward function and a backward case in
 * nas_tape_backward's switch, and a finite-difference test in tests/unit/test_gradcheck_*.c.
 */
#pragma once

#include "ghnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NAS_MAX_DIMS 4

/* ---- tensor -------------------------------------------------------------------------------- */

enum nas_tensor_flags {
    NAS_TENSOR_REQUIRES_GRAD = 1u << 0, /* backward must produce a gradient for it */
    NAS_TENSOR_PARAM = 1u << 1,         /* lives in a nas_params block; grad is persistent */
    NAS_TENSOR_NO_DECAY = 1u << 2,      /* parameter excluded from weight decay (BN, biases) */
};

typedef struct nas_tensor {
    float *data;                 /* numel floats, row-major in shape order */
    float *grad;                 /* numel floats or NULL (allocated on first use in backward) */
    int64_t shape[NAS_MAX_DIMS]; /* unused trailing dims are 1 */
    int ndim;                    /* 1..4 */
    int64_t numel;               /* product of shape[0..ndim) */
    uint32_t flags;              /* nas_tensor_flags */
    const char *name;            /* optional, for messages; not owned */
} nas_tensor;

/* Formats "[64, 16, 28, 28]" into buf (at least 64 bytes); returns buf. */
char *nas_shape_str(const nas_tensor *t, char *buf, size_t cap);

/* ---- tape ---------------------------------------------------------------------------------- */

typedef struct nas_node nas_node; /* private, src/tensor/tape-impl.h */

typedef struct nas_tape {
    nas_arena arena;   /* tensors, saved activations and nodes of the current step */
    nas_node **nodes;  /* recorded nodes in execution order (heap array, reused) */
    size_t n_nodes;    /* recorded so far */
    size_t cap_nodes;  /* capacity of nodes[] */
    bool record;       /* false: ops compute but record nothing (inference) */
    nas_status status; /* first failure since the last reset (sticky) */
    char errmsg[512];  /* its message */
} nas_tape;

nas_status nas_tape_init(nas_tape *t);
void nas_tape_free(nas_tape *t);
/* Drop all nodes and step tensors; parameters are untouched. Clears a sticky error. */
void nas_tape_reset(nas_tape *t);
/* Turn recording on/off (returns the previous setting). Off = inference, no backward possible. */
bool nas_tape_set_record(nas_tape *t, bool on);
/* First error since the last reset; also restores its message into nas_errmsg(). */
nas_status nas_tape_status(nas_tape *t);
/* Seed d(loss)/d(loss) = 1 (loss must have numel 1) and run the recorded nodes backwards. */
nas_status nas_tape_backward(nas_tape *t, nas_tensor *loss);
/* As above with an explicit output gradient (same shape as `out`). */
nas_status nas_tape_backward_from(nas_tape *t, nas_tensor *out, const float *dout);

/* New step tensors in the tape's arena: uninitialised / zeroed / copied from `src`. */
nas_tensor *nas_tensor_new(nas_tape *t, int ndim, const int64_t *shape);
nas_tensor *nas_tensor_zeros(nas_tape *t, int ndim, const int64_t *shape);
nas_tensor *nas_tensor_from(nas_tape *t, int ndim, const int64_t *shape, const float *src);
/* Convenience for up to 4 explicit dims: nas_tensor_new4(t, 2, n, c, 0, 0). */
nas_tensor *nas_tensor_new4(nas_tape *t, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
/* Mark a step tensor as a leaf that needs a gradient (allocates a zeroed grad). */
nas_status nas_tensor_require_grad(nas_tape *t, nas_tensor *x);

/* ---- parameters ---------------------------------------------------------------------------- */

/*
 * A persistent set of parameters stored as one contiguous data block and one grad block, so the
 * optimizer, clipping and checkpoints are flat loops. Declare with nas_params_add() (returns a
 * tensor whose data pointer becomes valid after nas_params_finalize()), then finalize once.
 */
typedef struct nas_params {
    nas_tensor **tensors; /* declared tensors, in declaration order */
    size_t count;         /* number of tensors */
    size_t cap;           /* capacity of tensors[] */
    int64_t numel;        /* total floats */
    float *data;          /* numel floats (after finalize) */
    float *grad;          /* numel floats (after finalize), zeroed */
    bool finalized;
} nas_params;

nas_status nas_params_init(nas_params *p);
void nas_params_free(nas_params *p);
/* Declare a parameter; `name` is copied. flags may add NAS_TENSOR_NO_DECAY. NULL on failure. */
nas_tensor *nas_params_add(nas_params *p, const char *name, int ndim, const int64_t *shape,
                           uint32_t flags);
nas_status nas_params_finalize(nas_params *p);
void nas_params_zero_grad(nas_params *p);
nas_tensor *nas_params_find(const nas_params *p, const char *name);

/* ---- threads and BLAS (src/tensor/blas.c) ------------------------------------------------- */

/* Threads used inside ops and BLAS when one network uses the whole machine. */
void nas_set_threads(int n);
int nas_get_threads(void);
/* Index of the calling thread in the innermost OpenMP team (0 outside one or without OpenMP). */
int nas_thread_id(void);

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op = transpose when ta/tb. */
void nas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/* Naive reference twin of nas_sgemm (test oracle). */
void nas_sgemm_ref(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* ---- ops ----------------------------------------------------------------------------------- */

typedef enum nas_op {
    NAS_OP_CONV2D,
    NAS_OP_MATMUL,
    NAS_OP_LINEAR,
    NAS_OP_ADD,
    NAS_OP_MUL,
    NAS_OP_SCALE,
    NAS_OP_CONCAT,
    NAS_OP_SLICE,
    NAS_OP_TILE,
    NAS_OP_RESHAPE,
    NAS_OP_RELU,
    NAS_OP_SIGMOID,
    NAS_OP_TANH,
    NAS_OP_BATCHNORM,
    NAS_OP_LAYERNORM,
    NAS_OP_AVGPOOL,
    NAS_OP_MAXPOOL,
    NAS_OP_GAP,
    NAS_OP_EMBEDDING,
    NAS_OP_SOFTMAX_CE,
    NAS_OP_ZERO,
    NAS_OP_SUM,
    NAS_OP_COUNT
} nas_op;

const char *nas_op_name(nas_op op);

/* 2-D convolution. x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], b [Cout] or NULL.
 * Symmetric stride/padding/dilation. Output [N, Cout, Ho, Wo],
 * Ho = (H + 2*pad - dilation*(kh-1) - 1) / stride + 1. */
nas_tensor *nas_conv2d(nas_tape *t, nas_tensor *x, nas_tensor *w, nas_tensor *b, int stride,
                       int pad, int dilation, int groups);

/* Matrix product of 2-D tensors: op(a) [M, K] x op(b) [K, N] -> [M, N]. */
nas_tensor *nas_matmul(nas_tape *t, nas_tensor *a, nas_tensor *b, bool trans_a, bool trans_b);
/* Fully connected: x [N, in] (or any tensor viewed as [shape0, rest]), w [out, in], b [out] or
 * NULL -> [N, out] (PyTorch layout). */
nas_tensor *nas_linear(nas_tape *t, nas_tensor *x, nas_tensor *w, nas_tensor *b);

/* Elementwise a + b, a * b. b has a's shape or broadcasts to it under NumPy rules (b's dims
 * aligned to a's trailing dims, each 1 or equal). Result has a's shape. */
nas_tensor *nas_add(nas_tape *t, nas_tensor *a, nas_tensor *b);
nas_tensor *nas_mul(nas_tape *t, nas_tensor *a, nas_tensor *b);
/* Sum of n same-shape tensors (n >= 1); the node-sum of a cell. */
nas_tensor *nas_sum(nas_tape *t, nas_tensor *const *xs, int n);
/* s * a */
nas_tensor *nas_scale(nas_tape *t, nas_tensor *a, float s);

/* Concatenate along `axis` (1 = channels for NCHW); all other dims equal. */
nas_tensor *nas_concat(nas_tape *t, nas_tensor *const *xs, int n, int axis);
/* x restricted to [start, start+len) along axis. */
nas_tensor *nas_slice(nas_tape *t, nas_tensor *x, int axis, int64_t start, int64_t len);
/* Repeat x reps[d] times along each dim d (numpy.tile with equal ndim). */
nas_tensor *nas_tile(nas_tape *t, nas_tensor *x, const int64_t *reps);
/* Same data, new shape with equal numel; one dim may be -1. */
nas_tensor *nas_reshape(nas_tape *t, nas_tensor *x, int ndim, const int64_t *shape);

nas_tensor *nas_relu(nas_tape *t, nas_tensor *x);
nas_tensor *nas_sigmoid(nas_tape *t, nas_tensor *x);
nas_tensor *nas_tanh(nas_tape *t, nas_tensor *x);

typedef enum nas_bn_mode {
    NAS_BN_BATCH_STATS = 0,  /* normalise with batch statistics; update running stats if given */
    NAS_BN_RUNNING_STATS = 1 /* normalise with running_mean/running_var (inference) */
} nas_bn_mode;

/* Batch normalisation over N,H,W per channel of x [N, C, H, W] (or [N, C]). gamma/beta [C] or
 * NULL (no affine). running_mean/var [C] float arrays or NULL; in batch mode they are updated
 * with `momentum` (PyTorch convention, unbiased variance). */
nas_tensor *nas_batchnorm(nas_tape *t, nas_tensor *x, nas_tensor *gamma, nas_tensor *beta,
                          float *running_mean, float *running_var, nas_bn_mode mode, float momentum,
                          float eps);
/* Layer normalisation over the last dim; gamma/beta [D] or NULL. */
nas_tensor *nas_layernorm(nas_tape *t, nas_tensor *x, nas_tensor *gamma, nas_tensor *beta,
                          float eps);

/* Pooling over x [N, C, H, W] with a k x k window. */
nas_tensor *nas_avgpool2d(nas_tape *t, nas_tensor *x, int k, int stride, int pad,
                          bool count_include_pad);
nas_tensor *nas_maxpool2d(nas_tape *t, nas_tensor *x, int k, int stride, int pad);
/* Global average pool: [N, C, H, W] -> [N, C]. */
nas_tensor *nas_global_avgpool(nas_tape *t, nas_tensor *x);

/* Rows of table [V, D] selected by idx[0..n) -> [n, D]. Out-of-range index: NAS_EINVAL. */
nas_tensor *nas_embedding(nas_tape *t, nas_tensor *table, const int32_t *idx, int64_t n);

/* Mean softmax cross-entropy of logits [N, K] against labels[N] in [0, K) with label smoothing
 * eps (target = (1-eps) one-hot + eps/K). Returns a tensor with numel 1. */
nas_tensor *nas_softmax_cross_entropy(nas_tape *t, nas_tensor *logits, const int32_t *labels,
                                      float smoothing);

/* Zeros with x's shape; no gradient flows to x (NB201's "none" op). */
nas_tensor *nas_zero(nas_tape *t, nas_tensor *x);

#ifdef __cplusplus
}
#endif
