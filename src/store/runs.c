/*
 * Run lifecycle in the results store: create a run, set its status (flushing pending results
 * first), read it back, stage and load its resume state (RNG, progress, strategy state), and mark
 * zombie "running" runs of killed processes as interrupted.
 */
#include "store-impl.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef GHNAS_VERSION
#define GHNAS_VERSION "unknown"
#endif

nas_status nas_store_run_create(nas_store *db, const nas_run_spec *spec, int64_t *run_id) {
    NAS_CHECK(nas_i_writable(db, "creating a run"));
    if (!spec || !spec->kind || !spec->kind[0] || !spec->space || !spec->space[0] ||
        !spec->dataset || !spec->dataset[0]) {
        return nas_error(NAS_EINVAL,
                         "results store '%s': a run needs a kind, a space and a "
                         "dataset",
                         db->path);
    }
    if (spec->ghn_id < 0) {
        return nas_error(NAS_EINVAL, "results store '%s': bad GHN id %lld", db->path,
                         (long long)spec->ghn_id);
    }
    char host[256] = "";
    if (spec->host) {
        snprintf(host, sizeof host, "%s", spec->host);
    } else if (gethostname(host, sizeof host - 1) != 0) {
        host[0] = '\0';
    }
    host[sizeof host - 1] = '\0';
    double t0 = nas_time_now();
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "INSERT INTO runs (name, kind, status, space, dataset, scorer, "
                            "config_json, seed, ghn_id, host, version, data_fingerprint)"
                            " VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                            &st));
    int rc = nas_i_bind_text(st, 1, spec->name ? spec->name : "");
    rc = rc ? rc : nas_i_bind_text(st, 2, spec->kind);
    rc = rc ? rc : nas_i_bind_text(st, 3, spec->space);
    rc = rc ? rc : nas_i_bind_text(st, 4, spec->dataset);
    rc = rc ? rc : nas_i_bind_text(st, 5, spec->scorer ? spec->scorer : "");
    rc = rc ? rc : nas_i_bind_text(st, 6, spec->config_json ? spec->config_json : "{}");
    rc = rc ? rc : sqlite3_bind_int64(st, 7, (sqlite3_int64)spec->seed);
    rc = rc ? rc
            : (spec->ghn_id > 0 ? sqlite3_bind_int64(st, 8, spec->ghn_id)
                                : sqlite3_bind_null(st, 8));
    rc = rc ? rc : nas_i_bind_text(st, 9, host);
    rc = rc ? rc : nas_i_bind_text(st, 10, spec->version ? spec->version : GHNAS_VERSION);
    rc = rc ? rc : nas_i_bind_fingerprint(st, 11, spec->fingerprint);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a run");
    } else {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            *run_id = sqlite3_last_insert_rowid(db->db);
        } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            s = nas_error(NAS_ENOTFOUND,
                          "results store '%s': cannot create the run: GHN %lld "
                          "does not exist",
                          db->path, (long long)spec->ghn_id);
        } else {
            s = nas_i_store_fail(db, rc, "creating a run");
        }
    }
    sqlite3_finalize(st);
    db->seconds += nas_time_now() - t0;
    return s;
}

nas_status nas_store_run_set_status(nas_store *db, int64_t run_id, nas_run_status status) {
    NAS_CHECK(nas_i_writable(db, "setting a run status"));
    if (strcmp(nas_run_status_name(status), "?") == 0) {
        return nas_error(NAS_EINVAL, "results store '%s': bad run status %d", db->path,
                         (int)status);
    }
    NAS_CHECK(nas_store_flush(db));
    double t0 = nas_time_now();
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "UPDATE runs SET status = ?2, finished_at = CASE WHEN ?2 = 'running' "
                            "THEN NULL ELSE datetime('now') END WHERE id = ?1",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    rc = rc ? rc : nas_i_bind_text(st, 2, nas_run_status_name(status));
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a run status");
    } else if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
        s = nas_i_store_fail(db, rc, "setting a run status");
    } else if (sqlite3_changes(db->db) == 0) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': run %lld does not exist", db->path,
                      (long long)run_id);
    }
    sqlite3_finalize(st);
    db->seconds += nas_time_now() - t0;
    return s;
}

nas_status nas_store_run_get(nas_store *db, int64_t run_id, nas_run_info *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(
        db,
        "SELECT r.id, r.name, r.kind, r.status, r.space, r.dataset, r.scorer, r.seed,"
        " coalesce(r.ghn_id, 0), r.started_at, coalesce(r.finished_at, ''),"
        " coalesce(rs.updated_at, r.finished_at, r.started_at), r.host, r.version, r.config_json,"
        " coalesce(r.data_fingerprint, '')"
        " FROM runs r LEFT JOIN run_state rs ON rs.run_id = r.id WHERE r.id = ?1",
        &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a run id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        nas_i_column_text(st, 1, out->name, sizeof out->name);
        nas_i_column_text(st, 2, out->kind, sizeof out->kind);
        char status[32];
        nas_i_column_text(st, 3, status, sizeof status);
        s = nas_i_run_status_parse(status, &out->status);
        nas_i_column_text(st, 4, out->space, sizeof out->space);
        nas_i_column_text(st, 5, out->dataset, sizeof out->dataset);
        nas_i_column_text(st, 6, out->scorer, sizeof out->scorer);
        out->seed = (uint64_t)sqlite3_column_int64(st, 7);
        out->ghn_id = sqlite3_column_int64(st, 8);
        nas_i_column_text(st, 9, out->started_at, sizeof out->started_at);
        nas_i_column_text(st, 10, out->finished_at, sizeof out->finished_at);
        nas_i_column_text(st, 11, out->updated_at, sizeof out->updated_at);
        nas_i_column_text(st, 12, out->host, sizeof out->host);
        nas_i_column_text(st, 13, out->version, sizeof out->version);
        out->config_json = nas_i_column_strdup(st, 14);
        nas_i_column_text(st, 15, out->fingerprint, sizeof out->fingerprint);
        if (s == NAS_OK && !out->config_json) {
            s = nas_error(NAS_ENOMEM, "results store: out of memory reading run %lld",
                          (long long)run_id);
        }
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': run %lld does not exist", db->path,
                      (long long)run_id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a run");
    }
    sqlite3_finalize(st);
    if (s != NAS_OK) {
        nas_run_info_free(out);
    }
    return s;
}

void nas_run_info_free(nas_run_info *info) {
    if (info) {
        nas_free(info->config_json);
        info->config_json = NULL;
    }
}

nas_status nas_store_stage_state(nas_store *db, int64_t run_id, const nas_rng *rng, int64_t n_done,
                                 const char *state_json) {
    NAS_CHECK(nas_i_writable(db, "staging a run state"));
    if (!rng || n_done < 0) {
        return nas_error(NAS_EINVAL, "results store '%s': a run state needs an RNG and n_done >= 0",
                         db->path);
    }
    char *copy = NULL;
    if (state_json) {
        size_t n = strlen(state_json) + 1;
        copy = nas_malloc(n);
        if (!copy) {
            return nas_error(NAS_ENOMEM, "results store: out of memory staging a run state");
        }
        memcpy(copy, state_json, n);
    }
    if (db->state_staged && db->state_run != run_id) {
        /* Another run's state is waiting: write it first so neither is lost. */
        nas_status s = nas_store_flush(db);
        if (s != NAS_OK) {
            nas_free(copy);
            return s;
        }
    }
    nas_free(db->state_json);
    db->state_json = copy;
    db->state_staged = true;
    db->state_run = run_id;
    db->state_rng = *rng;
    db->state_n_done = n_done;
    if (db->n_pend == 0) {
        db->batch_t0 = nas_time_now();
    }
    return NAS_OK;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

nas_status nas_store_load_state(nas_store *db, int64_t run_id, bool *found, nas_rng *rng,
                                int64_t *n_done, char **state_json) {
    *found = false;
    if (state_json) {
        *state_json = NULL;
    }
    sqlite3_stmt *st = NULL;
    NAS_CHECK(
        nas_i_prepare(db, "SELECT rng, n_done, state_json FROM run_state WHERE run_id = ?1", &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a run id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char hex[80];
        nas_i_column_text(st, 0, hex, sizeof hex);
        nas_rng r;
        bool ok = strlen(hex) == 64;
        for (int w = 0; w < 4 && ok; w++) {
            uint64_t v = 0;
            for (int d = 0; d < 16 && ok; d++) {
                int x = hexval(hex[w * 16 + d]);
                ok = x >= 0;
                v = v << 4 | (uint64_t)(x & 15);
            }
            r.s[w] = v;
        }
        if (!ok) {
            s = nas_error(NAS_EFORMAT, "results store '%s': run %lld has a damaged RNG state '%s'",
                          db->path, (long long)run_id, hex);
        } else {
            if (rng) {
                *rng = r;
            }
            if (n_done) {
                *n_done = sqlite3_column_int64(st, 1);
            }
            if (state_json) {
                *state_json = nas_i_column_strdup(st, 2);
                if (!*state_json) {
                    s = nas_error(NAS_ENOMEM, "results store: out of memory reading a run state");
                }
            }
            *found = s == NAS_OK;
        }
    } else if (rc != SQLITE_DONE) {
        s = nas_i_store_fail(db, rc, "reading a run state");
    }
    sqlite3_finalize(st);
    return s;
}

nas_status nas_store_mark_stale(nas_store *db, double max_age_seconds, int *n_marked) {
    NAS_CHECK(nas_i_writable(db, "marking stale runs"));
    if (n_marked) {
        *n_marked = 0;
    }
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(
        db,
        "UPDATE runs SET status = 'interrupted', finished_at = datetime('now')"
        " WHERE status = 'running' AND (julianday('now') - julianday(coalesce("
        "  (SELECT updated_at FROM run_state WHERE run_id = runs.id), started_at))) * 86400.0"
        "  > ?1",
        &st));
    int rc = sqlite3_bind_double(st, 1, max_age_seconds);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding an age");
    } else if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
        s = nas_i_store_fail(db, rc, "marking stale runs");
    } else if (n_marked) {
        *n_marked = sqlite3_changes(db->db);
    }
    sqlite3_finalize(st);
    return s;
}
