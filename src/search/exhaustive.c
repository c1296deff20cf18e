/*
 * Exhaustive search over a finite space: one member of every canonical class of valid members,
 * in a random order fixed by the run's seed (so a budget or a time limit covers the space
 * evenly), until the space is done. The class list is rebuilt by enumeration at start and on
 * resume; the state is the position in it, {"pos": n}.
 */
#include "search-impl.h"

#include <string.h>

/* Unique classes a run may enumerate (keys and texts are kept in memory). */
#define EXH_MAX_CLASSES 20000000

typedef struct exh_state {
    char **text;    /* [n] arch text of each class's first member, enumeration order */
    int64_t *order; /* [n] visiting order (seeded shuffle) */
    int64_t n, cap;
    int64_t pos; /* next position in order[] */
    /* key set used while enumerating */
    char **keys;     /* [n] */
    int64_t *slots;  /* open addressing: index + 1 */
    int64_t n_slots; /* power of two */
    char key[NAS_CANON_KEY_MAX];
    const nas_i_search *s;
} exh_state;

static void exh_free(nas_i_search *s) {
    exh_state *e = s->st;
    if (e) {
        for (int64_t i = 0; i < e->n; i++) {
            nas_free(e->text[i]);
            nas_free(e->keys ? e->keys[i] : NULL);
        }
        nas_free(e->text);
        nas_free(e->keys);
        nas_free(e->order);
        nas_free(e->slots);
        nas_free(e);
    }
    s->st = NULL;
}

/* Insert the key of class i; false when it was already there. */
static bool key_insert(exh_state *e, int64_t i) {
    uint64_t mask = (uint64_t)e->n_slots - 1;
    for (uint64_t j = nas_hash_str(e->keys[i]) & mask;; j = (j + 1) & mask) {
        if (e->slots[j] == 0) {
            e->slots[j] = i + 1;
            return true;
        }
        if (strcmp(e->keys[e->slots[j] - 1], e->keys[i]) == 0) {
            return false;
        }
    }
}

static nas_status grow(exh_state *e) {
    if (e->n == e->cap) {
        if (e->cap >= EXH_MAX_CLASSES) {
            return nas_error(NAS_EUNSUPPORTED,
                             "exhaustive search: the space has more than %d unique "
                             "architectures; use another strategy",
                             EXH_MAX_CLASSES);
        }
        int64_t cap = e->cap ? 2 * e->cap : 1024;
        char **t = nas_realloc(e->text, (size_t)cap * sizeof *t);
        if (t) {
            e->text = t;
        }
        char **k = t ? nas_realloc(e->keys, (size_t)cap * sizeof *k) : NULL;
        if (k) {
            e->keys = k;
        }
        if (!t || !k) {
            return nas_error(NAS_ENOMEM, "exhaustive search: out of memory for %lld classes",
                             (long long)cap);
        }
        e->cap = cap;
    }
    if (2 * (e->n + 1) > e->n_slots) {
        int64_t n = e->n_slots ? 2 * e->n_slots : 4096;
        int64_t *sl = nas_calloc((size_t)n, sizeof *sl);
        if (!sl) {
            return nas_error(NAS_ENOMEM, "exhaustive search: out of memory for the key set");
        }
        nas_free(e->slots);
        e->slots = sl;
        e->n_slots = n;
        for (int64_t i = 0; i < e->n; i++) {
            key_insert(e, i);
        }
    }
    return NAS_OK;
}

static nas_status visit(const nas_arch *a, void *user) {
    exh_state *e = user;
    const nas_i_search *s = e->s;
    if (!nas_arch_is_valid(s->sp, a)) {
        return NAS_OK;
    }
    NAS_CHECK(nas_arch_canon_key(s->sp, a, s->canon, e->key, sizeof e->key));
    NAS_CHECK(grow(e));
    e->keys[e->n] = nas_strdup(e->key);
    if (!e->keys[e->n]) {
        return nas_error(NAS_ENOMEM, "exhaustive search: out of memory");
    }
    if (!key_insert(e, e->n)) {
        nas_free(e->keys[e->n]);
        e->keys[e->n] = NULL;
        return NAS_OK;
    }
    char text[NAS_ARCH_STR_MAX];
    nas_status st = nas_arch_encode(s->sp, a, text, sizeof text);
    e->text[e->n] = st == NAS_OK ? nas_strdup(text) : NULL;
    if (!e->text[e->n]) {
        nas_free(e->keys[e->n]);
        return st != NAS_OK ? st : nas_error(NAS_ENOMEM, "exhaustive search: out of memory");
    }
    e->n++;
    return NAS_OK;
}

static nas_status exh_init(nas_i_search *s) {
    uint64_t size = 0;
    nas_status st = nas_space_size(s->sp, &size);
    if (st != NAS_OK || size > NAS_SPACE_ENUM_LIMIT) {
        return nas_error(NAS_EUNSUPPORTED,
                         "exhaustive search: space %s is too large to enumerate (more than %llu "
                         "members); use random, evolution or local",
                         s->sp->name, (unsigned long long)NAS_SPACE_ENUM_LIMIT);
    }
    exh_state *e = nas_calloc(1, sizeof *e);
    if (!e) {
        return nas_error(NAS_ENOMEM, "exhaustive search: out of memory");
    }
    s->st = e;
    e->s = s;
    NAS_CHECK(nas_space_enumerate(s->sp, visit, e));
    /* the key set is only needed while enumerating */
    for (int64_t i = 0; i < e->n; i++) {
        nas_free(e->keys[i]);
    }
    nas_free(e->keys);
    nas_free(e->slots);
    e->keys = NULL;
    e->slots = NULL;
    e->n_slots = 0;
    e->order = nas_malloc((size_t)(e->n > 0 ? e->n : 1) * sizeof *e->order);
    if (!e->order) {
        return nas_error(NAS_ENOMEM, "exhaustive search: out of memory");
    }
    /* the visiting order: a stream of its own, so resuming does not depend on the run's RNG */
    nas_rng base, r;
    nas_rng_seed(&base, s->cfg.seed);
    nas_rng_split(&r, &base, 0x65786861ull);
    for (int64_t i = 0; i < e->n; i++) {
        e->order[i] = i;
    }
    for (int64_t i = e->n - 1; i > 0; i--) {
        int64_t j = (int64_t)nas_rng_below(&r, (uint64_t)i + 1);
        int64_t t = e->order[i];
        e->order[i] = e->order[j];
        e->order[j] = t;
    }
    return NAS_OK;
}

static nas_status exh_propose(nas_i_search *s, nas_i_cand *c, nas_i_proposal *r) {
    exh_state *e = s->st;
    while (e->pos < e->n) {
        NAS_CHECK(nas_arch_decode(s->sp, e->text[e->order[e->pos++]], &c->arch));
        nas_i_check chk;
        NAS_CHECK(nas_i_search_check(s, c, &chk, NULL));
        if (chk == NAS_I_NEW) {
            c->tag = NAS_I_TAG_RANDOM;
            *r = NAS_I_PROPOSED;
            return NAS_OK;
        }
    }
    *r = NAS_I_DONE;
    return NAS_OK;
}

static nas_status exh_observe(nas_i_search *s, const nas_i_cand *c, int64_t seq) {
    (void)s;
    (void)c;
    (void)seq;
    return NAS_OK;
}

static json_t *exh_save(nas_i_search *s) {
    exh_state *e = s->st;
    return json_pack("{s:I, s:I}", "pos", (json_int_t)e->pos, "classes", (json_int_t)e->n);
}

static nas_status exh_restore(nas_i_search *s, json_t *state) {
    exh_state *e = s->st;
    int64_t pos = 0, n = 0;
    NAS_CHECK(nas_i_json_int(state, "pos", "exhaustive state", &pos));
    NAS_CHECK(nas_i_json_int(state, "classes", "exhaustive state", &n));
    if (n != e->n || pos < 0 || pos > n) {
        return nas_error(NAS_EFORMAT,
                         "exhaustive state: position %lld of %lld classes does not fit this "
                         "space's %lld classes",
                         (long long)pos, (long long)n, (long long)e->n);
    }
    e->pos = pos;
    return NAS_OK;
}

const nas_i_strategy_ops nas_i_exhaustive_ops = {
    .kind = NAS_STRATEGY_EXHAUSTIVE,
    .init = exh_init,
    .restore = exh_restore,
    .propose = exh_propose,
    .observe = exh_observe,
    .end_round = NULL,
    .save = exh_save,
    .free = exh_free,
};
