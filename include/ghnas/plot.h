/*
 * ghnas figures (src/plot): charts drawn with cairo into SVG, PNG or PDF from one drawing code,
 * and graphs laid out by Graphviz. Only src/plot includes cairo.h and the Graphviz headers.
 *
 * A figure is a grid of panels; a panel has axes (linear or log, ticks at 1-2-5 steps or at
 * decades, labels), series (lines, step lines, markers, grouped bars with intervals) and a
 * legend to the right of its data. Series are told apart by marker shape and dash pattern as
 * well as by colour (a palette of distinct lightness), so a grey-scale print stays readable.
 *
 *     double x[3] = {1, 2, 3}, y[3] = {0.5, 0.7, 0.6};
 *     nas_plot_series s = {.label = "val_acc", .style = NAS_PLOT_LINE_POINTS, .n = 3,
 *                          .x = x, .y = y};
 *     nas_plot_panel p = {.title = "curve", .x = {.label = "epoch"}, .y = {.label = "accuracy"},
 *                         .series = &s, .n_series = 1};
 *     nas_plot_axis_auto(&p.x); nas_plot_axis_auto(&p.y); nas_plot_axis_auto(&p.y2);
 *     nas_plot_figure f = {.panels = &p, .n_panels = 1};
 *     nas_plot_stats stats;
 *     if (nas_plot_write(&f, "curve.svg", &stats) != NAS_OK) ... nas_errmsg() ...
 */
#pragma once

#include "ghnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nas_plot_format {
    NAS_PLOT_SVG = 0,
    NAS_PLOT_PNG = 1,
    NAS_PLOT_PDF = 2
} nas_plot_format;

/* "svg", "png", "pdf"; "?" for bad values. */
const char *nas_plot_format_name(nas_plot_format f);
/* The format of a file name by its extension (.svg, .png, .pdf, any case); NAS_EINVAL naming
 * the path otherwise. */
nas_status nas_plot_format_from_path(const char *path, nas_plot_format *out);

typedef enum nas_plot_style {
    NAS_PLOT_POINTS = 0,      /* one marker per point */
    NAS_PLOT_LINE = 1,        /* polyline through the finite points (a NaN breaks it) */
    NAS_PLOT_LINE_POINTS = 2, /* both */
    NAS_PLOT_STEP = 3,        /* horizontal then vertical steps (running best) */
    NAS_PLOT_BARS = 4         /* a bar from 0 per point at category x (0, 1, ...), grouped
                                 side by side with the panel's other bar series */
} nas_plot_style;

/* One data series. Arrays are borrowed for the render call. */
typedef struct nas_plot_series {
    const char *label;    /* legend text (NULL = not in the legend) */
    nas_plot_style style; /* how it is drawn */
    int n;                /* points */
    const double *x;      /* [n] (bars: category index) */
    const double *y;      /* [n]; NaN points are skipped */
    const double *lo;     /* [n] interval low end drawn as an error bar (NULL = none) */
    const double *hi;     /* [n] its high end */
    int look;             /* palette entry: colour, marker and dash (series index when all are 0) */
    int dash;       /* > 0: dash pattern dash-1 instead of the look's (1 = solid, 2 = dashed) */
    bool filled;    /* markers filled (else hollow); bars are always filled */
    double size;    /* marker radius or line width multiplier (0 = 1) */
    double alpha;   /* opacity 0..1 (0 = 1) */
    bool right;     /* against the right axis (panel y2) */
    bool no_legend; /* keep out of the legend even with a label */
} nas_plot_series;

/* An axis: its label, scale and range. min/max NaN = from the data (nas_plot_axis_auto). */
typedef struct nas_plot_axis {
    const char *label; /* under / beside the axis (NULL = none) */
    bool log;          /* base-10 log scale (non-positive values are skipped) */
    double min, max;   /* range; NaN = from the data */
    bool integer;      /* ticks at whole numbers only (epochs, sequence numbers) */
} nas_plot_axis;

/* Set min and max to NaN (range from the data), nothing else. */
void nas_plot_axis_auto(nas_plot_axis *a);

typedef struct nas_plot_panel {
    const char *title;             /* above the plot area (NULL = none) */
    nas_plot_axis x, y, y2;        /* y2 is drawn when a series has .right */
    const char *const *categories; /* bar charts: x tick labels at 0..n_categories-1 */
    int n_categories;
    const nas_plot_series *series;
    int n_series;
    bool zero_line; /* a line at y = 0 */
    bool no_legend; /* no legend for this panel */
} nas_plot_panel;

typedef struct nas_plot_figure {
    const char *title; /* over the whole figure (NULL = none) */
    const nas_plot_panel *panels;
    int n_panels;
    int cols;                /* panels per row (0 = 1) */
    double panel_w, panel_h; /* size of one panel in points, legend included (0 = 460 x 300) */
} nas_plot_figure;

/* What a render drew (for tests and messages). */
typedef struct nas_plot_stats {
    int panels;
    int series;           /* series with at least one point drawn */
    int64_t points;       /* data points drawn as markers or bars, over all series */
    int64_t vertices;     /* points of series drawn as lines only (LINE, STEP) */
    int64_t skipped;      /* points left out: NaN, or not positive on a log axis */
    double width, height; /* of the figure in points */
} nas_plot_stats;

/*
 * Render a figure into memory in fmt (*bytes for nas_free). NAS_EINVAL for a figure without
 * panels or series with bad arrays; NAS_EINTERNAL when cairo fails (its message). stats may be
 * NULL.
 */
nas_status nas_plot_render(const nas_plot_figure *fig, nas_plot_format fmt, void **bytes, size_t *n,
                           nas_plot_stats *stats);

/* Render in the format of path's extension and write the file atomically (never a partial
 * file): NAS_EINVAL for an unknown extension, NAS_EIO naming the file when it cannot be written. */
nas_status nas_plot_write(const nas_plot_figure *fig, const char *path, nas_plot_stats *stats);

/* Whether this build can lay out graphs (Graphviz). */
bool nas_plot_has_graphviz(void);

/*
 * Lay out a graph written in DOT with Graphviz's `dot` engine and render it as SVG into memory
 * (*svg NUL-terminated, for nas_free; *n without the NUL). NAS_EFORMAT when Graphviz cannot
 * read the text, NAS_EUNSUPPORTED in a build without Graphviz.
 */
nas_status nas_plot_graph_svg(const char *dot, char **svg, size_t *n);

#ifdef __cplusplus
}
#endif
