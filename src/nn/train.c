/*
 * Training and evaluation loops over a nas_model (see include/ghnas/train.h).
 */
#include "ghnas/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

nas_train_recipe nas_train_recipe_default(void) {
    nas_train_recipe r;
    memset(&r, 0, sizeof r);
    r.epochs = 1;
    r.batch_size = 64;
    r.eval_batch_size = 256;
    r.optim = nas_optim_defaults(NAS_OPTIM_SGD);
    r.optim.momentum = 0.9f;
    r.optim.nesterov = true;
    r.optim.weight_decay = 5e-4f;
    r.lr = 0.05f;
    r.clip_norm = 5.0f;
    r.seed = 1;
    r.max_bad_steps = 10;
    return r;
}

static nas_status recipe_validate(const nas_train_recipe *r) {
    if (r->epochs < 1) {
        return nas_error(NAS_EINVAL, "recipe: epochs must be >= 1, got %d", r->epochs);
    }
    if (r->batch_size < 1 || r->eval_batch_size < 1) {
        return nas_error(NAS_EINVAL, "recipe: batch sizes must be >= 1 (got %d and %d)",
                         r->batch_size, r->eval_batch_size);
    }
    if (!(r->lr >= 0.0f) || !isfinite(r->lr)) {
        return nas_error(NAS_EINVAL, "recipe: lr must be finite and >= 0");
    }
    if (!(r->label_smoothing >= 0.0f && r->label_smoothing < 1.0f)) {
        return nas_error(NAS_EINVAL, "recipe: label smoothing must be in [0, 1)");
    }
    if (r->crop_pad < 0) {
        return nas_error(NAS_EINVAL, "recipe: crop padding must be >= 0");
    }
    return nas_optim_config_validate(&r->optim);
}

int64_t nas_count_correct(const nas_tensor *logits, const int32_t *y, int64_t n) {
    int64_t k = logits->shape[1], correct = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits->data + i * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++) {
            if (row[j] > row[best]) {
                best = j;
            }
        }
        correct += best == y[i];
    }
    return correct;
}

nas_status nas_evaluate(const nas_model *m, const nas_dataset *ds, const int32_t *idx, int64_t n,
                        const nas_data_norm *norm, int batch_size, double *loss, double *acc) {
    nas_status st = NAS_OK;
    nas_tape t;
    nas_data_iter it;
    memset(&it, 0, sizeof it);
    float *x = NULL;
    int32_t *y = NULL;
    NAS_CHECK(nas_tape_init(&t));
    nas_tape_set_record(&t, false);
    nas_data_iter_opts o = {.batch_size = batch_size, .shuffle = false};
    NAS_TRY(nas_data_iter_init(&it, ds, idx, n, norm, &o));
    size_t img = nas_data_image_size(ds);
    x = nas_malloc((size_t)batch_size * img * sizeof *x);
    y = nas_malloc((size_t)batch_size * sizeof *y);
    if (!x || !y) {
        st = nas_error(NAS_ENOMEM, "evaluate: cannot allocate a batch of %d", batch_size);
        goto cleanup;
    }
    double sum_loss = 0.0;
    int64_t correct = 0, seen = 0, b;
    while ((b = nas_data_iter_next(&it, x, y)) > 0) {
        nas_tape_reset(&t);
        nas_tensor *xt = nas_tensor_from(&t, 4, (int64_t[]){b, ds->c, ds->h, ds->w}, x);
        nas_tensor *logits = m->forward(m->self, &t, xt, false);
        nas_tensor *l = nas_softmax_cross_entropy(&t, logits, y, 0.0f);
        NAS_TRY(nas_tape_status(&t));
        sum_loss += (double)l->data[0] * (double)b;
        correct += nas_count_correct(logits, y, b);
        seen += b;
    }
    *loss = seen ? sum_loss / (double)seen : (double)NAN;
    *acc = seen ? (double)correct / (double)seen : (double)NAN;
cleanup:
    nas_free(x);
    nas_free(y);
    nas_data_iter_free(&it);
    nas_tape_free(&t);
    return st;
}

nas_status nas_train(const nas_model *m, const nas_dataset *train, const int32_t *train_idx,
                     int64_t n_train, const nas_dataset *val, const int32_t *val_idx, int64_t n_val,
                     const nas_data_norm *norm, const nas_train_recipe *r, nas_epoch_fn on_epoch,
                     void *user) {
    NAS_CHECK(recipe_validate(r));
    nas_status st = NAS_OK;
    nas_tape t;
    nas_optim opt;
    nas_data_iter it;
    memset(&opt, 0, sizeof opt);
    memset(&it, 0, sizeof it);
    float *x = NULL;
    int32_t *y = NULL;
    NAS_CHECK(nas_tape_init(&t));
    NAS_TRY(nas_optim_init(&opt, m->params, &r->optim));
    nas_data_iter_opts o = {.batch_size = r->batch_size,
                            .shuffle = true,
                            .drop_last = true,
                            .hflip = r->hflip,
                            .crop_pad = r->crop_pad,
                            .seed = r->seed};
    NAS_TRY(nas_data_iter_init(&it, train, train_idx, n_train, norm, &o));
    int64_t steps_per_epoch = nas_data_iter_batches(&it);
    if (steps_per_epoch < 1) {
        st = nas_error(NAS_EINVAL, "train: %lld examples make no batch of %d", (long long)it.n,
                       r->batch_size);
        goto cleanup;
    }
    nas_schedule sched =
        nas_schedule_cosine(r->lr, steps_per_epoch * r->epochs, r->eta_min, r->warmup_steps);
    NAS_TRY(nas_schedule_validate(&sched));
    size_t img = nas_data_image_size(train);
    x = nas_malloc((size_t)r->batch_size * img * sizeof *x);
    y = nas_malloc((size_t)r->batch_size * sizeof *y);
    if (!x || !y) {
        st = nas_error(NAS_ENOMEM, "train: cannot allocate a batch of %d", r->batch_size);
        goto cleanup;
    }
    int64_t step = 0, skipped = 0;
    int bad_run = 0;
    for (int epoch = 1; epoch <= r->epochs; epoch++) {
        double t0 = nas_time_now(), sum_loss = 0.0;
        int64_t correct = 0, seen = 0, b, steps = 0;
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", epoch, r->epochs);
        nas_progress pr;
        nas_progress_begin(&pr, label, steps_per_epoch);
        while ((b = nas_data_iter_next(&it, x, y)) > 0) {
            nas_tape_reset(&t);
            nas_params_zero_grad(m->params);
            nas_tensor *xt =
                nas_tensor_from(&t, 4, (int64_t[]){b, train->c, train->h, train->w}, x);
            nas_tensor *logits = m->forward(m->self, &t, xt, true);
            nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, y, r->label_smoothing);
            NAS_TRY(nas_tape_status(&t));
            float lv = loss->data[0];
            if (isfinite(lv)) {
                NAS_TRY(nas_tape_backward(&t, loss));
            }
            if (!isfinite(lv) || nas_grad_nonfinite(m->params)) {
                skipped++;
                if (++bad_run > r->max_bad_steps) {
                    st = nas_error(NAS_ENUMERIC,
                                   "train: %d consecutive steps with a non-finite loss or "
                                   "gradient (lr %g too high?)",
                                   bad_run, (double)r->lr);
                    goto cleanup;
                }
                step++;
                continue;
            }
            bad_run = 0;
            nas_grad_clip_norm(m->params, r->clip_norm);
            NAS_TRY(nas_optim_step(&opt, nas_schedule_lr(&sched, step)));
            step++;
            steps++;
            sum_loss += (double)lv;
            correct += nas_count_correct(logits, y, b);
            seen += b;
            nas_progress_update(&pr, steps, "loss %.4f  acc %.4f", sum_loss / (double)steps,
                                (double)correct / (double)seen);
        }
        nas_progress_end(&pr);
        nas_epoch_stats es = {.epoch = epoch,
                              .epochs = r->epochs,
                              .train_loss = steps ? sum_loss / (double)steps : (double)NAN,
                              .train_acc = seen ? (double)correct / (double)seen : (double)NAN,
                              .val_loss = (double)NAN,
                              .val_acc = (double)NAN,
                              .skipped = skipped};
        if (val) {
            NAS_TRY(nas_evaluate(m, val, val_idx, n_val, norm, r->eval_batch_size, &es.val_loss,
                                 &es.val_acc));
        }
        es.seconds = nas_time_now() - t0;
        if (on_epoch && !on_epoch(&es, user)) {
            st = nas_error(NAS_EINTERRUPTED, "train: stopped after epoch %d", epoch);
            goto cleanup;
        }
    }
cleanup:
    nas_free(x);
    nas_free(y);
    nas_data_iter_free(&it);
    nas_optim_free(&opt);
    nas_tape_free(&t);
    return st;
}
