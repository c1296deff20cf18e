/*
 * The BLAS boundary: the only file that includes cblas.h.
 *
 * Threading policy: OpenBLAS is the OpenMP build. nas_set_threads() sets both the OpenMP team
 * size used by our kernels and OpenBLAS's thread count ("one big network" regime). Inside an
 * OpenMP parallel region (the "many small networks" regime: one candidate per thread) the
 * OpenMP build of OpenBLAS runs single-threaded by itself, and our kernels ask
 * nas_i_threads_for(), which returns 1 there.
 */
#include "tape-impl.h"

#include <cblas.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static int n_threads; /* 0 = not set yet: use the OpenMP default */

void nas_set_threads(int n) {
    if (n < 1) {
        n = 1;
    }
    n_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}

int nas_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int nas_get_threads(void) {
    if (n_threads > 0) {
        return n_threads;
    }
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void nas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) {
        return;
    }
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++) {
            for (int64_t j = 0; j < N; j++) {
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            }
        }
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta,
                C, (blasint)ldc);
}

void nas_sgemm_ref(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                acc += a * b;
            }
            double c = beta == 0.0f ? 0.0 : (double)beta * (double)C[i * ldc + j];
            C[i * ldc + j] = (float)((double)alpha * acc + c);
        }
    }
}
