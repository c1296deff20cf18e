/*
 * Training one architecture for `ghnas evaluate`: SGD with a warmup + cosine schedule over all
 * epochs, random-crop/flip augmentation, gradient clipping and skipped non-finite steps (as
 * nas_train), but resumable at any epoch: each epoch's data order derives from (seed, epoch),
 * and after each epoch the weights, BN statistics and optimizer state are serialised into a
 * checkpoint that is stored with the epoch.
 *
 * Checkpoint layout (host byte order, written and read by the same build):
 *   "GHNASEV1" | int64 numel, n_running, state_numel, optim_step, epochs_done |
 *   float params[numel] | float running[n_running] | float state[state_numel] | uint64 FNV-1a
 */
#include "eval-impl.h"
#include "ghnas/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char ckpt_magic[8] = {'G', 'H', 'N', 'A', 'S', 'E', 'V', '1'};

static uint64_t fnv64(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

static nas_status ckpt_write(const nas_net_model *m, const nas_optim *opt, int epochs_done,
                             unsigned char **out, size_t *n_out) {
    const int64_t hdr[5] = {m->params.numel, m->net->n_running, opt->state_numel, opt->step,
                            epochs_done};
    size_t n = sizeof ckpt_magic + sizeof hdr +
               (size_t)(m->params.numel + m->net->n_running + opt->state_numel) * sizeof(float) +
               sizeof(uint64_t);
    unsigned char *b = nas_malloc(n), *p = b;
    if (!b) {
        return nas_error(NAS_ENOMEM, "evaluate: out of memory for a %zu-byte checkpoint", n);
    }
    memcpy(p, ckpt_magic, sizeof ckpt_magic);
    p += sizeof ckpt_magic;
    memcpy(p, hdr, sizeof hdr);
    p += sizeof hdr;
    memcpy(p, m->params.data, (size_t)m->params.numel * sizeof(float));
    p += (size_t)m->params.numel * sizeof(float);
    if (m->net->n_running > 0) {
        memcpy(p, m->running, (size_t)m->net->n_running * sizeof(float));
        p += (size_t)m->net->n_running * sizeof(float);
    }
    if (opt->state_numel > 0) {
        memcpy(p, opt->state, (size_t)opt->state_numel * sizeof(float));
        p += (size_t)opt->state_numel * sizeof(float);
    }
    uint64_t h = fnv64(b, (size_t)(p - b));
    memcpy(p, &h, sizeof h);
    *out = b;
    *n_out = n;
    return NAS_OK;
}

static nas_status ckpt_read(nas_net_model *m, nas_optim *opt, int epochs_done, const void *ckpt,
                            size_t n) {
    const unsigned char *b = ckpt, *p = b;
    int64_t hdr[5];
    if (n < sizeof ckpt_magic + sizeof hdr + sizeof(uint64_t) ||
        memcmp(b, ckpt_magic, sizeof ckpt_magic) != 0) {
        return nas_error(NAS_EFORMAT, "evaluate: the stored training checkpoint is not one");
    }
    p += sizeof ckpt_magic;
    memcpy(hdr, p, sizeof hdr);
    p += sizeof hdr;
    size_t want = sizeof ckpt_magic + sizeof hdr +
                  (size_t)(m->params.numel + m->net->n_running + opt->state_numel) * sizeof(float) +
                  sizeof(uint64_t);
    if (hdr[0] != m->params.numel || hdr[1] != m->net->n_running || hdr[2] != opt->state_numel ||
        hdr[4] != epochs_done || n != want) {
        return nas_error(NAS_EFORMAT,
                         "evaluate: the stored checkpoint (%lld params, epoch %lld) does not fit "
                         "this training (%lld params, epoch %d)",
                         (long long)hdr[0], (long long)hdr[4], (long long)m->params.numel,
                         epochs_done);
    }
    uint64_t h;
    memcpy(&h, b + n - sizeof h, sizeof h);
    if (h != fnv64(b, n - sizeof h)) {
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

int64_t nas_i_steps_per_epoch(const nas_i_trainer *tr) {
    return tr->recipe->batch_size > 0 ? tr->n_train / tr->recipe->batch_size : 0;
}

/* The data-order seed of one epoch: independent of the epochs before it. */
static uint64_t epoch_seed(uint64_t seed, int epoch) {
    nas_rng base, r;
    nas_rng_seed(&base, seed);
    nas_rng_split(&r, &base, (uint64_t)epoch);
    return nas_rng_u64(&r);
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

nas_status nas_i_train_arch(const nas_i_trainer *tr, nas_net_model *m, int epochs_done,
                            const void *ckpt, size_t n, double *train_acc, double *val_acc,
                            double *test_acc) {
    const nas_train_recipe *r = tr->recipe;
    *train_acc = *val_acc = *test_acc = (double)NAN;
    nas_status st = NAS_OK;
    nas_tape t;
    nas_optim opt;
    nas_data_iter it;
    memset(&opt, 0, sizeof opt);
    memset(&it, 0, sizeof it);
    float *x = NULL;
    int32_t *y = NULL;
    unsigned char *out = NULL;
    nas_model model = nas_net_model_handle(m);
    const nas_dataset *ds = tr->train;
    NAS_CHECK(nas_tape_init(&t));
    NAS_TRY(nas_optim_init(&opt, &m->params, &r->optim));
    const int64_t steps_per_epoch = nas_i_steps_per_epoch(tr);
    if (steps_per_epoch < 1) {
        st = nas_error(NAS_EINVAL, "evaluate: %lld training images make no batch of %d",
                       (long long)tr->n_train, r->batch_size);
        goto cleanup;
    }
    nas_schedule sched =
        nas_schedule_cosine(r->lr, steps_per_epoch * r->epochs, r->eta_min, r->warmup_steps);
    NAS_TRY(nas_schedule_validate(&sched));
    if (ckpt) {
        NAS_TRY(ckpt_read(m, &opt, epochs_done, ckpt, n));
    } else if (epochs_done != 0) {
        st =
            nas_error(NAS_EFORMAT, "evaluate: %d epochs are stored but no checkpoint", epochs_done);
        goto cleanup;
    }
    size_t img = nas_data_image_size(ds);
    x = nas_malloc((size_t)r->batch_size * img * sizeof *x);
    y = nas_malloc((size_t)r->batch_size * sizeof *y);
    if (!x || !y) {
        st = nas_error(NAS_ENOMEM, "evaluate: cannot allocate a batch of %d", r->batch_size);
        goto cleanup;
    }
    int bad_run = 0;
    for (int epoch = epochs_done + 1; epoch <= r->epochs; epoch++) {
        double t0 = nas_time_now(), sum_loss = 0.0;
        int64_t correct = 0, seen = 0, good = 0, b;
        nas_data_iter_opts o = {.batch_size = r->batch_size,
                                .shuffle = true,
                                .drop_last = true,
                                .hflip = r->hflip,
                                .crop_pad = r->crop_pad,
                                .seed = epoch_seed(r->seed, epoch)};
        nas_data_iter_free(&it);
        NAS_TRY(nas_data_iter_init(&it, ds, tr->train_idx, tr->n_train, tr->norm, &o));
        int64_t step = (int64_t)(epoch - 1) * steps_per_epoch;
        while ((b = nas_data_iter_next(&it, x, y)) > 0) {
            if (tr->stop && *tr->stop) {
                st = nas_error(NAS_EINTERRUPTED, "evaluate: stopped in epoch %d", epoch);
                goto cleanup;
            }
            nas_tape_reset(&t);
            nas_params_zero_grad(&m->params);
            nas_tensor *xt = nas_tensor_from(&t, 4, (int64_t[]){b, ds->c, ds->h, ds->w}, x);
            nas_tensor *logits = model.forward(model.self, &t, xt, true);
            nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, y, r->label_smoothing);
            NAS_TRY(nas_tape_status(&t));
            float lv = loss->data[0];
            if (isfinite(lv)) {
                NAS_TRY(nas_tape_backward(&t, loss));
            }
            if (!isfinite(lv) || nas_grad_nonfinite(&m->params)) {
                if (++bad_run > r->max_bad_steps) {
                    st = nas_error(NAS_ENUMERIC,
                                   "evaluate: %d consecutive steps with a non-finite loss or "
                                   "gradient (lr %g too high?)",
                                   bad_run, (double)r->lr);
                    goto cleanup;
                }
                step++;
                continue;
            }
            bad_run = 0;
            nas_grad_clip_norm(&m->params, r->clip_norm);
            NAS_TRY(nas_optim_step(&opt, nas_schedule_lr(&sched, step)));
            step++;
            good++;
            sum_loss += (double)lv;
            correct += nas_count_correct(logits, y, b);
            seen += b;
            if (tr->on_step) {
                tr->on_step(tr->user);
            }
        }
        nas_epoch_record e = {.epoch = epoch,
                              .lr = (double)nas_schedule_lr(&sched, step - 1),
                              .train_loss = good ? sum_loss / (double)good : (double)NAN,
                              .train_acc = seen ? (double)correct / (double)seen : (double)NAN,
                              .val_loss = (double)NAN,
                              .val_acc = (double)NAN};
        if (tr->bn_calib > 0) {
            NAS_TRY(nas_eval_calibrate_bn(m, ds, tr->train_idx, tr->n_train, tr->norm,
                                          r->batch_size, tr->bn_calib));
        }
        if (tr->val && tr->n_val > 0) {
            NAS_TRY(nas_evaluate(&model, tr->val, tr->val_idx, tr->n_val, tr->norm,
                                 r->eval_batch_size, &e.val_loss, &e.val_acc));
        }
        e.seconds = nas_time_now() - t0;
        size_t n_out = 0;
        nas_free(out);
        out = NULL;
        NAS_TRY(ckpt_write(m, &opt, epoch, &out, &n_out));
        NAS_TRY(tr->on_epoch(tr->user, &e, out, n_out));
        *train_acc = e.train_acc;
        *val_acc = e.val_acc;
    }
    if (tr->test) {
        double loss = 0.0;
        NAS_TRY(nas_evaluate(&model, tr->test, NULL, tr->test->n, tr->norm, r->eval_batch_size,
                             &loss, test_acc));
    }
cleanup:
    nas_free(out);
    nas_free(x);
    nas_free(y);
    nas_data_iter_free(&it);
    nas_optim_free(&opt);
    nas_tape_free(&t);
    return st;
}
