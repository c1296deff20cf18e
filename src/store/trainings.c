/*
 * Trainings of `evaluate` in the results store: begin (or find the stored one to resume), one
 * row of the learning curve per epoch together with a resume checkpoint in one transaction, the
 * final status and accuracies, and reading the checkpoint back.
 */
#include "store-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static nas_status read_training(nas_store *db, int64_t id, nas_training_info *info) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "SELECT status, epochs, epochs_done, checkpoint IS NOT NULL"
                            " FROM trainings WHERE id = ?1",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a training id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char status[32];
        nas_i_column_text(st, 0, status, sizeof status);
        s = nas_i_run_status_parse(status, &info->status);
        info->id = id;
        info->epochs = sqlite3_column_int(st, 1);
        info->epochs_done = sqlite3_column_int(st, 2);
        info->has_checkpoint = sqlite3_column_int(st, 3) != 0;
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': training %lld does not exist", db->path,
                      (long long)id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a training");
    }
    sqlite3_finalize(st);
    return s;
}

nas_status nas_store_training_begin(nas_store *db, const nas_training_spec *spec,
                                    nas_training_info *info) {
    memset(info, 0, sizeof *info);
    NAS_CHECK(nas_i_writable(db, "starting a training"));
    if (!spec || spec->epochs < 1 || !spec->init ||
        (strcmp(spec->init, "scratch") != 0 && strcmp(spec->init, "ghn") != 0)) {
        return nas_error(NAS_EINVAL,
                         "results store '%s': a training needs epochs >= 1 and init "
                         "'scratch' or 'ghn'",
                         db->path);
    }
    const char *recipe = spec->recipe_json ? spec->recipe_json : "{}";
    NAS_CHECK(nas_i_begin(db));
    sqlite3_stmt *st = NULL;
    nas_status s = nas_i_prepare(db,
                                 "SELECT id FROM trainings WHERE run_id = ?1 AND arch_id = ?2"
                                 " AND init = ?3 AND recipe_json = ?4",
                                 &st);
    int64_t id = 0;
    bool resumed = false;
    int rc = SQLITE_OK;
    if (s == NAS_OK) {
        rc = sqlite3_bind_int64(st, 1, spec->run_id);
        rc = rc ? rc : sqlite3_bind_int64(st, 2, spec->arch_id);
        rc = rc ? rc : nas_i_bind_text(st, 3, spec->init);
        rc = rc ? rc : nas_i_bind_text(st, 4, recipe);
        if (rc != SQLITE_OK) {
            s = nas_i_store_fail(db, rc, "binding a training");
        } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            resumed = true;
        } else if (rc != SQLITE_DONE) {
            s = nas_i_store_fail(db, rc, "looking up a training");
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (s == NAS_OK && resumed) {
        s = nas_i_prepare(db,
                          "UPDATE trainings SET status = 'running', updated_at = datetime('now')"
                          " WHERE id = ?1 AND status <> 'finished'",
                          &st);
        if (s == NAS_OK) {
            rc = sqlite3_bind_int64(st, 1, id);
            s = rc ? nas_i_store_fail(db, rc, "binding a training")
                   : nas_i_step_done(db, st, "resuming a training");
        }
    } else if (s == NAS_OK) {
        s = nas_i_prepare(db,
                          "INSERT INTO trainings (run_id, arch_id, recipe_json, init, epochs)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)",
                          &st);
        if (s == NAS_OK) {
            rc = sqlite3_bind_int64(st, 1, spec->run_id);
            rc = rc ? rc : sqlite3_bind_int64(st, 2, spec->arch_id);
            rc = rc ? rc : nas_i_bind_text(st, 3, recipe);
            rc = rc ? rc : nas_i_bind_text(st, 4, spec->init);
            rc = rc ? rc : sqlite3_bind_int(st, 5, spec->epochs);
            if (rc != SQLITE_OK) {
                s = nas_i_store_fail(db, rc, "binding a training");
            } else if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
                id = sqlite3_last_insert_rowid(db->db);
            } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
                s = nas_error(NAS_ENOTFOUND,
                              "results store '%s': cannot start a training: run %lld or "
                              "architecture %lld does not exist",
                              db->path, (long long)spec->run_id, (long long)spec->arch_id);
            } else {
                s = nas_i_store_fail(db, rc, "starting a training");
            }
        }
    }
    sqlite3_finalize(st);
    if (s == NAS_OK) {
        s = read_training(db, id, info);
    }
    if (s != NAS_OK) {
        nas_i_rollback(db);
        return s;
    }
    info->resumed = resumed;
    return nas_i_commit(db);
}

/* Append JSON number or null to buf. */
static void json_num(char *buf, size_t cap, const char *key, double v, bool last) {
    size_t len = strlen(buf);
    if (isfinite(v)) {
        snprintf(buf + len, cap - len, "\"%s\":%.9g%s", key, v, last ? "" : ",");
    } else {
        snprintf(buf + len, cap - len, "\"%s\":null%s", key, last ? "" : ",");
    }
}

nas_status nas_store_training_epoch(nas_store *db, int64_t training_id, const nas_epoch_record *e,
                                    const void *checkpoint, size_t checkpoint_bytes) {
    NAS_CHECK(nas_i_writable(db, "recording an epoch"));
    if (!e || e->epoch < 1 || (checkpoint_bytes > 0 && !checkpoint) ||
        checkpoint_bytes > (size_t)0x7fffffff) {
        return nas_error(NAS_EINVAL, "results store '%s': bad epoch record", db->path);
    }
    char obj[512];
    snprintf(obj, sizeof obj, "{\"epoch\":%d,", e->epoch);
    json_num(obj, sizeof obj, "lr", e->lr, false);
    json_num(obj, sizeof obj, "train_loss", e->train_loss, false);
    json_num(obj, sizeof obj, "train_acc", e->train_acc, false);
    json_num(obj, sizeof obj, "val_loss", e->val_loss, false);
    json_num(obj, sizeof obj, "val_acc", e->val_acc, false);
    json_num(obj, sizeof obj, "seconds", e->seconds, true);
    size_t len = strlen(obj);
    snprintf(obj + len, sizeof obj - len, "}");

    double t0 = nas_time_now();
    NAS_CHECK(nas_i_begin(db));
    sqlite3_stmt *st = NULL;
    /* The curve is a JSON array kept as text: append before the closing bracket (no JSON1). */
    nas_status s =
        nas_i_prepare(db,
                      "UPDATE trainings SET"
                      " curve_json = substr(curve_json, 1, length(curve_json) - 1)"
                      "   || CASE WHEN curve_json = '[]' THEN '' ELSE ',' END || ?2 || ']',"
                      " epochs_done = ?3, seconds = seconds + coalesce(?4, 0),"
                      " train_acc = ?5, val_acc = ?6, checkpoint = ?7, updated_at = datetime('now')"
                      " WHERE id = ?1 AND epochs_done = ?3 - 1",
                      &st);
    if (s == NAS_OK) {
        int rc = sqlite3_bind_int64(st, 1, training_id);
        rc = rc ? rc : nas_i_bind_text(st, 2, obj);
        rc = rc ? rc : sqlite3_bind_int(st, 3, e->epoch);
        rc = rc ? rc : nas_i_bind_real(st, 4, e->seconds);
        rc = rc ? rc : nas_i_bind_real(st, 5, e->train_acc);
        rc = rc ? rc : nas_i_bind_real(st, 6, e->val_acc);
        rc = rc ? rc
                : (checkpoint_bytes > 0
                       ? sqlite3_bind_blob(st, 7, checkpoint, (int)checkpoint_bytes, SQLITE_STATIC)
                       : sqlite3_bind_null(st, 7));
        if (rc != SQLITE_OK) {
            s = nas_i_store_fail(db, rc, "binding an epoch");
        } else if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
            s = nas_i_store_fail(db, rc, "recording an epoch");
        } else if (sqlite3_changes(db->db) != 1) {
            nas_training_info info;
            memset(&info, 0, sizeof info);
            s = read_training(db, training_id, &info);
            if (s == NAS_OK) {
                s = nas_error(NAS_EINVAL,
                              "results store '%s': training %lld: epoch %d out of order (%d "
                              "epochs recorded)",
                              db->path, (long long)training_id, e->epoch, info.epochs_done);
            }
        }
    }
    sqlite3_finalize(st);
    if (s != NAS_OK) {
        nas_i_rollback(db);
    } else {
        s = nas_i_commit(db);
    }
    db->seconds += nas_time_now() - t0;
    return s;
}

/* The UPDATE of a finish, inside the caller's transaction. */
static nas_status finish_row(nas_store *db, int64_t training_id, nas_run_status status,
                             double train_acc, double val_acc, double test_acc) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "UPDATE trainings SET status = ?2,"
                            " train_acc = coalesce(?3, train_acc), val_acc = coalesce(?4, val_acc),"
                            " test_acc = coalesce(?5, test_acc),"
                            " checkpoint = CASE WHEN ?2 = 'finished' THEN NULL ELSE checkpoint END,"
                            " updated_at = datetime('now') WHERE id = ?1",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, training_id);
    rc = rc ? rc : nas_i_bind_text(st, 2, nas_run_status_name(status));
    rc = rc ? rc : nas_i_bind_real(st, 3, train_acc);
    rc = rc ? rc : nas_i_bind_real(st, 4, val_acc);
    rc = rc ? rc : nas_i_bind_real(st, 5, test_acc);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a training");
    } else if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
        s = nas_i_store_fail(db, rc, "finishing a training");
    } else if (sqlite3_changes(db->db) == 0) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': training %lld does not exist", db->path,
                      (long long)training_id);
    }
    sqlite3_finalize(st);
    return s;
}

/* The trained_weights row of a training, inside the caller's transaction. */
static nas_status keep_row(nas_store *db, int64_t training_id, const nas_kept_weights *kw) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "INSERT OR REPLACE INTO trained_weights"
                            " (training_id, format, n_params, bytes, weights)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, training_id);
    rc = rc ? rc : nas_i_bind_text(st, 2, kw->format);
    rc = rc ? rc : sqlite3_bind_int64(st, 3, kw->n_params);
    rc = rc ? rc : sqlite3_bind_int64(st, 4, (sqlite3_int64)kw->n_bytes);
    rc = rc ? rc : sqlite3_bind_blob(st, 5, kw->bytes, (int)kw->n_bytes, SQLITE_STATIC);
    nas_status s = rc != SQLITE_OK ? nas_i_store_fail(db, rc, "binding kept weights")
                                   : nas_i_step_done(db, st, "keeping the trained weights");
    sqlite3_finalize(st);
    return s;
}

nas_status nas_store_training_finish_kept(nas_store *db, int64_t training_id, nas_run_status status,
                                          double train_acc, double val_acc, double test_acc,
                                          const nas_kept_weights *kw) {
    NAS_CHECK(nas_i_writable(db, "finishing a training"));
    if (strcmp(nas_run_status_name(status), "?") == 0) {
        return nas_error(NAS_EINVAL, "results store '%s': bad training status %d", db->path,
                         (int)status);
    }
    const bool keep = kw && status == NAS_RUN_FINISHED;
    if (keep && (!kw->format || !kw->format[0] || !kw->bytes || kw->n_bytes == 0 ||
                 kw->n_bytes > (size_t)0x7fffffff || kw->n_params < 0)) {
        return nas_error(NAS_EINVAL,
                         "results store '%s': kept weights need a format and 1 byte to 2 GiB",
                         db->path);
    }
    NAS_CHECK(nas_i_begin(db));
    nas_status s = finish_row(db, training_id, status, train_acc, val_acc, test_acc);
    if (s == NAS_OK && keep) {
        s = keep_row(db, training_id, kw);
    }
    if (s != NAS_OK) {
        nas_i_rollback(db);
        return s;
    }
    return nas_i_commit(db);
}

nas_status nas_store_training_finish(nas_store *db, int64_t training_id, nas_run_status status,
                                     double train_acc, double val_acc, double test_acc) {
    return nas_store_training_finish_kept(db, training_id, status, train_acc, val_acc, test_acc,
                                          NULL);
}

nas_status nas_i_blob_copy(nas_store *db, sqlite3_stmt *st, int col, void **bytes, size_t *n,
                           const char *what) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return nas_error(NAS_ENOTFOUND, "results store '%s': %s has no checkpoint", db->path, what);
    }
    const void *p = sqlite3_column_blob(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    void *copy = nas_malloc(len);
    if (!copy) {
        return nas_error(NAS_ENOMEM, "results store: out of memory reading %zu bytes of %s", len,
                         what);
    }
    if (len) {
        memcpy(copy, p, len);
    }
    *bytes = copy;
    *n = len;
    return NAS_OK;
}

nas_status nas_store_training_checkpoint(nas_store *db, int64_t training_id, void **bytes,
                                         size_t *n) {
    *bytes = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, "SELECT checkpoint FROM trainings WHERE id = ?1", &st));
    int rc = sqlite3_bind_int64(st, 1, training_id);
    char what[64];
    snprintf(what, sizeof what, "training %lld", (long long)training_id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a training id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s = nas_i_blob_copy(db, st, 0, bytes, n, what);
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': training %lld does not exist", db->path,
                      (long long)training_id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a training checkpoint");
    }
    sqlite3_finalize(st);
    return s;
}

/* ---- kept weights ---------------------------------------------------------------------------- */

static double column_real(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? (double)NAN
                                                       : sqlite3_column_double(st, col);
}

void nas_store_training_free(nas_store_training *t) {
    if (!t) {
        return;
    }
    nas_free(t->space);
    nas_free(t->dataset);
    nas_free(t->arch);
    nas_free(t->init);
    nas_free(t->recipe_json);
    nas_free(t->weights);
    memset(t, 0, sizeof *t);
}

nas_status nas_store_training_get(nas_store *db, int64_t id, bool with_weights,
                                  nas_store_training *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "SELECT t.id, t.run_id, t.arch_id, t.status, t.epochs, t.epochs_done,"
                            " t.train_acc, t.val_acc, t.test_acc, t.seconds, r.space, r.dataset,"
                            " a.arch, t.init, t.recipe_json, w.training_id IS NOT NULL,"
                            " w.format, w.bytes, CASE WHEN ?2 THEN w.weights END"
                            " FROM trainings t JOIN runs r ON r.id = t.run_id"
                            " JOIN architectures a ON a.id = t.arch_id"
                            " LEFT JOIN trained_weights w ON w.training_id = t.id"
                            " WHERE t.id = ?1",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, id);
    rc = rc ? rc : sqlite3_bind_int(st, 2, with_weights ? 1 : 0);
    char what[64];
    snprintf(what, sizeof what, "training %lld", (long long)id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a training id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char status[32];
        out->id = sqlite3_column_int64(st, 0);
        out->run_id = sqlite3_column_int64(st, 1);
        out->arch_id = sqlite3_column_int64(st, 2);
        nas_i_column_text(st, 3, status, sizeof status);
        s = nas_i_run_status_parse(status, &out->status);
        out->epochs = sqlite3_column_int(st, 4);
        out->epochs_done = sqlite3_column_int(st, 5);
        out->train_acc = column_real(st, 6);
        out->val_acc = column_real(st, 7);
        out->test_acc = column_real(st, 8);
        out->seconds = column_real(st, 9);
        out->space = nas_i_column_strdup(st, 10);
        out->dataset = nas_i_column_strdup(st, 11);
        out->arch = nas_i_column_strdup(st, 12);
        out->init = nas_i_column_strdup(st, 13);
        out->recipe_json = nas_i_column_strdup(st, 14);
        out->has_weights = sqlite3_column_int(st, 15) != 0;
        if (s == NAS_OK &&
            (!out->space || !out->dataset || !out->arch || !out->init || !out->recipe_json)) {
            s = nas_error(NAS_ENOMEM, "results store: out of memory reading %s", what);
        }
        if (s == NAS_OK && out->has_weights) {
            nas_i_column_text(st, 16, out->weights_format, sizeof out->weights_format);
            out->weights_bytes = sqlite3_column_int64(st, 17);
            if (with_weights) {
                size_t n = 0;
                s = nas_i_blob_copy(db, st, 18, &out->weights, &n, what);
                if (s == NAS_OK && (int64_t)n != out->weights_bytes) {
                    s = nas_error(NAS_EFORMAT,
                                  "results store '%s': the kept weights of %s are %zu bytes, "
                                  "recorded as %lld (damaged row)",
                                  db->path, what, n, (long long)out->weights_bytes);
                }
            }
        }
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': training %lld does not exist", db->path,
                      (long long)id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a training");
    }
    sqlite3_finalize(st);
    if (s != NAS_OK) {
        nas_store_training_free(out);
    }
    return s;
}

nas_status nas_store_drop_weights(nas_store *db, int64_t id, int64_t *n_dropped, int64_t *bytes) {
    if (n_dropped) {
        *n_dropped = 0;
    }
    if (bytes) {
        *bytes = 0;
    }
    NAS_CHECK(nas_i_writable(db, "dropping kept weights"));
    if (id < 0) {
        return nas_error(NAS_EINVAL, "results store '%s': bad training id %lld", db->path,
                         (long long)id);
    }
    NAS_CHECK(nas_i_begin(db));
    sqlite3_stmt *st = NULL;
    int64_t n = 0, b = 0;
    nas_status s = nas_i_prepare(db,
                                 "SELECT count(*), coalesce(sum(bytes), 0) FROM trained_weights"
                                 " WHERE ?1 = 0 OR training_id = ?1",
                                 &st);
    if (s == NAS_OK) {
        int rc = sqlite3_bind_int64(st, 1, id);
        if (rc != SQLITE_OK) {
            s = nas_i_store_fail(db, rc, "binding a training id");
        } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            n = sqlite3_column_int64(st, 0);
            b = sqlite3_column_int64(st, 1);
        } else {
            s = nas_i_store_fail(db, rc, "counting kept weights");
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (s == NAS_OK && id > 0 && n == 0) {
        nas_store_training t;
        s = nas_store_training_get(db, id, false, &t);
        nas_store_training_free(&t);
        if (s == NAS_OK) {
            s = nas_error(NAS_ENOTFOUND, "results store '%s': training %lld has no kept weights",
                          db->path, (long long)id);
        }
    }
    if (s == NAS_OK) {
        s = nas_i_prepare(db, "DELETE FROM trained_weights WHERE ?1 = 0 OR training_id = ?1", &st);
        if (s == NAS_OK) {
            int rc = sqlite3_bind_int64(st, 1, id);
            s = rc ? nas_i_store_fail(db, rc, "binding a training id")
                   : nas_i_step_done(db, st, "dropping kept weights");
        }
        sqlite3_finalize(st);
    }
    if (s != NAS_OK) {
        nas_i_rollback(db);
        return s;
    }
    NAS_CHECK(nas_i_commit(db));
    if (n > 0) {
        /* the freed pages go back to the file system */
        NAS_CHECK(nas_i_exec(db, "VACUUM", "shrinking the file (VACUUM)"));
    }
    if (n_dropped) {
        *n_dropped = n;
    }
    if (bytes) {
        *bytes = b;
    }
    return NAS_OK;
}
