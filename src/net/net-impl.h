/*
 * Internals shared by the files of src/net: the graph builder the per-space compilers emit nodes
 * into (ir.c owns its life cycle and the final igraph ordering, shapes.c the per-op shape, param
 * and FLOP rules), composite blocks shared by the cell compilers (blocks.c), and the per-kind
 * compile entry points.
 */
#pragma once

#include "ghnas/net.h"

#include <stdarg.h>

/* Result of an edge op that produces nothing (a none edge). Errors are -1. */
#define NAS_I_NET_NONE (-2)

/*
 * Builder: nodes in emission order (each node's inputs already emitted), with a sticky status.
 * Every emit function returns the new node id, or -1 when the builder has failed before or fails
 * now (then b->st and nas_errmsg() say why); an input id of -1 propagates the failure.
 */
typedef struct nas_i_builder {
    nas_net *net; /* nodes/n_nodes grow here; in[] pointers are fixed up at the end */
    int cap_nodes;
    int *in_pool; /* all input ids, node by node */
    int *in_off;  /* [cap_nodes] offset of each node's inputs in in_pool */
    int n_pool, cap_pool;
    nas_status st;    /* first failure */
    char scope[40];   /* name prefix of the nodes emitted now ("cell3", "cell3.e02") */
    const char *what; /* "nb201 net" etc., for messages */
} nas_i_builder;

/* Set the scope (printf-style). */
void nas_i_scope(nas_i_builder *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Fail the builder (first failure wins) with a message "<what>: <scope>.<suffix>: ..." */
int nas_i_bfail(nas_i_builder *b, nas_status s, const char *suffix, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Append a node (ir.c): op, name "<scope>.<suffix>", inputs copied; everything else zero, slot -1,
 * bn_offset -1. Returns the id and the node through *nd, or -1 (builder failed, input -1, name too
 * long, out of memory). */
int nas_i_push(nas_i_builder *b, nas_net_op op, const char *suffix, const int *in, int n_in,
               nas_net_node **nd);

/* Node emitters (shapes.c). `suffix` completes the node name: "<scope>.<suffix>". */
int nas_i_input(nas_i_builder *b, int c, int h, int w);
int nas_i_conv(nas_i_builder *b, const char *suffix, int x, int64_t cout, int k, int stride,
               int pad, int dilation, int groups);
int nas_i_bn(nas_i_builder *b, const char *suffix, int x);
int nas_i_relu(nas_i_builder *b, const char *suffix, int x);
int nas_i_pool(nas_i_builder *b, const char *suffix, nas_net_op op, int x, int k, int stride,
               int pad, bool count_include_pad);
int nas_i_sum(nas_i_builder *b, const char *suffix, const int *xs, int n);
int nas_i_concat(nas_i_builder *b, const char *suffix, const int *xs, int n);
/* x[:, c0:c0+c, h0:h0+h, w0:w0+w]. */
int nas_i_slice(nas_i_builder *b, const char *suffix, int x, int64_t c0, int64_t c, int64_t h0,
                int64_t h, int64_t w0, int64_t w);
int nas_i_zero(nas_i_builder *b, const char *suffix, int like);
int nas_i_gap(nas_i_builder *b, const char *suffix, int x);
int nas_i_linear(nas_i_builder *b, const char *suffix, int x, int classes);

/* Output channels / height / width of node x (0 for a bad id). */
int64_t nas_i_ch(const nas_i_builder *b, int x);
int64_t nas_i_hh(const nas_i_builder *b, int x);
int64_t nas_i_ww(const nas_i_builder *b, int x);

/* Sum of n >= 1 values: the value itself for n == 1, else a sum node. n == 0: NAS_I_NET_NONE. */
int nas_i_sum_or_one(nas_i_builder *b, const char *suffix, const int *xs, int n);

/* Composite blocks (blocks.c); names are "<scope>.<prefix>.<part>" ("" prefix: no middle). */
int nas_i_relu_conv_bn(nas_i_builder *b, const char *prefix, int x, int64_t cout, int k, int stride,
                       int pad, int dilation);
int nas_i_conv_bn_relu(nas_i_builder *b, const char *prefix, int x, int64_t cout, int k, int stride,
                       int pad);
int nas_i_factorized_reduce(nas_i_builder *b, const char *prefix, int x, int64_t cout);
/*
 * A cell edge op (NB201 / DARTS semantics) from x with stride 1 or 2 mapping C to C channels:
 * the output node, x itself for an identity, NAS_I_NET_NONE for none, -1 on failure. The scope
 * must name the edge; parts are "relu", "conv", "bn", "pool", "sep.*", "dil.*", "fr.*".
 */
int nas_i_edge_op(nas_i_builder *b, nas_cell_op op, int x, int stride);

/* Per-kind compilers (compile_*.c): emit everything after the builder is set up. */
nas_status nas_i_compile_nb201(nas_i_builder *b, const nas_space *sp, const nas_arch *a);
nas_status nas_i_compile_nb101(nas_i_builder *b, const nas_space *sp, const nas_arch *a);
nas_status nas_i_compile_darts(nas_i_builder *b, const nas_space *sp, const nas_arch *a);
nas_status nas_i_compile_macro(nas_i_builder *b, const nas_space *sp, const nas_arch *a);

/* Skeleton integer with a default when absent; NAS_EINVAL when of the wrong type or outside
 * [lo, hi]. */
nas_status nas_i_skel_int(const nas_space *sp, const char *key, long dflt, long lo, long hi,
                          long *out);
/* Skeleton string must be absent or equal `want` (NAS_EUNSUPPORTED otherwise). */
nas_status nas_i_skel_expect(const nas_space *sp, const char *key, const char *want);
