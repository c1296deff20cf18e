/*
 * Reliability regression tests (issue 15), one per finding: an edited space file must not reuse
 * scores of its earlier content, checkpoints are refused from their header (never read whole),
 * FIFOs and devices are refused without blocking, refused and damaged stores are never written,
 * a live writer of a run is detected by its lock, output paths are checked before work, a stop
 * inside a round counts what it stored, and scorer lists refuse empty entries.
 */
#include "test_suites.h"
#include "testdir.h"

#include "ghnas/container.h"
#include "ghnas/ghn.h"
#include "ghnas/job.h"
#include "ghnas/score.h"
#include "ghnas/search.h"
#include "ghnas/store.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static void tmp_setup(void) {
    test_tmpdir_create("reliability");
}

static void tmp_teardown(void) {
    test_tmpdir_remove();
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* An NB101-kind space "mysp" with `stacks` stacks, written to path. */
static void write_mysp(const char *path, int stacks) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"name\": \"mysp\", \"kind\": \"cell_nb101\", \"max_vertices\": 7, "
             "\"max_edges\": 9, \"ops\": [\"conv3x3-bn-relu\", \"conv1x1-bn-relu\", "
             "\"maxpool3x3\"], \"skeleton\": {\"stem_channels\": 16, \"stacks\": %d, "
             "\"modules_per_stack\": 1, \"downsample\": \"maxpool2x2\"}}\n",
             stacks);
    write_text(path, text);
}

static nas_search_config quiet_cfg(int64_t budget) {
    nas_search_config c = nas_search_config_default();
    c.budget = budget;
    c.quiet = true;
    c.threads = 2;
    return c;
}

/* Every params score of run `run` equals the parameter count of its arch compiled in *sp. */
static void assert_params_match(const char *db_path, const nas_space *sp, int64_t run,
                                const nas_net_config *cfg) {
    nas_store *db = NULL;
    ck_assert_msg(nas_store_open(&db, db_path, NAS_STORE_READONLY) == NAS_OK, "%s", nas_errmsg());
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT a.arch, s.value FROM scores s JOIN architectures a ON a.id = s.arch_id"
             " WHERE s.run_id = %lld AND s.scorer = 'params'",
             (long long)run);
    nas_store_table t = {0};
    ck_assert_msg(nas_store_query_sql(db, sql, &t) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_gt(t.n_rows, 0);
    for (int64_t i = 0; i < t.n_rows; i++) {
        nas_arch a;
        ck_assert_int_eq(nas_arch_decode(sp, nas_store_table_at(&t, i, 0)->s, &a), NAS_OK);
        nas_net net;
        ck_assert_msg(nas_net_compile(&net, sp, &a, cfg) == NAS_OK, "%s", nas_errmsg());
        ck_assert_msg(nas_store_table_at(&t, i, 1)->r == (double)net.n_params,
                      "run %lld stores params %g for %s, compiled: %lld", (long long)run,
                      nas_store_table_at(&t, i, 1)->r, net.arch, (long long)net.n_params);
        nas_net_free(&net);
    }
    nas_store_table_free(&t);
    nas_store_close(db);
}

/* ---- 1. an edited space file reuses no score of its earlier content ------------------------- */

START_TEST(test_reliability__edited_space_rescored) {
    char sp_path[512], db_path[512];
    test_tpath(sp_path, "mysp.json");
    test_tpath(db_path, "r.db");
    write_mysp(sp_path, 3);
    nas_space sp3, sp1;
    ck_assert_msg(nas_space_load(&sp3, sp_path) == NAS_OK, "%s", nas_errmsg());
    nas_store *db = NULL;
    ck_assert_msg(nas_store_open(&db, db_path, NAS_STORE_CREATE) == NAS_OK, "%s", nas_errmsg());
    nas_scorer sc;
    ck_assert_int_eq(nas_score_make(&sc, "params", NULL), NAS_OK);
    nas_search_config c = quiet_cfg(30);
    nas_search_result a, b, d;
    ck_assert_msg(nas_search_run(db, &sp3, &sc, 0, &c, &a) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(a.n_scored, 30);
    /* the same file reformatted (keys moved, a description): the same content, all reused */
    write_text(sp_path, "{\"description\": \"re-indented\",\n  \"skeleton\": {\"downsample\": "
                        "\"maxpool2x2\", \"modules_per_stack\": 1, \"stacks\": 3, "
                        "\"stem_channels\": 16},\n  \"ops\": [\"conv3x3-bn-relu\", "
                        "\"conv1x1-bn-relu\", \"maxpool3x3\"], \"max_edges\": 9, "
                        "\"max_vertices\": 7, \"kind\": \"cell_nb101\", \"name\": \"mysp\"}\n");
    nas_space sp3b;
    ck_assert_msg(nas_space_load(&sp3b, sp_path) == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_eq(sp3b.digest, sp3.digest);
    ck_assert_msg(nas_search_run(db, &sp3b, &sc, 0, &c, &b) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(b.n_reused, 30);
    /* one stack instead of three: another network, nothing reused, the right counts stored */
    write_mysp(sp_path, 1);
    ck_assert_msg(nas_space_load(&sp1, sp_path) == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_ne(sp1.digest, sp3.digest);
    ck_assert_msg(nas_search_run(db, &sp1, &sc, 0, &c, &d) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(d.n_reused, 0);
    ck_assert_int_eq(d.n_scored, 30);
    nas_net_config net = nas_net_config_default();
    assert_params_match(db_path, &sp1, d.run_id, &net);
    assert_params_match(db_path, &sp3, a.run_id, &net);
    /* the run records the space's content and digest */
    nas_search_record rec;
    ck_assert_msg(nas_search_record_get(db, d.run_id, NULL, &rec) == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_eq(rec.space_digest, sp1.digest);
    ck_assert_ptr_nonnull(rec.space_json);
    nas_space from_rec;
    ck_assert_msg(nas_space_parse(&from_rec, rec.space_json, strlen(rec.space_json), "record") ==
                      NAS_OK,
                  "%s", nas_errmsg());
    ck_assert_str_eq(from_rec.digest, sp1.digest);
    nas_search_record_free(&rec);
    /* a space parsed from text (no file) searches too: its digest keys the scores (all reused
       from the file's run), no content is recorded */
    nas_search_result f;
    ck_assert_msg(nas_search_run(db, &from_rec, &sc, 0, &c, &f) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(f.n_reused, 30);
    ck_assert_msg(nas_search_record_get(db, f.run_id, NULL, &rec) == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_eq(rec.space_digest, sp1.digest);
    ck_assert_ptr_null(rec.space_json);
    nas_search_record_free(&rec);
    /* resuming run a (three stacks) with the one-stack file is refused, naming the change */
    nas_search_result e;
    nas_search_config c2 = quiet_cfg(40);
    ck_assert_int_eq(nas_search_resume(db, a.run_id, &sp1, &sc, &c2, &e), NAS_EINVAL);
    ck_assert_msg(strstr(nas_errmsg(), "other content") != NULL, "%s", nas_errmsg());
    /* a space file changed between loading and the search is refused too */
    ck_assert_int_eq(nas_search_run(db, &sp3, &sc, 0, &c, &e), NAS_EINVAL);
    ck_assert_msg(strstr(nas_errmsg(), "changed since it was loaded") != NULL, "%s", nas_errmsg());
    nas_scorer_free(&sc);
    nas_store_close(db);
}
END_TEST

/* ---- 8. a run stopped inside a round counts every result it stored ----------------------------
 */

typedef struct stopper {
    int calls, stop_after;
    volatile sig_atomic_t *stop;
} stopper;

static nas_status stopper_fn(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    stopper *p = sc->ctx;
    int k;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
    k = ++p->calls;
    if (k >= p->stop_after) {
        *p->stop = 1;
    }
    out->value = (double)net->n_params;
    return NAS_OK;
}

static int64_t count_scores(const char *db_path, int64_t run) {
    nas_store *db = NULL;
    ck_assert_msg(nas_store_open(&db, db_path, NAS_STORE_READONLY) == NAS_OK, "%s", nas_errmsg());
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM scores WHERE run_id = %lld", (long long)run);
    nas_store_table t = {0};
    ck_assert_msg(nas_store_query_sql(db, sql, &t) == NAS_OK, "%s", nas_errmsg());
    int64_t n = nas_store_table_at(&t, 0, 0)->i;
    nas_store_table_free(&t);
    nas_store_close(db);
    return n;
}

START_TEST(test_reliability__stop_inside_round_counts_stored) {
    char db_path[512];
    test_tpath(db_path, "s.db");
    nas_space sp;
    ck_assert_msg(nas_space_load(&sp, "nb201") == NAS_OK, "%s", nas_errmsg());
    nas_store *db = NULL;
    ck_assert_msg(nas_store_open(&db, db_path, NAS_STORE_CREATE) == NAS_OK, "%s", nas_errmsg());
    volatile sig_atomic_t stop = 0;
    stopper p = {0, 13, &stop};
    nas_scorer sc;
    memset(&sc, 0, sizeof sc);
    snprintf(sc.name, sizeof sc.name, "stopper");
    sc.fn = stopper_fn;
    sc.ctx = &p;
    nas_search_config c = quiet_cfg(100);
    c.strategy = NAS_STRATEGY_RANDOM;
    c.round = 8;
    c.threads = 1; /* the stop lands after call 13: inside the second round */
    c.stop = &stop;
    nas_search_result r;
    ck_assert_msg(nas_search_run(db, &sp, &sc, 0, &c, &r) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(r.status, NAS_RUN_INTERRUPTED);
    nas_store_close(db);
    int64_t stored = count_scores(db_path, r.run_id);
    ck_assert_int_eq(stored, 13);
    ck_assert_int_eq(r.n_results, stored);
    ck_assert_int_eq(r.n_scored + r.n_reused, stored);
}
END_TEST

/* ---- 4. checkpoints are judged by their header --------------------------------------------- */

START_TEST(test_reliability__checkpoint_header_first) {
    char p[512];
    void *bytes = NULL;
    size_t n = 0;
    /* a 3 GB file that is no checkpoint: refused from 24 bytes (sparse, so the test is cheap) */
    test_tpath(p, "big.bin");
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)3 << 30), 0);
    close(fd);
    ck_assert_int_eq(nas_ghn_read_file(p, &bytes, &n), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), "not a ghnas GHN checkpoint") != NULL, "%s", nas_errmsg());
    ck_assert_ptr_null(bytes);
    /* our magic, but a length that is not the file's: refused before reading it */
    static const unsigned char head[24] = {'G', 'H', 'N', 'A', 'S', 'G', 'H', 'N', 3, 0, 0, 0,
                                           1,   0,   0,   0,   0,   0,   0,   0,   1, 0, 0, 0};
    test_tpath(p, "head.ckpt");
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(head, 1, sizeof head, f);
    fclose(f);
    ck_assert_int_eq(nas_ghn_read_file(p, &bytes, &n), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), "truncated checkpoint: 24 bytes, the header records "
                                       "4294967296") != NULL,
                  "%s", nas_errmsg());
    /* a device: refused without reading */
    ck_assert_int_eq(nas_ghn_read_file("/dev/zero", &bytes, &n), NAS_EIO);
    ck_assert_msg(strstr(nas_errmsg(), "character device") != NULL, "%s", nas_errmsg());
    /* a real checkpoint still loads */
    nas_ghn g;
    nas_ghn_config gc = nas_ghn_config_default();
    ck_assert_int_eq(nas_ghn_init(&g, &gc, 1), NAS_OK);
    test_tpath(p, "ok.ckpt");
    ck_assert_msg(nas_ghn_save(&g, NULL, p) == NAS_OK, "%s", nas_errmsg());
    nas_ghn_free(&g);
    ck_assert_msg(nas_ghn_load(&g, NULL, NULL, p) == NAS_OK, "%s", nas_errmsg());
    nas_ghn_free(&g);
}
END_TEST

/* Found by fuzz_checkpoint: an 89-byte legacy (v2) checkpoint whose configuration validates but
 * declares a GHN of hundreds of MB; with its length and CRC-32 made consistent the loader built
 * and randomly initialised that model before finding no tensors (> 20 s, GBs). Now refused from
 * the declared parameter count against the buffer's size. */
START_TEST(test_reliability__checkpoint_small_file_huge_config) {
    char p[512];
    snprintf(p, sizeof p, "%s/../fuzz/regressions/checkpoint/timeout-89-byte-huge-config",
             GHNAS_TEST_DATA_DIR);
    FILE *f = fopen(p, "rb");
    ck_assert_msg(f != NULL, "%s", p);
    unsigned char b[256];
    size_t n = fread(b, 1, sizeof b - 4, f);
    fclose(f);
    ck_assert_int_eq(n, 89);
    /* as the harness does: the header's length and a CRC-32 trailer made consistent */
    size_t total = n + 4;
    for (int i = 0; i < 8; i++) {
        b[16 + i] = (unsigned char)((uint64_t)total >> (8 * i));
    }
    uint32_t crc = (uint32_t)crc32(0L, b, (unsigned)n);
    for (int i = 0; i < 4; i++) {
        b[n + i] = (unsigned char)(crc >> (8 * i));
    }
    nas_ghn g;
    double t0 = nas_time_now();
    ck_assert_int_eq(nas_ghn_load_mem(&g, NULL, NULL, b, total, "fuzzed", NULL), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), "more than its 93 bytes can hold") != NULL, "%s",
                  nas_errmsg());
    ck_assert_msg(nas_time_now() - t0 < 1.0, "refusal took %.1f s", nas_time_now() - t0);
}
END_TEST

/* ---- 5. FIFOs: refused at once, never opened for a blocking read ------------------------------
 */

START_TEST(test_reliability__fifos_refused) {
    char p[512];
    test_tpath(p, "fifo");
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    /* each of these blocked forever before (Check's timeout fails the test if one does) */
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY), NAS_EIO);
    ck_assert_msg(strstr(nas_errmsg(), "is a FIFO, not a regular file") != NULL, "%s",
                  nas_errmsg());
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_CREATE), NAS_EIO);
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_load(&g, NULL, NULL, p), NAS_EIO);
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, p), NAS_EIO);
    void *bytes = NULL;
    size_t n = 0;
    ck_assert_int_eq(nas_file_read_all(p, &bytes, &n), NAS_EIO);
    ck_assert_int_eq(nas_path_check_output(p, "output"), NAS_EIO);
    /* devices */
    ck_assert_int_eq(nas_store_open(&db, "/dev/null", NAS_STORE_CREATE), NAS_EIO);
    ck_assert_int_eq(access("/dev/null-journal", F_OK), -1);
    /* output paths: a missing directory, a directory, a good one */
    ck_assert_int_eq(nas_path_check_output("/nonexistent/dir/x.ckpt", "output"), NAS_EIO);
    ck_assert_int_eq(nas_path_check_output(test_tmpdir, "output"), NAS_EIO);
    test_tpath(p, "new.ckpt");
    ck_assert_int_eq(nas_path_check_output(p, "output"), NAS_OK);
}
END_TEST

/* ---- 6 and 7. refused and damaged stores are not written ------------------------------------ */

static void file_md5(const char *path, unsigned char out[64], size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[65536];
    size_t k;
    unsigned long long h = 1469598103934665603ull;
    *n = 0;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < k; i++) {
            h = (h ^ buf[i]) * 1099511628211ull;
        }
        *n += k;
    }
    fclose(f);
    memcpy(out, &h, sizeof h);
}

START_TEST(test_reliability__stores_refused_untouched) {
    char p[512];
    unsigned char h0[64], h1[64];
    size_t n0 = 0, n1 = 0;
    /* our application id and version, no tables */
    test_tpath(p, "empty_ours.db");
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
             (int)NAS_STORE_APPLICATION_ID, NAS_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(nas_store_debug_exec(p, sql), NAS_OK);
    file_md5(p, h0, &n0);
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_CREATE), NAS_EFORMAT);
    ck_assert_msg(strstr(nas_errmsg(), "no table runs") != NULL, "%s", nas_errmsg());
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY), NAS_EFORMAT);
    file_md5(p, h1, &n1);
    ck_assert_int_eq(n0, n1);
    ck_assert_int_eq(memcmp(h0, h1, 8), 0); /* the header was switched to WAL before */

    /* a store with pages overwritten in the middle */
    test_tpath(p, "dmg.db");
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_CREATE), NAS_OK);
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_scorer sc;
    ck_assert_int_eq(nas_score_make(&sc, "params", NULL), NAS_OK);
    nas_search_config c = quiet_cfg(300);
    nas_search_result r;
    ck_assert_msg(nas_search_run(db, &sp, &sc, 0, &c, &r) == NAS_OK, "%s", nas_errmsg());
    nas_store_close(db);
    ck_assert_int_eq(nas_store_open(&db, p, NAS_STORE_READONLY), NAS_OK);
    ck_assert_msg(nas_store_check(db) == NAS_OK, "%s", nas_errmsg());
    nas_store_close(db);
    FILE *f = fopen(p, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 4096L * 6, SEEK_SET), 0);
    for (int i = 0; i < 4096 * 3; i++) {
        fputc((i * 37 + 11) & 0xff, f);
    }
    fclose(f);
    file_md5(p, h0, &n0);
    ck_assert_int_eq(nas_store_open(&db, p, 0), NAS_EDB);
    ck_assert_msg(strstr(nas_errmsg(), "is damaged (quick check") != NULL, "%s", nas_errmsg());
    ck_assert_msg(strstr(nas_errmsg(), ".dump") != NULL, "%s", nas_errmsg());
    file_md5(p, h1, &n1);
    ck_assert_int_eq(n0, n1);
    ck_assert_int_eq(memcmp(h0, h1, 8), 0);
    /* the full check reports it */
    nas_job_query_params q = nas_job_query_defaults();
    q.db = p;
    q.action = NAS_QUERY_CHECK;
    nas_job_query_result qr;
    ck_assert_int_eq(nas_job_query(&q, &qr), NAS_EDB);
    nas_scorer_free(&sc);
}
END_TEST

/* ---- 8. a live writer holds its run's lock ----------------------------------------------------
 */

START_TEST(test_reliability__run_lock) {
    char p[512];
    test_tpath(p, "l.db");
    nas_store *a = NULL, *b = NULL;
    ck_assert_int_eq(nas_store_open(&a, p, NAS_STORE_CREATE), NAS_OK);
    ck_assert_int_eq(nas_store_open(&b, p, 0), NAS_OK);
    ck_assert_msg(nas_store_run_lock(a, 3) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(nas_store_run_lock(b, 3), NAS_EINVAL);
    ck_assert_msg(strstr(nas_errmsg(), "in use by another live process") != NULL, "%s",
                  nas_errmsg());
    ck_assert_int_eq(nas_store_run_lock(b, 4), NAS_OK); /* another run is free */
    nas_store_run_unlock(a, 3);
    ck_assert_int_eq(nas_store_run_lock(b, 3), NAS_OK);
    ck_assert_int_eq(nas_store_run_lock(a, 3), NAS_EINVAL);
    /* a killed holder's lock dies with it */
    nas_store_close(b);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        nas_store *c = NULL;
        if (nas_store_open(&c, p, 0) != NAS_OK || nas_store_run_lock(c, 7) != NAS_OK) {
            _exit(1);
        }
        for (;;) {
            pause();
        }
    }
    int locked = 0;
    for (int i = 0; i < 200 && !locked; i++) {
        locked = nas_store_run_lock(a, 7) == NAS_EINVAL;
        if (!locked) {
            nas_store_run_unlock(a, 7);
            usleep(20000);
        }
    }
    ck_assert_msg(locked, "the child never held the lock");
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ck_assert_msg(nas_store_run_lock(a, 7) == NAS_OK, "%s", nas_errmsg());
    char lock[600];
    snprintf(lock, sizeof lock, "%s-lock", p);
    ck_assert_int_eq(access(lock, F_OK), 0); /* the killed child could not remove it */
    nas_store_close(a);
    ck_assert_int_eq(access(lock, F_OK), -1); /* the last writer to close removes it */
}
END_TEST

/* ---- 8. empty entries of a scorer list --------------------------------------------------------
 */

START_TEST(test_reliability__scorer_list_empty_entries) {
    char buf[128];
    const char *names[8];
    int n = 0;
    const char *bad[] = {"params,,params", ",params", "params,", "params, ,flops", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(nas_score_parse_list("--scorers", bad[i], buf, sizeof buf, names, 8, &n) ==
                          NAS_EINVAL,
                      "'%s' accepted", bad[i]);
    }
    ck_assert_int_eq(
        nas_score_parse_list("--scorers", "params, flops,params", buf, sizeof buf, names, 8, &n),
        NAS_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(names[1], "flops");
}
END_TEST

Suite *nas_test_reliability_suite(void) {
    Suite *s = suite_create("reliability");
    TCase *tc = tcase_create("space_edits");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reliability__edited_space_rescored);
    suite_add_tcase(s, tc);

    tc = tcase_create("files_and_stores");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reliability__checkpoint_header_first);
    tcase_add_test(tc, test_reliability__checkpoint_small_file_huge_config);
    tcase_add_test(tc, test_reliability__fifos_refused);
    tcase_add_test(tc, test_reliability__stores_refused_untouched);
    tcase_add_test(tc, test_reliability__run_lock);
    suite_add_tcase(s, tc);

    tc = tcase_create("runs_and_options");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reliability__stop_inside_round_counts_stored);
    tcase_add_test(tc, test_reliability__scorer_list_empty_entries);
    suite_add_tcase(s, tc);
    return s;
}
