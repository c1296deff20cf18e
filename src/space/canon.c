/*
 * Canonical forms: the published keys (NB201 unique string, NB101 hash_module), the generic
 * igraph/BLISS canonical form of an arch's pruned op-level DAG, and counting distinct keys over
 * a whole space. The only file of src/space that includes igraph.h; igraph calls run under one
 * lock because the installed igraph is built without thread safety (IGRAPH_THREAD_SAFE 0).
 */
#include "space-impl.h"

#include <igraph.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- igraph lock and error forwarding ------------------------------------------------------- */

static pthread_mutex_t igraph_mu = PTHREAD_MUTEX_INITIALIZER;
static bool igraph_ready; /* guarded by igraph_mu */

/* igraph's default handler aborts; this one turns the error into the caller's nas message and
 * frees igraph's cleanup stack, as igraph_error_handler_ignore does. */
static void forward_igraph_error(const char *reason, const char *file, int line,
                                 igraph_error_t err) {
    nas_error(NAS_EINTERNAL, "igraph: %s (%s, at %s:%d)", reason, igraph_strerror(err), file, line);
    IGRAPH_FINALLY_FREE();
}

void nas_i_igraph_lock(void) {
    pthread_mutex_lock(&igraph_mu);
    if (!igraph_ready) {
        igraph_set_error_handler(forward_igraph_error);
        igraph_set_warning_handler(igraph_warning_handler_ignore);
        igraph_ready = true;
    }
}

void nas_i_igraph_unlock(void) {
    pthread_mutex_unlock(&igraph_mu);
}

/* ---- canonical digest of a coloured digraph ------------------------------------------------- */

static int cmp_edge(const void *a, const void *b) {
    const int *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* Canonical labelling by BLISS; then "n;colours in canonical order;sorted canonical edges"
 * hashed with MD5. Isomorphic coloured graphs give identical strings. */
static nas_status canon_digest(int n, const int *colour, int n_edges, const int *edges,
                               uint8_t digest[16]) {
    nas_status st = NAS_OK;
    igraph_vector_int_t ev, cv, lab;
    igraph_t g;
    bool have_ev = false, have_cv = false, have_lab = false, have_g = false;
    int *canon_edges = nas_malloc(sizeof(int) * 2 * (size_t)(n_edges > 0 ? n_edges : 1));
    int *canon_col = nas_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    nas_i_str s = {0};
    if (!canon_edges || !canon_col) {
        st = nas_error(NAS_ENOMEM, "canonical form: out of memory");
        goto cleanup;
    }
    nas_i_igraph_lock();
    if (igraph_vector_int_init(&ev, 2 * (igraph_integer_t)n_edges) != IGRAPH_SUCCESS) {
        goto igraph_fail;
    }
    have_ev = true;
    for (int i = 0; i < 2 * n_edges; i++) {
        VECTOR(ev)[i] = edges[i];
    }
    if (igraph_create(&g, &ev, (igraph_integer_t)n, IGRAPH_DIRECTED) != IGRAPH_SUCCESS) {
        goto igraph_fail;
    }
    have_g = true;
    if (igraph_vector_int_init(&cv, (igraph_integer_t)n) != IGRAPH_SUCCESS) {
        goto igraph_fail;
    }
    have_cv = true;
    for (int v = 0; v < n; v++) {
        VECTOR(cv)[v] = colour[v];
    }
    if (igraph_vector_int_init(&lab, 0) != IGRAPH_SUCCESS) {
        goto igraph_fail;
    }
    have_lab = true;
    if (igraph_canonical_permutation(&g, &cv, &lab, IGRAPH_BLISS_FL, NULL) != IGRAPH_SUCCESS) {
        goto igraph_fail;
    }
    /* lab[v] = position of vertex v in the canonical graph. */
    for (int v = 0; v < n; v++) {
        canon_col[VECTOR(lab)[v]] = colour[v];
    }
    for (int e = 0; e < n_edges; e++) {
        canon_edges[2 * e] = (int)VECTOR(lab)[edges[2 * e]];
        canon_edges[2 * e + 1] = (int)VECTOR(lab)[edges[2 * e + 1]];
    }
    goto igraph_done;
igraph_fail:
    st = nas_error_wrap(NAS_EINTERNAL, "canonical form of a %d-vertex graph", n);
igraph_done:
    if (have_lab) {
        igraph_vector_int_destroy(&lab);
    }
    if (have_cv) {
        igraph_vector_int_destroy(&cv);
    }
    if (have_g) {
        igraph_destroy(&g);
    }
    if (have_ev) {
        igraph_vector_int_destroy(&ev);
    }
    nas_i_igraph_unlock();
    if (st != NAS_OK) {
        goto cleanup;
    }
    qsort(canon_edges, (size_t)n_edges, 2 * sizeof(int), cmp_edge);
    nas_i_str_printf(&s, "%d;", n);
    for (int v = 0; v < n; v++) {
        nas_i_str_printf(&s, "%s%d", v ? "," : "", canon_col[v]);
    }
    nas_i_str_puts(&s, ";");
    for (int e = 0; e < n_edges; e++) {
        nas_i_str_printf(&s, "%s%d>%d", e ? "," : "", canon_edges[2 * e], canon_edges[2 * e + 1]);
    }
    if (s.oom) {
        st = nas_error(NAS_ENOMEM, "canonical form: out of memory");
        goto cleanup;
    }
    nas_i_md5(s.p, s.len, digest);
cleanup:
    nas_i_str_free(&s);
    nas_free(canon_edges);
    nas_free(canon_col);
    return st;
}

nas_status nas_i_cgraph_digest(const nas_i_cgraph *g, uint8_t digest[16]) {
    return canon_digest(g->n, g->colour, g->n_edges, &g->edge[0][0], digest);
}

nas_status nas_space_graph_canon_hash(int n_vertices, const int *colour, int n_edges,
                                      const int *edges, char hex[33]) {
    if (n_vertices < 0 || n_edges < 0 || (n_vertices > 0 && !colour) || (n_edges > 0 && !edges)) {
        return nas_error(NAS_EINVAL, "graph canonical hash: bad arguments (%d vertices, %d edges)",
                         n_vertices, n_edges);
    }
    for (int e = 0; e < 2 * n_edges; e++) {
        if (edges[e] < 0 || edges[e] >= n_vertices) {
            return nas_error(NAS_EINVAL,
                             "graph canonical hash: edge %d has endpoint %d outside [0, %d)", e / 2,
                             edges[e], n_vertices);
        }
    }
    uint8_t d[16];
    NAS_CHECK(canon_digest(n_vertices, colour, n_edges, edges, d));
    nas_i_hex(d, hex);
    return NAS_OK;
}

/* ---- op-level DAG of an arch ---------------------------------------------------------------- */

static int add_vertex(nas_i_cgraph *g, int colour) {
    NAS_ASSERT(g->n < NAS_I_CG_MAX_V);
    g->colour[g->n] = colour;
    return g->n++;
}

static void add_edge(nas_i_cgraph *g, int src, int dst) {
    NAS_ASSERT(g->n_edges < NAS_I_CG_MAX_E);
    g->edge[g->n_edges][0] = src;
    g->edge[g->n_edges][1] = dst;
    g->n_edges++;
}

/* Append to g the part of t on an input->output path (inputs: t vertices [0, n_inputs); output:
 * t vertex `output`). When the output is unreachable only the inputs and the output remain. */
static void prune_into(const nas_i_cgraph *t, int n_inputs, int output, nas_i_cgraph *g) {
    bool fwd[NAS_I_CG_MAX_V] = {false}, bwd[NAS_I_CG_MAX_V] = {false};
    for (int v = 0; v < n_inputs; v++) {
        fwd[v] = true;
    }
    bwd[output] = true;
    for (bool changed = true; changed;) {
        changed = false;
        for (int e = 0; e < t->n_edges; e++) {
            int s = t->edge[e][0], d = t->edge[e][1];
            if (fwd[s] && !fwd[d]) {
                fwd[d] = changed = true;
            }
            if (bwd[d] && !bwd[s]) {
                bwd[s] = changed = true;
            }
        }
    }
    bool alive = fwd[output];
    int map[NAS_I_CG_MAX_V];
    for (int v = 0; v < t->n; v++) {
        bool keep = alive ? fwd[v] && bwd[v] : (v < n_inputs || v == output);
        map[v] = keep ? add_vertex(g, t->colour[v]) : -1;
    }
    if (!alive) {
        return;
    }
    for (int e = 0; e < t->n_edges; e++) {
        int s = map[t->edge[e][0]], d = map[t->edge[e][1]];
        if (s >= 0 && d >= 0) {
            add_edge(g, s, d);
        }
    }
}

static void cell_cgraph(const nas_space *sp, const nas_cell *c, int off, nas_i_cgraph *g) {
    nas_i_cgraph t;
    t.n = t.n_edges = 0;
    /* Nodes first (inputs are nodes 0..n_inputs-1, as prune_into expects). */
    for (int v = 0; v < c->n_nodes; v++) {
        int op = c->node_op[v], col;
        if (op == NAS_NODE_INPUT) {
            col = v == 0 ? NAS_I_COL_INPUT0 : NAS_I_COL_INPUT1;
        } else if (op == NAS_NODE_OUTPUT) {
            col = NAS_I_COL_OUTPUT;
        } else if (op == NAS_NODE_SUM) {
            col = NAS_I_COL_SUM;
        } else {
            col = NAS_I_COL_OP + (int)sp->ops[op];
        }
        add_vertex(&t, col + off);
    }
    int output = c->n_nodes - 1;
    if (c->n_concat > 0) {
        output = add_vertex(&t, NAS_I_COL_CONCAT + off);
        for (int i = 0; i < c->n_concat; i++) {
            add_edge(&t, c->concat[i], output);
        }
    }
    for (int e = 0; e < c->n_edges; e++) {
        const nas_edge *x = &c->edges[e];
        if (x->op < 0) {
            add_edge(&t, x->src, x->dst);
        } else if (sp->ops[x->op] != NAS_CELL_OP_NONE) {
            int u = add_vertex(&t, NAS_I_COL_OP + (int)sp->ops[x->op] + off);
            add_edge(&t, x->src, u);
            add_edge(&t, u, x->dst);
        }
    }
    prune_into(&t, c->n_inputs, output, g);
}

nas_status nas_i_arch_cgraph(const nas_space *sp, const nas_arch *a, nas_i_cgraph *g) {
    g->n = g->n_edges = 0;
    if (sp->kind == NAS_SPACE_MACRO) {
        int prev = add_vertex(g, NAS_I_COL_INPUT0);
        for (int i = 0; i < a->n_stages; i++) {
            const nas_macro_stage *s = &a->stage[i];
            for (int b = 0; b < s->depth; b++) {
                int stride = b == 0 ? s->stride : 1;
                int col = NAS_I_COL_BLOCK + ((stride * 16 + s->kernel) * 32 + s->expansion) * 8192 +
                          s->width;
                int v = add_vertex(g, col);
                add_edge(g, prev, v);
                prev = v;
            }
        }
        add_edge(g, prev, add_vertex(g, NAS_I_COL_OUTPUT));
        return NAS_OK;
    }
    for (int ci = 0; ci < a->n_cells; ci++) {
        cell_cgraph(sp, &a->cell[ci], ci * NAS_I_COL_REDUCE, g);
    }
    return NAS_OK;
}

/* ---- keys ----------------------------------------------------------------------------------- */

nas_canon_kind nas_space_default_canon(const nas_space *sp) {
    return sp->kind == NAS_SPACE_NB201 || sp->kind == NAS_SPACE_NB101 ? NAS_CANON_PUBLISHED
                                                                      : NAS_CANON_IGRAPH;
}

static nas_status no_published(const nas_space *sp) {
    return nas_error(NAS_EUNSUPPORTED,
                     "space %s (kind %s) has no published isomorphism rule; use the igraph "
                     "canonical form",
                     sp->name, nas_space_kind_name(sp->kind));
}

/* Key of a member as text (into s) and/or a 16-byte digest. */
static nas_status key_of(const nas_space *sp, const nas_arch *a, nas_canon_kind kind,
                         nas_i_str *text, uint8_t digest[16]) {
    nas_i_str tmp = {0};
    nas_status st = NAS_OK;
    uint8_t d[16];
    switch (kind) {
        case NAS_CANON_TEXT:
            switch (sp->kind) {
                case NAS_SPACE_NB201:
                    st = nas_i_nb201_encode(sp, a, &tmp);
                    break;
                case NAS_SPACE_NB101:
                    st = nas_i_nb101_encode(sp, a, &tmp);
                    break;
                case NAS_SPACE_DARTS:
                    st = nas_i_darts_encode(sp, a, &tmp);
                    break;
                default:
                    st = nas_i_macro_encode(sp, a, &tmp);
                    break;
            }
            break;
        case NAS_CANON_PUBLISHED:
            if (sp->kind == NAS_SPACE_NB201) {
                st = nas_i_nb201_unique_str(sp, a, &tmp);
            } else if (sp->kind == NAS_SPACE_NB101) {
                /* The fingerprint is already a digest: no second MD5 over its text. */
                nas_i_nb101_hash(sp, a, d);
                char hex[33];
                nas_i_hex(d, hex);
                if (digest) {
                    memcpy(digest, d, 16);
                }
                if (text) {
                    nas_i_str_puts(text, hex);
                }
                return NAS_OK;
            } else {
                st = no_published(sp);
            }
            break;
        case NAS_CANON_IGRAPH: {
            nas_i_cgraph *g = nas_malloc(sizeof *g);
            if (!g) {
                return nas_error(NAS_ENOMEM, "canonical graph: out of memory");
            }
            st = nas_i_arch_cgraph(sp, a, g);
            if (st == NAS_OK) {
                st = nas_i_cgraph_digest(g, d);
            }
            nas_free(g);
            if (st == NAS_OK) {
                char hex[33];
                nas_i_hex(d, hex);
                if (digest) {
                    memcpy(digest, d, 16);
                }
                if (text) {
                    nas_i_str_puts(text, hex);
                }
            }
            return st;
        }
        default:
            return nas_error(NAS_EINVAL, "unknown canonical form %d", (int)kind);
    }
    if (st == NAS_OK && tmp.oom) {
        st = nas_error(NAS_ENOMEM, "canonical key: out of memory");
    }
    if (st == NAS_OK) {
        if (digest) {
            nas_i_md5(tmp.p ? tmp.p : "", tmp.len, digest);
        }
        if (text) {
            nas_i_str_append(text, tmp.p ? tmp.p : "", tmp.len);
        }
    }
    nas_i_str_free(&tmp);
    return st;
}

nas_status nas_arch_canon_key(const nas_space *sp, const nas_arch *a, nas_canon_kind kind,
                              char *buf, size_t cap) {
    NAS_CHECK(nas_arch_check(sp, a));
    nas_i_str s = {0};
    nas_status st = key_of(sp, a, kind, &s, NULL);
    if (st == NAS_OK) {
        st = nas_i_str_copy_out(&s, buf, cap, "canonical key");
    }
    nas_i_str_free(&s);
    return st;
}

/* ---- counting ------------------------------------------------------------------------------- */

#define COUNT_BATCH 2048

typedef struct count_ctx {
    const nas_space *sp;
    nas_canon_kind kind;
    bool valid_only;
    nas_i_digest_set set;
    uint64_t seen, counted;
    nas_progress *prog;
    nas_arch *batch;       /* [COUNT_BATCH] members waiting for their keys */
    uint8_t (*digest)[16]; /* [COUNT_BATCH] */
    nas_status *status;    /* [COUNT_BATCH] */
    int n_batch;
} count_ctx;

/* Keys of the batch in parallel (the igraph form serialises on its lock, so it stays serial),
 * then insertion in enumeration order. */
static nas_status count_flush(count_ctx *c) {
    int n = c->n_batch;
    bool par = c->kind != NAS_CANON_IGRAPH;
#pragma omp parallel for schedule(dynamic, 16) if (par)
    for (int i = 0; i < n; i++) {
        c->status[i] = key_of(c->sp, &c->batch[i], c->kind, NULL, c->digest[i]);
    }
    c->n_batch = 0;
    for (int i = 0; i < n; i++) {
        if (c->status[i] != NAS_OK) {
            /* Redo on this thread: the message of a worker thread is in its own buffer. */
            return key_of(c->sp, &c->batch[i], c->kind, NULL, c->digest[i]);
        }
        bool added;
        NAS_CHECK(nas_i_digest_set_add(&c->set, c->digest[i], &added));
        c->counted += added;
    }
    return NAS_OK;
}

static nas_status count_visit(const nas_arch *a, void *user) {
    count_ctx *c = user;
    c->seen++;
    if (c->prog && (c->seen & 4095) == 0) {
        nas_progress_update(c->prog, (int64_t)c->seen, "%llu distinct",
                            (unsigned long long)c->counted);
    }
    if (c->valid_only && c->sp->kind == NAS_SPACE_NB201 && !nas_i_nb201_valid(c->sp, a)) {
        return NAS_OK;
    }
    if (c->kind == NAS_CANON_TEXT) {
        c->counted++;
        return NAS_OK;
    }
    c->batch[c->n_batch++] = *a;
    return c->n_batch == COUNT_BATCH ? count_flush(c) : NAS_OK;
}

nas_status nas_space_count(const nas_space *sp, nas_canon_kind kind, bool valid_only,
                           nas_progress *prog, uint64_t *out) {
    uint64_t size;
    NAS_CHECK(nas_space_size(sp, &size));
    if (kind == NAS_CANON_PUBLISHED && sp->kind != NAS_SPACE_NB201 && sp->kind != NAS_SPACE_NB101) {
        return no_published(sp);
    }
    if ((int)kind < 0 || kind > NAS_CANON_IGRAPH) {
        return nas_error(NAS_EINVAL, "unknown canonical form %d", (int)kind);
    }
    if (kind == NAS_CANON_TEXT && !valid_only) {
        *out = size; /* every member has its own text */
        return NAS_OK;
    }
    if (size > NAS_SPACE_ENUM_LIMIT) {
        return nas_error(NAS_EUNSUPPORTED,
                         "space %s has %llu members; counting by enumeration is limited to %llu",
                         sp->name, (unsigned long long)size,
                         (unsigned long long)NAS_SPACE_ENUM_LIMIT);
    }
    count_ctx c;
    memset(&c, 0, sizeof c);
    c.sp = sp;
    c.kind = kind;
    c.valid_only = valid_only;
    c.prog = prog;
    nas_status st = NAS_OK;
    if (kind != NAS_CANON_TEXT) {
        c.batch = nas_malloc(COUNT_BATCH * sizeof *c.batch);
        c.digest = nas_malloc(COUNT_BATCH * sizeof *c.digest);
        c.status = nas_malloc(COUNT_BATCH * sizeof *c.status);
        if (!c.batch || !c.digest || !c.status) {
            st = nas_error(NAS_ENOMEM, "counting space %s: out of memory", sp->name);
            goto cleanup;
        }
        NAS_TRY(nas_i_digest_set_init(&c.set, size < (1u << 20) ? (size_t)size : 1u << 20));
    }
    if (prog) {
        nas_progress_begin(prog, "count", (int64_t)size);
    }
    st = nas_space_enumerate(sp, count_visit, &c);
    if (st == NAS_OK && c.n_batch > 0) {
        st = count_flush(&c);
    }
    if (prog) {
        nas_progress_update(prog, (int64_t)c.seen, "%llu distinct", (unsigned long long)c.counted);
        nas_progress_end(prog);
    }
    if (st == NAS_OK) {
        *out = c.counted;
    }
cleanup:
    nas_i_digest_set_free(&c.set);
    nas_free(c.batch);
    nas_free(c.digest);
    nas_free(c.status);
    return st;
}
