/*
 * `ghnas evaluate DB --run ID (--top K | --sample K) [--epochs E] [--init scratch|ghn]`: train the
 * chosen architectures of a search run on the training split with a recorded recipe, store their
 * accuracies and learning curves, resume an interrupted evaluation where it stopped, and print
 * the Kendall tau and Spearman rho between search score and trained validation accuracy. The
 * work is nas_job_evaluate (src/job).
 */
#include "cmd_evaluate.h"

#include "cli.h"
#include "ghnas/job.h"
#include "report.h"

#include <stdio.h>
#include <string.h>

/* The job's params plus what only the command line has. */
typedef struct cli_params {
    nas_job_evaluate_params job;
    const char *archs; /* --archs FILE, read here */
} cli_params;

#define OFF(f) offsetof(cli_params, job.f)

static nas_status parse_init(const char *opt, const char *value, void *field) {
    if (strcmp(value, "scratch") != 0 && strcmp(value, "ghn") != 0) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not scratch or ghn", opt, value);
    }
    *(const char **)field = value;
    return NAS_OK;
}

static void show_str(const void *field, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", *(const char *const *)field);
}

static const nas_cli_opt opts[] = {
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE", "the results store (or give it as the first argument)",
     .aliases = NULL},
    {"run", 0, NAS_CLI_I64, OFF(eval.search_run), "ID", "the search run (see ghnas query DB runs)",
     .min = 1, .max = 0x7fffffff},
    {"top", 'k', NAS_CLI_INT, OFF(eval.top_k), "K", "its K best architectures by its search score",
     .min = 1, .max = 100000},
    {"best-of", 0, NAS_CLI_I64, OFF(eval.best_of_run), "RUN",
     "with --top K: the K best by validation accuracy in the earlier\nevaluate run RUN of the same "
     "search run (screen many briefly,\nthen train the winners longer)",
     .min = 1, .max = 0x7fffffff},
    {"sample", 0, NAS_CLI_INT, OFF(eval.sample_k), "K",
     "K of its architectures at random (seeded by --seed)", .min = 1, .max = 100000},
    {"archs", 0, NAS_CLI_STR, offsetof(cli_params, archs), "FILE",
     "choose only among these architectures of the run (arch texts, one\nper line, '#' comments): "
     "train a chosen set, skip known ones",
     .aliases = NULL},
    {"epochs", 0, NAS_CLI_INT, OFF(eval.recipe.epochs), "E", "training epochs (default %D)",
     .min = 1, .max = 10000},
    {"C", 0, NAS_CLI_INT, OFF(eval.net_C), "C",
     "base width of the trained nets (default: the search run's\nskeleton); a scaled-up final "
     "training",
     .min = 1, .max = 4096},
    {"N", 0, NAS_CLI_INT, OFF(eval.net_N), "N",
     "cells per stage of the trained nets (default: the run's)", .min = 1, .max = 64},
    {"init", 0, NAS_CLI_CUSTOM, OFF(eval.init), "I",
     "scratch (default: kaiming initialisation) or ghn (start from the\nweights the run's GHN "
     "predicts)",
     .parse = parse_init, .show = show_str},
    {"train-n", 0, NAS_CLI_I64, OFF(eval.train_n), "N",
     "training images, the first N of the training split (default %D =\nall of it)", .min = 0,
     .max = 100000000},
    {"val-n", 0, NAS_CLI_I64, OFF(eval.val_n), "N",
     "validation images for val_acc (default %D = the whole split)", .aliases = "val", .min = 0,
     .max = 100000000},
    {"val-offset", 0, NAS_CLI_I64, OFF(eval.val_offset), "N",
     "skip the first N validation images (e.g. those the search scored\non, so the ground truth is "
     "measured on other images; default %D)",
     .min = 0, .max = 100000000},
    {"lr", 0, NAS_CLI_F32, OFF(eval.recipe.lr), "LR", "peak learning rate (default %D)",
     .fmin = 1e-8, .fmax = 10.0},
    {"wd", 0, NAS_CLI_F32, OFF(eval.recipe.optim.weight_decay), "WD", "weight decay (default %D)",
     .fmin = 0.0, .fmax = 1.0},
    {"label-smoothing", 0, NAS_CLI_F32, OFF(eval.recipe.label_smoothing), "E",
     "cross-entropy label smoothing (default %D)", .fmin = 0.0, .fmax = 0.999},
    {"bn-calib", 0, NAS_CLI_INT, OFF(eval.bn_calib), "K",
     "before every validation and the test, re-estimate BatchNorm's\nrunning statistics from K "
     "training batches (default %D: the\nrunning averages of training); for short trainings, e.g. "
     "from\n--init ghn weights",
     .min = 0, .max = 100000},
    {"batch", 0, NAS_CLI_INT, OFF(eval.recipe.batch_size), "B", "batch size (default %D)", .min = 1,
     .max = 65536},
    {"seed", 0, NAS_CLI_U64, OFF(eval.seed), "S",
     "weight initialisation, data order, --sample (default %D); each\ntraining is seeded from S "
     "and its arch text",
     .min = 0, .max = 0x7fffffff},
    {"threads", 0, NAS_CLI_INT, OFF(eval.threads), "N", "trainings at once (default: all cores)",
     .min = 1, .max = 1024},
    {"data-dir", 0, NAS_CLI_STR, OFF(data_dir), "DIR",
     "dataset directory (default: $GHNAS_FASHION_MNIST_DIR or\n" NAS_FASHION_MNIST_DIR ")",
     .aliases = NULL},
    {"quiet", 0, NAS_CLI_FLAG, OFF(eval.quiet), NULL, "no progress output", .aliases = NULL},
};

static const nas_cli_spec spec = {
    "evaluate",
    "usage: ghnas evaluate DB --run ID (--top K [--best-of EVAL_RUN] | --sample K)\n"
    "                      [--epochs E] [--C C] [--N N] [--init scratch|ghn] [OPTIONS]\n"
    "\n"
    "Train architectures of search run ID from the results store DB and measure their\n"
    "train, validation and test accuracy. Recipe: SGD with Nesterov momentum 0.9, weight\n"
    "decay --wd, learning rate --lr with a cosine schedule to 0 over all epochs, batch\n"
    "--batch, random crops (padding 2) and horizontal flips, gradient clipping at 5; it is\n"
    "recorded in the store with every epoch of the learning curve; a finished training\n"
    "also keeps its final weights there (ghnas export, ghnas predict). Validation images are\n"
    "the search's validation split; the test split is used only here. Trainings run in\n"
    "parallel (one per thread). Run the same command again to resume an interrupted\n"
    "evaluation at its last finished epoch; finished trainings are skipped.\n"
    "Prints Kendall tau and Spearman rho between search score and validation accuracy,\n"
    "then a table for every scorer the search run recorded (e.g. with --scorers): tau\n"
    "and rho with 95% bootstrap intervals, on all trained architectures and on the\n"
    "better half by validation accuracy.\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    NULL,
    1,
    false};

int nas_cli_evaluate(int argc, char **argv) {
    cli_params c = {nas_job_evaluate_defaults(), NULL}, def = c;
    nas_job_evaluate_params p;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &c, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    p = c.job;
    const char *archs_file = c.archs;
    if (args.n_pos > 0 && p.db) {
        return nas_cli_usage_error("evaluate", "unexpected argument '%s'", args.pos[0]);
    }
    if (args.n_pos > 0) {
        p.db = args.pos[0];
    }
    if (!p.db) {
        return nas_cli_usage_error("evaluate", "missing the results store DB");
    }
    if (p.eval.search_run == 0) {
        return nas_cli_usage_error("evaluate", "missing --run ID");
    }
    if ((p.eval.top_k > 0) == (p.eval.sample_k > 0)) {
        return nas_cli_usage_error("evaluate", "give exactly one of --top K and --sample K");
    }
    if (p.eval.best_of_run > 0 && p.eval.top_k == 0) {
        return nas_cli_usage_error("evaluate", "--best-of RUN picks the --top K of that run");
    }
    char **only = NULL;
    int n_only = 0;
    if (archs_file) {
        if (nas_cli_read_lines(archs_file, &only, &n_only) != NAS_OK) {
            return nas_cli_usage_error("evaluate", "--archs: %s", nas_errmsg());
        }
        if (n_only == 0) {
            nas_cli_lines_free(only, n_only);
            return nas_cli_usage_error("evaluate", "--archs: '%s' lists no architecture",
                                       archs_file);
        }
        p.eval.only = (const char *const *)only;
        p.eval.n_only = n_only;
    }
    p.eval.stop = &nas_cli_stop;
    nas_job_evaluate_result r;
    nas_cli_catch_signals(true);
    nas_status st = nas_job_evaluate(&p, &r);
    nas_cli_catch_signals(false);
    nas_cli_print_evaluate(&r);
    nas_job_evaluate_result_free(&r);
    nas_cli_lines_free(only, n_only);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    if (r.interrupted) {
        fprintf(stderr, "ghnas: interrupted; finished epochs are stored. Run the same command to "
                        "resume.\n");
        return NAS_EXIT_INTERRUPTED;
    }
    return NAS_EXIT_OK;
}
