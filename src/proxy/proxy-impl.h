/*
 * Internals shared by the files of src/proxy: the proxy table, the tape forward pass with weights
 * given as float arrays, the per-proxy kernels and the double-precision linear algebra.
 */
#pragma once

#include "ghnas/proxy.h"
#include "ghnas/tensor.h"

typedef enum nas_i_proxy {
    NAS_I_PROXY_GRAD_NORM = 0,
    NAS_I_PROXY_SNIP = 1,
    NAS_I_PROXY_SYNFLOW = 2,
    NAS_I_PROXY_JACOB_COV = 3,
    NAS_I_PROXY_NASWOT = 4,
    NAS_I_PROXY_COUNT
} nas_i_proxy;

/* Proxy by name; NAS_ENOTFOUND listing the names. */
nas_status nas_i_proxy_find(const char *name, nas_i_proxy *out);
const char *nas_i_proxy_name(nas_i_proxy p);

/* Is slot s a conv or linear weight (the tensors the proxies sum over)? */
bool nas_i_proxy_scored_slot(const nas_net *net, int s);

/*
 * Forward pass on `t` (BN with batch statistics, no running statistics) with the slot values
 * copied into step tensors. weight_grad: conv and linear weights require a gradient (*wt gets the
 * [n_slots] tensors). x_grad: the input requires a gradient (*xt gets it). node_out: optional
 * [n_nodes] outputs. Returns the logits or NULL with the status in nas_tape_status(t).
 */
nas_tensor *nas_i_proxy_forward(nas_tape *t, const nas_net *net, const float *const *w,
                                const float *x, int batch, bool weight_grad, bool x_grad,
                                nas_tensor ***wt, nas_tensor **xt, nas_tensor **node_out);

/* Kernels (one file each); inputs are checked by the dispatcher. */
nas_status nas_i_proxy_gradient(nas_i_proxy which, const nas_net *net, const float *const *w,
                                const float *x, const int32_t *labels, int batch, double *value);
nas_status nas_i_proxy_synflow(const nas_net *net, const float *const *w, double *value);
nas_status nas_i_proxy_jacob_cov(const nas_net *net, const float *const *w, const float *x,
                                 int batch, double *value);
nas_status nas_i_proxy_naswot(const nas_net *net, const float *const *w, const float *x, int batch,
                              double *value);

/* jacob_cov's score of Jacobian rows J [n, d]: -sum[log(l + 1e-5) + 1/(l + 1e-5)] over the
 * eigenvalues l of corrcoef(J). NAS_ENUMERIC (naming the row) when a row is constant. */
nas_status nas_i_jacob_score(const float *J, int n, int64_t d, double *value);

/* naswot's kernel from binary codes: codes [n, words] bit-packed rows of `units` bits each (unused
 * trailing bits zero); K[i * n + j] += units - popcount(row_i xor row_j), i.e. the number of
 * units on which samples i and j agree. */
void nas_i_naswot_accumulate(const uint64_t *codes, int n, int64_t words, int64_t units,
                             int64_t *K);

/* ---- seeded path (proxy.c) ------------------------------------------------------------------- */

/* Check a configuration on its own (dataset, subset, batch, normalisation). */
nas_status nas_i_proxy_check_config(const nas_proxy_config *cfg);
/* Draw cfg->batch examples (see proxy.h): *x [batch, c, h, w] and *y [batch], nas_malloc'ed. */
nas_status nas_i_proxy_draw(const nas_proxy_config *cfg, float **x, int32_t **y);
/* The proxy on a drawn batch of c x h x w images with weights seeded from `seed`; checks that
 * the batch fits the net (image shape, labels below the net's classes). */
nas_status nas_i_proxy_seeded(nas_i_proxy p, const nas_net *net, const float *x, const int32_t *y,
                              int batch, int c, int h, int w, uint64_t seed, double *value);

/* ---- linear algebra (linalg.c), double precision, row-major n x n ------------------------- */

/* log|det a| and its sign (+1, -1; 0 and -inf when singular) by LU with partial pivoting.
 * a is overwritten. */
void nas_i_slogdet(double *a, int n, double *logabsdet, int *sign);

/* Eigenvalues of the symmetric matrix a (only symmetric input is meaningful) in ascending order,
 * by cyclic Jacobi rotations. a is overwritten. NAS_ENUMERIC if it does not converge or a is not
 * finite; NAS_ENOMEM. */
nas_status nas_i_eigh(double *a, int n, double *eig);

/* corrcoef of n rows of length d (numpy.corrcoef, clipped to [-1, 1]) into c [n, n]. Returns -1
 * on success, -2 when out of memory (no message set), else the index of a constant row (c is
 * then undefined). */
int nas_i_corrcoef(const float *rows, int n, int64_t d, double *c);
