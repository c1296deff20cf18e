/*
 * NAS-Bench-201 cell space (kind cell_nb201): a dense DAG over `nodes` nodes whose every edge
 * i->j (i<j) carries one op. Sampling, one-edit mutation, enumeration in NB201's gen_all order,
 * membership and Structure.check_valid validity, the `|op~0|+|op~0|op~1|+...` text codec and
 * NB201's to_unique_str(consider_zero=True) isomorphism key.
 */
#include "space-impl.h"

#include <stdlib.h>
#include <string.h>

/* Index of edge src->dst in NB201 string order (by dst, then src). */
static int edge_index(int src, int dst) {
    return dst * (dst - 1) / 2 + src;
}

static int n_edges_of(const nas_space *sp) {
    return sp->nodes * (sp->nodes - 1) / 2;
}

/* Space op index of `op`, or -1. */
static int space_op(const nas_space *sp, nas_cell_op op) {
    for (int i = 0; i < sp->n_ops; i++) {
        if (sp->ops[i] == op) {
            return i;
        }
    }
    return -1;
}

/* The fixed structure of every member; all ops set to space op 0. */
static void frame(const nas_space *sp, nas_arch *a) {
    nas_i_arch_init(sp, a);
    a->n_cells = 1;
    nas_cell *c = &a->cell[0];
    int n = sp->nodes;
    c->n_nodes = n;
    c->n_inputs = 1;
    c->n_edges = n_edges_of(sp);
    for (int v = 0; v < n; v++) {
        c->node_op[v] = v == 0 ? NAS_NODE_INPUT : v == n - 1 ? NAS_NODE_OUTPUT : NAS_NODE_SUM;
    }
    for (int dst = 1; dst < n; dst++) {
        for (int src = 0; src < dst; src++) {
            nas_edge *e = &c->edges[edge_index(src, dst)];
            e->src = src;
            e->dst = dst;
            e->op = 0;
        }
    }
}

nas_status nas_i_nb201_size(const nas_space *sp, uint64_t *n) {
    uint64_t total = 1;
    for (int e = 0; e < n_edges_of(sp); e++) {
        if (!nas_i_mul_u64(&total, (uint64_t)sp->n_ops)) {
            return nas_error(NAS_EUNSUPPORTED, "space %s has more than 2^64 members", sp->name);
        }
    }
    *n = total;
    return NAS_OK;
}

nas_status nas_i_nb201_sample(const nas_space *sp, nas_rng *rng, nas_arch *out) {
    frame(sp, out);
    nas_cell *c = &out->cell[0];
    for (int e = 0; e < c->n_edges; e++) {
        c->edges[e].op = (int)nas_rng_below(rng, (uint64_t)sp->n_ops);
    }
    return NAS_OK;
}

nas_status nas_i_nb201_check(const nas_space *sp, const nas_arch *a) {
    nas_arch f;
    frame(sp, &f);
    const nas_cell *c = &a->cell[0], *fc = &f.cell[0];
    if (a->n_cells != 1 || a->n_stages != 0) {
        return nas_error(NAS_EINVAL, "space %s: an nb201 arch has exactly one cell", sp->name);
    }
    if (c->n_nodes != fc->n_nodes || c->n_inputs != 1 || c->n_edges != fc->n_edges ||
        c->n_concat != 0) {
        return nas_error(NAS_EINVAL,
                         "space %s: cell must have %d nodes, 1 input and %d edges (has %d, %d, %d)",
                         sp->name, fc->n_nodes, fc->n_edges, c->n_nodes, c->n_inputs, c->n_edges);
    }
    for (int v = 0; v < c->n_nodes; v++) {
        if (c->node_op[v] != fc->node_op[v]) {
            return nas_error(NAS_EINVAL, "space %s: node %d has role %d, expected %d", sp->name, v,
                             c->node_op[v], fc->node_op[v]);
        }
    }
    for (int e = 0; e < c->n_edges; e++) {
        const nas_edge *x = &c->edges[e];
        if (x->src != fc->edges[e].src || x->dst != fc->edges[e].dst) {
            return nas_error(NAS_EINVAL, "space %s: edge %d is %d->%d, expected %d->%d", sp->name,
                             e, x->src, x->dst, fc->edges[e].src, fc->edges[e].dst);
        }
        if (x->op < 0 || x->op >= sp->n_ops) {
            return nas_error(NAS_EINVAL, "space %s: edge %d->%d has op index %d, not in [0, %d)",
                             sp->name, x->src, x->dst, x->op, sp->n_ops);
        }
    }
    return NAS_OK;
}

bool nas_i_nb201_valid(const nas_space *sp, const nas_arch *a) {
    int none = space_op(sp, NAS_CELL_OP_NONE);
    const nas_cell *c = &a->cell[0];
    bool reach[NAS_CELL_MAX_NODES] = {true};
    for (int j = 1; j < c->n_nodes; j++) {
        reach[j] = false;
        for (int i = 0; i < j; i++) {
            reach[j] = reach[j] || (reach[i] && c->edges[edge_index(i, j)].op != none);
        }
    }
    return reach[c->n_nodes - 1];
}

nas_status nas_i_nb201_mutate(const nas_space *sp, const nas_arch *p, nas_rng *rng,
                              nas_arch *child) {
    /* All (edge, new op) pairs whose result is valid; pick one uniformly. */
    int cand[NAS_CELL_MAX_EDGES * NAS_SPACE_MAX_OPS][2];
    int n = 0;
    nas_arch t = *p;
    nas_cell *c = &t.cell[0];
    for (int e = 0; e < c->n_edges; e++) {
        int old = c->edges[e].op;
        for (int op = 0; op < sp->n_ops; op++) {
            if (op == old) {
                continue;
            }
            c->edges[e].op = op;
            if (nas_i_nb201_valid(sp, &t)) {
                cand[n][0] = e;
                cand[n][1] = op;
                n++;
            }
        }
        c->edges[e].op = old;
    }
    if (n == 0) {
        return nas_error(NAS_ENOTFOUND, "space %s: the arch has no valid one-edit neighbour",
                         sp->name);
    }
    int k = (int)nas_rng_below(rng, (uint64_t)n);
    *child = *p;
    child->cell[0].edges[cand[k][0]].op = cand[k][1];
    return NAS_OK;
}

int nas_i_nb201_distance(const nas_space *sp, const nas_arch *a, const nas_arch *b) {
    (void)sp;
    int d = 0;
    for (int e = 0; e < a->cell[0].n_edges; e++) {
        d += a->cell[0].edges[e].op != b->cell[0].edges[e].op;
    }
    return d;
}

nas_status nas_i_nb201_enumerate(const nas_space *sp, nas_arch_visit_fn fn, void *user) {
    nas_arch a;
    frame(sp, &a);
    nas_cell *c = &a.cell[0];
    for (;;) {
        NAS_CHECK(fn(&a, user));
        /* Odometer: the last edge varies fastest, edge 0 (0->1) is most significant. */
        int e = c->n_edges - 1;
        while (e >= 0 && c->edges[e].op == sp->n_ops - 1) {
            c->edges[e].op = 0;
            e--;
        }
        if (e < 0) {
            return NAS_OK;
        }
        c->edges[e].op++;
    }
}

nas_status nas_i_nb201_encode(const nas_space *sp, const nas_arch *a, nas_i_str *s) {
    const nas_cell *c = &a->cell[0];
    for (int j = 1; j < c->n_nodes; j++) {
        nas_i_str_puts(s, j > 1 ? "+|" : "|");
        for (int i = 0; i < j; i++) {
            nas_i_str_printf(s, "%s~%d|", nas_cell_op_name(sp->ops[c->edges[edge_index(i, j)].op]),
                             i);
        }
    }
    return NAS_OK;
}

/* "'c'" or "end of string" for messages. */
static const char *found(const char *text, size_t pos, char buf[16]) {
    if (!text[pos]) {
        return "end of string";
    }
    buf[0] = '\'';
    buf[1] = text[pos];
    buf[2] = '\'';
    buf[3] = '\0';
    return buf;
}

nas_status nas_i_nb201_decode(const nas_space *sp, const char *text, nas_arch *out) {
    frame(sp, out);
    nas_cell *c = &out->cell[0];
    size_t pos = 0;
    char fb[16];
    for (int j = 1; j < c->n_nodes; j++) {
        if (j > 1) {
            if (text[pos] != '+') {
                return nas_i_parse_error(sp, text, pos,
                                         "expected '+' after the %d input%s of node %d, found %s",
                                         j - 1, j - 1 == 1 ? "" : "s", j - 1, found(text, pos, fb));
            }
            pos++;
        }
        if (text[pos] != '|') {
            return nas_i_parse_error(sp, text, pos, "expected '|' opening node %d, found %s", j,
                                     found(text, pos, fb));
        }
        pos++;
        for (int i = 0; i < j; i++) {
            size_t len;
            int op = nas_i_match_op(sp, text + pos, &len);
            if (len == 0) {
                return nas_i_parse_error(
                    sp, text, pos,
                    "expected an op name for input %d of node %d (it has %d), found %s", i, j, j,
                    found(text, pos, fb));
            }
            if (op < 0) {
                char ops[400];
                nas_i_space_op_list(sp, ops, sizeof ops);
                return nas_i_parse_error(sp, text, pos, "unknown op '%.*s' (ops of space %s: %s)",
                                         (int)len, text + pos, sp->name, ops);
            }
            size_t op_pos = pos;
            pos += len;
            if (text[pos] != '~') {
                return nas_i_parse_error(sp, text, pos,
                                         "expected '~' after op name '%.*s', found %s", (int)len,
                                         text + op_pos, found(text, pos, fb));
            }
            pos++;
            size_t num_pos = pos;
            long v = 0;
            while (text[pos] >= '0' && text[pos] <= '9' && pos - num_pos < 9) {
                v = v * 10 + (text[pos] - '0');
                pos++;
            }
            if (pos == num_pos) {
                return nas_i_parse_error(sp, text, pos,
                                         "expected source node number %d after '~', found %s", i,
                                         found(text, pos, fb));
            }
            if (v != i) {
                return nas_i_parse_error(sp, text, num_pos,
                                         "input %d of node %d must be '~%d' (NB201 lists the "
                                         "sources of a node in order), found '~%ld'",
                                         i, j, i, v);
            }
            if (text[pos] != '|') {
                return nas_i_parse_error(sp, text, pos, "expected '|' after '%.*s~%d', found %s",
                                         (int)len, text + op_pos, i, found(text, pos, fb));
            }
            pos++;
            c->edges[edge_index(i, j)].op = op;
        }
    }
    if (text[pos] != '\0') {
        return nas_i_parse_error(sp, text, pos,
                                 "expected the end of the string after node %d (space %s has %d "
                                 "nodes), found %s",
                                 c->n_nodes - 1, sp->name, c->n_nodes, found(text, pos, fb));
    }
    return NAS_OK;
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

nas_status nas_i_nb201_unique_str(const nas_space *sp, const nas_arch *a, nas_i_str *out) {
    const nas_cell *c = &a->cell[0];
    int none = space_op(sp, NAS_CELL_OP_NONE), skip = space_op(sp, NAS_CELL_OP_SKIP_CONNECT);
    nas_i_str node[NAS_CELL_MAX_NODES];
    nas_i_str term[NAS_CELL_MAX_NODES];
    memset(node, 0, sizeof node);
    memset(term, 0, sizeof term);
    nas_status st = NAS_OK;
    nas_i_str_puts(&node[0], "0");
    for (int j = 1; j < c->n_nodes; j++) {
        const char *ptr[NAS_CELL_MAX_NODES];
        for (int i = 0; i < j; i++) {
            int op = c->edges[edge_index(i, j)].op;
            term[i].len = 0;
            /* Only an exact "#" propagates zero: a node of all-zero terms is "#+#", not "#". */
            if (op == none || strcmp(node[i].p, "#") == 0) {
                nas_i_str_puts(&term[i], "#");
            } else if (op == skip) {
                nas_i_str_append(&term[i], node[i].p, node[i].len);
            } else {
                nas_i_str_printf(&term[i], "(%s)@%s", node[i].p, nas_cell_op_name(sp->ops[op]));
            }
            if (term[i].oom) {
                st = nas_error(NAS_ENOMEM, "nb201 unique string: out of memory");
                goto cleanup;
            }
            ptr[i] = term[i].p;
        }
        qsort(ptr, (size_t)j, sizeof ptr[0], cmp_cstr); /* Python sorts str by code point */
        for (int i = 0; i < j; i++) {
            if (i) {
                nas_i_str_puts(&node[j], "+");
            }
            nas_i_str_puts(&node[j], ptr[i]);
        }
        if (node[j].oom) {
            st = nas_error(NAS_ENOMEM, "nb201 unique string: out of memory");
            goto cleanup;
        }
    }
    nas_i_str_append(out, node[c->n_nodes - 1].p, node[c->n_nodes - 1].len);
cleanup:
    for (int i = 0; i < NAS_CELL_MAX_NODES; i++) {
        nas_i_str_free(&node[i]);
        nas_i_str_free(&term[i]);
    }
    return st;
}
