/*
 * Tests for src/score: the registry (names unique, every proxy of src/proxy registered, the
 * direction of every entry equal to the scorer it makes and to the store's rule for old results,
 * and to what a search records), lookup of unknown names (NAS_ENOTFOUND listing the names),
 * making params and flops without inputs, the refusal of scorers whose inputs are missing, and
 * scorers made through the registry equal to the ones made by their own constructors, and
 * scoring a set of candidates (nas_score_candidates: any thread count, failures, the stop flag).
 */
#include "test_suites.h"
#include "testdir.h"

#include "ghnas/score.h"
#include "ghnas/search.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- fixtures and helpers -------------------------------------------------------------------- */

static void tmp_setup(void) {
    test_tmpdir_create("score");
}

static void tmp_teardown(void) {
    test_tmpdir_remove();
}

/* 40 random 1x8x8 images of 4 classes. */
static nas_dataset noise_dataset(void) {
    nas_dataset ds;
    ck_assert_int_eq(nas_data_alloc(&ds, 40, 1, 8, 8, 4, "noise"), NAS_OK);
    nas_rng r;
    nas_rng_seed(&r, 7);
    for (int64_t i = 0; i < ds.n * 64; i++) {
        ds.images[i] = (uint8_t)nas_rng_below(&r, 256);
    }
    for (int64_t i = 0; i < ds.n; i++) {
        ds.labels[i] = (int32_t)(i % 4);
    }
    return ds;
}

/* Inputs for every registered scorer: a small untrained GHN and the noise images. */
static nas_score_inputs all_inputs(const nas_ghn *g, const nas_dataset *ds) {
    nas_score_inputs in;
    memset(&in, 0, sizeof in);
    in.ghn.ghn = g;
    in.ghn.ds = ds;
    in.ghn.n = ds->n;
    nas_data_norm_identity(&in.ghn.norm, ds->c);
    in.ghn.batch = 8;
    in.ghn.data_id = "noise val";
    in.ghn.calib = (nas_ghn_bn_calib){.ds = ds, .idx = NULL, .batches = 2, .batch_size = 8};
    in.ghn.calib_id = "noise train";
    in.data.ds = ds;
    in.data.n = ds->n;
    nas_data_norm_identity(&in.data.norm, ds->c);
    in.data.batch = 8;
    in.data.seed = 3;
    in.data.data_id = "noise train";
    return in;
}

static nas_ghn small_ghn(void) {
    nas_ghn g;
    nas_ghn_config gc = nas_ghn_config_default();
    gc.hid = 16;
    gc.dec_hid = 32;
    gc.classes = 4; /* the noise images' */
    ck_assert_msg(nas_ghn_init(&g, &gc, 1) == NAS_OK, "%s", nas_errmsg());
    return g;
}

static nas_net_config small_net_config(void);

/* An NB201 net for the noise images. */
static void compile_small(nas_net *net) {
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_arch a;
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|"
                                     "skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
                                     &a),
                     NAS_OK);
    nas_net_config nc = nas_net_config_default();
    nc.C = 4;
    nc.N = 1;
    nc.in_c = 1;
    nc.in_h = nc.in_w = 8;
    nc.classes = 4;
    ck_assert_msg(nas_net_compile(net, &sp, &a, &nc) == NAS_OK, "%s", nas_errmsg());
}

/* ---- the registry ---------------------------------------------------------------------------- */

START_TEST(test_score__registry_names_unique) {
    int n = 0;
    const nas_score_entry *reg = nas_score_registry(&n);
    ck_assert_int_ge(n, 8);
    ck_assert_ptr_eq(nas_score_registry(NULL), reg);
    char joined[512] = "";
    for (int i = 0; i < n; i++) {
        const nas_score_entry *e = &reg[i];
        ck_assert_msg(e->name && e->name[0] && e->stored && e->stored[0], "entry %d unnamed", i);
        ck_assert_int_lt((int)strlen(e->stored), NAS_SCORER_NAME_MAX);
        ck_assert_msg(e->make != NULL && e->help && e->help[0], "%s: no make or help", e->name);
        ck_assert_msg(strchr(e->name, ',') == NULL && strchr(e->name, ' ') == NULL,
                      "'%s' cannot be given in a comma-separated list", e->name);
        for (int j = 0; j < i; j++) {
            ck_assert_msg(strcmp(e->name, reg[j].name) != 0, "'%s' registered twice", e->name);
            ck_assert_msg(strcmp(e->stored, reg[j].stored) != 0, "'%s' stored twice", e->stored);
        }
        const nas_score_entry *f = NULL;
        ck_assert_int_eq(nas_score_find(e->name, &f), NAS_OK);
        ck_assert_ptr_eq(f, e);
        snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", i ? ", " : "",
                 e->name);
    }
    /* the name list for messages is the registry, and its length is reported beyond cap */
    char names[512];
    ck_assert_uint_eq(nas_score_names(names, sizeof names), strlen(joined));
    ck_assert_str_eq(names, joined);
    char small[8];
    ck_assert_uint_eq(nas_score_names(small, sizeof small), strlen(joined));
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    /* every proxy of src/proxy is a registered data scorer, higher is better */
    for (int p = 0; p < nas_proxy_count(); p++) {
        const nas_score_entry *e = NULL;
        ck_assert_msg(nas_score_find(nas_proxy_name(p), &e) == NAS_OK, "%s", nas_errmsg());
        ck_assert(e->higher_is_better);
        ck_assert_int_eq(e->needs, NAS_SCORE_NEEDS_DATA);
        ck_assert_str_eq(e->stored, e->name);
    }
    /* and every data scorer is a proxy (the registry's proxy rows are no second list) */
    int n_data = 0;
    for (int i = 0; i < n; i++) {
        if (reg[i].needs == NAS_SCORE_NEEDS_DATA) {
            int idx = -1;
            ck_assert_msg(nas_proxy_find(reg[i].name, &idx) == NAS_OK, "%s", nas_errmsg());
            n_data++;
        }
    }
    ck_assert_int_eq(n_data, nas_proxy_count());
}
END_TEST

/* The direction of every entry: as the search and evaluate code expect it (params and flops
 * lower, GHN accuracy and the proxies higher), as the scorer made from it says, and as the
 * store's back-fill rule for results older than the scorers table reads the stored name. */
START_TEST(test_score__registry_directions) {
    static const struct {
        const char *name, *stored;
        bool higher;
        unsigned needs;
    } want[] = {
        {"params", "params", false, NAS_SCORE_NEEDS_NONE},
        {"flops", "flops", false, NAS_SCORE_NEEDS_NONE},
        {"ghn", "ghn_acc", true, NAS_SCORE_NEEDS_GHN},
        {"ghn_loss", "ghn_loss", false, NAS_SCORE_NEEDS_GHN},
        {"ghn_bn", "ghn_bn_acc", true, NAS_SCORE_NEEDS_GHN},
        {"ghn_bn_loss", "ghn_bn_loss", false, NAS_SCORE_NEEDS_GHN},
        {"grad_norm", "grad_norm", true, NAS_SCORE_NEEDS_DATA},
        {"snip", "snip", true, NAS_SCORE_NEEDS_DATA},
        {"synflow", "synflow", true, NAS_SCORE_NEEDS_DATA},
        {"jacob_cov", "jacob_cov", true, NAS_SCORE_NEEDS_DATA},
        {"naswot", "naswot", true, NAS_SCORE_NEEDS_DATA},
        {"ranker", "ranker", true, NAS_SCORE_NEEDS_RANKER},
    };
    int n = 0;
    const nas_score_entry *reg = nas_score_registry(&n);
    ck_assert_int_eq(n, (int)(sizeof want / sizeof want[0]));
    nas_dataset ds = noise_dataset();
    nas_ghn g = small_ghn();
    nas_score_inputs in = all_inputs(&g, &ds);
    for (int i = 0; i < n; i++) {
        const nas_score_entry *e = &reg[i];
        ck_assert_str_eq(e->name, want[i].name);
        ck_assert_str_eq(e->stored, want[i].stored);
        ck_assert_msg(e->higher_is_better == want[i].higher, "%s: direction", e->name);
        ck_assert_uint_eq(e->needs, want[i].needs);
        /* the store's rule for scores written before it recorded directions (schema v2) */
        bool lower = strstr(e->stored, "loss") || strstr(e->stored, "err") ||
                     strcmp(e->stored, "params") == 0 || strcmp(e->stored, "flops") == 0;
        ck_assert_msg(lower == !e->higher_is_better, "%s: the store back-fills it the other way",
                      e->stored);
        nas_scorer sc;
        if (e->needs & NAS_SCORE_NEEDS_RANKER) { /* made in test_score__ranker_scorer */
            ck_assert_int_eq(nas_score_make(&sc, e->name, &in), NAS_EINVAL);
            ck_assert_ptr_nonnull(strstr(nas_errmsg(), "needs a fitted ranker"));
            continue;
        }
        ck_assert_msg(nas_score_make(&sc, e->name, &in) == NAS_OK, "%s: %s", e->name, nas_errmsg());
        ck_assert_str_eq(sc.name, e->stored);
        ck_assert_msg(sc.higher_is_better == e->higher_is_better, "%s: made the other way",
                      e->name);
        ck_assert(sc.fn != NULL);
        nas_scorer_free(&sc);
        ck_assert(sc.fn == NULL && sc.ctx == NULL);
    }
    nas_ghn_free(&g);
    nas_data_free(&ds);
}
END_TEST

/* A search records the registry's direction in the store, and its leaderboard ranks by it. */
START_TEST(test_score__search_records_direction) {
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    char path[512];
    nas_store *db = NULL;
    ck_assert_int_eq(nas_store_open(&db, test_tpath(path, "d.db"), NAS_STORE_CREATE), NAS_OK);
    const char *names[] = {"params", "flops"};
    for (int k = 0; k < 2; k++) {
        nas_scorer sc;
        ck_assert_int_eq(nas_score_make(&sc, names[k], NULL), NAS_OK);
        nas_search_config c = nas_search_config_default();
        c.strategy = NAS_STRATEGY_RANDOM;
        c.budget = 12;
        c.quiet = true;
        c.threads = 1;
        nas_search_result r;
        ck_assert_msg(nas_search_run(db, &sp, &sc, 0, &c, &r) == NAS_OK, "%s", nas_errmsg());
        /* lower is better: the best is the smallest value the run scored */
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT higher_is_better FROM scorers WHERE name = '%s'),"
                 " (SELECT min(value) FROM scores WHERE run_id = %lld)",
                 names[k], (long long)r.run_id);
        nas_store_table t;
        memset(&t, 0, sizeof t);
        nas_store *ro = NULL; /* SQL only on a read-only handle */
        ck_assert_int_eq(nas_store_open(&ro, path, NAS_STORE_READONLY), NAS_OK);
        ck_assert_msg(nas_store_query_sql(ro, sql, &t) == NAS_OK, "%s", nas_errmsg());
        const nas_score_entry *e = NULL;
        ck_assert_int_eq(nas_score_find(names[k], &e), NAS_OK);
        ck_assert_int_eq(nas_store_table_at(&t, 0, 0)->i, e->higher_is_better ? 1 : 0);
        const nas_store_value *mn = nas_store_table_at(&t, 0, 1);
        double v = mn->type == NAS_STORE_REAL ? mn->r : (double)mn->i;
        ck_assert_msg(r.best == v, "%s: best %g, smallest %g", names[k], r.best, v);
        nas_store_table_free(&t);
        nas_store_close(ro);
        nas_scorer_free(&sc);
    }
    nas_store_close(db);
}
END_TEST

/* ---- lookup and make ------------------------------------------------------------------------- */

START_TEST(test_score__unknown_name_lists_the_known) {
    const nas_score_entry *e = nas_score_registry(NULL); /* non-NULL: cleared on failure */
    ck_assert_int_eq(nas_score_find("zen", &e), NAS_ENOTFOUND);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "unknown scorer 'zen'"));
    int n = 0;
    const nas_score_entry *reg = nas_score_registry(&n);
    char names[512];
    nas_score_names(names, sizeof names);
    ck_assert_msg(strstr(nas_errmsg(), names) != NULL, "'%s' lacks '%s'", nas_errmsg(), names);
    for (int i = 0; i < n; i++) {
        ck_assert(strstr(nas_errmsg(), reg[i].name) != NULL);
    }
    ck_assert_int_eq(nas_score_find(NULL, &e), NAS_ENOTFOUND);
    /* stored names are not entry names; matching is exact */
    ck_assert_int_eq(nas_score_find("ghn_acc", &e), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_score_find("Params", &e), NAS_ENOTFOUND);
    ck_assert_int_eq(nas_score_find("params ", &e), NAS_ENOTFOUND);
    nas_scorer sc;
    ck_assert_int_eq(nas_score_make(&sc, "zen", NULL), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), names));
    ck_assert(sc.fn == NULL && sc.ctx == NULL);
    ck_assert_int_eq(nas_score_make(NULL, "params", NULL), NAS_EINVAL);
}
END_TEST

START_TEST(test_score__make_without_data) {
    nas_net net;
    compile_small(&net);
    nas_scorer p, f, b;
    ck_assert_int_eq(nas_score_make(&p, "params", NULL), NAS_OK);
    ck_assert_int_eq(nas_score_make(&f, "flops", NULL), NAS_OK);
    ck_assert_str_eq(p.name, "params");
    ck_assert_str_eq(f.name, "flops");
    ck_assert_str_eq(p.recipe, "");
    nas_score_value v = {(double)NAN, ""};
    ck_assert_int_eq(p.fn(&p, &net, &v), NAS_OK);
    ck_assert(v.value == (double)net.n_params && net.n_params > 0);
    ck_assert_int_eq(f.fn(&f, &net, &v), NAS_OK);
    ck_assert(v.value == (double)net.flops && net.flops > 0);
    ck_assert_str_eq(v.aux_json, "");
    /* nas_scorer_builtin makes the same */
    ck_assert_int_eq(nas_scorer_builtin(&b, "flops"), NAS_OK);
    ck_assert_str_eq(b.name, f.name);
    ck_assert(b.fn == f.fn && b.higher_is_better == f.higher_is_better);
    nas_scorer_free(&p);
    nas_scorer_free(&f);
    nas_scorer_free(&b);
    /* scorers whose inputs are missing are refused, naming what they need */
    nas_scorer sc;
    ck_assert_int_eq(nas_score_make(&sc, "synflow", NULL), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "'synflow' needs a data set"));
    ck_assert_int_eq(nas_score_make(&sc, "ghn", NULL), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "'ghn' needs a trained GHN"));
    nas_score_inputs none;
    memset(&none, 0, sizeof none);
    ck_assert_int_eq(nas_score_make(&sc, "naswot", &none), NAS_EINVAL);
    ck_assert_int_eq(nas_score_make(&sc, "ghn", &none), NAS_EINVAL);
    ck_assert(sc.fn == NULL && sc.ctx == NULL);
    ck_assert_int_eq(nas_scorer_builtin(&sc, "ghn_acc"), NAS_EINVAL);
    ck_assert_int_eq(nas_scorer_builtin(&sc, "snip"), NAS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "nas_score_make"));
    nas_net_free(&net);
}
END_TEST

/* Through the registry, the same scorers (name, direction, recipe, values) as their own
 * constructors make. */
START_TEST(test_score__registry_equals_constructors) {
    nas_dataset ds = noise_dataset();
    nas_ghn g = small_ghn();
    nas_score_inputs in = all_inputs(&g, &ds);
    nas_net net;
    compile_small(&net);
    for (int p = 0; p < nas_proxy_count(); p++) {
        const char *name = nas_proxy_name(p);
        nas_scorer a, b;
        ck_assert_msg(nas_score_make(&a, name, &in) == NAS_OK, "%s", nas_errmsg());
        ck_assert_int_eq(nas_scorer_proxy(&b, name, &in.data), NAS_OK);
        ck_assert_str_eq(a.name, b.name);
        ck_assert_str_eq(a.recipe, b.recipe);
        ck_assert(a.higher_is_better == b.higher_is_better);
        nas_score_value va = {(double)NAN, ""}, vb = {(double)NAN, ""};
        ck_assert_msg(a.fn(&a, &net, &va) == NAS_OK, "%s: %s", name, nas_errmsg());
        ck_assert_int_eq(b.fn(&b, &net, &vb), NAS_OK);
        double want = (double)NAN;
        ck_assert_int_eq(nas_proxy_compute(name, &net, &in.data, &want), NAS_OK);
        ck_assert_msg(va.value == vb.value && va.value == want, "%s: %.17g %.17g %.17g", name,
                      va.value, vb.value, want);
        nas_scorer_free(&a);
        nas_scorer_free(&b);
    }
    nas_scorer a, b;
    ck_assert_int_eq(nas_score_make(&a, "ghn", &in), NAS_OK);
    ck_assert_int_eq(nas_scorer_ghn(&b, &in.ghn), NAS_OK);
    ck_assert_str_eq(a.name, "ghn_acc");
    ck_assert_str_eq(a.recipe, b.recipe);
    ck_assert_str_eq(a.recipe, "noise val; 40 images; batch 8; bn batch");
    ck_assert(a.fn == b.fn && a.higher_is_better && b.higher_is_better);
    /* ghn_loss is the same evaluation with the pair swapped: value = the loss ghn puts in its
       aux_json, aux_json = ghn's value */
    nas_scorer c;
    ck_assert_int_eq(nas_score_make(&c, "ghn_loss", &in), NAS_OK);
    ck_assert_str_eq(c.name, "ghn_loss");
    ck_assert(!c.higher_is_better);
    ck_assert_str_eq(c.recipe, a.recipe);
    nas_score_value va = {(double)NAN, ""}, vc = {(double)NAN, ""};
    ck_assert_msg(a.fn(&a, &net, &va) == NAS_OK, "%s", nas_errmsg());
    ck_assert_msg(c.fn(&c, &net, &vc) == NAS_OK, "%s", nas_errmsg());
    double loss_of_a = (double)NAN, acc_of_c = (double)NAN;
    ck_assert_int_eq(sscanf(va.aux_json, "{\"loss\": %lf}", &loss_of_a), 1);
    ck_assert_int_eq(sscanf(vc.aux_json, "{\"acc\": %lf}", &acc_of_c), 1);
    ck_assert(isfinite(vc.value) && vc.value > 0.0);
    ck_assert_double_eq_tol(vc.value, loss_of_a, 1e-6 * fabs(loss_of_a));
    ck_assert_double_eq_tol(acc_of_c, va.value, 1e-9);
    nas_scorer_free(&c);
    nas_scorer_free(&a);
    nas_scorer_free(&b);
    /* a bad configuration of a needed input: the constructor's message */
    in.data.batch = 0;
    ck_assert_int_eq(nas_score_make(&a, "snip", &in), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "proxy scorer snip"));
    in.ghn.n = 0;
    ck_assert_int_eq(nas_score_make(&a, "ghn", &in), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "ghn scorer"));
    nas_net_free(&net);
    nas_ghn_free(&g);
    nas_data_free(&ds);
}
END_TEST

/* ---- the learned ranker's features and scorer ------------------------------------------------ */

/* The featurizer's row is what the single scorers and nas_rank_embed give; only the asked-for
   columns are computed; inputs that cannot give a column are refused. */
START_TEST(test_score__ranker_features) {
    nas_dataset ds = noise_dataset();
    nas_ghn g = small_ghn();
    nas_score_inputs in = all_inputs(&g, &ds);
    nas_net net;
    compile_small(&net);
    nas_score_featurizer *f = NULL;
    ck_assert_msg(nas_score_featurizer_make(&f, &in, NULL, 0) == NAS_OK, "%s", nas_errmsg());
    const int d = nas_score_featurizer_width(f);
    ck_assert_int_eq(d, nas_rank_n_features(g.cfg.hid));
    double row[NAS_RANK_N_COLS + 64];
    ck_assert_msg(nas_score_featurize(f, &net, row) == NAS_OK, "%s", nas_errmsg());
    ck_assert_double_eq_tol(row[NAS_RANK_COL_LOG_PARAMS], log((double)net.n_params), 1e-12);
    ck_assert_double_eq_tol(row[NAS_RANK_COL_LOG_FLOPS], log((double)net.flops), 1e-12);
    double want = (double)NAN;
    ck_assert_int_eq(nas_proxy_compute("synflow", &net, &in.data, &want), NAS_OK);
    ck_assert_double_eq_tol(row[NAS_RANK_COL_LOG_SYNFLOW], log(want), 1e-9);
    ck_assert_int_eq(nas_proxy_compute("jacob_cov", &net, &in.data, &want), NAS_OK);
    ck_assert_double_eq_tol(row[NAS_RANK_COL_JACOB_COV], want, 1e-9 * fabs(want));
    nas_scorer gs;
    ck_assert_int_eq(nas_scorer_ghn(&gs, &in.ghn), NAS_OK);
    nas_score_value v = {(double)NAN, ""};
    ck_assert_int_eq(gs.fn(&gs, &net, &v), NAS_OK);
    double loss = (double)NAN;
    ck_assert_int_eq(sscanf(v.aux_json, "{\"loss\": %lf}", &loss), 1);
    ck_assert_double_eq_tol(row[NAS_RANK_COL_GHN_ACC], v.value, 1e-12);
    ck_assert_double_eq_tol(row[NAS_RANK_COL_GHN_LOSS], loss, 1e-6 * fabs(loss));
    nas_scorer_free(&gs);
    double emb[64];
    ck_assert_int_eq(nas_rank_embed(&g, &net, emb), NAS_OK);
    for (int c = 0; c < g.cfg.hid; c++) {
        ck_assert_double_eq_tol(row[NAS_RANK_N_COLS + c], emb[c], 1e-12);
    }
    nas_score_featurizer_free(f);
    /* only the size columns asked for: the rest come out missing */
    uint8_t want_cols[NAS_RANK_N_COLS + 64];
    memset(want_cols, 0, sizeof want_cols);
    want_cols[NAS_RANK_COL_LOG_PARAMS] = 1;
    ck_assert_int_eq(nas_score_featurizer_make(&f, &in, want_cols, d), NAS_OK);
    ck_assert_int_eq(nas_score_featurize(f, &net, row), NAS_OK);
    ck_assert(isfinite(row[NAS_RANK_COL_LOG_PARAMS]));
    ck_assert(isnan(row[NAS_RANK_COL_GHN_ACC]) && isnan(row[NAS_RANK_COL_NASWOT]));
    ck_assert(isnan(row[NAS_RANK_N_COLS]));
    nas_score_featurizer_free(f);
    /* refusals: another width, GHN columns without a GHN, proxies without data */
    ck_assert_int_eq(nas_score_featurizer_make(&f, &in, want_cols, d + 1), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "another GHN"));
    nas_score_inputs no_ghn = in;
    no_ghn.ghn.ghn = NULL;
    want_cols[NAS_RANK_COL_GHN_LOSS] = 1;
    ck_assert_int_eq(nas_score_featurizer_make(&f, &no_ghn, want_cols, NAS_RANK_N_COLS),
                     NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "no GHN"));
    nas_score_inputs no_data = in;
    no_data.data.ds = NULL;
    memset(want_cols, 0, sizeof want_cols);
    want_cols[NAS_RANK_COL_NASWOT] = 1;
    ck_assert_int_eq(nas_score_featurizer_make(&f, &no_data, want_cols, d), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "naswot asked for but no data"));
    ck_assert_ptr_null(f);
    nas_net_free(&net);
    nas_ghn_free(&g);
    nas_data_free(&ds);
}
END_TEST

/* The ranker scorer's value is the model's prediction on the featurizer's row, with its sd in
   aux_json, the same on any thread count; without its GHN it is refused. */
START_TEST(test_score__ranker_scorer) {
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_dataset ds = noise_dataset();
    nas_ghn g = small_ghn();
    nas_score_inputs in = all_inputs(&g, &ds);
    nas_score_featurizer *f = NULL;
    ck_assert_int_eq(nas_score_featurizer_make(&f, &in, NULL, 0), NAS_OK);
    const int d = nas_score_featurizer_width(f);
    enum { NL = 8 };
    nas_arch archs[NL];
    nas_rng rng;
    nas_rng_seed(&rng, 9);
    const nas_net_config nc = small_net_config();
    double *X = nas_calloc((size_t)NL * (size_t)d, sizeof *X);
    double y[NL];
    for (int k = 0; k < NL; k++) {
        ck_assert_int_eq(nas_arch_sample_valid(&sp, &rng, 0, &archs[k]), NAS_OK);
        nas_net net;
        ck_assert_int_eq(nas_net_compile(&net, &sp, &archs[k], &nc), NAS_OK);
        ck_assert_int_eq(nas_score_featurize(f, &net, X + (size_t)k * (size_t)d), NAS_OK);
        y[k] = 0.5 + 0.01 * log((double)net.n_params) + 0.001 * k; /* any distinct labels */
        nas_net_free(&net);
    }
    char **names = NULL;
    ck_assert_int_eq(nas_rank_feature_names(g.cfg.hid, &names), NAS_OK);
    nas_rank_fit_config fc = nas_rank_fit_config_default();
    fc.kind = NAS_RANK_GP;
    fc.cv_folds = 0;
    nas_rank_model m;
    ck_assert_msg(nas_rank_fit(&fc, X, NL, d, (const char *const *)names, y, &m) == NAS_OK, "%s",
                  nas_errmsg());
    in.ranker.model = &m;
    in.ranker.id = 7;
    nas_scorer sc;
    ck_assert_msg(nas_score_make(&sc, "ranker", &in) == NAS_OK, "%s", nas_errmsg());
    ck_assert_str_eq(sc.name, "ranker");
    ck_assert(sc.higher_is_better);
    ck_assert_ptr_nonnull(strstr(sc.recipe, "ranker 7 (gp, 8 labels)"));
    nas_net net;
    compile_small(&net);
    nas_score_value v = {(double)NAN, ""};
    ck_assert_msg(sc.fn(&sc, &net, &v) == NAS_OK, "%s", nas_errmsg());
    double row[NAS_RANK_N_COLS + 64], mean = (double)NAN, sd = (double)NAN;
    ck_assert_int_eq(nas_score_featurize(f, &net, row), NAS_OK);
    ck_assert_int_eq(nas_rank_predict(&m, row, 1, d, &mean, &sd), NAS_OK);
    ck_assert_double_eq_tol(v.value, mean, 1e-12);
    double got_sd = (double)NAN;
    ck_assert_int_eq(sscanf(v.aux_json, "{\"sd\": %lf}", &got_sd), 1);
    ck_assert_double_eq_tol(got_sd, sd, 1e-5 * sd);
    nas_net_free(&net);
    /* candidates scored by it on one and on two threads */
    static nas_score_cand c1[NL], c2[NL];
    memset(c1, 0, sizeof c1);
    memset(c2, 0, sizeof c2);
    for (int k = 0; k < NL; k++) {
        c1[k].arch = c2[k].arch = &archs[k];
    }
    const nas_scorer *scp[1] = {&sc};
    nas_score_run_config one = {.threads = 1}, two = {.threads = 2};
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, 1, c1, NL, &one), NAS_OK);
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, 1, c2, NL, &two), NAS_OK);
    for (int k = 0; k < NL; k++) {
        ck_assert_msg(c1[k].out[0].st == NAS_OK, "%s", c1[k].out[0].text);
        ck_assert(memcmp(&c1[k].out[0].value, &c2[k].out[0].value, sizeof(double)) == 0);
    }
    nas_scorer_free(&sc);
    /* a ranker on GHN features without the GHN */
    nas_score_inputs no_ghn = in;
    no_ghn.ghn.ghn = NULL;
    ck_assert_int_eq(nas_score_make(&sc, "ranker", &no_ghn), NAS_EINVAL);
    ck_assert_ptr_nonnull(strstr(nas_errmsg(), "ranker 7"));
    nas_rank_model_free(&m);
    nas_free(names);
    nas_free(X);
    nas_score_featurizer_free(f);
    nas_ghn_free(&g);
    nas_data_free(&ds);
}
END_TEST

/* ---- scoring a set of candidates ------------------------------------------------------------ */

static nas_net_config small_net_config(void) {
    nas_net_config nc = nas_net_config_default();
    nc.C = 4;
    nc.N = 1;
    nc.in_c = 1;
    nc.in_h = nc.in_w = 8;
    nc.classes = 4; /* the small GHN's and the noise images' */
    return nc;
}

/* Every registered scorer at once: the values do not depend on the thread count, the sizes are
   the compiled nets', a NULL arch is skipped. */
START_TEST(test_score__candidates_any_thread_count) {
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_dataset ds = noise_dataset();
    nas_ghn g = small_ghn();
    nas_score_inputs in = all_inputs(&g, &ds);
    const char *names[] = {"ghn", "params", "flops", "synflow", "naswot"};
    enum { NS = 5, NA = 5 };
    nas_scorer sc[NS];
    const nas_scorer *scp[NS];
    for (int j = 0; j < NS; j++) {
        ck_assert_msg(nas_score_make(&sc[j], names[j], &in) == NAS_OK, "%s", nas_errmsg());
        scp[j] = &sc[j];
    }
    nas_arch archs[NA];
    nas_rng rng;
    nas_rng_seed(&rng, 5);
    for (int k = 0; k < NA; k++) {
        do {
            ck_assert_int_eq(nas_arch_sample(&sp, &rng, &archs[k]), NAS_OK);
        } while (!nas_arch_is_valid(&sp, &archs[k]));
    }
    const nas_net_config nc = small_net_config();
    static nas_score_cand c1[NA], c2[NA];
    memset(c1, 0, sizeof c1);
    memset(c2, 0, sizeof c2);
    for (int k = 0; k < NA; k++) {
        c1[k].arch = &archs[k];
        c2[k].arch = k == 2 ? NULL : &archs[k];
    }
    nas_score_run_config one = {.threads = 1}, two = {.threads = 2};
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, NS, c1, NA, &one), NAS_OK);
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, NS, c2, NA, &two), NAS_OK);
    for (int k = 0; k < NA; k++) {
        ck_assert(c1[k].done);
        ck_assert_int_eq(c1[k].st, NAS_OK);
        if (k == 2) {
            ck_assert(!c2[k].done);
            continue;
        }
        nas_net net;
        ck_assert_int_eq(nas_net_compile(&net, &sp, &archs[k], &nc), NAS_OK);
        ck_assert_int_eq(c1[k].n_params, net.n_params);
        ck_assert_int_eq(c1[k].flops, net.flops);
        ck_assert_int_eq(c1[k].n_nodes, net.n_nodes);
        ck_assert(c1[k].out[1].value == (double)net.n_params);
        nas_net_free(&net);
        for (int j = 0; j < NS; j++) {
            ck_assert_msg(c1[k].out[j].st == NAS_OK, "%s: %s", names[j], c1[k].out[j].text);
            ck_assert_msg(memcmp(&c1[k].out[j].value, &c2[k].out[j].value, sizeof(double)) == 0,
                          "%s on arch %d: %.17g (1 thread) vs %.17g (2)", names[j], k,
                          c1[k].out[j].value, c2[k].out[j].value);
            ck_assert_str_eq(c1[k].out[j].text, c2[k].out[j].text);
        }
    }
    ck_assert_ptr_nonnull(strstr(c1[0].out[0].text, "\"loss\": "));
    for (int j = 0; j < NS; j++) {
        nas_scorer_free(&sc[j]);
    }
    nas_ghn_free(&g);
    nas_data_free(&ds);
}
END_TEST

static nas_status failing_fn(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    (void)net;
    out->value = 1.0; /* must not leak into the outcome */
    return nas_error(NAS_EINVAL, "%s refuses every net", sc->name);
}

/* A failing scorer is recorded (NaN, its message) and the others still run; the stop flag skips
   the rest; a bad scorer set is refused. */
START_TEST(test_score__candidates_failures_and_stop) {
    nas_space sp;
    ck_assert_int_eq(nas_space_load(&sp, "nb201"), NAS_OK);
    nas_scorer bad, params;
    memset(&bad, 0, sizeof bad);
    snprintf(bad.name, sizeof bad.name, "bad");
    bad.fn = failing_fn;
    ck_assert_int_eq(nas_score_make(&params, "params", NULL), NAS_OK);
    const nas_scorer *scp[2] = {&bad, &params};
    nas_arch a;
    ck_assert_int_eq(nas_arch_decode(&sp,
                                     "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|"
                                     "skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
                                     &a),
                     NAS_OK);
    const nas_net_config nc = small_net_config();
    static nas_score_cand c[3];
    memset(c, 0, sizeof c);
    for (int k = 0; k < 3; k++) {
        c[k].arch = &a;
    }
    nas_score_run_config rc = {.threads = 2};
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, 2, c, 3, &rc), NAS_OK);
    for (int k = 0; k < 3; k++) {
        ck_assert(c[k].done);
        ck_assert_int_eq(c[k].st, NAS_OK);
        ck_assert_int_eq(c[k].out[0].st, NAS_EINVAL);
        ck_assert(isnan(c[k].out[0].value));
        ck_assert_str_eq(c[k].out[0].text, "bad refuses every net");
        ck_assert_int_eq(c[k].out[1].st, NAS_OK);
        ck_assert(c[k].out[1].value == (double)c[k].n_params);
    }
    volatile sig_atomic_t stop = 1;
    rc.stop = &stop;
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, 2, c, 3, &rc), NAS_OK);
    for (int k = 0; k < 3; k++) {
        ck_assert(!c[k].done);
    }
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, 0, c, 3, &rc), NAS_EINVAL);
    scp[1] = NULL;
    ck_assert_int_eq(nas_score_candidates(&sp, &nc, scp, 2, c, 3, &rc), NAS_EINVAL);
    nas_scorer_free(&params);
}
END_TEST

Suite *nas_test_score_suite(void) {
    Suite *s = suite_create("score");
    TCase *reg = tcase_create("registry");
    tcase_set_timeout(reg, 60);
    tcase_add_test(reg, test_score__registry_names_unique);
    tcase_add_test(reg, test_score__registry_directions);
    tcase_add_test(reg, test_score__unknown_name_lists_the_known);
    suite_add_tcase(s, reg);
    TCase *mk = tcase_create("make");
    tcase_set_timeout(mk, 60);
    tcase_add_test(mk, test_score__make_without_data);
    tcase_add_test(mk, test_score__registry_equals_constructors);
    tcase_add_test(mk, test_score__ranker_features);
    tcase_add_test(mk, test_score__ranker_scorer);
    suite_add_tcase(s, mk);
    TCase *st = tcase_create("search");
    tcase_add_checked_fixture(st, tmp_setup, tmp_teardown);
    tcase_set_timeout(st, 60);
    tcase_add_test(st, test_score__search_records_direction);
    suite_add_tcase(s, st);
    TCase *cs = tcase_create("candidates");
    tcase_set_timeout(cs, 120);
    tcase_add_test(cs, test_score__candidates_any_thread_count);
    tcase_add_test(cs, test_score__candidates_failures_and_stop);
    suite_add_tcase(s, cs);
    return s;
}
