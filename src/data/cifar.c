/*
 * CIFAR-10 binary reader: files of 3073-byte records (1 label byte, then 3072 pixel bytes as
 * R, G and B planes of 32x32, i.e. already [C, H, W]). Files are read through zlib, so gzip
 * copies load too. Each file's length must be a positive multiple of 3073 and every label < 10.
 */
#include "ghnas/data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CIFAR_SIDE    32
#define CIFAR_CH      3
#define CIFAR_PIXELS  (CIFAR_CH * CIFAR_SIDE * CIFAR_SIDE) /* 3072 */
#define CIFAR_RECORD  (1 + CIFAR_PIXELS)                   /* 3073 */
#define CIFAR_CLASSES 10

/* Growable image/label arrays while the record count is unknown. */
typedef struct cifar_acc {
    uint8_t *images; /* [cap, 3, 32, 32] */
    int32_t *labels; /* [cap] */
    int64_t n, cap;
} cifar_acc;

static nas_status acc_reserve(cifar_acc *a, const char *path) {
    if (a->n < a->cap) {
        return NAS_OK;
    }
    int64_t ncap = a->cap ? a->cap * 2 : 10000;
    if (ncap > INT32_MAX) {
        return nas_error(NAS_EFORMAT, "%s: more than %d CIFAR-10 records in total", path,
                         INT32_MAX);
    }
    uint8_t *im = nas_realloc(a->images, (size_t)ncap * CIFAR_PIXELS);
    if (!im) {
        return nas_error(NAS_ENOMEM, "%s: cannot grow to %lld CIFAR-10 images", path,
                         (long long)ncap);
    }
    a->images = im;
    int32_t *lb = nas_realloc(a->labels, (size_t)ncap * sizeof *lb);
    if (!lb) {
        return nas_error(NAS_ENOMEM, "%s: cannot grow to %lld CIFAR-10 labels", path,
                         (long long)ncap);
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

static nas_status read_file(cifar_acc *a, const char *path) {
    nas_status st = NAS_OK;
    unsigned char rec[CIFAR_RECORD];
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
        NAS_TRY(read_upto(gz, path, rec, CIFAR_RECORD, &got, &cut));
        if (got == 0 && !cut) {
            break;
        }
        if (got == 0) {
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: truncated: gzip stream ends early after %lld records", path,
                              (long long)records));
        }
        if (got < CIFAR_RECORD) {
            long long len = (long long)records * CIFAR_RECORD + got;
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: length %lld is not a multiple of the %d-byte record "
                              "(1 label byte + %d pixel bytes): %u bytes left after %lld "
                              "records%s",
                              path, len, CIFAR_RECORD, CIFAR_PIXELS, got, (long long)records,
                              cut ? " (gzip stream ends early)" : ""));
        }
        if (rec[0] >= CIFAR_CLASSES) {
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: label %u of record %lld is out of range (expected 0..%d)", path,
                              rec[0], (long long)records, CIFAR_CLASSES - 1));
        }
        NAS_TRY(acc_reserve(a, path));
        memcpy(a->images + (size_t)a->n * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
        a->labels[a->n] = rec[0];
        a->n++;
        records++;
    }
    if (records == 0) {
        NAS_TRY(nas_error(NAS_EFORMAT, "%s: empty file, expected %d-byte CIFAR-10 records", path,
                          CIFAR_RECORD));
    }
cleanup:
    gzclose(gz);
    return st;
}

nas_status nas_data_read_cifar10(nas_dataset *out, const char *const *paths, int n_paths,
                                 const char *name) {
    nas_status st = NAS_OK;
    cifar_acc acc = {0};
    memset(out, 0, sizeof *out);
    if (n_paths < 1 || !paths) {
        return nas_error(NAS_EINVAL, "CIFAR-10 reader: no files given");
    }
    for (int i = 0; i < n_paths; i++) {
        NAS_TRY(read_file(&acc, paths[i]));
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
    out->n_classes = CIFAR_CLASSES;
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    return NAS_OK;
cleanup:
    nas_free(acc.images);
    nas_free(acc.labels);
    return st;
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
