/*
 * Internals of the learned rankers (src/rank): dense linear algebra in double precision on top of
 * LAPACK (linalg.c), the two model families (ridge.c, gp.c) working on standardised inputs, and
 * the input transform every model shares (model.c).
 */
#pragma once

#include "ghnas/rank.h"

/* ---- linear algebra (linalg.c), row-major ------------------------------------------------- */

/*
 * Cholesky factor of the symmetric positive definite a[n, n] in place: afterwards the lower
 * triangle holds L (a = L L^T) and the strict upper triangle is zero. NAS_ENUMERIC when a is not
 * positive definite (LAPACK dpotrf).
 */
nas_status nas_i_rank_chol(double *a, int n);
/* Solve L x = b in place (b[n]), L from nas_i_rank_chol. */
void nas_i_rank_lsolve(const double *L, int n, double *b);
/* Solve L^T x = b in place. */
void nas_i_rank_ltsolve(const double *L, int n, double *b);
/* Solve (L L^T) x = b in place. */
void nas_i_rank_chol_solve(const double *L, int n, double *b);
/* log det (L L^T) = 2 sum log L_ii. */
double nas_i_rank_chol_logdet(const double *L, int n);

/*
 * Eigen-decomposition of the symmetric a[n, n] (LAPACK dsyev): eigenvalues w[n] ascending, and a
 * is overwritten so that row k is the unit eigenvector of w[k]. NAS_ENUMERIC when it does not
 * converge, NAS_ENOMEM.
 */
nas_status nas_i_rank_sym_eig(double *a, int n, double *w);

/* ---- models ------------------------------------------------------------------------------- */

/*
 * Fit m's kind-specific part on standardised inputs z[m->n, m->p] and standardised labels t[n]
 * (mean 0, sd 1). The fields a kind uses are allocated here; m->n and m->p are set by the caller.
 */
nas_status nas_i_rank_ridge_fit(nas_rank_model *m, const double *z, const double *t);
nas_status nas_i_rank_gp_fit(nas_rank_model *m, const double *z, const double *t);
nas_status nas_i_rank_pairwise_fit(nas_rank_model *m, const double *z, const double *t);

/* Prediction for one standardised input z[p] in standardised label units: mean and variance of
 * the mean. scratch has room for max(n, p) doubles. */
void nas_i_rank_ridge_predict(const nas_rank_model *m, const double *z, double *mean, double *var,
                              double *scratch);
void nas_i_rank_gp_predict(const nas_rank_model *m, const double *z, double *mean, double *var,
                           double *scratch);
/* var is NaN: the pairwise model has none. */
void nas_i_rank_pairwise_predict(const nas_rank_model *m, const double *z, double *mean,
                                 double *var);

/*
 * The GP log marginal likelihood of t[n] under the kernel s2 * (R + ratio I), R_ij =
 * exp(-|z_i - z_j|^2 / (2 length^2)), with s2 profiled out: *s2 = t^T (R + ratio I)^-1 t / n and
 * *lml = -n/2 (1 + log(2 pi s2)) - 1/2 log det(R + ratio I). chol (n x n scratch) receives the
 * Cholesky factor of R + ratio I, alpha[n] its solve with t. NAS_ENUMERIC when not positive
 * definite.
 */
nas_status nas_i_rank_gp_lml(const double *z, int n, int p, const double *t, double length,
                             double ratio, double *chol, double *alpha, double *lml, double *s2);

/* A row of the model's input layout (d columns) to standardised model inputs z[m->p] (missing
 * values replaced by training means, see rank.h). */
void nas_i_rank_transform(const nas_rank_model *m, const double *row, double *z);
