/*
 * The train job: meta-batch training of a graph hypernetwork on a space and a data set, with
 * periodic and final checkpoints, resume from a checkpoint, a stop flag that saves before
 * stopping, and the trained GHN added to a results store with its training curve (the steps of
 * this call).
 */
#include "job-impl.h"

#include "ghnas/container.h"

#include "ghnas/space.h"

#include <stdio.h>
#include <string.h>

nas_job_train_params nas_job_train_defaults(void) {
    nas_job_train_params p;
    memset(&p, 0, sizeof p);
    p.space = "nb201";
    p.data = "fashion-mnist";
    p.out = "ghn.ckpt";
    p.ghn = nas_ghn_config_default();
    p.train = nas_ghn_train_defaults();
    p.n_val = NAS_I_JOB_VAL_N;
    p.save_every = 200;
    return p;
}

typedef struct step_ctx {
    const nas_ghn *g;
    const nas_job_train_params *p;
    nas_store *db; /* snapshots go here (NULL = none) */
    nas_status save_status;
    int n_snapshots;
    nas_i_ghn_curve curve; /* stored with the GHN */
} step_ctx;

static bool on_step(const nas_ghn_trainer *tr, double loss, double acc, void *user) {
    step_ctx *c = user;
    nas_i_ghn_curve_add(&c->curve, tr->step, loss, acc);
    if (c->p->save_every > 0 && tr->step % c->p->save_every == 0) {
        c->save_status = nas_ghn_save(c->g, tr, c->p->out);
        if (c->save_status != NAS_OK) {
            return false;
        }
    }
    const bool last = tr->tc.steps > 0 && tr->step >= tr->tc.steps; /* stored at the end anyway */
    if (c->db && c->p->snapshot_every > 0 && tr->step % c->p->snapshot_every == 0 && !last) {
        int64_t id = 0;
        c->save_status = nas_i_job_ghn_save_store_curve(c->db, c->g, tr, &c->curve, &id);
        if (c->save_status != NAS_OK) {
            return false;
        }
        c->n_snapshots++;
        NAS_INFO("snapshot at step %lld stored as GHN %lld", (long long)tr->step, (long long)id);
    }
    return !(c->p->stop && *c->p->stop);
}

nas_status nas_job_train(const nas_job_train_params *p, nas_job_train_result *res) {
    memset(res, 0, sizeof *res);
    const bool steps_given = p->given & NAS_JOB_GIVEN_STEPS;
    const bool time_given = p->given & NAS_JOB_GIVEN_TIME;
    const char *space_name = p->space, *dataset = p->data;
    nas_ghn_config gc = p->ghn;
    nas_ghn_train_config tc = p->train;
    if (p->quiet) {
        nas_progress_set_enabled(false);
    }
    /* where the result goes is checked before the training, not after it */
    NAS_CHECK(nas_path_check_output(p->out, "GHN checkpoint (--out)"));
    if (steps_given && !time_given) {
        tc.time_limit = 0.0;
    } else if (time_given && !steps_given) {
        tc.steps = 0;
    }
    void *ckpt = NULL;
    size_t n_ckpt = 0;
    nas_status st = NAS_OK;
    nas_ghn g;
    nas_ghn_trainer tr;
    nas_space sp;
    nas_dataset ds;
    nas_data_split split;
    nas_store *db = NULL;
    step_ctx *ctx = NULL; /* on the heap: the curve is a few kB */
    memset(&g, 0, sizeof g);
    memset(&tr, 0, sizeof tr);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    if (!p->resume) { /* a data set that cannot be resolved is refused before a store is made */
        nas_data_desc desc;
        NAS_TRY(nas_i_job_data_resolve(dataset, p->data_dir, &desc));
    }
    if (p->db) { /* opened first: a bad store fails before the training, not after it */
        NAS_TRY(nas_store_open(&db, p->db, NAS_STORE_CREATE));
    }
    if (p->resume) {
        NAS_TRY(nas_ghn_load_expect(&g, &tr, NULL, p->resume,
                                    (p->given & NAS_JOB_GIVEN_MODEL) ? &gc : NULL));
        if ((p->given & NAS_JOB_GIVEN_SPACE) && strcmp(tr.data.space, space_name) != 0) {
            st = nas_error(NAS_EINVAL, "%s was trained on space %s, not %s", p->resume,
                           tr.data.space, space_name);
            goto cleanup;
        }
        space_name = tr.data.space;
        dataset = tr.data.dataset;
        if (steps_given || time_given) {
            tr.tc.steps = steps_given ? tc.steps : 0;
            tr.tc.time_limit = time_given ? tc.time_limit : 0.0;
        }
        if (tc.threads > 0) {
            tr.tc.threads = tc.threads;
        }
        NAS_TRY(nas_i_job_ghn_data(dataset, p->data_dir, &tr.data, false, &ds, &split));
        NAS_INFO("resuming %s at step %lld (%s, %lld skipped so far)", p->resume,
                 (long long)tr.step, tr.data.space, (long long)tr.skipped);
    } else {
        nas_ghn_data_info di;
        memset(&di, 0, sizeof di);
        di.n_val = p->n_val;
        di.split_seed = NAS_I_JOB_SPLIT_SEED;
        NAS_TRY(nas_i_job_ghn_data(dataset, p->data_dir, &di, true, &ds, &split));
        gc.classes = ds.n_classes; /* the classifier's rows follow the data set */
        NAS_TRY(nas_ghn_init(&g, &gc, tc.seed));
        NAS_TRY(nas_ghn_trainer_init(&tr, &g, &tc));
        tr.data = di;
    }
    dataset = tr.data.dataset; /* canonical */
    NAS_TRY(nas_space_load(&sp, space_name));
    snprintf(tr.data.space, sizeof tr.data.space, "%s", sp.name);
    if (ds.n_classes != g.cfg.classes) {
        st = nas_error(NAS_EINVAL, "%s has %d classes, the GHN predicts %d", dataset, ds.n_classes,
                       g.cfg.classes);
        goto cleanup;
    }
    NAS_INFO("ghn: %lld parameters (hid %d, %s decoder, chunk %dx%dx%dx%d, s_max %d); %s, %s "
             "(%lld train / %lld val); meta-batch %d x %d images",
             (long long)nas_ghn_numel(&g), g.cfg.hid, nas_ghn_decoder_name(g.cfg.decoder),
             g.cfg.chunk_out, g.cfg.chunk_in, g.cfg.chunk_k, g.cfg.chunk_k, g.cfg.s_max, sp.name,
             dataset, (long long)split.n_train, (long long)split.n_val, tr.tc.meta_batch,
             tr.tc.batch_size);
    ctx = nas_calloc(1, sizeof *ctx);
    if (!ctx) {
        st = nas_error(NAS_ENOMEM, "train: out of memory");
        goto cleanup;
    }
    ctx->g = &g;
    ctx->p = p;
    ctx->db = db;
    const int64_t step0 = tr.step, archs0 = tr.archs;
    const double sec0 = tr.seconds;
    st = nas_ghn_train(&g, &tr, &sp, &ds, split.train, split.n_train, &tr.data.norm, on_step, ctx);
    if (ctx->save_status != NAS_OK) {
        st = ctx->save_status;
        goto cleanup;
    }
    nas_status save = nas_ghn_save_mem(&g, &tr, &ckpt, &n_ckpt); /* the file's and store's bytes */
    if (save == NAS_OK) {
        save = nas_file_write_atomic(p->out, ckpt, n_ckpt);
    }
    if (st == NAS_OK) {
        st = save;
    }
    res->steps = tr.step - step0;
    res->skipped = tr.skipped;
    res->seconds = tr.seconds - sec0;
    res->last_loss = tr.last_loss;
    res->last_acc = tr.last_acc;
    res->throughput =
        res->seconds > 0 ? (double)(tr.archs - archs0) * tr.tc.batch_size / res->seconds : 0.0;
    res->saved = save == NAS_OK;
    res->interrupted = st == NAS_EINTERRUPTED;
    if (st == NAS_OK && db) {
        NAS_TRY(nas_i_job_ghn_store_curve(db, &g, &tr, &ctx->curve, ckpt, n_ckpt, &res->ghn_id));
    }
cleanup:
    nas_free(ctx);
    nas_free(ckpt);
    nas_store_close(db);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);
    return st;
}
