/*
 * ghnas data: image-classification datasets in memory, readers for IDX (MNIST, Fashion-MNIST),
 * CIFAR-10 and CIFAR-100 binary files and image folders (PNG, JPEG), data sources named by a
 * spec with content fingerprints, seeded train/validation splits, per-channel normalisation, and
 * a shuffling batch iterator with random crop / horizontal flip augmentation.
 *
 * Images are stored as uint8 [N, C, H, W]; batches are produced as float [B, C, H, W] with
 *     x = (pixel / 255 - mean[c]) / std[c]
 * plus int32 labels [B], ready for nas_softmax_cross_entropy().
 *
 *     nas_dataset train;
 *     if (nas_data_load_fashion_mnist(&train, NULL, "train") != NAS_OK) ... nas_errmsg() ...
 *     nas_data_split sp;  nas_data_split_make(&sp, train.n, 10000, seed);
 *     nas_data_norm norm; nas_data_norm_compute(&train, sp.train, sp.n_train, &norm);
 *     nas_data_iter it;   nas_data_iter_init(&it, &train, sp.train, sp.n_train, &norm, &opts);
 *     for (;;) { int64_t b = nas_data_iter_next(&it, x, y); if (b == 0) break; ... }
 *
 * Every reader leaves *out empty (all zero, safe to nas_data_free) when it fails.
 */
#pragma once

#include "ghnas/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NAS_DATA_MAX_CHANNELS 4

/* Where the Debian package dataset-fashion-mnist installs its files. */
#define NAS_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* Default MNIST directory (same file layout); no Debian package ships it. */
#define NAS_MNIST_DIR "/usr/share/datasets/mnist"
/* Environment variables that override the default directories (an explicit dir wins). */
#define NAS_FASHION_MNIST_ENV "GHNAS_FASHION_MNIST_DIR"
#define NAS_MNIST_ENV         "GHNAS_MNIST_DIR"
#define NAS_CIFAR10_ENV       "GHNAS_CIFAR10_DIR"

/* ---- dataset ------------------------------------------------------------------------------- */

typedef struct nas_dataset {
    uint8_t *images;      /* [n, c, h, w] raw pixels */
    int32_t *labels;      /* [n], each in [0, n_classes) */
    int64_t n;            /* number of examples (<= INT32_MAX) */
    int c, h, w;          /* channels (1..NAS_DATA_MAX_CHANNELS), height, width */
    int n_classes;        /* number of classes */
    char name[64];        /* e.g. "fashion-mnist-train" */
    char fingerprint[17]; /* nas_data_fingerprint, set by nas_data_load ("" until then) */
    char **class_names;   /* [n_classes] class names (folders), or NULL; owned */
} nas_dataset;

/* Allocate a zero-filled dataset of n examples. */
nas_status nas_data_alloc(nas_dataset *out, int64_t n, int c, int h, int w, int n_classes,
                          const char *name);
/* Free the buffers and zero the struct; NULL and already-freed datasets are fine. */
void nas_data_free(nas_dataset *ds);
/* Bytes per image: c * h * w. */
size_t nas_data_image_size(const nas_dataset *ds);
/* New dataset holding copies of the examples src[idx[0..n)] in that order. */
nas_status nas_data_subset(nas_dataset *out, const nas_dataset *src, const int32_t *idx, int64_t n,
                           const char *name);

/* ---- readers ------------------------------------------------------------------------------- */

/*
 * IDX pair: an images file (magic 0x00000803, dims n, rows, cols) and a labels file (magic
 * 0x00000801, dim n), each gzip-compressed or plain (zlib reads both). Checks magic numbers,
 * dimensions, equal counts, labels < n_classes and exact lengths; error messages name the file.
 */
nas_status nas_data_read_idx(nas_dataset *out, const char *images_path, const char *labels_path,
                             int n_classes, const char *name);

/*
 * Fashion-MNIST / MNIST by split ("train" or "test") from dir, which holds
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. dir NULL or "" means the environment
 * variable (NAS_FASHION_MNIST_ENV / NAS_MNIST_ENV) if set, else the default directory.
 * A missing Fashion-MNIST directory or file gives NAS_ENOTFOUND with a message that says to
 * install the Debian package dataset-fashion-mnist.
 */
nas_status nas_data_load_fashion_mnist(nas_dataset *out, const char *dir, const char *split);
nas_status nas_data_load_mnist(nas_dataset *out, const char *dir, const char *split);

/*
 * CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32,
 * i.e. already CHW). The files (plain or gzip) are concatenated in order. Each file's length
 * must be a positive multiple of 3073 and every label < 10.
 */
nas_status nas_data_read_cifar10(nas_dataset *out, const char *const *paths, int n_paths,
                                 const char *name);
/* "train" = data_batch_1..5.bin, "test" = test_batch.bin in dir (or dir/cifar-10-batches-bin);
 * dir NULL or "" means the NAS_CIFAR10_ENV environment variable, which must then be set. */
nas_status nas_data_load_cifar10(nas_dataset *out, const char *dir, const char *split);

/* ---- data sources (issue 16) --------------------------------------------------------------- */

/*
 * A data set is named by a spec string, the value of every job's --data:
 *
 *   fashion-mnist | mnist | cifar10 | cifar100   a known name; its files come from `dir` (the
 *                                   job's --data-dir), else the name's environment variable,
 *                                   else its default directory
 *   idx:DIR                         DIR holds {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz];
 *                                   classes: DIR/classes.txt (a name a line) if present, else 1 +
 *                                   the largest label of both splits
 *   cifar10:DIR | cifar100:DIR      the CIFAR binary formats (data_batch_1..5.bin + test_batch.bin;
 *                                   train.bin + test.bin), DIR or DIR/cifar-*-binary
 *   folder:DIR                      an image folder: DIR/CLASS/IMAGE (PNG or JPEG), or DIR/train/
 *                                   CLASS/IMAGE with DIR/test/CLASS/IMAGE; classes are the sorted
 *                                   sub-folder names
 *   DIR                             any path (holds a '/' or names an existing directory): the
 *                                   kind is detected from what DIR holds
 *   ...@HxW                         suffix, folders only: resize every image to H x W
 *
 * nas_data_resolve() turns a spec into its canonical form (a known name stays as it is; a path
 * becomes KIND:/absolute/path[@HxW]) without reading images, so a job can store the canonical
 * spec and reopen exactly the same data later (evaluate reopens a search's data this way).
 */
#define NAS_DATA_SPEC_MAX 512
#define NAS_CIFAR100_ENV  "GHNAS_CIFAR100_DIR"
/* Default directories of the known names cifar10 / cifar100 (no Debian package ships them). */
#define NAS_CIFAR10_DIR  "/usr/share/datasets/cifar10"
#define NAS_CIFAR100_DIR "/usr/share/datasets/cifar100"

typedef enum nas_data_kind {
    NAS_DATA_IDX = 0,  /* IDX pair per split (fashion-mnist, mnist, idx:DIR) */
    NAS_DATA_CIFAR10,  /* CIFAR-10 binary */
    NAS_DATA_CIFAR100, /* CIFAR-100 binary (fine labels) */
    NAS_DATA_FOLDER,   /* image folder, PNG / JPEG */
} nas_data_kind;

typedef struct nas_data_desc {
    char spec[NAS_DATA_SPEC_MAX]; /* canonical spec (see above) */
    char dir[NAS_DATA_SPEC_MAX];  /* resolved directory the files are read from */
    nas_data_kind kind;
    bool natural;           /* colour photos (CIFAR, folders): crop + flip augmentation */
    int resize_h, resize_w; /* folders: fixed resize, 0 = keep (all images must agree) */
} nas_data_desc;

/* Canonical description of `spec` (dir as for the known names, may be NULL). Checks that the
 * directory exists and has the files of its kind; reads no image. NAS_EINVAL / NAS_ENOTFOUND
 * with a message naming the spec, the path and the known names otherwise. */
nas_status nas_data_resolve(nas_data_desc *out, const char *spec, const char *dir);

/* Load split "train" or "test" of a resolved data set. Sets out->fingerprint; folders also set
 * out->class_names. Folders without train/ and test/ sub-folders hold out every 5th image of
 * each class (in sorted file-name order) as the test split. Shows nas_progress while loading
 * large folders; decodes in parallel (OpenMP). */
nas_status nas_data_load(nas_dataset *out, const nas_data_desc *d, const char *split);

/* nas_data_resolve + nas_data_load. */
nas_status nas_data_open(nas_dataset *out, const char *spec, const char *dir, const char *split);

/* Whether `name` is a known name (interim: the jobs' checks move to nas_data_resolve). */
bool nas_data_known(const char *name);
/* The known names for messages: "fashion-mnist, mnist, cifar10, cifar100". */
const char *nas_data_names(void);

/* Content fingerprint of a loaded data set: 16 lower-case hex digits of a 64-bit hash over its
 * shape, class count, labels and pixels (independent of its name and path), NUL-terminated. */
void nas_data_fingerprint(const nas_dataset *ds, char out[17]);

/* ---- splits -------------------------------------------------------------------------------- */

/* Index views of a seeded train/validation split of n examples: a random permutation (nas_rng
 * seeded with `seed`) whose first n_val entries are the validation set. Both index lists are
 * ascending, disjoint, and together cover 0..n-1. Same (n, n_val, seed) => same split. */
typedef struct nas_data_split {
    int32_t *train;  /* [n_train] */
    int32_t *val;    /* [n_val] */
    int64_t n_train; /* n - n_val */
    int64_t n_val;
} nas_data_split;

nas_status nas_data_split_make(nas_data_split *out, int64_t n, int64_t n_val, uint64_t seed);
void nas_data_split_free(nas_data_split *s);

/* ---- normalisation ------------------------------------------------------------------------- */

/* Per-channel statistics of pixel / 255. */
typedef struct nas_data_norm {
    int c;
    float mean[NAS_DATA_MAX_CHANNELS];
    float std[NAS_DATA_MAX_CHANNELS]; /* > 0 */
} nas_data_norm;

/* Mean and (population) standard deviation per channel over ds[idx[0..n)], or over the whole
 * dataset when idx is NULL (n ignored). NAS_ENUMERIC if a channel is constant. */
nas_status nas_data_norm_compute(const nas_dataset *ds, const int32_t *idx, int64_t n,
                                 nas_data_norm *out);
/* Given statistics; every std must be positive and finite. */
nas_status nas_data_norm_set(nas_data_norm *out, int c, const float *mean, const float *std);
/* mean 0, std 1: x = pixel / 255. */
void nas_data_norm_identity(nas_data_norm *out, int c);

/* x [n, C, H, W] and y [n] from ds[idx[0..n)] without augmentation (evaluation batches).
 * norm NULL means identity. */
nas_status nas_data_batch(const nas_dataset *ds, const int32_t *idx, int64_t n,
                          const nas_data_norm *norm, float *x, int32_t *y);

/* ---- augmentation -------------------------------------------------------------------------- */

/* One image's augmentation: crop offset (dy, dx) in [-pad, pad] of the zero-padded image, then an
 * optional horizontal flip. The identity is {0, 0, false}. */
typedef struct nas_data_aug {
    int dy, dx;
    bool flip;
} nas_data_aug;

/* Draw an augmentation: offsets uniform in [-pad, pad] (0 when pad is 0), flip with probability
 * 1/2 when `flip` (false otherwise). */
void nas_data_aug_draw(nas_rng *r, int pad, bool flip, nas_data_aug *out);
/* dst[ch, y, x] = src[ch, y + dy, x' + dx] with x' = flip ? w-1-x : x, and 0 where that falls
 * outside the image (zero padding in raw pixel space). src, dst [c, h, w], not overlapping. */
void nas_data_augment_u8(const uint8_t *src, uint8_t *dst, int c, int h, int w,
                         const nas_data_aug *aug);

/* ---- batch iterator ------------------------------------------------------------------------ */

typedef struct nas_data_iter_opts {
    int batch_size; /* > 0 */
    bool shuffle;   /* reshuffle every epoch; false keeps the given index order */
    bool drop_last; /* skip a final batch smaller than batch_size */
    bool hflip;     /* random horizontal flip */
    int crop_pad;   /* random crop from the image zero-padded by this many pixels; 0 = off */
    uint64_t seed;  /* order and augmentation streams derive from it */
} nas_data_iter_opts;

/*
 * Epoch iterator over a dataset or an index subset. nas_data_iter_next() fills caller buffers
 * x [batch_size, C, H, W] and y [batch_size] and returns the number of examples written; it
 * returns 0 once the epoch is exhausted and starts the next epoch (reshuffled) at the same
 * time, so the following call yields that epoch's first batch. Fully deterministic given seed.
 */
typedef struct nas_data_iter {
    const nas_dataset *ds; /* not owned; must outlive the iterator */
    int32_t *order;        /* [n] this epoch's dataset indices (owned) */
    int64_t n;             /* examples per epoch */
    int64_t pos;           /* next position in order[] */
    int64_t epoch;         /* 0-based epoch counter */
    int64_t last_n;        /* size of the last batch returned (0 before any) */
    nas_data_iter_opts opts;
    nas_rng rng_order;                     /* per-epoch shuffles */
    nas_rng rng_aug;                       /* augmentation draws */
    float lut[NAS_DATA_MAX_CHANNELS][256]; /* normalised value of each pixel value per channel */
    uint8_t *scratch;                      /* [C, H, W] augmented image */
} nas_data_iter;

/* idx NULL means every example of ds in order (n ignored); idx is copied. norm NULL means
 * identity. */
nas_status nas_data_iter_init(nas_data_iter *it, const nas_dataset *ds, const int32_t *idx,
                              int64_t n, const nas_data_norm *norm, const nas_data_iter_opts *opts);
void nas_data_iter_free(nas_data_iter *it);
int64_t nas_data_iter_next(nas_data_iter *it, float *x, int32_t *y);
/* Dataset indices of the batch last returned by nas_data_iter_next ([it->last_n] entries);
 * valid until the next call. */
const int32_t *nas_data_iter_last_indices(const nas_data_iter *it);
/* Batches per epoch (counting a partial last batch unless drop_last). */
int64_t nas_data_iter_batches(const nas_data_iter *it);

/* ---- images for prediction ----------------------------------------------------------------- */

/*
 * The images of one file, for running a model on them (src/data/image.c): a PNG (libpng; 8- or
 * 16-bit grey, grey + alpha, RGB, RGBA or palette: palettes and low bit depths are expanded,
 * 16 bits reduced to 8, alpha dropped), a JPEG (libjpeg-turbo; grey or colour), a PGM (binary P5 or
 * ASCII P2, maxval up to 65535, scaled to 0..255), or an IDX images file (magic 0x00000803, plain
 * or gzip: all of its images). The format is told by the file's first bytes, not its name. Every
 * image must be c x h x w (c = 1 grey, 3 RGB): NAS_EFORMAT naming the file and both shapes
 * otherwise, never a resize. *out is heap uint8 [n, c, h, w] (nas_free), *n the number of images.
 */
nas_status nas_data_read_images(const char *path, int c, int h, int w, uint8_t **out, int64_t *n);
/* As nas_data_read_images, and a PNG or JPEG image of another size is resized to h x w (pixman:
 * area averaging when shrinking, bilinear when growing) and a grey one expanded to RGB when c is
 * 3. PGM and IDX images must still match the shape; a colour image never becomes grey. */
nas_status nas_data_read_images_fit(const char *path, int c, int h, int w, uint8_t **out,
                                    int64_t *n);

#ifdef __cplusplus
}
#endif
