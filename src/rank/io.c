/*
 * Saving and loading rankers in the checkpoint container (kind "GHNASRNK", container.h), and the
 * identity check that keeps a ranker to the space, data set and GHN it was fitted for.
 *
 * Sections (version 1):
 *   identity    record: str space, str dataset, i64 ghn_id
 *   model       record: i32 kind, d, n, p, n_plain, n_emb, embed_k, n_chol, cv_folds;
 *                       f64 y_mean, y_sd, lambda, s2, length, signal_var, noise_var, lml,
 *                       cv_tau, cv_rho, intercept
 *   names       record: d strings (the input columns)
 *   used        u8 [d]
 *   standardise f64 [2, p] (means, then standard deviations)
 *   e_mean      f64 [n_emb], proj f64 [embed_k, n_emb]     (when embed_k > 0)
 *   weights     f64 [p]                                     (ridge, pairwise)
 *   train_z     f64 [n, p], alpha f64 [n]                   (gp)
 *   chol        f64 [n_chol, n_chol]                        (ridge, gp)
 *   label_ids   i64 [n]                                     (when the caller gave them)
 */
#include "rank-impl.h"

#include "ghnas/container.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const nas_ckpt_kind RANK_KIND = {
    {'R', 'N', 'K', '\0'}, "ranker", NAS_RANK_CKPT_VERSION, "fit the ranker again"};

static void add_f64(nas_ckpt_writer *w, const char *name, int ndim, int64_t d0, int64_t d1,
                    const double *v) {
    const int64_t dims[2] = {d0, d1};
    nas_ckpt_add(w, name, NAS_CKPT_F64, ndim, dims, v);
}

nas_status nas_rank_save(const nas_rank_model *m, void **bytes, size_t *n) {
    *bytes = NULL;
    *n = 0;
    if (!m || !m->mu) {
        return nas_error(NAS_EINVAL, "ranker save: no fitted model");
    }
    nas_status st = NAS_OK;
    double *msd = nas_malloc(sizeof *msd * 2 * (size_t)m->p);
    if (!msd) {
        return nas_error(NAS_ENOMEM, "ranker save: out of memory");
    }
    memcpy(msd, m->mu, sizeof *msd * (size_t)m->p);
    memcpy(msd + m->p, m->sd, sizeof *msd * (size_t)m->p);
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &RANK_KIND);
    nas_ckpt_record_begin(&w, "identity");
    nas_ckpt_put_str(&w, m->id.space);
    nas_ckpt_put_str(&w, m->id.dataset);
    nas_ckpt_put_i64(&w, m->id.ghn_id);
    nas_ckpt_record_end(&w);
    nas_ckpt_record_begin(&w, "model");
    const int32_t ints[9] = {(int32_t)m->kind, m->d,       m->n,      m->p,       m->n_plain,
                             m->n_emb,         m->embed_k, m->n_chol, m->cv_folds};
    for (int i = 0; i < 9; i++) {
        nas_ckpt_put_i32(&w, ints[i]);
    }
    const double reals[11] = {m->y_mean, m->y_sd,       m->lambda,    m->s2,
                              m->length, m->signal_var, m->noise_var, m->lml,
                              m->cv_tau, m->cv_rho,     m->intercept};
    for (int i = 0; i < 11; i++) {
        nas_ckpt_put_f64(&w, reals[i]);
    }
    nas_ckpt_record_end(&w);
    nas_ckpt_record_begin(&w, "names");
    for (int c = 0; c < m->d; c++) {
        nas_ckpt_put_str(&w, m->names[c]);
    }
    nas_ckpt_record_end(&w);
    nas_ckpt_add(&w, "used", NAS_CKPT_U8, 1, (int64_t[]){m->d}, m->used);
    add_f64(&w, "standardise", 2, 2, m->p, msd);
    if (m->embed_k > 0) {
        add_f64(&w, "e_mean", 1, m->n_emb, 0, m->e_mean);
        add_f64(&w, "proj", 2, m->embed_k, m->n_emb, m->proj);
    }
    if (m->kind == NAS_RANK_GP) {
        add_f64(&w, "train_z", 2, m->n, m->p, m->z);
        add_f64(&w, "alpha", 1, m->n, 0, m->alpha);
    } else {
        add_f64(&w, "weights", 1, m->p, 0, m->w);
    }
    if (m->n_chol > 0) {
        add_f64(&w, "chol", 2, m->n_chol, m->n_chol, m->chol);
    }
    if (m->label_ids) {
        nas_ckpt_add(&w, "label_ids", NAS_CKPT_I64, 1, (int64_t[]){m->n}, m->label_ids);
    }
    st = nas_ckpt_writer_finish(&w, bytes, n);
    nas_free(msd);
    return st;
}

/* An f64 section of exactly `count` elements into a fresh array. */
static nas_status read_f64(const nas_ckpt_reader *r, const char *name, int64_t count,
                           double **out) {
    const nas_ckpt_section *s;
    NAS_CHECK(nas_ckpt_find(r, name, NAS_CKPT_F64, &s));
    if (s->count != count) { /* before allocating what a damaged header claims */
        return nas_error(NAS_EFORMAT, "%s: section '%s' has %lld values, the model needs %lld",
                         r->what, name, (long long)s->count, (long long)count);
    }
    *out = nas_malloc(sizeof **out * (size_t)(count > 0 ? count : 1));
    if (!*out) {
        return nas_error(NAS_ENOMEM, "%s: out of memory", r->what);
    }
    NAS_CHECK(nas_ckpt_section_read(r, s, *out, count));
    for (int64_t i = 0; i < count; i++) {
        if (isnan((*out)[i])) {
            return nas_error(NAS_EFORMAT, "%s: section '%s' holds NaN", r->what, name);
        }
    }
    return NAS_OK;
}

/* The identity check: empty expected strings are not compared. */
static nas_status check_identity(const nas_rank_identity *have, const nas_rank_identity *want,
                                 const char *what) {
    if (want->space[0] && strcmp(have->space, want->space) != 0) {
        return nas_error(NAS_EINVAL,
                         "%s was fitted on search space '%s' and cannot rank architectures of "
                         "'%s'; fit a ranker on that space",
                         what, have->space, want->space);
    }
    if (want->dataset[0] && strcmp(have->dataset, want->dataset) != 0) {
        return nas_error(NAS_EINVAL,
                         "%s was fitted on trainings on data set '%s' and cannot rank for '%s'; "
                         "fit a ranker on that data set",
                         what, have->dataset, want->dataset);
    }
    if (have->ghn_id > 0 && have->ghn_id != want->ghn_id) {
        if (want->ghn_id > 0) {
            return nas_error(NAS_EINVAL,
                             "%s uses the features of GHN %lld and cannot rank with GHN %lld; fit "
                             "a ranker with that GHN",
                             what, (long long)have->ghn_id, (long long)want->ghn_id);
        }
        return nas_error(NAS_EINVAL, "%s uses the features of GHN %lld; it needs that GHN", what,
                         (long long)have->ghn_id);
    }
    return NAS_OK;
}

nas_status nas_rank_load(const void *bytes, size_t n, const char *what,
                         const nas_rank_identity *expect, nas_rank_model *m) {
    memset(m, 0, sizeof *m);
    if (!what) {
        what = "ranker";
    }
    nas_ckpt_reader r;
    NAS_CHECK(nas_ckpt_open(&r, bytes, n, &RANK_KIND, what));
    nas_status st = NAS_OK;
    const nas_ckpt_section *s;
    NAS_TRY(nas_ckpt_find(&r, "identity", NAS_CKPT_RECORD, &s));
    nas_ckpt_cursor c = nas_ckpt_cursor_of(s);
    nas_ckpt_get_str(&c, m->id.space, sizeof m->id.space);
    nas_ckpt_get_str(&c, m->id.dataset, sizeof m->id.dataset);
    m->id.ghn_id = nas_ckpt_get_i64(&c);
    if (c.short_read) {
        st = nas_error(NAS_EFORMAT, "%s: the identity record is too short", what);
        goto cleanup;
    }
    if (expect) {
        NAS_TRY(check_identity(&m->id, expect, what));
    }
    NAS_TRY(nas_ckpt_find(&r, "model", NAS_CKPT_RECORD, &s));
    c = nas_ckpt_cursor_of(s);
    int32_t v[9];
    for (int i = 0; i < 9; i++) {
        v[i] = nas_ckpt_get_i32(&c);
    }
    m->kind = (nas_rank_kind)v[0];
    m->d = v[1];
    m->n = v[2];
    m->p = v[3];
    m->n_plain = v[4];
    m->n_emb = v[5];
    m->embed_k = v[6];
    m->n_chol = v[7];
    m->cv_folds = v[8];
    double *reals[11] = {&m->y_mean, &m->y_sd,       &m->lambda,    &m->s2,
                         &m->length, &m->signal_var, &m->noise_var, &m->lml,
                         &m->cv_tau, &m->cv_rho,     &m->intercept};
    for (int i = 0; i < 11; i++) {
        *reals[i] = nas_ckpt_get_f64(&c);
    }
    const bool kind_ok =
        m->kind == NAS_RANK_RIDGE || m->kind == NAS_RANK_GP || m->kind == NAS_RANK_PAIRWISE;
    const int want_chol = m->kind == NAS_RANK_RIDGE ? m->p : m->kind == NAS_RANK_GP ? m->n : 0;
    if (c.short_read || !kind_ok || m->d < 1 || m->n < 3 || m->p < 1 || m->n_plain < 0 ||
        m->n_emb < 0 || m->n_emb > NAS_RANK_EMBED_MAX || m->embed_k < 0 ||
        m->p != m->n_plain + m->embed_k || m->n_plain + m->n_emb > m->d || m->n_chol != want_chol ||
        !(m->y_sd > 0.0) || (m->kind == NAS_RANK_GP && !(m->length > 0.0))) {
        st = nas_error(NAS_EFORMAT, "%s: the model record is %s", what,
                       c.short_read ? "too short" : "inconsistent");
        goto cleanup;
    }
    /* names and used columns */
    NAS_TRY(nas_ckpt_find(&r, "names", NAS_CKPT_RECORD, &s));
    if ((size_t)m->d > s->bytes / 2) { /* every name takes at least its 2-byte length */
        st = nas_error(NAS_EFORMAT, "%s: %d feature names cannot fit in %zu bytes", what, m->d,
                       s->bytes);
        goto cleanup;
    }
    c = nas_ckpt_cursor_of(s);
    m->names = nas_malloc((size_t)m->d * (sizeof(char *) + NAS_RANK_NAME_MAX));
    m->used = nas_malloc((size_t)m->d);
    if (!m->names || !m->used) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory", what);
        goto cleanup;
    }
    char *str = (char *)(m->names + m->d);
    for (int k = 0; k < m->d; k++) {
        m->names[k] = str + (size_t)k * NAS_RANK_NAME_MAX;
        nas_ckpt_get_str(&c, m->names[k], NAS_RANK_NAME_MAX);
    }
    NAS_TRY(nas_ckpt_find(&r, "used", NAS_CKPT_U8, &s));
    NAS_TRY(nas_ckpt_section_read(&r, s, m->used, m->d));
    int plain = 0, emb = 0;
    for (int k = 0; k < m->d; k++) {
        if (m->used[k] > 1) {
            plain = -1;
            break;
        }
        if (m->used[k]) {
            if (strncmp(m->names[k], "emb_", 4) == 0) {
                emb++;
            } else {
                plain++;
            }
        }
    }
    if (c.short_read || plain != m->n_plain || emb != m->n_emb || (emb > 0) != (m->embed_k > 0)) {
        st = nas_error(NAS_EFORMAT,
                       "%s: the feature names and used columns do not match the "
                       "model",
                       what);
        goto cleanup;
    }
    /* arrays */
    double *msd = NULL;
    NAS_TRY(read_f64(&r, "standardise", 2 * (int64_t)m->p, &msd));
    m->mu = msd;
    m->sd = nas_malloc(sizeof *m->sd * (size_t)m->p);
    if (!m->sd) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory", what);
        goto cleanup;
    }
    memcpy(m->sd, msd + m->p, sizeof *m->sd * (size_t)m->p);
    for (int j = 0; j < m->p; j++) {
        if (!(m->sd[j] > 0.0)) {
            st = nas_error(NAS_EFORMAT, "%s: a standard deviation is not positive", what);
            goto cleanup;
        }
    }
    if (m->embed_k > 0) {
        NAS_TRY(read_f64(&r, "e_mean", m->n_emb, &m->e_mean));
        NAS_TRY(read_f64(&r, "proj", (int64_t)m->embed_k * m->n_emb, &m->proj));
    }
    if (m->kind == NAS_RANK_GP) {
        NAS_TRY(read_f64(&r, "train_z", (int64_t)m->n * m->p, &m->z));
        NAS_TRY(read_f64(&r, "alpha", m->n, &m->alpha));
    } else {
        NAS_TRY(read_f64(&r, "weights", m->p, &m->w));
    }
    if (m->n_chol > 0) {
        NAS_TRY(read_f64(&r, "chol", (int64_t)m->n_chol * m->n_chol, &m->chol));
    }
    NAS_TRY(nas_ckpt_find_opt(&r, "label_ids", NAS_CKPT_I64, &s));
    if (s) {
        if (s->count != m->n) {
            st = nas_error(NAS_EFORMAT, "%s: %lld label ids for %d labels", what,
                           (long long)s->count, m->n);
            goto cleanup;
        }
        m->label_ids = nas_malloc(sizeof *m->label_ids * (size_t)m->n);
        if (!m->label_ids) {
            st = nas_error(NAS_ENOMEM, "%s: out of memory", what);
            goto cleanup;
        }
        NAS_TRY(nas_ckpt_section_read(&r, s, m->label_ids, m->n));
    }
    for (int i = 0; i < m->n_chol; i++) {
        if (!(m->chol[(size_t)i * (size_t)m->n_chol + (size_t)i] > 0.0)) {
            st =
                nas_error(NAS_EFORMAT, "%s: the Cholesky factor has a non-positive diagonal", what);
            goto cleanup;
        }
    }
cleanup:
    nas_ckpt_reader_free(&r);
    if (st != NAS_OK) {
        nas_rank_model_free(m);
    }
    return st;
}
