/*
 * Ranker features: the fixed named columns of one architecture (counts, GHN predicted-weight
 * quality, zero-cost proxies, with logs where the values are positive sums spanning decades)
 * and the pooled GHN node embedding.
 */
#include "ghnas/rank.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const COL_NAMES[NAS_RANK_N_COLS] = {
    "log_params", "log_flops",     "ghn_acc",   "ghn_loss", "log_synflow",
    "log_snip",   "log_grad_norm", "jacob_cov", "naswot",
};

nas_rank_input nas_rank_input_missing(void) {
    const double nan = (double)NAN;
    return (nas_rank_input){nan, nan, nan, nan, nan, nan, nan, nan, nan, NULL};
}

nas_status nas_rank_input_set(nas_rank_input *in, const char *name, double value) {
    static const struct {
        const char *scorer;
        size_t off;
    } map[] = {
        {"params", offsetof(nas_rank_input, params)},
        {"flops", offsetof(nas_rank_input, flops)},
        {"ghn", offsetof(nas_rank_input, ghn_acc)},
        {"ghn_acc", offsetof(nas_rank_input, ghn_acc)}, /* its name in the store */
        {"ghn_loss", offsetof(nas_rank_input, ghn_loss)},
        {"synflow", offsetof(nas_rank_input, synflow)},
        {"snip", offsetof(nas_rank_input, snip)},
        {"grad_norm", offsetof(nas_rank_input, grad_norm)},
        {"jacob_cov", offsetof(nas_rank_input, jacob_cov)},
        {"naswot", offsetof(nas_rank_input, naswot)},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (name && strcmp(name, map[i].scorer) == 0) {
            memcpy((char *)in + map[i].off, &value, sizeof value);
            return NAS_OK;
        }
    }
    return nas_error(NAS_ENOTFOUND, "scorer '%s' is not a ranker feature", name ? name : "(null)");
}

int nas_rank_n_features(int n_embed) {
    return NAS_RANK_N_COLS + (n_embed > 0 ? n_embed : 0);
}

char *nas_rank_feature_name(int col, char *buf, size_t cap) {
    if (col >= 0 && col < NAS_RANK_N_COLS) {
        snprintf(buf, cap, "%s", COL_NAMES[col]);
    } else if (col >= NAS_RANK_N_COLS) {
        snprintf(buf, cap, "emb_%d", col - NAS_RANK_N_COLS);
    } else {
        snprintf(buf, cap, "?");
    }
    return buf;
}

nas_status nas_rank_feature_names(int n_embed, char ***names) {
    *names = NULL;
    if (n_embed < 0 || n_embed > NAS_RANK_EMBED_MAX) {
        return nas_error(NAS_EINVAL, "ranker features: %d embedding columns (0 .. %d)", n_embed,
                         NAS_RANK_EMBED_MAX);
    }
    const int d = nas_rank_n_features(n_embed);
    char **v = nas_malloc((size_t)d * (sizeof(char *) + NAS_RANK_NAME_MAX));
    if (!v) {
        return nas_error(NAS_ENOMEM, "ranker features: out of memory");
    }
    char *s = (char *)(v + d);
    for (int c = 0; c < d; c++) {
        v[c] = s + (size_t)c * NAS_RANK_NAME_MAX;
        nas_rank_feature_name(c, v[c], NAS_RANK_NAME_MAX);
    }
    *names = v;
    return NAS_OK;
}

/* A finite value or NaN. */
static double finite_or_nan(double v) {
    return isfinite(v) ? v : (double)NAN;
}

/* log of a positive finite value, NaN otherwise. */
static double log_or_nan(double v) {
    return isfinite(v) && v > 0.0 ? log(v) : (double)NAN;
}

nas_status nas_rank_features(const nas_rank_input *in, int n_embed, double *row) {
    if (n_embed < 0 || n_embed > NAS_RANK_EMBED_MAX) {
        return nas_error(NAS_EINVAL, "ranker features: %d embedding columns (0 .. %d)", n_embed,
                         NAS_RANK_EMBED_MAX);
    }
    row[NAS_RANK_COL_LOG_PARAMS] = log_or_nan(in->params);
    row[NAS_RANK_COL_LOG_FLOPS] = log_or_nan(in->flops);
    row[NAS_RANK_COL_GHN_ACC] = finite_or_nan(in->ghn_acc);
    row[NAS_RANK_COL_GHN_LOSS] = finite_or_nan(in->ghn_loss);
    row[NAS_RANK_COL_LOG_SYNFLOW] = log_or_nan(in->synflow);
    row[NAS_RANK_COL_LOG_SNIP] = log_or_nan(in->snip);
    row[NAS_RANK_COL_LOG_GRAD_NORM] = log_or_nan(in->grad_norm);
    row[NAS_RANK_COL_JACOB_COV] = finite_or_nan(in->jacob_cov);
    row[NAS_RANK_COL_NASWOT] = finite_or_nan(in->naswot);
    for (int k = 0; k < n_embed; k++) {
        row[NAS_RANK_N_COLS + k] = in->embed ? finite_or_nan(in->embed[k]) : (double)NAN;
    }
    return NAS_OK;
}

nas_status nas_rank_embed(const nas_ghn *g, const nas_net *net, double *out) {
    if (!g || !net || !out) {
        return nas_error(NAS_EINVAL, "ranker embedding: needs a GHN, a net and an output");
    }
    const int hid = g->cfg.hid;
    for (int k = 0; k < hid; k++) {
        out[k] = (double)NAN;
    }
    nas_status st = NAS_OK;
    nas_ghn_graph gg;
    memset(&gg, 0, sizeof gg);
    nas_tape t;
    memset(&t, 0, sizeof t);
    NAS_TRY(nas_ghn_graph_build(&gg, &g->cfg, net));
    NAS_TRY(nas_tape_init(&t));
    nas_tape_set_record(&t, false);
    nas_tensor *e = nas_ghn_embed(g, NULL, &t, &gg);
    NAS_TRY(nas_tape_status(&t));
    if (!e || e->shape[1] != hid || e->shape[0] < 1) {
        st = nas_error(NAS_EINTERNAL, "ranker embedding: unexpected embedding shape");
        goto cleanup;
    }
    const int64_t nodes = e->shape[0];
    for (int k = 0; k < hid; k++) {
        out[k] = 0.0;
    }
    for (int64_t v = 0; v < nodes; v++) {
        for (int k = 0; k < hid; k++) {
            out[k] += (double)e->data[v * hid + k];
        }
    }
    for (int k = 0; k < hid; k++) {
        out[k] /= (double)nodes;
    }
cleanup:
    nas_tape_free(&t);
    nas_ghn_graph_free(&gg);
    return st;
}
