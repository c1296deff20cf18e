/*
 * `ghnas plot DB KIND --out FILE` and `ghnas report DB --out FILE.html`: figures and a one-file
 * HTML report read straight from a results store.
 */
#pragma once

/* argv[0] is "plot". Returns an exit code (NAS_EXIT_*). */
int nas_cli_plot(int argc, char **argv);

/* argv[0] is "report". Returns an exit code (NAS_EXIT_*). */
int nas_cli_report(int argc, char **argv);
