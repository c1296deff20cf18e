/*
 * Temporary directories for the unit suites (testdir.h).
 */
#include "testdir.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char test_tmpdir[256];

void test_tmpdir_create(const char *suite) {
    snprintf(test_tmpdir, sizeof test_tmpdir, "/tmp/ghnas-test-%s-XXXXXX", suite);
    ck_assert_ptr_nonnull(mkdtemp(test_tmpdir));
    chmod(test_tmpdir, 0777);
}

static void rm_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        chmod(sub, 0700); /* entries a test made read-only or unreadable */
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

void test_tmpdir_remove(void) {
    if (test_tmpdir[0]) {
        rm_tree(test_tmpdir);
        test_tmpdir[0] = '\0';
    }
}

char *test_tpath(char *buf, const char *name) {
    snprintf(buf, 512, "%s/%s", test_tmpdir, name);
    return buf;
}
