/*
 * Shared pieces of the ghnas command line: the subcommand table entry and option parsing helpers
 * that turn bad values into clear messages (never atoi's silent zero).
 */
#pragma once

#include "ghnas/core.h"

#include <stdio.h>

/* Exit codes of the ghnas executable. */
enum {
    NAS_EXIT_OK = 0,
    NAS_EXIT_FAILURE = 1, /* the command ran and failed (bad data, I/O, ...) */
    NAS_EXIT_USAGE = 2,   /* bad command line */
    NAS_EXIT_INTERRUPTED = 130
};

typedef struct nas_cli_command {
    const char *name;                  /* subcommand word */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;               /* one line for `ghnas --help` */
} nas_cli_command;

/* Parse a whole-string integer/float option value within [lo, hi]; messages name the option. */
nas_status nas_cli_parse_long(const char *opt, const char *s, long lo, long hi, long *out);
nas_status nas_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out);
/* Durations: "90" or "90s", "20m", "1.5h" -> seconds (> 0). */
nas_status nas_cli_parse_duration(const char *opt, const char *s, double *seconds);

/* Print "ghnas: error: <message>" for the current nas_errmsg() and return an exit code. */
int nas_cli_fail(nas_status s);

/* The non-empty lines of a text file that do not start with '#', trimmed (e.g. one arch per line);
 *out is a heap array of heap strings, freed with nas_cli_lines_free. */
nas_status nas_cli_read_lines(const char *path, char ***out, int *n);
void nas_cli_lines_free(char **lines, int n);

/* A bad command line of `ghnas CMD`: the message "CMD: <fmt...> (see ghnas CMD --help)" on
 * stderr; returns the usage exit code. */
int nas_cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * Split a comma-separated list of scorer names (the registry's, score.h) into names[0..*n)
 * (pointers into buf, which receives a copy of list), dropping repeats; NAS_EINVAL naming an
 * unknown or empty entry (with the known names) or more than cap.
 */
nas_status nas_cli_scorer_list(const char *opt, const char *list, char *buf, size_t buf_cap,
                               const char **names, int cap, int *n);
/* The scorer registry for --help: one line per scorer (name, direction, help) after `indent`. */
void nas_cli_print_scorers(FILE *out, const char *indent);
