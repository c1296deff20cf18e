/*
 * THE training loop and the evaluation loop over a nas_model (see include/ghnas/train.h): every
 * trainer of the toolkit (nas_train, `ghnas evaluate`'s per-architecture training in
 * src/eval/trainer.c) runs nas_train_run and adds its own work through hooks.
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

/* The data-order seed of one epoch: independent of the epochs before it. */
static uint64_t epoch_seed(uint64_t seed, int epoch) {
    nas_rng base, r;
    nas_rng_seed(&base, seed);
    nas_rng_split(&r, &base, (uint64_t)epoch);
    return nas_rng_u64(&r);
}

static nas_data_iter_opts iter_opts(const nas_train_spec *s, int epoch) {
    const nas_train_recipe *r = s->recipe;
    return (nas_data_iter_opts){.batch_size = r->batch_size,
                                .shuffle = true,
                                .drop_last = true,
                                .hflip = r->hflip,
                                .crop_pad = r->crop_pad,
                                .seed = s->epoch_seeded ? epoch_seed(r->seed, epoch) : r->seed};
}

nas_status nas_train_run(const nas_train_spec *s) {
    const char *what = s->what ? s->what : "train";
    if (!s->model || !s->opt || !s->train || !s->recipe) {
        return nas_error(NAS_EINVAL, "%s: needs a model, an optimizer, data and a recipe", what);
    }
    if (s->epochs_done < 0 || (s->epochs_done > 0 && !s->epoch_seeded)) {
        return nas_error(NAS_EINVAL, "%s: resuming after %d epochs needs epoch-seeded data order",
                         what, s->epochs_done);
    }
    const nas_model *m = s->model;
    const nas_train_recipe *r = s->recipe;
    const nas_train_hooks *h = &s->hooks;
    const nas_dataset *train = s->train;
    NAS_CHECK(recipe_validate(r));
    nas_status st = NAS_OK;
    nas_tape t;
    nas_data_iter it;
    memset(&it, 0, sizeof it);
    float *x = NULL;
    int32_t *y = NULL;
    NAS_CHECK(nas_tape_init(&t));
    int epoch = s->epochs_done + 1;
    nas_data_iter_opts o = iter_opts(s, epoch);
    NAS_TRY(nas_data_iter_init(&it, train, s->train_idx, s->n_train, s->norm, &o));
    const int64_t steps_per_epoch = nas_data_iter_batches(&it);
    if (steps_per_epoch < 1) {
        st = nas_error(NAS_EINVAL, "%s: %lld examples make no batch of %d", what, (long long)it.n,
                       r->batch_size);
        goto cleanup;
    }
    nas_schedule sched =
        nas_schedule_cosine(r->lr, steps_per_epoch * r->epochs, r->eta_min, r->warmup_steps);
    NAS_TRY(nas_schedule_validate(&sched));
    size_t img = nas_data_image_size(train);
    x = nas_malloc((size_t)r->batch_size * img * sizeof *x); /* [batch, c, h, w] */
    y = nas_malloc((size_t)r->batch_size * sizeof *y);       /* [batch] */
    if (!x || !y) {
        st = nas_error(NAS_ENOMEM, "%s: cannot allocate a batch of %d", what, r->batch_size);
        goto cleanup;
    }
    int64_t skipped = 0;
    int bad_run = 0;
    for (; epoch <= r->epochs; epoch++) {
        if (s->epoch_seeded && epoch > s->epochs_done + 1) { /* this epoch's own order */
            o = iter_opts(s, epoch);
            nas_data_iter_free(&it);
            NAS_TRY(nas_data_iter_init(&it, train, s->train_idx, s->n_train, s->norm, &o));
        }
        double t0 = nas_time_now(), sum_loss = 0.0;
        int64_t correct = 0, seen = 0, b, steps = 0;
        int64_t step = (int64_t)(epoch - 1) * steps_per_epoch;
        nas_progress pr;
        if (s->progress) {
            char label[32];
            snprintf(label, sizeof label, "epoch %d/%d", epoch, r->epochs);
            nas_progress_begin(&pr, label, steps_per_epoch);
        }
        while ((b = nas_data_iter_next(&it, x, y)) > 0) {
            if (h->stop && *h->stop) {
                st = nas_error(NAS_EINTERRUPTED, "%s: stopped in epoch %d", what, epoch);
                goto cleanup;
            }
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
                                   "%s: %d consecutive steps with a non-finite loss or "
                                   "gradient (lr %g too high?)",
                                   what, bad_run, (double)r->lr);
                    goto cleanup;
                }
                step++;
                continue;
            }
            bad_run = 0;
            nas_grad_clip_norm(m->params, r->clip_norm);
            NAS_TRY(nas_optim_step(s->opt, nas_schedule_lr(&sched, step)));
            step++;
            steps++;
            sum_loss += (double)lv;
            correct += nas_count_correct(logits, y, b);
            seen += b;
            if (s->progress) {
                nas_progress_update(&pr, steps, "loss %.4f  acc %.4f", sum_loss / (double)steps,
                                    (double)correct / (double)seen);
            }
            if (h->on_step) {
                h->on_step(step, (double)lv, h->user);
            }
        }
        if (s->progress) {
            nas_progress_end(&pr);
        }
        nas_epoch_stats es = {.epoch = epoch,
                              .epochs = r->epochs,
                              .lr = (double)nas_schedule_lr(&sched, step - 1),
                              .train_loss = steps ? sum_loss / (double)steps : (double)NAN,
                              .train_acc = seen ? (double)correct / (double)seen : (double)NAN,
                              .val_loss = (double)NAN,
                              .val_acc = (double)NAN,
                              .skipped = skipped};
        if (h->before_validate) {
            NAS_TRY(h->before_validate(epoch, h->user));
        }
        if (s->val && (!s->val_idx || s->n_val > 0)) {
            NAS_TRY(nas_evaluate(m, s->val, s->val_idx, s->n_val, s->norm, r->eval_batch_size,
                                 &es.val_loss, &es.val_acc));
        }
        es.seconds = nas_time_now() - t0;
        if (h->on_epoch) {
            NAS_TRY(h->on_epoch(&es, s->opt, h->user));
        }
    }
cleanup:
    nas_free(x);
    nas_free(y);
    nas_data_iter_free(&it);
    nas_tape_free(&t);
    return st;
}

/* nas_train's bool epoch callback as a hook. */
typedef struct epoch_adapter {
    nas_epoch_fn fn;
    void *user;
} epoch_adapter;

static nas_status adapt_epoch(const nas_epoch_stats *es, const nas_optim *opt, void *user) {
    (void)opt;
    const epoch_adapter *a = user;
    if (a->fn && !a->fn(es, a->user)) {
        return nas_error(NAS_EINTERRUPTED, "train: stopped after epoch %d", es->epoch);
    }
    return NAS_OK;
}

nas_status nas_train(const nas_model *m, const nas_dataset *train, const int32_t *train_idx,
                     int64_t n_train, const nas_dataset *val, const int32_t *val_idx, int64_t n_val,
                     const nas_data_norm *norm, const nas_train_recipe *r, nas_epoch_fn on_epoch,
                     void *user) {
    NAS_CHECK(recipe_validate(r));
    nas_optim opt;
    NAS_CHECK(nas_optim_init(&opt, m->params, &r->optim));
    epoch_adapter a = {on_epoch, user};
    nas_train_spec s = {.model = m,
                        .opt = &opt,
                        .train = train,
                        .train_idx = train_idx,
                        .n_train = n_train,
                        .val = val,
                        .val_idx = val_idx,
                        .n_val = n_val,
                        .norm = norm,
                        .recipe = r,
                        .progress = true,
                        .what = "train",
                        .hooks = {.on_epoch = adapt_epoch, .user = &a}};
    nas_status st = nas_train_run(&s);
    nas_optim_free(&opt);
    return st;
}
