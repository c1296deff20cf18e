/*
 * Writers for a compiled net: a text table (one line per node with inputs, shape, weight shape,
 * attributes, params and FLOPs, plus totals), graphviz DOT (one cluster per block: the name part
 * before the first '.') and GraphML with node attributes (readable by igraph and networkx).
 */
#include "net-impl.h"

#include <stdio.h>
#include <string.h>

static const char *const format_names[] = {"text", "dot", "graphml"};

const char *nas_net_format_name(nas_net_format f) {
    return (int)f >= 0 && f <= NAS_NET_GRAPHML ? format_names[f] : "?";
}

nas_status nas_net_format_from_name(const char *name, nas_net_format *out) {
    for (int i = 0; i <= NAS_NET_GRAPHML; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (nas_net_format)i;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EINVAL, "unknown graph format '%s' (use text, dot or graphml)", name);
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* "k3 s2 p1 d2 g8" for convs and pools, "@c0,h1,w1" for slices, "" otherwise. */
static const char *attrs(const nas_net_node *n, char *buf, size_t cap) {
    buf[0] = '\0';
    if (n->op == NAS_NET_CONV || n->op == NAS_NET_AVGPOOL || n->op == NAS_NET_MAXPOOL) {
        size_t off = (size_t)snprintf(buf, cap, "k%d s%d p%d", n->k, n->stride, n->pad);
        if (n->op == NAS_NET_CONV && n->dilation > 1 && off < cap) {
            off += (size_t)snprintf(buf + off, cap - off, " d%d", n->dilation);
        }
        if (n->op == NAS_NET_CONV && n->groups > 1 && off < cap) {
            off += (size_t)snprintf(buf + off, cap - off, " g%d", n->groups);
        }
        if (n->op == NAS_NET_AVGPOOL && off < cap) {
            snprintf(buf + off, cap - off, n->count_include_pad ? " incl-pad" : " excl-pad");
        }
    } else if (n->op == NAS_NET_SLICE) {
        snprintf(buf, cap, "from c%lld h%lld w%lld", (long long)n->offset[0],
                 (long long)n->offset[1], (long long)n->offset[2]);
    }
    return buf;
}

static const char *wshape_txt(const nas_net_node *n, char *buf, size_t cap) {
    if (n->n_slots == 0) {
        snprintf(buf, cap, "-");
    } else if (n->op == NAS_NET_CONV) {
        snprintf(buf, cap, "%lldx%lldx%lldx%lld", (long long)n->wshape[0], (long long)n->wshape[1],
                 (long long)n->wshape[2], (long long)n->wshape[3]);
    } else if (n->op == NAS_NET_LINEAR) {
        snprintf(buf, cap, "%lldx%lld+%lld", (long long)n->wshape[0], (long long)n->wshape[1],
                 (long long)n->wshape[0]);
    } else {
        snprintf(buf, cap, "2x%lld", (long long)n->wshape[0]);
    }
    return buf;
}

static const char *shape_txt(const nas_net_node *n, char *buf, size_t cap) {
    snprintf(buf, cap, "%lldx%lldx%lld", (long long)n->shape[0], (long long)n->shape[1],
             (long long)n->shape[2]);
    return buf;
}

/* 1234567 -> "1,234,567" */
static const char *grouped(int64_t v, char *buf, size_t cap) {
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i > 0 && raw[i - 1] != '-' && (len - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

/* Write s with the characters special in `kind` ('x' XML, 'd' DOT strings) escaped. */
static void put_escaped(FILE *f, const char *s, char kind) {
    for (; *s; s++) {
        if (kind == 'x') {
            switch (*s) {
                case '&':
                    fputs("&amp;", f);
                    break;
                case '<':
                    fputs("&lt;", f);
                    break;
                case '>':
                    fputs("&gt;", f);
                    break;
                case '"':
                    fputs("&quot;", f);
                    break;
                case '\'':
                    fputs("&apos;", f);
                    break;
                default:
                    fputc(*s, f);
            }
        } else {
            if (*s == '"' || *s == '\\') {
                fputc('\\', f);
            }
            fputc(*s, f);
        }
    }
}

/* ---- text ----------------------------------------------------------------------------------- */

static void write_text(const nas_net *net, FILE *f) {
    char a[64], b[64], c[64], d[64];
    const nas_net_config *cfg = &net->cfg;
    fprintf(f, "# %s net: %s\n", net->space, net->arch);
    fprintf(f, "# C=%d N=%d, input %dx%dx%d, %d classes\n", cfg->C, cfg->N, cfg->in_c, cfg->in_h,
            cfg->in_w, cfg->classes);
    fprintf(f, "# %d nodes, %d edges, %d levels, %d parameter tensors\n", net->n_nodes,
            net->n_edges, net->n_levels, net->n_slots);
    fprintf(f, "# params %s, FLOPs %s per sample (2 x %s multiply-accumulates; conv and linear)\n",
            grouped(net->n_params, a, sizeof a), grouped(net->flops, b, sizeof b),
            grouped(net->macs, c, sizeof c));
    fprintf(f, "%4s  %-7s %-28s %-14s %-11s %-12s %-18s %10s %12s\n", "id", "op", "name", "inputs",
            "shape", "weight", "attributes", "params", "FLOPs");
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        char ins[128];
        size_t off = 0;
        ins[0] = '\0';
        for (int i = 0; i < n->n_in && off < sizeof ins; i++) {
            off += (size_t)snprintf(ins + off, sizeof ins - off, i ? ",%d" : "%d", n->in[i]);
        }
        char at[64];
        fprintf(f, "%4d  %-7s %-28s %-14s %-11s %-12s %-18s %10s %12s\n", v, nas_net_op_name(n->op),
                n->name, n->n_in ? ins : "-", shape_txt(n, a, sizeof a), wshape_txt(n, b, sizeof b),
                attrs(n, at, sizeof at), grouped(n->n_params, c, sizeof c),
                grouped(2 * n->macs, d, sizeof d));
    }
}

/* ---- DOT ------------------------------------------------------------------------------------ */

static const char *dot_colour(nas_net_op op) {
    switch (op) {
        case NAS_NET_CONV:
            return "#a6cee3";
        case NAS_NET_BN:
            return "#ffffb3";
        case NAS_NET_RELU:
            return "#e0e0e0";
        case NAS_NET_AVGPOOL:
        case NAS_NET_MAXPOOL:
            return "#b2df8a";
        case NAS_NET_SUM:
        case NAS_NET_CONCAT:
            return "#fdbf6f";
        case NAS_NET_SLICE:
            return "#fb9a99";
        case NAS_NET_ZERO:
            return "#ffffff";
        case NAS_NET_GAP:
        case NAS_NET_LINEAR:
            return "#cab2d6";
        default:
            return "#bdbdbd";
    }
}

/* Length of the block prefix of a name (up to the first '.'; 0 when there is none). */
static size_t block_len(const char *name) {
    const char *dot = strchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

static void dot_node(const nas_net *net, int v, FILE *f, const char *indent) {
    const nas_net_node *n = &net->nodes[v];
    size_t bl = block_len(n->name);
    char a[64], at[64];
    fprintf(f, "%sn%d [label=\"", indent, v);
    put_escaped(f, n->name + (bl ? bl + 1 : 0), 'd');
    fprintf(f, "\\n%s", nas_net_op_name(n->op));
    if (attrs(n, at, sizeof at)[0]) {
        fprintf(f, " %s", at);
    }
    fprintf(f, "\\n%s\", fillcolor=\"%s\"];\n", shape_txt(n, a, sizeof a), dot_colour(n->op));
}

static void write_dot(const nas_net *net, FILE *f) {
    char a[64], b[64];
    fprintf(f, "digraph net {\n  rankdir=TB;\n  labelloc=t;\n  label=\"");
    put_escaped(f, net->space, 'd');
    fputs(": ", f);
    put_escaped(f, net->arch, 'd');
    fprintf(f, "\\nC=%d N=%d, input %dx%dx%d, params %s, FLOPs %s\";\n", net->cfg.C, net->cfg.N,
            net->cfg.in_c, net->cfg.in_h, net->cfg.in_w, grouped(net->n_params, a, sizeof a),
            grouped(net->flops, b, sizeof b));
    fputs("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n",
          f);
    /* Nodes of one block are contiguous in name order but not always in id order: group them
     * by scanning for each block's first occurrence. */
    for (int v = 0; v < net->n_nodes; v++) {
        const char *name = net->nodes[v].name;
        size_t bl = block_len(name);
        if (bl == 0) {
            dot_node(net, v, f, "  ");
            continue;
        }
        bool seen = false;
        for (int u = 0; u < v && !seen; u++) {
            seen =
                block_len(net->nodes[u].name) == bl && strncmp(net->nodes[u].name, name, bl) == 0;
        }
        if (seen) {
            continue;
        }
        fprintf(f, "  subgraph \"cluster_%.*s\" {\n    label=\"%.*s\";\n    style=dashed;\n",
                (int)bl, name, (int)bl, name);
        for (int u = v; u < net->n_nodes; u++) {
            if (block_len(net->nodes[u].name) == bl && strncmp(net->nodes[u].name, name, bl) == 0) {
                dot_node(net, u, f, "    ");
            }
        }
        fputs("  }\n", f);
    }
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        for (int i = 0; i < n->n_in; i++) {
            fprintf(f, "  n%d -> n%d;\n", n->in[i], v);
        }
    }
    fputs("}\n", f);
}

/* ---- GraphML -------------------------------------------------------------------------------- */

static void write_graphml(const nas_net *net, FILE *f) {
    static const char *const long_keys[] = {"C",      "H",     "W",        "k",
                                            "stride", "pad",   "dilation", "groups",
                                            "params", "flops", "level",    "slot"};
    const int n_long = (int)(sizeof long_keys / sizeof long_keys[0]);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\"\n"
          "    xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
          "    xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
          "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
          f);
    fputs("  <key id=\"g_space\" for=\"graph\" attr.name=\"space\" attr.type=\"string\"/>\n"
          "  <key id=\"g_arch\" for=\"graph\" attr.name=\"arch\" attr.type=\"string\"/>\n"
          "  <key id=\"g_params\" for=\"graph\" attr.name=\"params\" attr.type=\"long\"/>\n"
          "  <key id=\"g_flops\" for=\"graph\" attr.name=\"flops\" attr.type=\"long\"/>\n"
          "  <key id=\"v_name\" for=\"node\" attr.name=\"name\" attr.type=\"string\"/>\n"
          "  <key id=\"v_op\" for=\"node\" attr.name=\"op\" attr.type=\"string\"/>\n"
          "  <key id=\"v_wshape\" for=\"node\" attr.name=\"wshape\" attr.type=\"string\"/>\n",
          f);
    for (int i = 0; i < n_long; i++) {
        fprintf(f, "  <key id=\"v_%s\" for=\"node\" attr.name=\"%s\" attr.type=\"long\"/>\n",
                long_keys[i], long_keys[i]);
    }
    fputs("  <graph id=\"net\" edgedefault=\"directed\">\n", f);
    fputs("    <data key=\"g_space\">", f);
    put_escaped(f, net->space, 'x');
    fputs("</data>\n    <data key=\"g_arch\">", f);
    put_escaped(f, net->arch, 'x');
    fprintf(f, "</data>\n    <data key=\"g_params\">%lld</data>\n", (long long)net->n_params);
    fprintf(f, "    <data key=\"g_flops\">%lld</data>\n", (long long)net->flops);
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        char ws[64];
        snprintf(ws, sizeof ws, "%lldx%lldx%lldx%lld", (long long)n->wshape[0],
                 (long long)n->wshape[1], (long long)n->wshape[2], (long long)n->wshape[3]);
        const int64_t vals[] = {n->shape[0], n->shape[1], n->shape[2], n->k,
                                n->stride,   n->pad,      n->dilation, n->groups,
                                n->n_params, 2 * n->macs, n->level,    n->slot};
        fprintf(f, "    <node id=\"n%d\">\n      <data key=\"v_name\">", v);
        put_escaped(f, n->name, 'x');
        fprintf(f, "</data>\n      <data key=\"v_op\">%s</data>\n", nas_net_op_name(n->op));
        fprintf(f, "      <data key=\"v_wshape\">%s</data>\n", ws);
        for (int i = 0; i < n_long; i++) {
            fprintf(f, "      <data key=\"v_%s\">%lld</data>\n", long_keys[i], (long long)vals[i]);
        }
        fputs("    </node>\n", f);
    }
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *n = &net->nodes[v];
        for (int i = 0; i < n->n_in; i++) {
            fprintf(f, "    <edge source=\"n%d\" target=\"n%d\"/>\n", n->in[i], v);
        }
    }
    fputs("  </graph>\n</graphml>\n", f);
}

nas_status nas_net_write(const nas_net *net, nas_net_format fmt, FILE *f) {
    if (!net || !net->nodes || !f) {
        return nas_error(NAS_EINVAL, "net write: no compiled net or no file");
    }
    switch (fmt) {
        case NAS_NET_TEXT:
            write_text(net, f);
            break;
        case NAS_NET_DOT:
            write_dot(net, f);
            break;
        case NAS_NET_GRAPHML:
            write_graphml(net, f);
            break;
        default:
            return nas_error(NAS_EINVAL, "net write: unknown format %d", (int)fmt);
    }
    if (fflush(f) != 0 || ferror(f)) {
        return nas_error(NAS_EIO, "net write: writing the %s graph failed",
                         nas_net_format_name(fmt));
    }
    return NAS_OK;
}
