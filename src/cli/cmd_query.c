/*
 * `ghnas query DB ACTION`: runs, top, arch, pareto, ghns, sql (read-only) and upgrade, printed as
 * an aligned table, CSV (RFC 4180 quoting) or JSON (escaped, valid UTF-8, *_json columns embedded
 * as JSON). The store is opened read-only for everything but `upgrade`; a missing file is an
 * error, never created.
 */
#include "cmd_query.h"

#include "cli.h"
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(query_params, f)

enum { OPT_K = 1, OPT_RUN = 2, OPT_SCORER = 4, OPT_BY = 8 };

typedef struct query_params {
    const char *db; /* or the first argument */
    nas_cli_format format;
    int64_t k, run;
    const char *scorer;
    nas_pareto_by by;
    bool schema;
} query_params;

static nas_status parse_format(const char *opt, const char *value, void *field) {
    return nas_cli_format_parse(opt, value, field);
}

static void show_format(const void *field, char *buf, size_t cap) {
    static const char *const names[] = {"table", "csv", "json"};
    snprintf(buf, cap, "%s", names[*(const nas_cli_format *)field]);
}

static nas_status parse_scorer(const char *opt, const char *value, void *field) {
    if (!value[0]) {
        return nas_error(NAS_EINVAL, "%s: empty name", opt);
    }
    *(const char **)field = value;
    return NAS_OK;
}

static nas_status parse_by(const char *opt, const char *value, void *field) {
    if (strcmp(value, "params") == 0) {
        *(nas_pareto_by *)field = NAS_PARETO_PARAMS;
    } else if (strcmp(value, "flops") == 0) {
        *(nas_pareto_by *)field = NAS_PARETO_FLOPS;
    } else {
        return nas_error(NAS_EINVAL, "%s: unknown cost '%s' (params or flops)", opt, value);
    }
    return NAS_OK;
}

#define STR_(x) #x
#define STR(x)  STR_(x)

static const nas_cli_opt opts[] = {
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE", "the results store (or give it as the first argument)",
     .aliases = NULL},
    {"top", 'k', NAS_CLI_I64, OFF(k), "K", "top: how many (default %D)", .min = 1,
     .max = 1000000000, .bits = OPT_K},
    {"run", 0, NAS_CLI_I64, OFF(run), "ID",
     "top, pareto: run id (default: the newest run with scores)", .min = 1, .max = INT64_MAX,
     .bits = OPT_RUN},
    {"scorer", 0, NAS_CLI_CUSTOM, OFF(scorer), "S",
     "top, pareto: scorer to rank by (default: the run's primary\nscorer); its direction (higher "
     "or lower is better) comes from\nthe store",
     .parse = parse_scorer, .bits = OPT_SCORER},
    {"by", 0, NAS_CLI_CUSTOM, OFF(by), "COST", "pareto: cost, params (default) or flops",
     .parse = parse_by, .bits = OPT_BY},
    {"format", 0, NAS_CLI_CUSTOM, OFF(format), "F", "table (default), csv or json",
     .parse = parse_format, .show = show_format},
    {"schema", 0, NAS_CLI_FLAG, OFF(schema), NULL,
     "print the SQL schema of a new store (schema version " STR(
         NAS_STORE_SCHEMA_VERSION) ")\nand exit",
     .aliases = NULL},
};

static const nas_cli_spec spec = {
    "query",
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
    "error. DB may also be given as --db DB.\n"
    "\n"
    "actions:\n"
    "  runs     every run: kind, status, space, dataset, primary scorer, architectures\n"
    "           scored, best score, progress, GHN, seed, start and last commit times\n"
    "  top      the best architectures of a run, best first (-k, --run, --scorer)\n"
    "  arch     one architecture by id, text or canonical key: its row, every score of it\n"
    "           (all runs, with its rank) and every training with the learning curve\n"
    "  pareto   the Pareto front of a run: no other architecture has a better score at\n"
    "           lower or equal cost; sorted by cost (--by, --run, --scorer)\n"
    "  ghns     the stored GHN models (without their checkpoints)\n"
    "  sql      one read-only SQL statement (SELECT, WITH, read PRAGMAs); statements that\n"
    "           write are refused. Tables: runs, ghn_models, architectures, scores, scorers,\n"
    "           trainings, run_state; views: leaderboard, pareto, pareto_flops\n"
    "  upgrade  migrate a store written by an older ghnas to this version's schema (the only\n"
    "           action that writes)\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    NULL,
    NAS_CLI_MAX_ARGS,
    false};

/* ---- command ------------------------------------------------------------------------------ */

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
    query_params q = {NULL, NAS_CLI_FORMAT_TABLE, 10, 0, NULL, NAS_PARETO_PARAMS, false}, def = q;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &q, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    const unsigned given = args.given;
    const bool schema = q.schema;
    const nas_cli_format fmt = q.format;
    const char **pos = args.pos;
    int n_pos = args.n_pos;
    if (q.db && !schema) { /* --db DB: the arguments start with the action */
        if (n_pos == NAS_CLI_MAX_ARGS) {
            return nas_cli_usage_error("query", "too many arguments");
        }
        memmove(pos + 1, pos, (size_t)n_pos * sizeof pos[0]);
        pos[0] = q.db;
        n_pos++;
    }
    if (schema) {
        if (n_pos > 0 || given) {
            return nas_cli_usage_error("query", "--schema takes no other arguments");
        }
        return print_schema();
    }
    if (n_pos == 0) {
        nas_cli_help(&spec, &def, stderr);
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
        for (int k = 0; k < spec.n_opts; k++) {
            if ((opts[k].bits & stray) && args.as[k][0]) {
                return nas_cli_usage_error("query", "%s: option %s does not apply", act->name,
                                           args.as[k]);
            }
        }
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
        st = nas_store_query_top(db, q.run, q.scorer, q.k, &t[0]);
    } else if (strcmp(act->name, "arch") == 0) {
        st = nas_store_query_arch(db, pos[2], &t[0], &t[1], &t[2]);
    } else if (strcmp(act->name, "pareto") == 0) {
        st = nas_store_query_pareto(db, q.run, q.scorer, q.by, &t[0]);
    } else if (strcmp(act->name, "ghns") == 0) {
        st = nas_store_query_ghns(db, &t[0]);
    } else {
        st = nas_store_query_sql(db, pos[2], &t[0]);
    }
    if (st == NAS_OK && !upgrade) {
        if (strcmp(act->name, "arch") == 0) {
            static const char *const names[3] = {"architecture", "scores", "trainings"};
            nas_cli_print_sections(stdout, t, names, 3, fmt);
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
