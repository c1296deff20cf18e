/*
 * ghnas core: status codes with messages, arena allocator, explicit-state RNG, hashing, rank
 * statistics, logging.
 *
 * Every fallible library function returns a nas_status. On failure it also leaves a human-readable
 * message in a thread-local buffer (nas_errmsg()), so callers in OpenMP threads never see each
 * other's errors. The library never exits; only src/cli decides to exit.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ----------------------------------------------------------------------- */

/* Numbers are stable: append new codes before NAS_STATUS_COUNT, never reuse one. */
typedef enum nas_status {
    NAS_OK = 0,
    NAS_EINVAL = 1,        /* invalid argument or option value */
    NAS_ENOMEM = 2,        /* allocation failed */
    NAS_EIO = 3,           /* file could not be opened, read or written */
    NAS_EFORMAT = 4,       /* file or string content is malformed */
    NAS_ENOTFOUND = 5,     /* named thing does not exist */
    NAS_ESHAPE = 6,        /* tensor shapes do not fit the op */
    NAS_ENUMERIC = 7,      /* NaN/Inf or numerical failure */
    NAS_EDB = 8,           /* results-store failure */
    NAS_EINTERRUPTED = 9,  /* stopped by a signal or a user request */
    NAS_EUNSUPPORTED = 10, /* valid request this build cannot serve */
    NAS_EINTERNAL = 11,    /* broken invariant */
    NAS_STATUS_COUNT
} nas_status;

/* Short fixed text of a status code ("invalid argument", ...). Never NULL. */
const char *nas_status_str(nas_status s);

/* The calling thread's last error message (empty string when none). */
const char *nas_errmsg(void);

/* Set the calling thread's error message (printf-style) and return `s`, so that
 * `return nas_error(NAS_EINVAL, "--steps must be positive, got %d", n);` reads naturally. */
nas_status nas_error(nas_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prepend context to the current message: "loading X: <old message>". Returns `s`. */
nas_status nas_error_wrap(nas_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void nas_error_clear(void);

/* Propagate a failing status. */
#define NAS_CHECK(expr)                                                                            \
    do {                                                                                           \
        nas_status nas_check_s_ = (expr);                                                          \
        if (nas_check_s_ != NAS_OK)                                                                \
            return nas_check_s_;                                                                   \
    } while (0)

/* Store a failing status in `st` and jump to the function's `cleanup:` label. */
#define NAS_TRY(expr)                                                                              \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != NAS_OK)                                                                          \
            goto cleanup;                                                                          \
    } while (0)

/* Broken invariant: print file/line and abort. Not compiled out under NDEBUG. */
#define NAS_ASSERT(x)                                                                              \
    do {                                                                                           \
        if (!(x))                                                                                  \
            nas_abort(__FILE__, __LINE__, #x);                                                     \
    } while (0)

_Noreturn void nas_abort(const char *file, int line, const char *what);

/* ---- allocation --------------------------------------------------------------------------- */

/* All heap allocation goes through these so tests can inject failures. */
void *nas_malloc(size_t n);
void *nas_calloc(size_t count, size_t size);
void *nas_realloc(void *p, size_t n);
void nas_free(void *p);
/* A heap copy of s (nas_free it); NULL when out of memory. */
char *nas_strdup(const char *s);

/* Test hook: make the n-th following allocation (1-based) fail; 0 disables. Not thread-safe. */
void nas_fault_inject(long n);

/* ---- arena --------------------------------------------------------------------------------- */

#define NAS_ARENA_ALIGN 64

typedef struct nas_arena_block nas_arena_block;

/*
 * Bump allocator for objects that share a lifetime (a training step, a candidate network).
 * Allocations are 64-byte aligned and never freed one by one. When the current block is full a
 * new one is chained; nas_arena_reset() merges all blocks into one of the peak size, so after the
 * first step a steady-state loop does no heap allocation at all.
 */
typedef struct nas_arena {
    nas_arena_block *head; /* current block (newest first) */
    size_t used;           /* bytes handed out since the last reset, all blocks */
    size_t peak;           /* largest `used` seen */
    size_t min_block;      /* smallest block to allocate */
} nas_arena;

/* Initialise with an initial capacity in bytes (0 = allocate lazily). */
nas_status nas_arena_init(nas_arena *a, size_t initial);
/* 64-byte aligned, uninitialised. NULL (with NAS_ENOMEM message) on failure. */
void *nas_arena_alloc(nas_arena *a, size_t bytes);
/* Zeroed variant. */
void *nas_arena_calloc(nas_arena *a, size_t bytes);
/* Forget all allocations; keeps one block big enough for the peak so far. */
void nas_arena_reset(nas_arena *a);

/* A position in an arena: nas_arena_rollback() releases everything allocated after it, so an
 * op's scratch memory is reused (and stays in cache) instead of piling up until the reset. */
typedef struct nas_arena_mark {
    nas_arena_block *block; /* current block when the mark was taken (NULL: none) */
    size_t off;             /* its fill level then */
    size_t used;            /* a->used then */
} nas_arena_mark;

nas_arena_mark nas_arena_get_mark(const nas_arena *a);
/* Release all allocations made since `m` (marks must be rolled back in LIFO order). Blocks
 * chained since the mark are freed; the peak is kept, so the next reset still sizes for it. */
void nas_arena_rollback(nas_arena *a, nas_arena_mark m);

size_t nas_arena_used(const nas_arena *a);
void nas_arena_free(nas_arena *a);

/* ---- random numbers ------------------------------------------------------------------------ */

/* xoshiro256** with explicit state; seed through splitmix64. Never use rand(). */
typedef struct nas_rng {
    uint64_t s[4];
} nas_rng;

void nas_rng_seed(nas_rng *r, uint64_t seed);
/* Derive an independent stream (e.g. one per thread) from a parent state and an index. */
void nas_rng_split(nas_rng *child, const nas_rng *parent, uint64_t index);
uint64_t nas_rng_u64(nas_rng *r);
uint32_t nas_rng_u32(nas_rng *r);
/* Uniform integer in [0, n), unbiased. n > 0. */
uint64_t nas_rng_below(nas_rng *r, uint64_t n);
/* Uniform float in [0, 1). */
float nas_rng_uniform(nas_rng *r);
/* Standard normal (Box-Muller, double precision internally). */
float nas_rng_normal(nas_rng *r);
/* Fisher-Yates shuffle of n int32 values. */
void nas_rng_shuffle_i32(nas_rng *r, int32_t *v, size_t n);

/* ---- hashing ------------------------------------------------------------------------------- */

#define NAS_FNV1A_INIT 0xcbf29ce484222325ull
/* 64-bit FNV-1a of n bytes, continuing from h (NAS_FNV1A_INIT to start): cheap, stable across
   platforms and versions, for hash tables, stream seeds and checksums of our own. */
uint64_t nas_hash_fnv1a(const void *data, size_t n, uint64_t h);
/* nas_hash_fnv1a of a NUL-terminated string from NAS_FNV1A_INIT. */
uint64_t nas_hash_str(const char *s);

/* ---- rank statistics (src/core/stats.c) ---------------------------------------------------- */

/*
 * Average ranks, 1-based: ranks[i] = 1 + number of values below x[i] + (number of other values
 * equal to x[i]) / 2. NaN values get NaN ranks and are not counted.
 */
nas_status nas_stats_ranks(const double *x, int64_t n, double *ranks);

/*
 * Kendall's tau-b over the pairs (x[i], y[i]) where neither is NaN:
 *   (concordant - discordant) / sqrt((n0 - ties_x) * (n0 - ties_y)), n0 = m(m-1)/2,
 * ties counted as pairs tied in x (resp. y), joint ties included (scipy.stats.kendalltau).
 * *tau is NaN with fewer than 2 pairs or when x or y is constant. O(m^2) time.
 */
nas_status nas_stats_kendall_tau(const double *x, const double *y, int64_t n, double *tau);

/* Spearman's rho: Pearson correlation of the average ranks of the non-NaN pairs. NaN as above. */
nas_status nas_stats_spearman_rho(const double *x, const double *y, int64_t n, double *rho);

/* ---- logging ------------------------------------------------------------------------------- */

typedef enum nas_log_level {
    NAS_LOG_DEBUG = 0,
    NAS_LOG_INFO = 1,
    NAS_LOG_WARN = 2,
    NAS_LOG_ERROR = 3,
    NAS_LOG_OFF = 4
} nas_log_level;

typedef void (*nas_log_fn)(nas_log_level level, const char *msg, void *user);

/* Replace the sink (default: stderr with a level prefix). NULL restores the default. */
void nas_log_set(nas_log_fn fn, void *user);
void nas_log_set_level(nas_log_level min_level);
nas_log_level nas_log_get_level(void);
void nas_log(nas_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#define NAS_DEBUG(...) nas_log(NAS_LOG_DEBUG, __VA_ARGS__)
#define NAS_INFO(...)  nas_log(NAS_LOG_INFO, __VA_ARGS__)
#define NAS_WARN(...)  nas_log(NAS_LOG_WARN, __VA_ARGS__)

/* ---- time and progress -------------------------------------------------------------------- */

/* Monotonic seconds. */
double nas_time_now(void);

/*
 * Progress reporting for long work. On a terminal (stderr is a tty) it redraws one line:
 *   "train  [#######.....]  412/1000  41%  loss 0.512  acc 0.81  12.3 it/s  ETA 0:48"
 * otherwise it prints a plain line at most every `interval` seconds (default 10), so logs stay
 * readable. `status` is free text the caller updates (e.g. loss and accuracy).
 */
typedef struct nas_progress {
    char label[32];   /* what is running */
    int64_t total;    /* units of work (0 = unknown) */
    int64_t done;     /* units finished */
    int64_t base;     /* units finished before this process (resume); not in the rate */
    double t_start;   /* nas_time_now() at begin */
    double t_last;    /* last time something was printed */
    double interval;  /* seconds between plain lines (non-tty) */
    bool tty;         /* drawing a bar on a terminal */
    bool quiet;       /* print nothing */
    char status[128]; /* caller's text */
} nas_progress;

void nas_progress_begin(nas_progress *p, const char *label, int64_t total);
/* A resumed job: `done` units were finished by an earlier process. They count towards the bar
 * but not towards the rate and the ETA. */
void nas_progress_resume(nas_progress *p, int64_t done);
/* Units per second since begin, counting only the units done by this process. */
double nas_progress_rate(const nas_progress *p);
/* Set done (absolute) and the status text (printf-style; NULL keeps the old one). */
void nas_progress_update(nas_progress *p, int64_t done, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Final line with total time; newline on a terminal. */
void nas_progress_end(nas_progress *p);
/* Global switch (e.g. --quiet): no progress output at all. */
void nas_progress_set_enabled(bool on);
/* Formats seconds as "1:02:03" / "2:03" into buf (>= 16 bytes); returns buf. */
char *nas_format_duration(double seconds, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
