/*
 * Learned rankers in the results store (schema v3): add a fitted ranker with its saved model
 * BLOB (bytes from nas_rank_save) and what it depends on, find the newest one for a space and
 * data set, read a model back, list them, and read the labels a ranker is fitted on (the
 * finished trainings of a space and data set with their recipes).
 */
#include "store-impl.h"

#include <stdio.h>
#include <string.h>

nas_status nas_store_ranker_add(nas_store *db, const nas_ranker_record *rec, int64_t *ranker_id) {
    NAS_CHECK(nas_i_writable(db, "adding a ranker"));
    if (!rec || !rec->space || !rec->space[0] || !rec->dataset || !rec->dataset[0] || !rec->model ||
        !rec->model[0] || !rec->checkpoint || rec->checkpoint_bytes == 0) {
        return nas_error(NAS_EINVAL,
                         "results store '%s': a ranker needs a space, a dataset, a model and "
                         "its saved bytes",
                         db->path);
    }
    if (rec->checkpoint_bytes > (size_t)0x7fffffff) {
        return nas_error(NAS_EINVAL, "results store '%s': ranker larger than 2 GiB", db->path);
    }
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "INSERT INTO rankers (name, space, dataset, ghn_id, model, features,"
                            " n_labels, labels_json, recipe_json, cv_tau, cv_rho, seconds,"
                            " checkpoint, data_fingerprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                            " ?9, ?10, ?11, ?12, ?13, ?14)",
                            &st));
    int rc = nas_i_bind_text(st, 1, rec->name ? rec->name : "");
    rc = rc ? rc : nas_i_bind_text(st, 2, rec->space);
    rc = rc ? rc : nas_i_bind_text(st, 3, rec->dataset);
    rc = rc ? rc
            : (rec->ghn_id > 0 ? sqlite3_bind_int64(st, 4, rec->ghn_id) : sqlite3_bind_null(st, 4));
    rc = rc ? rc : nas_i_bind_text(st, 5, rec->model);
    rc = rc ? rc : nas_i_bind_text(st, 6, rec->features ? rec->features : "");
    rc = rc ? rc : sqlite3_bind_int64(st, 7, rec->n_labels);
    rc = rc ? rc : nas_i_bind_text(st, 8, rec->labels_json ? rec->labels_json : "[]");
    rc = rc ? rc : nas_i_bind_text(st, 9, rec->recipe_json ? rec->recipe_json : "{}");
    rc = rc ? rc : nas_i_bind_real(st, 10, rec->cv_tau);
    rc = rc ? rc : nas_i_bind_real(st, 11, rec->cv_rho);
    rc = rc ? rc : nas_i_bind_real(st, 12, rec->seconds);
    rc = rc ? rc
            : sqlite3_bind_blob(st, 13, rec->checkpoint, (int)rec->checkpoint_bytes, SQLITE_STATIC);
    rc = rc ? rc : nas_i_bind_fingerprint(st, 14, rec->fingerprint);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a ranker");
    } else if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
        s = nas_i_store_fail(db, rc, "storing a ranker");
    } else {
        *ranker_id = sqlite3_last_insert_rowid(db->db);
    }
    sqlite3_finalize(st);
    return s;
}

nas_status nas_store_ranker_find(nas_store *db, const char *space, const char *dataset,
                                 const char *fingerprint, int64_t *ranker_id) {
    char hint[600];
    snprintf(hint, sizeof hint, " (fit one with `ghnas rank %s`)", db->path);
    return nas_i_newest_of(db, "rankers", "ranker", hint, space, dataset, fingerprint, ranker_id);
}

nas_status nas_store_ranker_fingerprint(nas_store *db, int64_t ranker_id, char out[17]) {
    return nas_i_fingerprint_of(db, "rankers", "ranker", ranker_id, out);
}

nas_status nas_store_ranker_checkpoint(nas_store *db, int64_t ranker_id, void **bytes, size_t *n,
                                       int64_t *ghn_id, char **recipe_json) {
    *bytes = NULL;
    *n = 0;
    if (recipe_json) {
        *recipe_json = NULL;
    }
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, "SELECT checkpoint, ghn_id, recipe_json FROM rankers WHERE id = ?1",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, ranker_id);
    char what[64];
    snprintf(what, sizeof what, "ranker %lld", (long long)ranker_id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a ranker id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s = nas_i_blob_copy(db, st, 0, bytes, n, what);
        if (ghn_id) {
            *ghn_id = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 1);
        }
        if (s == NAS_OK && recipe_json && !(*recipe_json = nas_i_column_strdup(st, 2))) {
            s = nas_error(NAS_ENOMEM, "reading ranker %lld: out of memory", (long long)ranker_id);
            nas_free(*bytes);
            *bytes = NULL;
            *n = 0;
        }
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': ranker %lld does not exist", db->path,
                      (long long)ranker_id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a ranker");
    }
    sqlite3_finalize(st);
    return s;
}

nas_status nas_store_query_rankers(nas_store *db, nas_store_table *out) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "SELECT id, name, space, dataset, ghn_id, model, n_labels, cv_tau,"
                            " cv_rho, features, seconds, created_at FROM rankers ORDER BY id",
                            &st));
    nas_status s = nas_i_table_fill(db, st, out);
    sqlite3_finalize(st);
    return s;
}

nas_status nas_store_query_labels(nas_store *db, const char *space, const char *dataset,
                                  int64_t run_id, nas_store_table *out) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "SELECT t.id, t.arch_id, a.arch, t.recipe_json, t.val_acc, t.run_id"
                            " FROM trainings t JOIN runs r ON r.id = t.run_id"
                            " JOIN architectures a ON a.id = t.arch_id"
                            " WHERE t.status = 'finished' AND t.val_acc IS NOT NULL"
                            " AND t.init = 'scratch' AND r.space = ?1 AND r.dataset = ?2"
                            " AND (?3 = 0 OR t.run_id = ?3) ORDER BY t.id",
                            &st));
    int rc = nas_i_bind_text(st, 1, space);
    rc = rc ? rc : nas_i_bind_text(st, 2, dataset);
    rc = rc ? rc : sqlite3_bind_int64(st, 3, run_id);
    nas_status s = rc == SQLITE_OK ? nas_i_table_fill(db, st, out)
                                   : nas_i_store_fail(db, rc, "binding a label query");
    sqlite3_finalize(st);
    return s;
}
