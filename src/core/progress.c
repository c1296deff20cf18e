/*
 * Progress bars on a terminal, periodic plain lines otherwise (CI logs, pipes).
 */
#include "ghnas/core.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool progress_enabled = true;

void nas_progress_set_enabled(bool on) {
    progress_enabled = on;
}

char *nas_format_duration(double seconds, char *buf, size_t cap) {
    if (!(seconds >= 0) || seconds > 1e8) {
        snprintf(buf, cap, "?");
        return buf;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600) {
        snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    } else {
        snprintf(buf, cap, "%ld:%02ld", s / 60, s % 60);
    }
    return buf;
}

void nas_progress_begin(nas_progress *p, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->t_start = nas_time_now();
    p->t_last = p->t_start;
    p->interval = 10.0;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->quiet = !progress_enabled;
}

void nas_progress_resume(nas_progress *p, int64_t done) {
    p->done = done;
    p->base = done;
}

double nas_progress_rate(const nas_progress *p) {
    double elapsed = nas_time_now() - p->t_start;
    return elapsed > 0 ? (double)(p->done - p->base) / elapsed : 0.0;
}

static void progress_print(nas_progress *p, bool final) {
    double now = nas_time_now();
    double elapsed = now - p->t_start;
    double rate = nas_progress_rate(p);
    char eta[16] = "?", el[16];
    if (p->total > 0 && rate > 0) {
        nas_format_duration((double)(p->total - p->done) / rate, eta, sizeof eta);
    }
    nas_format_duration(elapsed, el, sizeof el);
    char line[320];
    int off = 0;
    if (p->tty && p->total > 0) {
        char bar[21];
        int fill = (int)(20 * p->done / (p->total > 0 ? p->total : 1));
        for (int i = 0; i < 20; i++) {
            bar[i] = i < fill ? '#' : '.';
        }
        bar[20] = '\0';
        off = snprintf(line, sizeof line, "\r%-8s [%s] ", p->label, bar);
    } else {
        off = snprintf(line, sizeof line, "%s: ", p->label);
    }
    if (p->total > 0) {
        off += snprintf(line + off, sizeof line - (size_t)off, "%lld/%lld %3d%%",
                        (long long)p->done, (long long)p->total, (int)(100 * p->done / p->total));
    } else {
        off += snprintf(line + off, sizeof line - (size_t)off, "%lld", (long long)p->done);
    }
    if (p->status[0]) {
        off += snprintf(line + off, sizeof line - (size_t)off, "  %s", p->status);
    }
    if (final) {
        snprintf(line + off, sizeof line - (size_t)off, "  %.3g it/s  done in %s", rate, el);
    } else {
        snprintf(line + off, sizeof line - (size_t)off, "  %.3g it/s  %s  ETA %s", rate, el, eta);
    }
    if (p->tty) {
        fprintf(stderr, "%s\033[K%s", line, final ? "\n" : "");
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    p->t_last = now;
}

void nas_progress_update(nas_progress *p, int64_t done, const char *fmt, ...) {
    p->done = done;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->status, sizeof p->status, fmt, ap);
        va_end(ap);
    }
    if (p->quiet) {
        return;
    }
    double now = nas_time_now();
    double every = p->tty ? 0.1 : p->interval;
    if (now - p->t_last >= every) {
        progress_print(p, false);
    }
}

void nas_progress_end(nas_progress *p) {
    if (!p->quiet) {
        progress_print(p, true);
    }
}
