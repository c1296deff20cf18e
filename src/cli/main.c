/*
 * ghnas command-line entry point: a dispatch table of subcommands. The only place that exits.
 */
#include "ghnas/core.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("ghnas %s\n", GHNAS_VERSION);
    return 0;
}
