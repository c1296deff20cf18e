/*
 * `ghnas query DB ACTION`: runs, top, arch, pareto, ghns, sql (read-only) and upgrade, printed as
 * an aligned table, CSV (RFC 4180 quoting) or JSON (escaped, valid UTF-8, *_json columns embedded
 * as JSON). The store is opened read-only for everything but `upgrade`; a missing file is an
 * error, never created. The options and actions are checked here; the query is the library's
 * nas_job_query (src/job/query.c), the printing report.c's.
 */
#include "cmd_query.h"

#include "cli.h"
#include "report.h"

#include <limits.h>
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

static nas_status parse_scorer(const char *opt, const char *value, void *field) {
    if (!value[0]) {
        return nas_error(NAS_EINVAL, "%s: empty name", opt);
    }
    *(const char **)field = value;
    return NAS_OK;
}

static nas_status parse_by(const char *opt, const char *value, void *field) {
    nas_status st = nas_pareto_by_from_name(value, field);
    return st == NAS_OK ? NAS_OK : nas_error_wrap(st, "%s", opt);
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
     .parse = nas_cli_format_parse, .show = nas_cli_format_show},
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
    "       ghnas query DB rankers\n"
    "       ghnas query DB sql \"SELECT ...\"\n"
    "       ghnas query DB upgrade\n"
    "       ghnas query DB check\n"
    "       ghnas query DB drop-weights [TRAINING_ID]\n"
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
    "  rankers  the learned rankers fitted by ghnas rank: model, GHN, labels, features and\n"
    "           cross-validated Kendall tau / Spearman rho\n"
    "  sql      one read-only SQL statement (SELECT, WITH, read PRAGMAs); statements that\n"
    "           write are refused. Tables: runs, ghn_models, architectures, scores, scorers,\n"
    "           trainings, trained_weights, run_state, rankers; views: leaderboard, pareto,\n"
    "           pareto_flops\n"
    "  upgrade  migrate a store written by an older ghnas to this version's schema\n"
    "  drop-weights  delete the kept weights of one finished training (or of all), then\n"
    "           shrink the file (VACUUM); accuracies and curves stay, ghnas export of it\n"
    "           no longer works. upgrade and drop-weights are the actions that write\n"
    "  check    check every page, index and reference of the store (PRAGMA integrity_check\n"
    "           and foreign_key_check): prints ok, or the problems and how to copy what is\n"
    "           readable into a new store, and exits 1\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    NULL,
    NAS_CLI_MAX_ARGS,
    false};

/* ---- command ------------------------------------------------------------------------------ */

/* In nas_job_query_action order, then the actions of other jobs. */
enum { ACT_DROP_WEIGHTS = NAS_QUERY_COUNT, N_ACTIONS };
static const nas_cli_action actions[N_ACTIONS] = {
    {"runs", 0},  {"top", OPT_K | OPT_RUN | OPT_SCORER},
    {"arch", 0},  {"pareto", OPT_BY | OPT_RUN | OPT_SCORER},
    {"ghns", 0},  {"rankers", 0},
    {"sql", 0},   {"upgrade", 0},
    {"check", 0}, {"drop-weights", 0}};

/* `query DB drop-weights [ID]` (nas_job_drop_weights). */
static int drop_weights(const char *db, const char *id_text) {
    long id = 0;
    if (id_text && nas_cli_parse_long("drop-weights", id_text, 1, LONG_MAX, &id) != NAS_OK) {
        return nas_cli_usage_error("query", "%s", nas_errmsg());
    }
    int64_t n = 0, bytes = 0;
    nas_status st = nas_job_drop_weights(db, id, &n, &bytes);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("dropped the kept weights of %lld training%s (%lld bytes); %s vacuumed\n", (long long)n,
           n == 1 ? "" : "s", (long long)bytes, db);
    return NAS_EXIT_OK;
}

int nas_cli_query(int argc, char **argv) {
    query_params q = {NULL, NAS_CLI_FORMAT_TABLE, 10, 0, NULL, NAS_PARETO_PARAMS, false}, def = q;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &q, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    const char **pos = args.pos;
    int n_pos = args.n_pos;
    if (q.schema) {
        if (n_pos > 0 || args.given) {
            return nas_cli_usage_error("query", "--schema takes no other arguments");
        }
        nas_cli_print_schema();
        return NAS_EXIT_OK;
    }
    if (q.db) { /* --db DB: the arguments start with the action */
        if (n_pos == NAS_CLI_MAX_ARGS) {
            return nas_cli_usage_error("query", "too many arguments");
        }
        memmove(pos + 1, pos, (size_t)n_pos * sizeof pos[0]);
        pos[0] = q.db;
        n_pos++;
    }
    if (n_pos == 0) {
        nas_cli_help(&spec, &def, stderr);
        return NAS_EXIT_USAGE;
    }
    char names[128];
    nas_cli_action_names(actions, N_ACTIONS, names, sizeof names);
    if (n_pos < 2) {
        return nas_cli_usage_error("query", "missing action after '%s' (%s)", pos[0], names);
    }
    int a = nas_cli_action_find("query", pos[1], actions, N_ACTIONS);
    if (a < 0) {
        return NAS_EXIT_USAGE;
    }
    if (a == ACT_DROP_WEIGHTS) {
        if (n_pos > 3) {
            return nas_cli_usage_error("query", "drop-weights: unexpected argument '%s'", pos[3]);
        }
        if ((rc = nas_cli_action_check_opts(&spec, &args, &actions[a])) >= 0) {
            return rc;
        }
        return drop_weights(pos[0], n_pos == 3 ? pos[2] : NULL);
    }
    const bool sql = a == NAS_QUERY_SQL, one_arg = sql || a == NAS_QUERY_ARCH;
    if (n_pos - 2 < (int)one_arg) {
        return nas_cli_usage_error("query", "%s: missing %s", pos[1],
                                   sql ? "the SQL statement" : "the architecture id or text");
    }
    if (n_pos - 2 > (int)one_arg) {
        return nas_cli_usage_error("query", "%s: unexpected argument '%s'%s", pos[1],
                                   pos[2 + one_arg], sql ? " (quote the whole statement)" : "");
    }
    if ((rc = nas_cli_action_check_opts(&spec, &args, &actions[a])) >= 0) {
        return rc;
    }
    nas_job_query_params p = nas_job_query_defaults();
    p.db = pos[0];
    p.action = (nas_job_query_action)a;
    p.arg = one_arg ? pos[2] : NULL;
    p.k = q.k;
    p.run = q.run;
    p.scorer = q.scorer;
    p.by = q.by;
    nas_job_query_result r;
    nas_status st = nas_job_query(&p, &r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    nas_cli_print_query(&p, &r, q.format);
    nas_job_query_result_free(&r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return nas_cli_fail(nas_error(NAS_EIO, "query: cannot write the output"));
    }
    return NAS_EXIT_OK;
}
