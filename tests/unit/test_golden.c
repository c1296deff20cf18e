/*
 * Golden test: a small network built from every op family, compared with its PyTorch twin
 * (tests/data/gen_golden_ops.py -> golden_ops.bin): logits, loss, and the gradients of every
 * weight and of the input; plus batchnorm in running-statistics mode. And the graph
 * hypernetwork end to end against its PyTorch twin (tests/data/gen_golden_ghn.py ->
 * golden_ghn.bin): initialisation, trained-row marks, node embeddings, predicted weights of NB201
 * nets, logits, loss and the gradient of the loss w.r.t. every GHN parameter.
 */
#include "test_suites.h"

#include "golden.h"
#include "ghnas/ghn.h"
#include "ghnas/tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GOLDEN_PATH GHNAS_TEST_DATA_DIR "/golden_ops.bin"

static const char *const weight_names[] = {"x",  "w1",   "b1",   "bn1_g", "bn1_b", "w2", "w3",
                                           "w4", "ln_g", "ln_b", "emb",   "wl",    "bl", "wm"};
#define N_WEIGHTS (int)(sizeof weight_names / sizeof weight_names[0])

static nas_tensor *leaf(nas_tape *t, const golden_file *g, const char *name) {
    const golden_rec *r = golden_get(g, name);
    ck_assert_msg(r != NULL, "golden record %s missing", name);
    nas_tensor *x = nas_tensor_from(t, r->ndim, r->shape, r->data);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(nas_tensor_require_grad(t, x), NAS_OK);
    return x;
}

static void to_i32(const golden_file *g, const char *name, int32_t *out, int n) {
    const golden_rec *r = golden_get(g, name);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->numel, n);
    for (int i = 0; i < n; i++) {
        out[i] = (int32_t)r->data[i];
    }
}

START_TEST(test_golden__small_network_matches_pytorch) {
    golden_file g;
    ck_assert_msg(golden_load(&g, GOLDEN_PATH) == NAS_OK, "%s", nas_errmsg());
    nas_tape t;
    nas_tape_init(&t);
    nas_tensor *w[N_WEIGHTS];
    for (int i = 0; i < N_WEIGHTS; i++) {
        w[i] = leaf(&t, &g, weight_names[i]);
    }
    nas_tensor *x = w[0], *w1 = w[1], *b1 = w[2], *bn_g = w[3], *bn_b = w[4], *w2 = w[5];
    nas_tensor *w3 = w[6], *w4 = w[7], *ln_g = w[8], *ln_b = w[9], *emb = w[10], *wl = w[11];
    nas_tensor *bl = w[12], *wm = w[13];
    int32_t labels[4], idx[4];
    to_i32(&g, "labels", labels, 4);
    to_i32(&g, "emb_idx", idx, 4);

    nas_tensor *h = nas_conv2d(&t, x, w1, b1, 1, 1, 1, 1);
    h = nas_batchnorm(&t, h, bn_g, bn_b, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f);
    h = nas_relu(&t, h);
    nas_tensor *a = nas_conv2d(&t, h, w2, NULL, 2, 1, 1, 8);
    nas_tensor *b = nas_conv2d(&t, h, w3, NULL, 1, 2, 2, 2);
    b = nas_maxpool2d(&t, b, 3, 2, 1);
    nas_tensor *c = nas_avgpool2d(&t, a, 3, 1, 1, false);
    nas_tensor *d = nas_avgpool2d(&t, b, 3, 1, 1, true);
    nas_tensor *e = nas_mul(&t, nas_sigmoid(&t, c), nas_tanh(&t, d));
    nas_tensor *terms[3] = {a, b, e};
    nas_tensor *f = nas_sum(&t, terms, 3);
    nas_tensor *cat[2] = {f, nas_scale(&t, c, 0.5f)};
    nas_tensor *gg = nas_concat(&t, cat, 2, 1);
    gg = nas_conv2d(&t, gg, w4, NULL, 1, 0, 1, 1);
    gg = nas_batchnorm(&t, gg, NULL, NULL, NULL, NULL, NAS_BN_BATCH_STATS, 0.1f, 1e-5f);
    gg = nas_relu(&t, gg);
    nas_tensor *s = nas_slice(&t, gg, 1, 4, 8);
    const int64_t reps[4] = {1, 2, 1, 1};
    s = nas_tile(&t, s, reps);
    gg = nas_add(&t, gg, s);
    nas_tensor *v = nas_global_avgpool(&t, gg);
    const int64_t shape2[2] = {4, 16};
    v = nas_reshape(&t, v, 2, shape2);
    v = nas_layernorm(&t, v, ln_g, ln_b, 1e-5f);
    v = nas_add(&t, v, nas_embedding(&t, emb, idx, 4));
    v = nas_add(&t, v, nas_scale(&t, nas_matmul(&t, v, wm, false, true), 0.25f));
    nas_tensor *logits = nas_linear(&t, v, wl, bl);
    nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, labels, 0.1f);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(nas_tape_backward(&t, loss), NAS_OK);

    int bad = 0;
    const golden_rec *r = golden_get(&g, "logits");
    bad += golden_compare("logits", logits->data, r->data, r->numel, 1e-5, 1e-4);
    r = golden_get(&g, "loss");
    bad += golden_compare("loss", loss->data, r->data, 1, 1e-6, 1e-5);
    for (int i = 0; i < N_WEIGHTS; i++) {
        char name[80];
        snprintf(name, sizeof name, "grad_%s", weight_names[i]);
        r = golden_get(&g, name);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->numel, w[i]->numel);
        bad += golden_compare(name, w[i]->grad, r->data, r->numel, 2e-5, 1e-3);
    }
    ck_assert_int_eq(bad, 0);
    nas_tape_free(&t);
    golden_free(&g);
}
END_TEST

START_TEST(test_golden__batchnorm_running_stats_matches_pytorch) {
    golden_file g;
    ck_assert_msg(golden_load(&g, GOLDEN_PATH) == NAS_OK, "%s", nas_errmsg());
    nas_tape t;
    nas_tape_init(&t);
    nas_tape_set_record(&t, false);
    nas_tensor *x = leaf(&t, &g, "x");
    nas_tensor *h = nas_conv2d(&t, x, leaf(&t, &g, "w1"), leaf(&t, &g, "b1"), 1, 1, 1, 1);
    const golden_rec *rm = golden_get(&g, "bn_eval_rm");
    const golden_rec *rv = golden_get(&g, "bn_eval_rv");
    float mean[8], var[8];
    memcpy(mean, rm->data, sizeof mean);
    memcpy(var, rv->data, sizeof var);
    nas_tensor *y = nas_batchnorm(&t, h, leaf(&t, &g, "bn1_g"), leaf(&t, &g, "bn1_b"), mean, var,
                                  NAS_BN_RUNNING_STATS, 0.1f, 1e-5f);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    const golden_rec *want = golden_get(&g, "bn_eval_out");
    ck_assert_int_eq(golden_compare("bn_eval_out", y->data, want->data, want->numel, 1e-5, 1e-4),
                     0);
    /* Running statistics are read, never updated, in this mode. */
    ck_assert_int_eq(golden_compare("running_mean", mean, rm->data, 8, 0, 0), 0);
    nas_tape_free(&t);
    golden_free(&g);
}
END_TEST

START_TEST(test_golden__loader_refuses_bad_files) {
    golden_file g;
    ck_assert_int_eq(golden_load(&g, GHNAS_TEST_DATA_DIR "/no-such-file.bin"), NAS_EIO);
    ck_assert_int_eq(golden_load(&g, GHNAS_TEST_DATA_DIR "/gen_golden_ops.py"), NAS_EFORMAT);
}
END_TEST

/* ---- the GHN end to end (golden_ghn.bin; record layout in tests/data/gen_golden_ghn.py) ---- */

#define GHN_GOLDEN_PATH   GHNAS_TEST_DATA_DIR "/golden_ghn.bin"
#define GHN_GOLDEN_CASES  3
#define GHN_PRED_MAX      32   /* sampled elements per predicted slot (PRED_MAX) */
#define GHN_GRAD_FULL_MAX 8192 /* larger gradients: sample + column sums (GRAD_FULL_MAX) */
#define GHN_GRAD_SAMPLE   1024 /* (GRAD_SAMPLE) */

/*
 * Tolerances, float32 on both sides (the generator asserts the premises quoted here).
 * Forward (node embeddings, predicted weights, logits, loss): the same sums in another order,
 *   measured <= 8e-7 absolute (Release), <= 3e-6 (Debug/sanitizer build, logits); 1e-5 + 1e-5
 *   relative leaves >= 4x, while a wrong index, term or formula moves them by >= 1e-4.
 * pin gradients (the GHN's backward alone, d <w, r> / d parameters): smooth; the generator
 *   measured ghnas vs twin <= 3e-6 of each tensor's scale and asserts <= 1e-4 against float64;
 *   GHN_PIN_TOL = 1e-3 of each tensor's largest value (+ 1e-3 relative) is >100x the noise and
 *   catches any error in the GNN, decoders, gather maps or normalisation of >= 0.2% of a tensor.
 * loss gradients (through the target net on the images): identical up to rounding, but a
 *   target-net ReLU input within rounding of 0 can take the other branch in another build (seen
 *   in the Debug/sanitizer build: up to 5e-3 of the case's largest gradient, 1e-2 of the largest
 *   decoder.2.weight column sum; the generator's branch-noise probe: <= 1e-2). GHN_E2E_TOL =
 *   3e-2 of that scale (+ 3e-2 relative) still fails on a wrong target-net backward, label, loss
 *   scaling (1/(B-1) instead of 1/B fails every case) or a lost term.
 */
#define GHN_FWD_ATOL 1e-5
#define GHN_FWD_RTOL 1e-5
#define GHN_PIN_TOL  1e-3
#define GHN_E2E_TOL  3e-2

static const char *const nb201_op_names[] = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                             "avg_pool_3x3"};

/* The record named a + b; fails the test naming it when absent or of another size (n >= 0). */
static const golden_rec *ghn_need(const golden_file *g, const char *a, const char *b, int64_t n) {
    char name[128];
    snprintf(name, sizeof name, "%s%s", a, b);
    const golden_rec *r = golden_get(g, name);
    ck_assert_msg(r != NULL, "golden_ghn.bin has no record %s (regenerate it?)", name);
    ck_assert_msg(n < 0 || r->numel == n, "golden record %s has %lld values, expected %lld", name,
                  (long long)r->numel, (long long)n);
    return r;
}

static int ghn_count_prefix(const golden_file *g, const char *prefix) {
    int n = 0;
    for (int i = 0; i < g->count; i++) {
        n += strncmp(g->recs[i].name, prefix, strlen(prefix)) == 0;
    }
    return n;
}

static double ghn_max_abs(const float *v, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        m = fmax(m, fabs((double)v[i]));
    }
    return m;
}

/* Elements i * n / min(n, cap) of v[n] into out (gen_golden_ghn.py's sample()); returns count. */
static int64_t ghn_sample(const float *v, int64_t n, int64_t cap, float *out) {
    const int64_t m = n < cap ? n : cap;
    for (int64_t i = 0; i < m; i++) {
        out[i] = v[i * n / m];
    }
    return m;
}

/* gen_golden_ghn.py's pin_direction(): element j of r over all slots flattened in slot order. */
static float ghn_pin_direction(uint32_t j) {
    uint32_t x = j * 0x9E3779B9u + 0x7F4A7C15u;
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return (float)((int32_t)(x >> 8) - 8388608) / 8388608.0f;
}

/*
 * Compare the GHN's gradients with the golden's <pre><kind>/<name> records (the full tensor, or
 * #sample and #colsum above GHN_GRAD_FULL_MAX). tol is relative to each tensor's largest golden
 * value, or, with case_scale, to the largest over all of the case's <kind> tensors. Returns the
 * number of mismatches.
 */
static int ghn_compare_grads(const golden_file *gf, const nas_ghn *g, const char *pre,
                             const char *kind, double tol, bool case_scale) {
    char name[128];
    float buf[GHN_GRAD_SAMPLE];
    double scale = 0.0; /* case_scale: the largest golden value of all <kind> records but colsum */
    for (size_t i = 0; case_scale && i < g->params.count; i++) {
        const nas_tensor *p = g->params.tensors[i];
        snprintf(name, sizeof name, "%s/%s%s", kind, p->name,
                 p->numel <= GHN_GRAD_FULL_MAX ? "" : "#sample");
        const golden_rec *r = ghn_need(gf, pre, name, -1);
        scale = fmax(scale, ghn_max_abs(r->data, r->numel));
    }
    int bad = 0;
    for (size_t i = 0; i < g->params.count; i++) {
        const nas_tensor *p = g->params.tensors[i];
        const float *gr = g->params.grad + (p->data - g->params.data); /* [p->numel] */
        const bool full = p->numel <= GHN_GRAD_FULL_MAX;
        snprintf(name, sizeof name, "%s/%s%s", kind, p->name, full ? "" : "#sample");
        const int64_t n = full ? p->numel : ghn_sample(gr, p->numel, GHN_GRAD_SAMPLE, buf);
        const golden_rec *r = ghn_need(gf, pre, name, n);
        const double s = case_scale ? scale : ghn_max_abs(r->data, n);
        bad += golden_compare(name, full ? gr : buf, r->data, n, tol * s, tol);
        if (full) {
            continue;
        }
        const int64_t cols = p->numel / p->shape[0];
        float *colsum = nas_calloc((size_t)cols, sizeof *colsum); /* [cols] */
        ck_assert_ptr_nonnull(colsum);
        for (int64_t c = 0; c < cols; c++) {
            double acc = 0.0;
            for (int64_t row = 0; row < p->shape[0]; row++) {
                acc += (double)gr[row * cols + c];
            }
            colsum[c] = (float)acc;
        }
        snprintf(name, sizeof name, "%s/%s#colsum", kind, p->name);
        r = ghn_need(gf, pre, name, cols);
        bad += golden_compare(name, colsum, r->data, cols, tol * ghn_max_abs(r->data, cols), tol);
        nas_free(colsum);
    }
    return bad;
}

START_TEST(test_golden__ghn_twin) {
    const int k = _i;
    golden_file gf;
    ck_assert_msg(golden_load(&gf, GHN_GOLDEN_PATH) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq((int)ghn_need(&gf, "cases", "", 1)->data[0], GHN_GOLDEN_CASES);
    char pre[16], name[128];
    snprintf(pre, sizeof pre, "c%d.", k);
    const float *cs = ghn_need(&gf, pre, "case", 4)->data; /* decoder, C, N, mark */
    const bool mark = cs[3] != 0.0f;

    /* the GHN: the default config with the golden's sizes; every other field as recorded */
    const float *rc = ghn_need(&gf, "ghn.config", "", 13)->data;
    nas_ghn_config gc = nas_ghn_config_default();
    gc.hid = (int)rc[0];
    gc.dec_hid = (int)rc[6];
    gc.decoder = cs[0] != 0.0f ? NAS_GHN_DECODER_TILE : NAS_GHN_DECODER_CHUNK;
    static const char *const fields[12] = {"hid",      "rounds",    "s_max",     "chunk_out",
                                           "chunk_in", "chunk_k",   "dec_hid",   "n_pos",
                                           "classes",  "res_embed", "layernorm", "weight_norm"};
    const int have[12] = {gc.hid,      gc.rounds,    gc.s_max,     gc.chunk_out,
                          gc.chunk_in, gc.chunk_k,   gc.dec_hid,   gc.n_pos,
                          gc.classes,  gc.res_embed, gc.layernorm, gc.weight_norm};
    for (int i = 0; i < 12; i++) {
        ck_assert_msg(have[i] == (int)rc[i],
                      "golden_ghn.bin was made with %s=%d but the config here has %d: "
                      "regenerate it with tests/data/gen_golden_ghn.py",
                      fields[i], (int)rc[i], have[i]);
    }
    nas_ghn g;
    ck_assert_msg(nas_ghn_init(&g, &gc, (uint64_t)rc[12]) == NAS_OK, "%s", nas_errmsg());

    /* parameters: same names and shapes; nas_ghn_init reproduces the values (a pin of the
     * initialisation: same draws, same order; a few ulps for libm); then the golden values */
    int bad = 0;
    ck_assert_int_eq(ghn_count_prefix(&gf, "ghn.param/"), (int)g.params.count);
    for (size_t i = 0; i < g.params.count; i++) {
        nas_tensor *p = g.params.tensors[i];
        const golden_rec *r = ghn_need(&gf, "ghn.param/", p->name, p->numel);
        ck_assert_msg(r->ndim == p->ndim, "%s: golden ndim %d, GHN %d", p->name, r->ndim, p->ndim);
        for (int d = 0; d < p->ndim; d++) {
            ck_assert_msg(r->shape[d] == p->shape[d], "%s: golden dim %d is %lld, GHN %lld",
                          p->name, d, (long long)r->shape[d], (long long)p->shape[d]);
        }
        snprintf(name, sizeof name, "init %s", p->name);
        bad += golden_compare(name, p->data, r->data, r->numel, 1e-7, 1e-6);
        memcpy(p->data, r->data, (size_t)r->numel * sizeof *p->data);
    }
    ck_assert_msg(bad == 0, "nas_ghn_init(seed %d) no longer gives the golden values", (int)rc[12]);

    /* the target net */
    const golden_rec *xr = ghn_need(&gf, "x", "", -1);
    const int64_t B = xr->shape[0];
    const float *ops = ghn_need(&gf, pre, "arch", 6)->data;
    char text[256];
    snprintf(text, sizeof text, "|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|", nb201_op_names[(int)ops[0]],
             nb201_op_names[(int)ops[1]], nb201_op_names[(int)ops[2]], nb201_op_names[(int)ops[3]],
             nb201_op_names[(int)ops[4]], nb201_op_names[(int)ops[5]]);
    nas_space sp;
    nas_arch a;
    nas_net net;
    ck_assert_msg(nas_space_load(&sp, "nb201") == NAS_OK, "%s", nas_errmsg());
    ck_assert_msg(nas_arch_decode(&sp, text, &a) == NAS_OK, "%s: %s", text, nas_errmsg());
    nas_net_config nc = nas_net_config_default();
    nc.C = (int)cs[1];
    nc.N = (int)cs[2];
    nc.in_c = (int)xr->shape[1];
    nc.in_h = (int)xr->shape[2];
    nc.in_w = (int)xr->shape[3];
    nc.classes = gc.classes;
    ck_assert_msg(nas_net_compile(&net, &sp, &a, &nc) == NAS_OK, "%s", nas_errmsg());
    const float *shp = ghn_need(&gf, pre, "slots", 4 * (int64_t)net.n_slots)->data;
    for (int s = 0; s < net.n_slots; s++) {
        for (int d = 0; d < 4; d++) {
            const int64_t want = (int64_t)shp[4 * s + d];
            const int64_t got = d < net.slots[s].ndim ? net.slots[s].shape[d] : 0;
            ck_assert_msg(got == want, "slot %s: dim %d is %lld, the twin's %lld",
                          net.slots[s].name, d, (long long)got, (long long)want);
        }
    }
    snprintf(name, sizeof name, "%spred/", pre);
    ck_assert_int_eq(ghn_count_prefix(&gf, name), net.n_slots);

    /* trained-row marks as ghn_dump --mark sets them, against the twin's */
    nas_ghn_graph gg;
    ck_assert_msg(nas_ghn_graph_build(&gg, &g.cfg, &net) == NAS_OK, "%s", nas_errmsg());
    if (mark) {
        nas_ghn_mark_seen(&g, &gg);
    }
    const golden_rec *seen = ghn_need(&gf, pre, "seen", g.n_seen);
    int seen_bad = 0, n_marked = 0;
    for (int64_t i = 0; i < g.n_seen; i++) {
        seen_bad += (float)g.seen[i] != seen->data[i];
        n_marked += g.seen[i] != 0;
    }
    ck_assert_msg(seen_bad == 0, "%d trained-row flags differ from the twin's", seen_bad);
    ck_assert(mark ? n_marked > 0 : n_marked == 0);

    /* predict, run the net on x, mean cross-entropy, backward (as ghn_dump) */
    const golden_rec *yr = ghn_need(&gf, "y", "", B);
    int32_t *y = nas_calloc((size_t)B, sizeof *y); /* [B] */
    nas_tensor **w = nas_calloc((size_t)net.n_slots, sizeof *w);
    ck_assert(y != NULL && w != NULL);
    for (int64_t i = 0; i < B; i++) {
        y[i] = (int32_t)yr->data[i];
    }
    nas_tape t, te;
    ck_assert_int_eq(nas_tape_init(&t), NAS_OK);
    ck_assert_int_eq(nas_tape_init(&te), NAS_OK);
    nas_params_zero_grad(&g.params);
    ck_assert_msg(nas_ghn_predict(&g, NULL, &t, &gg, w) == NAS_OK, "%s", nas_errmsg());
    nas_tensor *x = nas_tensor_from(&t, 4, xr->shape, xr->data);
    nas_tensor *logits = nas_net_forward(&t, &net, w, NULL, x);
    nas_tensor *loss = nas_softmax_cross_entropy(&t, logits, y, 0.0f);
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    ck_assert_msg(nas_tape_backward(&t, loss) == NAS_OK, "%s", nas_errmsg());
    nas_tape_set_record(&te, false);
    nas_tensor *emb = nas_ghn_embed(&g, NULL, &te, &gg); /* [n_nodes, hid] */
    ck_assert_msg(emb != NULL, "%s", nas_errmsg());

    /* forward: embeddings, predicted weights (sampled), logits, loss */
    const golden_rec *r = ghn_need(&gf, pre, "embed", emb->numel);
    bad += golden_compare("embed", emb->data, r->data, r->numel, GHN_FWD_ATOL, GHN_FWD_RTOL);
    float buf[GHN_PRED_MAX];
    for (int s = 0; s < net.n_slots; s++) {
        const int64_t n = ghn_sample(w[s]->data, w[s]->numel, GHN_PRED_MAX, buf);
        snprintf(name, sizeof name, "pred/%s", net.slots[s].name);
        r = ghn_need(&gf, pre, name, n);
        bad += golden_compare(name, buf, r->data, n, GHN_FWD_ATOL, GHN_FWD_RTOL);
    }
    r = ghn_need(&gf, pre, "logits", logits->numel);
    bad += golden_compare("logits", logits->data, r->data, r->numel, GHN_FWD_ATOL, GHN_FWD_RTOL);
    r = ghn_need(&gf, pre, "loss", 1);
    bad += golden_compare("loss", loss->data, r->data, 1, GHN_FWD_ATOL, GHN_FWD_RTOL);

    /* d loss / d every GHN parameter */
    bad += ghn_compare_grads(&gf, &g, pre, "grad", GHN_E2E_TOL, true);

    /* d <w, r> / d every GHN parameter: all slots flattened into one [1, total] row */
    nas_tape_reset(&t);
    nas_params_zero_grad(&g.params);
    ck_assert_msg(nas_ghn_predict(&g, NULL, &t, &gg, w) == NAS_OK, "%s", nas_errmsg());
    int64_t total = 0;
    for (int s = 0; s < net.n_slots; s++) {
        const int64_t row[2] = {1, w[s]->numel};
        w[s] = nas_reshape(&t, w[s], 2, row);
        total += row[1];
    }
    nas_tensor *all = nas_concat(&t, w, net.n_slots, 1); /* [1, total] */
    float *dir = nas_calloc((size_t)total, sizeof *dir); /* [total] */
    ck_assert_ptr_nonnull(dir);
    for (int64_t j = 0; j < total; j++) {
        dir[j] = ghn_pin_direction((uint32_t)j);
    }
    ck_assert_msg(nas_tape_status(&t) == NAS_OK, "%s", nas_errmsg());
    ck_assert_msg(nas_tape_backward_from(&t, all, dir) == NAS_OK, "%s", nas_errmsg());
    bad += ghn_compare_grads(&gf, &g, pre, "pin", GHN_PIN_TOL, false);
    ck_assert_msg(
        bad == 0, "case %d (%s, %s decoder, C=%d N=%d%s): %d values differ from the PyTorch twin",
        k, text, nas_ghn_decoder_name(gc.decoder), nc.C, nc.N, mark ? ", marked" : "", bad);

    nas_free(dir);
    nas_free(y);
    nas_free(w);
    nas_tape_free(&te);
    nas_tape_free(&t);
    nas_ghn_graph_free(&gg);
    nas_net_free(&net);
    nas_ghn_free(&g);
    golden_free(&gf);
}
END_TEST

Suite *nas_test_golden_suite(void) {
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("pytorch twin");
    tcase_add_test(tc, test_golden__small_network_matches_pytorch);
    tcase_add_test(tc, test_golden__batchnorm_running_stats_matches_pytorch);
    tcase_add_test(tc, test_golden__loader_refuses_bad_files);
    suite_add_tcase(s, tc);
    TCase *tg = tcase_create("ghn twin");
    tcase_add_loop_test(tg, test_golden__ghn_twin, 0, GHN_GOLDEN_CASES);
    suite_add_tcase(s, tg);
    return s;
}
