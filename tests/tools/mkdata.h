/*
 * Small reproducible data sets for the tests, written from a seed: IDX directories (gzip or
 * plain), CIFAR-10 and CIFAR-100 binary directories, and image folders of PNG and JPEG files (1 or
 * 3 channels, mixed sizes, with or without train/ and test/), plus their damaged variants. Used
 * by the unit tests (linked in) and by tests/tools/make_dataset.c (the command the CLI tests
 * run).
 *
 * Every image carries class signal a small network learns: each class has its own smooth
 * pattern (a sum of sinusoids per channel, drawn from the seed and the class), and every image
 * adds a random brightness shift and pixel noise to it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct mk_opts {
    int n_classes; /* >= 1 */
    int n_train;   /* images per class in the training split (folders without splits: all) */
    int n_test;    /* images per class in the test split (0 with folders: no train/test dirs) */
    int c;         /* 1 or 3 (IDX: always 1; CIFAR: always 3) */
    int h, w;      /* image size (IDX, folders; CIFAR: 32 x 32) */
    uint64_t seed; /* same seed, same files */
    bool gz;       /* IDX: gzip the files */
    bool mixed;    /* folders: sizes vary between h x w and about 1.5 h x 1.5 w */
    bool jpeg;     /* folders: every other image is a JPEG (else all PNG) */
    int noise;     /* pixel noise amplitude (0..255), 0 = the default 24 */
} mk_opts;

/* Defaults: 3 classes, 20 + 10 images per class, 1 channel, 16 x 16, seed 1, PNG and JPEG. */
void mk_defaults(mk_opts *o);

/* Each returns 0 on success, -1 with a message on stderr. dir is created when missing. */
int mk_idx(const char *dir, const mk_opts *o);
int mk_cifar10(const char *dir, const mk_opts *o);
int mk_cifar100(const char *dir, const mk_opts *o);
int mk_folder(const char *dir, const mk_opts *o);

/* Damage a data set made above. what:
 *   "empty-class"   folder: add an empty class folder
 *   "corrupt-image" folder: overwrite the first image of the first class with garbage
 *   "non-image"     folder: add a text file to the first class
 *   "truncate"      CIFAR: cut the last record of the (first) training file in half
 *   "label-range"   IDX / CIFAR: set the first training label to n_classes (out of range; IDX
 *                   also gets a classes.txt of n_classes names, which fixes the class count)
 *   "one-pixel"     IDX / CIFAR: flip one pixel of the first training image
 * Returns 0, or -1 with a message. */
int mk_break(const char *dir, const char *kind, const char *what, const mk_opts *o);

/* Write one PNG or JPEG image (interleaved [h, w, c], c 1 or 3); 0 or -1. */
int mk_write_png(const char *path, const uint8_t *px, int c, int h, int w);
int mk_write_jpeg(const char *path, const uint8_t *px, int c, int h, int w, int quality);
