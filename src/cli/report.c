/*
 * What the commands print: result-store tables as aligned text, CSV (RFC 4180 quoting) or JSON
 * (escaped, valid UTF-8, *_json columns embedded as JSON), and the report of an evaluate job
 * (its table and the correlation of every scorer with the trained accuracy).
 */
#include "report.h"

#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- formats -------------------------------------------------------------------------------- */

static const char *const format_names[] = {"table", "csv", "json"};

nas_status nas_cli_format_parse(const char *opt, const char *s, void *field) {
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *(nas_cli_format *)field = (nas_cli_format)i;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EINVAL, "%s: unknown format '%s' (table, csv or json)", opt, s);
}

void nas_cli_format_show(const void *field, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", format_names[*(const nas_cli_format *)field]);
}

/* ---- value formatting --------------------------------------------------------------------- */

/* Shortest decimal text that reads back as the same double. */
static void fmt_real(char *buf, size_t cap, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            return;
        }
    }
}

/* Length of a valid UTF-8 sequence at p (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2;
        min = 0x80;
        c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        min = 0x800;
        c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = c << 6 | (p[i] & 0x3fu);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    return len;
}

static void put_json_string(FILE *out, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            i++;
        } else if (c < 0x20) {
            switch (c) {
                case '\n':
                    fputs("\\n", out);
                    break;
                case '\r':
                    fputs("\\r", out);
                    break;
                case '\t':
                    fputs("\\t", out);
                    break;
                case '\b':
                    fputs("\\b", out);
                    break;
                case '\f':
                    fputs("\\f", out);
                    break;
                default:
                    fprintf(out, "\\u%04x", c);
                    break;
            }
            i++;
        } else if (c < 0x80) {
            fputc((int)c, out);
            i++;
        } else {
            size_t len = utf8_len(p + i, n - i);
            if (len == 0) {
                fputs("\\ufffd", out); /* invalid UTF-8 byte */
                i++;
            } else {
                fwrite(p + i, 1, len, out);
                i += len;
            }
        }
    }
    fputc('"', out);
}

static bool valid_json(const char *s, size_t n) {
    json_error_t err;
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &err);
    if (!j) {
        return false;
    }
    json_decref(j);
    return true;
}

static void put_json_value(FILE *out, const nas_store_value *v, bool is_json) {
    char buf[64];
    switch (v->type) {
        case NAS_STORE_INT:
            fprintf(out, "%lld", (long long)v->i);
            break;
        case NAS_STORE_REAL:
            if (isfinite(v->r)) {
                fmt_real(buf, sizeof buf, v->r);
                fputs(buf, out);
            } else {
                fputs("null", out); /* JSON has no Inf */
            }
            break;
        case NAS_STORE_TEXT:
            if (is_json && valid_json(v->s, v->n)) {
                fwrite(v->s, 1, v->n, out);
            } else {
                put_json_string(out, v->s, v->n);
            }
            break;
        case NAS_STORE_BLOB:
            snprintf(buf, sizeof buf, "<%zu-byte blob>", v->n);
            put_json_string(out, buf, strlen(buf));
            break;
        default:
            fputs("null", out);
            break;
    }
}

static void print_json(FILE *out, const nas_store_table *t, int indent) {
    if (t->n_rows == 0) {
        fputs("[]", out);
        return;
    }
    fputs("[\n", out);
    for (int64_t r = 0; r < t->n_rows; r++) {
        fprintf(out, "%*s{", indent + 2, "");
        for (int c = 0; c < t->n_cols; c++) {
            if (c) {
                fputs(", ", out);
            }
            put_json_string(out, t->cols[c], strlen(t->cols[c]));
            fputs(": ", out);
            put_json_value(out, nas_store_table_at(t, r, c), t->col_json[c]);
        }
        fprintf(out, "}%s\n", r + 1 < t->n_rows ? "," : "");
    }
    fprintf(out, "%*s]", indent, "");
}

static void csv_field(FILE *out, const char *s, size_t n, bool force_quotes) {
    bool quote = force_quotes || n == 0 || s[0] == ' ' || s[n - 1] == ' ';
    for (size_t i = 0; i < n && !quote; i++) {
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    }
    if (!quote) {
        fwrite(s, 1, n, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            fputc('"', out);
        }
        fputc(s[i], out);
    }
    fputc('"', out);
}

static void print_csv(FILE *out, const nas_store_table *t) {
    for (int c = 0; c < t->n_cols; c++) {
        if (c) {
            fputc(',', out);
        }
        csv_field(out, t->cols[c], strlen(t->cols[c]), false);
    }
    fputc('\n', out);
    char buf[64];
    for (int64_t r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++) {
            if (c) {
                fputc(',', out);
            }
            const nas_store_value *v = nas_store_table_at(t, r, c);
            switch (v->type) {
                case NAS_STORE_INT:
                    fprintf(out, "%lld", (long long)v->i);
                    break;
                case NAS_STORE_REAL:
                    fmt_real(buf, sizeof buf, v->r);
                    fputs(buf, out);
                    break;
                case NAS_STORE_TEXT:
                    /* An empty string is quoted so that it differs from NULL (empty field). */
                    csv_field(out, v->s, v->n, false);
                    break;
                case NAS_STORE_BLOB:
                    snprintf(buf, sizeof buf, "<%zu-byte blob>", v->n);
                    fputs(buf, out);
                    break;
                default:
                    break;
            }
        }
        fputc('\n', out);
    }
}

/* Display text of a value for the aligned table (heap; control characters as spaces). */
static char *cell_text(const nas_store_value *v, bool is_json) {
    char buf[64];
    const char *src = buf;
    size_t n;
    switch (v->type) {
        case NAS_STORE_INT:
            snprintf(buf, sizeof buf, "%lld", (long long)v->i);
            break;
        case NAS_STORE_REAL:
            snprintf(buf, sizeof buf, "%.6g", v->r);
            break;
        case NAS_STORE_TEXT:
            src = v->s;
            break;
        case NAS_STORE_BLOB:
            snprintf(buf, sizeof buf, "<%zu-byte blob>", v->n);
            break;
        default:
            snprintf(buf, sizeof buf, "-");
            break;
    }
    n = v->type == NAS_STORE_TEXT ? v->n : strlen(buf);
    const size_t json_cap = 60; /* long JSON cells are cut in tables (csv/json print them whole) */
    bool cut = is_json && n > json_cap;
    if (cut) {
        n = json_cap;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) {
            n--; /* do not split a UTF-8 sequence */
        }
    }
    char *s = nas_malloc(n + 4);
    if (!s) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        s[i] = (unsigned char)src[i] < 0x20 ? ' ' : src[i];
    }
    if (cut) {
        memcpy(s + n, "...", 3);
        n += 3;
    }
    s[n] = '\0';
    return s;
}

/* Display width: UTF-8 code points. */
static int text_width(const char *s) {
    int w = 0;
    for (; *s; s++) {
        w += ((unsigned char)*s & 0xc0) != 0x80;
    }
    return w;
}

static void print_aligned(FILE *out, const nas_store_table *t) {
    int nc = t->n_cols;
    int64_t nr = t->n_rows;
    int *width = nas_calloc((size_t)nc, sizeof *width);
    bool *right = nas_calloc((size_t)nc, sizeof *right);
    char **cells = nas_calloc((size_t)(nr * nc) + 1, sizeof *cells);
    if (!width || !right || !cells) {
        fprintf(stderr, "ghnas: error: out of memory printing %lld rows\n", (long long)nr);
        nas_free(width);
        nas_free(right);
        nas_free(cells);
        return;
    }
    for (int c = 0; c < nc; c++) {
        width[c] = text_width(t->cols[c]);
        right[c] = nr > 0;
    }
    for (int64_t r = 0; r < nr; r++) {
        for (int c = 0; c < nc; c++) {
            const nas_store_value *v = nas_store_table_at(t, r, c);
            char *s = cell_text(v, t->col_json[c]);
            cells[r * nc + c] = s;
            int w = s ? text_width(s) : 0;
            width[c] = w > width[c] ? w : width[c];
            if (v->type == NAS_STORE_TEXT || v->type == NAS_STORE_BLOB) {
                right[c] = false;
            }
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int c = 0; c < nc; c++) {
            const char *s = pass == 0 ? t->cols[c] : NULL;
            int pad = width[c] - (s ? text_width(s) : width[c]);
            if (c) {
                fputs("  ", out);
            }
            if (pass == 0) {
                if (right[c]) {
                    fprintf(out, "%*s%s", pad, "", s);
                } else {
                    fprintf(out, "%s%*s", s, c + 1 < nc ? pad : 0, "");
                }
            } else {
                for (int i = 0; i < width[c]; i++) {
                    fputc('-', out);
                }
            }
        }
        fputc('\n', out);
    }
    for (int64_t r = 0; r < nr; r++) {
        for (int c = 0; c < nc; c++) {
            const char *s = cells[r * nc + c] ? cells[r * nc + c] : "?";
            int pad = width[c] - text_width(s);
            if (c) {
                fputs("  ", out);
            }
            if (right[c]) {
                fprintf(out, "%*s%s", pad, "", s);
            } else {
                fprintf(out, "%s%*s", s, c + 1 < nc ? pad : 0, "");
            }
        }
        fputc('\n', out);
    }
    for (int64_t i = 0; i < nr * nc; i++) {
        nas_free(cells[i]);
    }
    nas_free(cells);
    nas_free(width);
    nas_free(right);
}

void nas_cli_print_table(FILE *out, const nas_store_table *t, nas_cli_format fmt) {
    switch (fmt) {
        case NAS_CLI_FORMAT_CSV:
            print_csv(out, t);
            break;
        case NAS_CLI_FORMAT_JSON:
            print_json(out, t, 0);
            fputc('\n', out);
            break;
        default:
            print_aligned(out, t);
            break;
    }
}

/* `arch`: three tables. JSON: one object; CSV and table: blocks separated by a blank line. */
void nas_cli_print_sections(FILE *out, const nas_store_table *t, const char *const *names, int n,
                            nas_cli_format fmt) {
    if (fmt == NAS_CLI_FORMAT_JSON) {
        fputs("{\n", out);
        for (int i = 0; i < n; i++) {
            fprintf(out, "  \"%s\": ", names[i]);
            if (i == 0 && t[i].n_rows == 1) {
                /* The architecture itself is one object, not a one-element array. */
                fputc('{', out);
                for (int c = 0; c < t[i].n_cols; c++) {
                    fprintf(out, "%s", c ? ", " : "");
                    put_json_string(out, t[i].cols[c], strlen(t[i].cols[c]));
                    fputs(": ", out);
                    put_json_value(out, nas_store_table_at(&t[i], 0, c), t[i].col_json[c]);
                }
                fputc('}', out);
            } else {
                print_json(out, &t[i], 2);
            }
            fprintf(out, "%s\n", i + 1 < n ? "," : "");
        }
        fputs("}\n", out);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (i) {
            fputc('\n', out);
        }
        if (fmt == NAS_CLI_FORMAT_TABLE) {
            fprintf(out, "%s:\n", names[i]);
        }
        nas_cli_print_table(out, &t[i], fmt);
    }
}

/* ---- the evaluate report ------------------------------------------------------------------- */

static void fmt_acc(char *buf, size_t cap, double v) {
    if (isnan(v)) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, "%.4f", v);
    }
}

static void fmt_ci(char *buf, size_t cap, const nas_eval_ci *c) {
    if (isnan(c->value)) {
        snprintf(buf, cap, "%s", "-");
    } else if (isnan(c->lo)) {
        snprintf(buf, cap, "%6.3f", c->value);
    } else {
        snprintf(buf, cap, "%6.3f [%6.3f, %6.3f]", c->value, c->lo, c->hi);
    }
}

/* Every scorer of the search run against the trained validation accuracy. */
static void print_correlations(int64_t search_run, const nas_job_evaluate_result *r) {
    if (!r->corr) {
        fprintf(stderr, "ghnas: warning: no correlation table: %s\n", r->corr_error);
        return;
    }
    printf("\nscorers of search run %lld vs trained val_acc (raw values; 95%% bootstrap intervals "
           "of 1000 resamples; better half = the best half by val_acc; p@10%% = share of the "
           "scorer's largest 10%% in the best 10%% by val_acc):\n",
           (long long)search_run);
    printf("%-10s %4s  %-26s  %-26s  %4s  %-26s  %-26s  %-26s  %s\n", "scorer", "n", "kendall_tau",
           "spearman_rho", "half", "half kendall_tau", "half spearman_rho", "p@10%", "half p@10%");
    for (int i = 0; i < r->n_corr; i++) {
        const nas_eval_corr *c = &r->corr[i];
        char t[64], rh[64], th[64], hh[64], pr[64], ph[64];
        fmt_ci(t, sizeof t, &c->tau);
        fmt_ci(rh, sizeof rh, &c->rho);
        fmt_ci(th, sizeof th, &c->tau_top);
        fmt_ci(hh, sizeof hh, &c->rho_top);
        fmt_ci(pr, sizeof pr, &c->prec);
        fmt_ci(ph, sizeof ph, &c->prec_top);
        printf("%-10s %4d  %-26s  %-26s  %4d  %-26s  %-26s  %-26s  %s\n", c->scorer, c->n, t, rh,
               c->n_top, th, hh, pr, ph);
    }
}

void nas_cli_print_evaluate(const nas_job_evaluate_result *r) {
    const nas_eval_result *er = &r->eval;
    const nas_eval_config *ec = &r->config;
    if (er->run_id <= 0 || er->n <= 0) {
        return;
    }
    printf("\nevaluate run %lld%s: search run %lld, %d architectures, %d epoch%s, init %s\n",
           (long long)er->run_id, er->resumed ? " (resumed)" : "", (long long)ec->search_run, er->n,
           ec->recipe.epochs, ec->recipe.epochs == 1 ? "" : "s", ec->init);
    printf("%4s  %7s  %10s  %8s  %6s  %9s  %7s  %8s  %-11s  %7s  %s\n", "rank", "arch_id",
           er->scorer, "params", "epochs", "train_acc", "val_acc", "test_acc", "status", "seconds",
           "arch");
    bool any_done = false;
    for (int i = 0; i < er->n; i++) {
        const nas_eval_item *it = &er->items[i];
        char sc[32], tr[16], va[16], te[16], status[32];
        snprintf(sc, sizeof sc, "%.6g", it->score);
        fmt_acc(tr, sizeof tr, it->train_acc);
        fmt_acc(va, sizeof va, it->val_acc);
        fmt_acc(te, sizeof te, it->test_acc);
        snprintf(status, sizeof status, "%s%s", nas_run_status_name(it->status),
                 it->was_done ? "*" : "");
        printf("%4d  %7lld  %10s  %8lld  %3d/%-2d  %9s  %7s  %8s  %-11s  %7.1f  %s\n", i + 1,
               (long long)it->arch_id, sc, (long long)it->n_params, it->epochs_done,
               ec->recipe.epochs, tr, va, te, status, it->seconds, it->arch);
        if (it->error[0]) {
            printf("      error: %s\n", it->error);
        }
        any_done = any_done || it->was_done;
    }
    if (any_done) {
        printf("(* finished before this call, skipped)\n");
    }
    if (er->n_corr >= 2) {
        printf("%s vs trained val_acc over %d architectures: Kendall tau %.3f, Spearman rho "
               "%.3f\n",
               er->scorer, er->n_corr, er->kendall_tau, er->spearman_rho);
        print_correlations(ec->search_run, r);
    } else {
        printf("%s vs trained val_acc: too few finished trainings (%d) for a rank correlation\n",
               er->scorer, er->n_corr);
    }
    fflush(stdout);
}

/* ---- spaces and the store's schema ------------------------------------------------------- */

/* One row of `spaces list`. */
static void print_space_row(const nas_space *sp) {
    uint64_t size = 0;
    char sz[32];
    if (nas_space_size(sp, &size) == NAS_OK) {
        snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
    } else {
        snprintf(sz, sizeof sz, ">2^64");
    }
    char desc[72];
    snprintf(desc, sizeof desc, "%s", sp->description);
    if (strlen(sp->description) >= sizeof desc) {
        memcpy(desc + sizeof desc - 4, "...", 4);
    }
    printf("%-12s %-11s %22s  %s\n", sp->name, nas_space_kind_name(sp->kind), sz, desc);
}

static void print_choices(const char *what, const int *v, int n) {
    printf("    %-10s", what);
    for (int i = 0; i < n; i++) {
        printf("%s%d", i ? ", " : "", v[i]);
    }
    printf("\n");
}

/* The structure lines of `spaces show` that depend on the kind of space. */
static void print_structure(const nas_space *sp) {
    switch (sp->kind) {
        case NAS_SPACE_NB201:
            printf("cell          %d nodes, %d edges (every i->j, i<j, carries one op)\n",
                   sp->nodes, sp->nodes * (sp->nodes - 1) / 2);
            break;
        case NAS_SPACE_NB101:
            printf("cell          at most %d vertices and %d edges, ops on interior vertices\n",
                   sp->max_vertices, sp->max_edges);
            printf("graphs        ");
            for (int v = 2; v <= sp->max_vertices; v++) {
                printf("%sV=%d: %llu", v > 2 ? ", " : "", v,
                       (unsigned long long)sp->nb101_graphs[v]);
            }
            printf(" (unlabelled full DAGs)\n");
            break;
        case NAS_SPACE_DARTS:
            printf("cells         normal + reduce; %d intermediate nodes x %d inputs, output = "
                   "concat\n",
                   sp->nodes, sp->inputs_per_node);
            break;
        case NAS_SPACE_MACRO:
            printf("block         inverted_residual\n");
            for (int i = 0; i < sp->n_stages; i++) {
                const nas_macro_stage_space *s = &sp->stages[i];
                printf("stage %d       stride %d\n", i, s->stride);
                print_choices("depth", s->depth, s->n_depth);
                print_choices("width", s->width, s->n_width);
                print_choices("kernel", s->kernel, s->n_kernel);
                print_choices("expansion", s->expansion, s->n_expansion);
            }
            break;
        default:
            break;
    }
}

void nas_cli_print_space(const nas_space *sp) {
    uint64_t size = 0;
    bool size_ok = nas_space_size(sp, &size) == NAS_OK;
    printf("name          %s\n", sp->name);
    printf("file          %s\n", sp->path);
    printf("kind          %s\n", nas_space_kind_name(sp->kind));
    if (sp->description[0]) {
        printf("description   %s\n", sp->description);
    }
    if (size_ok) {
        printf("architectures %llu\n", (unsigned long long)size);
    } else {
        printf("architectures more than 2^64\n");
    }
    printf("canonical     %s\n",
           nas_space_default_canon(sp) == NAS_CANON_PUBLISHED
               ? (sp->kind == NAS_SPACE_NB201 ? "published (NB201 to_unique_str)"
                                              : "published (NB101 hash_module)")
               : "igraph (BLISS canonical form of the op-level DAG)");
    if (sp->n_ops > 0) {
        printf("ops          ");
        for (int i = 0; i < sp->n_ops; i++) {
            printf(" %d:%s", i, nas_cell_op_name(sp->ops[i]));
        }
        printf("\n");
    }
    print_structure(sp);
    if (sp->n_skeleton > 0) {
        printf("skeleton     ");
        for (int i = 0; i < sp->n_skeleton; i++) {
            const nas_skeleton_entry *e = &sp->skeleton[i];
            if (e->is_string) {
                printf(" %s=%s", e->key, e->text);
            } else {
                printf(" %s=%ld", e->key, e->value);
            }
        }
        printf("\n");
    }
}

void nas_cli_print_arch_info(const nas_arch_info *info) {
    printf("arch       %s\n", info->text);
    printf("valid      %s\n", info->valid ? "yes" : "no");
    if (info->has_published) {
        printf("published  %s\n", info->published);
    }
    printf("igraph     %s\n", info->igraph);
}

void nas_cli_print_schema(void) {
    printf("-- ghnas results store, schema version %d\n", NAS_STORE_SCHEMA_VERSION);
    printf("PRAGMA journal_mode = WAL;\nBEGIN;\n");
    for (int v = 1; v <= NAS_STORE_SCHEMA_VERSION; v++) {
        printf("-- step %d\n%s", v, nas_store_schema_step(v));
    }
    printf("PRAGMA application_id = %d;\nPRAGMA user_version = %d;\nCOMMIT;\n",
           (int)NAS_STORE_APPLICATION_ID, NAS_STORE_SCHEMA_VERSION);
}

void nas_cli_print_query(const nas_job_query_params *p, const nas_job_query_result *r,
                         nas_cli_format fmt) {
    if (p->action == NAS_QUERY_UPGRADE && r->found_version < r->version) {
        printf("%s: schema v%d -> v%d\n", p->db, r->found_version, r->version);
    } else if (p->action == NAS_QUERY_UPGRADE) {
        printf("%s: schema v%d (up to date)\n", p->db, r->version);
    } else if (p->action == NAS_QUERY_CHECK) {
        printf("%s: ok (integrity check and foreign key check)\n", p->db);
    } else if (r->n_tables > 1) {
        nas_cli_print_sections(stdout, r->tables, r->names, r->n_tables, fmt);
    } else {
        nas_cli_print_table(stdout, &r->tables[0], fmt);
    }
}

bool nas_cli_print_spaces(void) {
    char names[64][64];
    int n = 0;
    nas_status st = nas_space_list(names, 64, &n);
    if (st != NAS_OK) {
        nas_cli_fail(st);
        return false;
    }
    bool all = true;
    printf("%-12s %-11s %22s  %s\n", "name", "kind", "architectures", "description");
    for (int i = 0; i < n && i < 64; i++) {
        nas_space sp;
        st = nas_space_load(&sp, names[i]);
        if (st != NAS_OK) {
            printf("%-12s %-11s %22s  (cannot be loaded; see stderr)\n", names[i], "?", "?");
            nas_cli_fail(st); /* the message on stderr; the other spaces are still listed */
            all = false;
            continue;
        }
        print_space_row(&sp);
    }
    return all;
}
