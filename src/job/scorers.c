/*
 * Scorers for the jobs: one of the registry's (score.h) built on the data a job loaded (the
 * GHN's validation subset, the proxies' training batch).
 */
#include "job-impl.h"

#include "ghnas/score.h"

#include <stdio.h>
#include <string.h>

nas_status nas_i_job_make_scorer(const char *name, nas_scorer *out, const nas_ghn *g,
                                 const nas_ghn_data_info *info, const nas_dataset *ds,
                                 const nas_data_split *split, int64_t val_n) {
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
                                    .batch = NAS_I_JOB_PROXY_BATCH,
                                    .seed = 1,
                                    .data_id = data_id}};
    return nas_score_make(out, name, &in);
}
