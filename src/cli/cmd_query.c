/*
 * `ghnas query DB ACTION`: runs, top, arch, pareto, ghns, sql (read-only) and upgrade, printed as
 * an aligned table, CSV (RFC 4180 quoting) or JSON (escaped, valid UTF-8, *_json columns embedded
 * as JSON). The store is opened read-only for everything but `upgrade`; a missing file is an
 * error, never created.
 */
#include "cmd_query.h"

#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: ghnas query DB runs\n"
        "       ghnas query DB top [-k K] [--run ID] [--scorer S]\n"
        "       ghnas query DB arch ID|ARCH\n"
        "       ghnas query DB pareto [--by params|flops] [--run ID] [--scorer S]\n"
        "       ghnas query DB ghns\n"
        "       ghnas query DB sql \"SELECT ...\"\n"
        "       ghnas query DB upgrade\n"
        "       ghnas query --schema\n"
        "\n"
        "Read a ghnas results store (an SQLite file; also readable with sqlite3, Python, pandas).\n"
        "The file is opened read-only (a running search is not disturbed); a missing file is an\n"
        "error.\n"
        "\n"
        "actions:\n"
        "  runs     every run: kind, status, space, dataset, primary scorer, architectures\n"
        "           scored, best score, progress, GHN, seed, start and last commit times\n"
        "  top      the best architectures of a run, best first\n"
        "           -k K          how many (default 10)\n"
        "           --run ID      run id (default: the newest run with scores)\n"
        "           --scorer S    scorer to rank by (default: the run's primary scorer); its\n"
        "                         direction (higher or lower is better) comes from the store\n"
        "  arch     one architecture by id, text or canonical key: its row, every score of it\n"
        "           (all runs, with its rank) and every training with the learning curve\n"
        "  pareto   the Pareto front of a run: no other architecture has a better score at\n"
        "           lower or equal cost; sorted by cost\n"
        "           --by params|flops  cost (default params)\n"
        "           --run ID, --scorer S  as for top\n"
        "  ghns     the stored GHN models (without their checkpoints)\n"
        "  sql      one read-only SQL statement (SELECT, WITH, read PRAGMAs); statements that\n"
        "           write are refused. Tables: runs, ghn_models, architectures, scores, scorers,\n"
        "           trainings, run_state; views: leaderboard, pareto, pareto_flops\n"
        "  upgrade  migrate a store written by an older ghnas to this version's schema (the only\n"
        "           action that writes)\n"
        "\n"
        "options:\n"
        "  --format F  table (default), csv or json\n"
        "  --schema    print the SQL schema of a new store (schema version %d) and exit\n"
        "  -h, --help  this help\n",
        NAS_STORE_SCHEMA_VERSION);
}

/* A bad command line: "ghnas: error: query: <what> (see ghnas query --help)", exit 2. */
nas_status nas_cli_format_parse(const char *opt, const char *s, nas_cli_format *out) {
    if (strcmp(s, "table") == 0) {
        *out = NAS_CLI_FORMAT_TABLE;
    } else if (strcmp(s, "csv") == 0) {
        *out = NAS_CLI_FORMAT_CSV;
    } else if (strcmp(s, "json") == 0) {
        *out = NAS_CLI_FORMAT_JSON;
    } else {
        return nas_error(NAS_EINVAL, "%s: unknown format '%s' (table, csv or json)", opt, s);
    }
    return NAS_OK;
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
static void print_sections(FILE *out, const nas_store_table *t, const char *const *names, int n,
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

/* ---- command ------------------------------------------------------------------------------ */

enum { OPT_K = 1, OPT_RUN = 2, OPT_SCORER = 4, OPT_BY = 8 };

typedef struct query_action {
    const char *name;
    int n_args;   /* positional arguments after the action */
    unsigned opt; /* options that apply */
} query_action;

static const query_action actions[] = {
    {"runs", 0, 0},    {"top", 0, OPT_K | OPT_RUN | OPT_SCORER},
    {"arch", 1, 0},    {"pareto", 0, OPT_BY | OPT_RUN | OPT_SCORER},
    {"ghns", 0, 0},    {"sql", 1, 0},
    {"upgrade", 0, 0},
};

#define N_ACTIONS (int)(sizeof actions / sizeof actions[0])

static int print_schema(void) {
    printf("-- ghnas results store, schema version %d\n", NAS_STORE_SCHEMA_VERSION);
    printf("PRAGMA journal_mode = WAL;\nBEGIN;\n");
    for (int v = 1; v <= NAS_STORE_SCHEMA_VERSION; v++) {
        printf("-- step %d\n%s", v, nas_store_schema_step(v));
    }
    printf("PRAGMA application_id = %d;\nPRAGMA user_version = %d;\nCOMMIT;\n",
           (int)NAS_STORE_APPLICATION_ID, NAS_STORE_SCHEMA_VERSION);
    return NAS_EXIT_OK;
}

int nas_cli_query(int argc, char **argv) {
    const char *pos[8];
    int n_pos = 0;
    unsigned given = 0;
    bool schema = false, end_of_opts = false;
    nas_cli_format fmt = NAS_CLI_FORMAT_TABLE;
    long k = 10, run = 0;
    const char *scorer = NULL;
    nas_pareto_by by = NAS_PARETO_PARAMS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (end_of_opts || a[0] != '-' || a[1] == '\0') {
            if (n_pos == (int)(sizeof pos / sizeof pos[0])) {
                return nas_cli_usage_error("query", "too many arguments ('%s')", a);
            }
            pos[n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            end_of_opts = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return NAS_EXIT_OK;
        }
        if (strcmp(a, "--schema") == 0) {
            schema = true;
            continue;
        }
        bool takes = strcmp(a, "--format") == 0 || strcmp(a, "-k") == 0 ||
                     strcmp(a, "--run") == 0 || strcmp(a, "--scorer") == 0 ||
                     strcmp(a, "--by") == 0;
        if (!takes) {
            return nas_cli_usage_error("query", "unknown option '%s'", a);
        }
        if (i + 1 >= argc) {
            return nas_cli_usage_error("query", "option %s needs a value", a);
        }
        const char *val = argv[++i];
        nas_status st = NAS_OK;
        if (strcmp(a, "--format") == 0) {
            st = nas_cli_format_parse(a, val, &fmt);
        } else if (strcmp(a, "-k") == 0) {
            st = nas_cli_parse_long(a, val, 1, 1000000000L, &k);
            given |= OPT_K;
        } else if (strcmp(a, "--run") == 0) {
            st = nas_cli_parse_long(a, val, 1, 0x7fffffffffffffffL, &run);
            given |= OPT_RUN;
        } else if (strcmp(a, "--scorer") == 0) {
            if (!val[0]) {
                st = nas_error(NAS_EINVAL, "--scorer: empty name");
            }
            scorer = val;
            given |= OPT_SCORER;
        } else {
            if (strcmp(val, "params") == 0) {
                by = NAS_PARETO_PARAMS;
            } else if (strcmp(val, "flops") == 0) {
                by = NAS_PARETO_FLOPS;
            } else {
                st = nas_error(NAS_EINVAL, "--by: unknown cost '%s' (params or flops)", val);
            }
            given |= OPT_BY;
        }
        if (st != NAS_OK) {
            return nas_cli_usage_error("query", "%s", nas_errmsg());
        }
    }
    if (schema) {
        if (n_pos > 0 || given) {
            return nas_cli_usage_error("query", "--schema takes no other arguments");
        }
        return print_schema();
    }
    if (n_pos == 0) {
        usage(stderr);
        return NAS_EXIT_USAGE;
    }
    const char *path = pos[0];
    if (n_pos < 2) {
        return nas_cli_usage_error("query",
                                   "missing action after '%s' (runs, top, arch, pareto, ghns, sql, "
                                   "upgrade)",
                                   path);
    }
    const query_action *act = NULL;
    for (int i = 0; i < N_ACTIONS; i++) {
        if (strcmp(pos[1], actions[i].name) == 0) {
            act = &actions[i];
        }
    }
    if (!act) {
        return nas_cli_usage_error(
            "query", "unknown action '%s' (runs, top, arch, pareto, ghns, sql, upgrade)", pos[1]);
    }
    if (n_pos - 2 < act->n_args) {
        return nas_cli_usage_error("query", "%s: missing %s", act->name,
                                   strcmp(act->name, "sql") == 0 ? "the SQL statement"
                                                                 : "the architecture id or text");
    }
    if (n_pos - 2 > act->n_args) {
        return nas_cli_usage_error(
            "query", "%s: unexpected argument '%s'%s", act->name, pos[2 + act->n_args],
            strcmp(act->name, "sql") == 0 ? " (quote the whole statement)" : "");
    }
    unsigned stray = given & ~act->opt;
    if (stray) {
        const char *name = stray & OPT_K        ? "-k"
                           : stray & OPT_RUN    ? "--run"
                           : stray & OPT_SCORER ? "--scorer"
                                                : "--by";
        return nas_cli_usage_error("query", "%s: option %s does not apply", act->name, name);
    }

    bool upgrade = strcmp(act->name, "upgrade") == 0;
    nas_store *db = NULL;
    nas_status st = nas_store_open(&db, path, upgrade ? 0u : (unsigned)NAS_STORE_READONLY);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    nas_store_table t[3];
    memset(t, 0, sizeof t);
    if (upgrade) {
        nas_store_info info;
        nas_store_get_info(db, &info);
        if (info.found_version < info.version) {
            printf("%s: schema v%d -> v%d\n", path, info.found_version, info.version);
        } else {
            printf("%s: schema v%d (up to date)\n", path, info.version);
        }
    } else if (strcmp(act->name, "runs") == 0) {
        st = nas_store_query_runs(db, &t[0]);
    } else if (strcmp(act->name, "top") == 0) {
        st = nas_store_query_top(db, run, scorer, k, &t[0]);
    } else if (strcmp(act->name, "arch") == 0) {
        st = nas_store_query_arch(db, pos[2], &t[0], &t[1], &t[2]);
    } else if (strcmp(act->name, "pareto") == 0) {
        st = nas_store_query_pareto(db, run, scorer, by, &t[0]);
    } else if (strcmp(act->name, "ghns") == 0) {
        st = nas_store_query_ghns(db, &t[0]);
    } else {
        st = nas_store_query_sql(db, pos[2], &t[0]);
    }
    if (st == NAS_OK && !upgrade) {
        if (strcmp(act->name, "arch") == 0) {
            static const char *const names[3] = {"architecture", "scores", "trainings"};
            print_sections(stdout, t, names, 3, fmt);
        } else {
            nas_cli_print_table(stdout, &t[0], fmt);
        }
    }
    for (int i = 0; i < 3; i++) {
        nas_store_table_free(&t[i]);
    }
    nas_store_close(db);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return nas_cli_fail(nas_error(NAS_EIO, "query: cannot write the output"));
    }
    return NAS_EXIT_OK;
}
