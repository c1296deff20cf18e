/*
 * `ghnas evaluate DB --run ID (--top K | --sample K)`: train chosen architectures of a search run
 * and correlate their trained accuracy with the search score; plus the driver `ghnas search`
 * reuses for its closing evaluation.
 */
#pragma once

#include "ghnas/eval.h"
#include "ghnas/store.h"

/* argv[0] is "evaluate". Returns an exit code (NAS_EXIT_*). */
int nas_cli_evaluate(int argc, char **argv);

/*
 * Load the search run's dataset (training and test split; data_dir NULL = default), its GHN for
 * init "ghn", run nas_eval_run with ec (train/test/ghn are filled here) and print the table and
 * the correlations to stdout. *interrupted tells whether the stop flag ended it.
 */
nas_status nas_cli_evaluate_run(nas_store *db, nas_eval_config *ec, const char *data_dir,
                                bool *interrupted);
