/*
 * The ranker's common part: argument checks and refusals, the missing/constant column rule, the
 * principal directions of the embedding columns, standardisation, dispatch to the model kinds,
 * prediction, k-fold cross-validation, and freeing.
 */
#include "rank-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

nas_rank_fit_config nas_rank_fit_config_default(void) {
    nas_rank_fit_config c;
    memset(&c, 0, sizeof c);
    c.kind = NAS_RANK_GP;
    c.embed_k = 3;
    c.cv_folds = 5;
    c.seed = 1;
    return c;
}

const char *nas_rank_kind_name(nas_rank_kind k) {
    return k == NAS_RANK_RIDGE      ? "ridge"
           : k == NAS_RANK_GP       ? "gp"
           : k == NAS_RANK_PAIRWISE ? "pairwise"
                                    : "?";
}

nas_status nas_rank_kind_parse(const char *s, nas_rank_kind *k) {
    if (s && strcmp(s, "ridge") == 0) {
        *k = NAS_RANK_RIDGE;
        return NAS_OK;
    }
    if (s && strcmp(s, "gp") == 0) {
        *k = NAS_RANK_GP;
        return NAS_OK;
    }
    if (s && strcmp(s, "pairwise") == 0) {
        *k = NAS_RANK_PAIRWISE;
        return NAS_OK;
    }
    return nas_error(NAS_EINVAL, "unknown ranker model '%s' (known: ridge, gp, pairwise)",
                     s ? s : "(null)");
}

static bool is_embed_name(const char *s) {
    return strncmp(s, "emb_", 4) == 0;
}

void nas_rank_model_free(nas_rank_model *m) {
    if (!m) {
        return;
    }
    nas_free(m->names);
    nas_free(m->label_ids);
    nas_free(m->used);
    nas_free(m->e_mean);
    nas_free(m->proj);
    nas_free(m->mu);
    nas_free(m->sd);
    nas_free(m->w);
    nas_free(m->z);
    nas_free(m->alpha);
    nas_free(m->chol);
    memset(m, 0, sizeof *m);
}

/* The refusals shared by fit and cross-validation. */
static nas_status check_args(const nas_rank_fit_config *cfg, const double *X, int n, int d,
                             const char *const *names, const double *y) {
    if (!cfg || (cfg->kind != NAS_RANK_RIDGE && cfg->kind != NAS_RANK_GP &&
                 cfg->kind != NAS_RANK_PAIRWISE)) {
        return nas_error(NAS_EINVAL, "ranker fit: unknown model kind %d",
                         cfg ? (int)cfg->kind : -1);
    }
    if (cfg->embed_k < 0 || cfg->cv_folds < 0) {
        return nas_error(NAS_EINVAL, "ranker fit: embed_k %d and cv_folds %d must be >= 0",
                         cfg->embed_k, cfg->cv_folds);
    }
    if (d < 1 || !names) {
        return nas_error(NAS_EINVAL,
                         "ranker fit: dimension mismatch: %d feature columns%s (need >= 1, each "
                         "named)",
                         d, names ? "" : " and no names");
    }
    for (int c = 0; c < d; c++) {
        if (!names[c] || !names[c][0] || strlen(names[c]) >= NAS_RANK_NAME_MAX) {
            return nas_error(NAS_EINVAL,
                             "ranker fit: dimension mismatch: feature column %d of %d has no "
                             "name (or one longer than %d)",
                             c, d, NAS_RANK_NAME_MAX - 1);
        }
    }
    if (n < 3) {
        return nas_error(NAS_EINVAL, "ranker fit: %d label%s; at least 3 are needed", n,
                         n == 1 ? "" : "s");
    }
    if (!X || !y) {
        return nas_error(NAS_EINVAL, "ranker fit: no features or no labels");
    }
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            return nas_error(NAS_EINVAL, "ranker fit: label %d of %d is %g; labels must be finite",
                             i, n, y[i]);
        }
    }
    bool constant = true;
    for (int i = 1; i < n && constant; i++) {
        constant = y[i] == y[0];
    }
    if (constant) {
        return nas_error(NAS_EINVAL,
                         "ranker fit: all %d labels are equal (%g); there is nothing to rank", n,
                         y[0]);
    }
    return NAS_OK;
}

/* Centre the used embedding columns and keep their leading principal directions (rows of
 * m->proj, largest variance first, the largest-magnitude entry of each made positive). */
static nas_status fit_projection(nas_rank_model *m, const double *E, int n, int want) {
    const int e = m->n_emb;
    nas_status st = NAS_OK;
    double *C = nas_calloc((size_t)e * (size_t)e + (size_t)e, sizeof *C);
    if (!C) {
        return nas_error(NAS_ENOMEM, "ranker fit: out of memory");
    }
    double *w = C + (size_t)e * (size_t)e;
    for (int i = 0; i < n; i++) {
        const double *r = E + (size_t)i * (size_t)e;
        for (int a = 0; a < e; a++) {
            const double da = r[a] - m->e_mean[a];
            for (int b = 0; b <= a; b++) {
                C[(size_t)a * (size_t)e + (size_t)b] += da * (r[b] - m->e_mean[b]);
            }
        }
    }
    for (int a = 0; a < e; a++) {
        for (int b = 0; b <= a; b++) {
            const double v = C[(size_t)a * (size_t)e + (size_t)b] / (double)(n - 1);
            C[(size_t)a * (size_t)e + (size_t)b] = C[(size_t)b * (size_t)e + (size_t)a] = v;
        }
    }
    NAS_TRY(nas_i_rank_sym_eig(C, e, w));
    int k = 0;
    const double top = w[e - 1];
    while (k < want && k < e && top > 0.0 && w[e - 1 - k] > 1e-10 * top) {
        k++;
    }
    m->embed_k = k;
    if (k == 0) {
        goto cleanup;
    }
    m->proj = nas_malloc(sizeof *m->proj * (size_t)k * (size_t)e);
    if (!m->proj) {
        st = nas_error(NAS_ENOMEM, "ranker fit: out of memory");
        goto cleanup;
    }
    for (int j = 0; j < k; j++) {
        const double *v = C + (size_t)(e - 1 - j) * (size_t)e;
        int big = 0;
        for (int a = 1; a < e; a++) {
            big = fabs(v[a]) > fabs(v[big]) ? a : big;
        }
        const double s = v[big] < 0.0 ? -1.0 : 1.0;
        for (int a = 0; a < e; a++) {
            m->proj[(size_t)j * (size_t)e + (size_t)a] = s * v[a];
        }
    }
cleanup:
    nas_free(C);
    return st;
}

/* Model inputs before standardisation: the used plain columns, then the projections. Missing
 * values become the training means (plain: mu; embedding: e_mean, i.e. 0 after centring). */
static void raw_inputs(const nas_rank_model *m, const double *row, double *u, double *ebuf,
                       bool standardised) {
    int j = 0, ke = 0;
    for (int c = 0; c < m->d; c++) {
        if (!m->used[c]) {
            continue;
        }
        const double v = row[c];
        if (is_embed_name(m->names[c])) {
            ebuf[ke] = isfinite(v) ? v - m->e_mean[ke] : 0.0;
            ke++;
        } else {
            u[j] = isfinite(v) ? v : (standardised ? m->mu[j] : (double)NAN);
            j++;
        }
    }
    for (int k = 0; k < m->embed_k; k++) {
        double s = 0.0;
        const double *pr = m->proj + (size_t)k * (size_t)m->n_emb;
        for (int a = 0; a < m->n_emb; a++) {
            s += pr[a] * ebuf[a];
        }
        u[m->n_plain + k] = s;
    }
}

void nas_i_rank_transform(const nas_rank_model *m, const double *row, double *z) {
    double ebuf[NAS_RANK_EMBED_MAX];
    raw_inputs(m, row, z, ebuf, true);
    for (int j = 0; j < m->p; j++) {
        z[j] = (z[j] - m->mu[j]) / m->sd[j];
    }
}

/* Fit without the quality estimate (arguments checked by the caller). */
static nas_status fit_core(const nas_rank_fit_config *cfg, const double *X, int n, int d,
                           const char *const *names, const double *y, nas_rank_model *m) {
    memset(m, 0, sizeof *m);
    nas_status st = NAS_OK;
    double *E = NULL, *Z = NULL, *t = NULL;
    m->kind = cfg->kind;
    m->id = cfg->id;
    m->d = d;
    m->n = n;
    m->cv_tau = m->cv_rho = (double)NAN;
    m->names = nas_malloc((size_t)d * (sizeof(char *) + NAS_RANK_NAME_MAX));
    m->used = nas_calloc((size_t)d, 1);
    if (!m->names || !m->used) {
        st = nas_error(NAS_ENOMEM, "ranker fit: out of memory");
        goto cleanup;
    }
    char *s = (char *)(m->names + d);
    for (int c = 0; c < d; c++) {
        m->names[c] = s + (size_t)c * NAS_RANK_NAME_MAX;
        snprintf(m->names[c], NAS_RANK_NAME_MAX, "%s", names[c]);
    }
    /* the rule: a column is used when every label row has it and it is not constant */
    for (int c = 0; c < d; c++) {
        bool ok = true, varies = false;
        const double v0 = X[c];
        for (int i = 0; i < n && ok; i++) {
            const double v = X[(size_t)i * (size_t)d + (size_t)c];
            ok = isfinite(v);
            varies = varies || v != v0;
        }
        m->used[c] = ok && varies;
        if (m->used[c]) {
            if (is_embed_name(names[c])) {
                m->n_emb++;
            } else {
                m->n_plain++;
            }
        }
    }
    if (m->n_emb > NAS_RANK_EMBED_MAX) {
        st = nas_error(NAS_EINVAL, "ranker fit: %d embedding columns (at most %d)", m->n_emb,
                       NAS_RANK_EMBED_MAX);
        goto cleanup;
    }
    /* the embedding columns' mean and principal directions */
    const int want = cfg->embed_k < n - 1 ? cfg->embed_k : n - 1;
    if (m->n_emb > 0 && want > 0) {
        const int e = m->n_emb;
        m->e_mean = nas_calloc((size_t)e, sizeof *m->e_mean);
        E = nas_malloc(sizeof *E * (size_t)n * (size_t)e);
        if (!m->e_mean || !E) {
            st = nas_error(NAS_ENOMEM, "ranker fit: out of memory");
            goto cleanup;
        }
        for (int i = 0; i < n; i++) {
            int k = 0;
            for (int c = 0; c < d; c++) {
                if (m->used[c] && is_embed_name(names[c])) {
                    E[(size_t)i * (size_t)e + (size_t)k] = X[(size_t)i * (size_t)d + (size_t)c];
                    m->e_mean[k] += X[(size_t)i * (size_t)d + (size_t)c] / (double)n;
                    k++;
                }
            }
        }
        NAS_TRY(fit_projection(m, E, n, want));
    }
    if (m->embed_k == 0 && m->n_emb > 0) { /* embeddings not used at all */
        for (int c = 0; c < d; c++) {
            m->used[c] = m->used[c] && !is_embed_name(names[c]);
        }
        m->n_emb = 0;
        nas_free(m->e_mean);
        m->e_mean = NULL;
    }
    m->p = m->n_plain + m->embed_k;
    if (m->p == 0) {
        st = nas_error(NAS_EINVAL,
                       "ranker fit: no usable feature: each of the %d columns is missing in some "
                       "of the %d label rows or constant over them",
                       d, n);
        goto cleanup;
    }
    /* standardise inputs and labels */
    const int p = m->p;
    m->mu = nas_calloc((size_t)p, sizeof *m->mu);
    m->sd = nas_calloc((size_t)p, sizeof *m->sd);
    Z = nas_malloc(sizeof *Z * (size_t)n * (size_t)p);
    t = nas_malloc(sizeof *t * (size_t)n);
    if (!m->mu || !m->sd || !Z || !t) {
        st = nas_error(NAS_ENOMEM, "ranker fit: out of memory");
        goto cleanup;
    }
    double ebuf[NAS_RANK_EMBED_MAX];
    for (int i = 0; i < n; i++) {
        raw_inputs(m, X + (size_t)i * (size_t)d, Z + (size_t)i * (size_t)p, ebuf, false);
    }
    for (int j = 0; j < p; j++) {
        double mu = 0.0, ss = 0.0;
        for (int i = 0; i < n; i++) {
            mu += Z[(size_t)i * (size_t)p + (size_t)j];
        }
        mu /= (double)n;
        for (int i = 0; i < n; i++) {
            const double dv = Z[(size_t)i * (size_t)p + (size_t)j] - mu;
            ss += dv * dv;
        }
        const double sd = sqrt(ss / (double)n);
        m->mu[j] = mu;
        m->sd[j] = sd > 0.0 ? sd : 1.0;
        for (int i = 0; i < n; i++) {
            double *zij = &Z[(size_t)i * (size_t)p + (size_t)j];
            *zij = (*zij - mu) / m->sd[j];
        }
    }
    double ym = 0.0, yss = 0.0;
    for (int i = 0; i < n; i++) {
        ym += y[i];
    }
    ym /= (double)n;
    for (int i = 0; i < n; i++) {
        yss += (y[i] - ym) * (y[i] - ym);
    }
    m->y_mean = ym;
    m->y_sd = sqrt(yss / (double)n);
    for (int i = 0; i < n; i++) {
        t[i] = (y[i] - ym) / m->y_sd;
    }
    if (m->kind == NAS_RANK_RIDGE) {
        NAS_TRY(nas_i_rank_ridge_fit(m, Z, t));
    } else if (m->kind == NAS_RANK_GP) {
        NAS_TRY(nas_i_rank_gp_fit(m, Z, t));
    } else {
        NAS_TRY(nas_i_rank_pairwise_fit(m, Z, t));
    }
cleanup:
    nas_free(E);
    nas_free(Z);
    nas_free(t);
    if (st != NAS_OK) {
        nas_rank_model_free(m);
    }
    return st;
}

nas_status nas_rank_fit(const nas_rank_fit_config *cfg, const double *X, int n, int d,
                        const char *const *names, const double *y, nas_rank_model *m) {
    memset(m, 0, sizeof *m);
    NAS_CHECK(check_args(cfg, X, n, d, names, y));
    NAS_CHECK(fit_core(cfg, X, n, d, names, y, m));
    if (cfg->cv_folds >= 2 && n >= 4) {
        double *pred = nas_malloc(sizeof *pred * (size_t)n);
        if (!pred) {
            nas_rank_model_free(m);
            return nas_error(NAS_ENOMEM, "ranker fit: out of memory");
        }
        nas_status st = nas_rank_cv(cfg, X, n, d, names, y, pred, &m->cv_tau, &m->cv_rho);
        nas_free(pred);
        if (st != NAS_OK) {
            nas_rank_model_free(m);
            return nas_error_wrap(st, "ranker cross-validation");
        }
        m->cv_folds = cfg->cv_folds < n ? cfg->cv_folds : n;
    }
    if (cfg->label_ids) {
        m->label_ids = nas_malloc(sizeof *m->label_ids * (size_t)n);
        if (!m->label_ids) {
            nas_rank_model_free(m);
            return nas_error(NAS_ENOMEM, "ranker fit: out of memory");
        }
        memcpy(m->label_ids, cfg->label_ids, sizeof *m->label_ids * (size_t)n);
    }
    return NAS_OK;
}

nas_status nas_rank_predict(const nas_rank_model *m, const double *X, int n, int d, double *mean,
                            double *sd) {
    if (!m || !m->mu || (n > 0 && (!X || !mean))) {
        return nas_error(NAS_EINVAL, "ranker predict: no model or no rows");
    }
    if (d != m->d) {
        return nas_error(NAS_EINVAL,
                         "ranker predict: dimension mismatch: rows have %d feature columns, the "
                         "ranker was fitted on %d",
                         d, m->d);
    }
    const int cap = (m->n > m->p ? m->n : m->p);
    double *buf = nas_malloc(sizeof *buf * (size_t)(cap + m->p + 1));
    if (!buf) {
        return nas_error(NAS_ENOMEM, "ranker predict: out of memory");
    }
    double *z = buf + cap;
    for (int i = 0; i < n; i++) {
        nas_i_rank_transform(m, X + (size_t)i * (size_t)d, z);
        double mt = 0.0, vt = 0.0;
        if (m->kind == NAS_RANK_RIDGE) {
            nas_i_rank_ridge_predict(m, z, &mt, &vt, buf);
        } else if (m->kind == NAS_RANK_GP) {
            nas_i_rank_gp_predict(m, z, &mt, &vt, buf);
        } else {
            nas_i_rank_pairwise_predict(m, z, &mt, &vt);
        }
        mean[i] = m->y_mean + m->y_sd * mt;
        if (sd) {
            sd[i] = isnan(vt) ? (double)NAN : m->y_sd * sqrt(vt > 0.0 ? vt : 0.0);
        }
    }
    nas_free(buf);
    return NAS_OK;
}

nas_status nas_rank_cv(const nas_rank_fit_config *cfg, const double *X, int n, int d,
                       const char *const *names, const double *y, double *pred, double *tau,
                       double *rho) {
    if (tau) {
        *tau = (double)NAN;
    }
    if (rho) {
        *rho = (double)NAN;
    }
    NAS_CHECK(check_args(cfg, X, n, d, names, y));
    const int k = cfg->cv_folds < n ? cfg->cv_folds : n;
    if (n < 4 || k < 2) {
        return nas_error(NAS_EINVAL,
                         "ranker cross-validation: needs at least 4 labels and 2 folds (%d "
                         "labels, %d folds)",
                         n, cfg->cv_folds);
    }
    nas_status st = NAS_OK;
    int32_t *perm = nas_malloc(sizeof *perm * (size_t)n);
    int *fold = nas_malloc(sizeof *fold * (size_t)n);
    double *Xtr = nas_malloc(sizeof *Xtr * (size_t)n * (size_t)d);
    double *ytr = nas_malloc(sizeof *ytr * (size_t)n);
    nas_rank_model fm;
    memset(&fm, 0, sizeof fm);
    if (!perm || !fold || !Xtr || !ytr) {
        st = nas_error(NAS_ENOMEM, "ranker cross-validation: out of memory");
        goto cleanup;
    }
    nas_rng rng;
    nas_rng_seed(&rng, cfg->seed);
    for (int i = 0; i < n; i++) {
        perm[i] = i;
    }
    nas_rng_shuffle_i32(&rng, perm, (size_t)n);
    for (int i = 0; i < n; i++) {
        fold[perm[i]] = i % k;
        pred[i] = (double)NAN;
    }
    for (int f = 0; f < k; f++) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (fold[i] != f) {
                memcpy(Xtr + (size_t)m * (size_t)d, X + (size_t)i * (size_t)d,
                       sizeof *Xtr * (size_t)d);
                ytr[m++] = y[i];
            }
        }
        nas_status fs = check_args(cfg, Xtr, m, d, names, ytr);
        if (fs == NAS_OK) {
            fs = fit_core(cfg, Xtr, m, d, names, ytr, &fm);
        }
        if (fs == NAS_ENOMEM) {
            st = fs;
            goto cleanup;
        }
        if (fs != NAS_OK) { /* this fold cannot be fitted: its predictions stay NaN */
            NAS_DEBUG("ranker cross-validation: fold %d of %d: %s", f + 1, k, nas_errmsg());
            nas_error_clear();
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (fold[i] == f) {
                NAS_TRY(nas_rank_predict(&fm, X + (size_t)i * (size_t)d, 1, d, &pred[i], NULL));
            }
        }
        nas_rank_model_free(&fm);
    }
    if (tau) {
        NAS_TRY(nas_stats_kendall_tau(pred, y, n, tau));
    }
    if (rho) {
        NAS_TRY(nas_stats_spearman_rho(pred, y, n, rho));
    }
cleanup:
    nas_rank_model_free(&fm);
    nas_free(perm);
    nas_free(fold);
    nas_free(Xtr);
    nas_free(ytr);
    return st;
}
