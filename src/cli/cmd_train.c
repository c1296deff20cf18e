/*
 * `ghnas train --space NAME --data fashion-mnist [--steps N | --time 20m] ...`: meta-batch
 * training of the graph hypernetwork with a progress bar, periodic and final checkpoints, resume
 * from a checkpoint, and Ctrl-C that saves before stopping. The work is nas_job_train (src/job).
 */
#include "cmd_train.h"

#include "cli.h"
#include "ghnas/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(nas_job_train_params, f)
#define MODEL  NAS_JOB_GIVEN_MODEL

/* "8,16,24" -> widths. */
static nas_status parse_widths(const char *opt, const char *s, void *field) {
    nas_ghn_train_config *tc = field;
    tc->n_widths = 0;
    const char *p = s;
    while (*p) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096 || (*end && *end != ',')) {
            return nas_error(NAS_EINVAL, "%s: '%s' is not a list of widths like 8,16", opt, s);
        }
        if (tc->n_widths == NAS_GHN_MAX_WIDTHS) {
            return nas_error(NAS_EINVAL, "%s: at most %d widths", opt, NAS_GHN_MAX_WIDTHS);
        }
        tc->widths[tc->n_widths++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (tc->n_widths == 0) {
        return nas_error(NAS_EINVAL, "%s: empty list", opt);
    }
    return NAS_OK;
}

static nas_status parse_chunk(const char *opt, const char *s, void *field) {
    nas_ghn_config *gc = field;
    int co = 0, ci = 0, k = 0, used = 0;
    if (sscanf(s, "%d,%d,%d%n", &co, &ci, &k, &used) != 3 || s[used] != '\0' || co < 1 || ci < 1 ||
        k < 1 || co > 256 || ci > 256 || k > 16) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not CO,CI,K (e.g. 16,16,3)", opt, s);
    }
    gc->chunk_out = co;
    gc->chunk_in = ci;
    gc->chunk_k = k;
    return NAS_OK;
}

static void show_chunk(const void *field, char *buf, size_t cap) {
    const nas_ghn_config *gc = field;
    snprintf(buf, cap, "%d,%d,%d", gc->chunk_out, gc->chunk_in, gc->chunk_k);
}

static nas_status parse_decoder(const char *opt, const char *s, void *field) {
    (void)opt;
    return nas_ghn_decoder_from_name(s, field);
}

static void show_decoder(const void *field, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", nas_ghn_decoder_name(*(const nas_ghn_decoder *)field));
}

static const nas_cli_opt opts[] = {
    {"space", 0, NAS_CLI_STR, OFF(space), "NAME",
     "search space (built-in name or .json path; default %D)", .bits = NAS_JOB_GIVEN_SPACE},
    {"data", 0, NAS_CLI_CUSTOM, OFF(data), "SPEC",
     "a name (fashion-mnist, the default; mnist, cifar10, cifar100)\nor a path (idx:DIR, "
     "cifar10:DIR, cifar100:DIR,\nfolder:DIR[@HxW], DIR); the training split minus\n--val-n "
     "validation images is used",
     .parse = nas_cli_parse_data},
    {"data-dir", 0, NAS_CLI_STR, OFF(data_dir), "DIR",
     "dataset directory (default: $GHNAS_FASHION_MNIST_DIR or\n" NAS_FASHION_MNIST_DIR ")",
     .aliases = NULL},
    {"steps", 0, NAS_CLI_I64, OFF(train.steps), "N",
     "optimizer steps (default %D unless --time is given)", .min = 1, .max = 100000000,
     .bits = NAS_JOB_GIVEN_STEPS},
    {"time", 0, NAS_CLI_DURATION, OFF(train.time_limit), "DUR",
     "stop after this long (90s, 20m, 1.5h); the schedule follows", .bits = NAS_JOB_GIVEN_TIME},
    {"meta-batch", 0, NAS_CLI_INT, OFF(train.meta_batch), "M",
     "architectures per step (default %D)", .min = 1, .max = 1024},
    {"batch", 0, NAS_CLI_INT, OFF(train.batch_size), "B",
     "images per step, shared by the M nets (default %D)", .min = 1, .max = 65536},
    {"widths", 0, NAS_CLI_CUSTOM, OFF(train), "LIST",
     "base widths C sampled per architecture (default: the space's)", .parse = parse_widths},
    {"N", 0, NAS_CLI_INT, OFF(train.N), "N",
     "cells per stage / modules per stack (default: the space's)", .min = 1, .max = 64},
    {"hid", 0, NAS_CLI_INT, OFF(ghn.hid), "H",
     "GHN node embedding size, a multiple of 4 (default %D)", .min = 4, .max = 1024, .bits = MODEL},
    {"decoder", 0, NAS_CLI_CUSTOM, OFF(ghn.decoder), "D",
     "chunk (tiles decoded with position embeddings) or tile (GHN-2:\none chunk repeated); default "
     "%D",
     .parse = parse_decoder, .show = show_decoder, .bits = MODEL},
    {"chunk", 0, NAS_CLI_CUSTOM, OFF(ghn), "CO,CI,K", "decoder chunk shape (default %D)",
     .parse = parse_chunk, .show = show_chunk, .bits = MODEL},
    {"s-max", 0, NAS_CLI_INT, OFF(ghn.s_max), "S",
     "virtual edges up to shortest path S (default %D; 0 = none)", .min = 0, .max = 1000,
     .bits = MODEL},
    {"lr", 0, NAS_CLI_F32, OFF(train.lr), "LR", "peak learning rate (default %D)", .fmin = 1e-8,
     .fmax = 1.0},
    {"wd", 0, NAS_CLI_F32, OFF(train.weight_decay), "WD", "AdamW weight decay (default %D)",
     .fmin = 0.0, .fmax = 0.5},
    {"clip", 0, NAS_CLI_F32, OFF(train.clip), "C", "gradient-norm clipping (default %D; 0 = off)",
     .fmin = 0.0, .fmax = 1e6},
    {"warmup", 0, NAS_CLI_I64, OFF(train.warmup_steps), "N", "linear warmup steps (default %D)",
     .min = 0, .max = 100000000},
    {"threads", 0, NAS_CLI_INT, OFF(train.threads), "N",
     "threads over the meta-batch (default: all cores)", .min = 1, .max = 1024},
    {"out", 0, NAS_CLI_STR, OFF(out), "FILE",
     "checkpoint written every --save-every steps and at the end\n(default %D)", .aliases = NULL},
    {"db", 0, NAS_CLI_STR, OFF(db), "FILE",
     "also add the trained GHN to this results store (created when\nmissing), where ghnas search "
     "--db FILE finds it",
     .aliases = NULL},
    {"resume", 0, NAS_CLI_STR, OFF(resume), "FILE",
     "continue the training saved in FILE (--steps/--time set the\nnew end; model options must "
     "match the checkpoint)",
     .aliases = NULL},
    {"save-every", 0, NAS_CLI_I64, OFF(save_every), "N",
     "steps between checkpoints (default %D; 0 = only at the end)", .min = 0, .max = 100000000},
    {"snapshot-every", 0, NAS_CLI_I64, OFF(snapshot_every), "N",
     "with --db: also store the GHN every N steps as a GHN of its\nown, to score snapshots "
     "(default %D = off)",
     .min = 0, .max = 100000000},
    {"seed", 0, NAS_CLI_U64, OFF(train.seed), "S",
     "architectures, widths, batches and GHN init (default %D)", .min = 0, .max = 0x7fffffff},
    {"val-n", 0, NAS_CLI_I64, OFF(n_val), "N",
     "validation images split off the training set (default %D)", .aliases = "val", .min = 1,
     .max = 10000000},
    {"holdout", 0, NAS_CLI_INT, OFF(train.holdout_mod), "K",
     "never train on archs whose text hash is divisible by K, so\nthey stay unseen for evaluation "
     "(default %D = off)",
     .min = 0, .max = 1000000},
    {"uniform-classes", 0, NAS_CLI_FLAG, OFF(train.uniform_classes), NULL,
     "sample training architectures uniformly over canonical classes\n(NB201's 6466) instead of "
     "over labelled members (finite spaces)",
     .aliases = NULL},
    {"quiet", 0, NAS_CLI_FLAG, OFF(quiet), NULL, "no progress output", .aliases = NULL},
};

static const nas_cli_spec spec = {
    "train",
    "usage: ghnas train --space NAME --data fashion-mnist [--steps N | --time DUR]\n"
    "                   [--meta-batch M] [--batch B] [--widths C1,C2,...] [OPTIONS]\n"
    "\n"
    "Train the graph hypernetwork (GHN): every step samples M architectures of the space\n"
    "(valid members, a random width C from --widths), predicts all their weights, runs\n"
    "them on one shared image batch and minimises the mean cross-entropy with AdamW,\n"
    "gradient clipping and a warmup + cosine schedule. The meta-batch runs in parallel\n"
    "(one architecture per thread). Steps with NaN/Inf are skipped and counted.\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    NULL,
    0,
    false};

int nas_cli_train(int argc, char **argv) {
    nas_job_train_params p = nas_job_train_defaults(), def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    if (nas_cli_given(&spec, &args, "hid")) {
        p.ghn.dec_hid = 4 * p.ghn.hid;
    }
    if (p.snapshot_every > 0 && !p.db) {
        return nas_cli_usage_error("train", "--snapshot-every stores snapshots in --db FILE");
    }
    p.given = args.given;
    p.stop = &nas_cli_stop;
    nas_job_train_result r;
    nas_cli_catch_signals(true);
    nas_status st = nas_job_train(&p, &r);
    nas_cli_catch_signals(false);
    if (r.saved) {
        printf("trained %lld steps (%lld skipped) in %.1f s: last loss %.4f, acc %.3f; %.0f "
               "architecture-images/s; saved %s\n",
               (long long)r.steps, (long long)r.skipped, r.seconds, r.last_loss, r.last_acc,
               r.throughput, p.out);
    }
    if (r.interrupted && r.saved) {
        fprintf(stderr, "ghnas: interrupted; resume with --resume %s\n", p.out);
    }
    if (st == NAS_OK && r.ghn_id > 0) {
        printf("stored as GHN %lld in %s (ghnas search --db %s uses it)\n", (long long)r.ghn_id,
               p.db, p.db);
    }
    return st == NAS_OK ? NAS_EXIT_OK : nas_cli_fail(st);
}
