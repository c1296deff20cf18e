/*
 * The search job, the main one: resolve the GHN (the store's newest for the space and data set,
 * a stored id, a checkpoint file to import, or train one and store it), build the scorers on
 * the data they need, search or resume a run (its recorded options restored), then train the
 * best few briefly.
 */
#include "job-impl.h"

#include "ghnas/container.h"

#include "ghnas/space.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

nas_job_search_params nas_job_search_defaults(void) {
    nas_job_search_params p;
    memset(&p, 0, sizeof p);
    p.db = "ghnas.db";
    p.space = "nb201";
    p.data = "fashion-mnist";
    /* the GHN's predicted-weights loss ranks the ground-truth table better than their accuracy
       (experiments/README.md, "GHN score variants": Kendall tau 0.48 vs 0.35 on its fit half) */
    p.scorer = "ghn_loss";
    p.name = "";
    p.budget = 500; /* sized so the whole default run fits in 10 minutes on 2 cores */
    p.train_time = 180.0;
    /* the controller's defaults, not a second copy of them */
    const nas_search_config c = nas_search_config_default();
    p.strategy = nas_strategy_name(c.strategy);
    p.seed = c.seed;
    p.round = c.round;
    p.population = c.population;
    p.sample = c.sample;
    p.ls_init = c.ls_init;
    p.val_n = 500;
    p.eval_top = 3;
    p.eval_epochs = 1;
    p.eval_train_n = 10000;
    p.learn_round = 4;
    p.learn_epochs = 4;
    p.learn_train_n = 10000;
    p.learn_model = "gp";
    p.learn_kappa = 1.0;
    return p;
}

void nas_job_search_result_free(nas_job_search_result *res) {
    if (res) {
        nas_job_evaluate_result_free(&res->eval);
    }
}

/* ---- the GHN --------------------------------------------------------------------------------- */

typedef struct ghn_stop {
    const volatile sig_atomic_t *stop;
    nas_i_ghn_curve curve; /* stored with the GHN */
} ghn_stop;

static bool ghn_on_step(const nas_ghn_trainer *tr, double loss, double acc, void *user) {
    ghn_stop *s = user;
    nas_i_ghn_curve_add(&s->curve, tr->step, loss, acc);
    return !(s->stop && *s->stop);
}

/* Train a GHN on the space and the loaded training split ds of data set p->data (canonical)
 * and store it; *g and *info describe it. */
static nas_status train_ghn(nas_store *db, const nas_space *sp, const nas_job_search_params *p,
                            const nas_dataset *ds, nas_ghn *g, nas_ghn_data_info *info,
                            int64_t *ghn_id) {
    nas_status st = NAS_OK;
    nas_ghn_trainer tr;
    nas_data_split split;
    ghn_stop *gs = NULL; /* on the heap: the curve is a few kB */
    memset(&tr, 0, sizeof tr);
    memset(&split, 0, sizeof split);
    nas_ghn_config gc = nas_ghn_config_default();
    nas_ghn_train_config tc = nas_ghn_train_defaults();
    tc.steps = p->train_steps > 0 ? p->train_steps : 0;
    tc.time_limit = p->train_steps > 0 ? 0.0 : p->train_time;
    tc.threads = p->threads;
    gc.classes = ds->n_classes; /* the GHN's classifier follows the data set */
    NAS_TRY(nas_ghn_init(g, &gc, tc.seed));
    NAS_TRY(nas_ghn_trainer_init(&tr, g, &tc));
    tr.data.n_val = NAS_I_JOB_VAL_N;
    tr.data.split_seed = NAS_I_JOB_SPLIT_SEED;
    NAS_TRY(nas_i_job_ghn_split(ds, p->data, &tr.data, true, &split));
    snprintf(tr.data.space, sizeof tr.data.space, "%s", sp->name);
    char dur[16];
    NAS_INFO("no GHN for %s on %s in the store: training one (%s, %lld parameters)", sp->name,
             p->data,
             p->train_steps > 0 ? "steps" : nas_format_duration(p->train_time, dur, sizeof dur),
             (long long)nas_ghn_numel(g));
    gs = nas_calloc(1, sizeof *gs);
    if (!gs) {
        st = nas_error(NAS_ENOMEM, "search: out of memory");
        goto cleanup;
    }
    gs->stop = p->stop;
    NAS_TRY(
        nas_ghn_train(g, &tr, sp, ds, split.train, split.n_train, &tr.data.norm, ghn_on_step, gs));
    st = nas_i_job_ghn_save_store_curve(db, g, &tr, &gs->curve, ghn_id);
    if (st != NAS_OK) {
        /* the training is not thrown away: a checkpoint file beside the store, for --ghn */
        char keep[1024], path[1100];
        snprintf(keep, sizeof keep, "%s", nas_errmsg());
        snprintf(path, sizeof path, "%s.unstored-ghn.ckpt", p->db);
        if (nas_ghn_save(g, &tr, path) == NAS_OK) {
            st = nas_error(st, "%s; the GHN it trained is saved in %s (use it with --ghn %s)", keep,
                           path, path);
        } else {
            st = nas_error(st, "%s; the GHN it trained could not be saved either (%s)", keep,
                           nas_errmsg());
        }
        goto cleanup;
    }
    *info = tr.data;
    NAS_INFO("GHN %lld trained: %lld steps in %.0f s, last loss %.3f, acc %.3f", (long long)*ghn_id,
             (long long)tr.step, tr.seconds, tr.last_loss, tr.last_acc);
cleanup:
    nas_free(gs);
    nas_data_split_free(&split);
    nas_ghn_trainer_free(&tr);
    return st;
}

/* The GHN of the search: resumed run's, --ghn (id or file), the store's newest, or a new one. */
static nas_status resolve_ghn(nas_store *db, const nas_space *sp, const nas_job_search_params *p,
                              const nas_dataset *ds, nas_ghn *g, nas_ghn_data_info *info,
                              int64_t *ghn_id) {
    const char *fp = ds->fingerprint;
    if (p->resume > 0) {
        if (*ghn_id <= 0) {
            return nas_error(NAS_EFORMAT, "run %lld records no GHN", (long long)p->resume);
        }
        return nas_i_job_ghn_from_store(db, *ghn_id, g, info);
    }
    if (p->ghn) {
        return nas_i_job_ghn_given(db, "--ghn", p->ghn, g, info, ghn_id);
    }
    if (*ghn_id > 0) { /* the GHN a ranker reads */
        return nas_i_job_ghn_from_store(db, *ghn_id, g, info);
    }
    nas_status st = nas_store_ghn_find(db, sp->name, p->data, fp, ghn_id);
    if (st == NAS_OK) {
        NAS_CHECK(nas_i_job_ghn_from_store(db, *ghn_id, g, info));
        NAS_INFO("using GHN %lld of the store", (long long)*ghn_id);
        return NAS_OK;
    }
    if (st != NAS_ENOTFOUND) {
        return st;
    }
    nas_error_clear();
    return train_ghn(db, sp, p, ds, g, info, ghn_id);
}

/* ---- the run record -------------------------------------------------------------------------- */

/* The job's part of a run's configuration, recorded as config_json.cli. */
static nas_status extra_json(const nas_job_search_params *p, const nas_ghn_data_info *info,
                             const nas_dataset *ds, char **out) {
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:i, s:I, s:s}", "space", p->space,
                  "data", p->data, "scorer", p->scorer, "val_n", (json_int_t)p->val_n, "n_val",
                  (json_int_t)(info ? info->n_val
                               : ds ? nas_i_job_default_val_n(ds->n)
                                    : NAS_I_JOB_VAL_N),
                  "split_seed", (json_int_t)(info ? info->split_seed : NAS_I_JOB_SPLIT_SEED),
                  "eval_batch", info && info->eval_batch > 0 ? info->eval_batch : 128, "eval_top",
                  p->eval_top, "eval_epochs", p->eval_epochs, "eval_train_n",
                  (json_int_t)p->eval_train_n, "scorers", p->scorers ? p->scorers : "");
    if (o && p->ranker) {
        json_object_set_new(o, "ranker", json_string(p->ranker));
    }
    if (o && info && info->norm.c > 0) { /* the inputs' normalisation (training split) */
        json_t *mean = json_array(), *std = json_array();
        for (int c = 0; c < info->norm.c; c++) {
            json_array_append_new(mean, json_real(info->norm.mean[c]));
            json_array_append_new(std, json_real(info->norm.std[c]));
        }
        json_object_set_new(o, "norm", json_pack("{s:o, s:o}", "mean", mean, "std", std));
    }
    if (o && ds && ds->fingerprint[0]) {
        json_object_set_new(o, "data_fingerprint", json_string(ds->fingerprint));
    }
    if (o && ds && ds->class_names) { /* a folder's classes, for predict */
        json_t *names = json_array();
        for (int k = 0; k < ds->n_classes; k++) {
            json_array_append_new(names, json_string(ds->class_names[k] ? ds->class_names[k] : ""));
        }
        json_object_set_new(o, "class_names", names);
    }
    if (o && p->learn > 0) {
        json_object_set_new(
            o, "learn",
            json_pack("{s:i, s:i, s:i, s:I, s:s, s:f}", "n", p->learn, "round", p->learn_round,
                      "epochs", p->learn_epochs, "train_n", (json_int_t)p->learn_train_n, "model",
                      p->learn_model ? p->learn_model : "gp", "kappa", p->learn_kappa));
    }
    *out = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return *out ? NAS_OK : nas_error(NAS_ENOMEM, "search: out of memory");
}

/* The options a resumed run keeps, read from its record into *p (strings into own[]). */
typedef struct resumed {
    char space[1024], scorer[32], scorers[256], data[NAS_DATA_SPEC_MAX], ranker[32],
        learn_model[16];
    char fingerprint[17]; /* the run's data fingerprint ("" = unknown) */
} resumed;

static nas_status resume_options(nas_store *db, nas_job_search_params *p, int64_t *ghn_id,
                                 resumed *own) {
    nas_run_info ri;
    nas_search_record rec;
    nas_status st = nas_search_record_get(db, p->resume, &ri, &rec);
    json_t *cli = NULL;
    if (st != NAS_OK) {
        goto cleanup;
    }
    json_error_t je;
    cli = json_loads(rec.cli_json, 0, &je);
    if (!json_is_object(cli) || json_object_size(cli) == 0) {
        st = nas_error(NAS_EFORMAT, "run %lld was not started by ghnas search (no cli options)",
                       (long long)p->resume);
        goto cleanup;
    }
    json_t *sp = json_object_get(cli, "space");
    json_t *sc = json_object_get(cli, "scorer");
    json_t *vn = json_object_get(cli, "val_n");
    snprintf(own->space, sizeof own->space, "%s",
             json_is_string(sp) ? json_string_value(sp) : ri.space);
    p->space = own->space;
    const char *scv = json_is_string(sc) ? json_string_value(sc) : "ghn";
    snprintf(own->scorer, sizeof own->scorer, "%s", nas_score_known(scv) ? scv : "ghn");
    p->scorer = own->scorer;
    json_t *xs = json_object_get(cli, "scorers");
    if (json_is_string(xs) && json_string_value(xs)[0]) {
        snprintf(own->scorers, sizeof own->scorers, "%s", json_string_value(xs));
        p->scorers = own->scorers;
    }
    if (json_is_integer(vn)) {
        p->val_n = (int64_t)json_integer_value(vn);
    }
    json_t *lj = json_object_get(cli, "learn");
    if (json_is_object(lj) && !p->in_learn) {
        json_t *v;
        p->learn = json_is_integer(v = json_object_get(lj, "n")) ? (int)json_integer_value(v) : 0;
        if (json_is_integer(v = json_object_get(lj, "round"))) {
            p->learn_round = (int)json_integer_value(v);
        }
        if (json_is_integer(v = json_object_get(lj, "epochs"))) {
            p->learn_epochs = (int)json_integer_value(v);
        }
        if (json_is_integer(v = json_object_get(lj, "train_n"))) {
            p->learn_train_n = (int64_t)json_integer_value(v);
        }
        if (json_is_number(v = json_object_get(lj, "kappa"))) {
            p->learn_kappa = json_number_value(v);
        }
        if (json_is_string(v = json_object_get(lj, "model"))) {
            snprintf(own->learn_model, sizeof own->learn_model, "%s", json_string_value(v));
            p->learn_model = own->learn_model;
        }
    }
    json_t *rk = json_object_get(cli, "ranker");
    if (json_is_string(rk)) {
        snprintf(own->ranker, sizeof own->ranker, "%s", json_string_value(rk));
        p->ranker = own->ranker;
    }
    /* the closing evaluation keeps the run's choice unless given again */
    json_t *x;
    if (!(p->given & NAS_JOB_GIVEN_EVAL_TOP) &&
        json_is_integer(x = json_object_get(cli, "eval_top"))) {
        p->eval_top = (int)json_integer_value(x);
    }
    if (!(p->given & NAS_JOB_GIVEN_EVAL_EPOCHS) &&
        json_is_integer(x = json_object_get(cli, "eval_epochs"))) {
        p->eval_epochs = (int)json_integer_value(x);
    }
    if (!(p->given & NAS_JOB_GIVEN_EVAL_TRAIN_N) &&
        json_is_integer(x = json_object_get(cli, "eval_train_n"))) {
        p->eval_train_n = (int64_t)json_integer_value(x);
    }
    snprintf(own->data, sizeof own->data, "%s", ri.dataset); /* the canonical spec */
    p->data = own->data;
    snprintf(own->fingerprint, sizeof own->fingerprint, "%s", ri.fingerprint);
    *ghn_id = ri.ghn_id;
    if (!(p->given & NAS_JOB_GIVEN_BUDGET)) {
        p->budget = rec.budget;
    }
cleanup:
    json_decref(cli);
    nas_search_record_free(&rec);
    nas_run_info_free(&ri);
    return st;
}

/* ---- the job --------------------------------------------------------------------------------- */

nas_status nas_job_search(const nas_job_search_params *params, nas_job_search_result *res) {
    memset(res, 0, sizeof *res);
    nas_job_search_params p = *params;
    if (p.quiet) {
        nas_progress_set_enabled(false);
    }
    if (p.threads > 0) {
        nas_set_threads(p.threads);
    }
    if (!nas_score_known(p.scorer)) {
        const nas_score_entry *e = NULL;
        (void)nas_score_find(p.scorer, &e); /* its message lists the known names */
        return nas_error_wrap(NAS_EINVAL, "--scorer");
    }
    /* what the controller would refuse, refused before the store is opened or created */
    if (!(p.time_limit >= 0.0) || !isfinite(p.time_limit)) {
        return nas_error(NAS_EINVAL, "--time: the time limit must be >= 0 s (0 = none), got %g",
                         p.time_limit);
    }
    if (!(p.train_time >= 0.0) || !isfinite(p.train_time)) {
        return nas_error(NAS_EINVAL, "--train-time: must be >= 0 s, got %g", p.train_time);
    }
    if (p.sample > p.population) {
        return nas_error(NAS_EINVAL, "--sample %d is larger than --population %d", p.sample,
                         p.population);
    }
    nas_status st = NAS_OK;
    nas_store *db = NULL;
    nas_space sp;
    nas_ghn g;
    nas_ghn_data_info info;
    nas_dataset ds;
    nas_data_split split;
    nas_scorer sc, xsc[NAS_SEARCH_EXTRA_MAX];
    resumed own;
    char list_buf[256];
    char *extra = NULL;
    memset(xsc, 0, sizeof xsc);
    memset(&sp, 0, sizeof sp);
    memset(&g, 0, sizeof g);
    memset(&info, 0, sizeof info);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    memset(&sc, 0, sizeof sc);
    int64_t ghn_id = 0;
    bool have_info = false;
    nas_rank_model rk_model;
    memset(&rk_model, 0, sizeof rk_model);
    nas_ranker_scorer_config rk = {0};

    /* a data set that cannot be resolved is refused before a store is created */
    nas_data_desc desc;
    if (p.resume == 0) {
        NAS_TRY(nas_i_job_data_resolve(p.data, p.data_dir, &desc));
    }
    /* a resumed run's store must exist: never create an empty one */
    NAS_TRY(nas_store_open(&db, p.db, p.resume > 0 ? 0u : (unsigned)NAS_STORE_CREATE));
    if (p.resume > 0) {
        NAS_TRY(resume_options(db, &p, &ghn_id, &own));
    }
    if (p.learn > 0 && !p.in_learn) { /* the label-earning loop runs the searches itself */
        nas_store_close(db);
        db = NULL;
        st = nas_i_job_learn(&p, res);
        goto cleanup;
    }
    NAS_TRY(nas_space_load(&sp, p.space));
    /* the canonical spec is what the run records */
    NAS_TRY(nas_i_job_data_resolve(p.data, p.data_dir, &desc));
    snprintf(own.data, sizeof own.data, "%s", desc.spec);
    p.data = own.data;

    /* the scorers: the primary one first, then the others without it */
    const char *names[1 + NAS_SEARCH_EXTRA_MAX];
    int n_names = 1;
    names[0] = p.scorer;
    if (p.scorers) {
        const char *xs[1 + NAS_SEARCH_EXTRA_MAX];
        int nx = 0;
        NAS_TRY(nas_score_parse_list("--scorers", p.scorers, list_buf, sizeof list_buf, xs,
                                     1 + NAS_SEARCH_EXTRA_MAX, &nx));
        for (int k = 0; k < nx; k++) {
            if (strcmp(xs[k], p.scorer) == 0) {
                continue;
            }
            if (n_names > NAS_SEARCH_EXTRA_MAX) {
                st = nas_error(NAS_EINVAL, "--scorers: at most %d besides --scorer",
                               NAS_SEARCH_EXTRA_MAX);
                goto cleanup;
            }
            names[n_names++] = xs[k];
        }
    }
    bool need_ghn = false, need_data = false, need_ranker = false;
    for (int k = 0; k < n_names; k++) {
        const nas_score_entry *e = NULL;
        NAS_TRY(nas_score_find(names[k], &e));
        need_ghn = need_ghn || (e->needs & NAS_SCORE_NEEDS_GHN);
        need_data = need_data || e->needs != NAS_SCORE_NEEDS_NONE;
        need_ranker = need_ranker || (e->needs & NAS_SCORE_NEEDS_RANKER);
    }
    /* the training split: its fingerprint identifies the data in the store */
    const bool load = need_ghn || need_data || need_ranker || p.eval_top > 0;
    if (load) {
        NAS_TRY(nas_data_load(&ds, &desc, "train"));
        if (p.resume > 0) {
            char what[48];
            snprintf(what, sizeof what, "run %lld", (long long)p.resume);
            NAS_TRY(nas_i_job_data_check(what, own.fingerprint, p.data, &ds));
        }
    }
    if (need_ranker) { /* the ranker, and the GHN and skeleton its features were computed on */
        int64_t rk_ghn = 0;
        int rk_C = 0, rk_N = 0;
        NAS_TRY(nas_i_job_ranker_load(db, p.ranker, sp.name, p.data, ds.fingerprint, &rk_model,
                                      &rk.id, &rk_ghn, &rk_C, &rk_N, NULL));
        rk.model = &rk_model;
        if (rk_ghn > 0) {
            if (p.resume > 0 && ghn_id != rk_ghn) {
                st = nas_error(NAS_EINVAL, "ranker %lld reads GHN %lld, but run %lld uses GHN %lld",
                               (long long)rk.id, (long long)rk_ghn, (long long)p.resume,
                               (long long)ghn_id);
                goto cleanup;
            }
            if (p.ghn) {
                st = nas_error(NAS_EINVAL,
                               "--ghn: the ranker scorer uses the GHN ranker %lld was fitted "
                               "with (GHN %lld); leave --ghn out",
                               (long long)rk.id, (long long)rk_ghn);
                goto cleanup;
            }
            ghn_id = rk_ghn;
            need_ghn = true;
        }
        if (p.C == 0 && p.N == 0) {
            p.C = rk_C;
            p.N = rk_N;
        } else if ((rk_C && p.C != rk_C) || (rk_N && p.N != rk_N)) {
            NAS_WARN("ranker %lld was fitted on trainings of C=%d N=%d; its size features read "
                     "nets of C=%d N=%d here",
                     (long long)rk.id, rk_C, rk_N, p.C, p.N);
        }
        snprintf(own.ranker, sizeof own.ranker, "%lld", (long long)rk.id);
        p.ranker = own.ranker; /* recorded, so a resumed run uses the same ranker */
    }
    if (need_ghn) { /* the GHN and its data split */
        NAS_TRY(resolve_ghn(db, &sp, &p, &ds, &g, &info, &ghn_id));
        if (strcmp(info.space, sp.name) != 0) {
            st = nas_error(NAS_EINVAL, "the GHN %s%lld was trained on space %s, not %s",
                           ghn_id > 0 ? "" : "in ", (long long)ghn_id, info.space, sp.name);
            goto cleanup;
        }
        if (strcmp(info.dataset, p.data) != 0) {
            st = nas_error(NAS_EINVAL, "the GHN %lld was trained on %s, not %s", (long long)ghn_id,
                           info.dataset, p.data);
            goto cleanup;
        }
        if (g.cfg.classes != ds.n_classes) {
            st = nas_error(NAS_EINVAL, "the GHN %lld predicts %d classes, the data set %s has %d",
                           (long long)ghn_id, g.cfg.classes, p.data, ds.n_classes);
            goto cleanup;
        }
        have_info = true;
        char what[48];
        snprintf(what, sizeof what, "GHN %lld", (long long)ghn_id);
        st = nas_i_job_ghn_split(&ds, p.data, &info, false, &split);
        if (st != NAS_OK) {
            st = nas_error_wrap(st, "%s", what);
            goto cleanup;
        }
    } else if (need_data) { /* proxies: the training split, normalised on itself */
        info.n_val = NAS_I_JOB_VAL_N;
        info.split_seed = NAS_I_JOB_SPLIT_SEED;
        NAS_TRY(nas_i_job_ghn_split(&ds, p.data, &info, true, &split));
        have_info = true;
    }
    for (int k = 0; k < n_names; k++) {
        NAS_TRY(nas_i_job_make_scorer(names[k], k == 0 ? &sc : &xsc[k - 1], need_ghn ? &g : NULL,
                                      &info, &ds, &split, p.val_n, need_ranker ? &rk : NULL));
    }
    const int n_xsc = n_names - 1;
    snprintf(res->scorer, sizeof res->scorer, "%s", sc.name);
    snprintf(res->space, sizeof res->space, "%s", sp.name);
    res->ghn_id = ghn_id;
    if (p.stop && *p.stop) {
        st = nas_error(NAS_EINTERRUPTED, "search: interrupted before it started");
        goto cleanup;
    }

    /* search */
    nas_search_config cfg = nas_search_config_default();
    NAS_TRY(nas_strategy_from_name(p.strategy, &cfg.strategy));
    cfg.budget = p.budget;
    cfg.time_limit = p.time_limit;
    cfg.seed = p.seed;
    cfg.threads = p.threads;
    cfg.round = p.round;
    cfg.population = p.population;
    cfg.sample = p.sample;
    cfg.ls_init = p.ls_init;
    cfg.net.C = p.C;
    cfg.net.N = p.N;
    if (load) { /* the skeleton's input and classes follow the data set */
        cfg.net.in_c = ds.c;
        cfg.net.in_h = ds.h;
        cfg.net.in_w = ds.w;
        cfg.net.classes = ds.n_classes;
    }
    cfg.name = p.name;
    cfg.dataset = p.data;
    cfg.fingerprint = load ? ds.fingerprint : NULL;
    cfg.force = p.force;
    cfg.quiet = p.quiet;
    cfg.stop = p.stop;
    NAS_TRY(extra_json(&p, have_info ? &info : NULL, load ? &ds : NULL, &extra));
    cfg.extra_json = extra;
    for (int k = 0; k < n_xsc; k++) {
        cfg.extra[k] = &xsc[k];
    }
    cfg.n_extra = n_xsc;
    if (p.resume > 0) {
        NAS_INFO("resuming run %lld (%s, budget %lld)", (long long)p.resume, sp.name,
                 (long long)p.budget);
        st = nas_search_resume(db, p.resume, &sp, &sc, &cfg, &res->search);
    } else {
        char also[160] = "";
        for (int k = 0; k < n_xsc; k++) {
            size_t l = strlen(also);
            snprintf(also + l, sizeof also - l, "%s%s", k ? ", " : " (also recording ",
                     xsc[k].name);
        }
        if (n_xsc > 0) {
            size_t l = strlen(also);
            snprintf(also + l, sizeof also - l, ")");
        }
        NAS_INFO("searching %s with %s, scorer %s%s, budget %lld%s", sp.name, p.strategy, sc.name,
                 also, (long long)p.budget, p.budget == 0 ? " (no limit)" : "");
        st = nas_search_run(db, &sp, &sc, ghn_id, &cfg, &res->search);
    }
    if (res->search.run_id > 0 && p.on_searched) {
        p.on_searched(res, p.user);
    }
    NAS_TRY(st);
    res->interrupted = res->search.status == NAS_RUN_INTERRUPTED;

    /* a brief evaluation of the best few */
    if (!res->interrupted && p.eval_top > 0) {
        nas_job_evaluate_params ep = nas_job_evaluate_defaults();
        ep.data_dir = p.data_dir;
        ep.eval.search_run = res->search.run_id;
        ep.eval.top_k = p.eval_top;
        ep.eval.recipe.epochs = p.eval_epochs;
        ep.eval.train_n = p.eval_train_n;
        ep.eval.val_n = 2000;
        ep.eval.threads = p.threads;
        ep.eval.quiet = p.quiet;
        ep.eval.stop = p.stop;
        NAS_INFO("training the top %d for %d epoch%s on %lld images", p.eval_top, p.eval_epochs,
                 p.eval_epochs == 1 ? "" : "s", (long long)p.eval_train_n);
        res->evaluated = true;
        st = nas_i_job_evaluate_in(db, &ep, &res->eval);
        res->interrupted = res->eval.interrupted;
    }
cleanup:
    free(extra);
    nas_scorer_free(&sc);
    for (int k = 0; k < NAS_SEARCH_EXTRA_MAX; k++) {
        nas_scorer_free(&xsc[k]);
    }
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_free(&g);
    nas_rank_model_free(&rk_model);
    nas_store_close(db);
    return st;
}
