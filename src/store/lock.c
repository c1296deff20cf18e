/*
 * Run locks: a writer working on a run holds a lock that dies with it, so a second process
 * cannot resume the same run (not even with --force) while the first one lives, and a crashed
 * writer never leaves a stale lock. The locks are open-file-description byte-range locks (byte =
 * run id) on an empty sidecar file, <store>-lock: never on the database file itself, whose POSIX
 * locks SQLite owns (closing any descriptor of that file would drop them).
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "store-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static nas_status lock_file(nas_store *db) {
    if (db->lock_fd > 0) {
        return NAS_OK;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s-lock", db->path) >= sizeof path) {
        return nas_error(NAS_EINVAL, "results store '%s': path too long", db->path);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd == 0) { /* 0 marks "not open": keep stdin's number free */
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        close(fd);
        fd = moved;
    }
    if (fd < 0) {
        return nas_error(NAS_EIO, "results store '%s': cannot open its run lock file %s: %s",
                         db->path, path, strerror(errno));
    }
    db->lock_fd = fd;
    return NAS_OK;
}

static int set_lock(int fd, short type, int64_t run_id) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)run_id;
    fl.l_len = 1;
    fl.l_pid = 0; /* required by OFD locks */
    return fcntl(fd, F_OFD_SETLK, &fl);
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
    NAS_CHECK(lock_file(db));
    if (set_lock(db->lock_fd, F_WRLCK, run_id) != 0) {
        if (errno == EAGAIN || errno == EACCES) {
            return nas_error(NAS_EINVAL,
                             "run %lld of results store '%s' is in use by another live process "
                             "(it holds the run's lock in %s-lock); wait for it to end or stop it",
                             (long long)run_id, db->path, db->path);
        }
        return nas_error(NAS_EIO, "results store '%s': cannot lock run %lld: %s", db->path,
                         (long long)run_id, strerror(errno));
    }
    return NAS_OK;
}

void nas_store_run_unlock(nas_store *db, int64_t run_id) {
    if (db && db->lock_fd > 0 && run_id > 0) {
        (void)set_lock(db->lock_fd, F_UNLCK, run_id);
    }
}

void nas_i_lock_close(nas_store *db) {
    if (db->lock_fd > 0) {
        close(db->lock_fd); /* releases every run lock of this store handle */
        db->lock_fd = 0;
    }
}
