/*
 * Graphs drawn by Graphviz (libgvc, Debian's libgraphviz-dev): DOT text laid out with the `dot`
 * engine and rendered to SVG in memory. The only place that includes the Graphviz headers.
 */
#include "plot-impl.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

bool nas_plot_has_graphviz(void) {
    return true;
}

/*
 * One Graphviz context for the process, made on first use and never freed: Graphviz 2.42's text
 * layout (the pango plugin) remembers the last font name by pointer into the context's font
 * table, so a second context after freeing the first reads freed memory. Graphviz keeps global
 * state, so calls are serialised by a lock. Its last error message is kept for ours instead of
 * printed on stderr.
 */
static GVC_t *gv_context;
static pthread_mutex_t gv_lock = PTHREAD_MUTEX_INITIALIZER;
static char gv_error[256];

static int keep_error(char *msg) {
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        n--;
    }
    snprintf(gv_error, sizeof gv_error, "%.*s", (int)n, msg);
    return 0;
}

static nas_status graph_svg_locked(const char *dot, char **svg, size_t *n) {
    if (!gv_context) {
        gv_context = gvContext();
        if (!gv_context) {
            return nas_error(NAS_EINTERNAL, "graph: Graphviz could not start (gvContext)");
        }
    }
    GVC_t *gvc = gv_context;
    nas_status st = NAS_OK;
    gv_error[0] = '\0';
    agusererrf old = agseterrf(keep_error);
    Agraph_t *g = agmemread(dot);
    if (!g) {
        agseterrf(old);
        return nas_error(NAS_EFORMAT, "graph: Graphviz could not read the DOT text%s%s",
                         gv_error[0] ? ": " : "", gv_error);
    }
    char *out = NULL;
    unsigned int len = 0;
    if (gvLayout(gvc, g, "dot") != 0) {
        st = nas_error(NAS_EINTERNAL, "graph: Graphviz layout (dot) failed%s%s",
                       gv_error[0] ? ": " : "", gv_error);
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
    return st;
}

nas_status nas_plot_graph_svg(const char *dot, char **svg, size_t *n) {
    *svg = NULL;
    *n = 0;
    if (!dot) {
        return nas_error(NAS_EINVAL, "graph: no DOT text");
    }
    pthread_mutex_lock(&gv_lock);
    nas_status st = graph_svg_locked(dot, svg, n);
    pthread_mutex_unlock(&gv_lock);
    return st;
}
