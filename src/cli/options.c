/*
 * The one option parser of the CLI (declarative tables, getopt_long rules, help built from the
 * defaults) and strict value parsing: whole-string numbers and durations with messages that
 * name the option and the offending text.
 */
#include "cli.h"

#include "ghnas/data.h"
#include "ghnas/job.h"
#include "ghnas/score.h"

#include <errno.h>
#include <limits.h>
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

#define NAS_CLI_DURATION_MAX 1e9 /* seconds: longer is a typo (and overflows time arithmetic) */

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
    if (!isfinite(v * unit) || v * unit > NAS_CLI_DURATION_MAX) {
        return nas_error(NAS_EINVAL,
                         "%s: '%s' is longer than the %.0f s (about 31 years) a run can "
                         "last",
                         opt, s, NAS_CLI_DURATION_MAX);
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

/* ---- scorer names and signals ------------------------------------------------------------ */

nas_status nas_cli_parse_scorer(const char *opt, const char *value, void *field) {
    const nas_score_entry *e = NULL;
    if (nas_score_find(value, &e) != NAS_OK) {
        return nas_error_wrap(NAS_EINVAL, "%s", opt);
    }
    *(const char **)field = value;
    return NAS_OK;
}

nas_status nas_cli_parse_scorers(const char *opt, const char *value, void *field) {
    char buf[256];
    const char *names[NAS_JOB_SCORERS_MAX];
    int n = 0;
    NAS_CHECK(nas_score_parse_list(opt, value, buf, sizeof buf, names, NAS_JOB_SCORERS_MAX, &n));
    *(const char **)field = value;
    return NAS_OK;
}

volatile sig_atomic_t nas_cli_stop;

static void on_signal(int sig) {
    (void)sig;
    nas_cli_stop = 1;
}

void nas_cli_catch_signals(bool on) {
    static struct sigaction old_int, old_term;
    if (on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
        sigemptyset(&sa.sa_mask);
        nas_cli_stop = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    } else {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
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

/* ---- the option parser ------------------------------------------------------------------- */

nas_status nas_cli_parse_data(const char *opt, const char *value, void *field) {
    /* a name or a path (data.h): the job resolves it, after --data-dir is known */
    if (!value[0]) {
        return nas_error(NAS_EINVAL,
                         "%s: empty data set (%s, or a path: idx:DIR, cifar10:DIR, "
                         "cifar100:DIR, folder:DIR[@HxW], DIR)",
                         opt, nas_data_names());
    }
    *(const char **)field = value;
    return NAS_OK;
}

/* Does `name` (n bytes) spell option o, by its name or an alias? */
static bool opt_matches(const nas_cli_opt *o, const char *name, size_t n) {
    if (strlen(o->name) == n && strncmp(o->name, name, n) == 0) {
        return true;
    }
    for (const char *a = o->aliases; a && *a;) {
        size_t len = strcspn(a, " ");
        if (len == n && strncmp(a, name, n) == 0) {
            return true;
        }
        a += len;
        a += *a == ' ';
    }
    return false;
}

/* Store a value into the option's field; messages name the option as it was spelled. */
static nas_status opt_set(const nas_cli_opt *o, const char *spelled, const char *v, char *params) {
    void *field = params + o->offset;
    long long lo = o->min, hi = o->max;
    char *end = NULL;
    switch (o->type) {
        case NAS_CLI_FLAG:
            *(bool *)field = true;
            return NAS_OK;
        case NAS_CLI_STR:
            *(const char **)field = v;
            return NAS_OK;
        case NAS_CLI_CUSTOM:
            return o->parse(spelled, v, field);
        case NAS_CLI_DURATION:
            return nas_cli_parse_duration(spelled, v, (double *)field);
        case NAS_CLI_F32:
        case NAS_CLI_F64: {
            double d = 0.0;
            NAS_CHECK(nas_cli_parse_double(spelled, v, o->fmin, o->fmax, &d));
            if (o->type == NAS_CLI_F32) {
                *(float *)field = (float)d;
            } else {
                *(double *)field = d;
            }
            return NAS_OK;
        }
        default:
            break;
    }
    if (lo == 0 && hi == 0) {
        lo = o->type == NAS_CLI_INT ? INT_MIN : o->type == NAS_CLI_U64 ? 0 : LLONG_MIN;
        hi = o->type == NAS_CLI_INT ? INT_MAX : LLONG_MAX;
    }
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!v[0] || *end || errno == ERANGE) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not an integer", spelled, v);
    }
    if (x < lo || x > hi) {
        return nas_error(NAS_EINVAL, "%s: %lld is out of range [%lld, %lld]", spelled, x, lo, hi);
    }
    if (o->type == NAS_CLI_INT) {
        *(int *)field = (int)x;
    } else if (o->type == NAS_CLI_I64) {
        *(int64_t *)field = (int64_t)x;
    } else {
        *(uint64_t *)field = (uint64_t)x;
    }
    return NAS_OK;
}

int nas_cli_parse(const nas_cli_spec *spec, int argc, char **argv, void *params,
                  const void *defaults, nas_cli_args *args) {
    memset(args, 0, sizeof *args);
    NAS_ASSERT(spec->n_opts <= NAS_CLI_MAX_OPTS);
    const char *cmd = spec->cmd;
    bool only_args = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            if ((spec->max_args >= 0 && args->n_pos >= spec->max_args) ||
                args->n_pos == NAS_CLI_MAX_ARGS) {
                return nas_cli_usage_error(cmd, "unexpected argument '%s'", a);
            }
            args->pos[args->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            nas_cli_help(spec, defaults, stdout);
            return NAS_EXIT_OK;
        }
        /* one long option, or a bundle of short ones */
        bool is_long = a[1] == '-';
        const char *p = is_long ? a + 2 : a + 1;
        while (*p) {
            const nas_cli_opt *o = NULL;
            char spelled[40];
            const char *value = NULL;
            size_t n = is_long ? strcspn(p, "=") : 1;
            for (int k = 0; k < spec->n_opts && !o; k++) {
                const nas_cli_opt *c = &spec->opts[k];
                if (is_long ? opt_matches(c, p, n) : (c->short_name && c->short_name == *p)) {
                    o = c;
                }
            }
            if (is_long) {
                snprintf(spelled, sizeof spelled, "--%.*s", (int)(n < 30 ? n : 30), p);
            } else {
                snprintf(spelled, sizeof spelled, "-%c", *p);
            }
            if (!o) {
                if (!is_long && *p == 'h') {
                    nas_cli_help(spec, defaults, stdout);
                    return NAS_EXIT_OK;
                }
                return nas_cli_usage_error(cmd, "unknown option '%s'", is_long ? a : spelled);
            }
            int idx = (int)(o - spec->opts);
            if (is_long) {
                value = p[n] == '=' ? p + n + 1 : NULL;
                p += strlen(p);
            } else {
                p++;
                value = o->type != NAS_CLI_FLAG && *p ? p : NULL;
                if (value) {
                    p += strlen(p);
                }
            }
            if (o->type == NAS_CLI_FLAG && value) {
                return nas_cli_usage_error(cmd, "%s takes no value", spelled);
            }
            if (o->type != NAS_CLI_FLAG && !value) {
                if (i + 1 >= argc) {
                    return nas_cli_usage_error(cmd, "%s needs a value", spelled);
                }
                value = argv[++i];
            }
            if (opt_set(o, spelled, value, params) != NAS_OK) {
                return nas_cli_usage_error(cmd, "%s", nas_errmsg());
            }
            args->given |= o->bits;
            snprintf(args->as[idx], sizeof args->as[idx], "%s", spelled);
        }
    }
    return -1;
}

const char *nas_cli_given(const nas_cli_spec *spec, const nas_cli_args *args, const char *name) {
    for (int k = 0; k < spec->n_opts; k++) {
        if (strcmp(spec->opts[k].name, name) == 0) {
            return args->as[k][0] ? args->as[k] : NULL;
        }
    }
    return NULL;
}

/* The default value of an option's field, as text. */
static void show_default(const nas_cli_opt *o, const char *defaults, char *buf, size_t cap) {
    const void *f = defaults + o->offset;
    switch (o->type) {
        case NAS_CLI_STR:
            snprintf(buf, cap, "%s", *(const char *const *)f ? *(const char *const *)f : "none");
            break;
        case NAS_CLI_INT:
            snprintf(buf, cap, "%d", *(const int *)f);
            break;
        case NAS_CLI_I64:
            snprintf(buf, cap, "%lld", (long long)*(const int64_t *)f);
            break;
        case NAS_CLI_U64:
            snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)f);
            break;
        case NAS_CLI_F32:
            snprintf(buf, cap, "%g", (double)*(const float *)f);
            break;
        case NAS_CLI_F64:
            snprintf(buf, cap, "%g", *(const double *)f);
            break;
        case NAS_CLI_DURATION:
            snprintf(buf, cap, "%gs", *(const double *)f);
            break;
        case NAS_CLI_CUSTOM:
            if (o->show) {
                o->show(f, buf, cap);
                break;
            }
            if (o->parse == nas_cli_parse_scorer || o->parse == nas_cli_parse_scorers) {
                const char *v = *(const char *const *)f; /* these parsers keep the text */
                snprintf(buf, cap, "%s", v ? v : "none");
                break;
            }
            /* fall through */
        default:
            snprintf(buf, cap, "?");
            break;
    }
}

void nas_cli_help(const nas_cli_spec *spec, const void *defaults, FILE *out) {
    fputs(spec->usage, out);
    fputs("\noptions:\n", out);
    char left[NAS_CLI_MAX_OPTS][64];
    int col = 12; /* "-h, --help" */
    for (int k = 0; k < spec->n_opts; k++) {
        const nas_cli_opt *o = &spec->opts[k];
        char sh[8] = "";
        if (o->short_name) {
            snprintf(sh, sizeof sh, "-%c, ", o->short_name);
        }
        snprintf(left[k], sizeof left[k], "%s--%s%s%s", sh, o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        int w = (int)strlen(left[k]);
        col = w > col && w <= 22 ? w : col;
    }
    for (int k = 0; k < spec->n_opts; k++) {
        const nas_cli_opt *o = &spec->opts[k];
        char def[64];
        show_default(o, defaults, def, sizeof def);
        int w = (int)strlen(left[k]);
        fprintf(out, "  %s", left[k]);
        if (w > col) {
            fprintf(out, "\n%*s", col + 2, "");
            w = col;
        }
        fprintf(out, "%*s  ", col - w, "");
        for (const char *h = o->help ? o->help : ""; *h; h++) {
            if (h[0] == '%' && h[1] == 'D') {
                fputs(def, out);
                h++;
            } else if (*h == '\n') {
                fprintf(out, "\n%*s", col + 4, "");
            } else {
                fputc(*h, out);
            }
        }
        if (o->aliases) {
            fprintf(out, "\n%*salso spelled", col + 4, "");
            for (const char *a = o->aliases; *a;) {
                size_t len = strcspn(a, " ");
                fprintf(out, " --%.*s", (int)len, a);
                a += len;
                a += *a == ' ';
            }
        }
        fputc('\n', out);
    }
    fprintf(out, "  %-*s  this help\n", col, "-h, --help");
    if (spec->epilog) {
        fprintf(out, "\n%s", spec->epilog);
    }
    if (spec->list_scorers) {
        int n = 0;
        const nas_score_entry *reg = nas_score_registry(&n);
        fprintf(out, "\nscorers:\n");
        for (int i = 0; i < n; i++) {
            fprintf(out, "  %-10s %s is better: %s\n", reg[i].name,
                    reg[i].higher_is_better ? "higher" : "lower", reg[i].help);
        }
    }
}

/* ---- actions of a command ------------------------------------------------------------------ */

void nas_cli_action_names(const nas_cli_action *acts, int n, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", acts[i].name);
        len += w > 0 ? (size_t)w : 0;
    }
}

int nas_cli_action_find(const char *cmd, const char *word, const nas_cli_action *acts, int n) {
    for (int i = 0; i < n; i++) {
        if (strcmp(word, acts[i].name) == 0) {
            return i;
        }
    }
    char names[256];
    nas_cli_action_names(acts, n, names, sizeof names);
    nas_cli_usage_error(cmd, "unknown action '%s' (%s)", word, names);
    return -1;
}

int nas_cli_action_check_opts(const nas_cli_spec *spec, const nas_cli_args *args,
                              const nas_cli_action *act) {
    for (int k = 0; k < spec->n_opts; k++) {
        const unsigned bits = spec->opts[k].bits;
        if (args->as[k][0] && bits && !(bits & act->opts)) {
            return nas_cli_usage_error(spec->cmd, "%s: option %s does not apply", act->name,
                                       args->as[k]);
        }
    }
    return -1;
}
