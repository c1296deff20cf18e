/*
 * `ghnas score [--ghn FILE] [--scorer S | --scorers LIST] [--space NAME] ARCH...`: score given
 * (or random) architectures without training them. With a trained GHN: predict every weight and
 * report the validation accuracy and loss they reach on a fixed subset of the validation split
 * recorded in the checkpoint (same split, same normalisation), BN on the statistics of
 * evaluation batches of a fixed, printed size. Zero-cost proxies (src/proxy) and params/FLOPs
 * are computed for the same architectures in one pass. Architectures are scored in parallel
 * (one per thread).
 */
#include "cmd_score.h"

#include "cli.h"
#include "cmd_train.h"
#include "ghnas/ghn.h"
#include "ghnas/score.h"
#include "ghnas/space.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCORERS 9
#define PROXY_BATCH 64 /* training images the proxies see (zero-cost-nas' default) */

static void usage(FILE *out) {
    fprintf(out,
            "usage: ghnas score [--ghn FILE] [--scorer S | --scorers LIST] [--space NAME]\n"
            "                   [--C C] [--N N] [--val-n N] [--batch B] [--random K]\n"
            "                   [--seed S] [--threads N] [--data NAME] [--data-dir DIR] ARCH...\n"
            "\n"
            "Score each ARCH without training it. ghn: predict all its weights with the trained\n"
            "GHN in FILE and report the validation accuracy and cross-entropy they reach; the\n"
            "images are the first --val-n of the validation split recorded in the checkpoint\n"
            "(same split and normalisation as training) and BatchNorm uses the statistics of\n"
            "each evaluation batch (size --batch, printed). Zero-cost proxies score the network\n"
            "at initialisation (PyTorch's default init, seed 1) on one batch of 64 training\n"
            "images; params and flops need no data.\n"
            "\n"
            "options:\n"
            "  --ghn FILE      checkpoint written by ghnas train (needed by the ghn scorer)\n"
            "  --scorer S      one scorer of the list below (default with --ghn: ghn)\n"
            "  --scorers LIST  several, comma-separated, e.g. ghn,synflow,naswot,params\n"
            "  --space NAME    search space (default: the GHN's, else nb201)\n"
            "  --C C           base width (default: the space's skeleton)\n"
            "  --N N           cells per stage / modules per stack (default: the space's)\n"
            "  --val-n N       ghn: validation images used (default 2000)\n"
            "  --batch B       ghn: evaluation batch size for BN statistics (default: the one\n"
            "                  in the checkpoint, 128)\n"
            "  --random K      also score K random valid architectures of the space\n"
            "  --seed S        seed of --random (default 1)\n"
            "  --threads N     architectures scored in parallel (default: all cores)\n"
            "  --data NAME     without --ghn: fashion-mnist (default) or mnist\n"
            "  --data-dir DIR  dataset directory (default as for ghnas train)\n"
            "  -h, --help      this help\n"
            "\n"
            "output: a header line, then one line per architecture: the value of each scorer\n"
            "(ghn as val_acc and val_loss), params, arch\n"
            "\n"
            "scorers:\n");
    nas_cli_print_scorers(out, "  ");
}

typedef struct score_item {
    nas_arch arch;
    char text[NAS_ARCH_STR_MAX];
    double acc, loss;          /* ghn */
    double value[MAX_SCORERS]; /* the other scorers, in the order given */
    int64_t params;
    nas_status st;
    char msg[384];
} score_item;

int nas_cli_score(int argc, char **argv) {
    const char *ghn_path = NULL, *space_name = NULL, *data_dir = NULL, *list = NULL;
    const char *dataset = "fashion-mnist";
    long C = 0, N = 0, val_n = 2000, batch = 0, n_random = 0, seed = 1, threads = 0;
    int n_args = 0;
    const char **args = nas_calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        return nas_cli_fail(nas_error(NAS_ENOMEM, "score: out of memory"));
    }
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            nas_free(args);
            return NAS_EXIT_OK;
        }
        if (o[0] != '-' || o[1] != '-') {
            args[n_args++] = o;
            continue;
        }
        static const char *const valued[] = {
            "--ghn",  "--space",   "--C",        "--N",      "--val-n",   "--batch", "--random",
            "--seed", "--threads", "--data-dir", "--scorer", "--scorers", "--data"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
            known = known || strcmp(o, valued[k]) == 0;
        }
        if (!known) {
            nas_free(args);
            return nas_cli_usage_error("score", "unknown option '%s'", o);
        }
        if (i + 1 >= argc) {
            nas_free(args);
            return nas_cli_usage_error("score", "%s needs a value", o);
        }
        const char *v = argv[++i];
        nas_status st = NAS_OK;
        if (strcmp(o, "--ghn") == 0) {
            ghn_path = v;
        } else if (strcmp(o, "--space") == 0) {
            space_name = v;
        } else if (strcmp(o, "--data-dir") == 0) {
            data_dir = v;
        } else if (strcmp(o, "--data") == 0) {
            if (strcmp(v, "fashion-mnist") != 0 && strcmp(v, "mnist") != 0) {
                nas_free(args);
                return nas_cli_usage_error(
                    "score", "--data: unknown dataset '%s' (fashion-mnist, mnist)", v);
            }
            dataset = v;
        } else if (strcmp(o, "--scorer") == 0 || strcmp(o, "--scorers") == 0) {
            if (list) {
                nas_free(args);
                return nas_cli_usage_error("score", "give --scorer or --scorers once");
            }
            list = v;
        } else if (strcmp(o, "--C") == 0) {
            st = nas_cli_parse_long(o, v, 1, 4096, &C);
        } else if (strcmp(o, "--N") == 0) {
            st = nas_cli_parse_long(o, v, 1, 64, &N);
        } else if (strcmp(o, "--val-n") == 0) {
            st = nas_cli_parse_long(o, v, 1, 10000000L, &val_n);
        } else if (strcmp(o, "--batch") == 0) {
            st = nas_cli_parse_long(o, v, 1, 65536, &batch);
        } else if (strcmp(o, "--random") == 0) {
            st = nas_cli_parse_long(o, v, 1, 1000000L, &n_random);
        } else if (strcmp(o, "--seed") == 0) {
            st = nas_cli_parse_long(o, v, 0, 0x7fffffffL, &seed);
        } else {
            st = nas_cli_parse_long(o, v, 1, 1024, &threads);
        }
        if (st != NAS_OK) {
            nas_free(args);
            return nas_cli_usage_error("score", "%s", nas_errmsg());
        }
    }
    char list_buf[256];
    const char *names[MAX_SCORERS];
    int n_names = 0;
    if (!list) {
        list = ghn_path ? "ghn" : NULL;
    }
    if (!list) {
        nas_free(args);
        return nas_cli_usage_error(
            "score", "missing --ghn FILE (or --scorer NAME for a scorer without a GHN)");
    }
    if (nas_cli_scorer_list("--scorers", list, list_buf, sizeof list_buf, names, MAX_SCORERS,
                            &n_names) != NAS_OK) {
        nas_free(args);
        return nas_cli_usage_error("score", "%s", nas_errmsg());
    }
    bool want_ghn = false, want_data = false, has_params = false;
    for (int k = 0; k < n_names; k++) {
        const nas_score_entry *e = NULL;
        if (nas_score_find(names[k], &e) != NAS_OK) {
            nas_free(args);
            return nas_cli_usage_error("score", "%s", nas_errmsg());
        }
        has_params = has_params || strcmp(names[k], "params") == 0;
        want_ghn = want_ghn || (e->needs & NAS_SCORE_NEEDS_GHN);
        want_data = want_data || e->needs != NAS_SCORE_NEEDS_NONE;
    }
    if (want_ghn && !ghn_path) {
        nas_free(args);
        return nas_cli_usage_error("score", "the ghn scorer needs --ghn FILE");
    }
    if (n_args == 0 && n_random == 0) {
        nas_free(args);
        return nas_cli_usage_error("score", "give at least one ARCH or --random K");
    }

    nas_status st = NAS_OK;
    nas_ghn g;
    nas_ghn_data_info info;
    nas_dataset ds;
    nas_data_split split;
    nas_space sp;
    nas_scorer sc[MAX_SCORERS];
    memset(&g, 0, sizeof g);
    memset(&info, 0, sizeof info);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    memset(sc, 0, sizeof sc);
    score_item *items = NULL;
    nas_ghn_eval_ws *ws = NULL;
    int n_ws = 0;
    const int n_items = n_args + (int)n_random;
    if (want_ghn) {
        NAS_TRY(nas_ghn_load(&g, NULL, &info, ghn_path));
        if (info.dataset[0] == '\0') {
            st = nas_error(NAS_EFORMAT, "%s: the checkpoint records no dataset (weights only?)",
                           ghn_path);
            goto cleanup;
        }
        if (!space_name) {
            space_name = info.space;
        }
        NAS_TRY(nas_cli_ghn_data(info.dataset, data_dir, &info, false, &ds, &split));
    } else if (want_data) {
        info.n_val = 10000;
        info.split_seed = 1;
        NAS_TRY(nas_cli_ghn_data(dataset, data_dir, &info, true, &ds, &split));
    }
    if (!space_name) {
        space_name = "nb201";
    }
    NAS_TRY(nas_space_load(&sp, space_name));
    const int64_t n_eval = val_n < split.n_val ? val_n : split.n_val;
    const int eval_batch = batch > 0 ? (int)batch : (info.eval_batch > 0 ? info.eval_batch : 128);
    char data_id[160];
    snprintf(data_id, sizeof data_id, "%s training split (validation %lld/seed %llu)", info.dataset,
             (long long)info.n_val, (unsigned long long)info.split_seed);
    nas_score_inputs in = {.data = {.ds = &ds,
                                    .idx = split.train,
                                    .n = split.n_train,
                                    .norm = info.norm,
                                    .batch = PROXY_BATCH,
                                    .seed = 1,
                                    .data_id = data_id}};
    for (int k = 0; k < n_names; k++) {
        if (strcmp(names[k], "ghn") == 0) {
            continue; /* scored below with one evaluation workspace per thread */
        }
        NAS_TRY(nas_score_make(&sc[k], names[k], want_data ? &in : NULL));
    }
    items = nas_calloc((size_t)n_items, sizeof *items);
    if (!items) {
        st = nas_error(NAS_ENOMEM, "score: out of memory");
        goto cleanup;
    }
    for (int k = 0; k < n_args; k++) {
        NAS_TRY(nas_arch_decode(&sp, args[k], &items[k].arch));
    }
    nas_rng rng;
    nas_rng_seed(&rng, (uint64_t)seed);
    for (int k = n_args; k < n_items; k++) {
        do {
            NAS_TRY(nas_arch_sample(&sp, &rng, &items[k].arch));
        } while (!nas_arch_is_valid(&sp, &items[k].arch));
    }
    for (int k = 0; k < n_items; k++) {
        NAS_TRY(nas_arch_encode(&sp, &items[k].arch, items[k].text, sizeof items[k].text));
    }
    if (want_ghn) {
        printf("# ghn %s (%s, %s decoder); %s validation images %lld (split seed %llu), BN "
               "batch statistics, eval batch %d\n",
               ghn_path, sp.name, nas_ghn_decoder_name(g.cfg.decoder), info.dataset,
               (long long)n_eval, (unsigned long long)info.split_seed, eval_batch);
    }
    if (want_data && !(want_ghn && n_names == 1)) {
        printf("# proxies: %s, one batch of %d, PyTorch default init, seed 1\n", data_id,
               PROXY_BATCH);
    }
    printf("#");
    for (int k = 0; k < n_names; k++) {
        printf(strcmp(names[k], "ghn") == 0 ? " val_acc  val_loss " : " %s ", names[k]);
    }
    printf("%s arch\n", has_params ? "" : " params ");
    fflush(stdout);
    const int T = threads > 0 ? (int)threads : nas_get_threads();
    ws = nas_calloc((size_t)T, sizeof *ws); /* one GHN evaluation workspace per thread */
    n_ws = ws ? T : 0;
    if (!ws) {
        st = nas_error(NAS_ENOMEM, "score: out of memory");
        goto cleanup;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(T) schedule(dynamic, 1) if (T > 1)
#endif
    for (int k = 0; k < n_items; k++) {
        score_item *it = &items[k];
        nas_ghn_eval_ws *my_ws = &ws[nas_thread_id()];
        nas_net net;
        nas_net_config nc = nas_net_config_default();
        nc.C = (int)C;
        nc.N = (int)N;
        if (want_data) {
            nc.in_c = ds.c;
            nc.in_h = ds.h;
            nc.in_w = ds.w;
            nc.classes = want_ghn ? g.cfg.classes : ds.n_classes;
        }
        it->st = nas_net_compile(&net, &sp, &it->arch, &nc);
        if (it->st != NAS_OK) {
            snprintf(it->msg, sizeof it->msg, "%s", nas_errmsg());
            continue;
        }
        it->params = net.n_params;
        for (int j = 0; j < n_names && it->st == NAS_OK; j++) {
            if (strcmp(names[j], "ghn") == 0) {
                it->st = nas_ghn_evaluate_ws(&g, my_ws, &net, &ds, split.val, n_eval, &info.norm,
                                             eval_batch, &it->loss, &it->acc);
            } else {
                nas_score_value out;
                out.value = (double)NAN;
                out.aux_json[0] = '\0';
                it->st = sc[j].fn(&sc[j], &net, &out);
                it->value[j] = out.value;
            }
            if (it->st != NAS_OK) {
                snprintf(it->msg, sizeof it->msg, "%s: %s", names[j], nas_errmsg());
            }
        }
        nas_net_free(&net);
    }
    (void)T;
    double sum = 0.0, best = 0.0;
    int ok = 0;
    for (int k = 0; k < n_items; k++) {
        if (items[k].st != NAS_OK) {
            st = nas_error(items[k].st, "score: %s: %s", items[k].text, items[k].msg);
            goto cleanup;
        }
        for (int j = 0; j < n_names; j++) {
            if (strcmp(names[j], "ghn") == 0) {
                printf("%.4f  %.4f  ", items[k].acc, items[k].loss);
                sum += items[k].acc;
                best = fmax(best, items[k].acc);
            } else {
                printf("%.6g  ", items[k].value[j]);
            }
        }
        if (!has_params) {
            printf("%lld  ", (long long)items[k].params);
        }
        printf("%s\n", items[k].text);
        ok++;
    }
    if (ok > 1 && want_ghn) {
        printf("# %d architectures: mean val_acc %.4f, best %.4f\n", ok, sum / ok, best);
    }
cleanup:
    for (int k = 0; k < MAX_SCORERS; k++) {
        nas_scorer_free(&sc[k]);
    }
    for (int k = 0; k < n_ws; k++) {
        nas_ghn_eval_ws_free(&ws[k]);
    }
    nas_free(ws);
    nas_free(items);
    nas_free(args);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_free(&g);
    return st == NAS_OK ? NAS_EXIT_OK : nas_cli_fail(st);
}
