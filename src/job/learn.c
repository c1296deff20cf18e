/*
 * The search loop that earns labels (`ghnas search --learn N`): search with the chosen scorer,
 * train the most promising few candidates with the evaluate recipe, fit a ranker on every
 * training of that recipe in the store, search again with the ranker, train the few it rates
 * best (the GP's mean plus --learn-kappa standard deviations: upper confidence bound), refit,
 * and so on until N trainings are done; then the usual closing evaluation of the last round.
 *
 * Every step is a job of its own on the store, so the loop is as crash-safe as they are, and it
 * resumes from the store alone (`ghnas search --resume R`, R = the first run): round k's runs are
 * named "learn R round k" (a search run and a ranker), its trainings are the evaluate run of the
 * previous round's search run; a step already done is found and skipped, one cut short resumes.
 */
#include "job-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One read-only query on the store at path into t. */
static nas_status read_sql(const char *path, const char *sql, nas_store_table *t) {
    nas_store *db = NULL;
    memset(t, 0, sizeof *t);
    NAS_CHECK(nas_store_open(&db, path, NAS_STORE_READONLY));
    nas_status st = nas_store_query_sql(db, sql, t);
    nas_store_close(db);
    return st;
}

/* The first column of the first row as an integer (0 when there is no row or it is NULL). */
static nas_status read_int(const char *path, const char *sql, int64_t *v) {
    nas_store_table t;
    *v = 0;
    NAS_CHECK(read_sql(path, sql, &t));
    if (t.n_rows > 0 && nas_store_table_at(&t, 0, 0)->type == NAS_STORE_INT) {
        *v = nas_store_table_at(&t, 0, 0)->i;
    }
    nas_store_table_free(&t);
    return NAS_OK;
}

/* A stored scorer name is [a-z0-9_]: safe to put in SQL text. */
static bool plain_name(const char *s) {
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) {
            return false;
        }
    }
    return true;
}

static void free_list(char **a, int n) {
    for (int i = 0; a && i < n; i++) {
        nas_free(a[i]);
    }
    nas_free(a);
}

/* The architectures round k trains: those of the evaluate run of src if it exists (a resumed
 * round), else the best `want` of src's candidates by score (+ kappa sd) that no scratch
 * training of the space and data set holds yet. *archs: heap strings (free_list). */
static nas_status choose(const nas_job_search_params *p, int64_t src, const char *scorer,
                         bool higher, int want, int64_t *eval_run, char ***archs, int *n) {
    *archs = NULL;
    *n = 0;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT id FROM runs WHERE kind = 'evaluate' AND"
             " json_extract(config_json, '$.search_run') = %lld ORDER BY id LIMIT 1",
             (long long)src);
    NAS_CHECK(read_int(p->db, sql, eval_run));
    if (*eval_run > 0) {
        snprintf(sql, sizeof sql,
                 "SELECT a.arch FROM trainings t JOIN architectures a ON a.id = t.arch_id"
                 " WHERE t.run_id = %lld ORDER BY t.id",
                 (long long)*eval_run);
    } else {
        if (!plain_name(scorer)) {
            return nas_error(NAS_EINVAL, "learn: scorer name '%s'", scorer);
        }
        snprintf(sql, sizeof sql,
                 "SELECT a.arch FROM scores s JOIN architectures a ON a.id = s.arch_id"
                 " WHERE s.run_id = %lld AND s.scorer = '%s' AND s.value IS NOT NULL"
                 " AND NOT EXISTS (SELECT 1 FROM trainings t JOIN runs r ON r.id = t.run_id"
                 " WHERE t.arch_id = s.arch_id AND t.init = 'scratch' AND r.space = a.space)"
                 " ORDER BY %s s.value + %.9g * coalesce(json_extract(s.aux_json, '$.sd'), 0)"
                 " DESC, s.seq LIMIT %d",
                 (long long)src, scorer, higher ? "" : "-", p->learn_kappa, want);
    }
    nas_store_table t;
    NAS_CHECK(read_sql(p->db, sql, &t));
    nas_status st = NAS_OK;
    char **out = nas_calloc((size_t)(t.n_rows > 0 ? t.n_rows : 1), sizeof *out);
    for (int64_t r = 0; out && r < t.n_rows && st == NAS_OK; r++) {
        if (!(out[r] = nas_strdup(nas_store_table_at(&t, r, 0)->s))) {
            st = nas_error(NAS_ENOMEM, "learn: out of memory");
        }
    }
    if (!out) {
        st = nas_error(NAS_ENOMEM, "learn: out of memory");
    } else if (st != NAS_OK) {
        free_list(out, (int)t.n_rows);
    } else {
        *archs = out;
        *n = (int)t.n_rows;
    }
    nas_store_table_free(&t);
    return st;
}

/* Train the chosen architectures of src with the loop's recipe (evaluate resumes its own run). */
static nas_status train_round(const nas_job_search_params *p, int64_t src, char **archs, int n,
                              nas_job_evaluate_result *er) {
    nas_job_evaluate_params ep = nas_job_evaluate_defaults();
    ep.db = p->db;
    ep.data_dir = p->data_dir;
    ep.eval.search_run = src;
    ep.eval.top_k = 1000000; /* choose among the listed ones, wherever they rank */
    ep.eval.only = (const char *const *)archs;
    ep.eval.n_only = n;
    ep.eval.recipe.epochs = p->learn_epochs;
    ep.eval.train_n = p->learn_train_n;
    ep.eval.val_offset = NAS_I_JOB_LEARN_VAL_OFFSET; /* past the images the GHN scores on */
    ep.eval.val_n = NAS_I_JOB_LEARN_VAL_N;
    ep.eval.seed = p->seed;
    ep.eval.threads = p->threads;
    ep.eval.quiet = p->quiet;
    ep.eval.stop = p->stop;
    return nas_job_evaluate(&ep, er);
}

nas_status nas_i_job_learn(const nas_job_search_params *params, nas_job_search_result *res) {
    nas_job_search_params p = *params;
    if (p.learn_round < 3) {
        return nas_error(NAS_EINVAL, "--learn-round: at least 3 trainings per round (got %d)",
                         p.learn_round);
    }
    /* round 0: the search with the user's scorer (or its resumption) */
    nas_job_search_params p0 = p;
    p0.in_learn = true;
    p0.eval_top = 0;
    NAS_CHECK(nas_job_search(&p0, res));
    if (res->interrupted) {
        return NAS_OK;
    }
    const int64_t r0 = res->search.run_id;
    char scorer[NAS_SCORER_NAME_MAX];
    snprintf(scorer, sizeof scorer, "%s", res->scorer);
    const nas_score_entry *e = NULL;
    NAS_CHECK(nas_score_find(p.scorer, &e));
    bool higher = e->higher_is_better;
    int64_t src = r0, first_eval = 0;
    int done = 0;
    nas_status st = NAS_OK;
    for (int k = 1; done < p.learn; k++) {
        char name[96], sql[512];
        snprintf(name, sizeof name, "learn %lld round %d", (long long)r0, k);
        /* 1. train the chosen few of src */
        char **archs = NULL;
        int n = 0;
        int64_t eval_run = 0;
        NAS_CHECK(choose(&p, src, scorer, higher,
                         p.learn - done < p.learn_round ? p.learn - done : p.learn_round, &eval_run,
                         &archs, &n));
        if (n == 0) {
            NAS_INFO("learn: round %d has no untrained candidate left; stopping", k);
            free_list(archs, n);
            break;
        }
        NAS_INFO("learn: round %d: training %d candidate%s of run %lld (%d of %d trainings done)",
                 k, n, n == 1 ? "" : "s", (long long)src, done, p.learn);
        nas_job_evaluate_result er;
        st = train_round(&p, src, archs, n, &er);
        free_list(archs, n);
        if (st != NAS_OK) {
            return st;
        }
        const bool stopped = er.interrupted;
        for (int i = 0; i < er.eval.n; i++) {
            done += er.eval.items[i].status == NAS_RUN_FINISHED;
        }
        eval_run = er.eval.run_id;
        nas_job_evaluate_result_free(&er);
        if (stopped) {
            res->interrupted = true;
            return NAS_OK;
        }
        if (first_eval == 0) {
            first_eval = eval_run;
        }
        /* 2. fit (or find) this round's ranker on every training of the loop's recipe */
        int64_t ranker = 0;
        snprintf(sql, sizeof sql, "SELECT id FROM rankers WHERE name = '%s' ORDER BY id LIMIT 1",
                 name);
        NAS_CHECK(read_int(p.db, sql, &ranker));
        nas_job_rank_result rr;
        memset(&rr, 0, sizeof rr);
        if (ranker == 0) {
            nas_job_rank_params rp = nas_job_rank_defaults();
            rp.db = p.db;
            rp.space = res->space[0] ? res->space : p.space;
            rp.data = p.data;
            rp.data_dir = p.data_dir;
            rp.recipe_run = first_eval;
            rp.model = p.learn_model;
            rp.val_n = p.val_n;
            rp.name = name;
            rp.threads = p.threads;
            rp.quiet = p.quiet;
            NAS_CHECK(nas_job_rank(&rp, &rr));
            ranker = rr.ranker_id;
            NAS_INFO("learn: round %d: ranker %lld (%s) on %d labels, cross-validated tau %.3f", k,
                     (long long)ranker, rr.model, rr.n_labels, rr.cv_tau);
        }
        /* 3. search again with it (or resume / skip that search) */
        int64_t again = 0;
        snprintf(sql, sizeof sql,
                 "SELECT id FROM runs WHERE kind = 'search' AND name = '%s' ORDER BY id LIMIT 1",
                 name);
        NAS_CHECK(read_int(p.db, sql, &again));
        char ranker_id[32];
        snprintf(ranker_id, sizeof ranker_id, "%lld", (long long)ranker);
        nas_job_search_params pk = p;
        pk.in_learn = true;
        pk.learn = 0;
        pk.eval_top = 0;
        pk.scorer = "ranker";
        pk.scorers = NULL;
        pk.ghn = NULL;
        pk.ranker = ranker_id;
        pk.name = name;
        pk.seed = p.seed + (uint64_t)k;
        pk.resume = again;
        pk.given = again > 0 ? NAS_JOB_GIVEN_BUDGET : 0;
        nas_job_search_result_free(res);
        NAS_CHECK(nas_job_search(&pk, res));
        if (res->interrupted) {
            return NAS_OK;
        }
        src = res->search.run_id;
        snprintf(scorer, sizeof scorer, "%s", res->scorer);
        higher = true;
        if (p.on_round) {
            nas_job_learn_round lr = {.round = k,
                                      .eval_run = eval_run,
                                      .ranker_id = ranker,
                                      .search_run = src,
                                      .trainings = done,
                                      .cv_tau = rr.ranker_id ? rr.cv_tau : (double)NAN,
                                      .n_labels = rr.n_labels};
            p.on_round(&lr, p.user);
        }
    }
    /* the closing evaluation of the last round's run */
    if (p.eval_top > 0 && !res->interrupted) {
        nas_job_evaluate_params ep = nas_job_evaluate_defaults();
        ep.db = p.db;
        ep.data_dir = p.data_dir;
        ep.eval.search_run = src;
        ep.eval.top_k = p.eval_top;
        ep.eval.recipe.epochs = p.eval_epochs;
        ep.eval.train_n = p.eval_train_n;
        ep.eval.val_n = 2000;
        ep.eval.threads = p.threads;
        ep.eval.quiet = p.quiet;
        ep.eval.stop = p.stop;
        res->evaluated = true;
        st = nas_job_evaluate(&ep, &res->eval);
        res->interrupted = res->eval.interrupted;
    }
    return st;
}
