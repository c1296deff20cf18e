/*
 * GHN checkpoints in the ghnas container (include/ghnas/container.h), kind "GHN", version 3:
 *
 *   record "config"           13 x i32: res_embed, hid, rounds, s_max, decoder, chunk_out,
 *                             chunk_in, chunk_k, dec_hid, n_pos, classes, layernorm, weight_norm
 *   f32    "param/<name>"     one per parameter tensor, with its shape
 *   u8     "seen"             the trained-row flags (nas_ghn.seen)
 *   record "trainer"          [optional] train config, data info, counters, optimizer kind/step
 *   record "sampling"         [optional, with "trainer"] i32 uniform_classes; written only when
 *                             set, so checkpoints of the default configuration are unchanged
 *   f32    "optim"            [with trainer] the optimizer state
 *   record "data"             [optional, with "trainer"] str: the data set's content fingerprint
 *                             (nas_data_fingerprint); older checkpoints have none (unknown)
 *
 * Built and read in memory (the store keeps the bytes); nas_ghn_save/nas_ghn_load are file
 * wrappers. Version 2 files and store BLOBs ("GHNASGHN" v2: the same fields one after the other,
 * a CRC-32 trailer) are still read. Every refusal is NAS_EFORMAT naming the buffer and the reason;
 * then the tensors must be the ones this build's model declares for the config.
 */
#include "ghn-impl.h"
#include "ghnas/container.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

static const nas_ckpt_kind GHN_KIND = {
    {'G', 'H', 'N', '\0'}, "GHN", NAS_GHN_CKPT_VERSION, "train the GHN again"};

#define LEGACY_VERSION 2 /* the pre-container layout, still read */

/* ---- field codecs (records of both layouts) ------------------------------------------------ */

static void put_config(nas_ckpt_writer *w, const nas_ghn_config *c) {
    int32_t f[13] = {c->res_embed, c->hid,       c->rounds,     c->s_max,   (int32_t)c->decoder,
                     c->chunk_out, c->chunk_in,  c->chunk_k,    c->dec_hid, c->n_pos,
                     c->classes,   c->layernorm, c->weight_norm};
    for (int i = 0; i < 13; i++) {
        nas_ckpt_put_i32(w, f[i]);
    }
}

static void get_config(nas_ckpt_cursor *r, nas_ghn_config *c) {
    c->res_embed = nas_ckpt_get_i32(r) != 0;
    c->hid = nas_ckpt_get_i32(r);
    c->rounds = nas_ckpt_get_i32(r);
    c->s_max = nas_ckpt_get_i32(r);
    c->decoder = (nas_ghn_decoder)nas_ckpt_get_i32(r);
    c->chunk_out = nas_ckpt_get_i32(r);
    c->chunk_in = nas_ckpt_get_i32(r);
    c->chunk_k = nas_ckpt_get_i32(r);
    c->dec_hid = nas_ckpt_get_i32(r);
    c->n_pos = nas_ckpt_get_i32(r);
    c->classes = nas_ckpt_get_i32(r);
    c->layernorm = nas_ckpt_get_i32(r) != 0;
    c->weight_norm = nas_ckpt_get_i32(r) != 0;
}

/* Train config, data info, counters, optimizer kind and step (the state floats follow). */
static void put_trainer(nas_ckpt_writer *w, const nas_ghn_trainer *tr) {
    const nas_ghn_train_config *c = &tr->tc;
    nas_ckpt_put_i64(w, c->steps);
    nas_ckpt_put_f64(w, c->time_limit);
    nas_ckpt_put_i32(w, c->meta_batch);
    nas_ckpt_put_i32(w, c->batch_size);
    nas_ckpt_put_i32(w, c->n_widths);
    for (int i = 0; i < NAS_GHN_MAX_WIDTHS; i++) {
        nas_ckpt_put_i32(w, c->widths[i]);
    }
    nas_ckpt_put_i32(w, c->N);
    nas_ckpt_put_i32(w, (int32_t)c->optim);
    nas_ckpt_put_f32(w, c->lr);
    nas_ckpt_put_f32(w, c->weight_decay);
    nas_ckpt_put_f32(w, c->clip);
    nas_ckpt_put_i64(w, c->warmup_steps);
    nas_ckpt_put_f32(w, c->label_smoothing);
    nas_ckpt_put_u(w, c->seed, 8);
    nas_ckpt_put_i32(w, c->threads);
    nas_ckpt_put_i32(w, c->max_bad_steps);
    nas_ckpt_put_i32(w, c->holdout_mod);
    const nas_ghn_data_info *d = &tr->data;
    nas_ckpt_put_str(w, d->space);
    nas_ckpt_put_str(w, d->dataset);
    nas_ckpt_put_i64(w, d->n_val);
    nas_ckpt_put_u(w, d->split_seed, 8);
    nas_ckpt_put_i32(w, d->norm.c);
    for (int i = 0; i < NAS_DATA_MAX_CHANNELS; i++) {
        nas_ckpt_put_f32(w, d->norm.mean[i]);
        nas_ckpt_put_f32(w, d->norm.std[i]);
    }
    nas_ckpt_put_i32(w, d->eval_batch);
    nas_ckpt_put_i32(w, d->in_c);
    nas_ckpt_put_i32(w, d->in_h);
    nas_ckpt_put_i32(w, d->in_w);
    nas_ckpt_put_i64(w, tr->step);
    nas_ckpt_put_i64(w, tr->skipped);
    nas_ckpt_put_i64(w, tr->archs);
    nas_ckpt_put_f64(w, tr->seconds);
    nas_ckpt_put_f64(w, tr->last_loss);
    nas_ckpt_put_f64(w, tr->last_acc);
    nas_ckpt_put_i32(w, (int32_t)tr->opt.cfg.kind);
    nas_ckpt_put_i64(w, tr->opt.step);
    nas_ckpt_put_i64(w, tr->opt.state_numel);
}

static void get_train_config(nas_ckpt_cursor *r, nas_ghn_train_config *c) {
    memset(c, 0, sizeof *c);
    c->steps = nas_ckpt_get_i64(r);
    c->time_limit = nas_ckpt_get_f64(r);
    c->meta_batch = nas_ckpt_get_i32(r);
    c->batch_size = nas_ckpt_get_i32(r);
    c->n_widths = nas_ckpt_get_i32(r);
    for (int i = 0; i < NAS_GHN_MAX_WIDTHS; i++) {
        c->widths[i] = nas_ckpt_get_i32(r);
    }
    c->N = nas_ckpt_get_i32(r);
    c->optim = (nas_optim_kind)nas_ckpt_get_i32(r);
    c->lr = nas_ckpt_get_f32(r);
    c->weight_decay = nas_ckpt_get_f32(r);
    c->clip = nas_ckpt_get_f32(r);
    c->warmup_steps = nas_ckpt_get_i64(r);
    c->label_smoothing = nas_ckpt_get_f32(r);
    c->seed = nas_ckpt_get_u(r, 8);
    c->threads = nas_ckpt_get_i32(r);
    c->max_bad_steps = nas_ckpt_get_i32(r);
    c->holdout_mod = nas_ckpt_get_i32(r);
}

static void get_data_info(nas_ckpt_cursor *r, nas_ghn_data_info *d) {
    memset(d, 0, sizeof *d);
    nas_ckpt_get_str(r, d->space, sizeof d->space);
    nas_ckpt_get_str(r, d->dataset, sizeof d->dataset);
    d->n_val = nas_ckpt_get_i64(r);
    d->split_seed = nas_ckpt_get_u(r, 8);
    d->norm.c = nas_ckpt_get_i32(r);
    for (int i = 0; i < NAS_DATA_MAX_CHANNELS; i++) {
        d->norm.mean[i] = nas_ckpt_get_f32(r);
        d->norm.std[i] = nas_ckpt_get_f32(r);
    }
    d->eval_batch = nas_ckpt_get_i32(r);
    d->in_c = nas_ckpt_get_i32(r);
    d->in_h = nas_ckpt_get_i32(r);
    d->in_w = nas_ckpt_get_i32(r);
}

/* The counters and optimizer header after the data info; *state_numel: floats recorded. */
static nas_status get_trainer_state(nas_ckpt_cursor *r, nas_ghn_trainer *tr, const char *what,
                                    int64_t *state_numel) {
    tr->step = nas_ckpt_get_i64(r);
    tr->skipped = nas_ckpt_get_i64(r);
    tr->archs = nas_ckpt_get_i64(r);
    tr->seconds = nas_ckpt_get_f64(r);
    tr->last_loss = nas_ckpt_get_f64(r);
    tr->last_acc = nas_ckpt_get_f64(r);
    nas_optim_kind kind = (nas_optim_kind)nas_ckpt_get_i32(r);
    int64_t ostep = nas_ckpt_get_i64(r);
    *state_numel = nas_ckpt_get_i64(r);
    if (!r->short_read && (kind != tr->opt.cfg.kind || *state_numel != tr->opt.state_numel)) {
        return nas_error(NAS_EFORMAT,
                         "%s: optimizer state of %s with %lld floats, expected %s with %lld", what,
                         nas_optim_kind_name(kind), (long long)*state_numel,
                         nas_optim_kind_name(tr->opt.cfg.kind), (long long)tr->opt.state_numel);
    }
    tr->opt.step = ostep;
    return NAS_OK;
}

/* Validate the recorded config (and compare it with *expect), then build the model. */
static nas_status begin_model(nas_ghn *g, const nas_ghn_config *cfg, bool short_read,
                              size_t n_bytes, const char *what, const nas_ghn_config *expect) {
    if (short_read || nas_ghn_config_validate(cfg) != NAS_OK) {
        return nas_error(NAS_EFORMAT, "%s: invalid GHN configuration in the checkpoint: %s", what,
                         short_read ? "too short" : nas_errmsg());
    }
    /* the tensors must be in the buffer: a small file declaring a huge model is refused before
       the model is built (found by fuzzing: an 89-byte file made a multi-GB GHN) */
    const int64_t numel = nas_ghn_config_numel(cfg);
    if (numel < 0 || (uint64_t)numel > n_bytes / sizeof(float)) {
        return nas_error(NAS_EFORMAT,
                         "%s: the checkpoint's GHN configuration declares %lld parameters (%.1f "
                         "MB), more than its %zu bytes can hold",
                         what, (long long)numel, (double)numel * 4.0 / 1e6, n_bytes);
    }
    if (expect) {
        char why[160];
        if (nas_ghn_config_diff(cfg, expect, "checkpoint", "requested", why, sizeof why)) {
            return nas_error(NAS_EINVAL, "%s: the checkpoint's GHN configuration differs (%s)",
                             what, why);
        }
    }
    return nas_ghn_init(g, cfg, 0);
}

/* The recorded train config, validated, bound to g. */
static nas_status begin_trainer(nas_ghn_trainer *tr, nas_ghn *g, const nas_ghn_train_config *tc,
                                const char *what) {
    if (nas_ghn_train_config_validate(tc) != NAS_OK) {
        return nas_error(NAS_EFORMAT, "%s: invalid training configuration: %s", what, nas_errmsg());
    }
    return nas_ghn_trainer_init(tr, g, tc);
}

static nas_status weights_only(const char *what) {
    return nas_error(NAS_EFORMAT,
                     "%s: the checkpoint holds weights only, no training state to "
                     "resume",
                     what);
}

/* ---- writing ------------------------------------------------------------------------------- */

nas_status nas_ghn_save_mem(const nas_ghn *g, const nas_ghn_trainer *tr, void **bytes, size_t *n) {
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &GHN_KIND);
    nas_ckpt_record_begin(&w, "config");
    put_config(&w, &g->cfg);
    nas_ckpt_record_end(&w);
    for (size_t i = 0; i < g->params.count; i++) {
        const nas_tensor *t = g->params.tensors[i];
        char name[256];
        snprintf(name, sizeof name, "param/%s", t->name);
        nas_ckpt_add(&w, name, NAS_CKPT_F32, t->ndim, t->shape, t->data);
    }
    nas_ckpt_add(&w, "seen", NAS_CKPT_U8, 1, (int64_t[]){g->n_seen}, g->seen);
    if (tr) {
        nas_ckpt_record_begin(&w, "trainer");
        put_trainer(&w, tr);
        nas_ckpt_record_end(&w);
        if (tr->tc.uniform_classes) {
            nas_ckpt_record_begin(&w, "sampling");
            nas_ckpt_put_i32(&w, 1);
            nas_ckpt_record_end(&w);
        }
        nas_ckpt_add(&w, "optim", NAS_CKPT_F32, 1, (int64_t[]){tr->opt.state_numel}, tr->opt.state);
        if (tr->data.fingerprint[0]) {
            nas_ckpt_record_begin(&w, "data");
            nas_ckpt_put_str(&w, tr->data.fingerprint);
            nas_ckpt_record_end(&w);
        }
    }
    return nas_ckpt_writer_finish(&w, bytes, n);
}

nas_status nas_ghn_save(const nas_ghn *g, const nas_ghn_trainer *tr, const char *path) {
    void *bytes = NULL;
    size_t n = 0;
    nas_status st = nas_ghn_save_mem(g, tr, &bytes, &n);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "%s", path);
    }
    st = nas_file_write_atomic(path, bytes, n);
    nas_free(bytes);
    return st;
}

/* ---- reading: the container (version 3) ---------------------------------------------------- */

static nas_status load_v3(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                          const nas_ckpt_reader *r, size_t n_bytes, const nas_ghn_config *expect) {
    nas_status st = NAS_OK;
    const char *what = r->what;
    const nas_ckpt_section *s = NULL;
    NAS_CHECK(nas_ckpt_find(r, "config", NAS_CKPT_RECORD, &s));
    nas_ckpt_cursor c = nas_ckpt_cursor_of(s);
    nas_ghn_config cfg;
    get_config(&c, &cfg);
    NAS_CHECK(begin_model(g, &cfg, c.short_read, n_bytes, what, expect));
    uint32_t n_params = 0;
    for (uint32_t i = 0; i < r->n_sections; i++) {
        n_params += strncmp(r->sections[i].name, "param/", 6) == 0;
    }
    if (n_params != g->params.count) {
        return nas_error(NAS_EFORMAT, "%s: %u tensors, a GHN of this configuration has %zu", what,
                         n_params, g->params.count);
    }
    for (size_t i = 0; i < g->params.count; i++) {
        nas_tensor *t = g->params.tensors[i];
        char name[256];
        snprintf(name, sizeof name, "param/%s", t->name);
        NAS_CHECK(nas_ckpt_find(r, name, NAS_CKPT_F32, &s));
        bool ok = s->ndim == t->ndim;
        for (int d = 0; ok && d < t->ndim; d++) {
            ok = s->dims[d] == t->shape[d];
        }
        if (!ok) {
            char sh[64];
            return nas_error(NAS_EFORMAT,
                             "%s: tensor '%s' has %d dims of another shape, expected %s", what,
                             t->name, s->ndim, nas_shape_str(t, sh, sizeof sh));
        }
        NAS_CHECK(nas_ckpt_section_read(r, s, t->data, t->numel));
    }
    NAS_CHECK(nas_ckpt_find(r, "seen", NAS_CKPT_U8, &s));
    if (s->count != g->n_seen) {
        return nas_error(NAS_EFORMAT,
                         "%s: %lld trained-row flags, a GHN of this configuration has %lld", what,
                         (long long)s->count, (long long)g->n_seen);
    }
    NAS_CHECK(nas_ckpt_section_read(r, s, g->seen, g->n_seen));
    NAS_CHECK(nas_ckpt_find_opt(r, "trainer", NAS_CKPT_RECORD, &s));
    if (!s) {
        return tr ? weights_only(what) : NAS_OK;
    }
    if (!tr && !info) {
        return NAS_OK;
    }
    c = nas_ckpt_cursor_of(s);
    nas_ghn_train_config tc;
    nas_ghn_data_info di;
    get_train_config(&c, &tc);
    get_data_info(&c, &di);
    if (c.short_read) {
        return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (the trainer record is short)",
                         what);
    }
    const nas_ckpt_section *smp = NULL;
    NAS_CHECK(nas_ckpt_find_opt(r, "sampling", NAS_CKPT_RECORD, &smp));
    if (smp) {
        nas_ckpt_cursor sc = nas_ckpt_cursor_of(smp);
        tc.uniform_classes = nas_ckpt_get_i32(&sc) != 0;
        if (sc.short_read) {
            return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (the sampling record is short)",
                             what);
        }
    }
    const nas_ckpt_section *sd = NULL;
    NAS_CHECK(nas_ckpt_find_opt(r, "data", NAS_CKPT_RECORD, &sd));
    if (sd) {
        nas_ckpt_cursor dc = nas_ckpt_cursor_of(sd);
        nas_ckpt_get_str(&dc, di.fingerprint, sizeof di.fingerprint);
        if (dc.short_read) {
            return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (the data record is short)",
                             what);
        }
    }
    if (info) {
        *info = di;
    }
    if (tr) {
        NAS_CHECK(begin_trainer(tr, g, &tc, what));
        tr->data = di;
        int64_t state_numel = 0;
        NAS_CHECK(get_trainer_state(&c, tr, what, &state_numel));
        if (c.short_read) {
            return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (the trainer record is short)",
                             what);
        }
        NAS_CHECK(nas_ckpt_find(r, "optim", NAS_CKPT_F32, &s));
        NAS_CHECK(nas_ckpt_section_read(r, s, tr->opt.state, tr->opt.state_numel));
    }
    return st;
}

/* ---- reading: version 2 ("GHNASGHN", fields one after the other) --------------------------- */

static nas_status load_v2(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                          const unsigned char *data, size_t n, const char *what,
                          const nas_ghn_config *expect) {
    const size_t head = 8 + 4 + 4 + 8;
    if (n < head + 4) {
        return nas_error(NAS_EFORMAT,
                         "%s: truncated checkpoint (%zu bytes, the header alone is %zu)", what, n,
                         head + 4);
    }
    nas_ckpt_cursor r = {data, n, 8, false};
    (void)nas_ckpt_get_u(&r, 4); /* the version, checked by the caller */
    uint32_t flags = (uint32_t)nas_ckpt_get_u(&r, 4);
    uint64_t total = nas_ckpt_get_u(&r, 8);
    if (total != n) {
        return nas_error(NAS_EFORMAT, "%s: %s checkpoint: %zu bytes, the header records %llu", what,
                         n < total ? "truncated" : "corrupted (trailing data or bad length)", n,
                         (unsigned long long)total);
    }
    uint32_t stored = (uint32_t)data[n - 4] | (uint32_t)data[n - 3] << 8 |
                      (uint32_t)data[n - 2] << 16 | (uint32_t)data[n - 1] << 24;
    uLong crc = crc32_z(crc32(0L, Z_NULL, 0), data, n - 4);
    if ((uint32_t)crc != stored) {
        return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (CRC-32 %08x, expected %08x)", what,
                         (unsigned)crc, (unsigned)stored);
    }
    r.n = n - 4; /* parse up to the trailer */
    nas_ghn_config cfg;
    get_config(&r, &cfg);
    NAS_CHECK(begin_model(g, &cfg, r.short_read, n, what, expect));
    uint32_t count = (uint32_t)nas_ckpt_get_u(&r, 4);
    if (count != g->params.count) {
        return nas_error(NAS_EFORMAT, "%s: %u tensors, a GHN of this configuration has %zu", what,
                         count, g->params.count);
    }
    for (size_t i = 0; i < g->params.count && !r.short_read; i++) {
        nas_tensor *t = g->params.tensors[i];
        char name[128];
        nas_ckpt_get_str(&r, name, sizeof name);
        int ndim = (int)nas_ckpt_get_u(&r, 1);
        bool ok = !r.short_read && strcmp(name, t->name) == 0 && ndim == t->ndim;
        for (int d = 0; d < ndim && d < NAS_MAX_DIMS; d++) {
            ok = nas_ckpt_get_i64(&r) == t->shape[d] && ok;
        }
        if (!r.short_read && !ok) {
            char sh[64];
            return nas_error(NAS_EFORMAT, "%s: tensor %zu is '%s' (%d dims), expected '%s' %s",
                             what, i, name, ndim, t->name, nas_shape_str(t, sh, sizeof sh));
        }
        nas_ckpt_get_f32s(&r, t->data, t->numel);
    }
    uint64_t n_seen = nas_ckpt_get_u(&r, 8);
    if (!r.short_read && n_seen != (uint64_t)g->n_seen) {
        return nas_error(NAS_EFORMAT,
                         "%s: %llu trained-row flags, a GHN of this configuration has %lld", what,
                         (unsigned long long)n_seen, (long long)g->n_seen);
    }
    const unsigned char *seen = nas_ckpt_take(&r, (size_t)g->n_seen);
    if (seen) {
        memcpy(g->seen, seen, (size_t)g->n_seen);
    }
    if (!r.short_read && (flags & 1u) && (tr || info)) {
        nas_ghn_train_config tc;
        nas_ghn_data_info di;
        get_train_config(&r, &tc);
        get_data_info(&r, &di);
        if (info) {
            *info = di;
        }
        if (tr && !r.short_read) {
            NAS_CHECK(begin_trainer(tr, g, &tc, what));
            tr->data = di;
            int64_t state_numel = 0;
            NAS_CHECK(get_trainer_state(&r, tr, what, &state_numel));
            nas_ckpt_get_f32s(&r, tr->opt.state, tr->opt.state_numel);
        }
    } else if (tr && !(flags & 1u)) {
        return weights_only(what);
    }
    if (r.short_read) {
        return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (fields run past the end)", what);
    }
    return NAS_OK;
}

/* ---- reading: entry points ----------------------------------------------------------------- */

nas_status nas_ghn_load_mem(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                            const void *bytes, size_t n, const char *what,
                            const nas_ghn_config *expect) {
    memset(g, 0, sizeof *g);
    if (tr) {
        memset(tr, 0, sizeof *tr);
    }
    if (info) {
        memset(info, 0, sizeof *info);
    }
    what = what ? what : "GHN checkpoint";
    nas_status st = NAS_OK;
    nas_ckpt_reader r;
    memset(&r, 0, sizeof r);
    const unsigned char *b = bytes;
    if (nas_ckpt_is_kind(bytes, n, &GHN_KIND) && n >= 12 &&
        (b[8] | b[9] << 8 | b[10] << 16 | (uint32_t)b[11] << 24) == LEGACY_VERSION) {
        NAS_TRY(load_v2(g, tr, info, b, n, what, expect));
    } else {
        NAS_TRY(nas_ckpt_open(&r, bytes, n, &GHN_KIND, what));
        NAS_TRY(load_v3(g, tr, info, &r, n, expect));
    }
cleanup:
    nas_ckpt_reader_free(&r);
    if (st != NAS_OK) {
        if (tr) {
            nas_ghn_trainer_free(tr);
        }
        nas_ghn_free(g);
        if (info) {
            memset(info, 0, sizeof *info);
        }
    }
    return st;
}

nas_status nas_ghn_read_file(const char *path, void **bytes, size_t *n) {
    return nas_ckpt_file_read(path, &GHN_KIND, bytes, n);
}

nas_status nas_ghn_load_expect(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                               const char *path, const nas_ghn_config *expect) {
    memset(g, 0, sizeof *g);
    if (tr) {
        memset(tr, 0, sizeof *tr);
    }
    if (info) {
        memset(info, 0, sizeof *info);
    }
    void *bytes = NULL;
    size_t n = 0;
    NAS_CHECK(nas_ghn_read_file(path, &bytes, &n));
    nas_status st = nas_ghn_load_mem(g, tr, info, bytes, n, path, expect);
    nas_free(bytes);
    return st;
}

nas_status nas_ghn_load(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                        const char *path) {
    return nas_ghn_load_expect(g, tr, info, path, NULL);
}
