/*
 * Images for prediction: one file holding one image (PNG through libpng, JPEG through
 * libjpeg-turbo, both in decode.c; PGM P5/P2 by hand) or many (an IDX images file, plain or gzip
 * through zlib), checked against the shape a model takes (or, for PNG and JPEG, fitted to it)
 * and returned as raw uint8 [n, c, h, w] pixels. The format comes from the magic bytes; every
 * message names the file.
 */
#include "data-impl.h"

#include <ctype.h>
#include <errno.h>
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

/* ---- PNG and JPEG (decode.c) ---------------------------------------------------------------- */

/* One PNG or JPEG image as [c, h, w]; with `fit`, resized to h x w and grey expanded to RGB. */
static nas_status read_picture(const char *path, int c, int h, int w, bool fit, uint8_t **out,
                               int64_t *n) {
    nas_i_image_info info;
    uint8_t *px = NULL;
    NAS_CHECK(nas_i_image_decode(path, &info, &px));
    nas_status st = NAS_OK;
    bool channels_ok = fit ? info.c <= c && c != 2 : info.c == c;
    if (!channels_ok || (!fit && (info.h != h || info.w != w))) {
        st = wrong_shape(path, "the image", info.c, info.h, info.w, c, h, w);
    } else {
        uint8_t *chw = nas_malloc((size_t)c * (size_t)h * (size_t)w);
        if (!chw) {
            st = nas_error(NAS_ENOMEM, "%s: out of memory", path);
        } else {
            st = nas_i_image_place(path, px, info.c, info.h, info.w, chw, c, h, w);
            if (st == NAS_OK) {
                *out = chw;
                *n = 1;
            } else {
                nas_free(chw);
            }
        }
    }
    nas_free(px);
    return st;
}

static nas_status read_images(const char *path, int c, int h, int w, bool fit, uint8_t **out,
                              int64_t *n) {
    *out = NULL;
    *n = 0;
    if (!path || c < 1 || c > NAS_DATA_MAX_CHANNELS || h < 1 || w < 1) {
        return nas_error(NAS_EINVAL, "read images: a path and a shape are needed");
    }
    unsigned char *b = NULL;
    size_t len = 0;
    NAS_CHECK(slurp(path, &b, &len));
    nas_status st;
    if (nas_i_image_sniff(b, len) != NAS_I_IMG_NONE) {
        st = read_picture(path, c, h, w, fit, out, n);
    } else if (len >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '2')) {
        st = read_pgm(path, b, len, c, h, w, out, n);
    } else if (len >= 4 && be32(b) >> 8 == 0x000008u) {
        st = read_idx(path, b, len, c, h, w, out, n);
    } else if (len == 0) {
        st = nas_error(NAS_EFORMAT, "%s: the file is empty", path);
    } else {
        st = nas_error(NAS_EFORMAT,
                       "%s: not an image ghnas reads (PNG, JPEG, PGM P5/P2 or IDX images, by "
                       "their first bytes)",
                       path);
    }
    nas_free(b);
    return st;
}

nas_status nas_data_read_images(const char *path, int c, int h, int w, uint8_t **out, int64_t *n) {
    return read_images(path, c, h, w, false, out, n);
}

nas_status nas_data_read_images_fit(const char *path, int c, int h, int w, uint8_t **out,
                                    int64_t *n) {
    return read_images(path, c, h, w, true, out, n);
}
