/*
 * The ONNX writer: a compiled net with its weights as an ONNX ModelProto (IR version 7, opset 13
 * of the default domain), built with the protobuf encoder of pb.c. The op mapping and naming are
 * documented in include/ghnas/export.h; every op reproduces what src/net/exec.c computes:
 * floor-mode pools with symmetric padding, AveragePool dividing by the window's real pixels
 * unless count_include_pad, BatchNormalization with the running statistics, Gemm with the
 * weight transposed ([classes, C] as PyTorch's Linear).
 */
#include "export-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ONNX_IR_VERSION 7
#define ONNX_OPSET      13

/* TensorProto.DataType */
enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 };
/* AttributeProto.AttributeType */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_TENSOR = 4, ATTR_INTS = 7 };

/* ---- message builders ------------------------------------------------------------------------ */

/* TensorProto with raw little-endian data (x86-64 and every ghnas target is little-endian). */
static void tensor_msg(nas_i_buf *t, const char *name, int type, int ndim, const int64_t *dims,
                       const void *data, size_t bytes) {
    for (int d = 0; d < ndim; d++) {
        nas_i_pb_int(t, 1, dims[d]);
    }
    nas_i_pb_int(t, 2, type);
    if (name) {
        nas_i_pb_str(t, 8, name);
    }
    nas_i_pb_bytes(t, 9, data, bytes);
}

static void add_init_f32(nas_i_buf *g, const char *name, int ndim, const int64_t *dims,
                         const float *data) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        n *= dims[d];
    }
    nas_i_buf t = {0};
    tensor_msg(&t, name, ONNX_FLOAT, ndim, dims, data, (size_t)n * sizeof(float));
    nas_i_pb_msg(g, 5, &t);
    nas_i_buf_free(&t);
}

static void add_init_i64(nas_i_buf *g, const char *name, const int64_t *v, int n) {
    nas_i_buf t = {0};
    int64_t dims[1] = {n};
    tensor_msg(&t, name, ONNX_INT64, 1, dims, v, (size_t)n * sizeof *v);
    nas_i_pb_msg(g, 5, &t);
    nas_i_buf_free(&t);
}

static void attr_int(nas_i_buf *node, const char *name, int64_t v) {
    nas_i_buf a = {0};
    nas_i_pb_str(&a, 1, name);
    nas_i_pb_int(&a, 3, v);
    nas_i_pb_int(&a, 20, ATTR_INT);
    nas_i_pb_msg(node, 5, &a);
    nas_i_buf_free(&a);
}

static void attr_float(nas_i_buf *node, const char *name, float v) {
    nas_i_buf a = {0};
    nas_i_pb_str(&a, 1, name);
    nas_i_pb_float(&a, 2, v);
    nas_i_pb_int(&a, 20, ATTR_FLOAT);
    nas_i_pb_msg(node, 5, &a);
    nas_i_buf_free(&a);
}

static void attr_ints(nas_i_buf *node, const char *name, const int64_t *v, int n) {
    nas_i_buf a = {0};
    nas_i_pb_str(&a, 1, name);
    for (int i = 0; i < n; i++) { /* repeated int64 ints = 8, unpacked as protoc writes proto2 */
        nas_i_pb_int(&a, 8, v[i]);
    }
    nas_i_pb_int(&a, 20, ATTR_INTS);
    nas_i_pb_msg(node, 5, &a);
    nas_i_buf_free(&a);
}

/* A scalar float tensor attribute (ConstantOfShape's value). */
static void attr_tensor_f32(nas_i_buf *node, const char *name, float v) {
    nas_i_buf a = {0}, t = {0};
    int64_t dims[1] = {1};
    tensor_msg(&t, NULL, ONNX_FLOAT, 1, dims, &v, sizeof v);
    nas_i_pb_str(&a, 1, name);
    nas_i_pb_msg(&a, 5, &t);
    nas_i_pb_int(&a, 20, ATTR_TENSOR);
    nas_i_pb_msg(node, 5, &a);
    nas_i_buf_free(&t);
    nas_i_buf_free(&a);
}

/* Start a NodeProto: inputs, one output, name, op type (attributes are appended after). */
static void node_begin(nas_i_buf *nd, const char *op, const char *name, const char *const *in,
                       int n_in, const char *out) {
    for (int i = 0; i < n_in; i++) {
        nas_i_pb_str(nd, 1, in[i]);
    }
    nas_i_pb_str(nd, 2, out);
    nas_i_pb_str(nd, 3, name);
    nas_i_pb_str(nd, 4, op);
}

static void node_end(nas_i_buf *g, nas_i_buf *nd) {
    nas_i_pb_msg(g, 1, nd);
    nas_i_buf_free(nd);
}

/* ValueInfoProto of a float tensor [dim0, ...] with dim0 symbolic ("N"). */
static void value_info(nas_i_buf *g, int field, const char *name, int ndim, const int64_t *dims) {
    nas_i_buf vi = {0}, tp = {0}, tt = {0}, sh = {0};
    for (int d = 0; d < ndim; d++) {
        nas_i_buf dim = {0};
        if (d == 0) {
            nas_i_pb_str(&dim, 2, "N");
        } else {
            nas_i_pb_int(&dim, 1, dims[d]);
        }
        nas_i_pb_msg(&sh, 1, &dim);
        nas_i_buf_free(&dim);
    }
    nas_i_pb_int(&tt, 1, ONNX_FLOAT);
    nas_i_pb_msg(&tt, 2, &sh);
    nas_i_pb_msg(&tp, 1, &tt);
    nas_i_pb_str(&vi, 1, name);
    nas_i_pb_msg(&vi, 2, &tp);
    nas_i_pb_msg(g, field, &vi);
    nas_i_buf_free(&vi);
    nas_i_buf_free(&tp);
    nas_i_buf_free(&tt);
    nas_i_buf_free(&sh);
}

static void meta_prop(nas_i_buf *m, const char *key, const char *value) {
    nas_i_buf e = {0};
    nas_i_pb_str(&e, 1, key);
    nas_i_pb_str(&e, 2, value);
    nas_i_pb_msg(m, 14, &e);
    nas_i_buf_free(&e);
}

/* ---- the graph ------------------------------------------------------------------------------- */

/* The tensor name of IR node v's output. */
static const char *out_name(const nas_net *net, int v) {
    return v == net->output ? "logits" : net->nodes[v].name;
}

/* "<a>.<b>" into buf. */
static const char *join(char *buf, size_t cap, const char *a, const char *b) {
    snprintf(buf, cap, "%s.%s", a, b);
    return buf;
}

static nas_status emit_node(nas_i_buf *g, const nas_export_model *em, int v) {
    const nas_net *net = &em->net;
    const nas_net_node *n = &net->nodes[v];
    nas_tensor *const *p = em->m.params.tensors;
    const char *out = out_name(net, v);
    const char *in0 = n->n_in > 0 ? out_name(net, n->in[0]) : NULL;
    char a[2 * NAS_NET_NAME_MAX + 32], b[2 * NAS_NET_NAME_MAX + 32], c[2 * NAS_NET_NAME_MAX + 32];
    nas_i_buf nd = {0};
    switch (n->op) {
        case NAS_NET_INPUT: {
            /* (image - mean) / std, per channel */
            const int64_t C = n->shape[0];
            const int64_t dims[4] = {1, C, 1, 1};
            add_init_f32(g, "input.mean", 4, dims, em->norm.mean);
            add_init_f32(g, "input.std", 4, dims, em->norm.std);
            const char *sub_in[2] = {"image", "input.mean"};
            node_begin(&nd, "Sub", "input.sub", sub_in, 2, "input.centered");
            node_end(g, &nd);
            const char *div_in[2] = {"input.centered", "input.std"};
            node_begin(&nd, "Div", "input.div", div_in, 2, out);
            node_end(g, &nd);
            return NAS_OK;
        }
        case NAS_NET_CONV: {
            const nas_net_slot *sl = &net->slots[n->slot];
            add_init_f32(g, sl->name, 4, sl->shape, p[n->slot]->data);
            const char *ins[2] = {in0, sl->name};
            node_begin(&nd, "Conv", n->name, ins, 2, out);
            attr_ints(&nd, "kernel_shape", (int64_t[]){n->k, n->k}, 2);
            attr_ints(&nd, "strides", (int64_t[]){n->stride, n->stride}, 2);
            attr_ints(&nd, "pads", (int64_t[]){n->pad, n->pad, n->pad, n->pad}, 4);
            attr_ints(&nd, "dilations", (int64_t[]){n->dilation, n->dilation}, 2);
            attr_int(&nd, "group", n->groups);
            node_end(g, &nd);
            return NAS_OK;
        }
        case NAS_NET_BN: {
            const nas_net_slot *sg = &net->slots[n->slot], *sb = &net->slots[n->slot + 1];
            const int64_t C = n->shape[0];
            add_init_f32(g, sg->name, 1, &C, p[n->slot]->data);
            add_init_f32(g, sb->name, 1, &C, p[n->slot + 1]->data);
            const float *mean = em->m.running + n->bn_offset;
            add_init_f32(g, join(a, sizeof a, n->name, "running_mean"), 1, &C, mean);
            add_init_f32(g, join(b, sizeof b, n->name, "running_var"), 1, &C, mean + C);
            const char *ins[5] = {in0, sg->name, sb->name, a, b};
            node_begin(&nd, "BatchNormalization", n->name, ins, 5, out);
            attr_float(&nd, "epsilon", em->m.bn_eps);
            node_end(g, &nd);
            return NAS_OK;
        }
        case NAS_NET_RELU:
            node_begin(&nd, "Relu", n->name, &in0, 1, out);
            node_end(g, &nd);
            return NAS_OK;
        case NAS_NET_AVGPOOL:
        case NAS_NET_MAXPOOL:
            node_begin(&nd, n->op == NAS_NET_AVGPOOL ? "AveragePool" : "MaxPool", n->name, &in0, 1,
                       out);
            attr_ints(&nd, "kernel_shape", (int64_t[]){n->k, n->k}, 2);
            attr_ints(&nd, "strides", (int64_t[]){n->stride, n->stride}, 2);
            attr_ints(&nd, "pads", (int64_t[]){n->pad, n->pad, n->pad, n->pad}, 4);
            if (n->op == NAS_NET_AVGPOOL) {
                attr_int(&nd, "count_include_pad", n->count_include_pad ? 1 : 0);
            }
            node_end(g, &nd);
            return NAS_OK;
        case NAS_NET_SUM:
        case NAS_NET_CONCAT: {
            const char **ins = nas_malloc((size_t)n->n_in * sizeof *ins);
            if (!ins) {
                return nas_error(NAS_ENOMEM, "onnx: out of memory");
            }
            for (int i = 0; i < n->n_in; i++) {
                ins[i] = out_name(net, n->in[i]);
            }
            node_begin(&nd, n->op == NAS_NET_SUM ? "Sum" : "Concat", n->name, ins, n->n_in, out);
            if (n->op == NAS_NET_CONCAT) {
                attr_int(&nd, "axis", 1);
            }
            node_end(g, &nd);
            nas_free(ins);
            return NAS_OK;
        }
        case NAS_NET_SLICE: {
            int64_t starts[3], ends[3], axes[3] = {1, 2, 3};
            for (int d = 0; d < 3; d++) {
                starts[d] = n->offset[d];
                ends[d] = n->offset[d] + n->shape[d];
            }
            add_init_i64(g, join(a, sizeof a, n->name, "starts"), starts, 3);
            add_init_i64(g, join(b, sizeof b, n->name, "ends"), ends, 3);
            add_init_i64(g, join(c, sizeof c, n->name, "axes"), axes, 3);
            const char *ins[4] = {in0, a, b, c};
            node_begin(&nd, "Slice", n->name, ins, 4, out);
            node_end(g, &nd);
            return NAS_OK;
        }
        case NAS_NET_ZERO:
            /* zeros shaped like the input, whatever it holds (x * 0 would keep NaN and Inf) */
            node_begin(&nd, "Shape", join(a, sizeof a, n->name, "shape"), &in0, 1, a);
            node_end(g, &nd);
            {
                const char *sin[1] = {a};
                node_begin(&nd, "ConstantOfShape", n->name, sin, 1, out);
                attr_tensor_f32(&nd, "value", 0.0f);
                node_end(g, &nd);
            }
            return NAS_OK;
        case NAS_NET_GAP:
            node_begin(&nd, "GlobalAveragePool", join(a, sizeof a, n->name, "pool"), &in0, 1, a);
            node_end(g, &nd);
            {
                const char *fin[1] = {a};
                node_begin(&nd, "Flatten", n->name, fin, 1, out);
                attr_int(&nd, "axis", 1);
                node_end(g, &nd);
            }
            return NAS_OK;
        case NAS_NET_LINEAR: {
            const nas_net_slot *sw = &net->slots[n->slot], *sb = &net->slots[n->slot + 1];
            add_init_f32(g, sw->name, 2, sw->shape, p[n->slot]->data);
            add_init_f32(g, sb->name, 1, sb->shape, p[n->slot + 1]->data);
            const nas_net_node *src = &net->nodes[n->in[0]];
            const char *x = in0;
            if (src->op != NAS_NET_GAP && (src->shape[1] != 1 || src->shape[2] != 1)) {
                return nas_error(NAS_EUNSUPPORTED, "onnx: linear node %s reads a %lldx%lld map",
                                 n->name, (long long)src->shape[1], (long long)src->shape[2]);
            }
            if (src->op != NAS_NET_GAP) { /* [N, C, 1, 1] -> [N, C] */
                node_begin(&nd, "Flatten", join(a, sizeof a, n->name, "flatten"), &in0, 1, a);
                attr_int(&nd, "axis", 1);
                node_end(g, &nd);
                x = a;
            }
            const char *ins[3] = {x, sw->name, sb->name};
            node_begin(&nd, "Gemm", n->name, ins, 3, out);
            attr_int(&nd, "transB", 1);
            node_end(g, &nd);
            return NAS_OK;
        }
        default:
            return nas_error(NAS_EUNSUPPORTED, "onnx: node %s has op %s, which has no mapping",
                             n->name, nas_net_op_name(n->op));
    }
}

nas_status nas_export_onnx(const nas_export_model *em, const nas_export_meta *meta, int n_meta,
                           void **bytes, size_t *n) {
    *bytes = NULL;
    *n = 0;
    if (!em || !em->net.nodes || !em->m.net || n_meta < 0 || (n_meta > 0 && !meta)) {
        return nas_error(NAS_EINVAL, "onnx: no model to export");
    }
    const nas_net *net = &em->net;
    nas_status st = NAS_OK;
    nas_i_buf g = {0}, m = {0}, ops = {0};
    nas_i_pb_str(&g, 2, "ghnas");
    for (int v = 0; v < net->n_nodes && st == NAS_OK; v++) {
        st = emit_node(&g, em, v);
    }
    NAS_TRY(st);
    const nas_net_config *c = &net->cfg;
    value_info(&g, 11, "image", 4, (int64_t[]){0, c->in_c, c->in_h, c->in_w});
    value_info(&g, 12, "logits", 2, (int64_t[]){0, c->classes});
    char doc[512];
    snprintf(doc, sizeof doc,
             "%s network %s (C %d, N %d), %lld parameters; input: images [N, %d, %d, %d] with "
             "pixel values / 255, normalised inside the graph; output: class logits",
             em->sp.name, net->arch, c->C, c->N, (long long)net->n_params, c->in_c, c->in_h,
             c->in_w);
    nas_i_pb_str(&g, 10, doc);

    nas_i_pb_int(&m, 1, ONNX_IR_VERSION);
    nas_i_pb_str(&m, 2, "ghnas");
    nas_i_pb_str(&m, 3, GHNAS_VERSION);
    nas_i_pb_str(&ops, 1, "");
    nas_i_pb_int(&ops, 2, ONNX_OPSET);
    nas_i_pb_msg(&m, 8, &ops);
    nas_i_pb_int(&m, 5, 1);
    nas_i_pb_str(&m, 6, doc);
    nas_i_pb_msg(&m, 7, &g);
    char buf[512];
    meta_prop(&m, "ghnas.arch", net->arch);
    meta_prop(&m, "ghnas.space", em->sp.name);
    snprintf(buf, sizeof buf,
             "{\"C\": %d, \"N\": %d, \"in_c\": %d, \"in_h\": %d, \"in_w\": %d, \"classes\": %d, "
             "\"params\": %lld, \"flops\": %lld}",
             c->C, c->N, c->in_c, c->in_h, c->in_w, c->classes, (long long)net->n_params,
             (long long)net->flops);
    meta_prop(&m, "ghnas.net", buf);
    size_t len = (size_t)snprintf(buf, sizeof buf,
                                  "image = pixel / 255; normalised in the graph: "
                                  "(image - mean) / std, mean [");
    for (int k = 0; k < em->norm.c && len < sizeof buf; k++) {
        len += (size_t)snprintf(buf + len, sizeof buf - len, k ? ", %.9g" : "%.9g",
                                (double)em->norm.mean[k]);
    }
    for (int k = 0; k < em->norm.c && len < sizeof buf; k++) {
        len += (size_t)snprintf(buf + len, sizeof buf - len, k ? ", %.9g" : "], std [%.9g",
                                (double)em->norm.std[k]);
    }
    if (len < sizeof buf) {
        snprintf(buf + len, sizeof buf - len, "]");
    }
    meta_prop(&m, "ghnas.input", buf);
    for (int i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value) {
            st = nas_error(NAS_EINVAL, "onnx: metadata entry %d has no key or value", i);
            goto cleanup;
        }
        meta_prop(&m, meta[i].key, meta[i].value);
    }
    if (g.oom || m.oom || ops.oom) {
        st = nas_error(NAS_ENOMEM, "onnx: out of memory building the model");
        goto cleanup;
    }
    *bytes = m.p;
    *n = m.n;
    m.p = NULL;
cleanup:
    nas_i_buf_free(&g);
    nas_i_buf_free(&m);
    nas_i_buf_free(&ops);
    return st;
}
