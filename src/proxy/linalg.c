/*
 * Small dense linear algebra in double precision for the proxies: log|det| by LU with partial
 * pivoting (naswot), symmetric eigenvalues by cyclic Jacobi rotations and numpy-style corrcoef
 * (jacob_cov). The matrices are batch x batch (64..256), so plain loops are fast enough.
 */
#include "proxy-impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

void nas_i_slogdet(double *a, int n, double *logabsdet, int *sign) {
    int sg = 1;
    double ld = 0.0;
    for (int k = 0; k < n; k++) {
        int p = k;
        double best = fabs(a[(size_t)k * (size_t)n + (size_t)k]);
        for (int i = k + 1; i < n; i++) {
            double v = fabs(a[(size_t)i * (size_t)n + (size_t)k]);
            if (v > best) {
                best = v;
                p = i;
            }
        }
        if (!(best > 0.0)) { /* exactly singular (or NaN) */
            *sign = 0;
            *logabsdet = isnan(best) ? (double)NAN : -(double)INFINITY;
            return;
        }
        double *rk = a + (size_t)k * (size_t)n;
        if (p != k) {
            double *rp = a + (size_t)p * (size_t)n;
            for (int j = 0; j < n; j++) {
                double tmp = rk[j];
                rk[j] = rp[j];
                rp[j] = tmp;
            }
            sg = -sg;
        }
        double piv = rk[k];
        if (piv < 0.0) {
            sg = -sg;
        }
        ld += log(fabs(piv));
        for (int i = k + 1; i < n; i++) {
            double *ri = a + (size_t)i * (size_t)n;
            double f = ri[k] / piv;
            if (f == 0.0) {
                continue;
            }
            for (int j = k + 1; j < n; j++) {
                ri[j] -= f * rk[j];
            }
        }
    }
    *sign = sg;
    *logabsdet = ld;
}

/* Sum of squares of the strictly upper triangle and of the whole matrix. */
static void off_norms(const double *a, int n, double *off, double *all) {
    double o = 0.0, t = 0.0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double v = a[(size_t)i * (size_t)n + (size_t)j];
            t += v * v;
            if (j > i) {
                o += v * v;
            }
        }
    }
    *off = o;
    *all = t;
}

/* One Jacobi rotation in the (p, q) plane that zeroes a[p][q] (a symmetric, both triangles kept
 * up to date). */
static void rotate(double *a, int n, int p, int q) {
    size_t N = (size_t)n;
    double apq = a[(size_t)p * N + (size_t)q];
    double app = a[(size_t)p * N + (size_t)p];
    double aqq = a[(size_t)q * N + (size_t)q];
    double theta = (aqq - app) / (2.0 * apq);
    double t;
    if (fabs(theta) > 1e150) {
        t = 0.5 / theta; /* theta^2 would overflow; t ~ 1 / (2 theta) */
    } else {
        t = 1.0 / (fabs(theta) + sqrt(theta * theta + 1.0));
        if (theta < 0.0) {
            t = -t;
        }
    }
    double c = 1.0 / sqrt(t * t + 1.0);
    double s = t * c;
    for (int r = 0; r < n; r++) {
        if (r == p || r == q) {
            continue;
        }
        double arp = a[(size_t)r * N + (size_t)p];
        double arq = a[(size_t)r * N + (size_t)q];
        double np = c * arp - s * arq;
        double nq = s * arp + c * arq;
        a[(size_t)r * N + (size_t)p] = a[(size_t)p * N + (size_t)r] = np;
        a[(size_t)r * N + (size_t)q] = a[(size_t)q * N + (size_t)r] = nq;
    }
    a[(size_t)p * N + (size_t)p] = app - t * apq;
    a[(size_t)q * N + (size_t)q] = aqq + t * apq;
    a[(size_t)p * N + (size_t)q] = a[(size_t)q * N + (size_t)p] = 0.0;
}

nas_status nas_i_eigh(double *a, int n, double *eig) {
    size_t N = (size_t)n;
    for (size_t i = 0; i < N * N; i++) {
        if (!isfinite(a[i])) {
            return nas_error(NAS_ENUMERIC, "eigenvalues: the matrix has a non-finite entry");
        }
    }
    /* symmetrise exactly: the rotations assume both triangles agree */
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            double m = 0.5 * (a[(size_t)i * N + (size_t)j] + a[(size_t)j * N + (size_t)i]);
            a[(size_t)i * N + (size_t)j] = a[(size_t)j * N + (size_t)i] = m;
        }
    }
    bool converged = false;
    for (int sweep = 0; sweep < 100 && !converged; sweep++) {
        double off, all;
        off_norms(a, n, &off, &all);
        if (off == 0.0 || off <= DBL_EPSILON * DBL_EPSILON * 1e-2 * all) {
            converged = true;
            break;
        }
        for (int p = 0; p < n; p++) {
            for (int q = p + 1; q < n; q++) {
                double apq = a[(size_t)p * N + (size_t)q];
                if (apq == 0.0) {
                    continue;
                }
                double app = fabs(a[(size_t)p * N + (size_t)p]);
                double aqq = fabs(a[(size_t)q * N + (size_t)q]);
                double g = 100.0 * fabs(apq);
                if (sweep > 3 && app + g == app && aqq + g == aqq) {
                    /* below the rounding of both diagonal entries: drop it */
                    a[(size_t)p * N + (size_t)q] = a[(size_t)q * N + (size_t)p] = 0.0;
                    continue;
                }
                rotate(a, n, p, q);
            }
        }
    }
    if (!converged) {
        double off, all;
        off_norms(a, n, &off, &all);
        converged = off <= DBL_EPSILON * all;
    }
    if (!converged) {
        return nas_error(NAS_ENUMERIC, "eigenvalues: Jacobi iteration did not converge (%d x %d)",
                         n, n);
    }
    for (int i = 0; i < n; i++) {
        eig[i] = a[(size_t)i * N + (size_t)i];
    }
    for (int i = 1; i < n; i++) { /* insertion sort, ascending */
        double v = eig[i];
        int j = i - 1;
        while (j >= 0 && eig[j] > v) {
            eig[j + 1] = eig[j];
            j--;
        }
        eig[j + 1] = v;
    }
    return NAS_OK;
}

int nas_i_corrcoef(const float *rows, int n, int64_t d, double *c) {
    size_t N = (size_t)n;
    /* c[i][i] first holds the centred squared norm of row i */
    double *z = nas_malloc(N * (size_t)d * sizeof *z); /* [n, d] centred rows */
    if (!z) {
        return -2;
    }
    for (int i = 0; i < n; i++) {
        const float *r = rows + (size_t)i * (size_t)d;
        double *zi = z + (size_t)i * (size_t)d;
        double mean = 0.0;
        for (int64_t k = 0; k < d; k++) {
            mean += (double)r[k];
        }
        mean /= (double)d;
        for (int64_t k = 0; k < d; k++) {
            zi[k] = (double)r[k] - mean;
        }
    }
    for (int i = 0; i < n; i++) {
        const double *zi = z + (size_t)i * (size_t)d;
        for (int j = i; j < n; j++) {
            const double *zj = z + (size_t)j * (size_t)d;
            double s = 0.0;
            for (int64_t k = 0; k < d; k++) {
                s += zi[k] * zj[k];
            }
            c[(size_t)i * N + (size_t)j] = c[(size_t)j * N + (size_t)i] = s;
        }
    }
    nas_free(z);
    for (int i = 0; i < n; i++) {
        if (!(c[(size_t)i * N + (size_t)i] > 0.0)) {
            return i;
        }
    }
    double *sd = nas_malloc(N * sizeof *sd); /* [n] root of the centred squared norms */
    if (!sd) {
        return -2;
    }
    for (int i = 0; i < n; i++) {
        sd[i] = sqrt(c[(size_t)i * N + (size_t)i]);
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double v = c[(size_t)i * N + (size_t)j] / sd[i] / sd[j];
            c[(size_t)i * N + (size_t)j] = v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v;
        }
    }
    nas_free(sd);
    return -1;
}
