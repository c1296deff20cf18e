/*
 * The report job: one self-contained HTML file about a search run -- its record and
 * configuration, the leaderboard with trained accuracies, every figure of the plot job that has
 * data (inlined as SVG data URIs, each with the command that reproduces it; the ones without
 * data say why), and the best architectures' cells drawn by Graphviz -- with no network access
 * and no JavaScript, written atomically.
 */
#include "job-impl.h"

#include "ghnas/container.h"
#include "ghnas/space.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

nas_job_report_params nas_job_report_defaults(void) {
    nas_job_report_params p;
    memset(&p, 0, sizeof p);
    p.top = 20;
    p.graphs = 3;
    return p;
}

/* ---- a growing text ------------------------------------------------------------------------- */

typedef struct text_buf {
    char *p;
    size_t n, cap;
    bool failed; /* out of memory: everything after is dropped, the job fails at the end */
} text_buf;

static void put_n(text_buf *b, const char *s, size_t n) {
    if (b->failed) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        char *q = nas_realloc(b->p, cap);
        if (!q) {
            b->failed = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void put(text_buf *b, const char *s) {
    put_n(b, s, strlen(s));
}

static void putf(text_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void putf(text_buf *b, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) {
        put_n(b, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    }
}

/* Text with the HTML specials escaped. */
static void put_esc(text_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
            case '&':
                put(b, "&amp;");
                break;
            case '<':
                put(b, "&lt;");
                break;
            case '>':
                put(b, "&gt;");
                break;
            case '"':
                put(b, "&quot;");
                break;
            default:
                put_n(b, s, 1);
        }
    }
}

/* bytes as base64 (RFC 4648). */
static void put_base64(text_buf *b, const unsigned char *d, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        if (i + 1 < n) {
            v |= (unsigned)d[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= d[i + 2];
        }
        out[0] = tab[(v >> 18) & 63];
        out[1] = tab[(v >> 12) & 63];
        out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? tab[v & 63] : '=';
        put_n(b, out, 4);
    }
}

/* An SVG as an <img> with a data URI (each image its own document: ids never collide). */
static void put_svg_img(text_buf *b, const void *svg, size_t n, const char *alt) {
    put(b, "<img alt=\"");
    put_esc(b, alt);
    put(b, "\" src=\"data:image/svg+xml;base64,");
    put_base64(b, svg, n);
    put(b, "\">");
}

/* A shell word: as it is when it is plain, else in single quotes. */
static void put_shell(text_buf *b, const char *s) {
    bool plain = s[0] != '\0';
    for (const char *c = s; *c; c++) {
        plain = plain && (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 "._-/+=:,@",
                                 *c) != NULL);
    }
    if (plain) {
        put_esc(b, s);
        return;
    }
    put(b, "'");
    for (const char *c = s; *c; c++) {
        if (*c == '\'') {
            put(b, "'\\''");
        } else {
            char one[2] = {*c, 0};
            put_esc(b, one);
        }
    }
    put(b, "'");
}

/* ---- the store ------------------------------------------------------------------------------ */

/* A value as table text: integers plain, reals with 4-6 significant digits, NULL as "-". */
static void put_value(text_buf *b, const nas_store_value *v) {
    switch (v->type) {
        case NAS_STORE_INT:
            putf(b, "%lld", (long long)v->i);
            break;
        case NAS_STORE_REAL:
            if (v->r == floor(v->r) && fabs(v->r) < 1e15) { /* a count stored as REAL */
                putf(b, "%.0f", v->r);
                break;
            }
            putf(b, fabs(v->r) >= 1e5 || (v->r != 0 && fabs(v->r) < 1e-3) ? "%.4g" : "%.4f", v->r);
            break;
        case NAS_STORE_TEXT:
            put_esc(b, v->s);
            break;
        default:
            put(b, "-");
    }
}

static nas_status sql(nas_store *db, nas_store_table *t, const char *text) {
    nas_store_table_free(t);
    memset(t, 0, sizeof *t);
    return nas_store_query_sql(db, text, t);
}

/* Flatten a JSON configuration into table rows "key.sub = value". */
static void put_json_rows(text_buf *b, json_t *j, const char *prefix) {
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            char key[256];
            snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            put_json_rows(b, v, key);
        }
        return;
    }
    char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    put(b, "<tr><th>");
    put_esc(b, prefix);
    put(b, "</th><td>");
    put_esc(b, json_is_string(j) ? json_string_value(j) : text ? text : "?");
    put(b, "</td></tr>\n");
    free(text);
}

/* ---- architecture graphs --------------------------------------------------------------------- */

/* DOT of an architecture's cells (or, for a macro space, its stages). */
static void arch_dot(const nas_space *sp, const nas_arch *a, text_buf *d) {
    put(d, "digraph arch {\n  rankdir=TB; bgcolor=white; fontname=\"DejaVu Sans\";\n"
           "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\", "
           "fontname=\"DejaVu Sans\", fontsize=11];\n"
           "  edge [fontname=\"DejaVu Sans\", fontsize=10];\n");
    if (a->kind == NAS_SPACE_MACRO) {
        put(d, "  in [label=\"input\", fillcolor=white];\n");
        for (int s = 0; s < a->n_stages; s++) {
            const nas_macro_stage *st = &a->stage[s];
            putf(d,
                 "  s%d [label=\"stage %d\\n%d block%s, width %d\\nkernel %d, expansion %d, "
                 "stride %d\"];\n",
                 s, s + 1, st->depth, st->depth == 1 ? "" : "s", st->width, st->kernel,
                 st->expansion, st->stride);
            if (s == 0) {
                put(d, "  in -> s0;\n");
            } else {
                putf(d, "  s%d -> s%d;\n", s - 1, s);
            }
        }
        putf(d, "  out [label=\"classifier\", fillcolor=white];\n  s%d -> out;\n}\n",
             a->n_stages > 0 ? a->n_stages - 1 : 0);
        return;
    }
    static const char *const cell_names[2] = {"normal cell", "reduction cell"};
    for (int c = 0; c < a->n_cells; c++) {
        const nas_cell *cell = &a->cell[c];
        if (a->n_cells > 1) {
            putf(d, "  subgraph cluster_%d {\n  label=\"%s\"; color=\"#999999\";\n", c,
                 cell_names[c]);
        }
        for (int v = 0; v < cell->n_nodes; v++) {
            int role = cell->node_op[v];
            char label[64];
            const char *fill = "#eeeeee";
            if (role == NAS_NODE_INPUT) {
                if (cell->n_inputs > 1) {
                    snprintf(label, sizeof label, "c_{k-%d}", cell->n_inputs - v);
                } else {
                    snprintf(label, sizeof label, "input");
                }
                fill = "white";
            } else if (role == NAS_NODE_OUTPUT) {
                snprintf(label, sizeof label, "output");
                fill = "white";
            } else if (role == NAS_NODE_SUM) {
                snprintf(label, sizeof label, "node %d", v);
            } else {
                snprintf(label, sizeof label, "%s",
                         role >= 0 && role < sp->n_ops ? nas_cell_op_name(sp->ops[role]) : "?");
            }
            putf(d, "  c%dn%d [label=\"%s\", fillcolor=\"%s\"];\n", c, v, label, fill);
        }
        for (int e = 0; e < cell->n_edges; e++) {
            const nas_edge *ed = &cell->edges[e];
            if (ed->op >= 0 && ed->op < sp->n_ops) {
                nas_cell_op op = sp->ops[ed->op];
                if (op == NAS_CELL_OP_NONE) {
                    continue; /* a zero edge contributes nothing */
                }
                putf(d, "  c%dn%d -> c%dn%d [label=\"%s\"%s];\n", c, ed->src, c, ed->dst,
                     nas_cell_op_name(op), op == NAS_CELL_OP_SKIP_CONNECT ? ", style=dashed" : "");
            } else {
                putf(d, "  c%dn%d -> c%dn%d;\n", c, ed->src, c, ed->dst);
            }
        }
        if (cell->n_concat > 0) {
            putf(d, "  c%dout [label=\"output (concat)\", fillcolor=white];\n", c);
            for (int k = 0; k < cell->n_concat; k++) {
                putf(d, "  c%dn%d -> c%dout;\n", c, cell->concat[k], c);
            }
        }
        if (a->n_cells > 1) {
            put(d, "  }\n");
        }
    }
    put(d, "}\n");
}

/* ---- the report ------------------------------------------------------------------------------ */

static const char style_css[] =
    "body{font-family:'DejaVu Sans',sans-serif;margin:24px auto;max-width:1180px;color:#111;"
    "background:#fff}\n"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}"
    "h3{font-size:15px}\n"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}\n"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code,pre{font-family:'DejaVu Sans Mono',monospace;font-size:12px;background:#f6f6f6}\n"
    "pre{padding:6px 10px;white-space:pre-wrap;word-break:break-all}\n"
    "figure{margin:12px 0 28px 0}img{max-width:100%;height:auto;border:1px solid #ddd}\n"
    "figcaption{font-size:13px;margin-top:4px}.missing{color:#844}\n"
    "nav a{margin-right:14px}\n";

static void put_cmd(text_buf *b, const char *db, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* "<pre>ghnas ... DB ...</pre>": fmt holds "%s"-free text around one DB slot written as "@DB". */
static void put_cmd(text_buf *b, const char *db, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(b, "<pre>");
    const char *at = strstr(buf, "@DB");
    if (at) {
        put_n(b, buf, (size_t)(at - buf));
        put_shell(b, db);
        put_esc(b, at + 3);
    } else {
        put_esc(b, buf);
    }
    put(b, "</pre>\n");
}

static const char *const figure_text[NAS_JOB_PLOT_KIND_COUNT] = {
    "The search score of every candidate by its sequence number, with the running best.",
    "Score against parameters; the Pareto front (no architecture is better at lower or equal "
    "cost) highlighted.",
    "Learning curves of the trainings of the newest evaluate run: validation solid, training "
    "dashed.",
    "Every recorded scorer against the trained validation accuracy, and Kendall tau, Spearman "
    "rho and tau on the better half with 95 % bootstrap intervals.",
    "The GHN's training loss and training-batch accuracy by step."};

nas_status nas_job_report(const nas_job_report_params *p, nas_job_report_result *res) {
    memset(res, 0, sizeof *res);
    if (!p || !p->db || !p->out) {
        return nas_error(NAS_EINVAL, "report: give the results store and the output file");
    }
    NAS_CHECK(nas_path_check_output(p->out, "report (--out)")); /* before any work */
    nas_status st = NAS_OK;
    nas_store *db = NULL;
    nas_store_table t = {0}, top = {0};
    nas_run_info ri;
    memset(&ri, 0, sizeof ri);
    text_buf b = {0};
    text_buf dot = {0};
    json_t *cfg = NULL;
    NAS_TRY(nas_store_open(&db, p->db, NAS_STORE_READONLY));
    /* the search run: the plot job's rules (an evaluate run means its search run) */
    int64_t run = p->run;
    if (run > 0) {
        NAS_TRY(nas_store_run_get(db, run, &ri));
        if (strcmp(ri.kind, "evaluate") == 0) {
            json_error_t je;
            json_t *root = json_loads(ri.config_json ? ri.config_json : "", 0, &je);
            json_t *j = json_object_get(root, "search_run");
            run = json_is_integer(j) ? (int64_t)json_integer_value(j) : 0;
            json_decref(root);
            nas_run_info_free(&ri);
            memset(&ri, 0, sizeof ri);
            if (run <= 0) {
                st = nas_error(NAS_EFORMAT,
                               "report: run %lld is an evaluate run without a search "
                               "run",
                               (long long)p->run);
                goto cleanup;
            }
            NAS_TRY(nas_store_run_get(db, run, &ri));
        }
        if (strcmp(ri.kind, "search") != 0) {
            st = nas_error(NAS_EINVAL, "report: run %lld is a %s run: give a search run",
                           (long long)run, ri.kind);
            goto cleanup;
        }
    } else {
        NAS_TRY(sql(db, &t, "SELECT max(run_id) FROM scores"));
        if (nas_store_table_at(&t, 0, 0)->type != NAS_STORE_INT) {
            st = nas_error(NAS_ENOTFOUND,
                           "report: results store '%s' has no scored run yet (run ghnas search "
                           "first)",
                           p->db);
            goto cleanup;
        }
        run = nas_store_table_at(&t, 0, 0)->i;
        NAS_TRY(nas_store_run_get(db, run, &ri));
    }
    res->run_id = run;
    st = nas_store_query_top(db, run, NULL, p->top > 0 ? p->top : 20, &top);
    if (st != NAS_OK) {
        nas_error_wrap(st, "report");
        goto cleanup;
    }
    /* ---- head, record, configuration ---- */
    putf(&b,
         "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<title>ghnas report: run %lld</title>\n<style>\n",
         (long long)run);
    put(&b, style_css);
    put(&b, "</style>\n</head>\n<body>\n<h1>ghnas report: search run ");
    putf(&b, "%lld", (long long)run);
    if (ri.name[0]) {
        put(&b, " (");
        put_esc(&b, ri.name);
        put(&b, ")");
    }
    put(&b, "</h1>\n<p>Results store <code>");
    put_esc(&b, p->db);
    {
        char when[32];
        time_t now = time(NULL);
        struct tm tmv;
        gmtime_r(&now, &tmv);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tmv);
        putf(&b, "</code>; written by ghnas %s at %s UTC.</p>\n", GHNAS_VERSION, when);
    }
    put(&b, "<nav><a href=\"#run\">run</a><a href=\"#config\">configuration</a>"
            "<a href=\"#leaderboard\">leaderboard</a><a href=\"#figures\">figures</a>"
            "<a href=\"#archs\">best architectures</a><a href=\"#commands\">commands</a></nav>\n");
    put(&b, "<h2 id=\"run\">Run</h2>\n<table>\n");
    NAS_TRY(sql(db, &t, "SELECT 1")); /* keep t valid for the counts below */
    {
        char q[256];
        snprintf(q, sizeof q,
                 "SELECT (SELECT count(DISTINCT arch_id) FROM scores WHERE run_id = %lld),"
                 " (SELECT count(DISTINCT scorer) FROM scores WHERE run_id = %lld)",
                 (long long)run, (long long)run);
        NAS_TRY(sql(db, &t, q));
    }
    const char *rows[][2] = {{"kind", ri.kind},
                             {"status", nas_run_status_name(ri.status)},
                             {"space", ri.space},
                             {"dataset", ri.dataset},
                             {"primary scorer", ri.scorer},
                             {"started", ri.started_at},
                             {"finished", ri.finished_at},
                             {"host", ri.host},
                             {"ghnas version", ri.version}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        put(&b, "<tr><th>");
        put(&b, rows[i][0]);
        put(&b, "</th><td>");
        put_esc(&b, rows[i][1][0] ? rows[i][1] : "-");
        put(&b, "</td></tr>\n");
    }
    putf(&b, "<tr><th>seed</th><td>%llu</td></tr>\n", (unsigned long long)ri.seed);
    if (ri.ghn_id > 0) {
        putf(&b, "<tr><th>GHN</th><td>%lld</td></tr>\n", (long long)ri.ghn_id);
    }
    putf(&b, "<tr><th>architectures scored</th><td>%lld</td></tr>\n",
         (long long)nas_store_table_at(&t, 0, 0)->i);
    putf(&b, "<tr><th>scorers recorded</th><td>%lld</td></tr>\n</table>\n",
         (long long)nas_store_table_at(&t, 0, 1)->i);
    put(&b, "<h2 id=\"config\">Configuration</h2>\n<table>\n");
    {
        json_error_t je;
        cfg = json_loads(ri.config_json ? ri.config_json : "{}", 0, &je);
        if (cfg) {
            put_json_rows(&b, cfg, "");
        } else {
            put(&b, "<tr><td>");
            put_esc(&b, ri.config_json ? ri.config_json : "");
            put(&b, "</td></tr>\n");
        }
    }
    put(&b, "</table>\n");
    /* ---- leaderboard, with the trained accuracies of the run's evaluate runs ---- */
    putf(&b,
         "<h2 id=\"leaderboard\">Leaderboard</h2>\n<p>The best %lld architectures of run "
         "%lld by ",
         (long long)top.n_rows, (long long)run);
    put_esc(&b, top.n_cols > 2 ? top.cols[2] : "?");
    put(&b, "; trained accuracies are the best finished training of each architecture in an "
            "evaluate run of this search.</p>\n<table>\n<tr><th>rank</th><th>arch id</th><th>");
    put_esc(&b, top.n_cols > 2 ? top.cols[2] : "score");
    put(&b, "</th><th>params</th><th>FLOPs</th><th>val_acc</th><th>test_acc</th>"
            "<th>architecture</th></tr>\n");
    int64_t eval_ids[64];
    int n_eval = 0;
    {
        nas_store_table ev = {0};
        NAS_TRY(sql(db, &ev,
                    "SELECT id, config_json FROM runs WHERE kind = 'evaluate' ORDER BY id"
                    " DESC"));
        for (int64_t r = 0; r < ev.n_rows && n_eval < 64; r++) {
            json_error_t je;
            const nas_store_value *cv = nas_store_table_at(&ev, r, 1);
            json_t *root = json_loads(cv->type == NAS_STORE_TEXT ? cv->s : "", 0, &je);
            json_t *j = json_object_get(root, "search_run");
            if (json_is_integer(j) && json_integer_value(j) == run) {
                eval_ids[n_eval++] = nas_store_table_at(&ev, r, 0)->i;
            }
            json_decref(root);
        }
        nas_store_table_free(&ev);
    }
    char in_list[64 * 24] = "0";
    for (int i = 0; i < n_eval; i++) {
        size_t len = strlen(in_list);
        snprintf(in_list + len, sizeof in_list - len, ", %lld", (long long)eval_ids[i]);
    }
    for (int64_t r = 0; r < top.n_rows; r++) {
        const int64_t arch_id = nas_store_table_at(&top, r, 1)->i;
        char q[512];
        snprintf(q, sizeof q,
                 "SELECT max(val_acc), max(test_acc) FROM trainings WHERE arch_id = %lld AND"
                 " run_id IN (%s) AND status = 'finished'",
                 (long long)arch_id, in_list);
        NAS_TRY(sql(db, &t, q));
        put(&b, "<tr>");
        for (int c = 0; c < 5; c++) {
            put(&b, "<td class=\"n\">");
            put_value(&b, nas_store_table_at(&top, r, c));
            put(&b, "</td>");
        }
        for (int c = 0; c < 2; c++) {
            put(&b, "<td class=\"n\">");
            put_value(&b, nas_store_table_at(&t, 0, c));
            put(&b, "</td>");
        }
        put(&b, "<td><code>");
        put_value(&b, nas_store_table_at(&top, r, 5));
        put(&b, "</code></td></tr>\n");
    }
    put(&b, "</table>\n");
    /* ---- figures ---- */
    put(&b, "<h2 id=\"figures\">Figures</h2>\n");
    for (int k = 0; k < NAS_JOB_PLOT_KIND_COUNT; k++) {
        nas_job_plot_params pp = nas_job_plot_defaults();
        pp.db = p->db;
        pp.kind = (nas_job_plot_kind)k;
        pp.run = run;
        pp.format = NAS_PLOT_SVG;
        nas_job_plot_result pr;
        nas_status ps = nas_job_plot(&pp, &pr);
        const char *name = nas_job_plot_kind_name((nas_job_plot_kind)k);
        putf(&b, "<h3 id=\"fig-%s\">%s</h3>\n", name, name);
        if (ps == NAS_OK) {
            put(&b, "<figure>");
            put_svg_img(&b, pr.bytes, pr.n_bytes, pr.title);
            put(&b, "<figcaption>");
            put_esc(&b, pr.title);
            put(&b, ". ");
            put(&b, figure_text[k]);
            put(&b, " Reproduce:</figcaption>\n");
            put_cmd(&b, p->db, "ghnas plot @DB %s --run %lld --out %s.svg", name, (long long)run,
                    name);
            put(&b, "</figure>\n");
            res->n_figures++;
        } else if (ps == NAS_ENOTFOUND) {
            put(&b, "<p class=\"missing\">Not drawn: ");
            put_esc(&b, nas_errmsg());
            put(&b, ".</p>\n");
            res->n_missing++;
        } else {
            st = ps;
            nas_job_plot_result_free(&pr);
            goto cleanup;
        }
        nas_job_plot_result_free(&pr);
    }
    /* ---- best architectures ---- */
    put(&b, "<h2 id=\"archs\">Best architectures</h2>\n");
    {
        nas_space sp;
        nas_status ss = nas_space_load(&sp, ri.space);
        if (ss != NAS_OK) {
            json_t *jp = json_object_get(cfg, "space_path");
            if (json_is_string(jp)) {
                ss = nas_space_load(&sp, json_string_value(jp));
            }
        }
        if (ss != NAS_OK) {
            put(&b, "<p class=\"missing\">Not drawn: the space cannot be loaded: ");
            put_esc(&b, nas_errmsg());
            put(&b, "</p>\n");
        }
        for (int64_t r = 0; ss == NAS_OK && r < top.n_rows && r < p->graphs; r++) {
            const char *arch = nas_store_table_at(&top, r, 5)->s;
            nas_arch a;
            if (!arch || nas_arch_decode(&sp, arch, &a) != NAS_OK) {
                put(&b, "<p class=\"missing\">Not drawn: ");
                put_esc(&b, nas_errmsg());
                put(&b, "</p>\n");
                continue;
            }
            dot.n = 0;
            arch_dot(&sp, &a, &dot);
            if (dot.failed) {
                st = nas_error(NAS_ENOMEM, "report: out of memory");
                goto cleanup;
            }
            char *svg = NULL;
            size_t n_svg = 0;
            NAS_TRY(nas_plot_graph_svg(dot.p, &svg, &n_svg));
            putf(&b, "<h3>rank %lld: architecture %lld, ", (long long)(r + 1),
                 (long long)nas_store_table_at(&top, r, 1)->i);
            put_esc(&b, top.cols[2]);
            put(&b, " ");
            put_value(&b, nas_store_table_at(&top, r, 2));
            put(&b, ", ");
            put_value(&b, nas_store_table_at(&top, r, 3));
            put(&b, " params</h3>\n<figure>");
            put_svg_img(&b, svg, n_svg, arch);
            nas_free(svg);
            put(&b, "<figcaption><code>");
            put_esc(&b, arch);
            put(&b, "</code> (edges of the zero op are left out). The whole compiled network:"
                    "</figcaption>\n");
            put(&b, "<pre>ghnas show ");
            put_shell(&b, arch);
            put(&b, " --space ");
            put_shell(&b, sp.name);
            put(&b, " --format dot | dot -Tsvg -o net.svg</pre>\n</figure>\n");
            res->n_graphs++;
        }
    }
    /* ---- commands ---- */
    put(&b, "<h2 id=\"commands\">Commands</h2>\n<p>This report, and the tables it shows:</p>\n");
    put_cmd(&b, p->db, "ghnas report @DB --run %lld --out report.html", (long long)run);
    put_cmd(&b, p->db, "ghnas query @DB runs");
    put_cmd(&b, p->db, "ghnas query @DB top --run %lld -k %d", (long long)run, p->top);
    put_cmd(&b, p->db, "ghnas query @DB pareto --run %lld", (long long)run);
    if (n_eval > 0) {
        put_cmd(&b, p->db, "ghnas query @DB sql \"SELECT * FROM trainings WHERE run_id = %lld\"",
                (long long)eval_ids[0]);
    }
    put(&b, "</body>\n</html>\n");
    if (b.failed) {
        st = nas_error(NAS_ENOMEM, "report: out of memory");
        goto cleanup;
    }
    st = nas_file_write_atomic(p->out, b.p, b.n);
    if (st == NAS_OK) {
        res->n_bytes = b.n;
    }
cleanup:
    json_decref(cfg);
    nas_free(dot.p);
    nas_free(b.p);
    nas_run_info_free(&ri);
    nas_store_table_free(&top);
    nas_store_table_free(&t);
    nas_store_close(db);
    return st;
}
