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

/* "3x32x32" -> c, h, w. */
static nas_status parse_shape(const char *opt, const char *s, void *field) {
    nas_net_config *cfg = field;
    int c = 0, h = 0, w = 0, used = 0;
    if (sscanf(s, "%dx%dx%d%n", &c, &h, &w, &used) != 3 || s[used] != '\0' || c < 1 || h < 1 ||
        w < 1 || c > 4096 || h > 8192 || w > 8192) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not an input shape CxHxW (e.g. 3x32x32)", opt, s);
    }
    cfg->in_c = c;
    cfg->in_h = h;
    cfg->in_w = w;
    return NAS_OK;
}

static void show_shape(const void *field, char *buf, size_t cap) {
    const nas_net_config *c = field;
    snprintf(buf, cap, "%dx%dx%d", c->in_c, c->in_h, c->in_w);
}

static nas_status parse_format(const char *opt, const char *value, void *field) {
    (void)opt;
    return nas_net_format_from_name(value, field);
}

typedef struct show_params {
    const char *space;
    nas_net_format format;
    nas_net_config net;
} show_params;

#define OFF(f) offsetof(show_params, f)

static const nas_cli_opt opts[] = {
    {"space", 0, NAS_CLI_STR, OFF(space), "NAME",
     "search space: built-in name or .json path (default %D)", .aliases = NULL},
    {"format", 0, NAS_CLI_CUSTOM, OFF(format), "F",
     "text (default), dot (graphviz: ghnas show ... --format dot |\ndot -Tsvg), graphml (igraph, "
     "networkx)",
     .parse = parse_format},
    {"C", 0, NAS_CLI_INT, OFF(net.C), "C",
     "base channels (nb201/darts C, nb101/macro stem channels;\ndefault: the space's skeleton)",
     .min = 1, .max = 4096},
    {"N", 0, NAS_CLI_INT, OFF(net.N), "N",
     "cells per stage (nb201), modules per stack (nb101), darts layers\n3N+2 (default: the space's "
     "skeleton; not used by macro)",
     .min = 1, .max = 64},
    {"in", 0, NAS_CLI_CUSTOM, OFF(net), "CxHxW", "input image shape (default %D)",
     .parse = parse_shape, .show = show_shape},
    {"classes", 0, NAS_CLI_INT, OFF(net.classes), "K", "classifier outputs (default %D)", .min = 1,
     .max = 1 << 20},
};

static const nas_cli_spec spec = {
    "show",
    "usage: ghnas show ARCH [--space NAME] [--format text|dot|graphml] [--C C] [--N N]\n"
    "                  [--in CxHxW] [--classes K]\n"
    "\n"
    "Compile ARCH (an architecture string of the space, e.g. an NB201 cell\n"
    "'|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_1x1~2|')\n"
    "into its op-level graph and print every node with its inputs, output shape, weight\n"
    "shape, parameters and FLOPs (2 x multiply-accumulates of conv and linear layers).\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    NULL,
    -1,
    false};

int nas_cli_show(int argc, char **argv) {
    show_params p = {"nb201", NAS_NET_TEXT, nas_net_config_default()}, def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    if (args.n_pos == 0) {
        return nas_cli_usage_error("show", "missing ARCH");
    }
    if (args.n_pos > 1) {
        return nas_cli_usage_error(
            "show", "unexpected argument '%s' (quote the architecture string)", args.pos[1]);
    }
    const char *arch_text = args.pos[0], *space_name = p.space;
    nas_net_format fmt = p.format;
    nas_net_config cfg = p.net;
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
