/*
 * Tests for src/plot and the plot and report jobs: ticks and labels, the three output formats
 * (headers, PNG size), points drawn against points given (counted in the SVG too), refusals that
 * leave no file behind; then every figure kind of a small store made here with the jobs (a
 * search with three scorers, a two-epoch evaluate, a three-step GHN), its counts against the
 * store, the errors of runs without data, and the HTML report.
 */
#include "test_suites.h"
#include "testdir.h"

#include "ghnas/job.h"
#include "ghnas/plot.h"
#include "plot/plot-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers --------------------------------------------------------------------------------- */

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Whole file, NUL-terminated (malloc'd); NULL when missing. */
static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *n = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    *n = fread(buf, 1, (size_t)len, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

static int count_str(const char *hay, size_t n, const char *needle) {
    int c = 0;
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) {
            c++;
        }
    }
    return c;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The file's format is what its header says; PNG width/height returned. */
static void check_header(const char *buf, size_t n, nas_plot_format fmt, uint32_t *w, uint32_t *h) {
    switch (fmt) {
        case NAS_PLOT_SVG:
            ck_assert_msg(n > 100 && strncmp(buf, "<?xml", 5) == 0, "not XML");
            ck_assert_ptr_nonnull(strstr(buf, "<svg"));
            ck_assert_ptr_nonnull(strstr(buf, "</svg>"));
            break;
        case NAS_PLOT_PNG: {
            static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
            ck_assert_msg(n > 33 && memcmp(buf, sig, 8) == 0, "no PNG signature");
            ck_assert_msg(memcmp(buf + 12, "IHDR", 4) == 0, "no IHDR chunk first");
            *w = be32((const unsigned char *)buf + 16);
            *h = be32((const unsigned char *)buf + 20);
            ck_assert_msg(memcmp(buf + n - 8, "IEND", 4) == 0, "no IEND chunk last");
            break;
        }
        case NAS_PLOT_PDF:
            ck_assert_msg(n > 100 && strncmp(buf, "%PDF-", 5) == 0, "no %%PDF- header");
            ck_assert_int_gt(count_str(buf, n, "%%EOF"), 0);
            break;
    }
}

/* ---- ticks and labels --------------------------------------------------------------------------
 */

START_TEST(test_plot__ticks) {
    ck_assert_double_eq_tol(nas_i_plot_nice_step(1.0, 5), 0.2, 1e-12);
    ck_assert_double_eq_tol(nas_i_plot_nice_step(7.0, 5), 1.0, 1e-12);
    ck_assert_double_eq_tol(nas_i_plot_nice_step(40000.0, 5), 10000.0, 1e-9);
    nas_i_plot_ticks t;
    nas_i_plot_ticks_make(0.0, 1.0, false, false, &t);
    ck_assert_int_eq(t.n, 6);
    ck_assert_double_eq_tol(t.v[5], 1.0, 1e-12);
    nas_i_plot_ticks_make(1.0, 1e6, true, false, &t);
    ck_assert_int_eq(t.n, 7);
    ck_assert_double_eq_tol(t.v[3], 1000.0, 1e-9);
    nas_i_plot_ticks_make(0.5, 7.5, false, true, &t); /* integer axis: whole steps */
    for (int i = 0; i < t.n; i++) {
        ck_assert_double_eq(t.v[i], floor(t.v[i]));
    }
    double lo = 0.1226, hi = 0.2131;
    nas_i_plot_range(&lo, &hi, false, false);
    ck_assert(lo < 0.1226 && hi > 0.2131);
    lo = hi = 5.0; /* a constant series still gets a range */
    nas_i_plot_range(&lo, &hi, false, false);
    ck_assert(lo < 5.0 && hi > 5.0);
    lo = 20.0;
    hi = 2e6;
    nas_i_plot_range(&lo, &hi, true, false);
    ck_assert(lo < 20.0 && lo > 0 && hi > 2e6);
    char buf[32];
    nas_i_plot_tick_label(20000, 5000, false, buf, sizeof buf);
    ck_assert_str_eq(buf, "20k");
    nas_i_plot_tick_label(1500000, 500000, false, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.5M");
    nas_i_plot_tick_label(0.25, 0.05, false, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.25");
    nas_i_plot_tick_label(-0.5, 0.5, false, buf, sizeof buf);
    ck_assert_str_eq(buf, "-0.5");
    nas_i_plot_tick_label(1e6, 0, true, buf, sizeof buf);
    ck_assert_str_eq(buf, "1M");
    nas_i_plot_tick_label(0.001, 0, true, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.001");
    nas_i_plot_tick_label(0, 0.2, false, buf, sizeof buf);
    ck_assert_str_eq(buf, "0");
}
END_TEST

/* ---- rendering
 * ----------------------------------------------------------------------------------- */

/* One panel: a scatter of 10 points (one NaN) with filled vermillion markers and no legend,
 * a line, and bars with intervals in a second panel. */
static double xs[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static double ys[10] = {0.5, 0.6, 0.55, (double)NAN, 0.7, 0.72, 0.71, 0.8, 0.78, 0.82};
static double bv[3] = {0.4, -0.3, 0.1}, blo[3] = {0.1, -0.7, -0.4}, bhi[3] = {0.7, 0.2, 0.5};
static double bx[3] = {0, 1, 2};
static const char *const cats[3] = {"params", "synflow", "naswot"};

static void small_figure(nas_plot_figure *f, nas_plot_panel *p, nas_plot_series *s) {
    memset(p, 0, 2 * sizeof *p);
    s[0] = (nas_plot_series){.label = NULL,
                             .style = NAS_PLOT_POINTS,
                             .n = 10,
                             .x = xs,
                             .y = ys,
                             .look = 4,
                             .filled = true};
    s[1] = (nas_plot_series){
        .label = "line", .style = NAS_PLOT_LINE, .n = 10, .x = xs, .y = ys, .look = 1};
    s[2] = (nas_plot_series){.label = "tau",
                             .style = NAS_PLOT_BARS,
                             .n = 3,
                             .x = bx,
                             .y = bv,
                             .lo = blo,
                             .hi = bhi,
                             .look = 0};
    p[0].title = "scatter";
    p[0].x.label = "x";
    p[0].y.label = "y";
    p[0].series = s;
    p[0].n_series = 2;
    p[1].title = "bars";
    p[1].categories = cats;
    p[1].n_categories = 3;
    p[1].series = s + 2;
    p[1].n_series = 1;
    p[1].zero_line = true;
    for (int i = 0; i < 2; i++) {
        nas_plot_axis_auto(&p[i].x);
        nas_plot_axis_auto(&p[i].y);
        nas_plot_axis_auto(&p[i].y2);
    }
    p[1].y.min = -1;
    p[1].y.max = 1;
    memset(f, 0, sizeof *f);
    f->title = "test figure";
    f->panels = p;
    f->n_panels = 2;
    f->cols = 2;
}

START_TEST(test_plot__formats) {
    nas_plot_figure f;
    nas_plot_panel p[2];
    nas_plot_series s[3];
    small_figure(&f, p, s);
    for (int fmt = 0; fmt < 3; fmt++) {
        void *bytes = NULL;
        size_t n = 0;
        nas_plot_stats st;
        nas_status rc = nas_plot_render(&f, (nas_plot_format)fmt, &bytes, &n, &st);
        ck_assert_msg(rc == NAS_OK, "%s", nas_errmsg());
        uint32_t w = 0, h = 0;
        check_header(bytes, n, (nas_plot_format)fmt, &w, &h);
        ck_assert_int_eq(st.panels, 2);
        ck_assert_int_eq(st.series, 3);
        ck_assert_int_eq(st.points, 9 + 3); /* markers + bars */
        ck_assert_int_eq(st.vertices, 9);
        ck_assert_int_eq(st.skipped, 2); /* the NaN, once per series */
        if (fmt == NAS_PLOT_PNG) {       /* 2 pixels per point */
            ck_assert_uint_eq(w, (uint32_t)(2 * st.width));
            ck_assert_uint_eq(h, (uint32_t)(2 * st.height));
        }
        if (fmt == NAS_PLOT_SVG) { /* every marker is its own filled path: count them */
            ck_assert_int_eq(count_str(bytes, n, "fill:rgb(83.5%,36.9%,0%)"), 9);
        }
        free(bytes);
    }
}
END_TEST

START_TEST(test_plot__log_axis_skips) {
    double x[4] = {10, 100, -5, 1000}, y[4] = {1, 2, 3, 4};
    nas_plot_series s = {.style = NAS_PLOT_POINTS, .n = 4, .x = x, .y = y};
    nas_plot_panel p = {.series = &s, .n_series = 1};
    nas_plot_axis_auto(&p.x);
    nas_plot_axis_auto(&p.y);
    nas_plot_axis_auto(&p.y2);
    p.x.log = true;
    nas_plot_figure f = {.panels = &p, .n_panels = 1};
    void *bytes = NULL;
    size_t n = 0;
    nas_plot_stats st;
    ck_assert_int_eq(nas_plot_render(&f, NAS_PLOT_SVG, &bytes, &n, &st), NAS_OK);
    ck_assert_int_eq(st.points, 3);
    ck_assert_int_eq(st.skipped, 1);
    free(bytes);
}
END_TEST

START_TEST(test_plot__errors) {
    char path[512], other[512];
    nas_plot_figure f;
    nas_plot_panel p[2];
    nas_plot_series s[3];
    small_figure(&f, p, s);
    nas_plot_format fmt;
    ck_assert_int_eq(nas_plot_format_from_path("a.SVG", &fmt), NAS_OK);
    ck_assert_int_eq(fmt, NAS_PLOT_SVG);
    ck_assert_int_eq(nas_plot_format_from_path("a.gif", &fmt), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), ".svg, .png or .pdf"));
    ck_assert_int_eq(nas_plot_format_from_path("dir.svg/figure", &fmt), NAS_EINVAL);
    /* unwritable: a missing directory; nothing is created */
    snprintf(path, sizeof path, "%s/missing/figure.svg", test_tmpdir);
    ck_assert_int_eq(nas_plot_write(&f, path, NULL), NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "missing/figure.svg"));
    ck_assert(!exists(path));
    /* a bad figure leaves an existing file as it was */
    test_tpath(other, "keep.svg");
    FILE *fp = fopen(other, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("old", fp);
    fclose(fp);
    nas_plot_figure empty = {0};
    ck_assert_int_eq(nas_plot_write(&empty, other, NULL), NAS_EINVAL);
    size_t n = 0;
    char *old = slurp(other, &n);
    ck_assert_str_eq(old, "old");
    free(old);
    s[0].hi = NULL;
    s[0].lo = ys; /* an interval needs both ends */
    ck_assert_int_eq(nas_plot_write(&f, other, NULL), NAS_EINVAL);
}
END_TEST

START_TEST(test_plot__graph) {
    char *svg = NULL;
    size_t n = 0;
    nas_status st = nas_plot_graph_svg("digraph g { a -> b [label=\"conv\"]; b -> c; }", &svg, &n);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_ptr_nonnull(strstr(svg, "<svg"));
    ck_assert_ptr_nonnull(strstr(svg, "conv"));
    ck_assert_uint_eq(strlen(svg), n);
    nas_free(svg);
    ck_assert_int_eq(nas_plot_graph_svg("digraph { a -> ", &svg, &n), NAS_EFORMAT);
    ck_assert_ptr_null(svg);
}
END_TEST

/* ---- the jobs on a store made here
 * --------------------------------------------------------------- */

static char store_path[512];

static void fail_setup(const char *what) {
    fprintf(stderr, "test_plot: %s: %s\n", what, nas_errmsg());
    abort();
}

/* run 1: search (params, flops, naswot) of 16 cells; run 2: evaluate its top 3 for 2 epochs;
 * GHN 1: 3 steps; run 3: a second search without trainings; run 4: a search run without scores.
 */
static void store_setup(void) {
    test_tmpdir_create("plot");
    test_tpath(store_path, "s.db");
    nas_log_set_level(NAS_LOG_WARN);
    nas_job_search_params sp = nas_job_search_defaults();
    sp.db = store_path;
    sp.strategy = "random";
    sp.scorer = "params";
    sp.scorers = "flops,naswot";
    sp.budget = 16;
    sp.eval_top = 0;
    sp.quiet = true;
    nas_job_search_result sr;
    if (nas_job_search(&sp, &sr) != NAS_OK) {
        fail_setup("search");
    }
    nas_job_search_result_free(&sr);
    nas_job_evaluate_params ep = nas_job_evaluate_defaults();
    ep.db = store_path;
    ep.eval.search_run = 1;
    ep.eval.top_k = 3;
    ep.eval.recipe.epochs = 2;
    ep.eval.train_n = 256;
    ep.eval.val_n = 256;
    ep.eval.quiet = true;
    nas_job_evaluate_result er;
    if (nas_job_evaluate(&ep, &er) != NAS_OK) {
        fail_setup("evaluate");
    }
    nas_job_evaluate_result_free(&er);
    nas_job_train_params tp = nas_job_train_defaults();
    char ckpt[512];
    tp.db = store_path;
    tp.out = test_tpath(ckpt, "g.ckpt");
    tp.train.steps = 3;
    tp.given = NAS_JOB_GIVEN_STEPS;
    tp.save_every = 0;
    tp.quiet = true;
    nas_job_train_result trr;
    if (nas_job_train(&tp, &trr) != NAS_OK) {
        fail_setup("train");
    }
    sp.scorers = NULL;
    sp.budget = 4;
    sp.seed = 2;
    if (nas_job_search(&sp, &sr) != NAS_OK) {
        fail_setup("second search");
    }
    nas_job_search_result_free(&sr);
    nas_store *db = NULL;
    int64_t id = 0;
    nas_run_spec rs = {.kind = "search", .space = "nb201", .dataset = "fashion-mnist"};
    if (nas_store_open(&db, store_path, 0) != NAS_OK ||
        nas_store_run_create(db, &rs, &id) != NAS_OK ||
        nas_store_run_set_status(db, id, NAS_RUN_FINISHED) != NAS_OK) {
        fail_setup("empty run");
    }
    nas_store_close(db);
    if (id != 4) {
        fprintf(stderr, "test_plot: the empty run is %lld, expected 4\n", (long long)id);
        abort();
    }
}

static void store_teardown(void) {
    test_tmpdir_remove();
}

/* One integer of a read-only query on the store. */
static int64_t sql_int(const char *sql) {
    nas_store *ro = NULL;
    ck_assert_int_eq(nas_store_open(&ro, store_path, NAS_STORE_READONLY), NAS_OK);
    nas_store_table t = {0};
    nas_status st = nas_store_query_sql(ro, sql, &t);
    ck_assert_msg(st == NAS_OK, "%s: %s", sql, nas_errmsg());
    int64_t v = nas_store_table_at(&t, 0, 0)->i;
    nas_store_table_free(&t);
    nas_store_close(ro);
    return v;
}

/* Plot a kind into test_tmpdir/name; NAS_OK asserted. */
static void plot_ok(nas_job_plot_kind kind, int64_t run, const char *scorer, const char *name,
                    nas_job_plot_result *r) {
    char out[512];
    nas_job_plot_params p = nas_job_plot_defaults();
    p.db = store_path;
    p.kind = kind;
    p.run = run;
    p.scorer = scorer;
    p.out = test_tpath(out, name);
    nas_status st = nas_job_plot(&p, r);
    ck_assert_msg(st == NAS_OK, "%s: %s", name, nas_errmsg());
    ck_assert(exists(out));
}

START_TEST(test_plot__every_kind_every_format) {
    static const char *const ext[3] = {"svg", "png", "pdf"};
    for (int k = 0; k < NAS_JOB_PLOT_KIND_COUNT; k++) {
        for (int f = 0; f < 3; f++) {
            char name[64], path[512];
            snprintf(name, sizeof name, "%s.%s", nas_job_plot_kind_name((nas_job_plot_kind)k),
                     ext[f]);
            nas_job_plot_result r;
            plot_ok((nas_job_plot_kind)k, 0, NULL, name, &r);
            size_t n = 0;
            char *buf = slurp(test_tpath(path, name), &n);
            uint32_t w = 0, h = 0;
            check_header(buf, n, (nas_plot_format)f, &w, &h);
            if (f == NAS_PLOT_PNG) {
                ck_assert_uint_eq(w, (uint32_t)(2 * r.stats.width));
            }
            ck_assert_int_gt(r.stats.points + r.stats.vertices, 0);
            ck_assert_int_gt(r.n_data, 0);
            free(buf);
            nas_job_plot_result_free(&r);
        }
    }
}
END_TEST

START_TEST(test_plot__history_counts) {
    nas_job_plot_result r;
    plot_ok(NAS_JOB_PLOT_HISTORY, 1, NULL, "h.svg", &r);
    const int64_t n = sql_int("SELECT count(*) FROM scores WHERE run_id = 1 AND value IS NOT NULL");
    ck_assert_int_eq(n, 48); /* 16 candidates x 3 scorers */
    ck_assert_int_eq(r.n_data, n);
    ck_assert_int_eq(r.stats.points, n);   /* one marker per score */
    ck_assert_int_eq(r.stats.vertices, n); /* the running best */
    ck_assert_int_eq(r.stats.panels, 3);
    ck_assert_int_eq(r.run_id, 1);
    /* in the file: hollow markers are white-filled paths, plus the background and one legend
     * sample per panel */
    char path[512];
    size_t len = 0;
    char *svg = slurp(test_tpath(path, "h.svg"), &len);
    ck_assert_int_eq(count_str(svg, len, "fill:rgb(100%,100%,100%)"), n + 1 + 3);
    free(svg);
    nas_job_plot_result_free(&r);
    plot_ok(NAS_JOB_PLOT_HISTORY, 1, "naswot", "h1.svg", &r); /* one scorer */
    ck_assert_int_eq(r.stats.panels, 1);
    ck_assert_int_eq(r.stats.points, 16);
    nas_job_plot_result_free(&r);
}
END_TEST

START_TEST(test_plot__pareto_front) {
    nas_job_plot_result r;
    plot_ok(NAS_JOB_PLOT_PARETO, 1, NULL, "p.svg", &r);
    /* the front is the store's own (ghnas query pareto) */
    nas_store *ro = NULL;
    ck_assert_int_eq(nas_store_open(&ro, store_path, NAS_STORE_READONLY), NAS_OK);
    nas_store_table t = {0};
    ck_assert_int_eq(nas_store_query_pareto(ro, 1, NULL, NAS_PARETO_PARAMS, &t), NAS_OK);
    nas_store_close(ro);
    ck_assert_int_eq(r.n_front, t.n_rows);
    nas_store_table_free(&t);
    ck_assert_int_eq(r.n_data, 16);
    ck_assert_int_eq(r.stats.points, 16 + r.n_front);
    char path[512];
    size_t len = 0;
    char *svg = slurp(test_tpath(path, "p.svg"), &len);
    /* front markers are filled orange: one per front point and the legend's */
    ck_assert_int_eq(count_str(svg, len, "fill:rgb(90.2%,62.4%,0%)"), r.n_front + 1);
    free(svg);
    nas_job_plot_result_free(&r);
    /* trained accuracy instead of the score: the 3 trained architectures */
    plot_ok(NAS_JOB_PLOT_PARETO, 1, "val_acc", "pv.png", &r);
    ck_assert_int_eq(r.n_data, 3);
    ck_assert_int_eq(r.eval_run_id, 2);
    ck_assert_int_ge(r.n_front, 1);
    nas_job_plot_result_free(&r);
}
END_TEST

START_TEST(test_plot__curves_scorers_ghn_counts) {
    nas_job_plot_result r;
    plot_ok(NAS_JOB_PLOT_CURVES, 1, NULL, "c.svg", &r); /* a search run: its evaluate run */
    ck_assert_int_eq(r.run_id, 2);
    const int64_t epochs = sql_int("SELECT sum(epochs_done) FROM trainings WHERE run_id = 2");
    ck_assert_int_eq(epochs, 6);
    ck_assert_int_eq(r.n_data, epochs);
    ck_assert_int_eq(r.stats.points, 2 * epochs);   /* validation markers, two panels */
    ck_assert_int_eq(r.stats.vertices, 2 * epochs); /* training lines */
    nas_job_plot_result_free(&r);
    plot_ok(NAS_JOB_PLOT_SCORERS, 2, NULL, "s.svg", &r); /* an evaluate run: its search run */
    ck_assert_int_eq(r.run_id, 1);
    ck_assert_int_eq(r.eval_run_id, 2);
    ck_assert_int_eq(r.n_data, 3 * 3); /* 3 scorers x 3 trained architectures */
    ck_assert_int_eq(r.stats.panels, 3 + 1);
    ck_assert_int_ge(r.stats.points, r.n_data + 3); /* scatter points, at least one bar each */
    ck_assert_int_le(r.stats.points, r.n_data + 9);
    nas_job_plot_result_free(&r);
    plot_ok(NAS_JOB_PLOT_GHN, 0, NULL, "g.svg", &r);
    ck_assert_int_eq(r.ghn_id, 1);
    ck_assert_int_eq(r.n_data, 3); /* one point per step */
    ck_assert_int_eq(r.stats.points, 6);
    nas_job_plot_result_free(&r);
}
END_TEST

/* The job's status and message for params p. */
static nas_status plot_err(nas_job_plot_kind kind, int64_t run, const char *out_name,
                           const char *expect) {
    char out[512];
    nas_job_plot_params p = nas_job_plot_defaults();
    p.db = store_path;
    p.kind = kind;
    p.run = run;
    p.out = out_name[0] == '/' ? out_name : test_tpath(out, out_name);
    nas_job_plot_result r;
    nas_status st = nas_job_plot(&p, &r);
    ck_assert_msg(st != NAS_OK, "%s succeeded", out_name);
    ck_assert_msg(strstr(nas_errmsg(), expect), "'%s' lacks '%s'", nas_errmsg(), expect);
    ck_assert_msg(!exists(p.out), "%s was written", p.out);
    return st;
}

START_TEST(test_plot__errors_of_runs) {
    ck_assert_int_eq(plot_err(NAS_JOB_PLOT_HISTORY, 4, "e1.svg", "run 4 has no scores"),
                     NAS_ENOTFOUND);
    ck_assert_int_eq(plot_err(NAS_JOB_PLOT_CURVES, 3, "e2.svg", "run 3 has no trainings"),
                     NAS_ENOTFOUND);
    ck_assert_int_eq(plot_err(NAS_JOB_PLOT_SCORERS, 3, "e3.svg", "no finished trainings"),
                     NAS_ENOTFOUND);
    ck_assert_int_eq(plot_err(NAS_JOB_PLOT_GHN, 1, "e4.svg", "run 1 used no GHN"), NAS_ENOTFOUND);
    ck_assert_int_eq(plot_err(NAS_JOB_PLOT_PARETO, 99, "e5.svg", "run 99 does not exist"),
                     NAS_ENOTFOUND);
    ck_assert_int_eq(
        plot_err(NAS_JOB_PLOT_HISTORY, 1, "/nonexistent-dir/h.svg", "/nonexistent-dir/h.svg"),
        NAS_EIO);
    ck_assert_int_eq(plot_err(NAS_JOB_PLOT_HISTORY, 1, "h.gif", ".svg, .png or .pdf"), NAS_EINVAL);
    nas_job_plot_kind k;
    ck_assert_int_eq(nas_job_plot_kind_from_name("bars", &k), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "unknown kind 'bars' (history, pareto"));
    /* a scorer the run does not have */
    nas_job_plot_params p = nas_job_plot_defaults();
    char out[512];
    p.db = store_path;
    p.kind = NAS_JOB_PLOT_HISTORY;
    p.scorer = "synflow";
    p.out = test_tpath(out, "e6.svg");
    nas_job_plot_result r;
    ck_assert_int_eq(nas_job_plot(&p, &r), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "it has: "));
    /* not a store, no store */
    char bad[512];
    FILE *f = fopen(test_tpath(bad, "not.db"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("this is not an SQLite file, it is just text long enough to be read as a header..", f);
    fclose(f);
    p.scorer = NULL;
    p.db = bad;
    ck_assert_int_eq(nas_job_plot(&p, &r), NAS_EFORMAT);
    p.db = test_tpath(bad, "none.db");
    ck_assert_int_eq(nas_job_plot(&p, &r), NAS_ENOTFOUND);
    ck_assert(!exists(p.db)); /* never created */
}
END_TEST

START_TEST(test_plot__report) {
    char out[512];
    nas_job_report_params p = nas_job_report_defaults();
    p.db = store_path;
    p.out = test_tpath(out, "r.html");
    nas_job_report_result r;
    nas_status st = nas_job_report(&p, &r);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(r.run_id, 3); /* the newest run with scores */
    p.run = 2;                     /* an evaluate run: its search run */
    st = nas_job_report(&p, &r);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(r.run_id, 1);
    ck_assert_int_eq(r.n_figures, 4); /* history, pareto, curves, scorers */
    ck_assert_int_eq(r.n_missing, 1); /* ghn: run 1 used no GHN */
    ck_assert_int_eq(r.n_graphs, 3);
    size_t n = 0;
    char *html = slurp(out, &n);
    ck_assert_uint_eq(n, r.n_bytes);
    ck_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    ck_assert_ptr_nonnull(strstr(html, "</html>"));
    ck_assert_int_eq(count_str(html, n, "src=\"data:image/svg+xml;base64,"),
                     r.n_figures + r.n_graphs);
    ck_assert_int_eq(count_str(html, n, "<script"), 0);
    ck_assert_int_eq(count_str(html, n, "src=\"http"), 0);
    ck_assert_int_eq(count_str(html, n, "href=\"http"), 0);
    ck_assert_ptr_nonnull(strstr(html, "ghnas plot "));
    ck_assert_ptr_nonnull(strstr(html, "used no GHN"));
    /* 16 rows of the leaderboard (all candidates, fewer than --top 20) */
    ck_assert_int_eq(count_str(html, n, "<tr><td class=\"n\">"), 16);
    free(html);
    /* an empty run: a clear error, no file */
    p.run = 4;
    p.out = test_tpath(out, "r4.html");
    ck_assert_int_eq(nas_job_report(&p, &r), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "no scores"));
    ck_assert(!exists(out));
    p.run = 1;
    p.out = "/nonexistent-dir/r.html";
    ck_assert_int_eq(nas_job_report(&p, &r), NAS_EIO);
}
END_TEST

static void tmp_setup(void) {
    test_tmpdir_create("plot-unit");
}

Suite *nas_test_plot_suite(void) {
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("figures");
    tcase_add_checked_fixture(tc, tmp_setup, test_tmpdir_remove);
    tcase_add_test(tc, test_plot__ticks);
    tcase_add_test(tc, test_plot__formats);
    tcase_add_test(tc, test_plot__log_axis_skips);
    tcase_add_test(tc, test_plot__errors);
    tcase_add_test(tc, test_plot__graph);
    suite_add_tcase(s, tc);
    tc = tcase_create("store figures and report");
    tcase_add_unchecked_fixture(tc, store_setup, store_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_plot__every_kind_every_format);
    tcase_add_test(tc, test_plot__history_counts);
    tcase_add_test(tc, test_plot__pareto_front);
    tcase_add_test(tc, test_plot__curves_scorers_ghn_counts);
    tcase_add_test(tc, test_plot__errors_of_runs);
    tcase_add_test(tc, test_plot__report);
    suite_add_tcase(s, tc);
    return s;
}
