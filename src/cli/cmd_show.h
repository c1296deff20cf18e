/*
 * `ghnas show`: compile an architecture of a search space into its op-level graph and print it
 * (text table, graphviz DOT or GraphML) with shapes, parameters and FLOPs.
 */
#pragma once

/* argv[0] is "show". Returns an exit code (NAS_EXIT_*). */
int nas_cli_show(int argc, char **argv);
