/*
 * Macro space (kind macro): a chain of stages of MobileNet-style inverted-residual blocks, each
 * stage choosing its depth, width, kernel size and expansion ratio from the lists in the space
 * file. Sampling, one-edit mutation, enumeration, membership and the `d2-w24-k5-e6|...` codec.
 */
#include "space-impl.h"

#include <stdio.h>
#include <string.h>

enum { F_DEPTH, F_WIDTH, F_KERNEL, F_EXPANSION, N_FIELDS };

static const char field_letter[N_FIELDS] = {'d', 'w', 'k', 'e'};
static const char *const field_name[N_FIELDS] = {"depth", "width", "kernel", "expansion"};

static const int *choices(const nas_macro_stage_space *s, int f, int *n) {
    switch (f) {
        case F_DEPTH:
            *n = s->n_depth;
            return s->depth;
        case F_WIDTH:
            *n = s->n_width;
            return s->width;
        case F_KERNEL:
            *n = s->n_kernel;
            return s->kernel;
        default:
            *n = s->n_expansion;
            return s->expansion;
    }
}

static int *field(nas_macro_stage *st, int f) {
    switch (f) {
        case F_DEPTH:
            return &st->depth;
        case F_WIDTH:
            return &st->width;
        case F_KERNEL:
            return &st->kernel;
        default:
            return &st->expansion;
    }
}

static int field_value(const nas_macro_stage *st, int f) {
    switch (f) {
        case F_DEPTH:
            return st->depth;
        case F_WIDTH:
            return st->width;
        case F_KERNEL:
            return st->kernel;
        default:
            return st->expansion;
    }
}

static void frame(const nas_space *sp, nas_arch *a) {
    nas_i_arch_init(sp, a);
    a->n_stages = sp->n_stages;
    for (int i = 0; i < sp->n_stages; i++) {
        const nas_macro_stage_space *s = &sp->stages[i];
        a->stage[i] =
            (nas_macro_stage){s->depth[0], s->width[0], s->kernel[0], s->expansion[0], s->stride};
    }
}

nas_status nas_i_macro_size(const nas_space *sp, uint64_t *n) {
    uint64_t total = 1;
    for (int i = 0; i < sp->n_stages; i++) {
        for (int f = 0; f < N_FIELDS; f++) {
            int cnt;
            choices(&sp->stages[i], f, &cnt);
            if (!nas_i_mul_u64(&total, (uint64_t)cnt)) {
                return nas_error(NAS_EUNSUPPORTED, "space %s has more than 2^64 members", sp->name);
            }
        }
    }
    *n = total;
    return NAS_OK;
}

nas_status nas_i_macro_sample(const nas_space *sp, nas_rng *rng, nas_arch *out) {
    frame(sp, out);
    for (int i = 0; i < sp->n_stages; i++) {
        for (int f = 0; f < N_FIELDS; f++) {
            int cnt;
            const int *v = choices(&sp->stages[i], f, &cnt);
            *field(&out->stage[i], f) = v[nas_rng_below(rng, (uint64_t)cnt)];
        }
    }
    return NAS_OK;
}

static int index_of(const int *v, int n, int x) {
    for (int i = 0; i < n; i++) {
        if (v[i] == x) {
            return i;
        }
    }
    return -1;
}

nas_status nas_i_macro_check(const nas_space *sp, const nas_arch *a) {
    if (a->n_cells != 0 || a->n_stages != sp->n_stages) {
        return nas_error(NAS_EINVAL,
                         "space %s: a macro arch has %d stages and no cells (has %d "
                         "stages, %d cells)",
                         sp->name, sp->n_stages, a->n_stages, a->n_cells);
    }
    for (int i = 0; i < sp->n_stages; i++) {
        if (a->stage[i].stride != sp->stages[i].stride) {
            return nas_error(NAS_EINVAL, "space %s: stage %d has stride %d, the space says %d",
                             sp->name, i, a->stage[i].stride, sp->stages[i].stride);
        }
        for (int f = 0; f < N_FIELDS; f++) {
            int cnt;
            const int *v = choices(&sp->stages[i], f, &cnt);
            if (index_of(v, cnt, field_value(&a->stage[i], f)) < 0) {
                return nas_error(NAS_EINVAL, "space %s: stage %d %s %d is not one of its choices",
                                 sp->name, i, field_name[f], field_value(&a->stage[i], f));
            }
        }
    }
    return NAS_OK;
}

nas_status nas_i_macro_mutate(const nas_space *sp, const nas_arch *p, nas_rng *rng,
                              nas_arch *child) {
    int cand[NAS_MACRO_MAX_STAGES * N_FIELDS * NAS_MACRO_MAX_CHOICES][3];
    int n = 0;
    for (int i = 0; i < sp->n_stages; i++) {
        for (int f = 0; f < N_FIELDS; f++) {
            int cnt;
            const int *v = choices(&sp->stages[i], f, &cnt);
            for (int j = 0; j < cnt; j++) {
                if (v[j] != field_value(&p->stage[i], f)) {
                    cand[n][0] = i;
                    cand[n][1] = f;
                    cand[n][2] = v[j];
                    n++;
                }
            }
        }
    }
    if (n == 0) {
        return nas_error(NAS_ENOTFOUND,
                         "space %s: every stage has a single choice per field, so "
                         "no arch has a neighbour",
                         sp->name);
    }
    int k = (int)nas_rng_below(rng, (uint64_t)n);
    *child = *p;
    *field(&child->stage[cand[k][0]], cand[k][1]) = cand[k][2];
    return NAS_OK;
}

int nas_i_macro_distance(const nas_space *sp, const nas_arch *a, const nas_arch *b) {
    int d = 0;
    for (int i = 0; i < sp->n_stages; i++) {
        for (int f = 0; f < N_FIELDS; f++) {
            d += field_value(&a->stage[i], f) != field_value(&b->stage[i], f);
        }
    }
    return d;
}

nas_status nas_i_macro_enumerate(const nas_space *sp, nas_arch_visit_fn fn, void *user) {
    int dig[NAS_MACRO_MAX_STAGES * N_FIELDS] = {0};
    int n_dig = sp->n_stages * N_FIELDS;
    nas_arch a;
    frame(sp, &a);
    for (;;) {
        for (int d = 0; d < n_dig; d++) {
            int cnt;
            const int *v = choices(&sp->stages[d / N_FIELDS], d % N_FIELDS, &cnt);
            *field(&a.stage[d / N_FIELDS], d % N_FIELDS) = v[dig[d]];
        }
        NAS_CHECK(fn(&a, user));
        int d = n_dig - 1;
        for (; d >= 0; d--) {
            int cnt;
            choices(&sp->stages[d / N_FIELDS], d % N_FIELDS, &cnt);
            if (dig[d] < cnt - 1) {
                break;
            }
            dig[d] = 0;
        }
        if (d < 0) {
            return NAS_OK;
        }
        dig[d]++;
    }
}

nas_status nas_i_macro_encode(const nas_space *sp, const nas_arch *a, nas_i_str *s) {
    for (int i = 0; i < sp->n_stages; i++) {
        const nas_macro_stage *st = &a->stage[i];
        nas_i_str_printf(s, "%sd%d-w%d-k%d-e%d", i ? "|" : "", st->depth, st->width, st->kernel,
                         st->expansion);
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

nas_status nas_i_macro_decode(const nas_space *sp, const char *text, nas_arch *out) {
    frame(sp, out);
    size_t pos = 0;
    char fb[16];
    for (int i = 0; i < sp->n_stages; i++) {
        if (i > 0) {
            if (text[pos] != '|') {
                return nas_i_parse_error(sp, text, pos,
                                         "expected '|' and stage %d (space %s has %d stages), "
                                         "found %s",
                                         i, sp->name, sp->n_stages, found(text, pos, fb));
            }
            pos++;
        }
        for (int f = 0; f < N_FIELDS; f++) {
            if (f > 0) {
                if (text[pos] != '-') {
                    return nas_i_parse_error(sp, text, pos,
                                             "expected '-' before the %s of stage "
                                             "%d, found %s",
                                             field_name[f], i, found(text, pos, fb));
                }
                pos++;
            }
            if (text[pos] != field_letter[f]) {
                return nas_i_parse_error(sp, text, pos,
                                         "expected '%c' (the %s of stage %d), found %s",
                                         field_letter[f], field_name[f], i, found(text, pos, fb));
            }
            pos++;
            size_t start = pos;
            long v = 0;
            while (text[pos] >= '0' && text[pos] <= '9' && pos - start < 6) {
                v = v * 10 + (text[pos] - '0');
                pos++;
            }
            if (pos == start || (text[start] == '0' && pos - start > 1)) {
                return nas_i_parse_error(sp, text, start,
                                         "expected the %s of stage %d as a number without leading "
                                         "zeros, found %s",
                                         field_name[f], i, found(text, start, fb));
            }
            int cnt;
            const int *vals = choices(&sp->stages[i], f, &cnt);
            if (index_of(vals, cnt, (int)v) < 0) {
                char list[128];
                size_t off = 0;
                list[0] = '\0';
                for (int j = 0; j < cnt && off < sizeof list; j++) {
                    int w = snprintf(list + off, sizeof list - off, "%s%d", j ? ", " : "", vals[j]);
                    off += w > 0 ? (size_t)w : 0;
                }
                return nas_i_parse_error(
                    sp, text, start, "stage %d %s %ld is not a choice of space %s (choices: %s)", i,
                    field_name[f], v, sp->name, list);
            }
            *field(&out->stage[i], f) = (int)v;
        }
    }
    if (text[pos] != '\0') {
        return nas_i_parse_error(sp, text, pos,
                                 "expected the end of the string after %d stages, found %s",
                                 sp->n_stages, found(text, pos, fb));
    }
    return NAS_OK;
}
