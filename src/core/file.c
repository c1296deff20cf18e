/*
 * File checks shared by every module that opens a user's path: a path must be a regular file or
 * absent (a FIFO blocks an open forever, a device is not ours to write), an output path must be
 * creatable before the long work starts, and a file is read without blocking, bounded by its size.
 */
#include "ghnas/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) {
        return "a directory";
    }
    if (S_ISFIFO(m)) {
        return "a FIFO";
    }
    if (S_ISCHR(m)) {
        return "a character device";
    }
    if (S_ISBLK(m)) {
        return "a block device";
    }
    if (S_ISSOCK(m)) {
        return "a socket";
    }
    return "not a regular file";
}

nas_status nas_path_check_regular(const char *path, const char *what, bool *exists) {
    struct stat sb;
    if (exists) {
        *exists = false;
    }
    if (!path || !path[0]) {
        return nas_error(NAS_EINVAL, "%s: the path is empty", what);
    }
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) {
            return NAS_OK;
        }
        return nas_error(NAS_EIO, "%s %s: %s", what, path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode)) {
        return nas_error(NAS_EIO, "%s %s is %s, not a regular file", what, path,
                         kind_of(sb.st_mode));
    }
    if (exists) {
        *exists = true;
    }
    return NAS_OK;
}

nas_status nas_path_check_output(const char *path, const char *what) {
    bool exists = false;
    NAS_CHECK(nas_path_check_regular(path, what, &exists));
    if (exists && access(path, W_OK) != 0) {
        return nas_error(NAS_EIO, "%s %s cannot be written: %s", what, path, strerror(errno));
    }
    /* its directory must exist and take new files: a new file, the .tmp of an atomic write, the
       -wal and -shm of a store */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else if ((size_t)(slash - path) < sizeof dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    } else {
        return nas_error(NAS_EINVAL, "%s %s: the path is too long", what, path);
    }
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        return nas_error(NAS_EIO, "%s %s cannot be written: directory %s: %s", what, path, dir,
                         strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode)) {
        return nas_error(NAS_EIO, "%s %s cannot be written: %s is not a directory", what, path,
                         dir);
    }
    if (access(dir, W_OK | X_OK) != 0) {
        return nas_error(NAS_EIO, "%s %s cannot be written in directory %s: %s", what, path, dir,
                         strerror(errno));
    }
    return NAS_OK;
}

nas_status nas_file_open_regular(const char *path, const char *what, int *fd, size_t *size) {
    *fd = -1;
    *size = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0) {
        return nas_error(errno == ENOENT ? NAS_ENOTFOUND : NAS_EIO, "%s %s: cannot open: %s", what,
                         path, strerror(errno));
    }
    struct stat sb;
    if (fstat(f, &sb) != 0) {
        nas_status st = nas_error(NAS_EIO, "%s %s: %s", what, path, strerror(errno));
        close(f);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return nas_error(NAS_EIO, "%s %s is %s, not a regular file", what, path,
                         kind_of(sb.st_mode));
    }
    int fl = fcntl(f, F_GETFL);
    if (fl >= 0) {
        fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
    }
    *fd = f;
    *size = (size_t)sb.st_size;
    return NAS_OK;
}

nas_status nas_file_read_fd(int fd, const char *path, void *buf, size_t n, size_t *got) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return nas_error(NAS_EIO, "%s: read error: %s", path, strerror(errno));
        }
        if (r == 0) {
            break;
        }
        done += (size_t)r;
    }
    *got = done;
    return NAS_OK;
}

nas_status nas_file_read_bounded(const char *path, const char *what, size_t max, void **bytes,
                                 size_t *n) {
    *bytes = NULL;
    *n = 0;
    int fd = -1;
    size_t size = 0;
    NAS_CHECK(nas_file_open_regular(path, what, &fd, &size));
    nas_status st = NAS_OK;
    if (max > 0 && size > max) {
        st = nas_error(NAS_EFORMAT, "%s %s: %zu bytes, more than the %zu such a file can have",
                       what, path, size, max);
        goto cleanup;
    }
    unsigned char *buf = nas_malloc(size + 1); /* +1: room for a NUL, and never malloc(0) */
    if (!buf) {
        st = nas_error(NAS_ENOMEM, "%s %s: out of memory for %zu bytes", what, path, size);
        goto cleanup;
    }
    size_t got = 0;
    st = nas_file_read_fd(fd, path, buf, size, &got);
    if (st != NAS_OK) {
        nas_free(buf);
        goto cleanup;
    }
    buf[got] = '\0';
    *bytes = buf;
    *n = got;
cleanup:
    close(fd);
    return st;
}
