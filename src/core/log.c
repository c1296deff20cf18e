/*
 * Logging with a replaceable sink and a minimum level.
 *
 * The default sink writes "ghnas: warning: ..." lines to stderr. Tests install a sink that fails
 * the test on unexpected error-level messages; the CLI lowers or raises the level with -v/-q.
 */
#include "ghnas/core.h"

#include <stdio.h>
#include <time.h>

static nas_log_fn log_fn;
static void *log_user;
static nas_log_level log_min = NAS_LOG_INFO;

static void log_default(nas_log_level level, const char *msg, void *user) {
    static const char *const prefix[] = {"debug: ", "", "warning: ", "error: "};
    (void)user;
    fprintf(stderr, "ghnas: %s%s\n", prefix[level], msg);
}

void nas_log_set(nas_log_fn fn, void *user) {
    log_fn = fn;
    log_user = user;
}

void nas_log_set_level(nas_log_level min_level) {
    log_min = min_level;
}

nas_log_level nas_log_get_level(void) {
    return log_min;
}

void nas_log(nas_log_level level, const char *fmt, ...) {
    if (level < log_min || level >= NAS_LOG_OFF) {
        return;
    }
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_fn) {
        log_fn(level, msg, log_user);
    } else {
        log_default(level, msg, NULL);
    }
}

double nas_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
