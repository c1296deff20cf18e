/*
 * The address-space limit check that runs before any library initialises (ELF .preinit_array of
 * the executable). OpenBLAS's start-up reserves a large buffer per OpenMP thread and, when an
 * mmap fails under a low `ulimit -v`, retries it forever: ghnas would hang before main. This
 * check measures the room left under RLIMIT_AS with one PROT_NONE reservation of what start-up
 * needs (released at once) and, when it does not fit, prints what is needed and exits 1.
 *
 * GHNAS_NO_MEMCHECK=1 skips the check (for a limit this estimate gets wrong).
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

/* Bytes OpenBLAS and libgomp map at start-up beyond what is mapped when this runs: measured
   with OpenBLAS 0.3.21 (openmp) on Debian 12 by bisecting `ulimit -v` (README, Reliability):
   ~130 MiB for the first thread's buffer and arena, ~130 MiB for each further thread. */
#define NEED_BASE       (140.0 * MIB)
#define NEED_PER_THREAD (132.0 * MIB)

/* getenv before libc has set environ: the value of `name` in envp, NULL when absent. */
static const char *env_get(char **envp, const char *name) {
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
            return *e + n + 1;
        }
    }
    return NULL;
}

/* OpenMP's team size as OpenBLAS will see it: OMP_NUM_THREADS (first list entry), else the
   online CPUs; capped by the online CPUs as OpenBLAS caps it. */
static long startup_threads(char **envp) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1) {
        ncpu = 1;
    }
    const char *e = env_get(envp, "OMP_NUM_THREADS");
    long t = ncpu;
    if (e && *e) {
        char *end = NULL;
        long v = strtol(e, &end, 10);
        if (end != e && v >= 1) {
            t = v;
        }
    }
    return t < ncpu ? t : ncpu;
}

/* VmSize of /proc/self/status in bytes (0 when unreadable); no stdio this early. */
static double mapped_bytes(void) {
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0.0;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return 0.0;
    }
    buf[n] = '\0';
    const char *p = strstr(buf, "VmSize:");
    return p ? strtod(p + 7, NULL) * 1024.0 : 0.0;
}

/* A ulimit -v value (KiB) covering `bytes`, rounded up to 10 MiB. */
static double ceil_kib(double bytes) {
    double step = 10.0 * 1024.0;
    return ceil(bytes / 1024.0 / step) * step;
}

static void say(const char *msg) {
    size_t n = strlen(msg);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, msg, n);
        if (w <= 0) {
            return;
        }
        msg += w;
        n -= (size_t)w;
    }
}

static void check_address_space(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    const char *skip = env_get(envp, "GHNAS_NO_MEMCHECK");
    if (skip && strcmp(skip, "1") == 0) {
        return;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
        return;
    }
    long threads = startup_threads(envp);
    double need = NEED_BASE + NEED_PER_THREAD * (double)(threads - 1);
    void *p =
        mmap(NULL, (size_t)need, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
        munmap(p, (size_t)need);
        return;
    }
    double mapped = mapped_bytes();
    char alt[160] = "";
    if (threads > 1) {
        snprintf(alt, sizeof alt, ", or with OMP_NUM_THREADS=1 and ulimit -v %.0f",
                 ceil_kib(mapped + NEED_BASE));
    }
    char msg[768];
    snprintf(msg, sizeof msg,
             "ghnas: error: the address-space limit (ulimit -v %.0f) is too low: %.0f MiB are "
             "mapped and OpenBLAS and OpenMP reserve about %.0f MiB more at start-up for %ld "
             "thread%s; run with ulimit -v %.0f or more%s (GHNAS_NO_MEMCHECK=1 skips this check, "
             "but OpenBLAS hangs when its reservation fails)\n",
             (double)rl.rlim_cur / 1024.0, mapped / MIB, need / MIB, threads,
             threads == 1 ? "" : "s", ceil_kib(mapped + need), alt);
    say(msg);
    _exit(1);
}

/* Runs before the initialisers of the shared libraries (OpenBLAS's among them). */
__attribute__((used, section(".preinit_array"))) static void (*const preinit_check)(
    int, char **, char **) = check_address_space;
