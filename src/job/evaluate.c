/*
 * The evaluate job: train chosen architectures of a search run on its data set (training split,
 * test split for the test accuracy, the run's GHN for init "ghn"), store them and correlate
 * every scorer of the run with the trained validation accuracy.
 */
#include "job-impl.h"

#include <stdio.h>
#include <string.h>

nas_job_evaluate_params nas_job_evaluate_defaults(void) {
    nas_job_evaluate_params p;
    memset(&p, 0, sizeof p);
    p.eval = nas_eval_config_default();
    return p;
}

void nas_job_evaluate_result_free(nas_job_evaluate_result *res) {
    if (res) {
        nas_eval_result_free(&res->eval);
        nas_free(res->corr);
        res->corr = NULL;
        res->n_corr = 0;
    }
}

int nas_i_job_crop_pad(const nas_data_desc *d, int h, int w, int pad) {
    if (!d->natural || pad != NAS_I_JOB_IDX_CROP_PAD) {
        return pad; /* IDX data keeps its recipe (pad 2 at 28x28); a pad the caller chose stays */
    }
    const int side = h < w ? h : w; /* 4 at 32x32, in proportion elsewhere, at least 1 */
    const int scaled = (4 * side + 16) / 32;
    return scaled < 1 ? 1 : scaled;
}

nas_status nas_i_job_evaluate_in(nas_store *db, const nas_job_evaluate_params *p,
                                 nas_job_evaluate_result *res) {
    memset(res, 0, sizeof *res);
    nas_status st = NAS_OK;
    nas_eval_config ec = p->eval;
    nas_run_info ri;
    memset(&ri, 0, sizeof ri);
    nas_dataset train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    nas_ghn g;
    memset(&g, 0, sizeof g);
    ec.recipe.seed = ec.seed;
    NAS_TRY(nas_store_run_get(db, ec.search_run, &ri));
    if (strcmp(ri.kind, "search") != 0) {
        st = nas_error(NAS_EINVAL, "run %lld is not a search run (its kind is %s)",
                       (long long)ri.id, ri.kind);
        goto cleanup;
    }
    if (strcmp(ec.init, "ghn") == 0) {
        if (ri.ghn_id <= 0) {
            st = nas_error(NAS_EINVAL, "run %lld used no GHN, so --init ghn has none to use",
                           (long long)ri.id);
            goto cleanup;
        }
        NAS_TRY(nas_i_job_ghn_from_store(db, ri.ghn_id, &g, NULL));
        ec.ghn = &g;
    }
    /* the run's data, reopened from its canonical spec; it must be the data the run saw */
    nas_data_desc desc;
    NAS_TRY(nas_i_job_data_open(ri.dataset, p->data_dir, "train", &train, &desc));
    char what[48];
    snprintf(what, sizeof what, "run %lld", (long long)ri.id);
    NAS_TRY(nas_i_job_data_check(what, ri.fingerprint, desc.spec, &train));
    NAS_TRY(nas_data_load(&test, &desc, "test"));
    ec.recipe.crop_pad = nas_i_job_crop_pad(&desc, train.h, train.w, ec.recipe.crop_pad);
    ec.train = &train;
    ec.test = &test;
    st = nas_eval_run(db, &ec, &res->eval);
    if (res->eval.run_id > 0 && res->eval.n > 0 && res->eval.n_corr >= 2) {
        char msg[512]; /* a failure of the run itself stays the message */
        snprintf(msg, sizeof msg, "%s", nas_errmsg());
        if (nas_eval_correlations(db, ec.search_run, res->eval.items, res->eval.n, 1000, 1,
                                  &res->corr, &res->n_corr) != NAS_OK) {
            snprintf(res->corr_error, sizeof res->corr_error, "%s", nas_errmsg());
            res->corr = NULL;
            res->n_corr = 0;
        }
        if (st != NAS_OK) {
            nas_error(st, "%s", msg);
        } else {
            nas_error_clear();
        }
    }
    res->interrupted = res->eval.status == NAS_RUN_INTERRUPTED && ec.stop && *ec.stop;
cleanup:
    res->config = ec;
    res->config.train = res->config.test = NULL;
    res->config.ghn = NULL;
    res->config.only = NULL;
    res->config.n_only = 0;
    nas_ghn_free(&g);
    nas_data_free(&train);
    nas_data_free(&test);
    nas_run_info_free(&ri);
    return st;
}

nas_status nas_job_evaluate(const nas_job_evaluate_params *p, nas_job_evaluate_result *res) {
    memset(res, 0, sizeof *res);
    if (!p->db) {
        return nas_error(NAS_EINVAL, "evaluate: no results store given");
    }
    if (p->eval.threads > 0) {
        nas_set_threads(p->eval.threads);
    }
    if (p->eval.quiet) {
        nas_progress_set_enabled(false);
    }
    nas_store *db = NULL;
    NAS_CHECK(nas_store_open(&db, p->db, 0));
    nas_status st = nas_i_job_evaluate_in(db, p, res);
    nas_store_close(db);
    return st;
}
