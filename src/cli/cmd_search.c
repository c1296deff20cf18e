/*
 * `ghnas search`: the main job. With no options: NB201 on Fashion-MNIST into ghnas.db -- train a
 * graph hypernetwork when the store has none for the space and dataset, search with regularized
 * evolution scoring candidates by the accuracy of their GHN-predicted weights, train the best
 * three briefly, and print the leaderboard and where the database is. Ctrl-C (or SIGTERM) stops
 * cleanly; `--resume RUN` continues a run.
 */
#include "cmd_search.h"

#include "cli.h"
#include "cmd_evaluate.h"
#include "cmd_query.h"
#include "cmd_train.h"
#include "ghnas/container.h"
#include "ghnas/score.h"
#include "ghnas/search.h"
#include "ghnas/space.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Defaults, sized so the whole default run fits in 10 minutes on 2 cores. */
#define DEF_BUDGET     500
#define DEF_TRAIN_TIME 180.0 /* seconds of GHN training when the store has none */
#define DEF_VAL_N      500   /* validation images per GHN score */
#define DEF_EVAL_TOP   3
#define DEF_EVAL_EPOCH 1
#define DEF_EVAL_TRAIN 10000 /* training images of the closing evaluation */

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: ghnas search [--space NAME] [--data NAME] [--db FILE] [--strategy S]\n"
        "                    [--budget N] [--time DUR] [--scorer S] [--scorers LIST]\n"
        "                    [--ghn ID|FILE] [--train-time DUR | --train-steps N]\n"
        "                    [--threads N] [--seed S] [--round N] [--population P]\n"
        "                    [--sample S] [--ls-init K] [--C C] [--N N] [--val-n N]\n"
        "                    [--eval-top K] [--eval-epochs E] [--eval-train-n N] [--name TEXT]\n"
        "                    [--resume RUN] [--force] [--data-dir DIR] [--quiet]\n"
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
        "\n");
    fprintf(
        out,
        "options:\n"
        "  --space NAME       search space: built-in name or .json path (default nb201)\n"
        "  --data NAME        fashion-mnist (default) or mnist\n"
        "  --db FILE          results store, created when missing (default ghnas.db)\n"
        "  --strategy S       evolution (default; regularized/aging evolution), random,\n"
        "                     exhaustive (every unique architecture once) or local\n"
        "  --budget N         architectures to score in the run (default %d; 0 = no limit)\n"
        "  --time DUR         also stop after DUR of searching (90s, 20m, 1.5h; default none)\n"
        "  --scorer S         what the search optimises (default ghn): one of the scorers listed\n"
        "                     below; the zero-cost proxies see one training batch of 64 images\n"
        "  --scorers LIST     more scorers computed and stored for every candidate (comma-\n"
        "                     separated, same names), e.g. synflow,naswot,params: one pass\n"
        "                     records them all for a correlation study (ghnas evaluate)\n"
        "  --ghn ID|FILE      the GHN: a stored GHN id (ghnas query DB ghns) or a checkpoint\n"
        "                     from ghnas train, imported into the store (default: the newest\n"
        "                     stored GHN of the space and dataset, else train one)\n"
        "  --train-time DUR   GHN training time when one is trained (default %.0fs)\n"
        "  --train-steps N    train the GHN for N steps instead\n"
        "  --threads N        candidates scored at once (default: all cores)\n"
        "  --seed S           the run's random stream (default 1)\n"
        "  --round N          candidates proposed per round (default 8); the sequence depends\n"
        "                     on --seed and --round, not on --threads\n"
        "  --population P     evolution: population size (default 20)\n"
        "  --sample S         evolution: tournament size (default 5)\n"
        "  --ls-init K        local: random starts before climbing (default 10)\n"
        "  --C C              base width of the scored nets (default: the space's skeleton)\n"
        "  --N N              cells per stage / modules per stack (default: the space's)\n"
        "  --val-n N          validation images per GHN score (default %d)\n"
        "  --eval-top K       train the K best afterwards (default %d; 0 = skip)\n"
        "  --eval-epochs E    epochs of that training (default %d)\n"
        "  --eval-train-n N   training images of that training (default %d; 0 = all)\n"
        "  --name TEXT        a label for the run (default: none)\n"
        "  --resume RUN       continue run RUN of --db (space, strategy, scorer and their\n"
        "                     options come from the run, so do the --eval-* options unless\n"
        "                     given again; --budget and --time may change)\n"
        "  --force            resume a run still marked running (its process was killed)\n"
        "  --data-dir DIR     dataset directory (default: $GHNAS_FASHION_MNIST_DIR or\n"
        "                     " NAS_FASHION_MNIST_DIR ")\n"
        "  --quiet            no progress output\n"
        "  -h, --help         this help\n",
        DEF_BUDGET, DEF_TRAIN_TIME, DEF_VAL_N, DEF_EVAL_TOP, DEF_EVAL_EPOCH, DEF_EVAL_TRAIN);
    fprintf(out, "\nscorers:\n");
    nas_cli_print_scorers(out, "  ");
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* ---- GHN helpers ----------------------------------------------------------------------------- */

nas_status nas_cli_ghn_from_store(nas_store *db, int64_t ghn_id, nas_ghn *g,
                                  nas_ghn_data_info *info) {
    void *bytes = NULL;
    size_t n = 0;
    NAS_CHECK(nas_store_ghn_checkpoint(db, ghn_id, &bytes, &n));
    char what[64];
    snprintf(what, sizeof what, "GHN %lld of the store", (long long)ghn_id);
    nas_status st = nas_ghn_load_mem(g, NULL, info, bytes, n, what, NULL);
    nas_free(bytes);
    return st;
}

static bool ghn_on_step(const nas_ghn_trainer *tr, double loss, double acc, void *user) {
    (void)tr;
    (void)loss;
    (void)acc;
    (void)user;
    return !stop_flag;
}

/* Train a GHN on the space and store it; *g and *info describe it. */
static nas_status train_ghn(nas_store *db, const nas_space *sp, const char *dataset,
                            const char *data_dir, double seconds, long steps, int threads,
                            nas_ghn *g, nas_ghn_data_info *info, int64_t *ghn_id) {
    nas_status st = NAS_OK;
    nas_ghn_trainer tr;
    nas_dataset ds;
    nas_data_split split;
    memset(&tr, 0, sizeof tr);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    void *ckpt = NULL;
    size_t n_ckpt = 0;
    nas_ghn_config gc = nas_ghn_config_default();
    nas_ghn_train_config tc = nas_ghn_train_defaults();
    tc.steps = steps > 0 ? steps : 0;
    tc.time_limit = steps > 0 ? 0.0 : seconds;
    tc.threads = threads;
    NAS_TRY(nas_ghn_init(g, &gc, tc.seed));
    NAS_TRY(nas_ghn_trainer_init(&tr, g, &tc));
    tr.data.n_val = 10000;
    tr.data.split_seed = 1;
    NAS_TRY(nas_cli_ghn_data(dataset, data_dir, &tr.data, true, &ds, &split));
    snprintf(tr.data.space, sizeof tr.data.space, "%s", sp->name);
    char dur[16];
    fprintf(stderr, "ghnas: no GHN for %s on %s in the store: training one (%s, %lld parameters)\n",
            sp->name, dataset, steps > 0 ? "steps" : nas_format_duration(seconds, dur, sizeof dur),
            (long long)nas_ghn_numel(g));
    NAS_TRY(nas_ghn_train(g, &tr, sp, &ds, split.train, split.n_train, &tr.data.norm, ghn_on_step,
                          NULL));
    NAS_TRY(nas_ghn_save_mem(g, &tr, &ckpt, &n_ckpt));
    NAS_TRY(nas_cli_ghn_store(db, g, &tr, ckpt, n_ckpt, ghn_id));
    *info = tr.data;
    fprintf(stderr, "ghnas: GHN %lld trained: %lld steps in %.0f s, last loss %.3f, acc %.3f\n",
            (long long)*ghn_id, (long long)tr.step, tr.seconds, tr.last_loss, tr.last_acc);
cleanup:
    nas_free(ckpt);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_trainer_free(&tr);
    return st;
}

/* A checkpoint given with --ghn: the stored GHN with the same bytes, else import it. */
static nas_status import_ghn(nas_store *db, const void *ckpt, size_t n_ckpt,
                             const nas_ghn_data_info *info, int64_t *ghn_id) {
    int64_t newest = 0;
    nas_status st = nas_store_ghn_find(db, info->space, info->dataset, &newest);
    if (st == NAS_OK) {
        void *a = NULL;
        size_t na = 0;
        bool same = false;
        if (nas_store_ghn_checkpoint(db, newest, &a, &na) == NAS_OK) {
            same = na == n_ckpt && memcmp(a, ckpt, na) == 0;
        }
        nas_free(a);
        if (same) {
            *ghn_id = newest;
            return NAS_OK;
        }
    } else if (st != NAS_ENOTFOUND) {
        return st;
    }
    nas_error_clear();
    nas_ghn_record rec = {.space = info->space,
                          .dataset = info->dataset,
                          .config_json = "{}",
                          .steps = 0,
                          .train_loss = (double)NAN,
                          .val_acc = (double)NAN,
                          .seconds = (double)NAN,
                          .checkpoint = ckpt,
                          .checkpoint_bytes = n_ckpt};
    return nas_store_ghn_add(db, &rec, ghn_id);
}

/* ---- options --------------------------------------------------------------------------------- */

typedef struct opts {
    const char *space, *data, *db, *strategy, *scorer, *scorers, *ghn, *name, *data_dir;
    long budget, train_steps, threads, seed, round, population, sample, ls_init, C, N, val_n;
    long eval_top, eval_epochs, eval_train_n, resume;
    double time, train_time;
    bool force, quiet;
    char owned_scorer[32], owned_scorers[256]; /* restored on --resume */
    /* which were given (they may not change on --resume) */
    bool given_space, given_data, given_strategy, given_scorer, given_scorers, given_ghn,
        given_seed, given_shape, given_val_n, given_budget, given_eval_top, given_eval_epochs,
        given_eval_train_n;
} opts;

static int parse(int argc, char **argv, opts *o, bool *help) {
    memset(o, 0, sizeof *o);
    o->space = "nb201";
    o->data = "fashion-mnist";
    o->db = "ghnas.db";
    o->strategy = "evolution";
    o->scorer = "ghn";
    o->name = "";
    o->budget = DEF_BUDGET;
    o->train_time = DEF_TRAIN_TIME;
    o->seed = 1;
    o->round = 8;
    o->population = 20;
    o->sample = 5;
    o->ls_init = 10;
    o->val_n = DEF_VAL_N;
    o->eval_top = DEF_EVAL_TOP;
    o->eval_epochs = DEF_EVAL_EPOCH;
    o->eval_train_n = DEF_EVAL_TRAIN;
    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = true;
            return NAS_EXIT_OK;
        }
        if (strcmp(a, "--force") == 0) {
            o->force = true;
            continue;
        }
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        static const char *const valued[] = {"--space",        "--data",       "--db",
                                             "--strategy",     "--budget",     "--time",
                                             "--scorer",       "--ghn",        "--train-time",
                                             "--train-steps",  "--threads",    "--seed",
                                             "--round",        "--population", "--sample",
                                             "--ls-init",      "--C",          "--N",
                                             "--val-n",        "--eval-top",   "--eval-epochs",
                                             "--eval-train-n", "--name",       "--resume",
                                             "--data-dir",     "--scorers"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
            known = known || strcmp(a, valued[k]) == 0;
        }
        if (!known) {
            return nas_cli_usage_error(
                "search", a[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", a);
        }
        if (i + 1 >= argc) {
            return nas_cli_usage_error("search", "%s needs a value", a);
        }
        const char *v = argv[++i];
        nas_status st = NAS_OK;
        if (strcmp(a, "--space") == 0) {
            o->space = v;
            o->given_space = true;
        } else if (strcmp(a, "--data") == 0) {
            if (strcmp(v, "fashion-mnist") != 0 && strcmp(v, "mnist") != 0) {
                return nas_cli_usage_error(
                    "search", "--data: unknown dataset '%s' (fashion-mnist, mnist)", v);
            }
            o->data = v;
            o->given_data = true;
        } else if (strcmp(a, "--db") == 0) {
            o->db = v;
        } else if (strcmp(a, "--strategy") == 0) {
            nas_strategy s;
            st = nas_strategy_from_name(v, &s);
            o->strategy = v;
            o->given_strategy = true;
        } else if (strcmp(a, "--budget") == 0) {
            st = nas_cli_parse_long(a, v, 0, 100000000L, &o->budget);
            o->given_budget = true;
        } else if (strcmp(a, "--time") == 0) {
            st = nas_cli_parse_duration(a, v, &o->time);
        } else if (strcmp(a, "--scorer") == 0) {
            const nas_score_entry *e = NULL;
            if (nas_score_find(v, &e) != NAS_OK) {
                return nas_cli_usage_error("search", "--scorer: %s", nas_errmsg());
            }
            o->scorer = v;
            o->given_scorer = true;
        } else if (strcmp(a, "--scorers") == 0) {
            char buf[256];
            const char *names[NAS_SEARCH_EXTRA_MAX + 1];
            int n = 0;
            st = nas_cli_scorer_list(a, v, buf, sizeof buf, names, NAS_SEARCH_EXTRA_MAX + 1, &n);
            o->scorers = v;
            o->given_scorers = true;
        } else if (strcmp(a, "--ghn") == 0) {
            o->ghn = v;
            o->given_ghn = true;
        } else if (strcmp(a, "--train-time") == 0) {
            st = nas_cli_parse_duration(a, v, &o->train_time);
        } else if (strcmp(a, "--train-steps") == 0) {
            st = nas_cli_parse_long(a, v, 1, 100000000L, &o->train_steps);
        } else if (strcmp(a, "--threads") == 0) {
            st = nas_cli_parse_long(a, v, 1, 1024, &o->threads);
        } else if (strcmp(a, "--seed") == 0) {
            st = nas_cli_parse_long(a, v, 0, 0x7fffffffL, &o->seed);
            o->given_seed = true;
        } else if (strcmp(a, "--round") == 0) {
            st = nas_cli_parse_long(a, v, 1, 256, &o->round);
            o->given_seed = true;
        } else if (strcmp(a, "--population") == 0) {
            st = nas_cli_parse_long(a, v, 1, 100000, &o->population);
            o->given_seed = true;
        } else if (strcmp(a, "--sample") == 0) {
            st = nas_cli_parse_long(a, v, 1, 100000, &o->sample);
            o->given_seed = true;
        } else if (strcmp(a, "--ls-init") == 0) {
            st = nas_cli_parse_long(a, v, 1, 100000, &o->ls_init);
            o->given_seed = true;
        } else if (strcmp(a, "--C") == 0) {
            st = nas_cli_parse_long(a, v, 1, 4096, &o->C);
            o->given_shape = true;
        } else if (strcmp(a, "--N") == 0) {
            st = nas_cli_parse_long(a, v, 1, 64, &o->N);
            o->given_shape = true;
        } else if (strcmp(a, "--val-n") == 0) {
            st = nas_cli_parse_long(a, v, 1, 10000000L, &o->val_n);
            o->given_val_n = true;
        } else if (strcmp(a, "--eval-top") == 0) {
            st = nas_cli_parse_long(a, v, 0, 1000, &o->eval_top);
            o->given_eval_top = true;
        } else if (strcmp(a, "--eval-epochs") == 0) {
            st = nas_cli_parse_long(a, v, 1, 10000, &o->eval_epochs);
            o->given_eval_epochs = true;
        } else if (strcmp(a, "--eval-train-n") == 0) {
            st = nas_cli_parse_long(a, v, 0, 100000000L, &o->eval_train_n);
            o->given_eval_train_n = true;
        } else if (strcmp(a, "--name") == 0) {
            o->name = v;
        } else if (strcmp(a, "--resume") == 0) {
            st = nas_cli_parse_long(a, v, 1, 0x7fffffffL, &o->resume);
        } else {
            o->data_dir = v;
        }
        if (st != NAS_OK) {
            return nas_cli_usage_error("search", "%s", nas_errmsg());
        }
    }
    if (o->sample > o->population) {
        return nas_cli_usage_error("search", "--sample %ld is larger than --population %ld",
                                   o->sample, o->population);
    }
    if (o->resume > 0) {
        const char *fixed = o->given_space      ? "--space"
                            : o->given_data     ? "--data"
                            : o->given_strategy ? "--strategy"
                            : o->given_scorer   ? "--scorer"
                            : o->given_scorers  ? "--scorers"
                            : o->given_ghn      ? "--ghn"
                            : o->given_seed     ? "--seed/--round/--population/--sample/--ls-init"
                            : o->given_shape    ? "--C/--N"
                            : o->given_val_n    ? "--val-n"
                                                : NULL;
        if (fixed) {
            return nas_cli_usage_error(
                "search", "%s cannot change when resuming: the run keeps its own", fixed);
        }
    }
    return -1; /* parsed; go on */
}

/* The CLI part of a run's configuration, recorded as config_json.cli. */
static void extra_json(const opts *o, const nas_ghn_data_info *info, char *buf, size_t cap) {
    char space[1024];
    size_t n = 0;
    for (const char *p = o->space; *p && n + 3 < sizeof space; p++) {
        if (*p == '"' || *p == '\\') {
            space[n++] = '\\';
        }
        space[n++] = (char)((unsigned char)*p < 0x20 ? ' ' : *p);
    }
    space[n] = '\0';
    snprintf(buf, cap,
             "{\"space\": \"%s\", \"data\": \"%s\", \"scorer\": \"%s\", \"val_n\": %ld, "
             "\"n_val\": %lld, \"split_seed\": %llu, \"eval_batch\": %d, \"eval_top\": %ld, "
             "\"eval_epochs\": %ld, \"eval_train_n\": %ld, \"scorers\": \"%s\"}",
             space, o->data, o->scorer, o->val_n, (long long)(info ? info->n_val : 10000),
             (unsigned long long)(info ? info->split_seed : 1),
             info && info->eval_batch > 0 ? info->eval_batch : 128, o->eval_top, o->eval_epochs,
             o->eval_train_n, o->scorers ? o->scorers : "");
}

/* On --resume: the options recorded with the run. */
static nas_status resume_options(nas_store *db, opts *o, int64_t *ghn_id, char *space_buf,
                                 size_t cap) {
    nas_run_info ri;
    NAS_CHECK(nas_store_run_get(db, o->resume, &ri));
    nas_status st = NAS_OK;
    json_error_t je;
    json_t *root = json_loads(ri.config_json ? ri.config_json : "", 0, &je);
    json_t *cli = json_object_get(root, "cli");
    if (strcmp(ri.kind, "search") != 0) {
        st = nas_error(NAS_EINVAL, "run %ld is not a search run (its kind is %s)", o->resume,
                       ri.kind);
    } else if (!json_is_object(cli)) {
        st = nas_error(NAS_EFORMAT, "run %ld was not started by ghnas search (no cli options)",
                       o->resume);
    } else {
        json_t *sp = json_object_get(cli, "space");
        json_t *sc = json_object_get(cli, "scorer");
        json_t *vn = json_object_get(cli, "val_n");
        snprintf(space_buf, cap, "%s", json_is_string(sp) ? json_string_value(sp) : ri.space);
        o->space = space_buf;
        /* the strings live in the run's JSON: copied into o->owned */
        const char *scv = json_is_string(sc) ? json_string_value(sc) : "ghn";
        const nas_score_entry *e = NULL;
        if (nas_score_find(scv, &e) != NAS_OK) {
            nas_error_clear();
            scv = "ghn";
        }
        snprintf(o->owned_scorer, sizeof o->owned_scorer, "%s", scv);
        o->scorer = o->owned_scorer;
        json_t *xs = json_object_get(cli, "scorers");
        if (json_is_string(xs) && json_string_value(xs)[0]) {
            snprintf(o->owned_scorers, sizeof o->owned_scorers, "%s", json_string_value(xs));
            o->scorers = o->owned_scorers;
        }
        if (json_is_integer(vn)) {
            o->val_n = (long)json_integer_value(vn);
        }
        /* the closing evaluation keeps the run's choice unless given again */
        struct {
            const char *key;
            bool given;
            long *dst;
        } ev[] = {{"eval_top", o->given_eval_top, &o->eval_top},
                  {"eval_epochs", o->given_eval_epochs, &o->eval_epochs},
                  {"eval_train_n", o->given_eval_train_n, &o->eval_train_n}};
        for (size_t k = 0; k < sizeof ev / sizeof ev[0]; k++) {
            json_t *x = json_object_get(cli, ev[k].key);
            if (!ev[k].given && json_is_integer(x)) {
                *ev[k].dst = (long)json_integer_value(x);
            }
        }
        o->data = strcmp(ri.dataset, "mnist") == 0 ? "mnist" : "fashion-mnist";
        *ghn_id = ri.ghn_id;
        if (!o->given_budget) {
            json_t *b = json_object_get(root, "budget");
            if (json_is_integer(b)) {
                o->budget = (long)json_integer_value(b);
            }
        }
    }
    json_decref(root);
    nas_run_info_free(&ri);
    return st;
}

/* ---- the command ----------------------------------------------------------------------------- */

/* Proxies see one batch of this many training images (zero-cost-nas' default). */
#define PROXY_BATCH 64

/* Scorer `name` of the registry: g, info, ds and split as loaded for what it needs. */
static nas_status make_scorer(const char *name, nas_scorer *out, const nas_ghn *g,
                              const nas_ghn_data_info *info, const nas_dataset *ds,
                              const nas_data_split *split, long val_n) {
    const nas_score_entry *e = NULL;
    NAS_CHECK(nas_score_find(name, &e));
    if (e->needs == NAS_SCORE_NEEDS_NONE) {
        return nas_score_make(out, name, NULL);
    }
    char ghn_id[160], data_id[160];
    snprintf(ghn_id, sizeof ghn_id, "%s validation split %lld/seed %llu, first images",
             info->dataset, (long long)info->n_val, (unsigned long long)info->split_seed);
    snprintf(data_id, sizeof data_id, "%s training split (validation %lld/seed %llu)",
             info->dataset, (long long)info->n_val, (unsigned long long)info->split_seed);
    nas_score_inputs in = {.ghn = {.ghn = g,
                                   .ds = ds,
                                   .idx = split->val,
                                   .n = val_n < split->n_val ? val_n : split->n_val,
                                   .norm = info->norm,
                                   .batch = info->eval_batch > 0 ? info->eval_batch : 128,
                                   .data_id = ghn_id},
                           .data = {.ds = ds,
                                    .idx = split->train,
                                    .n = split->n_train,
                                    .norm = info->norm,
                                    .batch = PROXY_BATCH,
                                    .seed = 1,
                                    .data_id = data_id}};
    return nas_score_make(out, name, &in);
}

static void print_leaderboard(nas_store *db, int64_t run_id, const char *db_path) {
    nas_store_table t;
    memset(&t, 0, sizeof t);
    if (nas_store_query_top(db, run_id, NULL, 10, &t) == NAS_OK && t.n_rows > 0) {
        printf("\nleaderboard of run %lld (top %lld by search score):\n", (long long)run_id,
               (long long)t.n_rows);
        nas_cli_print_table(stdout, &t, NAS_CLI_FORMAT_TABLE);
    }
    nas_store_table_free(&t);
    char abs[PATH_MAX];
    const char *shown = realpath(db_path, abs) ? abs : db_path;
    printf("\ndatabase: %s\n  ghnas query %s top --run %lld     ghnas query %s runs\n", shown,
           db_path, (long long)run_id, db_path);
    fflush(stdout);
}

int nas_cli_search(int argc, char **argv) {
    opts o;
    bool help = false;
    int rc = parse(argc, argv, &o, &help);
    if (help) {
        usage(stdout);
        return NAS_EXIT_OK;
    }
    if (rc >= 0) {
        return rc;
    }
    if (o.quiet) {
        nas_progress_set_enabled(false);
    }
    if (o.threads > 0) {
        nas_set_threads((int)o.threads);
    }
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
    nas_status st = NAS_OK;
    nas_store *db = NULL;
    nas_space sp;
    nas_ghn g;
    nas_ghn_data_info info;
    nas_dataset ds;
    nas_data_split split;
    nas_scorer sc, xsc[NAS_SEARCH_EXTRA_MAX];
    int n_xsc = 0;
    char list_buf[256];
    memset(xsc, 0, sizeof xsc);
    memset(&sp, 0, sizeof sp);
    memset(&g, 0, sizeof g);
    memset(&info, 0, sizeof info);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    memset(&sc, 0, sizeof sc);
    nas_search_result res;
    memset(&res, 0, sizeof res);
    int64_t ghn_id = 0;
    void *ghn_bytes = NULL; /* a --ghn checkpoint file */
    size_t n_ghn_bytes = 0;
    char space_buf[1024];
    bool interrupted = false, have_info = false;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
    sigemptyset(&sa.sa_mask);
    stop_flag = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    NAS_TRY(nas_store_open(&db, o.db, NAS_STORE_CREATE));
    if (o.resume > 0) {
        NAS_TRY(resume_options(db, &o, &ghn_id, space_buf, sizeof space_buf));
    }
    NAS_TRY(nas_space_load(&sp, o.space));

    /* the scorers: the primary one (--scorer) first, then --scorers without it */
    const char *names[1 + NAS_SEARCH_EXTRA_MAX];
    int n_names = 1;
    names[0] = o.scorer;
    if (o.scorers) {
        const char *xs[1 + NAS_SEARCH_EXTRA_MAX];
        int nx = 0;
        NAS_TRY(nas_cli_scorer_list("--scorers", o.scorers, list_buf, sizeof list_buf, xs,
                                    1 + NAS_SEARCH_EXTRA_MAX, &nx));
        for (int k = 0; k < nx; k++) {
            if (strcmp(xs[k], o.scorer) == 0) {
                continue;
            }
            if (n_names > NAS_SEARCH_EXTRA_MAX) {
                st = nas_error(NAS_EINVAL, "--scorers: at most %d besides --scorer",
                               NAS_SEARCH_EXTRA_MAX);
                goto cleanup;
            }
            names[n_names++] = xs[k];
        }
    }
    bool need_ghn = false, need_data = false;
    for (int k = 0; k < n_names; k++) {
        const nas_score_entry *e = NULL;
        NAS_TRY(nas_score_find(names[k], &e));
        need_ghn = need_ghn || (e->needs & NAS_SCORE_NEEDS_GHN);
        need_data = need_data || e->needs != NAS_SCORE_NEEDS_NONE;
    }
    if (need_ghn) { /* the GHN and its data split */
        if (o.resume > 0) {
            if (ghn_id <= 0) {
                st = nas_error(NAS_EFORMAT, "run %ld records no GHN", o.resume);
                goto cleanup;
            }
            NAS_TRY(nas_cli_ghn_from_store(db, ghn_id, &g, &info));
        } else if (o.ghn) {
            char *end = NULL;
            long id = strtol(o.ghn, &end, 10);
            if (end != o.ghn && *end == '\0' && access(o.ghn, F_OK) != 0) {
                if (id < 1) {
                    st = nas_error(NAS_EINVAL, "--ghn: '%s' is not a GHN id (>= 1)", o.ghn);
                    goto cleanup;
                }
                ghn_id = id;
                NAS_TRY(nas_cli_ghn_from_store(db, ghn_id, &g, &info));
            } else {
                NAS_TRY(nas_file_read_all(o.ghn, &ghn_bytes, &n_ghn_bytes));
                NAS_TRY(nas_ghn_load_mem(&g, NULL, &info, ghn_bytes, n_ghn_bytes, o.ghn, NULL));
                if (info.dataset[0] == '\0') {
                    st = nas_error(NAS_EFORMAT,
                                   "%s: the checkpoint records no dataset (weights only?)", o.ghn);
                    goto cleanup;
                }
                NAS_TRY(import_ghn(db, ghn_bytes, n_ghn_bytes, &info, &ghn_id));
            }
        } else {
            st = nas_store_ghn_find(db, sp.name, o.data, &ghn_id);
            if (st == NAS_OK) {
                NAS_TRY(nas_cli_ghn_from_store(db, ghn_id, &g, &info));
                fprintf(stderr, "ghnas: using GHN %lld of the store\n", (long long)ghn_id);
            } else if (st == NAS_ENOTFOUND) {
                nas_error_clear();
                NAS_TRY(train_ghn(db, &sp, o.data, o.data_dir, o.train_time, o.train_steps,
                                  (int)o.threads, &g, &info, &ghn_id));
            } else {
                goto cleanup;
            }
        }
        if (strcmp(info.space, sp.name) != 0) {
            st = nas_error(NAS_EINVAL, "the GHN %s%lld was trained on space %s, not %s",
                           ghn_id > 0 ? "" : "in ", (long long)ghn_id, info.space, sp.name);
            goto cleanup;
        }
        if (strcmp(info.dataset, o.data) != 0) {
            st = nas_error(NAS_EINVAL, "the GHN %lld was trained on %s, not %s", (long long)ghn_id,
                           info.dataset, o.data);
            goto cleanup;
        }
        have_info = true;
        NAS_TRY(nas_cli_ghn_data(info.dataset, o.data_dir, &info, false, &ds, &split));
    } else if (need_data) { /* proxies: the training split, normalised on itself */
        info.n_val = 10000;
        info.split_seed = 1;
        NAS_TRY(nas_cli_ghn_data(o.data, o.data_dir, &info, true, &ds, &split));
        have_info = true;
    } else if (o.eval_top > 0 && o.resume == 0) {
        /* fail early on a missing dataset, before searching */
        NAS_TRY(strcmp(o.data, "mnist") == 0
                    ? nas_data_load_mnist(&ds, o.data_dir, "test")
                    : nas_data_load_fashion_mnist(&ds, o.data_dir, "test"));
        nas_data_free(&ds);
    }
    for (int k = 0; k < n_names; k++) {
        NAS_TRY(make_scorer(names[k], k == 0 ? &sc : &xsc[k - 1], need_ghn ? &g : NULL, &info, &ds,
                            &split, o.val_n));
    }
    n_xsc = n_names - 1;
    if (stop_flag) {
        st = nas_error(NAS_EINTERRUPTED, "search: interrupted before it started");
        goto cleanup;
    }

    /* search */
    nas_search_config cfg = nas_search_config_default();
    NAS_TRY(nas_strategy_from_name(o.strategy, &cfg.strategy));
    cfg.budget = o.budget;
    cfg.time_limit = o.time;
    cfg.seed = (uint64_t)o.seed;
    cfg.threads = (int)o.threads;
    cfg.round = (int)o.round;
    cfg.population = (int)o.population;
    cfg.sample = (int)o.sample;
    cfg.ls_init = (int)o.ls_init;
    cfg.net.C = (int)o.C;
    cfg.net.N = (int)o.N;
    if (have_info) {
        cfg.net.in_c = info.in_c;
        cfg.net.in_h = info.in_h;
        cfg.net.in_w = info.in_w;
        cfg.net.classes = need_ghn ? g.cfg.classes : ds.n_classes;
    }
    cfg.name = o.name;
    cfg.dataset = o.data;
    cfg.force = o.force;
    cfg.quiet = o.quiet;
    cfg.stop = &stop_flag;
    char extra[2048];
    extra_json(&o, have_info ? &info : NULL, extra, sizeof extra);
    cfg.extra_json = extra;
    for (int k = 0; k < n_xsc; k++) {
        cfg.extra[k] = &xsc[k];
    }
    cfg.n_extra = n_xsc;
    if (o.resume > 0) {
        fprintf(stderr, "ghnas: resuming run %ld (%s, budget %ld)\n", o.resume, sp.name, o.budget);
        st = nas_search_resume(db, o.resume, &sp, &sc, &cfg, &res);
    } else {
        char also[160] = "";
        for (int k = 0; k < n_xsc; k++) {
            size_t l = strlen(also);
            snprintf(also + l, sizeof also - l, "%s%s", k ? ", " : " (also recording ",
                     xsc[k].name);
        }
        if (n_xsc > 0) {
            size_t l = strlen(also);
            snprintf(also + l, sizeof also - l, ")");
        }
        fprintf(stderr, "ghnas: searching %s with %s, scorer %s%s, budget %ld%s\n", sp.name,
                o.strategy, sc.name, also, o.budget, o.budget == 0 ? " (no limit)" : "");
        st = nas_search_run(db, &sp, &sc, ghn_id, &cfg, &res);
    }
    if (res.run_id > 0) {
        double share = res.seconds > 0 ? 100.0 * res.store_seconds / res.seconds : 0.0;
        printf("run %lld %s: %lld architectures (%lld scored, %lld reused, %lld failed, %lld "
               "duplicate proposals skipped) in %.1f s, %.1f scored/s, %.1f%% of the time in "
               "the store%s%s\n",
               (long long)res.run_id, nas_run_status_name(res.status), (long long)res.n_results,
               (long long)res.n_scored, (long long)res.n_reused, (long long)res.n_failed,
               (long long)res.n_duplicates, res.seconds,
               res.seconds > 0 ? (double)res.n_scored / res.seconds : 0.0, share,
               res.exhausted ? "; the space is exhausted" : "", res.time_up ? "; time is up" : "");
        if (!isnan(res.best)) {
            printf("best %s %.6g: %s\n", sc.name, res.best, res.best_arch);
        }
        fflush(stdout);
    }
    NAS_TRY(st);
    interrupted = res.status == NAS_RUN_INTERRUPTED;

    /* a brief evaluation of the best few */
    if (!interrupted && o.eval_top > 0) {
        nas_eval_config ec = nas_eval_config_default();
        ec.search_run = res.run_id;
        ec.top_k = (int)o.eval_top;
        ec.recipe.epochs = (int)o.eval_epochs;
        ec.train_n = o.eval_train_n;
        ec.val_n = 2000;
        ec.threads = (int)o.threads;
        ec.quiet = o.quiet;
        ec.stop = &stop_flag;
        fprintf(stderr, "ghnas: training the top %ld for %ld epoch%s on %ld images\n", o.eval_top,
                o.eval_epochs, o.eval_epochs == 1 ? "" : "s", o.eval_train_n);
        NAS_TRY(nas_cli_evaluate_run(db, &ec, o.data_dir, &interrupted));
    }
    print_leaderboard(db, res.run_id, o.db);
    if (interrupted) {
        fprintf(stderr, "ghnas: interrupted; continue with: ghnas search --db %s --resume %lld\n",
                o.db, (long long)res.run_id);
    }
cleanup:
    if (st != NAS_OK && res.run_id > 0 && res.status == NAS_RUN_INTERRUPTED) {
        fprintf(stderr,
                "ghnas: run %lld is marked interrupted; once the cause is fixed, continue "
                "with: ghnas search --db %s --resume %lld\n",
                (long long)res.run_id, o.db, (long long)res.run_id);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    nas_scorer_free(&sc);
    for (int k = 0; k < NAS_SEARCH_EXTRA_MAX; k++) {
        nas_scorer_free(&xsc[k]);
    }
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_free(&g);
    nas_free(ghn_bytes);
    nas_store_close(db);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    return interrupted ? NAS_EXIT_INTERRUPTED : NAS_EXIT_OK;
}
