/*
 * Optimizers over a whole nas_params block (SGD with optional Nesterov momentum, Adam, AdamW)
 * and the gradient utilities used around a step: global L2 norm, norm clipping and a NaN/Inf
 * check.
 *
 * Parameters, gradients and optimizer state are each one contiguous array indexed alike, so an
 * update is a flat loop. The only per-tensor property is NAS_TENSOR_NO_DECAY: a step walks the
 * tensors in declaration order, merges neighbours with the same decay setting into one range
 * and runs the flat kernel on each range (OpenMP-parallel when the range is large).
 *
 * The arithmetic follows PyTorch's single-tensor implementations in fp32, with the scalar
 * factors (bias corrections, step size, decoupled decay factor) computed in double and rounded
 * once, as Python floats are before they reach a tensor op.
 */
#include "ghnas/nn.h"

#include <math.h>
#include <string.h>

/* Flat loops over more elements than this run on the OpenMP team. */
#define NAS_NN_PAR_MIN 65536

/* Norm and NaN scans use this many fixed blocks, summed in block order: deterministic. */
#define NAS_NN_NORM_BLOCKS 64

/* ---- configuration ------------------------------------------------------------------------- */

static const char *const kind_names[NAS_OPTIM_KIND_COUNT] = {
    [NAS_OPTIM_SGD] = "sgd",
    [NAS_OPTIM_ADAM] = "adam",
    [NAS_OPTIM_ADAMW] = "adamw",
};

const char *nas_optim_kind_name(nas_optim_kind kind) {
    if ((int)kind < 0 || kind >= NAS_OPTIM_KIND_COUNT) {
        return "?";
    }
    return kind_names[kind];
}

nas_optim_config nas_optim_defaults(nas_optim_kind kind) {
    nas_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    c.weight_decay = kind == NAS_OPTIM_ADAMW ? 0.01f : 0.0f;
    return c;
}

nas_status nas_optim_config_validate(const nas_optim_config *cfg) {
    if (!cfg) {
        return nas_error(NAS_EINVAL, "optim: config is NULL");
    }
    if ((int)cfg->kind < 0 || cfg->kind >= NAS_OPTIM_KIND_COUNT) {
        return nas_error(NAS_EINVAL, "optim: unknown optimizer kind %d", (int)cfg->kind);
    }
    const char *name = kind_names[cfg->kind];
    if (!isfinite(cfg->weight_decay) || cfg->weight_decay < 0.0f) {
        return nas_error(NAS_EINVAL, "optim %s: weight_decay must be finite and >= 0, got %g", name,
                         (double)cfg->weight_decay);
    }
    if (cfg->kind == NAS_OPTIM_SGD) {
        if (!isfinite(cfg->momentum) || cfg->momentum < 0.0f) {
            return nas_error(NAS_EINVAL, "optim %s: momentum must be finite and >= 0, got %g", name,
                             (double)cfg->momentum);
        }
        if (cfg->nesterov && cfg->momentum == 0.0f) {
            return nas_error(NAS_EINVAL, "optim %s: nesterov requires momentum > 0", name);
        }
        return NAS_OK;
    }
    if (!(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f)) {
        return nas_error(NAS_EINVAL, "optim %s: beta1 must be in [0, 1), got %g", name,
                         (double)cfg->beta1);
    }
    if (!(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f)) {
        return nas_error(NAS_EINVAL, "optim %s: beta2 must be in [0, 1), got %g", name,
                         (double)cfg->beta2);
    }
    if (!isfinite(cfg->eps) || cfg->eps <= 0.0f) {
        return nas_error(NAS_EINVAL, "optim %s: eps must be finite and > 0, got %g", name,
                         (double)cfg->eps);
    }
    return NAS_OK;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

nas_status nas_optim_init(nas_optim *opt, nas_params *params, const nas_optim_config *cfg) {
    memset(opt, 0, sizeof *opt);
    NAS_CHECK(nas_optim_config_validate(cfg));
    if (!params) {
        return nas_error(NAS_EINVAL, "optim init: params is NULL");
    }
    if (!params->finalized || !params->data || !params->grad) {
        return nas_error(NAS_EINVAL,
                         "optim init: params block is not finalized (call nas_params_finalize "
                         "before creating the optimizer)");
    }
    int64_t n_arrays = 0;
    if (cfg->kind == NAS_OPTIM_SGD) {
        n_arrays = cfg->momentum > 0.0f ? 1 : 0;
    } else {
        n_arrays = 2;
    }
    int64_t state_numel = n_arrays * params->numel;
    float *state = NULL;
    if (state_numel > 0) {
        state = nas_calloc((size_t)state_numel, sizeof(float));
        if (!state) {
            return nas_error(NAS_ENOMEM, "optim init: cannot allocate %lld floats of %s state",
                             (long long)state_numel, kind_names[cfg->kind]);
        }
    }
    opt->cfg = *cfg;
    opt->params = params;
    opt->numel = params->numel;
    opt->step = 0;
    opt->state = state;
    opt->state_numel = state_numel;
    opt->m = n_arrays >= 1 ? state : NULL;
    opt->v = n_arrays >= 2 ? state + params->numel : NULL;
    return NAS_OK;
}

void nas_optim_reset(nas_optim *opt) {
    if (opt->state) {
        memset(opt->state, 0, (size_t)opt->state_numel * sizeof(float));
    }
    opt->step = 0;
}

void nas_optim_free(nas_optim *opt) {
    nas_free(opt->state);
    memset(opt, 0, sizeof *opt);
}

/* ---- kernels: one flat range of n elements ------------------------------------------------- */

/* w, g, buf: [n]. buf NULL when momentum is 0. PyTorch SGD with dampening 0:
 * g' = g + wd*w; buf = momentum*buf + g' (buf starts at 0, so the first step gives buf = g');
 * d = nesterov ? g' + momentum*buf : buf; w -= lr*d. */
static void sgd_range(float *restrict w, const float *restrict g, float *restrict buf, int64_t n,
                      float lr, float wd, float momentum, bool nesterov) {
    if (!buf) {
#pragma omp parallel for if (n > NAS_NN_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            w[i] -= lr * gi;
        }
        return;
    }
#pragma omp parallel for if (n > NAS_NN_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        float b = momentum * buf[i] + gi;
        buf[i] = b;
        float d = nesterov ? gi + momentum * b : b;
        w[i] -= lr * d;
    }
}

/* Scalars of one Adam step, shared by all ranges. */
typedef struct adam_scalars {
    float beta1, one_minus_beta1; /* m = beta1*m + (1-beta1)*g */
    float beta2, one_minus_beta2; /* v = beta2*v + (1-beta2)*g*g */
    float step_size;              /* lr / (1 - beta1^t) */
    float bc2_sqrt;               /* sqrt(1 - beta2^t) */
    float eps;                    /* added to sqrt(v) / bc2_sqrt */
} adam_scalars;

/* w, g, m, v: [n]. l2 = wd added to the gradient (Adam), decay = 1 - lr*wd multiplied into w
 * before the update (AdamW; 1 for Adam or NO_DECAY ranges). */
static void adam_range(float *restrict w, const float *restrict g, float *restrict m,
                       float *restrict v, int64_t n, const adam_scalars *s, float l2, float decay) {
    const adam_scalars k = *s;
#pragma omp parallel for if (n > NAS_NN_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * w[i];
        float mi = k.beta1 * m[i] + k.one_minus_beta1 * gi;
        float vi = k.beta2 * v[i] + k.one_minus_beta2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / k.bc2_sqrt + k.eps;
        w[i] = w[i] * decay - k.step_size * (mi / denom);
    }
}

/* ---- step ---------------------------------------------------------------------------------- */

nas_status nas_optim_step(nas_optim *opt, float lr) {
    nas_params *p = opt->params;
    if (!p) {
        return nas_error(NAS_EINVAL, "optim step: optimizer is not initialised");
    }
    if (!isfinite(lr) || lr < 0.0f) {
        return nas_error(NAS_EINVAL, "optim step: learning rate must be finite and >= 0, got %g",
                         (double)lr);
    }
    if (p->numel != opt->numel || !p->data || !p->grad) {
        return nas_error(NAS_EINVAL,
                         "optim step: params block changed since nas_optim_init (%lld floats "
                         "then, %lld now)",
                         (long long)opt->numel, (long long)p->numel);
    }
    const nas_optim_config *c = &opt->cfg;
    int64_t t = opt->step + 1; /* this step's number for the bias correction */
    adam_scalars as;
    memset(&as, 0, sizeof as);
    float decay_w = 1.0f; /* AdamW factor for decaying ranges */
    if (c->kind != NAS_OPTIM_SGD) {
        double b1 = (double)c->beta1, b2 = (double)c->beta2;
        double bc1 = 1.0 - pow(b1, (double)t);
        double bc2 = 1.0 - pow(b2, (double)t);
        as.beta1 = c->beta1;
        as.one_minus_beta1 = (float)(1.0 - b1);
        as.beta2 = c->beta2;
        as.one_minus_beta2 = (float)(1.0 - b2);
        as.step_size = (float)((double)lr / bc1);
        as.bc2_sqrt = (float)sqrt(bc2);
        as.eps = c->eps;
        if (c->kind == NAS_OPTIM_ADAMW) {
            decay_w = (float)(1.0 - (double)lr * (double)c->weight_decay);
        }
    }

    /* Walk the tensors; each maximal run with the same NO_DECAY flag is one flat range. */
    int64_t off = 0;
    size_t i = 0;
    while (i < p->count) {
        bool no_decay = (p->tensors[i]->flags & NAS_TENSOR_NO_DECAY) != 0;
        int64_t len = 0;
        size_t j = i;
        while (j < p->count && ((p->tensors[j]->flags & NAS_TENSOR_NO_DECAY) != 0) == no_decay) {
            NAS_ASSERT(p->tensors[j]->data == p->data + off + len);
            len += p->tensors[j]->numel;
            j++;
        }
        float *w = p->data + off;
        const float *g = p->grad + off;
        float *m = opt->m ? opt->m + off : NULL;
        float *v = opt->v ? opt->v + off : NULL;
        float wd = no_decay ? 0.0f : c->weight_decay;
        switch (c->kind) {
            case NAS_OPTIM_SGD:
                sgd_range(w, g, m, len, lr, wd, c->momentum, c->nesterov);
                break;
            case NAS_OPTIM_ADAM:
                adam_range(w, g, m, v, len, &as, wd, 1.0f);
                break;
            case NAS_OPTIM_ADAMW:
                adam_range(w, g, m, v, len, &as, 0.0f, no_decay ? 1.0f : decay_w);
                break;
            case NAS_OPTIM_KIND_COUNT:
                NAS_ASSERT(!"validated kind");
        }
        off += len;
        i = j;
    }
    NAS_ASSERT(off == p->numel);
    opt->step = t;
    return NAS_OK;
}

/* ---- gradient utilities -------------------------------------------------------------------- */

double nas_grad_norm(const nas_params *p) {
    if (!p->grad || p->numel == 0) {
        return 0.0;
    }
    const float *g = p->grad;
    const int64_t n = p->numel;
    double partial[NAS_NN_NORM_BLOCKS]; /* sum of squares of each fixed block */
#pragma omp parallel for if (n > NAS_NN_PAR_MIN) schedule(static)
    for (int b = 0; b < NAS_NN_NORM_BLOCKS; b++) {
        int64_t lo = n * b / NAS_NN_NORM_BLOCKS, hi = n * (b + 1) / NAS_NN_NORM_BLOCKS;
        double acc = 0.0;
        for (int64_t i = lo; i < hi; i++) {
            double x = (double)g[i];
            acc += x * x;
        }
        partial[b] = acc;
    }
    double sum = 0.0;
    for (int b = 0; b < NAS_NN_NORM_BLOCKS; b++) {
        sum += partial[b];
    }
    return sqrt(sum);
}

double nas_grad_clip_norm(nas_params *p, float max_norm) {
    double norm = nas_grad_norm(p);
    if (!isfinite(norm) || !(max_norm > 0.0f)) {
        return norm;
    }
    double coef = (double)max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        float *g = p->grad;
        const int64_t n = p->numel;
        const float cf = (float)coef;
#pragma omp parallel for if (n > NAS_NN_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            g[i] *= cf;
        }
    }
    return norm;
}

bool nas_grad_nonfinite(const nas_params *p) {
    if (!p->grad) {
        return false;
    }
    const float *g = p->grad;
    const int64_t n = p->numel;
    int bad = 0;
#pragma omp parallel for if (n > NAS_NN_PAR_MIN) schedule(static) reduction(| : bad)
    for (int b = 0; b < NAS_NN_NORM_BLOCKS; b++) {
        int64_t lo = n * b / NAS_NN_NORM_BLOCKS, hi = n * (b + 1) / NAS_NN_NORM_BLOCKS;
        int found = 0;
        for (int64_t i = lo; i < hi; i++) {
            found |= !isfinite(g[i]);
        }
        bad |= found;
    }
    return bad != 0;
}
