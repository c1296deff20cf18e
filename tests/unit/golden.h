/*
 * Reader for golden files written by tests/data/golden_io.py (PyTorch twins), and the
 * generators' deterministic inputs and parameters.
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/net.h"

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

/* The generators' deterministic values (gen_golden_net.py det_u): n floats in [-1, 1) from a
 * hash of name. */
void golden_det_u(const char *name, int64_t n, float *out);
/* Their deterministic parameters (det_param) for a net slot: weights det_u * sqrt(3 / fan_in),
 * BN gamma 1 + det_u / 4, every other slot det_u / 4. out has s->numel floats. */
void golden_det_slot(const nas_net_slot *s, float *out);
