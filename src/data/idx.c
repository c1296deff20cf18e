/*
 * IDX file reader (the MNIST / Fashion-MNIST format) through zlib, plus loaders by split name.
 *
 * An IDX file is a big-endian header (magic 0x000008TD: type 08 = unsigned byte, D dimensions,
 * then D 32-bit sizes) followed by the raw bytes. gzread() decompresses gzip files and passes
 * plain files through unchanged, so both forms load with the same code. Every length is checked
 * exactly: a short file is "truncated", a longer one "over-long", and each message starts with
 * the file's path.
 */
#include "data-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_SIDE     65535u
#define GZ_CHUNK         ((size_t)1 << 24) /* bytes per gzread call (its length is an unsigned) */
#define GROW_START       ((size_t)1 << 26) /* first payload buffer; doubles up to the size */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static nas_status gz_open(const char *path, gzFile *out) {
    errno = 0;
    *out = gzopen(path, "rb");
    if (!*out) {
        if (errno == ENOENT) {
            return nas_error(NAS_ENOTFOUND, "%s: no such file", path);
        }
        if (errno == 0) {
            return nas_error(NAS_ENOMEM, "%s: zlib could not allocate its state", path);
        }
        return nas_error(NAS_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    gzbuffer(*out, 1u << 17);
    return NAS_OK;
}

/* Read up to n bytes; fewer only at the end of the input. *cut is set when a gzip stream ended
 * in the middle (zlib's "unexpected end of file"), which callers report as truncation. */
static nas_status gz_read_upto(gzFile gz, const char *path, void *buf, size_t n, size_t *got,
                               bool *cut) {
    unsigned char *p = buf;
    *got = 0;
    while (*got < n) {
        size_t want = n - *got < GZ_CHUNK ? n - *got : GZ_CHUNK;
        int r = gzread(gz, p + *got, (unsigned)want);
        if (r < 0) {
            int errnum = 0;
            const char *msg = gzerror(gz, &errnum);
            if (errnum == Z_ERRNO) {
                return nas_error(NAS_EIO, "%s: read error: %s", path, strerror(errno));
            }
            return nas_error(NAS_EFORMAT, "%s: corrupt gzip data: %s", path, msg);
        }
        *got += (size_t)r;
        if ((size_t)r < want) {
            break;
        }
    }
    int errnum = 0;
    gzerror(gz, &errnum);
    if (cut) {
        *cut = errnum == Z_BUF_ERROR;
    }
    return NAS_OK;
}

/* Header of an IDX file with `ndims` dimensions; fills dims[0..ndims). */
static nas_status read_header(gzFile gz, const char *path, uint32_t magic, int ndims,
                              uint32_t *dims) {
    unsigned char hdr[16];
    size_t len = 4 + 4 * (size_t)ndims, got = 0;
    bool cut = false;
    NAS_CHECK(gz_read_upto(gz, path, hdr, len, &got, &cut));
    if (got >= 4 && be32(hdr) != magic) {
        uint32_t m = be32(hdr);
        const char *what = magic == IDX_MAGIC_IMAGES ? "IDX unsigned-byte 3-D images"
                                                     : "IDX unsigned-byte 1-D labels";
        const char *note = "";
        if (m == IDX_MAGIC_LABELS) {
            note = "; this is an IDX labels file";
        } else if (m == IDX_MAGIC_IMAGES) {
            note = "; this is an IDX images file";
        }
        return nas_error(NAS_EFORMAT, "%s: wrong magic number 0x%08x, expected 0x%08x (%s)%s", path,
                         m, magic, what, note);
    }
    if (got < len) {
        return nas_error(NAS_EFORMAT, "%s: truncated header: expected %zu bytes, got %zu%s", path,
                         len, got, cut ? " (gzip stream ends early)" : "");
    }
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(hdr + 4 + 4 * i);
    }
    return NAS_OK;
}

/* Read exactly `want` payload bytes into a new buffer and require end of input after them. The
 * buffer grows as data arrives, so a header claiming a huge size cannot force a huge allocation
 * for a small file. `what` names the payload ("image data"). */
static nas_status read_payload(gzFile gz, const char *path, size_t want, const char *what,
                               uint8_t **out) {
    nas_status st = NAS_OK;
    size_t cap = want < GROW_START ? want : GROW_START;
    size_t got = 0;
    bool cut = false;
    uint8_t *buf = nas_malloc(cap);
    *out = NULL;
    if (!buf) {
        NAS_TRY(nas_error(NAS_ENOMEM, "%s: cannot allocate %zu bytes for %s", path, cap, what));
    }
    for (;;) {
        size_t n = 0;
        NAS_TRY(gz_read_upto(gz, path, buf + got, cap - got, &n, &cut));
        got += n;
        if (got < cap || cap == want) {
            break;
        }
        size_t ncap = cap > want / 2 ? want : cap * 2;
        uint8_t *nb = nas_realloc(buf, ncap);
        if (!nb) {
            NAS_TRY(
                nas_error(NAS_ENOMEM, "%s: cannot allocate %zu bytes for %s", path, ncap, what));
        }
        buf = nb;
        cap = ncap;
    }
    if (got < want) {
        NAS_TRY(nas_error(NAS_EFORMAT, "%s: truncated: expected %zu bytes of %s, got %zu%s", path,
                          want, what, got, cut ? " (gzip stream ends early)" : ""));
    }
    /* Anything after the payload means the header and the file disagree. */
    unsigned char tail[4096];
    size_t extra = 0;
    for (;;) {
        size_t n = 0;
        NAS_TRY(gz_read_upto(gz, path, tail, sizeof tail, &n, NULL));
        extra += n;
        if (n < sizeof tail) {
            break;
        }
    }
    if (extra > 0) {
        NAS_TRY(nas_error(NAS_EFORMAT,
                          "%s: over-long: %zu unexpected bytes after the %zu bytes of %s that the "
                          "header announces",
                          path, extra, want, what));
    }
    *out = buf;
    buf = NULL;
cleanup:
    nas_free(buf);
    return st;
}

nas_status nas_data_read_idx(nas_dataset *out, const char *images_path, const char *labels_path,
                             int n_classes, const char *name) {
    nas_status st = NAS_OK;
    gzFile gi = NULL, gl = NULL;
    uint8_t *pixels = NULL, *raw_labels = NULL;
    int32_t *labels = NULL;
    uint32_t idims[3] = {0}, ldims[1] = {0};
    memset(out, 0, sizeof *out);
    if (n_classes < 1 || n_classes > 256) {
        return nas_error(NAS_EINVAL, "IDX reader: n_classes %d is outside 1..256", n_classes);
    }

    NAS_TRY(gz_open(images_path, &gi));
    NAS_TRY(read_header(gi, images_path, IDX_MAGIC_IMAGES, 3, idims));
    uint32_t n = idims[0], rows = idims[1], cols = idims[2];
    if (n == 0 || n > INT32_MAX) {
        NAS_TRY(nas_error(NAS_EFORMAT, "%s: header announces %u images (expected 1..%d)",
                          images_path, n, INT32_MAX));
    }
    if (rows == 0 || cols == 0 || rows > IDX_MAX_SIDE || cols > IDX_MAX_SIDE) {
        NAS_TRY(nas_error(NAS_EFORMAT, "%s: header announces images of %ux%u (expected 1..%u)",
                          images_path, rows, cols, IDX_MAX_SIDE));
    }

    size_t img = (size_t)rows * cols;
    if (img > SIZE_MAX / n) {
        NAS_TRY(nas_error(NAS_EFORMAT, "%s: header announces %u images of %ux%u, too large here",
                          images_path, n, rows, cols));
    }

    NAS_TRY(gz_open(labels_path, &gl));
    NAS_TRY(read_header(gl, labels_path, IDX_MAGIC_LABELS, 1, ldims));
    if (ldims[0] != n) {
        NAS_TRY(nas_error(NAS_EFORMAT, "count mismatch: %s has %u images but %s has %u labels",
                          images_path, n, labels_path, ldims[0]));
    }

    NAS_TRY(read_payload(gi, images_path, (size_t)n * img, "image data", &pixels));
    NAS_TRY(read_payload(gl, labels_path, (size_t)n, "label data", &raw_labels));

    labels = nas_malloc((size_t)n * sizeof *labels); /* [n] */
    if (!labels) {
        NAS_TRY(nas_error(NAS_ENOMEM, "%s: cannot allocate %u labels", labels_path, n));
    }
    for (uint32_t i = 0; i < n; i++) {
        if (raw_labels[i] >= n_classes) {
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: label %u at index %u is out of range (expected 0..%d)",
                              labels_path, raw_labels[i], i, n_classes - 1));
        }
        labels[i] = raw_labels[i];
    }

    out->images = pixels; /* [n, 1, rows, cols] */
    out->labels = labels;
    out->n = n;
    out->c = 1;
    out->h = (int)rows;
    out->w = (int)cols;
    out->n_classes = n_classes;
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    pixels = NULL;
    labels = NULL;
cleanup:
    if (gi) {
        gzclose(gi);
    }
    if (gl) {
        gzclose(gl);
    }
    nas_free(pixels);
    nas_free(raw_labels);
    nas_free(labels);
    return st;
}

nas_status nas_i_idx_max_label(const char *path, int *max_label) {
    nas_status st = NAS_OK;
    gzFile gz = NULL;
    uint8_t *raw = NULL;
    uint32_t dims[1] = {0};
    *max_label = 0;
    NAS_TRY(gz_open(path, &gz));
    NAS_TRY(read_header(gz, path, IDX_MAGIC_LABELS, 1, dims));
    if (dims[0] == 0 || dims[0] > INT32_MAX) {
        NAS_TRY(nas_error(NAS_EFORMAT, "%s: header announces %u labels (expected 1..%d)", path,
                          dims[0], INT32_MAX));
    }
    NAS_TRY(read_payload(gz, path, dims[0], "label data", &raw));
    for (uint32_t i = 0; i < dims[0]; i++) {
        *max_label = raw[i] > *max_label ? raw[i] : *max_label;
    }
cleanup:
    if (gz) {
        gzclose(gz);
    }
    nas_free(raw);
    return st;
}

/* ---- loaders by split ---------------------------------------------------------------------- */

typedef struct idx_source {
    const char *title;   /* "Fashion-MNIST" */
    const char *name;    /* dataset name prefix, "fashion-mnist" */
    const char *env;     /* environment variable naming the directory */
    const char *def_dir; /* default directory */
    const char *remedy;  /* what to do when files are missing */
} idx_source;

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

/* dir/<stem>.gz if present, else dir/<stem> if present, else dir/<stem>.gz (for the message). */
static nas_status idx_file_path(char *buf, size_t cap, const char *dir, const char *stem) {
    int len = snprintf(buf, cap, "%s/%s.gz", dir, stem);
    if (len < 0 || (size_t)len >= cap) {
        return nas_error(NAS_EINVAL, "data directory name too long: %s", dir);
    }
    if (is_file(buf)) {
        return NAS_OK;
    }
    buf[len - 3] = '\0';
    if (is_file(buf)) {
        return NAS_OK;
    }
    buf[len - 3] = '.';
    return NAS_OK;
}

static nas_status load_idx_split(nas_dataset *out, const idx_source *src, const char *dir,
                                 const char *split) {
    memset(out, 0, sizeof *out);
    const char *from = "the argument";
    if (!dir || !*dir) {
        dir = getenv(src->env);
        from = src->env;
        if (!dir || !*dir) {
            dir = src->def_dir;
            from = "the default";
        }
    }
    const char *prefix;
    if (split && strcmp(split, "train") == 0) {
        prefix = "train";
    } else if (split && strcmp(split, "test") == 0) {
        prefix = "t10k";
    } else {
        return nas_error(NAS_EINVAL, "%s split must be \"train\" or \"test\", got \"%s\"",
                         src->title, split ? split : "(null)");
    }
    if (!is_dir(dir)) {
        return nas_error(NAS_ENOTFOUND, "%s directory %s (%s) does not exist; %s", src->title, dir,
                         from, src->remedy);
    }
    char images[4096], labels[4096], stem[64];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    NAS_CHECK(idx_file_path(images, sizeof images, dir, stem));
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    NAS_CHECK(idx_file_path(labels, sizeof labels, dir, stem));
    char name[64];
    snprintf(name, sizeof name, "%s-%s", src->name, split);
    nas_status st = nas_data_read_idx(out, images, labels, 10, name);
    if (st == NAS_ENOTFOUND) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", nas_errmsg());
        return nas_error(st, "%s; %s", msg, src->remedy);
    }
    return st;
}

nas_status nas_data_load_fashion_mnist(nas_dataset *out, const char *dir, const char *split) {
    static const idx_source src = {
        "Fashion-MNIST", "fashion-mnist", NAS_FASHION_MNIST_ENV, NAS_FASHION_MNIST_DIR,
        "install the Debian package dataset-fashion-mnist (apt-get install "
        "dataset-fashion-mnist), or point " NAS_FASHION_MNIST_ENV " (or the directory argument) "
        "at a directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz"};
    return load_idx_split(out, &src, dir, split);
}

nas_status nas_data_load_mnist(nas_dataset *out, const char *dir, const char *split) {
    static const idx_source src = {"MNIST", "mnist", NAS_MNIST_ENV, NAS_MNIST_DIR,
                                   "point " NAS_MNIST_ENV
                                   " (or the directory argument) at a directory holding "
                                   "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"};
    return load_idx_split(out, &src, dir, split);
}
