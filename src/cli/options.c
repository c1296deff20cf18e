/*
 * Option value parsing for the CLI: strict whole-string numbers and durations with messages
 * that name the option and the offending text.
 */
#include "cli.h"

#include "ghnas/score.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nas_status nas_cli_parse_long(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || errno == ERANGE) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not an integer", opt, s);
    }
    if (v < lo || v > hi) {
        return nas_error(NAS_EINVAL, "%s: %ld is out of range [%ld, %ld]", opt, v, lo, hi);
    }
    *out = v;
    return NAS_OK;
}

nas_status nas_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!s[0] || *end || errno == ERANGE || !isfinite(v)) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not a finite number", opt, s);
    }
    if (v < lo || v > hi) {
        return nas_error(NAS_EINVAL, "%s: %g is out of range [%g, %g]", opt, v, lo, hi);
    }
    *out = v;
    return NAS_OK;
}

nas_status nas_cli_parse_duration(const char *opt, const char *s, double *seconds) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    double unit = 1.0;
    if (end && *end) {
        if (strcmp(end, "s") == 0) {
            unit = 1.0;
        } else if (strcmp(end, "m") == 0) {
            unit = 60.0;
        } else if (strcmp(end, "h") == 0) {
            unit = 3600.0;
        } else {
            return nas_error(NAS_EINVAL, "%s: '%s' is not a duration (use e.g. 90s, 20m, 1.5h)",
                             opt, s);
        }
    }
    if (!s[0] || end == s || errno == ERANGE || !isfinite(v) || v <= 0) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not a positive duration (e.g. 90s, 20m, 1.5h)",
                         opt, s);
    }
    *seconds = v * unit;
    return NAS_OK;
}

int nas_cli_fail(nas_status s) {
    fflush(stdout);
    const char *msg = nas_errmsg();
    fprintf(stderr, "ghnas: error: %s\n", msg[0] ? msg : nas_status_str(s));
    if (s == NAS_EINTERRUPTED) {
        return NAS_EXIT_INTERRUPTED;
    }
    return s == NAS_EINVAL ? NAS_EXIT_USAGE : NAS_EXIT_FAILURE;
}

/* ---- scorer names (the registry, score.h) ---------------------------------------------------- */

nas_status nas_cli_scorer_list(const char *opt, const char *list, char *buf, size_t buf_cap,
                               const char **names, int cap, int *n) {
    *n = 0;
    if (strlen(list) >= buf_cap) {
        return nas_error(NAS_EINVAL, "%s: the list is too long", opt);
    }
    snprintf(buf, buf_cap, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        size_t len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ') {
            tok[--len] = '\0';
        }
        const nas_score_entry *e = NULL;
        if (nas_score_find(tok, &e) != NAS_OK) {
            return nas_error_wrap(NAS_EINVAL, "%s", opt);
        }
        bool seen = false;
        for (int k = 0; k < *n; k++) {
            seen = seen || strcmp(names[k], tok) == 0;
        }
        if (seen) {
            continue;
        }
        if (*n >= cap) {
            return nas_error(NAS_EINVAL, "%s: more than %d scorers", opt, cap);
        }
        names[(*n)++] = tok;
    }
    if (*n == 0) {
        return nas_error(NAS_EINVAL, "%s: no scorer named", opt);
    }
    return NAS_OK;
}

void nas_cli_print_scorers(FILE *out, const char *indent) {
    int n = 0;
    const nas_score_entry *reg = nas_score_registry(&n);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s%-10s %s is better: %s\n", indent, reg[i].name,
                reg[i].higher_is_better ? "higher" : "lower", reg[i].help);
    }
}

int nas_cli_usage_error(const char *cmd, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nas_cli_fail(nas_error(NAS_EINVAL, "%s: %s (see ghnas %s --help)", cmd, what, cmd));
}

nas_status nas_cli_read_lines(const char *path, char ***out, int *n) {
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        return nas_error(NAS_EIO, "cannot open '%s': %s", path, strerror(errno));
    }
    nas_status st = NAS_OK;
    char **v = NULL;
    int m = 0, cap = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = nas_error(NAS_EINVAL, "%s: line %d is longer than %zu characters", path, m + 1,
                           sizeof line - 2);
            goto cleanup;
        }
        char *b = line, *e = line + len;
        while (*b == ' ' || *b == '\t') {
            b++;
        }
        while (e > b && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        *e = '\0';
        if (*b == '\0' || *b == '#') {
            continue;
        }
        if (m == cap) {
            int nc = cap ? 2 * cap : 64;
            char **nv = nas_realloc(v, (size_t)nc * sizeof *nv);
            if (!nv) {
                st = nas_error(NAS_ENOMEM, "out of memory reading '%s'", path);
                goto cleanup;
            }
            v = nv;
            cap = nc;
        }
        size_t k = (size_t)(e - b) + 1;
        v[m] = nas_malloc(k);
        if (!v[m]) {
            st = nas_error(NAS_ENOMEM, "out of memory reading '%s'", path);
            goto cleanup;
        }
        memcpy(v[m++], b, k);
    }
    if (ferror(f)) {
        st = nas_error(NAS_EIO, "reading '%s' failed", path);
    }
cleanup:
    fclose(f);
    if (st != NAS_OK) {
        nas_cli_lines_free(v, m);
        return st;
    }
    *out = v;
    *n = m;
    return NAS_OK;
}

void nas_cli_lines_free(char **lines, int n) {
    for (int i = 0; i < n; i++) {
        nas_free(lines[i]);
    }
    nas_free(lines);
}
