/*
 * Fuzz harness: the results-store opener on arbitrary bytes as a database file. The bytes go to
 * a private temporary file; a read-only open must refuse them with a message or give a store that
 * answers its queries (runs, top, the full check) with a status, never a crash; then the same for
 * a writer (which may migrate or refuse, and must never crash).
 */
#include "fuzz.h"

#include "ghnas/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void remove_all(const char *path);

/* The private directory goes when the process ends normally (libFuzzer exits, replay returns). */
static void remove_dir(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/s.db", dir);
    remove_all(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    nas_log_set_level(NAS_LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/ghnas-fuzz-store-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("fuzz_store: mkdtemp");
        abort();
    }
    atexit(remove_dir);
    return 0;
}

static void remove_all(const char *path) {
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal", "-lock"};
    char p[512];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

static void exercise(nas_store *db) {
    nas_store_table t = {0};
    (void)nas_store_query_runs(db, &t);
    nas_store_table_free(&t);
    memset(&t, 0, sizeof t);
    (void)nas_store_query_top(db, 1, NULL, 5, &t);
    nas_store_table_free(&t);
    (void)nas_store_check(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) {
        return 0;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/s.db", dir);
    remove_all(path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        return 0;
    }
    size_t w = fwrite(data, 1, size, f);
    fclose(f);
    if (w != size) {
        return 0;
    }
    nas_store *db = NULL;
    if (nas_store_open(&db, path, NAS_STORE_READONLY) == NAS_OK) {
        FUZZ_ASSERT(db != NULL);
        exercise(db);
        nas_store_close(db);
    } else {
        FUZZ_ASSERT(db == NULL && nas_errmsg()[0] != '\0');
    }
    db = NULL;
    if (nas_store_open(&db, path, 0) == NAS_OK) {
        nas_store_close(db);
    } else {
        FUZZ_ASSERT(db == NULL && nas_errmsg()[0] != '\0');
    }
    remove_all(path);
    return 0;
}
