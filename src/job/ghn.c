/*
 * GHN hand-offs shared by the jobs: the data split a GHN was trained and is scored on, loading a
 * stored GHN, and storing a trained one.
 */
#include "job-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

nas_status nas_i_job_ghn_data(const char *name, const char *dir, nas_ghn_data_info *info,
                              bool compute_norm, nas_dataset *ds, nas_data_split *split) {
    memset(split, 0, sizeof *split);
    char dataset[sizeof info->dataset]; /* the name may live in *info itself */
    snprintf(dataset, sizeof dataset, "%s", name);
    if (!nas_data_known(dataset)) {
        return nas_error(NAS_EINVAL, "--data: unknown dataset '%s' (%s)", dataset,
                         nas_data_names());
    }
    NAS_CHECK(nas_data_open(ds, dataset, dir, "train"));
    if (info->n_val < 1 || info->n_val >= ds->n) {
        nas_data_free(ds);
        return nas_error(NAS_EINVAL, "--val: %lld validation images of %lld is out of range",
                         (long long)info->n_val, (long long)ds->n);
    }
    nas_status st = nas_data_split_make(split, ds->n, info->n_val, info->split_seed);
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
    return st;
}

nas_status nas_i_job_ghn_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
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

nas_status nas_i_job_ghn_save_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                                    int64_t *ghn_id) {
    void *bytes = NULL;
    size_t n = 0;
    NAS_CHECK(nas_ghn_save_mem(g, tr, &bytes, &n));
    nas_status st = nas_i_job_ghn_store(db, g, tr, bytes, n, ghn_id);
    nas_free(bytes);
    return st;
}
