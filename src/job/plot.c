/*
 * The plot job: figures read straight from a results store (opened read-only) -- a search run's
 * history and Pareto front, the learning curves of an evaluate run, how well each scorer ranked
 * the trained architectures, and a GHN's training curve -- drawn by src/plot into SVG, PNG or
 * PDF. Every figure's data comes from one read-only SQL statement per table through
 * nas_store_query_sql; the correlations are those `ghnas evaluate` prints (nas_eval_correlations,
 * 1000 bootstrap resamples, seed 1).
 */
#include "job-impl.h"

#include "ghnas/container.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[NAS_JOB_PLOT_KIND_COUNT] = {"history", "pareto", "curves",
                                                                "scorers", "ghn"};

const char *nas_job_plot_kind_name(nas_job_plot_kind k) {
    return (unsigned)k < NAS_JOB_PLOT_KIND_COUNT ? kind_names[k] : "?";
}

nas_status nas_job_plot_kind_from_name(const char *name, nas_job_plot_kind *out) {
    for (int k = 0; k < NAS_JOB_PLOT_KIND_COUNT; k++) {
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (nas_job_plot_kind)k;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EINVAL, "unknown kind '%s' (history, pareto, curves, scorers, ghn)",
                     name ? name : "");
}

nas_job_plot_params nas_job_plot_defaults(void) {
    nas_job_plot_params p;
    memset(&p, 0, sizeof p);
    p.kind = NAS_JOB_PLOT_HISTORY;
    p.by = NAS_PARETO_PARAMS;
    p.format = NAS_PLOT_SVG;
    return p;
}

void nas_job_plot_result_free(nas_job_plot_result *res) {
    if (res) {
        nas_free(res->bytes);
        memset(res, 0, sizeof *res);
    }
}

/* ---- reading the store -------------------------------------------------------------------- */

/* One read-only statement built printf-style (only integers and quoted names are spliced in). */
static nas_status sqlf(nas_store *db, nas_store_table *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static nas_status sqlf(nas_store *db, nas_store_table *t, const char *fmt, ...) {
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof sql) {
        return nas_error(NAS_EINVAL, "plot: a query is too long");
    }
    nas_store_table_free(t);
    memset(t, 0, sizeof *t);
    return nas_store_query_sql(db, sql, t);
}

/* s as an SQL string literal ('it''s') into buf; false when it does not fit. */
static bool quote(const char *s, char *buf, size_t cap) {
    size_t k = 0;
    if (cap < 3) {
        return false;
    }
    buf[k++] = '\'';
    for (; *s; s++) {
        if (k + 3 >= cap) {
            return false;
        }
        if (*s == '\'') {
            buf[k++] = '\'';
        }
        buf[k++] = *s;
    }
    buf[k++] = '\'';
    buf[k] = '\0';
    return true;
}

static double num(const nas_store_value *v) {
    return v->type == NAS_STORE_INT ? (double)v->i : v->type == NAS_STORE_REAL ? v->r : (double)NAN;
}

static const char *text(const nas_store_value *v) {
    return v->type == NAS_STORE_TEXT ? v->s : "";
}

static const nas_store_value *at(const nas_store_table *t, int64_t r, int c) {
    return nas_store_table_at(t, r, c);
}

/* The search run an evaluate run's configuration names (0 when none). */
static int64_t search_run_of(const char *config_json) {
    json_error_t je;
    json_t *root = json_loads(config_json ? config_json : "", 0, &je);
    json_t *j = json_object_get(root, "search_run");
    int64_t v = json_is_integer(j) ? (int64_t)json_integer_value(j) : 0;
    json_decref(root);
    return v;
}

/* The kind of run `id` and, for an evaluate run, its search run. */
static nas_status run_kind(nas_store *db, int64_t id, char *kind, size_t cap, int64_t *search) {
    nas_run_info ri;
    memset(&ri, 0, sizeof ri);
    NAS_CHECK(nas_store_run_get(db, id, &ri));
    snprintf(kind, cap, "%s", ri.kind);
    *search = strcmp(ri.kind, "evaluate") == 0 ? search_run_of(ri.config_json) : 0;
    nas_run_info_free(&ri);
    return NAS_OK;
}

/*
 * The search run to draw: p->run (a search run, or an evaluate run's search run; *eval gets the
 * evaluate run then) or the newest run with scores. It must have scores.
 */
static nas_status resolve_search(nas_store *db, const char *path, int64_t given, int64_t *search,
                                 int64_t *eval) {
    nas_store_table t = {0};
    nas_status st = NAS_OK;
    *eval = 0;
    if (given > 0) {
        char kind[16];
        int64_t of = 0;
        NAS_CHECK(run_kind(db, given, kind, sizeof kind, &of));
        if (strcmp(kind, "evaluate") == 0) {
            if (of <= 0) {
                return nas_error(NAS_EFORMAT, "run %lld is an evaluate run without a search run",
                                 (long long)given);
            }
            *eval = given;
            *search = of;
        } else if (strcmp(kind, "search") == 0) {
            *search = given;
        } else {
            return nas_error(NAS_EINVAL,
                             "run %lld is a %s run: give a search run (or one of its "
                             "evaluate runs)",
                             (long long)given, kind);
        }
    } else {
        NAS_TRY(sqlf(db, &t, "SELECT max(run_id) FROM scores"));
        if (t.n_rows < 1 || at(&t, 0, 0)->type != NAS_STORE_INT) {
            st = nas_error(NAS_ENOTFOUND,
                           "results store '%s' has no scored run yet (run ghnas "
                           "search first)",
                           path);
            goto cleanup;
        }
        *search = at(&t, 0, 0)->i;
    }
    NAS_TRY(sqlf(db, &t, "SELECT count(*) FROM scores WHERE run_id = %lld AND value IS NOT NULL",
                 (long long)*search));
    if (at(&t, 0, 0)->i == 0) {
        st = nas_error(NAS_ENOTFOUND, "run %lld has no scores (an empty run: nothing to draw)",
                       (long long)*search);
    }
cleanup:
    nas_store_table_free(&t);
    return st;
}

/*
 * The evaluate runs of search run `search`, newest first, into ids[0..*n) (at most cap); only
 * those with finished trainings when `finished`, else those with any epoch recorded.
 */
static nas_status eval_runs_of(nas_store *db, int64_t search, bool finished, int64_t *ids, int cap,
                               int *n) {
    nas_store_table t = {0};
    *n = 0;
    NAS_CHECK(
        sqlf(db, &t,
             "SELECT r.id, r.config_json FROM runs r WHERE r.kind = 'evaluate' AND EXISTS"
             " (SELECT 1 FROM trainings t WHERE t.run_id = r.id AND %s) ORDER BY r.id DESC",
             finished ? "t.status = 'finished' AND t.val_acc IS NOT NULL" : "t.epochs_done > 0"));
    for (int64_t r = 0; r < t.n_rows && *n < cap; r++) {
        if (search_run_of(text(at(&t, r, 1))) == search) {
            ids[(*n)++] = at(&t, r, 0)->i;
        }
    }
    nas_store_table_free(&t);
    return NAS_OK;
}

/* The scorers of a search run, the primary one first: names and directions. */
#define MAX_SCORERS 32

typedef struct scorer_list {
    int n;
    char name[MAX_SCORERS][64];
    bool higher[MAX_SCORERS];
} scorer_list;

static nas_status run_scorers(nas_store *db, int64_t run, const char *only, scorer_list *out) {
    nas_store_table t = {0};
    memset(out, 0, sizeof *out);
    NAS_CHECK(sqlf(db, &t,
                   "SELECT s.scorer, coalesce(c.higher_is_better, 1) FROM scores s"
                   " LEFT JOIN scorers c ON c.name = s.scorer WHERE s.run_id = %lld"
                   " AND s.value IS NOT NULL GROUP BY s.scorer"
                   " ORDER BY s.scorer = (SELECT scorer FROM runs WHERE id = %lld) DESC, s.scorer",
                   (long long)run, (long long)run));
    char all[512] = "";
    for (int64_t r = 0; r < t.n_rows; r++) {
        const char *name = text(at(&t, r, 0));
        size_t len = strlen(all);
        snprintf(all + len, sizeof all - len, "%s%s", len ? ", " : "", name);
        if ((!only || strcmp(only, name) == 0) && out->n < MAX_SCORERS) {
            snprintf(out->name[out->n], sizeof out->name[0], "%s", name);
            out->higher[out->n] = at(&t, r, 1)->i != 0;
            out->n++;
        }
    }
    nas_store_table_free(&t);
    if (out->n == 0) {
        return nas_error(NAS_ENOTFOUND, "run %lld has no scores by '%s' (it has: %s)",
                         (long long)run, only ? only : "?", all[0] ? all : "none");
    }
    return NAS_OK;
}

/* ---- figure building ---------------------------------------------------------------------- */

/* The figure under construction: panels, series and their arrays live in one arena. */
typedef struct fig_build {
    nas_arena arena;
    nas_plot_panel panels[MAX_SCORERS + 2];
    nas_plot_series *series[MAX_SCORERS + 2]; /* the panels' series, writable */
    int n_panels;
} fig_build;

static double *darr(fig_build *b, int64_t n) {
    return nas_arena_calloc(&b->arena, (size_t)(n > 0 ? n : 1) * sizeof(double));
}

static char *sdup(fig_build *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static char *sdup(fig_build *b, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t n = strlen(buf) + 1;
    char *p = nas_arena_alloc(&b->arena, n);
    if (p) {
        memcpy(p, buf, n);
    }
    return p;
}

static nas_plot_panel *new_panel(fig_build *b, int n_series) {
    if (b->n_panels >= (int)(sizeof b->panels / sizeof b->panels[0])) {
        return NULL;
    }
    nas_plot_panel *p = &b->panels[b->n_panels];
    memset(p, 0, sizeof *p);
    nas_plot_axis_auto(&p->x);
    nas_plot_axis_auto(&p->y);
    nas_plot_axis_auto(&p->y2);
    b->series[b->n_panels] = nas_arena_calloc(&b->arena, sizeof(nas_plot_series) *
                                                             (size_t)(n_series > 0 ? n_series : 1));
    if (!b->series[b->n_panels]) {
        return NULL;
    }
    p->series = b->series[b->n_panels];
    b->n_panels++;
    return p;
}

/* The next series of panel p (made by new_panel with room for it). */
static nas_plot_series *add_series(fig_build *b, nas_plot_panel *p) {
    return &b->series[p - b->panels][p->n_series++];
}

/* Log scale when every value is positive and the largest is more than `ratio` times the
 * smallest (100: two decades). */
static bool wants_log(const double *v, int64_t n, double ratio) {
    double lo = (double)INFINITY, hi = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            continue;
        }
        if (v[i] <= 0) {
            return false;
        }
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    return hi > 0 && isfinite(lo) && hi / lo >= ratio;
}

#define OOM(x)                                                                                     \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            st = nas_error(NAS_ENOMEM, "plot: out of memory");                                     \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* ---- history ------------------------------------------------------------------------------ */

static nas_status build_history(nas_store *db, const nas_job_plot_params *p, fig_build *b,
                                nas_plot_figure *fig, nas_job_plot_result *res) {
    nas_status st = NAS_OK;
    nas_store_table t = {0};
    int64_t run = 0, eval = 0;
    scorer_list sl;
    NAS_CHECK(resolve_search(db, p->db, p->run, &run, &eval));
    NAS_CHECK(run_scorers(db, run, p->scorer, &sl));
    res->run_id = run;
    for (int k = 0; k < sl.n; k++) {
        char q[160];
        if (!quote(sl.name[k], q, sizeof q)) {
            st = nas_error(NAS_EINVAL, "plot: scorer name too long");
            goto cleanup;
        }
        NAS_TRY(sqlf(db, &t,
                     "SELECT seq, value FROM scores WHERE run_id = %lld AND scorer = %s"
                     " AND value IS NOT NULL ORDER BY seq IS NULL, seq, arch_id",
                     (long long)run, q));
        const int64_t n = t.n_rows;
        double *x = darr(b, n), *y = darr(b, n), *best = darr(b, n);
        OOM(x && y && best);
        for (int64_t i = 0; i < n; i++) {
            const nas_store_value *sq = at(&t, i, 0);
            x[i] = sq->type == NAS_STORE_INT ? (double)sq->i : (double)(i + 1);
            y[i] = num(at(&t, i, 1));
            double prev = i ? best[i - 1] : y[i];
            best[i] = sl.higher[k] ? fmax(prev, y[i]) : fmin(prev, y[i]);
        }
        nas_plot_panel *pa = new_panel(b, 2);
        OOM(pa);
        pa->title = sdup(b, "%s (%s is better)", sl.name[k], sl.higher[k] ? "higher" : "lower");
        pa->x.label = "candidate (sequence number in the run)";
        pa->x.integer = true;
        pa->y.label = sdup(b, "%s", sl.name[k]);
        pa->y.log = wants_log(y, n, 100.0);
        nas_plot_series *s = add_series(b, pa);
        *s = (nas_plot_series){.label = "candidate",
                               .style = NAS_PLOT_POINTS,
                               .n = (int)n,
                               .x = x,
                               .y = y,
                               .look = 0,
                               .size = 0.8,
                               .alpha = 0.75};
        s = add_series(b, pa);
        *s = (nas_plot_series){.label = "running best",
                               .style = NAS_PLOT_STEP,
                               .n = (int)n,
                               .x = x,
                               .y = best,
                               .look = 1,
                               .size = 1.3};
        res->n_data += n;
    }
    fig->title =
        sdup(b, "Search history of run %lld (%lld scores)", (long long)run, (long long)res->n_data);
    fig->cols = b->n_panels > 1 ? 2 : 1;
cleanup:
    nas_store_table_free(&t);
    return st;
}

/* ---- pareto ------------------------------------------------------------------------------- */

static nas_status build_pareto(nas_store *db, const nas_job_plot_params *p, fig_build *b,
                               nas_plot_figure *fig, nas_job_plot_result *res) {
    nas_status st = NAS_OK;
    nas_store_table t = {0};
    int64_t run = 0, eval = 0;
    NAS_CHECK(resolve_search(db, p->db, p->run, &run, &eval));
    res->run_id = run;
    const char *cost = p->by == NAS_PARETO_FLOPS ? "flops" : "n_params";
    const char *cost_label = p->by == NAS_PARETO_FLOPS ? "FLOPs per image" : "parameters";
    const bool trained =
        p->scorer && (strcmp(p->scorer, "val_acc") == 0 || strcmp(p->scorer, "test_acc") == 0);
    bool higher = true;
    const char *yname = NULL;
    if (trained) {
        int64_t ids[64];
        int n_ids = 0;
        NAS_CHECK(eval_runs_of(db, run, true, ids, 64, &n_ids));
        if (n_ids == 0) {
            return nas_error(NAS_ENOTFOUND,
                             "run %lld has no finished trainings: pareto on %s needs ghnas "
                             "evaluate DB --run %lld --top K first",
                             (long long)run, p->scorer, (long long)run);
        }
        char list[64 * 24] = "";
        for (int i = 0; i < n_ids; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%lld", i ? ", " : "", (long long)ids[i]);
        }
        res->eval_run_id = ids[0];
        yname = p->scorer;
        NAS_TRY(sqlf(db, &t,
                     "SELECT a.%s, max(t.%s) FROM trainings t JOIN architectures a"
                     " ON a.id = t.arch_id WHERE t.run_id IN (%s) AND t.status = 'finished'"
                     " AND t.%s IS NOT NULL AND a.%s IS NOT NULL GROUP BY t.arch_id",
                     cost, p->scorer, list, p->scorer, cost));
    } else {
        scorer_list sl;
        NAS_CHECK(run_scorers(db, run, p->scorer, &sl));
        char q[160];
        if (!quote(sl.name[0], q, sizeof q)) {
            return nas_error(NAS_EINVAL, "plot: scorer name too long");
        }
        higher = sl.higher[0];
        yname = sdup(b, "%s", sl.name[0]);
        NAS_TRY(sqlf(db, &t,
                     "SELECT a.%s, s.value FROM scores s JOIN architectures a ON a.id = s.arch_id"
                     " WHERE s.run_id = %lld AND s.scorer = %s AND s.value IS NOT NULL"
                     " AND a.%s IS NOT NULL",
                     cost, (long long)run, q, cost));
    }
    const int64_t n = t.n_rows;
    if (n == 0) {
        st = nas_error(NAS_ENOTFOUND, "run %lld: no architecture has both %s and a %s",
                       (long long)run, yname, cost_label);
        goto cleanup;
    }
    double *x = darr(b, n), *y = darr(b, n), *fx = darr(b, n), *fy = darr(b, n);
    int64_t *front = nas_arena_alloc(&b->arena, sizeof *front * (size_t)n);
    OOM(x && y && fx && fy && front);
    for (int64_t i = 0; i < n; i++) {
        x[i] = num(at(&t, i, 0));
        y[i] = num(at(&t, i, 1));
    }
    /* the front by the rule of nas_store_query_pareto and the pareto view (ties kept) */
    int64_t nf = 0;
    NAS_TRY(nas_eval_pareto(y, x, n, higher, front, &nf));
    for (int64_t k = 0; k < nf; k++) {
        fx[k] = x[front[k]];
        fy[k] = y[front[k]];
    }
    nas_plot_panel *pa = new_panel(b, 3);
    OOM(pa);
    pa->x.label = cost_label;
    pa->x.log = wants_log(x, n, 1.0);
    pa->y.label = trained ? sdup(b, "trained %s", yname) : yname;
    pa->y.log = !trained && wants_log(y, n, 100.0);
    nas_plot_series *s = add_series(b, pa);
    *s = (nas_plot_series){.label = "architecture",
                           .style = NAS_PLOT_POINTS,
                           .n = (int)n,
                           .x = x,
                           .y = y,
                           .look = 0,
                           .size = 0.85,
                           .alpha = 0.6};
    s = add_series(b, pa);
    *s = (nas_plot_series){.label = "Pareto front",
                           .style = NAS_PLOT_STEP,
                           .n = (int)nf,
                           .x = fx,
                           .y = fy,
                           .look = 1,
                           .no_legend = true,
                           .size = 1.2};
    s = add_series(b, pa);
    *s = (nas_plot_series){.label = "Pareto front",
                           .style = NAS_PLOT_POINTS,
                           .n = (int)nf,
                           .x = fx,
                           .y = fy,
                           .look = 1,
                           .filled = true,
                           .size = 1.25};
    res->n_data = n;
    res->n_front = nf;
    fig->title = sdup(b, "Pareto front of run %lld: %s%s against %s (%lld of %lld on the front)",
                      (long long)run, trained ? "trained " : "", yname, cost_label, (long long)nf,
                      (long long)n);
    fig->panel_w = 640;
    fig->panel_h = 400;
cleanup:
    nas_store_table_free(&t);
    return st;
}

/* ---- curves ------------------------------------------------------------------------------- */

/* The curve of one training: epochs and the four series (NaN where missing). */
static int64_t parse_curve(fig_build *b, const char *json, double **ep, double **v /* [4] */) {
    json_error_t je;
    json_t *root = json_loads(json ? json : "", 0, &je);
    int64_t n = json_is_array(root) ? (int64_t)json_array_size(root) : 0;
    *ep = darr(b, n);
    static const char *const keys[4] = {"train_acc", "val_acc", "train_loss", "val_loss"};
    for (int k = 0; k < 4; k++) {
        v[k] = darr(b, n);
    }
    if (!*ep || !v[0] || !v[1] || !v[2] || !v[3]) {
        json_decref(root);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        json_t *e = json_array_get(root, (size_t)i);
        json_t *je_ep = json_object_get(e, "epoch");
        (*ep)[i] = json_is_number(je_ep) ? json_number_value(je_ep) : (double)(i + 1);
        for (int k = 0; k < 4; k++) {
            json_t *j = json_object_get(e, keys[k]);
            v[k][i] = json_is_number(j) ? json_number_value(j) : (double)NAN;
        }
    }
    json_decref(root);
    return n;
}

static nas_status build_curves(nas_store *db, const nas_job_plot_params *p, fig_build *b,
                               nas_plot_figure *fig, nas_job_plot_result *res) {
    nas_status st = NAS_OK;
    nas_store_table t = {0};
    int64_t ev = 0;
    if (p->run > 0) {
        char kind[16];
        int64_t of = 0;
        NAS_CHECK(run_kind(db, p->run, kind, sizeof kind, &of));
        if (strcmp(kind, "evaluate") == 0) {
            ev = p->run;
        } else if (strcmp(kind, "search") == 0) {
            int n_ids = 0;
            NAS_CHECK(eval_runs_of(db, p->run, false, &ev, 1, &n_ids));
            if (n_ids == 0) {
                return nas_error(NAS_ENOTFOUND,
                                 "run %lld has no trainings: curves are drawn from the trainings "
                                 "of ghnas evaluate (ghnas evaluate DB --run %lld --top K)",
                                 (long long)p->run, (long long)p->run);
            }
        } else {
            return nas_error(NAS_EINVAL,
                             "run %lld is a %s run: curves need an evaluate run (or its search "
                             "run)",
                             (long long)p->run, kind);
        }
    } else {
        NAS_CHECK(sqlf(db, &t, "SELECT max(run_id) FROM trainings WHERE epochs_done > 0"));
        if (at(&t, 0, 0)->type != NAS_STORE_INT) {
            nas_store_table_free(&t);
            return nas_error(NAS_ENOTFOUND,
                             "results store '%s' has no trainings: curves are drawn from the "
                             "trainings of ghnas evaluate (ghnas evaluate DB --run ID --top K)",
                             p->db);
        }
        ev = at(&t, 0, 0)->i;
    }
    res->run_id = ev;
    NAS_TRY(sqlf(db, &t,
                 "SELECT t.arch_id, t.curve_json, t.val_acc, t.status FROM trainings t"
                 " WHERE t.run_id = %lld AND t.epochs_done > 0"
                 " ORDER BY t.val_acc IS NULL, t.val_acc DESC, t.id",
                 (long long)ev));
    if (t.n_rows == 0) {
        st = nas_error(NAS_ENOTFOUND,
                       "run %lld has no trainings with a finished epoch (nothing to draw)",
                       (long long)ev);
        goto cleanup;
    }
    const int64_t n_tr = t.n_rows;
    nas_plot_panel *acc = new_panel(b, (int)(2 * n_tr)), *loss = new_panel(b, (int)(2 * n_tr));
    OOM(acc && loss);
    acc->title = "accuracy";
    acc->y.label = "accuracy";
    loss->title = "cross-entropy loss";
    loss->y.label = "loss";
    acc->x.label = loss->x.label = "epoch";
    acc->x.integer = loss->x.integer = true;
    for (int64_t r = 0; r < n_tr; r++) {
        double *ep = NULL, *v[4] = {NULL, NULL, NULL, NULL};
        int64_t n = parse_curve(b, text(at(&t, r, 1)), &ep, v);
        OOM(n >= 0);
        const int64_t arch = at(&t, r, 0)->i;
        const bool label = r < 6; /* the legend names the best six */
        const char *status = text(at(&t, r, 3));
        const char *tag = strcmp(status, "finished") == 0 ? "" : " (unfinished)";
        for (int k = 0; k < 2; k++) {
            nas_plot_panel *pa = k == 0 ? acc : loss;
            nas_plot_series *s = add_series(b, pa);
            *s = (nas_plot_series){.label = sdup(b, "arch %lld val%s", (long long)arch, tag),
                                   .style = NAS_PLOT_LINE_POINTS,
                                   .n = (int)n,
                                   .x = ep,
                                   .y = v[2 * k + 1],
                                   .look = (int)r,
                                   .dash = 1,
                                   .filled = true,
                                   .no_legend = !label};
            s = add_series(b, pa);
            *s = (nas_plot_series){.label = sdup(b, "arch %lld train", (long long)arch),
                                   .style = NAS_PLOT_LINE,
                                   .n = (int)n,
                                   .x = ep,
                                   .y = v[2 * k],
                                   .look = (int)r,
                                   .dash = 2,
                                   .size = 0.8,
                                   .alpha = 0.85,
                                   .no_legend = !label};
        }
        res->n_data += n;
    }
    fig->title = sdup(b,
                      "Learning curves of evaluate run %lld (%lld trainings; solid: validation, "
                      "dashed: training)",
                      (long long)ev, (long long)n_tr);
    fig->cols = 2;
    fig->panel_w = 480;
    fig->panel_h = 340;
cleanup:
    nas_store_table_free(&t);
    return st;
}

/* ---- scorers ------------------------------------------------------------------------------ */

static nas_status build_scorers(nas_store *db, const nas_job_plot_params *p, fig_build *b,
                                nas_plot_figure *fig, nas_job_plot_result *res) {
    nas_status st = NAS_OK;
    nas_store_table t = {0}, tr = {0};
    nas_eval_item *items = NULL;
    nas_eval_corr *corr = NULL;
    int n_corr = 0;
    int64_t run = 0, ev = 0, given = p->run;
    if (given <= 0) { /* the newest evaluate run with finished trainings */
        NAS_CHECK(sqlf(db, &t,
                       "SELECT max(run_id) FROM trainings WHERE status = 'finished'"
                       " AND val_acc IS NOT NULL"));
        if (at(&t, 0, 0)->type != NAS_STORE_INT) {
            nas_store_table_free(&t);
            return nas_error(NAS_ENOTFOUND,
                             "results store '%s' has no finished trainings: the scorers figure "
                             "compares each scorer with the trained accuracy (ghnas evaluate DB "
                             "--run ID --sample K first)",
                             p->db);
        }
        given = at(&t, 0, 0)->i;
    }
    NAS_CHECK(resolve_search(db, p->db, given, &run, &ev));
    if (ev == 0) {
        int n_ids = 0;
        NAS_CHECK(eval_runs_of(db, run, true, &ev, 1, &n_ids));
        if (n_ids == 0) {
            return nas_error(NAS_ENOTFOUND,
                             "run %lld has no finished trainings: the scorers figure compares "
                             "each scorer with the trained accuracy (ghnas evaluate DB --run %lld "
                             "--sample K first)",
                             (long long)run, (long long)run);
        }
    }
    res->run_id = run;
    res->eval_run_id = ev;
    NAS_TRY(nas_store_query_run_trainings(db, ev, &tr));
    if (tr.n_rows == 0) {
        st = nas_error(NAS_ENOTFOUND, "evaluate run %lld has no finished trainings", (long long)ev);
        goto cleanup;
    }
    items = nas_calloc((size_t)tr.n_rows, sizeof *items);
    OOM(items);
    for (int64_t i = 0; i < tr.n_rows; i++) {
        items[i].arch_id = at(&tr, i, 0)->i;
        items[i].status = NAS_RUN_FINISHED;
        items[i].val_acc = num(at(&tr, i, 1));
        items[i].train_acc = items[i].test_acc = (double)NAN;
    }
    NAS_TRY(nas_eval_correlations(db, run, items, (int)tr.n_rows, 1000, 1, &corr, &n_corr));
    if (n_corr == 0) {
        st = nas_error(NAS_ENOTFOUND, "run %lld: no scorer to compare", (long long)run);
        goto cleanup;
    }
    if (n_corr > MAX_SCORERS) {
        n_corr = MAX_SCORERS;
    }
    /* one scatter per scorer */
    for (int k = 0; k < n_corr; k++) {
        char q[160];
        if (!quote(corr[k].scorer, q, sizeof q)) {
            st = nas_error(NAS_EINVAL, "plot: scorer name too long");
            goto cleanup;
        }
        NAS_TRY(sqlf(db, &t,
                     "SELECT s.value, t.val_acc FROM scores s JOIN (SELECT arch_id,"
                     " max(val_acc) AS val_acc FROM trainings WHERE run_id = %lld"
                     " AND status = 'finished' AND val_acc IS NOT NULL GROUP BY arch_id) t"
                     " ON t.arch_id = s.arch_id WHERE s.run_id = %lld AND s.scorer = %s"
                     " AND s.value IS NOT NULL ORDER BY s.arch_id",
                     (long long)ev, (long long)run, q));
        const int64_t n = t.n_rows;
        double *x = darr(b, n), *y = darr(b, n);
        OOM(x && y);
        for (int64_t i = 0; i < n; i++) {
            x[i] = num(at(&t, i, 0));
            y[i] = num(at(&t, i, 1));
        }
        nas_plot_panel *pa = new_panel(b, 1);
        OOM(pa);
        pa->title = isnan(corr[k].tau.value) ? sdup(b, "%s (n %d)", corr[k].scorer, corr[k].n)
                                             : sdup(b, "%s: tau %.2f, rho %.2f", corr[k].scorer,
                                                    corr[k].tau.value, corr[k].rho.value);
        pa->x.label = sdup(b, "%s (%s is better)", corr[k].scorer,
                           corr[k].higher_is_better ? "higher" : "lower");
        pa->x.log = wants_log(x, n, 100.0);
        pa->y.label = "trained val_acc";
        pa->no_legend = true;
        nas_plot_series *s = add_series(b, pa);
        *s = (nas_plot_series){.label = "architecture",
                               .style = NAS_PLOT_POINTS,
                               .n = (int)n,
                               .x = x,
                               .y = y,
                               .look = 0,
                               .alpha = 0.8};
        res->n_data += n;
    }
    /* tau / rho bars with their intervals */
    nas_plot_panel *pa = new_panel(b, 3);
    OOM(pa);
    const char **cats = nas_arena_alloc(&b->arena, sizeof *cats * (size_t)n_corr);
    double *cx = darr(b, n_corr);
    double *v[3], *lo[3], *hi[3];
    for (int j = 0; j < 3; j++) {
        v[j] = darr(b, n_corr);
        lo[j] = darr(b, n_corr);
        hi[j] = darr(b, n_corr);
        OOM(v[j] && lo[j] && hi[j]);
    }
    OOM(cats && cx);
    for (int k = 0; k < n_corr; k++) {
        cats[k] = sdup(b, "%s", corr[k].scorer);
        cx[k] = k;
        const nas_eval_ci *ci[3] = {&corr[k].tau, &corr[k].rho, &corr[k].tau_top};
        for (int j = 0; j < 3; j++) {
            v[j][k] = ci[j]->value;
            lo[j][k] = ci[j]->lo;
            hi[j][k] = ci[j]->hi;
        }
    }
    pa->categories = cats;
    pa->n_categories = n_corr;
    pa->title = "vs trained val_acc, 95 % intervals";
    pa->y.label = "correlation";
    pa->y.min = -1.0;
    pa->y.max = 1.0;
    pa->zero_line = true;
    static const char *const labels[3] = {"Kendall tau", "Spearman rho", "tau, top half"};
    for (int j = 0; j < 3; j++) {
        nas_plot_series *s = add_series(b, pa);
        *s = (nas_plot_series){.label = labels[j],
                               .style = NAS_PLOT_BARS,
                               .n = n_corr,
                               .x = cx,
                               .y = v[j],
                               .lo = lo[j],
                               .hi = hi[j],
                               .look = j};
    }
    fig->title = sdup(b, "Scorers of run %lld against %lld trainings of evaluate run %lld",
                      (long long)run, (long long)tr.n_rows, (long long)ev);
    fig->cols = 3;
    fig->panel_w = 330;
    fig->panel_h = 260;
cleanup:
    nas_free(corr);
    nas_free(items);
    nas_store_table_free(&tr);
    nas_store_table_free(&t);
    return st;
}

/* ---- ghn ---------------------------------------------------------------------------------- */

static nas_status build_ghn(nas_store *db, const nas_job_plot_params *p, fig_build *b,
                            nas_plot_figure *fig, nas_job_plot_result *res) {
    nas_status st = NAS_OK;
    nas_store_table t = {0};
    json_t *root = NULL;
    int64_t g = p->ghn;
    if (g <= 0 && p->run > 0) {
        nas_run_info ri;
        memset(&ri, 0, sizeof ri);
        NAS_CHECK(nas_store_run_get(db, p->run, &ri));
        g = ri.ghn_id;
        nas_run_info_free(&ri);
        res->run_id = p->run;
        if (g <= 0) {
            return nas_error(NAS_ENOTFOUND,
                             "run %lld used no GHN (give --ghn ID, see ghnas "
                             "query DB ghns)",
                             (long long)p->run);
        }
    }
    if (g <= 0) {
        NAS_CHECK(sqlf(db, &t, "SELECT max(id) FROM ghn_models"));
        if (at(&t, 0, 0)->type != NAS_STORE_INT) {
            nas_store_table_free(&t);
            return nas_error(NAS_ENOTFOUND, "results store '%s' has no GHN (ghnas train --db %s)",
                             p->db, p->db);
        }
        g = at(&t, 0, 0)->i;
    }
    res->ghn_id = g;
    NAS_TRY(sqlf(db, &t,
                 "SELECT id, space, dataset, steps, seconds, train_loss, config_json"
                 " FROM ghn_models WHERE id = %lld",
                 (long long)g));
    if (t.n_rows == 0) {
        st = nas_error(NAS_ENOTFOUND, "results store '%s' has no GHN %lld", p->db, (long long)g);
        goto cleanup;
    }
    json_error_t je;
    root = json_loads(text(at(&t, 0, 6)), 0, &je);
    json_t *curve = json_object_get(root, "curve");
    json_t *js = json_object_get(curve, "step"), *jl = json_object_get(curve, "loss"),
           *ja = json_object_get(curve, "acc");
    const int64_t n = json_is_array(js) ? (int64_t)json_array_size(js) : 0;
    if (n == 0 || !json_is_array(jl) || !json_is_array(ja) || json_array_size(jl) != (size_t)n ||
        json_array_size(ja) != (size_t)n) {
        st = nas_error(NAS_ENOTFOUND,
                       "GHN %lld has no training curve stored (GHNs stored by an older ghnas keep "
                       "only the final loss, %.3f); train one with ghnas train --db",
                       (long long)g, num(at(&t, 0, 5)));
        goto cleanup;
    }
    double *x = darr(b, n), *loss = darr(b, n), *acc = darr(b, n);
    OOM(x && loss && acc);
    for (int64_t i = 0; i < n; i++) {
        json_t *a = json_array_get(js, (size_t)i), *l = json_array_get(jl, (size_t)i),
               *c = json_array_get(ja, (size_t)i);
        x[i] = json_is_number(a) ? json_number_value(a) : (double)NAN;
        loss[i] = json_is_number(l) ? json_number_value(l) : (double)NAN;
        acc[i] = json_is_number(c) ? json_number_value(c) : (double)NAN;
    }
    nas_plot_panel *pa = new_panel(b, 2);
    OOM(pa);
    pa->x.label = "training step";
    pa->x.integer = true;
    pa->y.label = "training loss (cross-entropy)";
    pa->y2.label = "training-batch accuracy";
    const nas_plot_style style = n <= 60 ? NAS_PLOT_LINE_POINTS : NAS_PLOT_LINE;
    nas_plot_series *s = add_series(b, pa);
    *s = (nas_plot_series){.label = "loss (left)",
                           .style = style,
                           .n = (int)n,
                           .x = x,
                           .y = loss,
                           .look = 0,
                           .dash = 1,
                           .filled = true};
    s = add_series(b, pa);
    *s = (nas_plot_series){.label = "accuracy (right)",
                           .style = style,
                           .n = (int)n,
                           .x = x,
                           .y = acc,
                           .look = 1,
                           .dash = 2,
                           .right = true};
    res->n_data = n;
    fig->title =
        sdup(b, "GHN %lld: %s on %s, %lld steps in %.0f s", (long long)g, text(at(&t, 0, 1)),
             text(at(&t, 0, 2)), (long long)at(&t, 0, 3)->i, num(at(&t, 0, 4)));
    fig->panel_w = 640;
    fig->panel_h = 360;
cleanup:
    json_decref(root);
    nas_store_table_free(&t);
    return st;
}

/* ---- the job ------------------------------------------------------------------------------ */

nas_status nas_job_plot(const nas_job_plot_params *p, nas_job_plot_result *res) {
    memset(res, 0, sizeof *res);
    if (!p || !p->db) {
        return nas_error(NAS_EINVAL, "plot: no results store given");
    }
    if ((unsigned)p->kind >= NAS_JOB_PLOT_KIND_COUNT) {
        return nas_error(NAS_EINVAL, "plot: bad kind %d", (int)p->kind);
    }
    nas_plot_format fmt = p->format;
    if (p->out) { /* a bad file name fails before any work */
        NAS_CHECK(nas_plot_format_from_path(p->out, &fmt));
        NAS_CHECK(nas_path_check_output(p->out, "plot (--out)"));
    }
    nas_store *db = NULL;
    NAS_CHECK(nas_store_open(&db, p->db, NAS_STORE_READONLY));
    fig_build *b = nas_calloc(1, sizeof *b);
    if (!b) {
        nas_store_close(db);
        return nas_error(NAS_ENOMEM, "plot: out of memory");
    }
    nas_status st = nas_arena_init(&b->arena, 1 << 16);
    nas_plot_figure fig;
    memset(&fig, 0, sizeof fig);
    if (st == NAS_OK) {
        switch (p->kind) {
            case NAS_JOB_PLOT_HISTORY:
                st = build_history(db, p, b, &fig, res);
                break;
            case NAS_JOB_PLOT_PARETO:
                st = build_pareto(db, p, b, &fig, res);
                break;
            case NAS_JOB_PLOT_CURVES:
                st = build_curves(db, p, b, &fig, res);
                break;
            case NAS_JOB_PLOT_SCORERS:
                st = build_scorers(db, p, b, &fig, res);
                break;
            default:
                st = build_ghn(db, p, b, &fig, res);
                break;
        }
    }
    if (st == NAS_OK) {
        fig.panels = b->panels;
        fig.n_panels = b->n_panels;
        snprintf(res->title, sizeof res->title, "%s", fig.title ? fig.title : "");
        if (p->out) {
            st = nas_plot_write(&fig, p->out, &res->stats);
        } else {
            st = nas_plot_render(&fig, fmt, &res->bytes, &res->n_bytes, &res->stats);
        }
    }
    if (st != NAS_OK) {
        nas_error_wrap(st, "plot %s", nas_job_plot_kind_name(p->kind));
    }
    nas_arena_free(&b->arena);
    nas_free(b);
    nas_store_close(db);
    return st;
}
