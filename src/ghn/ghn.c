/*
 * The GHN model: configuration, parameter layout and initialisation, the per-net preparation
 * (features, message matrices, decoder plans), prediction of every weight of a net as tape
 * values, node embeddings, per-thread parameter views, and evaluation of predicted weights.
 */
#include "ghn-impl.h"

#include "ghnas/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- configuration -------------------------------------------------------------------------- */

static const char *const decoder_names[NAS_GHN_DECODER_COUNT] = {"chunk", "tile"};

const char *nas_ghn_decoder_name(nas_ghn_decoder d) {
    if ((int)d < 0 || d >= NAS_GHN_DECODER_COUNT) {
        return "?";
    }
    return decoder_names[d];
}

nas_status nas_ghn_decoder_from_name(const char *name, nas_ghn_decoder *out) {
    for (int i = 0; i < NAS_GHN_DECODER_COUNT; i++) {
        if (name && strcmp(name, decoder_names[i]) == 0) {
            *out = (nas_ghn_decoder)i;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EINVAL, "unknown GHN decoder '%s' (known: chunk, tile)",
                     name ? name : "(null)");
}

nas_ghn_config nas_ghn_config_default(void) {
    nas_ghn_config c;
    memset(&c, 0, sizeof c);
    c.hid = 32;
    c.rounds = 1;
    c.s_max = 50;
    c.decoder = NAS_GHN_DECODER_CHUNK;
    c.chunk_out = 16;
    c.chunk_in = 16;
    c.chunk_k = 3;
    c.dec_hid = 128;
    c.n_pos = 4;
    c.classes = 10;
    c.res_embed = true;
    c.layernorm = true;
    c.weight_norm = true;
    return c;
}

nas_status nas_ghn_config_validate(const nas_ghn_config *c) {
    if (c->hid < 4 || c->hid > 1024 || c->hid % 4 != 0) {
        return nas_error(NAS_EINVAL, "ghn config: hid must be a multiple of 4 in [4, 1024], got %d",
                         c->hid);
    }
    if (c->rounds < 1 || c->rounds > 16) {
        return nas_error(NAS_EINVAL, "ghn config: rounds must be in [1, 16], got %d", c->rounds);
    }
    if (c->s_max < 0 || c->s_max > 1000) {
        return nas_error(NAS_EINVAL, "ghn config: s_max must be in [0, 1000], got %d", c->s_max);
    }
    if ((int)c->decoder < 0 || c->decoder >= NAS_GHN_DECODER_COUNT) {
        return nas_error(NAS_EINVAL, "ghn config: unknown decoder %d", (int)c->decoder);
    }
    if (c->chunk_out < 1 || c->chunk_out > 256 || c->chunk_in < 1 || c->chunk_in > 256) {
        return nas_error(NAS_EINVAL,
                         "ghn config: chunk_out and chunk_in must be in [1, 256], got "
                         "%d and %d",
                         c->chunk_out, c->chunk_in);
    }
    if (c->chunk_k < 1 || c->chunk_k > 16) {
        return nas_error(NAS_EINVAL, "ghn config: chunk_k must be in [1, 16], got %d", c->chunk_k);
    }
    if (c->dec_hid < 1 || c->dec_hid > 8192) {
        return nas_error(NAS_EINVAL, "ghn config: dec_hid must be in [1, 8192], got %d",
                         c->dec_hid);
    }
    if (c->n_pos < 1 || c->n_pos > 64) {
        return nas_error(NAS_EINVAL, "ghn config: n_pos must be in [1, 64], got %d", c->n_pos);
    }
    if (c->classes < 1 || c->classes > 100000) {
        return nas_error(NAS_EINVAL, "ghn config: classes must be in [1, 100000], got %d",
                         c->classes);
    }
    return NAS_OK;
}

bool nas_ghn_config_diff(const nas_ghn_config *a, const nas_ghn_config *b, const char *name_a,
                         const char *name_b, char *buf, size_t cap) {
    struct {
        const char *name;
        long va, vb;
    } f[] = {
        {"hid", a->hid, b->hid},
        {"rounds", a->rounds, b->rounds},
        {"s_max", a->s_max, b->s_max},
        {"decoder", (long)a->decoder, (long)b->decoder},
        {"chunk_out", a->chunk_out, b->chunk_out},
        {"chunk_in", a->chunk_in, b->chunk_in},
        {"chunk_k", a->chunk_k, b->chunk_k},
        {"dec_hid", a->dec_hid, b->dec_hid},
        {"n_pos", a->n_pos, b->n_pos},
        {"classes", a->classes, b->classes},
        {"res_embed", a->res_embed, b->res_embed},
        {"layernorm", a->layernorm, b->layernorm},
        {"weight_norm", a->weight_norm, b->weight_norm},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].va != f[i].vb) {
            if (strcmp(f[i].name, "decoder") == 0) {
                snprintf(buf, cap, "decoder: %s %s, %s %s", name_a,
                         nas_ghn_decoder_name(a->decoder), name_b,
                         nas_ghn_decoder_name(b->decoder));
            } else {
                snprintf(buf, cap, "%s: %s %ld, %s %ld", f[i].name, name_a, f[i].va, name_b,
                         f[i].vb);
            }
            return true;
        }
    }
    if (cap > 0) {
        buf[0] = '\0';
    }
    return false;
}

/* ---- model ---------------------------------------------------------------------------------- */

typedef struct param_decl {
    const char *name;
    int ndim;
    int64_t shape[2];
    uint32_t flags;
} param_decl;

static void declare(const nas_ghn_config *c, param_decl *d) {
    const int64_t h = c->hid, dh = c->dec_hid, P = c->n_pos;
    const int64_t cn = (int64_t)c->chunk_out * c->chunk_in * c->chunk_k * c->chunk_k;
    const uint32_t nd = NAS_TENSOR_NO_DECAY;
#define D2(i, nm, a, b) d[i] = (param_decl){nm, 2, {a, b}, 0}
#define D1(i, nm, a)                                                                               \
    d[i] = (param_decl) {                                                                          \
        nm, 1, {a, 1}, nd                                                                          \
    }
    D2(GHN_P_OP_EMB, "embed.op", NAS_GHN_TYPE_COUNT, h);
    D2(GHN_P_CH_EMB, "embed.channels", nas_ghn_vocab_channels(), h / 4);
    D2(GHN_P_SP_EMB, "embed.spatial", nas_ghn_vocab_spatial(), h / 4);
    D2(GHN_P_RES_EMB, "embed.resolution", nas_ghn_vocab_channels(), h);
    D2(GHN_P_MLP_W1, "gnn.mlp.0.weight", h, h);
    D1(GHN_P_MLP_B1, "gnn.mlp.0.bias", h);
    D2(GHN_P_MLP_W2, "gnn.mlp.2.weight", h, h);
    D1(GHN_P_MLP_B2, "gnn.mlp.2.bias", h);
    D2(GHN_P_VE_W1, "gnn.mlp_ve.0.weight", h, h);
    D1(GHN_P_VE_B1, "gnn.mlp_ve.0.bias", h);
    D2(GHN_P_VE_W2, "gnn.mlp_ve.2.weight", h, h);
    D1(GHN_P_VE_B2, "gnn.mlp_ve.2.bias", h);
    D2(GHN_P_GRU_WI, "gnn.gru.weight_ih", 3 * h, h);
    D1(GHN_P_GRU_BI, "gnn.gru.bias_ih", 3 * h);
    D2(GHN_P_GRU_WH, "gnn.gru.weight_hh", 3 * h, h);
    D1(GHN_P_GRU_BH, "gnn.gru.bias_hh", 3 * h);
    D1(GHN_P_LN_G, "ln.weight", h);
    D1(GHN_P_LN_B, "ln.bias", h);
    D2(GHN_P_POS_O, "decoder.pos_out", P, h);
    D2(GHN_P_POS_I, "decoder.pos_in", P, h);
    D2(GHN_P_POS_S, "decoder.pos_spatial", P * P, h);
    D2(GHN_P_DEC_W1, "decoder.0.weight", dh, h);
    D1(GHN_P_DEC_B1, "decoder.0.bias", dh);
    D2(GHN_P_DEC_W2, "decoder.2.weight", cn, dh);
    D1(GHN_P_DEC_B2, "decoder.2.bias", cn);
    D2(GHN_P_D1_POS, "decoder_1d.pos", P, h);
    D2(GHN_P_D1_W1, "decoder_1d.0.weight", dh, h);
    D1(GHN_P_D1_B1, "decoder_1d.0.bias", dh);
    D2(GHN_P_D1_W2, "decoder_1d.2.weight", 2 * (int64_t)c->chunk_out, dh);
    D1(GHN_P_D1_B2, "decoder_1d.2.bias", 2 * (int64_t)c->chunk_out);
    D2(GHN_P_CLS_POS, "decoder_cls.pos", P, h);
    D2(GHN_P_CLS_W1, "decoder_cls.0.weight", dh, h);
    D1(GHN_P_CLS_B1, "decoder_cls.0.bias", dh);
    D2(GHN_P_CLS_W2, "decoder_cls.2.weight", (int64_t)c->classes * c->chunk_in, dh);
    D1(GHN_P_CLS_B2, "decoder_cls.2.bias", (int64_t)c->classes * c->chunk_in);
    D2(GHN_P_CLSB_W, "decoder_cls_bias.weight", c->classes, h);
    D1(GHN_P_CLSB_B, "decoder_cls_bias.bias", c->classes);
#undef D1
#undef D2
}

int64_t nas_ghn_config_numel(const nas_ghn_config *cfg) {
    param_decl d[GHN_P_COUNT];
    declare(cfg, d);
    int64_t n = 0;
    for (int i = 0; i < GHN_P_COUNT; i++) {
        n += d[i].ndim == 1 ? d[i].shape[0] : d[i].shape[0] * d[i].shape[1];
    }
    return n;
}

nas_status nas_ghn_init(nas_ghn *g, const nas_ghn_config *cfg, uint64_t seed) {
    memset(g, 0, sizeof *g);
    nas_ghn_config c = cfg ? *cfg : nas_ghn_config_default();
    NAS_CHECK(nas_ghn_config_validate(&c));
    g->cfg = c;
    nas_status st = NAS_OK;
    param_decl d[GHN_P_COUNT];
    declare(&c, d);
    NAS_TRY(nas_params_init(&g->params));
    for (int i = 0; i < GHN_P_COUNT; i++) {
        if (!nas_params_add(&g->params, d[i].name, d[i].ndim, d[i].shape, d[i].flags)) {
            st = nas_error_wrap(NAS_ENOMEM, "ghn init");
            goto cleanup;
        }
    }
    NAS_TRY(nas_params_finalize(&g->params));
    int64_t rows = 0;
    g->n_seen = nas_i_ghn_seen_offset(&c, GHN_SEEN_COUNT, &rows);
    g->seen = nas_calloc((size_t)g->n_seen, 1);
    if (!g->seen) {
        st = nas_error(NAS_ENOMEM, "ghn init: out of memory");
        goto cleanup;
    }
    nas_rng rng;
    nas_rng_seed(&rng, seed);
    nas_tensor **p = g->params.tensors;
    const float gru_b = 1.0f / sqrtf((float)c.hid);
    for (int i = 0; i < GHN_P_COUNT; i++) {
        switch (i) {
            case GHN_P_OP_EMB:
            case GHN_P_CH_EMB:
            case GHN_P_SP_EMB:
            case GHN_P_RES_EMB:
            case GHN_P_POS_O:
            case GHN_P_POS_I:
            case GHN_P_POS_S:
            case GHN_P_D1_POS:
            case GHN_P_CLS_POS:
                NAS_TRY(nas_init_normal(p[i], &rng, 0.0f, 1.0f));
                break;
            case GHN_P_GRU_WI:
            case GHN_P_GRU_BI:
            case GHN_P_GRU_WH:
            case GHN_P_GRU_BH:
                NAS_TRY(nas_init_uniform(p[i], &rng, -gru_b, gru_b));
                break;
            case GHN_P_LN_G:
                NAS_TRY(nas_init_ones(p[i]));
                break;
            case GHN_P_LN_B:
                NAS_TRY(nas_init_zeros(p[i]));
                break;
            case GHN_P_MLP_W1:
            case GHN_P_MLP_W2:
            case GHN_P_VE_W1:
            case GHN_P_VE_W2:
            case GHN_P_DEC_W1:
            case GHN_P_DEC_W2:
            case GHN_P_D1_W1:
            case GHN_P_D1_W2:
            case GHN_P_CLS_W1:
            case GHN_P_CLS_W2:
            case GHN_P_CLSB_W:
                NAS_TRY(nas_init_default(p[i], p[i + 1], &rng)); /* weight then its bias */
                break;
            default:
                break; /* biases: drawn with their weight */
        }
    }
cleanup:
    if (st != NAS_OK) {
        nas_ghn_free(g);
    }
    return st;
}

void nas_ghn_free(nas_ghn *g) {
    if (!g) {
        return;
    }
    nas_params_free(&g->params);
    nas_free(g->seen);
    memset(g, 0, sizeof *g);
}

int64_t nas_ghn_numel(const nas_ghn *g) {
    return g->params.numel;
}

/* ---- per-net preparation -------------------------------------------------------------------- */

static void graph_private_free(nas_ghn_graph_private *g) {
    if (!g) {
        return;
    }
    nas_free(g->perm);
    nas_free(g->row);
    nas_free(g->lstart);
    nas_free(g->f_type);
    nas_free(g->fr);
    nas_free(g->mats);
    nas_i_ghn_rows_free(&g->conv);
    nas_i_ghn_rows_free(&g->d1);
    nas_i_ghn_rows_free(&g->cls);
    nas_free(g->head);
    nas_free(g->scale);
    nas_free(g->gidx);
    nas_free(g->gbuf);
    nas_free(g);
}

nas_status nas_ghn_graph_build(nas_ghn_graph *gg, const nas_ghn_config *cfg, const nas_net *net) {
    memset(gg, 0, sizeof *gg);
    if (!net || !net->nodes || net->n_nodes < 1) {
        return nas_error(NAS_EINVAL, "ghn graph: the net is not compiled");
    }
    NAS_CHECK(nas_ghn_config_validate(cfg));
    nas_status st = NAS_OK;
    nas_ghn_graph_private *g = nas_calloc(1, sizeof *g);
    if (!g) {
        return nas_error(NAS_ENOMEM, "ghn graph: out of memory");
    }
    int nr = 0, nv = 0;
    NAS_TRY(nas_i_ghn_features_build(g, net));
    NAS_TRY(nas_i_ghn_messages_build(g, net, cfg, &nr, &nv));
    NAS_TRY(nas_i_ghn_decoder_build(g, net, cfg));
    gg->net = net;
    gg->n_nodes = net->n_nodes;
    gg->n_levels = g->L;
    gg->n_slots = net->n_slots;
    gg->n_real_edges = nr;
    gg->n_virtual_edges = nv;
    gg->n_tiles = g->conv.n;
    gg->priv = g;
    g = NULL;
cleanup:
    if (st != NAS_OK) {
        nas_error_wrap(st, "ghn graph of %s", net->arch);
        memset(gg, 0, sizeof *gg);
    }
    graph_private_free(g);
    return st;
}

void nas_ghn_graph_free(nas_ghn_graph *gg) {
    if (!gg) {
        return;
    }
    graph_private_free(gg->priv);
    memset(gg, 0, sizeof *gg);
}

/* ---- trained rows -----------------------------------------------------------------------------
 */

int64_t nas_i_ghn_seen_offset(const nas_ghn_config *cfg, int k, int64_t *rows) {
    const int64_t P = cfg->n_pos;
    const int64_t n[GHN_SEEN_COUNT] = {nas_ghn_vocab_channels(),
                                       nas_ghn_vocab_spatial(),
                                       nas_ghn_vocab_channels(),
                                       P,
                                       P,
                                       P * P,
                                       P,
                                       P};
    int64_t off = 0;
    for (int i = 0; i < k && i < GHN_SEEN_COUNT; i++) {
        off += n[i];
    }
    *rows = k < GHN_SEEN_COUNT ? n[k] : 0;
    return off;
}

static void mark(uint8_t *seen, const int32_t *idx, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t *b = &seen[idx[i]];
#ifdef _OPENMP
#pragma omp atomic write
#endif
        *b = 1;
    }
}

void nas_ghn_mark_seen(nas_ghn *g, const nas_ghn_graph *gg) {
    const nas_ghn_graph_private *p = gg->priv;
    int64_t rows;
    uint8_t *s = g->seen;
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_CH, &rows), p->f_co, p->n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_CH, &rows), p->f_ci, p->n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_SP, &rows), p->f_kh, p->n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_SP, &rows), p->f_kw, p->n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_RES, &rows), p->f_res, p->n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_POS_O, &rows), p->conv.pa, p->conv.n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_POS_I, &rows), p->conv.pb, p->conv.n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_POS_S, &rows), p->conv.ps, p->conv.n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_D1, &rows), p->d1.pa, p->d1.n);
    mark(s + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_CLS, &rows), p->cls.pa, p->cls.n);
}

void nas_ghn_clear_seen(nas_ghn *g) {
    memset(g->seen, 0, (size_t)g->n_seen);
}

static bool any_seen(const uint8_t *seen, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (seen[i]) {
            return true;
        }
    }
    return false;
}

/* Nearest trained entry of a size vocabulary (by size; ties to the smaller). */
static int32_t vocab_map(const uint8_t *seen, int n, int64_t (*value)(int), int32_t i) {
    if (seen[i]) {
        return i;
    }
    int lo = i - 1, hi = i + 1;
    while (lo >= 0 && !seen[lo]) {
        lo--;
    }
    while (hi < n && !seen[hi]) {
        hi++;
    }
    if (lo < 0) {
        return hi < n ? hi : i;
    }
    if (hi >= n) {
        return lo;
    }
    return value(hi) - value(i) < value(i) - value(lo) ? hi : lo;
}

/* A tile position never trained wraps modulo the trained range. */
static int32_t pos_map(const uint8_t *seen, int P, int32_t p) {
    if (seen[p]) {
        return p;
    }
    int hi = -1;
    for (int j = 0; j < P; j++) {
        hi = seen[j] ? j : hi;
    }
    if (hi < 0) {
        return p;
    }
    int32_t q = p % (hi + 1);
    while (q > 0 && !seen[q]) {
        q--;
    }
    return seen[q] ? q : hi;
}

/* Spatial positions y * P + x: rows and columns wrap separately. */
static int32_t pos2_map(const uint8_t *seen, int P, int32_t p) {
    if (seen[p]) {
        return p;
    }
    uint8_t ys[64] = {0}, xs[64] = {0}; /* P <= 64 */
    for (int y = 0; y < P; y++) {
        for (int x = 0; x < P; x++) {
            ys[y] |= seen[y * P + x];
            xs[x] |= seen[y * P + x];
        }
    }
    return pos_map(ys, P, p / P) * P + pos_map(xs, P, p % P);
}

/* A copy of the graph's index arrays with every untrained row replaced (see nas_ghn.seen).
 * *buf receives the allocation to free (NULL when nothing needed replacing). */
nas_status nas_i_ghn_remap(const nas_ghn *g, const nas_ghn_graph_private *src,
                           nas_ghn_graph_private *dst, int32_t **buf) {
    *dst = *src;
    *buf = NULL;
    if (!g->seen || !any_seen(g->seen, g->n_seen)) {
        return NAS_OK;
    }
    const int n = src->n, P = g->cfg.n_pos;
    const int64_t total = 5 * (int64_t)n + 3 * (int64_t)src->conv.n + src->d1.n + src->cls.n;
    int32_t *b = nas_malloc((size_t)(total > 0 ? total : 1) * sizeof *b);
    if (!b) {
        return nas_error(NAS_ENOMEM, "ghn predict: out of memory");
    }
    *buf = b;
    int64_t rows;
    const uint8_t *ch = g->seen + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_CH, &rows);
    const uint8_t *sp = g->seen + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_SP, &rows);
    const uint8_t *rs = g->seen + nas_i_ghn_seen_offset(&g->cfg, GHN_SEEN_RES, &rows);
    const int nch = nas_ghn_vocab_channels(), nsp = nas_ghn_vocab_spatial();
    struct {
        const int32_t *in;
        const uint8_t *seen;
        bool channel_vocab;
    } v[5] = {{src->f_co, ch, true},
              {src->f_ci, ch, true},
              {src->f_kh, sp, false},
              {src->f_kw, sp, false},
              {src->f_res, rs, true}};
    int32_t *f[5];
    for (int k = 0; k < 5; k++) {
        f[k] = b + (int64_t)k * n;
        const int nv = v[k].channel_vocab ? nch : nsp;
        const bool any = any_seen(v[k].seen, nv);
        for (int r = 0; r < n; r++) {
            f[k][r] = !any ? v[k].in[r]
                           : vocab_map(v[k].seen, nv,
                                       v[k].channel_vocab ? nas_ghn_vocab_channel_value
                                                          : nas_ghn_vocab_spatial_value,
                                       v[k].in[r]);
        }
    }
    dst->f_co = f[0];
    dst->f_ci = f[1];
    dst->f_kh = f[2];
    dst->f_kw = f[3];
    dst->f_res = f[4];
    int32_t *q = b + 5 * n;
    struct {
        const int32_t *in;
        int32_t **out;
        int count, table;
        bool two_d;
    } pos[5] = {
        {src->conv.pa, &dst->conv.pa, src->conv.n, GHN_SEEN_POS_O, false},
        {src->conv.pb, &dst->conv.pb, src->conv.n, GHN_SEEN_POS_I, false},
        {src->conv.ps, &dst->conv.ps, src->conv.n, GHN_SEEN_POS_S, true},
        {src->d1.pa, &dst->d1.pa, src->d1.n, GHN_SEEN_D1, false},
        {src->cls.pa, &dst->cls.pa, src->cls.n, GHN_SEEN_CLS, false},
    };
    for (int k = 0; k < 5; k++) {
        const uint8_t *seen = g->seen + nas_i_ghn_seen_offset(&g->cfg, pos[k].table, &rows);
        for (int i = 0; i < pos[k].count; i++) {
            q[i] = pos[k].two_d ? pos2_map(seen, P, pos[k].in[i]) : pos_map(seen, P, pos[k].in[i]);
        }
        *pos[k].out = q;
        q += pos[k].count;
    }
    return NAS_OK;
}

/* ---- prediction ----------------------------------------------------------------------------- */

static nas_status states_failed(nas_tape *t) {
    nas_status st = nas_tape_status(t);
    return st != NAS_OK ? st : NAS_ENOMEM; /* a host allocation failed (message already set) */
}

nas_status nas_ghn_predict(const nas_ghn *g, nas_tensor *const *p, nas_tape *t,
                           const nas_ghn_graph *gg, nas_tensor **w) {
    if (!g || !gg || !gg->priv || !w) {
        return nas_error(NAS_EINVAL, "ghn predict: model, graph or output array missing");
    }
    if (!p) {
        p = g->params.tensors;
    }
    nas_ghn_graph_private local;
    int32_t *buf = NULL;
    NAS_CHECK(nas_i_ghn_remap(g, gg->priv, &local, &buf));
    nas_status st;
    nas_tensor *h = nas_i_ghn_node_states(&g->cfg, p, t, &local);
    if (!h) {
        st = states_failed(t);
    } else {
        st = nas_i_ghn_decode(&g->cfg, p, t, &local, gg->net, h, w);
    }
    nas_free(buf);
    return st;
}

nas_tensor *nas_ghn_embed(const nas_ghn *g, nas_tensor *const *p, nas_tape *t,
                          const nas_ghn_graph *gg) {
    if (!p) {
        p = g->params.tensors;
    }
    nas_ghn_graph_private local;
    int32_t *buf = NULL;
    if (nas_i_ghn_remap(g, gg->priv, &local, &buf) != NAS_OK) {
        return NULL;
    }
    nas_tensor *h = nas_i_ghn_node_states(&g->cfg, p, t, &local);
    nas_free(buf);
    if (!h) {
        return NULL;
    }
    return nas_embedding(t, h, gg->priv->row, gg->n_nodes);
}

/* ---- views ---------------------------------------------------------------------------------- */

nas_status nas_ghn_view_init(nas_ghn_view *v, const nas_ghn *g) {
    memset(v, 0, sizeof *v);
    const nas_params *ps = &g->params;
    v->count = ps->count;
    v->numel = ps->numel;
    v->p = nas_malloc(ps->count * sizeof *v->p);
    v->store = nas_malloc(ps->count * sizeof *v->store);
    v->grad = nas_calloc((size_t)ps->numel, sizeof *v->grad);
    if (!v->p || !v->store || !v->grad) {
        nas_ghn_view_free(v);
        return nas_error(NAS_ENOMEM, "ghn view: cannot allocate %lld gradients",
                         (long long)ps->numel);
    }
    for (size_t i = 0; i < ps->count; i++) {
        v->store[i] = *ps->tensors[i];
        v->store[i].grad = v->grad + (ps->tensors[i]->data - ps->data);
        v->p[i] = &v->store[i];
    }
    return NAS_OK;
}

void nas_ghn_view_free(nas_ghn_view *v) {
    if (!v) {
        return;
    }
    nas_free(v->p);
    nas_free(v->store);
    nas_free(v->grad);
    memset(v, 0, sizeof *v);
}

/* ---- using predicted weights ---------------------------------------------------------------- */

nas_status nas_ghn_predict_model(const nas_ghn *g, const nas_ghn_graph *gg, nas_net_model *m) {
    if (!m || m->net != gg->net) {
        return nas_error(NAS_EINVAL, "ghn predict model: the model was not made for this net");
    }
    nas_tape t;
    NAS_CHECK(nas_tape_init(&t));
    nas_tape_set_record(&t, false);
    nas_status st = NAS_OK;
    nas_tensor **w = nas_calloc((size_t)(gg->n_slots > 0 ? gg->n_slots : 1), sizeof *w);
    if (!w) {
        st = nas_error(NAS_ENOMEM, "ghn predict model: out of memory");
        goto cleanup;
    }
    NAS_TRY(nas_ghn_predict(g, NULL, &t, gg, w));
    for (int s = 0; s < gg->n_slots; s++) {
        memcpy(m->params.tensors[s]->data, w[s]->data, (size_t)w[s]->numel * sizeof(float));
    }
cleanup:
    nas_free(w);
    nas_tape_free(&t);
    return st;
}

nas_status nas_ghn_eval_ws_init(nas_ghn_eval_ws *ws) {
    memset(ws, 0, sizeof *ws);
    nas_status st = nas_tape_init(&ws->tw);
    if (st == NAS_OK) {
        st = nas_tape_init(&ws->tb);
        if (st != NAS_OK) {
            nas_tape_free(&ws->tw);
        }
    }
    if (st == NAS_OK) {
        nas_tape_set_record(&ws->tw, false);
        nas_tape_set_record(&ws->tb, false);
        ws->ready = true;
    }
    return st;
}

void nas_ghn_eval_ws_free(nas_ghn_eval_ws *ws) {
    if (!ws) {
        return;
    }
    if (ws->ready) {
        nas_tape_free(&ws->tw);
        nas_tape_free(&ws->tb);
    }
    nas_free(ws->x);
    nas_free(ws->y);
    memset(ws, 0, sizeof *ws);
}

/* Grow ws's batch buffers to nb images of `img` floats. */
static nas_status eval_ws_reserve(nas_ghn_eval_ws *ws, int64_t nb, int64_t img) {
    if (nb * img > ws->cap_x) {
        float *x = nas_realloc(ws->x, (size_t)(nb * img) * sizeof *x);
        if (!x) {
            return nas_error(NAS_ENOMEM, "ghn evaluate: out of memory");
        }
        ws->x = x;
        ws->cap_x = nb * img;
    }
    if (nb > ws->cap_y) {
        int32_t *y = nas_realloc(ws->y, (size_t)nb * sizeof *y);
        if (!y) {
            return nas_error(NAS_ENOMEM, "ghn evaluate: out of memory");
        }
        ws->y = y;
        ws->cap_y = nb;
    }
    return NAS_OK;
}

nas_status nas_ghn_evaluate_ws(const nas_ghn *g, nas_ghn_eval_ws *ws, const nas_net *net,
                               const nas_dataset *ds, const int32_t *idx, int64_t n,
                               const nas_data_norm *norm, int batch_size, double *loss,
                               double *acc) {
    return nas_ghn_evaluate_bn_ws(g, ws, net, ds, idx, n, norm, batch_size, NULL, loss, acc);
}

/* BN running statistics of the predicted weights w: the mean over calib's batches of their
 * batch statistics (momentum 1/k at batch k). */
static nas_status calibrate_bn(const nas_net *net, nas_ghn_eval_ws *ws, nas_tensor *const *w,
                               const nas_data_norm *norm, const nas_ghn_bn_calib *calib,
                               float *running) {
    const nas_dataset *ds = calib->ds;
    const int64_t nb = calib->batch_size;
    const int64_t img = (int64_t)ds->c * ds->h * ds->w;
    if (calib->idx == NULL && (int64_t)calib->batches * nb > ds->n) {
        return nas_error(NAS_EINVAL, "ghn evaluate: %lld calibration images asked of %lld",
                         (long long)calib->batches * nb, (long long)ds->n);
    }
    int32_t *seq = nas_malloc((size_t)nb * sizeof *seq);
    if (!seq) {
        return nas_error(NAS_ENOMEM, "ghn evaluate: out of memory");
    }
    nas_status st = eval_ws_reserve(ws, nb, img);
    nas_net_running_reset(net, running);
    for (int k = 0; st == NAS_OK && k < calib->batches; k++) {
        const int32_t *ix = calib->idx ? calib->idx + (int64_t)k * nb : seq;
        for (int64_t i = 0; !calib->idx && i < nb; i++) {
            seq[i] = (int32_t)((int64_t)k * nb + i);
        }
        st = nas_data_batch(ds, ix, nb, norm, ws->x, ws->y);
        if (st != NAS_OK) {
            break;
        }
        nas_tape_reset(&ws->tb);
        int64_t shape[4] = {nb, ds->c, ds->h, ds->w};
        nas_tensor *xt = nas_tensor_from(&ws->tb, 4, shape, ws->x);
        nas_net_run run = nas_net_run_defaults();
        run.bn_mode = NAS_BN_BATCH_STATS;
        run.running = running;
        run.bn_momentum = 1.0f / (float)(k + 1);
        (void)nas_net_forward(&ws->tb, net, w, &run, xt);
        st = nas_tape_status(&ws->tb);
    }
    nas_free(seq);
    return st;
}

nas_status nas_ghn_evaluate_bn_ws(const nas_ghn *g, nas_ghn_eval_ws *ws, const nas_net *net,
                                  const nas_dataset *ds, const int32_t *idx, int64_t n,
                                  const nas_data_norm *norm, int batch_size,
                                  const nas_ghn_bn_calib *calib, double *loss, double *acc) {
    if (calib && (!calib->ds || calib->batches < 1 || calib->batch_size < 2)) {
        return nas_error(NAS_EINVAL, "ghn evaluate: BN calibration needs images, batches >= 1 "
                                     "and a batch of >= 2");
    }
    if (calib && (calib->ds->c != ds->c || calib->ds->h != ds->h || calib->ds->w != ds->w)) {
        return nas_error(NAS_ESHAPE, "ghn evaluate: calibration images differ in shape");
    }
    if (idx == NULL) {
        n = ds->n;
    }
    if (n < 1 || batch_size < 1) {
        return nas_error(NAS_EINVAL, "ghn evaluate: need examples (%lld) and a batch size (%d)",
                         (long long)n, batch_size);
    }
    if (ds->c != net->cfg.in_c || ds->h != net->cfg.in_h || ds->w != net->cfg.in_w) {
        return nas_error(NAS_ESHAPE,
                         "ghn evaluate: %s images are %dx%dx%d, the net expects %dx%dx%d", ds->name,
                         ds->c, ds->h, ds->w, net->cfg.in_c, net->cfg.in_h, net->cfg.in_w);
    }
    if (!ws->ready) {
        NAS_CHECK(nas_ghn_eval_ws_init(ws));
    }
    nas_status st = NAS_OK;
    nas_ghn_graph gg;
    memset(&gg, 0, sizeof gg);
    const int64_t img = (int64_t)ds->c * ds->h * ds->w;
    const int64_t bmax = batch_size < n ? batch_size : n;
    int32_t *all = NULL;
    float *running = NULL;
    nas_net_run run = nas_net_run_defaults();
    nas_tensor **w = nas_calloc((size_t)(net->n_slots > 0 ? net->n_slots : 1), sizeof *w);
    if (!w) {
        st = nas_error(NAS_ENOMEM, "ghn evaluate: out of memory");
        goto cleanup;
    }
    NAS_TRY(eval_ws_reserve(ws, bmax, img));
    if (!idx) {
        all = nas_malloc((size_t)n * sizeof *all);
        if (!all) {
            st = nas_error(NAS_ENOMEM, "ghn evaluate: out of memory");
            goto cleanup;
        }
        for (int64_t i = 0; i < n; i++) {
            all[i] = (int32_t)i;
        }
        idx = all;
    }
    nas_tape_reset(&ws->tw);
    NAS_TRY(nas_ghn_graph_build(&gg, &g->cfg, net));
    NAS_TRY(nas_ghn_predict(g, NULL, &ws->tw, &gg, w));
    if (calib && net->n_running > 0) {
        running = nas_malloc((size_t)net->n_running * sizeof *running);
        if (!running) {
            st = nas_error(NAS_ENOMEM, "ghn evaluate: out of memory");
            goto cleanup;
        }
        NAS_TRY(calibrate_bn(net, ws, w, norm, calib, running));
        NAS_TRY(eval_ws_reserve(ws, bmax, img));
        run.bn_mode = NAS_BN_RUNNING_STATS;
        run.running = running;
    }
    double sum_loss = 0.0;
    int64_t correct = 0;
    for (int64_t off = 0; off < n; off += bmax) {
        int64_t nb = n - off < bmax ? n - off : bmax;
        NAS_TRY(nas_data_batch(ds, idx + off, nb, norm, ws->x, ws->y));
        nas_tape_reset(&ws->tb);
        int64_t shape[4] = {nb, ds->c, ds->h, ds->w};
        nas_tensor *xt = nas_tensor_from(&ws->tb, 4, shape, ws->x);
        nas_tensor *logits = nas_net_forward(&ws->tb, net, w, &run, xt);
        nas_tensor *l = nas_softmax_cross_entropy(&ws->tb, logits, ws->y, 0.0f);
        NAS_TRY(nas_tape_status(&ws->tb));
        sum_loss += (double)l->data[0] * (double)nb;
        correct += nas_count_correct(logits, ws->y, nb);
    }
    *loss = sum_loss / (double)n;
    *acc = (double)correct / (double)n;
cleanup:
    /* The tapes keep their memory for the next call; their contents are dropped now so a
     * workspace never pins a finished candidate's tensors. */
    nas_tape_reset(&ws->tw);
    nas_tape_reset(&ws->tb);
    nas_ghn_graph_free(&gg);
    nas_free(running);
    nas_free(w);
    nas_free(all);
    return st;
}

nas_status nas_ghn_evaluate(const nas_ghn *g, const nas_net *net, const nas_dataset *ds,
                            const int32_t *idx, int64_t n, const nas_data_norm *norm,
                            int batch_size, double *loss, double *acc) {
    nas_ghn_eval_ws ws;
    memset(&ws, 0, sizeof ws);
    nas_status st = nas_ghn_evaluate_ws(g, &ws, net, ds, idx, n, norm, batch_size, loss, acc);
    nas_ghn_eval_ws_free(&ws);
    return st;
}
