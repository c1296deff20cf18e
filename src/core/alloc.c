/*
 * Heap allocation wrappers with fault injection.
 *
 * Every heap allocation in the library goes through nas_malloc/nas_calloc/nas_realloc so that
 * tests can make the n-th allocation fail and check that each error path returns NAS_ENOMEM
 * without leaking (SQLite's fault-simulation idea, reduced to a counter).
 */
#include "ghnas/core.h"

#include <stdlib.h>
#include <string.h>

static long fault_countdown; /* 0 = off; otherwise allocations left before the injected failure */

static int fault_now(void) {
    if (fault_countdown <= 0) {
        return 0;
    }
    if (--fault_countdown == 0) {
        return 1;
    }
    return 0;
}

void nas_fault_inject(long n) {
    fault_countdown = n > 0 ? n : 0;
}

void *nas_malloc(size_t n) {
    if (fault_now()) {
        return NULL;
    }
    return malloc(n ? n : 1);
}

void *nas_calloc(size_t count, size_t size) {
    if (fault_now()) {
        return NULL;
    }
    return calloc(count ? count : 1, size ? size : 1);
}

void *nas_realloc(void *p, size_t n) {
    if (fault_now()) {
        return NULL;
    }
    return realloc(p, n ? n : 1);
}

void nas_free(void *p) {
    free(p);
}

char *nas_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = nas_malloc(n);
    if (p) {
        memcpy(p, s, n);
    }
    return p;
}
