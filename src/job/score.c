/*
 * The score job: score given (or random) architectures without training them, with any scorers
 * at once -- a trained GHN's predicted weights (validation accuracy and loss on the split
 * recorded in its checkpoint), the zero-cost proxies, params and FLOPs -- through the scorer
 * interface and the scoring path the search uses (nas_score_candidates), one architecture per
 * thread.
 */
#include "job-impl.h"

#include "ghnas/space.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nas_job_score_params nas_job_score_defaults(void) {
    nas_job_score_params p;
    memset(&p, 0, sizeof p);
    p.data = "fashion-mnist";
    p.val_n = 2000;
    p.seed = 1;
    return p;
}

void nas_job_score_result_free(nas_job_score_result *res) {
    if (res) {
        nas_free(res->items);
        res->items = NULL;
        res->n = 0;
    }
}

/* The loss of the ghn scorer's aux_json ({"loss": 0.123}, or null: NaN) into *loss; other
   scorers' texts leave it alone. */
static void take_ghn_loss(const char *aux, double *loss) {
    const char *at = strstr(aux, "\"loss\": ");
    if (at) {
        char *end = NULL;
        double v = strtod(at + 8, &end);
        *loss = end != at + 8 ? v : (double)NAN;
    }
}

nas_status nas_job_score(const nas_job_score_params *p, nas_job_score_result *res) {
    memset(res, 0, sizeof *res);
    char list_buf[256];
    const char *names[NAS_JOB_SCORERS_MAX];
    int n_names = 0;
    const char *list = p->scorers ? p->scorers : "ghn";
    NAS_CHECK(nas_score_parse_list("--scorers", list, list_buf, sizeof list_buf, names,
                                   NAS_JOB_SCORERS_MAX, &n_names));
    bool want_ghn = false, want_data = false, want_ranker = false;
    for (int k = 0; k < n_names; k++) {
        const nas_score_entry *e = NULL;
        NAS_CHECK(nas_score_find(names[k], &e));
        res->has_params = res->has_params || strcmp(names[k], "params") == 0;
        want_ghn = want_ghn || (e->needs & NAS_SCORE_NEEDS_GHN);
        want_ranker = want_ranker || (e->needs & NAS_SCORE_NEEDS_RANKER);
        want_data = want_data || e->needs != NAS_SCORE_NEEDS_NONE;
        snprintf(res->names[k], sizeof res->names[k], "%s", names[k]);
    }
    res->n_scorers = n_names;
    res->has_ghn = want_ghn;
    res->has_data = want_data;
    if (want_ranker && !p->db) {
        return nas_error(NAS_EINVAL, "the ranker scorer needs --db STORE (where it was fitted)");
    }
    if (want_ghn && !p->ghn && !want_ranker) {
        return nas_error(NAS_EINVAL, "the ghn scorer needs --ghn FILE");
    }
    if (p->n_archs == 0 && p->random == 0) {
        return nas_error(NAS_EINVAL, "give at least one ARCH or --random K");
    }
    if (p->threads > 0) {
        nas_set_threads(p->threads);
    }
    nas_status st = NAS_OK;
    nas_ghn g;
    nas_ghn_data_info info;
    nas_dataset ds;
    nas_data_split split;
    nas_space sp;
    nas_scorer sc[NAS_JOB_SCORERS_MAX];
    memset(&g, 0, sizeof g);
    memset(&info, 0, sizeof info);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    memset(sc, 0, sizeof sc);
    nas_arch *archs = NULL;
    nas_score_cand *cands = NULL;
    nas_store *db = NULL;
    nas_rank_model rk_model;
    memset(&rk_model, 0, sizeof rk_model);
    nas_ranker_scorer_config rk = {0};
    int64_t rk_ghn = 0;
    int rk_C = 0, rk_N = 0;
    char rk_fp[17] = ""; /* the ranker's data fingerprint, checked once the data is loaded */
    const char *space_name = p->space;
    const int n_items = p->n_archs + (int)p->random;
    nas_data_desc desc; /* the canonical spec of --data (the proxies' data, the ranker's) */
    NAS_TRY(nas_i_job_data_resolve(p->data, p->data_dir, &desc));
    if (want_ranker) { /* the ranker and the GHN it reads, from the store */
        NAS_TRY(nas_store_open(&db, p->db, NAS_STORE_READONLY));
        NAS_TRY(nas_i_job_ranker_load(db, p->ranker, space_name ? space_name : "nb201", desc.spec,
                                      NULL, &rk_model, &rk.id, &rk_ghn, &rk_C, &rk_N, rk_fp));
        rk.model = &rk_model;
        if (rk_ghn > 0 && p->ghn) {
            st = nas_error(NAS_EINVAL,
                           "--ghn: the ranker scorer uses the GHN ranker %lld was fitted with "
                           "(GHN %lld of the store); leave --ghn out",
                           (long long)rk.id, (long long)rk_ghn);
            goto cleanup;
        }
        if (rk_ghn > 0) {
            NAS_TRY(nas_i_job_ghn_from_store(db, rk_ghn, &g, &info));
            want_ghn = true;
            res->has_ghn = true;
        } else if (want_ghn) {
            st = nas_error(NAS_EINVAL, "the ghn scorer needs --ghn FILE");
            goto cleanup;
        }
    }
    if (want_ghn && !want_ranker) {
        NAS_TRY(nas_ghn_load(&g, NULL, &info, p->ghn));
        if (info.dataset[0] == '\0') {
            st = nas_error(NAS_EFORMAT, "%s: the checkpoint records no dataset (weights only?)",
                           p->ghn);
            goto cleanup;
        }
        if (!space_name) {
            space_name = info.space;
        }
    }
    if (want_ghn) {
        NAS_TRY(nas_i_job_ghn_data(info.dataset, p->data_dir, &info, false, &ds, &split));
    } else if (want_data) {
        NAS_TRY(nas_i_job_proxy_data(desc.spec, p->data_dir, &info, &ds, &split));
    }
    if (want_ranker) {
        NAS_TRY(nas_i_job_ranker_check(rk.id, rk_fp, desc.spec, ds.fingerprint));
    }
    NAS_TRY(nas_space_load(&sp, space_name ? space_name : "nb201"));
    snprintf(res->space, sizeof res->space, "%s", sp.name);
    snprintf(res->decoder, sizeof res->decoder, "%s", nas_ghn_decoder_name(g.cfg.decoder));
    snprintf(res->dataset, sizeof res->dataset, "%s", info.dataset);
    res->n_eval = p->val_n < split.n_val ? p->val_n : split.n_val;
    res->split_seed = info.split_seed;
    res->eval_batch = p->batch > 0 ? p->batch : (info.eval_batch > 0 ? info.eval_batch : 128);
    info.eval_batch = res->eval_batch;
    snprintf(res->data_id, sizeof res->data_id, "%s training split (validation %lld/seed %llu)",
             info.dataset, (long long)info.n_val, (unsigned long long)info.split_seed);
    res->proxy_batch = NAS_I_JOB_PROXY_BATCH;
    for (int k = 0; k < n_names; k++) {
        NAS_TRY(nas_i_job_make_scorer(names[k], &sc[k], want_ghn ? &g : NULL, &info, &ds, &split,
                                      p->val_n, want_ranker ? &rk : NULL));
    }
    res->items = nas_calloc((size_t)n_items, sizeof *res->items);
    archs = nas_calloc((size_t)n_items, sizeof *archs);
    cands = nas_calloc((size_t)n_items, sizeof *cands);
    if (!res->items || !archs || !cands) {
        st = nas_error(NAS_ENOMEM, "score: out of memory");
        goto cleanup;
    }
    res->n = n_items;
    for (int k = 0; k < p->n_archs; k++) {
        NAS_TRY(nas_arch_decode(&sp, p->archs[k], &archs[k]));
    }
    nas_rng rng;
    nas_rng_seed(&rng, p->seed);
    for (int k = p->n_archs; k < n_items; k++) {
        NAS_TRY(nas_arch_sample_valid(&sp, &rng, 0, &archs[k]));
    }
    for (int k = 0; k < n_items; k++) {
        NAS_TRY(nas_arch_encode(&sp, &archs[k], res->items[k].arch, sizeof res->items[k].arch));
        res->items[k].ghn_loss = (double)NAN;
    }
    nas_net_config nc = nas_net_config_default();
    nc.C = p->C == 0 && p->N == 0 ? rk_C : p->C;
    nc.N = p->C == 0 && p->N == 0 ? rk_N : p->N;
    if (want_data) {
        nc.in_c = ds.c;
        nc.in_h = ds.h;
        nc.in_w = ds.w;
        nc.classes = want_ghn ? g.cfg.classes : ds.n_classes;
    }
    const nas_scorer *scp[NAS_JOB_SCORERS_MAX];
    for (int j = 0; j < n_names; j++) {
        scp[j] = &sc[j];
    }
    for (int k = 0; k < n_items; k++) {
        cands[k].arch = &archs[k];
    }
    nas_score_run_config rc = {.threads = p->threads};
    NAS_TRY(nas_score_candidates(&sp, &nc, scp, n_names, cands, n_items, &rc));
    for (int k = 0; k < n_items; k++) {
        const nas_score_cand *c = &cands[k];
        nas_job_score_item *it = &res->items[k];
        if (c->st != NAS_OK) {
            st = nas_error(c->st, "score: %s: %s", it->arch, c->msg);
            goto cleanup;
        }
        it->params = c->n_params;
        for (int j = 0; j < n_names; j++) {
            if (c->out[j].st != NAS_OK) {
                st = nas_error(c->out[j].st, "score: %s: %s: %s", it->arch, sc[j].name,
                               c->out[j].text);
                goto cleanup;
            }
            it->value[j] = c->out[j].value;
            take_ghn_loss(c->out[j].text, &it->ghn_loss);
        }
    }
cleanup:
    for (int k = 0; k < NAS_JOB_SCORERS_MAX; k++) {
        nas_scorer_free(&sc[k]);
    }
    nas_free(cands);
    nas_free(archs);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_free(&g);
    nas_rank_model_free(&rk_model);
    nas_store_close(db);
    if (st != NAS_OK) {
        nas_job_score_result_free(res);
    }
    return st;
}
