/*
 * PNG (libpng) and JPEG (libjpeg-turbo) files: header probes, decoding to interleaved 8-bit grey
 * or RGB, and placing a decoded image into a planar slot of a data set, resized with pixman
 * when the sizes differ. Errors are reported per call (no shared state), so images decode in
 * parallel threads.
 */
#include "data-impl.h"

#include <errno.h>
#include <png.h>
#include <pixman.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h and stddef.h, which it needs */

#define IMG_MAX_SIDE 65535

nas_i_image_format nas_i_image_sniff(const unsigned char *head, size_t n) {
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(head, png_sig, 8) == 0) {
        return NAS_I_IMG_PNG;
    }
    if (n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff) {
        return NAS_I_IMG_JPEG;
    }
    return NAS_I_IMG_NONE;
}

/* Open path and tell its format from the first bytes (the stream is rewound). */
static nas_status open_image(const char *path, FILE **out, nas_i_image_format *fmt) {
    *out = NULL;
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return nas_error(errno == ENOENT ? NAS_ENOTFOUND : NAS_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    }
    unsigned char head[8];
    size_t got = fread(head, 1, sizeof head, f);
    if (ferror(f)) {
        fclose(f);
        return nas_error(NAS_EIO, "%s: cannot read: %s", path, strerror(errno));
    }
    *fmt = nas_i_image_sniff(head, got);
    if (*fmt == NAS_I_IMG_NONE) {
        fclose(f);
        return nas_error(NAS_EFORMAT, "%s: %s", path,
                         got == 0 ? "the file is empty, not an image"
                                  : "not a PNG or JPEG image (by its first bytes)");
    }
    rewind(f);
    *out = f;
    return NAS_OK;
}

/* ---- PNG ----------------------------------------------------------------------------------- */

typedef struct png_err {
    char msg[200];
} png_err;

static void png_on_error(png_structp png, png_const_charp msg) {
    png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* Header (out == NULL) or the whole image as interleaved [h, w, c]. */
static nas_status png_read(const char *path, FILE *f, nas_i_image_info *info, uint8_t **out) {
    png_err err = {""};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error, png_on_warning);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    if (!png || !pinfo) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        return nas_error(NAS_ENOMEM, "%s: libpng could not allocate its state", path);
    }
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    nas_status st = NAS_OK;
    if (setjmp(png_jmpbuf(png))) {
        st = nas_error(NAS_EFORMAT, "%s: corrupt PNG image: %s", path, err.msg);
        goto cleanup;
    }
    png_init_io(png, f);
    png_set_user_limits(png, IMG_MAX_SIDE, IMG_MAX_SIDE);
    png_read_info(png, pinfo);
    int type = png_get_color_type(png, pinfo);
    int depth = png_get_bit_depth(png, pinfo);
    info->format = NAS_I_IMG_PNG;
    info->w = (int)png_get_image_width(png, pinfo);
    info->h = (int)png_get_image_height(png, pinfo);
    info->c = type & PNG_COLOR_MASK_COLOR ? 3 : 1;
    if (!out) {
        goto cleanup;
    }
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
    if (png_get_valid(png, pinfo, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(png);
        png_set_strip_alpha(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    if ((int)png_get_channels(png, pinfo) != info->c) {
        st = nas_error(NAS_EFORMAT, "%s: PNG decodes to %d channels, expected %d", path,
                       (int)png_get_channels(png, pinfo), info->c);
        goto cleanup;
    }
    size_t rowbytes = (size_t)info->w * (size_t)info->c;
    px = nas_malloc(rowbytes * (size_t)info->h);
    rows = nas_malloc((size_t)info->h * sizeof *rows);
    if (!px || !rows) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory for a %dx%d image", path, info->h, info->w);
        goto cleanup;
    }
    for (int y = 0; y < info->h; y++) {
        rows[y] = px + (size_t)y * rowbytes;
    }
    png_read_image(png, rows);
    png_read_end(png, NULL);
    *out = px;
    px = NULL;
cleanup:
    png_destroy_read_struct(&png, &pinfo, NULL);
    nas_free(rows);
    nas_free(px);
    return st;
}

/* ---- JPEG ---------------------------------------------------------------------------------- */

typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    e->mgr.format_message(cinfo, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings (e.g. "premature end of data") leave grey blocks: treat them as corruption. */
static void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level < 0) {
        jpeg_on_error(cinfo);
    }
}

static nas_status jpeg_read(const char *path, FILE *f, nas_i_image_info *info, uint8_t **out) {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    uint8_t *volatile px = NULL;
    volatile nas_status st = NAS_OK;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    err.mgr.emit_message = jpeg_on_message;
    err.msg[0] = '\0';
    if (setjmp(err.jb)) {
        st = nas_error(NAS_EFORMAT, "%s: corrupt JPEG image: %s", path, err.msg);
        goto cleanup;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        st = nas_error(NAS_EFORMAT, "%s: CMYK JPEG images are not read; convert it to RGB", path);
        goto cleanup;
    }
    if (cinfo.image_width > IMG_MAX_SIDE || cinfo.image_height > IMG_MAX_SIDE) {
        st = nas_error(NAS_EFORMAT, "%s: JPEG image of %ux%u is larger than %d on a side", path,
                       cinfo.image_height, cinfo.image_width, IMG_MAX_SIDE);
        goto cleanup;
    }
    info->format = NAS_I_IMG_JPEG;
    info->w = (int)cinfo.image_width;
    info->h = (int)cinfo.image_height;
    info->c = cinfo.num_components == 1 ? 1 : 3;
    if (!out) {
        goto cleanup;
    }
    cinfo.out_color_space = info->c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != info->c || (int)cinfo.output_width != info->w ||
        (int)cinfo.output_height != info->h) {
        st = nas_error(NAS_EFORMAT, "%s: JPEG decodes to an unexpected shape", path);
        goto cleanup;
    }
    size_t rowbytes = (size_t)info->w * (size_t)info->c;
    px = nas_malloc(rowbytes * (size_t)info->h);
    if (!px) {
        st = nas_error(NAS_ENOMEM, "%s: out of memory for a %dx%d image", path, info->h, info->w);
        goto cleanup;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = px + (size_t)cinfo.output_scanline * rowbytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *out = px;
    px = NULL;
cleanup:
    jpeg_destroy_decompress(&cinfo);
    nas_free(px);
    return st;
}

/* ---- entry points -------------------------------------------------------------------------- */

static nas_status read_image(const char *path, nas_i_image_info *info, uint8_t **out) {
    FILE *f = NULL;
    nas_i_image_format fmt = NAS_I_IMG_NONE;
    memset(info, 0, sizeof *info);
    NAS_CHECK(open_image(path, &f, &fmt));
    nas_status st =
        fmt == NAS_I_IMG_PNG ? png_read(path, f, info, out) : jpeg_read(path, f, info, out);
    fclose(f);
    return st;
}

nas_status nas_i_image_probe(const char *path, nas_i_image_info *info) {
    return read_image(path, info, NULL);
}

nas_status nas_i_image_decode(const char *path, nas_i_image_info *info, uint8_t **out) {
    *out = NULL;
    return read_image(path, info, out);
}

/* ---- placing and resizing ------------------------------------------------------------------ */

/* dst [dc, h, w] from interleaved src [h, w, c] of the same size (grey copied to every channel). */
static void copy_planar(const uint8_t *src, int c, int h, int w, uint8_t *dst, int dc) {
    size_t plane = (size_t)h * (size_t)w;
    for (int k = 0; k < dc; k++) {
        int sk = c == 1 ? 0 : k;
        uint8_t *d = dst + (size_t)k * plane;
        for (size_t i = 0; i < plane; i++) {
            d[i] = src[i * (size_t)c + (size_t)sk];
        }
    }
}

/*
 * Resize with pixman's separable convolution filter, chosen per axis: shrinking by k averages
 * the pixels of k-wide areas (impulse reconstruction, box sampling of width k); growing
 * interpolates bilinearly (tent reconstruction, impulse sampling). Edges repeat the border.
 */
static nas_status resize(const char *path, const uint8_t *src, int c, int h, int w, uint8_t *dst,
                         int dc, int dh, int dw) {
    nas_status st = NAS_OK;
    pixman_image_t *si = NULL, *di = NULL;
    pixman_fixed_t *params = NULL;
    const bool rgb = c == 3;
    const pixman_format_code_t fmt = rgb ? PIXMAN_x8r8g8b8 : PIXMAN_a8;
    const int bpp = rgb ? 4 : 1;
    const int sstride = (w * bpp + 3) & ~3, dstride = (dw * bpp + 3) & ~3;
    uint32_t *sbits = nas_malloc((size_t)sstride * (size_t)h);
    uint32_t *dbits = nas_malloc((size_t)dstride * (size_t)dh);
    if (!sbits || !dbits) {
        NAS_TRY(
            nas_error(NAS_ENOMEM, "%s: out of memory resizing %dx%d to %dx%d", path, h, w, dh, dw));
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * (size_t)w * (size_t)c;
        if (rgb) {
            uint32_t *row = (uint32_t *)((uint8_t *)sbits + (size_t)y * (size_t)sstride);
            for (int x = 0; x < w; x++) {
                row[x] = 0xff000000u | (uint32_t)s[3 * x] << 16 | (uint32_t)s[3 * x + 1] << 8 |
                         s[3 * x + 2];
            }
        } else {
            memcpy((uint8_t *)sbits + (size_t)y * (size_t)sstride, s, (size_t)w);
        }
    }
    si = pixman_image_create_bits(fmt, w, h, sbits, sstride);
    di = pixman_image_create_bits(fmt, dw, dh, dbits, dstride);
    if (!si || !di) {
        NAS_TRY(nas_error(NAS_ENOMEM, "%s: pixman could not create its images", path));
    }
    double sx = (double)w / dw, sy = (double)h / dh;
    pixman_transform_t t;
    pixman_transform_init_scale(&t, pixman_double_to_fixed(sx), pixman_double_to_fixed(sy));
    int n_params = 0;
    /* per axis: shrinking = point samples averaged over a box as wide as the factor (area
     * averaging); growing = tent reconstruction sampled at the pixel centre (bilinear) */
    params = pixman_filter_create_separable_convolution(
        &n_params, pixman_double_to_fixed(sx > 1 ? sx : 1), pixman_double_to_fixed(sy > 1 ? sy : 1),
        sx > 1 ? PIXMAN_KERNEL_IMPULSE : PIXMAN_KERNEL_LINEAR,
        sy > 1 ? PIXMAN_KERNEL_IMPULSE : PIXMAN_KERNEL_LINEAR,
        sx > 1 ? PIXMAN_KERNEL_BOX : PIXMAN_KERNEL_IMPULSE,
        sy > 1 ? PIXMAN_KERNEL_BOX : PIXMAN_KERNEL_IMPULSE, 4, 4);
    if (!params || !pixman_image_set_transform(si, &t) ||
        !pixman_image_set_filter(si, PIXMAN_FILTER_SEPARABLE_CONVOLUTION, params, n_params)) {
        NAS_TRY(nas_error(NAS_ENOMEM, "%s: pixman could not set up the resize filter", path));
    }
    pixman_image_set_repeat(si, PIXMAN_REPEAT_PAD);
    pixman_image_composite32(PIXMAN_OP_SRC, si, NULL, di, 0, 0, 0, 0, 0, 0, dw, dh);
    size_t plane = (size_t)dh * (size_t)dw;
    for (int y = 0; y < dh; y++) {
        const uint8_t *row8 = (const uint8_t *)dbits + (size_t)y * (size_t)dstride;
        const uint32_t *row32 = (const uint32_t *)(const void *)row8;
        for (int x = 0; x < dw; x++) {
            size_t o = (size_t)y * (size_t)dw + (size_t)x;
            if (rgb) {
                uint32_t v = row32[x];
                dst[o] = (uint8_t)(v >> 16);
                dst[plane + o] = (uint8_t)(v >> 8);
                dst[2 * plane + o] = (uint8_t)v;
            } else {
                for (int k = 0; k < dc; k++) {
                    dst[(size_t)k * plane + o] = row8[x];
                }
            }
        }
    }
cleanup:
    if (si) {
        pixman_image_unref(si);
    }
    if (di) {
        pixman_image_unref(di);
    }
    free(params); /* pixman allocates it with malloc */
    nas_free(sbits);
    nas_free(dbits);
    return st;
}

nas_status nas_i_image_place(const char *path, const uint8_t *src, int c, int h, int w,
                             uint8_t *dst, int dc, int dh, int dw) {
    if ((c != 1 && c != 3) || dc < c || (c == 3 && dc != 3)) {
        return nas_error(NAS_EINVAL, "%s: cannot place a %d-channel image into %d channels", path,
                         c, dc);
    }
    if (h == dh && w == dw) {
        copy_planar(src, c, h, w, dst, dc);
        return NAS_OK;
    }
    return resize(path, src, c, h, w, dst, dc, dh, dw);
}
