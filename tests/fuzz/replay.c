/*
 * main() of a fuzz harness built without libFuzzer: runs LLVMFuzzerTestOneInput on every file
 * named on the command line and on every file of every directory named (the committed seed
 * corpora and crash regressions), and reports how many inputs ran. Exit 0 when every input ran
 * without a crash (a crash aborts the process, which ctest reports).
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *q = realloc(buf, cap * 2);
            if (!q) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    LLVMFuzzerInitialize(&argc, &argv);
    int n_inputs = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            continue; /* an absent regressions directory is fine */
        }
        if (!S_ISDIR(sb.st_mode)) {
            bad += run_file(argv[i]);
            n_inputs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        char *names[4096];
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL && n < 4096) {
            if (e->d_name[0] != '.') {
                size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
                names[n] = malloc(len);
                if (names[n]) {
                    snprintf(names[n], len, "%s/%s", argv[i], e->d_name);
                    n++;
                }
            }
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof names[0], cmp_str);
        for (int k = 0; k < n; k++) {
            bad += run_file(names[k]);
            n_inputs++;
            free(names[k]);
        }
    }
    printf("replay: %d inputs, no crash\n", n_inputs);
    return bad ? 1 : 0;
}
