/*
 * Check test runner: runs every suite of suites.def, or only those named on the command line
 * (CTest runs one suite per test so that the two cores work in parallel).
 */
#include "test_suites.h"

#include "ghnas/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct suite_entry {
    const char *name;
    Suite *(*make)(void);
} suite_entry;

static const suite_entry suites[] = {
#define NAS_SUITE(name) {#name, nas_test_##name##_suite},
#include "suites.def"
#undef NAS_SUITE
};

#define N_SUITES (sizeof suites / sizeof suites[0])

int main(int argc, char **argv) {
    SRunner *sr = NULL;
    for (size_t i = 0; i < N_SUITES; i++) {
        bool wanted = argc < 2;
        for (int a = 1; a < argc; a++) {
            wanted = wanted || strcmp(argv[a], suites[i].name) == 0;
        }
        if (!wanted) {
            continue;
        }
        if (!sr) {
            sr = srunner_create(suites[i].make());
        } else {
            srunner_add_suite(sr, suites[i].make());
        }
    }
    if (!sr) {
        fprintf(stderr, "ghnas_tests: no suite matches; suites are:");
        for (size_t i = 0; i < N_SUITES; i++) {
            fprintf(stderr, " %s", suites[i].name);
        }
        fprintf(stderr, "\n");
        return 2;
    }
    nas_log_set_level(NAS_LOG_WARN);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
