/*
 * Reproducible test data sets (see mkdata.h): the class patterns, the IDX / CIFAR / image-folder
 * writers (libpng, libjpeg-turbo, zlib) and the damaged variants.
 */
#include "mkdata.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <jpeglib.h> /* after stdio.h and stddef.h, which it needs */

#define MK_PI 3.14159265358979323846

void mk_defaults(mk_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_classes = 3;
    o->n_train = 20;
    o->n_test = 10;
    o->c = 1;
    o->h = o->w = 16;
    o->seed = 1;
    o->jpeg = true;
}

static int fail(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "mkdata: ");
    fprintf(stderr, fmt, a, b ? b : "");
    fprintf(stderr, "\n");
    return -1;
}

/* ---- random numbers and class patterns ----------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unif(uint64_t *s) {
    return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Class pattern: three sinusoids per channel with integer frequencies, from (seed, class). */
typedef struct pattern {
    double amp[3][3], fx[3][3], fy[3][3], phase[3][3], base[3];
} pattern;

static void pattern_make(pattern *p, uint64_t seed, int cls) {
    uint64_t s = seed * 0x100000001b3ull + (uint64_t)cls * 0x9e3779b97f4a7c15ull + 17;
    for (int ch = 0; ch < 3; ch++) {
        p->base[ch] = 70 + 110 * unif(&s);
        for (int j = 0; j < 3; j++) {
            p->amp[ch][j] = 18 + 22 * unif(&s);
            do {
                p->fx[ch][j] = (double)((int)(unif(&s) * 7) - 3);
                p->fy[ch][j] = (double)((int)(unif(&s) * 7) - 3);
            } while (p->fx[ch][j] == 0 && p->fy[ch][j] == 0);
            p->phase[ch][j] = 2 * MK_PI * unif(&s);
        }
    }
}

/* One image of class `cls` as interleaved [h, w, c]; `s` is the image's own random stream. */
static void render(uint8_t *px, const pattern *p, int c, int h, int w, int noise, uint64_t *s) {
    double shift = (unif(s) - 0.5) * 40;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double u = (x + 0.5) / w, v = (y + 0.5) / h;
            for (int ch = 0; ch < c; ch++) {
                double val = p->base[ch] + shift;
                for (int j = 0; j < 3; j++) {
                    val += p->amp[ch][j] *
                           sin(2 * MK_PI * (p->fx[ch][j] * u + p->fy[ch][j] * v) + p->phase[ch][j]);
                }
                val += (unif(s) - 0.5) * 2 * noise;
                px[((size_t)y * w + x) * c + ch] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
            }
        }
    }
}

/* The random stream of image i of class cls in split sp (0 train, 1 test). */
static uint64_t image_stream(const mk_opts *o, int sp, int cls, int i) {
    return o->seed * 0xd1b54a32d192ed03ull ^ ((uint64_t)sp << 56) ^ ((uint64_t)cls << 32) ^
           (uint64_t)i;
}

static int noise_of(const mk_opts *o) {
    return o->noise > 0 ? o->noise : 24;
}

/* ---- files --------------------------------------------------------------------------------- */

static int mkdir_p(const char *dir) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                return fail("cannot create %s: %s", buf, strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        return fail("cannot create %s: %s", buf, strerror(errno));
    }
    return 0;
}

static int write_file(const char *path, const void *buf, size_t n, bool gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || (n > 0 && gzwrite(f, buf, (unsigned)n) != (int)n) || gzclose(f) != Z_OK) {
            return fail("cannot write %s%s", path, "");
        }
        return 0;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
        return fail("cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

/* The whole file through zlib (gzip or plain); NULL on failure. */
static uint8_t *read_file(const char *path, size_t *n) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fail("cannot open %s%s", path, "");
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (len == cap) {
            uint8_t *p = realloc(buf, cap * 2);
            if (!p) {
                break;
            }
            buf = p;
            cap *= 2;
        }
        int r = gzread(f, buf + len, (unsigned)(cap - len));
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
    }
    gzclose(f);
    *n = len;
    return buf;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- IDX ----------------------------------------------------------------------------------- */

int mk_idx(const char *dir, const mk_opts *o) {
    if (o->n_classes < 1 || o->n_classes > 256 || o->h < 1 || o->w < 1) {
        return fail("IDX: classes 1..256 and a positive size are needed%s%s", "", "");
    }
    if (mkdir_p(dir) != 0) {
        return -1;
    }
    static const char *const prefix[2] = {"train", "t10k"};
    for (int sp = 0; sp < 2; sp++) {
        int per = sp == 0 ? o->n_train : o->n_test;
        uint32_t n = (uint32_t)(per * o->n_classes);
        size_t img = (size_t)o->h * o->w;
        uint8_t *im = calloc(16 + n * img, 1), *lb = calloc(8 + n, 1);
        if (!im || !lb) {
            free(im);
            free(lb);
            return fail("out of memory%s%s", "", "");
        }
        put_be32(im, 0x00000803u);
        put_be32(im + 4, n);
        put_be32(im + 8, (uint32_t)o->h);
        put_be32(im + 12, (uint32_t)o->w);
        put_be32(lb, 0x00000801u);
        put_be32(lb + 4, n);
        for (uint32_t k = 0; k < n; k++) {
            int cls = (int)(k % (uint32_t)o->n_classes), i = (int)(k / (uint32_t)o->n_classes);
            pattern p;
            pattern_make(&p, o->seed, cls);
            uint64_t s = image_stream(o, sp, cls, i);
            render(im + 16 + k * img, &p, 1, o->h, o->w, noise_of(o), &s);
            lb[8 + k] = (uint8_t)cls;
        }
        char path[4096];
        int rc = 0;
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix[sp],
                 o->gz ? ".gz" : "");
        rc |= write_file(path, im, 16 + n * img, o->gz);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix[sp],
                 o->gz ? ".gz" : "");
        rc |= write_file(path, lb, 8 + n, o->gz);
        free(im);
        free(lb);
        if (rc) {
            return -1;
        }
    }
    return 0;
}

/* ---- CIFAR --------------------------------------------------------------------------------- */

/* n records of `per` images per class each, label bytes as the version has them. */
static uint8_t *cifar_records(const mk_opts *o, int sp, int per, int label_bytes, size_t *len) {
    size_t rec = (size_t)label_bytes + 3072;
    size_t n = (size_t)per * (size_t)o->n_classes;
    uint8_t *buf = malloc(n * rec), *hwc = malloc(3072);
    if (!buf || !hwc) {
        free(buf);
        free(hwc);
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        int cls = (int)(k % (size_t)o->n_classes), i = (int)(k / (size_t)o->n_classes);
        pattern p;
        pattern_make(&p, o->seed, cls);
        uint64_t s = image_stream(o, sp, cls, i);
        render(hwc, &p, 3, 32, 32, noise_of(o), &s);
        uint8_t *r = buf + k * rec;
        if (label_bytes == 2) {
            r[0] = (uint8_t)(cls / 5); /* coarse label: any grouping */
        }
        r[label_bytes - 1] = (uint8_t)cls;
        for (int ch = 0; ch < 3; ch++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    r[label_bytes + (ch * 32 + y) * 32 + x] = hwc[(y * 32 + x) * 3 + ch];
                }
            }
        }
    }
    free(hwc);
    *len = n * rec;
    return buf;
}

static int write_names(const char *dir, const char *file, int n, const char *stem) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) {
        return fail("cannot write %s: %s", path, strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s_%02d\n", stem, i);
    }
    return fclose(f) == 0 ? 0 : fail("cannot write %s%s", path, "");
}

int mk_cifar10(const char *dir, const mk_opts *o) {
    if (o->n_classes < 1 || o->n_classes > 10) {
        return fail("CIFAR-10: 1..10 classes%s%s", "", "");
    }
    if (o->n_train * o->n_classes < 5 || o->n_test < 1) {
        return fail("CIFAR-10: at least 5 training images (5 batches) and 1 test image per "
                    "class%s%s",
                    "", "");
    }
    if (mkdir_p(dir) != 0) {
        return -1;
    }
    size_t len = 0;
    uint8_t *train = cifar_records(o, 0, o->n_train, 1, &len);
    if (!train) {
        return fail("out of memory%s%s", "", "");
    }
    size_t n = len / 3073, start = 0;
    int rc = 0;
    for (int b = 0; b < 5; b++) {
        size_t end = n * (size_t)(b + 1) / 5;
        char path[4096];
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b + 1);
        rc |= write_file(path, train + start * 3073, (end - start) * 3073, false);
        start = end;
    }
    free(train);
    uint8_t *test = cifar_records(o, 1, o->n_test, 1, &len);
    if (!test) {
        return fail("out of memory%s%s", "", "");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    rc |= write_file(path, test, len, false);
    free(test);
    rc |= write_names(dir, "batches.meta.txt", 10, "object");
    return rc ? -1 : 0;
}

int mk_cifar100(const char *dir, const mk_opts *o) {
    if (o->n_classes < 1 || o->n_classes > 100 || o->n_train < 1 || o->n_test < 1) {
        return fail("CIFAR-100: 1..100 classes and images in both splits%s%s", "", "");
    }
    if (mkdir_p(dir) != 0) {
        return -1;
    }
    int rc = 0;
    for (int sp = 0; sp < 2; sp++) {
        size_t len = 0;
        uint8_t *buf = cifar_records(o, sp, sp == 0 ? o->n_train : o->n_test, 2, &len);
        if (!buf) {
            return fail("out of memory%s%s", "", "");
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, sp == 0 ? "train.bin" : "test.bin");
        rc |= write_file(path, buf, len, false);
        free(buf);
    }
    rc |= write_names(dir, "fine_label_names.txt", 100, "fine");
    rc |= write_names(dir, "coarse_label_names.txt", 20, "coarse");
    return rc ? -1 : 0;
}

/* ---- PNG and JPEG -------------------------------------------------------------------------- */

int mk_write_png(const char *path, const uint8_t *px, int c, int h, int w) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        return fail("cannot write %s: %s", path, strerror(errno));
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return fail("libpng failed on %s%s", path, "");
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        png_write_row(png, px + (size_t)y * w * c);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0 ? 0 : fail("cannot write %s%s", path, "");
}

typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
} jerr;

static void jpeg_on_error(j_common_ptr cinfo) {
    longjmp(((jerr *)cinfo->err)->jb, 1);
}

int mk_write_jpeg(const char *path, const uint8_t *px, int c, int h, int w, int quality) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        return fail("cannot write %s: %s", path, strerror(errno));
    }
    struct jpeg_compress_struct cinfo;
    jerr err;
    JSAMPROW volatile row = NULL; /* libjpeg takes rows as non-const */
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    if (setjmp(err.jb)) {
        free(row);
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        return fail("libjpeg failed on %s%s", path, "");
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    row = malloc((size_t)w * c);
    if (!row) {
        longjmp(err.jb, 1);
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW r = row;
        memcpy(r, px + (size_t)cinfo.next_scanline * w * c, (size_t)w * c);
        jpeg_write_scanlines(&cinfo, &r, 1);
    }
    free(row);
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return fclose(f) == 0 ? 0 : fail("cannot write %s%s", path, "");
}

/* ---- image folders ------------------------------------------------------------------------- */

static int folder_split(const char *dir, const mk_opts *o, int sp, int per) {
    int maxh = o->mixed ? o->h + o->h / 2 : o->h, maxw = o->mixed ? o->w + o->w / 2 : o->w;
    uint8_t *px = malloc((size_t)maxh * maxw * 3);
    if (!px) {
        return fail("out of memory%s%s", "", "");
    }
    int rc = 0;
    for (int cls = 0; cls < o->n_classes && rc == 0; cls++) {
        char cdir[4096];
        snprintf(cdir, sizeof cdir, "%s/class_%02d", dir, cls);
        if (mkdir_p(cdir) != 0) {
            rc = -1;
            break;
        }
        pattern p;
        pattern_make(&p, o->seed, cls);
        for (int i = 0; i < per && rc == 0; i++) {
            uint64_t s = image_stream(o, sp, cls, i);
            int h = o->h, w = o->w;
            if (o->mixed && i % 3 != 0) {
                h += (int)(splitmix(&s) % (uint64_t)(o->h / 2 + 1));
                w += (int)(splitmix(&s) % (uint64_t)(o->w / 2 + 1));
            }
            render(px, &p, o->c, h, w, noise_of(o), &s);
            char path[4200];
            bool jpg = o->jpeg && i % 2 == 1;
            snprintf(path, sizeof path, "%s/img%04d.%s", cdir, i, jpg ? "jpg" : "png");
            rc = jpg ? mk_write_jpeg(path, px, o->c, h, w, 95) : mk_write_png(path, px, o->c, h, w);
        }
    }
    free(px);
    return rc;
}

int mk_folder(const char *dir, const mk_opts *o) {
    if (o->n_classes < 1 || o->n_classes > 1000 || (o->c != 1 && o->c != 3) || o->h < 1 ||
        o->w < 1) {
        return fail("folder: 1..1000 classes, 1 or 3 channels and a positive size%s%s", "", "");
    }
    if (mkdir_p(dir) != 0) {
        return -1;
    }
    if (o->n_test == 0) {
        return folder_split(dir, o, 0, o->n_train);
    }
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/train", dir);
    if (folder_split(sub, o, 0, o->n_train) != 0) {
        return -1;
    }
    snprintf(sub, sizeof sub, "%s/test", dir);
    return folder_split(sub, o, 1, o->n_test);
}

/* ---- damage -------------------------------------------------------------------------------- */

/* Set byte `off` of a file (gzip or plain, rewritten the same way) to v, or xor it with 0xff
 * when v < 0. */
static int poke(const char *path, size_t off, int v) {
    size_t n = 0;
    uint8_t *buf = read_file(path, &n);
    if (!buf) {
        return -1;
    }
    if (off >= n) {
        free(buf);
        return fail("%s is too short to damage%s", path, "");
    }
    buf[off] = v < 0 ? (uint8_t)(buf[off] ^ 0xff) : (uint8_t)v;
    size_t len = strlen(path);
    int rc = write_file(path, buf, n, len > 3 && strcmp(path + len - 3, ".gz") == 0);
    free(buf);
    return rc;
}

/* dir/<stem>.gz or dir/<stem>, whichever exists, into path. */
static void pick(char *path, size_t cap, const char *dir, const char *stem) {
    snprintf(path, cap, "%s/%s.gz", dir, stem);
    if (!exists(path)) {
        snprintf(path, cap, "%s/%s", dir, stem);
    }
}

int mk_break(const char *dir, const char *kind, const char *what, const mk_opts *o) {
    char path[4200], base[4096];
    bool folder = strcmp(kind, "folder") == 0, idx = strcmp(kind, "idx") == 0;
    bool c10 = strcmp(kind, "cifar10") == 0, c100 = strcmp(kind, "cifar100") == 0;
    snprintf(base, sizeof base, "%s%s", dir, folder && o->n_test > 0 ? "/train" : "");
    const char *cifar_train = c10 ? "data_batch_1.bin" : "train.bin";
    int label_bytes = c10 ? 1 : 2;
    if (folder && strcmp(what, "empty-class") == 0) {
        snprintf(path, sizeof path, "%s/zz_empty", base);
        return mkdir_p(path);
    }
    if (folder && strcmp(what, "corrupt-image") == 0) {
        snprintf(path, sizeof path, "%s/class_00/img0000.png", base);
        static const uint8_t junk[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                       'I',  'H', 'D', 'R', 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
        return write_file(path, junk, sizeof junk, false);
    }
    if (folder && strcmp(what, "non-image") == 0) {
        snprintf(path, sizeof path, "%s/class_00/notes.txt", base);
        static const char text[] = "not an image\n";
        return write_file(path, text, sizeof text - 1, false);
    }
    if ((c10 || c100) && strcmp(what, "truncate") == 0) {
        snprintf(path, sizeof path, "%s/%s", dir, cifar_train);
        struct stat sb;
        if (stat(path, &sb) != 0 || truncate(path, sb.st_size - (3072 + label_bytes) / 2) != 0) {
            return fail("cannot truncate %s: %s", path, strerror(errno));
        }
        return 0;
    }
    if (strcmp(what, "label-range") == 0 || strcmp(what, "one-pixel") == 0) {
        bool label = strcmp(what, "label-range") == 0;
        if (idx) {
            /* classes.txt fixes the class count, so label n_classes is out of range (without it
             * idx:DIR counts 1 + the largest label) */
            if (label && write_names(dir, "classes.txt", o->n_classes, "class") != 0) {
                return -1;
            }
            pick(path, sizeof path, dir,
                 label ? "train-labels-idx1-ubyte" : "train-images-idx3-ubyte");
            return poke(path, label ? 8 : 16, label ? o->n_classes : -1);
        }
        if (c10 || c100) {
            snprintf(path, sizeof path, "%s/%s", dir, cifar_train);
            return poke(path, label ? (size_t)label_bytes - 1 : (size_t)label_bytes,
                        label ? (c10 ? 10 : 100) : -1);
        }
    }
    return fail("cannot apply damage '%s' to a data set of kind '%s'", what, kind);
}
