/*
 * Reader for golden files written by tests/data/golden_io.py (PyTorch twins).
 */
#pragma once

#include "ghnas/core.h"

#include <stdint.h>

typedef struct golden_rec {
    char name[64];    /* record name */
    int ndim;         /* 1..4 */
    int64_t shape[4]; /* dims */
    int64_t numel;    /* product of dims */
    float *data;      /* numel floats */
} golden_rec;

typedef struct golden_file {
    golden_rec *recs; /* records in file order */
    int count;        /* number of records */
} golden_file;

/* Load a golden file; NAS_EIO / NAS_EFORMAT with a message on failure. */
nas_status golden_load(golden_file *g, const char *path);
void golden_free(golden_file *g);
/* Record by name or NULL. */
const golden_rec *golden_get(const golden_file *g, const char *name);
/* Compare n floats; prints the first mismatches and max difference. Returns mismatches:
 * |a-b| > atol + rtol*|b|. */
int golden_compare(const char *what, const float *got, const float *want, int64_t n, double atol,
                   double rtol);
