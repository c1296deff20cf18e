/*
 * CIFAR binary readers. CIFAR-10: files of 3073-byte records (1 label byte, then 3072 pixel
 * bytes as R, G and B planes of 32x32, i.e. already [C, H, W]). CIFAR-100: 3074-byte records
 * (coarse label byte, fine label byte, 3072 pixel bytes); the fine labels (100 classes) are
 * used. Files are read through zlib, so gzip copies load too. Each file's length must be a
 * positive multiple of the record size and every label below the class count.
 */
#include "data-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CIFAR_SIDE       32
#define CIFAR_CH         3
#define CIFAR_PIXELS     (CIFAR_CH * CIFAR_SIDE * CIFAR_SIDE) /* 3072 */
#define CIFAR_RECORD_MAX (2 + CIFAR_PIXELS)

/* Record layout of one CIFAR version. */
typedef struct cifar_fmt {
    const char *title; /* "CIFAR-10" */
    int label_bytes;   /* label bytes before the pixels */
    int label_index;   /* which of them is the label used */
    int n_classes;
} cifar_fmt;

static const cifar_fmt fmt10 = {"CIFAR-10", 1, 0, 10};
static const cifar_fmt fmt100 = {"CIFAR-100", 2, 1, 100};

/* Growable image/label arrays while the record count is unknown. */
typedef struct cifar_acc {
    uint8_t *images; /* [cap, 3, 32, 32] */
    int32_t *labels; /* [cap] */
    int64_t n, cap;
} cifar_acc;

static nas_status acc_reserve(cifar_acc *a, const char *path, const cifar_fmt *f) {
    if (a->n < a->cap) {
        return NAS_OK;
    }
    int64_t ncap = a->cap ? a->cap * 2 : 10000;
    if (ncap > INT32_MAX) {
        return nas_error(NAS_EFORMAT, "%s: more than %d %s records in total", path, INT32_MAX,
                         f->title);
    }
    uint8_t *im = nas_realloc(a->images, (size_t)ncap * CIFAR_PIXELS);
    if (!im) {
        return nas_error(NAS_ENOMEM, "%s: cannot grow to %lld %s images", path, (long long)ncap,
                         f->title);
    }
    a->images = im;
    int32_t *lb = nas_realloc(a->labels, (size_t)ncap * sizeof *lb);
    if (!lb) {
        return nas_error(NAS_ENOMEM, "%s: cannot grow to %lld %s labels", path, (long long)ncap,
                         f->title);
    }
    a->labels = lb;
    a->cap = ncap;
    return NAS_OK;
}

/* Read up to n bytes (fewer only at end of input); *cut when a gzip stream stops mid-way. */
static nas_status read_upto(gzFile gz, const char *path, unsigned char *buf, unsigned n,
                            unsigned *got, bool *cut) {
    int r = gzread(gz, buf, n);
    if (r < 0) {
        int errnum = 0;
        const char *msg = gzerror(gz, &errnum);
        if (errnum == Z_ERRNO) {
            return nas_error(NAS_EIO, "%s: read error: %s", path, strerror(errno));
        }
        return nas_error(NAS_EFORMAT, "%s: corrupt gzip data: %s", path, msg);
    }
    int errnum = 0;
    gzerror(gz, &errnum);
    *cut = errnum == Z_BUF_ERROR;
    *got = (unsigned)r;
    return NAS_OK;
}

static nas_status read_file(cifar_acc *a, const char *path, const cifar_fmt *f) {
    nas_status st = NAS_OK;
    const unsigned record = (unsigned)(f->label_bytes + CIFAR_PIXELS);
    unsigned char rec[CIFAR_RECORD_MAX];
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        if (errno == ENOENT) {
            return nas_error(NAS_ENOTFOUND, "%s: no such file", path);
        }
        return nas_error(errno ? NAS_EIO : NAS_ENOMEM, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "zlib could not allocate its state");
    }
    gzbuffer(gz, 1u << 17);
    int64_t records = 0;
    for (;;) {
        unsigned got = 0;
        bool cut = false;
        NAS_TRY(read_upto(gz, path, rec, record, &got, &cut));
        if (got == 0 && !cut) {
            break;
        }
        if (got == 0) {
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: truncated: gzip stream ends early after %lld records", path,
                              (long long)records));
        }
        if (got < record) {
            long long len = (long long)records * record + got;
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: truncated %s batch: length %lld is not a multiple of the "
                              "%u-byte record (%d label byte%s + %d pixel bytes): %u bytes left "
                              "after %lld records%s",
                              path, f->title, len, record, f->label_bytes,
                              f->label_bytes == 1 ? "" : "s", CIFAR_PIXELS, got, (long long)records,
                              cut ? " (gzip stream ends early)" : ""));
        }
        unsigned label = rec[f->label_index];
        if (label >= (unsigned)f->n_classes) {
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: label %u of record %lld is out of range (expected 0..%d)", path,
                              label, (long long)records, f->n_classes - 1));
        }
        NAS_TRY(acc_reserve(a, path, f));
        memcpy(a->images + (size_t)a->n * CIFAR_PIXELS, rec + f->label_bytes, CIFAR_PIXELS);
        a->labels[a->n] = (int32_t)label;
        a->n++;
        records++;
    }
    if (records == 0) {
        NAS_TRY(nas_error(NAS_EFORMAT, "%s: empty file, expected %u-byte %s records", path, record,
                          f->title));
    }
cleanup:
    gzclose(gz);
    return st;
}

static nas_status read_cifar(nas_dataset *out, const char *const *paths, int n_paths,
                             const char *name, const cifar_fmt *f) {
    nas_status st = NAS_OK;
    cifar_acc acc = {0};
    memset(out, 0, sizeof *out);
    if (n_paths < 1 || !paths) {
        return nas_error(NAS_EINVAL, "%s reader: no files given", f->title);
    }
    for (int i = 0; i < n_paths; i++) {
        NAS_TRY(read_file(&acc, paths[i], f));
    }
    /* Give back the unused tail of the doubling growth. */
    uint8_t *im = nas_realloc(acc.images, (size_t)acc.n * CIFAR_PIXELS);
    if (im) {
        acc.images = im;
    }
    out->images = acc.images; /* [n, 3, 32, 32] */
    out->labels = acc.labels;
    out->n = acc.n;
    out->c = CIFAR_CH;
    out->h = CIFAR_SIDE;
    out->w = CIFAR_SIDE;
    out->n_classes = f->n_classes;
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    return NAS_OK;
cleanup:
    nas_free(acc.images);
    nas_free(acc.labels);
    return st;
}

nas_status nas_data_read_cifar10(nas_dataset *out, const char *const *paths, int n_paths,
                                 const char *name) {
    return read_cifar(out, paths, n_paths, name, &fmt10);
}

nas_status nas_i_read_cifar100(nas_dataset *out, const char *const *paths, int n_paths,
                               const char *name) {
    return read_cifar(out, paths, n_paths, name, &fmt100);
}

static bool has_file(const char *dir, const char *file) {
    char path[4096];
    struct stat sb;
    int len = snprintf(path, sizeof path, "%s/%s", dir, file);
    return len > 0 && (size_t)len < sizeof path && stat(path, &sb) == 0;
}

nas_status nas_data_load_cifar10(nas_dataset *out, const char *dir, const char *split) {
    static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin",
                                              "data_batch_3.bin", "data_batch_4.bin",
                                              "data_batch_5.bin"};
    static const char *const test_files[] = {"test_batch.bin"};
    memset(out, 0, sizeof *out);
    if (!dir || !*dir) {
        dir = getenv(NAS_CIFAR10_ENV);
    }
    if (!dir || !*dir) {
        return nas_error(NAS_ENOTFOUND,
                         "no CIFAR-10 directory: pass one or set " NAS_CIFAR10_ENV
                         " to the directory holding data_batch_1.bin .. data_batch_5.bin and "
                         "test_batch.bin (the CIFAR-10 binary version)");
    }
    const char *const *files;
    int n_files;
    if (split && strcmp(split, "train") == 0) {
        files = train_files;
        n_files = 5;
    } else if (split && strcmp(split, "test") == 0) {
        files = test_files;
        n_files = 1;
    } else {
        return nas_error(NAS_EINVAL, "CIFAR-10 split must be \"train\" or \"test\", got \"%s\"",
                         split ? split : "(null)");
    }
    /* The archive unpacks into cifar-10-batches-bin/; accept its parent too. */
    char base[4096];
    int len = snprintf(base, sizeof base, "%s", dir);
    if (len < 0 || (size_t)len >= sizeof base) {
        return nas_error(NAS_EINVAL, "CIFAR-10 directory name too long: %s", dir);
    }
    if (!has_file(base, files[0])) {
        char sub[4096];
        len = snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", dir);
        if (len > 0 && (size_t)len < sizeof sub && has_file(sub, files[0])) {
            memcpy(base, sub, (size_t)len + 1);
        }
    }
    char paths[5][4096];
    const char *ptrs[5];
    for (int i = 0; i < n_files; i++) {
        len = snprintf(paths[i], sizeof paths[i], "%s/%s", base, files[i]);
        if (len < 0 || (size_t)len >= sizeof paths[i]) {
            return nas_error(NAS_EINVAL, "CIFAR-10 directory name too long: %s", dir);
        }
        ptrs[i] = paths[i];
    }
    char name[64];
    snprintf(name, sizeof name, "cifar10-%s", split);
    return nas_data_read_cifar10(out, ptrs, n_files, name);
}
