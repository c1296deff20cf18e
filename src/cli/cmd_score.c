/*
 * `ghnas score [--ghn FILE] [--scorer S | --scorers LIST] [--space NAME] ARCH...`: score given
 * (or random) architectures without training them, with a trained GHN's predicted weights, the
 * zero-cost proxies and params/FLOPs in one pass (nas_job_score), one line per architecture.
 */
#include "cmd_score.h"

#include "cli.h"
#include "ghnas/job.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(nas_job_score_params, f)

static const nas_cli_opt opts[] = {
    {"ghn", 0, NAS_CLI_STR, OFF(ghn), "FILE",
     "checkpoint written by ghnas train (needed by the ghn scorer)", .aliases = NULL},
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE",
     "results store holding the ranker (needed by the ranker scorer)", .aliases = NULL},
    {"ranker", 0, NAS_CLI_STR, OFF(ranker), "ID",
     "ranker: its id in --db (default: the newest of the space)", .aliases = NULL},
    {"scorers", 0, NAS_CLI_CUSTOM, OFF(scorers), "LIST",
     "comma-separated scorers listed below (default with --ghn: ghn)", .aliases = "scorer",
     .parse = nas_cli_parse_scorers},
    {"space", 0, NAS_CLI_STR, OFF(space), "NAME", "search space (default: the GHN's, else nb201)",
     .aliases = NULL},
    {"C", 0, NAS_CLI_INT, OFF(C), "C", "base width (default: the space's skeleton)", .min = 1,
     .max = 4096},
    {"N", 0, NAS_CLI_INT, OFF(N), "N", "cells per stage / modules per stack (default: the space's)",
     .min = 1, .max = 64},
    {"val-n", 0, NAS_CLI_I64, OFF(val_n), "N", "ghn: validation images used (default %D)",
     .aliases = "val", .min = 1, .max = 10000000},
    {"batch", 0, NAS_CLI_INT, OFF(batch), "B",
     "ghn: evaluation batch size for BN statistics (default: the one\nin the checkpoint, 128)",
     .min = 1, .max = 65536},
    {"random", 0, NAS_CLI_I64, OFF(random), "K",
     "also score K random valid architectures of the space", .min = 1, .max = 1000000},
    {"seed", 0, NAS_CLI_U64, OFF(seed), "S", "seed of --random (default %D)", .min = 0,
     .max = 0x7fffffff},
    {"threads", 0, NAS_CLI_INT, OFF(threads), "N",
     "architectures scored in parallel (default: all cores)", .min = 1, .max = 1024},
    {"data", 0, NAS_CLI_CUSTOM, OFF(data), "SPEC",
     "without --ghn: a name (fashion-mnist, the default; mnist,\ncifar10, cifar100) or a path "
     "(idx:DIR, cifar10:DIR,\ncifar100:DIR, folder:DIR[@HxW], DIR)",
     .parse = nas_cli_parse_data},
    {"data-dir", 0, NAS_CLI_STR, OFF(data_dir), "DIR",
     "dataset directory (default as for ghnas train)", .aliases = NULL},
};

static const nas_cli_spec spec = {
    "score",
    "usage: ghnas score [--ghn FILE | --db DB [--ranker ID]] [--scorers LIST] [--space NAME]\n"
    "                   [--C C] [--N N]\n"
    "                   [--val-n N] [--batch B] [--random K] [--seed S] [--threads N]\n"
    "                   [--data NAME] [--data-dir DIR] [--] ARCH...\n"
    "\n"
    "Score each ARCH without training it. ghn: predict all its weights with the trained\n"
    "GHN in FILE and report the validation accuracy and cross-entropy they reach; the\n"
    "images are the first --val-n of the validation split recorded in the checkpoint\n"
    "(same split and normalisation as training) and BatchNorm uses the statistics of\n"
    "each evaluation batch (size --batch, printed). Zero-cost proxies (grad_norm, snip,\n"
    "synflow, jacob_cov, naswot) score the network at initialisation (PyTorch's default\n"
    "init, seed 1) on one batch of 64 training images; params and flops need no data.\n"
    "ranker: the validation accuracy a ranker fitted with `ghnas rank DB` predicts (with\n"
    "the GHN and skeleton it was fitted on, from --db).\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    "output: a header line, then one line per architecture: the value of each scorer\n"
    "(ghn as val_acc and val_loss), params, arch\n",
    -1,
    true};

int nas_cli_score(int argc, char **argv) {
    nas_job_score_params p = nas_job_score_defaults(), def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    if (!p.scorers && !p.ghn) {
        return nas_cli_usage_error(
            "score", "missing --ghn FILE (or --scorer NAME for a scorer without a GHN)");
    }
    if (p.ranker && !p.db) {
        return nas_cli_usage_error("score", "--ranker needs --db DB");
    }
    if (p.scorers && !p.ghn && !p.db && strstr(p.scorers, "ghn")) {
        return nas_cli_usage_error("score", "the ghn scorer needs --ghn FILE");
    }
    if (args.n_pos == 0 && p.random == 0) {
        return nas_cli_usage_error("score", "give at least one ARCH or --random K");
    }
    p.archs = args.pos;
    p.n_archs = args.n_pos;
    nas_job_score_result r;
    nas_status st = nas_job_score(&p, &r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    if (r.has_ghn) {
        printf("# ghn %s (%s, %s decoder); %s validation images %lld (split seed %llu), BN "
               "batch statistics, eval batch %d\n",
               p.ghn ? p.ghn : "of the ranker", r.space, r.decoder, r.dataset, (long long)r.n_eval,
               (unsigned long long)r.split_seed, r.eval_batch);
    }
    if (r.has_data && !(r.has_ghn && r.n_scorers == 1)) {
        printf("# proxies: %s, one batch of %d, PyTorch default init, seed 1\n", r.data_id,
               r.proxy_batch);
    }
    printf("#");
    for (int k = 0; k < r.n_scorers; k++) {
        printf(strcmp(r.names[k], "ghn") == 0 ? " val_acc  val_loss " : " %s ", r.names[k]);
    }
    printf("%s arch\n", r.has_params ? "" : " params ");
    double sum = 0.0, best = 0.0;
    for (int i = 0; i < r.n; i++) {
        const nas_job_score_item *it = &r.items[i];
        for (int k = 0; k < r.n_scorers; k++) {
            if (strcmp(r.names[k], "ghn") == 0) {
                printf("%.4f  %.4f  ", it->value[k], it->ghn_loss);
                sum += it->value[k];
                best = fmax(best, it->value[k]);
            } else {
                printf("%.6g  ", it->value[k]);
            }
        }
        if (!r.has_params) {
            printf("%lld  ", (long long)it->params);
        }
        printf("%s\n", it->arch);
    }
    if (r.n > 1 && r.has_ghn) {
        printf("# %d architectures: mean val_acc %.4f, best %.4f\n", r.n, sum / r.n, best);
    }
    nas_job_score_result_free(&r);
    return NAS_EXIT_OK;
}
