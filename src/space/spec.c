/*
 * Search-space specs: the op vocabulary, finding the spaces directory, listing built-in spaces,
 * and loading + validating a space JSON file (jansson), with the digest of its content. Every
 * rejection names the file, the key and the reason.
 */
#include "space-impl.h"
#include "ghnas/container.h"

#include <jansson.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- vocabulary ----------------------------------------------------------------------------- */

static const struct {
    const char *name;
    bool edge;
} op_table[NAS_CELL_OP_COUNT] = {
    [NAS_CELL_OP_NONE] = {"none", true},
    [NAS_CELL_OP_SKIP_CONNECT] = {"skip_connect", true},
    [NAS_CELL_OP_NOR_CONV_1X1] = {"nor_conv_1x1", true},
    [NAS_CELL_OP_NOR_CONV_3X3] = {"nor_conv_3x3", true},
    [NAS_CELL_OP_AVG_POOL_3X3] = {"avg_pool_3x3", true},
    [NAS_CELL_OP_MAX_POOL_3X3] = {"max_pool_3x3", true},
    [NAS_CELL_OP_SEP_CONV_3X3] = {"sep_conv_3x3", true},
    [NAS_CELL_OP_SEP_CONV_5X5] = {"sep_conv_5x5", true},
    [NAS_CELL_OP_DIL_CONV_3X3] = {"dil_conv_3x3", true},
    [NAS_CELL_OP_DIL_CONV_5X5] = {"dil_conv_5x5", true},
    [NAS_CELL_OP_CONV3X3_BN_RELU] = {"conv3x3-bn-relu", false},
    [NAS_CELL_OP_CONV1X1_BN_RELU] = {"conv1x1-bn-relu", false},
    [NAS_CELL_OP_MAXPOOL3X3] = {"maxpool3x3", false},
};

_Static_assert(NAS_CELL_OP_COUNT == 13, "add a row to op_table for every op");

const char *nas_cell_op_name(nas_cell_op op) {
    if ((int)op < 0 || op >= NAS_CELL_OP_COUNT) {
        return "?";
    }
    return op_table[op].name;
}

bool nas_cell_op_is_edge(nas_cell_op op) {
    return (int)op >= 0 && op < NAS_CELL_OP_COUNT && op_table[op].edge;
}

static void op_names_of(bool edge, char *buf, size_t cap) {
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < NAS_CELL_OP_COUNT && off < cap; i++) {
        if (op_table[i].edge == edge) {
            int w = snprintf(buf + off, cap - off, "%s%s", off ? ", " : "", op_table[i].name);
            off += w > 0 ? (size_t)w : 0;
        }
    }
}

nas_status nas_cell_op_from_name(const char *name, nas_cell_op *out) {
    for (int i = 0; i < NAS_CELL_OP_COUNT; i++) {
        if (strcmp(name, op_table[i].name) == 0) {
            *out = (nas_cell_op)i;
            return NAS_OK;
        }
    }
    char e[400], v[200];
    op_names_of(true, e, sizeof e);
    op_names_of(false, v, sizeof v);
    return nas_error(NAS_ENOTFOUND, "unknown op '%s' (edge ops: %s; vertex ops: %s)", name, e, v);
}

static const char *const kind_names[NAS_SPACE_KIND_COUNT] = {
    [NAS_SPACE_NB201] = "cell_nb201",
    [NAS_SPACE_NB101] = "cell_nb101",
    [NAS_SPACE_DARTS] = "cell_darts",
    [NAS_SPACE_MACRO] = "macro",
};

const char *nas_space_kind_name(nas_space_kind kind) {
    if ((int)kind < 0 || kind >= NAS_SPACE_KIND_COUNT) {
        return "?";
    }
    return kind_names[kind];
}

/* ---- directory ------------------------------------------------------------------------------ */

#ifndef GHNAS_SPACES_REL_DIR
#define GHNAS_SPACES_REL_DIR "../share/ghnas/search_spaces"
#endif

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Copy dir into buf (NAS_EINVAL when it does not fit). */
static nas_status use_dir(const char *dir, char *buf, size_t cap) {
    size_t len = strlen(dir);
    if (len + 1 > cap) {
        return nas_error(NAS_EINVAL, "spaces directory path %s is too long", dir);
    }
    memcpy(buf, dir, len + 1);
    return NAS_OK;
}

/* Append ", " and the place to the list of places looked in (for the not-found message). */
static void note_place(char *looked, size_t cap, const char *place) {
    size_t len = strlen(looked);
    snprintf(looked + len, cap - len, "%s%s", len ? ", " : "", place);
}

/*
 * The build-tree rule: a program whose executable lies inside the build directory this library
 * was compiled in (build/ghnas, build/tests/ghnas_tests, build/experiments/...) uses the source
 * tree's search_spaces/, wherever the build directory is (in or out of the source tree).
 */
static bool in_build_tree(const char *exe) {
#ifdef GHNAS_BUILD_DIR
    char build[PATH_MAX];
    if (!realpath(GHNAS_BUILD_DIR, build)) {
        return false;
    }
    size_t n = strlen(build);
    return strncmp(exe, build, n) == 0 && exe[n] == '/';
#else
    (void)exe;
    return false;
#endif
}

nas_status nas_space_dir(char *buf, size_t cap) {
    const char *env = getenv(NAS_SPACES_DIR_ENV);
    if (env && env[0]) {
        if (!is_dir(env)) {
            return nas_error(NAS_ENOTFOUND, "%s=%s is not a directory", NAS_SPACES_DIR_ENV, env);
        }
        return use_dir(env, buf, cap);
    }
    char looked[3 * PATH_MAX + 256] = "";
    note_place(looked, sizeof looked, "$" NAS_SPACES_DIR_ENV " (not set)");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
#ifdef GHNAS_SOURCE_SPACES_DIR
        if (in_build_tree(exe)) {
            if (is_dir(GHNAS_SOURCE_SPACES_DIR)) {
                return use_dir(GHNAS_SOURCE_SPACES_DIR, buf, cap);
            }
            note_place(looked, sizeof looked, GHNAS_SOURCE_SPACES_DIR " (the source tree)");
        }
#endif
        /* A relocated installation: <bindir>/ghnas and its data directory at the same
           relative place as when installed (../share/ghnas/search_spaces by default). */
        const char *rel = GHNAS_SPACES_REL_DIR;
        char *slash = strrchr(exe, '/');
        while (slash && strncmp(rel, "../", 3) == 0) { /* <prefix>/bin/ghnas -> <prefix> */
            *slash = '\0';
            slash = strrchr(exe, '/');
            rel += 3;
        }
        if (slash) {
            *slash = '\0';
            char cand[PATH_MAX + 128];
            snprintf(cand, sizeof cand, "%s/%s", exe, rel);
            if (is_dir(cand)) {
                return use_dir(cand, buf, cap);
            }
            note_place(looked, sizeof looked, cand);
        }
    }
#ifdef GHNAS_SPACES_INSTALL_DIR
    /* The installation's data directory, ${prefix}/share/ghnas/search_spaces. */
    if (is_dir(GHNAS_SPACES_INSTALL_DIR)) {
        return use_dir(GHNAS_SPACES_INSTALL_DIR, buf, cap);
    }
    note_place(looked, sizeof looked, GHNAS_SPACES_INSTALL_DIR);
#endif
    return nas_error(NAS_ENOTFOUND,
                     "no search_spaces directory found; looked in %s (set %s to the directory, "
                     "or give the path of a space's .json file)",
                     looked, NAS_SPACES_DIR_ENV);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

nas_status nas_space_list(char (*names)[64], int max, int *n) {
    char dir[PATH_MAX];
    NAS_CHECK(nas_space_dir(dir, sizeof dir));
    DIR *d = opendir(dir);
    if (!d) {
        return nas_error(NAS_EIO, "cannot open spaces directory %s", dir);
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || len - 5 >= 64 || strcmp(e->d_name + len - 5, ".json") != 0 ||
            e->d_name[0] == '.') {
            continue;
        }
        if (count < max) {
            memcpy(names[count], e->d_name, len - 5);
            names[count][len - 5] = '\0';
        }
        count++;
    }
    closedir(d);
    qsort(names, (size_t)(count < max ? count : max), sizeof names[0], cmp_name);
    *n = count;
    return NAS_OK;
}

/* ---- JSON validation helpers ---------------------------------------------------------------- */

typedef struct loader {
    const char *file; /* path for messages */
    nas_space *sp;
} loader;

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
        case JSON_OBJECT:
            return "an object";
        case JSON_ARRAY:
            return "an array";
        case JSON_STRING:
            return "a string";
        case JSON_INTEGER:
            return "an integer";
        case JSON_REAL:
            return "a real number";
        case JSON_TRUE:
        case JSON_FALSE:
            return "a boolean";
        default:
            return "null";
    }
}

static nas_status bad_key(const loader *L, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static nas_status bad_key(const loader *L, const char *key, const char *fmt, ...) {
    char why[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return nas_error(NAS_EFORMAT, "%s: key '%s': %s", L->file, key, why);
}

static nas_status need(const loader *L, const json_t *obj, const char *key, const char *kind,
                       json_t **out) {
    json_t *v = json_object_get(obj, key);
    if (!v) {
        return nas_error(NAS_EFORMAT, "%s: missing required key '%s' (kind %s)", L->file, key,
                         kind);
    }
    *out = v;
    return NAS_OK;
}

/* Integer in [lo, hi]; `key` is the full key path for messages. */
static nas_status get_int(const loader *L, const json_t *v, const char *key, long lo, long hi,
                          int *out) {
    if (!json_is_integer(v)) {
        if (json_is_real(v)) {
            return bad_key(L, key, "expected an integer, got the real number %g",
                           json_real_value(v));
        }
        return bad_key(L, key, "expected an integer, got %s", json_type_name(v));
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        return bad_key(L, key, "%lld is out of range [%ld, %ld]", (long long)x, lo, hi);
    }
    *out = (int)x;
    return NAS_OK;
}

static nas_status get_string(const loader *L, const json_t *v, const char *key, char *buf,
                             size_t cap) {
    if (!json_is_string(v)) {
        return bad_key(L, key, "expected a string, got %s", json_type_name(v));
    }
    const char *s = json_string_value(v);
    if (strlen(s) + 1 > cap) {
        return bad_key(L, key, "string is longer than %zu characters", cap - 1);
    }
    memcpy(buf, s, strlen(s) + 1);
    return NAS_OK;
}

/* Rejects keys not in `allowed` (NULL-terminated). */
static nas_status only_keys(const loader *L, json_t *obj, const char *where,
                            const char *const *allowed) {
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        (void)value;
        bool ok = false;
        for (int i = 0; allowed[i]; i++) {
            ok = ok || strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            char list[512];
            size_t off = 0;
            list[0] = '\0';
            for (int i = 0; allowed[i] && off < sizeof list; i++) {
                int w = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", allowed[i]);
                off += w > 0 ? (size_t)w : 0;
            }
            return nas_error(NAS_EFORMAT, "%s: unknown key '%s%s%s' (allowed%s%s: %s)", L->file,
                             where, where[0] ? "." : "", key, where[0] ? " in " : "", where, list);
        }
    }
    return NAS_OK;
}

static nas_status load_ops(const loader *L, json_t *root, const char *kind, bool edge) {
    json_t *arr = NULL;
    NAS_CHECK(need(L, root, "ops", kind, &arr));
    if (!json_is_array(arr)) {
        return bad_key(L, "ops", "expected an array of op names, got %s", json_type_name(arr));
    }
    size_t n = json_array_size(arr);
    if (n < 1 || n > NAS_SPACE_MAX_OPS) {
        return bad_key(L, "ops", "needs 1 to %d ops, got %zu", NAS_SPACE_MAX_OPS, n);
    }
    nas_space *sp = L->sp;
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "ops[%zu]", i);
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            return bad_key(L, key, "expected an op name (string), got %s", json_type_name(v));
        }
        nas_cell_op op = NAS_CELL_OP_NONE;
        if (nas_cell_op_from_name(json_string_value(v), &op) != NAS_OK) {
            return bad_key(L, key, "%s", nas_errmsg());
        }
        if (nas_cell_op_is_edge(op) != edge) {
            char names[400];
            op_names_of(edge, names, sizeof names);
            return bad_key(L, key, "op '%s' is a %s op; kind %s takes %s ops: %s",
                           nas_cell_op_name(op), edge ? "vertex" : "edge", kind,
                           edge ? "edge" : "vertex", names);
        }
        for (size_t j = 0; j < i; j++) {
            if (sp->ops[j] == op) {
                return bad_key(L, key, "op '%s' is listed twice (also ops[%zu])",
                               nas_cell_op_name(op), j);
            }
        }
        sp->ops[i] = op;
    }
    sp->n_ops = (int)n;
    return NAS_OK;
}

static nas_status load_skeleton(const loader *L, json_t *root) {
    json_t *sk = json_object_get(root, "skeleton");
    if (!sk) {
        return NAS_OK;
    }
    if (!json_is_object(sk)) {
        return bad_key(L, "skeleton", "expected an object, got %s", json_type_name(sk));
    }
    nas_space *sp = L->sp;
    const char *key;
    json_t *v = NULL;
    json_object_foreach(sk, key, v) {
        char path[96];
        snprintf(path, sizeof path, "skeleton.%s", key);
        if (sp->n_skeleton >= NAS_SKELETON_MAX) {
            return bad_key(L, path, "more than %d skeleton entries", NAS_SKELETON_MAX);
        }
        nas_skeleton_entry *e = &sp->skeleton[sp->n_skeleton];
        if (strlen(key) + 1 > sizeof e->key || key[0] == '\0') {
            return bad_key(L, path, "skeleton keys must have 1 to %zu characters",
                           sizeof e->key - 1);
        }
        memcpy(e->key, key, strlen(key) + 1);
        if (json_is_integer(v)) {
            json_int_t x = json_integer_value(v);
            if (x < -1000000000 || x > 1000000000) {
                return bad_key(L, path, "%lld is out of range [-1e9, 1e9]", (long long)x);
            }
            e->value = (long)x;
        } else if (json_is_string(v)) {
            NAS_CHECK(get_string(L, v, path, e->text, sizeof e->text));
            e->is_string = true;
        } else {
            return bad_key(L, path, "expected an integer or a string, got %s", json_type_name(v));
        }
        sp->n_skeleton++;
    }
    return NAS_OK;
}

/* ---- per-kind sections ---------------------------------------------------------------------- */

static nas_status load_nb201(const loader *L, json_t *root) {
    static const char *const keys[] = {"name",     "kind", "description", "comment",
                                       "skeleton", "ops",  "nodes",       NULL};
    NAS_CHECK(only_keys(L, root, "", keys));
    NAS_CHECK(load_ops(L, root, "cell_nb201", true));
    json_t *v = NULL;
    NAS_CHECK(need(L, root, "nodes", "cell_nb201", &v));
    return get_int(L, v, "nodes", 2, 6, &L->sp->nodes);
}

static nas_status load_nb101(const loader *L, json_t *root) {
    static const char *const keys[] = {"name", "kind",         "description", "comment", "skeleton",
                                       "ops",  "max_vertices", "max_edges",   NULL};
    NAS_CHECK(only_keys(L, root, "", keys));
    NAS_CHECK(load_ops(L, root, "cell_nb101", false));
    nas_space *sp = L->sp;
    json_t *v = NULL;
    NAS_CHECK(need(L, root, "max_vertices", "cell_nb101", &v));
    NAS_CHECK(get_int(L, v, "max_vertices", 2, 7, &sp->max_vertices));
    NAS_CHECK(need(L, root, "max_edges", "cell_nb101", &v));
    int full = sp->max_vertices * (sp->max_vertices - 1) / 2;
    NAS_CHECK(get_int(L, v, "max_edges", 1, full, &sp->max_edges));
    nas_i_nb101_count_graphs(sp);
    return NAS_OK;
}

static nas_status load_darts(const loader *L, json_t *root) {
    static const char *const keys[] = {"name", "kind",  "description",     "comment", "skeleton",
                                       "ops",  "nodes", "inputs_per_node", NULL};
    NAS_CHECK(only_keys(L, root, "", keys));
    NAS_CHECK(load_ops(L, root, "cell_darts", true));
    nas_space *sp = L->sp;
    bool any = false;
    for (int i = 0; i < sp->n_ops; i++) {
        any = any || sp->ops[i] != NAS_CELL_OP_NONE;
    }
    if (!any) {
        return bad_key(L, "ops", "a DARTS genotype never uses 'none'; list at least one other op");
    }
    json_t *v = NULL;
    NAS_CHECK(need(L, root, "nodes", "cell_darts", &v));
    NAS_CHECK(get_int(L, v, "nodes", 1, NAS_CELL_MAX_NODES - 2, &sp->nodes));
    NAS_CHECK(need(L, root, "inputs_per_node", "cell_darts", &v));
    return get_int(L, v, "inputs_per_node", 1, 2, &sp->inputs_per_node);
}

static nas_status load_choice_list(const loader *L, json_t *stage, const char *key,
                                   const char *path, long lo, long hi, bool odd, int *n,
                                   int *vals) {
    char where[96];
    snprintf(where, sizeof where, "%s.%s", path, key);
    json_t *arr = json_object_get(stage, key);
    if (!arr) {
        return nas_error(NAS_EFORMAT, "%s: missing required key '%s' (kind macro)", L->file, where);
    }
    if (!json_is_array(arr)) {
        return bad_key(L, where, "expected an array of integers, got %s", json_type_name(arr));
    }
    size_t cnt = json_array_size(arr);
    if (cnt < 1 || cnt > NAS_MACRO_MAX_CHOICES) {
        return bad_key(L, where, "needs 1 to %d choices, got %zu", NAS_MACRO_MAX_CHOICES, cnt);
    }
    for (size_t i = 0; i < cnt; i++) {
        char item[112];
        snprintf(item, sizeof item, "%s[%zu]", where, i);
        NAS_CHECK(get_int(L, json_array_get(arr, i), item, lo, hi, &vals[i]));
        if (odd && vals[i] % 2 == 0) {
            return bad_key(L, item, "kernel size %d is even; kernels must be odd", vals[i]);
        }
        for (size_t j = 0; j < i; j++) {
            if (vals[j] == vals[i]) {
                return bad_key(L, item, "value %d is listed twice", vals[i]);
            }
        }
    }
    *n = (int)cnt;
    return NAS_OK;
}

static nas_status load_macro(const loader *L, json_t *root) {
    static const char *const keys[] = {"name",     "kind",  "description", "comment",
                                       "skeleton", "block", "stages",      NULL};
    NAS_CHECK(only_keys(L, root, "", keys));
    nas_space *sp = L->sp;
    json_t *v = NULL;
    NAS_CHECK(need(L, root, "block", "macro", &v));
    char block[64];
    NAS_CHECK(get_string(L, v, "block", block, sizeof block));
    if (strcmp(block, "inverted_residual") != 0) {
        return bad_key(L, "block", "unknown block type '%s' (known: inverted_residual)", block);
    }
    sp->block = NAS_BLOCK_INVERTED_RESIDUAL;
    json_t *stages = NULL;
    NAS_CHECK(need(L, root, "stages", "macro", &stages));
    if (!json_is_array(stages)) {
        return bad_key(L, "stages", "expected an array of stage objects, got %s",
                       json_type_name(stages));
    }
    size_t n = json_array_size(stages);
    if (n < 1 || n > NAS_MACRO_MAX_STAGES) {
        return bad_key(L, "stages", "needs 1 to %d stages, got %zu", NAS_MACRO_MAX_STAGES, n);
    }
    static const char *const stage_keys[] = {"stride", "depth",     "width",
                                             "kernel", "expansion", NULL};
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof path, "stages[%zu]", i);
        json_t *st = json_array_get(stages, i);
        if (!json_is_object(st)) {
            return bad_key(L, path, "expected an object, got %s", json_type_name(st));
        }
        NAS_CHECK(only_keys(L, st, path, stage_keys));
        nas_macro_stage_space *s = &sp->stages[i];
        json_t *stride = json_object_get(st, "stride");
        char key[64];
        snprintf(key, sizeof key, "%s.stride", path);
        if (!stride) {
            return nas_error(NAS_EFORMAT, "%s: missing required key '%s' (kind macro)", L->file,
                             key);
        }
        NAS_CHECK(get_int(L, stride, key, 1, 2, &s->stride));
        NAS_CHECK(load_choice_list(L, st, "depth", path, 1, 16, false, &s->n_depth, s->depth));
        NAS_CHECK(load_choice_list(L, st, "width", path, 1, 4096, false, &s->n_width, s->width));
        NAS_CHECK(load_choice_list(L, st, "kernel", path, 1, 11, true, &s->n_kernel, s->kernel));
        NAS_CHECK(load_choice_list(L, st, "expansion", path, 1, 16, false, &s->n_expansion,
                                   s->expansion));
    }
    sp->n_stages = (int)n;
    return NAS_OK;
}

/* ---- loading -------------------------------------------------------------------------------- */

static bool looks_like_path(const char *s) {
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 5 && strcmp(s + n - 5, ".json") == 0);
}

/* The digest of a space's content: md5 of its JSON with sorted keys, compact, without the keys
   that change no network ("description", "comment"), so re-indenting a file keeps its digest. */
static nas_status space_digest(const loader *L, json_t *root, char hex[33]) {
    json_t *copy = json_deep_copy(root);
    if (!copy) {
        return nas_error(NAS_ENOMEM, "%s: out of memory", L->file);
    }
    json_object_del(copy, "description");
    json_object_del(copy, "comment");
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(copy);
    if (!text) {
        return nas_error(NAS_ENOMEM, "%s: out of memory", L->file);
    }
    nas_i_md5_hex(text, strlen(text), hex);
    free(text); /* jansson's allocation */
    return NAS_OK;
}

static nas_status load_json(nas_space *sp, const char *path, const char *text, size_t n) {
    loader L = {path, sp};
    json_error_t jerr;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        return nas_error(NAS_EFORMAT, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column,
                         jerr.text);
    }
    nas_status st = NAS_OK;
    if (!json_is_object(root)) {
        st = nas_error(NAS_EFORMAT, "%s: the top level must be a JSON object, got %s", path,
                       json_type_name(root));
        goto cleanup;
    }
    json_t *v = json_object_get(root, "name");
    if (v) {
        NAS_TRY(get_string(&L, v, "name", sp->name, sizeof sp->name));
        for (const char *c = sp->name; *c; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.')) {
                st = bad_key(&L, "name", "'%s' may only hold letters, digits, '_', '-' and '.'",
                             sp->name);
                goto cleanup;
            }
        }
        if (!sp->name[0]) {
            st = bad_key(&L, "name", "must not be empty");
            goto cleanup;
        }
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        snprintf(sp->name, sizeof sp->name, "%s", base);
        size_t len = strlen(sp->name);
        if (len > 5 && strcmp(sp->name + len - 5, ".json") == 0) {
            sp->name[len - 5] = '\0';
        }
    }
    v = json_object_get(root, "description");
    if (v) {
        NAS_TRY(get_string(&L, v, "description", sp->description, sizeof sp->description));
    }
    v = json_object_get(root, "comment");
    if (v && !json_is_string(v)) {
        st = bad_key(&L, "comment", "expected a string, got %s", json_type_name(v));
        goto cleanup;
    }
    json_t *kind = json_object_get(root, "kind");
    if (!kind) {
        st = nas_error(NAS_EFORMAT,
                       "%s: missing required key 'kind' (one of cell_nb201, cell_nb101, "
                       "cell_darts, macro)",
                       path);
        goto cleanup;
    }
    char kname[32];
    NAS_TRY(get_string(&L, kind, "kind", kname, sizeof kname));
    int k = -1;
    for (int i = 0; i < NAS_SPACE_KIND_COUNT; i++) {
        if (strcmp(kname, kind_names[i]) == 0) {
            k = i;
        }
    }
    if (k < 0) {
        st = bad_key(&L, "kind",
                     "unknown kind '%s' (one of cell_nb201, cell_nb101, cell_darts, macro)", kname);
        goto cleanup;
    }
    sp->kind = (nas_space_kind)k;
    NAS_TRY(load_skeleton(&L, root));
    switch (sp->kind) {
        case NAS_SPACE_NB201:
            NAS_TRY(load_nb201(&L, root));
            break;
        case NAS_SPACE_NB101:
            NAS_TRY(load_nb101(&L, root));
            break;
        case NAS_SPACE_DARTS:
            NAS_TRY(load_darts(&L, root));
            break;
        default:
            NAS_TRY(load_macro(&L, root));
            break;
    }
    NAS_TRY(space_digest(&L, root, sp->digest));
cleanup:
    json_decref(root);
    return st;
}

nas_status nas_space_parse(nas_space *out, const char *text, size_t n, const char *path) {
    memset(out, 0, sizeof *out);
    const char *what = path && path[0] ? path : "(space text)";
    snprintf(out->path, sizeof out->path, "%s", what);
    nas_status st = load_json(out, what, text ? text : "", text ? n : 0);
    if (st != NAS_OK) {
        memset(out, 0, sizeof *out);
    }
    out->from_text = st == NAS_OK;
    return st;
}

nas_status nas_space_read_text(const char *path, char **text, size_t *n) {
    void *bytes = NULL;
    nas_status st = nas_file_read_bounded(path, "space file", NAS_SPACE_FILE_MAX, &bytes, n);
    if (st == NAS_ENOTFOUND) {
        st = nas_error(NAS_EIO, "%s: cannot open space file: no such file", path);
    }
    NAS_CHECK(st);
    *text = bytes;
    return NAS_OK;
}

nas_status nas_space_content(const nas_space *sp, char **json) {
    *json = NULL;
    if (!sp->digest[0]) {
        return nas_error(NAS_EINVAL, "space %s was not loaded from a file (it has no digest)",
                         sp->name);
    }
    char *text = NULL;
    size_t n = 0;
    NAS_CHECK(nas_space_read_text(sp->path, &text, &n));
    nas_space now;
    memset(&now, 0, sizeof now);
    nas_status st = load_json(&now, sp->path, text, n);
    if (st != NAS_OK || strcmp(now.digest, sp->digest) != 0) {
        nas_free(text);
        return nas_error(NAS_EINVAL, "space file %s changed since it was loaded (start again)",
                         sp->path);
    }
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
    nas_free(text);
    char *dump = root ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    *json = dump ? nas_strdup(dump) : NULL;
    free(dump); /* jansson's allocation */
    if (!*json) {
        return nas_error(NAS_ENOMEM, "space file %s: out of memory", sp->path);
    }
    return NAS_OK;
}

static nas_status load_file(nas_space *sp, const char *path) {
    char *text = NULL;
    size_t n = 0;
    NAS_CHECK(nas_space_read_text(path, &text, &n));
    nas_status st = load_json(sp, path, text, n);
    nas_free(text);
    return st;
}

nas_status nas_space_load(nas_space *out, const char *name_or_path) {
    memset(out, 0, sizeof *out);
    if (!name_or_path || !name_or_path[0]) {
        return nas_error(NAS_EINVAL, "space name is empty");
    }
    char path[PATH_MAX];
    if (looks_like_path(name_or_path)) {
        snprintf(path, sizeof path, "%s", name_or_path);
    } else {
        for (const char *c = name_or_path; *c; c++) {
            bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' ||
                      (*c == '.' && c != name_or_path);
            if (!ok) {
                return nas_error(NAS_EINVAL,
                                 "bad space name '%s' (a built-in name, or a path to a .json file)",
                                 name_or_path);
            }
        }
        char dir[PATH_MAX];
        NAS_CHECK(nas_space_dir(dir, sizeof dir));
        snprintf(path, sizeof path, "%s/%s.json", dir, name_or_path);
        if (access(path, F_OK) != 0) {
            char names[32][64];
            int n = 0;
            char list[512] = "";
            if (nas_space_list(names, 32, &n) == NAS_OK) {
                size_t off = 0;
                for (int i = 0; i < n && i < 32 && off < sizeof list; i++) {
                    int w =
                        snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", names[i]);
                    off += w > 0 ? (size_t)w : 0;
                }
            }
            return nas_error(NAS_ENOTFOUND,
                             "unknown space '%s' (built-in spaces in %s: %s; or give the path "
                             "of a .json file)",
                             name_or_path, dir, list);
        }
    }
    snprintf(out->path, sizeof out->path, "%s", path);
    nas_status st = load_file(out, path);
    if (st != NAS_OK) {
        memset(out, 0, sizeof *out);
    }
    return st;
}

/* ---- skeleton ------------------------------------------------------------------------------- */

static const nas_skeleton_entry *skeleton_find(const nas_space *sp, const char *key) {
    for (int i = 0; i < sp->n_skeleton; i++) {
        if (strcmp(sp->skeleton[i].key, key) == 0) {
            return &sp->skeleton[i];
        }
    }
    return NULL;
}

nas_status nas_space_skeleton_int(const nas_space *sp, const char *key, long *out) {
    const nas_skeleton_entry *e = skeleton_find(sp, key);
    if (!e) {
        return nas_error(NAS_ENOTFOUND, "space %s: no skeleton entry '%s'", sp->name, key);
    }
    if (e->is_string) {
        return nas_error(NAS_EINVAL, "space %s: skeleton entry '%s' is a string, not an integer",
                         sp->name, key);
    }
    *out = e->value;
    return NAS_OK;
}

nas_status nas_space_skeleton_str(const nas_space *sp, const char *key, const char **out) {
    const nas_skeleton_entry *e = skeleton_find(sp, key);
    if (!e) {
        return nas_error(NAS_ENOTFOUND, "space %s: no skeleton entry '%s'", sp->name, key);
    }
    if (!e->is_string) {
        return nas_error(NAS_EINVAL, "space %s: skeleton entry '%s' is an integer, not a string",
                         sp->name, key);
    }
    *out = e->text;
    return NAS_OK;
}
