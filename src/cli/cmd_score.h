/*
 * `ghnas score`: validation accuracy and loss that a trained GHN's predicted weights reach for
 * given (or randomly sampled) architectures.
 */
#pragma once

/* argv[0] is "score". Returns an exit code (NAS_EXIT_*). */
int nas_cli_score(int argc, char **argv);
