/*
 * Status codes and the thread-local error message buffer.
 *
 * Messages are formatted into a per-thread buffer so that OpenMP workers scoring different
 * candidates report their own failures. nas_error_wrap() prepends context while an error travels
 * up the call stack ("reading train-images.gz: truncated at byte 16").
 */
#include "ghnas/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAS_ERRMSG_CAP 1024

static _Thread_local char errmsg[NAS_ERRMSG_CAP];

static const char *const status_text[NAS_STATUS_COUNT] = {
    [NAS_OK] = "ok",
    [NAS_EINVAL] = "invalid argument",
    [NAS_ENOMEM] = "out of memory",
    [NAS_EIO] = "input/output error",
    [NAS_EFORMAT] = "malformed input",
    [NAS_ENOTFOUND] = "not found",
    [NAS_ESHAPE] = "shape mismatch",
    [NAS_ENUMERIC] = "numerical error",
    [NAS_EDB] = "results store error",
    [NAS_EINTERRUPTED] = "interrupted",
    [NAS_EUNSUPPORTED] = "unsupported",
    [NAS_EINTERNAL] = "internal error",
};

_Static_assert(NAS_STATUS_COUNT == 12, "add a row to status_text for every status code");

const char *nas_status_str(nas_status s) {
    if ((int)s < 0 || s >= NAS_STATUS_COUNT || !status_text[s]) {
        return "unknown status";
    }
    return status_text[s];
}

const char *nas_errmsg(void) {
    return errmsg;
}

nas_status nas_error(nas_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return s;
}

nas_status nas_error_wrap(nas_status s, const char *fmt, ...) {
    char old[NAS_ERRMSG_CAP];
    memcpy(old, errmsg[0] ? errmsg : nas_status_str(s), sizeof old);
    old[sizeof old - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    /* Append ": <old message>", cutting what does not fit. */
    size_t len = strlen(errmsg);
    const char *parts[2] = {": ", old};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(parts[i]);
        if (n > sizeof errmsg - 1 - len) {
            n = sizeof errmsg - 1 - len;
        }
        memcpy(errmsg + len, parts[i], n);
        len += n;
    }
    errmsg[len] = '\0';
    return s;
}

void nas_error_clear(void) {
    errmsg[0] = '\0';
}

void nas_abort(const char *file, int line, const char *what) {
    fflush(stdout);
    fprintf(stderr, "ghnas: internal error at %s:%d: assertion failed: %s\n", file, line, what);
    abort();
}
