/*
 * `ghnas export` and `ghnas predict`: option tables and printing around nas_job_export and
 * nas_job_predict (src/job/export.c). Both take the model the same way: a finished training of
 * a results store (--db DB --training ID) or an architecture with its weights (ARCH --ghn FILE|ID
 * or --init random).
 */
#include "cmd_export.h"

#include "cli.h"
#include "ghnas/job.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static nas_status parse_init(const char *opt, const char *value, void *field) {
    if (strcmp(value, "random") == 0 || strcmp(value, "ghn") == 0) {
        *(bool *)field = strcmp(value, "random") == 0;
        return NAS_OK;
    }
    return nas_error(NAS_EINVAL, "%s: '%s' is not ghn or random", opt, value);
}

static void show_init(const void *field, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", *(const bool *)field ? "random" : "ghn");
}

/* The model-source options of both commands, for a params struct P with a `src` member. */
#define SOURCE_OPTS(P)                                                                             \
    {"db",           0,                                                                            \
     NAS_CLI_STR,    offsetof(P, src.db),                                                          \
     "FILE",         "results store of --training (or of a stored GHN id)",                        \
     .aliases = NULL},                                                                             \
        {"training",  0,                                                                           \
         NAS_CLI_I64, offsetof(P, src.training),                                                   \
         "ID",        "a finished training of --db: its kept weights",                             \
         .min = 1,    .max = INT64_MAX},                                                           \
        {"space",        0,                                                                        \
         NAS_CLI_STR,    offsetof(P, src.space),                                                   \
         "NAME",         "space of ARCH (default: the GHN's, else nb201)",                         \
         .aliases = NULL},                                                                         \
        {"ghn",                                                                                    \
         0,                                                                                        \
         NAS_CLI_STR,                                                                              \
         offsetof(P, src.ghn),                                                                     \
         "FILE|ID",                                                                                \
         "ARCH with weights predicted by this GHN (a checkpoint file,\nor with --db a stored GHN " \
         "id)",                                                                                    \
         .aliases = NULL},                                                                         \
        {"init",                                                                                   \
         0,                                                                                        \
         NAS_CLI_CUSTOM,                                                                           \
         offsetof(P, src.random_init),                                                             \
         "W",                                                                                      \
         "ARCH's weights: ghn (with --ghn) or random (seeded; to test\nthe export itself)",        \
         .parse = parse_init,                                                                      \
         .show = show_init},                                                                       \
        {"C",         0,                                                                           \
         NAS_CLI_INT, offsetof(P, src.C),                                                          \
         "C",         "ARCH: base width (default: the space's)",                                   \
         .min = 1,    .max = 4096},                                                                \
        {"N",         0,                                                                           \
         NAS_CLI_INT, offsetof(P, src.N),                                                          \
         "N",         "ARCH: cells per stage / modules per stack (default: the space's)",          \
         .min = 1,    .max = 64},                                                                  \
        {"seed",      0,                                                                           \
         NAS_CLI_U64, offsetof(P, src.seed),                                                       \
         "S",         "--init random: seed (default %D)",                                          \
         .min = 0,    .max = 0x7fffffff},                                                          \
        {"bn-calib",                                                                               \
         0,                                                                                        \
         NAS_CLI_INT,                                                                              \
         offsetof(P, src.bn_calib),                                                                \
         "K",                                                                                      \
         "ARCH: BatchNorm running statistics from K batches of\ntraining images (default %D)",     \
         .min = 1,                                                                                 \
         .max = 100000},                                                                           \
        {"bn-batch",                                                                               \
         0,                                                                                        \
         NAS_CLI_INT,                                                                              \
         offsetof(P, src.bn_batch),                                                                \
         "B",                                                                                      \
         "ARCH: images per calibration batch (default: the GHN's\nevaluation batch, else 128)",    \
         .min = 1,                                                                                 \
         .max = 65536},                                                                            \
    {                                                                                              \
        "data-dir", 0, NAS_CLI_STR, offsetof(P, src.data_dir), "DIR",                              \
            "dataset directory (default as for ghnas train)", .aliases = NULL                      \
    }

#define SOURCE_HELP                                                                                \
    "The model: a finished training of a results store (--db DB --training ID; ghnas\n"            \
    "evaluate keeps the final weights and BatchNorm statistics of every training it\n"             \
    "finishes), or ARCH with weights predicted by a GHN (--ghn) or random ones (--init\n"          \
    "random); those get BatchNorm running statistics from --bn-calib batches of training\n"        \
    "images.\n"

/* Common checks of the source options; -1 to go on, else an exit code. */
static int check_source(const char *cmd, nas_job_model_source *s, const nas_cli_args *args,
                        bool images_follow) {
    const int first_arch = 0;
    if (s->training > 0) {
        if (!s->db) {
            return nas_cli_usage_error(cmd, "--training needs --db FILE");
        }
        if ((!images_follow && args->n_pos > 0) || s->ghn || s->random_init) {
            return nas_cli_usage_error(cmd, "give --training or an ARCH with its weights, not "
                                            "both");
        }
        return -1;
    }
    if (args->n_pos <= first_arch) {
        return nas_cli_usage_error(cmd, "give --db DB --training ID, or an ARCH with --ghn or "
                                        "--init random");
    }
    s->arch = args->pos[first_arch];
    if (!s->ghn && !s->random_init) {
        return nas_cli_usage_error(cmd, "ARCH needs its weights: --ghn FILE|ID or --init random");
    }
    if (s->ghn && s->random_init) {
        return nas_cli_usage_error(cmd, "--ghn and --init random exclude each other");
    }
    return -1;
}

/* ---- export ---------------------------------------------------------------------------------- */

static const nas_cli_opt export_opts[] = {
    SOURCE_OPTS(nas_job_export_params),
    {"out", 'o', NAS_CLI_STR, offsetof(nas_job_export_params, out), "FILE",
     "the file to write (required; replaced atomically)", .aliases = NULL},
    {"format", 0, NAS_CLI_STR, offsetof(nas_job_export_params, format), "F",
     "onnx or npz (default: npz for a .npz file, else onnx)", .aliases = NULL},
};

static const nas_cli_spec export_spec = {
    "export",
    "usage: ghnas export --db DB --training ID --out FILE [--format onnx|npz]\n"
    "       ghnas export ARCH (--ghn FILE|ID | --init random) [--space NAME] --out FILE ...\n"
    "\n"
    "Write a trained network as ONNX (opset 13: input \"image\" float [N, C, H, W] with\n"
    "pixel values / 255, normalised inside the graph; output \"logits\" [N, classes];\n"
    "the architecture, space, recipe and accuracies in metadata_props) or as a NumPy\n"
    ".npz of its weights and BatchNorm statistics (numpy.load(FILE)[\"stem.conv.weight\"]).\n"
    "\n" SOURCE_HELP,
    export_opts,
    (int)(sizeof export_opts / sizeof export_opts[0]),
    NULL,
    1,
    false};

int nas_cli_export(int argc, char **argv) {
    nas_job_export_params p = nas_job_export_defaults(), def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&export_spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    if ((rc = check_source("export", &p.src, &args, false)) >= 0) {
        return rc;
    }
    if (!p.out) {
        return nas_cli_usage_error("export", "missing --out FILE");
    }
    if (p.format && strcmp(p.format, "onnx") != 0 && strcmp(p.format, "npz") != 0) {
        return nas_cli_usage_error("export", "--format: '%s' is not onnx or npz", p.format);
    }
    nas_job_export_result r;
    nas_status st = nas_job_export(&p, &r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("wrote %s (%s, %zu bytes): %s %s, %lld parameters, %d classes, from %s", p.out, r.format,
           r.bytes, r.model.space, r.model.arch, (long long)r.model.n_params, r.model.classes,
           r.model.source);
    if (!isnan(r.model.test_acc)) {
        printf("; test accuracy %.4f", r.model.test_acc);
    }
    printf("\n");
    return NAS_EXIT_OK;
}

/* ---- predict --------------------------------------------------------------------------------- */

typedef struct predict_params {
    nas_job_predict_params p; /* first: the source options' offsets are of this struct too */
    const char *format;       /* csv or json */
    bool logits;
} predict_params;

#define POFF(f) offsetof(predict_params, f)

static const nas_cli_opt predict_opts[] = {
    SOURCE_OPTS(nas_job_predict_params),
    {"labels", 0, NAS_CLI_STR, POFF(p.labels), "FILE",
     "IDX labels of the one IDX images file: adds the label and\nthe accuracy", .aliases = NULL},
    {"count", 'n', NAS_CLI_I64, POFF(p.limit), "N", "at most N images (default: all)", .min = 1,
     .max = INT64_MAX},
    {"batch", 0, NAS_CLI_INT, POFF(p.batch), "B", "images per forward pass (default %D)", .min = 1,
     .max = 65536},
    {"format", 0, NAS_CLI_STR, POFF(format), "F", "csv (default) or json", .aliases = NULL},
    {"logits", 0, NAS_CLI_FLAG, POFF(logits), NULL,
     "print the logits instead of the class probabilities", .aliases = NULL},
};

static const nas_cli_spec predict_spec = {
    "predict",
    "usage: ghnas predict --db DB --training ID [options] IMAGE...\n"
    "       ghnas predict ARCH (--ghn FILE|ID | --init random) [options] IMAGE...\n"
    "\n"
    "Run a model on images and print each one's class and probabilities. IMAGE: a PNG\n"
    "or PGM (P5/P2) file with one image, or an IDX images file (plain or .gz, e.g.\n"
    "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz) with many; each image\n"
    "must have the model's size and channels (Fashion-MNIST: 28x28 greyscale, light\n"
    "object on a dark background). Formats are told by content.\n"
    "\n" SOURCE_HELP,
    predict_opts,
    (int)(sizeof predict_opts / sizeof predict_opts[0]),
    "output: csv with a header (file, index, [label,] pred, class, prob, then p0.. or\n"
    "logit0..), or json; with --labels the accuracy goes to stderr (and json)\n",
    -1,
    false};

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_str(const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') {
            putchar('"');
        }
        putchar(*s);
    }
    putchar('"');
}

int nas_cli_predict(int argc, char **argv) {
    predict_params q;
    memset(&q, 0, sizeof q);
    q.p = nas_job_predict_defaults();
    q.format = "csv";
    predict_params def = q;
    nas_cli_args args;
    int rc = nas_cli_parse(&predict_spec, argc, argv, &q, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    nas_job_predict_params *p = &q.p;
    const int first = p->src.training > 0 ? 0 : 1;
    if ((rc = check_source("predict", &p->src, &args, true)) >= 0) {
        return rc;
    }
    if (args.n_pos <= first) {
        return nas_cli_usage_error("predict", "give at least one IMAGE file");
    }
    if (strcmp(q.format, "csv") != 0 && strcmp(q.format, "json") != 0) {
        return nas_cli_usage_error("predict", "--format: '%s' is not csv or json", q.format);
    }
    p->inputs = args.pos + first;
    p->n_inputs = args.n_pos - first;
    nas_job_predict_result r;
    nas_status st = nas_job_predict(p, &r);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    const int K = r.classes;
    const float *v = q.logits ? r.logits : r.probs;
    const bool json = strcmp(q.format, "json") == 0;
    if (json) {
        printf("{\"model\": {\"source\": ");
        json_str(r.model.source);
        printf(", \"space\": ");
        json_str(r.model.space);
        printf(", \"arch\": ");
        json_str(r.model.arch);
        printf(", \"params\": %lld, \"classes\": %d}, \"values\": \"%s\", \"images\": [",
               (long long)r.model.n_params, K, q.logits ? "logits" : "probabilities");
    } else {
        printf("file,index,%spred,class,prob", r.labels ? "label," : "");
        for (int k = 0; k < K; k++) {
            printf(q.logits ? ",logit%d" : ",p%d", k);
        }
        printf("\n");
    }
    for (int64_t i = 0; i < r.n; i++) {
        const char *file = p->inputs[r.file[i]];
        char name_buf[256];
        const char *name = nas_job_model_class(&r.model, r.pred[i], name_buf, sizeof name_buf);
        char cls[16];
        snprintf(cls, sizeof cls, "%d", r.pred[i]);
        const float prob = r.probs[i * K + r.pred[i]];
        if (json) {
            printf("%s\n  {\"file\": ", i ? "," : "");
            json_str(file);
            printf(", \"index\": %lld, ", (long long)r.index[i]);
            if (r.labels) {
                printf("\"label\": %d, ", r.labels[i]);
            }
            printf("\"pred\": %d, \"class\": ", r.pred[i]);
            json_str(name ? name : cls);
            printf(", \"prob\": %.6g, \"%s\": [", (double)prob, q.logits ? "logits" : "probs");
            for (int k = 0; k < K; k++) {
                printf(k ? ", %.9g" : "%.9g", (double)v[i * K + k]);
            }
            printf("]}");
        } else {
            csv_str(file);
            printf(",%lld,", (long long)r.index[i]);
            if (r.labels) {
                printf("%d,", r.labels[i]);
            }
            printf("%d,", r.pred[i]);
            csv_str(name ? name : cls);
            printf(",%.6g", (double)prob);
            for (int k = 0; k < K; k++) {
                printf(",%.9g", (double)v[i * K + k]);
            }
            printf("\n");
        }
    }
    if (json) {
        printf("\n]");
        if (r.labels) {
            printf(", \"accuracy\": %.6f", r.accuracy);
        }
        printf("}\n");
    }
    if (r.labels) {
        fprintf(stderr, "predict: %lld images, accuracy %.4f\n", (long long)r.n, r.accuracy);
    }
    nas_job_predict_result_free(&r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return nas_cli_fail(nas_error(NAS_EIO, "predict: cannot write the output"));
    }
    return NAS_EXIT_OK;
}
