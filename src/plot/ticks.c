/*
 * Axis ticks and their labels: "nice" linear steps of 1, 2 or 5 times a power of ten (Heckbert's
 * rule of thumb), ranges rounded out to whole steps, decades (with 2 and 5 between on short
 * ranges) on log axes, and compact labels (k/M/G suffixes for large values).
 */
#include "plot-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double nas_i_plot_nice_step(double span, int target) {
    if (!(span > 0) || !isfinite(span) || target < 1) {
        return 1.0;
    }
    double raw = span / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nice = f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0;
    return nice * mag;
}

void nas_i_plot_range(double *lo, double *hi, bool log, bool integer) {
    double a = *lo, b = *hi;
    if (log) {
        if (!(a > 0) || !isfinite(a)) {
            a = b > 0 && isfinite(b) ? b / 10.0 : 1.0;
        }
        if (!(b > 0) || !isfinite(b)) {
            b = a * 10.0;
        }
        double la = log10(a), lb = log10(b);
        if (lb - la < 1e-9) {
            la -= 0.5;
            lb += 0.5;
        }
        double pad = 0.04 * (lb - la);
        *lo = pow(10.0, la - pad);
        *hi = pow(10.0, lb + pad);
        return;
    }
    if (!isfinite(a) || !isfinite(b)) {
        a = 0.0;
        b = 1.0;
    }
    if (b - a <= fabs(a) * 1e-12 || b <= a) {
        double d = a != 0.0 ? fabs(a) * 0.1 : 1.0;
        a -= d;
        b += d;
    }
    /* pad by 4 % so no point sits on the frame, then round out to whole steps when that adds
     * at most half a step */
    double pad = 0.04 * (b - a);
    a -= pad;
    b += pad;
    double step = nas_i_plot_nice_step(b - a, 5);
    if (integer && step < 1.0) {
        step = 1.0;
    }
    double ra = floor(a / step) * step, rb = ceil(b / step) * step;
    *lo = a - ra <= 0.5 * step ? ra : a;
    *hi = rb - b <= 0.5 * step ? rb : b;
}

void nas_i_plot_ticks_make(double lo, double hi, bool log, bool integer, nas_i_plot_ticks *t) {
    memset(t, 0, sizeof *t);
    if (!(hi > lo)) {
        return;
    }
    if (log) {
        double la = log10(lo), lb = log10(hi);
        int d0 = (int)floor(la), d1 = (int)ceil(lb);
        int every = (int)ceil((lb - la) / 8.0); /* at most ~8 decade ticks */
        if (every < 1) {
            every = 1;
        }
        /* within about a decade every whole multiple, up to 2.5 decades 1-2-5, else decades */
        static const double all[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, few[3] = {1, 2, 5};
        const double *mult = lb - la < 1.2 ? all : few;
        const int n_mult = lb - la < 1.2 ? 9 : lb - la < 2.5 ? 3 : 1;
        for (int d = d0; d <= d1 && t->n < NAS_I_PLOT_MAX_TICKS; d++) {
            for (int m = 0; m < n_mult && t->n < NAS_I_PLOT_MAX_TICKS; m++) {
                if (m == 0 && d % every != 0) {
                    continue;
                }
                double v = mult[m] * pow(10.0, d);
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
                    t->v[t->n++] = v;
                }
            }
        }
        t->step = 0.0;
        return;
    }
    double step = nas_i_plot_nice_step(hi - lo, 5);
    if (integer && step < 1.0) {
        step = 1.0;
    }
    while ((hi - lo) / step > NAS_I_PLOT_MAX_TICKS - 1) {
        step *= 2.0;
    }
    t->step = step;
    double first = ceil(lo / step - 1e-9) * step;
    for (double v = first; v <= hi + step * 1e-9 && t->n < NAS_I_PLOT_MAX_TICKS; v += step) {
        t->v[t->n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
    }
}

/* Digits after the point that values on a grid of `step` need. */
static int decimals_for(double step) {
    if (!(step > 0)) {
        return 3;
    }
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 8 ? 8 : d;
}

void nas_i_plot_tick_label(double v, double step, bool log, char *buf, size_t cap) {
    if (v == 0.0) {
        snprintf(buf, cap, "0");
        return;
    }
    double a = fabs(v);
    static const struct {
        double scale;
        const char *suffix;
    } si[3] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    for (int i = 0; i < 3; i++) {
        if (a >= si[i].scale && a >= 1e4) {
            if (log) { /* 1, 2 or 5 times a power of ten: as few digits as it needs */
                snprintf(buf, cap, "%g%s", v / si[i].scale, si[i].suffix);
                return;
            }
            int d = decimals_for(step / si[i].scale);
            snprintf(buf, cap, "%.*f%s", d, v / si[i].scale, si[i].suffix);
            return;
        }
    }
    if (a < 1e-4) {
        snprintf(buf, cap, "%.0e", v);
        return;
    }
    if (log) {
        snprintf(buf, cap, "%g", v);
        return;
    }
    snprintf(buf, cap, "%.*f", decimals_for(step), v);
}
