/*
 * Scorers for the jobs: one of the registry's (score.h) built on the data a job loaded (the
 * GHN's validation subset, the proxies' training batch), the ranker featurizer on the same data,
 * and a fitted ranker loaded from the store.
 */
#include "job-impl.h"

#include "ghnas/score.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a scorer's images come from, for its recipe. */
typedef struct data_ids {
    char ghn[160], data[160];
} data_ids;

/* The inputs of the registry's scorers on a job's data (strings into *ids). */
static nas_score_inputs job_inputs(const nas_ghn *g, const nas_ghn_data_info *info,
                                   const nas_dataset *ds, const nas_data_split *split,
                                   int64_t val_n, data_ids *ids) {
    char *ghn_id = ids->ghn, *data_id = ids->data;
    const int64_t fit = split->n_train / NAS_I_JOB_PROXY_BATCH; /* whole batches available */
    const int calib_batches =
        (int)(fit < NAS_I_JOB_BN_CALIB_BATCHES ? fit : NAS_I_JOB_BN_CALIB_BATCHES);
    snprintf(ghn_id, sizeof ids->ghn, "%s validation split %lld/seed %llu, first images",
             info->dataset, (long long)info->n_val, (unsigned long long)info->split_seed);
    snprintf(data_id, sizeof ids->data, "%s training split (validation %lld/seed %llu)",
             info->dataset, (long long)info->n_val, (unsigned long long)info->split_seed);
    nas_score_inputs in = {.ghn = {.ghn = g,
                                   .ds = ds,
                                   .idx = split->val,
                                   .n = val_n < split->n_val ? val_n : split->n_val,
                                   .norm = info->norm,
                                   .batch = info->eval_batch > 0 ? info->eval_batch : 128,
                                   .data_id = ghn_id,
                                   .calib = {.ds = calib_batches > 0 ? ds : NULL,
                                             .idx = split->train,
                                             .batches = calib_batches,
                                             .batch_size = NAS_I_JOB_PROXY_BATCH},
                                   .calib_id = data_id},
                           .data = {.ds = ds,
                                    .idx = split->train,
                                    .n = split->n_train,
                                    .norm = info->norm,
                                    .batch = NAS_I_JOB_PROXY_BATCH,
                                    .seed = 1,
                                    .data_id = data_id}};
    return in;
}

nas_status nas_i_job_make_scorer(const char *name, nas_scorer *out, const nas_ghn *g,
                                 const nas_ghn_data_info *info, const nas_dataset *ds,
                                 const nas_data_split *split, int64_t val_n,
                                 const nas_ranker_scorer_config *rk) {
    const nas_score_entry *e = NULL;
    NAS_CHECK(nas_score_find(name, &e));
    if (e->needs == NAS_SCORE_NEEDS_NONE) {
        return nas_score_make(out, name, NULL);
    }
    data_ids ids;
    nas_score_inputs in = job_inputs(g, info, ds, split, val_n, &ids);
    if (rk) {
        in.ranker = *rk;
    }
    return nas_score_make(out, name, &in);
}

nas_status nas_i_job_featurizer(const nas_ghn *g, const nas_ghn_data_info *info,
                                const nas_dataset *ds, const nas_data_split *split, int64_t val_n,
                                const uint8_t *want, int d, nas_score_featurizer **out) {
    data_ids ids;
    nas_score_inputs in = job_inputs(g, info, ds, split, val_n, &ids);
    return nas_score_featurizer_make(out, &in, want, d);
}

nas_status nas_i_job_ranker_check(int64_t id, const char *rk_fp, const char *spec,
                                  const char *data_fp) {
    if (rk_fp && rk_fp[0] && data_fp && data_fp[0] && strcmp(rk_fp, data_fp) != 0) {
        return nas_error(NAS_EINVAL,
                         "ranker %lld was fitted on other data (fingerprint %s) than the data set "
                         "%s (fingerprint %s): fit a ranker on this data with `ghnas rank`",
                         (long long)id, rk_fp, spec, data_fp);
    }
    return NAS_OK;
}

nas_status nas_i_job_ranker_load(nas_store *db, const char *spec, const char *space,
                                 const char *dataset, const char *fingerprint, nas_rank_model *m,
                                 int64_t *ranker_id, int64_t *ghn_id, int *net_C, int *net_N,
                                 char rk_fp[17]) {
    memset(m, 0, sizeof *m);
    *net_C = *net_N = 0;
    char fp[17] = "";
    if (spec) {
        char *end = NULL;
        long long id = strtoll(spec, &end, 10);
        if (end == spec || *end != '\0' || id < 1) {
            return nas_error(NAS_EINVAL, "--ranker: '%s' is not a ranker id (>= 1)", spec);
        }
        *ranker_id = id;
    } else {
        NAS_CHECK(nas_store_ranker_find(db, space, dataset, fingerprint, ranker_id));
    }
    NAS_CHECK(nas_store_ranker_fingerprint(db, *ranker_id, fp));
    NAS_CHECK(nas_i_job_ranker_check(*ranker_id, fp, dataset, fingerprint));
    if (rk_fp) {
        memcpy(rk_fp, fp, sizeof fp);
    }
    void *bytes = NULL;
    size_t n = 0;
    char *recipe = NULL;
    NAS_CHECK(nas_store_ranker_checkpoint(db, *ranker_id, &bytes, &n, ghn_id, &recipe));
    char what[64];
    snprintf(what, sizeof what, "ranker %lld of the store", (long long)*ranker_id);
    nas_rank_identity expect;
    memset(&expect, 0, sizeof expect);
    snprintf(expect.space, sizeof expect.space, "%s", space);
    snprintf(expect.dataset, sizeof expect.dataset, "%s", dataset);
    expect.ghn_id = *ghn_id; /* the store's record of it; the model must agree */
    nas_status st = nas_rank_load(bytes, n, what, &expect, m);
    if (st == NAS_OK && m->id.ghn_id != *ghn_id) {
        st = nas_error(NAS_EFORMAT, "%s: its model reads GHN %lld but the store says GHN %lld",
                       what, (long long)m->id.ghn_id, (long long)*ghn_id);
        nas_rank_model_free(m);
    }
    json_error_t je;
    json_t *r = st == NAS_OK ? json_loads(recipe, 0, &je) : NULL;
    json_t *c = json_object_get(r, "net_C"), *nn = json_object_get(r, "net_N");
    *net_C = json_is_integer(c) ? (int)json_integer_value(c) : 0;
    *net_N = json_is_integer(nn) ? (int)json_integer_value(nn) : 0;
    json_decref(r);
    nas_free(recipe);
    nas_free(bytes);
    return st;
}
