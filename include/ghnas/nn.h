/*
 * ghnas training building blocks (src/nn): weight initialisers, optimizers over a nas_params
 * block, learning-rate schedules and gradient-norm clipping.
 *
 * Everything follows PyTorch's definitions so that recipes carry over:
 *   - initialisers: torch.nn.init (fan computation, gains, kaiming/xavier) and the default
 *     reset_parameters() of nn.Linear / nn.Conv2d;
 *   - optimizers: torch.optim.SGD (dampening 0), Adam (L2 decay added to the gradient) and
 *     AdamW (decoupled decay), bias-corrected with eps added outside the square root;
 *   - clipping: torch.nn.utils.clip_grad_norm_ (coef = max_norm / (norm + 1e-6), applied < 1).
 *
 * A training step reads:
 *
 *     nas_optim opt;  nas_optim_config oc = nas_optim_defaults(NAS_OPTIM_ADAMW);
 *     if (nas_optim_init(&opt, &params, &oc) != NAS_OK) ... nas_errmsg() ...
 *     nas_schedule sched = nas_schedule_cosine(1e-3f, total_steps, 0.0f, warmup);
 *     for (int64_t s = 0; s < total_steps; s++) {
 *         nas_params_zero_grad(&params);
 *         ...forward, nas_tape_backward...
 *         if (nas_grad_nonfinite(&params)) { skipped++; continue; }
 *         nas_grad_clip_norm(&params, 5.0f);
 *         nas_optim_step(&opt, nas_schedule_lr(&sched, s));
 *     }
 *     nas_optim_free(&opt);
 */
#pragma once

#include "ghnas/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- initialisers (src/nn/init.c) ---------------------------------------------------------- */

/* Which fan a kaiming initialiser scales by (PyTorch's mode='fan_in' / 'fan_out'). */
typedef enum nas_fan_mode {
    NAS_FAN_IN = 0, /* preserves the variance of activations in the forward pass */
    NAS_FAN_OUT = 1 /* preserves the variance of gradients in the backward pass */
} nas_fan_mode;

/* Nonlinearities known to nas_init_gain() (torch.nn.init.calculate_gain). */
typedef enum nas_nonlin {
    NAS_NONLIN_LINEAR = 0,     /* 1 (also conv, identity) */
    NAS_NONLIN_SIGMOID = 1,    /* 1 */
    NAS_NONLIN_TANH = 2,       /* 5/3 */
    NAS_NONLIN_RELU = 3,       /* sqrt(2) */
    NAS_NONLIN_LEAKY_RELU = 4, /* sqrt(2 / (1 + slope^2)) */
} nas_nonlin;

/* Recommended gain for a nonlinearity; `param` is the negative slope of leaky ReLU (ignored
 * otherwise). Unknown values give 1. */
float nas_init_gain(nas_nonlin nl, float param);

/* PyTorch's fan computation for a weight of 2 or more dims: receptive field = product of
 * shape[2..ndim), fan_in = shape[1] * receptive, fan_out = shape[0] * receptive. So a linear
 * weight [out, in] has fan_in = in, and a conv weight [Cout, Cin/groups, kh, kw] has
 * fan_in = Cin/groups * kh * kw. A 1-D tensor has no fans: NAS_ESHAPE. Either output may be NULL.
 */
nas_status nas_init_fans(const nas_tensor *t, int64_t *fan_in, int64_t *fan_out);

/* Fill t->data (t must have data, e.g. a parameter after nas_params_finalize()). Random
 * initialisers draw t->numel values from `r` in storage order, so a seed fixes the result. */
nas_status nas_init_constant(nas_tensor *t, float value);
nas_status nas_init_zeros(nas_tensor *t);
nas_status nas_init_ones(nas_tensor *t);
/* Uniform in [lo, hi), lo < hi. */
nas_status nas_init_uniform(nas_tensor *t, nas_rng *r, float lo, float hi);
/* Normal with the given mean and standard deviation (std >= 0). */
nas_status nas_init_normal(nas_tensor *t, nas_rng *r, float mean, float std);

/* He et al.: std = gain / sqrt(fan) with fan chosen by `mode`; the uniform variant samples
 * [-b, b) with b = sqrt(3) * std. For ReLU networks pass gain = nas_init_gain(NAS_NONLIN_RELU, 0)
 * (= sqrt(2)). Needs >= 2 dims. */
nas_status nas_init_kaiming_normal(nas_tensor *t, nas_rng *r, nas_fan_mode mode, float gain);
nas_status nas_init_kaiming_uniform(nas_tensor *t, nas_rng *r, nas_fan_mode mode, float gain);

/* Glorot & Bengio: std = gain * sqrt(2 / (fan_in + fan_out)); uniform bound = sqrt(3) * std.
 * Needs >= 2 dims. */
nas_status nas_init_xavier_normal(nas_tensor *t, nas_rng *r, float gain);
nas_status nas_init_xavier_uniform(nas_tensor *t, nas_rng *r, float gain);

/* PyTorch's default nn.Linear / nn.Conv2d initialisation: w gets kaiming_uniform with leaky-ReLU
 * slope a = sqrt(5) (i.e. uniform in +-1/sqrt(fan_in)), then the bias b (NULL when the layer has
 * none; any shape) is uniform in +-1/sqrt(fan_in) of w. w is drawn before b. */
nas_status nas_init_default(nas_tensor *w, nas_tensor *b, nas_rng *r);

/* ---- optimizers (src/nn/optim.c) ----------------------------------------------------------- */

typedef enum nas_optim_kind {
    NAS_OPTIM_SGD = 0,   /* SGD, optional (Nesterov) momentum, dampening 0 */
    NAS_OPTIM_ADAM = 1,  /* Adam, weight decay as L2 added to the gradient */
    NAS_OPTIM_ADAMW = 2, /* Adam with decoupled weight decay: w -= lr * wd * w */
    NAS_OPTIM_KIND_COUNT
} nas_optim_kind;

/* Optimizer hyper-parameters (the learning rate is passed to every step instead, so a schedule
 * can drive it). Fields that do not apply to `kind` are ignored. Start from nas_optim_defaults().
 */
typedef struct nas_optim_config {
    nas_optim_kind kind;
    float weight_decay; /* >= 0; tensors flagged NAS_TENSOR_NO_DECAY never decay */
    float momentum;     /* SGD: >= 0 (0 = plain SGD) */
    bool nesterov;      /* SGD: Nesterov momentum (needs momentum > 0) */
    float beta1;        /* Adam/AdamW: first-moment decay, in [0, 1) */
    float beta2;        /* Adam/AdamW: second-moment decay, in [0, 1) */
    float eps;          /* Adam/AdamW: > 0, added to sqrt(v_hat) */
} nas_optim_config;

/*
 * An optimizer bound to one nas_params block (not owned; it must outlive the optimizer and keep
 * its tensor set). The state lives in ONE allocation, `state`, of state_numel floats, split into
 * per-element arrays indexed like params->data:
 *   SGD with momentum: m = momentum buffer;   plain SGD: no state (state_numel 0, m = v = NULL);
 *   Adam/AdamW:        m = exp_avg, v = exp_avg_sq.
 * A checkpoint saves `step` and state[0..state_numel) and restores them into an optimizer
 * initialised with the same config over a params block of the same layout.
 */
typedef struct nas_optim {
    nas_optim_config cfg; /* validated copy */
    nas_params *params;   /* the block being optimized (not owned) */
    int64_t numel;        /* params->numel at init; every step checks it is unchanged */
    int64_t step;         /* completed steps (Adam's bias correction uses step + 1) */
    float *state;         /* [state_numel] contiguous optimizer state, zeroed at init */
    int64_t state_numel;  /* 0, numel (SGD momentum) or 2 * numel (Adam/AdamW) */
    float *m;             /* [numel] momentum / first moment, inside `state`, or NULL */
    float *v;             /* [numel] second moment, inside `state`, or NULL */
} nas_optim;

/* Defaults of PyTorch for `kind`: SGD momentum 0, no Nesterov, wd 0; Adam betas (0.9, 0.999),
 * eps 1e-8, wd 0; AdamW the same with wd 0.01. */
nas_optim_config nas_optim_defaults(nas_optim_kind kind);
/* "sgd", "adam", "adamw" ("?" for an unknown value). */
const char *nas_optim_kind_name(nas_optim_kind kind);
/* NAS_EINVAL with a message naming the field when a value is out of range or not finite. */
nas_status nas_optim_config_validate(const nas_optim_config *cfg);

/* Validate cfg and allocate the zeroed state for a finalized params block. On failure `opt` is
 * left zeroed (nas_optim_free on it is harmless). */
nas_status nas_optim_init(nas_optim *opt, nas_params *params, const nas_optim_config *cfg);
/* One update of every parameter from params->grad with learning rate lr (finite, >= 0).
 * Gradients are read, never modified or zeroed. */
nas_status nas_optim_step(nas_optim *opt, float lr);
/* Forget the state (zero the moments, step = 0), keeping the allocation. */
void nas_optim_reset(nas_optim *opt);
void nas_optim_free(nas_optim *opt);

/* ---- learning-rate schedules (src/nn/schedule.c) ------------------------------------------- */

typedef enum nas_schedule_kind {
    NAS_SCHEDULE_CONSTANT = 0, /* base_lr */
    NAS_SCHEDULE_COSINE = 1,   /* cosine annealing from base_lr to eta_min */
    NAS_SCHEDULE_STEP = 2,     /* base_lr * gamma^floor(s / step_size) */
    NAS_SCHEDULE_KIND_COUNT
} nas_schedule_kind;

/*
 * lr as a function of the 0-based index of the optimizer step about to be taken. The first
 * warmup_steps steps ramp linearly: lr(s) = base_lr * (s + 1) / warmup_steps for s < warmup_steps
 * (so the first step is not wasted at lr 0 and step warmup_steps-1 reaches base_lr). After the
 * warmup the chosen schedule runs on s' = s - warmup_steps:
 *   cosine: with T' = total_steps - warmup_steps,
 *           lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * s' / T')) / 2 for s' < T',
 *           eta_min from s' >= T' on (PyTorch CosineAnnealingLR with T_max = T', no restarts);
 *   step:   lr = base_lr * gamma^floor(s' / step_size) (PyTorch StepLR).
 */
typedef struct nas_schedule {
    nas_schedule_kind kind;
    float base_lr;        /* >= 0 */
    int64_t warmup_steps; /* >= 0; 0 = no warmup */
    int64_t total_steps;  /* cosine: length including the warmup, > warmup_steps */
    float eta_min;        /* cosine: final lr, >= 0 */
    int64_t step_size;    /* step: decay every step_size steps, >= 1 */
    float gamma;          /* step: decay factor, > 0 */
} nas_schedule;

nas_schedule nas_schedule_constant(float base_lr, int64_t warmup_steps);
nas_schedule nas_schedule_cosine(float base_lr, int64_t total_steps, float eta_min,
                                 int64_t warmup_steps);
nas_schedule nas_schedule_step(float base_lr, int64_t step_size, float gamma, int64_t warmup_steps);
/* NAS_EINVAL with a message naming the field when the schedule is inconsistent. */
nas_status nas_schedule_validate(const nas_schedule *s);
/* Learning rate for step `step` (negative steps count as 0). Computed in double. The result is
 * only meaningful for a schedule that passes nas_schedule_validate(). */
float nas_schedule_lr(const nas_schedule *s, int64_t step);

/* ---- gradient utilities (src/nn/optim.c) --------------------------------------------------- */

/* Global L2 norm of all of params->grad, accumulated in double in a fixed order (the result does
 * not depend on the thread count). 0 for an unfinalized block. NaN/Inf when a gradient is. */
double nas_grad_norm(const nas_params *p);
/* clip_grad_norm_: computes the norm as above; when it is finite and max_norm > 0, multiplies
 * every gradient by coef = max_norm / (norm + 1e-6) if coef < 1. Returns the pre-clip norm.
 * A non-finite norm leaves the gradients untouched (the caller should skip the step, see
 * nas_grad_nonfinite); max_norm <= 0 (or NaN) means "do not clip", handy as a config default. */
double nas_grad_clip_norm(nas_params *p, float max_norm);
/* True when any gradient is NaN or +-Inf (for skipping bad steps). */
bool nas_grad_nonfinite(const nas_params *p);

#ifdef __cplusplus
}
#endif
