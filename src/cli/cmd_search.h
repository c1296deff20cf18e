/*
 * `ghnas search`: the main job (nas_job_search) -- train a GHN when the store has none, search a
 * space with it (or with other scorers), evaluate the best few briefly, print a leaderboard.
 */
#pragma once

/* argv[0] is "search". Returns an exit code (NAS_EXIT_*). */
int nas_cli_search(int argc, char **argv);
