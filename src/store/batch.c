/*
 * Architectures and scores: the writer's batch (results collected in memory, committed in one
 * transaction with the staged resume state every K results or T seconds), the architecture
 * upsert keyed by (space, canonical key), idempotent score inserts, and the reuse lookup.
 */
#include "store-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char sql_arch_upsert[] =
    "INSERT INTO architectures (space, canonical_hash, arch, n_params, flops, n_nodes, graph_json)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (space, canonical_hash) DO UPDATE SET"
    "  n_params = coalesce(excluded.n_params, architectures.n_params),"
    "  flops = coalesce(excluded.flops, architectures.flops),"
    "  n_nodes = coalesce(excluded.n_nodes, architectures.n_nodes),"
    "  graph_json = coalesce(architectures.graph_json, excluded.graph_json)"
    " RETURNING id";

static const char sql_score_insert[] =
    "INSERT INTO scores (run_id, arch_id, scorer, value, recipe, seq, aux_json, seconds)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (run_id, arch_id, scorer) DO NOTHING";

static const char sql_scorer_insert[] =
    "INSERT INTO scorers (name, higher_is_better) VALUES (?1, ?2)"
    " ON CONFLICT (name) DO NOTHING";

static const char sql_state_upsert[] =
    "INSERT INTO run_state (run_id, rng, n_done, state_json, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, datetime('now'))"
    " ON CONFLICT (run_id) DO UPDATE SET rng = excluded.rng, n_done = excluded.n_done,"
    "  state_json = excluded.state_json, updated_at = excluded.updated_at";

static const char sql_lookup[] =
    "SELECT s.run_id, s.arch_id, s.value, s.seconds"
    " FROM architectures a JOIN scores s ON s.arch_id = a.id JOIN runs r ON r.id = s.run_id"
    " WHERE a.space = ?1 AND a.canonical_hash = ?2 AND s.scorer = ?3 AND s.recipe = ?4"
    "  AND r.ghn_id IS ?5"
    "  AND (?6 IS NULL OR r.data_fingerprint IS NULL OR r.data_fingerprint = ?6)"
    " ORDER BY s.run_id DESC LIMIT 1";

static const char sql_run_ghn[] = "SELECT ghn_id FROM runs WHERE id = ?1";

/* ---- batch memory ------------------------------------------------------------------------------
 */

static const char *arena_strdup(nas_store *db, const char *s) {
    if (!s) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *p = nas_arena_alloc(&db->arena, n);
    if (p) {
        memcpy(p, s, n);
    }
    return p;
}

void nas_i_batch_clear(nas_store *db) {
    db->n_pend = 0;
    db->n_pscore = 0;
    nas_arena_reset(&db->arena);
    db->state_staged = false;
    nas_free(db->state_json);
    db->state_json = NULL;
}

void nas_i_batch_free(nas_store *db) {
    nas_free(db->pend);
    nas_free(db->pscore);
    nas_free(db->state_json);
    db->pend = NULL;
    db->pscore = NULL;
    db->state_json = NULL;
    db->n_pend = db->cap_pend = db->n_pscore = db->cap_pscore = 0;
    nas_arena_free(&db->arena);
}

/* ---- writing a batch ------------------------------------------------------------------------ */

static nas_status write_one(nas_store *db, const nas_i_pending *p) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_cached(db, NAS_I_ST_ARCH_UPSERT, sql_arch_upsert, &st));
    int rc = nas_i_bind_text(st, 1, p->space);
    rc = rc ? rc : nas_i_bind_text(st, 2, p->canon_key);
    rc = rc ? rc : nas_i_bind_text(st, 3, p->arch);
    rc =
        rc ? rc
           : (p->n_params >= 0 ? sqlite3_bind_int64(st, 4, p->n_params) : sqlite3_bind_null(st, 4));
    rc = rc ? rc : (p->flops >= 0 ? sqlite3_bind_int64(st, 5, p->flops) : sqlite3_bind_null(st, 5));
    rc = rc ? rc
            : (p->n_nodes >= 0 ? sqlite3_bind_int(st, 6, p->n_nodes) : sqlite3_bind_null(st, 6));
    rc = rc ? rc : nas_i_bind_text(st, 7, p->graph_json);
    if (rc != SQLITE_OK) {
        return nas_i_store_fail(db, rc, "binding an architecture");
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        nas_status s = nas_i_store_fail(db, rc, "storing an architecture");
        sqlite3_reset(st);
        return s;
    }
    int64_t arch_id = sqlite3_column_int64(st, 0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return nas_i_store_fail(db, rc, "storing an architecture");
    }
    for (int k = 0; k < p->n_scores; k++) {
        const nas_i_pending_score *sc = &db->pscore[p->first_score + k];
        NAS_CHECK(nas_i_cached(db, NAS_I_ST_SCORER_INSERT, sql_scorer_insert, &st));
        rc = nas_i_bind_text(st, 1, sc->scorer);
        rc = rc ? rc : sqlite3_bind_int(st, 2, sc->lower_is_better ? 0 : 1);
        if (rc != SQLITE_OK) {
            return nas_i_store_fail(db, rc, "binding a scorer");
        }
        NAS_CHECK(nas_i_step_done(db, st, "storing a scorer"));

        NAS_CHECK(nas_i_cached(db, NAS_I_ST_SCORE_INSERT, sql_score_insert, &st));
        rc = sqlite3_bind_int64(st, 1, p->run_id);
        rc = rc ? rc : sqlite3_bind_int64(st, 2, arch_id);
        rc = rc ? rc : nas_i_bind_text(st, 3, sc->scorer);
        rc = rc ? rc : nas_i_bind_real(st, 4, sc->value);
        rc = rc ? rc : nas_i_bind_text(st, 5, sc->recipe ? sc->recipe : "");
        rc = rc ? rc : (p->seq >= 0 ? sqlite3_bind_int64(st, 6, p->seq) : sqlite3_bind_null(st, 6));
        rc = rc ? rc : nas_i_bind_text(st, 7, sc->aux_json);
        rc = rc ? rc : nas_i_bind_real(st, 8, sc->seconds);
        if (rc != SQLITE_OK) {
            return nas_i_store_fail(db, rc, "binding a score");
        }
        NAS_CHECK(nas_i_step_done(db, st, "storing a score"));
    }
    return NAS_OK;
}

static nas_status write_state(nas_store *db) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_cached(db, NAS_I_ST_STATE_UPSERT, sql_state_upsert, &st));
    char rng[4 * 16 + 1];
    snprintf(rng, sizeof rng, "%016llx%016llx%016llx%016llx",
             (unsigned long long)db->state_rng.s[0], (unsigned long long)db->state_rng.s[1],
             (unsigned long long)db->state_rng.s[2], (unsigned long long)db->state_rng.s[3]);
    int rc = sqlite3_bind_int64(st, 1, db->state_run);
    rc = rc ? rc : nas_i_bind_text(st, 2, rng);
    rc = rc ? rc : sqlite3_bind_int64(st, 3, db->state_n_done);
    rc = rc ? rc : nas_i_bind_text(st, 4, db->state_json ? db->state_json : "{}");
    if (rc != SQLITE_OK) {
        return nas_i_store_fail(db, rc, "binding the run state");
    }
    return nas_i_step_done(db, st, "storing the run state");
}

nas_status nas_i_batch_write(nas_store *db) {
    for (int i = 0; i < db->n_pend; i++) {
        NAS_CHECK(write_one(db, &db->pend[i]));
    }
    if (db->state_staged) {
        NAS_CHECK(write_state(db));
    }
    return NAS_OK;
}

nas_status nas_store_flush(nas_store *db) {
    if (db->n_pend == 0 && !db->state_staged) {
        return NAS_OK;
    }
    NAS_CHECK(nas_i_writable(db, "flush"));
    double t0 = nas_time_now();
    nas_status s = nas_i_begin(db);
    if (s == NAS_OK) {
        s = nas_i_batch_write(db);
        if (s == NAS_OK) {
            s = nas_i_commit(db); /* rolls back on failure */
        } else {
            nas_i_rollback(db);
        }
    }
    if (s == NAS_OK) {
        db->commits++;
        db->results += db->n_pend;
        nas_i_batch_clear(db);
    } else {
        nas_error_wrap(s, "committing %d results", db->n_pend);
    }
    db->seconds += nas_time_now() - t0;
    return s;
}

nas_status nas_store_poll(nas_store *db) {
    if (db->n_pend == 0 && !db->state_staged) {
        return NAS_OK;
    }
    if (db->n_pend >= db->batch_max || nas_time_now() - db->batch_t0 >= db->batch_seconds) {
        return nas_store_flush(db);
    }
    return NAS_OK;
}

int nas_store_pending(const nas_store *db) {
    return db->n_pend;
}

nas_status nas_store_set_batch(nas_store *db, int max_results, double max_seconds) {
    if (max_results < 1 || !(max_seconds >= 0)) {
        return nas_error(NAS_EINVAL,
                         "results store batch: need at least 1 result and a time >= 0 s (got %d, "
                         "%g)",
                         max_results, max_seconds);
    }
    db->batch_max = max_results;
    db->batch_seconds = max_seconds;
    return NAS_OK;
}

/* ---- adding ---------------------------------------------------------------------------------- */

static nas_status run_ghn(nas_store *db, int64_t run_id, int64_t *ghn_id) {
    if (run_id == db->pend_ghn_run) {
        *ghn_id = db->pend_ghn_id;
        return NAS_OK;
    }
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_cached(db, NAS_I_ST_RUN_GHN, sql_run_ghn, &st));
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc != SQLITE_OK) {
        return nas_i_store_fail(db, rc, "binding a run id");
    }
    rc = sqlite3_step(st);
    nas_status s = NAS_OK;
    if (rc == SQLITE_ROW) {
        *ghn_id = sqlite3_column_int64(st, 0); /* NULL reads as 0 */
        db->pend_ghn_run = run_id;
        db->pend_ghn_id = *ghn_id;
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND, "results store '%s': run %lld does not exist", db->path,
                      (long long)run_id);
    } else {
        s = nas_i_store_fail(db, rc, "reading a run");
    }
    sqlite3_reset(st);
    return s;
}

nas_status nas_store_add(nas_store *db, int64_t run_id, int64_t seq, const nas_arch_record *arch,
                         const nas_score_record *scores, int n_scores,
                         const nas_store_progress *progress) {
    NAS_CHECK(nas_i_writable(db, "adding a result"));
    if (progress && (!progress->rng || progress->n_done < 0)) {
        return nas_error(NAS_EINVAL, "results store '%s': progress needs an RNG and n_done >= 0",
                         db->path);
    }
    if (!arch || !arch->space || !arch->canon_key || !arch->arch || !arch->space[0] ||
        !arch->canon_key[0] || n_scores < 0 || (n_scores > 0 && !scores)) {
        return nas_error(NAS_EINVAL,
                         "results store '%s': a result needs a space, a canonical key "
                         "and an architecture text",
                         db->path);
    }
    for (int k = 0; k < n_scores; k++) {
        if (!scores[k].scorer || !scores[k].scorer[0]) {
            return nas_error(NAS_EINVAL, "results store '%s': score %d has no scorer name",
                             db->path, k);
        }
    }
    double t0 = nas_time_now();
    int64_t ghn_id = 0;
    nas_status s = run_ghn(db, run_id, &ghn_id);
    if (s != NAS_OK) {
        db->seconds += nas_time_now() - t0;
        return s;
    }
    if (db->n_pend == db->cap_pend) {
        int cap = db->cap_pend ? 2 * db->cap_pend : 64;
        nas_i_pending *p = nas_realloc(db->pend, (size_t)cap * sizeof *p);
        if (!p) {
            return nas_error(NAS_ENOMEM, "results store: out of memory for the batch");
        }
        db->pend = p;
        db->cap_pend = cap;
    }
    if (db->n_pscore + n_scores > db->cap_pscore) {
        int cap = db->cap_pscore ? 2 * db->cap_pscore : 256;
        while (cap < db->n_pscore + n_scores) {
            cap *= 2;
        }
        nas_i_pending_score *p = nas_realloc(db->pscore, (size_t)cap * sizeof *p);
        if (!p) {
            return nas_error(NAS_ENOMEM, "results store: out of memory for the batch");
        }
        db->pscore = p;
        db->cap_pscore = cap;
    }
    nas_i_pending *p = &db->pend[db->n_pend];
    memset(p, 0, sizeof *p);
    p->run_id = run_id;
    p->seq = seq;
    p->ghn_id = ghn_id;
    p->n_params = arch->n_params;
    p->flops = arch->flops;
    p->n_nodes = arch->n_nodes;
    p->space = arena_strdup(db, arch->space);
    p->canon_key = arena_strdup(db, arch->canon_key);
    p->arch = arena_strdup(db, arch->arch);
    p->graph_json = arena_strdup(db, arch->graph_json);
    bool oom = !p->space || !p->canon_key || !p->arch || (arch->graph_json && !p->graph_json);
    p->first_score = db->n_pscore;
    p->n_scores = n_scores;
    for (int k = 0; k < n_scores && !oom; k++) {
        nas_i_pending_score *sc = &db->pscore[db->n_pscore + k];
        sc->scorer = arena_strdup(db, scores[k].scorer);
        sc->recipe = arena_strdup(db, scores[k].recipe ? scores[k].recipe : "");
        sc->aux_json = arena_strdup(db, scores[k].aux_json);
        sc->value = scores[k].value;
        sc->seconds = scores[k].seconds;
        sc->lower_is_better = scores[k].lower_is_better;
        oom = !sc->scorer || !sc->recipe || (scores[k].aux_json && !sc->aux_json);
    }
    if (oom) {
        return nas_error(NAS_ENOMEM, "results store: out of memory for the batch");
    }
    if (progress) {
        /* Staged before the result counts, so a failure here leaves the batch as it was. */
        nas_status ps = nas_store_stage_state(db, run_id, progress->rng, progress->n_done,
                                              progress->state_json);
        if (ps != NAS_OK) {
            return ps;
        }
    }
    if (db->n_pend == 0) {
        db->batch_t0 = t0;
    }
    db->n_pend++;
    db->n_pscore += n_scores;
    db->seconds += nas_time_now() - t0;
    return nas_store_poll(db);
}

/* ---- lookups --------------------------------------------------------------------------------- */

nas_status nas_store_score_lookup(nas_store *db, const char *space, const char *canon_key,
                                  const char *scorer, int64_t ghn_id, const char *recipe,
                                  const char *fingerprint, nas_score_hit *hit) {
    memset(hit, 0, sizeof *hit);
    hit->value = (double)NAN;
    if (!space || !canon_key || !scorer) {
        return nas_error(NAS_EINVAL, "score lookup: space, canonical key and scorer are required");
    }
    if (!recipe) {
        recipe = "";
    }
    /* The pending batch first: a result added moments ago is reused too. */
    for (int i = db->n_pend - 1; i >= 0; i--) {
        const nas_i_pending *p = &db->pend[i];
        if (p->ghn_id != ghn_id || strcmp(p->space, space) != 0 ||
            strcmp(p->canon_key, canon_key) != 0) {
            continue;
        }
        for (int k = 0; k < p->n_scores; k++) {
            const nas_i_pending_score *sc = &db->pscore[p->first_score + k];
            if (strcmp(sc->scorer, scorer) == 0 && strcmp(sc->recipe, recipe) == 0) {
                hit->found = true;
                hit->run_id = p->run_id;
                hit->value = sc->value;
                hit->seconds = sc->seconds;
                return NAS_OK;
            }
        }
    }
    double t0 = nas_time_now();
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_cached(db, NAS_I_ST_LOOKUP, sql_lookup, &st));
    int rc = nas_i_bind_text(st, 1, space);
    rc = rc ? rc : nas_i_bind_text(st, 2, canon_key);
    rc = rc ? rc : nas_i_bind_text(st, 3, scorer);
    rc = rc ? rc : nas_i_bind_text(st, 4, recipe);
    rc = rc ? rc : (ghn_id > 0 ? sqlite3_bind_int64(st, 5, ghn_id) : sqlite3_bind_null(st, 5));
    rc = rc ? rc
            : (fingerprint && fingerprint[0] ? nas_i_bind_text(st, 6, fingerprint)
                                             : sqlite3_bind_null(st, 6));
    if (rc != SQLITE_OK) {
        return nas_i_store_fail(db, rc, "binding a score lookup");
    }
    rc = sqlite3_step(st);
    nas_status s = NAS_OK;
    if (rc == SQLITE_ROW) {
        hit->found = true;
        hit->run_id = sqlite3_column_int64(st, 0);
        hit->arch_id = sqlite3_column_int64(st, 1);
        hit->value =
            sqlite3_column_type(st, 2) == SQLITE_NULL ? (double)NAN : sqlite3_column_double(st, 2);
        hit->seconds = sqlite3_column_double(st, 3);
    } else if (rc != SQLITE_DONE) {
        s = nas_i_store_fail(db, rc, "looking up a stored score");
    }
    sqlite3_reset(st);
    db->seconds += nas_time_now() - t0;
    return s;
}

nas_status nas_store_arch_find(nas_store *db, const char *space, const char *canon_key,
                               int64_t *arch_id) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(
        db, "SELECT id FROM architectures WHERE space = ?1 AND canonical_hash = ?2", &st));
    int rc = nas_i_bind_text(st, 1, space);
    rc = rc ? rc : nas_i_bind_text(st, 2, canon_key);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "binding an architecture lookup");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *arch_id = sqlite3_column_int64(st, 0);
    } else if (rc == SQLITE_DONE) {
        s = nas_error(NAS_ENOTFOUND,
                      "results store '%s': no architecture with key '%s' in space "
                      "'%s'",
                      db->path, canon_key, space);
    } else {
        s = nas_i_store_fail(db, rc, "looking up an architecture");
    }
    sqlite3_finalize(st);
    return s;
}
