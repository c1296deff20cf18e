/*
 * Figures with cairo: the layout of a grid of panels (title, plot area, axes, legend to the right
 * of the data), the drawing of series (lines, steps, markers, grouped bars with error bars), and
 * the output surfaces -- SVG, PDF and PNG from the same drawing code, rendered into memory and
 * written to a file atomically.
 */
#include "plot-impl.h"

#include "ghnas/container.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- formats ------------------------------------------------------------------------------ */

const char *nas_plot_format_name(nas_plot_format f) {
    switch (f) {
        case NAS_PLOT_SVG:
            return "svg";
        case NAS_PLOT_PNG:
            return "png";
        case NAS_PLOT_PDF:
            return "pdf";
    }
    return "?";
}

nas_status nas_plot_format_from_path(const char *path, nas_plot_format *out) {
    const char *dot = path ? strrchr(path, '.') : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (dot && (!slash || dot > slash)) {
        for (int f = 0; f < 3; f++) {
            if (strcasecmp(dot + 1, nas_plot_format_name((nas_plot_format)f)) == 0) {
                *out = (nas_plot_format)f;
                return NAS_OK;
            }
        }
    }
    return nas_error(NAS_EINVAL,
                     "'%s': unknown figure format (the file name must end in .svg, "
                     ".png or .pdf)",
                     path ? path : "");
}

void nas_plot_axis_auto(nas_plot_axis *a) {
    a->min = (double)NAN;
    a->max = (double)NAN;
}

/* ---- looks: colour, marker, dash ----------------------------------------------------------- */

/* Okabe-Ito colours ordered so that neighbours differ in lightness (grey-scale prints). */
static const double palette[8][3] = {
    {0.000, 0.447, 0.698}, /* blue */
    {0.902, 0.624, 0.000}, /* orange */
    {0.000, 0.000, 0.000}, /* black */
    {0.337, 0.706, 0.914}, /* sky blue */
    {0.835, 0.369, 0.000}, /* vermillion */
    {0.000, 0.620, 0.451}, /* bluish green */
    {0.800, 0.475, 0.655}, /* reddish purple */
    {0.500, 0.500, 0.500}, /* grey */
};

enum { N_LOOKS = 8 };

static const double dashes[N_LOOKS][4] = {
    {0, 0, 0, 0},  {6, 3, 0, 0}, {1.5, 2.5, 0, 0}, {7, 2.5, 1.5, 2.5},
    {11, 4, 0, 0}, {3, 3, 0, 0}, {7, 2, 2, 2},     {1, 4, 0, 0},
};
static const int n_dashes[N_LOOKS] = {0, 2, 2, 4, 2, 2, 4, 2};

static void set_colour(cairo_t *cr, int look, double alpha) {
    const double *c = palette[look % N_LOOKS];
    cairo_set_source_rgba(cr, c[0], c[1], c[2], alpha);
}

static void set_dash(cairo_t *cr, int look, int dash, double width) {
    int k = dash > 0 ? (dash - 1) % N_LOOKS : look % N_LOOKS;
    double d[4];
    for (int i = 0; i < n_dashes[k]; i++) {
        d[i] = dashes[k][i] * width;
    }
    cairo_set_dash(cr, d, n_dashes[k], 0);
}

/* The path of marker `look` (circle, square, triangle, diamond, down-triangle, cross, plus,
 * star) of radius r at (x, y). Returns true when the shape is a closed area (can be filled). */
static bool marker_path(cairo_t *cr, int look, double x, double y, double r) {
    cairo_new_path(cr);
    switch (look % N_LOOKS) {
        case 0:
            cairo_arc(cr, x, y, r, 0, 2 * M_PI);
            cairo_close_path(cr);
            return true;
        case 1:
            cairo_rectangle(cr, x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
            return true;
        case 2:
            cairo_move_to(cr, x, y - r * 1.1);
            cairo_line_to(cr, x + r, y + r * 0.7);
            cairo_line_to(cr, x - r, y + r * 0.7);
            cairo_close_path(cr);
            return true;
        case 3:
            cairo_move_to(cr, x, y - r * 1.2);
            cairo_line_to(cr, x + r, y);
            cairo_line_to(cr, x, y + r * 1.2);
            cairo_line_to(cr, x - r, y);
            cairo_close_path(cr);
            return true;
        case 4:
            cairo_move_to(cr, x, y + r * 1.1);
            cairo_line_to(cr, x + r, y - r * 0.7);
            cairo_line_to(cr, x - r, y - r * 0.7);
            cairo_close_path(cr);
            return true;
        case 5:
            cairo_move_to(cr, x - r, y - r);
            cairo_line_to(cr, x + r, y + r);
            cairo_move_to(cr, x - r, y + r);
            cairo_line_to(cr, x + r, y - r);
            return false;
        case 6:
            cairo_move_to(cr, x - r * 1.2, y);
            cairo_line_to(cr, x + r * 1.2, y);
            cairo_move_to(cr, x, y - r * 1.2);
            cairo_line_to(cr, x, y + r * 1.2);
            return false;
        default:
            for (int i = 0; i < 3; i++) {
                double a = i * M_PI / 3.0;
                cairo_move_to(cr, x - r * 1.2 * cos(a), y - r * 1.2 * sin(a));
                cairo_line_to(cr, x + r * 1.2 * cos(a), y + r * 1.2 * sin(a));
            }
            return false;
    }
}

/* One marker: filled ones get a dark outline, hollow ones a white fill under the outline. */
static void draw_marker(cairo_t *cr, int look, bool filled, double x, double y, double r,
                        double alpha) {
    bool area = marker_path(cr, look, x, y, r);
    cairo_set_dash(cr, NULL, 0, 0);
    if (area) {
        if (filled) {
            set_colour(cr, look, alpha);
        } else {
            cairo_set_source_rgba(cr, 1, 1, 1, alpha * 0.6);
        }
        cairo_fill_preserve(cr);
    }
    if (area && filled) {
        cairo_set_source_rgba(cr, 0, 0, 0, alpha * 0.8);
        cairo_set_line_width(cr, 0.6);
    } else {
        set_colour(cr, look, alpha);
        cairo_set_line_width(cr, 1.3);
    }
    cairo_stroke(cr);
}

/* ---- text ------------------------------------------------------------------------------------ */

enum { FONT_TICK = 9, FONT_LABEL = 10, FONT_LEGEND = 9, FONT_TITLE = 11, FONT_FIG = 13 };

static void font(cairo_t *cr, double size, bool bold) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/*
 * Draw s with its anchor point at (x, y): ax 0 = left, 0.5 = centre, 1 = right; ay 0 = top,
 * 0.5 = middle, 1 = baseline-ish bottom; rotated by angle (radians, counter-clockwise positive
 * as seen on the page).
 */
static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay,
                    double angle) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double w = text_width(cr, s), h = fe.ascent * 0.8;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -angle);
    cairo_move_to(cr, -ax * w, -ay * h + h);
    cairo_show_text(cr, s);
    cairo_restore(cr);
    cairo_new_path(cr);
}

/* ---- axes ------------------------------------------------------------------------------------ */

typedef struct axis_map {
    double lo, hi; /* data range */
    bool log;      /* log10 scale */
    double p0, p1; /* device coordinates of lo and hi */
    nas_i_plot_ticks ticks;
} axis_map;

static double tr(const axis_map *a, double v) {
    return a->log ? log10(v) : v;
}

static double to_dev(const axis_map *a, double v) {
    double t0 = tr(a, a->lo), t1 = tr(a, a->hi);
    return a->p0 + (tr(a, v) - t0) / (t1 - t0) * (a->p1 - a->p0);
}

static bool usable(const axis_map *a, double v) {
    return isfinite(v) && (!a->log || v > 0);
}

/* The data range of an axis over the panel's series (which: 0 = x, 1 = y, 2 = y2). */
static void data_range(const nas_plot_panel *p, int which, bool log, double *lo, double *hi) {
    double a = INFINITY, b = -INFINITY;
    for (int s = 0; s < p->n_series; s++) {
        const nas_plot_series *se = &p->series[s];
        if (which > 0 && (se->right ? 2 : 1) != which) {
            continue;
        }
        for (int i = 0; i < se->n; i++) {
            double v[3] = {which == 0 ? se->x[i] : se->y[i], (double)NAN, (double)NAN};
            if (which > 0 && se->lo && se->hi) {
                v[1] = se->lo[i];
                v[2] = se->hi[i];
            }
            if (which > 0 && se->style == NAS_PLOT_BARS && isfinite(v[0])) {
                v[1] = isfinite(v[1]) ? fmin(v[1], 0.0) : 0.0;
            }
            for (int k = 0; k < 3; k++) {
                if (isfinite(v[k]) && (!log || v[k] > 0)) {
                    a = fmin(a, v[k]);
                    b = fmax(b, v[k]);
                }
            }
        }
    }
    *lo = a;
    *hi = b;
}

static void axis_setup(const nas_plot_panel *p, const nas_plot_axis *ax, int which, axis_map *m) {
    double lo, hi;
    data_range(p, which, ax->log, &lo, &hi);
    const bool fixed_lo = isfinite(ax->min), fixed_hi = isfinite(ax->max);
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = fixed_lo ? ax->min : ax->log ? 1.0 : 0.0;
        hi = fixed_hi ? ax->max : ax->log ? 10.0 : 1.0;
    }
    if (fixed_lo) {
        lo = ax->min;
    }
    if (fixed_hi) {
        hi = ax->max;
    }
    double rlo = lo, rhi = hi;
    nas_i_plot_range(&rlo, &rhi, ax->log, ax->integer);
    m->lo = fixed_lo ? lo : rlo;
    m->hi = fixed_hi ? hi : rhi;
    if (!(m->hi > m->lo)) {
        m->lo = rlo;
        m->hi = rhi;
    }
    m->log = ax->log;
    nas_i_plot_ticks_make(m->lo, m->hi, m->log, ax->integer, &m->ticks);
}

static void tick_text(const axis_map *m, double v, char *buf, size_t cap) {
    nas_i_plot_tick_label(v, m->ticks.step, m->log, buf, cap);
}

static double max_tick_width(cairo_t *cr, const axis_map *m) {
    double w = 0;
    char buf[32];
    for (int i = 0; i < m->ticks.n; i++) {
        tick_text(m, m->ticks.v[i], buf, sizeof buf);
        w = fmax(w, text_width(cr, buf));
    }
    return w;
}

/* ---- one panel ---------------------------------------------------------------------------------
 */

static bool in_legend(const nas_plot_series *s) {
    return s->label && s->label[0] && !s->no_legend;
}

static int look_of(const nas_plot_panel *p, int s) {
    bool any = false;
    for (int i = 0; i < p->n_series; i++) {
        any = any || p->series[i].look != 0;
    }
    return any ? p->series[s].look : s;
}

/* A legend entry's sample (24 x 10 points) at (x, y middle). */
static void legend_sample(cairo_t *cr, const nas_plot_series *s, int look, double x, double y) {
    double a = s->alpha > 0 ? s->alpha : 1.0;
    double size = s->size > 0 ? s->size : 1.0;
    if (s->style == NAS_PLOT_BARS) {
        cairo_rectangle(cr, x + 4, y - 5, 16, 10);
        set_colour(cr, look, 1.0);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 0.6);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_stroke(cr);
        return;
    }
    if (s->style != NAS_PLOT_POINTS) {
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x + 24, y);
        set_colour(cr, look, a);
        cairo_set_line_width(cr, 1.6 * size);
        set_dash(cr, look, s->dash, 1.0);
        cairo_stroke(cr);
    }
    if (s->style == NAS_PLOT_POINTS || s->style == NAS_PLOT_LINE_POINTS) {
        draw_marker(cr, look, s->filled, x + 12, y, 3.2 * (s->style == NAS_PLOT_POINTS ? size : 1),
                    fmax(a, 0.6));
    }
}

static void draw_series(cairo_t *cr, const nas_plot_panel *p, int si, const axis_map *mx,
                        const axis_map *my, int bar_index, int n_bars, nas_plot_stats *stats) {
    const nas_plot_series *s = &p->series[si];
    const int look = look_of(p, si);
    const double a = s->alpha > 0 ? s->alpha : 1.0;
    const double size = s->size > 0 ? s->size : 1.0;
    int64_t drawn = 0;
    if (s->style == NAS_PLOT_BARS) {
        const double group = 0.8, w = group / (n_bars > 0 ? n_bars : 1);
        for (int i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !usable(my, s->y[i])) {
                stats->skipped++;
                continue;
            }
            double cx = s->x[i] - group / 2 + (bar_index + 0.5) * w;
            double x0 = to_dev(mx, cx - w / 2 * 0.92), x1 = to_dev(mx, cx + w / 2 * 0.92);
            double base = my->log ? my->lo : fmin(fmax(0.0, my->lo), my->hi);
            double y0 = to_dev(my, base), y1 = to_dev(my, s->y[i]);
            cairo_rectangle(cr, x0, fmin(y0, y1), x1 - x0, fabs(y1 - y0));
            set_colour(cr, look, a);
            cairo_fill_preserve(cr);
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_set_line_width(cr, 0.6);
            cairo_set_dash(cr, NULL, 0, 0);
            cairo_stroke(cr);
            if (s->lo && s->hi && usable(my, s->lo[i]) && usable(my, s->hi[i])) {
                double xm = to_dev(mx, cx), cap = (x1 - x0) * 0.25;
                double ylo = to_dev(my, s->lo[i]), yhi = to_dev(my, s->hi[i]);
                cairo_move_to(cr, xm, ylo);
                cairo_line_to(cr, xm, yhi);
                cairo_move_to(cr, xm - cap, ylo);
                cairo_line_to(cr, xm + cap, ylo);
                cairo_move_to(cr, xm - cap, yhi);
                cairo_line_to(cr, xm + cap, yhi);
                cairo_set_line_width(cr, 1.0);
                cairo_stroke(cr);
            }
            drawn++;
        }
    } else {
        /* lines first, then markers on top */
        if (s->style != NAS_PLOT_POINTS) {
            bool open = false;
            double px = 0, py = 0;
            cairo_new_path(cr);
            for (int i = 0; i < s->n; i++) {
                if (!usable(mx, s->x[i]) || !usable(my, s->y[i])) {
                    open = false;
                    continue;
                }
                double x = to_dev(mx, s->x[i]), y = to_dev(my, s->y[i]);
                if (!open) {
                    cairo_move_to(cr, x, y);
                    open = true;
                } else if (s->style == NAS_PLOT_STEP) {
                    cairo_line_to(cr, x, py);
                    cairo_line_to(cr, x, y);
                } else {
                    cairo_line_to(cr, x, y);
                }
                px = x;
                py = y;
            }
            (void)px;
            set_colour(cr, look, a);
            cairo_set_line_width(cr, 1.6 * size);
            cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
            set_dash(cr, look, s->dash, 1.0);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
        }
        for (int i = 0; i < s->n; i++) {
            if (!usable(mx, s->x[i]) || !usable(my, s->y[i])) {
                stats->skipped++;
                continue;
            }
            double x = to_dev(mx, s->x[i]), y = to_dev(my, s->y[i]);
            if (s->lo && s->hi && usable(my, s->lo[i]) && usable(my, s->hi[i])) {
                cairo_move_to(cr, x, to_dev(my, s->lo[i]));
                cairo_line_to(cr, x, to_dev(my, s->hi[i]));
                set_colour(cr, look, a);
                cairo_set_line_width(cr, 1.0);
                cairo_stroke(cr);
            }
            if (s->style == NAS_PLOT_POINTS || s->style == NAS_PLOT_LINE_POINTS) {
                draw_marker(cr, look, s->filled, x, y,
                            3.0 * (s->style == NAS_PLOT_POINTS ? size : 1.0), a);
            }
            drawn++;
        }
    }
    if (s->style == NAS_PLOT_LINE || s->style == NAS_PLOT_STEP) {
        stats->vertices += drawn;
    } else {
        stats->points += drawn;
    }
    if (drawn > 0) {
        stats->series++;
    }
}

static bool has_right(const nas_plot_panel *p) {
    for (int s = 0; s < p->n_series; s++) {
        if (p->series[s].right) {
            return true;
        }
    }
    return false;
}

static void draw_panel(cairo_t *cr, const nas_plot_panel *p, double px, double py, double pw,
                       double ph, nas_plot_stats *stats) {
    axis_map mx, my, my2;
    memset(&mx, 0, sizeof mx);
    memset(&my2, 0, sizeof my2);
    const bool cat = p->n_categories > 0;
    if (cat) {
        mx.lo = -0.5;
        mx.hi = p->n_categories - 0.5;
        mx.log = false;
    } else {
        axis_setup(p, &p->x, 0, &mx);
    }
    axis_setup(p, &p->y, 1, &my);
    const bool right = has_right(p);
    if (right) {
        axis_setup(p, &p->y2, 2, &my2);
    }
    /* legend size */
    int n_leg = 0;
    double leg_w = 0;
    font(cr, FONT_LEGEND, false);
    for (int s = 0; s < p->n_series && !p->no_legend; s++) {
        if (in_legend(&p->series[s])) {
            n_leg++;
            leg_w = fmax(leg_w, text_width(cr, p->series[s].label));
        }
    }
    leg_w = n_leg ? fmin(leg_w + 36, pw * 0.45) : 0;
    /* margins */
    font(cr, FONT_TICK, false);
    double left = 8 + max_tick_width(cr, &my) + 6 + (p->y.label ? 16 : 0);
    double rgt = right ? 8 + max_tick_width(cr, &my2) + 6 + (p->y2.label ? 16 : 0) : 14;
    double top = py + (p->title ? 24 : 10);
    double bottom = 22 + (p->x.label ? 16 : 0);
    bool rotate = false;
    if (cat) {
        double slot = (pw - left - rgt - leg_w) / p->n_categories, wmax = 0;
        for (int i = 0; i < p->n_categories; i++) {
            wmax = fmax(wmax, text_width(cr, p->categories[i]));
        }
        rotate = wmax > slot - 4;
        if (rotate) {
            bottom += wmax * 0.6;
        }
    }
    double x0 = px + left, x1 = px + pw - rgt - leg_w, y0 = top, y1 = py + ph - bottom;
    if (x1 - x0 < 40 || y1 - y0 < 40) { /* tiny panels: keep something drawable */
        x1 = x0 + 40;
        y1 = y0 + 40;
    }
    mx.p0 = x0;
    mx.p1 = x1;
    my.p0 = y1;
    my.p1 = y0;
    my2.p0 = y1;
    my2.p1 = y0;
    if (cat) {
        mx.ticks.n = 0;
    }
    /* grid */
    cairo_set_line_width(cr, 0.5);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    for (int i = 0; i < my.ticks.n; i++) {
        double y = to_dev(&my, my.ticks.v[i]);
        cairo_move_to(cr, x0, y);
        cairo_line_to(cr, x1, y);
    }
    for (int i = 0; i < mx.ticks.n; i++) {
        double x = to_dev(&mx, mx.ticks.v[i]);
        cairo_move_to(cr, x, y0);
        cairo_line_to(cr, x, y1);
    }
    cairo_stroke(cr);
    if (p->zero_line && !my.log && my.lo < 0 && my.hi > 0) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 0.8);
        cairo_move_to(cr, x0, to_dev(&my, 0));
        cairo_line_to(cr, x1, to_dev(&my, 0));
        cairo_stroke(cr);
    }
    /* series, clipped to the plot area */
    cairo_save(cr);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_clip(cr);
    int n_bars = 0;
    for (int s = 0; s < p->n_series; s++) {
        n_bars += p->series[s].style == NAS_PLOT_BARS;
    }
    for (int s = 0, b = 0; s < p->n_series; s++) {
        const nas_plot_series *se = &p->series[s];
        draw_series(cr, p, s, &mx, se->right ? &my2 : &my, b, n_bars, stats);
        b += se->style == NAS_PLOT_BARS;
    }
    cairo_restore(cr);
    /* frame, ticks, labels */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.8);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_stroke(cr);
    font(cr, FONT_TICK, false);
    char buf[64];
    for (int i = 0; i < my.ticks.n; i++) {
        double y = to_dev(&my, my.ticks.v[i]);
        cairo_move_to(cr, x0 - 4, y);
        cairo_line_to(cr, x0, y);
        cairo_stroke(cr);
        tick_text(&my, my.ticks.v[i], buf, sizeof buf);
        text_at(cr, x0 - 6, y, buf, 1.0, 0.5, 0);
    }
    if (right) {
        for (int i = 0; i < my2.ticks.n; i++) {
            double y = to_dev(&my2, my2.ticks.v[i]);
            cairo_move_to(cr, x1, y);
            cairo_line_to(cr, x1 + 4, y);
            cairo_stroke(cr);
            tick_text(&my2, my2.ticks.v[i], buf, sizeof buf);
            text_at(cr, x1 + 6, y, buf, 0.0, 0.5, 0);
        }
    }
    for (int i = 0; i < mx.ticks.n; i++) {
        double x = to_dev(&mx, mx.ticks.v[i]);
        cairo_move_to(cr, x, y1);
        cairo_line_to(cr, x, y1 + 4);
        cairo_stroke(cr);
        tick_text(&mx, mx.ticks.v[i], buf, sizeof buf);
        text_at(cr, x, y1 + 6, buf, 0.5, 0.0, 0);
    }
    for (int i = 0; i < p->n_categories; i++) {
        double x = to_dev(&mx, i);
        cairo_move_to(cr, x, y1);
        cairo_line_to(cr, x, y1 + 4);
        cairo_stroke(cr);
        if (rotate) {
            text_at(cr, x + 3, y1 + 6, p->categories[i], 1.0, 0.0, M_PI / 6);
        } else {
            text_at(cr, x, y1 + 6, p->categories[i], 0.5, 0.0, 0);
        }
    }
    font(cr, FONT_LABEL, false);
    if (p->x.label) {
        text_at(cr, (x0 + x1) / 2, py + ph - 4, p->x.label, 0.5, 1.0, 0);
    }
    if (p->y.label) {
        text_at(cr, px + 4, (y0 + y1) / 2, p->y.label, 0.5, 0.0, M_PI / 2);
    }
    if (right && p->y2.label) {
        text_at(cr, x1 + rgt - 4, (y0 + y1) / 2, p->y2.label, 0.5, 0.0, -M_PI / 2);
    }
    if (p->title) {
        font(cr, FONT_TITLE, true);
        text_at(cr, (x0 + x1) / 2, py + 6, p->title, 0.5, 0.0, 0);
    }
    /* legend: right of the plot area, top-aligned */
    if (n_leg) {
        font(cr, FONT_LEGEND, false);
        double lx = x1 + rgt + 6, ly = y0 + 6;
        for (int s = 0; s < p->n_series; s++) {
            const nas_plot_series *se = &p->series[s];
            if (!in_legend(se)) {
                continue;
            }
            legend_sample(cr, se, look_of(p, s), lx, ly);
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_save(cr);
            cairo_rectangle(cr, lx + 28, ly - 8, leg_w - 30, 16);
            cairo_clip(cr);
            text_at(cr, lx + 28, ly, se->label, 0.0, 0.5, 0);
            cairo_restore(cr);
            ly += 15;
        }
    }
    stats->panels++;
}

/* ---- the figure --------------------------------------------------------------------------------
 */

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
    bool failed;
} membuf;

static cairo_status_t write_mem(void *closure, const unsigned char *data, unsigned int len) {
    membuf *b = closure;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + len) {
            cap *= 2;
        }
        unsigned char *q = nas_realloc(b->p, cap);
        if (!q) {
            b->failed = true;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

static nas_status check_figure(const nas_plot_figure *fig) {
    if (!fig || fig->n_panels < 1 || !fig->panels) {
        return nas_error(NAS_EINVAL, "plot: a figure needs at least one panel");
    }
    for (int i = 0; i < fig->n_panels; i++) {
        const nas_plot_panel *p = &fig->panels[i];
        if (p->n_series < 0 || (p->n_series > 0 && !p->series) ||
            (p->n_categories > 0 && !p->categories)) {
            return nas_error(NAS_EINVAL, "plot: panel %d has bad series", i + 1);
        }
        for (int s = 0; s < p->n_series; s++) {
            const nas_plot_series *se = &p->series[s];
            if (se->n < 0 || (se->n > 0 && (!se->x || !se->y)) || (!se->lo != !se->hi)) {
                return nas_error(NAS_EINVAL, "plot: panel %d, series %d has bad arrays", i + 1,
                                 s + 1);
            }
        }
    }
    return NAS_OK;
}

static void draw_figure(cairo_t *cr, const nas_plot_figure *fig, double pw, double ph, int cols,
                        double head, nas_plot_stats *stats) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    if (fig->title) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        font(cr, FONT_FIG, true);
        text_at(cr, cols * pw / 2, 8, fig->title, 0.5, 0.0, 0);
    }
    for (int i = 0; i < fig->n_panels; i++) {
        double px = (i % cols) * pw, py = head + (i / cols) * ph;
        cairo_save(cr);
        draw_panel(cr, &fig->panels[i], px + 4, py + 2, pw - 8, ph - 4, stats);
        cairo_restore(cr);
    }
}

nas_status nas_plot_render(const nas_plot_figure *fig, nas_plot_format fmt, void **bytes, size_t *n,
                           nas_plot_stats *stats) {
    *bytes = NULL;
    *n = 0;
    nas_plot_stats local;
    if (!stats) {
        stats = &local;
    }
    memset(stats, 0, sizeof *stats);
    NAS_CHECK(check_figure(fig));
    if (fmt != NAS_PLOT_SVG && fmt != NAS_PLOT_PNG && fmt != NAS_PLOT_PDF) {
        return nas_error(NAS_EINVAL, "plot: bad format %d", (int)fmt);
    }
    const int cols = fig->cols > 0 ? (fig->cols < fig->n_panels ? fig->cols : fig->n_panels) : 1;
    const int rows = (fig->n_panels + cols - 1) / cols;
    const double pw = fig->panel_w > 0 ? fig->panel_w : 460,
                 ph = fig->panel_h > 0 ? fig->panel_h : 300;
    const double head = fig->title ? 28 : 0;
    const double W = ceil(cols * pw), H = ceil(head + rows * ph);
    membuf buf = {NULL, 0, 0, false};
    cairo_surface_t *surf = NULL;
    const double scale = 2.0; /* PNG pixels per point */
    switch (fmt) {
        case NAS_PLOT_SVG:
            surf = cairo_svg_surface_create_for_stream(write_mem, &buf, W, H);
            break;
        case NAS_PLOT_PDF:
            surf = cairo_pdf_surface_create_for_stream(write_mem, &buf, W, H);
            break;
        case NAS_PLOT_PNG:
            surf =
                cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)(W * scale), (int)(H * scale));
            break;
    }
    cairo_t *cr = cairo_create(surf);
    if (fmt == NAS_PLOT_PNG) {
        cairo_scale(cr, scale, scale);
    }
    draw_figure(cr, fig, pw, ph, cols, head, stats);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    if (cs == CAIRO_STATUS_SUCCESS && fmt == NAS_PLOT_PNG) {
        cs = cairo_surface_write_to_png_stream(surf, write_mem, &buf);
    }
    cairo_surface_finish(surf);
    if (cs == CAIRO_STATUS_SUCCESS) {
        cs = cairo_surface_status(surf);
    }
    cairo_surface_destroy(surf);
    if (buf.failed) {
        nas_free(buf.p);
        return nas_error(NAS_ENOMEM, "plot: out of memory for the %s output",
                         nas_plot_format_name(fmt));
    }
    if (cs != CAIRO_STATUS_SUCCESS) {
        nas_free(buf.p);
        return nas_error(NAS_EINTERNAL, "plot: cairo failed drawing %s: %s",
                         nas_plot_format_name(fmt), cairo_status_to_string(cs));
    }
    stats->width = W;
    stats->height = H;
    *bytes = buf.p;
    *n = buf.n;
    return NAS_OK;
}

nas_status nas_plot_write(const nas_plot_figure *fig, const char *path, nas_plot_stats *stats) {
    nas_plot_format fmt = NAS_PLOT_SVG;
    NAS_CHECK(nas_plot_format_from_path(path, &fmt));
    void *bytes = NULL;
    size_t n = 0;
    NAS_CHECK(nas_plot_render(fig, fmt, &bytes, &n, stats));
    nas_status st = nas_file_write_atomic(path, bytes, n);
    nas_free(bytes);
    return st;
}
