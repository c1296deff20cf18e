/*
 * Learning-rate schedules: constant, cosine annealing to eta_min and step decay, each with an
 * optional linear warmup. A schedule is a pure function of the step index (no internal state),
 * so resuming from a checkpoint only needs the step counter.
 */
#include "ghnas/nn.h"

#include <math.h>
#include <string.h>

static nas_schedule blank(nas_schedule_kind kind, float base_lr, int64_t warmup_steps) {
    nas_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.base_lr = base_lr;
    s.warmup_steps = warmup_steps;
    s.step_size = 1;
    s.gamma = 1.0f;
    return s;
}

nas_schedule nas_schedule_constant(float base_lr, int64_t warmup_steps) {
    return blank(NAS_SCHEDULE_CONSTANT, base_lr, warmup_steps);
}

nas_schedule nas_schedule_cosine(float base_lr, int64_t total_steps, float eta_min,
                                 int64_t warmup_steps) {
    nas_schedule s = blank(NAS_SCHEDULE_COSINE, base_lr, warmup_steps);
    s.total_steps = total_steps;
    s.eta_min = eta_min;
    return s;
}

nas_schedule nas_schedule_step(float base_lr, int64_t step_size, float gamma,
                               int64_t warmup_steps) {
    nas_schedule s = blank(NAS_SCHEDULE_STEP, base_lr, warmup_steps);
    s.step_size = step_size;
    s.gamma = gamma;
    return s;
}

nas_status nas_schedule_validate(const nas_schedule *s) {
    if (!s) {
        return nas_error(NAS_EINVAL, "schedule: NULL");
    }
    if ((int)s->kind < 0 || s->kind >= NAS_SCHEDULE_KIND_COUNT) {
        return nas_error(NAS_EINVAL, "schedule: unknown kind %d", (int)s->kind);
    }
    if (!isfinite(s->base_lr) || s->base_lr < 0.0f) {
        return nas_error(NAS_EINVAL, "schedule: base_lr must be finite and >= 0, got %g",
                         (double)s->base_lr);
    }
    if (s->warmup_steps < 0) {
        return nas_error(NAS_EINVAL, "schedule: warmup_steps must be >= 0, got %lld",
                         (long long)s->warmup_steps);
    }
    switch (s->kind) {
        case NAS_SCHEDULE_CONSTANT:
            break;
        case NAS_SCHEDULE_COSINE:
            if (s->total_steps <= s->warmup_steps) {
                return nas_error(NAS_EINVAL,
                                 "schedule cosine: total_steps (%lld) must exceed warmup_steps "
                                 "(%lld)",
                                 (long long)s->total_steps, (long long)s->warmup_steps);
            }
            if (!isfinite(s->eta_min) || s->eta_min < 0.0f) {
                return nas_error(NAS_EINVAL,
                                 "schedule cosine: eta_min must be finite and >= 0, "
                                 "got %g",
                                 (double)s->eta_min);
            }
            break;
        case NAS_SCHEDULE_STEP:
            if (s->step_size < 1) {
                return nas_error(NAS_EINVAL, "schedule step: step_size must be >= 1, got %lld",
                                 (long long)s->step_size);
            }
            if (!isfinite(s->gamma) || s->gamma <= 0.0f) {
                return nas_error(NAS_EINVAL, "schedule step: gamma must be finite and > 0, got %g",
                                 (double)s->gamma);
            }
            break;
        case NAS_SCHEDULE_KIND_COUNT:
            break;
    }
    return NAS_OK;
}

float nas_schedule_lr(const nas_schedule *s, int64_t step) {
    const double base = (double)s->base_lr;
    if (step < 0) {
        step = 0;
    }
    if (step < s->warmup_steps) {
        return (float)(base * (double)(step + 1) / (double)s->warmup_steps);
    }
    const int64_t t = step - s->warmup_steps; /* steps since the warmup ended */
    switch (s->kind) {
        case NAS_SCHEDULE_CONSTANT:
            return (float)base;
        case NAS_SCHEDULE_COSINE: {
            const int64_t span = s->total_steps - s->warmup_steps;
            const double eta_min = (double)s->eta_min;
            if (span <= 0 || t >= span) {
                return (float)eta_min;
            }
            double c = cos(M_PI * (double)t / (double)span);
            return (float)(eta_min + (base - eta_min) * 0.5 * (1.0 + c));
        }
        case NAS_SCHEDULE_STEP: {
            if (s->step_size < 1) {
                return (float)base;
            }
            return (float)(base * pow((double)s->gamma, (double)(t / s->step_size)));
        }
        case NAS_SCHEDULE_KIND_COUNT:
            break;
    }
    return (float)base;
}
