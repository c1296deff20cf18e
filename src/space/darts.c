/*
 * DARTS cell space (kind cell_darts): a normal and a reduction cell; nodes 0 and 1 are the cell
 * inputs, each of the `nodes` intermediate nodes takes `inputs_per_node` edges from distinct
 * earlier nodes, each edge one op other than none; the output concatenates the intermediate
 * nodes. Sampling, one-edit mutation, enumeration, membership and the Genotype(...) text codec.
 */
#include "space-impl.h"

#include <stdio.h>
#include <string.h>

/* Space op indices other than none. */
static int real_ops(const nas_space *sp, int *idx) {
    int q = 0;
    for (int i = 0; i < sp->n_ops; i++) {
        if (sp->ops[i] != NAS_CELL_OP_NONE) {
            idx[q++] = i;
        }
    }
    return q;
}

static bool is_none(const nas_space *sp, int op) {
    return sp->ops[op] == NAS_CELL_OP_NONE;
}

/* Both cells' fixed structure; every edge takes the first real op from the lowest sources. */
static void frame(const nas_space *sp, nas_arch *a) {
    nas_i_arch_init(sp, a);
    int k = sp->nodes, m = sp->inputs_per_node;
    int ops[NAS_SPACE_MAX_OPS];
    real_ops(sp, ops);
    a->n_cells = 2;
    for (int ci = 0; ci < 2; ci++) {
        nas_cell *c = &a->cell[ci];
        c->n_nodes = k + 2;
        c->n_inputs = 2;
        c->n_edges = k * m;
        c->n_concat = k;
        for (int v = 0; v < k + 2; v++) {
            c->node_op[v] = v < 2 ? NAS_NODE_INPUT : NAS_NODE_SUM;
        }
        for (int i = 0; i < k; i++) {
            c->concat[i] = i + 2;
            for (int j = 0; j < m; j++) {
                nas_edge *e = &c->edges[i * m + j];
                e->src = j;
                e->dst = i + 2;
                e->op = ops[0];
            }
        }
    }
}

static uint64_t choose(int n, int r) {
    return r == 1 ? (uint64_t)n : (uint64_t)n * (uint64_t)(n - 1) / 2;
}

nas_status nas_i_darts_size(const nas_space *sp, uint64_t *n) {
    int idx[NAS_SPACE_MAX_OPS];
    int q = real_ops(sp, idx);
    uint64_t cell = 1;
    bool ok = true;
    for (int i = 0; i < sp->nodes; i++) {
        ok = ok && nas_i_mul_u64(&cell, choose(i + 2, sp->inputs_per_node));
        for (int j = 0; j < sp->inputs_per_node; j++) {
            ok = ok && nas_i_mul_u64(&cell, (uint64_t)q);
        }
    }
    uint64_t total = cell;
    ok = ok && nas_i_mul_u64(&total, cell);
    if (!ok) {
        return nas_error(NAS_EUNSUPPORTED, "space %s has more than 2^64 members", sp->name);
    }
    *n = total;
    return NAS_OK;
}

nas_status nas_i_darts_sample(const nas_space *sp, nas_rng *rng, nas_arch *out) {
    frame(sp, out);
    int idx[NAS_SPACE_MAX_OPS];
    int q = real_ops(sp, idx);
    int m = sp->inputs_per_node;
    for (int ci = 0; ci < 2; ci++) {
        nas_cell *c = &out->cell[ci];
        for (int i = 0; i < sp->nodes; i++) {
            int dst = i + 2;
            int a = (int)nas_rng_below(rng, (uint64_t)dst);
            nas_edge *e = &c->edges[i * m];
            if (m == 2) {
                /* A uniform pair of distinct sources, written in ascending order. */
                int b = (int)nas_rng_below(rng, (uint64_t)(dst - 1));
                b += b >= a;
                e[0].src = a < b ? a : b;
                e[1].src = a < b ? b : a;
            } else {
                e[0].src = a;
            }
            for (int j = 0; j < m; j++) {
                e[j].op = idx[nas_rng_below(rng, (uint64_t)q)];
            }
        }
    }
    return NAS_OK;
}

nas_status nas_i_darts_check(const nas_space *sp, const nas_arch *a) {
    static const char *const cell_name[2] = {"normal", "reduce"};
    nas_arch f;
    frame(sp, &f);
    if (a->n_cells != 2 || a->n_stages != 0) {
        return nas_error(NAS_EINVAL, "space %s: a darts arch has two cells (normal, reduce)",
                         sp->name);
    }
    int m = sp->inputs_per_node;
    for (int ci = 0; ci < 2; ci++) {
        const nas_cell *c = &a->cell[ci], *fc = &f.cell[ci];
        if (c->n_nodes != fc->n_nodes || c->n_inputs != 2 || c->n_edges != fc->n_edges ||
            c->n_concat != fc->n_concat) {
            return nas_error(NAS_EINVAL,
                             "space %s: %s cell must have %d nodes, 2 inputs, %d edges and %d "
                             "concatenated nodes",
                             sp->name, cell_name[ci], fc->n_nodes, fc->n_edges, fc->n_concat);
        }
        for (int v = 0; v < c->n_nodes; v++) {
            if (c->node_op[v] != fc->node_op[v]) {
                return nas_error(NAS_EINVAL, "space %s: %s cell node %d has role %d, expected %d",
                                 sp->name, cell_name[ci], v, c->node_op[v], fc->node_op[v]);
            }
        }
        for (int i = 0; i < c->n_concat; i++) {
            if (c->concat[i] != fc->concat[i]) {
                return nas_error(NAS_EINVAL, "space %s: %s cell must concatenate nodes 2..%d",
                                 sp->name, cell_name[ci], sp->nodes + 1);
            }
        }
        for (int e = 0; e < c->n_edges; e++) {
            const nas_edge *x = &c->edges[e];
            if (x->dst != fc->edges[e].dst || x->src < 0 || x->src >= x->dst) {
                return nas_error(NAS_EINVAL,
                                 "space %s: %s cell edge %d is %d->%d; it must feed node %d from "
                                 "an earlier node",
                                 sp->name, cell_name[ci], e, x->src, x->dst, fc->edges[e].dst);
            }
            if (x->op < 0 || x->op >= sp->n_ops || is_none(sp, x->op)) {
                return nas_error(NAS_EINVAL,
                                 "space %s: %s cell edge %d has op index %d (needs a space op "
                                 "other than none)",
                                 sp->name, cell_name[ci], e, x->op);
            }
            for (int j = e - e % m; j < e; j++) {
                if (c->edges[j].src == x->src) {
                    return nas_error(NAS_EINVAL, "space %s: %s cell node %d takes input %d twice",
                                     sp->name, cell_name[ci], x->dst, x->src);
                }
            }
        }
    }
    return NAS_OK;
}

typedef struct cand {
    int cell, edge, is_src, value;
} cand;

nas_status nas_i_darts_mutate(const nas_space *sp, const nas_arch *p, nas_rng *rng,
                              nas_arch *child) {
    cand cands[2 * NAS_CELL_MAX_EDGES * (NAS_SPACE_MAX_OPS + NAS_CELL_MAX_NODES)];
    int n = 0, m = sp->inputs_per_node;
    for (int ci = 0; ci < 2; ci++) {
        const nas_cell *c = &p->cell[ci];
        for (int e = 0; e < c->n_edges; e++) {
            const nas_edge *x = &c->edges[e];
            for (int op = 0; op < sp->n_ops; op++) {
                if (op != x->op && !is_none(sp, op)) {
                    cands[n++] = (cand){ci, e, 0, op};
                }
            }
            for (int s = 0; s < x->dst; s++) {
                bool used = false;
                for (int j = e - e % m; j < e - e % m + m; j++) {
                    used = used || c->edges[j].src == s;
                }
                if (!used) {
                    cands[n++] = (cand){ci, e, 1, s};
                }
            }
        }
    }
    if (n == 0) {
        return nas_error(NAS_ENOTFOUND, "space %s: the arch has no valid one-edit neighbour",
                         sp->name);
    }
    cand k = cands[nas_rng_below(rng, (uint64_t)n)];
    *child = *p;
    nas_edge *x = &child->cell[k.cell].edges[k.edge];
    if (k.is_src) {
        x->src = k.value;
    } else {
        x->op = k.value;
    }
    return NAS_OK;
}

int nas_i_darts_distance(const nas_space *sp, const nas_arch *a, const nas_arch *b) {
    (void)sp;
    int d = 0;
    for (int ci = 0; ci < 2; ci++) {
        for (int e = 0; e < a->cell[ci].n_edges; e++) {
            d += a->cell[ci].edges[e].src != b->cell[ci].edges[e].src;
            d += a->cell[ci].edges[e].op != b->cell[ci].edges[e].op;
        }
    }
    return d;
}

nas_status nas_i_darts_enumerate(const nas_space *sp, nas_arch_visit_fn fn, void *user) {
    /* Mixed-radix digits, most significant first: per cell, per node, the source set (in
     * lexicographic order of ascending tuples), then each input's op. */
    int idx[NAS_SPACE_MAX_OPS];
    int q = real_ops(sp, idx);
    int k = sp->nodes, m = sp->inputs_per_node;
    int per_node = 1 + m, n_dig = 2 * k * per_node;
    int radix[2 * (NAS_CELL_MAX_NODES - 2) * 3], dig[2 * (NAS_CELL_MAX_NODES - 2) * 3];
    for (int ci = 0; ci < 2; ci++) {
        for (int i = 0; i < k; i++) {
            int base = (ci * k + i) * per_node;
            radix[base] = (int)choose(i + 2, m);
            for (int j = 0; j < m; j++) {
                radix[base + 1 + j] = q;
            }
        }
    }
    memset(dig, 0, sizeof dig);
    nas_arch a;
    frame(sp, &a);
    for (;;) {
        for (int ci = 0; ci < 2; ci++) {
            for (int i = 0; i < k; i++) {
                int base = (ci * k + i) * per_node;
                nas_edge *e = &a.cell[ci].edges[i * m];
                int r = dig[base];
                if (m == 1) {
                    e[0].src = r;
                } else {
                    /* r-th pair (s0 < s1) in lexicographic order. */
                    int s0 = 0, left = i + 2 - 1;
                    while (r >= left) {
                        r -= left;
                        s0++;
                        left--;
                    }
                    e[0].src = s0;
                    e[1].src = s0 + 1 + r;
                }
                for (int j = 0; j < m; j++) {
                    e[j].op = idx[dig[base + 1 + j]];
                }
            }
        }
        NAS_CHECK(fn(&a, user));
        int d = n_dig - 1;
        while (d >= 0 && dig[d] == radix[d] - 1) {
            dig[d] = 0;
            d--;
        }
        if (d < 0) {
            return NAS_OK;
        }
        dig[d]++;
    }
}

nas_status nas_i_darts_encode(const nas_space *sp, const nas_arch *a, nas_i_str *s) {
    static const char *const cell_name[2] = {"normal", "reduce"};
    nas_i_str_puts(s, "Genotype(");
    for (int ci = 0; ci < 2; ci++) {
        const nas_cell *c = &a->cell[ci];
        nas_i_str_printf(s, "%s%s=[", ci ? ", " : "", cell_name[ci]);
        for (int e = 0; e < c->n_edges; e++) {
            nas_i_str_printf(s, "%s('%s', %d)", e ? ", " : "",
                             nas_cell_op_name(sp->ops[c->edges[e].op]), c->edges[e].src);
        }
        nas_i_str_printf(s, "], %s_concat=[", cell_name[ci]);
        for (int i = 0; i < c->n_concat; i++) {
            nas_i_str_printf(s, "%s%d", i ? ", " : "", c->concat[i]);
        }
        nas_i_str_puts(s, "]");
    }
    nas_i_str_puts(s, ")");
    return NAS_OK;
}

/* ---- decoding ------------------------------------------------------------------------------- */

typedef struct cursor {
    const nas_space *sp;
    const char *t;
    size_t pos;
} cursor;

static void skip_ws(cursor *c) {
    while (c->t[c->pos] == ' ' || c->t[c->pos] == '\t' || c->t[c->pos] == '\n' ||
           c->t[c->pos] == '\r') {
        c->pos++;
    }
}

static const char *found(const cursor *c, char buf[24]) {
    if (!c->t[c->pos]) {
        return "end of string";
    }
    snprintf(buf, 24, "'%c'", c->t[c->pos]);
    return buf;
}

/* Expect character ch (after optional whitespace). */
static nas_status expect(cursor *c, char ch, const char *what) {
    skip_ws(c);
    if (c->t[c->pos] != ch) {
        char fb[24];
        return nas_i_parse_error(c->sp, c->t, c->pos, "expected '%c' %s, found %s", ch, what,
                                 found(c, fb));
    }
    c->pos++;
    return NAS_OK;
}

/* Expect identifier `word` (after optional whitespace). */
static nas_status expect_word(cursor *c, const char *word, const char *hint) {
    skip_ws(c);
    size_t n = 0;
    while ((c->t[c->pos + n] >= 'a' && c->t[c->pos + n] <= 'z') ||
           (c->t[c->pos + n] >= 'A' && c->t[c->pos + n] <= 'Z') || c->t[c->pos + n] == '_') {
        n++;
    }
    if (n != strlen(word) || memcmp(c->t + c->pos, word, n) != 0) {
        if (n == 0) {
            char fb[24];
            return nas_i_parse_error(c->sp, c->t, c->pos, "expected '%s'%s, found %s", word, hint,
                                     found(c, fb));
        }
        return nas_i_parse_error(c->sp, c->t, c->pos, "expected '%s'%s, found '%.*s'", word, hint,
                                 (int)n, c->t + c->pos);
    }
    c->pos += n;
    return NAS_OK;
}

static nas_status parse_int(cursor *c, int *out, const char *what) {
    skip_ws(c);
    size_t start = c->pos;
    long v = 0;
    while (c->t[c->pos] >= '0' && c->t[c->pos] <= '9' && c->pos - start < 6) {
        v = v * 10 + (c->t[c->pos] - '0');
        c->pos++;
    }
    if (c->pos == start) {
        char fb[24];
        return nas_i_parse_error(c->sp, c->t, c->pos, "expected %s (an integer), found %s", what,
                                 found(c, fb));
    }
    *out = (int)v;
    return NAS_OK;
}

static nas_status parse_cell(cursor *c, const char *name, nas_cell *cell) {
    const nas_space *sp = c->sp;
    int m = sp->inputs_per_node, want = sp->nodes * m;
    size_t pos_of[NAS_CELL_MAX_EDGES];
    NAS_CHECK(expect(c, '[', "opening the list of (op, input) pairs"));
    int n = 0;
    skip_ws(c);
    while (c->t[c->pos] != ']') {
        if (n > 0) {
            NAS_CHECK(expect(c, ',', "or ']' between (op, input) pairs"));
        }
        skip_ws(c);
        if (n == want) {
            return nas_i_parse_error(sp, c->t, c->pos,
                                     "%s has more than %d (op, input) pairs (space %s: %d nodes x "
                                     "%d inputs)",
                                     name, want, sp->name, sp->nodes, m);
        }
        pos_of[n] = c->pos;
        NAS_CHECK(expect(c, '(', "opening an (op, input) pair"));
        skip_ws(c);
        char quote = c->t[c->pos];
        if (quote != '\'' && quote != '"') {
            char fb[24];
            return nas_i_parse_error(sp, c->t, c->pos, "expected a quoted op name, found %s",
                                     found(c, fb));
        }
        c->pos++;
        size_t len;
        int op = nas_i_match_op(sp, c->t + c->pos, &len);
        if (op < 0 || c->t[c->pos + len] != quote) {
            size_t end = len;
            while (c->t[c->pos + end] && c->t[c->pos + end] != quote) {
                end++;
            }
            char ops[400];
            nas_i_space_op_list(sp, ops, sizeof ops);
            return nas_i_parse_error(sp, c->t, c->pos, "unknown op '%.*s' (ops of space %s: %s)",
                                     (int)end, c->t + c->pos, sp->name, ops);
        }
        if (is_none(sp, op)) {
            return nas_i_parse_error(sp, c->t, c->pos,
                                     "op 'none' never appears in a discrete DARTS genotype");
        }
        c->pos += len + 1;
        NAS_CHECK(expect(c, ',', "between the op and its input node"));
        int src;
        NAS_CHECK(parse_int(c, &src, "the input node"));
        NAS_CHECK(expect(c, ')', "closing the (op, input) pair"));
        nas_edge *e = &cell->edges[n];
        e->op = op;
        e->src = src;
        n++;
        skip_ws(c);
    }
    if (n != want) {
        return nas_i_parse_error(sp, c->t, c->pos,
                                 "%s has %d (op, input) pairs; space %s needs %d (%d nodes x %d "
                                 "inputs)",
                                 name, n, sp->name, want, sp->nodes, m);
    }
    c->pos++; /* ']' */
    for (int p = 0; p < n; p++) {
        int dst = 2 + p / m;
        const nas_edge *e = &cell->edges[p];
        if (e->src >= dst) {
            return nas_i_parse_error(sp, c->t, pos_of[p],
                                     "%s pair %d feeds node %d, whose inputs must be nodes 0..%d; "
                                     "found input %d",
                                     name, p, dst, dst - 1, e->src);
        }
        for (int j = p - p % m; j < p; j++) {
            if (cell->edges[j].src == e->src) {
                return nas_i_parse_error(sp, c->t, pos_of[p],
                                         "%s pairs %d and %d both feed input %d into node %d "
                                         "(the inputs of a node must differ)",
                                         name, j, p, e->src, dst);
            }
        }
    }
    return NAS_OK;
}

static nas_status parse_concat(cursor *c, const char *name, const nas_cell *cell) {
    const nas_space *sp = c->sp;
    skip_ws(c);
    size_t start = c->pos;
    int vals[NAS_CELL_MAX_NODES + 1], n = 0;
    if (c->t[c->pos] == 'r') {
        /* range(a, b), as DARTS' model_search.genotype() writes it. */
        NAS_CHECK(expect_word(c, "range", " or '['"));
        NAS_CHECK(expect(c, '(', "after 'range'"));
        int a, b;
        NAS_CHECK(parse_int(c, &a, "the range start"));
        NAS_CHECK(expect(c, ',', "in range(start, stop)"));
        NAS_CHECK(parse_int(c, &b, "the range stop"));
        NAS_CHECK(expect(c, ')', "closing range(start, stop)"));
        for (int v = a; v < b && n <= NAS_CELL_MAX_NODES; v++) {
            vals[n++] = v;
        }
    } else {
        NAS_CHECK(expect(c, '[', "opening the concat list"));
        skip_ws(c);
        while (c->t[c->pos] != ']') {
            if (n > 0) {
                NAS_CHECK(expect(c, ',', "or ']' in the concat list"));
            }
            if (n > NAS_CELL_MAX_NODES) {
                break;
            }
            NAS_CHECK(parse_int(c, &vals[n], "a node number"));
            n++;
            skip_ws(c);
        }
        if (c->t[c->pos] == ']') {
            c->pos++;
        }
    }
    bool ok = n == cell->n_concat;
    for (int i = 0; ok && i < n; i++) {
        ok = vals[i] == cell->concat[i];
    }
    if (!ok) {
        return nas_i_parse_error(sp, c->t, start,
                                 "%s_concat must list every intermediate node, [2, ..., %d], in "
                                 "space %s",
                                 name, sp->nodes + 1, sp->name);
    }
    return NAS_OK;
}

nas_status nas_i_darts_decode(const nas_space *sp, const char *text, nas_arch *out) {
    static const char *const cell_name[2] = {"normal", "reduce"};
    frame(sp, out);
    cursor c = {sp, text, 0};
    NAS_CHECK(expect_word(&c, "Genotype", ""));
    NAS_CHECK(expect(&c, '(', "after 'Genotype'"));
    for (int ci = 0; ci < 2; ci++) {
        char concat[32];
        snprintf(concat, sizeof concat, "%s_concat", cell_name[ci]);
        if (ci) {
            NAS_CHECK(expect(&c, ',', "between Genotype fields"));
        }
        NAS_CHECK(expect_word(&c, cell_name[ci],
                              " (the fields are normal, normal_concat, reduce, reduce_concat)"));
        NAS_CHECK(expect(&c, '=', "after the field name"));
        NAS_CHECK(parse_cell(&c, cell_name[ci], &out->cell[ci]));
        NAS_CHECK(expect(&c, ',', "between Genotype fields"));
        NAS_CHECK(expect_word(&c, concat,
                              " (the fields are normal, normal_concat, reduce, reduce_concat)"));
        NAS_CHECK(expect(&c, '=', "after the field name"));
        NAS_CHECK(parse_concat(&c, cell_name[ci], &out->cell[ci]));
    }
    NAS_CHECK(expect(&c, ')', "closing Genotype("));
    skip_ws(&c);
    if (text[c.pos]) {
        char fb[24];
        return nas_i_parse_error(sp, text, c.pos, "expected the end of the string, found %s",
                                 found(&c, fb));
    }
    return NAS_OK;
}
