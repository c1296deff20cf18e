/*
 * `ghnas query`: read a results store (runs, top-K, one architecture, Pareto front, GHN models,
 * read-only SQL) as an aligned table, CSV or JSON.
 */
#pragma once

/* argv[0] is "query". Returns an exit code (NAS_EXIT_*). */
int nas_cli_query(int argc, char **argv);
