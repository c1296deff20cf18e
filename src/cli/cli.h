/*
 * Shared pieces of the ghnas command line: the subcommand table entry, the one option parser
 * (declarative option tables, getopt_long rules) and value helpers that turn bad values into
 * clear messages (never atoi's silent zero).
 */
#pragma once

#include "ghnas/core.h"

#include <signal.h>
#include <stddef.h>
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

/* ---- the option parser ----------------------------------------------------------------------
 *
 * A command declares its options in a table of nas_cli_opt, each naming a field (by offset) of
 * the params struct the command hands to its job. nas_cli_parse follows getopt_long's rules:
 * `--name value` and `--name=value`; short options `-k 5`, `-k5` and bundles `-qk 5`; `--`
 * ends the options; options and positional arguments mix in any order; -h/--help prints the
 * help built from the table with the defaults read from the command's _defaults() params.
 * Long names must be spelled in full (no abbreviations, so new options never break scripts).
 * Bad command lines print "ghnas: error: CMD: ... (see ghnas CMD --help)" and exit 2.
 */

typedef enum nas_cli_type {
    NAS_CLI_FLAG,     /* bool, takes no value */
    NAS_CLI_STR,      /* const char * (points into argv) */
    NAS_CLI_INT,      /* int within [min, max] */
    NAS_CLI_I64,      /* int64_t within [min, max] */
    NAS_CLI_U64,      /* uint64_t within [min, max] (seeds) */
    NAS_CLI_F32,      /* float within [fmin, fmax] */
    NAS_CLI_F64,      /* double within [fmin, fmax] */
    NAS_CLI_DURATION, /* double seconds: 90, 90s, 20m, 1.5h */
    NAS_CLI_CUSTOM    /* parse(opt, value, field) */
} nas_cli_type;

typedef struct nas_cli_opt {
    const char *name; /* long name without "--" ("db") */
    char short_name;  /* 'k' for -k, 0 = none */
    nas_cli_type type;
    size_t offset;       /* of the field in the params struct */
    const char *metavar; /* value placeholder in the help ("N", "FILE"); NULL for flags */
    const char *help;    /* help text, lines separated by \n; %D is replaced by the default */
    const char *aliases; /* other long spellings, space-separated ("val"); NULL = none */
    int64_t min, max;    /* integer range (both 0 = the type's range) */
    double fmin, fmax;   /* float range */
    unsigned bits;       /* or-ed into nas_cli_args.given when the option is given */
    nas_status (*parse)(const char *opt, const char *value, void *field); /* NAS_CLI_CUSTOM */
    void (*show)(const void *field, char *buf, size_t cap); /* its default text for %D */
} nas_cli_opt;

#define NAS_CLI_MAX_OPTS 64
#define NAS_CLI_MAX_ARGS 64

typedef struct nas_cli_spec {
    const char *cmd;         /* "search" */
    const char *usage;       /* usage lines and description, printed before the options */
    const nas_cli_opt *opts; /* the table */
    int n_opts;
    const char *epilog; /* printed after the options (NULL) */
    int max_args;       /* positional arguments accepted (-1 = any) */
    bool list_scorers;  /* the help ends with the scorer registry (score.h) */
} nas_cli_spec;

typedef struct nas_cli_args {
    const char *pos[NAS_CLI_MAX_ARGS]; /* positional arguments, in order */
    int n_pos;
    unsigned given;                /* OR of the bits of the options given */
    char as[NAS_CLI_MAX_OPTS][40]; /* per option: the spelling used ("--val"), or "" */
} nas_cli_args;

/*
 * Parse argv[1..argc) into params (already holding the defaults) by spec. Returns -1 when the
 * command should go on, else the exit code to return: NAS_EXIT_OK after printing the help
 * (from `defaults`), NAS_EXIT_USAGE after printing what is wrong.
 */
int nas_cli_parse(const nas_cli_spec *spec, int argc, char **argv, void *params,
                  const void *defaults, nas_cli_args *args);
/* The help of a command: usage, options with defaults, epilog. */
void nas_cli_help(const nas_cli_spec *spec, const void *defaults, FILE *out);
/* The spelling option `name` (its long name in the table) was given as, or NULL when not given. */
const char *nas_cli_given(const nas_cli_spec *spec, const nas_cli_args *args, const char *name);

/* An action of a command with actions (`ghnas spaces count`, `ghnas query DB top`). */
typedef struct nas_cli_action {
    const char *name;
    unsigned opts; /* bits of the options that apply to it (options without bits apply to all) */
} nas_cli_action;

/* The action names joined by ", " into buf (truncated to cap). */
void nas_cli_action_names(const nas_cli_action *acts, int n, char *buf, size_t cap);
/* The index of action `word`; else -1 after "CMD: unknown action 'w' (names)" (exit code
 * NAS_EXIT_USAGE). */
int nas_cli_action_find(const char *cmd, const char *word, const nas_cli_action *acts, int n);
/* -1 when every option given applies to the action, else NAS_EXIT_USAGE after "CMD: ACTION:
 * option --x does not apply". */
int nas_cli_action_check_opts(const nas_cli_spec *spec, const nas_cli_args *args,
                              const nas_cli_action *act);

/* Custom value types shared by commands. */
nas_status nas_cli_parse_data(const char *opt, const char *value, void *field); /* --data */

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

/* Custom option values: one known scorer name; a comma-separated list of them. */
nas_status nas_cli_parse_scorer(const char *opt, const char *value, void *field);
nas_status nas_cli_parse_scorers(const char *opt, const char *value, void *field);

/* The stop flag of the running job: between nas_cli_catch_signals(true) and (false), SIGINT and
 * SIGTERM set it (a second one ends the process at once). */
extern volatile sig_atomic_t nas_cli_stop;
void nas_cli_catch_signals(bool on);
