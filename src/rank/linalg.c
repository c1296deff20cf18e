/*
 * Dense linear algebra of the rankers: Cholesky factorisation and symmetric eigenvalues from
 * the LAPACK inside OpenBLAS (dpotrf, dsyev; declared here, the only user), triangular solves as
 * plain loops (one right-hand side at a time, n is a few hundred at most).
 *
 * Row-major buffers are handed to the column-major LAPACK as their transposes, which for a
 * symmetric matrix is the matrix itself: dpotrf("U") then leaves U with A = U^T U in column-major
 * order, which read row-major is the lower factor L = U^T; dsyev's eigenvector columns read
 * row-major are rows.
 */
#include "rank-impl.h"

#include <math.h>
#include <string.h>

/* LAPACK (Fortran calling convention: everything by pointer, the lengths of character arguments
 * appended as hidden size_t arguments). */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info,
                    size_t uplo_len);
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info, size_t jobz_len,
                   size_t uplo_len);

nas_status nas_i_rank_chol(double *a, int n) {
    if (n <= 0) {
        return NAS_OK;
    }
    int info = 0;
    dpotrf_("U", &n, a, &n, &info, 1);
    if (info != 0) {
        return nas_error(NAS_ENUMERIC,
                         "cholesky: the %dx%d matrix is not positive definite (LAPACK dpotrf "
                         "info %d)",
                         n, n, info);
    }
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            a[(size_t)i * (size_t)n + (size_t)j] = 0.0;
        }
    }
    return NAS_OK;
}

void nas_i_rank_lsolve(const double *L, int n, double *b) {
    for (int i = 0; i < n; i++) {
        const double *li = L + (size_t)i * (size_t)n;
        double s = b[i];
        for (int k = 0; k < i; k++) {
            s -= li[k] * b[k];
        }
        b[i] = s / li[i];
    }
}

void nas_i_rank_ltsolve(const double *L, int n, double *b) {
    for (int i = n - 1; i >= 0; i--) {
        double s = b[i];
        for (int k = i + 1; k < n; k++) {
            s -= L[(size_t)k * (size_t)n + (size_t)i] * b[k];
        }
        b[i] = s / L[(size_t)i * (size_t)n + (size_t)i];
    }
}

void nas_i_rank_chol_solve(const double *L, int n, double *b) {
    nas_i_rank_lsolve(L, n, b);
    nas_i_rank_ltsolve(L, n, b);
}

double nas_i_rank_chol_logdet(const double *L, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        s += log(L[(size_t)i * (size_t)n + (size_t)i]);
    }
    return 2.0 * s;
}

nas_status nas_i_rank_sym_eig(double *a, int n, double *w) {
    if (n <= 0) {
        return NAS_OK;
    }
    int lwork = (n + 34) * n, info = 0;
    double *work = nas_malloc(sizeof *work * (size_t)lwork);
    if (!work) {
        return nas_error(NAS_ENOMEM, "eigenvalues: out of memory (%d x %d)", n, n);
    }
    dsyev_("V", "U", &n, a, &n, w, work, &lwork, &info, 1, 1);
    nas_free(work);
    if (info != 0) {
        return nas_error(NAS_ENUMERIC, "eigenvalues of a %dx%d matrix: LAPACK dsyev info %d", n, n,
                         info);
    }
    return NAS_OK;
}
