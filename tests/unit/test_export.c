/*
 * Tests for src/export and the export/predict jobs (issue 14): the protobuf encoder's bytes
 * against hand-encoded ones, the .npz zip and .npy structure, the ONNX model's header fields,
 * packing and unpacking kept weights (round trip, damaged, truncated, foreign and misfitting
 * blobs), the image readers (PGM P5/P2, PNG grey/RGB, IDX; wrong size and format), and every
 * refusal of the export job: unknown, unfinished, weightless and damaged trainings, a GHN of
 * another space, an unwritable output path (an existing output stays untouched).
 */
#include "test_suites.h"
#include "testdir.h"

#include "export/export-impl.h"
#include "ghnas/container.h"
#include "ghnas/ghn.h"
#include "ghnas/job.h"
#include "ghnas/store.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ARCH201 "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"

static void tmp_setup(void) {
    test_tmpdir_create("export");
}

static void tmp_teardown(void) {
    test_tmpdir_remove();
}

static void spit(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static unsigned char *slurp(const char *path, size_t *n) {
    void *b = NULL;
    ck_assert_int_eq(nas_file_read_all(path, &b, n), NAS_OK);
    return b;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether needle occurs in hay[0..n). */
static bool contains(const void *hay, size_t n, const char *needle) {
    const size_t k = strlen(needle);
    const unsigned char *h = hay;
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(h + i, needle, k) == 0) {
            return true;
        }
    }
    return false;
}

static uint16_t le16(const unsigned char *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

/* A small nb201 model with random weights and the identity normalisation. */
static void small_model(nas_export_model *em, const char *arch) {
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_net_config cfg = nas_net_config_default();
    cfg.C = 4;
    cfg.N = 1;
    nas_data_norm norm;
    const float mean[1] = {0.25f}, sd[1] = {0.5f};
    ck_assert_int_eq(nas_data_norm_set(&norm, 1, mean, sd), NAS_OK);
    nas_rng rng;
    nas_rng_seed(&rng, 3);
    nas_status st = nas_export_model_init(em, &sp, arch, &cfg, &norm, &rng);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    for (int64_t i = 0; i < em->net.n_running; i++) { /* statistics that are not (0, 1) */
        em->m.running[i] += 0.125f * (float)(i % 5);
    }
}

/* ---- protobuf encoder ------------------------------------------------------------------------ */

START_TEST(test_export__pb_bytes) {
    nas_i_buf b = {0};
    nas_i_pb_varint(&b, 0);
    nas_i_pb_varint(&b, 1);
    nas_i_pb_varint(&b, 127);
    nas_i_pb_varint(&b, 128);
    nas_i_pb_varint(&b, 300);
    const unsigned char want1[] = {0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02};
    ck_assert_uint_eq(b.n, sizeof want1);
    ck_assert_mem_eq(b.p, want1, sizeof want1);
    nas_i_buf_free(&b);
    /* field 1 varint 150 (the protobuf guide's example): 08 96 01 */
    nas_i_pb_uint(&b, 1, 150);
    /* field 2 string "testing": 12 07 74 65 73 74 69 6e 67 */
    nas_i_pb_str(&b, 2, "testing");
    /* int64 -1: ten bytes */
    nas_i_pb_int(&b, 3, -1);
    /* float 1.0 in field 2: 15 00 00 80 3f */
    nas_i_pb_float(&b, 2, 1.0f);
    const unsigned char want2[] = {0x08, 0x96, 0x01, 0x12, 0x07, 't',  'e',  's',  't',  'i',
                                   'n',  'g',  0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0x01, 0x15, 0x00, 0x00, 0x80, 0x3f};
    ck_assert_uint_eq(b.n, sizeof want2);
    ck_assert_mem_eq(b.p, want2, sizeof want2);
    /* an embedded message and packed repeated fields */
    nas_i_buf m = {0}, outer = {0};
    nas_i_pb_uint(&m, 1, 150);
    nas_i_pb_msg(&outer, 3, &m);
    const int64_t iv[3] = {3, 270, 86942};
    nas_i_pb_packed_i64(&outer, 4, iv, 3);
    const float fv[2] = {1.0f, -2.0f};
    nas_i_pb_packed_f32(&outer, 5, fv, 2);
    const unsigned char want3[] = {0x1a, 0x03, 0x08, 0x96, 0x01, 0x22, 0x06, 0x03,
                                   0x8e, 0x02, 0x9e, 0xa7, 0x05, 0x2a, 0x08, 0x00,
                                   0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0};
    ck_assert_uint_eq(outer.n, sizeof want3);
    ck_assert_mem_eq(outer.p, want3, sizeof want3);
    ck_assert(!b.oom && !m.oom && !outer.oom);
    nas_i_buf_free(&b);
    nas_i_buf_free(&m);
    nas_i_buf_free(&outer);
}
END_TEST

/* ---- .npz ------------------------------------------------------------------------------------ */

START_TEST(test_export__npz_structure) {
    nas_export_model em;
    small_model(&em, ARCH201);
    void *bytes = NULL;
    size_t n = 0;
    ck_assert_int_eq(nas_export_npz(&em, &bytes, &n), NAS_OK);
    const unsigned char *z = bytes;
    int n_bn = 0;
    for (int v = 0; v < em.net.n_nodes; v++) {
        n_bn += em.net.nodes[v].op == NAS_NET_BN;
    }
    const int entries = em.net.n_slots + 2 * n_bn + 2;
    /* end of central directory */
    const unsigned char *eocd = z + n - 22;
    ck_assert_uint_eq(le32(eocd), 0x06054b50);
    ck_assert_uint_eq(le16(eocd + 10), entries);
    const unsigned char *cd = z + le32(eocd + 16);
    for (int e = 0; e < entries; e++) {
        ck_assert_uint_eq(le32(cd), 0x02014b50);
        const uint32_t crc = le32(cd + 16), size = le32(cd + 20), off = le32(cd + 42);
        const uint16_t name_len = le16(cd + 28);
        const unsigned char *lh = z + off;
        ck_assert_uint_eq(le32(lh), 0x04034b50);
        ck_assert_uint_eq(le16(lh + 8), 0); /* stored */
        ck_assert_uint_eq(le16(lh + 26), name_len);
        ck_assert_mem_eq(lh + 30, cd + 46, name_len);
        const unsigned char *data = lh + 30 + name_len;
        ck_assert_uint_eq(crc32(0L, data, size), crc);
        ck_assert_mem_eq(data, "\x93NUMPY\x01\x00", 8);
        const uint16_t hl = le16(data + 8);
        ck_assert_uint_eq((10u + hl) % 64u, 0);
        ck_assert_int_eq(data[10 + hl - 1], '\n');
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)name_len, (const char *)(cd + 46));
        if (e < em.net.n_slots) { /* slots first, in order, with their shapes and values */
            const nas_net_slot *sl = &em.net.slots[e];
            char want[128], shape[64];
            snprintf(want, sizeof want, "%s.npy", sl->name);
            ck_assert_str_eq(name, want);
            if (sl->ndim == 4) {
                snprintf(shape, sizeof shape, "'shape': (%lld, %lld, %lld, %lld)",
                         (long long)sl->shape[0], (long long)sl->shape[1], (long long)sl->shape[2],
                         (long long)sl->shape[3]);
            } else if (sl->ndim == 2) {
                snprintf(shape, sizeof shape, "'shape': (%lld, %lld)", (long long)sl->shape[0],
                         (long long)sl->shape[1]);
            } else {
                snprintf(shape, sizeof shape, "'shape': (%lld,)", (long long)sl->shape[0]);
            }
            ck_assert_ptr_nonnull(strstr((const char *)data + 10, shape));
            ck_assert_ptr_nonnull(strstr((const char *)data + 10, "'descr': '<f4'"));
            ck_assert_uint_eq(size, 10u + hl + (uint32_t)sl->numel * 4u);
            ck_assert_mem_eq(data + 10 + hl, em.m.params.tensors[e]->data, (size_t)sl->numel * 4);
        }
        if (e == entries - 1) {
            ck_assert_str_eq(name, "input.std.npy");
            float sd;
            memcpy(&sd, data + 10 + hl, 4);
            ck_assert(sd == 0.5f);
        }
        cd += 46 + name_len;
    }
    nas_free(bytes);
    nas_export_model_free(&em);
}
END_TEST

START_TEST(test_export__onnx_header) {
    nas_export_model em;
    small_model(&em, ARCH201);
    void *bytes = NULL;
    size_t n = 0;
    nas_export_meta meta[1] = {{"ghnas.test_acc", "0.5"}};
    ck_assert_int_eq(nas_export_onnx(&em, meta, 1, &bytes, &n), NAS_OK);
    const unsigned char *b = bytes;
    ck_assert_uint_eq(b[0], 0x08); /* ir_version = 7 */
    ck_assert_uint_eq(b[1], 7);
    ck_assert(contains(b, n, "ConstantOfShape")); /* the zero node */
    ck_assert(contains(b, n, ARCH201));
    ck_assert(contains(b, n, "ghnas.test_acc"));
    nas_free(bytes);
    nas_export_meta bad[1] = {{"k", NULL}};
    ck_assert_int_eq(nas_export_onnx(&em, bad, 1, &bytes, &n), NAS_EINVAL);
    nas_export_model_free(&em);
}
END_TEST

/* ---- kept weights ---------------------------------------------------------------------------- */

START_TEST(test_export__pack_unpack) {
    nas_export_model em, back;
    small_model(&em, ARCH201);
    void *bytes = NULL;
    size_t n = 0;
    ck_assert_int_eq(nas_export_model_pack(&em.m, &em.sp, &em.norm, &bytes, &n), NAS_OK);
    nas_status st = nas_export_model_unpack(&back, bytes, n, "blob");
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_eq(back.net.arch, em.net.arch);
    ck_assert_int_eq(back.net.cfg.C, 4);
    ck_assert_int_eq(back.m.params.numel, em.m.params.numel);
    ck_assert_mem_eq(back.m.params.data, em.m.params.data, (size_t)em.m.params.numel * 4);
    ck_assert_mem_eq(back.m.running, em.m.running, (size_t)em.net.n_running * 4);
    ck_assert(back.norm.mean[0] == 0.25f);
    ck_assert(back.norm.std[0] == 0.5f);
    /* the same logits on the same images */
    uint8_t img[3 * 28 * 28];
    for (size_t i = 0; i < sizeof img; i++) {
        img[i] = (uint8_t)(i * 37 % 251);
    }
    float a[30], b2[30];
    ck_assert_int_eq(nas_export_forward(&em, img, 3, 2, a), NAS_OK);
    ck_assert_int_eq(nas_export_forward(&back, img, 3, 2, b2), NAS_OK);
    ck_assert_mem_eq(a, b2, sizeof a);
    nas_export_model_free(&back);

    /* one flipped byte: the CRC refuses it */
    unsigned char *c = nas_malloc(n);
    memcpy(c, bytes, n);
    c[n / 2] ^= 0x10;
    ck_assert_int_eq(nas_export_model_unpack(&back, c, n, "flipped blob"), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "flipped blob"));
    /* truncated */
    ck_assert_int_eq(nas_export_model_unpack(&back, bytes, n - 7, "short blob"), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "short blob"));
    ck_assert_int_eq(nas_export_model_unpack(&back, bytes, 3, "tiny blob"), NAS_EFORMAT);
    nas_free(c);
    nas_free(bytes);

    /* a well-formed container that does not fit its net: too few weights */
    static const nas_ckpt_kind kind = {{'M', 'D', 'L', '\0'}, "trained-model", 1, "again"};
    nas_ckpt_writer w;
    nas_ckpt_writer_init(&w, &kind);
    nas_ckpt_record_begin(&w, "net");
    nas_ckpt_put_str(&w, "nb201");
    nas_ckpt_put_str(&w, "");
    nas_ckpt_put_str(&w, ARCH201);
    const int cfg[6] = {4, 1, 1, 28, 28, 10};
    for (int k = 0; k < 6; k++) {
        nas_ckpt_put_i32(&w, cfg[k]);
    }
    nas_ckpt_put_f32(&w, 1e-5f);
    nas_ckpt_record_end(&w);
    nas_ckpt_record_begin(&w, "norm");
    nas_ckpt_put_i32(&w, 1);
    nas_ckpt_put_f32(&w, 0.0f);
    nas_ckpt_put_f32(&w, 1.0f);
    nas_ckpt_record_end(&w);
    float few[5] = {0};
    nas_ckpt_add(&w, "params", NAS_CKPT_F32, 1, (int64_t[]){5}, few);
    nas_ckpt_add(&w, "running", NAS_CKPT_F32, 1, (int64_t[]){em.net.n_running}, em.m.running);
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_OK);
    ck_assert_int_eq(nas_export_model_unpack(&back, bytes, n, "misfit"), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "do not fit"));
    nas_free(bytes);
    /* another kind of ghnas container */
    static const nas_ckpt_kind net_kind = {{'N', 'E', 'T', '\0'}, "trained-net", 1, "again"};
    nas_ckpt_writer_init(&w, &net_kind);
    nas_ckpt_add(&w, "params", NAS_CKPT_F32, 1, (int64_t[]){5}, few);
    ck_assert_int_eq(nas_ckpt_writer_finish(&w, &bytes, &n), NAS_OK);
    ck_assert_int_eq(nas_export_model_unpack(&back, bytes, n, "resume checkpoint"), NAS_EFORMAT);
    nas_free(bytes);
    nas_export_model_free(&em);
}
END_TEST

/* ---- images ---------------------------------------------------------------------------------- */

static void write_png(const char *path, int w, int h, int color_type, const uint8_t *px) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert(png && info);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const int ch = color_type == PNG_COLOR_TYPE_RGB ? 3 : 1;
    for (int y = 0; y < h; y++) {
        png_write_row(png, px + (size_t)y * (size_t)w * (size_t)ch);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

START_TEST(test_export__images) {
    char p[512];
    uint8_t img[28 * 28 * 3];
    for (size_t i = 0; i < sizeof img; i++) {
        img[i] = (uint8_t)(i * 13 % 256);
    }
    uint8_t *out = NULL;
    int64_t n = 0;
    /* PGM P5 */
    char head[64];
    int hl = snprintf(head, sizeof head, "P5\n# a comment\n28 28\n255\n");
    unsigned char pgm[64 + 28 * 28];
    memcpy(pgm, head, (size_t)hl);
    memcpy(pgm + hl, img, 28 * 28);
    spit(test_tpath(p, "a.pgm"), pgm, (size_t)hl + 28 * 28);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_mem_eq(out, img, 28 * 28);
    nas_free(out);
    /* truncated P5 */
    spit(p, pgm, (size_t)hl + 100);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "truncated"));
    /* P2 with maxval 15 scales to 0..255 */
    char asc[8192];
    size_t len = (size_t)snprintf(asc, sizeof asc, "P2 28 28 15\n");
    for (int i = 0; i < 28 * 28; i++) {
        len += (size_t)snprintf(asc + len, sizeof asc - len, "%d ", i % 16);
    }
    spit(test_tpath(p, "b.pgm"), asc, len);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_OK);
    ck_assert_int_eq(out[0], 0);
    ck_assert_int_eq(out[15], 255);
    ck_assert_int_eq(out[5], 85);
    nas_free(out);
    /* a PGM of the wrong size */
    len = (size_t)snprintf(asc, sizeof asc, "P2 32 32 255\n");
    for (int i = 0; i < 32 * 32; i++) {
        len += (size_t)snprintf(asc + len, sizeof asc - len, "1 ");
    }
    spit(test_tpath(p, "c.pgm"), asc, len);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "32x32"));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "28x28"));
    /* PNG grey, and RGB for a greyscale model */
    write_png(test_tpath(p, "g.png"), 28, 28, PNG_COLOR_TYPE_GRAY, img);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_OK);
    ck_assert_mem_eq(out, img, 28 * 28);
    nas_free(out);
    write_png(test_tpath(p, "rgb.png"), 28, 28, PNG_COLOR_TYPE_RGB, img);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "3 channels"));
    ck_assert_int_eq(nas_data_read_images(p, 3, 28, 28, &out, &n), NAS_OK);
    ck_assert_int_eq(out[0], img[0]);           /* R of pixel 0 */
    ck_assert_int_eq(out[28 * 28], img[1]);     /* G plane starts with G of pixel 0 */
    ck_assert_int_eq(out[2 * 28 * 28], img[2]); /* B */
    nas_free(out);
    /* a truncated PNG */
    size_t pn = 0;
    unsigned char *pb = slurp(test_tpath(p, "g.png"), &pn);
    spit(test_tpath(p, "cut.png"), pb, pn / 2);
    nas_free(pb);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "cut.png"));
    /* IDX with three images; a labels file is not images */
    unsigned char idx[16 + 3 * 784] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28};
    memcpy(idx + 16, img, 3 * 784);
    spit(test_tpath(p, "i.idx"), idx, sizeof idx);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_mem_eq(out, img, 3 * 784);
    nas_free(out);
    spit(p, idx, sizeof idx - 1);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    unsigned char lab[9] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
    spit(test_tpath(p, "l.idx"), lab, sizeof lab);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "--labels"));
    /* a damaged JPEG (JPEG is read since issue 16); not an image; empty; missing */
    spit(test_tpath(p, "x.jpg"), "\xff\xd8\xff\xe0garbage", 12);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "x.jpg: corrupt JPEG image"));
    spit(test_tpath(p, "x.txt"), "garbage", 7);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "not an image"));
    spit(test_tpath(p, "e.png"), "", 0);
    ck_assert_int_eq(nas_data_read_images(p, 1, 28, 28, &out, &n), NAS_EFORMAT);
    ck_assert_int_eq(nas_data_read_images(test_tpath(p, "none.png"), 1, 28, 28, &out, &n),
                     NAS_ENOTFOUND);
    ck_assert_ptr_null(out);
}
END_TEST

/* ---- the export job's refusals --------------------------------------------------------------- */

/* A store with trainings of ARCH201 (C 4, N 1): 1 running, 2 finished without weights, 3 with
 * weights, 4 with damaged weights. */
static void make_store(const char *path, nas_export_model *em) {
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, path, NAS_STORE_CREATE), NAS_OK);
    nas_run_spec rs = {.kind = "search", .space = "nb201", .dataset = "fashion-mnist"};
    int64_t run = 0;
    ck_assert_int_eq(nas_store_run_create(db, &rs, &run), NAS_OK);
    nas_arch_record ar = {.space = "nb201", .canon_key = "k", .arch = ARCH201};
    ck_assert_int_eq(nas_store_add(db, run, 0, &ar, NULL, 0, NULL), NAS_OK);
    ck_assert_int_eq(nas_store_flush(db), NAS_OK);
    int64_t arch = 0;
    ck_assert_int_eq(nas_store_arch_find(db, "nb201", "k", &arch), NAS_OK);
    void *bytes = NULL;
    size_t n = 0;
    ck_assert_int_eq(nas_export_model_pack(&em->m, &em->sp, &em->norm, &bytes, &n), NAS_OK);
    for (int i = 1; i <= 4; i++) {
        char recipe[32];
        snprintf(recipe, sizeof recipe, "{\"seed\": %d}", i);
        nas_training_spec ts = {run, arch, recipe, "scratch", 2};
        nas_training_info ti;
        ck_assert_int_eq(nas_store_training_begin(db, &ts, &ti), NAS_OK);
        ck_assert_int_eq(ti.id, i);
        if (i == 2) {
            ck_assert_int_eq(nas_store_training_finish(db, i, NAS_RUN_FINISHED, 0.5, 0.5, 0.5),
                             NAS_OK);
        } else if (i >= 3) {
            if (i == 4) {
                ((unsigned char *)bytes)[n - 40] ^= 1;
            }
            nas_kept_weights kw = {NAS_EXPORT_FORMAT, em->m.params.numel, bytes, n};
            ck_assert_int_eq(
                nas_store_training_finish_kept(db, i, NAS_RUN_FINISHED, 0.5, 0.6, 0.7, &kw),
                NAS_OK);
        }
    }
    nas_free(bytes);
    nas_store_close(db);
}

static nas_status export_training(const char *db, int64_t id, const char *out) {
    nas_job_export_params p = nas_job_export_defaults();
    p.src.db = db;
    p.src.training = id;
    p.out = out;
    nas_job_export_result r;
    return nas_job_export(&p, &r);
}

START_TEST(test_export__job_refusals) {
    char db[512], out[512];
    nas_export_model em;
    small_model(&em, ARCH201);
    make_store(test_tpath(db, "s.db"), &em);
    test_tpath(out, "m.onnx");
    ck_assert_int_eq(export_training(db, 99, out), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "training 99 does not exist"));
    ck_assert_int_eq(export_training(db, 1, out), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "is running"));
    ck_assert_int_eq(export_training(db, 2, out), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "no kept weights"));
    ck_assert_int_eq(export_training(db, 4, out), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "kept weights of training 4"));
    FILE *f = fopen(out, "rb");
    ck_assert_ptr_null(f); /* nothing written by the refusals */
    ck_assert_int_eq(export_training(db, 3, out), NAS_OK);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = slurp(out, &n0);
    /* a refusal leaves an existing output as it was */
    ck_assert_int_eq(export_training(db, 4, out), NAS_EFORMAT);
    unsigned char *after = slurp(out, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(before, after, n0);
    nas_free(before);
    nas_free(after);
    ck_assert_int_eq(export_training(db, 3, "/nonexistent/dir/m.onnx"), NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "/nonexistent/dir"));
    /* a directory as the output */
    ck_assert_int_eq(export_training(db, 3, test_tmpdir), NAS_EIO);
    /* the npz by extension, and a store that does not exist */
    test_tpath(out, "m.npz");
    ck_assert_int_eq(export_training(db, 3, out), NAS_OK);
    unsigned char *z = slurp(out, &n0);
    ck_assert_uint_eq(le32(z), 0x04034b50);
    nas_free(z);
    ck_assert_int_eq(export_training(test_tpath(db, "missing.db"), 3, out), NAS_ENOTFOUND);

    /* predict with the stored model on a PGM and the same image as IDX */
    char img[512];
    unsigned char pgm[15 + 784];
    memcpy(pgm, "P5 28 28 255\n", 13);
    for (int i = 0; i < 784; i++) {
        pgm[13 + i] = (unsigned char)(i % 200);
    }
    spit(test_tpath(img, "a.pgm"), pgm, 13 + 784);
    const char *inputs[1] = {img};
    nas_job_predict_params pp = nas_job_predict_defaults();
    pp.src.db = test_tpath(db, "s.db");
    pp.src.training = 3;
    pp.inputs = inputs;
    pp.n_inputs = 1;
    nas_job_predict_result r;
    ck_assert_int_eq(nas_job_predict(&pp, &r), NAS_OK);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.classes, 10);
    double sum = 0.0;
    for (int k = 0; k < 10; k++) {
        sum += (double)r.probs[k];
        ck_assert(r.probs[k] <= r.probs[r.pred[0]]);
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-5);
    float ref[10];
    uint8_t raw[784];
    memcpy(raw, pgm + 13, 784);
    ck_assert_int_eq(nas_export_forward(&em, raw, 1, 1, ref), NAS_OK);
    for (int k = 0; k < 10; k++) {
        ck_assert(fabsf(r.logits[k] - ref[k]) <= 1e-5f);
    }
    nas_job_predict_result_free(&r);
    /* a wrong-size image */
    spit(img, "P5 27 28 255\n", 13);
    ck_assert_int_eq(nas_job_predict(&pp, &r), NAS_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "27"));
    nas_export_model_free(&em);
}
END_TEST

/* A GHN trained on nb201 (a tiny untrained one, saved with its data info) predicts nb201 nets and
 * refuses another space. */
START_TEST(test_export__ghn_space) {
    nas_ghn_config c = nas_ghn_config_default();
    c.hid = 8;
    c.dec_hid = 12;
    nas_ghn g;
    ck_assert_int_eq(nas_ghn_init(&g, &c, 5), NAS_OK);
    nas_ghn_train_config tc = nas_ghn_train_defaults();
    nas_ghn_trainer tr;
    ck_assert_int_eq(nas_ghn_trainer_init(&tr, &g, &tc), NAS_OK);
    snprintf(tr.data.space, sizeof tr.data.space, "nb201");
    snprintf(tr.space, sizeof tr.space, "nb201");
    snprintf(tr.data.dataset, sizeof tr.data.dataset, "fashion-mnist");
    tr.data.n_val = 10000;
    tr.data.split_seed = 1;
    tr.data.eval_batch = 32;
    tr.data.in_c = 1;
    tr.data.in_h = tr.data.in_w = 28;
    nas_data_norm_identity(&tr.data.norm, 1);
    char ghn[512], out[512];
    ck_assert_int_eq(nas_ghn_save(&g, &tr, test_tpath(ghn, "g.ckpt")), NAS_OK);
    nas_ghn_trainer_free(&tr);
    nas_ghn_free(&g);

    nas_job_export_params p = nas_job_export_defaults();
    p.src.arch = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), "
                 "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', "
                 "0), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', "
                 "0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
                 "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', "
                 "1)], reduce_concat=[2, 3, 4, 5])";
    p.src.space = "darts";
    p.src.ghn = ghn;
    p.out = test_tpath(out, "d.onnx");
    nas_job_export_result r;
    ck_assert_int_eq(nas_job_export(&p, &r), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "trained on space nb201, not darts"));
    /* its own space: predicted weights, BN statistics calibrated on 2 batches */
    p.src.arch = ARCH201;
    p.src.space = NULL;
    p.src.C = 4;
    p.src.N = 1;
    p.src.bn_calib = 2;
    nas_status st = nas_job_export(&p, &r);
    ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_eq(r.model.space, "nb201");
    ck_assert_ptr_nonnull(strstr(r.model.source, "g.ckpt"));
    ck_assert_uint_gt(r.bytes, 1000);
    /* a GHN file that is not one */
    spit(ghn, "garbage", 7);
    ck_assert_int_eq(nas_job_export(&p, &r), NAS_EFORMAT);
    /* no weights source, or two */
    p.src.ghn = NULL;
    ck_assert_int_eq(nas_job_export(&p, &r), NAS_EINVAL);
    p.src.ghn = ghn;
    p.src.random_init = true;
    ck_assert_int_eq(nas_job_export(&p, &r), NAS_EINVAL);
}
END_TEST

Suite *nas_test_export_suite(void) {
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("formats");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_export__pb_bytes);
    tcase_add_test(tc, test_export__npz_structure);
    tcase_add_test(tc, test_export__onnx_header);
    tcase_add_test(tc, test_export__pack_unpack);
    tcase_add_test(tc, test_export__images);
    suite_add_tcase(s, tc);
    tc = tcase_create("jobs");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_export__job_refusals);
    tcase_add_test(tc, test_export__ghn_space);
    suite_add_tcase(s, tc);
    return s;
}
