/*
 * `ghnas train`: train the graph hypernetwork on a search space and an image dataset, with
 * checkpoints to save and resume; plus the dataset/split helper `ghnas score` shares.
 */
#pragma once

#include "ghnas/data.h"
#include "ghnas/ghn.h"
#include "ghnas/store.h"

/* argv[0] is "train". Returns an exit code (NAS_EXIT_*). */
int nas_cli_train(int argc, char **argv);

/*
 * Load the training split of `dataset` ("fashion-mnist" or "mnist") from dir (NULL = default),
 * split off info->n_val validation examples with info->split_seed, and, when compute_norm is
 * true, compute info->norm on the training part (else keep the recorded one). Fills info's
 * input shape. The caller frees ds and split.
 */
nas_status nas_cli_ghn_data(const char *dataset, const char *dir, nas_ghn_data_info *info,
                            bool compute_norm, nas_dataset *ds, nas_data_split *split);

/* Add a trained GHN (its checkpoint bytes, nas_ghn_save_mem of g and tr) to the results store,
 * with its configuration and training figures; *ghn_id receives its id. */
nas_status nas_cli_ghn_store(nas_store *db, const nas_ghn *g, const nas_ghn_trainer *tr,
                             const void *ckpt, size_t n_ckpt, int64_t *ghn_id);
