/*
 * GHN models in the results store: add a trained GHN with its checkpoint BLOB (bytes from
 * nas_ghn_save_mem), find the newest one for a space and dataset, and read a checkpoint back as
 * bytes (for nas_ghn_load_mem). The store never touches files or the checkpoint format.
 */
#include "store-impl.h"

#include <stdio.h>
#include <string.h>

nas_status nas_store_ghn_add(nas_store *db, const nas_ghn_record *rec, int64_t *ghn_id) {
    NAS_CHECK(nas_i_writable(db, "adding a GHN"));
    if (!rec || !rec->space || !rec->space[0] || !rec->dataset || !rec->dataset[0] ||
        !rec->checkpoint) {
        return nas_error(NAS_EINVAL,
                         "results store '%s': a GHN needs a space, a dataset and a "
                         "checkpoint",
                         db->path);
    }
    const void *ckpt = rec->checkpoint;
    size_t bytes = rec->checkpoint_bytes;
    if (bytes > (size_t)0x7fffffff) {
        return nas_error(NAS_EINVAL, "results store '%s': GHN checkpoint larger than 2 GiB",
                         db->path);
    }
    double t0 = nas_time_now();
    sqlite3_stmt *st = NULL;
    nas_status s = nas_i_prepare(db,
                                 "INSERT INTO ghn_models (space, dataset, config_json, steps,"
                                 " train_loss, val_acc, seconds, checkpoint, data_fingerprint)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                 &st);
    if (s == NAS_OK) {
        int rc = nas_i_bind_text(st, 1, rec->space);
        rc = rc ? rc : nas_i_bind_text(st, 2, rec->dataset);
        rc = rc ? rc : nas_i_bind_text(st, 3, rec->config_json ? rec->config_json : "{}");
        rc = rc ? rc : sqlite3_bind_int64(st, 4, rec->steps);
        rc = rc ? rc : nas_i_bind_real(st, 5, rec->train_loss);
        rc = rc ? rc : nas_i_bind_real(st, 6, rec->val_acc);
        rc = rc ? rc : nas_i_bind_real(st, 7, rec->seconds);
        rc = rc ? rc : nas_i_bind_fingerprint(st, 9, rec->fingerprint);
        /* A zero-length blob, not NULL, for an empty checkpoint (the column is NOT NULL). */
        rc = rc ? rc : sqlite3_bind_zeroblob(st, 8, 0);
        if (rc == SQLITE_OK && bytes > 0) {
            rc = sqlite3_bind_blob(st, 8, ckpt, (int)bytes, SQLITE_STATIC);
        }
        if (rc != SQLITE_OK) {
            s = nas_i_store_fail(db, rc, "binding a GHN");
        } else if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
            s = nas_i_store_fail(db, rc, "storing a GHN");
        } else {
            *ghn_id = sqlite3_last_insert_rowid(db->db);
        }
    }
    sqlite3_finalize(st);
    db->seconds += nas_time_now() - t0;
    return s;
}

nas_status nas_store_ghn_find(nas_store *db, const char *space, const char *dataset,
                              const char *fingerprint, int64_t *ghn_id) {
    return nas_i_newest_of(db, "ghn_models", "GHN", "", space, dataset, fingerprint, ghn_id);
}

nas_status nas_store_ghn_fingerprint(nas_store *db, int64_t ghn_id, char out[17]) {
    return nas_i_fingerprint_of(db, "ghn_models", "GHN", ghn_id, out);
}

nas_status nas_store_ghn_checkpoint(nas_store *db, int64_t ghn_id, void **bytes, size_t *n) {
    *bytes = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, "SELECT checkpoint FROM ghn_models WHERE id = ?1", &st));
    int rc = sqlite3_bind_int64(st, 1, ghn_id);
    char what[64];
    snprintf(what, sizeof what, "GHN %lld", (long long)ghn_id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a GHN id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s = nas_i_blob_copy(db, st, 0, bytes, n, what);
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': GHN %lld does not exist", db->path,
                      (long long)ghn_id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a GHN checkpoint");
    }
    sqlite3_finalize(st);
    return s;
}
