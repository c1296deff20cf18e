/*
 * Tests for src/data: IDX and CIFAR-10 readers on generated files (gzip and plain, intact and
 * broken), loaders by split, seeded splits, normalisation, the batch iterator and augmentation,
 * and the real Fashion-MNIST when the Debian package dataset-fashion-mnist is installed.
 */
#include "test_suites.h"
#include "testdir.h"

#include "ghnas/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- temp directory and file helpers -------------------------------------------------------- */

static void tmp_setup(void) {
    test_tmpdir_create("data");
}

static void tmp_teardown(void) {
    test_tmpdir_remove();
}

static void write_bytes(const char *path, const void *buf, size_t n, bool gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        if (n > 0) {
            ck_assert_int_eq(gzwrite(f, buf, (unsigned)n), (int)n);
        }
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
    }
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint8_t pix_of(uint32_t i, uint32_t j) {
    return (uint8_t)(i * 31u + j * 7u + 1u);
}

/* IDX images file bytes: header (magic, n, rows, cols) + n*rows*cols pixels (+ extra bytes). */
static uint8_t *idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t extra,
                           size_t *len) {
    size_t data = (size_t)n * rows * cols;
    *len = 16 + data + extra;
    uint8_t *b = nas_calloc(*len, 1);
    ck_assert_ptr_nonnull(b);
    put_be32(b, magic);
    put_be32(b + 4, n);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < rows * cols; j++) {
            b[16 + (size_t)i * rows * cols + j] = pix_of(i, j);
        }
    }
    return b;
}

/* IDX labels file bytes: header (magic, n) + labels (3 i mod 10) (+ extra bytes). */
static uint8_t *idx_labels(uint32_t n, size_t extra, size_t *len) {
    *len = 8 + n + extra;
    uint8_t *b = nas_calloc(*len, 1);
    ck_assert_ptr_nonnull(b);
    put_be32(b, 0x00000801u);
    put_be32(b + 4, n);
    for (uint32_t i = 0; i < n; i++) {
        b[8 + i] = (uint8_t)(3 * i % 10);
    }
    return b;
}

/* Write a generated images+labels pair as test_tmpdir/<img> and test_tmpdir/<lab>. */
static void write_idx_pair(const char *img, const char *lab, uint32_t n, uint32_t rows,
                           uint32_t cols, bool gz_img, bool gz_lab) {
    char p[512];
    size_t len;
    uint8_t *b = idx_images(0x00000803u, n, rows, cols, 0, &len);
    write_bytes(test_tpath(p, img), b, len, gz_img);
    nas_free(b);
    b = idx_labels(n, 0, &len);
    write_bytes(test_tpath(p, lab), b, len, gz_lab);
    nas_free(b);
}

static void check_idx_dataset(const nas_dataset *ds, uint32_t n, uint32_t rows, uint32_t cols) {
    ck_assert_int_eq(ds->n, n);
    ck_assert_int_eq(ds->c, 1);
    ck_assert_int_eq(ds->h, (int)rows);
    ck_assert_int_eq(ds->w, (int)cols);
    ck_assert_int_eq(ds->n_classes, 10);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(ds->labels[i], (int)(3 * i % 10));
        for (uint32_t j = 0; j < rows * cols; j++) {
            ck_assert_uint_eq(ds->images[(size_t)i * rows * cols + j], pix_of(i, j));
        }
    }
}

/* |a - b| <= tol, compared in double (Check's float macros promote through varargs). */
#define ASSERT_NEAR(a, b, tol) ck_assert_double_eq_tol((double)(a), (double)(b), (double)(tol))

/* The call returns `want` and the message contains both needles (NULL = skip). */
#define EXPECT_ERR(expr, want, needle1, needle2)                                                   \
    do {                                                                                           \
        nas_error_clear();                                                                         \
        nas_status got_ = (expr);                                                                  \
        ck_assert_msg(got_ == (want), "status %s (%s), expected %s", nas_status_str(got_),         \
                      nas_errmsg(), nas_status_str(want));                                         \
        const char *n1_ = (needle1), *n2_ = (needle2);                                             \
        ck_assert_msg(!n1_ || strstr(nas_errmsg(), n1_), "message '%s' lacks '%s'", nas_errmsg(),  \
                      n1_ ? n1_ : "");                                                             \
        ck_assert_msg(!n2_ || strstr(nas_errmsg(), n2_), "message '%s' lacks '%s'", nas_errmsg(),  \
                      n2_ ? n2_ : "");                                                             \
    } while (0)

/* ---- IDX ----------------------------------------------------------------------------------- */

START_TEST(test_data__idx_roundtrip_gzip_and_plain) {
    char pi[512], pl[512];
    const bool gz[4][2] = {{true, true}, {false, false}, {true, false}, {false, true}};
    for (int k = 0; k < 4; k++) {
        write_idx_pair("img", "lab", 37, 5, 3, gz[k][0], gz[k][1]);
        nas_dataset ds;
        ck_assert_int_eq(
            nas_data_read_idx(&ds, test_tpath(pi, "img"), test_tpath(pl, "lab"), 10, "toy"),
            NAS_OK);
        check_idx_dataset(&ds, 37, 5, 3);
        ck_assert_str_eq(ds.name, "toy");
        nas_data_free(&ds);
        ck_assert_ptr_null(ds.images);
        nas_data_free(&ds); /* twice is harmless */
    }
    /* The gzip file really is compressed (so the gzip path was exercised). */
    write_idx_pair("img.gz", "lab.gz", 200, 28, 28, true, true);
    struct stat sb;
    ck_assert_int_eq(stat(test_tpath(pi, "img.gz"), &sb), 0);
    ck_assert_int_lt(sb.st_size, 16 + 200 * 28 * 28);
    nas_dataset ds;
    ck_assert_int_eq(nas_data_read_idx(&ds, pi, test_tpath(pl, "lab.gz"), 10, "toy"), NAS_OK);
    check_idx_dataset(&ds, 200, 28, 28);
    nas_data_free(&ds);
}
END_TEST

START_TEST(test_data__idx_missing_and_bad_header) {
    char pi[512], pl[512];
    size_t len;
    nas_dataset ds;
    write_idx_pair("img", "lab", 10, 4, 4, false, true);
    test_tpath(pi, "img");
    test_tpath(pl, "lab");

    EXPECT_ERR(nas_data_read_idx(&ds, test_tpath(pi, "nope-images.gz"), pl, 10, "t"), NAS_ENOTFOUND,
               "nope-images.gz", "no such file");
    ck_assert_ptr_null(ds.images);
    test_tpath(pi, "img");
    EXPECT_ERR(nas_data_read_idx(&ds, pi, test_tpath(pl, "nope-labels"), 10, "t"), NAS_ENOTFOUND,
               "nope-labels", "no such file");
    test_tpath(pl, "lab");

    /* Wrong magic (gzip and plain). */
    uint8_t *b = idx_images(0x00000804u, 10, 4, 4, 0, &len);
    for (int gz = 0; gz < 2; gz++) {
        write_bytes(test_tpath(pi, "bad-magic"), b, len, gz);
        EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "bad-magic",
                   "wrong magic number 0x00000804, expected 0x00000803");
    }
    nas_free(b);
    /* A labels file passed as the images file. */
    EXPECT_ERR(nas_data_read_idx(&ds, pl, pl, 10, "t"), NAS_EFORMAT, "lab: wrong magic",
               "this is an IDX labels file");
    /* ... and the reverse. */
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pi, 10, "t"), NAS_EFORMAT, "bad-magic", "wrong magic");
    test_tpath(pi, "img");
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pi, 10, "t"), NAS_EFORMAT, "img: wrong magic",
               "this is an IDX images file");

    /* Truncated header: 10 of 16 bytes, and only 2 bytes (no magic at all). */
    b = idx_images(0x00000803u, 10, 4, 4, 0, &len);
    for (int gz = 0; gz < 2; gz++) {
        write_bytes(test_tpath(pi, "short-header"), b, 10, gz);
        EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "short-header",
                   "truncated header: expected 16 bytes, got 10");
    }
    write_bytes(test_tpath(pi, "tiny"), b, 2, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "tiny",
               "truncated header: expected 16 bytes, got 2");
    write_bytes(test_tpath(pi, "empty"), b, 0, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "empty",
               "truncated header: expected 16 bytes, got 0");
    /* Zero images / zero width in the header. */
    put_be32(b + 4, 0);
    write_bytes(test_tpath(pi, "zero-n"), b, 16, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "zero-n", "0 images");
    put_be32(b + 4, 10);
    put_be32(b + 12, 0);
    write_bytes(test_tpath(pi, "zero-w"), b, len, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "zero-w", "images of 4x0");
    nas_free(b);
    /* Labels header cut short. */
    b = idx_labels(10, 0, &len);
    write_bytes(test_tpath(pl, "short-lab"), b, 6, true);
    test_tpath(pi, "img");
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "short-lab",
               "truncated header: expected 8 bytes, got 6");
    nas_free(b);
    ck_assert_ptr_null(ds.images);
    ck_assert_int_eq(ds.n, 0);
}
END_TEST

START_TEST(test_data__idx_truncated_and_overlong) {
    char pi[512], pl[512];
    size_t len;
    nas_dataset ds;
    write_idx_pair("img", "lab", 50, 28, 28, true, true);
    uint8_t *b = idx_images(0x00000803u, 50, 28, 28, 0, &len);
    for (int gz = 0; gz < 2; gz++) {
        write_bytes(test_tpath(pi, "train-images-idx3-ubyte.gz"), b, 16 + 1000, gz);
        EXPECT_ERR(nas_data_read_idx(&ds, pi, test_tpath(pl, "lab"), 10, "t"), NAS_EFORMAT,
                   "train-images-idx3-ubyte.gz: truncated",
                   "expected 39200 bytes of image data, got 1000");
    }
    nas_free(b);

    /* A gzip file whose compressed stream is cut in the middle. */
    write_idx_pair("cut.gz", "lab", 50, 28, 28, true, true);
    FILE *f = fopen(test_tpath(pi, "cut.gz"), "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t whole[65536];
    size_t zlen = fread(whole, 1, sizeof whole, f);
    fclose(f);
    ck_assert_uint_gt(zlen, 40);
    ck_assert_uint_lt(zlen, sizeof whole);
    write_bytes(pi, whole, zlen / 2, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "cut.gz: truncated",
               "gzip stream ends early");

    /* Over-long images and labels files, gzip and plain. */
    for (int gz = 0; gz < 2; gz++) {
        b = idx_images(0x00000803u, 50, 28, 28, 5, &len);
        write_bytes(test_tpath(pi, "long-img"), b, len, gz);
        nas_free(b);
        EXPECT_ERR(nas_data_read_idx(&ds, pi, test_tpath(pl, "lab"), 10, "t"), NAS_EFORMAT,
                   "long-img: over-long", "5 unexpected bytes after the 39200 bytes of image data");
        b = idx_labels(50, 70000, &len);
        write_bytes(test_tpath(pl, "long-lab"), b, len, gz);
        nas_free(b);
        EXPECT_ERR(nas_data_read_idx(&ds, test_tpath(pi, "img"), pl, 10, "t"), NAS_EFORMAT,
                   "long-lab: over-long", "70000 unexpected bytes after the 50 bytes of label");
    }
    /* Truncated labels data. */
    b = idx_labels(50, 0, &len);
    write_bytes(test_tpath(pl, "short-lab"), b, len - 1, false);
    nas_free(b);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "short-lab: truncated",
               "expected 50 bytes of label data, got 49");
    /* A header that claims far more data than the file has does not need that memory. */
    b = idx_images(0x00000803u, 1, 8, 8, 0, &len);
    put_be32(b + 4, 2000000000u);
    put_be32(b + 8, 60000u);
    put_be32(b + 12, 60000u);
    write_bytes(test_tpath(pi, "liar"), b, len, false);
    nas_free(b);
    uint8_t lab_hdr[8];
    put_be32(lab_hdr, 0x00000801u);
    put_be32(lab_hdr + 4, 2000000000u);
    write_bytes(test_tpath(pl, "liar-lab"), lab_hdr, sizeof lab_hdr, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "liar: truncated", "got 64");
}
END_TEST

START_TEST(test_data__idx_content_errors) {
    char pi[512], pl[512];
    size_t len;
    nas_dataset ds;
    /* Count mismatch: 12 images, 11 labels. */
    write_idx_pair("img12", "lab12", 12, 4, 4, true, true);
    write_idx_pair("img11", "lab11", 11, 4, 4, true, false);
    EXPECT_ERR(nas_data_read_idx(&ds, test_tpath(pi, "img12"), test_tpath(pl, "lab11"), 10, "t"),
               NAS_EFORMAT, "count mismatch", "img12 has 12 images but");
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "lab11 has 11 labels"));

    /* Label out of range. */
    uint8_t *b = idx_labels(12, 0, &len);
    b[8 + 3] = 10;
    write_bytes(test_tpath(pl, "bad-label"), b, len, true);
    nas_free(b);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "bad-label",
               "label 10 at index 3 is out of range (expected 0..9)");
    /* The same labels are fine with more classes. */
    ck_assert_int_eq(nas_data_read_idx(&ds, pi, pl, 11, "t"), NAS_OK);
    ck_assert_int_eq(ds.labels[3], 10);
    nas_data_free(&ds);

    /* Garbage: random bytes, and random bytes behind a gzip signature. */
    uint8_t junk[4000];
    nas_rng r;
    nas_rng_seed(&r, 99);
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (uint8_t)nas_rng_u32(&r);
    }
    junk[0] = 0x5a;
    write_bytes(test_tpath(pi, "garbage"), junk, sizeof junk, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, test_tpath(pl, "lab12"), 10, "t"), NAS_EFORMAT,
               "garbage: wrong magic", NULL);
    junk[0] = 0x1f;
    junk[1] = 0x8b;
    junk[2] = 0x07; /* not deflate */
    write_bytes(test_tpath(pi, "garbage.gz"), junk, sizeof junk, false);
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 10, "t"), NAS_EFORMAT, "garbage.gz",
               "corrupt gzip data");
    /* Garbage labels file. */
    junk[0] = 0;
    write_bytes(test_tpath(pl, "garbage-lab"), junk, sizeof junk, false);
    EXPECT_ERR(nas_data_read_idx(&ds, test_tpath(pi, "img12"), pl, 10, "t"), NAS_EFORMAT,
               "garbage-lab: wrong magic", "expected 0x00000801");
    /* Bad argument. */
    EXPECT_ERR(nas_data_read_idx(&ds, pi, pl, 0, "t"), NAS_EINVAL, "n_classes", NULL);
}
END_TEST

START_TEST(test_data__idx_alloc_failure_cleans_up) {
    char pi[512], pl[512];
    write_idx_pair("img", "lab", 20, 6, 6, true, true);
    test_tpath(pi, "img");
    test_tpath(pl, "lab");
    /* Fail each library allocation in turn (zlib's own allocations are not counted). */
    int failures = 0;
    for (long k = 1; k < 10; k++) {
        nas_dataset ds;
        nas_fault_inject(k);
        nas_status st = nas_data_read_idx(&ds, pi, pl, 10, "t");
        nas_fault_inject(0);
        if (st == NAS_OK) {
            check_idx_dataset(&ds, 20, 6, 6);
            nas_data_free(&ds);
            break;
        }
        failures++;
        ck_assert_int_eq(st, NAS_ENOMEM);
        ck_assert_ptr_null(ds.images);
    }
    ck_assert_int_ge(failures, 3);
}
END_TEST

/* ---- loaders by name ----------------------------------------------------------------------- */

START_TEST(test_data__fashion_mnist_missing_dir_message) {
    nas_dataset ds;
    EXPECT_ERR(nas_data_load_fashion_mnist(&ds, "/nonexistent/ghnas-fmnist", "train"),
               NAS_ENOTFOUND, "/nonexistent/ghnas-fmnist", "dataset-fashion-mnist");
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "apt-get install dataset-fashion-mnist"));
    /* Through the environment variable. */
    setenv(NAS_FASHION_MNIST_ENV, "/nonexistent/from-env", 1);
    EXPECT_ERR(nas_data_load_fashion_mnist(&ds, NULL, "test"), NAS_ENOTFOUND,
               "/nonexistent/from-env", "dataset-fashion-mnist");
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), NAS_FASHION_MNIST_ENV));
    unsetenv(NAS_FASHION_MNIST_ENV);
    /* Directory present but files missing: names the file and the package. */
    EXPECT_ERR(nas_data_load_fashion_mnist(&ds, test_tmpdir, "test"), NAS_ENOTFOUND,
               "t10k-images-idx3-ubyte.gz: no such file", "dataset-fashion-mnist");
    write_idx_pair("t10k-images-idx3-ubyte.gz", "x", 3, 2, 2, true, true);
    EXPECT_ERR(nas_data_load_fashion_mnist(&ds, test_tmpdir, "test"), NAS_ENOTFOUND,
               "t10k-labels-idx1-ubyte.gz: no such file", "dataset-fashion-mnist");
    EXPECT_ERR(nas_data_load_fashion_mnist(&ds, test_tmpdir, "validation"), NAS_EINVAL,
               "\"validation\"", NULL);
    EXPECT_ERR(nas_data_load_mnist(&ds, "/nonexistent/mn", "train"), NAS_ENOTFOUND,
               "/nonexistent/mn", NAS_MNIST_ENV);
}
END_TEST

START_TEST(test_data__load_by_split_from_dir_and_env) {
    nas_dataset ds;
    write_idx_pair("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 30, 7, 7, true,
                   true);
    write_idx_pair("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 9, 7, 7, true, true);
    ck_assert_int_eq(nas_data_load_fashion_mnist(&ds, test_tmpdir, "train"), NAS_OK);
    check_idx_dataset(&ds, 30, 7, 7);
    ck_assert_str_eq(ds.name, "fashion-mnist-train");
    nas_data_free(&ds);
    setenv(NAS_FASHION_MNIST_ENV, test_tmpdir, 1);
    ck_assert_int_eq(nas_data_load_fashion_mnist(&ds, NULL, "test"), NAS_OK);
    unsetenv(NAS_FASHION_MNIST_ENV);
    check_idx_dataset(&ds, 9, 7, 7);
    ck_assert_str_eq(ds.name, "fashion-mnist-test");
    nas_data_free(&ds);
    /* MNIST with plain (uncompressed) files of the same layout, through its variable. */
    char sub[512];
    ck_assert_int_eq(mkdir(test_tpath(sub, "mnist"), 0700), 0);
    write_idx_pair("mnist/train-images-idx3-ubyte", "mnist/train-labels-idx1-ubyte", 11, 3, 5,
                   false, false);
    setenv(NAS_MNIST_ENV, sub, 1);
    ck_assert_int_eq(nas_data_load_mnist(&ds, "", "train"), NAS_OK);
    unsetenv(NAS_MNIST_ENV);
    check_idx_dataset(&ds, 11, 3, 5);
    ck_assert_str_eq(ds.name, "mnist-train");
    nas_data_free(&ds);
}
END_TEST

/* ---- CIFAR-10 ------------------------------------------------------------------------------ */

static uint8_t cifar_pix(int rec, int j) {
    return (uint8_t)(rec * 11 + j * 5 + 3);
}

/* n records starting at global record number first; labels (first + i) % 10. */
static void write_cifar(const char *path, int first, int n, size_t extra, bool gz) {
    size_t len = (size_t)n * 3073 + extra;
    uint8_t *b = nas_calloc(len ? len : 1, 1);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < n; i++) {
        uint8_t *r = b + (size_t)i * 3073;
        r[0] = (uint8_t)((first + i) % 10);
        for (int j = 0; j < 3072; j++) {
            r[1 + j] = cifar_pix(first + i, j);
        }
    }
    write_bytes(path, b, len, gz);
    nas_free(b);
}

START_TEST(test_data__cifar_roundtrip) {
    char p1[512], p2[512];
    write_cifar(test_tpath(p1, "a.bin"), 0, 3, 0, false);
    write_cifar(test_tpath(p2, "b.bin.gz"), 3, 4, 0, true);
    const char *paths[] = {p1, p2};
    nas_dataset ds;
    ck_assert_int_eq(nas_data_read_cifar10(&ds, paths, 2, "toy-cifar"), NAS_OK);
    ck_assert_int_eq(ds.n, 7);
    ck_assert_int_eq(ds.c, 3);
    ck_assert_int_eq(ds.h, 32);
    ck_assert_int_eq(ds.w, 32);
    ck_assert_int_eq(ds.n_classes, 10);
    ck_assert_str_eq(ds.name, "toy-cifar");
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(ds.labels[i], i % 10);
        for (int j = 0; j < 3072; j++) {
            ck_assert_uint_eq(ds.images[(size_t)i * 3072 + j], cifar_pix(i, j));
        }
    }
    nas_data_free(&ds);

    /* Loader by split from dir/cifar-10-batches-bin. */
    char sub[512], f[600];
    ck_assert_int_eq(mkdir(test_tpath(sub, "cifar-10-batches-bin"), 0700), 0);
    for (int k = 1; k <= 5; k++) {
        snprintf(f, sizeof f, "%s/data_batch_%d.bin", sub, k);
        write_cifar(f, 2 * (k - 1), 2, 0, false);
    }
    snprintf(f, sizeof f, "%s/test_batch.bin", sub);
    write_cifar(f, 0, 3, 0, false);
    ck_assert_int_eq(nas_data_load_cifar10(&ds, test_tmpdir, "train"), NAS_OK);
    ck_assert_int_eq(ds.n, 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(ds.labels[i], i);
        ck_assert_uint_eq(ds.images[(size_t)i * 3072 + 100], cifar_pix(i, 100));
    }
    ck_assert_str_eq(ds.name, "cifar10-train");
    nas_data_free(&ds);
    setenv(NAS_CIFAR10_ENV, sub, 1);
    ck_assert_int_eq(nas_data_load_cifar10(&ds, NULL, "test"), NAS_OK);
    unsetenv(NAS_CIFAR10_ENV);
    ck_assert_int_eq(ds.n, 3);
    nas_data_free(&ds);
}
END_TEST

START_TEST(test_data__cifar_errors) {
    char p[512];
    const char *paths[1] = {p};
    nas_dataset ds;
    for (int gz = 0; gz < 2; gz++) {
        write_cifar(test_tpath(p, "odd.bin"), 0, 2, 100, gz);
        EXPECT_ERR(nas_data_read_cifar10(&ds, paths, 1, "c"), NAS_EFORMAT, "odd.bin",
                   "length 6246 is not a multiple of the 3073-byte record");
        ck_assert_ptr_nonnull(strstr(nas_errmsg(), "100 bytes left after 2 records"));
        ck_assert_ptr_null(ds.images);
    }
    write_cifar(test_tpath(p, "empty.bin"), 0, 0, 0, false);
    EXPECT_ERR(nas_data_read_cifar10(&ds, paths, 1, "c"), NAS_EFORMAT, "empty.bin", "empty file");
    /* Labels 9 and 0 are fine; then record 1's label byte becomes 200. */
    write_cifar(test_tpath(p, "label.bin"), 9, 2, 0, false);
    ck_assert_int_eq(nas_data_read_cifar10(&ds, paths, 1, "c"), NAS_OK);
    ck_assert_int_eq(ds.labels[0], 9);
    ck_assert_int_eq(ds.labels[1], 0);
    nas_data_free(&ds);
    FILE *f = fopen(p, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 3073, SEEK_SET), 0);
    ck_assert_int_eq(fputc(200, f), 200);
    fclose(f);
    EXPECT_ERR(nas_data_read_cifar10(&ds, paths, 1, "c"), NAS_EFORMAT, "label.bin",
               "label 200 of record 1 is out of range (expected 0..9)");
    /* Second file broken: first file's data is released, message names the second. */
    char q[512];
    write_cifar(test_tpath(q, "good.bin"), 0, 2, 0, false);
    write_cifar(test_tpath(p, "short.bin"), 0, 1, 3000, false);
    const char *two[2] = {q, p};
    EXPECT_ERR(nas_data_read_cifar10(&ds, two, 2, "c"), NAS_EFORMAT, "short.bin",
               "3000 bytes left after 1 records");
    EXPECT_ERR(nas_data_read_cifar10(&ds, paths, 1, "c"), NAS_EFORMAT, "short.bin", NULL);
    test_tpath(p, "missing.bin");
    EXPECT_ERR(nas_data_read_cifar10(&ds, paths, 1, "c"), NAS_ENOTFOUND, "missing.bin",
               "no such file");
    unsetenv(NAS_CIFAR10_ENV);
    EXPECT_ERR(nas_data_load_cifar10(&ds, NULL, "train"), NAS_ENOTFOUND, NAS_CIFAR10_ENV, NULL);
    EXPECT_ERR(nas_data_load_cifar10(&ds, test_tmpdir, "val"), NAS_EINVAL, "\"val\"", NULL);
    EXPECT_ERR(nas_data_load_cifar10(&ds, test_tmpdir, "test"), NAS_ENOTFOUND, "test_batch.bin",
               "no such file");
}
END_TEST

/* ---- splits and subsets -------------------------------------------------------------------- */

START_TEST(test_data__split_deterministic_disjoint_complete) {
    nas_data_split a, b, c;
    ck_assert_int_eq(nas_data_split_make(&a, 1000, 150, 5), NAS_OK);
    ck_assert_int_eq(nas_data_split_make(&b, 1000, 150, 5), NAS_OK);
    ck_assert_int_eq(nas_data_split_make(&c, 1000, 150, 6), NAS_OK);
    ck_assert_int_eq(a.n_val, 150);
    ck_assert_int_eq(a.n_train, 850);
    ck_assert_mem_eq(a.val, b.val, 150 * sizeof(int32_t));
    ck_assert_mem_eq(a.train, b.train, 850 * sizeof(int32_t));
    ck_assert_int_ne(memcmp(a.val, c.val, 150 * sizeof(int32_t)), 0);
    int seen[1000] = {0};
    for (int64_t i = 0; i < a.n_val; i++) {
        seen[a.val[i]] += 1;
        if (i > 0) {
            ck_assert_int_lt(a.val[i - 1], a.val[i]);
        }
    }
    for (int64_t i = 0; i < a.n_train; i++) {
        seen[a.train[i]] += 100;
        if (i > 0) {
            ck_assert_int_lt(a.train[i - 1], a.train[i]);
        }
    }
    int in_val = 0, low = 0;
    for (int i = 0; i < 1000; i++) {
        ck_assert_msg(seen[i] == 1 || seen[i] == 100, "index %d seen %d", i, seen[i]);
        in_val += seen[i] == 1;
        low += seen[i] == 1 && i < 500;
    }
    ck_assert_int_eq(in_val, 150);
    ck_assert_int_gt(low, 40); /* spread over the range, not a prefix */
    ck_assert_int_lt(low, 110);
    nas_data_split_free(&a);
    nas_data_split_free(&b);
    nas_data_split_free(&c);
    nas_data_split_free(&c);

    ck_assert_int_eq(nas_data_split_make(&a, 10, 0, 1), NAS_OK);
    ck_assert_int_eq(a.n_train, 10);
    ck_assert_int_eq(a.train[9], 9);
    nas_data_split_free(&a);
    ck_assert_int_eq(nas_data_split_make(&a, 10, 10, 1), NAS_OK);
    ck_assert_int_eq(a.n_val, 10);
    ck_assert_int_eq(a.n_train, 0);
    nas_data_split_free(&a);
    EXPECT_ERR(nas_data_split_make(&a, 10, 11, 1), NAS_EINVAL, "validation size 11", NULL);
    EXPECT_ERR(nas_data_split_make(&a, 10, -1, 1), NAS_EINVAL, "validation size -1", NULL);
    ck_assert_ptr_null(a.train);
}
END_TEST

/* n images 1x4x4 whose first two pixels encode the index; labels index % 10. */
static void make_indexed(nas_dataset *ds, int n) {
    ck_assert_int_eq(nas_data_alloc(ds, n, 1, 4, 4, 10, "indexed"), NAS_OK);
    for (int i = 0; i < n; i++) {
        uint8_t *p = ds->images + (size_t)i * 16;
        p[0] = (uint8_t)(i & 255);
        p[1] = (uint8_t)(i >> 8);
        for (int j = 2; j < 16; j++) {
            p[j] = (uint8_t)(i * 13 + j);
        }
        ds->labels[i] = i % 10;
    }
}

/* Index encoded in an identity-normalised float image. */
static int decode_index(const float *x) {
    return (int)lrintf(x[0] * 255.0f) + 256 * (int)lrintf(x[1] * 255.0f);
}

START_TEST(test_data__subset_copies_examples) {
    nas_dataset ds, sub;
    make_indexed(&ds, 300);
    const int32_t idx[4] = {299, 3, 3, 256};
    ck_assert_int_eq(nas_data_subset(&sub, &ds, idx, 4, "sub"), NAS_OK);
    ck_assert_int_eq(sub.n, 4);
    ck_assert_str_eq(sub.name, "sub");
    for (int i = 0; i < 4; i++) {
        ck_assert_mem_eq(sub.images + i * 16, ds.images + idx[i] * 16, 16);
        ck_assert_int_eq(sub.labels[i], idx[i] % 10);
    }
    nas_data_free(&sub);
    const int32_t bad[2] = {0, 300};
    EXPECT_ERR(nas_data_subset(&sub, &ds, bad, 2, "sub"), NAS_EINVAL, "index 300 at position 1",
               NULL);
    nas_data_free(&ds);
}
END_TEST

/* ---- normalisation ------------------------------------------------------------------------- */

START_TEST(test_data__norm_compute_and_apply) {
    nas_dataset ds;
    ck_assert_int_eq(nas_data_alloc(&ds, 2, 2, 2, 2, 10, "two"), NAS_OK);
    /* channel 0: {0, 255, 0, 255} in both images; channel 1: all 51, then all 153. */
    for (int i = 0; i < 2; i++) {
        uint8_t *p = ds.images + i * 8;
        p[0] = 0;
        p[1] = 255;
        p[2] = 0;
        p[3] = 255;
        for (int j = 4; j < 8; j++) {
            p[j] = (uint8_t)(i == 0 ? 51 : 153);
        }
        ds.labels[i] = 7 - i;
    }
    nas_data_norm norm;
    ck_assert_int_eq(nas_data_norm_compute(&ds, NULL, 0, &norm), NAS_OK);
    ck_assert_int_eq(norm.c, 2);
    ASSERT_NEAR(norm.mean[0], 0.5f, 1e-6f);
    ASSERT_NEAR(norm.std[0], 0.5f, 1e-6f);
    ASSERT_NEAR(norm.mean[1], 0.4f, 1e-6f);
    ASSERT_NEAR(norm.std[1], 0.2f, 1e-6f);
    /* On a subset where channel 1 is constant. */
    const int32_t one[1] = {1};
    EXPECT_ERR(nas_data_norm_compute(&ds, one, 1, &norm), NAS_ENUMERIC, "channel 1 is constant",
               NULL);

    /* Known values: mean 0.5 std 0.25 on channel 0, identity on channel 1. */
    const float mean[2] = {0.5f, 0.0f}, std[2] = {0.25f, 1.0f};
    ck_assert_int_eq(nas_data_norm_set(&norm, 2, mean, std), NAS_OK);
    ds.images[0] = 51;
    ds.images[2] = 102;
    float x[16];
    int32_t y[2];
    const int32_t both[2] = {1, 0};
    ck_assert_int_eq(nas_data_batch(&ds, both, 2, &norm, x, y), NAS_OK);
    ck_assert_int_eq(y[0], 6);
    ck_assert_int_eq(y[1], 7);
    const float want0[8] = {-2.0f, 2.0f, -2.0f, 2.0f, 0.6f, 0.6f, 0.6f, 0.6f};
    const float want1[8] = {-1.2f, 2.0f, -0.4f, 2.0f, 0.2f, 0.2f, 0.2f, 0.2f};
    for (int j = 0; j < 8; j++) {
        ASSERT_NEAR(x[j], want0[j], 1e-6f);
        ASSERT_NEAR(x[8 + j], want1[j], 1e-6f);
    }
    /* The iterator (no shuffle, no augmentation) produces the same floats. */
    nas_data_iter it;
    nas_data_iter_opts o = {.batch_size = 2, .seed = 1};
    float xi[16];
    int32_t yi[2];
    ck_assert_int_eq(nas_data_iter_init(&it, &ds, both, 2, &norm, &o), NAS_OK);
    ck_assert_int_eq(nas_data_iter_next(&it, xi, yi), 2);
    ck_assert_mem_eq(xi, x, sizeof x);
    ck_assert_mem_eq(yi, y, sizeof y);
    nas_data_iter_free(&it);

    const float bad_std[2] = {0.25f, 0.0f};
    EXPECT_ERR(nas_data_norm_set(&norm, 2, mean, bad_std), NAS_EINVAL, "channel 1", NULL);
    nas_data_norm one_ch;
    nas_data_norm_identity(&one_ch, 1);
    EXPECT_ERR(nas_data_batch(&ds, both, 2, &one_ch, x, y), NAS_EINVAL, "1 channels", "2 channels");
    nas_data_free(&ds);
}
END_TEST

/* ---- batch iterator ------------------------------------------------------------------------ */

/* Runs one epoch, checking each batch's decoded indices against last_indices and labels;
 * writes the epoch's order into order[] and returns the number of examples seen. */
static int64_t run_epoch(nas_data_iter *it, int32_t *order, int64_t *n_batches, int64_t *last_b) {
    float x[10 * 16];
    int32_t y[10];
    int64_t seen = 0, b;
    *n_batches = 0;
    while ((b = nas_data_iter_next(it, x, y)) > 0) {
        ck_assert_int_le(b, it->opts.batch_size);
        const int32_t *idx = nas_data_iter_last_indices(it);
        for (int64_t i = 0; i < b; i++) {
            int e = decode_index(x + i * 16);
            ck_assert_int_eq(e, idx[i]);
            ck_assert_int_eq(y[i], e % 10);
            order[seen++] = e;
        }
        (*n_batches)++;
        *last_b = b;
    }
    return seen;
}

START_TEST(test_data__iter_epochs_and_drop_last) {
    nas_dataset ds;
    make_indexed(&ds, 303);
    nas_data_iter it, it2;
    nas_data_iter_opts o = {.batch_size = 10, .shuffle = true, .seed = 42};
    ck_assert_int_eq(nas_data_iter_init(&it, &ds, NULL, 0, NULL, &o), NAS_OK);
    ck_assert_int_eq(nas_data_iter_batches(&it), 31);
    int32_t e0[303], e1[303], e2[303];
    int64_t nb, lb;
    ck_assert_int_eq(run_epoch(&it, e0, &nb, &lb), 303);
    ck_assert_int_eq(nb, 31);
    ck_assert_int_eq(lb, 3);
    ck_assert_int_eq(it.epoch, 1);
    ck_assert_int_eq(run_epoch(&it, e1, &nb, &lb), 303);
    int cnt[303] = {0};
    int moved = 0, differs = 0;
    for (int i = 0; i < 303; i++) {
        cnt[e0[i]]++;
        cnt[e1[i]] += 1000;
        moved += e0[i] != i;
        differs += e0[i] != e1[i];
    }
    for (int i = 0; i < 303; i++) {
        ck_assert_int_eq(cnt[i], 1001); /* exactly once per epoch */
    }
    ck_assert_int_gt(moved, 250);
    ck_assert_int_gt(differs, 250);

    /* Same seed: same sequence; augmentation does not change the order. */
    o.hflip = true;
    o.crop_pad = 1;
    ck_assert_int_eq(nas_data_iter_init(&it2, &ds, NULL, 0, NULL, &o), NAS_OK);
    float x[160];
    int32_t y[10];
    for (int64_t k = 0; k < 31; k++) {
        ck_assert_int_gt(nas_data_iter_next(&it2, x, y), 0);
        ck_assert_mem_eq(nas_data_iter_last_indices(&it2), e0 + 10 * k,
                         (size_t)it2.last_n * sizeof(int32_t));
    }
    ck_assert_int_eq(nas_data_iter_next(&it2, x, y), 0);
    nas_data_iter_free(&it2);
    nas_data_iter_free(&it);

    /* drop_last: 30 full batches, the 3 dropped examples change between epochs. */
    o = (nas_data_iter_opts){.batch_size = 10, .shuffle = true, .drop_last = true, .seed = 7};
    ck_assert_int_eq(nas_data_iter_init(&it, &ds, NULL, 0, NULL, &o), NAS_OK);
    ck_assert_int_eq(nas_data_iter_batches(&it), 30);
    int dropped_total = 0;
    memset(cnt, 0, sizeof cnt);
    for (int ep = 0; ep < 3; ep++) {
        int32_t *ord = ep == 0 ? e0 : ep == 1 ? e1 : e2;
        ck_assert_int_eq(run_epoch(&it, ord, &nb, &lb), 300);
        ck_assert_int_eq(nb, 30);
        ck_assert_int_eq(lb, 10);
        int seen[303] = {0};
        for (int i = 0; i < 300; i++) {
            ck_assert_int_eq(seen[ord[i]]++, 0);
        }
        for (int i = 0; i < 303; i++) {
            cnt[i] += !seen[i];
        }
    }
    for (int i = 0; i < 303; i++) {
        dropped_total += cnt[i] > 0;
    }
    ck_assert_int_gt(dropped_total, 3);
    nas_data_iter_free(&it);

    /* Unshuffled over a subset: the given order, every epoch. */
    const int32_t sub[5] = {9, 300, 2, 2, 150};
    o = (nas_data_iter_opts){.batch_size = 2, .seed = 3};
    ck_assert_int_eq(nas_data_iter_init(&it, &ds, sub, 5, NULL, &o), NAS_OK);
    for (int ep = 0; ep < 2; ep++) {
        ck_assert_int_eq(run_epoch(&it, e0, &nb, &lb), 5);
        ck_assert_int_eq(nb, 3);
        ck_assert_int_eq(lb, 1);
        ck_assert_mem_eq(e0, sub, sizeof sub);
    }
    nas_data_iter_free(&it);

    o = (nas_data_iter_opts){.batch_size = 10, .drop_last = true};
    EXPECT_ERR(nas_data_iter_init(&it, &ds, sub, 5, NULL, &o), NAS_EINVAL, "drop_last", NULL);
    o.batch_size = 0;
    EXPECT_ERR(nas_data_iter_init(&it, &ds, NULL, 0, NULL, &o), NAS_EINVAL, "batch_size", NULL);
    o = (nas_data_iter_opts){.batch_size = 4, .crop_pad = 5};
    EXPECT_ERR(nas_data_iter_init(&it, &ds, NULL, 0, NULL, &o), NAS_EINVAL, "crop_pad 5", NULL);
    const int32_t bad[1] = {-1};
    o.crop_pad = 0;
    EXPECT_ERR(nas_data_iter_init(&it, &ds, bad, 1, NULL, &o), NAS_EINVAL, "index -1", NULL);
    ck_assert_ptr_null(it.order);
    nas_data_free(&ds);
}
END_TEST

/* ---- augmentation -------------------------------------------------------------------------- */

/* Independent oracle: build the zero-padded image, crop at (pad+dy, pad+dx), then flip. */
static void augment_oracle(const uint8_t *src, uint8_t *dst, int c, int h, int w, int pad,
                           const nas_data_aug *a) {
    int hp = h + 2 * pad, wp = w + 2 * pad;
    uint8_t padded[3][16][16];
    uint8_t crop[3][8][8];
    ck_assert_int_le(hp, 16);
    ck_assert_int_le(wp, 16);
    memset(padded, 0, sizeof padded);
    for (int k = 0; k < c; k++) {
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                padded[k][y + pad][x + pad] = src[(k * h + y) * w + x];
            }
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                crop[k][y][x] = padded[k][y + pad + a->dy][x + pad + a->dx];
            }
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                dst[(k * h + y) * w + x] = crop[k][y][a->flip ? w - 1 - x : x];
            }
        }
    }
}

START_TEST(test_data__augment_flip_and_crop) {
    /* 2 channels of 3x4, all pixels nonzero and distinct. */
    uint8_t src[24], dst[24], want[24];
    for (int j = 0; j < 24; j++) {
        src[j] = (uint8_t)(10 + j);
    }
    nas_data_aug a = {0, 0, true};
    nas_data_augment_u8(src, dst, 2, 3, 4, &a);
    const uint8_t mirrored[24] = {13, 12, 11, 10, 17, 16, 15, 14, 21, 20, 19, 18,
                                  25, 24, 23, 22, 29, 28, 27, 26, 33, 32, 31, 30};
    ck_assert_mem_eq(dst, mirrored, 24);
    a.flip = false;
    nas_data_augment_u8(src, dst, 2, 3, 4, &a);
    ck_assert_mem_eq(dst, src, 24);

    /* Crop shifted by dy=1, dx=-2: content moves up 1 and right 2, zeros fill the rest. */
    a = (nas_data_aug){1, -2, false};
    nas_data_augment_u8(src, dst, 2, 3, 4, &a);
    const uint8_t shifted[12] = {0, 0, 14, 15, 0, 0, 18, 19, 0, 0, 0, 0};
    ck_assert_mem_eq(dst, shifted, 12);
    ck_assert_uint_eq(dst[12 + 2], 26);

    /* Every crop/flip outcome for pad 2 against the padded-image oracle. */
    for (int dy = -2; dy <= 2; dy++) {
        for (int dx = -2; dx <= 2; dx++) {
            for (int f = 0; f < 2; f++) {
                a = (nas_data_aug){dy, dx, f == 1};
                nas_data_augment_u8(src, dst, 2, 3, 4, &a);
                augment_oracle(src, want, 2, 3, 4, 2, &a);
                ck_assert_msg(memcmp(dst, want, 24) == 0, "dy %d dx %d flip %d", dy, dx, f);
            }
        }
    }

    /* Draws cover [-pad, pad] and flip both ways; pad 0 without flip is the identity. */
    nas_rng r;
    nas_rng_seed(&r, 11);
    int hist[5] = {0}, flips = 0;
    for (int i = 0; i < 2000; i++) {
        nas_data_aug_draw(&r, 2, true, &a);
        ck_assert(a.dy >= -2 && a.dy <= 2 && a.dx >= -2 && a.dx <= 2);
        hist[a.dx + 2]++;
        flips += a.flip;
    }
    for (int k = 0; k < 5; k++) {
        ck_assert_int_gt(hist[k], 300);
    }
    ck_assert_int_gt(flips, 900);
    ck_assert_int_lt(flips, 1100);
    nas_data_aug_draw(&r, 0, false, &a);
    ck_assert(a.dy == 0 && a.dx == 0 && !a.flip);
}
END_TEST

START_TEST(test_data__iter_augmentation_invariants) {
    nas_dataset ds;
    ck_assert_int_eq(nas_data_alloc(&ds, 40, 3, 5, 6, 10, "aug"), NAS_OK);
    for (size_t j = 0; j < 40 * 90; j++) {
        ds.images[j] = (uint8_t)(1 + j % 251);
    }
    for (int i = 0; i < 40; i++) {
        ds.labels[i] = i % 10;
    }
    nas_data_iter_opts o = {
        .batch_size = 8, .shuffle = true, .hflip = true, .crop_pad = 2, .seed = 5};
    nas_data_iter it, it2;
    ck_assert_int_eq(nas_data_iter_init(&it, &ds, NULL, 0, NULL, &o), NAS_OK);
    ck_assert_int_eq(nas_data_iter_init(&it2, &ds, NULL, 0, NULL, &o), NAS_OK);
    float x[8 * 90], x2[8 * 90];
    int32_t y[8], y2[8];
    int identical = 0, flipped = 0, total = 0;
    for (int step = 0; step < 12; step++) { /* 2 epochs and a bit */
        int64_t b = nas_data_iter_next(&it, x, y);
        ck_assert_int_eq(nas_data_iter_next(&it2, x2, y2), b);
        if (b == 0) {
            continue;
        }
        ck_assert_mem_eq(x, x2, (size_t)b * 90 * sizeof(float)); /* deterministic */
        const int32_t *idx = nas_data_iter_last_indices(&it);
        for (int64_t i = 0; i < b; i++) {
            uint8_t got[90], cand[90];
            for (int j = 0; j < 90; j++) {
                got[j] = (uint8_t)lrintf(x[i * 90 + j] * 255.0f);
            }
            /* The output is exactly one of the possible augmentations of its source image. */
            int matches = 0;
            for (int dy = -2; dy <= 2; dy++) {
                for (int dx = -2; dx <= 2; dx++) {
                    for (int f = 0; f < 2; f++) {
                        nas_data_aug a = {dy, dx, f == 1};
                        augment_oracle(ds.images + idx[i] * 90, cand, 3, 5, 6, 2, &a);
                        if (memcmp(cand, got, 90) == 0) {
                            matches++;
                            identical += dy == 0 && dx == 0 && f == 0;
                            flipped += f;
                        }
                    }
                }
            }
            ck_assert_int_eq(matches, 1);
            ck_assert_int_eq(y[i], idx[i] % 10);
            total++;
        }
    }
    ck_assert_int_eq(total, 80);
    ck_assert_int_lt(identical, 20); /* augmentation happens */
    ck_assert_int_gt(flipped, 20);
    ck_assert_int_lt(flipped, 60);
    nas_data_iter_free(&it);
    nas_data_iter_free(&it2);
    nas_data_free(&ds);
}
END_TEST

/* ---- the real Fashion-MNIST ---------------------------------------------------------------- */

static void check_real_split(const char *split, int64_t n, int per_class) {
    nas_dataset ds;
    double t0 = nas_time_now();
    nas_status st = nas_data_load_fashion_mnist(&ds, NULL, split);
    double dt = nas_time_now() - t0;
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    printf("data: Fashion-MNIST %s: %lld images loaded in %.3f s\n", split, (long long)ds.n, dt);
    ck_assert_int_eq(ds.n, n);
    ck_assert_int_eq(ds.c, 1);
    ck_assert_int_eq(ds.h, 28);
    ck_assert_int_eq(ds.w, 28);
    int hist[10] = {0};
    for (int64_t i = 0; i < ds.n; i++) {
        ck_assert(ds.labels[i] >= 0 && ds.labels[i] < 10);
        hist[ds.labels[i]]++;
    }
    for (int k = 0; k < 10; k++) {
        ck_assert_int_eq(hist[k], per_class);
    }
    if (strcmp(split, "train") == 0) {
        nas_data_norm norm;
        ck_assert_int_eq(nas_data_norm_compute(&ds, NULL, 0, &norm), NAS_OK);
        printf("data: Fashion-MNIST train mean %.4f std %.4f\n", (double)norm.mean[0],
               (double)norm.std[0]);
        ASSERT_NEAR(norm.mean[0], 0.2860f, 5e-4f);
        ASSERT_NEAR(norm.std[0], 0.3530f, 5e-4f);
    }
    nas_data_free(&ds);
}

START_TEST(test_data__real_fashion_mnist) {
    struct stat sb;
    unsetenv(NAS_FASHION_MNIST_ENV);
    if (stat(NAS_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", &sb) != 0) {
        printf("data: note: %s is not installed (apt-get install dataset-fashion-mnist); "
               "skipping the real Fashion-MNIST check\n",
               NAS_FASHION_MNIST_DIR);
        return;
    }
    check_real_split("train", 60000, 6000);
    check_real_split("test", 10000, 1000);
}
END_TEST

Suite *nas_test_data_suite(void) {
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("idx");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_data__idx_roundtrip_gzip_and_plain);
    tcase_add_test(tc, test_data__idx_missing_and_bad_header);
    tcase_add_test(tc, test_data__idx_truncated_and_overlong);
    tcase_add_test(tc, test_data__idx_content_errors);
    tcase_add_test(tc, test_data__idx_alloc_failure_cleans_up);
    suite_add_tcase(s, tc);
    tc = tcase_create("loaders");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_data__fashion_mnist_missing_dir_message);
    tcase_add_test(tc, test_data__load_by_split_from_dir_and_env);
    suite_add_tcase(s, tc);
    tc = tcase_create("cifar");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_data__cifar_roundtrip);
    tcase_add_test(tc, test_data__cifar_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("split");
    tcase_add_test(tc, test_data__split_deterministic_disjoint_complete);
    tcase_add_test(tc, test_data__subset_copies_examples);
    suite_add_tcase(s, tc);
    tc = tcase_create("normalisation");
    tcase_add_test(tc, test_data__norm_compute_and_apply);
    suite_add_tcase(s, tc);
    tc = tcase_create("batching");
    tcase_add_test(tc, test_data__iter_epochs_and_drop_last);
    suite_add_tcase(s, tc);
    tc = tcase_create("augmentation");
    tcase_add_test(tc, test_data__augment_flip_and_crop);
    tcase_add_test(tc, test_data__iter_augmentation_invariants);
    suite_add_tcase(s, tc);
    tc = tcase_create("real_fashion_mnist");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_data__real_fashion_mnist);
    suite_add_tcase(s, tc);
    return s;
}
