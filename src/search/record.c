/*
 * The run record of a search (runs.config_json) written and read with jansson, and the JSON
 * helpers the controller and the strategies share: numbers that read back exactly, strategy-state
 * members {"a": arch, "v": value}, and bounded dumps for a score's aux_json.
 *
 * The record's keys and their order are the on-disk format; records written by earlier versions
 * (printf-built, same spacing) parse unchanged.
 */
#include "search-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- JSON helpers ---------------------------------------------------------------------------- */

json_t *nas_i_json_num(double v) {
    if (!isfinite(v)) {
        return json_null();
    }
    /* integral values as integers, as "%.17g" printed them: "3600", not "3600.0" */
    if (v == floor(v) && fabs(v) <= 9007199254740992.0 && !(v == 0.0 && signbit(v))) {
        return json_integer((json_int_t)v);
    }
    return json_real(v);
}

bool nas_i_json_dump_into(const json_t *j, char *buf, size_t cap) {
    if (cap == 0) {
        return false;
    }
    size_t n = j ? json_dumpb(j, buf, cap, JSON_ENCODE_ANY) : 0;
    if (n == 0 || n >= cap) {
        buf[0] = '\0';
        return false;
    }
    buf[n] = '\0';
    return true;
}

/* Length in bytes of a UTF-8 sequence starting with byte c; 0 for a byte that starts none. */
static size_t utf8_len(unsigned char c) {
    if (c < 0x80) {
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        return 2;
    }
    if ((c & 0xf0) == 0xe0) {
        return 3;
    }
    return (c & 0xf8) == 0xf0 ? 4 : 0;
}

/* Bytes of s[0..n) that are whole UTF-8 characters (a cut inside one or a bad byte ends it). */
static size_t utf8_prefix(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_len(p[i]);
        if (len == 0 || i + len > n) {
            return i;
        }
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return i;
            }
        }
        i += len;
    }
    return i;
}

void nas_i_json_error_into(char *buf, size_t cap, const char *msg) {
    /* valid UTF-8 for JSON: bytes that start no character become '?' */
    char text[1024];
    size_t n = 0;
    for (size_t i = 0; msg[i] && n + 1 < sizeof text;) {
        size_t ok = utf8_prefix(msg + i, strnlen(msg + i, 4));
        size_t len = ok ? utf8_len((unsigned char)msg[i]) : 1;
        if (n + len + 1 > sizeof text) {
            break;
        }
        if (ok) {
            memcpy(text + n, msg + i, len);
        } else {
            text[n] = '?';
        }
        n += len;
        i += len;
    }
    text[n] = '\0';
    if (cap > 0) {
        buf[0] = '\0';
    }
    for (;;) {
        json_t *o = json_pack("{s:s%}", "error", text, n);
        size_t need = o ? json_dumpb(o, NULL, 0, 0) : 0;
        bool ok = need > 0 && need < cap && nas_i_json_dump_into(o, buf, cap);
        json_decref(o);
        if (ok || n == 0 || need == 0) {
            return;
        }
        size_t cut = need - cap + 1; /* bytes over; escapes make a character cost more */
        n = utf8_prefix(text, n > cut ? n - cut : 0);
    }
}

json_t *nas_i_json_member_new(const nas_space *sp, const nas_arch *a, double v) {
    char text[NAS_ARCH_STR_MAX];
    if (nas_arch_encode(sp, a, text, sizeof text) != NAS_OK) {
        return NULL; /* cannot happen for members; keeps the state from being half-written */
    }
    return json_pack("{s:s, s:o}", "a", text, "v", nas_i_json_num(v));
}

nas_status nas_i_json_member(const nas_space *sp, json_t *obj, const char *what, nas_arch *a,
                             double *v) {
    json_t *ja = json_object_get(obj, "a");
    json_t *jv = json_object_get(obj, "v");
    if (!json_is_object(obj) || !json_is_string(ja) || !(json_is_number(jv) || json_is_null(jv))) {
        return nas_error(NAS_EFORMAT, "search state: %s is not {\"a\": arch, \"v\": value}", what);
    }
    nas_status st = nas_arch_decode(sp, json_string_value(ja), a);
    if (st != NAS_OK) {
        return nas_error_wrap(st, "search state: %s", what);
    }
    *v = json_is_null(jv) ? (double)NAN : json_number_value(jv);
    return NAS_OK;
}

nas_status nas_i_json_int(json_t *obj, const char *key, const char *what, int64_t *out) {
    json_t *j = json_object_get(obj, key);
    if (!json_is_integer(j)) {
        return nas_error(NAS_EFORMAT, "search state: %s has no integer '%s'", what, key);
    }
    *out = (int64_t)json_integer_value(j);
    return NAS_OK;
}

/* ---- writing --------------------------------------------------------------------------------- */

void nas_i_record_of(const nas_i_search *s, const nas_i_session *ss, nas_search_record *rec) {
    const nas_search_config *c = &s->cfg;
    memset(rec, 0, sizeof *rec);
    rec->strategy = c->strategy;
    rec->seed = c->seed;
    rec->budget = c->budget;
    rec->time_limit = c->time_limit;
    rec->round = c->round;
    rec->population = c->population;
    rec->sample = c->sample;
    rec->ls_init = c->ls_init;
    rec->net = ss->net;
    snprintf(rec->canon, sizeof rec->canon, "%s", nas_canon_kind_name(s->canon));
    snprintf(rec->scorer, sizeof rec->scorer, "%s", ss->sc->name);
    rec->higher_is_better = ss->sc->higher_is_better;
    rec->has_recipe = true;
    snprintf(rec->recipe, sizeof rec->recipe, "%s", ss->recipe);
    rec->n_extra = ss->n_extra;
    for (int x = 0; x < ss->n_extra; x++) {
        snprintf(rec->extra[x].name, sizeof rec->extra[x].name, "%s", c->extra[x]->name);
        snprintf(rec->extra[x].recipe, sizeof rec->extra[x].recipe, "%s", ss->xrecipe[x]);
    }
    snprintf(rec->space_path, sizeof rec->space_path, "%s", s->sp->path);
    snprintf(rec->space_digest, sizeof rec->space_digest, "%s", s->sp->digest);
    rec->space_json = ss->space_json;                 /* borrowed: format only reads it */
    rec->cli_json = (char *)(uintptr_t)c->extra_json; /* borrowed: format only reads it */
}

nas_status nas_search_record_format(const nas_search_record *rec, char **out) {
    *out = NULL;
    nas_status st = NAS_OK;
    json_t *root = NULL, *cli = NULL;
    char *text = NULL;
    json_error_t je;
    if (rec->cli_json && rec->cli_json[0]) {
        cli = json_loads(rec->cli_json, 0, &je);
        if (!json_is_object(cli)) {
            st = nas_error(NAS_EINVAL, "search: extra_json is not a JSON object: %s",
                           cli ? "another JSON value" : je.text);
            goto cleanup;
        }
    } else {
        cli = json_object();
    }
    json_t *extra = json_array();
    for (int x = 0; extra && x < rec->n_extra; x++) {
        json_t *e = json_pack_ex(&je, 0, "{s:s, s:s}", "name", rec->extra[x].name, "recipe",
                                 rec->extra[x].recipe);
        if (!e || json_array_append_new(extra, e) != 0) {
            json_decref(extra);
            extra = NULL;
        }
    }
    root = json_pack_ex(
        &je, 0,
        "{s:s, s:I, s:I, s:o, s:i, s:i, s:i, s:i,"
        " s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:s, s:s, s:b, s:s, s:o, s:s, s:O}",
        "strategy", nas_strategy_name(rec->strategy), "seed", (json_int_t)rec->seed, "budget",
        (json_int_t)rec->budget, "time_limit", nas_i_json_num(rec->time_limit), "round", rec->round,
        "population", rec->population, "sample", rec->sample, "ls_init", rec->ls_init, "net", "C",
        rec->net.C, "N", rec->net.N, "in_c", rec->net.in_c, "in_h", rec->net.in_h, "in_w",
        rec->net.in_w, "classes", rec->net.classes, "canon", rec->canon, "scorer", rec->scorer,
        "higher_is_better", (int)rec->higher_is_better, "recipe", rec->recipe, "extra_scorers",
        extra, "space_path", rec->space_path, "cli", cli);
    if (!root) {
        st = nas_error(NAS_EINVAL, "search: cannot write the run configuration (%s)", je.text);
        goto cleanup;
    }
    if (rec->space_digest[0] &&
        json_object_set_new(root, "space_digest", json_string(rec->space_digest)) != 0) {
        st = nas_error(NAS_ENOMEM, "search: out of memory writing the run configuration");
        goto cleanup;
    }
    if (rec->space_json) {
        json_t *sj = json_loads(rec->space_json, 0, &je);
        if (!json_is_object(sj) || json_object_set_new(root, "space", sj) != 0) {
            json_decref(sj);
            st = nas_error(NAS_EINVAL, "search: the space content is not a JSON object");
            goto cleanup;
        }
    }
    text = json_dumps(root, 0);
    *out = text ? nas_strdup(text) : NULL;
    if (!*out) {
        st = nas_error(NAS_ENOMEM, "search: out of memory writing the run configuration");
        goto cleanup;
    }
cleanup:
    free(text); /* jansson's allocation */
    json_decref(root);
    json_decref(cli);
    return st;
}

/* ---- reading --------------------------------------------------------------------------------- */

static nas_status rec_int(json_t *obj, const char *key, int *out) {
    json_t *j = json_object_get(obj, key);
    if (!json_is_integer(j)) {
        return nas_error(NAS_EFORMAT, "the run record has no integer '%s'", key);
    }
    *out = (int)json_integer_value(j);
    return NAS_OK;
}

/* An optional string member into dst[cap]; false when absent, EFORMAT when not a string. */
static nas_status rec_str(json_t *obj, const char *key, char *dst, size_t cap, bool *has) {
    json_t *j = json_object_get(obj, key);
    if (has) {
        *has = j != NULL;
    }
    if (!j) {
        return NAS_OK;
    }
    if (!json_is_string(j) || json_string_length(j) >= cap) {
        return nas_error(NAS_EFORMAT, "the run record's '%s' is not a string of < %zu bytes", key,
                         cap);
    }
    memcpy(dst, json_string_value(j), json_string_length(j) + 1);
    return NAS_OK;
}

nas_status nas_search_record_parse(const char *config_json, nas_search_record *out) {
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loads(config_json ? config_json : "", 0, &je);
    nas_status st = NAS_OK;
    if (!json_is_object(root)) {
        st = nas_error(NAS_EFORMAT, "the run record is not a JSON object (%s)",
                       root ? "another JSON value" : je.text);
        goto cleanup;
    }
    json_t *js = json_object_get(root, "strategy");
    if (!json_is_string(js)) {
        st = nas_error(NAS_EFORMAT, "the run record names no strategy");
        goto cleanup;
    }
    NAS_TRY(nas_strategy_from_name(json_string_value(js), &out->strategy));
    NAS_TRY(rec_int(root, "round", &out->round));
    NAS_TRY(rec_int(root, "population", &out->population));
    NAS_TRY(rec_int(root, "sample", &out->sample));
    NAS_TRY(rec_int(root, "ls_init", &out->ls_init));
    json_t *net = json_object_get(root, "net");
    if (!json_is_object(net)) {
        st = nas_error(NAS_EFORMAT, "the run record has no net object");
        goto cleanup;
    }
    NAS_TRY(rec_int(net, "C", &out->net.C));
    NAS_TRY(rec_int(net, "N", &out->net.N));
    NAS_TRY(rec_int(net, "in_c", &out->net.in_c));
    NAS_TRY(rec_int(net, "in_h", &out->net.in_h));
    NAS_TRY(rec_int(net, "in_w", &out->net.in_w));
    NAS_TRY(rec_int(net, "classes", &out->net.classes));
    /* optional members: absent in records that predate them */
    json_t *j = json_object_get(root, "seed");
    out->seed = json_is_integer(j) ? (uint64_t)json_integer_value(j) : 0;
    j = json_object_get(root, "budget");
    out->budget = json_is_integer(j) ? (int64_t)json_integer_value(j) : 0;
    j = json_object_get(root, "time_limit");
    out->time_limit = json_is_number(j) ? json_number_value(j) : 0.0;
    j = json_object_get(root, "higher_is_better");
    out->higher_is_better = json_is_true(j);
    NAS_TRY(rec_str(root, "canon", out->canon, sizeof out->canon, NULL));
    NAS_TRY(rec_str(root, "scorer", out->scorer, sizeof out->scorer, NULL));
    NAS_TRY(rec_str(root, "recipe", out->recipe, sizeof out->recipe, &out->has_recipe));
    NAS_TRY(rec_str(root, "space_path", out->space_path, sizeof out->space_path, NULL));
    json_t *jx = json_object_get(root, "extra_scorers");
    if (jx && (!json_is_array(jx) || json_array_size(jx) > NAS_SEARCH_EXTRA_MAX)) {
        st = nas_error(NAS_EFORMAT,
                       "the run record's 'extra_scorers' is not an array of at "
                       "most %d scorers",
                       NAS_SEARCH_EXTRA_MAX);
        goto cleanup;
    }
    for (size_t x = 0; jx && x < json_array_size(jx); x++) {
        json_t *e = json_array_get(jx, x);
        nas_search_record_scorer *r = &out->extra[x];
        bool has_name = false, has_recipe = false;
        if (json_is_object(e)) {
            NAS_TRY(rec_str(e, "name", r->name, sizeof r->name, &has_name));
            NAS_TRY(rec_str(e, "recipe", r->recipe, sizeof r->recipe, &has_recipe));
        }
        if (!has_name || !has_recipe) {
            st =
                nas_error(NAS_EFORMAT,
                          "the run record's extra scorer %zu is not {\"name\", \"recipe\"}", x + 1);
            goto cleanup;
        }
        out->n_extra++;
    }
    NAS_TRY(rec_str(root, "space_digest", out->space_digest, sizeof out->space_digest, NULL));
    json_t *jsp = json_object_get(root, "space");
    if (jsp && !json_is_object(jsp)) {
        st = nas_error(NAS_EFORMAT, "the run record's 'space' is not an object");
        goto cleanup;
    }
    if (jsp) {
        char *sp_text = json_dumps(jsp, JSON_COMPACT | JSON_SORT_KEYS);
        out->space_json = sp_text ? nas_strdup(sp_text) : NULL;
        free(sp_text); /* jansson's allocation */
        if (!out->space_json) {
            st = nas_error(NAS_ENOMEM, "out of memory reading a run record");
            goto cleanup;
        }
    }
    json_t *cli = json_object_get(root, "cli");
    if (cli && !json_is_object(cli)) {
        st = nas_error(NAS_EFORMAT, "the run record's 'cli' is not an object");
        goto cleanup;
    }
    char *text = cli ? json_dumps(cli, 0) : NULL;
    out->cli_json = nas_strdup(text ? text : "{}");
    free(text); /* jansson's allocation */
    if (!out->cli_json || (cli && !text)) {
        st = nas_error(NAS_ENOMEM, "out of memory reading a run record");
        goto cleanup;
    }
cleanup:
    json_decref(root);
    return st;
}

nas_status nas_search_record_get(nas_store *db, int64_t run_id, nas_run_info *ri,
                                 nas_search_record *out) {
    memset(out, 0, sizeof *out);
    nas_run_info own;
    nas_run_info *r = ri ? ri : &own;
    memset(r, 0, sizeof *r);
    nas_status st = nas_store_run_get(db, run_id, r);
    if (st != NAS_OK) {
        goto cleanup;
    }
    if (strcmp(r->kind, "search") != 0) {
        st = nas_error(NAS_EINVAL, "run %lld is not a search run (its kind is %s)",
                       (long long)run_id, r->kind);
        goto cleanup;
    }
    st = nas_search_record_parse(r->config_json, out);
    if (st != NAS_OK) {
        st = nas_error_wrap(st, "run %lld", (long long)run_id);
        goto cleanup;
    }
    out->seed = r->seed; /* runs.seed is the run's stream */
cleanup:
    if (!ri) {
        nas_run_info_free(&own);
    }
    return st;
}

void nas_search_record_free(nas_search_record *rec) {
    if (rec) {
        nas_free(rec->cli_json);
        nas_free(rec->space_json);
        memset(rec, 0, sizeof *rec);
    }
}
