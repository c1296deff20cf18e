/*
 * ghnas graph hypernetwork (src/ghn): a GHN-2 style model that reads the net IR of any compiled
 * candidate and predicts every parameter tensor of it, so a candidate can be scored without
 * training it. Predicted weights are tape values: one nas_tape_backward() of the target net's
 * loss reaches every GHN parameter.
 *
 *     nas_ghn ghn;  nas_ghn_config gc = nas_ghn_config_default();
 *     nas_ghn_init(&ghn, &gc, seed);
 *     nas_ghn_graph gg;  nas_ghn_graph_build(&gg, &ghn.cfg, &net);   // per compiled net
 *     nas_tensor **w = ...[net.n_slots];
 *     nas_ghn_predict(&ghn, NULL, &tape, &gg, w);                    // w[s] has slot s's shape
 *     nas_tensor *logits = nas_net_forward(&tape, &net, w, NULL, x);
 *
 * The model (references/ghn.md §2, §7; DESIGN.md §5):
 *   - node features: op-type embedding + shape embedding; the 4-D shape (out, in, kh, kw) of a
 *     node's main weight (param-free nodes: (C_out, C_in, k, k)) is looked up in a size
 *     vocabulary (channels / spatial sizes; unseen sizes take the nearest entry), the four
 *     hid/4-wide embeddings are concatenated and added to the op embedding; optionally
 *     (res_embed) an embedding of the node's output height is added too;
 *   - GatedGNN: `rounds` times a forward sweep over topological levels (incoming edges) and a
 *     backward sweep over the levels in reverse (outgoing edges); the message of node v is
 *     sum MLP(h_u) over real edges + sum MLP_ve(h_u) / s over virtual edges (shortest path
 *     1 < s <= s_max); a shared GRU cell updates all nodes of one level as one batched GEMM;
 *     LayerNorm at the end;
 *   - decoders: conv weights are assembled from chunks of (chunk_out, chunk_in, chunk_k,
 *     chunk_k). CHUNK mode decodes every tile separately from the node embedding plus learned
 *     tile-position embeddings (out-tile, in-tile, spatial tile; positions wrap modulo n_pos),
 *     so any (out, in, k, k) gets its own tiles; TILE mode is GHN-2's plain tiling (one chunk per
 *     node, repeated and cropped). The classifier weight/bias and the 1-D parameters (BN gamma
 *     and beta) have their own heads. Kernels smaller than the assembled tiles are centre-cropped;
 *   - normalisation (GHN-2): conv/linear weight * sqrt(beta / fan_in) (beta 1 for depthwise
 *     convs, 2 otherwise), BN gamma 2*sigmoid(0.5 p), BN beta and biases tanh(0.2 p).
 *
 * Threads: a nas_ghn is read-only during prediction; threads use their own tapes. For training
 * in parallel each thread uses a nas_ghn_view: the same parameter data with private gradient
 * arrays, summed into the model's gradient after the step.
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/data.h"
#include "ghnas/net.h"
#include "ghnas/nn.h"
#include "ghnas/space.h"
#include "ghnas/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration -------------------------------------------------------------------------- */

typedef enum nas_ghn_decoder {
    NAS_GHN_DECODER_CHUNK = 0, /* every tile decoded from node embedding + tile position */
    NAS_GHN_DECODER_TILE = 1,  /* GHN-2: one chunk per node, repeated (tiled) and cropped */
    NAS_GHN_DECODER_COUNT
} nas_ghn_decoder;

/* "chunk", "tile"; "?" for bad values. */
const char *nas_ghn_decoder_name(nas_ghn_decoder d);
/* NAS_EINVAL naming the accepted values. */
nas_status nas_ghn_decoder_from_name(const char *name, nas_ghn_decoder *out);

typedef struct nas_ghn_config {
    int hid;                 /* node embedding size, a multiple of 4 (default 32) */
    int rounds;              /* T forward+backward sweeps (default 1) */
    int s_max;               /* virtual edges of shortest-path length 2..s_max; <= 1: none (50) */
    nas_ghn_decoder decoder; /* default CHUNK */
    int chunk_out;           /* output channels of one chunk (default 16) */
    int chunk_in;            /* input channels of one chunk (default 16) */
    int chunk_k;             /* spatial size of one chunk (default 3) */
    int dec_hid;             /* decoder MLP width (default 128; ghnas train --hid H sets 4 * H) */
    int n_pos;               /* tile positions per axis before they wrap around (default 4) */
    int classes;             /* classifier outputs of the target nets (default 10) */
    bool res_embed;          /* add an embedding of the node's output resolution H (size
                                vocabulary), so equal widths at different stages differ
                                (default true; GHN-2 has none) */
    bool layernorm;          /* LayerNorm on node embeddings before decoding (default true) */
    bool weight_norm;        /* predicted-weight normalisation (default true) */
} nas_ghn_config;

/* The defaults above. */
nas_ghn_config nas_ghn_config_default(void);
/* NAS_EINVAL with a message naming the field when a value is out of range. */
nas_status nas_ghn_config_validate(const nas_ghn_config *c);
/* First differing field as "hid: file 64, model 32" into buf; returns false when equal. */
bool nas_ghn_config_diff(const nas_ghn_config *a, const nas_ghn_config *b, const char *name_a,
                         const char *name_b, char *buf, size_t cap);

/* ---- node features (src/ghn/features.c) ----------------------------------------------------- */

/* GHN node types (the op embedding's rows). Numbers are stable (checkpoints depend on them). */
typedef enum nas_ghn_type {
    NAS_GHN_T_INPUT = 0,
    NAS_GHN_T_CONV = 1,       /* dense conv (groups 1) */
    NAS_GHN_T_CONV_DW = 2,    /* depthwise (or grouped) conv, dilation 1 */
    NAS_GHN_T_CONV_DIL = 3,   /* conv with dilation > 1 (dense or depthwise) */
    NAS_GHN_T_CONV_S2 = 4,    /* dense conv with stride > 1 */
    NAS_GHN_T_CONV_DW_S2 = 5, /* depthwise conv with stride > 1 */
    NAS_GHN_T_BN = 6,
    NAS_GHN_T_RELU = 7,
    NAS_GHN_T_AVGPOOL = 8,
    NAS_GHN_T_MAXPOOL = 9,
    NAS_GHN_T_SUM = 10,
    NAS_GHN_T_CONCAT = 11,
    NAS_GHN_T_SLICE = 12,
    NAS_GHN_T_ZERO = 13,
    NAS_GHN_T_GAP = 14,
    NAS_GHN_T_LINEAR = 15,
    NAS_GHN_TYPE_COUNT
} nas_ghn_type;

nas_ghn_type nas_ghn_node_type(const nas_net_node *n);
const char *nas_ghn_type_name(nas_ghn_type t);

/* The 4-D shape a node is embedded with: its main weight (out, in, kh, kw); param-free nodes
 * (C_out, C_in of the first input, k, k) with k the pool window (else 1). */
void nas_ghn_node_shape(const nas_net *net, int v, int64_t shape[4]);

/* Size vocabularies: channel sizes (1..16, 24..64 step 8, 80..4096 step 16, 4128..8192 step 32)
 * and spatial sizes (1..16). Index of the nearest entry (ties go to the smaller one); sizes
 * beyond the last entry map to the last. */
int nas_ghn_vocab_channels(void);
int nas_ghn_vocab_spatial(void);
int nas_ghn_vocab_channel_index(int64_t size);
int nas_ghn_vocab_spatial_index(int64_t size);
int64_t nas_ghn_vocab_channel_value(int index);
int64_t nas_ghn_vocab_spatial_value(int index);

/* ---- the model (src/ghn/ghn.c) -------------------------------------------------------------- */

typedef struct nas_ghn {
    nas_ghn_config cfg; /* validated copy */
    nas_params params;  /* every GHN parameter, finalized */
    /* Rows of the lookup tables used in training: size vocabularies (channels, spatial) and the
       decoders' tile positions, one byte per row ([n_seen]; layout in src/ghn/ghn-impl.h).
       When predicting, a row never trained is replaced by the nearest trained one (sizes: the
       nearest trained size; tile positions: wrapped modulo the trained positions), so widths
       and kernels beyond the trained ones reuse trained embeddings instead of random ones. A
       GHN with no row marked (never trained) uses every row as is. */
    uint8_t *seen;
    int64_t n_seen;
} nas_ghn;

/* Build and initialise (PyTorch-style defaults; embedding tables N(0, 1) as nn.Embedding) from
 * `seed`. On failure *g is zeroed. */
nas_status nas_ghn_init(nas_ghn *g, const nas_ghn_config *cfg, uint64_t seed);
void nas_ghn_free(nas_ghn *g);
/* Number of GHN parameters (floats). */
int64_t nas_ghn_numel(const nas_ghn *g);
/* The parameter count a valid configuration declares, without allocating (a checkpoint loader
 * compares it with the bytes it was given before building the model). */
int64_t nas_ghn_config_numel(const nas_ghn_config *cfg);

/*
 * Per-net preparation (host side, no tape): level order, feature indices, message matrices of
 * every level, decoder tile plans and the gather maps that assemble every slot. Depends on the
 * GHN configuration but not on its parameter values. Reusable for any number of predictions.
 */
typedef struct nas_ghn_graph_private nas_ghn_graph_private;
typedef struct nas_ghn_graph {
    const nas_net *net; /* not owned */
    int n_nodes;
    int n_levels;
    int n_slots;
    int n_real_edges;    /* distinct u->v pairs at distance 1 */
    int n_virtual_edges; /* pairs at distance 2..s_max */
    int n_tiles;         /* decoder rows of the conv head (all conv slots) */
    nas_ghn_graph_private *priv;
} nas_ghn_graph;

/* NAS_EINVAL when the net's classes differ from cfg->classes. On failure *gg is zeroed. */
nas_status nas_ghn_graph_build(nas_ghn_graph *gg, const nas_ghn_config *cfg, const nas_net *net);
void nas_ghn_graph_free(nas_ghn_graph *gg);

/*
 * Predict all weights: w[s] (s < net->n_slots) receives a tape tensor with exactly slot s's
 * shape. p = the parameter tensors to use (NULL = g->params.tensors; a nas_ghn_view's `p` for
 * private gradients). Errors are the tape's sticky errors (the status is returned too).
 */
nas_status nas_ghn_predict(const nas_ghn *g, nas_tensor *const *p, nas_tape *t,
                           const nas_ghn_graph *gg, nas_tensor **w);

/* Mark the table rows gg uses as trained (nas_ghn_train does this for every sampled net).
 * Thread-safe (atomic byte writes). */
void nas_ghn_mark_seen(nas_ghn *g, const nas_ghn_graph *gg);
/* Forget all marks (every row used as is). */
void nas_ghn_clear_seen(nas_ghn *g);

/* Node embeddings after the GNN (and LayerNorm): [n_nodes, hid] in node-id order. */
nas_tensor *nas_ghn_embed(const nas_ghn *g, nas_tensor *const *p, nas_tape *t,
                          const nas_ghn_graph *gg);

/* A thread's view of the parameters: tensors sharing the model's data with private grads. */
typedef struct nas_ghn_view {
    nas_tensor **p;    /* [count] pointers into store, usable as nas_ghn_predict's p */
    nas_tensor *store; /* [count] tensor copies */
    float *grad;       /* [numel] private gradients, zeroed by init */
    size_t count;
    int64_t numel;
} nas_ghn_view;

nas_status nas_ghn_view_init(nas_ghn_view *v, const nas_ghn *g);
void nas_ghn_view_free(nas_ghn_view *v);

/*
 * Fill an owned model with predicted weights (forward only, nothing recorded): m must have been
 * initialised for gg->net (nas_net_model_init). The model can then be run or fine-tuned.
 */
nas_status nas_ghn_predict_model(const nas_ghn *g, const nas_ghn_graph *gg, nas_net_model *m);

/*
 * Reusable memory of nas_ghn_evaluate_ws: the two tapes (predicted weights, evaluation batches)
 * keep their arenas at peak size and the image buffer grows only, so scoring candidate after
 * candidate stops allocating (and page-faulting fresh memory) after the first. One per thread:
 * concurrent calls need their own. Zero-initialise or nas_ghn_eval_ws_init; free when done.
 */
typedef struct nas_ghn_eval_ws {
    nas_tape tw;   /* predicted weights */
    nas_tape tb;   /* one evaluation batch */
    float *x;      /* [cap, C, H, W] images of one batch */
    int32_t *y;    /* [cap] labels */
    int64_t cap_x; /* floats in x */
    int64_t cap_y; /* labels in y */
    bool ready;    /* tapes initialised */
} nas_ghn_eval_ws;

nas_status nas_ghn_eval_ws_init(nas_ghn_eval_ws *ws);
void nas_ghn_eval_ws_free(nas_ghn_eval_ws *ws);

/*
 * Validation loss and accuracy that predicted weights reach on ds[idx[0..n)] (idx NULL = all):
 * weights are predicted once, BN uses the statistics of each evaluation batch of `batch_size`
 * images (the last, smaller batch included). Thread-safe (own tapes). The _ws variant reuses the
 * caller's workspace (same results).
 */
nas_status nas_ghn_evaluate_ws(const nas_ghn *g, nas_ghn_eval_ws *ws, const nas_net *net,
                               const nas_dataset *ds, const int32_t *idx, int64_t n,
                               const nas_data_norm *norm, int batch_size, double *loss,
                               double *acc);
nas_status nas_ghn_evaluate(const nas_ghn *g, const nas_net *net, const nas_dataset *ds,
                            const int32_t *idx, int64_t n, const nas_data_norm *norm,
                            int batch_size, double *loss, double *acc);

/* BN recalibration of predicted weights: BN's running statistics estimated from calibration
 * images before the evaluation, as the plain mean of the batch statistics of `batches` batches
 * (PyTorch's momentum=None cumulative average; the variances unbiased), images ds[idx[0..)] in
 * order (idx NULL = the first). */
typedef struct nas_ghn_bn_calib {
    const nas_dataset *ds; /* calibration images, e.g. the training split */
    const int32_t *idx;    /* [batches * batch_size] indices into ds, or NULL */
    int batches;           /* >= 1 */
    int batch_size;        /* >= 2 */
} nas_ghn_bn_calib;

/*
 * nas_ghn_evaluate_ws with BN in inference mode on recalibrated running statistics (calib NULL
 * = nas_ghn_evaluate_ws: the statistics of each evaluation batch). Calibration images are
 * normalised with norm, like the evaluation images.
 */
nas_status nas_ghn_evaluate_bn_ws(const nas_ghn *g, nas_ghn_eval_ws *ws, const nas_net *net,
                                  const nas_dataset *ds, const int32_t *idx, int64_t n,
                                  const nas_data_norm *norm, int batch_size,
                                  const nas_ghn_bn_calib *calib, double *loss, double *acc);

/* ---- training (src/ghn/train.c) ------------------------------------------------------------- */

#define NAS_GHN_MAX_WIDTHS 8

typedef struct nas_ghn_train_config {
    int64_t steps;     /* optimizer steps (default 6000); 0 = run until time_limit */
    double time_limit; /* seconds; 0 = no limit (steps must be > 0) */
    int meta_batch;    /* architectures per step, m (default 8) */
    int batch_size;    /* images per step, shared by the m nets (default 64) */
    int n_widths;      /* C values sampled per architecture (default 0: the space's C) */
    int widths[NAS_GHN_MAX_WIDTHS];
    int N;                 /* cells per stage etc. (0 = the space's skeleton) */
    nas_optim_kind optim;  /* ADAMW (default) or ADAM */
    float lr;              /* peak learning rate (1e-3) */
    float weight_decay;    /* 1e-4 (decoupled, AdamW) */
    float clip;            /* gradient-norm clipping (5); <= 0 off */
    int64_t warmup_steps;  /* linear warmup (default 50) */
    float label_smoothing; /* 0 */
    uint64_t seed;         /* architectures, widths and image batches derive from it */
    int threads;           /* OpenMP threads over the meta-batch (0 = nas_get_threads()) */
    int max_bad_steps;     /* consecutive non-finite steps before giving up (default 20) */
    int holdout_mod;       /* > 0: archs with nas_ghn_arch_held_out() true are never sampled */
    bool uniform_classes;  /* sample uniformly over canonical classes (nas_space_default_canon:
                              NB201's 6466, NB101's 423624), not over labelled members, so no
                              class is seen more often because it has more spellings; finite
                              spaces only (default false) */
} nas_ghn_train_config;

nas_ghn_train_config nas_ghn_train_defaults(void);
nas_status nas_ghn_train_config_validate(const nas_ghn_train_config *tc);

/* True when the arch text belongs to the held-out set (FNV-1a hash of the text % mod == 0). */
bool nas_ghn_arch_held_out(const char *arch_text, int mod);

/* Data recorded with a trained GHN so scoring reuses the same validation split and inputs. */
typedef struct nas_ghn_data_info {
    char space[64];                  /* space the GHN was trained on */
    char dataset[NAS_DATA_SPEC_MAX]; /* canonical data spec ("fashion-mnist", "folder:/x") */
    char fingerprint[17];            /* nas_data_fingerprint of the training split ("" =
                                        unknown: checkpoints made before issue 16) */
    int64_t n_val;                   /* validation examples split off the training set */
    uint64_t split_seed;             /* nas_data_split_make seed */
    nas_data_norm norm;              /* normalisation computed on the training part */
    int eval_batch;                  /* BN batch size used when scoring */
    int in_c, in_h, in_w;            /* input shape */
} nas_ghn_data_info;

/* Training state: everything needed to resume (saved in checkpoints). */
typedef struct nas_ghn_trainer {
    nas_ghn_train_config tc;
    nas_ghn_data_info data;
    char space[64];   /* space name the GHN is trained on */
    nas_optim opt;    /* bound to the GHN's params */
    int64_t step;     /* completed steps (incl. skipped) */
    int64_t skipped;  /* non-finite steps skipped */
    int64_t archs;    /* architectures seen */
    double seconds;   /* training time so far */
    double last_loss; /* mean loss of the last good step */
    double last_acc;  /* mean training-batch accuracy of the last good step */
} nas_ghn_trainer;

/* Bind a trainer to g (optimizer state zeroed, step 0). On failure *tr is zeroed. */
nas_status nas_ghn_trainer_init(nas_ghn_trainer *tr, nas_ghn *g, const nas_ghn_train_config *tc);
void nas_ghn_trainer_free(nas_ghn_trainer *tr);

/* Called after every step with the running figures; return false to stop (NAS_EINTERRUPTED). */
typedef bool (*nas_ghn_step_fn)(const nas_ghn_trainer *tr, double loss, double acc, void *user);

/*
 * Train g on `sp` with images ds[idx[0..n)] (the training part of a split): per step m archs
 * (valid members, random width from tc.widths), one shared batch, mean cross-entropy,
 * Adam(W) + clipping + warmup-cosine schedule over tc.steps (or the time limit). Runs from
 * tr->step until tr->tc.steps / time_limit. Non-finite steps are skipped; more than
 * max_bad_steps in a row stop with NAS_ENUMERIC. Shows nas_progress (label "ghn").
 */
nas_status nas_ghn_train(nas_ghn *g, nas_ghn_trainer *tr, const nas_space *sp,
                         const nas_dataset *ds, const int32_t *idx, int64_t n,
                         const nas_data_norm *norm, nas_ghn_step_fn on_step, void *user);

/* ---- checkpoints (src/ghn/checkpoint.c) ----------------------------------------------------- */

/*
 * A ghnas container (include/ghnas/container.h) of kind "GHN": the GHN config, the parameter
 * tensors (name, shape, data), the trained-row flags, optional trainer state (train config,
 * data info, step counters, optimizer moments); a CRC-32 trailer. Little-endian. Version 2
 * buffers (the layout before the container) are still read.
 */
#define NAS_GHN_CKPT_VERSION                                                                       \
    3 /* 3: the container; 2: shape-embedding and decoder layout of                                \
         2026-11-27 */

/* The checkpoint as heap bytes (*bytes for nas_free). tr NULL = weights only. */
nas_status nas_ghn_save_mem(const nas_ghn *g, const nas_ghn_trainer *tr, void **bytes, size_t *n);

/*
 * Load a checkpoint from memory into a fresh model built from its config (*g must be zeroed or
 * freed; it is initialised here). tr non-NULL: also restore the trainer (NAS_EFORMAT when the
 * buffer has no trainer state); info non-NULL: the recorded data info (zeroed when absent).
 * expect non-NULL: the recorded config must equal it (NAS_EINVAL naming the first mismatching
 * field). Corrupted, truncated or foreign buffers: NAS_EFORMAT naming `what` (a path, "GHN 3 of
 * the store") and what is wrong.
 */
nas_status nas_ghn_load_mem(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                            const void *bytes, size_t n, const char *what,
                            const nas_ghn_config *expect);

/* nas_ghn_save_mem written to a file atomically (temp file + rename). */
nas_status nas_ghn_save(const nas_ghn *g, const nas_ghn_trainer *tr, const char *path);

/* A GHN checkpoint file's bytes (nas_free), for nas_ghn_load_mem: the header is checked before
 * anything else is read (nas_ckpt_file_read), FIFOs and devices are refused. */
nas_status nas_ghn_read_file(const char *path, void **bytes, size_t *n);

/* nas_ghn_load_mem of a file's bytes (messages name the file; NAS_ENOTFOUND when missing). */
nas_status nas_ghn_load(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info, const char *path);

/* As nas_ghn_load, but the file's config must equal *expect: NAS_EINVAL naming the first
 * mismatching field otherwise. */
nas_status nas_ghn_load_expect(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                               const char *path, const nas_ghn_config *expect);

#ifdef __cplusplus
}
#endif
