/*
 * The run's history: every result in candidate order, indexed by canonical key (open addressing
 * on nas_hash_str), loaded back from the store on resume; and the checks strategies make against
 * it (already scored, pending in the round, invalid) when they propose.
 */
#include "search-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- history --------------------------------------------------------------------------------- */

int64_t nas_i_search_find(const nas_i_search *s, const char *key) {
    if (s->n_index == 0) {
        return -1;
    }
    uint64_t mask = (uint64_t)s->n_index - 1;
    for (uint64_t i = nas_hash_str(key) & mask;; i = (i + 1) & mask) {
        int64_t h = s->index[i];
        if (h == 0) {
            return -1;
        }
        if (strcmp(s->hist[h - 1].key, key) == 0) {
            return h - 1;
        }
    }
}

static void index_put(int64_t *index, int64_t n_index, const char *key, int64_t h) {
    uint64_t mask = (uint64_t)n_index - 1;
    uint64_t i = nas_hash_str(key) & mask;
    while (index[i] != 0) {
        i = (i + 1) & mask;
    }
    index[i] = h + 1;
}

nas_status nas_i_hist_add(nas_i_search *s, const char *key, const char *text, double value) {
    if (s->n_hist == s->cap_hist) {
        int64_t cap = s->cap_hist ? 2 * s->cap_hist : 256;
        nas_i_hist *h = nas_realloc(s->hist, (size_t)cap * sizeof *h);
        if (!h) {
            return nas_error(NAS_ENOMEM, "search: out of memory for %lld results", (long long)cap);
        }
        s->hist = h;
        s->cap_hist = cap;
    }
    if (2 * (s->n_hist + 1) > s->n_index) {
        int64_t n = s->n_index ? 2 * s->n_index : 1024;
        int64_t *idx = nas_calloc((size_t)n, sizeof *idx);
        if (!idx) {
            return nas_error(NAS_ENOMEM, "search: out of memory for the key index");
        }
        for (int64_t i = 0; i < s->n_hist; i++) {
            index_put(idx, n, s->hist[i].key, i);
        }
        nas_free(s->index);
        s->index = idx;
        s->n_index = n;
    }
    nas_i_hist *e = &s->hist[s->n_hist];
    e->key = nas_strdup(key);
    e->text = nas_strdup(text);
    e->value = value;
    if (!e->key || !e->text) {
        nas_free(e->key);
        nas_free(e->text);
        return nas_error(NAS_ENOMEM, "search: out of memory for a result");
    }
    index_put(s->index, s->n_index, key, s->n_hist);
    s->n_hist++;
    return NAS_OK;
}

void nas_i_hist_free(nas_i_search *s) {
    for (int64_t i = 0; i < s->n_hist; i++) {
        nas_free(s->hist[i].key);
        nas_free(s->hist[i].text);
    }
    nas_free(s->hist);
    nas_free(s->index);
    s->hist = NULL;
    s->index = NULL;
    s->n_hist = s->cap_hist = s->n_index = 0;
}

nas_status nas_i_hist_load(nas_i_search *s, nas_store *db, int64_t run_id, const char *scorer,
                           int64_t n_done) {
    if (n_done == 0) {
        return NAS_OK;
    }
    nas_store_info info;
    nas_store_get_info(db, &info);
    nas_store *rd = NULL;
    nas_store_table t;
    memset(&t, 0, sizeof t);
    nas_status st = nas_store_open(&rd, info.path, NAS_STORE_READONLY);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "resuming run %lld", (long long)run_id);
    }
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT s.seq, a.canonical_hash, a.arch, s.value FROM scores s"
             " JOIN architectures a ON a.id = s.arch_id WHERE s.run_id = %lld AND s.scorer = '%s'"
             " AND s.seq < %lld ORDER BY s.seq",
             (long long)run_id, scorer, (long long)n_done);
    NAS_TRY(nas_store_query_sql(rd, sql, &t));
    if (t.n_rows != n_done) {
        st = nas_error(NAS_EFORMAT,
                       "results store '%s': run %lld says %lld results are done but holds %lld",
                       info.path, (long long)run_id, (long long)n_done, (long long)t.n_rows);
        goto cleanup;
    }
    for (int64_t r = 0; r < t.n_rows; r++) {
        const nas_store_value *seq = nas_store_table_at(&t, r, 0);
        const nas_store_value *key = nas_store_table_at(&t, r, 1);
        const nas_store_value *arch = nas_store_table_at(&t, r, 2);
        const nas_store_value *val = nas_store_table_at(&t, r, 3);
        if (seq->type != NAS_STORE_INT || seq->i != r || key->type != NAS_STORE_TEXT ||
            arch->type != NAS_STORE_TEXT) {
            st = nas_error(NAS_EFORMAT,
                           "results store '%s': run %lld lacks result number %lld (duplicate or "
                           "missing candidate numbers)",
                           info.path, (long long)run_id, (long long)r);
            goto cleanup;
        }
        double v = val->type == NAS_STORE_REAL  ? val->r
                   : val->type == NAS_STORE_INT ? (double)val->i
                                                : (double)NAN;
        NAS_TRY(nas_i_hist_add(s, key->s, arch->s, v));
    }
cleanup:
    nas_store_table_free(&t);
    nas_store_close(rd);
    return st;
}

/* ---- checks for strategies ------------------------------------------------------------------- */

bool nas_i_better(const nas_i_search *s, double a, double b) {
    if (isnan(a)) {
        return false;
    }
    if (isnan(b)) {
        return true;
    }
    return s->higher_is_better ? a > b : a < b;
}

nas_status nas_i_search_check(nas_i_search *s, nas_i_cand *c, nas_i_check *r, int64_t *hist_index) {
    if (hist_index) {
        *hist_index = -1;
    }
    if (!nas_arch_is_valid(s->sp, &c->arch)) {
        *r = NAS_I_INVALID;
        return NAS_OK;
    }
    NAS_CHECK(nas_arch_canon_key(s->sp, &c->arch, s->canon, c->key, sizeof c->key));
    int64_t h = nas_i_search_find(s, c->key);
    if (h >= 0) {
        if (hist_index) {
            *hist_index = h;
        }
        *r = NAS_I_SEEN;
        return NAS_OK;
    }
    for (int k = 0; k < s->n_round; k++) {
        if (&s->round[k] != c && strcmp(s->round[k].key, c->key) == 0) {
            *r = NAS_I_PENDING;
            return NAS_OK;
        }
    }
    NAS_CHECK(nas_arch_encode(s->sp, &c->arch, c->text, sizeof c->text));
    *r = NAS_I_NEW;
    return NAS_OK;
}

nas_status nas_i_sample_new(nas_i_search *s, nas_i_cand *c, bool *found) {
    *found = false;
    for (int tries = 0; tries < NAS_I_DUP_LIMIT; tries++) {
        NAS_CHECK(nas_arch_sample(s->sp, &s->rng, &c->arch));
        nas_i_check r;
        NAS_CHECK(nas_i_search_check(s, c, &r, NULL));
        if (r == NAS_I_NEW) {
            c->tag = NAS_I_TAG_RANDOM;
            *found = true;
            return NAS_OK;
        }
        if (r != NAS_I_INVALID) {
            s->n_duplicates++;
        }
    }
    return NAS_OK;
}
