/*
 * Internals of the results store shared by the files of src/store: the connection struct, the
 * pending batch, error mapping of SQLite return codes to NAS_EDB messages, statement helpers.
 * Only src/store includes this header (and so sqlite3.h).
 */
#pragma once

#include "ghnas/store.h"

#include <sqlite3.h>

#define NAS_STORE_BUSY_MS 30000 /* busy timeout of every connection */

/* One result waiting in the batch; strings live in the batch arena. */
typedef struct nas_i_pending {
    int64_t run_id, seq;
    int64_t ghn_id; /* of the run (0 = none), for lookups that hit the batch */
    const char *space, *canon_key, *arch, *graph_json;
    int64_t n_params, flops;
    int n_nodes;
    int first_score, n_scores; /* range of the batch's score array */
} nas_i_pending;

typedef struct nas_i_pending_score {
    const char *scorer, *recipe, *aux_json;
    double value, seconds;
    bool lower_is_better;
} nas_i_pending_score;

/* Cached prepared statements of the writer (finalised at close). */
enum {
    NAS_I_ST_ARCH_UPSERT,
    NAS_I_ST_SCORE_INSERT,
    NAS_I_ST_SCORER_INSERT,
    NAS_I_ST_STATE_UPSERT,
    NAS_I_ST_LOOKUP,
    NAS_I_ST_RUN_GHN,
    NAS_I_ST_COUNT
};

struct nas_store {
    sqlite3 *db;
    char *path;
    bool readonly, created;
    int found_version;
    bool tidy_sidecars; /* readonly: -wal/-shm did not exist at open; remove them at close */
    sqlite3_stmt *st[NAS_I_ST_COUNT];
    double seconds;
    int64_t commits, results;
    int lock_fd; /* <path>-lock, for run locks (lock.c); 0 = not open */

    /* batch */
    int batch_max;
    double batch_seconds;
    double batch_t0; /* nas_time_now() of the first pending result */
    nas_arena arena;
    nas_i_pending *pend;
    int n_pend, cap_pend;
    nas_i_pending_score *pscore;
    int n_pscore, cap_pscore;
    /* ghn_id of the last run added to, for lookups that hit the pending batch */
    int64_t pend_ghn_run, pend_ghn_id;
    /* staged resume state */
    bool state_staged;
    int64_t state_run, state_n_done;
    nas_rng state_rng;
    char *state_json;
};

/* Set "results store '<path>': <what>: <sqlite message>[ (hint)]" and return NAS_EDB.
 * `rc` is the failing return code (its extended code picks the hint). */
nas_status nas_i_store_fail(const nas_store *db, int rc, const char *what);
/* As nas_i_store_fail for a raw connection and a path (before a nas_store exists). */
nas_status nas_i_store_fail_raw(sqlite3 *conn, const char *path, int rc, const char *what);

/* Close the run lock file (releasing this handle's run locks); lock.c. */
void nas_i_lock_close(nas_store *db);

/* Prepare one statement (NAS_EDB naming `what` on failure). */
nas_status nas_i_prepare(nas_store *db, const char *sql, sqlite3_stmt **st);
/* A cached statement of the writer, prepared on first use. */
nas_status nas_i_cached(nas_store *db, int which, const char *sql, sqlite3_stmt **st);
/* Execute SQL without results (several statements allowed). */
nas_status nas_i_exec(nas_store *db, const char *sql, const char *what);
/* Refuse writer calls on a read-only store. */
nas_status nas_i_writable(const nas_store *db, const char *what);

/* Transactions: BEGIN IMMEDIATE, COMMIT, ROLLBACK (rollback is quiet and never fails). */
nas_status nas_i_begin(nas_store *db);
nas_status nas_i_commit(nas_store *db);
void nas_i_rollback(nas_store *db);

/* Bind text, NULL for a NULL pointer; bind a double, NULL for NaN; checked. */
int nas_i_bind_text(sqlite3_stmt *st, int i, const char *s);
int nas_i_bind_real(sqlite3_stmt *st, int i, double v);

/* Step a statement that returns no row (SQLITE_DONE expected) and reset it. */
nas_status nas_i_step_done(nas_store *db, sqlite3_stmt *st, const char *what);

/* Copy a column as text into buf (cut to cap; "" for NULL). */
void nas_i_column_text(sqlite3_stmt *st, int col, char *buf, size_t cap);
/* Heap copy of a column's text (nas_malloc; "" for NULL); NULL on allocation failure. */
char *nas_i_column_strdup(sqlite3_stmt *st, int col);

/* Heap copy (nas_malloc) of a BLOB column; NAS_ENOTFOUND naming `what` when it is NULL. */
nas_status nas_i_blob_copy(nas_store *db, sqlite3_stmt *st, int col, void **bytes, size_t *n,
                           const char *what);

/* The newest id of `table` (a constant: ghn_models, rankers) for (space, dataset) whose
 * data_fingerprint is `fp` or NULL (an equal one first; fp NULL or "" = any) into *id;
 * NAS_ENOTFOUND "results store 'P' has no NOUN for space 'S' and dataset 'D'" + hint otherwise
 * (saying so when rows of other data exist). */
nas_status nas_i_newest_of(nas_store *db, const char *table, const char *noun, const char *hint,
                           const char *space, const char *dataset, const char *fp, int64_t *id);

/* The data_fingerprint of row `id` of `table` (a constant: ghn_models, rankers) into out ("" =
 * unknown); NAS_ENOTFOUND "results store 'P': NOUN ID does not exist" for no row. */
nas_status nas_i_fingerprint_of(nas_store *db, const char *table, const char *noun, int64_t id,
                                char out[17]);

/* Bind fp as text, or NULL when it is NULL or "". */
int nas_i_bind_fingerprint(sqlite3_stmt *st, int i, const char *fp);

/* Run status <-> stored text. */
nas_status nas_i_run_status_parse(const char *s, nas_run_status *out);

/* Commit the batch inside the caller's transaction (no BEGIN/COMMIT here). */
nas_status nas_i_batch_write(nas_store *db);
/* Forget the batch (after it was committed). */
void nas_i_batch_clear(nas_store *db);
void nas_i_batch_free(nas_store *db);

/* Append every row of a prepared statement to a table (columns taken from the statement on the
 * first call; a table with columns already must match in count). Resets the statement. */
nas_status nas_i_table_fill(nas_store *db, sqlite3_stmt *st, nas_store_table *t);
/* Set up columns / append one row (values copied). */
nas_status nas_i_table_set_cols(nas_store_table *t, int n, const char *const *names);
nas_status nas_i_table_add_row(nas_store_table *t, const nas_store_value *row);
