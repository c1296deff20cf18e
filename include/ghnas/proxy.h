/*
 * ghnas zero-cost proxies (src/proxy): scores of a compiled network at initialisation, from one
 * minibatch and no training (references/nas.md §5; SamsungLabs/zero-cost-nas and
 * BayesWatch/nas-without-training). All are higher-is-better:
 *
 *   grad_norm  sum over conv and linear weight tensors W of ||dL/dW||_2, L = mean softmax
 *              cross-entropy of the batch (BN with batch statistics)
 *   snip       sum over the same weights of |W * dL/dW|
 *   synflow    W <- |W| for conv and linear weights, BN bypassed (the identity, as published),
 *              one all-ones input, R = sum of the logits; sum of |W * dR/dW|, computed in double
 *              precision by a separate interpreter of the net IR (the raw sum, not a logarithm;
 *              it can be very large)
 *   jacob_cov  J = gradient of the sum of all logits with respect to the input batch (one backward
 *              pass, BN with batch statistics, so a row is "sample i's Jacobian" as published);
 *              lambda = eigenvalues of corrcoef(J rows); -sum[log(lambda + 1e-5) +
 *              1 / (lambda + 1e-5)]
 *   naswot     binary codes c = [relu output > 0] of every ReLU node (each sample's units of one
 *              node as a vector), K = sum over ReLU nodes of c c^T + (1 - c)(1 - c)^T, score =
 *              log|det K| (double precision LU). Equal codes for two samples make K singular and
 *              the score -inf (what numpy's slogdet returns).
 *
 * Weights for the seeded entry points are nas_net_model_init(NAS_NET_INIT_TORCH): PyTorch's own
 * reset_parameters for conv and linear, BN gamma 1 and beta 0. This is what zero-cost-nas uses
 * on NAS-Bench-201 (its default --init_w_type none keeps the network's own initialisation).
 * The batch is `batch` examples drawn without replacement from the configured subset by a
 * stream of the seed; the weights come from another stream of the same seed. One batch serves
 * every proxy (zero-cost-nas uses 64; the naswot paper 128).
 *
 * Memory: the tape proxies keep every node output of the batch (nas_net_forward): a peak of
 * about 0.9 GB for NB201 C=16 N=5 on 64 Fashion-MNIST images (1.2 GB at 3x32x32); synflow needs
 * two doubles per activation of one sample.
 *
 *     nas_proxy_config pc = {.ds = &train, .idx = split.train, .n = split.n_train,
 *                            .norm = norm, .batch = 64, .seed = 1, .data_id = "fmnist train"};
 *     double v;
 *     if (nas_proxy_compute("synflow", &net, &pc, &v) != NAS_OK) ... nas_errmsg() ...
 *
 *     nas_proxy_batch b;                                    // many nets, one batch
 *     if (nas_proxy_batch_draw(&b, &pc) != NAS_OK) ... nas_errmsg() ...
 *     nas_proxy_compute_batch("jacob_cov", &net, &b, &v);  ...;  nas_proxy_batch_free(&b);
 *
 * As scorers for the search controller the proxies are registered in src/score (score.h:
 * nas_score_make, nas_scorer_proxy).
 *
 * With explicit weights and data (e.g. to compare with a PyTorch twin):
 *
 *     // w: net.n_slots pointers, w[s] = net.slots[s].numel floats in the slot's shape
 *     nas_proxy_compute_with("snip", &net, w, x, labels, batch, &v);
 *
 * Thread safety: every call works on its own tapes and buffers; any number of threads may score
 * different (or the same) compiled nets with one configuration or one scorer concurrently.
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/data.h"
#include "ghnas/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the seeded entry points need; pointers are not owned. The scorer copies the batch it
 * draws, so ds and idx need only live through nas_scorer_proxy. */
typedef struct nas_proxy_config {
    const nas_dataset *ds; /* images and labels */
    const int32_t *idx;    /* [n] indices into ds the batch is drawn from; NULL = 0..n-1 */
    int64_t n;             /* size of that subset, >= batch */
    nas_data_norm norm;    /* input normalisation (norm.c must equal ds->c) */
    int batch;             /* examples in the one minibatch, >= 1 (zero-cost-nas: 64) */
    uint64_t seed;         /* weight initialisation and batch draw */
    const char *data_id;   /* where the images come from, for the scorer recipe (NULL: "data") */
} nas_proxy_config;

/* "grad_norm, snip, synflow, jacob_cov, naswot" for messages and help. */
const char *nas_proxy_names(void);

/* The proxies by index 0 .. nas_proxy_count()-1 (in the order above); "?" out of range. */
int nas_proxy_count(void);
const char *nas_proxy_name(int index);
/* The index of proxy `name`; NAS_ENOTFOUND "unknown proxy 'x' (known: ...)". */
nas_status nas_proxy_find(const char *name, int *index);

/*
 * One proxy of `net` with explicit weights: w[s] holds slot s's values (net->slots[s].numel
 * floats), x [batch, in_c, in_h, in_w] the normalised inputs, labels [batch] in [0, classes)
 * (only grad_norm and snip read them; NULL is fine otherwise). synflow reads neither x nor labels
 * (it feeds one all-ones input) but batch must still be >= 1. On failure *value is NaN:
 * NAS_ENOTFOUND for an unknown name (the message lists the known ones), NAS_EINVAL for bad
 * arguments, the forward pass's status (its message names the node) when the net does not run,
 * NAS_ENUMERIC when the score is not finite (NaN loss, constant Jacobian rows, synflow beyond
 * double range). naswot's -inf (singular K) is a result, not an error.
 */
nas_status nas_proxy_compute_with(const char *name, const nas_net *net, const float *const *w,
                                  const float *x, const int32_t *labels, int batch, double *value);

/* One proxy with seeded weights and a seeded batch from cfg (see the top of this file). Besides
 * the errors above: NAS_EINVAL when cfg is incomplete or does not fit the net (image shape,
 * channels, labels beyond the net's classes). */
nas_status nas_proxy_compute(const char *name, const nas_net *net, const nas_proxy_config *cfg,
                             double *value);

/* One seeded batch drawn once (nas_proxy_batch_draw) to score many nets on the same images, as
 * the proxy scorers do; read-only after the draw, so threads may share it. */
typedef struct nas_proxy_batch {
    float *x;      /* [batch, c, h, w] normalised images */
    int32_t *y;    /* [batch] labels */
    int batch;     /* examples */
    int c, h, w;   /* image shape */
    uint64_t seed; /* weight initialisation */
} nas_proxy_batch;

/* Draw cfg->batch examples from cfg's subset by a stream of cfg->seed (as nas_proxy_compute
 * does). NAS_EINVAL when cfg is incomplete, NAS_ENOMEM; *out is zeroed on failure. */
nas_status nas_proxy_batch_draw(nas_proxy_batch *out, const nas_proxy_config *cfg);
/* Free the batch's arrays and zero it; NULL is harmless. */
void nas_proxy_batch_free(nas_proxy_batch *b);

/* One proxy of `net` on a drawn batch with weights seeded from b->seed: the same value as
 * nas_proxy_compute with the configuration the batch was drawn from. Errors as there. */
nas_status nas_proxy_compute_batch(const char *name, const nas_net *net, const nas_proxy_batch *b,
                                   double *value);

#ifdef __cplusplus
}
#endif
