/*
 * `ghnas search`: the main job -- train a GHN when the store has none, search a space with it (or
 * with the params/flops scorers), evaluate the best few briefly and print a leaderboard; plus
 * the GHN-from-store helper `ghnas evaluate` shares.
 */
#pragma once

#include "ghnas/ghn.h"
#include "ghnas/store.h"

/* argv[0] is "search". Returns an exit code (NAS_EXIT_*). */
int nas_cli_search(int argc, char **argv);

/* Load GHN `ghn_id` of the store (through a temporary file) with its recorded data info. */
nas_status nas_cli_ghn_from_store(nas_store *db, int64_t ghn_id, nas_ghn *g,
                                  nas_ghn_data_info *info);
