/*
 * `ghnas spaces`: list, show, count, sample and check search spaces.
 */
#pragma once

/* argv[0] is "spaces". Returns an exit code (NAS_EXIT_*). */
int nas_cli_spaces(int argc, char **argv);
