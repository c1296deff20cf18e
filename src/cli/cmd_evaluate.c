/*
 * `ghnas evaluate DB --run ID (--top K | --sample K) [--epochs E] [--init scratch|ghn]`: train the
 * chosen architectures of a search run on the training split with a recorded recipe, store their
 * accuracies and learning curves, resume an interrupted evaluation where it stopped, and print
 * the Kendall tau and Spearman rho between search score and trained validation accuracy.
 */
#include "cmd_evaluate.h"

#include "cli.h"
#include "cmd_search.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: ghnas evaluate DB --run ID (--top K [--best-of EVAL_RUN] | --sample K)\n"
        "                      [--epochs E] [--C C] [--N N] [--init scratch|ghn]\n"
        "                      [--train-n N] [--val-n N] [--val-offset N] [--lr LR] [--wd WD]\n"
        "                      [--archs FILE]\n"
        "                      [--label-smoothing E] [--bn-calib K] [--batch B] [--seed S]\n"
        "                      [--threads N] [--data-dir DIR] [--quiet]\n"
        "\n"
        "Train architectures of search run ID from the results store DB and measure their\n"
        "train, validation and test accuracy. Recipe: SGD with Nesterov momentum 0.9, weight\n"
        "decay 5e-4, learning rate --lr with a cosine schedule to 0 over all epochs, batch\n"
        "--batch, random crops (padding 2) and horizontal flips, gradient clipping at 5; it is\n"
        "recorded in the store with every epoch of the learning curve. Validation images are\n"
        "the search's validation split; the test split is used only here. Trainings run in\n"
        "parallel (one per thread). Run the same command again to resume an interrupted\n"
        "evaluation at its last finished epoch; finished trainings are skipped.\n"
        "Prints Kendall tau and Spearman rho between search score and validation accuracy,\n"
        "then a table for every scorer the search run recorded (e.g. with --scorers): tau\n"
        "and rho with 95%% bootstrap intervals, on all trained architectures and on the\n"
        "better half by validation accuracy.\n"
        "\n"
        "options:\n"
        "  --run ID          the search run (see ghnas query DB runs)\n"
        "  --top K           its K best architectures by its search score\n"
        "  --best-of RUN     with --top K: the K best by validation accuracy in the earlier\n"
        "                    evaluate run RUN of the same search run (screen many briefly,\n"
        "                    then train the winners longer)\n"
        "  --sample K        K of its architectures at random (seeded by --seed)\n"
        "  --archs FILE      choose only among these architectures of the run (arch texts, one\n"
        "                    per line, '#' comments): train a chosen set, skip known ones\n"
        "  --epochs E        training epochs (default 1)\n"
        "  --C C, --N N      base width and cells per stage of the trained nets (default: the\n"
        "                    search run's skeleton); a scaled-up final training\n"
        "  --init I          scratch (default: kaiming initialisation) or ghn (start from the\n"
        "                    weights the run's GHN predicts)\n"
        "  --train-n N       training images, the first N of the training split (default 0 =\n"
        "                    all of it)\n"
        "  --val-n N         validation images for val_acc (default 0 = the whole split)\n"
        "  --val-offset N    skip the first N validation images (e.g. those the search scored\n"
        "                    on, so the ground truth is measured on other images; default 0)\n"
        "  --lr LR           peak learning rate (default 0.05)\n"
        "  --wd WD           weight decay (default 5e-4)\n"
        "  --label-smoothing E  cross-entropy label smoothing (default 0)\n"
        "  --bn-calib K      before every validation and the test, re-estimate BatchNorm's\n"
        "                    running statistics from K training batches (default 0: the\n"
        "                    running averages of training); for short trainings, e.g. from\n"
        "                    --init ghn weights\n"
        "  --batch B         batch size (default 64)\n"
        "  --seed S          weight initialisation, data order, --sample (default 1); each\n"
        "                    training is seeded from S and its arch text\n"
        "  --threads N       trainings at once (default: all cores)\n"
        "  --data-dir DIR    dataset directory (default: $GHNAS_FASHION_MNIST_DIR or\n"
        "                    " NAS_FASHION_MNIST_DIR ")\n"
        "  --quiet           no progress output\n"
        "  -h, --help        this help\n");
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void fmt_acc(char *buf, size_t cap, double v) {
    if (isnan(v)) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, "%.4f", v);
    }
}

static nas_status load_split(const char *dataset, const char *dir, const char *split,
                             nas_dataset *out) {
    if (strcmp(dataset, "fashion-mnist") == 0) {
        return nas_data_load_fashion_mnist(out, dir, split);
    }
    if (strcmp(dataset, "mnist") == 0) {
        return nas_data_load_mnist(out, dir, split);
    }
    return nas_error(NAS_EUNSUPPORTED,
                     "the run's dataset is '%s'; evaluate can load fashion-mnist and mnist",
                     dataset);
}

static void print_correlations(nas_store *db, int64_t search_run, const nas_eval_result *er);

nas_status nas_cli_evaluate_run(nas_store *db, nas_eval_config *ec, const char *data_dir,
                                bool *interrupted) {
    *interrupted = false;
    nas_status st = NAS_OK;
    nas_run_info ri;
    memset(&ri, 0, sizeof ri);
    nas_dataset train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    nas_ghn g;
    memset(&g, 0, sizeof g);
    nas_eval_result er;
    memset(&er, 0, sizeof er);
    NAS_TRY(nas_store_run_get(db, ec->search_run, &ri));
    if (strcmp(ri.kind, "search") != 0) {
        st = nas_error(NAS_EINVAL, "run %lld is not a search run (its kind is %s)",
                       (long long)ri.id, ri.kind);
        goto cleanup;
    }
    if (strcmp(ec->init, "ghn") == 0) {
        if (ri.ghn_id <= 0) {
            st = nas_error(NAS_EINVAL, "run %lld used no GHN, so --init ghn has none to use",
                           (long long)ri.id);
            goto cleanup;
        }
        NAS_TRY(nas_cli_ghn_from_store(db, ri.ghn_id, &g, NULL));
        ec->ghn = &g;
    }
    NAS_TRY(load_split(ri.dataset, data_dir, "train", &train));
    NAS_TRY(load_split(ri.dataset, data_dir, "test", &test));
    ec->train = &train;
    ec->test = &test;
    st = nas_eval_run(db, ec, &er);
    if (er.run_id > 0 && er.n > 0) {
        printf("\nevaluate run %lld%s: search run %lld, %d architectures, %d epoch%s, init %s\n",
               (long long)er.run_id, er.resumed ? " (resumed)" : "", (long long)ec->search_run,
               er.n, ec->recipe.epochs, ec->recipe.epochs == 1 ? "" : "s", ec->init);
        printf("%4s  %7s  %10s  %8s  %6s  %9s  %7s  %8s  %-11s  %7s  %s\n", "rank", "arch_id",
               er.scorer, "params", "epochs", "train_acc", "val_acc", "test_acc", "status",
               "seconds", "arch");
        for (int i = 0; i < er.n; i++) {
            const nas_eval_item *it = &er.items[i];
            char sc[32], tr[16], va[16], te[16], status[32];
            snprintf(sc, sizeof sc, "%.6g", it->score);
            fmt_acc(tr, sizeof tr, it->train_acc);
            fmt_acc(va, sizeof va, it->val_acc);
            fmt_acc(te, sizeof te, it->test_acc);
            snprintf(status, sizeof status, "%s%s", nas_run_status_name(it->status),
                     it->was_done ? "*" : "");
            printf("%4d  %7lld  %10s  %8lld  %3d/%-2d  %9s  %7s  %8s  %-11s  %7.1f  %s\n", i + 1,
                   (long long)it->arch_id, sc, (long long)it->n_params, it->epochs_done,
                   ec->recipe.epochs, tr, va, te, status, it->seconds, it->arch);
            if (it->error[0]) {
                printf("      error: %s\n", it->error);
            }
        }
        bool any_done = false;
        for (int i = 0; i < er.n; i++) {
            any_done = any_done || er.items[i].was_done;
        }
        if (any_done) {
            printf("(* finished before this call, skipped)\n");
        }
        if (er.n_corr >= 2) {
            printf("%s vs trained val_acc over %d architectures: Kendall tau %.3f, Spearman rho "
                   "%.3f\n",
                   er.scorer, er.n_corr, er.kendall_tau, er.spearman_rho);
            print_correlations(db, ec->search_run, &er);
        } else {
            printf("%s vs trained val_acc: too few finished trainings (%d) for a rank "
                   "correlation\n",
                   er.scorer, er.n_corr);
        }
        fflush(stdout);
    }
    *interrupted = er.status == NAS_RUN_INTERRUPTED && ec->stop && *ec->stop;
cleanup:
    nas_eval_result_free(&er);
    nas_ghn_free(&g);
    nas_data_free(&train);
    nas_data_free(&test);
    nas_run_info_free(&ri);
    ec->train = ec->test = NULL;
    ec->ghn = NULL;
    return st;
}

static void fmt_ci(char *buf, size_t cap, const nas_eval_ci *c) {
    if (isnan(c->value)) {
        snprintf(buf, cap, "%s", "-");
    } else if (isnan(c->lo)) {
        snprintf(buf, cap, "%6.3f", c->value);
    } else {
        snprintf(buf, cap, "%6.3f [%6.3f, %6.3f]", c->value, c->lo, c->hi);
    }
}

/* Every scorer of the search run against the trained validation accuracy. */
static void print_correlations(nas_store *db, int64_t search_run, const nas_eval_result *er) {
    nas_eval_corr *rows = NULL;
    int n = 0;
    if (nas_eval_correlations(db, search_run, er->items, er->n, 1000, 1, &rows, &n) != NAS_OK) {
        fprintf(stderr, "ghnas: warning: no correlation table: %s\n", nas_errmsg());
        return;
    }
    printf("\nscorers of search run %lld vs trained val_acc (raw values; 95%% bootstrap intervals "
           "of 1000 resamples; better half = the best half by val_acc; p@10%% = share of the "
           "scorer's largest 10%% in the best 10%% by val_acc):\n",
           (long long)search_run);
    printf("%-10s %4s  %-26s  %-26s  %4s  %-26s  %-26s  %-26s  %s\n", "scorer", "n", "kendall_tau",
           "spearman_rho", "half", "half kendall_tau", "half spearman_rho", "p@10%", "half p@10%");
    for (int i = 0; i < n; i++) {
        char t[64], r[64], th[64], rh[64], p[64], ph[64];
        fmt_ci(t, sizeof t, &rows[i].tau);
        fmt_ci(r, sizeof r, &rows[i].rho);
        fmt_ci(th, sizeof th, &rows[i].tau_top);
        fmt_ci(rh, sizeof rh, &rows[i].rho_top);
        fmt_ci(p, sizeof p, &rows[i].prec);
        fmt_ci(ph, sizeof ph, &rows[i].prec_top);
        printf("%-10s %4d  %-26s  %-26s  %4d  %-26s  %-26s  %-26s  %s\n", rows[i].scorer, rows[i].n,
               t, r, rows[i].n_top, th, rh, p, ph);
    }
    nas_free(rows);
}

int nas_cli_evaluate(int argc, char **argv) {
    const char *db_path = NULL, *data_dir = NULL, *archs_file = NULL;
    long val_offset = 0;
    long run = 0, top = 0, sample = 0, epochs = 1, train_n = 0, val_n = 0, batch = 64, seed = 1;
    long threads = 0, best_of = 0, net_c = 0, net_n = 0, bn_calib = 0;
    double lr = 0.05, wd = -1.0, smoothing = 0.0;
    bool quiet = false;
    nas_eval_config ec = nas_eval_config_default();
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return NAS_EXIT_OK;
        }
        if (strcmp(o, "--quiet") == 0) {
            quiet = true;
            continue;
        }
        if (o[0] != '-') {
            if (db_path) {
                return nas_cli_usage_error("evaluate", "unexpected argument '%s'", o);
            }
            db_path = o;
            continue;
        }
        static const char *const valued[] = {
            "--run",     "--top",       "--sample", "--epochs", "--init",     "--train-n",
            "--val-n",   "--lr",        "--batch",  "--seed",   "--threads",  "--data-dir",
            "--best-of", "--C",         "--N",      "--wd",     "--bn-calib", "--label-smoothing",
            "--archs",   "--val-offset"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
            known = known || strcmp(o, valued[k]) == 0;
        }
        if (!known) {
            return nas_cli_usage_error("evaluate", "unknown option '%s'", o);
        }
        if (i + 1 >= argc) {
            return nas_cli_usage_error("evaluate", "%s needs a value", o);
        }
        const char *v = argv[++i];
        nas_status st = NAS_OK;
        if (strcmp(o, "--run") == 0) {
            st = nas_cli_parse_long(o, v, 1, 0x7fffffffL, &run);
        } else if (strcmp(o, "--top") == 0) {
            st = nas_cli_parse_long(o, v, 1, 100000, &top);
        } else if (strcmp(o, "--sample") == 0) {
            st = nas_cli_parse_long(o, v, 1, 100000, &sample);
        } else if (strcmp(o, "--epochs") == 0) {
            st = nas_cli_parse_long(o, v, 1, 10000, &epochs);
        } else if (strcmp(o, "--init") == 0) {
            if (strcmp(v, "scratch") != 0 && strcmp(v, "ghn") != 0) {
                return nas_cli_usage_error("evaluate", "--init: '%s' is not scratch or ghn", v);
            }
            ec.init = v;
        } else if (strcmp(o, "--train-n") == 0) {
            st = nas_cli_parse_long(o, v, 0, 100000000L, &train_n);
        } else if (strcmp(o, "--val-n") == 0) {
            st = nas_cli_parse_long(o, v, 0, 100000000L, &val_n);
        } else if (strcmp(o, "--lr") == 0) {
            st = nas_cli_parse_double(o, v, 1e-8, 10.0, &lr);
        } else if (strcmp(o, "--batch") == 0) {
            st = nas_cli_parse_long(o, v, 1, 65536, &batch);
        } else if (strcmp(o, "--seed") == 0) {
            st = nas_cli_parse_long(o, v, 0, 0x7fffffffL, &seed);
        } else if (strcmp(o, "--threads") == 0) {
            st = nas_cli_parse_long(o, v, 1, 1024, &threads);
        } else if (strcmp(o, "--best-of") == 0) {
            st = nas_cli_parse_long(o, v, 1, 0x7fffffffL, &best_of);
        } else if (strcmp(o, "--C") == 0) {
            st = nas_cli_parse_long(o, v, 1, 4096, &net_c);
        } else if (strcmp(o, "--N") == 0) {
            st = nas_cli_parse_long(o, v, 1, 64, &net_n);
        } else if (strcmp(o, "--wd") == 0) {
            st = nas_cli_parse_double(o, v, 0.0, 1.0, &wd);
        } else if (strcmp(o, "--label-smoothing") == 0) {
            st = nas_cli_parse_double(o, v, 0.0, 0.999, &smoothing);
        } else if (strcmp(o, "--bn-calib") == 0) {
            st = nas_cli_parse_long(o, v, 0, 100000, &bn_calib);
        } else if (strcmp(o, "--val-offset") == 0) {
            st = nas_cli_parse_long(o, v, 0, 100000000L, &val_offset);
        } else if (strcmp(o, "--archs") == 0) {
            archs_file = v;
        } else {
            data_dir = v;
        }
        if (st != NAS_OK) {
            return nas_cli_usage_error("evaluate", "%s", nas_errmsg());
        }
    }
    if (!db_path) {
        return nas_cli_usage_error("evaluate", "missing the results store DB");
    }
    if (run == 0) {
        return nas_cli_usage_error("evaluate", "missing --run ID");
    }
    if ((top > 0) == (sample > 0)) {
        return nas_cli_usage_error("evaluate", "give exactly one of --top K and --sample K");
    }
    if (best_of > 0 && top == 0) {
        return nas_cli_usage_error("evaluate", "--best-of RUN picks the --top K of that run");
    }
    if (quiet) {
        nas_progress_set_enabled(false);
    }
    if (threads > 0) {
        nas_set_threads((int)threads);
    }
    ec.search_run = run;
    ec.top_k = (int)top;
    ec.sample_k = (int)sample;
    ec.seed = (uint64_t)seed;
    ec.recipe.epochs = (int)epochs;
    ec.recipe.batch_size = (int)batch;
    ec.recipe.lr = (float)lr;
    if (wd >= 0.0) {
        ec.recipe.optim.weight_decay = (float)wd;
    }
    ec.recipe.label_smoothing = (float)smoothing;
    ec.best_of_run = best_of;
    ec.bn_calib = (int)bn_calib;
    ec.net_C = (int)net_c;
    ec.net_N = (int)net_n;
    ec.recipe.seed = (uint64_t)seed;
    ec.train_n = train_n;
    ec.val_n = val_n;
    ec.val_offset = val_offset;
    ec.threads = (int)threads;
    ec.quiet = quiet;
    ec.stop = &stop_flag;

    char **only = NULL;
    int n_only = 0;
    if (archs_file) {
        nas_status rs = nas_cli_read_lines(archs_file, &only, &n_only);
        if (rs != NAS_OK) {
            return nas_cli_usage_error("evaluate", "--archs: %s", nas_errmsg());
        }
        if (n_only == 0) {
            nas_cli_lines_free(only, n_only);
            return nas_cli_usage_error("evaluate", "--archs: '%s' lists no architecture",
                                       archs_file);
        }
        ec.only = (const char *const *)only;
        ec.n_only = n_only;
    }
    nas_store *db = NULL;
    nas_status st = nas_store_open(&db, db_path, 0);
    if (st != NAS_OK) {
        nas_cli_lines_free(only, n_only);
        return nas_cli_fail(st);
    }
    stop_flag = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool interrupted = false;
    st = nas_cli_evaluate_run(db, &ec, data_dir, &interrupted);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    nas_store_close(db);
    nas_cli_lines_free(only, n_only);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    if (interrupted) {
        fprintf(stderr, "ghnas: interrupted; finished epochs are stored. Run the same command to "
                        "resume.\n");
        return NAS_EXIT_INTERRUPTED;
    }
    return NAS_EXIT_OK;
}
