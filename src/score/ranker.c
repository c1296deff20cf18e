/*
 * The learned ranker as a scorer, and the feature rows it reads. A featurizer computes a ranker's
 * input row (rank.h) for one compiled net with the registry's own scorers -- params and FLOPs
 * from the net, the GHN's predicted-weight accuracy and loss (one evaluation), the zero-cost
 * proxies -- and the pooled GHN embedding; only the columns asked for are computed. The fit job
 * and the "ranker" scorer both build rows here, so a ranker reads at search time exactly what it
 * was fitted on.
 */
#include "score-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    nas_rank_col col;
    const char *scorer;
} PROXY_COLS[] = {
    {NAS_RANK_COL_LOG_SYNFLOW, "synflow"},     {NAS_RANK_COL_LOG_SNIP, "snip"},
    {NAS_RANK_COL_LOG_GRAD_NORM, "grad_norm"}, {NAS_RANK_COL_JACOB_COV, "jacob_cov"},
    {NAS_RANK_COL_NASWOT, "naswot"},
};
#define N_PROXY ((int)(sizeof PROXY_COLS / sizeof PROXY_COLS[0]))

struct nas_score_featurizer {
    int n_embed;        /* embedding columns of a row (0 without a GHN) */
    bool want_embed;    /* compute them (else NaN) */
    bool want_size;     /* log_params / log_flops */
    bool want_ghn;      /* ghn_acc / ghn_loss */
    const nas_ghn *ghn; /* not owned */
    nas_scorer ghn_sc;
    nas_scorer proxy[N_PROXY]; /* fn NULL: not wanted */
};

int nas_score_featurizer_width(const nas_score_featurizer *f) {
    return nas_rank_n_features(f->n_embed);
}

void nas_score_featurizer_free(nas_score_featurizer *f) {
    if (!f) {
        return;
    }
    nas_scorer_free(&f->ghn_sc);
    for (int i = 0; i < N_PROXY; i++) {
        nas_scorer_free(&f->proxy[i]);
    }
    nas_free(f);
}

nas_status nas_score_featurizer_make(nas_score_featurizer **out, const nas_score_inputs *in,
                                     const uint8_t *want, int d) {
    *out = NULL;
    const bool have_ghn = in && in->ghn.ghn;
    const bool have_data = in && in->data.ds;
    const int n_embed = have_ghn ? in->ghn.ghn->cfg.hid : 0;
    if (want && d != nas_rank_n_features(n_embed)) {
        if (d > NAS_RANK_N_COLS && !have_ghn) {
            return nas_error(NAS_EINVAL,
                             "ranker features: %d GHN embedding columns asked for "
                             "but no GHN is loaded",
                             d - NAS_RANK_N_COLS);
        }
        return nas_error(NAS_EINVAL,
                         "ranker features: rows of %d columns asked for, but this GHN gives "
                         "%d embedding columns (%d in all): was the ranker fitted with another "
                         "GHN?",
                         d, n_embed, nas_rank_n_features(n_embed));
    }
    nas_score_featurizer *f = nas_calloc(1, sizeof *f);
    if (!f) {
        return nas_error(NAS_ENOMEM, "ranker features: out of memory");
    }
    nas_status st = NAS_OK;
    f->n_embed = n_embed;
    f->ghn = have_ghn ? in->ghn.ghn : NULL;
#define WANT(c) (!want || want[(c)])
    f->want_size = WANT(NAS_RANK_COL_LOG_PARAMS) || WANT(NAS_RANK_COL_LOG_FLOPS);
    f->want_ghn = have_ghn && (WANT(NAS_RANK_COL_GHN_ACC) || WANT(NAS_RANK_COL_GHN_LOSS));
    for (int c = NAS_RANK_N_COLS; c < nas_rank_n_features(n_embed); c++) {
        f->want_embed = f->want_embed || WANT(c);
    }
    if (want && !have_ghn && (want[NAS_RANK_COL_GHN_ACC] || want[NAS_RANK_COL_GHN_LOSS])) {
        st = nas_error(NAS_EINVAL, "ranker features: ghn_acc / ghn_loss asked for but no GHN is "
                                   "loaded");
        goto cleanup;
    }
    if (f->want_ghn) {
        NAS_TRY(nas_scorer_ghn(&f->ghn_sc, &in->ghn));
    }
    for (int i = 0; i < N_PROXY; i++) {
        if (!WANT(PROXY_COLS[i].col) || (!want && !have_data)) {
            continue;
        }
        if (!have_data) {
            st = nas_error(NAS_EINVAL, "ranker features: %s asked for but no data batch is given",
                           PROXY_COLS[i].scorer);
            goto cleanup;
        }
        NAS_TRY(nas_scorer_proxy(&f->proxy[i], PROXY_COLS[i].scorer, &in->data));
    }
#undef WANT
    *out = f;
    f = NULL;
cleanup:
    nas_score_featurizer_free(f);
    return st;
}

/* The "loss" of the ghn scorer's aux_json ({"loss": 0.5} or null). */
static double aux_loss(const char *aux) {
    const char *at = strstr(aux, "\"loss\": ");
    if (!at) {
        return (double)NAN;
    }
    char *end = NULL;
    double v = strtod(at + 8, &end);
    return end != at + 8 ? v : (double)NAN;
}

nas_status nas_score_featurize(const nas_score_featurizer *f, const nas_net *net, double *row) {
    nas_rank_input in = nas_rank_input_missing();
    double *emb = NULL;
    nas_status st = NAS_OK;
    if (f->want_size) {
        in.params = (double)net->n_params;
        in.flops = (double)net->flops;
    }
    if (f->want_ghn) {
        nas_score_value v = {.value = (double)NAN, .aux_json = ""};
        NAS_TRY(f->ghn_sc.fn(&f->ghn_sc, net, &v));
        in.ghn_acc = v.value;
        in.ghn_loss = aux_loss(v.aux_json);
    }
    for (int i = 0; i < N_PROXY; i++) {
        if (!f->proxy[i].fn) {
            continue;
        }
        nas_score_value v = {.value = (double)NAN, .aux_json = ""};
        NAS_TRY(f->proxy[i].fn(&f->proxy[i], net, &v));
        NAS_TRY(nas_rank_input_set(&in, PROXY_COLS[i].scorer, v.value));
    }
    if (f->want_embed) {
        emb = nas_malloc((size_t)f->n_embed * sizeof *emb);
        if (!emb) {
            st = nas_error(NAS_ENOMEM, "ranker features: out of memory");
            goto cleanup;
        }
        NAS_TRY(nas_rank_embed(f->ghn, net, emb));
        in.embed = emb;
    }
    NAS_TRY(nas_rank_features(&in, in.embed ? f->n_embed : 0, row));
    for (int c = NAS_RANK_N_COLS; !in.embed && c < nas_rank_n_features(f->n_embed); c++) {
        row[c] = (double)NAN;
    }
cleanup:
    nas_free(emb);
    return st;
}

/* ---- the scorer ------------------------------------------------------------------------------ */

typedef struct ranker_ctx {
    const nas_rank_model *model; /* not owned */
    nas_score_featurizer *feat;
} ranker_ctx;

static void ranker_ctx_free(void *p) {
    ranker_ctx *r = p;
    nas_score_featurizer_free(r->feat);
    nas_free(r);
}

static nas_status score_ranker(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    const ranker_ctx *r = sc->ctx;
    const int d = r->model->d;
    double *row = nas_malloc((size_t)d * sizeof *row);
    if (!row) {
        return nas_error(NAS_ENOMEM, "ranker scorer: out of memory");
    }
    double mean = (double)NAN, sd = (double)NAN;
    nas_status st = nas_score_featurize(r->feat, net, row);
    if (st == NAS_OK) {
        st = nas_rank_predict(r->model, row, 1, d, &mean, &sd);
    }
    nas_free(row);
    NAS_CHECK(st);
    out->value = mean;
    if (isfinite(sd)) {
        snprintf(out->aux_json, sizeof out->aux_json, "{\"sd\": %.6g}", sd);
    }
    return NAS_OK;
}

nas_status nas_scorer_ranker(nas_scorer *out, const nas_ranker_scorer_config *cfg,
                             const nas_score_inputs *in) {
    memset(out, 0, sizeof *out);
    if (!cfg || !cfg->model || cfg->model->d < 1) {
        return nas_error(NAS_EINVAL, "the ranker scorer needs a fitted ranker (inputs.ranker)");
    }
    const nas_rank_model *m = cfg->model;
    ranker_ctx *r = nas_calloc(1, sizeof *r);
    if (!r) {
        return nas_error(NAS_ENOMEM, "ranker scorer: out of memory");
    }
    r->model = m;
    nas_status st = nas_score_featurizer_make(&r->feat, in, m->used, m->d);
    if (st != NAS_OK) {
        nas_free(r);
        return nas_error_wrap(st, "ranker %lld", (long long)cfg->id);
    }
    snprintf(out->name, sizeof out->name, "ranker");
    out->higher_is_better = true;
    out->fn = score_ranker;
    out->ctx = r;
    out->ctx_free = ranker_ctx_free;
    /* what fixes a value: the ranker itself and the data its features read */
    int len = snprintf(out->recipe, sizeof out->recipe, "ranker %lld (%s, %d labels)",
                       (long long)cfg->id, nas_rank_kind_name(m->kind), m->n);
    if (r->feat->want_ghn && len > 0 && (size_t)len < sizeof out->recipe) {
        len += snprintf(out->recipe + len, sizeof out->recipe - (size_t)len, "; ghn: %s",
                        r->feat->ghn_sc.recipe);
    }
    for (int i = 0; i < N_PROXY && len > 0 && (size_t)len < sizeof out->recipe; i++) {
        if (r->feat->proxy[i].fn) {
            len += snprintf(out->recipe + len, sizeof out->recipe - (size_t)len, "; proxies: %s",
                            r->feat->proxy[i].recipe);
            break; /* every proxy shares the batch recipe */
        }
    }
    return NAS_OK;
}

nas_status nas_i_score_make_ranker(nas_scorer *out, const nas_score_entry *e,
                                   const nas_score_inputs *in) {
    (void)e;
    return nas_scorer_ranker(out, &in->ranker, in);
}
