/*
 * `ghnas plot DB KIND [--run ID] --out FILE.svg|.png|.pdf` (nas_job_plot) and
 * `ghnas report DB [--run ID] --out report.html` (nas_job_report): option tables, checks of the
 * command line, one job call and one line saying what was written.
 */
#include "cmd_plot.h"

#include "cli.h"
#include "ghnas/job.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- plot ----------------------------------------------------------------------------------- */

#define OFF(f) offsetof(nas_job_plot_params, f)

static nas_status parse_name(const char *opt, const char *value, void *field) {
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

static const nas_cli_opt plot_opts[] = {
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE", "the results store (or give it as the first argument)",
     .aliases = NULL},
    {"out", 'o', NAS_CLI_STR, OFF(out), "FILE",
     "the figure to write: .svg, .png or .pdf (required)", .aliases = NULL},
    {"run", 0, NAS_CLI_I64, OFF(run), "ID",
     "the run: a search run or one of its evaluate runs (default:\nthe newest run with what the "
     "kind needs)",
     .min = 1, .max = INT64_MAX},
    {"scorer", 0, NAS_CLI_CUSTOM, OFF(scorer), "S",
     "history, pareto: one scorer (default: history all, pareto the\nrun's primary one); "
     "pareto also val_acc or test_acc, the\ntrained accuracy of the run's evaluate runs",
     .parse = parse_name},
    {"by", 0, NAS_CLI_CUSTOM, OFF(by), "COST", "pareto: cost axis, params (default) or flops",
     .parse = parse_by},
    {"ghn", 0, NAS_CLI_I64, OFF(ghn), "ID",
     "ghn: the GHN (default: the run's, else the newest stored)", .min = 1, .max = INT64_MAX},
};

static const nas_cli_spec plot_spec = {
    "plot",
    "usage: ghnas plot DB KIND [--run ID] [--scorer S] [--by params|flops] [--ghn ID]\n"
    "                  --out FILE.svg|.png|.pdf\n"
    "\n"
    "Draw a figure from a results store (opened read-only, also while a search runs) with\n"
    "cairo: SVG, PNG (144 dpi) or PDF by the extension of --out, written atomically.\n"
    "\n"
    "kinds:\n"
    "  history  search score of every candidate by its sequence number and the running best,\n"
    "           one panel per scorer the run recorded (--scorer: only that one)\n"
    "  pareto   score against params or FLOPs (--by; log axis), the Pareto front highlighted;\n"
    "           --scorer val_acc|test_acc: the trained accuracy of the run's evaluate runs\n"
    "  curves   train (dashed) and validation (solid) accuracy and loss per epoch of the\n"
    "           trainings of an evaluate run (--run: it, or a search run's newest)\n"
    "  scorers  every scorer against the trained val_acc (scatter) and Kendall tau, Spearman\n"
    "           rho and tau on the better half with 95 % bootstrap intervals (as ghnas\n"
    "           evaluate prints them)\n"
    "  ghn      a GHN's training loss and batch accuracy by step (--ghn, or the run's GHN)\n",
    plot_opts,
    (int)(sizeof plot_opts / sizeof plot_opts[0]),
    "output: one line naming the file, the figure and how many points it shows\n",
    2,
    false};

int nas_cli_plot(int argc, char **argv) {
    nas_job_plot_params p = nas_job_plot_defaults(), def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&plot_spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    const char **pos = args.pos;
    int n_pos = args.n_pos;
    if (p.db) { /* --db DB: the arguments start with the kind */
        if (n_pos > 1) {
            return nas_cli_usage_error("plot", "unexpected argument '%s'", pos[1]);
        }
        pos[1] = pos[0];
        pos[0] = p.db;
        n_pos++;
    }
    if (n_pos == 0) {
        nas_cli_help(&plot_spec, &def, stderr);
        return NAS_EXIT_USAGE;
    }
    if (n_pos < 2 || !pos[1]) {
        return nas_cli_usage_error("plot",
                                   "missing KIND after '%s' (history, pareto, curves, "
                                   "scorers, ghn)",
                                   pos[0]);
    }
    p.db = pos[0];
    nas_status st = nas_job_plot_kind_from_name(pos[1], &p.kind);
    if (st != NAS_OK) {
        return nas_cli_usage_error("plot", "%s", nas_errmsg());
    }
    if (!p.out) {
        return nas_cli_usage_error("plot", "missing --out FILE (.svg, .png or .pdf)");
    }
    nas_plot_format fmt;
    if (nas_plot_format_from_path(p.out, &fmt) != NAS_OK) {
        return nas_cli_usage_error("plot", "--out: %s", nas_errmsg());
    }
    const char *only[5] = {"scorer", "by", "ghn", NULL, NULL};
    const bool ok[3] = {p.kind == NAS_JOB_PLOT_HISTORY || p.kind == NAS_JOB_PLOT_PARETO,
                        p.kind == NAS_JOB_PLOT_PARETO, p.kind == NAS_JOB_PLOT_GHN};
    for (int i = 0; i < 3; i++) {
        const char *as = nas_cli_given(&plot_spec, &args, only[i]);
        if (as && !ok[i]) {
            return nas_cli_usage_error("plot", "%s: option %s does not apply", pos[1], as);
        }
    }
    nas_job_plot_result r;
    st = nas_job_plot(&p, &r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("wrote %s: %s (%d panel%s, %lld points", p.out, r.title, r.stats.panels,
           r.stats.panels == 1 ? "" : "s", (long long)r.stats.points);
    if (r.stats.vertices) {
        printf(", %lld line vertices", (long long)r.stats.vertices);
    }
    printf(")\n");
    nas_job_plot_result_free(&r);
    return NAS_EXIT_OK;
}

#undef OFF

/* ---- report --------------------------------------------------------------------------------- */

#define OFF(f) offsetof(nas_job_report_params, f)

static const nas_cli_opt report_opts[] = {
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE", "the results store (or give it as the first argument)",
     .aliases = NULL},
    {"out", 'o', NAS_CLI_STR, OFF(out), "FILE", "the HTML file to write (required)",
     .aliases = NULL},
    {"run", 0, NAS_CLI_I64, OFF(run), "ID",
     "the search run, or one of its evaluate runs (default: the\nnewest run with scores)", .min = 1,
     .max = INT64_MAX},
    {"top", 'k', NAS_CLI_INT, OFF(top), "K", "leaderboard rows (default %D)", .min = 1,
     .max = 100000},
    {"graphs", 0, NAS_CLI_INT, OFF(graphs), "K",
     "best architectures drawn as graphs (default %D; 0 = none)", .min = 0, .max = 100},
};

static const nas_cli_spec report_spec = {
    "report",
    "usage: ghnas report DB [--run ID] [--top K] [--graphs K] --out report.html\n"
    "\n"
    "Write one self-contained HTML file about a search run (no network, no JavaScript; every\n"
    "image inlined): its configuration, the leaderboard with trained accuracies, the figures\n"
    "of ghnas plot that have data (history, pareto, curves, scorers, ghn), each with the\n"
    "command that reproduces it, and the best architectures drawn by Graphviz.\n",
    report_opts,
    (int)(sizeof report_opts / sizeof report_opts[0]),
    NULL,
    1,
    false};

int nas_cli_report(int argc, char **argv) {
    nas_job_report_params p = nas_job_report_defaults(), def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&report_spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    if (p.db && args.n_pos > 0) {
        return nas_cli_usage_error("report", "unexpected argument '%s'", args.pos[0]);
    }
    if (!p.db) {
        if (args.n_pos == 0) {
            nas_cli_help(&report_spec, &def, stderr);
            return NAS_EXIT_USAGE;
        }
        p.db = args.pos[0];
    }
    if (!p.out) {
        return nas_cli_usage_error("report", "missing --out FILE.html");
    }
    nas_job_report_result r;
    nas_status st = nas_job_report(&p, &r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("wrote %s: run %lld, %d figures, %d architecture graphs, %zu bytes", p.out,
           (long long)r.run_id, r.n_figures, r.n_graphs, r.n_bytes);
    if (r.n_missing) {
        printf(" (%d figure%s left out, the report says why)", r.n_missing,
               r.n_missing == 1 ? "" : "s");
    }
    printf("\n");
    return NAS_EXIT_OK;
}
