/*
 * Scorers by name for the jobs: the accepted names, comma-separated lists of them, and building
 * one on the data a job loaded (the GHN's validation subset, the proxies' training batch).
 */
#include "job-impl.h"

#include "ghnas/proxy.h"

#include <stdio.h>
#include <string.h>

bool nas_job_scorer_known(const char *name) {
    static const char *const known[] = {"ghn",  "params",  "flops",     "grad_norm",
                                        "snip", "synflow", "jacob_cov", "naswot"};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        if (strcmp(name, known[k]) == 0) {
            return true;
        }
    }
    return false;
}

nas_status nas_job_scorer_list(const char *opt, const char *list, char *buf, size_t buf_cap,
                               const char **names, int cap, int *n) {
    *n = 0;
    if (strlen(list) >= buf_cap) {
        return nas_error(NAS_EINVAL, "%s: the list is too long", opt);
    }
    snprintf(buf, buf_cap, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        size_t len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ') {
            tok[--len] = '\0';
        }
        if (!nas_job_scorer_known(tok)) {
            return nas_error(NAS_EINVAL, "%s: unknown scorer '%s' (known: %s)", opt, tok,
                             NAS_JOB_SCORERS);
        }
        bool seen = false;
        for (int k = 0; k < *n; k++) {
            seen = seen || strcmp(names[k], tok) == 0;
        }
        if (seen) {
            continue;
        }
        if (*n >= cap) {
            return nas_error(NAS_EINVAL, "%s: more than %d scorers", opt, cap);
        }
        names[(*n)++] = tok;
    }
    if (*n == 0) {
        return nas_error(NAS_EINVAL, "%s: no scorer named", opt);
    }
    return NAS_OK;
}

nas_status nas_i_job_make_scorer(const char *name, nas_scorer *out, const nas_ghn *g,
                                 const nas_ghn_data_info *info, const nas_dataset *ds,
                                 const nas_data_split *split, int64_t val_n) {
    char data_id[160];
    if (strcmp(name, "params") == 0 || strcmp(name, "flops") == 0) {
        return nas_scorer_builtin(out, name);
    }
    if (strcmp(name, "ghn") == 0) {
        const int64_t n = val_n < split->n_val ? val_n : split->n_val;
        snprintf(data_id, sizeof data_id, "%s validation split %lld/seed %llu, first images",
                 info->dataset, (long long)info->n_val, (unsigned long long)info->split_seed);
        nas_ghn_scorer_config gs = {.ghn = g,
                                    .ds = ds,
                                    .idx = split->val,
                                    .n = n,
                                    .norm = info->norm,
                                    .batch = info->eval_batch > 0 ? info->eval_batch : 128,
                                    .data_id = data_id};
        return nas_scorer_ghn(out, &gs);
    }
    snprintf(data_id, sizeof data_id, "%s training split (validation %lld/seed %llu)",
             info->dataset, (long long)info->n_val, (unsigned long long)info->split_seed);
    nas_proxy_config pc = {.ds = ds,
                           .idx = split->train,
                           .n = split->n_train,
                           .norm = info->norm,
                           .batch = NAS_I_JOB_PROXY_BATCH,
                           .seed = 1,
                           .data_id = data_id};
    return nas_scorer_proxy(out, name, &pc);
}
