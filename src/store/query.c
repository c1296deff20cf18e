/*
 * Readers of the results store, each producing a table: the runs, the top-K of a run by a scorer
 * (direction from `scorers`), one architecture with all its scores and trainings, the Pareto
 * front of score against params or FLOPs (an O(n log n) sweep), the GHN models, and one
 * arbitrary read-only SQL statement.
 */
#include "store-impl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Append a prepared statement's rows to a table, then finalise it. */
static nas_status fill_stmt(nas_store *db, sqlite3_stmt *st, nas_store_table *out) {
    nas_status s = nas_i_table_fill(db, st, out);
    sqlite3_finalize(st);
    return s;
}

nas_status nas_store_query_runs(nas_store *db, nas_store_table *out) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(
        db,
        "SELECT r.id, r.name, r.kind, r.status, r.space, r.dataset, r.scorer,"
        " (SELECT count(*) FROM scores s WHERE s.run_id = r.id AND s.scorer = r.scorer) AS archs,"
        " CASE WHEN coalesce((SELECT higher_is_better FROM scorers WHERE name = r.scorer), 1)"
        "  THEN (SELECT max(value) FROM scores s WHERE s.run_id = r.id AND s.scorer = r.scorer)"
        "  ELSE (SELECT min(value) FROM scores s WHERE s.run_id = r.id AND s.scorer = r.scorer)"
        " END AS best,"
        " rs.n_done AS done, r.ghn_id, r.seed, r.started_at,"
        " coalesce(rs.updated_at, r.finished_at, r.started_at) AS updated_at"
        " FROM runs r LEFT JOIN run_state rs ON rs.run_id = r.id ORDER BY r.id",
        &st));
    return fill_stmt(db, st, out);
}

/* One int64 (or NULL -> *found false) from a statement with text/int params bound by caller. */
static nas_status step_int(nas_store *db, sqlite3_stmt *st, bool *found, int64_t *v,
                           const char *what) {
    int rc = sqlite3_step(st);
    *found = false;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            *found = true;
            *v = sqlite3_column_int64(st, 0);
        }
        return NAS_OK;
    }
    if (rc == SQLITE_DONE) {
        return NAS_OK;
    }
    return nas_i_store_fail(db, rc, what);
}

/* Comma-separated scorers of a run (for messages). */
static void run_scorers(nas_store *db, int64_t run_id, char *buf, size_t cap) {
    buf[0] = '\0';
    sqlite3_stmt *st = NULL;
    if (nas_i_prepare(db, "SELECT DISTINCT scorer FROM scores WHERE run_id = ?1 ORDER BY 1", &st) !=
        NAS_OK) {
        return;
    }
    size_t len = 0;
    if (sqlite3_bind_int64(st, 1, run_id) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW && len + 2 < cap) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
                                    t ? (const char *)t : "");
        }
    }
    sqlite3_finalize(st);
}

/*
 * Resolve the run (0 = newest with scores) and the scorer (NULL = the run's primary one if it has
 * scores, else its most frequent) of a ranking query; *higher = the scorer's direction.
 */
static nas_status resolve_ranking(nas_store *db, int64_t *run_id, const char *scorer,
                                  char *scorer_out, size_t cap, bool *higher) {
    sqlite3_stmt *st = NULL;
    bool found = false;
    int64_t v = 0;
    nas_status s = NAS_OK;
    if (*run_id <= 0) {
        NAS_CHECK(nas_i_prepare(db, "SELECT max(run_id) FROM scores", &st));
        s = step_int(db, st, &found, &v, "finding the newest run");
        sqlite3_finalize(st);
        NAS_CHECK(s);
        if (!found) {
            return nas_error(NAS_ENOTFOUND, "results store '%s' has no scores yet", db->path);
        }
        *run_id = v;
    } else {
        NAS_CHECK(nas_i_prepare(db, "SELECT id FROM runs WHERE id = ?1", &st));
        int rc = sqlite3_bind_int64(st, 1, *run_id);
        s = rc ? nas_i_store_fail(db, rc, "binding a run id")
               : step_int(db, st, &found, &v, "reading a run");
        sqlite3_finalize(st);
        NAS_CHECK(s);
        if (!found) {
            return nas_error(NAS_ENOTFOUND, "results store '%s': run %lld does not exist", db->path,
                             (long long)*run_id);
        }
    }
    /* The scorer: given, primary (when it has scores), or the most frequent one. */
    NAS_CHECK(nas_i_prepare(
        db,
        "SELECT s.scorer FROM scores s WHERE s.run_id = ?1"
        " AND (?2 IS NULL OR s.scorer = ?2)"
        " GROUP BY s.scorer"
        " ORDER BY s.scorer = (SELECT scorer FROM runs WHERE id = ?1) DESC, count(*) DESC,"
        "  s.scorer LIMIT 1",
        &st));
    int rc = sqlite3_bind_int64(st, 1, *run_id);
    rc = rc ? rc : nas_i_bind_text(st, 2, scorer);
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding a scorer");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        nas_i_column_text(st, 0, scorer_out, cap);
    } else if (rc == SQLITE_DONE) {
        char list[256];
        run_scorers(db, *run_id, list, sizeof list);
        if (scorer) {
            s = nas_error(NAS_ENOTFOUND, "results store '%s': run %lld has no scores by '%s'%s%s%s",
                          db->path, (long long)*run_id, scorer, list[0] ? " (it has: " : "", list,
                          list[0] ? ")" : " (it has none)");
        } else {
            s = nas_error(NAS_ENOTFOUND, "results store '%s': run %lld has no scores yet", db->path,
                          (long long)*run_id);
        }
    } else {
        s = nas_i_store_fail(db, rc, "choosing a scorer");
    }
    sqlite3_finalize(st);
    NAS_CHECK(s);
    NAS_CHECK(nas_i_prepare(db, "SELECT higher_is_better FROM scorers WHERE name = ?1", &st));
    rc = nas_i_bind_text(st, 1, scorer_out);
    s = rc ? nas_i_store_fail(db, rc, "binding a scorer")
           : step_int(db, st, &found, &v, "reading a scorer");
    sqlite3_finalize(st);
    *higher = !found || v != 0;
    return s;
}

/* Rename column c (after a fill) to `name`. */
static nas_status rename_col(nas_store_table *t, int c, const char *name) {
    size_t len = strlen(name);
    char *p = nas_malloc(len + 1);
    if (!p) {
        return nas_error(NAS_ENOMEM, "results store: out of memory for a table");
    }
    memcpy(p, name, len + 1);
    nas_free(t->cols[c]);
    t->cols[c] = p;
    return NAS_OK;
}

nas_status nas_store_query_run_scorers(nas_store *db, int64_t run_id, nas_store_table *out) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "SELECT s.scorer, COALESCE(c.higher_is_better, 1) AS higher_is_better,"
                            " count(s.value) AS n FROM scores s"
                            " LEFT JOIN scorers c ON c.name = s.scorer"
                            " WHERE s.run_id = ?1 GROUP BY s.scorer ORDER BY s.scorer",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return nas_i_store_fail(db, rc, "binding a scorers query");
    }
    return fill_stmt(db, st, out);
}

nas_status nas_store_query_run_trainings(nas_store *db, int64_t run_id, nas_store_table *out) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "SELECT arch_id, MAX(val_acc) AS val_acc, test_acc, epochs, seconds"
                            " FROM trainings WHERE run_id = ?1 AND status = 'finished'"
                            " AND val_acc IS NOT NULL GROUP BY arch_id"
                            " ORDER BY val_acc DESC, arch_id",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return nas_i_store_fail(db, rc, "binding a trainings query");
    }
    return fill_stmt(db, st, out);
}

nas_status nas_store_query_top(nas_store *db, int64_t run_id, const char *scorer, int64_t k,
                               nas_store_table *out) {
    if (k < 1) {
        return nas_error(NAS_EINVAL, "top: k must be at least 1 (got %lld)", (long long)k);
    }
    char name[128];
    bool higher = true;
    NAS_CHECK(resolve_ranking(db, &run_id, scorer, name, sizeof name, &higher));
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            higher ? "SELECT row_number() OVER (ORDER BY s.value DESC, s.arch_id)"
                                     " AS rank, s.arch_id, s.value, a.n_params AS params,"
                                     " a.flops, a.arch"
                                     " FROM scores s JOIN architectures a ON a.id = s.arch_id"
                                     " WHERE s.run_id = ?1 AND s.scorer = ?2"
                                     " AND s.value IS NOT NULL"
                                     " ORDER BY s.value DESC, s.arch_id LIMIT ?3"
                                   : "SELECT row_number() OVER (ORDER BY s.value ASC, s.arch_id)"
                                     " AS rank, s.arch_id, s.value, a.n_params AS params,"
                                     " a.flops, a.arch"
                                     " FROM scores s JOIN architectures a ON a.id = s.arch_id"
                                     " WHERE s.run_id = ?1 AND s.scorer = ?2"
                                     " AND s.value IS NOT NULL"
                                     " ORDER BY s.value ASC, s.arch_id LIMIT ?3",
                            &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    rc = rc ? rc : nas_i_bind_text(st, 2, name);
    rc = rc ? rc : sqlite3_bind_int64(st, 3, k);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return nas_i_store_fail(db, rc, "binding a top query");
    }
    NAS_CHECK(fill_stmt(db, st, out));
    return rename_col(out, 2, name);
}

nas_status nas_pareto_by_from_name(const char *name, nas_pareto_by *out) {
    if (strcmp(name, "params") == 0) {
        *out = NAS_PARETO_PARAMS;
    } else if (strcmp(name, "flops") == 0) {
        *out = NAS_PARETO_FLOPS;
    } else {
        return nas_error(NAS_EINVAL, "unknown cost '%s' (params or flops)", name);
    }
    return NAS_OK;
}

nas_status nas_store_query_pareto(nas_store *db, int64_t run_id, const char *scorer,
                                  nas_pareto_by by, nas_store_table *out) {
    if (by != NAS_PARETO_PARAMS && by != NAS_PARETO_FLOPS) {
        return nas_error(NAS_EINVAL, "pareto: bad cost %d (params or flops)", (int)by);
    }
    char name[128];
    bool higher = true;
    NAS_CHECK(resolve_ranking(db, &run_id, scorer, name, sizeof name, &higher));
    char sql[512];
    const char *cost = by == NAS_PARETO_PARAMS ? "n_params" : "flops";
    snprintf(sql, sizeof sql,
             "SELECT s.arch_id, s.value, a.%s AS %s, a.arch"
             " FROM scores s JOIN architectures a ON a.id = s.arch_id"
             " WHERE s.run_id = ?1 AND s.scorer = ?2 AND s.value IS NOT NULL"
             " AND a.%s IS NOT NULL ORDER BY a.%s, s.value %s, s.arch_id",
             cost, by == NAS_PARETO_PARAMS ? "params" : "flops", cost, cost,
             higher ? "DESC" : "ASC");
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, sql, &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    rc = rc ? rc : nas_i_bind_text(st, 2, name);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return nas_i_store_fail(db, rc, "binding a Pareto query");
    }
    nas_store_table all = {0};
    nas_status s = fill_stmt(db, st, &all);
    if (s == NAS_OK) {
        const char *cols[4] = {"arch_id", name, by == NAS_PARETO_PARAMS ? "params" : "flops",
                               "arch"};
        s = nas_i_table_set_cols(out, 4, cols);
    }
    /*
     * Rows come sorted by cost, best score first within a cost. A row is on the front when its
     * score is strictly better than every row of smaller cost and equal to the best of its own
     * cost (ties of cost and score are all kept, as the `pareto` view does).
     */
    bool have_prev = false;
    double best_prev = 0, group_best = 0;
    int64_t group_cost = 0;
    for (int64_t r = 0; s == NAS_OK && r < all.n_rows; r++) {
        const nas_store_value *row = &all.v[r * all.n_cols];
        double v = row[1].type == NAS_STORE_INT ? (double)row[1].i : row[1].r;
        int64_t c = row[2].i;
        if (r == 0 || c != group_cost) {
            if (r > 0) {
                /* Close the previous cost group. */
                if (!have_prev || (higher ? group_best > best_prev : group_best < best_prev)) {
                    best_prev = group_best;
                }
                have_prev = true;
            }
            group_cost = c;
            group_best = v;
        }
        bool beats_prev = !have_prev || (higher ? v > best_prev : v < best_prev);
        if (beats_prev && v == group_best) {
            s = nas_i_table_add_row(out, row);
        }
    }
    nas_store_table_free(&all);
    return s;
}

nas_status nas_store_query_arch(nas_store *db, const char *id_or_text, nas_store_table *arch,
                                nas_store_table *scores, nas_store_table *trainings) {
    if (!id_or_text || !id_or_text[0]) {
        return nas_error(NAS_EINVAL, "arch: give an architecture id or text");
    }
    bool digits = true;
    for (const char *p = id_or_text; *p; p++) {
        digits = digits && isdigit((unsigned char)*p);
    }
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            digits ? "SELECT id FROM architectures WHERE id = CAST(?1 AS INTEGER)"
                                   : "SELECT id FROM architectures WHERE arch = ?1"
                                     " OR canonical_hash = ?1 ORDER BY id LIMIT 1",
                            &st));
    bool found = false;
    int64_t id = 0;
    int rc = nas_i_bind_text(st, 1, id_or_text);
    nas_status s = rc ? nas_i_store_fail(db, rc, "binding an architecture")
                      : step_int(db, st, &found, &id, "finding an architecture");
    sqlite3_finalize(st);
    NAS_CHECK(s);
    if (!found) {
        return nas_error(NAS_ENOTFOUND, "results store '%s': no architecture %s'%s'", db->path,
                         digits ? "with id " : "with text or canonical key ", id_or_text);
    }
    static const char *const sqls[3] = {
        "SELECT id, space, canonical_hash, arch, n_params AS params, flops, n_nodes, graph_json"
        " FROM architectures WHERE id = ?1",
        "SELECT s.run_id, s.scorer, s.value,"
        " 1 + CASE WHEN coalesce(d.higher_is_better, 1)"
        "  THEN (SELECT count(*) FROM scores b WHERE b.run_id = s.run_id AND b.scorer = s.scorer"
        "        AND b.value > s.value)"
        "  ELSE (SELECT count(*) FROM scores b WHERE b.run_id = s.run_id AND b.scorer = s.scorer"
        "        AND b.value < s.value) END AS rank,"
        " s.recipe, s.seq, s.seconds, s.aux_json, s.created_at"
        " FROM scores s LEFT JOIN scorers d ON d.name = s.scorer"
        " WHERE s.arch_id = ?1 ORDER BY s.run_id, s.scorer",
        "SELECT id, run_id, init, status, epochs, epochs_done, train_acc, val_acc, test_acc,"
        " seconds, recipe_json, curve_json, updated_at"
        " FROM trainings WHERE arch_id = ?1 ORDER BY id"};
    nas_store_table *outs[3] = {arch, scores, trainings};
    for (int i = 0; i < 3; i++) {
        if (!outs[i]) {
            continue;
        }
        NAS_CHECK(nas_i_prepare(db, sqls[i], &st));
        rc = sqlite3_bind_int64(st, 1, id);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return nas_i_store_fail(db, rc, "binding an architecture id");
        }
        NAS_CHECK(fill_stmt(db, st, outs[i]));
    }
    return NAS_OK;
}

nas_status nas_store_query_ghns(nas_store *db, nas_store_table *out) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db,
                            "SELECT g.id, g.space, g.dataset, g.steps, g.train_loss, g.val_acc,"
                            " g.seconds, length(g.checkpoint) AS bytes,"
                            " (SELECT count(*) FROM runs r WHERE r.ghn_id = g.id) AS runs,"
                            " g.created_at, g.config_json"
                            " FROM ghn_models g ORDER BY g.id",
                            &st));
    return fill_stmt(db, st, out);
}

/* True when text holds only whitespace, semicolons and SQL comments. */
static bool only_trailing(nas_store *db, const char *tail) {
    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        const char *next = NULL;
        if (sqlite3_prepare_v2(db->db, tail, -1, &st, &next) != SQLITE_OK || st) {
            sqlite3_finalize(st);
            return false;
        }
        if (next == tail) {
            break;
        }
        tail = next;
    }
    return true;
}

nas_status nas_store_query_sql(nas_store *db, const char *sql, nas_store_table *out) {
    if (!db->readonly) {
        return nas_error(NAS_EINVAL,
                         "results store '%s': arbitrary SQL runs only on a store "
                         "opened read-only",
                         db->path);
    }
    if (!sql) {
        return nas_error(NAS_EINVAL, "sql: no statement given");
    }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db->db, sql, -1, &st, &tail);
    if (rc != SQLITE_OK) {
        nas_status s = nas_error(NAS_EDB, "results store '%s': SQL error: %s", db->path,
                                 sqlite3_errmsg(db->db));
        sqlite3_finalize(st);
        return s;
    }
    if (!st) {
        return nas_error(NAS_EINVAL, "sql: no statement given (only whitespace or comments)");
    }
    if (!only_trailing(db, tail)) {
        sqlite3_finalize(st);
        return nas_error(NAS_EINVAL, "sql: give exactly one statement (found more after the "
                                     "first ';')");
    }
    if (!sqlite3_stmt_readonly(st)) {
        char head[64];
        snprintf(head, sizeof head, "%s", sql);
        for (char *p = head; *p; p++) {
            if (*p == '\n' || *p == '\r' || *p == '\t') {
                *p = ' ';
            }
        }
        sqlite3_finalize(st);
        return nas_error(NAS_EINVAL,
                         "sql: refusing a statement that writes ('%s%s'): `ghnas query` opens "
                         "the store read-only; use SELECT",
                         head, strlen(sql) >= sizeof head ? "..." : "");
    }
    if (sqlite3_column_count(st) == 0) {
        sqlite3_finalize(st);
        return nas_error(NAS_EINVAL, "sql: the statement returns no columns (use SELECT)");
    }
    nas_status s = nas_i_table_fill(db, st, out);
    if (s == NAS_EDB && (sqlite3_errcode(db->db) & 0xff) == SQLITE_READONLY) {
        /* Belt and braces: the read-only connection refused a write sqlite3_stmt_readonly let
         * through. */
        s = nas_error(NAS_EINVAL, "sql: refusing to write: the store is opened read-only");
    }
    sqlite3_finalize(st);
    return s;
}
