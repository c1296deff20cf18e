/*
 * Internal header of src/job: the pieces several jobs share -- the GHN's data split, GHNs from
 * and into the store, scorers by name, and the evaluate job on an open store (the closing
 * evaluation of a search).
 */
#pragma once

#include "ghnas/data.h"
#include "ghnas/ghn.h"
#include "ghnas/job.h"
#include "ghnas/store.h"

/* Proxies see one batch of this many training images (zero-cost-nas' default). */
#define NAS_I_JOB_PROXY_BATCH 64

/* ghn_bn scorers: BN recalibrated on this many batches of NAS_I_JOB_PROXY_BATCH training images
 * (the first of the training split). */
#define NAS_I_JOB_BN_CALIB_BATCHES 4

/* The validation split a new GHN is trained beside, and that the proxies' training split
 * leaves out: this many images with this split seed. */
#define NAS_I_JOB_VAL_N      10000
#define NAS_I_JOB_SPLIT_SEED 1

/* The data set of a job's --data (a spec: name or path, data.h) resolved to its canonical form;
 * messages name --data. */
nas_status nas_i_job_data_resolve(const char *spec, const char *dir, nas_data_desc *desc);

/* Resolve spec and load its split ("train", "test") into ds; desc (may be NULL) receives the
 * resolved description. */
nas_status nas_i_job_data_open(const char *spec, const char *dir, const char *split,
                               nas_dataset *ds, nas_data_desc *desc);

/* Refuse data whose fingerprint is not have_fp ("data set changed since WHAT was made:
 * fingerprint X, now Y"); an unknown have_fp (NULL or "": made before fingerprints) is accepted
 * with a note on the log. */
nas_status nas_i_job_data_check(const char *what, const char *have_fp, const char *spec,
                                const nas_dataset *ds);

/* The validation images split off a training split of n_train images for a new GHN or proxy
 * batch: NAS_I_JOB_VAL_N (10,000) from 60,000 images on, else a sixth of them. */
int64_t nas_i_job_default_val_n(int64_t n_train);

/*
 * Load the training split of data set `name` from dir (NULL = default), split off info->n_val
 * validation examples with info->split_seed, and, when compute_norm is true, compute info->norm
 * on the training part (else keep the recorded one, and refuse data whose fingerprint or image
 * shape differs from the recorded ones). A new split (compute_norm) of the default
 * NAS_I_JOB_VAL_N images takes nas_i_job_default_val_n instead. Fills info's canonical data
 * spec, fingerprint and input shape. The caller frees ds and split.
 */
nas_status nas_i_job_ghn_data(const char *name, const char *dir, nas_ghn_data_info *info,
                              bool compute_norm, nas_dataset *ds, nas_data_split *split);

/* The same on a training split ds already loaded from canonical spec `spec`. */
nas_status nas_i_job_ghn_split(const nas_dataset *ds, const char *spec, nas_ghn_data_info *info,
                               bool compute_norm, nas_data_split *split);

/* The data of scorers without a GHN (the proxies): the training split of `name` without the
 * default validation split (NAS_I_JOB_VAL_N, NAS_I_JOB_SPLIT_SEED), normalised on itself. */
nas_status nas_i_job_proxy_data(const char *name, const char *dir, nas_ghn_data_info *info,
                                nas_dataset *ds, nas_data_split *split);

/* Load GHN `ghn_id` of the store with its recorded data info (info may be NULL). */
nas_status nas_i_job_ghn_from_store(nas_store *db, int64_t ghn_id, nas_ghn *g,
                                    nas_ghn_data_info *info);

/*
 * The training curve of a GHN, stored with it in ghn_models.config_json as
 * "curve": {"step": [...], "loss": [...], "acc": [...]}: the mean loss and training-batch
 * accuracy of every bin of `every` steps (step = the bin's last step). Starting at one step per
 * bin, neighbouring bins merge (and `every` doubles) whenever NAS_I_GHN_CURVE_MAX are full, so
 * any training length keeps at most that many points. Non-finite steps are left out.
 */
#define NAS_I_GHN_CURVE_MAX 256

typedef struct nas_i_ghn_curve {
    int64_t every;                     /* steps per bin (0 = not started) */
    int n;                             /* finished bins */
    int64_t step[NAS_I_GHN_CURVE_MAX]; /* last step of each bin */
    double loss[NAS_I_GHN_CURVE_MAX], acc[NAS_I_GHN_CURVE_MAX];
    double sum_loss, sum_acc; /* the open bin */
    int64_t in_bin, open_first, open_last;
} nas_i_ghn_curve;

/* Record the figures of a finished step (tr->step). */
void nas_i_ghn_curve_add(nas_i_ghn_curve *c, int64_t step, double loss, double acc);

/* Add a trained GHN (its checkpoint bytes ckpt[0..n_ckpt), saved from g and tr) to the store,
 * with its configuration and training figures; *ghn_id receives its id. */
nas_status nas_i_job_ghn_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                               const void *ckpt, size_t n_ckpt, int64_t *ghn_id);

/* GHN checkpoint bytes ckpt[0..n_ckpt) with data info `info`: the store's newest GHN of the same
 * space and data set when its bytes are the same, else a new stored GHN. */
nas_status nas_i_job_ghn_import(nas_store *db, const void *ckpt, size_t n_ckpt,
                                const nas_ghn_data_info *info, int64_t *ghn_id);

/* A GHN given by the user as `spec` (option `opt` in messages): a stored GHN id, or a checkpoint
 * file, loaded and imported into the store (nas_i_job_ghn_import). */
nas_status nas_i_job_ghn_given(nas_store *db, const char *opt, const char *spec, nas_ghn *g,
                               nas_ghn_data_info *info, int64_t *ghn_id);

/* Save g and tr in memory and store them (nas_i_job_ghn_store). */
nas_status nas_i_job_ghn_save_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                                    int64_t *ghn_id);

/* The same two with the training curve (NULL = none) in the stored configuration. */
nas_status nas_i_job_ghn_store_curve(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                                     const nas_i_ghn_curve *curve, const void *ckpt, size_t n_ckpt,
                                     int64_t *ghn_id);
nas_status nas_i_job_ghn_save_store_curve(nas_store *db, const nas_ghn *g,
                                          const nas_ghn_trainer *tr, const nas_i_ghn_curve *curve,
                                          int64_t *ghn_id);

/* Scorer `name` of the registry (score.h) on the loaded GHN g (or NULL), its data info, data
 * set and split, and the fitted ranker rk (NULL = none); val_n caps the GHN's validation
 * images. */
nas_status nas_i_job_make_scorer(const char *name, nas_scorer *out, const nas_ghn *g,
                                 const nas_ghn_data_info *info, const nas_dataset *ds,
                                 const nas_data_split *split, int64_t val_n,
                                 const nas_ranker_scorer_config *rk);

/* The ranker featurizer (score.h) on the same inputs as nas_i_job_make_scorer; want[d] as
 * nas_score_featurizer_make. */
nas_status nas_i_job_featurizer(const nas_ghn *g, const nas_ghn_data_info *info,
                                const nas_dataset *ds, const nas_data_split *split, int64_t val_n,
                                const uint8_t *want, int d, nas_score_featurizer **out);

/* A fitted ranker of the store for a job: ranker `spec` (an id; NULL = the newest of space and
 * data set, of data fingerprint `fingerprint` or unknown), loaded with the identity checks of
 * nas_rank_load (space, data set), into *m; its id, its GHN id (0 = none), its training
 * skeleton (net C, N; 0 when not recorded) and the data fingerprint it records (rk_fp when not
 * NULL, "" = unknown). An explicit id fitted on data of another fingerprint than `fingerprint`
 * (when not NULL or "") is refused, as nas_i_job_ranker_check does. */
nas_status nas_i_job_ranker_load(nas_store *db, const char *spec, const char *space,
                                 const char *dataset, const char *fingerprint, nas_rank_model *m,
                                 int64_t *ranker_id, int64_t *ghn_id, int *net_C, int *net_N,
                                 char rk_fp[17]);
/* Refuse ranker id, which records data fingerprint rk_fp, on data set spec of fingerprint
 * data_fp (either "" = unknown: accepted). */
nas_status nas_i_job_ranker_check(int64_t id, const char *rk_fp, const char *spec,
                                  const char *data_fp);

/* Validation images of the loop's trainings: past the first images, which the GHN and the
 * ranker's GHN features score on (nas_job_search_params.val_n). */
#define NAS_I_JOB_LEARN_VAL_OFFSET 5000
#define NAS_I_JOB_LEARN_VAL_N      5000

/* The label-earning loop of nas_job_search (learn.c); p->learn > 0. */
nas_status nas_i_job_learn(const nas_job_search_params *p, nas_job_search_result *res);

/* The crop padding of the evaluate recipe's default (nas_eval_config_default: 2 pixels, with
 * horizontal flips), kept for IDX data (Fashion-MNIST's recipe). */
#define NAS_I_JOB_IDX_CROP_PAD 2

/* Crop padding for data set d of h x w images: natural images (CIFAR, folders) with the default
 * pad get 4 pixels at 32x32, scaled with the smaller side elsewhere (round(4 * side / 32), at
 * least 1: 3 at 24x24, 2 at 16x16, 8 at 64x64); IDX data and other pads keep `pad`. */
int nas_i_job_crop_pad(const nas_data_desc *d, int h, int w, int pad);

/* The evaluate job on an open store. */
nas_status nas_i_job_evaluate_in(nas_store *db, const nas_job_evaluate_params *p,
                                 nas_job_evaluate_result *res);
