/*
 * Printing for the commands (src/cli/report.c): store tables in three formats and the report of
 * an evaluate job, shared by `ghnas query`, `ghnas search` and `ghnas evaluate`.
 */
#pragma once

#include "ghnas/job.h"
#include "ghnas/store.h"

#include <stdio.h>

typedef enum nas_cli_format {
    NAS_CLI_FORMAT_TABLE = 0, /* aligned columns with a header, for people */
    NAS_CLI_FORMAT_CSV = 1,   /* RFC 4180 quoting, header row, NULL as an empty field */
    NAS_CLI_FORMAT_JSON = 2   /* array of objects; *_json columns embedded as JSON values */
} nas_cli_format;

/* "table", "csv", "json"; NAS_EINVAL naming `opt` otherwise. */
nas_status nas_cli_format_parse(const char *opt, const char *s, nas_cli_format *out);

/* Print one table in a format (JSON: one array; CSV/table: header then rows). */
void nas_cli_print_table(FILE *out, const nas_store_table *t, nas_cli_format fmt);

/* Several named tables (`query arch`): JSON one object; CSV and table blocks separated by a
 * blank line. */
void nas_cli_print_sections(FILE *out, const nas_store_table *t, const char *const *names, int n,
                            nas_cli_format fmt);

/* The table of an evaluate job's trainings and its correlations, on stdout (nothing when no
 * architecture was chosen). */
void nas_cli_print_evaluate(const nas_job_evaluate_result *r);
