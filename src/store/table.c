/*
 * Query results as tables: named columns and typed values, rows appended from SQLite statements
 * or built by hand, text and BLOB bytes kept in chained chunks owned by the table.
 */
#include "store-impl.h"

#include <string.h>

#define CHUNK_MIN (64 * 1024)

struct nas_store_chunk {
    nas_store_chunk *next;
    size_t used, cap;
    char data[]; /* [cap] */
};

/* Copy n bytes plus a NUL into the table's chunks. */
static char *chunk_copy(nas_store_table *t, const void *p, size_t n) {
    nas_store_chunk *c = t->chunk;
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > CHUNK_MIN ? n + 1 : CHUNK_MIN;
        c = nas_malloc(sizeof *c + cap);
        if (!c) {
            return NULL;
        }
        c->next = t->chunk;
        c->used = 0;
        c->cap = cap;
        t->chunk = c;
    }
    char *dst = c->data + c->used;
    if (n) {
        memcpy(dst, p, n);
    }
    dst[n] = '\0';
    c->used += n + 1;
    return dst;
}

void nas_store_table_free(nas_store_table *t) {
    if (!t) {
        return;
    }
    for (int c = 0; c < t->n_cols; c++) {
        nas_free(t->cols ? t->cols[c] : NULL);
    }
    nas_free(t->cols);
    nas_free(t->col_json);
    nas_free(t->v);
    nas_store_chunk *c = t->chunk;
    while (c) {
        nas_store_chunk *next = c->next;
        nas_free(c);
        c = next;
    }
    memset(t, 0, sizeof *t);
}

const nas_store_value *nas_store_table_at(const nas_store_table *t, int64_t r, int c) {
    NAS_ASSERT(r >= 0 && r < t->n_rows && c >= 0 && c < t->n_cols);
    return &t->v[r * t->n_cols + c];
}

int nas_store_table_col(const nas_store_table *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++) {
        if (strcmp(t->cols[c], name) == 0) {
            return c;
        }
    }
    return -1;
}

nas_status nas_i_table_set_cols(nas_store_table *t, int n, const char *const *names) {
    NAS_ASSERT(t->n_cols == 0 && n > 0);
    t->cols = nas_calloc((size_t)n, sizeof *t->cols);
    t->col_json = nas_calloc((size_t)n, sizeof *t->col_json);
    if (!t->cols || !t->col_json) {
        nas_free(t->cols);
        nas_free(t->col_json);
        t->cols = NULL;
        t->col_json = NULL;
        return nas_error(NAS_ENOMEM, "results store: out of memory for a table");
    }
    t->n_cols = n;
    for (int c = 0; c < n; c++) {
        size_t len = strlen(names[c] ? names[c] : "");
        t->cols[c] = nas_malloc(len + 1);
        if (!t->cols[c]) {
            return nas_error(NAS_ENOMEM, "results store: out of memory for a table");
        }
        memcpy(t->cols[c], names[c] ? names[c] : "", len + 1);
        /* Columns named *_json hold JSON text by the schema's convention. */
        t->col_json[c] = len >= 5 && strcmp(t->cols[c] + len - 5, "_json") == 0;
    }
    return NAS_OK;
}

nas_status nas_i_table_add_row(nas_store_table *t, const nas_store_value *row) {
    if (t->n_rows == t->cap_rows) {
        int64_t cap = t->cap_rows ? 2 * t->cap_rows : 64;
        nas_store_value *v = nas_realloc(t->v, (size_t)(cap * t->n_cols) * sizeof *v);
        if (!v) {
            return nas_error(NAS_ENOMEM, "results store: out of memory for %lld table rows",
                             (long long)cap);
        }
        t->v = v;
        t->cap_rows = cap;
    }
    nas_store_value *dst = &t->v[t->n_rows * t->n_cols];
    for (int c = 0; c < t->n_cols; c++) {
        dst[c] = row[c];
        if (row[c].type == NAS_STORE_TEXT || row[c].type == NAS_STORE_BLOB) {
            dst[c].s = chunk_copy(t, row[c].s, row[c].n);
            if (!dst[c].s) {
                return nas_error(NAS_ENOMEM, "results store: out of memory for table text");
            }
        }
    }
    t->n_rows++;
    return NAS_OK;
}

nas_status nas_i_table_fill(nas_store *db, sqlite3_stmt *st, nas_store_table *t) {
    int n = sqlite3_column_count(st);
    if (n <= 0) {
        return nas_error(NAS_EINVAL, "results store '%s': the statement returns no columns",
                         db->path);
    }
    nas_status s = NAS_OK;
    if (t->n_cols == 0) {
        const char *names[256];
        if (n > 256) {
            return nas_error(NAS_EINVAL, "results store '%s': more than 256 result columns",
                             db->path);
        }
        for (int c = 0; c < n; c++) {
            names[c] = sqlite3_column_name(st, c);
        }
        NAS_CHECK(nas_i_table_set_cols(t, n, names));
    }
    NAS_ASSERT(t->n_cols == n);
    nas_store_value row[256];
    int rc = SQLITE_DONE;
    while (s == NAS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < n; c++) {
            nas_store_value *v = &row[c];
            memset(v, 0, sizeof *v);
            switch (sqlite3_column_type(st, c)) {
                case SQLITE_INTEGER:
                    v->type = NAS_STORE_INT;
                    v->i = sqlite3_column_int64(st, c);
                    break;
                case SQLITE_FLOAT:
                    v->type = NAS_STORE_REAL;
                    v->r = sqlite3_column_double(st, c);
                    break;
                case SQLITE_TEXT:
                    v->type = NAS_STORE_TEXT;
                    v->s = (const char *)sqlite3_column_text(st, c);
                    v->n = (size_t)sqlite3_column_bytes(st, c);
                    break;
                case SQLITE_BLOB:
                    v->type = NAS_STORE_BLOB;
                    v->s = sqlite3_column_blob(st, c);
                    v->n = (size_t)sqlite3_column_bytes(st, c);
                    break;
                default:
                    v->type = NAS_STORE_NULL;
                    break;
            }
        }
        s = nas_i_table_add_row(t, row);
    }
    if (s == NAS_OK && rc != SQLITE_DONE) {
        s = nas_i_store_fail(db, rc, "reading query results");
    }
    sqlite3_reset(st);
    return s;
}
