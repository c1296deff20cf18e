/*
 * Shared plumbing of the results store: SQLite return codes mapped to NAS_EDB messages that name
 * the file and say what to do, statement preparation and caching, transactions, binding and
 * column helpers.
 */
#include "store-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *hint_for(int rc) {
    switch (rc & 0xff) {
        case SQLITE_FULL:
            return "the disk or the store's size limit is full; free space, then resume";
        case SQLITE_READONLY:
            return "the file or its directory is read-only";
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return "another process kept the database locked for too long";
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return "the file is damaged or not a results store";
        case SQLITE_CANTOPEN:
            return "missing directory or no permission";
        case SQLITE_IOERR:
            return "input/output error";
        case SQLITE_PERM:
        case SQLITE_AUTH:
            return "permission denied";
        case SQLITE_NOMEM:
            return "out of memory";
        default:
            return NULL;
    }
}

nas_status nas_i_store_fail_raw(sqlite3 *conn, const char *path, int rc, const char *what) {
    const char *msg = conn ? sqlite3_errmsg(conn) : NULL;
    if (!msg || strcmp(msg, "not an error") == 0) {
        msg = sqlite3_errstr(rc);
    }
    const char *hint = hint_for(rc);
    if (hint && !strstr(msg, hint)) {
        return nas_error(NAS_EDB, "results store '%s': %s: %s (%s)", path ? path : "?", what, msg,
                         hint);
    }
    return nas_error(NAS_EDB, "results store '%s': %s: %s", path ? path : "?", what, msg);
}

nas_status nas_i_store_fail(const nas_store *db, int rc, const char *what) {
    return nas_i_store_fail_raw(db->db, db->path, rc, what);
}

nas_status nas_i_prepare(nas_store *db, const char *sql, sqlite3_stmt **st) {
    *st = NULL;
    int rc = sqlite3_prepare_v2(db->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return nas_i_store_fail(db, rc, "preparing a statement");
    }
    return NAS_OK;
}

nas_status nas_i_cached(nas_store *db, int which, const char *sql, sqlite3_stmt **st) {
    NAS_ASSERT(which >= 0 && which < NAS_I_ST_COUNT);
    if (!db->st[which]) {
        int rc =
            sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->st[which], NULL);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(db->st[which]);
            db->st[which] = NULL;
            return nas_i_store_fail(db, rc, "preparing a statement");
        }
    }
    *st = db->st[which];
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return NAS_OK;
}

nas_status nas_i_exec(nas_store *db, const char *sql, const char *what) {
    char *err = NULL;
    int rc = sqlite3_exec(db->db, sql, NULL, NULL, &err);
    sqlite3_free(err); /* sqlite3_errmsg still holds the same text */
    if (rc != SQLITE_OK) {
        return nas_i_store_fail(db, rc, what);
    }
    return NAS_OK;
}

nas_status nas_i_writable(const nas_store *db, const char *what) {
    if (db->readonly) {
        return nas_error(NAS_EINVAL, "results store '%s': %s: the store was opened read-only",
                         db->path, what);
    }
    return NAS_OK;
}

nas_status nas_i_begin(nas_store *db) {
    return nas_i_exec(db, "BEGIN IMMEDIATE", "starting a write transaction");
}

nas_status nas_i_commit(nas_store *db) {
    nas_status st = nas_i_exec(db, "COMMIT", "committing");
    if (st != NAS_OK) {
        nas_i_rollback(db);
    }
    return st;
}

void nas_i_rollback(nas_store *db) {
    if (!sqlite3_get_autocommit(db->db)) {
        /* A failed ROLLBACK leaves SQLite to roll back on close; nothing more can be done. */
        (void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

int nas_i_bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (!s) {
        return sqlite3_bind_null(st, i);
    }
    return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

int nas_i_bind_real(sqlite3_stmt *st, int i, double v) {
    if (isnan(v)) {
        return sqlite3_bind_null(st, i);
    }
    return sqlite3_bind_double(st, i, v);
}

nas_status nas_i_step_done(nas_store *db, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    nas_status s = NAS_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        s = nas_i_store_fail(db, rc, what);
    }
    sqlite3_reset(st);
    return s;
}

void nas_i_column_text(sqlite3_stmt *st, int col, char *buf, size_t cap) {
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

char *nas_i_column_strdup(sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    char *s = nas_malloc(n + 1);
    if (!s) {
        return NULL;
    }
    if (n) {
        memcpy(s, t, n);
    }
    s[n] = '\0';
    return s;
}

static const char *const status_names[] = {"running", "finished", "interrupted", "failed"};

const char *nas_run_status_name(nas_run_status s) {
    if ((int)s < 0 || (int)s >= (int)(sizeof status_names / sizeof status_names[0])) {
        return "?";
    }
    return status_names[s];
}

nas_status nas_i_run_status_parse(const char *s, nas_run_status *out) {
    for (int i = 0; i < (int)(sizeof status_names / sizeof status_names[0]); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (nas_run_status)i;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EFORMAT, "unknown run status '%s'", s);
}

int nas_i_bind_fingerprint(sqlite3_stmt *st, int i, const char *fp) {
    return fp && fp[0] ? nas_i_bind_text(st, i, fp) : sqlite3_bind_null(st, i);
}

nas_status nas_i_fingerprint_of(nas_store *db, const char *table, const char *noun, int64_t id,
                                char out[17]) {
    out[0] = '\0';
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT data_fingerprint FROM %s WHERE id = ?1", table);
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, sql, &st));
    int rc = sqlite3_bind_int64(st, 1, id);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding an id");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        nas_i_column_text(st, 0, out, 17);
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': %s %lld does not exist", db->path, noun,
                      (long long)id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a data fingerprint");
    }
    sqlite3_finalize(st);
    return s;
}

nas_status nas_i_newest_of(nas_store *db, const char *table, const char *noun, const char *hint,
                           const char *space, const char *dataset, const char *fp, int64_t *id) {
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT id, ?3 IS NULL OR data_fingerprint IS NULL OR data_fingerprint = ?3 FROM %s"
             " WHERE space = ?1 AND dataset = ?2"
             " ORDER BY ?3 IS NULL OR data_fingerprint IS NULL OR data_fingerprint = ?3 DESC,"
             " (?3 IS NOT NULL AND data_fingerprint IS ?3) DESC, id DESC LIMIT 1",
             table);
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, sql, &st));
    int rc = nas_i_bind_text(st, 1, space);
    rc = rc ? rc : nas_i_bind_text(st, 2, dataset);
    rc = rc ? rc : nas_i_bind_fingerprint(st, 3, fp);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a lookup");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int(st, 1)) {
        *id = sqlite3_column_int64(st, 0);
    } else if (rc == SQLITE_ROW) {
        s = nas_error(NAS_ENOTFOUND,
                      "results store '%s' has no %s for space '%s' and dataset '%s' with data "
                      "fingerprint %s (%s %lld was made on other data: another fingerprint)%s",
                      db->path, noun, space ? space : "", dataset ? dataset : "", fp, noun,
                      (long long)sqlite3_column_int64(st, 0), hint);
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND,
                      "results store '%s' has no %s for space '%s' and dataset '%s'%s", db->path,
                      noun, space ? space : "", dataset ? dataset : "", hint);
    } else {
        s = nas_i_store_fail(db, rc, "looking up the newest row");
    }
    sqlite3_finalize(st);
    return s;
}
