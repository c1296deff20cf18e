/*
 * Reader of the ground-truth table CSV shared by the experiment tools (truth_rank, rank_table):
 * a header naming the columns, then one row per (cell, seed), comma-separated without quoting.
 */
#include "truth_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRUTH_LINE_MAX 8192
#define TRUTH_MAX_COLS 32

/* Split line in place at commas; returns the number of fields (at most cap). */
static int csv_split(char *line, char **f, int cap) {
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < cap;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) {
            break;
        }
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int csv_col(char *const *f, int n, const char *name) {
    for (int i = 0; i < n; i++) {
        if (strcmp(f[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

nas_status truth_csv_read(const char *path, const char *truth_col, truth_cell **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return nas_error(NAS_EIO, "cannot open the truth table '%s'", path);
    }
    nas_status st = NAS_OK;
    char line[TRUTH_LINE_MAX];
    char *f[TRUTH_MAX_COLS];
    int n = 0;
    truth_cell *c = nas_calloc(TRUTH_MAX_CELLS, sizeof *c);
    if (!c) {
        st = nas_error(NAS_ENOMEM, "out of memory reading '%s'", path);
        goto cleanup;
    }
    if (!fgets(line, sizeof line, fp)) {
        st = nas_error(NAS_EINVAL, "%s: empty file", path);
        goto cleanup;
    }
    const int nf = csv_split(line, f, TRUTH_MAX_COLS);
    const int c_cell = csv_col(f, nf, "cell"), c_half = csv_col(f, nf, "half");
    const int c_seed = csv_col(f, nf, "seed"), c_arch = csv_col(f, nf, "arch");
    const int c_params = csv_col(f, nf, "params"), c_flops = csv_col(f, nf, "flops");
    const int c_truth = csv_col(f, nf, truth_col);
    if (c_cell < 0 || c_half < 0 || c_seed < 0 || c_arch < 0 || c_params < 0 || c_flops < 0 ||
        c_truth < 0) {
        st = nas_error(NAS_EINVAL,
                       "%s: needs the columns cell, half, seed, arch, params, flops and %s", path,
                       truth_col);
        goto cleanup;
    }
    for (int lineno = 2; fgets(line, sizeof line, fp); lineno++) {
        const int got = csv_split(line, f, TRUTH_MAX_COLS);
        if (got != nf) {
            st =
                nas_error(NAS_EINVAL, "%s:%d: %d fields, the header has %d", path, lineno, got, nf);
            goto cleanup;
        }
        const int seed = atoi(f[c_seed]);
        if (seed < 1 || seed > TRUTH_SEEDS) {
            continue;
        }
        int k = 0;
        while (k < n && strcmp(c[k].arch, f[c_arch]) != 0) {
            k++;
        }
        if (k == n) {
            if (n == TRUTH_MAX_CELLS) {
                st = nas_error(NAS_EINVAL, "%s: more than %d cells", path, TRUTH_MAX_CELLS);
                goto cleanup;
            }
            truth_cell *x = &c[n++];
            snprintf(x->arch, sizeof x->arch, "%s", f[c_arch]);
            x->index = atoi(f[c_cell]);
            x->test = strcmp(f[c_half], "test") == 0;
            for (int s = 0; s < TRUTH_SEEDS; s++) {
                x->truth[s] = (double)NAN;
            }
            x->params = strtod(f[c_params], NULL);
            x->flops = strtod(f[c_flops], NULL);
        }
        c[k].truth[seed - 1] = strtod(f[c_truth], NULL);
    }
cleanup:
    fclose(fp);
    if (st != NAS_OK) {
        nas_free(c);
        return st;
    }
    *out = c;
    *n_out = n;
    return NAS_OK;
}
