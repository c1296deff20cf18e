/*
 * Printing for the commands (src/cli/report.c): store tables in three formats, the report of an
 * evaluate job, the store's schema, and the spaces (list rows, a space, an architecture check).
 */
#pragma once

#include "ghnas/job.h"
#include "ghnas/space.h"
#include "ghnas/store.h"

#include <stdio.h>

typedef enum nas_cli_format {
    NAS_CLI_FORMAT_TABLE = 0, /* aligned columns with a header, for people */
    NAS_CLI_FORMAT_CSV = 1,   /* RFC 4180 quoting, header row, NULL as an empty field */
    NAS_CLI_FORMAT_JSON = 2   /* array of objects; *_json columns embedded as JSON values */
} nas_cli_format;

/* The --format option (NAS_CLI_CUSTOM parse and show of a nas_cli_format field): "table", "csv",
 * "json"; NAS_EINVAL naming `opt` otherwise. */
nas_status nas_cli_format_parse(const char *opt, const char *s, void *field);
void nas_cli_format_show(const void *field, char *buf, size_t cap);

/* Print one table in a format (JSON: one array; CSV/table: header then rows). */
void nas_cli_print_table(FILE *out, const nas_store_table *t, nas_cli_format fmt);

/* Several named tables (`query arch`): JSON one object; CSV and table blocks separated by a
 * blank line. */
void nas_cli_print_sections(FILE *out, const nas_store_table *t, const char *const *names, int n,
                            nas_cli_format fmt);

/* The table of an evaluate job's trainings and its correlations, on stdout (nothing when no
 * architecture was chosen). */
void nas_cli_print_evaluate(const nas_job_evaluate_result *r);

/* What a query job found: its table(s) in fmt, or the upgrade's schema versions. */
void nas_cli_print_query(const nas_job_query_params *p, const nas_job_query_result *r,
                         nas_cli_format fmt);

/* The store's schema as one SQL script, on stdout (`query --schema`). */
void nas_cli_print_schema(void);

/* `spaces list`: every built-in space's name, kind, size and description on stdout; a space that
 * cannot be loaded gets a row saying so and its error on stderr (then false). */
bool nas_cli_print_spaces(void);
/* `spaces show`: ops, structure, choices and skeleton defaults, on stdout. */
void nas_cli_print_space(const nas_space *sp);
/* `spaces check`: canonical text, validity and keys, on stdout. */
void nas_cli_print_arch_info(const nas_arch_info *info);
