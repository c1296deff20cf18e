/*
 * `ghnas train --space NAME --data fashion-mnist [--steps N | --time 20m] ...`: meta-batch
 * training of the graph hypernetwork with a progress bar, periodic and final checkpoints, resume
 * from a checkpoint, and Ctrl-C that saves before stopping.
 */
#include "cmd_train.h"

#include "cli.h"
#include "ghnas/container.h"
#include "ghnas/ghn.h"
#include "ghnas/space.h"
#include "ghnas/store.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(out,
            "usage: ghnas train --space NAME --data fashion-mnist [--steps N | --time DUR]\n"
            "                   [--meta-batch M] [--batch B] [--widths C1,C2,...] [--N N]\n"
            "                   [--hid H] [--decoder chunk|tile] [--chunk CO,CI,K] [--s-max S]\n"
            "                   [--lr LR] [--wd WD] [--clip C] [--warmup N] [--threads N]\n"
            "                   [--out FILE] [--db FILE] [--resume FILE] [--save-every N]\n"
            "                   [--seed S] [--val N] [--holdout K] [--data-dir DIR] [--quiet]\n"
            "\n"
            "Train the graph hypernetwork (GHN): every step samples M architectures of the space\n"
            "(valid members, a random width C from --widths), predicts all their weights, runs\n"
            "them on one shared image batch and minimises the mean cross-entropy with AdamW,\n"
            "gradient clipping and a warmup + cosine schedule. The meta-batch runs in parallel\n"
            "(one architecture per thread). Steps with NaN/Inf are skipped and counted.\n"
            "\n"
            "options:\n"
            "  --space NAME       search space (built-in name or .json path; default nb201)\n"
            "  --data NAME        fashion-mnist (default) or mnist; the training split minus\n"
            "                     --val validation images is used\n"
            "  --data-dir DIR     dataset directory (default: $GHNAS_FASHION_MNIST_DIR or\n"
            "                     " NAS_FASHION_MNIST_DIR ")\n"
            "  --steps N          optimizer steps (default 6000 unless --time is given)\n"
            "  --time DUR         stop after this long (90s, 20m, 1.5h); the schedule follows\n"
            "  --meta-batch M     architectures per step (default 8)\n"
            "  --batch B          images per step, shared by the M nets (default 64)\n"
            "  --widths LIST      base widths C sampled per architecture (default: the space's)\n"
            "  --N N              cells per stage / modules per stack (default: the space's)\n"
            "  --hid H            GHN node embedding size, a multiple of 4 (default 32)\n"
            "  --decoder D        chunk (tiles decoded with position embeddings, default) or\n"
            "                     tile (GHN-2: one chunk repeated)\n"
            "  --chunk CO,CI,K    decoder chunk shape (default 16,16,3)\n"
            "  --s-max S          virtual edges up to shortest path S (default 50; 0 = none)\n"
            "  --lr LR            peak learning rate (default 1e-3)\n"
            "  --wd WD            AdamW weight decay (default 1e-4)\n"
            "  --clip C           gradient-norm clipping (default 5; 0 = off)\n"
            "  --warmup N         linear warmup steps (default 50)\n"
            "  --threads N        threads over the meta-batch (default: all cores)\n"
            "  --out FILE         checkpoint written every --save-every steps and at the end\n"
            "                     (default ghn.ckpt)\n"
            "  --db FILE          also add the trained GHN to this results store (created when\n"
            "                     missing), where ghnas search --db FILE finds it\n"
            "  --resume FILE      continue the training saved in FILE (--steps/--time set the\n"
            "                     new end; model options must match the checkpoint)\n"
            "  --save-every N     steps between checkpoints (default 200; 0 = only at the end)\n"
            "  --seed S           architectures, widths, batches and GHN init (default 1)\n"
            "  --val N            validation images split off the training set (default 10000)\n"
            "  --holdout K        never train on archs whose text hash is divisible by K, so\n"
            "                     they stay unseen for evaluation (default 0 = off)\n"
            "  --quiet            no progress output\n"
            "  -h, --help         this help\n");
}

/* "8,16,24" -> widths. */
static nas_status parse_widths(const char *s, nas_ghn_train_config *tc) {
    tc->n_widths = 0;
    const char *p = s;
    while (*p) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096 || (*end && *end != ',')) {
            return nas_error(NAS_EINVAL, "--widths: '%s' is not a list of widths like 8,16", s);
        }
        if (tc->n_widths == NAS_GHN_MAX_WIDTHS) {
            return nas_error(NAS_EINVAL, "--widths: at most %d widths", NAS_GHN_MAX_WIDTHS);
        }
        tc->widths[tc->n_widths++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (tc->n_widths == 0) {
        return nas_error(NAS_EINVAL, "--widths: empty list");
    }
    return NAS_OK;
}

static nas_status parse_chunk(const char *s, nas_ghn_config *gc) {
    int co = 0, ci = 0, k = 0, used = 0;
    if (sscanf(s, "%d,%d,%d%n", &co, &ci, &k, &used) != 3 || s[used] != '\0' || co < 1 || ci < 1 ||
        k < 1 || co > 256 || ci > 256 || k > 16) {
        return nas_error(NAS_EINVAL, "--chunk: '%s' is not CO,CI,K (e.g. 16,16,3)", s);
    }
    gc->chunk_out = co;
    gc->chunk_in = ci;
    gc->chunk_k = k;
    return NAS_OK;
}

nas_status nas_cli_ghn_data(const char *dataset_name, const char *dir, nas_ghn_data_info *info,
                            bool compute_norm, nas_dataset *ds, nas_data_split *split) {
    memset(split, 0, sizeof *split);
    char dataset[sizeof info->dataset]; /* the name may live in *info itself */
    snprintf(dataset, sizeof dataset, "%s", dataset_name);
    nas_status st;
    if (strcmp(dataset, "fashion-mnist") == 0) {
        st = nas_data_load_fashion_mnist(ds, dir, "train");
    } else if (strcmp(dataset, "mnist") == 0) {
        st = nas_data_load_mnist(ds, dir, "train");
    } else {
        return nas_error(NAS_EINVAL, "--data: unknown dataset '%s' (fashion-mnist, mnist)",
                         dataset);
    }
    NAS_CHECK(st);
    if (info->n_val < 1 || info->n_val >= ds->n) {
        nas_data_free(ds);
        return nas_error(NAS_EINVAL, "--val: %lld validation images of %lld is out of range",
                         (long long)info->n_val, (long long)ds->n);
    }
    st = nas_data_split_make(split, ds->n, info->n_val, info->split_seed);
    if (st == NAS_OK && compute_norm) {
        st = nas_data_norm_compute(ds, split->train, split->n_train, &info->norm);
    }
    if (st != NAS_OK) {
        nas_data_split_free(split);
        nas_data_free(ds);
        return st;
    }
    snprintf(info->dataset, sizeof info->dataset, "%s", dataset);
    info->in_c = ds->c;
    info->in_h = ds->h;
    info->in_w = ds->w;
    return NAS_OK;
}

/* ---- run --------------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct step_ctx {
    const nas_ghn *g;
    const char *out;
    int64_t save_every;
    nas_status save_status;
} step_ctx;

static bool on_step(const nas_ghn_trainer *tr, double loss, double acc, void *user) {
    (void)loss;
    (void)acc;
    step_ctx *c = user;
    if (c->save_every > 0 && tr->step % c->save_every == 0) {
        c->save_status = nas_ghn_save(c->g, tr, c->out);
        if (c->save_status != NAS_OK) {
            return false;
        }
    }
    return !interrupted;
}

nas_status nas_cli_ghn_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                             const void *ckpt, size_t n_ckpt, int64_t *ghn_id) {
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"hid\": %d, \"decoder\": \"%s\", \"meta_batch\": %d, \"batch\": %d, "
             "\"lr\": %g, \"seed\": %llu}",
             g->cfg.hid, nas_ghn_decoder_name(g->cfg.decoder), tr->tc.meta_batch, tr->tc.batch_size,
             (double)tr->tc.lr, (unsigned long long)tr->tc.seed);
    nas_ghn_record rec = {.space = tr->data.space,
                          .dataset = tr->data.dataset,
                          .config_json = cfg,
                          .steps = tr->step,
                          .train_loss = tr->last_loss,
                          .val_acc = (double)NAN,
                          .seconds = tr->seconds,
                          .checkpoint = ckpt,
                          .checkpoint_bytes = n_ckpt};
    return nas_store_ghn_add(db, &rec, ghn_id);
}

int nas_cli_train(int argc, char **argv) {
    const char *space_name = "nb201", *dataset = "fashion-mnist", *data_dir = NULL;
    const char *out = "ghn.ckpt", *resume = NULL, *db_path = NULL;
    nas_ghn_config gc = nas_ghn_config_default();
    nas_ghn_train_config tc = nas_ghn_train_defaults();
    bool steps_given = false, time_given = false, model_given = false, quiet = false;
    bool space_given = false;
    long save_every = 200, n_val = 10000;
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
        static const char *const valued[] = {
            "--space",      "--data",   "--data-dir",   "--steps",   "--time",
            "--meta-batch", "--batch",  "--widths",     "--N",       "--hid",
            "--decoder",    "--chunk",  "--s-max",      "--lr",      "--wd",
            "--clip",       "--warmup", "--threads",    "--out",     "--resume",
            "--seed",       "--val",    "--save-every", "--holdout", "--db",
        };
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
            known = known || strcmp(o, valued[k]) == 0;
        }
        if (!known) {
            return nas_cli_usage_error(
                "train", o[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", o);
        }
        if (i + 1 >= argc) {
            return nas_cli_usage_error("train", "%s needs a value", o);
        }
        const char *v = argv[++i];
        long n = 0;
        double d = 0.0;
        nas_status st = NAS_OK;
        if (strcmp(o, "--space") == 0) {
            space_name = v;
            space_given = true;
        } else if (strcmp(o, "--data") == 0) {
            dataset = v;
        } else if (strcmp(o, "--data-dir") == 0) {
            data_dir = v;
        } else if (strcmp(o, "--steps") == 0) {
            st = nas_cli_parse_long(o, v, 1, 100000000L, &n);
            tc.steps = n;
            steps_given = true;
        } else if (strcmp(o, "--time") == 0) {
            st = nas_cli_parse_duration(o, v, &tc.time_limit);
            time_given = true;
        } else if (strcmp(o, "--meta-batch") == 0) {
            st = nas_cli_parse_long(o, v, 1, 1024, &n);
            tc.meta_batch = (int)n;
        } else if (strcmp(o, "--batch") == 0) {
            st = nas_cli_parse_long(o, v, 1, 65536, &n);
            tc.batch_size = (int)n;
        } else if (strcmp(o, "--widths") == 0) {
            st = parse_widths(v, &tc);
        } else if (strcmp(o, "--N") == 0) {
            st = nas_cli_parse_long(o, v, 1, 64, &n);
            tc.N = (int)n;
        } else if (strcmp(o, "--hid") == 0) {
            st = nas_cli_parse_long(o, v, 4, 1024, &n);
            gc.hid = (int)n;
            gc.dec_hid = 4 * (int)n;
            model_given = true;
        } else if (strcmp(o, "--decoder") == 0) {
            st = nas_ghn_decoder_from_name(v, &gc.decoder);
            model_given = true;
        } else if (strcmp(o, "--chunk") == 0) {
            st = parse_chunk(v, &gc);
            model_given = true;
        } else if (strcmp(o, "--s-max") == 0) {
            st = nas_cli_parse_long(o, v, 0, 1000, &n);
            gc.s_max = (int)n;
            model_given = true;
        } else if (strcmp(o, "--lr") == 0) {
            st = nas_cli_parse_double(o, v, 1e-8, 1.0, &d);
            tc.lr = (float)d;
        } else if (strcmp(o, "--wd") == 0) {
            st = nas_cli_parse_double(o, v, 0.0, 0.5, &d);
            tc.weight_decay = (float)d;
        } else if (strcmp(o, "--clip") == 0) {
            st = nas_cli_parse_double(o, v, 0.0, 1e6, &d);
            tc.clip = (float)d;
        } else if (strcmp(o, "--warmup") == 0) {
            st = nas_cli_parse_long(o, v, 0, 100000000L, &n);
            tc.warmup_steps = n;
        } else if (strcmp(o, "--threads") == 0) {
            st = nas_cli_parse_long(o, v, 1, 1024, &n);
            tc.threads = (int)n;
        } else if (strcmp(o, "--out") == 0) {
            out = v;
        } else if (strcmp(o, "--db") == 0) {
            db_path = v;
        } else if (strcmp(o, "--resume") == 0) {
            resume = v;
        } else if (strcmp(o, "--seed") == 0) {
            st = nas_cli_parse_long(o, v, 0, 0x7fffffffL, &n);
            tc.seed = (uint64_t)n;
        } else if (strcmp(o, "--val") == 0) {
            st = nas_cli_parse_long(o, v, 1, 10000000L, &n_val);
        } else if (strcmp(o, "--save-every") == 0) {
            st = nas_cli_parse_long(o, v, 0, 100000000L, &save_every);
        } else if (strcmp(o, "--holdout") == 0) {
            st = nas_cli_parse_long(o, v, 0, 1000000L, &n);
            tc.holdout_mod = (int)n;
        }
        if (st != NAS_OK) {
            return nas_cli_usage_error("train", "%s", nas_errmsg());
        }
    }
    if (steps_given && !time_given) {
        tc.time_limit = 0.0;
    } else if (time_given && !steps_given) {
        tc.steps = 0;
    }
    if (quiet) {
        nas_progress_set_enabled(false);
    }

    nas_status st = NAS_OK;
    nas_ghn g;
    nas_ghn_trainer tr;
    nas_space sp;
    nas_dataset ds;
    nas_data_split split;
    nas_store *db = NULL;
    void *ckpt = NULL;
    size_t n_ckpt = 0;
    memset(&g, 0, sizeof g);
    memset(&tr, 0, sizeof tr);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    if (db_path) { /* opened first: a bad store fails before the training, not after it */
        NAS_TRY(nas_store_open(&db, db_path, NAS_STORE_CREATE));
    }
    if (resume) {
        NAS_TRY(nas_ghn_load_expect(&g, &tr, NULL, resume, model_given ? &gc : NULL));
        if (space_given && strcmp(tr.data.space, space_name) != 0) {
            st = nas_error(NAS_EINVAL, "%s was trained on space %s, not %s", resume, tr.data.space,
                           space_name);
            goto cleanup;
        }
        space_name = tr.data.space;
        dataset = tr.data.dataset;
        if (steps_given || time_given) {
            tr.tc.steps = steps_given ? tc.steps : 0;
            tr.tc.time_limit = time_given ? tc.time_limit : 0.0;
        }
        if (tc.threads > 0) {
            tr.tc.threads = tc.threads;
        }
        NAS_TRY(nas_cli_ghn_data(dataset, data_dir, &tr.data, false, &ds, &split));
        fprintf(stderr, "resuming %s at step %lld (%s, %lld skipped so far)\n", resume,
                (long long)tr.step, tr.data.space, (long long)tr.skipped);
    } else {
        NAS_TRY(nas_ghn_init(&g, &gc, tc.seed));
        NAS_TRY(nas_ghn_trainer_init(&tr, &g, &tc));
        tr.data.n_val = n_val;
        tr.data.split_seed = 1;
        NAS_TRY(nas_cli_ghn_data(dataset, data_dir, &tr.data, true, &ds, &split));
    }
    NAS_TRY(nas_space_load(&sp, space_name));
    snprintf(tr.data.space, sizeof tr.data.space, "%s", sp.name);
    if (ds.n_classes != g.cfg.classes) {
        st = nas_error(NAS_EINVAL, "%s has %d classes, the GHN predicts %d", dataset, ds.n_classes,
                       g.cfg.classes);
        goto cleanup;
    }
    fprintf(stderr,
            "ghn: %lld parameters (hid %d, %s decoder, chunk %dx%dx%dx%d, s_max %d); %s, %s "
            "(%lld train / %lld val); meta-batch %d x %d images\n",
            (long long)nas_ghn_numel(&g), g.cfg.hid, nas_ghn_decoder_name(g.cfg.decoder),
            g.cfg.chunk_out, g.cfg.chunk_in, g.cfg.chunk_k, g.cfg.chunk_k, g.cfg.s_max, sp.name,
            dataset, (long long)split.n_train, (long long)split.n_val, tr.tc.meta_batch,
            tr.tc.batch_size);
    step_ctx ctx = {&g, out, save_every, NAS_OK};
    interrupted = 0;
    void (*old)(int) = signal(SIGINT, on_sigint);
    const int64_t step0 = tr.step, archs0 = tr.archs;
    const double sec0 = tr.seconds;
    st = nas_ghn_train(&g, &tr, &sp, &ds, split.train, split.n_train, &tr.data.norm, on_step, &ctx);
    signal(SIGINT, old);
    if (ctx.save_status != NAS_OK) {
        st = ctx.save_status;
        goto cleanup;
    }
    nas_status save = nas_ghn_save_mem(&g, &tr, &ckpt, &n_ckpt); /* the file's and store's bytes */
    if (save == NAS_OK) {
        save = nas_file_write_atomic(out, ckpt, n_ckpt);
    }
    if (st == NAS_OK) {
        st = save;
    }
    if (save == NAS_OK) {
        double secs = tr.seconds - sec0;
        double tput = secs > 0 ? (double)(tr.archs - archs0) * tr.tc.batch_size / secs : 0.0;
        printf("trained %lld steps (%lld skipped) in %.1f s: last loss %.4f, acc %.3f; %.0f "
               "architecture-images/s; saved %s\n",
               (long long)(tr.step - step0), (long long)tr.skipped, secs, tr.last_loss, tr.last_acc,
               tput, out);
    }
    if (st == NAS_EINTERRUPTED && save == NAS_OK) {
        fprintf(stderr, "ghnas: interrupted; resume with --resume %s\n", out);
    }
    if (st == NAS_OK && db_path) {
        int64_t id = 0;
        NAS_TRY(nas_cli_ghn_store(db, &g, &tr, ckpt, n_ckpt, &id));
        printf("stored as GHN %lld in %s (ghnas search --db %s uses it)\n", (long long)id, db_path,
               db_path);
    }
cleanup:
    nas_free(ckpt);
    nas_store_close(db);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
    return st == NAS_OK ? NAS_EXIT_OK : nas_cli_fail(st);
}
