/*
 * The search controller: strategy names and the configuration, the scoring session (compile and
 * score a candidate, store a result) and the round loop (propose on the main thread, reuse stored
 * scores, score the rest in parallel, observe in order, store with the resume point), and
 * starting a run. The history is in history.c, the run record in record.c, resuming in resume.c.
 */
#include "search-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and configuration ----------------------------------------------------------------- */

static const char *const strategy_names[NAS_STRATEGY_COUNT] = {"random", "evolution", "exhaustive",
                                                               "local"};

const char *nas_strategy_name(nas_strategy s) {
    return (unsigned)s < NAS_STRATEGY_COUNT ? strategy_names[s] : "?";
}

nas_status nas_strategy_from_name(const char *name, nas_strategy *out) {
    for (int k = 0; k < NAS_STRATEGY_COUNT; k++) {
        if (name && strcmp(name, strategy_names[k]) == 0) {
            *out = (nas_strategy)k;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EINVAL,
                     "unknown search strategy '%s' (known: random, evolution, exhaustive, local)",
                     name ? name : "(null)");
}

static const nas_i_strategy_ops *strategy_ops(nas_strategy s) {
    switch (s) {
        case NAS_STRATEGY_RANDOM:
            return &nas_i_random_ops;
        case NAS_STRATEGY_EVOLUTION:
            return &nas_i_evolution_ops;
        case NAS_STRATEGY_EXHAUSTIVE:
            return &nas_i_exhaustive_ops;
        case NAS_STRATEGY_LOCAL:
            return &nas_i_local_ops;
        default:
            return NULL;
    }
}

nas_search_config nas_search_config_default(void) {
    nas_search_config c;
    memset(&c, 0, sizeof c);
    c.strategy = NAS_STRATEGY_EVOLUTION;
    c.seed = 1;
    c.round = 8;
    c.population = 20;
    c.sample = 5;
    c.ls_init = 10;
    c.net = nas_net_config_default();
    c.batch_results = 64;
    c.batch_seconds = 5.0;
    return c;
}

nas_status nas_i_config_validate(const nas_search_config *c) {
    if (!strategy_ops(c->strategy)) {
        return nas_error(NAS_EINVAL, "search: strategy %d is not one of %d strategies",
                         (int)c->strategy, NAS_STRATEGY_COUNT);
    }
    if (c->budget < 0) {
        return nas_error(NAS_EINVAL, "search: budget must be >= 0 (0 = no limit), got %lld",
                         (long long)c->budget);
    }
    if (!(c->time_limit >= 0.0) || !isfinite(c->time_limit)) {
        return nas_error(NAS_EINVAL, "search: time limit must be >= 0 s (0 = none), got %g",
                         c->time_limit);
    }
    if (c->threads < 0 || c->threads > 1024) {
        return nas_error(NAS_EINVAL, "search: threads must be in [0, 1024], got %d", c->threads);
    }
    if (c->round < 1 || c->round > 256) {
        return nas_error(NAS_EINVAL, "search: round must be in [1, 256], got %d", c->round);
    }
    if (c->population < 1 || c->population > 100000) {
        return nas_error(NAS_EINVAL, "search: population must be in [1, 100000], got %d",
                         c->population);
    }
    if (c->sample < 1 || c->sample > c->population) {
        return nas_error(NAS_EINVAL, "search: sample must be in [1, population %d], got %d",
                         c->population, c->sample);
    }
    if (c->ls_init < 1 || c->ls_init > 100000) {
        return nas_error(NAS_EINVAL, "search: ls_init must be in [1, 100000], got %d", c->ls_init);
    }
    if (c->batch_results < 1 || !(c->batch_seconds >= 0.0)) {
        return nas_error(NAS_EINVAL, "search: batches need >= 1 result and >= 0 s");
    }
    return NAS_OK;
}

void nas_i_search_free(nas_i_search *s) {
    if (s->ops && s->ops->free) {
        s->ops->free(s);
    }
    nas_i_hist_free(s);
    nas_free(s->round);
    nas_free(s->scored);
    memset(s, 0, sizeof *s);
}

/* ---- scoring --------------------------------------------------------------------------------- */

static bool stop_requested(const nas_search_config *c) {
    return c->stop && *c->stop != 0;
}

_Static_assert(1 + NAS_SEARCH_EXTRA_MAX <= NAS_SCORE_SET_MAX,
               "a round is scored with the primary and every extra scorer at once");

/* Take over a scored candidate's outcome: the primary scorer's (failures as {"error": ...}, the
   compile time counted with it), then the extra ones' (NaN when not compiled). */
static void take_outcome(nas_i_cand *c, const nas_score_cand *r, int n_extra) {
    const nas_score_outcome *o = &r->out[0];
    c->n_params = r->n_params;
    c->flops = r->flops;
    c->n_nodes = r->n_nodes;
    c->st = r->st != NAS_OK ? r->st : o->st;
    c->seconds = r->compile_seconds + o->seconds;
    if (c->st == NAS_OK) {
        c->value = o->value;
        snprintf(c->aux, sizeof c->aux, "%s", o->text);
    } else {
        c->value = (double)NAN;
        nas_i_json_error_into(c->aux, sizeof c->aux, r->st != NAS_OK ? r->msg : o->text);
    }
    for (int x = 0; x < n_extra && x < NAS_SEARCH_EXTRA_MAX; x++) {
        const nas_score_outcome *xo = &r->out[1 + x];
        c->xvalue[x] = (double)NAN;
        c->xaux[x][0] = '\0';
        if (r->st != NAS_OK) {
            continue; /* not compiled: the extras stay NaN with the primary's error */
        }
        c->xseconds[x] = xo->seconds;
        if (xo->st == NAS_OK) {
            c->xvalue[x] = xo->value;
            snprintf(c->xaux[x], sizeof c->xaux[x], "%s", xo->text);
        } else {
            nas_i_json_error_into(c->xaux[x], sizeof c->xaux[x], xo->text);
        }
    }
    c->done = true;
}

/* Compile and score the round's candidates without a value yet with the primary and the extra
   scorers, one candidate per thread unless serial (nas_score_candidates). */
static nas_status score_round(nas_i_search *s, const nas_i_session *ss, bool serial,
                              double deadline) {
    const nas_scorer *sc[1 + NAS_SEARCH_EXTRA_MAX];
    sc[0] = ss->sc;
    for (int x = 0; x < ss->n_extra; x++) {
        sc[1 + x] = s->cfg.extra[x];
    }
    for (int k = 0; k < s->n_round; k++) {
        s->scored[k].arch = s->round[k].done ? NULL : &s->round[k].arch;
    }
    nas_score_run_config rc = {
        .threads = s->cfg.threads, .serial = serial, .stop = s->cfg.stop, .deadline = deadline};
    NAS_CHECK(
        nas_score_candidates(s->sp, &ss->net, sc, 1 + ss->n_extra, s->scored, s->n_round, &rc));
    for (int k = 0; k < s->n_round; k++) {
        if (s->scored[k].arch && s->scored[k].done) {
            take_outcome(&s->round[k], &s->scored[k], ss->n_extra);
        }
    }
    return NAS_OK;
}

/* Store one result of the round; progress non-NULL on the round's last one. */
static nas_status store_one(nas_i_search *s, const nas_i_session *ss, const nas_i_cand *c,
                            int64_t seq, const nas_store_progress *progress) {
    char aux[NAS_SCORE_AUX_MAX];
    const char *aux_json = c->aux[0] ? c->aux : NULL;
    if (c->reused) {
        json_t *j = json_pack("{s:I}", "reused_from_run", (json_int_t)c->reused_run);
        bool ok = nas_i_json_dump_into(j, aux, sizeof aux);
        json_decref(j);
        if (!ok) {
            return nas_error(NAS_ENOMEM, "search: out of memory for a result");
        }
        aux_json = aux;
    }
    nas_arch_record ar = {.space = s->sp->name,
                          .canon_key = c->key,
                          .arch = c->text,
                          .n_params = c->n_params,
                          .flops = c->flops,
                          .n_nodes = c->n_nodes,
                          .graph_json = NULL};
    nas_score_record rec[1 + NAS_SEARCH_EXTRA_MAX];
    rec[0] = (nas_score_record){.scorer = ss->sc->name,
                                .value = c->value,
                                .lower_is_better = !ss->sc->higher_is_better,
                                .recipe = ss->recipe,
                                .aux_json = aux_json,
                                .seconds = c->seconds};
    for (int x = 0; x < ss->n_extra; x++) {
        const nas_scorer *xs = s->cfg.extra[x];
        rec[1 + x] = (nas_score_record){.scorer = xs->name,
                                        .value = c->xvalue[x],
                                        .lower_is_better = !xs->higher_is_better,
                                        .recipe = ss->xrecipe[x],
                                        .aux_json = c->reused       ? aux
                                                    : c->xaux[x][0] ? c->xaux[x]
                                                                    : NULL,
                                        .seconds = c->xseconds[x]};
    }
    return nas_store_add(ss->db, ss->run_id, seq, &ar, rec, 1 + ss->n_extra, progress);
}

static void update_best(nas_i_search *s, nas_search_result *res, int64_t seq) {
    const nas_i_hist *h = &s->hist[seq];
    if (!isnan(h->value) && (res->best_seq < 0 || nas_i_better(s, h->value, res->best))) {
        res->best = h->value;
        res->best_seq = seq;
        snprintf(res->best_arch, sizeof res->best_arch, "%s", h->text);
    }
}

/* The run's final status is set by the caller (nas_i_session_finish) from res->status. */
nas_status nas_i_session_loop(nas_i_search *s, nas_i_session *ss, nas_search_result *res) {
    const nas_search_config *cfg = &s->cfg;
    const double t_start = nas_time_now();
    const double deadline = cfg->time_limit > 0.0 ? t_start + cfg->time_limit : 0.0;
    nas_status st = NAS_OK;
    char *state = NULL;
    int64_t ok_scores = 0, n_timed = 0, n_partial = 0;
    double cand_seconds = 0.0; /* summed scoring time of the n_timed computed candidates */
    nas_progress pr;
    nas_progress_begin(&pr, "search", cfg->budget);
    pr.quiet = pr.quiet || cfg->quiet;
    for (int64_t i = 0; i < s->n_hist; i++) {
        update_best(s, res, i);
    }
    if (s->n_hist > 0) {
        nas_progress_resume(&pr, s->n_hist);
        nas_progress_update(&pr, s->n_hist, "resumed at %lld", (long long)s->n_hist);
    }
    res->status = NAS_RUN_FINISHED;
    for (;;) {
        if (stop_requested(cfg)) {
            res->status = NAS_RUN_INTERRUPTED;
            break;
        }
        if (cfg->budget > 0 && s->n_hist >= cfg->budget) {
            break;
        }
        if (deadline > 0.0 && nas_time_now() >= deadline) {
            res->time_up = true;
            break;
        }
        /* propose */
        int want = cfg->round;
        if (cfg->budget > 0 && cfg->budget - s->n_hist < want) {
            want = (int)(cfg->budget - s->n_hist);
        }
        nas_i_proposal pr_kind = NAS_I_PROPOSED;
        s->n_round = 0;
        while (s->n_round < want) {
            nas_i_cand *c = &s->round[s->n_round];
            memset(c, 0, sizeof *c);
            c->n_params = c->flops = -1;
            c->n_nodes = -1;
            c->value = (double)NAN;
            NAS_TRY(s->ops->propose(s, c, &pr_kind));
            if (pr_kind != NAS_I_PROPOSED) {
                break;
            }
            s->n_round++;
        }
        if (s->n_round == 0) {
            if (pr_kind == NAS_I_DONE) {
                res->exhausted = true;
                break;
            }
            st = nas_error(NAS_EINTERNAL, "search: strategy %s proposed nothing",
                           nas_strategy_name(cfg->strategy));
            goto cleanup;
        }
        /* reuse stored scores (main thread: the store is single-threaded) */
        int to_score = 0;
        for (int k = 0; k < s->n_round; k++) {
            nas_i_cand *c = &s->round[k];
            nas_score_hit hit;
            NAS_TRY(nas_store_score_lookup(ss->db, s->sp->name, c->key, ss->sc->name, ss->ghn_id,
                                           ss->recipe, s->cfg.fingerprint, &hit));
            for (int x = 0; hit.found && x < ss->n_extra; x++) {
                nas_score_hit xh; /* reused only when every extra score is stored too */
                NAS_TRY(nas_store_score_lookup(ss->db, s->sp->name, c->key, s->cfg.extra[x]->name,
                                               ss->ghn_id, ss->xrecipe[x], s->cfg.fingerprint,
                                               &xh));
                hit.found = xh.found;
                c->xvalue[x] = xh.value;
                c->xseconds[x] = 0.0;
            }
            if (hit.found) {
                c->done = c->reused = true;
                c->reused_run = hit.run_id;
                c->value = hit.value;
                c->seconds = 0.0;
            } else {
                to_score++;
            }
        }
        /* score the rest in parallel, one candidate per thread -- unless scores are so cheap
           (e.g. params) that starting the threads costs more than it saves */
        if (to_score > 0) {
            double t0 = nas_time_now();
            const int n_round = s->n_round;
            const bool cheap = n_timed >= 16 && cand_seconds / (double)n_timed < 2e-3;
            NAS_TRY(score_round(s, ss, cheap, deadline));
            res->score_seconds += nas_time_now() - t0;
            for (int k = 0; k < n_round; k++) {
                if (s->round[k].done && !s->round[k].reused) {
                    cand_seconds += s->round[k].seconds;
                    n_timed++;
                }
            }
        }
        /* a systematic failure (nothing ever scores) ends the run */
        int n_done = 0, n_err = 0, first_err = -1;
        for (int k = 0; k < s->n_round; k++) {
            const nas_i_cand *c = &s->round[k];
            n_done += c->done;
            if (c->done && !c->reused && c->st != NAS_OK) {
                n_err++;
                first_err = first_err < 0 ? k : first_err;
            } else if (c->done) {
                ok_scores++;
            }
        }
        if (ok_scores == 0 && n_err > 0) {
            const nas_i_cand *c = &s->round[first_err];
            char msg[NAS_SCORE_AUX_MAX];
            snprintf(msg, sizeof msg, "%s", c->aux);
            res->status = NAS_RUN_FAILED;
            st = nas_error(c->st, "search: scorer %s failed on %s: %s", ss->sc->name, c->text, msg);
            goto cleanup;
        }
        for (int k = 0; k < s->n_round; k++) {
            const nas_i_cand *c = &s->round[k];
            if (!c->done) {
                continue;
            }
            res->n_reused += c->reused;
            res->n_scored += !c->reused;
            res->n_failed += isnan(c->value);
        }
        if (n_done < s->n_round) {
            /* stopped inside the round: keep what was scored (no resume point: a resumed run
               replays this round and finds these results in the store) */
            for (int k = 0; k < s->n_round; k++) {
                if (s->round[k].done) {
                    NAS_TRY(store_one(s, ss, &s->round[k], s->n_hist + k, NULL));
                    n_partial++; /* stored, so counted (a resume replays them from the store) */
                }
            }
            if (stop_requested(cfg)) {
                res->status = NAS_RUN_INTERRUPTED;
            } else {
                res->time_up = true;
            }
            break;
        }
        /* feed the results back in proposal order */
        const int64_t seq0 = s->n_hist;
        for (int k = 0; k < s->n_round; k++) {
            const nas_i_cand *c = &s->round[k];
            NAS_TRY(nas_i_hist_add(s, c->key, c->text, c->value));
            NAS_TRY(s->ops->observe(s, c, s->n_hist - 1));
            update_best(s, res, s->n_hist - 1);
        }
        if (s->ops->end_round) {
            NAS_TRY(s->ops->end_round(s));
        }
        free(state); /* jansson's allocation */
        json_t *js = s->ops->save(s);
        state = js ? json_dumps(js, 0) : NULL;
        json_decref(js);
        if (!state) {
            st = nas_error(NAS_ENOMEM, "search: out of memory writing the strategy state");
            goto cleanup;
        }
        nas_store_progress prog = {.rng = &s->rng, .n_done = s->n_hist, .state_json = state};
        for (int k = 0; k < s->n_round; k++) {
            NAS_TRY(store_one(s, ss, &s->round[k], seq0 + k, k == s->n_round - 1 ? &prog : NULL));
        }
        s->n_round = 0;
        if (isnan(res->best)) {
            nas_progress_update(&pr, s->n_hist, "new %lld  reused %lld", (long long)res->n_scored,
                                (long long)res->n_reused);
        } else {
            nas_progress_update(&pr, s->n_hist, "best %.4f  new %lld  reused %lld", res->best,
                                (long long)res->n_scored, (long long)res->n_reused);
        }
    }
cleanup:
    s->n_round = 0;
    nas_progress_end(&pr);
    free(state);
    res->n_results = s->n_hist + n_partial;
    res->n_duplicates = s->n_duplicates;
    return st;
}

void nas_i_recipe_of(const nas_i_search *s, const nas_i_session *ss, const char *scorer_recipe,
                     bool with_space, char *out, size_t cap) {
    char space[48] = "";
    if (with_space && s->sp->digest[0]) {
        snprintf(space, sizeof space, "; space %s", s->sp->digest);
    }
    snprintf(out, cap, "%s%snet C%d N%d in %dx%dx%d classes %d%s", scorer_recipe,
             scorer_recipe[0] ? "; " : "", ss->net.C, ss->net.N, ss->net.in_c, ss->net.in_h,
             ss->net.in_w, ss->net.classes, space);
}

void nas_i_session_free(nas_i_session *ss) {
    nas_free(ss->space_json);
    ss->space_json = NULL;
}

nas_status nas_i_session_prepare(nas_i_search *s, nas_i_session *ss, const nas_scorer *sc) {
    if (!sc || !sc->fn || !sc->name[0]) {
        return nas_error(NAS_EINVAL, "search: the scorer has no name or function");
    }
    for (const char *p = sc->name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.')) {
            return nas_error(NAS_EINVAL,
                             "search: scorer name '%s' has a character other than "
                             "letters, digits, '_', '-', '.'",
                             sc->name);
        }
    }
    nas_rng r;
    nas_rng_seed(&r, 12345);
    nas_arch a; /* a valid member, else the last of 10000 draws */
    nas_status vs = nas_arch_sample_valid(s->sp, &r, 10000, &a);
    if (vs != NAS_OK && vs != NAS_ENOTFOUND) {
        return vs;
    }
    nas_net net;
    nas_status st = nas_net_compile(&net, s->sp, &a, &s->cfg.net);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "search: space %s with this net configuration", s->sp->name);
    }
    ss->net = net.cfg;
    nas_net_free(&net);
    if (s->sp->digest[0] && !s->sp->from_text) {
        NAS_CHECK(nas_space_content(s->sp, &ss->space_json));
    }
    nas_i_recipe_of(s, ss, sc->recipe, true, ss->recipe, sizeof ss->recipe);
    ss->sc = sc;
    s->higher_is_better = sc->higher_is_better;
    if (s->cfg.n_extra < 0 || s->cfg.n_extra > NAS_SEARCH_EXTRA_MAX) {
        return nas_error(NAS_EINVAL, "search: %d extra scorers (at most %d)", s->cfg.n_extra,
                         NAS_SEARCH_EXTRA_MAX);
    }
    ss->n_extra = s->cfg.n_extra;
    for (int x = 0; x < ss->n_extra; x++) {
        const nas_scorer *xs = s->cfg.extra[x];
        if (!xs || !xs->fn || !xs->name[0]) {
            return nas_error(NAS_EINVAL, "search: extra scorer %d has no name or function", x + 1);
        }
        bool dup = strcmp(xs->name, sc->name) == 0;
        for (int y = 0; y < x; y++) {
            dup = dup || strcmp(xs->name, s->cfg.extra[y]->name) == 0;
        }
        if (dup) {
            return nas_error(NAS_EINVAL, "search: scorer %s is given twice", xs->name);
        }
        nas_i_recipe_of(s, ss, xs->recipe, true, ss->xrecipe[x], sizeof ss->xrecipe[x]);
    }
    return NAS_OK;
}

nas_status nas_i_search_init(nas_i_search *s, const nas_space *sp, const nas_search_config *cfg) {
    memset(s, 0, sizeof *s);
    s->sp = sp;
    s->cfg = *cfg;
    s->canon = nas_space_default_canon(sp);
    s->ops = strategy_ops(cfg->strategy);
    s->round = nas_calloc((size_t)cfg->round, sizeof *s->round);
    s->scored = nas_calloc((size_t)cfg->round, sizeof *s->scored);
    if (!s->round || !s->scored) {
        return nas_error(NAS_ENOMEM, "search: out of memory for a round of %d", cfg->round);
    }
    nas_rng_seed(&s->rng, cfg->seed);
    return NAS_OK;
}

void nas_i_result_init(nas_search_result *res) {
    memset(res, 0, sizeof *res);
    res->best = (double)NAN;
    res->best_seq = -1;
    res->status = NAS_RUN_RUNNING;
}

nas_status nas_i_session_finish(nas_i_session *ss, nas_search_result *res, nas_status st, double t0,
                                double store0) {
    if (st != NAS_OK && res->status != NAS_RUN_FAILED) {
        res->status = NAS_RUN_INTERRUPTED; /* e.g. a full disk: resumable once fixed */
    }
    if (res->status == NAS_RUN_RUNNING) {
        res->status = NAS_RUN_FINISHED;
    }
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", nas_errmsg());
    nas_status fs = nas_store_run_set_status(ss->db, ss->run_id, res->status);
    if (st == NAS_OK) {
        st = fs;
    } else {
        nas_error(st, "%s", keep);
    }
    nas_store_info info;
    nas_store_get_info(ss->db, &info);
    res->store_seconds = info.seconds - store0;
    res->seconds = nas_time_now() - t0;
    return st;
}

nas_status nas_search_run(nas_store *db, const nas_space *sp, const nas_scorer *sc, int64_t ghn_id,
                          const nas_search_config *cfg, nas_search_result *res) {
    nas_i_result_init(res);
    const double t0 = nas_time_now();
    nas_store_info info;
    nas_store_get_info(db, &info);
    const double store0 = info.seconds;
    NAS_CHECK(nas_i_config_validate(cfg));
    nas_i_search s;
    nas_i_session ss;
    memset(&ss, 0, sizeof ss);
    nas_search_record rec;
    char *record = NULL;
    nas_status st = nas_i_search_init(&s, sp, cfg);
    if (st != NAS_OK) {
        nas_i_search_free(&s);
        return st;
    }
    NAS_TRY(nas_i_session_prepare(&s, &ss, sc));
    nas_i_record_of(&s, &ss, &rec);
    NAS_TRY(nas_search_record_format(&rec, &record));
    NAS_TRY(s.ops->init(&s));
    NAS_TRY(nas_store_set_batch(db, cfg->batch_results, cfg->batch_seconds));
    nas_run_spec rs = {.name = cfg->name,
                       .kind = "search",
                       .space = sp->name,
                       .dataset = cfg->dataset ? cfg->dataset : "none",
                       .scorer = sc->name,
                       .config_json = record,
                       .seed = cfg->seed,
                       .ghn_id = ghn_id,
                       .fingerprint = cfg->fingerprint};
    NAS_TRY(nas_store_run_create(db, &rs, &res->run_id));
    st = nas_store_run_lock(db, res->run_id); /* held while this process writes the run */
    if (st != NAS_OK) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", nas_errmsg());
        res->status = NAS_RUN_FAILED;
        (void)nas_store_run_set_status(db, res->run_id, NAS_RUN_FAILED);
        st = nas_error(st, "%s", keep);
        goto cleanup;
    }
    ss.db = db;
    ss.run_id = res->run_id;
    ss.ghn_id = ghn_id;
    st = nas_i_session_loop(&s, &ss, res);
    st = nas_i_session_finish(&ss, res, st, t0, store0);
    nas_store_run_unlock(db, res->run_id);
cleanup:
    nas_free(record);
    nas_i_session_free(&ss);
    nas_i_search_free(&s);
    return st;
}
