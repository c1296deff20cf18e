/*
 * Public genotype operations: argument checks, then dispatch on the space kind to nb201.c,
 * nb101.c, darts.c or macro.c (sample, mutate, check, enumerate, encode, decode, size, distance),
 * plus structural equality.
 */
#include "space-impl.h"

#include <string.h>

#define DISPATCH(sp, fn, ...)                                                                      \
    switch ((sp)->kind) {                                                                          \
        case NAS_SPACE_NB201:                                                                      \
            return nas_i_nb201_##fn(__VA_ARGS__);                                                  \
        case NAS_SPACE_NB101:                                                                      \
            return nas_i_nb101_##fn(__VA_ARGS__);                                                  \
        case NAS_SPACE_DARTS:                                                                      \
            return nas_i_darts_##fn(__VA_ARGS__);                                                  \
        case NAS_SPACE_MACRO:                                                                      \
            return nas_i_macro_##fn(__VA_ARGS__);                                                  \
        default:                                                                                   \
            break;                                                                                 \
    }

static nas_status bad_space(const nas_space *sp) {
    return nas_error(NAS_EINVAL, "space '%s' is not loaded (kind %d)", sp ? sp->name : "(null)",
                     sp ? (int)sp->kind : -1);
}

static bool space_ok(const nas_space *sp) {
    return sp && (int)sp->kind >= 0 && sp->kind < NAS_SPACE_KIND_COUNT && sp->name[0];
}

nas_status nas_space_size(const nas_space *sp, uint64_t *n) {
    if (!space_ok(sp)) {
        return bad_space(sp);
    }
    DISPATCH(sp, size, sp, n);
    return bad_space(sp);
}

nas_status nas_arch_sample(const nas_space *sp, nas_rng *rng, nas_arch *out) {
    if (!space_ok(sp)) {
        return bad_space(sp);
    }
    DISPATCH(sp, sample, sp, rng, out);
    return bad_space(sp);
}

nas_status nas_arch_check(const nas_space *sp, const nas_arch *a) {
    if (!space_ok(sp)) {
        return bad_space(sp);
    }
    if (a->kind != sp->kind) {
        return nas_error(NAS_EINVAL, "arch of kind %s does not belong to space %s (kind %s)",
                         nas_space_kind_name(a->kind), sp->name, nas_space_kind_name(sp->kind));
    }
    if (a->n_cells < 0 || a->n_cells > 2 || a->n_stages < 0 || a->n_stages > NAS_MACRO_MAX_STAGES) {
        return nas_error(NAS_EINVAL, "space %s: arch has %d cells and %d stages", sp->name,
                         a->n_cells, a->n_stages);
    }
    for (int ci = 0; ci < a->n_cells; ci++) {
        const nas_cell *c = &a->cell[ci];
        if (c->n_nodes < 0 || c->n_nodes > NAS_CELL_MAX_NODES || c->n_edges < 0 ||
            c->n_edges > NAS_CELL_MAX_EDGES || c->n_concat < 0 ||
            c->n_concat > NAS_CELL_MAX_NODES) {
            return nas_error(NAS_EINVAL, "space %s: cell %d has out-of-range counts", sp->name, ci);
        }
    }
    DISPATCH(sp, check, sp, a);
    return bad_space(sp);
}

bool nas_arch_is_valid(const nas_space *sp, const nas_arch *a) {
    if (nas_arch_check(sp, a) != NAS_OK) {
        return false;
    }
    return sp->kind != NAS_SPACE_NB201 || nas_i_nb201_valid(sp, a);
}

nas_status nas_arch_mutate(const nas_space *sp, const nas_arch *parent, nas_rng *rng,
                           nas_arch *child) {
    nas_status st = nas_arch_check(sp, parent);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "mutate");
    }
    DISPATCH(sp, mutate, sp, parent, rng, child);
    return bad_space(sp);
}

int nas_arch_distance(const nas_space *sp, const nas_arch *a, const nas_arch *b) {
    if (nas_arch_check(sp, a) != NAS_OK || nas_arch_check(sp, b) != NAS_OK) {
        return -1;
    }
    DISPATCH(sp, distance, sp, a, b);
    return -1;
}

nas_status nas_space_enumerate(const nas_space *sp, nas_arch_visit_fn fn, void *user) {
    if (!space_ok(sp)) {
        return bad_space(sp);
    }
    DISPATCH(sp, enumerate, sp, fn, user);
    return bad_space(sp);
}

static nas_status encode_str(const nas_space *sp, const nas_arch *a, nas_i_str *s) {
    DISPATCH(sp, encode, sp, a, s);
    return bad_space(sp);
}

nas_status nas_arch_encode(const nas_space *sp, const nas_arch *a, char *buf, size_t cap) {
    NAS_CHECK(nas_arch_check(sp, a));
    nas_i_str s = {0};
    nas_status st = encode_str(sp, a, &s);
    if (st == NAS_OK) {
        st = nas_i_str_copy_out(&s, buf, cap, "encoding an arch");
    }
    nas_i_str_free(&s);
    return st;
}

static nas_status decode_kind(const nas_space *sp, const char *text, nas_arch *out) {
    DISPATCH(sp, decode, sp, text, out);
    return bad_space(sp);
}

nas_status nas_arch_decode(const nas_space *sp, const char *text, nas_arch *out) {
    if (!space_ok(sp)) {
        return bad_space(sp);
    }
    if (!text) {
        return nas_error(NAS_EINVAL, "%s arch string is NULL", sp->name);
    }
    nas_status st = decode_kind(sp, text, out);
    if (st == NAS_OK) {
        st = nas_arch_check(sp, out); /* decoders build members; this guards the invariant */
    }
    if (st != NAS_OK) {
        nas_i_arch_init(sp, out);
    }
    return st;
}

bool nas_arch_equal(const nas_arch *a, const nas_arch *b) {
    if (a->kind != b->kind || a->n_cells != b->n_cells || a->n_stages != b->n_stages) {
        return false;
    }
    for (int ci = 0; ci < a->n_cells; ci++) {
        const nas_cell *x = &a->cell[ci], *y = &b->cell[ci];
        if (x->n_nodes != y->n_nodes || x->n_inputs != y->n_inputs || x->n_edges != y->n_edges ||
            x->n_concat != y->n_concat) {
            return false;
        }
        for (int v = 0; v < x->n_nodes; v++) {
            if (x->node_op[v] != y->node_op[v]) {
                return false;
            }
        }
        for (int i = 0; i < x->n_concat; i++) {
            if (x->concat[i] != y->concat[i]) {
                return false;
            }
        }
        for (int e = 0; e < x->n_edges; e++) {
            if (x->edges[e].src != y->edges[e].src || x->edges[e].dst != y->edges[e].dst ||
                x->edges[e].op != y->edges[e].op) {
                return false;
            }
        }
    }
    for (int i = 0; i < a->n_stages; i++) {
        const nas_macro_stage *x = &a->stage[i], *y = &b->stage[i];
        if (x->depth != y->depth || x->width != y->width || x->kernel != y->kernel ||
            x->expansion != y->expansion || x->stride != y->stride) {
            return false;
        }
    }
    return true;
}
