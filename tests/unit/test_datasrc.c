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
    return s;
}
