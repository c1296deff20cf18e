/*
 * Tests for src/space: space files (good and broken), the four kinds' sample/encode/decode round
 * trips, mutation, enumeration counts (NB201 15625/15284/6466, NB101 cumulative unique counts and
 * 423624), MD5 (RFC 1321 vectors), the NB101 hash of a published cell, the igraph canonical hash
 * under vertex relabelling, the error messages for bad files and bad arch strings, and info.c's
 * services (canonical rule names, nas_arch_inspect, valid and text sampling).
 */
#include "test_suites.h"

#include "ghnas/space.h"
#include "space/space-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static nas_space load_ok(const char *name) {
    nas_space sp;
    nas_status st = nas_space_load(&sp, name);
    ck_assert_msg(st == NAS_OK, "loading %s: %s", name, nas_errmsg());
    return sp;
}

/* A fresh temporary directory for space files (removed by the OS's tmp cleaning; tests keep the
 * files small). */
static void temp_dir(char *dir, size_t cap) {
    snprintf(dir, cap, "/tmp/ghnas_space_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Load `json` from a temp file; expect failure `want` with every needle in the message. */
static void expect_bad_space(const char *json, nas_status want, const char *needle1,
                             const char *needle2) {
    char dir[64], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.json", dir);
    write_file(path, json);
    nas_space sp;
    nas_status st = nas_space_load(&sp, path);
    const char *msg = nas_errmsg();
    ck_assert_msg(st == want, "status %d (want %d) for %s: %s", st, want, json, msg);
    ck_assert_msg(strstr(msg, path) != NULL, "message lacks the file: %s", msg);
    ck_assert_msg(strstr(msg, needle1) != NULL, "message lacks '%s': %s", needle1, msg);
    if (needle2) {
        ck_assert_msg(strstr(msg, needle2) != NULL, "message lacks '%s': %s", needle2, msg);
    }
    ck_assert_str_eq(sp.name, ""); /* zeroed on failure */
    unlink(path);
    rmdir(dir);
}

/* Load a space written from `json` into a temp file. */
static nas_space load_json(const char *json) {
    char dir[64], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.json", dir);
    write_file(path, json);
    nas_space sp = load_ok(path);
    unlink(path);
    rmdir(dir);
    return sp;
}

static void expect_bad_arch(const nas_space *sp, const char *text, const char *needle1,
                            const char *needle2) {
    nas_arch a;
    nas_status st = nas_arch_decode(sp, text, &a);
    const char *msg = nas_errmsg();
    ck_assert_msg(st == NAS_EFORMAT, "decoding '%s' gave %d: %s", text, st, msg);
    ck_assert_msg(strstr(msg, needle1) != NULL, "message lacks '%s': %s", needle1, msg);
    if (needle2) {
        ck_assert_msg(strstr(msg, needle2) != NULL, "message lacks '%s': %s", needle2, msg);
    }
}

static void round_trip_text(const nas_space *sp, const char *text) {
    nas_arch a;
    ck_assert_msg(nas_arch_decode(sp, text, &a) == NAS_OK, "%s: %s", text, nas_errmsg());
    char out[NAS_ARCH_STR_MAX];
    ck_assert_int_eq(nas_arch_encode(sp, &a, out, sizeof out), NAS_OK);
    ck_assert_str_eq(out, text);
}

static nas_status count_visit(const nas_arch *a, void *user) {
    (void)a;
    (*(uint64_t *)user)++;
    return NAS_OK;
}

/* ---- MD5 ------------------------------------------------------------------------------------ */

START_TEST(test_space__md5_rfc1321_vectors) {
    static const char *const cases[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[33];
        nas_i_md5_hex(cases[i][0], strlen(cases[i][0]), hex);
        ck_assert_str_eq(hex, cases[i][1]);
    }
    /* Lengths around the 56-byte padding boundary: 55 needs one block, 56 and 64 need two. */
    char buf[130];
    memset(buf, 'x', sizeof buf);
    char h55[33], h56[33], h64[33];
    nas_i_md5_hex(buf, 55, h55);
    nas_i_md5_hex(buf, 56, h56);
    nas_i_md5_hex(buf, 64, h64);
    ck_assert_str_eq(h55, "04364420e25c512fd958a70738aa8f72"); /* python hashlib */
    ck_assert_str_eq(h56, "668a72d5ba17f08e62dabcafad6db14b");
    ck_assert_str_eq(h64, "c1bb4f81d892b2d57947682aeb252456");
}
END_TEST

/* ---- loading -------------------------------------------------------------------------------- */

START_TEST(test_space__builtin_spaces_load) {
    char dir[4096];
    ck_assert_msg(nas_space_dir(dir, sizeof dir) == NAS_OK, "%s", nas_errmsg());
    ck_assert_ptr_nonnull(strstr(dir, "search_spaces"));
    char names[16][64];
    int n = 0;
    ck_assert_int_eq(nas_space_list(names, 16, &n), NAS_OK);
    const char *want[] = {"darts", "macro", "nb101", "nb201"};
    for (int w = 0; w < 4; w++) {
        bool seen = false;
        for (int i = 0; i < n && i < 16; i++) {
            seen = seen || strcmp(names[i], want[w]) == 0;
        }
        ck_assert_msg(seen, "space %s not listed", want[w]);
    }

    nas_space sp = load_ok("nb201");
    ck_assert_int_eq(sp.kind, NAS_SPACE_NB201);
    ck_assert_int_eq(sp.n_ops, 5);
    ck_assert_int_eq(sp.ops[0], NAS_CELL_OP_NONE);
    ck_assert_int_eq(sp.ops[4], NAS_CELL_OP_AVG_POOL_3X3);
    ck_assert_int_eq(sp.nodes, 4);
    uint64_t size = 0;
    ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
    ck_assert_uint_eq(size, 15625);
    long c = 0;
    ck_assert_int_eq(nas_space_skeleton_int(&sp, "C", &c), NAS_OK);
    ck_assert_int_gt(c, 0);
    const char *s = NULL;
    ck_assert_int_eq(nas_space_skeleton_str(&sp, "reduction", &s), NAS_OK);
    ck_assert_str_eq(s, "resnet_basic");
    ck_assert_int_eq(nas_space_skeleton_int(&sp, "reduction", &c), NAS_EINVAL);
    ck_assert_int_eq(nas_space_skeleton_int(&sp, "no_such_key", &c), NAS_ENOTFOUND);

    sp = load_ok("nb101");
    ck_assert_int_eq(sp.kind, NAS_SPACE_NB101);
    ck_assert_int_eq(sp.max_vertices, 7);
    ck_assert_int_eq(sp.max_edges, 9);
    ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
    ck_assert_uint_eq(size, 1293208); /* labelled full DAGs, generate_graphs.py */

    sp = load_ok("darts");
    ck_assert_int_eq(sp.kind, NAS_SPACE_DARTS);
    ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
    ck_assert_uint_eq(size, 1076746950455072400ull); /* (180 * 7^8)^2 */

    sp = load_ok("macro");
    ck_assert_int_eq(sp.kind, NAS_SPACE_MACRO);
    ck_assert_int_ge(sp.n_stages, 1);
    ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
    ck_assert_uint_gt(size, 1000);

    /* The path form and the name form load the same space. */
    char path[4200];
    snprintf(path, sizeof path, "%s/nb201.json", dir);
    nas_space by_path = load_ok(path);
    ck_assert_str_eq(by_path.name, "nb201");
}
END_TEST

START_TEST(test_space__spaces_dir_env_override) {
    char dir[64], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/mine.json", dir);
    write_file(path,
               "{\"kind\": \"cell_nb201\", \"ops\": [\"none\", \"nor_conv_3x3\"], \"nodes\": 3}");
    setenv(NAS_SPACES_DIR_ENV, dir, 1);
    nas_space sp = load_ok("mine");
    ck_assert_str_eq(sp.name, "mine"); /* no "name" key: the file stem */
    uint64_t size = 0;
    ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
    ck_assert_uint_eq(size, 8); /* 2 ops ^ 3 edges */
    nas_status st = nas_space_load(&sp, "nb201");
    ck_assert_int_eq(st, NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "mine"));
    setenv(NAS_SPACES_DIR_ENV, "/nonexistent/ghnas", 1);
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), NAS_SPACES_DIR_ENV));
    unsetenv(NAS_SPACES_DIR_ENV);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_space__bad_space_files) {
    /* Syntax: file, line and column. */
    expect_bad_space("{\"kind\": \"cell_nb201\",\n \"ops\": [\"none\",]\n}", NAS_EFORMAT,
                     "invalid JSON", ":2:");
    expect_bad_space("[1, 2]", NAS_EFORMAT, "top level must be a JSON object", NULL);
    /* Missing keys. */
    expect_bad_space("{\"ops\": [\"none\"], \"nodes\": 4}", NAS_EFORMAT,
                     "missing required key 'kind'", NULL);
    expect_bad_space("{\"kind\": \"cell_nb201\", \"nodes\": 4}", NAS_EFORMAT,
                     "missing required key 'ops'", "cell_nb201");
    expect_bad_space("{\"kind\": \"cell_nb101\", \"ops\": [\"maxpool3x3\"], \"max_vertices\": 7}",
                     NAS_EFORMAT, "missing required key 'max_edges'", NULL);
    expect_bad_space(
        "{\"kind\": \"macro\", \"block\": \"inverted_residual\", \"stages\": [{\"stride\": "
        "1, \"depth\": [1], \"kernel\": [3], \"expansion\": [1]}]}",
        NAS_EFORMAT, "missing required key 'stages[0].width'", NULL);
    /* Wrong types. */
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\"], \"nodes\": \"4\"}",
                     NAS_EFORMAT, "key 'nodes'", "expected an integer, got a string");
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": \"none\", \"nodes\": 4}", NAS_EFORMAT,
                     "key 'ops'", "expected an array");
    expect_bad_space("{\"kind\": 3, \"ops\": [\"none\"], \"nodes\": 4}", NAS_EFORMAT, "key 'kind'",
                     "expected a string, got an integer");
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\", 7], \"nodes\": 4}",
                     NAS_EFORMAT, "key 'ops[1]'", "got an integer");
    /* Unknown op, op of the wrong family, repeated op. */
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\", \"conv_9x9\"], \"nodes\": 4}",
                     NAS_EFORMAT, "key 'ops[1]'", "unknown op 'conv_9x9'");
    expect_bad_space(
        "{\"kind\": \"cell_nb201\", \"ops\": [\"none\", \"maxpool3x3\"], \"nodes\": 4}",
        NAS_EFORMAT, "key 'ops[1]'", "vertex op");
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\", \"none\"], \"nodes\": 4}",
                     NAS_EFORMAT, "key 'ops[1]'", "listed twice");
    expect_bad_space("{\"kind\": \"cell_darts\", \"ops\": [\"none\"], \"nodes\": 4, "
                     "\"inputs_per_node\": 2}",
                     NAS_EFORMAT, "key 'ops'", "never uses 'none'");
    /* Bad numbers. */
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\"], \"nodes\": 9}", NAS_EFORMAT,
                     "key 'nodes'", "9 is out of range [2, 6]");
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\"], \"nodes\": 2.5}", NAS_EFORMAT,
                     "key 'nodes'", "real number 2.5");
    expect_bad_space("{\"kind\": \"cell_nb101\", \"ops\": [\"maxpool3x3\"], \"max_vertices\": 5, "
                     "\"max_edges\": 11}",
                     NAS_EFORMAT, "key 'max_edges'", "out of range [1, 10]");
    expect_bad_space(
        "{\"kind\": \"macro\", \"block\": \"inverted_residual\", \"stages\": [{\"stride\": "
        "1, \"depth\": [1], \"width\": [8], \"kernel\": [3, 4], \"expansion\": [1]}]}",
        NAS_EFORMAT, "key 'stages[0].kernel[1]'", "even");
    expect_bad_space(
        "{\"kind\": \"macro\", \"block\": \"inverted_residual\", \"stages\": [{\"stride\": "
        "3, \"depth\": [1], \"width\": [8], \"kernel\": [3], \"expansion\": [1]}]}",
        NAS_EFORMAT, "key 'stages[0].stride'", "out of range [1, 2]");
    /* Unknown kind, unknown keys, bad skeleton values. */
    expect_bad_space("{\"kind\": \"cell_nb999\", \"ops\": [\"none\"], \"nodes\": 4}", NAS_EFORMAT,
                     "key 'kind'", "unknown kind 'cell_nb999'");
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\"], \"nodes\": 4, \"opps\": 1}",
                     NAS_EFORMAT, "unknown key 'opps'", NULL);
    expect_bad_space("{\"kind\": \"cell_nb201\", \"ops\": [\"none\"], \"nodes\": 4, \"skeleton\": "
                     "{\"C\": [16]}}",
                     NAS_EFORMAT, "key 'skeleton.C'", "integer or a string");

    /* Missing file and unknown built-in name. */
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "/nonexistent/dir/space.json"), NAS_EIO);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "/nonexistent/dir/space.json"));
    ck_assert_int_eq(nas_space_load(&sp, "no_such_space"), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "unknown space 'no_such_space'"));
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "nb201"));
}
END_TEST

/* ---- codecs --------------------------------------------------------------------------------- */

START_TEST(test_space__sample_encode_decode_round_trip) {
    const char *names[] = {"nb201", "nb101", "darts", "macro"};
    for (int s = 0; s < 4; s++) {
        nas_space sp = load_ok(names[s]);
        nas_rng rng;
        nas_rng_seed(&rng, 1234 + (uint64_t)s);
        for (int i = 0; i < 500; i++) {
            nas_arch a, b;
            ck_assert_int_eq(nas_arch_sample(&sp, &rng, &a), NAS_OK);
            ck_assert_msg(nas_arch_check(&sp, &a) == NAS_OK, "%s", nas_errmsg());
            char t1[NAS_ARCH_STR_MAX], t2[NAS_ARCH_STR_MAX];
            ck_assert_int_eq(nas_arch_encode(&sp, &a, t1, sizeof t1), NAS_OK);
            ck_assert_msg(nas_arch_decode(&sp, t1, &b) == NAS_OK, "%s: %s", t1, nas_errmsg());
            ck_assert_msg(nas_arch_equal(&a, &b), "decode(encode(a)) != a for %s", t1);
            ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
            ck_assert_int_eq(nas_arch_encode(&sp, &b, t2, sizeof t2), NAS_OK);
            ck_assert_str_eq(t1, t2);
            ck_assert_int_eq(nas_arch_distance(&sp, &a, &b), 0);
        }
    }
}
END_TEST

START_TEST(test_space__published_strings_round_trip) {
    nas_space nb201 = load_ok("nb201");
    round_trip_text(&nb201, "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                            "nor_conv_3x3~1|skip_connect~2|");
    round_trip_text(&nb201, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|"
                            "skip_connect~1|skip_connect~2|");
    nas_space darts = load_ok("darts");
    /* DARTS_V2 from quark0/darts cnn/genotypes.py. */
    const char *v2 =
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
        "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
        "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
        "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
        "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, "
        "5])";
    round_trip_text(&darts, v2);
    /* model_search.genotype() writes concat as range(2, 6) and spacing may vary. */
    const char *v2_range =
        "Genotype( normal=[('sep_conv_3x3',0),('sep_conv_3x3',1),('sep_conv_3x3',0),"
        "('sep_conv_3x3',1),('sep_conv_3x3',1),('skip_connect',0),('skip_connect',0),"
        "(\"dil_conv_3x3\", 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
        "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
        "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, "
        "6))";
    nas_arch a, b;
    ck_assert_msg(nas_arch_decode(&darts, v2_range, &a) == NAS_OK, "%s", nas_errmsg());
    ck_assert_int_eq(nas_arch_decode(&darts, v2, &b), NAS_OK);
    ck_assert(nas_arch_equal(&a, &b));
    /* Edge order within a node is kept (node 3 of the reduce cell lists input 2 first). */
    ck_assert_int_eq(b.cell[1].edges[2].src, 2);
    ck_assert_int_eq(b.cell[1].edges[3].src, 1);

    nas_space nb101 = load_ok("nb101");
    round_trip_text(&nb101, "111010.00001.0001.100.01.1|conv1x1-bn-relu,conv3x3-bn-relu,"
                            "conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3");
    round_trip_text(&nb101, "1|");
    round_trip_text(&nb101, "11.1|maxpool3x3");
    nas_space macro = load_ok("macro");
    round_trip_text(&macro, "d2-w24-k5-e6|d3-w32-k3-e3|d1-w48-k7-e4|d2-w96-k5-e6");
}
END_TEST

START_TEST(test_space__bad_arch_strings) {
    nas_space sp = load_ok("nb201");
    expect_bad_arch(&sp,
                    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x4~1|+|skip_connect~0|"
                    "nor_conv_3x3~1|skip_connect~2|",
                    "position 33", "unknown op 'avg_pool_3x4'");
    expect_bad_arch(&sp, "|nor_conv_3x3|+|", "position 13",
                    "expected '~' after op name 'nor_conv_3x3', found '|'");
    expect_bad_arch(&sp,
                    "|nor_conv_3x3~0|+|nor_conv_3x3~1|avg_pool_3x3~1|+|skip_connect~0|"
                    "nor_conv_3x3~1|skip_connect~2|",
                    "position 31", "input 0 of node 2 must be '~0'");
    expect_bad_arch(&sp, "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|", "position 33",
                    "expected an op name for input 1 of node 2");
    expect_bad_arch(&sp, "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "end of string",
                    "expected '+' after the 2 inputs of node 2");
    expect_bad_arch(&sp,
                    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                    "nor_conv_3x3~1|skip_connect~2|+",
                    "expected the end of the string", NULL);
    expect_bad_arch(&sp, "", "position 0", "expected '|' opening node 1");

    sp = load_ok("nb101");
    expect_bad_arch(&sp,
                    "111010.0001.0001.100.01.1|conv1x1-bn-relu,conv3x3-bn-relu,"
                    "conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3",
                    "position 7", "row 1 must have 5 bits");
    expect_bad_arch(&sp, "11111111|", "row 0 has 8 bits", "at most 7");
    expect_bad_arch(&sp, "11.1|conv5x5-bn-relu", "position 5", "unknown op 'conv5x5-bn-relu'");
    expect_bad_arch(&sp, "11.1|maxpool3x3,maxpool3x3", "position 15",
                    "expected the end of the string after 1 op");
    expect_bad_arch(&sp, "110.01.1|maxpool3x3", "position 19",
                    "expected ',' and the op of vertex 2");
    expect_bad_arch(&sp, "01.0|maxpool3x3", "vertex 1 has no incoming edge", NULL);
    expect_bad_arch(&sp,
                    "111111.11111.1111.111.11.1|maxpool3x3,maxpool3x3,maxpool3x3,maxpool3x3,"
                    "maxpool3x3",
                    "21 edges", "max_edges 9");

    sp = load_ok("darts");
    const char *tail =
        ", normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', "
        "1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
        "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
        "reduce_concat=[2, 3, 4, 5])";
    char text[2048];
    snprintf(text, sizeof text,
             "Genotype(normal=[('none', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
             "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
             "('dil_conv_3x3', 2)]%s",
             tail);
    expect_bad_arch(&sp, text, "position 19", "op 'none' never appears");
    snprintf(
        text, sizeof text,
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
        "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0)]%s",
        tail);
    expect_bad_arch(&sp, text, "normal has 7 (op, input) pairs", "needs 8");
    snprintf(text, sizeof text,
             "Genotype(normal=[('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
             "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
             "('dil_conv_3x3', 2)]%s",
             tail);
    expect_bad_arch(&sp, text, "normal pair 0 feeds node 2", "found input 2");
    snprintf(text, sizeof text,
             "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), "
             "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
             "('dil_conv_3x3', 2)]%s",
             tail);
    expect_bad_arch(&sp, text, "normal pairs 0 and 1 both feed input 0", NULL);
    snprintf(text, sizeof text,
             "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
             "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
             "('conv_7x1_1x7', 2)]%s",
             tail);
    expect_bad_arch(&sp, text, "unknown op 'conv_7x1_1x7'", "ops of space darts");
    expect_bad_arch(&sp, "Genotype(reduce=[])", "position 9", "expected 'normal'");
    expect_bad_arch(&sp, "Genome(normal=[])", "position 0", "expected 'Genotype'");
    snprintf(text, sizeof text,
             "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
             "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
             "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4], reduce=[])");
    expect_bad_arch(&sp, text, "normal_concat must list every intermediate node", NULL);

    sp = load_ok("macro");
    expect_bad_arch(&sp, "d2-w25-k5-e6|d3-w32-k3-e3|d1-w48-k7-e4|d2-w96-k5-e6", "position 4",
                    "stage 0 width 25 is not a choice");
    expect_bad_arch(&sp, "d2-w24-k5-e6|d3-w32-k3-e3|d1-w48-k7-e4", "end of string",
                    "expected '|' and stage 3");
    expect_bad_arch(&sp, "d2-w24-e6", "position 7", "expected 'k' (the kernel of stage 0)");
}
END_TEST

/* ---- mutation ------------------------------------------------------------------------------- */

START_TEST(test_space__mutation_is_valid_one_edit) {
    const char *names[] = {"nb201", "nb101", "darts", "macro"};
    for (int s = 0; s < 4; s++) {
        nas_space sp = load_ok(names[s]);
        nas_rng rng;
        nas_rng_seed(&rng, 99 + (uint64_t)s);
        int mutated = 0;
        for (int i = 0; i < 400; i++) {
            nas_arch p, c;
            ck_assert_int_eq(nas_arch_sample(&sp, &rng, &p), NAS_OK);
            nas_status st = nas_arch_mutate(&sp, &p, &rng, &c);
            if (st == NAS_ENOTFOUND) {
                ck_assert_int_eq(sp.kind, NAS_SPACE_NB101); /* only the 2-vertex graph */
                ck_assert_int_eq(p.cell[0].n_nodes, 2);
                continue;
            }
            ck_assert_msg(st == NAS_OK, "%s", nas_errmsg());
            ck_assert_msg(nas_arch_check(&sp, &c) == NAS_OK, "%s", nas_errmsg());
            ck_assert(nas_arch_is_valid(&sp, &c));
            ck_assert(!nas_arch_equal(&p, &c));
            ck_assert_int_eq(nas_arch_distance(&sp, &p, &c), 1);
            mutated++;
        }
        ck_assert_int_gt(mutated, 390);
    }
    /* An invalid NB201 cell (all none) mutates into a valid one. */
    nas_space sp = load_ok("nb201");
    nas_arch p, c;
    ck_assert_int_eq(nas_arch_decode(&sp, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", &p),
                     NAS_OK);
    ck_assert(!nas_arch_is_valid(&sp, &p));
    nas_rng rng;
    nas_rng_seed(&rng, 5);
    ck_assert_int_eq(nas_arch_mutate(&sp, &p, &rng, &c), NAS_OK);
    ck_assert(nas_arch_is_valid(&sp, &c));
    /* All 24 NB201 neighbours of a cell with no none edge are valid and reachable. */
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|"
                                     "skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                                     &p),
                     NAS_OK);
    bool seen[6][5] = {{false}};
    int distinct = 0;
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(nas_arch_mutate(&sp, &p, &rng, &c), NAS_OK);
        for (int e = 0; e < 6; e++) {
            int op = c.cell[0].edges[e].op;
            if (op != p.cell[0].edges[e].op && !seen[e][op]) {
                seen[e][op] = true;
                distinct++;
            }
        }
    }
    ck_assert_int_eq(distinct, 24);
    /* The two-vertex NB101 graph has no valid neighbour. */
    nas_space nb101 = load_ok("nb101");
    ck_assert_int_eq(nas_arch_decode(&nb101, "1|", &p), NAS_OK);
    ck_assert_int_eq(nas_arch_mutate(&nb101, &p, &rng, &c), NAS_ENOTFOUND);
    /* Mutating an arch of another space is refused. */
    ck_assert_int_eq(nas_arch_mutate(&sp, &p, &rng, &c), NAS_EINVAL);
}
END_TEST

START_TEST(test_space__sampling_is_uniform) {
    nas_rng rng;
    nas_rng_seed(&rng, 7);
    /* NB101: V=7 holds 4793*243 of the 1293208 labelled graphs. */
    nas_space sp = load_ok("nb101");
    const int n = 20000;
    int v7 = 0, v6 = 0;
    for (int i = 0; i < n; i++) {
        nas_arch a;
        nas_arch_sample(&sp, &rng, &a);
        v7 += a.cell[0].n_nodes == 7;
        v6 += a.cell[0].n_nodes == 6;
    }
    double p7 = 4793.0 * 243.0 / 1293208.0, p6 = 1545.0 * 81.0 / 1293208.0;
    ck_assert_double_eq_tol((double)v7 / n, p7, 0.01);
    ck_assert_double_eq_tol((double)v6 / n, p6, 0.006);
    /* DARTS: the 10 source pairs of the last node are equally likely. */
    sp = load_ok("darts");
    int pairs[6][6] = {{0}};
    for (int i = 0; i < n; i++) {
        nas_arch a;
        nas_arch_sample(&sp, &rng, &a);
        pairs[a.cell[0].edges[6].src][a.cell[0].edges[7].src]++;
        ck_assert_int_lt(a.cell[0].edges[6].src, a.cell[0].edges[7].src);
    }
    for (int x = 0; x < 5; x++) {
        for (int y = x + 1; y < 5; y++) {
            ck_assert_double_eq_tol((double)pairs[x][y] / n, 0.1, 0.015);
        }
    }
    /* NB201: every op equally likely on every edge. */
    sp = load_ok("nb201");
    int hist[6][5] = {{0}};
    for (int i = 0; i < n; i++) {
        nas_arch a;
        nas_arch_sample(&sp, &rng, &a);
        for (int e = 0; e < 6; e++) {
            hist[e][a.cell[0].edges[e].op]++;
        }
    }
    for (int e = 0; e < 6; e++) {
        for (int o = 0; o < 5; o++) {
            ck_assert_double_eq_tol((double)hist[e][o] / n, 0.2, 0.015);
        }
    }
}
END_TEST

/* ---- NB201 counts --------------------------------------------------------------------------- */

typedef struct nb201_walk {
    const nas_space *sp;
    uint64_t n;
    char first[NAS_ARCH_STR_MAX], last[NAS_ARCH_STR_MAX];
} nb201_walk;

static nas_status nb201_visit(const nas_arch *a, void *user) {
    nb201_walk *w = user;
    char *dst = w->n == 0 ? w->first : w->last;
    nas_status st = nas_arch_encode(w->sp, a, dst, NAS_ARCH_STR_MAX);
    w->n++;
    return st;
}

START_TEST(test_space__nb201_counts) {
    nas_space sp = load_ok("nb201");
    nb201_walk w = {&sp, 0, "", ""};
    ck_assert_int_eq(nas_space_enumerate(&sp, nb201_visit, &w), NAS_OK);
    ck_assert_uint_eq(w.n, 15625);
    ck_assert_str_eq(w.first, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
    ck_assert_str_eq(w.last, "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|"
                             "avg_pool_3x3~1|avg_pool_3x3~2|");
    uint64_t n = 0;
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_TEXT, false, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, 15625);
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_TEXT, true, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, 15284); /* Structure.check_valid */
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_PUBLISHED, false, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, 6466); /* to_unique_str(consider_zero=True) */
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_PUBLISHED, true, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, 6461); /* the 341 invalid cells fall into 5 classes */
    /* Generic form (our own number, not a published one): pruned op-level DAG via BLISS. */
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_IGRAPH, false, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, 8765);
}
END_TEST

START_TEST(test_space__nb201_unique_strings) {
    nas_space sp = load_ok("nb201");
    static const char *const cases[][2] = {
        {"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
         "skip_connect~2|",
         "((0)@nor_conv_3x3)@avg_pool_3x3+(0)@nor_conv_3x3+((0)@nor_conv_3x3)@nor_conv_3x3+0"},
        {"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "#+#+#"},
        /* Quirk: an all-zero node is "#+#", not "#", so it does not propagate zero. */
        {"|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|",
         "#+#+#+(0)@nor_conv_3x3"},
        {"|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|"
         "skip_connect~2|",
         "(0)@avg_pool_3x3+(0)@avg_pool_3x3+(0)@nor_conv_1x1+(0)@nor_conv_1x1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nas_arch a;
        ck_assert_int_eq(nas_arch_decode(&sp, cases[i][0], &a), NAS_OK);
        char key[NAS_CANON_KEY_MAX];
        ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, key, sizeof key), NAS_OK);
        ck_assert_str_eq(key, cases[i][1]);
        char small[4];
        ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, small, sizeof small),
                         NAS_EINVAL);
    }
}
END_TEST

/* ---- NB101 counts and hash ------------------------------------------------------------------ */

static nas_space nb101_up_to(int max_vertices) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"kind\": \"cell_nb101\", \"ops\": [\"conv3x3-bn-relu\", \"conv1x1-bn-relu\", "
             "\"maxpool3x3\"], \"max_vertices\": %d, \"max_edges\": %d}",
             max_vertices,
             max_vertices * (max_vertices - 1) / 2 < 9 ? max_vertices * (max_vertices - 1) / 2 : 9);
    return load_json(json);
}

START_TEST(test_space__nb101_partial_unique_counts) {
    /* generate_graphs.py cumulative unique counts for V <= 2..6. */
    const uint64_t want[] = {1, 7, 91, 2532, 64542};
    for (int v = 2; v <= 6; v++) {
        nas_space sp = nb101_up_to(v);
        uint64_t size = 0, visited = 0, n = 0;
        ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
        ck_assert_int_eq(nas_space_enumerate(&sp, count_visit, &visited), NAS_OK);
        ck_assert_uint_eq(visited, size);
        ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_PUBLISHED, false, NULL, &n), NAS_OK);
        ck_assert_uint_eq(n, want[v - 2]);
        if (v <= 5) {
            /* BLISS agrees with the WL hash on these (no hash collisions, no misses). */
            ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_IGRAPH, false, NULL, &n), NAS_OK);
            ck_assert_uint_eq(n, want[v - 2]);
        }
    }
}
END_TEST

#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
START_TEST(test_space__nb101_full_unique_count) {
    /* About 20 s on 2 cores in a Release build; sanitizer and debug builds skip it. */
    nas_space sp = load_ok("nb101");
    uint64_t n = 0;
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_PUBLISHED, false, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, 423624);
}
END_TEST
#endif

START_TEST(test_space__nb101_hash_of_published_cell) {
    nas_space sp = load_ok("nb101");
    /* The Inception-like cell of the nasbench README; its dataset hash is
     * 28cfc7874f6d200472e1a9dcd8650aa0 (used as a key into NB101's statistics). */
    nas_arch a;
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "111010.00001.0001.100.01.1|conv1x1-bn-relu,"
                                     "conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,"
                                     "maxpool3x3",
                                     &a),
                     NAS_OK);
    char key[NAS_CANON_KEY_MAX];
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, key, sizeof key), NAS_OK);
    ck_assert_str_eq(key, "28cfc7874f6d200472e1a9dcd8650aa0");
    /* Values from a Python transcription of hash_module (hashlib). */
    ck_assert_int_eq(nas_arch_decode(&sp, "1|", &a), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, key, sizeof key), NAS_OK);
    ck_assert_str_eq(key, "043721b9c7fe8c5fad811d47d83132ec");
    ck_assert_int_eq(nas_arch_decode(&sp, "11.1|maxpool3x3", &a), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, key, sizeof key), NAS_OK);
    ck_assert_str_eq(key, "6f6257bc3b12d87b8736e81cd4b7ed8b");
    /* Isomorphic relabelling (the two branches swap ops): same key. */
    nas_arch b;
    char kb[NAS_CANON_KEY_MAX];
    ck_assert_int_eq(nas_arch_decode(&sp, "110.01.1|conv3x3-bn-relu,conv1x1-bn-relu", &a), NAS_OK);
    ck_assert_int_eq(nas_arch_decode(&sp, "110.01.1|conv1x1-bn-relu,conv3x3-bn-relu", &b), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, key, sizeof key), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_PUBLISHED, kb, sizeof kb), NAS_OK);
    ck_assert_str_eq(key, "1af995a92568cf42af2c2668f72834ea");
    ck_assert_str_eq(key, kb);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_IGRAPH, key, sizeof key), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_IGRAPH, kb, sizeof kb), NAS_OK);
    ck_assert_str_eq(key, kb);
    /* Not isomorphic: different keys under both rules. */
    ck_assert_int_eq(nas_arch_decode(&sp, "110.01.1|conv3x3-bn-relu,conv3x3-bn-relu", &b), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_IGRAPH, kb, sizeof kb), NAS_OK);
    ck_assert_str_ne(key, kb);
}
END_TEST

/* ---- igraph canonical form ------------------------------------------------------------------ */

START_TEST(test_space__igraph_hash_invariant_under_relabelling) {
    nas_rng rng;
    nas_rng_seed(&rng, 11);
    enum { NV = 12, NE = 24 };
    for (int g = 0; g < 40; g++) {
        int colour[NV], edges[2 * NE], n_edges = 0;
        for (int v = 0; v < NV; v++) {
            colour[v] = (int)nas_rng_below(&rng, 3);
        }
        /* Random DAG edges i < j without repeats. */
        bool used[NV][NV] = {{false}};
        while (n_edges < NE) {
            int i = (int)nas_rng_below(&rng, NV), j = (int)nas_rng_below(&rng, NV);
            if (i >= j || used[i][j]) {
                continue;
            }
            used[i][j] = true;
            edges[2 * n_edges] = i;
            edges[2 * n_edges + 1] = j;
            n_edges++;
        }
        char h0[33];
        ck_assert_int_eq(nas_space_graph_canon_hash(NV, colour, NE, edges, h0), NAS_OK);
        for (int p = 0; p < 5; p++) {
            int perm[NV];
            for (int v = 0; v < NV; v++) {
                perm[v] = v;
            }
            nas_rng_shuffle_i32(&rng, perm, NV);
            int pc[NV], pe[2 * NE];
            for (int v = 0; v < NV; v++) {
                pc[perm[v]] = colour[v];
            }
            /* Relabel and also reorder the edge list. */
            for (int e = 0; e < NE; e++) {
                int to = (e * 7 + p) % NE;
                pe[2 * to] = perm[edges[2 * e]];
                pe[2 * to + 1] = perm[edges[2 * e + 1]];
            }
            char h1[33];
            ck_assert_int_eq(nas_space_graph_canon_hash(NV, pc, NE, pe, h1), NAS_OK);
            ck_assert_str_eq(h0, h1);
        }
        /* A different colouring of one vertex, or a reversed edge, changes the class here. */
        colour[0] = 7;
        char h2[33];
        ck_assert_int_eq(nas_space_graph_canon_hash(NV, colour, NE, edges, h2), NAS_OK);
        ck_assert_str_ne(h0, h2);
    }
    int c2[2] = {0, 0}, e2[2] = {0, 5};
    char h[33];
    ck_assert_int_eq(nas_space_graph_canon_hash(2, c2, 1, e2, h), NAS_EINVAL);
}
END_TEST

START_TEST(test_space__igraph_hash_of_isomorphic_cells) {
    char ka[NAS_CANON_KEY_MAX], kb[NAS_CANON_KEY_MAX];
    nas_arch a, b;
    /* NB201: with 1->2 = none, nodes 1 and 2 can swap. */
    nas_space sp = load_ok("nb201");
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|"
                                     "nor_conv_1x1~1|nor_conv_3x3~2|",
                                     &a),
                     NAS_OK);
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|"
                                     "nor_conv_3x3~1|nor_conv_1x1~2|",
                                     &b),
                     NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_IGRAPH, ka, sizeof ka), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_IGRAPH, kb, sizeof kb), NAS_OK);
    ck_assert_str_eq(ka, kb);
    /* NB201's rule keeps the zero term of node 2's none edge, so it tells these two apart. */
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, ka, sizeof ka), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_PUBLISHED, kb, sizeof kb), NAS_OK);
    ck_assert_str_eq(ka, "(#+(0)@avg_pool_3x3)@nor_conv_3x3+((0)@nor_conv_3x3)@nor_conv_1x1+0");
    ck_assert_str_ne(ka, kb);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_TEXT, ka, sizeof ka), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_TEXT, kb, sizeof kb), NAS_OK);
    ck_assert_str_ne(ka, kb);
    /* Dead branches are pruned: node 2 feeds the output only through none. */
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|"
                                     "nor_conv_1x1~1|none~2|",
                                     &a),
                     NAS_OK);
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|"
                                     "skip_connect~0|nor_conv_1x1~1|none~2|",
                                     &b),
                     NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_IGRAPH, ka, sizeof ka), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_IGRAPH, kb, sizeof kb), NAS_OK);
    ck_assert_str_eq(ka, kb);
    /* DARTS: the order of a node's two inputs does not change the graph. */
    sp = load_ok("darts");
    nas_rng rng;
    nas_rng_seed(&rng, 3);
    ck_assert_int_eq(nas_arch_sample(&sp, &rng, &a), NAS_OK);
    b = a;
    nas_edge t = b.cell[0].edges[4];
    b.cell[0].edges[4] = b.cell[0].edges[5];
    b.cell[0].edges[5] = t;
    ck_assert(nas_arch_check(&sp, &b) == NAS_OK);
    ck_assert(!nas_arch_equal(&a, &b));
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_IGRAPH, ka, sizeof ka), NAS_OK);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_IGRAPH, kb, sizeof kb), NAS_OK);
    ck_assert_str_eq(ka, kb);
    /* ... but swapping the normal and reduce cells does. */
    b = a;
    b.cell[0] = a.cell[1];
    b.cell[1] = a.cell[0];
    ck_assert_int_eq(nas_arch_canon_key(&sp, &b, NAS_CANON_IGRAPH, kb, sizeof kb), NAS_OK);
    ck_assert_str_ne(ka, kb);
    ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, ka, sizeof ka),
                     NAS_EUNSUPPORTED);
}
END_TEST

/* ---- small spaces: enumeration equals the size ---------------------------------------------- */

START_TEST(test_space__small_spaces_enumerate_fully) {
    nas_space sp = load_json("{\"kind\": \"cell_darts\", \"ops\": [\"none\", \"skip_connect\", "
                             "\"sep_conv_3x3\"], \"nodes\": 2, \"inputs_per_node\": 2}");
    uint64_t size = 0, n = 0;
    ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
    ck_assert_uint_eq(size, (1u * 4 * 3 * 4) * (1u * 4 * 3 * 4)); /* C(2,2)4 * C(3,2)4, squared */
    ck_assert_int_eq(nas_space_enumerate(&sp, count_visit, &n), NAS_OK);
    ck_assert_uint_eq(n, size);
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_TEXT, true, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, size);
    /* Text keys are distinct for distinct members. */
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_IGRAPH, false, NULL, &n), NAS_OK);
    ck_assert_uint_le(n, size);
    ck_assert_uint_gt(n, size / 4);

    sp = load_json("{\"kind\": \"macro\", \"block\": \"inverted_residual\", \"stages\": ["
                   "{\"stride\": 1, \"depth\": [1, 2], \"width\": [8], \"kernel\": [3, 5], "
                   "\"expansion\": [1, 6]}, {\"stride\": 2, \"depth\": [1], \"width\": [8, 16], "
                   "\"kernel\": [3], \"expansion\": [3]}]}");
    ck_assert_int_eq(nas_space_size(&sp, &size), NAS_OK);
    ck_assert_uint_eq(size, 16);
    n = 0;
    ck_assert_int_eq(nas_space_enumerate(&sp, count_visit, &n), NAS_OK);
    ck_assert_uint_eq(n, 16);
    /* Blocks are a chain: the canonical form tells all 16 apart. */
    ck_assert_int_eq(nas_space_count(&sp, NAS_CANON_IGRAPH, false, NULL, &n), NAS_OK);
    ck_assert_uint_eq(n, 16);

    nas_space darts = load_ok("darts");
    ck_assert_int_eq(nas_space_count(&darts, NAS_CANON_IGRAPH, false, NULL, &n), NAS_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "limited"));
}
END_TEST

/* The services of info.c: canonical rule names both ways, inspecting an arch text (keys equal to
   nas_arch_canon_key's), drawing valid members and member texts. */
START_TEST(test_space__info_services) {
    for (int k = 0; k < 3; k++) {
        nas_canon_kind back;
        ck_assert_int_eq(nas_canon_kind_from_name(nas_canon_kind_name((nas_canon_kind)k), &back),
                         NAS_OK);
        ck_assert_int_eq((int)back, k);
    }
    nas_canon_kind none;
    ck_assert_int_eq(nas_canon_kind_from_name("bliss", &none), NAS_EINVAL);
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_rng rng;
    nas_rng_seed(&rng, 11);
    for (int i = 0; i < 20; i++) {
        nas_arch a;
        ck_assert_int_eq(nas_arch_sample_valid(&sp, &rng, 0, &a), NAS_OK);
        ck_assert(nas_arch_is_valid(&sp, &a));
        char text[NAS_ARCH_STR_MAX], key[NAS_CANON_KEY_MAX];
        ck_assert_int_eq(nas_arch_encode(&sp, &a, text, sizeof text), NAS_OK);
        static nas_arch_info info;
        ck_assert_int_eq(nas_arch_inspect(&sp, text, &info), NAS_OK);
        ck_assert_str_eq(info.text, text);
        ck_assert(info.valid && info.has_published);
        ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_PUBLISHED, key, sizeof key), NAS_OK);
        ck_assert_str_eq(info.published, key);
        ck_assert_int_eq(nas_arch_canon_key(&sp, &a, NAS_CANON_IGRAPH, key, sizeof key), NAS_OK);
        ck_assert_str_eq(info.igraph, key);
    }
    /* the same stream as nas_arch_sample + nas_arch_encode */
    nas_rng r1, r2;
    nas_rng_seed(&r1, 4);
    nas_rng_seed(&r2, 4);
    char t1[NAS_ARCH_STR_MAX], t2[NAS_ARCH_STR_MAX];
    nas_arch a;
    ck_assert_int_eq(nas_arch_sample_text(&sp, &r1, t1, sizeof t1), NAS_OK);
    ck_assert_int_eq(nas_arch_sample(&sp, &r2, &a), NAS_OK);
    ck_assert_int_eq(nas_arch_encode(&sp, &a, t2, sizeof t2), NAS_OK);
    ck_assert_str_eq(t1, t2);
    static nas_arch_info bad;
    ck_assert_int_eq(nas_arch_inspect(&sp, "|bogus~0|", &bad), NAS_EFORMAT);
    ck_assert(!nas_space_count_is_slow(&sp, NAS_CANON_PUBLISHED, true)); /* 15625 members */
    nas_space nb101;
    ck_assert_int_eq(nas_space_load(&nb101, "nb101"), NAS_OK);
    ck_assert(nas_space_count_is_slow(&nb101, NAS_CANON_PUBLISHED, false));
    ck_assert(!nas_space_count_is_slow(&nb101, NAS_CANON_TEXT, false));
}
END_TEST

Suite *nas_test_space_suite(void) {
    Suite *s = suite_create("space");
    TCase *tc = tcase_create("md5");
    tcase_add_test(tc, test_space__md5_rfc1321_vectors);
    suite_add_tcase(s, tc);

    tc = tcase_create("space_files");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_space__builtin_spaces_load);
    tcase_add_test(tc, test_space__spaces_dir_env_override);
    tcase_add_test(tc, test_space__bad_space_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("codecs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_space__sample_encode_decode_round_trip);
    tcase_add_test(tc, test_space__published_strings_round_trip);
    tcase_add_test(tc, test_space__bad_arch_strings);
    tcase_add_test(tc, test_space__info_services);
    suite_add_tcase(s, tc);

    tc = tcase_create("sample_mutate");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_space__mutation_is_valid_one_edit);
    tcase_add_test(tc, test_space__sampling_is_uniform);
    suite_add_tcase(s, tc);

    tc = tcase_create("counts");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_space__nb201_counts);
    tcase_add_test(tc, test_space__nb201_unique_strings);
    tcase_add_test(tc, test_space__nb101_partial_unique_counts);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
    tcase_add_test(tc, test_space__nb101_full_unique_count);
#endif
    tcase_add_test(tc, test_space__nb101_hash_of_published_cell);
    tcase_add_test(tc, test_space__small_spaces_enumerate_fully);
    suite_add_tcase(s, tc);

    tc = tcase_create("canonical");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_space__igraph_hash_invariant_under_relabelling);
    tcase_add_test(tc, test_space__igraph_hash_of_isomorphic_cells);
    suite_add_tcase(s, tc);
    return s;
}
