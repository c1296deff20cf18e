/*
 * GHN checkpoints: a versioned little-endian binary with a CRC-32 (zlib) trailer.
 *
 *   "GHNASGHN"  magic (8 bytes)
 *   u32 version, u32 flags (bit 0: trainer state follows), u64 total file length
 *   config      13 x i32 (res_embed, hid, rounds, s_max, decoder, chunk_out, chunk_in, chunk_k,
 * dec_hid, n_pos, classes, layernorm, weight_norm) u32 n       then n tensors: u16 name length,
 * name, u8 ndim, ndim x i64 dims, f32 data u64 m       then m bytes: the trained-row flags
 * (nas_ghn.seen) [trainer]   space name, train config, data info, counters, optimizer
 * kind/step/state u32 crc32   of every byte before it
 *
 * Reading checks, in this order: length, magic, version, recorded length (truncation), CRC
 * (corruption), then every field while parsing (bounds-checked), then that the tensors are the
 * ones this build's model declares for the config. Each refusal names the file and the reason.
 */
#include "ghn-impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static const char MAGIC[8] = {'G', 'H', 'N', 'A', 'S', 'G', 'H', 'N'};

/* ---- writing -------------------------------------------------------------------------------- */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n) {
    if (b->oom) {
        return;
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) {
            cap *= 2;
        }
        unsigned char *q = nas_realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

/* Little-endian integer of `bytes` bytes. */
static void put_u(wbuf *b, uint64_t v, int bytes) {
    unsigned char t[8];
    for (int i = 0; i < bytes; i++) {
        t[i] = (unsigned char)(v >> (8 * i));
    }
    put(b, t, (size_t)bytes);
}

static void put_i32(wbuf *b, int32_t v) {
    put_u(b, (uint32_t)v, 4);
}

static void put_i64(wbuf *b, int64_t v) {
    put_u(b, (uint64_t)v, 8);
}

static void put_f32(wbuf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u(b, u, 4);
}

static void put_f64(wbuf *b, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    put_u(b, u, 8);
}

static void put_str(wbuf *b, const char *s) {
    size_t n = strlen(s);
    n = n > 65535 ? 65535 : n;
    put_u(b, n, 2);
    put(b, s, n);
}

static void put_floats(wbuf *b, const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        put_f32(b, v[i]);
    }
}

static void put_config(wbuf *b, const nas_ghn_config *c) {
    int32_t f[13] = {c->res_embed, c->hid,       c->rounds,     c->s_max,   (int32_t)c->decoder,
                     c->chunk_out, c->chunk_in,  c->chunk_k,    c->dec_hid, c->n_pos,
                     c->classes,   c->layernorm, c->weight_norm};
    for (int i = 0; i < 13; i++) {
        put_i32(b, f[i]);
    }
}

static void put_trainer(wbuf *b, const nas_ghn_trainer *tr) {
    const nas_ghn_train_config *c = &tr->tc;
    put_i64(b, c->steps);
    put_f64(b, c->time_limit);
    put_i32(b, c->meta_batch);
    put_i32(b, c->batch_size);
    put_i32(b, c->n_widths);
    for (int i = 0; i < NAS_GHN_MAX_WIDTHS; i++) {
        put_i32(b, c->widths[i]);
    }
    put_i32(b, c->N);
    put_i32(b, (int32_t)c->optim);
    put_f32(b, c->lr);
    put_f32(b, c->weight_decay);
    put_f32(b, c->clip);
    put_i64(b, c->warmup_steps);
    put_f32(b, c->label_smoothing);
    put_u(b, c->seed, 8);
    put_i32(b, c->threads);
    put_i32(b, c->max_bad_steps);
    put_i32(b, c->holdout_mod);
    const nas_ghn_data_info *d = &tr->data;
    put_str(b, d->space);
    put_str(b, d->dataset);
    put_i64(b, d->n_val);
    put_u(b, d->split_seed, 8);
    put_i32(b, d->norm.c);
    for (int i = 0; i < NAS_DATA_MAX_CHANNELS; i++) {
        put_f32(b, d->norm.mean[i]);
        put_f32(b, d->norm.std[i]);
    }
    put_i32(b, d->eval_batch);
    put_i32(b, d->in_c);
    put_i32(b, d->in_h);
    put_i32(b, d->in_w);
    put_i64(b, tr->step);
    put_i64(b, tr->skipped);
    put_i64(b, tr->archs);
    put_f64(b, tr->seconds);
    put_f64(b, tr->last_loss);
    put_f64(b, tr->last_acc);
    put_i32(b, (int32_t)tr->opt.cfg.kind);
    put_i64(b, tr->opt.step);
    put_i64(b, tr->opt.state_numel);
    put_floats(b, tr->opt.state, tr->opt.state_numel);
}

nas_status nas_ghn_save(const nas_ghn *g, const nas_ghn_trainer *tr, const char *path) {
    wbuf b = {0};
    put(&b, MAGIC, sizeof MAGIC);
    put_u(&b, NAS_GHN_CKPT_VERSION, 4);
    put_u(&b, tr ? 1u : 0u, 4);
    put_u(&b, 0, 8); /* total length, patched below */
    put_config(&b, &g->cfg);
    put_u(&b, g->params.count, 4);
    for (size_t i = 0; i < g->params.count; i++) {
        const nas_tensor *t = g->params.tensors[i];
        put_str(&b, t->name);
        put_u(&b, (uint64_t)t->ndim, 1);
        for (int d = 0; d < t->ndim; d++) {
            put_i64(&b, t->shape[d]);
        }
        put_floats(&b, t->data, t->numel);
    }
    put_u(&b, (uint64_t)g->n_seen, 8);
    put(&b, g->seen, (size_t)g->n_seen);
    if (tr) {
        put_trainer(&b, tr);
    }
    if (b.oom) {
        nas_free(b.p);
        return nas_error(NAS_ENOMEM, "%s: cannot build the checkpoint in memory", path);
    }
    uint64_t total = b.n + 4;
    for (int i = 0; i < 8; i++) {
        b.p[16 + i] = (unsigned char)(total >> (8 * i));
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, b.p, (uInt)b.n);
    put_u(&b, (uint32_t)crc, 4);
    nas_status st = NAS_OK;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = nas_error(NAS_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    } else {
        bool ok = !b.oom && fwrite(b.p, 1, b.n, f) == b.n;
        ok = (fclose(f) == 0) && ok;
        if (!ok) {
            st = nas_error(NAS_EIO, "%s: cannot write the checkpoint: %s", tmp, strerror(errno));
            remove(tmp);
        } else if (rename(tmp, path) != 0) {
            st = nas_error(NAS_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
            remove(tmp);
        }
    }
    nas_free(b.p);
    return st;
}

/* ---- reading -------------------------------------------------------------------------------- */

typedef struct rbuf {
    const unsigned char *p;
    size_t n, off;
    bool short_read;
} rbuf;

static const unsigned char *take(rbuf *r, size_t n) {
    if (r->short_read || r->n - r->off < n) {
        r->short_read = true;
        return NULL;
    }
    const unsigned char *q = r->p + r->off;
    r->off += n;
    return q;
}

static uint64_t get_u(rbuf *r, int bytes) {
    const unsigned char *q = take(r, (size_t)bytes);
    uint64_t v = 0;
    for (int i = 0; q && i < bytes; i++) {
        v |= (uint64_t)q[i] << (8 * i);
    }
    return v;
}

static int32_t get_i32(rbuf *r) {
    return (int32_t)(uint32_t)get_u(r, 4);
}

static int64_t get_i64(rbuf *r) {
    return (int64_t)get_u(r, 8);
}

static float get_f32(rbuf *r) {
    uint32_t u = (uint32_t)get_u(r, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double get_f64(rbuf *r) {
    uint64_t u = get_u(r, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void get_str(rbuf *r, char *out, size_t cap) {
    size_t n = (size_t)get_u(r, 2);
    const unsigned char *q = take(r, n);
    size_t k = q ? (n < cap - 1 ? n : cap - 1) : 0;
    if (q) {
        memcpy(out, q, k);
    }
    out[k] = '\0';
}

static void get_floats(rbuf *r, float *v, int64_t n) {
    const unsigned char *q = take(r, (size_t)n * 4);
    for (int64_t i = 0; q && i < n; i++) {
        uint32_t u = (uint32_t)q[4 * i] | (uint32_t)q[4 * i + 1] << 8 |
                     (uint32_t)q[4 * i + 2] << 16 | (uint32_t)q[4 * i + 3] << 24;
        memcpy(&v[i], &u, 4);
    }
}

static void get_config(rbuf *r, nas_ghn_config *c) {
    c->res_embed = get_i32(r) != 0;
    c->hid = get_i32(r);
    c->rounds = get_i32(r);
    c->s_max = get_i32(r);
    c->decoder = (nas_ghn_decoder)get_i32(r);
    c->chunk_out = get_i32(r);
    c->chunk_in = get_i32(r);
    c->chunk_k = get_i32(r);
    c->dec_hid = get_i32(r);
    c->n_pos = get_i32(r);
    c->classes = get_i32(r);
    c->layernorm = get_i32(r) != 0;
    c->weight_norm = get_i32(r) != 0;
}

static void get_train_config(rbuf *r, nas_ghn_train_config *c) {
    memset(c, 0, sizeof *c);
    c->steps = get_i64(r);
    c->time_limit = get_f64(r);
    c->meta_batch = get_i32(r);
    c->batch_size = get_i32(r);
    c->n_widths = get_i32(r);
    for (int i = 0; i < NAS_GHN_MAX_WIDTHS; i++) {
        c->widths[i] = get_i32(r);
    }
    c->N = get_i32(r);
    c->optim = (nas_optim_kind)get_i32(r);
    c->lr = get_f32(r);
    c->weight_decay = get_f32(r);
    c->clip = get_f32(r);
    c->warmup_steps = get_i64(r);
    c->label_smoothing = get_f32(r);
    c->seed = get_u(r, 8);
    c->threads = get_i32(r);
    c->max_bad_steps = get_i32(r);
    c->holdout_mod = get_i32(r);
}

static void get_data_info(rbuf *r, nas_ghn_data_info *d) {
    memset(d, 0, sizeof *d);
    get_str(r, d->space, sizeof d->space);
    get_str(r, d->dataset, sizeof d->dataset);
    d->n_val = get_i64(r);
    d->split_seed = get_u(r, 8);
    d->norm.c = get_i32(r);
    for (int i = 0; i < NAS_DATA_MAX_CHANNELS; i++) {
        d->norm.mean[i] = get_f32(r);
        d->norm.std[i] = get_f32(r);
    }
    d->eval_batch = get_i32(r);
    d->in_c = get_i32(r);
    d->in_h = get_i32(r);
    d->in_w = get_i32(r);
}

static nas_status read_file(const char *path, unsigned char **data, size_t *n) {
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return nas_error(errno == ENOENT ? NAS_ENOTFOUND : NAS_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = nas_malloc(cap);
    nas_status st = NAS_OK;
    while (buf) {
        if (len == cap) {
            unsigned char *q = nas_realloc(buf, cap * 2);
            if (!q) {
                nas_free(buf);
                buf = NULL;
                break;
            }
            buf = q;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            break;
        }
    }
    if (!buf) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory reading the file", path);
    } else if (ferror(f)) {
        st = nas_error(NAS_EIO, "%s: read error", path);
        nas_free(buf);
        buf = NULL;
    }
    fclose(f);
    *data = buf;
    *n = len;
    return st;
}

static nas_status load(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info, const char *path,
                       const nas_ghn_config *expect) {
    memset(g, 0, sizeof *g);
    if (tr) {
        memset(tr, 0, sizeof *tr);
    }
    if (info) {
        memset(info, 0, sizeof *info);
    }
    unsigned char *data = NULL;
    size_t n = 0;
    NAS_CHECK(read_file(path, &data, &n));
    nas_status st = NAS_OK;
    rbuf r = {data, n, 0, false};
    const size_t head = sizeof MAGIC + 4 + 4 + 8;
    if (n < sizeof MAGIC || memcmp(data, MAGIC, sizeof MAGIC) != 0) {
        st = nas_error(NAS_EFORMAT, "%s: not a ghnas GHN checkpoint (no GHNASGHN magic)", path);
        goto cleanup;
    }
    if (n < head + 4) {
        st = nas_error(NAS_EFORMAT, "%s: truncated checkpoint (%zu bytes, the header alone is %zu)",
                       path, n, head + 4);
        goto cleanup;
    }
    take(&r, sizeof MAGIC);
    uint32_t version = (uint32_t)get_u(&r, 4);
    uint32_t flags = (uint32_t)get_u(&r, 4);
    uint64_t total = get_u(&r, 8);
    if (version != NAS_GHN_CKPT_VERSION) {
        st = nas_error(
            NAS_EFORMAT, "%s: checkpoint format version %u, this build reads version %d%s", path,
            version, NAS_GHN_CKPT_VERSION,
            version < NAS_GHN_CKPT_VERSION ? " (written by an older ghnas: train the GHN again)"
                                           : " (written by a newer ghnas)");
        goto cleanup;
    }
    if (total != n) {
        st = nas_error(NAS_EFORMAT, "%s: %s checkpoint: %zu bytes, the header records %llu", path,
                       n < total ? "truncated" : "corrupted (trailing data or bad length)", n,
                       (unsigned long long)total);
        goto cleanup;
    }
    uint32_t stored = (uint32_t)data[n - 4] | (uint32_t)data[n - 3] << 8 |
                      (uint32_t)data[n - 2] << 16 | (uint32_t)data[n - 1] << 24;
    uLong crc = crc32(crc32(0L, Z_NULL, 0), data, (uInt)(n - 4));
    if ((uint32_t)crc != stored) {
        st = nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (CRC-32 %08x, expected %08x)", path,
                       (unsigned)crc, (unsigned)stored);
        goto cleanup;
    }
    r.n = n - 4; /* parse up to the trailer */
    nas_ghn_config cfg;
    get_config(&r, &cfg);
    if (r.short_read || nas_ghn_config_validate(&cfg) != NAS_OK) {
        st = nas_error(NAS_EFORMAT, "%s: invalid GHN configuration in the checkpoint: %s", path,
                       r.short_read ? "too short" : nas_errmsg());
        goto cleanup;
    }
    if (expect) {
        char why[160];
        if (nas_ghn_config_diff(&cfg, expect, "checkpoint", "requested", why, sizeof why)) {
            st = nas_error(NAS_EINVAL, "%s: the checkpoint's GHN configuration differs (%s)", path,
                           why);
            goto cleanup;
        }
    }
    NAS_TRY(nas_ghn_init(g, &cfg, 0));
    uint32_t count = (uint32_t)get_u(&r, 4);
    if (count != g->params.count) {
        st = nas_error(NAS_EFORMAT, "%s: %u tensors, a GHN of this configuration has %zu", path,
                       count, g->params.count);
        goto cleanup;
    }
    for (size_t i = 0; i < g->params.count; i++) {
        nas_tensor *t = g->params.tensors[i];
        char name[128];
        get_str(&r, name, sizeof name);
        int ndim = (int)get_u(&r, 1);
        bool ok = !r.short_read && strcmp(name, t->name) == 0 && ndim == t->ndim;
        for (int d = 0; d < ndim && d < NAS_MAX_DIMS; d++) {
            ok = get_i64(&r) == t->shape[d] && ok;
        }
        if (r.short_read) {
            break;
        }
        if (!ok) {
            char sh[64];
            st = nas_error(NAS_EFORMAT, "%s: tensor %zu is '%s' (%d dims), expected '%s' %s", path,
                           i, name, ndim, t->name, nas_shape_str(t, sh, sizeof sh));
            goto cleanup;
        }
        get_floats(&r, t->data, t->numel);
    }
    uint64_t n_seen = get_u(&r, 8);
    if (!r.short_read && n_seen != (uint64_t)g->n_seen) {
        st = nas_error(NAS_EFORMAT,
                       "%s: %llu trained-row flags, a GHN of this configuration has "
                       "%lld",
                       path, (unsigned long long)n_seen, (long long)g->n_seen);
        goto cleanup;
    }
    const unsigned char *seen = take(&r, (size_t)g->n_seen);
    if (seen) {
        memcpy(g->seen, seen, (size_t)g->n_seen);
    }
    if (!r.short_read && (flags & 1u) && (tr || info)) {
        nas_ghn_train_config tc;
        get_train_config(&r, &tc);
        nas_ghn_data_info di;
        get_data_info(&r, &di);
        if (info) {
            *info = di;
        }
        if (tr) {
            if (!r.short_read && nas_ghn_train_config_validate(&tc) != NAS_OK) {
                st = nas_error(NAS_EFORMAT, "%s: invalid training configuration: %s", path,
                               nas_errmsg());
                goto cleanup;
            }
            if (!r.short_read) {
                NAS_TRY(nas_ghn_trainer_init(tr, g, &tc));
            }
            tr->data = di;
            tr->step = get_i64(&r);
            tr->skipped = get_i64(&r);
            tr->archs = get_i64(&r);
            tr->seconds = get_f64(&r);
            tr->last_loss = get_f64(&r);
            tr->last_acc = get_f64(&r);
            nas_optim_kind kind = (nas_optim_kind)get_i32(&r);
            int64_t ostep = get_i64(&r), snum = get_i64(&r);
            if (!r.short_read && (kind != tr->opt.cfg.kind || snum != tr->opt.state_numel)) {
                st = nas_error(NAS_EFORMAT,
                               "%s: optimizer state of %s with %lld floats, expected %s with %lld",
                               path, nas_optim_kind_name(kind), (long long)snum,
                               nas_optim_kind_name(tr->opt.cfg.kind),
                               (long long)tr->opt.state_numel);
                goto cleanup;
            }
            tr->opt.step = ostep;
            get_floats(&r, tr->opt.state, tr->opt.state_numel);
        }
    } else if (tr && !(flags & 1u)) {
        st = nas_error(NAS_EFORMAT,
                       "%s: the checkpoint holds weights only, no training state to "
                       "resume",
                       path);
        goto cleanup;
    }
    if (r.short_read) {
        st = nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (fields run past the end)", path);
        goto cleanup;
    }
cleanup:
    nas_free(data);
    if (st != NAS_OK) {
        if (tr) {
            nas_ghn_trainer_free(tr);
        }
        nas_ghn_free(g);
    }
    return st;
}

nas_status nas_ghn_load(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                        const char *path) {
    return load(g, tr, info, path, NULL);
}

nas_status nas_ghn_load_expect(nas_ghn *g, nas_ghn_trainer *tr, nas_ghn_data_info *info,
                               const char *path, const nas_ghn_config *expect) {
    return load(g, tr, info, path, expect);
}
