/*
 * Golden-file reader, tensor comparison and the generators' deterministic values, for tests
 * against PyTorch twins.
 */
#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_exact(FILE *f, void *dst, size_t n) {
    return fread(dst, 1, n, f) == n;
}

nas_status golden_load(golden_file *g, const char *path) {
    memset(g, 0, sizeof *g);
    nas_status st = NAS_OK;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return nas_error(NAS_EIO, "%s: cannot open", path);
    }
    char magic[4];
    uint32_t version, count;
    if (!read_exact(f, magic, 4) || memcmp(magic, "GHNG", 4) != 0 || !read_exact(f, &version, 4) ||
        version != 1 || !read_exact(f, &count, 4) || count > 10000) {
        st = nas_error(NAS_EFORMAT, "%s: not a version-1 golden file", path);
        goto cleanup;
    }
    g->recs = calloc(count, sizeof *g->recs);
    for (uint32_t i = 0; i < count; i++) {
        golden_rec *r = &g->recs[i];
        uint32_t len, ndim;
        if (!read_exact(f, &len, 4) || len >= sizeof r->name || !read_exact(f, r->name, len) ||
            !read_exact(f, &ndim, 4) || ndim < 1 || ndim > 4 ||
            !read_exact(f, r->shape, 8 * (size_t)ndim)) {
            st = nas_error(NAS_EFORMAT, "%s: record %u header is malformed", path, i);
            goto cleanup;
        }
        r->ndim = (int)ndim;
        r->numel = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            r->numel *= r->shape[d];
        }
        for (uint32_t d = ndim; d < 4; d++) {
            r->shape[d] = 1;
        }
        r->data = malloc((size_t)r->numel * sizeof(float));
        g->count = (int)i + 1;
        if (!read_exact(f, r->data, (size_t)r->numel * sizeof(float))) {
            st = nas_error(NAS_EFORMAT, "%s: record '%s' is truncated", path, r->name);
            goto cleanup;
        }
    }
cleanup:
    fclose(f);
    if (st != NAS_OK) {
        golden_free(g);
    }
    return st;
}

void golden_free(golden_file *g) {
    for (int i = 0; i < g->count; i++) {
        free(g->recs[i].data);
    }
    free(g->recs);
    memset(g, 0, sizeof *g);
}

const golden_rec *golden_get(const golden_file *g, const char *name) {
    for (int i = 0; i < g->count; i++) {
        if (strcmp(g->recs[i].name, name) == 0) {
            return &g->recs[i];
        }
    }
    return NULL;
}

int golden_compare(const char *what, const float *got, const float *want, int64_t n, double atol,
                   double rtol) {
    int bad = 0;
    double maxdiff = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - (double)want[i]);
        if (diff > maxdiff || isnan(diff)) {
            maxdiff = isnan(diff) ? (double)INFINITY : diff;
        }
        if (!(diff <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 3) {
                fprintf(stderr, "%s[%lld]: got %.7g want %.7g\n", what, (long long)i,
                        (double)got[i], (double)want[i]);
            }
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "%s: %d of %lld values differ, max diff %.3g\n", what, bad, (long long)n,
                maxdiff);
    }
    return bad;
}

static uint32_t fnv1a(const char *s) {
    uint32_t h = 0x811C9DC5u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x01000193u;
    }
    return h;
}

void golden_det_u(const char *name, int64_t n, float *out) {
    uint32_t seed = fnv1a(name);
    for (int64_t i = 0; i < n; i++) {
        uint32_t x = seed + (uint32_t)i * 0x9E3779B9u;
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        x ^= x >> 16;
        int32_t k = (int32_t)(x >> 8) - (1 << 23);
        out[i] = (float)k / 8388608.0f;
    }
}

void golden_det_slot(const nas_net_slot *s, float *out) {
    golden_det_u(s->name, s->numel, out);
    float scale = s->fan_in ? (float)sqrt(3.0 / (double)s->fan_in) : 0.0f;
    for (int64_t i = 0; i < s->numel; i++) {
        switch (s->role) {
            case NAS_NET_WEIGHT:
                out[i] = out[i] * scale;
                break;
            case NAS_NET_GAMMA:
                out[i] = 1.0f + 0.25f * out[i];
                break;
            default:
                out[i] = 0.25f * out[i];
        }
    }
}
