/*
 * A trained network as one object (include/ghnas/export.h): building it from a space, an arch
 * text and a net config, packing it into the kept-weights bytes the results store holds for a
 * finished training ("ghnas-model/1", a container of kind "MDL"), unpacking it with every size
 * checked, and its forward pass on raw images with running BatchNorm statistics.
 */
#include "ghnas/export.h"

#include "ghnas/container.h"
#include "ghnas/tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const nas_ckpt_kind MODEL_KIND = {
    {'M', 'D', 'L', '\0'}, "trained-model", 1, "train the model again"};

void nas_export_model_free(nas_export_model *em) {
    if (!em) {
        return;
    }
    nas_net_model_free(&em->m);
    nas_net_free(&em->net);
    memset(em, 0, sizeof *em);
}

nas_status nas_export_model_init(nas_export_model *em, const nas_space *sp, const char *arch,
                                 const nas_net_config *cfg, const nas_data_norm *norm,
                                 nas_rng *rng) {
    memset(em, 0, sizeof *em);
    if (!sp || !arch || !norm || !rng) {
        return nas_error(NAS_EINVAL, "export model: space, arch, normalisation and RNG needed");
    }
    nas_status st = NAS_OK;
    em->sp = *sp;
    em->norm = *norm;
    NAS_TRY(nas_arch_decode(&em->sp, arch, &em->arch));
    NAS_TRY(nas_net_compile(&em->net, &em->sp, &em->arch, cfg));
    if (norm->c != em->net.cfg.in_c) {
        st = nas_error(NAS_EINVAL,
                       "export model: a normalisation of %d channels for a %d-channel "
                       "input",
                       norm->c, em->net.cfg.in_c);
        goto cleanup;
    }
    NAS_TRY(nas_net_model_init(&em->m, &em->net, NAS_NET_INIT_KAIMING_OUT, rng));
cleanup:
    if (st != NAS_OK) {
        nas_export_model_free(em);
    }
    return st;
}

nas_status nas_export_model_pack(const nas_net_model *m, const nas_space *sp,
                                 const nas_data_norm *norm, void **bytes, size_t *n) {
    *bytes = NULL;
    *n = 0;
    if (!m || !m->net || !sp || !norm || norm->c < 1 || norm->c > NAS_DATA_MAX_CHANNELS) {
        return nas_error(NAS_EINVAL, "export: packing needs a model, its space and normalisation");
    }
    const nas_net *net = m->net;
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &MODEL_KIND);
    nas_ckpt_record_begin(&w, "net");
    nas_ckpt_put_str(&w, sp->name);
    nas_ckpt_put_str(&w, sp->path);
    nas_ckpt_put_str(&w, net->arch);
    const int cfg[6] = {net->cfg.C,    net->cfg.N,    net->cfg.in_c,
                        net->cfg.in_h, net->cfg.in_w, net->cfg.classes};
    for (int k = 0; k < 6; k++) {
        nas_ckpt_put_i32(&w, cfg[k]);
    }
    nas_ckpt_put_f32(&w, m->bn_eps);
    nas_ckpt_record_end(&w);
    nas_ckpt_record_begin(&w, "norm");
    nas_ckpt_put_i32(&w, norm->c);
    for (int c = 0; c < norm->c; c++) {
        nas_ckpt_put_f32(&w, norm->mean[c]);
    }
    for (int c = 0; c < norm->c; c++) {
        nas_ckpt_put_f32(&w, norm->std[c]);
    }
    nas_ckpt_record_end(&w);
    nas_ckpt_add(&w, "params", NAS_CKPT_F32, 1, (int64_t[]){m->params.numel}, m->params.data);
    nas_ckpt_add(&w, "running", NAS_CKPT_F32, 1, (int64_t[]){net->n_running}, m->running);
    nas_status st = nas_ckpt_writer_finish(&w, bytes, n);
    return st == NAS_OK ? st : nas_error_wrap(st, "export: packing the model");
}

nas_status nas_export_model_unpack(nas_export_model *em, const void *bytes, size_t n,
                                   const char *what) {
    memset(em, 0, sizeof *em);
    nas_ckpt_reader r;
    NAS_CHECK(nas_ckpt_open(&r, bytes, n, &MODEL_KIND, what));
    nas_status st = NAS_OK;
    const nas_ckpt_section *snet, *snorm, *sparams, *srun;
    NAS_TRY(nas_ckpt_find(&r, "net", NAS_CKPT_RECORD, &snet));
    NAS_TRY(nas_ckpt_find(&r, "norm", NAS_CKPT_RECORD, &snorm));
    NAS_TRY(nas_ckpt_find(&r, "params", NAS_CKPT_F32, &sparams));
    NAS_TRY(nas_ckpt_find(&r, "running", NAS_CKPT_F32, &srun));
    char space[64], path[512], arch[NAS_ARCH_STR_MAX];
    nas_ckpt_cursor c = nas_ckpt_cursor_of(snet);
    nas_ckpt_get_str(&c, space, sizeof space);
    nas_ckpt_get_str(&c, path, sizeof path);
    nas_ckpt_get_str(&c, arch, sizeof arch);
    nas_net_config cfg = nas_net_config_default();
    int *f[6] = {&cfg.C, &cfg.N, &cfg.in_c, &cfg.in_h, &cfg.in_w, &cfg.classes};
    for (int k = 0; k < 6; k++) {
        *f[k] = nas_ckpt_get_i32(&c);
    }
    float eps = nas_ckpt_get_f32(&c);
    nas_ckpt_cursor cn = nas_ckpt_cursor_of(snorm);
    int nc = nas_ckpt_get_i32(&cn);
    float mean[NAS_DATA_MAX_CHANNELS], sd[NAS_DATA_MAX_CHANNELS];
    if (c.short_read || !space[0] || !arch[0] || nc < 1 || nc > NAS_DATA_MAX_CHANNELS ||
        !(eps >= 0.0f && eps < 1.0f)) {
        st = nas_error(NAS_EFORMAT, "%s: the net record is damaged", r.what);
        goto cleanup;
    }
    nas_ckpt_get_f32s(&cn, mean, nc);
    nas_ckpt_get_f32s(&cn, sd, nc);
    if (cn.short_read) {
        st = nas_error(NAS_EFORMAT, "%s: the normalisation record is short", r.what);
        goto cleanup;
    }
    if (nas_data_norm_set(&em->norm, nc, mean, sd) != NAS_OK) {
        st = nas_error_wrap(NAS_EFORMAT, "%s: the normalisation", r.what);
        goto cleanup;
    }
    if (nas_space_load(&em->sp, space) != NAS_OK &&
        (!path[0] || nas_space_load(&em->sp, path) != NAS_OK)) {
        st = nas_error(NAS_ENOTFOUND, "%s: its space '%s' (file %s) cannot be loaded", r.what,
                       space, path[0] ? path : "-");
        goto cleanup;
    }
    NAS_TRY(nas_arch_decode(&em->sp, arch, &em->arch));
    NAS_TRY(nas_net_compile(&em->net, &em->sp, &em->arch, &cfg));
    if (em->net.cfg.in_c != nc) {
        st = nas_error(NAS_EFORMAT, "%s: %d normalisation channels for a %d-channel input", r.what,
                       nc, em->net.cfg.in_c);
        goto cleanup;
    }
    nas_rng rng;
    nas_rng_seed(&rng, 1);
    NAS_TRY(nas_net_model_init(&em->m, &em->net, NAS_NET_INIT_KAIMING_OUT, &rng));
    if (sparams->count != em->m.params.numel || srun->count != em->net.n_running) {
        st = nas_error(NAS_EFORMAT,
                       "%s: %lld weights and %lld BN statistics do not fit %s compiled as "
                       "%lld and %lld",
                       r.what, (long long)sparams->count, (long long)srun->count, arch,
                       (long long)em->m.params.numel, (long long)em->net.n_running);
        goto cleanup;
    }
    NAS_TRY(nas_ckpt_section_read(&r, sparams, em->m.params.data, em->m.params.numel));
    NAS_TRY(nas_ckpt_section_read(&r, srun, em->m.running, em->net.n_running));
    em->m.bn_eps = eps;
    for (int64_t i = 0; i < em->m.params.numel; i++) {
        if (!isfinite(em->m.params.data[i])) {
            st = nas_error(NAS_EFORMAT, "%s: weight %lld is not finite", r.what, (long long)i);
            goto cleanup;
        }
    }
cleanup:
    nas_ckpt_reader_free(&r);
    if (st != NAS_OK) {
        nas_export_model_free(em);
    }
    return st;
}

nas_status nas_export_forward(nas_export_model *em, const uint8_t *images, int64_t n, int batch,
                              float *out) {
    const nas_net_config *c = &em->net.cfg;
    if (n < 0 || batch < 1 || (n > 0 && (!images || !out))) {
        return nas_error(NAS_EINVAL, "export forward: bad images, count or batch");
    }
    const int64_t img = (int64_t)c->in_c * c->in_h * c->in_w;
    float lut[NAS_DATA_MAX_CHANNELS][256]; /* normalised value of each pixel value */
    for (int k = 0; k < c->in_c; k++) {
        for (int v = 0; v < 256; v++) {
            lut[k][v] = (float)((v / 255.0 - (double)em->norm.mean[k]) / (double)em->norm.std[k]);
        }
    }
    nas_status st = NAS_OK;
    nas_tape t;
    memset(&t, 0, sizeof t);
    float *x = nas_malloc((size_t)(batch * img) * sizeof *x); /* [batch, c, h, w] */
    if (!x) {
        return nas_error(NAS_ENOMEM, "export forward: a batch of %d images", batch);
    }
    NAS_TRY(nas_tape_init(&t));
    nas_tape_set_record(&t, false);
    for (int64_t b0 = 0; b0 < n; b0 += batch) {
        int64_t b = n - b0 < batch ? n - b0 : batch;
        const uint8_t *src = images + b0 * img;
        for (int64_t i = 0; i < b; i++) {
            for (int64_t p = 0; p < img; p++) {
                int ch = (int)(p / ((int64_t)c->in_h * c->in_w));
                x[i * img + p] = lut[ch][src[i * img + p]];
            }
        }
        nas_tape_reset(&t);
        nas_tensor *xt = nas_tensor_from(&t, 4, (int64_t[]){b, c->in_c, c->in_h, c->in_w}, x);
        nas_tensor *y = nas_net_model_forward(&em->m, &t, xt, NAS_BN_RUNNING_STATS);
        NAS_TRY(nas_tape_status(&t));
        memcpy(out + b0 * c->classes, y->data, (size_t)(b * c->classes) * sizeof *out);
    }
cleanup:
    nas_tape_free(&t);
    nas_free(x);
    return st;
}
