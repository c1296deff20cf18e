/*
 * The checkpoint container (include/ghnas/container.h): a little-endian buffer of named, typed
 * sections between a magic/version/length header and a CRC-32 trailer (zlib), written and read
 * in memory; plus the two file helpers the checkpoint wrappers use.
 */
#include "ghnas/container.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define HEAD_BYTES 24 /* magic 8, version 4, sections 4, total length 8 */
#define CRC_BYTES  4

static const char PREFIX[5] = {'G', 'H', 'N', 'A', 'S'};

static const char *const type_names[NAS_CKPT_TYPE_COUNT] = {
    [NAS_CKPT_U8] = "u8",   [NAS_CKPT_I32] = "i32", [NAS_CKPT_I64] = "i64",
    [NAS_CKPT_F32] = "f32", [NAS_CKPT_F64] = "f64", [NAS_CKPT_RECORD] = "record"};

static const int type_size[NAS_CKPT_TYPE_COUNT] = {
    [NAS_CKPT_U8] = 1,  [NAS_CKPT_I32] = 4, [NAS_CKPT_I64] = 8,
    [NAS_CKPT_F32] = 4, [NAS_CKPT_F64] = 8, [NAS_CKPT_RECORD] = 1};

static bool type_ok(int t) {
    return t > 0 && t < NAS_CKPT_TYPE_COUNT && type_size[t] > 0;
}

const char *nas_ckpt_type_name(nas_ckpt_type t) {
    return type_ok((int)t) ? type_names[t] : "?";
}

static uint64_t load_le(const unsigned char *q, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v |= (uint64_t)q[i] << (8 * i);
    }
    return v;
}

static void store_le(unsigned char *q, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) {
        q[i] = (unsigned char)(v >> (8 * i));
    }
}

/* ---- writing --------------------------------------------------------------------------------- */

/* Room for n more bytes; NULL (and oom) when it cannot grow. */
static unsigned char *reserve(nas_ckpt_writer *w, size_t n) {
    if (w->oom) {
        return NULL;
    }
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->n + n) {
            cap *= 2;
        }
        unsigned char *q = nas_realloc(w->p, cap);
        if (!q) {
            w->oom = true;
            return NULL;
        }
        w->p = q;
        w->cap = cap;
    }
    unsigned char *q = w->p + w->n;
    w->n += n;
    return q;
}

static void put(nas_ckpt_writer *w, const void *src, size_t n) {
    unsigned char *q = reserve(w, n);
    if (q && n > 0) {
        memcpy(q, src, n);
    }
}

void nas_ckpt_put_u(nas_ckpt_writer *w, uint64_t v, int bytes) {
    unsigned char *q = reserve(w, (size_t)bytes);
    if (q) {
        store_le(q, v, bytes);
    }
}

void nas_ckpt_put_i32(nas_ckpt_writer *w, int32_t v) {
    nas_ckpt_put_u(w, (uint32_t)v, 4);
}

void nas_ckpt_put_i64(nas_ckpt_writer *w, int64_t v) {
    nas_ckpt_put_u(w, (uint64_t)v, 8);
}

void nas_ckpt_put_f32(nas_ckpt_writer *w, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    nas_ckpt_put_u(w, u, 4);
}

void nas_ckpt_put_f64(nas_ckpt_writer *w, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    nas_ckpt_put_u(w, u, 8);
}

void nas_ckpt_put_str(nas_ckpt_writer *w, const char *s) {
    size_t n = strlen(s);
    n = n > 65535 ? 65535 : n;
    nas_ckpt_put_u(w, n, 2);
    put(w, s, n);
}

void nas_ckpt_writer_init(nas_ckpt_writer *w, const nas_ckpt_kind *kind) {
    memset(w, 0, sizeof *w);
    w->kind_name = kind->name;
    put(w, PREFIX, sizeof PREFIX);
    put(w, kind->tag, 3);
    nas_ckpt_put_u(w, kind->version, 4);
    nas_ckpt_put_u(w, 0, 4); /* sections, patched by finish */
    nas_ckpt_put_u(w, 0, 8); /* total length, patched by finish */
}

void nas_ckpt_writer_free(nas_ckpt_writer *w) {
    nas_free(w->p);
    memset(w, 0, sizeof *w);
}

/* name, type, dims, byte count: the part of a section before its payload. */
static void section_head(nas_ckpt_writer *w, const char *name, nas_ckpt_type type, int ndim,
                         const int64_t *dims, uint64_t bytes) {
    size_t len = name ? strlen(name) : 0;
    if (len < 1 || len > 255 || ndim < 0 || ndim > NAS_CKPT_MAX_DIMS || w->record_at) {
        w->bad = true;
        return;
    }
    nas_ckpt_put_u(w, len, 1);
    put(w, name, len);
    nas_ckpt_put_u(w, (uint64_t)type, 1);
    nas_ckpt_put_u(w, (uint64_t)ndim, 1);
    for (int d = 0; d < ndim; d++) {
        nas_ckpt_put_i64(w, dims[d]);
    }
    nas_ckpt_put_u(w, bytes, 8);
    w->sections++;
}

void nas_ckpt_add(nas_ckpt_writer *w, const char *name, nas_ckpt_type type, int ndim,
                  const int64_t *dims, const void *data) {
    if (!type_ok((int)type) || type == NAS_CKPT_RECORD) {
        w->bad = true;
        return;
    }
    int64_t count = 1;
    for (int d = 0; d < ndim && d < NAS_CKPT_MAX_DIMS; d++) {
        if (dims[d] < 0) {
            w->bad = true;
            return;
        }
        count *= dims[d];
    }
    const int es = type_size[type];
    section_head(w, name, type, ndim, dims, (uint64_t)count * (uint64_t)es);
    if (w->bad || count == 0) {
        return;
    }
    unsigned char *q = reserve(w, (size_t)count * (size_t)es);
    if (!q) {
        return;
    }
    const unsigned char *src = data;
    for (int64_t i = 0; i < count; i++) { /* host order -> little-endian */
        uint64_t v = 0;
        switch (es) {
            case 1:
                v = src[i];
                break;
            case 4: {
                uint32_t u;
                memcpy(&u, src + 4 * i, 4);
                v = u;
                break;
            }
            default:
                memcpy(&v, src + 8 * i, 8);
                break;
        }
        store_le(q + (size_t)i * (size_t)es, v, es);
    }
}

void nas_ckpt_record_begin(nas_ckpt_writer *w, const char *name) {
    size_t at = w->n;
    section_head(w, name, NAS_CKPT_RECORD, 1, (int64_t[]){0}, 0);
    if (!w->bad) {
        w->record_at = at;
    }
}

void nas_ckpt_record_end(nas_ckpt_writer *w) {
    if (!w->record_at) {
        w->bad = true;
        return;
    }
    if (!w->oom) { /* patch dims[0] and the byte count */
        size_t name_len = w->p[w->record_at];
        size_t dims_at = w->record_at + 1 + name_len + 2;
        size_t bytes_at = dims_at + 8;
        uint64_t bytes = w->n - (bytes_at + 8);
        store_le(w->p + dims_at, bytes, 8);
        store_le(w->p + bytes_at, bytes, 8);
    }
    w->record_at = 0;
}

nas_status nas_ckpt_writer_finish(nas_ckpt_writer *w, void **bytes, size_t *n) {
    *bytes = NULL;
    *n = 0;
    const char *kind = w->kind_name ? w->kind_name : "ghnas";
    /* after an allocation failure the record bookkeeping is unreliable (a record begun at offset
     * 0 of an empty buffer looks unopened), so running out of memory is reported first */
    if (!w->oom && (w->record_at || w->bad)) {
        nas_ckpt_writer_free(w);
        return nas_error(NAS_EINVAL,
                         "%s checkpoint: a section name is empty or longer than 255 "
                         "bytes, a shape is invalid, or a record is not closed",
                         kind);
    }
    reserve(w, CRC_BYTES);
    if (w->oom) {
        size_t want = w->cap;
        nas_ckpt_writer_free(w);
        return nas_error(NAS_ENOMEM, "cannot build a %s checkpoint in memory (%zu bytes)", kind,
                         want);
    }
    w->n -= CRC_BYTES;
    store_le(w->p + 12, w->sections, 4);
    store_le(w->p + 16, (uint64_t)w->n + CRC_BYTES, 8);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32_z(crc, w->p, w->n);
    nas_ckpt_put_u(w, (uint32_t)crc, 4);
    *bytes = w->p;
    *n = w->n;
    memset(w, 0, sizeof *w);
    return NAS_OK;
}

/* ---- reading --------------------------------------------------------------------------------- */

const unsigned char *nas_ckpt_take(nas_ckpt_cursor *c, size_t n) {
    if (c->short_read || c->n - c->off < n) {
        c->short_read = true;
        return NULL;
    }
    const unsigned char *q = c->p + c->off;
    c->off += n;
    return q;
}

uint64_t nas_ckpt_get_u(nas_ckpt_cursor *c, int bytes) {
    const unsigned char *q = nas_ckpt_take(c, (size_t)bytes);
    return q ? load_le(q, bytes) : 0;
}

int32_t nas_ckpt_get_i32(nas_ckpt_cursor *c) {
    return (int32_t)(uint32_t)nas_ckpt_get_u(c, 4);
}

int64_t nas_ckpt_get_i64(nas_ckpt_cursor *c) {
    return (int64_t)nas_ckpt_get_u(c, 8);
}

float nas_ckpt_get_f32(nas_ckpt_cursor *c) {
    uint32_t u = (uint32_t)nas_ckpt_get_u(c, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

double nas_ckpt_get_f64(nas_ckpt_cursor *c) {
    uint64_t u = nas_ckpt_get_u(c, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

void nas_ckpt_get_str(nas_ckpt_cursor *c, char *out, size_t cap) {
    size_t n = (size_t)nas_ckpt_get_u(c, 2);
    const unsigned char *q = nas_ckpt_take(c, n);
    size_t k = q ? (n < cap - 1 ? n : cap - 1) : 0;
    if (q) {
        memcpy(out, q, k);
    }
    out[k] = '\0';
}

void nas_ckpt_get_f32s(nas_ckpt_cursor *c, float *v, int64_t n) {
    const unsigned char *q = n > 0 ? nas_ckpt_take(c, (size_t)n * 4) : NULL;
    for (int64_t i = 0; q && i < n; i++) {
        uint32_t u = (uint32_t)load_le(q + 4 * i, 4);
        memcpy(&v[i], &u, 4);
    }
}

nas_ckpt_cursor nas_ckpt_cursor_of(const nas_ckpt_section *s) {
    return (nas_ckpt_cursor){s->data, s->bytes, 0, false};
}

bool nas_ckpt_is_kind(const void *bytes, size_t n, const nas_ckpt_kind *kind) {
    const unsigned char *b = bytes;
    return n >= 8 && memcmp(b, PREFIX, sizeof PREFIX) == 0 && memcmp(b + 5, kind->tag, 3) == 0;
}

void nas_ckpt_reader_free(nas_ckpt_reader *r) {
    nas_free(r->sections);
    memset(r, 0, sizeof *r);
}

/* One section header at the cursor into *s; false (with a message) when it is malformed. */
static nas_status parse_section(nas_ckpt_reader *r, nas_ckpt_cursor *c, uint32_t i,
                                nas_ckpt_section *s) {
    memset(s, 0, sizeof *s);
    size_t len = (size_t)nas_ckpt_get_u(c, 1);
    const unsigned char *name = nas_ckpt_take(c, len);
    if (name) {
        memcpy(s->name, name, len);
    }
    int type = (int)nas_ckpt_get_u(c, 1);
    s->ndim = (int)nas_ckpt_get_u(c, 1);
    if (c->short_read) {
        return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (section %u runs past the end)",
                         r->what, i);
    }
    if (len == 0 || !type_ok(type) || s->ndim > NAS_CKPT_MAX_DIMS) {
        return nas_error(NAS_EFORMAT,
                         "%s: corrupted checkpoint (section %u '%s': name length %zu, type %d, "
                         "%d dims)",
                         r->what, i, s->name, len, type, s->ndim);
    }
    s->type = (nas_ckpt_type)type;
    uint64_t count = 1;
    bool overflow = false;
    for (int d = 0; d < s->ndim; d++) {
        s->dims[d] = nas_ckpt_get_i64(c);
        uint64_t dim = (uint64_t)s->dims[d];
        overflow = overflow || s->dims[d] < 0 || (dim > 0 && count > UINT64_MAX / 16 / dim);
        count *= overflow ? 1 : dim;
    }
    uint64_t bytes = nas_ckpt_get_u(c, 8);
    if (c->short_read) {
        return nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (section '%s' runs past the end)",
                         r->what, s->name);
    }
    if (overflow || bytes != count * (uint64_t)type_size[type]) {
        return nas_error(NAS_EFORMAT,
                         "%s: corrupted checkpoint (section '%s' holds %llu bytes, its shape "
                         "needs %llu)",
                         r->what, s->name, (unsigned long long)bytes,
                         (unsigned long long)(count * (uint64_t)type_size[type]));
    }
    s->data = nas_ckpt_take(c, (size_t)bytes);
    if (!s->data && bytes > 0) {
        return nas_error(NAS_EFORMAT,
                         "%s: corrupted checkpoint (section '%s' of %llu bytes runs past the end)",
                         r->what, s->name, (unsigned long long)bytes);
    }
    s->count = (int64_t)count;
    s->bytes = (size_t)bytes;
    return NAS_OK;
}

nas_status nas_ckpt_open(nas_ckpt_reader *r, const void *bytes, size_t n, const nas_ckpt_kind *kind,
                         const char *what) {
    memset(r, 0, sizeof *r);
    snprintf(r->what, sizeof r->what, "%s", what ? what : "checkpoint");
    const unsigned char *b = bytes;
    nas_status st = NAS_OK;
    if (!b || n < 8 || memcmp(b, PREFIX, sizeof PREFIX) != 0) {
        st = nas_error(NAS_EFORMAT, "%s: not a ghnas %s checkpoint (no GHNAS%.3s magic)", r->what,
                       kind->name, kind->tag);
        goto cleanup;
    }
    if (memcmp(b + 5, kind->tag, 3) != 0) {
        st = nas_error(NAS_EFORMAT,
                       "%s: not a ghnas %s checkpoint (a ghnas '%.3s' checkpoint, magic GHNAS%.3s)",
                       r->what, kind->name, (const char *)b + 5, kind->tag);
        goto cleanup;
    }
    if (n < HEAD_BYTES + CRC_BYTES) {
        st = nas_error(NAS_EFORMAT, "%s: truncated checkpoint (%zu bytes, the header alone is %d)",
                       r->what, n, HEAD_BYTES + CRC_BYTES);
        goto cleanup;
    }
    nas_ckpt_cursor c = {b, n - CRC_BYTES, 8, false};
    uint32_t version = (uint32_t)nas_ckpt_get_u(&c, 4);
    uint32_t n_sections = (uint32_t)nas_ckpt_get_u(&c, 4);
    uint64_t total = nas_ckpt_get_u(&c, 8);
    if (version != kind->version) {
        char older[160];
        snprintf(older, sizeof older, " (written by an older ghnas: %s)",
                 kind->redo ? kind->redo : "make it again");
        st = nas_error(NAS_EFORMAT,
                       "%s: checkpoint format version %u, this build reads version %u%s", r->what,
                       version, kind->version,
                       version < kind->version ? older : " (written by a newer ghnas)");
        goto cleanup;
    }
    if (total != n) {
        st = nas_error(NAS_EFORMAT, "%s: %s checkpoint: %zu bytes, the header records %llu",
                       r->what, n < total ? "truncated" : "corrupted (trailing data or bad length)",
                       n, (unsigned long long)total);
        goto cleanup;
    }
    uint32_t stored = (uint32_t)load_le(b + n - CRC_BYTES, 4);
    uLong crc = crc32_z(crc32(0L, Z_NULL, 0), b, n - CRC_BYTES);
    if ((uint32_t)crc != stored) {
        st = nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (CRC-32 %08x, expected %08x)",
                       r->what, (unsigned)crc, (unsigned)stored);
        goto cleanup;
    }
    /* every section needs at least 12 header bytes: a count beyond that is corruption */
    if ((uint64_t)n_sections > (n - HEAD_BYTES) / 12) {
        st = nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (%u sections in %zu bytes)", r->what,
                       n_sections, n);
        goto cleanup;
    }
    r->version = version;
    r->sections = nas_calloc(n_sections ? n_sections : 1, sizeof *r->sections);
    if (!r->sections) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory indexing %u sections", r->what, n_sections);
        goto cleanup;
    }
    for (uint32_t i = 0; i < n_sections; i++) {
        NAS_TRY(parse_section(r, &c, i, &r->sections[i]));
    }
    if (c.off != c.n) {
        st = nas_error(NAS_EFORMAT, "%s: corrupted checkpoint (%zu bytes after the last section)",
                       r->what, c.n - c.off);
        goto cleanup;
    }
    r->n_sections = n_sections;
cleanup:
    if (st != NAS_OK) {
        nas_free(r->sections);
        r->sections = NULL;
    }
    return st;
}

nas_status nas_ckpt_find_opt(const nas_ckpt_reader *r, const char *name, nas_ckpt_type type,
                             const nas_ckpt_section **s) {
    *s = NULL;
    for (uint32_t i = 0; i < r->n_sections; i++) {
        const nas_ckpt_section *q = &r->sections[i];
        if (strcmp(q->name, name) == 0) {
            if (q->type != type) {
                return nas_error(NAS_EFORMAT, "%s: section '%s' holds %s, expected %s", r->what,
                                 name, nas_ckpt_type_name(q->type), nas_ckpt_type_name(type));
            }
            *s = q;
            return NAS_OK;
        }
    }
    return NAS_OK;
}

nas_status nas_ckpt_find(const nas_ckpt_reader *r, const char *name, nas_ckpt_type type,
                         const nas_ckpt_section **s) {
    NAS_CHECK(nas_ckpt_find_opt(r, name, type, s));
    if (!*s) {
        return nas_error(NAS_EFORMAT, "%s: the checkpoint has no section '%s'", r->what, name);
    }
    return NAS_OK;
}

nas_status nas_ckpt_section_read(const nas_ckpt_reader *r, const nas_ckpt_section *s, void *out,
                                 int64_t count) {
    if (s->count != count || s->type == NAS_CKPT_RECORD) {
        return nas_error(NAS_EFORMAT, "%s: section '%s' holds %lld %s values, expected %lld",
                         r->what, s->name, (long long)s->count, nas_ckpt_type_name(s->type),
                         (long long)count);
    }
    const int es = type_size[s->type];
    unsigned char *dst = out;
    for (int64_t i = 0; i < count; i++) { /* little-endian -> host order */
        uint64_t v = load_le(s->data + (size_t)i * (size_t)es, es);
        switch (es) {
            case 1:
                dst[i] = (unsigned char)v;
                break;
            case 4: {
                uint32_t u = (uint32_t)v;
                memcpy(dst + 4 * i, &u, 4);
                break;
            }
            default:
                memcpy(dst + 8 * i, &v, 8);
                break;
        }
    }
    return NAS_OK;
}

/* ---- files ----------------------------------------------------------------------------------- */

nas_status nas_file_read_all(const char *path, void **bytes, size_t *n) {
    return nas_file_read_bounded(path, "file", 0, bytes, n);
}

nas_status nas_ckpt_file_read(const char *path, const nas_ckpt_kind *kind, void **bytes,
                              size_t *n) {
    *bytes = NULL;
    *n = 0;
    int fd = -1;
    size_t size = 0;
    NAS_CHECK(nas_file_open_regular(path, "checkpoint", &fd, &size));
    unsigned char head[HEAD_BYTES];
    size_t got = 0;
    unsigned char *buf = NULL;
    nas_status st = nas_file_read_fd(fd, path, head, sizeof head, &got);
    if (st != NAS_OK) {
        goto cleanup;
    }
    if (got < 8 || !nas_ckpt_is_kind(head, got, kind)) {
        /* the in-memory parser words the refusal (foreign file, other kind) */
        st = nas_ckpt_open(&(nas_ckpt_reader){0}, head, got, kind, path);
        if (st == NAS_OK) {
            st = nas_error(NAS_EFORMAT, "%s: not a ghnas %s checkpoint", path, kind->name);
        }
        goto cleanup;
    }
    if (got < HEAD_BYTES) {
        st = nas_error(NAS_EFORMAT, "%s: truncated checkpoint (%zu bytes, the header alone is %d)",
                       path, got, HEAD_BYTES + CRC_BYTES);
        goto cleanup;
    }
    /* both layouts (v2 and the container) record the total length at byte 16 */
    uint64_t total = load_le(head + 16, 8);
    if (total != (uint64_t)size) {
        st = nas_error(NAS_EFORMAT, "%s: %s checkpoint: %zu bytes, the header records %llu", path,
                       (uint64_t)size < total ? "truncated"
                                              : "corrupted (trailing data or bad length)",
                       size, (unsigned long long)total);
        goto cleanup;
    }
    buf = nas_malloc(size);
    if (!buf) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory for a %zu-byte checkpoint", path, size);
        goto cleanup;
    }
    memcpy(buf, head, HEAD_BYTES);
    st = nas_file_read_fd(fd, path, buf + HEAD_BYTES, size - HEAD_BYTES, &got);
    if (st == NAS_OK && got != size - HEAD_BYTES) {
        st = nas_error(NAS_EFORMAT, "%s: the file shrank while it was read", path);
    }
    if (st == NAS_OK) {
        *bytes = buf;
        *n = size;
        buf = NULL;
    }
cleanup:
    nas_free(buf);
    close(fd);
    return st;
}

nas_status nas_file_write_atomic(const char *path, const void *bytes, size_t n) {
    char part[4096];
    if (snprintf(part, sizeof part, "%s.tmp", path) >= (int)sizeof part) {
        return nas_error(NAS_EINVAL, "%s: path too long", path);
    }
    FILE *f = fopen(part, "wb");
    if (!f) {
        return nas_error(NAS_EIO, "%s: cannot create: %s", part, strerror(errno));
    }
    bool ok = fwrite(bytes, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        nas_status st = nas_error(NAS_EIO, "%s: cannot write: %s", part, strerror(errno));
        remove(part);
        return st;
    }
    if (rename(part, path) != 0) {
        nas_status st =
            nas_error(NAS_EIO, "%s: cannot rename to %s: %s", part, path, strerror(errno));
        remove(part);
        return st;
    }
    return NAS_OK;
}
