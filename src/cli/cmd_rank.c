/*
 * `ghnas rank DB [--model gp|ridge|pairwise] [--features LIST] [--ghn ID|FILE|none] ...`: fit a
 * learned ranker on the finished trainings of a results store (nas_job_rank) and save it in the
 * store, where the ranker scorer of search and score finds it. Prints what it learned from and
 * its cross-validated quality.
 */
#include "cmd_rank.h"

#include "cli.h"
#include "ghnas/job.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(nas_job_rank_params, f)

static const nas_cli_opt opts[] = {
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE", "the results store (or give it as the first argument)",
     .aliases = NULL},
    {"model", 0, NAS_CLI_STR, OFF(model), "M",
     "gp (default: Gaussian process, gives an uncertainty), ridge\nor pairwise (linear RankNet)",
     .aliases = NULL},
    {"features", 0, NAS_CLI_STR, OFF(features), "LIST",
     "feature groups: size (log params, FLOPs), ghn (predicted-weight\naccuracy and loss), "
     "embed (pooled GHN embedding), proxies (the\nfive zero-cost proxies), or all (default: all "
     "the store allows)",
     .aliases = NULL},
    {"ghn", 0, NAS_CLI_STR, OFF(ghn), "ID|FILE",
     "GHN of the ghn and embed features: a stored id, a checkpoint\n(imported), or none "
     "(default: the store's newest for the space)",
     .aliases = NULL},
    {"run", 0, NAS_CLI_I64, OFF(run), "ID",
     "learn from the trainings of this evaluate run only (default: all)", .min = 1,
     .max = INT64_MAX},
    {"labels", 0, NAS_CLI_INT, OFF(max_labels), "K",
     "use the first K trained architectures only (default: all)", .min = 1, .max = 1000000},
    {"embed-k", 0, NAS_CLI_INT, OFF(embed_k), "K",
     "principal directions kept of the embedding (default %D)", .min = 1, .max = 64},
    {"cv-folds", 0, NAS_CLI_INT, OFF(cv_folds), "K",
     "k of the cross-validated quality (default %D; 0 = skip)", .min = 0, .max = 1000},
    {"val-n", 0, NAS_CLI_I64, OFF(val_n), "N",
     "ghn features: validation images (default %D, as ghnas search)", .min = 1, .max = 10000000},
    {"seed", 0, NAS_CLI_U64, OFF(seed), "S", "seed of the folds (default %D)", .min = 0,
     .max = 0x7fffffff},
    {"name", 0, NAS_CLI_STR, OFF(name), "TEXT", "a label for the ranker", .aliases = NULL},
    {"space", 0, NAS_CLI_STR, OFF(space), "NAME", "search space of the trainings (default %D)",
     .aliases = NULL},
    {"data", 0, NAS_CLI_CUSTOM, OFF(data), "SPEC",
     "data set of the trainings: a name (fashion-mnist, the default;\nmnist, cifar10, cifar100) "
     "or a path (idx:DIR, cifar10:DIR,\ncifar100:DIR, folder:DIR[@HxW], DIR)",
     .parse = nas_cli_parse_data},
    {"data-dir", 0, NAS_CLI_STR, OFF(data_dir), "DIR",
     "dataset directory (default as for ghnas train)", .aliases = NULL},
    {"threads", 0, NAS_CLI_INT, OFF(threads), "N",
     "architectures featurised at once (default: all cores)", .min = 1, .max = 1024},
    {"quiet", 0, NAS_CLI_FLAG, OFF(quiet), NULL, "no progress output", .aliases = NULL},
};

static const nas_cli_spec spec = {
    "rank",
    "usage: ghnas rank DB [--model gp|ridge|pairwise] [--features LIST] [--ghn ID|FILE|none]\n"
    "                     [--run ID] [--labels K] [OPTIONS]\n"
    "\n"
    "Fit a learned ranker on the trainings in the results store DB and save it there. The\n"
    "labels are the validation accuracies of finished `ghnas evaluate` trainings of one\n"
    "recipe (the one with the most trained architectures; the seeds of an architecture\n"
    "are averaged). The features of each trained architecture are computed as the ranker\n"
    "scorer computes them for new candidates: log params and FLOPs, the accuracy and loss\n"
    "of the GHN's predicted weights, the pooled GHN node embedding (reduced to --embed-k\n"
    "principal directions) and the five zero-cost proxies. Columns that are missing or\n"
    "constant over the labels are left out. Prints the cross-validated Kendall tau and\n"
    "Spearman rho of the ranker's predictions. Then rank candidates with it:\n"
    "  ghnas search --db DB --scorer ranker      ghnas score --db DB --scorers ranker ARCH\n"
    "A ranker is refused on another space or data set, and reads the GHN it was fitted on.\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    "output: one line per fact (key: value): ranker id, model, labels, features, GHN,\n"
    "cross-validated tau and rho, seconds\n",
    1,
    false};

int nas_cli_rank(int argc, char **argv) {
    nas_job_rank_params p = nas_job_rank_defaults(), def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    if (args.n_pos > 0 && p.db) {
        return nas_cli_usage_error("rank", "unexpected argument '%s'", args.pos[0]);
    }
    if (args.n_pos > 0) {
        p.db = args.pos[0];
    }
    if (!p.db) {
        return nas_cli_usage_error("rank", "missing the results store DB");
    }
    if (p.cv_folds == 1) {
        return nas_cli_usage_error("rank", "--cv-folds: 0 (skip) or at least 2");
    }
    nas_job_rank_result r;
    nas_status st = nas_job_rank(&p, &r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("ranker: %lld\n", (long long)r.ranker_id);
    printf("model: %s\n", r.model);
    printf("labels: %d architectures (%d trainings)\n", r.n_labels, r.n_trainings);
    printf("feature groups: %s\n", r.groups);
    printf("features used: %s\n", r.features);
    if (r.ghn_id > 0) {
        printf("ghn: %lld\n", (long long)r.ghn_id);
    } else {
        printf("ghn: none\n");
    }
    if (r.cv_folds > 0) {
        printf("cv: %d-fold Kendall tau %.3f, Spearman rho %.3f\n", r.cv_folds, r.cv_tau, r.cv_rho);
    } else {
        printf("cv: not measured\n");
    }
    printf("seconds: %.1f\n", r.seconds);
    return NAS_EXIT_OK;
}
