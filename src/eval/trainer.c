/*
 * Training one architecture for `ghnas evaluate`: nas_train_run (src/nn/train.c, the one
 * training loop) with epoch-seeded data order, so a training resumes at any epoch, and hooks
 * that recalibrate BatchNorm before each validation and, after each epoch, serialise the weights,
 * BN statistics and optimizer state into a checkpoint stored with the epoch.
 *
 * Checkpoints are ghnas containers (include/ghnas/container.h) of kind "NET", version 1:
 *   record "state"    i64 epochs_done, i64 optimizer step
 *   f32    "params"   [numel] the weights
 *   f32    "running"  [n_running] the BatchNorm running statistics
 *   f32    "optim"    [state_numel] the optimizer state
 * Checkpoints stored by earlier builds ("GHNASEV1": host byte order, an FNV-1a checksum) are
 * still read, so an interrupted evaluate resumes from an old store.
 */
#include "eval-impl.h"
#include "ghnas/container.h"
#include "ghnas/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const nas_ckpt_kind NET_KIND = {
    {'N', 'E', 'T', '\0'}, "trained-net", 1, "the training starts again"};

static nas_status ckpt_write(const nas_net_model *m, const nas_optim *opt, int epochs_done,
                             void **out, size_t *n_out) {
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &NET_KIND);
    nas_ckpt_record_begin(&w, "state");
    nas_ckpt_put_i64(&w, epochs_done);
    nas_ckpt_put_i64(&w, opt->step);
    nas_ckpt_record_end(&w);
    nas_ckpt_add(&w, "params", NAS_CKPT_F32, 1, (int64_t[]){m->params.numel}, m->params.data);
    nas_ckpt_add(&w, "running", NAS_CKPT_F32, 1, (int64_t[]){m->net->n_running}, m->running);
    nas_ckpt_add(&w, "optim", NAS_CKPT_F32, 1, (int64_t[]){opt->state_numel}, opt->state);
    nas_status st = nas_ckpt_writer_finish(&w, out, n_out);
    return st == NAS_OK ? st : nas_error_wrap(st, "evaluate");
}

static nas_status misfit(int64_t numel, int64_t epoch, const nas_net_model *m, int epochs_done) {
    return nas_error(NAS_EFORMAT,
                     "evaluate: the stored checkpoint (%lld params, epoch %lld) does not fit "
                     "this training (%lld params, epoch %d)",
                     (long long)numel, (long long)epoch, (long long)m->params.numel, epochs_done);
}

/* ---- the checkpoints of earlier builds ("GHNASEV1") ---------------------------------------- */

static const char legacy_magic[8] = {'G', 'H', 'N', 'A', 'S', 'E', 'V', '1'};
/* Those checksums started FNV-1a from this basis (one digit short of NAS_FNV1A_INIT's). */
#define LEGACY_FNV_BASIS 1469598103934665603ull

/* "GHNASEV1" | int64 numel, n_running, state_numel, optim_step, epochs_done | float params |
 * float running | float state | uint64 FNV-1a of everything before; host byte order. */
static nas_status ckpt_read_legacy(nas_net_model *m, nas_optim *opt, int epochs_done,
                                   const unsigned char *b, size_t n) {
    int64_t hdr[5];
    if (n < sizeof legacy_magic + sizeof hdr + sizeof(uint64_t)) {
        return nas_error(NAS_EFORMAT, "evaluate: the stored training checkpoint is truncated");
    }
    const unsigned char *p = b + sizeof legacy_magic;
    memcpy(hdr, p, sizeof hdr);
    p += sizeof hdr;
    size_t want = sizeof legacy_magic + sizeof hdr +
                  (size_t)(m->params.numel + m->net->n_running + opt->state_numel) * sizeof(float) +
                  sizeof(uint64_t);
    if (hdr[0] != m->params.numel || hdr[1] != m->net->n_running || hdr[2] != opt->state_numel ||
        hdr[4] != epochs_done || n != want) {
        return misfit(hdr[0], hdr[4], m, epochs_done);
    }
    uint64_t h;
    memcpy(&h, b + n - sizeof h, sizeof h);
    if (h != nas_hash_fnv1a(b, n - sizeof h, LEGACY_FNV_BASIS)) {
        return nas_error(NAS_EFORMAT, "evaluate: the stored checkpoint is damaged (checksum)");
    }
    memcpy(m->params.data, p, (size_t)m->params.numel * sizeof(float));
    p += (size_t)m->params.numel * sizeof(float);
    if (m->net->n_running > 0) {
        memcpy(m->running, p, (size_t)m->net->n_running * sizeof(float));
        p += (size_t)m->net->n_running * sizeof(float);
    }
    if (opt->state_numel > 0) {
        memcpy(opt->state, p, (size_t)opt->state_numel * sizeof(float));
    }
    opt->step = hdr[3];
    return NAS_OK;
}

static nas_status ckpt_read(nas_net_model *m, nas_optim *opt, int epochs_done, const void *ckpt,
                            size_t n) {
    if (n >= sizeof legacy_magic && memcmp(ckpt, legacy_magic, sizeof legacy_magic) == 0) {
        return ckpt_read_legacy(m, opt, epochs_done, ckpt, n);
    }
    nas_ckpt_reader r;
    NAS_CHECK(nas_ckpt_open(&r, ckpt, n, &NET_KIND, "evaluate: the stored training checkpoint"));
    nas_status st = NAS_OK;
    const nas_ckpt_section *s, *params, *running, *state;
    NAS_TRY(nas_ckpt_find(&r, "state", NAS_CKPT_RECORD, &s));
    NAS_TRY(nas_ckpt_find(&r, "params", NAS_CKPT_F32, &params));
    NAS_TRY(nas_ckpt_find(&r, "running", NAS_CKPT_F32, &running));
    NAS_TRY(nas_ckpt_find(&r, "optim", NAS_CKPT_F32, &state));
    nas_ckpt_cursor c = nas_ckpt_cursor_of(s);
    int64_t epoch = nas_ckpt_get_i64(&c), optim_step = nas_ckpt_get_i64(&c);
    if (c.short_read) {
        st = nas_error(NAS_EFORMAT, "%s: the state record is short", r.what);
        goto cleanup;
    }
    if (params->count != m->params.numel || running->count != m->net->n_running ||
        state->count != opt->state_numel || epoch != epochs_done) {
        st = misfit(params->count, epoch, m, epochs_done);
        goto cleanup;
    }
    NAS_TRY(nas_ckpt_section_read(&r, params, m->params.data, m->params.numel));
    NAS_TRY(nas_ckpt_section_read(&r, running, m->running, m->net->n_running));
    NAS_TRY(nas_ckpt_section_read(&r, state, opt->state, opt->state_numel));
    opt->step = optim_step;
cleanup:
    nas_ckpt_reader_free(&r);
    return st;
}

int64_t nas_i_steps_per_epoch(const nas_i_trainer *tr) {
    return tr->recipe->batch_size > 0 ? tr->n_train / tr->recipe->batch_size : 0;
}

nas_status nas_eval_calibrate_bn(nas_net_model *m, const nas_dataset *ds, const int32_t *idx,
                                 int64_t n, const nas_data_norm *norm, int batch_size,
                                 int n_batches) {
    if (!m || !m->net || !ds || batch_size < 1 || n_batches < 1) {
        return nas_error(NAS_EINVAL, "BN calibration: needs a model, images, batch size >= 1 "
                                     "and batches >= 1");
    }
    if (m->net->n_running == 0) {
        return NAS_OK; /* no BatchNorm */
    }
    nas_status st = NAS_OK;
    nas_tape t;
    nas_data_iter it;
    memset(&t, 0, sizeof t);
    memset(&it, 0, sizeof it);
    const float momentum = m->bn_momentum;
    size_t img = nas_data_image_size(ds);
    float *x = nas_malloc((size_t)batch_size * img * sizeof *x); /* [batch, c, h, w] */
    int32_t *y = nas_malloc((size_t)batch_size * sizeof *y);     /* [batch] */
    NAS_TRY(nas_tape_init(&t));
    if (!x || !y) {
        st = nas_error(NAS_ENOMEM, "BN calibration: cannot allocate a batch of %d", batch_size);
        goto cleanup;
    }
    nas_tape_set_record(&t, false);
    /* full batches only (a short last batch would weigh as much as a full one); fewer than
     * batch_size images are refused by the iterator */
    nas_data_iter_opts o = {.batch_size = batch_size, .shuffle = false, .drop_last = true};
    NAS_TRY(nas_data_iter_init(&it, ds, idx, n, norm, &o));
    int k = 0;
    int64_t b;
    while (k < n_batches && (b = nas_data_iter_next(&it, x, y)) > 0) {
        k++;
        m->bn_momentum = 1.0f / (float)k; /* batch 1 replaces the old statistics */
        nas_tape_reset(&t);
        nas_tensor *xt = nas_tensor_from(&t, 4, (int64_t[]){b, ds->c, ds->h, ds->w}, x);
        (void)nas_net_model_forward(m, &t, xt, NAS_BN_BATCH_STATS);
        NAS_TRY(nas_tape_status(&t));
    }
cleanup:
    m->bn_momentum = momentum;
    nas_data_iter_free(&it);
    nas_tape_free(&t);
    nas_free(x);
    nas_free(y);
    return st;
}

/* One architecture's training: what the loop's hooks need. */
typedef struct arch_ctx {
    const nas_i_trainer *tr;
    nas_net_model *m;
    double train_acc, val_acc; /* of the last stored epoch */
} arch_ctx;

static void arch_on_step(int64_t step, double loss, void *user) {
    (void)step;
    (void)loss;
    const arch_ctx *a = user;
    if (a->tr->on_step) {
        a->tr->on_step(a->tr->user);
    }
}

static nas_status arch_calibrate(int epoch, void *user) {
    (void)epoch;
    const arch_ctx *a = user;
    const nas_i_trainer *tr = a->tr;
    return nas_eval_calibrate_bn(a->m, tr->train, tr->train_idx, tr->n_train, tr->norm,
                                 tr->recipe->batch_size, tr->bn_calib);
}

/* The epoch and its checkpoint go to the trainer's on_epoch (the store). */
static nas_status arch_on_epoch(const nas_epoch_stats *es, const nas_optim *opt, void *user) {
    arch_ctx *a = user;
    nas_epoch_record e = {.epoch = es->epoch,
                          .lr = es->lr,
                          .train_loss = es->train_loss,
                          .train_acc = es->train_acc,
                          .val_loss = es->val_loss,
                          .val_acc = es->val_acc,
                          .seconds = es->seconds};
    void *out = NULL;
    size_t n_out = 0;
    NAS_CHECK(ckpt_write(a->m, opt, es->epoch, &out, &n_out));
    nas_status st = a->tr->on_epoch(a->tr->user, &e, out, n_out);
    nas_free(out);
    if (st == NAS_OK) {
        a->train_acc = e.train_acc;
        a->val_acc = e.val_acc;
    }
    return st;
}

nas_status nas_i_train_arch(const nas_i_trainer *tr, nas_net_model *m, int epochs_done,
                            const void *ckpt, size_t n, double *train_acc, double *val_acc,
                            double *test_acc) {
    const nas_train_recipe *r = tr->recipe;
    *train_acc = *val_acc = *test_acc = (double)NAN;
    nas_status st = NAS_OK;
    nas_optim opt;
    memset(&opt, 0, sizeof opt);
    nas_model model = nas_net_model_handle(m);
    NAS_TRY(nas_optim_init(&opt, &m->params, &r->optim));
    if (nas_i_steps_per_epoch(tr) < 1) {
        st = nas_error(NAS_EINVAL, "evaluate: %lld training images make no batch of %d",
                       (long long)tr->n_train, r->batch_size);
        goto cleanup;
    }
    if (ckpt) {
        NAS_TRY(ckpt_read(m, &opt, epochs_done, ckpt, n));
    } else if (epochs_done != 0) {
        st =
            nas_error(NAS_EFORMAT, "evaluate: %d epochs are stored but no checkpoint", epochs_done);
        goto cleanup;
    }
    arch_ctx a = {tr, m, (double)NAN, (double)NAN};
    nas_train_spec spec = {.model = &model,
                           .opt = &opt,
                           .train = tr->train,
                           .train_idx = tr->train_idx,
                           .n_train = tr->n_train,
                           .val = tr->n_val > 0 ? tr->val : NULL, /* as before: no images, none */
                           .val_idx = tr->val_idx,
                           .n_val = tr->n_val,
                           .norm = tr->norm,
                           .recipe = r,
                           .epochs_done = epochs_done,
                           .epoch_seeded = true,
                           .progress = false,
                           .what = "evaluate",
                           .hooks = {.stop = tr->stop,
                                     .on_step = arch_on_step,
                                     .before_validate = tr->bn_calib > 0 ? arch_calibrate : NULL,
                                     .on_epoch = arch_on_epoch,
                                     .user = &a}};
    st = nas_train_run(&spec);
    *train_acc = a.train_acc;
    *val_acc = a.val_acc;
    NAS_TRY(st);
    if (tr->test) {
        double loss = 0.0;
        NAS_TRY(nas_evaluate(&model, tr->test, NULL, tr->test->n, tr->norm, r->eval_batch_size,
                             &loss, test_acc));
    }
cleanup:
    nas_optim_free(&opt);
    return st;
}
