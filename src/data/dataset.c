/*
 * In-memory datasets: allocation and subsets, seeded train/validation splits, per-channel
 * normalisation, evaluation batches and the shuffling, augmenting batch iterator.
 *
 * Pixels become floats through a per-channel 256-entry lookup table, so normalisation costs one
 * load per pixel and is bit-identical between nas_data_batch() and the iterator.
 */
#include "data-impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- dataset ------------------------------------------------------------------------------- */

size_t nas_data_image_size(const nas_dataset *ds) {
    return (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
}

static nas_status check_geometry(int64_t n, int c, int h, int w, int n_classes) {
    if (n < 0 || n > INT32_MAX) {
        return nas_error(NAS_EINVAL, "dataset size %lld is outside 0..%d", (long long)n, INT32_MAX);
    }
    if (c < 1 || c > NAS_DATA_MAX_CHANNELS) {
        return nas_error(NAS_EINVAL, "dataset channels %d is outside 1..%d", c,
                         NAS_DATA_MAX_CHANNELS);
    }
    if (h < 1 || w < 1 || h > 65535 || w > 65535) {
        return nas_error(NAS_EINVAL, "dataset image size %dx%d is outside 1..65535", h, w);
    }
    if (n_classes < 1 || n_classes > 65536) {
        return nas_error(NAS_EINVAL, "dataset n_classes %d is outside 1..65536", n_classes);
    }
    size_t img = (size_t)c * (size_t)h * (size_t)w;
    if (n > 0 && img > SIZE_MAX / (size_t)n) {
        return nas_error(NAS_EINVAL, "dataset of %lld images of %zu bytes overflows size_t",
                         (long long)n, img);
    }
    return NAS_OK;
}

nas_status nas_data_alloc(nas_dataset *out, int64_t n, int c, int h, int w, int n_classes,
                          const char *name) {
    memset(out, 0, sizeof *out);
    NAS_CHECK(check_geometry(n, c, h, w, n_classes));
    size_t img = (size_t)c * (size_t)h * (size_t)w;
    out->images = nas_calloc((size_t)n, img); /* [n, c, h, w] */
    out->labels = nas_calloc((size_t)n, sizeof *out->labels);
    if (!out->images || !out->labels) {
        nas_data_free(out);
        return nas_error(NAS_ENOMEM, "dataset '%s': cannot allocate %lld images of %zu bytes",
                         name ? name : "", (long long)n, img);
    }
    out->n = n;
    out->c = c;
    out->h = h;
    out->w = w;
    out->n_classes = n_classes;
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    return NAS_OK;
}

void nas_data_free(nas_dataset *ds) {
    if (!ds) {
        return;
    }
    nas_free(ds->images);
    nas_free(ds->labels);
    nas_i_names_free(ds->class_names, ds->n_classes);
    memset(ds, 0, sizeof *ds);
}

/* ---- class names --------------------------------------------------------------------------- */

void nas_i_names_free(char **names, int n) {
    if (!names) {
        return;
    }
    for (int i = 0; i < n; i++) {
        nas_free(names[i]);
    }
    nas_free(names);
}

nas_status nas_i_names_copy(char ***out, char *const *names, int n) {
    *out = NULL;
    if (!names || n <= 0) {
        return NAS_OK;
    }
    char **c = nas_calloc((size_t)n, sizeof *c);
    if (!c) {
        return nas_error(NAS_ENOMEM, "cannot copy %d class names", n);
    }
    for (int i = 0; i < n; i++) {
        c[i] = nas_strdup(names[i] ? names[i] : "");
        if (!c[i]) {
            nas_i_names_free(c, n);
            return nas_error(NAS_ENOMEM, "cannot copy %d class names", n);
        }
    }
    *out = c;
    return NAS_OK;
}

nas_status nas_i_names_read(const char *path, char ***out, int *n) {
    nas_status st = NAS_OK;
    char **names = NULL;
    int cnt = 0, cap = 0;
    char line[1024];
    *out = NULL;
    *n = 0;
    errno = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        return nas_error(errno == ENOENT ? NAS_ENOTFOUND : NAS_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    }
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            NAS_TRY(
                nas_error(NAS_EFORMAT, "%s: a line longer than %zu bytes", path, sizeof line - 2));
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t')) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        if (cnt == cap) {
            int ncap = cap ? 2 * cap : 16;
            if (ncap > 131072) {
                NAS_TRY(nas_error(NAS_EFORMAT, "%s: more than %d names", path, cap));
            }
            char **p = nas_realloc(names, (size_t)ncap * sizeof *p);
            if (!p) {
                NAS_TRY(nas_error(NAS_ENOMEM, "%s: out of memory", path));
            }
            names = p;
            cap = ncap;
        }
        names[cnt] = nas_strdup(line);
        if (!names[cnt]) {
            NAS_TRY(nas_error(NAS_ENOMEM, "%s: out of memory", path));
        }
        cnt++;
    }
    if (ferror(f)) {
        NAS_TRY(nas_error(NAS_EIO, "%s: read error", path));
    }
    *out = names;
    *n = cnt;
    names = NULL;
cleanup:
    fclose(f);
    nas_i_names_free(names, cnt);
    return st;
}

/* Every idx[i] in [0, ds->n). */
static nas_status check_indices(const nas_dataset *ds, const int32_t *idx, int64_t n,
                                const char *what) {
    if (n < 0) {
        return nas_error(NAS_EINVAL, "%s: negative index count %lld", what, (long long)n);
    }
    if (n > 0 && !idx) {
        return nas_error(NAS_EINVAL, "%s: NULL index array for %lld indices", what, (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= ds->n) {
            return nas_error(NAS_EINVAL,
                             "%s: index %d at position %lld is outside dataset '%s' "
                             "of %lld examples",
                             what, idx[i], (long long)i, ds->name, (long long)ds->n);
        }
    }
    return NAS_OK;
}

nas_status nas_data_subset(nas_dataset *out, const nas_dataset *src, const int32_t *idx, int64_t n,
                           const char *name) {
    memset(out, 0, sizeof *out);
    NAS_CHECK(check_indices(src, idx, n, "nas_data_subset"));
    NAS_CHECK(nas_data_alloc(out, n, src->c, src->h, src->w, src->n_classes, name));
    size_t img = nas_data_image_size(src);
    for (int64_t i = 0; i < n; i++) {
        memcpy(out->images + (size_t)i * img, src->images + (size_t)idx[i] * img, img);
        out->labels[i] = src->labels[idx[i]];
    }
    nas_status st = nas_i_names_copy(&out->class_names, src->class_names, src->n_classes);
    if (st != NAS_OK) {
        nas_data_free(out);
    }
    return st;
}

/* ---- splits -------------------------------------------------------------------------------- */

nas_status nas_data_split_make(nas_data_split *out, int64_t n, int64_t n_val, uint64_t seed) {
    nas_status st = NAS_OK;
    int32_t *perm = NULL;
    unsigned char *is_val = NULL;
    memset(out, 0, sizeof *out);
    if (n < 0 || n > INT32_MAX) {
        return nas_error(NAS_EINVAL, "split: size %lld is outside 0..%d", (long long)n, INT32_MAX);
    }
    if (n_val < 0 || n_val > n) {
        return nas_error(NAS_EINVAL, "split: validation size %lld is outside 0..%lld",
                         (long long)n_val, (long long)n);
    }
    perm = nas_malloc((size_t)n * sizeof *perm); /* [n] */
    is_val = nas_calloc((size_t)n, 1);           /* [n] */
    out->val = nas_malloc((size_t)n_val * sizeof *out->val);
    out->train = nas_malloc((size_t)(n - n_val) * sizeof *out->train);
    if (!perm || !is_val || !out->val || !out->train) {
        NAS_TRY(nas_error(NAS_ENOMEM, "split: cannot allocate indices for %lld examples",
                          (long long)n));
    }
    for (int64_t i = 0; i < n; i++) {
        perm[i] = (int32_t)i;
    }
    nas_rng rng;
    nas_rng_seed(&rng, seed);
    nas_rng_shuffle_i32(&rng, perm, (size_t)n);
    for (int64_t i = 0; i < n_val; i++) {
        is_val[perm[i]] = 1;
    }
    /* Ascending order inside each part: cache-friendly views, independent of the permutation. */
    for (int64_t i = 0; i < n; i++) {
        if (is_val[i]) {
            out->val[out->n_val++] = (int32_t)i;
        } else {
            out->train[out->n_train++] = (int32_t)i;
        }
    }
cleanup:
    nas_free(perm);
    nas_free(is_val);
    if (st != NAS_OK) {
        nas_data_split_free(out);
    }
    return st;
}

void nas_data_split_free(nas_data_split *s) {
    if (!s) {
        return;
    }
    nas_free(s->train);
    nas_free(s->val);
    memset(s, 0, sizeof *s);
}

/* ---- normalisation ------------------------------------------------------------------------- */

void nas_data_norm_identity(nas_data_norm *out, int c) {
    memset(out, 0, sizeof *out);
    out->c = c;
    for (int k = 0; k < NAS_DATA_MAX_CHANNELS; k++) {
        out->std[k] = 1.0f;
    }
}

nas_status nas_data_norm_set(nas_data_norm *out, int c, const float *mean, const float *std) {
    if (c < 1 || c > NAS_DATA_MAX_CHANNELS) {
        return nas_error(NAS_EINVAL, "normalisation: channels %d is outside 1..%d", c,
                         NAS_DATA_MAX_CHANNELS);
    }
    for (int k = 0; k < c; k++) {
        if (!isfinite(mean[k]) || !isfinite(std[k]) || !(std[k] > 0.0f)) {
            return nas_error(NAS_EINVAL,
                             "normalisation: channel %d needs a finite mean and a positive "
                             "finite std, got mean %g std %g",
                             k, (double)mean[k], (double)std[k]);
        }
    }
    nas_data_norm_identity(out, c);
    for (int k = 0; k < c; k++) {
        out->mean[k] = mean[k];
        out->std[k] = std[k];
    }
    return NAS_OK;
}

nas_status nas_data_norm_compute(const nas_dataset *ds, const int32_t *idx, int64_t n,
                                 nas_data_norm *out) {
    if (!idx) {
        n = ds->n;
    } else {
        NAS_CHECK(check_indices(ds, idx, n, "normalisation statistics"));
    }
    if (n == 0) {
        return nas_error(NAS_EINVAL, "normalisation statistics of dataset '%s': no examples",
                         ds->name);
    }
    if (ds->c < 1 || ds->c > NAS_DATA_MAX_CHANNELS) {
        return nas_error(NAS_EINVAL, "normalisation statistics of dataset '%s': %d channels",
                         ds->name, ds->c);
    }
    /* Exact per-channel histograms of the pixel values, then moments from the histograms. */
    uint64_t hist[NAS_DATA_MAX_CHANNELS][256];
    memset(hist, 0, sizeof hist);
    size_t plane = (size_t)ds->h * (size_t)ds->w;
    size_t img = nas_data_image_size(ds);
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *p = ds->images + (size_t)(idx ? idx[i] : i) * img;
        for (int k = 0; k < ds->c; k++) {
            const uint8_t *q = p + (size_t)k * plane;
            uint64_t *hk = hist[k];
            for (size_t j = 0; j < plane; j++) {
                hk[q[j]]++;
            }
        }
    }
    float mean[NAS_DATA_MAX_CHANNELS], std[NAS_DATA_MAX_CHANNELS];
    double count = (double)n * (double)plane;
    for (int k = 0; k < ds->c; k++) {
        double s = 0.0, s2 = 0.0;
        for (int v = 0; v < 256; v++) {
            double x = v / 255.0;
            s += (double)hist[k][v] * x;
            s2 += (double)hist[k][v] * x * x;
        }
        double m = s / count;
        double var = s2 / count - m * m;
        if (var < 0.0) {
            var = 0.0;
        }
        if (var * 255.0 * 255.0 < 1e-12) {
            return nas_error(NAS_ENUMERIC,
                             "normalisation statistics of dataset '%s': channel %d is constant "
                             "(every pixel %g), its std is 0",
                             ds->name, k, m * 255.0);
        }
        mean[k] = (float)m;
        std[k] = (float)sqrt(var);
    }
    return nas_data_norm_set(out, ds->c, mean, std);
}

/* lut[k][v] = (v / 255 - mean[k]) / std[k], computed in double. */
static nas_status build_lut(float lut[NAS_DATA_MAX_CHANNELS][256], const nas_dataset *ds,
                            const nas_data_norm *norm) {
    nas_data_norm id;
    if (!norm) {
        nas_data_norm_identity(&id, ds->c);
        norm = &id;
    }
    if (norm->c != ds->c) {
        return nas_error(NAS_EINVAL,
                         "normalisation has %d channels but dataset '%s' has %d channels", norm->c,
                         ds->name, ds->c);
    }
    for (int k = 0; k < ds->c; k++) {
        if (!(norm->std[k] > 0.0f) || !isfinite(norm->std[k]) || !isfinite(norm->mean[k])) {
            return nas_error(NAS_EINVAL, "normalisation: channel %d has mean %g std %g", k,
                             (double)norm->mean[k], (double)norm->std[k]);
        }
        for (int v = 0; v < 256; v++) {
            lut[k][v] = (float)((v / 255.0 - (double)norm->mean[k]) / (double)norm->std[k]);
        }
    }
    return NAS_OK;
}

/* x [c, h, w] from an image [c, h, w] through the lookup table. */
static void image_to_float(const uint8_t *src, float *x, int c, size_t plane,
                           const float *lut /* [c, 256] */) {
    for (int k = 0; k < c; k++) {
        const uint8_t *s = src + (size_t)k * plane;
        float *d = x + (size_t)k * plane;
        const float *l = lut + (size_t)k * 256;
        for (size_t j = 0; j < plane; j++) {
            d[j] = l[s[j]];
        }
    }
}

nas_status nas_data_batch(const nas_dataset *ds, const int32_t *idx, int64_t n,
                          const nas_data_norm *norm, float *x, int32_t *y) {
    float lut[NAS_DATA_MAX_CHANNELS][256];
    NAS_CHECK(check_indices(ds, idx, n, "nas_data_batch"));
    NAS_CHECK(build_lut(lut, ds, norm));
    size_t img = nas_data_image_size(ds);
    size_t plane = (size_t)ds->h * (size_t)ds->w;
    for (int64_t i = 0; i < n; i++) {
        image_to_float(ds->images + (size_t)idx[i] * img, x + (size_t)i * img, ds->c, plane,
                       &lut[0][0]);
        y[i] = ds->labels[idx[i]];
    }
    return NAS_OK;
}

/* ---- batch iterator ------------------------------------------------------------------------ */

nas_status nas_data_iter_init(nas_data_iter *it, const nas_dataset *ds, const int32_t *idx,
                              int64_t n, const nas_data_norm *norm,
                              const nas_data_iter_opts *opts) {
    nas_status st = NAS_OK;
    memset(it, 0, sizeof *it);
    if (!idx) {
        n = ds->n;
    } else {
        NAS_CHECK(check_indices(ds, idx, n, "batch iterator"));
    }
    if (n == 0) {
        return nas_error(NAS_EINVAL, "batch iterator over dataset '%s': no examples", ds->name);
    }
    if (opts->batch_size < 1) {
        return nas_error(NAS_EINVAL, "batch iterator: batch_size must be positive, got %d",
                         opts->batch_size);
    }
    if (opts->drop_last && opts->batch_size > n) {
        return nas_error(NAS_EINVAL,
                         "batch iterator: batch_size %d exceeds the %lld examples and drop_last "
                         "is set, so no batch would ever be produced",
                         opts->batch_size, (long long)n);
    }
    if (opts->crop_pad < 0 || opts->crop_pad > ds->h || opts->crop_pad > ds->w) {
        return nas_error(NAS_EINVAL, "batch iterator: crop_pad %d is outside 0..%d", opts->crop_pad,
                         ds->h < ds->w ? ds->h : ds->w);
    }
    NAS_CHECK(build_lut(it->lut, ds, norm));
    it->ds = ds;
    it->n = n;
    it->opts = *opts;
    it->order = nas_malloc((size_t)n * sizeof *it->order); /* [n] */
    it->scratch = nas_malloc(nas_data_image_size(ds));     /* [c, h, w] */
    if (!it->order || !it->scratch) {
        NAS_TRY(nas_error(NAS_ENOMEM, "batch iterator: cannot allocate an order of %lld indices",
                          (long long)n));
    }
    for (int64_t i = 0; i < n; i++) {
        it->order[i] = idx ? idx[i] : (int32_t)i;
    }
    /* Separate streams: turning augmentation on does not change the example order. */
    nas_rng root;
    nas_rng_seed(&root, opts->seed);
    nas_rng_split(&it->rng_order, &root, 0);
    nas_rng_split(&it->rng_aug, &root, 1);
    if (opts->shuffle) {
        nas_rng_shuffle_i32(&it->rng_order, it->order, (size_t)n);
    }
cleanup:
    if (st != NAS_OK) {
        nas_data_iter_free(it);
    }
    return st;
}

void nas_data_iter_free(nas_data_iter *it) {
    if (!it) {
        return;
    }
    nas_free(it->order);
    nas_free(it->scratch);
    memset(it, 0, sizeof *it);
}

int64_t nas_data_iter_batches(const nas_data_iter *it) {
    int64_t bs = it->opts.batch_size;
    return it->opts.drop_last ? it->n / bs : (it->n + bs - 1) / bs;
}

const int32_t *nas_data_iter_last_indices(const nas_data_iter *it) {
    return it->order + it->pos - it->last_n;
}

int64_t nas_data_iter_next(nas_data_iter *it, float *x, int32_t *y) {
    const nas_data_iter_opts *o = &it->opts;
    int64_t left = it->n - it->pos;
    if (left == 0 || (o->drop_last && left < o->batch_size)) {
        /* Epoch over: start the next one now, report the boundary. */
        it->epoch++;
        it->pos = 0;
        it->last_n = 0;
        if (o->shuffle) {
            nas_rng_shuffle_i32(&it->rng_order, it->order, (size_t)it->n);
        }
        return 0;
    }
    int64_t b = left < o->batch_size ? left : o->batch_size;
    const nas_dataset *ds = it->ds;
    size_t img = nas_data_image_size(ds);
    size_t plane = (size_t)ds->h * (size_t)ds->w;
    bool augment = o->hflip || o->crop_pad > 0;
    for (int64_t i = 0; i < b; i++) {
        int32_t e = it->order[it->pos + i];
        const uint8_t *src = ds->images + (size_t)e * img;
        if (augment) {
            nas_data_aug aug;
            nas_data_aug_draw(&it->rng_aug, o->crop_pad, o->hflip, &aug);
            nas_data_augment_u8(src, it->scratch, ds->c, ds->h, ds->w, &aug);
            src = it->scratch;
        }
        image_to_float(src, x + (size_t)i * img, ds->c, plane, &it->lut[0][0]);
        y[i] = ds->labels[e];
    }
    it->pos += b;
    it->last_n = b;
    return b;
}
