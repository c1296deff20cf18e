/*
 * NAS-Bench-101 cell space (kind cell_nb101): labelled DAGs over V <= max_vertices vertices in
 * topological order with at most max_edges edges, every vertex on an input->output path (NB101's
 * pruned form, "full DAG" in generate_graphs.py). Uniform sampling over labelled full DAGs,
 * one-edit mutation, enumeration in generate_graphs.py order, the `<rows>|<ops>` text codec and
 * NB101's hash_module fingerprint (iterated MD5 over Python's exact string formats).
 */
#include "space-impl.h"

#include <stdio.h>
#include <string.h>

/* Bit of edge x->y (x<y) in nasbench's layout (gen_is_edge_fn: column-major upper triangle). */
static inline int bit_of(int x, int y) {
    return x + y * (y - 1) / 2;
}

/* Row masks (out-edges of x) and column masks (in-edges of y) for V vertices. */
static void dag_masks(int V, uint32_t *rowm, uint32_t *colm) {
    for (int v = 0; v < V; v++) {
        rowm[v] = colm[v] = 0;
    }
    for (int y = 1; y < V; y++) {
        for (int x = 0; x < y; x++) {
            rowm[x] |= 1u << bit_of(x, y);
            colm[y] |= 1u << bit_of(x, y);
        }
    }
}

/* is_full_dag: every row but the last and every column but the first has an edge. */
static inline bool full_dag(uint32_t bits, int V, const uint32_t *rowm, const uint32_t *colm) {
    for (int v = 0; v < V - 1; v++) {
        if (!(bits & rowm[v]) || !(bits & colm[v + 1])) {
            return false;
        }
    }
    return true;
}

bool nas_i_nb101_full_dag(uint32_t bits, int V) {
    uint32_t rowm[NAS_CELL_MAX_NODES], colm[NAS_CELL_MAX_NODES];
    dag_masks(V, rowm, colm);
    return full_dag(bits, V, rowm, colm);
}

void nas_i_nb101_count_graphs(nas_space *sp) {
    memset(sp->nb101_graphs, 0, sizeof sp->nb101_graphs);
    for (int V = 2; V <= sp->max_vertices; V++) {
        uint32_t rowm[NAS_CELL_MAX_NODES], colm[NAS_CELL_MAX_NODES];
        dag_masks(V, rowm, colm);
        uint32_t n_bits = (uint32_t)(V * (V - 1) / 2);
        uint64_t count = 0;
        for (uint32_t bits = 0; bits < (1u << n_bits); bits++) {
            if (__builtin_popcount(bits) <= sp->max_edges && full_dag(bits, V, rowm, colm)) {
                count++;
            }
        }
        sp->nb101_graphs[V] = count;
    }
}

static uint32_t cell_bits(const nas_cell *c) {
    uint32_t bits = 0;
    for (int e = 0; e < c->n_edges; e++) {
        bits |= 1u << bit_of(c->edges[e].src, c->edges[e].dst);
    }
    return bits;
}

/* Rebuild the edge list of a V-vertex cell from bits (edges by src, then dst). */
static void set_edges(nas_cell *c, uint32_t bits) {
    int n = 0;
    for (int x = 0; x < c->n_nodes; x++) {
        for (int y = x + 1; y < c->n_nodes; y++) {
            if (bits >> bit_of(x, y) & 1u) {
                c->edges[n].src = x;
                c->edges[n].dst = y;
                c->edges[n].op = -1;
                n++;
            }
        }
    }
    for (int e = n; e < c->n_edges; e++) {
        memset(&c->edges[e], 0, sizeof c->edges[e]);
    }
    c->n_edges = n;
}

/* A V-vertex cell with the given edge bits; interior ops set to 0. */
static void frame(const nas_space *sp, nas_arch *a, int V, uint32_t bits) {
    nas_i_arch_init(sp, a);
    a->n_cells = 1;
    nas_cell *c = &a->cell[0];
    c->n_nodes = V;
    c->n_inputs = 1;
    for (int v = 0; v < V; v++) {
        c->node_op[v] = v == 0 ? NAS_NODE_INPUT : v == V - 1 ? NAS_NODE_OUTPUT : 0;
    }
    set_edges(c, bits);
}

nas_status nas_i_nb101_size(const nas_space *sp, uint64_t *n) {
    uint64_t total = 0;
    for (int V = 2; V <= sp->max_vertices; V++) {
        uint64_t labels = 1;
        for (int v = 0; v < V - 2; v++) {
            labels *= (uint64_t)sp->n_ops;
        }
        total += sp->nb101_graphs[V] * labels;
    }
    *n = total;
    return NAS_OK;
}

nas_status nas_i_nb101_sample(const nas_space *sp, nas_rng *rng, nas_arch *out) {
    /* Pick V in proportion to its labelled graphs, then a graph by rejection, then labels. */
    uint64_t total;
    NAS_CHECK(nas_i_nb101_size(sp, &total));
    uint64_t r = nas_rng_below(rng, total);
    int V = 2;
    for (; V <= sp->max_vertices; V++) {
        uint64_t labels = 1;
        for (int v = 0; v < V - 2; v++) {
            labels *= (uint64_t)sp->n_ops;
        }
        uint64_t w = sp->nb101_graphs[V] * labels;
        if (r < w) {
            break;
        }
        r -= w;
    }
    uint32_t rowm[NAS_CELL_MAX_NODES], colm[NAS_CELL_MAX_NODES];
    dag_masks(V, rowm, colm);
    int n_bits = V * (V - 1) / 2;
    uint32_t bits;
    do {
        bits = (uint32_t)(nas_rng_u64(rng) & ((1ull << n_bits) - 1));
    } while (__builtin_popcount(bits) > sp->max_edges || !full_dag(bits, V, rowm, colm));
    frame(sp, out, V, bits);
    for (int v = 1; v < V - 1; v++) {
        out->cell[0].node_op[v] = (int)nas_rng_below(rng, (uint64_t)sp->n_ops);
    }
    return NAS_OK;
}

nas_status nas_i_nb101_check(const nas_space *sp, const nas_arch *a) {
    const nas_cell *c = &a->cell[0];
    if (a->n_cells != 1 || a->n_stages != 0) {
        return nas_error(NAS_EINVAL, "space %s: an nb101 arch has exactly one cell", sp->name);
    }
    int V = c->n_nodes;
    if (V < 2 || V > sp->max_vertices || c->n_inputs != 1 || c->n_concat != 0) {
        return nas_error(NAS_EINVAL,
                         "space %s: cell has %d vertices and %d inputs; needs 2..%d "
                         "vertices and 1 input",
                         sp->name, V, c->n_inputs, sp->max_vertices);
    }
    if (c->n_edges < 1 || c->n_edges > sp->max_edges) {
        return nas_error(NAS_EINVAL, "space %s: cell has %d edges; needs 1..%d", sp->name,
                         c->n_edges, sp->max_edges);
    }
    int prev = -1;
    for (int e = 0; e < c->n_edges; e++) {
        const nas_edge *x = &c->edges[e];
        if (x->src < 0 || x->src >= x->dst || x->dst >= V || x->op != -1) {
            return nas_error(NAS_EINVAL,
                             "space %s: edge %d is %d->%d with op %d; needs src < dst < %d and op "
                             "-1",
                             sp->name, e, x->src, x->dst, x->op, V);
        }
        int key = x->src * NAS_CELL_MAX_NODES + x->dst;
        if (key <= prev) {
            return nas_error(NAS_EINVAL,
                             "space %s: edges must be sorted by src, then dst, without "
                             "repeats (edge %d is %d->%d)",
                             sp->name, e, x->src, x->dst);
        }
        prev = key;
    }
    for (int v = 0; v < V; v++) {
        int want_role = v == 0 ? NAS_NODE_INPUT : v == V - 1 ? NAS_NODE_OUTPUT : 0;
        int op = c->node_op[v];
        if (want_role < 0 ? op != want_role : (op < 0 || op >= sp->n_ops)) {
            return nas_error(NAS_EINVAL,
                             "space %s: vertex %d has op %d (input -1, output -2, "
                             "interior 0..%d)",
                             sp->name, v, op, sp->n_ops - 1);
        }
    }
    if (!nas_i_nb101_full_dag(cell_bits(c), V)) {
        return nas_error(NAS_EINVAL, "space %s: some vertex is not on an input->output path",
                         sp->name);
    }
    return NAS_OK;
}

nas_status nas_i_nb101_mutate(const nas_space *sp, const nas_arch *p, nas_rng *rng,
                              nas_arch *child) {
    const nas_cell *c = &p->cell[0];
    int V = c->n_nodes;
    uint32_t bits = cell_bits(c);
    uint32_t rowm[NAS_CELL_MAX_NODES], colm[NAS_CELL_MAX_NODES];
    dag_masks(V, rowm, colm);
    /* Candidates: edge flips (encoded as the bit, >= 0) and op changes (-(1 + v*16 + op)). */
    int cand[NAS_CELL_MAX_EDGES + NAS_CELL_MAX_NODES * NAS_SPACE_MAX_OPS];
    int n = 0;
    for (int y = 1; y < V; y++) {
        for (int x = 0; x < y; x++) {
            uint32_t b = bits ^ (1u << bit_of(x, y));
            if (__builtin_popcount(b) <= sp->max_edges && full_dag(b, V, rowm, colm)) {
                cand[n++] = bit_of(x, y);
            }
        }
    }
    for (int v = 1; v < V - 1; v++) {
        for (int op = 0; op < sp->n_ops; op++) {
            if (op != c->node_op[v]) {
                cand[n++] = -(1 + v * NAS_SPACE_MAX_OPS + op);
            }
        }
    }
    if (n == 0) {
        return nas_error(NAS_ENOTFOUND,
                         "space %s: the %d-vertex arch has no valid one-edit neighbour", sp->name,
                         V);
    }
    int k = cand[nas_rng_below(rng, (uint64_t)n)];
    *child = *p;
    if (k >= 0) {
        set_edges(&child->cell[0], bits ^ (1u << k));
    } else {
        int code = -k - 1;
        child->cell[0].node_op[code / NAS_SPACE_MAX_OPS] = code % NAS_SPACE_MAX_OPS;
    }
    return NAS_OK;
}

int nas_i_nb101_distance(const nas_space *sp, const nas_arch *a, const nas_arch *b) {
    (void)sp;
    const nas_cell *ca = &a->cell[0], *cb = &b->cell[0];
    if (ca->n_nodes != cb->n_nodes) {
        return -1;
    }
    int d = __builtin_popcount(cell_bits(ca) ^ cell_bits(cb));
    for (int v = 1; v < ca->n_nodes - 1; v++) {
        d += ca->node_op[v] != cb->node_op[v];
    }
    return d;
}

nas_status nas_i_nb101_enumerate(const nas_space *sp, nas_arch_visit_fn fn, void *user) {
    nas_arch a;
    for (int V = 2; V <= sp->max_vertices; V++) {
        uint32_t rowm[NAS_CELL_MAX_NODES], colm[NAS_CELL_MAX_NODES];
        dag_masks(V, rowm, colm);
        uint32_t n_bits = (uint32_t)(V * (V - 1) / 2);
        for (uint32_t bits = 0; bits < (1u << n_bits); bits++) {
            if (__builtin_popcount(bits) > sp->max_edges || !full_dag(bits, V, rowm, colm)) {
                continue;
            }
            frame(sp, &a, V, bits);
            int *ops = a.cell[0].node_op;
            for (;;) {
                NAS_CHECK(fn(&a, user));
                /* itertools.product order: the last interior vertex varies fastest. */
                int v = V - 2;
                while (v >= 1 && ops[v] == sp->n_ops - 1) {
                    ops[v] = 0;
                    v--;
                }
                if (v < 1) {
                    break;
                }
                ops[v]++;
            }
        }
    }
    return NAS_OK;
}

nas_status nas_i_nb101_encode(const nas_space *sp, const nas_arch *a, nas_i_str *s) {
    const nas_cell *c = &a->cell[0];
    int V = c->n_nodes;
    uint32_t bits = cell_bits(c);
    char row[NAS_CELL_MAX_NODES + 2];
    for (int x = 0; x < V - 1; x++) {
        int n = 0;
        if (x) {
            row[n++] = '.';
        }
        for (int y = x + 1; y < V; y++) {
            row[n++] = (bits >> bit_of(x, y) & 1u) ? '1' : '0';
        }
        nas_i_str_append(s, row, (size_t)n);
    }
    nas_i_str_puts(s, "|");
    for (int v = 1; v < V - 1; v++) {
        if (v > 1) {
            nas_i_str_puts(s, ",");
        }
        nas_i_str_puts(s, nas_cell_op_name(sp->ops[c->node_op[v]]));
    }
    return NAS_OK;
}

static const char *found(const char *text, size_t pos, char buf[16]) {
    if (!text[pos]) {
        return "end of string";
    }
    snprintf(buf, 16, "'%c'", text[pos]);
    return buf;
}

nas_status nas_i_nb101_decode(const nas_space *sp, const char *text, nas_arch *out) {
    char fb[16];
    size_t pos = 0;
    while (text[pos] == '0' || text[pos] == '1') {
        pos++;
    }
    int V = (int)pos + 1;
    if (pos == 0) {
        return nas_i_parse_error(sp, text, 0,
                                 "expected row 0 of the adjacency (bits '0'/'1' for edges 0->1.."
                                 "0->V-1), found %s",
                                 found(text, 0, fb));
    }
    if (V > sp->max_vertices) {
        return nas_i_parse_error(sp, text, 0,
                                 "row 0 has %d bits, so the cell would have %d vertices; space %s "
                                 "allows at most %d",
                                 V - 1, V, sp->name, sp->max_vertices);
    }
    uint32_t bits = 0;
    for (int y = 1; y < V; y++) {
        bits |= (uint32_t)(text[y - 1] == '1') << bit_of(0, y);
    }
    for (int x = 1; x < V - 1; x++) {
        if (text[pos] != '.') {
            return nas_i_parse_error(sp, text, pos,
                                     "expected '.' and row %d (a %d-vertex cell has %d rows), "
                                     "found %s",
                                     x, V, V - 1, found(text, pos, fb));
        }
        pos++;
        size_t start = pos;
        while (text[pos] == '0' || text[pos] == '1') {
            pos++;
        }
        if ((int)(pos - start) != V - 1 - x) {
            return nas_i_parse_error(
                sp, text, start, "row %d must have %d bit%s (edges %d->%d..%d->%d), found %d", x,
                V - 1 - x, V - 1 - x == 1 ? "" : "s", x, x + 1, x, V - 1, (int)(pos - start));
        }
        for (int y = x + 1; y < V; y++) {
            bits |= (uint32_t)(text[start + (size_t)(y - x - 1)] == '1') << bit_of(x, y);
        }
    }
    if (text[pos] != '|') {
        return nas_i_parse_error(sp, text, pos,
                                 "expected '|' after the %d adjacency rows, found %s", V - 1,
                                 found(text, pos, fb));
    }
    pos++;
    frame(sp, out, V, bits);
    for (int v = 1; v < V - 1; v++) {
        if (v > 1) {
            if (text[pos] != ',') {
                return nas_i_parse_error(sp, text, pos,
                                         "expected ',' and the op of vertex %d (a %d-vertex cell "
                                         "has %d ops), found %s",
                                         v, V, V - 2, found(text, pos, fb));
            }
            pos++;
        }
        size_t len;
        int op = nas_i_match_op(sp, text + pos, &len);
        if (op < 0) {
            char ops[400];
            nas_i_space_op_list(sp, ops, sizeof ops);
            if (len == 0) {
                return nas_i_parse_error(sp, text, pos, "expected the op of vertex %d, found %s", v,
                                         found(text, pos, fb));
            }
            return nas_i_parse_error(sp, text, pos, "unknown op '%.*s' (ops of space %s: %s)",
                                     (int)len, text + pos, sp->name, ops);
        }
        out->cell[0].node_op[v] = op;
        pos += len;
    }
    if (text[pos] != '\0') {
        return nas_i_parse_error(sp, text, pos,
                                 "expected the end of the string after %d op%s, found %s", V - 2,
                                 V - 2 == 1 ? "" : "s", found(text, pos, fb));
    }
    int n_edges = __builtin_popcount(bits);
    if (n_edges > sp->max_edges) {
        return nas_error(NAS_EFORMAT, "%s arch string '%s': %d edges, more than max_edges %d",
                         sp->name, text, n_edges, sp->max_edges);
    }
    const nas_cell *c = &out->cell[0];
    for (int v = 0; v < V; v++) {
        bool in = v == 0, outgoing = v == V - 1;
        for (int e = 0; e < c->n_edges; e++) {
            in = in || c->edges[e].dst == v;
            outgoing = outgoing || c->edges[e].src == v;
        }
        if (!in || !outgoing) {
            return nas_error(NAS_EFORMAT,
                             "%s arch string '%s': vertex %d has no %s edge, so it is not on an "
                             "input->output path (write the pruned graph)",
                             sp->name, text, v, in ? "outgoing" : "incoming");
        }
    }
    return NAS_OK;
}

/* ---- hash_module ---------------------------------------------------------------------------- */

/* Sort the 32-char hex strings h[idx[0..n)] (insertion sort; n <= 9). */
static void sort_hex(int *idx, int n, char (*h)[33]) {
    for (int i = 1; i < n; i++) {
        int k = idx[i], j = i - 1;
        while (j >= 0 && memcmp(h[idx[j]], h[k], 32) > 0) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = k;
    }
}

void nas_i_nb101_hash(const nas_space *sp, const nas_arch *a, uint8_t digest[16]) {
    (void)sp;
    const nas_cell *c = &a->cell[0];
    int V = c->n_nodes;
    bool adj[NAS_CELL_MAX_NODES][NAS_CELL_MAX_NODES];
    memset(adj, 0, sizeof adj);
    int in_deg[NAS_CELL_MAX_NODES] = {0}, out_deg[NAS_CELL_MAX_NODES] = {0};
    for (int e = 0; e < c->n_edges; e++) {
        adj[c->edges[e].src][c->edges[e].dst] = true;
        out_deg[c->edges[e].src]++;
        in_deg[c->edges[e].dst]++;
    }
    char h[NAS_CELL_MAX_NODES][33], nh[NAS_CELL_MAX_NODES][33];
    /* Labels are nasbench's: -1 input, -2 output, else the op index (node_op holds exactly
     * these). The tuple is (out_degree, in_degree, label), formatted like Python's str(). */
    for (int v = 0; v < V; v++) {
        char t[64];
        int n = snprintf(t, sizeof t, "(%d, %d, %d)", out_deg[v], in_deg[v], c->node_op[v]);
        nas_i_md5_hex(t, (size_t)n, h[v]);
    }
    /* buf: sorted in-neighbour hashes + '|' + sorted out-neighbour hashes + '|' + own hash. */
    char buf[(2 * NAS_CELL_MAX_NODES + 1) * 32 + 8];
    for (int round = 0; round < V; round++) {
        for (int v = 0; v < V; v++) {
            int idx[NAS_CELL_MAX_NODES], n = 0;
            size_t len = 0;
            for (int w = 0; w < V; w++) {
                if (adj[w][v]) {
                    idx[n++] = w;
                }
            }
            sort_hex(idx, n, h);
            for (int i = 0; i < n; i++) {
                memcpy(buf + len, h[idx[i]], 32);
                len += 32;
            }
            buf[len++] = '|';
            n = 0;
            for (int w = 0; w < V; w++) {
                if (adj[v][w]) {
                    idx[n++] = w;
                }
            }
            sort_hex(idx, n, h);
            for (int i = 0; i < n; i++) {
                memcpy(buf + len, h[idx[i]], 32);
                len += 32;
            }
            buf[len++] = '|';
            memcpy(buf + len, h[v], 32);
            len += 32;
            nas_i_md5_hex(buf, len, nh[v]);
        }
        memcpy(h, nh, sizeof h);
    }
    /* str(sorted(hashes)): "['<h0>', '<h1>', ...]". */
    int idx[NAS_CELL_MAX_NODES];
    for (int v = 0; v < V; v++) {
        idx[v] = v;
    }
    sort_hex(idx, V, h);
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < V; i++) {
        if (i) {
            buf[len++] = ',';
            buf[len++] = ' ';
        }
        buf[len++] = '\'';
        memcpy(buf + len, h[idx[i]], 32);
        len += 32;
        buf[len++] = '\'';
    }
    buf[len++] = ']';
    nas_i_md5(buf, len, digest);
}
