/*
 * The evaluate driver: choose architectures of a search run (its top K, or K at random), find or
 * start the evaluate run with the same configuration, train every unfinished choice in parallel
 * (one per thread; the store is used under a lock) with per-epoch checkpoints, read the outcomes
 * back and correlate search score with trained validation accuracy.
 */
#include "eval-impl.h"
#include "ghnas/export.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

nas_eval_config nas_eval_config_default(void) {
    nas_eval_config c;
    memset(&c, 0, sizeof c);
    c.seed = 1;
    c.init = "scratch";
    c.recipe = nas_train_recipe_default();
    c.recipe.crop_pad = 2;
    c.recipe.hflip = true;
    return c;
}

void nas_eval_result_free(nas_eval_result *res) {
    if (res) {
        nas_free(res->items);
        res->items = NULL;
        res->n = 0;
    }
}

/* ---- text helpers ---------------------------------------------------------------------------- */

typedef struct tbuf {
    char *p;
    size_t n, cap;
    bool oom;
} tbuf;

static void tb_printf(tbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void tb_printf(tbuf *b, const char *fmt, ...) {
    if (b->oom) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        b->oom = true;
        va_end(ap2);
        return;
    }
    if (b->n + (size_t)len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + (size_t)len + 1) {
            cap *= 2;
        }
        char *p = nas_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            va_end(ap2);
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap2);
    va_end(ap2);
    b->n += (size_t)len;
}

/* ---- the search run -------------------------------------------------------------------------- */

typedef struct search_info {
    nas_run_info ri;
    nas_space sp;
    nas_net_config net;
    int64_t split_n_val;
    uint64_t split_seed;
} search_info;

static nas_status json_get_int(json_t *o, const char *key, int64_t *out) {
    json_t *j = json_object_get(o, key);
    if (!json_is_integer(j)) {
        return NAS_ENOTFOUND;
    }
    *out = (int64_t)json_integer_value(j);
    return NAS_OK;
}

static nas_status read_search_run(nas_store *db, const nas_eval_config *cfg, search_info *si) {
    NAS_CHECK(nas_store_run_get(db, cfg->search_run, &si->ri));
    if (strcmp(si->ri.kind, "search") != 0) {
        return nas_error(NAS_EINVAL, "run %lld is not a search run (its kind is %s)",
                         (long long)cfg->search_run, si->ri.kind);
    }
    json_error_t je;
    json_t *root = json_loads(si->ri.config_json ? si->ri.config_json : "", 0, &je);
    json_t *net = json_object_get(root, "net");
    int64_t v[6];
    static const char *const keys[6] = {"C", "N", "in_c", "in_h", "in_w", "classes"};
    bool ok = json_is_object(net);
    for (int k = 0; k < 6 && ok; k++) {
        ok = json_get_int(net, keys[k], &v[k]) == NAS_OK;
    }
    if (!ok) {
        json_decref(root);
        return nas_error(NAS_EFORMAT,
                         "run %lld has no network configuration in its config_json (not written "
                         "by ghnas search?)",
                         (long long)cfg->search_run);
    }
    si->net = nas_net_config_default();
    si->net.C = (int)v[0];
    si->net.N = (int)v[1];
    si->net.in_c = (int)v[2];
    si->net.in_h = (int)v[3];
    si->net.in_w = (int)v[4];
    si->net.classes = (int)v[5];
    json_t *cli = json_object_get(root, "cli");
    int64_t x = 0;
    si->split_n_val = 10000;
    si->split_seed = 1;
    if (json_get_int(cli, "n_val", &x) == NAS_OK && x > 0) {
        si->split_n_val = x;
    }
    if (json_get_int(cli, "split_seed", &x) == NAS_OK && x >= 0) {
        si->split_seed = (uint64_t)x;
    }
    /* the space as the search saw it: the content its record holds (a file edited since then
       would compile other networks), else the file by name, else by the recorded path */
    json_t *jsp = json_object_get(root, "space");
    if (json_is_object(jsp)) {
        char *text = json_dumps(jsp, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *jp = json_object_get(root, "space_path");
        nas_status ps =
            text ? nas_space_parse(&si->sp, text, strlen(text),
                                   json_is_string(jp) ? json_string_value(jp) : si->ri.space)
                 : nas_error(NAS_ENOMEM, "evaluate: out of memory");
        free(text); /* jansson's allocation */
        json_decref(root);
        return ps == NAS_OK
                   ? NAS_OK
                   : nas_error_wrap(ps, "run %lld's recorded space", (long long)cfg->search_run);
    }
    nas_status st = nas_space_load(&si->sp, si->ri.space);
    if (st != NAS_OK) {
        json_t *jp = json_object_get(root, "space_path");
        if (json_is_string(jp) && nas_space_load(&si->sp, json_string_value(jp)) == NAS_OK) {
            st = NAS_OK;
        }
    }
    json_decref(root);
    return st;
}

/* The chosen architectures, best search score first. */
/* Order rows of the search ranking `t` by the validation accuracy their architectures reached in
 * evaluate run `ev` (best first; architectures it did not finish are dropped) into rows[0..*n). */
static nas_status order_by_eval(nas_store *db, const nas_eval_config *cfg, const nas_store_table *t,
                                int64_t *rows, int64_t *n) {
    int64_t ev = cfg->best_of_run;
    nas_run_info ri;
    memset(&ri, 0, sizeof ri);
    NAS_CHECK(nas_store_run_get(db, ev, &ri));
    json_error_t je;
    json_t *root = json_loads(ri.config_json ? ri.config_json : "", 0, &je);
    int64_t of = 0;
    bool ok = strcmp(ri.kind, "evaluate") == 0 && json_get_int(root, "search_run", &of) == NAS_OK &&
              of == cfg->search_run;
    json_decref(root);
    nas_run_info_free(&ri);
    if (!ok) {
        return nas_error(NAS_EINVAL, "evaluate: run %lld is not an evaluate run of search run %lld",
                         (long long)ev, (long long)cfg->search_run);
    }
    nas_store_table acc;
    memset(&acc, 0, sizeof acc);
    NAS_CHECK(nas_store_query_run_trainings(db, ev, &acc));
    double *key = nas_malloc((size_t)(t->n_rows > 0 ? t->n_rows : 1) * sizeof *key);
    if (!key) {
        nas_store_table_free(&acc);
        return nas_error(NAS_ENOMEM, "evaluate: out of memory");
    }
    int64_t m = 0;
    for (int64_t i = 0; i < t->n_rows; i++) {
        int64_t id = nas_store_table_at(t, i, 1)->i;
        for (int64_t r = 0; r < acc.n_rows; r++) {
            const nas_store_value *v = nas_store_table_at(&acc, r, 1);
            if (nas_store_table_at(&acc, r, 0)->i == id && v->type == NAS_STORE_REAL) {
                key[i] = v->r;
                rows[m++] = i;
                break;
            }
        }
    }
    nas_store_table_free(&acc);
    /* stable insertion sort, best accuracy first; ties keep the search rank */
    for (int64_t i = 1; i < m; i++) {
        for (int64_t j = i; j > 0 && key[rows[j - 1]] < key[rows[j]]; j--) {
            int64_t tmp = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = tmp;
        }
    }
    nas_free(key);
    if (m == 0) {
        return nas_error(NAS_ENOTFOUND, "evaluate: evaluate run %lld has no finished training",
                         (long long)ev);
    }
    *n = m < cfg->top_k ? m : cfg->top_k;
    return NAS_OK;
}

static nas_status choose(nas_store *db, const nas_eval_config *cfg, nas_eval_result *res) {
    nas_store_table t;
    memset(&t, 0, sizeof t);
    int64_t k = cfg->top_k > 0 && cfg->best_of_run <= 0 && !cfg->only ? cfg->top_k : INT64_MAX;
    nas_status st = nas_store_query_top(db, cfg->search_run, NULL, k, &t);
    if (st != NAS_OK) {
        nas_store_table_free(&t);
        return nas_error_wrap(st, "evaluate: run %lld", (long long)cfg->search_run);
    }
    int64_t *rows = NULL;
    if (t.n_rows == 0) {
        st = nas_error(NAS_ENOTFOUND, "evaluate: run %lld has no scored architectures",
                       (long long)cfg->search_run);
        goto cleanup;
    }
    snprintf(res->scorer, sizeof res->scorer, "%s", t.cols[2]);
    int64_t n = t.n_rows;
    rows = nas_malloc((size_t)n * sizeof *rows);
    if (!rows) {
        st = nas_error(NAS_ENOMEM, "evaluate: out of memory");
        goto cleanup;
    }
    for (int64_t i = 0; i < n; i++) {
        rows[i] = i;
    }
    if (cfg->only) {
        /* the listed architectures only, in the run's rank order */
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++) {
            const nas_store_value *ar = nas_store_table_at(&t, rows[i], 5);
            bool listed = false;
            for (int o = 0; o < cfg->n_only && !listed && ar->type == NAS_STORE_TEXT; o++) {
                listed = strcmp(cfg->only[o], ar->s) == 0;
            }
            if (listed) {
                rows[m++] = rows[i];
            }
        }
        if (m == 0) {
            st = nas_error(NAS_ENOTFOUND,
                           "evaluate: none of the %d listed architectures is in run %lld",
                           cfg->n_only, (long long)cfg->search_run);
            goto cleanup;
        }
        n = m;
        if (cfg->top_k > 0 && cfg->best_of_run <= 0 && n > cfg->top_k) {
            n = cfg->top_k;
        }
    }
    if (cfg->best_of_run > 0) {
        NAS_TRY(order_by_eval(db, cfg, &t, rows, &n));
    } else if (cfg->sample_k > 0) {
        /* K distinct rows at random (partial Fisher-Yates), then back in rank order */
        nas_rng r;
        nas_rng_seed(&r, cfg->seed);
        int64_t m = cfg->sample_k < n ? cfg->sample_k : n;
        for (int64_t i = 0; i < m; i++) {
            int64_t j = i + (int64_t)nas_rng_below(&r, (uint64_t)(n - i));
            int64_t tmp = rows[i];
            rows[i] = rows[j];
            rows[j] = tmp;
        }
        n = m;
        for (int64_t i = 1; i < n; i++) {
            for (int64_t j = i; j > 0 && rows[j - 1] > rows[j]; j--) {
                int64_t tmp = rows[j];
                rows[j] = rows[j - 1];
                rows[j - 1] = tmp;
            }
        }
    }
    res->items = nas_calloc((size_t)n, sizeof *res->items);
    if (!res->items) {
        st = nas_error(NAS_ENOMEM, "evaluate: out of memory");
        goto cleanup;
    }
    res->n = (int)n;
    for (int64_t i = 0; i < n; i++) {
        nas_eval_item *it = &res->items[i];
        const nas_store_value *id = nas_store_table_at(&t, rows[i], 1);
        const nas_store_value *sc = nas_store_table_at(&t, rows[i], 2);
        const nas_store_value *pa = nas_store_table_at(&t, rows[i], 3);
        const nas_store_value *ar = nas_store_table_at(&t, rows[i], 5);
        it->arch_id = id->i;
        it->score = sc->type == NAS_STORE_REAL  ? sc->r
                    : sc->type == NAS_STORE_INT ? (double)sc->i
                                                : (double)NAN;
        it->n_params = pa->type == NAS_STORE_INT ? pa->i : -1;
        snprintf(it->arch, sizeof it->arch, "%s", ar->type == NAS_STORE_TEXT ? ar->s : "");
        it->train_acc = it->val_acc = it->test_acc = (double)NAN;
        it->status = NAS_RUN_RUNNING;
    }
cleanup:
    nas_free(rows);
    nas_store_table_free(&t);
    return st;
}

static void recipe_json(const nas_eval_config *cfg, const search_info *si, int64_t train_n,
                        int64_t val_n, int64_t n_val, uint64_t split_seed, tbuf *b) {
    const nas_train_recipe *r = &cfg->recipe;
    tb_printf(b,
              "{\"optimizer\": \"%s\", \"momentum\": %.9g, \"nesterov\": %s, "
              "\"weight_decay\": %.9g, \"lr\": %.9g, \"schedule\": \"cosine\", \"eta_min\": %.9g, "
              "\"warmup_steps\": %lld, \"epochs\": %d, \"batch\": %d, \"eval_batch\": %d, "
              "\"crop_pad\": %d, \"hflip\": %s, \"label_smoothing\": %.9g, \"clip\": %.9g, "
              "\"seed\": %llu, \"weights\": \"%s\", ",
              nas_optim_kind_name(r->optim.kind), (double)r->optim.momentum,
              r->optim.nesterov ? "true" : "false", (double)r->optim.weight_decay, (double)r->lr,
              (double)r->eta_min, (long long)r->warmup_steps, r->epochs, r->batch_size,
              r->eval_batch_size, r->crop_pad, r->hflip ? "true" : "false",
              (double)r->label_smoothing, (double)r->clip_norm, (unsigned long long)r->seed,
              strcmp(cfg->init, "ghn") == 0 ? "ghn" : "kaiming_fan_out");
    if (cfg->bn_calib > 0) {
        /* only when used, so runs recorded before it existed still resume */
        tb_printf(b, "\"bn_calib\": %d, ", cfg->bn_calib);
    }
    if (cfg->val_offset > 0) {
        tb_printf(b, "\"val_offset\": %lld, ", (long long)cfg->val_offset);
    }
    tb_printf(b,
              "\"train_n\": %lld, \"val_n\": %lld, \"split\": {\"n_val\": %lld, \"seed\": %llu}, "
              "\"net\": {\"C\": %d, \"N\": %d}, \"test\": %s}",
              (long long)train_n, (long long)val_n, (long long)n_val,
              (unsigned long long)split_seed, si->net.C, si->net.N, cfg->test ? "true" : "false");
}

/* The evaluate run with exactly this configuration, or 0. */
static nas_status find_eval_run(nas_store *db, const char *config_json, int64_t *run_id) {
    *run_id = 0;
    nas_store_table t;
    memset(&t, 0, sizeof t);
    nas_status st = nas_store_query_runs(db, &t);
    int c_id = nas_store_table_col(&t, "id"), c_kind = nas_store_table_col(&t, "kind");
    for (int64_t r = 0; st == NAS_OK && r < t.n_rows && c_id >= 0 && c_kind >= 0; r++) {
        const nas_store_value *kind = nas_store_table_at(&t, r, c_kind);
        if (kind->type != NAS_STORE_TEXT || strcmp(kind->s, "evaluate") != 0) {
            continue;
        }
        nas_run_info ri;
        memset(&ri, 0, sizeof ri);
        st = nas_store_run_get(db, nas_store_table_at(&t, r, c_id)->i, &ri);
        if (st == NAS_OK && ri.config_json && strcmp(ri.config_json, config_json) == 0) {
            *run_id = ri.id;
        }
        nas_run_info_free(&ri);
    }
    nas_store_table_free(&t);
    return st;
}

/* ---- training jobs --------------------------------------------------------------------------- */

typedef struct shared {
    nas_store *db;
    const nas_eval_config *cfg;
    const search_info *si;
    nas_i_trainer base;
    nas_progress pr;
    int64_t steps_done;
} shared;

typedef struct job {
    shared *sh;
    nas_eval_item *item;
    nas_training_info info;
    nas_status st;
} job;

static nas_status job_on_epoch(void *user, const nas_epoch_record *e, const void *ckpt, size_t n) {
    job *j = user;
    nas_status st;
#ifdef _OPENMP
#pragma omp critical(nas_eval_store)
#endif
    { st = nas_store_training_epoch(j->sh->db, j->info.id, e, ckpt, n); }
    if (st == NAS_OK) {
        j->item->epochs_done = e->epoch;
    }
    return st;
}

static void job_on_step(void *user) {
    job *j = user;
    shared *sh = j->sh;
    int64_t done;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
    done = ++sh->steps_done;
    if (done % 8 == 0) {
#ifdef _OPENMP
#pragma omp critical(nas_eval_progress)
#endif
        { nas_progress_update(&sh->pr, done, NULL); }
    }
}

static void run_job(job *j) {
    shared *sh = j->sh;
    const nas_eval_config *cfg = sh->cfg;
    nas_eval_item *it = j->item;
    nas_net net;
    nas_net_model m;
    nas_ghn_graph gg;
    memset(&net, 0, sizeof net);
    memset(&m, 0, sizeof m);
    memset(&gg, 0, sizeof gg);
    void *ckpt = NULL, *kept = NULL;
    size_t n_ckpt = 0, n_kept = 0;
    double t0 = nas_time_now();
    double tr_acc = (double)NAN, va_acc = (double)NAN, te_acc = (double)NAN;
    nas_status st = NAS_OK;
    nas_arch a;
    NAS_TRY(nas_arch_decode(&sh->si->sp, it->arch, &a));
    NAS_TRY(nas_net_compile(&net, &sh->si->sp, &a, &sh->si->net));
    nas_rng rng;
    nas_rng_seed(&rng, cfg->seed ^ (0x9e3779b97f4a7c15ull * nas_hash_str(it->arch)));
    NAS_TRY(nas_net_model_init(&m, &net, NAS_NET_INIT_KAIMING_OUT, &rng));
    if (strcmp(cfg->init, "ghn") == 0) {
        NAS_TRY(nas_ghn_graph_build(&gg, &cfg->ghn->cfg, &net));
        NAS_TRY(nas_ghn_predict_model(cfg->ghn, &gg, &m));
    }
    if (j->info.epochs_done > 0 && j->info.has_checkpoint) {
#ifdef _OPENMP
#pragma omp critical(nas_eval_store)
#endif
        { st = nas_store_training_checkpoint(sh->db, j->info.id, &ckpt, &n_ckpt); }
        NAS_TRY(st);
    }
    nas_i_trainer tr = sh->base;
    tr.user = j;
    NAS_TRY(
        nas_i_train_arch(&tr, &m, j->info.epochs_done, ckpt, n_ckpt, &tr_acc, &va_acc, &te_acc));
    /* the final weights stay with the finished training (nas_export_model_unpack reads them) */
    NAS_TRY(nas_export_model_pack(&m, &sh->si->sp, sh->base.norm, &kept, &n_kept));
cleanup:
    it->seconds = nas_time_now() - t0;
    nas_run_status status = st == NAS_OK             ? NAS_RUN_FINISHED
                            : st == NAS_EINTERRUPTED ? NAS_RUN_INTERRUPTED
                                                     : NAS_RUN_FAILED;
    if (st != NAS_OK && st != NAS_EINTERRUPTED) {
        snprintf(it->error, sizeof it->error, "%s", nas_errmsg());
    }
    nas_status fs;
#ifdef _OPENMP
#pragma omp critical(nas_eval_store)
#endif
    {
        nas_kept_weights kw = {NAS_EXPORT_FORMAT, m.params.numel, kept, n_kept};
        fs = nas_store_training_finish_kept(sh->db, j->info.id, status, tr_acc, va_acc, te_acc,
                                            kept ? &kw : NULL);
    }
    if (st == NAS_OK && fs != NAS_OK) {
        st = fs;
        snprintf(it->error, sizeof it->error, "%s", nas_errmsg());
    }
    it->status = fs == NAS_OK ? status : NAS_RUN_FAILED;
    j->st = st;
    nas_free(kept);
    nas_free(ckpt);
    nas_ghn_graph_free(&gg);
    nas_net_model_free(&m);
    nas_net_free(&net);
}

/* The stored outcome of each item's training. */
static nas_status read_outcomes(nas_store *db, nas_eval_result *res, const job *jobs) {
    for (int i = 0; i < res->n; i++) {
        nas_eval_item *it = &res->items[i];
        nas_store_table t;
        memset(&t, 0, sizeof t);
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)it->arch_id);
        nas_status st = nas_store_query_arch(db, id, NULL, NULL, &t);
        int c_id = nas_store_table_col(&t, "id"), c_status = nas_store_table_col(&t, "status");
        int c_ep = nas_store_table_col(&t, "epochs_done");
        int c_acc[3] = {nas_store_table_col(&t, "train_acc"), nas_store_table_col(&t, "val_acc"),
                        nas_store_table_col(&t, "test_acc")};
        for (int64_t r = 0; st == NAS_OK && r < t.n_rows; r++) {
            if (nas_store_table_at(&t, r, c_id)->i != jobs[i].info.id) {
                continue;
            }
            const nas_store_value *s = nas_store_table_at(&t, r, c_status);
            it->status =
                s->type == NAS_STORE_TEXT && strcmp(s->s, "finished") == 0 ? NAS_RUN_FINISHED
                : s->type == NAS_STORE_TEXT && strcmp(s->s, "failed") == 0 ? NAS_RUN_FAILED
                                                                           : NAS_RUN_INTERRUPTED;
            it->epochs_done = (int)nas_store_table_at(&t, r, c_ep)->i;
            double *acc[3] = {&it->train_acc, &it->val_acc, &it->test_acc};
            for (int k = 0; k < 3; k++) {
                const nas_store_value *v = nas_store_table_at(&t, r, c_acc[k]);
                *acc[k] = v->type == NAS_STORE_REAL  ? v->r
                          : v->type == NAS_STORE_INT ? (double)v->i
                                                     : (double)NAN;
            }
        }
        nas_store_table_free(&t);
        NAS_CHECK(st);
    }
    return NAS_OK;
}

nas_status nas_eval_run(nas_store *db, const nas_eval_config *cfg, nas_eval_result *res) {
    memset(res, 0, sizeof *res);
    res->kendall_tau = res->spearman_rho = (double)NAN;
    res->status = NAS_RUN_RUNNING;
    const double t0 = nas_time_now();
    if ((cfg->top_k > 0) == (cfg->sample_k > 0) || cfg->top_k < 0 || cfg->sample_k < 0) {
        return nas_error(NAS_EINVAL, "evaluate: give exactly one of top K or sample K (K >= 1)");
    }
    if (!cfg->init || (strcmp(cfg->init, "scratch") != 0 && strcmp(cfg->init, "ghn") != 0)) {
        return nas_error(NAS_EINVAL, "evaluate: init must be scratch or ghn, got '%s'",
                         cfg->init ? cfg->init : "(null)");
    }
    if (strcmp(cfg->init, "ghn") == 0 && !cfg->ghn) {
        return nas_error(NAS_EINVAL, "evaluate: init ghn needs the search run's GHN");
    }
    if (!cfg->train) {
        return nas_error(NAS_EINVAL, "evaluate: no training images given");
    }
    if (cfg->recipe.epochs < 1 || cfg->recipe.batch_size < 1 || cfg->recipe.eval_batch_size < 1) {
        return nas_error(NAS_EINVAL, "evaluate: epochs and batch sizes must be >= 1");
    }
    if (cfg->bn_calib < 0) {
        return nas_error(NAS_EINVAL, "evaluate: BN calibration batches must be >= 0, got %d",
                         cfg->bn_calib);
    }
    if (cfg->train_n < 0 || cfg->val_n < 0 || cfg->split_n_val < 0 || cfg->threads < 0) {
        return nas_error(NAS_EINVAL, "evaluate: image counts and threads must be >= 0");
    }
    nas_status st = NAS_OK;
    search_info si;
    memset(&si, 0, sizeof si);
    nas_data_split split;
    memset(&split, 0, sizeof split);
    tbuf rj = {0}, cj = {0};
    job *jobs = NULL;
    nas_data_norm norm;
    bool started = false, stopped = false, all_failed = false;
    if (cfg->net_C < 0 || cfg->net_N < 0 || cfg->best_of_run < 0 ||
        (cfg->best_of_run > 0 && cfg->top_k < 1)) {
        return nas_error(NAS_EINVAL, "evaluate: C and N must be >= 1, and best-of needs top K");
    }
    NAS_TRY(read_search_run(db, cfg, &si));
    if (cfg->net_C > 0) {
        si.net.C = cfg->net_C;
    }
    if (cfg->net_N > 0) {
        si.net.N = cfg->net_N;
    }
    const nas_dataset *ds = cfg->train;
    if (ds->c != si.net.in_c || ds->h != si.net.in_h || ds->w != si.net.in_w ||
        ds->n_classes > si.net.classes) {
        st = nas_error(NAS_EINVAL,
                       "evaluate: the images are %dx%dx%d with %d classes; run %lld searched "
                       "nets for %dx%dx%d inputs and %d classes",
                       ds->c, ds->h, ds->w, ds->n_classes, (long long)cfg->search_run, si.net.in_c,
                       si.net.in_h, si.net.in_w, si.net.classes);
        goto cleanup;
    }
    const int64_t n_val = cfg->split_n_val > 0 ? cfg->split_n_val : si.split_n_val;
    const uint64_t split_seed = cfg->split_seed > 0 ? cfg->split_seed : si.split_seed;
    if (n_val >= ds->n) {
        st = nas_error(NAS_EINVAL, "evaluate: a validation split of %lld leaves no training images",
                       (long long)n_val);
        goto cleanup;
    }
    NAS_TRY(nas_data_split_make(&split, ds->n, n_val, split_seed));
    NAS_TRY(nas_data_norm_compute(ds, split.train, split.n_train, &norm));
    const int64_t train_n =
        cfg->train_n > 0 && cfg->train_n < split.n_train ? cfg->train_n : split.n_train;
    if (cfg->val_offset < 0 || cfg->val_offset >= split.n_val) {
        st = nas_error(NAS_EINVAL,
                       "evaluate: a validation offset of %lld leaves none of the %lld validation "
                       "images",
                       (long long)cfg->val_offset, (long long)split.n_val);
        goto cleanup;
    }
    const int64_t val_avail = split.n_val - cfg->val_offset;
    const int64_t val_n = cfg->val_n > 0 && cfg->val_n < val_avail ? cfg->val_n : val_avail;
    NAS_TRY(choose(db, cfg, res));
    if (cfg->net_C > 0 || cfg->net_N > 0) {
        /* the parameters of the nets actually trained, not of the search's skeleton */
        for (int i = 0; i < res->n; i++) {
            nas_arch a;
            nas_net net;
            NAS_TRY(nas_arch_decode(&si.sp, res->items[i].arch, &a));
            NAS_TRY(nas_net_compile(&net, &si.sp, &a, &si.net));
            res->items[i].n_params = net.n_params;
            nas_net_free(&net);
        }
    }
    {
        /* the scorer's direction, from the ranking itself: rank 1 is the best */
        nas_store_table top;
        memset(&top, 0, sizeof top);
        res->higher_is_better = true;
        st = nas_store_query_top(db, cfg->search_run, res->scorer, INT64_MAX, &top);
        if (st == NAS_OK && top.n_rows >= 2) {
            const nas_store_value *a = nas_store_table_at(&top, 0, 2);
            const nas_store_value *b = nas_store_table_at(&top, top.n_rows - 1, 2);
            double va = a->type == NAS_STORE_REAL ? a->r : (double)a->i;
            double vb = b->type == NAS_STORE_REAL ? b->r : (double)b->i;
            res->higher_is_better = !(va < vb);
        }
        nas_store_table_free(&top);
        NAS_TRY(st);
    }
    recipe_json(cfg, &si, train_n, val_n, n_val, split_seed, &rj);
    /* "best_of" only when used, so runs recorded before it existed still resume */
    char best_of[48] = "";
    if (cfg->best_of_run > 0) {
        snprintf(best_of, sizeof best_of, "\"best_of\": %lld, ", (long long)cfg->best_of_run);
    }
    /* cfg->only is not part of the run's identity: a call restricted to some architectures
       adds their trainings to the evaluate run of the same selection and recipe (a training is
       seeded from its arch text, so how the work is split does not change its result) */
    tb_printf(&cj,
              "{\"search_run\": %lld, \"select\": \"%s\", %s\"k\": %d, \"seed\": %llu, "
              "\"init\": \"%s\", \"recipe\": %s}",
              (long long)cfg->search_run, cfg->top_k > 0 ? "top" : "sample", best_of,
              cfg->top_k > 0 ? cfg->top_k : cfg->sample_k, (unsigned long long)cfg->seed, cfg->init,
              rj.p ? rj.p : "{}");
    if (rj.oom || cj.oom) {
        st = nas_error(NAS_ENOMEM, "evaluate: out of memory");
        goto cleanup;
    }
    NAS_TRY(find_eval_run(db, cj.p, &res->run_id));
    if (res->run_id > 0) {
        res->resumed = true;
        NAS_TRY(nas_store_run_set_status(db, res->run_id, NAS_RUN_RUNNING));
    } else {
        char name[64];
        snprintf(name, sizeof name, "evaluate run %lld", (long long)cfg->search_run);
        nas_run_spec rs = {.name = name,
                           .kind = "evaluate",
                           .space = si.ri.space,
                           .dataset = si.ri.dataset,
                           .scorer = "",
                           .config_json = cj.p,
                           .seed = cfg->seed,
                           .ghn_id = strcmp(cfg->init, "ghn") == 0 ? si.ri.ghn_id : 0,
                           .fingerprint = cfg->train->fingerprint};
        NAS_TRY(nas_store_run_create(db, &rs, &res->run_id));
    }
    started = true;
    jobs = nas_calloc((size_t)res->n, sizeof *jobs);
    if (!jobs) {
        st = nas_error(NAS_ENOMEM, "evaluate: out of memory");
        goto cleanup;
    }
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.db = db;
    sh.cfg = cfg;
    sh.si = &si;
    sh.base = (nas_i_trainer){.train = ds,
                              .train_idx = split.train,
                              .n_train = train_n,
                              .val = ds,
                              .val_idx = split.val + cfg->val_offset,
                              .n_val = val_n,
                              .test = cfg->test,
                              .norm = &norm,
                              .recipe = &cfg->recipe,
                              .bn_calib = cfg->bn_calib,
                              .stop = cfg->stop,
                              .on_epoch = job_on_epoch,
                              .on_step = job_on_step};
    const int64_t steps_per_epoch = nas_i_steps_per_epoch(&sh.base);
    if (steps_per_epoch < 1) {
        st = nas_error(NAS_EINVAL, "evaluate: %lld training images make no batch of %d",
                       (long long)train_n, cfg->recipe.batch_size);
        goto cleanup;
    }
    int64_t total_steps = 0;
    int n_todo = 0;
    for (int i = 0; i < res->n; i++) {
        job *j = &jobs[i];
        j->sh = &sh;
        j->item = &res->items[i];
        nas_training_spec ts = {.run_id = res->run_id,
                                .arch_id = res->items[i].arch_id,
                                .recipe_json = rj.p,
                                .init = cfg->init,
                                .epochs = cfg->recipe.epochs};
        NAS_TRY(nas_store_training_begin(db, &ts, &j->info));
        res->items[i].training_id = j->info.id;
        res->items[i].epochs_done = j->info.epochs_done;
        if (j->info.status == NAS_RUN_FINISHED) {
            res->items[i].was_done = true;
            res->items[i].status = NAS_RUN_FINISHED;
        } else {
            n_todo++;
            total_steps += (int64_t)(cfg->recipe.epochs - j->info.epochs_done) * steps_per_epoch;
        }
    }
    nas_progress_begin(&sh.pr, "evaluate", total_steps);
    sh.pr.quiet = sh.pr.quiet || cfg->quiet;
    const int T0 = cfg->threads > 0 ? cfg->threads : nas_get_threads();
    const int T = n_todo < T0 ? (n_todo > 0 ? n_todo : 1) : T0;
    (void)T;
#ifdef _OPENMP
#pragma omp parallel for num_threads(T) schedule(dynamic, 1) if (T > 1)
#endif
    for (int i = 0; i < res->n; i++) {
        if (!res->items[i].was_done) {
            run_job(&jobs[i]);
        }
    }
    nas_progress_update(&sh.pr, sh.steps_done, NULL);
    nas_progress_end(&sh.pr);
    for (int i = 0; i < res->n; i++) {
        stopped = stopped || jobs[i].st == NAS_EINTERRUPTED;
    }
    NAS_TRY(read_outcomes(db, res, jobs));
    /* nothing trained: the run failed (not "finished" with an empty table) */
    int n_ok = 0, first_failed = -1;
    for (int i = 0; i < res->n; i++) {
        n_ok += res->items[i].status == NAS_RUN_FINISHED;
        if (first_failed < 0 && res->items[i].status == NAS_RUN_FAILED) {
            first_failed = i;
        }
    }
    if (!stopped && res->n > 0 && n_ok == 0 && first_failed >= 0) {
        all_failed = true;
        nas_status why = jobs[first_failed].st;
        st = nas_error(why != NAS_OK && why != NAS_EINVAL ? why : NAS_EINTERNAL,
                       "evaluate: all %d trainings failed; the first (%s): %s", res->n,
                       res->items[first_failed].arch,
                       res->items[first_failed].error[0] ? res->items[first_failed].error : "?");
        goto cleanup;
    }
    /* correlations over the finished trainings */
    double *x = nas_malloc((size_t)res->n * sizeof *x), *y = nas_malloc((size_t)res->n * sizeof *y);
    if (!x || !y) {
        nas_free(x);
        nas_free(y);
        st = nas_error(NAS_ENOMEM, "evaluate: out of memory");
        goto cleanup;
    }
    int m = 0;
    for (int i = 0; i < res->n; i++) {
        if (res->items[i].status == NAS_RUN_FINISHED && !isnan(res->items[i].val_acc) &&
            !isnan(res->items[i].score)) {
            x[m] = res->items[i].score;
            y[m] = res->items[i].val_acc;
            m++;
        }
    }
    res->n_corr = m;
    nas_eval_kendall_tau(x, y, m, &res->kendall_tau);
    nas_eval_spearman_rho(x, y, m, &res->spearman_rho);
    nas_free(x);
    nas_free(y);
cleanup:
    if (started) {
        res->status = all_failed                ? NAS_RUN_FAILED
                      : st != NAS_OK || stopped ? NAS_RUN_INTERRUPTED
                                                : NAS_RUN_FINISHED;
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", nas_errmsg());
        nas_status fs = nas_store_run_set_status(db, res->run_id, res->status);
        if (st == NAS_OK) {
            st = fs;
        } else {
            nas_error(st, "%s", keep);
        }
    }
    nas_free(jobs);
    nas_free(rj.p);
    nas_free(cj.p);
    nas_data_split_free(&split);
    nas_run_info_free(&si.ri);
    res->seconds = nas_time_now() - t0;
    return st;
}
