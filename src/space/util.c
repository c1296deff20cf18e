/*
 * Small helpers of the space module: a growable string, an open-addressing set of 16-byte
 * digests (for counting canonical classes), parse-error messages with position and excerpt,
 * op-name matching and overflow-checked multiplication.
 */
#include "space-impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- growable string ------------------------------------------------------------------------ */

static bool str_reserve(nas_i_str *s, size_t extra) {
    if (s->oom) {
        return false;
    }
    size_t need = s->len + extra + 1;
    if (need <= s->cap) {
        return true;
    }
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    char *p = nas_realloc(s->p, cap);
    if (!p) {
        s->oom = true;
        return false;
    }
    s->p = p;
    s->cap = cap;
    return true;
}

void nas_i_str_append(nas_i_str *s, const char *text, size_t n) {
    if (!str_reserve(s, n)) {
        return;
    }
    memcpy(s->p + s->len, text, n);
    s->len += n;
    s->p[s->len] = '\0';
}

void nas_i_str_puts(nas_i_str *s, const char *text) {
    nas_i_str_append(s, text, strlen(text));
}

void nas_i_str_printf(nas_i_str *s, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        nas_i_str_append(s, small, (size_t)n);
        return;
    }
    if (!str_reserve(s, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void nas_i_str_free(nas_i_str *s) {
    nas_free(s->p);
    memset(s, 0, sizeof *s);
}

nas_status nas_i_str_copy_out(const nas_i_str *s, char *buf, size_t cap, const char *what) {
    if (s->oom) {
        return nas_error(NAS_ENOMEM, "%s: out of memory", what);
    }
    if (s->len + 1 > cap) {
        return nas_error(NAS_EINVAL, "%s: buffer of %zu bytes is too small (%zu needed)", what, cap,
                         s->len + 1);
    }
    memcpy(buf, s->p ? s->p : "", s->len + 1);
    return NAS_OK;
}

/* ---- digest set ----------------------------------------------------------------------------- */

nas_status nas_i_digest_set_init(nas_i_digest_set *s, size_t expected) {
    memset(s, 0, sizeof *s);
    size_t cap = 1024;
    while (cap < 2 * expected) {
        cap *= 2;
    }
    s->keys = nas_malloc(cap * sizeof *s->keys);
    s->used = nas_calloc(cap, 1);
    if (!s->keys || !s->used) {
        nas_i_digest_set_free(s);
        return nas_error(NAS_ENOMEM, "digest set of %zu slots: out of memory", cap);
    }
    s->cap = cap;
    return NAS_OK;
}

static size_t digest_slot(const uint8_t key[16], size_t mask) {
    uint64_t h = 0;
    memcpy(&h, key, sizeof h);
    return (size_t)(h & mask);
}

static nas_status digest_set_grow(nas_i_digest_set *s) {
    nas_i_digest_set bigger;
    NAS_CHECK(nas_i_digest_set_init(&bigger, s->cap));
    for (size_t i = 0; i < s->cap; i++) {
        if (s->used[i]) {
            size_t j = digest_slot(s->keys[i], bigger.cap - 1);
            while (bigger.used[j]) {
                j = (j + 1) & (bigger.cap - 1);
            }
            memcpy(bigger.keys[j], s->keys[i], 16);
            bigger.used[j] = 1;
            bigger.n++;
        }
    }
    nas_i_digest_set_free(s);
    *s = bigger;
    return NAS_OK;
}

nas_status nas_i_digest_set_add(nas_i_digest_set *s, const uint8_t key[16], bool *added) {
    if (2 * (s->n + 1) > s->cap) {
        NAS_CHECK(digest_set_grow(s));
    }
    size_t j = digest_slot(key, s->cap - 1);
    while (s->used[j]) {
        if (memcmp(s->keys[j], key, 16) == 0) {
            *added = false;
            return NAS_OK;
        }
        j = (j + 1) & (s->cap - 1);
    }
    memcpy(s->keys[j], key, 16);
    s->used[j] = 1;
    s->n++;
    *added = true;
    return NAS_OK;
}

void nas_i_digest_set_free(nas_i_digest_set *s) {
    nas_free(s->keys);
    nas_free(s->used);
    memset(s, 0, sizeof *s);
}

/* ---- messages and op names ------------------------------------------------------------------ */

nas_status nas_i_parse_error(const nas_space *sp, const char *text, size_t pos, const char *fmt,
                             ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    size_t len = strlen(text);
    if (pos > len) {
        pos = len;
    }
    char excerpt[32];
    if (pos == len) {
        snprintf(excerpt, sizeof excerpt, "end of string");
        return nas_error(NAS_EFORMAT, "%s arch string, position %zu (at %s): %s", sp->name, pos,
                         excerpt, why);
    }
    size_t n = len - pos < 20 ? len - pos : 20;
    memcpy(excerpt, text + pos, n);
    excerpt[n] = '\0';
    return nas_error(NAS_EFORMAT, "%s arch string, position %zu (at '%s%s'): %s", sp->name, pos,
                     excerpt, len - pos > 20 ? "..." : "", why);
}

void nas_i_space_op_list(const nas_space *sp, char *buf, size_t cap) {
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < sp->n_ops && off < cap; i++) {
        int w = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", nas_cell_op_name(sp->ops[i]));
        if (w < 0) {
            break;
        }
        off += (size_t)w;
    }
}

static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int nas_i_match_op(const nas_space *sp, const char *text, size_t *len) {
    size_t n = 0;
    while (is_name_char(text[n])) {
        n++;
    }
    *len = n;
    for (int i = 0; i < sp->n_ops; i++) {
        const char *name = nas_cell_op_name(sp->ops[i]);
        if (strlen(name) == n && memcmp(name, text, n) == 0) {
            return i;
        }
    }
    return -1;
}

void nas_i_arch_init(const nas_space *sp, nas_arch *a) {
    memset(a, 0, sizeof *a);
    a->kind = sp->kind;
}

bool nas_i_mul_u64(uint64_t *acc, uint64_t x) {
    if (x != 0 && *acc > UINT64_MAX / x) {
        return false;
    }
    *acc *= x;
    return true;
}
