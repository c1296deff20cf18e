/*
 * Tests for src/store: round trips of every table, the v1 -> v2 migration, refusal of foreign,
 * newer, damaged and missing files (left byte-for-byte unchanged), batch atomicity seen from a
 * second connection, a reader process during commits, SIGKILL at random points followed by
 * resume, the read-only SQL refusal and a simulated full disk.
 */
#include "test_suites.h"
#include "testdir.h"

#include "ghnas/store.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- temp directory and file helpers -------------------------------------------------------- */

static void tmp_setup(void) {
    test_tmpdir_create("store");
}

static void tmp_teardown(void) {
    test_tmpdir_remove();
}

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static bool sidecar(const char *path, const char *suffix) {
    char buf[600];
    snprintf(buf, sizeof buf, "%s%s", path, suffix);
    return exists(buf);
}

/* Whole file (malloc'd, *n bytes); NULL when missing. */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *n = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* One integer from a read-only SQL query on a separate connection. */
static int64_t sql_int(const char *path, const char *sql) {
    nas_store *ro = NULL;
    nas_status st = nas_store_open(&ro, path, NAS_STORE_READONLY);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    nas_store_table t = {0};
    st = nas_store_query_sql(ro, sql, &t);
    ck_assert_msg(st == NAS_OK, "%s: %s", sql, nas_errmsg());
    ck_assert_int_eq(t.n_rows, 1);
    const nas_store_value *v = nas_store_table_at(&t, 0, 0);
    int64_t out = v->type == NAS_STORE_NULL ? -1 : v->i;
    ck_assert(v->type == NAS_STORE_INT || v->type == NAS_STORE_NULL);
    nas_store_table_free(&t);
    nas_store_close(ro);
    return out;
}

static nas_store *open_ok(const char *path, unsigned flags) {
    nas_store *db = NULL;
    nas_status st = nas_store_open(&db, path, flags);
    ck_assert_msg(st == NAS_OK, "open %s: %s", path, nas_errmsg());
    ck_assert_ptr_nonnull(db);
    return db;
}

static int64_t new_run(nas_store *db, const char *scorer, int64_t ghn) {
    nas_run_spec rs = {.name = "t",
                       .kind = "search",
                       .space = "nb201",
                       .dataset = "fashion-mnist",
                       .scorer = scorer,
                       .config_json = "{\"budget\":10}",
                       .seed = 7,
                       .ghn_id = ghn};
    int64_t id = 0;
    nas_status st = nas_store_run_create(db, &rs, &id);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_gt(id, 0);
    return id;
}

/* Add arch `key` with scores acc (higher better) and loss (lower better) to a run, with the
 * run's resume point after it (pr, may be NULL). */
static void add_result_p(nas_store *db, int64_t run, int64_t seq, const char *key, double acc,
                         double loss, int64_t params, int64_t flops, const nas_store_progress *pr) {
    char text[64];
    snprintf(text, sizeof text, "arch-%s", key);
    nas_arch_record a = {.space = "nb201",
                         .canon_key = key,
                         .arch = text,
                         .n_params = params,
                         .flops = flops,
                         .n_nodes = 12,
                         .graph_json = NULL};
    nas_score_record sc[2] = {
        {.scorer = "acc", .value = acc, .recipe = "r1", .seconds = 0.5},
        {.scorer = "loss", .value = loss, .lower_is_better = true, .recipe = "r1", .seconds = 0.5},
    };
    nas_status st = nas_store_add(db, run, seq, &a, sc, 2, pr);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
}

static void add_result(nas_store *db, int64_t run, int64_t seq, const char *key, double acc,
                       double loss, int64_t params, int64_t flops) {
    add_result_p(db, run, seq, key, acc, loss, params, flops, NULL);
}

/* ---- round trips ----------------------------------------------------------------------------- */

START_TEST(test_store__create_reopen_header) {
    char p[512];
    test_tpath(p, "a.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    nas_store_info info;
    nas_store_get_info(db, &info);
    ck_assert(info.created);
    ck_assert_int_eq(info.found_version, 0);
    ck_assert_int_eq(info.version, NAS_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(nas_store_check(db), NAS_OK);
    nas_store_close(db);
    ck_assert(!sidecar(p, "-wal"));

    size_t n = 0;
    unsigned char *h = slurp(p, &n);
    ck_assert_uint_ge(n, 100);
    ck_assert_mem_eq(h + 68, "ghns", 4);               /* application_id, big-endian */
    ck_assert_int_eq(h[63], NAS_STORE_SCHEMA_VERSION); /* user_version low byte */
    ck_assert_int_eq(h[18], 2);                        /* WAL */
    free(h);

    db = open_ok(p, 0);
    nas_store_get_info(db, &info);
    ck_assert(!info.created);
    ck_assert_int_eq(info.found_version, NAS_STORE_SCHEMA_VERSION);
    nas_store_close(db);
    ck_assert_int_eq(sql_int(p, "PRAGMA user_version"), NAS_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(sql_int(p, "PRAGMA foreign_keys"), 1);
    /* A read-only open leaves no -wal/-shm behind. */
    ck_assert(!sidecar(p, "-wal") && !sidecar(p, "-shm"));
}
END_TEST

START_TEST(test_store__runs_and_state) {
    char p[512];
    test_tpath(p, "runs.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    nas_run_spec rs = {.name = "first \"quoted\", run",
                       .kind = "search",
                       .space = "nb201",
                       .dataset = "fashion-mnist",
                       .scorer = "acc",
                       .config_json = "{\"budget\":100,\"strategy\":\"evolution\"}",
                       .seed = 0xfedcba9876543210ull,
                       .host = "hostx",
                       .version = "9.9.9"};
    int64_t id = 0;
    ck_assert_int_eq(nas_store_run_create(db, &rs, &id), NAS_OK);
    nas_run_info ri;
    ck_assert_int_eq(nas_store_run_get(db, id, &ri), NAS_OK);
    ck_assert_str_eq(ri.name, rs.name);
    ck_assert_str_eq(ri.kind, "search");
    ck_assert_int_eq(ri.status, NAS_RUN_RUNNING);
    ck_assert_str_eq(ri.space, "nb201");
    ck_assert_str_eq(ri.dataset, "fashion-mnist");
    ck_assert_str_eq(ri.scorer, "acc");
    ck_assert_str_eq(ri.config_json, rs.config_json);
    ck_assert_uint_eq(ri.seed, rs.seed);
    ck_assert_int_eq(ri.ghn_id, 0);
    ck_assert_str_eq(ri.host, "hostx");
    ck_assert_str_eq(ri.version, "9.9.9");
    ck_assert_uint_eq(strlen(ri.started_at), 19);
    ck_assert_str_eq(ri.finished_at, "");
    nas_run_info_free(&ri);

    ck_assert_int_eq(nas_store_run_set_status(db, id, NAS_RUN_INTERRUPTED), NAS_OK);
    ck_assert_int_eq(nas_store_run_get(db, id, &ri), NAS_OK);
    ck_assert_int_eq(ri.status, NAS_RUN_INTERRUPTED);
    ck_assert_uint_eq(strlen(ri.finished_at), 19);
    nas_run_info_free(&ri);
    ck_assert_int_eq(nas_store_run_set_status(db, id, NAS_RUN_RUNNING), NAS_OK);
    ck_assert_int_eq(nas_store_run_get(db, id, &ri), NAS_OK);
    ck_assert_str_eq(ri.finished_at, "");
    nas_run_info_free(&ri);
    ck_assert_int_eq(nas_store_run_get(db, id + 5, &ri), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_store_run_set_status(db, id + 5, NAS_RUN_FINISHED), NAS_ENOTFOUND);

    /* Resume state: staged, invisible until the commit, then read back exactly. */
    bool found = true;
    nas_rng rng, back;
    int64_t n_done = -1;
    char *json = NULL;
    ck_assert_int_eq(nas_store_load_state(db, id, &found, &back, &n_done, &json), NAS_OK);
    ck_assert(!found);
    nas_rng_seed(&rng, 99);
    nas_rng_u64(&rng);
    ck_assert_int_eq(nas_store_stage_state(db, id, &rng, 17, "{\"population\":[1,2,3]}"), NAS_OK);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM run_state"), 0);
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    ck_assert_int_eq(nas_store_load_state(db, id, &found, &back, &n_done, &json), NAS_OK);
    ck_assert(found);
    ck_assert_int_eq(n_done, 17);
    ck_assert_mem_eq(back.s, rng.s, sizeof rng.s);
    ck_assert_str_eq(json, "{\"population\":[1,2,3]}");
    nas_free(json);

    /* A fresh heartbeat is not stale; everything is stale at a negative age. */
    int marked = -1;
    ck_assert_int_eq(nas_store_mark_stale(db, 3600, &marked), NAS_OK);
    ck_assert_int_eq(marked, 0);
    ck_assert_int_eq(nas_store_mark_stale(db, -1, &marked), NAS_OK);
    ck_assert_int_eq(marked, 1);
    ck_assert_int_eq(nas_store_run_get(db, id, &ri), NAS_OK);
    ck_assert_int_eq(ri.status, NAS_RUN_INTERRUPTED);
    nas_run_info_free(&ri);

    nas_run_spec bad = {.kind = "search", .space = "nb201"};
    ck_assert_int_eq(nas_store_run_create(db, &bad, &id), NAS_EINVAL);
    nas_store_close(db);
}
END_TEST

START_TEST(test_store__scores_and_reuse) {
    char p[512];
    test_tpath(p, "scores.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    ck_assert_int_eq(nas_store_set_batch(db, 1000, 1000.0), NAS_OK);
    ck_assert_int_eq(nas_store_set_batch(db, 0, 1.0), NAS_EINVAL);
    nas_ghn_record g = {.space = "nb201",
                        .dataset = "fashion-mnist",
                        .checkpoint = "abc",
                        .checkpoint_bytes = 3,
                        .train_loss = 1.0,
                        .val_acc = (double)NAN};
    int64_t ghn = 0;
    ck_assert_int_eq(nas_store_ghn_add(db, &g, &ghn), NAS_OK);
    int64_t run = new_run(db, "acc", ghn);
    add_result(db, run, 0, "k0", 0.50, 1.2, 1000, 5000);
    add_result(db, run, 1, "k1", 0.90, 0.3, 3000, 9000);
    add_result(db, run, 2, "k2", 0.70, (double)NAN, 2000, 4000);
    ck_assert_int_eq(nas_store_pending(db), 3);

    /* Reuse from the pending batch: same GHN, scorer and recipe. */
    nas_score_hit hit;
    ck_assert_int_eq(nas_store_score_lookup(db, "nb201", "k1", "acc", ghn, "r1", NULL, &hit),
                     NAS_OK);
    ck_assert(hit.found);
    ck_assert_double_eq(hit.value, 0.90);
    ck_assert_int_eq(hit.arch_id, 0);
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    ck_assert_int_eq(nas_store_pending(db), 0);

    /* The same canonical key again (another member of the class) and a duplicate result. */
    nas_arch_record dup = {.space = "nb201",
                           .canon_key = "k1",
                           .arch = "other text",
                           .n_params = -1,
                           .flops = -1,
                           .n_nodes = -1};
    nas_score_record s1 = {.scorer = "acc", .value = 0.1, .recipe = "r1"};
    ck_assert_int_eq(nas_store_add(db, run, 9, &dup, &s1, 1, NULL), NAS_OK);
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM architectures"), 3);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM scores"), 6);
    /* The first value stays; the architecture keeps its first text and its sizes. */
    ck_assert_int_eq(sql_int(p, "SELECT CAST(round(value * 100) AS INTEGER) FROM scores s JOIN "
                                "architectures a ON a.id = s.arch_id WHERE a.canonical_hash = 'k1'"
                                " AND scorer = 'acc'"),
                     90);
    ck_assert_int_eq(sql_int(p, "SELECT n_params FROM architectures WHERE arch = 'arch-k1'"), 3000);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM scores WHERE value IS NULL"), 1);
    ck_assert_int_eq(sql_int(p, "SELECT higher_is_better FROM scorers WHERE name = 'loss'"), 0);

    int64_t arch_id = 0;
    ck_assert_int_eq(nas_store_arch_find(db, "nb201", "k1", &arch_id), NAS_OK);
    ck_assert_int_eq(nas_store_arch_find(db, "nb201", "nope", &arch_id), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_store_arch_find(db, "nb201", "k1", &arch_id), NAS_OK);

    /* Reuse from committed rows: only with the same GHN, scorer and recipe. */
    ck_assert_int_eq(nas_store_score_lookup(db, "nb201", "k1", "acc", ghn, "r1", NULL, &hit),
                     NAS_OK);
    ck_assert(hit.found);
    ck_assert_int_eq(hit.run_id, run);
    ck_assert_int_eq(hit.arch_id, arch_id);
    ck_assert_double_eq(hit.value, 0.90);
    ck_assert_int_eq(nas_store_score_lookup(db, "nb201", "k1", "acc", ghn, "r2", NULL, &hit),
                     NAS_OK);
    ck_assert(!hit.found);
    ck_assert_int_eq(nas_store_score_lookup(db, "nb201", "k1", "acc", 0, "r1", NULL, &hit), NAS_OK);
    ck_assert(!hit.found);
    ck_assert_int_eq(nas_store_score_lookup(db, "nb201", "k1", "loss", ghn, "r1", NULL, &hit),
                     NAS_OK);
    ck_assert(hit.found);
    ck_assert_int_eq(nas_store_score_lookup(db, "nb201", "k2", "loss", ghn, "r1", NULL, &hit),
                     NAS_OK);
    ck_assert(hit.found && isnan(hit.value));
    ck_assert_int_eq(nas_store_score_lookup(db, "macro", "k1", "acc", ghn, "r1", NULL, &hit),
                     NAS_OK);
    ck_assert(!hit.found);

    /* Unknown run: refused before it reaches the batch. */
    nas_score_record s2 = {.scorer = "acc", .value = 0.1};
    ck_assert_int_eq(nas_store_add(db, run + 40, 0, &dup, &s2, 1, NULL), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_store_pending(db), 0);
    nas_store_close(db);

    /* Rankings by direction. */
    db = open_ok(p, NAS_STORE_READONLY);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_top(db, 0, NULL, 10, &t), NAS_OK);
    ck_assert_int_eq(t.n_rows, 3);
    ck_assert_str_eq(t.cols[2], "acc");
    ck_assert_int_eq(nas_store_table_at(&t, 0, 0)->i, 1);
    ck_assert_str_eq(nas_store_table_at(&t, 0, 5)->s, "arch-k1");
    ck_assert_str_eq(nas_store_table_at(&t, 2, 5)->s, "arch-k0");
    nas_store_table_free(&t);
    ck_assert_int_eq(nas_store_query_top(db, run, "loss", 1, &t), NAS_OK);
    ck_assert_int_eq(t.n_rows, 1);
    ck_assert_str_eq(nas_store_table_at(&t, 0, 5)->s, "arch-k1"); /* lowest loss */
    nas_store_table_free(&t);
    ck_assert_int_eq(nas_store_query_top(db, run, "nope", 1, &t), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "acc, loss"));
    ck_assert_int_eq(nas_store_query_top(db, run + 1, NULL, 1, &t), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_store_query_top(db, run, NULL, 0, &t), NAS_EINVAL);
    nas_store_table_free(&t);

    ck_assert_int_eq(nas_store_query_runs(db, &t), NAS_OK);
    ck_assert_int_eq(t.n_rows, 1);
    int c_archs = nas_store_table_col(&t, "archs"), c_best = nas_store_table_col(&t, "best");
    ck_assert_int_ge(c_archs, 0);
    ck_assert_int_eq(nas_store_table_at(&t, 0, c_archs)->i, 3);
    ck_assert_double_eq(nas_store_table_at(&t, 0, c_best)->r, 0.90);
    nas_store_table_free(&t);

    /* One architecture by id, by text and by canonical key. */
    nas_store_table ta = {0}, ts = {0}, tt = {0};
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", (long long)arch_id);
    const char *keys[3] = {idtext, "arch-k1", "k1"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(nas_store_query_arch(db, keys[i], &ta, &ts, &tt), NAS_OK);
        ck_assert_int_eq(ta.n_rows, 1);
        ck_assert_int_eq(nas_store_table_at(&ta, 0, 0)->i, arch_id);
        ck_assert_int_eq(ts.n_rows, 2);
        ck_assert_int_eq(nas_store_table_at(&ts, 0, nas_store_table_col(&ts, "rank"))->i, 1);
        ck_assert_int_eq(tt.n_rows, 0);
        nas_store_table_free(&ta);
        nas_store_table_free(&ts);
        nas_store_table_free(&tt);
    }
    ck_assert_int_eq(nas_store_query_arch(db, "9999", &ta, NULL, NULL), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_store_query_arch(db, "no such arch", &ta, NULL, NULL), NAS_ENOTFOUND);
    nas_store_table_free(&ta);
    /* Writer calls on a read-only store are refused. */
    ck_assert_int_eq(nas_store_add(db, run, 0, &dup, &s2, 1, NULL), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "read-only"));
    nas_store_close(db);
}
END_TEST

START_TEST(test_store__pareto_matches_brute_force) {
    char p[512];
    test_tpath(p, "pareto.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    ck_assert_int_eq(nas_store_set_batch(db, 1000, 1000.0), NAS_OK);
    int64_t run = new_run(db, "acc", 0);
    enum { N = 300 };
    double acc[N], loss[N];
    int64_t params[N], flops[N];
    nas_rng r;
    nas_rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        /* Coarse grids make ties of cost and score frequent. */
        acc[i] = (double)nas_rng_below(&r, 40) / 40.0;
        loss[i] = (double)nas_rng_below(&r, 40) / 10.0;
        params[i] = 1000 + 100 * (int64_t)nas_rng_below(&r, 30);
        flops[i] = 5000 + 10 * (int64_t)nas_rng_below(&r, 50);
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        add_result(db, run, i, key, acc[i], loss[i], params[i], flops[i]);
    }
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    nas_store_close(db);

    db = open_ok(p, NAS_STORE_READONLY);
    for (int variant = 0; variant < 4; variant++) {
        bool use_loss = variant & 1, by_flops = variant & 2;
        const double *v = use_loss ? loss : acc;
        const int64_t *cost = by_flops ? flops : params;
        bool front[N];
        int n_front = 0;
        for (int i = 0; i < N; i++) {
            front[i] = true;
            for (int j = 0; j < N && front[i]; j++) {
                bool ge = use_loss ? v[j] <= v[i] : v[j] >= v[i];
                if (cost[j] <= cost[i] && ge && (cost[j] < cost[i] || v[j] != v[i])) {
                    front[i] = false;
                }
            }
            n_front += front[i];
        }
        nas_store_table t = {0};
        ck_assert_int_eq(nas_store_query_pareto(db, run, use_loss ? "loss" : "acc",
                                                by_flops ? NAS_PARETO_FLOPS : NAS_PARETO_PARAMS,
                                                &t),
                         NAS_OK);
        ck_assert_int_eq(t.n_rows, n_front);
        ck_assert_str_eq(t.cols[2], by_flops ? "flops" : "params");
        int64_t prev_cost = -1;
        for (int64_t row = 0; row < t.n_rows; row++) {
            const char *arch = nas_store_table_at(&t, row, 3)->s;
            int i = atoi(arch + strlen("arch-p"));
            ck_assert_msg(front[i], "arch %d is not on the front", i);
            ck_assert_int_ge(nas_store_table_at(&t, row, 2)->i, prev_cost);
            prev_cost = nas_store_table_at(&t, row, 2)->i;
        }
        nas_store_table_free(&t);
        /* The SQL views agree with the sweep. */
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_id = %lld AND scorer = '%s'",
                 by_flops ? "pareto_flops" : "pareto", (long long)run, use_loss ? "loss" : "acc");
        ck_assert_int_eq(sql_int(p, sql), n_front);
    }
    /* The leaderboard view ranks by direction. */
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM leaderboard WHERE rank = 1"), 2);
    nas_store_close(db);
}
END_TEST

START_TEST(test_store__trainings_and_ghns) {
    char p[512];
    test_tpath(p, "train.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    unsigned char blob[3000];
    for (size_t i = 0; i < sizeof blob; i++) {
        blob[i] = (unsigned char)(i * 7 + 3);
    }
    nas_ghn_record g = {.space = "nb201",
                        .dataset = "fashion-mnist",
                        .config_json = "{\"hid\":32}",
                        .steps = 500,
                        .train_loss = 0.5,
                        .val_acc = 0.7,
                        .seconds = 12.5,
                        .checkpoint = blob,
                        .checkpoint_bytes = sizeof blob};
    int64_t g1 = 0, g2 = 0, found = 0;
    ck_assert_int_eq(nas_store_ghn_add(db, &g, &g1), NAS_OK);
    g.checkpoint_bytes = 100;
    ck_assert_int_eq(nas_store_ghn_add(db, &g, &g2), NAS_OK);
    ck_assert_int_eq(nas_store_ghn_find(db, "nb201", "fashion-mnist", NULL, &found), NAS_OK);
    ck_assert_int_eq(found, g2);
    ck_assert_int_eq(nas_store_ghn_find(db, "nb101", "fashion-mnist", NULL, &found), NAS_ENOTFOUND);
    void *bytes = NULL;
    size_t n = 0;
    ck_assert_int_eq(nas_store_ghn_checkpoint(db, g1, &bytes, &n), NAS_OK);
    ck_assert_uint_eq(n, sizeof blob);
    ck_assert_mem_eq(bytes, blob, n);
    nas_free(bytes);
    ck_assert_int_eq(nas_store_ghn_checkpoint(db, g2, &bytes, &n), NAS_OK);
    ck_assert_uint_eq(n, 100);
    ck_assert_mem_eq(bytes, blob, 100);
    nas_free(bytes);
    ck_assert_int_eq(nas_store_ghn_checkpoint(db, 77, &bytes, &n), NAS_ENOTFOUND);
    g.checkpoint = NULL; /* the store takes bytes only */
    ck_assert_int_eq(nas_store_ghn_add(db, &g, &found), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "needs a space, a dataset and a checkpoint"));
    ck_assert_int_eq(nas_run_status_name(NAS_RUN_FAILED)[0], 'f');

    int64_t bad_run = 0;
    nas_run_spec rs = {.kind = "search", .space = "nb201", .dataset = "d", .ghn_id = 99};
    ck_assert_int_eq(nas_store_run_create(db, &rs, &bad_run), NAS_ENOTFOUND);
    int64_t run = new_run(db, "acc", g1);
    add_result(db, run, 0, "t0", 0.5, 1.0, 100, 200);
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    int64_t arch = 0;
    ck_assert_int_eq(nas_store_arch_find(db, "nb201", "t0", &arch), NAS_OK);

    nas_training_spec ts = {.run_id = run,
                            .arch_id = arch,
                            .recipe_json = "{\"lr\":0.1,\"seed\":1}",
                            .init = "scratch",
                            .epochs = 3};
    nas_training_info ti;
    ck_assert_int_eq(nas_store_training_begin(db, &ts, &ti), NAS_OK);
    ck_assert(!ti.resumed);
    ck_assert_int_eq(ti.epochs_done, 0);
    ck_assert_int_eq(ti.status, NAS_RUN_RUNNING);
    int64_t tid = ti.id;
    for (int e = 1; e <= 2; e++) {
        nas_epoch_record er = {.epoch = e,
                               .lr = 0.1,
                               .train_loss = 1.0 / e,
                               .train_acc = 0.5,
                               .val_loss = (double)NAN,
                               .val_acc = 0.4 + 0.1 * e,
                               .seconds = 2};
        unsigned char state[64];
        memset(state, e, sizeof state);
        ck_assert_int_eq(nas_store_training_epoch(db, tid, &er, state, sizeof state), NAS_OK);
    }
    nas_epoch_record skip = {.epoch = 4};
    ck_assert_int_eq(nas_store_training_epoch(db, tid, &skip, NULL, 0), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "out of order"));
    /* A resumed evaluate finds the training where it stopped. */
    ck_assert_int_eq(nas_store_training_begin(db, &ts, &ti), NAS_OK);
    ck_assert(ti.resumed);
    ck_assert_int_eq(ti.id, tid);
    ck_assert_int_eq(ti.epochs_done, 2);
    ck_assert(ti.has_checkpoint);
    ck_assert_int_eq(nas_store_training_checkpoint(db, tid, &bytes, &n), NAS_OK);
    ck_assert_uint_eq(n, 64);
    ck_assert_int_eq(((unsigned char *)bytes)[10], 2);
    nas_free(bytes);
    nas_epoch_record e3 = {.epoch = 3,
                           .lr = 0.0,
                           .train_loss = 0.2,
                           .train_acc = 0.8,
                           .val_loss = 0.3,
                           .val_acc = 0.75,
                           .seconds = 2};
    ck_assert_int_eq(nas_store_training_epoch(db, tid, &e3, NULL, 0), NAS_OK);
    ck_assert_int_eq(
        nas_store_training_finish(db, tid, NAS_RUN_FINISHED, (double)NAN, (double)NAN, 0.71),
        NAS_OK);
    ck_assert_int_eq(nas_store_training_checkpoint(db, tid, &bytes, &n), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_store_training_finish(db, 999, NAS_RUN_FINISHED, 0, 0, 0), NAS_ENOTFOUND);
    /* Another init is another training. */
    ts.init = "ghn";
    ck_assert_int_eq(nas_store_training_begin(db, &ts, &ti), NAS_OK);
    ck_assert(!ti.resumed);
    ts.init = "magic";
    ck_assert_int_eq(nas_store_training_begin(db, &ts, &ti), NAS_EINVAL);
    nas_store_close(db);

    db = open_ok(p, NAS_STORE_READONLY);
    nas_store_table ta = {0}, tt = {0}, tg = {0};
    ck_assert_int_eq(nas_store_query_arch(db, "t0", &ta, NULL, &tt), NAS_OK);
    ck_assert_int_eq(tt.n_rows, 2);
    int c_curve = nas_store_table_col(&tt, "curve_json");
    ck_assert(tt.col_json[c_curve]);
    const char *curve = nas_store_table_at(&tt, 0, c_curve)->s;
    ck_assert_ptr_nonnull(strstr(curve, "{\"epoch\":1,\"lr\":0.1,"));
    ck_assert_ptr_nonnull(strstr(curve, "\"val_loss\":null"));
    ck_assert_ptr_nonnull(strstr(curve, "},{\"epoch\":3,"));
    ck_assert_int_eq(curve[strlen(curve) - 1], ']');
    ck_assert_double_eq_tol(nas_store_table_at(&tt, 0, nas_store_table_col(&tt, "test_acc"))->r,
                            0.71, 1e-12);
    ck_assert_double_eq_tol(nas_store_table_at(&tt, 0, nas_store_table_col(&tt, "val_acc"))->r,
                            0.75, 1e-12);
    ck_assert_double_eq_tol(nas_store_table_at(&tt, 0, nas_store_table_col(&tt, "seconds"))->r, 6.0,
                            1e-12);
    ck_assert_str_eq(nas_store_table_at(&tt, 0, nas_store_table_col(&tt, "status"))->s, "finished");
    ck_assert_int_eq(nas_store_query_ghns(db, &tg), NAS_OK);
    ck_assert_int_eq(tg.n_rows, 2);
    ck_assert_int_eq(nas_store_table_at(&tg, 0, nas_store_table_col(&tg, "bytes"))->i, 3000);
    ck_assert_int_eq(nas_store_table_at(&tg, 0, nas_store_table_col(&tg, "runs"))->i, 1);
    ck_assert_int_eq(nas_store_table_at(&tg, 1, nas_store_table_col(&tg, "runs"))->i, 0);
    nas_store_table_free(&ta);
    nas_store_table_free(&tt);
    nas_store_table_free(&tg);
    ck_assert_int_eq(nas_store_check(db), NAS_OK);
    nas_store_close(db);
}
END_TEST

/* ---- migration ------------------------------------------------------------------------------ */

START_TEST(test_store__migrate_v1_to_v2_real) {
    char p[512];
    test_tpath(p, "v1.db");
    ck_assert_int_eq(nas_store_debug_create(p, 1), NAS_OK);
    ck_assert_int_eq(
        nas_store_debug_exec(
            p, "INSERT INTO runs (id, kind, status, space, dataset) VALUES"
               " (1, 'search', 'finished', 'nb201', 'fm'), (2, 'search', 'running', 'nb201', 'fm');"
               "INSERT INTO architectures (id, space, canonical_hash, arch, n_params) VALUES"
               " (1, 'nb201', 'a', 'A', 10), (2, 'nb201', 'b', 'B', 20), (3, 'nb201', 'c', 'C', 5);"
               "INSERT INTO scores (run_id, arch_id, scorer, value) VALUES"
               " (1, 1, 'val_loss', 0.5), (1, 2, 'val_loss', 0.2), (1, 3, 'val_loss', 0.9),"
               " (1, 1, 'val_acc', 0.8), (2, 1, 'synflow', 3.0);"),
        NAS_OK);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = slurp(p, &n0);

    /* Readers refuse the old schema and leave the file alone. */
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY), NAS_EUNSUPPORTED);
    ck_assert_ptr_null(db);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "older"));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), p));
    unsigned char *after = slurp(p, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(before, after, n0);
    free(after);
    free(before);

    /* A writer migrates. */
    db = open_ok(p, 0);
    nas_store_info info;
    nas_store_get_info(db, &info);
    ck_assert_int_eq(info.found_version, 1);
    ck_assert_int_eq(info.version, NAS_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(nas_store_check(db), NAS_OK);
    /* v2 pieces work on the migrated data: run_state, scorers, runs.scorer. */
    nas_rng rng;
    nas_rng_seed(&rng, 3);
    ck_assert_int_eq(nas_store_stage_state(db, 2, &rng, 1, NULL), NAS_OK);
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    nas_run_info ri;
    ck_assert_int_eq(nas_store_run_get(db, 1, &ri), NAS_OK);
    ck_assert_str_eq(ri.scorer, "val_loss"); /* back-filled: its most frequent scorer */
    nas_run_info_free(&ri);
    nas_store_close(db);

    ck_assert_int_eq(sql_int(p, "PRAGMA user_version"), NAS_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(sql_int(p, "SELECT higher_is_better FROM scorers WHERE name = 'val_loss'"), 0);
    ck_assert_int_eq(sql_int(p, "SELECT higher_is_better FROM scorers WHERE name = 'val_acc'"), 1);
    ck_assert_int_eq(sql_int(p, "SELECT higher_is_better FROM scorers WHERE name = 'synflow'"), 1);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM scores"), 5);
    ck_assert_int_eq(sql_int(p, "SELECT n_done FROM run_state WHERE run_id = 2"), 1);
    /* The recreated views honour the direction: the lowest loss ranks first. */
    ck_assert_int_eq(sql_int(p, "SELECT arch_id FROM leaderboard WHERE run_id = 1 AND "
                                "scorer = 'val_loss' AND rank = 1"),
                     2);
    db = open_ok(p, NAS_STORE_READONLY);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_top(db, 1, NULL, 3, &t), NAS_OK);
    ck_assert_str_eq(t.cols[2], "val_loss");
    ck_assert_str_eq(nas_store_table_at(&t, 0, 5)->s, "B");
    ck_assert_str_eq(nas_store_table_at(&t, 2, 5)->s, "C");
    nas_store_table_free(&t);
    /* Pareto of loss against params: C (5, 0.9), A (10, 0.5), B (20, 0.2): all on the front. */
    ck_assert_int_eq(nas_store_query_pareto(db, 1, NULL, NAS_PARETO_PARAMS, &t), NAS_OK);
    ck_assert_int_eq(t.n_rows, 3);
    nas_store_table_free(&t);
    nas_store_close(db);
    /* Migrating again is a no-op. */
    db = open_ok(p, 0);
    nas_store_get_info(db, &info);
    ck_assert_int_eq(info.found_version, NAS_STORE_SCHEMA_VERSION);
    nas_store_close(db);
    ck_assert_ptr_null(nas_store_schema_step(0));
    ck_assert_ptr_null(nas_store_schema_step(NAS_STORE_SCHEMA_VERSION + 1));
}
END_TEST

/* Rankers: a v2 store migrates to v3 with the table; add, find, read back, list, and the labels
   a ranker learns from (finished scratch trainings of the space and data set only). */
START_TEST(test_store__rankers_and_labels) {
    char p[512];
    test_tpath(p, "rk.db");
    ck_assert_int_eq(nas_store_debug_create(p, 2), NAS_OK);
    ck_assert_int_eq(
        nas_store_debug_exec(
            p, "INSERT INTO runs (id, kind, status, space, dataset) VALUES"
               " (1, 'evaluate', 'finished', 'nb201', 'fm'), (2, 'evaluate', 'finished', 'nb101',"
               " 'fm');"
               "INSERT INTO architectures (id, space, canonical_hash, arch) VALUES"
               " (1, 'nb201', 'a', 'A'), (2, 'nb201', 'b', 'B'), (3, 'nb101', 'c', 'C');"
               "INSERT INTO trainings (id, run_id, arch_id, recipe_json, epochs, val_acc, status,"
               " init) VALUES (1, 1, 1, '{}', 1, 0.8, 'finished', 'scratch'),"
               " (2, 1, 2, '{}', 1, 0.7, 'finished', 'scratch'),"
               " (3, 1, 2, '{\"y\": 2}', 1, NULL, 'running', 'scratch'),"
               " (4, 1, 1, '{\"x\": 1}', 1, 0.9, 'finished', 'ghn'),"
               " (5, 2, 3, '{}', 1, 0.6, 'finished', 'scratch');"),
        NAS_OK);
    nas_store *db = open_ok(p, 0);
    nas_store_info info;
    nas_store_get_info(db, &info);
    ck_assert_int_eq(info.found_version, 2);
    int64_t id = 0;
    ck_assert_int_eq(nas_store_ranker_find(db, "nb201", "fm", NULL, &id), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "ghnas rank"));
    nas_ranker_record rec = {.space = "nb201", .dataset = "fm", .model = "gp"};
    ck_assert_int_eq(nas_store_ranker_add(db, &rec, &id), NAS_EINVAL); /* no bytes */
    const char bytes[5] = "RNKR";
    rec.checkpoint = bytes;
    rec.checkpoint_bytes = sizeof bytes;
    rec.n_labels = 2;
    rec.cv_tau = (double)NAN;
    rec.cv_rho = 0.5;
    rec.seconds = 1.5;
    rec.recipe_json = "{\"net_C\": 8}";
    ck_assert_int_eq(nas_store_ranker_add(db, &rec, &id), NAS_OK);
    ck_assert_int_eq(id, 1);
    rec.model = "ridge";
    ck_assert_int_eq(nas_store_ranker_add(db, &rec, &id), NAS_OK);
    int64_t found = 0;
    ck_assert_int_eq(nas_store_ranker_find(db, "nb201", "fm", NULL, &found), NAS_OK);
    ck_assert_int_eq(found, 2); /* the newest */
    void *b = NULL;
    size_t n = 0;
    int64_t ghn = -1;
    char *recipe = NULL;
    ck_assert_int_eq(nas_store_ranker_checkpoint(db, 1, &b, &n, &ghn, &recipe), NAS_OK);
    ck_assert_uint_eq(n, sizeof bytes);
    ck_assert_mem_eq(b, bytes, n);
    ck_assert_int_eq(ghn, 0);
    ck_assert_str_eq(recipe, "{\"net_C\": 8}");
    nas_free(b);
    nas_free(recipe);
    ck_assert_int_eq(nas_store_ranker_checkpoint(db, 9, &b, &n, NULL, NULL), NAS_ENOTFOUND);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_rankers(db, &t), NAS_OK);
    ck_assert_int_eq(t.n_rows, 2);
    ck_assert_str_eq(nas_store_table_at(&t, 1, nas_store_table_col(&t, "model"))->s, "ridge");
    ck_assert_int_eq(nas_store_table_at(&t, 0, nas_store_table_col(&t, "cv_tau"))->type,
                     NAS_STORE_NULL);
    nas_store_table_free(&t);
    ck_assert_int_eq(nas_store_query_labels(db, "nb201", "fm", 0, &t), NAS_OK);
    ck_assert_int_eq(t.n_rows, 2); /* not the running one, the ghn-init one, the nb101 one */
    ck_assert_int_eq(nas_store_table_at(&t, 0, 0)->i, 1);
    ck_assert_str_eq(nas_store_table_at(&t, 1, 2)->s, "B");
    nas_store_table_free(&t);
    ck_assert_int_eq(nas_store_query_labels(db, "nb201", "fm", 2, &t), NAS_OK);
    ck_assert_int_eq(t.n_rows, 0);
    nas_store_table_free(&t);
    nas_store_close(db);
    ck_assert_int_eq(sql_int(p, "PRAGMA user_version"), NAS_STORE_SCHEMA_VERSION);
}
END_TEST

/* Issue 16: v5 adds the data fingerprint to runs, GHNs and rankers. A v4 store with a GHN, a
 * ranker and a scored run migrates (their fingerprints unknown: NULL); the lookups then take a
 * row of the same fingerprint first, an unknown one next, never one of other data. */
START_TEST(test_store__migrate_v4_to_v5_fingerprints) {
    char p[512];
    test_tpath(p, "v4.db");
    ck_assert_int_eq(nas_store_debug_create(p, 4), NAS_OK);
    ck_assert_int_eq(
        nas_store_debug_exec(
            p, "INSERT INTO ghn_models (id, space, dataset, checkpoint) VALUES"
               " (1, 'nb201', 'fm', x'00');"
               "INSERT INTO rankers (id, space, dataset, model, n_labels, checkpoint) VALUES"
               " (1, 'nb201', 'fm', 'gp', 3, x'00');"
               "INSERT INTO runs (id, kind, status, space, dataset, scorer, ghn_id) VALUES"
               " (1, 'search', 'finished', 'nb201', 'fm', 'acc', 1);"
               "INSERT INTO architectures (id, space, canonical_hash, arch) VALUES"
               " (1, 'nb201', 'k1', 'A');"
               "INSERT INTO scores (run_id, arch_id, scorer, value, recipe) VALUES"
               " (1, 1, 'acc', 0.5, 'r1');"),
        NAS_OK);
    nas_store *db = open_ok(p, 0);
    nas_store_info info;
    nas_store_get_info(db, &info);
    ck_assert_int_eq(info.found_version, 4);
    ck_assert_int_eq(info.version, 5);
    ck_assert_int_eq(nas_store_check(db), NAS_OK);
    /* old rows: unknown fingerprint, accepted by any lookup */
    nas_run_info ri;
    ck_assert_int_eq(nas_store_run_get(db, 1, &ri), NAS_OK);
    ck_assert_str_eq(ri.fingerprint, "");
    nas_run_info_free(&ri);
    int64_t id = 0;
    ck_assert_int_eq(nas_store_ghn_find(db, "nb201", "fm", "aaaaaaaaaaaaaaaa", &id), NAS_OK);
    ck_assert_int_eq(id, 1);
    char fp[17] = "x";
    ck_assert_int_eq(nas_store_ghn_fingerprint(db, 1, fp), NAS_OK);
    ck_assert_str_eq(fp, "");
    ck_assert_int_eq(nas_store_ghn_fingerprint(db, 7, fp), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_store_ranker_find(db, "nb201", "fm", "aaaaaaaaaaaaaaaa", &id), NAS_OK);
    ck_assert_int_eq(id, 1);
    nas_score_hit hit;
    ck_assert_int_eq(
        nas_store_score_lookup(db, "nb201", "k1", "acc", 1, "r1", "aaaaaaaaaaaaaaaa", &hit),
        NAS_OK);
    ck_assert(hit.found);

    /* new rows carry their fingerprint */
    const char bytes[4] = "GHN";
    nas_ghn_record g = {.space = "nb201",
                        .dataset = "fm",
                        .fingerprint = "bbbbbbbbbbbbbbbb",
                        .train_loss = (double)NAN,
                        .val_acc = (double)NAN,
                        .seconds = (double)NAN,
                        .checkpoint = bytes,
                        .checkpoint_bytes = sizeof bytes};
    ck_assert_int_eq(nas_store_ghn_add(db, &g, &id), NAS_OK);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(nas_store_ghn_fingerprint(db, 2, fp), NAS_OK);
    ck_assert_str_eq(fp, "bbbbbbbbbbbbbbbb");
    /* the same data: the GHN of that fingerprint; other data: the unknown one, not GHN 2 */
    ck_assert_int_eq(nas_store_ghn_find(db, "nb201", "fm", "bbbbbbbbbbbbbbbb", &id), NAS_OK);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(nas_store_ghn_find(db, "nb201", "fm", "cccccccccccccccc", &id), NAS_OK);
    ck_assert_int_eq(id, 1);
    ck_assert_int_eq(nas_store_ghn_find(db, "nb201", "fm", NULL, &id), NAS_OK);
    ck_assert_int_eq(id, 2); /* any: the newest */
    /* a GHN newer than the matching one but of other data is passed over */
    g.fingerprint = "dddddddddddddddd";
    ck_assert_int_eq(nas_store_ghn_add(db, &g, &id), NAS_OK);
    ck_assert_int_eq(nas_store_ghn_find(db, "nb201", "fm", "bbbbbbbbbbbbbbbb", &id), NAS_OK);
    ck_assert_int_eq(id, 2);
    /* only other data's GHNs: not found, and the message says why */
    g.dataset = "cifar";
    ck_assert_int_eq(nas_store_ghn_add(db, &g, &id), NAS_OK);
    ck_assert_int_eq(nas_store_ghn_find(db, "nb201", "cifar", "bbbbbbbbbbbbbbbb", &id),
                     NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "other data"));

    /* rankers */
    nas_ranker_record rk = {.space = "nb201",
                            .dataset = "fm",
                            .fingerprint = "eeeeeeeeeeeeeeee",
                            .model = "gp",
                            .n_labels = 3,
                            .cv_tau = (double)NAN,
                            .cv_rho = (double)NAN,
                            .seconds = (double)NAN,
                            .checkpoint = bytes,
                            .checkpoint_bytes = sizeof bytes};
    ck_assert_int_eq(nas_store_ranker_add(db, &rk, &id), NAS_OK);
    ck_assert_int_eq(nas_store_ranker_find(db, "nb201", "fm", "eeeeeeeeeeeeeeee", &id), NAS_OK);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(nas_store_ranker_find(db, "nb201", "fm", "ffffffffffffffff", &id), NAS_OK);
    ck_assert_int_eq(id, 1); /* the unknown one, never ranker 2 */
    ck_assert_int_eq(nas_store_ranker_fingerprint(db, 2, fp), NAS_OK);
    ck_assert_str_eq(fp, "eeeeeeeeeeeeeeee");
    ck_assert_int_eq(nas_store_ranker_fingerprint(db, 1, fp), NAS_OK);
    ck_assert_str_eq(fp, ""); /* made before v5 */
    ck_assert_int_eq(nas_store_ranker_fingerprint(db, 9, fp), NAS_ENOTFOUND);

    /* runs and scores: a score made on other data is not reused */
    nas_run_spec rs = {.kind = "search",
                       .space = "nb201",
                       .dataset = "fm",
                       .scorer = "acc",
                       .ghn_id = 2,
                       .fingerprint = "bbbbbbbbbbbbbbbb"};
    int64_t run = 0;
    ck_assert_int_eq(nas_store_run_create(db, &rs, &run), NAS_OK);
    ck_assert_int_eq(nas_store_run_get(db, run, &ri), NAS_OK);
    ck_assert_str_eq(ri.fingerprint, "bbbbbbbbbbbbbbbb");
    nas_run_info_free(&ri);
    nas_arch_record a = {.space = "nb201", .canon_key = "k2", .arch = "B"};
    nas_score_record sc = {.scorer = "acc", .value = 0.7, .recipe = "r1"};
    ck_assert_int_eq(nas_store_add(db, run, 0, &a, &sc, 1, NULL), NAS_OK);
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    ck_assert_int_eq(
        nas_store_score_lookup(db, "nb201", "k2", "acc", 2, "r1", "bbbbbbbbbbbbbbbb", &hit),
        NAS_OK);
    ck_assert(hit.found);
    ck_assert_int_eq(
        nas_store_score_lookup(db, "nb201", "k2", "acc", 2, "r1", "cccccccccccccccc", &hit),
        NAS_OK);
    ck_assert(!hit.found);
    ck_assert_int_eq(nas_store_score_lookup(db, "nb201", "k2", "acc", 2, "r1", NULL, &hit), NAS_OK);
    ck_assert(hit.found);
    nas_store_close(db);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM runs WHERE data_fingerprint IS NULL"), 1);
}
END_TEST

/* Issue 14: v4 keeps the weights of finished trainings. A v2 store with a finished training
 * (whose checkpoint was cleared) migrates: the training is intact and has no kept weights;
 * trainings finished afterwards keep theirs, atomically with the status; drop-weights removes
 * them. */
START_TEST(test_store__migrate_v2_to_v4_kept_weights) {
    char p[512];
    test_tpath(p, "v2.db");
    ck_assert_int_eq(nas_store_debug_create(p, 2), NAS_OK);
    ck_assert_int_eq(
        nas_store_debug_exec(
            p, "INSERT INTO runs (id, kind, status, space, dataset, scorer) VALUES"
               " (1, 'search', 'finished', 'nb201', 'fm', 'acc'),"
               " (2, 'evaluate', 'finished', 'nb201', 'fm', '');"
               "INSERT INTO architectures (id, space, canonical_hash, arch) VALUES"
               " (1, 'nb201', 'a', 'A'), (2, 'nb201', 'b', 'B');"
               "INSERT INTO trainings (id, run_id, arch_id, epochs, epochs_done, test_acc, status)"
               " VALUES (1, 2, 1, 2, 2, 0.8, 'finished');"),
        NAS_OK);
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY), NAS_EUNSUPPORTED);
    db = open_ok(p, 0);
    nas_store_info info;
    nas_store_get_info(db, &info);
    ck_assert_int_eq(info.found_version, 2);
    ck_assert_int_eq(info.version, NAS_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(nas_store_check(db), NAS_OK);
    nas_store_training t;
    ck_assert_int_eq(nas_store_training_get(db, 1, true, &t), NAS_OK);
    ck_assert_int_eq(t.status, NAS_RUN_FINISHED);
    ck_assert(!t.has_weights);
    ck_assert_ptr_null(t.weights);
    ck_assert_double_eq_tol(t.test_acc, 0.8, 1e-12);
    ck_assert_str_eq(t.arch, "A");
    ck_assert_str_eq(t.space, "nb201");
    nas_store_training_free(&t);
    ck_assert_int_eq(nas_store_training_get(db, 9, false, &t), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "training 9 does not exist"));

    /* A training finished now keeps its weights; a failed one does not. */
    nas_training_spec ts = {
        .run_id = 2, .arch_id = 2, .recipe_json = "{}", .init = "scratch", .epochs = 1};
    nas_training_info ti;
    ck_assert_int_eq(nas_store_training_begin(db, &ts, &ti), NAS_OK);
    unsigned char blob[100];
    for (int i = 0; i < 100; i++) {
        blob[i] = (unsigned char)(i * 7);
    }
    nas_kept_weights kw = {"test/1", 25, blob, sizeof blob};
    nas_kept_weights bad = {"", 25, blob, sizeof blob};
    ck_assert_int_eq(
        nas_store_training_finish_kept(db, ti.id, NAS_RUN_FINISHED, 0.9, 0.8, 0.7, &bad),
        NAS_EINVAL);
    ck_assert_int_eq(
        nas_store_training_finish_kept(db, ti.id, NAS_RUN_FINISHED, 0.9, 0.8, 0.7, &kw), NAS_OK);
    ck_assert_int_eq(nas_store_training_get(db, ti.id, true, &t), NAS_OK);
    ck_assert(t.has_weights);
    ck_assert_str_eq(t.weights_format, "test/1");
    ck_assert_int_eq(t.weights_bytes, 100);
    ck_assert_mem_eq(t.weights, blob, sizeof blob);
    ck_assert_double_eq_tol(t.test_acc, 0.7, 1e-12);
    nas_store_training_free(&t);
    ck_assert_int_eq(nas_store_training_finish_kept(db, 99, NAS_RUN_FINISHED, 0, 0, 0, &kw),
                     NAS_ENOTFOUND);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM trained_weights"), 1); /* rolled back */
    /* Dropping: an id without weights is refused, then all go and the trainings stay. */
    int64_t nd = -1, bytes = -1;
    ck_assert_int_eq(nas_store_drop_weights(db, 1, &nd, &bytes), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "no kept weights"));
    ck_assert_int_eq(nas_store_drop_weights(db, 0, &nd, &bytes), NAS_OK);
    ck_assert_int_eq(nd, 1);
    ck_assert_int_eq(bytes, 100);
    ck_assert_int_eq(nas_store_training_get(db, ti.id, true, &t), NAS_OK);
    ck_assert(!t.has_weights);
    ck_assert_int_eq(t.status, NAS_RUN_FINISHED);
    nas_store_training_free(&t);
    nas_store_close(db);
    ck_assert_int_eq(sql_int(p, "PRAGMA user_version"), NAS_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM trainings"), 2);
    /* Deleting a training deletes its kept weights (ON DELETE CASCADE). */
    db = open_ok(p, 0);
    ck_assert_int_eq(
        nas_store_training_finish_kept(db, ti.id, NAS_RUN_FINISHED, 0.9, 0.8, 0.7, &kw), NAS_OK);
    nas_store_close(db);
    ck_assert_int_eq(nas_store_debug_exec(p, "PRAGMA foreign_keys = ON; DELETE FROM trainings"),
                     NAS_OK);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM trained_weights"), 0);
}
END_TEST

/* ---- refusals
 * -------------------------------------------------------------------------------- */

/* Open with every mode; each must fail with `want` mentioning the path and leave the bytes. */
static void expect_refused(const char *path, nas_status want, const char *needle) {
    size_t n0 = 0, n1 = 0;
    unsigned char *before = slurp(path, &n0);
    ck_assert_ptr_nonnull(before);
    const unsigned modes[3] = {NAS_STORE_READONLY, 0, NAS_STORE_CREATE};
    for (int m = 0; m < 3; m++) {
        nas_store *db = NULL;
        nas_status st = nas_store_open(&db, path, modes[m]);
        ck_assert_msg(st == want, "%s mode %u: status %d, want %d: %s", path, modes[m], st, want,
                      nas_errmsg());
        ck_assert_ptr_null(db);
        ck_assert_msg(strstr(nas_errmsg(), path), "message without the path: %s", nas_errmsg());
        ck_assert_msg(strstr(nas_errmsg(), needle), "'%s' not in: %s", needle, nas_errmsg());
        unsigned char *after = slurp(path, &n1);
        ck_assert_uint_eq(n0, n1);
        ck_assert_msg(memcmp(before, after, n0) == 0, "%s was modified", path);
        free(after);
        ck_assert(!sidecar(path, "-wal") && !sidecar(path, "-shm"));
    }
    free(before);
}

START_TEST(test_store__refuse_foreign_newer_damaged) {
    char p[512];
    /* Garbage bytes. */
    unsigned char junk[4096];
    nas_rng r;
    nas_rng_seed(&r, 11);
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (unsigned char)nas_rng_below(&r, 256);
    }
    spit(test_tpath(p, "garbage.db"), junk, sizeof junk);
    expect_refused(p, NAS_EFORMAT, "not an SQLite");
    spit(test_tpath(p, "short.db"), "hello\n", 6);
    expect_refused(p, NAS_EFORMAT, "only 6 bytes");

    /* Another application's SQLite file, with and without an application id. */
    ck_assert_int_eq(nas_store_debug_exec(test_tpath(p, "other.db"),
                                          "PRAGMA application_id = 42; CREATE TABLE t(x);"
                                          "INSERT INTO t VALUES (1);"),
                     NAS_OK);
    expect_refused(p, NAS_EFORMAT, "another application");
    ck_assert_int_eq(nas_store_debug_exec(test_tpath(p, "plain.db"),
                                          "CREATE TABLE runs(x); INSERT INTO runs VALUES (1);"),
                     NAS_OK);
    expect_refused(p, NAS_EFORMAT, "not a ghnas results store");

    /* A store written by a newer ghnas. */
    test_tpath(p, "newer.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    nas_store_close(db);
    ck_assert_int_eq(nas_store_debug_exec(p, "PRAGMA user_version = 99"), NAS_OK);
    expect_refused(p, NAS_EUNSUPPORTED, "newer ghnas (schema version 99");

    /* A truncated store: the header says more pages than the file has. */
    test_tpath(p, "trunc.db");
    db = open_ok(p, NAS_STORE_CREATE);
    int64_t run = new_run(db, "acc", 0);
    for (int i = 0; i < 200; i++) {
        char key[16];
        snprintf(key, sizeof key, "t%d", i);
        add_result(db, run, i, key, 0.5, 0.5, 10, 10);
    }
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    nas_store_close(db);
    size_t n = 0;
    unsigned char *whole = slurp(p, &n);
    ck_assert_uint_gt(n, 8192);
    spit(p, whole, n / 2 + 100);
    expect_refused(p, NAS_EFORMAT, "truncated");
    spit(p, whole, 50);
    expect_refused(p, NAS_EFORMAT, "only 50 bytes");

    /* Damage inside (header intact): the open works, the integrity check or a query reports it.
     */
    memset(whole + n / 2, 0x5a, 4096);
    spit(p, whole, n);
    free(whole);
    nas_status st = nas_store_open(&db, p, 0);
    if (st == NAS_OK) {
        st = nas_store_check(db);
        nas_store_close(db);
    }
    ck_assert_int_eq(st, NAS_EDB);
    ck_assert_msg(strstr(nas_errmsg(), p), "%s", nas_errmsg());

    /* An empty file: only a creating writer takes it (as a new store). */
    spit(test_tpath(p, "empty.db"), "", 0);
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "empty"));
    ck_assert_int_eq(nas_store_open(&db, p, 0), NAS_EFORMAT);
    db = open_ok(p, NAS_STORE_CREATE);
    nas_store_close(db);
}
END_TEST

/* Run fn in a child as an unprivileged user (root bypasses file permissions); exit code = fn's
 * status. Returns -1 when the child could not drop privileges. */
static int as_nobody(nas_status (*fn)(const char *), const char *path, char *msg, size_t cap) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            _exit(100);
        }
        nas_status st = fn(path);
        const char *m = nas_errmsg();
        ssize_t w = write(fds[1], m, strlen(m));
        (void)w;
        _exit((int)st);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], msg, cap - 1);
    msg[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status) == 100 ? -1 : WEXITSTATUS(status);
}

static nas_status open_writer(const char *path) {
    nas_store *db = NULL;
    nas_status st = nas_store_open(&db, path, NAS_STORE_CREATE);
    nas_store_close(db);
    return st;
}

static nas_status open_reader(const char *path) {
    nas_store *db = NULL;
    nas_status st = nas_store_open(&db, path, NAS_STORE_READONLY);
    nas_store_close(db);
    return st;
}

START_TEST(test_store__missing_unreadable_readonly) {
    char p[512], d[512];
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, test_tpath(p, "missing.db"), NAS_STORE_READONLY),
                     NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "does not exist"));
    ck_assert_int_eq(nas_store_open(&db, p, 0), NAS_ENOTFOUND);
    ck_assert(!exists(p));
    ck_assert_int_eq(nas_store_open(&db, test_tpath(p, "no/such/dir/x.db"), NAS_STORE_CREATE),
                     NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "does not exist"));
    ck_assert_int_eq(nas_store_open(&db, test_tmpdir, NAS_STORE_CREATE), NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "directory"));
    ck_assert_int_eq(nas_store_open(&db, "", 0), NAS_EINVAL);
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY | NAS_STORE_CREATE), NAS_EINVAL);

    /* Permissions, checked as an unprivileged user. */
    test_tpath(p, "perm.db");
    db = open_ok(p, NAS_STORE_CREATE);
    nas_store_close(db);
    char msg[1024];
    chmod(p, 0444);
    int rc = as_nobody(open_writer, p, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "store: cannot drop privileges; permission cases skipped\n");
        return;
    }
    ck_assert_int_eq(rc, NAS_EIO);
    ck_assert_msg(strstr(msg, "read-only") && strstr(msg, p), "%s", msg);
    ck_assert_int_eq(as_nobody(open_reader, p, msg, sizeof msg), NAS_OK);
    chmod(p, 0000);
    ck_assert_int_eq(as_nobody(open_reader, p, msg, sizeof msg), NAS_EIO);
    ck_assert_msg(strstr(msg, "cannot read") && strstr(msg, p), "%s", msg);
    chmod(p, 0644);
    /* A read-only directory: a writer could not create the -wal file; a reader still reads
     * the store (SQLite could not create its -shm there either). */
    test_tpath(d, "ro");
    ck_assert_int_eq(mkdir(d, 0777), 0);
    snprintf(p, sizeof p, "%s/x.db", d);
    db = open_ok(p, NAS_STORE_CREATE);
    new_run(db, "acc", 0);
    nas_store_close(db);
    ck_assert_int_eq(chmod(d, 0555), 0);
    ck_assert_int_eq(as_nobody(open_writer, p, msg, sizeof msg), NAS_EIO);
    ck_assert_msg(strstr(msg, "not writable"), "%s", msg);
    ck_assert_int_eq(as_nobody(open_reader, p, msg, sizeof msg), NAS_OK);
    ck_assert(!sidecar(p, "-wal") && !sidecar(p, "-shm"));
}
END_TEST

/* A process killed in the middle of a rollback-journal transaction: leaves a hot -journal. */
static void hot_journal_child(const char *path) {
    sqlite3 *c = NULL;
    if (sqlite3_open(path, &c) != SQLITE_OK ||
        sqlite3_exec(c,
                     "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1;"
                     "CREATE TABLE t0(x); INSERT INTO t0 VALUES (1); BEGIN;"
                     "INSERT INTO t0 SELECT randomblob(4000) FROM (WITH RECURSIVE r(i) AS (SELECT 1"
                     " UNION ALL SELECT i + 1 FROM r WHERE i < 200) SELECT i FROM r);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        _exit(1);
    }
    raise(SIGKILL);
    _exit(2);
}

/* A reader that finds the remains of a killed writer rolls them back when it may write (as any
 * SQLite writer would) and says what to do when it may not. */
START_TEST(test_store__reader_after_killed_writer) {
    char p[512], msg[1024];
    test_tpath(p, "hot.db");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        hot_journal_child(p);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ck_assert(sidecar(p, "-journal"));
    /* Unprivileged and without write access: a message, not SQLite's "readonly database". */
    ck_assert_int_eq(chmod(p, 0444), 0);
    int rc = as_nobody(open_reader, p, msg, sizeof msg);
    if (rc >= 0) {
        ck_assert_int_eq(rc, NAS_EDB);
        ck_assert_msg(strstr(msg, "needs recovery") && strstr(msg, p), "%s", msg);
    }
    ck_assert(sidecar(p, "-journal"));
    ck_assert_int_eq(chmod(p, 0644), 0);
    /* With write access the reader recovers the file and sees the committed state: one table of
     * another application, so not a results store. */
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), "another application"), "%s", nas_errmsg());
    ck_assert(!sidecar(p, "-journal"));
}
END_TEST

START_TEST(test_store__sql_is_read_only) {
    char p[512];
    test_tpath(p, "sql.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    new_run(db, "acc", 0);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_sql(db, "SELECT 1", &t), NAS_EINVAL); /* writer */
    nas_store_close(db);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = slurp(p, &n0);

    db = open_ok(p, NAS_STORE_READONLY);
    const char *refused[] = {"DELETE FROM runs",
                             "UPDATE runs SET name = 'x'",
                             "INSERT INTO scorers (name) VALUES ('x')",
                             "DROP TABLE scores",
                             "CREATE TABLE x (y)",
                             "PRAGMA user_version = 7",
                             "PRAGMA query_only = 0"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_msg(nas_store_query_sql(db, refused[i], &t) != NAS_OK, "%s ran", refused[i]);
        ck_assert_msg(strstr(nas_errmsg(), "writ") || strstr(nas_errmsg(), "read-only") ||
                          strstr(nas_errmsg(), "no columns"),
                      "%s: %s", refused[i], nas_errmsg());
    }
    ck_assert_int_eq(nas_store_query_sql(db, "SELECT 1; DELETE FROM runs", &t), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "one statement"));
    ck_assert_int_eq(nas_store_query_sql(db, "  -- nothing\n", &t), NAS_EINVAL);
    char attach[600];
    snprintf(attach, sizeof attach, "ATTACH '%s/other.db' AS o", test_tmpdir);
    ck_assert_int_ne(nas_store_query_sql(db, attach, &t), NAS_OK);
    ck_assert(!exists(test_tpath(attach, "other.db")));
    ck_assert_int_eq(nas_store_query_sql(db, "SELECT * FROM no_such_table", &t), NAS_EDB);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "no_such_table"));
    /* Read statements work, trailing semicolons and comments included. */
    ck_assert_int_eq(
        nas_store_query_sql(db, "SELECT count(*) AS n, 'a,\"b' AS s FROM runs; -- done", &t),
        NAS_OK);
    ck_assert_int_eq(t.n_rows, 1);
    ck_assert_str_eq(t.cols[0], "n");
    ck_assert_int_eq(nas_store_table_at(&t, 0, 0)->i, 1);
    ck_assert_str_eq(nas_store_table_at(&t, 0, 1)->s, "a,\"b");
    nas_store_table_free(&t);
    ck_assert_int_eq(nas_store_query_sql(db, "PRAGMA table_info(runs)", &t), NAS_OK);
    ck_assert_int_ge(t.n_rows, 13);
    nas_store_table_free(&t);
    nas_run_spec rs = {.kind = "search", .space = "s", .dataset = "d"};
    int64_t id = 0;
    ck_assert_int_eq(nas_store_run_create(db, &rs, &id), NAS_EINVAL);
    nas_store_close(db);
    unsigned char *after = slurp(p, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(before, after, n0);
    free(before);
    free(after);
}
END_TEST

/* ---- batches, concurrency, crashes
 * ----------------------------------------------------------- */

START_TEST(test_store__batch_atomic_for_readers) {
    char p[512];
    test_tpath(p, "batch.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    ck_assert_int_eq(nas_store_set_batch(db, 5, 1000.0), NAS_OK);
    int64_t run = new_run(db, "acc", 0);
    nas_store *ro = open_ok(p, NAS_STORE_READONLY);
    nas_store_table t = {0};
    for (int i = 0; i < 12; i++) {
        char key[16];
        snprintf(key, sizeof key, "b%d", i);
        nas_rng rng;
        nas_rng_seed(&rng, (uint64_t)i);
        nas_store_progress pr = {&rng, i + 1, NULL};
        add_result_p(db, run, i, key, 0.1 * i, 1.0, 10, 10, &pr);
        ck_assert_int_eq(nas_store_query_sql(ro,
                                             "SELECT (SELECT count(*) FROM scores),"
                                             " (SELECT count(*) FROM architectures),"
                                             " (SELECT coalesce(max(n_done), 0) FROM run_state)",
                                             &t),
                         NAS_OK);
        int64_t committed = (i + 1) / 5 * 5; /* whole batches only */
        ck_assert_int_eq(nas_store_table_at(&t, 0, 0)->i, 2 * committed);
        ck_assert_int_eq(nas_store_table_at(&t, 0, 1)->i, committed);
        ck_assert_int_eq(nas_store_table_at(&t, 0, 2)->i, committed);
        nas_store_table_free(&t);
    }
    ck_assert_int_eq(nas_store_pending(db), 2);
    ck_assert_int_eq(nas_store_run_set_status(db, run, NAS_RUN_FINISHED), NAS_OK); /* flushes */
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM architectures"), 12);
    ck_assert_int_eq(sql_int(p, "SELECT n_done FROM run_state"), 12);

    /* The time limit commits too. */
    ck_assert_int_eq(nas_store_set_batch(db, 1000, 0.05), NAS_OK);
    add_result(db, run, 12, "late", 0.5, 0.5, 10, 10);
    ck_assert_int_eq(nas_store_pending(db), 1);
    struct timespec ts = {0, 80 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ck_assert_int_eq(nas_store_poll(db), NAS_OK);
    ck_assert_int_eq(nas_store_pending(db), 0);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM architectures"), 13);
    nas_store_info info;
    nas_store_get_info(db, &info);
    ck_assert_int_eq(info.results, 13);
    ck_assert_int_eq(info.commits, 4);
    ck_assert(info.seconds > 0);
    nas_store_close(ro);
    nas_store_close(db);
}
END_TEST

START_TEST(test_store__reader_process_during_commits) {
    char p[512];
    test_tpath(p, "conc.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    ck_assert_int_eq(nas_store_set_batch(db, 8, 1000.0), NAS_OK);
    int64_t run = new_run(db, "acc", 0);
    nas_store_close(db);
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Reader: every snapshot holds whole batches, consistent across tables; never stuck. */
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1) {
            _exit(2);
        }
        nas_store *ro = NULL;
        if (nas_store_open(&ro, p, NAS_STORE_READONLY) != NAS_OK) {
            _exit(3);
        }
        int64_t last = 0, reads = 0;
        double worst = 0;
        for (;;) {
            nas_store_table t = {0};
            double t0 = nas_time_now();
            if (nas_store_query_sql(ro,
                                    "SELECT (SELECT count(*) FROM scores),"
                                    " (SELECT count(*) FROM architectures),"
                                    " (SELECT coalesce(max(n_done), 0) FROM run_state)",
                                    &t) != NAS_OK) {
                _exit(4);
            }
            double dt = nas_time_now() - t0;
            worst = dt > worst ? dt : worst;
            int64_t s = nas_store_table_at(&t, 0, 0)->i, a = nas_store_table_at(&t, 0, 1)->i,
                    d = nas_store_table_at(&t, 0, 2)->i;
            nas_store_table_free(&t);
            reads++;
            if (s != 2 * a || a != d || a % 8 != 0 || a < last) {
                _exit(5);
            }
            last = a;
            if (a == 800) {
                break;
            }
        }
        nas_store_close(ro);
        _exit(reads >= 10 && worst < 5.0 ? 0 : 6);
    }
    close(go[0]);
    db = open_ok(p, 0);
    ck_assert_int_eq(nas_store_set_batch(db, 8, 1000.0), NAS_OK);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    nas_rng rng;
    nas_rng_seed(&rng, 1);
    for (int i = 0; i < 800; i++) {
        char key[16];
        snprintf(key, sizeof key, "c%d", i);
        nas_store_progress pr = {&rng, i + 1, NULL};
        add_result_p(db, run, i, key, 0.5, 0.5, 10, 10, &pr);
    }
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    nas_store_close(db);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_msg(WEXITSTATUS(status) == 0, "reader exit code %d", WEXITSTATUS(status));
}
END_TEST

enum { CRASH_TOTAL = 1500, CRASH_SCORERS = 3 };

/* The search the crash test kills: candidate i's key is drawn from the run's RNG stream. */
static void crash_child(const char *path) {
    nas_store *db = NULL;
    if (nas_store_open(&db, path, NAS_STORE_CREATE) != NAS_OK) {
        _exit(10);
    }
    nas_store_set_batch(db, 7, 1000.0);
    int64_t run = 1;
    nas_run_info ri;
    nas_status st = nas_store_run_get(db, run, &ri);
    nas_run_info_free(&ri);
    if (st == NAS_ENOTFOUND) {
        run = new_run(db, "acc", 0);
    } else if (st != NAS_OK) {
        _exit(11);
    }
    if (nas_store_mark_stale(db, -1, NULL) != NAS_OK ||
        nas_store_run_set_status(db, run, NAS_RUN_RUNNING) != NAS_OK) {
        _exit(12);
    }
    bool found = false;
    nas_rng rng;
    int64_t done = 0;
    if (nas_store_load_state(db, run, &found, &rng, &done, NULL) != NAS_OK) {
        _exit(13);
    }
    if (!found) {
        nas_rng_seed(&rng, 2024);
        done = 0;
    }
    for (int64_t i = done; i < CRASH_TOTAL; i++) {
        char key[32], text[40];
        snprintf(key, sizeof key, "%016llx", (unsigned long long)nas_rng_u64(&rng));
        snprintf(text, sizeof text, "arch-%s", key);
        nas_arch_record a = {.space = "nb201",
                             .canon_key = key,
                             .arch = text,
                             .n_params = i,
                             .flops = 2 * i,
                             .n_nodes = 3};
        nas_score_record sc[CRASH_SCORERS] = {
            {.scorer = "acc", .value = 0.5},
            {.scorer = "loss", .value = 1.5, .lower_is_better = true},
            {.scorer = "params", .value = (double)i, .lower_is_better = true}};
        nas_store_progress pr = {&rng, i + 1, "{}"};
        if (nas_store_add(db, run, i, &a, sc, CRASH_SCORERS, &pr) != NAS_OK) {
            _exit(14);
        }
        /* "Scoring" time, so that kills land anywhere in a run of a few hundred ms. */
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
    if (nas_store_run_set_status(db, run, NAS_RUN_FINISHED) != NAS_OK) {
        _exit(15);
    }
    nas_store_close(db);
    _exit(0);
}

/* After a crash: a healthy file whose scores match the committed progress exactly. */
static int64_t crash_verify(const char *path) {
    /* A reader first, on the WAL the killed writer left: it sees the committed batches. */
    nas_store *ro = NULL;
    int64_t ro_done = -1;
    nas_status st = nas_store_open(&ro, path, NAS_STORE_READONLY);
    if (st == NAS_OK) {
        nas_store_table t = {0};
        ck_assert_int_eq(
            nas_store_query_sql(ro, "SELECT coalesce(max(n_done), 0) FROM run_state", &t), NAS_OK);
        ro_done = nas_store_table_at(&t, 0, 0)->i;
        nas_store_table_free(&t);
        nas_store_close(ro);
    } else {
        /* Only a file killed while it was being created has no schema yet. */
        ck_assert_msg(st == NAS_EFORMAT && strstr(nas_errmsg(), "empty"), "%s", nas_errmsg());
    }
    /* A writer open runs WAL recovery; CREATE takes a file killed before its schema existed. */
    nas_store *db = open_ok(path, NAS_STORE_CREATE);
    ck_assert_msg(nas_store_check(db) == NAS_OK, "%s", nas_errmsg());
    nas_store_close(db);
    int64_t done = sql_int(path, "SELECT coalesce(max(n_done), 0) FROM run_state");
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM scores"), CRASH_SCORERS * done);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM architectures"), done);
    ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM (SELECT 1 FROM scores GROUP BY run_id,"
                                   " arch_id, scorer HAVING count(*) > 1)"),
                     0);
    ck_assert_int_eq(sql_int(path, "SELECT count(DISTINCT seq) FROM scores"), done);
    ck_assert_int_eq(sql_int(path, "SELECT coalesce(max(seq), -1) FROM scores"), done - 1);
    ck_assert(ro_done < 0 || ro_done == done);
    return done;
}

START_TEST(test_store__sigkill_and_resume) {
    char p[512];
    test_tpath(p, "crash.db");
    nas_rng r;
    nas_rng_seed(&r, (uint64_t)time(NULL));
    int64_t prev = 0;
    int kills = 0;
    for (int round = 0; round < 8; round++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            crash_child(p);
        }
        /* The first kill lands early (possibly while the file is created). */
        long ms = round == 0 ? 1 + (long)nas_rng_below(&r, 5) : 5 + (long)nas_rng_below(&r, 100);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status)) {
            ck_assert_msg(WEXITSTATUS(status) == 0, "child failed with %d", WEXITSTATUS(status));
        } else {
            ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
            kills++;
        }
        if (!exists(p)) {
            continue; /* killed before the file existed */
        }
        int64_t done = crash_verify(p);
        ck_assert_int_ge(done, prev); /* committed results are never lost */
        prev = done;
    }
    ck_assert_int_ge(kills, 4);
    /* Resume to the end without a kill. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        crash_child(p);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(crash_verify(p), CRASH_TOTAL);
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM runs WHERE status = 'finished'"), 1);
    /* The resumed stream is the uninterrupted one: same keys in the same order. */
    nas_store *ro = open_ok(p, NAS_STORE_READONLY);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_sql(ro,
                                         "SELECT a.canonical_hash FROM scores s JOIN architectures"
                                         " a ON a.id = s.arch_id WHERE s.scorer = 'acc'"
                                         " ORDER BY s.seq",
                                         &t),
                     NAS_OK);
    ck_assert_int_eq(t.n_rows, CRASH_TOTAL);
    nas_rng_seed(&r, 2024);
    for (int64_t i = 0; i < CRASH_TOTAL; i++) {
        char key[32];
        snprintf(key, sizeof key, "%016llx", (unsigned long long)nas_rng_u64(&r));
        ck_assert_str_eq(nas_store_table_at(&t, i, 0)->s, key);
    }
    nas_store_table_free(&t);
    nas_store_close(ro);
}
END_TEST

START_TEST(test_store__disk_full_message) {
    char p[512];
    test_tpath(p, "full.db");
    nas_store *db = open_ok(p, NAS_STORE_CREATE);
    int64_t run = new_run(db, "acc", 0);
    nas_store_close(db);
    /* No growth allowed: max_page_count cannot go below the current size. */
    ck_assert_int_eq(setenv(NAS_STORE_MAX_PAGES_ENV, "1", 1), 0);
    db = open_ok(p, 0);
    ck_assert_int_eq(nas_store_set_batch(db, 10, 1000.0), NAS_OK);
    char aux[4096];
    memset(aux, 'x', sizeof aux - 8);
    memcpy(aux, "{\"a\":\"", 6);
    memcpy(aux + sizeof aux - 10, "\"}", 3);
    nas_status st = NAS_OK;
    int added = 0;
    for (int i = 0; i < 10 && st == NAS_OK; i++) {
        char key[16];
        snprintf(key, sizeof key, "f%d", i);
        nas_arch_record a = {.space = "nb201",
                             .canon_key = key,
                             .arch = key,
                             .n_params = 1,
                             .flops = 1,
                             .n_nodes = 1};
        nas_score_record sc = {.scorer = "acc", .value = 0.5, .aux_json = aux};
        st = nas_store_add(db, run, i, &a, &sc, 1, NULL);
        added++;
    }
    ck_assert_int_eq(st, NAS_EDB);
    ck_assert_int_eq(added, 10); /* failed at the commit of the batch */
    ck_assert_msg(strstr(nas_errmsg(), "full") && strstr(nas_errmsg(), p), "%s", nas_errmsg());
    ck_assert_int_eq(nas_store_pending(db), 10); /* kept for a retry */
    ck_assert_int_eq(nas_store_flush(db), NAS_EDB);
    nas_log_level level = nas_log_get_level();
    nas_log_set_level(NAS_LOG_ERROR); /* the warning about the dropped batch is expected */
    nas_store_close(db);
    nas_log_set_level(level);
    ck_assert_int_eq(unsetenv(NAS_STORE_MAX_PAGES_ENV), 0);
    /* Nothing of the failed batch is visible; the file is healthy and usable. */
    ck_assert_int_eq(sql_int(p, "SELECT count(*) FROM scores"), 0);
    db = open_ok(p, 0);
    ck_assert_int_eq(nas_store_check(db), NAS_OK);
    ck_assert_int_eq(setenv(NAS_STORE_MAX_PAGES_ENV, "zero", 1), 0);
    nas_store *db2 = NULL;
    ck_assert_int_eq(nas_store_open(&db2, p, 0), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), NAS_STORE_MAX_PAGES_ENV));
    unsetenv(NAS_STORE_MAX_PAGES_ENV);
    nas_store_close(db);
}
END_TEST

Suite *nas_test_store_suite(void) {
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_store__create_reopen_header);
    tcase_add_test(tc, test_store__runs_and_state);
    tcase_add_test(tc, test_store__scores_and_reuse);
    tcase_add_test(tc, test_store__pareto_matches_brute_force);
    tcase_add_test(tc, test_store__trainings_and_ghns);
    suite_add_tcase(s, tc);
    tc = tcase_create("migration");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_store__migrate_v1_to_v2_real);
    tcase_add_test(tc, test_store__rankers_and_labels);
    tcase_add_test(tc, test_store__migrate_v2_to_v4_kept_weights);
    tcase_add_test(tc, test_store__migrate_v4_to_v5_fingerprints);
    suite_add_tcase(s, tc);
    tc = tcase_create("refusal");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_store__refuse_foreign_newer_damaged);
    tcase_add_test(tc, test_store__missing_unreadable_readonly);
    tcase_add_test(tc, test_store__sql_is_read_only);
    tcase_add_test(tc, test_store__reader_after_killed_writer);
    tcase_add_test(tc, test_store__disk_full_message);
    suite_add_tcase(s, tc);
    tc = tcase_create("concurrency");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_store__batch_atomic_for_readers);
    tcase_add_test(tc, test_store__reader_process_during_commits);
    tcase_add_test(tc, test_store__sigkill_and_resume);
    suite_add_tcase(s, tc);
    return s;
}
