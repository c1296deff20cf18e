/*
 * Graphs drawn by Graphviz (libgvc, Debian's libgraphviz-dev): DOT text laid out with the `dot`
 * engine and rendered to SVG in memory. The only place that includes the Graphviz headers.
 */
#include "plot-impl.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <stdio.h>
#include <string.h>

bool nas_plot_has_graphviz(void) {
    return true;
}

/* Graphviz's last error message, kept for ours instead of printed on stderr. Graphviz keeps its
 * own global state, so layouts are not run from several threads at once anyway. */
static char gv_error[256];

static int keep_error(char *msg) {
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        n--;
    }
    snprintf(gv_error, sizeof gv_error, "%.*s", (int)n, msg);
    return 0;
}

nas_status nas_plot_graph_svg(const char *dot, char **svg, size_t *n) {
    *svg = NULL;
    *n = 0;
    if (!dot) {
        return nas_error(NAS_EINVAL, "graph: no DOT text");
    }
    GVC_t *gvc = gvContext();
    if (!gvc) {
        return nas_error(NAS_EINTERNAL, "graph: Graphviz could not start (gvContext)");
    }
    nas_status st = NAS_OK;
    gv_error[0] = '\0';
    agusererrf old = agseterrf(keep_error);
    Agraph_t *g = agmemread(dot);
    if (!g) {
        agseterrf(old);
        gvFreeContext(gvc);
        return nas_error(NAS_EFORMAT, "graph: Graphviz could not read the DOT text%s%s",
                         gv_error[0] ? ": " : "", gv_error);
    }
    char *out = NULL;
    unsigned int len = 0;
    if (gvLayout(gvc, g, "dot") != 0) {
        st = nas_error(NAS_EINTERNAL, "graph: Graphviz layout (dot) failed");
    } else {
        if (gvRenderData(gvc, g, "svg", &out, &len) != 0 || !out) {
            st = nas_error(NAS_EINTERNAL, "graph: Graphviz could not render SVG");
        }
        gvFreeLayout(gvc, g);
    }
    if (st == NAS_OK) {
        *svg = nas_malloc((size_t)len + 1);
        if (!*svg) {
            st = nas_error(NAS_ENOMEM, "graph: out of memory for the SVG");
        } else {
            memcpy(*svg, out, len);
            (*svg)[len] = '\0';
            *n = len;
        }
    }
    if (out) {
        gvFreeRenderData(out);
    }
    agclose(g);
    agseterrf(old);
    gvFreeContext(gvc);
    return st;
}
