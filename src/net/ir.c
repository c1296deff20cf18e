/*
 * The net IR's life cycle: the builder the per-space compilers emit nodes into, the final
 * ordering (igraph topological sort of the emitted DAG, node ids renumbered to it), input/output
 * adjacency, levels, parameter slots and BN running-stat offsets, totals, shortest-path distances
 * for the GHN, lookups and names. The igraph graph stays with the net (private) so that
 * distances can be queried later; every igraph call holds nas_i_igraph_lock().
 */
#include "net-impl.h"
#include "space/space-impl.h"

#include <igraph.h>
#include <stdio.h>
#include <string.h>

struct nas_net_private {
    igraph_t g; /* one edge per (input, node) pair, repeats kept; vertex ids = node ids */
    bool have_g;
    int *in_ids;  /* [n_edges] storage of every node's in[] */
    int *out_ids; /* [n_edges] storage of every node's out[] */
};

/* ---- names ---------------------------------------------------------------------------------- */

static const char *const op_names[NAS_NET_OP_COUNT] = {
    [NAS_NET_INPUT] = "input", [NAS_NET_CONV] = "conv",       [NAS_NET_BN] = "bn",
    [NAS_NET_RELU] = "relu",   [NAS_NET_AVGPOOL] = "avgpool", [NAS_NET_MAXPOOL] = "maxpool",
    [NAS_NET_SUM] = "sum",     [NAS_NET_CONCAT] = "concat",   [NAS_NET_SLICE] = "slice",
    [NAS_NET_ZERO] = "zero",   [NAS_NET_GAP] = "gap",         [NAS_NET_LINEAR] = "linear",
};

_Static_assert(NAS_NET_OP_COUNT == 12, "name the new net op in op_names");

const char *nas_net_op_name(nas_net_op op) {
    if ((int)op < 0 || op >= NAS_NET_OP_COUNT) {
        return "?";
    }
    return op_names[op];
}

const char *nas_net_role_name(nas_net_role role) {
    switch (role) {
        case NAS_NET_WEIGHT:
            return "weight";
        case NAS_NET_BIAS:
            return "bias";
        case NAS_NET_GAMMA:
            return "gamma";
        case NAS_NET_BETA:
            return "beta";
    }
    return "?";
}

nas_net_config nas_net_config_default(void) {
    nas_net_config c;
    memset(&c, 0, sizeof c);
    c.in_c = 1;
    c.in_h = 28;
    c.in_w = 28;
    c.classes = 10;
    return c;
}

/* ---- builder -------------------------------------------------------------------------------- */

void nas_i_scope(nas_i_builder *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->scope, sizeof b->scope, fmt, ap);
    va_end(ap);
}

int nas_i_bfail(nas_i_builder *b, nas_status s, const char *suffix, const char *fmt, ...) {
    if (b->st != NAS_OK) {
        return -1;
    }
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->st = nas_error(s, "%s: %s%s%s: %s", b->what, b->scope, b->scope[0] && suffix[0] ? "." : "",
                      suffix, msg);
    return -1;
}

int nas_i_push(nas_i_builder *b, nas_net_op op, const char *suffix, const int *in, int n_in,
               nas_net_node **nd) {
    if (b->st != NAS_OK) {
        return -1;
    }
    nas_net *net = b->net;
    for (int i = 0; i < n_in; i++) {
        if (in[i] < 0 || in[i] >= net->n_nodes) {
            /* -1 means an earlier emit failed (b->st is set then); anything else is a bug */
            NAS_ASSERT(in[i] == -1);
            return -1;
        }
    }
    if (net->n_nodes == b->cap_nodes) {
        int cap = b->cap_nodes ? 2 * b->cap_nodes : 64;
        nas_net_node *nodes = nas_realloc(net->nodes, (size_t)cap * sizeof *nodes);
        if (nodes) {
            net->nodes = nodes;
        }
        int *off = nas_realloc(b->in_off, (size_t)cap * sizeof *off);
        if (off) {
            b->in_off = off;
        }
        if (!nodes || !off) {
            b->st = nas_error(NAS_ENOMEM, "%s: cannot grow the node list to %d", b->what, cap);
            return -1;
        }
        b->cap_nodes = cap;
    }
    if (b->n_pool + n_in > b->cap_pool) {
        int cap = b->cap_pool ? 2 * b->cap_pool : 128;
        while (cap < b->n_pool + n_in) {
            cap *= 2;
        }
        int *pool = nas_realloc(b->in_pool, (size_t)cap * sizeof *pool);
        if (!pool) {
            b->st = nas_error(NAS_ENOMEM, "%s: cannot grow the edge list to %d", b->what, cap);
            return -1;
        }
        b->in_pool = pool;
        b->cap_pool = cap;
    }
    int id = net->n_nodes;
    nas_net_node *n = &net->nodes[id];
    memset(n, 0, sizeof *n);
    int len = snprintf(n->name, sizeof n->name, "%s%s%s", b->scope,
                       b->scope[0] && suffix[0] ? "." : "", suffix);
    if (len < 0 || (size_t)len >= sizeof n->name) {
        return nas_i_bfail(b, NAS_EINTERNAL, suffix, "node name longer than %d characters",
                           NAS_NET_NAME_MAX - 1);
    }
    n->op = op;
    n->n_in = n_in;
    n->slot = -1;
    n->bn_offset = -1;
    b->in_off[id] = b->n_pool;
    if (n_in > 0) {
        memcpy(b->in_pool + b->n_pool, in, (size_t)n_in * sizeof *in);
    }
    b->n_pool += n_in;
    net->n_nodes++;
    *nd = n;
    return id;
}

/* ---- finalisation --------------------------------------------------------------------------- */

/* Build the igraph graph of the emitted nodes and get igraph's topological order into order[]
 * (order[k] = emitted id of the k-th node). Caller holds the igraph lock. */
static nas_status igraph_order(nas_i_builder *b, igraph_t *g, int *order) {
    const nas_net *net = b->net;
    igraph_vector_int_t ev, res;
    if (igraph_vector_int_init(&ev, 2 * (igraph_integer_t)b->n_pool) != IGRAPH_SUCCESS) {
        return nas_error_wrap(NAS_ENOMEM, "%s: igraph edge vector", b->what);
    }
    igraph_integer_t e = 0;
    for (int v = 0; v < net->n_nodes; v++) {
        for (int i = 0; i < net->nodes[v].n_in; i++) {
            VECTOR(ev)[e++] = b->in_pool[b->in_off[v] + i];
            VECTOR(ev)[e++] = v;
        }
    }
    if (igraph_create(g, &ev, (igraph_integer_t)net->n_nodes, IGRAPH_DIRECTED) != IGRAPH_SUCCESS) {
        igraph_vector_int_destroy(&ev);
        return nas_error_wrap(NAS_EINTERNAL, "%s: building the igraph graph", b->what);
    }
    igraph_vector_int_destroy(&ev);
    nas_status st = NAS_OK;
    if (igraph_vector_int_init(&res, 0) != IGRAPH_SUCCESS) {
        st = nas_error_wrap(NAS_ENOMEM, "%s: igraph result vector", b->what);
    } else {
        if (igraph_topological_sorting(g, &res, IGRAPH_OUT) != IGRAPH_SUCCESS) {
            st = nas_error_wrap(NAS_EINTERNAL, "%s: topological sort", b->what);
        } else if (igraph_vector_int_size(&res) != net->n_nodes) {
            st = nas_error(NAS_EINTERNAL, "%s: the op graph has a cycle (%d of %d nodes sorted)",
                           b->what, (int)igraph_vector_int_size(&res), net->n_nodes);
        } else {
            for (int k = 0; k < net->n_nodes; k++) {
                order[k] = (int)VECTOR(res)[k];
            }
        }
        igraph_vector_int_destroy(&res);
    }
    igraph_destroy(g);
    return st;
}

/* The final graph over renumbered ids (kept for distance queries). Caller holds the lock. */
static nas_status igraph_final(nas_net *net) {
    nas_net_private *p = net->priv;
    igraph_vector_int_t ev;
    if (igraph_vector_int_init(&ev, 2 * (igraph_integer_t)net->n_edges) != IGRAPH_SUCCESS) {
        return nas_error_wrap(NAS_ENOMEM, "igraph edge vector");
    }
    igraph_integer_t e = 0;
    for (int v = 0; v < net->n_nodes; v++) {
        for (int i = 0; i < net->nodes[v].n_in; i++) {
            VECTOR(ev)[e++] = net->nodes[v].in[i];
            VECTOR(ev)[e++] = v;
        }
    }
    igraph_error_t rc = igraph_create(&p->g, &ev, (igraph_integer_t)net->n_nodes, IGRAPH_DIRECTED);
    igraph_vector_int_destroy(&ev);
    if (rc != IGRAPH_SUCCESS) {
        return nas_error_wrap(NAS_EINTERNAL, "building the igraph graph");
    }
    p->have_g = true;
    return NAS_OK;
}

/* Slots, BN offsets and totals, in node order. */
static nas_status assign_slots(nas_net *net) {
    int n_slots = 0;
    for (int v = 0; v < net->n_nodes; v++) {
        nas_net_node *n = &net->nodes[v];
        n_slots += n->op == NAS_NET_CONV                            ? 1
                   : n->op == NAS_NET_BN || n->op == NAS_NET_LINEAR ? 2
                                                                    : 0;
    }
    net->slots = nas_calloc((size_t)(n_slots ? n_slots : 1), sizeof *net->slots);
    if (!net->slots) {
        return nas_error(NAS_ENOMEM, "net: cannot allocate %d parameter slots", n_slots);
    }
    int s = 0;
    int64_t run = 0;
    for (int v = 0; v < net->n_nodes; v++) {
        nas_net_node *n = &net->nodes[v];
        net->n_params += n->n_params;
        net->macs += n->macs;
        int k = n->op == NAS_NET_CONV ? 1 : n->op == NAS_NET_BN || n->op == NAS_NET_LINEAR ? 2 : 0;
        if (!k) {
            continue;
        }
        n->slot = s;
        n->n_slots = k;
        for (int j = 0; j < k; j++) {
            nas_net_slot *sl = &net->slots[s + j];
            sl->node = v;
            for (int d = 0; d < 4; d++) {
                sl->shape[d] = 1;
            }
            if (n->op == NAS_NET_CONV) {
                sl->role = NAS_NET_WEIGHT;
                sl->ndim = 4;
                memcpy(sl->shape, n->wshape, sizeof sl->shape);
                sl->fan_in = n->wshape[1] * n->wshape[2] * n->wshape[3];
            } else if (n->op == NAS_NET_BN) {
                sl->role = j ? NAS_NET_BETA : NAS_NET_GAMMA;
                sl->ndim = 1;
                sl->shape[0] = n->shape[0];
            } else if (j == 0) {
                sl->role = NAS_NET_WEIGHT;
                sl->ndim = 2;
                sl->shape[0] = n->wshape[0];
                sl->shape[1] = n->wshape[1];
                sl->fan_in = n->wshape[1];
            } else {
                sl->role = NAS_NET_BIAS;
                sl->ndim = 1;
                sl->shape[0] = n->wshape[0];
            }
            sl->numel = sl->shape[0] * sl->shape[1] * sl->shape[2] * sl->shape[3];
            bool second = sl->role == NAS_NET_BIAS || sl->role == NAS_NET_BETA;
            snprintf(sl->name, sizeof sl->name, "%s.%s", n->name, second ? "bias" : "weight");
        }
        s += k;
        if (n->op == NAS_NET_BN) {
            n->bn_offset = run;
            run += 2 * n->shape[0];
        }
    }
    net->n_slots = n_slots;
    net->n_running = run;
    net->flops = 2 * net->macs;
    return NAS_OK;
}

/* Renumber the emitted nodes to igraph's topological order (the linear node moved last), build
 * in/out adjacency, levels, slots; keep the final igraph graph. */
static nas_status finalize(nas_i_builder *b) {
    nas_net *net = b->net;
    const int n = net->n_nodes;
    nas_status st = NAS_OK;
    int *order = nas_malloc((size_t)n * sizeof *order);
    int *pos = nas_malloc((size_t)n * sizeof *pos);
    nas_net_node *nodes = nas_malloc((size_t)n * sizeof *nodes);
    int *count = nas_calloc((size_t)n + 1, sizeof *count);
    net->priv = nas_calloc(1, sizeof *net->priv);
    if (!order || !pos || !nodes || !count || !net->priv) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory finishing %d nodes", b->what, n);
        goto cleanup;
    }
    nas_net_private *p = net->priv;
    p->in_ids = nas_malloc((size_t)(b->n_pool ? b->n_pool : 1) * sizeof *p->in_ids);
    p->out_ids = nas_malloc((size_t)(b->n_pool ? b->n_pool : 1) * sizeof *p->out_ids);
    if (!p->in_ids || !p->out_ids) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory for %d edges", b->what, b->n_pool);
        goto cleanup;
    }
    igraph_t g;
    nas_i_igraph_lock();
    st = igraph_order(b, &g, order);
    nas_i_igraph_unlock();
    if (st != NAS_OK) {
        goto cleanup;
    }
    /* The classifier ends the order even when dead-end cell nodes would follow it. */
    for (int k = 0; k < n - 1; k++) {
        if (net->nodes[order[k]].op == NAS_NET_LINEAR) {
            int lin = order[k];
            memmove(order + k, order + k + 1, (size_t)(n - 1 - k) * sizeof *order);
            order[n - 1] = lin;
            break;
        }
    }
    for (int k = 0; k < n; k++) {
        pos[order[k]] = k;
    }
    /* nodes and in[] in the new numbering */
    int e = 0;
    for (int k = 0; k < n; k++) {
        int old = order[k];
        nodes[k] = net->nodes[old];
        nodes[k].in = p->in_ids + e;
        for (int i = 0; i < nodes[k].n_in; i++) {
            int src = pos[b->in_pool[b->in_off[old] + i]];
            NAS_ASSERT(src < k);
            p->in_ids[e++] = src;
            count[src]++;
        }
    }
    net->n_edges = e;
    nas_free(net->nodes);
    net->nodes = nodes;
    nodes = NULL;
    /* out[]: consumers in ascending id order; count[] becomes each node's start offset */
    int off = 0;
    for (int v = 0; v < n; v++) {
        net->nodes[v].out = p->out_ids + off;
        net->nodes[v].n_out = 0;
        int c = count[v];
        count[v] = off;
        off += c;
    }
    for (int v = 0; v < n; v++) {
        nas_net_node *nd = &net->nodes[v];
        int level = 0;
        for (int i = 0; i < nd->n_in; i++) {
            nas_net_node *src = &net->nodes[nd->in[i]];
            p->out_ids[count[nd->in[i]] + src->n_out++] = v;
            level = src->level + 1 > level ? src->level + 1 : level;
        }
        nd->level = level;
        net->n_levels = level + 1 > net->n_levels ? level + 1 : net->n_levels;
    }
    net->output = n - 1;
    NAS_TRY(assign_slots(net));
    nas_i_igraph_lock();
    st = igraph_final(net);
    nas_i_igraph_unlock();
cleanup:
    nas_free(order);
    nas_free(pos);
    nas_free(nodes);
    nas_free(count);
    return st;
}

void nas_net_free(nas_net *net) {
    if (!net) {
        return;
    }
    if (net->priv) {
        if (net->priv->have_g) {
            nas_i_igraph_lock();
            igraph_destroy(&net->priv->g);
            nas_i_igraph_unlock();
        }
        nas_free(net->priv->in_ids);
        nas_free(net->priv->out_ids);
        nas_free(net->priv);
    }
    nas_free(net->nodes);
    nas_free(net->slots);
    memset(net, 0, sizeof *net);
}

/* ---- compile -------------------------------------------------------------------------------- */

nas_status nas_i_skel_int(const nas_space *sp, const char *key, long dflt, long lo, long hi,
                          long *out) {
    long v = dflt;
    nas_status st = nas_space_skeleton_int(sp, key, &v);
    if (st == NAS_ENOTFOUND) {
        nas_error_clear();
        v = dflt;
    } else if (st != NAS_OK) {
        return nas_error(NAS_EINVAL, "%s: skeleton entry '%s' must be an integer", sp->path, key);
    }
    if (v < lo || v > hi) {
        return nas_error(NAS_EINVAL, "%s: skeleton entry '%s' must be in [%ld, %ld], got %ld",
                         sp->path, key, lo, hi, v);
    }
    *out = v;
    return NAS_OK;
}

nas_status nas_i_skel_expect(const nas_space *sp, const char *key, const char *want) {
    const char *v = NULL;
    nas_status st = nas_space_skeleton_str(sp, key, &v);
    if (st == NAS_ENOTFOUND) {
        nas_error_clear();
        return NAS_OK;
    }
    if (st != NAS_OK || strcmp(v, want) != 0) {
        return nas_error(NAS_EUNSUPPORTED,
                         "%s: skeleton entry '%s' must be \"%s\" (the only one the %s compiler "
                         "knows)%s%s",
                         sp->path, key, want, nas_space_kind_name(sp->kind), v ? ", got " : "",
                         v ? v : "");
    }
    return NAS_OK;
}

static nas_status check_config(const nas_net_config *c) {
    struct {
        const char *name;
        int v, lo, hi;
    } f[] = {{"C", c->C, 0, 4096},       {"N", c->N, 0, 64},
             {"in_c", c->in_c, 0, 4096}, {"in_h", c->in_h, 0, 8192},
             {"in_w", c->in_w, 0, 8192}, {"classes", c->classes, 0, 1 << 20}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].v < f[i].lo || f[i].v > f[i].hi) {
            return nas_error(NAS_EINVAL, "net config: %s must be in [%d, %d] (0 = default), got %d",
                             f[i].name, f[i].lo, f[i].hi, f[i].v);
        }
    }
    return NAS_OK;
}

nas_status nas_net_compile(nas_net *net, const nas_space *sp, const nas_arch *a,
                           const nas_net_config *cfg) {
    if (!net) {
        return nas_error(NAS_EINVAL, "net compile: net is NULL");
    }
    memset(net, 0, sizeof *net);
    if (!sp || !a) {
        return nas_error(NAS_EINVAL, "net compile: space or arch is NULL");
    }
    nas_net_config c = cfg ? *cfg : nas_net_config_default();
    NAS_CHECK(check_config(&c));
    nas_net_config d = nas_net_config_default();
    c.in_c = c.in_c ? c.in_c : d.in_c;
    c.in_h = c.in_h ? c.in_h : d.in_h;
    c.in_w = c.in_w ? c.in_w : d.in_w;
    c.classes = c.classes ? c.classes : d.classes;
    if (a->kind != sp->kind) {
        return nas_error(NAS_EINVAL, "net compile: the arch is of kind %s, space %s is %s",
                         nas_space_kind_name(a->kind), sp->name, nas_space_kind_name(sp->kind));
    }
    nas_status st = nas_arch_check(sp, a);
    if (st != NAS_OK) {
        return nas_error_wrap(NAS_EINVAL, "net compile: the arch is not a member of space %s",
                              sp->name);
    }
    net->kind = sp->kind;
    snprintf(net->space, sizeof net->space, "%s", sp->name);
    st = nas_arch_encode(sp, a, net->arch, sizeof net->arch);
    if (st != NAS_OK) {
        return st;
    }
    net->cfg = c;
    char what[160];
    snprintf(what, sizeof what, "%s net (input %dx%dx%d)", sp->name, c.in_c, c.in_h, c.in_w);
    nas_i_builder b;
    memset(&b, 0, sizeof b);
    b.net = net;
    b.what = what;
    nas_i_input(&b, c.in_c, c.in_h, c.in_w);
    switch (sp->kind) {
        case NAS_SPACE_NB201:
            st = nas_i_compile_nb201(&b, sp, a);
            break;
        case NAS_SPACE_NB101:
            st = nas_i_compile_nb101(&b, sp, a);
            break;
        case NAS_SPACE_DARTS:
            st = nas_i_compile_darts(&b, sp, a);
            break;
        case NAS_SPACE_MACRO:
            st = nas_i_compile_macro(&b, sp, a);
            break;
        default:
            st = nas_error(NAS_EUNSUPPORTED, "net compile: space kind %d has no compiler",
                           (int)sp->kind);
    }
    if (st == NAS_OK) {
        st = b.st;
    }
    if (st == NAS_OK && (net->n_nodes < 2 || net->nodes[net->n_nodes - 1].op != NAS_NET_LINEAR)) {
        st = nas_error(NAS_EINTERNAL, "%s: the compiler did not end with the classifier", what);
    }
    if (st == NAS_OK) {
        st = finalize(&b);
    }
    nas_free(b.in_pool);
    nas_free(b.in_off);
    if (st != NAS_OK) {
        nas_net_free(net);
    }
    return st;
}

/* ---- queries -------------------------------------------------------------------------------- */

int nas_net_find(const nas_net *net, const char *name) {
    for (int v = 0; v < net->n_nodes; v++) {
        if (strcmp(net->nodes[v].name, name) == 0) {
            return v;
        }
    }
    return -1;
}

nas_status nas_net_distances(const nas_net *net, int max_dist, int32_t *dist) {
    if (!net || !net->priv || !net->priv->have_g || !dist) {
        return nas_error(NAS_EINVAL, "net distances: no compiled net or no output buffer");
    }
    const int n = net->n_nodes;
    nas_status st = NAS_OK;
    igraph_matrix_t m;
    nas_i_igraph_lock();
    if (igraph_matrix_init(&m, 0, 0) != IGRAPH_SUCCESS) {
        nas_i_igraph_unlock();
        return nas_error_wrap(NAS_ENOMEM, "net distances: %d x %d matrix", n, n);
    }
    igraph_error_t rc =
        max_dist > 0
            ? igraph_distances_cutoff(&net->priv->g, &m, igraph_vss_all(), igraph_vss_all(),
                                      IGRAPH_OUT, (igraph_real_t)max_dist)
            : igraph_distances(&net->priv->g, &m, igraph_vss_all(), igraph_vss_all(), IGRAPH_OUT);
    if (rc != IGRAPH_SUCCESS) {
        st = nas_error_wrap(NAS_EINTERNAL, "net distances");
    } else {
        for (int u = 0; u < n; u++) {
            for (int v = 0; v < n; v++) {
                igraph_real_t d = MATRIX(m, u, v);
                bool ok = d == d && d < IGRAPH_INFINITY && (max_dist <= 0 || d <= max_dist);
                dist[(size_t)u * (size_t)n + (size_t)v] = ok ? (int32_t)d : 0;
            }
        }
    }
    igraph_matrix_destroy(&m);
    nas_i_igraph_unlock();
    return st;
}
