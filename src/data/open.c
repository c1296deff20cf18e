/*
 * Data sources: a --data spec (a known name, KIND:DIR, or a bare directory whose kind is
 * detected, with an optional @HxW resize for folders) resolved to a canonical description, and
 * the loading of one split of it with the reader of its kind (IDX, CIFAR-10, CIFAR-100, image
 * folder). The one table of known names lives here.
 */
#include "data-impl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RESIZE_MAX 4096 /* largest side of an @HxW resize */

typedef struct known_entry {
    const char *name;    /* spec */
    nas_data_kind kind;  /* reader */
    const char *env;     /* environment variable naming the directory */
    const char *def_dir; /* default directory */
    const char *remedy;  /* what to do when the directory is missing */
} known_entry;

static const known_entry known[] = {
    {"fashion-mnist", NAS_DATA_IDX, NAS_FASHION_MNIST_ENV, NAS_FASHION_MNIST_DIR,
     "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
     "or give --data-dir or " NAS_FASHION_MNIST_ENV
     " naming a directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz"},
    {"mnist", NAS_DATA_IDX, NAS_MNIST_ENV, NAS_MNIST_DIR,
     "give --data-dir or " NAS_MNIST_ENV
     " naming a directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"},
    {"cifar10", NAS_DATA_CIFAR10, NAS_CIFAR10_ENV, NAS_CIFAR10_DIR,
     "give --data-dir or " NAS_CIFAR10_ENV
     " naming the directory of the CIFAR-10 binary version (data_batch_1.bin .. "
     "data_batch_5.bin, test_batch.bin)"},
    {"cifar100", NAS_DATA_CIFAR100, NAS_CIFAR100_ENV, NAS_CIFAR100_DIR,
     "give --data-dir or " NAS_CIFAR100_ENV
     " naming the directory of the CIFAR-100 binary version (train.bin, test.bin)"},
};

#define N_KNOWN (int)(sizeof known / sizeof known[0])

#define PATH_FORMS                                                                                 \
    "idx:DIR, cifar10:DIR, cifar100:DIR, folder:DIR[@HxW], or a directory whose kind is "          \
    "detected"

static const known_entry *find_known(const char *name) {
    for (int i = 0; name && i < N_KNOWN; i++) {
        if (strcmp(known[i].name, name) == 0) {
            return &known[i];
        }
    }
    return NULL;
}

bool nas_data_known(const char *name) {
    return find_known(name) != NULL;
}

const char *nas_data_names(void) {
    return "fashion-mnist, mnist, cifar10, cifar100";
}

/* ---- files of each kind -------------------------------------------------------------------- */

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool join(char *buf, size_t cap, const char *dir, const char *file) {
    int len = snprintf(buf, cap, "%s/%s", dir, file);
    return len > 0 && (size_t)len < cap;
}

/* dir/<stem>.gz if present, else dir/<stem> if present; false when neither. */
static bool idx_file(char *buf, size_t cap, const char *dir, const char *stem) {
    char name[128];
    snprintf(name, sizeof name, "%s.gz", stem);
    if (join(buf, cap, dir, name) && is_file(buf)) {
        return true;
    }
    return join(buf, cap, dir, stem) && is_file(buf);
}

static const char *const idx_stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* The first of the four IDX files missing in dir, or NULL when all are there. */
static const char *idx_missing(const char *dir) {
    char path[PATH_MAX + 64];
    for (int i = 0; i < 4; i++) {
        if (!idx_file(path, sizeof path, dir, idx_stems[i])) {
            return idx_stems[i];
        }
    }
    return NULL;
}

typedef struct cifar_layout {
    const char *title; /* "CIFAR-10" */
    const char *sub;   /* folder the archive unpacks into */
    const char *train; /* first training file */
    const char *test;  /* test file */
} cifar_layout;

static const cifar_layout cifar10_layout = {"CIFAR-10", "cifar-10-batches-bin", "data_batch_1.bin",
                                            "test_batch.bin"};
static const cifar_layout cifar100_layout = {"CIFAR-100", "cifar-100-binary", "train.bin",
                                             "test.bin"};

/* dir or dir/<sub>, whichever holds the training file, into base; false when neither does. */
static bool cifar_base(const cifar_layout *l, const char *dir, char *base, size_t cap) {
    char path[PATH_MAX + 64];
    if (join(path, sizeof path, dir, l->train) && is_file(path)) {
        snprintf(base, cap, "%s", dir);
        return true;
    }
    char sub[PATH_MAX + 64];
    if (join(sub, sizeof sub, dir, l->sub) && join(path, sizeof path, sub, l->train) &&
        is_file(path)) {
        snprintf(base, cap, "%s", sub);
        return true;
    }
    return false;
}

/* ---- resolve ------------------------------------------------------------------------------- */

/* Strip a trailing "@HxW" from s (in place) into *h, *w; 0, 0 when there is none. */
static nas_status strip_resize(char *s, const char *spec, int *h, int *w) {
    *h = *w = 0;
    char *at = strrchr(s, '@');
    if (!at) {
        return NAS_OK;
    }
    const char *p = at + 1;
    long vh = 0, vw = 0;
    int dh = 0, dw = 0;
    while (isdigit((unsigned char)*p) && dh < 6) {
        vh = vh * 10 + (*p++ - '0');
        dh++;
    }
    if (dh == 0 || (*p != 'x' && *p != 'X')) {
        return NAS_OK; /* an '@' that is part of the path */
    }
    p++;
    while (isdigit((unsigned char)*p) && dw < 6) {
        vw = vw * 10 + (*p++ - '0');
        dw++;
    }
    if (dw == 0 || *p) {
        return NAS_OK;
    }
    if (vh < 1 || vw < 1 || vh > RESIZE_MAX || vw > RESIZE_MAX) {
        return nas_error(NAS_EINVAL, "data set '%s': resize %s is outside 1x1..%dx%d", spec, at,
                         RESIZE_MAX, RESIZE_MAX);
    }
    *h = (int)vh;
    *w = (int)vw;
    *at = '\0';
    return NAS_OK;
}

static const char *kind_prefix(nas_data_kind k) {
    switch (k) {
        case NAS_DATA_IDX:
            return "idx";
        case NAS_DATA_CIFAR10:
            return "cifar10";
        case NAS_DATA_CIFAR100:
            return "cifar100";
        case NAS_DATA_FOLDER:
            return "folder";
    }
    return "?";
}

/* The files of kind k are in dir: set out->dir, or fail with a message saying what is missing. */
static nas_status check_kind(nas_data_desc *out, nas_data_kind k, const char *dir,
                             const char *spec) {
    char base[PATH_MAX + 64];
    const cifar_layout *l = k == NAS_DATA_CIFAR10 ? &cifar10_layout : &cifar100_layout;
    switch (k) {
        case NAS_DATA_IDX: {
            const char *miss = idx_missing(dir);
            if (miss) {
                return nas_error(NAS_ENOTFOUND,
                                 "data set '%s': %s has no %s[.gz] (IDX data sets hold "
                                 "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])",
                                 spec, dir, miss);
            }
            snprintf(out->dir, sizeof out->dir, "%s", dir);
            return NAS_OK;
        }
        case NAS_DATA_CIFAR10:
        case NAS_DATA_CIFAR100: {
            if (!cifar_base(l, dir, base, sizeof base)) {
                return nas_error(NAS_ENOTFOUND,
                                 "data set '%s': %s has no %s (nor %s/%s), the first "
                                 "file of the %s binary version",
                                 spec, dir, l->train, l->sub, l->train, l->title);
            }
            char test[PATH_MAX + 64];
            if (!join(test, sizeof test, base, l->test) || !is_file(test)) {
                return nas_error(NAS_ENOTFOUND, "data set '%s': %s has %s but no %s", spec, base,
                                 l->train, l->test);
            }
            if (strlen(base) >= sizeof out->dir) {
                return nas_error(NAS_EINVAL, "data set '%s': path too long", spec);
            }
            snprintf(out->dir, sizeof out->dir, "%s", base);
            return NAS_OK;
        }
        case NAS_DATA_FOLDER:
            if (!nas_i_folder_detect(dir)) {
                return nas_error(
                    NAS_ENOTFOUND,
                    "data set '%s': %s is not an image folder (expected "
                    "one sub-folder per class holding PNG or JPEG files, or train/ and "
                    "test/ holding such class folders)",
                    spec, dir);
            }
            snprintf(out->dir, sizeof out->dir, "%s", dir);
            return NAS_OK;
    }
    return nas_error(NAS_EINTERNAL, "data set '%s': unknown kind %d", spec, (int)k);
}

static nas_status resolve_known(nas_data_desc *out, const known_entry *e, const char *dir) {
    const char *from = "--data-dir";
    if (!dir || !*dir) {
        dir = getenv(e->env);
        from = e->env;
        if (!dir || !*dir) {
            dir = e->def_dir;
            from = "the default directory";
        }
    }
    if (strlen(dir) >= sizeof out->dir) {
        return nas_error(NAS_EINVAL, "data set '%s': directory name too long: %s", e->name, dir);
    }
    if (!is_dir(dir)) {
        return nas_error(NAS_ENOTFOUND, "data set '%s': directory %s (%s) does not exist; %s",
                         e->name, dir, from, e->remedy);
    }
    nas_status st = check_kind(out, e->kind, dir, e->name);
    if (st != NAS_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", nas_errmsg());
        return nas_error(st, "%s (directory from %s); %s", msg, from, e->remedy);
    }
    snprintf(out->spec, sizeof out->spec, "%s", e->name);
    out->kind = e->kind;
    out->natural = e->kind != NAS_DATA_IDX;
    return NAS_OK;
}

/* The kind of what dir holds, or a message listing what was looked for. */
static nas_status detect_kind(const char *dir, const char *spec, nas_data_kind *k) {
    char base[PATH_MAX + 64];
    if (!idx_missing(dir)) {
        *k = NAS_DATA_IDX;
    } else if (cifar_base(&cifar10_layout, dir, base, sizeof base)) {
        *k = NAS_DATA_CIFAR10;
    } else if (cifar_base(&cifar100_layout, dir, base, sizeof base)) {
        *k = NAS_DATA_CIFAR100;
    } else if (nas_i_folder_detect(dir)) {
        *k = NAS_DATA_FOLDER;
    } else {
        return nas_error(NAS_ENOTFOUND,
                         "data set '%s': %s holds none of the known layouts; looked for IDX files "
                         "({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]), CIFAR-10 "
                         "(data_batch_1.bin, also in cifar-10-batches-bin/), CIFAR-100 "
                         "(train.bin, also in cifar-100-binary/), and an image folder (one "
                         "sub-folder per class holding PNG or JPEG files, optionally under "
                         "train/ and test/)",
                         spec, dir);
    }
    return NAS_OK;
}

nas_status nas_data_resolve(nas_data_desc *out, const char *spec, const char *dir) {
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) {
        return nas_error(NAS_EINVAL, "no data set given: a known name (%s) or a path (%s)",
                         nas_data_names(), PATH_FORMS);
    }
    if (strlen(spec) >= NAS_DATA_SPEC_MAX) {
        return nas_error(NAS_EINVAL, "data set spec longer than %d bytes", NAS_DATA_SPEC_MAX - 1);
    }
    const known_entry *e = find_known(spec);
    if (e) {
        return resolve_known(out, e, dir);
    }

    char buf[NAS_DATA_SPEC_MAX];
    snprintf(buf, sizeof buf, "%s", spec);
    static const struct {
        const char *prefix;
        nas_data_kind kind;
    } prefixes[] = {{"idx:", NAS_DATA_IDX},
                    {"cifar10:", NAS_DATA_CIFAR10},
                    {"cifar100:", NAS_DATA_CIFAR100},
                    {"folder:", NAS_DATA_FOLDER}};
    const char *path = buf;
    int kind = -1;
    for (int i = 0; i < 4; i++) {
        size_t len = strlen(prefixes[i].prefix);
        if (strncmp(buf, prefixes[i].prefix, len) == 0) {
            kind = (int)prefixes[i].kind;
            path = buf + len;
            break;
        }
    }
    int rh = 0, rw = 0;
    NAS_CHECK(strip_resize(buf, spec, &rh, &rw));
    if (kind < 0 && (rh || rw) && find_known(path)) {
        return nas_error(NAS_EINVAL,
                         "data set '%s': a resize (@HxW) applies to image folders only, not to "
                         "the known data set %s",
                         spec, path);
    }
    if (kind < 0 && !strchr(path, '/') && !is_dir(path)) {
        return nas_error(NAS_EINVAL,
                         "unknown data set '%s': the known names are %s; a path is given as %s",
                         spec, nas_data_names(), PATH_FORMS);
    }
    if (!*path) {
        return nas_error(NAS_EINVAL, "data set '%s': no directory after the prefix", spec);
    }
    char abs[PATH_MAX];
    errno = 0;
    if (!realpath(path, abs)) {
        return nas_error(errno == ENOENT || errno == ENOTDIR ? NAS_ENOTFOUND : NAS_EIO,
                         "data set '%s': %s: %s", spec, path,
                         errno == ENOENT ? "no such directory" : strerror(errno));
    }
    if (!is_dir(abs)) {
        return nas_error(NAS_EINVAL, "data set '%s': %s is not a directory", spec, path);
    }
    if (kind < 0) {
        nas_data_kind k = NAS_DATA_IDX;
        NAS_CHECK(detect_kind(abs, spec, &k));
        kind = (int)k;
    }
    if ((rh || rw) && kind != NAS_DATA_FOLDER) {
        return nas_error(NAS_EINVAL,
                         "data set '%s': a resize (@%dx%d) applies to image folders only, and %s "
                         "is %s data",
                         spec, rh, rw, abs, kind_prefix((nas_data_kind)kind));
    }
    NAS_CHECK(check_kind(out, (nas_data_kind)kind, abs, spec));
    out->kind = (nas_data_kind)kind;
    out->natural = out->kind != NAS_DATA_IDX;
    out->resize_h = rh;
    out->resize_w = rw;
    char size[32] = "";
    if (rh) {
        snprintf(size, sizeof size, "@%dx%d", rh, rw);
    }
    int len = snprintf(out->spec, sizeof out->spec, "%s:%s%s", kind_prefix(out->kind), abs, size);
    if (len < 0 || (size_t)len >= sizeof out->spec) {
        return nas_error(NAS_EINVAL, "data set '%s': the absolute path %s is too long", spec, abs);
    }
    return NAS_OK;
}

/* ---- load ---------------------------------------------------------------------------------- */

/* Last path component of dir, for dataset names. */
static const char *base_name(const char *dir) {
    const char *s = strrchr(dir, '/');
    return s && s[1] ? s + 1 : dir;
}

/* idx:DIR: classes from DIR/classes.txt if present, else 1 + the largest label of both splits. */
static nas_status load_idx_dir(nas_dataset *out, const nas_data_desc *d, const char *split) {
    nas_status st = NAS_OK;
    char **names = NULL;
    int n_names = 0, n_classes = 0;
    char path[PATH_MAX + 64];
    if (!join(path, sizeof path, d->dir, "classes.txt")) {
        return nas_error(NAS_EINVAL, "%s: path too long", d->dir);
    }
    if (is_file(path)) {
        NAS_TRY(nas_i_names_read(path, &names, &n_names));
        if (n_names < 2 || n_names > 256) {
            NAS_TRY(nas_error(NAS_EFORMAT, "%s: %d class names, expected 2..256", path, n_names));
        }
        n_classes = n_names;
    } else {
        for (int s = 0; s < 2; s++) {
            int mx = 0;
            if (!idx_file(path, sizeof path, d->dir, idx_stems[2 * s + 1])) {
                NAS_TRY(nas_error(NAS_ENOTFOUND, "%s: no %s[.gz]", d->dir, idx_stems[2 * s + 1]));
            }
            NAS_TRY(nas_i_idx_max_label(path, &mx));
            n_classes = mx + 1 > n_classes ? mx + 1 : n_classes;
        }
        if (n_classes < 2) {
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "%s: every label is 0; a data set needs at least 2 classes", d->dir));
        }
    }
    int which = strcmp(split, "train") == 0 ? 0 : 2;
    char images[PATH_MAX + 64], labels[PATH_MAX + 64];
    if (!idx_file(images, sizeof images, d->dir, idx_stems[which])) {
        NAS_TRY(nas_error(NAS_ENOTFOUND, "%s: no %s[.gz]", d->dir, idx_stems[which]));
    }
    if (!idx_file(labels, sizeof labels, d->dir, idx_stems[which + 1])) {
        NAS_TRY(nas_error(NAS_ENOTFOUND, "%s: no %s[.gz]", d->dir, idx_stems[which + 1]));
    }
    char name[64];
    snprintf(name, sizeof name, "%.40s-%s", base_name(d->dir), split);
    NAS_TRY(nas_data_read_idx(out, images, labels, n_classes, name));
    out->class_names = names;
    names = NULL;
cleanup:
    nas_i_names_free(names, n_names);
    return st;
}

/* Class names of a CIFAR directory from its meta file when present (a missing file is fine). */
static nas_status cifar_names(nas_dataset *out, const char *dir, const char *file) {
    char path[PATH_MAX + 64];
    if (!join(path, sizeof path, dir, file) || !is_file(path)) {
        return NAS_OK;
    }
    char **names = NULL;
    int n = 0;
    NAS_CHECK(nas_i_names_read(path, &names, &n));
    if (n != out->n_classes) {
        nas_i_names_free(names, n);
        return nas_error(NAS_EFORMAT, "%s: %d class names, expected %d", path, n, out->n_classes);
    }
    out->class_names = names;
    return NAS_OK;
}

static nas_status load_cifar100(nas_dataset *out, const nas_data_desc *d, const char *split) {
    char path[PATH_MAX + 64];
    if (!join(path, sizeof path, d->dir, strcmp(split, "train") == 0 ? "train.bin" : "test.bin")) {
        return nas_error(NAS_EINVAL, "%s: path too long", d->dir);
    }
    const char *paths[1] = {path};
    char name[64];
    snprintf(name, sizeof name, "cifar100-%s", split);
    return nas_i_read_cifar100(out, paths, 1, name);
}

nas_status nas_data_load(nas_dataset *out, const nas_data_desc *d, const char *split) {
    nas_status st = NAS_OK;
    memset(out, 0, sizeof *out);
    if (!d) {
        return nas_error(NAS_EINVAL, "load: no data set description");
    }
    if (!split || (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)) {
        return nas_error(NAS_EINVAL,
                         "data set '%s': split must be \"train\" or \"test\", got \"%s\"", d->spec,
                         split ? split : "(null)");
    }
    switch (d->kind) {
        case NAS_DATA_IDX:
            if (strcmp(d->spec, "fashion-mnist") == 0) {
                NAS_TRY(nas_data_load_fashion_mnist(out, d->dir, split));
            } else if (strcmp(d->spec, "mnist") == 0) {
                NAS_TRY(nas_data_load_mnist(out, d->dir, split));
            } else {
                NAS_TRY(load_idx_dir(out, d, split));
            }
            break;
        case NAS_DATA_CIFAR10:
            NAS_TRY(nas_data_load_cifar10(out, d->dir, split));
            NAS_TRY(cifar_names(out, d->dir, "batches.meta.txt"));
            break;
        case NAS_DATA_CIFAR100:
            NAS_TRY(load_cifar100(out, d, split));
            NAS_TRY(cifar_names(out, d->dir, "fine_label_names.txt"));
            break;
        case NAS_DATA_FOLDER:
            NAS_TRY(nas_i_folder_load(out, d, split));
            break;
        default:
            return nas_error(NAS_EINVAL, "data set '%s': unknown kind %d", d->spec, (int)d->kind);
    }
    nas_data_fingerprint(out, out->fingerprint);
    return NAS_OK;
cleanup:
    nas_data_free(out);
    return st;
}

nas_status nas_data_open(nas_dataset *out, const char *spec, const char *dir, const char *split) {
    nas_data_desc d;
    memset(out, 0, sizeof *out);
    NAS_CHECK(nas_data_resolve(&d, spec, dir));
    return nas_data_load(out, &d, split);
}
