/*
 * Helpers shared by the fuzz harnesses: the input as a C string, the invariant failure, and the
 * library set-up every harness needs (logging off, progress lines off).
 */
#include "fuzz.h"

#include "ghnas/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

_Noreturn void fuzz_fail(const char *file, int line, const char *what) {
    fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", file, line, what, nas_errmsg());
    abort();
}
