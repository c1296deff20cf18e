/*
 * The export and predict jobs: resolve a model -- the kept weights of a finished training of a
 * results store, or an architecture with GHN-predicted (or random) weights and BatchNorm
 * statistics calibrated on training images -- then write it as ONNX or .npz (atomically), or run
 * it on image files and report classes and probabilities. Also dropping kept weights.
 */
#include "job-impl.h"

#include "ghnas/container.h"
#include "ghnas/export.h"

#include <ctype.h>
#include <jansson.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define META_MAX 12

/* A resolved model with its metadata (strings owned here). */
typedef struct resolved {
    nas_export_model em;
    nas_job_model_info info;
    nas_export_meta meta[META_MAX];
    char meta_val[META_MAX][160];
    char *recipe; /* heap: a stored training's recipe_json */
    int n_meta;
} resolved;

static void resolved_free(resolved *r) {
    nas_export_model_free(&r->em);
    nas_free(r->recipe);
    memset(r, 0, sizeof *r);
}

/* Add a metadata entry whose value is formatted into the resolved's own storage. */
static void meta_add(resolved *r, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void meta_add(resolved *r, const char *key, const char *fmt, ...) {
    if (r->n_meta == META_MAX) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->meta_val[r->n_meta], sizeof r->meta_val[r->n_meta], fmt, ap);
    va_end(ap);
    r->meta[r->n_meta].key = key;
    r->meta[r->n_meta].value = r->meta_val[r->n_meta];
    r->n_meta++;
}

static void meta_acc(resolved *r, const char *key, double v) {
    if (!isnan(v)) {
        meta_add(r, key, "%.6f", v);
    }
}

static bool all_digits(const char *s) {
    if (!s || !*s) {
        return false;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

/* ---- a stored training ----------------------------------------------------------------------- */

/* The class names a search run recorded (config_json.cli.class_names: a folder's classes) for
 * run `run` (the search run, or an evaluate run of one), newline-separated into out ("" when
 * none are recorded). */
static void run_class_names(nas_store *db, int64_t run, char *out, size_t cap) {
    out[0] = '\0';
    for (int hop = 0; hop < 2 && run > 0; hop++) {
        nas_run_info ri;
        if (nas_store_run_get(db, run, &ri) != NAS_OK) {
            nas_error_clear();
            return;
        }
        json_error_t je;
        json_t *root = ri.config_json ? json_loads(ri.config_json, 0, &je) : NULL;
        nas_run_info_free(&ri);
        json_t *names = json_object_get(json_object_get(root, "cli"), "class_names");
        json_t *of = json_object_get(root, "search_run");
        run = json_is_integer(of) ? (int64_t)json_integer_value(of) : 0;
        size_t len = 0;
        for (size_t k = 0; json_is_array(names) && k < json_array_size(names); k++) {
            const char *v = json_string_value(json_array_get(names, k));
            int w = snprintf(out + len, cap - len, "%s%s", k ? "\n" : "", v ? v : "");
            if (w < 0 || (size_t)w >= cap - len) {
                out[0] = '\0'; /* all or none */
                break;
            }
            len += (size_t)w;
        }
        const bool found = json_is_array(names);
        json_decref(root); /* names belonged to it */
        if (found) {
            return;
        }
    }
}

static nas_status from_training(const nas_job_model_source *s, resolved *r) {
    nas_store *db = NULL;
    NAS_CHECK(nas_store_open(&db, s->db, NAS_STORE_READONLY));
    nas_store_training t;
    nas_status st = nas_store_training_get(db, s->training, true, &t);
    if (st == NAS_OK) {
        run_class_names(db, t.run_id, r->info.class_names, sizeof r->info.class_names);
    }
    nas_store_close(db);
    NAS_CHECK(st);
    if (t.status != NAS_RUN_FINISHED) {
        st = nas_error(NAS_ENOTFOUND,
                       "training %lld of %s is %s (%d of %d epochs): only a finished training "
                       "keeps its weights (ghnas evaluate resumes it)",
                       (long long)t.id, s->db, nas_run_status_name(t.status), t.epochs_done,
                       t.epochs);
        goto cleanup;
    }
    if (!t.has_weights || !t.weights) {
        st = nas_error(NAS_ENOTFOUND,
                       "training %lld of %s has no kept weights: it finished before ghnas kept "
                       "them (store schema < 3), or they were dropped (query drop-weights); "
                       "train it again to export it",
                       (long long)t.id, s->db);
        goto cleanup;
    }
    if (strcmp(t.weights_format, NAS_EXPORT_FORMAT) != 0) {
        st = nas_error(NAS_EUNSUPPORTED,
                       "training %lld of %s: kept weights of format '%s' (this ghnas reads '%s')",
                       (long long)t.id, s->db, t.weights_format, NAS_EXPORT_FORMAT);
        goto cleanup;
    }
    char what[600];
    snprintf(what, sizeof what, "the kept weights of training %lld of %s", (long long)t.id, s->db);
    NAS_TRY(nas_export_model_unpack(&r->em, t.weights, (size_t)t.weights_bytes, what));
    nas_job_model_info *in = &r->info;
    snprintf(in->source, sizeof in->source, "training %lld of %s", (long long)t.id, s->db);
    snprintf(in->dataset, sizeof in->dataset, "%s", t.dataset);
    in->train_acc = t.train_acc;
    in->val_acc = t.val_acc;
    in->test_acc = t.test_acc;
    r->recipe = t.recipe_json;
    t.recipe_json = NULL;
    meta_add(r, "ghnas.training", "%lld", (long long)t.id);
    meta_add(r, "ghnas.run", "%lld", (long long)t.run_id);
    meta_add(r, "ghnas.init", "%s", t.init);
    meta_acc(r, "ghnas.train_acc", t.train_acc);
    meta_acc(r, "ghnas.val_acc", t.val_acc);
    meta_acc(r, "ghnas.test_acc", t.test_acc);
    meta_add(r, "ghnas.bn", "running statistics of the training");
cleanup:
    nas_store_training_free(&t);
    return st;
}

/* ---- predicted or random weights ------------------------------------------------------------- */

static nas_status from_arch(const nas_job_model_source *s, resolved *r) {
    nas_status st = NAS_OK;
    nas_ghn g;
    nas_ghn_data_info di;
    nas_ghn_graph gg;
    nas_dataset ds;
    nas_data_split split;
    nas_space sp;
    memset(&g, 0, sizeof g);
    memset(&di, 0, sizeof di);
    memset(&gg, 0, sizeof gg);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    nas_job_model_info *in = &r->info;
    nas_net_config nc = nas_net_config_default();
    nc.C = s->C;
    nc.N = s->N;
    if (!s->random_init) {
        if (s->db && all_digits(s->ghn)) {
            nas_store *db = NULL;
            NAS_TRY(nas_store_open(&db, s->db, NAS_STORE_READONLY));
            st = nas_i_job_ghn_from_store(db, strtoll(s->ghn, NULL, 10), &g, &di);
            nas_store_close(db);
            NAS_TRY(st);
            snprintf(in->source, sizeof in->source, "GHN %s of %s", s->ghn, s->db);
        } else {
            NAS_TRY(nas_ghn_load(&g, NULL, &di, s->ghn));
            snprintf(in->source, sizeof in->source, "GHN %s", s->ghn);
        }
        if (di.dataset[0] == '\0') {
            st = nas_error(NAS_EFORMAT, "%s: the GHN records no data set (weights only?)",
                           in->source);
            goto cleanup;
        }
        NAS_TRY(nas_space_load(&sp, s->space ? s->space : di.space));
        if (di.space[0] && strcmp(sp.name, di.space) != 0) {
            st = nas_error(NAS_EINVAL,
                           "%s was trained on space %s, not %s: its predictions are for %s "
                           "networks (train one with ghnas train --space %s)",
                           in->source, di.space, sp.name, di.space, sp.name);
            goto cleanup;
        }
        NAS_TRY(nas_i_job_ghn_data(di.dataset, s->data_dir, &di, false, &ds, &split));
        nc.classes = g.cfg.classes;
    } else {
        NAS_TRY(nas_space_load(&sp, s->space ? s->space : "nb201"));
        NAS_TRY(nas_i_job_proxy_data("fashion-mnist", s->data_dir, &di, &ds, &split));
        nc.classes = ds.n_classes;
        snprintf(in->source, sizeof in->source, "random init (seed %llu)",
                 (unsigned long long)s->seed);
    }
    nc.in_c = ds.c;
    nc.in_h = ds.h;
    nc.in_w = ds.w;
    nas_rng rng;
    nas_rng_seed(&rng, s->seed);
    NAS_TRY(nas_export_model_init(&r->em, &sp, s->arch, &nc, &di.norm, &rng));
    if (!s->random_init) {
        NAS_TRY(nas_ghn_graph_build(&gg, &g.cfg, &r->em.net));
        NAS_TRY(nas_ghn_predict_model(&g, &gg, &r->em.m));
    }
    const int batch = s->bn_batch > 0 ? s->bn_batch : (di.eval_batch > 0 ? di.eval_batch : 128);
    if (s->bn_calib < 1) {
        st = nas_error(NAS_EINVAL, "BatchNorm calibration needs at least one batch");
        goto cleanup;
    }
    NAS_TRY(nas_eval_calibrate_bn(&r->em.m, &ds, split.train, split.n_train, &di.norm, batch,
                                  s->bn_calib));
    snprintf(in->dataset, sizeof in->dataset, "%s", di.dataset);
    in->train_acc = in->val_acc = in->test_acc = (double)NAN;
    meta_add(r, "ghnas.weights", "%s", in->source);
    meta_add(r, "ghnas.bn",
             "running statistics from %d batches of %d %s training images (split seed %llu)",
             s->bn_calib, batch, di.dataset, (unsigned long long)di.split_seed);
cleanup:
    nas_ghn_graph_free(&gg);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_free(&g);
    return st;
}

static nas_status resolve(const nas_job_model_source *s, resolved *r) {
    memset(r, 0, sizeof *r);
    nas_status st;
    if (s->training > 0) {
        if (!s->db) {
            return nas_error(NAS_EINVAL, "a stored training needs its results store (--db)");
        }
        if (s->arch || s->ghn || s->random_init) {
            return nas_error(NAS_EINVAL, "give a stored training or an architecture, not both");
        }
        st = from_training(s, r);
    } else {
        if (!s->arch) {
            return nas_error(NAS_EINVAL, "give a stored training (--db DB --training ID) or an "
                                         "architecture (ARCH with --ghn or --init random)");
        }
        if (!s->ghn == !s->random_init) {
            return nas_error(NAS_EINVAL, "an architecture needs its weights: --ghn FILE|ID or "
                                         "--init random (one of them)");
        }
        st = from_arch(s, r);
    }
    if (st != NAS_OK) {
        resolved_free(r);
        return st;
    }
    nas_job_model_info *in = &r->info;
    snprintf(in->space, sizeof in->space, "%s", r->em.sp.name);
    snprintf(in->arch, sizeof in->arch, "%s", r->em.net.arch);
    in->n_params = r->em.net.n_params;
    in->classes = r->em.net.cfg.classes;
    meta_add(r, "ghnas.source", "%s", in->source);
    meta_add(r, "ghnas.dataset", "%s", in->dataset);
    return NAS_OK;
}

/* ---- export ---------------------------------------------------------------------------------- */

nas_job_export_params nas_job_export_defaults(void) {
    nas_job_export_params p;
    memset(&p, 0, sizeof p);
    p.src.seed = 1;
    p.src.bn_calib = 8;
    return p;
}

nas_status nas_job_export(const nas_job_export_params *p, nas_job_export_result *res) {
    memset(res, 0, sizeof *res);
    if (!p->out || !p->out[0]) {
        return nas_error(NAS_EINVAL, "export: no output file given (--out FILE)");
    }
    const char *fmt = p->format;
    if (!fmt) {
        size_t len = strlen(p->out);
        fmt = len >= 4 && strcmp(p->out + len - 4, ".npz") == 0 ? "npz" : "onnx";
    }
    if (strcmp(fmt, "onnx") != 0 && strcmp(fmt, "npz") != 0) {
        return nas_error(NAS_EINVAL, "export: unknown format '%s' (onnx, npz)", fmt);
    }
    NAS_CHECK(nas_path_check_output(p->out, "export (--out)"));
    resolved r;
    NAS_CHECK(resolve(&p->src, &r));
    nas_status st = NAS_OK;
    void *bytes = NULL;
    size_t n = 0;
    if (r.recipe && r.n_meta < META_MAX) { /* long text: pointed at, not copied */
        r.meta[r.n_meta].key = "ghnas.recipe";
        r.meta[r.n_meta].value = r.recipe;
        r.n_meta++;
    }
    if (strcmp(fmt, "onnx") == 0) {
        NAS_TRY(nas_export_onnx(&r.em, r.meta, r.n_meta, &bytes, &n));
        res->n_meta = r.n_meta + 4;
    } else {
        NAS_TRY(nas_export_npz(&r.em, &bytes, &n));
    }
    NAS_TRY(nas_file_write_atomic(p->out, bytes, n));
    res->model = r.info;
    snprintf(res->format, sizeof res->format, "%s", fmt);
    res->bytes = n;
cleanup:
    nas_free(bytes);
    resolved_free(&r);
    return st;
}

/* ---- predict --------------------------------------------------------------------------------- */

nas_job_predict_params nas_job_predict_defaults(void) {
    nas_job_predict_params p;
    memset(&p, 0, sizeof p);
    p.src.seed = 1;
    p.src.bn_calib = 8;
    p.batch = 256;
    return p;
}

void nas_job_predict_result_free(nas_job_predict_result *res) {
    if (!res) {
        return;
    }
    nas_free(res->logits);
    nas_free(res->probs);
    nas_free(res->pred);
    nas_free(res->labels);
    nas_free(res->file);
    nas_free(res->index);
    memset(res, 0, sizeof *res);
}

const char *nas_job_model_class(const nas_job_model_info *m, int k, char *buf, size_t cap) {
    const char *p = m->class_names;
    for (int i = 0; *p && i < k; i++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : "";
    }
    if (k >= 0 && *p) {
        size_t len = strcspn(p, "\n");
        snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), p);
        return buf;
    }
    return nas_job_class_name(m->dataset, k);
}

const char *nas_job_class_name(const char *dataset, int k) {
    static const char *const fashion[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                            "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};
    if (dataset && strcmp(dataset, "fashion-mnist") == 0 && k >= 0 && k < 10) {
        return fashion[k];
    }
    return NULL;
}

/* A model of a folder data set reads PNG / JPEG images of any size as its data was read: resized
 * to its input (what an @HxW spec did), grey expanded to RGB. Others need the exact shape. */
static nas_status read_model_images(const char *path, const char *dataset, const nas_net_config *c,
                                    uint8_t **px, int64_t *k) {
    if (strncmp(dataset, "folder:", 7) == 0) {
        return nas_data_read_images_fit(path, c->in_c, c->in_h, c->in_w, px, k);
    }
    return nas_data_read_images(path, c->in_c, c->in_h, c->in_w, px, k);
}

/* The images of every input, concatenated (uint8 [n, c, h, w]) with their file and index. */
static nas_status read_inputs(const nas_job_predict_params *p, const nas_net_config *c,
                              const char *dataset, uint8_t **images, int64_t *n_out,
                              nas_job_predict_result *res) {
    const int64_t img = (int64_t)c->in_c * c->in_h * c->in_w;
    uint8_t *all = NULL;
    int64_t n = 0;
    nas_status st = NAS_OK;
    if (p->labels) {
        if (p->n_inputs != 1) {
            return nas_error(NAS_EINVAL,
                             "--labels goes with exactly one IDX images file (got %d "
                             "inputs)",
                             p->n_inputs);
        }
        nas_dataset ds;
        NAS_CHECK(nas_data_read_idx(&ds, p->inputs[0], p->labels, c->classes, "predict"));
        if (ds.c != c->in_c || ds.h != c->in_h || ds.w != c->in_w) {
            st = nas_error(NAS_EFORMAT,
                           "%s: images are %dx%d with %d channel(s); the model takes %dx%d with %d",
                           p->inputs[0], ds.h, ds.w, ds.c, c->in_h, c->in_w, c->in_c);
            nas_data_free(&ds);
            return st;
        }
        n = p->limit > 0 && p->limit < ds.n ? p->limit : ds.n;
        all = nas_malloc((size_t)(n * img));
        res->labels = nas_malloc((size_t)n * sizeof *res->labels);
        if (all && res->labels) {
            memcpy(all, ds.images, (size_t)(n * img));
            memcpy(res->labels, ds.labels, (size_t)n * sizeof *res->labels);
        }
        nas_data_free(&ds);
    } else {
        for (int i = 0; i < p->n_inputs && (p->limit <= 0 || n < p->limit); i++) {
            uint8_t *px = NULL;
            int64_t k = 0;
            NAS_TRY(read_model_images(p->inputs[i], dataset, c, &px, &k));
            if (p->limit > 0 && n + k > p->limit) {
                k = p->limit - n;
            }
            uint8_t *grown = nas_realloc(all, (size_t)((n + k) * img));
            int32_t *file = nas_realloc(res->file, (size_t)(n + k) * sizeof *file);
            int64_t *index = file ? nas_realloc(res->index, (size_t)(n + k) * sizeof *index) : NULL;
            if (grown) {
                all = grown;
            }
            if (file) {
                res->file = file;
            }
            if (index) {
                res->index = index;
            }
            if (!grown || !file || !index) {
                nas_free(px);
                st = nas_error(NAS_ENOMEM, "predict: out of memory for %lld images",
                               (long long)(n + k));
                goto cleanup;
            }
            memcpy(all + n * img, px, (size_t)(k * img));
            for (int64_t j = 0; j < k; j++) {
                res->file[n + j] = i;
                res->index[n + j] = j;
            }
            n += k;
            nas_free(px);
        }
    }
    if (!all || n == 0) {
        st = nas_error(n == 0 ? NAS_EINVAL : NAS_ENOMEM,
                       n == 0 ? "predict: no images" : "predict: out of memory");
        goto cleanup;
    }
    if (!res->file) {
        res->file = nas_calloc((size_t)n, sizeof *res->file);
        res->index = nas_malloc((size_t)n * sizeof *res->index);
        if (!res->file || !res->index) {
            st = nas_error(NAS_ENOMEM, "predict: out of memory");
            goto cleanup;
        }
        for (int64_t j = 0; j < n; j++) {
            res->index[j] = j;
        }
    }
cleanup:
    if (st != NAS_OK) {
        nas_free(all);
        return st;
    }
    *images = all;
    *n_out = n;
    return NAS_OK;
}

nas_status nas_job_predict(const nas_job_predict_params *p, nas_job_predict_result *res) {
    memset(res, 0, sizeof *res);
    res->accuracy = (double)NAN;
    if (p->n_inputs < 1 || !p->inputs) {
        return nas_error(NAS_EINVAL, "predict: no image files given");
    }
    if (p->batch < 1) {
        return nas_error(NAS_EINVAL, "predict: the batch must be >= 1");
    }
    resolved r;
    NAS_CHECK(resolve(&p->src, &r));
    nas_status st = NAS_OK;
    uint8_t *images = NULL;
    int64_t n = 0;
    const nas_net_config *c = &r.em.net.cfg;
    NAS_TRY(read_inputs(p, c, r.info.dataset, &images, &n, res));
    const int K = c->classes;
    res->n = n;
    res->classes = K;
    res->logits = nas_malloc((size_t)(n * K) * sizeof *res->logits);
    res->probs = nas_malloc((size_t)(n * K) * sizeof *res->probs);
    res->pred = nas_malloc((size_t)n * sizeof *res->pred);
    if (!res->logits || !res->probs || !res->pred) {
        st = nas_error(NAS_ENOMEM, "predict: out of memory for %lld images", (long long)n);
        goto cleanup;
    }
    NAS_TRY(nas_export_forward(&r.em, images, n, p->batch, res->logits));
    int64_t right = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *z = res->logits + i * K;
        float *q = res->probs + i * K;
        int best = 0;
        for (int k = 1; k < K; k++) {
            best = z[k] > z[best] ? k : best;
        }
        double sum = 0.0;
        for (int k = 0; k < K; k++) {
            sum += exp((double)z[k] - (double)z[best]);
        }
        for (int k = 0; k < K; k++) {
            q[k] = (float)(exp((double)z[k] - (double)z[best]) / sum);
        }
        res->pred[i] = best;
        right += res->labels && res->labels[i] == best;
    }
    if (res->labels) {
        res->accuracy = (double)right / (double)n;
    }
    res->model = r.info;
cleanup:
    nas_free(images);
    resolved_free(&r);
    if (st != NAS_OK) {
        nas_job_predict_result_free(res);
    }
    return st;
}

/* ---- dropping kept weights ------------------------------------------------------------------- */

nas_status nas_job_drop_weights(const char *db, int64_t training, int64_t *n_dropped,
                                int64_t *bytes) {
    if (!db) {
        return nas_error(NAS_EINVAL, "drop-weights: no results store given");
    }
    nas_store *s = NULL;
    NAS_CHECK(nas_store_open(&s, db, 0));
    nas_status st = nas_store_drop_weights(s, training, n_dropped, bytes);
    nas_store_close(s);
    return st;
}
