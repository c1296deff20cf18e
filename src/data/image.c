/*
 * Images for prediction: one file holding one image (PNG through libpng, PGM P5/P2 by hand) or
 * many (an IDX images file, plain or gzip through zlib), checked against the shape a model takes
 * and returned as raw uint8 [n, c, h, w] pixels. The format comes from the magic bytes; every
 * message names the file.
 */
#include "ghnas/data.h"

#include <ctype.h>
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define IMG_MAX_SIDE 65535
#define IDX_IMAGES   0x00000803u

/* The whole file, through gzread (plain files pass through). */
static nas_status slurp(const char *path, unsigned char **out, size_t *n) {
    *out = NULL;
    *n = 0;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        if (errno == ENOENT) {
            return nas_error(NAS_ENOTFOUND, "%s: no such file", path);
        }
        return nas_error(NAS_EIO, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib");
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = nas_malloc(cap);
    nas_status st = NAS_OK;
    for (;;) {
        if (!buf) {
            st = nas_error(NAS_ENOMEM, "%s: out of memory reading it", path);
            break;
        }
        if (len == cap) {
            unsigned char *p = cap < ((size_t)1 << 32) ? nas_realloc(buf, 2 * cap) : NULL;
            if (!p) {
                st = nas_error(NAS_ENOMEM, "%s: out of memory reading it", path);
                break;
            }
            buf = p;
            cap *= 2;
        }
        int r = gzread(gz, buf + len, (unsigned)(cap - len < (1u << 24) ? cap - len : 1u << 24));
        if (r < 0) {
            int e = 0;
            const char *msg = gzerror(gz, &e);
            st = nas_error(e == Z_ERRNO ? NAS_EIO : NAS_EFORMAT, "%s: cannot read: %s", path,
                           e == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    gzclose(gz);
    if (st != NAS_OK) {
        nas_free(buf);
        return st;
    }
    *out = buf;
    *n = len;
    return NAS_OK;
}

static nas_status wrong_shape(const char *path, const char *what, int c, int h, int w, int wc,
                              int wh, int ww) {
    return nas_error(NAS_EFORMAT,
                     "%s: %s is %dx%d with %d channel%s; the model takes %dx%d images with %d "
                     "channel%s (%s); resize or convert it first",
                     path, what, h, w, c, c == 1 ? "" : "s", wh, ww, wc, wc == 1 ? "" : "s",
                     wc == 1 ? "greyscale" : "RGB");
}

/* ---- IDX ------------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static nas_status read_idx(const char *path, const unsigned char *b, size_t len, int c, int h,
                           int w, uint8_t **out, int64_t *n) {
    if (be32(b) != IDX_IMAGES) {
        return nas_error(NAS_EFORMAT,
                         "%s: IDX magic 0x%08x is not an images file (0x00000803; a labels file "
                         "goes to --labels)",
                         path, be32(b));
    }
    if (len < 16) {
        return nas_error(NAS_EFORMAT, "%s: IDX header truncated (%zu bytes)", path, len);
    }
    uint32_t cnt = be32(b + 4), rows = be32(b + 8), cols = be32(b + 12);
    if (rows != (uint32_t)h || cols != (uint32_t)w || c != 1) {
        return wrong_shape(path, "every image", 1, (int)(rows > IMG_MAX_SIDE ? 0 : rows),
                           (int)(cols > IMG_MAX_SIDE ? 0 : cols), c, h, w);
    }
    size_t want = 16 + (size_t)cnt * rows * cols;
    if (len != want) {
        return nas_error(NAS_EFORMAT, "%s: %s: %zu bytes for %u images of %ux%u (want %zu)", path,
                         len < want ? "truncated" : "over-long", len, cnt, rows, cols, want);
    }
    if (cnt == 0) {
        return nas_error(NAS_EFORMAT, "%s: the IDX file holds no images", path);
    }
    *out = nas_malloc(want - 16);
    if (!*out) {
        return nas_error(NAS_ENOMEM, "%s: out of memory for %u images", path, cnt);
    }
    memcpy(*out, b + 16, want - 16);
    *n = cnt;
    return NAS_OK;
}

/* ---- PGM ------------------------------------------------------------------------------------- */

/* The next header integer of a PNM file (whitespace and # comments skipped); -1 when none. */
static long pnm_int(const unsigned char *b, size_t len, size_t *pos) {
    for (;;) {
        while (*pos < len && isspace(b[*pos])) {
            (*pos)++;
        }
        if (*pos < len && b[*pos] == '#') {
            while (*pos < len && b[*pos] != '\n') {
                (*pos)++;
            }
            continue;
        }
        break;
    }
    long v = 0;
    int digits = 0;
    while (*pos < len && isdigit(b[*pos]) && digits < 9) {
        v = v * 10 + (b[*pos] - '0');
        (*pos)++;
        digits++;
    }
    return digits == 0 || (*pos < len && isdigit(b[*pos])) ? -1 : v;
}

static nas_status read_pgm(const char *path, const unsigned char *b, size_t len, int c, int h,
                           int w, uint8_t **out, int64_t *n) {
    const bool ascii = b[1] == '2';
    size_t pos = 2;
    long pw = pnm_int(b, len, &pos), ph = pnm_int(b, len, &pos), maxval = pnm_int(b, len, &pos);
    if (pw < 1 || ph < 1 || pw > IMG_MAX_SIDE || ph > IMG_MAX_SIDE || maxval < 1 ||
        maxval > 65535) {
        return nas_error(NAS_EFORMAT, "%s: bad PGM header (width, height, maxval 1..65535)", path);
    }
    if (ph != h || pw != w || c != 1) {
        return wrong_shape(path, "the image", 1, (int)ph, (int)pw, c, h, w);
    }
    const size_t npx = (size_t)pw * (size_t)ph;
    uint8_t *px = nas_malloc(npx);
    if (!px) {
        return nas_error(NAS_ENOMEM, "%s: out of memory", path);
    }
    nas_status st = NAS_OK;
    if (ascii) {
        for (size_t i = 0; i < npx && st == NAS_OK; i++) {
            long v = pnm_int(b, len, &pos);
            if (v < 0 || v > maxval) {
                st = nas_error(NAS_EFORMAT, "%s: pixel %zu of %zu is missing or above maxval %ld",
                               path, i, npx, maxval);
            } else {
                px[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
            }
        }
    } else {
        pos++; /* the single whitespace byte after maxval */
        const size_t bpp = maxval > 255 ? 2 : 1;
        if (pos > len || len - pos < npx * bpp) {
            st = nas_error(NAS_EFORMAT, "%s: truncated: %zu pixel bytes of %zu", path,
                           pos > len ? 0 : len - pos, npx * bpp);
        } else {
            for (size_t i = 0; i < npx; i++) {
                long v = bpp == 2 ? (long)b[pos + 2 * i] << 8 | b[pos + 2 * i + 1] : b[pos + i];
                if (v > maxval) {
                    st = nas_error(NAS_EFORMAT, "%s: pixel %zu is %ld, above maxval %ld", path, i,
                                   v, maxval);
                    break;
                }
                px[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
            }
        }
    }
    if (st != NAS_OK) {
        nas_free(px);
        return st;
    }
    *out = px;
    *n = 1;
    return NAS_OK;
}

/* ---- PNG ------------------------------------------------------------------------------------- */

typedef struct png_src {
    const unsigned char *p;
    size_t n, off;
} png_src;

static void png_read_mem(png_structp png, png_bytep out, size_t len) {
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->off) {
        png_error(png, "the file is truncated");
    }
    memcpy(out, s->p + s->off, len);
    s->off += len;
}

static char png_msg[256];

static void png_on_error(png_structp png, png_const_charp msg) {
    snprintf(png_msg, sizeof png_msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static nas_status read_png(const char *path, const unsigned char *b, size_t len, int c, int h,
                           int w, uint8_t **out, int64_t *n) {
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        return nas_error(NAS_ENOMEM, "%s: libpng could not allocate its state", path);
    }
    png_src src = {b, len, 0};
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    nas_status st = NAS_OK;
    png_msg[0] = '\0';
    if (setjmp(png_jmpbuf(png))) {
        st = nas_error(NAS_EFORMAT, "%s: not a readable PNG: %s", path, png_msg);
        goto cleanup;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, IMG_MAX_SIDE, IMG_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
    int type = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    /* everything to 8-bit grey or RGB, alpha dropped */
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (depth == 16) {
        png_set_strip_16(png);
    }
    if (type & PNG_COLOR_MASK_ALPHA) {
        png_set_strip_alpha(png);
    }
    if (png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(png);
        png_set_strip_alpha(png);
    }
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if ((int)ph != h || (int)pw != w || ch != c) {
        st = wrong_shape(path, "the image", ch, (int)ph, (int)pw, c, h, w);
        goto cleanup;
    }
    size_t rowbytes = png_get_rowbytes(png, info);
    uint8_t *interleaved = nas_malloc(rowbytes * ph);
    rows = nas_malloc(ph * sizeof *rows);
    px = interleaved;
    if (!interleaved || !rows) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    for (png_uint_32 y = 0; y < ph; y++) {
        rows[y] = interleaved + y * rowbytes;
    }
    png_read_image(png, rows);
    png_read_end(png, NULL);
    /* interleaved HWC -> CHW */
    uint8_t *chw = nas_malloc((size_t)c * ph * pw);
    if (!chw) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    for (int k = 0; k < c; k++) {
        for (png_uint_32 y = 0; y < ph; y++) {
            for (png_uint_32 x = 0; x < pw; x++) {
                chw[((size_t)k * ph + y) * pw + x] = interleaved[y * rowbytes + (size_t)x * c + k];
            }
        }
    }
    *out = chw;
    *n = 1;
cleanup:
    png_destroy_read_struct(&png, &info, NULL);
    nas_free(rows);
    nas_free(px);
    return st;
}

nas_status nas_data_read_images(const char *path, int c, int h, int w, uint8_t **out, int64_t *n) {
    *out = NULL;
    *n = 0;
    if (!path || c < 1 || c > NAS_DATA_MAX_CHANNELS || h < 1 || w < 1) {
        return nas_error(NAS_EINVAL, "read images: a path and a shape are needed");
    }
    unsigned char *b = NULL;
    size_t len = 0;
    NAS_CHECK(slurp(path, &b, &len));
    nas_status st;
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 8 && memcmp(b, png_sig, 8) == 0) {
        st = read_png(path, b, len, c, h, w, out, n);
    } else if (len >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '2')) {
        st = read_pgm(path, b, len, c, h, w, out, n);
    } else if (len >= 4 && be32(b) >> 8 == 0x000008u) {
        st = read_idx(path, b, len, c, h, w, out, n);
    } else if (len == 0) {
        st = nas_error(NAS_EFORMAT, "%s: the file is empty", path);
    } else {
        st = nas_error(NAS_EFORMAT,
                       "%s: not an image ghnas reads (PNG, PGM P5/P2 or IDX images, by their "
                       "first bytes)",
                       path);
    }
    nas_free(b);
    return st;
}
