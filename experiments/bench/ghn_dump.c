/*
 * ghn_dump: everything the GHN computes for one architecture, written to one binary file so that
 * the PyTorch twin (experiments/bench/ghn_torch.py check DUMP) can recompute it and compare.
 *
 *   ghn_dump (--ghn CKPT | [--hid H] [--decoder chunk|tile] [--init-seed S]) [--space nb201]
 *            [--C C] [--N N] [--batch B] [--seed S] [--mark] [--nodes] [--threads T]
 *            --out FILE ARCH
 *
 * The GHN is loaded from a checkpoint or freshly initialised (seed --init-seed, default --seed).
 * The image batch is B training images of Fashion-MNIST drawn with --seed from the training part
 * of the split recorded in the checkpoint (fresh GHN: 10,000 validation images, split seed 1),
 * normalised like training. --mark marks the arch's table rows as trained first, as a training
 * step does (default: predict as scoring does, with the checkpoint's trained rows).
 *
 * File format (little-endian; the style of tests/data/golden_io.py with a dtype per record):
 *   magic "GHND", u32 version (1), u32 record count, then per record:
 *   u32 name length, name (UTF-8), u32 dtype (0 f32, 1 i32, 2 text), u32 ndim, ndim x i64 shape,
 *   data: numel x 4 bytes for f32/i32; shape[0] bytes of UTF-8 for text.
 *
 * Records:
 *   meta                text, "key=value" lines: arch, space, C, N, batch, seed, ghn source, the
 *                       GHN config, input shape, loss and acc (%.9g), vocabulary sizes
 *   ghn.names           text, one parameter name per line, in declaration order
 *   ghn.param/<name>    f32, the parameter's shape
 *   ghn.grad/<name>     f32, d loss / d parameter (loss = mean cross-entropy of this batch)
 *   ghn.seen            i32 [n_seen] trained-row flags used (after --mark)
 *   ir.node_names       text, one node name per line (node id order)
 *   ir.nodes            i32 [n_nodes, 21]: op, n_in, C, H, W, k, stride, pad, dilation, groups,
 *                       count_include_pad, offset c, offset h, offset w, level, slot, n_slots,
 *                       wshape 0..3
 *   ir.edges            i32 [n_edges, 3]: src, dst, operand position (node order, operand order)
 *   ir.dist             i32 [n, n] nas_net_distances(net, max(s_max, 1)): u -> v, 0 = none
 *   ir.slot_names       text, one slot name per line
 *   ir.slots            i32 [n_slots, 8]: node, role, ndim, shape 0..3, fan_in
 *   plan.perm           i32 [n] level-order row -> node id (C internal, src/ghn/ghn-impl.h)
 *   plan.lstart         i32 [L + 1] first row of every level
 *   plan.feat           i32 [n, 6] per row: type, channel idx out, in, spatial idx h, w, resolution
 *                       idx (after the trained-row remap)
 *   plan.conv_rows, plan.d1_rows, plan.cls_rows
 *                       i32 [rows, 4]: node row, pa, pb, ps (positions after the remap)
 *   plan.misc           i32 [4]: cls_row, n_real_edges, n_virtual_edges, n_levels
 *   plan.head           i32 [n_slots] 0 conv, 1 1-D, 2 classifier, 3 classifier bias
 *   plan.scale          f32 [n_slots] normalisation factor of weights (1 otherwise)
 *   plan.gidx/<slot>    i32 [numel] gather index into the head's flattened output
 *   embed               f32 [n_nodes, hid] node embeddings after GNN + LayerNorm (node order)
 *   x                   f32 [B, c, h, w] normalised images;  y  i32 [B] labels
 *   pred/<slot name>    f32 slot shape: the predicted (normalised) weight
 *   pred_grad/<slot>    f32 slot shape: d loss / d predicted weight (zeros where none flows)
 *   node_out/<node>, node_grad/<node>   (--nodes only) f32 [B, C, H, W] (gap, linear: [B, C]):
 *                       every node's output and d loss / d output, for locating differences
 *   logits              f32 [B, classes];  loss  f32 [1];  acc  f32 [1]
 *
 * Uses the internal header src/ghn/ghn-impl.h (nas_ghn_graph.priv and nas_i_ghn_remap) for the
 * plan.* records only; everything else goes through the public API.
 */
#include "ghnas/data.h"
#include "ghnas/ghn.h"
#include "ghnas/net.h"
#include "ghnas/space.h"
#include "ghnas/tensor.h"
#include "ghnas/train.h"

#include "../../src/ghn/ghn-impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DT_F32 = 0, DT_I32 = 1, DT_TEXT = 2 };

/* ---- writer --------------------------------------------------------------------------------- */

typedef struct dump {
    FILE *f;
    uint32_t count;
    bool fail;
} dump;

static void put_u32(dump *d, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    d->fail = d->fail || fwrite(b, 1, 4, d->f) != 4;
}

static void put_i64(dump *d, int64_t v) {
    uint64_t u = (uint64_t)v;
    put_u32(d, (uint32_t)u);
    put_u32(d, (uint32_t)(u >> 32));
}

/* One record; data holds numel 4-byte values (f32/i32) or shape[0] bytes (text). The host is
 * little-endian (x86-64/aarch64), so 4-byte values are written as they are in memory. */
static void record(dump *d, const char *name, int dtype, int ndim, const int64_t *shape,
                   const void *data) {
    size_t nl = strlen(name);
    put_u32(d, (uint32_t)nl);
    d->fail = d->fail || fwrite(name, 1, nl, d->f) != nl;
    put_u32(d, (uint32_t)dtype);
    put_u32(d, (uint32_t)ndim);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        put_i64(d, shape[i]);
        numel *= shape[i];
    }
    size_t bytes = dtype == DT_TEXT ? (size_t)numel : (size_t)numel * 4;
    if (bytes > 0) {
        d->fail = d->fail || fwrite(data, 1, bytes, d->f) != bytes;
    }
    d->count++;
}

static void rec_f32(dump *d, const char *name, int ndim, const int64_t *shape, const float *v) {
    record(d, name, DT_F32, ndim, shape, v);
}

static void rec_i32(dump *d, const char *name, int ndim, const int64_t *shape, const int32_t *v) {
    record(d, name, DT_I32, ndim, shape, v);
}

static void rec_i32_1(dump *d, const char *name, int64_t n, const int32_t *v) {
    rec_i32(d, name, 1, &n, v);
}

static void rec_text(dump *d, const char *name, const char *text) {
    int64_t n = (int64_t)strlen(text);
    record(d, name, DT_TEXT, 1, &n, text);
}

/* Growable text buffer. */
typedef struct text {
    char *p;
    size_t n, cap;
} text;

static void text_add(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void text_add(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->n;
        int k = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            return;
        }
        if (t->p && (size_t)k < room) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = t->cap ? 2 * t->cap : 4096;
        while (cap < t->n + (size_t)k + 1) {
            cap *= 2;
        }
        char *q = realloc(t->p, cap);
        if (!q) {
            return;
        }
        t->p = q;
        t->cap = cap;
    }
}

/* Rows of a decoder head as [rows, 4]. */
static void rec_rows(dump *d, const char *name, const ghn_rows *r) {
    int32_t *buf = malloc((size_t)(r->n > 0 ? r->n : 1) * 4 * sizeof *buf); /* [rows, 4] */
    if (!buf) {
        d->fail = true;
        return;
    }
    for (int i = 0; i < r->n; i++) {
        buf[4 * i + 0] = r->node[i];
        buf[4 * i + 1] = r->pa[i];
        buf[4 * i + 2] = r->pb[i];
        buf[4 * i + 3] = r->ps[i];
    }
    int64_t shape[2] = {r->n, 4};
    rec_i32(d, name, 2, shape, buf);
    free(buf);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f, "usage: ghn_dump (--ghn CKPT | [--hid H] [--decoder chunk|tile] [--init-seed S])\n"
               "                [--space nb201] [--C C] [--N N] [--batch B] [--seed S] [--mark]\n"
               "                [--nodes] [--threads T] [--data-dir DIR] --out FILE ARCH\n");
}

static int fail(const char *what) {
    fprintf(stderr, "ghn_dump: %s: %s\n", what, nas_errmsg());
    return 1;
}

int main(int argc, char **argv) {
    const char *ckpt = NULL, *space = "nb201", *out = NULL, *arch_text = NULL, *dec = "chunk";
    const char *data_dir = NULL;
    int hid = 32, C = 0, N = 0, batch = 64, threads = 1;
    long long seed = 1, init_seed = -1;
    bool mark = false, nodes_out = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(o, "--ghn") == 0 && has) {
            ckpt = argv[++i];
        } else if (strcmp(o, "--hid") == 0 && has) {
            hid = atoi(argv[++i]);
        } else if (strcmp(o, "--decoder") == 0 && has) {
            dec = argv[++i];
        } else if (strcmp(o, "--init-seed") == 0 && has) {
            init_seed = atoll(argv[++i]);
        } else if (strcmp(o, "--space") == 0 && has) {
            space = argv[++i];
        } else if (strcmp(o, "--C") == 0 && has) {
            C = atoi(argv[++i]);
        } else if (strcmp(o, "--N") == 0 && has) {
            N = atoi(argv[++i]);
        } else if (strcmp(o, "--batch") == 0 && has) {
            batch = atoi(argv[++i]);
        } else if (strcmp(o, "--seed") == 0 && has) {
            seed = atoll(argv[++i]);
        } else if (strcmp(o, "--threads") == 0 && has) {
            threads = atoi(argv[++i]);
        } else if (strcmp(o, "--data-dir") == 0 && has) {
            data_dir = argv[++i];
        } else if (strcmp(o, "--out") == 0 && has) {
            out = argv[++i];
        } else if (strcmp(o, "--mark") == 0) {
            mark = true;
        } else if (strcmp(o, "--nodes") == 0) {
            nodes_out = true;
        } else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (o[0] != '-' && !arch_text) {
            arch_text = o;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!out || !arch_text || batch < 1 || C < 0 || N < 0 || threads < 1 || seed < 0) {
        usage(stderr);
        return 2;
    }
    nas_set_threads(threads);

    nas_ghn g;
    nas_ghn_data_info info;
    memset(&g, 0, sizeof g);
    memset(&info, 0, sizeof info);
    if (ckpt) {
        if (nas_ghn_load(&g, NULL, &info, ckpt) != NAS_OK) {
            return fail("loading the GHN");
        }
    } else {
        nas_ghn_config gc = nas_ghn_config_default();
        gc.hid = hid;
        gc.dec_hid = 4 * hid; /* as ghnas train --hid */
        if (nas_ghn_decoder_from_name(dec, &gc.decoder) != NAS_OK ||
            nas_ghn_init(&g, &gc, (uint64_t)(init_seed >= 0 ? init_seed : seed)) != NAS_OK) {
            return fail("initialising the GHN");
        }
    }
    const nas_ghn_config *gc = &g.cfg;

    /* data: the training part of the recorded split (fresh GHN: 10,000 / seed 1) */
    nas_dataset ds;
    nas_data_split split;
    nas_data_norm norm;
    if (nas_data_load_fashion_mnist(&ds, data_dir, "train") != NAS_OK) {
        return fail("loading Fashion-MNIST");
    }
    int64_t n_val = info.dataset[0] ? info.n_val : 10000;
    uint64_t split_seed = info.dataset[0] ? info.split_seed : 1;
    if (nas_data_split_make(&split, ds.n, n_val, split_seed) != NAS_OK) {
        return fail("splitting");
    }
    if (info.dataset[0]) {
        norm = info.norm;
    } else if (nas_data_norm_compute(&ds, split.train, split.n_train, &norm) != NAS_OK) {
        return fail("normalisation");
    }

    /* net */
    nas_space sp;
    nas_arch a;
    nas_net net;
    memset(&net, 0, sizeof net);
    nas_net_config nc = nas_net_config_default();
    nc.C = C;
    nc.N = N;
    nc.in_c = ds.c;
    nc.in_h = ds.h;
    nc.in_w = ds.w;
    nc.classes = gc->classes;
    char canon[NAS_ARCH_STR_MAX];
    if (nas_space_load(&sp, space) != NAS_OK || nas_arch_decode(&sp, arch_text, &a) != NAS_OK ||
        nas_arch_encode(&sp, &a, canon, sizeof canon) != NAS_OK ||
        nas_net_compile(&net, &sp, &a, &nc) != NAS_OK) {
        return fail("compiling the arch");
    }
    nas_ghn_graph gg;
    if (nas_ghn_graph_build(&gg, gc, &net) != NAS_OK) {
        return fail("building the GHN graph");
    }
    if (mark) {
        nas_ghn_mark_seen(&g, &gg);
    }

    /* batch */
    const int64_t B = batch, img = (int64_t)ds.c * ds.h * ds.w;
    float *x = malloc((size_t)(B * img) * sizeof *x); /* [B, c, h, w] */
    int32_t *y = malloc((size_t)B * sizeof *y);       /* [B] */
    int32_t *bidx = malloc((size_t)B * sizeof *bidx); /* [B] */
    nas_tensor **w = calloc((size_t)(net.n_slots > 0 ? net.n_slots : 1), sizeof *w);
    if (!x || !y || !bidx || !w) {
        fprintf(stderr, "ghn_dump: out of memory\n");
        return 1;
    }
    nas_rng r;
    nas_rng_seed(&r, (uint64_t)seed);
    for (int64_t i = 0; i < B; i++) {
        bidx[i] = split.train[nas_rng_below(&r, (uint64_t)split.n_train)];
    }
    if (nas_data_batch(&ds, bidx, B, &norm, x, y) != NAS_OK) {
        return fail("batch");
    }

    /* forward + backward (gradients into g.params.grad) */
    nas_tape t;
    if (nas_tape_init(&t) != NAS_OK) {
        return fail("tape");
    }
    nas_params_zero_grad(&g.params);
    if (nas_ghn_predict(&g, NULL, &t, &gg, w) != NAS_OK) {
        return fail("predict");
    }
    int64_t xs[4] = {B, ds.c, ds.h, ds.w};
    nas_tensor *xt = nas_tensor_from(&t, 4, xs, x);
    nas_net_run run = nas_net_run_defaults();
    nas_tensor **node_out = calloc((size_t)net.n_nodes, sizeof *node_out); /* [n_nodes] */
    if (!node_out) {
        fprintf(stderr, "ghn_dump: out of memory\n");
        return 1;
    }
    run.node_out = node_out;
    nas_tensor *logits = nas_net_forward(&t, &net, w, &run, xt);
    nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, y, 0.0f);
    if (nas_tape_status(&t) != NAS_OK) {
        return fail("forward");
    }
    const float loss_v = loss->data[0];
    const float acc_v = (float)((double)nas_count_correct(logits, y, B) / (double)B);
    if (nas_tape_backward(&t, loss) != NAS_OK) {
        return fail("backward");
    }

    /* node embeddings on a separate, non-recording tape */
    nas_tape te;
    if (nas_tape_init(&te) != NAS_OK) {
        return fail("tape");
    }
    nas_tape_set_record(&te, false);
    nas_tensor *emb = nas_ghn_embed(&g, NULL, &te, &gg);
    if (!emb) {
        return fail("embed");
    }

    /* the C plan after the trained-row remap */
    nas_ghn_graph_private plan;
    int32_t *remap_buf = NULL;
    if (nas_i_ghn_remap(&g, gg.priv, &plan, &remap_buf) != NAS_OK) {
        return fail("remap");
    }

    dump d = {fopen(out, "wb"), 0, false};
    if (!d.f) {
        fprintf(stderr, "ghn_dump: cannot open %s for writing\n", out);
        return 1;
    }
    fwrite("GHND", 1, 4, d.f);
    put_u32(&d, 1);
    put_u32(&d, 0); /* record count, patched at the end */

    text meta = {0};
    text_add(&meta, "arch=%s\nspace=%s\nC=%d\nN=%d\nbatch=%lld\nseed=%lld\nghn=%s\nmark=%d\n",
             canon, sp.name, net.cfg.C, net.cfg.N, (long long)B, seed, ckpt ? ckpt : "fresh",
             (int)mark);
    text_add(&meta,
             "hid=%d\nrounds=%d\ns_max=%d\ndecoder=%s\nchunk_out=%d\nchunk_in=%d\nchunk_k=%d\n"
             "dec_hid=%d\nn_pos=%d\nclasses=%d\nres_embed=%d\nlayernorm=%d\nweight_norm=%d\n",
             gc->hid, gc->rounds, gc->s_max, nas_ghn_decoder_name(gc->decoder), gc->chunk_out,
             gc->chunk_in, gc->chunk_k, gc->dec_hid, gc->n_pos, gc->classes, (int)gc->res_embed,
             (int)gc->layernorm, (int)gc->weight_norm);
    text_add(&meta, "in_c=%d\nin_h=%d\nin_w=%d\nn_vocab_channels=%d\nn_vocab_spatial=%d\n", ds.c,
             ds.h, ds.w, nas_ghn_vocab_channels(), nas_ghn_vocab_spatial());
    text_add(&meta, "loss=%.9g\nacc=%.9g\nnorm_mean=%.9g\nnorm_std=%.9g\n", (double)loss_v,
             (double)acc_v, (double)norm.mean[0], (double)norm.std[0]);
    rec_text(&d, "meta", meta.p);

    /* GHN parameters and gradients */
    text names = {0};
    char nm[256];
    for (size_t i = 0; i < g.params.count; i++) {
        const nas_tensor *p = g.params.tensors[i];
        text_add(&names, "%s\n", p->name);
        snprintf(nm, sizeof nm, "ghn.param/%s", p->name);
        rec_f32(&d, nm, p->ndim, p->shape, p->data);
        snprintf(nm, sizeof nm, "ghn.grad/%s", p->name);
        rec_f32(&d, nm, p->ndim, p->shape, g.params.grad + (p->data - g.params.data));
    }
    rec_text(&d, "ghn.names", names.p);
    {
        int32_t *seen = malloc((size_t)(g.n_seen > 0 ? g.n_seen : 1) * sizeof *seen);
        for (int64_t i = 0; seen && i < g.n_seen; i++) {
            seen[i] = g.seen[i];
        }
        if (seen) {
            rec_i32_1(&d, "ghn.seen", g.n_seen, seen);
        }
        free(seen);
    }

    /* IR */
    const int n = net.n_nodes;
    text nn = {0};
    int32_t *nodes = malloc((size_t)n * 21 * sizeof *nodes);                /* [n, 21] */
    int32_t *edges = malloc((size_t)(net.n_edges + 1) * 3 * sizeof *edges); /* [E, 3] */
    int32_t *dist = malloc((size_t)n * (size_t)n * sizeof *dist);           /* [n, n] */
    if (!nodes || !edges || !dist) {
        fprintf(stderr, "ghn_dump: out of memory\n");
        return 1;
    }
    int64_t ne = 0;
    for (int v = 0; v < n; v++) {
        const nas_net_node *q = &net.nodes[v];
        text_add(&nn, "%s\n", q->name);
        int32_t *row = nodes + 21 * v;
        const int32_t vals[21] = {(int32_t)q->op,
                                  q->n_in,
                                  (int32_t)q->shape[0],
                                  (int32_t)q->shape[1],
                                  (int32_t)q->shape[2],
                                  q->k,
                                  q->stride,
                                  q->pad,
                                  q->dilation,
                                  q->groups,
                                  q->count_include_pad,
                                  (int32_t)q->offset[0],
                                  (int32_t)q->offset[1],
                                  (int32_t)q->offset[2],
                                  q->level,
                                  q->slot,
                                  q->n_slots,
                                  (int32_t)q->wshape[0],
                                  (int32_t)q->wshape[1],
                                  (int32_t)q->wshape[2],
                                  (int32_t)q->wshape[3]};
        memcpy(row, vals, sizeof vals);
        for (int i = 0; i < q->n_in; i++) {
            edges[3 * ne + 0] = q->in[i];
            edges[3 * ne + 1] = v;
            edges[3 * ne + 2] = i;
            ne++;
        }
    }
    rec_text(&d, "ir.node_names", nn.p);
    int64_t s2[2] = {n, 21};
    rec_i32(&d, "ir.nodes", 2, s2, nodes);
    s2[0] = ne;
    s2[1] = 3;
    rec_i32(&d, "ir.edges", 2, s2, edges);
    if (nas_net_distances(&net, gc->s_max > 1 ? gc->s_max : 1, dist) != NAS_OK) {
        return fail("distances");
    }
    s2[0] = n;
    s2[1] = n;
    rec_i32(&d, "ir.dist", 2, s2, dist);
    text sn = {0};
    int32_t *slots = malloc((size_t)(net.n_slots > 0 ? net.n_slots : 1) * 8 * sizeof *slots);
    if (!slots) {
        fprintf(stderr, "ghn_dump: out of memory\n");
        return 1;
    }
    for (int s = 0; s < net.n_slots; s++) {
        const nas_net_slot *sl = &net.slots[s];
        text_add(&sn, "%s\n", sl->name);
        const int32_t vals[8] = {sl->node,
                                 (int32_t)sl->role,
                                 sl->ndim,
                                 (int32_t)sl->shape[0],
                                 (int32_t)sl->shape[1],
                                 (int32_t)sl->shape[2],
                                 (int32_t)sl->shape[3],
                                 (int32_t)sl->fan_in};
        memcpy(slots + 8 * s, vals, sizeof vals);
    }
    rec_text(&d, "ir.slot_names", sn.p);
    s2[0] = net.n_slots;
    s2[1] = 8;
    rec_i32(&d, "ir.slots", 2, s2, slots);

    /* plan */
    rec_i32_1(&d, "plan.perm", n, plan.perm);
    rec_i32_1(&d, "plan.lstart", plan.L + 1, plan.lstart);
    int32_t *feat = malloc((size_t)n * 6 * sizeof *feat); /* [n, 6] */
    if (!feat) {
        fprintf(stderr, "ghn_dump: out of memory\n");
        return 1;
    }
    for (int rr = 0; rr < n; rr++) {
        const int32_t vals[6] = {plan.f_type[rr], plan.f_co[rr], plan.f_ci[rr],
                                 plan.f_kh[rr],   plan.f_kw[rr], plan.f_res[rr]};
        memcpy(feat + 6 * rr, vals, sizeof vals);
    }
    s2[0] = n;
    s2[1] = 6;
    rec_i32(&d, "plan.feat", 2, s2, feat);
    rec_rows(&d, "plan.conv_rows", &plan.conv);
    rec_rows(&d, "plan.d1_rows", &plan.d1);
    rec_rows(&d, "plan.cls_rows", &plan.cls);
    const int32_t misc[4] = {plan.cls_row, gg.n_real_edges, gg.n_virtual_edges, gg.n_levels};
    rec_i32_1(&d, "plan.misc", 4, misc);
    rec_i32_1(&d, "plan.head", net.n_slots, plan.head);
    int64_t ns = net.n_slots;
    rec_f32(&d, "plan.scale", 1, &ns, plan.scale);
    for (int s = 0; s < net.n_slots; s++) {
        if (plan.gidx[s]) {
            snprintf(nm, sizeof nm, "plan.gidx/%s", net.slots[s].name);
            rec_i32_1(&d, nm, net.slots[s].numel, plan.gidx[s]);
        }
    }
    rec_f32(&d, "embed", emb->ndim, emb->shape, emb->data);

    /* data and outputs */
    rec_f32(&d, "x", 4, xs, x);
    rec_i32_1(&d, "y", B, y);
    for (int s = 0; s < net.n_slots; s++) {
        snprintf(nm, sizeof nm, "pred/%s", net.slots[s].name);
        rec_f32(&d, nm, net.slots[s].ndim, net.slots[s].shape, w[s]->data);
    }
    float *zeros = calloc((size_t)(net.n_params > 0 ? net.n_params : 1), sizeof *zeros);
    if (!zeros) {
        fprintf(stderr, "ghn_dump: out of memory\n");
        return 1;
    }
    for (int s = 0; s < net.n_slots; s++) { /* no buffer: no gradient reached the slot */
        snprintf(nm, sizeof nm, "pred_grad/%s", net.slots[s].name);
        rec_f32(&d, nm, net.slots[s].ndim, net.slots[s].shape, w[s]->grad ? w[s]->grad : zeros);
    }
    free(zeros);
    if (nodes_out) { /* every node's output and d loss / d output (zeros where none flows) */
        for (int v = 0; v < n; v++) {
            const nas_tensor *q = node_out[v];
            snprintf(nm, sizeof nm, "node_out/%s", net.nodes[v].name);
            rec_f32(&d, nm, q->ndim, q->shape, q->data);
            float *gz = q->grad ? NULL : calloc((size_t)q->numel, sizeof *gz);
            snprintf(nm, sizeof nm, "node_grad/%s", net.nodes[v].name);
            rec_f32(&d, nm, q->ndim, q->shape, q->grad ? q->grad : gz);
            free(gz);
        }
    }
    rec_f32(&d, "logits", logits->ndim, logits->shape, logits->data);
    int64_t one = 1;
    rec_f32(&d, "loss", 1, &one, &loss_v);
    rec_f32(&d, "acc", 1, &one, &acc_v);

    /* patch the record count */
    if (!d.fail && fseek(d.f, 8, SEEK_SET) == 0) {
        put_u32(&d, d.count);
    } else {
        d.fail = true;
    }
    if (fclose(d.f) != 0 || d.fail) {
        fprintf(stderr, "ghn_dump: writing %s failed\n", out);
        return 1;
    }
    printf("ghn_dump: %s: %s C=%d N=%d, %d nodes, %d levels, %d slots, %d real + %d virtual "
           "edges, %d conv tiles; loss %.6f acc %.4f; %u records\n",
           out, canon, net.cfg.C, net.cfg.N, n, gg.n_levels, net.n_slots, gg.n_real_edges,
           gg.n_virtual_edges, gg.n_tiles, (double)loss_v, (double)acc_v, d.count);

    nas_free(remap_buf);
    free(meta.p);
    free(names.p);
    free(nn.p);
    free(sn.p);
    free(nodes);
    free(edges);
    free(dist);
    free(slots);
    free(feat);
    free(x);
    free(y);
    free(bidx);
    free(w);
    free(node_out);
    nas_tape_free(&te);
    nas_tape_free(&t);
    nas_ghn_graph_free(&gg);
    nas_net_free(&net);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_free(&g);
    return 0;
}
