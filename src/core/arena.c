/*
 * Arena (bump) allocator.
 *
 * Blocks are chained newest-first. An allocation that does not fit opens a block at least twice
 * the previous one. nas_arena_reset() drops every block but keeps (or re-creates) a single one
 * sized for the peak usage seen, so a loop whose per-step usage is stable stops touching the heap
 * after its first step.
 */
#include "ghnas/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct nas_arena_block {
    nas_arena_block *next; /* older block */
    size_t cap;            /* usable bytes in data[] */
    size_t off;            /* bytes handed out from this block */
    unsigned char *data;   /* 64-byte aligned start */
    void *raw;             /* what to pass to free() */
};

static size_t align_up(size_t n) {
    return (n + (NAS_ARENA_ALIGN - 1)) & ~(size_t)(NAS_ARENA_ALIGN - 1);
}

static nas_arena_block *block_new(size_t cap) {
    nas_arena_block *b = nas_malloc(sizeof *b);
    if (!b) {
        return NULL;
    }
    b->raw = nas_malloc(cap + NAS_ARENA_ALIGN);
    if (!b->raw) {
        nas_free(b);
        return NULL;
    }
    uintptr_t p = ((uintptr_t)b->raw + NAS_ARENA_ALIGN - 1) & ~(uintptr_t)(NAS_ARENA_ALIGN - 1);
    b->data = (unsigned char *)p;
    b->cap = cap;
    b->off = 0;
    b->next = NULL;
    return b;
}

static void blocks_free(nas_arena_block *b) {
    while (b) {
        nas_arena_block *next = b->next;
        nas_free(b->raw);
        nas_free(b);
        b = next;
    }
}

nas_status nas_arena_init(nas_arena *a, size_t initial) {
    memset(a, 0, sizeof *a);
    a->min_block = 1 << 16;
    if (initial > 0) {
        a->head = block_new(align_up(initial));
        if (!a->head) {
            return nas_error(NAS_ENOMEM, "arena: cannot allocate %zu bytes", initial);
        }
    }
    return NAS_OK;
}

void *nas_arena_alloc(nas_arena *a, size_t bytes) {
    size_t need = align_up(bytes ? bytes : 1);
    nas_arena_block *b = a->head;
    if (!b || b->cap - b->off < need) {
        size_t cap = a->min_block;
        if (b && cap < 2 * b->cap) {
            cap = 2 * b->cap;
        }
        if (cap < need) {
            cap = need;
        }
        nas_arena_block *nb = block_new(cap);
        if (!nb) {
            nas_error(NAS_ENOMEM, "arena: cannot allocate a block of %zu bytes (%zu in use)", cap,
                      a->used);
            return NULL;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->off;
    b->off += need;
    a->used += need;
    if (a->used > a->peak) {
        a->peak = a->used;
    }
    return p;
}

void *nas_arena_calloc(nas_arena *a, size_t bytes) {
    void *p = nas_arena_alloc(a, bytes);
    if (p) {
        memset(p, 0, bytes);
    }
    return p;
}

void nas_arena_reset(nas_arena *a) {
    nas_arena_block *b = a->head;
    if (b && (b->next || b->cap < a->peak)) {
        /* Several blocks, or one that a rollback left smaller than the peak: replace them
         * with one that holds the peak. */
        blocks_free(b);
        a->head = block_new(align_up(a->peak));
        /* On failure the arena simply starts empty and allocates lazily again. */
    } else if (b) {
        b->off = 0;
    }
    a->used = 0;
}

nas_arena_mark nas_arena_get_mark(const nas_arena *a) {
    nas_arena_mark m = {a->head, a->head ? a->head->off : 0, a->used};
    return m;
}

void nas_arena_rollback(nas_arena *a, nas_arena_mark m) {
    while (a->head && a->head != m.block) { /* blocks chained after the mark */
        nas_arena_block *b = a->head;
        a->head = b->next;
        nas_free(b->raw);
        nas_free(b);
    }
    if (a->head) {
        a->head->off = m.off;
    }
    a->used = m.used;
}

size_t nas_arena_used(const nas_arena *a) {
    return a->used;
}

void nas_arena_free(nas_arena *a) {
    blocks_free(a->head);
    memset(a, 0, sizeof *a);
}
