/*
 * GHN hand-offs shared by the jobs: the data split a GHN was trained and is scored on, loading a
 * stored GHN, storing a trained one with its training curve, and a GHN the user gives (a stored
 * id or a checkpoint file imported into the store).
 */
#include "job-impl.h"

#include "ghnas/container.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

nas_status nas_i_job_data_resolve(const char *spec, const char *dir, nas_data_desc *desc) {
    memset(desc, 0, sizeof *desc);
    if (!spec || !spec[0]) {
        return nas_error(NAS_EINVAL, "--data: no data set given (%s, or a path)", nas_data_names());
    }
    nas_status st = nas_data_resolve(desc, spec, dir);
    return st == NAS_OK ? NAS_OK : nas_error_wrap(st, "--data");
}

nas_status nas_i_job_data_open(const char *spec, const char *dir, const char *split,
                               nas_dataset *ds, nas_data_desc *desc) {
    memset(ds, 0, sizeof *ds);
    nas_data_desc own;
    nas_data_desc *d = desc ? desc : &own;
    NAS_CHECK(nas_i_job_data_resolve(spec, dir, d));
    return nas_data_load(ds, d, split);
}

nas_status nas_i_job_data_check(const char *what, const char *have_fp, const char *spec,
                                const nas_dataset *ds) {
    if (!have_fp || !have_fp[0]) {
        NAS_INFO("%s records no data fingerprint (made before ghnas identified data sets by "
                 "content): assuming it was made on %s (fingerprint %s)",
                 what, spec, ds->fingerprint);
        return NAS_OK;
    }
    if (ds->fingerprint[0] && strcmp(have_fp, ds->fingerprint) != 0) {
        return nas_error(NAS_EINVAL,
                         "data set changed since %s was made: fingerprint %s, now %s (%s); use "
                         "the data it was made on, or start afresh on this data",
                         what, have_fp, ds->fingerprint, spec);
    }
    return NAS_OK;
}

int64_t nas_i_job_default_val_n(int64_t n_train) {
    /* Fashion-MNIST's and MNIST's 60,000 keep the 10,000 of every stored GHN and run */
    if (n_train >= 6 * NAS_I_JOB_VAL_N) {
        return NAS_I_JOB_VAL_N;
    }
    int64_t v = n_train / 6;
    return v < 1 ? 1 : v;
}

nas_status nas_i_job_ghn_split(const nas_dataset *ds, const char *spec, nas_ghn_data_info *info,
                               bool compute_norm, nas_data_split *split) {
    memset(split, 0, sizeof *split);
    if (!compute_norm) { /* a recorded GHN: its data must be this data */
        if (!info->fingerprint[0]) {
            NAS_INFO("the GHN records no data fingerprint (trained before ghnas identified data "
                     "sets by content): assuming it was trained on %s (fingerprint %s)",
                     spec, ds->fingerprint);
        } else if (strcmp(info->fingerprint, ds->fingerprint) != 0) {
            return nas_error(NAS_EINVAL,
                             "the GHN was trained on other data (fingerprint %s) than the data "
                             "set %s (fingerprint %s): train a GHN on this data",
                             info->fingerprint, spec, ds->fingerprint);
        }
        if (info->in_c > 0 && (info->in_c != ds->c || info->in_h != ds->h || info->in_w != ds->w)) {
            return nas_error(NAS_EINVAL,
                             "the GHN was trained on %dx%dx%d images, the data set %s has "
                             "%dx%dx%d",
                             info->in_c, info->in_h, info->in_w, spec, ds->c, ds->h, ds->w);
        }
    } else if (info->n_val == NAS_I_JOB_VAL_N) {
        info->n_val = nas_i_job_default_val_n(ds->n);
    }
    if (info->n_val < 1 || info->n_val >= ds->n) {
        return nas_error(NAS_EINVAL, "--val: %lld validation images of %lld is out of range",
                         (long long)info->n_val, (long long)ds->n);
    }
    nas_status st = nas_data_split_make(split, ds->n, info->n_val, info->split_seed);
    if (st == NAS_OK && compute_norm) {
        st = nas_data_norm_compute(ds, split->train, split->n_train, &info->norm);
    }
    if (st != NAS_OK) {
        nas_data_split_free(split);
        return st;
    }
    if (info->dataset != spec) {
        snprintf(info->dataset, sizeof info->dataset, "%s", spec);
    }
    snprintf(info->fingerprint, sizeof info->fingerprint, "%s", ds->fingerprint);
    info->in_c = ds->c;
    info->in_h = ds->h;
    info->in_w = ds->w;
    return NAS_OK;
}

nas_status nas_i_job_ghn_data(const char *name, const char *dir, nas_ghn_data_info *info,
                              bool compute_norm, nas_dataset *ds, nas_data_split *split) {
    memset(split, 0, sizeof *split);
    nas_data_desc desc; /* the name may live in *info itself: resolved before it is written */
    NAS_CHECK(nas_i_job_data_open(name, dir, "train", ds, &desc));
    nas_status st = nas_i_job_ghn_split(ds, desc.spec, info, compute_norm, split);
    if (st != NAS_OK) {
        nas_data_free(ds);
    }
    return st;
}

nas_status nas_i_job_proxy_data(const char *name, const char *dir, nas_ghn_data_info *info,
                                nas_dataset *ds, nas_data_split *split) {
    info->n_val = NAS_I_JOB_VAL_N;
    info->split_seed = NAS_I_JOB_SPLIT_SEED;
    return nas_i_job_ghn_data(name, dir, info, true, ds, split);
}

nas_status nas_i_job_ghn_from_store(nas_store *db, int64_t ghn_id, nas_ghn *g,
                                    nas_ghn_data_info *info) {
    void *bytes = NULL;
    size_t n = 0;
    NAS_CHECK(nas_store_ghn_checkpoint(db, ghn_id, &bytes, &n));
    char what[48];
    snprintf(what, sizeof what, "GHN %lld of the store", (long long)ghn_id);
    nas_status st = nas_ghn_load_mem(g, NULL, info, bytes, n, what, NULL);
    nas_free(bytes);
    if (st == NAS_OK && info && !info->fingerprint[0]) {
        st = nas_store_ghn_fingerprint(db, ghn_id, info->fingerprint);
    }
    return st;
}

void nas_i_ghn_curve_add(nas_i_ghn_curve *c, int64_t step, double loss, double acc) {
    if (!isfinite(loss)) {
        return;
    }
    if (c->every == 0) {
        c->every = 1;
    }
    if (c->in_bin == 0) {
        c->open_first = step;
    }
    c->sum_loss += loss;
    c->sum_acc += isfinite(acc) ? acc : 0.0;
    c->in_bin++;
    c->open_last = step;
    if (step - c->open_first + 1 < c->every) {
        return;
    }
    if (c->n == NAS_I_GHN_CURVE_MAX) { /* merge neighbours: half the bins, twice the steps */
        int m = 0;
        for (int i = 0; i + 1 < c->n; i += 2, m++) {
            c->step[m] = c->step[i + 1];
            c->loss[m] = 0.5 * (c->loss[i] + c->loss[i + 1]);
            c->acc[m] = 0.5 * (c->acc[i] + c->acc[i + 1]);
        }
        c->n = m;
        c->every *= 2;
        if (step - c->open_first + 1 < c->every) {
            return;
        }
    }
    c->step[c->n] = c->open_last;
    c->loss[c->n] = c->sum_loss / (double)c->in_bin;
    c->acc[c->n] = c->sum_acc / (double)c->in_bin;
    c->n++;
    c->sum_loss = c->sum_acc = 0.0;
    c->in_bin = 0;
}

/* Append `"curve": {...}` (with a leading ", ") to buf; false when it does not fit. */
static bool curve_json(const nas_i_ghn_curve *c, char *buf, size_t cap) {
    size_t len = strlen(buf);
    int n = c->n + (c->in_bin > 0); /* the open bin too */
    for (int part = 0; part < 3; part++) {
        static const char *const names[3] = {"step", "loss", "acc"};
        int w = snprintf(buf + len, cap - len, "%s\"%s\": [", part == 0 ? ", \"curve\": {" : ", ",
                         names[part]);
        if (w < 0 || (size_t)w >= cap - len) {
            return false;
        }
        len += (size_t)w;
        for (int i = 0; i < n; i++) {
            const bool open = i == c->n;
            double v = part == 0   ? (double)(open ? c->open_last : c->step[i])
                       : part == 1 ? (open ? c->sum_loss / (double)c->in_bin : c->loss[i])
                                   : (open ? c->sum_acc / (double)c->in_bin : c->acc[i]);
            w = snprintf(buf + len, cap - len, part == 0 ? "%s%.0f" : "%s%.6g", i ? ", " : "", v);
            if (w < 0 || (size_t)w >= cap - len) {
                return false;
            }
            len += (size_t)w;
        }
        w = snprintf(buf + len, cap - len, "]");
        if (w < 0 || (size_t)w >= cap - len) {
            return false;
        }
        len += (size_t)w;
    }
    return snprintf(buf + len, cap - len, ", \"every\": %lld}", (long long)c->every) <
           (int)(cap - len);
}

nas_status nas_i_job_ghn_store_curve(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                                     const nas_i_ghn_curve *curve, const void *ckpt, size_t n_ckpt,
                                     int64_t *ghn_id) {
    /* 3 arrays of at most NAS_I_GHN_CURVE_MAX + 1 numbers of at most ~24 characters */
    const size_t cap = 512 + (curve ? 3 * 26 * (NAS_I_GHN_CURVE_MAX + 1) : 0);
    char *cfg = nas_malloc(cap);
    if (!cfg) {
        return nas_error(NAS_ENOMEM, "storing a GHN: out of memory");
    }
    snprintf(cfg, cap,
             "{\"hid\": %d, \"decoder\": \"%s\", \"meta_batch\": %d, \"batch\": %d, "
             "\"lr\": %g, \"seed\": %llu",
             g->cfg.hid, nas_ghn_decoder_name(g->cfg.decoder), tr->tc.meta_batch, tr->tc.batch_size,
             (double)tr->tc.lr, (unsigned long long)tr->tc.seed);
    if (curve && curve->n + (curve->in_bin > 0) > 0 && !curve_json(curve, cfg, cap - 2)) {
        nas_free(cfg);
        return nas_error(NAS_EINTERNAL, "storing a GHN: the training curve does not fit");
    }
    strcat(cfg, "}");
    nas_ghn_record rec = {.space = tr->data.space,
                          .dataset = tr->data.dataset,
                          .fingerprint = tr->data.fingerprint,
                          .config_json = cfg,
                          .steps = tr->step,
                          .train_loss = tr->last_loss,
                          .val_acc = (double)NAN,
                          .seconds = tr->seconds,
                          .checkpoint = ckpt,
                          .checkpoint_bytes = n_ckpt};
    nas_status st = nas_store_ghn_add(db, &rec, ghn_id);
    nas_free(cfg);
    return st;
}

nas_status nas_i_job_ghn_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                               const void *ckpt, size_t n_ckpt, int64_t *ghn_id) {
    return nas_i_job_ghn_store_curve(db, g, tr, NULL, ckpt, n_ckpt, ghn_id);
}

nas_status nas_i_job_ghn_save_store_curve(nas_store *db, const nas_ghn *g,
                                          const nas_ghn_trainer *tr, const nas_i_ghn_curve *curve,
                                          int64_t *ghn_id) {
    void *bytes = NULL;
    size_t n = 0;
    NAS_CHECK(nas_ghn_save_mem(g, tr, &bytes, &n));
    nas_status st = nas_i_job_ghn_store_curve(db, g, tr, curve, bytes, n, ghn_id);
    nas_free(bytes);
    return st;
}

nas_status nas_i_job_ghn_save_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                                    int64_t *ghn_id) {
    return nas_i_job_ghn_save_store_curve(db, g, tr, NULL, ghn_id);
}

nas_status nas_i_job_ghn_import(nas_store *db, const void *ckpt, size_t n_ckpt,
                                const nas_ghn_data_info *info, int64_t *ghn_id) {
    int64_t newest = 0;
    nas_status st = nas_store_ghn_find(db, info->space, info->dataset, info->fingerprint, &newest);
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
                          .fingerprint = info->fingerprint,
                          .config_json = "{}",
                          .steps = 0,
                          .train_loss = (double)NAN,
                          .val_acc = (double)NAN,
                          .seconds = (double)NAN,
                          .checkpoint = ckpt,
                          .checkpoint_bytes = n_ckpt};
    return nas_store_ghn_add(db, &rec, ghn_id);
}

nas_status nas_i_job_ghn_given(nas_store *db, const char *opt, const char *spec, nas_ghn *g,
                               nas_ghn_data_info *info, int64_t *ghn_id) {
    char *end = NULL;
    long id = strtol(spec, &end, 10);
    if (end != spec && *end == '\0' && access(spec, F_OK) != 0) {
        if (id < 1) {
            return nas_error(NAS_EINVAL, "%s: '%s' is not a GHN id (>= 1)", opt, spec);
        }
        *ghn_id = id;
        return nas_i_job_ghn_from_store(db, *ghn_id, g, info);
    }
    void *bytes = NULL; /* read once: loaded and imported from the same bytes */
    size_t n = 0;
    NAS_CHECK(nas_ghn_read_file(spec, &bytes, &n)); /* header first, regular files only */
    nas_status st = nas_ghn_load_mem(g, NULL, info, bytes, n, spec, NULL);
    if (st == NAS_OK && info->dataset[0] == '\0') {
        st = nas_error(NAS_EFORMAT, "%s: the checkpoint records no dataset (weights only?)", spec);
    }
    if (st == NAS_OK) {
        st = nas_i_job_ghn_import(db, bytes, n, info, ghn_id);
    }
    nas_free(bytes);
    return st;
}
