/*
 * Tests for the data sources of issue 16 (src/data/open.c, folder.c, decode.c, fingerprint.c):
 * specs resolved to canonical descriptions and their errors, loading IDX, CIFAR-10, CIFAR-100
 * and image folders (PNG and JPEG, grey and colour, mixed sizes, resize) made by
 * tests/tools/mkdata.c, every damaged variant, and the content fingerprint.
 */
#include "test_suites.h"
#include "testdir.h"

#include "ghnas/data.h"
#include "mkdata.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void tmp_setup(void) {
    test_tmpdir_create("datasrc");
    unsetenv(NAS_CIFAR10_ENV);
    unsetenv(NAS_CIFAR100_ENV);
    unsetenv(NAS_MNIST_ENV);
}

static void tmp_teardown(void) {
    test_tmpdir_remove();
}

/* The message of the last error contains `part`. */
#define ck_msg_has(part)                                                                           \
    ck_assert_msg(strstr(nas_errmsg(), part) != NULL, "message \"%s\" lacks \"%s\"", nas_errmsg(), \
                  part)

static char *spec_of(char *buf, const char *prefix, const char *name) {
    char p[512];
    snprintf(buf, 600, "%s%s", prefix, test_tpath(p, name));
    return buf;
}

/* ---- resolve ------------------------------------------------------------------------------- */

START_TEST(test_datasrc__resolve_paths_and_detection) {
    mk_opts o;
    mk_defaults(&o);
    char p[512], spec[600];
    ck_assert_int_eq(mk_idx(test_tpath(p, "idx"), &o), 0);
    o.gz = true;
    ck_assert_int_eq(mk_idx(test_tpath(p, "idxgz"), &o), 0);
    o.n_classes = 10;
    ck_assert_int_eq(mk_cifar10(test_tpath(p, "c10"), &o), 0);
    ck_assert_int_eq(mk_cifar100(test_tpath(p, "c100/cifar-100-binary"), &o), 0);

    nas_data_desc d;
    /* prefix form: canonical spec is KIND:/absolute */
    ck_assert_int_eq(nas_data_resolve(&d, spec_of(spec, "idx:", "idx"), NULL), NAS_OK);
    ck_assert_int_eq(d.kind, NAS_DATA_IDX);
    ck_assert(!d.natural);
    ck_assert_str_eq(d.spec, spec);
    ck_assert_str_eq(d.dir, test_tpath(p, "idx"));
    /* a bare path is detected; a relative one becomes absolute */
    ck_assert_int_eq(chdir(test_tmpdir), 0);
    ck_assert_int_eq(nas_data_resolve(&d, "./idxgz", NULL), NAS_OK);
    ck_assert_int_eq(d.kind, NAS_DATA_IDX);
    ck_assert_str_eq(d.spec, spec_of(spec, "idx:", "idxgz"));
    ck_assert_int_eq(nas_data_resolve(&d, "c10", NULL), NAS_OK); /* an existing directory */
    ck_assert_int_eq(d.kind, NAS_DATA_CIFAR10);
    ck_assert(d.natural);
    ck_assert_str_eq(d.spec, spec_of(spec, "cifar10:", "c10"));
    /* CIFAR-100 inside the archive's folder */
    ck_assert_int_eq(nas_data_resolve(&d, spec_of(spec, "", "c100"), NULL), NAS_OK);
    ck_assert_int_eq(d.kind, NAS_DATA_CIFAR100);
    ck_assert_str_eq(d.spec, spec_of(spec, "cifar100:", "c100"));
    ck_assert_str_eq(d.dir, test_tpath(p, "c100/cifar-100-binary"));
    /* the canonical spec resolves to itself */
    char again[NAS_DATA_SPEC_MAX];
    snprintf(again, sizeof again, "%s", d.spec);
    ck_assert_int_eq(nas_data_resolve(&d, again, NULL), NAS_OK);
    ck_assert_str_eq(d.spec, again);
    ck_assert_int_eq(chdir("/"), 0);
}
END_TEST

START_TEST(test_datasrc__resolve_known_names) {
    mk_opts o;
    mk_defaults(&o);
    o.n_classes = 10;
    char p[512];
    ck_assert_int_eq(mk_idx(test_tpath(p, "mn"), &o), 0);
    ck_assert_int_eq(mk_cifar10(test_tpath(p, "c10"), &o), 0);
    ck_assert(nas_data_known("cifar10") && nas_data_known("cifar100") && nas_data_known("mnist"));
    ck_assert(!nas_data_known("cifar1000") && !nas_data_known(NULL));
    ck_assert_str_eq(nas_data_names(), "fashion-mnist, mnist, cifar10, cifar100");

    nas_data_desc d;
    /* the dir argument wins; the name stays the canonical spec */
    ck_assert_int_eq(nas_data_resolve(&d, "mnist", test_tpath(p, "mn")), NAS_OK);
    ck_assert_str_eq(d.spec, "mnist");
    ck_assert_str_eq(d.dir, p);
    /* then the environment variable */
    setenv(NAS_CIFAR10_ENV, test_tpath(p, "c10"), 1);
    ck_assert_int_eq(nas_data_resolve(&d, "cifar10", NULL), NAS_OK);
    ck_assert_str_eq(d.spec, "cifar10");
    ck_assert_int_eq(d.kind, NAS_DATA_CIFAR10);
    nas_dataset ds;
    ck_assert_int_eq(nas_data_open(&ds, "cifar10", NULL, "test"), NAS_OK);
    ck_assert_int_eq(ds.n, 100);
    ck_assert_int_eq(ds.c, 3);
    ck_assert_int_eq(ds.n_classes, 10);
    ck_assert_ptr_nonnull(ds.class_names); /* from batches.meta.txt */
    ck_assert_str_eq(ds.class_names[9], "object_09");
    ck_assert_int_eq(strlen(ds.fingerprint), 16);
    nas_data_free(&ds);
    unsetenv(NAS_CIFAR10_ENV);
    /* a missing directory names the source of the directory and the remedy */
    ck_assert_int_eq(nas_data_resolve(&d, "cifar100", test_tpath(p, "nope")), NAS_ENOTFOUND);
    ck_msg_has("does not exist");
    ck_msg_has(NAS_CIFAR100_ENV);
    setenv(NAS_MNIST_ENV, test_tpath(p, "c10"), 1); /* a directory without IDX files */
    ck_assert_int_eq(nas_data_resolve(&d, "mnist", NULL), NAS_ENOTFOUND);
    ck_msg_has("train-images-idx3-ubyte");
    ck_msg_has(NAS_MNIST_ENV);
    unsetenv(NAS_MNIST_ENV);
}
END_TEST

START_TEST(test_datasrc__resolve_errors) {
    nas_data_desc d;
    char p[512], spec[600];
    ck_assert_int_eq(nas_data_resolve(&d, "imagenet", NULL), NAS_EINVAL);
    ck_msg_has("unknown data set 'imagenet'");
    ck_msg_has("fashion-mnist, mnist, cifar10, cifar100");
    ck_msg_has("folder:DIR");
    ck_assert_int_eq(nas_data_resolve(&d, "", NULL), NAS_EINVAL);
    ck_assert_int_eq(nas_data_resolve(&d, NULL, NULL), NAS_EINVAL);
    ck_assert_int_eq(nas_data_resolve(&d, spec_of(spec, "folder:", "missing"), NULL),
                     NAS_ENOTFOUND);
    ck_msg_has("no such directory");
    ck_assert_int_eq(nas_data_resolve(&d, "idx:", NULL), NAS_EINVAL);
    /* an empty directory: says what it looked for */
    ck_assert_int_eq(mkdir(test_tpath(p, "empty"), 0755), 0);
    ck_assert_int_eq(nas_data_resolve(&d, p, NULL), NAS_ENOTFOUND);
    ck_msg_has("none of the known layouts");
    ck_msg_has("data_batch_1.bin");
    ck_msg_has("image folder");
    /* a prefix whose files are missing */
    ck_assert_int_eq(nas_data_resolve(&d, spec_of(spec, "cifar10:", "empty"), NULL), NAS_ENOTFOUND);
    ck_msg_has("data_batch_1.bin");
    ck_assert_int_eq(nas_data_resolve(&d, spec_of(spec, "idx:", "empty"), NULL), NAS_ENOTFOUND);
    ck_msg_has("train-images-idx3-ubyte");
    /* a file, not a directory */
    FILE *f = fopen(test_tpath(p, "file"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(nas_data_resolve(&d, spec_of(spec, "idx:", "file"), NULL), NAS_EINVAL);
    ck_msg_has("not a directory");
    /* a resize on something that is not a folder; a resize out of range */
    mk_opts o;
    mk_defaults(&o);
    ck_assert_int_eq(mk_idx(test_tpath(p, "idx"), &o), 0);
    snprintf(spec, sizeof spec, "%s@8x8", p);
    ck_assert_int_eq(nas_data_resolve(&d, spec, NULL), NAS_EINVAL);
    ck_msg_has("image folders only");
    ck_assert_int_eq(nas_data_resolve(&d, "cifar10@32x32", NULL), NAS_EINVAL);
    ck_msg_has("image folders only");
    snprintf(spec, sizeof spec, "folder:%s@0x8", p);
    ck_assert_int_eq(nas_data_resolve(&d, spec, NULL), NAS_EINVAL);
    ck_msg_has("outside");
    /* a bad split */
    ck_assert_int_eq(nas_data_resolve(&d, p, NULL), NAS_OK);
    nas_dataset ds;
    ck_assert_int_eq(nas_data_load(&ds, &d, "val"), NAS_EINVAL);
    ck_msg_has("split");
}
END_TEST

/* ---- IDX and CIFAR ------------------------------------------------------------------------- */

START_TEST(test_datasrc__idx_dir_classes) {
    mk_opts o;
    mk_defaults(&o);
    o.n_classes = 4;
    o.h = 12;
    o.w = 10;
    char p[512], spec[600];
    ck_assert_int_eq(mk_idx(test_tpath(p, "idx"), &o), 0);
    nas_dataset tr, te;
    ck_assert_int_eq(nas_data_open(&tr, spec_of(spec, "idx:", "idx"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(nas_data_open(&te, spec, NULL, "test"), NAS_OK);
    ck_assert_int_eq(tr.n, 80);
    ck_assert_int_eq(te.n, 40);
    ck_assert_int_eq(tr.n_classes, 4); /* 1 + the largest label */
    ck_assert_int_eq(te.n_classes, 4);
    ck_assert_int_eq(tr.c, 1);
    ck_assert_int_eq(tr.h, 12);
    ck_assert_int_eq(tr.w, 10);
    ck_assert_ptr_null(tr.class_names);
    ck_assert_str_ne(tr.fingerprint, te.fingerprint);
    nas_data_free(&tr);
    nas_data_free(&te);
    /* classes.txt: names and class count; a label beyond it is an error */
    FILE *f = fopen(test_tpath(p, "idx/classes.txt"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("ant\nbee\ncat\ndog\nelk\n", f);
    fclose(f);
    ck_assert_int_eq(nas_data_open(&tr, spec, NULL, "train"), NAS_OK);
    ck_assert_int_eq(tr.n_classes, 5);
    ck_assert_str_eq(tr.class_names[4], "elk");
    nas_dataset sub;
    int32_t idx[2] = {3, 0};
    ck_assert_int_eq(nas_data_subset(&sub, &tr, idx, 2, "sub"), NAS_OK);
    ck_assert_ptr_nonnull(sub.class_names);
    ck_assert_ptr_ne(sub.class_names, tr.class_names);
    ck_assert_str_eq(sub.class_names[1], "bee");
    nas_data_free(&sub);
    nas_data_free(&tr);
    f = fopen(p, "w");
    fputs("ant\nbee\ncat\n", f);
    fclose(f);
    ck_assert_int_eq(nas_data_open(&tr, spec, NULL, "train"), NAS_EFORMAT);
    ck_msg_has("out of range");
    ck_assert_ptr_null(tr.images);
    /* the maker's damaged variants: a label out of range, one pixel changed (gzip files) */
    o.gz = true;
    ck_assert_int_eq(mk_idx(test_tpath(p, "lab"), &o), 0);
    ck_assert_int_eq(mk_idx(test_tpath(p, "pix"), &o), 0);
    ck_assert_int_eq(mk_idx(test_tpath(p, "same"), &o), 0);
    ck_assert_int_eq(mk_break(test_tpath(p, "lab"), "idx", "label-range", &o), 0);
    ck_assert_int_eq(mk_break(test_tpath(p, "pix"), "idx", "one-pixel", &o), 0);
    ck_assert_int_eq(nas_data_open(&tr, spec_of(spec, "", "lab"), NULL, "train"), NAS_EFORMAT);
    ck_msg_has("train-labels-idx1-ubyte.gz: label 4 at index 0 is out of range (expected 0..3)");
    nas_dataset a, b;
    ck_assert_int_eq(nas_data_open(&a, spec_of(spec, "", "pix"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(nas_data_open(&b, spec_of(spec, "", "same"), NULL, "train"), NAS_OK);
    ck_assert_str_ne(a.fingerprint, b.fingerprint);
    ck_assert_int_eq(memcmp(a.images + 1, b.images + 1, (size_t)a.n * 120 - 1), 0);
    ck_assert_int_eq(a.images[0], 255 - b.images[0]);
    nas_data_free(&a);
    nas_data_free(&b);
}
END_TEST

START_TEST(test_datasrc__cifar100) {
    mk_opts o;
    mk_defaults(&o);
    o.n_classes = 100;
    o.n_train = 2;
    o.n_test = 1;
    char p[512], spec[600];
    ck_assert_int_eq(mk_cifar100(test_tpath(p, "c100"), &o), 0);
    nas_dataset tr, te;
    ck_assert_int_eq(nas_data_open(&tr, spec_of(spec, "cifar100:", "c100"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(nas_data_open(&te, spec, NULL, "test"), NAS_OK);
    ck_assert_int_eq(tr.n, 200);
    ck_assert_int_eq(te.n, 100);
    ck_assert_int_eq(tr.n_classes, 100);
    ck_assert_int_eq(tr.c, 3);
    ck_assert_int_eq(tr.h, 32);
    /* fine labels (the generator writes class k at record k, coarse k / 5) */
    ck_assert_int_eq(tr.labels[0], 0);
    ck_assert_int_eq(tr.labels[57], 57);
    ck_assert_int_eq(tr.labels[157], 57);
    ck_assert_str_eq(tr.class_names[99], "fine_99");
    nas_data_free(&tr);
    nas_data_free(&te);
    /* by the known name and --data-dir */
    ck_assert_int_eq(nas_data_open(&te, "cifar100", p, "test"), NAS_OK);
    ck_assert_int_eq(te.n, 100);
    nas_data_free(&te);
}
END_TEST

START_TEST(test_datasrc__cifar_damaged) {
    mk_opts o;
    mk_defaults(&o);
    o.n_classes = 10;
    o.n_train = 2;
    o.n_test = 1;
    char p[512], spec[600];
    nas_dataset ds;
    /* truncated batches */
    ck_assert_int_eq(mk_cifar10(test_tpath(p, "t10"), &o), 0);
    ck_assert_int_eq(mk_break(p, "cifar10", "truncate", &o), 0);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "cifar10:", "t10"), NULL, "train"),
                     NAS_EFORMAT);
    ck_msg_has("data_batch_1.bin");
    ck_msg_has("truncated");
    ck_assert_ptr_null(ds.images);
    ck_assert_int_eq(nas_data_open(&ds, spec, NULL, "test"), NAS_OK); /* the test file is fine */
    nas_data_free(&ds);
    ck_assert_int_eq(mk_cifar100(test_tpath(p, "t100"), &o), 0);
    ck_assert_int_eq(mk_break(p, "cifar100", "truncate", &o), 0);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "", "t100"), NULL, "train"), NAS_EFORMAT);
    ck_msg_has("train.bin");
    ck_msg_has("3074-byte record");
    /* labels out of range */
    ck_assert_int_eq(mk_cifar10(test_tpath(p, "l10"), &o), 0);
    ck_assert_int_eq(mk_break(p, "cifar10", "label-range", &o), 0);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "", "l10"), NULL, "train"), NAS_EFORMAT);
    ck_msg_has("label 10 of record 0 is out of range (expected 0..9)");
    ck_assert_int_eq(mk_cifar100(test_tpath(p, "l100"), &o), 0);
    ck_assert_int_eq(mk_break(p, "cifar100", "label-range", &o), 0);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "", "l100"), NULL, "train"), NAS_EFORMAT);
    ck_msg_has("label 100 of record 0 is out of range (expected 0..99)");
}
END_TEST

/* ---- fingerprint --------------------------------------------------------------------------- */

START_TEST(test_datasrc__fingerprint) {
    mk_opts o;
    mk_defaults(&o);
    o.n_classes = 10;
    o.n_train = 3;
    o.n_test = 1;
    char p[512], spec[600];
    ck_assert_int_eq(mk_cifar10(test_tpath(p, "a"), &o), 0);
    ck_assert_int_eq(mk_cifar10(test_tpath(p, "b/c/d"), &o), 0);
    ck_assert_int_eq(mk_cifar10(test_tpath(p, "e"), &o), 0);
    ck_assert_int_eq(mk_break(p, "cifar10", "one-pixel", &o), 0);
    nas_dataset a, b, e;
    ck_assert_int_eq(nas_data_open(&a, spec_of(spec, "", "a"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(nas_data_open(&b, spec_of(spec, "", "b/c/d"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(nas_data_open(&e, spec_of(spec, "", "e"), NULL, "train"), NAS_OK);
    /* same content, different path: same fingerprint; one pixel changed: different */
    ck_assert_str_eq(a.fingerprint, b.fingerprint);
    ck_assert_str_ne(a.fingerprint, e.fingerprint);
    for (int i = 0; i < 16; i++) {
        ck_assert(strchr("0123456789abcdef", a.fingerprint[i]) != NULL);
    }
    /* recomputing gives the same value; every kind of change moves it */
    char fp[17];
    nas_data_fingerprint(&a, fp);
    ck_assert_str_eq(fp, a.fingerprint);
    a.labels[5] = (a.labels[5] + 1) % 10;
    nas_data_fingerprint(&a, fp);
    ck_assert_str_ne(fp, a.fingerprint);
    a.labels[5] = (a.labels[5] + 9) % 10;
    a.images[a.n * 3072 - 1] ^= 1; /* the very last pixel */
    nas_data_fingerprint(&a, fp);
    ck_assert_str_ne(fp, a.fingerprint);
    a.images[a.n * 3072 - 1] ^= 1;
    a.n_classes = 11;
    nas_data_fingerprint(&a, fp);
    ck_assert_str_ne(fp, a.fingerprint);
    a.n_classes = 10;
    a.n--; /* one image fewer */
    nas_data_fingerprint(&a, fp);
    ck_assert_str_ne(fp, a.fingerprint);
    a.n++;
    nas_data_free(&a);
    nas_data_free(&b);
    nas_data_free(&e);
    /* the name plays no part */
    nas_dataset x, y;
    ck_assert_int_eq(nas_data_alloc(&x, 3, 1, 2, 2, 2, "x"), NAS_OK);
    ck_assert_int_eq(nas_data_alloc(&y, 3, 1, 2, 2, 2, "y"), NAS_OK);
    char fx[17], fy[17];
    nas_data_fingerprint(&x, fx);
    nas_data_fingerprint(&y, fy);
    ck_assert_str_eq(fx, fy);
    /* same bytes, other shape: different */
    nas_data_free(&y);
    ck_assert_int_eq(nas_data_alloc(&y, 3, 1, 1, 4, 2, "y"), NAS_OK);
    nas_data_fingerprint(&y, fy);
    ck_assert_str_ne(fx, fy);
    nas_data_free(&x);
    nas_data_free(&y);
}
END_TEST

/* ---- image folders ------------------------------------------------------------------------- */

/* Nearest-class-mean accuracy on te with means from tr: the generated images carry signal. */
static double nearest_mean_accuracy(const nas_dataset *tr, const nas_dataset *te) {
    size_t img = nas_data_image_size(tr);
    double *mean = calloc((size_t)tr->n_classes * img, sizeof *mean);
    int *cnt = calloc((size_t)tr->n_classes, sizeof *cnt);
    ck_assert(mean && cnt);
    for (int64_t i = 0; i < tr->n; i++) {
        cnt[tr->labels[i]]++;
        for (size_t j = 0; j < img; j++) {
            mean[(size_t)tr->labels[i] * img + j] += tr->images[(size_t)i * img + j];
        }
    }
    int64_t right = 0;
    for (int64_t i = 0; i < te->n; i++) {
        int best = -1;
        double best_d = 0;
        for (int k = 0; k < tr->n_classes; k++) {
            double dist = 0;
            for (size_t j = 0; j < img; j++) {
                double v = te->images[(size_t)i * img + j] - mean[(size_t)k * img + j] / cnt[k];
                dist += v * v;
            }
            if (best < 0 || dist < best_d) {
                best = k;
                best_d = dist;
            }
        }
        right += best == te->labels[i];
    }
    free(mean);
    free(cnt);
    return (double)right / (double)te->n;
}

START_TEST(test_datasrc__folder_splits_png_jpeg) {
    mk_opts o;
    mk_defaults(&o);
    o.n_train = 10;
    o.n_test = 5;
    char p[512], spec[600];
    ck_assert_int_eq(mk_folder(test_tpath(p, "grey"), &o), 0);
    nas_data_desc d;
    ck_assert_int_eq(nas_data_resolve(&d, p, NULL), NAS_OK);
    ck_assert_int_eq(d.kind, NAS_DATA_FOLDER);
    ck_assert(d.natural);
    ck_assert_str_eq(d.spec, spec_of(spec, "folder:", "grey"));
    nas_dataset tr, te;
    ck_assert_int_eq(nas_data_load(&tr, &d, "train"), NAS_OK);
    ck_assert_int_eq(nas_data_load(&te, &d, "test"), NAS_OK);
    ck_assert_int_eq(tr.n, 30);
    ck_assert_int_eq(te.n, 15);
    ck_assert_int_eq(tr.c, 1);
    ck_assert_int_eq(tr.h, 16);
    ck_assert_int_eq(tr.w, 16);
    ck_assert_int_eq(tr.n_classes, 3);
    ck_assert_str_eq(tr.class_names[0], "class_00");
    ck_assert_str_eq(te.class_names[2], "class_02");
    ck_assert_int_eq(tr.labels[0], 0);
    ck_assert_int_eq(tr.labels[29], 2);
    ck_assert_int_eq(strlen(tr.fingerprint), 16);
    ck_assert_double_ge(nearest_mean_accuracy(&tr, &te), 0.9);
    nas_data_free(&tr);
    nas_data_free(&te);

    /* colour, no train/test folders: every 5th image of a class is held out */
    o.c = 3;
    o.n_train = 10;
    o.n_test = 0;
    o.n_classes = 4;
    ck_assert_int_eq(mk_folder(test_tpath(p, "rgb"), &o), 0);
    ck_assert_int_eq(nas_data_open(&tr, spec_of(spec, "folder:", "rgb"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(nas_data_open(&te, spec, NULL, "test"), NAS_OK);
    ck_assert_int_eq(tr.n, 32);
    ck_assert_int_eq(te.n, 8);
    ck_assert_int_eq(tr.c, 3);
    ck_assert_int_eq(te.n_classes, 4);
    ck_assert_double_ge(nearest_mean_accuracy(&tr, &te), 0.9);
    nas_data_free(&tr);
    nas_data_free(&te);
}
END_TEST

START_TEST(test_datasrc__folder_exact_pixels_and_mixed_channels) {
    /* a grey PNG, an RGB PNG and a grey JPEG: 3 channels, grey copied to all three, CHW order */
    char p[512], spec[600];
    ck_assert_int_eq(mkdir(test_tpath(p, "f"), 0755), 0);
    ck_assert_int_eq(mkdir(test_tpath(p, "f/b"), 0755), 0);
    ck_assert_int_eq(mkdir(test_tpath(p, "f/a"), 0755), 0);
    uint8_t grey[6] = {0, 10, 20, 30, 40, 50}; /* 2 x 3 */
    uint8_t rgb[18];                           /* 2 x 3 x 3 */
    for (int i = 0; i < 18; i++) {
        rgb[i] = (uint8_t)(100 + i);
    }
    uint8_t flat[6] = {77, 77, 77, 77, 77, 77};
    ck_assert_int_eq(mk_write_png(test_tpath(p, "f/a/1.png"), grey, 1, 2, 3), 0);
    ck_assert_int_eq(mk_write_png(test_tpath(p, "f/b/2.png"), rgb, 3, 2, 3), 0);
    ck_assert_int_eq(mk_write_jpeg(test_tpath(p, "f/b/3.jpg"), flat, 1, 2, 3, 100), 0);
    /* 3 images and 2 per class: the train split holds them all */
    nas_dataset ds;
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "f"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(ds.n, 3);
    ck_assert_int_eq(ds.c, 3);
    ck_assert_int_eq(ds.h, 2);
    ck_assert_int_eq(ds.w, 3);
    ck_assert_str_eq(ds.class_names[0], "a");
    ck_assert_str_eq(ds.class_names[1], "b");
    ck_assert_int_eq(ds.labels[0], 0);
    ck_assert_int_eq(ds.labels[1], 1);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 6; i++) {
            ck_assert_int_eq(ds.images[k * 6 + i], grey[i]);
            ck_assert_int_eq(ds.images[18 + k * 6 + i], rgb[i * 3 + k]);
            ck_assert_int_le(abs(ds.images[36 + k * 6 + i] - 77), 1); /* JPEG, quality 100 */
        }
    }
    nas_data_free(&ds);
    /* the test split of so small a folder is empty: a clear error */
    ck_assert_int_eq(nas_data_open(&ds, spec, NULL, "test"), NAS_EFORMAT);
    ck_msg_has("no test images");
}
END_TEST

START_TEST(test_datasrc__folder_mixed_sizes_and_resize) {
    mk_opts o;
    mk_defaults(&o);
    o.mixed = true;
    o.c = 3;
    o.h = 12;
    o.w = 10;
    o.n_train = 6;
    o.n_test = 3;
    char p[512], spec[600];
    ck_assert_int_eq(mk_folder(test_tpath(p, "m"), &o), 0);
    nas_dataset ds;
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "m"), NULL, "train"), NAS_EFORMAT);
    ck_msg_has("differ in size");
    ck_msg_has("class_00/img0000.png is 12x10");
    ck_msg_has("@HxW");
    snprintf(spec + strlen(spec), 40, "@9x11");
    nas_data_desc d;
    ck_assert_int_eq(nas_data_resolve(&d, spec, NULL), NAS_OK);
    ck_assert_int_eq(d.resize_h, 9);
    ck_assert_int_eq(d.resize_w, 11);
    ck_assert(strstr(d.spec, "@9x11") != NULL);
    ck_assert_int_eq(nas_data_load(&ds, &d, "train"), NAS_OK);
    ck_assert_int_eq(ds.n, 18);
    ck_assert_int_eq(ds.h, 9);
    ck_assert_int_eq(ds.w, 11);
    ck_assert_int_eq(ds.c, 3);
    nas_dataset te;
    ck_assert_int_eq(nas_data_load(&te, &d, "test"), NAS_OK);
    ck_assert_double_ge(nearest_mean_accuracy(&ds, &te), 0.8);
    nas_data_free(&te);
    nas_data_free(&ds);
}
END_TEST

START_TEST(test_datasrc__folder_parallel_deterministic) {
    /* 1200 images: the progress path; the same data and the same first error whatever the
     * number of threads */
    mk_opts o;
    mk_defaults(&o);
    o.n_classes = 4;
    o.n_train = 300;
    o.n_test = 0;
    o.h = o.w = 6;
    char p[512], spec[600], fp1[17];
    ck_assert_int_eq(mk_folder(test_tpath(p, "many"), &o), 0);
    nas_dataset ds;
    int64_t n1 = 0;
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "many"), NULL, "train"),
                         NAS_OK);
        if (threads == 1) {
            snprintf(fp1, sizeof fp1, "%s", ds.fingerprint);
            n1 = ds.n;
        }
        ck_assert_int_eq(ds.n, 960);
        ck_assert_int_eq(ds.n, n1);
        ck_assert_str_eq(ds.fingerprint, fp1);
        nas_data_free(&ds);
    }
    /* two bad files: the first in file order is reported */
    uint8_t junk[4] = {1, 2, 3, 4};
    FILE *f = fopen(test_tpath(p, "many/class_03/img0290.png"), "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(junk, 1, 4, f);
    fclose(f);
    f = fopen(test_tpath(p, "many/class_01/img0100.png"), "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(junk, 1, 4, f);
    fclose(f);
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        ck_assert_int_eq(nas_data_open(&ds, spec, NULL, "train"), NAS_EFORMAT);
        ck_msg_has("class_01/img0100.png: not a PNG or JPEG image");
    }
    omp_set_num_threads(2);
}
END_TEST

START_TEST(test_datasrc__resize_values) {
    /* 4 x 4 grey, left half 0 and right half 200, shrunk to 2 x 2: area averages 0 and 200;
     * a constant image grown stays constant; a 2x shrink of a ramp averages pairs */
    char p[512], spec[600];
    uint8_t img[16], flat[16], ramp[16];
    for (int i = 0; i < 16; i++) {
        img[i] = (i % 4) < 2 ? 0 : 200;
        flat[i] = 90;
        ramp[i] = (uint8_t)(40 * (i % 4));
    }
    ck_assert_int_eq(mkdir(test_tpath(p, "r"), 0755), 0);
    ck_assert_int_eq(mkdir(test_tpath(p, "r/x"), 0755), 0);
    ck_assert_int_eq(mkdir(test_tpath(p, "r/y"), 0755), 0);
    ck_assert_int_eq(mk_write_png(test_tpath(p, "r/x/a.png"), img, 1, 4, 4), 0);
    ck_assert_int_eq(mk_write_png(test_tpath(p, "r/x/b.png"), ramp, 1, 4, 4), 0);
    ck_assert_int_eq(mk_write_png(test_tpath(p, "r/y/c.png"), flat, 1, 4, 4), 0);
    nas_dataset ds;
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "r@2x2"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(ds.h, 2);
    ck_assert_int_eq(ds.c, 1);
    for (int y = 0; y < 2; y++) {
        ck_assert_int_le(abs(ds.images[y * 2 + 0] - 0), 1);
        ck_assert_int_le(abs(ds.images[y * 2 + 1] - 200), 1);
        ck_assert_int_le(abs(ds.images[4 + y * 2 + 0] - 20), 1);  /* (0 + 40) / 2 */
        ck_assert_int_le(abs(ds.images[4 + y * 2 + 1] - 100), 1); /* (80 + 120) / 2 */
        ck_assert_int_le(abs(ds.images[8 + y * 2] - 90), 1);
    }
    nas_data_free(&ds);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "r@7x9"), NULL, "train"), NAS_OK);
    ck_assert_int_eq(ds.h, 7);
    ck_assert_int_eq(ds.w, 9);
    for (int i = 0; i < 63; i++) {
        ck_assert_int_le(abs(ds.images[2 * 63 + i] - 90), 1);
    }
    /* growing the ramp keeps it monotonic along x */
    for (int y = 0; y < 7; y++) {
        for (int x = 1; x < 9; x++) {
            ck_assert_int_ge(ds.images[63 + y * 9 + x], ds.images[63 + y * 9 + x - 1]);
        }
    }
    nas_data_free(&ds);
}
END_TEST

START_TEST(test_datasrc__folder_damaged) {
    mk_opts o;
    mk_defaults(&o);
    o.n_train = 6;
    o.n_test = 3;
    char p[512], spec[600];
    nas_dataset ds;
    static const char *const cases[][2] = {
        {"empty-class", "class folder"},
        {"corrupt-image", "class_00/img0000.png: corrupt PNG image"},
        {"non-image", "class_00/notes.txt: not a PNG or JPEG image"},
    };
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%d", i);
        ck_assert_int_eq(mk_folder(test_tpath(p, name), &o), 0);
        ck_assert_int_eq(mk_break(p, "folder", cases[i][0], &o), 0);
        ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", name), NULL, "train"),
                         NAS_EFORMAT);
        ck_msg_has(cases[i][1]);
        ck_assert_ptr_null(ds.images);
        ck_assert_ptr_null(ds.class_names);
    }
    ck_msg_has("bad2/train/class_00/notes.txt"); /* the full path */
    /* an empty class folder says which */
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "bad0"), NULL, "train"),
                     NAS_EFORMAT);
    ck_msg_has("zz_empty holds no images");
    /* one class only; no class folders */
    ck_assert_int_eq(mkdir(test_tpath(p, "one"), 0755), 0);
    ck_assert_int_eq(mkdir(test_tpath(p, "one/cat"), 0755), 0);
    uint8_t px[4] = {1, 2, 3, 4};
    ck_assert_int_eq(mk_write_png(test_tpath(p, "one/cat/a.png"), px, 1, 2, 2), 0);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "one"), NULL, "train"),
                     NAS_EFORMAT);
    ck_msg_has("one class folder (cat)");
    ck_assert_int_eq(mkdir(test_tpath(p, "none"), 0755), 0);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "none"), NULL, "train"),
                     NAS_ENOTFOUND);
    ck_msg_has("not an image folder");
    /* train and test with different classes */
    ck_assert_int_eq(mk_folder(test_tpath(p, "diff"), &o), 0);
    ck_assert_int_eq(rename(test_tpath(p, "diff/test/class_02"), test_tpath(spec, "diff/test/zz")),
                     0);
    ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "diff"), NULL, "test"),
                     NAS_EFORMAT);
    ck_msg_has("different class folders");
    /* an unreadable image (root reads everything, so only when not root) */
    if (geteuid() != 0) {
        ck_assert_int_eq(mk_folder(test_tpath(p, "perm"), &o), 0);
        ck_assert_int_eq(chmod(test_tpath(p, "perm/train/class_01/img0002.png"), 0), 0);
        ck_assert_int_eq(nas_data_open(&ds, spec_of(spec, "folder:", "perm"), NULL, "train"),
                         NAS_EIO);
        ck_msg_has("img0002.png: cannot open");
    }
}
END_TEST

START_TEST(test_datasrc__read_images_jpeg_and_fit) {
    char p[512];
    uint8_t rgb[4 * 6 * 3];
    for (int i = 0; i < 72; i++) {
        rgb[i] = (uint8_t)(i % 3 == 0 ? 200 : 50);
    }
    ck_assert_int_eq(mk_write_jpeg(test_tpath(p, "a.jpg"), rgb, 3, 4, 6, 100), 0);
    uint8_t *out = NULL;
    int64_t n = 0;
    ck_assert_int_eq(nas_data_read_images(p, 3, 4, 6, &out, &n), NAS_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_le(abs(out[0] - 200), 2); /* R plane */
    ck_assert_int_le(abs(out[24] - 50), 2); /* G plane */
    nas_free(out);
    /* exact reader: another size is refused; the fitting reader resizes */
    ck_assert_int_eq(nas_data_read_images(p, 3, 8, 8, &out, &n), NAS_EFORMAT);
    ck_msg_has("4x6");
    ck_assert_int_eq(nas_data_read_images_fit(p, 3, 8, 8, &out, &n), NAS_OK);
    ck_assert_int_le(abs(out[63] - 200), 2);
    ck_assert_int_le(abs(out[64 + 10] - 50), 2);
    nas_free(out);
    /* colour never becomes grey; grey is expanded */
    ck_assert_int_eq(nas_data_read_images_fit(p, 1, 4, 6, &out, &n), NAS_EFORMAT);
    uint8_t g[4] = {10, 20, 30, 40};
    ck_assert_int_eq(mk_write_png(test_tpath(p, "g.png"), g, 1, 2, 2), 0);
    ck_assert_int_eq(nas_data_read_images_fit(p, 3, 2, 2, &out, &n), NAS_OK);
    ck_assert_int_eq(out[0], 10);
    ck_assert_int_eq(out[4 + 3], 40);
    ck_assert_int_eq(out[8 + 1], 20);
    nas_free(out);
    /* a damaged JPEG is named */
    FILE *f = fopen(test_tpath(p, "bad.jpg"), "wb");
    ck_assert_ptr_nonnull(f);
    fwrite("\xff\xd8\xff\xe0garbage", 1, 11, f);
    fclose(f);
    ck_assert_int_eq(nas_data_read_images(p, 3, 4, 6, &out, &n), NAS_EFORMAT);
    ck_msg_has("bad.jpg: corrupt JPEG image");
}
END_TEST

Suite *nas_test_datasrc_suite(void) {
    Suite *s = suite_create("datasrc");
    TCase *tc = tcase_create("resolve");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_datasrc__resolve_paths_and_detection);
    tcase_add_test(tc, test_datasrc__resolve_known_names);
    tcase_add_test(tc, test_datasrc__resolve_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("binary");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_datasrc__idx_dir_classes);
    tcase_add_test(tc, test_datasrc__cifar100);
    tcase_add_test(tc, test_datasrc__cifar_damaged);
    tcase_add_test(tc, test_datasrc__fingerprint);
    suite_add_tcase(s, tc);
    tc = tcase_create("folder");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_datasrc__folder_splits_png_jpeg);
    tcase_add_test(tc, test_datasrc__folder_exact_pixels_and_mixed_channels);
    tcase_add_test(tc, test_datasrc__folder_mixed_sizes_and_resize);
    tcase_add_test(tc, test_datasrc__resize_values);
    tcase_add_test(tc, test_datasrc__folder_parallel_deterministic);
    tcase_add_test(tc, test_datasrc__folder_damaged);
    tcase_add_test(tc, test_datasrc__read_images_jpeg_and_fit);
    suite_add_tcase(s, tc);
    return s;
}
