/*
 * Winograd F(2x2, 3x3) convolution for 3x3 stride-1 convs (src/tensor/ops_winograd.c).
 *
 * Private to the conv op (ops_conv.c): the forward pass uses it for y, the backward pass for dx
 * (dx is the stride-1 conv of dy padded by 2 - pad with the weights transposed per group and
 * flipped, see nas_i_wino_transposed) and for dw. Each 2x2 output tile costs 16 products per
 * (input, output) channel pair instead of 36, computed as 16 GEMMs
 *     M[xi] [tiles, cout_g] = V[xi] [tiles, cin_g] x U[xi] [cin_g, cout_g],   xi = 0..15,
 * between the transformed 4x4 input tiles V = B^T d B and the transformed weights
 * U = G g G^T; the outputs are Y = A^T M A (Lavin and Gray's F(2x2, 3x3) matrices). The
 * weight gradient is dU[xi] = sum over tiles of (A dy A^T)[xi] V[xi], dw = G^T dU G. Tiles are
 * kept channel-last, so every transform is a vector loop over the channels.
 */
#pragma once

#include "ref-impl.h"
#include "tape-impl.h"

/* Does the Winograd kernel serve this conv (3x3, stride 1, dilation 1, pad <= 2, enough
 * channels per group for its GEMMs)? */
bool nas_i_wino_applies(const nas_i_conv_geom *g);

/* Geometry of the conv whose output is dx for the conv g (nas_i_wino_applies(g) must hold):
 * input dy [n, cout, ho, wo], output [n, cin, h, w], pad 2 - g->pad. */
nas_i_conv_geom nas_i_wino_transposed(const nas_i_conv_geom *g);

/* Floats of transformed weights: 16 * cout * cin_g. */
size_t nas_i_wino_weights_size(const nas_i_conv_geom *g);

/* u [16, groups, cin_g, cout_g] = G w G^T of w [cout, cin_g, 3, 3] for the conv g, output
 * channels [co0, co1) only (threads split the channels). With `transposed`, g is the conv of
 * nas_i_wino_transposed(g0) and w the weights [g0.cout, g0.cin_g, 3, 3] of the original conv
 * g0: u then holds the transposed, flipped weights of the dx conv. */
void nas_i_wino_weights(const nas_i_conv_geom *g, const float *w, bool transposed, float *u,
                        int64_t co0, int64_t co1);

/* Per-thread scratch floats of nas_i_wino_run. */
size_t nas_i_wino_scratch(const nas_i_conv_geom *g);

/* Images [n0, n1) of the conv g: y = conv(x) + b (b may be NULL), or y += conv(x) when `acc`
 * (b must be NULL then). u from nas_i_wino_weights; scratch: nas_i_wino_scratch(g) floats of
 * the calling thread. Single-threaded (call it per thread on disjoint image ranges). */
void nas_i_wino_run(const nas_i_conv_geom *g, const float *u, const float *x, const float *b,
                    float *y, bool acc, int64_t n0, int64_t n1, float *scratch);

/* Floats of a weight-gradient accumulator du [16, cout, cin_g] (transformed domain). */
size_t nas_i_wino_dw_size(const nas_i_conv_geom *g);

/* du += the transformed weight gradient of images [n0, n1) of the conv g: for every xi,
 * du[xi] [cout_g, cin_g] += sum over tiles of (A dy A^T)[xi] (B^T x B)[xi]. scratch:
 * nas_i_wino_scratch(g) floats of the calling thread. Single-threaded. */
void nas_i_wino_dw_run(const nas_i_conv_geom *g, const float *x, const float *dy, int64_t n0,
                       int64_t n1, float *scratch, float *du);

/* dw [cout, cin_g, 3, 3] += G^T du G for output channels [co0, co1). */
void nas_i_wino_dw_finish(const nas_i_conv_geom *g, const float *du, float *dw, int64_t co0,
                          int64_t co1);
