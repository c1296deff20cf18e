/*
 * ghnas training and evaluation loops (src/nn/train.c): train any model given as a forward
 * function over a nas_params block on a dataset with a recorded recipe (optimizer, cosine
 * schedule, augmentation, label smoothing, clipping), and evaluate loss and accuracy.
 *
 * nas_train_run is the one training loop of the toolkit: nas_train (the baseline experiment) and
 * `ghnas evaluate` (src/eval/trainer.c: resumable per-epoch checkpoints, BN recalibration, the
 * store) both run it and add their work through hooks. The loop owns one tape and resets it
 * after every step, so steady-state steps allocate nothing.
 */
#pragma once

#include "ghnas/data.h"
#include "ghnas/nn.h"
#include "ghnas/tensor.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A trainable model: forward builds logits [B, classes] for x [B, C, H, W] on tape t. With
 * training=true batchnorm uses batch statistics (and updates running statistics). */
typedef struct nas_model {
    void *self;
    nas_tensor *(*forward)(void *self, nas_tape *t, nas_tensor *x, bool training);
    nas_params *params; /* finalized parameter block the optimizer updates */
} nas_model;

typedef struct nas_train_recipe {
    int epochs;             /* >= 1 */
    int batch_size;         /* >= 1 */
    int eval_batch_size;    /* >= 1 */
    nas_optim_config optim; /* optimizer hyper-parameters */
    float lr;               /* peak learning rate */
    float eta_min;          /* cosine floor */
    int64_t warmup_steps;   /* linear warmup steps */
    float label_smoothing;  /* in [0, 1) */
    float clip_norm;        /* <= 0: no clipping */
    bool hflip;             /* random horizontal flips */
    int crop_pad;           /* random crop padding, 0 = off */
    uint64_t seed;          /* data order and augmentation */
    int max_bad_steps;      /* consecutive non-finite steps tolerated before giving up */
} nas_train_recipe;

/* SGD, Nesterov momentum 0.9, weight decay 5e-4, lr 0.05 cosine to 0, batch 64, no augmentation,
 * no smoothing, clip 5, 1 epoch, eval batch 256, seed 1, 10 bad steps. */
nas_train_recipe nas_train_recipe_default(void);

typedef struct nas_epoch_stats {
    int epoch;         /* 1-based */
    int epochs;        /* total */
    double lr;         /* learning rate of the epoch's last step */
    double train_loss; /* mean over the epoch's steps */
    double train_acc;  /* running accuracy over the epoch's training batches */
    double val_loss;   /* NAN when no validation set */
    double val_acc;    /* NAN when no validation set */
    double seconds;    /* wall time of the epoch incl. validation */
    int64_t skipped;   /* non-finite steps skipped so far */
} nas_epoch_stats;

/* Called after every epoch; return false to stop training early (status NAS_EINTERRUPTED). */
typedef bool (*nas_epoch_fn)(const nas_epoch_stats *st, void *user);

/* What a trainer adds to the loop. Every hook is optional and runs on the loop's thread. */
typedef struct nas_train_hooks {
    /* polled before every step; non-zero stops with NAS_EINTERRUPTED (the unfinished epoch is
     * not reported) */
    const volatile sig_atomic_t *stop;
    /* after every optimizer update (skipped non-finite steps are not reported); step counts
     * every step of the training so far, skipped ones included */
    void (*on_step)(int64_t step, double loss, void *user);
    /* after an epoch's steps, before its validation (e.g. BatchNorm recalibration); a failing
     * status stops the loop with it */
    nas_status (*before_validate)(int epoch, void *user);
    /* after an epoch's validation, with the optimizer (to checkpoint it); a failing status
     * stops the loop with it */
    nas_status (*on_epoch)(const nas_epoch_stats *es, const nas_optim *opt, void *user);
    void *user;
} nas_train_hooks;

/* One training: the model, its optimizer, the data, the recipe and the hooks. */
typedef struct nas_train_spec {
    const nas_model *model;
    nas_optim *opt; /* over model->params, initialised (or restored, to resume) by the caller */
    const nas_dataset *train;
    const int32_t *train_idx; /* [n_train]; NULL = all of train */
    int64_t n_train;
    const nas_dataset *val; /* NULL: no validation */
    const int32_t *val_idx; /* [n_val]; NULL = all of val */
    int64_t n_val;
    const nas_data_norm *norm;
    const nas_train_recipe *recipe;
    int epochs_done;   /* resume: run epochs epochs_done+1 .. recipe->epochs (needs epoch_seeded) */
    bool epoch_seeded; /* each epoch's data order from (recipe->seed, epoch), so training can
                          resume at any epoch; false: one stream seeded once with recipe->seed */
    bool progress;     /* a nas_progress bar per epoch */
    const char *what;  /* message prefix (default "train") */
    nas_train_hooks hooks;
} nas_train_spec;

/*
 * THE training loop: per step a batch (drop_last, shuffled, augmented per the recipe), forward in
 * training mode, cross-entropy, backward, non-finite losses or gradients skipped (more than
 * recipe->max_bad_steps in a row stop with NAS_ENUMERIC), gradient clipping, one optimizer step
 * at the cosine schedule's lr of the step's index; per epoch before_validate, validation on val
 * (training=false), on_epoch.
 */
nas_status nas_train_run(const nas_train_spec *spec);

/*
 * Train m on train[train_idx[0..n_train)] (train_idx NULL = all). After each epoch evaluates on
 * val[val_idx[0..n_val)] when val is non-NULL and calls on_epoch. Non-finite losses or gradients
 * skip the step; more than recipe->max_bad_steps in a row stop with NAS_ENUMERIC. Progress is
 * shown through nas_progress. nas_train_run with a fresh optimizer and one data stream.
 */
nas_status nas_train(const nas_model *m, const nas_dataset *train, const int32_t *train_idx,
                     int64_t n_train, const nas_dataset *val, const int32_t *val_idx, int64_t n_val,
                     const nas_data_norm *norm, const nas_train_recipe *recipe,
                     nas_epoch_fn on_epoch, void *user);

/* Number of rows i < n of logits [n, K] whose argmax (first on ties) is y[i]. */
int64_t nas_count_correct(const nas_tensor *logits, const int32_t *y, int64_t n);

/* Mean cross-entropy and accuracy of m (training=false) on ds[idx[0..n)] (idx NULL = all). */
nas_status nas_evaluate(const nas_model *m, const nas_dataset *ds, const int32_t *idx, int64_t n,
                        const nas_data_norm *norm, int batch_size, double *loss, double *acc);

#ifdef __cplusplus
}
#endif
