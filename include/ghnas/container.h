/*
 * ghnas checkpoint container (src/core/container.c): the one binary format of every ghnas
 * checkpoint (GHNs, trained nets), built and read in memory. Files are thin wrappers.
 *
 * Layout, little-endian:
 *
 *   "GHNAS" + kind tag   8 bytes ("GHNASGHN": a GHN, "GHNASNET": a trained net)
 *   u32 version          the kind's layout version
 *   u32 n_sections
 *   u64 total length     of the whole buffer, CRC trailer included (detects truncation)
 *   n_sections x section:
 *       u8 name length (1..255), name bytes (no NUL)
 *       u8 type (nas_ckpt_type), u8 ndim (0..8), ndim x i64 dims
 *       u64 payload bytes (= element size x product of dims)
 *       payload (arrays: elements in little-endian order; records: fields a kind documents)
 *   u32 CRC-32 (zlib crc32) of every byte before it
 *
 * Reading checks, in this order: magic, size of the header, kind, version, recorded length
 * (truncation / trailing bytes), CRC (corruption), then every section header (bounds, sizes).
 * Each refusal is NAS_EFORMAT and names the buffer (a file path, "GHN 3 of the store", ...).
 *
 *     nas_ckpt_writer w;  nas_ckpt_writer_init(&w, &KIND);
 *     nas_ckpt_add(&w, "params", NAS_CKPT_F32, 1, (int64_t[]){n}, data);
 *     nas_ckpt_record_begin(&w, "state"); nas_ckpt_put_i64(&w, step); nas_ckpt_record_end(&w);
 *     nas_ckpt_writer_finish(&w, &bytes, &n_bytes);      // bytes for nas_free
 *
 *     nas_ckpt_reader r;  nas_ckpt_open(&r, bytes, n_bytes, &KIND, "model.ckpt");
 *     const nas_ckpt_section *s;  nas_ckpt_find(&r, "params", NAS_CKPT_F32, &s);
 *     nas_ckpt_section_f32(s, out, n);  ...  nas_ckpt_reader_free(&r);
 */
#pragma once

#include "ghnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NAS_CKPT_MAX_DIMS 8

/* Section element types. Numbers are stable (they are in the files). */
typedef enum nas_ckpt_type {
    NAS_CKPT_U8 = 1,
    NAS_CKPT_I32 = 2,
    NAS_CKPT_I64 = 3,
    NAS_CKPT_F32 = 4,
    NAS_CKPT_F64 = 5,
    NAS_CKPT_RECORD = 6, /* bytes holding little-endian fields (nas_ckpt_put_* / nas_ckpt_get_*) */
    NAS_CKPT_TYPE_COUNT
} nas_ckpt_type;

/* "u8", "i32", "i64", "f32", "f64", "record" ("?" for an unknown value). */
const char *nas_ckpt_type_name(nas_ckpt_type t);

/* What a checkpoint holds. */
typedef struct nas_ckpt_kind {
    char tag[4];      /* 3 characters after "GHNAS" in the magic, e.g. "GHN" */
    const char *name; /* in messages: "not a ghnas <name> checkpoint" */
    uint32_t version; /* the layout version written and read */
    const char *redo; /* advice when the buffer is of an older version, e.g. "train it again" */
} nas_ckpt_kind;

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct nas_ckpt_writer {
    unsigned char *p;  /* the buffer being built */
    size_t n, cap;     /* bytes used, allocated */
    uint32_t sections; /* sections added */
    size_t record_at;  /* offset of the open record's header, 0 = none */
    bool oom;          /* an allocation failed: finish reports NAS_ENOMEM */
    bool bad;          /* a misuse (bad name, nested record): finish reports NAS_EINVAL */
    const char *kind_name;
} nas_ckpt_writer;

/* Start a buffer of `kind` (the header is written now, patched by finish). */
void nas_ckpt_writer_init(nas_ckpt_writer *w, const nas_ckpt_kind *kind);
/* Drop the buffer (after an error, or when finish was not called). */
void nas_ckpt_writer_free(nas_ckpt_writer *w);

/* An array section: dims[0..ndim) elements of `type` from host-order `data` (copied). */
void nas_ckpt_add(nas_ckpt_writer *w, const char *name, nas_ckpt_type type, int ndim,
                  const int64_t *dims, const void *data);
/* A record section: the nas_ckpt_put_* calls between begin and end form its payload. */
void nas_ckpt_record_begin(nas_ckpt_writer *w, const char *name);
void nas_ckpt_record_end(nas_ckpt_writer *w);

void nas_ckpt_put_u(nas_ckpt_writer *w, uint64_t v, int bytes); /* little-endian, 1..8 bytes */
void nas_ckpt_put_i32(nas_ckpt_writer *w, int32_t v);
void nas_ckpt_put_i64(nas_ckpt_writer *w, int64_t v);
void nas_ckpt_put_f32(nas_ckpt_writer *w, float v);
void nas_ckpt_put_f64(nas_ckpt_writer *w, double v);
void nas_ckpt_put_str(nas_ckpt_writer *w, const char *s); /* u16 length + bytes (<= 65535) */

/*
 * Patch the header, append the CRC and hand the buffer over (*bytes for nas_free; the writer
 * is left empty). NAS_ENOMEM when an allocation failed on the way, NAS_EINVAL on a misuse
 * (an empty or too long section name, an unclosed record); the buffer is freed then.
 */
nas_status nas_ckpt_writer_finish(nas_ckpt_writer *w, void **bytes, size_t *n);

/* ---- reading --------------------------------------------------------------------------------- */

typedef struct nas_ckpt_section {
    char name[256];
    nas_ckpt_type type;
    int ndim;
    int64_t dims[NAS_CKPT_MAX_DIMS];
    int64_t count;             /* elements (product of dims; bytes for a record) */
    const unsigned char *data; /* payload inside the reader's buffer (little-endian) */
    size_t bytes;
} nas_ckpt_section;

typedef struct nas_ckpt_reader {
    char what[256]; /* the buffer's name in messages */
    uint32_t version;
    uint32_t n_sections;
    nas_ckpt_section *sections; /* [n_sections], pointing into the caller's buffer */
} nas_ckpt_reader;

/*
 * Check a buffer of `kind` (see the order above) and index its sections. The buffer is borrowed
 * and must outlive the reader. On failure the reader is zeroed and the message names `what`.
 */
nas_status nas_ckpt_open(nas_ckpt_reader *r, const void *bytes, size_t n, const nas_ckpt_kind *kind,
                         const char *what);
void nas_ckpt_reader_free(nas_ckpt_reader *r);

/* True when the buffer starts with the magic of `kind` (any version). */
bool nas_ckpt_is_kind(const void *bytes, size_t n, const nas_ckpt_kind *kind);

/* The first section called `name`; NAS_EFORMAT naming it when it is missing or not of `type`. */
nas_status nas_ckpt_find(const nas_ckpt_reader *r, const char *name, nas_ckpt_type type,
                         const nas_ckpt_section **s);
/* As nas_ckpt_find, but a missing section is *s = NULL and NAS_OK. */
nas_status nas_ckpt_find_opt(const nas_ckpt_reader *r, const char *name, nas_ckpt_type type,
                             const nas_ckpt_section **s);

/* Copy an array section's `count` elements into host-order `out` (sized count). NAS_EFORMAT when
 * the section has another element count. */
nas_status nas_ckpt_section_read(const nas_ckpt_reader *r, const nas_ckpt_section *s, void *out,
                                 int64_t count);

/* A bounds-checked read position in a record (or any little-endian bytes). Reads past the end
 * return zeros and set short_read, so a parser checks once at the end. */
typedef struct nas_ckpt_cursor {
    const unsigned char *p;
    size_t n, off;
    bool short_read;
} nas_ckpt_cursor;

nas_ckpt_cursor nas_ckpt_cursor_of(const nas_ckpt_section *s);
const unsigned char *nas_ckpt_take(nas_ckpt_cursor *c, size_t n); /* NULL when short */
uint64_t nas_ckpt_get_u(nas_ckpt_cursor *c, int bytes);
int32_t nas_ckpt_get_i32(nas_ckpt_cursor *c);
int64_t nas_ckpt_get_i64(nas_ckpt_cursor *c);
float nas_ckpt_get_f32(nas_ckpt_cursor *c);
double nas_ckpt_get_f64(nas_ckpt_cursor *c);
void nas_ckpt_get_str(nas_ckpt_cursor *c, char *out, size_t cap); /* truncated to cap - 1 */
void nas_ckpt_get_f32s(nas_ckpt_cursor *c, float *v, int64_t n);

/* ---- files ----------------------------------------------------------------------------------- */

/* A whole regular file into heap memory (nas_free), NUL-terminated after *n bytes. NAS_ENOTFOUND
 * when it does not exist, NAS_EIO for a FIFO, device or directory (never blocks) or a read error.
 */
nas_status nas_file_read_all(const char *path, void **bytes, size_t *n);
/* A checkpoint file of `kind`: its 24-byte header is read and checked first (magic, the length it
 * records = the file's size), so a foreign or huge file costs 24 bytes, never its size. */
nas_status nas_ckpt_file_read(const char *path, const nas_ckpt_kind *kind, void **bytes, size_t *n);

/* ---- paths (src/core/file.c) --------------------------------------------------------------- */

/* `path` is a regular file (*exists true) or absent (*exists false); NAS_EIO naming `what`
 * and what it is (a FIFO, a device, a directory) otherwise. exists may be NULL. */
nas_status nas_path_check_regular(const char *path, const char *what, bool *exists);
/* An output path that can be written: a writable regular file or a new one, in an existing
 * writable directory (atomic writes and stores create files beside it). Checked before long work
 * so a typo costs nothing. */
nas_status nas_path_check_output(const char *path, const char *what);
/* Open a regular file for reading without blocking on FIFOs; *size its size. Close *fd. */
nas_status nas_file_open_regular(const char *path, const char *what, int *fd, size_t *size);
/* Read up to n bytes (fewer at the end of the file: *got). */
nas_status nas_file_read_fd(int fd, const char *path, void *buf, size_t n, size_t *got);
/* A regular file of at most max bytes (0 = no bound) into heap memory, NUL-terminated after *n.
 * NAS_EFORMAT when larger, naming `what`. */
nas_status nas_file_read_bounded(const char *path, const char *what, size_t max, void **bytes,
                                 size_t *n);
/* Write bytes to path atomically (path.tmp, then rename). NAS_EIO naming the file. */
nas_status nas_file_write_atomic(const char *path, const void *bytes, size_t n);

#ifdef __cplusplus
}
#endif
