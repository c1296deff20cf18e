/*
 * Private interface of the graph hypernetwork (src/ghn): parameter layout, the per-net
 * preparation shared by features.c, gnn.c and decoder.c, and the cross-file helpers.
 */
#pragma once

#include "ghnas/ghn.h"

/* Parameter tensors of a GHN, in declaration order (= index into params.tensors). */
enum {
    GHN_P_OP_EMB,  /* [TYPE_COUNT, hid] */
    GHN_P_CH_EMB,  /* [n_channels, hid/4] */
    GHN_P_SP_EMB,  /* [n_spatial, hid/4] */
    GHN_P_RES_EMB, /* [n_channels, hid] output resolution (channel-size vocabulary) */
    GHN_P_MLP_W1,  /* [hid, hid] real-edge message MLP */
    GHN_P_MLP_B1,  /* [hid] */
    GHN_P_MLP_W2,  /* [hid, hid] */
    GHN_P_MLP_B2,  /* [hid] */
    GHN_P_VE_W1,   /* [hid, hid] virtual-edge message MLP */
    GHN_P_VE_B1,   /* [hid] */
    GHN_P_VE_W2,   /* [hid, hid] */
    GHN_P_VE_B2,   /* [hid] */
    GHN_P_GRU_WI,  /* [3 hid, hid] input gates r, z, n (PyTorch GRUCell layout) */
    GHN_P_GRU_BI,  /* [3 hid] */
    GHN_P_GRU_WH,  /* [3 hid, hid] hidden gates */
    GHN_P_GRU_BH,  /* [3 hid] */
    GHN_P_LN_G,    /* [hid] */
    GHN_P_LN_B,    /* [hid] */
    GHN_P_POS_O,   /* [n_pos, hid] conv head: out-channel tile position */
    GHN_P_POS_I,   /* [n_pos, hid] conv head: in-channel tile position */
    GHN_P_POS_S,   /* [n_pos^2, hid] conv head: spatial tile position */
    GHN_P_DEC_W1,  /* [dec_hid, hid] */
    GHN_P_DEC_B1,  /* [dec_hid] */
    GHN_P_DEC_W2,  /* [chunk_out * chunk_in * chunk_k^2, dec_hid] */
    GHN_P_DEC_B2,  /* [chunk numel] */
    GHN_P_D1_POS,  /* [n_pos, hid] 1-D head: channel tile position */
    GHN_P_D1_W1,   /* [dec_hid, hid] */
    GHN_P_D1_B1,   /* [dec_hid] */
    GHN_P_D1_W2,   /* [2 chunk_out, dec_hid]: gamma chunk, beta chunk */
    GHN_P_D1_B2,   /* [2 chunk_out] */
    GHN_P_CLS_POS, /* [n_pos, hid] classifier head: in-feature tile position */
    GHN_P_CLS_W1,  /* [dec_hid, hid] */
    GHN_P_CLS_B1,  /* [dec_hid] */
    GHN_P_CLS_W2,  /* [classes * chunk_in, dec_hid] */
    GHN_P_CLS_B2,  /* [classes * chunk_in] */
    GHN_P_CLSB_W,  /* [classes, hid] classifier bias head */
    GHN_P_CLSB_B,  /* [classes] */
    GHN_P_COUNT
};

/* Which head produces a slot. */
enum { GHN_HEAD_CONV = 0, GHN_HEAD_1D = 1, GHN_HEAD_CLS = 2, GHN_HEAD_CLS_BIAS = 3 };

/* One decoder head's rows: the node (row in level order) and tile positions of every row. */
typedef struct ghn_rows {
    int n;         /* rows */
    int cap;       /* capacity */
    int32_t *node; /* [n] node row (level order) */
    int32_t *pa;   /* [n] first position index (conv: out tile; 1-D, cls: the tile) */
    int32_t *pb;   /* [n] conv: in tile */
    int32_t *ps;   /* [n] conv: spatial tile */
} ghn_rows;

struct nas_ghn_graph_private {
    int n, L;
    int *perm;   /* [n] level-order row -> node id */
    int *row;    /* [n] node id -> row */
    int *lstart; /* [L + 1] first row of each level */
    /* node features in row order */
    int32_t *f_type, *f_co, *f_ci, *f_kh, *f_kw, *f_res; /* [n] each */
    /* message matrices per level (offsets into mats, -1 when the block is all zero):
       forward  [n_l, lstart[l]]          real (1) / virtual (1/s) weights from earlier rows;
       backward [n_l, n - lstart[l + 1]]  the same from later rows. */
    int64_t *fr, *fv, *br, *bv; /* [L] each */
    float *mats;
    int64_t mats_n;
    /* decoder rows */
    ghn_rows conv, d1, cls;
    int cls_row; /* row of the (last) linear node, -1 without one */
    /* per-slot assembly */
    int *head;      /* [n_slots] GHN_HEAD_* */
    float *scale;   /* [n_slots] normalisation factor of conv/linear weights, 1 otherwise */
    int32_t **gidx; /* [n_slots] gather indices into the head's flattened output (NULL for
                       the classifier bias) */
    int32_t *gbuf;  /* storage of all gidx arrays */
};

/* Layout of nas_ghn.seen: one byte per row of these tables, in this order. */
enum {
    GHN_SEEN_CH,
    GHN_SEEN_SP,
    GHN_SEEN_RES,
    GHN_SEEN_POS_O,
    GHN_SEEN_POS_I,
    GHN_SEEN_POS_S,
    GHN_SEEN_D1,
    GHN_SEEN_CLS,
    GHN_SEEN_COUNT
};
/* Offset of table k in seen[] and its number of rows. */
int64_t nas_i_ghn_seen_offset(const nas_ghn_config *cfg, int k, int64_t *rows);

/* ghn.c: *dst = *src with every untrained table row replaced by its stand-in (nas_ghn.seen);
 * *buf is the allocation holding the replaced index arrays (NULL if none), freed by the caller. */
nas_status nas_i_ghn_remap(const nas_ghn *g, const nas_ghn_graph_private *src,
                           nas_ghn_graph_private *dst, int32_t **buf);

/* features.c: level order and feature indices. */
nas_status nas_i_ghn_features_build(nas_ghn_graph_private *g, const nas_net *net);
/* gnn.c: message matrices. */
nas_status nas_i_ghn_messages_build(nas_ghn_graph_private *g, const nas_net *net,
                                    const nas_ghn_config *cfg, int *n_real, int *n_virtual);
/* gnn.c: node features -> GNN -> LayerNorm; [n, hid] in level (row) order. */
nas_tensor *nas_i_ghn_node_states(const nas_ghn_config *cfg, nas_tensor *const *p, nas_tape *t,
                                  const nas_ghn_graph_private *g);
/* decoder.c: decoder rows and per-slot gather maps. */
nas_status nas_i_ghn_decoder_build(nas_ghn_graph_private *g, const nas_net *net,
                                   const nas_ghn_config *cfg);
/* decoder.c: all slot tensors from node states h [n, hid] (row order). */
nas_status nas_i_ghn_decode(const nas_ghn_config *cfg, nas_tensor *const *p, nas_tape *t,
                            const nas_ghn_graph_private *g, const nas_net *net, nas_tensor *h,
                            nas_tensor **w);
/* normalise.c: GHN-2 normalisation of a raw predicted slot tensor. */
nas_tensor *nas_i_ghn_normalise(nas_tape *t, nas_tensor *raw, nas_net_role role, float scale,
                                bool on);
/* normalise.c: the fan-in factor sqrt(beta / fan_in) of a weight slot (1 for 1-D slots). */
float nas_i_ghn_weight_scale(const nas_net *net, int slot);

/* Growable rows helper (decoder.c). */
nas_status nas_i_ghn_rows_push(ghn_rows *r, int32_t node, int32_t pa, int32_t pb, int32_t ps);
void nas_i_ghn_rows_free(ghn_rows *r);
