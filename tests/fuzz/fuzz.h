/*
 * The libFuzzer entry points every harness in tests/fuzz defines. Built with clang and
 * -fsanitize=fuzzer (scripts/fuzz.sh), libFuzzer provides main(); built without it (every
 * build), replay.c provides a main() that feeds the committed seed corpora and regression inputs
 * to the same entry point, so they run in ctest, under ASan+UBSan too.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a NUL-terminated string (heap, free()); NULL when out of memory. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* abort() with a message when cond is false: a broken invariant the fuzzer reports as a crash. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
        }                                                                                          \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);
