/*
 * ghnas_png_check FILE.png: what a PNG shows, for the CLI tests (is a screenshot blank?). Prints
 * "WIDTH HEIGHT NONWHITE_PERMILLE COLOURS": the share of pixels that are not near-white, in
 * thousandths, and the number of distinct colours (quantised to 4 bits per channel). Exit 1 when
 * the file cannot be read as a PNG.
 */
#include <cairo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ghnas_png_check FILE.png\n");
        return 2;
    }
    cairo_surface_t *s = cairo_image_surface_create_from_png(argv[1]);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "ghnas_png_check: %s: %s\n", argv[1],
                cairo_status_to_string(cairo_surface_status(s)));
        cairo_surface_destroy(s);
        return 1;
    }
    cairo_surface_flush(s);
    const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    static unsigned char seen[1 << 12];
    long long nonwhite = 0;
    int colours = 0;
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t p = row[x]; /* ARGB, premultiplied; screenshots are opaque */
            unsigned r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
            if (r < 240 || g < 240 || b < 240) {
                nonwhite++;
            }
            unsigned q = (r >> 4) << 8 | (g >> 4) << 4 | (b >> 4);
            if (!seen[q]) {
                seen[q] = 1;
                colours++;
            }
        }
    }
    long long total = (long long)w * h;
    printf("%d %d %lld %d\n", w, h, total > 0 ? nonwhite * 1000 / total : 0, colours);
    cairo_surface_destroy(s);
    return 0;
}
