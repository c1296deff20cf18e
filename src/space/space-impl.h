/*
 * Internals shared by the files of src/space: MD5, a growable string, a set of 16-byte digests,
 * parse-error formatting, the per-kind entry points that arch.c dispatches to, coloured graphs
 * for the igraph canonical form, and the igraph lock (the installed igraph is not thread-safe;
 * src/net must take the same lock around its igraph calls).
 */
#pragma once

#include "ghnas/space.h"

#include <stddef.h>
#include <stdint.h>

/* ---- MD5 (RFC 1321) ------------------------------------------------------------------------- */

void nas_i_md5(const void *data, size_t n, uint8_t digest[16]);
/* Lower-case hex, 32 digits + NUL (Python's hashlib.md5(...).hexdigest()). */
void nas_i_md5_hex(const void *data, size_t n, char hex[33]);
void nas_i_hex(const uint8_t digest[16], char hex[33]);

/* ---- growable string ------------------------------------------------------------------------ */

typedef struct nas_i_str {
    char *p;    /* NUL-terminated once anything was appended; NULL before */
    size_t len; /* bytes before the NUL */
    size_t cap;
    bool oom; /* an append failed; the content is truncated */
} nas_i_str;

void nas_i_str_append(nas_i_str *s, const char *text, size_t n);
void nas_i_str_puts(nas_i_str *s, const char *text);
void nas_i_str_printf(nas_i_str *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void nas_i_str_free(nas_i_str *s);
/* Copy into a caller buffer: NAS_ENOMEM if s->oom, NAS_EINVAL (needed size) if it does not fit. */
nas_status nas_i_str_copy_out(const nas_i_str *s, char *buf, size_t cap, const char *what);

/* ---- set of 16-byte digests ----------------------------------------------------------------- */

typedef struct nas_i_digest_set {
    uint8_t (*keys)[16]; /* [cap] */
    uint8_t *used;       /* [cap] */
    size_t cap;          /* power of two */
    size_t n;
} nas_i_digest_set;

nas_status nas_i_digest_set_init(nas_i_digest_set *s, size_t expected);
/* *added = true when the key was new. */
nas_status nas_i_digest_set_add(nas_i_digest_set *s, const uint8_t key[16], bool *added);
void nas_i_digest_set_free(nas_i_digest_set *s);

/* ---- messages ------------------------------------------------------------------------------- */

/* "<space> arch string, position <pos> (at '<excerpt>'): <message>"; returns NAS_EFORMAT. */
nas_status nas_i_parse_error(const nas_space *sp, const char *text, size_t pos, const char *fmt,
                             ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* "ops of space <name>: a, b, c" into buf (for messages). */
void nas_i_space_op_list(const nas_space *sp, char *buf, size_t cap);
/* Longest op name at text (chars [A-Za-z0-9_-]) matched against the space's ops: the space op
 * index, or -1 (then *len is still the length of the name-like run). */
int nas_i_match_op(const nas_space *sp, const char *text, size_t *len);
/* Start a fresh arch of the space's kind (zeroed). */
void nas_i_arch_init(const nas_space *sp, nas_arch *a);

/* ---- per-kind entry points (arch.c dispatches) ---------------------------------------------- */

#define NAS_I_KIND_DECL(k)                                                                         \
    nas_status nas_i_##k##_sample(const nas_space *sp, nas_rng *rng, nas_arch *out);               \
    nas_status nas_i_##k##_mutate(const nas_space *sp, const nas_arch *p, nas_rng *rng,            \
                                  nas_arch *child);                                                \
    nas_status nas_i_##k##_check(const nas_space *sp, const nas_arch *a);                          \
    nas_status nas_i_##k##_enumerate(const nas_space *sp, nas_arch_visit_fn fn, void *user);       \
    nas_status nas_i_##k##_encode(const nas_space *sp, const nas_arch *a, nas_i_str *s);           \
    nas_status nas_i_##k##_decode(const nas_space *sp, const char *text, nas_arch *out);           \
    nas_status nas_i_##k##_size(const nas_space *sp, uint64_t *n);                                 \
    int nas_i_##k##_distance(const nas_space *sp, const nas_arch *a, const nas_arch *b);

NAS_I_KIND_DECL(nb201)
NAS_I_KIND_DECL(nb101)
NAS_I_KIND_DECL(darts)
NAS_I_KIND_DECL(macro)

/* nb201: output reachable from the input through non-none edges (Structure.check_valid). */
bool nas_i_nb201_valid(const nas_space *sp, const nas_arch *a);
/* nb201: to_unique_str(consider_zero=True) of a member. */
nas_status nas_i_nb201_unique_str(const nas_space *sp, const nas_arch *a, nas_i_str *out);
/* nb101: nasbench hash_module digest (raw 16 bytes) of a member. */
void nas_i_nb101_hash(const nas_space *sp, const nas_arch *a, uint8_t digest[16]);
/* nb101: full DAG over V vertices for nasbench's bit layout (edge x->y is bit x + y(y-1)/2). */
bool nas_i_nb101_full_dag(uint32_t bits, int V);
/* nb101: count full DAGs with <= max_edges edges for each V (fills sp->nb101_graphs). */
void nas_i_nb101_count_graphs(nas_space *sp);

/* ---- overflow-checked arithmetic ------------------------------------------------------------ */

/* *acc *= x; false on overflow (acc unchanged). */
bool nas_i_mul_u64(uint64_t *acc, uint64_t x);

/* ---- coloured graphs and igraph ------------------------------------------------------------- */

#define NAS_I_CG_MAX_V 320
#define NAS_I_CG_MAX_E 640

typedef struct nas_i_cgraph {
    int n, n_edges;
    int colour[NAS_I_CG_MAX_V];
    int edge[NAS_I_CG_MAX_E][2];
} nas_i_cgraph;

/* Colours of the op-level DAG (stable: they enter canonical hashes). */
enum {
    NAS_I_COL_INPUT0 = 0,
    NAS_I_COL_INPUT1 = 1,
    NAS_I_COL_OUTPUT = 2,
    NAS_I_COL_SUM = 3,
    NAS_I_COL_CONCAT = 4,
    NAS_I_COL_OP = 16,      /* + nas_cell_op */
    NAS_I_COL_REDUCE = 100, /* added to every colour of a darts reduce cell */
    NAS_I_COL_BLOCK = 1000  /* macro blocks: + encoded (stride, kernel, expansion, width) */
};

/* The pruned op-level DAG of a member (see nas_arch_canon_key). */
nas_status nas_i_arch_cgraph(const nas_space *sp, const nas_arch *a, nas_i_cgraph *g);
/* BLISS canonical digest of a coloured graph. */
nas_status nas_i_cgraph_digest(const nas_i_cgraph *g, uint8_t digest[16]);

void nas_i_igraph_lock(void);
void nas_i_igraph_unlock(void);
