/*
 * `ghnas show ARCH --space NAME`: decode an architecture, compile it with a macro configuration
 * (C, N, input shape, classes) and print the op-level graph as text, DOT or GraphML.
 */
#include "cmd_show.h"

#include "cli.h"
#include "ghnas/net.h"
#include "ghnas/space.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(out,
            "usage: ghnas show ARCH [--space NAME] [--format text|dot|graphml] [--C C] [--N N]\n"
            "                  [--in CxHxW] [--classes K]\n"
            "\n"
            "Compile ARCH (an architecture string of the space, e.g. an NB201 cell\n"
            "'|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
            "nor_conv_1x1~2|')\n"
            "into its op-level graph and print every node with its inputs, output shape, weight\n"
            "shape, parameters and FLOPs (2 x multiply-accumulates of conv and linear layers).\n"
            "\n"
            "options:\n"
            "  --space NAME     search space: built-in name or .json path (default nb201)\n"
            "  --format F       text (default), dot (graphviz: ghnas show ... --format dot | dot "
            "-Tsvg),\n"
            "                   graphml (igraph, networkx)\n"
            "  --C C            base channels (nb201/darts C, nb101/macro stem channels;\n"
            "                   default: the space's skeleton)\n"
            "  --N N            cells per stage (nb201), modules per stack (nb101), darts layers\n"
            "                   3N+2 (default: the space's skeleton; not used by macro)\n"
            "  --in CxHxW       input image shape (default 1x28x28)\n"
            "  --classes K      classifier outputs (default 10)\n"
            "  -h, --help       this help\n");
}

/* A bad command line: "ghnas: error: show: <what> (see ghnas show --help)", exit 2. */
/* "3x32x32" -> c, h, w. */
static nas_status parse_shape(const char *s, nas_net_config *cfg) {
    int c = 0, h = 0, w = 0, used = 0;
    if (sscanf(s, "%dx%dx%d%n", &c, &h, &w, &used) != 3 || s[used] != '\0' || c < 1 || h < 1 ||
        w < 1 || c > 4096 || h > 8192 || w > 8192) {
        return nas_error(NAS_EINVAL, "--in: '%s' is not an input shape CxHxW (e.g. 3x32x32)", s);
    }
    cfg->in_c = c;
    cfg->in_h = h;
    cfg->in_w = w;
    return NAS_OK;
}

int nas_cli_show(int argc, char **argv) {
    const char *arch_text = NULL, *space_name = "nb201";
    nas_net_format fmt = NAS_NET_TEXT;
    nas_net_config cfg = nas_net_config_default();
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return NAS_EXIT_OK;
        }
        bool takes_value = strcmp(o, "--space") == 0 || strcmp(o, "--format") == 0 ||
                           strcmp(o, "--C") == 0 || strcmp(o, "--N") == 0 ||
                           strcmp(o, "--in") == 0 || strcmp(o, "--classes") == 0;
        if (takes_value) {
            if (i + 1 >= argc) {
                return nas_cli_usage_error("show", "%s needs a value", o);
            }
            const char *v = argv[++i];
            long n = 0;
            nas_status st = NAS_OK;
            if (strcmp(o, "--space") == 0) {
                space_name = v;
            } else if (strcmp(o, "--format") == 0) {
                st = nas_net_format_from_name(v, &fmt);
            } else if (strcmp(o, "--C") == 0) {
                st = nas_cli_parse_long(o, v, 1, 4096, &n);
                cfg.C = (int)n;
            } else if (strcmp(o, "--N") == 0) {
                st = nas_cli_parse_long(o, v, 1, 64, &n);
                cfg.N = (int)n;
            } else if (strcmp(o, "--in") == 0) {
                st = parse_shape(v, &cfg);
            } else {
                st = nas_cli_parse_long(o, v, 1, 1 << 20, &n);
                cfg.classes = (int)n;
            }
            if (st != NAS_OK) {
                return nas_cli_usage_error("show", "%s", nas_errmsg());
            }
        } else if (o[0] == '-' && o[1] == '-') {
            return nas_cli_usage_error("show", "unknown option '%s'", o);
        } else if (!arch_text) {
            arch_text = o;
        } else {
            return nas_cli_usage_error(
                "show", "unexpected argument '%s' (quote the architecture string)", o);
        }
    }
    if (!arch_text) {
        return nas_cli_usage_error("show", "missing ARCH");
    }
    nas_space sp;
    nas_status st = nas_space_load(&sp, space_name);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    nas_arch a;
    st = nas_arch_decode(&sp, arch_text, &a);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    nas_net net;
    st = nas_net_compile(&net, &sp, &a, &cfg);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    st = nas_net_write(&net, fmt, stdout);
    nas_net_free(&net);
    return st == NAS_OK ? NAS_EXIT_OK : nas_cli_fail(st);
}
