/*
 * `ghnas rank`: fit a learned ranker on the trainings of a results store and save it there.
 */
#pragma once

/* argv[0] is "rank". Returns an exit code (NAS_EXIT_*). */
int nas_cli_rank(int argc, char **argv);
