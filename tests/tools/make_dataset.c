/*
 * make_dataset: write a small reproducible data set for the tests (tests/tools/mkdata.h).
 *
 *   make_dataset KIND DIR [--classes N] [--train N] [--test N] [--channels 1|3] [--size HxW]
 *                [--seed S] [--noise A] [--gz] [--mixed] [--png-only] [--break WHAT]
 *
 * KIND is idx, cifar10, cifar100 or folder. --test 0 makes a folder without train/ and test/.
 * --break damages the data set just written (empty-class, corrupt-image, non-image, truncate,
 * label-range, one-pixel; see mk_break).
 */
#include "mkdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *msg) {
    fprintf(stderr,
            "make_dataset: %s\nusage: make_dataset idx|cifar10|cifar100|folder DIR [--classes N] "
            "[--train N] [--test N] [--channels 1|3] [--size HxW] [--seed S] [--noise A] [--gz] "
            "[--mixed] [--png-only] [--break WHAT]\n",
            msg);
    return 2;
}

/* A decimal integer in [lo, hi], or -1. */
static long num(const char *s, long lo, long hi) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return end == s || *end || v < lo || v > hi ? -1 : v;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        return usage("KIND and DIR are needed");
    }
    const char *kind = argv[1], *dir = argv[2], *what = NULL;
    mk_opts o;
    mk_defaults(&o);
    if (strcmp(kind, "cifar10") == 0 || strcmp(kind, "cifar100") == 0) {
        o.c = 3;
        o.h = o.w = 32;
    }
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x = 0;
        if (strcmp(a, "--gz") == 0) {
            o.gz = true;
        } else if (strcmp(a, "--mixed") == 0) {
            o.mixed = true;
        } else if (strcmp(a, "--png-only") == 0) {
            o.jpeg = false;
        } else if (!v) {
            fprintf(stderr, "make_dataset: %s: unknown option, or its value is missing\n", a);
            return 2;
        } else if (strcmp(a, "--classes") == 0 && (x = num(v, 1, 1000)) > 0) {
            o.n_classes = (int)x;
            i++;
        } else if (strcmp(a, "--train") == 0 && (x = num(v, 1, 100000)) > 0) {
            o.n_train = (int)x;
            i++;
        } else if (strcmp(a, "--test") == 0 && (x = num(v, 0, 100000)) >= 0) {
            o.n_test = (int)x;
            i++;
        } else if (strcmp(a, "--channels") == 0 && (x = num(v, 1, 3)) > 0 && x != 2) {
            o.c = (int)x;
            i++;
        } else if (strcmp(a, "--seed") == 0 && (x = num(v, 0, 1000000000)) >= 0) {
            o.seed = (uint64_t)x;
            i++;
        } else if (strcmp(a, "--noise") == 0 && (x = num(v, 1, 255)) > 0) {
            o.noise = (int)x;
            i++;
        } else if (strcmp(a, "--size") == 0) {
            int h = 0, w = 0;
            char tail = 0;
            if (sscanf(v, "%dx%d%c", &h, &w, &tail) != 2 || h < 1 || w < 1 || h > 4096 ||
                w > 4096) {
                return usage("--size takes HxW");
            }
            o.h = h;
            o.w = w;
            i++;
        } else if (strcmp(a, "--break") == 0) {
            what = v;
            i++;
        } else {
            fprintf(stderr, "make_dataset: %s %s: unknown option or bad value\n", a, v);
            return 2;
        }
    }
    int rc;
    if (strcmp(kind, "idx") == 0) {
        rc = mk_idx(dir, &o);
    } else if (strcmp(kind, "cifar10") == 0) {
        rc = mk_cifar10(dir, &o);
    } else if (strcmp(kind, "cifar100") == 0) {
        rc = mk_cifar100(dir, &o);
    } else if (strcmp(kind, "folder") == 0) {
        rc = mk_folder(dir, &o);
    } else {
        return usage("KIND is idx, cifar10, cifar100 or folder");
    }
    if (rc == 0 && what) {
        rc = mk_break(dir, kind, what, &o);
    }
    return rc == 0 ? 0 : 1;
}
