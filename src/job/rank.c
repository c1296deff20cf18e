/*
 * The rank job: fit a learned ranker (rank.h) on the trainings a results store holds and save it
 * in the store. Labels are the validation accuracies of finished scratch trainings of one
 * training recipe (the recipe with the most trained architectures unless a run is given; seeds
 * of the same recipe are averaged per architecture); features are computed for each labelled
 * architecture by the featurizer the "ranker" scorer uses (score.h), on the store's GHN and the
 * proxies' training batch, so the fitted model reads at search time what it was fitted on.
 */
#include "job-impl.h"

#include "ghnas/rank.h"
#include "ghnas/space.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nas_job_rank_params nas_job_rank_defaults(void) {
    nas_job_rank_params p;
    memset(&p, 0, sizeof p);
    p.space = "nb201";
    p.data = "fashion-mnist";
    p.model = "gp";
    p.embed_k = 3;
    p.cv_folds = 5;
    p.seed = 1;
    p.val_n = 500; /* as the search scores with the GHN */
    return p;
}

/* ---- feature groups -------------------------------------------------------------------------- */

enum { G_SIZE = 1, G_GHN = 2, G_EMBED = 4, G_PROXIES = 8, G_ALL = 15 };

static const struct {
    const char *name;
    unsigned bit;
} GROUPS[] = {{"size", G_SIZE}, {"ghn", G_GHN}, {"embed", G_EMBED}, {"proxies", G_PROXIES}};

static nas_status parse_groups(const char *list, unsigned *out) {
    *out = 0;
    char buf[128];
    if (strlen(list) >= sizeof buf) {
        return nas_error(NAS_EINVAL, "--features: the list is too long");
    }
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned bit = strcmp(tok, "all") == 0 ? G_ALL : 0;
        for (size_t i = 0; !bit && i < sizeof GROUPS / sizeof GROUPS[0]; i++) {
            bit = strcmp(tok, GROUPS[i].name) == 0 ? GROUPS[i].bit : 0;
        }
        if (!bit) {
            return nas_error(NAS_EINVAL,
                             "--features: unknown group '%s' (known: size, ghn, embed, proxies, "
                             "all)",
                             tok);
        }
        *out |= bit;
    }
    if (*out == 0) {
        return nas_error(NAS_EINVAL, "--features: no group named");
    }
    return NAS_OK;
}

static void groups_text(unsigned g, char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof GROUPS / sizeof GROUPS[0]; i++) {
        if (g & GROUPS[i].bit) {
            size_t l = strlen(buf);
            snprintf(buf + l, cap - l, "%s%s", l ? "," : "", GROUPS[i].name);
        }
    }
}

/* The columns of a row with n_embed embedding columns that groups g select: want[d]. */
static void groups_mask(unsigned g, int n_embed, uint8_t *want) {
    const int d = nas_rank_n_features(n_embed);
    for (int c = 0; c < d; c++) {
        unsigned bit = G_PROXIES;
        if (c == NAS_RANK_COL_LOG_PARAMS || c == NAS_RANK_COL_LOG_FLOPS) {
            bit = G_SIZE;
        } else if (c == NAS_RANK_COL_GHN_ACC || c == NAS_RANK_COL_GHN_LOSS) {
            bit = G_GHN;
        } else if (c >= NAS_RANK_N_COLS) {
            bit = G_EMBED;
        }
        want[c] = (g & bit) != 0;
    }
}

/* ---- labels ---------------------------------------------------------------------------------- */

/* One labelled architecture: the mean validation accuracy of its trainings of the recipe. */
typedef struct label {
    int64_t arch_id;
    const char *arch; /* in the labels table */
    double sum;
    int n;
} label;

/* A training recipe without its seed, as canonical JSON (heap, free()), or NULL when the text is
 * not a JSON object. */
static char *recipe_key(const char *recipe_json) {
    json_error_t je;
    json_t *o = json_loads(recipe_json, 0, &je);
    char *key = NULL;
    if (json_is_object(o)) {
        json_object_del(o, "seed");
        key = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    }
    json_decref(o);
    return key;
}

/* Choose the recipe (the one with the most architectures; ties: the newest training) and
 * collect its labels, in order of first training id, at most max_labels (0 = all). */
static nas_status collect_labels(const nas_store_table *t, int64_t recipe_run, int max_labels,
                                 label **out, int *n_out, int *n_trainings, char **chosen,
                                 json_t *training_ids) {
    *out = NULL;
    *n_out = 0;
    *n_trainings = 0;
    *chosen = NULL;
    const int64_t n = t->n_rows;
    char **keys = nas_calloc((size_t)(n > 0 ? n : 1), sizeof *keys);
    label *labels = nas_calloc((size_t)(n > 0 ? n : 1), sizeof *labels);
    nas_status st = NAS_OK;
    if (!keys || !labels) {
        st = nas_error(NAS_ENOMEM, "rank: out of memory");
        goto cleanup;
    }
    for (int64_t r = 0; r < n; r++) {
        keys[r] = recipe_key(nas_store_table_at(t, r, 3)->s);
    }
    /* the recipe with the most distinct architectures */
    int64_t best = -1;
    int best_archs = 0;
    for (int64_t r = 0; r < n; r++) {
        if (!keys[r]) {
            continue;
        }
        int archs = 0;
        for (int64_t q = 0; q < n; q++) {
            if (!keys[q] || strcmp(keys[q], keys[r]) != 0) {
                continue;
            }
            bool first = true; /* first row of its architecture within the recipe */
            for (int64_t u = 0; u < q && first; u++) {
                first = !(keys[u] && strcmp(keys[u], keys[r]) == 0 &&
                          nas_store_table_at(t, u, 1)->i == nas_store_table_at(t, q, 1)->i);
            }
            archs += first;
        }
        if (archs >= best_archs) {
            best_archs = archs;
            best = r;
        }
    }
    if (recipe_run > 0) { /* the recipe of that run's first finished training */
        best = -1;
        for (int64_t r = 0; r < n && best < 0; r++) {
            best = keys[r] && nas_store_table_at(t, r, 5)->i == recipe_run ? r : -1;
        }
        if (best < 0) {
            st = nas_error(NAS_EINVAL, "run %lld has no finished training to take the recipe of",
                           (long long)recipe_run);
            goto cleanup;
        }
    }
    if (best < 0) {
        st = nas_error(NAS_EINVAL, "no finished training to learn from");
        goto cleanup;
    }
    int nl = 0;
    for (int64_t r = 0; r < n; r++) {
        if (!keys[r] || strcmp(keys[r], keys[best]) != 0) {
            continue;
        }
        const int64_t arch_id = nas_store_table_at(t, r, 1)->i;
        const double acc = nas_store_table_at(t, r, 4)->r;
        int k = 0;
        while (k < nl && labels[k].arch_id != arch_id) {
            k++;
        }
        if (k == nl) {
            if (max_labels > 0 && nl >= max_labels) {
                continue;
            }
            labels[nl++] = (label){arch_id, nas_store_table_at(t, r, 2)->s, 0.0, 0};
        }
        labels[k].sum += acc;
        labels[k].n++;
        (*n_trainings)++;
        json_array_append_new(training_ids,
                              json_integer((json_int_t)nas_store_table_at(t, r, 0)->i));
    }
    *chosen = keys[best];
    keys[best] = NULL;
    *out = labels;
    labels = NULL;
    *n_out = nl;
cleanup:
    for (int64_t r = 0; keys && r < n; r++) {
        free(keys[r]);
    }
    nas_free(keys);
    nas_free(labels);
    return st;
}

/* The training skeleton of a recipe ("net": {"C": 8, "N": 1}) into nc (left alone if absent). */
static void recipe_net(const char *key, nas_net_config *nc) {
    json_error_t je;
    json_t *o = json_loads(key, 0, &je);
    json_t *net = json_object_get(o, "net");
    json_t *c = json_object_get(net, "C"), *nn = json_object_get(net, "N");
    if (json_is_integer(c)) {
        nc->C = (int)json_integer_value(c);
    }
    if (json_is_integer(nn)) {
        nc->N = (int)json_integer_value(nn);
    }
    json_decref(o);
}

/* ---- the job --------------------------------------------------------------------------------- */

nas_status nas_job_rank(const nas_job_rank_params *p, nas_job_rank_result *res) {
    memset(res, 0, sizeof *res);
    res->cv_tau = res->cv_rho = (double)NAN;
    if (p->quiet) {
        nas_progress_set_enabled(false);
    }
    if (p->threads > 0) {
        nas_set_threads(p->threads);
    }
    nas_rank_fit_config fc = nas_rank_fit_config_default();
    NAS_CHECK(nas_rank_kind_parse(p->model ? p->model : "gp", &fc.kind));
    unsigned groups = G_ALL;
    bool groups_given = p->features != NULL;
    if (groups_given) {
        NAS_CHECK(parse_groups(p->features, &groups));
    }
    if (p->embed_k < 1 || p->cv_folds < 0 || p->cv_folds == 1 || p->val_n < 1 ||
        p->max_labels < 0) {
        return nas_error(NAS_EINVAL, "rank: --embed-k >= 1, --cv-folds 0 or >= 2, --val-n >= 1 "
                                     "and --labels >= 0 are needed");
    }
    const double t0 = nas_time_now();
    nas_status st = NAS_OK;
    nas_store *db = NULL;
    nas_store_table t;
    nas_space sp;
    nas_ghn g;
    nas_ghn_data_info info;
    nas_dataset ds;
    nas_data_split split;
    memset(&t, 0, sizeof t);
    memset(&sp, 0, sizeof sp);
    memset(&g, 0, sizeof g);
    memset(&info, 0, sizeof info);
    memset(&ds, 0, sizeof ds);
    memset(&split, 0, sizeof split);
    label *labels = NULL;
    char *key = NULL, *recipe = NULL, *labels_json = NULL;
    double *X = NULL, *y = NULL;
    int64_t *ids = NULL;
    char **names = NULL;
    uint8_t *want = NULL;
    nas_score_featurizer *feat = NULL;
    nas_rank_model m;
    memset(&m, 0, sizeof m);
    void *bytes = NULL;
    size_t n_bytes = 0;
    json_t *tids = json_array();
    nas_status *row_st = NULL;
    char(*row_msg)[256] = NULL;
    if (!tids) {
        return nas_error(NAS_ENOMEM, "rank: out of memory");
    }

    NAS_TRY(nas_store_open(&db, p->db, 0));
    NAS_TRY(nas_space_load(&sp, p->space ? p->space : "nb201"));
    nas_data_desc desc; /* labels, GHN and ranker are keyed by the canonical spec */
    NAS_TRY(nas_i_job_data_resolve(p->data ? p->data : "fashion-mnist", p->data_dir, &desc));
    const char *data = desc.spec;
    if (p->run > 0) {
        nas_run_info ri;
        NAS_TRY(nas_store_run_get(db, p->run, &ri));
        const bool same = strcmp(ri.space, sp.name) == 0 && strcmp(ri.dataset, data) == 0;
        if (!same) {
            st = nas_error(NAS_EINVAL, "run %lld is of space %s and data set %s, not %s and %s",
                           (long long)p->run, ri.space, ri.dataset, sp.name, data);
        }
        nas_run_info_free(&ri);
        NAS_TRY(st);
    }
    NAS_TRY(nas_store_query_labels(db, sp.name, data, p->run, &t));
    if (t.n_rows == 0) {
        st = nas_error(NAS_EINVAL,
                       "results store '%s' holds no finished training of space %s on %s%s to "
                       "learn from (train some with `ghnas evaluate`)",
                       p->db, sp.name, data, p->run > 0 ? " in that run" : "");
        goto cleanup;
    }
    int n = 0;
    NAS_TRY(collect_labels(&t, p->recipe_run, p->max_labels, &labels, &n, &res->n_trainings, &key,
                           tids));
    if (n < 3) {
        st = nas_error(NAS_EINVAL,
                       "%d labelled architecture%s of one training recipe in '%s': a ranker "
                       "needs at least 3 (train more with `ghnas evaluate`)",
                       n, n == 1 ? "" : "s", p->db);
        goto cleanup;
    }
    res->n_labels = n;

    /* the GHN: given, the store's newest of the space and data set, or none */
    bool use_ghn = !(p->ghn && strcmp(p->ghn, "none") == 0) && (groups & (G_GHN | G_EMBED));
    if (use_ghn && p->ghn) {
        NAS_TRY(nas_i_job_ghn_given(db, "--ghn", p->ghn, &g, &info, &res->ghn_id));
    } else if (use_ghn) {
        st = nas_store_ghn_find(db, sp.name, data, NULL, &res->ghn_id);
        if (st == NAS_ENOTFOUND && !groups_given) {
            nas_error_clear();
            st = NAS_OK;
            use_ghn = false;
            res->ghn_id = 0;
        }
        NAS_TRY(st);
        if (use_ghn) {
            NAS_TRY(nas_i_job_ghn_from_store(db, res->ghn_id, &g, &info));
        }
    }
    if (use_ghn) {
        if (strcmp(info.space, sp.name) != 0 || strcmp(info.dataset, data) != 0) {
            st = nas_error(NAS_EINVAL, "GHN %lld was trained on %s / %s, not %s / %s",
                           (long long)res->ghn_id, info.space, info.dataset, sp.name, data);
            goto cleanup;
        }
        st = nas_i_job_ghn_data(info.dataset, p->data_dir, &info, false, &ds, &split);
        if (st != NAS_OK) {
            st = nas_error_wrap(st, "GHN %lld", (long long)res->ghn_id);
            goto cleanup;
        }
    } else {
        if (groups_given && (groups & (G_GHN | G_EMBED))) {
            st = nas_error(NAS_EINVAL, "--features %s needs a GHN (--ghn none was given)",
                           p->features);
            goto cleanup;
        }
        groups &= ~(unsigned)(G_GHN | G_EMBED);
        NAS_TRY(nas_i_job_proxy_data(data, p->data_dir, &info, &ds, &split));
    }
    groups_text(groups, res->groups, sizeof res->groups);

    /* the featurizer: the ranker scorer's, on the search's data */
    const int n_embed = use_ghn ? g.cfg.hid : 0;
    const int d = nas_rank_n_features(n_embed);
    want = nas_calloc((size_t)d, 1);
    X = nas_calloc((size_t)n * (size_t)d, sizeof *X);
    y = nas_calloc((size_t)n, sizeof *y);
    ids = nas_calloc((size_t)n, sizeof *ids);
    row_st = nas_calloc((size_t)n, sizeof *row_st);
    row_msg = nas_calloc((size_t)n, sizeof *row_msg);
    if (!want || !X || !y || !ids || !row_st || !row_msg) {
        st = nas_error(NAS_ENOMEM, "rank: out of memory");
        goto cleanup;
    }
    groups_mask(groups, n_embed, want);
    NAS_TRY(
        nas_i_job_featurizer(use_ghn ? &g : NULL, &info, &ds, &split, p->val_n, want, d, &feat));
    nas_net_config nc = nas_net_config_default();
    recipe_net(key, &nc);
    nc.in_c = ds.c;
    nc.in_h = ds.h;
    nc.in_w = ds.w;
    nc.classes = use_ghn ? g.cfg.classes : ds.n_classes;
    for (int i = 0; i < n; i++) {
        y[i] = labels[i].sum / labels[i].n;
        ids[i] = labels[i].arch_id;
    }
    NAS_INFO("rank: features of %d labelled architectures (%s)", n, res->groups);
    nas_progress bar;
    nas_progress_begin(&bar, "features", n);
    int done = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nas_get_threads()) schedule(dynamic, 1)
#endif
    for (int i = 0; i < n; i++) {
        nas_arch a;
        nas_net net;
        memset(&net, 0, sizeof net);
        nas_status s = nas_arch_decode(&sp, labels[i].arch, &a);
        s = s == NAS_OK ? nas_net_compile(&net, &sp, &a, &nc) : s;
        s = s == NAS_OK ? nas_score_featurize(feat, &net, X + (size_t)i * (size_t)d) : s;
        if (s != NAS_OK) {
            snprintf(row_msg[i], sizeof row_msg[i], "%s", nas_errmsg());
        }
        row_st[i] = s;
        nas_net_free(&net);
#ifdef _OPENMP
#pragma omp critical(nas_job_rank_progress)
#endif
        nas_progress_update(&bar, ++done, NULL);
    }
    nas_progress_end(&bar);
    for (int i = 0; i < n; i++) {
        if (row_st[i] != NAS_OK) {
            st = nas_error(row_st[i], "rank: features of %s: %s", labels[i].arch, row_msg[i]);
            goto cleanup;
        }
    }

    /* fit, measure, save */
    NAS_TRY(nas_rank_feature_names(n_embed, &names));
    fc.embed_k = p->embed_k;
    fc.cv_folds = p->cv_folds;
    fc.seed = p->seed;
    fc.label_ids = ids;
    snprintf(fc.id.space, sizeof fc.id.space, "%s", sp.name);
    snprintf(fc.id.dataset, sizeof fc.id.dataset, "%s", data);
    fc.id.ghn_id = use_ghn ? res->ghn_id : 0;
    NAS_TRY(nas_rank_fit(&fc, X, n, d, (const char *const *)names, y, &m));
    res->cv_tau = m.cv_tau;
    res->cv_rho = m.cv_rho;
    res->cv_folds = m.cv_folds;
    snprintf(res->model, sizeof res->model, "%s", nas_rank_kind_name(m.kind));
    for (int c = 0; c < d; c++) {
        if (m.used[c]) {
            size_t l = strlen(res->features);
            if (c >= NAS_RANK_N_COLS && l > 0 && strstr(res->features, "emb_")) {
                continue; /* "emb_0..k" once */
            }
            char nm[NAS_RANK_NAME_MAX];
            nas_rank_feature_name(c, nm, sizeof nm);
            snprintf(res->features + l, sizeof res->features - l, "%s%s", l ? "," : "",
                     c >= NAS_RANK_N_COLS ? "emb_*" : nm);
        }
    }
    NAS_TRY(nas_rank_save(&m, &bytes, &n_bytes));
    res->seconds = nas_time_now() - t0;
    json_t *rj =
        json_pack("{s:o, s:i, s:i, s:s, s:I, s:i, s:s}", "labels", json_loads(key, 0, NULL),
                  "net_C", nc.C, "net_N", nc.N, "features", res->groups, "ghn_val_n",
                  (json_int_t)p->val_n, "embed_k", p->embed_k, "data", data);
    recipe = rj ? json_dumps(rj, JSON_PRESERVE_ORDER) : NULL;
    json_decref(rj);
    labels_json = json_dumps(tids, JSON_COMPACT);
    if (!recipe || !labels_json) {
        st = nas_error(NAS_ENOMEM, "rank: out of memory");
        goto cleanup;
    }
    nas_ranker_record rec = {.name = p->name ? p->name : "",
                             .space = sp.name,
                             .dataset = data,
                             .fingerprint = ds.fingerprint,
                             .ghn_id = use_ghn ? res->ghn_id : 0,
                             .model = res->model,
                             .features = res->features,
                             .n_labels = n,
                             .labels_json = labels_json,
                             .recipe_json = recipe,
                             .cv_tau = m.cv_tau,
                             .cv_rho = m.cv_rho,
                             .seconds = res->seconds,
                             .checkpoint = bytes,
                             .checkpoint_bytes = n_bytes};
    NAS_TRY(nas_store_ranker_add(db, &rec, &res->ranker_id));
    res->ghn_id = use_ghn ? res->ghn_id : 0;
cleanup:
    free(recipe);
    free(labels_json);
    free(key);
    json_decref(tids);
    nas_free(bytes);
    nas_rank_model_free(&m);
    nas_free(names);
    nas_score_featurizer_free(feat);
    nas_free(row_msg);
    nas_free(row_st);
    nas_free(want);
    nas_free(ids);
    nas_free(y);
    nas_free(X);
    nas_free(labels);
    nas_data_split_free(&split);
    nas_data_free(&ds);
    nas_ghn_free(&g);
    nas_store_table_free(&t);
    nas_store_close(db);
    return st;
}
