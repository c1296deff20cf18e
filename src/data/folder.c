/*
 * Image folders, the convention of torchvision's ImageFolder: DIR/CLASS/IMAGE, or
 * DIR/train/CLASS/IMAGE with DIR/test/CLASS/IMAGE. Classes are the sorted sub-folder names,
 * images the sorted non-hidden files of each class folder, PNG or JPEG by their first bytes.
 * Without train/ and test/, every 5th image of each class is the test split.
 *
 * Loading runs in two parallel passes over the files (OpenMP): headers first (size and
 * channels, so the data set is allocated once at its final shape: 3 channels if any image is
 * colour), then decoding, each image placed straight into its slot (resized with pixman when a
 * resize is given). Errors name the file; the lowest-numbered failing file is reported.
 */
#include "data-impl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define HOLDOUT_EVERY 5    /* folders without train/ and test/: every 5th image is a test image */
#define PROGRESS_MIN  1000 /* show progress for folders of at least this many images */

/* A growable list of heap strings. */
typedef struct strlist {
    char **v;
    int n, cap;
} strlist;

static void strlist_free(strlist *l) {
    for (int i = 0; i < l->n; i++) {
        nas_free(l->v[i]);
    }
    nas_free(l->v);
    memset(l, 0, sizeof *l);
}

static nas_status strlist_push(strlist *l, const char *s) {
    if (l->n == l->cap) {
        int ncap = l->cap ? 2 * l->cap : 64;
        if (ncap > INT32_MAX / 2) {
            return nas_error(NAS_EINVAL, "too many entries");
        }
        char **p = nas_realloc(l->v, (size_t)ncap * sizeof *p);
        if (!p) {
            return nas_error(NAS_ENOMEM, "out of memory listing files");
        }
        l->v = p;
        l->cap = ncap;
    }
    l->v[l->n] = nas_strdup(s);
    if (!l->v[l->n]) {
        return nas_error(NAS_ENOMEM, "out of memory listing files");
    }
    l->n++;
    return NAS_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The sorted non-hidden entries of dir that are directories (want_dirs) or the others. */
static nas_status list_dir(const char *dir, bool want_dirs, strlist *out, strlist *others) {
    memset(out, 0, sizeof *out);
    errno = 0;
    DIR *d = opendir(dir);
    if (!d) {
        return nas_error(errno == ENOENT ? NAS_ENOTFOUND : NAS_EIO, "%s: cannot read: %s", dir,
                         strerror(errno));
    }
    nas_status st = NAS_OK;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        int len = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len < 0 || (size_t)len >= sizeof path) {
            st = nas_error(NAS_EINVAL, "%s/%s: path too long", dir, e->d_name);
            break;
        }
        bool sub = is_dir(path);
        if (sub == want_dirs) {
            st = strlist_push(out, e->d_name);
        } else if (others) {
            st = strlist_push(others, e->d_name);
        }
        if (st != NAS_OK) {
            break;
        }
    }
    closedir(d);
    if (st != NAS_OK) {
        strlist_free(out);
        if (others) {
            strlist_free(others);
        }
        return st;
    }
    if (out->n > 1) {
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    }
    return NAS_OK;
}

/* Whether dir has a sub-folder holding a non-hidden regular file. */
static bool has_class_with_file(const char *dir) {
    strlist classes;
    if (list_dir(dir, true, &classes, NULL) != NAS_OK) {
        return false;
    }
    bool found = false;
    char path[PATH_MAX];
    for (int i = 0; i < classes.n && !found; i++) {
        strlist files;
        snprintf(path, sizeof path, "%s/%s", dir, classes.v[i]);
        if (list_dir(path, false, &files, NULL) == NAS_OK) {
            found = files.n > 0;
            strlist_free(&files);
        }
    }
    strlist_free(&classes);
    return found;
}

static bool has_split_dirs(const char *dir) {
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s/train", dir);
    snprintf(b, sizeof b, "%s/test", dir);
    return is_dir(a) && is_dir(b);
}

bool nas_i_folder_detect(const char *dir) {
    if (has_split_dirs(dir)) {
        char a[PATH_MAX];
        snprintf(a, sizeof a, "%s/train", dir);
        return has_class_with_file(a);
    }
    return has_class_with_file(dir);
}

/* ---- the file list of one split ------------------------------------------------------------ */

typedef struct folder_list {
    strlist classes; /* sorted class names */
    strlist paths;   /* image files of the split, class by class */
    int32_t *labels; /* [paths.n] */
    int cap_labels;
} folder_list;

static void folder_list_free(folder_list *fl) {
    strlist_free(&fl->classes);
    strlist_free(&fl->paths);
    nas_free(fl->labels);
    memset(fl, 0, sizeof *fl);
}

static nas_status add_file(folder_list *fl, const char *path, int32_t label) {
    if (fl->paths.n == fl->cap_labels) {
        int ncap = fl->cap_labels ? 2 * fl->cap_labels : 256;
        int32_t *p = nas_realloc(fl->labels, (size_t)ncap * sizeof *p);
        if (!p) {
            return nas_error(NAS_ENOMEM, "out of memory listing images");
        }
        fl->labels = p;
        fl->cap_labels = ncap;
    }
    NAS_CHECK(strlist_push(&fl->paths, path));
    fl->labels[fl->paths.n - 1] = label;
    return NAS_OK;
}

/* The class folders under root, checked: at least two, none empty, no nested folders. */
static nas_status list_classes(const char *root, const char *spec, strlist *classes) {
    NAS_CHECK(list_dir(root, true, classes, NULL));
    if (classes->n == 0) {
        strlist_free(classes);
        return nas_error(NAS_EFORMAT,
                         "data set '%s': %s has no class folders (an image folder holds one "
                         "sub-folder per class)",
                         spec, root);
    }
    if (classes->n < 2) {
        nas_error(NAS_EFORMAT,
                  "data set '%s': %s has one class folder (%s); classification needs at least 2",
                  spec, root, classes->v[0]);
        strlist_free(classes);
        return NAS_EFORMAT;
    }
    if (classes->n > 65536) {
        strlist_free(classes);
        return nas_error(NAS_EFORMAT, "data set '%s': %s has more than 65536 class folders", spec,
                         root);
    }
    return NAS_OK;
}

/* Files of one class folder (sorted); an empty folder or a nested folder is an error. */
static nas_status list_class_files(const char *cdir, const char *spec, strlist *files) {
    strlist dirs = {0};
    NAS_CHECK(list_dir(cdir, false, files, &dirs));
    if (dirs.n > 0) {
        nas_error(NAS_EFORMAT,
                  "data set '%s': %s/%s is a folder inside a class folder (nested "
                  "folders are not read)",
                  spec, cdir, dirs.v[0]);
        strlist_free(&dirs);
        strlist_free(files);
        return NAS_EFORMAT;
    }
    strlist_free(&dirs);
    if (files->n == 0) {
        strlist_free(files);
        return nas_error(NAS_EFORMAT, "data set '%s': class folder %s holds no images", spec, cdir);
    }
    return NAS_OK;
}

static nas_status list_split(const nas_data_desc *d, const char *split, folder_list *fl) {
    nas_status st = NAS_OK;
    strlist files = {0}, test_classes = {0};
    char root[PATH_MAX], cdir[PATH_MAX], path[PATH_MAX];
    memset(fl, 0, sizeof *fl);
    const bool split_dirs = has_split_dirs(d->dir);
    const bool want_test = strcmp(split, "test") == 0;
    snprintf(root, sizeof root, "%s%s", d->dir, split_dirs ? "/train" : "");
    NAS_TRY(list_classes(root, d->spec, &fl->classes));
    if (split_dirs && want_test) {
        snprintf(root, sizeof root, "%s/test", d->dir);
        NAS_TRY(list_classes(root, d->spec, &test_classes));
        bool same = test_classes.n == fl->classes.n;
        for (int i = 0; same && i < fl->classes.n; i++) {
            same = strcmp(test_classes.v[i], fl->classes.v[i]) == 0;
        }
        if (!same) {
            NAS_TRY(nas_error(NAS_EFORMAT,
                              "data set '%s': %s/train and %s/test hold different class folders "
                              "(%d and %d); both need the same classes",
                              d->spec, d->dir, d->dir, fl->classes.n, test_classes.n));
        }
    }
    for (int k = 0; k < fl->classes.n; k++) {
        snprintf(cdir, sizeof cdir, "%s/%s", root, fl->classes.v[k]);
        NAS_TRY(list_class_files(cdir, d->spec, &files));
        for (int i = 0; i < files.n; i++) {
            bool held_out = i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1;
            if (!split_dirs && held_out != want_test) {
                continue;
            }
            int len = snprintf(path, sizeof path, "%s/%s", cdir, files.v[i]);
            if (len < 0 || (size_t)len >= sizeof path) {
                NAS_TRY(nas_error(NAS_EINVAL, "%s/%s: path too long", cdir, files.v[i]));
            }
            NAS_TRY(add_file(fl, path, k));
        }
        strlist_free(&files);
    }
    if (fl->paths.n == 0) {
        NAS_TRY(nas_error(NAS_EFORMAT,
                          "data set '%s': no %s images (without train/ and test/ folders every "
                          "%dth image of a class is a test image, so a class needs %d images "
                          "to give one)",
                          d->spec, split, HOLDOUT_EVERY, HOLDOUT_EVERY));
    }
cleanup:
    strlist_free(&files);
    strlist_free(&test_classes);
    if (st != NAS_OK) {
        folder_list_free(fl);
    }
    return st;
}

/* ---- parallel passes ----------------------------------------------------------------------- */

/* The first failure of a parallel pass: the lowest file index and its message. */
typedef struct first_fail {
    int64_t index; /* INT64_MAX when none */
    nas_status st;
    char msg[1024];
} first_fail;

/* One file done in a parallel pass: count it, and let thread 0 redraw the progress line every
 * 64 files (nas_progress is not thread-safe). */
static void tick(int64_t *done, nas_progress *prog, const char *what) {
    int64_t k;
#pragma omp atomic capture
    k = ++*done;
#ifdef _OPENMP
    const bool redraw = omp_get_thread_num() == 0 && k % 64 == 0;
#else
    const bool redraw = k % 64 == 0;
#endif
    if (redraw) {
        nas_progress_update(prog, k, what);
    }
}

static void note_fail(first_fail *ff, int64_t i, nas_status st) {
#pragma omp critical(nas_folder_fail)
    {
        if (i < ff->index) {
#pragma omp atomic write
            ff->index = i;
            ff->st = st;
            snprintf(ff->msg, sizeof ff->msg, "%s", nas_errmsg());
        }
    }
}

static nas_status raise_fail(const first_fail *ff) {
    return nas_error(ff->st, "%s", ff->msg);
}

nas_status nas_i_folder_load(nas_dataset *out, const nas_data_desc *d, const char *split) {
    nas_status st = NAS_OK;
    folder_list fl;
    nas_i_image_info *info = NULL;
    first_fail *ff = NULL;
    bool show = false;
    nas_progress prog;
    memset(out, 0, sizeof *out);
    NAS_CHECK(list_split(d, split, &fl));
    const int64_t n = fl.paths.n;
    info = nas_calloc((size_t)n, sizeof *info); /* [n] */
    ff = nas_calloc(1, sizeof *ff);
    if (!info || !ff) {
        NAS_TRY(nas_error(NAS_ENOMEM, "data set '%s': out of memory for %lld images", d->spec,
                          (long long)n));
    }
    ff->index = INT64_MAX;
    show = n >= PROGRESS_MIN;
    char label[32];
    snprintf(label, sizeof label, "load %s", split);
    if (show) {
        nas_progress_begin(&prog, label, 2 * n);
    }
    int64_t done = 0;

    /* pass 1: headers */
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
        nas_status s = nas_i_image_probe(fl.paths.v[i], &info[i]);
        if (s != NAS_OK) {
            note_fail(ff, i, s);
        }
        if (show) {
            tick(&done, &prog, "reading headers");
        }
    }
    if (ff->index != INT64_MAX) {
        NAS_TRY(raise_fail(ff));
    }
    int c = 1, h = d->resize_h, w = d->resize_w;
    for (int64_t i = 0; i < n; i++) {
        c = info[i].c == 3 ? 3 : c;
    }
    if (!d->resize_h) {
        h = info[0].h;
        w = info[0].w;
        for (int64_t i = 1; i < n; i++) {
            if (info[i].h != h || info[i].w != w) {
                NAS_TRY(nas_error(NAS_EFORMAT,
                                  "data set '%s': images differ in size: %s is %dx%d but %s is "
                                  "%dx%d; give a resize (folder:DIR@HxW) or make them agree",
                                  d->spec, fl.paths.v[0], h, w, fl.paths.v[i], info[i].h,
                                  info[i].w));
            }
        }
    }
    char name[64];
    const char *base = strrchr(d->dir, '/');
    snprintf(name, sizeof name, "%.40s-%s", base && base[1] ? base + 1 : d->dir, split);
    NAS_TRY(nas_data_alloc(out, n, c, h, w, fl.classes.n, name));
    memcpy(out->labels, fl.labels, (size_t)n * sizeof *out->labels);
    const size_t img = nas_data_image_size(out);

    /* pass 2: decode each image straight into its slot */
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = 0; i < n; i++) {
        int64_t failed;
#pragma omp atomic read
        failed = ff->index;
        if (failed < i) {
            continue; /* an earlier file failed: finish quickly */
        }
        uint8_t *px = NULL;
        nas_i_image_info now;
        nas_status s = nas_i_image_decode(fl.paths.v[i], &now, &px);
        if (s == NAS_OK && (now.w != info[i].w || now.h != info[i].h || now.c != info[i].c)) {
            s = nas_error(NAS_EIO, "%s: the file changed while loading", fl.paths.v[i]);
        }
        if (s == NAS_OK) {
            s = nas_i_image_place(fl.paths.v[i], px, now.c, now.h, now.w,
                                  out->images + (size_t)i * img, c, h, w);
        }
        nas_free(px);
        if (s != NAS_OK) {
            note_fail(ff, i, s);
        }
        if (show) {
            tick(&done, &prog, "decoding");
        }
    }
    if (show) {
        nas_progress_update(&prog, 2 * n, "%lld images", (long long)n);
    }
    if (ff->index != INT64_MAX) {
        NAS_TRY(raise_fail(ff));
    }
    out->class_names = fl.classes.v; /* sorted folder names, [n_classes] */
    fl.classes.v = NULL;
    fl.classes.n = 0;
cleanup:
    if (show) {
        nas_progress_end(&prog);
    }
    if (st != NAS_OK) {
        nas_data_free(out);
    }
    folder_list_free(&fl);
    nas_free(info);
    nas_free(ff);
    return st;
}
