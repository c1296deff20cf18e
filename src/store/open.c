/*
 * Opening and closing results stores: refusal of files that are not ours (checked from the file
 * header before SQLite touches the file, then again under the opening transaction), connection
 * settings (WAL, synchronous, foreign keys, busy timeout), creation of new files, forward
 * migration of older ones, integrity checks, and the testing hooks.
 */
#include "store-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the file header ------------------------------------------------------------------------- */

typedef struct header_facts {
    bool exists;
    bool empty;      /* zero bytes: SQLite treats it as a new database */
    bool hot_wal;    /* a non-empty -wal file: the header may be stale, SQLite decides */
    uint32_t app_id; /* PRAGMA application_id */
    int32_t version; /* PRAGMA user_version */
} header_facts;

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static bool sidecar_exists(const char *path, const char *suffix) {
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof buf, "%s%s", path, suffix) >= sizeof buf) {
        return false;
    }
    return file_exists(buf);
}

static void sidecar_unlink(const char *path, const char *suffix) {
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof buf, "%s%s", path, suffix) < sizeof buf) {
        (void)unlink(buf);
    }
}

/* Directory part of a path ("." when it has none). */
static void dir_of(const char *path, char *buf, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(buf, cap, ".");
    } else if (slash == path) {
        snprintf(buf, cap, "/");
    } else {
        snprintf(buf, cap, "%.*s", (int)(slash - path), path);
    }
}

/*
 * Everything the first 100 bytes and the size of the file tell, without SQLite: not SQLite,
 * damaged header, truncated, foreign application id, newer schema.
 */
static nas_status read_header(const char *path, header_facts *hf) {
    memset(hf, 0, sizeof *hf);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) {
            return NAS_OK;
        }
        return nas_error(NAS_EIO, "results store '%s': %s", path, strerror(errno));
    }
    hf->exists = true;
    if (!S_ISREG(sb.st_mode)) {
        /* a FIFO would block the open forever, a device is not ours to write (SQLite would
           create <device>-journal beside it) */
        return nas_error(NAS_EIO, "results store '%s' is %s, not a regular file", path,
                         S_ISDIR(sb.st_mode)    ? "a directory"
                         : S_ISFIFO(sb.st_mode) ? "a FIFO"
                         : S_ISCHR(sb.st_mode)  ? "a character device"
                         : S_ISBLK(sb.st_mode)  ? "a block device"
                                                : "a socket or another special file");
    }
    {
        char wal[4096];
        struct stat ws;
        hf->hot_wal = (size_t)snprintf(wal, sizeof wal, "%s-wal", path) < sizeof wal &&
                      stat(wal, &ws) == 0 && ws.st_size > 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        return nas_error(NAS_EIO, "cannot read results store '%s': %s", path, strerror(errno));
    }
    unsigned char h[100];
    size_t n = fread(h, 1, sizeof h, f);
    int read_err = ferror(f);
    fclose(f);
    if (read_err) {
        return nas_error(NAS_EIO, "cannot read results store '%s': read error", path);
    }
    if (n == 0) {
        hf->empty = true;
        return NAS_OK;
    }
    static const char magic[16] = "SQLite format 3";
    if (n < sizeof h || memcmp(h, magic, sizeof magic) != 0) {
        if (n < sizeof h) {
            return nas_error(NAS_EFORMAT,
                             "'%s' is not a ghnas results store: only %zu bytes, not an SQLite "
                             "database (truncated or another kind of file)",
                             path, n);
        }
        return nas_error(NAS_EFORMAT,
                         "'%s' is not a ghnas results store: not an SQLite 3 database (its first "
                         "bytes are not \"SQLite format 3\")",
                         path);
    }
    uint32_t page = (uint32_t)h[16] << 8 | h[17];
    if (page == 1) {
        page = 65536;
    }
    if (page < 512 || (page & (page - 1)) != 0) {
        return nas_error(NAS_EFORMAT,
                         "results store '%s' is damaged: bad page size %u in the header", path,
                         page);
    }
    hf->app_id = be32(h + 68);
    hf->version = (int32_t)be32(h + 60);
    /* The page count at offset 28 is valid when the "version-valid-for" number at 92 equals the
     * change counter at 24. A hot WAL may legitimately hold pages not yet in the file. */
    uint32_t pages = be32(h + 28);
    bool count_valid = be32(h + 92) == be32(h + 24) && pages > 0;
    if (!hf->hot_wal && ((count_valid && (uint64_t)pages * page > (uint64_t)sb.st_size) ||
                         (uint64_t)sb.st_size % page != 0)) {
        return nas_error(NAS_EFORMAT,
                         "results store '%s' is truncated or damaged: the header says %u pages of "
                         "%u bytes, the file has %lld bytes",
                         path, pages, page, (long long)sb.st_size);
    }
    return NAS_OK;
}

/* The refusals that depend on the application id and version (header or PRAGMAs). */
static nas_status judge(const char *path, uint32_t app_id, int32_t version, bool readonly) {
    if (app_id != NAS_STORE_APPLICATION_ID) {
        if (app_id == 0 && version == 0) {
            return NAS_OK; /* maybe a blank SQLite file: decided by its schema */
        }
        return nas_error(NAS_EFORMAT,
                         "'%s' is an SQLite database of another application (application_id "
                         "0x%08x; ghnas results stores have 0x%08x): refusing to use it",
                         path, app_id, (unsigned)NAS_STORE_APPLICATION_ID);
    }
    if (version > NAS_STORE_SCHEMA_VERSION) {
        return nas_error(NAS_EUNSUPPORTED,
                         "results store '%s' was written by a newer ghnas (schema version %d; "
                         "this build knows up to %d): upgrade ghnas to use it",
                         path, (int)version, NAS_STORE_SCHEMA_VERSION);
    }
    if (version < 1) {
        return nas_error(NAS_EFORMAT,
                         "results store '%s' is damaged: application id of ghnas but schema "
                         "version %d",
                         path, (int)version);
    }
    if (readonly && version < NAS_STORE_SCHEMA_VERSION) {
        return nas_error(NAS_EUNSUPPORTED,
                         "results store '%s' has schema version %d, older than this ghnas (%d): "
                         "upgrade it once with a writer (`ghnas query %s upgrade` or any search "
                         "on it)",
                         path, (int)version, NAS_STORE_SCHEMA_VERSION, path);
    }
    return NAS_OK;
}

/* ---- connection ------------------------------------------------------------------------------ */

/* One integer from a single-row query. */
static nas_status query_int(nas_store *db, const char *sql, int64_t *out) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, sql, &st));
    int rc = sqlite3_step(st);
    nas_status s = NAS_OK;
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else {
        s = nas_i_store_fail(db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "reading the header");
    }
    sqlite3_finalize(st);
    return s;
}

typedef struct db_facts {
    uint32_t app_id;
    int32_t version;
    int64_t n_objects; /* rows of sqlite_master */
} db_facts;

static nas_status read_facts(nas_store *db, db_facts *f) {
    int64_t app = 0, ver = 0, n = 0;
    NAS_CHECK(query_int(db, "PRAGMA application_id", &app));
    NAS_CHECK(query_int(db, "PRAGMA user_version", &ver));
    NAS_CHECK(query_int(db, "SELECT count(*) FROM sqlite_master", &n));
    f->app_id = (uint32_t)app;
    f->version = (int32_t)ver;
    f->n_objects = n;
    return NAS_OK;
}

/* Newlines of SQLite's check reports as spaces (a message is one line). */
static void one_line(char *s) {
    for (char *p = s; *p; p++) {
        if (*p == '\n') {
            *p = ' ';
        }
    }
}

/* How to get the readable rows of a damaged store out (sqlite3 shell; .dump ends with a ROLLBACK
   when it met damage, which the sed turns into a COMMIT). */
static void recovery_hint(const char *path, char *buf, size_t cap) {
    snprintf(buf, cap,
             "copy what is readable into a new store with: sqlite3 '%s' .dump | sed "
             "'s/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 NEW.db && sqlite3 NEW.db "
             "'PRAGMA application_id = %d; PRAGMA user_version = %d' (then `ghnas query NEW.db "
             "check`)",
             path, (int)NAS_STORE_APPLICATION_ID, NAS_STORE_SCHEMA_VERSION);
}

/* A ghnas store of schema `version` has its tables (a file with our id and version but without
   them is damaged: refused before anything is written). */
static nas_status check_tables(nas_store *db, int32_t version) {
    static const char *const v1[] = {"runs", "ghn_models", "architectures", "scores", "trainings"};
    static const char *const v2[] = {"scorers", "run_state"};
    char missing[160] = "";
    for (int i = 0; i < 7; i++) {
        const char *t = i < 5 ? v1[i] : v2[i - 5];
        if (i >= 5 && version < 2) {
            break;
        }
        char sql[128];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", t);
        int64_t n = 0;
        NAS_CHECK(query_int(db, sql, &n));
        if (n == 0) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", t);
        }
    }
    if (missing[0]) {
        return nas_error(NAS_EFORMAT,
                         "results store '%s' is damaged: it has ghnas's application id and "
                         "schema version %d but no table %s; refusing to use it",
                         db->path, (int)version, missing);
    }
    return NAS_OK;
}

/* PRAGMA quick_check (b-tree structure and page formats; O(file size), no index cross-check):
   NAS_EDB naming the first problems and how to recover the readable rows. */
static nas_status quick_check(nas_store *db) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, "PRAGMA quick_check(8)", &st));
    char msg[512] = "";
    size_t len = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (t && strcmp((const char *)t, "ok") != 0 && len < sizeof msg - 1) {
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", len ? "; " : "",
                                    (const char *)t);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && !msg[0]) {
        snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db->db));
    }
    one_line(msg);
    if (!msg[0]) {
        return NAS_OK;
    }
    char hint[768];
    recovery_hint(db->path, hint, sizeof hint);
    return nas_error(NAS_EDB,
                     "results store '%s' is damaged (quick check: %s); refusing to write to it. "
                     "`ghnas query %s check` reports every problem; %s",
                     db->path, msg, db->path, hint);
}

/* Schema steps from+1 .. to, then the application id and version, inside the caller's txn. */
static nas_status migrate(nas_store *db, int from, int to) {
    for (int v = from + 1; v <= to; v++) {
        char what[64];
        snprintf(what, sizeof what, v == 1 ? "creating the schema (v1)" : "migrating to v%d", v);
        NAS_CHECK(nas_i_exec(db, nas_store_schema_step(v), what));
    }
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
             (int)NAS_STORE_APPLICATION_ID, to);
    return nas_i_exec(db, sql, "writing the schema version");
}

static nas_status configure(nas_store *db, bool writer) {
    int rc = sqlite3_busy_timeout(db->db, NAS_STORE_BUSY_MS);
    if (rc != SQLITE_OK) {
        return nas_i_store_fail(db, rc, "setting the busy timeout");
    }
    rc = sqlite3_extended_result_codes(db->db, 1);
    if (rc != SQLITE_OK) {
        return nas_i_store_fail(db, rc, "enabling extended result codes");
    }
    NAS_CHECK(nas_i_exec(db, "PRAGMA foreign_keys = ON", "enabling foreign keys"));
    if (!writer) {
        /* Belt and braces for the read-only connection: no ATTACH of other files, no writes. */
        sqlite3_limit(db->db, SQLITE_LIMIT_ATTACHED, 0);
        return nas_i_exec(db, "PRAGMA query_only = ON", "making the connection read-only");
    }
    NAS_CHECK(nas_i_exec(db, "PRAGMA synchronous = FULL", "setting synchronous mode"));
    const char *env = getenv(NAS_STORE_MAX_PAGES_ENV);
    if (env && env[0]) {
        char *end = NULL;
        long long pages = strtoll(env, &end, 10);
        if (*end || pages < 1) {
            return nas_error(NAS_EINVAL, "%s: '%s' is not a positive page count",
                             NAS_STORE_MAX_PAGES_ENV, env);
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", pages);
        NAS_CHECK(nas_i_exec(db, sql, "limiting the file size"));
    }
    return NAS_OK;
}

/* Switch a writer's file to WAL (persistent); refuse file systems where WAL cannot work. */
static nas_status set_wal(nas_store *db) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, "PRAGMA journal_mode = WAL", &st));
    int rc = sqlite3_step(st);
    nas_status s = NAS_OK;
    if (rc != SQLITE_ROW) {
        s = nas_i_store_fail(db, rc, "switching to WAL mode");
    } else {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        if (!mode || strcmp((const char *)mode, "wal") != 0) {
            s = nas_error(NAS_EDB,
                          "results store '%s': WAL mode is not available (journal mode '%s'); "
                          "use a local file system",
                          db->path, mode ? (const char *)mode : "?");
        }
    }
    sqlite3_finalize(st);
    return s;
}

/* Writer: create or migrate under BEGIN IMMEDIATE, re-checking what the header said. */
static nas_status open_writer(nas_store *db, const header_facts *hf, bool create) {
    if (sqlite3_db_readonly(db->db, "main") == 1) {
        return nas_error(NAS_EIO,
                         "results store '%s' is read-only (no write permission): a writer needs "
                         "write access (`ghnas query` reads it)",
                         db->path);
    }
    NAS_CHECK(configure(db, true));
    db_facts f;
    if (hf->exists && (!hf->empty || hf->hot_wal)) {
        /* Maybe a foreign SQLite file with application_id 0 (or a header made stale by a hot
         * WAL): look before changing anything, the WAL switch included. */
        NAS_CHECK(nas_i_exec(db, "BEGIN", "reading the schema"));
        nas_status s = read_facts(db, &f);
        nas_i_rollback(db);
        NAS_CHECK(s);
        if (f.n_objects > 0 || f.app_id != 0 || f.version != 0) {
            NAS_CHECK(judge(db->path, f.app_id, f.version, false));
            if (f.n_objects > 0 && f.app_id == 0) {
                return nas_error(NAS_EFORMAT,
                                 "'%s' is an SQLite database but not a ghnas results store (it "
                                 "has %lld schema objects and no ghnas application id): refusing "
                                 "to use it",
                                 db->path, (long long)f.n_objects);
            }
            /* ours: whole and undamaged before the first write (the WAL switch included) */
            NAS_CHECK(nas_i_exec(db, "BEGIN", "checking the store"));
            s = check_tables(db, f.version);
            if (s == NAS_OK) {
                s = quick_check(db);
            }
            nas_i_rollback(db);
            NAS_CHECK(s);
        } else if (!create) {
            return nas_error(NAS_EFORMAT,
                             "'%s' is an empty SQLite database, not a ghnas results store",
                             db->path);
        }
    }
    NAS_CHECK(set_wal(db));
    NAS_CHECK(nas_i_begin(db));
    nas_status s = read_facts(db, &f);
    if (s == NAS_OK) {
        db->found_version = f.version;
        if (f.app_id == 0 && f.version == 0 && f.n_objects == 0) {
            if (!create && !hf->empty) {
                s = nas_error(NAS_EFORMAT,
                              "'%s' is an empty SQLite database, not a ghnas results store",
                              db->path);
            } else {
                s = migrate(db, 0, NAS_STORE_SCHEMA_VERSION);
            }
        } else {
            s = judge(db->path, f.app_id, f.version, false);
            if (s == NAS_OK && f.app_id == 0) {
                s = nas_error(NAS_EFORMAT,
                              "'%s' is an SQLite database but not a ghnas results store", db->path);
            }
            if (s == NAS_OK && f.version < NAS_STORE_SCHEMA_VERSION) {
                s = migrate(db, f.version, NAS_STORE_SCHEMA_VERSION);
                if (s == NAS_OK) {
                    NAS_INFO("results store '%s': migrated schema v%d -> v%d", db->path,
                             (int)f.version, NAS_STORE_SCHEMA_VERSION);
                }
            }
        }
    }
    if (s != NAS_OK) {
        nas_i_rollback(db);
        return s;
    }
    return nas_i_commit(db);
}

/*
 * One read-write connection opened, used for one read and closed, when we may write the file and
 * its directory (true when its read succeeded). SQLite then does what any writer's first read
 * does: it rolls back a hot journal or rebuilds the WAL index that a killed writer left (which a
 * read-only connection may not do: SQLITE_READONLY_ROLLBACK / _RECOVERY / _CANTINIT), and on the
 * close it removes -wal/-shm files that are empty (an empty checkpoint writes nothing to the
 * database file).
 */
static bool touch_as_writer(const char *path, int busy_ms) {
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    if (access(path, W_OK) != 0 || access(dir, W_OK) != 0) {
        return false;
    }
    sqlite3 *c = NULL;
    bool ok = false;
    if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(c, busy_ms);
        ok = sqlite3_exec(c, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) == SQLITE_OK;
    }
    sqlite3_close_v2(c);
    return ok;
}

/* The facts in one read transaction; *rc gets SQLite's extended code of a failure. */
static nas_status read_facts_txn(nas_store *db, db_facts *f, int *rc) {
    *rc = SQLITE_OK;
    nas_status s = nas_i_exec(db, "BEGIN", "reading the schema");
    if (s == NAS_OK) {
        s = read_facts(db, f);
        if (s != NAS_OK) {
            *rc = sqlite3_extended_errcode(db->db);
        }
        nas_i_rollback(db);
    } else {
        *rc = sqlite3_extended_errcode(db->db);
    }
    return s;
}

static nas_status open_reader(nas_store *db) {
    NAS_CHECK(configure(db, false));
    db_facts f;
    int rc = SQLITE_OK;
    nas_status s = read_facts_txn(db, &f, &rc);
    if (s != NAS_OK && (rc & 0xff) == SQLITE_READONLY) {
        /* a killed writer's remains: recover them as the next writer would, then read */
        if (touch_as_writer(db->path, NAS_STORE_BUSY_MS)) {
            s = read_facts_txn(db, &f, &rc);
        } else {
            s = nas_error(NAS_EDB,
                          "results store '%s': its last writer stopped in the middle of a write "
                          "and the file needs recovery (SQLite finishes or undoes that write "
                          "from its -wal or -journal file), which needs write access to the file "
                          "and its directory; open it once with a writer (e.g. `ghnas query %s "
                          "upgrade` as its owner)",
                          db->path, db->path);
        }
    }
    NAS_CHECK(s);
    db->found_version = f.version;
    if (f.app_id == 0 && f.version == 0) {
        return nas_error(NAS_EFORMAT, "'%s' is %s, not a ghnas results store", db->path,
                         f.n_objects ? "an SQLite database of another application"
                                     : "an empty SQLite database");
    }
    NAS_CHECK(judge(db->path, f.app_id, f.version, true));
    NAS_CHECK(nas_i_exec(db, "BEGIN", "reading the schema"));
    s = check_tables(db, f.version);
    nas_i_rollback(db);
    return s;
}

static void store_free(nas_store *db) {
    if (!db) {
        return;
    }
    for (int i = 0; i < NAS_I_ST_COUNT; i++) {
        sqlite3_finalize(db->st[i]);
    }
    if (db->db) {
        sqlite3_close_v2(db->db);
    }
    nas_i_lock_close(db);
    nas_i_batch_free(db);
    nas_free(db->path);
    nas_free(db);
}

/* "file:<path, percent-encoded>?immutable=1" (heap). */
static char *immutable_uri(const char *path) {
    static const char suffix[] = "?immutable=1";
    size_t n = strlen(path);
    char *uri = nas_malloc(5 + 3 * n + sizeof suffix);
    if (!uri) {
        return NULL;
    }
    char *o = uri;
    memcpy(o, "file:", 5);
    o += 5;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '/' || c == '.' || c == '-' || c == '_' || c == '~';
        if (plain) {
            *o++ = (char)c;
        } else {
            o += snprintf(o, 4, "%%%02X", c);
        }
    }
    memcpy(o, suffix, sizeof suffix);
    return uri;
}

nas_status nas_store_open(nas_store **out, const char *path, unsigned flags) {
    *out = NULL;
    bool readonly = (flags & NAS_STORE_READONLY) != 0;
    bool create = (flags & NAS_STORE_CREATE) != 0;
    if (!path || !path[0]) {
        return nas_error(NAS_EINVAL, "results store: empty file name");
    }
    if (readonly && create) {
        return nas_error(NAS_EINVAL, "results store '%s': cannot create a file read-only", path);
    }
    header_facts hf;
    NAS_CHECK(read_header(path, &hf));
    if (!hf.exists && !create) {
        return nas_error(NAS_ENOTFOUND, "results store '%s' does not exist", path);
    }
    if (hf.exists && hf.empty && !create && !hf.hot_wal) {
        return nas_error(NAS_EFORMAT, "'%s' is an empty file, not a ghnas results store", path);
    }
    if (hf.exists && !hf.empty && !hf.hot_wal) {
        NAS_CHECK(judge(path, hf.app_id, hf.version, readonly));
    }
    if (!readonly) {
        char dir[4096];
        dir_of(path, dir, sizeof dir);
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            return nas_error(NAS_EIO, "cannot %s results store '%s': directory '%s' does not exist",
                             hf.exists ? "open" : "create", path, dir);
        }
        if (access(dir, W_OK) != 0) {
            return nas_error(NAS_EIO,
                             "cannot %s results store '%s': directory '%s' is not writable "
                             "(SQLite keeps its -wal and -shm files beside the database)",
                             hf.exists ? "write" : "create", path, dir);
        }
    }

    nas_store *db = nas_calloc(1, sizeof *db);
    if (!db) {
        return nas_error(NAS_ENOMEM, "results store '%s': out of memory", path);
    }
    size_t len = strlen(path);
    db->path = nas_malloc(len + 1);
    if (!db->path) {
        nas_free(db);
        return nas_error(NAS_ENOMEM, "results store '%s': out of memory", path);
    }
    memcpy(db->path, path, len + 1);
    db->readonly = readonly;
    db->batch_max = 64;
    db->batch_seconds = 5.0;
    db->created = !hf.exists;
    db->tidy_sidecars = readonly && !sidecar_exists(path, "-wal") && !sidecar_exists(path, "-shm");

    double t0 = nas_time_now();
    int oflags =
        readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    char *uri = NULL;
    if (readonly && !sidecar_exists(path, "-wal") && !sidecar_exists(path, "-shm")) {
        /* A WAL file in a directory we cannot write: SQLite cannot create the -shm it needs,
         * and no writer can be at work there (it would have created -wal), so it is read as
         * immutable. */
        char dir[4096];
        dir_of(path, dir, sizeof dir);
        if (access(dir, W_OK) != 0) {
            uri = immutable_uri(path);
            if (!uri) {
                store_free(db);
                return nas_error(NAS_ENOMEM, "results store '%s': out of memory", path);
            }
            oflags |= SQLITE_OPEN_URI;
            db->tidy_sidecars = false;
        }
    }
    int rc = sqlite3_open_v2(uri ? uri : path, &db->db, oflags, NULL);
    nas_free(uri);
    nas_status s = NAS_OK;
    if (rc != SQLITE_OK) {
        s = nas_i_store_fail(db, rc, "opening");
    } else {
        s = readonly ? open_reader(db) : open_writer(db, &hf, create);
    }
    if (s == NAS_OK) {
        s = nas_arena_init(&db->arena, 0);
    }
    if (s != NAS_OK) {
        bool tidy = db->tidy_sidecars;
        bool created = db->created;
        store_free(db);
        if (created) {
            /* Leave nothing behind for a file this call created. */
            (void)unlink(path);
            sidecar_unlink(path, "-wal");
            sidecar_unlink(path, "-shm");
            sidecar_unlink(path, "-journal");
        } else if (tidy) {
            (void)touch_as_writer(path, 100); /* remove the -wal/-shm this reader created */
        }
        return s;
    }
    db->seconds += nas_time_now() - t0;
    *out = db;
    return NAS_OK;
}

void nas_store_close(nas_store *db) {
    if (!db) {
        return;
    }
    if (db->n_pend > 0 || db->state_staged) {
        NAS_WARN("results store '%s': closing with %d uncommitted results (not flushed)", db->path,
                 db->n_pend);
    }
    bool tidy = db->tidy_sidecars;
    if (db->db) { /* SQLite first, then the lock file (removed when no one else holds a lock) */
        for (int i = 0; i < NAS_I_ST_COUNT; i++) {
            sqlite3_finalize(db->st[i]);
            db->st[i] = NULL;
        }
        sqlite3_close_v2(db->db);
        db->db = NULL;
    }
    nas_i_lock_close(db);
    char *path = db->path;
    db->path = NULL;
    store_free(db);
    if (tidy && path) {
        (void)touch_as_writer(path, 100); /* remove the -wal/-shm this reader created */
    }
    nas_free(path);
}

void nas_store_get_info(const nas_store *db, nas_store_info *info) {
    memset(info, 0, sizeof *info);
    info->path = db->path;
    info->readonly = db->readonly;
    info->created = db->created;
    info->found_version = db->found_version;
    info->version = NAS_STORE_SCHEMA_VERSION;
    info->seconds = db->seconds;
    info->commits = db->commits;
    info->results = db->results;
}

/* Concatenate the rows of a one-column check into a message; ok when the only row is "ok". */
static nas_status run_check(nas_store *db, const char *sql, const char *what, bool ok_row) {
    sqlite3_stmt *st = NULL;
    NAS_CHECK(nas_i_prepare(db, sql, &st));
    char msg[512] = "";
    size_t len = 0;
    int n_bad = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        char row[160];
        if (ok_row) {
            snprintf(row, sizeof row, "%s", t ? (const char *)t : "");
            if (strcmp(row, "ok") == 0) {
                continue;
            }
        } else {
            /* foreign_key_check: table, rowid, parent, fkid */
            snprintf(row, sizeof row, "%s row %lld references a missing %s",
                     (const char *)sqlite3_column_text(st, 0),
                     (long long)sqlite3_column_int64(st, 1),
                     (const char *)sqlite3_column_text(st, 2));
        }
        if (n_bad++ < 4 && len < sizeof msg - 1) {
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", len ? "; " : "", row);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && (rc & 0xff) == SQLITE_CORRUPT && n_bad == 0) {
        /* the check itself hit the damage */
        snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db->db));
        n_bad = 1;
    } else if (rc != SQLITE_DONE) {
        return nas_i_store_fail(db, rc, what);
    }
    one_line(msg);
    if (n_bad > 0) {
        char hint[768];
        recovery_hint(db->path, hint, sizeof hint);
        return nas_error(NAS_EDB, "results store '%s': %s found %d problem(s): %s; %s", db->path,
                         what, n_bad, msg, hint);
    }
    return NAS_OK;
}

nas_status nas_store_check(nas_store *db) {
    nas_status st = run_check(db, "PRAGMA integrity_check", "integrity check", true);
    if (st == NAS_OK) {
        st = run_check(db, "PRAGMA foreign_key_check", "foreign key check", false);
    }
    if (st != NAS_OK && (sqlite3_extended_errcode(db->db) & 0xff) == SQLITE_CORRUPT) {
        /* the check could not even read the damage: say how to save the rest */
        char keep[1024], hint[768];
        snprintf(keep, sizeof keep, "%s", nas_errmsg());
        recovery_hint(db->path, hint, sizeof hint);
        st = nas_error(NAS_EDB, "%s; %s", keep, hint);
    }
    return st;
}

/* ---- testing hooks --------------------------------------------------------------------------- */

nas_status nas_store_debug_exec(const char *path, const char *sql) {
    sqlite3 *c = NULL;
    int rc = sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c, NAS_STORE_BUSY_MS);
        rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
    }
    nas_status s = rc == SQLITE_OK ? NAS_OK : nas_i_store_fail_raw(c, path, rc, "debug exec");
    sqlite3_close_v2(c);
    return s;
}

nas_status nas_store_debug_create(const char *path, int version) {
    if (version < 1 || version > NAS_STORE_SCHEMA_VERSION) {
        return nas_error(NAS_EINVAL, "debug create: no schema version %d", version);
    }
    if (file_exists(path)) {
        return nas_error(NAS_EINVAL, "debug create: '%s' exists", path);
    }
    nas_store *db = nas_calloc(1, sizeof *db);
    size_t len = strlen(path);
    if (!db || !(db->path = nas_malloc(len + 1))) {
        nas_free(db);
        return nas_error(NAS_ENOMEM, "debug create: out of memory");
    }
    memcpy(db->path, path, len + 1);
    int rc = sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    nas_status s = rc == SQLITE_OK ? NAS_OK : nas_i_store_fail(db, rc, "opening");
    if (s == NAS_OK) {
        s = set_wal(db);
    }
    if (s == NAS_OK) {
        s = nas_i_begin(db);
        if (s == NAS_OK) {
            s = migrate(db, 0, version);
            if (s == NAS_OK) {
                s = nas_i_commit(db);
            } else {
                nas_i_rollback(db);
            }
        }
    }
    store_free(db);
    return s;
}
