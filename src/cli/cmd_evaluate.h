/*
 * `ghnas evaluate DB --run ID (--top K | --sample K)`: train chosen architectures of a search run
 * and correlate their trained accuracy with the search score (nas_job_evaluate).
 */
#pragma once

/* argv[0] is "evaluate". Returns an exit code (NAS_EXIT_*). */
int nas_cli_evaluate(int argc, char **argv);
