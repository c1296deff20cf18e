/*
 * Image augmentation on raw uint8 [C, H, W] images: random crop of the zero-padded image (same
 * output size) followed by an optional horizontal flip. The random draw is separate from the
 * pixel work so tests can force an outcome and the batch iterator stays deterministic.
 */
#include "ghnas/data.h"

#include <string.h>

void nas_data_aug_draw(nas_rng *r, int pad, bool flip, nas_data_aug *out) {
    out->dy = 0;
    out->dx = 0;
    out->flip = false;
    if (pad > 0) {
        uint64_t span = 2 * (uint64_t)pad + 1;
        out->dy = (int)nas_rng_below(r, span) - pad;
        out->dx = (int)nas_rng_below(r, span) - pad;
    }
    if (flip) {
        out->flip = (nas_rng_u64(r) >> 63) != 0;
    }
}

void nas_data_augment_u8(const uint8_t *src, uint8_t *dst, int c, int h, int w,
                         const nas_data_aug *aug) {
    size_t plane = (size_t)h * (size_t)w;
    for (int k = 0; k < c; k++) {
        const uint8_t *s = src + (size_t)k * plane; /* [h, w] */
        uint8_t *d = dst + (size_t)k * plane;       /* [h, w] */
        for (int y = 0; y < h; y++) {
            uint8_t *drow = d + (size_t)y * (size_t)w;
            int sy = y + aug->dy;
            if (sy < 0 || sy >= h) {
                memset(drow, 0, (size_t)w);
                continue;
            }
            const uint8_t *srow = s + (size_t)sy * (size_t)w;
            if (!aug->flip) {
                for (int x = 0; x < w; x++) {
                    int sx = x + aug->dx;
                    drow[x] = (sx >= 0 && sx < w) ? srow[sx] : 0;
                }
            } else {
                for (int x = 0; x < w; x++) {
                    int sx = w - 1 - x + aug->dx;
                    drow[x] = (sx >= 0 && sx < w) ? srow[sx] : 0;
                }
            }
        }
    }
}
