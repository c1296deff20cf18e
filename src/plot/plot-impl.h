/*
 * Internal header of src/plot: axis ticks (1-2-5 steps, decades on log axes) and their labels,
 * shared by the figure code and the unit tests.
 */
#pragma once

#include "ghnas/plot.h"

#include <stddef.h>

#define NAS_I_PLOT_MAX_TICKS 24

/* The ticks of an axis over [lo, hi] (log: values > 0, ticks at decades, with 2 and 5 between
 * when the range spans less than 2.5 decades and at every whole multiple within about one;
 * integer: whole-number steps only). */
typedef struct nas_i_plot_ticks {
    int n;
    double v[NAS_I_PLOT_MAX_TICKS]; /* tick values, ascending, within [lo, hi] */
    double step;                    /* linear: the step between ticks */
} nas_i_plot_ticks;

/* A 1-2-5 x 10^k step close to span / target. */
double nas_i_plot_nice_step(double span, int target);

/* Extend [*lo, *hi] to a non-empty range padded by a little and (linear) rounded out to whole
 * steps; log ranges are padded in log space. Values are finite on return. */
void nas_i_plot_range(double *lo, double *hi, bool log, bool integer);

/* Ticks of [lo, hi]. */
void nas_i_plot_ticks_make(double lo, double hi, bool log, bool integer, nas_i_plot_ticks *t);

/* A tick label: plain decimals with the digits the step needs, k/M/G for large values
 * (12k, 1.5M), powers of ten on log axes (0.001, 1, 100, 10k). */
void nas_i_plot_tick_label(double v, double step, bool log, char *buf, size_t cap);
