/*
 * `ghnas search`: the main job. With no options: NB201 on Fashion-MNIST into ghnas.db -- train a
 * graph hypernetwork when the store has none for the space and dataset, search with regularized
 * evolution scoring candidates by the accuracy of their GHN-predicted weights, train the best
 * three briefly, and print the leaderboard and where the database is. Ctrl-C (or SIGTERM) stops
 * cleanly; `--resume RUN` continues a run. The work is nas_job_search (src/job).
 */
#include "cmd_search.h"

#include "cli.h"
#include "ghnas/job.h"
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define OFF(f) offsetof(nas_job_search_params, f)
#define FIXED  (1u << 31) /* cannot change when resuming */

static const nas_cli_opt opts[] = {
    {"space", 0, NAS_CLI_STR, OFF(space), "NAME",
     "search space: built-in name or .json path (default %D)", .bits = FIXED},
    {"data", 0, NAS_CLI_CUSTOM, OFF(data), "SPEC",
     "a name (fashion-mnist, the default; mnist, cifar10, cifar100)\nor a path (idx:DIR, "
     "cifar10:DIR, cifar100:DIR,\nfolder:DIR[@HxW], DIR: the kind is detected)",
     .parse = nas_cli_parse_data, .bits = FIXED},
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE", "results store, created when missing (default %D)",
     .aliases = NULL},
    {"strategy", 0, NAS_CLI_STR, OFF(strategy), "S",
     "evolution (default; regularized/aging evolution), random,\nexhaustive (every unique "
     "architecture once) or local",
     .bits = FIXED},
    {"budget", 0, NAS_CLI_I64, OFF(budget), "N",
     "architectures to score in the run (default %D; 0 = no limit)", .min = 0, .max = 100000000,
     .bits = NAS_JOB_GIVEN_BUDGET},
    {"time", 0, NAS_CLI_DURATION, OFF(time_limit), "DUR",
     "also stop after DUR of searching (90s, 20m, 1.5h; default none)", .aliases = NULL},
    {"scorer", 0, NAS_CLI_CUSTOM, OFF(scorer), "S",
     "what the search optimises (default %D): one of the scorers\nlisted below; the zero-cost "
     "proxies see one training batch\nof 64 images",
     .parse = nas_cli_parse_scorer, .bits = FIXED},
    {"scorers", 0, NAS_CLI_CUSTOM, OFF(scorers), "LIST",
     "more scorers computed and stored for every candidate (comma-\nseparated, same names), e.g. "
     "synflow,naswot,params: one pass\nrecords them all for a correlation study (ghnas evaluate)",
     .parse = nas_cli_parse_scorers, .bits = FIXED},
    {"ghn", 0, NAS_CLI_STR, OFF(ghn), "ID|FILE",
     "the GHN: a stored GHN id (ghnas query DB ghns) or a checkpoint\nfrom ghnas train, imported "
     "into the store (default: the newest\nstored GHN of the space and dataset, else train one)",
     .bits = FIXED},
    {"ranker", 0, NAS_CLI_STR, OFF(ranker), "ID",
     "the ranker scorer's ranker: a stored id (ghnas query DB rankers;\ndefault: the newest of the "
     "space and dataset)",
     .bits = FIXED},
    {"train-time", 0, NAS_CLI_DURATION, OFF(train_time), "DUR",
     "GHN training time when one is trained (default %D)", .aliases = NULL},
    {"train-steps", 0, NAS_CLI_I64, OFF(train_steps), "N", "train the GHN for N steps instead",
     .aliases = "steps", .min = 1, .max = 100000000},
    {"threads", 0, NAS_CLI_INT, OFF(threads), "N", "candidates scored at once (default: all cores)",
     .min = 1, .max = 1024},
    {"seed", 0, NAS_CLI_U64, OFF(seed), "S", "the run's random stream (default %D)", .min = 0,
     .max = 0x7fffffff, .bits = FIXED},
    {"round", 0, NAS_CLI_INT, OFF(round), "N",
     "candidates proposed per round (default %D); the sequence depends\non --seed and --round, not "
     "on --threads",
     .min = 1, .max = 256, .bits = FIXED},
    {"population", 0, NAS_CLI_INT, OFF(population), "P", "evolution: population size (default %D)",
     .min = 1, .max = 100000, .bits = FIXED},
    {"sample", 0, NAS_CLI_INT, OFF(sample), "S", "evolution: tournament size (default %D)",
     .min = 1, .max = 100000, .bits = FIXED},
    {"ls-init", 0, NAS_CLI_INT, OFF(ls_init), "K",
     "local: random starts before climbing (default %D)", .min = 1, .max = 100000, .bits = FIXED},
    {"C", 0, NAS_CLI_INT, OFF(C), "C",
     "base width of the scored nets (default: the space's skeleton)", .min = 1, .max = 4096,
     .bits = FIXED},
    {"N", 0, NAS_CLI_INT, OFF(N), "N", "cells per stage / modules per stack (default: the space's)",
     .min = 1, .max = 64, .bits = FIXED},
    {"val-n", 0, NAS_CLI_I64, OFF(val_n), "N", "validation images per GHN score (default %D)",
     .aliases = "val", .min = 1, .max = 10000000, .bits = FIXED},
    {"eval-top", 0, NAS_CLI_INT, OFF(eval_top), "K",
     "train the K best afterwards (default %D; 0 = skip)", .min = 0, .max = 1000,
     .bits = NAS_JOB_GIVEN_EVAL_TOP},
    {"eval-epochs", 0, NAS_CLI_INT, OFF(eval_epochs), "E", "epochs of that training (default %D)",
     .min = 1, .max = 10000, .bits = NAS_JOB_GIVEN_EVAL_EPOCHS},
    {"eval-train-n", 0, NAS_CLI_I64, OFF(eval_train_n), "N",
     "training images of that training (default %D; 0 = all)", .min = 0, .max = 100000000,
     .bits = NAS_JOB_GIVEN_EVAL_TRAIN_N},
    {"learn", 0, NAS_CLI_INT, OFF(learn), "N",
     "earn labels: after the search, train candidates in rounds, fit a\nranker on the trainings "
     "(ghnas rank) and search again with it,\nuntil N trainings are done (default %D: no loop)",
     .min = 0, .max = 100000, .bits = FIXED},
    {"learn-round", 0, NAS_CLI_INT, OFF(learn_round), "K",
     "learn: trainings per round (default %D)", .min = 3, .max = 1000, .bits = FIXED},
    {"learn-epochs", 0, NAS_CLI_INT, OFF(learn_epochs), "E",
     "learn: epochs of each training (default %D)", .min = 1, .max = 1000, .bits = FIXED},
    {"learn-train-n", 0, NAS_CLI_I64, OFF(learn_train_n), "N",
     "learn: training images of each (default %D; 0 = all)", .min = 0, .max = 100000000,
     .bits = FIXED},
    {"learn-model", 0, NAS_CLI_STR, OFF(learn_model), "M",
     "learn: the ranker's model, gp (default), ridge or pairwise", .aliases = NULL, .bits = FIXED},
    {"learn-kappa", 0, NAS_CLI_F64, OFF(learn_kappa), "K",
     "learn: choose by mean + K standard deviations of the GP\n(default %D; 0 = by the mean)",
     .fmin = 0.0, .fmax = 100.0, .bits = FIXED},
    {"name", 0, NAS_CLI_STR, OFF(name), "TEXT", "a label for the run (default: none)",
     .aliases = NULL},
    {"resume", 0, NAS_CLI_I64, OFF(resume), "RUN",
     "continue run RUN of --db (space, strategy, scorer and their\noptions come from the run, so "
     "do the --eval-* options unless\ngiven again; --budget and --time may change)",
     .min = 1, .max = 0x7fffffff},
    {"force", 0, NAS_CLI_FLAG, OFF(force), NULL,
     "resume a run still marked running (its process was killed)", .aliases = NULL},
    {"data-dir", 0, NAS_CLI_STR, OFF(data_dir), "DIR",
     "dataset directory (default: $GHNAS_FASHION_MNIST_DIR or\n" NAS_FASHION_MNIST_DIR ")",
     .aliases = NULL},
    {"quiet", 0, NAS_CLI_FLAG, OFF(quiet), NULL, "no progress output", .aliases = NULL},
};

static const nas_cli_spec spec = {
    "search",
    "usage: ghnas search [--space NAME] [--data NAME] [--db FILE] [--strategy S]\n"
    "                    [--budget N] [--time DUR] [--scorer S] [--scorers LIST]\n"
    "                    [--ghn ID|FILE] [--train-time DUR | --train-steps N] [OPTIONS]\n"
    "\n"
    "Search a space for good architectures and record every result in a results store\n"
    "(SQLite; read it with ghnas query). With the ghn scorer a graph hypernetwork (GHN)\n"
    "predicts all weights of each candidate and the candidate is scored by the validation\n"
    "accuracy those weights reach, without training; when the store holds no GHN for the\n"
    "space and dataset, one is trained first and stored. Candidates are deduplicated by\n"
    "canonical graph, scores already in the store (same architecture, GHN and scoring\n"
    "recipe) are reused, and candidates are scored in parallel. Afterwards the best\n"
    "--eval-top are trained briefly from scratch (see ghnas evaluate for longer training).\n"
    "Ctrl-C stops cleanly (the run is marked interrupted); --resume continues it.\n"
    "With --learn N the search earns labels: it trains the --learn-round most promising\n"
    "candidates (--learn-epochs on --learn-train-n images), fits a ranker on every training\n"
    "of that recipe in the store, searches again with the ranker and trains the candidates\n"
    "it rates best (mean + --learn-kappa standard deviations), until N trainings are done;\n"
    "--resume with the first run's id continues the whole loop.\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    NULL,
    0,
    true};

static void print_searched(const nas_job_search_result *r, void *user) {
    (void)user;
    const nas_search_result *s = &r->search;
    double share = s->seconds > 0 ? 100.0 * s->store_seconds / s->seconds : 0.0;
    printf("run %lld %s: %lld architectures (%lld scored, %lld reused, %lld failed, %lld "
           "duplicate proposals skipped) in %.1f s, %.1f scored/s, %.1f%% of the time in "
           "the store%s%s\n",
           (long long)s->run_id, nas_run_status_name(s->status), (long long)s->n_results,
           (long long)s->n_scored, (long long)s->n_reused, (long long)s->n_failed,
           (long long)s->n_duplicates, s->seconds,
           s->seconds > 0 ? (double)s->n_scored / s->seconds : 0.0, share,
           s->exhausted ? "; the space is exhausted" : "", s->time_up ? "; time is up" : "");
    if (!isnan(s->best)) {
        printf("best %s %.6g: %s\n", r->scorer, s->best, s->best_arch);
    }
    fflush(stdout);
}

static void print_leaderboard(int64_t run_id, const char *db_path) {
    nas_store *db = NULL;
    nas_store_table t;
    memset(&t, 0, sizeof t);
    if (nas_store_open(&db, db_path, NAS_STORE_READONLY) == NAS_OK &&
        nas_store_query_top(db, run_id, NULL, 10, &t) == NAS_OK && t.n_rows > 0) {
        printf("\nleaderboard of run %lld (top %lld by search score):\n", (long long)run_id,
               (long long)t.n_rows);
        nas_cli_print_table(stdout, &t, NAS_CLI_FORMAT_TABLE);
    }
    nas_store_table_free(&t);
    nas_store_close(db);
    char abs[PATH_MAX];
    const char *shown = realpath(db_path, abs) ? abs : db_path;
    printf("\ndatabase: %s\n  ghnas query %s top --run %lld     ghnas query %s runs\n", shown,
           db_path, (long long)run_id, db_path);
    fflush(stdout);
}

static void print_round(const nas_job_learn_round *r, void *user) {
    (void)user;
    printf("learn round %d: trained in evaluate run %lld (%d trainings so far); ranker %lld",
           r->round, (long long)r->eval_run, r->trainings, (long long)r->ranker_id);
    if (r->n_labels > 0) {
        printf(" on %d labels", r->n_labels);
    }
    if (!isnan(r->cv_tau)) {
        printf(", cross-validated tau %.3f", r->cv_tau);
    }
    printf("; searched with it in run %lld\n", (long long)r->search_run);
    fflush(stdout);
}

int nas_cli_search(int argc, char **argv) {
    nas_job_search_params p = nas_job_search_defaults(), def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    for (int k = 0; p.resume > 0 && k < spec.n_opts; k++) {
        if ((opts[k].bits & FIXED) && args.as[k][0]) {
            return nas_cli_usage_error("search",
                                       "%s cannot change when resuming: the run keeps "
                                       "its own",
                                       args.as[k]);
        }
    }
    p.given = args.given & ~FIXED;
    p.stop = &nas_cli_stop;
    p.on_searched = print_searched;
    p.on_round = print_round;
#ifdef __GLIBC__
    /* Scoring allocates and frees tens of MB per candidate (the GHN scorer reuses one
       workspace per thread, the proxies and the compiler do not). By default glibc unmaps such
       blocks (and per-thread malloc arenas cannot hold them at all), so the next candidate
       faults them in again: ~40% of the GHN scoring CPU time went to page faults before the
       workspaces. One malloc arena that keeps big freed blocks; set before any worker thread
       exists. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
#endif
    nas_job_search_result r;
    nas_cli_catch_signals(true);
    nas_status st = nas_job_search(&p, &r);
    nas_cli_catch_signals(false);
    const int64_t run = r.search.run_id;
    if (r.evaluated) {
        nas_cli_print_evaluate(&r.eval);
    }
    if (st == NAS_OK) {
        print_leaderboard(run, p.db);
        if (r.interrupted) {
            fprintf(stderr,
                    "ghnas: interrupted; continue with: ghnas search --db %s --resume %lld\n", p.db,
                    (long long)run);
        }
    } else if (run > 0 && r.search.status == NAS_RUN_INTERRUPTED) {
        fprintf(stderr,
                "ghnas: run %lld is marked interrupted; once the cause is fixed, continue "
                "with: ghnas search --db %s --resume %lld\n",
                (long long)run, p.db, (long long)run);
    }
    nas_job_search_result_free(&r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    return r.interrupted ? NAS_EXIT_INTERRUPTED : NAS_EXIT_OK;
}
