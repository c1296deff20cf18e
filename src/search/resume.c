/*
 * Resuming a search run: check that the run's record matches the space and scorers given, take
 * its options, reload the history and the strategy state of its last committed round boundary
 * and go on with the round loop.
 */
#include "search-impl.h"

#include <stdio.h>
#include <string.h>

/* The run's options into c (keeping the caller's session options). */
static void take_options(const nas_search_record *rec, nas_search_config *c) {
    c->strategy = rec->strategy;
    c->round = rec->round;
    c->population = rec->population;
    c->sample = rec->sample;
    c->ls_init = rec->ls_init;
    c->net = rec->net;
    c->seed = rec->seed;
}

/* NAS_EINVAL unless the record's recipes, extra scorers and canonical form are the session's. */
static nas_status check_same(int64_t run_id, const nas_search_record *rec, const nas_i_search *s,
                             const nas_i_session *ss) {
    /* a record with a space digest: the space must have that content; an older record's
       recipes carry no digest and are compared without it */
    const bool legacy = rec->space_digest[0] == '\0';
    if (!legacy && strcmp(rec->space_digest, s->sp->digest) != 0) {
        return nas_error(NAS_EINVAL,
                         "run %lld searched space %s with other content (digest %.12s; %s now "
                         "has %.12s): restore the file (the run record holds its content) or "
                         "start a new run",
                         (long long)run_id, s->sp->name, rec->space_digest, s->sp->path,
                         s->sp->digest);
    }
    char want[NAS_SEARCH_RECIPE_MAX];
    nas_i_recipe_of(s, ss, ss->sc->recipe, !legacy, want, sizeof want);
    if (!rec->has_recipe || strcmp(rec->recipe, want) != 0) {
        return nas_error(NAS_EINVAL,
                         "run %lld was scored with recipe '%s'; this scorer's is '%s' (same GHN "
                         "subset, batch and net configuration needed)",
                         (long long)run_id, rec->has_recipe ? rec->recipe : "?", want);
    }
    /* the same extra scorers (a run without the key predates them: none) */
    bool same = rec->n_extra == ss->n_extra;
    for (int x = 0; same && x < rec->n_extra; x++) {
        nas_i_recipe_of(s, ss, s->cfg.extra[x]->recipe, !legacy, want, sizeof want);
        same = strcmp(rec->extra[x].name, s->cfg.extra[x]->name) == 0 &&
               strcmp(rec->extra[x].recipe, want) == 0;
    }
    if (!same) {
        char had[256] = "", given[256] = "";
        for (int x = 0; x < rec->n_extra; x++) {
            size_t l = strlen(had);
            snprintf(had + l, sizeof had - l, "%s%s", x ? "," : "", rec->extra[x].name);
        }
        for (int x = 0; x < ss->n_extra; x++) {
            size_t l = strlen(given);
            snprintf(given + l, sizeof given - l, "%s%s", x ? "," : "", s->cfg.extra[x]->name);
        }
        return nas_error(NAS_EINVAL,
                         "run %lld records the extra scorers [%s] (names and recipes); given [%s]",
                         (long long)run_id, had, given);
    }
    if (rec->canon[0] && strcmp(rec->canon, nas_canon_kind_name(s->canon)) != 0) {
        return nas_error(NAS_EINVAL, "run %lld used canonical form %s, this build uses %s",
                         (long long)run_id, rec->canon, nas_canon_kind_name(s->canon));
    }
    return NAS_OK;
}

nas_status nas_search_resume(nas_store *db, int64_t run_id, const nas_space *sp,
                             const nas_scorer *sc, const nas_search_config *cfg,
                             nas_search_result *res) {
    nas_i_result_init(res);
    res->run_id = run_id;
    const double t0 = nas_time_now();
    nas_store_info info;
    nas_store_get_info(db, &info);
    const double store0 = info.seconds;
    nas_run_info ri;
    memset(&ri, 0, sizeof ri);
    nas_search_record rec;
    memset(&rec, 0, sizeof rec);
    nas_i_search s;
    memset(&s, 0, sizeof s);
    nas_i_session ss;
    memset(&ss, 0, sizeof ss);
    json_t *jstate = NULL;
    char *state_text = NULL;
    bool started = false, locked = false;
    nas_status st = nas_store_run_get(db, run_id, &ri);
    if (st != NAS_OK) {
        return st;
    }
    if (strcmp(ri.kind, "search") != 0) {
        st = nas_error(NAS_EINVAL, "run %lld is not a search run (its kind is %s)",
                       (long long)run_id, ri.kind);
        goto cleanup;
    }
    if (strcmp(ri.space, sp->name) != 0) {
        st = nas_error(NAS_EINVAL, "run %lld searched space %s, not %s", (long long)run_id,
                       ri.space, sp->name);
        goto cleanup;
    }
    if (strcmp(ri.scorer, sc->name) != 0) {
        st = nas_error(NAS_EINVAL, "run %lld was scored by %s, not %s", (long long)run_id,
                       ri.scorer, sc->name);
        goto cleanup;
    }
    /* a live writer of the run holds its lock: refused even with force; a killed one's lock
       died with it */
    NAS_TRY(nas_store_run_lock(db, run_id));
    locked = true;
    if (ri.status == NAS_RUN_RUNNING && !cfg->force) {
        int marked = 0;
        NAS_TRY(nas_store_mark_stale(db, 120.0, &marked));
        nas_run_info_free(&ri);
        NAS_TRY(nas_store_run_get(db, run_id, &ri));
        if (ri.status == NAS_RUN_RUNNING) {
            st = nas_error(NAS_EINVAL,
                           "run %lld is marked running and was updated at %s UTC: another "
                           "process may still be searching it (if it was killed, wait two "
                           "minutes or force the resume)",
                           (long long)run_id, ri.updated_at[0] ? ri.updated_at : ri.started_at);
            goto cleanup;
        }
    }
    nas_search_config c = *cfg;
    NAS_TRY(nas_i_config_validate(&c));
    st = nas_search_record_parse(ri.config_json, &rec);
    if (st != NAS_OK) {
        st = nas_error_wrap(st, "run %lld", (long long)run_id);
        goto cleanup;
    }
    rec.seed = ri.seed; /* runs.seed is the run's stream */
    take_options(&rec, &c);
    NAS_TRY(nas_i_config_validate(&c));
    NAS_TRY(nas_i_search_init(&s, sp, &c));
    NAS_TRY(nas_i_session_prepare(&s, &ss, sc));
    NAS_TRY(check_same(run_id, &rec, &s, &ss));
    ss.db = db;
    ss.run_id = run_id;
    ss.ghn_id = ri.ghn_id;
    NAS_TRY(nas_store_set_batch(db, c.batch_results, c.batch_seconds));
    bool found = false;
    int64_t n_done = 0;
    nas_rng rng;
    NAS_TRY(nas_store_load_state(db, run_id, &found, &rng, &n_done, &state_text));
    NAS_TRY(nas_store_run_set_status(db, run_id, NAS_RUN_RUNNING));
    started = true;
    if (found) {
        json_error_t je;
        jstate = json_loads(state_text ? state_text : "", 0, &je);
        if (!json_is_object(jstate)) {
            st = nas_error(NAS_EFORMAT, "run %lld: its strategy state is not a JSON object (%s)",
                           (long long)run_id, je.text);
            goto cleanup;
        }
        NAS_TRY(nas_i_hist_load(&s, db, run_id, sc->name, n_done));
        s.rng = rng;
        NAS_TRY(s.ops->init(&s));
        NAS_TRY(s.ops->restore(&s, jstate));
    } else {
        NAS_TRY(s.ops->init(&s)); /* killed before its first commit: start over */
    }
    st = nas_i_session_loop(&s, &ss, res);
cleanup:
    if (started) {
        st = nas_i_session_finish(&ss, res, st, t0, store0);
    } else {
        res->status = ri.status;
        res->seconds = nas_time_now() - t0;
    }
    if (locked) {
        nas_store_run_unlock(db, run_id);
    }
    json_decref(jstate);
    nas_free(state_text);
    nas_search_record_free(&rec);
    nas_run_info_free(&ri);
    nas_i_session_free(&ss);
    nas_i_search_free(&s);
    return st;
}
