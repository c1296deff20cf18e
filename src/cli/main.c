/*
 * ghnas command-line entry point: a table of subcommands, `--help` and `--version`.
 * src/cli is the only place that prints to stdout for the user and the only place that exits.
 */
#include "cli.h"
#include "cmd_evaluate.h"
#include "cmd_export.h"
#include "cmd_plot.h"
#include "cmd_query.h"
#include "cmd_rank.h"
#include "cmd_score.h"
#include "cmd_search.h"
#include "cmd_show.h"
#include "cmd_spaces.h"
#include "cmd_train.h"

#include <stdio.h>
#include <string.h>

static int cmd_version(int argc, char **argv);

static const nas_cli_command commands[] = {
    {"evaluate", nas_cli_evaluate,
     "train architectures of a search run; Kendall tau / Spearman rho"},
    {"export", nas_cli_export, "write a trained model (or GHN-predicted weights) as ONNX or .npz"},
    {"plot", nas_cli_plot,
     "draw a figure of a results store: history, pareto, curves, scorers, ghn"},
    {"predict", nas_cli_predict, "run a trained model on images (PNG, PGM, IDX): classes"},
    {"query", nas_cli_query,
     "read a results store: runs, top, arch, pareto, ghns, rankers, sql, drop-weights"},
    {"rank", nas_cli_rank, "fit a learned ranker on a store's trainings (the ranker scorer)"},
    {"report", nas_cli_report, "write a one-file HTML report of a search run"},
    {"score", nas_cli_score, "score architectures with a trained GHN (predicted weights)"},
    {"search", nas_cli_search,
     "search a space (trains a GHN first when needed) and evaluate the best"},
    {"show", nas_cli_show, "print the op-level graph of an architecture (text, DOT or GraphML)"},
    {"spaces", nas_cli_spaces, "list, show, count, sample and check search spaces"},
    {"train", nas_cli_train, "train a graph hypernetwork on a search space"},
    {"version", cmd_version, "print the version"},
};

#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *out) {
    fprintf(out, "usage: ghnas <command> [options]   (ghnas <command> --help for its options)\n"
                 "\n"
                 "ghnas: neural architecture search with a graph hypernetwork.\n"
                 "\n"
                 "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++) {
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\noptions:\n  -h, --help     this help\n  -V, --version  print the version\n");
}

static const nas_cli_spec version_spec = {
    "version", "usage: ghnas version\n\nPrint the ghnas version.\n", NULL, 0, NULL, 0, false};

static int cmd_version(int argc, char **argv) {
    nas_cli_args args;
    int rc = nas_cli_parse(&version_spec, argc, argv, NULL, NULL, &args);
    if (rc >= 0) {
        return rc;
    }
    printf("ghnas %s\n", GHNAS_VERSION);
    return NAS_EXIT_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return NAS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return NAS_EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        return cmd_version(1, argv + 1);
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ghnas: error: unknown command '%s' (see ghnas --help)\n", cmd);
    return NAS_EXIT_USAGE;
}
