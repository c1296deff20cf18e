/*
 * GHN meta-batch training: per step m architectures sampled from the space (valid members, a
 * random width from the configured set, never a held-out arch), one image batch shared by all
 * m nets, mean cross-entropy of the nets running on predicted weights, Adam(W) with warmup +
 * cosine schedule and gradient clipping. The meta-batch runs in parallel with OpenMP: one arch
 * per thread at a time, each thread with its own tape and its own gradient view of the shared
 * GHN parameters; the views are summed into the model's gradient after the step. Everything
 * random derives from (seed, step, index in the meta-batch), and member j of a step always runs
 * on thread j mod T, so a run is bit-reproducible for a given thread count (other thread counts
 * differ only in the order of float additions) and a resumed run continues exactly where it
 * stopped. Non-finite steps are
 * skipped and counted; too many in a row stop the run.
 */
#include "ghn-impl.h"

#include "ghnas/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

nas_ghn_train_config nas_ghn_train_defaults(void) {
    nas_ghn_train_config c;
    memset(&c, 0, sizeof c);
    c.steps = 6000; /* the best of the proxy study's ablations (experiments/README.md) */
    c.time_limit = 0.0;
    c.meta_batch = 8;
    c.batch_size = 64;
    c.n_widths = 0; /* the space's skeleton C */
    c.N = 0;
    c.optim = NAS_OPTIM_ADAMW;
    c.lr = 1e-3f;
    c.weight_decay = 1e-4f;
    c.clip = 5.0f;
    c.warmup_steps = 50;
    c.label_smoothing = 0.0f;
    c.seed = 1;
    c.threads = 0;
    c.max_bad_steps = 20;
    c.holdout_mod = 0;
    return c;
}

nas_status nas_ghn_train_config_validate(const nas_ghn_train_config *c) {
    if (c->steps < 0 || !(c->time_limit >= 0.0) || (c->steps == 0 && c->time_limit <= 0.0)) {
        return nas_error(NAS_EINVAL,
                         "ghn train: give a positive number of steps or a time limit "
                         "(steps %lld, time %g s)",
                         (long long)c->steps, c->time_limit);
    }
    if (c->meta_batch < 1 || c->meta_batch > 1024) {
        return nas_error(NAS_EINVAL, "ghn train: meta-batch must be in [1, 1024], got %d",
                         c->meta_batch);
    }
    if (c->batch_size < 1 || c->batch_size > 65536) {
        return nas_error(NAS_EINVAL, "ghn train: batch size must be in [1, 65536], got %d",
                         c->batch_size);
    }
    if (c->n_widths < 0 || c->n_widths > NAS_GHN_MAX_WIDTHS) {
        return nas_error(NAS_EINVAL, "ghn train: at most %d widths, got %d", NAS_GHN_MAX_WIDTHS,
                         c->n_widths);
    }
    for (int i = 0; i < c->n_widths; i++) {
        if (c->widths[i] < 1 || c->widths[i] > 4096) {
            return nas_error(NAS_EINVAL, "ghn train: width %d is outside [1, 4096]", c->widths[i]);
        }
    }
    if (c->optim != NAS_OPTIM_ADAM && c->optim != NAS_OPTIM_ADAMW) {
        return nas_error(NAS_EINVAL, "ghn train: the optimizer must be adam or adamw, got %s",
                         nas_optim_kind_name(c->optim));
    }
    if (!(c->lr > 0.0f && c->lr < 10.0f) || !(c->weight_decay >= 0.0f && c->weight_decay < 1.0f)) {
        return nas_error(NAS_EINVAL,
                         "ghn train: lr %g must be in (0, 10) and weight decay %g in "
                         "[0, 1)",
                         (double)c->lr, (double)c->weight_decay);
    }
    if (!(c->clip == c->clip) || c->warmup_steps < 0 || c->max_bad_steps < 1 ||
        !(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f) || c->threads < 0 ||
        c->threads > 1024 || c->holdout_mod < 0) {
        return nas_error(NAS_EINVAL, "ghn train: clip, warmup, max_bad_steps, label smoothing, "
                                     "threads or holdout out of range");
    }
    return NAS_OK;
}

bool nas_ghn_arch_held_out(const char *arch_text, int mod) {
    if (mod <= 0 || !arch_text) {
        return false;
    }
    return nas_hash_str(arch_text) % (uint64_t)mod == 0;
}

nas_status nas_ghn_trainer_init(nas_ghn_trainer *tr, nas_ghn *g, const nas_ghn_train_config *tc) {
    memset(tr, 0, sizeof *tr);
    NAS_CHECK(nas_ghn_train_config_validate(tc));
    tr->tc = *tc;
    nas_optim_config oc = nas_optim_defaults(tc->optim);
    oc.weight_decay = tc->weight_decay;
    nas_status st = nas_optim_init(&tr->opt, &g->params, &oc);
    if (st != NAS_OK) {
        memset(tr, 0, sizeof *tr);
        return st;
    }
    tr->data.eval_batch = 128;
    return NAS_OK;
}

void nas_ghn_trainer_free(nas_ghn_trainer *tr) {
    if (!tr) {
        return;
    }
    nas_optim_free(&tr->opt);
    memset(tr, 0, sizeof *tr);
}

/* Warmup then cosine to 0 over the run; the run's progress is the larger of the step fraction
 * and the time fraction. */
static float schedule_lr(const nas_ghn_train_config *c, int64_t step, double elapsed) {
    double frac = 0.0;
    if (c->steps > 0) {
        frac = (double)step / (double)c->steps;
    }
    if (c->time_limit > 0.0) {
        frac = fmax(frac, elapsed / c->time_limit);
    }
    frac = fmin(frac, 1.0);
    double lr = (double)c->lr * 0.5 * (1.0 + cos(3.141592653589793 * frac));
    if (step < c->warmup_steps) {
        lr *= (double)(step + 1) / (double)c->warmup_steps;
    }
    return (float)lr;
}

/* One meta-batch member's outcome. */
typedef struct item_result {
    double loss, acc;
    nas_status st;
    char msg[384];
    char arch[160]; /* start of the arch text, for messages */
} item_result;

/* One member of every canonical class of valid members (enumeration order), for sampling
 * uniformly over classes: the texts end to end in one buffer. */
typedef struct class_list {
    char *text;   /* NUL-separated arch texts */
    int64_t *off; /* [n] offsets into text */
    int64_t n, cap, used, text_cap;
    /* key set while building: open addressing on the key hash, slot = class index + 1 */
    char **keys;
    int64_t *slots;
    int64_t n_slots;
    const nas_space *sp;
    nas_canon_kind canon;
} class_list;

static void class_list_free(class_list *cl) {
    for (int64_t i = 0; cl->keys && i < cl->n; i++) {
        nas_free(cl->keys[i]);
    }
    nas_free(cl->keys);
    nas_free(cl->slots);
    nas_free(cl->text);
    nas_free(cl->off);
    memset(cl, 0, sizeof *cl);
}

static nas_status class_visit(const nas_arch *a, void *user) {
    class_list *cl = user;
    if (!nas_arch_is_valid(cl->sp, a)) {
        return NAS_OK;
    }
    char key[NAS_CANON_KEY_MAX];
    NAS_CHECK(nas_arch_canon_key(cl->sp, a, cl->canon, key, sizeof key));
    const int64_t mask = cl->n_slots - 1;
    int64_t j = (int64_t)(nas_hash_str(key) & (uint64_t)mask);
    for (; cl->slots[j]; j = (j + 1) & mask) {
        if (strcmp(cl->keys[cl->slots[j] - 1], key) == 0) {
            return NAS_OK; /* a member of a class already listed */
        }
    }
    if (cl->n == cl->cap || 2 * (cl->n + 1) > cl->n_slots) {
        return nas_error(NAS_ENOMEM, "ghn train: more classes than the class table holds");
    }
    char text[NAS_ARCH_STR_MAX];
    NAS_CHECK(nas_arch_encode(cl->sp, a, text, sizeof text));
    const int64_t len = (int64_t)strlen(text) + 1;
    if (cl->used + len > cl->text_cap) {
        int64_t nc = 2 * (cl->text_cap + len);
        char *nt = nas_realloc(cl->text, (size_t)nc);
        if (!nt) {
            return nas_error(NAS_ENOMEM, "ghn train: out of memory listing the classes");
        }
        cl->text = nt;
        cl->text_cap = nc;
    }
    memcpy(cl->text + cl->used, text, (size_t)len);
    cl->off[cl->n] = cl->used;
    cl->used += len;
    cl->keys[cl->n] = nas_strdup(key);
    if (!cl->keys[cl->n]) {
        return nas_error(NAS_ENOMEM, "ghn train: out of memory listing the classes");
    }
    cl->slots[j] = ++cl->n;
    return NAS_OK;
}

/* The classes of a finite space (at most NAS_GHN_MAX_MEMBERS members, NAS_GHN_MAX_CLASSES
 * classes). */
#define NAS_GHN_MAX_MEMBERS 20000000ull
#define NAS_GHN_MAX_CLASSES 2000000
static nas_status class_list_build(class_list *cl, const nas_space *sp) {
    memset(cl, 0, sizeof *cl);
    cl->sp = sp;
    cl->canon = nas_space_default_canon(sp);
    cl->cap = NAS_GHN_MAX_CLASSES;
    cl->n_slots = 1;
    while (cl->n_slots < 2 * cl->cap) {
        cl->n_slots <<= 1;
    }
    uint64_t members = 0;
    nas_status st = nas_space_count(sp, NAS_CANON_TEXT, false, NULL, &members);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "ghn train: sampling uniformly over classes needs a finite "
                                  "space");
    }
    if (members > NAS_GHN_MAX_MEMBERS) {
        return nas_error(NAS_EUNSUPPORTED,
                         "ghn train: sampling uniformly over classes enumerates the space, and %s "
                         "has %llu members (at most %llu)",
                         sp->name, (unsigned long long)members,
                         (unsigned long long)NAS_GHN_MAX_MEMBERS);
    }
    /* size the tables by the member count: a class has at least one member */
    if (members < (uint64_t)cl->cap) {
        cl->cap = (int64_t)members;
        cl->n_slots = 1;
        while (cl->n_slots < 2 * cl->cap + 2) {
            cl->n_slots <<= 1;
        }
    }
    cl->off = nas_malloc((size_t)cl->cap * sizeof *cl->off);
    cl->keys = nas_calloc((size_t)cl->cap, sizeof *cl->keys);
    cl->slots = nas_calloc((size_t)cl->n_slots, sizeof *cl->slots);
    if (!cl->off || !cl->keys || !cl->slots) {
        class_list_free(cl);
        return nas_error(NAS_ENOMEM, "ghn train: out of memory listing the classes");
    }
    st = nas_space_enumerate(sp, class_visit, cl);
    /* only the texts are needed from here on */
    for (int64_t i = 0; i < cl->n; i++) {
        nas_free(cl->keys[i]);
    }
    nas_free(cl->keys);
    nas_free(cl->slots);
    cl->keys = NULL;
    cl->slots = NULL;
    if (st == NAS_OK && cl->n == 0) {
        st = nas_error(NAS_ENOTFOUND, "ghn train: %s has no valid member", sp->name);
    }
    if (st != NAS_OK) {
        class_list_free(cl);
    }
    return st;
}

/* Sample a valid, not held-out arch for (step, j): a uniformly random member of the space, or
 * with a class list the listed member of a uniformly random class. */
static nas_status sample_arch(const nas_space *sp, const nas_ghn_train_config *tc,
                              const class_list *cl, nas_rng *r, nas_arch *a, char *text,
                              size_t cap) {
    for (int tries = 0; tries < 10000; tries++) {
        if (cl && cl->n > 0) {
            const char *t = cl->text + cl->off[nas_rng_below(r, (uint64_t)cl->n)];
            NAS_CHECK(nas_arch_decode(sp, t, a));
        } else {
            NAS_CHECK(nas_arch_sample(sp, r, a));
        }
        if (!nas_arch_is_valid(sp, a)) {
            continue;
        }
        NAS_CHECK(nas_arch_encode(sp, a, text, cap));
        if (!nas_ghn_arch_held_out(text, tc->holdout_mod)) {
            return NAS_OK;
        }
    }
    return nas_error(NAS_ENOTFOUND,
                     "ghn train: no valid, not held-out architecture of %s found "
                     "in 10000 samples",
                     sp->name);
}

/* Forward + backward of meta-batch member j on thread-private state. */
static void run_item(nas_ghn *g, nas_ghn_view *view, nas_tape *t, const nas_space *sp,
                     const nas_ghn_train_config *tc, const class_list *cl, const nas_dataset *ds,
                     const float *x, const int32_t *y, int64_t B, uint64_t stream,
                     item_result *res) {
    nas_net net;
    nas_ghn_graph gg;
    memset(&net, 0, sizeof net);
    memset(&gg, 0, sizeof gg);
    nas_tensor **w = NULL;
    nas_status st = NAS_OK;
    nas_rng base, r;
    nas_rng_seed(&base, tc->seed);
    nas_rng_split(&r, &base, stream);
    nas_arch a;
    char text[NAS_ARCH_STR_MAX];
    NAS_TRY(sample_arch(sp, tc, cl, &r, &a, text, sizeof text));
    snprintf(res->arch, sizeof res->arch, "%s", text);
    nas_net_config nc = nas_net_config_default();
    nc.C = tc->n_widths > 0 ? tc->widths[nas_rng_below(&r, (uint64_t)tc->n_widths)] : 0;
    nc.N = tc->N;
    nc.in_c = ds->c;
    nc.in_h = ds->h;
    nc.in_w = ds->w;
    nc.classes = g->cfg.classes;
    NAS_TRY(nas_net_compile(&net, sp, &a, &nc));
    NAS_TRY(nas_ghn_graph_build(&gg, &g->cfg, &net));
    nas_ghn_mark_seen(g, &gg); /* before predicting: trained rows are used as they are */
    w = nas_calloc((size_t)(net.n_slots > 0 ? net.n_slots : 1), sizeof *w);
    if (!w) {
        st = nas_error(NAS_ENOMEM, "ghn train: out of memory");
        goto cleanup;
    }
    nas_tape_reset(t);
    NAS_TRY(nas_ghn_predict(g, view->p, t, &gg, w));
    int64_t shape[4] = {B, ds->c, ds->h, ds->w};
    nas_tensor *xt = nas_tensor_from(t, 4, shape, x);
    nas_tensor *logits = nas_net_forward(t, &net, w, NULL, xt);
    nas_tensor *loss = nas_softmax_cross_entropy(t, logits, y, tc->label_smoothing);
    NAS_TRY(nas_tape_status(t));
    res->loss = loss->data[0];
    res->acc = (double)nas_count_correct(logits, y, B) / (double)B;
    if (isfinite(res->loss)) {
        const float scale = 1.0f / (float)tc->meta_batch; /* mean over the meta-batch */
        NAS_TRY(nas_tape_backward_from(t, loss, &scale));
    }
cleanup:
    res->st = st;
    if (st != NAS_OK) {
        snprintf(res->msg, sizeof res->msg, "%s", nas_errmsg());
    }
    nas_free(w);
    nas_ghn_graph_free(&gg);
    nas_net_free(&net);
}

/* Draw the step's image batch: B indices from idx[0..n) (distinct when n >= B). */
static void draw_batch(nas_rng *r, const int32_t *idx, int64_t n, int64_t B, int32_t *out) {
    for (int64_t i = 0; i < B; i++) {
        for (int tries = 0;; tries++) {
            int32_t v =
                idx ? idx[nas_rng_below(r, (uint64_t)n)] : (int32_t)nas_rng_below(r, (uint64_t)n);
            bool dup = false;
            for (int64_t k = 0; k < i && n >= B && tries < 100; k++) {
                dup = dup || out[k] == v;
            }
            if (!dup) {
                out[i] = v;
                break;
            }
        }
    }
}

nas_status nas_ghn_train(nas_ghn *g, nas_ghn_trainer *tr, const nas_space *sp,
                         const nas_dataset *ds, const int32_t *idx, int64_t n,
                         const nas_data_norm *norm, nas_ghn_step_fn on_step, void *user) {
    const nas_ghn_train_config *tc = &tr->tc;
    NAS_CHECK(nas_ghn_train_config_validate(tc));
    if (tr->opt.params != &g->params) {
        return nas_error(NAS_EINVAL, "ghn train: the trainer is not bound to this GHN");
    }
    if (!idx) {
        n = ds->n;
    }
    if (n < 1) {
        return nas_error(NAS_EINVAL, "ghn train: no training images");
    }
    if (ds->n_classes > g->cfg.classes) {
        return nas_error(NAS_EINVAL, "ghn train: %s has %d classes, the GHN predicts %d", ds->name,
                         ds->n_classes, g->cfg.classes);
    }
    const int m = tc->meta_batch;
    int T = tc->threads > 0 ? tc->threads : nas_get_threads();
    T = T < m ? T : m;
    T = T < 1 ? 1 : T;
    const int64_t B = tc->batch_size, img = (int64_t)ds->c * ds->h * ds->w;
    const double t0 = nas_time_now(), base_seconds = tr->seconds;
    nas_status st = NAS_OK;
    nas_tape *tapes = nas_calloc((size_t)T, sizeof *tapes);
    nas_ghn_view *views = nas_calloc((size_t)T, sizeof *views);
    item_result *res = nas_calloc((size_t)m, sizeof *res);
    float *x = nas_malloc((size_t)(B * img) * sizeof *x); /* [B, C, H, W] */
    int32_t *y = nas_malloc((size_t)B * sizeof *y);       /* [B] */
    int32_t *bidx = nas_malloc((size_t)B * sizeof *bidx); /* [B] dataset indices */
    nas_progress prog;
    bool prog_on = false;
    class_list classes;
    memset(&classes, 0, sizeof classes);
    if (!tapes || !views || !res || !x || !y || !bidx) {
        st = nas_error(NAS_ENOMEM, "ghn train: out of memory");
        goto cleanup;
    }
    for (int k = 0; k < T; k++) {
        NAS_TRY(nas_tape_init(&tapes[k]));
        NAS_TRY(nas_ghn_view_init(&views[k], g));
    }
    if (tc->uniform_classes) {
        NAS_TRY(class_list_build(&classes, sp));
    }
    nas_progress_begin(&prog, "ghn", tc->steps > 0 ? tc->steps : 0);
    prog_on = true;
    nas_progress_resume(&prog, tr->step);
    int bad_run = 0;
    double ema_loss = NAN, ema_acc = NAN;
    nas_rng root;
    nas_rng_seed(&root, tc->seed ^ 0x9e3779b97f4a7c15ull);
    for (;;) {
        double elapsed = base_seconds + (nas_time_now() - t0);
        if ((tc->steps > 0 && tr->step >= tc->steps) ||
            (tc->time_limit > 0.0 && elapsed >= tc->time_limit)) {
            break;
        }
        const int64_t step = tr->step;
        nas_rng rb;
        nas_rng_split(&rb, &root, (uint64_t)step);
        draw_batch(&rb, idx, n, B, bidx);
        NAS_TRY(nas_data_batch(ds, bidx, B, norm, x, y));
        /* static: member j always lands on the same thread, so each view sums the same members
           in the same order and a step is bit-identical run to run (dynamic scheduling made the
           float sums, and so every GHN trained on 2+ threads, differ between identical runs) */
#ifdef _OPENMP
#pragma omp parallel for num_threads(T) schedule(static, 1) if (T > 1)
#endif
        for (int j = 0; j < m; j++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            memset(&res[j], 0, sizeof res[j]);
            run_item(g, &views[tid], &tapes[tid], sp, tc, tc->uniform_classes ? &classes : NULL, ds,
                     x, y, B, (uint64_t)step * (uint64_t)m + (uint64_t)j, &res[j]);
        }
        double loss = 0.0, acc = 0.0;
        for (int j = 0; j < m; j++) {
            if (res[j].st != NAS_OK) {
                st = nas_error(res[j].st, "ghn train: step %lld, arch %s: %s", (long long)step,
                               res[j].arch[0] ? res[j].arch : "(not sampled)", res[j].msg);
                goto cleanup;
            }
            loss += res[j].loss / m;
            acc += res[j].acc / m;
        }
        /* sum the thread gradients into the model's */
        float *gr = g->params.grad;
        const int64_t numel = g->params.numel;
        memset(gr, 0, (size_t)numel * sizeof *gr);
        for (int k = 0; k < T; k++) {
            float *vg = views[k].grad;
            for (int64_t i = 0; i < numel; i++) {
                gr[i] += vg[i];
            }
            memset(vg, 0, (size_t)numel * sizeof *vg);
        }
        tr->step++;
        if (!isfinite(loss) || nas_grad_nonfinite(&g->params)) {
            tr->skipped++;
            if (++bad_run > tc->max_bad_steps) {
                st = nas_error(NAS_ENUMERIC,
                               "ghn train: %d non-finite steps in a row (last at step %lld, "
                               "loss %g); try a lower --lr or stronger clipping",
                               bad_run, (long long)step, loss);
                goto cleanup;
            }
            continue;
        }
        bad_run = 0;
        nas_grad_clip_norm(&g->params, tc->clip);
        NAS_TRY(nas_optim_step(&tr->opt, schedule_lr(tc, step, elapsed)));
        tr->archs += m;
        tr->last_loss = loss;
        tr->last_acc = acc;
        ema_loss = isnan(ema_loss) ? loss : 0.95 * ema_loss + 0.05 * loss;
        ema_acc = isnan(ema_acc) ? acc : 0.95 * ema_acc + 0.05 * acc;
        if (tc->steps == 0 && tc->time_limit > 0.0) {
            /* time-limited: estimate the total from the rate so far (for the ETA) */
            double el = base_seconds + (nas_time_now() - t0);
            prog.total = el > 0 ? (int64_t)((double)tr->step * tc->time_limit / el) + 1 : 0;
        }
        nas_progress_update(&prog, tr->step, "loss %.3f acc %.3f lr %.1e skip %lld", ema_loss,
                            ema_acc, (double)schedule_lr(tc, step, elapsed),
                            (long long)tr->skipped);
        if (on_step && !on_step(tr, loss, acc, user)) {
            st =
                nas_error(NAS_EINTERRUPTED, "ghn train: stopped at step %lld", (long long)tr->step);
            goto cleanup;
        }
    }
cleanup:
    tr->seconds = base_seconds + (nas_time_now() - t0);
    if (prog_on) {
        nas_progress_end(&prog);
    }
    if (tapes) {
        for (int k = 0; k < T; k++) {
            nas_tape_free(&tapes[k]);
        }
    }
    if (views) {
        for (int k = 0; k < T; k++) {
            nas_ghn_view_free(&views[k]);
        }
    }
    nas_free(tapes);
    nas_free(views);
    nas_free(res);
    nas_free(x);
    nas_free(y);
    nas_free(bidx);
    class_list_free(&classes);
    return st;
}
