/*
 * ghnas network compiler and executor (src/net): a genotype of any search space compiled into an
 * op-level DAG (the "net IR"), its shapes, parameter counts and FLOPs, and a forward pass on the
 * tape with owned weights or with weights supplied from outside (e.g. predicted by the GHN).
 *
 * The IR is the one graph both consumers read: the executor runs it and the graph hypernetwork
 * embeds it. One node per op, parameter-free ops included (input, relu, pools, sum, concat,
 * slice, zero, global pool, classifier). Nodes are numbered in a topological order (igraph's),
 * so node.in[] ids are always smaller than the node's own id and a forward sweep is a plain loop:
 *
 *     nas_net net;
 *     nas_net_config cfg = nas_net_config_default();   // C, N from the space's skeleton
 *     if (nas_net_compile(&net, &space, &arch, &cfg) != NAS_OK) ... nas_errmsg() ...
 *     for (int v = 0; v < net.n_nodes; v++) {
 *         const nas_net_node *nd = &net.nodes[v];
 *         ... nd->op, nd->name, nd->shape (C, H, W), nd->in[0..n_in), nd->out[0..n_out),
 *             nd->wshape (GHN-2 style 4-D weight shape), nd->slot .. slot+n_slots ...
 *     }
 *     for (int s = 0; s < net.n_slots; s++) ... net.slots[s].shape / .node / .role ...
 *
 * Parameters: every parameter tensor has a slot (conv weight; BN weight (gamma) and bias (beta);
 * linear weight and bias). Slots are numbered in node order, a node's slots contiguous
 * (weight before bias). The executor takes one tensor per slot, w[0..n_slots), each with the
 * slot's exact shape; they may be parameters (nas_net_model) or ANY tape values, and gradients
 * flow into whatever produced them:
 *
 *     nas_tensor *logits = nas_net_forward(&tape, &net, w, &run, x);   // x [B, in_c, in_h, in_w]
 *
 * Conventions: convolutions have no bias (as in NB201/NB101/DARTS/MobileNet); BatchNorm is
 * affine; parameter counts match PyTorch's sum of p.numel() (running statistics excluded);
 * FLOPs = 2 x multiply-accumulates of conv and linear layers per sample (BN, ReLU, pooling and
 * sums are not counted; bias additions neither).
 *
 * Per-space structure (references/nas.md):
 *   cell_nb201  stem conv3x3 + BN; N cells at C, ResNet basic block (stride 2, AvgPool2d(2,2) +
 *               1x1 conv shortcut), N cells at 2C, ResNet block, N cells at 4C; BN-ReLU-GAP-linear.
 *               none edges vanish; a cell node whose inputs are all none is a zero node (input
 *               edge from the cell input, which only gives it its shape); skip_connect is an
 *               identity (no node); a cell node with several inputs gets a sum node.
 *   cell_nb101  stem conv3x3-BN-ReLU (C = stem channels); `stacks` stacks of N modules, a 2x2 max
 *               pool before every stack but the first, which doubles the channels; GAP-linear.
 *               Module rules as nasbench's model_builder: interior inputs summed (truncated to
 *               the vertex's channels by a slice node when wider), the module input always 1x1
 *               conv-BN-ReLU projected, output = concat of interior vertices (+ projected input).
 *   cell_darts  DARTS' NetworkCIFAR (no auxiliary head, no drop path): stem conv3x3 + BN at
 *               stem_multiplier*C; layers = 3N+2 cells (N = 0: the skeleton's "layers"), the
 *               cells at layers/3 and 2*layers/3 reduce (stride 2, channels x2); preprocessing by
 *               1x1 ReLU-conv-BN or FactorizedReduce; output = concat of the intermediate nodes;
 *               GAP-linear.
 *   macro       stem conv k x k (stride) + BN + ReLU at stem_channels (C overrides it); per stage
 *               `depth` inverted-residual blocks ([1x1 expand + BN + ReLU] (skipped when
 *               expansion is 1), depthwise k x k with the stage stride at its first block + BN +
 *               ReLU, 1x1 project + BN, residual sum when stride 1 and equal channels); head 1x1
 *               conv to head_channels + BN + ReLU (when head_channels > 0), GAP, linear.
 *               N is not used (depths come from the arch). ReLU stands in for MobileNet's ReLU6.
 *
 * Thread safety: a compiled net is read-only; any number of threads may run forward passes on
 * it concurrently with their own tapes (and their own running statistics). Compilation and
 * nas_net_distances take the library's igraph lock.
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/space.h"
#include "ghnas/tensor.h"
#include "ghnas/train.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NAS_NET_NAME_MAX 56 /* node names ("cell12.e13.dw1"), NUL included */
#define NAS_NET_SLOT_MAX 64 /* slot names ("<node name>.weight") */

/* ---- IR ------------------------------------------------------------------------------------- */

/* Node ops. Numbers are stable (the GHN embeds them): append before NAS_NET_OP_COUNT. */
typedef enum nas_net_op {
    NAS_NET_INPUT = 0,   /* the image batch; no inputs; node 0 */
    NAS_NET_CONV = 1,    /* conv2d k x k, stride, pad, dilation, groups; weight, no bias */
    NAS_NET_BN = 2,      /* batchnorm2d, affine: weight (gamma) [C], bias (beta) [C] */
    NAS_NET_RELU = 3,    /* max(x, 0) */
    NAS_NET_AVGPOOL = 4, /* k x k, stride, pad, count_include_pad */
    NAS_NET_MAXPOOL = 5, /* k x k, stride, pad (padding never wins) */
    NAS_NET_SUM = 6,     /* elementwise sum of >= 2 same-shape inputs (an id may repeat) */
    NAS_NET_CONCAT = 7,  /* channel concat of >= 2 inputs, in input order */
    NAS_NET_SLICE = 8,   /* x[:, c0:c0+C, h0:h0+H, w0:w0+W], (c0, h0, w0) = offset, (C, H, W) =
                            shape: NB101 channel truncation, FactorizedReduce's x[:, :, 1:, 1:] */
    NAS_NET_ZERO = 9,    /* zeros shaped like its one input; no gradient flows back */
    NAS_NET_GAP = 10,    /* global average pool: [C, H, W] -> [C, 1, 1] */
    NAS_NET_LINEAR = 11, /* classifier: weight [classes, C], bias [classes]; the last node */
    NAS_NET_OP_COUNT
} nas_net_op;

/* "input", "conv", "bn", "relu", "avgpool", "maxpool", "sum", "concat", "slice", "zero", "gap",
 * "linear"; "?" for bad values. */
const char *nas_net_op_name(nas_net_op op);

/* What a parameter slot holds. */
typedef enum nas_net_role {
    NAS_NET_WEIGHT = 0, /* conv [co, ci/groups, k, k] or linear [classes, C] */
    NAS_NET_BIAS = 1,   /* linear [classes] */
    NAS_NET_GAMMA = 2,  /* BN scale [C] (PyTorch's bn.weight) */
    NAS_NET_BETA = 3    /* BN shift [C] (PyTorch's bn.bias) */
} nas_net_role;

/* "weight", "bias", "gamma", "beta". */
const char *nas_net_role_name(nas_net_role role);

typedef struct nas_net_node {
    nas_net_op op;
    char name[NAS_NET_NAME_MAX]; /* stable, unique: "stem.conv", "cell1.e02.conv", "head.fc" */
    int n_in;
    const int *in; /* [n_in] input node ids (operand order; all < this id) */
    int n_out;
    const int *out;   /* [n_out] consumer node ids, ascending (a repeated input appears twice) */
    int64_t shape[3]; /* output per sample [C, H, W]; gap and linear: [C, 1, 1] */
    /* op attributes (0 when not used) */
    int k, stride, pad, dilation, groups; /* conv (all), avg/max pool (k, stride, pad) */
    bool count_include_pad;               /* avgpool */
    int64_t offset[3];                    /* slice: start along C, H, W */
    /* parameters */
    int slot;          /* first parameter slot, -1 when the node has none */
    int n_slots;       /* 0; 1 conv; 2 BN (gamma, beta) or linear (weight, bias) */
    int64_t wshape[4]; /* main weight as 4-D (out, in, kh, kw): conv [co, ci/g, k, k],
                          BN [C, 1, 1, 1], linear [classes, C, 1, 1]; zeros without params */
    int64_t n_params;  /* parameter floats of this node */
    int64_t macs;      /* multiply-accumulates per sample (conv, linear) */
    int level;         /* longest path from the input (input 0); no edges within a level */
    int64_t bn_offset; /* BN: running mean at running[bn_offset, +C), var at [+C, +2C); else -1 */
} nas_net_node;

typedef struct nas_net_slot {
    int node; /* owning node id */
    nas_net_role role;
    int ndim;         /* 4 conv weight, 2 linear weight, 1 otherwise */
    int64_t shape[4]; /* trailing unused dims are 1 */
    int64_t numel;
    int64_t fan_in;              /* conv ci/g*k*k, linear C; 0 for 1-D slots */
    char name[NAS_NET_SLOT_MAX]; /* "<node name>.weight" / ".bias" (PyTorch names; BN gamma is
                                    ".weight" and beta ".bias") */
} nas_net_slot;

/* Macro configuration of a compiled network. 0 = default for every field. */
typedef struct nas_net_config {
    int C;       /* base channels: nb201/darts C, nb101 and macro stem channels; 0 = skeleton */
    int N;       /* nb201 cells per stage, nb101 modules per stack, darts layers = 3N+2;
                    0 = skeleton; must be 0 for macro */
    int in_c;    /* input channels (default 1: Fashion-MNIST) */
    int in_h;    /* input height (default 28) */
    int in_w;    /* input width (default 28) */
    int classes; /* classifier outputs (default 10) */
} nas_net_config;

/* All zero except in_c 1, in_h = in_w = 28, classes 10. */
nas_net_config nas_net_config_default(void);

typedef struct nas_net_private nas_net_private; /* igraph graph and storage (src/net) */

typedef struct nas_net {
    nas_space_kind kind;
    char space[64];              /* space name */
    char arch[NAS_ARCH_STR_MAX]; /* arch text (nas_arch_encode) */
    nas_net_config cfg;          /* resolved: C, N (macro: N 0), input, classes */
    int n_nodes;
    nas_net_node *nodes; /* [n_nodes], topological order; node 0 input, last linear */
    int n_edges;         /* sum of n_in */
    int n_slots;
    nas_net_slot *slots; /* [n_slots], node order */
    int64_t n_params;    /* parameter floats (PyTorch's parameter count) */
    int64_t macs;        /* multiply-accumulates per sample */
    int64_t flops;       /* 2 * macs */
    int64_t n_running;   /* floats of BN running statistics: 2 per BN channel */
    int n_levels;        /* 1 + largest node level */
    int output;          /* logits node (n_nodes - 1) */
    nas_net_private *priv;
} nas_net;

/*
 * Compile a member of `sp` into *net (zeroed on failure; nas_net_free is harmless on it).
 * NAS_EINVAL: cfg values out of range, the arch is not a member of the space (the message says
 * why), or a skeleton key has a value this compiler does not know; NAS_ESHAPE: the input is too
 * small or has an odd size where a reduction needs an even one (the message names the node).
 * cfg NULL = nas_net_config_default().
 */
nas_status nas_net_compile(nas_net *net, const nas_space *sp, const nas_arch *a,
                           const nas_net_config *cfg);
void nas_net_free(nas_net *net);

/* Node id by name, or -1. */
int nas_net_find(const nas_net *net, const char *name);

/*
 * Shortest directed path lengths (igraph): dist[u * n + v] = number of edges on the shortest path
 * u -> v when it exists and is <= max_dist (max_dist <= 0: no limit), else 0; dist[v*n+v] = 0.
 * The backward (v -> u) distances are the transpose. dist has n_nodes^2 entries. Repeated inputs
 * count as one edge. GHN-2's virtual edges are the pairs with 1 < dist <= s_max.
 */
nas_status nas_net_distances(const nas_net *net, int max_dist, int32_t *dist);

/* ---- executor ------------------------------------------------------------------------------- */

typedef struct nas_net_run {
    nas_bn_mode bn_mode;   /* NAS_BN_BATCH_STATS (training, GHN evaluation) or RUNNING_STATS */
    float *running;        /* [n_running] BN running statistics or NULL; required for running
                              mode; updated in batch mode when given */
    float bn_momentum;     /* running-stat update (PyTorch: 0.1) */
    float bn_eps;          /* 1e-5 */
    nas_tensor **node_out; /* optional [n_nodes]: node_out[v] = node v's output [B, C, H, W]
                              (gap/linear: [B, C]), e.g. ReLU outputs for zero-cost proxies */
} nas_net_run;

/* Batch statistics, no running statistics, momentum 0.1, eps 1e-5, no node outputs. */
nas_net_run nas_net_run_defaults(void);

/* Running means 0 and variances 1 (PyTorch's initial buffers). */
void nas_net_running_reset(const nas_net *net, float *running);

/*
 * Run the net on x [B, in_c, in_h, in_w] -> logits [B, classes]. w[s] is the tensor of slot s,
 * with exactly the slot's shape (ndim and dims). run NULL = nas_net_run_defaults(). Errors are
 * the tape's sticky errors: NULL is returned and nas_tape_status() names the node or slot.
 */
nas_tensor *nas_net_forward(nas_tape *t, const nas_net *net, nas_tensor *const *w,
                            const nas_net_run *run, nas_tensor *x);

/* Initialisation of owned weights. BN: gamma 1, beta 0, running mean 0, running var 1. */
typedef enum nas_net_init {
    NAS_NET_INIT_TORCH = 0,      /* PyTorch's default reset_parameters (nas_init_default) for conv
                                    and linear */
    NAS_NET_INIT_KAIMING_OUT = 1 /* conv: kaiming normal, fan_out, ReLU gain (torchvision
                                    ResNet); linear: PyTorch default */
} nas_net_init;

/*
 * Owned weights for a compiled net: a finalized nas_params block whose tensors[s] is slot s,
 * plus BN running statistics. BN parameters and biases carry NAS_TENSOR_NO_DECAY. Do not move
 * the struct after init (nas_net_model_handle points at it).
 */
typedef struct nas_net_model {
    const nas_net *net; /* not owned; must outlive the model */
    nas_params params;  /* params.tensors[s] = slot s */
    float *running;     /* [net->n_running] */
    float bn_momentum;  /* 0.1 */
    float bn_eps;       /* 1e-5 */
} nas_net_model;

/* Random draws come from rng in slot order. On failure *m is zeroed. */
nas_status nas_net_model_init(nas_net_model *m, const nas_net *net, nas_net_init init,
                              nas_rng *rng);
void nas_net_model_free(nas_net_model *m);
/* Forward with the owned weights: batch mode updates the running statistics. */
nas_tensor *nas_net_model_forward(nas_net_model *m, nas_tape *t, nas_tensor *x, nas_bn_mode mode);
/* The model as a nas_model for nas_train/nas_evaluate (training = batch statistics + running
 * update; evaluation = running statistics). */
nas_model nas_net_model_handle(nas_net_model *m);

/* ---- export --------------------------------------------------------------------------------- */

typedef enum nas_net_format {
    NAS_NET_TEXT = 0,   /* table: id, op, name, inputs, shape, attributes, params, FLOPs */
    NAS_NET_DOT = 1,    /* graphviz digraph, one cluster per block */
    NAS_NET_GRAPHML = 2 /* GraphML (igraph/networkx readable): node attributes name, op, C, H, W,
                           k, stride, pad, dilation, groups, params, flops, level, wshape */
} nas_net_format;

/* "text", "dot", "graphml" <-> format; NAS_EINVAL naming the accepted values. */
const char *nas_net_format_name(nas_net_format f);
nas_status nas_net_format_from_name(const char *name, nas_net_format *out);

/* Write the graph to f. NAS_EIO when writing fails. */
nas_status nas_net_write(const nas_net *net, nas_net_format fmt, FILE *f);

#ifdef __cplusplus
}
#endif
