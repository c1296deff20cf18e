/*
 * Tests for src/search and src/eval: every strategy on NB201 and on a tiny custom space, dedup by
 * canonical key, reuse of stored scores across runs (and no reuse across recipes or GHNs),
 * budgets by count and time, the stop flag (run marked interrupted, resumable, same sequence as
 * an uninterrupted run), SIGKILL at random points followed by resume, thread-count independence,
 * the GHN scorer, Kendall tau-b / Spearman rho against hand-computed values with ties, Pareto
 * fronts against brute force, and evaluate on a few hundred Fashion-MNIST images (curves stored,
 * resumed after a SIGKILL at its last finished epoch).
 */
#include "test_suites.h"
#include "testdir.h"

#include "ghnas/eval.h"
#include "ghnas/search.h"

#include <jansson.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- fixtures and helpers -------------------------------------------------------------------- */

static void tmp_setup(void) {
    test_tmpdir_create("search");
}

static void tmp_teardown(void) {
    test_tmpdir_remove();
}

static nas_store *open_db(const char *name) {
    char p[512];
    nas_store *db = NULL;
    nas_status st = nas_store_open(&db, test_tpath(p, name), NAS_STORE_CREATE);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    return db;
}

static nas_space load_space(const char *name) {
    nas_space sp;
    nas_status st = nas_space_load(&sp, name);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    return sp;
}

/* A 3-node NB201-kind space with 3 ops: 27 genotypes, 22 valid. */
static nas_space tiny_space(void) {
    char p[512];
    FILE *f = fopen(test_tpath(p, "tiny.json"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"name\": \"tiny\", \"kind\": \"cell_nb201\", "
               "\"ops\": [\"none\", \"skip_connect\", \"nor_conv_3x3\"], \"nodes\": 3, "
               "\"skeleton\": {\"stem\": \"conv3x3_bn\", \"C\": 4, \"N\": 1, "
               "\"reduction\": \"resnet_basic\", \"head\": \"bn_relu_gap_linear\"}}\n");
    fclose(f);
    return load_space(p);
}

/* Canonical keys of the valid members of a space (distinct), counted by enumeration. */
typedef struct keyset {
    const nas_space *sp;
    char (*keys)[NAS_CANON_KEY_MAX];
    int n, cap;
} keyset;

static bool keyset_has(const keyset *k, const char *key) {
    for (int i = 0; i < k->n; i++) {
        if (strcmp(k->keys[i], key) == 0) {
            return true;
        }
    }
    return false;
}

static nas_status keyset_visit(const nas_arch *a, void *user) {
    keyset *k = user;
    if (!nas_arch_is_valid(k->sp, a)) {
        return NAS_OK;
    }
    char key[NAS_CANON_KEY_MAX];
    NAS_CHECK(nas_arch_canon_key(k->sp, a, nas_space_default_canon(k->sp), key, sizeof key));
    if (!keyset_has(k, key)) {
        ck_assert_int_lt(k->n, k->cap);
        snprintf(k->keys[k->n++], NAS_CANON_KEY_MAX, "%s", key);
    }
    return NAS_OK;
}

/* The canonical keys of a run by candidate number (checking 0..n-1 are there once each). */
static int64_t run_keys(nas_store *db, int64_t run, char (**keys)[NAS_CANON_KEY_MAX]) {
    nas_store_info info;
    nas_store_get_info(db, &info);
    nas_store *ro = NULL;
    nas_status st = nas_store_open(&ro, info.path, NAS_STORE_READONLY);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT s.seq, a.canonical_hash FROM scores s JOIN architectures a ON a.id = "
             "s.arch_id WHERE s.run_id = %lld ORDER BY s.seq",
             (long long)run);
    nas_store_table t = {0};
    st = nas_store_query_sql(ro, sql, &t);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    *keys = calloc((size_t)t.n_rows + 1, sizeof **keys);
    ck_assert_ptr_nonnull(*keys);
    for (int64_t r = 0; r < t.n_rows; r++) {
        ck_assert_int_eq(nas_store_table_at(&t, r, 0)->i, r);
        snprintf((*keys)[r], NAS_CANON_KEY_MAX, "%s", nas_store_table_at(&t, r, 1)->s);
    }
    int64_t n = t.n_rows;
    nas_store_table_free(&t);
    nas_store_close(ro);
    return n;
}

static void assert_unique(char (*keys)[NAS_CANON_KEY_MAX], int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = i + 1; j < n; j++) {
            ck_assert_msg(strcmp(keys[i], keys[j]) != 0, "key %s scored twice (%lld, %lld)",
                          keys[i], (long long)i, (long long)j);
        }
    }
}

static void assert_same_sequence(nas_store *a, int64_t ra, nas_store *b, int64_t rb) {
    char(*ka)[NAS_CANON_KEY_MAX] = NULL;
    char(*kb)[NAS_CANON_KEY_MAX] = NULL;
    int64_t na = run_keys(a, ra, &ka), nb = run_keys(b, rb, &kb);
    ck_assert_int_eq(na, nb);
    for (int64_t i = 0; i < na; i++) {
        ck_assert_msg(strcmp(ka[i], kb[i]) == 0, "candidate %lld differs: %s vs %s", (long long)i,
                      ka[i], kb[i]);
    }
    free(ka);
    free(kb);
}

static const char *run_status(nas_store *db, int64_t run) {
    static char buf[32];
    nas_run_info ri;
    nas_status st = nas_store_run_get(db, run, &ri);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    snprintf(buf, sizeof buf, "%s", nas_run_status_name(ri.status));
    nas_run_info_free(&ri);
    return buf;
}

/* A scorer that counts its calls, remembers what it scored, can sleep and can raise a flag. */
typedef struct probe {
    int calls;
    int stop_after; /* > 0: set *stop at this call */
    volatile sig_atomic_t *stop;
    long sleep_ns;
    char texts[512][NAS_ARCH_STR_MAX / 8];
} probe;

static nas_status probe_fn(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    probe *p = sc->ctx;
    int k;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
    k = ++p->calls;
    if (k <= 512) {
        snprintf(p->texts[k - 1], sizeof p->texts[0], "%s", net->arch);
    }
    if (p->stop_after > 0 && k >= p->stop_after && p->stop) {
        *p->stop = 1;
    }
    if (p->sleep_ns > 0) {
        struct timespec ts = {0, p->sleep_ns};
        nanosleep(&ts, NULL);
    }
    out->value = (double)net->n_params;
    snprintf(out->aux_json, sizeof out->aux_json, "{\"k\": %d}", k);
    return NAS_OK;
}

static nas_scorer probe_scorer(probe *p, const char *recipe) {
    nas_scorer sc;
    memset(&sc, 0, sizeof sc);
    snprintf(sc.name, sizeof sc.name, "probe");
    sc.higher_is_better = false;
    sc.fn = probe_fn;
    sc.ctx = p;
    snprintf(sc.recipe, sizeof sc.recipe, "%s", recipe);
    return sc;
}

static nas_search_config quiet_cfg(nas_strategy s, int64_t budget) {
    nas_search_config c = nas_search_config_default();
    c.strategy = s;
    c.budget = budget;
    c.quiet = true;
    c.threads = 2;
    return c;
}

static nas_search_result run_ok(nas_store *db, const nas_space *sp, const nas_scorer *sc,
                                int64_t ghn, const nas_search_config *c) {
    nas_search_result r;
    nas_status st = nas_search_run(db, sp, sc, ghn, c, &r);
    ck_assert_msg(st == NAS_OK, "%s: %s", nas_strategy_name(c->strategy), nas_errmsg());
    return r;
}

static nas_search_result resume_ok(nas_store *db, int64_t run, const nas_space *sp,
                                   const nas_scorer *sc, const nas_search_config *c) {
    nas_search_result r;
    nas_status st = nas_search_resume(db, run, sp, sc, c, &r);
    ck_assert_msg(st == NAS_OK, "resume %lld: %s", (long long)run, nas_errmsg());
    return r;
}

/* ---- strategies -------------------------------------------------------------------------------
 */

START_TEST(test_search__every_strategy_nb201) {
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("s.db");
    const char *scorers[2] = {"params", "flops"};
    for (int s = 0; s < NAS_STRATEGY_COUNT; s++) {
        nas_scorer sc;
        ck_assert_int_eq(nas_scorer_builtin(&sc, scorers[s % 2]), NAS_OK);
        nas_search_config c = quiet_cfg((nas_strategy)s, 60);
        nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
        ck_assert_int_eq(r.status, NAS_RUN_FINISHED);
        ck_assert_int_eq(r.n_results, 60);
        ck_assert_int_eq(r.n_scored + r.n_reused, 60);
        ck_assert(!r.exhausted);
        ck_assert(!isnan(r.best) && r.best > 0.0);
        ck_assert_str_eq(run_status(db, r.run_id), "finished");
        char(*keys)[NAS_CANON_KEY_MAX] = NULL;
        ck_assert_int_eq(run_keys(db, r.run_id, &keys), 60);
        assert_unique(keys, 60);
        free(keys);
        nas_scorer_free(&sc);
    }
    nas_store_close(db);
}
END_TEST

/* Evolution and local search on the tiny space find the global minimum of params. */
START_TEST(test_search__strategies_tiny_space_find_optimum) {
    nas_space sp = tiny_space();
    keyset ks = {&sp, calloc(64, NAS_CANON_KEY_MAX), 0, 64};
    ck_assert_int_eq(nas_space_enumerate(&sp, keyset_visit, &ks), NAS_OK);
    ck_assert_int_gt(ks.n, 5);
    ck_assert_int_lt(ks.n, 22);
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    double best[NAS_STRATEGY_COUNT];
    for (int s = 0; s < NAS_STRATEGY_COUNT; s++) {
        nas_store *db = open_db(s == 0 ? "t0.db" : s == 1 ? "t1.db" : s == 2 ? "t2.db" : "t3.db");
        nas_search_config c = quiet_cfg((nas_strategy)s, 0); /* until the space is done */
        c.population = 4;
        c.sample = 2;
        c.ls_init = 3;
        c.round = 3;
        nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
        ck_assert_int_eq(r.status, NAS_RUN_FINISHED);
        ck_assert(r.exhausted);
        char(*keys)[NAS_CANON_KEY_MAX] = NULL;
        int64_t n = run_keys(db, r.run_id, &keys);
        assert_unique(keys, n);
        for (int64_t i = 0; i < n; i++) {
            ck_assert(keyset_has(&ks, keys[i]));
        }
        if (s == NAS_STRATEGY_EXHAUSTIVE || s == NAS_STRATEGY_RANDOM) {
            ck_assert_int_eq(n, ks.n); /* every class once */
        }
        ck_assert_int_le(n, ks.n);
        best[s] = r.best;
        free(keys);
        nas_store_close(db);
    }
    for (int s = 1; s < NAS_STRATEGY_COUNT; s++) {
        ck_assert(best[s] == best[NAS_STRATEGY_EXHAUSTIVE]);
    }
    free(ks.keys);
}
END_TEST

START_TEST(test_search__exhaustive_nb201_counts_unique_valid) {
    nas_space sp = load_space("nb201");
    keyset ks = {&sp, calloc(7000, NAS_CANON_KEY_MAX), 0, 7000};
    ck_assert_int_eq(nas_space_enumerate(&sp, keyset_visit, &ks), NAS_OK);
    nas_store *db = open_db("e.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_EXHAUSTIVE, 0);
    c.round = 64;
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    ck_assert(r.exhausted);
    ck_assert_int_eq(r.n_results, ks.n);
    ck_assert_int_eq(r.n_scored, ks.n);
    /* the store's share of the time is measured */
    ck_assert(r.store_seconds > 0.0 && r.store_seconds < r.seconds);
    free(ks.keys);
    nas_store_close(db);
}
END_TEST

/* The igraph canonical form (macro space) and the params scorer. */
START_TEST(test_search__macro_space_random) {
    nas_space sp = load_space("macro");
    nas_store *db = open_db("m.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_EVOLUTION, 24);
    c.population = 8;
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(r.n_results, 24);
    char(*keys)[NAS_CANON_KEY_MAX] = NULL;
    ck_assert_int_eq(run_keys(db, r.run_id, &keys), 24);
    assert_unique(keys, 24);
    ck_assert_uint_eq(strlen(keys[0]), 32); /* igraph md5 keys */
    free(keys);
    nas_store_close(db);
}
END_TEST

/* ---- dedup and reuse ------------------------------------------------------------------------- */

START_TEST(test_search__dedup_scores_each_class_once) {
    nas_space sp = tiny_space();
    nas_store *db = open_db("d.db");
    probe *p = calloc(1, sizeof *p);
    nas_scorer sc = probe_scorer(p, "r");
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 0);
    c.round = 4;
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    ck_assert(r.exhausted);
    ck_assert_int_eq(p->calls, r.n_results);
    ck_assert_int_eq(r.n_scored, r.n_results);
    ck_assert_int_gt(r.n_duplicates, 0); /* a small space: random draws repeat */
    /* the texts the scorer saw are in distinct classes */
    for (int i = 0; i < p->calls; i++) {
        nas_arch a, b;
        ck_assert_int_eq(nas_arch_decode(&sp, p->texts[i], &a), NAS_OK);
        char ka[NAS_CANON_KEY_MAX], kb[NAS_CANON_KEY_MAX];
        nas_arch_canon_key(&sp, &a, nas_space_default_canon(&sp), ka, sizeof ka);
        for (int j = i + 1; j < p->calls; j++) {
            ck_assert_int_eq(nas_arch_decode(&sp, p->texts[j], &b), NAS_OK);
            nas_arch_canon_key(&sp, &b, nas_space_default_canon(&sp), kb, sizeof kb);
            ck_assert_str_ne(ka, kb);
        }
    }
    free(p);
    nas_store_close(db);
}
END_TEST

START_TEST(test_search__reuse_same_scorer_recipe_and_ghn) {
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("r.db");
    probe *p = calloc(1, sizeof *p);
    nas_scorer sc = probe_scorer(p, "recipe A");
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 30);
    nas_search_result a = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(a.n_scored, 30);
    ck_assert_int_eq(p->calls, 30);
    /* same seed, scorer, recipe, no GHN: everything is reused */
    nas_search_result b = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(b.n_reused, 30);
    ck_assert_int_eq(b.n_scored, 0);
    ck_assert_int_eq(p->calls, 30);
    ck_assert(b.best == a.best);
    char(*keys)[NAS_CANON_KEY_MAX] = NULL;
    ck_assert_int_eq(run_keys(db, b.run_id, &keys), 30); /* stored in the new run too */
    free(keys);
    /* another recipe: nothing reused */
    nas_scorer sc2 = probe_scorer(p, "recipe B");
    nas_search_result d = run_ok(db, &sp, &sc2, 0, &c);
    ck_assert_int_eq(d.n_reused, 0);
    ck_assert_int_eq(p->calls, 60);
    /* another net configuration is another recipe too */
    nas_search_config c2 = c;
    c2.net.C = 4;
    nas_search_result e = run_ok(db, &sp, &sc, 0, &c2);
    ck_assert_int_eq(e.n_reused, 0);
    ck_assert_int_eq(p->calls, 90);
    /* another GHN: nothing reused; the same GHN again: all reused */
    const char blob[4] = {1, 2, 3, 4};
    nas_ghn_record gr = {.space = "nb201",
                         .dataset = "fashion-mnist",
                         .train_loss = (double)NAN,
                         .val_acc = (double)NAN,
                         .seconds = (double)NAN,
                         .checkpoint = blob,
                         .checkpoint_bytes = sizeof blob};
    int64_t ghn = 0;
    ck_assert_int_eq(nas_store_ghn_add(db, &gr, &ghn), NAS_OK);
    nas_search_result f = run_ok(db, &sp, &sc, ghn, &c);
    ck_assert_int_eq(f.n_reused, 0);
    nas_search_result g = run_ok(db, &sp, &sc, ghn, &c);
    ck_assert_int_eq(g.n_reused, 30);
    ck_assert_int_eq(p->calls, 120);
    free(p);
    nas_store_close(db);
}
END_TEST

/* Scores of run `run` by `scorer` (count of rows, count of non-NULL values). */
static void scorer_counts(nas_store *db, int64_t run, const char *scorer, int64_t *rows,
                          int64_t *values) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*), count(value) FROM scores WHERE run_id = %lld AND scorer = '%s'",
             (long long)run, scorer);
    nas_store_info info;
    nas_store_get_info(db, &info);
    nas_store *ro = NULL;
    ck_assert_msg(nas_store_open(&ro, info.path, NAS_STORE_READONLY) == NAS_OK, "%s", nas_errmsg());
    nas_store_table t = {0};
    ck_assert_msg(nas_store_query_sql(ro, sql, &t) == NAS_OK, "%s", nas_errmsg());
    *rows = nas_store_table_at(&t, 0, 0)->i;
    *values = nas_store_table_at(&t, 0, 1)->i;
    nas_store_table_free(&t);
    nas_store_close(ro);
}

START_TEST(test_search__extra_scorers_recorded_reused_and_checked) {
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("x.db");
    probe *p = calloc(1, sizeof *p);
    probe *q = calloc(1, sizeof *q);
    nas_scorer sc = probe_scorer(p, "A");
    nas_scorer xa = probe_scorer(q, "X");
    snprintf(xa.name, sizeof xa.name, "probe_x");
    nas_scorer xf;
    ck_assert_int_eq(nas_scorer_builtin(&xf, "flops"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 24);
    c.extra[0] = &xa;
    c.extra[1] = &xf;
    c.n_extra = 2;
    nas_search_result a = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(a.n_scored, 24);
    ck_assert_int_eq(p->calls, 24);
    ck_assert_int_eq(q->calls, 24); /* every candidate, in the same pass */
    int64_t rows = 0, values = 0;
    const char *names[] = {"probe", "probe_x", "flops"};
    for (int k = 0; k < 3; k++) {
        scorer_counts(db, a.run_id, names[k], &rows, &values);
        ck_assert_int_eq(rows, 24);
        ck_assert_int_eq(values, 24);
    }
    /* the same scorers again: all reused, nothing recomputed */
    nas_search_result b = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(b.n_reused, 24);
    ck_assert_int_eq(p->calls, 24);
    ck_assert_int_eq(q->calls, 24);
    scorer_counts(db, b.run_id, "probe_x", &rows, &values);
    ck_assert_int_eq(values, 24);
    /* an extra scorer with another recipe: the primary is stored, but the candidate is scored
       again so that the new extra is recorded too */
    nas_scorer xb = probe_scorer(q, "Y");
    snprintf(xb.name, sizeof xb.name, "probe_x");
    c.extra[0] = &xb;
    nas_search_result d = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(d.n_reused, 0);
    ck_assert_int_eq(q->calls, 48);
    /* resuming a run with other extra scorers is refused, naming them */
    nas_search_result r;
    c.n_extra = 1;
    c.budget = 30;
    ck_assert_int_eq(nas_search_resume(db, a.run_id, &sp, &sc, &c, &r), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "[probe_x,flops]"));
    /* the same ones: it continues */
    c.extra[0] = &xa;
    c.n_extra = 2;
    ck_assert_msg(nas_search_resume(db, a.run_id, &sp, &sc, &c, &r) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(r.n_results, 30);
    scorer_counts(db, a.run_id, "flops", &rows, &values);
    ck_assert_int_eq(rows, 30);
    /* a name given twice, or the primary's name again, is refused */
    c.extra[1] = &xa;
    ck_assert_int_eq(nas_search_run(db, &sp, &sc, 0, &c, &r), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "given twice"));
    nas_scorer dup = probe_scorer(q, "Z");
    c.extra[0] = &dup;
    c.n_extra = 1;
    ck_assert_int_eq(nas_search_run(db, &sp, &sc, 0, &c, &r), NAS_EINVAL);
    c.n_extra = NAS_SEARCH_EXTRA_MAX + 1;
    ck_assert_int_eq(nas_search_run(db, &sp, &sc, 0, &c, &r), NAS_EINVAL);
    free(p);
    free(q);
    nas_store_close(db);
}
END_TEST

/* ---- budgets --------------------------------------------------------------------------------- */

START_TEST(test_search__budget_by_count_and_time) {
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("b.db");
    probe *p = calloc(1, sizeof *p);
    nas_scorer sc = probe_scorer(p, "r");
    nas_search_config c = quiet_cfg(NAS_STRATEGY_EVOLUTION, 13); /* not a multiple of round */
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(r.n_results, 13);
    ck_assert_int_eq(p->calls, 13);
    ck_assert(!r.time_up);
    /* by time: 20 ms per candidate, 0.4 s, no count limit */
    p->sleep_ns = 20000000L;
    nas_search_config t = quiet_cfg(NAS_STRATEGY_RANDOM, 0);
    t.seed = 5;
    t.time_limit = 0.4;
    nas_search_result q = run_ok(db, &sp, &sc, 0, &t);
    ck_assert(q.time_up);
    ck_assert_int_eq(q.status, NAS_RUN_FINISHED);
    ck_assert_int_gt(q.n_results, 2);
    ck_assert_int_lt(q.n_results, 80);
    ck_assert(q.seconds < 1.5);
    ck_assert_str_eq(run_status(db, q.run_id), "finished");
    free(p);
    nas_store_close(db);
}
END_TEST

START_TEST(test_search__bad_options) {
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("o.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_result r;
    nas_search_config c = quiet_cfg(NAS_STRATEGY_EVOLUTION, 10);
    c.sample = 30;
    ck_assert_int_eq(nas_search_run(db, &sp, &sc, 0, &c, &r), NAS_EINVAL);
    ck_assert(strstr(nas_errmsg(), "sample") != NULL);
    c = quiet_cfg(NAS_STRATEGY_RANDOM, -1);
    ck_assert_int_eq(nas_search_run(db, &sp, &sc, 0, &c, &r), NAS_EINVAL);
    c = quiet_cfg(NAS_STRATEGY_RANDOM, 10);
    c.round = 0;
    ck_assert_int_eq(nas_search_run(db, &sp, &sc, 0, &c, &r), NAS_EINVAL);
    nas_strategy s;
    ck_assert_int_eq(nas_strategy_from_name("annealing", &s), NAS_EINVAL);
    ck_assert(strstr(nas_errmsg(), "annealing") != NULL);
    ck_assert_int_eq(nas_scorer_builtin(&sc, "synflow"), NAS_ENOTFOUND);
    ck_assert(strstr(nas_errmsg(), "params, flops, ghn") != NULL);
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    /* an input too small for the net: refused before a run is created */
    c = quiet_cfg(NAS_STRATEGY_RANDOM, 10);
    c.net.in_h = c.net.in_w = 2;
    ck_assert_int_ne(nas_search_run(db, &sp, &sc, 0, &c, &r), NAS_OK);
    /* resume: a missing run, another scorer, another space */
    c = quiet_cfg(NAS_STRATEGY_RANDOM, 10);
    ck_assert_int_eq(nas_search_resume(db, 99, &sp, &sc, &c, &r), NAS_ENOTFOUND);
    ck_assert(strstr(nas_errmsg(), "run 99 does not exist") != NULL);
    nas_search_result ok = run_ok(db, &sp, &sc, 0, &c);
    nas_scorer fl;
    ck_assert_int_eq(nas_scorer_builtin(&fl, "flops"), NAS_OK);
    ck_assert_int_eq(nas_search_resume(db, ok.run_id, &sp, &fl, &c, &r), NAS_EINVAL);
    ck_assert(strstr(nas_errmsg(), "scored by params") != NULL);
    nas_space tiny = tiny_space();
    ck_assert_int_eq(nas_search_resume(db, ok.run_id, &tiny, &sc, &c, &r), NAS_EINVAL);
    ck_assert(strstr(nas_errmsg(), "space nb201") != NULL);
    nas_store_close(db);
}
END_TEST

/* ---- stop flag, resume, SIGKILL -------------------------------------------------------------- */

/* Interrupt with the flag after `after` scorer calls, resume, compare with an uninterrupted run. */
static void interrupt_and_resume(nas_strategy s, int after, int64_t budget) {
    nas_space sp = load_space("nb201");
    char name[32];
    snprintf(name, sizeof name, "i%d-%d.db", (int)s, after);
    nas_store *db = open_db(name);
    snprintf(name, sizeof name, "ref%d-%d.db", (int)s, after);
    nas_store *ref = open_db(name);
    probe *p = calloc(1, sizeof *p);
    static volatile sig_atomic_t stop;
    stop = 0;
    p->stop = &stop;
    p->stop_after = after;
    nas_scorer sc = probe_scorer(p, "r");
    nas_search_config c = quiet_cfg(s, budget);
    c.stop = &stop;
    c.seed = 11;
    c.population = 10;
    c.sample = 3;
    c.ls_init = 5;
    c.round = 6;
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(r.status, NAS_RUN_INTERRUPTED);
    ck_assert_int_lt(r.n_results, budget);
    ck_assert_str_eq(run_status(db, r.run_id), "interrupted");
    stop = 0;
    p->stop_after = 0;
    nas_search_result q = resume_ok(db, r.run_id, &sp, &sc, &c);
    ck_assert_int_eq(q.status, NAS_RUN_FINISHED);
    ck_assert_int_eq(q.n_results, budget);
    ck_assert_str_eq(run_status(db, r.run_id), "finished");
    /* nothing scored twice: interrupted results were reused, not recomputed */
    ck_assert_int_le(p->calls, budget + c.round);
    /* the same sequence as an uninterrupted run (another file, so nothing is reused) */
    nas_search_config u = c;
    u.stop = NULL;
    nas_search_result v = run_ok(ref, &sp, &sc, 0, &u);
    ck_assert_int_eq(v.n_results, budget);
    assert_same_sequence(db, r.run_id, ref, v.run_id);
    ck_assert(q.best == v.best);
    free(p);
    nas_store_close(db);
    nas_store_close(ref);
}

START_TEST(test_search__stop_flag_resume_same_sequence) {
    interrupt_and_resume(NAS_STRATEGY_EVOLUTION, 17, 60);
    interrupt_and_resume(NAS_STRATEGY_LOCAL, 23, 70);
    interrupt_and_resume(NAS_STRATEGY_EXHAUSTIVE, 9, 30);
    interrupt_and_resume(NAS_STRATEGY_RANDOM, 1, 20);
}
END_TEST

START_TEST(test_search__threads_do_not_change_the_sequence) {
    nas_space sp = load_space("nb201");
    nas_store *a = open_db("t1.db"), *b = open_db("t2.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_LOCAL, 50);
    c.threads = 1;
    nas_search_result ra = run_ok(a, &sp, &sc, 0, &c);
    c.threads = 2;
    nas_search_result rb = run_ok(b, &sp, &sc, 0, &c);
    assert_same_sequence(a, ra.run_id, b, rb.run_id);
    nas_store_close(a);
    nas_store_close(b);
}
END_TEST

START_TEST(test_search__resume_refuses_live_run) {
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("l.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 10);
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    /* pretend its process is still working on it */
    ck_assert_int_eq(nas_store_run_set_status(db, r.run_id, NAS_RUN_RUNNING), NAS_OK);
    nas_search_result q;
    c.budget = 20;
    ck_assert_int_eq(nas_search_resume(db, r.run_id, &sp, &sc, &c, &q), NAS_EINVAL);
    ck_assert(strstr(nas_errmsg(), "marked running") != NULL);
    c.force = true;
    q = resume_ok(db, r.run_id, &sp, &sc, &c);
    ck_assert_int_eq(q.n_results, 20);
    ck_assert_int_eq(q.n_scored, 10);
    nas_store_close(db);
}
END_TEST

/* ---- the run record -------------------------------------------------------------------------- */

/* A record with every field set, including texts that need escaping. */
static nas_search_record full_record(void) {
    nas_search_record r;
    memset(&r, 0, sizeof r);
    r.strategy = NAS_STRATEGY_LOCAL;
    r.seed = 123456789012ull;
    r.budget = 77;
    r.time_limit = 1.5;
    r.round = 4;
    r.population = 12;
    r.sample = 3;
    r.ls_init = 6;
    r.net = (nas_net_config){.C = 8, .N = 1, .in_c = 3, .in_h = 32, .in_w = 32, .classes = 10};
    snprintf(r.canon, sizeof r.canon, "published");
    snprintf(r.scorer, sizeof r.scorer, "ghn_acc");
    r.higher_is_better = true;
    r.has_recipe = true;
    snprintf(r.recipe, sizeof r.recipe, "ghn \"q\"\\ n 500; net C8 N1 in 3x32x32 classes 10");
    r.n_extra = 2;
    snprintf(r.extra[0].name, sizeof r.extra[0].name, "synflow");
    snprintf(r.extra[0].recipe, sizeof r.extra[0].recipe, "batch 64\tseed 1");
    snprintf(r.extra[1].name, sizeof r.extra[1].name, "params");
    snprintf(r.extra[1].recipe, sizeof r.extra[1].recipe, "net C8");
    snprintf(r.space_path, sizeof r.space_path, "/tmp/sp\"ace/nb201.json");
    r.cli_json = "{\"space\": \"a\\\"b\", \"val_n\": 500, \"scorers\": \"synflow,params\"}";
    return r;
}

START_TEST(test_search__record_round_trip) {
    nas_search_record a = full_record(), b;
    char *text = NULL, *again = NULL;
    ck_assert_msg(nas_search_record_format(&a, &text) == NAS_OK, "%s", nas_errmsg());
    /* the on-disk spelling: ", " and ": " separators, integral numbers as integers */
    ck_assert_ptr_nonnull(strstr(text, "{\"strategy\": \"local\", \"seed\": 123456789012, "
                                       "\"budget\": 77, \"time_limit\": 1.5, \"round\": 4, "));
    ck_assert_ptr_nonnull(strstr(text, "\"net\": {\"C\": 8, \"N\": 1, \"in_c\": 3, \"in_h\": 32, "
                                       "\"in_w\": 32, \"classes\": 10}, \"canon\": \"published\""));
    ck_assert_ptr_nonnull(strstr(text, "\"cli\": {\"space\": \"a\\\"b\", \"val_n\": 500, "));
    ck_assert_msg(nas_search_record_parse(text, &b) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(b.strategy, a.strategy);
    ck_assert(b.seed == a.seed);
    ck_assert_int_eq(b.budget, a.budget);
    ck_assert_double_eq(b.time_limit, a.time_limit);
    ck_assert_int_eq(b.round, a.round);
    ck_assert_int_eq(b.population, a.population);
    ck_assert_int_eq(b.sample, a.sample);
    ck_assert_int_eq(b.ls_init, a.ls_init);
    ck_assert_mem_eq(&b.net, &a.net, sizeof a.net);
    ck_assert_str_eq(b.canon, a.canon);
    ck_assert_str_eq(b.scorer, a.scorer);
    ck_assert(b.higher_is_better && b.has_recipe);
    ck_assert_str_eq(b.recipe, a.recipe);
    ck_assert_int_eq(b.n_extra, 2);
    for (int x = 0; x < 2; x++) {
        ck_assert_str_eq(b.extra[x].name, a.extra[x].name);
        ck_assert_str_eq(b.extra[x].recipe, a.extra[x].recipe);
    }
    ck_assert_str_eq(b.space_path, a.space_path);
    ck_assert_str_eq(b.cli_json, a.cli_json);
    /* and back to the same text */
    ck_assert_int_eq(nas_search_record_format(&b, &again), NAS_OK);
    ck_assert_str_eq(again, text);
    nas_free(again);
    nas_free(text);
    nas_search_record_free(&b);
    ck_assert_ptr_null(b.cli_json);
    nas_search_record_free(NULL);

    /* a record as the first versions wrote it (no canon, extra scorers, space path or cli) */
    const char *old = "{\"strategy\": \"evolution\", \"seed\": 1, \"budget\": 500, \"time_limit\": "
                      "0, \"round\": 8, \"population\": 20, \"sample\": 5, \"ls_init\": 10, "
                      "\"net\": {\"C\": 16, \"N\": 5, \"in_c\": 1, \"in_h\": 28, \"in_w\": 28, "
                      "\"classes\": 10}, \"scorer\": \"params\", \"higher_is_better\": false, "
                      "\"recipe\": \"net C16 N5 in 1x28x28 classes 10\"}";
    ck_assert_msg(nas_search_record_parse(old, &b) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(b.strategy, NAS_STRATEGY_EVOLUTION);
    ck_assert_int_eq(b.net.N, 5);
    ck_assert_int_eq(b.n_extra, 0);
    ck_assert_str_eq(b.canon, "");
    ck_assert_str_eq(b.space_path, "");
    ck_assert_str_eq(b.cli_json, "{}");
    ck_assert(b.has_recipe && !b.higher_is_better);
    nas_search_record_free(&b);

    /* a stored run's record matches its configuration */
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("rec.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_EXHAUSTIVE, 10);
    c.seed = 9;
    c.time_limit = 600.0;
    c.extra_json = "{\"space\": \"nb201\", \"x\": [1, 2]}";
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    nas_run_info ri;
    ck_assert_msg(nas_search_record_get(db, r.run_id, &ri, &b) == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_eq(ri.kind, "search");
    ck_assert_int_eq(b.strategy, NAS_STRATEGY_EXHAUSTIVE);
    ck_assert(b.seed == 9);
    ck_assert_int_eq(b.budget, 10);
    ck_assert_double_eq(b.time_limit, 600.0);
    ck_assert_int_eq(b.round, c.round);
    ck_assert_str_eq(b.scorer, "params");
    ck_assert_str_eq(b.canon, "published");
    ck_assert_str_eq(b.cli_json, c.extra_json);
    ck_assert_str_eq(b.space_path, sp.path);
    ck_assert_ptr_nonnull(strstr(ri.config_json, "\"time_limit\": 600, "));
    nas_run_info_free(&ri);
    nas_search_record_free(&b);
    nas_scorer_free(&sc);
    nas_store_close(db);
}
END_TEST

START_TEST(test_search__corrupt_record_clear_error) {
    nas_search_record b;
    static const struct {
        const char *text;
        nas_status st;
        const char *says;
    } bad[] = {
        {"", NAS_EFORMAT, "not a JSON object"},
        {"[1, 2]", NAS_EFORMAT, "not a JSON object"},
        {"{\"strategy\": \"evolution\", \"round\": 8", NAS_EFORMAT, "not a JSON object"},
        {"{\"round\": 8}", NAS_EFORMAT, "names no strategy"},
        {"{\"strategy\": \"annealing\"}", NAS_EINVAL, "annealing"},
        {"{\"strategy\": \"random\", \"round\": \"8\"}", NAS_EFORMAT, "'round'"},
        {"{\"strategy\": \"random\", \"round\": 8, \"population\": 1, \"sample\": 1, "
         "\"ls_init\": 1}",
         NAS_EFORMAT, "no net object"},
        {"{\"strategy\": \"random\", \"round\": 8, \"population\": 1, \"sample\": 1, "
         "\"ls_init\": 1, \"net\": {\"C\": 1, \"N\": 1, \"in_c\": 1, \"in_h\": 2, \"in_w\": 2}}",
         NAS_EFORMAT, "'classes'"},
        {"{\"strategy\": \"random\", \"round\": 8, \"population\": 1, \"sample\": 1, "
         "\"ls_init\": 1, \"net\": {\"C\": 1, \"N\": 1, \"in_c\": 1, \"in_h\": 2, \"in_w\": 2, "
         "\"classes\": 2}, \"extra_scorers\": [{\"name\": \"x\"}]}",
         NAS_EFORMAT, "extra scorer 1"},
        {"{\"strategy\": \"random\", \"round\": 8, \"population\": 1, \"sample\": 1, "
         "\"ls_init\": 1, \"net\": {\"C\": 1, \"N\": 1, \"in_c\": 1, \"in_h\": 2, \"in_w\": 2, "
         "\"classes\": 2}, \"recipe\": 5}",
         NAS_EFORMAT, "'recipe'"},
        {"{\"strategy\": \"random\", \"round\": 8, \"population\": 1, \"sample\": 1, "
         "\"ls_init\": 1, \"net\": {\"C\": 1, \"N\": 1, \"in_c\": 1, \"in_h\": 2, \"in_w\": 2, "
         "\"classes\": 2}, \"cli\": \"--space nb201\"}",
         NAS_EFORMAT, "'cli'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        nas_status st = nas_search_record_parse(bad[k].text, &b);
        ck_assert_msg(st == bad[k].st, "case %zu: %s", k, nas_errmsg());
        ck_assert_msg(strstr(nas_errmsg(), bad[k].says) != NULL, "case %zu: %s", k, nas_errmsg());
        nas_search_record_free(&b);
    }
    /* the caller's cli object must be an object */
    nas_search_record a = full_record();
    char *text = NULL;
    a.cli_json = "[1]";
    ck_assert_int_eq(nas_search_record_format(&a, &text), NAS_EINVAL);
    ck_assert_ptr_null(text);
    a.cli_json = "{\"a\": ";
    ck_assert_int_eq(nas_search_record_format(&a, &text), NAS_EINVAL);
    ck_assert(strstr(nas_errmsg(), "extra_json is not a JSON object") != NULL);

    /* stored runs: a corrupt record is named by its run on resume and get */
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("corrupt.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    int64_t run = 0, ev = 0;
    nas_run_spec rs = {.kind = "search",
                       .space = "nb201",
                       .dataset = "none",
                       .scorer = "params",
                       .config_json = "{\"strategy\": \"evolution\", \"round\": 8}",
                       .seed = 1};
    ck_assert_int_eq(nas_store_run_create(db, &rs, &run), NAS_OK);
    ck_assert_int_eq(nas_store_run_set_status(db, run, NAS_RUN_INTERRUPTED), NAS_OK);
    rs.kind = "evaluate";
    ck_assert_int_eq(nas_store_run_create(db, &rs, &ev), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_EVOLUTION, 20);
    nas_search_result r;
    char want[64];
    snprintf(want, sizeof want, "run %lld", (long long)run);
    ck_assert_int_eq(nas_search_resume(db, run, &sp, &sc, &c, &r), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), want) && strstr(nas_errmsg(), "'population'"), "%s",
                  nas_errmsg());
    ck_assert_int_eq(r.status, NAS_RUN_INTERRUPTED); /* untouched */
    ck_assert_int_eq(nas_search_record_get(db, run, NULL, &b), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), want) != NULL, "%s", nas_errmsg());
    nas_search_record_free(&b);
    ck_assert_int_eq(nas_search_record_get(db, ev, NULL, &b), NAS_EINVAL);
    ck_assert(strstr(nas_errmsg(), "not a search run") != NULL);
    ck_assert_int_eq(nas_search_record_get(db, 999, NULL, &b), NAS_ENOTFOUND);
    nas_scorer_free(&sc);
    nas_store_close(db);
}
END_TEST

/* Fails every other call with a message that needs escaping and is too long for aux_json. */
static nas_status failing_fn(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    probe *p = sc->ctx;
    int k = ++p->calls; /* single-threaded in this test */
    if (k % 2 == 0) {
        char tail[601];
        memset(tail, 'x', 600);
        tail[600] = '\0';
        tail[297] = '\xc3'; /* a two-byte character where the cut may fall */
        tail[298] = '\xa9';
        return nas_error(NAS_EINVAL, "bad \"quote\" \\ and\nnewline \xff %s", tail);
    }
    out->value = (double)net->n_params;
    return NAS_OK;
}

START_TEST(test_search__failed_score_aux_is_valid_json) {
    nas_space sp = load_space("nb201");
    nas_store *db = open_db("fail.db");
    probe *p = calloc(1, sizeof *p);
    nas_scorer sc = probe_scorer(p, "f");
    sc.fn = failing_fn;
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 16);
    c.threads = 1;
    nas_search_result r = run_ok(db, &sp, &sc, 0, &c);
    ck_assert_int_eq(r.n_failed, 8);
    nas_store_info info;
    nas_store_get_info(db, &info);
    nas_store *ro = NULL;
    ck_assert_int_eq(nas_store_open(&ro, info.path, NAS_STORE_READONLY), NAS_OK);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_sql(ro, "SELECT aux_json FROM scores WHERE value IS NULL", &t),
                     NAS_OK);
    ck_assert_int_eq(t.n_rows, 8);
    for (int64_t i = 0; i < t.n_rows; i++) {
        const char *aux = nas_store_table_at(&t, i, 0)->s;
        ck_assert_uint_lt(strlen(aux), NAS_SCORE_AUX_MAX);
        ck_assert_uint_gt(strlen(aux), 250); /* shortened, not dropped */
        /* the message escaped, the byte that is no UTF-8 replaced */
        ck_assert_ptr_nonnull(
            strstr(aux, "{\"error\": \"bad \\\"quote\\\" \\\\ and\\nnewline ? xxx"));
        ck_assert_str_eq(aux + strlen(aux) - 2, "\"}");
        json_error_t je;
        json_t *j = json_loads(aux, 0, &je);
        ck_assert_msg(json_is_string(json_object_get(j, "error")), "%s: %s", aux, je.text);
        json_decref(j);
    }
    nas_store_table_free(&t);
    nas_store_close(ro);
    nas_store_close(db);
    free(p);
}
END_TEST

/* The child: a search with slow scores and small batches, killed by the parent. */
static void child_search(const char *path, nas_strategy s, int64_t budget) {
    nas_space sp;
    nas_store *db = NULL;
    if (nas_space_load(&sp, "nb201") != NAS_OK || nas_store_open(&db, path, 0) != NAS_OK) {
        _exit(3);
    }
    probe *p = calloc(1, sizeof *p);
    p->sleep_ns = 3000000L;
    nas_scorer sc = probe_scorer(p, "r");
    nas_search_config c = quiet_cfg(s, budget);
    c.threads = 1; /* OpenMP after fork() only in a fresh child */
    c.batch_results = 5;
    c.seed = 3;
    nas_search_result r;
    nas_status st = nas_search_run(db, &sp, &sc, 0, &c, &r);
    nas_store_close(db);
    _exit(st == NAS_OK ? 0 : 4);
}

START_TEST(test_search__sigkill_and_resume) {
    const int64_t budget = 120;
    nas_space sp = load_space("nb201");
    srand((unsigned)time(NULL));
    for (int trial = 0; trial < 3; trial++) {
        nas_strategy s = trial == 1 ? NAS_STRATEGY_LOCAL : NAS_STRATEGY_EVOLUTION;
        char path[512], name[32];
        snprintf(name, sizeof name, "k%d.db", trial);
        test_tpath(path, name);
        nas_store *db = open_db(name); /* created here so the child only writes */
        nas_store_close(db);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            child_search(path, s, budget);
        }
        /* wait until the run exists, then kill it at a random moment */
        for (int i = 0; i < 400; i++) {
            struct timespec ts = {0, 5000000L};
            nanosleep(&ts, NULL);
            nas_store *ro = NULL;
            bool there = false;
            if (nas_store_open(&ro, path, NAS_STORE_READONLY) == NAS_OK) {
                nas_store_table t = {0};
                there = nas_store_query_sql(ro, "SELECT count(*) FROM runs", &t) == NAS_OK &&
                        t.n_rows == 1 && nas_store_table_at(&t, 0, 0)->i == 1;
                nas_store_table_free(&t);
                nas_store_close(ro);
            }
            if (there) {
                break;
            }
        }
        struct timespec ts = {0, (long)(rand() % 250) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        db = open_db(name);
        ck_assert_int_eq(nas_store_check(db), NAS_OK);
        ck_assert_str_eq(run_status(db, 1), "running"); /* a zombie until resumed */
        probe *p = calloc(1, sizeof *p);
        nas_scorer sc = probe_scorer(p, "r");
        nas_search_config c = quiet_cfg(s, budget);
        c.seed = 3;
        c.force = true; /* the process is gone; its heartbeat is recent */
        nas_search_result q = resume_ok(db, 1, &sp, &sc, &c);
        ck_assert_int_eq(q.n_results, budget);
        ck_assert_str_eq(run_status(db, 1), "finished");
        char(*keys)[NAS_CANON_KEY_MAX] = NULL;
        ck_assert_int_eq(run_keys(db, 1, &keys), budget);
        assert_unique(keys, budget);
        free(keys);
        /* and the sequence an uninterrupted run produces */
        snprintf(name, sizeof name, "kref%d.db", trial);
        nas_store *ref = open_db(name);
        nas_search_result v = run_ok(ref, &sp, &sc, 0, &c);
        assert_same_sequence(db, 1, ref, v.run_id);
        ck_assert_int_eq(nas_store_check(db), NAS_OK);
        free(p);
        nas_store_close(ref);
        nas_store_close(db);
    }
}
END_TEST

/* ---- the GHN scorer -------------------------------------------------------------------------- */

START_TEST(test_search__ghn_scorer) {
    nas_space sp = tiny_space();
    nas_ghn g;
    nas_ghn_config gc = nas_ghn_config_default();
    gc.hid = 16;
    gc.dec_hid = 32;
    ck_assert_int_eq(nas_ghn_init(&g, &gc, 1), NAS_OK);
    /* 96 random images of 10 classes */
    nas_dataset ds;
    ck_assert_int_eq(nas_data_alloc(&ds, 96, 1, 28, 28, 10, "noise"), NAS_OK);
    nas_rng r;
    nas_rng_seed(&r, 2);
    for (size_t i = 0; i < (size_t)96 * 28 * 28; i++) {
        ds.images[i] = (uint8_t)nas_rng_below(&r, 256);
    }
    for (int i = 0; i < 96; i++) {
        ds.labels[i] = i % 10;
    }
    nas_ghn_scorer_config gs = {.ghn = &g, .ds = &ds, .n = 96, .batch = 32, .data_id = "noise"};
    nas_data_norm_identity(&gs.norm, 1);
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_ghn(&sc, &gs), NAS_OK);
    ck_assert_str_eq(sc.name, "ghn_acc");
    ck_assert(sc.higher_is_better);
    ck_assert(strstr(sc.recipe, "noise") && strstr(sc.recipe, "96 images"));
    nas_store *db = open_db("g.db");
    const char blob[1] = {7};
    nas_ghn_record gr = {.space = "tiny",
                         .dataset = "noise",
                         .train_loss = (double)NAN,
                         .val_acc = (double)NAN,
                         .seconds = (double)NAN,
                         .checkpoint = blob,
                         .checkpoint_bytes = 1};
    int64_t ghn = 0;
    ck_assert_int_eq(nas_store_ghn_add(db, &gr, &ghn), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_EVOLUTION, 8);
    c.population = 4;
    c.sample = 2;
    c.round = 4;
    nas_search_result a = run_ok(db, &sp, &sc, ghn, &c);
    ck_assert_int_eq(a.n_scored, 8);
    ck_assert_int_eq(a.n_failed, 0);
    ck_assert(a.best >= 0.0 && a.best <= 1.0);
    nas_search_result b = run_ok(db, &sp, &sc, ghn, &c);
    ck_assert_int_eq(b.n_reused, 8);
    ck_assert(b.best == a.best);
    /* the loss is kept with every computed score */
    nas_store_info info;
    nas_store_get_info(db, &info);
    nas_store *ro = NULL;
    ck_assert_int_eq(nas_store_open(&ro, info.path, NAS_STORE_READONLY), NAS_OK);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_sql(ro,
                                         "SELECT count(*) FROM scores WHERE run_id = 1 AND "
                                         "aux_json LIKE '{\"loss\": %'",
                                         &t),
                     NAS_OK);
    ck_assert_int_eq(nas_store_table_at(&t, 0, 0)->i, 8);
    nas_store_table_free(&t);
    nas_store_close(ro);
    nas_scorer_free(&sc);
    ck_assert_ptr_null(sc.ctx);
    nas_store_close(db);
    nas_data_free(&ds);
    nas_ghn_free(&g);
}
END_TEST

/* ---- statistics ------------------------------------------------------------------------------ */

#define EPS 1e-12

START_TEST(test_search__bootstrap_intervals) {
    const double x[7] = {1, 2, 3, 4, 5, NAN, 7}, y[7] = {2, 1, 4, 3, 5, 9, NAN};
    nas_eval_ci tau, rho, tau2, rho2;
    nas_rng r;
    nas_rng_seed(&r, 3);
    /* NaN pairs dropped: 5 pairs, 2 of 10 discordant -> tau 0.6; rho 1 - 6*4/(5*24) = 0.8 */
    ck_assert_int_eq(nas_eval_corr_ci(x, y, 7, 400, &r, &tau, &rho), NAS_OK);
    ck_assert(fabs(tau.value - 0.6) < 1e-12);
    ck_assert(fabs(rho.value - 0.8) < 1e-12);
    ck_assert(tau.lo >= -1.0 && tau.lo <= tau.hi && tau.hi <= 1.0);
    ck_assert(rho.lo >= -1.0 && rho.lo <= rho.hi && rho.hi <= 1.0);
    ck_assert(tau.lo < 0.6 && tau.hi == 1.0); /* resamples of 5 pairs vary; some are monotone */
    /* the same seed gives the same interval */
    nas_rng_seed(&r, 3);
    ck_assert_int_eq(nas_eval_corr_ci(x, y, 7, 400, &r, &tau2, &rho2), NAS_OK);
    ck_assert(tau2.lo == tau.lo && tau2.hi == tau.hi && rho2.lo == rho.lo);
    /* a perfect ranking stays perfect in every resample that is defined */
    const double m[6] = {1, 2, 3, 4, 5, 6}, w[6] = {-3, -2, -1, 0, 4, 8};
    ck_assert_int_eq(nas_eval_corr_ci(m, w, 6, 200, &r, &tau, &rho), NAS_OK);
    ck_assert(tau.value == 1.0 && tau.lo == 1.0 && tau.hi == 1.0 && rho.lo == 1.0);
    /* no resamples: value only */
    ck_assert_int_eq(nas_eval_corr_ci(m, w, 6, 0, NULL, &tau, &rho), NAS_OK);
    ck_assert(tau.value == 1.0 && isnan(tau.lo) && isnan(rho.hi));
    ck_assert_int_eq(nas_eval_corr_ci(m, w, -1, 0, NULL, &tau, &rho), NAS_EINVAL);
    ck_assert_int_eq(nas_eval_corr_ci(m, w, 6, 10, NULL, &tau, &rho), NAS_EINVAL);
}
END_TEST

START_TEST(test_search__precision_at_top) {
    /* 20 pairs: k = 2. y's best two are positions 19 and 18; x puts 19 first and 0 second. */
    double x[20], y[20];
    for (int i = 0; i < 20; i++) {
        x[i] = i;
        y[i] = i;
    }
    double p = 0.0;
    ck_assert_int_eq(nas_eval_precision_at(x, y, 20, 0.1, &p), NAS_OK);
    ck_assert_double_eq_tol(p, 1.0, EPS);
    x[0] = 18.5; /* now x's top two are 19 and 0 */
    ck_assert_int_eq(nas_eval_precision_at(x, y, 20, 0.1, &p), NAS_OK);
    ck_assert_double_eq_tol(p, 0.5, EPS);
    /* reversed ranking: none of x's top 10 % is in y's */
    for (int i = 0; i < 20; i++) {
        x[i] = -i;
    }
    ck_assert_int_eq(nas_eval_precision_at(x, y, 20, 0.1, &p), NAS_OK);
    ck_assert_double_eq_tol(p, 0.0, EPS);
    /* k = ceil(0.1 * m) over complete pairs: 11 pairs -> k 2; NaN pairs dropped first */
    const double a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, NAN};
    const double b[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 10, 99};
    ck_assert_int_eq(nas_eval_precision_at(a, b, 12, 0.1, &p), NAS_OK);
    ck_assert_double_eq_tol(p, 1.0, EPS); /* {10, 11} either way */
    ck_assert_int_eq(nas_eval_precision_at(a, b, 12, 0.05, &p), NAS_OK);
    ck_assert_double_eq_tol(p, 0.0, EPS); /* k 1: x's best is 11, y's best is 10 (position 9) */
    /* bootstrap interval inside [0, 1] around the value, reproducible */
    for (int i = 0; i < 20; i++) {
        x[i] = i + ((i % 3) ? 0.0 : 5.0);
    }
    nas_rng r;
    nas_rng_seed(&r, 5);
    nas_eval_ci c1, c2;
    ck_assert_int_eq(nas_eval_precision_ci(x, y, 20, 0.1, 300, &r, &c1), NAS_OK);
    ck_assert(c1.lo >= 0.0 && c1.lo <= c1.value && c1.value <= c1.hi && c1.hi <= 1.0);
    ck_assert(c1.lo < c1.hi);
    nas_rng_seed(&r, 5);
    ck_assert_int_eq(nas_eval_precision_ci(x, y, 20, 0.1, 300, &r, &c2), NAS_OK);
    ck_assert(c1.lo == c2.lo && c1.hi == c2.hi);
    /* nothing complete: NaN; bad arguments refused */
    ck_assert_int_eq(nas_eval_precision_at(x, y, 0, 0.1, &p), NAS_OK);
    ck_assert(isnan(p));
    ck_assert_int_eq(nas_eval_precision_at(x, y, 20, 0.0, &p), NAS_EINVAL);
    ck_assert_int_eq(nas_eval_precision_at(x, y, 20, 1.5, &p), NAS_EINVAL);
    ck_assert_int_eq(nas_eval_precision_ci(x, y, 20, 0.1, 10, NULL, &c1), NAS_EINVAL);
}
END_TEST

START_TEST(test_search__kendall_spearman_hand_values) {
    double tau = 0.0, rho = 0.0;
    const double a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40}, c[4] = {4, 3, 2, 1};
    nas_eval_kendall_tau(a, b, 4, &tau);
    nas_eval_spearman_rho(a, b, 4, &rho);
    ck_assert_double_eq_tol(tau, 1.0, EPS);
    ck_assert_double_eq_tol(rho, 1.0, EPS);
    nas_eval_kendall_tau(a, c, 4, &tau);
    nas_eval_spearman_rho(a, c, 4, &rho);
    ck_assert_double_eq_tol(tau, -1.0, EPS);
    ck_assert_double_eq_tol(rho, -1.0, EPS);
    /* a tie in x: S = 5, 5 untied x pairs, 6 untied y pairs -> 5 / sqrt(30) (scipy 0.91287) */
    const double x1[4] = {1, 2, 2, 3}, y1[4] = {1, 3, 2, 4};
    nas_eval_kendall_tau(x1, y1, 4, &tau);
    ck_assert_double_eq_tol(tau, 5.0 / sqrt(30.0), EPS);
    /* ranks x (1, 2.5, 2.5, 4), y (1, 3, 2, 4): 4.5 / sqrt(4.5 * 5) */
    nas_eval_spearman_rho(x1, y1, 4, &rho);
    ck_assert_double_eq_tol(rho, 4.5 / sqrt(22.5), EPS);
    /* a joint tie: S = 7, 9 untied pairs each -> 7/9; rho = 8.5 / 9.5 */
    const double x2[5] = {1, 2, 3, 3, 4}, y2[5] = {2, 1, 3, 3, 5};
    nas_eval_kendall_tau(x2, y2, 5, &tau);
    nas_eval_spearman_rho(x2, y2, 5, &rho);
    ck_assert_double_eq_tol(tau, 7.0 / 9.0, EPS);
    ck_assert_double_eq_tol(rho, 8.5 / 9.5, EPS);
    /* ties on both sides cancelling: 0 */
    const double x3[4] = {1, 1, 2, 2}, y3[4] = {1, 2, 1, 2};
    nas_eval_kendall_tau(x3, y3, 4, &tau);
    nas_eval_spearman_rho(x3, y3, 4, &rho);
    ck_assert_double_eq_tol(tau, 0.0, EPS);
    ck_assert_double_eq_tol(rho, 0.0, EPS);
    /* NaN pairs are dropped; constant or too short: NaN */
    const double x4[3] = {1, (double)NAN, 2}, y4[3] = {1, 5, 2};
    nas_eval_kendall_tau(x4, y4, 3, &tau);
    ck_assert_double_eq_tol(tau, 1.0, EPS);
    const double k[3] = {2, 2, 2};
    nas_eval_kendall_tau(k, y4, 3, &tau);
    nas_eval_spearman_rho(k, y4, 3, &rho);
    ck_assert(isnan(tau) && isnan(rho));
    nas_eval_kendall_tau(a, b, 1, &tau);
    ck_assert(isnan(tau));
    /* average ranks */
    const double v[6] = {30, 10, 20, 10, (double)NAN, 30};
    double rk[6];
    ck_assert_int_eq(nas_eval_ranks(v, 6, rk), NAS_OK);
    const double want[6] = {4.5, 1.5, 3, 1.5, (double)NAN, 4.5};
    for (int i = 0; i < 6; i++) {
        ck_assert(i == 4 ? isnan(rk[i]) : fabs(rk[i] - want[i]) < EPS);
    }
}
END_TEST

START_TEST(test_search__pareto_against_brute_force) {
    /* hand-made: cost 1 score 0.5; cost 1 score 0.7 (beats it); cost 2 score 0.7 (dominated by
       the cheaper equal score); cost 3 score 0.9; cost 3 score 0.9 (equal twin: both stay) */
    const double s0[5] = {0.5, 0.7, 0.7, 0.9, 0.9}, c0[5] = {1, 1, 2, 3, 3};
    int64_t f[5], nf = 0;
    ck_assert_int_eq(nas_eval_pareto(s0, c0, 5, true, f, &nf), NAS_OK);
    ck_assert_int_eq(nf, 3);
    ck_assert(f[0] == 1 && f[1] == 3 && f[2] == 4);
    /* lower is better: the smallest score wins at cost 1 */
    ck_assert_int_eq(nas_eval_pareto(s0, c0, 5, false, f, &nf), NAS_OK);
    ck_assert_int_eq(nf, 1);
    ck_assert_int_eq(f[0], 0);
    /* random points with many ties vs the O(n^2) definition */
    nas_rng r;
    nas_rng_seed(&r, 9);
    enum { N = 300 };
    double s[N], c[N];
    int64_t front[N];
    for (int rep = 0; rep < 4; rep++) {
        for (int i = 0; i < N; i++) {
            s[i] = (double)nas_rng_below(&r, 20);
            c[i] = (double)nas_rng_below(&r, 20);
        }
        bool hib = rep % 2 == 0;
        ck_assert_int_eq(nas_eval_pareto(s, c, N, hib, front, &nf), NAS_OK);
        bool on[N] = {false};
        for (int64_t k = 0; k < nf; k++) {
            on[front[k]] = true;
            ck_assert(k == 0 || c[front[k - 1]] <= c[front[k]]);
        }
        for (int i = 0; i < N; i++) {
            bool dominated = false;
            for (int j = 0; j < N && !dominated; j++) {
                dominated = nas_eval_dominates(s[j], c[j], s[i], c[i], hib);
            }
            ck_assert_msg(on[i] == !dominated, "point %d (%g, %g)", i, s[i], c[i]);
        }
    }
}
END_TEST

/* ---- evaluate -------------------------------------------------------------------------------- */

typedef struct fm {
    nas_dataset train, test;
} fm;

/* A few hundred Fashion-MNIST images (skips the test when the dataset is not installed). */
static bool fm_load(fm *d) {
    nas_dataset full;
    memset(d, 0, sizeof *d);
    if (nas_data_load_fashion_mnist(&full, NULL, "train") != NAS_OK) {
        return false;
    }
    int32_t idx[700];
    for (int i = 0; i < 700; i++) {
        idx[i] = i * 37;
    }
    ck_assert_int_eq(nas_data_subset(&d->train, &full, idx, 700, "fm-train-700"), NAS_OK);
    ck_assert_int_eq(nas_data_subset(&d->test, &full, idx + 600, 100, "fm-test-100"), NAS_OK);
    nas_data_free(&full);
    return true;
}

/* Load the images into d, or skip (return from) the calling test when they are not installed. */
#define FM_LOAD_OR_SKIP(d)                                                                         \
    do {                                                                                           \
        if (!fm_load(&(d))) {                                                                      \
            fprintf(stderr, "skip: Fashion-MNIST is not installed\n");                             \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static nas_eval_config eval_cfg(const fm *d, int64_t run) {
    nas_eval_config ec = nas_eval_config_default();
    ec.search_run = run;
    ec.top_k = 2;
    ec.recipe.epochs = 2;
    ec.recipe.batch_size = 50;
    ec.split_n_val = 200; /* 500 training images, 200 validation */
    ec.train = &d->train;
    ec.test = &d->test;
    ec.quiet = true;
    ec.threads = 2;
    return ec;
}

/* The number of epochs in a training's stored curve. */
static int curve_epochs(nas_store *db, int64_t arch_id, int64_t training_id) {
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)arch_id);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_arch(db, id, NULL, NULL, &t), NAS_OK);
    int c_id = nas_store_table_col(&t, "id"), c_curve = nas_store_table_col(&t, "curve_json");
    int n = -1;
    for (int64_t r = 0; r < t.n_rows; r++) {
        if (nas_store_table_at(&t, r, c_id)->i == training_id) {
            const char *s = nas_store_table_at(&t, r, c_curve)->s;
            n = 0;
            for (const char *p = s; (p = strstr(p, "\"epoch\":")) != NULL; p++) {
                n++;
                char want[32];
                snprintf(want, sizeof want, "\"epoch\":%d,", n);
                ck_assert_msg(strncmp(p, want, strlen(want)) == 0, "curve %s", s);
            }
        }
    }
    nas_store_table_free(&t);
    return n;
}

START_TEST(test_search__evaluate_tiny_fashion_mnist) {
    fm d;
    FM_LOAD_OR_SKIP(d);
    nas_space sp = tiny_space();
    nas_store *db = open_db("ev.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 6);
    nas_search_result sr = run_ok(db, &sp, &sc, 0, &c);
    nas_eval_config ec = eval_cfg(&d, sr.run_id);
    nas_eval_result er;
    nas_status st = nas_eval_run(db, &ec, &er);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(er.status, NAS_RUN_FINISHED);
    ck_assert(!er.resumed);
    ck_assert_str_eq(er.scorer, "params");
    ck_assert(!er.higher_is_better);
    ck_assert_int_eq(er.n, 2);
    ck_assert(er.items[0].score <= er.items[1].score);
    for (int i = 0; i < 2; i++) {
        const nas_eval_item *it = &er.items[i];
        ck_assert_int_eq(it->status, NAS_RUN_FINISHED);
        ck_assert_int_eq(it->epochs_done, 2);
        ck_assert(it->train_acc >= 0.0 && it->train_acc <= 1.0);
        ck_assert(it->val_acc >= 0.0 && it->val_acc <= 1.0);
        ck_assert(it->test_acc >= 0.0 && it->test_acc <= 1.0);
        ck_assert_int_eq(curve_epochs(db, it->arch_id, it->training_id), 2);
    }
    ck_assert_int_eq(er.n_corr, 2);
    ck_assert(isnan(er.kendall_tau) || fabs(er.kendall_tau) <= 1.0);
    /* the correlation table: one row per scorer of the search run */
    nas_eval_corr *rows = NULL;
    int n_rows = 0;
    ck_assert_int_eq(nas_eval_correlations(db, sr.run_id, er.items, er.n, 50, 1, &rows, &n_rows),
                     NAS_OK);
    ck_assert_int_eq(n_rows, 1);
    ck_assert_str_eq(rows[0].scorer, "params");
    ck_assert(!rows[0].higher_is_better);
    ck_assert_int_eq(rows[0].n, 2);
    ck_assert_int_eq(rows[0].n_top, 1);
    ck_assert(isnan(rows[0].tau_top.value)); /* one architecture: undefined */
    ck_assert(isnan(er.kendall_tau) ? isnan(rows[0].tau.value)
                                    : fabs(fabs(rows[0].tau.value) - fabs(er.kendall_tau)) < 1e-12);
    nas_free(rows);
    int64_t run1 = er.run_id;
    nas_eval_result_free(&er);
    /* again: the same evaluate run, every training skipped */
    st = nas_eval_run(db, &ec, &er);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert(er.resumed);
    ck_assert_int_eq(er.run_id, run1);
    ck_assert(er.items[0].was_done && er.items[1].was_done);
    ck_assert(!isnan(er.items[0].test_acc));
    nas_eval_result_free(&er);
    /* --sample picks from the whole run */
    ec.top_k = 0;
    ec.sample_k = 3;
    ec.recipe.epochs = 1;
    st = nas_eval_run(db, &ec, &er);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(er.n, 3);
    ck_assert_int_ne(er.run_id, run1);
    nas_eval_result_free(&er);
    /* a stop flag already raised: nothing trains, the run is interrupted */
    static volatile sig_atomic_t stop = 1;
    ec.stop = &stop;
    ec.seed = 2;
    st = nas_eval_run(db, &ec, &er);
    ck_assert_int_eq(st, NAS_OK);
    ck_assert_int_eq(er.status, NAS_RUN_INTERRUPTED);
    ck_assert_int_eq(er.items[0].status, NAS_RUN_INTERRUPTED);
    nas_eval_result_free(&er);
    /* bad requests */
    ec = eval_cfg(&d, 77);
    ck_assert_int_eq(nas_eval_run(db, &ec, &er), NAS_ENOTFOUND);
    ck_assert(strstr(nas_errmsg(), "run 77 does not exist") != NULL);
    ec = eval_cfg(&d, sr.run_id);
    ec.sample_k = 2;
    ck_assert_int_eq(nas_eval_run(db, &ec, &er), NAS_EINVAL);
    nas_store_close(db);
    nas_data_free(&d.train);
    nas_data_free(&d.test);
}
END_TEST

/* Screen several briefly, then train the best of that screening at a larger skeleton. */
START_TEST(test_search__evaluate_best_of_and_scaled_net) {
    fm d;
    FM_LOAD_OR_SKIP(d);
    nas_space sp = tiny_space();
    nas_store *db = open_db("bestof.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 6);
    nas_search_result sr = run_ok(db, &sp, &sc, 0, &c);
    nas_eval_config ec = eval_cfg(&d, sr.run_id);
    ec.top_k = 0;
    ec.sample_k = 4;
    ec.recipe.epochs = 1;
    nas_eval_result screen;
    ck_assert_int_eq(nas_eval_run(db, &ec, &screen), NAS_OK);
    ck_assert_int_eq(screen.n, 4);
    /* the two best validation accuracies of the screening, best first */
    int best[2] = {-1, -1};
    for (int i = 0; i < screen.n; i++) {
        if (best[0] < 0 || screen.items[i].val_acc > screen.items[best[0]].val_acc) {
            best[1] = best[0];
            best[0] = i;
        } else if (best[1] < 0 || screen.items[i].val_acc > screen.items[best[1]].val_acc) {
            best[1] = i;
        }
    }
    nas_eval_config fin = eval_cfg(&d, sr.run_id);
    fin.top_k = 2;
    fin.best_of_run = screen.run_id;
    fin.recipe.epochs = 1;
    fin.net_C = 8; /* the search ran at C = 4 */
    nas_eval_result er;
    nas_status st = nas_eval_run(db, &fin, &er);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(er.n, 2);
    for (int k = 0; k < 2; k++) {
        const nas_eval_item *s = &screen.items[best[k]];
        ck_assert_int_eq(er.items[k].arch_id, s->arch_id);
        ck_assert_int_eq(er.items[k].status, NAS_RUN_FINISHED);
        /* the trained net is the wider one: more parameters than at the search's C */
        ck_assert_int_gt(er.items[k].n_params, s->n_params);
    }
    /* its recipe records the skeleton actually trained */
    nas_run_info ri;
    ck_assert_int_eq(nas_store_run_get(db, er.run_id, &ri), NAS_OK);
    ck_assert_ptr_nonnull(strstr(ri.config_json, "\"best_of\": "));
    ck_assert_ptr_nonnull(strstr(ri.config_json, "\"net\": {\"C\": 8, \"N\": 1}"));
    nas_run_info_free(&ri);
    nas_eval_result_free(&er);
    /* best-of must name an evaluate run of this search run */
    fin.best_of_run = sr.run_id;
    ck_assert_int_eq(nas_eval_run(db, &fin, &er), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "not an evaluate run"));
    fin.best_of_run = 999;
    ck_assert_int_eq(nas_eval_run(db, &fin, &er), NAS_ENOTFOUND);
    fin.best_of_run = screen.run_id;
    fin.top_k = 0;
    fin.sample_k = 2;
    ck_assert_int_eq(nas_eval_run(db, &fin, &er), NAS_EINVAL);
    nas_eval_result_free(&screen);
    nas_store_close(db);
    nas_data_free(&d.train);
    nas_data_free(&d.test);
}
END_TEST

/* BN recalibration: the running statistics become the mean of the batches' statistics. */
START_TEST(test_search__evaluate_bn_calibration) {
    fm d;
    FM_LOAD_OR_SKIP(d);
    nas_space sp = tiny_space();
    nas_arch a;
    ck_assert_int_eq(nas_arch_decode(&sp, "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|", &a),
                     NAS_OK);
    nas_net_config nc = nas_net_config_default();
    nas_net net;
    ck_assert_int_eq(nas_net_compile(&net, &sp, &a, &nc), NAS_OK);
    const int64_t nr = net.n_running;
    ck_assert_int_gt(nr, 0);
    nas_rng rng;
    nas_rng_seed(&rng, 3);
    nas_net_model m;
    ck_assert_int_eq(nas_net_model_init(&m, &net, NAS_NET_INIT_KAIMING_OUT, &rng), NAS_OK);
    const size_t wbytes = (size_t)m.params.numel * sizeof(float);
    float *w0 = malloc(wbytes), *s1 = malloc((size_t)nr * sizeof *s1),
          *s2 = malloc((size_t)nr * sizeof *s2);
    ck_assert(w0 && s1 && s2);
    memcpy(w0, m.params.data, wbytes);
    int32_t idx[64];
    for (int i = 0; i < 64; i++) {
        idx[i] = i;
    }
    /* one batch each: its own statistics (momentum 1 replaces the initial 0 / 1) */
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &d.train, idx, 32, NULL, 32, 1), NAS_OK);
    memcpy(s1, m.running, (size_t)nr * sizeof *s1);
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &d.train, idx + 32, 32, NULL, 32, 1), NAS_OK);
    memcpy(s2, m.running, (size_t)nr * sizeof *s2);
    int differ = 0;
    for (int64_t i = 0; i < nr; i++) {
        differ += s1[i] != s2[i];
    }
    ck_assert_int_gt(differ, nr / 2);
    /* both batches (5 asked for, the 64 images make 2): the mean of the two */
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &d.train, idx, 64, NULL, 32, 5), NAS_OK);
    for (int64_t i = 0; i < nr; i++) {
        const double want = 0.5 * ((double)s1[i] + (double)s2[i]);
        ck_assert_msg(fabs((double)m.running[i] - want) <= 1e-5 + 1e-5 * fabs(want),
                      "running[%lld] = %g, want %g", (long long)i, (double)m.running[i], want);
    }
    /* a first batch replaces whatever was there; weights and momentum are untouched */
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &d.train, idx, 32, NULL, 32, 1), NAS_OK);
    ck_assert_int_eq(memcmp(m.running, s1, (size_t)nr * sizeof *s1), 0);
    ck_assert_int_eq(memcmp(m.params.data, w0, wbytes), 0);
    ck_assert(m.bn_momentum == 0.1f);
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &d.train, idx, 32, NULL, 0, 1), NAS_EINVAL);
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &d.train, idx, 32, NULL, 32, 0), NAS_EINVAL);
    ck_assert_int_eq(nas_eval_calibrate_bn(&m, &d.train, idx, 31, NULL, 32, 1), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "exceeds the 31 examples"));
    free(w0);
    free(s1);
    free(s2);
    nas_net_model_free(&m);
    nas_net_free(&net);

    /* through evaluate: the same training evaluated with recalibrated statistics (a run of its
     * own, recorded in the recipe); refused when negative */
    nas_store *db = open_db("calib.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 3);
    nas_search_result sr = run_ok(db, &sp, &sc, 0, &c);
    nas_eval_config ec = eval_cfg(&d, sr.run_id);
    ec.top_k = 1;
    ec.recipe.epochs = 1;
    nas_eval_result plain, er;
    ck_assert_int_eq(nas_eval_run(db, &ec, &plain), NAS_OK);
    ec.bn_calib = 2;
    nas_status st = nas_eval_run(db, &ec, &er);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_ne(er.run_id, plain.run_id);
    ck_assert_int_eq(er.items[0].status, NAS_RUN_FINISHED);
    ck_assert(er.items[0].val_acc >= 0.0 && er.items[0].val_acc <= 1.0);
    /* same seed and data order, so the training is the same; only the statistics that the
     * evaluations use differ (deterministic: both runs are single trainings of one seed) */
    ck_assert(er.items[0].train_acc == plain.items[0].train_acc);
    ck_assert(er.items[0].val_acc != plain.items[0].val_acc ||
              er.items[0].test_acc != plain.items[0].test_acc);
    nas_eval_result_free(&plain);
    nas_run_info ri;
    ck_assert_int_eq(nas_store_run_get(db, er.run_id, &ri), NAS_OK);
    ck_assert_ptr_nonnull(strstr(ri.config_json, "\"bn_calib\": 2, "));
    nas_run_info_free(&ri);
    nas_eval_result_free(&er);
    ec.bn_calib = -1;
    ck_assert_int_eq(nas_eval_run(db, &ec, &er), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "calibration"));
    nas_store_close(db);
    nas_data_free(&d.train);
    nas_data_free(&d.test);
}
END_TEST

/* An evaluate killed after its first stored epoch resumes from the checkpoint. */
START_TEST(test_search__evaluate_sigkill_resumes_at_epoch) {
    fm d;
    FM_LOAD_OR_SKIP(d);
    nas_space sp = tiny_space();
    char path[512];
    test_tpath(path, "ek.db");
    nas_store *db = open_db("ek.db");
    nas_scorer sc;
    ck_assert_int_eq(nas_scorer_builtin(&sc, "params"), NAS_OK);
    nas_search_config c = quiet_cfg(NAS_STRATEGY_RANDOM, 4);
    c.threads = 1;
    nas_search_result sr = run_ok(db, &sp, &sc, 0, &c);
    nas_store_close(db);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        nas_store *cdb = NULL;
        if (nas_store_open(&cdb, path, 0) != NAS_OK) {
            _exit(3);
        }
        nas_eval_config ec = eval_cfg(&d, sr.run_id);
        ec.top_k = 1;
        ec.recipe.epochs = 40; /* far more than the parent waits for */
        ec.threads = 1;
        nas_eval_result er;
        nas_eval_run(cdb, &ec, &er);
        _exit(5);
    }
    /* wait for two stored epochs, then kill */
    int64_t done = 0;
    for (int i = 0; i < 3600 && done < 2; i++) { /* up to 3 min on a loaded machine */
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
        nas_store *ro = NULL;
        if (nas_store_open(&ro, path, NAS_STORE_READONLY) == NAS_OK) {
            nas_store_table t = {0};
            if (nas_store_query_sql(ro, "SELECT coalesce(max(epochs_done), 0) FROM trainings",
                                    &t) == NAS_OK &&
                t.n_rows == 1) {
                done = nas_store_table_at(&t, 0, 0)->i;
            }
            nas_store_table_free(&t);
            nas_store_close(ro);
        }
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert_int_ge(done, 2);
    ck_assert(WIFSIGNALED(status));
    /* the same plan (the recipe is the training's identity), stopped at once: the curve and
       the checkpoint of the killed process are there */
    db = open_db("ek.db");
    nas_eval_config ec = eval_cfg(&d, sr.run_id);
    ec.top_k = 1;
    ec.recipe.epochs = 40;
    static volatile sig_atomic_t stop = 1;
    ec.stop = &stop;
    nas_eval_result er;
    ck_assert_int_eq(nas_eval_run(db, &ec, &er), NAS_OK);
    ck_assert(er.resumed);
    ck_assert_int_eq(er.status, NAS_RUN_INTERRUPTED);
    int kept = er.items[0].epochs_done;
    ck_assert_int_ge(kept, 2);
    ck_assert_int_eq(curve_epochs(db, er.items[0].arch_id, er.items[0].training_id), kept);
    void *ck = NULL;
    size_t n = 0;
    ck_assert_int_eq(nas_store_training_checkpoint(db, er.items[0].training_id, &ck, &n), NAS_OK);
    ck_assert_uint_gt(n, 64);
    nas_free(ck);
    nas_eval_result_free(&er);
    /* continue in a child until one more epoch is stored: it must be epoch kept + 1 */
    ec.stop = NULL;
    nas_store_close(db);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        nas_store *cdb = NULL;
        if (nas_store_open(&cdb, path, 0) != NAS_OK) {
            _exit(3);
        }
        nas_eval_config e2 = ec;
        e2.threads = 1;
        nas_eval_result r2;
        nas_eval_run(cdb, &e2, &r2);
        _exit(5);
    }
    done = kept;
    for (int i = 0; i < 3600 && done < kept + 1; i++) { /* up to 3 min, as above: one epoch
                                                           took > 30 s at load 13 on 2 cores */
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
        nas_store *ro = NULL;
        if (nas_store_open(&ro, path, NAS_STORE_READONLY) == NAS_OK) {
            nas_store_table t = {0};
            if (nas_store_query_sql(ro, "SELECT max(epochs_done) FROM trainings", &t) == NAS_OK &&
                t.n_rows == 1) {
                done = nas_store_table_at(&t, 0, 0)->i;
            }
            nas_store_table_free(&t);
            nas_store_close(ro);
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ck_assert_int_gt(done, kept);
    db = open_db("ek.db");
    ck_assert_int_eq(nas_store_check(db), NAS_OK);
    ec.stop = &stop;
    ck_assert_int_eq(nas_eval_run(db, &ec, &er), NAS_OK);
    ck_assert_int_eq(er.items[0].epochs_done, (int)done);
    ck_assert_int_eq(curve_epochs(db, er.items[0].arch_id, er.items[0].training_id), (int)done);
    nas_eval_result_free(&er);
    nas_store_close(db);
    nas_data_free(&d.train);
    nas_data_free(&d.test);
}
END_TEST

Suite *nas_test_search_suite(void) {
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("strategies");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_search__every_strategy_nb201);
    tcase_add_test(tc, test_search__strategies_tiny_space_find_optimum);
    tcase_add_test(tc, test_search__exhaustive_nb201_counts_unique_valid);
    tcase_add_test(tc, test_search__macro_space_random);
    suite_add_tcase(s, tc);

    tc = tcase_create("dedup_and_reuse");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_search__dedup_scores_each_class_once);
    tcase_add_test(tc, test_search__reuse_same_scorer_recipe_and_ghn);
    tcase_add_test(tc, test_search__extra_scorers_recorded_reused_and_checked);
    tcase_add_test(tc, test_search__ghn_scorer);
    suite_add_tcase(s, tc);

    tc = tcase_create("budgets_and_options");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_search__budget_by_count_and_time);
    tcase_add_test(tc, test_search__bad_options);
    suite_add_tcase(s, tc);

    tc = tcase_create("interrupt_and_resume");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_search__stop_flag_resume_same_sequence);
    tcase_add_test(tc, test_search__threads_do_not_change_the_sequence);
    tcase_add_test(tc, test_search__resume_refuses_live_run);
    tcase_add_test(tc, test_search__sigkill_and_resume);
    suite_add_tcase(s, tc);

    tc = tcase_create("run_record");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_search__record_round_trip);
    tcase_add_test(tc, test_search__corrupt_record_clear_error);
    tcase_add_test(tc, test_search__failed_score_aux_is_valid_json);
    suite_add_tcase(s, tc);

    tc = tcase_create("statistics");
    tcase_add_test(tc, test_search__kendall_spearman_hand_values);
    tcase_add_test(tc, test_search__bootstrap_intervals);
    tcase_add_test(tc, test_search__precision_at_top);
    tcase_add_test(tc, test_search__pareto_against_brute_force);
    suite_add_tcase(s, tc);

    tc = tcase_create("evaluate");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 400);
    tcase_add_test(tc, test_search__evaluate_tiny_fashion_mnist);
    tcase_add_test(tc, test_search__evaluate_best_of_and_scaled_net);
    tcase_add_test(tc, test_search__evaluate_bn_calibration);
    tcase_add_test(tc, test_search__evaluate_sigkill_resumes_at_epoch);
    suite_add_tcase(s, tc);
    return s;
}
