/*
 * `ghnas query`: read a results store (runs, top-K, one architecture, Pareto front, GHN models,
 * read-only SQL) as an aligned table, CSV or JSON; plus the table printer other commands reuse.
 */
#pragma once

#include "ghnas/store.h"

#include <stdio.h>

/* argv[0] is "query". Returns an exit code (NAS_EXIT_*). */
int nas_cli_query(int argc, char **argv);

typedef enum nas_cli_format {
    NAS_CLI_FORMAT_TABLE = 0, /* aligned columns with a header, for people */
    NAS_CLI_FORMAT_CSV = 1,   /* RFC 4180 quoting, header row, NULL as an empty field */
    NAS_CLI_FORMAT_JSON = 2   /* array of objects; *_json columns embedded as JSON values */
} nas_cli_format;

/* "table", "csv", "json"; NAS_EINVAL naming `opt` otherwise. */
nas_status nas_cli_format_parse(const char *opt, const char *s, nas_cli_format *out);

/* Print one table in a format (JSON: one array; CSV/table: header then rows). */
void nas_cli_print_table(FILE *out, const nas_store_table *t, nas_cli_format fmt);
