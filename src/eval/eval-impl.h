/*
 * Internals of the evaluate driver: one architecture's training loop with per-epoch checkpoints
 * (src/eval/trainer.c), used by src/eval/evaluate.c.
 */
#pragma once

#include "ghnas/eval.h"

/* What one training sees. Callbacks run on the training's thread; they serialise themselves. */
typedef struct nas_i_trainer {
    const nas_dataset *train;
    const int32_t *train_idx; /* [n_train] */
    int64_t n_train;
    const nas_dataset *val; /* validation images (the training set's split) */
    const int32_t *val_idx; /* [n_val] */
    int64_t n_val;
    const nas_dataset *test; /* NULL: no test accuracy */
    const nas_data_norm *norm;
    const nas_train_recipe *recipe;
    int bn_calib; /* > 0: BN recalibration batches before each evaluation (nas_eval_config) */
    const volatile sig_atomic_t *stop;
    /* after every epoch: store it with the checkpoint bytes */
    nas_status (*on_epoch)(void *user, const nas_epoch_record *e, const void *ckpt, size_t n);
    /* after every optimizer step (progress) */
    void (*on_step)(void *user);
    void *user;
} nas_i_trainer;

/* Optimizer steps per epoch (drop_last batches); 0 when n_train < batch. */
int64_t nas_i_steps_per_epoch(const nas_i_trainer *tr);

/*
 * Train m (weights initialised or predicted) for epochs epochs_done+1 .. recipe->epochs. A
 * checkpoint (ckpt, n bytes) written by an earlier call after epoch epochs_done restores the
 * weights, BN statistics and optimizer state first. Then measures the test accuracy (NaN
 * without a test set); train/val accuracy are the last epoch's. NAS_EINTERRUPTED when the stop
 * flag was seen (nothing of the unfinished epoch is stored).
 */
nas_status nas_i_train_arch(const nas_i_trainer *tr, nas_net_model *m, int epochs_done,
                            const void *ckpt, size_t n, double *train_acc, double *val_acc,
                            double *test_acc);
