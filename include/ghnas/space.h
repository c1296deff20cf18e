/*
 * ghnas search spaces: space specs loaded from JSON files, genotypes (architectures), uniform
 * sampling, one-edit mutation, enumeration, membership/validity checks, text codecs and canonical
 * forms (the published NAS-Bench-201 and NAS-Bench-101 rules and a generic igraph/BLISS form).
 *
 * A space is data: search_spaces/<name>.json names its structural family ("kind"), its ops and
 * sizes, and skeleton defaults for the network compiler. Built-in names resolve to files in the
 * spaces directory (nas_space_dir); anything containing '/' or ending in ".json" is a path.
 *
 *     nas_space sp;
 *     if (nas_space_load(&sp, "nb201") != NAS_OK) ... nas_errmsg() names the file, key and why ...
 *     nas_rng rng;  nas_rng_seed(&rng, 1);
 *     nas_arch a;   nas_arch_sample(&sp, &rng, &a);
 *     char s[NAS_ARCH_STR_MAX];  nas_arch_encode(&sp, &a, s, sizeof s);
 *     // "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|"
 *
 * The kinds and their genotypes (what a compiler walks):
 *
 *   cell_nb201  one cell, `nodes` nodes (node 0 the input, node nodes-1 the output); every pair
 *               i<j has an edge i->j carrying one op (possibly none); node j = sum of its edges.
 *               Text: NB201's own `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
 *   cell_nb101  one cell, V <= max_vertices vertices in topological order (0 input, V-1 output),
 *               a subset of the edges i->j (i<j), at most max_edges, every vertex on an
 *               input->output path (NB101's pruned form); ops sit on interior vertices.
 *               Text: upper-triangle adjacency rows then the interior ops, see nb101 below.
 *   cell_darts  two cells, normal and reduce; nodes 0,1 are the cell inputs (outputs of the two
 *               previous cells), nodes 2..nodes+1 are intermediate, each with inputs_per_node
 *               edges from distinct earlier nodes, each edge one op other than none; the cell
 *               output is the concat of the nodes listed in `concat`.
 *               Text: DARTS' Genotype(normal=[('sep_conv_3x3', 0), ...],
 *               normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5]).
 *   macro       a MobileNet-style network of stages; per stage a depth (blocks), width (output
 *               channels), kernel size and expansion ratio of its inverted-residual blocks.
 *               Text: `d2-w24-k5-e6|d3-w32-k3-e3|...`, one group per stage.
 *
 * Thread safety: a loaded nas_space is read-only and may be shared by threads; every function
 * here may be called concurrently with its own nas_rng and output structs (igraph is not
 * thread-safe in the installed build, so the igraph canonical form serialises on a lock).
 */
#pragma once

#include "ghnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits --------------------------------------------------------------------------------- */

#define NAS_SPACE_MAX_OPS     16 /* ops listed by one space */
#define NAS_CELL_MAX_NODES    10 /* nodes of one cell, inputs and output included */
#define NAS_CELL_MAX_EDGES    45 /* NAS_CELL_MAX_NODES * (NAS_CELL_MAX_NODES - 1) / 2 */
#define NAS_MACRO_MAX_STAGES  8
#define NAS_MACRO_MAX_CHOICES 8    /* values listed per stage for depth/width/kernel/expansion */
#define NAS_SKELETON_MAX      16   /* entries of a space's "skeleton" object */
#define NAS_ARCH_STR_MAX      2048 /* enough for any arch text of any loadable space */
#define NAS_CANON_KEY_MAX     4096 /* enough for any canonical key text (nas_arch_canon_key) */

/* ---- ops ------------------------------------------------------------------------------------ */

/*
 * The op vocabulary a space may list. Numbers are stable (they colour canonical graphs): append
 * before NAS_CELL_OP_COUNT, never renumber. Edge ops (cell_nb201, cell_darts) map C channels to C
 * channels; vertex ops (cell_nb101) sit on NB101 vertices.
 */
typedef enum nas_cell_op {
    NAS_CELL_OP_NONE = 0,         /* edge: zero (contributes nothing) */
    NAS_CELL_OP_SKIP_CONNECT = 1, /* edge: identity (FactorizedReduce when the stride is 2) */
    NAS_CELL_OP_NOR_CONV_1X1 = 2, /* edge: ReLU -> conv 1x1 -> BN (NB201) */
    NAS_CELL_OP_NOR_CONV_3X3 = 3, /* edge: ReLU -> conv 3x3 pad 1 -> BN (NB201) */
    NAS_CELL_OP_AVG_POOL_3X3 = 4, /* edge: avg pool 3x3 pad 1, count_include_pad=False */
    NAS_CELL_OP_MAX_POOL_3X3 = 5, /* edge: max pool 3x3 pad 1 */
    NAS_CELL_OP_SEP_CONV_3X3 = 6, /* edge: DARTS separable conv 3x3 (two ReLU-dw-pw-BN stacks) */
    NAS_CELL_OP_SEP_CONV_5X5 = 7, /* edge: DARTS separable conv 5x5 */
    NAS_CELL_OP_DIL_CONV_3X3 = 8, /* edge: DARTS dilated conv 3x3, dilation 2 (ReLU-dw-pw-BN) */
    NAS_CELL_OP_DIL_CONV_5X5 = 9, /* edge: DARTS dilated conv 5x5, dilation 2 */
    NAS_CELL_OP_CONV3X3_BN_RELU = 10, /* vertex: conv 3x3 -> BN -> ReLU (NB101) */
    NAS_CELL_OP_CONV1X1_BN_RELU = 11, /* vertex: conv 1x1 -> BN -> ReLU (NB101) */
    NAS_CELL_OP_MAXPOOL3X3 = 12,      /* vertex: max pool 3x3 stride 1 pad 1 (NB101) */
    NAS_CELL_OP_COUNT
} nas_cell_op;

/* Name as written in space files and arch strings ("nor_conv_3x3"); "?" for bad values. */
const char *nas_cell_op_name(nas_cell_op op);
/* Exact-name lookup; NAS_ENOTFOUND with a message listing the known names. */
nas_status nas_cell_op_from_name(const char *name, nas_cell_op *out);
/* True for ops that sit on cell edges (nb201/darts), false for NB101 vertex ops. */
bool nas_cell_op_is_edge(nas_cell_op op);

/* ---- space ---------------------------------------------------------------------------------- */

typedef enum nas_space_kind {
    NAS_SPACE_NB201 = 0, /* "cell_nb201" */
    NAS_SPACE_NB101 = 1, /* "cell_nb101" */
    NAS_SPACE_DARTS = 2, /* "cell_darts" */
    NAS_SPACE_MACRO = 3, /* "macro" */
    NAS_SPACE_KIND_COUNT
} nas_space_kind;

/* "cell_nb201", ...; "?" for bad values. */
const char *nas_space_kind_name(nas_space_kind kind);

/* Macro block types (the "block" key of a macro space). */
typedef enum nas_macro_block {
    NAS_BLOCK_INVERTED_RESIDUAL = 0 /* MobileNetV2: [1x1 expand -> BN-ReLU6] -> dw kxk (stride) ->
                                       BN-ReLU6 -> 1x1 project -> BN; residual when stride 1 and
                                       in == out channels; expansion 1 skips the expand conv */
} nas_macro_block;

/* One stage of a macro space: the stride of its first block and the listed choices. */
typedef struct nas_macro_stage_space {
    int stride;                                  /* 1 or 2, applied by the stage's first block */
    int n_depth, depth[NAS_MACRO_MAX_CHOICES];   /* blocks in the stage, each >= 1 */
    int n_width, width[NAS_MACRO_MAX_CHOICES];   /* output channels */
    int n_kernel, kernel[NAS_MACRO_MAX_CHOICES]; /* odd depthwise kernel sizes */
    int n_expansion, expansion[NAS_MACRO_MAX_CHOICES]; /* expansion ratios, >= 1 */
} nas_macro_stage_space;

/* A "skeleton" entry: defaults for the network compiler (C, N, stem channels, ...). */
typedef struct nas_skeleton_entry {
    char key[32];
    bool is_string; /* value in text, else in value */
    long value;
    char text[64];
} nas_skeleton_entry;

/*
 * A loaded space. A plain value (no heap): copy it, share it read-only, no free needed.
 * Fields not used by a kind are zero.
 */
typedef struct nas_space {
    char name[64];         /* "name" key, else the file name without ".json" */
    char path[512];        /* file it was loaded from */
    char description[512]; /* "description" key (optional) */
    char digest[33]; /* md5 hex of the content (sorted keys, compact, without "description" and
                        "comment"): what a stored score was computed on (search reuse key) */
    bool from_text;  /* made by nas_space_parse: no file to read the content from again */
    nas_space_kind kind;
    int n_ops;
    nas_cell_op ops[NAS_SPACE_MAX_OPS]; /* space op index -> op; genotypes store space op indices */
    /* cell_nb201: nodes in the cell (input and output included), 2..6.
       cell_darts: intermediate nodes, 1..8. */
    int nodes;
    int inputs_per_node; /* cell_darts: 1..2 */
    int max_vertices;    /* cell_nb101: 2..7 */
    int max_edges;       /* cell_nb101: 1..V(V-1)/2 */
    /* cell_nb101: unlabelled full DAGs with <= max_edges edges per vertex count V (index V). */
    uint64_t nb101_graphs[NAS_CELL_MAX_NODES + 1];
    /* macro */
    nas_macro_block block;
    int n_stages;
    nas_macro_stage_space stages[NAS_MACRO_MAX_STAGES];
    /* skeleton defaults, in file order */
    int n_skeleton;
    nas_skeleton_entry skeleton[NAS_SKELETON_MAX];
} nas_space;

/* Environment variable naming the spaces directory (overrides the search below). */
#define NAS_SPACES_DIR_ENV "GHNAS_SPACES_DIR"

/*
 * The directory of built-in space files, the first that exists of:
 *   1. $GHNAS_SPACES_DIR (NAS_ENOTFOUND when it is set but not a directory);
 *   2. the source tree's search_spaces/, when the running executable (/proc/self/exe) lies in
 *      the build directory the library was compiled in (build/ghnas, build/tests/ghnas_tests;
 *      the build directory may be anywhere, in or out of the source tree);
 *   3. <exe dir>/../share/ghnas/search_spaces (an installation moved to another prefix; the
 *      relative path is the installed bindir -> datadir);
 *   4. the compiled-in install data directory, ${prefix}/share/ghnas/search_spaces.
 * NAS_ENOTFOUND naming every place looked in when none exists.
 */
nas_status nas_space_dir(char *buf, size_t cap);

/*
 * Load and validate a space: a built-in name ("nb201" -> <dir>/nb201.json) or a path. Every
 * problem is NAS_EFORMAT/NAS_EIO/NAS_ENOTFOUND with "<file>: key '<key>': <why>". On failure
 * *out is zeroed.
 */
nas_status nas_space_load(nas_space *out, const char *name_or_path);

/* Largest space file read (bytes): a space is a few hundred bytes; anything this big is not one. */
#define NAS_SPACE_FILE_MAX (1 << 20)

/* As nas_space_load from JSON text in memory; `path` names it in messages (NULL: "(space text)").
 * The space has a digest (scores are keyed on it) but no file: a search on it records no content.
 */
nas_status nas_space_parse(nas_space *out, const char *text, size_t n, const char *path);

/* A space file's bytes (nas_free), NUL-terminated after *n: regular files of at most
 * NAS_SPACE_FILE_MAX bytes only (FIFOs and devices are refused, never waited on). */
nas_status nas_space_read_text(const char *path, char **text, size_t *n);

/* The content of a loaded space's file as compact JSON with sorted keys (heap, nas_free), for
 * the run record: NAS_EINVAL when the file changed since it was loaded (another digest) or the
 * space has no file (no digest). */
nas_status nas_space_content(const nas_space *sp, char **json);

/* Names of the built-in spaces (stems of the .json files in the spaces directory), sorted; *n may
 * exceed max (only max are written). */
nas_status nas_space_list(char (*names)[64], int max, int *n);

/* Number of genotypes in the space. NAS_EUNSUPPORTED when it does not fit in uint64. */
nas_status nas_space_size(const nas_space *sp, uint64_t *n);

/* Skeleton lookups: NAS_ENOTFOUND when absent, NAS_EINVAL when of the other type. */
nas_status nas_space_skeleton_int(const nas_space *sp, const char *key, long *out);
nas_status nas_space_skeleton_str(const nas_space *sp, const char *key, const char **out);

/* ---- architectures (genotypes) ------------------------------------------------------------ */

/* node_op[] roles besides op indices (which are >= 0). */
enum { NAS_NODE_INPUT = -1, NAS_NODE_OUTPUT = -2, NAS_NODE_SUM = -3 };

/* Edge src -> dst carrying space op index `op` (-1: a plain NB101 edge without an op). */
typedef struct nas_edge {
    int src, dst, op;
} nas_edge;

/*
 * One cell. Edge order: nb201 all i<j edges by dst then src (NB201 string order, none edges
 * included); nb101 present edges by src then dst; darts inputs_per_node edges per intermediate
 * node, in text order (node by node).
 */
typedef struct nas_cell {
    int n_nodes;  /* all nodes, inputs first */
    int n_inputs; /* 1 (nb201, nb101) or 2 (darts) */
    int n_edges;
    int n_concat;                    /* darts: nodes concatenated into the output; else 0 */
    int node_op[NAS_CELL_MAX_NODES]; /* NAS_NODE_* role or (nb101 interior) space op index */
    int concat[NAS_CELL_MAX_NODES];  /* darts output nodes */
    nas_edge edges[NAS_CELL_MAX_EDGES];
} nas_cell;

/* One macro stage as chosen (stride copied from the space so a compiler needs only this). */
typedef struct nas_macro_stage {
    int depth, width, kernel, expansion, stride;
} nas_macro_stage;

/*
 * An architecture of some space: a plain value (copy with =). Always produced zero-initialised
 * by this module, so memcmp is a valid equality test between archs made here.
 */
typedef struct nas_arch {
    nas_space_kind kind;
    int n_cells; /* 1 (nb201, nb101), 2 (darts: [0] normal, [1] reduce), 0 (macro) */
    nas_cell cell[2];
    int n_stages; /* macro */
    nas_macro_stage stage[NAS_MACRO_MAX_STAGES];
} nas_arch;

/* Uniformly random member of the space. nb101: uniform over labelled full DAGs. */
nas_status nas_arch_sample(const nas_space *sp, nas_rng *rng, nas_arch *out);

/* A uniformly random member that passes nas_arch_is_valid: up to max_tries draws (<= 0: until
 * one is found); NAS_ENOTFOUND when none did (*out holds the last draw). */
nas_status nas_arch_sample_valid(const nas_space *sp, nas_rng *rng, int max_tries, nas_arch *out);
/* A uniformly random member's text (nas_arch_sample, then nas_arch_encode). */
nas_status nas_arch_sample_text(const nas_space *sp, nas_rng *rng, char *buf, size_t cap);

/*
 * A uniformly random one-edit neighbour of `parent` that is valid (nas_arch_is_valid): one edge
 * op (nb201, darts), one edge source (darts), one edge bit or vertex op (nb101, same vertex
 * count), or one stage value (macro) changes. NAS_ENOTFOUND when no valid neighbour exists
 * (the single two-vertex nb101 graph).
 */
nas_status nas_arch_mutate(const nas_space *sp, const nas_arch *parent, nas_rng *rng,
                           nas_arch *child);

/* Membership: structure, indices and the space's constraints. NAS_EINVAL with the reason. */
nas_status nas_arch_check(const nas_space *sp, const nas_arch *a);

/*
 * Member of the space and computes something: nb201 requires the output to be reachable from the
 * input through non-none edges (NB201's Structure.check_valid); members of the other kinds are
 * always valid.
 */
bool nas_arch_is_valid(const nas_space *sp, const nas_arch *a);

/* Same genotype (for darts the edge order within a node counts, as it does in the text). */
bool nas_arch_equal(const nas_arch *a, const nas_arch *b);

/*
 * Number of choices in which two members differ (edge ops; darts also edge sources; nb101 edge
 * bits and vertex ops; macro stage values). -1 when not comparable (different kinds or nb101
 * vertex counts).
 */
int nas_arch_distance(const nas_space *sp, const nas_arch *a, const nas_arch *b);

/* Visit every member of the space in a fixed order; a non-OK return from fn stops the walk and
 * is returned. nb201 order = NB201's gen_all (edge 0->1 most significant); nb101 order =
 * generate_graphs.py (V, then edge bits, then labelings). */
typedef nas_status (*nas_arch_visit_fn)(const nas_arch *a, void *user);
nas_status nas_space_enumerate(const nas_space *sp, nas_arch_visit_fn fn, void *user);

/* ---- text codecs ---------------------------------------------------------------------------- */

/*
 * Formats:
 *   nb201  |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|
 *   nb101  <rows>|<ops>: rows 0..V-2 of the upper triangle, row i holding the bits of edges
 *          i->i+1 .. i->V-1, rows separated by '.'; then the V-2 interior ops separated by ','.
 *          E.g. "1100.010.01.1|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu" is 5 vertices with
 *          edges 0->1 0->2 (row 0), 1->3 (row 1), 2->4 (row 2), 3->4 (row 3) and vertices 1, 2, 3
 *          labelled with those ops. The two-vertex graph is "1|".
 *   darts  Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ...], normal_concat=[2, 3,
 *          4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5]) (decode also accepts "..." quotes,
 *          any spacing and concat written as range(2, 6))
 *   macro  d<depth>-w<width>-k<kernel>-e<expansion> per stage, stages joined by '|'
 * Decoding is strict about everything else and reports the character position, what it found
 * and what was expected. encode(decode(s)) == s for every string encode produces.
 */
nas_status nas_arch_encode(const nas_space *sp, const nas_arch *a, char *buf, size_t cap);
nas_status nas_arch_decode(const nas_space *sp, const char *text, nas_arch *out);

/* ---- canonical forms ------------------------------------------------------------------------ */

typedef enum nas_canon_kind {
    NAS_CANON_TEXT = 0,      /* the genotype itself: its text */
    NAS_CANON_PUBLISHED = 1, /* nb201: to_unique_str(consider_zero=True) (6466 classes);
                                nb101: nasbench hash_module fingerprint (423624 classes);
                                other kinds: NAS_EUNSUPPORTED */
    NAS_CANON_IGRAPH = 2     /* md5 hex of the BLISS canonical form of the pruned op-level DAG */
} nas_canon_kind;

/* The published rule when the space has one, else the igraph form. */
nas_canon_kind nas_space_default_canon(const nas_space *sp);

/*
 * Canonical key text: two members get the same key iff the rule calls them the same
 * architecture. Published nb201 keys are NB201's unique strings ("(0)@nor_conv_3x3+#+..."),
 * nb101 keys the 32-hex md5 fingerprint, igraph keys 32 hex digits.
 *
 * The igraph op-level DAG: cell nodes (coloured by role: input k, sum, output, concat; nb101
 * vertices by their op) plus one vertex per edge op (coloured by the op), wired src -> op -> dst
 * (nb101 edges are direct); none edges are dropped, then every vertex not on a path from an input
 * to the output. A cell whose output is unreachable keeps just its inputs and output. darts
 * joins both cells (the reduce cell's colours are distinct); macro is the chain of its blocks
 * coloured by (width, kernel, expansion, stride).
 */
nas_status nas_arch_canon_key(const nas_space *sp, const nas_arch *a, nas_canon_kind kind,
                              char *buf, size_t cap);

/*
 * Count members by enumeration: all of them (NAS_CANON_TEXT, or with valid_only the ones that
 * pass nas_arch_is_valid) or distinct keys of a canonical rule. Refuses (NAS_EUNSUPPORTED) spaces
 * larger than NAS_SPACE_ENUM_LIMIT. `prog` (may be NULL) is begun, updated and ended here.
 */
#define NAS_SPACE_ENUM_LIMIT 100000000ull
nas_status nas_space_count(const nas_space *sp, nas_canon_kind kind, bool valid_only,
                           nas_progress *prog, uint64_t *out);

/* Counting enumerates (a canonical rule or valid_only) at least this many members: slow enough
 * for a progress line (nas_space_count_is_slow). */
#define NAS_SPACE_COUNT_SLOW 200000ull
bool nas_space_count_is_slow(const nas_space *sp, nas_canon_kind kind, bool valid_only);

/* "text", "published", "igraph" (the run record's "canon"); and back (NAS_EINVAL otherwise). */
const char *nas_canon_kind_name(nas_canon_kind k);
nas_status nas_canon_kind_from_name(const char *name, nas_canon_kind *out);

/* What `ghnas spaces check` reports of an architecture text. */
typedef struct nas_arch_info {
    char text[NAS_ARCH_STR_MAX];       /* the decoded genotype's text */
    bool valid;                        /* nas_arch_is_valid */
    bool has_published;                /* the space has a published rule: published is set */
    char published[NAS_CANON_KEY_MAX]; /* its published key */
    char igraph[NAS_CANON_KEY_MAX];    /* its igraph key */
} nas_arch_info;

/* Decode `text` and fill *out; the decoder's NAS_EFORMAT message for a bad text. */
nas_status nas_arch_inspect(const nas_space *sp, const char *text, nas_arch_info *out);

/*
 * Generic canonical hash of a vertex-coloured directed graph (igraph BLISS canonical
 * permutation): 32 hex digits + NUL, equal for isomorphic graphs with equal colours. colour[v]
 * is any int (the caller keeps colour numbering stable); edges[2k], edges[2k+1] = src, dst.
 */
nas_status nas_space_graph_canon_hash(int n_vertices, const int *colour, int n_edges,
                                      const int *edges, char hex[33]);

#ifdef __cplusplus
}
#endif
