/*
 * The committed ground-truth table (experiments/data/nb201_fmnist_truth.csv, issue 11) as the
 * experiment tools read it: one entry per cell with its per-seed truth, params and FLOPs.
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/space.h"

#define TRUTH_MAX_CELLS 4096
#define TRUTH_SEEDS     2

typedef struct truth_cell {
    char arch[NAS_ARCH_STR_MAX];
    int index;                 /* cell index (its line in nb201_fmnist_cells.txt) */
    bool test;                 /* test half (odd cell index) */
    double truth[TRUTH_SEEDS]; /* seed 1, seed 2 (NaN when missing) */
    double params, flops;      /* as the table records them */
} truth_cell;

/* The cells of the table at path with the truth column truth_col ("val_acc" or "test_acc"), in
 * the order their first row appears; rows of other seeds are skipped. *out is heap
 * [TRUTH_MAX_CELLS] (nas_free), *n the number of cells. Messages name the file and line. */
nas_status truth_csv_read(const char *path, const char *truth_col, truth_cell **out, int *n);
