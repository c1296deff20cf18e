/*
 * Run locks: a writer working on a run holds a lock that dies with it, so a second process
 * cannot resume the same run (not even with --force) while the first one lives, and a crashed
 * writer never leaves a stale lock. The locks are open-file-description byte-range locks (byte =
 * run id) on an empty sidecar file, <store>-lock: never on the database file itself, whose POSIX
 * locks SQLite owns (closing any descriptor of that file would drop them). The last writer to
 * close removes the file; a killed one leaves it (empty, harmless; the next close removes it).
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "store-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* <store>-lock into buf. */
static nas_status lock_path(const nas_store *db, char *buf, size_t cap) {
    if ((size_t)snprintf(buf, cap, "%s-lock", db->path) >= cap) {
        return nas_error(NAS_EINVAL, "results store '%s': path too long", db->path);
    }
    return NAS_OK;
}

static int set_lock(int fd, short type, off_t start, off_t len) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    fl.l_pid = 0; /* required by OFD locks */
    return fcntl(fd, F_OFD_SETLK, &fl);
}

/* fd is the file now at path (not one a closing writer unlinked after we opened it). */
static bool still_linked(int fd, const char *path) {
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

nas_status nas_store_run_lock(nas_store *db, int64_t run_id) {
    if (db->readonly) {
        return nas_error(NAS_EINVAL, "results store '%s': a reader cannot lock run %lld", db->path,
                         (long long)run_id);
    }
    if (run_id < 1) {
        return nas_error(NAS_EINVAL, "results store '%s': no run %lld to lock", db->path,
                         (long long)run_id);
    }
    char path[4096];
    NAS_CHECK(lock_path(db, path, sizeof path));
    /* a writer closing its store unlinks the lock file when no lock is held on it (under a
       whole-file lock); a lock taken on such an unlinked file does not count: try again */
    for (int attempt = 0; attempt < 100; attempt++) {
        if (db->lock_fd <= 0) {
            int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
            if (fd == 0) { /* 0 marks "not open": keep stdin's number free */
                int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                close(fd);
                fd = moved;
            }
            if (fd < 0) {
                return nas_error(NAS_EIO,
                                 "results store '%s': cannot open its run lock file %s: %s",
                                 db->path, path, strerror(errno));
            }
            db->lock_fd = fd;
        }
        int rc = set_lock(db->lock_fd, F_WRLCK, (off_t)run_id, 1);
        int err = errno;
        if (!still_linked(db->lock_fd, path)) {
            nas_i_lock_close(db); /* a stale inode: drop it (and any lock on it) */
            continue;
        }
        if (rc == 0) {
            return NAS_OK;
        }
        if (err == EAGAIN || err == EACCES) {
            return nas_error(NAS_EINVAL,
                             "run %lld of results store '%s' is in use by another live process "
                             "(it holds the run's lock in %s); wait for it to end or stop it",
                             (long long)run_id, db->path, path);
        }
        return nas_error(NAS_EIO, "results store '%s': cannot lock run %lld: %s", db->path,
                         (long long)run_id, strerror(err));
    }
    return nas_error(NAS_EIO, "results store '%s': the run lock file %s keeps being replaced",
                     db->path, path);
}

void nas_store_run_unlock(nas_store *db, int64_t run_id) {
    if (db && db->lock_fd > 0 && run_id > 0) {
        (void)set_lock(db->lock_fd, F_UNLCK, (off_t)run_id, 1);
    }
}

void nas_i_lock_close(nas_store *db) {
    if (db->lock_fd <= 0) {
        return;
    }
    /* nobody else holds a lock on the file: remove it (no sidecar left after a clean close) */
    char path[4096];
    if (db->path && lock_path(db, path, sizeof path) == NAS_OK &&
        set_lock(db->lock_fd, F_WRLCK, 0, 0) == 0 && still_linked(db->lock_fd, path)) {
        (void)unlink(path);
    }
    close(db->lock_fd); /* releases every lock of this handle */
    db->lock_fd = 0;
}
